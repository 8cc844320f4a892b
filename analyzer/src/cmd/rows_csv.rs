//! Reading per-model summary rows (`analyzer tables --rows FILE.csv`): one
//! row per (dataset, criterion, architecture, width) with the stop epoch,
//! accuracy, energy and optionally a published efficiency — what a paper
//! prints when its traces are not available.
//!
//! Columns are found by name, in any order, with a few aliases (the paper's
//! file uses `energy_sum_w` and `eff_published`); unknown columns such as
//! `note` are ignored. The energy unit comes from the energy column's name
//! (`energy_sum_w`/`energy_ws`: the paper's sample-sum; `energy_j`,
//! `energy_kj`, `energy_wh`, `energy_kwh`) or, for a plain `energy`, from
//! `--energy-unit`. A criterion not reached is written `>N` in the epochs
//! column ("not reached by epoch N").
//!
//! The CSV reader is a small RFC 4180 one (quoted fields, doubled quotes):
//! these files are tiny, and a dependency would buy nothing but weight.

use std::path::{Path, PathBuf};
use trainwatt_trace::EnergyUnit;

/// A column the file must have.
const REQUIRED: [(&str, &[&str]); 5] = [
    ("dataset", &["dataset"]),
    ("criterion", &["criterion"]),
    ("arch", &["arch", "architecture"]),
    ("width", &["width"]),
    ("epochs", &["epochs", "stop_epoch", "epoch"]),
];

const ENERGY_NAMES: [(&str, Option<EnergyUnit>); 7] = [
    ("energy", None),
    ("energy_sum_w", Some(EnergyUnit::Ws)),
    ("energy_ws", Some(EnergyUnit::Ws)),
    ("energy_j", Some(EnergyUnit::J)),
    ("energy_kj", Some(EnergyUnit::KJ)),
    ("energy_wh", Some(EnergyUnit::Wh)),
    ("energy_kwh", Some(EnergyUnit::KWh)),
];

/// How a criterion ended for one row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RowStop {
    At(u32),
    /// `>N`: not reached by epoch N.
    NotReached(u32),
}

/// One per-model row.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRow {
    /// 1-based line in the file, for messages.
    pub line: usize,
    pub platform: Option<String>,
    pub dataset: String,
    pub criterion: String,
    pub arch: String,
    pub width: u32,
    pub stop: RowStop,
    pub acc: Option<f64>,
    /// In the file's energy unit.
    pub energy: Option<f64>,
    /// In 1/(the file's energy unit).
    pub eff: Option<f64>,
}

/// A parsed file.
#[derive(Debug, Clone, PartialEq)]
pub struct RowsFile {
    pub path: PathBuf,
    pub rows: Vec<SummaryRow>,
    /// Name of the energy column, when there is one.
    pub energy_column: Option<String>,
    /// Unit implied by the energy column's name.
    pub energy_unit: Option<EnergyUnit>,
    pub has_eff: bool,
}

/// Problems reading a rows file, with the file, line and column.
#[derive(Debug, thiserror::Error)]
pub enum RowsError {
    #[error("cannot read {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: the file is empty (expected a header line)")]
    Empty { path: PathBuf },
    #[error("{path}: no column '{column}' (accepted names: {accepted}; found: {found})")]
    MissingColumn {
        path: PathBuf,
        column: &'static str,
        accepted: String,
        found: String,
    },
    #[error("{path}:{line}: column '{column}' is '{value}', expected {expected}")]
    Field {
        path: PathBuf,
        line: usize,
        column: String,
        value: String,
        expected: &'static str,
    },
    #[error("{path}:{line}: {found} fields where the header has {expected}")]
    FieldCount {
        path: PathBuf,
        line: usize,
        found: usize,
        expected: usize,
    },
    #[error("{path}:{line}: a quoted field is not closed")]
    Quote { path: PathBuf, line: usize },
    #[error("{path}:{line}: same model and criterion as line {first}")]
    Duplicate {
        path: PathBuf,
        line: usize,
        first: usize,
    },
}

/// Splits CSV text into records with the line each starts on. Quoted fields
/// may hold commas, doubled quotes and line breaks.
pub fn records(text: &str) -> Result<Vec<(usize, Vec<String>)>, usize> {
    let mut out = Vec::new();
    let mut line = 1;
    let mut start_line = 1;
    let mut field = String::new();
    let mut fields = Vec::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.trim().is_empty() => {
                field.clear();
                quoted = true;
                any = true;
            }
            ',' => {
                fields.push(std::mem::take(&mut field));
                any = true;
            }
            '\r' => {}
            '\n' => {
                if any || !field.trim().is_empty() {
                    fields.push(std::mem::take(&mut field));
                    out.push((start_line, std::mem::take(&mut fields)));
                }
                field.clear();
                any = false;
                line += 1;
                start_line = line;
            }
            _ => {
                field.push(c);
                any = true;
            }
        }
    }
    if quoted {
        return Err(start_line);
    }
    if any || !field.trim().is_empty() {
        fields.push(field);
        out.push((start_line, fields));
    }
    Ok(out)
}

