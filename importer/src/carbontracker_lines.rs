//! Reading carbontracker's standard log line by line (the format is
//! described in [`super::carbontracker`]): the two stamp layouts, the
//! `Epoch N:` / `Duration:` / `Average power usage` lines and the power
//! lists numpy wraps over several lines, into what the log states. Apart
//! from turning that into counter sources, which is the other half of the
//! parser.

use super::time::Zone;
use super::ParseError;
use chrono::NaiveDateTime;
use std::path::Path;

/// One epoch as the log states it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Epoch {
    pub line: u64,
    pub number: u32,
    /// UTC ns of the `Epoch N:` line.
    pub end_ns: i64,
    pub duration_ns: Option<i64>,
    /// Component -> mean W per device (`None`: no reading).
    pub power: Vec<(String, Option<Vec<f64>>)>,
}

/// A line's stamp (UTC ns, and whether it had milliseconds) and message.
fn split_line(line: &str, zone: &Zone) -> Option<(i64, bool, String)> {
    let head = line.get(..19)?;
    let naive = NaiveDateTime::parse_from_str(head, "%Y-%m-%d %H:%M:%S").ok()?;
    let mut rest = &line[19..];
    let mut ns = zone.to_utc_ns(&naive).ok()?;
    let mut fine = false;
    if let Some(ms) = rest
        .strip_prefix(',')
        .and_then(|r| r.get(..3))
        .and_then(|d| d.parse::<i64>().ok())
    {
        ns += ms * 1_000_000;
        fine = true;
        rest = &rest[4..];
    }
    let rest = rest.strip_prefix(" - ")?;
    // Older versions: THREAD - LEVEL - MESSAGE.
    let parts: Vec<&str> = rest.splitn(3, " - ").collect();
    let message = match parts.as_slice() {
        [_, level, msg]
            if matches!(*level, "DEBUG" | "INFO" | "WARNING" | "ERROR" | "CRITICAL") =>
        {
            msg
        }
        _ => rest,
    };
    Some((ns, fine, message.trim_end().to_string()))
}

/// `H:MM:SS` or `H:MM:SS.ff` -> ns.
fn duration_ns(s: &str) -> Option<i64> {
    let mut it = s.trim().splitn(3, ':');
    let h: f64 = it.next()?.parse().ok()?;
    let m: f64 = it.next()?.parse().ok()?;
    let sec: f64 = it.next()?.parse().ok()?;
    let v = (h * 3600.0 + m * 60.0 + sec) * 1e9;
    (0.0..3.2e16).contains(&v).then(|| v.round() as i64)
}

/// `GPU with device(s) A, B. CPU with device(s) cpu:0.` -> components and
/// devices, read as carbontracker's `parser.get_devices` reads them.
fn components(text: &str) -> Vec<(String, Vec<String>)> {
    const MARK: &str = " with device(s) ";
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(MARK) {
        let name = rest[..at]
            .rsplit(['.', ':'])
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let after = &rest[at + MARK.len()..];
        let end = after.find('.').unwrap_or(after.len());
        let devices = after[..end]
            .split(',')
            .map(|d| d.trim().to_string())
            .filter(|d| !d.is_empty())
            .collect();
        out.push((name, devices));
        rest = &after[end..];
    }
    out
}

/// `[251.36 180.12]`, `251.3` or `None`.
fn powers(s: &str) -> Result<Option<Vec<f64>>, String> {
    let t = s.trim();
    if t == "None" {
        return Ok(None);
    }
    let inner = t.trim_start_matches('[').trim_end_matches(']');
    let v: Result<Vec<f64>, _> = inner
        .split([' ', ','])
        .filter(|x| !x.is_empty())
        .map(str::parse::<f64>)
        .collect();
    match v {
        Ok(v) if !v.is_empty() && v.iter().all(|x| x.is_finite()) => Ok(Some(v)),
        _ => Err(format!("'{t}' is not a list of powers in W")),
    }
}

/// What the log states, read line by line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Stated {
    /// Component -> device names, from the `components were found` line.
    pub comps: Vec<(String, Vec<String>)>,
    pub epochs: Vec<Epoch>,
    /// No stamp had milliseconds.
    pub coarse: bool,
    pub interrupted: bool,
}

/// The state between lines while reading the log.
pub(crate) struct LineReader<'a> {
    path: &'a Path,
    zone: &'a Zone,
    stated: Stated,
    /// A power list numpy wrapped over several lines: (line, component, text).
    open_list: Option<(u64, String, String)>,
}

