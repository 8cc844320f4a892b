//! Where epochs lie on the run's clock: from the log's own times, or, where
//! the log has none (Keras, Lightning), by a rule the user chooses:
//!
//! - `--epoch-times FILE`: a CSV `epoch,start,end` with each epoch's times;
//! - `--equal-epochs START..END`: the window split into as many equal parts
//!   as the log has epochs. `START` and `END` are `start` / `end` (the span
//!   every power source covers), offsets from them (`start+20s`,
//!   `end-20s`), offsets from the run's zero (`20s`), or date-times;
//! - the windows a power log measured (Zeus windows, carbontracker epochs),
//!   one per epoch, when the epoch log has no times of its own.
//!
//! The run's zero (`t_ns = 0`) is the first power sample of a log with
//! wall-clock times, and the start of a log without (pinpoint: its first
//! row is one interval after it).
//!
//! A rule is an assumption about the data, so runs placed by one have
//! `manifest.epochs_approximate = true` and the analyzer says so (windows
//! only when their times are coarse). Every
//! placement is checked against the power trace: an epoch that starts
//! before some source's first sample or ends after its last would make the
//! analyzer refuse the run later, so the import refuses it now, naming the
//! epoch.

use super::epoch_log::{epoch_number, number_epochs, Base, EpochEntry, EpochLog};
use super::table::{Row, Table};
use super::time::{parse_datetime, parse_duration_ns, parse_stamp, Stamp, TimeUnit, Zone};
use super::{ImportError, ParseError};
use std::path::{Path, PathBuf};
use trainwatt_trace::EpochRow;

/// The run's clock, as far as placing epochs needs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clock {
    /// UTC ns of `t_ns = 0`, where the logs give a wall-clock time.
    pub origin_wall: Option<i64>,
    /// The span every power source covers: the latest first sample and the
    /// earliest last sample, run ns.
    pub covered: (i64, i64),
}

impl Clock {
    /// A stamp on the run's clock (ns from the origin).
    pub fn run_ns(self, s: Stamp) -> Result<i64, String> {
        match s {
            Stamp::Offset(o) => Ok(o),
            Stamp::Wall(w) => self
                .origin_wall
                .map(|o| w.saturating_sub(o))
                .ok_or_else(|| {
                    "a wall-clock time, but the power logs have no wall-clock time \
                 (give --start to say when they began)"
                        .to_string()
                }),
        }
    }
}

/// One end of an `--equal-epochs` window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    /// `start[+D]`: D after the start of the span all sources cover.
    Start(i64),
    /// `end[-D]`: D before the end of that span.
    End(i64),
    /// An offset from the origin (`20s`) or a date-time.
    At(Stamp),
}

impl Bound {
    /// Parses `start`, `start+20s`, `end`, `end-20s`, `20s` or a date-time.
    pub fn parse(text: &str, zone: Option<&Zone>) -> Result<Self, String> {
        let t = text.trim();
        let rel = |rest: &str, sign: char| -> Result<i64, String> {
            let rest = rest.trim();
            if rest.is_empty() {
                return Ok(0);
            }
            let d = rest.strip_prefix(sign).ok_or_else(|| {
                format!("'{t}': expected '{sign}' and a duration after the keyword")
            })?;
            parse_duration_ns(d)
        };
        if let Some(rest) = t.strip_prefix("start") {
            return rel(rest, '+').map(Bound::Start);
        }
        if let Some(rest) = t.strip_prefix("end") {
            return rel(rest, '-').map(|d| Bound::End(-d));
        }
        if let Ok(d) = parse_duration_ns(t) {
            return Ok(Bound::At(Stamp::Offset(d)));
        }
        parse_datetime(t, zone)
            .map(|w| Bound::At(Stamp::Wall(w)))
            .map_err(|_| {
                format!("'{t}' is not start[+D], end[-D], a duration like 20s, or a date-time")
            })
    }

    fn resolve(self, clock: &Clock) -> Result<i64, String> {
        match self {
            Bound::Start(d) => Ok(clock.covered.0.saturating_add(d)),
            Bound::End(d) => Ok(clock.covered.1.saturating_add(d)),
            Bound::At(s) => clock.run_ns(s),
        }
    }
}

