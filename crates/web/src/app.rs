//! The page: controls, run bar, charts, lane table, exhaustive check, and trace viewer.
//! Components only render the [`Model`] and turn events into [`Msg`]s.

use crate::charts::{
    fmt_num, Dot, Interval, IntervalChart, LineChart, LogRateChart, LogRow, Scatter, Series,
};
use crate::engine::{default_workers, Engine};
use crate::general_trace::GeneralTrace;
use crate::history::HistoryGallery;
use crate::model::{Edit, EditorState, Model, Msg, Sink, Status};
use crate::runner::{Reply, Request};
use crate::scenario_panel::{GeneralReport, ScenarioPanel};
use crate::trace_view::TracePanel;
use crate::verdict::checking_text;
use crate::verdict::CheckLine;
use std::cell::RefCell;
use std::rc::Rc;
use tornsim_core::campaign::Share;
use tornsim_core::config::{
    Alloc, Apic, ClearKind, FreeKind, Knob, Memory, Mode, ReaderKind, SetKind, SyncPlacement,
};
use tornsim_core::run::FEW_EVENTS;
use tornsim_core::{presets, program, wilson, SchedulerSpec};
use yew::prelude::*;

#[derive(Properties, PartialEq, Clone)]
pub struct AppProps {
    /// The URL fragment the page was opened with, without `#`.
    pub fragment: AttrValue,
    /// Run chunks in a Web Worker (off in the wasm test runner, which has none).
    #[prop_or(true)]
    pub use_worker: bool,
    /// Keep the address bar's fragment in step with the settings.
    #[prop_or(true)]
    pub sync_url: bool,
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

fn page_link(fragment: &str) -> String {
    let base = web_sys::window()
        .and_then(|w| w.location().href().ok())
        .unwrap_or_default();
    let base = base.split('#').next().unwrap_or("").to_string();
    format!("{base}#{fragment}")
}

fn post_height() {
    let Some(w) = web_sys::window() else { return };
    let Some(h) = w
        .document()
        .and_then(|d| d.document_element())
        .map(|e| e.scroll_height())
    else {
        return;
    };
    if let Ok(Some(parent)) = w.parent() {
        let msg = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&msg, &"tornsim".into(), &"height".into());
        let _ = js_sys::Reflect::set(&msg, &"height".into(), &(h as f64).into());
        // The height is not a secret: any host may read it.
        let _ = parent.post_message(&msg, "*");
    }
}

/// Posts a request to the engine. Once the workers have failed (`in_worker` false) the
/// engine becomes the page itself; that swap drops the workers and their handlers, one
/// of which may be running (it reported the failure), so it waits for a fresh task.
fn send(
    engine: &Rc<RefCell<Option<Engine>>>,
    done: &Callback<Reply>,
    req: Request,
    in_worker: bool,
) {
    let stale = !in_worker && engine.borrow().as_ref().is_some_and(Engine::is_worker);
    if !stale {
        if let Some(e) = engine.borrow().as_ref() {
            e.send(req);
        }
        return;
    }
    let (engine, done) = (engine.clone(), done.clone());
    gloo_timers::callback::Timeout::new(0, move || {
        let mut e = engine.borrow_mut();
        if e.as_ref().is_some_and(Engine::is_worker) {
            *e = Some(Engine::Inline { done });
        }
        if let Some(e) = e.as_ref() {
            e.send(req);
        }
    })
    .forget();
}

/// A callback that dispatches the message `f` makes of the event.
fn on<E: 'static>(d: &UseReducerDispatcher<Model>, f: impl Fn(E) -> Msg + 'static) -> Callback<E> {
    let d = d.clone();
    Callback::from(move |e| d.dispatch(f(e)))
}

