//! The cutoff argument (docs/cutoff.md) against the exhaustive checker at 1, 2, 3 and 4
//! readers: on every built-in scenario and every cell of the matrix, `check_any`'s
//! verdict is what the fixed counts say, and a hazard's witness has the fewest readers.

use tornsim_core::check::matrix_configs;
use tornsim_core::cutoff::{argument, check_any};
use tornsim_core::program::{builtin_source, load, BUILTIN};
use tornsim_core::{check, CheckOptions, Config, Verdict};

/// The verdicts at 1..=4 readers, with no idle CPU.
fn fixed(cfg: &Config) -> Vec<Verdict> {
    (1..=4)
        .map(|readers| {
            let at = Config {
                readers,
                cpus: None,
                ..cfg.clone()
            };
            check(&at, CheckOptions::default()).unwrap().verdict
        })
        .collect()
}

/// Asserts that `check_any` agrees with the fixed counts; returns whether it proved.
fn cross_check(name: &str, cfg: &Config) -> bool {
    let any = check_any(cfg, CheckOptions::default(), 4).unwrap();
    let at = fixed(cfg);
    for &(n, v) in &any.checked {
        assert_eq!(v, at[n as usize - 1], "{name}: {n} readers");
    }
    match any.verdict {
        Verdict::Safe if any.proved => {
            assert!(at.iter().all(|&v| v == Verdict::Safe), "{name}: {at:?}");
        }
        Verdict::Safe => assert_eq!(any.readers, 4, "{name}: bounded at --bound"),
        v => {
            // The fewest readers: every smaller count is safe, every larger one has it.
            let n = any.readers as usize;
            assert!(
                at[..n - 1].iter().all(|&w| w == Verdict::Safe),
                "{name}: {at:?}"
            );
            if any.proved {
                assert!(
                    at[n - 1..].iter().all(|&w| w == v),
                    "{name}: {v} from {n}: {at:?}"
                );
            }
            let w = any.result.witness.as_ref().expect("a hazard has a witness");
            assert_eq!(w.config.readers, any.readers, "{name}");
        }
    }
    any.proved
}

#[test]
fn every_builtin_scenario_agrees_with_1_to_4_readers() {
    let mut proved = 0;
    let mut words = 0;
    for (name, src) in BUILTIN {
        let (_, cfg) = load(src).unwrap();
        if tornsim_core::program::program_for(&cfg)
            .unwrap()
            .words
            .is_some()
        {
            // Searched without symmetry or reduction (a clause over final registers):
            // four readers are out of reach, and the argument does not apply anyway.
            let a = argument(&cfg).unwrap();
            assert!(!a.applies(), "{name}");
            assert!(a.conditions.iter().any(|c| c.id == "C4" && !c.holds));
            words += 1;
            continue;
        }
        proved += cross_check(name, &cfg) as u32;
    }
    assert_eq!(words, 2);
    // All but the two whose readers take the PTL.
    assert_eq!(proved as usize, BUILTIN.len() - 2 - words);
}

#[test]
fn every_matrix_cell_agrees_with_1_to_4_readers() {
    let cells = matrix_configs(1, true);
    assert_eq!(cells.len(), 160);
    for cfg in &cells {
        assert!(
            cross_check(&cfg.summary(), cfg),
            "{}: not proved",
            cfg.summary()
        );
    }
}

#[test]
fn the_merged_kernel_is_safe_for_any_count_and_v1_tears_with_one_reader() {
    let merged = tornsim_core::preset("merged").unwrap().config;
    let r = check_any(&merged, CheckOptions::default(), 3).unwrap();
    assert!(r.proved && r.verdict == Verdict::Safe);
    assert_eq!((r.argument.cutoff, r.checked.len()), (1, 1));
    let v1 = tornsim_core::preset("seed-thread-v1").unwrap().config;
    let r = check_any(&v1, CheckOptions::default(), 3).unwrap();
    assert!(r.proved);
    assert_eq!((r.verdict, r.readers), (Verdict::Torn, 1));
}

#[test]
fn a_reader_that_takes_the_ptl_is_refused_the_cutoff_at_its_line() {
    let src = builtin_source("ptl-reader").unwrap();
    let (_, cfg) = load(src).unwrap();
    let a = argument(&cfg).unwrap();
    assert!(!a.applies());
    let c1 = &a.conditions[0];
    let b = c1.broken_at.as_ref().expect("C1 fails");
    // The reader block's first line (1-based: its header's index + 2) is its lock.
    let p2 = src.lines().position(|l| l.starts_with("P2(")).unwrap() + 2;
    assert_eq!(
        (b.line as usize, b.text.as_str(), b.op.as_str()),
        (p2, "pmd_lock();", "lock")
    );
    assert!(b.why.contains("ptl"), "{}", b.why);
    let r = check_any(&cfg, CheckOptions::default(), 2).unwrap();
    assert!(!r.proved);
    assert_eq!(r.checked, vec![(1, Verdict::Safe), (2, Verdict::Safe)]);
}

#[test]
fn a_reader_writing_a_shared_word_inside_its_read_is_refused() {
    // The merged code, with the reader taking the PTL before it enables interrupts.
    let src = builtin_source("merged").unwrap().replace(
        "    pte_offset_map();\n",
        "    pte_offset_map();\n    pmd_lock();\n    spin_unlock();\n",
    );
    let (_, cfg) = load(&src).unwrap();
    let a = argument(&cfg).unwrap();
    let b = a.conditions[0].broken_at.as_ref().expect("C1 fails");
    // khugepaged and the fault lock first; the reader's `pmd_lock();` is the last one.
    let last = src
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == "pmd_lock();")
        .last()
        .unwrap()
        .0;
    assert_eq!(b.line as usize, last + 1, "{b:?}");
    assert!(
        a.conditions[1].broken_at.is_some(),
        "C2: the lock reads the PTL too"
    );
    assert!(a.conditions[2].holds, "the writers are the kernel's");
}
