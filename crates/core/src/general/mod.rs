//! The general machine: one interpreter for the family of races between lockless
//! page-table walkers and the code that clears, replaces, moves and frees page tables
//! and pages (MODEL.md, "Beyond one PMD"). A scenario declares its world (PMDs, tables
//! and their PTEs, pages and their counts) and runs any number of named kernel paths
//! (`P1(madvise)`, `P2(mremap)`), each a block of calls from one table of primitives
//! (`crate::prim::general`), with locks (the PMD lock, split PTE locks, mmap_lock, the
//! VMA lock, i_mmap_rwsem), flushes by IPI, INVLPGB, RAR or hypercall, and tables freed at once or
//! after an RCU grace period. The hazards are MODEL.md's: torn and stale reads, reads
//! through freed tables, references on freed pages, stale pins, bogus tables, non-empty
//! tables freed, deadlocks.
//!
//! The classic PMD race is one program of this language: every classic file runs on the
//! general machine unchanged, and the two machines agree step by step (`tests/
//! one_semantics.rs`, on every built-in scenario and matrix cell): fed the same choices
//! they open the same choices and raise the same hazards, their state graphs are one
//! graph, and the general search stores the classic search's states (unreduced) and
//! finds its witness. The classic machine (`crate::machine`) stays as the fast path for
//! files within the classic language: its state counts, schedule strings and statistics
//! are what earlier releases printed.
//!
//! Its files, each importing only those before it: `lang` (the syntax tree and
//! parser), `ir` (the compiled form), `world` (settings, declarations, and whether a
//! file needs this machine), `emit` and `lower` (statements and calls to instructions),
//! `compile` (a whole file), `state` (what changes in a run), `machine` (the one step
//! function) with `entries` (its accesses to entries, tables and pages), `tso` (store
//! buffers), `words` (shared words, registers and the final condition), `describe` and
//! `changes` (steps and states in kernel terms), `symmetry` (interchangeable walkers),
//! `reduce` (the partial-order reduction), `search` (the exhaustive search) and
//! `explore` (random runs, schedule strings and traces), both apart from the rules,
//! `report` (a file answered in one call, as the web page shows it) and `timeline` (a run
//! with the state after each step, as the page steps through it).

/// `(name, text)` of each named file in a directory of `scenarios/`, embedded.
macro_rules! files_in {
    ($dir:literal: $($name:literal),* $(,)?) => {
        &[$((
            $name,
            include_str!(concat!("../../../../scenarios/", $dir, "/", $name, ".litmus")),
        )),*]
    };
}

pub mod argument;
mod changes;
pub mod compile;
mod describe;
mod emit;
mod enabled;
mod entries;
pub mod explore;
pub mod history;
pub mod ir;
pub mod lang;
mod lower;
pub mod machine;
mod pack;
pub mod pct;
mod reach;
pub mod reduce;
pub mod report;
pub mod search;
mod state;
pub mod symmetry;
#[cfg(test)]
mod tests;
pub mod timeline;
pub mod tso;
mod words;
mod world;

pub use crate::prim::general as table;
pub use compile::{compile, compile_with};
pub use enabled::Open;
pub use explore::{decode, decode_run, encode, replay, GBatch, GStats, GTrace};
pub use ir::{Flush, GConfig, GProgram, Platform};
pub use lang::{parse, GScenario};
pub use machine::{GChoice, GMachine, GState};
pub use report::{report, report_any, GReport};
pub use search::{check, GCheckOptions, GCheckResult};
pub use timeline::{FrameKind, GFrame, GTimeline};
pub use world::needs_general;

use crate::scenario::syntax::ScenarioError;
use std::sync::Arc;

/// Which machine a file runs on.
pub enum Route {
    /// Within the classic language: the classic machine, as before.
    Classic,
    /// It needs the general machine: compiled.
    General(Arc<GProgram>),
}

/// Reads a scenario file's text and says which machine runs it, compiling it for the
/// general one. A file both parsers refuse gets the error that stands further into
/// the file (the one whose language it is more likely written in).
pub fn route(src: &str) -> Result<Route, ScenarioError> {
    match parse(src) {
        Ok(g) if needs_general(&g) => compile(&g).map(|p| Route::General(Arc::new(p))),
        Ok(_) => Ok(Route::Classic),
        Err(general) => match crate::scenario::parse(src) {
            Ok(_) => Ok(Route::Classic),
            Err(classic) if general.span.start > classic.span.start => Err(general),
            Err(classic) => Err(classic),
        },
    }
}

