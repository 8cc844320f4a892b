//! `analyzer report`: every table (Markdown, CSV, LaTeX) and figure (SVG,
//! PNG) of an archive, plus one self-contained `index.html` that reads top
//! to bottom: what was measured and how, the overall result, each
//! criterion, accuracy curves, overtraining, platforms.
//!
//! Layout of `--out DIR`:
//! ```text
//! DIR/index.html            the page (figures inline, no network)
//! DIR/tables/*.md|*.tex     one file per analysis (efficiency, overtraining, platforms)
//! DIR/tables/csv/*.csv      one clean CSV per table
//! DIR/figures/*.svg|*.png   one pair per figure
//! ```
//! Files are written into `DIR/.report.tmp` and moved into place at the
//! end, so an interrupted report never leaves a half-written folder that
//! looks complete.

pub mod html;
pub mod plots;
pub mod plots_summary;

use crate::archive::trace::power_envelope;
use crate::archive::Loaded;
use crate::cmd::efficiency::{self, EfficiencyOptions};
use crate::cmd::epochs;
use crate::cmd::overtraining::{self, OvertrainingOptions};
use crate::cmd::platforms::{self, PlatformsOptions};
use crate::export::{CsvExporter, Exporter, LatexExporter, MarkdownExporter, Report};
use crate::figures::{self, ImageFormat, Rendered};
use crate::metrics::summary::summarise;
use crate::replay::{replay_models, EnergyBasis};
use plots::{Named, Section};
use std::path::{Path, PathBuf};

/// What `report` draws and how.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    pub efficiency: EfficiencyOptions,
    pub overtraining: OvertrainingOptions,
    pub platforms: PlatformsOptions,
    /// Log-scale efficiency axes in the per-epoch figure.
    pub log_y: bool,
    /// The run whose power trace is drawn: a run id or a part of its
    /// folder path [default: the first run].
    pub trace_run: Option<String>,
    pub formats: Vec<ImageFormat>,
    /// Shown at the top of the page (the archive paths, …).
    pub provenance: Vec<String>,
}

/// Errors that stop a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Figure(#[from] figures::FigureError),
    #[error(transparent)]
    Export(#[from] crate::export::ExportError),
    #[error("{0}")]
    Analysis(String),
}

/// One figure as the page needs it.
#[derive(Debug, Clone)]
pub struct FigureOut {
    pub stem: String,
    pub section: Section,
    pub title: String,
    pub outcome: Rendered,
}

/// Everything a report produced.
#[derive(Debug, Clone)]
pub struct Written {
    pub dir: PathBuf,
    pub files: Vec<PathBuf>,
    pub figures: Vec<FigureOut>,
}

