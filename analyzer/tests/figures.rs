//! The figures module through its public API: every kind writes a non-empty
//! SVG and PNG, the SVG holds one tagged element per series (bar, box,
//! marker, epoch line) and every legend label, the PNG has the SVG's size
//! times the PNG scale, and degenerate archives (one epoch, one
//! architecture, one width, no data) render or are skipped with a reason.
//!
//! Set `TRAINWATT_FIGURE_SAMPLES=/some/dir` to also keep the samples there
//! for looking at.

use analyzer::figures::{
    minmax_downsample, render, BarSeries, BoxPlots, BoxSeries, Figure, FigureError, GroupedBars,
    ImageFormat, LinePanels, Marker, Panel, PowerTrace, Rendered, Series, TraceSource,
};
use std::path::{Path, PathBuf};

const MODELS: [&str; 3] = ["ResNet-18 w=16", "ResNet-18 w=32", "VGG-11 w=16"];

/// Efficiency per epoch: one panel per dataset and platform, one line per
/// model (the paper's Figures 5 and 6).
fn efficiency_per_epoch(epochs: usize, log_y: bool) -> Figure {
    let panel = |title: &str, scale: f64| Panel {
        title: title.to_string(),
        x_label: "epoch".to_string(),
        y_label: "efficiency (accuracy/kJ)".to_string(),
        log_y,
        series: MODELS
            .iter()
            .enumerate()
            .map(|(m, label)| Series {
                label: (*label).to_string(),
                points: (1..=epochs)
                    .map(|e| {
                        let e = e as f64;
                        (e, scale * (0.9 - 0.5 / e) / (e * (1.0 + m as f64 * 0.7)))
                    })
                    .collect(),
                ..Series::default()
            })
            .collect(),
        ..Panel::default()
    };
    Figure::Lines(LinePanels {
        title: "Training efficiency per epoch (Eq. 2)".to_string(),
        notes: vec!["energy: counter, GPU + CPU + DRAM".to_string()],
        panels: vec![
            panel("CIFAR-10, H200", 1.0),
            panel("CIFAR-10, Jetson", 6.0),
            panel("MNIST, H200", 2.0),
            panel("MNIST, Jetson", 12.0),
        ],
        ..LinePanels::default()
    })
}

/// Train and test accuracy per epoch, one panel per model, stop epochs of
/// three criteria marked on the test line.
fn accuracy_with_stops(epochs: usize) -> Figure {
    let criteria = [
        ("fixed", epochs),
        ("patience-3", epochs.min(7)),
        ("threshold 0.8", epochs.min(4)),
    ];
    let panels = MODELS[..2]
        .iter()
        .enumerate()
        .map(|(m, model)| {
            let acc = |e: f64, top: f64| top * (1.0 - (-(e + m as f64) / 3.0).exp());
            let curve = |top: f64| {
                (1..=epochs)
                    .map(|e| (e as f64, acc(e as f64, top)))
                    .collect::<Vec<_>>()
            };
            Panel {
                title: (*model).to_string(),
                x_label: "epoch".to_string(),
                y_label: "accuracy (fraction)".to_string(),
                series: vec![
                    Series {
                        label: "train accuracy".to_string(),
                        points: curve(0.99),
                        ..Series::default()
                    },
                    Series {
                        label: "test accuracy".to_string(),
                        points: curve(0.9),
                        dashed: true,
                        markers: criteria
                            .iter()
                            .map(|(c, e)| Marker {
                                x: *e as f64,
                                y: acc(*e as f64, 0.9),
                                label: format!("stop: {c}"),
                            })
                            .collect(),
                        ..Series::default()
                    },
                ],
                ..Panel::default()
            }
        })
        .collect();
    Figure::Lines(LinePanels {
        title: "Accuracy per epoch and where each criterion stops".to_string(),
        panels,
        ..LinePanels::default()
    })
}

