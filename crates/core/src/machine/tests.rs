use super::*;
use crate::config::*;

#[test]
fn each_cpu_has_its_role_and_ipis_are_counted() {
    let m = machine(|c| {
        c.readers = 3;
        c.cpus = Some(7);
    });
    let roles: Vec<Role> = (0..7).map(|c| m.role(c)).collect();
    assert_eq!(
        roles,
        [
            Role::Collapser,
            Role::Populator,
            Role::Reader,
            Role::Reader,
            Role::Reader,
            Role::Idle,
            Role::Idle
        ]
    );
    assert_eq!(Action::FlushIpi { targets: 0b1011 }.ipis_sent(), 3);
    assert_eq!(Action::SyncIpi { targets: 0b110 }.ipis_sent(), 2);
    assert_eq!(Action::Clear.ipis_sent(), 0);
    // Under kvm-pv-flush a reader's "ack" is the host's choice, but the populator's
    // and an idle CPU's are plain IPI acknowledgements.
    let m = machine(|c| {
        c.mode = Mode::KvmPvFlush;
        c.cpus = Some(4);
    });
    for cpu in [1, 3] {
        let why = m.why_disabled(Choice::ack(cpu)).unwrap();
        assert!(why.contains("has no IPI pending"), "CPU{cpu}: {why}");
    }
}

/// Who the flush's and the sync's IPIs go to: the sync to every CPU but the
/// collapser; the native flush to `mm_cpumask` (the populator, and the readers if they
/// are gup_fast), and to no one where a hypercall flushes.
#[test]
fn ipi_targets_follow_the_mode_and_mm_cpumask() {
    for (mode, reader, flush) in [
        (Mode::NativePae, ReaderKind::GupFast, 0b11110),
        (Mode::NativePae, ReaderKind::Walker, 0b00010),
        (Mode::KvmPvFlush, ReaderKind::GupFast, 0b11110),
        (Mode::XenPv, ReaderKind::GupFast, 0),
        (Mode::HyperV, ReaderKind::GupFast, 0),
    ] {
        let m = machine(|c| {
            (c.mode, c.reader, c.readers, c.cpus) = (mode, reader, 3, Some(6));
        });
        assert_eq!(m.flush_targets(), flush, "{mode} {reader:?}");
        assert_eq!(m.sync_targets(), 0b111110, "{mode} {reader:?}");
    }
}

fn machine(f: impl FnOnce(&mut Config)) -> Machine {
    let mut c = Config {
        readers: 1,
        ..Config::default()
    };
    f(&mut c);
    Machine::new(&c, true).unwrap()
}

fn run(m: &mut Machine, choices: &[(u8, bool)]) -> Vec<Action> {
    choices
        .iter()
        .map(|&(cpu, ack)| {
            let drain = false;
            m.try_step(Choice { cpu, ack, drain }).unwrap()
        })
        .collect()
}

const C: (u8, bool) = (0, false);
const P: (u8, bool) = (1, false);
const R: (u8, bool) = (2, false);

/// The fields a step keeps current instead of recomputing (`writers`, `gate`, the
/// generic readers' `busy` and `at_lock`, each CPU's instruction) equal a
/// recomputation from the public state after every step of random runs of every
/// built-in scenario, in every mode it runs in, with 1 to 3 readers.
#[test]
fn maintained_fields_equal_a_recomputation_after_every_step() {
    use crate::config::Mode;
    use crate::sched::Rng;
    let mut rng = Rng::new(11);
    let mut machines = 0;
    // And a reader with several registers, loads and exchanges on shared words (no
    // built-in file has an xchg() or a second register).
    let words = crate::program::builtin_source("handshake-no-mb")
        .unwrap()
        .replace(
            "    r1 = READ_ONCE(collapsing);\n",
            "    r1 = READ_ONCE(collapsing);\n    r2 = xchg(walking, 2);\n    r3 = READ_ONCE(walking);\n",
        );
    let extra = [("handshake-xchg", words.as_str())];
    for &(name, src) in crate::program::BUILTIN.iter().chain(&extra) {
        let (_, base) = crate::program::load(src).unwrap();
        for (&mode, memory) in Mode::ALL
            .iter()
            .flat_map(|m| [(m, Memory::Sc), (m, Memory::Tso)])
        {
            for readers in 1..=3 {
                let cfg = Config {
                    mode,
                    readers,
                    cpus: None,
                    memory,
                    ..base.clone()
                };
                let Ok(mut m) = Machine::new(&cfg, true) else {
                    continue;
                };
                machines += 1;
                let table = m.new_table();
                let fresh = m.clone();
                for _ in 0..20 {
                    m.reset(table);
                    for step in 0..400 {
                        let en = m.enabled();
                        if en.is_empty() {
                            break;
                        }
                        let e = m.step(en.nth(rng.below(en.count())));
                        // And the step's effect survives its conversion to an action.
                        assert_eq!(Effect::from(e.action()), e, "{name} {mode:?}");
                        let mut again = fresh.clone();
                        again.set_state(m.state().clone());
                        assert_eq!(again.state(), m.state(), "{name} {mode:?} step {step}");
                    }
                }
            }
        }
    }
    assert!(machines > 6 * crate::program::BUILTIN.len(), "{machines}");
}

