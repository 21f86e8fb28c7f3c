//! The `tornsim` command: a thin front end over `tornsim-core`.

mod args;
mod check;
mod general_cmd;
mod history_cmd;
mod input;
mod litmus;
mod output;
mod progress;
mod reference;
mod scenario_cmd;
mod sweep;

use args::{BenchArgs, Cli, Command, PresetsArgs, ReplayArgs, RunArgs, SchedulerKind, TraceFormat};
use clap::Parser;
use output::{print_json, InputError, BAD_INPUT, HAZARD, OK};
use serde_json::json;
use std::process::ExitCode;
use std::time::Instant;
use tornsim_core::{presets, replay_str, Batch, Config, ReplayError, SchedulerSpec, Stats};

fn main() -> ExitCode {
    // A panic is a bug, but the user still gets one line and status 2, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        // A reader that stopped reading (`tornsim matrix | head`) is no bug: stop
        // quietly, as ripgrep and the coreutils do.
        if msg.contains("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(0);
        }
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("tornsim: internal error{at}: {msg} (please report it)");
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind::*;
            if matches!(
                e.kind(),
                DisplayHelp | DisplayVersion | DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                return ExitCode::from(if e.kind() == DisplayHelpOnMissingArgumentOrSubcommand {
                    BAD_INPUT
                } else {
                    OK
                });
            }
            // clap explains over several lines; keep its first paragraph, on one line.
            let text = e.render().to_string();
            let first: Vec<&str> = text
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            let first = first.join(" ");
            let first = first.trim_start_matches("error: ");
            eprintln!("tornsim: error: {first} (see tornsim --help)");
            return ExitCode::from(BAD_INPUT);
        }
    };
    let result = std::panic::catch_unwind(|| match cli.command {
        Command::Run(a) => cmd_run(a),
        Command::Replay(a) => cmd_replay(a),
        Command::Presets(a) => cmd_presets(a),
        Command::Check(a) => check::cmd_check(a),
        Command::Matrix(a) => check::cmd_matrix(a),
        Command::Sweep(a) => sweep::cmd_sweep(a),
        Command::Merge(a) => sweep::cmd_merge(a),
        Command::Sensitivity(a) => sweep::cmd_sensitivity(a),
        Command::Bench(a) => cmd_bench(a),
        Command::Show(a) => scenario_cmd::cmd_show(a),
        Command::Primitives(a) => scenario_cmd::cmd_primitives(a),
        Command::History(a) => history_cmd::cmd_history(a),
        Command::Reference(a) => reference::cmd_reference(a),
    });
    match result {
        Ok(Ok(code)) => ExitCode::from(code),
        Ok(Err(e)) => {
            eprintln!("tornsim: error: {e}");
            ExitCode::from(BAD_INPUT)
        }
        Err(_) => ExitCode::from(BAD_INPUT),
    }
}

/// Runs `runs` runs of a batch on `threads` threads. The result does not depend on the
/// thread count: each thread runs a contiguous slice of run indices and slices merge.
fn run_batch(
    cfg: &Config,
    spec: SchedulerSpec,
    seed: u64,
    runs: u64,
    threads: usize,
) -> Result<Stats, InputError> {
    let threads = threads.clamp(1, 64) as u64;
    let per = runs.div_ceil(threads);
    let mut bar = progress::Progress::new("runs", runs);
    let done = std::sync::atomic::AtomicU64::new(0);
    let torn = std::sync::atomic::AtomicU64::new(0);
    let mut total = Stats::default();
    let parts: Vec<Result<Stats, InputError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (first, count) = (t * per, per.min(runs.saturating_sub(t * per)));
                let (done, torn) = (&done, &torn);
                s.spawn(move || {
                    let mut b = Batch::new(cfg, spec, seed)?.starting_at(first);
                    let chunk = 20_000;
                    let mut left = count;
                    while left > 0 {
                        let n = left.min(chunk);
                        let st = b.run(n);
                        done.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
                        torn.fetch_add(st.runs_with_torn, std::sync::atomic::Ordering::Relaxed);
                        left -= n;
                    }
                    Ok(b.stats().clone())
                })
            })
            .collect();
        while handles.iter().any(|h| !h.is_finished()) {
            std::thread::sleep(std::time::Duration::from_millis(50));
            let t = torn.load(std::sync::atomic::Ordering::Relaxed);
            bar.update(
                done.load(std::sync::atomic::Ordering::Relaxed),
                &format!("{t} with a torn read"),
            );
        }
        handles
            .into_iter()
            .map(|h| h.join().expect("worker threads do not panic"))
            .collect()
    });
    bar.finish();
    for p in parts {
        total.merge(&p?);
    }
    Ok(total)
}

