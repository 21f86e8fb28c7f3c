//! The exhaustive checker: a breadth-first search over every interleaving of the same
//! [`Machine`](crate::machine::Machine) the random runs use, with readers looping forever.
//!
//! # What it explores
//!
//! States are the machine's dynamic state packed into 128 bits (the PMD is implied by
//! its version, reader registers by which of the few possible values they hold), kept in
//! an arena with a hash index; each state remembers its parent and the choice that
//! reached it, so the first hazard found is reconstructed into a concrete schedule that
//! `tornsim replay` and the web page accept. Breadth-first order makes that witness the
//! shortest one. With `alloc=random` the new table's value only matters through equality
//! with the old table's halves and with zero, so the search runs once per equality class
//! (five representative frames) instead of once per frame.
//!
//! # Verdicts
//!
//! `safe` means the search finished with no hazard; `incomplete` means the state budget
//! ran out first, and says nothing either way. A deadlock is a state where a writer has
//! not finished, no writer can step, no IPI can be acknowledged and no reader is inside a
//! read (readers between reads could loop forever, but never help a writer).

//!
//! The module's files: this one (the API: options, results, [`Checker`], the verdict
//! matrix), `search` (the breadth-first search and its witness), `pack` (states in 128
//! bits, with the reader symmetry) and `reduce` (the partial-order reduction); each
//! says why its reduction is sound.

mod coord;
mod options;
mod pack;
mod part;
mod reduce;
mod search;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_parts;
mod wire;

use crate::config::{Alloc, Config};
pub use crate::hazard::Verdict;
use crate::machine::default_table;
pub use coord::{check_in_parts, Coordinator};
pub use options::*;
pub use part::Part;
use search::{End, Search};
pub use wire::{Post, To};

/// Checks `cfg` exhaustively, in one call.
pub fn check(cfg: &Config, opts: CheckOptions) -> Result<CheckResult, CheckError> {
    let mut c = Checker::new(cfg, opts)?;
    loop {
        if let Some(r) = c.work(1 << 20) {
            return Ok(r.clone());
        }
    }
}

/// An incremental search: call [`Checker::work`] until it returns the result, so that a
/// front end can show progress or stay responsive.
pub struct Checker {
    cfg: Config,
    opts: CheckOptions,
    tables: Vec<u64>,
    class: usize,
    search: Option<Search>,
    totals: CheckResult,
    result: Option<CheckResult>,
}

impl Checker {
    pub fn new(cfg: &Config, opts: CheckOptions) -> Result<Checker, CheckError> {
        cfg.validate().map_err(CheckError::Config)?;
        let tables = match cfg.alloc {
            Alloc::Random => random_classes().to_vec(),
            a => vec![default_table(a)],
        };
        let first = Search::new(cfg, tables[0], opts, u32::MAX)?;
        Ok(Checker {
            cfg: cfg.clone(),
            opts,
            tables,
            class: 0,
            search: Some(first),
            totals: CheckResult::nothing_yet(),
            result: None,
        })
    }

    pub fn progress(&self) -> CheckProgress {
        let (mut states, mut transitions, mut depth, mut frontier) = (
            self.totals.states,
            self.totals.transitions,
            self.totals.depth,
            0,
        );
        if let Some(s) = &self.search {
            states += s.states.len() as u64;
            transitions += s.transitions;
            depth = depth.max(s.depth);
            frontier = (s.states.len() - s.cursor) as u64;
        }
        CheckProgress {
            states,
            transitions,
            depth,
            frontier,
            class: self.class as u32 + 1,
            classes: self.tables.len() as u32,
        }
    }

    /// Expands up to `budget` states; returns the result once the search is over.
    pub fn work(&mut self, budget: u64) -> Option<&CheckResult> {
        if self.result.is_some() {
            return self.result.as_ref();
        }
        let s = self
            .search
            .as_mut()
            .expect("a search runs until the result is set");
        let end = s.run(budget);
        let end = end?;
        let t = &mut self.totals;
        t.states += s.states.len() as u64;
        t.transitions += s.transitions;
        t.depth = t.depth.max(s.depth);
        t.peak_bytes = t.peak_bytes.max(s.bytes());
        match end {
            End::Exhausted => {
                self.class += 1;
                if self.class == self.tables.len() {
                    self.search = None;
                    self.result = Some(self.totals.clone());
                } else {
                    self.search = Some(
                        Search::new(&self.cfg, self.tables[self.class], self.opts, u32::MAX)
                            .expect("validated when the checker was made"),
                    );
                }
            }
            End::OutOf(budget) => {
                self.search = None;
                self.result = Some(CheckResult {
                    verdict: Verdict::Incomplete,
                    stopped_by: Some(budget),
                    ..self.totals.clone()
                });
            }
            End::Hazard(mut h, depth) => {
                let mut witness = s.witness(h);
                if s.opts.reduce {
                    // The reduced graph may reach a hazard by a longer path than the full
                    // one: search the full graph up to this depth for the shortest.
                    let opts = CheckOptions {
                        reduce: false,
                        ..self.opts
                    };
                    let mut full = Search::new(&self.cfg, self.tables[self.class], opts, depth + 1)
                        .expect("validated when the checker was made");
                    if let Some(End::Hazard(h2, _)) = full.run(u64::MAX) {
                        witness = full.witness(h2);
                        h = h2;
                    }
                    t.peak_bytes = t.peak_bytes.max(full.bytes());
                }
                self.search = None;
                self.result = Some(CheckResult {
                    verdict: Verdict::of(h.hazard),
                    witness: Some(witness),
                    ..self.totals.clone()
                });
            }
        }
        self.result.as_ref()
    }
}

/// What MODEL.md's table of expected verdicts says of `cfg` (torn reads only; the
/// table assumes `free=rcu-deferred` and an adversarial allocator).
pub fn expected_verdict(cfg: &Config) -> Verdict {
    use crate::config::{Mode, ReaderKind, SyncPlacement as S};
    let sync = cfg.effective_sync();
    let torn = match cfg.mode {
        Mode::NonPae => false,
        Mode::NativePae => cfg.reader == ReaderKind::Walker && sync != S::UnderPtl,
        Mode::XenPv | Mode::HyperV => matches!(sync, S::AfterUnlock | S::None),
        // The PV flush skips a preempted reader, whatever its kind, and a flush that
        // IPIed the populator makes flush-sync-skip skip the sync too.
        Mode::KvmPvFlush => sync != S::UnderPtl,
    };
    if torn {
        Verdict::Torn
    } else {
        Verdict::Safe
    }
}

/// The cells of the verdict matrix: every mode × placement × reader kind, and with
/// `all_splits` every clear × set split too, with `readers` readers.
pub fn matrix_configs(readers: u32, all_splits: bool) -> Vec<Config> {
    use crate::config::{ClearKind, Knob, Mode, ReaderKind, SetKind, SyncPlacement};
    let splits: Vec<(ClearKind, SetKind)> = if all_splits {
        ClearKind::ALL
            .iter()
            .flat_map(|&c| SetKind::ALL.iter().map(move |&s| (c, s)))
            .collect()
    } else {
        vec![(Config::default().clear, Config::default().set)]
    };
    let mut out = Vec::new();
    for &mode in Mode::ALL {
        for &reader in ReaderKind::ALL {
            for &sync in SyncPlacement::ALL {
                for &(clear, set) in &splits {
                    out.push(Config {
                        mode,
                        reader,
                        sync,
                        clear,
                        set,
                        readers,
                        cpus: None,
                        ..Config::default()
                    });
                }
            }
        }
    }
    out
}