/// The classic layout's lookups agree with the shared rules they stand for, in every
/// state of random runs of every built-in scenario, in every mode and memory model and
/// under `alloc = same-frame`: each CPU's wait by its pc's table entry with
/// [`rules::free_for`] of its op's wait, the writer mask with that rule, and the
/// table answers (freed, in use, whom a queued free waits for) with its `life`.
#[test]
fn the_classic_lookups_agree_with_the_shared_rules_they_stand_for() {
    use crate::config::Mode;
    use crate::rules::{free_for, Life, Sys};
    use crate::sched::Rng;
    let mut rng = Rng::new(5);
    let (mut states, mut waiting, mut queued, mut freed) = (0, 0, 0, 0);
    for &(_, src) in crate::program::BUILTIN {
        let (_, base) = crate::program::load(src).unwrap();
        for (&mode, memory) in Mode::ALL
            .iter()
            .flat_map(|m| [(m, Memory::Sc), (m, Memory::Tso)])
        {
            for alloc in [Alloc::Random, Alloc::SameFrame] {
                let cfg = Config {
                    mode,
                    readers: 2,
                    cpus: None,
                    memory,
                    alloc,
                    ..base.clone()
                };
                let Ok(mut m) = Machine::new(&cfg, true) else {
                    continue;
                };
                let table = m.new_table();
                for _ in 0..10 {
                    m.reset(table);
                    for _ in 0..400 {
                        states += 1;
                        let free = m.frees();
                        for c in 0..m.cpus() {
                            let want = free_for(&m, c, m.wait(m.op(c)));
                            assert_eq!(m.free_now(&free, c), want, "CPU{c} in {:?}", m.state());
                            waiting += !want as u32;
                        }
                        let st = m.state();
                        let want = ((st.pending == 0)
                            & free_for(&m, COLLAPSER, m.wait(m.op(COLLAPSER))))
                            as u64
                            | (free_for(&m, POPULATOR, m.wait(m.op(POPULATOR))) as u64) << 1;
                        assert_eq!(m.writers_now(), want, "{:?}", m.state());
                        for t in 0..m.tables() {
                            let l = m.life(t);
                            assert_eq!(m.freed(t), l == Life::Freed, "table {t}: {l:?}");
                            let in_use = matches!(l, Life::Live | Life::Queued(_));
                            assert_eq!(m.in_use(t), in_use, "table {t}: {l:?}");
                            let q = if let Life::Queued(q) = l { q } else { 0 };
                            assert_eq!(m.queued_for(t), q, "table {t}: {l:?}");
                            queued += (q != 0) as u32;
                            freed += (l == Life::Freed) as u32;
                        }
                        let en = m.enabled();
                        if en.is_empty() {
                            break;
                        }
                        m.step(en.nth(rng.below(en.count())));
                    }
                }
            }
        }
    }
    // Every answer was put to the test both ways.
    assert!(states > 10_000 && waiting > 1000, "{states} {waiting}");
    assert!(queued > 100 && freed > 100, "{queued} {freed}");
}

/// A state copied into another, as the checker restores one between the choices it
/// expands, is equal to it, CPUs past the sixteenth (which the copy takes apart)
/// included.
#[test]
fn a_copied_state_equals_its_original_on_many_cpus_and_few() {
    for readers in [1, 20] {
        let mut m = machine(|c| c.readers = readers);
        let start = m.state().clone();
        let last = m.cpus() - 1;
        // The last reader and the collapser move on.
        for cpu in [last, 0, last, last] {
            let ch = Choice::prog(cpu);
            assert!(m.enabled().contains(ch), "{readers} readers, CPU{cpu}");
            m.step(ch);
        }
        let mut copy = start.clone();
        assert_ne!(&copy, m.state());
        copy.copy_from(m.state());
        assert_eq!(&copy, m.state(), "{readers} readers");
        let mut back = m.state().clone();
        back.copy_from(&start);
        assert_eq!(back, start, "{readers} readers");
    }
    // And between machines of 3 and 22 CPUs, either way.
    let (few, many) = (machine(|c| c.readers = 1), machine(|c| c.readers = 20));
    for (from, to) in [(&few, &many), (&many, &few)] {
        let mut copy = to.state().clone();
        copy.copy_from(from.state());
        assert_eq!(&copy, from.state());
    }
}

