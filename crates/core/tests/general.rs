//! The general machine against the classic one: the PMD race is one program of the
//! general language, so every built-in scenario and every cell of MODEL.md's matrix must
//! get the same verdict from both (where the general machine models the knobs).

use std::sync::Arc;
use tornsim_core::check::matrix_configs;
use tornsim_core::general::{self, GCheckOptions};
use tornsim_core::program::{self, BUILTIN};
use tornsim_core::{check, CheckOptions, Config, Verdict};

fn classic(cfg: &Config) -> Verdict {
    check(cfg, CheckOptions::default()).unwrap().verdict
}

fn general(cfg: &Config) -> Option<(Verdict, Option<usize>)> {
    let p = general::from_classic(cfg).ok()?;
    let r = general::check(&p, GCheckOptions::default());
    assert_replays(&p, &r);
    Some((r.verdict, r.witness.map(|w| w.len())))
}

/// A search's witness replays through its string form to the hazard of its verdict.
fn assert_replays(p: &Arc<general::GProgram>, r: &general::GCheckResult) {
    if let Some(w) = &r.witness {
        // Every witness replays through its string form to the same hazard.
        let s = general::encode(p, w);
        let back = general::decode(p, &s).expect("the witness's string decodes");
        assert_eq!(&back, w);
        let t = general::replay(p, &back).expect("the witness replays");
        if r.verdict != Verdict::Deadlock {
            assert_eq!(
                t.steps.last().and_then(|s| s.hazard).map(|h| h.name()),
                Some(r.verdict.name())
            );
        } else {
            assert!(t.deadlock, "a deadlock's witness ends stuck");
        }
    }
}

/// The walker symmetry changes how many states the search stores, never what it
/// finds: on every general and history file at two walkers, and at three where the
/// search without it stores at most 40,000 states (13 of the 21 files; the test runs
/// once per mutant), the search with it and the search without it agree on
/// the file's claim, and the witness found
/// through sorted states, mapped back to the CPUs that took each step, replays to its
/// hazard. (The hazard each finds first may differ where the clause asks for several,
/// and a witness's length by one where a deadlock state and a hazard's step are met in
/// one layer: the two searches order a layer differently.)
#[test]
fn the_walker_symmetry_finds_what_the_full_search_finds_on_every_general_file() {
    let (mut smaller, mut at_three) = (0, 0);
    for (name, src) in general::FILES.iter().chain(general::history::FILES) {
        let p = general::load(src).unwrap();
        for n in [2, 3] {
            let at = general::argument::at_walkers(&p, n).unwrap();
            let full = general::check(
                &at,
                GCheckOptions {
                    symmetry: false,
                    max_states: 40_000,
                    reduce: false,
                    ..Default::default()
                },
            );
            if full.verdict == Verdict::Incomplete {
                assert_eq!(n, 3, "{name} at {n}");
                continue;
            }
            at_three += (n == 3) as u32;
            let sym = general::check(
                &at,
                GCheckOptions {
                    reduce: false,
                    ..Default::default()
                },
            );
            assert_eq!(sym.claim(&at), full.claim(&at), "{name} at {n}");
            assert_eq!(
                sym.verdict == Verdict::Safe,
                full.verdict == Verdict::Safe,
                "{name} at {n}"
            );
            assert!(sym.states <= full.states, "{name} at {n}");
            let len = |r: &general::GCheckResult| r.witness.as_ref().map_or(0, |w| w.len());
            assert!(len(&sym).abs_diff(len(&full)) <= 1, "{name} at {n}");
            assert_replays(&at, &sym);
            smaller += (sym.states < full.states) as u32;
        }
    }
    assert!(smaller >= 10, "the symmetry applied in {smaller} checks");
    assert!(at_three >= 13, "{at_three} files at three walkers");
}

/// The partial-order reduction changes how many states a proof stores, never the
/// answer: on every general and history file at one to three walkers (where the full
/// search stores at most 100,000 states: all but one file at three; the test runs
/// once per mutant), the reduced search and the full one (both with the walker
/// symmetry) agree on the verdict, and where there is a hazard the witness, its depth
/// and the counts are the full search's (`search.rs` takes them from it); a safe
/// file's reduced search stores no more states than the full one, and fewer on most.
/// (At four walkers the same holds of every file: `docs/src/general.md`'s table.)
#[test]
fn the_reduction_finds_what_the_full_search_finds_on_every_general_file() {
    let (mut safe, mut fewer, mut applies) = (0, 0, 0);
    for (name, src) in general::FILES.iter().chain(general::history::FILES) {
        let p = general::load(src).unwrap();
        applies += general::reduce::Reduction::of(&p).is_some() as u32;
        for n in 1..=3 {
            let at = general::argument::at_walkers(&p, n).unwrap();
            let full = general::check(
                &at,
                GCheckOptions {
                    reduce: false,
                    max_states: 100_000,
                    ..Default::default()
                },
            );
            if full.verdict == Verdict::Incomplete {
                assert_eq!(n, 3, "{name} at {n}");
                continue;
            }
            let red = general::check(&at, GCheckOptions::default());
            assert_eq!(red.verdict, full.verdict, "{name} at {n}");
            if full.verdict == Verdict::Safe {
                assert!(red.states <= full.states, "{name} at {n}");
                assert!(red.transitions <= full.transitions, "{name} at {n}");
                safe += 1;
                fewer += (red.states < full.states) as u32;
            } else {
                assert_eq!(red, full, "{name} at {n}");
                assert_replays(&at, &red);
            }
        }
    }
    assert!(applies >= 19, "the reduction applies to {applies} files");
    assert!(
        safe >= 30 && fewer * 4 >= safe * 3,
        "{fewer} of {safe} proofs smaller"
    );
}

/// What the reduction saves on every safe general and history file at two walkers
/// (full search's count in the comment): a rule made stricter stores more states, one
/// made looser fewer, and either shows here before it shows in a verdict.
#[test]
fn the_reduction_stores_these_states_on_the_safe_files() {
    let want = [
        ("collapse-v1-order", 2994),       // 3185
        ("ipi-free-now", 166),             // 171
        ("retract-merged-xen", 4782),      // 5724
        ("two-collapsers", 1673),          // 1699
        ("zap-pte-fill", 8387),            // 12506
        ("collapse-pt-reclaim-fix", 57),   // 57
        ("gup-thp-collapse-fix", 14086),   // 19250
        ("invlpgb-table-free-fix", 216),   // 240
        ("khugepaged-gup-fast-fix", 1356), // 1441
        ("mremap-retract-fix", 97),        // 103
        ("munmap-get-page-fix", 1210),     // 1811
        ("pae-pte-offset-map-fix", 5128),  // 6114
    ];
    for (name, states) in want {
        let src = general::builtin(name).unwrap();
        let p = general::load(src).unwrap();
        let at = general::argument::at_walkers(&p, 2).unwrap();
        let r = general::check(&at, GCheckOptions::default());
        assert_eq!((r.verdict, r.states), (Verdict::Safe, states), "{name}");
    }
}

#[test]
fn every_builtin_scenario_gets_the_classic_verdict_on_the_general_machine() {
    let mut compared = 0;
    let mut skipped = Vec::new();
    for (name, src) in BUILTIN {
        let (_, cfg) = program::load(src).unwrap();
        match general(&cfg) {
            Some((v, _)) => {
                assert_eq!(v, classic(&cfg), "{name}");
                compared += 1;
            }
            None => skipped.push(*name),
        }
    }
    // Every built-in file, the shared-word handshakes included.
    assert!(skipped.is_empty(), "{skipped:?}");
    eprintln!("{compared} built-in scenarios compared");
    assert_eq!(compared, BUILTIN.len());
}

/// x86-TSO on both machines: every matrix cell under `memory = tso`, with each APIC.
#[test]
fn every_tso_matrix_cell_gets_the_classic_verdict_on_the_general_machine() {
    use tornsim_core::config::{Apic, Memory};
    let mut compared = 0;
    let mut differs = 0;
    for apic in [Apic::Xapic, Apic::X2apic] {
        for mut cfg in matrix_configs(1, apic == Apic::Xapic) {
            cfg.memory = Memory::Tso;
            cfg.apic = apic;
            let sc = Config {
                memory: Memory::Sc,
                ..cfg.clone()
            };
            if let Some((v, _)) = general(&cfg) {
                let want = classic(&cfg);
                assert_eq!(v, want, "{}", cfg.summary());
                differs += (want != classic(&sc)) as usize;
                compared += 1;
            }
        }
    }
    eprintln!("{compared} TSO matrix cells compared, {differs} of them unlike SC");
    assert_eq!(compared, 200, "every cell, kvm-pv-flush's too");
}

