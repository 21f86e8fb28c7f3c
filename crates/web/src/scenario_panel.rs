//! The *Scenario* panel: the running configuration as a scenario file in an editor with
//! line numbers, the parser's error at its line, and Check / Run on the edited text.
//! Parsing happens in the worker (see [`crate::model::Msg::ScenarioText`]); this
//! component only shows text and reports keystrokes.

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
    pub on_check: Callback<MouseEvent>,
    pub on_run: Callback<MouseEvent>,
}

#[function_component(ScenarioPanel)]
pub fn scenario_panel(p: &ScenarioPanelProps) -> Html {
    let lines = p.text.split('\n').count().max(1);
    let bad_line = p.error.as_ref().map(|e| e.span.line as usize);
    let oninput = {
        let cb = p.on_input.clone();
        Callback::from(move |e: InputEvent| {
            let t: web_sys::HtmlTextAreaElement = e.target_unchecked_into();
            cb.emit(t.value());
        })
    };
    // Tab indents rather than leaving the editor; Escape then Tab still leaves it, so
    // keyboard users are never trapped.
    let onkeydown = {
        let cb = p.on_input.clone();
        let armed = use_mut_ref(|| true);
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Escape" {
                *armed.borrow_mut() = false;
                return;
            }
            if e.key() != "Tab" || e.shift_key() || !*armed.borrow() {
                *armed.borrow_mut() = true;
                return;
            }
            let t: web_sys::HtmlTextAreaElement = e.target_unchecked_into();
            let (Ok(Some(a)), Ok(Some(b))) = (t.selection_start(), t.selection_end()) else {
                return;
            };
            e.prevent_default();
            let v = t.value();
            // Selection offsets are UTF-16 units; the text is edited in those units too.
            let units: Vec<u16> = v.encode_utf16().collect();
            let (a, b) = (a as usize, (b as usize).min(units.len()));
            let mut out: Vec<u16> = units[..a.min(b)].to_vec();
            out.extend("    ".encode_utf16());
            out.extend_from_slice(&units[b..]);
            t.set_value(&String::from_utf16_lossy(&out));
            let caret = (a.min(b) + 4) as u32;
            let _ = t.set_selection_range(caret, caret);
            cb.emit(t.value());
        })
    };
    let status = match (&p.error, p.parsing) {
        (Some(e), _) => html! {
            <p class="scenario-error" role="alert" id="scenario-error">
                { format!("Line {}, column {}: {}", e.span.line, e.span.col, e.message) }
            </p>
        },
        (None, true) => html! { <p class="scenario-ok" aria-live="polite">{ "Reading…" }</p> },
        (None, false) => html! {
            <p class="scenario-ok" id="scenario-ok" aria-live="polite">{ "The file parses; Check and Run use it." }</p>
        },
    };
    html! {
        <section class="scenario" aria-label="scenario">
            <h2>{ "Scenario" }</h2>
            <p class="scenario-desc" id="scenario-desc">{ p.description.clone() }</p>
            <div class="editor">
                <pre class="gutter" aria-hidden="true">
                    { for (1..=lines).map(|n| html! {
                        <span class={classes!((bad_line == Some(n)).then_some("bad"))}>{ n.to_string() }</span>
                    }) }
                </pre>
                <textarea id="scenario-text" aria-label="scenario file" spellcheck="false" wrap="off"
                    autocomplete="off" autocapitalize="off"
                    rows={(lines + 1).to_string()}
                    value={p.text.clone()} {oninput} {onkeydown} readonly={p.disabled}
                    aria-invalid={if p.error.is_some() { "true" } else { "false" }}
                    aria-describedby={if p.error.is_some() { "scenario-keys scenario-error" } else { "scenario-keys" }} />
            </div>
            <p class="hint" id="scenario-keys">{ "In the editor, Tab indents; press Esc, then Tab, to move on." }</p>
            { status }
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