/// Readers bracketed by local_irq_save()/local_irq_restore() run the fast path; a
/// reader that takes the PTL, or leaves interrupts off, or never disables them,
/// makes the machine generic.
#[test]
fn only_bracketed_readers_take_the_fast_path() {
    for (name, src) in crate::program::BUILTIN {
        let (_, cfg) = crate::program::load(src).unwrap();
        let m = Machine::new(&cfg, false).unwrap();
        // Readers that take the PTL, or store a flag before their local_irq_save().
        let generic = [
            "ptl-reader",
            "irq-off-ptl-deadlock",
            "handshake-no-mb",
            "handshake-mb",
        ]
        .contains(name);
        assert_eq!(m.is_generic(), generic, "{name}");
    }
    let merged = crate::program::builtin_source("merged").unwrap();
    let lines = |l: &[&str]| l.iter().map(|l| format!("    {l}\n")).collect::<String>();
    let (save, get, map, restore) = (
        "local_irq_save();",
        "pmdp_get_lockless();",
        "pte_offset_map();",
        "local_irq_restore();",
    );
    let block = lines(&[save, get, map, restore]);
    assert!(merged.contains(&block));
    for (other, generic) in [
        (
            lines(&[save, get, map, restore, save, get, map, restore]),
            true,
        ),
        (lines(&[get, map]), true),
        (block.clone(), false),
    ] {
        let (_, cfg) = crate::program::load(&merged.replace(&block, &other)).unwrap();
        let m = Machine::new(&cfg, false).unwrap();
        assert_eq!(m.is_generic(), generic, "{other}");
    }
}

/// Once a drained run is over, a reader outside a read says it has finished.
#[test]
fn a_reader_after_the_collapse_says_it_has_finished() {
    let mut m = Machine::new(&crate::preset("merged").unwrap().config, true).unwrap();
    let mut n = 0;
    while !m.finished() {
        // The writers first, acknowledgements next, readers last.
        let en = m.enabled();
        m.step(
            en.iter()
                .min_by_key(|c| (c.cpu >= FIRST_READER && !c.ack, c.cpu))
                .unwrap(),
        );
        n += 1;
        assert!(n < 1000);
    }
    let why = m.why_disabled(Choice::prog(FIRST_READER)).unwrap();
    assert!(why.contains("CPU2 has finished"), "{why}");
    let why = m.why_disabled(Choice::prog(COLLAPSER)).unwrap();
    assert!(why.contains("the collapser has finished"), "{why}");
    let why = m.why_disabled(Choice::prog(POPULATOR)).unwrap();
    assert!(why.contains("the populator has finished"), "{why}");
}

/// Why a CPU cannot step: an idle CPU only acknowledges IPIs.
#[test]
fn an_idle_cpu_says_it_is_idle() {
    let m = machine(|c| c.cpus = Some(5));
    let why = m.why_disabled(Choice::prog(4)).unwrap();
    assert!(why.contains("CPU4 is idle"), "{why}");
    let why = m.why_disabled(Choice::prog(5)).unwrap();
    assert!(why.contains("no CPU5"), "{why}");
}

/// A read whose last load is one half says which half it was.
#[test]
fn a_reads_last_load_names_its_half() {
    // The half the reader's third step (after local_irq_save() and one half) loads
    // last, if it is a read's last load.
    let last = |src: &str| {
        let (_, cfg) = crate::program::load(src).unwrap();
        let mut m = Machine::new(&cfg, true).unwrap();
        let a: Vec<Action> = (0..3)
            .map(|_| m.step(Choice::prog(FIRST_READER)).action())
            .collect();
        match a[2] {
            Action::LastLoad { half, .. } => Some(half),
            _ => None,
        }
    };
    let src = crate::program::builtin_source("no-recheck").unwrap();
    assert_eq!(last(src), Some(Half::High));
    let swapped = src
        .replace("read_pmd_low();", "read_pmd_x();")
        .replace("read_pmd_high();", "read_pmd_low();")
        .replace("read_pmd_x();", "read_pmd_high();");
    assert_eq!(last(&swapped), Some(Half::Low));
}

