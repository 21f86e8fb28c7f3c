//! The classic x86 litmus tests in `tests/litmus/x86/`, written in herd7's format, give
//! herd7's observations under x86-TSO (`x86tso.cat`), and `Never` for every relaxed
//! outcome under SC.

use tornsim_core::config::Memory;
use tornsim_core::x86::{parse, Observation};

/// herd7's answers: (test, under tso, under sc).
const EXPECTED: &[(&str, Observation, Observation)] = {
    use Observation::*;
    &[
        ("SB", Sometimes, Never),
        ("SB+mfences", Never, Never),
        ("SB+xchgs", Never, Never),
        ("R", Sometimes, Never),
        ("R+mfences", Never, Never),
        ("n6", Sometimes, Never),
        ("n6+mfences", Never, Never),
        ("MP", Never, Never),
        ("MP+mfences", Never, Never),
        ("LB", Never, Never),
        ("LB+mfences", Never, Never),
        ("S", Never, Never),
        ("S+mfences", Never, Never),
        ("2+2W", Never, Never),
        ("2+2W+mfences", Never, Never),
        ("IRIW", Never, Never),
        ("IRIW+mfences", Never, Never),
        ("WRC", Never, Never),
        ("WRC+mfences", Never, Never),
        ("INC+locks", Always, Always),
        // Unlocked: a load then a store on each side, so both can load 0.
        ("INC", Sometimes, Sometimes),
        ("CAS", Never, Never),
    ]
};

fn dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/litmus/x86")
}

/// Reads `dir/name.litmus` (either format), checks it under both models, and holds
/// each observation, and herd7's Observation line, to the one expected.
fn assert_answers(dir: std::path::PathBuf, name: &str, tso: Observation, sc: Observation) {
    let src = std::fs::read_to_string(dir.join(format!("{name}.litmus"))).unwrap();
    let t = tornsim_core::x86::parse_litmus(&src)
        .unwrap_or_else(|e| panic!("{}", e.render(&src, name)));
    assert_eq!(t.name, name);
    for (memory, want) in [(Memory::Tso, tso), (Memory::Sc, sc)] {
        let o = t.check(memory).unwrap();
        assert_eq!(
            o.observation,
            want,
            "{name} under {memory}:\n{}",
            o.herd_text()
        );
        assert!(o.herd_text().contains(&format!(
            "Observation {name} {} {} {}\n",
            want.name(),
            o.positive,
            o.negative
        )));
    }
}

#[test]
fn every_classic_test_gives_herd7s_observation() {
    for &(name, tso, sc) in EXPECTED {
        assert_answers(dir(), name, tso, sc);
    }
}

/// The tests in `dir` and the names `expected` gives answers for are the same.
fn assert_every_file_has_an_answer<'a>(
    dir: std::path::PathBuf,
    expected: impl Iterator<Item = &'a str>,
) {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|f| f.strip_suffix(".litmus").map(str::to_string))
        .collect();
    names.sort();
    let mut want: Vec<String> = expected.map(str::to_string).collect();
    want.sort();
    assert_eq!(names, want);
}

#[test]
fn every_file_in_the_folder_has_an_expected_answer() {
    assert_every_file_has_an_answer(dir(), EXPECTED.iter().map(|e| e.0));
    assert_every_file_has_an_answer(c_dir(), EXPECTED_C.iter().map(|e| e.0));
}

/// Relaxed outcomes need TSO; SC shows a subset of TSO's final states, never more.
#[test]
fn sc_final_states_are_a_subset_of_tsos() {
    for &(name, ..) in EXPECTED {
        let src = std::fs::read_to_string(dir().join(format!("{name}.litmus"))).unwrap();
        let t = parse(&src).unwrap();
        let (tso, sc) = (t.check(Memory::Tso).unwrap(), t.check(Memory::Sc).unwrap());
        for f in &sc.states {
            assert!(
                tso.states.iter().any(|g| g.state == f.state),
                "{name}: SC reaches {} but TSO does not",
                f.state
            );
        }
        assert!(tso.explored >= sc.explored, "{name}");
    }
}