/// Parses `START..END`.
pub fn parse_window(text: &str, zone: Option<&Zone>) -> Result<(Bound, Bound), String> {
    let (a, b) = text
        .split_once("..")
        .ok_or_else(|| format!("'{text}' is not START..END (e.g. 20s..end-20s)"))?;
    Ok((Bound::parse(a, zone)?, Bound::parse(b, zone)?))
}

/// An epoch's times from an `--epoch-times` file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeRow {
    pub line: u64,
    /// 1-based.
    pub epoch: u32,
    pub start: Stamp,
    pub end: Stamp,
}

/// How to place the epochs.
#[derive(Debug, Clone, PartialEq)]
pub enum Placement {
    /// The log's own times.
    Log,
    /// `--equal-epochs START..END` (`text` as given, for the manifest).
    Equal {
        start: Bound,
        end: Bound,
        text: String,
    },
    /// `--epoch-times FILE`.
    Times { path: PathBuf, rows: Vec<TimeRow> },
    /// A power log's own windows, one per epoch (`what` names them).
    Windows {
        what: String,
        rows: Vec<TimeRow>,
        coarse: bool,
    },
}

impl Placement {
    /// For the manifest: `log`, `equal:START..END`, `times:FILE`.
    pub fn describe(&self) -> String {
        match self {
            Placement::Log => "log".into(),
            Placement::Equal { text, .. } => format!("equal:{text}"),
            Placement::Times { path, .. } => format!("times:{}", path.display()),
            Placement::Windows { what, .. } => format!("windows:{what}"),
        }
    }

    /// Whether the boundaries come from a rule rather than measured times.
    pub fn is_rule(&self) -> bool {
        match self {
            Placement::Log => false,
            Placement::Windows { coarse, .. } => *coarse,
            _ => true,
        }
    }
}

/// Parses an `--epoch-times` CSV: `epoch,start,end`, epochs from 0 or 1,
/// times as in the generic logs.
pub fn parse_epoch_times(
    path: &Path,
    text: &str,
    unit: TimeUnit,
    zone: Option<&Zone>,
) -> Result<Vec<TimeRow>, ParseError> {
    let table = Table::csv(path, text)?;
    let e_col = table.require("epoch", "the epoch column")?;
    let s_col = table.require("start", "the epoch start column")?;
    let end_col = table.require("end", "the epoch end column")?;
    let numbered: Vec<(&Row, i64)> = table
        .rows
        .iter()
        .map(|r| epoch_number(&table, r, e_col).map(|n| (r, n)))
        .collect::<Result<_, _>>()?;
    let epochs = number_epochs(&table, &numbered, e_col, Base::Auto)?;
    let stamp = |row: &Row, c: usize| {
        parse_stamp(table.cell(row, c), unit, zone).map_err(|m| table.error(row, c, m))
    };
    table
        .rows
        .iter()
        .zip(epochs)
        .map(|(row, epoch)| {
            Ok(TimeRow {
                line: row.line,
                epoch,
                start: stamp(row, s_col)?,
                end: stamp(row, end_col)?,
            })
        })
        .collect()
}

/// Places the epochs of `log` on the run's clock and checks them against
/// the power trace.
pub fn place(
    log: &EpochLog,
    placement: &Placement,
    clock: &Clock,
) -> Result<Vec<EpochRow>, ImportError> {
    let bounds = epoch_bounds(log, placement, clock)?;
    let mut rows = Vec::with_capacity(log.entries.len());
    let mut prev_end: Option<i64> = None;
    for (e, (s, t)) in log.entries.iter().zip(bounds) {
        check_epoch(log, placement, clock, e, (s, t), prev_end)?;
        prev_end = Some(t);
        rows.push(EpochRow {
            epoch: e.epoch,
            start_ns: s,
            end_ns: t,
            train_acc: e.train_acc,
            test_acc: e.test_acc,
            train_loss: e.train_loss,
            test_loss: e.test_loss,
            examples: e.examples,
        });
    }
    Ok(rows)
}

/// Each epoch's (start, end) on the run's clock, by the placement's rule.
fn epoch_bounds(
    log: &EpochLog,
    placement: &Placement,
    clock: &Clock,
) -> Result<Vec<(i64, i64)>, ImportError> {
    match placement {
        Placement::Log => log_bounds(log, clock),
        Placement::Equal { start, end, text } => {
            equal_bounds(log.entries.len(), (start, end), text, clock)
        }
        Placement::Times { path, rows } => {
            listed_bounds(log, &path.display().to_string(), "epochs", rows, clock)
        }
        Placement::Windows { what, rows, .. } => listed_bounds(log, what, "windows", rows, clock),
    }
}