/// A reader that takes the PTL spins only while another CPU holds it: it may take
/// a free PTL, waits while the collapser holds it, and goes on once it holds it.
#[test]
fn a_ptl_taking_reader_spins_only_while_another_cpu_holds_the_ptl() {
    let src = crate::program::builtin_source("ptl-reader").unwrap();
    let (_, cfg) = crate::program::load(src).unwrap();
    let mut m = Machine::new(&cfg, true).unwrap();
    let step = Choice::prog;
    let (c, r, other) = (step(COLLAPSER), step(FIRST_READER), step(FIRST_READER + 1));
    assert!(m.enabled().contains(r), "a free PTL");
    m.try_step(c).unwrap();
    assert_eq!(m.state().ptl, COLLAPSER);
    assert!(!m.enabled().contains(r), "the collapser holds the PTL");
    let why = m.why_disabled(r).unwrap();
    assert!(
        why.contains("CPU2 is spinning on the PTL held by CPU0"),
        "{why}"
    );
    while m.state().ptl == COLLAPSER {
        m.try_step(c).unwrap();
    }
    assert!(m.enabled().contains(r), "the collapser let go");
    m.try_step(r).unwrap();
    assert_eq!(m.state().ptl, FIRST_READER);
    assert!(m.enabled().contains(r), "the holder goes on");
    assert!(!m.enabled().contains(other), "the other reader spins");
}

/// A reader that has finished says so, even while another reader holds the PTL: it is
/// not spinning on it.
#[test]
fn a_finished_reader_is_not_spinning_on_a_ptl_another_reader_holds() {
    let src = crate::program::builtin_source("ptl-reader").unwrap();
    let (_, cfg) = crate::program::load(src).unwrap();
    let mut m = Machine::new(&cfg, true).unwrap();
    let (a, b) = (FIRST_READER, FIRST_READER + 1);
    // The collapser up to its sync (the PTL let go), then the whole fault.
    while m.op(COLLAPSER) != Op::Sync {
        m.try_step(Choice::prog(COLLAPSER)).unwrap();
    }
    while m.op(POPULATOR) != Op::Done {
        m.try_step(Choice::prog(POPULATOR)).unwrap();
    }
    // One reader starts an iteration and takes the PTL; the collapser then ends.
    m.try_step(Choice::prog(b)).unwrap();
    assert_eq!(m.state().ptl, b);
    while !m.writers_done() {
        let en = m.enabled();
        let next = en.iter().find(|c| c.ack).unwrap_or(Choice::prog(COLLAPSER));
        m.try_step(next).unwrap();
    }
    assert_eq!(m.state().ptl, b);
    assert!(!m.enabled().contains(Choice::prog(a)));
    let why = m.why_disabled(Choice::prog(a)).unwrap();
    assert!(why.contains("CPU2 has finished"), "{why}");
}

/// Under `kvm-pv-flush` the host stops preempting a walker once a draining run's
/// collapse is over (so that runs end), and says so: with nothing buffered (here
/// `memory = sc`) that is the reason, not a store buffer's drain.
#[test]
fn under_kvm_pv_flush_the_host_stops_preempting_once_the_collapse_is_over() {
    let mut m = machine(|c| c.mode = Mode::KvmPvFlush);
    let r = FIRST_READER;
    assert!(
        m.enabled().contains(Choice::ack(r)),
        "the host may preempt it"
    );
    for _ in 0..1000 {
        if m.writers_done() {
            break;
        }
        // The reader takes its IPIs once it can, and is never preempted.
        let (en, st) = (m.enabled(), m.state());
        let answers = st.pending & !st.irq_off & (1 << r) != 0;
        let next = [Choice::prog(COLLAPSER), Choice::prog(POPULATOR)]
            .into_iter()
            .chain(en.iter().filter(|c| c.ack && (c.cpu != r || answers)))
            .find(|&c| en.contains(c))
            .unwrap_or(Choice::prog(r));
        m.try_step(next).unwrap();
    }
    assert!(m.writers_done());
    assert_eq!(m.state().preempted & (1 << r), 0);
    assert!(!m.enabled().contains(Choice::ack(r)));
    let why = m.why_disabled(Choice::ack(r)).unwrap();
    assert!(why.contains("once the collapse is over"), "{why}");
}

#[test]
fn pmd_encoding_matches_x86() {
    let p = Pmd::table(OLD_TABLE);
    assert_eq!(
        p,
        Pmd {
            low: 0x3a5f_e067,
            high: 1
        }
    );
    assert_eq!(p.addr(), OLD_TABLE);
    assert_eq!(Pmd::table(SAME_LOW_TABLE).low, p.low);
    assert!(!Pmd::default().present());
}

