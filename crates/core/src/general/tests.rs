//! The general machine's rules one at a time: each test builds a small file, steps it by
//! hand, and looks at the state the rule leaves.

use super::machine::{Life, Obj, NO_CPU};
use super::*;
use crate::hazard::{Hazard, Verdict};

/// A file's blocks under `exists (deadlock)`, compiled (also for the other modules' tests).
pub(super) fn prog(src: &str) -> Arc<GProgram> {
    let full = format!("tornsim t\n{src}\nexists (deadlock)\n");
    load(&full).unwrap_or_else(|e| panic!("{}", e.render(&full, "t")))
}

fn machine(src: &str) -> GMachine {
    GMachine::new(prog(src), false)
}

/// One step of `cpu`, which must be enabled (also for the other modules' tests).
pub(super) fn step(m: &mut GMachine, cpu: u8) -> Option<Hazard> {
    let ch = GChoice::step(cpu);
    assert!(m.is_enabled(ch), "CPU{cpu}: {:?}", m.why_disabled(ch));
    m.step(ch)
}

/// Runs CPU 0 to its end (or `limit` steps), taking `otherwise` where it cannot step,
/// and returns what each step was told as.
fn tell_cpu0(m: &mut GMachine, otherwise: GChoice, limit: usize) -> Vec<String> {
    let mut told = Vec::new();
    while m.st.pc[0] != ir::DONE && told.len() < limit {
        let step = GChoice::step(0);
        let ch = if m.is_enabled(step) { step } else { otherwise };
        told.push(m.describe(ch));
        m.step(ch);
    }
    told
}

/// An answer of `cpu`'s, which must be open (also for the other modules' tests).
pub(super) fn ack(m: &mut GMachine, cpu: u8) {
    let ch = GChoice::ack(cpu);
    assert!(m.is_enabled(ch), "ack CPU{cpu}: {:?}", m.why_disabled(ch));
    m.step(ch);
}

fn disabled(m: &GMachine, cpu: u8) -> String {
    m.why_disabled(GChoice::step(cpu)).expect("disabled")
}

/// One of the choices open in `m`, drawn by a xorshift step of `x`; `None` when none
/// is open.
pub(super) fn random_choice(m: &GMachine, x: &mut u64) -> Option<GChoice> {
    let en = m.enabled();
    if en.is_empty() {
        return None;
    }
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    Some(en[(*x % en.len() as u64) as usize])
}

#[test]
fn an_ipi_waits_for_every_target_and_an_irq_off_cpu_cannot_answer() {
    let mut m = machine(
        "{ mode = native-pae; readers = 1; pmd pmd = table(t0); }
         P0(khugepaged) { tlb_remove_table_sync_one(); pmd_clear(pmd); }
         P1(fault) { local_irq_save(); local_irq_restore(); }
         P2(gup_fast) { local_irq_save(); local_irq_restore(); }",
    );
    step(&mut m, 1); // CPU1 interrupts off
    step(&mut m, 0); // the sync: IPIs to 1 and 2
    assert_eq!(m.st.pending[0], 0b110);
    assert!(disabled(&m, 0).contains("waits for its IPIs"));
    assert!(!m.is_enabled(GChoice::ack(1)));
    assert!(m
        .why_disabled(GChoice::ack(1))
        .unwrap()
        .contains("interrupts disabled"));
    ack(&mut m, 2);
    assert_eq!(m.st.pending[0], 0b010, "one answer clears one target");
    step(&mut m, 1); // interrupts on
    ack(&mut m, 1);
    assert_eq!(m.st.pending[0], 0);
    assert!(m
        .why_disabled(GChoice::ack(1))
        .unwrap()
        .contains("no IPI pending"));
    step(&mut m, 0);
    assert_eq!(m.st.entries[0], 1 << 32, "PAE: pmd_low first");
    step(&mut m, 0);
    assert_eq!(m.st.entries[0], 0);
}

/// A walker the run's end stopped between iterations says so, even where its first
/// step would wait for a lock another walker holds.
#[test]
fn a_stopped_walker_is_not_spinning_on_a_lock_another_walker_holds() {
    let mut m = GMachine::new(
        prog(
            "{ mode = native-pae; readers = 2; pmd pmd = table(t0); }
             P0(khugepaged) { ptl = pmd_lock(pmd); spin_unlock(ptl); tlb_remove_table_sync_one(); }
             P1(walker) { ptl = pmd_lock(pmd); spin_unlock(ptl); }",
        ),
        true,
    );
    step(&mut m, 0);
    step(&mut m, 0);
    step(&mut m, 2); // the second walker takes the lock
    step(&mut m, 0); // the sync
    ack(&mut m, 1);
    ack(&mut m, 2);
    assert!(m.writers_done());
    assert!(!m.is_enabled(GChoice::step(1)));
    let why = disabled(&m, 1);
    assert!(why.contains("starts no new iteration"), "{why}");
    // Before the end, a walker at a held lock spins on it.
    let mut m = GMachine::new(m.prog.clone(), true);
    step(&mut m, 2);
    assert!(
        disabled(&m, 1).contains("spins on a lock"),
        "{}",
        disabled(&m, 1)
    );
}

/// Two senders owing one CPU an IPI: it can take it (not one owed IPI cancelling
/// the other), and a walker that cannot is refused for its own reason, not the
/// host's, outside `kvm-pv-flush`.
#[test]
fn an_ipi_two_senders_owe_is_deliverable_and_a_native_walker_is_not_the_hosts() {
    let two = "{ mode = MODE; readers = 1; pmd pmd = table(t0); }
         P0(khugepaged) { tlb_remove_table_sync_one(); }
         P1(khugepaged) { tlb_remove_table_sync_one(); }
         P2(gup_fast) { local_irq_save(); local_irq_restore(); }";
    let mut m = machine(&two.replace("MODE", "kvm-pv-flush"));
    step(&mut m, 0);
    step(&mut m, 1);
    assert_eq!(
        (m.st.pending[0] & 0b100, m.st.pending[1] & 0b100),
        (0b100, 0b100)
    );
    assert_eq!(m.describe(GChoice::ack(2)), "answers the IPI");
    ack(&mut m, 2);
    assert_eq!(m.st.preempted, 0, "delivered, not preempted");
    let mut m = machine(&two.replace("MODE", "native-pae"));
    step(&mut m, 2); // interrupts off
    step(&mut m, 0);
    assert!(m
        .why_disabled(GChoice::ack(2))
        .unwrap()
        .contains("interrupts disabled"));
}

/// Random runs keep each sender's IPIs from step to step: two senders (CPUs 0 and 1)
/// with IPIs out at once, answered in every order, and every run ends (debug builds
/// also hold the kept masks to a fresh count after every step).
#[test]
fn random_runs_keep_two_senders_ipis_apart() {
    let p = prog(
        "{ mode = native-pae; readers = 1; pmd pmd = table(t0); }
         P0(khugepaged) { tlb_remove_table_sync_one(); tlb_remove_table_sync_one(); }
         P1(khugepaged) { tlb_remove_table_sync_one(); tlb_remove_table_sync_one(); }
         P2(gup_fast) { local_irq_save(); local_irq_restore(); }",
    );
    let s = GBatch::new(&p, 7).run(300).clone();
    assert_eq!((s.runs, s.cut), (300, 0));
    assert!(s.hazards.iter().all(|&(_, n)| n == 0), "{:?}", s.hazards);
}

#[test]
fn the_flush_reaches_mm_cpumask_only_and_only_when_it_is_an_ipi() {
    let src = "{ mode = MODE; readers = 2; pmd pmd = table(t0); }
         P0(khugepaged) { x = pmdp_collapse_flush(pmd); }
         P1(fault) { local_irq_save(); local_irq_restore(); }
         P2(gup_fast) { local_irq_save(); local_irq_restore(); }
         P3(walker) { local_irq_save(); local_irq_restore(); }";
    let mut m = machine(&src.replace("MODE", "native-pae"));
    step(&mut m, 0);
    step(&mut m, 0);
    assert_eq!(
        m.st.pending[0], 0b0110,
        "the fault and GUP-fast, not the walker"
    );
    let mut m = machine(&src.replace("MODE", "xen-pv"));
    step(&mut m, 0);
    step(&mut m, 0);
    assert_eq!(m.st.pending[0], 0, "a hypercall");
    assert_eq!(m.st.pc[0], ir::DONE);
}

#[test]
fn the_v3_flush_skips_the_sync_only_when_it_sent_ipis() {
    let src = "{ mode = MODE; readers = 1; pmd pmd = table(t0); }
         P0(khugepaged) { x = pmdp_collapse_flush_sync(pmd); pmd_clear(pmd); }
         P1(gup_fast) { local_irq_save(); local_irq_restore(); }";
    // native: the flush IPIs GUP-fast, the sync is skipped.
    let mut m = machine(&src.replace("MODE", "native-pae"));
    step(&mut m, 0);
    step(&mut m, 0);
    ack(&mut m, 1);
    step(&mut m, 0); // the clear of pmd_clear(), not a sync
    assert_eq!(m.st.pending[0], 0);
    // xen-pv: no IPI from the hypercall, so the sync runs.
    let mut m = machine(&src.replace("MODE", "xen-pv"));
    step(&mut m, 0);
    step(&mut m, 0);
    assert_eq!(m.st.pending[0], 0);
    step(&mut m, 0);
    assert_eq!(m.st.pending[0], 0b10, "the sync broadcast");
}

#[test]
fn spinlocks_exclude_and_trylock_branches() {
    let mut m = machine(
        "{ pmd pmd = table(t0); }
         P0(khugepaged) { ptl = pmd_lock(pmd); spin_unlock(ptl); }
         P1(fault) { ptl = pmd_lock(pmd); spin_unlock(ptl); }",
    );
    step(&mut m, 0);
    assert_eq!(m.st.spin[0], 0);
    assert!(disabled(&m, 1).contains("spins on a lock"));
    step(&mut m, 0);
    assert_eq!(m.st.spin[0], NO_CPU);
    step(&mut m, 1);
    assert_eq!(m.st.spin[0], 1);
    step(&mut m, 1);
    assert_eq!(m.st.spin[0], NO_CPU);
}

#[test]
fn a_trylock_takes_a_free_lock_and_branches_away_from_a_held_one() {
    let mut m = machine(
        "{ pmd a = table(t0); pmd b = none; }
         P0(khugepaged) { pb = pmd_lock(b); pa = pmd_lock(a); spin_unlock(pb);
             if (spin_trylock(pb)) { spin_unlock(pb); } spin_unlock(pa); }
         P1(fault) { pb = pmd_lock(b); spin_unlock(pb); }",
    );
    for _ in 0..3 {
        step(&mut m, 0);
    }
    step(&mut m, 0);
    assert_eq!(m.st.spin[1], 0, "taken");
    step(&mut m, 0);
    assert_eq!(m.st.spin[1], NO_CPU);
    // Again, with the fault holding it: the trylock fails and skips the then arm.
    let mut m = machine(
        "{ pmd a = table(t0); pmd b = none; }
         P0(khugepaged) { pb = pmd_lock(b); pa = pmd_lock(a); spin_unlock(pb);
             if (spin_trylock(pb)) { spin_unlock(pb); } spin_unlock(pa); }
         P1(fault) { pb = pmd_lock(b); spin_unlock(pb); }",
    );
    for _ in 0..3 {
        step(&mut m, 0);
    }
    step(&mut m, 1);
    let pc = m.st.pc[0];
    step(&mut m, 0);
    assert_eq!(
        (m.st.pc[0], m.st.spin[1]),
        (pc + 2, 1),
        "failed: past the then arm"
    );
}

#[test]
fn reader_writer_locks_share_reads_and_exclude_writes() {
    let mut m = machine(
        "{ pmd pmd = table(t0); }
         P0(madvise) { mmap_read_lock(); mmap_read_unlock(); }
         P1(munmap) { mmap_read_lock(); mmap_read_unlock(); }
         P2(mremap) { mmap_write_lock(); mmap_write_unlock(); i_mmap_lock_write(); i_mmap_unlock_write(); }",
    );
    step(&mut m, 0);
    step(&mut m, 1);
    assert_eq!(m.st.rw[0], (NO_CPU, 0b11));
    assert!(disabled(&m, 2).contains("sleeps"));
    step(&mut m, 0);
    step(&mut m, 1);
    step(&mut m, 2);
    assert_eq!(m.st.rw[0], (2, 0));
    step(&mut m, 2);
    assert_eq!(m.st.rw[0], (NO_CPU, 0));
    step(&mut m, 2);
    assert_eq!(m.st.rw[1], (2, 0), "i_mmap_rwsem is its own lock");
    step(&mut m, 2);
    assert_eq!(m.st.rw[1], (NO_CPU, 0));
    let mut m = machine(
        "{ pmd pmd = table(t0); }
         P0(madvise) { mmap_write_lock(); mmap_write_unlock(); }
         P1(munmap) { mmap_read_lock(); mmap_read_unlock(); }",
    );
    step(&mut m, 0);
    assert!(
        disabled(&m, 1).contains("sleeps"),
        "no reader beside a writer"
    );
}

