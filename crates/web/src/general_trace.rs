//! The trace viewer for a file the general machine runs: the run as the kernel's race
//! diagrams draw it (one column a CPU, time going down), stepped through with the state
//! after each step beside it (entries, tables, page counts, locks, each CPU's flags and
//! locals). Every word shown comes from `tornsim_core::general::GTimeline`.

use crate::model::GeneralView;
use crate::trace_view::{arrow_keys, StepControls};
use tornsim_core::general::{FrameKind, GTimeline};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct GeneralTraceProps {
    pub view: GeneralView,
    pub share_link: AttrValue,
    pub on_seek: Callback<usize>,
    pub on_step: Callback<i64>,
    pub on_close: Callback<()>,
}

/// The steps as rows under one column a CPU; a click on a row shows the state after it.
#[derive(Properties, PartialEq)]
struct ColumnsProps {
    view: GeneralView,
    on_seek: Callback<usize>,
}

#[function_component(Columns)]
fn columns(p: &ColumnsProps) -> Html {
    let t: &GTimeline = &p.view.timeline;
    let pos = p.view.pos;
    let scroller = use_node_ref();
    {
        // Keep the step shown in view as it moves (Next, the slider, a link's hazard).
        let scroller = scroller.clone();
        use_effect_with(pos, move |_| scroll_to_current(&scroller));
    }
    html! {
        <div class="scroll-x" tabindex="0" role="region" aria-label="the run, one column per CPU" ref={scroller}>
        <table class="general-columns" id="general-columns">
            <thead><tr><th scope="col">{ "#" }</th>{ for t.cpus.iter().map(|c| html! { <th scope="col">{ c.clone() }</th> }) }</tr></thead>
            <tbody>
            { for t.frames.iter().enumerate().map(|(i, f)| {
                let seek = p.on_seek.clone();
                let class = classes!(
                    "step",
                    (i < pos).then_some("done"),
                    (i + 1 == pos).then_some("current"),
                    f.hazard.is_some().then_some("hazard"),
                );
                let kind = match f.kind {
                    FrameKind::Step => "",
                    FrameKind::Ack => "IPI answer: ",
                    FrameKind::Drain => "store buffer: ",
                };
                html! {
                    <tr class={class} data-step={i.to_string()} onclick={Callback::from(move |_: MouseEvent| seek.emit(i + 1))}>
                        <td class="num">{ i + 1 }</td>
                        { for (0..t.cpus.len()).map(|c| if c == f.cpu as usize {
                            html! {
                                <td>
                                    { format!("{kind}{}", f.text) }
                                    if let Some((h, _)) = &f.hazard { <strong class="hazard-name">{ format!(" ← {h}") }</strong> }
                                </td>
                            }
                        } else {
                            html! { <td></td> }
                        }) }
                    </tr>
                }
            }) }
            </tbody>
        </table>
        </div>
    }
}

/// Scrolls the columns' box so that the current row shows below the sticky head.
fn scroll_to_current(scroller: &NodeRef) {
    use wasm_bindgen::JsCast;
    let Some(div) = scroller.cast::<web_sys::HtmlElement>() else {
        return;
    };
    let Some(row) = div
        .query_selector("tr.current")
        .ok()
        .flatten()
        .and_then(|r| r.dyn_into::<web_sys::HtmlElement>().ok())
    else {
        return;
    };
    // A row's offset is from its table, which starts the box.
    let head = 28;
    let (top, h) = (row.offset_top(), row.offset_height());
    let (shown, height) = (div.scroll_top(), div.client_height());
    if top - head < shown {
        div.set_scroll_top(top - head);
    } else if top + h > shown + height {
        div.set_scroll_top(top + h - height);
    }
}

#[function_component(GeneralTrace)]
pub fn general_trace(p: &GeneralTraceProps) -> Html {
    let t: &GTimeline = &p.view.timeline;
    let n = t.frames.len();
    let pos = p.view.pos.min(n);
    let on_key = arrow_keys(&p.on_step);
    // The rows the shown step changed stand out.
    let now = t.state_at(pos);
    let before = t.state_at(pos.saturating_sub(1));
    let current = match pos.checked_sub(1).map(|i| &t.frames[i]) {
        None => html! { <p class="step-text">{ format!("Before the first step of {n}.") }</p> },
        Some(f) => html! {
            <div class="step-text">
                <p><strong>{ format!("Step {pos} of {n}, {}: ", t.cpus[f.cpu as usize]) }</strong>{ f.text.clone() }</p>
                if !f.changes.is_empty() {
                    <p class="state">{ format!("Changed: {}", f.changes.join("; ")) }</p>
                }
                if let Some((h, meaning)) = &f.hazard {
                    <p class="hazard-note" role="alert">{ format!("{h}: {meaning}.") }</p>
                }
            </div>
        },
    };
    let close = p.on_close.clone();
    let hazard = p.on_seek.clone();
    let hazard_at = t.hazard_step();
    html! {
        <section class="trace general-trace" aria-label="trace viewer" id="general-trace" tabindex="0" onkeydown={on_key}>
            <div class="trace-head">
                <h2>{ "Trace" }</h2>
                <span class="summary">{ t.name.clone() }</span>
                <button onclick={Callback::from(move |_| close.emit(()))}>{ "Close" }</button>
            </div>
            <StepControls n={n} pos={pos} on_seek={p.on_seek.clone()} on_step={p.on_step.clone()}>
                if let Some(h) = hazard_at {
                    <button id="general-to-hazard" onclick={Callback::from(move |_| hazard.emit(h + 1))}>{ "Go to the hazard" }</button>
                }
            </StepControls>
            { current }
            <div class="general-trace-body">
                <Columns view={p.view.clone()} on_seek={p.on_seek.clone()} />
                <table class="general-state" id="general-state" aria-label={format!("the state after step {pos}")}>
                    <caption>{ if pos == 0 { "The state before the first step".to_string() } else { format!("The state after step {pos}") } }</caption>
                    <tbody>
                    { for now.iter().zip(before).map(|((k, v), (_, old))| html! {
                        <tr class={classes!((pos > 0 && v != old).then_some("changed"))}>
                            <th scope="row">{ k.clone() }</th><td>{ v.clone() }</td>
                        </tr>
                    }) }
                    </tbody>
                </table>
            </div>
            if t.deadlock && pos == n {
                <p class="hazard-note" role="alert">{ "Deadlock: no CPU can make progress." }</p>
            }
            <details>
                <summary>{ "As a kernel race diagram" }</summary>
                <pre class="kernel">{ t.diagram.clone() }</pre>
            </details>
            <p class="schedule">{ "Schedule: " }<code>{ t.schedule.clone() }</code>{ " (" }<code>{ "tornsim replay FILE SCHEDULE" }</code>{ " replays it)" }</p>
            <p class="schedule">{ "Link: " }<code class="link">{ p.share_link.clone() }</code></p>
        </section>
    }
}