#[test]
fn a_quiet_read_returns_the_old_table() {
    let mut m = machine(|_| {});
    let a = run(&mut m, &[R, R, R, R, R, R]);
    assert_eq!(a[0], Action::IrqOff);
    assert_eq!(a[1], Action::LoadLow { value: 0x3a5f_e067 });
    assert_eq!(a[2], Action::LoadHigh { value: 1 });
    assert_eq!(
        a[3],
        Action::ReloadLow {
            low: 0x3a5f_e067,
            high: 1,
            retry: false,
            torn: false
        }
    );
    assert_eq!(
        a[4],
        Action::Deref {
            addr: OLD_TABLE,
            stale: false
        }
    );
    assert_eq!(a[5], Action::IrqOn { freed: false });
    assert_eq!(m.state().irq_off, 0);
}

#[test]
fn collapser_program_follows_the_placement() {
    use Op::*;
    let order = |sync, mode| {
        let mut m = machine(|c| {
            c.sync = sync;
            c.mode = mode;
        });
        let mut pcs = vec![];
        while m.state().collapser() != DONE {
            pcs.push(m.op(COLLAPSER));
            m.step(Choice::prog(0)).action();
            // Acknowledge everything so the collapser can go on.
            for cpu in bits(m.state().pending).collect::<Vec<_>>() {
                m.step(Choice::ack(cpu)).action();
            }
        }
        pcs
    };
    assert_eq!(
        order(SyncPlacement::UnderPtl, Mode::XenPv),
        [Lock, Clear, Flush, Sync, Unlock, FreeDefer]
    );
    assert_eq!(
        order(SyncPlacement::AfterUnlock, Mode::XenPv),
        [Lock, Clear, Flush, Unlock, Sync, FreeDefer]
    );
    assert_eq!(
        order(SyncPlacement::None, Mode::XenPv),
        [Lock, Clear, Flush, Unlock, FreeDefer]
    );
    // The skip: native flush sent IPIs, so no sync; Xen's hypercall sent none, so sync.
    assert_eq!(
        order(SyncPlacement::FlushSyncSkip, Mode::NativePae),
        [Lock, Clear, Flush, Unlock, FreeDefer]
    );
    assert_eq!(
        order(SyncPlacement::FlushSyncSkip, Mode::XenPv),
        [Lock, Clear, Flush, Sync, Unlock, FreeDefer]
    );
    // Non-PAE: the sync is a no-op, whatever the placement.
    assert_eq!(
        order(SyncPlacement::UnderPtl, Mode::NonPae),
        [Lock, Clear, Flush, Unlock, FreeDefer]
    );
}

#[test]
fn flush_reaches_mm_cpumask_only_and_sync_reaches_everyone() {
    let mut m = machine(|c| {
        c.reader = ReaderKind::Walker;
        c.cpus = Some(5);
    });
    run(&mut m, &[C, C]);
    assert_eq!(
        m.step(Choice::prog(0)).action(),
        Action::FlushIpi { targets: 0b10 }
    );
    assert!(
        !m.enabled().contains(Choice::prog(0)),
        "the sender waits for acks"
    );
    let why = m.why_disabled(Choice::prog(0)).unwrap();
    assert!(why.contains("waiting for IPI acknowledgements"), "{why}");
    assert_eq!(
        m.step(Choice::ack(1)).action(),
        Action::Ack {
            ipi: IpiKind::Flush
        }
    );
    assert_eq!(
        m.step(Choice::prog(0)).action(),
        Action::SyncIpi { targets: 0b11110 }
    );
    assert_eq!(
        m.step(Choice::ack(4)).action(),
        Action::Ack { ipi: IpiKind::Sync }
    );
    // No CPU 64 or beyond takes a step, whatever the masks say.
    let all = Enabled {
        prog: u64::MAX,
        ack: u64::MAX,
        drain: u64::MAX,
    };
    assert!(all.contains(Choice::ack(63)));
    assert!(!all.contains(Choice::prog(64)) && !all.contains(Choice::ack(200)));
    let mut g = machine(|c| c.reader = ReaderKind::GupFast);
    run(&mut g, &[C, C]);
    assert_eq!(
        g.step(Choice::prog(0)).action(),
        Action::FlushIpi { targets: 0b110 }
    );
    let mut x = machine(|c| c.mode = Mode::XenPv);
    run(&mut x, &[C, C]);
    assert_eq!(x.step(Choice::prog(0)).action(), Action::FlushHypercall);
    assert_eq!(x.state().pending, 0);
}

#[test]
fn irqs_off_blocks_acks_and_ptl_spinning_does_not() {
    let mut m = machine(|c| c.mode = Mode::NativePae);
    run(&mut m, &[R, C, C, P, C]); // reader IRQs off; collapser locks, clears, flushes
    let e = m.enabled();
    assert_eq!(
        e.ack, 0b10,
        "populator acks, the reader with IRQs off cannot"
    );
    assert!(m
        .why_disabled(Choice::ack(2))
        .unwrap()
        .contains("interrupts disabled"));
    assert!(m
        .why_disabled(Choice::prog(1))
        .unwrap()
        .contains("spinning on the PTL"));
    assert!(m.why_disabled(Choice::prog(0)).unwrap().contains("waiting"));
}

