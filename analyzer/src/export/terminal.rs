//! `--format table`: aligned columns for a terminal. Numbers are
//! right-aligned so decimal points line up; widths count characters, not
//! bytes, because headers carry units such as `×10⁻⁶`.

use super::{ExportError, Exporter, Table};

/// Plain aligned text.
#[derive(Debug, Clone, Copy, Default)]
pub struct TerminalExporter;

fn pad(s: &str, width: usize, right: bool) -> String {
    let fill = " ".repeat(width.saturating_sub(s.chars().count()));
    if right {
        format!("{fill}{s}")
    } else {
        format!("{s}{fill}")
    }
}

impl Exporter for TerminalExporter {
    fn render(&self, table: &Table) -> Result<String, ExportError> {
        let headers: Vec<String> = table.columns.iter().map(|c| c.header()).collect();
        let cells: Vec<Vec<String>> = table
            .rows
            .iter()
            .map(|r| r.iter().map(|c| c.display()).collect())
            .collect();
        let right: Vec<bool> = (0..headers.len())
            .map(|i| table.numeric_column(i))
            .collect();
        let widths: Vec<usize> = headers
            .iter()
            .enumerate()
            .map(|(i, h)| {
                cells
                    .iter()
                    .filter_map(|r| r.get(i))
                    .map(|s| s.chars().count())
                    .chain(std::iter::once(h.chars().count()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |row: &[String]| -> String {
            let parts: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(i, s)| pad(s, widths[i], right[i]))
                .collect();
            parts.join("  ").trim_end().to_string()
        };
        let mut out = format!("{}\n", table.title);
        out.push_str(&line(&headers));
        out.push('\n');
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        out.push_str(&rule.join("  "));
        out.push('\n');
        for row in &cells {
            out.push_str(&line(row));
            out.push('\n');
        }
        for n in &table.notes {
            out.push_str(&format!("  note: {n}\n"));
        }
        Ok(out)
    }

    fn render_notes(&self, notes: &[String]) -> Option<String> {
        Some(notes.iter().map(|n| format!("{n}\n")).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::tests::sample;

    #[test]
    fn aligns_and_keeps_units() {
        let s = TerminalExporter.render(&sample()).unwrap();
        insta::assert_snapshot!(s);
        // Every line of the body has the same display width up to the last
        // right-aligned column.
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[1].chars().count(), lines[2].chars().count());
    }
}
