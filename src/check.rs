//! `tornsim check` and `tornsim matrix`: front ends over the core's exhaustive checker.

use crate::args::{CheckArgs, CheckFormat, MatrixArgs};
use crate::input::ScenarioFile;
use crate::output::{print_json, InputError, HAZARD, INCOMPLETE, OK};
use crate::progress::{par_map_on, Progress};
use serde_json::json;
use std::time::Instant;
use tornsim_core::check::{expected_verdict, matrix_configs, Budget};
use tornsim_core::cutoff::{check_any, readers, AnyResult};
use tornsim_core::{
    replay, CheckOptions, CheckResult, Checker, Config, Knob, Schedule, Trace, Verdict,
};

fn exit_for(v: Verdict) -> u8 {
    match v {
        Verdict::Safe => OK,
        Verdict::Incomplete => INCOMPLETE,
        _ => HAZARD,
    }
}

/// Runs the checker with a progress bar on a terminal.
fn run_check(cfg: &Config, opts: CheckOptions, bar: bool) -> Result<CheckResult, InputError> {
    let mut c = Checker::new(cfg, opts).map_err(|e| InputError(e.to_string()))?;
    let mut p = bar.then(|| Progress::new("states", opts.max_states));
    loop {
        if let Some(r) = c.work(100_000) {
            let r = r.clone();
            if let Some(p) = &mut p {
                p.finish();
            }
            return Ok(r);
        }
        if let Some(p) = &mut p {
            let g = c.progress();
            p.update(
                g.states,
                &format!(
                    "depth {}, frontier {}, class {}/{}",
                    g.depth, g.frontier, g.class, g.classes
                ),
            );
        }
    }
}

