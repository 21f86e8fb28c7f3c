//! The machine under `memory = tso`: store buffers, drains, forwarding, and the steps
//! that wait for an empty buffer.

use super::*;
use crate::config::*;

/// The x2apic-no-fence scenario's machine (khugepaged clears with two plain stores).
fn x2apic(fence: bool) -> Machine {
    let name = if fence {
        "x2apic-fence"
    } else {
        "x2apic-no-fence"
    };
    let (_, cfg) = crate::program::load(crate::program::builtin_source(name).unwrap()).unwrap();
    Machine::new(&cfg, true).unwrap()
}

fn step(m: &mut Machine, ch: Choice) -> Action {
    m.try_step(ch).unwrap_or_else(|e| panic!("{ch:?}: {e}"))
}

#[test]
fn a_store_buffer_is_a_fifo_of_at_most_seven() {
    let mut b = StoreBuffer::default();
    assert!(b.is_empty() && b.pop().is_none());
    assert_eq!(b.len(), 0);
    for s in [Store::LowZero, Store::HighZero, Store::PtlFree] {
        b.push(s);
    }
    assert_eq!(b.len(), 3);
    assert_eq!(
        b.iter().collect::<Vec<_>>(),
        [Store::LowZero, Store::HighZero, Store::PtlFree]
    );
    assert_eq!(b.pop(), Some(Store::LowZero));
    assert_eq!(b.len(), 2);
    for _ in 0..5 {
        b.push(Store::LowNew);
    }
    assert!(b.is_full() && b.len() == SB_DEPTH);
    assert_eq!(b.iter().last(), Some(Store::LowNew));
    let new = Pmd::table(SAME_LOW_TABLE);
    assert_eq!(Store::HighNew.describe(new), "pmd_high = 2");
    assert_eq!(Store::LowNew.describe(new), "pmd_low = 3a5fe067");
}

/// A plain store waits in the buffer: memory, and so a reader, still has the old PMD
/// until the drain step, which writes it and counts one more PMD version.
#[test]
fn a_plain_store_is_seen_only_after_its_drain() {
    let mut m = x2apic(false);
    assert!(m.is_tso());
    let old = m.state().pmd;
    step(&mut m, Choice::prog(COLLAPSER)); // pmd_lock()
    assert_eq!(step(&mut m, Choice::prog(COLLAPSER)), Action::ClearLowStore);
    assert_eq!(m.state().pmd, old);
    assert_eq!(m.state().ver, 0);
    assert_eq!(m.buffered(), 1);
    assert_eq!(m.buffer_text(COLLAPSER), ["pmd_low = 0"]);
    assert_eq!(m.enabled().drain, 1);
    step(&mut m, Choice::prog(COLLAPSER)); // pmd_high = 0
    assert_eq!(m.buffer_text(COLLAPSER), ["pmd_low = 0", "pmd_high = 0"]);
    // The reader loads memory.
    step(&mut m, Choice::prog(2));
    assert_eq!(
        step(&mut m, Choice::prog(2)),
        Action::LoadLow { value: old.low }
    );
    // The oldest store drains first.
    assert_eq!(
        step(&mut m, Choice::drain(COLLAPSER)),
        Action::Drain {
            store: Store::LowZero
        }
    );
    assert_eq!(m.state().pmd, Pmd { low: 0, ..old });
    assert_eq!(m.state().ver, 1);
    step(&mut m, Choice::drain(COLLAPSER));
    assert_eq!((m.state().pmd, m.buffered()), (Pmd::default(), 0));
    assert_eq!(m.enabled().drain, 0);
    let why = m.why_disabled(Choice::drain(COLLAPSER)).unwrap();
    assert_eq!(why, "CPU0's store buffer is empty");
}