/// Reads and parses a rows file.
pub fn read(path: &Path) -> Result<RowsFile, RowsError> {
    let text = std::fs::read_to_string(path).map_err(|source| RowsError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &text)
}

/// Parses rows-file text; `path` is used in messages.
pub fn parse(path: &Path, text: &str) -> Result<RowsFile, RowsError> {
    let p = || path.to_path_buf();
    let recs = records(text).map_err(|line| RowsError::Quote { path: p(), line })?;
    let mut recs = recs.into_iter();
    let (_, header) = recs.next().ok_or_else(|| RowsError::Empty { path: p() })?;
    let header: Vec<String> = header
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let cols = find_columns(path, &header)?;
    let mut rows: Vec<SummaryRow> = Vec::new();
    for (line, rec) in recs {
        let row = parse_row(path, &header, &cols, line, &rec)?;
        if let Some(first) = rows.iter().find(|r| {
            (&r.platform, &r.dataset, &r.criterion, &r.arch, r.width)
                == (
                    &row.platform,
                    &row.dataset,
                    &row.criterion,
                    &row.arch,
                    row.width,
                )
        }) {
            return Err(RowsError::Duplicate {
                path: p(),
                line,
                first: first.line,
            });
        }
        rows.push(row);
    }
    Ok(RowsFile {
        path: p(),
        rows,
        energy_column: cols.energy.map(|e| e.1.to_string()),
        energy_unit: cols.energy.and_then(|e| e.2),
        has_eff: cols.eff.is_some(),
    })
}

/// Where each column is in the header.
struct Columns {
    /// The [`REQUIRED`] columns, in that order.
    required: Vec<usize>,
    acc: Option<usize>,
    eff: Option<usize>,
    platform: Option<usize>,
    /// The energy column: index, name, and the unit its name implies.
    energy: Option<(usize, &'static str, Option<EnergyUnit>)>,
}

/// Finds the columns by name in the (lowercased) header; a missing required one is an error.
fn find_columns(path: &Path, header: &[String]) -> Result<Columns, RowsError> {
    let find = |names: &[&str]| header.iter().position(|h| names.contains(&h.as_str()));
    let mut required = Vec::new();
    for (col, names) in REQUIRED {
        required.push(find(names).ok_or_else(|| RowsError::MissingColumn {
            path: path.to_path_buf(),
            column: col,
            accepted: names.join(", "),
            found: header.join(", "),
        })?);
    }
    let acc = find(&["acc", "accuracy"]);
    let eff = find(&["eff", "eff_published", "efficiency"]);
    let platform = find(&["platform"]);
    let energy = ENERGY_NAMES.iter().find_map(|(name, unit)| {
        header
            .iter()
            .position(|h| h == name)
            .map(|i| (i, *name, *unit))
    });
    Ok(Columns {
        required,
        acc,
        eff,
        platform,
        energy,
    })
}

/// Reads the record on `line` into a row, naming the first field that does not parse.
fn parse_row(
    path: &Path,
    header: &[String],
    cols: &Columns,
    line: usize,
    rec: &[String],
) -> Result<SummaryRow, RowsError> {
    let p = || path.to_path_buf();
    let idx = &cols.required;
    if rec.len() != header.len() {
        return Err(RowsError::FieldCount {
            path: p(),
            line,
            found: rec.len(),
            expected: header.len(),
        });
    }
    let field_err = |i: usize, expected: &'static str| RowsError::Field {
        path: p(),
        line,
        column: header[i].clone(),
        value: rec[i].trim().to_string(),
        expected,
    };
    let text_at = |i: usize| rec[i].trim().to_string();
    let num_at = |i: Option<usize>| -> Result<Option<f64>, RowsError> {
        let Some(i) = i else { return Ok(None) };
        let s = rec[i].trim();
        if s.is_empty() {
            return Ok(None);
        }
        match s.parse::<f64>() {
            Ok(v) if v.is_finite() && v >= 0.0 => Ok(Some(v)),
            _ => Err(field_err(i, "a non-negative number")),
        }
    };
    let width = text_at(idx[3])
        .parse::<u32>()
        .map_err(|_| field_err(idx[3], "a whole number"))?;
    let stop_text = text_at(idx[4]);
    let stop = match stop_text.strip_prefix('>') {
        Some(n) => n.trim().parse().map(RowStop::NotReached),
        None => stop_text.parse().map(RowStop::At),
    }
    .map_err(|_| field_err(idx[4], "an epoch number, or >N for not reached by epoch N"))?;
    let acc = num_at(cols.acc)?;
    if let (Some(a), Some(i)) = (acc, cols.acc) {
        if a > 1.0 {
            return Err(field_err(
                i,
                "an accuracy as a fraction in [0, 1] (not a percentage)",
            ));
        }
    }
    let row = SummaryRow {
        line,
        platform: cols.platform.map(text_at).filter(|s| !s.is_empty()),
        dataset: text_at(idx[0]),
        criterion: text_at(idx[1]),
        arch: text_at(idx[2]),
        width,
        stop,
        acc,
        energy: num_at(cols.energy.map(|e| e.0))?,
        eff: num_at(cols.eff)?,
    };
    for (i, name) in [
        (idx[0], &row.dataset),
        (idx[1], &row.criterion),
        (idx[2], &row.arch),
    ] {
        if name.is_empty() {
            return Err(field_err(i, "a name"));
        }
    }
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SAMPLE: &str =
        "dataset,criterion,arch,width,epochs,acc,energy_sum_w,eff_published,note\n\
        mnist,epochs50,bcnn,1,50,0.97,2.08e5,4.67e-6,\"acc printed as 0.97e-1, a typo\"\n\
        mnist,epochs50,lenet,1,>100,,,,\n";