/// The log's own times; every epoch needs both.
fn log_bounds(log: &EpochLog, clock: &Clock) -> Result<Vec<(i64, i64)>, ImportError> {
    let file = log.path.display();
    let invalid = |m: String| ImportError::Invalid(m);
    log.entries
        .iter()
        .map(|e| {
            let (Some(s), Some(t)) = (e.start, e.end) else {
                return Err(invalid(format!(
                    "{file}: line {}: epoch {} has no {} time; place the epochs with \
                     --epoch-times FILE or --equal-epochs START..END",
                    e.line,
                    e.epoch,
                    if e.start.is_none() { "start" } else { "end" }
                )));
            };
            let at = |x| {
                clock
                    .run_ns(x)
                    .map_err(|m| invalid(format!("{file}: line {}: {m}", e.line)))
            };
            Ok((at(s)?, at(t)?))
        })
        .collect()
}

/// `--equal-epochs START..END` (`text` as given): the window cut into `n`
/// equal parts.
fn equal_bounds(
    n: usize,
    (start, end): (&Bound, &Bound),
    text: &str,
    clock: &Clock,
) -> Result<Vec<(i64, i64)>, ImportError> {
    let invalid = |m: String| ImportError::Invalid(m);
    let w = |b: &Bound| {
        b.resolve(clock)
            .map_err(|m| invalid(format!("--equal-epochs {text}: {m}")))
    };
    let (a, b) = (w(start)?, w(end)?);
    if b <= a {
        return Err(invalid(format!(
            "--equal-epochs {text}: the window ({:.3} s .. {:.3} s) is empty",
            secs(a),
            secs(b)
        )));
    }
    let cut = |k: usize| {
        (i128::from(a) + (i128::from(b) - i128::from(a)) * k as i128 / n.max(1) as i128) as i64
    };
    Ok((0..n).map(|k| (cut(k), cut(k + 1))).collect())
}

/// Epoch `e` placed at `(s, t)` must end after it starts, start no earlier
/// than the previous one ends, and lie within what every source covers.
fn check_epoch(
    log: &EpochLog,
    placement: &Placement,
    clock: &Clock,
    e: &EpochEntry,
    (s, t): (i64, i64),
    prev_end: Option<i64>,
) -> Result<(), ImportError> {
    let file = log.path.display();
    let invalid = |m: String| ImportError::Invalid(m);
    let (lo, hi) = clock.covered;
    let whose = || match placement {
        Placement::Log => format!("{file}: line {}: epoch {}", e.line, e.epoch),
        other => format!("epoch {} (placed by {})", e.epoch, other.describe()),
    };
    if t <= s {
        return Err(invalid(format!(
            "{} ends ({:.3} s) before it starts ({:.3} s)",
            whose(),
            secs(t),
            secs(s)
        )));
    }
    if let Some(p) = prev_end {
        if s < p {
            return Err(invalid(format!(
                "{} starts ({:.3} s) before the previous epoch ends ({:.3} s)",
                whose(),
                secs(s),
                secs(p)
            )));
        }
    }
    if s < lo || t > hi {
        return Err(invalid(format!(
            "{} spans {:.3} s .. {:.3} s, outside the {:.3} s .. {:.3} s that every power \
             source covers (times count from the run's zero: the first sample of a \
             timestamped log, the start of one without timestamps)",
            whose(),
            secs(s),
            secs(t),
            secs(lo),
            secs(hi)
        )));
    }
    Ok(())
}

/// The bounds a list of times gives (`--epoch-times`, a log's windows):
/// one row per epoch of `log`.
fn listed_bounds(
    log: &EpochLog,
    from: &str,
    kind: &str,
    rows: &[TimeRow],
    clock: &Clock,
) -> Result<Vec<(i64, i64)>, ImportError> {
    let n = log.entries.len();
    if rows.len() != n {
        return Err(ImportError::Invalid(format!(
            "{from} has {} {kind}, {} ({}) has {n} epochs: they must list the same epochs",
            rows.len(),
            log.path.display(),
            log.span()
        )));
    }
    rows.iter()
        .map(|r| {
            let at = |x| {
                clock
                    .run_ns(x)
                    .map_err(|m| ImportError::Invalid(format!("{from}: line {}: {m}", r.line)))
            };
            Ok((at(r.start)?, at(r.end)?))
        })
        .collect()
}

