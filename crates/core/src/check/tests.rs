use super::*;
use crate::machine::{Choice, Machine, Pmd, OLD_TABLE};
use crate::preset;
use crate::run::{record_run, table_for};
use crate::sched::SchedulerSpec;

/// A search run to the end, past any hazard, with or without the reduction.
fn explored(cfg: &Config, table: u64, reduce: bool) -> Search {
    let opts = CheckOptions {
        max_states: 10_000_000,
        ..with_reduction(reduce)
    };
    let mut s = Search::new(cfg, table, opts, u32::MAX).unwrap();
    s.stops.keep_going = true;
    assert!(matches!(s.run(u64::MAX), Some(End::Exhausted)));
    s
}

/// The whole unreduced graph.
fn full(cfg: &Config, table: u64) -> Search {
    explored(cfg, table, false)
}

/// The default options, with or without the reduction.
fn with_reduction(reduce: bool) -> CheckOptions {
    CheckOptions {
        reduce,
        ..CheckOptions::default()
    }
}

#[test]
fn pack_round_trips_every_reachable_state() {
    // One, two and three idle CPUs: their pending IPIs are packed as a count, after
    // one, two or three readers.
    for (readers, cpus) in [(2, 5), (2, 6), (2, 7), (1, 4), (3, 7)] {
        let cfg = Config {
            readers,
            cpus: Some(cpus),
            ..preset("seed-thread-v1").unwrap().config
        };
        let mut s = full(&cfg, default_table(cfg.alloc));
        for i in 0..s.states.len() {
            let x = s.states[i];
            s.layout.unpack(x, &mut s.m);
            assert_eq!(s.layout.pack(&s.m, true), x);
            // And the machine the state unpacks to is the one that packed it.
            let st = s.m.state().clone();
            s.layout.unpack(s.layout.pack(&s.m, false), &mut s.m);
            assert_eq!(s.m.state(), &st, "{cpus} CPUs");
        }
        assert!(s.states.len() > 100);
    }
    // Every built-in scenario in every mode: readers that hold the PTL or are
    // preempted (kvm-pv-flush) pack extra bits. Each successor of each stored
    // state, as the step made it (not as an earlier unpacking left it), unpacks
    // from its packing unchanged.
    for (name, cfg) in every_scenario_in_every_mode() {
        let mut s = full(&cfg, default_table(cfg.alloc));
        let mut back = s.m.clone();
        for i in 0..s.states.len() {
            s.layout.unpack(s.states[i], &mut s.m);
            for ch in s.m.enabled().iter() {
                let mut next = s.m.clone();
                next.step(ch);
                s.layout.unpack(s.layout.pack(&next, false), &mut back);
                assert_eq!(back.state(), next.state(), "{name} {:?}", cfg.mode);
            }
        }
    }
}

/// A reader that takes the PTL buffers its unlock under TSO; under kvm-pv-flush its
/// vCPU can also be preempted (with an empty buffer: it answers the host only then):
/// the packed word holds the lock bit, the preempted bit and the buffer's length, in
/// that order, and each must come back where it was.
#[test]
fn a_preempted_ptl_reader_with_a_buffered_unlock_round_trips() {
    use crate::config::{Apic, Memory, Mode};
    let (_, base) =
        crate::program::load(crate::program::builtin_source("ptl-reader").unwrap()).unwrap();
    for apic in [Apic::Xapic, Apic::X2apic] {
        let cfg = Config {
            mode: Mode::KvmPvFlush,
            memory: Memory::Tso,
            apic,
            ..base.clone()
        };
        cfg.validate().unwrap();
        let mut s = full(&cfg, default_table(cfg.alloc));
        let (mut back, mut preempted, mut buffered) = (s.m.clone(), 0, 0);
        for i in 0..s.states.len() {
            s.layout.unpack(s.states[i], &mut s.m);
            for ch in s.m.enabled().iter() {
                let mut next = s.m.clone();
                next.step(ch);
                let st = next.state();
                let r = crate::machine::FIRST_READER as usize;
                preempted += (st.preempted >> r & 1) as u32;
                buffered += !st.sb[r].is_empty() as u32;
                s.layout.unpack(s.layout.pack(&next, false), &mut back);
                assert_eq!(back.state(), st, "{apic:?}");
            }
        }
        assert!(preempted > 0 && buffered > 0, "{preempted} {buffered}");
    }
}