#[test]
fn every_sc_matrix_cell_gets_the_classic_verdict_on_the_general_machine() {
    let mut compared = 0;
    for readers in [1, 2] {
        for cfg in matrix_configs(readers, readers == 1) {
            if let Some((v, _)) = general(&cfg) {
                assert_eq!(v, classic(&cfg), "{}", cfg.summary());
                compared += 1;
            }
        }
    }
    eprintln!("{compared} SC matrix cells compared");
    assert_eq!(compared, 200, "every cell, kvm-pv-flush's too");
}

/// `alloc = random` on both machines: every built-in scenario and every matrix cell
/// (one reader, every split) with a drawn frame gets the classic verdict, each machine
/// searching once per equality class of the frame; each general witness replays on its
/// frame through its string.
#[test]
fn every_random_frame_cell_gets_the_classic_verdict_on_the_general_machine() {
    use tornsim_core::config::Alloc;
    let mut cfgs: Vec<Config> = BUILTIN
        .iter()
        .map(|(_, src)| program::load(src).unwrap().1)
        .collect();
    cfgs.extend(matrix_configs(1, true));
    let (mut compared, mut hazards) = (0, 0);
    for mut cfg in cfgs {
        cfg.alloc = Alloc::Random;
        let p = general::from_classic(&cfg).expect("alloc = random runs on the general machine");
        assert!(p.random_table.is_some(), "{}", cfg.summary());
        let r = general::check(&p, GCheckOptions::default());
        assert_eq!(r.verdict, classic(&cfg), "{}", cfg.summary());
        // Its counts are the passes', summed up to the pass that found a hazard.
        let passes: Vec<general::GCheckResult> = p
            .frame_classes()
            .iter()
            .map(|&f| general::check(&Arc::new(p.with_frame(f)), GCheckOptions::default()))
            .collect();
        let upto = passes
            .iter()
            .position(|q| q.verdict != Verdict::Safe)
            .map_or(passes.len(), |i| i + 1);
        let sum = |f: fn(&general::GCheckResult) -> u64| passes[..upto].iter().map(f).sum::<u64>();
        assert_eq!(
            (r.states, r.transitions, r.depth as u64),
            (
                sum(|q| q.states),
                sum(|q| q.transitions),
                passes[..upto].iter().map(|q| q.depth as u64).max().unwrap()
            ),
            "{}",
            cfg.summary()
        );
        if let Some(w) = &r.witness {
            let frame = r.frame.expect("a witness names its frame");
            assert!(p.frame_classes().contains(&frame));
            let wp = r.program(&p);
            let s = general::encode(&wp, w);
            assert_eq!(s.split('.').count(), 5, "{s}");
            let (back, choices) = general::decode_run(&p, &s).expect("the witness decodes");
            assert_eq!((back.frame, &choices), (Some(frame), w));
            assert!(
                general::decode(&p, &s).is_err(),
                "the frame is not the base program's"
            );
            let t = general::replay(&back, &choices).unwrap();
            if r.verdict != Verdict::Deadlock {
                let last = t.steps.last().and_then(|s| s.hazard).map(|h| h.name());
                assert_eq!(last, Some(r.verdict.name()), "{}", cfg.summary());
            }
            hazards += 1;
        }
        compared += 1;
    }
    eprintln!("{compared} random-frame configurations compared, {hazards} with a witness");
    assert!(compared > 150 && hazards > 50, "{compared} {hazards}");
}

/// Random runs under `alloc = random` draw a frame each, first thing, from the run's
/// seed: a batch is the same in any split, its first hazard's schedule carries the
/// frame and replays to the hazard, and different runs draw different frames.
#[test]
fn random_runs_draw_a_frame_each_and_their_schedules_carry_it() {
    use tornsim_core::config::Alloc;
    let (_, mut cfg) = program::load(program::builtin_source("no-recheck").unwrap()).unwrap();
    cfg.alloc = Alloc::Random;
    let p = general::from_classic(&cfg).unwrap();
    let whole = general::GBatch::new(&p, 7).run(4_000).clone();
    let mut parts = general::GBatch::new(&p, 7).run(1_500).clone();
    parts.merge(general::GBatch::new(&p, 7).starting_at(1_500).run(2_500));
    assert_eq!(parts, whole);
    // Without the pmd_low re-check a read tears whatever the frame.
    let (h, s) = whole.first.clone().expect("a torn read");
    let (q, choices) = general::decode_run(&p, &s).unwrap();
    let frame = q.frame.expect("the run's frame");
    assert!(frame != p.tables[0].addr && frame % 4096 == 0, "{frame:#x}");
    // On the program with the run's own frame it replays as it is, not on a copy.
    let (same, again) = general::decode_run(&q, &s).unwrap();
    assert!(std::sync::Arc::ptr_eq(&same, &q) && again == choices);
    let t = general::replay(&q, &choices).unwrap();
    assert!(t.steps.iter().any(|st| st.hazard == Some(h)));
    let timeline = general::timeline::timeline(&p, &s).unwrap();
    assert!(timeline.hazard_step().is_some());
    let other = general::GBatch::new(&p, 8)
        .run(4_000)
        .first
        .clone()
        .unwrap()
        .1;
    assert_ne!(
        other.split('.').nth(2),
        s.split('.').nth(2),
        "another seed, another frame"
    );
}

/// A file with `alloc = random` draws one table's frame against one declared table: two
/// allocations, or two declared tables, are refused with the reason.
#[test]
fn alloc_random_takes_one_declared_table_and_one_allocation() {
    for body in [
        "{ mode = xen-pv; alloc = random; readers = 1; pmd pmd = table(t0); pmd pmd2 = table(t1); }\n\
         P0(fault) { t = pte_alloc_one(); }",
        "{ mode = xen-pv; alloc = random; readers = 1; pmd pmd = table(t0); }\n\
         P0(fault) { t = pte_alloc_one(); u = pte_alloc_one(); }",
    ] {
        let src = format!("tornsim t\n{body}\nP1(gup_fast) {{ local_irq_save(); local_irq_restore(); }}\nexists (torn)\n");
        let e = general::load(&src).unwrap_err();
        assert!(
            e.message.contains("declare one table and allocate one"),
            "{}",
            e.render(&src, "t")
        );
    }
}

/// A walker's block body for the compiler tests below.
const WALKER: &str = "local_irq_save(); v = pmdp_get_lockless(pmd); local_irq_restore();";

/// `src` is refused with an error that says `message`, at a place that starts with `at`.
fn refused_at(src: &str, message: &str, at: &str) {
    let e = general::load(src).map(|_| ()).unwrap_err();
    assert!(e.message.contains(message), "{}", e.render(src, "t"));
    assert!(
        src[e.span.start..].starts_with(at),
        "{}",
        e.render(src, "t")
    );
}

/// The walkers' blocks come last (`readers = N` replicates them): a writer's block after
/// a walker's is refused there, with the reason; after two walkers' too.
#[test]
fn a_writer_block_after_a_walker_block_is_refused() {
    for (blocks, at) in [
        (
            format!("P0(gup_fast) {{ {WALKER} }}\nP1(khugepaged) {{ ptl = pmd_lock(pmd); spin_unlock(ptl); }}"),
            "P1(khugepaged)",
        ),
        (
            format!("P0(gup_fast) {{ {WALKER} }}\nP1(gup_fast) {{ {WALKER} }}\nP2(khugepaged) {{ ptl = pmd_lock(pmd); spin_unlock(ptl); }}"),
            "P2(khugepaged)",
        ),
    ] {
        let src = format!("tornsim t\n{{ mode = xen-pv; readers = 2; pmd pmd = table(t0); }}\n{blocks}\nexists (torn)\n");
        refused_at(&src, "come after every other block", at);
    }
    // Walkers last: it compiles.
    let ok = format!("tornsim t\n{{ mode = xen-pv; readers = 1; pmd pmd = table(t0); }}\nP0(khugepaged) {{ ptl = pmd_lock(pmd); spin_unlock(ptl); }}\nP1(gup_fast) {{ {WALKER} }}\nexists (torn)\n");
    general::load(&ok).unwrap();
}

/// More walkers' blocks than `readers` is refused at the first block past the count.
#[test]
fn more_walker_blocks_than_readers_is_refused_at_the_first_extra_one() {
    let src = format!(
        "tornsim t\n{{ mode = xen-pv; readers = 1; pmd pmd = table(t0); }}\n\
         P0(khugepaged) {{ ptl = pmd_lock(pmd); spin_unlock(ptl); }}\n\
         P1(gup_fast) {{ {WALKER} }}\nP2(gup_fast) {{ {WALKER} }}\nexists (torn)\n"
    );
    refused_at(&src, "2 walker blocks but readers = 1", "P2");
}