/// Eq. 3 by criterion, one bar per architecture.
fn eq3_by_criterion(architectures: &[&str]) -> Figure {
    let groups = vec![
        "fixed".to_string(),
        "patience-3".to_string(),
        "threshold 0.8".to_string(),
        "loss plateau (δ = 0.001)".to_string(),
    ];
    Figure::Bars(GroupedBars {
        title: "Eq. 3 by criterion".to_string(),
        x_label: "stopping criterion".to_string(),
        y_label: "Eq. 3 (accuracy/kJ)".to_string(),
        bars: architectures
            .iter()
            .enumerate()
            .map(|(a, label)| BarSeries {
                label: (*label).to_string(),
                values: (0..groups.len())
                    .map(|g| {
                        if a == 1 && g == 2 {
                            None
                        } else {
                            Some(1.0 + g as f64 * 0.4 + a as f64)
                        }
                    })
                    .collect(),
                intervals: vec![],
            })
            .collect(),
        groups,
        ..GroupedBars::default()
    })
}

/// Platform comparison with intervals.
fn platforms() -> Figure {
    Figure::Bars(GroupedBars {
        title: "Eq. 4 per platform, 95 % bootstrap intervals".to_string(),
        x_label: "model".to_string(),
        y_label: "Eq. 4 (accuracy/kJ)".to_string(),
        groups: MODELS.iter().map(|m| (*m).to_string()).collect(),
        bars: ["H200", "Jetson Orin"]
            .iter()
            .enumerate()
            .map(|(p, label)| BarSeries {
                label: (*label).to_string(),
                values: (0..3)
                    .map(|m| Some(2.0 + m as f64 + 3.0 * p as f64))
                    .collect(),
                intervals: (0..3)
                    .map(|m| {
                        Some((
                            1.5 + m as f64 + 3.0 * p as f64,
                            2.6 + m as f64 + 3.0 * p as f64,
                        ))
                    })
                    .collect(),
            })
            .collect(),
        ..GroupedBars::default()
    })
}

/// Per-width efficiencies per criterion (groups) and architecture (boxes).
fn boxes(widths: usize) -> Figure {
    let groups: Vec<String> = ["fixed", "patience-3", "threshold 0.8"]
        .iter()
        .map(|s| (*s).to_string())
        .collect();
    Figure::Boxes(BoxPlots {
        title: "Efficiency over widths".to_string(),
        x_label: "stopping criterion".to_string(),
        y_label: "efficiency (accuracy/kJ)".to_string(),
        series: ["ResNet-18", "VGG-11"]
            .iter()
            .enumerate()
            .map(|(a, label)| BoxSeries {
                label: (*label).to_string(),
                samples: (0..groups.len())
                    .map(|g| {
                        (0..widths)
                            .map(|w| 1.0 + a as f64 + g as f64 * 0.3 + (w as f64 * 0.37).sin())
                            .collect()
                    })
                    .collect(),
            })
            .collect(),
        groups,
        ..BoxPlots::default()
    })
}

/// Overtraining as a slope chart: test accuracy and train−test gap at the
/// stop epoch and at the last epoch, one line per model.
fn overtraining() -> Figure {
    let slope = |y: &dyn Fn(usize) -> (f64, f64)| -> Vec<Series> {
        MODELS
            .iter()
            .enumerate()
            .map(|(m, label)| {
                let (a, b) = y(m);
                Series {
                    label: (*label).to_string(),
                    points: vec![(8.0 + m as f64, a), (30.0, b)],
                    dots: true,
                    ..Series::default()
                }
            })
            .collect()
    };
    let panel = |title: &str, y_label: &str, series| Panel {
        title: title.to_string(),
        x_label: "epoch (stop → last)".to_string(),
        y_label: y_label.to_string(),
        series,
        ..Panel::default()
    };
    Figure::Lines(LinePanels {
        title: "Overtraining: stop epoch against last epoch".to_string(),
        panels: vec![
            panel(
                "test accuracy",
                "accuracy (fraction)",
                slope(&|m| (0.86 + 0.01 * m as f64, 0.87 - 0.01 * m as f64)),
            ),
            panel(
                "train−test gap",
                "gap (accuracy points)",
                slope(&|m| (0.03 + 0.01 * m as f64, 0.11 + 0.02 * m as f64)),
            ),
        ],
        ..LinePanels::default()
    })
}

