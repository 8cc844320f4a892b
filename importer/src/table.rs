//! A log as a table of text cells with the line each row came from: the
//! common ground of the CSV and JSON-lines formats, so each format's parser
//! only deals with its columns and their meaning, and every error can name
//! the file, the line and the column.
//!
//! CSV goes through the `csv` crate (quoted fields, embedded newlines, CRLF);
//! cells are trimmed, because nvidia-smi separates fields with `", "`.
//! JSON lines become a table whose columns are the keys in order of first
//! appearance; `null` and absent keys are empty cells.

use super::{ColumnRef, ParseError};
use std::path::{Path, PathBuf};

/// A parsed table.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub path: PathBuf,
    /// Column names as written (trimmed).
    pub header: Vec<String>,
    /// Line of the header (1 for CSV; 0 for JSON lines, which have none).
    pub header_line: u64,
    pub rows: Vec<Row>,
    /// JSON lines name columns by key, CSV by position and header.
    json: bool,
}

/// One data row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// 1-based line where the row starts.
    pub line: u64,
    pub cells: Vec<String>,
}

impl Table {
    /// Reads CSV text whose first record is the header. Every row must have
    /// as many fields as the header.
    pub fn csv(path: &Path, text: &str) -> Result<Table, ParseError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let mut records = Vec::new();
        let mut lines = LineCounter::new(text.as_bytes());
        for rec in reader.records() {
            let rec = rec.map_err(|e| csv_error(path, &e, &mut lines))?;
            let line = lines.record_start(rec.position().map_or(0, |p| p.byte()));
            let cells: Vec<String> = rec.iter().map(str::to_string).collect();
            if cells.iter().all(String::is_empty) {
                continue;
            }
            records.push(Row { line, cells });
        }
        let mut records = records.into_iter();
        let first = records.next().ok_or_else(|| {
            ParseError::line(path, 1, "the file is empty (expected a header line)")
        })?;
        let (header, header_line) = (first.cells, first.line);
        if let [only] = header.as_slice() {
            if let Some(e) = separator_error(path, header_line, only) {
                return Err(e);
            }
        }
        let rows: Vec<Row> = records.collect();
        for r in &rows {
            if r.cells.len() != header.len() {
                return Err(ParseError::line(
                    path,
                    r.line,
                    format!(
                        "{} fields where the header has {}",
                        r.cells.len(),
                        header.len()
                    ),
                ));
            }
        }
        Ok(Table {
            path: path.to_path_buf(),
            header,
            header_line,
            rows,
            json: false,
        })
    }

    /// Reads JSON lines: one object per non-blank line.
    pub fn jsonl(path: &Path, text: &str) -> Result<Table, ParseError> {
        let mut header: Vec<String> = Vec::new();
        let mut objects = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let n = i as u64 + 1;
            if line.trim().is_empty() {
                continue;
            }
            let v: serde_json::Value = serde_json::from_str(line).map_err(|e| {
                ParseError::field(
                    path,
                    n,
                    ColumnRef::Char(e.column()),
                    format!("not JSON: {e}"),
                )
            })?;
            let serde_json::Value::Object(map) = v else {
                return Err(ParseError::line(path, n, "expected a JSON object per line"));
            };
            for k in map.keys() {
                if !header.contains(k) {
                    header.push(k.clone());
                }
            }
            objects.push((n, map));
        }
        let mut rows = Vec::with_capacity(objects.len());
        for (line, map) in objects {
            let mut cells = Vec::with_capacity(header.len());
            for k in &header {
                cells.push(match map.get(k) {
                    None | Some(serde_json::Value::Null) => String::new(),
                    Some(serde_json::Value::String(s)) => s.trim().to_string(),
                    Some(serde_json::Value::Number(x)) => x.to_string(),
                    Some(other) => {
                        return Err(ParseError::field(
                            path,
                            line,
                            ColumnRef::Key(k.clone()),
                            format!("{other} is not a number, a string or null"),
                        ))
                    }
                });
            }
            rows.push(Row { line, cells });
        }
        Ok(Table {
            path: path.to_path_buf(),
            header,
            header_line: 0,
            rows,
            json: true,
        })
    }

    /// The first of `names` present as a column (case-insensitive), in the
    /// order of `names`.
    pub fn find(&self, names: &[&str]) -> Option<usize> {
        names.iter().find_map(|n| {
            self.header
                .iter()
                .position(|h| h.trim().eq_ignore_ascii_case(n.trim()))
        })
    }

    /// The column a user named, or an error listing what there is.
    pub fn require(&self, name: &str, flag: &str) -> Result<usize, ParseError> {
        self.find(&[name]).ok_or_else(|| {
            ParseError::line(
                &self.path,
                self.header_line.max(1),
                format!("no column '{name}' ({flag}); columns: {}", self.columns()),
            )
        })
    }

    /// The column names, for messages; at most [`COLUMNS_SHOWN`]
    /// characters, so a file of the wrong kind does not fill the terminal.
    pub fn columns(&self) -> String {
        if self.header.is_empty() {
            return "none".into();
        }
        let all = self.header.join(", ");
        if all.chars().count() <= COLUMNS_SHOWN {
            return all;
        }
        let cut: String = all.chars().take(COLUMNS_SHOWN).collect();
        format!(
            "{cut}… ({} columns, {} characters)",
            self.header.len(),
            all.chars().count()
        )
    }

    /// How an error names column `col`.
    pub fn column_ref(&self, col: usize) -> ColumnRef {
        let name = self.header.get(col).cloned().unwrap_or_default();
        if self.json {
            ColumnRef::Key(name)
        } else {
            ColumnRef::Field {
                number: col + 1,
                name,
            }
        }
    }

    /// An error about one cell.
    pub fn error(&self, row: &Row, col: usize, message: impl Into<String>) -> ParseError {
        ParseError::field(&self.path, row.line, self.column_ref(col), message)
    }

    /// An error about a header cell.
    pub fn header_error(&self, col: usize, message: impl Into<String>) -> ParseError {
        ParseError::field(
            &self.path,
            self.header_line.max(1),
            self.column_ref(col),
            message,
        )
    }

    /// A cell's text (trimmed); empty where the row is short.
    pub fn cell<'a>(&self, row: &'a Row, col: usize) -> &'a str {
        row.cells.get(col).map_or("", |s| s.trim())
    }

    /// A cell as a finite number; `None` when empty.
    pub fn number(&self, row: &Row, col: usize) -> Result<Option<f64>, ParseError> {
        let s = self.cell(row, col);
        if s.is_empty() {
            return Ok(None);
        }
        match s.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Some(v)),
            _ => Err(self.error(row, col, format!("'{s}' is not a number"))),
        }
    }
}

