//! How often each source is read, and so how often the sampler wakes.
//!
//! Why per source: a meter's value only changes at its own update rate —
//! RAPL's counters about every millisecond, NVML's power at the driver's
//! update period, an hwmon file at its `update_interval`, the modelled CPU
//! when `/proc/stat` is re-read (10 Hz) — and reading faster only repeats
//! values at a CPU cost. A counter does not even need its update rate for
//! the energy per epoch: boundary reads (see `sampler`) give it exactly at
//! every epoch's start and end. So each source declares its update rate
//! ([`crate::sources::PowerSource::update_rate`]); the sampler ticks at the
//! fastest rate any source needs, capped by `--rate HZ` (default
//! [`DEFAULT_CAP_HZ`]), and reads each source every k-th tick, k whole, so
//! the rate a source is read at is exactly `tick / k` and is what the
//! manifest records (`sources[].poll_hz`). A machine with only modelled
//! sources wakes 10 times a second instead of 1000.
//!
//! `--rate SOURCE=HZ` (repeatable, or a comma list) sets one source's rate
//! outright, above the cap if asked; `SOURCE` is a source id (`nvml:0`,
//! `rapl:package-0`) or its kind, the part before the first colon (`rapl`
//! for every RAPL zone). An id beats a kind.

use trainwatt_trace::SourceInfo;

/// The cap on declared rates when `--rate HZ` is not given.
pub const DEFAULT_CAP_HZ: f64 = 1000.0;
/// The highest rate accepted anywhere.
pub const MAX_HZ: f64 = 100_000.0;

/// How often a meter's value changes, and how that is known.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateRate {
    pub hz: f64,
    /// Where the figure comes from, for the manifest (`update_hz_from`),
    /// e.g. `hwmon update_interval`, `nominal`, `configured`.
    pub from: String,
}

impl UpdateRate {
    pub fn new(hz: f64, from: impl Into<String>) -> Self {
        Self {
            hz,
            from: from.into(),
        }
    }
}

/// One `--rate` value: a cap, or a source's own rate.
#[derive(Debug, Clone, PartialEq)]
pub enum RateArg {
    Cap(f64),
    Source { key: String, hz: f64 },
}

/// One `--rate` argument: `1000`, `rapl=1000`, or a comma list of them.
#[derive(Debug, Clone, PartialEq)]
pub struct RateList(pub Vec<RateArg>);

/// Parses one `--rate` argument (for clap).
pub fn parse_rate_list(s: &str) -> Result<RateList, String> {
    let hz = |v: &str| -> Result<f64, String> {
        let x: f64 = v
            .trim()
            .parse()
            .map_err(|_| format!("'{v}' is not a rate in Hz"))?;
        if x > 0.0 && x <= MAX_HZ {
            Ok(x)
        } else {
            Err(format!("{x} Hz is out of range (0, {MAX_HZ}]"))
        }
    };
    s.split(',')
        .map(str::trim)
        .map(|item| match item.split_once('=') {
            _ if item.is_empty() => Err(format!("empty entry in --rate '{s}'")),
            None => hz(item).map(RateArg::Cap),
            Some((key, v)) if !key.trim().is_empty() => Ok(RateArg::Source {
                key: key.trim().to_string(),
                hz: hz(v)?,
            }),
            Some(_) => Err(format!("'{item}': expected SOURCE=HZ, e.g. nvml:0=50")),
        })
        .collect::<Result<_, _>>()
        .map(RateList)
}

/// Every `--rate` given, merged: the cap (the last plain number given) and
/// the per-source rates (a later one for the same key wins).
#[derive(Debug, Clone, PartialEq)]
pub struct RateSettings {
    pub cap_hz: f64,
    pub per_source: Vec<(String, f64)>,
}

impl Default for RateSettings {
    fn default() -> Self {
        Self {
            cap_hz: DEFAULT_CAP_HZ,
            per_source: Vec::new(),
        }
    }
}

