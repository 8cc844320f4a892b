//! Exporters: one small trait, one file per output format.
//!
//! Every command builds a [`Report`] (notes plus [`Table`]s whose cells keep
//! their numeric values) and hands it to an [`Exporter`]. Keeping numbers as
//! numbers until the last moment is what lets the JSON exporter write full
//! precision while the terminal, Markdown, CSV and LaTeX exporters print the
//! precision a reader can trust (the paper's two decimals in sample-sum
//! mode). Units live in the column, so no format can drop them: every
//! human-facing header is `name (unit)`.
//!
//! The design follows hyperfine's exporters: one method that turns a table
//! into text, and a provided method for a whole report that formats may
//! override (JSON writes one document, not one per table).

mod csv;
pub mod html;
mod json;
mod latex;
mod markdown;
mod terminal;

pub use self::csv::CsvExporter;
pub use self::html::HtmlExporter;
pub use self::json::JsonExporter;
pub use self::latex::LatexExporter;
pub use self::markdown::MarkdownExporter;
pub use self::terminal::TerminalExporter;

/// How a number is printed by the text formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumFmt {
    /// A fixed number of decimals (the paper prints Eff with two).
    Fixed(usize),
    /// This many significant digits, for quantities whose scale depends on
    /// the hardware (accuracy per kJ).
    Sig(usize),
}

/// One table cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Int(i64),
    Num { value: f64, fmt: NumFmt },
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Self {
        Cell::Text(s.into())
    }

    pub fn num(value: f64, fmt: NumFmt) -> Self {
        Cell::Num { value, fmt }
    }

    /// A number, or an empty cell when there is none.
    pub fn opt(value: Option<f64>, fmt: NumFmt) -> Self {
        value.map_or(Cell::Empty, |v| Cell::num(v, fmt))
    }

    /// The cell as the text formats print it (empty for [`Cell::Empty`]).
    pub fn display(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => s.clone(),
            Cell::Int(i) => i.to_string(),
            Cell::Num { value, fmt } => format_num(*value, *fmt),
        }
    }

    /// The number in a numeric cell.
    pub fn value(&self) -> Option<f64> {
        match self {
            Cell::Int(i) => Some(*i as f64),
            Cell::Num { value, .. } => Some(*value),
            _ => None,
        }
    }

    fn is_numeric(&self) -> bool {
        matches!(self, Cell::Int(_) | Cell::Num { .. })
    }
}

/// Prints `value` as `fmt` says; non-finite values print as `n/a`.
pub fn format_num(value: f64, fmt: NumFmt) -> String {
    if !value.is_finite() {
        return "n/a".into();
    }
    match fmt {
        NumFmt::Fixed(d) => format!("{value:.d$}"),
        NumFmt::Sig(sig) => {
            if value == 0.0 {
                return format!("{:.*}", sig.saturating_sub(1), 0.0);
            }
            let magnitude = value.abs().log10().floor() as i64;
            let decimals = (sig as i64 - 1 - magnitude).clamp(0, 15) as usize;
            format!("{value:.decimals$}")
        }
    }
}

/// One column: a stable machine key, a human name, and its unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Stable snake_case name (the JSON field name).
    pub key: String,
    /// Human name, without the unit.
    pub name: String,
    /// Unit of every number in the column, e.g. `kJ` or `1/W-sum ×10⁻⁶`.
    pub unit: Option<String>,
}

impl Column {
    pub fn new(key: &str, name: &str) -> Self {
        Self {
            key: key.into(),
            name: name.into(),
            unit: None,
        }
    }

    pub fn with_unit(key: &str, name: &str, unit: &str) -> Self {
        Self {
            key: key.into(),
            name: name.into(),
            unit: Some(unit.into()),
        }
    }

    /// `name (unit)`, the header every text format prints.
    pub fn header(&self) -> String {
        match &self.unit {
            Some(u) => format!("{} ({u})", self.name),
            None => self.name.clone(),
        }
    }
}

/// A titled table.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Stable id of the table kind (`models`, `eq3`, `criteria`, …), used by
    /// `--only` and in JSON.
    pub id: String,
    pub title: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
    /// Footnotes that belong to this table (why a cell is empty, …).
    pub notes: Vec<String>,
}