    #[test]
    fn parses_aliases_units_quotes_and_censoring() {
        let f = parse(Path::new("t.csv"), SAMPLE).unwrap();
        assert_eq!(f.energy_unit, Some(EnergyUnit::Ws));
        assert!(f.has_eff);
        assert_eq!(f.rows.len(), 2);
        let r = &f.rows[0];
        assert_eq!(
            (r.dataset.as_str(), r.arch.as_str(), r.width),
            ("mnist", "bcnn", 1)
        );
        assert_eq!(
            (r.acc, r.energy, r.eff),
            (Some(0.97), Some(2.08e5), Some(4.67e-6))
        );
        assert_eq!(r.stop, RowStop::At(50));
        assert_eq!(f.rows[1].stop, RowStop::NotReached(100));
        assert_eq!(f.rows[1].line, 3);
    }

    #[test]
    fn errors_name_the_line_and_column() {
        let bad = "dataset,criterion,arch,width,epochs,acc\nmnist,c,lenet,two,5,0.9\n";
        let e = parse(Path::new("t.csv"), bad).unwrap_err().to_string();
        assert!(
            e.contains("t.csv:2") && e.contains("'width'") && e.contains("'two'"),
            "{e}"
        );
        let pct = "dataset,criterion,arch,width,epochs,acc\nmnist,c,lenet,1,5,97.5\n";
        let e = parse(Path::new("t.csv"), pct).unwrap_err().to_string();
        assert!(e.contains("percentage"), "{e}");
        let missing = "dataset,arch,width,epochs\n";
        let e = parse(Path::new("t.csv"), missing).unwrap_err().to_string();
        assert!(e.contains("no column 'criterion'"), "{e}");
        let dup = "dataset,criterion,arch,width,epochs\nm,c,a,1,5\nm,c,a,1,6\n";
        let e = parse(Path::new("t.csv"), dup).unwrap_err().to_string();
        assert!(e.contains("t.csv:3") && e.contains("line 2"), "{e}");
        assert!(matches!(
            parse(Path::new("t.csv"), "a,\"b\n"),
            Err(RowsError::Quote { line: 1, .. })
        ));
    }

    #[test]
    fn records_handle_crlf_blank_lines_and_embedded_newlines() {
        let r = records("a,b\r\n\r\n\"x\ny\",\"q\"\"\"\n").unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[1], (3, vec!["x\ny".to_string(), "q\"".to_string()]));
    }

    proptest! {
        #[test]
        fn no_input_panics(s in "\\PC*") {
            let _ = parse(Path::new("p.csv"), &s);
        }

        #[test]
        fn csvish_input_never_panics(s in "[a-z0-9,\">.\n -]{0,80}") {
            let _ = parse(Path::new("p.csv"), &format!("dataset,criterion,arch,width,epochs,acc,energy\n{s}"));
        }
    }
}