#[function_component(App)]
pub fn app(props: &AppProps) -> Html {
    let model = {
        let p = props.clone();
        use_reducer_eq(move || Model::from_fragment(&p.fragment, p.use_worker))
    };
    let engine: Rc<RefCell<Option<Engine>>> = use_mut_ref(|| None);

    // The engine lives as long as the page; its answers become messages.
    let done: Callback<Reply> = {
        let d = model.dispatcher();
        use_memo((), move |_| {
            Callback::from(move |r: Reply| d.dispatch(Msg::from_reply(r, now_ms())))
        })
        .as_ref()
        .clone()
    };
    {
        let (engine, dispatch, done) = (engine.clone(), model.dispatcher(), done.clone());
        let workers = if props.use_worker {
            let embed = model.embed;
            model
                .workers_wanted
                .unwrap_or_else(|| default_workers(embed))
        } else {
            0
        };
        let autorun = model.share.autorun;
        use_effect_with((), move |_| {
            let d = dispatch.clone();
            let failed = Callback::from(move |why: String| d.dispatch(Msg::WorkerFailed(why)));
            let e = Engine::new(workers, done.clone(), failed);
            let workers = e.workers();
            *engine.borrow_mut() = Some(e);
            dispatch.dispatch(Msg::EngineReady {
                workers,
                sink: Some(Sink(Rc::new(move |req, in_worker| {
                    send(&engine, &done, req, in_worker)
                }))),
            });
            if autorun {
                dispatch.dispatch(Msg::Start { now_ms: now_ms() });
            }
        });
    }
    // Keep the fragment current, so the address bar is always a shareable link: a
    // deliberate change (a control, a preset, a trace) gets its own history entry, so
    // Back undoes it; typing in the editor only replaces the current one.
    // Written once per render: with a scenario it packs (compresses) the file's text.
    let fragment = model.fragment();
    {
        let fragment = fragment.clone();
        // An embed keeps its own address: its fragment carries `embed=1`.
        let sync = props.sync_url && !model.embed;
        let seen = use_mut_ref(|| model.deliberate);
        use_effect_with((fragment, model.deliberate), move |(f, deliberate)| {
            if sync {
                if let Some(h) = web_sys::window().and_then(|w| w.history().ok()) {
                    let url = format!("#{f}");
                    let here = web_sys::window()
                        .and_then(|w| w.location().hash().ok())
                        .unwrap_or_default();
                    let push = *deliberate != *seen.borrow() && here != url;
                    *seen.borrow_mut() = *deliberate;
                    let _ = if push {
                        h.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url))
                    } else {
                        h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url))
                    };
                }
            }
        });
    }
    // A fragment changed under the page (a pasted link, Back/Forward): show it.
    {
        let (d, listen) = (model.dispatcher(), props.sync_url);
        use_effect_with((), move |_| {
            let listeners = listen.then(|| {
                let window = web_sys::window().expect("a window");
                ["hashchange", "popstate"].map(|ev| {
                    let (d, w) = (d.clone(), window.clone());
                    gloo_events::EventListener::new(&window, ev, move |_| {
                        let hash = w.location().hash().unwrap_or_default();
                        d.dispatch(Msg::Fragment(hash));
                    })
                })
            });
            move || drop(listeners)
        });
    }

    // When the page first showed: a mark the end-to-end tests read as time to first
    // render.
    use_effect_with((), |_| {
        if let Some(p) = web_sys::window().and_then(|w| w.performance()) {
            let _ = p.mark("tornsim-first-render");
        }
    });
    // Embedded: tell the host page our height after every render, so its iframe fits.
    {
        let embed = model.embed;
        use_effect(move || {
            if embed {
                post_height();
            }
        });
    }

    let d = model.dispatcher();
    let edit = {
        let d = d.clone();
        move |f: Edit| d.dispatch(Msg::Edit(f))
    };
    let m = &*model;
    let running = m.status == Status::Running;
    let link = page_link(&fragment);

    let on_start = on(&d, |_| Msg::Start { now_ms: now_ms() });
    let on_pause = on(&d, |_| Msg::Pause);
    let on_resume = on(&d, |_| Msg::Resume { now_ms: now_ms() });
    let on_reset = on(&d, |_| Msg::Reset);
    let on_copy = {
        let link = link.clone();
        Callback::from(move |_| {
            if let Some(w) = web_sys::window() {
                let _ = w.navigator().clipboard().write_text(&link);
            }
        })
    };
    let on_check = on(&d, |_| Msg::CheckStart);
    let on_check_any = on(&d, |_| Msg::CheckAnyStart);
    let on_cost = on(&d, |_| Msg::StartCost { now_ms: now_ms() });
    let on_manual = on(&d, |_| Msg::ManualStart);

    let timed = m.shown.as_ref().is_some_and(|c| c.timed.is_some());
    // Borrowed, not cloned: the view's copy is shared with the model.
    let lanes: &[tornsim_core::campaign::Lane] = m.shown.as_ref().map_or(&[], |c| &c.lanes);
    // A clause over final registers and words: its runs get a column of their own.
    let observes = program::of_config(&m.share.config).exists.cond.is_some();
    // Each lane's summaries, once per render, for the chart and the table.
    let timed_stats: Vec<tornsim_core::timed::TimedStats> = if timed {
        lanes.iter().map(|l| l.timed.stats()).collect()
    } else {
        Vec::new()
    };
    let dots: Vec<Dot> = lanes
        .iter()
        .zip(&timed_stats)
        .filter(|(_, s)| s.runs > 0)
        .map(|(l, s)| Dot {
            label: l.label.clone(),
            x: s.ptl_hold.p99 / 1000.0,
            y: s.torn_per_million_collapses(),
            y_range: Some(s.torn_interval_per_million()),
        })
        .collect();
    let rate_log_rows: Vec<LogRow> = lanes
        .iter()
        .zip(m.rates.iter().map(Some).chain(std::iter::repeat(None)))
        .map(|(l, r)| log_row(&l.label, r.map(Option::as_ref)))
        .collect();
    let torn_series: Vec<Series> = lanes
        .iter()
        .map(|l| Series {
            label: l.label.clone(),
            points: l
                .series
                .iter()
                .map(|p| (p.runs as f64, p.runs_with_torn as f64))
                .collect(),
        })
        .collect();
    let rate_rows: Vec<Interval> = lanes
        .iter()
        .map(|l| {
            let (v, lo, hi) = l.stats.torn_per_million();
            Interval {
                label: l.label.clone(),
                value: v,
                low: lo,
                high: hi,
                few: l.stats.runs_with_torn < FEW_EVENTS,
            }
        })
        .collect();
    let retry_rows: Vec<Interval> = lanes
        .iter()
        .map(|l| {
            let n = l.stats.runs.max(1);
            let (lo, hi) = wilson(l.stats.retries.min(n), n);
            Interval {
                label: l.label.clone(),
                value: l.stats.retries as f64 * 1000.0 / n as f64,
                low: lo * 1000.0,
                high: hi * 1000.0,
                few: l.stats.retries < FEW_EVENTS,
            }
        })
        .collect();
    let progress = m.shown.as_ref().map(|c| {
        let total = c.target * c.lanes.len() as u64;
        (c.runs(), total)
    });

    html! {
        <main class={classes!("tornsim", m.embed.then_some("embed"))}>
            if m.embed {
                <div class="embed-head">
                    <strong>{ match &m.editor.general {
                        Some(r) => format!("tornsim: {} ({})", r.name, r.summary),
                        None => format!("tornsim: {}", m.share.config.summary()),
                    } }</strong>
                    <a href={link.clone()} target="_blank" rel="noopener">{ "open full simulator ↗" }</a>
                </div>
            } else {
                <header>
                    <h1>{ "tornsim" }</h1>
                    <p class="lede">{ "Watch the x86-32 PAE torn PMD read: khugepaged clears a PMD while lockless walkers read it in two 32-bit halves. Where does pmdp_get_lockless_sync() have to run?" }</p>
                    <Intro on_prove={on(&d, |_| Msg::CheckStart)} />
                </header>
            }
            if let Some(n) = &m.notice {
                <p class="notice" role="alert">{ n.clone() }</p>
            }
            if let Some(e) = &m.error {
                <p class="notice error" role="alert">{ e.clone() }</p>
            }
            if !m.embed {
            <section class="presets" aria-label="presets">
                { for presets().into_iter().map(|p| {
                    let name = p.name.to_string();
                    let active = p.config == m.share.config;
                    html! {
                        <button class={classes!("preset", active.then_some("active"))} title={p.summary} data-preset={p.name}
                            onclick={on(&d, move |_| Msg::Preset(name.clone()))}>{ p.name }</button>
                    }
                }) }
            </section>
            <HistoryGallery current={AttrValue::from(m.editor.text.clone())} disabled={running || m.locked}
                on_load={on(&d, Msg::ScenarioText)} />
            }
            <Controls share={m.share.clone()} invalid={m.invalid.as_ref().map(|e| AttrValue::from(e.to_string()))} disabled={running || m.locked} on_edit={Callback::from(edit)} />
            // An embed has no editor: a general file's answer stands on its own.
            if let (true, Some(r)) = (m.embed, &m.editor.general) {
                <GeneralReport report={r.clone()} on_open={on(&d, Msg::OpenTrace)} runs={m.general_runs.clone()}
                    on_run={on(&d, |(runs, spec)| Msg::GeneralRunStart { runs, spec })}
                    on_stop={on(&d, |_| Msg::GeneralRunStop)}
                    on_prove_any={on(&d, |_| Msg::GeneralProveAny)} proving_any={m.editor.proving_any} />
            }
            if !m.embed {
                <ScenarioPanel text={AttrValue::from(m.editor.text.clone())}
                    description={AttrValue::from(m.editor.description.clone())}
                    error={match &m.editor.state { EditorState::Error(e) => Some(e.clone()), _ => None }}
                    parsing={m.editor.state == EditorState::Parsing}
                    disabled={running || m.locked}
                    can_run={m.invalid.is_none() && !running}
                    on_input={on(&d, Msg::ScenarioText)}
                    on_move={on(&d, Msg::ScenarioMoved)}
                    on_check={on_check.clone()}
                    on_run={on(&d, |_| Msg::Start { now_ms: now_ms() })}
                    general={m.editor.general.clone()}
                    on_open={on(&d, Msg::OpenTrace)}
                    general_runs={m.general_runs.clone()}
                    on_general_run={on(&d, |(runs, spec)| Msg::GeneralRunStart { runs, spec })}
                    on_general_stop={on(&d, |_| Msg::GeneralRunStop)}
                    on_general_any={on(&d, |_| Msg::GeneralProveAny)}
                    general_proving_any={m.editor.proving_any} />
            }
            <section class="runbar" aria-label="run">
                <button class="primary" id="start" disabled={running || m.invalid.is_some()} onclick={on_start}>{ if m.campaign.is_some() { "Restart" } else { "Start" } }</button>
                if running {
                    <button id="pause" onclick={on_pause}>{ "Pause" }</button>
                }
                if m.status == Status::Paused {
                    <button id="resume" onclick={on_resume}>{ "Resume" }</button>
                }
                <button id="reset" onclick={on_reset} disabled={m.campaign.is_none()}>{ "Reset" }</button>
                <button id="check" onclick={on_check} disabled={m.invalid.is_some() || m.checking.is_some()} title="Explore every interleaving (breadth-first, readers looping forever) and prove safe or print the shortest torn read">{ "Prove (exhaustive)" }</button>
                <button id="check-any" onclick={on_check_any} disabled={m.invalid.is_some() || m.checking.is_some()} title="Prove for every number of readers and idle CPUs at once: three conditions checked on the program's steps let the search at one reader per reader block decide every count">{ "Prove for any number of CPUs" }</button>
                <button id="cost" onclick={on_cost} disabled={running || m.invalid.is_some()} title="Timed runs of every sync placement (the cost model): PTL hold time against torn reads per million collapses">{ "Cost trade-off" }</button>
                <button id="manual" onclick={on_manual} disabled={m.invalid.is_some()} title="Step the CPUs yourself and try to produce a torn read">{ "Be the scheduler" }</button>
                <button id="copy" onclick={on_copy} title={link.clone()}>{ "Copy link" }</button>
                <span class="status" id="status" aria-live="polite">{
                    match progress {
                        Some((done, total)) => format!("{} · {} / {} runs · {} runs/s{}",
                            match m.status { Status::Running => "running", Status::Paused => "paused", Status::Done => "done", Status::Idle => "idle" },
                            fmt_num(done as f64), fmt_num(total as f64), fmt_num(m.runs_per_sec()),
                            match (m.in_worker, m.workers) {
                                (false, _) => " on the page".to_string(),
                                (true, 1) => " in a worker".to_string(),
                                (true, n) => format!(" in {n} workers"),
                            }),
                        None => "Pick a preset or set the controls, then Start.".into(),
                    }
                }</span>
            </section>
            if m.checking.is_some() {
                <p class="check" id="verdict" aria-live="polite">{ checking_text(m.check_progress.as_ref(), m.workers) }
                    { " " }<button id="check-cancel" onclick={on(&d, |_| Msg::CheckCancel)}>{ "Cancel" }</button></p>
            }
            if let Some(r) = &m.check {
                <CheckLine result={r.clone().map_err(AttrValue::from)}
                    any={m.any.clone()}
                    claim={m.share.config.scenario.as_ref().map(|s| AttrValue::from(s.exists.text()))}
                    holds={r.as_ref().ok().and_then(|r| program::of_config(&m.share.config).exists.holds(r.verdict))}
                    on_open={on(&d, Msg::OpenTrace)} />
            }
            // Shown from the first answer on: the click's own task stays short.
            if timed && m.cost_charts {
                <section class="charts cost">
                    <Scatter title="Cost trade-off: PTL hold p99 against torn reads (timed runs)" x_label="khugepaged's PTL hold, 99th percentile (µs)"
                        y_label="torn reads per million collapses" dots={dots} />
                    <LogRateChart title="How likely: collapses with a torn read (importance sampling, 95% interval)"
                        unit="probability per collapse, log scale" rows={rate_log_rows} />
                    <div class="scroll-x" tabindex="0" role="region" aria-label="timed lanes">
                    <table class="lanes timed">
                        <thead><tr><th>{ "sync" }</th><th>{ "collapses" }</th><th>{ "torn / M" }</th><th>{ "95% CI / M" }</th><th>{ "hold p50 µs" }</th><th>{ "hold p99 µs" }</th><th>{ "hold max µs" }</th><th>{ "collapse p99 µs" }</th><th>{ "fault spin p99 µs" }</th><th>{ "IPI wait p99 µs" }</th></tr></thead>
                        <tbody>
                        { for lanes.iter().zip(&timed_stats).map(|(l, s)| {
                            let us = |ns: f64| format!("{:.2}", ns / 1000.0);
                            let (lo, hi) = s.torn_interval_per_million();
                            let few = s.runs_with_torn < FEW_EVENTS;
                            html! {
                                <tr data-timed-lane={l.label.clone()}>
                                    <td>{ l.label.clone() }</td><td>{ s.runs }</td>
                                    <td class={classes!("torn-rate", few.then_some("few"))}
                                        title={few.then_some("fewer than 10 collapses with a torn read: a rough rate, see its interval")}>
                                        { format!("{}{:.1}", if few { "~" } else { "" }, s.torn_per_million_collapses()) }</td>
                                    <td class="torn-ci">{ format!("{lo:.0}–{hi:.0}") }</td>
                                    <td>{ us(s.ptl_hold.p50) }</td><td class="hold-p99">{ us(s.ptl_hold.p99) }</td><td>{ us(s.ptl_hold.max) }</td>
                                    <td>{ us(s.collapse.p99) }</td><td>{ us(s.populator_spin.p99) }</td><td>{ us(s.ipi_wait.p99) }</td>
                                </tr>
                            }
                        }) }
                        </tbody>
                    </table>
                    </div>
                </section>
            }
            if !lanes.is_empty() && !timed {
                <section class="charts">
                    <LineChart title="Runs with a torn read (cumulative)" x_label="runs" y_label="runs with a torn read" series={torn_series} />
                    if !m.embed {
                        <IntervalChart title="Torn-read rate, with 95% Wilson interval" unit="runs with a torn read per million runs" rows={rate_rows} />
                        <IntervalChart title="Retries caught by the pmd_low re-check" unit="retries per thousand runs" rows={retry_rows} />
                    }
                </section>
                <div class="scroll-x" tabindex="0" role="region" aria-label="lanes">
                <table class="lanes">
                    <thead><tr><th>{ "sync" }</th><th>{ "runs" }</th><th>{ "runs with a torn read" }</th><th>{ "torn reads" }</th><th>{ "retries" }</th><th>{ "stale uses" }</th><th>{ "IPIs" }</th>
                        if observes { <th>{ "runs ending as exists says" }</th> }
                        <th>{ if observes { "first run to open" } else { "first torn read" } }</th></tr></thead>
                    <tbody>
                    { for lanes.iter().map(|l| {
                        let s = &l.stats;
                        let open = s.first_torn.as_ref().or(s.first_observed.as_ref()).map(|h| {
                            let sched = h.schedule.clone();
                            html! { <button class="open-trace" onclick={on(&d, move |_| Msg::OpenTrace(sched.clone()))}>{ format!("run {}, open trace", h.run) }</button> }
                        });
                        html! {
                            <tr data-lane={l.label.clone()}>
                                <td>{ l.label.clone() }</td>
                                <td>{ s.runs }</td>
                                <td class="torn-count">{ s.runs_with_torn }</td>
                                <td>{ s.torn_reads }</td>
                                <td>{ s.retries }</td>
                                <td>{ s.stale_uses }</td>
                                <td>{ s.ipis_sent }</td>
                                if observes { <td class="observed-count">{ s.runs_observed }</td> }
                                <td>{ open.unwrap_or_else(|| html! { "none" }) }</td>
                            </tr>
                        }
                    }) }
                    </tbody>
                </table>
                </div>
            }
            if let Some(view) = &m.trace {
                <TracePanel view={view.clone()} manual={m.manual.clone()} share_link={AttrValue::from(link.clone())}
                    on_seek={on(&d, Msg::Seek)}
                    on_step={on(&d, Msg::StepBy)}
                    on_close={on(&d, |_| Msg::CloseTrace)}
                    on_manual={on(&d, Msg::ManualStep)} />
            }
            if let Some(view) = &m.general_trace {
                <GeneralTrace view={view.clone()} share_link={AttrValue::from(link.clone())}
                    on_seek={on(&d, Msg::Seek)}
                    on_step={on(&d, Msg::StepBy)}
                    on_close={on(&d, |_| Msg::CloseTrace)} />
            }
            if !m.embed {
                <footer><p>{ "Model: MODEL.md in the tornsim repository. Everything runs in this page; nothing is sent anywhere." }</p></footer>
            }
        </main>
    }
}

