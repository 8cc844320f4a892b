//! The report's `index.html`: one self-contained page (styles inline,
//! figures as `data:` URIs, no script, no network) that opens from disk and
//! reads top to bottom.
//!
//! Order: what was measured and how (platforms, sources, measured or
//! modelled, warnings, a power trace), the overall result (Eq. 4, ratios,
//! Eq. 3 by criterion, efficiency per epoch), each criterion (the models
//! tables and per-width figures), accuracy curves, overtraining, platforms.

use super::plots::Section;
use super::{Analyses, FigureOut, ReportError, ReportOptions};
use crate::archive::Loaded;
use crate::export::html::{escape, HtmlExporter};
use crate::export::{Exporter, Report, Table};
use crate::figures::{ImageFormat, Rendered};
use base64::Engine as _;
use std::path::Path;

const STYLE: &str = r#"
body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: #222;
       max-width: 1180px; margin: 2em auto; padding: 0 1em; line-height: 1.45; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; }
h2 { border-bottom: 2px solid #0072B2; padding-bottom: 0.2em; margin-top: 2.2em; }
h3 { margin-top: 1.6em; }
nav ol { columns: 2; }
.meta { color: #555; font-size: 0.92em; }
.banner { background: #FFF4E0; border-left: 5px solid #D55E00; padding: 0.6em 1em; margin: 1em 0; }
ul.notes { font-size: 0.9em; color: #333; }
table { border-collapse: collapse; margin: 1em 0 0.4em; font-size: 0.86em; }
caption { text-align: left; font-weight: bold; padding-bottom: 0.3em; }
th, td { padding: 0.22em 0.6em; border-bottom: 1px solid #ddd; vertical-align: top; }
th { background: #f3f6f9; text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
p.note { font-size: 0.82em; color: #555; margin: 0.2em 0; }
figure { margin: 1.2em 0; }
figure img { width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.85em; color: #555; }
.skipped { color: #8a4b00; font-size: 0.9em; }
.scroll { overflow-x: auto; }
"#;

fn tables_html(tables: &[&Table]) -> Result<String, ReportError> {
    let mut s = String::new();
    for t in tables {
        s.push_str("<div class=\"scroll\">\n");
        s.push_str(&HtmlExporter.render(t)?);
        s.push_str("</div>\n");
    }
    Ok(s)
}

fn with_ids<'a>(r: &'a Report, ids: &[&str]) -> Vec<&'a Table> {
    r.tables
        .iter()
        .filter(|t| ids.contains(&t.id.as_str()))
        .collect()
}

/// The `<figure>` for one rendered figure, or why it was skipped.
fn figure_html(f: &FigureOut, dir: &Path, formats: &[ImageFormat]) -> Result<String, ReportError> {
    match &f.outcome {
        Rendered::Skipped { reason } => Ok(format!(
            "<p class=\"skipped\">Figure “{}” skipped: {}</p>\n",
            escape(&f.title),
            escape(reason)
        )),
        Rendered::Written { notes, .. } => {
            let (ext, mime) = if formats.contains(&ImageFormat::Svg) {
                ("svg", "image/svg+xml")
            } else {
                ("png", "image/png")
            };
            let path = dir.join("figures").join(format!("{}.{ext}", f.stem));
            let bytes = std::fs::read(&path).map_err(|source| ReportError::Write {
                path: path.clone(),
                source,
            })?;
            let data = base64::engine::general_purpose::STANDARD.encode(bytes);
            let files: Vec<String> = formats
                .iter()
                .map(|x| format!("figures/{}.{}", f.stem, x.extension()))
                .collect();
            let mut cap = format!(
                "{} <span class=\"meta\">({})</span>",
                escape(&f.title),
                escape(&files.join(", "))
            );
            for n in notes {
                cap.push_str(&format!("<br>{}", escape(n)));
            }
            Ok(format!(
                "<figure id=\"fig-{id}\"><img alt=\"{alt}\" src=\"data:{mime};base64,{data}\">\
                 <figcaption>{cap}</figcaption></figure>\n",
                id = escape(&f.stem),
                alt = escape(&f.title),
            ))
        }
    }
}

fn figures_in(
    figs: &[FigureOut],
    section: Section,
    dir: &Path,
    formats: &[ImageFormat],
) -> Result<String, ReportError> {
    let mut s = String::new();
    for f in figs.iter().filter(|f| f.section == section) {
        s.push_str(&figure_html(f, dir, formats)?);
    }
    Ok(s)
}

fn notes_html(notes: &[String]) -> String {
    if notes.is_empty() {
        return String::new();
    }
    HtmlExporter.render_notes(notes).unwrap_or_default()
}

/// The whole page. `dir` is where the figures were written.
pub fn page(
    loaded: &Loaded,
    opts: &ReportOptions,
    a: &Analyses,
    figs: &[FigureOut],
    dir: &Path,
) -> Result<String, ReportError> {
    let fmts = &opts.formats;
    let mut h = head_html(loaded, opts);
    h.push_str(&modelled_banner(a));
    h.push_str(
        "<nav><ol><li><a href=\"#measured\">What was measured and how</a></li>\
         <li><a href=\"#overall\">Overall result</a></li>\
         <li><a href=\"#criteria\">Per criterion</a></li>\
         <li><a href=\"#accuracy\">Accuracy per epoch</a></li>\
         <li><a href=\"#overtraining\">Overtraining</a></li>\
         <li><a href=\"#platforms\">Platforms</a></li></ol></nav>\n",
    );
    h.push_str(&measured_section(a, figs, dir, fmts)?);
    h.push_str(&overall_section(a, figs, dir, fmts)?);
    h.push_str(&criteria_section(a, figs, dir, fmts)?);
    h.push_str(&accuracy_section(figs, dir, fmts)?);
    h.push_str(&overtraining_section(a, figs, dir, fmts)?);
    h.push_str(&platforms_section(a, figs, dir, fmts)?);
    h.push_str(
        "<p class=\"meta\">Tables are also in tables/ (Markdown, LaTeX, one CSV per table) and \
         figures in figures/ (SVG and PNG).</p>\n</body>\n</html>\n",
    );
    Ok(h)
}

/// The document head and the page's title with its meta line (runs, platforms, provenance).
fn head_html(loaded: &Loaded, opts: &ReportOptions) -> String {
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    h.push_str("<title>trainwatt report</title>\n<style>");
    h.push_str(STYLE);
    h.push_str("</style>\n</head>\n<body>\n");
    h.push_str("<h1>Training efficiency report</h1>\n<p class=\"meta\">");
    let platforms: std::collections::BTreeSet<&str> =
        loaded.runs.iter().map(|r| r.platform()).collect();
    h.push_str(&escape(&format!(
        "{} runs on {} platform(s) ({}); {} excluded. Written by trainwatt analyzer {}.",
        loaded.runs.len(),
        platforms.len(),
        platforms.into_iter().collect::<Vec<_>>().join(", "),
        loaded.excluded.len(),
        env!("CARGO_PKG_VERSION"),
    )));
    for p in &opts.provenance {
        h.push_str(&format!("<br>{}", escape(p)));
    }
    h.push_str("</p>\n");
    h
}

/// The banner listing the efficiency notes on modelled power; empty when there are none.
fn modelled_banner(a: &Analyses) -> String {
    let mut h = String::new();
    let modelled: Vec<&String> = a
        .efficiency
        .notes
        .iter()
        .filter(|n| n.starts_with("MODELLED"))
        .collect();
    if !modelled.is_empty() {
        h.push_str("<div class=\"banner\"><strong>Modelled power.</strong> ");
        h.push_str("Some numbers below rest on modelled, not measured, power; they are estimates:");
        h.push_str("<ul>");
        for m in modelled {
            h.push_str(&format!("<li>{}</li>", escape(m)));
        }
        h.push_str("</ul></div>\n");
    }
    h
}

/// Section 1: the platform facts, the efficiency notes and the measurement figures.
fn measured_section(
    a: &Analyses,
    figs: &[FigureOut],
    dir: &Path,
    fmts: &[ImageFormat],
) -> Result<String, ReportError> {
    let mut h = String::new();
    h.push_str("<section id=\"measured\"><h2>1. What was measured and how</h2>\n");
    h.push_str(&tables_html(&with_ids(&a.platforms, &["platform-facts"]))?);
    h.push_str(&notes_html(&a.efficiency.notes));
    h.push_str(&figures_in(figs, Section::Measurement, dir, fmts)?);
    h.push_str("</section>\n");
    Ok(h)
}

/// Section 2: Eq. 4 explained, the overall, ratio and criteria tables, the overall figures.
fn overall_section(
    a: &Analyses,
    figs: &[FigureOut],
    dir: &Path,
    fmts: &[ImageFormat],
) -> Result<String, ReportError> {
    let mut h = String::new();
    h.push_str("<section id=\"overall\"><h2>2. Overall result</h2>\n");
    h.push_str(
        "<p>Eq. 4 is the mean over the stopping criteria of Eq. 3, itself the mean over widths \
         of Eq. 2 (test accuracy over the energy spent up to the criterion's stop).</p>\n",
    );
    h.push_str(&tables_html(&with_ids(
        &a.efficiency,
        &["overall", "ratios", "criteria"],
    ))?);
    h.push_str(&figures_in(figs, Section::Overall, dir, fmts)?);
    h.push_str("</section>\n");
    Ok(h)
}

/// Section 3: the Eq. 3 tables, the per-criterion figures, then the models tables.
fn criteria_section(
    a: &Analyses,
    figs: &[FigureOut],
    dir: &Path,
    fmts: &[ImageFormat],
) -> Result<String, ReportError> {
    let mut h = String::new();
    h.push_str("<section id=\"criteria\"><h2>3. Per criterion</h2>\n");
    h.push_str(&tables_html(&with_ids(&a.efficiency, &["eq3"]))?);
    h.push_str(&figures_in(figs, Section::Criteria, dir, fmts)?);
    h.push_str(&tables_html(&with_ids(&a.efficiency, &["models"]))?);
    h.push_str("</section>\n");
    Ok(h)
}

/// Section 4: the accuracy-per-epoch figures.
fn accuracy_section(
    figs: &[FigureOut],
    dir: &Path,
    fmts: &[ImageFormat],
) -> Result<String, ReportError> {
    let mut h = String::new();
    h.push_str("<section id=\"accuracy\"><h2>4. Accuracy per epoch</h2>\n");
    h.push_str(&figures_in(figs, Section::Accuracy, dir, fmts)?);
    h.push_str("</section>\n");
    Ok(h)
}

/// Section 5: overtraining notes not already in section 1, its tables and figures.
fn overtraining_section(
    a: &Analyses,
    figs: &[FigureOut],
    dir: &Path,
    fmts: &[ImageFormat],
) -> Result<String, ReportError> {
    let mut h = String::new();
    h.push_str("<section id=\"overtraining\"><h2>5. Overtraining</h2>\n");
    let ot: Vec<&String> = a
        .overtraining
        .notes
        .iter()
        .filter(|n| !a.efficiency.notes.contains(n))
        .collect();
    h.push_str(&notes_html(&ot.into_iter().cloned().collect::<Vec<_>>()));
    let ot_tables: Vec<&Table> = a.overtraining.tables.iter().collect();
    h.push_str(&tables_html(&ot_tables)?);
    h.push_str(&figures_in(figs, Section::Overtraining, dir, fmts)?);
    h.push_str("</section>\n");
    Ok(h)
}

/// Section 6: platform notes and tables not shown earlier, and the platform figures.
fn platforms_section(
    a: &Analyses,
    figs: &[FigureOut],
    dir: &Path,
    fmts: &[ImageFormat],
) -> Result<String, ReportError> {
    let mut h = String::new();
    h.push_str("<section id=\"platforms\"><h2>6. Platforms</h2>\n");
    let pn: Vec<String> = a
        .platforms
        .notes
        .iter()
        .filter(|n| !a.efficiency.notes.contains(n))
        .cloned()
        .collect();
    h.push_str(&notes_html(&pn));
    let pt: Vec<&Table> = a
        .platforms
        .tables
        .iter()
        .filter(|t| t.id != "platform-facts" && t.id != "ratios")
        .collect();
    h.push_str(&tables_html(&pt)?);
    h.push_str(&figures_in(figs, Section::Platforms, dir, fmts)?);
    h.push_str("</section>\n");
    Ok(h)
}
