use super::*;
use crate::knob::Memory;

const SB: &str = "X86 SB\n{ x=0; y=0; }\n P0          | P1          ;\n MOV [x],$1  | MOV [y],$1  ;\n MOV EAX,[y] | MOV EAX,[x] ;\nexists (0:EAX=0 /\\ 1:EAX=0)\n";

fn error(src: &str) -> String {
    parse(src).unwrap_err().render(src, "t.litmus")
}

/// Each file is refused with an error that says what is paired with it.
fn assert_errors(cases: &[(&str, &str)]) {
    for (bad, want) in cases {
        let e = error(bad);
        assert!(e.contains(want), "{bad:?}: {e}");
    }
}

#[test]
fn store_buffering_is_observable_under_tso_only() {
    let t = parse(SB).unwrap();
    let tso = t.check(Memory::Tso).unwrap();
    assert_eq!(
        (tso.observation, tso.positive, tso.negative, tso.ok),
        (Observation::Sometimes, 1, 3, true)
    );
    let sc = t.check(Memory::Sc).unwrap();
    assert_eq!(
        (sc.observation, sc.positive, sc.negative, sc.ok),
        (Observation::Never, 0, 3, false)
    );
    // Six interleavings of two stores and two loads per side... counted exactly: under
    // SC, 4!/(2!2!) = 6 orders of the four instructions.
    assert_eq!(sc.states.iter().map(|f| f.count).sum::<u64>(), 6);
    let text = tso.herd_text();
    assert!(text.starts_with("Test SB Allowed\nStates 4\n"), "{text}");
    assert!(text.contains("*>0:EAX=0; 1:EAX=0;\n"), "{text}");
    assert!(text.contains("\nOk\n"), "{text}");
    assert!(text.ends_with("Observation SB Sometimes 1 3\n"), "{text}");
    assert!(sc.herd_text().contains("\nNo\n"));
}

#[test]
fn a_load_reads_its_own_buffered_store_first() {
    let src = "X86 fwd\n{ x=0; }\n P0 | P1 ;\n MOV [x],$1 | MOV [x],$2 ;\n MOV EAX,[x] | ;\nexists (0:EAX=2 /\\ x=1)\n";
    // P0 reads 2 only if its own 1 is not in its buffer: impossible, since the 1 drains
    // before... rather: reading 2 needs P0's store drained before P1's, then x=2.
    let o = parse(src).unwrap().check(Memory::Tso).unwrap();
    assert_eq!(o.observation, Observation::Never, "{}", o.herd_text());
    let seen: Vec<&str> = o.states.iter().map(|f| f.state.as_str()).collect();
    assert!(seen.contains(&"0:EAX=1; x=1;"), "{seen:?}");
    assert!(
        seen.contains(&"0:EAX=1; x=2;"),
        "forwarding while P1's store lands later or earlier: {seen:?}"
    );
}

/// The test's (X86 or C) `forall` holds in every final state under TSO; its outcome.
fn assert_always(src: &str) -> Outcome {
    let t = parse_litmus(src).unwrap_or_else(|e| panic!("{}", e.render(src, "t.litmus")));
    let o = t.check(Memory::Tso).unwrap();
    assert_eq!(
        (o.observation, o.ok),
        (Observation::Always, true),
        "{}",
        o.herd_text()
    );
    o
}

#[test]
fn locked_instructions_act_on_memory_at_once() {
    let src = "X86 xadd\n{ x=5; 0:EBX=2; 1:EBX=3; }\n P0 | P1 ;\n LOCK XADD [x],EBX | LOCK XADD [x],EBX ;\nforall (x=10 /\\ (0:EBX=5 \\/ 0:EBX=8) /\\ ~(0:EBX=1))\n";
    assert_always(src);
    let src = "X86 xchg\n{ x=1; 0:EAX=7; }\n P0 ;\n XCHG EAX,[x] ;\nforall (0:EAX=1 /\\ x=7)\n";
    let o = parse(src).unwrap().check(Memory::Tso).unwrap();
    assert_eq!(o.observation, Observation::Always);
}

