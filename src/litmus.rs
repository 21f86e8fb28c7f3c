//! `tornsim check FILE.litmus` for herd7's X86 litmus tests and the kernel's C litmus
//! tests (lowered to x86 by the kernel's own mapping): each file checked exhaustively
//! under x86-TSO (or `--memory sc`), reported as herd7 reports it.

use crate::args::{CheckArgs, CheckFormat, ConfigArgs};
use crate::output::{print_json, InputError, OK};
use serde_json::json;
use std::path::Path;
use std::time::Instant;
use tornsim_core::config::{Knob, Memory};
use tornsim_core::x86;

/// Whether the file at `path` is an X86 or C litmus test (its first word is `X86` or
/// `C`).
pub fn is_litmus(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|t| x86::is_litmus(&t))
}

/// The flags a litmus test takes: `--memory` only.
fn memory_of(c: &ConfigArgs) -> Result<Memory, InputError> {
    if let Some((flag, _)) = c.given().into_iter().find(|&(f, on)| on && f != "--memory") {
        return Err(InputError(format!(
            "{flag} does not apply to an X86 litmus test: its program is the whole machine (--memory sc|tso does)"
        )));
    }
    match &c.memory {
        Some(m) => Memory::parse(m).map_err(|e| InputError(e.to_string())),
        None => Ok(Memory::Tso),
    }
}

/// Checks every file (all X86 litmus tests) and prints herd7's report for each.
pub fn check_litmus(a: &CheckArgs) -> Result<u8, InputError> {
    let memory = memory_of(&a.config)?;
    let mut out = Vec::new();
    for path in &a.files {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| InputError(format!("cannot read '{shown}': {e}")))?;
        if !x86::is_litmus(&text) {
            return Err(InputError(format!(
                "'{shown}' is a scenario file, not an X86 litmus test: check the two kinds in separate commands"
            )));
        }
        let test = x86::parse_litmus(&text).map_err(|e| InputError(e.render(&text, &shown)))?;
        let start = Instant::now();
        let o = test
            .check(memory)
            .map_err(|e| InputError(format!("{shown}: {e}")))?;
        out.push((shown, o, start.elapsed().as_secs_f64()));
    }
    if a.json || a.format == Some(CheckFormat::Json) {
        let v: Vec<_> = out
            .iter()
            .map(|(file, o, secs)| {
                json!({
                    "file": file,
                    "test": o.name,
                    "memory": o.memory,
                    "condition": o.condition,
                    "states": o.states,
                    "ok": o.ok,
                    "positive": o.positive,
                    "negative": o.negative,
                    "observation": o.observation,
                    "explored": o.explored,
                    "transitions": o.transitions,
                    "seconds": secs,
                })
            })
            .collect();
        print_json(&if v.len() == 1 { v[0].clone() } else { json!(v) });
    } else {
        for (i, (_, o, secs)) in out.iter().enumerate() {
            if i > 0 {
                println!();
            }
            print!("{}", o.herd_text());
            println!("Time {} {secs:.2}", o.name);
        }
    }
    Ok(OK)
}

/// `(name, text)` of each named test in a folder of `tests/litmus/`, built in.
macro_rules! litmus_dir {
    ($dir:literal: $($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../tests/litmus/", $dir, "/", $name, ".litmus")))),*]
    };
}

/// herd7's classic x86 tests (`tests/litmus/x86/`), built in for `tornsim bench`.
pub const CLASSIC: &[(&str, &str)] = litmus_dir!("x86":
    "2+2W",
    "2+2W+mfences",
    "CAS",
    "INC",
    "INC+locks",
    "IRIW",
    "IRIW+mfences",
    "LB",
    "LB+mfences",
    "MP",
    "MP+mfences",
    "R",
    "R+mfences",
    "S",
    "S+mfences",
    "SB",
    "SB+mfences",
    "SB+xchgs",
    "WRC",
    "WRC+mfences",
    "n6",
    "n6+mfences",
);

/// The C tests in the kernel's format (`tests/litmus/c/`), built in for `tornsim bench`.
pub const KERNEL_C: &[(&str, &str)] = litmus_dir!("c":
    "2+2W+mbs",
    "2+2W+once",
    "3.SB",
    "3.SB+mbs",
    "CoRR",
    "CoRW",
    "CoWR",
    "CoWW",
    "IRIW+mbs",
    "IRIW+once",
    "ISA2+releaseacquire",
    "LB+acquirerelease",
    "LB+ctrl",
    "LB+once",
    "MP+assign+deref",
    "MP+once",
    "MP+releaseacquire",
    "MP+wmbrmb",
    "R+mbonceonces",
    "R+once",
    "RCU+mb+free",
    "RCU+sync+SB",
    "RCU+sync+free",
    "RCU+sync+free+nolock",
    "S+once",
    "S+wmb+acquire",
    "SB+mbonceonces",
    "SB+once",
    "SB+rfionceonces",
    "SB+xchgs",
    "WRC+once",
    "WRC+release+rmb",
    "atomic-inc",
    "cmpxchg-fail",
    "cmpxchg-once",
    "spinlock-mp",
    "spinlock-sb",
    "trylock-once",
);

/// `tornsim bench`'s litmus figures: each classic test checked under TSO, the slowest
/// and the total time.
pub fn bench_litmus() -> Result<Vec<serde_json::Value>, InputError> {
    [("classic x86", CLASSIC), ("kernel C", KERNEL_C)]
        .into_iter()
        .map(|(kind, suite)| {
            let (mut slowest, mut total, mut name) = (0f64, 0f64, "");
            for &(n, src) in suite {
                let t = x86::parse_litmus(src).map_err(|e| InputError(e.render(src, n)))?;
                let start = Instant::now();
                t.check(Memory::Tso)
                    .map_err(|e| InputError(format!("{n}: {e}")))?;
                let secs = start.elapsed().as_secs_f64();
                total += secs;
                if secs > slowest {
                    (slowest, name) = (secs, n);
                }
            }
            Ok(json!({
                "case": format!("{} {kind} litmus tests under tso (slowest: {name})", suite.len()),
                "slowest_seconds": slowest,
                "seconds": total,
            }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    /// The built-in suites are the folders' tests, every one.
    #[test]
    fn the_built_in_suites_are_the_folders() {
        for (dir, suite) in [("x86", super::CLASSIC), ("c", super::KERNEL_C)] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/litmus")
                .join(dir);
            let mut on_disk: Vec<String> = std::fs::read_dir(path)
                .unwrap()
                .filter_map(|e| {
                    e.unwrap()
                        .file_name()
                        .to_string_lossy()
                        .strip_suffix(".litmus")
                        .map(str::to_string)
                })
                .collect();
            on_disk.sort();
            let mut built: Vec<String> = suite.iter().map(|(n, _)| n.to_string()).collect();
            built.sort();
            assert_eq!(built, on_disk, "{dir}");
        }
    }
}
