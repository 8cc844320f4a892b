//! Axis ranges, ticks and tick labels, computed here rather than by plotters.
//!
//! Every chart is drawn on linear `f64` coordinates with the tick positions
//! bound explicitly (`WithKeyPoints`). A log axis is a linear axis over
//! `log10(value)`. Doing it ourselves has three reasons: plotters' log axis
//! puts ticks only on powers of ten, so a range inside one decade (typical
//! for efficiencies) gets no tick at all; epochs need integer ticks; and a
//! category axis (bars, boxes) needs ticks at slot centres. One coordinate
//! type also keeps the drawing code free of generics over scales.

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use std::ops::Range;

/// One axis of a chart, in plot space (log10 of the value on a log axis).
#[derive(Debug, Clone)]
pub(crate) struct Axis {
    pub log: bool,
    pub lo: f64,
    pub hi: f64,
    /// Tick positions in plot space and their labels.
    pub ticks: Vec<(f64, String)>,
}

/// How a numeric axis fits its data.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fit {
    pub log: bool,
    /// Only integer ticks (epochs, widths).
    pub integer: bool,
    /// Start a linear axis at zero (bars).
    pub include_zero: bool,
    /// Margin on each side, as a fraction of the data span.
    pub pad: f64,
}

impl Axis {
    /// An axis covering `values` (finite, and positive on a log axis). With
    /// no values the axis spans 0..1 (or 1..10 on a log axis).
    pub(crate) fn numeric(values: impl IntoIterator<Item = f64>, fit: Fit) -> Axis {
        let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
        for v in values {
            let v = if fit.log { v.log10() } else { v };
            if v.is_finite() {
                min = min.min(v);
                max = max.max(v);
            }
        }
        if min > max {
            (min, max) = (0.0, 1.0);
        }
        if fit.log {
            Self::log10(min, max, fit.pad)
        } else {
            Self::linear(min, max, fit)
        }
    }

    fn linear(min: f64, max: f64, fit: Fit) -> Axis {
        let (mut lo, mut hi) = if min == max {
            let half = if fit.integer {
                1.0
            } else if min != 0.0 {
                min.abs() * 0.1
            } else {
                1.0
            };
            (min - half, max + half)
        } else {
            let pad = (max - min) * fit.pad;
            (min - pad, max + pad)
        };
        if fit.include_zero {
            if min >= 0.0 {
                lo = 0.0;
            }
            if max <= 0.0 {
                hi = 0.0;
            }
        }
        let step = nice_step(hi - lo, 6.0, fit.integer);
        let ticks = ticks_between(lo, hi, step)
            .into_iter()
            .map(|t| (t, format_tick(t, step)))
            .collect();
        Axis {
            log: false,
            lo,
            hi,
            ticks,
        }
    }

    fn log10(min: f64, max: f64, pad: f64) -> Axis {
        let (lo, hi) = if min == max {
            (min - 0.15, max + 0.15)
        } else {
            let p = (max - min) * pad;
            (min - p, max + p)
        };
        Axis {
            log: true,
            lo,
            hi,
            ticks: log_ticks(lo, hi),
        }
    }

    /// A category axis: slot `i` spans `i..i+1`, its label at the centre.
    pub(crate) fn categories(names: &[String]) -> Axis {
        Axis {
            log: false,
            lo: 0.0,
            hi: names.len().max(1) as f64,
            ticks: names
                .iter()
                .enumerate()
                .map(|(i, n)| (i as f64 + 0.5, n.clone()))
                .collect(),
        }
    }

    /// A value in plot space; `None` where it cannot be drawn (not finite,
    /// or not positive on a log axis).
    pub(crate) fn to_plot(&self, v: f64) -> Option<f64> {
        let t = if self.log {
            if v > 0.0 {
                v.log10()
            } else {
                return None;
            }
        } else {
            v
        };
        t.is_finite().then_some(t)
    }

    /// Where bars start: zero on a linear axis (kept inside the range), the
    /// bottom of a log axis.
    pub(crate) fn baseline(&self) -> f64 {
        if self.log {
            self.lo
        } else {
            0.0_f64.clamp(self.lo, self.hi)
        }
    }