fn cmd_run(a: RunArgs) -> Result<u8, InputError> {
    if a.files.is_empty() {
        let cfg = a.config.build()?;
        return run_one(&cfg, &a);
    }
    let mut worst = OK;
    for (i, path) in a.files.iter().enumerate() {
        if let Some(g) = general_cmd::load(path)? {
            if a.files.len() > 1 && !a.json {
                if i > 0 {
                    println!();
                }
                println!("== {}", path.display());
            }
            worst = worst.max(general_cmd::run(&a, &g)?);
            continue;
        }
        let f = input::ScenarioFile::load(path)?;
        let cfg = a.config.build_for(&f)?;
        if a.files.len() > 1 && !a.json {
            if i > 0 {
                println!();
            }
            println!("== {}", path.display());
        }
        worst = worst.max(run_one(&cfg, &a)?);
    }
    Ok(worst)
}

fn run_one(cfg: &Config, a: &RunArgs) -> Result<u8, InputError> {
    let cfg = cfg.clone();
    if a.runs == 0 {
        return Err(InputError("--runs: must be at least 1".into()));
    }
    let spec = match a.scheduler {
        SchedulerKind::Random => SchedulerSpec::Random,
        SchedulerKind::Pct => SchedulerSpec::Pct { depth: a.depth },
    };
    spec.validate()?;
    let threads = a.threads.unwrap_or_else(progress::cores);
    if threads == 0 {
        return Err(InputError("--threads: must be at least 1".into()));
    }
    let st = run_batch(&cfg, spec, a.seed, a.runs, threads)?;
    let (rate, lo, hi) = st.torn_per_million();
    // A clause with a condition on final registers and words: its own rate.
    let observes = tornsim_core::program::of_config(&cfg).exists.cond.is_some();
    let (orate, olo, ohi) = {
        let (lo, hi) = tornsim_core::run::wilson(st.runs_observed, st.runs);
        (
            st.runs_observed as f64 / st.runs as f64 * 1e6,
            lo * 1e6,
            hi * 1e6,
        )
    };
    if a.json {
        let rec =
            |r: &Option<tornsim_core::HazardRecord>| serde_json::to_value(r).unwrap_or_default();
        let mut v = json!({
            "config": cfg,
            "scheduler": spec,
            "seed": a.seed,
            "runs": st.runs,
            "torn_reads": st.torn_reads,
            "runs_with_torn": st.runs_with_torn,
            "torn_runs_per_million": { "estimate": rate, "low95": lo, "high95": hi },
            "retries": st.retries,
            "stale_uses": st.stale_uses,
            "runs_with_stale": st.runs_with_stale,
            "reads": st.reads,
            "steps": st.steps,
            "ipis_sent": st.ipis_sent,
            "ptl_held_steps": st.ptl_held_steps,
            "deadlocks": st.deadlocks,
            "step_limit_runs": st.step_limit_runs,
            "first_torn_schedule": st.first_torn.as_ref().map(|r| &r.schedule),
            "first_torn": rec(&st.first_torn),
            "first_stale_schedule": st.first_stale.as_ref().map(|r| &r.schedule),
            "first_stale": rec(&st.first_stale),
            "first_deadlock": rec(&st.first_deadlock),
        });
        if observes {
            v["runs_observed"] = json!(st.runs_observed);
            v["observed_runs_per_million"] =
                json!({ "estimate": orate, "low95": olo, "high95": ohi });
            v["first_observed"] = rec(&st.first_observed);
        }
        print_json(&v);
    } else {
        let per_run = |x: u64| x as f64 / st.runs as f64;
        println!("tornsim run: {}", cfg.summary());
        println!("scheduler {}, seed {}", spec.name(), a.seed);
        println!();
        println!("runs                      {:>12}", st.runs);
        println!(
            "runs with a torn read     {:>12}   {:.1} per million (95% CI {:.1} .. {:.1})",
            st.runs_with_torn, rate, lo, hi
        );
        println!("torn reads                {:>12}", st.torn_reads);
        println!("retries (pmd_low changed) {:>12}", st.retries);
        println!("stale uses after free     {:>12}", st.stale_uses);
        println!("completed reads           {:>12}", st.reads);
        println!(
            "steps                     {:>12}   {:.1} per run",
            st.steps,
            per_run(st.steps)
        );
        println!(
            "IPIs sent                 {:>12}   {:.1} per run",
            st.ipis_sent,
            per_run(st.ipis_sent)
        );
        println!(
            "steps with the PTL held   {:>12}   {:.1} per run",
            st.ptl_held_steps,
            per_run(st.ptl_held_steps)
        );
        println!("deadlocks                 {:>12}", st.deadlocks);
        if observes {
            println!(
                "runs ending as exists says{:>11}   {orate:.1} per million (95% CI {olo:.1} .. {ohi:.1})",
                st.runs_observed
            );
        }
        if st.step_limit_runs > 0 {
            println!("runs over the step limit  {:>12}", st.step_limit_runs);
        }
        for (what, r) in [
            ("torn read", &st.first_torn),
            ("stale use", &st.first_stale),
            ("deadlock", &st.first_deadlock),
            ("run ending as exists says", &st.first_observed),
        ] {
            if let Some(r) = r {
                println!();
                // A deadlock or a final state is a state, not one CPU's step.
                let cpu = if r.cpu == u8::MAX {
                    String::new()
                } else {
                    format!(", CPU{}", r.cpu)
                };
                println!("first {what}: run {}, step {}{cpu}", r.run, r.step);
                println!("  tornsim replay {}", r.schedule);
            }
        }
    }
    Ok(if st.any_hazard() { HAZARD } else { OK })
}

