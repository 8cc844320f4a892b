//! `recorder train`: train one case-study model while sampling power, one
//! epoch row per epoch, optionally stopping live on a criterion.
//!
//! Every epoch boundary (the start of epoch 1, each epoch's end after the
//! device synchronised) is a boundary read: every source is read at that
//! instant, which becomes the epoch's `end_ns` and the next one's
//! `start_ns`.
//!
//! The live stop replays the criterion (the same `Criterion::replay` the
//! analyzer uses) on the epochs so far after each epoch, so both pick the
//! same epoch. Energies for a live `energy:` rule come from the sampler's
//! running totals as of the boundary read at the epoch's end: for counters
//! the counter at the boundary itself, what the analyzer reads from the
//! boundary rows; for power-only sources the sampler's trapezoid up to that
//! reading, which the analyzer's can differ from by rounding only.

use super::common::{self, RecordArgs, Signals};
use super::output;
use crate::recording::{Recording, RunSummary};
use crate::sampler::{BoundaryRead, LiveTotals};
use crate::train::{self, Arch, DatasetKind, DeviceChoice, KlDirection, Protocol, TrainConfig};
use anyhow::{bail, Context, Result};
use clap::Args;
use std::cell::RefCell;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::process::ExitCode;
use trainwatt_trace::{Criterion, EpochPoint, EpochRow, RunStatus, Workload};

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// lenet, bcnn (Bayes by Backprop) or bcnn-mcd (MC dropout).
    #[arg(long)]
    pub arch: Arch,
    /// Width multiplier k ≥ 1 (the paper uses 1..5).
    #[arg(long, default_value_t = 1)]
    pub width: u32,
    /// mnist or cifar10.
    #[arg(long)]
    pub dataset: DatasetKind,
    /// Folder with the dataset files (MNIST IDX; CIFAR-10 cifar-10-batches-bin/
    /// or cifar-10-batches-py/, as torchvision downloads it).
    #[arg(long)]
    pub data_dir: PathBuf,
    #[arg(long, default_value_t = 100)]
    pub epochs: u32,
    /// holdout, kfold (with --fold/--folds), ratio:F (train fraction), or
    /// test-split:N[/M] (N of the test files train, the rest — or M of it — test; for when the
    /// 60 000 MNIST training images are absent). Default: the dataset's
    /// paper protocol (MNIST holdout, CIFAR-10 6-fold).
    #[arg(long)]
    pub protocol: Option<String>,
    /// Fold held out (1-based), for kfold.
    #[arg(long)]
    pub fold: Option<u32>,
    /// Number of folds, for kfold.
    #[arg(long, default_value_t = 6)]
    pub folds: u32,
    /// Seed of the fold assignment or split draw.
    #[arg(long, default_value_t = 0)]
    pub split_seed: u64,
    /// Seed of weights, sampling and shuffling.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Stop live on a criterion (same syntax as the analyzer's --criterion).
    #[arg(long)]
    pub stop: Option<Criterion>,
    #[arg(long, default_value_t = 256)]
    pub batch_size: usize,
    #[arg(long, default_value_t = 0.001)]
    pub lr: f64,
    /// Weight of the KL term (bcnn).
    #[arg(long, default_value_t = 0.1)]
    pub beta: f64,
    /// standard = KL(q‖p); reversed = KL(p‖q) as in the author's code (bcnn).
    #[arg(long, default_value = "standard")]
    pub kl: KlDirection,
    /// Forward passes averaged at test time (bcnn valid_ens, bcnn-mcd T).
    #[arg(long)]
    pub test_samples: Option<u32>,
    /// libtorch intra-op threads.
    #[arg(long)]
    pub threads: Option<i32>,
    /// auto, cpu or cuda.
    #[arg(long, default_value = "auto")]
    pub device: DeviceChoice,
    /// Sample this long before training starts, as the run's own idle
    /// baseline window (e.g. 5s).
    #[arg(long, value_parser = common::parse_duration, allow_hyphen_values = true)]
    pub idle_before: Option<std::time::Duration>,
    #[command(flatten)]
    pub record: RecordArgs,
}

