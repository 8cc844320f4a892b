//! A source that draws a known power waveform, for tests and for the
//! precision benchmark (`examples/precision.rs`): training-like bursts,
//! busy at high power for a few ms per batch and idle in between, so a
//! sampler that reads between bursts misses them. Like [`super::fake`] only
//! the meter is made up; the real sampler, sink and files are used.
//!
//! Its counter is the exact integral of the waveform in integer arithmetic
//! (mW × ns = pJ, truncated to whole µJ as a hardware counter truncates),
//! offset and wrapped at a range as RAPL's `energy_uj` wraps at
//! `max_energy_range_uj`, and unwrapped with RAPL's own [`WrapCounter`]. Its
//! `power_w` is the waveform's instantaneous value at the reading, as a
//! power meter (NVML, hwmon) reports it.

use super::rapl::WrapCounter;
use super::{source_info, PowerSource, Reading, SourceError, UpdateRate, POLL_EVERY_TICK};
use trainwatt_trace::{Domain, Method, SourceInfo};

/// A periodic burst: `busy_mw` for `busy_ns` at the start of every
/// `period_ns`, `idle_mw` for the rest; t = 0 is the start of a burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bursts {
    pub period_ns: i64,
    pub busy_ns: i64,
    pub busy_mw: i64,
    pub idle_mw: i64,
}

impl Bursts {
    /// Power at `t_ns`, W.
    pub fn power_w(&self, t_ns: i64) -> f64 {
        let in_period = t_ns.rem_euclid(self.period_ns);
        let mw = if in_period < self.busy_ns {
            self.busy_mw
        } else {
            self.idle_mw
        };
        mw as f64 / 1e3
    }

    /// Exact energy from 0 to `t_ns` (≥ 0), pJ.
    pub fn energy_pj(&self, t_ns: i64) -> i128 {
        let p = i128::from(self.period_ns);
        let busy = i128::from(self.busy_ns);
        let (hi, lo) = (i128::from(self.busy_mw), i128::from(self.idle_mw));
        let t = i128::from(t_ns.max(0));
        let (full, rem) = (t / p, t % p);
        full * (busy * hi + (p - busy) * lo) + rem.min(busy) * hi + (rem - busy).max(0) * lo
    }

    /// Mean power, W.
    pub fn mean_w(&self) -> f64 {
        let busy = self.busy_ns as f64 / self.period_ns as f64;
        (busy * self.busy_mw as f64 + (1.0 - busy) * self.idle_mw as f64) / 1e3
    }
}

/// A counter source drawing [`Bursts`] from the sampler's time origin.
#[derive(Debug, Clone)]
pub struct WaveformSource {
    id: String,
    wave: Bursts,
    offset_uj: u64,
    wrap: WrapCounter,
    rate_hz: Option<f64>,
}

impl WaveformSource {
    /// `key` names the id (`wave:<key>`). The raw counter starts at
    /// `offset_uj` and wraps at `range_uj`, like RAPL's.
    pub fn new(key: &str, wave: Bursts, offset_uj: u64, range_uj: u64) -> Self {
        Self {
            id: format!("wave:{key}"),
            wave,
            offset_uj: offset_uj % range_uj.max(1),
            wrap: WrapCounter::new(range_uj.max(1)),
            rate_hz: None,
        }
    }

    /// The same source declaring an update rate of `hz` (default: every
    /// tick of the sampler).
    pub fn with_rate(mut self, hz: f64) -> Self {
        self.rate_hz = Some(hz);
        self
    }

    /// The raw counter at `t_ns`, as the hardware would show it.
    pub fn raw_uj(&self, t_ns: i64) -> u64 {
        let uj = (self.wave.energy_pj(t_ns) / 1_000_000) as u64;
        (self.offset_uj + uj % self.wrap.range_uj) % self.wrap.range_uj
    }

    pub fn wave(&self) -> Bursts {
        self.wave
    }
}

impl PowerSource for WaveformSource {
    fn info(&self) -> SourceInfo {
        let w = &self.wave;
        let mut info = source_info(
            &self.id,
            Domain::Gpu,
            Method::MeasuredCounter,
            format!(
                "bursts: {} W for {} µs every {} µs, else {} W (tests only)",
                w.busy_mw as f64 / 1e3,
                w.busy_ns / 1000,
                w.period_ns / 1000,
                w.idle_mw as f64 / 1e3
            ),
            POLL_EVERY_TICK,
        );
        let s = &mut info.settings;
        s.insert("max_energy_range_uj".into(), self.wrap.range_uj.into());
        s.insert("mean_power_w".into(), w.mean_w().into());
        info
    }

    fn read(&mut self, t_ns: i64) -> Result<Reading, SourceError> {
        let total = self.wrap.update(self.raw_uj(t_ns));
        Ok(Reading {
            power_w: Some(self.wave.power_w(t_ns) as f32),
            energy_uj: Some(i64::try_from(total).unwrap_or(i64::MAX)),
            suspect_wrap: false,
        })
    }

    fn update_rate(&self) -> Option<UpdateRate> {
        self.rate_hz.map(|hz| UpdateRate::new(hz, "configured"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAVE: Bursts = Bursts {
        period_ns: 10_000_000,
        busy_ns: 3_000_000,
        busy_mw: 250_000,
        idle_mw: 40_000,
    };

    #[test]
    fn energy_is_the_integral_of_power() {
        // A Riemann sum at 1 µs steps is exact for a waveform whose edges
        // fall on whole µs.
        let mut sum_pj: i128 = 0;
        for k in 0..25_000i64 {
            sum_pj += (WAVE.power_w(k * 1000) * 1e3) as i128 * 1000;
            assert_eq!(WAVE.energy_pj((k + 1) * 1000), sum_pj, "at {} µs", k + 1);
        }
        // 3 ms × 250 W + 7 ms × 40 W = 1.03 J per 10 ms: 103 W mean.
        assert!((WAVE.mean_w() - 103.0).abs() < 1e-12);
    }

    #[test]
    fn the_counter_wraps_and_unwraps_to_the_exact_energy() {
        // 1.03 J per period; the raw counter wraps in the third period.
        let range = 3_000_000;
        let mut s = WaveformSource::new("gpu", WAVE, 1_000_000, range);
        let t = [0, 7_000_000, 25_000_000, 41_000_000];
        let e: Vec<i64> = t
            .iter()
            .map(|&t| s.read(t).unwrap().energy_uj.unwrap())
            .collect();
        assert!(s.raw_uj(t[2]) < s.raw_uj(t[1]), "no wrap happened");
        for (k, &tk) in t.iter().enumerate() {
            assert_eq!(e[k], (WAVE.energy_pj(tk) / 1_000_000) as i64);
        }
        assert_eq!(s.read(1_500_000).unwrap().power_w, Some(250.0));
        assert_eq!(s.read(45_000_000).unwrap().power_w, Some(40.0));
        assert_eq!(s.info().method, Method::MeasuredCounter);
    }
}
