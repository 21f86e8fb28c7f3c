use super::*;
use crate::config::{Config, SyncPlacement};
use crate::scenario::*;

fn err(src: &str) -> String {
    match load(src).and_then(|(s, c)| compile(&s, &c).map(|_| ())) {
        Ok(()) => panic!("accepted:\n{src}"),
        Err(e) => e.render(src, "t.litmus"),
    }
}

const GOOD: &str = "tornsim t\n{ mode = xen-pv; }\nP0(khugepaged) {\n    pmd_lock();\n    pmdp_collapse_flush();\n    spin_unlock();\n    pmdp_get_lockless_sync();\n    pte_free_defer();\n}\nP1(fault) {\n    pte_alloc_one();\n    do {\n        pmd_lock();\n        if (pmd_none())\n            pmd_populate();\n        spin_unlock();\n    } while (!installed);\n}\nP2(gup_fast) {\n    local_irq_save();\n    pmdp_get_lockless();\n    pte_offset_map();\n    local_irq_restore();\n}\nexists (torn \\/ stale)\n";

#[test]
fn a_file_equal_to_a_placement_is_that_placement() {
    let (_, c) = load(GOOD).unwrap();
    assert_eq!(c.sync, SyncPlacement::AfterUnlock);
    assert!(c.scenario.is_none());
    assert_eq!(c.readers, 1);
    let moved = GOOD.replace(
        "    spin_unlock();\n    pmdp_get_lockless_sync();",
        "    pmdp_get_lockless_sync();\n    spin_unlock();",
    );
    let (_, c) = load(&moved).unwrap();
    assert_eq!(c.sync, SyncPlacement::UnderPtl);
    let asked = GOOD.replace("exists (torn \\/ stale)", "exists (torn)");
    assert!(load(&asked).unwrap().1.scenario.is_some());
}

#[test]
fn every_builtin_file_parses_and_compiles_and_prints_back() {
    for (name, src) in BUILTIN {
        let (s, c) = load(src).unwrap_or_else(|e| panic!("{}", e.render(src, name)));
        compile(&s, &c).unwrap();
        let again = print(&s, &c);
        let (s2, c2) = load(&again).unwrap();
        let plain = |c: &Config| Config {
            scenario: None,
            ..c.clone()
        };
        assert_eq!(plain(&c2), plain(&c), "{name}");
        assert_eq!(c2.scenario.is_some(), c.scenario.is_some(), "{name}");
        assert_eq!(program_hash(&s2), program_hash(&s), "{name}");
    }
}

/// Each built-in file states its expected result in its `exists` clause; the
/// exhaustive checker must agree with every one.
#[test]
fn every_builtin_claim_holds_under_exhaustive_search() {
    for (name, src) in BUILTIN {
        let (s, c) = load(src).unwrap();
        let r = crate::check::check(&c, crate::check::CheckOptions::default()).unwrap();
        assert_eq!(
            s.exists.holds(r.verdict),
            Some(true),
            "{name}: {} but the checker says {}",
            s.exists.text(),
            r.verdict
        );
    }
}

#[test]
fn errors_point_at_the_place_with_a_caret() {
    let e = err(&GOOD.replace("pmdp_get_lockless_sync", "pmdp_get_lockless_synk"));
    assert!(e.starts_with("t.litmus:7:5: unknown primitive 'pmdp_get_lockless_synk' (did you mean 'pmdp_get_lockless_sync'?)"), "{e}");
    assert!(
        e.contains("7 |     pmdp_get_lockless_synk();\n  |     ^^^^^^^^^^^^^^^^^^^^^^\n"),
        "{e}"
    );
    let e = err(&GOOD.replace(
        "    pmd_lock();\n    pmdp_collapse_flush();",
        "    pmdp_collapse_flush();",
    ));
    assert!(e.contains("spin_unlock() without pmd_lock()"), "{e}");
    let e = err(&GOOD.replace("pte_free_defer();\n}", "pte_free_defer();\n"));
    assert!(e.contains("unbalanced braces"), "{e}");
    let e = err(&GOOD.replace("P1(fault)", "P3(fault)"));
    assert!(e.contains("CPU1 has no program"), "{e}");
    let e = err(&GOOD.replace("{ mode = xen-pv; }", "{ mode = xen-pv; readers = 70; }"));
    assert!(e.contains("out of range"), "{e}");
    let e = err(&GOOD
        .replace(
            "{ mode = xen-pv; }",
            "{ mode = xen-pv; cpus = 64; readers = 62; }",
        )
        .replace("exists", "P3(gup_fast) { local_irq_save(); }\nexists"));
    assert!(e.contains("interrupts disabled"), "{e}");
    let e = err(&GOOD
        .replace("pte_offset_map();\n", "")
        .replace("exists (torn \\/ stale)", "exists (stale)"));
    assert!(e.contains("cannot observe"), "{e}");
    let e = err(&GOOD.replace("exists (torn \\/ stale)", "exists (tron)"));
    assert!(e.contains("unknown hazard 'tron'"), "{e}");
    let e = err(&GOOD.replace(
        "    pmd_lock();\n    pmdp_collapse_flush();",
        "    pmd_lock();\n    pmd_lock();\n    pmdp_collapse_flush();",
    ));
    assert!(e.contains("already holds the PTL"), "{e}");
}
