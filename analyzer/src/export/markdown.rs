//! `--format markdown`: GitHub-flavoured pipe tables, numbers right-aligned,
//! each table under a `###` heading so a report pastes into an issue or a
//! README as is.

use super::{ExportError, Exporter, Table};

/// Pipe tables.
#[derive(Debug, Clone, Copy, Default)]
pub struct MarkdownExporter;

/// Pipes inside a cell would end it early.
fn escape(s: &str) -> String {
    s.replace('|', "\\|")
}

impl Exporter for MarkdownExporter {
    fn render(&self, table: &Table) -> Result<String, ExportError> {
        let mut out = format!("### {}\n\n", escape(&table.title));
        let headers: Vec<String> = table.columns.iter().map(|c| escape(&c.header())).collect();
        out.push_str(&format!("| {} |\n", headers.join(" | ")));
        let align: Vec<&str> = (0..headers.len())
            .map(|i| {
                if table.numeric_column(i) {
                    "--:"
                } else {
                    ":--"
                }
            })
            .collect();
        out.push_str(&format!("|{}|\n", align.join("|")));
        for row in &table.rows {
            let cells: Vec<String> = row.iter().map(|c| escape(&c.display())).collect();
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
        if !table.notes.is_empty() {
            out.push('\n');
            for n in &table.notes {
                out.push_str(&format!("*Note:* {}\n", escape(n)));
            }
        }
        Ok(out)
    }

    fn render_notes(&self, notes: &[String]) -> Option<String> {
        Some(notes.iter().map(|n| format!("- {}\n", escape(n))).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::tests::sample;

    #[test]
    fn pipe_table_with_alignment() {
        let s = MarkdownExporter.render(&sample()).unwrap();
        assert!(s.contains("|:--|--:|:--|--:|--:|"), "{s}");
        insta::assert_snapshot!(s);
    }
}
