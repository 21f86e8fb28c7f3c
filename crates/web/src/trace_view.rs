//! The trace viewer: swimlanes, one per CPU, with IRQ-off and PTL spans, IPI arrows,
//! a PMD row, and the torn read's loads highlighted; plus the "be the scheduler" panel.

use crate::model::TraceView;
use std::rc::Rc;
use tornsim_core::machine::{Hazard, Pmd};
use tornsim_core::trace::{addr_hex, buffers_text, pmd_hex};
use tornsim_core::{Choice, Stepper, Trace};
use yew::prelude::*;

const COL: f64 = 24.0;
const ROW: f64 = 34.0;
const LABEL: f64 = 150.0;
const TOP: f64 = 22.0;

/// What the PMD holds, as a class for colour: the old table, the new one, cleared,
/// or half written.
fn pmd_class(t: &Trace, p: Pmd) -> &'static str {
    if p == t.initial.pmd {
        "pmd-old"
    } else if p == Pmd::table(t.new_table) {
        "pmd-new"
    } else if p == Pmd::default() {
        "pmd-none"
    } else {
        "pmd-half"
    }
}

#[derive(Properties, PartialEq)]
pub struct SwimlaneProps {
    pub view: TraceView,
    pub on_seek: Callback<usize>,
}

#[function_component(Swimlanes)]
pub fn swimlanes(p: &SwimlaneProps) -> Html {
    let t: &Trace = &p.view.trace;
    let n = t.steps.len();
    // Under TSO, a store-buffer row below the CPUs for each CPU that buffers a store.
    let buffering = t.buffering_cpus();
    let rows = t.cpus.len() + buffering.len();
    let width = LABEL + COL * (n.max(1) as f64 + 1.0);
    let height = TOP + ROW * (rows as f64 + 1.0) + 8.0;
    let x = |i: usize| LABEL + COL * i as f64 + COL / 2.0;
    let y = |cpu: u8| TOP + ROW * cpu as f64 + ROW / 2.0;
    let sb_y = |cpu: u8| {
        let k = buffering.iter().position(|&c| c == cpu).unwrap_or(0);
        TOP + ROW * (t.cpus.len() + k) as f64 + ROW / 2.0
    };
    let pmd_y = TOP + ROW * rows as f64;
    let highlight: Vec<usize> = t
        .steps
        .iter()
        .position(|s| s.hazard == Some(Hazard::Torn))
        .map(|i| t.loads_of(i))
        .unwrap_or_default();
    let pos = p.view.pos;
    let seek = |i: usize| {
        let cb = p.on_seek.clone();
        Callback::from(move |_: MouseEvent| cb.emit(i + 1))
    };
    html! {
        <svg class="swimlanes" width={width.to_string()} height={height.to_string()}
             viewBox={format!("0 0 {width} {height}")} role="img"
             aria-label={format!("{n} steps across {rows} CPUs")}>
            <defs>
                <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">
                    <path d="M 0 0 L 10 5 L 0 10 z" class="arrowhead" />
                </marker>
            </defs>
            { for t.cpus.iter().map(|c| html! {
                <g class="lane">
                    <line x1={LABEL.to_string()} x2={width.to_string()} y1={y(c.cpu).to_string()} y2={y(c.cpu).to_string()} />
                    <text x="4" y={(y(c.cpu) + 4.0).to_string()}>{ c.name.clone() }</text>
                </g>
            }) }
            { for buffering.iter().map(|&c| html! {
                <g class="lane store-buffer">
                    <line x1={LABEL.to_string()} x2={width.to_string()} y1={sb_y(c).to_string()} y2={sb_y(c).to_string()} />
                    <text x="4" y={(sb_y(c) + 4.0).to_string()}>{ format!("CPU{c} store buffer") }</text>
                </g>
            }) }
            <text x="4" y={(pmd_y + ROW / 2.0 + 4.0).to_string()}>{ "PMD (memory)" }</text>
            // Spans are drawn from the state after each step, which holds until the next.
            { for t.steps.iter().enumerate().flat_map(|(i, s)| {
                let x0 = LABEL + COL * (i as f64 + 1.0);
                let irq = t.cpus.iter().filter(|c| s.after.irq_off >> c.cpu & 1 == 1).map(move |c| html! {
                    <rect class="irq-off" x={x0.to_string()} y={(y(c.cpu) - ROW / 2.0 + 3.0).to_string()} width={COL.to_string()} height={(ROW - 6.0).to_string()}>
                        <title>{ format!("{}: interrupts disabled", c.name) }</title>
                    </rect>
                });
                let ptl = s.after.ptl.map(|owner| html! {
                    <rect class="ptl" x={x0.to_string()} y={(y(owner) + ROW / 2.0 - 7.0).to_string()} width={COL.to_string()} height="4">
                        <title>{ format!("CPU{owner} holds the PTL") }</title>
                    </rect>
                });
                let sb = buffering.iter().filter_map(|&c| {
                    let stores = s.after.buffers.get(c as usize).filter(|b| !b.is_empty())?;
                    Some(html! {
                        <g class="buffered">
                            <rect x={x0.to_string()} y={(sb_y(c) - ROW / 2.0 + 5.0).to_string()} width={(COL - 1.0).to_string()} height={(ROW - 10.0).to_string()} />
                            <text x={(x0 + COL / 2.0).to_string()} y={(sb_y(c) + 4.0).to_string()} text-anchor="middle">{ stores.len() }</text>
                            <title>{ format!("after step {i}, CPU{c}'s store buffer, oldest first: {}", stores.join(", ")) }</title>
                        </g>
                    })
                }).collect::<Vec<_>>();
                let cls = pmd_class(t, s.after.pmd);
                let pmd = html! {
                    <rect class={classes!("pmd", cls)} x={x0.to_string()} y={(pmd_y + 6.0).to_string()} width={(COL - 1.0).to_string()} height={(ROW - 12.0).to_string()}>
                        <title>{ format!("after step {i}: {}", pmd_hex(s.after.pmd)) }</title>
                    </rect>
                };
                irq.chain(ptl).chain(sb).chain(std::iter::once(pmd)).collect::<Vec<_>>()
            }) }
            { for t.ipi_arrows().into_iter().map(|(from, to, src, dst)| {
                let x2 = to.map_or(width - 4.0, |j| x(j + 1));
                html! {
                    <line class={classes!("ipi", to.is_none().then_some("pending"))} x1={x(from + 1).to_string()} y1={y(src).to_string()}
                          x2={x2.to_string()} y2={y(dst).to_string()} marker-end="url(#arrow)" />
                }
            }) }
            { for t.steps.iter().enumerate().map(|(i, s)| {
                let class = classes!(
                    "step",
                    s.ack.then_some("ack"),
                    s.drain.then_some("drain"),
                    highlight.contains(&i).then_some("torn-load"),
                    s.hazard.map(Hazard::name),
                    (i < pos).then_some("done"),
                );
                html! {
                    <g class={class} onclick={seek(i)} data-step={i.to_string()}>
                        <circle cx={x(i + 1).to_string()} cy={if s.drain { sb_y(s.cpu) } else { y(s.cpu) }.to_string()} r="7" />
                        <title>{ format!("step {i}, {}: {}", t.cpus[s.cpu as usize].name, s.text) }</title>
                    </g>
                }
            }) }
            <line class="cursor" x1={(LABEL + COL * pos as f64 + COL).to_string()} x2={(LABEL + COL * pos as f64 + COL).to_string()}
                  y1={(TOP - 6.0).to_string()} y2={(height - 4.0).to_string()} />
        </svg>
    }
}

