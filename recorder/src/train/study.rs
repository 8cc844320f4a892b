//! Study files: a grid of runs (architectures × widths × datasets × folds ×
//! seeds) written as TOML, expanded into one [`TrainConfig`] per run. The
//! study runner executes the list; this module only says what it holds.
//!
//! The schema is documented, with the paper's grid, in
//! `studies/paper-2024.toml`. In short:
//!
//! ```toml
//! name = "paper-2024"       # free text
//! epochs = 100
//! seeds = [1]               # one run per seed
//! archs = ["lenet", "bcnn"] # lenet | bcnn | bcnn-mcd
//! widths = [1, 2, 3, 4, 5]
//! [settings]                # optional; any TrainConfig knob, paper defaults otherwise
//! kl_direction = "standard"
//! [[datasets]]
//! name = "cifar10"          # mnist | cifar10
//! dir = "cifar10"           # under the data root the runner is given; default: name
//! protocol = { kind = "k-fold", folds = 6, split_seed = 2024 }  # one run per fold
//! ```

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::config::{DeviceChoice, Normalisation, TrainConfig};
use super::data::{DatasetKind, Protocol};
use super::models::{Arch, KlDirection};
use super::TrainError;

/// A study file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Study {
    /// Name, for logs and the archive.
    pub name: String,
    /// Epochs per run.
    pub epochs: u32,
    /// Training seeds; one run per seed.
    pub seeds: Vec<u64>,
    /// Architectures.
    pub archs: Vec<Arch>,
    /// Width multipliers.
    pub widths: Vec<f64>,
    /// Knobs shared by every run.
    #[serde(default)]
    pub settings: StudySettings,
    /// Datasets with their protocol.
    pub datasets: Vec<StudyDataset>,
}

/// Optional overrides of [`TrainConfig::paper`]'s defaults, for every run.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudySettings {
    /// Mini-batch size.
    pub batch_size: Option<usize>,
    /// Adam's learning rate.
    pub lr: Option<f64>,
    /// KL weight β.
    pub beta: Option<f64>,
    /// KL direction.
    pub kl_direction: Option<KlDirection>,
    /// bcnn training samples.
    pub mc_samples_train: Option<u32>,
    /// Test-time passes.
    pub mc_samples_test: Option<u32>,
    /// libtorch threads.
    pub threads: Option<i32>,
    /// Device.
    pub device: Option<DeviceChoice>,
    /// Pixel scaling.
    pub normalisation: Option<Normalisation>,
}

/// One dataset of the grid.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyDataset {
    /// Which dataset.
    pub name: DatasetKind,
    /// Folder under the data root; default: the dataset's name.
    pub dir: Option<PathBuf>,
    /// How it is split.
    pub protocol: StudyProtocol,
}

/// A [`Protocol`] where k-fold stands for all its folds.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum StudyProtocol {
    /// Training files train, test files test.
    Holdout,
    /// One run per fold (or per fold listed in `only_folds`, 1-based).
    KFold {
        /// Number of folds.
        folds: u32,
        /// Seed of the fold assignment, shared by every run.
        split_seed: u64,
        /// Restrict to these folds.
        #[serde(default)]
        only_folds: Option<Vec<u32>>,
    },
    /// Stratified ratio split of all files.
    Ratio {
        /// Training share.
        train_fraction: f64,
        /// Seed.
        split_seed: u64,
    },
    /// Stratified split of the test files only.
    TestFilesSplit {
        /// Training examples.
        train_count: usize,
        /// Test on this many of the rest (stratified); default all of it.
        #[serde(default)]
        test_count: Option<usize>,
        /// Seed.
        split_seed: u64,
    },
}

impl StudyProtocol {
    /// The concrete protocols this stands for, each with an id fragment.
    fn expand(&self) -> Vec<(String, Protocol)> {
        match self {
            StudyProtocol::Holdout => vec![("holdout".into(), Protocol::Holdout)],
            StudyProtocol::KFold {
                folds,
                split_seed,
                only_folds,
            } => {
                let wanted: Vec<u32> = only_folds.clone().unwrap_or_else(|| (1..=*folds).collect());
                wanted
                    .into_iter()
                    .map(|fold| {
                        (
                            format!("fold{fold}of{folds}"),
                            Protocol::KFold {
                                folds: *folds,
                                fold,
                                split_seed: *split_seed,
                            },
                        )
                    })
                    .collect()
            }
            StudyProtocol::Ratio {
                train_fraction,
                split_seed,
            } => vec![(
                format!("ratio{train_fraction}"),
                Protocol::Ratio {
                    train_fraction: *train_fraction,
                    split_seed: *split_seed,
                },
            )],
            StudyProtocol::TestFilesSplit {
                train_count,
                test_count,
                split_seed,
            } => vec![(
                match test_count {
                    Some(m) => format!("testsplit{train_count}x{m}"),
                    None => format!("testsplit{train_count}"),
                },
                Protocol::TestFilesSplit {
                    train_count: *train_count,
                    test_count: *test_count,
                    split_seed: *split_seed,
                },
            )],
        }
    }
}