/// The witness replayed as a trace (a witness that does not replay is a bug).
fn witness_trace(w: Option<&Schedule>) -> Result<Option<Trace>, InputError> {
    w.map(|w| {
        replay(w)
            .map_err(|e| InputError(format!("internal error: the witness does not replay: {e}")))
    })
    .transpose()
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

pub fn cmd_check(a: CheckArgs) -> Result<u8, InputError> {
    if a.files.first().is_some_and(|f| crate::litmus::is_litmus(f)) {
        return crate::litmus::check_litmus(&a);
    }
    match a.files.len() {
        0 => {
            let cfg = a.config.build()?;
            match cfg.any_readers {
                true => check_any_one(&cfg, None, &a),
                false => check_one(&cfg, None, &a),
            }
        }
        1 => {
            if let Some(g) = crate::general_cmd::load(&a.files[0])? {
                return crate::general_cmd::check(&a, &g);
            }
            let f = ScenarioFile::load(&a.files[0])?;
            let cfg = a.config.build_for(&f)?;
            match cfg.any_readers {
                true => check_any_one(&cfg, Some(&f), &a),
                false => check_one(&cfg, Some(&f), &a),
            }
        }
        _ => check_many(&a),
    }
}

/// One file's row of `check FILE…`.
struct Row {
    file: String,
    scenario: String,
    exists: String,
    verdict: Verdict,
    claim: &'static str,
    states: u64,
    secs: f64,
    schedule: Option<String>,
}

/// Several files: one verdict row each, and whether each file's claim holds.
fn check_many(a: &CheckArgs) -> Result<u8, InputError> {
    let opts = a.search.options()?;
    let mut rows: Vec<Row> = Vec::new();
    let mut worst = OK;
    for path in &a.files {
        let start = Instant::now();
        if let Some(g) = crate::general_cmd::load(path)? {
            let r = tornsim_core::general::check(
                &g.prog,
                tornsim_core::general::GCheckOptions {
                    max_states: opts.max_states,
                    threads: opts.threads,
                    symmetry: opts.symmetry,
                    reduce: opts.reduce,
                    ..Default::default()
                },
            );
            worst = worst.max(exit_for(r.verdict));
            rows.push(Row {
                file: path.display().to_string(),
                scenario: g.prog.name.clone(),
                exists: g.prog.exists.text(),
                verdict: r.verdict,
                claim: claim_word(r.claim(&g.prog)),
                states: r.states,
                secs: start.elapsed().as_secs_f64(),
                schedule: r
                    .witness
                    .map(|w| tornsim_core::general::encode(&g.prog, &w)),
            });
            continue;
        }
        let f = ScenarioFile::load(path)?;
        let cfg = a.config.build_for(&f)?;
        if cfg.any_readers {
            return Err(InputError(format!(
                "readers = any ('{}'): check one scenario file at a time",
                path.display()
            )));
        }
        let r = run_check(&cfg, opts, false)?;
        worst = worst.max(exit_for(r.verdict));
        rows.push(Row {
            file: path.display().to_string(),
            scenario: f.scenario.name.clone(),
            exists: f.scenario.exists.text(),
            verdict: r.verdict,
            claim: claim_word(f.scenario.exists.holds(r.verdict)),
            states: r.states,
            secs: start.elapsed().as_secs_f64(),
            schedule: r.witness.as_ref().map(|w| w.encode()),
        });
    }
    if a.json || a.format == Some(CheckFormat::Json) {
        let v: Vec<_> = rows
            .iter()
            .map(|r| {
                json!({
                    "file": r.file,
                    "scenario": r.scenario,
                    "exists": r.exists,
                    "verdict": r.verdict,
                    "claim": r.claim,
                    "states": r.states,
                    "seconds": r.secs,
                    "schedule": r.schedule,
                })
            })
            .collect();
        print_json(&json!(v));
    } else {
        let w = rows.iter().map(|r| r.file.len()).max().unwrap_or(4).max(4);
        println!(
            "{:<w$}  {:<10}  {:<26}  {:<9}  {:>10}",
            "file", "verdict", "exists", "claim", "states"
        );
        for r in &rows {
            println!(
                "{:<w$}  {:<10}  {:<26}  {:<9}  {:>10}",
                r.file,
                r.verdict.name(),
                r.exists,
                r.claim,
                r.states
            );
        }
    }
    Ok(worst)
}

/// Adds a scenario file's name and claim to a check's JSON.
fn with_claim(
    file: Option<&ScenarioFile>,
    v: Verdict,
    mut j: serde_json::Value,
) -> serde_json::Value {
    if let (Some(f), Some(o)) = (file, j.as_object_mut()) {
        o.insert("scenario".into(), json!(f.scenario.name));
        o.insert("exists".into(), json!(f.scenario.exists.text()));
        o.insert(
            "claim".into(),
            json!(claim_word(f.scenario.exists.holds(v))),
        );
    }
    j
}

/// How a file's claim fared: `holds`, `fails`, or `undecided`.
fn claim_word(h: Option<bool>) -> &'static str {
    match h {
        Some(true) => "holds",
        Some(false) => "fails",
        None => "undecided",
    }
}

fn check_one(cfg: &Config, file: Option<&ScenarioFile>, a: &CheckArgs) -> Result<u8, InputError> {
    let cfg = cfg.clone();
    let opts = a.search.options()?;
    let format = if a.json {
        CheckFormat::Json
    } else {
        a.format.unwrap_or(CheckFormat::Table)
    };
    let start = Instant::now();
    let r = run_check(&cfg, opts, true)?;
    let secs = start.elapsed().as_secs_f64();
    let trace = witness_trace(r.witness.as_ref())?;
    let schedule = r.witness.as_ref().map(|w| w.encode());
    let stats = format!(
        "{} states, {} transitions, depth {}, {:.2} s, {:.0} MiB",
        r.states,
        r.transitions,
        r.depth,
        secs,
        mib(r.peak_bytes)
    );
    match format {
        CheckFormat::Json => print_json(&with_claim(file, r.verdict, {
            let mut j = json!({
                "config": cfg,
                "verdict": r.verdict,
                "states": r.states,
                "transitions": r.transitions,
                "depth": r.depth,
                "seconds": secs,
                "peak_bytes": r.peak_bytes,
                "max_states": opts.max_states,
                "reduction": opts.reduce,
                "symmetry": opts.symmetry,
                "schedule": schedule,
                "steps": trace.as_ref().map(|t| t.steps.len()),
                "trace": trace,
            });
            // Only an incomplete search says which budget stopped it.
            if let Some(b) = r.stopped_by {
                j["stopped_by"] = json!(b);
                j["max_bytes"] = json!(opts.max_bytes);
            }
            j
        })),
        CheckFormat::Kernel => match &trace {
            Some(t) => {
                print!("{}", t.to_kernel());
                println!("\n/* shortest of all interleavings; {stats} */");
                println!("/* tornsim replay {} */", schedule.unwrap_or_default());
            }
            None => {
                println!("/* {} */", cfg.summary());
                println!("{}: {}", r.verdict, verdict_sentence(&r));
                println!("/* {stats} */");
            }
        },
        CheckFormat::Table => {
            println!("tornsim check: {}", cfg.summary());
            println!("verdict: {} ({})", r.verdict, verdict_sentence(&r));
            if let Some(f) = file {
                let e = &f.scenario.exists;
                println!(
                    "{}: the file's claim {}",
                    e.text(),
                    claim_word(e.holds(r.verdict))
                );
            }
            // The diagram's comment stays short enough for a commit message; here
            // there is room to say the search ran on several threads.
            println!("{stats}{}", crate::output::on_threads(opts.threads));
            if let (Some(t), Some(s)) = (&trace, &schedule) {
                println!();
                println!("shortest witness, {} steps:", t.steps.len());
                print!("{}", t.to_table());
                println!();
                println!("tornsim replay {s}");
            }
        }
    }
    Ok(exit_for(r.verdict))
}

