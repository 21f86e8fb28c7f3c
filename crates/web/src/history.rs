//! The "Kernel history" gallery beside the presets: the fixed Linux races of
//! `scenarios/history/`, each with its commit and the pair of files (the order before
//! the fix, and the fix) that loads into the scenario editor.

use tornsim_core::general::history::pairs;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct HistoryProps {
    /// The editor's text: the file it holds, if one of the gallery's, is marked.
    pub current: AttrValue,
    pub disabled: bool,
    /// A file's text, to load into the editor.
    pub on_load: Callback<String>,
}

#[function_component(HistoryGallery)]
pub fn history_gallery(p: &HistoryProps) -> Html {
    // The list is the suite's, fixed at build time: read its headers once, not at every
    // render of the page (a batch re-renders it with each chunk).
    let races = use_memo((), |_| pairs());
    let button = |race: &str, which: &'static str, text: &'static str| {
        let cb = p.on_load.clone();
        let active = p.current.as_str() == text;
        html! {
            <button class={classes!("preset", active.then_some("active"))} disabled={p.disabled}
                data-history={format!("{race}-{which}")} aria-pressed={active.to_string()}
                aria-label={format!("{race}, {which}")}
                onclick={Callback::from(move |_: MouseEvent| cb.emit(text.to_string()))}>
                { which }
            </button>
        }
    };
    html! {
        <details class="history" id="history">
            <summary>{ format!("Kernel history: {} fixed Linux races, before and after their fix", races.len()) }</summary>
            <ul>
                { for races.iter().map(|r| html! {
                    <li>
                        <span class="history-race">{ r.race }</span>
                        { button(r.race, "before", r.before) }
                        { button(r.race, "fix", r.fix) }
                        <span class="history-commit">
                            <code>{ r.header.id() }</code>{ " " }{ r.header.title() }
                            { format!(" ({}, {})", r.header.author, r.header.date) }
                        </span>
                    </li>
                }) }
            </ul>
        </details>
    }
}
