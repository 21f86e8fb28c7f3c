//! Any text: the parser answers Ok or an error with a place inside the text, never a
//! panic; and what parses prints to a file that parses to the same program.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tornsim_core::{program, scenario};

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    match program::load(src) {
        Ok((s, cfg)) => {
            let again = program::print(program::of_config(&cfg), &cfg);
            let (s2, cfg2) = program::load(&again)
                .unwrap_or_else(|e| panic!("printed file does not parse: {e}\n{again}"));
            assert_eq!(
                scenario::program_hash(program::of_config(&cfg2)),
                scenario::program_hash(program::of_config(&cfg)),
                "{again}"
            );
            assert_eq!(cfg2.mode, cfg.mode);
            let _ = (s, s2);
            let _ = program::compile(program::of_config(&cfg), &cfg);
        }
        Err(e) => {
            assert!(e.span.start <= src.len() && e.span.line >= 1, "{e:?}");
            let _ = e.render(src, "fuzz");
        }
    }
});