/// `--readers any` (or `readers = any` in the file): the cutoff argument, then checks at
/// 1..=cutoff readers (or 1..=--bound where the argument does not apply).
fn check_any_one(
    cfg: &Config,
    file: Option<&ScenarioFile>,
    a: &CheckArgs,
) -> Result<u8, InputError> {
    let opts = a.search.options()?;
    let start = Instant::now();
    let r = check_any(cfg, opts, a.bound).map_err(|e| InputError(e.to_string()))?;
    let secs = start.elapsed().as_secs_f64();
    let trace = witness_trace(r.result.witness.as_ref())?;
    let schedule = r.result.witness.as_ref().map(|w| w.encode());
    let sentence = r.sentence();
    let json = a.json || a.format == Some(CheckFormat::Json);
    if json {
        print_json(&with_claim(
            file,
            r.verdict,
            crate::output::any_fields!(r, &sentence, secs).with(json!({
                "config": cfg,
                "schedule": schedule,
                "steps": trace.as_ref().map(|t| t.steps.len()),
                "trace": trace,
            })),
        ));
    } else if let (Some(CheckFormat::Kernel), Some(t), Some(s)) = (a.format, &trace, &schedule) {
        // The kernel-style diagram of the witness, on the fewest CPUs that reach it.
        print!("{}", t.to_kernel());
        println!("\n/* {sentence}; shortest of all interleavings at that count */");
        println!("/* tornsim replay {s} */");
    } else {
        let shown = Config {
            readers: r.readers,
            any_readers: false,
            ..cfg.clone()
        };
        println!("tornsim check --readers any: {}", shown.summary());
        println!("verdict: {sentence}");
        if let Some(f) = &file {
            let e = &f.scenario.exists;
            println!(
                "{}: the file's claim {}",
                e.text(),
                claim_word(e.holds(r.verdict))
            );
        }
        print!("{}", r.argument.explain("reader"));
        println!("checked: {}", r.checked_text());
        println!(
            "{} states at {}, {secs:.2} s in all",
            r.result.states,
            readers(r.readers)
        );
        if let (Some(t), Some(s)) = (&trace, &schedule) {
            println!();
            println!(
                "shortest witness, with the fewest readers ({}), {} steps:",
                r.readers,
                t.steps.len()
            );
            print!("{}", t.to_table());
            println!();
            println!("tornsim replay {s}");
        }
    }
    Ok(match r.verdict {
        Verdict::Safe if !r.proved => INCOMPLETE,
        v => exit_for(v),
    })
}

fn verdict_sentence(r: &CheckResult) -> &'static str {
    match r.verdict {
        Verdict::Incomplete if r.stopped_by == Some(Budget::Memory) => {
            "the memory budget ran out before the search ended: nothing is proven (raise --max-memory)"
        }
        Verdict::Incomplete => {
            "the state budget ran out before the search ended: nothing is proven (raise --max-states)"
        }
        v => v.sentence(),
    }
}