#[test]
fn the_vma_lock_fails_readers_while_written_and_the_writer_waits_for_readers() {
    let mut m = machine(
        "{ pmd pmd = table(t0); }
         P0(khugepaged) { mmap_write_lock(); vma_start_write(); mmap_write_unlock(); }
         P1(fault) { if (vma_start_read()) { vma_end_read(); } pmd_clear(pmd); }",
    );
    step(&mut m, 1); // the read lock, taken
    assert_eq!(m.st.vma, (NO_CPU, 0b10));
    step(&mut m, 0);
    assert!(disabled(&m, 0).contains("VMA's readers"));
    step(&mut m, 1); // vma_end_read()
    step(&mut m, 0);
    assert_eq!(m.st.vma, (0, 0));
    let mut m = machine(
        "{ pmd pmd = table(t0); }
         P0(khugepaged) { mmap_write_lock(); vma_start_write(); mmap_write_unlock(); }
         P1(fault) { if (vma_start_read()) { vma_end_read(); } pmd_clear(pmd); }",
    );
    step(&mut m, 0);
    step(&mut m, 0);
    let pc = m.st.pc[1];
    step(&mut m, 1);
    assert_eq!(m.st.pc[1], pc + 2, "write-locked: the fault falls back");
    assert_eq!(m.st.vma.1, 0);
    step(&mut m, 0);
    assert_eq!(
        m.st.vma.0, NO_CPU,
        "mmap_write_unlock() ends the VMA write lock"
    );
    // A task that holds the VMA's read lock and write-locks it waits for itself:
    // a deadlock, as down_write() on its own vm_lock is (on CPU 1, where a mask
    // that left out the CPU's own bit by its number would differ from one that
    // left out bit 0).
    let p = prog(
        "{ pmd pmd = table(t0); }
         P0(khugepaged) { pmd_clear(pmd); }
         P1(madvise) { mmap_write_lock(); if (vma_start_read()) { vma_start_write(); vma_end_read(); } mmap_write_unlock(); }",
    );
    let mut m = GMachine::new(p.clone(), false);
    step(&mut m, 1);
    step(&mut m, 1); // its own read lock
    assert_eq!(m.st.vma, (NO_CPU, 0b10));
    assert!(disabled(&m, 1).contains("VMA's readers"));
    let r = check(&p, GCheckOptions::default());
    assert_eq!(r.verdict, Verdict::Deadlock);
}

/// A walker's next iteration starts with its locals none, as its first did: a local
/// set under an `if` reads none where the branch was not taken, never the last
/// iteration's value (here a table freed since: mapping it would be a stale use).
#[test]
fn a_walkers_next_iteration_starts_with_its_locals_none() {
    let p = prog(
        "{ mode = native-64; readers = 1; pmd pmd = table(t0); }
         P0(khugepaged) { x = pmdp_huge_get_and_clear(pmd); tlb_remove_table_sync_one(); pte_free(x); }
         P1(gup_fast) { local_irq_save(); v = pmdp_get_lockless(pmd); if (pmd_present(v)) w = pmdp_get_lockless(pmd); ptep = pte_offset_map(w); local_irq_restore(); }",
    );
    let w = p.local_names(1).iter().position(|n| n == "w").unwrap() as u8;
    let mut m = GMachine::new(p.clone(), false);
    // irq off, two loads, the test, the map, irq on: `w` held t0.
    for _ in 0..5 {
        assert_eq!(step(&mut m, 1), None);
    }
    assert_ne!(m.local(1, w), 0);
    step(&mut m, 1);
    assert_eq!(m.st.pc[1], p.entry[1]);
    assert_eq!(m.local(1, w), 0);
    let r = check(&p, GCheckOptions::default());
    assert_eq!(r.verdict, Verdict::Safe);
}

/// The timeline shows a local as not set again once the machine has dropped it: a
/// walker's at its next iteration, a finished block's at its end.
#[test]
fn the_timeline_unsets_a_walkers_locals_each_iteration_and_a_finished_blocks() {
    let p = prog(
        "{ mode = native-64; readers = 1; pmd pmd = table(t0); }
         P0(khugepaged) { x = pmdp_huge_get_and_clear(pmd); y = pmdp_get(pmd); }
         P1(gup_fast) { v = pmdp_get_lockless(pmd); w = pmdp_get_lockless(pmd); }",
    );
    let choices = [1, 1, 0, 0].map(GChoice::step);
    let t = timeline::timeline(&p, &encode(&p, &choices)).unwrap();
    let row = |pos: usize, name: &str| {
        let rows = t.state_at(pos);
        rows.iter().find(|r| r.0 == name).unwrap().1.clone()
    };
    let set = |pos, name| row(pos, name) != "not set";
    assert_eq!(
        [set(0, "P1 v"), set(1, "P1 v"), set(2, "P1 v")],
        [false, true, false]
    );
    assert_eq!(
        [set(2, "P0 x"), set(3, "P0 x"), set(4, "P0 x")],
        [false, true, false]
    );
}

#[test]
fn an_rcu_free_waits_for_the_cpus_that_had_interrupts_off() {
    let mut m = machine(
        "{ readers = 2; pmd pmd = table(t0); }
         P0(khugepaged) { x = pmdp_huge_get_and_clear(pmd); pte_free_defer(x); }
         P1(gup_fast) { local_irq_save(); local_irq_restore(); }
         P2(gup_fast) { local_irq_save(); local_irq_restore(); }",
    );
    step(&mut m, 1);
    step(&mut m, 2);
    step(&mut m, 0);
    step(&mut m, 0);
    assert_eq!(m.st.tables[0], Life::Queued(0b110));
    step(&mut m, 1);
    assert_eq!(m.st.tables[0], Life::Queued(0b100));
    step(&mut m, 2);
    assert_eq!(m.st.tables[0], Life::Freed);
    // With nobody inside, it is freed at once; and `free = immediate` makes it pte_free().
    let mut m = machine(
        "{ free = immediate; readers = 1; pmd pmd = table(t0); }
         P0(khugepaged) { x = pmdp_huge_get_and_clear(pmd); pte_free_defer(x); }
         P1(gup_fast) { local_irq_save(); local_irq_restore(); }",
    );
    step(&mut m, 1);
    step(&mut m, 0);
    step(&mut m, 0);
    assert_eq!(m.st.tables[0], Life::Freed);
}

#[test]
fn a_quiescent_state_completes_the_queued_free_of_any_table() {
    // The second table's free, not only the first's, waits for the walker and ends
    // when it enables interrupts.
    let mut m = machine(
        "{ readers = 1; pmd a = table(t0); pmd b = table(t1); }
         P0(khugepaged) { x = pmdp_huge_get_and_clear(b); pte_free_defer(x); }
         P1(gup_fast) { local_irq_save(); local_irq_restore(); }",
    );
    step(&mut m, 1);
    step(&mut m, 0);
    step(&mut m, 0);
    assert_eq!(m.st.tables, [Life::Live, Life::Queued(0b10)]);
    step(&mut m, 1);
    assert_eq!(m.st.tables, [Life::Live, Life::Freed]);
}

#[test]
fn an_rcu_free_inside_the_freeing_cpus_own_irq_off_section_waits_for_its_end() {
    // An IRQ-off section is an RCU-sched read-side section, the freeing CPU's too.
    let mut m = machine(
        "{ pmd pmd = table(t0); }
         P0(khugepaged) { x = pmdp_huge_get_and_clear(pmd); }
         P1(madvise) { local_irq_save(); pte_free_defer(t0); local_irq_restore(); }",
    );
    step(&mut m, 0);
    step(&mut m, 1);
    step(&mut m, 1);
    assert_eq!(m.st.tables[0], Life::Queued(0b10));
    step(&mut m, 1);
    assert_eq!(m.st.tables[0], Life::Freed);
}

#[test]
fn tlb_remove_table_is_rcu_only_with_the_rcu_table_free_config() {
    for (paravirt, want) in [("on", Life::Queued(0b10)), ("off", Life::Freed)] {
        let mut m = machine(&format!(
            "{{ mode = native-64; flush = invlpgb; paravirt = {paravirt}; readers = 1; pmd pmd = table(t0); }}
             P0(khugepaged) {{ x = pmdp_huge_get_and_clear(pmd); tlb_remove_table(x); }}
             P1(gup_fast) {{ local_irq_save(); local_irq_restore(); }}"
        ));
        step(&mut m, 1);
        step(&mut m, 0);
        step(&mut m, 0);
        assert_eq!(m.st.tables[0], want, "paravirt = {paravirt}");
    }
}

#[test]
fn freeing_a_table_that_maps_a_page_is_a_hazard() {
    let mut m = machine(
        "{ pmd pmd = table(t0); pte t0[2] = page(a); page a = 1; }
         P0(khugepaged) { pte_free(t0); pte_free(t0); }",
    );
    assert_eq!(step(&mut m, 0), Some(Hazard::NonemptyFree));
    assert_eq!(m.st.tables[0], Life::Freed);
    // A second free of a freed table changes nothing (and says the same).
    assert_eq!(step(&mut m, 0), Some(Hazard::NonemptyFree));
    assert_eq!(m.st.tables[0], Life::Freed);
    let mut m = machine("{ pmd pmd = table(t0); } P0(khugepaged) { pte_free(t0); }");
    assert_eq!(step(&mut m, 0), None);
}

#[test]
fn page_counts_rise_fall_and_refuse_zero() {
    let mut m = machine(
        "{ pmd pmd = table(t0); page a = 1; }
         P0(munmap) { put_page(a); put_page(a); get_page(a); }",
    );
    assert_eq!(step(&mut m, 0), None);
    assert_eq!(m.st.counts[0], 0);
    assert_eq!(step(&mut m, 0), Some(Hazard::FreedPage), "below zero");
    assert_eq!(m.st.counts[0], 0);
    assert_eq!(step(&mut m, 0), Some(Hazard::FreedPage), "from zero");
    assert_eq!(m.st.counts[0], 1);
    let mut m = machine(
        "{ pmd pmd = table(t0); page a = 0; page b = 2; }
         P0(munmap) { if (try_get_page(a)) { put_page(a); } if (try_get_page(b)) { put_page(b); } }",
    );
    let pc = m.st.pc[0];
    step(&mut m, 0);
    assert_eq!((m.st.pc[0], m.st.counts[0]), (pc + 2, 0), "fails on zero");
    step(&mut m, 0);
    assert_eq!(m.st.counts[1], 3);
    step(&mut m, 0);
    assert_eq!(m.st.counts[1], 2);
}

#[test]
fn a_page_is_pinned_when_it_has_more_references_than_mappings() {
    let src = "{ pmd pmd = table(t0); pte t0[0] = page(a); pte t0[1] = page(a); page a = COUNT; }
         P0(khugepaged) { if (folio_maybe_dma_pinned(a)) { put_page(a); } pmd_clear(pmd); }";
    for (count, pinned) in [(2, false), (3, true)] {
        let mut m = machine(&src.replace("COUNT", &count.to_string()));
        let pc = m.st.pc[0];
        step(&mut m, 0);
        assert_eq!(m.st.pc[0] == pc + 1, pinned, "count {count}");
    }
}

#[test]
fn a_freed_tables_ptes_map_nothing_for_the_pinned_check() {
    // The page has a reference for each of its two mappings; once t0 (the first table,
    // whose first PTE maps it) is freed, that mapping no longer counts, so the page has
    // more references than mappings: pinned.
    let mut m = machine(
        "{ mode = native-64; pmd pmd = table(t0); pmd q = table(t1); pte t0[0] = page(a);
           pte t1[0] = page(a); page a = 2; }
         P0(khugepaged) { x = pmdp_huge_get_and_clear(pmd); pte_free(x);
             if (folio_maybe_dma_pinned(a)) { pmd_clear(q); } }",
    );
    step(&mut m, 0);
    step(&mut m, 0);
    let pc = m.st.pc[0];
    step(&mut m, 0);
    assert_eq!(m.st.pc[0], pc + 1, "pinned: the then arm");
}

