//! herd7's X86 litmus tests, checked exhaustively under x86-TSO or SC: the format
//! (`parse`), the explorer, and herd7's report (`Observation NAME Sometimes|Never|Always
//! P N`). This is tornsim's memory model held against the tests kernel developers
//! already trust: every classic x86 shape (`tests/litmus/x86/`) gives herd7's answer.
//!
//! The model is the operational x86-TSO of Owens, Sarkar and Sewell (as herd7's
//! `x86tso.cat` axiomatises it), the same rules the page-table machine follows under
//! `memory = tso`: each CPU's stores wait in a FIFO store buffer and reach memory one
//! drain step at a time, in order; a load takes the CPU's own newest buffered store to
//! its location, else memory; `MFENCE` and every locked instruction (`XCHG`, `LOCK ADD`,
//! `INC`, `DEC`, `XADD`, `CMPXCHG`) wait for an empty buffer, and a locked
//! read-modify-write acts on memory in one step. Under `memory = sc` a store reaches
//! memory at once.
//!
//! The explorer visits every state once, layer by layer (a state's depth is fixed: the
//! instructions it has executed plus the stores it has drained), and counts the
//! interleavings that reach each final state. The report lists the final states with
//! those counts, in litmus7's `count *>state` form (`*>` where the condition holds);
//! herd7's Positive and Negative are counts of final states here (herd7 counts
//! executions, one per final state in every classic test). A test with jumps reaches a
//! state by paths of different lengths, and a spin loop by infinitely many: it is
//! searched state by state, each final state counted once, and refused when no
//! interleaving ends.
//!
//! An unlocked `INC`/`ADD`/`XOR`… on memory is a load and then a store (two steps), as in
//! herd7's X86 semantics; with `LOCK` it is one.

//!
//! The module's files: `syntax` (a test: its instructions and its condition), `parse`
//! (the format: header, initial state, what follows the threads), `program` (the
//! columns of instructions, labels and jumps), `cond` (the final condition's syntax),
//! `c` (the kernel's C format, lowered to these instructions) and `explore` (the
//! exhaustive search and the report).

mod c;
mod cond;
mod explore;
mod parse;
mod program;
mod syntax;
#[cfg(test)]
mod tests;

pub use c::{is_c, markdown, parse_c, PRIMITIVES};
pub use explore::{CheckFail, FinalState, Observation, Outcome, MAX_STATES};
pub use parse::{is_x86, parse};

/// Whether `src` is a litmus test tornsim answers for x86: herd7's X86 (`X86 NAME`) or
/// the kernel's C (`C NAME`).
pub fn is_litmus(src: &str) -> bool {
    is_x86(src) || is_c(src)
}

/// Parses either kind of litmus test ([`is_litmus`]) into the X86 test it is or lowers
/// to.
pub fn parse_litmus(src: &str) -> Result<Test, crate::scenario::ScenarioError> {
    if is_c(src) {
        parse_c(src)
    } else {
        parse(src)
    }
}
pub use syntax::{Alu, Atom, Ins, Operand, Prop, Quant, Test, ADDR, REGS};
