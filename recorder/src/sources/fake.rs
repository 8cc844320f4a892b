//! Constant-power sources for deterministic tests of the whole binary
//! (the hidden `--fake-sources gpu=200,cpu=50,dram=5` flag), in the spirit
//! of hyperfine's fake executor: the real sampler, sink and analyzer run,
//! only the meter is made up.
//!
//! A fake source draws exactly its power from the sampler's time origin, so
//! its counter is the analytic integral: `energy_uj = power × t_ns`, and the
//! energy of any interval is `power × duration` up to 1 µJ of rounding. It
//! presents itself as a counter (`measured-counter`) so the analyzer's
//! preferred path is the one under test. It updates as often as asked
//! (`gpu=200@50`: read at 50 Hz), by default on every tick of the sampler.

use super::{source_info, PowerSource, Reading, SourceError, UpdateRate, POLL_EVERY_TICK};
use trainwatt_trace::{Domain, Method, SourceInfo};

/// A source of constant power.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeSource {
    id: String,
    domain: Domain,
    /// Power in mW: an integer so the energy is exact.
    power_mw: i64,
    /// The update rate to declare; `None`: every tick.
    rate_hz: Option<f64>,
}

impl FakeSource {
    /// `key` names the id (`fake:<key>`); `power_w` is rounded to 1 mW.
    pub fn new(key: &str, domain: Domain, power_w: f64) -> Self {
        FakeSource {
            id: format!("fake:{key}"),
            domain,
            power_mw: (power_w * 1e3).round() as i64,
            rate_hz: None,
        }
    }

    /// The same source declaring an update rate of `hz`.
    pub fn with_rate(mut self, hz: f64) -> Self {
        self.rate_hz = Some(hz);
        self
    }

    pub fn power_w(&self) -> f64 {
        self.power_mw as f64 / 1e3
    }

    /// The exact energy from t = 0 to `t_ns`, in µJ (mW × ns = pJ),
    /// rounded to the nearest µJ.
    pub fn energy_uj_at(&self, t_ns: i64) -> i64 {
        let pj = i128::from(self.power_mw) * i128::from(t_ns);
        let uj = (pj + 500_000 * pj.signum()) / 1_000_000;
        i64::try_from(uj).unwrap_or(if uj < 0 { i64::MIN } else { i64::MAX })
    }
}

impl PowerSource for FakeSource {
    fn info(&self) -> SourceInfo {
        let mut info = source_info(
            &self.id,
            self.domain,
            Method::MeasuredCounter,
            format!("fake constant {} W (tests only)", self.power_w()),
            POLL_EVERY_TICK,
        );
        info.settings
            .insert("power_w".into(), self.power_w().into());
        info
    }

    fn read(&mut self, t_ns: i64) -> Result<Reading, SourceError> {
        Ok(Reading {
            power_w: Some(self.power_w() as f32),
            energy_uj: Some(self.energy_uj_at(t_ns)),
            suspect_wrap: false,
        })
    }

    fn update_rate(&self) -> Option<UpdateRate> {
        self.rate_hz.map(|hz| UpdateRate::new(hz, "configured"))
    }
}