/// The matrix table's first columns: a cell's knobs (or their heads).
fn columns([mode, reader, sync, clear, set]: [&str; 5]) -> String {
    format!("{mode:<11} {reader:<9} {sync:<16} {clear:<16} {set:<17}")
}

/// A cell's knobs as the matrix table's first columns.
fn cell_columns(cfg: &Config) -> String {
    columns([
        cfg.mode.name(),
        cfg.reader.name(),
        cfg.sync.name(),
        cfg.clear.name(),
        cfg.set.name(),
    ])
}

/// The matrix's cells once per memory model `--memory` names (`sc` alone by default),
/// with `--apic` for the TSO ones.
fn with_memory(configs: Vec<Config>, a: &MatrixArgs) -> Result<Vec<Config>, InputError> {
    let list = a.memory.as_deref().unwrap_or("sc");
    let mut out = Vec::new();
    for m in list.split(',') {
        for c in &configs {
            let mut c = c.clone();
            c.set("memory", m.trim())?;
            if let Some(apic) = &a.apic {
                c.set("apic", apic)?;
            }
            out.push(c);
        }
    }
    Ok(out)
}

/// The memory column's text, when the matrix shows one.
fn memory_column(cfg: &Config, show: bool) -> String {
    if show {
        format!("{:<6} ", cfg.memory.name())
    } else {
        String::new()
    }
}

/// A cell's JSON row: its knobs, then `rest`'s fields.
fn cell_row(cfg: &Config, show_memory: bool, rest: serde_json::Value) -> serde_json::Value {
    let mut row = json!({
        "mode": cfg.mode.name(),
        "reader": cfg.reader.name(),
        "sync": cfg.sync.name(),
        "clear": cfg.clear.name(),
        "set": cfg.set.name(),
    });
    if show_memory {
        row["memory"] = json!(cfg.memory.name());
        row["apic"] = json!(cfg.apic.name());
    }
    if let (Some(o), serde_json::Value::Object(r)) = (row.as_object_mut(), rest) {
        o.extend(r);
    }
    row
}

struct Cell {
    cfg: Config,
    result: CheckResult,
    seconds: f64,
}

pub fn cmd_matrix(a: MatrixArgs) -> Result<u8, InputError> {
    if a.readers.trim() == "any" {
        return cmd_matrix_any(a);
    }
    let readers: u32 = a
        .readers
        .trim()
        .parse()
        .map_err(|_| InputError(format!("--readers: '{}' is not a number", a.readers)))?;
    let configs = with_memory(matrix_configs(readers, a.all_splits), &a)?;
    let show_memory = a.memory.is_some();
    for c in &configs {
        c.validate()?;
    }
    // Cells are many and small: each runs on one thread, and `--threads` of them at once.
    let opts = a.search.options()?;
    let (threads, opts) = (opts.threads as usize, CheckOptions { threads: 1, ..opts });
    let start = Instant::now();
    let cells: Vec<Cell> = par_map_on(threads, "cells", &configs, |cfg| {
        let t = Instant::now();
        run_check(cfg, opts, false).map(|result| Cell {
            cfg: cfg.clone(),
            result,
            seconds: t.elapsed().as_secs_f64(),
        })
    })
    .into_iter()
    .collect::<Result<_, _>>()?;
    let secs = start.elapsed().as_secs_f64();
    let mut disagree = 0;
    let mut incomplete = 0;
    let mut rows = Vec::new();
    for c in &cells {
        let expected = expected_verdict(&c.cfg);
        let v = c.result.verdict;
        incomplete += (v == Verdict::Incomplete) as u32;
        let agrees = v == expected;
        disagree += (!agrees && v != Verdict::Incomplete) as u32;
        rows.push(cell_row(
            &c.cfg,
            show_memory,
            json!({
                "verdict": v,
                "model_md": expected,
                "agrees": agrees,
                "states": c.result.states,
                "transitions": c.result.transitions,
                "seconds": c.seconds,
                "peak_bytes": c.result.peak_bytes,
                "witness_steps": c.result.witness.as_ref().map(|w| w.choices.len()),
                "schedule": c.result.witness.as_ref().map(|w| w.encode()),
            }),
        ));
    }
    let largest = cells.iter().map(|c| c.result.states).max().unwrap_or(0);
    if a.json {
        print_json(&json!({
            "readers": readers,
            "all_splits": a.all_splits,
            "cells": rows,
            "seconds": secs,
            "largest_states": largest,
            "disagreements": disagree,
            "incomplete": incomplete,
        }));
    } else {
        println!(
            "{}{} {:<10} {:<9} {:>10} {:>8}",
            if show_memory { "memory " } else { "" },
            columns(["mode", "reader", "sync", "clear", "set"]),
            "verdict",
            "MODEL.md",
            "states",
            "seconds"
        );
        for (c, r) in cells.iter().zip(&rows) {
            let v = c.result.verdict;
            println!(
                "{}{} {:<10} {:<9} {:>10} {:>8.2}",
                memory_column(&c.cfg, show_memory),
                cell_columns(&c.cfg),
                if r["agrees"] == true || v == Verdict::Incomplete {
                    v.name().to_string()
                } else {
                    format!("{v} (!)")
                },
                expected_verdict(&c.cfg).name(),
                c.result.states,
                c.seconds
            );
        }
        println!();
        println!(
            "{} cells, {} readers each: {} agree with MODEL.md, {} disagree, {} incomplete; \
             largest {} states; {:.2} s in all",
            cells.len(),
            readers,
            cells.len() as u32 - disagree - incomplete,
            disagree,
            incomplete,
            largest,
            secs
        );
    }
    Ok(if disagree > 0 {
        HAZARD
    } else if incomplete > 0 {
        INCOMPLETE
    } else {
        OK
    })
}

