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
//! line; the presets and sync placements are such files. The general machine
//! (`general`) runs the wider family of walker races, with any number of PMDs, PTEs,
//! tables and pages with lifetimes and counts, and named locks; the classic PMD race is
//! one program of its language. It knows nothing about browsers or terminals: the
//! `tornsim` command and the web page are thin front ends over this crate, and anything
//! they do can be done from Rust directly.
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
//!
//! # Layers
//!
//! Bottom-up, as the data flows: each module imports only modules listed before it
//! (`tests/layers.rs` in the workspace checks this order, and that no two files import
//! each other in a circle).
//!
//! 1. `knob`: the configuration's enumerated knobs and their names.
//! 2. `codec`: base64url, the alphabet of schedules and links.
//! 3. `hazard`: the hazards and the checker's verdicts.
//! 4. `bfs`: a breadth-first search's store of states with its sharded index,
//!    and the merge of a round of states expanded on several threads.
//! 5. `prim`: the table of primitives, their steps and footprints.
//! 6. `scenario`: the scenario language: syntax, lexer, parser, printer.
//! 7. `x86`: herd7's X86 litmus tests, checked under x86-TSO or SC.
//! 8. `config`: a configuration, which may hold a parsed scenario.
//! 9. `program`: a file made a configuration, the built-in files, the compiler.
//! 10. `presets`: the named configurations, loaded from the built-in files.
//! 11. `rules`: the model's rules that both machines share, over any layout of a
//!     state.
//! 12. `machine`: the state, and the step semantics over a compiled program.
//! 13. `sched`: the random and PCT schedulers.
//! 14. `schedule`: schedule strings.
//! 15. `run`: batches and their statistics.
//! 16. `general`: the general machine, for the family of walker races beyond one PMD:
//!     its language, primitives, compiler, machine, exploration and reports.
//! 17. `trace`: replays, step by step.
//! 18. `diagram`: a trace drawn as CPU columns.
//! 19. `check`: the exhaustive checker.
//! 20. `cutoff`: verdicts for every reader count, by a cutoff argument.
//! 21. `timed`: the timed cost model.
//! 22. `rare`: rare-event rates.
//! 23. `sweep`: grids of timed batches.
//! 24. `campaign`: a batch cut into chunks, and share links.
//! 25. `settings_file`: settings from TOML or JSON files.
mod bfs;
pub mod campaign;
pub mod check;
pub mod codec;
pub mod config;
pub mod cutoff;
pub mod diagram;
pub mod general;
pub mod hazard;
pub mod knob;
pub mod machine;
pub mod presets;
pub mod prim;
pub mod program;
pub mod rare;
mod rules;
pub mod run;
pub mod scenario;
pub mod sched;
pub mod schedule;
#[cfg(feature = "files")]
pub mod settings_file;
pub mod sweep;
pub mod timed;
pub mod trace;
pub mod x86;

pub use campaign::{Campaign, Chunk, ChunkResult, Share};
pub use check::{check, CheckError, CheckOptions, CheckProgress, CheckResult, Checker};
pub use config::{Config, ConfigError, Knob};
pub use hazard::{Hazard, Verdict};
pub use machine::{Action, Choice, Machine, Pmd, Role};
pub use presets::{preset, presets, Preset};
pub use run::{wilson, Batch, HazardRecord, RunSummary, Stats};
pub use scenario::{Scenario, ScenarioError};
pub use sched::{Scheduler, SchedulerSpec};
pub use schedule::{Schedule, ScheduleError};
pub use trace::{replay, replay_str, replay_str_with, ReplayError, Stepper, Trace, TraceStep};
