//! `recorder sources`: what can be measured here, what cannot, and the fix.

use super::common::{Format, SourceArgs};
use anyhow::Result;
use clap::Args;
use std::io::Write;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct SourcesArgs {
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    #[command(flatten)]
    pub sources: SourceArgs,
}

pub fn run(args: &SourcesArgs) -> Result<ExitCode> {
    let found = sources_report(&args.sources);
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &found)?;
            writeln!(out)?;
        }
        Format::Table => write_table(&mut out, &found)?,
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, serde::Serialize)]
struct Report {
    usable: Vec<trainwatt_trace::SourceInfo>,
    unavailable: Vec<crate::sources::Unavailable>,
}

fn sources_report(args: &SourceArgs) -> Report {
    let d = crate::sources::discover(&args.discover_options());
    // The rates a recording with the default `--rate` would read them at.
    let infos: Vec<_> = d.sources.iter().map(|s| s.info()).collect();
    let updates: Vec<_> = d.sources.iter().map(|s| s.update_rate()).collect();
    let plan = crate::rates::RatePlan::new(&infos, &updates, &Default::default());
    Report {
        usable: crate::recording::source_entries(infos, &updates, &plan),
        unavailable: d.unavailable,
    }
}

fn write_table(out: &mut impl Write, r: &Report) -> std::io::Result<()> {
    writeln!(out, "Usable power sources:")?;
    if r.usable.is_empty() {
        writeln!(out, "  (none)")?;
    } else {
        let w = r
            .usable
            .iter()
            .map(|s| s.id.len())
            .max()
            .unwrap_or(2)
            .max(2);
        writeln!(
            out,
            "  {:<w$}  {:<11}  {:<16}  {:>8}  description",
            "id", "domain", "method", "read Hz"
        )?;
        for s in &r.usable {
            let domain = serde_json::to_value(s.domain).unwrap_or_default();
            let method = serde_json::to_value(s.method).unwrap_or_default();
            writeln!(
                out,
                "  {:<w$}  {:<11}  {:<16}  {:>8.1}  {}",
                s.id,
                domain.as_str().unwrap_or("?"),
                method.as_str().unwrap_or("?"),
                s.poll_hz,
                s.description
            )?;
        }
        if r.usable.iter().any(|s| s.method.is_modelled()) {
            writeln!(
                out,
                "  note: modelled sources are estimates (utilisation × watts), not measurements;\n        every output that uses them says so."
            )?;
        }
    }
    writeln!(out, "\nNot usable here:")?;
    if r.unavailable.is_empty() {
        writeln!(out, "  (none)")?;
    }
    for u in &r.unavailable {
        writeln!(out, "  {}: {}", u.name, u.reason)?;
        if let Some(fix) = &u.fix {
            writeln!(out, "    fix: {fix}")?;
        }
    }
    Ok(())
}