fn write(path: &Path, text: &str) -> Result<(), ReportError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| ReportError::Write {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    std::fs::write(path, text).map_err(|source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// The analyses' reports, by name, in page order.
#[derive(Debug, Clone)]
pub struct Analyses {
    pub efficiency: Report,
    pub overtraining: Report,
    pub platforms: Report,
    pub epochs: Report,
}

/// Writes one analysis as Markdown, LaTeX and one CSV per table.
fn write_tables(dir: &Path, name: &str, report: &Report) -> Result<Vec<PathBuf>, ReportError> {
    let mut files = Vec::new();
    let md = dir.join("tables").join(format!("{name}.md"));
    write(&md, &MarkdownExporter.render_report(report)?)?;
    files.push(md);
    let tex = dir.join("tables").join(format!("{name}.tex"));
    write(&tex, &LatexExporter.render_report(report)?)?;
    files.push(tex);
    for (i, t) in report.tables.iter().enumerate() {
        let csv = dir
            .join("tables")
            .join("csv")
            .join(format!("{name}-{:02}-{}.csv", i + 1, t.id));
        write(&csv, &CsvExporter::default().render(t)?)?;
        files.push(csv);
    }
    Ok(files)
}

fn figure_title(f: &figures::Figure) -> String {
    match f {
        figures::Figure::Lines(x) => x.title.clone(),
        figures::Figure::Bars(x) => x.title.clone(),
        figures::Figure::Boxes(x) => x.title.clone(),
        figures::Figure::Trace(x) => x.title.clone(),
    }
}

/// The figure descriptions for an archive, and figures that cannot be
/// drawn with the reason.
fn describe_figures(
    loaded: &Loaded,
    opts: &ReportOptions,
) -> Result<(Vec<Named>, Vec<FigureOut>), ReportError> {
    let mut named = Vec::new();
    let mut skipped = Vec::new();
    let run = match &opts.trace_run {
        Some(want) => Some(
            loaded
                .runs
                .iter()
                .find(|r| {
                    r.manifest.run_id == *want || r.dir.to_string_lossy().contains(want.as_str())
                })
                .ok_or_else(|| {
                    ReportError::Analysis(format!(
                        "--trace-run {want}: no loaded run has that id or path"
                    ))
                })?,
        ),
        None => loaded.runs.first(),
    };
    if let Some(run) = run {
        match power_envelope(&run.dir, 1600) {
            Ok(envelope) => named.push(plots::power_trace(run, &envelope)),
            Err(reason) => skipped.push(FigureOut {
                stem: "power-trace".into(),
                section: Section::Measurement,
                title: format!("Power of run {}", run.manifest.run_id),
                outcome: Rendered::Skipped { reason },
            }),
        }
    }
    let curves = crate::curves::curves(&loaded.runs);
    named.extend(plots::efficiency_per_epoch(&curves, opts.log_y));
    let specs = &opts.efficiency.criteria;
    let labels: Vec<String> = specs.iter().map(|c| c.label.clone()).collect();
    let replayed = replay_models(&loaded.runs, specs, EnergyBasis::Gross);
    let summary = summarise(&replayed.results, &labels, opts.efficiency.boot);
    named.extend(plots_summary::eq3_by_criterion(&summary));
    named.extend(plots_summary::width_figures(&replayed.results, &labels));
    named.extend(plots::accuracy_per_epoch(&curves, &replayed.results));
    let ot = overtraining::analyse(&loaded.runs, &opts.overtraining);
    named.extend(plots::overtraining(
        &ot,
        opts.overtraining.at_a,
        opts.overtraining.at_b,
    ));
    let pa = platforms::analyse(loaded, &opts.platforms).map_err(ReportError::Analysis)?;
    named.extend(plots_summary::platform_bars(&pa));
    named.sort_by_key(|n| n.section);
    Ok((named, skipped))
}

/// Computes the analyses' tables.
pub fn analyses(loaded: &Loaded, opts: &ReportOptions) -> Result<Analyses, ReportError> {
    let mut eff = efficiency::report(loaded, &opts.efficiency);
    // The platform comparison has its own section and tables.
    eff.tables.retain(|t| t.id != "platforms");
    Ok(Analyses {
        efficiency: eff,
        overtraining: overtraining::report(loaded, &opts.overtraining),
        platforms: platforms::report(loaded, &opts.platforms).map_err(ReportError::Analysis)?,
        epochs: epochs::report(loaded, false),
    })
}

/// Marks a folder as a report, so that only reports are ever replaced.
pub const MARKER: &str = ".trainwatt-report";

/// `out` may be replaced when it does not exist, is empty, or is an
/// earlier report; anything else is refused (a typo in `--out` must not
/// delete a user's folder).
fn check_replaceable(out: &Path) -> Result<(), ReportError> {
    if !out.exists() || out.join(MARKER).is_file() {
        return Ok(());
    }
    let empty = std::fs::read_dir(out)
        .map(|mut d| d.next().is_none())
        .unwrap_or(false);
    if empty {
        return Ok(());
    }
    Err(ReportError::Analysis(format!(
        "refusing to replace {}: it exists and is not a report written by `analyzer report` \
         (no {MARKER} in it); choose a new or empty folder",
        out.display()
    )))
}

/// Writes the report into `out`, calling `progress(message, done, total)`
/// as it goes. An existing `out` is replaced only once the new report is
/// complete.
pub fn write_report(
    loaded: &Loaded,
    opts: &ReportOptions,
    out: &Path,
    progress: &mut dyn FnMut(&str, usize, usize),
) -> Result<Written, ReportError> {
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report".into());
    let tmp = parent.join(format!(".{name}.report.tmp"));
    check_replaceable(out)?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ReportError::Write { path, source }
    };
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;

    // A failure (a full disk, a figure that cannot be drawn) removes the
    // staging folder: a failed report leaves nothing behind.
    let (files, figs) = match fill(&tmp, loaded, opts, progress) {
        Ok(done) => done,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    // Swap into place: the old report (if any) goes only now.
    if out.exists() {
        std::fs::remove_dir_all(out).map_err(io(out))?;
    }
    if let Err(e) = std::fs::rename(&tmp, out) {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(io(out)(e));
    }
    let files = files
        .into_iter()
        .filter_map(|f| f.strip_prefix(&tmp).ok().map(|r| out.join(r)))
        .collect();
    Ok(Written {
        dir: out.to_path_buf(),
        files,
        figures: figs,
    })
}

/// Writes every table, figure and the page into the staging folder `tmp`.
fn fill(
    tmp: &Path,
    loaded: &Loaded,
    opts: &ReportOptions,
    progress: &mut dyn FnMut(&str, usize, usize),
) -> Result<(Vec<PathBuf>, Vec<FigureOut>), ReportError> {
    progress("analysing", 0, 1);
    let a = analyses(loaded, opts)?;
    let (named, mut figs) = describe_figures(loaded, opts)?;
    let total = 4 + named.len() + 1;
    let mut done = 0;
    let mut files = Vec::new();
    for (label, report) in [
        ("efficiency", &a.efficiency),
        ("overtraining", &a.overtraining),
        ("platforms", &a.platforms),
        ("epochs", &a.epochs),
    ] {
        progress(&format!("tables: {label}"), done, total);
        files.extend(write_tables(tmp, label, report)?);
        done += 1;
    }
    for n in named {
        progress(&format!("figure: {}", n.stem), done, total);
        let stem = tmp.join("figures").join(&n.stem);
        let outcome = figures::render(&n.figure, &stem, &opts.formats)?;
        if let Rendered::Written { files: f, .. } = &outcome {
            files.extend(f.iter().cloned());
        }
        figs.push(FigureOut {
            stem: n.stem,
            section: n.section,
            title: figure_title(&n.figure),
            outcome,
        });
        done += 1;
    }
    progress("index.html", done, total);
    let page = html::page(loaded, opts, &a, &figs, tmp)?;
    let index = tmp.join("index.html");
    write(&index, &page)?;
    files.push(index);
    progress("done", total, total);

    write(
        &tmp.join(MARKER),
        "written by trainwatt's analyzer report\n",
    )?;
    Ok((files, figs))
}

#[cfg(test)]
mod tests;
