//! `tornsim history`: the kernel history suite's table (`tornsim_core::general::history`).

use crate::args::HistoryArgs;
use crate::output::{print_json, InputError, HAZARD, OK};
use serde_json::json;
use std::time::Instant;
use tornsim_core::general::{history, GCheckOptions};

pub fn cmd_history(a: HistoryArgs) -> Result<u8, InputError> {
    let races: Vec<&history::Race> = match &a.race {
        None => history::RACES.iter().collect(),
        Some(name) => vec![history::RACES
            .iter()
            .find(|r| r.name == name)
            .ok_or_else(|| {
                let names: Vec<&str> = history::RACES.iter().map(|r| r.name).collect();
                InputError(format!(
                    "no race '{name}' in the history suite (it has: {})",
                    names.join(", ")
                ))
            })?],
    };
    let opts = GCheckOptions {
        threads: crate::args::threads(a.threads)?,
        ..GCheckOptions::default()
    };
    let mut all_hold = true;
    let mut out = Vec::new();
    let start = Instant::now();
    for race in races {
        let t = Instant::now();
        let r = history::check_race(race, opts).map_err(InputError)?;
        let seconds = t.elapsed().as_secs_f64();
        all_hold &= r.holds();
        if !a.json && !a.markdown {
            print_race(&r, seconds);
        }
        out.push((r, seconds));
    }
    let total = start.elapsed().as_secs_f64();
    if a.markdown {
        let reports: Vec<history::RaceReport> = out.into_iter().map(|(r, _)| r).collect();
        print!("{}", history::markdown(&reports));
    } else if a.json {
        print_json(&json!({
            "races": out.iter().map(|(r, s)| json!({
                "race": r.race,
                "commit": r.header.id(),
                "title": r.header.title(),
                "author": r.header.author,
                "date": r.header.date,
                "kernels": r.header.kernels,
                "story": r.header.story,
                "interleaving": r.header.interleaving,
                "events": r.header.events(),
                "holds": r.holds(),
                "rows": r.rows,
                "seconds": s,
            })).collect::<Vec<_>>(),
            "holds": all_hold,
            "seconds": total,
        }));
    } else {
        println!(
            "{} race{}, {:.2} s: {}",
            out.len(),
            if out.len() == 1 { "" } else { "s" },
            total,
            if all_hold {
                "every verdict is the one its commit gives"
            } else {
                "SOME VERDICTS DIFFER FROM THEIR COMMITS"
            }
        );
    }
    Ok(if all_hold { OK } else { HAZARD })
}

fn print_race(r: &history::RaceReport, seconds: f64) {
    let h = &r.header;
    println!(
        "{}: {} \"{}\" ({}, {})",
        r.race,
        h.id(),
        h.title(),
        h.author,
        h.date
    );
    let width = r.rows.iter().map(|x| x.case.len()).max().unwrap_or(0);
    for row in &r.rows {
        let witness = match (row.witness_steps, row.witness_cpus) {
            (Some(n), Some(c)) => format!("witness {n} steps on {c} CPUs"),
            _ => String::new(),
        };
        let line = format!(
            "  {:width$}  {:28}  {:13}  {:9}  {:>6} states  {}",
            row.case,
            row.knobs,
            row.verdict.name(),
            if row.holds { "as fixed" } else { "DIFFERS" },
            row.states,
            witness,
        );
        println!("{}", line.trim_end());
    }
    if let (Some(n), Some(b)) = (
        h.events(),
        r.rows.first().and_then(|x| x.breakdown.as_ref()),
    ) {
        println!(
            "  the commit's interleaving: {n} events; the witness: {}",
            b.text()
        );
    }
    println!("  {:.3} s", seconds);
}
