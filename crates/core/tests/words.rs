//! Shared words in scenario files: `WRITE_ONCE()`, `READ_ONCE()`, `xchg()`, `smp_mb()`,
//! `int x = v;`, and an `exists` clause over final registers and memory, under SC and
//! x86-TSO, in the checker, in random runs and in traces.

use tornsim_core::check::{check, CheckOptions};
use tornsim_core::config::{Config, Memory};
use tornsim_core::machine::Action;
use tornsim_core::program::{builtin_source, load, load_checked, print, program_for};
use tornsim_core::scenario::program_hash;
use tornsim_core::{replay, Batch, SchedulerSpec, Verdict};

/// The handshake without barriers, with `P0`'s and `P2`'s first lines and the clause
/// replaced.
fn handshake(p0: &str, p2: &str, exists: &str) -> String {
    builtin_source("handshake-no-mb")
        .unwrap()
        .replace(
            "    WRITE_ONCE(collapsing, 1);\n    r0 = READ_ONCE(walking);\n",
            p0,
        )
        .replace(
            "    WRITE_ONCE(walking, 1);\n    r1 = READ_ONCE(collapsing);\n",
            p2,
        )
        .replace("exists (P0:r0=0 /\\ P2:r1=0)", exists)
}

fn verdict(src: &str, memory: Memory) -> Verdict {
    let (_, cfg) = load(src).unwrap_or_else(|e| panic!("{e}\n{src}"));
    let cfg = Config { memory, ..cfg };
    check(&cfg, CheckOptions::default()).unwrap().verdict
}

fn err(src: &str) -> String {
    match load_checked(src) {
        Ok(_) => panic!("accepted:\n{src}"),
        Err(e) => e.render(src, "t.litmus"),
    }
}

#[test]
fn the_handshake_misses_on_x86_only_and_its_witness_shows_both_buffers() {
    let src = builtin_source("handshake-no-mb").unwrap();
    assert_eq!(verdict(src, Memory::Sc), Verdict::Safe);
    let (_, cfg) = load(src).unwrap();
    let r = check(&cfg, CheckOptions::default()).unwrap();
    assert_eq!(r.verdict, Verdict::Observed);
    let t = replay(&r.witness.unwrap()).unwrap();
    assert!(t.finished && t.observed, "{}", t.to_table());
    // The later of the two loads ran while the other CPU's flag was still in its buffer.
    let load_of = |cpu: u8| {
        t.steps
            .iter()
            .position(|s| s.cpu == cpu && matches!(s.action, Action::WordLoad { value: 0, .. }))
            .unwrap()
    };
    let (p0, p2) = (load_of(0), load_of(2));
    let (at, other, flag) = if p0 > p2 {
        (p0, 2, "walking = 1")
    } else {
        (p2, 0, "collapsing = 1")
    };
    assert!(
        t.steps[at].after.buffers[other].contains(&flag.to_string()),
        "{}",
        t.to_table()
    );
    let last = t.steps.last().unwrap();
    assert_eq!(
        last.after.words_line(),
        "collapsing=1 walking=1 P0:r0=0 P2:r1=0"
    );
    assert!(t
        .to_table()
        .contains("run finished in a state the exists clause describes"));
    let store = &t.steps[0];
    assert!(
        matches!(store.action, Action::WordStore { var: 0, value: 1 }),
        "{:?}",
        store.action
    );
    assert_eq!(
        store.text,
        "WRITE_ONCE(collapsing, 1) (into the store buffer)"
    );
}

#[test]
fn smp_mb_or_a_locked_exchange_closes_the_handshake() {
    assert_eq!(
        verdict(builtin_source("handshake-mb").unwrap(), Memory::Tso),
        Verdict::Safe
    );
    // SB+xchgs: the exchange is locked, so it waits for an empty buffer and writes memory.
    let src = handshake(
        "    xchg(collapsing, 1);\n    r0 = READ_ONCE(walking);\n",
        "    r2 = xchg(walking, 1);\n    r1 = READ_ONCE(collapsing);\n",
        "exists (P0:r0=0 /\\ P2:r1=0)",
    );
    assert_eq!(verdict(&src, Memory::Tso), Verdict::Safe);
    // smp_rmb() and smp_wmb() are no step on x86: they change nothing.
    let src = handshake(
        "    WRITE_ONCE(collapsing, 1);\n    smp_wmb();\n    r0 = READ_ONCE(walking);\n",
        "    WRITE_ONCE(walking, 1);\n    smp_rmb();\n    r1 = READ_ONCE(collapsing);\n",
        "exists (P0:r0=0 /\\ P2:r1=0)",
    );
    assert_eq!(verdict(&src, Memory::Tso), Verdict::Observed);
}