impl Table {
    pub fn new(id: &str, title: impl Into<String>, columns: Vec<Column>) -> Self {
        Self {
            id: id.into(),
            title: title.into(),
            columns,
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Adds a row; short rows are padded with empty cells.
    pub fn push(&mut self, mut row: Vec<Cell>) {
        row.resize(self.columns.len(), Cell::Empty);
        self.rows.push(row);
    }

    /// Whether column `i` holds numbers (right-aligned by the text formats).
    fn numeric_column(&self, i: usize) -> bool {
        let mut any = false;
        for row in &self.rows {
            match row.get(i) {
                Some(c) if c.is_numeric() => any = true,
                Some(Cell::Empty) | None => {}
                Some(_) => return false,
            }
        }
        any
    }
}

/// What a command prints: report-wide notes (energy mode, modelled sources,
/// excluded runs, warnings) and tables.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub notes: Vec<String>,
    pub tables: Vec<Table>,
    /// The runs left out, with their typed reasons (JSON lists them with a
    /// `kind` a script can match; the other formats print the notes).
    pub excluded: Vec<crate::model::Excluded>,
}

impl Report {
    /// Keeps only the tables whose id is `id`.
    pub fn only(mut self, id: &str) -> Self {
        self.tables.retain(|t| t.id == id);
        self
    }

    pub fn table_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = Vec::new();
        for t in &self.tables {
            if !ids.contains(&t.id.as_str()) {
                ids.push(&t.id);
            }
        }
        ids
    }
}

/// Errors from rendering.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot serialise table '{table}' as JSON")]
    Json {
        table: String,
        #[source]
        source: serde_json::Error,
    },
}

/// Turns tables into bytes for one format.
pub trait Exporter {
    /// One table.
    fn render(&self, table: &Table) -> Result<String, ExportError>;

    /// Report-wide notes, in this format's comment style (`None`: the format
    /// has no room for them and the caller prints them on stderr).
    fn render_notes(&self, notes: &[String]) -> Option<String>;

    /// A whole report: notes, then each table, separated by blank lines.
    fn render_report(&self, report: &Report) -> Result<String, ExportError> {
        let mut parts = Vec::new();
        if !report.notes.is_empty() {
            if let Some(n) = self.render_notes(&report.notes) {
                parts.push(n);
            }
        }
        for t in &report.tables {
            parts.push(self.render(t)?);
        }
        Ok(parts.join("\n"))
    }
}

/// The formats `--format` offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for a terminal.
    Table,
    Markdown,
    /// Comma-separated; one table per `--only` gives a clean file.
    Csv,
    /// booktabs tables, ready for a paper.
    Latex,
    /// One JSON document with stable field names.
    Json,
    /// HTML `<table>` fragments (what `analyzer report` builds its page from).
    Html,
}

impl Format {
    pub fn exporter(self) -> Box<dyn Exporter> {
        match self {
            Format::Table => Box::new(TerminalExporter),
            Format::Markdown => Box::new(MarkdownExporter),
            Format::Csv => Box::new(CsvExporter::default()),
            Format::Latex => Box::new(LatexExporter),
            Format::Json => Box::new(JsonExporter),
            Format::Html => Box::new(HtmlExporter),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small table with every kind of cell, shared by the format tests.
    pub(crate) fn sample() -> Table {
        let mut t = Table::new(
            "models",
            "Models under 'early stopping' — platform lab, dataset mnist",
            vec![
                Column::new("arch", "arch"),
                Column::new("width", "width"),
                Column::new("stop_epoch", "stop epoch"),
                Column::with_unit("energy", "energy", "W-sum ×10⁵"),
                Column::with_unit("eff_eq2", "Eq. 2", "1/W-sum ×10⁻⁶"),
            ],
        );
        t.push(vec![
            Cell::text("lenet"),
            Cell::Int(1),
            Cell::text("16"),
            Cell::num(0.75, NumFmt::Fixed(2)),
            Cell::num(12.83, NumFmt::Fixed(2)),
        ]);
        t.push(vec![
            Cell::text("bcnn_100%"),
            Cell::Int(2),
            Cell::text("not reached by epoch 100"),
        ]);
        t.notes.push("censored models are left out of Eq. 3".into());
        t
    }

    #[test]
    fn significant_digits_adapt_to_scale() {
        assert_eq!(format_num(0.0198345, NumFmt::Sig(4)), "0.01983");
        assert_eq!(format_num(12.8345, NumFmt::Sig(4)), "12.83");
        assert_eq!(format_num(123456.0, NumFmt::Sig(4)), "123456");
        assert_eq!(format_num(8.092, NumFmt::Fixed(2)), "8.09");
        assert_eq!(format_num(f64::NAN, NumFmt::Fixed(2)), "n/a");
        assert_eq!(format_num(0.0, NumFmt::Sig(3)), "0.00");
    }

    #[test]
    fn short_rows_are_padded_and_numeric_columns_detected() {
        let t = sample();
        assert_eq!(t.rows[1].len(), 5);
        assert!(t.numeric_column(1));
        assert!(!t.numeric_column(2));
        assert!(t.numeric_column(3));
        assert_eq!(t.columns[4].header(), "Eq. 2 (1/W-sum ×10⁻⁶)");
    }
}
