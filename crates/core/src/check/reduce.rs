//! The partial-order reduction: which CPUs' transitions a state may explore alone.
//!
//! *Partial-order reduction* (ample sets, Clarke–Grumberg–Peled conditions C0–C3). In a
//! state, the enabled transitions of one CPU `p` may be explored alone when:
//! - C1: every transition another CPU can take before `p` moves is independent of them.
//!   An idle CPU's acknowledgement touches only its own pending bit, which only the
//!   collapser's sends (disabled while an acknowledgement is outstanding) also touch. A
//!   reader's `pmd_low`/`pmd_high` load commutes with everything once the PMD has had its
//!   last write (`ver` is final and stays so). A reader's `local_irq_save()` and
//!   `local_irq_restore()` commute with everything once both writers are done: the only
//!   other readers of `irq_off` are `pte_free_defer()` and the IPI acknowledgements of
//!   that same CPU, which are then in the ample set too; a restore that would complete a
//!   deferred free is never reduced (it changes what other readers' derefs see). Each
//!   condition is stable while `p` does not move, as C1 needs.
//! - C2: reduced transitions are invisible: they never raise a hazard (the `pmd_low`
//!   re-check and the dereference, which can, are never reduced) and, taken only once the
//!   writers are done, cannot change whether the writers are stuck.
//! - C3 (cycle proviso, static form): every cycle of the state graph contains a reader's
//!   `pmd_low` re-check (or 64-bit load) or a populator step, since the collapser and the
//!   IPI acknowledgements only move forward, and a reader's loop always passes its
//!   re-check. Those transitions are never in a reduced set, so every cycle of the reduced
//!   graph passes a fully expanded state.
//!
//! *Under TSO* a store-buffer drain is one more transition, of its CPU's buffer. It
//! touches only memory: the PMD (a PMD store) or the PTL word (an unlock), and the
//! buffer itself. A reader's reduced load needs the PMD final, and every PMD store has
//! then drained (`ver` counts drained stores), so the only drains left write the PTL,
//! which no reduced step reads. A reduced `local_irq_save()`/`local_irq_restore()`
//! touches the interrupt flag, which no drain reads or writes. So every drain is
//! independent of the reduced step (C1). One dependence remains: a CPU takes an IPI
//! only with an empty buffer, so a reader's own drain enables its acknowledgement; a
//! reader with buffered stores is therefore never reduced. Drains are never in a
//! reduced set and form no cycle (each empties a buffer by one), so C2 and C3 stand as
//! argued above. `reduction_agrees_with_the_full_search_under_tso` checks the verdicts
//! and witnesses against the unreduced search on every built-in scenario.
//!

use super::pack::Layout;
use crate::machine::{bits, Enabled, Machine, POPULATOR};
use crate::prim::Reduction;

/// The transitions to explore from the state loaded in `m`, whose enabled set is `en`:
/// all of them unless `reduce`.
#[inline(always)]
pub(super) fn ample_en(m: &Machine, layout: &Layout, reduce: bool, en: Enabled) -> (u64, u64, u64) {
    if !reduce {
        return (en.prog, en.ack, en.drain);
    }
    let st = m.state();
    let readers = m.reader_mask();
    let idle_acks = en.ack & !readers & !(1 << POPULATOR);
    if idle_acks != 0 {
        return (0, idle_acks & idle_acks.wrapping_neg(), 0);
    }
    // Under kvm-pv-flush a reader's preempt/resume choices form cycles that pass
    // no sticky transition, so readers' steps are never reduced there.
    if layout.kvm {
        return (en.prog, en.ack, en.drain);
    }
    let final_pmd = st.ver == layout.last_ver;
    let writers_done = m.writers_done();
    for cpu in bits(en.prog & readers) {
        let bit = 1u64 << cpu;
        let ok = match layout.reduction[st.pc[cpu as usize] as usize] {
            Reduction::PmdFinal => final_pmd,
            // A quiescent state that would complete a deferred free is not reduced:
            // it changes what other readers' dereferences see.
            Reduction::WritersDone => writers_done & (st.qs & bit == 0),
            Reduction::Never => false,
        };
        if ok & (m.buffered() & bit == 0) {
            return (bit, en.ack & bit, 0);
        }
    }
    (en.prog, en.ack, en.drain)
}