#[test]
fn comments_metadata_locations_and_hex_are_read() {
    let src = "X86 meta\n\"a comment\"\nCycle=Fre PodWR\n(* a block comment *)\n{ int x=0; uint32_t y=0x10; }\n P0 ;\n MOV EAX,[y] ;\n MOV [x],EAX ;\nlocations [y;]\nexists (x=16)\n";
    let t = parse(src).unwrap();
    assert_eq!(t.doc, "a comment");
    let o = t.check(Memory::Sc).unwrap();
    assert_eq!(o.states[0].state, "x=16; y=16;");
    assert_eq!(o.observation, Observation::Always);
}

#[test]
fn bad_input_gets_a_line_and_a_caret() {
    let unknown = SB.replace("MOV EAX,[y] |", "CLFLUSH [y] |");
    let e = error(&unknown);
    assert!(
        e.starts_with("t.litmus:5:2: unknown instruction 'CLFLUSH'"),
        "{e}"
    );
    assert!(
        e.contains("5 |  CLFLUSH [y]") && e.contains("^^^^^^^"),
        "{e}"
    );
    let fence = SB.replace("MOV EAX,[y] |", "DMB         |");
    assert!(
        error(&fence).contains("unknown fence 'DMB'"),
        "{}",
        error(&fence)
    );
    let unset = SB.replace("MOV EAX,[y] |", "MOV [x],EBX |");
    let e = error(&unset);
    assert!(e.contains("5:2: P0 reads EBX before it sets it"), "{e}");
    let unwritten = SB.replace("exists (0:EAX=0", "exists (z=1 /\\ 0:EAX=0");
    assert!(error(&unwritten).contains("'z' is no location of this test"));
    for (from, to, want) in [
        ("MOV EAX,[y] |", "XADD [y],EAX |", "XADD without LOCK"),
        (
            "MOV EAX,[y] |",
            "LOCK INC EAX |",
            "LOCK takes a memory destination",
        ),
        ("X86 SB", "X86 SB junk", "1:8: after 'X86 NAME'"),
        ("exists (0:EAX=0", "exists (0:EAX", "expected LOC=VALUE"),
    ] {
        let e = error(&SB.replace(from, to));
        assert!(e.contains(want), "{to}: {e}");
    }
    let cols = SB.replace("MOV EAX,[y] | MOV EAX,[x] ;", "MOV EAX,[y] ;");
    assert!(error(&cols).contains("1 columns in this row, but the header has 2"));
    let deep = format!(
        "X86 SB\n{{ x=0; }}\n P0 ;\n MOV [x],$1 ;\nexists {}x=1{}\n",
        "(~".repeat(500),
        ")".repeat(500)
    );
    assert!(error(&deep).contains("deeper than 64 levels"));
    assert_errors(&[
        ("X86\n", "no name"),
        ("ARM SB\n", "starts with 'X86 NAME'"),
        ("X86 SB\n{ x=0;\n", "never closed"),
        (
            "X86 SB\n{ x=0; }\n P0 ;\n MOV [x],$1 ;\n",
            "expected the final condition",
        ),
        (
            "X86 SB\n{ x=0; }\n P0 ;\n MOV [x],$1 ;\nexists (x=1\n",
            "never closed",
        ),
        (
            "X86 SB\n{ x=0; }\n P1 ;\n MOV [x],$1 ;\nexists (x=1)\n",
            "header P0",
        ),
        (
            "X86 SB\n{ x=0; }\n P0 ;\n MOV [x],[x] ;\nexists (x=1)\n",
            "memory-to-memory",
        ),
        (
            "X86 SB\n{ x=0; }\n P0 ;\n MOV [x],$q ;\nexists (x=1)\n",
            "a number after '$'",
        ),
        (
            "X86 SB\n{ x=0; }\n P0 ;\n MOV [x],$1\nexists (x=1)\n",
            "ends with ';'",
        ),
        (
            "X86 SB\n{ x=0; }\n P0 ;\n MOV [x],$1 ;\nexists (x=1) junk\n",
            "after the condition",
        ),
        (
            "X86 SB\n{ x=0; }\n P0 ;\n MOV [x],$1 ;\nexists (5:EAX=1)\n",
            "there is no P5",
        ),
    ]);
}

#[test]
fn only_x86_files_are_taken_for_litmus_tests() {
    assert!(is_x86(SB));
    assert!(is_x86("  x86 foo"));
    assert!(!is_x86("tornsim merged\n"));
    assert!(!is_x86(""));
}

