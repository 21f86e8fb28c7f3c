//! Every input a fuzz target (`fuzz/`, run by `.ci/fuzz`) crashed on, replayed through
//! what that target does, so the bug stays fixed. Files are named TARGET-crash-HASH.

use tornsim_core::{check, program, scenario, CheckOptions};

/// What `scenario_parse` and `scenario_check` do with one input.
fn as_the_targets_do(src: &str) {
    match program::load(src) {
        Ok((_, cfg)) => {
            let again = program::print(program::of_config(&cfg), &cfg);
            let (_, cfg2) = program::load(&again).expect("a printed file parses");
            assert_eq!(
                scenario::program_hash(program::of_config(&cfg2)),
                scenario::program_hash(program::of_config(&cfg))
            );
        }
        Err(e) => {
            assert!(e.span.start <= src.len());
            let _ = e.render(src, "input");
        }
    }
    if let Ok((_, cfg)) = program::load_checked(src) {
        let opts = CheckOptions {
            max_states: 20_000,
            ..CheckOptions::default()
        };
        let _ = check(&cfg, opts);
    }
}

/// What `x86_litmus` (with `x86::parse`) and `c_litmus` (with `x86::parse_c`) do with
/// one input.
fn as_the_litmus_targets_do(
    src: &str,
    parse: fn(&str) -> Result<tornsim_core::x86::Test, tornsim_core::scenario::ScenarioError>,
) {
    use tornsim_core::config::Memory;
    match parse(src) {
        Ok(t) => {
            if t.threads.iter().map(Vec::len).sum::<usize>() <= 12 {
                let _ = (t.check(Memory::Tso), t.check(Memory::Sc));
            }
        }
        Err(e) => {
            assert!(e.span.start <= src.len());
            let _ = e.render(src, "input");
        }
    }
}

/// What `general_check` does with one input.
fn as_the_general_target_does(src: &str) {
    use tornsim_core::general::{self, GCheckOptions, Route};
    match general::route(src) {
        Ok(Route::General(p)) => {
            let r = general::check(
                &p,
                GCheckOptions {
                    max_states: 20_000,
                    max_depth: 2_000,
                    ..GCheckOptions::default()
                },
            );
            if let Some(w) = &r.witness {
                general::replay(&p, w).expect("a witness replays");
            }
            let _ = general::GBatch::new(&p, 1).run(20);
        }
        Ok(Route::Classic) => {}
        Err(e) => {
            assert!(e.span.start <= src.len());
            let _ = e.render(src, "input");
        }
    }
}

#[test]
fn every_input_a_fuzzer_crashed_on_is_handled() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fuzz-crashes");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).expect("the crash directory") {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("general_check-") {
            if let Ok(s) = std::str::from_utf8(&bytes) {
                as_the_general_target_does(s);
            }
        } else if name.starts_with("x86_litmus-") {
            if let Ok(s) = std::str::from_utf8(&bytes) {
                as_the_litmus_targets_do(s, tornsim_core::x86::parse);
            }
        } else if name.starts_with("c_litmus-") {
            if let Ok(s) = std::str::from_utf8(&bytes) {
                as_the_litmus_targets_do(s, tornsim_core::x86::parse_c);
            }
        } else if name.starts_with("link-") {
            if let Ok(s) = std::str::from_utf8(&bytes) {
                if let Ok((share, _)) = tornsim_core::Share::from_query(s, &["embed", "controls"]) {
                    let q = share.to_query();
                    assert_eq!(tornsim_core::Share::from_query(&q, &[]).unwrap().0, share);
                }
                let _ = tornsim_core::Schedule::decode(s);
            }
        } else if let Ok(s) = std::str::from_utf8(&bytes) {
            as_the_targets_do(s);
        }
        n += 1;
    }
    assert!(n >= 2, "the crash files are there ({n})");
}
