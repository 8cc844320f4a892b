//! One epoch row (`epochs.parquet`), and the JSON-lines protocol by which a
//! wrapped child reports its epochs to `recorder wrap`: one line when an
//! epoch ends and, optionally, one when it starts.

use serde::{Deserialize, Serialize};

/// A completed epoch as stored in `epochs.parquet` (see `schema::epochs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRow {
    /// 1-based.
    pub epoch: u32,
    /// Monotonic ns on the run's clock.
    pub start_ns: i64,
    pub end_ns: i64,
    pub train_acc: Option<f64>,
    pub test_acc: Option<f64>,
    pub train_loss: Option<f64>,
    pub test_loss: Option<f64>,
    pub examples: Option<i64>,
}

/// Environment variable through which `recorder wrap` tells the child where
/// to append its epoch lines.
pub const EPOCH_LOG_ENV: &str = "TRAINWATT_EPOCH_LOG";

/// Environment variable through which `recorder wrap` tells the child the
/// `CLOCK_MONOTONIC` time, in ns, of the run's `t_ns = 0`, so a child can
/// put its own instants on the run's clock (`clock_gettime(CLOCK_MONOTONIC)
/// − origin`).
pub const CLOCK_ORIGIN_ENV: &str = "TRAINWATT_CLOCK_ORIGIN_NS";

/// The line that ends an epoch, the one a wrapped child must write to
/// `$TRAINWATT_EPOCH_LOG`:
/// `{"epoch":3,"train_acc":0.91,"test_acc":0.90,"train_loss":0.3}`.
/// Only `epoch` is required (`"event": "epoch_end"` may be given). The
/// recorder stamps the line's arrival on its own clock as the epoch's end;
/// the epoch's start is its `epoch_start` line's arrival where the child
/// wrote one ([`ChildLine::Start`]), else the previous epoch's end (or the
/// child's start for the first epoch). Extra fields are kept in the
/// verbatim copy of the file but otherwise ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChildEpochLine {
    pub epoch: u32,
    #[serde(default)]
    pub train_acc: Option<f64>,
    #[serde(default)]
    pub test_acc: Option<f64>,
    #[serde(default)]
    pub train_loss: Option<f64>,
    #[serde(default)]
    pub test_loss: Option<f64>,
    #[serde(default)]
    pub examples: Option<i64>,
}

impl ChildEpochLine {
    /// Parses and checks an epoch's end line; the error says what is wrong
    /// with it (an `epoch_start` line is not an epoch's end).
    pub fn parse(line: &str) -> Result<Self, String> {
        match ChildLine::parse(line)? {
            ChildLine::End(l) => Ok(l),
            ChildLine::Start { epoch } => Err(format!(
                "an epoch_start line (epoch {epoch}), not the end of an epoch"
            )),
        }
    }

    fn parse_end(line: &str) -> Result<Self, String> {
        let v: Self = serde_json::from_str(line).map_err(|e| e.to_string())?;
        if v.epoch == 0 {
            return Err("epoch numbers start at 1".into());
        }
        for (name, acc) in [("train_acc", v.train_acc), ("test_acc", v.test_acc)] {
            if let Some(a) = acc {
                if !(0.0..=1.0).contains(&a) {
                    return Err(format!("{name} = {a} is outside [0, 1]"));
                }
            }
        }
        Ok(v)
    }
}

/// Any line of the child's epoch log.
#[derive(Debug, Clone, PartialEq)]
pub enum ChildLine {
    /// An epoch ended: `{"epoch": N, …}` (optionally `"event": "epoch_end"`).
    End(ChildEpochLine),
    /// An epoch starts now: `{"event": "epoch_start", "epoch": N}`. Lets a
    /// child leave interpreter start-up and data loading out of epoch 1, or
    /// mark where each epoch's work begins.
    Start { epoch: u32 },
}

impl ChildLine {
    /// The `event` value of an epoch's start.
    pub const EPOCH_START: &'static str = "epoch_start";
    /// The (optional) `event` value of an epoch's end.
    pub const EPOCH_END: &'static str = "epoch_end";

    /// Parses and checks one line; the error says what is wrong with it.
    pub fn parse(line: &str) -> Result<Self, String> {
        #[derive(Deserialize)]
        struct Event {
            #[serde(default)]
            event: Option<String>,
        }
        #[derive(Deserialize)]
        struct Start {
            epoch: u32,
        }
        let e: Event = serde_json::from_str(line).map_err(|e| e.to_string())?;
        match e.event.as_deref() {
            None | Some(Self::EPOCH_END) => ChildEpochLine::parse_end(line).map(Self::End),
            Some(Self::EPOCH_START) => {
                let s: Start = serde_json::from_str(line).map_err(|e| e.to_string())?;
                if s.epoch == 0 {
                    return Err("epoch numbers start at 1".into());
                }
                Ok(Self::Start { epoch: s.epoch })
            }
            Some(other) => Err(format!(
                "unknown event '{other}' (use \"epoch_start\", or no event for an epoch's end)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_minimal_and_full_lines() {
        let l = ChildEpochLine::parse(r#"{"epoch":3,"train_acc":0.91,"test_acc":0.9,"lr":0.1}"#)
            .unwrap();
        assert_eq!(l.epoch, 3);
        assert_eq!(l.test_acc, Some(0.9));
        assert_eq!(
            ChildEpochLine::parse(r#"{"epoch":1}"#).unwrap().train_acc,
            None
        );
        assert!(ChildEpochLine::parse(r#"{"epoch":0}"#).is_err());
        assert!(ChildEpochLine::parse(r#"{"epoch":2,"test_acc":91}"#)
            .unwrap_err()
            .contains("outside"));
        assert!(ChildEpochLine::parse("epoch 3 done").is_err());
        assert!(
            ChildEpochLine::parse(r#"{"event":"epoch_start","epoch":2}"#)
                .unwrap_err()
                .contains("epoch_start line")
        );
    }

    #[test]
    fn start_and_end_events() {
        assert_eq!(
            ChildLine::parse(r#"{"event":"epoch_start","epoch":4,"lr":0.1}"#),
            Ok(ChildLine::Start { epoch: 4 })
        );
        let end = ChildLine::parse(r#"{"event":"epoch_end","epoch":4,"test_acc":0.5}"#).unwrap();
        assert!(matches!(end, ChildLine::End(l) if l.test_acc == Some(0.5)));
        assert!(matches!(
            ChildLine::parse(r#"{"epoch":1}"#),
            Ok(ChildLine::End(_))
        ));
        for (bad, needle) in [
            (r#"{"event":"epoch_start"}"#, "missing field `epoch`"),
            (r#"{"event":"epoch_start","epoch":0}"#, "start at 1"),
            (
                r#"{"event":"batch_end","epoch":1}"#,
                "unknown event 'batch_end'",
            ),
            (r#"{"event":7,"epoch":1}"#, "invalid type"),
        ] {
            let e = ChildLine::parse(bad).unwrap_err();
            assert!(e.contains(needle), "{bad}: {e}");
        }
    }
}