#[test]
fn a_pin_is_stale_when_the_run_ends_with_its_page_unmapped_where_it_was_found() {
    let head =
        "{ mode = native-64; readers = 1; pmd pmd = table(t0); pte t0[0] = page(a); page a = 1; }";
    let walker = "P1(gup_fast) { v = pmdp_get_lockless(pmd); t = pte_offset_map(v);
             pte = ptep_get_lockless(t, 0); if (try_get_page(pte)) { gup_return(pte); } }";
    let walk = |m: &mut GMachine| {
        let mut seen = None;
        for _ in 0..8 {
            seen = step(m, 1).or(seen);
            if m.st.pc[1] == m.program().entry[1] {
                break;
            }
        }
        seen
    };
    // Pinned and handed out while mapped; the PMD cleared after: the run ends with the
    // caller's page mapped nowhere it was found.
    let mut m = machine(&format!(
        "{head} P0(khugepaged) {{ x = pmdp_huge_get_and_clear(pmd); }} {walker}"
    ));
    assert_eq!(walk(&mut m), None, "the run is not over: no judgement yet");
    assert_eq!(m.st.counts[0], 2, "the caller's pin");
    assert_eq!(walk(&mut m), None);
    assert_eq!(
        m.st.counts[0], 2,
        "a second pin on the same page and place is the first"
    );
    assert_eq!(m.st.held, vec![(0, 0, 0)]);
    assert_eq!(
        step(&mut m, 0),
        Some(Hazard::StalePin),
        "the clear ends the run"
    );
    // Cleared, handed out while cleared, then put back (a collapse that backs off): the
    // page is mapped where it was found when the run is over.
    let mut m = machine(&format!(
        "{head} P0(khugepaged) {{ x = pmdp_huge_get_and_clear(pmd); pmd_populate(pmd, x); }} {walker}"
    ));
    for _ in 0..3 {
        step(&mut m, 1);
    }
    step(&mut m, 0);
    assert_eq!(walk(&mut m), None);
    assert_eq!(m.st.held, vec![(0, 0, 0)]);
    assert_eq!(step(&mut m, 0), None, "restored");
    assert!(m.finished());
}

/// A pin's place is its PMD, the table that PMD points to (a freed one maps nothing) and
/// the PTE at its index; a step's own hazard outranks the judgement at the run's end.
#[test]
fn a_pin_is_judged_at_its_own_pte_of_a_live_table() {
    // The PMD's table is the second declared (t0 is allocated but mapped nowhere).
    let file = |index: u8, writer: &str| {
        format!(
            "{{ mode = native-64; readers = 1; table t0; pmd pmd = table(t1); pte t1[{index}] = page(a); page a = 1; }}
             P0(khugepaged) {{ {writer} }}
             P1(gup_fast) {{ v = pmdp_get_lockless(pmd); t = pte_offset_map(v);
                 pte = ptep_get_lockless(t, {index}); if (try_get_page(pte)) {{ gup_return(pte); }} }}"
        )
    };
    let walk = |m: &mut GMachine| {
        while m.st.held.is_empty() {
            assert_eq!(step(m, 1), None);
        }
        while m.st.pc[1] != m.program().entry[1] {
            assert_eq!(step(m, 1), None);
        }
    };
    // Still mapped at PTE 1 when the run ends.
    let mut m = machine(&file(1, "mmap_read_lock(); mmap_read_unlock();"));
    walk(&mut m);
    assert_eq!(m.st.held, vec![(0, 1, 0)]);
    assert_eq!(step(&mut m, 0), None);
    assert_eq!(step(&mut m, 0), None, "the last step: still mapped");
    assert!(m.finished());
    // The table freed under the PMD (its PTE still says page a): mapped nowhere.
    let free = "v = pmdp_get(pmd); t = pte_offset_map(v); pte_free(t);";
    let mut m = machine(&file(
        0,
        &format!("{free} mmap_read_lock(); mmap_read_unlock();"),
    ));
    walk(&mut m);
    let mut seen = Vec::new();
    while !m.finished() {
        seen.push(step(&mut m, 0));
    }
    assert_eq!(seen.last(), Some(&Some(Hazard::StalePin)), "{seen:?}");
    assert!(seen.contains(&Some(Hazard::NonemptyFree)));
    // The free the last step: its own hazard is the one the step reports.
    let mut m = machine(&file(0, free));
    walk(&mut m);
    let mut last = None;
    while !m.finished() {
        last = step(&mut m, 0);
    }
    assert_eq!(last, Some(Hazard::NonemptyFree));
}

#[test]
fn values_decode_to_the_objects_they_name() {
    let m = machine(
        "{ pmd pmd = table(t0); pmd h = huge(b); pte t0[0] = page(a); page a = 1; page b = 1; }
         P0(khugepaged) { pmd_clear(pmd); }",
    );
    let p = m.program().clone();
    assert_eq!(m.decode(0), Obj::None);
    assert_eq!(m.decode(p.table_value(0)), Obj::Table(0));
    assert_eq!(m.decode(p.huge_value(1)), Obj::Huge(1));
    assert_eq!(m.decode(p.page_value(0)), Obj::Page(0));
    assert_eq!(
        m.decode(p.table_value(0) & !0xffff_ffff),
        Obj::Unknown,
        "a high word alone"
    );
    assert_eq!(m.decode(0x7777_7067), Obj::Unknown);
    assert_eq!(
        m.decode(0x7777_70e7),
        Obj::Unknown,
        "a huge page nobody declared"
    );
    assert_eq!(m.st.entries[..2], [p.table_value(0), p.huge_value(1)]);
    assert_eq!(p.entry_name(0), "pmd");
    assert_eq!(p.entry_name(2), "t0[0]");
    assert_eq!(p.lock_name(1), "pmd_lock(h)");
    assert_eq!(p.lock_name(2), "pte_lockptr(t0)");
    assert_eq!(p.entries(), 2 + compile_ptes());
}

fn compile_ptes() -> usize {
    ir::PTES
}

#[test]
fn same_frame_waits_for_the_old_table_and_decodes_to_the_live_one() {
    let mut m = machine(
        "{ alloc = same-frame; pmd pmd = table(t0); }
         P0(khugepaged) { x = pmdp_huge_get_and_clear(pmd); pte_free(x); }
         P1(fault) { t = pte_alloc_one(); pmd_populate(pmd, t); }",
    );
    assert!(disabled(&m, 1).contains("old frame"));
    step(&mut m, 0);
    step(&mut m, 0);
    step(&mut m, 1);
    assert_eq!(m.st.tables, [Life::Freed, Life::Live]);
    let v = m.program().table_value(0);
    assert_eq!(
        m.decode(v),
        Obj::Table(1),
        "the same frame, now the new table"
    );
    step(&mut m, 1);
    assert_eq!(m.st.entries[0], v);
    assert_eq!(m.st.installed, 0b10);
}

#[test]
fn split_stores_write_one_half_each() {
    let mut m = machine(
        "{ clear = split-low-first; set = split-high-first; pmd pmd = table(t0); pmd n = none; }
         P0(khugepaged) { x = pmdp_huge_get_and_clear(pmd); pmd_populate(n, x); }",
    );
    let old = m.st.entries[0];
    step(&mut m, 0);
    assert_eq!(m.st.entries[0], old & !0xffff_ffff, "the low word first");
    step(&mut m, 0);
    assert_eq!(m.st.entries[0], 0);
    step(&mut m, 0);
    assert_eq!(m.st.entries[1], old & !0xffff_ffff, "the high word first");
    assert_eq!(m.st.installed, 0, "half a table is not installed");
    step(&mut m, 0);
    assert_eq!(m.st.entries[1], old);
    assert_eq!(
        m.st.installed, 1,
        "set by the store that completes the table"
    );
    // Mapping a page at a PTE installs no table.
    let mut m = machine(
        "{ mode = native-64; pmd pmd = table(t0); page a = 1; }
         P0(fault) { set_pte(t0, 1, a); }",
    );
    step(&mut m, 0);
    assert_eq!(
        (m.st.entries[2], m.st.installed),
        (m.program().page_value(0), 0)
    );
}

#[test]
fn a_none_or_huge_source_installs_a_bogus_table() {
    for init in ["none", "huge(h)"] {
        let mut m = machine(&format!(
            "{{ mode = native-64; page h = 1; pmd pmd = {init}; pmd n = none; }}
             P0(mremap) {{ v = pmdp_get(pmd); pmd_populate(n, v); }}"
        ));
        step(&mut m, 0);
        let v = m.st.locals[0];
        assert_eq!(step(&mut m, 0), Some(Hazard::BogusTable), "{init}");
        assert_eq!(
            m.st.entries[1], v,
            "{init}: the bogus value itself is installed"
        );
        assert_eq!(m.st.installed, 1, "pmd_populate() ran to its end");
    }
}

#[test]
fn a_stale_map_and_a_read_through_a_freed_table_are_told_apart() {
    let mut m = machine(
        "{ readers = 1; pmd pmd = table(t0); pte t0[1] = page(a); page a = 1; }
         P0(khugepaged) { x = pmdp_huge_get_and_clear(pmd); pte_free(t0); }
         P1(walker) { v = pmdp_get_lockless(pmd); t = pte_offset_map(v); pte = ptep_get_lockless(t, 1); }",
    );
    step(&mut m, 1); // the PMD, read whole on... PAE: three loads
    step(&mut m, 1);
    step(&mut m, 1);
    step(&mut m, 1); // mapped while live
    step(&mut m, 0);
    assert_eq!(step(&mut m, 0), Some(Hazard::NonemptyFree));
    assert_eq!(step(&mut m, 1), Some(Hazard::FreedTable), "the PTE load");
    let mut m = machine(
        "{ readers = 1; pmd pmd = table(t0); }
         P0(khugepaged) { x = pmdp_huge_get_and_clear(pmd); pte_free(t0); }
         P1(walker) { v = pmdp_get_lockless(pmd); t = pte_offset_map(v); }",
    );
    for _ in 0..3 {
        step(&mut m, 1);
    }
    step(&mut m, 0);
    step(&mut m, 0);
    assert_eq!(step(&mut m, 1), Some(Hazard::Stale));
}

#[test]
fn the_write_log_keeps_only_what_reads_in_progress_need() {
    let mut m = machine(
        "{ readers = 1; pmd pmd = table(t0); pmd b = none; }
         P0(khugepaged) { pmd_clear(b); pmd_clear(pmd); pmd_clear(b); }
         P1(gup_fast) { v = pmdp_get_lockless(pmd); }",
    );
    step(&mut m, 0);
    assert!(m.st.log.is_empty(), "no read in progress: nothing logged");
    step(&mut m, 1); // the read's first load
    step(&mut m, 0);
    step(&mut m, 0);
    assert_eq!(m.st.log.len(), 2);
    step(&mut m, 1);
    step(&mut m, 1); // the re-check: the low word changed, so it retries
    assert_eq!(m.st.log.len(), 2, "the retried read keeps where it began");
    step(&mut m, 1);
    step(&mut m, 1);
    step(&mut m, 1);
    assert!(m.st.log.is_empty(), "the read returned: the log is dropped");
    assert_eq!(m.st.reads[1], machine::ReadReg::START);
}

#[test]
fn crossed_locks_deadlock_and_the_search_says_so_with_the_stuck_state() {
    let p = prog(
        "{ pmd a = table(t0); pmd b = none; }
         P0(mremap) { x = pmd_lock(a); y = pmd_lock(b); spin_unlock(y); spin_unlock(x); }
         P1(munmap) { y = pmd_lock(b); x = pmd_lock(a); spin_unlock(x); spin_unlock(y); }",
    );
    let r = check(&p, GCheckOptions::default());
    assert_eq!(r.verdict, Verdict::Deadlock);
    let w = r.witness.clone().unwrap();
    assert_eq!(w.len(), 2);
    let t = replay(&p, &w).unwrap();
    assert!(t.deadlock && t.text(&p).contains("deadlock"));
    assert_eq!(r.claim(&p), Some(true));
    assert_eq!(r.depth, 2, "the stuck state's depth");
    // A clause that does not name deadlock cannot say whether its claim holds.
    let mut q = (*p).clone();
    q.exists.hazards = vec![Hazard::Torn];
    assert_eq!(r.claim(&q), None);
    q.exists.negated = true;
    assert_eq!(r.claim(&q), None);
}

#[test]
fn budgets_end_a_search_as_incomplete() {
    let p = prog(
        "{ readers = 2; pmd pmd = table(t0); }
         P0(khugepaged) { x = pmdp_collapse_flush(pmd); pte_free_defer(x); }
         P1(gup_fast) { local_irq_save(); v = pmdp_get_lockless(pmd); local_irq_restore(); }",
    );
    let full = check(&p, GCheckOptions::default());
    assert_eq!(full.verdict, Verdict::Safe);
    assert!(full.states > 20);
    assert!(full.transitions >= full.states, "{full:?}");
    let r = check(
        &p,
        GCheckOptions {
            max_states: 10,
            ..GCheckOptions::default()
        },
    );
    assert_eq!(
        (r.verdict, r.stopped_by.as_deref()),
        (Verdict::Incomplete, Some("the state budget"))
    );
    assert_eq!(r.claim(&p), None);
    let r = check(
        &p,
        GCheckOptions {
            max_depth: 2,
            ..GCheckOptions::default()
        },
    );
    assert_eq!(
        (r.verdict, r.stopped_by.as_deref()),
        (Verdict::Incomplete, Some("the depth budget"))
    );
    assert_eq!(r.depth, 2);
}