/// `weak_wrmsr_fence()` and every locked step wait for an empty buffer; an x2APIC IPI
/// without the fence does not; a CPU takes an interrupt only with an empty buffer.
#[test]
fn fences_locked_steps_and_interrupts_wait_for_the_buffer() {
    let mut m = x2apic(true);
    step(&mut m, Choice::prog(COLLAPSER));
    step(&mut m, Choice::prog(COLLAPSER));
    step(&mut m, Choice::prog(COLLAPSER));
    assert_eq!(m.op(COLLAPSER), Op::Fence);
    assert!(!m.enabled().contains(Choice::prog(COLLAPSER)));
    let why = m.why_disabled(Choice::prog(COLLAPSER)).unwrap();
    assert!(
        why.contains("(mfence) waits until its store buffer has drained"),
        "{why}"
    );
    step(&mut m, Choice::drain(COLLAPSER));
    assert!(!m.enabled().contains(Choice::prog(COLLAPSER)));
    step(&mut m, Choice::drain(COLLAPSER));
    assert_eq!(step(&mut m, Choice::prog(COLLAPSER)), Action::Fence);

    // Without the fence the IPI leaves with both stores buffered.
    let mut m = x2apic(false);
    for _ in 0..3 {
        step(&mut m, Choice::prog(COLLAPSER));
    }
    assert!(matches!(
        step(&mut m, Choice::prog(COLLAPSER)),
        Action::FlushIpi { .. }
    ));
    assert_eq!(m.buffer_text(COLLAPSER).len(), 2);
    // The populator's and the reader's acknowledgements: buffers empty, so they may.
    assert!(m.enabled().contains(Choice::ack(POPULATOR)));

    // Under xAPIC the same IPI waits for the stores.
    let (_, mut cfg) =
        crate::program::load(crate::program::builtin_source("x2apic-no-fence").unwrap()).unwrap();
    cfg.apic = Apic::Xapic;
    let mut m = Machine::new(&cfg, true).unwrap();
    for _ in 0..3 {
        step(&mut m, Choice::prog(COLLAPSER));
    }
    assert!(!m.enabled().contains(Choice::prog(COLLAPSER)));
    cfg.apic = Apic::X2apicAmd;
    let m2 = Machine::new(&cfg, true).unwrap();
    let mut m2 = m2;
    for _ in 0..3 {
        step(&mut m2, Choice::prog(COLLAPSER));
    }
    assert!(!m2.enabled().contains(Choice::prog(COLLAPSER)));
}

#[test]
fn an_interrupt_waits_for_the_cpus_own_buffer() {
    let mut m = x2apic(false);
    m.edit_state(|st| {
        st.pending = 1 << POPULATOR;
        st.sb[POPULATOR as usize].push(Store::PtlFree);
    });
    assert!(!m.enabled().contains(Choice::ack(POPULATOR)));
    let why = m.why_disabled(Choice::ack(POPULATOR)).unwrap();
    assert!(why.contains("only with an empty store buffer"), "{why}");
    step(&mut m, Choice::drain(POPULATOR));
    assert!(m.enabled().contains(Choice::ack(POPULATOR)));
}

/// `why_disabled` names the reason that holds: a CPU with stores buffered but no IPI
/// pending has no IPI to take, and a locked step that waits for its buffer *and* for a
/// PTL another CPU holds is spinning on the PTL (draining alone would not let it go).
#[test]
fn a_full_buffer_is_blamed_only_when_it_is_what_blocks() {
    let mut m = x2apic(false);
    m.edit_state(|st| {
        st.pending = 0;
        st.sb[POPULATOR as usize].push(Store::HighNew);
    });
    let why = m.why_disabled(Choice::ack(POPULATOR)).unwrap();
    assert_eq!(why, "CPU1 has no IPI pending");

    let mut m = x2apic(false);
    step(&mut m, Choice::prog(POPULATOR)); // pte_alloc_one()
    assert_eq!(m.op(POPULATOR), Op::Lock);
    step(&mut m, Choice::prog(COLLAPSER)); // pmd_lock()
    assert_eq!(m.state().ptl, COLLAPSER);
    // Free buffer: the PTL is the reason.
    let why = m.why_disabled(Choice::prog(POPULATOR)).unwrap();
    assert_eq!(why, "CPU1 is spinning on the PTL held by CPU0");
    // A store in the buffer too: still the PTL.
    m.edit_state(|st| st.sb[POPULATOR as usize].push(Store::HighNew));
    assert!(!m
        .enabled_ignoring_buffers()
        .contains(Choice::prog(POPULATOR)));
    let why = m.why_disabled(Choice::prog(POPULATOR)).unwrap();
    assert_eq!(why, "CPU1 is spinning on the PTL held by CPU0");
}