#[derive(Properties, PartialEq)]
pub struct ControlsProps {
    pub share: Share,
    pub invalid: Option<AttrValue>,
    pub disabled: bool,
    pub on_edit: Callback<Edit>,
}

fn select<K: Knob + ToString>(
    label: &str,
    current: K,
    p: &ControlsProps,
    help: &UseStateHandle<String>,
) -> Html {
    select_or(label, current, None, p, help)
}

/// A knob's select; `instead`: a choice that is not one of its values (a scenario in
/// place of the placements), shown selected.
fn select_or<K: Knob + ToString>(
    label: &str,
    current: K,
    instead: Option<String>,
    p: &ControlsProps,
    help: &UseStateHandle<String>,
) -> Html {
    let on_edit = p.on_edit.clone();
    let onchange = Callback::from(move |e: Event| {
        let v: web_sys::HtmlSelectElement = e.target_unchecked_into();
        let value = v.value();
        on_edit.emit(Box::new(move |s: &mut Share| {
            s.config.set(K::FIELD, &value)
        }));
    });
    let tip = format!("{}: {}", K::FIELD, current.help());
    let onfocus = {
        let help = help.clone();
        let tip = tip.clone();
        Callback::from(move |_| help.set(tip.clone()))
    };
    html! {
        <label title={tip}>
            <span>{ label }</span>
            <select name={K::FIELD} {onchange} {onfocus} disabled={p.disabled}>
                if let Some(name) = &instead {
                    <option value="" selected=true disabled=true>{ format!("scenario {name}") }</option>
                }
                { for K::ALL.iter().map(|&v| html! {
                    <option value={v.name()} selected={instead.is_none() && v == current} title={v.help()}>{ v.name() }</option>
                }) }
            </select>
        </label>
    }
}