#[test]
fn runs_end_when_the_writers_are_done_and_walkers_stop_at_their_first_line() {
    let p = prog(
        "{ mode = native-64; readers = 1; pmd pmd = table(t0); }
         P0(khugepaged) { pmd_clear(pmd); }
         P1(gup_fast) { local_irq_save(); local_irq_restore(); }",
    );
    let mut m = GMachine::new(p.clone(), true);
    assert!(!m.writers_done() && !m.finished());
    step(&mut m, 1);
    step(&mut m, 0);
    assert!(m.writers_done() && !m.finished(), "the walker is inside");
    step(&mut m, 1);
    assert!(m.finished());
    assert!(disabled(&m, 1).contains("no new iteration"));
    assert!(disabled(&m, 0).contains("has finished"));
    let s = GBatch::new(&p, 1).run(50).clone();
    assert_eq!((s.runs, s.cut, s.first.clone()), (50, 0, None));
    // Each run is the clear and at most a few walker iterations: between 1 and 20 steps.
    assert!(s.steps >= 50 && s.steps <= 50 * 20, "{}", s.steps);
    assert_eq!(s.count(Hazard::Torn), 0);
}

#[test]
fn schedules_refuse_what_they_cannot_replay() {
    let p = prog("{ pmd pmd = table(t0); } P0(khugepaged) { pmd_clear(pmd); }");
    let s = encode(&p, &[GChoice::step(0)]);
    assert_eq!(decode(&p, &s).unwrap(), vec![GChoice::step(0)]);
    let bad = |s: &str| decode(&p, s).unwrap_err();
    assert!(bad("tg1.x").contains("four"));
    assert!(bad(&s.replacen("tg1", "tg9", 1)).contains("version"));
    let mut cut = s.clone();
    cut.pop();
    assert!(bad(&cut).contains("checksum"));
    let q = prog("{ pmd pmd = table(t0); } P0(khugepaged) { pmd_clear(pmd); pmd_clear(pmd); }");
    assert!(decode(&q, &s).unwrap_err().contains("another scenario"));
    // Replay refuses a step that cannot run, naming it.
    let e = replay(&p, &[GChoice::ack(0)]).unwrap_err();
    assert!(e.contains("step 0") && e.contains("P0(khugepaged)"), "{e}");
    let e = replay(&p, &[GChoice::step(5)]).unwrap_err();
    assert!(e.contains("no CPU5"), "{e}");
}

/// Under TSO with an Intel x2APIC, the fence the machine puts before a flush's IPI is
/// told as `weak_wrmsr_fence()`'s wait; a fence the file writes is told by its own name.
#[test]
fn a_fence_before_an_ipi_is_told_apart_from_a_written_one() {
    let mut m = machine(
        "{ mode = native-64; flush = ipi; paravirt = off; memory = tso; apic = x2apic; readers = 1;
           pmd pmd = table(t0); }
         P0(khugepaged) { smp_mb(); x = pmdp_collapse_flush(pmd); }
         P1(gup_fast) { local_irq_save(); v = pmdp_get_lockless(pmd); local_irq_restore(); }",
    );
    let told = tell_cpu0(&mut m, GChoice::ack(1), 8);
    assert!(told[0].starts_with("smp_mb() (line"), "{told:?}");
    let fence =
        "pmdp_collapse_flush(): weak_wrmsr_fence(): wait for an empty store buffer before the IPI";
    assert_eq!(
        told.iter().filter(|t| t.starts_with(fence)).count(),
        1,
        "{told:?}"
    );
}

#[test]
fn traces_describe_each_step_in_kernel_terms() {
    let p = prog(
        "{ mode = xen-pv; readers = 1; pmd pmd = table(t0); }
         P0(khugepaged) { x = pmdp_collapse_flush(pmd); tlb_remove_table_sync_one(); }
         P1(gup_fast) { v = pmdp_get_lockless(pmd); }",
    );
    let steps = [
        (1, false),
        (0, false),
        (0, false),
        (1, false),
        (1, false),
        (0, false),
        (1, true),
    ];
    let w: Vec<GChoice> = steps
        .iter()
        .map(|&(cpu, ack)| GChoice {
            cpu,
            ack,
            drain: false,
        })
        .collect();
    let t = replay(&p, &w).unwrap();
    let text = t.text(&p);
    for want in [
        "load the low word",
        "xchg the entry to 0",
        "flush (hypercall): waits for no walker",
        "load the high word",
        "re-check the low word",
        "IPI every other CPU and wait",
        "answers the IPI",
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }
    let cols = t.columns(&p);
    assert!(
        cols.starts_with("P0(khugepaged)") && cols.contains("P1(gup_fast)"),
        "{cols}"
    );
}

#[test]
fn the_write_log_is_trimmed_to_the_oldest_read_still_in_progress() {
    let mut m = machine(
        "{ readers = 2; pmd pmd = table(t0); pmd b = table(t1); }
         P0(khugepaged) { pmd_clear(b); pmd_clear(b); }
         P1(gup_fast) { v = pmdp_get_lockless(pmd); }
         P2(gup_fast) { v = pmdp_get_lockless(pmd); }",
    );
    step(&mut m, 1); // CPU1's read begins: the log at 0
    step(&mut m, 0); // a write, logged
    step(&mut m, 2); // CPU2's read begins: the log at 1
    step(&mut m, 0); // another write
    assert_eq!(m.st.log.len(), 2);
    step(&mut m, 1);
    step(&mut m, 1); // CPU1's read returns
    assert_eq!(m.st.log.len(), 1, "only what CPU2's read needs");
    assert_eq!(m.st.reads[2].first_log, 0, "rebased");
}

#[test]
fn runs_report_a_deadlock_and_cut_a_livelock() {
    // Crossed locks, with a walker that could loop forever beside them: a run that
    // deadlocks says so, promptly, however the walker goes on.
    let p = prog(
        "{ mode = native-64; readers = 1; pmd a = table(t0); pmd b = none; }
         P0(mremap) { x = pmd_lock(a); y = pmd_lock(b); spin_unlock(y); spin_unlock(x); }
         P1(munmap) { y = pmd_lock(b); x = pmd_lock(a); spin_unlock(x); spin_unlock(y); }
         P2(gup_fast) { local_irq_save(); local_irq_restore(); }",
    );
    let s = GBatch::new(&p, 3).run(200).clone();
    let dead = s.count(Hazard::Deadlock);
    assert!(dead > 1 && dead < 200 && s.cut == 0, "{s:?}");
    assert_eq!(s.first.as_ref().map(|f| f.0), Some(Hazard::Deadlock));
    // The first hazardous run is the first by index: the same run found one at a time,
    // and later ones do not replace it.
    let mut one = GBatch::new(&p, 3);
    let first = (0..200).find_map(|_| one.run(1).first.clone());
    assert_eq!(first, s.first);
    assert!(
        s.steps < 200 * 50,
        "deadlocked runs end at once: {}",
        s.steps
    );
    // A fault that retries a table it never installs loops without end: cut.
    let p = prog(
        "{ mode = native-64; pmd pmd = table(t0); }
         P0(fault) { do { ptl = pmd_lock(pmd); spin_unlock(ptl); } while (!installed); }",
    );
    let s = GBatch::new(&p, 1).run(2).clone();
    assert_eq!((s.runs, s.cut), (2, 2));
    assert_eq!(s.steps, 2 * explore::MAX_RUN_STEPS);
    assert!(s.hazards.is_empty());
}

/// A drain of `cpu`'s buffer, which must be open (also for the other modules' tests).
pub(super) fn drain(m: &mut GMachine, cpu: u8) {
    let ch = GChoice::drain(cpu);
    assert!(m.is_enabled(ch), "drain CPU{cpu}: {:?}", m.why_disabled(ch));
    m.step(ch);
}

#[test]
fn under_tso_a_plain_store_waits_in_its_buffer_and_its_own_cpu_sees_it_first() {
    let mut m = machine(
        "{ mode = native-64; memory = tso; readers = 1; pmd pmd = table(t0); pte t0[0] = page(a); page a = 1; }
         P0(munmap) { pte_clear(t0, 0); v = ptep_get(t0, 0); x = ptep_get_and_clear(t0, 0); }
         P1(fault) { v = ptep_get(t0, 0); w = ptep_get(t0, 1); }",
    );
    let mapped = m.st.entries[1];
    assert_ne!(mapped, 0);
    step(&mut m, 0); // pte_clear(): buffered
    assert_eq!(m.st.entries[1], mapped, "memory still maps the page");
    assert_eq!(m.buffer_text(0), ["t0[0] = none"]);
    assert!(m.is_enabled(GChoice::drain(0)));
    assert!(!m.is_enabled(GChoice::drain(1)));
    assert!(m
        .why_disabled(GChoice::drain(1))
        .unwrap()
        .contains("store buffer is empty"));
    step(&mut m, 1); // another CPU loads memory: still mapped
    assert_eq!(m.local(1, 0), mapped);
    step(&mut m, 0); // its own load forwards from the buffer
    assert_eq!(m.local(0, 0), 0);
    // The xchg is locked: it waits for the buffer to drain.
    assert!(
        disabled(&m, 0).contains("store buffer to drain"),
        "{}",
        disabled(&m, 0)
    );
    assert!(!m.finished());
    drain(&mut m, 0);
    assert_eq!(m.st.entries[1], 0);
    assert!(m.st.sb[0].is_empty());
    step(&mut m, 0);
    step(&mut m, 1);
    assert!(m.finished());
}

#[test]
fn under_tso_half_stores_drain_in_order_and_keep_the_other_half_as_memory_holds_it() {
    let mut m = machine(
        "{ mode = native-pae; memory = tso; readers = 1; pmd pmd = table(t0); }
         P0(khugepaged) { pmd_clear(pmd); }
         P1(gup_fast) { v = pmdp_get(pmd); }",
    );
    let old = m.st.entries[0];
    step(&mut m, 0); // pmd_low = 0
    step(&mut m, 0); // pmd_high = 0
    assert_eq!(m.st.sb[0].len(), 2);
    assert_eq!(m.st.entries[0], old);
    assert!(m.describe(GChoice::drain(0)).contains("low word"));
    drain(&mut m, 0);
    assert_eq!(m.st.entries[0], old & !0xffff_ffff, "the low word first");
    drain(&mut m, 0);
    assert_eq!(m.st.entries[0], 0);
}

#[test]
fn under_tso_a_spin_unlock_is_buffered_and_an_interrupt_waits_for_an_empty_buffer() {
    let mut m = machine(
        "{ mode = native-64; memory = tso; readers = 1; pmd pmd = table(t0); }
         P0(khugepaged) { ptl = pmd_lock(pmd); spin_unlock(ptl); tlb_remove_table_sync_one(); }
         P1(fault) { ptl = pmd_lock(pmd); pte_clear(t0, 0); spin_unlock(ptl); }",
    );
    step(&mut m, 0);
    step(&mut m, 0); // the unlock waits in the buffer: the lock is still held
    assert_eq!(m.st.spin[0], 0);
    assert!(disabled(&m, 1).contains("spins"));
    // The sync is an ordered IPI: it waits for the buffer.
    assert!(disabled(&m, 0).contains("store buffer to drain"));
    drain(&mut m, 0);
    assert_eq!(m.st.spin[0], NO_CPU);
    step(&mut m, 1); // CPU1 takes the lock
    step(&mut m, 1); // and buffers a store
    step(&mut m, 0); // CPU0's IPI to CPU1
    assert!(!m.is_enabled(GChoice::ack(1)));
    assert!(m
        .why_disabled(GChoice::ack(1))
        .unwrap()
        .contains("before its store buffer drains"));
    drain(&mut m, 1);
    ack(&mut m, 1);
}

#[test]
fn a_bare_x2apic_flush_overtakes_the_clear_only_under_tso() {
    let file = scenario_text("tso-bare-x2apic-flush");
    let verdict = |from: &str, to: &str| {
        let p = load(&file.replace(from, to)).unwrap();
        check(&p, GCheckOptions::default()).verdict
    };
    assert_eq!(verdict("", ""), Verdict::Stale);
    assert_eq!(verdict("apic = x2apic", "apic = xapic"), Verdict::Safe);
    assert_eq!(verdict("apic = x2apic", "apic = x2apic-amd"), Verdict::Safe);
    assert_eq!(verdict("memory = tso", "memory = sc"), Verdict::Safe);
    assert_eq!(
        verdict("flush_tlb_others_ipi()", "flush_tlb_range(pmd)"),
        Verdict::Safe,
        "every flush path since ce4e240c279a fences first"
    );
    assert_eq!(
        verdict("pmd_clear(pmd)", "old = pmdp_huge_get_and_clear(pmd)"),
        Verdict::Safe,
        "a locked clear drains the buffer before the IPI"
    );
}

#[test]
fn a_tso_schedule_string_carries_drains() {
    let p = load(&scenario_text("tso-bare-x2apic-flush")).unwrap();
    let r = check(&p, GCheckOptions::default());
    let w = r.witness.expect("a witness");
    assert!(w.iter().any(|c| c.drain), "the witness drains a store");
    let s = encode(&p, &w);
    assert_eq!(decode(&p, &s).unwrap(), w);
    let t = replay(&p, &w).unwrap();
    assert!(t.text(&p).contains("drains"));
}