    /// The label of a tick position (empty between ticks).
    pub(crate) fn label(&self, t: f64) -> String {
        let eps = (self.hi - self.lo).abs() * 1e-9;
        self.ticks
            .iter()
            .find(|(p, _)| (p - t).abs() <= eps)
            .map(|(_, l)| l.clone())
            .unwrap_or_default()
    }

    /// The plotters coordinate with our ticks bound to it.
    pub(crate) fn coord(&self) -> Ticked {
        Ticked {
            lo: self.lo,
            hi: self.hi,
            ticks: self.ticks.iter().map(|(t, _)| *t).collect(),
        }
    }
}

/// A linear `f64` coordinate whose ticks (grid lines, labels) are exactly
/// the given ones. Plotters' own `WithKeyPoints` would do, but it loses the
/// default label formatting that `configure_mesh` requires.
#[derive(Debug, Clone)]
pub(crate) struct Ticked {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    // As plotters' `RangedCoordf64::map`, so lines land on the same pixels.
    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let logic = (v - self.lo) / (self.hi - self.lo);
        let actual = limit.1 - limit.0;
        if actual == 0 {
            return limit.1;
        }
        if logic.is_infinite() {
            return if logic.is_sign_positive() {
                limit.1
            } else {
                limit.0
            };
        }
        if actual > 0 {
            limit.0 + (f64::from(actual) * logic + 1e-3).floor() as i32
        } else {
            limit.0 + (f64::from(actual) * logic - 1e-3).ceil() as i32
        }
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        // Only bold points: there are no light grid lines.
        if hint.weight().allow_light_points() {
            vec![]
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

/// A step of 1, 2, 2.5 or 5 times a power of ten giving about `target`
/// intervals over `span` (integer axes skip 2.5 and never go below 1).
pub(crate) fn nice_step(span: f64, target: f64, integer: bool) -> f64 {
    if !(span.is_finite() && span > 0.0) {
        return 1.0;
    }
    let raw = span / target;
    let mag = 10f64.powf(raw.log10().floor());
    let multiples: &[f64] = if integer {
        &[1.0, 2.0, 5.0, 10.0]
    } else {
        &[1.0, 2.0, 2.5, 5.0, 10.0]
    };
    let step = multiples
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw * 0.999)
        .unwrap_or(10.0 * mag);
    if integer {
        step.round().max(1.0)
    } else {
        step
    }
}

/// Multiples of `step` inside `lo..=hi`.
fn ticks_between(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    let first = (lo / step - 1e-9).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    (first..=last)
        .map(|k| {
            let t = k as f64 * step;
            // Avoid "-0" and 0.30000000000000004.
            if t.abs() < step * 1e-9 {
                0.0
            } else {
                t
            }
        })
        .collect()
}

/// Log ticks between plot-space bounds: powers of ten over many decades,
/// 1-2-5 over a few, 1..9 inside about one, and plain nice steps (in value
/// space) when even those give fewer than three ticks.
fn log_ticks(lo: f64, hi: f64) -> Vec<(f64, String)> {
    let mantissas: [&[f64]; 3] = [
        &[1.0],
        &[1.0, 2.0, 5.0],
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
    ];
    for set in mantissas {
        let mut ticks = vec![];
        let (e0, e1) = (lo.floor() as i32, hi.ceil() as i32);
        for e in e0..=e1 {
            for m in set {
                let v = m * 10f64.powi(e);
                let t = v.log10();
                if t >= lo - 1e-9 && t <= hi + 1e-9 {
                    ticks.push((t, format_sig(v)));
                }
            }
        }
        if ticks.len() > 10 && set.len() == 1 {
            let keep = ticks.len().div_ceil(8);
            ticks = ticks.into_iter().step_by(keep).collect();
        }
        if (3..=12).contains(&ticks.len()) || (ticks.len() > 12 && set.len() == 1) {
            return ticks;
        }
        if ticks.len() > 12 {
            break;
        }
    }
    let (vlo, vhi) = (10f64.powf(lo), 10f64.powf(hi));
    let step = nice_step(vhi - vlo, 5.0, false);
    ticks_between(vlo, vhi, step)
        .into_iter()
        .filter(|v| *v > 0.0)
        .map(|v| (v.log10(), format_tick(v, step)))
        .collect()
}

/// A tick label with as many decimals as the step needs.
pub(crate) fn format_tick(v: f64, step: f64) -> String {
    if step >= 1e5 || (step < 1e-3 && v.abs() >= 1e-12 && (v.abs() < 1e-3 || v.abs() >= 1e5)) {
        return format_sig(v);
    }
    let decimals = (0..=6)
        .find(|d| {
            let scaled = step * 10f64.powi(*d);
            (scaled - scaled.round()).abs() < 1e-6 * scaled.max(1.0)
        })
        .unwrap_or(6) as usize;
    format!("{v:.decimals$}")
}

/// A value with up to three significant digits, scientific when it is very
/// large or very small.
pub(crate) fn format_sig(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let mag = v.abs().log10().floor() as i32;
    if !(-3..5).contains(&mag) {
        let s = format!("{v:.2e}");
        // 2.50e-4 -> 2.5e-4, 1.00e6 -> 1e6
        return match s.split_once('e') {
            Some((m, e)) => {
                let m = m.trim_end_matches('0').trim_end_matches('.');
                format!("{m}e{e}")
            }
            None => s,
        };
    }
    let decimals = (2 - mag).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fit(log: bool, integer: bool) -> Fit {
        Fit {
            log,
            integer,
            include_zero: false,
            pad: 0.0,
        }
    }

    #[test]
    fn linear_ticks_are_nice_and_inside() {
        let a = Axis::numeric([0.0, 1.0], fit(false, false));
        let labels: Vec<_> = a.ticks.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels, ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
    }

    #[test]
    fn integer_axis_has_integer_ticks_even_for_one_epoch() {
        let a = Axis::numeric([3.0], fit(false, true));
        let labels: Vec<_> = a.ticks.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels, ["2", "3", "4"]);
        let a = Axis::numeric([1.0, 4.0], fit(false, true));
        assert!(a
            .ticks
            .iter()
            .all(|(t, l)| t.fract() == 0.0 && !l.contains('.')));
    }

