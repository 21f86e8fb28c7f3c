//! herd7 X86 litmus text: refused with a located error or parsed, never a panic; a test
//! that parses and is small enough is checked under both memory models, and SC's final
//! states are among TSO's (SC is TSO with every store drained at once).
#![no_main]
use libfuzzer_sys::fuzz_target;
use tornsim_core::config::Memory;
use tornsim_core::x86;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(t) = x86::parse(s) else {
        if let Err(e) = x86::parse(s) {
            let _ = e.render(s, "fuzz.litmus");
        }
        return;
    };
    let size: usize = t.threads.iter().map(Vec::len).sum();
    if size > 12 || t.threads.len() > 4 {
        return;
    }
    let (Ok(tso), Ok(sc)) = (t.check(Memory::Tso), t.check(Memory::Sc)) else {
        return;
    };
    for f in &sc.states {
        assert!(tso.states.iter().any(|g| g.state == f.state), "{}", f.state);
    }
    assert_eq!(tso.positive + tso.negative, tso.states.len() as u64);
});