fn scenario_text(name: &str) -> String {
    builtin(name)
        .unwrap_or_else(|| panic!("no built-in general file {name}"))
        .to_string()
}

#[test]
fn a_report_of_a_file_with_readers_any_answers_for_every_walker_count() {
    let file = scenario_text("retract-v1-xen").replace("readers = 1", "readers = any");
    assert!(file.contains("readers = any"), "the file sets readers = 1");
    let p = load(&file).unwrap();
    assert!(p.cfg.any_readers);
    let r = report::report(&p, 1_000_000, 200, 1);
    assert_eq!(r.verdict, Verdict::Torn);
    let any = r.any.as_deref().expect("an any-count answer");
    assert!(any.contains("torn with 1 reader"), "{any}");
    assert!(any.contains("C1 holds, C2 holds, C3 holds"), "{any}");
    assert!(r.headline().contains("any number of walkers"));
    let plain = report::report(
        &load(&scenario_text("retract-v1-xen")).unwrap(),
        1_000_000,
        200,
        1,
    );
    assert_eq!(plain.any, None);
    assert!(!plain.headline().contains("any number"));
}

/// Asked for every walker count, a file that does not say `readers = any` gets the
/// answer it would get if it said so; the page offers the question only where there
/// are walkers and the answer is not already that one.
#[test]
fn a_report_for_every_walker_count_can_be_asked_of_any_file_with_walkers() {
    let own = scenario_text("retract-v1-xen");
    let plain = report::report(&load(&own).unwrap(), 1_000_000, 200, 1);
    assert!(plain.can_prove_any());
    assert_eq!(plain.walkers, 1);
    let asked = report::report_any(&load(&own).unwrap(), 1_000_000, 200, 1);
    let said = report::report(
        &load(&own.replace("readers = 1", "readers = any")).unwrap(),
        1_000_000,
        200,
        1,
    );
    assert_eq!(asked.any, said.any);
    assert_eq!((asked.verdict, asked.states), (said.verdict, said.states));
    assert!(asked.any.as_deref().unwrap().contains("torn with 1 reader"));
    assert!(!asked.can_prove_any());
    let lone = "{ pmd pmd = table(t0); }
        P0(khugepaged) { x = pmdp_collapse_flush(pmd); }";
    let r = report::report(&prog(lone), 1_000, 10, 1);
    assert_eq!(r.walkers, 0);
    assert!(!r.can_prove_any(), "no walkers, no count to vary");
}

/// The host's choice for a walker is an answer choice, and like an interrupt (a VM
/// exit is serializing) it waits for the walker's store buffer: the rule both machines
/// take ([`crate::rules::open`]); the general machine let the host preempt a walker
/// with stores buffered before it did.
#[test]
fn under_kvm_pv_flush_and_tso_the_host_waits_for_a_walkers_store_buffer() {
    let mut m = machine(
        "{ mode = kvm-pv-flush; memory = tso; readers = 1; pmd pmd = table(t0); }
         P0(khugepaged) { x = pmdp_collapse_flush(pmd); }
         P1(gup_fast) { WRITE_ONCE(y, 1); v = pmdp_get_lockless(pmd); }",
    );
    assert_eq!(m.describe(GChoice::ack(1)), "the host preempts its vCPU");
    step(&mut m, 1); // y = 1, buffered
    assert!(!m.is_enabled(GChoice::ack(1)));
    assert!(
        m.why_disabled(GChoice::ack(1))
            .unwrap()
            .contains("before its store buffer drains"),
        "{:?}",
        m.why_disabled(GChoice::ack(1))
    );
    drain(&mut m, 1);
    ack(&mut m, 1);
    assert_eq!(m.st.preempted, 0b10);
    // Resumed, it stores again, and the host waits for that store too.
    let mut m = machine(
        "{ mode = kvm-pv-flush; memory = tso; readers = 1; pmd pmd = table(t0); }
         P0(khugepaged) { x = pmdp_collapse_flush(pmd); }
         P1(gup_fast) { WRITE_ONCE(y, 1); WRITE_ONCE(y, 2); }",
    );
    step(&mut m, 1);
    drain(&mut m, 1);
    ack(&mut m, 1);
    assert_eq!(m.st.preempted, 0b10);
    ack(&mut m, 1);
    step(&mut m, 1); // y = 2, buffered
    assert!(!m.is_enabled(GChoice::ack(1)));
    drain(&mut m, 1);
    assert!(m.is_enabled(GChoice::ack(1)));
}

#[test]
fn under_kvm_pv_flush_the_host_preempts_a_walker_and_the_flush_skips_it() {
    let mut m = machine(
        "{ mode = kvm-pv-flush; readers = 1; pmd pmd = table(t0); }
         P0(khugepaged) { x = pmdp_collapse_flush(pmd); tlb_remove_table_sync_one(); }
         P1(fault) { local_irq_save(); local_irq_restore(); }
         P2(gup_fast) { local_irq_save(); v = pmdp_get_lockless(pmd); local_irq_restore(); }",
    );
    step(&mut m, 2); // interrupts off, inside a walk
    assert_eq!(m.describe(GChoice::ack(2)), "the host preempts its vCPU");
    ack(&mut m, 2);
    assert_eq!(m.st.preempted, 0b100);
    assert!(disabled(&m, 2).contains("preempted by the host"));
    assert!(
        !m.is_enabled(GChoice::ack(1)),
        "the fault is not the host's to preempt"
    );
    step(&mut m, 0); // the clear
    step(&mut m, 0); // the flush: the IPI goes to the fault's CPU only
    assert_eq!(m.st.pending[0], 0b010);
    ack(&mut m, 1);
    step(&mut m, 0); // the sync waits for the preempted vCPU too
    assert_eq!(m.st.pending[0], 0b110);
    assert_eq!(
        m.describe(GChoice::ack(2)),
        "the host resumes its vCPU (it flushes its TLB)"
    );
    ack(&mut m, 2);
    assert_eq!(m.st.preempted, 0);
    ack(&mut m, 1);
    // Interrupts still off: the IPI is not deliverable, so the host may preempt again.
    assert_eq!(m.st.pending[0], 0b100);
    assert_eq!(m.describe(GChoice::ack(2)), "the host preempts its vCPU");
    for _ in 0..3 {
        step(&mut m, 2); // pmd_low, pmd_high, pmd_low again
    }
    step(&mut m, 2); // interrupts on: now the IPI is delivered
    assert_eq!(m.describe(GChoice::ack(2)), "answers the IPI");
    ack(&mut m, 2);
    assert_eq!(m.st.pending[0], 0);
    // A run that drains: no preemption once the writers are done.
    let p = prog(
        "{ mode = kvm-pv-flush; readers = 1; pmd pmd = table(t0); }
         P0(khugepaged) { x = pmdp_huge_get_and_clear(pmd); }
         P1(gup_fast) { v = pmdp_get_lockless(pmd); }",
    );
    let mut d = GMachine::new(p, true);
    step(&mut d, 0);
    assert!(!d.is_enabled(GChoice::ack(1)));
    assert!(d
        .why_disabled(GChoice::ack(1))
        .unwrap()
        .contains("once the writers are done"));
    // ... but a vCPU preempted before that is still resumed, when the writer's last
    // step (a sync) left it an IPI: else the run could not end.
    let p = prog(
        "{ mode = kvm-pv-flush; readers = 1; pmd pmd = table(t0); }
         P0(khugepaged) { x = pmdp_collapse_flush(pmd); tlb_remove_table_sync_one(); }
         P1(gup_fast) { local_irq_save(); v = pmdp_get_lockless(pmd); local_irq_restore(); }",
    );
    let mut d = GMachine::new(p, true);
    ack(&mut d, 1); // preempted between walks, interrupts on
    assert_eq!(d.st.preempted, 0b10);
    for _ in 0..3 {
        step(&mut d, 0); // the clear, the flush (it skips the preempted vCPU), the sync
    }
    assert!(d.writers_done());
    assert_eq!(d.st.pending[0], 0b10);
    assert_eq!(
        d.describe(GChoice::ack(1)),
        "the host resumes its vCPU (it flushes its TLB)"
    );
    ack(&mut d, 1);
    assert_eq!(d.st.preempted, 0);
    ack(&mut d, 1); // interrupts on: it answers the sync
    assert!(d.finished());
}

#[test]
fn a_trace_shows_what_each_step_changed() {
    let p = load(&scenario_text("munmap-get-page-before")).unwrap();
    let r = check(&p, GCheckOptions::default());
    let t = replay(&p, &r.witness.unwrap()).unwrap();
    let all: Vec<&String> = t.steps.iter().flat_map(|s| &s.changes).collect();
    for want in [
        "mmap_lock: write-held by P0",
        "t0's PTE lock: held by P0",
        "t0[0]: page a -> none",
        "t0's PTE lock: free",
        "page a: count 1 -> 0",
        "page a: count 0 -> 1",
    ] {
        assert!(all.iter().any(|c| *c == want), "{want}: {all:?}");
    }
    let loads = t.steps.iter().filter(|s| s.text.contains("load")).count();
    assert!(loads > 0);
    assert!(
        t.steps
            .iter()
            .filter(|s| s.text.contains("load"))
            .all(|s| s.changes.is_empty()),
        "a load changes nothing"
    );
    assert!(t.text(&p).contains("   [page a: count 1 -> 0]"));
    assert!(t.columns(&p).contains("  [page a: count 0 -> 1]"));
    let p = load(&scenario_text("tso-bare-x2apic-flush")).unwrap();
    let t = replay(&p, &check(&p, GCheckOptions::default()).witness.unwrap()).unwrap();
    let all: Vec<&String> = t.steps.iter().flat_map(|s| &s.changes).collect();
    for want in [
        "pmd: table t0 -> none",
        "table t0: freed",
        "P0 waits for IPIs to P1",
        "pmd's lock: free",
    ] {
        assert!(all.iter().any(|c| *c == want), "{want}: {all:?}");
    }
    assert!(t.text(&p).contains("drains pmd = none to memory"));
}

#[test]
fn changes_name_rwsems_the_vma_lock_grace_periods_and_allocations() {
    let mut m = machine(
        "{ mode = native-64; readers = 1; pmd pmd = table(t0); }
         P0(khugepaged) { mmap_write_lock(); vma_start_write(); i_mmap_lock_read(); t = pte_alloc_one(); pte_free_defer(t0); pte_free(t); i_mmap_unlock_read(); mmap_write_unlock(); }
         P1(gup_fast) { local_irq_save(); local_irq_restore(); }",
    );
    let mut seen = Vec::new();
    let mut go = |m: &mut GMachine, cpu: u8| {
        let before = m.st.clone();
        step(m, cpu);
        seen.extend(m.changes(&before));
    };
    go(&mut m, 1); // interrupts off: the grace period waits for it
    for _ in 0..8 {
        go(&mut m, 0);
    }
    go(&mut m, 1);
    for want in [
        "mmap_lock: write-held by P0",
        "VMA lock: write-locked by P0, 0 readers",
        "i_mmap_rwsem: 1 readers",
        "table t0: freed after a grace period",
        "table t#3: freed",
        "i_mmap_rwsem: 0 readers",
        "mmap_lock: free",
        "VMA lock: free, 0 readers",
        "table t0: freed",
    ] {
        assert!(seen.iter().any(|c| c == want), "{want}: {seen:?}");
    }
    assert!(
        seen.iter()
            .any(|c| c.starts_with("table t#") && c.ends_with("allocated")),
        "{seen:?}"
    );
}

/// A split read is judged at its last load: torn where it pairs halves the entry never
/// held together (the ABA of a clear and a new table with the same low word), not torn
/// where it returns the value it began with, though the entry's other half has changed
/// since (a huge PMD set high word first).
#[test]
fn a_split_read_is_torn_only_when_its_halves_never_stood_together() {
    let full = |src: &str, exists: &str| format!("tornsim t\n{src}\n{exists}\n");
    let aba = full(
        "{ mode = native-pae; readers = 1; pmd pmd = table(t0); }
         P0(khugepaged) { pmd_clear(pmd); }
         P1(fault) { t = pte_alloc_one(); pmd_populate(pmd, t); }
         P2(walker) { v = pmdp_get_lockless(pmd); }",
        "exists (torn)",
    );
    let r = check(&load(&aba).unwrap(), GCheckOptions::default());
    assert_eq!(
        r.verdict,
        Verdict::Torn,
        "no pte_offset_map(): the read itself"
    );
    let high_first = full(
        "{ mode = native-pae; readers = 1; set = split-high-first; pmd pmd = table(t0); page h = 1; }
         P0(khugepaged) { set_pmd_at(pmd, h); }
         P1(walker) { v = pmdp_get_lockless(pmd); }",
        "~exists (torn)",
    );
    let r = check(&load(&high_first).unwrap(), GCheckOptions::default());
    assert_eq!(r.verdict, Verdict::Safe, "{:?}", r.witness);
    // Three tables with one low word (alloc = same-low), each set high word first: a
    // read can pair the low word with the second table's high word after the third's
    // has replaced it. The entry held that value for an instant: the log says so.
    let twice = full(
        "{ mode = native-pae; readers = 1; set = split-high-first; pmd pmd = table(t0); }
         P0(fault) { t1 = pte_alloc_one(); pmd_populate(pmd, t1); t2 = pte_alloc_one(); pmd_populate(pmd, t2); }
         P1(walker) { v = pmdp_get_lockless(pmd); }",
        "~exists (torn)",
    );
    let r = check(&load(&twice).unwrap(), GCheckOptions::default());
    assert_eq!(r.verdict, Verdict::Safe, "{:?}", r.witness);
}