impl RateSettings {
    /// Only a cap, as `--rate HZ` alone gives.
    pub fn cap(hz: f64) -> Self {
        Self {
            cap_hz: hz,
            per_source: Vec::new(),
        }
    }

    pub fn from_lists(lists: &[RateList]) -> Self {
        let mut s = Self::default();
        for arg in lists.iter().flat_map(|l| &l.0) {
            match arg {
                RateArg::Cap(hz) => s.cap_hz = *hz,
                RateArg::Source { key, hz } => {
                    s.per_source.retain(|(k, _)| k != key);
                    s.per_source.push((key.clone(), *hz));
                }
            }
        }
        s
    }
}

/// Why a source is read at its rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateReason {
    /// Its meter's update rate (at most the cap).
    Update,
    /// The cap: its update rate is above it, or unknown.
    Cap,
    /// A `--rate SOURCE=HZ`.
    Override,
}

/// The rate of one source.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRate {
    /// Read on every `every_ticks`-th tick.
    pub every_ticks: u64,
    /// The rate that gives: `tick_hz / every_ticks`.
    pub hz: f64,
    pub reason: RateReason,
}

/// The sampler's tick rate and each source's share of the ticks.
#[derive(Debug, Clone, PartialEq)]
pub struct RatePlan {
    pub tick_hz: f64,
    pub sources: Vec<SourceRate>,
    /// `--rate SOURCE=HZ` keys that matched no source (for a warning).
    pub unmatched: Vec<String>,
}

impl RatePlan {
    /// Every one of `n` sources read on every tick at `hz`.
    pub fn uniform(hz: f64, n: usize) -> Self {
        Self {
            tick_hz: hz,
            sources: vec![
                SourceRate {
                    every_ticks: 1,
                    hz,
                    reason: RateReason::Cap,
                };
                n
            ],
            unmatched: Vec::new(),
        }
    }