#[test]
fn aba_on_pmd_low_gives_a_torn_read() {
    // Xen PV, sync after unlock: the seed thread's race.
    let mut m = machine(|c| {
        c.mode = Mode::XenPv;
        c.sync = SyncPlacement::AfterUnlock;
    });
    let mut a = run(&mut m, &[R, R, C, C, C, R, C, P, P, P, P]);
    // reader: IRQs off, low (old); collapser: lock, clear, hypercall; reader: high (0);
    // collapser: unlock; populator: alloc, lock, check, set; reader: low again (same).
    let e = m.step(Choice::prog(R.0));
    assert_eq!(e.hazard(), Some(Hazard::Torn));
    a.push(e.action());
    assert_eq!(a[5], Action::LoadHigh { value: 0 });
    assert_eq!(
        a[11],
        Action::ReloadLow {
            low: 0x3a5f_e067,
            high: 0,
            retry: false,
            torn: true
        }
    );
    assert_eq!(a[11].hazard(), Some(Hazard::Torn));
}

#[test]
fn a_changed_low_word_retries() {
    let mut m = machine(|c| {
        c.mode = Mode::XenPv;
        c.sync = SyncPlacement::AfterUnlock;
        c.alloc = Alloc::Random;
    });
    m.reset(0x0_1234_5000);
    let a = run(&mut m, &[R, R, C, C, C, R, C, P, P, P, P, R]);
    assert_eq!(
        a[11],
        Action::ReloadLow {
            low: 0x1234_5067,
            high: 0,
            retry: true,
            torn: false
        }
    );
    assert_eq!(m.op(2), Op::LoadLow);
}

#[test]
fn same_value_aba_and_new_value_reads_are_not_torn() {
    // Reads (old low, new high) where new = (old low, new high): the PMD held it.
    let mut m = machine(|c| {
        c.mode = Mode::XenPv;
        c.sync = SyncPlacement::AfterUnlock;
    });
    let a = run(&mut m, &[R, R, C, C, C, C, P, P, P, P, R, R]);
    assert_eq!(
        a[11],
        Action::ReloadLow {
            low: 0x3a5f_e067,
            high: 2,
            retry: false,
            torn: false
        }
    );
}

#[test]
fn deferred_free_waits_for_readers_and_immediate_free_goes_stale() {
    let play = |free| {
        let mut m = machine(|c| {
            c.mode = Mode::XenPv;
            c.sync = SyncPlacement::None;
            c.free = free;
        });
        // The reader reads the old value completely, then the collapse runs to the free.
        let mut a = run(&mut m, &[R, R, R, R, C, C, C, C, C]);
        a.extend(run(&mut m, &[R, R]));
        a
    };
    let d = play(FreeKind::RcuDeferred);
    assert_eq!(d[8], Action::Free { waiting: 0b100 });
    assert_eq!(
        d[9],
        Action::Deref {
            addr: OLD_TABLE,
            stale: false
        }
    );
    assert_eq!(d[10], Action::IrqOn { freed: true });
    let i = play(FreeKind::Immediate);
    assert_eq!(i[8], Action::Free { waiting: 0 });
    assert_eq!(
        i[9],
        Action::Deref {
            addr: OLD_TABLE,
            stale: true
        }
    );
}

#[test]
fn same_frame_allocation_waits_for_the_free() {
    // A run that goes on past the writers, so a reader can start after them.
    let cfg = Config {
        readers: 1,
        alloc: Alloc::SameFrame,
        mode: Mode::XenPv,
        sync: SyncPlacement::None,
        ..Config::default()
    };
    let mut m = Machine::new(&cfg, false).unwrap();
    assert!(m.why_disabled(Choice::prog(1)).unwrap().contains("freed"));
    run(&mut m, &[C, C, C, C, C]);
    assert_eq!(
        m.step(Choice::prog(1)).action(),
        Action::Alloc { addr: OLD_TABLE }
    );
    // The new table, in the old one's frame: a reader that reads and uses it uses a
    // live table, though a freed one had the same frame.
    run(&mut m, &[P, P, P, P]);
    let a = run(&mut m, &[R, R, R, R, R]);
    assert_eq!(
        a[4],
        Action::Deref {
            addr: OLD_TABLE,
            stale: false
        }
    );
}

