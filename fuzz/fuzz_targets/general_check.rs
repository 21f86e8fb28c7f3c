//! The general language: parse, route, compile (a classic file too, as the general
//! machine runs it), then check under a small state budget; a witness replays through
//! its schedule string and its timeline, the search with the partial-order reduction and
//! the walker symmetry decides as the full search does wherever both finish, and no
//! input panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tornsim_core::general::{self, GCheckOptions, Route};
use tornsim_core::Verdict;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let p = match general::route(src) {
        Ok(Route::General(p)) => p,
        Ok(Route::Classic) => match general::load(src) {
            Ok(p) => p,
            Err(_) => return,
        },
        Err(e) => {
            assert!(e.span.start <= src.len());
            let _ = e.render(src, "input");
            return;
        }
    };
    let r = general::check(
        &p,
        GCheckOptions {
            max_states: 20_000,
            max_depth: 2_000,
            ..GCheckOptions::default()
        },
    );
    let full = general::check(
        &p,
        GCheckOptions {
            max_states: 20_000,
            max_depth: 2_000,
            reduce: false,
            symmetry: false,
            ..GCheckOptions::default()
        },
    );
    if r.verdict != Verdict::Incomplete && full.verdict != Verdict::Incomplete {
        assert_eq!(r.verdict == Verdict::Safe, full.verdict == Verdict::Safe);
    }
    if let Some(w) = &r.witness {
        let s = general::encode(&p, w);
        assert_eq!(&general::decode(&p, &s).expect("round trip"), w);
        general::replay(&p, w).expect("a witness replays");
        let t = general::timeline::timeline(&p, &s).expect("a witness's timeline");
        assert_eq!(t.frames.len(), w.len());
    }
    let _ = general::GBatch::new(&p, 1).run(20);
});
