//! The general search's partial-order reduction: one CPU's step that only reads what
//! no other CPU can still change is explored alone, as the classic checker explores a
//! reader alone once the PMD is final or the writers are done (`crate::check::reduce`),
//! here told from the program's code instead of from the PMD race's roles.
//!
//! *When it applies* ([`Reduction::of`]): not under `kvm-pv-flush` (the host's
//! preemptions are choices of every walker at every step), and not where the `exists`
//! clause has a condition on final words and registers (a state's registers are what
//! it judges).
//!
//! *What a CPU may still do*: from each pc, the code's future, over every path of its
//! block (a walker's loop back to its entry included; a fault's `retry` loop left out
//! once its CPU has installed a table, as the machine leaves it): store to an entry
//! (`ENTRY`), allocate or free a table (`LIFE`), or read interrupt flags (`IRQS`:
//! a flush or sync waits for them, a free after a grace period records them). A state
//! adds what is in flight: a buffered store to an entry, a free waiting for its grace
//! period (its end changes a table's life and reads interrupt flags), an IPI not yet
//! answered (its answer waits for interrupts on).
//!
//! *Where it reduces* ([`Reduction::ample`]): the lowest-numbered CPU whose open
//! program step is *reducible* and needs nothing any other CPU may still do (or the
//! state has in flight) is explored alone. A reducible step reads only its own locals
//! and what its bits name, writes only its own locals, its read in progress, its own
//! interrupt flag and the write log (trimmed, never grown, when no CPU can store), and
//! moves forward: every pc it can go to, past the maps it skips, is after its own, and
//! it is not a walker's first step of an iteration. The steps: a test of a value
//! (nothing), a load of a PMD, `pmd_same()` and both halves under the lock (entries),
//! a PTE's load, `pte_same()` and a range's test (entries and lives),
//! `pte_offset_map()` (lives), `local_irq_save()`/`local_irq_restore()` (interrupt
//! flags).
//!
//! *Why it is sound* (ample sets, Clarke–Grumberg–Peled C0–C3, for the reachability of
//! a hazardous step and of a deadlock; Emerson–Jha–Peled for the combination with the
//! walker symmetry, since the rule reads a CPU's code and pc, never its number but to
//! pick the lowest):
//! - C0: the set is one open step.
//! - C1: until the chosen CPU moves, no other CPU's step (program step, answer, drain)
//!   writes what the chosen step reads or reads what it writes: what it reads, no other
//!   CPU's code can still change and nothing in flight will; its locals, read and flag
//!   are its own (a flag is read only by senders, grace periods and answers, which its
//!   bits rule out). It waits for nothing, so it stays open; it opens or closes no other
//!   step (a walker's first step is not reduced, since the end-of-run judgement of held
//!   pins reads whether every walker is between iterations).
//! - C2: the chosen step may raise a hazard (the last load of a read torn earlier); it
//!   is then taken and the search stops on it, and whether another CPU's step raises
//!   one does not depend on whether the chosen step came first.
//! - C3 (static): every reduced step moves its CPU forward, so a cycle of the state
//!   graph (a walker's return to its entry closes every one) has a step that is never
//!   reduced, taken from a state explored in full.
//!
//! The reduced graph's shortest witness can be longer than the full graph's (or
//! another of the same length), so where the reduced search meets a hazard, the full
//! search to that depth gives the witness (`search.rs`): a hazard's witness is the
//! full graph's shortest, as without the reduction, and the reduction speeds up what
//! it is for, proving a file safe. `reduce: false` (`check --no-reduction`) turns it
//! off; the tests hold the reduced search's verdict to the full one's on every general
//! and history file and every classic configuration.

use super::ir::{EntryRef, GOp, GProgram, DONE, MAX_CPUS};
use super::machine::{GChoice, GMachine, Life};

/// What a CPU's remaining code may still do that a reduced step must not meet, as
/// bits: write an entry (a store), change a table's life (`pte_alloc_one()`, a free),
/// read interrupt flags (an IPI's flush or sync waits for them; a free after a grace
/// period records them).
const ENTRY: u8 = 1;
const LIFE: u8 = 2;
const IRQS: u8 = 4;

/// Where the general search may explore one CPU's step alone ([`Reduction::of`]).
#[derive(Clone, Debug)]
pub struct Reduction {
    /// By pc: what the code from there on may do ([`ENTRY`], [`LIFE`], [`IRQS`]).
    future: Vec<u8>,
    /// The same once its CPU has installed a table (a `retry` loop is left then).
    future_installed: Vec<u8>,
    /// By pc: what the step there needs that no other CPU may still do, if it is
    /// reducible at all (it moves forward and touches only what the bits name).
    needs: Vec<Option<u8>>,
}

