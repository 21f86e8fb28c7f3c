//! The *Scenario* panel: the running configuration as a scenario file in the editor
//! ([`crate::editor`]), the parser's error at its line, and Check / Run on the edited text.
//! Parsing happens in the worker (see [`crate::model::Msg::ScenarioText`]); this
//! component only shows text and reports keystrokes.

use crate::editor::Editor;
use crate::general_runs::GeneralRunsPanel;
use crate::model::GeneralRuns;
use tornsim_core::general::GReport;
use tornsim_core::sched::SchedulerSpec;
use tornsim_core::ScenarioError;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ScenarioPanelProps {
    pub text: AttrValue,
    pub description: AttrValue,
    pub error: Option<ScenarioError>,
    /// The worker has not yet answered for this text.
    pub parsing: bool,
    pub disabled: bool,
    /// The text parsed and the settings are valid.
    pub can_run: bool,
    pub on_input: Callback<String>,
    /// Lines moved (Alt+Up/Down): the new text, whose verdict the page then refreshes.
    pub on_move: Callback<String>,
    pub on_check: Callback<MouseEvent>,
    pub on_run: Callback<MouseEvent>,
    /// The text runs on the general machine: its answer, shown instead of Check / Run.
    pub general: Option<GReport>,
    /// Opens a schedule of the general file as a trace.
    pub on_open: Callback<String>,
    /// Random runs of the general file, and their controls.
    pub general_runs: Option<GeneralRuns>,
    pub on_general_run: Callback<(u64, SchedulerSpec)>,
    pub on_general_stop: Callback<()>,
    /// The general file's verdict for every walker count: asked, and on its way.
    pub on_general_any: Callback<()>,
    pub general_proving_any: bool,
}

/// The general machine's answer to the editor's file: the exhaustive verdict with the
/// file's claim, the shortest witness as CPU columns, and the random runs.
#[derive(Properties, PartialEq)]
pub struct GeneralProps {
    pub report: GReport,
    pub on_open: Callback<String>,
    pub runs: Option<GeneralRuns>,
    pub on_run: Callback<(u64, SchedulerSpec)>,
    pub on_stop: Callback<()>,
    pub on_prove_any: Callback<()>,
    /// The verdict for every walker count is on its way.
    pub proving_any: bool,
}

#[function_component(GeneralReport)]
pub fn general_report(p: &GeneralProps) -> Html {
    let r = &p.report;
    let open = |s: &String| {
        let (cb, s) = (p.on_open.clone(), s.clone());
        Callback::from(move |_: MouseEvent| cb.emit(s.clone()))
    };
    let runs = if r.hazard_runs.is_empty() {
        format!("{} random runs (seed {}): no hazard", r.runs, r.seed)
    } else {
        let each: Vec<String> = r
            .hazard_runs
            .iter()
            .map(|(h, n)| format!("{h} in {n} runs"))
            .collect();
        format!(
            "{} random runs (seed {}): {}",
            r.runs,
            r.seed,
            each.join(", ")
        )
    };
    html! {
        <section class={classes!("general-report", r.is_hazard().then_some("hazard"))} aria-label="general machine" id="general-report">
            <h3>{ "General machine" }</h3>
            <p class="hint">{ format!("{}: {}. This file declares page tables or names kernel paths the controls do not have, so the general machine answers it here.", r.name, r.summary) }</p>
            <p class="general-verdict" id="general-verdict" role="status">{ r.headline() }</p>
            if r.can_prove_any() {
                <p class="hint">
                    <button id="general-prove-any" disabled={p.proving_any} onclick={p.on_prove_any.reform(|_| ())}
                        title="Check the file at every number of walkers: the cutoff argument's conditions, checked on the walkers' steps, let the checks at one walker per walker block decide every count">
                        { "Prove for any number of CPUs" }</button>
                    if p.proving_any {
                        <span aria-live="polite" id="general-proving-any">{ " Checking every walker count in the worker…" }</span>
                    }
                </p>
            }
            <p>{ format!("{} states explored{}{}", r.states,
                if r.interchangeable.is_empty() { String::new() } else { format!(" ({})", r.interchangeable) },
                r.witness_steps.map(|n| format!("; the shortest witness takes {n} steps")).unwrap_or_default()) }</p>
            if let Some(w) = &r.witness {
                <pre class="general-witness" id="general-witness" tabindex="0" aria-label="shortest witness, one column per CPU">{ w.clone() }</pre>
            }
            if let Some(s) = &r.schedule {
                <p class="hint">
                    <button id="general-open-witness" onclick={open(s)}>{ "Step through the witness" }</button>
                    { " or replay it: " }<code>{ format!("tornsim replay FILE {s}") }</code>
                </p>
            }
            <p id="general-runs">{ runs }
                if let Some(s) = &r.first_schedule {
                    { " " }<button id="general-open-run" class="open-trace" onclick={open(s)}>{ "open the first such run" }</button>
                }
            </p>
            <GeneralRunsPanel runs={p.runs.clone()} on_start={p.on_run.clone()} on_stop={p.on_stop.clone()} on_open={p.on_open.clone()} />
        </section>
    }
}