#[test]
fn a_load_reads_its_own_buffered_store_and_final_memory_is_drained() {
    // Forwarding: khugepaged loads its own store while it may still be buffered.
    let own = handshake(
        "    WRITE_ONCE(collapsing, 1);\n    r0 = READ_ONCE(collapsing);\n",
        "    r1 = READ_ONCE(collapsing);\n",
        "exists (P0:r0=0)",
    );
    // The own store; memory after every buffer drained (a final state); the reader
    // loading before or after the store.
    let table = [
        ("P0:r0=0", Verdict::Safe),
        ("P0:r0=1", Verdict::Observed),
        ("collapsing=0", Verdict::Safe),
        ("P2:r1=0", Verdict::Observed),
        ("P2:r1=1", Verdict::Observed),
    ];
    for m in [Memory::Sc, Memory::Tso] {
        for (clause, want) in table {
            let src = own.replace("P0:r0=0", clause);
            assert_eq!(verdict(&src, m), want, "{clause} under {m}");
        }
    }
}

#[test]
fn declared_first_values_and_exchanges_are_what_loads_see() {
    let src = handshake(
        "    r0 = xchg(x, 7);\n",
        "    r1 = READ_ONCE(x);\n",
        "exists (P0:r0=5 /\\ P2:r1=5)",
    )
    .replace("memory = tso; }", "memory = tso; int x = 5; }");
    assert_eq!(verdict(&src, Memory::Tso), Verdict::Observed);
    assert_eq!(
        verdict(&src.replace("P0:r0=5 /\\ P2:r1=5", "P2:r1=7"), Memory::Tso),
        Verdict::Observed
    );
    // The exchange always returns the first value: nothing else writes x.
    assert_eq!(
        verdict(&src.replace("P0:r0=5 /\\ P2:r1=5", "~P0:r0=5"), Memory::Tso),
        Verdict::Safe
    );
    // A register the reader has not loaded yet equals nothing, and ~exists claims.
    let (s, cfg) = load(&src.replace("exists (P0:r0=5 /\\ P2:r1=5)", "~exists (x=5)")).unwrap();
    let r = check(&cfg, CheckOptions::default()).unwrap();
    assert_eq!(r.verdict, Verdict::Safe);
    assert_eq!(s.exists.holds(r.verdict), Some(true));
}

#[test]
fn hazards_and_final_values_share_one_clause() {
    // none.litmus tears; naming a final value beside torn still finds the tear first.
    let src = builtin_source("none")
        .unwrap()
        .replacen(
            "    pmd_lock();\n",
            "    WRITE_ONCE(x, 1);\n    pmd_lock();\n",
            1,
        )
        .replace(
            "exists (torn \\/ stale)",
            "exists (torn \\/ x=2 \\/ ~(x=1))",
        );
    let (s, cfg) = load(&src).unwrap();
    assert_eq!(s.exists.text(), "exists (torn \\/ x=2 \\/ ~x=1)");
    let r = check(&cfg, CheckOptions::default()).unwrap();
    assert_eq!(r.verdict, Verdict::Torn);
    // Without the hazard the final values decide: x ends 1.
    let only = src.replace("torn \\/ ", "");
    assert_eq!(verdict(&only, Memory::Sc), Verdict::Safe);
    assert_eq!(
        verdict(&only.replace("x=2 \\/ ~(x=1)", "x=1"), Memory::Sc),
        Verdict::Observed
    );
}

#[test]
fn a_file_with_words_prints_and_parses_back_to_the_same_program() {
    let src = handshake(
        "    WRITE_ONCE(collapsing, 1);\n    smp_mb();\n    r0 = xchg(walking, 2);\n",
        "    xchg(walking, 1);\n    r1 = READ_ONCE(collapsing);\n",
        "exists (stale \\/ (P0:r0=0 \\/ P0:r0=2) /\\ ~P2:r1=1)",
    )
    .replace("memory = tso; }", "memory = tso; int walking = 3; }");
    let (s, cfg) = load(&src).unwrap();
    let printed = print(&s, &cfg);
    assert!(printed.contains("int walking = 3;"), "{printed}");
    assert!(
        printed.contains("    r0 = xchg(walking, 2);\n"),
        "{printed}"
    );
    assert!(printed.contains("    xchg(walking, 1);\n"), "{printed}");
    assert!(
        printed.contains("exists (stale \\/ (P0:r0=0 \\/ P0:r0=2) /\\ ~P2:r1=1)"),
        "{printed}"
    );
    let (s2, cfg2) = load(&printed).unwrap();
    assert_eq!(program_hash(&s), program_hash(&s2));
    // The same words, registers and steps (the condition's spans differ).
    let words = |c: &Config| {
        let mut w = program_for(c).unwrap().words.unwrap();
        w.cond = None;
        w
    };
    assert!(
        words(&cfg) == words(&cfg2),
        "the printed file compiles otherwise"
    );
    assert_eq!(s.exists.text(), s2.exists.text());
    // The first value is part of the program: a schedule of one does not replay the other.
    let (s3, _) = load(&src.replace("int walking = 3;", "int walking = 4;")).unwrap();
    assert_ne!(program_hash(&s), program_hash(&s3));
}