/// The unlock is a plain store: the PTL stays taken for other CPUs until it drains.
#[test]
fn an_unlock_frees_the_ptl_at_its_drain() {
    let mut m = x2apic(true);
    m.edit_state(|st| {
        st.ptl = COLLAPSER;
        st.sb[COLLAPSER as usize].push(Store::PtlFree);
    });
    assert_eq!(m.state().ptl, COLLAPSER);
    assert_eq!(
        step(&mut m, Choice::drain(COLLAPSER)),
        Action::Drain {
            store: Store::PtlFree
        }
    );
    assert_eq!(m.state().ptl, NO_CPU);
}

/// `pmd_none()` reads the fault's own buffered stores before memory.
#[test]
fn a_load_forwards_from_its_own_buffer() {
    let cfg = Config {
        memory: Memory::Tso,
        set: SetKind::SplitHighFirst,
        readers: 1,
        ..Config::default()
    };
    let mut m = Machine::new(&cfg, true).unwrap();
    let check_none = (0..=255u8)
        .find(|&pc| m.program().instr(pc).op == Op::CheckNone)
        .unwrap();
    m.edit_state(|st| {
        st.pmd = Pmd::default();
        st.ver = 1;
        st.ptl = POPULATOR;
        st.pc[POPULATOR as usize] = check_none;
        st.sb[POPULATOR as usize].push(Store::HighNew);
    });
    assert_eq!(
        step(&mut m, Choice::prog(POPULATOR)),
        Action::CheckNone { none: false }
    );
    m.edit_state(|st| {
        st.pc[POPULATOR as usize] = check_none;
        st.sb[POPULATOR as usize] = StoreBuffer::default();
    });
    assert_eq!(
        step(&mut m, Choice::prog(POPULATOR)),
        Action::CheckNone { none: true }
    );
}

/// Under SC nothing is buffered and no drain is ever open; drains name no CPU there.
#[test]
fn sc_has_no_store_buffers() {
    let mut m = Machine::new(&Config::default(), true).unwrap();
    assert!(!m.is_tso() && m.state().sb.is_empty());
    let why = m.why_disabled(Choice::drain(0)).unwrap();
    assert!(why.contains("no store buffers under memory = sc"));
    let mut rng = crate::sched::Rng::new(3);
    while !m.finished() {
        let en = m.enabled();
        assert_eq!(en.drain, 0);
        m.step(en.nth(rng.below(en.count())));
    }
}

/// The kernel's IPI paths put the x2APIC fence before the WRMSR only where it matters.
#[test]
fn the_builtin_ipi_paths_fence_only_on_intel_x2apic_under_tso() {
    use crate::prim::classic;
    let ops = |name: &str, memory, apic, mode| {
        let c = Config {
            memory,
            apic,
            mode,
            ..Config::default()
        };
        (classic(name).unwrap().1.ops)(&c.lowering())
    };
    use Apic::*;
    use Memory::*;
    use Mode::*;
    assert_eq!(
        ops("flush_tlb_range", Tso, X2apic, NativePae),
        [Op::Fence, Op::Flush]
    );
    assert_eq!(ops("flush_tlb_range", Sc, X2apic, NativePae), [Op::Flush]);
    assert_eq!(ops("flush_tlb_range", Tso, Xapic, NativePae), [Op::Flush]);
    assert_eq!(
        ops("flush_tlb_range", Tso, X2apicAmd, NativePae),
        [Op::Flush]
    );
    assert_eq!(ops("flush_tlb_range", Tso, X2apic, XenPv), [Op::Flush]);
    assert_eq!(
        ops("pmdp_get_lockless_sync", Tso, X2apic, NativePae),
        [Op::Fence, Op::Sync]
    );
    assert_eq!(
        ops("pmdp_collapse_flush_sync", Tso, X2apic, NativePae),
        [Op::Clear, Op::Fence, Op::Flush, Op::Fence, Op::Sync]
    );
    assert_eq!(
        ops("flush_tlb_others_ipi", Tso, X2apic, NativePae),
        [Op::Flush]
    );
    assert_eq!(ops("weak_wrmsr_fence", Tso, X2apic, NativePae), [Op::Fence]);
    assert!(ops("weak_wrmsr_fence", Sc, X2apic, NativePae).is_empty());
    assert_eq!(
        ops("pmd_clear", Sc, Xapic, NativePae),
        [Op::ClearLowStore, Op::ClearHigh]
    );
}

