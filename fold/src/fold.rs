//! The streaming reduction of one run's power samples to energy per epoch.
//!
//! Samples arrive in file order, one row at a time, interleaved across
//! sources; each source keeps a few numbers of state and per-bin sums, so
//! memory does not grow with the number of samples. The epoch boundaries
//! b₀ = start of epoch 1 and bₖ = end of epoch k cut time into bins: bin 0 is
//! the pre-training window (t < b₀), bin k is (bₖ₋₁, bₖ] (bin 1 also holds
//! b₀ itself) and bin n+1 is after the last epoch. E(i) is a sum of bins
//! 1..=i, so time between epochs (evaluation) is charged to the next epoch,
//! as SPEC §2 says (energy from the start of epoch 1 to the end of epoch i).
//!
//! Why the trapezoid: a power reading is a point on a curve we do not see;
//! joining the points with straight lines is the least-assuming curve, and
//! its area is exact for the piecewise-linear power of the tests and second
//! order in the sample spacing otherwise. A segment that straddles a
//! boundary is cut there, with the power at the cut found by linear
//! interpolation, so an epoch gets exactly the area inside it whatever the
//! sampling phase. Likewise a counter is read at a boundary by interpolating
//! between the two bracketing reads: epoch boundaries almost never coincide
//! with a read, and taking the nearest read instead would shift up to one
//! sample period of energy between neighbouring epochs.
//!
//! Checks ride along (a sample is looked at once): times going backwards,
//! NaN, negative or absurd watts, counters going down or jumping by an
//! impossible amount, and gaps. Offending rows are skipped in the arithmetic
//! and recorded as [`SampleProblem`]s; the caller decides which of them make
//! a number wrong.

/// Above this a reading is taken as corrupt: no single GPU, CPU package or
/// DRAM domain draws 5 kW.
pub(crate) const MAX_PLAUSIBLE_W: f64 = 5_000.0;

/// Problems kept per run; beyond this only the count grows.
const MAX_KEPT_PROBLEMS: usize = 10_000;

/// What was wrong with a sample row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// `t_ns` is null.
    NullTime,
    /// `t_ns` is earlier than the previous row of the same source.
    BackwardsClock,
    /// `power_w` is NaN or infinite.
    PowerNotFinite,
    /// `power_w` is below zero.
    PowerNegative,
    /// `power_w` is above [`MAX_PLAUSIBLE_W`].
    PowerAbsurd,
    /// `energy_uj` is below the previous reading of the same source.
    CounterDecreased,
    /// `energy_uj` grew faster than [`MAX_PLAUSIBLE_W`] allows (a wrap
    /// unwrapped twice, a corrupt value).
    CounterJump,
    /// No row of the source for longer than the gap tolerance.
    Gap,
    /// Two rows of one source at the same `t_ns` with different readings:
    /// which one is right is unknown, and taking both would count the
    /// instant twice in a sample sum.
    DuplicateTime,
}

impl ProblemKind {
    /// Every kind.
    pub const ALL: [Self; 9] = [
        Self::NullTime,
        Self::BackwardsClock,
        Self::PowerNotFinite,
        Self::PowerNegative,
        Self::PowerAbsurd,
        Self::CounterDecreased,
        Self::CounterJump,
        Self::Gap,
        Self::DuplicateTime,
    ];

    /// A stable name for scripts (`backwards-clock`).
    pub fn code(self) -> &'static str {
        match self {
            Self::NullTime => "null-time",
            Self::BackwardsClock => "backwards-clock",
            Self::PowerNotFinite => "power-not-finite",
            Self::PowerNegative => "power-negative",
            Self::PowerAbsurd => "power-absurd",
            Self::CounterDecreased => "counter-decreased",
            Self::CounterJump => "counter-jump",
            Self::Gap => "gap",
            Self::DuplicateTime => "duplicate-time",
        }
    }
}

/// One offending row. `value` is the offending number (watts, µJ or the gap
/// in seconds) for the message.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SampleProblem {
    pub kind: ProblemKind,
    /// 0-based row over the run's segment files taken end to end (the
    /// reporter turns it into a file and a row in it).
    pub row: u64,
    pub source: usize,
    pub t_ns: i64,
    /// The previous good row's time of this source (or `t_ns` for the first):
    /// the problem touches the arithmetic from here on.
    pub t_ref_ns: i64,
    pub value: f64,
}