/// `cpus` must seat every block and stay within the general machine's CPUs: too few or
/// too many is refused at the settings; the most it has, or just enough, compiles.
#[test]
fn cpus_must_seat_the_blocks_within_the_machines_cpus() {
    use tornsim_core::general::ir::MAX_CPUS;
    let file = |cpus: u32| {
        format!(
            "tornsim t\n{{ mode = xen-pv; readers = 1; cpus = {cpus}; pmd pmd = table(t0); }}\n\
             P0(khugepaged) {{ ptl = pmd_lock(pmd); spin_unlock(ptl); }}\n\
             P1(khugepaged) {{ ptl = pmd_lock(pmd); spin_unlock(ptl); }}\n\
             P2(gup_fast) {{ {WALKER} }}\nexists (torn)\n"
        )
    };
    for cpus in [2, MAX_CPUS + 1] {
        // At the first of the settings that decide the count.
        refused_at(&file(cpus), "the blocks need 3 CPUs", "readers = 1");
    }
    for cpus in [3, MAX_CPUS] {
        let p = general::load(&file(cpus)).unwrap();
        assert_eq!(p.cpus as u32, cpus);
    }
}

/// A file compiles to at most 4000 steps: 2000 lock-unlock pairs do, 2001 are refused.
#[test]
fn a_file_compiles_to_at_most_4000_steps() {
    let file = |pairs: usize| {
        format!(
            "tornsim t\n{{ mode = xen-pv; pmd pmd = table(t0); }}\nP0(khugepaged) {{\n{}}}\nexists (torn)\n",
            "ptl = pmd_lock(pmd); spin_unlock(ptl);\n".repeat(pairs)
        )
    };
    let p = general::load(&file(2000)).unwrap();
    assert_eq!(p.code.len(), 4000);
    let e = general::load(&file(2001)).map(|_| ()).unwrap_err();
    assert!(e.message.contains("more than 4000 steps"), "{}", e.message);
}

/// A block's locals are told apart: a table from `pte_alloc_one()`, an entry's value
/// from a read, wherever they stand among the block's locals.
#[test]
fn a_blocks_table_locals_are_told_from_its_value_locals() {
    let src = "tornsim t\n{ mode = xen-pv; pmd pmd = none; }\n\
               P0(fault) {\n    pml = pmd_lock(pmd);\n    v = pmdp_get(pmd);\n    spin_unlock(pml);\n\
               \x20   pgtable = pte_alloc_one();\n    pml = pmd_lock(pmd);\n\
               \x20   if (pmd_none())\n        pmd_populate(pmd, pgtable);\n    spin_unlock(pml);\n}\n\
               exists (torn)\n";
    let p = general::load(src).unwrap_or_else(|e| panic!("{}", e.render(src, "t")));
    let names = p.local_names(0);
    let slot = |n: &str| names.iter().position(|x| x == n).unwrap();
    assert!(slot("pgtable") > 0, "{names:?}");
    assert!(p.is_table_local(0, slot("pgtable")));
    assert!(!p.is_table_local(0, slot("v")));
}

/// `readers = N` seats the walkers' blocks on the CPUs after the writers' in turn: with
/// three walker blocks and six readers, each block twice, in order.
#[test]
fn walker_blocks_take_the_cpus_after_the_writers_in_turn() {
    let src = format!(
        "tornsim t\n{{ mode = xen-pv; readers = 6; pmd pmd = table(t0); }}\n\
         P0(khugepaged) {{ ptl = pmd_lock(pmd); spin_unlock(ptl); }}\n\
         P1(gup_fast) {{ {WALKER} }}\nP2(gup_fast) {{ {WALKER} }}\nP3(gup_fast) {{ {WALKER} }}\n\
         exists (torn)\n"
    );
    let p = general::load(&src).unwrap();
    let seats: Vec<Option<u8>> = p.block_of.clone();
    assert_eq!(seats, [0, 1, 2, 3, 1, 2, 3].map(Some), "the CPUs' blocks");
}

#[test]
fn a_general_file_routes_to_the_general_machine_and_a_classic_one_does_not() {
    for (name, src) in BUILTIN {
        assert!(
            matches!(general::route(src), Ok(general::Route::Classic)),
            "{name} stays classic"
        );
    }
    let src = "tornsim t\n{ pmd pmd = table(t0); }\nP0(madvise) { ptl = pmd_lock(pmd); spin_unlock(ptl); }\nexists (deadlock)\n";
    assert!(matches!(
        general::route(src),
        Ok(general::Route::General(_))
    ));
    let _ = Arc::new(());
}

/// Every file in `scenarios/general/` and `scenarios/history/` states its expected
/// verdict in its `exists` clause; the exhaustive search must bear each out, and each
/// witness must replay.
#[test]
fn every_general_scenario_file_holds_its_claim() {
    general_files_hold_their_claims("general", general::FILES);
    general_files_hold_their_claims("history", general::history::FILES);
}

fn general_files_hold_their_claims(sub: &str, builtin: &[(&str, &str)]) {
    let dir = format!("{}/../../scenarios/{sub}", env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "litmus"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "{files:?}");
    // The embedded copies (`general::FILES`, which the page and `tornsim bench` read)
    // are the files.
    let mut embedded: Vec<String> = builtin.iter().map(|(n, _)| format!("{n}.litmus")).collect();
    embedded.sort();
    let on_disk: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().to_string())
        .collect();
    assert_eq!(
        embedded, on_disk,
        "the embedded list is every file in scenarios/{sub}"
    );
    for f in files {
        let src = std::fs::read_to_string(&f).unwrap();
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let p = match general::route(&src) {
            Ok(general::Route::General(p)) => p,
            Ok(general::Route::Classic) => panic!("{name} should need the general machine"),
            Err(e) => panic!("{}", e.render(&src, &name)),
        };
        let r = general::check(&p, GCheckOptions::default());
        eprintln!(
            "{name}: {} ({} states, witness {:?} steps)",
            r.verdict,
            r.states,
            r.witness.as_ref().map(|w| w.len())
        );
        assert_eq!(r.claim(&p), Some(true), "{name}: {r:?}");
        assert!(r.transitions >= r.states - 1, "{name}: {r:?}");
        if let Some(w) = &r.witness {
            assert_eq!(
                r.depth as usize,
                w.len(),
                "{name}: a hazard is found at its witness's depth"
            );
        }
        if let Some(w) = &r.witness {
            let t = general::replay(&p, w).unwrap();
            eprintln!("{}", t.columns(&p));
        }
    }
}

fn verdict_of(src: &str) -> Verdict {
    let p = general::load(src).unwrap_or_else(|e| panic!("{}", e.render(src, "edited")));
    general::check(&p, GCheckOptions::default()).verdict
}

fn scenario(name: &str) -> String {
    general::builtin(name)
        .unwrap_or_else(|| panic!("no built-in general file {name}"))
        .to_string()
}

/// The safe files are safe for the reason their comments give: take the reason away
/// and the hazard comes back.
#[test]
fn each_safe_file_tears_without_what_its_comment_says_protects_it() {
    // collapse_huge_page()'s order is safe only with the fault kept out.
    let src = scenario("collapse-v1-order")
        .replace("    mmap_write_lock();\n    vma_start_write();\n", "")
        .replace("    mmap_write_unlock();\n", "");
    assert_eq!(verdict_of(&src), Verdict::Torn);
    // try_get_page() is what keeps the reference off a freed page.
    let src = scenario("zap-pte-fill").replace(
        "        if (try_get_page(pte)) {",
        "        if (pte_present(pte)) {\n            get_page(pte);",
    );
    assert_eq!(verdict_of(&src), Verdict::FreedPage);
    // The re-check under the lock is mremap's fix: one that lets a none PMD through
    // (it compares with the empty new PMD) brings the bogus table back.
    let src = scenario("mremap-retract-fix").replace(
        "if (pmd_is_table(moved)) {",
        "if (pmd_same(moved, new_pmd)) {",
    );
    assert_eq!(verdict_of(&src), Verdict::BogusTable);
    // With the native IPI flush, the pre-fix munmap order is safe (d73af79742e7 is a
    // paravirt bug).
    let src = scenario("munmap-get-page-before").replace("mode = xen-pv;", "mode = native-pae;");
    assert_eq!(verdict_of(&src), Verdict::Safe);
    // The IPI flush needs no RCU freeing; RAR, like INVLPGB, does (the shortest use of
    // the freed table is pte_offset_map()'s: a stale use).
    assert_eq!(
        verdict_of(&scenario("ipi-free-now").replace("flush = ipi;", "flush = rar;")),
        Verdict::Stale
    );
}