/// Every built-in scenario in every mode it can run in, under SC; and under TSO with
/// the IPI ordered (xAPIC) and not (x2APIC) in the two modes whose IPIs differ (native,
/// where the x2APIC paths fence, and Xen PV, where IPIs are hypercalls).
fn every_scenario_in_every_mode() -> Vec<(&'static str, Config)> {
    use crate::config::{Apic, Knob, Memory, Mode};
    let mut out = Vec::new();
    for (name, src) in crate::program::BUILTIN {
        let (_, base) = crate::program::load(src).unwrap();
        for &mode in Mode::ALL {
            let tso = matches!(mode, Mode::NativePae | Mode::XenPv);
            let models: &[(Memory, Apic)] = if tso {
                &[
                    (Memory::Sc, Apic::Xapic),
                    (Memory::Tso, Apic::Xapic),
                    (Memory::Tso, Apic::X2apic),
                ]
            } else {
                &[(Memory::Sc, Apic::Xapic)]
            };
            for &(memory, apic) in models {
                let cfg = Config {
                    mode,
                    memory,
                    apic,
                    ..base.clone()
                };
                if cfg.validate().is_ok() {
                    out.push((*name, cfg));
                }
            }
        }
    }
    out
}

/// The reduction changes neither the verdict nor the witness: every built-in
/// scenario, in every mode, gets the same answer with it and without it, choice for
/// choice (the full graph's second search finds the hazard the unreduced search
/// finds first), also where the reduced graph's own witness differs (`LONGER`,
/// `OTHER`).
#[test]
fn reduction_agrees_with_the_full_search_on_every_scenario_and_mode() {
    let mut found = 0;
    let mut all = every_scenario_in_every_mode();
    for body in [LONGER, OTHER] {
        all.push(("seed-thread-v1 with a P3", with_p3(body)));
    }
    for (name, cfg) in all {
        let run = |reduce| check(&cfg, with_reduction(reduce)).unwrap();
        let (reduced, plain) = (run(true), run(false));
        assert_eq!(reduced.verdict, plain.verdict, "{name} in {}", cfg.mode);
        assert_eq!(reduced.witness, plain.witness, "{name} in {}", cfg.mode);
        found += reduced.witness.is_some() as u32;
    }
    assert!(found > 10, "{found}");
}

/// The reduced search's size for a few configurations, pinned: any change to the
/// reduction, the symmetry or the packing that alters which states are stored shows
/// here first (the verdict tests cannot see a reduction that stays sound by luck).
/// Update these numbers only with an argument for why the new ones are right.
#[test]
fn reduced_state_counts_are_pinned() {
    for (name, readers, cpus, states, transitions) in [
        ("merged", 3, None, 9111, 32830),
        ("seed-thread-v1", 3, None, 2127, 6747),
        ("merged", 2, Some(7), 2259, 5608),
        ("native-walker", 2, Some(6), 1172, 2870),
    ] {
        let cfg = Config {
            readers,
            cpus,
            ..preset(name).unwrap().config
        };
        let r = check(&cfg, CheckOptions::default()).unwrap();
        assert_eq!(
            (r.states, r.transitions),
            (states, transitions),
            "{name}, {readers} readers, {cpus:?} CPUs"
        );
    }
}

/// An idle CPU's pending IPI survives packing whichever idle CPU it is on.
#[test]
fn every_idle_cpus_pending_ipi_is_packed() {
    let cfg = Config {
        readers: 1,
        cpus: Some(6),
        ..preset("merged").unwrap().config
    };
    let s = full(&cfg, default_table(cfg.alloc));
    let mut m = s.m.clone();
    for idle in 3..6u8 {
        m.edit_state(|st| st.pending = 1 << idle);
        let x = s.layout.pack(&m, true);
        let mut back = m.clone();
        back.edit_state(|st| st.pending = 0);
        s.layout.unpack(x, &mut back);
        assert_eq!(back.state().pending.count_ones(), 1, "CPU{idle}");
    }
}

