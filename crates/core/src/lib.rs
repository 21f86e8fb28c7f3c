//! tornsim-core owns the simulation of the x86-32 PAE split-PMD race described in
//! MODEL.md: the machine (a PMD read and written in 32-bit halves, the page-table lock,
//! interrupts and IPIs, page-table frames), the four actors' programs mirroring
//! khugepaged, the page-fault path and the lockless walkers, the schedulers that
//! interleave them (uniform random and PCT, deterministic for a seed), batches with their
//! statistics, replayable schedule strings, step-by-step traces, the exhaustive
//! checker that proves a configuration safe or prints its shortest hazard, and the
//! timed cost model (PTL hold, collapse latency, IPI waits) with its sweeps. The actors'
//! programs are scenario files (`scenario`): litmus-style text compiled from one table
//! of kernel primitives (`prim`), so a reviewer tries a patch's ordering by moving a
//! line; the presets and sync placements are such files. It knows
//! nothing about browsers or terminals: the `tornsim` command and the web page are thin
//! front ends over this crate, and anything they do can be done from Rust directly.
//!
//! ```
//! use tornsim_core::{preset, Batch, SchedulerSpec};
//! let cfg = preset("seed-thread-v1").unwrap().config;
//! let mut batch = Batch::new(&cfg, SchedulerSpec::Random, 7).unwrap();
//! let stats = batch.run(20_000);
//! assert!(stats.torn_reads > 0, "the withdrawn patch tears under Xen PV");
//! let trace = tornsim_core::replay_str(&stats.first_torn.unwrap().schedule).unwrap();
//! assert!(trace.hazards().count() > 0);
//! ```

pub mod campaign;
pub mod check;
pub mod config;
pub mod diagram;
pub mod machine;
pub mod prim;
pub mod rare;
pub mod run;
pub mod scenario;
pub mod sched;
pub mod schedule;
#[cfg(feature = "files")]
pub mod settings_file;
pub mod timed;
pub mod trace;

pub use campaign::{Campaign, Chunk, ChunkResult, Share};
pub use check::{check, CheckError, CheckOptions, CheckProgress, CheckResult, Checker, Verdict};
pub use config::{preset, presets, Config, ConfigError, Knob, Preset};
pub use machine::{Action, Choice, Hazard, Machine, Pmd, Role};
pub use run::{wilson, Batch, HazardRecord, RunSummary, Stats};
pub use scenario::{Scenario, ScenarioError};
pub use sched::{Scheduler, SchedulerSpec};
pub use schedule::{Schedule, ScheduleError};
pub use trace::{replay, replay_str, replay_str_with, ReplayError, Stepper, Trace, TraceStep};
