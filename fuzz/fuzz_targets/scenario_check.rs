//! Parse, then check under a small state budget: any file that compiles gets a verdict
//! (or "incomplete") and a witness that replays to its hazard, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tornsim_core::{check, program, replay, CheckOptions, Verdict};

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let Ok((_, cfg)) = program::load_checked(src) else {
        return;
    };
    let opts = CheckOptions {
        max_states: 20_000,
        ..CheckOptions::default()
    };
    let Ok(r) = check(&cfg, opts) else { return };
    if let Some(w) = &r.witness {
        let t = replay(w).expect("a witness replays");
        if matches!(r.verdict, Verdict::Torn | Verdict::Stale) {
            assert!(t.hazards().next().is_some(), "the witness reaches its hazard");
        }
        let text = w.encode();
        let back =
            tornsim_core::Schedule::decode_with(&text, cfg.scenario.as_ref()).expect("round trip");
        assert_eq!(&back, w);
    }
});