/// A counter value at a boundary: the bracketing read's integer µJ plus the
/// interpolated fraction, kept apart so that differences of large counters
/// keep their precision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct CounterAt {
    pub base_uj: i64,
    pub frac_uj: f64,
}

impl CounterAt {
    /// `self − earlier` in J.
    pub fn minus_j(self, earlier: CounterAt) -> f64 {
        (diff(self.base_uj, earlier.base_uj) + (self.frac_uj - earlier.frac_uj)) * 1e-6
    }
}

/// Per-source state and per-bin sums.
#[derive(Debug, Clone)]
pub(crate) struct SourceFold {
    gap_tol_ns: i64,
    last_t: Option<i64>,
    // Power track.
    p_prev: Option<(i64, f64)>,
    pub p_first_t: Option<i64>,
    area_bin: usize,
    sample_bin: usize,
    /// Trapezoid area per bin, W·s.
    pub area_ws: Vec<f64>,
    /// Plain sum of power samples per bin, W.
    pub sum_w: Vec<f64>,
    pub n_power: u64,
    /// The highest accepted power reading: (W, row, t_ns).
    pub max_p: Option<(f64, u64, i64)>,
    // Counter track.
    c_prev: Option<(i64, i64)>,
    pub c_first: Option<(i64, i64)>,
    c_next: usize,
    /// Counter interpolated at each boundary b₀..bₙ (None: not bracketed).
    pub c_at: Vec<Option<CounterAt>>,
    /// Whether a read fell exactly on each boundary (a boundary read, or
    /// chance): its counter value there is read, not interpolated.
    pub c_exact: Vec<bool>,
    /// Rows marked as boundary reads (`boundary = true`).
    pub n_boundary: u64,
    pub n_counter: u64,
}

impl SourceFold {
    fn new(n_boundaries: usize, gap_tol_ns: i64) -> Self {
        Self {
            gap_tol_ns,
            last_t: None,
            p_prev: None,
            p_first_t: None,
            area_bin: 0,
            sample_bin: 0,
            area_ws: vec![0.0; n_boundaries + 1],
            sum_w: vec![0.0; n_boundaries + 1],
            n_power: 0,
            max_p: None,
            c_prev: None,
            c_first: None,
            c_next: 0,
            c_at: vec![None; n_boundaries],
            c_exact: vec![false; n_boundaries],
            n_boundary: 0,
            n_counter: 0,
        }
    }

    /// Time of the last power sample.
    pub fn p_last_t(&self) -> Option<i64> {
        self.p_prev.map(|(t, _)| t)
    }

    /// The last counter reading, (t_ns, energy_uj).
    pub fn c_last(&self) -> Option<(i64, i64)> {
        self.c_prev
    }

    /// Mean power over all its samples (trapezoid area over their span), W.
    pub fn mean_w(&self) -> Option<f64> {
        let (t0, t1) = (self.p_first_t?, self.p_last_t()?);
        (t1 > t0).then(|| self.area_ws.iter().sum::<f64>() / (diff(t1, t0) * 1e-9))
    }

    /// Cumulative trapezoid area from b₀ to bₖ, W·s.
    #[cfg(test)]
    pub fn area_to(&self, k: usize) -> f64 {
        self.area_ws[1..=k].iter().sum()
    }
}

/// The fold of one run: the boundaries and one [`SourceFold`] per selected
/// source. Feed rows with [`RunFold::push`].
#[derive(Debug)]
pub(crate) struct RunFold {
    /// b₀ (start of epoch 1), b₁..bₙ (end of each epoch), strictly increasing.
    bounds: Vec<i64>,
    pub sources: Vec<SourceFold>,
    counters: bool,
    pub problems: Vec<SampleProblem>,
    /// Problems found, including those not kept.
    pub problem_count: u64,
    pub rows: u64,
    /// Rows that repeat the previous row of their source exactly (same
    /// `t_ns`, same readings): skipped, counted here and reported.
    pub exact_duplicates: u64,
    /// Rows whose `source` the manifest does not list (by source name), or
    /// that have no source (`None`): not used, and reported.
    pub unlisted: std::collections::BTreeMap<Option<String>, u64>,
}