#[test]
fn random_runs_count_the_runs_that_end_as_the_clause_says_and_replay_them() {
    let (_, cfg) = load(builtin_source("handshake-no-mb").unwrap()).unwrap();
    let mut b = Batch::new(&cfg, SchedulerSpec::Random, 3).unwrap();
    let st = b.run(20_000);
    assert!(st.runs_observed > 0, "{st:?}");
    let first = st.first_observed.unwrap();
    let t = tornsim_core::replay_str_with(&first.schedule, cfg.scenario.as_ref()).unwrap();
    assert!(t.observed);
    let (_, cfg) = load(builtin_source("handshake-mb").unwrap()).unwrap();
    let st = Batch::new(&cfg, SchedulerSpec::Random, 3)
        .unwrap()
        .run(20_000);
    assert_eq!((st.runs_observed, st.first_observed), (0, None));
    // A scenario without a condition serialises its statistics as before.
    let (_, cfg) = load(builtin_source("merged").unwrap()).unwrap();
    let st = Batch::new(&cfg, SchedulerSpec::Random, 3).unwrap().run(100);
    let json = serde_json::to_string(&st).unwrap();
    assert!(!json.contains("observed"), "{json}");
}

#[test]
fn bad_shared_word_programs_get_clear_errors() {
    let base = builtin_source("handshake-no-mb").unwrap();
    let cases: &[(&str, &str, &str)] = &[
        (
            "WRITE_ONCE(collapsing, 1);",
            "WRITE_ONCE(collapsing);",
            "WRITE_ONCE() needs a value to store: write 'WRITE_ONCE(x, 1);'",
        ),
        (
            "r0 = READ_ONCE(walking);",
            "READ_ONCE(walking);",
            "READ_ONCE() needs a register to load into",
        ),
        (
            "r0 = READ_ONCE(walking);",
            "r0 = READ_ONCE(walking, 1);",
            "READ_ONCE() takes one argument",
        ),
        (
            "WRITE_ONCE(collapsing, 1);",
            "r9 = WRITE_ONCE(collapsing, 1);",
            "WRITE_ONCE() returns nothing",
        ),
        (
            "WRITE_ONCE(collapsing, 1);",
            "WRITE_ONCE();",
            "WRITE_ONCE() works on a shared word: write 'WRITE_ONCE(x, 1);'",
        ),
        (
            "WRITE_ONCE(collapsing, 1);",
            "xchg(collapsing);",
            "xchg() needs the value to exchange in",
        ),
        (
            "WRITE_ONCE(collapsing, 1);",
            "pmd_lock(collapsing);",
            "pmd_lock() takes no arguments",
        ),
        (
            "WRITE_ONCE(collapsing, 1);",
            "WRITE_ONC(collapsing, 1);",
            "did you mean 'WRITE_ONCE'?",
        ),
        (
            "WRITE_ONCE(collapsing, 1);",
            "WRITE_ONCE(collapsing, 99999999999);",
            "does not fit in 32 bits",
        ),
        (
            "WRITE_ONCE(collapsing, 1);",
            "WRITE_ONCE(collapsing, x);",
            "expected a value such as 1",
        ),
        (
            "WRITE_ONCE(collapsing, 1);",
            "WRITE_ONCE(1, 1);",
            "expected a shared word such as 'x'",
        ),
        (
            "exists (P0:r0=0 /\\ P2:r1=0)",
            "exists (P0:r0=0 /\\ nobody=1)",
            "no CPU writes the shared word 'nobody'",
        ),
        (
            "exists (P0:r0=0 /\\ P2:r1=0)",
            "exists (P0:r0=0 /\\ walking=0 /\\ P2:r7=0)",
            "P2 loads nothing into 'r7'",
        ),
        (
            "exists (P0:r0=0 /\\ P2:r1=0)",
            "exists (P5:r0=0)",
            "there is no CPU5",
        ),
        (
            "exists (P0:r0=0 /\\ P2:r1=0)",
            "exists (torn /\\ P2:r1=0)",
            "torn is a hazard, not a final value",
        ),
        (
            "exists (P0:r0=0 /\\ P2:r1=0)",
            "exists (~stale)",
            "negate the whole clause instead",
        ),
        (
            "exists (P0:r0=0 /\\ P2:r1=0)",
            "exists (P0:r0=0 /\\ (P2:r1=0)",
            "expected ')'",
        ),
        (
            "exists (P0:r0=0 /\\ P2:r1=0)",
            "exists (P0:r0)",
            "expected '='",
        ),
        (
            "memory = tso; }",
            "memory = tso; int x = 1; int x = 2; }",
            "'x' is declared twice",
        ),
        (
            "memory = tso; }",
            "memory = tso; int 5 = 2; }",
            "expected a shared word's name after 'int'",
        ),
    ];
    for (from, to, want) in cases {
        assert!(base.contains(from), "{from}");
        let e = err(&base.replacen(from, to, 1));
        assert!(e.contains(want), "{to}: {e}");
        assert!(e.starts_with("t.litmus:"), "{e}");
    }
    // Too many distinct stores for the store buffer's codes.
    let many: String = (0..11)
        .map(|v| format!("    WRITE_ONCE(x, {v});\n"))
        .collect();
    let e = err(&handshake(
        &many,
        "    r1 = READ_ONCE(x);\n",
        "exists (P2:r1=3)",
    ));
    assert!(e.contains("more than 10 distinct plain stores"), "{e}");
    let many: String = (0..16).map(|v| format!("    xchg(x, {v});\n")).collect();
    let e = err(&handshake(
        &many,
        "    r1 = READ_ONCE(x);\n",
        "exists (P2:r1=3)",
    ));
    assert!(e.contains("more than 15 distinct values"), "{e}");
}

