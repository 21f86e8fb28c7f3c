//! End-to-end tests of the `tornsim` command: exit statuses, determinism, and every bad
//! input answered with one line on stderr.

use std::process::{Command, Output};

fn tornsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tornsim"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

#[test]
fn the_withdrawn_patch_tears_and_the_merged_code_does_not() {
    let v1 = tornsim(&[
        "run",
        "--preset",
        "seed-thread-v1",
        "--runs",
        "20000",
        "--seed",
        "7",
        "--json",
    ]);
    assert_eq!(v1.status.code(), Some(1), "{}", stderr(&v1));
    let j = json(&v1);
    assert!(j["torn_reads"].as_u64().unwrap() > 0);
    assert!(j["runs_with_torn"].as_u64().unwrap() > 0);
    assert_eq!(j["runs"], 20000);
    assert_eq!(j["config"]["mode"], "xen-pv");
    assert!(j["first_torn_schedule"]
        .as_str()
        .unwrap()
        .starts_with("ts1."));
    for key in [
        "retries",
        "stale_uses",
        "steps",
        "ipis_sent",
        "ptl_held_steps",
        "reads",
    ] {
        assert!(j[key].is_u64(), "{key} missing");
    }

    let merged = tornsim(&[
        "run", "--preset", "merged", "--runs", "20000", "--seed", "7", "--json",
    ]);
    assert_eq!(merged.status.code(), Some(0), "{}", stderr(&merged));
    let j = json(&merged);
    assert_eq!(j["torn_reads"], 0);
    assert!(j["first_torn_schedule"].is_null());
}

#[test]
fn the_same_seed_gives_byte_identical_output_on_any_thread_count() {
    let args = [
        "run",
        "--preset",
        "seed-thread-v1",
        "--runs",
        "20000",
        "--seed",
        "7",
        "--json",
    ];
    let a = tornsim(&args);
    let b = tornsim(&args);
    assert_eq!(a.stdout, b.stdout);
    let mut one = args.to_vec();
    one.extend(["--threads", "1"]);
    let mut three = args.to_vec();
    three.extend(["--threads", "3"]);
    assert_eq!(tornsim(&one).stdout, a.stdout);
    assert_eq!(tornsim(&three).stdout, a.stdout);
    // The table form is deterministic too, and another seed differs.
    let t1 = tornsim(&[
        "run",
        "--preset",
        "seed-thread-v1",
        "--runs",
        "5000",
        "--seed",
        "3",
    ]);
    let t2 = tornsim(&[
        "run",
        "--preset",
        "seed-thread-v1",
        "--runs",
        "5000",
        "--seed",
        "3",
    ]);
    assert_eq!(t1.stdout, t2.stdout);
    let other = tornsim(&[
        "run",
        "--preset",
        "seed-thread-v1",
        "--runs",
        "20000",
        "--seed",
        "8",
        "--json",
    ]);
    assert_ne!(other.stdout, a.stdout);
}

#[test]
fn a_torn_schedule_replays_as_a_trace() {
    let run = tornsim(&[
        "run",
        "--preset",
        "seed-thread-v1",
        "--runs",
        "20000",
        "--seed",
        "7",
        "--json",
    ]);
    let sched = json(&run)["first_torn_schedule"]
        .as_str()
        .unwrap()
        .to_string();
    let table = tornsim(&["replay", &sched]);
    assert_eq!(table.status.code(), Some(1));
    let text = stdout(&table);
    assert!(text.contains("TORN"), "{text}");
    assert!(text.contains("CPU0 (khugepaged)") && text.contains("local_irq_save()"));
    let j = tornsim(&["replay", &sched, "--format", "json"]);
    let t = json(&j);
    assert!(t["steps"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["hazard"] == "torn"));
    assert_eq!(t["schedule"], sched.as_str());
}