impl RunFold {
    /// `gap_tol_ns[s]` is the gap tolerance of source `s`; `counters` says
    /// whether `energy_uj` is read at all.
    pub fn new(bounds: Vec<i64>, gap_tol_ns: &[i64], counters: bool) -> Self {
        let n = bounds.len();
        Self {
            sources: gap_tol_ns.iter().map(|&g| SourceFold::new(n, g)).collect(),
            bounds,
            counters,
            problems: Vec::new(),
            problem_count: 0,
            rows: 0,
            exact_duplicates: 0,
            unlisted: std::collections::BTreeMap::new(),
        }
    }

    pub fn bounds(&self) -> &[i64] {
        &self.bounds
    }

    fn problem(&mut self, p: SampleProblem) {
        self.problem_count += 1;
        if self.problems.len() < MAX_KEPT_PROBLEMS {
            self.problems.push(p);
        }
    }

    /// One regular sample row of source `source` (an index into the
    /// selected sources), row `row` of the run's segments taken end to end.
    #[cfg(test)]
    pub fn push(
        &mut self,
        row: u64,
        source: usize,
        t_ns: Option<i64>,
        power_w: Option<f64>,
        energy_uj: Option<i64>,
    ) {
        self.push_row(row, source, t_ns, power_w, energy_uj, false);
    }

    /// One sample row of source `source` (an index into the selected
    /// sources), row `row` of the run's segments taken end to end. A
    /// `boundary` read is a real reading (it joins the trapezoid and gives
    /// the counter at the boundary exactly) but not one of the regular
    /// samples that the paper's sample-sum adds up.
    #[inline]
    pub fn push_row(
        &mut self,
        row: u64,
        source: usize,
        t_ns: Option<i64>,
        power_w: Option<f64>,
        energy_uj: Option<i64>,
        boundary: bool,
    ) {
        self.rows += 1;
        let base = SampleProblem {
            kind: ProblemKind::NullTime,
            row,
            source,
            t_ns: 0,
            t_ref_ns: 0,
            value: f64::NAN,
        };
        let Some(t) = t_ns else {
            // A row without a time cannot be placed; it is relevant wherever
            // it is, so it carries the earliest possible reference time.
            self.problem(SampleProblem {
                t_ref_ns: i64::MIN,
                ..base
            });
            return;
        };
        let t_ref = self.sources[source].last_t.unwrap_or(t);
        if !self.time_step(base, t, power_w, energy_uj) {
            return;
        }
        let s = &mut self.sources[source];
        s.last_t = Some(t);
        s.n_boundary += u64::from(boundary);
        if let Some(p) = power_w {
            self.power_reading(base, t, t_ref, p, boundary);
        }
        if let (true, Some(e)) = (self.counters, energy_uj) {
            self.counter_reading(base, t, t_ref, e);
        }
    }

    /// Checks a row's time against its source's previous one: the clock
    /// going back or a second reading at one instant refuse the row (an
    /// exact repeat is counted and skipped); a gap is noted and the row
    /// kept. Returns whether the row's readings are taken.
    #[inline]
    fn time_step(
        &mut self,
        base: SampleProblem,
        t: i64,
        power_w: Option<f64>,
        energy_uj: Option<i64>,
    ) -> bool {
        let bounds_end = self.bounds.last().copied().unwrap_or(i64::MIN);
        let bounds_start = self.bounds.first().copied().unwrap_or(i64::MAX);
        let s = &self.sources[base.source];
        let Some(last) = s.last_t else {
            return true;
        };
        let at = |kind, value| SampleProblem {
            kind,
            t_ns: t,
            t_ref_ns: last,
            value,
            ..base
        };
        if t < last {
            self.problem(at(ProblemKind::BackwardsClock, diff(last, t) * 1e-9));
            return false;
        }
        if t == last {
            let same_power = s.p_prev.map(|(_, p)| p) == power_w.filter(|p| p.is_finite());
            let same_counter = !self.counters || s.c_prev.map(|(_, e)| e) == energy_uj;
            if same_power && same_counter {
                self.exact_duplicates += 1;
            } else {
                let p = at(ProblemKind::DuplicateTime, power_w.unwrap_or(f64::NAN));
                self.problem(p);
            }
            return false;
        }
        if i128::from(t) - i128::from(last) > i128::from(s.gap_tol_ns)
            && last <= bounds_end
            && t >= bounds_start
        {
            // The row itself is fine; keep going.
            self.problem(at(ProblemKind::Gap, diff(t, last) * 1e-9));
        }
        true
    }

