//! One epoch row (`epochs.parquet`), and the JSON-lines protocol by which a
//! wrapped child reports its epochs to `recorder wrap`.

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

/// One line a wrapped child appends to `$TRAINWATT_EPOCH_LOG`:
/// `{"epoch":3,"train_acc":0.91,"test_acc":0.90,"train_loss":0.3}`.
/// Only `epoch` is required. The recorder stamps the line's arrival on its
/// own clock as the epoch's end; the epoch's start is the previous line's
/// arrival (or the child's start for the first epoch). Extra fields are kept
/// in the verbatim copy of the file but otherwise ignored.
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
    /// Parses and checks one line; the error says what is wrong with it.
    pub fn parse(line: &str) -> Result<Self, String> {
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
    }
}