#[test]
fn options_without_a_memory_budget_deserialise_as_unlimited() {
    let o: CheckOptions =
        serde_json::from_str(r#"{"max_states": 10, "reduce": true, "symmetry": false}"#).unwrap();
    assert_eq!(o.max_bytes, u64::MAX);
}

#[test]
fn the_matrix_has_every_cell_once() {
    use crate::config::{ClearKind, Knob, Mode, ReaderKind, SetKind, SyncPlacement};
    let cells = matrix_configs(1, true);
    let keys: std::collections::BTreeSet<String> = cells
        .iter()
        .map(|x| format!("{:?}", (x.mode, x.reader, x.sync, x.clear, x.set)))
        .collect();
    let want = Mode::ALL.len()
        * ReaderKind::ALL.len()
        * SyncPlacement::ALL.len()
        * ClearKind::ALL.len()
        * SetKind::ALL.len();
    assert_eq!((cells.len(), keys.len()), (want, want));
    assert!(cells.iter().all(|x| x.readers == 1));
    let one = matrix_configs(2, false);
    assert_eq!(
        one.len(),
        want / (ClearKind::ALL.len() * SetKind::ALL.len())
    );
    assert!(one.iter().all(|x| x.readers == 2));
}

/// Every state a random run passes through is one the search found: the search
/// misses nothing the machine can do.
#[test]
fn random_runs_stay_inside_the_explored_states() {
    for name in [
        "seed-thread-v1",
        "merged",
        "native-walker",
        "v3-skip-walker",
    ] {
        for split in [false, true] {
            let mut cfg = preset(name).unwrap().config;
            if split {
                cfg.clear = crate::config::ClearKind::SplitLowFirst;
                cfg.set = crate::config::SetKind::SplitHighFirst;
            }
            let table = table_for(&cfg, 0);
            let s = full(&cfg, table);
            let known: std::collections::HashSet<u128> = s.states.iter().copied().collect();
            for seed in 0..300 {
                let spec = if seed % 2 == 0 {
                    SchedulerSpec::Random
                } else {
                    SchedulerSpec::Pct { depth: 4 }
                };
                let (sched, _) = record_run(&cfg, spec, seed);
                let mut m = Machine::new(&cfg, true).unwrap();
                m.reset(sched.new_table);
                for ch in sched.choices {
                    let e = m.step(ch);
                    if e.hazard().is_some() {
                        break;
                    }
                    let x = s.layout.pack(&m, true);
                    assert!(
                        known.contains(&x),
                        "{name}: run {seed} left the explored states"
                    );
                }
            }
        }
    }
}

/// A search stopped by either budget says incomplete, never safe, and names the
/// budget; its store never grew past the memory budget.
#[test]
fn incomplete_is_never_safe() {
    let cfg = preset("merged").unwrap().config;
    let states = CheckOptions {
        max_states: 50,
        ..CheckOptions::default()
    };
    let bytes = CheckOptions {
        max_bytes: 4096,
        ..CheckOptions::default()
    };
    for (opts, budget) in [(states, Budget::States), (bytes, Budget::Memory)] {
        let r = check(&cfg, opts).unwrap();
        assert_eq!(
            (r.verdict, r.stopped_by),
            (Verdict::Incomplete, Some(budget))
        );
        assert!(r.witness.is_none());
        assert!(r.peak_bytes <= opts.max_bytes, "{}", r.peak_bytes);
    }
}

/// The store may grow up to exactly the memory budget: a budget of twice its size
/// lets it double, one byte less stops it there.
#[test]
fn the_memory_budget_is_checked_before_the_store_doubles() {
    let cfg = preset("merged").unwrap().config;
    let table = default_table(cfg.alloc);
    let search = |max_bytes| {
        let opts = CheckOptions {
            max_bytes,
            ..CheckOptions::default()
        };
        Search::new(&cfg, table, opts, u32::MAX).unwrap()
    };
    let first = search(u64::MAX).bytes();
    assert!(first > 16, "{first}");
    let run = |max_bytes| {
        let mut s = search(max_bytes);
        let end = s.run(u64::MAX);
        (
            matches!(end, Some(End::OutOf(Budget::Memory))),
            s.states.len(),
        )
    };
    assert_eq!(run(2 * first - 1), (true, 1));
    assert!(run(2 * first).1 > 1);
}

/// The store's size, which the memory budget and `peak_bytes` use, counts every
/// slot of its four arrays at its element's size (the index: a `u32` and one control
/// byte per slot).
#[test]
fn the_store_counts_every_slot_of_its_arrays() {
    use std::mem::size_of;
    let cfg = preset("merged").unwrap().config;
    let s = full(&cfg, default_table(cfg.alloc));
    let want = s.states.capacity() * size_of::<u128>()
        + s.parent.capacity() * size_of::<u32>()
        + s.via.capacity() * size_of::<u8>()
        + s.index.capacity() * (size_of::<u32>() + 1);
    assert_eq!(s.bytes(), want as u64);
    assert!(s.states.capacity() > 1000 && s.index.capacity() > 1000);
}

/// A checker's progress part way adds up what it has found, and ends at the result.
#[test]
fn progress_counts_what_the_search_has_found() {
    let cfg = Config {
        readers: 3,
        ..preset("merged").unwrap().config
    };
    let mut c = Checker::new(&cfg, CheckOptions::default()).unwrap();
    // After one expansion, every state found but the first waits to be expanded.
    assert!(c.work(1).is_none());
    let first = c.progress();
    assert!(first.states > 2, "{first:?}");
    assert_eq!(first.frontier, first.states - 1, "{first:?}");
    assert!(c.work(499).is_none());
    let p = c.progress();
    assert!(p.states > 1 && p.transitions >= p.states - 1, "{p:?}");
    assert!(
        p.depth > 0 && p.frontier > 0 && p.frontier < p.states,
        "{p:?}"
    );
    assert_eq!(p.classes, 1);
    let r = loop {
        if let Some(r) = c.work(10_000) {
            break r.clone();
        }
        let q = c.progress();
        assert!(
            q.states >= p.states && q.transitions >= p.transitions,
            "{q:?}"
        );
    };
    let end = c.progress();
    assert_eq!((end.states, end.transitions), (r.states, r.transitions));
}

/// A verdict prints as the name its JSON uses.
#[test]
fn verdicts_print_as_their_json_names() {
    use Verdict::*;
    for v in [Safe, Torn, Stale, Deadlock, Incomplete] {
        let json = serde_json::to_string(&v).unwrap();
        assert_eq!(format!("\"{v}\""), json);
        assert_eq!(v.name(), v.to_string());
    }
}

#[test]
fn too_many_readers_is_an_error_not_a_panic() {
    let cfg = Config {
        readers: 9,
        ..Config::default()
    };
    let e = Checker::new(&cfg, CheckOptions::default()).err().unwrap();
    assert!(e.to_string().contains("at most 8 readers"), "{e}");
}

#[test]
fn random_classes_cover_every_equality_class() {
    let old = Pmd::table(OLD_TABLE);
    let mut seen = std::collections::HashSet::new();
    for t in random_classes() {
        let p = Pmd::table(t);
        assert_ne!(t, OLD_TABLE);
        assert!(p.present());
        seen.insert((p.low == old.low, p.high == old.high, p.high == 0));
    }
    assert_eq!(seen.len(), 5);
}

/// A search over several table classes (the random allocator's five) counts them
/// from 1 as it goes, and ends on the last.
#[test]
fn progress_names_the_class_being_searched() {
    let mut cfg = preset("merged").unwrap().config;
    cfg.set("alloc", "random").unwrap();
    let mut c = Checker::new(&cfg, CheckOptions::default()).unwrap();
    let mut seen = vec![c.progress().class];
    while c.work(200).is_none() {
        let p = c.progress();
        assert_eq!(p.classes, 5);
        seen.push(p.class);
    }
    assert_eq!(c.result.as_ref().unwrap().verdict, Verdict::Safe);
    assert_eq!(seen[0], 1);
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    assert_eq!(*seen.last().unwrap(), 5, "{seen:?}");
}

/// The depth a search reports is the last breadth-first layer's: the longest of the
/// shortest paths to the states found, recomputed here from the parents.
#[test]
fn depth_counts_the_layers() {
    for (name, cfg) in every_scenario_in_every_mode().into_iter().step_by(3) {
        let s = full(&cfg, default_table(cfg.alloc));
        let mut dist = vec![0u32; s.states.len()];
        for i in 1..s.states.len() {
            dist[i] = dist[s.parent[i] as usize] + 1;
        }
        let longest = *dist.iter().max().unwrap();
        assert_eq!(s.depth, longest, "{name} in {}", cfg.mode);
    }
}

/// In every reachable state of every built-in scenario, the reduced search explores
/// only transitions that are enabled, and some whenever any is.
#[test]
fn ample_sets_are_enabled_and_never_empty() {
    for (name, cfg) in every_scenario_in_every_mode() {
        let mut s = explored(&cfg, default_table(cfg.alloc), true);
        for i in 0..s.states.len() {
            s.layout.unpack(s.states[i], &mut s.m);
            let en = s.m.enabled();
            let (prog, ack, drain) = s.ample();
            let at = || format!("{name} in {}: {:?}", cfg.mode, s.m.state());
            assert_eq!(
                (prog & !en.prog, ack & !en.ack, drain & !en.drain),
                (0, 0, 0),
                "{}",
                at()
            );
            assert_eq!(prog | ack | drain == 0, en.is_empty(), "{}", at());
            // A reader explored alone is so by its step's rule, and only while the
            // rule's condition holds.
            if prog.count_ones() == 1 && prog != en.prog {
                let cpu = prog.trailing_zeros() as usize;
                let st = s.m.state();
                match s.layout.reduction[st.pc[cpu] as usize] {
                    crate::prim::Reduction::PmdFinal => {
                        assert_eq!(st.ver, s.layout.last_ver, "{}", at())
                    }
                    crate::prim::Reduction::WritersDone => {
                        assert!(s.m.writers_done() && st.qs >> cpu & 1 == 0, "{}", at())
                    }
                    crate::prim::Reduction::Never => panic!("never reduced: {}", at()),
                }
                assert_eq!(s.m.buffered() >> cpu & 1, 0, "{}", at());
            }
        }
    }
}

/// The ample set is drawn from the enabled set it is given: a reader whose rule would
/// let it run alone is not picked when it is not enabled (held by a lock, a full
/// buffer), and the next reader that is, or every enabled step, is explored instead.
#[test]
fn a_reader_that_is_not_enabled_is_never_the_ample_set() {
    let cfg = preset("merged").unwrap().config;
    let mut s = explored(&cfg, default_table(cfg.alloc), true);
    let mut tried = 0;
    for i in 0..s.states.len() {
        s.layout.unpack(s.states[i], &mut s.m);
        let en = s.m.enabled();
        let (prog, _, _) = s.ample();
        if prog.count_ones() != 1 || prog == en.prog {
            continue;
        }
        // Take the reduced reader out of the enabled set.
        let held = crate::machine::Enabled {
            prog: en.prog & !prog,
            ..en
        };
        let (p2, a2, d2) = super::reduce::ample_en(&s.m, &s.layout, true, held);
        assert_eq!(p2 & prog, 0, "{:?}", s.m.state());
        assert_eq!(
            (p2 & !held.prog, a2 & !held.ack, d2 & !held.drain),
            (0, 0, 0)
        );
        tried += 1;
    }
    assert!(tried > 10, "{tried}");
}

/// A hazard is found at the depth of its witness: the step that raised it is one
/// level below the state it was taken from (a deadlock or a final state, found at a
/// state itself, at that state's level).
#[test]
fn a_hazard_is_found_at_its_witness_depth() {
    for name in ["seed-thread-v1", "no-recheck", "irq-off-ptl-deadlock"] {
        let cfg = preset(name)
            .map(|p| p.config)
            .or_else(|_| {
                crate::program::load(crate::program::builtin_source(name).unwrap()).map(|c| c.1)
            })
            .unwrap();
        for reduce in [false, true] {
            let mut s = Search::new(
                &cfg,
                default_table(cfg.alloc),
                with_reduction(reduce),
                u32::MAX,
            )
            .unwrap();
            let Some(End::Hazard(h, depth)) = s.run(u64::MAX) else {
                panic!("{name}: no hazard")
            };
            assert_eq!(
                depth as usize,
                s.witness(h).choices.len(),
                "{name} {reduce}"
            );
        }
    }
}

/// The first hazard one search finds, as the search's own witness (without the
/// checker's second search of the full graph).
fn own_witness(cfg: &Config, reduce: bool) -> Vec<Choice> {
    let opts = with_reduction(reduce);
    let mut s = Search::new(cfg, default_table(cfg.alloc), opts, u32::MAX).unwrap();
    let Some(End::Hazard(h, _)) = s.run(u64::MAX) else {
        panic!("no hazard")
    };
    s.witness(h).choices
}

/// The reduced graph can reach a hazard by a longer path than the full graph's
/// shortest (here a reader that only reads the PMD, explored alone once the PMD is
/// final, steps first), or by another path as short; the checker's witness is still
/// the full graph's first, from a second search.
#[test]
fn witnesses_are_shortest_where_the_reduction_lengthens_the_path() {
    let longer = with_p3(LONGER);
    let (reduced, shortest) = (own_witness(&longer, true), own_witness(&longer, false));
    assert!(reduced.len() > shortest.len(), "{reduced:?} {shortest:?}");
    let r = check(&longer, CheckOptions::default()).unwrap();
    assert_eq!(r.verdict, Verdict::Torn);
    assert_eq!(r.witness.unwrap().choices, shortest);
    let other = with_p3(OTHER);
    let (reduced, shortest) = (own_witness(&other, true), own_witness(&other, false));
    assert_eq!(reduced.len(), shortest.len());
    assert_ne!(reduced, shortest);
}

/// `P3` bodies for seed-thread-v1 where the reduced graph's own witness is longer
/// than the shortest, and where it is another one as short.
const LONGER: &str = "read_pmd_high();\nread_pmd_high();";
const OTHER: &str = "read_pmd_low();\npmdp_get_lockless();";

/// seed-thread-v1 with a second kind of reader, `P3`, that runs `body`.
fn with_p3(body: &str) -> Config {
    let src = crate::program::builtin_source("seed-thread-v1").unwrap();
    let src = format!(
        "{}P3(gup_fast) {{\n{body}\n}}\nexists (torn)\n",
        &src[..src.find("exists").unwrap()]
    );
    crate::program::load_checked(&src).unwrap().1
}

/// The search on 2 and 4 threads gives what it gives on one, state for state: the
/// verdict, the state and transition counts, the depth and the witness, on every
/// built-in scenario in every mode and every cell of the verdict matrix (at one reader
/// with every split, and at two). Under `cfg(test)` every round, however small, is
/// expanded in parallel, in chunks of one state and up, so these small searches cross
/// every path of the merge: hazards in a later chunk, repeats across chunks.
#[test]
fn any_thread_count_gives_the_one_thread_answer() {
    let all = every_scenario_and_matrix_cell();
    let mut hazards = 0;
    for (name, cfg) in &all {
        let one = check(cfg, CheckOptions::default()).unwrap();
        for threads in [2, 4] {
            let opts = CheckOptions {
                threads,
                ..CheckOptions::default()
            };
            let par = check(cfg, opts).unwrap();
            let at = || format!("{name}, {}, {threads} threads", cfg.summary());
            assert_eq!(par.verdict, one.verdict, "{}", at());
            assert_eq!(
                (par.states, par.transitions, par.depth),
                (one.states, one.transitions, one.depth),
                "{}",
                at()
            );
            assert_eq!(par.witness, one.witness, "{}", at());
        }
        hazards += one.witness.is_some() as u32;
    }
    enough_hazards(hazards, all.len());
}

/// Every built-in scenario in every mode, every cell of the verdict matrix at one
/// reader with every split and at two, and the two files where the reduction finds
/// another witness than the full graph's shortest (the checker searches again).
pub(super) fn every_scenario_and_matrix_cell() -> Vec<(&'static str, Config)> {
    let mut all = every_scenario_in_every_mode();
    for body in [LONGER, OTHER] {
        all.push(("seed-thread-v1 with a P3", with_p3(body)));
    }
    for (readers, splits) in [(1, true), (2, false)] {
        for cfg in matrix_configs(readers, splits) {
            all.push(("matrix cell", cfg));
        }
    }
    all
}

/// Those configurations found hazards where they should: a test that compares answers
/// on them compared witnesses too.
pub(super) fn enough_hazards(hazards: u32, of: usize) {
    assert!(hazards > 100 && of > 350, "{hazards} of {of}");
}

/// A search stopped by its state budget stops at the same state, after the same
/// transitions, on any thread count: at budgets one apart, so that the refused state is
/// sometimes its parent's first new successor and sometimes a later one (the parent's
/// earlier transitions counted, and no more).
#[test]
fn the_state_budget_stops_every_thread_count_at_the_same_state() {
    let cfg = Config {
        readers: 3,
        ..preset("merged").unwrap().config
    };
    let run = |max_states, threads| {
        let opts = CheckOptions {
            max_states,
            threads,
            ..CheckOptions::default()
        };
        check(&cfg, opts).unwrap()
    };
    for max_states in 4_000..4_016 {
        let one = run(max_states, 1);
        assert_eq!(one.stopped_by, Some(Budget::States));
        assert_eq!(one.states, max_states);
        for threads in [2, 4] {
            let par = run(max_states, threads);
            let at = format!("{max_states} states, {threads} threads");
            assert_eq!(par.stopped_by, one.stopped_by, "{at}");
            assert_eq!(
                (par.states, par.transitions, par.depth),
                (one.states, one.transitions, one.depth),
                "{at}"
            );
        }
    }
}

/// Options saved before `threads` existed (a page's settings, a config file) read as a
/// search on one thread, as they ran.
#[test]
fn options_without_a_thread_count_run_on_one_thread() {
    let o: CheckOptions =
        serde_json::from_str(r#"{"max_states": 5, "reduce": true, "symmetry": false}"#).unwrap();
    assert_eq!((o.threads, o.max_bytes, o.symmetry), (1, u64::MAX, false));
}
