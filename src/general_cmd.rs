//! `check`, `run` and `replay` of a scenario file that needs the general machine (it
//! declares entries, tables or pages, names other kernel paths, calls primitives with
//! arguments): the same commands, output shaped as for a classic file.

use crate::args::{CheckArgs, CheckFormat, ConfigArgs, RunArgs, TraceFormat};
use crate::output::{print_json, InputError, HAZARD, INCOMPLETE, OK};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use tornsim_core::general::{self, GCheckOptions, GProgram, Route};
use tornsim_core::{wilson, Verdict};

/// A file the general machine runs: its text and program. `None`: a classic file.
pub struct GeneralFile {
    pub path: String,
    pub prog: Arc<GProgram>,
}

/// Reads `path` and routes it: `Ok(None)` for a file of the classic language (which
/// the classic commands then load as before).
pub fn load(path: &Path) -> Result<Option<GeneralFile>, InputError> {
    let shown = path.display().to_string();
    let Ok(text) = std::fs::read_to_string(path) else {
        // The classic loader reports an unreadable file.
        return Ok(None);
    };
    match general::route(&text) {
        Ok(Route::Classic) => Ok(None),
        Ok(Route::General(prog)) => Ok(Some(GeneralFile { path: shown, prog })),
        Err(e) => Err(InputError(e.render(&text, &shown))),
    }
}

/// The command line's settings are the classic machine's: a general file gives its own,
/// but for `--readers` (a walker count, or `any`).
fn no_flags(c: &ConfigArgs, f: &GeneralFile) -> Result<(), InputError> {
    let set = c.given();
    match set.iter().find(|(flag, on)| *on && *flag != "--readers") {
        Some((flag, _)) => Err(InputError(format!(
            "{flag}: '{}' runs on the general machine, which takes its settings from the file; edit its settings block instead",
            f.path
        ))),
        None => Ok(()),
    }
}

/// How many walkers a command runs the file at.
enum Walkers {
    /// The program at one count (the file's own, or `--readers N`).
    At(Arc<GProgram>),
    /// Every count, by the cutoff argument (`--readers any`, or `readers = any`).
    Any,
}

fn walkers(c: &ConfigArgs, f: &GeneralFile) -> Result<Walkers, InputError> {
    no_flags(c, f)?;
    let given = c.readers.as_deref().map(str::trim);
    if given == Some("any") || (given.is_none() && f.prog.cfg.any_readers) {
        return Ok(Walkers::Any);
    }
    match given {
        None => Ok(Walkers::At(f.prog.clone())),
        Some(n) => at_count(
            f,
            n.parse().map_err(|_| {
                InputError(format!(
                    "--readers: '{n}' is not a count of walkers or 'any'"
                ))
            })?,
        )
        .map(Walkers::At),
    }
}

fn at_count(f: &GeneralFile, n: u32) -> Result<Arc<GProgram>, InputError> {
    if n == 0 {
        return Err(InputError("--readers: at least 1 walker".into()));
    }
    general::argument::at_walkers(&f.prog, n)
        .map_err(|e| InputError(format!("--readers {n}: {}", e.message)))
}

/// The command that replays `schedule`, made on `p` (at another walker count than the
/// file's: with `--readers`).
fn replay_cmd(f: &GeneralFile, p: &GProgram, schedule: &str) -> String {
    match p.walkers_at {
        Some(n) => format!("tornsim replay {} --readers {n} {schedule}", f.path),
        None => format!("tornsim replay {} {schedule}", f.path),
    }
}

pub fn claim_word(h: Option<bool>) -> &'static str {
    match h {
        Some(true) => "holds",
        Some(false) => "does NOT hold",
        None => "is undecided",
    }
}

fn summary(p: &GProgram) -> String {
    let knobs: Vec<String> = p.knobs().iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{} (general machine): {}", p.name, knobs.join(" "))
}

