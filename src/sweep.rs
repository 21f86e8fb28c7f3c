//! `tornsim sweep` and `tornsim merge`: timed runs over a grid, sharded across machines.

use crate::args::{MergeArgs, SensitivityArgs, SweepArgs, SweepFormat};
use crate::input::ScenarioFile;
use crate::output::{print_json, InputError, OK};
use crate::progress::par_map;
use serde_json::json;
use tornsim_core::config::{Knob, Mode, ReaderKind, SyncPlacement};
use tornsim_core::rare::{RateEstimate, Stop};
use tornsim_core::run::FEW_EVENTS;
use tornsim_core::sweep::{SweepCell, SweepGrid};
use tornsim_core::timed::Latencies;

fn list<T>(
    flag: &str,
    s: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Vec<T>, InputError> {
    let v: Vec<T> = s
        .split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(|x| parse(x).map_err(|e| InputError(format!("--{flag}: {e}"))))
        .collect::<Result<_, _>>()?;
    if v.is_empty() {
        return Err(InputError(format!("--{flag}: give at least one value")));
    }
    Ok(v)
}

/// A list flag that may be absent (then the axis keeps each file's own value).
fn opt_list<T>(
    flag: &str,
    s: Option<String>,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Vec<T>, InputError> {
    s.map_or(Ok(Vec::new()), |s| list(flag, &s, parse))
}

fn num(range: std::ops::RangeInclusive<u32>) -> impl Fn(&str) -> Result<u32, String> {
    move |x| {
        let n: u32 = x
            .parse()
            .map_err(|_| format!("'{x}' is not a whole number"))?;
        if range.contains(&n) {
            Ok(n)
        } else {
            Err(format!(
                "{n} is out of range {}..={}",
                range.start(),
                range.end()
            ))
        }
    }
}

fn knob<K: Knob>(x: &str) -> Result<K, String> {
    K::parse(x).map_err(|e| e.message)
}

pub(crate) fn latencies(spec: Option<&str>) -> Result<Latencies, InputError> {
    let mut lat = Latencies::default();
    for pair in spec
        .unwrap_or("")
        .split(',')
        .filter(|p| !p.trim().is_empty())
    {
        let (k, val) = pair
            .split_once('=')
            .ok_or_else(|| InputError(format!("--latency: expected key=ns, got '{pair}'")))?;
        let k = k.trim();
        let mut named = lat.named();
        let Some((_, slot)) = named.iter_mut().find(|(n, _)| *n == k) else {
            let mut keys: Vec<&str> = named.iter().map(|(n, _)| *n).collect();
            keys.sort_unstable();
            return Err(InputError(format!(
                "--latency: unknown latency '{k}' (known: {})",
                keys.join(", ")
            )));
        };
        **slot = val
            .trim()
            .parse()
            .map_err(|_| InputError(format!("--latency: {k}: '{val}' is not a number")))?;
    }
    lat.validate()
        .map_err(|e| InputError(format!("--latency: {e}")))?;
    Ok(lat)
}

fn shard(spec: Option<&str>) -> Result<(usize, usize), InputError> {
    let Some(s) = spec else { return Ok((1, 1)) };
    let bad = || InputError(format!("--shard: expected K/N with 1 <= K <= N, got '{s}'"));
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    let (k, n): (usize, usize) = (
        k.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if k == 0 || n == 0 || k > n {
        return Err(bad());
    }
    Ok((k, n))
}

fn format(f: SweepFormat, json: bool, csv: bool) -> SweepFormat {
    if json {
        SweepFormat::Json
    } else if csv {
        SweepFormat::Csv
    } else {
        f
    }
}

pub fn cmd_sweep(a: SweepArgs) -> Result<u8, InputError> {
    let files = a
        .files
        .iter()
        .map(|p| ScenarioFile::load(p))
        .collect::<Result<Vec<_>, _>>()?;
    let with_files = !files.is_empty();
    if with_files && a.sync.is_some() {
        return Err(InputError(
            "--sync does not apply to scenario files: each file gives the order of its steps"
                .into(),
        ));
    }
    // Without files the axes have their usual defaults; with files, an axis not given
    // keeps each file's own setting.
    let or_default = |v: &Option<String>, d: &'static str| match v {
        Some(v) => Some(v.clone()),
        None => (!with_files).then(|| d.to_string()),
    };
    let grid = SweepGrid {
        cpus: list("cpus", &a.cpus, num(2..=64))?,
        readers: opt_list("readers", or_default(&a.readers, "2"), num(1..=62))?,
        syncs: match &a.sync {
            Some(v) => list("sync", v, knob::<SyncPlacement>)?,
            None if with_files => Vec::new(),
            None => list("sync", "under-ptl,after-unlock,none,flush-sync-skip", knob)?,
        },
        modes: opt_list(
            "mode",
            or_default(&a.mode, "xen-pv,native-pae"),
            knob::<Mode>,
        )?,
        reader: or_default(&a.reader, "gup-fast")
            .map(|r| knob::<ReaderKind>(&r).map_err(|e| InputError(format!("--reader: {e}"))))
            .transpose()?,
        runs: a.runs,
        seed: a.seed,
        latencies: latencies(a.latency.as_deref())?,
        scenarios: files.iter().map(|f| f.text.clone()).collect(),
        estimate: a.estimate.spec(false)?,
    };
    if !(1..=10_000_000).contains(&a.runs) {
        return Err(InputError("--runs: must be in 1..=10000000".into()));
    }
    // Every file must compile under every setting the grid gives it, reported at the
    // file's line rather than as a failed cell.
    let configs = grid.try_configs().map_err(|e| InputError(e.to_string()))?;
    for c in &configs {
        if let Some(f) = files
            .iter()
            .find(|f| Some(&f.scenario) == c.scenario.as_deref())
        {
            f.compiles_under(c)?;
        }
        c.validate().map_err(|e| InputError(e.to_string()))?;
    }
    let (k, n) = shard(a.shard.as_deref())?;
    if configs.is_empty() {
        return Err(InputError(
            "the grid is empty: every CPU count is below 2 + readers".into(),
        ));
    }
    let mine: Vec<usize> = (0..configs.len()).filter(|i| i % n == k - 1).collect();
    let cells = run_cells(&grid, &mine)?;
    output(
        &grid,
        &cells,
        Some(format!("{k}/{n}")),
        configs.len(),
        format(a.format, a.json, a.csv),
    );
    Ok(OK)
}

fn run_cells(grid: &SweepGrid, which: &[usize]) -> Result<Vec<SweepCell>, InputError> {
    par_map("cells", which, |&cell| grid.run_cell(cell))
        .into_iter()
        .collect::<Result<_, _>>()
        .map_err(|e| InputError(e.to_string()))
}

fn us(ns: f64) -> String {
    format!("{:.2}", ns / 1000.0)
}

const HEAD: [&str; 15] = [
    "mode",
    "sync",
    "cpus",
    "readers",
    "runs",
    "torn/M",
    "hold_p50_us",
    "hold_p99_us",
    "hold_max_us",
    "collapse_p50_us",
    "collapse_p99_us",
    "spin_p99_us",
    "ipi_wait_p99_us",
    "ipis_per_run",
    "cell",
];

fn row(c: &SweepCell) -> Vec<String> {
    let s = &c.stats;
    vec![
        c.config.mode.name().into(),
        match &c.config.scenario {
            Some(sc) => sc.name.clone(),
            None => c.config.sync.name().into(),
        },
        c.config.cpu_count().to_string(),
        c.config.readers.to_string(),
        s.runs.to_string(),
        format!("{:.0}", s.torn_per_million_collapses()),
        us(s.ptl_hold.p50),
        us(s.ptl_hold.p99),
        us(s.ptl_hold.max),
        us(s.collapse.p50),
        us(s.collapse.p99),
        us(s.populator_spin.p99),
        us(s.ipi_wait.p99),
        format!("{:.1}", s.ipis as f64 / s.runs.max(1) as f64),
        c.index.to_string(),
    ]
}

/// The estimate's columns: rate, its interval, relative error, runs spent.
pub(crate) fn estimate_cols(e: &RateEstimate) -> [String; 4] {
    let sci = |x: f64| {
        if x == 0.0 {
            "0".to_string()
        } else {
            format!("{x:.3e}")
        }
    };
    if e.stop == Stop::Proof {
        return ["0".into(), "proved safe".into(), "-".into(), "0".into()];
    }
    [
        sci(e.rate),
        format!("{}..{}", sci(e.lo), e.hi.map_or("?".to_string(), sci)),
        e.rel_error
            .map_or("-".to_string(), |r| format!("{:.1}%", r * 100.0)),
        e.samples().to_string(),
    ]
}

fn output(
    grid: &SweepGrid,
    cells: &[SweepCell],
    shard: Option<String>,
    total: usize,
    f: SweepFormat,
) {
    match f {
        SweepFormat::Json => print_json(&json!({
            "grid": grid,
            "shard": shard,
            "cells_in_grid": total,
            "cells": cells,
        })),
        SweepFormat::Csv => {
            let est = grid.estimate.is_some();
            let mut head = HEAD.join(",");
            head.push_str(",torn_ci_lo_per_M,torn_ci_hi_per_M");
            if est {
                head.push_str(",rate,rate_lo,rate_hi,rel_error,samples,hits,stop");
            }
            println!("{head}");
            for c in cells {
                let mut r = row(c);
                let (lo, hi) = c.stats.torn_interval_per_million();
                r.extend([format!("{lo:.1}"), format!("{hi:.1}")]);
                if let Some(e) = c.estimate.as_ref().filter(|_| est) {
                    let opt = |x: Option<f64>| x.map_or(String::new(), |x| format!("{x:e}"));
                    r.extend([
                        format!("{:e}", e.rate),
                        format!("{:e}", e.lo),
                        opt(e.hi),
                        opt(e.rel_error),
                        e.samples().to_string(),
                        e.hits.to_string(),
                        format!("{:?}", e.stop).to_lowercase(),
                    ]);
                }
                println!("{}", r.join(","));
            }
        }
        SweepFormat::Table => {
            // Column widths; the first two columns are left-aligned, the rest right.
            const WIDTHS: [usize; 19] = [
                10, 15, 4, 7, 6, 8, 12, 11, 11, 11, 15, 15, 11, 15, 12, 10, 22, 8, 9,
            ];
            let line = |cols: &[&str]| {
                let parts: Vec<String> = cols
                    .iter()
                    .zip(WIDTHS)
                    .enumerate()
                    .map(|(i, (c, w))| {
                        if i < 2 {
                            format!("{c:<w$}")
                        } else {
                            format!("{c:>w$}")
                        }
                    })
                    .collect();
                println!("{}", parts.join(" "));
            };
            let mut head = vec![
                "mode",
                "sync",
                "cpus",
                "readers",
                "runs",
                "torn/M",
                "95% CI /M",
                "hold p50 µs",
                "hold p99 µs",
                "hold max µs",
                "collapse p50 µs",
                "collapse p99 µs",
                "spin p99 µs",
                "IPI wait p99 µs",
                "IPIs per run",
            ];
            if grid.estimate.is_some() {
                head.extend(["rate", "95% interval", "rel err", "samples"]);
            }
            line(&head);
            for c in cells {
                let mut r = row(c);
                r.truncate(14);
                let (lo, hi) = c.stats.torn_interval_per_million();
                if c.stats.runs_with_torn < FEW_EVENTS {
                    r[5].insert(0, '~');
                }
                r.insert(6, format!("{lo:.0}–{hi:.0}"));
                if let Some(e) = c.estimate.as_ref().filter(|_| grid.estimate.is_some()) {
                    r.extend(estimate_cols(e));
                }
                let cols: Vec<&str> = r.iter().map(String::as_str).collect();
                line(&cols);
            }
            let proofs: Vec<String> = cells
                .iter()
                .filter_map(|c| {
                    let e = c.estimate.as_ref()?;
                    Some(format!("  cell {}: {}", c.index, e.reason.as_ref()?))
                })
                .collect();
            if cells.iter().any(|c| c.stats.runs_with_torn < FEW_EVENTS) {
                println!(
                    "\n~ fewer than {FEW_EVENTS} collapses with a torn read: a rough rate; see its 95% interval"
                );
            }
            if !proofs.is_empty() {
                println!("\nrates of exactly 0:\n{}", proofs.join("\n"));
            }
            if cells.len() < total {
                println!(
                    "\n{} of the grid's {} cells (shard {})",
                    cells.len(),
                    total,
                    shard.unwrap_or_default()
                );
            }
        }
    }
}

pub fn cmd_merge(a: MergeArgs) -> Result<u8, InputError> {
    let mut grid: Option<SweepGrid> = None;
    let mut cells: Vec<SweepCell> = Vec::new();
    let mut total = 0;
    for path in &a.files {
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| InputError(format!("cannot read '{shown}': {e}")))?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| InputError(format!("'{shown}' is not JSON: {e}")))?;
        let g: SweepGrid = serde_json::from_value(v["grid"].clone())
            .map_err(|e| InputError(format!("'{shown}' is not a sweep's JSON output: {e}")))?;
        let cs: Vec<SweepCell> = serde_json::from_value(v["cells"].clone())
            .map_err(|e| InputError(format!("'{shown}': bad cells: {e}")))?;
        match &grid {
            Some(first) if *first != g => {
                return Err(InputError(format!(
                    "'{shown}' is a shard of a different grid"
                )))
            }
            _ => grid = Some(g),
        }
        total = v["cells_in_grid"].as_u64().unwrap_or(0) as usize;
        cells.extend(cs);
    }
    let grid = grid.expect("clap requires at least one file");
    cells.sort_by_key(|c| c.index);
    for w in cells.windows(2) {
        if w[0].index == w[1].index {
            return Err(InputError(format!(
                "cell {} appears in two files",
                w[0].index
            )));
        }
    }
    let missing: Vec<usize> = (0..total)
        .filter(|i| cells.binary_search_by_key(i, |c| c.index).is_err())
        .collect();
    if !missing.is_empty() {
        return Err(InputError(format!(
            "{} of {} cells are missing (first: {}); merge every shard",
            missing.len(),
            total,
            missing[0]
        )));
    }
    output(
        &grid,
        &cells,
        Some("1/1".into()),
        total,
        format(a.format, a.json, a.csv),
    );
    Ok(OK)
}