/// How much of a header messages quote.
const COLUMNS_SHOWN: usize = 200;

/// A header that is one field holding `;` or a tab: a file separated by
/// something other than commas, named with the fix.
fn separator_error(path: &Path, line: u64, header: &str) -> Option<ParseError> {
    let (sep, name, fix) = if header.contains(';') {
        (
            ';',
            "semicolons",
            format!(
                "sed 's/,/./g; s/;/,/g' {0} > {0}.csv (it also turns decimal commas into points)",
                path.display()
            ),
        )
    } else if header.contains('\t') {
        (
            '\t',
            "tabs",
            format!("tr '\\t' ',' < {0} > {0}.csv", path.display()),
        )
    } else {
        return None;
    };
    let shown: String = header.chars().take(80).collect();
    Some(ParseError::line(
        path,
        line,
        format!(
            "the header '{}' is separated by {name} ({sep:?}), not commas: the importer reads \
             comma-separated files; convert it first, e.g. {fix}",
            shown.escape_debug()
        ),
    ))
}

/// Line numbers from byte offsets. The `csv` crate's own line count is off
/// after CRLF and blank lines, and its record offset points just past the
/// previous record's first terminator byte; so line breaks are skipped
/// forward from there and counted here, incrementally (records come in
/// order, so the whole file is scanned once).
struct LineCounter<'a> {
    text: &'a [u8],
    at: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a [u8]) -> Self {
        Self {
            text,
            at: 0,
            line: 1,
        }
    }

    /// The line of the record reported at byte `pos`.
    fn record_start(&mut self, pos: u64) -> u64 {
        let mut pos = usize::try_from(pos)
            .unwrap_or(usize::MAX)
            .min(self.text.len());
        while pos < self.text.len() && matches!(self.text[pos], b'\r' | b'\n') {
            pos += 1;
        }
        self.line_at(pos)
    }

    fn line_at(&mut self, pos: usize) -> u64 {
        if pos < self.at {
            self.at = 0;
            self.line = 1;
        }
        let pos = pos.min(self.text.len());
        self.line += self.text[self.at..pos]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        self.at = pos;
        self.line
    }
}

