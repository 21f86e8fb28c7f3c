//! Scenario files: the actors' programs as a small litmus-style text, one block per CPU,
//! one primitive per line, settings and an `exists` clause, parsed into a [`Scenario`]
//! and compiled for a [`Config`](crate::config::Config) into the [`Program`](crate::program::Program) the machine interprets.
//!
//! ```text
//! tornsim seed-thread-v1
//! "The withdrawn v1 patch: the sync runs after the PTL is dropped"
//! { mode = xen-pv; readers = 2; }
//! P0(khugepaged) {
//!     pmd_lock();
//!     pmdp_collapse_flush();
//!     spin_unlock();
//!     pmdp_get_lockless_sync();
//!     pte_free_defer();
//! }
//! P1(fault) {
//!     pte_alloc_one();
//!     do {
//!         pmd_lock();
//!         if (pmd_none())
//!             pmd_populate();
//!         spin_unlock();
//!     } while (!installed);
//! }
//! P2(gup_fast) {
//!     local_irq_save();
//!     pmdp_get_lockless();
//!     pte_offset_map();
//!     local_irq_restore();
//! }
//! exists (torn \/ stale)
//! ```
//!
//! - Comments: `// …`, `/* … */` and herd's `(* … *)`.
//! - Settings use the CLI flags' names and values (`tornsim run --help`); `sync` is not
//!   one of them, since the lines are the placement. The CLI's flags apply on top.
//! - `P0` is khugepaged (the collapser), `P1` the page fault (the populator), `P2…` the
//!   readers: `gup_fast` (in `mm_cpumask`), `walker` (outside it), or `reader` (the kind
//!   the `reader` setting names). With `readers = N` and fewer reader blocks, the reader
//!   CPUs take the blocks in turn. Control flow takes no step of its own: `if
//!   (pmd_none())` is the check's step, and `do { … spin_unlock(); } while (!installed);`
//!   loops on the unlock's step. Readers loop over their block forever (in a random run,
//!   until the writers are done).
//! - `exists (torn \/ stale \/ deadlock)` names what the checker looks for and claims it
//!   happens; `~exists (…)` claims it never does. A deadlock is always reported.
//! - Shared words: `int x = 1;` among the settings, `WRITE_ONCE(x, 1);`,
//!   `r0 = READ_ONCE(x);` and `[r0 =] xchg(x, 1);` in any block, and final values in the
//!   clause beside the hazards (`exists (torn \/ P0:r0=0 /\ x=1)`).
//!
//! The built-in presets and the four sync placements are such files (`scenarios/` in the
//! repository, embedded here); a file whose program is a built-in placement's is that
//! placement, so its schedules and traces are the preset's, byte for byte.
//!
//! This module is the language: `syntax` (the tree), `lexer`, `parser` and `printer`,
//! each importing only the ones before it, `text` (links and line moves) and `highlight`
//! (the lexer's tokens classed for editors). A
//! configuration ([`crate::config`]) holds a parsed scenario, and [`crate::program`],
//! above it, turns a file into a configuration and compiles it; the built-in files are
//! there too. This file only re-exports.

pub mod highlight;
pub(crate) mod lexer;
pub(crate) mod parser;
pub(crate) mod printer;
pub(crate) mod syntax;
pub(crate) mod text;

pub use parser::parse;
pub use printer::program_hash;
pub use syntax::{Actor, Block, Exists, Scenario, ScenarioError, Span, Stmt};
pub use text::{move_line, move_selected_lines, pack, unpack, MAX_PACKED_TEXT};