#[function_component(ScenarioPanel)]
pub fn scenario_panel(p: &ScenarioPanelProps) -> Html {
    let status = match (&p.error, p.parsing) {
        (Some(e), _) => html! {
            <p class="scenario-error" role="alert" id="scenario-error">
                { format!("Line {}, column {}: {}", e.span.line, e.span.col, e.message) }
            </p>
        },
        (None, true) => html! { <p class="scenario-ok" aria-live="polite">{ "Reading…" }</p> },
        (None, false) if p.general.is_some() => html! {
            <p class="scenario-ok" id="scenario-ok" aria-live="polite">{ "The file parses; the general machine answers it below (Check and Run are the classic machine's)." }</p>
        },
        (None, false) => html! {
            <p class="scenario-ok" id="scenario-ok" aria-live="polite">{ "The file parses; Check and Run use it." }</p>
        },
    };
    let described_by = if p.error.is_some() {
        "scenario-keys scenario-row scenario-error"
    } else {
        "scenario-keys scenario-row"
    };
    html! {
        <section class="scenario" aria-label="scenario">
            <h2>{ "Scenario" }</h2>
            <p class="scenario-desc" id="scenario-desc">{ p.description.clone() }</p>
            <Editor text={p.text.clone()} error={p.error.clone()} readonly={p.disabled}
                described_by={described_by} on_input={p.on_input.clone()} on_move={p.on_move.clone()} />
            <p class="hint" id="scenario-keys">{ "Alt+↑ and Alt+↓ move lines (the verdict follows); a primitive's name completes as you type (↑ ↓ choose, Enter takes); Tab indents: press Esc, then Tab, to move on." }</p>
            { status }
            if let Some(r) = &p.general {
                <GeneralReport report={r.clone()} on_open={p.on_open.clone()} runs={p.general_runs.clone()}
                    on_run={p.on_general_run.clone()} on_stop={p.on_general_stop.clone()}
                    on_prove_any={p.on_general_any.clone()} proving_any={p.general_proving_any} />
            }
            <div class="scenario-actions">
                <button id="scenario-check" onclick={p.on_check.clone()} disabled={!p.can_run || p.parsing}
                    title="Explore every interleaving of the edited file">{ "Check" }</button>
                <button id="scenario-run" onclick={p.on_run.clone()} disabled={!p.can_run || p.parsing}
                    title="Random runs of the edited file">{ "Run" }</button>
                <span class="hint">{ "One primitive per line, named after the kernel function it models: reorder a patch by moving lines. " }
                    <code>{ "tornsim primitives" }</code>{ " lists them." }</span>
            </div>
        </section>
    }
}