/// The VMA write lock ends with mmap_write_unlock(), and only with it: releasing
/// i_mmap_rwsem on the way leaves the VMA write-locked.
#[test]
fn the_vma_write_lock_ends_with_the_mmap_lock_alone() {
    let mut m = machine(
        "{ pmd pmd = table(t0); }
         P0(khugepaged) { mmap_write_lock(); vma_start_write(); i_mmap_lock_write(); i_mmap_unlock_write(); mmap_write_unlock(); }",
    );
    for _ in 0..4 {
        step(&mut m, 0);
    }
    assert_eq!(m.st.vma.0, 0, "still write-locked by P0");
    step(&mut m, 0);
    assert_eq!(m.st.vma.0, NO_CPU);
}

/// The tests of a value read: none, present, a huge page, a table, each against a none,
/// a table and a huge PMD (the then arm is the next instruction, the else the end).
#[test]
fn the_tests_of_a_value_tell_none_tables_and_huge_pages_apart() {
    for (value, test, then) in [
        ("none", "pmd_none", true),
        ("table(t0)", "pmd_none", false),
        ("huge(b)", "pmd_none", false),
        ("none", "pmd_present", false),
        ("table(t0)", "pmd_present", true),
        ("huge(b)", "pmd_present", true),
        ("none", "pmd_trans_huge", false),
        ("table(t0)", "pmd_trans_huge", false),
        ("huge(b)", "pmd_trans_huge", true),
        ("none", "pmd_is_table", false),
        ("table(t0)", "pmd_is_table", true),
        ("huge(b)", "pmd_is_table", false),
    ] {
        let mut m = machine(&format!(
            "{{ mode = native-64; pmd pmd = {value}; page b = 1; }}
             P0(khugepaged) {{ v = pmdp_get(pmd); if ({test}(v)) {{ pmd_clear(pmd); }} }}"
        ));
        step(&mut m, 0);
        step(&mut m, 0);
        let taken = m.st.pc[0] != ir::DONE;
        assert_eq!(taken, then, "{test}({value})");
    }
}

/// `pte_range_none()` looks at the PTEs of the table it is given (here the second
/// declared), every one of them.
#[test]
fn a_range_check_reads_its_own_tables_ptes() {
    for (pte, none) in [("", true), ("pte t1[3] = page(a);", false)] {
        let mut m = machine(&format!(
            "{{ mode = native-64; table t0; pmd pmd = table(t1); {pte} page a = 1; }}
             P0(khugepaged) {{ v = pmdp_get(pmd); t = pte_offset_map(v); if (pte_range_none(t)) {{ pmd_clear(pmd); }} }}"
        ));
        for _ in 0..3 {
            step(&mut m, 0);
        }
        assert_eq!(m.st.pc[0] != ir::DONE, none, "{pte}");
    }
}

#[test]
fn the_interchangeable_walkers_are_named_in_words() {
    let p = load(&scenario_text("retract-v1-xen").replace("readers = 1", "readers = 3")).unwrap();
    let r = report::report(&p, 1_000_000, 10, 1);
    assert_eq!(r.interchangeable, "P2, P3 and P4 interchangeable");
    let mut c = check(&p, GCheckOptions::default());
    c.interchangeable = vec![vec![1, 2], vec![3, 4, 5]];
    assert_eq!(
        c.interchangeable_text(),
        "P1 and P2; P3, P4 and P5 interchangeable"
    );
    c.interchangeable.clear();
    assert_eq!(c.interchangeable_text(), "");
}

/// The clause as written, its condition too (the CLI and the page printed
/// `exists ()` for a clause that was a condition alone).
#[test]
fn an_exists_clause_prints_its_hazards_and_its_condition() {
    let src = "tornsim t
{ mode = native-64; page a = 1; }
P0(khugepaged) { WRITE_ONCE(x, 1); r0 = READ_ONCE(x); }
exists (freed-page \\/ x=1 /\\ P0:r0=0)
";
    let p = load(src).unwrap_or_else(|e| panic!("{}", e.render(src, "t")));
    assert_eq!(p.exists.text(), "exists (freed-page \\/ x=1 /\\ P0:r0=0)");
    let r = report::report(&p, 1_000, 10, 1);
    assert_eq!(r.exists, p.exists.text());
}

/// In a file whose `exists` clause is a condition over registers, a step's own hazard
/// is still the step's answer: the condition is judged only where no hazard was raised.
#[test]
fn a_hazard_is_reported_in_a_file_with_a_condition_too() {
    let src = "tornsim t
{ mode = native-64; page a = 0; }
P0(khugepaged) { WRITE_ONCE(x, 1); get_page(a); r0 = READ_ONCE(x); }
exists (P0:r0=1)
";
    let mut m = GMachine::new(
        load(src).unwrap_or_else(|e| panic!("{}", e.render(src, "t"))),
        false,
    );
    assert_eq!(step(&mut m, 0), None);
    assert_eq!(
        step(&mut m, 0),
        Some(Hazard::FreedPage),
        "a reference from zero"
    );
    assert_eq!(
        step(&mut m, 0),
        Some(Hazard::Observed),
        "the run ends as the condition says"
    );
}

/// Under x86-TSO a CPU reads its own buffered store to an entry before memory has it,
/// and a buffered half store says which half it is.
#[test]
fn a_cpu_reads_its_own_buffered_entry_store() {
    let mut m = machine(
        "{ mode = native-64; memory = tso; pmd pmd = none; }
         P0(fault) { t = pte_alloc_one(); pmd_populate(pmd, t); v = pmdp_get(pmd); if (pmd_none(v)) { pmd_clear(pmd); } }",
    );
    step(&mut m, 0);
    step(&mut m, 0);
    assert_eq!(m.st.entries[0], 0, "the store waits in the buffer");
    step(&mut m, 0);
    step(&mut m, 0);
    assert_eq!(
        m.st.pc[0],
        ir::DONE,
        "the table, seen through the buffer: not none"
    );
    let mut m = machine(
        "{ mode = native-pae; memory = tso; set = split-high-first; pmd pmd = none; }
         P0(fault) { t = pte_alloc_one(); pmd_populate(pmd, t); }",
    );
    step(&mut m, 0);
    step(&mut m, 0);
    let text = m.buffered_text(&m.st.sb[0][0]);
    assert!(text.starts_with("pmd high word = "), "{text}");
}

/// Two parts of a batch merge into the totals of both: runs, steps, runs cut at the
/// step limit and each hazard's count add up, and the earlier first hazard wins.
#[test]
fn merged_batch_parts_add_every_count() {
    let mut a = GStats {
        runs: 10,
        steps: 100,
        hazards: vec![(Hazard::Torn, 2)],
        cut: 1,
        first: Some((Hazard::Torn, "late".into())),
        first_run: Some(7),
    };
    let b = GStats {
        runs: 5,
        steps: 40,
        hazards: vec![(Hazard::Torn, 3), (Hazard::Deadlock, 1)],
        cut: 2,
        first: Some((Hazard::Torn, "early".into())),
        first_run: Some(3),
    };
    a.merge(&b);
    assert_eq!((a.runs, a.steps, a.cut), (15, 140, 3));
    assert_eq!((a.count(Hazard::Torn), a.count(Hazard::Deadlock)), (5, 1));
    assert_eq!(
        (a.first_run, a.first.unwrap().1.as_str()),
        (Some(3), "early")
    );
}

/// A batch's rate per million runs comes with its 95% Wilson interval, scaled alike.
#[test]
fn per_million_scales_the_rate_and_its_interval() {
    let s = GStats {
        runs: 1000,
        hazards: vec![(Hazard::Torn, 10)],
        ..GStats::default()
    };
    let (lo, hi) = crate::run::wilson(10, 1000);
    assert_eq!(s.per_million(Hazard::Torn), (10_000.0, lo * 1e6, hi * 1e6));
    assert!(lo * 1e6 < 10_000.0 && 10_000.0 < hi * 1e6);
    assert_eq!(GStats::default().per_million(Hazard::Torn).0, 0.0);
}

/// A schedule string is a link's contents: the same program and choices spell the
/// same string in every release (the program's identity is a fixed hash of its text).
#[test]
fn a_schedule_string_is_stable_across_releases() {
    let p = prog("{ pmd pmd = table(t0); } P0(khugepaged) { pmd_clear(pmd); }");
    let s = encode(&p, &[GChoice::step(0)]);
    assert_eq!(s, GOLDEN_SCHEDULE, "a schedule's spelling changed");
    assert_eq!(decode(&p, &s).unwrap(), vec![GChoice::step(0)]);
}
/// `pmd_clear()` by P0 in the file above, as this format spells it.
const GOLDEN_SCHEDULE: &str = "tg1.4Kv_YCa3S_M.A.Fr";

/// The general search on 2 and 4 threads gives what it gives on one (`crate::bfs`
/// says why): every built-in general and history file, and every classic built-in
/// scenario as a general program, with the state budget cutting one of them short.
/// Under `cfg(test)` every round is expanded in parallel, however small.
#[test]
fn any_thread_count_gives_the_one_thread_answer() {
    let mut progs: Vec<(String, Arc<GProgram>)> = builtin_files()
        .map(|(name, src)| (name.to_string(), load(src).unwrap()))
        .collect();
    for (name, src) in crate::program::BUILTIN {
        let (_, cfg) = crate::program::load(src).unwrap();
        progs.push((name.to_string(), from_classic(&cfg).unwrap()));
    }
    let mut hazards = 0;
    for (name, p) in &progs {
        for max_states in [GCheckOptions::default().max_states, 300] {
            let opts = GCheckOptions {
                max_states,
                ..GCheckOptions::default()
            };
            let one = check(p, opts);
            for threads in [2, 4] {
                let par = check(p, GCheckOptions { threads, ..opts });
                assert_eq!(par, one, "{name}, {threads} threads, {max_states} states");
            }
            hazards += one.witness.is_some() as u32;
        }
    }
    assert!(
        hazards > 20 && progs.len() > 40,
        "{hazards} of {}",
        progs.len()
    );
}

/// `pmdp_get_lockless_sync()` is an IPI broadcast only where the kernel makes it one
/// (PAE with CONFIG_PARAVIRT, and the paravirt modes); on native PAE without
/// paravirt, on non-PAE and on 64-bit x86 it compiles to nothing.
#[test]
fn the_lockless_sync_is_an_ipi_only_where_the_kernel_sends_one() {
    for (settings, ipi) in [
        ("mode = native-pae;", true),
        ("mode = native-pae; paravirt = off;", false),
        ("mode = xen-pv;", true),
        ("mode = kvm-pv-flush;", true),
        ("mode = non-pae;", false),
        ("mode = native-64;", false),
    ] {
        let p = prog(&format!(
            "{{ {settings} readers = 1; pmd pmd = table(t0); }}
             P0(khugepaged) {{ pmdp_get_lockless_sync(); }}
             P1(gup_fast) {{ local_irq_save(); local_irq_restore(); }}"
        ));
        let syncs = p
            .code
            .iter()
            .filter(|i| matches!(i.op, ir::GOp::Sync))
            .count();
        assert_eq!(syncs, ipi as usize, "{settings}");
    }
}

/// A walker that takes an rwsem or the VMA lock, flushes or syncs reads other CPUs'
/// state (who holds the lock, their interrupt flags), which the cutoff argument's C2
/// forbids: each is named as the line that breaks it. (A walker cannot free a table:
/// the compiler refuses any primitive that changes page tables in a walker's block.)
#[test]
fn a_walker_reading_other_cpus_state_breaks_the_arguments_c2() {
    for (body, op, why) in [
        (
            "mmap_read_lock(); mmap_read_unlock();",
            "mmap_read_lock()",
            "an rwsem's holders",
        ),
        (
            "i_mmap_lock_read(); i_mmap_unlock_read();",
            "i_mmap_lock_read()",
            "an rwsem's holders",
        ),
        (
            "if (vma_start_read()) { vma_end_read(); }",
            "vma_start_read()",
            "the VMA lock's holders",
        ),
        (
            "flush_tlb_range(pmd);",
            "flush_tlb_range()",
            "other CPUs' interrupt flags",
        ),
        (
            "tlb_remove_table_sync_one();",
            "tlb_remove_table_sync_one()",
            "other CPUs' interrupt flags",
        ),
    ] {
        let p = prog(&format!(
            "{{ mode = native-64; readers = 1; pmd pmd = table(t0); }}
             P0(khugepaged) {{ x = pmdp_collapse_flush(pmd); }}
             P1(gup_fast) {{ {body} }}"
        ));
        let a = argument::argument(&p);
        let c2 = a.conditions[1].broken_at.as_ref().expect("C2 fails");
        assert!(c2.why.contains(why), "{body}: {}", c2.why);
        assert_eq!(c2.op, op, "{body}");
    }
}