    /// The plan for sources `infos` whose meters update at `updates`.
    pub fn new(infos: &[SourceInfo], updates: &[Option<UpdateRate>], s: &RateSettings) -> Self {
        let kind = |id: &str| id.split(':').next().unwrap_or(id).to_string();
        let wanted: Vec<(f64, RateReason)> = infos
            .iter()
            .zip(updates)
            .map(|(info, update)| {
                let by_id = s.per_source.iter().find(|(k, _)| *k == info.id);
                let by_kind = || s.per_source.iter().find(|(k, _)| *k == kind(&info.id));
                match (by_id.or_else(by_kind), update) {
                    (Some((_, hz)), _) => (*hz, RateReason::Override),
                    (None, Some(u)) if u.hz > 0.0 && u.hz <= s.cap_hz => (u.hz, RateReason::Update),
                    (None, _) => (s.cap_hz, RateReason::Cap),
                }
            })
            .collect();
        let tick_hz = wanted.iter().map(|w| w.0).fold(0.0, f64::max);
        let tick_hz = if tick_hz > 0.0 { tick_hz } else { s.cap_hz };
        let sources = wanted
            .into_iter()
            .map(|(hz, reason)| {
                let every_ticks = ((tick_hz / hz).round() as u64).max(1);
                SourceRate {
                    every_ticks,
                    hz: tick_hz / every_ticks as f64,
                    reason,
                }
            })
            .collect();
        let unmatched = s
            .per_source
            .iter()
            .filter(|(k, _)| !infos.iter().any(|i| i.id == *k || kind(&i.id) == *k))
            .map(|(k, _)| k.clone())
            .collect();
        Self {
            tick_hz,
            sources,
            unmatched,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trainwatt_trace::{Domain, Method};

    fn info(id: &str) -> SourceInfo {
        SourceInfo {
            id: id.into(),
            domain: Domain::CpuPackage,
            method: Method::Modelled,
            description: String::new(),
            poll_hz: 0.0,
            settings: Default::default(),
        }
    }

    fn rate(hz: f64) -> Option<UpdateRate> {
        Some(UpdateRate::new(hz, "test"))
    }

    #[test]
    fn parses_caps_ids_kinds_and_lists() {
        let l = parse_rate_list("500, rapl=1000,model:cpu=2.5").unwrap();
        assert_eq!(
            l.0,
            [
                RateArg::Cap(500.0),
                RateArg::Source {
                    key: "rapl".into(),
                    hz: 1000.0
                },
                RateArg::Source {
                    key: "model:cpu".into(),
                    hz: 2.5
                },
            ]
        );
        for (bad, needle) in [
            ("", "empty entry"),
            ("0", "out of range"),
            ("200000", "out of range"),
            ("fast", "not a rate"),
            ("=5", "expected SOURCE=HZ"),
            ("nvml=-1", "out of range"),
            ("1000,", "empty entry"),
        ] {
            let e = parse_rate_list(bad).unwrap_err();
            assert!(e.contains(needle), "{bad}: {e}");
        }
        let s = RateSettings::from_lists(&[
            parse_rate_list("nvml=10,300").unwrap(),
            parse_rate_list("nvml=20").unwrap(),
        ]);
        assert_eq!(s.cap_hz, 300.0);
        assert_eq!(s.per_source, [("nvml".to_string(), 20.0)]);
    }

    #[test]
    fn the_sampler_ticks_at_the_fastest_need_under_the_cap() {
        let infos = [info("rapl:package-0"), info("model:cpu"), info("fake:gpu")];
        // A VM: only modelled sources, 10 Hz.
        let p = RatePlan::new(&infos[1..2], &[rate(10.0)], &RateSettings::default());
        assert_eq!(p.tick_hz, 10.0);
        assert_eq!(p.sources[0].every_ticks, 1);
        // RAPL at 1 kHz sets the pace; the model is read every 100th tick;
        // a source of unknown rate is read at the cap.
        let p = RatePlan::new(
            &infos,
            &[rate(1000.0), rate(10.0), None],
            &RateSettings::default(),
        );
        assert_eq!(p.tick_hz, 1000.0);
        let every: Vec<u64> = p.sources.iter().map(|s| s.every_ticks).collect();
        assert_eq!(every, [1, 100, 1]);
        assert_eq!(p.sources[2].reason, RateReason::Cap);
        // A cap below RAPL's rate.
        let p = RatePlan::new(
            &infos[..2],
            &[rate(1000.0), rate(10.0)],
            &RateSettings::cap(100.0),
        );
        assert_eq!(p.tick_hz, 100.0);
        assert_eq!(p.sources[0].reason, RateReason::Cap);
        assert_eq!(p.sources[1].every_ticks, 10);
    }

    #[test]
    fn overrides_by_id_beat_kinds_and_may_pass_the_cap() {
        let infos = [info("rapl:package-0"), info("rapl:psys"), info("model:cpu")];
        let s = RateSettings::from_lists(&[parse_rate_list(
            "200,rapl=50,rapl:psys=400,model:cpu=30,nvml=5",
        )
        .unwrap()]);
        let p = RatePlan::new(&infos, &[rate(1000.0), rate(1000.0), rate(10.0)], &s);
        assert_eq!(p.tick_hz, 400.0);
        let got: Vec<(u64, f64, RateReason)> = p
            .sources
            .iter()
            .map(|s| (s.every_ticks, s.hz, s.reason))
            .collect();
        // 30 Hz is not a whole share of 400: read every 13th tick, 30.77 Hz.
        assert_eq!(got[0], (8, 50.0, RateReason::Override));
        assert_eq!(got[1], (1, 400.0, RateReason::Override));
        assert_eq!(got[2].0, 13);
        assert!((got[2].1 - 400.0 / 13.0).abs() < 1e-12);
        assert_eq!(p.unmatched, ["nvml"]);
    }
}