/// `tornsim check FILE` for a general file.
pub fn check(a: &CheckArgs, f: &GeneralFile) -> Result<u8, InputError> {
    let at = walkers(&a.config, f)?;
    if a.search.max_memory.is_some() {
        return Err(InputError(
            "--max-memory: the general machine's search is bounded by --max-states".into(),
        ));
    }
    let search = a.search.options()?;
    let opts = GCheckOptions {
        max_states: search.max_states,
        threads: search.threads,
        symmetry: search.symmetry,
        reduce: search.reduce,
        ..GCheckOptions::default()
    };
    let p = &match at {
        Walkers::At(p) => p,
        Walkers::Any => return check_any(a, f, opts),
    };
    let start = Instant::now();
    let r = general::check(p, opts);
    let secs = start.elapsed().as_secs_f64();
    // Under alloc = random the witness replays on the frame of the pass that found it.
    let wp = &r.program(p);
    let trace = match &r.witness {
        Some(w) => Some(general::replay(wp, w).map_err(InputError)?),
        None => None,
    };
    let schedule = r.witness.as_ref().map(|w| general::encode(wp, w));
    let stats = format!(
        "{} states{}, {} transitions, depth {}, {:.2} s{}",
        r.states,
        match r.interchangeable_text() {
            t if t.is_empty() => t,
            t => format!(" ({t})"),
        },
        r.transitions,
        r.depth,
        secs,
        crate::output::on_threads(opts.threads)
    );
    let format = if a.json {
        CheckFormat::Json
    } else {
        a.format.unwrap_or(CheckFormat::Table)
    };
    let sentence = match (&r.verdict, &r.stopped_by) {
        (Verdict::Incomplete, Some(why)) => {
            format!("{why} ran out: nothing is proven (raise --max-states)")
        }
        (v, _) => v.sentence().to_string(),
    };
    match format {
        CheckFormat::Json => print_json(&json!({
            "scenario": p.name,
            "machine": "general",
            "exists": p.exists.text(),
            "claim": claim_word(r.claim(p)),
            "verdict": r.verdict,
            "states": r.states,
            "interchangeable": r.interchangeable,
            "transitions": r.transitions,
            "depth": r.depth,
            "seconds": secs,
            "max_states": opts.max_states,
            "stopped_by": r.stopped_by,
            "schedule": schedule,
            "steps": trace.as_ref().map(|t| t.steps.len()),
            "trace": trace.as_ref().map(|t| t.steps.iter().map(|s| json!({
                "cpu": s.choice.cpu,
                "ack": s.choice.ack,
                "drain": s.choice.drain,
                "text": s.text,
                "hazard": s.hazard,
                "changes": s.changes,
            })).collect::<Vec<_>>()),
        })),
        CheckFormat::Kernel => match &trace {
            Some(t) => {
                print!("{}", t.columns(p));
                println!("\n/* shortest of all interleavings; {stats} */");
                println!("/* {} */", replay_cmd(f, p, &schedule.unwrap_or_default()));
            }
            None => {
                println!("/* {} */", summary(p));
                println!("{}: {sentence}", r.verdict);
                println!("/* {stats} */");
            }
        },
        CheckFormat::Table => {
            println!("tornsim check: {}", summary(p));
            println!("verdict: {} ({sentence})", r.verdict);
            println!(
                "{}: the file's claim {}",
                p.exists.text(),
                claim_word(r.claim(p))
            );
            println!("{stats}");
            if let (Some(t), Some(s)) = (&trace, &schedule) {
                println!();
                println!("shortest witness, {} steps:", t.steps.len());
                print!("{}", t.text(p));
                println!();
                println!("{}", replay_cmd(f, p, s));
            }
        }
    }
    Ok(match r.verdict {
        Verdict::Safe => OK,
        Verdict::Incomplete => INCOMPLETE,
        _ => HAZARD,
    })
}

