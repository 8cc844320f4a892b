//! MNIST's 28×28 images resized to 32×32 exactly as the author's code gets
//! them: torchvision's `Resize((32, 32))` on a PIL "L" image, which is
//! Pillow's bilinear resampling.
//!
//! Pillow resamples in two passes (horizontal, then vertical), each with
//! 22-bit fixed-point weights and rounding to 8 bits in between. Reproducing
//! that (rather than calling libtorch's `upsample_bilinear2d` on floats) keeps
//! our inputs byte-identical to the author's, and keeps the data path free of
//! libtorch so it is cheap to test.

/// Pillow's `PRECISION_BITS` for 8-bit images (32 − 8 − 2).
const PRECISION_BITS: u32 = 22;

/// For each output position: the first source index and the fixed-point
/// weights of the source pixels it reads.
#[derive(Debug)]
struct Taps {
    first: usize,
    weights: Vec<i64>,
}

/// Pillow's `precompute_coeffs` for the bilinear (triangle) filter.
fn precompute(in_size: usize, out_size: usize) -> Vec<Taps> {
    let scale = in_size as f64 / out_size as f64;
    // Downscaling widens the filter (antialiasing); upscaling keeps support 1.
    let filter_scale = scale.max(1.0);
    let support = filter_scale;
    (0..out_size)
        .map(|xx| {
            let center = (xx as f64 + 0.5) * scale;
            // C's `(int)` truncates toward zero; the clamp handles negatives.
            let xmin = ((center - support + 0.5).trunc().max(0.0)) as usize;
            let xmax = ((center + support + 0.5).trunc() as usize).min(in_size);
            let raw: Vec<f64> = (xmin..xmax)
                .map(|x| {
                    let t = ((x as f64 - center + 0.5) / filter_scale).abs();
                    if t < 1.0 {
                        1.0 - t
                    } else {
                        0.0
                    }
                })
                .collect();
            let total: f64 = raw.iter().sum();
            let weights = raw
                .iter()
                .map(|w| {
                    let w = if total != 0.0 { w / total } else { 0.0 };
                    let fixed = w * f64::from(1u32 << PRECISION_BITS);
                    // Pillow rounds half away from zero.
                    (if fixed < 0.0 {
                        fixed - 0.5
                    } else {
                        fixed + 0.5
                    })
                    .trunc() as i64
                })
                .collect();
            Taps {
                first: xmin,
                weights,
            }
        })
        .collect()
}

fn clip8(acc: i64) -> u8 {
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

/// Resizes one 8-bit single-channel image (row-major, `in_h × in_w`) to
/// `out_h × out_w` with Pillow's bilinear filter.
pub fn resize_bilinear_u8(
    src: &[u8],
    in_h: usize,
    in_w: usize,
    out_h: usize,
    out_w: usize,
) -> Vec<u8> {
    let horizontal = precompute(in_w, out_w);
    let vertical = precompute(in_h, out_h);
    let half = 1i64 << (PRECISION_BITS - 1);
    // Pass 1: rows in_h × out_w.
    let mut mid = vec![0u8; in_h * out_w];
    for y in 0..in_h {
        let row = &src[y * in_w..(y + 1) * in_w];
        for (xx, taps) in horizontal.iter().enumerate() {
            let acc = taps.weights.iter().enumerate().fold(half, |acc, (i, &w)| {
                acc + i64::from(row[taps.first + i]) * w
            });
            mid[y * out_w + xx] = clip8(acc);
        }
    }
    // Pass 2: columns out_h × out_w.
    let mut out = vec![0u8; out_h * out_w];
    for (yy, taps) in vertical.iter().enumerate() {
        for x in 0..out_w {
            let acc = taps.weights.iter().enumerate().fold(half, |acc, (i, &w)| {
                acc + i64::from(mid[(taps.first + i) * out_w + x]) * w
            });
            out[yy * out_w + x] = clip8(acc);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_images_stay_constant() {
        for v in [0u8, 1, 128, 255] {
            let out = resize_bilinear_u8(&[v; 28 * 28], 28, 28, 32, 32);
            assert!(out.iter().all(|&p| p == v), "value {v}");
        }
    }

    #[test]
    fn a_horizontal_ramp_is_interpolated_between_neighbours() {
        // Two columns 0 and 255 upscaled to four: Pillow gives 0, 64, 191, 255.
        let src = [0u8, 255, 0, 255];
        let out = resize_bilinear_u8(&src, 2, 2, 2, 4);
        assert_eq!(&out[..4], &[0, 64, 191, 255]);
        assert_eq!(&out[4..], &[0, 64, 191, 255]);
    }

    #[test]
    fn upscale_28_to_32_matches_the_half_pixel_formula() {
        // Interior output pixels sample the source at (i + 0.5)·28/32 − 0.5.
        let src: Vec<u8> = (0..28 * 28).map(|i| ((i * 7) % 256) as u8).collect();
        let out = resize_bilinear_u8(&src, 28, 28, 32, 32);
        let coord = |i: usize| ((i as f64 + 0.5) * 28.0 / 32.0 - 0.5).clamp(0.0, 27.0);
        for (yy, xx) in [(0usize, 0usize), (5, 9), (16, 16), (31, 31), (12, 30)] {
            let (sy, sx) = (coord(yy), coord(xx));
            let (y0, x0) = (sy.floor() as usize, sx.floor() as usize);
            let (y1, x1) = ((y0 + 1).min(27), (x0 + 1).min(27));
            let (fy, fx) = (sy - y0 as f64, sx - x0 as f64);
            let p = |y: usize, x: usize| f64::from(src[y * 28 + x]);
            let top = p(y0, x0) * (1.0 - fx) + p(y0, x1) * fx;
            let bottom = p(y1, x0) * (1.0 - fx) + p(y1, x1) * fx;
            let exact = top * (1.0 - fy) + bottom * fy;
            let got = f64::from(out[yy * 32 + xx]);
            // Two rounding steps (one per pass) allow at most one grey level.
            assert!((got - exact).abs() <= 1.0, "({yy},{xx}): {got} vs {exact}");
        }
    }
}