/// herd7's spellings: a header with an alias and a comment, `};`, `P0:EAX`, blanks
/// around `=`, `==` and `!=`, an immediate without `$`, `~ exists` and `not exists`,
/// `final`, and a `;` after the condition. Each reads as the canonical SB does.
#[test]
fn herd7s_other_spellings_read_as_the_canonical_test() {
    let canonical = parse(SB).unwrap().check(Memory::Tso).unwrap();
    for variant in [
        "X86 SB (sb-alias) \"store buffering\"\n{ x=0; y=0; P0:EAX = 0; };\n P0          | P1          ;\n MOV [x],1   | MOV [y],1   ;\n MOV EAX,[y] | MOV EAX,[x] ;\nexists (P0:EAX = 0 /\\ 1:EAX == 0);\n",
        "X86 SB\n{ x=0; y=0; }\n P0          | P1          ;\n MOV [x],$1  | MOV [y],$1  ;\n MOV EAX,[y] | MOV EAX,[x] ;\nfinal (0:EAX=0 /\\ 1:EAX=0)\n",
        "X86 SB\n{ x=0; y=0; }\n P0          | P1          ;\n MOV [x],$1  | MOV [y],$1  ;\n MOV EAX,[y] | MOV EAX,[x] ;\n(0:EAX=0 /\\ not (1:EAX != 0))\n",
    ] {
        let t = parse(variant).unwrap_or_else(|e| panic!("{}", e.render(variant, "v")));
        assert_eq!(t.name, "SB");
        let o = t.check(Memory::Tso).unwrap();
        assert_eq!(
            (o.observation, o.positive, o.negative, o.ok, o.states.len()),
            (
                canonical.observation,
                canonical.positive,
                canonical.negative,
                canonical.ok,
                canonical.states.len()
            ),
            "{variant}"
        );
    }
    let t =
        parse("X86 amd3 (alias) \"a comment\"\n{ x=0; }\n P0 ;\n MOV [x],1 ;\n~ exists (x=0)\n")
            .unwrap();
    assert_eq!((t.name.as_str(), t.doc.as_str()), ("amd3", "a comment"));
    let o = t.check(Memory::Tso).unwrap();
    assert_eq!((o.quant, o.ok), (Quant::NotExists, true));
    assert!(o.herd_text().starts_with("Test amd3 Forbidden\n"));
    let t = parse("X86 n\n{ x=0; }\n P0 ;\n MOV [x],1 ;\nnot exists (x=0)\n").unwrap();
    assert_eq!(t.quant, Quant::NotExists);
}

/// `INC`, `DEC` and `ADD` without `LOCK` are a load and a store: two CPUs incrementing
/// at once can both load 0 and store 1, under SC as under TSO (herd7's X86 semantics);
/// with `LOCK` they cannot. `LOCK OR`, `XOR`, `AND` act on memory at once too.
#[test]
fn unlocked_read_modify_writes_can_lose_an_update() {
    let unlocked =
        "X86 INC\n{ x=0; }\n P0      | P1      ;\n INC [x] | ADD [x],1 ;\nexists (x=1)\n";
    for memory in [Memory::Sc, Memory::Tso] {
        let o = parse(unlocked).unwrap().check(memory).unwrap();
        assert_eq!(o.observation, Observation::Sometimes, "{}", o.herd_text());
        let states: Vec<&str> = o.states.iter().map(|f| f.state.as_str()).collect();
        assert_eq!(states, ["x=1;", "x=2;"]);
    }
    let locked = unlocked.replace("INC [x] | ADD", "LOCK INC [x] | LOCK ADD");
    let o = parse(&locked).unwrap().check(Memory::Tso).unwrap();
    assert_eq!(o.observation, Observation::Never, "{}", o.herd_text());
    // DEC then INC of a shared count, unlocked: a lost update leaves -1 or 1.
    let dec =
        "X86 DEC\n{ x=0; }\n P0      | P1      ;\n DEC [x] | INC [x] ;\nexists (x=-1 \\/ x=1)\n";
    let o = parse(dec).unwrap().check(Memory::Sc).unwrap();
    assert_eq!(
        (o.observation, o.positive, o.negative),
        (Observation::Sometimes, 2, 1)
    );
    let bits = "X86 OR\n{ x=12; }\n P0            | P1             | P2 ;\n LOCK OR [x],1 | LOCK XOR [x],2 | LOCK AND [x],7 ;\nexists (x=7)\n";
    // Each locked operation is one atomic step, so the final values are exactly those
    // of the six orders of the three, computed here one by one.
    let mut finals = std::collections::BTreeSet::new();
    for order in [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ] {
        let mut x = 12i64;
        for op in order {
            x = match op {
                0 => x | 1,
                1 => x ^ 2,
                _ => x & 7,
            };
        }
        finals.insert(format!("x={x};"));
    }
    let o = parse(bits).unwrap().check(Memory::Tso).unwrap();
    let got: std::collections::BTreeSet<String> =
        o.states.iter().map(|f| f.state.clone()).collect();
    assert_eq!(got, finals);
}

