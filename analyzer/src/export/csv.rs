//! `--format csv`: RFC 4180 fields (quoted only when needed). A CSV file
//! holds one table, so with several tables each is preceded by a `# title`
//! line and a blank line separates them; `--only ID` selects one table and
//! gives a clean file. Report notes have no place in CSV and go to stderr.

use super::{ExportError, Exporter, Table};

/// Comma-separated values.
#[derive(Debug, Clone, Copy, Default)]
pub struct CsvExporter {
    /// Omit the `# title` line (set when a single table is printed).
    pub bare: bool,
}

/// Quotes a field when it holds a comma, a quote or a line break.
pub(crate) fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

impl Exporter for CsvExporter {
    fn render(&self, table: &Table) -> Result<String, ExportError> {
        let mut out = String::new();
        if !self.bare {
            out.push_str(&format!("# {}\n", table.title));
        }
        let headers: Vec<String> = table.columns.iter().map(|c| field(&c.header())).collect();
        out.push_str(&headers.join(","));
        out.push('\n');
        for row in &table.rows {
            let cells: Vec<String> = row.iter().map(|c| field(&c.display())).collect();
            out.push_str(&cells.join(","));
            out.push('\n');
        }
        Ok(out)
    }

    fn render_notes(&self, _notes: &[String]) -> Option<String> {
        None
    }

    fn render_report(&self, report: &super::Report) -> Result<String, ExportError> {
        let bare = self.bare || report.tables.len() == 1;
        let inner = CsvExporter { bare };
        let parts: Result<Vec<String>, ExportError> =
            report.tables.iter().map(|t| inner.render(t)).collect();
        Ok(parts?.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::tests::sample;

    #[test]
    fn quotes_only_when_needed() {
        assert_eq!(field("a"), "a");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"x\""), "\"say \"\"x\"\"\"");
    }

    #[test]
    fn table_as_csv() {
        let s = CsvExporter { bare: true }.render(&sample()).unwrap();
        assert!(
            s.starts_with("arch,width,stop epoch,energy (W-sum ×10⁵),"),
            "{s}"
        );
        insta::assert_snapshot!(s);
    }
}