/// A 10 Hz trace of 10 minutes (6 000 points per source), three epochs.
fn power_trace(samples: usize) -> Figure {
    let src = |label: &str, modelled: bool, base: f64| TraceSource {
        label: label.to_string(),
        modelled,
        points: (0..samples)
            .map(|i| {
                let t = i as f64 * 0.1;
                let spike = if i % 997 == 0 { 120.0 } else { 0.0 };
                (t, base + 25.0 * (t / 7.0).sin() + spike)
            })
            .collect(),
    };
    let end = samples as f64 * 0.1;
    Figure::Trace(PowerTrace {
        title: "Power trace, ResNet-18 w=16, seed 0".to_string(),
        sources: vec![
            src("gpu0", false, 250.0),
            src("cpu (RAPL)", false, 80.0),
            src("dram", true, 15.0),
        ],
        epoch_boundaries_s: vec![end / 3.0, 2.0 * end / 3.0],
        ..PowerTrace::default()
    })
}

/// One SVG and one PNG rendered into a fresh folder.
struct Out {
    _dir: tempfile::TempDir,
    svg: String,
    png: Vec<u8>,
    notes: Vec<String>,
}

fn draw(name: &str, figure: &Figure) -> Out {
    let dir = tempfile::tempdir().expect("tempdir");
    let stem = dir.path().join("sub").join(name);
    let rendered = render(figure, &stem, &ImageFormat::ALL).expect("render");
    let Rendered::Written { files, notes } = rendered else {
        panic!("{name} skipped: {rendered:?}");
    };
    assert_eq!(
        files,
        vec![stem.with_extension("svg"), stem.with_extension("png")]
    );
    if let Ok(keep) = std::env::var("TRAINWATT_FIGURE_SAMPLES") {
        std::fs::create_dir_all(&keep).expect("sample folder");
        for f in &files {
            let to = PathBuf::from(&keep).join(f.file_name().expect("file name"));
            std::fs::copy(f, to).expect("copy sample");
        }
    }
    let svg = std::fs::read_to_string(&files[0]).expect("svg");
    let png = std::fs::read(&files[1]).expect("png");
    assert!(
        svg.len() > 1000 && png.len() > 1000,
        "{name}: files too small"
    );
    check_png(name, &svg, &png);
    Out {
        _dir: dir,
        svg,
        png,
        notes,
    }
}

fn svg_size(svg: &str) -> (u32, u32) {
    let attr = |name: &str| -> u32 {
        let at = svg.find(&format!("{name}=\"")).expect("size attribute") + name.len() + 2;
        svg[at..]
            .split('"')
            .next()
            .and_then(|v| v.parse().ok())
            .expect("number")
    };
    (attr("width"), attr("height"))
}

/// A valid PNG (signature, IHDR first, IEND last) at twice the SVG size.
fn check_png(name: &str, svg: &str, png: &[u8]) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{name}: PNG signature");
    assert_eq!(&png[12..16], b"IHDR", "{name}: IHDR first");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let (w, h) = svg_size(svg);
    assert_eq!(
        (be(&png[16..20]), be(&png[20..24])),
        (2 * w, 2 * h),
        "{name}: PNG size"
    );
    assert_eq!(
        &png[png.len() - 8..png.len() - 4],
        b"IEND",
        "{name}: IEND last"
    );
}

fn count(svg: &str, needle: &str) -> usize {
    svg.matches(needle).count()
}

fn texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            t.split_once('>').map(|(_, rest)| {
                rest.split("</text>")
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_string()
            })
        })
        .collect()
}

fn assert_labels(name: &str, svg: &str, labels: &[&str]) {
    let texts = texts(svg);
    for l in labels {
        let escaped = l
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        assert!(
            texts.contains(&escaped),
            "{name}: text {l:?} missing from {texts:?}"
        );
    }
}