/// Parses `gpu=200,cpu=50,dram=5`. A key is `gpu`, `cpu` or `dram`,
/// optionally followed by digits to have several of a kind (`gpu0=200,
/// gpu1=180`); the value is watts (≥ 0, decimals allowed), optionally
/// followed by `@HZ`, the update rate to declare (`gpu=200@50`). Keys must
/// be unique.
pub fn parse_fake_spec(spec: &str) -> Result<Vec<FakeSource>, String> {
    let mut sources: Vec<FakeSource> = Vec::new();
    for item in spec.split(',').map(str::trim) {
        if item.is_empty() {
            return Err(format!("empty entry in fake source list '{spec}'"));
        }
        let (key, value) = item
            .split_once('=')
            .ok_or_else(|| format!("'{item}': expected KEY=WATTS, e.g. gpu=200"))?;
        let key = key.trim();
        let kind = key.trim_end_matches(|c: char| c.is_ascii_digit());
        let domain = match kind {
            "gpu" => Domain::Gpu,
            "cpu" => Domain::CpuPackage,
            "dram" => Domain::Dram,
            _ => {
                return Err(format!(
                    "'{key}': unknown fake source (use gpu, cpu or dram, optionally numbered)"
                ))
            }
        };
        let (watts, rate) = match value.split_once('@') {
            Some((w, r)) => (w, Some(r.trim())),
            None => (value, None),
        };
        let power_w: f64 = watts
            .trim()
            .parse()
            .map_err(|_| format!("'{item}': '{}' is not a number of watts", watts.trim()))?;
        if !(power_w.is_finite() && (0.0..=1e6).contains(&power_w)) {
            return Err(format!("'{item}': watts must be between 0 and 1e6"));
        }
        let mut source = FakeSource::new(key, domain, power_w);
        if let Some(r) = rate {
            match r.parse::<f64>() {
                Ok(hz) if hz > 0.0 && hz <= crate::rates::MAX_HZ => source = source.with_rate(hz),
                _ => return Err(format!("'{item}': '@{r}' is not a rate in (0, 100000] Hz")),
            }
        }
        if sources.iter().any(|s| s.id == source.id) {
            return Err(format!("'{key}' given twice"));
        }
        sources.push(source);
    }
    Ok(sources)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_the_cli_example() {
        let mut s = parse_fake_spec("gpu=200,cpu=50,dram=5").unwrap();
        let infos: Vec<(String, Domain, Method)> = s
            .iter()
            .map(|f| {
                let i = f.info();
                (i.id, i.domain, i.method)
            })
            .collect();
        assert_eq!(
            infos,
            [
                ("fake:gpu".to_string(), Domain::Gpu, Method::MeasuredCounter),
                (
                    "fake:cpu".to_string(),
                    Domain::CpuPackage,
                    Method::MeasuredCounter
                ),
                (
                    "fake:dram".to_string(),
                    Domain::Dram,
                    Method::MeasuredCounter
                ),
            ]
        );
        // 200 W for 2.5 s = 500 J.
        let r = s[0].read(2_500_000_000).unwrap();
        assert_eq!(r.energy_uj, Some(500_000_000));
        assert_eq!(r.power_w, Some(200.0));
        assert_eq!(s[2].read(1_000_000_000).unwrap().energy_uj, Some(5_000_000));
        assert_eq!(s[0].update_rate(), None);
        let r = parse_fake_spec("gpu=200@50").unwrap()[0]
            .update_rate()
            .unwrap();
        assert_eq!(r.hz, 50.0);
    }

    #[test]
    fn decimals_numbering_and_rounding() {
        let s = parse_fake_spec(" gpu0 = 12.5 , gpu1=0.001 ").unwrap();
        assert_eq!(s[0].info().id, "fake:gpu0");
        // 12.5 W × 1 ms = 12 500 µJ; 1 mW × 1.4 ms = 1.4 µJ → 1.
        assert_eq!(s[0].energy_uj_at(1_000_000), 12_500);
        assert_eq!(s[1].energy_uj_at(1_400_000), 1);
        assert_eq!(s[1].energy_uj_at(1_600_000), 2);
        // A day at 1 kW does not overflow.
        let day_ns = 86_400_000_000_000;
        assert_eq!(
            FakeSource::new("cpu", Domain::CpuPackage, 1000.0).energy_uj_at(day_ns),
            86_400_000_000_000
        );
    }

    #[test]
    fn bad_specs_say_what_is_wrong() {
        for (spec, needle) in [
            ("", "empty entry"),
            ("gpu=200,", "empty entry"),
            ("gpu", "expected KEY=WATTS"),
            ("tpu=3", "unknown fake source"),
            ("gpu=abc", "not a number"),
            ("gpu=-1", "between 0"),
            ("gpu=inf", "between 0"),
            ("gpu=1,gpu=2", "given twice"),
            ("gpu=1@0", "not a rate"),
            ("gpu=1@x", "not a rate"),
        ] {
            let err = parse_fake_spec(spec).unwrap_err();
            assert!(err.contains(needle), "{spec}: {err}");
        }
    }

    proptest! {
        #[test]
        fn no_spec_panics(spec in "\\PC{0,40}") {
            let _ = parse_fake_spec(&spec);
        }

        /// Energy over any interval is power × duration (to rounding).
        #[test]
        fn interval_energy_is_power_times_duration(
            mw in 0i64..10_000_000, a in 0i64..1i64 << 45, d in 0i64..1i64 << 40,
        ) {
            let s = FakeSource::new("gpu", Domain::Gpu, mw as f64 / 1e3);
            let e = s.energy_uj_at(a + d) - s.energy_uj_at(a);
            let exact = mw as f64 * d as f64 / 1e6;
            prop_assert!((e as f64 - exact).abs() <= 1.0 + exact * 1e-12, "{e} vs {exact}");
        }
    }
}