/// `check --readers any` (or `readers = any` in the file): the cutoff argument on the
/// walkers' steps, then checks at 1..=cutoff walkers (or 1..=--bound).
fn check_any(a: &CheckArgs, f: &GeneralFile, opts: GCheckOptions) -> Result<u8, InputError> {
    let start = Instant::now();
    let r = general::argument::check_any(&f.prog, opts, a.bound)
        .map_err(|e| InputError(e.render(&f.prog.source, &f.path)))?;
    let secs = start.elapsed().as_secs_f64();
    let p = &r.program;
    let wp = &r.result.program(p);
    let trace = match &r.result.witness {
        Some(w) => Some(general::replay(wp, w).map_err(InputError)?),
        None => None,
    };
    let schedule = r.result.witness.as_ref().map(|w| general::encode(wp, w));
    let replay_cmd = schedule.as_ref().map(|s| replay_cmd(f, p, s));
    let sentence = r.sentence();
    let claim = claim_word(r.result.claim(p));
    if a.json || a.format == Some(CheckFormat::Json) {
        let fields = crate::output::any_fields!(r, &sentence, secs);
        print_json(&fields.with(json!({
            "scenario": p.name,
            "machine": "general",
            "exists": p.exists.text(),
            "claim": claim,
            "schedule": schedule,
            "replay": replay_cmd,
            "steps": trace.as_ref().map(|t| t.steps.len()),
        })));
    } else {
        println!("tornsim check --readers any: {}", summary(p));
        println!("verdict: {sentence}");
        println!("{}: the file's claim {claim}", p.exists.text());
        print!("{}", r.argument.explain("walker"));
        println!("checked: {}", general::argument::checked_text(&r.checked));
        println!(
            "{} states at the last count, {secs:.2} s in all",
            r.result.states
        );
        if let (Some(t), Some(cmd)) = (&trace, &replay_cmd) {
            println!();
            println!(
                "shortest witness, with the fewest walkers ({}), {} steps:",
                r.readers,
                t.steps.len()
            );
            print!("{}", t.text(p));
            println!();
            println!("{cmd}");
        }
    }
    Ok(match r.verdict {
        Verdict::Safe if !r.proved => INCOMPLETE,
        Verdict::Safe => OK,
        Verdict::Incomplete => INCOMPLETE,
        _ => HAZARD,
    })
}

/// `tornsim run FILE` for a general file: uniform random runs, one seed a batch.
pub fn run(a: &RunArgs, f: &GeneralFile) -> Result<u8, InputError> {
    let p = &match walkers(&a.config, f)? {
        Walkers::At(p) => p,
        Walkers::Any => {
            return Err(InputError(
                "--readers any: runs need a walker count (a check answers for every count)".into(),
            ))
        }
    };
    if a.runs == 0 {
        return Err(InputError("--runs: must be at least 1".into()));
    }
    let spec = match a.scheduler {
        crate::args::SchedulerKind::Random => tornsim_core::SchedulerSpec::Random,
        crate::args::SchedulerKind::Pct => tornsim_core::SchedulerSpec::Pct { depth: a.depth },
    };
    let start = Instant::now();
    let mut b = general::GBatch::with_scheduler(p, a.seed, spec)?;
    let s = b.run(a.runs).clone();
    let secs = start.elapsed().as_secs_f64();
    let rate = |n: u64| {
        let (lo, hi) = wilson(n, s.runs);
        (n as f64 * 1e6 / s.runs as f64, lo * 1e6, hi * 1e6)
    };
    if a.json {
        let hazards: serde_json::Map<String, serde_json::Value> = s
            .hazards
            .iter()
            .map(|&(h, n)| {
                let (r, lo, hi) = rate(n);
                (
                    h.name().to_string(),
                    json!({"runs": n, "per_million": r, "ci95": [lo, hi]}),
                )
            })
            .collect();
        print_json(&json!({
            "scenario": p.name,
            "machine": "general",
            "runs": s.runs,
            "seed": a.seed,
            "scheduler": spec.name(),
            "steps": s.steps,
            "cut": s.cut,
            "hazards": hazards,
            "first": s.first.as_ref().map(|(h, sch)| json!({"hazard": h, "schedule": sch})),
            "seconds": secs,
        }));
    } else {
        println!("tornsim run: {}", summary(p));
        println!(
            "{} runs ({}, seed {}), {:.1} steps a run, {:.2} s",
            s.runs,
            spec.name(),
            a.seed,
            s.steps as f64 / s.runs as f64,
            secs
        );
        if s.hazards.is_empty() {
            println!("no run raised a hazard");
        }
        for &(h, n) in &s.hazards {
            let (r, lo, hi) = rate(n);
            println!(
                "{:<14} {n} runs: {r:.1} per million (95% CI {lo:.1}..{hi:.1})",
                h.name()
            );
        }
        if s.cut > 0 {
            println!(
                "{} runs cut at {} steps",
                s.cut,
                general::explore::MAX_RUN_STEPS
            );
        }
        if let Some((h, sch)) = &s.first {
            println!("first {}: {}", h.name(), replay_cmd(f, p, sch));
        }
    }
    Ok(if s.first.is_some() { HAZARD } else { OK })
}