/// A flush that sent IPIs skips the sync in `pmdp_collapse_flush_sync()`, and the
/// x2APIC fence before that sync with it.
#[test]
fn the_skipped_sync_takes_its_fence_along() {
    let cfg = Config {
        memory: Memory::Tso,
        apic: Apic::X2apic,
        sync: SyncPlacement::FlushSyncSkip,
        ..Config::default()
    };
    let m = Machine::new(&cfg, true).unwrap();
    let p = m.program();
    let flush = (0..=255u8).find(|&pc| p.instr(pc).op == Op::Flush).unwrap();
    let after = p.instr(p.instr(flush).next).op;
    assert_eq!(
        after,
        Op::Unlock,
        "a flush that sent IPIs goes past the fence and the sync"
    );
    assert_eq!(p.instr(p.instr(flush).alt).op, Op::Fence);
}

/// A buffer holds as many stores as its CPU's block has store lines: khugepaged's
/// `pmd_clear()` (two) and `spin_unlock()`; the fault's unlock (its `set_pmd()` is a
/// locked `cmpxchg8b`); none for a reader that takes no lock. A store waits while its
/// buffer is full; nothing else does.
#[test]
fn a_buffer_holds_its_blocks_store_lines() {
    let mut m = x2apic(false);
    assert_eq!(
        (0..3).map(|c| m.sb_capacity(c)).collect::<Vec<_>>(),
        [3, 1, 0]
    );
    let merged = Machine::new(
        &Config {
            memory: Memory::Tso,
            ..Config::default()
        },
        true,
    )
    .unwrap();
    assert_eq!(merged.sb_capacity(COLLAPSER), 1);
    // The fault's unlock is buffered, so a second store would wait for its drain; its
    // lock waits for the buffer to empty whatever its capacity.
    let unlock = (0..=255u8)
        .find(|&pc| {
            m.program().instr(pc).op == Op::Unlock && m.program().block_pcs(POPULATOR).contains(&pc)
        })
        .unwrap();
    m.edit_state(|st| {
        st.pc[POPULATOR as usize] = unlock;
        st.ptl = POPULATOR;
        st.sb[POPULATOR as usize].push(Store::PtlFree);
    });
    assert!(
        !m.enabled().contains(Choice::prog(POPULATOR)),
        "a full buffer holds the store"
    );
    m.edit_state(|st| st.sb[POPULATOR as usize] = StoreBuffer::default());
    assert!(m.enabled().contains(Choice::prog(POPULATOR)));
}

/// Only a store waits for room in a full buffer: an x2APIC IPI with khugepaged's buffer
/// full (its three stores) still leaves.
#[test]
fn a_full_buffer_holds_stores_only() {
    let mut m = x2apic(false);
    let flush = (0..=255u8)
        .find(|&pc| m.program().instr(pc).op == Op::Flush)
        .unwrap();
    m.edit_state(|st| {
        st.pc[COLLAPSER as usize] = flush;
        st.ptl = COLLAPSER;
        for s in [Store::LowZero, Store::HighZero, Store::PtlFree] {
            st.sb[COLLAPSER as usize].push(s);
        }
    });
    assert_eq!(m.sb_capacity(COLLAPSER), 3);
    assert!(m.enabled().contains(Choice::prog(COLLAPSER)));
}

/// Under `kvm-pv-flush` the host's choice for a reader is an answer choice, and like an
/// interrupt (a VM exit is serializing) it waits for the reader's store buffer: the
/// shared open rule ([`crate::rules::open`]), which the general machine takes too.
#[test]
fn under_kvm_pv_flush_the_host_waits_for_a_readers_store_buffer() {
    let src = crate::program::builtin_source("handshake-mb")
        .unwrap()
        .replace("mode = native-pae;", "mode = kvm-pv-flush;");
    let (_, cfg) = crate::program::load(&src).unwrap();
    let mut m = Machine::new(&cfg, true).unwrap();
    let r = FIRST_READER;
    assert!(
        m.enabled().contains(Choice::ack(r)),
        "the host may preempt it"
    );
    step(&mut m, Choice::prog(r)); // WRITE_ONCE(walking, 1): buffered
    assert_eq!(m.buffered(), 1 << r);
    assert!(!m.enabled().contains(Choice::ack(r)));
    let why = m.why_disabled(Choice::ack(r)).unwrap();
    assert!(why.contains("before its store buffer drains"), "{why}");
    step(&mut m, Choice::drain(r));
    assert!(m.enabled().contains(Choice::ack(r)));
    assert_eq!(m.why_disabled(Choice::ack(r)), None);
}