    #[test]
    fn log_axis_inside_one_decade_still_has_ticks() {
        let a = Axis::numeric([0.31, 0.78], fit(true, false));
        assert!(a.ticks.len() >= 3, "{:?}", a.ticks);
        let a = Axis::numeric([0.52, 0.55], fit(true, false));
        assert!(a.ticks.len() >= 3, "{:?}", a.ticks);
        let a = Axis::numeric([1e-3, 1e4], fit(true, false));
        assert!(
            a.ticks.iter().any(|(_, l)| l == "1e-3" || l == "0.001"),
            "{:?}",
            a.ticks
        );
    }

    #[test]
    fn log_axis_rejects_non_positive_values() {
        let a = Axis::numeric([1.0, 10.0], fit(true, false));
        assert_eq!(a.to_plot(0.0), None);
        assert_eq!(a.to_plot(-1.0), None);
        assert_eq!(a.to_plot(100.0), Some(2.0));
    }

    #[test]
    fn labels_format_by_magnitude() {
        assert_eq!(format_sig(0.00025), "2.5e-4");
        assert_eq!(format_sig(2_000_000.0), "2e6");
        assert_eq!(format_sig(0.5), "0.5");
        assert_eq!(format_sig(20.0), "20");
        assert_eq!(format_tick(0.25, 0.25), "0.25");
        assert_eq!(format_tick(150.0, 50.0), "150");
    }

    #[test]
    fn category_ticks_sit_at_slot_centres() {
        let a = Axis::categories(&["a".to_string(), "b".to_string()]);
        assert_eq!(a.label(1.5), "b");
        assert_eq!(a.label(1.0), "");
    }
}