/// `tornsim replay FILE SCHEDULE` for a general file's `tg1.` schedule.
pub fn replay(
    f: &GeneralFile,
    schedule: &str,
    format: TraceFormat,
    readers: Option<u32>,
) -> Result<u8, InputError> {
    let p = &match readers {
        Some(n) => at_count(f, n)?,
        None => f.prog.clone(),
    };
    let (p, choices) = general::decode_run(p, schedule)
        .map_err(|e| InputError(format!("malformed schedule: {e}")))?;
    let p = &p;
    let t = general::replay(p, &choices).map_err(InputError)?;
    match format {
        TraceFormat::Table => {
            println!("{}", summary(p));
            print!("{}", t.text(p));
        }
        TraceFormat::Json => print_json(&json!({
            "scenario": p.name,
            "machine": "general",
            "deadlock": t.deadlock,
            "steps": t.steps.iter().map(|s| json!({
                "cpu": s.choice.cpu,
                "ack": s.choice.ack,
                "drain": s.choice.drain,
                "text": s.text,
                "hazard": s.hazard,
                "changes": s.changes,
            })).collect::<Vec<_>>(),
        })),
    }
    Ok(
        if t.deadlock || t.steps.iter().any(|s| s.hazard.is_some()) {
            HAZARD
        } else {
            OK
        },
    )
}

/// `tornsim bench`: the `merged` preset at four walkers as a general program (walker
/// symmetry, with and without the partial-order reduction), beside the classic
/// checker's `check merged, 4 readers`; then every built-in general file checked, one
/// after another.
pub fn bench_check() -> Vec<serde_json::Value> {
    let mut cfg = tornsim_core::preset("merged")
        .expect("a built-in preset")
        .config;
    cfg.readers = 4;
    let p = general::from_classic(&cfg).expect("merged is a general program");
    let merged = |reduce: bool| {
        let start = Instant::now();
        let r = general::check(
            &p,
            GCheckOptions {
                reduce,
                ..GCheckOptions::default()
            },
        );
        let how = if reduce { "" } else { ", no reduction" };
        json!({
            "case": format!("general machine: check merged, 4 walkers{how} ({})", r.verdict),
            "states": r.states,
            "seconds": start.elapsed().as_secs_f64(),
            "peak_bytes": 0,
        })
    };
    vec![merged(true), merged(false), bench_files()]
}

fn bench_files() -> serde_json::Value {
    let start = Instant::now();
    let mut states = 0;
    let mut files = 0;
    for (name, src) in general::builtin_files() {
        let p = general::load(src).unwrap_or_else(|e| panic!("{name}: {e}"));
        states += general::check(&p, GCheckOptions::default()).states;
        files += 1;
    }
    json!({
        "case": format!("general machine: scenarios/general and scenarios/history ({files} files, one thread)"),
        "states": states,
        "seconds": start.elapsed().as_secs_f64(),
        "peak_bytes": 0,
    })
}

/// `tornsim bench`: random runs of the general machine, on retract-v1-xen and on the
/// seed thread's own race (the `seed-thread-v1` preset as a general program): the
/// second beside the classic machine's first case is how far the general machine is
/// from running the classic race as fast.
pub fn bench_runs(seconds: f64) -> Vec<serde_json::Value> {
    let src = general::FILES
        .iter()
        .find(|(n, _)| *n == "retract-v1-xen")
        .map(|(_, s)| *s)
        .unwrap_or_default();
    let retract = general::load(src).expect("a built-in file compiles");
    let seed = tornsim_core::preset("seed-thread-v1").expect("a built-in preset");
    let seed = general::from_classic(&seed.config).expect("the classic race is a general program");
    vec![
        bench_runs_of(
            "general machine: retract-v1-xen, random runs, one thread",
            &retract,
            seconds,
        ),
        bench_runs_of(
            "general machine: seed-thread-v1, 2 readers, one thread",
            &seed,
            seconds,
        ),
    ]
}

fn bench_runs_of(case: &str, p: &Arc<general::GProgram>, seconds: f64) -> serde_json::Value {
    let mut b = general::GBatch::new(p, 1);
    let start = Instant::now();
    let mut runs = 0;
    while start.elapsed().as_secs_f64() < seconds {
        b.run(1000);
        runs += 1000;
    }
    let secs = start.elapsed().as_secs_f64();
    let steps = b.run(0).steps;
    json!({
        "case": case,
        "runs": runs,
        "seconds": secs,
        "steps": steps,
        "steps_per_sec": steps as f64 / secs,
        "runs_per_sec": runs as f64 / secs,
    })
}