    /// A power reading: refused when not finite, negative or implausible;
    /// otherwise into the trapezoid and (unless a boundary read) the
    /// sample-sum.
    #[inline]
    fn power_reading(&mut self, base: SampleProblem, t: i64, t_ref: i64, p: f64, boundary: bool) {
        let kind = if !p.is_finite() {
            Some(ProblemKind::PowerNotFinite)
        } else if p < 0.0 {
            Some(ProblemKind::PowerNegative)
        } else if p > MAX_PLAUSIBLE_W {
            Some(ProblemKind::PowerAbsurd)
        } else {
            None
        };
        if let Some(kind) = kind {
            self.problem(SampleProblem {
                kind,
                t_ns: t,
                t_ref_ns: t_ref,
                value: p,
                ..base
            });
            return;
        }
        let s = &mut self.sources[base.source];
        if s.max_p.is_none_or(|(m, _, _)| p > m) {
            s.max_p = Some((p, base.row, t));
        }
        power_step(s, &self.bounds, t, p, !boundary);
    }

    /// A counter reading: refused when it decreased or jumped, otherwise
    /// into the per-epoch counter values.
    #[inline]
    fn counter_reading(&mut self, base: SampleProblem, t: i64, t_ref: i64, e: i64) {
        let s = &mut self.sources[base.source];
        match counter_check(s.c_prev, t, e) {
            Some(kind) => self.problem(SampleProblem {
                kind,
                t_ns: t,
                t_ref_ns: t_ref,
                value: e as f64,
                ..base
            }),
            None => counter_step(s, &self.bounds, t, e),
        }
    }
}

/// `a − b` as f64, exact for any two i64 (no overflow on corrupt times or
/// counters near the type's limits).
#[inline]
fn diff(a: i64, b: i64) -> f64 {
    (i128::from(a) - i128::from(b)) as f64
}

/// Whether counter read `e` at `t` is plausible after `prev`.
fn counter_check(prev: Option<(i64, i64)>, t: i64, e: i64) -> Option<ProblemKind> {
    let (t0, e0) = prev?;
    if e < e0 {
        return Some(ProblemKind::CounterDecreased);
    }
    // µJ per ns is kW: compare in integers-as-floats, allowing one µJ of
    // rounding for reads at the same instant.
    let de = diff(e, e0);
    let dt = diff(t, t0);
    if de > 1.0 && de * 1e3 > MAX_PLAUSIBLE_W * dt {
        return Some(ProblemKind::CounterJump);
    }
    None
}

/// Adds the segment from the previous power sample to (`t`, `p`): its
/// trapezoid, cut at every boundary inside it, and (for a `regular` sample,
/// not a boundary read) the sample to its bin's sample-sum.
fn power_step(s: &mut SourceFold, bounds: &[i64], t: i64, p: f64, regular: bool) {
    let n = bounds.len();
    while s.sample_bin < n && bounds[s.sample_bin] < t {
        s.sample_bin += 1;
    }
    // Bin 1 includes b₀ itself; any later bin k holds (bₖ₋₁, bₖ].
    let bin = if s.sample_bin == 0 && n > 0 && bounds[0] == t {
        1
    } else {
        s.sample_bin
    };
    if regular {
        s.sum_w[bin] += p;
    }
    s.n_power += 1;
    if let Some((t0, p0)) = s.p_prev {
        while s.area_bin < n && bounds[s.area_bin] <= t0 {
            s.area_bin += 1;
        }
        let (mut x, mut px) = (t0, p0);
        let span = diff(t, t0);
        while s.area_bin < n && bounds[s.area_bin] < t {
            let y = bounds[s.area_bin];
            let py = p0 + (p - p0) * (diff(y, t0) / span);
            s.area_ws[s.area_bin] += diff(y, x) * 1e-9 * (px + py) * 0.5;
            (x, px) = (y, py);
            s.area_bin += 1;
        }
        s.area_ws[s.area_bin] += diff(t, x) * 1e-9 * (px + p) * 0.5;
    } else {
        s.p_first_t = Some(t);
    }
    s.p_prev = Some((t, p));
}