#[test]
fn a_state_too_large_to_pack_is_an_error_that_names_the_words() {
    let (_, cfg) = load(builtin_source("handshake-no-mb").unwrap()).unwrap();
    let cfg = Config { readers: 8, ..cfg };
    let e = check(&cfg, CheckOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("packs a state in 128 bits"), "{e}");
    assert!(e.contains("shared words and registers"), "{e}");
}

#[test]
fn buffered_stores_drain_in_order_message_passing_holds() {
    // MP: plain stores wait in one FIFO buffer together; loads stay in order. Three of
    // them, so that the buffer holds a code past the first three bits of an entry.
    let src = handshake(
        "    WRITE_ONCE(other, 1);\n    WRITE_ONCE(data, 1);\n    WRITE_ONCE(flag, 1);\n",
        "    r1 = READ_ONCE(flag);\n    r2 = READ_ONCE(data);\n",
        "exists (P2:r1=1 /\\ P2:r2=0)",
    );
    for m in [Memory::Sc, Memory::Tso] {
        assert_eq!(verdict(&src, m), Verdict::Safe, "{m}");
        let both = src.replace("P2:r2=0", "P2:r2=1");
        assert_eq!(verdict(&both, m), Verdict::Observed, "{m}");
    }
    // All three sit in khugepaged's buffer at once on the way there.
    let (_, cfg) = load(&src.replace("P2:r2=0", "P2:r2=1")).unwrap();
    let t = replay(
        &check(&cfg, CheckOptions::default())
            .unwrap()
            .witness
            .unwrap(),
    )
    .unwrap();
    assert!(t.finished && t.observed);
    let two = t
        .steps
        .iter()
        .any(|s| s.after.buffers[0] == ["other = 1", "data = 1", "flag = 1"]);
    assert!(two, "{}", t.to_table());
}

#[test]
fn a_trace_names_each_register_by_its_cpu_and_block() {
    // Registers are numbered in their block by first use: r1 is the reader's second,
    // r2 its third, set by an exchange on CPU2.
    let src = handshake(
        "    WRITE_ONCE(x, 1);\n",
        "    r0 = READ_ONCE(x);\n    r1 = READ_ONCE(x);\n    r2 = xchg(x, 2);\n",
        "exists (P2:r1=1 /\\ P2:r2=1)",
    );
    let (_, cfg) = load(&src).unwrap();
    let r = check(&cfg, CheckOptions::default()).unwrap();
    assert_eq!(r.verdict, Verdict::Observed);
    let t = replay(&r.witness.unwrap()).unwrap();
    let xchg = t
        .steps
        .iter()
        .find(|s| matches!(s.action, Action::WordXchg { .. }))
        .unwrap();
    assert_eq!(xchg.cpu, 2);
    assert!(
        matches!(
            xchg.action,
            Action::WordXchg {
                cpu: 2,
                reg: 2,
                old: 1,
                value: 2,
                ..
            }
        ),
        "{:?}",
        xchg.action
    );
    assert_eq!(xchg.text, "r2 = xchg(x, 2): 1 (the old value; locked)");
    let second = t
        .steps
        .iter()
        .filter(|s| matches!(s.action, Action::WordLoad { .. }))
        .nth(1)
        .unwrap();
    assert!(
        matches!(
            second.action,
            Action::WordLoad {
                cpu: 2,
                reg: 1,
                value: 1,
                ..
            }
        ),
        "{:?}",
        second.action
    );
    assert_eq!(second.text, "r1 = READ_ONCE(x): 1 (loaded)");
}
