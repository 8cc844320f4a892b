//! Times in other tools' logs: local wall-clock timestamps without a zone
//! (nvidia-smi, CodeCarbon), timestamps with an offset, Unix seconds, and
//! plain durations; and the `--timezone` that makes local times absolute.
//!
//! Why a zone must be given rather than guessed: nvidia-smi and CodeCarbon
//! write the local time of the machine that ran them, which is rarely the
//! machine that imports the log; taking the importer's zone would shift a
//! run by hours without a word. Durations inside one log do not depend on
//! the zone except across a daylight-saving change, which a named zone
//! (`Europe/Madrid`) handles and a fixed offset (`+02:00`) does not.

use chrono::{DateTime, FixedOffset, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use std::fmt;
use std::str::FromStr;

/// A point in time as a log states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stamp {
    /// Absolute: ns since the Unix epoch, UTC.
    Wall(i64),
    /// Relative, in ns: for a power log, from the log's own zero (pinpoint's
    /// start); for epoch times, from the run's origin (`t_ns = 0`).
    Offset(i64),
}

/// The zone of local timestamps (`--timezone`): an IANA name, `UTC`, or a
/// fixed offset such as `+02:00`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Zone {
    Named(Tz),
    Fixed(FixedOffset),
}

impl FromStr for Zone {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("utc") || t == "Z" {
            return FixedOffset::east_opt(0)
                .map(Zone::Fixed)
                .ok_or_else(|| "UTC offset out of range".into());
        }
        if t.starts_with(['+', '-']) {
            // "+02:00", "+0200", "-05".
            let sign = if t.starts_with('-') { -1 } else { 1 };
            let digits: String = t[1..].chars().filter(|c| *c != ':').collect();
            let ok = digits.chars().all(|c| c.is_ascii_digit()) && matches!(digits.len(), 2 | 4);
            let (h, m) = match (ok, digits.len()) {
                (true, 2) => (digits.parse::<i32>().unwrap_or(99), 0),
                (true, _) => (
                    digits[..2].parse::<i32>().unwrap_or(99),
                    digits[2..].parse::<i32>().unwrap_or(99),
                ),
                (false, _) => (99, 99),
            };
            return (h <= 14 && m < 60)
                .then(|| FixedOffset::east_opt(sign * (h * 3600 + m * 60)))
                .flatten()
                .map(Zone::Fixed)
                .ok_or_else(|| format!("'{s}' is not a UTC offset like +02:00"));
        }
        t.parse::<Tz>().map(Zone::Named).map_err(|_| {
            format!("unknown time zone '{s}' (use an IANA name like Europe/Madrid, UTC, or +02:00)")
        })
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Zone::Named(tz) => write!(f, "{}", tz.name()),
            Zone::Fixed(o) => write!(f, "{o}"),
        }
    }
}

impl Zone {
    /// UTC ns of a local time. In the hour a clock goes back the earlier
    /// instant is taken; a local time that does not exist (the hour skipped
    /// in spring) is an error.
    pub fn to_utc_ns(&self, local: &NaiveDateTime) -> Result<i64, String> {
        let utc = match self {
            Zone::Named(tz) => pick(tz.from_local_datetime(local)).map(|d| d.with_timezone(&Utc)),
            Zone::Fixed(o) => pick(o.from_local_datetime(local)).map(|d| d.with_timezone(&Utc)),
        }
        .ok_or_else(|| format!("{local} does not exist in time zone {self} (clock change)"))?;
        utc.timestamp_nanos_opt()
            .ok_or_else(|| format!("{local} is out of range"))
    }
}

fn pick<T: TimeZone>(r: LocalResult<DateTime<T>>) -> Option<DateTime<T>> {
    match r {
        LocalResult::Single(d) => Some(d),
        LocalResult::Ambiguous(early, _) => Some(early),
        LocalResult::None => None,
    }
}

/// How plain numbers in a time column are read (`--time-unit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TimeUnit {
    /// Seconds, relative.
    #[default]
    S,
    /// Milliseconds, relative.
    Ms,
    /// Microseconds, relative.
    Us,
    /// Nanoseconds, relative.
    Ns,
    /// Unix time in seconds (absolute).
    Unix,
    /// Unix time in milliseconds (absolute).
    UnixMs,
}