#[test]
fn pct_and_config_files_work() {
    let dir = std::env::temp_dir().join(format!("tornsim-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let toml = dir.join("walker.toml");
    std::fs::write(&toml, "preset = \"native-pae\"\n").unwrap();
    let bad = tornsim(&["run", "--config", toml.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("unknown preset 'native-pae'"),
        "{}",
        stderr(&bad)
    );
    std::fs::write(
        &toml,
        "mode = \"native-pae\"\nsync = \"after-unlock\"\nreader = \"walker\"\nreaders = 1\n",
    )
    .unwrap();
    let o = tornsim(&[
        "run",
        "--config",
        toml.to_str().unwrap(),
        "--runs",
        "20000",
        "--json",
    ]);
    let j = json(&o);
    assert_eq!(j["config"]["reader"], "walker");
    assert_eq!(j["config"]["readers"], 1);
    assert!(j["torn_reads"].as_u64().unwrap() > 0);
    let js = dir.join("x.json");
    std::fs::write(&js, r#"{"preset": "merged", "readers": 3}"#).unwrap();
    let j = json(&tornsim(&[
        "run",
        "--config",
        js.to_str().unwrap(),
        "--readers",
        "4",
        "--runs",
        "100",
        "--json",
    ]));
    assert_eq!(j["config"]["mode"], "xen-pv");
    assert_eq!(j["config"]["readers"], 4, "flags override the file");
    let pct = tornsim(&[
        "run",
        "--preset",
        "seed-thread-v1",
        "--scheduler",
        "pct",
        "--depth",
        "5",
        "--runs",
        "20000",
        "--json",
    ]);
    assert_eq!(json(&pct)["scheduler"]["kind"], "pct");
    assert!(json(&pct)["torn_reads"].as_u64().unwrap() > 0);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn presets_and_bench_print() {
    let p = tornsim(&["presets"]);
    assert_eq!(p.status.code(), Some(0));
    for name in [
        "seed-thread-v1",
        "merged",
        "native-gup",
        "native-walker",
        "non-pae",
        "v3-skip-walker",
    ] {
        assert!(stdout(&p).contains(name), "{name}");
    }
    let j = json(&tornsim(&["presets", "--json"]));
    assert!(j.as_array().unwrap().len() >= 6);
    let b = tornsim(&["bench", "--json", "--seconds", "0.2"]);
    assert_eq!(b.status.code(), Some(0));
    let cases = json(&b)["cases"].as_array().unwrap().clone();
    assert_eq!(
        cases.len(),
        5,
        "two scheduler cases, the timed one and the general machine's two"
    );
    for i in [0, 1, 3, 4] {
        assert!(cases[i]["steps_per_sec"].as_f64().unwrap() > 0.0);
    }
    assert!(cases[3]["case"]
        .as_str()
        .unwrap()
        .starts_with("general machine: retract-v1-xen"));
    assert!(cases[4]["case"]
        .as_str()
        .unwrap()
        .starts_with("general machine: seed-thread-v1"));
    for c in &cases {
        assert!(c["runs_per_sec"].as_f64().unwrap() > 0.0);
    }
    let checker = json(&b)["checker"].as_array().unwrap().clone();
    assert!(checker[0]["case"]
        .as_str()
        .unwrap()
        .starts_with("matrix --all-splits --readers 2"));
    assert!(checker.iter().all(|c| c["states"].as_u64().unwrap() > 0));
    let general = &checker[checker.len() - 3];
    assert_eq!(
        general["case"].as_str(),
        Some("general machine: check merged, 4 walkers (safe)")
    );
    assert_eq!(
        general["states"], 39_070,
        "the general reduction (the classic checker's: 38,870)"
    );
    let full = &checker[checker.len() - 2];
    assert_eq!(
        full["case"].as_str(),
        Some("general machine: check merged, 4 walkers, no reduction (safe)")
    );
    assert_eq!(
        full["states"], 60_486,
        "the classic count without reduction"
    );
    assert!(checker
        .last()
        .unwrap()
        .as_object()
        .unwrap()
        .get("case")
        .and_then(|c| c.as_str())
        .unwrap()
        .starts_with("general machine: scenarios/general"));
    let litmus = json(&b)["litmus"].as_array().unwrap().clone();
    let names: Vec<&str> = litmus.iter().map(|l| l["case"].as_str().unwrap()).collect();
    assert!(
        names[0].starts_with("22 classic x86 litmus tests"),
        "{names:?}"
    );
    assert!(
        names[1].starts_with("38 kernel C litmus tests"),
        "{names:?}"
    );
    assert!(litmus.iter().all(|l| l["seconds"].as_f64().unwrap() > 0.0));
}

/// Bad input: status 2, exactly one line on stderr naming the problem, nothing on stdout,
/// no panic or backtrace.
fn assert_bad(args: &[&str], want: &str) {
    let o = tornsim(args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{args:?}: more than one line: {err}"
    );
    assert!(err.contains(want), "{args:?}: {err:?} lacks {want:?}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace") && !err.contains("internal error"),
        "{err}"
    );
    assert!(o.stdout.is_empty(), "{args:?}: {}", stdout(&o));
}

#[test]
fn bad_input_exits_2_with_one_line() {
    assert_bad(&["run", "--mode", "pae"], "mode: unknown value 'pae'");
    assert_bad(&["run", "--sync", "later"], "sync: unknown value");
    assert_bad(&["run", "--reader", "gup"], "reader: unknown value");
    assert_bad(&["run", "--alloc", "x"], "alloc: unknown value");
    assert_bad(&["run", "--clear", "x"], "clear: unknown value");
    assert_bad(&["run", "--set", "x"], "set: unknown value");
    assert_bad(&["run", "--free", "x"], "free: unknown value");
    assert_bad(
        &["run", "--paravirt", "maybe"],
        "paravirt: expected on or off",
    );
    assert_bad(
        &["run", "--mode", "xen-pv", "--paravirt", "off"],
        "paravirt: can only be turned off for native-pae",
    );
    assert_bad(&["run", "--cpus", "0"], "cpus: 0 is out of range 2..=64");
    assert_bad(&["run", "--cpus", "1"], "cpus: 1 is out of range");
    assert_bad(&["run", "--cpus", "65"], "cpus: 65 is out of range");
    assert_bad(
        &["run", "--cpus", "1000000000000000000000000"],
        "cpus: expected a whole number",
    );
    assert_bad(&["run", "--cpus", "-3"], "cpus: expected a whole number");
    assert_bad(&["run", "--cpus", "four"], "cpus: expected a whole number");
    assert_bad(&["run", "--cpus", "3", "--readers", "2"], "need at least 4");
    assert_bad(
        &["run", "--readers", "0"],
        "readers: 0 is out of range 1..=62",
    );
    assert_bad(&["run", "--readers", "63"], "readers: 63 is out of range");
    assert_bad(&["run", "--preset", "nope"], "unknown preset 'nope'");
    assert_bad(&["run", "--runs", "0"], "--runs: must be at least 1");
    assert_bad(&["run", "--runs", "-1"], "--runs");
    assert_bad(&["run", "--runs", "many"], "--runs");
    assert_bad(&["run", "--seed", "x"], "--seed");
    assert_bad(&["run", "--scheduler", "fifo"], "fifo");
    assert_bad(
        &["run", "--scheduler", "pct", "--depth", "0"],
        "depth: 0 is out of range 1..=64",
    );
    assert_bad(
        &["run", "--scheduler", "pct", "--depth", "100"],
        "depth: 100 is out of range",
    );
    assert_bad(&["run", "--threads", "0"], "--threads: must be at least 1");
    assert_bad(
        &["run", "--config", "/nonexistent/tornsim.toml"],
        "cannot read '/nonexistent/tornsim.toml'",
    );
    assert_bad(
        &["run", "--frobnicate"],
        "unexpected argument '--frobnicate'",
    );
    assert_bad(&["launch"], "unrecognized subcommand 'launch'");
    assert_bad(&["bench", "--seconds", "0"], "--seconds");
    assert_bad(&["replay"], "SCHEDULE");
    assert_bad(&["replay", ""], "the schedule is empty");
    assert_bad(&["replay", "hello"], "should start with 'ts1.'");
    assert_bad(
        &["replay", "ts9.AAAA.AA.AA"],
        "version 'ts9' is not supported",
    );
    assert_bad(
        &["replay", "ts2.AAAA.AA.AA"],
        "expected 5 dot-separated parts",
    );
    assert_bad(&["replay", "ts1.AAAA"], "expected 4 dot-separated parts");
    assert_bad(&["replay", "ts1.AA!A.AA.AA"], "is not allowed");
    assert_bad(&["replay", "ts1.AAAAAAAAAAAA.CAB.zz"], "checksum mismatch");
    assert_bad(&["replay", "ts1.AAAA.AA.AA", "--format", "yaml"], "yaml");
}

#[test]
fn config_file_errors_name_the_file_and_field() {
    let dir = std::env::temp_dir().join(format!("tornsim-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        (
            "a.toml",
            "mode = [1, 2]",
            "must be a string, number or boolean",
        ),
        (
            "b.toml",
            "mode = \"xen-pv\"\ncolour = \"red\"",
            "colour: unknown setting",
        ),
        ("c.toml", "this is not toml", "is not valid TOML"),
        ("d.json", "{\"readers\": 0}", "readers: 0 is out of range"),
        ("e.json", "[1, 2]", "must hold a table of settings"),
        ("f.json", "{broken", "is not valid JSON"),
    ];
    for (name, text, want) in cases {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        assert_bad(&["run", "--config", p.to_str().unwrap()], want);
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn replay_refuses_a_schedule_that_does_not_fit_the_machine() {
    // A valid string whose steps choose a CPU that cannot move: the collapser twice
    // while waiting is fine, so make the populator step while the collapser holds the PTL.
    let run = tornsim(&["run", "--preset", "merged", "--runs", "1", "--json"]);
    assert_eq!(run.status.code(), Some(0));
    let s = tornsim_core::Schedule {
        config: tornsim_core::preset("merged").unwrap().config,
        new_table: tornsim_core::machine::SAME_LOW_TABLE,
        choices: vec![
            tornsim_core::Choice::prog(0),
            tornsim_core::Choice::prog(1),
            tornsim_core::Choice::prog(1),
        ],
    };
    assert_bad(
        &["replay", &s.encode()],
        "step 2 picks CPU1, but CPU1 is spinning on the PTL held by CPU0",
    );
}

#[test]
fn help_and_version_exit_0() {
    assert_eq!(tornsim(&["--help"]).status.code(), Some(0));
    assert_eq!(tornsim(&["--version"]).status.code(), Some(0));
    assert_eq!(tornsim(&["run", "--help"]).status.code(), Some(0));
}

#[test]
fn check_proves_merged_safe_and_draws_the_withdrawn_patch() {
    let merged = tornsim(&["check", "--preset", "merged", "--json"]);
    assert_eq!(merged.status.code(), Some(0), "{}", stderr(&merged));
    let j = json(&merged);
    assert_eq!(j["verdict"], "safe");
    assert!(j["states"].as_u64().unwrap() > 100);
    assert!(j["transitions"].as_u64().unwrap() > j["states"].as_u64().unwrap());
    assert!(j["seconds"].is_f64());
    assert!(j["schedule"].is_null() && j["trace"].is_null());

    let v1 = tornsim(&["check", "--preset", "seed-thread-v1", "--json"]);
    assert_eq!(v1.status.code(), Some(1));
    let j = json(&v1);
    assert_eq!(j["verdict"], "torn");
    let schedule = j["schedule"].as_str().unwrap().to_string();
    assert_eq!(j["trace"]["schedule"], schedule.as_str());
    // The witness replays to a torn read through the replay command.
    let r = tornsim(&["replay", &schedule]);
    assert_eq!(r.status.code(), Some(1));
    assert!(stdout(&r).contains("TORN"));

    let k = tornsim(&["check", "--preset", "seed-thread-v1", "--format", "kernel"]);
    assert_eq!(k.status.code(), Some(1));
    let text = stdout(&k);
    assert!(text.contains("CPU0 (khugepaged)") && text.contains("CPU2 (GUP-fast)"));
    assert!(text.contains("xen_flush_tlb_multi() hypercall"), "{text}");
    assert!(text.contains("TORN: CPU2 returned"), "{text}");
    assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");

    let safe = tornsim(&["check", "--preset", "merged", "--format", "kernel"]);
    assert_eq!(safe.status.code(), Some(0));
    assert!(stdout(&safe).contains("safe: every interleaving was explored"));
}

#[test]
fn check_says_incomplete_when_the_budget_runs_out() {
    let o = tornsim(&[
        "check",
        "--preset",
        "merged",
        "--max-states",
        "100",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_eq!(json(&o)["verdict"], "incomplete");
    let o = tornsim(&["check", "--preset", "merged", "--max-states", "100"]);
    assert!(stdout(&o).contains("nothing is proven"));
}

#[test]
fn matrix_agrees_with_model_md() {
    let o = tornsim(&["matrix", "--all-splits", "--readers", "2", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let j = json(&o);
    let cells = j["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 5 * 2 * 4 * 4);
    assert!(cells.iter().all(|c| c["agrees"] == true));
    assert!(cells.iter().any(|c| c["verdict"] == "torn"));
    assert_eq!(j["disagreements"], 0);
    let t = tornsim(&["matrix", "--readers", "1"]);
    assert_eq!(t.status.code(), Some(0));
    assert!(stdout(&t).contains("40 cells, 1 readers each: 40 agree with MODEL.md"));
}

#[test]
fn check_and_matrix_refuse_bad_input() {
    assert_bad(&["check", "--max-states", "0"], "--max-states: must be in");
    assert_bad(&["check", "--max-states", "-5"], "--max-states");
    assert_bad(&["check", "--readers", "9"], "at most 8 readers");
    assert_bad(&["check", "--mode", "arm"], "mode: unknown value");
    assert_bad(&["check", "--format", "svg"], "svg");
    assert_bad(&["matrix", "--readers", "0"], "readers: 0 is out of range");
    assert_bad(
        &["matrix", "--readers", "two"],
        "--readers: 'two' is not a number",
    );
    assert_bad(&["matrix", "--readers", "12"], "at most 8 readers");
}

#[test]
fn sweep_shards_merge_into_the_single_machine_table() {
    let args = [
        "sweep",
        "--mode",
        "xen-pv",
        "--sync",
        "under-ptl,after-unlock",
        "--cpus",
        "4,8,16",
        "--runs",
        "3000",
        "--seed",
        "5",
    ];
    let files = assert_shards_merge(&args, "sweep");
    // A missing shard is an error, not a smaller table.
    let partial = tornsim(&["merge", &files[0], &files[1]]);
    assert_eq!(partial.status.code(), Some(2));
    assert!(stderr(&partial).contains("missing"));
    // The PTL is held longer with the sync under it, and longer with more CPUs.
    let j = json(&tornsim(&[&args[..], &["--json"]].concat()));
    let cells = j["cells"].as_array().unwrap();
    let p99 = |sync: &str, cpus: u64| {
        cells
            .iter()
            .find(|c| c["config"]["sync"] == sync && c["config"]["cpus"] == cpus)
            .unwrap()["stats"]["ptl_hold"]["p99"]
            .as_f64()
            .unwrap()
    };
    assert!(p99("under-ptl", 16) > p99("under-ptl", 4));
    assert!(p99("after-unlock", 4) < p99("under-ptl", 4));
    let csv = tornsim(&[&args[..], &["--csv"]].concat());
    assert!(stdout(&csv).starts_with("mode,sync,cpus,readers,runs,torn/M,hold_p50_us"));
    assert_bad(&["sweep", "--shard", "4/3"], "--shard: expected K/N");
    assert_bad(&["sweep", "--cpus", "2"], "the grid is empty");
    assert_bad(&["sweep", "--mode", "arm"], "--mode: unknown value 'arm'");
    assert_bad(&["sweep", "--latency", "warp=1"], "unknown latency 'warp'");
    assert_bad(
        &["sweep", "--latency", "load=nan"],
        "latency NaN ns is out of range",
    );
    assert_bad(
        &["sweep", "--latency", "preempt_chance=2"],
        "not a probability",
    );
    assert_bad(&["sweep", "--runs", "0"], "--runs");
    assert_bad(&["merge", "/nonexistent.json"], "cannot read");
}

/// Runs `args` on one machine and as three shards, merges the shards and asserts the
/// table is byte for byte the one machine's; returns the shards' JSON files.
fn assert_shards_merge(args: &[&str], name: &str) -> Vec<String> {
    let whole = tornsim(args);
    assert_eq!(whole.status.code(), Some(0), "{}", stderr(&whole));
    let dir = scratch(name);
    let mut files = Vec::new();
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let mut a: Vec<&str> = args.to_vec();
        a.extend(["--shard", &shard, "--json"]);
        let o = tornsim(&a);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let f = dir.join(format!("shard{k}.json"));
        std::fs::write(&f, &o.stdout).unwrap();
        files.push(f.display().to_string());
    }
    let mut m = vec!["merge"];
    m.extend(files.iter().map(String::as_str));
    let merged = tornsim(&m);
    assert_eq!(merged.status.code(), Some(0), "{}", stderr(&merged));
    assert_eq!(
        stdout(&merged),
        stdout(&whole),
        "merged shards differ from one machine"
    );
    files
}

/// The issue's acceptance path for rare rates: at a stall chance of 1e-5 the withdrawn
/// placement's rate (about 4e-8) comes with at most 10% relative error, where brute
/// force at the same budget sees nothing; the safe placement is exactly 0 with the
/// checker's reason; shards of an estimating sweep merge byte for byte.
#[test]
fn sweep_estimates_rare_rates_with_intervals() {
    // The rare placement and the safe one, estimated by `method` within `budget` runs.
    let sweep = |sync: &'static str, method: &'static str, budget: String| -> Vec<String> {
        [
            "sweep",
            "--mode",
            "xen-pv",
            "--sync",
            sync,
            "--cpus",
            "4",
            "--runs",
            "200",
            "--latency",
            "preempt_chance=1e-5",
            "--estimate",
            method,
            "--budget",
            &budget,
        ]
        .map(String::from)
        .to_vec()
    };
    let owned = sweep("after-unlock,under-ptl", "importance", "10000000".into());
    let args: Vec<&str> = owned.iter().map(String::as_str).collect();
    let j = json(&tornsim(&[&args[..], &["--json"]].concat()));
    let est = |i: usize| j["cells"][i]["estimate"].clone();
    let rare = est(0);
    let rate = rare["rate"].as_f64().unwrap();
    assert!(1e-9 < rate && rate < 1e-7, "{rare}");
    assert!(rare["rel_error"].as_f64().unwrap() <= 0.1, "{rare}");
    assert_eq!(rare["stop"], "target");
    assert_eq!(
        (est(1)["rate"].as_f64(), est(1)["stop"].as_str()),
        (Some(0.0), Some("proof"))
    );
    let table = stdout(&tornsim(&args));
    assert!(
        table.contains("proved safe") && table.contains("95% interval"),
        "{table}"
    );
    assert!(
        table.contains("cell 1: safe: the exhaustive checker"),
        "{table}"
    );
    let budget = rare["runs"].as_u64().unwrap() + rare["pilot_runs"].as_u64().unwrap();
    let mut brute = sweep("after-unlock", "brute", budget.to_string());
    brute.push("--json".into());
    let brute = json(&tornsim(
        &brute.iter().map(String::as_str).collect::<Vec<_>>(),
    ));
    assert_eq!(brute["cells"][0]["estimate"]["hits"], 0, "{brute}");
    assert_shards_merge(&args, "sweep-estimate");
    let csv = stdout(&tornsim(&[&args[..], &["--csv"]].concat()));
    assert!(csv
        .lines()
        .next()
        .unwrap()
        .ends_with(",rate,rate_lo,rate_hi,rel_error,samples,hits,stop"));
    assert_bad(
        &["sweep", "--estimate", "splitting"],
        "--estimate: unknown estimator",
    );
    assert_bad(
        &["sweep", "--estimate", "brute", "--rel-error", "0"],
        "--rel-error",
    );
    assert_bad(
        &["sweep", "--estimate", "brute", "--budget", "0"],
        "--budget",
    );
    assert_bad(
        &["sweep", "--estimate", "brute", "--event", "oops"],
        "--event: unknown event",
    );
}

#[test]
fn sensitivity_scales_each_latency() {
    let o = tornsim(&[
        "sensitivity",
        "--mode",
        "xen-pv",
        "--sync",
        "after-unlock",
        "--latency",
        "preempt_chance=1e-4",
        "--rel-error",
        "0.2",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let j = json(&o);
    let rows = j["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1 + 2 * 13);
    let rate = |name: &str, f: f64| {
        rows.iter()
            .find(|r| r["latency"] == name && r["factor"] == f)
            .unwrap()["estimate"]["rate"]
            .as_f64()
            .unwrap()
    };
    let base = rate("", 1.0);
    // The stall chance is what the rate is made of: halving it halves the rate.
    assert!(
        (rate("preempt_chance", 0.5) / base - 0.5).abs() < 0.15,
        "{j}"
    );
    assert!(
        (rate("preempt_chance", 2.0) / base - 2.0).abs() < 0.5,
        "{j}"
    );
    let safe = stdout(&tornsim(&["sensitivity", "--preset", "merged"]));
    assert!(safe.contains("safe: the exhaustive checker"), "{safe}");
}

/// A scratch directory under the target dir, unique per test.
fn scratch(name: &str) -> std::path::PathBuf {
    let d = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The issue's acceptance path: `show merged`, move `spin_unlock()` above the sync, and
/// the edited file tears exactly as the seed thread's preset does; the unedited file is
/// safe with the merged preset's state count.
#[test]
fn moving_one_line_of_a_shown_preset_gives_the_seed_threads_torn_read() {
    let dir = scratch("show-edit");
    let shown = tornsim(&["show", "merged"]);
    assert_eq!(shown.status.code(), Some(0));
    let text = stdout(&shown);
    let m = dir.join("m.litmus");
    std::fs::write(&m, &text).unwrap();
    let safe = tornsim(&["check", m.to_str().unwrap(), "--json"]);
    assert_eq!(safe.status.code(), Some(0), "{}", stderr(&safe));
    let preset = json(&tornsim(&["check", "--preset", "merged", "--json"]));
    let j = json(&safe);
    assert_eq!(j["verdict"], "safe");
    assert_eq!(j["states"], preset["states"]);
    assert_eq!(j["claim"], "holds");

    let moved = text.replace(
        "    pmdp_get_lockless_sync();\n    spin_unlock();\n",
        "    spin_unlock();\n    pmdp_get_lockless_sync();\n",
    );
    assert_ne!(moved, text, "the shown file has the merged ordering");
    std::fs::write(&m, &moved).unwrap();
    let torn = tornsim(&["check", m.to_str().unwrap(), "--json"]);
    assert_eq!(torn.status.code(), Some(1));
    let seed = json(&tornsim(&["check", "--preset", "seed-thread-v1", "--json"]));
    let t = json(&torn);
    assert_eq!(t["verdict"], "torn");
    assert_eq!(t["schedule"], seed["schedule"], "the same shortest witness");
    // The file still claims ~exists, which the checker now refutes.
    assert_eq!(t["claim"], "fails");
}

#[test]
fn several_files_give_one_row_each_and_a_scenario_schedule_names_its_scenario() {
    let root = env!("CARGO_MANIFEST_DIR");
    let f = |n: &str| format!("{root}/scenarios/{n}.litmus");
    let o = tornsim(&[
        "check",
        &f("merged"),
        &f("no-recheck"),
        &f("irq-off-ptl-deadlock"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    let rows: Vec<&str> = out.lines().skip(1).collect();
    assert_eq!(rows.len(), 3, "{out}");
    assert!(
        rows[0].contains("safe") && rows[0].contains("holds"),
        "{out}"
    );
    assert!(
        rows[1].contains("torn") && rows[1].contains("holds"),
        "{out}"
    );
    assert!(
        rows[2].contains("deadlock") && rows[2].contains("holds"),
        "{out}"
    );

    let j = json(&tornsim(&["check", &f("no-recheck"), "--json"]));
    let s = j["schedule"].as_str().unwrap().to_string();
    assert!(s.starts_with("ts2."), "{s}");
    let r = tornsim(&["replay", &f("no-recheck"), &s]);
    assert_eq!(r.status.code(), Some(1), "{}", stderr(&r));
    assert!(stdout(&r).contains("TORN"));
    assert_bad(&["replay", &s], "replay it with its file");
    assert_bad(&["replay", &f("high-first"), &s], "not to 'high-first'");
    // A run of a scenario file finds its torn reads too, and says which scenario ran.
    let run = tornsim(&["run", &f("no-recheck"), "--runs", "2000", "--json"]);
    let rj = json(&run);
    assert!(rj["runs_with_torn"].as_u64().unwrap() > 0);
    assert!(rj["first_torn_schedule"]
        .as_str()
        .unwrap()
        .starts_with("ts2."));
}

#[test]
fn a_bad_scenario_file_is_shown_at_its_line_with_a_caret() {
    let dir = scratch("bad-scenario");
    let text = stdout(&tornsim(&["show", "seed-thread-v1"]));
    let cases = [
        (
            text.replace("pmdp_get_lockless_sync", "pmdp_get_lockless_synk"),
            "did you mean 'pmdp_get_lockless_sync'?",
        ),
        (
            text.replacen("    pmd_lock();\n", "", 1),
            "spin_unlock() without pmd_lock()",
        ),
        (text.replacen("}\n", "\n", 1), "unbalanced braces"),
        (
            text.replace("P1(fault)", "P5(fault)"),
            "CPU1 has no program",
        ),
        (
            text.replace("readers = 2;", "readers = 99;"),
            "out of range",
        ),
        (
            text.replace("    pte_offset_map();\n", "")
                .replace("exists (torn \\/ stale)", "exists (stale)"),
            "cannot observe",
        ),
    ];
    for (i, (src, want)) in cases.iter().enumerate() {
        let p = dir.join(format!("bad{i}.litmus"));
        std::fs::write(&p, src).unwrap();
        let o = tornsim(&["check", p.to_str().unwrap()]);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{e}");
        assert!(e.contains(want), "case {i}: {e}");
        assert!(e.contains(&format!("bad{i}.litmus:")), "{e}");
        assert!(e.contains('^'), "no caret: {e}");
        assert!(!e.contains("internal error"), "{e}");
    }
    let p = dir.join("ok.litmus");
    std::fs::write(&p, &text).unwrap();
    assert_bad(&["check", p.to_str().unwrap(), "--sync", "none"], "--sync");
    assert_bad(
        &["check", p.to_str().unwrap(), "--preset", "merged"],
        "--preset",
    );
}

#[test]
fn primitives_and_show_list_the_tables() {
    let p = stdout(&tornsim(&["primitives"]));
    for name in [
        "pmd_lock();",
        "tlb_remove_table_sync_one();",
        "if (pmd_none())",
        "recheck_pmd_low();",
    ] {
        assert!(p.contains(name), "{name} missing");
    }
    let md = stdout(&tornsim(&["primitives", "--markdown"]));
    assert!(md.starts_with("| call |") && md.contains("## In a classic file"));
    // One table: the general machine's calls and kernel paths are in it too, and
    // `--classic` keeps only what a classic file may call.
    assert!(
        p.contains("pte_lockptr(val)") && p.contains("P…(madvise)"),
        "{p}"
    );
    let classic = stdout(&tornsim(&["primitives", "--classic"]));
    assert!(classic.contains("pmd_lock();") && classic.contains("if (pmd_none())"));
    assert!(
        !classic.contains("pte_lockptr") && !classic.contains("P…("),
        "{classic}"
    );
    let list = stdout(&tornsim(&["show"]));
    assert!(list.contains("seed-thread-v1") && list.contains("after-unlock"));
    assert_bad(&["show", "nope"], "no built-in scenario 'nope'");
}

#[test]
fn sweep_takes_scenario_files_in_place_of_placements() {
    let root = env!("CARGO_MANIFEST_DIR");
    let a = format!("{root}/scenarios/no-recheck.litmus");
    let b = format!("{root}/scenarios/merged.litmus");
    let o = tornsim(&["sweep", "--cpus", "4,6", "--runs", "400", &a, &b, "--csv"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let rows: Vec<Vec<&str>> = out
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    // One row per file and CPU count; each file keeps its own mode and readers.
    let progs: Vec<(&str, &str, &str, &str)> =
        rows.iter().map(|r| (r[0], r[1], r[2], r[3])).collect();
    assert_eq!(
        progs,
        vec![
            ("xen-pv", "no-recheck", "4", "1"),
            ("xen-pv", "no-recheck", "6", "1"),
            ("xen-pv", "under-ptl", "4", "2"),
            ("xen-pv", "under-ptl", "6", "2"),
        ],
        "{out}"
    );
    // The reader without the re-check tears under timing too; merged never does.
    assert!(rows[0][5].parse::<f64>().unwrap() > 0.0, "{out}");
    assert_eq!(rows[2][5], "0");
    // Axes given on the command line apply over the files; --sync does not.
    let o = tornsim(&[
        "sweep",
        "--cpus",
        "4",
        "--runs",
        "50",
        "--mode",
        "native-pae",
        &a,
        "--csv",
    ]);
    assert!(
        stdout(&o).contains("native-pae,no-recheck,4,1"),
        "{}",
        stdout(&o)
    );
    let o = tornsim(&["sweep", "--sync", "none", &a]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--sync does not apply"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_search_beyond_its_memory_budget_exits_3_and_says_which_budget() {
    let args = [
        "check",
        "--preset",
        "merged",
        "--readers",
        "6",
        "--max-memory",
        "2M",
    ];
    let o = tornsim(&args);
    assert_eq!(o.status.code(), Some(3), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("the memory budget ran out"),
        "{}",
        stdout(&o)
    );
    // The budget bounds the whole store on any number of threads.
    for threads in ["1", "2", "4"] {
        let j = json(&tornsim(
            &[&args[..], &["--json", "--threads", threads]].concat(),
        ));
        assert_eq!(j["verdict"], "incomplete", "{threads}");
        assert_eq!(j["stopped_by"], "memory", "{threads}");
        assert!(
            j["peak_bytes"].as_u64().unwrap() <= 2 << 20,
            "{threads}: {j}"
        );
        assert!(j["states"].as_u64().unwrap() > 10_000, "{threads}: {j}");
    }
    let o = tornsim(&["check", "--preset", "merged", "--max-states", "100"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        stdout(&o).contains("the state budget ran out"),
        "{}",
        stdout(&o)
    );
    assert_bad(
        &["check", "--preset", "merged", "--max-memory", "lots"],
        "--max-memory",
    );
}

#[test]
fn readers_any_proves_the_merged_code_for_every_count_and_finds_v1_with_one_reader() {
    let merged = tornsim(&["check", "--preset", "merged", "--readers", "any"]);
    assert_eq!(merged.status.code(), Some(0), "{}", stderr(&merged));
    let out = stdout(&merged);
    assert!(
        out.contains("verdict: safe for any number of CPUs (readers and idle CPUs alike)"),
        "{out}"
    );
    for c in [
        "C1 holds",
        "C2 holds",
        "C3 holds",
        "checked: 1 reader: safe",
    ] {
        assert!(out.contains(c), "{c}: {out}");
    }
    let j = json(&tornsim(&[
        "check",
        "--preset",
        "merged",
        "--readers",
        "any",
        "--json",
    ]));
    assert_eq!(
        (j["cutoff"].as_u64(), j["proved"].as_bool()),
        (Some(1), Some(true))
    );
    assert_eq!(j["conditions"].as_array().unwrap().len(), 3);

    let v1 = tornsim(&[
        "check",
        "--preset",
        "seed-thread-v1",
        "--readers",
        "any",
        "--json",
    ]);
    assert_eq!(v1.status.code(), Some(1), "{}", stderr(&v1));
    let j = json(&v1);
    assert_eq!(
        (j["verdict"].as_str(), j["witness_readers"].as_u64()),
        (Some("torn"), Some(1))
    );
    assert_eq!(j["config"]["readers"], 2, "the configuration as given");
    let schedule = j["schedule"].as_str().unwrap();
    let replayed = tornsim(&["replay", schedule]);
    assert!(
        stdout(&replayed).contains("1x gup-fast"),
        "{}",
        stdout(&replayed)
    );
}

#[test]
fn readers_any_says_why_the_ptl_reader_is_only_bounded() {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/ptl-reader.litmus");
    let o = tornsim(&["check", file, "--readers", "any", "--bound", "2"]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "a proof was asked for: {}",
        stderr(&o)
    );
    let out = stdout(&o);
    assert!(
        out.contains("bounded: safe for 1..=2 readers, not proved for more"),
        "{out}"
    );
    assert!(
        out.contains("C1 fails")
            && out.contains("`pmd_lock();` (lock): a reader's step writes ptl"),
        "{out}"
    );
    let j = json(&tornsim(&[
        "check",
        file,
        "--readers",
        "any",
        "--bound",
        "2",
        "--json",
    ]));
    assert_eq!(j["proved"], false);
    assert_eq!(j["conditions"][0]["broken_at"]["text"], "pmd_lock();");
    let m = tornsim(&["matrix", "--readers", "any"]);
    assert_eq!(m.status.code(), Some(0), "{}", stderr(&m));
    assert!(
        stdout(&m).contains("40 cells, any number of readers: 40 agree with MODEL.md"),
        "{}",
        stdout(&m)
    );
    assert_bad(
        &["check", file, file, "--readers", "any"],
        "check one scenario file at a time",
    );
    // The same from the file's own settings.
    let text = std::fs::read_to_string(file)
        .unwrap()
        .replace("readers = 2;", "readers = any;");
    let path = std::env::temp_dir().join(format!("ptl-any-{}.litmus", std::process::id()));
    std::fs::write(&path, text).unwrap();
    let o = tornsim(&["check", path.to_str().unwrap(), "--bound", "2"]);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("bounded: safe for 1..=2 readers"),
        "{}",
        stdout(&o)
    );
}

/// `--memory tso` on run, check and matrix; the x2APIC pair; a TSO schedule replays with
/// its drains; the timed model refuses TSO with the reason.
#[test]
fn tso_runs_checks_and_replays() {
    let nofence = "scenarios/x2apic-no-fence.litmus";
    let c = tornsim(&["check", nofence, "--json"]);
    assert_eq!(c.status.code(), Some(1), "{}", stderr(&c));
    let j = json(&c);
    assert_eq!(j["verdict"], "stale");
    assert_eq!(j["steps"], 16);
    let schedule = j["schedule"].as_str().unwrap().to_string();
    let r = tornsim(&["replay", nofence, &schedule]);
    assert_eq!(r.status.code(), Some(1), "{}", stderr(&r));
    let out = stdout(&r);
    assert!(out.contains("store buffers"), "{out}");
    assert!(
        out.contains("store buffer drains: pmd_low = 0 reaches memory"),
        "{out}"
    );
    assert!(out.contains("CPU0: pmd_low = 0, pmd_high = 0"), "{out}");
    let k = tornsim(&["check", nofence, "--format", "kernel"]);
    assert!(stdout(&k).contains("CPU0 store buffer"), "{}", stdout(&k));
    let safe = tornsim(&["check", "scenarios/x2apic-fence.litmus"]);
    assert_eq!(safe.status.code(), Some(0), "{}", stdout(&safe));
    // The same file under SC: the store buffer is gone, and with it the bug.
    let sc = tornsim(&["check", nofence, "--memory", "sc"]);
    assert_eq!(sc.status.code(), Some(0), "{}", stdout(&sc));
    let run = tornsim(&["run", nofence, "--runs", "20000", "--seed", "3", "--json"]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert!(json(&run)["stale_uses"].as_u64().unwrap() > 0);
    let m = tornsim(&[
        "check", "--preset", "merged", "--memory", "tso", "--apic", "x2apic", "--json",
    ]);
    assert_eq!(json(&m)["verdict"], "safe");
    let mx = tornsim(&["matrix", "--readers", "1", "--memory", "sc,tso", "--json"]);
    assert_eq!(mx.status.code(), Some(0), "{}", stderr(&mx));
    let mj = json(&mx);
    let cells = mj["cells"].as_array().unwrap();
    assert_eq!(
        cells.iter().filter(|c| c["memory"] == "tso").count() * 2,
        cells.len()
    );
    assert_eq!(mj["disagreements"], 0);
    assert_bad(
        &["sweep", "scenarios/x2apic-fence.litmus", "--runs", "100"],
        "memory: the timed cost model",
    );
    assert_bad(
        &["check", "--memory", "pso"],
        "memory: unknown value 'pso' (allowed: sc, tso)",
    );
}

/// Shared words: the `observed` verdict with its witness, its replay, the claim of a
/// `~exists` file, and random runs' count of runs ending as the clause says.
#[test]
fn a_scenario_with_shared_words_checks_runs_and_replays() {
    let file = "scenarios/handshake-no-mb.litmus";
    let c = tornsim(&["check", file, "--json"]);
    assert_eq!(c.status.code(), Some(1), "{}", stderr(&c));
    let j = json(&c);
    assert_eq!(j["verdict"], "observed");
    let schedule = j["schedule"].as_str().unwrap().to_string();
    let r = tornsim(&["replay", file, &schedule]);
    assert_eq!(r.status.code(), Some(1), "{}", stderr(&r));
    let out = stdout(&r);
    assert!(out.contains("|  words"), "{out}");
    assert!(
        out.contains("r1 = READ_ONCE(collapsing): 0 (loaded)"),
        "{out}"
    );
    assert!(
        out.contains("# run finished in a state the exists clause describes; no hazard"),
        "{out}"
    );
    let sc = tornsim(&["check", file, "--memory", "sc"]);
    assert_eq!(sc.status.code(), Some(0), "{}", stdout(&sc));
    assert!(
        stdout(&sc).contains("the file's claim fails"),
        "{}",
        stdout(&sc)
    );
    let mb = tornsim(&["check", "scenarios/handshake-mb.litmus"]);
    assert_eq!(mb.status.code(), Some(0), "{}", stdout(&mb));
    assert!(
        stdout(&mb).contains("the file's claim holds"),
        "{}",
        stdout(&mb)
    );
    let run = tornsim(&["run", file, "--runs", "20000", "--seed", "3"]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert!(
        stdout(&run).contains("runs ending as exists says"),
        "{}",
        stdout(&run)
    );
    let run = tornsim(&["run", file, "--runs", "20000", "--seed", "3", "--json"]);
    assert!(json(&run)["runs_observed"].as_u64().unwrap() > 0);
    let plain = tornsim(&["run", "--preset", "merged", "--runs", "10", "--json"]);
    assert!(json(&plain).get("runs_observed").is_none());
}

/// The kernel's C format, answered for x86: herd7's report with the test's own
/// register names, and an unmodelled primitive refused at its place.
#[test]
fn c_litmus_tests_are_answered_for_x86() {
    let sb = tornsim(&["check", "tests/litmus/c/SB+once.litmus"]);
    assert_eq!(sb.status.code(), Some(0), "{}", stderr(&sb));
    let out = stdout(&sb);
    assert!(out.contains("*>0:r0=0; 1:r0=0;\n"), "{out}");
    assert!(out.contains("Observation SB+once Sometimes 1 3\n"), "{out}");
    let mp = tornsim(&["check", "tests/litmus/c/MP+once.litmus", "--json"]);
    assert_eq!(json(&mp)["observation"], "never");
    let bad = scratch("c").join("rcu.litmus");
    std::fs::write(
        &bad,
        "C rcu\n{}\nP0(int *x)\n{\n\tcall_rcu(x);\n}\nexists (x=0)\n",
    )
    .unwrap();
    let e = tornsim(&["check", bad.to_str().unwrap()]);
    assert_eq!(e.status.code(), Some(2));
    assert!(
        stderr(&e).contains("rcu.litmus:5:2: call_rcu() is not modelled"),
        "{}",
        stderr(&e)
    );
}

/// herd7's X86 format: the report, `--json`'s observation, and errors with a caret.
#[test]
fn x86_litmus_tests_report_as_herd7_does() {
    let sb = tornsim(&["check", "tests/litmus/x86/SB.litmus"]);
    assert_eq!(sb.status.code(), Some(0), "{}", stderr(&sb));
    let out = stdout(&sb);
    assert!(out.starts_with("Test SB Allowed\nStates 4\n"), "{out}");
    assert!(out.contains("Observation SB Sometimes 1 3\n"), "{out}");
    let sc = tornsim(&[
        "check",
        "tests/litmus/x86/SB.litmus",
        "--memory",
        "sc",
        "--json",
    ]);
    let j = json(&sc);
    assert_eq!(j["observation"], "never");
    assert_eq!(j["ok"], false);
    let two = tornsim(&[
        "check",
        "tests/litmus/x86/MP.litmus",
        "tests/litmus/x86/R.litmus",
        "--json",
    ]);
    let arr = json(&two);
    assert_eq!(arr[0]["observation"], "never");
    assert_eq!(arr[1]["observation"], "sometimes");
    let bad = scratch("x86").join("bad.litmus");
    std::fs::write(
        &bad,
        "X86 bad\n{ x=0; }\n P0 ;\n MOV [x],$1 ;\n PAUSE ;\nexists (x=1)\n",
    )
    .unwrap();
    let e = tornsim(&["check", bad.to_str().unwrap()]);
    assert_eq!(e.status.code(), Some(2));
    let err = stderr(&e);
    assert!(
        err.contains("bad.litmus:5:2: unknown instruction 'PAUSE'"),
        "{err}"
    );
    assert!(err.contains("^^^^^"), "{err}");
    assert_bad(
        &["check", "tests/litmus/x86/SB.litmus", "--readers", "3"],
        "--readers does not apply to an X86 litmus test",
    );
    assert_bad(
        &[
            "check",
            "tests/litmus/x86/SB.litmus",
            "scenarios/merged.litmus",
        ],
        "is a scenario file, not an X86 litmus test",
    );
}

/// The book's CLI chapter and the man page are the command's own clap definition, so
/// they cannot drift from it; completions come from the same definition.
#[test]
fn the_cli_reference_man_page_and_completions_are_generated_from_clap() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for (format, file) in [
        ("markdown", "docs/src/cli.md"),
        ("man", "docs/src/tornsim.1"),
    ] {
        let o = tornsim(&["reference", format]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let committed = std::fs::read_to_string(root.join(file)).unwrap();
        assert!(
            committed == stdout(&o),
            "{file} is stale: run `tornsim reference {format} > {file}`"
        );
    }
    let md = stdout(&tornsim(&["reference", "markdown"]));
    for sub in ["run", "check", "sweep", "show", "primitives", "reference"] {
        assert!(md.contains(&format!("\n## tornsim {sub}\n")), "{sub}");
        assert!(md.contains(&format!("Usage: tornsim {sub} ")), "{sub}");
    }
    let man = stdout(&tornsim(&["reference", "man"]));
    assert!(man.contains(".SH \"TORNSIM CHECK\"") && man.contains("\\-\\-readers"));
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef tornsim"),
        ("fish", "complete -c tornsim"),
    ] {
        let o = tornsim(&["reference", shell]);
        assert!(o.status.success() && stdout(&o).contains(marker), "{shell}");
        assert!(stdout(&o).contains("sweep"), "{shell}");
    }
    let bad = tornsim(&["reference", "pdf"]);
    assert_eq!(bad.status.code(), Some(2));
}

/// A general file's search stores one state for all renamings of its interchangeable
/// walkers, says which, and prints a witness that replays on the CPUs it names;
/// `--no-symmetry` stores every state and finds the same hazard.
#[test]
fn a_general_check_says_which_walkers_it_took_as_interchangeable() {
    let root = env!("CARGO_MANIFEST_DIR");
    let torn = format!("{root}/scenarios/general/retract-v1-xen.litmus");
    let check = |extra: &[&str]| {
        let mut args = vec!["check", torn.as_str(), "--readers", "3", "--json"];
        args.extend(extra);
        json(&tornsim(&args))
    };
    let (sym, full) = (check(&[]), check(&["--no-symmetry"]));
    assert_eq!(sym["interchangeable"], serde_json::json!([[2, 3, 4]]));
    assert_eq!(full["interchangeable"], serde_json::json!([]));
    assert_eq!(
        (sym["verdict"].as_str(), full["verdict"].as_str()),
        (Some("torn"), Some("torn"))
    );
    assert!(
        sym["states"].as_u64() < full["states"].as_u64(),
        "{sym} {full}"
    );
    let schedule = sym["schedule"].as_str().unwrap();
    let replayed = tornsim(&["replay", &torn, "--readers", "3", schedule]);
    assert!(
        stdout(&replayed).contains("<-- torn"),
        "{}",
        stdout(&replayed)
    );
    let text = stdout(&tornsim(&["check", &torn, "--readers", "3"]));
    assert!(
        text.contains(" states (P2, P3 and P4 interchangeable), "),
        "{text}"
    );
}

/// A file that needs the general machine checks, runs and replays through the same
/// commands, its witness printed as a schedule that `replay` takes with the file.
#[test]
fn general_files_check_run_and_replay() {
    let root = env!("CARGO_MANIFEST_DIR");
    let torn = format!("{root}/scenarios/general/retract-v1-xen.litmus");
    let out = tornsim(&["check", &torn, "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let j = json(&out);
    assert_eq!(
        (
            j["machine"].as_str(),
            j["verdict"].as_str(),
            j["claim"].as_str()
        ),
        (Some("general"), Some("torn"), Some("holds"))
    );
    assert_eq!(j["steps"], 18, "the shortest witness");
    let schedule = j["schedule"].as_str().unwrap().to_string();
    assert!(schedule.starts_with("tg1."), "{schedule}");
    let replayed = tornsim(&["replay", &torn, &schedule]);
    assert_eq!(replayed.status.code(), Some(1));
    assert!(
        stdout(&replayed).contains("<-- torn"),
        "{}",
        stdout(&replayed)
    );
    // The schedule belongs to its file.
    let other = format!("{root}/scenarios/general/retract-merged-xen.litmus");
    let wrong = tornsim(&["replay", &other, &schedule]);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(
        stderr(&wrong).contains("another scenario file"),
        "{}",
        stderr(&wrong)
    );

    let kernel = tornsim(&["check", &torn, "--format", "kernel"]);
    let k = stdout(&kernel);
    assert!(
        k.starts_with("P0(khugepaged)") && k.contains("P2(gup_fast)"),
        "{k}"
    );

    let safe = tornsim(&["check", &other]);
    assert_eq!(safe.status.code(), Some(0), "{}", stderr(&safe));
    assert!(stdout(&safe).contains("verdict: safe"), "{}", stdout(&safe));

    // Random runs: the same seed, the same counts; the first hazard replays.
    let run = |seed: &str| {
        json(&tornsim(&[
            "run", &torn, "--runs", "20000", "--seed", seed, "--json",
        ]))
    };
    let (a, b) = (run("3"), run("3"));
    assert_eq!(a["hazards"], b["hazards"]);
    assert!(a["hazards"]["torn"]["runs"].as_u64().unwrap() > 0, "{a}");
    let first = a["first"]["schedule"].as_str().unwrap();
    assert_eq!(tornsim(&["replay", &torn, first]).status.code(), Some(1));

    // Several files, one row each, general and classic side by side.
    let classic = format!("{root}/scenarios/merged.litmus");
    let rows = json(&tornsim(&["check", &torn, &other, &classic, "--json"]));
    let verdicts: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["torn", "safe", "safe"]);

    // The command line's settings are the classic machine's.
    let flags = tornsim(&["check", &torn, "--mode", "native-pae"]);
    assert_eq!(flags.status.code(), Some(2));
    assert!(
        stderr(&flags).contains("settings block"),
        "{}",
        stderr(&flags)
    );

    // `--general`, from when the general calls had a table of their own, prints the one.
    let prims = stdout(&tornsim(&["primitives", "--general"]));
    assert_eq!(prims, stdout(&tornsim(&["primitives"])));
    // The C litmus reader's table: every row, as text and as the book's Markdown.
    let c = stdout(&tornsim(&["primitives", "--litmus"]));
    let md = stdout(&tornsim(&["primitives", "--litmus", "--markdown"]));
    for (names, form, x86) in tornsim_core::x86::PRIMITIVES {
        assert!(
            c.contains(&format!(
                "{form}\n    primitives: {names}\n    x86: {x86}\n"
            )),
            "{c}"
        );
        assert!(
            md.contains(&format!("| {names} | `{form}` | {x86} |\n")),
            "{md}"
        );
    }
}

/// Where the cutoff argument does not apply, `--json` says so with no number.
#[test]
fn check_readers_any_json_has_a_null_cutoff_where_the_argument_fails() {
    let root = env!("CARGO_MANIFEST_DIR");
    let f = format!("{root}/scenarios/irq-off-ptl-deadlock.litmus");
    let j = json(&tornsim(&["check", &f, "--readers", "any", "--json"]));
    assert_eq!(j["argument_applies"], false, "{j}");
    assert!(j["cutoff"].is_null(), "{j}");
}

/// A general file at any walker count: proved where the argument covers its walkers,
/// bounded (with the breaking line) where it does not; `--readers N` checks one count,
/// and a witness found at another count than the file's replays with it.
#[test]
fn general_files_answer_for_any_walker_count() {
    let root = env!("CARGO_MANIFEST_DIR");
    let torn = format!("{root}/scenarios/general/retract-v1-xen.litmus");
    let j = json(&tornsim(&["check", &torn, "--readers", "any", "--json"]));
    assert_eq!(
        (
            j["machine"].as_str(),
            j["verdict"].as_str(),
            j["proved"].as_bool()
        ),
        (Some("general"), Some("torn"), Some(true)),
        "{j}"
    );
    assert_eq!(j["cutoff"], 1, "{j}");
    assert_eq!(j["witness_readers"], 1, "{j}");
    let replay = j["replay"].as_str().unwrap();
    assert!(replay.contains("--readers 1 tg1."), "{replay}");
    let schedule = replay.rsplit(' ').next().unwrap();
    let again = tornsim(&["replay", &torn, "--readers", "1", schedule]);
    assert_eq!(again.status.code(), Some(1), "{}", stderr(&again));
    assert!(stdout(&again).contains("<-- torn"), "{}", stdout(&again));
    // The check at a count the file did not set marks its schedule with the count.
    let own = tornsim(&["replay", &torn, schedule]);
    assert_eq!(own.status.code(), Some(2));
    assert!(
        stderr(&own).contains("another scenario file"),
        "{}",
        stderr(&own)
    );

    let pinned = format!("{root}/scenarios/history/munmap-get-page-fix.litmus");
    let out = tornsim(&["check", &pinned, "--readers", "any", "--bound", "2"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("verdict: bounded: safe for 1..=2 readers"),
        "{text}"
    );
    assert!(
        text.contains("C1 fails") && text.contains("try_get_page()"),
        "{text}"
    );
    let j = json(&tornsim(&["check", &pinned, "--readers", "any", "--json"]));
    assert!(j["cutoff"].is_null(), "{j}");

    let two = json(&tornsim(&["check", &torn, "--readers", "2", "--json"]));
    assert_eq!(two["verdict"], "torn");
    let bad = tornsim(&["check", &torn, "--readers", "lots"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("not a count"), "{}", stderr(&bad));
    let run_any = tornsim(&["run", &torn, "--readers", "any"]);
    assert_eq!(run_any.status.code(), Some(2));
    assert!(stderr(&run_any).contains("runs need a walker count"));
}

/// `memory = tso` on the general machine: the x2APIC race is found, its witness drains
/// a store, and the schedule replays.
#[test]
fn a_general_tso_file_checks_runs_and_replays() {
    let root = env!("CARGO_MANIFEST_DIR");
    let f = format!("{root}/scenarios/general/tso-bare-x2apic-flush.litmus");
    let j = json(&tornsim(&["check", &f, "--json"]));
    assert_eq!(j["verdict"], "stale", "{j}");
    let drains = j["trace"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["drain"] == true)
        .count();
    assert!(drains > 0, "{j}");
    let schedule = j["schedule"].as_str().unwrap();
    let out = tornsim(&["replay", &f, schedule]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("memory=tso apic=x2apic"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("into the store buffer"),
        "{}",
        stdout(&out)
    );
    let r = json(&tornsim(&["run", &f, "--runs", "3000", "--json"]));
    assert!(r["hazards"]["stale"]["runs"].as_u64().unwrap() > 0, "{r}");
}

#[test]
fn general_files_run_under_pct() {
    let root = env!("CARGO_MANIFEST_DIR");
    let f = format!("{root}/scenarios/general/retract-v1-xen.litmus");
    let args = [
        "run",
        &f,
        "--runs",
        "20000",
        "--scheduler",
        "pct",
        "--depth",
        "8",
        "--json",
    ];
    let (a, b) = (json(&tornsim(&args)), json(&tornsim(&args)));
    assert_eq!(a["hazards"], b["hazards"]);
    assert_eq!(a["scheduler"], "pct(depth 8)");
    assert!(a["hazards"]["torn"]["runs"].as_u64().unwrap() > 0, "{a}");
    let first = a["first"]["schedule"].as_str().unwrap();
    assert_eq!(tornsim(&["replay", &f, first]).status.code(), Some(1));
    let bad = tornsim(&["run", &f, "--scheduler", "pct", "--depth", "0"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
}

/// `tornsim history`: every race of the suite with its commit, each row as its commit
/// says, in a table and in JSON; one race alone; an unknown race is bad input.
#[test]
fn history_prints_the_suite_as_its_commits_say() {
    let out = tornsim(&["history"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    for want in [
        "khugepaged-gup-fast: 2ba99c5e0881 \"mm/khugepaged: fix GUP-fast interaction by sending IPI\"",
        "khugepaged-gup-fast-before (mode = native-pae)",
        "collapse-pt-reclaim-before",
        "every verdict is the one its commit gives",
    ] {
        assert!(text.contains(want), "{want}:\n{text}");
    }
    assert!(!text.contains("DIFFERS"), "{text}");
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&tornsim(&["history", "--json"]))).unwrap();
    assert_eq!(json["holds"], true);
    let races = json["races"].as_array().unwrap();
    assert_eq!(races.len(), tornsim_core::general::history::RACES.len());
    let mremap = races
        .iter()
        .find(|r| r["race"] == "mremap-retract")
        .unwrap();
    assert_eq!(mremap["commit"], "6fa1066fc5d0");
    assert_eq!(mremap["rows"][0]["verdict"], "bogus-table");
    assert_eq!(mremap["rows"][1]["verdict"], "safe");
    assert_eq!(mremap["events"], 8, "the commit's diagram");
    let gup = races
        .iter()
        .find(|r| r["race"] == "gup-thp-collapse")
        .unwrap();
    assert_eq!(gup["rows"][0]["verdict"], "stale-pin");
    assert!(
        text.contains("the commit's interleaving: 11 events"),
        "{text}"
    );
    let one = stdout(&tornsim(&["history", "--race", "mremap-retract"]));
    assert!(
        one.starts_with("mremap-retract: 6fa1066fc5d0") && one.contains("1 race,"),
        "{one}"
    );
    assert_bad(
        &["history", "--race", "nope"],
        "no race 'nope' in the history suite",
    );
}

/// `--threads` changes how long a search takes, not what it answers: the same JSON but
/// for the time and the memory (the index is in shards on several threads), on a
/// classic file, a general file, the matrix and the history suite; a count outside
/// 1..=256 is refused.
#[test]
fn threads_change_no_answer() {
    let strip = |mut v: serde_json::Value| {
        fn walk(v: &mut serde_json::Value) {
            match v {
                serde_json::Value::Object(m) => {
                    m.remove("seconds");
                    m.remove("peak_bytes");
                    m.values_mut().for_each(walk);
                }
                serde_json::Value::Array(a) => a.iter_mut().for_each(walk),
                _ => {}
            }
        }
        walk(&mut v);
        v
    };
    for args in [
        &[
            "check",
            "scenarios/handshake-no-mb.litmus",
            "--readers",
            "2",
            "--json",
        ][..],
        &["check", "scenarios/general/two-collapsers.litmus", "--json"],
        &["matrix", "--all-splits", "--json"],
        &["history", "--json"],
    ] {
        let answers: Vec<serde_json::Value> = ["1", "2", "4"]
            .iter()
            .map(|t| {
                let o = tornsim(&[args, &["--threads", t]].concat());
                assert!(
                    o.status.code().is_some_and(|c| c <= 1),
                    "{args:?}: {}",
                    stderr(&o)
                );
                strip(json(&o))
            })
            .collect();
        assert!(answers[0] == answers[1], "{args:?}: 1 and 2 threads differ");
        assert!(answers[0] == answers[2], "{args:?}: 1 and 4 threads differ");
    }
    for bad in ["0", "257", "-1"] {
        assert_bad(
            &["check", "scenarios/merged.litmus", "--threads", bad],
            "--threads: must be in 1..=256",
        );
    }
}