/// Register arithmetic: `XOR r,r` (which reads nothing), `ADD`, `OR`, `AND` with
/// immediates and registers, and `ADD r,[x]` (a load).
#[test]
fn register_arithmetic_and_a_load_into_an_add() {
    let src = "X86 alu\n{ x=40; }\n P0 ;\n XOR EAX,EAX ;\n ADD EAX,$6 ;\n MOV EBX,EAX ;\n OR EAX,1 ;\n AND EAX,EBX ;\n ADD EBX,[x] ;\n DEC EBX ;\nforall (0:EAX=6 /\\ 0:EBX=45)\n";
    assert_always(src);
}

/// `=>` binds tighter than `/\` and `\/` and looser than `~`, to the right (herd7's
/// precedence); a condition may name a location no thread writes; `filter` drops the
/// final states it does not hold in.
#[test]
fn implication_unwritten_locations_and_filter() {
    let t = |cond: &str| {
        let src = format!("X86 t\n{{ x=0; z=5; }}\n P0 ;\n MOV [x],$1 ;\n{cond}\n");
        parse(&src)
            .unwrap_or_else(|e| panic!("{}", e.render(&src, "t")))
            .check(Memory::Sc)
            .unwrap()
            .observation
    };
    // x=1 always, z=5 always.
    assert_eq!(t("forall (x=1 => z=5)"), Observation::Always);
    assert_eq!(t("exists (x=1 => z=4)"), Observation::Never);
    assert_eq!(t("exists (x=0 => z=4)"), Observation::Always);
    // `x=2 /\ x=0 => z=4` is `x=2 /\ (x=0 => z=4)`: false (were it `(x=2 /\ x=0) => z=4`,
    // true).
    assert_eq!(t("exists (x=2 /\\ x=0 => z=4)"), Observation::Never);
    // `x=1 => x=0 => z=4` is `x=1 => (x=0 => z=4)`: true (left-nested, false).
    assert_eq!(t("exists (x=1 => x=0 => z=4)"), Observation::Always);
    assert_eq!(t("exists (~x=1 => z=4)"), Observation::Always);
    assert_eq!(t("exists (z=5)"), Observation::Always);
    let sb = SB.replace(
        "exists (0:EAX=0 /\\ 1:EAX=0)",
        "filter (0:EAX=0)\nexists (1:EAX=0)",
    );
    let o = parse(&sb).unwrap().check(Memory::Tso).unwrap();
    let states: Vec<&str> = o.states.iter().map(|f| f.state.as_str()).collect();
    assert_eq!(states, ["1:EAX=0;", "1:EAX=1;"], "{}", o.herd_text());
    assert_eq!(o.observation, Observation::Sometimes);
}