/// Resolves every boundary at or before `t` from the counter reads that
/// bracket it.
fn counter_step(s: &mut SourceFold, bounds: &[i64], t: i64, e: i64) {
    let n = bounds.len();
    while s.c_next < n && bounds[s.c_next] <= t {
        let b = bounds[s.c_next];
        s.c_exact[s.c_next] = b == t;
        s.c_at[s.c_next] = if b == t {
            Some(CounterAt {
                base_uj: e,
                frac_uj: 0.0,
            })
        } else {
            // None when the boundary precedes the first read.
            s.c_prev.map(|(t0, e0)| CounterAt {
                base_uj: e0,
                frac_uj: diff(e, e0) * (diff(b, t0) / diff(t, t0)),
            })
        };
        s.c_next += 1;
    }
    if s.c_first.is_none() {
        s.c_first = Some((t, e));
    }
    s.c_prev = Some((t, e));
    s.n_counter += 1;
}

#[cfg(test)]
#[path = "fold_props.rs"]
mod props;

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    #[test]
    fn trapezoid_is_cut_exactly_at_boundaries() {
        // Power ramps 0 → 100 W over 0..10 s, read at 0 and 10 s only;
        // boundaries at 2 s and 5 s: ∫₂⁵ t·10 dt = 5·(25 − 4) = 105 J.
        let mut f = RunFold::new(vec![2 * S, 5 * S], &[i64::MAX], false);
        f.push(0, 0, Some(0), Some(0.0), None);
        f.push(1, 0, Some(10 * S), Some(100.0), None);
        let s = &f.sources[0];
        assert!((s.area_to(1) - 105.0).abs() < 1e-12);
        assert!((s.area_ws[0] - 20.0).abs() < 1e-12);
        assert!((s.area_ws[2] - 375.0).abs() < 1e-12);
    }

    #[test]
    fn counter_is_interpolated_at_boundaries() {
        let mut f = RunFold::new(vec![S / 2, 3 * S / 2], &[i64::MAX], true);
        f.push(0, 0, Some(0), None, Some(1_000_000));
        f.push(1, 0, Some(S), None, Some(3_000_000));
        f.push(2, 0, Some(2 * S), None, Some(5_000_000));
        let s = &f.sources[0];
        let (a, b) = (s.c_at[0].unwrap(), s.c_at[1].unwrap());
        assert!((b.minus_j(a) - 2.0).abs() < 1e-12);
    }

    #[test]
    fn bad_rows_are_recorded_and_skipped() {
        let mut f = RunFold::new(vec![0, 10 * S], &[S], true);
        f.push(0, 0, Some(0), Some(10.0), Some(0));
        f.push(1, 0, Some(S), Some(f64::NAN), Some(10));
        f.push(2, 0, Some(S / 2), Some(10.0), Some(20));
        f.push(3, 0, Some(4 * S), Some(10.0), Some(5));
        let kinds: Vec<_> = f.problems.iter().map(|p| (p.kind, p.row)).collect();
        assert_eq!(
            kinds,
            vec![
                (ProblemKind::PowerNotFinite, 1),
                (ProblemKind::BackwardsClock, 2),
                (ProblemKind::Gap, 3),
                (ProblemKind::CounterDecreased, 3),
            ]
        );
    }

    #[test]
    fn a_repeated_instant_is_a_problem_unless_it_repeats_exactly() {
        let mut f = RunFold::new(vec![0, 10 * S], &[i64::MAX], true);
        f.push(0, 0, Some(0), Some(10.0), Some(0));
        f.push(1, 0, Some(S), Some(10.0), Some(10_000_000));
        // An exact copy of row 1: skipped and counted, the area unchanged.
        f.push(2, 0, Some(S), Some(10.0), Some(10_000_000));
        // Same instant, another reading: a problem naming the row.
        f.push(3, 0, Some(S), Some(400.0), Some(10_000_000));
        f.push(4, 0, Some(10 * S), Some(10.0), Some(100_000_000));
        assert_eq!(f.exact_duplicates, 1);
        let kinds: Vec<_> = f.problems.iter().map(|p| (p.kind, p.row)).collect();
        assert_eq!(kinds, vec![(ProblemKind::DuplicateTime, 3)]);
        let s = &f.sources[0];
        assert!((s.area_to(1) - 100.0).abs() < 1e-12);
        assert!((s.sum_w[1] - 30.0).abs() < 1e-12, "{:?}", s.sum_w);
    }
}
