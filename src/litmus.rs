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

/// The classic tests of `tests/litmus/x86/`, built in for `tornsim bench`.
pub const CLASSIC: &[(&str, &str)] = &[
    ("SB", include_str!("../tests/litmus/x86/SB.litmus")),
    (
        "SB+mfences",
        include_str!("../tests/litmus/x86/SB+mfences.litmus"),
    ),
    (
        "SB+xchgs",
        include_str!("../tests/litmus/x86/SB+xchgs.litmus"),
    ),
    ("R", include_str!("../tests/litmus/x86/R.litmus")),
    (
        "R+mfences",
        include_str!("../tests/litmus/x86/R+mfences.litmus"),
    ),
    ("n6", include_str!("../tests/litmus/x86/n6.litmus")),
    (
        "n6+mfences",
        include_str!("../tests/litmus/x86/n6+mfences.litmus"),
    ),
    ("MP", include_str!("../tests/litmus/x86/MP.litmus")),
    (
        "MP+mfences",
        include_str!("../tests/litmus/x86/MP+mfences.litmus"),
    ),
    ("LB", include_str!("../tests/litmus/x86/LB.litmus")),
    (
        "LB+mfences",
        include_str!("../tests/litmus/x86/LB+mfences.litmus"),
    ),
    ("S", include_str!("../tests/litmus/x86/S.litmus")),
    (
        "S+mfences",
        include_str!("../tests/litmus/x86/S+mfences.litmus"),
    ),
    ("2+2W", include_str!("../tests/litmus/x86/2+2W.litmus")),
    (
        "2+2W+mfences",
        include_str!("../tests/litmus/x86/2+2W+mfences.litmus"),
    ),
    ("IRIW", include_str!("../tests/litmus/x86/IRIW.litmus")),
    (
        "IRIW+mfences",
        include_str!("../tests/litmus/x86/IRIW+mfences.litmus"),
    ),
    ("WRC", include_str!("../tests/litmus/x86/WRC.litmus")),
    (
        "WRC+mfences",
        include_str!("../tests/litmus/x86/WRC+mfences.litmus"),
    ),
    (
        "INC+locks",
        include_str!("../tests/litmus/x86/INC+locks.litmus"),
    ),
    ("CAS", include_str!("../tests/litmus/x86/CAS.litmus")),
];

/// `tornsim bench`'s litmus figures: each classic test checked under TSO, the slowest
/// and the total time.
pub fn bench_litmus() -> Result<serde_json::Value, InputError> {
    let (mut slowest, mut total, mut name) = (0f64, 0f64, "");
    for &(n, src) in CLASSIC {
        let t = x86::parse(src).map_err(|e| InputError(e.render(src, n)))?;
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
        "case": format!("{} classic x86 litmus tests under tso (slowest: {name})", CLASSIC.len()),
        "slowest_seconds": slowest,
        "seconds": total,
    }))
}
