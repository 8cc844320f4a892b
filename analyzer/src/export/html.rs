//! `--format html`: each table as an HTML `<table>` fragment with its title
//! as a `<caption>` and its notes in a `<p class="note">`; numbers are
//! right-aligned (`class="num"`). `analyzer report` builds its page from
//! these fragments, and the fragments paste into any HTML document.

use super::{ExportError, Exporter, Table};

/// HTML fragments.
#[derive(Debug, Clone, Copy, Default)]
pub struct HtmlExporter;

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

impl Exporter for HtmlExporter {
    fn render(&self, table: &Table) -> Result<String, ExportError> {
        let numeric: Vec<bool> = (0..table.columns.len())
            .map(|i| table.numeric_column(i))
            .collect();
        let class = |i: usize| if numeric[i] { " class=\"num\"" } else { "" };
        let mut out = format!(
            "<table data-id=\"{}\">\n<caption>{}</caption>\n<thead><tr>",
            escape(&table.id),
            escape(&table.title)
        );
        for (i, c) in table.columns.iter().enumerate() {
            out.push_str(&format!("<th{}>{}</th>", class(i), escape(&c.header())));
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        for row in &table.rows {
            out.push_str("<tr>");
            for (i, cell) in row.iter().enumerate() {
                out.push_str(&format!("<td{}>{}</td>", class(i), escape(&cell.display())));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody>\n</table>\n");
        for n in &table.notes {
            out.push_str(&format!("<p class=\"note\">{}</p>\n", escape(n)));
        }
        Ok(out)
    }

    fn render_notes(&self, notes: &[String]) -> Option<String> {
        let items: String = notes
            .iter()
            .map(|n| format!("<li>{}</li>\n", escape(n)))
            .collect();
        Some(format!("<ul class=\"notes\">\n{items}</ul>\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::tests::sample;

    #[test]
    fn table_fragment_is_escaped_and_aligned() {
        let mut t = sample();
        t.rows[0][0] = crate::export::Cell::text("<lenet & co>");
        let s = HtmlExporter.render(&t).unwrap();
        assert!(s.contains("<td>&lt;lenet &amp; co&gt;</td>"), "{s}");
        assert!(s.contains("<th class=\"num\">width</th>"), "{s}");
        assert!(s.contains("<td class=\"num\">12.83</td>"), "{s}");
        assert!(s.contains("<td>not reached by epoch 100</td>"), "{s}");
        assert!(
            s.contains("<caption>Models under &#39;early stopping&#39;"),
            "{s}"
        );
        assert!(s.contains("<p class=\"note\">censored models"), "{s}");
        assert_eq!(s.matches("<tr>").count(), 3);
    }
}