/// `CMP`, `JE`, `JNE`, `JMP` and labels: MP with a spin loop is still forbidden on x86
/// (the reader leaves the loop only once it has seen the flag, and then sees the data),
/// a bounded counting loop ends, a forward jump skips, and a loop that can never exit
/// is an error, not a hang.
#[test]
fn jumps_labels_and_loops() {
    let mp = "X86 MP+loop\n{ x=0; y=0; }\n P0         | P1          ;\n MOV [x],$1 | L0:         ;\n MOV [y],$1 | MOV EAX,[y] ;\n            | CMP EAX,$1  ;\n            | JNE L0      ;\n            | MOV EBX,[x] ;\nexists (1:EBX=0)\n";
    for memory in [Memory::Tso, Memory::Sc] {
        let o = parse(mp).unwrap().check(memory).unwrap();
        let states: Vec<&str> = o.states.iter().map(|f| f.state.as_str()).collect();
        assert_eq!(
            (o.observation, states),
            (Observation::Never, vec!["1:EBX=1;"])
        );
    }
    // Without the fence-free order (the data written after the flag) the stale read is
    // seen: the loop is no barrier.
    let late = mp
        .replace("MOV [x],$1 | L0:", "MOV [y],$1 | L0:")
        .replace("MOV [y],$1 | MOV EAX", "MOV [x],$1 | MOV EAX");
    let o = parse(&late).unwrap().check(Memory::Sc).unwrap();
    assert_eq!(o.observation, Observation::Sometimes, "{}", o.herd_text());
    assert_always("X86 count\n{ }\n P0 ;\n MOV EAX,$0 ;\n L1: INC EAX ;\n CMP EAX,$5 ;\n JNE L1 ;\n CMP EAX,$5 ;\n JE end ;\n MOV EAX,$99 ;\n end: ;\nforall (0:EAX=5)\n");
    assert_always("X86 skip\n{ x=0; }\n P0 ;\n JMP L ;\n MOV [x],$1 ;\n L: MOV EBX,$2 ;\nforall (x=0 /\\ 0:EBX=2)\n");
    let stuck = "X86 stuck\n{ y=0; }\n P0          ;\n L0: MOV EAX,[y] ;\n CMP EAX,$1 ;\n JNE L0 ;\nexists (0:EAX=1)\n";
    let e = parse(stuck).unwrap().check(Memory::Tso).unwrap_err();
    assert_eq!(e, CheckFail::NeverEnds);
    assert!(e.to_string().contains("a loop never exits"));
    assert_errors(&[
        (
            "X86 t\n{ }\n P0 ;\n JMP nowhere ;\nexists (0:EAX=0)\n",
            "4:6: P0 has no label 'nowhere'",
        ),
        (
            "X86 t\n{ }\n P0 ;\n L: MOV EAX,$1 ;\n L: MOV EAX,$2 ;\nexists (0:EAX=0)\n",
            "two labels 'L'",
        ),
        (
            "X86 t\n{ }\n P0 ;\n JE $1 ;\nexists (0:EAX=0)\n",
            "JE takes a label",
        ),
    ]);
}

/// `[ESI]` with `0:ESI=x`: the register holds x's address, a final state shows it by
/// name, and a condition can name it; the register must hold an address from the start
/// and keep it.
#[test]
fn register_indirect_addresses() {
    let src = "X86 ind\n{ x=0; 0:ESI=x; 1:EDI=x; }\n P0          | P1           ;\n MOV [ESI],$1 | MOV EAX,[EDI] ;\n             | CMP [EDI],$1  ;\nlocations [0:ESI;]\nexists (1:EAX=1 /\\ 0:ESI=x)\n";
    let o = parse(src).unwrap().check(Memory::Tso).unwrap();
    let states: Vec<&str> = o.states.iter().map(|f| f.state.as_str()).collect();
    assert_eq!(states, ["0:ESI=x; 1:EAX=0;", "0:ESI=x; 1:EAX=1;"]);
    assert_eq!(o.observation, Observation::Sometimes);
    for bad in [
        "X86 t\n{ x=0; }\n P0 ;\n MOV [ESI],$1 ;\nexists (x=1)\n",
        "X86 t\n{ x=0; 0:ESI=x; }\n P0 ;\n MOV ESI,$0 ;\n MOV [ESI],$1 ;\nexists (x=1)\n",
        // One past the last location's address.
        "X86 t\n{ x=0; 0:ESI=281474976710657; }\n P0 ;\n MOV [ESI],$1 ;\nexists (x=1)\n",
    ] {
        assert!(
            error(bad).contains("[ESI] needs ESI to hold a location's address"),
            "{}",
            error(bad)
        );
    }
    let e = error("X86 t\n{ x=0; 0:ESI=x; }\n P0 ;\n LOCK INC [ESI] ;\nexists (x=1)\n");
    assert!(e.contains("taken by MOV and CMP only"), "{e}");
}

