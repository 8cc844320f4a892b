//! The hand-written parser for the criterion grammar. It is small enough that
//! a parser-combinator crate would add more than it saves, and hand-writing
//! it lets every error point at the exact character with what was expected.

use super::{Criterion, EnergyUnit, Split};
use std::fmt;
use std::str::FromStr;

/// A criterion that does not parse: where, and what was expected there.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct CriterionParseError {
    pub input: String,
    /// 0-based character offset of the problem.
    pub position: usize,
    pub message: String,
}

impl fmt::Display for CriterionParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "invalid criterion at character {}: {}",
            self.position + 1,
            self.message
        )?;
        writeln!(f, "  {}", self.input)?;
        write!(f, "  {}^", " ".repeat(self.position))
    }
}

const KINDS: &str =
    "epochs:N, accuracy:T[@train|@test], early-stopping:P[,min_delta][,restore-best], \
                     energy:B<J|kJ|Wh|kWh|ws>, time:D<s|m|h>";

impl FromStr for Criterion {
    type Err = CriterionParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let mut members = Vec::new();
        let mut offset = 0;
        for part in input.split('|') {
            members.push(parse_single(input, part, offset)?);
            offset += part.chars().count() + 1;
        }
        Ok(if members.len() == 1 {
            members.remove(0)
        } else {
            Criterion::FirstOf(members)
        })
    }
}

fn err(input: &str, position: usize, message: impl Into<String>) -> CriterionParseError {
    CriterionParseError {
        input: input.to_string(),
        position,
        message: message.into(),
    }
}

/// Parses one member; `offset` is its character position in `input`.
fn parse_single(input: &str, part: &str, offset: usize) -> Result<Criterion, CriterionParseError> {
    let lead = part.chars().take_while(|c| c.is_whitespace()).count();
    let trimmed = part.trim();
    let at = offset + lead;
    if trimmed.is_empty() {
        return Err(err(
            input,
            at,
            format!("empty criterion; expected one of {KINDS}"),
        ));
    }
    let Some((kind, arg)) = trimmed.split_once(':') else {
        return Err(err(
            input,
            at + trimmed.chars().count(),
            format!("expected ':' after '{trimmed}'; criteria look like {KINDS}"),
        ));
    };
    let arg_at = at + kind.chars().count() + 1;
    match kind {
        "epochs" => {
            let n = parse_count(input, arg, arg_at, "a whole number of epochs ≥ 1")?;
            Ok(Criterion::Epochs(n))
        }
        "accuracy" => parse_accuracy(input, arg, arg_at),
        "early-stopping" => parse_early_stopping(input, arg, arg_at),
        "energy" => parse_energy(input, arg, arg_at),
        "time" => parse_time(input, arg, arg_at),
        other => Err(err(
            input,
            at,
            format!("unknown criterion '{other}'; expected one of {KINDS}"),
        )),
    }
}

/// Parses the argument of `accuracy:T[@train|@test]`, which starts at character `arg_at`.
fn parse_accuracy(input: &str, arg: &str, arg_at: usize) -> Result<Criterion, CriterionParseError> {
    let (value, split) = match arg.split_once('@') {
        None => (arg, Split::Train),
        Some((v, "train")) => (v, Split::Train),
        Some((v, "test")) => (v, Split::Test),
        Some((v, other)) => {
            return Err(err(
                input,
                arg_at + v.chars().count() + 1,
                format!("expected 'train' or 'test' after '@', found '{other}'"),
            ))
        }
    };
    let target = parse_number(input, value, arg_at, "an accuracy in [0, 1]")?;
    if !(0.0..=1.0).contains(&target) {
        return Err(err(
            input,
            arg_at,
            format!("accuracy {target} is outside [0, 1] (write 0.99, not 99)"),
        ));
    }
    Ok(Criterion::Accuracy { target, split })
}