fn csv_error(path: &Path, e: &csv::Error, lines: &mut LineCounter<'_>) -> ParseError {
    let line = lines.record_start(e.position().map_or(0, |p| p.byte()));
    match e.kind() {
        csv::ErrorKind::Utf8 { err, .. } => ParseError::field(
            path,
            line,
            ColumnRef::Field {
                number: err.field() + 1,
                name: String::new(),
            },
            "not UTF-8 text",
        ),
        _ => ParseError::line(path, line, format!("not valid CSV: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_keep_their_lines_and_trim() {
        let t = Table::csv(
            Path::new("x.csv"),
            "timestamp, power.draw [W]\r\n\r\n2025/04/24 15:58:57.879, 18.81 W\r\n\"a\nb\", 2\n",
        )
        .unwrap();
        assert_eq!(t.header, ["timestamp", "power.draw [W]"]);
        assert_eq!(t.rows[0].line, 3);
        assert_eq!(t.cell(&t.rows[0], 1), "18.81 W");
        assert_eq!(t.rows[1].line, 4);
        assert_eq!(t.find(&["POWER.DRAW [W]"]), Some(1));
        let crlf = Table::csv(Path::new("w.csv"), "a,b\r\n1,2\r\n\r\n3,4\r\n").unwrap();
        let lines: Vec<u64> = crlf.rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 4]);
        let e = Table::csv(Path::new("x.csv"), "a,b\n1,2\n3\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("1 fields where the header has 2"), "{e}");
        let bad = t.error(&t.rows[0], 1, "nope").to_string();
        assert_eq!(bad, "x.csv: line 3, column 2 (power.draw [W]): nope");
    }

    #[test]
    fn other_separators_are_named_with_the_fix() {
        let e = Table::csv(Path::new("p.csv"), "t_s;power_w\n0;12,5\n").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(
            e.message.contains("separated by semicolons (';')")
                && e.message
                    .contains("sed 's/,/./g; s/;/,/g' p.csv > p.csv.csv"),
            "{e}"
        );
        let e = Table::csv(Path::new("p.tsv"), "t_s\tpower_w\n0\t12\n").unwrap_err();
        assert!(e.message.contains("separated by tabs"), "{e}");
        // One column without either is a one-column file.
        assert!(Table::csv(Path::new("p.csv"), "rapl:pkg\n5\n").is_ok());
    }

    #[test]
    fn long_headers_are_cut_in_messages() {
        let header: Vec<String> = (0..100).map(|k| format!("column_{k}")).collect();
        let t = Table::csv(Path::new("w.csv"), &format!("{}\n", header.join(","))).unwrap();
        let c = t.columns();
        assert!(c.chars().count() < 260, "{c}");
        assert!(c.ends_with("… (100 columns, 1088 characters)"), "{c}");
    }

    #[test]
    fn jsonl_becomes_a_table_keyed_by_name() {
        let t = Table::jsonl(
            Path::new("e.jsonl"),
            "{\"epoch\":1,\"test_acc\":0.5}\n\n{\"epoch\":2,\"train_acc\":0.7,\"test_acc\":null}\n",
        )
        .unwrap();
        assert_eq!(t.header, ["epoch", "test_acc", "train_acc"]);
        assert_eq!(t.rows[1].line, 3);
        assert_eq!(t.cell(&t.rows[0], 2), "");
        assert_eq!(t.number(&t.rows[1], 2).unwrap(), Some(0.7));
        let e = Table::jsonl(Path::new("e.jsonl"), "{\"epoch\":1}\n{\"epoch\":2,}\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(matches!(e.column, ColumnRef::Char(_)), "{e}");
        let e = Table::jsonl(Path::new("e.jsonl"), "{\"epoch\":[1]}\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "e.jsonl: line 1, key \"epoch\": [1] is not a number, a string or null"
        );
    }
}