#[test]
fn efficiency_per_epoch_has_one_line_per_model_and_panel() {
    let out = draw("eff_per_epoch", &efficiency_per_epoch(30, false));
    assert_eq!(count(&out.svg, r#"class="series""#), 4 * MODELS.len());
    let mut labels: Vec<&str> = MODELS.to_vec();
    labels.extend([
        "CIFAR-10, H200",
        "MNIST, Jetson",
        "epoch",
        "efficiency (accuracy/kJ)",
        "Training efficiency per epoch (Eq. 2)",
    ]);
    assert_labels("eff", &out.svg, &labels);
    assert!(out.notes.is_empty());
}

#[test]
fn log_scale_leaves_out_non_positive_values_and_says_so() {
    let Figure::Lines(mut fig) = efficiency_per_epoch(12, true) else {
        unreachable!()
    };
    fig.panels[0].series[0].points[3].1 = 0.0;
    let out = draw("eff_log", &Figure::Lines(fig.clone()));
    // The zero breaks one line into two pieces.
    assert_eq!(count(&out.svg, r#"class="series""#), 4 * MODELS.len() + 1);
    assert!(
        out.notes.iter().any(|n| n.contains("≤ 0")),
        "{:?}",
        out.notes
    );
    assert!(out.svg.contains("left off the log scale"));
    // Nothing positive at all: the panel falls back to a linear axis.
    for s in &mut fig.panels[1].series {
        s.points.iter_mut().for_each(|p| p.1 = -p.1);
    }
    let out = draw("eff_log_neg", &Figure::Lines(fig));
    assert!(
        out.notes.iter().any(|n| n.contains("drawn linear")),
        "{:?}",
        out.notes
    );
}

#[test]
fn accuracy_marks_each_criterion_stop() {
    let out = draw("accuracy", &accuracy_with_stops(12));
    assert_eq!(count(&out.svg, r#"class="series""#), 2);
    assert_eq!(count(&out.svg, r#"class="series dashed""#), 2);
    assert_eq!(count(&out.svg, r#"class="marker""#), 2 * 3);
    assert_labels(
        "accuracy",
        &out.svg,
        &[
            "train accuracy",
            "test accuracy",
            "stop: fixed",
            "stop: patience-3",
            "stop: threshold 0.8",
        ],
    );
}

#[test]
fn one_epoch_archive_still_draws_every_series() {
    let out = draw("eff_one_epoch", &efficiency_per_epoch(1, true));
    // One point per series: drawn as a dot, still one element per series.
    assert_eq!(count(&out.svg, r#"class="series""#), 4 * MODELS.len());
    assert!(out.svg.contains("<circle"));
    let out = draw("accuracy_one_epoch", &accuracy_with_stops(1));
    assert_eq!(count(&out.svg, r#"class="marker""#), 2 * 3);
}

#[test]
fn grouped_bars_one_bar_per_value_and_na_for_missing() {
    let out = draw("eq3", &eq3_by_criterion(&["ResNet-18", "VGG-11"]));
    assert_eq!(count(&out.svg, r#"class="bar""#), 2 * 4 - 1);
    assert!(texts(&out.svg).iter().any(|t| t == "n/a"));
    assert!(out.notes.iter().any(|n| n.contains("without a value")));
    assert_labels(
        "eq3",
        &out.svg,
        &[
            "ResNet-18",
            "VGG-11",
            "stopping criterion",
            "Eq. 3 (accuracy/kJ)",
            "fixed",
        ],
    );
    let out = draw("eq3_one_arch", &eq3_by_criterion(&["ResNet-18"]));
    assert_eq!(count(&out.svg, r#"class="bar""#), 4);
}

#[test]
fn platform_bars_carry_intervals() {
    let out = draw("platforms", &platforms());
    assert_eq!(count(&out.svg, r#"class="bar""#), 6);
    assert_eq!(count(&out.svg, r#"class="interval""#), 6);
    assert_labels("platforms", &out.svg, &["H200", "Jetson Orin"]);
}

#[test]
fn boxes_one_per_group_and_series_with_every_sample() {
    let out = draw("boxes", &boxes(5));
    assert_eq!(count(&out.svg, r#"class="box""#), 3 * 2);
    assert_eq!(count(&out.svg, r#"class="sample""#), 3 * 2 * 5);
    assert!(
        out.notes
            .iter()
            .any(|n| n.starts_with("5 sample(s) per box")),
        "{:?}",
        out.notes
    );
    // One width: a flat box per group and series, still drawn.
    let out = draw("boxes_one_width", &boxes(1));
    assert_eq!(count(&out.svg, r#"class="box""#), 3 * 2);
}

#[test]
fn overtraining_slopes_have_two_dots_per_model() {
    let out = draw("overtraining", &overtraining());
    assert_eq!(count(&out.svg, r#"class="series""#), 2 * MODELS.len());
    assert_eq!(count(&out.svg, r#"class="dot""#), 2 * 2 * MODELS.len());
    assert_labels(
        "overtraining",
        &out.svg,
        &["train−test gap", "gap (accuracy points)"],
    );
}

#[test]
fn power_trace_is_downsampled_dashed_where_modelled_with_epoch_lines() {
    let out = draw("trace", &power_trace(6000));
    assert_eq!(count(&out.svg, r#"class="series""#), 2);
    assert_eq!(count(&out.svg, r#"class="series dashed""#), 1);
    assert_eq!(count(&out.svg, r#"class="vline""#), 2);
    assert_labels(
        "trace",
        &out.svg,
        &[
            "gpu0",
            "cpu (RAPL)",
            "dram (modelled)",
            "epoch boundary",
            "time (s)",
            "power (W)",
        ],
    );
    // 6 000 points per source, at most two per pixel column are drawn.
    let (width, _) = svg_size(&out.svg);
    for line in out.svg.lines().filter(|l| l.contains(r#"class="series"#)) {
        let points = line
            .split("points=\"")
            .nth(1)
            .map_or(0, |p| p.split_whitespace().count());
        assert!(
            points > 100 && points <= 2 * width as usize,
            "{points} points drawn"
        );
    }
    assert!(out.png.len() < 2_000_000);
}

#[test]
fn empty_figures_are_skipped_with_a_reason_and_write_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let stem = dir.path().join("empty");
    let cases = [
        Figure::Lines(LinePanels::default()),
        Figure::Lines(LinePanels {
            panels: vec![Panel {
                series: vec![Series {
                    label: "a".into(),
                    points: vec![(1.0, f64::NAN)],
                    ..Series::default()
                }],
                ..Panel::default()
            }],
            ..LinePanels::default()
        }),
        Figure::Bars(GroupedBars {
            groups: vec!["g".into()],
            bars: vec![BarSeries {
                label: "b".into(),
                values: vec![None],
                intervals: vec![],
            }],
            ..GroupedBars::default()
        }),
        Figure::Boxes(BoxPlots::default()),
        Figure::Trace(PowerTrace::default()),
    ];
    for fig in &cases {
        match render(fig, &stem, &ImageFormat::ALL).expect("render") {
            Rendered::Skipped { reason } => assert!(!reason.is_empty()),
            other => panic!("expected a skip, got {other:?}"),
        }
    }
    assert!(!Path::new(&stem.with_extension("svg")).exists());
    assert!(!Path::new(&stem.with_extension("png")).exists());
}

#[test]
fn mismatched_bar_lengths_are_an_error() {
    let fig = Figure::Bars(GroupedBars {
        groups: vec!["a".into(), "b".into()],
        bars: vec![BarSeries {
            label: "x".into(),
            values: vec![Some(1.0)],
            intervals: vec![],
        }],
        ..GroupedBars::default()
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let err = render(&fig, &dir.path().join("bad"), &[ImageFormat::Svg]).expect_err("mismatch");
    assert!(matches!(err, FigureError::Invalid { .. }), "{err}");
}

#[test]
fn downsampling_is_public_and_keeps_extremes() {
    let pts: Vec<(f64, f64)> = (0..10_000)
        .map(|i| (f64::from(i), if i == 4321 { 99.0 } else { 1.0 }))
        .collect();
    let out = minmax_downsample(&pts, (0.0, 10_000.0), 100);
    assert!(out.len() <= 200);
    assert!(out.contains(&(4321.0, 99.0)));
}