fn number(
    label: &str,
    field: &'static str,
    value: String,
    tip: &str,
    p: &ControlsProps,
    help: &UseStateHandle<String>,
    apply: fn(&mut Share, &str) -> Result<(), tornsim_core::ConfigError>,
) -> Html {
    let on_edit = p.on_edit.clone();
    let onchange = Callback::from(move |e: Event| {
        let v: web_sys::HtmlInputElement = e.target_unchecked_into();
        let value = v.value();
        on_edit.emit(Box::new(move |s: &mut Share| apply(s, value.trim())));
    });
    let tip = tip.to_string();
    let onfocus = {
        let help = help.clone();
        let tip = tip.clone();
        Callback::from(move |_| help.set(tip.clone()))
    };
    html! {
        <label title={tip}>
            <span>{ label }</span>
            <input name={field} type="text" inputmode="numeric" value={value} {onchange} {onfocus} disabled={p.disabled} />
        </label>
    }
}

fn parse_u64(field: &str, v: &str) -> Result<u64, tornsim_core::ConfigError> {
    v.parse().map_err(|_| {
        tornsim_core::ConfigError::new(field, format!("expected a whole number, got '{v}'"))
    })
}

#[function_component(Controls)]
pub fn controls(p: &ControlsProps) -> Html {
    let help = use_state(|| String::from("Hover or focus a control to see what it models."));
    let c = &p.share.config;
    let on_edit = p.on_edit.clone();
    let on_paravirt = Callback::from(move |e: Event| {
        let v: web_sys::HtmlInputElement = e.target_unchecked_into();
        let on = v.checked();
        on_edit.emit(Box::new(move |s: &mut Share| {
            s.config.set("paravirt", if on { "on" } else { "off" })
        }));
    });
    let on_edit = p.on_edit.clone();
    let on_compare = Callback::from(move |e: Event| {
        let v: web_sys::HtmlInputElement = e.target_unchecked_into();
        let on = v.checked();
        on_edit.emit(Box::new(move |s: &mut Share| {
            s.compare = on;
            Ok(())
        }));
    });
    let on_edit = p.on_edit.clone();
    let on_sched = Callback::from(move |e: Event| {
        let v: web_sys::HtmlSelectElement = e.target_unchecked_into();
        let pct = v.value() == "pct";
        on_edit.emit(Box::new(move |s: &mut Share| {
            s.scheduler = if pct {
                SchedulerSpec::Pct { depth: 4 }
            } else {
                SchedulerSpec::Random
            };
            Ok(())
        }));
    });
    let depth = match p.share.scheduler {
        SchedulerSpec::Pct { depth } => Some(depth),
        _ => None,
    };
    let sched_tip = "scheduler: random picks any enabled CPU uniformly; PCT (Burckhardt et al., ASPLOS 2010) gives CPUs random priorities with depth-1 change points, which finds this depth-4 race more often";
    let focus_sched = {
        let help = help.clone();
        Callback::from(move |_| help.set(sched_tip.into()))
    };
    html! {
        <section class="controls" aria-label="configuration">
            { select::<Mode>("mode", c.mode, p, &help) }
            { select_or::<SyncPlacement>("sync placement", c.sync, c.scenario.as_ref().map(|s| s.name.clone()), p, &help) }
            <label title="paravirt: CONFIG_PARAVIRT on native PAE selects CONFIG_MMU_GATHER_RCU_TABLE_FREE, which makes tlb_remove_table_sync_one() a real IPI broadcast">
                <span>{ "paravirt" }</span>
                <input name="paravirt" type="checkbox" checked={c.paravirt} onchange={on_paravirt} disabled={p.disabled || c.mode != Mode::NativePae} />
            </label>
            { select::<ReaderKind>("reader kind", c.reader, p, &help) }
            { number("readers", "readers", c.readers.to_string(), "readers: how many CPUs run lockless walkers (1..=62)", p, &help, |s, v| s.config.set("readers", v)) }
            { number("CPUs", "cpus", c.cpus.map(|n| n.to_string()).unwrap_or_default(), "cpus: CPU count, blank for collapser + populator + readers; extra CPUs are idle and only answer IPIs", p, &help,
                |s, v| if v.is_empty() { s.config.cpus = None; Ok(()) } else { s.config.set("cpus", v) }) }
            { select::<Alloc>("allocator", c.alloc, p, &help) }
            { select::<ClearKind>("clear", c.clear, p, &help) }
            { select::<SetKind>("set", c.set, p, &help) }
            { select::<FreeKind>("free", c.free, p, &help) }
            { select::<Memory>("memory model", c.memory, p, &help) }
            { select::<Apic>("IPI ordering (apic)", c.apic, p, &help) }
            <label title={sched_tip}>
                <span>{ "scheduler" }</span>
                <select name="scheduler" onchange={on_sched} onfocus={focus_sched} disabled={p.disabled}>
                    <option value="random" selected={depth.is_none()}>{ "random" }</option>
                    <option value="pct" selected={depth.is_some()}>{ "pct" }</option>
                </select>
            </label>
            if let Some(d) = depth {
                { number("PCT depth", "depth", d.to_string(), "depth: PCT's bug depth, 1..=64 (the torn read needs 4)", p, &help,
                    |s, v| { let d = parse_u64("depth", v)? as u32; s.scheduler = SchedulerSpec::Pct { depth: d }; s.scheduler.validate() }) }
            }
            { number("seed", "seed", p.share.seed.to_string(), "seed: the same seed gives the same runs, here and in the tornsim command", p, &help,
                |s, v| { s.seed = parse_u64("seed", v)?; Ok(()) }) }
            { number("runs", "runs", p.share.runs.to_string(), "runs: how many runs per lane", p, &help,
                |s, v| { let n = parse_u64("runs", v)?; if n == 0 || n > tornsim_core::campaign::MAX_RUNS { return Err(tornsim_core::ConfigError::new("runs", format!("{n} is out of range 1..={}", tornsim_core::campaign::MAX_RUNS))); } s.runs = n; Ok(()) }) }
            <label title="compare: run every sync placement side by side on the same seeds">
                <span>{ "compare placements" }</span>
                <input name="compare" type="checkbox" checked={p.share.compare} onchange={on_compare} disabled={p.disabled} />
            </label>
            <p class="help" aria-live="polite">{ (*help).clone() }</p>
            if let Some(e) = &p.invalid {
                <p class="invalid" role="alert" id="invalid">{ e.clone() }</p>
            }
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct IntroProps {
    on_prove: Callback<MouseEvent>,
}

/// The first screen's plain-words account of the race, with a picture of the two halves
/// (the model's own old and new values) and the way to the book's live scenes, the book and the proof.
#[function_component(Intro)]
fn intro(p: &IntroProps) -> Html {
    use tornsim_core::machine::{default_table, OLD_TABLE};
    use tornsim_core::Pmd;
    let old = Pmd::table(OLD_TABLE);
    let new = Pmd::table(default_table(tornsim_core::config::Alloc::SameLow));
    let half = |class: &'static str, what: &'static str, v: u32| {
        html! { <span class={classes!("half", class)}><small>{ what }</small>{ format!("0x{v:08x}") }</span> }
    };
    html! {
        <section class="intro" aria-label="what this is">
            <p>{ "On 32-bit x86 with PAE a page-middle-directory entry (PMD) is 64 bits, but a lockless page-table walker reads it as two 32-bit loads: pmd_low, then pmd_high. If khugepaged clears the entry and a page fault fills it again between those two loads, the walker gets the old low half with the new high half: a torn read, a value the PMD never held." }</p>
            <p>{ "This page runs that race as thousands of random interleavings, proves which orderings make it impossible by exploring every interleaving, and shows any torn read step by step." }</p>
            <figure class="race">
                <div class="row"><span class="label">{ "old PMD" }</span>{ half("pmd-old", "pmd_high", old.high) }{ half("pmd-old", "pmd_low", old.low) }</div>
                <div class="row"><span class="label">{ "new PMD" }</span>{ half("pmd-new", "pmd_high", new.high) }{ half("pmd-new", "pmd_low", new.low) }</div>
                <div class="row torn"><span class="label">{ "torn read" }</span>{ half("pmd-new", "new pmd_high", new.high) }{ half("pmd-old", "old pmd_low", old.low) }</div>
                <figcaption>{ "The walker loaded pmd_low before the clear and pmd_high after the refill. The new table here has the same low word as the old, so the re-check of pmd_low cannot tell." }</figcaption>
            </figure>
            <p class="ways">
                <a href="book/race.html">{ "How it happens, in seven scenes" }</a>
                { " · " }
                <a href="book/index.html">{ "The tornsim book" }</a>
                { " · " }
                <button class="linkish" onclick={p.on_prove.clone()}>{ "Prove the current setting safe or find the shortest torn read" }</button>
            </p>
        </section>
    }
}

/// A lane's rare-event rate as a chart row: the estimate, or where it is (`None`: not
/// asked for until the timed runs are done; `Some(None)`: asked for).
fn log_row(
    label: &str,
    r: Option<Option<&Result<tornsim_core::rare::RateEstimate, String>>>,
) -> LogRow {
    use tornsim_core::rare::Stop;
    let (rate, note) = match r {
        None => (None, "after the timed runs".to_string()),
        Some(None) => (None, "estimating…".to_string()),
        Some(Some(Err(e))) => (None, format!("error: {e}")),
        Some(Some(Ok(e))) if e.stop == Stop::Proof => (None, "0: proved safe".to_string()),
        Some(Some(Ok(e))) => (
            Some((e.rate, e.lo, e.hi)),
            match e.rel_error {
                Some(rel) => format!("{:.2e} ±{:.0}%", e.rate, rel * 100.0),
                None => format!("no hit in {}", fmt_num(e.samples() as f64)),
            },
        ),
    };
    LogRow {
        label: label.to_string(),
        rate,
        note,
    }
}
