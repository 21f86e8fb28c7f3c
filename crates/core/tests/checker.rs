//! The exhaustive checker against MODEL.md's table of expected verdicts.

use tornsim_core::check::{expected_verdict, matrix_configs};
use tornsim_core::{check, preset, replay, CheckOptions, Config, Verdict};

fn opts(reduce: bool, symmetry: bool) -> CheckOptions {
    CheckOptions {
        reduce,
        symmetry,
        ..CheckOptions::default()
    }
}

/// MODEL.md's table holds for 1 and 2 readers and every clear/set split, and each
/// witness replays (on the draining machine the random runs use) to the same hazard.
#[test]
fn model_md_verdict_table_holds_with_every_split() {
    for readers in [1, 2] {
        for cfg in matrix_configs(readers, true) {
            let r = check(&cfg, CheckOptions::default()).unwrap();
            assert_eq!(r.verdict, expected_verdict(&cfg), "{}", cfg.summary());
            match r.verdict {
                Verdict::Safe => assert!(r.witness.is_none() && r.states > 100),
                Verdict::Torn => {
                    let w = r.witness.expect("a hazard has a witness");
                    let t = replay(&w).expect("the witness replays");
                    let last = t.steps.last().unwrap();
                    assert_eq!(last.hazard, Some(tornsim_core::Hazard::Torn));
                    assert_eq!(t.hazards().count(), 1, "only the last step is hazardous");
                    // And through its string form, as the CLI and the web page take it.
                    let again = tornsim_core::replay_str(&w.encode()).unwrap();
                    assert_eq!(again.steps.len(), t.steps.len());
                }
                v => panic!("{}: unexpected {v}", cfg.summary()),
            }
        }
    }
}

/// `paravirt` off makes native PAE behave as `none` in every column.
#[test]
fn paravirt_off_behaves_as_no_sync() {
    for base in matrix_configs(1, false) {
        if base.mode != tornsim_core::config::Mode::NativePae {
            continue;
        }
        let cfg = Config {
            paravirt: false,
            ..base.clone()
        };
        let none = Config {
            sync: tornsim_core::config::SyncPlacement::None,
            ..base
        };
        let a = check(&cfg, CheckOptions::default()).unwrap();
        let b = check(&none, CheckOptions::default()).unwrap();
        assert_eq!(a.verdict, b.verdict, "{}", cfg.summary());
        assert_eq!(a.states, b.states, "{}", cfg.summary());
    }
}

/// The reductions change how much is stored, never the verdict or the witness length;
/// and a search gives the same counts every time.
#[test]
fn reductions_preserve_verdicts_and_shortest_witnesses() {
    for readers in [1, 2] {
        for cfg in matrix_configs(readers, true) {
            let reduced = check(&cfg, opts(true, true)).unwrap();
            let plain = check(&cfg, opts(false, false)).unwrap();
            let name = cfg.summary();
            assert_eq!(reduced.verdict, plain.verdict, "{name}");
            assert_eq!(
                reduced.witness.as_ref().map(|w| w.choices.len()),
                plain.witness.as_ref().map(|w| w.choices.len()),
                "{name}"
            );
            if plain.verdict == Verdict::Safe {
                assert!(reduced.states <= plain.states, "{name}");
            }
            let again = check(&cfg, opts(true, true)).unwrap();
            assert_eq!(again, reduced, "{name}: a second search differs");
        }
    }
}

#[test]
fn random_and_same_frame_allocators() {
    let xen = |p: &str, alloc: &str| {
        let mut c = preset(p).unwrap().config;
        c.set("alloc", alloc).unwrap();
        check(&c, CheckOptions::default()).unwrap().verdict
    };
    // Some random frame shares the old low word: the race is reachable, as with same-low.
    assert_eq!(xen("seed-thread-v1", "random"), Verdict::Torn);
    assert_eq!(xen("merged", "random"), Verdict::Safe);
    // The same frame back is an ABA with an identical value: never torn.
    assert_eq!(xen("seed-thread-v1", "same-frame"), Verdict::Safe);
}

#[test]
fn immediate_free_without_sync_is_a_use_after_free() {
    let mut c = preset("no-sync-xen").unwrap().config;
    c.set("free", "immediate").unwrap();
    c.set("alloc", "same-frame").unwrap();
    let r = check(&c, CheckOptions::default()).unwrap();
    assert_eq!(r.verdict, Verdict::Stale);
    let t = replay(r.witness.as_ref().unwrap()).unwrap();
    assert_eq!(
        t.steps.last().unwrap().hazard,
        Some(tornsim_core::Hazard::Stale)
    );
    // The sync under the PTL closes it.
    c.set("sync", "under-ptl").unwrap();
    assert_eq!(
        check(&c, CheckOptions::default()).unwrap().verdict,
        Verdict::Safe
    );
}

#[test]
fn the_kernel_diagram_fits_100_columns_for_four_cpus() {
    for cfg in matrix_configs(2, true) {
        let r = check(&cfg, CheckOptions::default()).unwrap();
        let Some(w) = r.witness else { continue };
        let d = replay(&w).unwrap().to_kernel();
        for line in d.lines() {
            assert!(line.chars().count() <= 100, "{}:\n{d}", cfg.summary());
        }
        assert!(d.contains("CPU0 (khugepaged)") && d.contains("CPU1 (fault)"));
        assert!(d.contains("TORN: CPU"), "{d}");
        assert!(d.contains("pmd_lock()") && d.contains("local_irq_save()"));
    }
}

#[test]
fn the_primitives_doc_is_generated_from_the_table() {
    let doc = include_str!("../../../docs/src/primitives.md");
    let body = doc
        .split_once("-->\n\n")
        .map(|(_, b)| b)
        .expect("the generated-file header");
    assert_eq!(
        body,
        tornsim_core::prim::markdown(),
        "docs/src/primitives.md is stale: run `tornsim primitives --markdown` into it (below the header)"
    );
}

/// `tornsim show PRESET` → parse → the same configuration, verdict, witness, statistics
/// and trace as the preset itself.
#[test]
fn every_preset_round_trips_through_its_printed_file() {
    use tornsim_core::{program, Batch, SchedulerSpec};
    for p in tornsim_core::presets() {
        let shown = program::print(program::of_config(&p.config), &p.config);
        let (_, cfg) =
            program::load(&shown).unwrap_or_else(|e| panic!("{}", e.render(&shown, p.name)));
        assert_eq!(cfg, p.config, "{}", p.name);
        let a = tornsim_core::check(&p.config, Default::default()).unwrap();
        let b = tornsim_core::check(&cfg, Default::default()).unwrap();
        assert_eq!(a, b, "{}", p.name);
        let run = |c| Batch::new(c, SchedulerSpec::Random, 7).unwrap().run(3_000);
        let (sa, sb) = (run(&p.config), run(&cfg));
        assert_eq!(sa, sb, "{}", p.name);
        if let Some(h) = &sa.first_torn {
            let ta = tornsim_core::replay_str(&h.schedule).unwrap();
            assert_eq!(
                ta.to_table(),
                tornsim_core::replay_str(&sb.first_torn.as_ref().unwrap().schedule)
                    .unwrap()
                    .to_table()
            );
        }
    }
}