/// Bad input gets an error at its place, never a panic.
#[test]
fn general_errors_point_at_the_problem() {
    let base = scenario("invlpgb-table-free-before");
    // Each case: a piece of the base file, what it becomes, what the error says.
    let cases = [
        ("mode = native-64;", "mode = native-pae;", "64-bit only"),
        ("flush = invlpgb;", "flush = hypercall;", "paravirt guest"),
        ("    spin_unlock(pml);\n", "", "ends holding a lock"),
        (
            "tlb_remove_table(pgt_pmd)",
            "tlb_remove_table(nothing)",
            "is not a table",
        ),
        (
            "pte = ptep_get_lockless(ptep, 0);",
            "pte = ptep_get_lockless(ptep, 9);",
            "PTEs 0 to 3",
        ),
        ("exists (freed-table)", "exists (bitflip)", "unknown hazard"),
        ("P1(gup_fast)", "P1(teleport)", "unknown kernel path"),
        ("    local_irq_restore();\n", "", "interrupts disabled"),
        (
            "pgt_pmd = pmdp_collapse_flush(pmd);",
            "for (i = 0; i < 99; i++) { pgt_pmd = pmdp_collapse_flush(pmd); }",
            "at most 16 times",
        ),
        (
            "pgt_pmd = pmdp_collapse_flush(pmd);",
            "do { pgt_pmd = pmdp_collapse_flush(pmd); } while (busy);",
            "has no bound",
        ),
        (
            "P1(gup_fast) {",
            "P1(gup_fast) {\n    pmd_clear(pmd);",
            "only reads them",
        ),
        (
            "mode = native-64; flush = invlpgb;",
            "mode = xen-pv; flush = ipi;",
            "flushes by hypercall",
        ),
        (
            "readers = 1;",
            "readers = 1; sync = after-unlock;",
            "'sync' is not a setting",
        ),
        (
            "page a = 1;",
            "page a = 1; page t0 = 1;",
            "'t0' is declared twice",
        ),
    ];
    for (from, to, want) in cases {
        let src = base.replace(from, to);
        let e = match general::route(&src) {
            Err(e) => e,
            Ok(_) => panic!("accepted, expected '{want}':\n{src}"),
        };
        let text = e.render(&src, "f.litmus");
        assert!(text.contains(want), "{text}");
        assert!(
            text.starts_with("f.litmus:") && text.contains('^'),
            "{text}"
        );
    }
}

/// Random runs find the hazards the search finds, the same for a seed, and their
/// first hazard's schedule replays to it.
#[test]
fn random_runs_find_the_hazard_and_replay_it() {
    for name in [
        "retract-v1-xen",
        "munmap-get-page-before",
        "mremap-retract-before",
        "invlpgb-table-free-before",
    ] {
        let p = general::load(&scenario(name)).unwrap();
        let mut b = general::GBatch::new(&p, 7);
        let s = b.run(20_000).clone();
        let (h, sched) = s.first.clone().unwrap_or_else(|| panic!("{name}: {s:?}"));
        let again = general::GBatch::new(&p, 7).run(20_000).clone();
        assert_eq!(again, s, "{name}: a seed gives the same batch");
        assert!(s.count(h) >= 1 && s.count(h) <= s.runs, "{name}: {s:?}");
        let choices = general::decode(&p, &sched).unwrap();
        let t = general::replay(&p, &choices).unwrap();
        assert!(t.steps.iter().any(|st| st.hazard == Some(h)), "{name}");
        assert_eq!(s.count(tornsim_core::Hazard::Deadlock), 0, "{name}");
    }
    let p = general::load(&scenario("retract-merged-xen")).unwrap();
    let s = general::GBatch::new(&p, 7).run(20_000).clone();
    assert!(s.first.is_none() && s.cut == 0, "{s:?}");
}

/// The cutoff argument's theorem, tested on the general files it applies to: the
/// verdict at every count from the cutoff to 3 walkers is the cutoff's, and a hazard at
/// one count stays at the next.
#[test]
fn every_general_file_the_argument_covers_agrees_with_1_to_3_walkers() {
    use tornsim_core::general::argument::{argument, at_walkers, walker_blocks};
    let mut covered = 0;
    for (name, src) in general::builtin_files() {
        let p = general::load(src).unwrap();
        let arg = argument(&p);
        if !arg.applies() {
            assert_eq!(arg.proven_cutoff(), None, "{name}");
            continue;
        }
        assert_eq!(arg.proven_cutoff(), Some(arg.cutoff), "{name}");
        assert_eq!(arg.cutoff, walker_blocks(&p).max(1), "{name}");
        covered += 1;
        let verdicts: Vec<Verdict> = (1..=3)
            .map(|n| {
                let at = at_walkers(&p, n).unwrap();
                let want = if walker_blocks(&p) == 0 { 0 } else { n };
                assert_eq!(at.walkers.count_ones(), want, "{name} at {n}");
                general::check(&at, GCheckOptions::default()).verdict
            })
            .collect();
        let b = arg.cutoff as usize;
        for n in b..=3 {
            assert_eq!(verdicts[n - 1], verdicts[b - 1], "{name}: {verdicts:?}");
        }
        for n in 1..3 {
            if verdicts[n - 1] != Verdict::Safe {
                assert_ne!(verdicts[n], Verdict::Safe, "{name}: {verdicts:?}");
            }
        }
    }
    assert!(covered >= 9, "covered {covered}");
}

#[test]
fn the_argument_names_the_walker_line_that_breaks_it() {
    use tornsim_core::general::argument::argument;
    let src = "tornsim t\n{ mode = native-64; readers = 1; pmd pmd = table(t0); }\n\
               P0(khugepaged) { x = pmdp_collapse_flush(pmd); }\n\
               P1(gup_fast) {\n    v = pmdp_get_lockless(pmd);\n    ptl = pte_lockptr(v);\n    if (spin_trylock(ptl)) {\n        spin_unlock(ptl);\n    }\n}\n\
               exists (deadlock)\n";
    let p = general::load(src).unwrap_or_else(|e| panic!("{}", e.render(src, "t")));
    let a = argument(&p);
    assert!(!a.applies());
    assert_eq!(a.proven_cutoff(), None);
    let c1 = a.conditions[0].broken_at.as_ref().expect("C1 fails");
    assert_eq!((c1.line, c1.op.as_str()), (7, "spin_trylock()"));
    assert!(c1.why.contains("writes a spinlock"), "{}", c1.why);
    let c2 = a.conditions[1].broken_at.as_ref().expect("C2 fails");
    assert!(c2.why.contains("reads a spinlock's owner"), "{}", c2.why);
    assert!(a.conditions[2].holds);
    let text = a.explain("walker");
    assert!(
        text.starts_with("cutoff argument (docs/cutoff.md): it does not apply"),
        "{text}"
    );
    assert!(
        text.contains("  C1 fails: ") && text.contains("line 7: `if (spin_trylock(ptl)) {`"),
        "{text}"
    );
    assert!(text.contains("  C3 holds: "), "{text}");
    let ok = argument(&general::load(&scenario("retract-v1-xen")).unwrap()).explain("walker");
    assert!(
        ok.contains("it applies, so the check at 1 walker decides every count of walkers"),
        "{ok}"
    );
    let any = general::argument::check_any(&p, GCheckOptions::default(), 2).unwrap();
    assert!(!any.proved);
    assert_eq!(any.checked.len(), 2, "bounded at 2");
    assert!(any.sentence().starts_with("bounded"));
}

/// PCT on the general machine: deterministic for a seed and in any split, its first
/// hazard replays, deeper runs reach the torn read that shallow ones miss, a safe file
/// stays safe, and a depth out of range is refused as the classic machine refuses it.
#[test]
fn pct_runs_find_the_hazard_deterministically_and_replay_it() {
    use tornsim_core::SchedulerSpec;
    let pct = |p: &Arc<general::GProgram>, depth: u32| {
        general::GBatch::with_scheduler(p, 7, SchedulerSpec::Pct { depth }).unwrap()
    };
    let p = general::load(&scenario("retract-v1-xen")).unwrap();
    let deep = pct(&p, 8).run(20_000).clone();
    let mut split = pct(&p, 8);
    split.run(5_000);
    assert_eq!(split.run(15_000), &deep, "a batch is the same in any split");
    let (h, sched) = deep.first.clone().expect("depth 8 reaches the torn read");
    assert_eq!(h, tornsim_core::Hazard::Torn);
    assert_eq!(
        deep.cut, 0,
        "a walker's next iteration yields, so no run loops on"
    );
    let t = general::replay(&p, &general::decode(&p, &sched).unwrap()).unwrap();
    assert!(t.steps.iter().any(|s| s.hazard == Some(h)));
    let shallow = pct(&p, 1).run(20_000).clone();
    assert!(
        shallow.count(h) < deep.count(h),
        "depth 1 runs each CPU in one priority order: {shallow:?} vs {deep:?}"
    );
    assert_ne!(
        deep,
        general::GBatch::new(&p, 7).run(20_000).clone(),
        "PCT is not the uniform scheduler"
    );
    let safe = general::load(&scenario("retract-merged-xen")).unwrap();
    let s = pct(&safe, 4).run(5_000).clone();
    assert!(s.hazards.is_empty() && s.cut == 0, "{s:?}");
    for depth in [0, 65] {
        assert!(general::GBatch::with_scheduler(&p, 7, SchedulerSpec::Pct { depth }).is_err());
    }
}