/// The arrow keys step a trace: what a trace panel does with its key presses.
pub fn arrow_keys(step: &Callback<i64>) -> Callback<KeyboardEvent> {
    let step = step.clone();
    Callback::from(move |e: KeyboardEvent| {
        let d = match e.key().as_str() {
            "ArrowRight" => 1,
            "ArrowLeft" => -1,
            _ => return,
        };
        e.prevent_default();
        step.emit(d)
    })
}

#[derive(Properties, PartialEq)]
pub struct StepControlsProps {
    /// Steps in the trace, and the one shown (0: before the first).
    pub n: usize,
    pub pos: usize,
    pub on_seek: Callback<usize>,
    pub on_step: Callback<i64>,
    /// Further controls after the position.
    #[prop_or_default]
    pub children: Html,
}

/// Back, the step slider, Next and the position: how every trace view is stepped.
#[function_component(StepControls)]
pub fn step_controls(p: &StepControlsProps) -> Html {
    let on_slider = {
        let seek = p.on_seek.clone();
        Callback::from(move |e: InputEvent| {
            let v: web_sys::HtmlInputElement = e.target_unchecked_into();
            seek.emit(v.value().parse().unwrap_or(0));
        })
    };
    let (back, next) = (p.on_step.clone(), p.on_step.clone());
    let (n, pos) = (p.n, p.pos);
    html! {
        <div class="trace-controls">
            <button aria-label="previous step" onclick={Callback::from(move |_| back.emit(-1))}>{ "◀ Back" }</button>
            <input type="range" aria-label="step" min="0" max={n.to_string()} value={pos.to_string()} oninput={on_slider} />
            <button aria-label="next step" onclick={Callback::from(move |_| next.emit(1))}>{ "Next ▶" }</button>
            <span class="pos">{ format!("{pos} / {n}") }</span>
            { p.children.clone() }
        </div>
    }
}

#[derive(Properties, PartialEq)]
pub struct TracePanelProps {
    pub view: TraceView,
    pub manual: Option<Rc<Stepper>>,
    pub share_link: AttrValue,
    pub on_seek: Callback<usize>,
    pub on_step: Callback<i64>,
    pub on_close: Callback<()>,
    pub on_manual: Callback<Choice>,
}