/// One run of a study: a stable id (for folder names and resuming) and its
/// configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSpec {
    /// `{dataset}-{arch}-w{width}-{protocol}-s{seed}`, e.g.
    /// `cifar10-bcnn-w3-fold2of6-s1`; unique within the study.
    pub id: String,
    /// What to train.
    pub config: TrainConfig,
}

/// Why a study file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StudyError {
    /// The file could not be read.
    #[error("cannot read study file {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The TOML does not match the schema.
    #[error("study file {path} does not match the schema (see studies/paper-2024.toml)")]
    Parse {
        /// The file (or `<string>`).
        path: PathBuf,
        /// The parser's error, with line and column.
        #[source]
        source: toml::de::Error,
    },
    /// The grid is empty or lists a run twice.
    #[error("study {name}: {reason}")]
    Grid {
        /// Study name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A run's configuration is out of range.
    #[error("study run {id}")]
    Run {
        /// The run id.
        id: String,
        /// Why.
        #[source]
        source: TrainError,
    },
}

/// `1` for whole widths, `1.5` otherwise.
fn width_label(width: f64) -> String {
    if width.fract() == 0.0 && width.abs() < 1e9 {
        format!("{}", width as i64)
    } else {
        format!("{width}")
    }
}

impl Study {
    /// Parses a study from TOML text.
    pub fn from_toml_str(text: &str) -> Result<Self, StudyError> {
        toml::from_str(text).map_err(|source| StudyError::Parse {
            path: PathBuf::from("<string>"),
            source,
        })
    }

