//! What a search is asked and what it answers: the options and budgets, the result with
//! its verdict and witness, the progress a front end shows, and why a configuration
//! cannot be checked. Plain data that every part of the checker shares.

use crate::config::ConfigError;
use crate::hazard::Verdict;
use crate::machine::OLD_TABLE;
use crate::schedule::Schedule;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The default state budget: every cell of the two-reader matrix fits with room to spare.
pub const DEFAULT_MAX_STATES: u64 = 50_000_000;

/// How the search runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckOptions {
    /// Stop with [`Verdict::Incomplete`] after storing this many states.
    pub max_states: u64,
    /// Stop with [`Verdict::Incomplete`] rather than let the state store grow past this
    /// many bytes (checked before each growth, so the budget is never exceeded).
    #[serde(default = "unlimited")]
    pub max_bytes: u64,
    /// Partial-order reduction (see the module docs).
    pub reduce: bool,
    /// Store one state per permutation of the readers.
    pub symmetry: bool,
    /// Threads the search runs on (1: the calling thread alone). The verdict, the
    /// counts and the witness are the same for any count (`crate::bfs` says why), except
    /// where the memory budget stops the search: the index is laid out in shards on
    /// several threads, so its size, and the state it stops at, differ. Ignored in
    /// WebAssembly, which has no threads here.
    #[serde(default = "one")]
    pub threads: u32,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            max_states: DEFAULT_MAX_STATES,
            max_bytes: u64::MAX,
            reduce: true,
            symmetry: true,
            threads: 1,
        }
    }
}

fn one() -> u32 {
    1
}

fn unlimited() -> u64 {
    u64::MAX
}

/// Which budget stopped a search that ended [`Verdict::Incomplete`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Budget {
    States,
    Memory,
}

/// Why a configuration cannot be checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckError {
    Config(ConfigError),
    /// The packed state would not fit in 128 bits.
    TooLarge {
        bits: u32,
    },
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckError::Config(e) => e.fmt(f),
            CheckError::TooLarge { bits } => write!(
                f,
                "the checker packs a state in 128 bits and this configuration needs {bits}: \
                 use at most 8 readers (7 under kvm-pv-flush), fewer idle CPUs, and fewer shared \
                 words and registers"
            ),
        }
    }
}

impl std::error::Error for CheckError {}

/// The result of a finished search.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub verdict: Verdict,
    /// Distinct states stored, over every search the verdict needed.
    pub states: u64,
    /// Transitions taken.
    pub transitions: u64,
    /// The deepest breadth-first layer reached.
    pub depth: u32,
    /// Bytes the state store held at its largest.
    pub peak_bytes: u64,
    /// For a hazard: the shortest schedule that reaches it.
    pub witness: Option<Schedule>,
    /// For [`Verdict::Incomplete`]: the budget that ran out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_by: Option<Budget>,
}

impl CheckResult {
    /// The totals of a check before its first search: no state, no hazard.
    pub(super) fn nothing_yet() -> CheckResult {
        CheckResult {
            verdict: Verdict::Safe,
            states: 0,
            transitions: 0,
            depth: 0,
            peak_bytes: 0,
            witness: None,
            stopped_by: None,
        }
    }
}

/// Where a running search is, for progress bars.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckProgress {
    pub states: u64,
    pub transitions: u64,
    pub depth: u32,
    /// States found but not yet expanded.
    pub frontier: u64,
    /// Which allocation class is being searched, and how many there are.
    pub class: u32,
    pub classes: u32,
}

/// Representatives of every equality class of a `random` frame against the old table
/// ([`crate::machine::frame_classes`]).
pub fn random_classes() -> [u64; 5] {
    crate::machine::frame_classes(OLD_TABLE)
}