/// The any-count answer's words, and the program at a walker count: the first walker
/// blocks below the file's count, no idle CPU, no `readers = any` left in it.
#[test]
fn any_count_sentences_and_programs_at_a_walker_count() {
    use tornsim_core::general::argument::{any_sentence, at_walkers, check_any, checked_text};
    assert_eq!(
        any_sentence(Verdict::Safe, true, 2),
        "safe for any number of CPUs (readers and idle CPUs alike)"
    );
    assert!(any_sentence(Verdict::Safe, false, 3).starts_with("bounded: safe for 1..=3 readers"));
    assert!(any_sentence(Verdict::Incomplete, true, 2).starts_with("incomplete at 2 readers"));
    assert!(any_sentence(Verdict::Torn, true, 1)
        .ends_with("(and so with any more readers or idle CPUs)"));
    assert_eq!(
        any_sentence(Verdict::Torn, false, 2),
        "torn with 2 readers, the fewest that reach it"
    );
    assert_eq!(
        checked_text(&[(1, Verdict::Safe), (2, Verdict::Torn)]),
        "1 reader: safe, 2 readers: torn"
    );

    let src = "tornsim t\n{ mode = native-pae; readers = any; cpus = 6; pmd pmd = table(t0); }\n\
               P0(khugepaged) { x = pmdp_huge_get_and_clear(pmd); }\n\
               P1(gup_fast) { v = pmdp_get_lockless(pmd); }\n\
               P2(walker) { local_irq_save(); v = pmdp_get(pmd); local_irq_restore(); }\n\
               exists (torn)\n";
    let p = general::load(src).unwrap_or_else(|e| panic!("{}", e.render(src, "t")));
    assert!(p.cfg.any_readers);
    assert_eq!((p.cpus, p.walkers.count_ones()), (6, 2));
    let one = at_walkers(&p, 1).unwrap();
    assert_eq!(
        (one.cpus, one.walkers.count_ones()),
        (2, 1),
        "the first walker block only"
    );
    assert_eq!(one.blocks.len(), 2);
    assert_eq!(one.blocks[1].0, "gup_fast");
    assert!(!one.cfg.any_readers);
    assert_eq!(one.walkers_at, Some(1));
    let three = at_walkers(&p, 3).unwrap();
    assert_eq!(
        (three.cpus, three.walkers.count_ones(), three.blocks.len()),
        (4, 3, 3)
    );
    let any = check_any(&p, GCheckOptions::default(), 3).unwrap();
    assert_eq!(any.verdict, Verdict::Torn);
    // The lockless read alone is safe; the second block's plain pmdp_get() tears, and
    // the checks stop there, below the bound.
    assert_eq!(any.checked, vec![(1, Verdict::Safe), (2, Verdict::Torn)]);
    assert_eq!(any.readers, 2);
    assert!(any.proved);
    assert_eq!(any.program.walkers_at, Some(2));
}

/// A timeline is the replay, step for step, with the whole state after each step:
/// the rows the page draws beside the CPU columns.
#[test]
fn a_timeline_replays_a_witness_with_the_state_after_each_step() {
    let src = scenario("retract-v1-xen");
    let p = general::load(&src).unwrap();
    let r = general::check(&p, GCheckOptions::default());
    let w = r.witness.unwrap();
    let s = general::encode(&p, &w);
    let t = general::timeline_of(&src, &s).unwrap();
    let trace = general::replay(&p, &w).unwrap();
    assert_eq!(t.frames.len(), w.len());
    assert_eq!(t.schedule, s);
    assert_eq!(t.cpus, ["P0(khugepaged)", "P1(fault)", "P2(gup_fast)"]);
    assert_eq!(t.diagram, trace.columns(&p));
    for (f, st) in t.frames.iter().zip(&trace.steps) {
        assert_eq!(
            (f.cpu, &f.text, &f.changes),
            (st.choice.cpu, &st.text, &st.changes)
        );
        assert_eq!(
            f.hazard.as_ref().map(|h| h.0.as_str()),
            st.hazard.map(|h| h.name())
        );
        // The rows keep their names and order from step to step.
        let names =
            |rows: &[(String, String)]| rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>();
        assert_eq!(names(&f.after), names(&t.initial));
    }
    assert_eq!(t.hazard_step(), Some(w.len() - 1));
    assert_eq!(t.open_at(), w.len());
    assert_eq!(t.state_at(0), &t.initial[..]);
    assert_eq!(t.state_at(1), &t.frames[0].after[..]);
    assert_eq!(t.state_at(999), &t.frames[w.len() - 1].after[..]);
    assert!(!t.deadlock);
    let row = |pos: usize, name: &str| {
        t.state_at(pos)
            .iter()
            .find(|r| r.0 == name)
            .unwrap_or_else(|| panic!("no row {name}"))
            .1
            .clone()
    };
    // Before the first step: the world as declared, every lock free, no local set.
    assert_eq!(row(0, "pmd"), "table t0");
    assert_eq!(row(0, "table t0"), "allocated");
    assert_eq!(row(0, "table pgtable#30"), "unallocated");
    assert_eq!(row(0, "pmd's lock"), "free");
    assert_eq!(row(0, "i_mmap_rwsem"), "free");
    assert_eq!(row(0, "P2(gup_fast)"), "running");
    assert_eq!(row(0, "P1 pgtable"), "not set");
    // At the torn read: the new table installed under the fault's lock, khugepaged
    // reading i_mmap_rwsem, the fault inside the VMA read lock, the walker with
    // interrupts off holding a value no entry ever held.
    let end = w.len();
    assert_eq!(row(end, "pmd"), "table pgtable#30");
    assert_eq!(row(end, "table pgtable#30"), "allocated");
    assert_eq!(row(end, "pmd's lock"), "held by P1");
    assert_eq!(row(end, "i_mmap_rwsem"), "read-held by P0");
    assert_eq!(row(end, "VMA lock"), "read-held by P1");
    assert_eq!(row(end, "P2(gup_fast)"), "interrupts off");
    assert_eq!(row(end, "P1 pgtable"), "table pgtable#30");
    assert_eq!(row(end, "P0 pgt_pmd"), "table t0");
    assert!(row(end, "P2 pmdval").ends_with("(no object)"));
    assert_eq!(row(end, "P2 ptep"), "not set");
    // Errors: a mistyped schedule, a file with an error.
    let cut = &s[..s.len() - 1];
    assert!(general::timeline_of(&src, cut)
        .unwrap_err()
        .contains("checksum"));
    let e = general::timeline_of("tornsim x\n{ pmd pmd = nothing; }\n", &s).unwrap_err();
    assert!(e.starts_with("the file has an error at"), "{e}");
}