fn cmd_replay(a: ReplayArgs) -> Result<u8, InputError> {
    let t = match a.args.as_slice() {
        [schedule] => replay_str(schedule).map_err(|e| InputError(e.to_string()))?,
        [file, schedule] => {
            if let Some(g) = general_cmd::load(std::path::Path::new(file))? {
                return general_cmd::replay(&g, schedule, a.format, a.readers);
            }
            let f = input::ScenarioFile::load(std::path::Path::new(file))?;
            let s = tornsim_core::Schedule::decode_with(schedule, f.config.scenario.as_ref())
                .map_err(|e| InputError(e.to_string()))?;
            tornsim_core::replay(&s).map_err(|e| match e {
                ReplayError::Schedule(e) => InputError(e.to_string()),
                e => InputError(e.to_string()),
            })?
        }
        _ => return Err(InputError("replay takes [FILE] SCHEDULE".into())),
    };
    match a.format {
        TraceFormat::Table => print!("{}", t.to_table()),
        TraceFormat::Json => print_json(&serde_json::to_value(&t).expect("traces serialise")),
    }
    Ok(
        if t.hazards().next().is_some() || t.deadlocked || t.observed {
            HAZARD
        } else {
            OK
        },
    )
}

fn cmd_presets(a: PresetsArgs) -> Result<u8, InputError> {
    let ps = presets();
    if a.json {
        print_json(&serde_json::to_value(&ps).expect("presets serialise"));
    } else {
        let base = Config::default();
        for p in ps {
            println!("{:<16} {}", p.name, p.summary);
            println!("{:<16} {}", "", p.config.to_query(&base));
        }
    }
    Ok(OK)
}