/// `matrix --readers any`: every cell for every reader count.
fn cmd_matrix_any(a: MatrixArgs) -> Result<u8, InputError> {
    let configs = with_memory(matrix_configs(1, a.all_splits), &a)?;
    let show_memory = a.memory.is_some();
    let opts = a.search.options()?;
    let (threads, opts) = (opts.threads as usize, CheckOptions { threads: 1, ..opts });
    let start = Instant::now();
    let cells: Vec<(Config, AnyResult, f64)> = par_map_on(threads, "cells", &configs, |cfg| {
        let t = Instant::now();
        check_any(cfg, opts, 3)
            .map(|r| (cfg.clone(), r, t.elapsed().as_secs_f64()))
            .map_err(|e| InputError(e.to_string()))
    })
    .into_iter()
    .collect::<Result<_, _>>()?;
    let secs = start.elapsed().as_secs_f64();
    let (mut disagree, mut unproved) = (0, 0);
    let mut rows = Vec::new();
    for (cfg, r, seconds) in &cells {
        let expected = expected_verdict(cfg);
        let agrees = r.verdict == expected;
        disagree += (!agrees && r.verdict != Verdict::Incomplete) as u32;
        unproved += !r.proved as u32;
        rows.push(cell_row(
            cfg,
            show_memory,
            json!({
                "verdict": r.verdict,
                "proved": r.proved,
                "cutoff": r.argument.proven_cutoff(),
                "fewest_readers": r.result.witness.as_ref().map(|_| r.readers),
                "model_md": expected,
                "agrees": agrees,
                "states": r.result.states,
                "seconds": seconds,
                "schedule": r.result.witness.as_ref().map(|w| w.encode()),
            }),
        ));
    }
    if a.json {
        print_json(&json!({
            "readers": "any",
            "all_splits": a.all_splits,
            "cells": rows,
            "seconds": secs,
            "disagreements": disagree,
            "unproved": unproved,
        }));
    } else {
        println!(
            "{}{} {:<10} {:<7} {:<9} {:>8}",
            if show_memory { "memory " } else { "" },
            columns(["mode", "reader", "sync", "clear", "set"]),
            "verdict",
            "readers",
            "MODEL.md",
            "seconds"
        );
        for ((cfg, r, seconds), row) in cells.iter().zip(&rows) {
            println!(
                "{}{} {:<10} {:<7} {:<9} {:>8.2}",
                memory_column(cfg, show_memory),
                cell_columns(cfg),
                if row["agrees"] == true || r.verdict == Verdict::Incomplete {
                    r.verdict.name().to_string()
                } else {
                    format!("{} (!)", r.verdict)
                },
                match (&r.result.witness, r.proved) {
                    (Some(_), _) => format!(">= {}", r.readers),
                    (None, true) => "any".to_string(),
                    (None, false) => format!("1..={}", r.readers),
                },
                expected_verdict(cfg).name(),
                seconds
            );
        }
        println!();
        println!(
            "{} cells, any number of readers: {} agree with MODEL.md, {} disagree, {} not proved; {:.2} s in all",
            cells.len(),
            cells.len() as u32 - disagree,
            disagree,
            unproved,
            secs
        );
    }
    Ok(if disagree > 0 {
        HAZARD
    } else if unproved > 0 {
        INCOMPLETE
    } else {
        OK
    })
}

