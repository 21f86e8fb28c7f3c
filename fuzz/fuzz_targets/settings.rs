//! The `--config` loader: any text, read as JSON, as TOML and by guess, then applied
//! over the defaults. Refused with a message or accepted, never a panic; what it accepts
//! either validates or says why not.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tornsim_core::settings_file::{apply, settings, Format};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for format in [Format::Json, Format::Toml, Format::Guess] {
        if let Ok(s) = settings(text, format) {
            let mut cfg = tornsim_core::Config::default();
            if apply(&mut cfg, &s).is_ok() {
                let _ = cfg.validate();
            }
        }
    }
});