/// The state rows of the rest of the world: grace periods, page counts, IPIs, rwsems
/// held for writing, a finished CPU; and a `readers = any` witness at its own count.
#[test]
fn timeline_rows_name_grace_periods_counts_ipis_and_writers() {
    let rows_of = |name: &str| {
        let src = scenario(name);
        let r = general::report(&general::load(&src).unwrap(), 100_000, 10, 1);
        let t = general::timeline_of(&src, r.schedule.as_deref().unwrap()).unwrap();
        let all: Vec<(String, String)> = std::iter::once(t.initial.clone())
            .chain(t.frames.iter().map(|f| f.after.clone()))
            .flatten()
            .collect();
        (t, all)
    };
    let has = |all: &[(String, String)], k: &str, v: &str| all.iter().any(|r| r.0 == k && r.1 == v);
    let (_, all) = rows_of("munmap-get-page-before");
    assert!(has(&all, "page a", "count 1") && has(&all, "page a", "count 0"));
    assert!(has(&all, "mmap_lock", "write-held by P0"));
    assert!(has(&all, "t0's PTE lock", "held by P0"));
    assert!(has(&all, "P0 pte", "page a"));
    // Under TSO with an IPI flush: buffered stores, drains, IPIs waited for and
    // answered.
    let (t, all) = rows_of("tso-bare-x2apic-flush");
    use general::FrameKind;
    for kind in [FrameKind::Step, FrameKind::Ack, FrameKind::Drain] {
        assert!(t.frames.iter().any(|f| f.kind == kind), "{kind:?}");
    }
    assert!(
        all.iter().any(|r| r.1.contains("waits for IPIs to P")),
        "{all:?}"
    );
    assert!(
        all.iter().any(|r| r.1.contains("store buffer: ")),
        "{all:?}"
    );
    // A safe file has no witness: random schedules of its own, until one queues a
    // free behind a walker with interrupts off.
    let src = scenario("invlpgb-table-free-fix");
    let p = general::load(&src).unwrap();
    let found = (1..500u64).find_map(|seed| {
        let choices = random_schedule(&p, seed, |_| false);
        let t = general::timeline_of(&src, &general::encode(&p, &choices)).unwrap();
        let queued = t.frames.iter().flat_map(|f| &f.after).any(|r| {
            r.0 == "table t0" && r.1.starts_with("freed after a grace period: waits for P")
        });
        queued.then_some(t)
    });
    let t = found.expect("some run queues the free behind a walker");
    assert!(t
        .frames
        .iter()
        .flat_map(|f| &f.after)
        .any(|r| r.1 == "done"));
    assert!(t.hazard_step().is_none(), "the file is safe");
}

/// The page's report searches within the state budget it is given: a budget too small
/// for the file says "incomplete", and the claim is then undecided.
#[test]
fn a_report_keeps_to_its_state_budget() {
    let p = general::load(&scenario("collapse-v1-order")).unwrap();
    let small = general::report(&p, 10, 10, 1);
    assert_eq!(small.verdict, Verdict::Incomplete);
    assert_eq!(small.claim, None);
    assert!(small.states <= 11, "{}", small.states);
    let full = general::report(&p, 1_000_000, 10, 1);
    assert_eq!((full.verdict, full.claim), (Verdict::Safe, Some(true)));
    assert_eq!(full.runs, 10);
    // The page marks a hazard's report, neither of these.
    assert!(!small.is_hazard() && !full.is_hazard());
    let torn = general::report(
        &general::load(&scenario("retract-v1-xen")).unwrap(),
        1_000_000,
        10,
        1,
    );
    assert_eq!((torn.verdict, torn.is_hazard()), (Verdict::Torn, true));
}

/// Shared words on the general machine: the store-buffering shape beside a page table,
/// with the condition over final registers. TSO lets both loads miss the other's store;
/// SC, `smp_mb()` and `xchg()` do not.
#[test]
fn shared_words_and_final_registers_on_the_general_machine() {
    let sb = |memory: &str, store: &str, fence: &str| {
        format!(
            "tornsim sb\n\"store buffering beside a page table\"\n\
             {{ mode = native-64; memory = {memory}; pmd pmd = table(t0); }}\n\
             P0(madvise) {{ {s0} {fence} r0 = READ_ONCE(y); }}\n\
             P1(mremap) {{ {s1} {fence} r1 = READ_ONCE(x); }}\n\
             exists (P0:r0=0 /\\ P1:r1=0)\n",
            s0 = store.replace('V', "x"),
            s1 = store.replace('V', "y"),
        )
    };
    let plain = "WRITE_ONCE(V, 1);";
    let locked = "xchg(V, 1);";
    let p = general::load(&sb("tso", plain, "")).unwrap();
    assert!(matches!(
        general::route(&sb("tso", plain, "")),
        Ok(general::Route::General(_))
    ));
    let r = general::check(&p, GCheckOptions::default());
    assert_eq!((r.verdict, r.claim(&p)), (Verdict::Observed, Some(true)));
    // The witness ends in the final state: both loads before either drain.
    let w = r.witness.unwrap();
    let t = general::replay(&p, &w).unwrap();
    assert_eq!(
        t.steps.last().unwrap().hazard,
        Some(tornsim_core::Hazard::Observed)
    );
    assert!(
        t.steps
            .iter()
            .any(|s| s.text.contains("into the store buffer")),
        "{}",
        t.text(&p)
    );
    assert!(
        t.steps
            .iter()
            .any(|s| s.text == "READ_ONCE(): r0 = y (0) (line 4)"),
        "{}",
        t.text(&p)
    );
    assert!(
        t.steps
            .iter()
            .any(|s| s.changes.contains(&"x: 0 -> 1".to_string())),
        "{}",
        t.text(&p)
    );
    let tl = general::timeline_of(&sb("tso", plain, ""), &general::encode(&p, &w)).unwrap();
    let end = tl.state_at(tl.frames.len());
    for (k, v) in [("x", "1"), ("y", "1"), ("P0:r0", "0"), ("P1:r1", "0")] {
        assert!(
            end.contains(&(k.to_string(), v.to_string())),
            "{k}: {end:?}"
        );
    }
    assert!(tl.initial.contains(&("P0:r0".to_string(), "-".to_string())));
    for (memory, store, fence) in [
        ("sc", plain, ""),
        ("tso", plain, "smp_mb();"),
        ("tso", locked, ""),
    ] {
        let src = sb(memory, store, fence);
        let p = general::load(&src).unwrap_or_else(|e| panic!("{}", e.render(&src, "sb")));
        let r = general::check(&p, GCheckOptions::default());
        assert_eq!(r.verdict, Verdict::Safe, "{memory} {store} {fence}");
    }
    // Random runs count the final states too.
    let mut b = general::GBatch::new(&p, 1);
    assert!(b.run(2_000).count(tornsim_core::Hazard::Observed) > 0);
    // xchg's old value lands in the register.
    let src = "tornsim x\n{ mode = native-64; pmd pmd = table(t0); }\n\
               P0(madvise) { WRITE_ONCE(x, 2); }\nP1(mremap) { r0 = xchg(x, 1); }\n\
               exists (P1:r0=2 /\\ x=1)\n";
    let p = general::load(src).unwrap();
    assert_eq!(
        general::check(&p, GCheckOptions::default()).verdict,
        Verdict::Observed
    );
}

#[test]
fn shared_word_errors_point_at_the_problem() {
    let file = |body: &str, exists: &str| {
        format!(
            "tornsim e\n{{ mode = native-64; pmd pmd = table(t0); }}\n\
             P0(madvise) {{ {body} }}\nexists ({exists})\n"
        )
    };
    for (body, exists, want) in [
        ("READ_ONCE(x);", "torn", "write 'r0 = READ_ONCE(x);'"),
        ("WRITE_ONCE(x, y);", "torn", "expected a number to store"),
        (
            "WRITE_ONCE(pmd, 1);",
            "torn",
            "is declared as an entry, table or page",
        ),
        ("WRITE_ONCE(x);", "torn", "WRITE_ONCE() takes 2 arguments"),
        (
            "r0 = READ_ONCE(x);",
            "P0:r9=0",
            "P0 loads nothing into 'r9'",
        ),
        (
            "r0 = READ_ONCE(x);",
            "z=1",
            "no CPU writes the shared word 'z'",
        ),
        (
            "v = pmdp_get(pmd); v = READ_ONCE(x);",
            "torn",
            "'v' is a local of this block, not a register",
        ),
        (
            "r0 = READ_ONCE(x);",
            "torn \\/ P0:r0=frog",
            "a value such as 1",
        ),
        (
            "r0 = READ_ONCE(x);",
            "nosuch",
            "unknown hazard 'nosuch' (known: torn, stale, deadlock, freed-table",
        ),
    ] {
        let src = file(body, exists);
        let e = general::load(&src).map(|_| ()).unwrap_err();
        assert!(e.message.contains(want), "{body} / {exists}: {}", e.message);
    }
}