fn protocol(args: &TrainArgs) -> Result<Protocol> {
    let p = args.protocol.as_deref().unwrap_or("");
    Ok(match p.split_once(':').unwrap_or((p, "")) {
        ("", _) => match (args.dataset.default_protocol(), args.fold) {
            (Protocol::KFold { folds, .. }, fold) => Protocol::KFold {
                folds,
                fold: fold.unwrap_or(1),
                split_seed: args.split_seed,
            },
            (other, _) => other,
        },
        ("holdout", _) => Protocol::Holdout,
        ("kfold", _) => Protocol::KFold {
            folds: args.folds,
            fold: args
                .fold
                .context("--protocol kfold needs --fold N (1-based)")?,
            split_seed: args.split_seed,
        },
        ("ratio", f) => Protocol::Ratio {
            train_fraction: f
                .parse()
                .with_context(|| format!("--protocol {p}: expected ratio:0.7"))?,
            split_seed: args.split_seed,
        },
        ("test-split", n) => {
            let bad =
                || format!("--protocol {p}: expected test-split:8000 or test-split:8000/2000");
            let (train, test) = match n.split_once('/') {
                Some((a, b)) => (a, Some(b.parse().with_context(bad)?)),
                None => (n, None),
            };
            Protocol::TestFilesSplit {
                train_count: train.parse().with_context(bad)?,
                test_count: test,
                split_seed: args.split_seed,
            }
        }
        _ => bail!("--protocol '{p}': expected holdout, kfold, ratio:F or test-split:N"),
    })
}

fn protocol_label(p: &Protocol) -> String {
    match p {
        Protocol::Holdout => "holdout".into(),
        Protocol::KFold { folds, fold, .. } => format!("kfold:{fold}/{folds}"),
        Protocol::Ratio { train_fraction, .. } => format!("ratio:{train_fraction}"),
        Protocol::TestFilesSplit {
            train_count,
            test_count: Some(m),
            ..
        } => format!("test-split:{train_count}/{m}"),
        Protocol::TestFilesSplit { train_count, .. } => format!("test-split:{train_count}"),
    }
}

pub fn run(args: &TrainArgs) -> Result<ExitCode> {
    let signals = Signals::install()?;
    let protocol = protocol(args)?;
    let cfg = TrainConfig {
        protocol,
        epochs: args.epochs,
        seed: args.seed,
        batch_size: args.batch_size,
        lr: args.lr,
        beta: args.beta,
        kl_direction: args.kl,
        mc_samples_test: args.test_samples,
        threads: args.threads,
        device: args.device,
        ..TrainConfig::paper(
            args.arch,
            f64::from(args.width),
            args.dataset,
            &args.data_dir,
        )
    };
    let plan = RunPlan {
        record: &args.record,
        stop: args.stop.as_ref(),
        idle_before: args.idle_before,
        extra: Default::default(),
        quiet: false,
    };
    let done = record_training(&cfg, &plan, &signals)?;
    output::print_run(args.record.format, &done)?;
    Ok(ExitCode::SUCCESS)
}

/// How to record one training run (shared by `train` and `study`).
#[derive(Debug)]
pub struct RunPlan<'a> {
    pub record: &'a RecordArgs,
    pub stop: Option<&'a Criterion>,
    pub idle_before: Option<std::time::Duration>,
    /// Added to the manifest's `workload.extra` (e.g. the study and run id).
    pub extra: std::collections::BTreeMap<String, serde_json::Value>,
    /// No per-epoch lines on stderr (the study shows a progress bar).
    pub quiet: bool,
}