fn cmd_bench(a: BenchArgs) -> Result<u8, InputError> {
    if !(a.seconds > 0.0 && a.seconds <= 600.0) {
        return Err(InputError("--seconds: must be in (0, 600]".into()));
    }
    let mut cases = Vec::new();
    for readers in [2u32, 8] {
        let mut cfg = tornsim_core::preset("seed-thread-v1")?.config;
        cfg.readers = readers;
        let mut b = Batch::new(&cfg, SchedulerSpec::Random, 1)?;
        b.run(2_000); // warm up
        let start = Instant::now();
        let mut runs = 0u64;
        let mut steps = 0u64;
        while start.elapsed().as_secs_f64() < a.seconds {
            let s = b.run(5_000);
            runs += s.runs;
            steps += s.steps;
        }
        let secs = start.elapsed().as_secs_f64();
        cases.push(json!({
            "case": format!("seed-thread-v1, {readers} readers, random scheduler, one thread"),
            "readers": readers,
            "runs": runs,
            "steps": steps,
            "seconds": secs,
            "steps_per_sec": steps as f64 / secs,
            "runs_per_sec": runs as f64 / secs,
        }));
    }
    // Timed runs (the cost model), merged code under Xen PV with 2 readers.
    let cfg = tornsim_core::preset("merged")?.config;
    let lat = tornsim_core::timed::Latencies::default();
    let start = Instant::now();
    let mut timed_runs = 0u64;
    while start.elapsed().as_secs_f64() < a.seconds {
        timed_runs += tornsim_core::timed::timed_batch(&cfg, &lat, timed_runs, 5_000)?.runs;
    }
    let secs = start.elapsed().as_secs_f64();
    cases.push(json!({
        "case": "timed runs (cost model), merged, 2 readers, one thread",
        "readers": 2,
        "runs": timed_runs,
        "seconds": secs,
        "steps_per_sec": null,
        "runs_per_sec": timed_runs as f64 / secs,
    }));
    let mut checker = check::bench_checker()?;
    checker.extend(general_cmd::bench_check());
    cases.extend(general_cmd::bench_runs(a.seconds));
    let litmus = litmus::bench_litmus()?;
    if a.json {
        print_json(&json!({ "cases": cases, "checker": checker, "litmus": litmus }));
    } else {
        println!("{:<58} {:>14} {:>12}", "case", "steps/s", "runs/s");
        for c in &cases {
            println!(
                "{:<58} {:>14.0} {:>12.0}",
                c["case"].as_str().unwrap_or(""),
                c["steps_per_sec"].as_f64().unwrap_or(0.0),
                c["runs_per_sec"].as_f64().unwrap_or(0.0)
            );
        }
        println!();
        println!(
            "{:<58} {:>14} {:>12} {:>9} {:>12}",
            "exhaustive check", "states", "seconds", "MiB", "states/s"
        );
        for c in &checker {
            let states = c["states"].as_u64().unwrap_or(0);
            let secs = c["seconds"].as_f64().unwrap_or(0.0);
            println!(
                "{:<58} {:>14} {:>12.3} {:>9.1} {:>12.0}",
                c["case"].as_str().unwrap_or(""),
                states,
                secs,
                c["peak_bytes"].as_f64().unwrap_or(0.0) / 1048576.0,
                states as f64 / secs.max(1e-9)
            );
        }
        println!();
        println!(
            "{:<58} {:>14} {:>12}",
            "litmus tests", "slowest s", "total s"
        );
        for l in &litmus {
            println!(
                "{:<58} {:>14.4} {:>12.4}",
                l["case"].as_str().unwrap_or(""),
                l["slowest_seconds"].as_f64().unwrap_or(0.0),
                l["seconds"].as_f64().unwrap_or(0.0)
            );
        }
    }
    Ok(OK)
}
