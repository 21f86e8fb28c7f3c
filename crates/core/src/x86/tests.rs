use super::*;
use crate::knob::Memory;

const SB: &str = "X86 SB\n{ x=0; y=0; }\n P0          | P1          ;\n MOV [x],$1  | MOV [y],$1  ;\n MOV EAX,[y] | MOV EAX,[x] ;\nexists (0:EAX=0 /\\ 1:EAX=0)\n";

fn error(src: &str) -> String {
    parse(src).unwrap_err().render(src, "t.litmus")
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

#[test]
fn locked_instructions_act_on_memory_at_once() {
    let src = "X86 xadd\n{ x=5; 0:EBX=2; 1:EBX=3; }\n P0 | P1 ;\n LOCK XADD [x],EBX | LOCK XADD [x],EBX ;\nforall (x=10 /\\ (0:EBX=5 \\/ 0:EBX=8) /\\ ~(0:EBX=1))\n";
    let o = parse(src).unwrap().check(Memory::Tso).unwrap();
    assert_eq!(
        (o.observation, o.ok),
        (Observation::Always, true),
        "{}",
        o.herd_text()
    );
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
    let read_only = "X86 ro\n{ x=0; }\n P0 ;\n MOV EAX,[x] ;\nexists (x=1)\n";
    assert!(
        error(read_only).contains("no CPU writes 'x'"),
        "{}",
        error(read_only)
    );
    let reg_unwritten = SB.replace("exists (0:EAX=0", "exists (0:ECX=0");
    assert!(error(&reg_unwritten).contains("P0 never writes ECX"));
    let unlocked = SB.replace("MOV EAX,[y] |", "INC [y]     |");
    assert!(
        error(&unlocked).contains("INC without LOCK"),
        "{}",
        error(&unlocked)
    );
    let cols = SB.replace("MOV EAX,[y] | MOV EAX,[x] ;", "MOV EAX,[y] ;");
    assert!(error(&cols).contains("1 columns in this row, but the header has 2"));
    let deep = format!(
        "X86 SB\n{{ x=0; }}\n P0 ;\n MOV [x],$1 ;\nexists {}x=1{}\n",
        "(~".repeat(500),
        ")".repeat(500)
    );
    assert!(error(&deep).contains("deeper than 64 levels"));
    for (bad, want) in [
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
    ] {
        let e = error(bad);
        assert!(e.contains(want), "{bad:?}: {e}");
    }
}

#[test]
fn only_x86_files_are_taken_for_litmus_tests() {
    assert!(is_x86(SB));
    assert!(is_x86("  x86 foo"));
    assert!(!is_x86("tornsim merged\n"));
    assert!(!is_x86(""));
}
