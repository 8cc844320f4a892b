//! `--format latex`: booktabs tables (`\toprule`, `\midrule`,
//! `\bottomrule`), ready to `\input` into a paper. Needs `\usepackage{booktabs}`.
//! Units such as `×10⁻⁶` become math (`$\times 10^{-6}$`) rather than
//! Unicode, which many LaTeX set-ups cannot typeset.

use super::{ExportError, Exporter, Table};

/// booktabs `table` environments.
#[derive(Debug, Clone, Copy, Default)]
pub struct LatexExporter;

fn superscript(c: char) -> Option<char> {
    Some(match c {
        '⁰' => '0',
        '¹' => '1',
        '²' => '2',
        '³' => '3',
        '⁴' => '4',
        '⁵' => '5',
        '⁶' => '6',
        '⁷' => '7',
        '⁸' => '8',
        '⁹' => '9',
        '⁻' => '-',
        _ => return None,
    })
}

/// Escapes LaTeX specials and turns `×`, `—`, `–` and superscripts into
/// their LaTeX spellings.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if let Some(d) = superscript(c) {
            let mut exp = String::from(d);
            while let Some(d) = chars.peek().copied().and_then(superscript) {
                exp.push(d);
                chars.next();
            }
            out.push_str(&format!("$^{{{exp}}}$"));
            continue;
        }
        match c {
            '\\' => out.push_str("\\textbackslash{}"),
            '&' | '%' | '$' | '#' | '_' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            '~' => out.push_str("\\textasciitilde{}"),
            '^' => out.push_str("\\textasciicircum{}"),
            '×' => out.push_str("$\\times$"),
            '—' => out.push_str("---"),
            '–' => out.push_str("--"),
            '≥' => out.push_str("$\\geq$"),
            _ => out.push(c),
        }
    }
    out
}

impl Exporter for LatexExporter {
    fn render(&self, table: &Table) -> Result<String, ExportError> {
        let spec: String = (0..table.columns.len())
            .map(|i| if table.numeric_column(i) { 'r' } else { 'l' })
            .collect();
        let mut out = String::from("\\begin{table}[ht]\n\\centering\n");
        out.push_str(&format!("\\caption{{{}}}\n", escape(&table.title)));
        out.push_str(&format!("\\label{{tab:{}}}\n", escape(&table.id)));
        out.push_str(&format!("\\begin{{tabular}}{{{spec}}}\n\\toprule\n"));
        let headers: Vec<String> = table.columns.iter().map(|c| escape(&c.header())).collect();
        out.push_str(&format!("{} \\\\\n\\midrule\n", headers.join(" & ")));
        for row in &table.rows {
            let cells: Vec<String> = row.iter().map(|c| escape(&c.display())).collect();
            out.push_str(&format!("{} \\\\\n", cells.join(" & ")));
        }
        out.push_str("\\bottomrule\n\\end{tabular}\n");
        for n in &table.notes {
            out.push_str(&format!("\\par\\footnotesize {}\n", escape(n)));
        }
        out.push_str("\\end{table}\n");
        Ok(out)
    }

    fn render_notes(&self, notes: &[String]) -> Option<String> {
        Some(notes.iter().map(|n| format!("% {n}\n")).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::tests::sample;

    #[test]
    fn escapes_specials_and_units() {
        assert_eq!(escape("1/W-sum ×10⁻⁶"), "1/W-sum $\\times$10$^{-6}$");
        assert_eq!(escape("a_b & 5%"), "a\\_b \\& 5\\%");
    }

    #[test]
    fn booktabs_table() {
        let s = LatexExporter.render(&sample()).unwrap();
        assert!(s.contains("\\toprule") && s.contains("\\bottomrule"));
        assert!(s.contains("\\begin{tabular}{lrlrr}"), "{s}");
        insta::assert_snapshot!(s);
    }
}