/// A torn read's value points at no table: its use is not a stale one, though the
/// old table, whose low word it has, was freed by then.
#[test]
fn a_torn_values_use_is_not_stale_where_no_table_is() {
    let src = crate::program::builtin_source("no-recheck")
        .unwrap()
        .replace("    pmdp_get_lockless_sync();\n", "")
        .replace("pte_free_defer();", "pte_free();");
    let (_, cfg) = crate::program::load(&src).unwrap();
    let mut m = Machine::new(&cfg, true).unwrap();
    run(&mut m, &[R, R]); // interrupts off, the old pmd_low
    let w = run(&mut m, &[C, C, C, C, C]); // lock, clear, flush, unlock, free
    assert_eq!(w[4], Action::Free { waiting: 0 }, "{w:?}");
    let a = run(&mut m, &[R, R]);
    assert_eq!(a[0].hazard(), Some(crate::hazard::Hazard::Torn), "{a:?}");
    assert_eq!(
        a[1],
        Action::Deref {
            addr: OLD_TABLE & 0xffff_ffff,
            stale: false
        }
    );
}

#[test]
fn populator_retries_until_the_pmd_is_none() {
    let mut m = machine(|_| {});
    let a = run(&mut m, &[P, P, P, P]);
    assert_eq!(a[2], Action::CheckNone { none: false });
    // The populator held the PTL at its check: the collapser, at its lock, spun.
    let mut held = machine(|_| {});
    run(&mut held, &[P, P]);
    let why = held.why_disabled(Choice::prog(COLLAPSER)).unwrap();
    assert!(why.contains("spinning on the PTL held by CPU1"), "{why}");
    assert_eq!(a[3], Action::PtlUnlock { retry: true });
    assert_eq!(m.op(POPULATOR), Op::Lock);
    // Once the collapser has cleared the PMD and let go of the PTL, it is none.
    for _ in 0..100 {
        if m.state().pmd == Pmd::default() && m.state().ptl == NO_CPU {
            break;
        }
        // The collapser when it can, else an acknowledgement it waits for (the
        // populator's too), else a reader.
        let ch = m.enabled().iter().filter(|c| c.ack || c.cpu != POPULATOR);
        m.step(ch.min_by_key(|c| (c.cpu != COLLAPSER, !c.ack)).unwrap());
    }
    let a = run(&mut m, &[P, P, P, P]);
    assert_eq!(a[1], Action::CheckNone { none: true });
    assert_eq!(a[2], Action::Set);
    assert_eq!(a[3], Action::PtlUnlock { retry: false });
}

#[test]
fn split_writes_pass_through_half_values() {
    let mut m = machine(|c| {
        c.clear = ClearKind::SplitLowFirst;
        c.set = SetKind::SplitHighFirst;
    });
    let h = m.history().to_vec();
    assert_eq!(h.len(), 5);
    assert_eq!(h[1], Pmd { low: 0, high: 1 });
    assert_eq!(h[3], Pmd { low: 0, high: 2 });
    let a = run(&mut m, &[C, C, C]);
    assert_eq!(a[1..], [Action::ClearLow, Action::ClearHigh]);
    assert_eq!(m.state().pmd, Pmd::default());
}

/// A read that returns a non-present value (here the half-cleared PMD, low word
/// gone) leaves nothing in the reader's registers: the pte_offset_map() it skips is
/// the only step that would use them, and a state must not remember the value.
#[test]
fn a_non_present_read_clears_the_registers() {
    let mut m = machine(|c| c.clear = ClearKind::SplitLowFirst);
    let a = run(&mut m, &[C, C, R, R, R, R]);
    assert_eq!(
        a[5],
        Action::ReloadLow {
            low: 0,
            high: 1,
            retry: false,
            torn: false
        }
    );
    assert_eq!(m.state().regs[0], Regs::START);
    assert_eq!(
        m.state().cur[2].op,
        Op::IrqOn,
        "pte_offset_map() is skipped"
    );
}

#[test]
fn non_pae_reads_in_one_load() {
    let mut m = machine(|c| c.mode = Mode::NonPae);
    let a = run(&mut m, &[R, R]);
    assert_eq!(
        a[1],
        Action::Load64 {
            low: 0x3a5f_e067,
            high: 1
        }
    );
}

#[test]
fn drained_run_finishes_when_readers_are_out() {
    let mut m = machine(|c| {
        c.mode = Mode::XenPv;
        c.sync = SyncPlacement::None;
    });
    run(&mut m, &[R]);
    while !m.writers_done() {
        let e = m.enabled();
        let ch = e.iter().find(|c| c.cpu < 2 || c.ack).unwrap();
        m.step(ch);
    }
    assert!(!m.finished(), "the reader is still inside its read");
    while !m.finished() {
        m.step(Choice::prog(2)).action();
    }
    assert!(m.enabled().is_empty());
}