impl Reduction {
    /// The reduction for `p`, or `None` where its argument does not hold.
    pub fn of(p: &GProgram) -> Option<Reduction> {
        if p.cfg.platform.kvm() || p.observes() {
            return None;
        }
        let does = |op: GOp| match op {
            GOp::Store { .. } => ENTRY,
            GOp::Alloc { .. } => LIFE,
            GOp::Free { .. } => LIFE | IRQS,
            GOp::Flush { .. } | GOp::Sync => IRQS,
            _ => 0,
        };
        let future = |installed: bool| {
            let mut f = vec![0u8; p.code.len()];
            let at = |f: &[u8], t: u16| if t == DONE { 0 } else { f[t as usize] };
            let mut changed = true;
            while changed {
                changed = false;
                for pc in (0..p.code.len()).rev() {
                    let i = &p.code[pc];
                    let alt = match i.op {
                        GOp::Unlock { retry: true, .. } if installed => i.next,
                        _ => i.alt,
                    };
                    let x = does(i.op) | at(&f, i.next) | at(&f, alt);
                    if x != f[pc] {
                        f[pc] = x;
                        changed = true;
                    }
                }
            }
            f
        };
        // Past the maps a step skips (`GMachine::step`'s none or huge values).
        let forward = |pc: usize, mut t: u16| loop {
            if t == DONE {
                return true;
            }
            if t as usize <= pc {
                return false;
            }
            match p.code[t as usize].op {
                GOp::Map { .. } => t = p.code[t as usize].next,
                _ => return true,
            }
        };
        // A walker at its entry is between iterations, which the judgement of held
        // pins at the run's end reads of every walker: its first step is never
        // reduced.
        let entries: Vec<usize> = (0..p.cpus as usize)
            .filter(|&c| p.walkers >> c & 1 == 1)
            .map(|c| p.entry[c] as usize)
            .collect();
        let needs = p
            .code
            .iter()
            .enumerate()
            .map(|(pc, i)| {
                if entries.contains(&pc) {
                    return None;
                }
                let need = match i.op {
                    GOp::Test { .. } => 0,
                    GOp::Load {
                        entry: EntryRef::Pmd(_),
                        ..
                    }
                    | GOp::PmdSame { .. }
                    | GOp::NoneNow(_) => ENTRY,
                    GOp::Load { .. } | GOp::PteSame { .. } | GOp::RangeNone(_) => ENTRY | LIFE,
                    GOp::Map { .. } => LIFE,
                    GOp::IrqOff | GOp::IrqOn => IRQS,
                    _ => return None,
                };
                (forward(pc, i.next) && forward(pc, i.alt)).then_some(need)
            })
            .collect();
        Some(Reduction {
            future: future(false),
            future_installed: future(true),
            needs,
        })
    }