/// A file's text and a schedule made for it, as a timeline to step through: what a
/// shared link or an opened run gives the page. A schedule made at another walker count
/// (a `readers = any` witness) names its program by its id, so the counts a page shows
/// are tried too. Errors name the file's line, or the step that cannot run.
pub fn timeline_of(src: &str, schedule: &str) -> Result<GTimeline, String> {
    let p = load(src).map_err(|e| format!("the file has an error at {e}"))?;
    let own = timeline::timeline(&p, schedule);
    if own.is_ok() {
        return own;
    }
    // Past the counts any check of the page or the CLI's `--readers any` reaches.
    const COUNTS: u32 = 8;
    (1..=COUNTS)
        .filter_map(|n| argument::at_walkers(&p, n).ok())
        .find_map(|q| timeline::timeline(&q, schedule).ok())
        .map_or(own, Ok)
}

/// Runs `start..start + count` of the batch of `seed` on a file's text, under `spec`:
/// one part of a batch, which the parts of any split add up to ([`GStats::merge`]).
/// What the page's workers run for a general file.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunsPart {
    pub src: String,
    pub spec: crate::sched::SchedulerSpec,
    pub seed: u64,
    pub start: u64,
    pub count: u64,
}

impl RunsPart {
    pub fn run(&self) -> Result<GStats, String> {
        let p = load(&self.src).map_err(|e| format!("the file has an error at {e}"))?;
        let b = GBatch::with_scheduler(&p, self.seed, self.spec).map_err(|e| e.to_string())?;
        Ok(b.starting_at(self.start).run(self.count).clone())
    }
}

/// Parses and compiles a file for the general machine, whichever language it is in (a
/// classic file too: what the agreement test runs).
pub fn load(src: &str) -> Result<Arc<GProgram>, ScenarioError> {
    compile(&parse(src)?).map(Arc::new)
}

/// The general machine's program for a classic configuration: the same file (its own,
/// or its placement's) under the same knobs. What the agreement test runs on every
/// built-in scenario and matrix cell.
pub fn from_classic(cfg: &crate::config::Config) -> Result<Arc<GProgram>, ScenarioError> {
    use crate::config::Mode;
    let src = crate::program::of_config(cfg).source.clone();
    let mut g = parse(&src)?;
    // In a classic configuration the `reader` knob, not the block's name, says which
    // kind the walkers are (the placement files name gup_fast).
    for b in &mut g.blocks {
        if table::actor(&b.actor).is_some_and(|a| a.walker) {
            b.actor = "reader".into();
        }
    }
    let platform = Platform::Classic(cfg.mode);
    let gc = GConfig {
        platform,
        flush: match cfg.mode {
            Mode::XenPv | Mode::HyperV => Flush::Hypercall,
            _ => Flush::Ipi,
        },
        paravirt: cfg.paravirt,
        readers: cfg.readers,
        cpus: cfg.cpus,
        reader: cfg.reader,
        alloc: cfg.alloc,
        clear: cfg.clear,
        set: cfg.set,
        free: cfg.free,
        memory: cfg.memory,
        apic: cfg.apic,
        any_readers: false,
    };
    compile_with(&g, &gc).map(Arc::new)
}

/// The built-in general scenario files (`scenarios/general/`), by name: the family's
/// races and their fixes, each stating its expected verdict in its `exists` clause. The
/// kernel's fixed races are in [`history::FILES`] (`scenarios/history/`).
pub const FILES: &[(&str, &str)] = files_in!("general":
    "collapse-v1-order",
    "ipi-free-now",
    "retract-merged-xen",
    "retract-v1-xen",
    "tso-bare-x2apic-flush",
    "two-collapsers",
    "zap-pte-fill",
);

/// Every built-in general file: [`FILES`], then the history suite's.
pub fn builtin_files() -> impl Iterator<Item = &'static (&'static str, &'static str)> {
    FILES.iter().chain(history::FILES)
}

/// A built-in general file's text by name.
pub fn builtin(name: &str) -> Option<&'static str> {
    builtin_files().find(|f| f.0 == name).map(|f| f.1)
}
