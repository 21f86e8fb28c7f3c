//! Random runs of a file the general machine runs: how many and under which scheduler,
//! Run and Stop, the progress, each hazard's runs per million with its 95% interval,
//! the cumulative chart, and the first hazardous run to open as a trace. The runs
//! themselves are the reducer's ([`crate::model::GeneralRuns`]) and the workers'.

use crate::charts::{LineChart, Series};
use crate::model::GeneralRuns;
use tornsim_core::sched::SchedulerSpec;
use yew::prelude::*;

/// The run counts and schedulers offered: uniform random, and PCT at two depths (the
/// torn reads of the built-in files need depth 4 or more).
const COUNTS: [u64; 3] = [10_000, 100_000, 1_000_000];
const SCHEDULERS: [(&str, SchedulerSpec); 3] = [
    ("random", SchedulerSpec::Random),
    ("PCT, depth 4", SchedulerSpec::Pct { depth: 4 }),
    ("PCT, depth 8", SchedulerSpec::Pct { depth: 8 }),
];

#[derive(Properties, PartialEq)]
pub struct GeneralRunsProps {
    pub runs: Option<GeneralRuns>,
    pub on_start: Callback<(u64, SchedulerSpec)>,
    pub on_stop: Callback<()>,
    pub on_open: Callback<String>,
}

fn spec_name(spec: SchedulerSpec) -> String {
    match spec {
        SchedulerSpec::Random => "random".into(),
        SchedulerSpec::Pct { depth } => format!("PCT, depth {depth}"),
    }
}

#[function_component(GeneralRunsPanel)]
pub fn general_runs_panel(p: &GeneralRunsProps) -> Html {
    let count = use_state(|| COUNTS[1]);
    let sched = use_state(|| 0usize);
    let running = p.runs.as_ref().is_some_and(|g| !g.finished());
    let on_count = {
        let count = count.clone();
        Callback::from(move |e: Event| {
            let v: web_sys::HtmlSelectElement = e.target_unchecked_into();
            count.set(v.value().parse().unwrap_or(COUNTS[1]));
        })
    };
    let on_sched = {
        let sched = sched.clone();
        Callback::from(move |e: Event| {
            let v: web_sys::HtmlSelectElement = e.target_unchecked_into();
            sched.set(v.value().parse().unwrap_or(0));
        })
    };
    let start = {
        let (cb, count, sched) = (p.on_start.clone(), *count, *sched);
        Callback::from(move |_: MouseEvent| cb.emit((count, SCHEDULERS[sched].1)))
    };
    let stop = {
        let cb = p.on_stop.clone();
        Callback::from(move |_: MouseEvent| cb.emit(()))
    };
    let results = p.runs.as_ref().map(|g| {
        let s = &g.stats;
        let state = if !g.finished() {
            "running"
        } else if g.stopped {
            "stopped"
        } else {
            "done"
        };
        let rows: Vec<Html> = s
            .hazards
            .iter()
            .map(|&(h, n)| {
                let (rate, lo, hi) = s.per_million(h);
                html! {
                    <tr data-hazard={h.name()}>
                        <td>{ h.name() }</td><td class="count">{ n }</td>
                        <td>{ format!("{rate:.0}") }</td><td>{ format!("{lo:.0}–{hi:.0}") }</td>
                    </tr>
                }
            })
            .collect();
        let series: Vec<Series> = s
            .hazards
            .iter()
            .map(|&(h, _)| Series {
                label: h.name().to_string(),
                points: g
                    .series
                    .iter()
                    .map(|(runs, hs)| {
                        let k = hs.iter().find(|x| x.0 == h).map_or(0, |x| x.1);
                        (*runs as f64, k as f64)
                    })
                    .collect(),
            })
            .collect();
        let first = s.first.as_ref().map(|(h, sch)| {
            let (cb, sch) = (p.on_open.clone(), sch.clone());
            html! {
                <button id="general-runs-first" class="open-trace" onclick={Callback::from(move |_: MouseEvent| cb.emit(sch.clone()))}>
                    { format!("open run {} ({})", g.stats.first_run.unwrap_or(0), h.name()) }
                </button>
            }
        });
        html! {
            <div class="general-runs-results">
                <p id="general-runs-status" role="status">
                    { format!("{state}: {} of {} runs (seed {}, {}){}", s.runs, g.total, g.seed, spec_name(g.spec),
                        if s.hazards.is_empty() { ": no hazard yet".to_string() } else { String::new() }) }
                </p>
                if let Some(e) = &g.error {
                    <p class="scenario-error" role="alert">{ format!("The runs stopped: {e}") }</p>
                }
                if !rows.is_empty() {
                    <table class="lanes" id="general-runs-table">
                        <thead><tr><th>{ "hazard" }</th><th>{ "runs with it" }</th><th>{ "per million runs" }</th><th>{ "95% interval" }</th></tr></thead>
                        <tbody>{ for rows }</tbody>
                    </table>
                    <LineChart title="Runs with each hazard (cumulative)" x_label="runs" y_label="runs with the hazard" series={series} />
                }
                { first.unwrap_or_default() }
            </div>
        }
    });
    html! {
        <div class="general-runs" aria-label="random runs of this file">
            <div class="scenario-actions">
                <label>{ "Runs " }
                    <select id="general-runs-count" onchange={on_count} disabled={running}>
                        { for COUNTS.iter().map(|&c| html! { <option value={c.to_string()} selected={c == *count}>{ c }</option> }) }
                    </select>
                </label>
                <label>{ " scheduler " }
                    <select id="general-scheduler" onchange={on_sched} disabled={running}>
                        { for SCHEDULERS.iter().enumerate().map(|(i, (n, _))| html! { <option value={i.to_string()} selected={i == *sched}>{ *n }</option> }) }
                    </select>
                </label>
                if running {
                    <button id="general-stop" onclick={stop}>{ "Stop" }</button>
                } else {
                    <button id="general-run" onclick={start}>{ "Run" }</button>
                }
                <span class="hint">{ "in the page's workers; each run is seeded from the link's seed and its index" }</span>
            </div>
            { results.unwrap_or_default() }
        </div>
    }
}