#[function_component(TracePanel)]
pub fn trace_panel(p: &TracePanelProps) -> Html {
    let t: &Trace = &p.view.trace;
    let n = t.steps.len();
    let pos = p.view.pos;
    let on_key = arrow_keys(&p.on_step);
    let current = if pos == 0 {
        html! { <p class="step-text">{ format!("Before the first step. PMD {} (old table {}).", pmd_hex(t.initial.pmd), addr_hex(t.initial.pmd.addr())) }</p> }
    } else {
        let s = &t.steps[pos - 1];
        let off: Vec<String> = t
            .cpus
            .iter()
            .filter(|c| s.after.irq_off >> c.cpu & 1 == 1)
            .map(|c| format!("CPU{}", c.cpu))
            .collect();
        let pend: Vec<String> = t
            .cpus
            .iter()
            .filter(|c| s.after.pending >> c.cpu & 1 == 1)
            .map(|c| format!("CPU{}", c.cpu))
            .collect();
        html! {
            <div class="step-text">
                <p><strong>{ format!("Step {} of {n}, {}: ", pos, t.cpus[s.cpu as usize].name) }</strong>{ s.text.clone() }</p>
                <p class="state">
                    { format!("PMD {}  ·  IRQs off: {}  ·  PTL: {}  ·  IPIs pending: {}",
                        pmd_hex(s.after.pmd),
                        if off.is_empty() { "none".into() } else { off.join(", ") },
                        s.after.ptl.map_or("free".into(), |c| format!("CPU{c}")),
                        if pend.is_empty() { "none".into() } else { pend.join(", ") }) }
                </p>
                if t.config.memory == tornsim_core::config::Memory::Tso {
                    <p class="state">{ format!("Store buffers: {}", buffers_text(&s.after)) }</p>
                }
                if !s.after.words.is_empty() {
                    <p class="state">{ format!("Shared words and registers: {}", s.after.words_line()) }</p>
                }
                if t.observed && pos == n {
                    <p class="hazard-note" role="alert">{ "The run ended in the state the exists clause describes." }</p>
                }
                if let Some(h) = s.hazard {
                    <p class="hazard-note" role="alert">{ match h {
                        Hazard::Torn => "Torn read: this reader returned a (low, high) pair the PMD never held.",
                        Hazard::Stale => "Stale use: this reader walked a page table that was already freed.",
                        Hazard::Deadlock => "Deadlock.",
                        Hazard::Observed => "The run ended in the state the exists clause describes.",
                        // The classic machine, whose traces this view draws, raises none of
                        // the general machine's hazards; say what one means all the same.
                        other => other.meaning(),
                    } }</p>
                }
            </div>
        }
    };
    let manual = p.manual.as_ref().map(|m| {
        let torn = t.hazards().next().is_some();
        let choices = m.enabled();
        html! {
            <div class="manual" aria-live="polite">
                <h3>{ "Be the scheduler" }</h3>
                if torn {
                    <p class="win" role="alert">{ format!("You produced a torn read in {n} steps. Copy the link to share it.") }</p>
                } else if m.finished() {
                    <p>{ "The run is over without a torn read. Try again: the race needs a read to straddle the clear and the new table." }</p>
                } else {
                    <p>{ "Pick which CPU takes the next step." }</p>
                }
                <div class="choices">
                    { for choices.into_iter().map(|ch| {
                        let label = format!("CPU{}{}: {}", ch.cpu, if ch.ack { " IRQ" } else if ch.drain { " store buffer" } else { "" }, m.preview(ch).unwrap_or_default());
                        let cb = p.on_manual.clone();
                        html! { <button class="choice" onclick={Callback::from(move |_| cb.emit(ch))}>{ label }</button> }
                    }) }
                </div>
            </div>
        }
    });
    let close = p.on_close.clone();
    html! {
        <section class="trace" aria-label="trace viewer" tabindex="0" onkeydown={on_key}>
            <div class="trace-head">
                <h2>{ if p.manual.is_some() { "Your schedule" } else { "Trace" } }</h2>
                <span class="summary">{ t.config.summary() }</span>
                <button onclick={Callback::from(move |_| close.emit(()))}>{ "Close" }</button>
            </div>
            <StepControls n={n} pos={pos} on_seek={p.on_seek.clone()} on_step={p.on_step.clone()} />
            { current }
            <div class="lanes-scroll"><Swimlanes view={p.view.clone()} on_seek={p.on_seek.clone()} /></div>
            <p class="legend-note">
                <span class="key irq-off"></span>{ " interrupts off  " }
                <span class="key ptl"></span>{ " PTL held  " }
                <span class="key pmd-old"></span>{ " old table  " }
                <span class="key pmd-none"></span>{ " cleared  " }
                <span class="key pmd-half"></span>{ " half written  " }
                <span class="key pmd-new"></span>{ " new table  " }
                <span class="key torn-load"></span>{ " the torn read's loads" }
            </p>
            { manual.unwrap_or_default() }
            <details>
                <summary>{ "As a kernel race diagram" }</summary>
                <pre class="kernel">{ t.to_kernel() }</pre>
            </details>
            <p class="schedule">{ "Schedule: " }<code>{ t.schedule.clone() }</code></p>
            <p class="schedule">{ "Link: " }<code class="link">{ p.share_link.clone() }</code></p>
        </section>
    }
}
