//! End to end: `analyzer report` on the shipped sample archive (`data/sample`,
//! ten real recorder runs: lenet and bcnn at widths 1–5 on MNIST, 60
//! epochs), checked the way a reader would: every figure file is there and
//! non-empty, each SVG draws the series it should, the PNGs are PNGs, and the
//! page references nothing outside itself.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/sample")
}

fn report(out: &Path, extra: &[&str]) -> std::process::Output {
    Command::cargo_bin("analyzer")
        .unwrap()
        .arg("report")
        .arg(sample())
        .args(["--paper-criteria", "--at", "30,60", "--out"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Labels of the legend entries and series in an SVG: the text elements.
fn texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = t.split_once('>')?.1;
            Some(body.split_once("</text>")?.0.trim().to_string())
        })
        .collect()
}

#[test]
fn sample_report_has_every_figure_and_a_self_contained_page() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sample");
    let o = report(&out, &[]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("report written to"), "{stderr}");

    let figs = out.join("figures");
    let expected = [
        "power-trace",
        "efficiency-per-epoch",
        "eq3-by-criterion-dev-vm-2vcpu-mnist",
        "width-boxes-dev-vm-2vcpu-mnist",
        "efficiency-by-width-dev-vm-2vcpu-mnist",
        "accuracy-dev-vm-2vcpu-mnist",
        "overtraining-dev-vm-2vcpu-mnist",
        "platforms",
    ];
    for stem in expected {
        for ext in ["svg", "png"] {
            let p = figs.join(format!("{stem}.{ext}"));
            let len = std::fs::metadata(&p)
                .unwrap_or_else(|e| panic!("{}: {e}\n{stderr}", p.display()))
                .len();
            assert!(len > 1000, "{} is only {len} bytes", p.display());
        }
        let png = std::fs::read(figs.join(format!("{stem}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{stem}.png");
    }

    // Series: ten models per line figure, two architectures per bar figure,
    // two sources (modelled CPU and DRAM) in the trace.
    let eff = texts(&read(&figs.join("efficiency-per-epoch.svg")));
    for arch in ["lenet", "bcnn"] {
        for w in 1..=5 {
            let label = format!("{arch} ×{w}");
            assert!(eff.contains(&label), "no '{label}' in {eff:?}");
        }
    }
    let bars = texts(&read(&figs.join("eq3-by-criterion-dev-vm-2vcpu-mnist.svg")));
    // Group labels may wrap onto two lines.
    let joined = bars.join(" ");
    for l in [
        "lenet",
        "bcnn",
        "50 epochs",
        "early stopping",
        "energy bound",
        "accuracy bound",
    ] {
        assert!(joined.contains(l), "no '{l}' in {bars:?}");
    }
    let trace = texts(&read(&figs.join("power-trace.svg")));
    assert!(
        trace
            .iter()
            .any(|t| t.contains("model:cpu") && t.contains("modelled")),
        "{trace:?}"
    );

    // Drawn elements, counted by the classes the figure module writes, and
    // checked against the report's own tables: ten models; one bar per
    // (criterion, architecture) with at least one uncensored width in the
    // Eq. 3 table (the censored ones are n/a, not bars); one box per such
    // pair too; two sources and one line per epoch end; ten models in each
    // of the two overtraining panels.
    let count = |stem: &str, class: &str| {
        read(&figs.join(format!("{stem}.svg")))
            .matches(&format!("class=\"{class}"))
            .count()
    };
    let eq3_csv = std::fs::read_dir(out.join("tables/csv"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("efficiency-") && name.ends_with("-eq3.csv")
        })
        .expect("the Eq. 3 table as CSV");
    let eq3 = read(&eq3_csv);
    // A `# title` line, then the header, then one row per pair.
    let mut lines = eq3.lines().filter(|l| !l.starts_with('#'));
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let widths_col = header
        .iter()
        .position(|h| h.starts_with("widths"))
        .unwrap_or_else(|| panic!("no widths column in {header:?}"));
    let with_data = lines
        .filter(|l| l.split(',').nth(widths_col).unwrap().trim() != "0")
        .count();
    assert!(with_data > 0, "every criterion censored? {eq3}");
    assert_eq!(count("efficiency-per-epoch", "series"), 10);
    assert_eq!(
        count("eq3-by-criterion-dev-vm-2vcpu-mnist", "bar\""),
        with_data
    );
    assert_eq!(count("power-trace", "series"), 2);
    assert_eq!(count("power-trace", "vline"), 60);
    assert_eq!(count("overtraining-dev-vm-2vcpu-mnist", "series"), 20);
    assert_eq!(count("width-boxes-dev-vm-2vcpu-mnist", "box\""), with_data);

    let html = read(&out.join("index.html"));
    for bad in [
        "http://",
        "https://",
        "<script",
        "<link",
        "<iframe",
        "url(",
        "src=\"figures",
    ] {
        assert!(
            !html.contains(bad),
            "index.html references something outside: {bad}"
        );
    }
    // Every <img> is inline.
    assert_eq!(
        html.matches("<img ").count(),
        html.matches("src=\"data:image/").count()
    );
    assert!(html.matches("<img ").count() >= expected.len());
    for section in [
        "What was measured and how",
        "Overall result",
        "Per criterion",
        "Overtraining",
        "Platforms",
    ] {
        assert!(html.contains(section), "no section '{section}'");
    }
    assert!(html.contains("Modelled power."), "modelled banner");
    // Tables in every format.
    for f in [
        "efficiency.md",
        "efficiency.tex",
        "overtraining.md",
        "platforms.md",
    ] {
        assert!(out.join("tables").join(f).is_file(), "{f}");
    }
    let csvs = std::fs::read_dir(out.join("tables/csv")).unwrap().count();
    assert!(csvs >= 10, "{csvs} CSV tables");
}

#[test]
fn overtraining_at_the_paper_epochs_reports_short_runs() {
    let o = Command::cargo_bin("analyzer")
        .unwrap()
        .arg("overtraining")
        .arg(sample())
        .arg("--paper-criteria")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("not compared: recorded 60 epochs, fewer than 100"),
        "{text}"
    );
}
