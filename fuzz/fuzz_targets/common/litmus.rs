//! What the two litmus targets do with one input, given their parser.
use tornsim_core::config::Memory;
use tornsim_core::scenario::ScenarioError;
use tornsim_core::x86::Test;

/// Refused with a located error or parsed, never a panic; a test that parses and is
/// small enough is checked under both memory models, and SC's final states are among
/// TSO's (SC is TSO with every store drained at once).
pub fn run(data: &[u8], parse: fn(&str) -> Result<Test, ScenarioError>) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let t = match parse(s) {
        Ok(t) => t,
        Err(e) => {
            let _ = e.render(s, "fuzz.litmus");
            return;
        }
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
}
