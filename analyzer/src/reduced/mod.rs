//! The reduced table: a second contract beside the trace format
//! (`docs/reduced-format.md`). `analyzer reduce` writes one row per run ×
//! epoch × source holding what the sample fold computed (the heavy step,
//! samples → energy), and every analysis reads such tables in place of
//! archives and prints the same numbers, because the energies are rebuilt
//! by the same function from the same per-epoch sums (`trainwatt_fold::epoch_energy`).
//!
//! Why: the fold is a map over runs; everything after it works on a few rows
//! per epoch. Splitting the pipeline here lets the heavy step run where the
//! data is (one job per shard of an archive, `--shard I/N`) and the analysis
//! run anywhere on files of a few kilobytes per run.

mod read;
mod write;

pub(crate) use trainwatt_fold::reduced::schema;

pub use read::{is_reduced, read_reduced};
pub use schema::{options_json, REDUCED_VERSION};
pub use write::write_reduced;

/// A deterministic share of an archive's runs: run folder `r` belongs to
/// shard `index` (1-based) of `count` when the FNV-1a hash of its path
/// relative to the archive root it was found under, modulo `count`, is
/// `index − 1`. Every job lists the archive itself, so N jobs cover it once
/// whatever order they run in, and a new run does not move the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("--shard '{s}': expected I/N with 1 ≤ I ≤ N, e.g. 3/16");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Self { index, count })
    }
}

impl Shard {
    /// Whether the run at `rel` (its path under the archive root) is ours.
    pub fn holds(&self, rel: &std::path::Path) -> bool {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in rel.to_string_lossy().bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h % u64::from(self.count) == u64::from(self.index - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn shards_cover_every_run_once() {
        let runs: Vec<String> = (0..500)
            .map(|k| format!("platform=a/dataset=m/run={k}"))
            .collect();
        let n = 7;
        let mut seen = vec![0; runs.len()];
        for i in 1..=n {
            let s: Shard = format!("{i}/{n}").parse().unwrap();
            for (k, r) in runs.iter().enumerate() {
                seen[k] += usize::from(s.holds(Path::new(r)));
            }
        }
        assert!(seen.iter().all(|&c| c == 1));
        assert!("0/3".parse::<Shard>().is_err());
        assert!("4/3".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().is_err());
    }
}
