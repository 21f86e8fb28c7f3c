//! Verdicts under x86-TSO: every built-in scenario's, and the historical x2APIC bug.

use tornsim_core::check::{check, CheckOptions};
use tornsim_core::config::{Apic, Config, Memory};
use tornsim_core::machine::Action;
use tornsim_core::program::{builtin_source, load, BUILTIN};
use tornsim_core::{replay, Batch, SchedulerSpec, Verdict};

/// Each built-in file's verdict under SC, under TSO with an ordered IPI (xAPIC), and
/// under TSO with x2APIC (the kernel's paths then fence before the `WRMSR`).
const TABLE: &[(&str, Verdict, Verdict, Verdict)] = {
    use Verdict::*;
    &[
        ("under-ptl", Safe, Safe, Safe),
        ("after-unlock", Torn, Torn, Torn),
        ("none", Torn, Torn, Torn),
        ("flush-sync-skip", Safe, Safe, Safe),
        ("seed-thread-v1", Torn, Torn, Torn),
        ("merged", Safe, Safe, Safe),
        ("native-gup", Safe, Safe, Safe),
        ("native-walker", Torn, Torn, Torn),
        ("non-pae", Safe, Safe, Safe),
        ("v3-skip-walker", Torn, Torn, Torn),
        ("v3-skip-xen", Safe, Safe, Safe),
        ("no-sync-xen", Torn, Torn, Torn),
        ("sync-twice", Safe, Safe, Safe),
        ("ptl-reader", Safe, Safe, Safe),
        ("high-first", Safe, Safe, Safe),
        ("no-recheck", Torn, Torn, Torn),
        ("irq-off-ptl-deadlock", Deadlock, Deadlock, Deadlock),
        ("x2apic-no-fence", Safe, Safe, Stale),
        ("x2apic-fence", Safe, Safe, Safe),
        ("handshake-no-mb", Safe, Observed, Observed),
        ("handshake-mb", Safe, Safe, Safe),
    ]
};

fn config(name: &str) -> Config {
    load(builtin_source(name).unwrap()).unwrap().1
}

fn with(name: &str, memory: Memory, apic: Apic) -> Config {
    Config {
        memory,
        apic,
        ..config(name)
    }
}

#[test]
fn every_builtin_scenario_has_its_tso_verdict() {
    let mut names: Vec<&str> = BUILTIN.iter().map(|b| b.0).collect();
    names.sort();
    let mut listed: Vec<&str> = TABLE.iter().map(|t| t.0).collect();
    listed.sort();
    assert_eq!(names, listed, "every built-in file is in the table");
    for &(name, sc, xapic, x2apic) in TABLE {
        for (memory, apic, want) in [
            (Memory::Sc, Apic::Xapic, sc),
            (Memory::Tso, Apic::Xapic, xapic),
            (Memory::Tso, Apic::X2apic, x2apic),
        ] {
            let r = check(&with(name, memory, apic), CheckOptions::default()).unwrap();
            assert_eq!(r.verdict, want, "{name} under {memory}, {apic}");
        }
    }
}

/// The witness: the reader acknowledges the flush IPI while the clear still sits in
/// khugepaged's store buffer, walks the old PMD from memory, and uses the table after
/// khugepaged (every acknowledgement in) has drained its buffer and freed it.
#[test]
fn x2apic_without_the_fence_uses_a_freed_table() {
    let cfg = config("x2apic-no-fence");
    let r = check(&cfg, CheckOptions::default()).unwrap();
    assert_eq!(r.verdict, Verdict::Stale);
    let w = r.witness.unwrap();
    // Shortest: the unreduced search (breadth first) finds one as long.
    let plain = check(
        &cfg,
        CheckOptions {
            reduce: false,
            symmetry: false,
            ..CheckOptions::default()
        },
    )
    .unwrap();
    assert_eq!(w.choices.len(), plain.witness.unwrap().choices.len());
    assert_eq!(w.choices.len(), 16);
    let t = replay(&w).unwrap();
    let at = |f: &dyn Fn(&Action) -> bool| t.steps.iter().position(|s| f(&s.action)).unwrap();
    let ipi = at(&|a| matches!(a, Action::FlushIpi { .. }));
    let reader_ack = t.steps.iter().position(|s| s.ack && s.cpu == 2).unwrap();
    let read = at(&|a| matches!(a, Action::ReloadLow { retry: false, .. }));
    let drain = at(&|a| matches!(a, Action::Drain { .. }));
    let free = at(&|a| matches!(a, Action::Free { .. }));
    assert!(ipi < reader_ack && reader_ack < read && read < drain && drain < free);
    // When the IPI left, both halves of the clear were still buffered.
    assert_eq!(
        t.steps[ipi].after.buffers[0],
        ["pmd_low = 0", "pmd_high = 0"]
    );
    assert_eq!(
        t.steps.last().unwrap().hazard,
        Some(tornsim_core::Hazard::Stale)
    );
    // Random runs find it too, and their schedules replay.
    let mut b = Batch::new(&cfg, SchedulerSpec::Random, 5).unwrap();
    let stats = b.run(20_000);
    assert!(stats.stale_uses > 0, "{stats:?}");
    let first = stats.first_stale.unwrap();
    assert!(tornsim_core::replay_str_with(&first.schedule, cfg.scenario.as_ref()).is_ok());
}

#[test]
fn the_fence_closes_the_window() {
    let r = check(&config("x2apic-fence"), CheckOptions::default()).unwrap();
    assert_eq!(r.verdict, Verdict::Safe);
}

/// With `native_pmdp_get_and_clear()` in place of `pmd_clear()`, the locked `xchg` of
/// `pmd_low` drains the buffer and clears `pmd_low` in memory before the IPI leaves: a
/// reader sees a none PMD and walks nothing, so the missing fence hides.
#[test]
fn x2apic_bug_hides_behind_a_locked_clear() {
    let src = builtin_source("x2apic-no-fence")
        .unwrap()
        .replace("    pmd_clear();", "    pmdp_huge_get_and_clear();");
    for clear in ["split-low-first", "xchg64"] {
        let (_, mut cfg) = load(&src).unwrap();
        cfg.set("clear", clear).unwrap();
        let r = check(&cfg, CheckOptions::default()).unwrap();
        assert_eq!(r.verdict, Verdict::Safe, "clear = {clear}");
    }
}