/// A batch split into parts, run in any order and merged, is the batch run at once:
/// what the page's workers rely on.
#[test]
fn a_batch_in_parts_merges_to_the_whole_batch() {
    use tornsim_core::sched::SchedulerSpec;
    let src = scenario("retract-v1-xen");
    let runs_of = |src: &str, spec, seed, start, count| {
        general::RunsPart {
            src: src.to_string(),
            spec,
            seed,
            start,
            count,
        }
        .run()
    };
    for spec in [SchedulerSpec::Random, SchedulerSpec::Pct { depth: 8 }] {
        let whole = runs_of(&src, spec, 5, 0, 3_000).unwrap();
        let mut merged = general::GStats::default();
        for start in [2_000, 0, 1_000] {
            merged.merge(&runs_of(&src, spec, 5, start, 1_000).unwrap());
        }
        let sort = |s: &mut general::GStats| s.hazards.sort();
        let (mut a, mut b) = (whole.clone(), merged.clone());
        sort(&mut a);
        sort(&mut b);
        assert_eq!(a, b, "{spec:?}");
        assert!(whole.count(tornsim_core::Hazard::Torn) > 0, "{spec:?}");
        assert!(whole.first_run.is_some());
    }
    let s = runs_of(&src, SchedulerSpec::Random, 5, 0, 3_000).unwrap();
    let k = s.count(tornsim_core::Hazard::Torn);
    let (rate, lo, hi) = s.per_million(tornsim_core::Hazard::Torn);
    assert!((rate - k as f64 / 3_000.0 * 1e6).abs() < 1e-6);
    assert!(lo < rate && rate < hi, "{lo} {rate} {hi}");
    assert_eq!(
        general::GStats::default()
            .per_million(tornsim_core::Hazard::Torn)
            .0,
        0.0
    );
    let e = runs_of(
        "tornsim x\n{ pmd pmd = nothing; }\n",
        SchedulerSpec::Random,
        1,
        0,
        1,
    )
    .unwrap_err();
    assert!(e.starts_with("the file has an error at"), "{e}");
    let e = runs_of(&src, SchedulerSpec::Pct { depth: 0 }, 1, 0, 1).unwrap_err();
    assert!(!e.is_empty());
}

/// A file both parsers refuse gets the error that stands further into it: here the
/// classic one (the general parser stops at the classic `int x = 1;`), and for a
/// general file the general one.
#[test]
fn a_file_both_parsers_refuse_gets_the_further_error() {
    let classic = "tornsim t\n{ mode = xen-pv; int x = 1; }\nP0(khugepaged) {\n    pmd_lock()\n}\nexists (torn)\n";
    let Err(e) = general::route(classic) else {
        panic!("refused")
    };
    assert_eq!((e.span.line, e.span.col), (5, 1), "{}", e.message);
    let g = "tornsim t\n{ mode = native-64; pmd pmd = table(t0); }\nP0(madvise) {\n    x = pmdp_get(pmd)\n}\nexists (torn)\n";
    let Err(e) = general::route(g) else {
        panic!("refused")
    };
    assert_eq!((e.span.line, e.span.col), (5, 1), "{}", e.message);
    assert!(general::route(&g.replace("pmd = table(t0);", "pmd = table(t0)")).is_err());
    // Where both stop at the same place, a file in the classic language gets the
    // classic parser's words (its three hazards, not the general machine's).
    let tie = "tornsim t\n{ mode = xen-pv; }\nP0(khugepaged) {\n    pmd_lock();\n    spin_unlock();\n}\nexists (nosuch)\n";
    let Err(e) = general::route(tie) else {
        panic!("refused")
    };
    assert!(
        e.message.contains("(known: torn, stale, deadlock;"),
        "{}",
        e.message
    );
}

/// Under kvm-pv-flush the host may preempt a walker's vCPU: the timeline's CPU row says
/// so while it lasts, and only for that CPU.
#[test]
fn a_timeline_names_a_preempted_vcpu() {
    let mut cfg = tornsim_core::preset("seed-thread-v1").unwrap().config;
    cfg.set("mode", "kvm-pv-flush").unwrap();
    let p = general::from_classic(&cfg).unwrap();
    let found = (1..2_000u64).find_map(|seed| {
        let choices = random_schedule(&p, seed, |m| m.st.preempted != 0);
        let t = general::timeline::timeline(&p, &general::encode(&p, &choices)).ok()?;
        let last = &t.frames.last()?.after;
        last.iter()
            .any(|r| r.1.contains("preempted by the host"))
            .then_some((last.clone(), choices.last().copied()?))
    });
    let (rows, ch) = found.expect("some run preempts a walker");
    let who = p.cpu_name(ch.cpu);
    for (k, v) in &rows {
        if p.cpus > 0 && k.starts_with('P') && !k.contains(' ') {
            assert_eq!(v.contains("preempted by the host"), *k == who, "{k}: {v}");
        }
    }
}

/// A seeded random schedule of `p` (a run's machine: walkers stop once the rest is
/// done), up to 200 steps or until `stop` holds after a step.
fn random_schedule(
    p: &std::sync::Arc<general::GProgram>,
    seed: u64,
    stop: impl Fn(&general::GMachine) -> bool,
) -> Vec<general::GChoice> {
    let mut m = general::GMachine::new(p.clone(), true);
    let (mut x, mut choices) = (seed, Vec::new());
    while choices.len() < 200 {
        let en = m.enabled();
        if en.is_empty() {
            break;
        }
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let ch = en[(x >> 33) as usize % en.len()];
        m.step(ch);
        choices.push(ch);
        if stop(&m) {
            break;
        }
    }
    choices
}

/// A bad argument is pointed at: a PTE index past the table, a word's value that is
/// not a number.
#[test]
fn a_bad_argument_is_refused_at_the_argument() {
    let file = |p0: &str| {
        format!(
            "tornsim t\n{{ mode = native-64; readers = 1; pmd pmd = table(t0); }}\n\
             P0(munmap) {{ {p0} }}\nP1(gup_fast) {{ {WALKER} }}\nexists (torn)\n"
        )
    };
    refused_at(&file("pte_clear(t0, 4);"), "PTEs 0 to 3", "4)");
    refused_at(
        &file("WRITE_ONCE(x, y);"),
        "expected a number to store",
        "y)",
    );
}

/// A block whose brace is never closed is told at that brace, when the next block's
/// head comes where a statement or setting should; the settings' brace too.
#[test]
fn an_unclosed_brace_is_refused_at_the_brace() {
    let body = "ptl = pmd_lock(pmd); spin_unlock(ptl);";
    let src = format!(
        "tornsim t\n{{ mode = xen-pv; readers = 1; pmd pmd = table(t0); }}\n\
         P0(khugepaged) {{ {body}\nP1(gup_fast) {{ {WALKER} }}\nexists (torn)\n"
    );
    refused_at(
        &src,
        "this '{' is not closed before P1 begins",
        &format!("{{ {body}"),
    );
    let src = format!(
        "tornsim t\n{{ mode = xen-pv; readers = 1;\nP0(khugepaged) {{ {body} }}\nexists (torn)\n"
    );
    refused_at(&src, "this '{' is not closed before P0 begins", "{ mode");
}

/// `pmd`, `pte`, `page` and `table` followed by a name declare; followed by `=` they
/// are read as a setting, which there is none of by that name.
#[test]
fn a_declaration_keyword_with_an_equals_sign_is_a_setting() {
    let src = format!(
        "tornsim t\n{{ mode = xen-pv; pmd = on; }}\nP0(gup_fast) {{ {WALKER} }}\nexists (torn)\n"
    );
    let e = general::load(&src).map(|_| ()).unwrap_err();
    assert!(
        src[e.span.start..].starts_with("pmd = on"),
        "{}",
        e.render(&src, "t")
    );
    assert!(e.message.contains("setting"), "{}", e.render(&src, "t"));
}

/// Loops count toward the nesting bound as `if` does, and run up to 16 times; names
/// start with a letter or `_` and hold no `-`; an argument that is no name, C statements
/// the language leaves out, a trylock of a held lock and a flush of a PMD not declared
/// are refused with what was wanted.
#[test]
fn loops_nest_as_ifs_do_and_refusals_name_what_was_wanted() {
    let file = |body: &str| {
        format!(
            "tornsim t\n{{ mode = xen-pv; readers = 1; pmd pmd = table(t0); }}\n\
             P0(fault) {{ {body} }}\n\
             P1(gup_fast) {{ local_irq_save(); v = pmdp_get_lockless(pmd); local_irq_restore(); }}\n\
             exists (torn)\n"
        )
    };
    let refused = |body: &str, want: &str| {
        let src = file(body);
        let e = general::load(&src).map(|_| ()).unwrap_err();
        let text = e.render(&src, "t");
        assert!(text.contains(want), "{text}");
    };
    let dos = "do { ".repeat(33) + &"} while (!installed); ".repeat(33);
    refused(&dos, "nest more than 32 deep");
    let fors = "for (i = 0; i < 1; i++) { ".repeat(33) + &"} ".repeat(33);
    refused(&fors, "nest more than 32 deep");
    refused(
        "v = pmdp_get_lockless(freed-table);",
        "an argument: a name such as 'pmd' or a number",
    );
    refused(
        "for (i = 0; i < n; i++) { }",
        "a loop needs a bound: 'i < N' with N a number",
    );
    for ok in [
        "for (i = 0; i < 16; i++) { v = pmdp_get_lockless(pmd); }",
        "_v = pmdp_get_lockless(pmd);",
    ] {
        let src = file(ok);
        if let Err(e) = general::load(&src) {
            panic!("{}", e.render(&src, "t"));
        }
    }
    refused(
        "1v = pmdp_get_lockless(pmd);",
        "'1v' is not a name to assign to",
    );
    refused(
        "ptl = pmd_lock(pmd); if (spin_trylock(ptl)) spin_unlock(ptl); spin_unlock(ptl);",
        "spin_trylock() of a lock this block holds always fails",
    );
    refused("flush_tlb_range(nope);", "there is no PMD 'nope'");
    for w in ["while", "goto", "else", "switch"] {
        refused(
            &format!("{w} (x) {{ }}"),
            &format!("'{w}' is not part of the scenario language"),
        );
    }
}

