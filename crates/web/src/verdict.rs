//! The Prove panel's verdict: the exhaustive search's answer in a sentence, its witness to
//! open, a scenario's claim, and (for every CPU count) the cutoff argument behind it.

use std::rc::Rc;
use tornsim_core::cutoff::{readers, AnyResult};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct CheckLineProps {
    pub result: Result<tornsim_core::CheckResult, AttrValue>,
    /// The argument and counts, when every CPU count was asked for.
    pub any: Option<Rc<AnyResult>>,
    /// A scenario's `exists` clause, and whether the verdict bears it out.
    pub claim: Option<AttrValue>,
    pub holds: Option<bool>,
    pub on_open: Callback<String>,
}

#[function_component(CheckLine)]
pub fn check_line(p: &CheckLineProps) -> Html {
    match &p.result {
        Err(e) => {
            html! { <p class="check error" id="verdict">{ format!("Cannot check: {e}") }</p> }
        }
        Ok(r) => {
            let mut text = match &p.any {
                Some(a) => format!(
                    "Exhaustive search, every CPU count: {} ({} states at {}).",
                    a.sentence(),
                    r.states,
                    readers(a.readers)
                ),
                None => format!(
                    "Exhaustive search: {}{} ({} states, {} transitions).",
                    r.verdict,
                    if r.verdict == tornsim_core::Verdict::Observed {
                        ", a run can end in the state the exists clause describes"
                    } else {
                        ""
                    },
                    r.states,
                    r.transitions
                ),
            };
            if let Some(b) = r.stopped_by {
                text.push_str(match b {
                    tornsim_core::check::Budget::States => {
                        " The page's state budget ran out first: nothing is proven (the tornsim command takes --max-states)."
                    }
                    tornsim_core::check::Budget::Memory => {
                        " The page's memory budget ran out first: nothing is proven (the tornsim command takes --max-memory)."
                    }
                });
            }
            let witness = r.witness.as_ref().map(|w| w.encode());
            html! {
                <>
                <p class={classes!("check", r.verdict.name())} id="verdict">
                    { text }
                    if let Some(w) = witness {
                        { format!(" Shortest witness: {} steps. ", r.witness.as_ref().map_or(0, |w| w.choices.len())) }
                        <button class="open-trace" onclick={{ let cb = p.on_open.clone(); Callback::from(move |_| cb.emit(w.clone())) }}>{ "open it" }</button>
                    }
                    if let Some(c) = &p.claim {
                        <span class="claim" id="claim">{ format!(" The file's claim {c}: {}.", match p.holds {
                            Some(true) => "holds",
                            Some(false) => "does not hold",
                            None => "undecided",
                        }) }</span>
                    }
                </p>
                if let Some(a) = &p.any {
                    <ArgumentDetails any={a.clone()} />
                }
                </>
            }
        }
    }
}

#[derive(Properties, PartialEq)]
struct ArgumentProps {
    any: Rc<AnyResult>,
}

/// The cutoff argument behind a verdict for every CPU count: each condition, held or
/// broken at its line, and the counts checked.
#[function_component(ArgumentDetails)]
fn argument_details(p: &ArgumentProps) -> Html {
    let a = &p.any.argument;
    html! {
        <details class="argument" id="argument">
            <summary>{ if a.applies() {
                format!("Why one search decides every count: the cutoff argument applies (cutoff {})", a.cutoff)
            } else {
                "Why only these counts: the cutoff argument does not apply".to_string()
            } }</summary>
            <ul>
                { for a.conditions.iter().map(|c| html! {
                    <li class={classes!(if c.holds { "holds" } else { "fails" })}>{
                        match &c.broken_at {
                            None => format!("{} holds: {}.", c.id, c.statement),
                            Some(b) => format!("{} fails: {}; line {}: {} ({}): {}.", c.id, c.statement, b.line, b.text, b.op, b.why),
                        }
                    }</li>
                }) }
            </ul>
            <p>{ format!("Checked: {}. ", p.any.checked_text()) }<a href="book/cutoff.html" target="_blank">{ "The theorem and its proof" }</a>{ "." }</p>
        </details>
    }
}

/// The line shown while a search runs: where it is, once the pool has said.
pub fn checking_text(p: Option<&tornsim_core::CheckProgress>, workers: usize) -> String {
    use crate::charts::fmt_num;
    let on = match workers {
        0 => "on the page".to_string(),
        1 => "in the worker".to_string(),
        n => format!("in {n} workers"),
    };
    match p {
        None => format!("Exploring every interleaving {on}…"),
        Some(p) => {
            let class = match p.classes {
                1 => String::new(),
                n => format!(", allocation class {} of {n}", p.class),
            };
            format!(
                "Exploring every interleaving {on}: {} states, depth {}, {} to expand{class}…",
                fmt_num(p.states as f64),
                p.depth,
                fmt_num(p.frontier as f64),
            )
        }
    }
}