/// The kernel's C litmus format (`tests/litmus/c/`, written for tornsim in the shape
/// of tools/memory-model/litmus-tests), answered for x86: (test, x86-TSO, SC, LKMM's
/// answer for every architecture). Each x86 answer is derived by hand from the x86-TSO
/// rules (each CPU's stores leave its FIFO buffer in order; a load reads its own newest
/// buffered store, else memory; locked instructions and MFENCE drain the buffer; memory
/// is one, so every CPU sees stores in one order), as the comment says.
const EXPECTED_C: &[(&str, Observation, Observation, Observation)] = {
    use Observation::*;
    &[
        // Both loads can run while both stores wait in their buffers.
        ("SB+once", Sometimes, Never, Sometimes),
        // smp_mb() is MFENCE: each store is in memory before its CPU's load.
        ("SB+mbonceonces", Never, Never, Never),
        // xchg() is locked: it drains the buffer and writes memory at once.
        ("SB+xchgs", Never, Never, Never),
        // Stores leave in order and loads are not reordered: y=1 seen means x=1 is.
        ("MP+once", Never, Never, Sometimes),
        ("MP+wmbrmb", Never, Never, Never),
        ("MP+releaseacquire", Never, Never, Never),
        // A load is never satisfied by a later store: no cycle of loads reading ahead.
        ("LB+once", Never, Never, Sometimes),
        ("LB+ctrl", Never, Never, Never),
        // P1's y=2 waits in its buffer while it reads x=0; P0's stores then land, and
        // y=2 drains last.
        ("R+once", Sometimes, Never, Sometimes),
        // With MFENCE P1's y=2 is in memory before its load; y=2 last means P0's y=1
        // (and so x=1) came before it.
        ("R+mbonceonces", Never, Never, Never),
        // Each CPU's two stores reach memory in order: x=1 last and y=1 last would need
        // each CPU's first store after the other's second.
        ("2+2W+once", Never, Never, Sometimes),
        // r0=1 means P0's y=1, and so its x=2, is in memory before P1 stores x=1 (its
        // store comes after its load): x ends 1.
        ("S+once", Never, Never, Sometimes),
        // One memory: the readers cannot see the two writes in opposite orders.
        ("IRIW+once", Never, Never, Sometimes),
        ("WRC+once", Never, Never, Sometimes),
        // Locked read-modify-writes are atomic.
        ("atomic-inc", Never, Never, Never),
        ("cmpxchg-once", Never, Never, Never),
        // The critical sections run one after the other (the lock's XCHG drains, its
        // holder's stores are in memory before the unlock's store).
        ("spinlock-sb", Never, Never, Never),
        ("trylock-once", Never, Never, Never),
        // The same lock: P1's reads run wholly before or wholly after P0's writes.
        ("spinlock-mp", Never, Never, Never),
        // A failing compare writes nothing and returns the value it found.
        ("cmpxchg-fail", Always, Always, Always),
        // Coherence: one memory, each CPU reading its own newest store or memory, so
        // every location's values are seen in one order.
        ("CoRR", Never, Never, Never),
        // A CPU's buffer drains in order: 2 lands after 1.
        ("CoWW", Never, Never, Never),
        // r0=2: P1's store landed before P0's load, so before P0's later store.
        ("CoRW", Never, Never, Never),
        // r0=2: P0's own 1 had drained (else it reads 1) and 2 landed after it.
        ("CoWR", Never, Never, Never),
        // Each CPU reads its own store from its buffer, then the other's location from
        // memory before either store drains.
        ("SB+rfionceonces", Sometimes, Never, Sometimes),
        // Three loads can all run before three buffered stores drain.
        ("3.SB", Sometimes, Never, Sometimes),
        ("3.SB+mbs", Never, Never, Never),
        // Releases are stores, acquires loads: TSO keeps each CPU's order.
        ("ISA2+releaseacquire", Never, Never, Never),
        ("WRC+release+rmb", Never, Never, Never),
        ("LB+acquirerelease", Never, Never, Never),
        ("2+2W+mbs", Never, Never, Never),
        ("S+wmb+acquire", Never, Never, Never),
        ("IRIW+mbs", Never, Never, Never),
        // A grace period that begins while the reader is in its critical section ends
        // after the reader has left it: x=1 is written after both reads. One that
        // begins before the reader's critical section began follows P1's p=1 into
        // memory (it starts with a full barrier), so the reader sees p=1.
        ("RCU+sync+free", Never, Never, Never),
        // smp_mb() orders P1's two stores, but the reader can read p before both and x
        // after both.
        ("RCU+mb+free", Sometimes, Sometimes, Sometimes),
        // Without rcu_read_lock() the reader is in no critical section: the grace
        // period need not wait for it.
        ("RCU+sync+free+nolock", Sometimes, Sometimes, Sometimes),
        // The grace period waits until P0 is out of its critical section with x=1
        // drained; P0's read of y then came before P1's y=1, or after it landed.
        ("RCU+sync+SB", Never, Never, Never),
        // The pointer lands after x=1 (P0's stores drain in order); a reader that loads
        // the new pointer loads through it after, and sees 1.
        ("MP+assign+deref", Never, Never, Never),
    ]
};

fn c_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/litmus/c")
}

#[test]
fn every_c_test_gets_its_x86_answer_and_lkmm_never_is_never_on_x86() {
    for &(name, tso, sc, lkmm) in EXPECTED_C {
        let start = std::time::Instant::now();
        assert_answers(c_dir(), name, tso, sc);
        // x86-TSO is stronger than LKMM under the kernel's mapping.
        if lkmm == Observation::Never {
            assert_eq!(tso, Observation::Never, "{name}");
        }
        eprintln!("{name}: {:?}", start.elapsed());
    }
}

/// The book's chapter prints the reader's mapping table (as `tornsim primitives --litmus
/// --markdown` prints it) and the answers above, row for row.
#[test]
fn the_books_litmus_chapter_shows_the_mapping_and_the_answers() {
    let book = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/src/litmus.md"),
    )
    .unwrap();
    assert!(
        book.contains(&tornsim_core::x86::markdown()),
        "the book's mapping table is stale: paste `tornsim primitives --litmus --markdown`"
    );
    for (name, tso, sc, lkmm) in EXPECTED_C {
        let row = format!(
            "| `{name}` | {} | {} | {} |\n",
            tso.name(),
            sc.name(),
            lkmm.name()
        );
        assert!(book.contains(&row), "the book lacks {row}");
    }
}