/// `final … with tso: exists; sc: ~exists;`: each model's expected answer; herd7's
/// "Allowed"/"Forbidden" and Ok/No follow the model the check runs under.
#[test]
fn a_with_clause_names_each_models_expectation() {
    let src = SB.replace(
        "exists (0:EAX=0 /\\ 1:EAX=0)",
        "final (0:EAX=0 /\\ 1:EAX=0);\nwith tso: exists; sc: ~ exists;",
    );
    let t = parse(&src).unwrap_or_else(|e| panic!("{}", e.render(&src, "t")));
    let tso = t.check(Memory::Tso).unwrap();
    assert_eq!((tso.quant, tso.ok), (Quant::Exists, true));
    let sc = t.check(Memory::Sc).unwrap();
    assert_eq!((sc.quant, sc.ok), (Quant::NotExists, true));
    assert!(
        sc.herd_text().starts_with("Test SB Forbidden\n"),
        "{}",
        sc.herd_text()
    );
    let bad = SB.replace(
        "exists (0:EAX=0 /\\ 1:EAX=0)",
        "exists (0:EAX=0) with tso: sometimes",
    );
    assert!(
        error(&bad).contains("expected exists, ~exists or forall for 'tso'"),
        "{}",
        error(&bad)
    );
}

/// The C reader's lowering, value by value: what each returning primitive gives, `if`
/// with `==`, `!=`, a bare local and `!`, `else`, and the `_relaxed`/`_acquire` forms.
#[test]
fn c_primitives_return_what_the_kernel_says() {
    let src = "C values\n{ x=5; y=7; z=0; }\nP0(int *x, int *y, atomic_t *z)\n{\n\tint a, b, c, d, e, f;\n\ta = xchg_relaxed(x, 9);\n\tb = cmpxchg(y, 1, 2);\n\tc = cmpxchg_acquire(y, 7, 3);\n\td = atomic_inc_return(z);\n\te = atomic_fetch_sub(3, z);\n\tatomic_sub(1, z);\n\tf = atomic_add_return_relaxed(10, z);\n\tif (a != 5) {\n\t\tWRITE_ONCE(*x, 100);\n\t} else if (!b) {\n\t\tWRITE_ONCE(*x, 200);\n\t} else\n\t\tWRITE_ONCE(*x, 300);\n}\nforall (0:a=5 /\\ 0:b=7 /\\ 0:c=7 /\\ y=3 /\\ 0:d=1 /\\ 0:e=1 /\\ 0:f=7 /\\ z=7 /\\ x=300)\n";
    let o = assert_always(src);
    assert!(o.herd_text().contains("0:a=5;"), "{}", o.herd_text());
}

/// A C test's mistakes are errors at their line and column, never a panic.
#[test]
fn c_mistakes_are_located() {
    let body = |b: &str| format!("C t\n{{}}\nP0(int *x)\n{{\n\tint r0;\n{b}\n}}\nexists (x=1)\n");
    for (b, want) in [
        (
            "\tr0 = READ_ONCE(*q);",
            "6:18: 'q' is not a parameter of this thread",
        ),
        ("\tcall_rcu(x);", "6:2: call_rcu() is not modelled"),
        ("\tr0 = smp_mb();", "returns nothing to assign"),
        (
            "\tREAD_ONCE(*x);",
            "returns a value: write r = READ_ONCE(…)",
        ),
        ("\tWRITE_ONCE(*x);", "WRITE_ONCE() takes 2 arguments"),
        (
            "\tatomic_sub(r0, x);",
            "subtracts a number here, not a local",
        ),
        (
            "\t(void)atomic_add_unless(x, 1, 0);",
            "6:8: atomic_add_unless() is not modelled",
        ),
        (
            "\tif (q) WRITE_ONCE(*x, 1);",
            "an if tests a local: 'q' is none",
        ),
        ("\tint a, b, c, d, e, f, g;", "at most 6 locals"),
        ("\tWRITE_ONCE(*x, 1)", "expected ';'"),
    ] {
        let src = body(b);
        let e = parse_litmus(&src).unwrap_err().render(&src, "t.litmus");
        assert!(e.contains(want), "{b}: {e}");
    }
    let e = parse_litmus("C t\n{}\nP1(int *x) { }\nexists (x=1)\n").unwrap_err();
    assert!(
        e.message.contains("expected the thread P0"),
        "{}",
        e.message
    );
    let e = parse_litmus("C t\n{}\nP0(int *x) { WRITE_ONCE(*x, 1);\nexists (x=1)\n").unwrap_err();
    assert!(e.message.contains("never closed"), "{}", e.message);
    assert!(is_litmus("C SB\n") && is_litmus("X86 SB\n") && !is_litmus("tornsim x\n"));
}