/// The checker's figures for `tornsim bench`: the whole two-reader matrix with every
/// split (one thread), then the merged code with more and more readers.
pub fn bench_checker() -> Result<Vec<serde_json::Value>, InputError> {
    let mut out = Vec::new();
    let cells = matrix_configs(2, true);
    let start = Instant::now();
    let (mut states, mut peak) = (0, 0);
    for cfg in &cells {
        let r = run_check(cfg, CheckOptions::default(), false)?;
        states += r.states;
        peak = peak.max(r.peak_bytes);
    }
    let sc_secs = start.elapsed().as_secs_f64();
    out.push(json!({
        "case": format!("matrix --all-splits --readers 2 ({} cells, one thread)", cells.len()),
        "states": states,
        "seconds": sc_secs,
        "peak_bytes": peak,
    }));
    // The same matrix under x86-TSO: its time against SC's is a floor (at most 10x).
    let start = Instant::now();
    let (mut states, mut peak) = (0, 0);
    for cfg in &cells {
        let mut cfg = cfg.clone();
        cfg.memory = tornsim_core::config::Memory::Tso;
        let r = run_check(&cfg, CheckOptions::default(), false)?;
        states += r.states;
        peak = peak.max(r.peak_bytes);
    }
    let tso_secs = start.elapsed().as_secs_f64();
    out.push(json!({
        "case": format!("the same under --memory tso ({:.1}x the sc time)", tso_secs / sc_secs),
        "states": states,
        "seconds": tso_secs,
        "peak_bytes": peak,
    }));
    for readers in [3, 4, 5, 6] {
        let mut cfg = tornsim_core::preset("merged")?.config;
        cfg.readers = readers;
        let start = Instant::now();
        let r = run_check(&cfg, CheckOptions::default(), false)?;
        out.push(json!({
            "case": format!("check merged, {readers} readers ({})", r.verdict),
            "states": r.states,
            "seconds": start.elapsed().as_secs_f64(),
            "peak_bytes": r.peak_bytes,
        }));
    }
    // The largest built-in search (x86-TSO and shared words: neither reduction nor
    // symmetry applies) on one thread and on every core, side by side.
    let src = tornsim_core::program::BUILTIN
        .iter()
        .find(|(name, _)| *name == "handshake-mb")
        .expect("a built-in scenario")
        .1;
    let (_, mut cfg) = tornsim_core::program::load(src).map_err(|e| InputError(e.to_string()))?;
    cfg.readers = 3;
    let cores = crate::args::threads(None)?.max(2);
    let mut one_secs = 0.0;
    for threads in [1, cores] {
        let opts = CheckOptions {
            threads,
            ..CheckOptions::default()
        };
        let start = Instant::now();
        let r = run_check(&cfg, opts, false)?;
        let secs = start.elapsed().as_secs_f64();
        if threads == 1 {
            one_secs = secs;
        }
        let speedup = if threads == 1 {
            String::new()
        } else {
            format!(", {:.2}x", one_secs / secs)
        };
        out.push(json!({
            "case": format!("check handshake-mb, 3 readers, {threads} thread{}{speedup}", if threads == 1 { "" } else { "s" }),
            "threads": threads,
            "states": r.states,
            "seconds": secs,
            "states_per_sec": r.states as f64 / secs,
            "peak_bytes": r.peak_bytes,
        }));
    }
    Ok(out)
}