    /// Reads and parses a study file.
    pub fn load(path: &Path) -> Result<Self, StudyError> {
        let text = std::fs::read_to_string(path).map_err(|source| StudyError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| StudyError::Parse {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Every run, in the order dataset → arch → width → fold → seed, with
    /// data folders resolved under `data_root`. Each configuration is
    /// validated; duplicate ids are an error.
    pub fn expand(&self, data_root: &Path) -> Result<Vec<RunSpec>, StudyError> {
        let grid_error = |reason: &str| StudyError::Grid {
            name: self.name.clone(),
            reason: reason.into(),
        };
        if self.seeds.is_empty()
            || self.archs.is_empty()
            || self.widths.is_empty()
            || self.datasets.is_empty()
        {
            return Err(grid_error(
                "seeds, archs, widths and datasets must each list at least one value",
            ));
        }
        let s = &self.settings;
        let mut runs = Vec::new();
        let mut ids = HashSet::new();
        for ds in &self.datasets {
            let dir = data_root.join(
                ds.dir
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(ds.name.name())),
            );
            for &arch in &self.archs {
                for &width in &self.widths {
                    for (protocol_id, protocol) in ds.protocol.expand() {
                        for &seed in &self.seeds {
                            let id = format!(
                                "{}-{}-w{}-{}-s{}",
                                ds.name,
                                arch,
                                width_label(width),
                                protocol_id,
                                seed
                            );
                            let mut c = TrainConfig::paper(arch, width, ds.name, dir.clone());
                            c.protocol = protocol.clone();
                            c.epochs = self.epochs;
                            c.seed = seed;
                            c.batch_size = s.batch_size.unwrap_or(c.batch_size);
                            c.lr = s.lr.unwrap_or(c.lr);
                            c.beta = s.beta.unwrap_or(c.beta);
                            c.kl_direction = s.kl_direction.unwrap_or(c.kl_direction);
                            c.mc_samples_train = s.mc_samples_train.unwrap_or(c.mc_samples_train);
                            c.mc_samples_test = s.mc_samples_test.or(c.mc_samples_test);
                            c.threads = s.threads.or(c.threads);
                            c.device = s.device.unwrap_or(c.device);
                            c.normalisation = s.normalisation.unwrap_or(c.normalisation);
                            if let Err(source) = c.validate() {
                                return Err(StudyError::Run { id, source });
                            }
                            if !ids.insert(id.clone()) {
                                return Err(grid_error(&format!("run {id} appears twice")));
                            }
                            runs.push(RunSpec { id, config: c });
                        }
                    }
                }
            }
        }
        Ok(runs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../studies/paper-2024.toml")
    }

    #[test]
    fn the_shipped_paper_study_expands_to_the_paper_grid() {
        let study = Study::load(&shipped()).unwrap();
        let runs = study.expand(Path::new("/data")).unwrap();
        let seeds = study.seeds.len();
        // 2 archs × 5 widths × (1 MNIST hold-out + 6 CIFAR folds) × seeds.
        assert_eq!(runs.len(), 2 * 5 * 7 * seeds);
        assert!(runs.iter().all(|r| r.config.epochs == 100));
        let cifar: Vec<_> = runs
            .iter()
            .filter(|r| r.config.dataset == DatasetKind::Cifar10)
            .collect();
        assert_eq!(cifar.len(), 2 * 5 * 6 * seeds);
        let first = &cifar[0].config;
        assert_eq!(first.data_dir, Path::new("/data/cifar10"));
        assert!(matches!(
            first.protocol,
            Protocol::KFold {
                folds: 6,
                fold: 1,
                ..
            }
        ));
        let one = runs
            .iter()
            .find(|r| r.id == "cifar10-bcnn-w3-fold2of6-s1")
            .unwrap();
        assert_eq!((one.config.arch, one.config.width), (Arch::Bcnn, 3.0));
        assert!(runs.iter().any(|r| r.id == "mnist-lenet-w5-holdout-s1"));
        assert!(runs
            .iter()
            .all(|r| (r.config.batch_size, r.config.lr, r.config.beta) == (256, 0.001, 0.1)));
    }

    #[test]
    fn settings_override_and_folds_restrict() {
        let text = r#"
            name = "t"
            epochs = 3
            seeds = [1, 2]
            archs = ["bcnn-mcd"]
            widths = [1.5]
            [settings]
            kl_direction = "reversed"
            mc_samples_test = 4
            device = "cpu"
            [[datasets]]
            name = "cifar10"
            dir = "c"
            protocol = { kind = "k-fold", folds = 6, split_seed = 9, only_folds = [2, 5] }
        "#;
        let runs = Study::from_toml_str(text)
            .unwrap()
            .expand(Path::new("r"))
            .unwrap();
        let ids: Vec<&str> = runs.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "cifar10-bcnn-mcd-w1.5-fold2of6-s1",
                "cifar10-bcnn-mcd-w1.5-fold2of6-s2",
                "cifar10-bcnn-mcd-w1.5-fold5of6-s1",
                "cifar10-bcnn-mcd-w1.5-fold5of6-s2"
            ]
        );
        let c = &runs[0].config;
        assert_eq!(
            (c.kl_direction, c.mc_samples_test, c.device),
            (KlDirection::Reversed, Some(4), DeviceChoice::Cpu)
        );
        assert_eq!(c.data_dir, Path::new("r/c"));
    }

    #[test]
    fn schema_errors_are_reported() {
        assert!(matches!(
            Study::from_toml_str("name = 1"),
            Err(StudyError::Parse { .. })
        ));
        let unknown_arch = "name='x'\nepochs=1\nseeds=[1]\narchs=['vgg']\nwidths=[1]\n[[datasets]]\nname='mnist'\nprotocol={kind='holdout'}";
        assert!(matches!(
            Study::from_toml_str(unknown_arch),
            Err(StudyError::Parse { .. })
        ));
        let dup = "name='x'\nepochs=1\nseeds=[1]\narchs=['lenet']\nwidths=[1, 1]\n[[datasets]]\nname='mnist'\nprotocol={kind='holdout'}";
        let err = Study::from_toml_str(dup)
            .unwrap()
            .expand(Path::new("/"))
            .unwrap_err();
        assert!(matches!(err, StudyError::Grid { .. }), "{err}");
        let bad_width = dup.replace("[1, 1]", "[0]");
        let err = Study::from_toml_str(&bad_width)
            .unwrap()
            .expand(Path::new("/"))
            .unwrap_err();
        assert!(matches!(err, StudyError::Run { .. }), "{err}");
    }
}