/// A grace period that can never end is an error that says why: here the reader never
/// leaves its critical section.
#[test]
fn a_grace_period_that_never_ends_is_refused() {
    let src = "C stuck\n{}\nP0(int *x)\n{\n\trcu_read_lock();\n\tWRITE_ONCE(*x, 1);\n}\nP1(int *x)\n{\n\tsynchronize_rcu();\n}\nexists (x=1)\n";
    let e = parse_litmus(src).unwrap().check(Memory::Tso).unwrap_err();
    assert_eq!(e, CheckFail::GraceNeverEnds);
    assert!(e.to_string().contains("rcu_read_unlock() missing"), "{e}");
    let fixed = src.replace(
        "WRITE_ONCE(*x, 1);\n",
        "WRITE_ONCE(*x, 1);\n\trcu_read_unlock();\n",
    );
    assert_eq!(
        parse_litmus(&fixed)
            .unwrap()
            .check(Memory::Tso)
            .unwrap()
            .observation,
        Observation::Always
    );
}

/// A pointer local: dereferenced where it holds a location's address, an error naming
/// it where it does not; and not taken by locked primitives.
#[test]
fn c_pointer_locals() {
    let src = "C ptr\n{ p=0; }\nP0(int **p, int *x)\n{\n\tint *r0;\n\tint r1;\n\tr0 = READ_ONCE(*p);\n\tr1 = READ_ONCE(*r0);\n}\nP1(int **p, int *x)\n{\n\tWRITE_ONCE(*p, &x);\n}\nexists (0:r1=0)\n";
    let e = parse_litmus(src).unwrap().check(Memory::Tso).unwrap_err();
    assert!(
        e.to_string()
            .contains("P0 dereferences r0, which holds 0, not a location's address"),
        "{e}"
    );
    let safe = src.replace("{ p=0; }", "{ p=x; }");
    let o = parse_litmus(&safe).unwrap().check(Memory::Tso).unwrap();
    assert_eq!(o.observation, Observation::Always, "{}", o.herd_text());
    let locked = src.replace("\tr1 = READ_ONCE(*r0);", "\tatomic_inc(*r0);");
    let e = parse_litmus(&locked).unwrap_err();
    assert!(
        e.message
            .contains("a locked primitive here takes a parameter's location"),
        "{}",
        e.message
    );
}

/// The kernel's initial-state spellings: a declaration alone starts at 0, `ATOMIC_INIT(n)`
/// is n, and `int *p = &x` holds x's address.
#[test]
fn c_initial_state_spellings() {
    let src = "C init\n{\n\tint flag;\n\tatomic_t v = ATOMIC_INIT(3);\n\tint *p = &flag;\n}\nP0(int *flag, atomic_t *v, int **p)\n{\n\tint *r0;\n\tint r1;\n\tint r2;\n\tr0 = READ_ONCE(*p);\n\tr1 = READ_ONCE(*r0);\n\tr2 = atomic_read(v);\n}\nforall (0:r0=flag /\\ 0:r1=0 /\\ 0:r2=3)\n";
    assert_always(src);
}

/// `spin_is_locked()` reads the lock word: 1 while held, 0 once released; the
/// `smp_mb__after_*` barriers are nothing on x86 and are taken.
#[test]
fn spin_is_locked_reads_the_lock_word() {
    let src = "C held\n{}\nP0(spinlock_t *l)\n{\n\tint r0;\n\tint r1;\n\tspin_lock(l);\n\tsmp_mb__after_spinlock();\n\tr0 = spin_is_locked(l);\n\tspin_unlock(l);\n\tsmp_mb__after_unlock_lock();\n\tr1 = spin_is_locked(l);\n}\nforall (0:r0=1 /\\ 0:r1=0)\n";
    assert_always(src);
}
