//! What a link or a pasted string can hold: share fragments (with packed scenarios and
//! traces) and schedule strings. Refused with a message or accepted, never a panic; an
//! accepted fragment writes back to one that reads the same.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tornsim_core::{Schedule, Share};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(sched) = Schedule::decode(s) {
        let _ = tornsim_core::replay(&sched);
    }
    if let Ok((share, _)) = Share::from_query(s, &["embed", "controls"]) {
        let q = share.to_query();
        let (again, _) = Share::from_query(&q, &[]).expect("a written link reads back");
        assert_eq!(again, share, "{q}");
    }
    if let Ok(text) = tornsim_core::scenario::unpack(s) {
        assert!(text.len() <= tornsim_core::scenario::MAX_PACKED_TEXT);
    }
});
