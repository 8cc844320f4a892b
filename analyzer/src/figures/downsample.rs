//! Min/max downsampling of long series, for drawing only.
//!
//! A one-hour trace sampled at 1 kHz has 3.6 million points per source,
//! thousands per pixel column. Drawing them all makes huge SVGs and slow
//! PNGs for no visible gain; drawing every n-th point hides the spikes a
//! power trace is read for. Keeping the lowest and the highest point of
//! each pixel column draws the same envelope as the full series. Energies
//! are never computed from this: the analyzer integrates the full trace.

/// The points with the lowest and highest `y` in each of `pixel_columns`
/// equal-width columns of `x_range`, in column order and, within a column,
/// in their original order. Points outside `x_range` fall into the first
/// or last column; points with a non-finite coordinate are dropped. A
/// series with no more than two points per column is returned as it is
/// (minus non-finite points), so short series are never altered.
pub fn minmax_downsample(
    points: &[(f64, f64)],
    x_range: (f64, f64),
    pixel_columns: usize,
) -> Vec<(f64, f64)> {
    let finite = |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite();
    let (x0, x1) = x_range;
    let width = x1 - x0;
    if pixel_columns == 0
        || points.len() <= 2 * pixel_columns
        || !(width.is_finite() && width > 0.0)
    {
        return points.iter().filter(finite).copied().collect();
    }
    // Per column, the indices of its lowest and highest point.
    let mut extremes: Vec<Option<(usize, usize)>> = vec![None; pixel_columns];
    let last = pixel_columns - 1;
    for (i, p) in points.iter().enumerate().filter(|(_, p)| finite(p)) {
        let col = (((p.0 - x0) / width) * pixel_columns as f64).floor();
        let col = if col <= 0.0 {
            0
        } else {
            (col as usize).min(last)
        };
        extremes[col] = Some(match extremes[col] {
            None => (i, i),
            Some((lo, hi)) => (
                if p.1 < points[lo].1 { i } else { lo },
                if p.1 > points[hi].1 { i } else { hi },
            ),
        });
    }
    let mut out = Vec::with_capacity(2 * pixel_columns);
    for (lo, hi) in extremes.into_iter().flatten() {
        let (first, second) = if lo <= hi { (lo, hi) } else { (hi, lo) };
        out.push(points[first]);
        if second != first {
            out.push(points[second]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_series_are_untouched() {
        let pts = vec![(0.0, 1.0), (1.0, 5.0), (2.0, 3.0)];
        assert_eq!(minmax_downsample(&pts, (0.0, 2.0), 10), pts);
    }

    #[test]
    fn keeps_min_and_max_of_each_column_in_x_order() {
        // 100 points over 10 columns; column k holds x in [k, k+1).
        let pts: Vec<(f64, f64)> = (0..100)
            .map(|i| {
                let x = f64::from(i) / 10.0;
                // A spike at i = 37 and a dip at i = 52.
                let y = match i {
                    37 => 100.0,
                    52 => -100.0,
                    _ => f64::from(i % 10),
                };
                (x, y)
            })
            .collect();
        let out = minmax_downsample(&pts, (0.0, 10.0), 10);
        assert!(out.len() <= 20);
        assert!(out.contains(&(3.7, 100.0)), "spike kept");
        assert!(out.contains(&(5.2, -100.0)), "dip kept");
        assert!(out.windows(2).all(|w| w[0].0 <= w[1].0), "x order kept");
        // Column 0: min y=0 at x=0.0, max y=9 at x=0.9.
        assert_eq!(&out[..2], &[(0.0, 0.0), (0.9, 9.0)]);
    }

    #[test]
    fn constant_column_yields_one_point() {
        let pts: Vec<(f64, f64)> = (0..50).map(|i| (f64::from(i), 2.0)).collect();
        let out = minmax_downsample(&pts, (0.0, 50.0), 5);
        assert_eq!(out.len(), 5);
        assert!(out.iter().all(|p| p.1 == 2.0));
    }

    #[test]
    fn out_of_range_and_non_finite_points() {
        let mut pts: Vec<(f64, f64)> = (0..40).map(|i| (f64::from(i), 1.0)).collect();
        pts.push((1000.0, 7.0));
        pts.push((20.5, f64::NAN));
        let out = minmax_downsample(&pts, (0.0, 40.0), 4);
        assert!(out.contains(&(1000.0, 7.0)), "clamped into the last column");
        assert!(out.iter().all(|p| p.1.is_finite()));
    }
}
