//! Where runs live inside an archive: `platform=P/dataset=D/arch=A/width=K/run=ID`.
//!
//! Hive-style `key=value` segments let DuckDB, Spark, DataFusion and polars
//! expose the partition keys as columns without our code. Values are
//! sanitised so they are always a single safe path segment.

use std::path::{Path, PathBuf};

/// The partition keys of a run, in path order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    pub platform: String,
    pub dataset: String,
    pub arch: String,
    pub width: u32,
}

impl Partition {
    /// The folder (relative to the archive root) that holds runs of this
    /// partition; a run folder `run=ID` goes inside it.
    pub fn relative_dir(&self) -> PathBuf {
        PathBuf::from(format!("platform={}", sanitize(&self.platform)))
            .join(format!("dataset={}", sanitize(&self.dataset)))
            .join(format!("arch={}", sanitize(&self.arch)))
            .join(format!("width={}", self.width))
    }

    /// Full path of a run folder with this id under `archive`.
    pub fn run_dir(&self, archive: &Path, run_id: &str) -> PathBuf {
        archive
            .join(self.relative_dir())
            .join(format!("run={}", sanitize(run_id)))
    }
}

/// Makes `value` safe as one `key=value` path segment: keeps ASCII letters,
/// digits, `-`, `_` and `.`, lower-cases nothing, and maps anything else
/// (including `/`, `=` and spaces) to `-`. An empty value becomes `none`.
pub fn sanitize(value: &str) -> String {
    let s: String = value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_matches('.').to_string();
    if s.is_empty() {
        "none".into()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_hive_path_and_sanitizes() {
        let p = Partition {
            platform: "my host/A100 80GB".into(),
            dataset: "mnist".into(),
            arch: "lenet".into(),
            width: 3,
        };
        assert_eq!(
            p.run_dir(Path::new("/a"), "x=1"),
            PathBuf::from("/a/platform=my-host-A100-80GB/dataset=mnist/arch=lenet/width=3/run=x-1")
        );
        assert_eq!(sanitize(".."), "none");
        assert_eq!(sanitize(""), "none");
    }
}