/// Factors each latency is scaled by in a sensitivity table.
const FACTORS: [f64; 2] = [0.5, 2.0];

pub fn cmd_sensitivity(a: SensitivityArgs) -> Result<u8, InputError> {
    let cfg = match &a.file {
        Some(p) => a.config.build_for(&ScenarioFile::load(p)?)?,
        None => a.config.build()?,
    };
    let spec = a.estimate.spec(true)?.expect("required");
    let base = latencies(a.latency.as_deref())?;
    // The base, then every latency halved and doubled.
    let mut jobs: Vec<(&'static str, f64)> = vec![("", 1.0)];
    for (name, _) in base.clone().named() {
        jobs.extend(FACTORS.iter().map(|&f| (name, f)));
    }
    let results = par_map("estimates", &jobs, |&(name, f)| {
        let lat = if name.is_empty() {
            base
        } else {
            base.scaled(name, f).expect("a known name")
        };
        tornsim_core::rare::estimate(&cfg, &lat, &spec, a.seed)
    })
    .into_iter()
    .collect::<Result<Vec<_>, _>>()
    .map_err(|e| InputError(e.to_string()))?;
    if a.json {
        let rows: Vec<_> = jobs
            .iter()
            .zip(&results)
            .map(|(&(name, f), e)| json!({"latency": name, "factor": f, "estimate": e}))
            .collect();
        print_json(&json!({
            "config": cfg,
            "latencies": base,
            "estimate": spec,
            "seed": a.seed,
            "rows": rows,
        }));
        return Ok(OK);
    }
    let [rate, interval, rel, samples] = estimate_cols(&results[0]);
    println!(
        "{} rate per collapse at the base latencies: {rate} (95% {interval}, ±{rel}, {samples} runs)",
        spec.event.name()
    );
    if let Some(r) = &results[0].reason {
        println!("{r}");
        return Ok(OK);
    }
    println!(
        "\n{:<15} {:>10} {:>12} {:>10} {:>12} {:>9}",
        "latency", "base", "rate ×0.5", "ratio", "rate ×2", "ratio"
    );
    let ratio = |e: &tornsim_core::rare::RateEstimate| {
        if results[0].rate > 0.0 {
            format!("{:.2}", e.rate / results[0].rate)
        } else {
            "-".into()
        }
    };
    for (i, (name, v)) in base.clone().named().into_iter().enumerate() {
        let (half, double) = (&results[1 + 2 * i], &results[2 + 2 * i]);
        println!(
            "{:<15} {:>10} {:>12} {:>10} {:>12} {:>9}",
            name,
            format!("{v}"),
            estimate_cols(half)[0],
            ratio(half),
            estimate_cols(double)[0],
            ratio(double),
        );
    }
    Ok(OK)
}