/// The search stores a state as one byte string (`pack.rs`): every state a random run
/// meets reads back as itself, and two states share a string only if they are equal.
/// On every built-in general and history file and every classic built-in scenario as a
/// general program (TSO buffers, preempted vCPUs, queued frees, held pins and logged
/// writes among them), from the start and with dead locals forgotten, as the search
/// stores them.
#[test]
fn a_packed_state_reads_back_as_itself_and_only_equal_states_share_a_string() {
    use super::pack::{pack, unpack, Packed, Shape};
    use std::collections::HashMap;
    let mut progs: Vec<Arc<GProgram>> =
        builtin_files().map(|(_, src)| load(src).unwrap()).collect();
    for (_, src) in crate::program::BUILTIN {
        let (_, mut cfg) = crate::program::load(src).unwrap();
        progs.push(from_classic(&cfg).unwrap());
        // The host's preemptions, where the mode has them.
        if cfg.memory == crate::knob::Memory::Sc {
            cfg.mode = crate::knob::Mode::KvmPvFlush;
            progs.extend(from_classic(&cfg));
        }
    }
    let (mut states, mut with) = (0, [0; 5]);
    for p in &progs {
        let mut seen: HashMap<Packed, GState> = HashMap::new();
        let shape = Shape::of(p);
        let mut m = GMachine::new(p.clone(), true);
        let mut back = m.st.clone();
        let mut buf = Packed::new();
        for run in 0..200u64 {
            m.reset();
            let mut x = run.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            for _ in 0..400 {
                pack(&shape, &m.st, &mut buf);
                unpack(&shape, &buf, &mut back);
                assert_eq!(back, m.st, "{}", p.name);
                match seen.get(&buf) {
                    Some(s) => assert_eq!(*s, m.st, "{}: two states, one string", p.name),
                    None => {
                        seen.insert(buf.clone(), m.st.clone());
                    }
                }
                let st = &m.st;
                for (k, on) in [
                    st.sb.iter().any(|b| !b.is_empty()),
                    st.preempted != 0,
                    st.tables.iter().any(|t| matches!(t, Life::Queued(_))),
                    !st.held.is_empty(),
                    !st.log.is_empty(),
                ]
                .into_iter()
                .enumerate()
                {
                    with[k] += on as u32;
                }
                let Some(ch) = random_choice(&m, &mut x) else {
                    break;
                };
                m.step(ch);
                if run % 2 == 1 {
                    m.forget_dead(ch.cpu);
                }
            }
        }
        states += seen.len();
    }
    assert!(states > 10_000, "{states}");
    assert!(
        with.iter().all(|&n| n > 0),
        "buffers, preempted, queued, held, log: {with:?}"
    );
}

/// A per-CPU array is the program's CPUs and no more: it iterates and counts them,
/// reads back what was written at each, and two with the same values compare and hash
/// equal (the state's equality is the search's); past the CPUs an index is a bug that
/// debug builds refuse.
#[test]
fn a_per_cpu_array_holds_the_programs_cpus_only() {
    use super::machine::PerCpu;
    use std::collections::HashSet;
    let mut a = PerCpu::new(3, 7u64);
    assert_eq!((a.len(), a.iter().sum::<u64>()), (3, 21));
    a[2] = 9;
    for x in &mut a {
        *x += 1;
    }
    assert_eq!(*a, [8, 8, 10]);
    assert_eq!((a[0], a[2]), (8, 10));
    let b = PerCpu::from_slice(&[8u64, 8, 10]);
    assert_eq!(a, b);
    assert_eq!(HashSet::from([a, b]).len(), 1);
    assert_ne!(
        a,
        PerCpu::from_slice(&[8u64, 8, 10, 0]),
        "a CPU more differs"
    );
    let full = PerCpu::from_slice(&[1u16; 16]);
    assert_eq!(full.iter().map(|&x| x as u32).sum::<u32>(), 16);
    if cfg!(debug_assertions) {
        let r = std::panic::catch_unwind(|| b[3]);
        assert!(r.is_err(), "CPU 3 of 3 read");
    }
}

/// PCT's change point falls at the step it was drawn for: two CPUs run independent
/// straight-line blocks, so the one with the higher priority runs until the change
/// point demotes it (at step `cp`, counted from 0) or its block ends, and only then does
/// the other CPU take a step. Every run ends as the clause says, so each batch records
/// its first run's choices.
#[test]
fn a_pct_change_point_demotes_the_running_cpu_at_its_own_step() {
    let src = "tornsim t
{ mode = native-64; }
P0(khugepaged) { WRITE_ONCE(x, 1); WRITE_ONCE(x, 1); WRITE_ONCE(x, 1); WRITE_ONCE(x, 1); WRITE_ONCE(x, 1); WRITE_ONCE(x, 1); }
P1(madvise) { WRITE_ONCE(y, 1); WRITE_ONCE(y, 1); WRITE_ONCE(y, 1); WRITE_ONCE(y, 1); WRITE_ONCE(y, 1); WRITE_ONCE(y, 1); }
exists (x=1)
";
    let p = load(src).unwrap_or_else(|e| panic!("{}", e.render(src, "t")));
    let mut early = 0;
    for seed in 0..40 {
        let mut b = GBatch::with_scheduler(&p, seed, crate::sched::SchedulerSpec::Pct { depth: 2 })
            .unwrap();
        let stats = b.run(1).clone();
        let (_, schedule) = stats.first.expect("every run ends with x = 1");
        let choices = decode(&p, &schedule).unwrap();
        let mut pct = pct::GPct::new(2);
        pct.start(crate::sched::run_seed(seed, 0), &p);
        let cp = pct.change_points()[0] as usize;
        let first = choices
            .iter()
            .take_while(|c| c.cpu == choices[0].cpu)
            .count();
        assert_eq!(
            first,
            cp.min(6),
            "seed {seed}: {choices:?}, change point {cp}"
        );
        early += (cp < 6) as u32;
    }
    assert!(
        early > 5,
        "{early} of 40 change points fell inside the first block"
    );
}

/// Every spinlock is a word of its own: the PMDs' locks, then each table's split PTE
/// lock (`pte_lockptr()`), no two the same. A PTE lock that shared a PMD lock's word
/// would turn a CPU's second lock into a re-take of its first.
#[test]
fn every_pmd_and_pte_lock_is_a_word_of_its_own() {
    use super::ir::{LockSrc, TableSrc};
    let m = machine(
        "{ pmd a = table(t0); pmd b = table(t1); pmd c = none; }
         P0(madvise) { x = pmd_lock(a); spin_unlock(x); }",
    );
    let (pmds, tables) = (m.prog.pmds.len() as u8, m.prog.tables.len() as u8);
    assert_eq!((pmds, tables), (3, 2));
    let mut words: Vec<usize> = (0..pmds)
        .map(|p| m.lock_of(0, LockSrc::Pmd(p)).unwrap())
        .chain((0..tables).map(|t| m.lock_of(0, LockSrc::Pte(TableSrc::Fixed(t))).unwrap()))
        .collect();
    assert!(words.iter().all(|&w| w < m.st.spin.len()), "{words:?}");
    words.sort_unstable();
    words.dedup();
    assert_eq!(words.len(), (pmds + tables) as usize);
}

/// What the compiler says of a file it refuses (the message, rendered with its place).
fn refusal(src: &str) -> String {
    let full = format!("tornsim t\n{src}\nexists (deadlock)\n");
    match load(&full) {
        Ok(_) => panic!("accepted:\n{full}"),
        Err(e) => e.render(&full, "t"),
    }
}

/// `break;` leaves its loop only with the locks and interrupts the loop began with, and
/// the rounds after it are never run; `return;` only with no lock held.
#[test]
fn break_and_return_leave_only_with_the_state_they_must() {
    let file = |body: &str| {
        format!(
            "{{ mode = native-64; readers = 1; pmd pmd = table(t0); pte t0[1] = page(a); page a = 1; }}
             P0(madvise) {{ pmdval = pmdp_get_lockless(pmd); ptep = pte_offset_map(pmdval);
                 ptl = pte_lockptr(pmdval); {body} }}
             P1(gup_fast) {{ local_irq_save(); v = pmdp_get_lockless(pmd); local_irq_restore(); }}"
        )
    };
    // Stops at the first present PTE: PTE 1 of 0..4.
    let mut m = machine(&file(
        "for (i = 0; i < 4; i++) { pte = ptep_get(ptep, i); if (pte_present(pte)) break; }",
    ));
    let mut steps = 0;
    while m.st.pc[0] != super::ir::DONE {
        step(&mut m, 0);
        steps += 1;
    }
    let reads = |m: &GMachine| {
        m.prog
            .code
            .iter()
            .filter(|i| matches!(i.op, super::ir::GOp::Load { .. }))
            .count()
    };
    assert_eq!(reads(&m), 6, "P0 loads the PMD and four PTEs, P1 the PMD");
    assert_eq!(
        steps,
        2 + 2 * 2,
        "a PMD load, a map, then two rounds of a load and a test"
    );
    let e = refusal(&file(
        "for (i = 0; i < 4; i++) { spin_lock(ptl); pte = ptep_get(ptep, i); if (pte_present(pte)) break; spin_unlock(ptl); }",
    ));
    assert!(
        e.contains("'break;' with locks or interrupts not as they were"),
        "{e}"
    );
    let e = refusal(&file(
        "spin_lock(ptl); pte = ptep_get(ptep, 1); if (pte_present(pte)) return; spin_unlock(ptl);",
    ));
    assert!(
        e.contains("'return;' with a lock held or interrupts off"),
        "{e}"
    );
    let e = refusal(&file(
        "pte = ptep_get(ptep, 1); if (pte_present(pte)) break;",
    ));
    assert!(e.contains("'break;' outside a for loop"), "{e}");
}

/// A block that is nothing but jumps (a bare `return;`, a loop that breaks at once) has
/// no step: its CPU starts done, writer or walker.
#[test]
fn a_block_of_jumps_alone_has_no_step() {
    let p = prog(
        "{ mode = native-64; readers = 1; pmd pmd = table(t0); }
         P0(madvise) { return; }
         P1(khugepaged) { x = pmdp_collapse_flush(pmd); }
         P2(gup_fast) { for (i = 0; i < 2; i++) { break; } }",
    );
    assert_eq!(p.entry[0], super::ir::DONE);
    assert_ne!(p.entry[1], super::ir::DONE);
    assert_eq!(p.entry[2], super::ir::DONE);
}

/// A `do { … } while (!installed);` must end with the unlock its retry drops, even
/// where the line before it is one; a classic free needs a cleared or a declared
/// table; an unknown primitive is told the nearest name when it is within half its
/// length plus one edits.
#[test]
fn a_retry_loop_must_end_with_its_unlock_and_a_misspelt_primitive_is_told_the_nearest() {
    let e = refusal(
        "{ mode = native-64; pmd pmd = table(t0); }
         P0(fault) { ptl = pmd_lock(pmd); spin_unlock(ptl); do { } while (!installed); }",
    );
    assert!(e.contains("must end with spin_unlock()"), "{e}");
    // The classic free takes the table the block cleared, or else the declared one.
    let e = refusal(
        "{ mode = native-64; pmd pmd = none; }
         P0(khugepaged) { pte_free_defer(); }",
    );
    assert!(
        e.contains("frees the table this block cleared from the PMD"),
        "{e}"
    );
    let file = |call: &str| {
        format!(
            "{{ mode = native-64; pmd pmd = table(t0); }}
             P0(khugepaged) {{ {call}; }}"
        )
    };
    // Four edits from pte_free, and 7 / 2 + 1 = 4.
    let e = refusal(&file("pte_xxx(t0)"));
    assert!(
        e.contains("unknown primitive pte_xxx() (did you mean pte_free?)"),
        "{e}"
    );
    // Five edits from the nearest.
    let e = refusal(&file("lck_pmd(pmd)"));
    assert!(
        e.contains("unknown primitive lck_pmd()") && !e.contains("did you mean"),
        "{e}"
    );
}

/// The classic forms (a call without arguments) name the PMD called `pmd`, wherever it
/// is declared: every entry, lock and test of this file is PMD 1's, none is `other`'s.
#[test]
fn the_classic_forms_take_the_pmd_called_pmd() {
    let p = prog(
        "{ mode = native-pae; readers = 1; pmd other = none; pmd pmd = table(t0); }
         P0(khugepaged) { pmd_lock(); x = pmdp_collapse_flush(); spin_unlock(); }
         P1(fault) { pte_alloc_one(); pmd_lock(); if (pmd_none()) pmd_populate(); spin_unlock(); }
         P2(gup_fast) { local_irq_save(); read_pmd_low(); read_pmd_high(); local_irq_restore(); }",
    );
    let code = format!("{:?}", p.code);
    assert!(
        code.contains("Pmd(1)") && !code.contains("Pmd(0)"),
        "{code}"
    );
    // A classic flush checks the PMD called `pmd` exists, as every other classic form.
    let e = refusal(
        "{ mode = native-64; pmd other = table(t0); }
         P0(khugepaged) { flush_tlb_range(); }",
    );
    assert!(e.contains("there is no PMD 'pmd'"), "{e}");
}