impl TimeUnit {
    pub fn name(self) -> &'static str {
        match self {
            TimeUnit::S => "s",
            TimeUnit::Ms => "ms",
            TimeUnit::Us => "us",
            TimeUnit::Ns => "ns",
            TimeUnit::Unix => "unix",
            TimeUnit::UnixMs => "unix-ms",
        }
    }

    /// Decimal digits from this unit to ns, and whether it is absolute.
    fn digits(self) -> (u32, bool) {
        match self {
            TimeUnit::S => (9, false),
            TimeUnit::Ms => (6, false),
            TimeUnit::Us => (3, false),
            TimeUnit::Ns => (0, false),
            TimeUnit::Unix => (9, true),
            TimeUnit::UnixMs => (6, true),
        }
    }

    fn stamp(self, v: f64) -> Option<Stamp> {
        let (scale, wall) = match self {
            TimeUnit::S => (1e9, false),
            TimeUnit::Ms => (1e6, false),
            TimeUnit::Us => (1e3, false),
            TimeUnit::Ns => (1.0, false),
            TimeUnit::Unix => (1e9, true),
            TimeUnit::UnixMs => (1e6, true),
        };
        let ns = v * scale;
        (ns.is_finite() && ns.abs() < 9.2e18).then(|| {
            let ns = ns.round() as i64;
            if wall {
                Stamp::Wall(ns)
            } else {
                Stamp::Offset(ns)
            }
        })
    }
}

/// Local date-time layouts accepted without a zone.
const NAIVE_FORMATS: [&str; 4] = [
    "%Y/%m/%d %H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y/%m/%dT%H:%M:%S%.f",
];

/// Parses a date-time: RFC 3339 with an offset, or a local time in one of
/// [`NAIVE_FORMATS`] (which needs `zone`). Returns UTC ns.
pub fn parse_datetime(text: &str, zone: Option<&Zone>) -> Result<i64, String> {
    let t = text.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return d
            .timestamp_nanos_opt()
            .ok_or_else(|| format!("'{t}' is out of range"));
    }
    let naive = NAIVE_FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
        .ok_or_else(|| {
            format!("'{t}' is not a date-time (expected e.g. 2025/04/24 15:58:57.879 or RFC 3339)")
        })?;
    let zone = zone.ok_or_else(|| {
        format!("'{t}' is a local time without a zone: give --timezone (e.g. Europe/Madrid or UTC)")
    })?;
    zone.to_utc_ns(&naive)
}

/// Parses a duration with a unit: `100ms`, `20s`, `1.5m`, `2h`, `250us`,
/// `10ns`. Negative values are allowed (`-5s`).
pub fn parse_duration_ns(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| c.is_ascii_alphabetic() || c == 'µ')
        .ok_or_else(|| format!("'{t}' has no unit (write e.g. 100ms, 20s, 2m)"))?;
    let (num, unit) = t.split_at(split);
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("'{t}' is not a duration (e.g. 100ms, 20s, 2m)"))?;
    let scale = match unit.trim() {
        "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "m" | "min" => 60e9,
        "h" => 3600e9,
        u => {
            return Err(format!(
                "'{t}': unknown unit '{u}' (use ns, us, ms, s, m or h)"
            ))
        }
    };
    let ns = v * scale;
    if !(ns.is_finite() && ns.abs() < 9.2e18) {
        return Err(format!("'{t}' is out of range"));
    }
    Ok(ns.round() as i64)
}

/// A plain decimal number (`-12.345`, no exponent) times 10^`digits`,
/// exactly (rounded past the last digit): Unix times in seconds need 19
/// significant digits for ns, more than an f64 holds.
pub(crate) fn decimal_scaled(text: &str, digits: u32) -> Option<i64> {
    let t = text.trim();
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let scale = 10i128.checked_pow(digits)?;
    let mut v = if int.is_empty() {
        0
    } else {
        int.parse::<i128>().ok()?.checked_mul(scale)?
    };
    let kept = &frac[..frac.len().min(digits as usize)];
    if !kept.is_empty() {
        let pad = 10i128.checked_pow(digits - kept.len() as u32)?;
        v += kept.parse::<i128>().ok()? * pad;
    }
    if frac
        .as_bytes()
        .get(digits as usize)
        .is_some_and(|d| *d >= b'5')
    {
        v += 1;
    }
    let v = if neg { -v } else { v };
    i64::try_from(v).ok()
}