/// Statements nest at most 32 deep: 32 compiles, 33 is refused at the innermost brace.
#[test]
fn statements_nest_at_most_32_deep() {
    let nested = |n: usize| {
        let open = "if (pmd_none(v)) { ".repeat(n);
        let close = "} ".repeat(n);
        format!(
            "tornsim t\n{{ mode = xen-pv; readers = 1; pmd pmd = table(t0); }}\n\
             P0(gup_fast) {{ local_irq_save(); v = pmdp_get_lockless(pmd); {open}{close}local_irq_restore(); }}\n\
             exists (torn)\n"
        )
    };
    general::load(&nested(32)).unwrap();
    let src = nested(33);
    let e = general::load(&src).map(|_| ()).unwrap_err();
    assert!(
        e.message.contains("nest more than 32 deep"),
        "{}",
        e.render(&src, "t")
    );
    let innermost = src.match_indices("{ ").nth(34).unwrap().0;
    assert_eq!(e.span.start, innermost, "{}", e.render(&src, "t"));
    // Arms without braces nest as deep as arms with them.
    let bare = |n: usize| {
        let ifs = "if (pmd_none(v)) ".repeat(n);
        format!(
            "tornsim t\n{{ mode = xen-pv; readers = 1; pmd pmd = table(t0); }}\n\
             P0(gup_fast) {{ local_irq_save(); v = pmdp_get_lockless(pmd); {ifs}w = pmdp_get_lockless(pmd); local_irq_restore(); }}\n\
             exists (torn)\n"
        )
    };
    general::load(&bare(32)).unwrap();
    let e = general::load(&bare(33)).map(|_| ()).unwrap_err();
    assert!(
        e.message.contains("nest more than 32 deep"),
        "{}",
        e.message
    );
}

/// A condition on final words asks about that final state only: a hazard the clause
/// does not name does not end the search (here a torn read, which the same file with
/// `exists (torn)` finds).
#[test]
fn a_condition_alone_does_not_stop_at_an_unasked_hazard() {
    let src = |exists: &str| {
        format!(
            "tornsim t\n{{ mode = xen-pv; readers = 1; alloc = same-low; pmd pmd = table(t0); }}\n\
             P0(khugepaged) {{ WRITE_ONCE(x, 1); pml = pmd_lock(pmd); pgt = pmdp_collapse_flush(pmd); spin_unlock(pml); pte_free_defer(pgt); }}\n\
             P1(fault) {{ pgtable = pte_alloc_one(); pml = pmd_lock(pmd); if (pmd_none()) pmd_populate(pmd, pgtable); spin_unlock(pml); }}\n\
             P2(gup_fast) {{ local_irq_save(); v = pmdp_get_lockless(pmd); local_irq_restore(); }}\n\
             exists ({exists})\n"
        )
    };
    let check = |s: &str| {
        let p = general::load(s).unwrap();
        general::check(&p, GCheckOptions::default()).verdict
    };
    assert_eq!(check(&src("torn")), Verdict::Torn);
    assert_eq!(check(&src("x=1")), Verdict::Observed);
    assert_eq!(check(&src("x=0")), Verdict::Safe);
}

/// Which locals are live where (`GInstr::live`): a local is live from each step that may
/// read it back to the step that writes it, and dead between a last read and a new
/// write; the search zeroes dead locals, so states differing only in them are one.
#[test]
fn a_local_is_live_from_a_read_back_to_its_write_and_dead_after_its_last_read() {
    let src = "tornsim t\n{ mode = native-64; readers = 1; pmd pmd = table(t0); }\n\
               P0(madvise) {\n  b = pmdp_get(pmd);\n  if (pmd_none(b)) return;\n  \
               a = pmdp_get(pmd);\n  if (pmd_none(a)) return;\n  \
               pml = pmd_lock(pmd);\n  a = pmdp_get(pmd);\n  if (pmd_none(a)) pmd_clear(pmd);\n  \
               spin_unlock(pml);\n}\n\
               P1(gup_fast) { local_irq_save(); v = pmdp_get_lockless(pmd); local_irq_restore(); }\n\
               exists (torn)\n";
    let p = general::load(src).unwrap();
    let names = p.local_names(0);
    let bit = |n: &str| 1u32 << names.iter().position(|x| x == n).unwrap();
    // (A lock local is the lock itself, known when compiling: no slot.)
    let (a, b) = (bit("a"), bit("b"));
    assert_eq!((b, a), (1, 2), "{names:?}");
    let (_, from, to, _) = &p.blocks[0];
    let lines: Vec<(u32, u32)> = p.code[*from as usize..*to as usize]
        .iter()
        .map(|i| (i.line, i.live))
        .collect();
    let live_at = |line: u32| lines.iter().filter(|l| l.0 == line).fold(0, |m, l| m | l.1);
    let want = [
        (4, 0),
        (5, b),
        (6, 0),
        (7, a),
        (8, 0),
        (9, 0),
        (10, a),
        (11, 0),
    ];
    let got: Vec<(u32, u32)> = want.iter().map(|&(l, _)| (l, live_at(l))).collect();
    // Between the first test of a and its second read, a is dead: the read writes it
    // before the second test reads it.
    assert_eq!(got, want, "{lines:?}");
    // A step that reads one local twice (here as the table and as the page) keeps it
    // live.
    let src = "tornsim t\n{ mode = native-64; readers = 1; pmd pmd = table(t0); \
               pte t0[0] = page(a); page a = 1; }\n\
               P0(madvise) { v = pmdp_get(pmd); set_pte(v, 0, v); }\n\
               P1(gup_fast) { local_irq_save(); w = pmdp_get_lockless(pmd); local_irq_restore(); }\n\
               exists (torn)\n";
    let p = general::load(src).unwrap();
    let (_, from, _, _) = &p.blocks[0];
    assert_eq!(p.code[*from as usize + 1].live, 1, "{:?}", p.code);
    // A step that reads two locals keeps both live: pte_same() reads the value and
    // the table.
    let src = "tornsim t\n{ mode = native-64; readers = 1; pmd pmd = table(t0); \
               pte t0[0] = page(a); page a = 1; }\n\
               P0(madvise) { v = pmdp_get(pmd); ptep = pte_offset_map(v); pte = ptep_get(ptep, 0); \
               if (pte_same(pte, ptep, 0)) pte_clear(t0, 0); }\n\
               P1(gup_fast) { local_irq_save(); w = pmdp_get_lockless(pmd); local_irq_restore(); }\n\
               exists (torn)\n";
    let p = general::load(src).unwrap();
    let names = p.local_names(0);
    let bit = |n: &str| 1u32 << names.iter().position(|x| x == n).unwrap();
    let at = p
        .code
        .iter()
        .find(|i| matches!(i.op, general::ir::GOp::PteSame { .. }))
        .unwrap();
    assert_eq!(at.live, bit("pte") | bit("ptep"), "{names:?} {:?}", p.code);
    // And one it reads as both the value and the table: pte_same(v, v, 0).
    let src = "tornsim t\n{ mode = native-64; readers = 1; pmd pmd = table(t0); \
               pte t0[0] = page(a); page a = 1; }\n\
               P0(madvise) { v = pmdp_get(pmd); if (pte_same(v, v, 0)) pte_clear(t0, 0); }\n\
               P1(gup_fast) { local_irq_save(); w = pmdp_get_lockless(pmd); local_irq_restore(); }\n\
               exists (torn)\n";
    let p = general::load(src).unwrap();
    let at = p
        .code
        .iter()
        .find(|i| matches!(i.op, general::ir::GOp::PteSame { .. }))
        .unwrap();
    assert_eq!(at.live, 1, "{:?}", p.code);
}