#[test]
fn draw_table_never_returns_the_old_frame_and_stays_in_ram() {
    let mut x = 0u64;
    let mut next = || {
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        x
    };
    for _ in 0..10_000 {
        let a = draw_table(&mut next);
        assert_ne!(a, OLD_TABLE);
        assert!(a < RAM_BYTES && a % 4096 == 0);
    }
    let mut edge = || u64::MAX;
    assert_eq!(draw_table(&mut edge), RAM_BYTES - 4096);
}

#[test]
fn choices_code_round_trip() {
    for cpu in 0..64 {
        for ack in [false, true] {
            let c = Choice {
                cpu,
                ack,
                drain: false,
            };
            assert_eq!(Choice::from_code(c.code()), c);
            assert_eq!(
                Choice::from_code(Choice::drain(cpu).code()),
                Choice::drain(cpu)
            );
        }
    }
    let e = Enabled {
        prog: 0b1010,
        ack: 0b100,
        drain: 0b11,
    };
    assert_eq!(
        e.iter().collect::<Vec<_>>(),
        (0..e.count()).map(|i| e.nth(i)).collect::<Vec<_>>()
    );
}

/// A clear outside the PTL, then `pmd_lock()` while the fault holds it: after the clear
/// (a step that ends at a lock) the collapser must wait, not take the PTL from the
/// fault. Found by the edited-scenario property test (`hostile_input.rs`).
#[test]
fn a_writer_reaching_a_taken_lock_after_any_step_waits() {
    let src = "tornsim clear-then-lock\n{ mode = xen-pv; readers = 1; }\n\
        P0(khugepaged) {\n    pmdp_huge_get_and_clear();\n    pmd_lock();\n    flush_tlb_range();\n    spin_unlock();\n    pte_free_defer();\n}\n\
        P1(fault) {\n    pte_alloc_one();\n    do {\n        pmd_lock();\n        if (pmd_none())\n            pmd_populate();\n        spin_unlock();\n    } while (!installed);\n}\n\
        P2(gup_fast) {\n    local_irq_save();\n    pmdp_get_lockless();\n    pte_offset_map();\n    local_irq_restore();\n}\n\
        exists (torn \\/ stale)\n";
    let (_, cfg) = crate::program::load(src).unwrap();
    let mut m = Machine::new(&cfg, true).unwrap();
    run(&mut m, &[P, P, C]);
    assert_eq!(m.state().ptl, POPULATOR);
    assert_eq!(m.op(COLLAPSER), Op::Lock);
    assert!(!m.enabled().contains(Choice::prog(COLLAPSER)));
    let again = {
        let mut f = m.clone();
        f.set_state(m.state().clone());
        f
    };
    assert_eq!(again.state(), m.state());
}

/// An enabled set is empty only when no CPU can do anything: a CPU that may both step
/// and answer an IPI is two choices, not none.
#[test]
fn an_enabled_set_counts_and_is_empty_by_its_choices() {
    use super::Enabled;
    let one_cpu_two_ways = Enabled {
        prog: 4,
        ack: 4,
        drain: 0,
    };
    assert!(!one_cpu_two_ways.is_empty());
    assert_eq!(one_cpu_two_ways.count(), 2);
    // Each kind alone, and two kinds on one CPU without the third.
    for (prog, ack, drain) in [(4, 0, 0), (0, 4, 0), (0, 0, 4), (0, 4, 4), (4, 0, 4)] {
        assert!(
            !Enabled { prog, ack, drain }.is_empty(),
            "{prog} {ack} {drain}"
        );
    }
    let all = Enabled {
        prog: 4,
        ack: 4,
        drain: 4,
    };
    assert!(!all.is_empty());
    assert_eq!(all.count(), 3);
    assert!(Enabled {
        prog: 0,
        ack: 0,
        drain: 0
    }
    .is_empty());
    assert_eq!(
        Enabled {
            prog: 3,
            ack: 8,
            drain: 16
        }
        .count(),
        4
    );
}

/// Under `alloc = same-frame` the new table is the old one's entry again: a read whose
/// loads span the whole collapse saw a value the PMD held at both ends, not a torn one.
#[test]
fn a_value_the_pmd_held_at_both_ends_of_a_read_was_held() {
    let m = machine(|c| c.alloc = Alloc::SameFrame);
    let old = m.history[0].value();
    assert_eq!(m.new.value(), old, "the same frame: the same entry");
    let last = m.history_len - 1;
    assert!(last >= 2);
    assert!(m.held_present(0, last, old));
    assert!(m.held_present(0, 0, old) && m.held_present(last, last, old));
    assert!(!m.held_present(1, last - 1, old), "cleared in between");
}