/// Parses a time cell of a table: a number (read with `unit`) or a
/// date-time (with `zone` where it has no offset).
pub fn parse_stamp(text: &str, unit: TimeUnit, zone: Option<&Zone>) -> Result<Stamp, String> {
    let t = text.trim();
    let (digits, wall) = unit.digits();
    if let Some(ns) =
        decimal_scaled(t, digits).filter(|ns| ns.unsigned_abs() < 9_200_000_000_000_000_000)
    {
        return Ok(if wall {
            Stamp::Wall(ns)
        } else {
            Stamp::Offset(ns)
        });
    }
    if let Ok(v) = t.parse::<f64>() {
        return unit
            .stamp(v)
            .ok_or_else(|| format!("'{t}' is not a usable time"));
    }
    parse_datetime(t, zone).map(Stamp::Wall)
}

/// RFC 3339 UTC with nanoseconds, as the recorder writes `started_at_utc`.
pub fn format_utc(ns: i64) -> String {
    DateTime::<Utc>::from_timestamp_nanos(ns).to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// `YYYYMMDDTHHMMSSZ`, for run ids.
pub fn compact_utc(ns: i64) -> String {
    DateTime::<Utc>::from_timestamp_nanos(ns)
        .format("%Y%m%dT%H%M%SZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_parse_and_convert_local_times() {
        let madrid: Zone = "Europe/Madrid".parse().unwrap();
        // 24 April: CEST, UTC+2.
        let ns = parse_datetime("2025/04/24 15:58:57.879", Some(&madrid)).unwrap();
        assert_eq!(format_utc(ns), "2025-04-24T13:58:57.879000000Z");
        let fixed: Zone = "+02:00".parse().unwrap();
        assert_eq!(
            parse_datetime("2025-04-24 15:58:57.879", Some(&fixed)).unwrap(),
            ns
        );
        let utc: Zone = "UTC".parse().unwrap();
        assert_eq!(
            parse_datetime("2025-04-24T13:58:57.879", Some(&utc)).unwrap(),
            ns
        );
        assert_eq!(
            parse_datetime("2025-04-24T15:58:57.879+02:00", None).unwrap(),
            ns
        );
        assert!(parse_datetime("2025/04/24 15:58:57", None)
            .unwrap_err()
            .contains("--timezone"));
        assert!("Mars/Olympus".parse::<Zone>().is_err());
        assert!("+25:00".parse::<Zone>().is_err());
        // 30 March 2025, 02:30 does not exist in Madrid.
        assert!(parse_datetime("2025-03-30 02:30:00", Some(&madrid))
            .unwrap_err()
            .contains("does not exist"));
    }

    #[test]
    fn durations_and_stamps() {
        assert_eq!(parse_duration_ns("100ms").unwrap(), 100_000_000);
        assert_eq!(parse_duration_ns("1.5m").unwrap(), 90_000_000_000);
        assert_eq!(parse_duration_ns("-5s").unwrap(), -5_000_000_000);
        assert!(parse_duration_ns("100").unwrap_err().contains("no unit"));
        assert!(parse_duration_ns("3 parsecs").is_err());
        assert_eq!(
            parse_stamp("1.25", TimeUnit::S, None).unwrap(),
            Stamp::Offset(1_250_000_000)
        );
        assert_eq!(
            parse_stamp("1714000000", TimeUnit::Unix, None).unwrap(),
            Stamp::Wall(1_714_000_000_000_000_000)
        );
        assert!(parse_stamp("soon", TimeUnit::S, None).is_err());
        // Unix seconds with a fraction, to the ns (an f64 is 128 ns off).
        assert_eq!(
            parse_stamp("1717171717.250000001", TimeUnit::Unix, None).unwrap(),
            Stamp::Wall(1_717_171_717_250_000_001)
        );
        assert_eq!(
            parse_stamp("1.5e3", TimeUnit::Ms, None).unwrap(),
            Stamp::Offset(1_500_000_000)
        );
        assert_eq!(decimal_scaled("-0.0000000015", 9), Some(-2));
        assert_eq!(decimal_scaled(".5", 3), Some(500));
        assert_eq!(decimal_scaled("1e3", 3), None);
        assert_eq!(decimal_scaled(".", 3), None);
        assert_eq!(compact_utc(0), "19700101T000000Z");
    }
}