/// Parses the argument of `early-stopping:P[,min_delta][,restore-best]`, starting at `arg_at`.
fn parse_early_stopping(
    input: &str,
    arg: &str,
    arg_at: usize,
) -> Result<Criterion, CriterionParseError> {
    let mut fields = arg.split(',');
    let first = fields.next().unwrap_or_default();
    let patience = parse_count(input, first, arg_at, "a patience in epochs ≥ 1")?;
    let mut pos = arg_at + first.chars().count() + 1;
    let mut min_delta = 0.0;
    let mut restore_best = false;
    for (i, field) in fields.enumerate() {
        if field == "restore-best" {
            restore_best = true;
        } else if i == 0 && !restore_best {
            min_delta = parse_number(
                input,
                field,
                pos,
                "min_delta (a number ≥ 0) or 'restore-best'",
            )?;
            if min_delta < 0.0 {
                return Err(err(input, pos, "min_delta must be ≥ 0"));
            }
        } else {
            return Err(err(
                input,
                pos,
                format!("expected 'restore-best' or the end, found '{field}'"),
            ));
        }
        pos += field.chars().count() + 1;
    }
    Ok(Criterion::EarlyStopping {
        patience,
        min_delta,
        restore_best,
    })
}

/// Parses the argument of `energy:B<J|kJ|Wh|kWh|ws>`, which starts at character `arg_at`.
fn parse_energy(input: &str, arg: &str, arg_at: usize) -> Result<Criterion, CriterionParseError> {
    let (value, unit) = arg.split_at(number_end(arg, true));
    let unit_at = arg_at + value.chars().count();
    let unit = match unit {
        "J" | "j" => EnergyUnit::J,
        "kJ" | "kj" => EnergyUnit::KJ,
        "Wh" | "wh" => EnergyUnit::Wh,
        "kWh" | "kwh" => EnergyUnit::KWh,
        "ws" | "Ws" => EnergyUnit::Ws,
        "" => {
            return Err(err(
                input,
                unit_at,
                "expected a unit after the number: J, kJ, Wh, kWh, or ws \
                 (the paper's sample-sum)",
            ))
        }
        other => {
            return Err(err(
                input,
                unit_at,
                format!("unknown energy unit '{other}'; expected J, kJ, Wh, kWh, or ws"),
            ))
        }
    };
    let bound = parse_number(input, value, arg_at, "an energy bound > 0")?;
    if bound <= 0.0 {
        return Err(err(input, arg_at, "the energy bound must be > 0"));
    }
    Ok(Criterion::Energy { bound, unit })
}

/// Parses the argument of `time:D<s|m|h>`, which starts at character `arg_at`.
fn parse_time(input: &str, arg: &str, arg_at: usize) -> Result<Criterion, CriterionParseError> {
    let (value, unit) = arg.split_at(number_end(arg, false));
    let unit_at = arg_at + value.chars().count();
    let scale = match unit {
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "" => {
            return Err(err(
                input,
                unit_at,
                "expected a unit after the number: s, m, or h",
            ))
        }
        other => {
            return Err(err(
                input,
                unit_at,
                format!("unknown time unit '{other}'; expected s, m, or h"),
            ))
        }
    };
    let v = parse_number(input, value, arg_at, "a duration > 0")?;
    if v <= 0.0 {
        return Err(err(input, arg_at, "the duration must be > 0"));
    }
    Ok(Criterion::Time { seconds: v * scale })
}

/// Parses `text` (at character `pos`) as a finite number, else says `what` was expected there.
fn parse_number(
    input: &str,
    text: &str,
    pos: usize,
    what: &str,
) -> Result<f64, CriterionParseError> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(err(
            input,
            pos,
            format!("expected {what}, found '{text}', which is not a finite number"),
        )),
        _ => Err(err(input, pos, format!("expected {what}, found '{text}'"))),
    }
}

/// Where the number at the start of `arg` ends and its unit begins. A
/// leading `NaN` or `inf` (any case, signed) is taken as the number, so
/// `energy:NaNws` is refused for its number, not blamed on a unit "NaNws";
/// with `exponent`, an `e` inside the number (`1e5ws`) is part of it.
fn number_end(arg: &str, exponent: bool) -> usize {
    let unsigned = arg.trim_start_matches(['+', '-']);
    let sign = arg.len() - unsigned.len();
    let lower = unsigned.to_ascii_lowercase();
    for word in ["infinity", "inf", "nan"] {
        if lower.starts_with(word) {
            return sign + word.len();
        }
    }
    arg.find(|c: char| c.is_ascii_alphabetic() && !(exponent && (c == 'e' || c == 'E')))
        .unwrap_or(arg.len())
}

fn parse_count(
    input: &str,
    text: &str,
    pos: usize,
    what: &str,
) -> Result<u32, CriterionParseError> {
    match text.parse::<u32>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(err(input, pos, format!("expected {what}, found '{text}'"))),
    }
}