/// A file may compile to exactly the longest code there is, and not one step more;
/// the refusal points at the statement that went past.
#[test]
fn the_code_may_be_as_long_as_the_bound_and_no_longer() {
    let file = |rounds: u32, extra: &str| {
        format!(
            "{{ mode = native-64; pmd pmd = table(t0); }}
             P0(khugepaged) {{
               for (i = 0; i < 10; i++) {{ for (j = 0; j < 10; j++) {{ for (k = 0; k < 10; k++) {{
                 for (l = 0; l < {rounds}; l++) {{ WRITE_ONCE(x, 1); }} }} }} }}{extra}
             }}"
        )
    };
    let p = prog(&file(4, ""));
    assert_eq!(p.code.len(), super::emit::MAX_CODE);
    let e = refusal(&file(4, "\n  WRITE_ONCE(x, 2);"));
    assert!(
        e.starts_with("t:6:3: the scenario compiles to more than 4000 steps"),
        "{e}"
    );
    // A line after a return is refused where it stands.
    let e = refusal(&file(1, "\n  return;\n    WRITE_ONCE(x, 2);"));
    assert!(e.starts_with("t:7:5: this line is never reached"), "{e}");
}

/// The log is compact as every step leaves it (the step's debug check): empty with no
/// read in progress, else with the oldest read beginning at 0.
#[test]
fn the_log_is_compact_only_as_a_read_s_end_leaves_it() {
    let mut m = machine(
        "{ mode = native-pae; readers = 1; pmd pmd = table(t0); }
         P0(khugepaged) { x = pmdp_collapse_flush(pmd); }
         P1(gup_fast) { local_irq_save(); v = pmdp_get_lockless(pmd); local_irq_restore(); }",
    );
    assert!(m.log_is_compact());
    m.st.log.push((0, 0));
    assert!(!m.log_is_compact(), "a write no read needs");
    m.st.log.clear();
    step(&mut m, 1);
    step(&mut m, 1);
    assert_eq!(m.st.reads[1].first_log, 0, "CPU1's read is in progress");
    assert!(m.log_is_compact());
    m.st.log.push((0, 0));
    m.st.reads[1].first_log = 1;
    assert!(
        !m.log_is_compact(),
        "a write older than every read in progress"
    );
}

/// Under `alloc = random` a run cannot draw the frame of a declared table or of a
/// page: both are among the taken frames, as frames (the flags left out).
#[test]
fn the_random_allocator_cannot_draw_a_declared_table_s_frame_or_a_page_s() {
    let p = prog(
        "{ mode = native-64; alloc = random; readers = 1;
           pmd pmd = none; pte t0[0] = page(a); page a = 1; page b = 1; }
         P0(fault) { x = pte_alloc_one(); ptl = pmd_lock(pmd); if (pmd_none()) pmd_populate(pmd, x); spin_unlock(ptl); }
         P1(gup_fast) { local_irq_save(); v = pmdp_get_lockless(pmd); local_irq_restore(); }",
    );
    assert!(p.random_table.is_some());
    let mut want: Vec<u64> = p.pages.iter().map(|q| q.1).collect();
    want.extend(p.tables.iter().filter(|t| t.declared).map(|t| t.addr));
    want.sort_unstable();
    assert_eq!(want.len(), 3, "a declared table t0 and two pages");
    assert!(want.iter().all(|f| f % 4096 == 0 && *f != 0));
    assert_eq!(p.taken_frames(), want);
}

/// Under `alloc = random`, before a run draws its frame, the allocated table is where
/// the classic machine puts it undrawn: a frame sharing neither half with the declared
/// table's, so a machine stepped before any draw cannot tear, on either layout.
#[test]
fn the_random_allocator_s_table_undrawn_is_the_classic_machine_s() {
    let p = prog(
        "{ mode = xen-pv; alloc = random; readers = 1; pmd pmd = table(t0); pte t0[0] = none; }
         P0(khugepaged) { x = pmdp_collapse_flush(pmd); y = pte_alloc_one(); pmd_populate(pmd, y); }
         P1(gup_fast) { local_irq_save(); v = pmdp_get_lockless(pmd); local_irq_restore(); }",
    );
    let t = p.random_table.expect("one allocated table") as usize;
    assert_eq!(p.frame, None);
    let undrawn = crate::machine::default_table(crate::knob::Alloc::Random);
    assert_eq!(p.tables[t].addr, undrawn);
    let old = p.table_value(0);
    let new = p.table_value(t);
    assert_ne!(old as u32, new as u32, "low halves");
    assert_ne!(old >> 32, new >> 32, "high halves");
}

/// The settings a file runs under name its memory model and APIC only under TSO (where
/// they change what runs).
#[test]
fn the_knobs_name_memory_and_apic_only_under_tso() {
    let knobs = |memory: &str| {
        let p = prog(&format!(
            "{{ mode = native-64; memory = {memory}; readers = 1; pmd pmd = table(t0); }}
             P0(khugepaged) {{ x = pmdp_collapse_flush(pmd); }}
             P1(gup_fast) {{ local_irq_save(); v = pmdp_get_lockless(pmd); local_irq_restore(); }}"
        ));
        p.knobs()
            .into_iter()
            .map(|(k, _)| k)
            .filter(|k| ["memory", "apic"].contains(k))
            .count()
    };
    assert_eq!((knobs("tso"), knobs("sc")), (2, 0));
}

/// `pte_free_defer()` always waits for a grace period, with or without the RCU table
/// free config that `tlb_remove_table()` needs; a shared word cannot take the name of
/// an entry, a table or a page.
#[test]
fn pte_free_defer_is_rcu_in_any_config_and_words_keep_their_own_names() {
    let mut m = machine(
        "{ mode = native-64; flush = ipi; paravirt = off; readers = 1; pmd pmd = table(t0); }
         P0(khugepaged) { x = pmdp_huge_get_and_clear(pmd); pte_free_defer(x); }
         P1(gup_fast) { local_irq_save(); local_irq_restore(); }",
    );
    step(&mut m, 1);
    step(&mut m, 0);
    step(&mut m, 0);
    assert_eq!(m.st.tables[0], Life::Queued(0b10));
    for name in ["pmd", "t0", "a"] {
        let e = refusal(&format!(
            "{{ mode = native-64; pmd pmd = table(t0); page a = 1; }}
             P0(khugepaged) {{ WRITE_ONCE({name}, 1); }}"
        ));
        assert!(
            e.contains("is declared as an entry, table or page, not a shared word"),
            "{e}"
        );
    }
}

/// The general machine buffers a word store as its word and value: a TSO file may
/// store more distinct values than the classic machine's store codes hold (10), and
/// each drains as it was written.
#[test]
fn plain_stores_are_buffered_by_word_and_value_without_a_code_bound() {
    let stores: String = (1..=12).map(|v| format!("WRITE_ONCE(x, {v}); ")).collect();
    let mut m = machine(&format!(
        "{{ mode = native-64; memory = tso; pmd pmd = table(t0); }}
         P0(khugepaged) {{ {stores}}}"
    ));
    for _ in 0..12 {
        step(&mut m, 0);
    }
    assert_eq!(m.st.sb[0].len(), 12);
    drain(&mut m, 0);
    assert_eq!(m.st.words[0], 1);
    while !m.st.sb[0].is_empty() {
        drain(&mut m, 0);
    }
    assert_eq!(m.st.words[0], 12);
}

/// Word steps as the trace tells them, and what they leave: a load sees its CPU's own
/// buffered store first (x-TSO forwarding), each register has its own slot, and an
/// exchange is told with its old value only where a register takes it.
#[test]
fn word_steps_are_told_and_land_in_their_own_registers() {
    let mut m = machine(
        "{ mode = native-64; memory = tso; pmd pmd = table(t0); }
         P0(madvise) { WRITE_ONCE(x, 1); r0 = READ_ONCE(x); r1 = xchg(y, 2); xchg(x, 3); r2 = READ_ONCE(y); }",
    );
    let told = tell_cpu0(&mut m, GChoice::drain(0), usize::MAX);
    assert_eq!(
        told,
        [
            "WRITE_ONCE(): x = 1, into the store buffer (line 3)",
            "READ_ONCE(): r0 = x (1) (line 3)",
            "drains x = 1 to memory",
            "xchg(): xchg y to 2, r1 = the old value (0) (line 3)",
            "xchg(): xchg x to 3 (line 3)",
            "READ_ONCE(): r2 = y (2) (line 3)",
        ]
    );
    let want = [
        ("x", "3"),
        ("y", "2"),
        ("P0:r0", "1"),
        ("P0:r1", "0"),
        ("P0:r2", "2"),
    ];
    assert_eq!(
        m.words_text(),
        want.map(|(n, v)| (n.to_string(), v.to_string()))
    );
}

/// A file needs the general machine for any one of its reasons alone: a declaration, a
/// kernel path the classic machine lacks, a call with a result, with arguments or of a
/// general-only primitive, an `if` the classic language cannot write (a test with
/// arguments or another test, a general line in either branch), a general hazard, a
/// flush mode or the 64-bit mode. The classic file it is made from does not.
#[test]
fn any_one_general_feature_sends_a_file_to_the_general_machine() {
    let classic = crate::program::builtin_source("merged").expect("the merged scenario");
    let needs = |src: &str| {
        let s = parse(src).unwrap_or_else(|e| panic!("{}", e.render(src, "t")));
        needs_general(&s)
    };
    assert!(!needs(classic));
    for (from, to) in [
        ("cpus = auto;", "cpus = auto; pmd pmd = table(t0);"),
        ("P1(fault)", "P1(madvise)"),
        (
            "    pmdp_collapse_flush();",
            "    x = pmdp_collapse_flush();",
        ),
        (
            "    pmdp_collapse_flush();",
            "    pmdp_collapse_flush(pmd);",
        ),
        (
            "    spin_unlock();\n    pte_free",
            "    spin_unlock();\n    mmap_write_lock();\n    pte_free",
        ),
        ("if (pmd_none())", "if (pmd_none(pmd))"),
        ("if (pmd_none())", "if (pmd_present())"),
        ("pmd_populate();", "pmd_populate(pmd, t0);"),
        (
            "pmd_populate();",
            "pmd_populate(); else pmd_populate(pmd, t0);",
        ),
        ("(torn \\/ stale)", "(torn \\/ stale \\/ freed-page)"),
        ("cpus = auto;", "cpus = auto; flush = hypercall;"),
        ("mode = xen-pv;", "mode = native-64;"),
    ] {
        assert!(classic.contains(from), "{from}");
        assert!(needs(&classic.replacen(from, to, 1)), "{to}");
    }
}

/// A page's count is at most 100, and pages lie 2 MiB apart from 1 GiB up (each can be
/// mapped huge), declared tables 4 KiB apart from past 4 GiB (a torn PMD shows frames
/// in hex).
#[test]
fn pages_and_tables_have_their_bounds_and_frames() {
    let src = |count: u32| {
        format!(
            "{{ mode = native-pae; pmd pmd = table(t0); pmd p2 = table(t1); page a = 1; page b = {count}; }}
             P0(madvise) {{ set_pte(t0, 1, b); }}"
        )
    };
    let e = refusal(&src(101));
    assert!(e.contains("a page's count is at most 100"), "{e}");
    let p = prog(&src(100));
    let pages: Vec<(&str, u64, u32)> = p
        .pages
        .iter()
        .map(|(n, at, c)| (n.as_str(), *at, *c))
        .collect();
    assert_eq!(pages, [("a", 0x4000_0000, 1), ("b", 0x4020_0000, 100)]);
    let tables: Vec<(&str, u64)> = p.tables.iter().map(|t| (t.name.as_str(), t.addr)).collect();
    assert_eq!(tables, [("t0", 0x1_3a5f_e000), ("t1", 0x1_3a5f_f000)]);
}

/// A per-CPU list hashes as its CPUs' values do, as it compares: two lists of other
/// values hash apart, equal ones together.
#[test]
fn a_per_cpu_list_hashes_by_its_cpus_values() {
    use super::state::PerCpu;
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    let h = |x: &PerCpu<u8>| BuildHasherDefault::<DefaultHasher>::default().hash_one(x);
    let a = PerCpu::from_slice(&[1u8, 2]);
    assert_eq!(h(&a), h(&PerCpu::from_slice(&[1, 2])));
    assert_eq!(
        h(&a),
        BuildHasherDefault::<DefaultHasher>::default().hash_one(&[1u8, 2][..])
    );
    assert_ne!(h(&a), h(&PerCpu::from_slice(&[1, 3])));
}