impl LineReader<'_> {
    /// Reads every line; a log without epochs is refused.
    pub fn read(path: &Path, text: &str, zone: &Zone) -> Result<Stated, ParseError> {
        let mut reader = LineReader {
            path,
            zone,
            stated: Stated {
                comps: Vec::new(),
                epochs: Vec::new(),
                coarse: true,
                interrupted: false,
            },
            open_list: None,
        };
        for (k, raw) in text.lines().enumerate() {
            reader.line(k as u64 + 1, raw)?;
        }
        reader.finish_list()?;
        if reader.stated.epochs.is_empty() {
            return Err(ParseError::line(
                path,
                1,
                "no `Epoch N:` line: is this carbontracker's standard log (…_carbontracker.log, \
                 not …_carbontracker_output.log), written with log_dir set?",
            ));
        }
        Ok(reader.stated)
    }

    /// Line `n`: a stamped message, or the rest of a wrapped power list.
    fn line(&mut self, n: u64, raw: &str) -> Result<(), ParseError> {
        let Some((ns, fine, msg)) = split_line(raw, self.zone) else {
            return self.continue_list(raw);
        };
        self.finish_list()?;
        self.stated.coarse &= !fine;
        if let Some(rest) = msg.split_once("The following components were found:") {
            self.stated.comps = components(rest.1);
        } else if let Some(num) = msg.strip_prefix("Epoch ").and_then(|r| r.strip_suffix(':')) {
            self.epoch_line(n, ns, &msg, num)?;
        } else if let Some(d) = msg.strip_prefix("Duration: ") {
            self.duration_line(n, d)?;
        } else if let Some(rest) = msg.strip_prefix("Average power usage (W) for ") {
            self.power_line(n, &msg, rest)?;
        } else if msg.contains("Training was interrupted") {
            self.stated.interrupted = true;
        }
        Ok(())
    }

    /// An unstamped line: part of a wrapped power list, if one is open.
    fn continue_list(&mut self, raw: &str) -> Result<(), ParseError> {
        if let Some((_, _, list)) = self.open_list.as_mut() {
            list.push(' ');
            list.push_str(raw.trim());
            if raw.contains(']') {
                self.finish_list()?;
            }
        }
        Ok(())
    }

    fn finish_list(&mut self) -> Result<(), ParseError> {
        if let Some((line, comp, list)) = self.open_list.take() {
            self.add_power(line, comp, &list)?;
        }
        Ok(())
    }

    /// The powers of `comp` in `list` (from `line`), to the last epoch.
    fn add_power(&mut self, line: u64, comp: String, list: &str) -> Result<(), ParseError> {
        let p = powers(list).map_err(|m| ParseError::line(self.path, line, m))?;
        if let Some(e) = self.stated.epochs.last_mut() {
            e.power.push((comp, p));
        }
        Ok(())
    }

    /// `Epoch N:` (`num` is N): epochs count up from 1.
    fn epoch_line(&mut self, n: u64, ns: i64, msg: &str, num: &str) -> Result<(), ParseError> {
        let path = self.path;
        let number: u32 = num
            .trim()
            .parse()
            .map_err(|_| ParseError::line(path, n, format!("'{msg}' has no epoch number")))?;
        let expected = self.stated.epochs.last().map_or(1, |e| e.number + 1);
        if number != expected {
            return Err(ParseError::line(
                path,
                n,
                format!(
                    "epoch {number} where {expected} was expected (one tracker's epochs \
                     count up from 1)"
                ),
            ));
        }
        self.stated.epochs.push(Epoch {
            line: n,
            number,
            end_ns: ns,
            duration_ns: None,
            power: Vec::new(),
        });
        Ok(())
    }

    /// `Duration: H:MM:SS`, of the epoch just begun.
    fn duration_line(&mut self, n: u64, d: &str) -> Result<(), ParseError> {
        let path = self.path;
        let d = duration_ns(d)
            .ok_or_else(|| ParseError::line(path, n, format!("'{d}' is not a duration H:MM:SS")))?;
        match self.stated.epochs.last_mut() {
            Some(e) if e.duration_ns.is_none() => e.duration_ns = Some(d),
            _ => {
                return Err(ParseError::line(
                    path,
                    n,
                    "a Duration line without its `Epoch N:` line",
                ))
            }
        }
        Ok(())
    }

    /// `Average power usage (W) for COMPONENT: [W …]` (`rest` after `for `);
    /// a list numpy wrapped stays open until its `]`.
    fn power_line(&mut self, n: u64, msg: &str, rest: &str) -> Result<(), ParseError> {
        let path = self.path;
        let (comp, list) = rest.split_once(": ").ok_or_else(|| {
            ParseError::line(path, n, format!("'{msg}': expected COMPONENT: [W …]"))
        })?;
        if self.stated.epochs.is_empty() {
            return Err(ParseError::line(
                path,
                n,
                "a power line before the first `Epoch N:` line",
            ));
        }
        let comp = comp.trim().to_ascii_lowercase();
        if list.trim_start().starts_with('[') && !list.contains(']') {
            self.open_list = Some((n, comp, list.to_string()));
            Ok(())
        } else {
            self.add_power(n, comp, list)
        }
    }
}
