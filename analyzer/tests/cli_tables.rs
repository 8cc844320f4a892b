//! The real `analyzer` binary on small rows files: every output format,
//! error messages, and exit codes.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use assert_cmd::Command;
use std::io::Write;

const ROWS: &str = "\
dataset,criterion,arch,width,epochs,acc,energy_kj,platform
mnist,e50,lenet,1,50,0.99,2,a100
mnist,e50,lenet,2,50,0.99,4,a100
mnist,e50,bcnn,1,50,0.90,9,a100
mnist,e50,bcnn,2,>100,,,a100
mnist,e50,lenet,1,50,0.99,4,mi250
mnist,e50,lenet,2,50,0.99,8,mi250
";

fn rows_file() -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
    f.write_all(ROWS.as_bytes()).unwrap();
    f
}

fn analyzer() -> Command {
    Command::cargo_bin("analyzer").unwrap()
}

fn run_ok(args: &[&str], f: &tempfile::NamedTempFile) -> String {
    let out = analyzer()
        .args(["tables", "--rows"])
        .arg(f.path())
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn json_has_stable_fields_full_precision_and_platforms_apart() {
    let f = rows_file();
    let s = run_ok(&["--format", "json"], &f);
    let v: serde_json::Value = serde_json::from_str(&s).unwrap();
    assert_eq!(v["format"], "trainwatt-report");
    let tables = v["tables"].as_array().unwrap();
    let criteria = tables.iter().find(|t| t["id"] == "criteria").unwrap();
    let rows = criteria["rows"].as_array().unwrap();
    // a100 lenet: (0.99/2 + 0.99/4)/2 per kJ; mi250 lenet: half of it.
    let a100 = rows
        .iter()
        .find(|r| r["platform"] == "a100" && r["arch"] == "lenet")
        .unwrap();
    let mi250 = rows
        .iter()
        .find(|r| r["platform"] == "mi250" && r["arch"] == "lenet")
        .unwrap();
    let a = a100["eq4"].as_f64().unwrap();
    assert!((a - 0.37125).abs() < 1e-12, "{a}");
    assert!((mi250["eq4"].as_f64().unwrap() - a / 2.0).abs() < 1e-12);
    assert_eq!(criteria["columns"][4]["key"], "eq4");
    assert_eq!(criteria["columns"][4]["unit"], "acc/kJ");
    let plat = tables.iter().find(|t| t["id"] == "platforms").unwrap();
    assert_eq!(plat["rows"][0]["ratio"], "a100/mi250");
    assert!((plat["rows"][0]["value"].as_f64().unwrap() - 2.0).abs() < 1e-12);
    assert!(v["notes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n.as_str().unwrap().contains("joules")));
}

#[test]
fn every_text_format_renders_with_units() {
    let f = rows_file();
    let t = run_ok(&[], &f);
    assert!(
        t.contains("Eq. 4 (acc/kJ)") && t.contains("not reached by epoch 100"),
        "{t}"
    );
    assert!(t.contains("energy unit: joules"), "{t}");
    let md = run_ok(&["--format", "markdown", "--only", "overall"], &f);
    assert!(
        md.starts_with("- source:")
            && md.contains("### Eq. 4 and ratios (Table 12) — platform a100"),
        "{md}"
    );
    assert!(md.contains("| lenet/bcnn |"), "{md}");
    let tex = run_ok(&["--format", "latex", "--only", "criteria"], &f);
    assert!(
        tex.contains("\\toprule") && tex.contains("Eq. 4 (acc/kJ)"),
        "{tex}"
    );
    let csv = run_ok(&["--format", "csv", "--only", "ratios"], &f);
    assert_eq!(
        csv.lines().next(),
        Some("platform,ratio,compares,within,Eq. 4 ratio (unitless)")
    );
    assert!(csv.contains("a100,lenet/bcnn,arch,mnist,"), "{csv}");
}

#[test]
fn errors_are_one_line_with_context_and_exit_1() {
    let out = analyzer()
        .args(["tables", "--rows", "/nonexistent/rows.csv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: cannot use the rows file: cannot read /nonexistent/rows.csv: "),
        "{err}"
    );

    let f = rows_file();
    let out = analyzer()
        .args(["tables", "--rows"])
        .arg(f.path())
        .args(["--only", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("no table 'nope'") && err.contains("criteria"),
        "{err}"
    );

    let out = analyzer()
        .args(["efficiency", "x", "--criterion", "early-stopping:"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "usage errors exit 2 (clap)");
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid criterion at character"));
}

#[test]
fn published_column_or_recompute() {
    let mut f = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
    f.write_all(b"dataset,criterion,arch,width,epochs,acc,energy,eff\nm,c,a,1,5,0.5,2,0.3\n")
        .unwrap();
    let json = |extra: &[&str]| -> f64 {
        let mut args = vec![
            "--format",
            "json",
            "--only",
            "models",
            "--energy-unit",
            "kJ",
        ];
        args.extend_from_slice(extra);
        let v: serde_json::Value = serde_json::from_str(&run_ok(&args, &f)).unwrap();
        v["tables"][0]["rows"][0]["eff_eq2"].as_f64().unwrap()
    };
    assert!(
        (json(&[]) - 0.3).abs() < 1e-12,
        "auto uses the published column"
    );
    assert!((json(&["--eff", "recompute"]) - 0.25).abs() < 1e-12);
    let out = analyzer()
        .args(["tables", "--rows"])
        .arg(f.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--energy-unit"));
}