/// Trains `cfg` while recording one run; returns the finished run, whose
/// status says whether it completed or was interrupted by a signal.
pub fn record_training(
    cfg: &TrainConfig,
    plan: &RunPlan<'_>,
    signals: &Signals,
) -> Result<RunSummary> {
    let (workload, labels, width) = train_workload(cfg, plan)?;
    let (dataset, arch) = (cfg.dataset.to_string(), cfg.arch.to_string());
    let mut rec = common::start_recording(
        plan.record,
        workload,
        (&dataset, &arch, width),
        &labels,
        true,
    )?;
    if !plan.quiet {
        eprintln!("recorder: recording into {}", rec.dir().display());
    }
    if let Some(d) = plan.idle_before {
        std::thread::sleep(d);
    }
    let stamper = rec.stamper();
    // Every clock reading the trainer takes is a boundary; the first is the
    // start of epoch 1: remember the running totals there, so live energies
    // count from it, and the latest, the end of the epoch just reported.
    let at_start: RefCell<Option<LiveTotals>> = RefCell::new(None);
    let latest: RefCell<Option<BoundaryRead>> = RefCell::new(None);
    let stamp = || {
        let b = stamper.stamp();
        if at_start.borrow().is_none() {
            *at_start.borrow_mut() = Some(b.live.clone());
        }
        let t = b.t_ns;
        *latest.borrow_mut() = Some(b);
        t
    };
    let mut points: Vec<EpochPoint> = Vec::new();
    let mut write_error: Option<anyhow::Error> = None;
    let mut interrupted = false;
    let mut fired: Option<String> = None;
    let result = train::train(cfg, &stamp, &mut |e| {
        let row = EpochRow {
            epoch: e.epoch,
            start_ns: e.start_ns,
            end_ns: e.end_ns,
            train_acc: Some(e.train_acc),
            test_acc: Some(e.test_acc),
            train_loss: Some(e.train_loss),
            test_loss: Some(e.test_loss),
            examples: Some(e.examples),
        };
        if let Err(err) = rec.add_epoch(row.clone()) {
            write_error = Some(err.into());
            return ControlFlow::Break(());
        }
        let now = latest
            .borrow()
            .as_ref()
            .map(|b| b.live.clone())
            .unwrap_or_default();
        let start = at_start.borrow().clone().unwrap_or_default();
        // The epoch just added is in `rec.epochs()`, so its first row exists.
        let first_start = rec.epochs().first().map_or(e.start_ns, |r| r.start_ns);
        points.push(EpochPoint::new(
            &row,
            first_start,
            Some(now.energy_j - start.energy_j),
            Some(now.sample_sum_w - start.sample_sum_w),
        ));
        if !plan.quiet {
            eprintln!(
                "recorder: epoch {:>3}  train {:.4}  test {:.4}  loss {:.4}  {:.1} s  {:.1} J",
                e.epoch,
                e.train_acc,
                e.test_acc,
                e.train_loss,
                (e.end_ns - e.start_ns) as f64 * 1e-9,
                now.energy_j - start.energy_j
            );
        }
        if signals.received().is_some() {
            interrupted = true;
            return ControlFlow::Break(());
        }
        fired = plan.stop.and_then(|c| stop_fired(c, &points, e.epoch));
        if fired.is_some() {
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    });
    finish_training(rec, result, write_error, interrupted, fired, plan.quiet)
}

/// The run's workload, its folder labels and its integer width.
fn train_workload(cfg: &TrainConfig, plan: &RunPlan<'_>) -> Result<(Workload, Vec<String>, u32)> {
    cfg.validate()?;
    if cfg.width.fract() != 0.0 || cfg.width < 1.0 {
        bail!(
            "width {} is not a whole number ≥ 1 (the archive layout keys runs by integer width)",
            cfg.width
        );
    }
    let width = cfg.width as u32;
    let (fold, folds) = match cfg.protocol {
        Protocol::KFold { folds, fold, .. } => (Some(fold), Some(folds)),
        _ => (None, None),
    };
    let workload = Workload {
        kind: "train".into(),
        command: std::env::args().collect(),
        arch: Some(cfg.arch.to_string()),
        width: Some(width),
        dataset: Some(cfg.dataset.to_string()),
        protocol: Some(protocol_label(&cfg.protocol)),
        fold,
        folds,
        seed: Some(cfg.seed),
        stop: plan.stop.map(ToString::to_string),
        extra: plan.extra.clone(),
        ..Workload::default()
    };
    let mut labels = vec![
        cfg.arch.to_string(),
        format!("w{width}"),
        format!("s{}", cfg.seed),
    ];
    if let Some(f) = fold {
        labels.push(format!("f{f}"));
    }
    Ok((workload, labels, width))
}

/// What fired when the live stopping rule `c` stops at `epoch`, the epoch
/// just completed.
fn stop_fired(c: &Criterion, points: &[EpochPoint], epoch: u32) -> Option<String> {
    match c.replay(points) {
        Ok(trainwatt_trace::StopDecision::Stopped {
            stop_epoch, fired, ..
        }) if stop_epoch == epoch => Some(fired),
        _ => None,
    }
}

/// Closes the run after training: complete, interrupted, or failed with
/// the first error (training's or the recording's).
fn finish_training(
    mut rec: Recording,
    result: Result<train::TrainSummary, train::TrainError>,
    write_error: Option<anyhow::Error>,
    interrupted: bool,
    fired: Option<String>,
    quiet: bool,
) -> Result<RunSummary> {
    match (result, write_error) {
        (Ok(summary), None) => {
            let m = rec.manifest_mut();
            if let Ok(serde_json::Value::Object(map)) = serde_json::to_value(&summary) {
                m.workload.extra.extend(map);
            }
            if let Some(f) = &fired {
                m.workload
                    .extra
                    .insert("stopped_by".into(), f.clone().into());
            }
            let status = if interrupted {
                RunStatus::Interrupted
            } else {
                RunStatus::Complete
            };
            let done = rec.finish(
                status,
                interrupted.then(|| "interrupted by a signal".into()),
            )?;
            if !quiet {
                eprintln!(
                    "recorder: {} epochs, {} samples in {} segments, status {:?}",
                    summary.epochs_completed,
                    done.sink.rows,
                    done.sink.segments,
                    done.manifest.status
                );
            }
            Ok(done)
        }
        (Err(e), _) => {
            let msg = format!("{e:#}");
            rec.finish(RunStatus::Failed, Some(msg))?;
            Err(e).context("training failed (the run folder keeps what was recorded)")
        }
        (Ok(_), Some(e)) => {
            let msg = format!("{e:#}");
            rec.finish(RunStatus::Failed, Some(msg))?;
            Err(e)
        }
    }
}