    /// The one step to explore alone from the state in `m`, whose open choices are
    /// `en`: `None` where every choice must be explored.
    pub fn ample(&self, m: &GMachine, en: &[GChoice]) -> Option<GChoice> {
        let st = &m.st;
        // What no CPU's code does but the state still may: a buffered store to an
        // entry, a free waiting for its grace period, an IPI not yet answered.
        let mut pending = 0;
        if st
            .sb
            .iter()
            .flatten()
            .any(|b| matches!(b, super::ir::Buffered::Entry { .. }))
        {
            pending |= ENTRY;
        }
        if st.tables.iter().any(|l| matches!(l, Life::Queued(_))) {
            pending |= LIFE | IRQS;
        }
        if st.pending.iter().any(|&p| p != 0) {
            pending |= IRQS;
        }
        // What each CPU's code may still do, told once for every candidate.
        let mut does = [0u8; MAX_CPUS as usize];
        for (c, d) in does.iter_mut().enumerate().take(st.pc.len()) {
            *d = match st.pc[c] {
                DONE => 0,
                pc if st.installed >> c & 1 == 1 => self.future_installed[pc as usize],
                pc => self.future[pc as usize],
            };
        }
        en.iter().copied().find(|ch| {
            if ch.ack || ch.drain {
                return false;
            }
            let c = ch.cpu as usize;
            let Some(need) = self.needs[st.pc[c] as usize] else {
                return false;
            };
            let others = does
                .iter()
                .enumerate()
                .filter(|&(q, _)| q != c)
                .fold(pending, |x, (_, &d)| x | d);
            others & need == 0
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::general::from_classic;
    use crate::general::tests::{ack, drain, prog, step};

    /// What each pc's code may still do, and which steps are reducible, on the `merged`
    /// preset as a general program: khugepaged (0..=5: lock, clear, flush, sync,
    /// unlock, deferred free), the fault (6..=10: alloc, lock, test, populate, unlock
    /// with its retry loop back to the lock) and a walker (11..=16: irq off, three
    /// loads, map, irq on and back to its entry).
    #[test]
    fn each_pc_knows_what_its_code_may_still_do() {
        let mut cfg = crate::preset("merged").unwrap().config;
        cfg.readers = 1;
        let p = from_classic(&cfg).unwrap();
        let r = Reduction::of(&p).unwrap();
        let ops: Vec<GOp> = p.code.iter().map(|i| i.op).collect();
        assert!(matches!(ops[1], GOp::Store { .. }) && matches!(ops[2], GOp::Flush { .. }));
        assert!(matches!(ops[3], GOp::Sync) && matches!(ops[5], GOp::Free { .. }));
        assert!(matches!(ops[6], GOp::Alloc { .. }) && matches!(ops[9], GOp::Store { .. }));
        assert!(matches!(ops[10], GOp::Unlock { retry: true, .. }));
        let all = ENTRY | LIFE | IRQS;
        assert_eq!(
            r.future[..11],
            [
                all,
                all,
                LIFE | IRQS,
                LIFE | IRQS,
                LIFE | IRQS,
                LIFE | IRQS,
                ENTRY | LIFE,
                ENTRY,
                ENTRY,
                ENTRY,
                ENTRY
            ]
        );
        // Once the fault has installed its table, its retry loop is left.
        assert_eq!(r.future_installed[10], 0);
        assert_eq!(r.future_installed[6], ENTRY | LIFE);
        assert_eq!(r.future[11..], [0; 6]);
        // The walker's entry, its re-check (which can retry) and its irq-on (back to
        // the entry) are never reduced; its first loads need final entries, its map
        // final tables' lives.
        assert_eq!(
            r.needs[11..],
            [None, Some(ENTRY), Some(ENTRY), None, Some(LIFE), None]
        );
        // The fault's test of the PMD under the lock moves forward either way.
        assert_eq!(r.needs[8], Some(ENTRY));
    }

    /// A flush and a sync read interrupt flags where no free follows them.
    #[test]
    fn a_flush_and_a_sync_read_interrupt_flags() {
        let p = prog(
            "{ mode = native-pae; readers = 1; pmd pmd = table(t0); }
             P0(khugepaged) { x = pmdp_collapse_flush(pmd); pmdp_get_lockless_sync(); }
             P1(gup_fast) { local_irq_save(); v = pmdp_get_lockless(pmd); local_irq_restore(); }",
        );
        let r = Reduction::of(&p).unwrap();
        let at = |f: fn(&GOp) -> bool| p.code.iter().position(|i| f(&i.op)).unwrap();
        assert_eq!(r.future[at(|o| matches!(o, GOp::Flush { .. }))], IRQS);
        assert_eq!(r.future[at(|o| matches!(o, GOp::Sync))], IRQS);
        assert_eq!(
            r.future[at(|o| matches!(o, GOp::Store { .. }))],
            ENTRY | IRQS
        );
        // A walker's interrupt flag between two reads, not at its entry: reducible
        // where no one can still read the flags.
        let q = prog(
            "{ mode = native-64; readers = 1; pmd pmd = table(t0); }
             P0(khugepaged) { x = pmdp_collapse_flush(pmd); }
             P1(gup_fast) { v = pmdp_get_lockless(pmd); local_irq_save(); w = pmdp_get_lockless(pmd); local_irq_restore(); }",
        );
        let r = Reduction::of(&q).unwrap();
        let off = q
            .code
            .iter()
            .position(|i| matches!(i.op, GOp::IrqOff))
            .unwrap();
        assert_eq!(r.needs[off], Some(IRQS));
    }

    /// A step is reduced only if it moves forward past the maps it may skip, and never
    /// at a walker's entry, in every walker block: here a load whose next step, a map,
    /// returns to the entry (not forward: a none value skips the map), and two walker
    /// blocks with entries of their own.
    #[test]
    fn no_reduced_step_returns_to_an_entry_or_leaves_one() {
        let p = prog(
            "{ mode = native-64; pmd pmd = table(t0); }
             P0(khugepaged) { x = pmdp_collapse_flush(pmd); pte_free_defer(x); }
             P1(gup_fast) { v = pmdp_get_lockless(pmd); w = pmdp_get_lockless(pmd); ptep = pte_offset_map(w); }
             P2(gup_fast) { local_irq_save(); w = pmdp_get_lockless(pmd); local_irq_restore(); }",
        );
        let r = Reduction::of(&p).unwrap();
        let (e1, e2) = (p.entry[1] as usize, p.entry[2] as usize);
        assert_ne!(e1, e2);
        assert!(matches!(p.code[e1].op, GOp::Load { .. }) && matches!(p.code[e2].op, GOp::IrqOff));
        assert_eq!((r.needs[e1], r.needs[e2]), (None, None));
        // P1's second load: its map goes back to the entry.
        assert!(matches!(p.code[e1 + 1].op, GOp::Load { .. }));
        assert!(matches!(p.code[e1 + 2].op, GOp::Map { .. }));
        assert_eq!(r.needs[e1 + 1], None);
        // P2's load goes on to its irq-on.
        assert!(matches!(p.code[e2 + 1].op, GOp::Load { .. }));
        assert_eq!(r.needs[e2 + 1], Some(ENTRY));
    }

    /// A free waiting for its grace period is in flight: the walker whose irq-on ends
    /// the period changes a table's life, though no CPU's code may still free one. So a
    /// map, which needs final lives, is not explored alone while the free waits; once
    /// the period is over, a walker's load is.
    #[test]
    fn a_queued_free_keeps_a_map_from_being_explored_alone() {
        let p = prog(
            "{ mode = native-64; readers = 2; pmd pmd = table(t0); }
             P0(khugepaged) { x = pmdp_huge_get_and_clear(pmd); pte_free_defer(x); }
             P1(gup_fast) { local_irq_save(); v = pmdp_get_lockless(pmd); ptep = pte_offset_map(v); local_irq_restore(); }",
        );
        let r = Reduction::of(&p).unwrap();
        let map = p
            .code
            .iter()
            .position(|i| matches!(i.op, GOp::Map { .. }))
            .unwrap();
        assert_eq!(r.needs[map], Some(LIFE));
        let mut m = GMachine::new(p.clone(), false);
        // CPU1 holds table t0 with interrupts off; khugepaged clears and frees it.
        for cpu in [1, 1, 0, 0] {
            assert_eq!(step(&mut m, cpu), None);
        }
        assert_eq!((m.st.pc[0], m.st.pc[1] as usize), (DONE, map));
        assert_eq!(m.st.tables[0], Life::Queued(0b10));
        assert_eq!(r.ample(&m, &m.enabled()), None);
        // CPU1's irq-on ends the period; then CPU2's load is explored alone.
        step(&mut m, 1);
        step(&mut m, 1);
        assert_eq!(m.st.tables[0], Life::Freed);
        step(&mut m, 2);
        assert_eq!(r.ample(&m, &m.enabled()), Some(GChoice::step(2)));
    }

    /// Under TSO a store waiting in a buffer still changes the entry when it drains,
    /// though its CPU's code has finished: a walker's load is not explored alone until
    /// the buffer is empty.
    #[test]
    fn a_buffered_store_keeps_a_load_from_being_explored_alone() {
        let p = prog(
            "{ mode = native-64; memory = tso; readers = 1; pmd pmd = table(t0); }
             P0(khugepaged) { pmd_clear(pmd); }
             P1(gup_fast) { local_irq_save(); v = pmdp_get_lockless(pmd); local_irq_restore(); }",
        );
        let r = Reduction::of(&p).unwrap();
        let mut m = GMachine::new(p.clone(), false);
        step(&mut m, 1);
        step(&mut m, 0);
        assert_eq!((m.st.pc[0], m.st.sb[0].len()), (DONE, 1));
        assert_eq!(r.needs[m.st.pc[1] as usize], Some(ENTRY));
        assert_eq!(r.ample(&m, &m.enabled()), None);
        drain(&mut m, 0);
        assert_eq!(r.ample(&m, &m.enabled()), Some(GChoice::step(1)));
    }

    /// A flush's IPI not yet answered reads the target's interrupt flag when it is
    /// answered, though the sender's code has finished: the target's irq-off is not
    /// explored alone until it has answered, and is then.
    #[test]
    fn an_ipi_owed_keeps_an_irq_off_from_being_explored_alone() {
        let p = prog(
            "{ mode = native-64; readers = 1; pmd pmd = table(t0); }
             P0(khugepaged) { x = pmdp_collapse_flush(pmd); }
             P1(gup_fast) { v = pmdp_get_lockless(pmd); local_irq_save(); w = pmdp_get_lockless(pmd); local_irq_restore(); }",
        );
        let r = Reduction::of(&p).unwrap();
        let mut m = GMachine::new(p.clone(), false);
        step(&mut m, 1);
        assert_eq!(r.needs[m.st.pc[1] as usize], Some(IRQS));
        assert_eq!(r.ample(&m, &m.enabled()), None, "khugepaged will flush");
        step(&mut m, 0);
        step(&mut m, 0);
        assert_eq!((m.st.pc[0], m.st.pending[0]), (DONE, 0b10));
        assert_eq!(r.ample(&m, &m.enabled()), None);
        ack(&mut m, 1);
        assert_eq!(r.ample(&m, &m.enabled()), Some(GChoice::step(1)));
    }

    /// A fault at the unlock of its retry loop may still store only if it has not
    /// installed its table: once it has, a walker's load is explored alone; while it
    /// has not (the PMD was not none), the load is not.
    #[test]
    fn a_fault_that_installed_its_table_leaves_its_retry_loop() {
        let fault = "P1(fault) { t = pte_alloc_one(); do { ptl = pmd_lock(pmd); if (pmd_none()) pmd_populate(pmd, t); spin_unlock(ptl); } while (!installed); }";
        let walker =
            "P2(gup_fast) { local_irq_save(); v = pmdp_get_lockless(pmd); local_irq_restore(); }";
        let p = prog(&format!(
            "{{ mode = native-64; readers = 1; pmd pmd = table(t0); }}
             P0(khugepaged) {{ x = pmdp_huge_get_and_clear(pmd); }}
             {fault} {walker}"
        ));
        let r = Reduction::of(&p).unwrap();
        let unlock = p
            .code
            .iter()
            .position(|i| matches!(i.op, GOp::Unlock { retry: true, .. }))
            .unwrap();
        assert_eq!((r.future[unlock], r.future_installed[unlock]), (ENTRY, 0));
        let mut m = GMachine::new(p.clone(), false);
        // khugepaged clears the PMD; the fault takes the lock, finds it none and
        // installs its table.
        for cpu in [0, 2, 1, 1, 1, 1] {
            assert_eq!(step(&mut m, cpu), None);
        }
        assert_eq!((m.st.pc[1] as usize, m.st.installed), (unlock, 0b10));
        assert_eq!(r.ample(&m, &m.enabled()), Some(GChoice::step(2)));
        // Without khugepaged the PMD stays a table: the fault unlocks to retry.
        let q = prog(&format!(
            "{{ mode = native-64; readers = 1; pmd pmd = table(t0); }}
             {} {}",
            fault.replace("P1", "P0"),
            walker.replace("P2", "P1")
        ));
        let mut m = GMachine::new(q.clone(), false);
        for cpu in [1, 0, 0, 0] {
            assert_eq!(step(&mut m, cpu), None);
        }
        assert_eq!((m.st.pc[0] as usize, m.st.installed), (unlock - 1, 0));
        let r = Reduction::of(&q).unwrap();
        assert_eq!(r.ample(&m, &m.enabled()), None);
    }

    /// It does not apply under `kvm-pv-flush`, nor where the clause reads registers.
    #[test]
    fn the_reduction_applies_only_where_its_argument_holds() {
        let walker =
            "P1(gup_fast) { local_irq_save(); v = pmdp_get_lockless(pmd); local_irq_restore(); }";
        let file = |mode: &str| {
            format!(
                "{{ mode = {mode}; readers = 1; pmd pmd = table(t0); }}
                 P0(khugepaged) {{ x = pmdp_collapse_flush(pmd); pte_free_defer(x); }}
                 {walker}"
            )
        };
        assert!(Reduction::of(&prog(&file("xen-pv"))).is_some());
        assert!(Reduction::of(&prog(&file("kvm-pv-flush"))).is_none());
        let mut cfg = crate::preset("merged").unwrap().config;
        cfg.readers = 1;
        let mut p = (*from_classic(&cfg).unwrap()).clone();
        assert!(Reduction::of(&p).is_some());
        let words = crate::program::BUILTIN
            .iter()
            .filter_map(|(_, src)| from_classic(&crate::program::load(src).unwrap().1).ok())
            .find(|q| q.observes())
            .expect("a built-in file whose clause reads registers");
        assert!(Reduction::of(&words).is_none());
        p.cfg.platform = crate::general::Platform::Classic(crate::knob::Mode::KvmPvFlush);
        assert!(Reduction::of(&p).is_none());
    }
}