fn secs(ns: i64) -> f64 {
    ns as f64 * 1e-9
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EpochEntry;

    const S: i64 = 1_000_000_000;

    fn log(n: u32) -> EpochLog {
        EpochLog {
            path: "k.csv".into(),
            entries: (1..=n)
                .map(|epoch| EpochEntry {
                    line: u64::from(epoch) + 1,
                    epoch,
                    train_acc: Some(0.5),
                    test_acc: None,
                    train_loss: None,
                    test_loss: None,
                    examples: None,
                    start: None,
                    end: None,
                })
                .collect(),
            columns: vec![],
            first_line: 2,
        }
    }

    const CLOCK: Clock = Clock {
        origin_wall: None,
        covered: (S / 10, 104 * S),
    };

    #[test]
    fn bounds_parse() {
        assert_eq!(Bound::parse("start", None).unwrap(), Bound::Start(0));
        assert_eq!(Bound::parse("end-20s", None).unwrap(), Bound::End(-20 * S));
        assert_eq!(
            Bound::parse("start+1.5s", None).unwrap(),
            Bound::Start(S * 3 / 2)
        );
        assert_eq!(
            Bound::parse("20s", None).unwrap(),
            Bound::At(Stamp::Offset(20 * S))
        );
        assert!(matches!(
            Bound::parse("2025-01-01T00:00:00Z", None).unwrap(),
            Bound::At(Stamp::Wall(_))
        ));
        assert!(Bound::parse("end+3s", None).is_err());
        assert!(parse_window("20s-40s", None).is_err());
    }

    #[test]
    fn equal_split_covers_the_window_exactly() {
        let (start, end) = parse_window("20s..end-4s", None).unwrap();
        let p = Placement::Equal {
            start,
            end,
            text: "20s..end-4s".into(),
        };
        let rows = place(&log(4), &p, &CLOCK).unwrap();
        let b: Vec<(i64, i64)> = rows.iter().map(|r| (r.start_ns, r.end_ns)).collect();
        assert_eq!(
            b,
            [
                (20 * S, 40 * S),
                (40 * S, 60 * S),
                (60 * S, 80 * S),
                (80 * S, 100 * S)
            ]
        );
        assert!(p.is_rule());
        assert_eq!(p.describe(), "equal:20s..end-4s");
    }

    #[test]
    fn epochs_outside_the_trace_or_without_times_are_refused() {
        let (start, end) = parse_window("0s..end", None).unwrap();
        let p = Placement::Equal {
            start,
            end,
            text: "0s..end".into(),
        };
        let e = place(&log(2), &p, &CLOCK).unwrap_err().to_string();
        assert!(e.contains("epoch 1") && e.contains("outside"), "{e}");
        let e = place(&log(2), &Placement::Log, &CLOCK)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("k.csv: line 2: epoch 1 has no start time"),
            "{e}"
        );
        let wall = Placement::Times {
            path: "t.csv".into(),
            rows: vec![TimeRow {
                line: 2,
                epoch: 1,
                start: Stamp::Wall(0),
                end: Stamp::Wall(S),
            }],
        };
        let e = place(&log(1), &wall, &CLOCK).unwrap_err().to_string();
        assert!(e.contains("t.csv: line 2") && e.contains("--start"), "{e}");
    }

    #[test]
    fn epoch_times_file() {
        let rows = parse_epoch_times(
            Path::new("t.csv"),
            "epoch,start,end\n0,1,2\n1,2,3.5\n",
            TimeUnit::S,
            None,
        )
        .unwrap();
        assert_eq!(rows[1].epoch, 2);
        assert_eq!(rows[1].end, Stamp::Offset(3_500_000_000));
        let e = parse_epoch_times(
            Path::new("t.csv"),
            "epoch,start,end\n1,1,x\n",
            TimeUnit::S,
            None,
        )
        .unwrap_err();
        assert_eq!(
            (e.line, e.column.to_string()),
            (2, ", column 3 (end)".into())
        );
    }
}
