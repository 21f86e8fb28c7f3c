//! Sweeps: a grid of timed batches (CPU counts × readers × placements or scenario files
//! × modes), each cell with its rare-event estimate if asked, run cell by cell so that
//! shards on several machines merge back in order. Above both the timed model and the
//! rare-event estimator, which it combines.

use crate::config::{Config, ConfigError, Mode, ReaderKind, SyncPlacement};
use crate::program::load;
use crate::rare::{estimate, EstimateSpec, RateEstimate};
use crate::timed::{timed_batch, Latencies, TimedStats};
use serde::{Deserialize, Serialize};

/// A grid of timed batches: every CPU count × readers × placement (or scenario file) ×
/// mode.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepGrid {
    pub cpus: Vec<u32>,
    /// Empty with scenarios: each file's own count.
    pub readers: Vec<u32>,
    /// Ignored with scenarios: the files give the order.
    pub syncs: Vec<SyncPlacement>,
    /// Empty with scenarios: each file's own mode.
    pub modes: Vec<Mode>,
    /// `None`: each file's own kind (only with scenarios).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reader: Option<ReaderKind>,
    pub runs: u64,
    pub seed: u64,
    pub latencies: Latencies,
    /// Scenario files' texts, in place of the placements.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scenarios: Vec<String>,
    /// Each cell's rare-event estimate too, from the grid's seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate: Option<EstimateSpec>,
}

/// One cell of a sweep, with its results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepCell {
    /// Position in the grid's order, so shards merge back in order.
    pub index: usize,
    pub config: Config,
    pub stats: TimedStats,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate: Option<RateEstimate>,
}

/// An axis's values, or one "keep what the program says" when it has none.
fn axis<T: Copy>(v: &[T]) -> Vec<Option<T>> {
    if v.is_empty() {
        vec![None]
    } else {
        v.iter().copied().map(Some).collect()
    }
}

impl SweepGrid {
    /// The programs the grid sweeps: one per placement, or one per scenario file.
    fn programs(&self) -> Result<Vec<Config>, ConfigError> {
        if self.scenarios.is_empty() {
            return Ok(self
                .syncs
                .iter()
                .map(|&sync| Config {
                    sync,
                    ..Config::default()
                })
                .collect());
        }
        self.scenarios
            .iter()
            .map(|t| {
                load(t)
                    .map(|(_, c)| c)
                    .map_err(|e| ConfigError::new("scenario", e.to_string()))
            })
            .collect()
    }

    /// The grid's configurations in order, skipping CPU counts too small for the
    /// readers (collapser + populator + readers).
    pub fn configs(&self) -> Vec<Config> {
        self.try_configs().unwrap_or_default()
    }

    /// [`SweepGrid::configs`], or why a scenario does not load.
    pub fn try_configs(&self) -> Result<Vec<Config>, ConfigError> {
        let programs = self.programs()?;
        let mut out = Vec::new();
        for mode in axis(&self.modes) {
            for prog in &programs {
                for readers in axis(&self.readers) {
                    for &cpus in &self.cpus {
                        let mut c = prog.clone();
                        c.mode = mode.unwrap_or(c.mode);
                        c.readers = readers.unwrap_or(c.readers);
                        c.reader = self.reader.unwrap_or(c.reader);
                        if cpus < c.readers + 2 {
                            continue;
                        }
                        c.cpus = Some(cpus);
                        out.push(c);
                    }
                }
            }
        }
        Ok(out)
    }

    /// Runs cell `index`. Each cell's seed is the grid's, so a cell's result does not
    /// depend on which machine or shard runs it.
    pub fn run_cell(&self, index: usize) -> Result<SweepCell, ConfigError> {
        let cfg = self
            .configs()
            .get(index)
            .cloned()
            .ok_or_else(|| ConfigError::new("cell", format!("no cell {index}")))?;
        let estimate = match &self.estimate {
            Some(spec) => Some(estimate(&cfg, &self.latencies, spec, self.seed)?),
            None => None,
        };
        Ok(SweepCell {
            index,
            stats: timed_batch(&cfg, &self.latencies, self.seed, self.runs)?,
            config: cfg,
            estimate,
        })
    }
}
