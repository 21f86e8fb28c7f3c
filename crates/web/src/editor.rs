//! The scenario editor: a native textarea over a highlighted copy of its text. The
//! textarea keeps everything a browser gives an editor for free (typing, IME, undo,
//! selection, screen readers, the keyboard); the copy under it is coloured by the core's
//! own lexer (`tornsim_core::scenario::highlight`), so the colours are the parser's
//! reading, and underlines the parser's error at its place. On top: completion of
//! primitive names as one types, the primitive's row of the table for the word under
//! the caret or the pointer, and Alt+Up/Alt+Down to move lines, the way a reviewer
//! reorders a patch. What the keys do to the text is decided in the core
//! (`move_selected_lines`, `complete`); this component only maps keys and offsets.
//!
//! Written here rather than taken from CodeMirror: the page would ship a second
//! tokenizer beside the core's lexer, and a JavaScript bundle and its build step, for
//! four features a textarea and 300 lines give under the page's CSP.

use tornsim_core::prim;
use tornsim_core::scenario::highlight::{self, completion_text};
use tornsim_core::scenario::move_selected_lines;
use tornsim_core::ScenarioError;
use web_sys::{HtmlElement, HtmlTextAreaElement};
use yew::prelude::*;

/// The editor's line height and padding, as style.css sets them (13px × 1.5; 6px 8px):
/// where a completion list goes and which character the pointer is over.
const LINE_PX: f64 = 19.5;
const PAD_TOP: f64 = 6.0;
const PAD_LEFT: f64 = 8.0;
/// Names offered at once; more narrow as one types.
const MAX_OFFERED: usize = 8;
/// Twenty characters, measured for the monospace grid's column width.
const MEASURE: &str = "00000000000000000000";

#[derive(Properties, PartialEq)]
pub struct EditorProps {
    pub text: AttrValue,
    pub error: Option<ScenarioError>,
    pub readonly: bool,
    /// Ids the textarea is described by (the key hints, the error).
    pub described_by: AttrValue,
    pub on_input: Callback<String>,
    /// Lines moved: the new text.
    pub on_move: Callback<String>,
}

/// The completion list: the word it would replace (byte range) and the names offered.
#[derive(Clone, PartialEq)]
struct Offer {
    start: usize,
    end: usize,
    items: Vec<&'static str>,
    active: usize,
    line: usize,
    col: usize,
}

#[function_component(Editor)]
pub fn editor(p: &EditorProps) -> Html {
    let offer = use_state(|| None::<Offer>);
    // The primitive whose row is shown: under the caret, or under the pointer.
    let row = use_state(|| None::<&'static str>);
    let area = use_node_ref();
    let list = use_node_ref();
    let measure = use_node_ref();
    let lines = p.text.split('\n').count().max(1);

    // The list sits under the word it completes (CSSOM, which the CSP allows), outside
    // the editor's scrolling box so that it is never cut off.
    let wrap = use_node_ref();
    {
        let (list, measure, wrap, area) =
            (list.clone(), measure.clone(), wrap.clone(), area.clone());
        use_effect_with((*offer).clone(), move |o| {
            let boxes = (
                wrap.cast::<web_sys::Element>(),
                area.cast::<web_sys::Element>(),
            );
            if let (Some(o), Some(el), (Some(w), Some(a))) = (o, list.cast::<HtmlElement>(), boxes)
            {
                let (w, a) = (w.get_bounding_client_rect(), a.get_bounding_client_rect());
                let top = a.top() - w.top() + PAD_TOP + (o.line + 1) as f64 * LINE_PX;
                let left = a.left() - w.left() + PAD_LEFT + o.col as f64 * char_width(&measure);
                let _ = el.style().set_property("top", &format!("{top}px"));
                let _ = el.style().set_property("left", &format!("{left}px"));
            }
        });
    }

    let show_row_at = {
        let row = row.clone();
        move |text: &str, byte: usize| {
            let prim = highlight::primitive_at(text, byte).map(|p| p.name);
            if *row != prim {
                row.set(prim);
            }
        }
    };

    let oninput = {
        let (cb, offer, show) = (p.on_input.clone(), offer.clone(), show_row_at.clone());
        Callback::from(move |e: InputEvent| {
            let (v, caret) = caret_of(&e.target_unchecked_into());
            offer.set(offer_at(&v, caret));
            show(&v, caret);
            cb.emit(v);
        })
    };

    let accept = {
        let (cb, offer, area) = (p.on_input.clone(), offer.clone(), area.clone());
        move |i: usize| {
            let (Some(o), Some(t)) = ((*offer).clone(), area.cast::<HtmlTextAreaElement>()) else {
                return;
            };
            let Some(prim) = o.items.get(i).and_then(|n| prim::lookup(n)) else {
                return;
            };
            let v = t.value();
            let insert = completion_text(prim);
            let text = format!("{}{insert}{}", &v[..o.start], &v[o.end.min(v.len())..]);
            t.set_value(&text);
            let caret = units_of(&text, o.start + insert.len());
            let _ = t.set_selection_range(caret, caret);
            let _ = t.focus();
            offer.set(None);
            cb.emit(text);
        }
    };

    // Tab indents rather than leaving the editor; Escape then Tab still leaves it, so
    // keyboard users are never trapped.
    let armed = use_mut_ref(|| true);
    let onkeydown = {
        let (cb, moved, offer, accept) = (
            p.on_input.clone(),
            p.on_move.clone(),
            offer.clone(),
            accept.clone(),
        );
        let show = show_row_at.clone();
        Callback::from(move |e: KeyboardEvent| {
            let t: HtmlTextAreaElement = e.target_unchecked_into();
            let key = e.key();
            if let Some(o) = (*offer).clone() {
                let n = o.items.len();
                let step = match key.as_str() {
                    "ArrowDown" => Some((o.active + 1) % n),
                    "ArrowUp" => Some((o.active + n - 1) % n),
                    _ => None,
                };
                if let Some(active) = step {
                    e.prevent_default();
                    offer.set(Some(Offer { active, ..o }));
                    return;
                }
                match key.as_str() {
                    "Enter" | "Tab" => {
                        e.prevent_default();
                        accept(o.active);
                        return;
                    }
                    "Escape" => {
                        e.prevent_default();
                        offer.set(None);
                        return;
                    }
                    _ => {}
                }
            }
            let Some((a, b)) = selection(&t) else { return };
            let v = t.value();
            if e.alt_key() && (key == "ArrowUp" || key == "ArrowDown") {
                e.prevent_default();
                if let Some((text, s, f)) =
                    move_selected_lines(&v, byte_of(&v, a), byte_of(&v, b), key == "ArrowUp")
                {
                    t.set_value(&text);
                    let _ = t.set_selection_range(units_of(&text, s), units_of(&text, f));
                    offer.set(None);
                    show(&text, s);
                    moved.emit(text);
                }
                return;
            }
            if key == "Escape" {
                *armed.borrow_mut() = false;
                return;
            }
            if key != "Tab" || e.shift_key() || !*armed.borrow() {
                *armed.borrow_mut() = true;
                return;
            }
            e.prevent_default();
            let (a, b) = (byte_of(&v, a.min(b)), byte_of(&v, a.max(b)));
            let text = format!("{}    {}", &v[..a], &v[b..]);
            t.set_value(&text);
            let caret = units_of(&text, a + 4);
            let _ = t.set_selection_range(caret, caret);
            cb.emit(text);
        })
    };

    // The caret moved without typing (arrows, a click): the row follows it, and a list
    // for a word the caret has left closes.
    let onkeyup = {
        let (offer, show) = (offer.clone(), show_row_at.clone());
        Callback::from(move |e: KeyboardEvent| {
            let (v, caret) = caret_of(&e.target_unchecked_into());
            show(&v, caret);
            if let Some(o) = &*offer {
                if caret < o.start || caret > o.end {
                    offer.set(None);
                }
            }
        })
    };
    let onclick = {
        let (offer, show) = (offer.clone(), show_row_at.clone());
        Callback::from(move |e: MouseEvent| {
            let (v, caret) = caret_of(&e.target_unchecked_into());
            show(&v, caret);
            offer.set(None);
        })
    };
    let onfocus = {
        let show = show_row_at.clone();
        Callback::from(move |e: FocusEvent| {
            let (v, caret) = caret_of(&e.target_unchecked_into());
            show(&v, caret);
        })
    };
    let onblur = {
        let offer = offer.clone();
        Callback::from(move |_: FocusEvent| offer.set(None))
    };
    // The pointer: the word under it, from the monospace grid.
    let onmousemove = {
        let (show, measure) = (show_row_at.clone(), measure.clone());
        Callback::from(move |e: MouseEvent| {
            let t: HtmlTextAreaElement = e.target_unchecked_into();
            let v = t.value();
            let line = ((e.offset_y() as f64 - PAD_TOP) / LINE_PX).floor();
            let col = ((e.offset_x() as f64 - PAD_LEFT) / char_width(&measure)).floor();
            if line >= 0.0 && col >= 0.0 {
                if let Some(at) = byte_at(&v, line as usize, col as usize) {
                    show(&v, at);
                }
            }
        })
    };

    let o = (*offer).clone();
    let active_id = o
        .as_ref()
        .map(|o| format!("scenario-complete-{}", o.active));
    html! {
        <div class="editor-wrap" ref={wrap}>
        <div class="editor">
            <pre class="gutter" aria-hidden="true">
                { for (1..=lines).map(|n| html! {
                    <span class={classes!((p.error.as_ref().map(|e| e.span.line as usize) == Some(n)).then_some("bad"))}>{ n.to_string() }</span>
                }) }
            </pre>
            <div class="code">
                <pre class="highlight" aria-hidden="true">{ highlighted(&p.text, p.error.as_ref()) }</pre>
                <textarea id="scenario-text" ref={area} aria-label="scenario file" spellcheck="false" wrap="off"
                    autocomplete="off" autocapitalize="off"
                    rows={(lines + 1).to_string()}
                    value={p.text.clone()} {oninput} {onkeydown} {onkeyup} {onclick} {onfocus} {onblur} {onmousemove}
                    readonly={p.readonly}
                    aria-autocomplete="list"
                    aria-controls={o.as_ref().map(|_| "scenario-complete")}
                    aria-activedescendant={active_id}
                    aria-invalid={if p.error.is_some() { "true" } else { "false" }}
                    aria-describedby={p.described_by.clone()} />
                <span class="measure" ref={measure} aria-hidden="true">{ MEASURE }</span>
            </div>
        </div>
                if let Some(o) = o {
                    <ul id="scenario-complete" class="complete" role="listbox" aria-label="primitives" ref={list}>
                        { for o.items.iter().filter_map(|n| prim::lookup(n)).enumerate().map(|(i, prim)| {
                            let accept = accept.clone();
                            // Mouse down, not click: the textarea must keep its focus.
                            let onmousedown = Callback::from(move |e: MouseEvent| { e.prevent_default(); accept(i); });
                            html! {
                                <li id={format!("scenario-complete-{i}")} role="option"
                                    aria-selected={if i == o.active { "true" } else { "false" }} {onmousedown}>
                                    <code>{ prim.name }</code><span>{ prim.help }</span>
                                </li>
                            }
                        }) }
                    </ul>
                }
        <PrimRow prim={*row} />
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct PrimRowProps {
    prim: Option<&'static str>,
}

/// The primitive's row of the table (what `tornsim primitives` prints): what it does,
/// the kernel code it models, and what it means per mode and under TSO.
#[function_component(PrimRow)]
fn prim_row(p: &PrimRowProps) -> Html {
    let Some(prim) = p.prim.and_then(prim::lookup) else {
        return html! {
            <p class="prim-row hint" id="scenario-row">{ "Put the caret or the pointer on a primitive to see what it models." }</p>
        };
    };
    html! {
        <dl class="prim-row" id="scenario-row" aria-label={format!("{} in the primitives table", prim.name)}>
            <dt>{ prim.usage() }</dt><dd>{ prim.help }</dd>
            <dt>{ "kernel" }</dt><dd><code>{ prim.kernel }</code>{ " in " }<code>{ prim.file }</code></dd>
            if let Some(c) = &prim.classic {
                <dt>{ "in a classic file" }</dt><dd><code>{ prim.classic_use().call_text(prim.name) }</code></dd>
                <dt>{ "per mode" }</dt><dd>{ c.modes }</dd>
                <dt>{ "under TSO" }</dt><dd>{ c.tso }</dd>
            }
        </dl>
    }
}

/// The text as classed spans, with the error's place underlined.
fn highlighted(text: &str, error: Option<&ScenarioError>) -> Html {
    let spans = highlight::highlight(text);
    let err = error.map(|e| {
        let start = e.span.start.min(text.len());
        // An error at the end (or on nothing) still gets a place to be drawn.
        (start, e.span.end.clamp(start + 1, text.len() + 1))
    });
    let mut cuts: Vec<usize> = vec![0, text.len()];
    for (r, _) in &spans {
        cuts.extend([r.start, r.end]);
    }
    if let Some((a, b)) = err {
        cuts.extend([a, b.min(text.len())]);
    }
    cuts.sort_unstable();
    cuts.dedup();
    let mut out: Vec<Html> = Vec::new();
    let mut k = 0;
    for w in cuts.windows(2) {
        let (a, b) = (w[0], w[1]);
        while k < spans.len() && spans[k].0.end <= a {
            k += 1;
        }
        let class = spans
            .get(k)
            .filter(|(r, _)| r.start <= a)
            .map(|(_, c)| c.css());
        let bad = err.is_some_and(|(s, f)| a >= s && a < f);
        out.push(
            html! { <span class={classes!(class, bad.then_some("err"))}>{ &text[a..b] }</span> },
        );
    }
    if let Some((s, _)) = err.filter(|(s, _)| *s >= text.len()) {
        let _ = s;
        out.push(html! { <span class="err">{ " " }</span> });
    }
    // A final newline needs a line to stand on, as the textarea gives it one.
    out.push(html! { { "\n" } });
    out.into_iter().collect::<Html>()
}

/// The completion list for the word ending at the caret, if it names a primitive's start.
fn offer_at(text: &str, caret: usize) -> Option<Offer> {
    let (start, end) = highlight::word_at(text, caret);
    if end != caret || caret - start < 2 {
        return None;
    }
    let mut items: Vec<_> = highlight::complete(&text[start..end])
        .iter()
        .map(|p| p.name)
        .collect();
    items.truncate(MAX_OFFERED);
    if items.is_empty() {
        return None;
    }
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    Some(Offer {
        start,
        end,
        items,
        active: 0,
        line: text[..start].matches('\n').count(),
        col: text[line_start..start].chars().count(),
    })
}

/// The textarea's text and its caret, as a byte offset.
fn caret_of(t: &HtmlTextAreaElement) -> (String, usize) {
    let v = t.value();
    let caret = byte_of(&v, t.selection_start().ok().flatten().unwrap_or(0));
    (v, caret)
}

fn selection(t: &HtmlTextAreaElement) -> Option<(u32, u32)> {
    match (t.selection_start(), t.selection_end()) {
        (Ok(Some(a)), Ok(Some(b))) => Some((a, b)),
        _ => None,
    }
}

fn char_width(measure: &NodeRef) -> f64 {
    measure
        .cast::<HtmlElement>()
        .map(|m| m.get_bounding_client_rect().width() / MEASURE.len() as f64)
        .filter(|w| *w > 0.0)
        .unwrap_or(7.8)
}

/// The byte offset of a textarea offset (UTF-16 units), clamped to the text.
pub fn byte_of(text: &str, units: u32) -> usize {
    let mut seen = 0u32;
    for (i, c) in text.char_indices() {
        if seen >= units {
            return i;
        }
        seen += c.len_utf16() as u32;
    }
    text.len()
}

/// The textarea offset (UTF-16 units) of a byte offset.
pub fn units_of(text: &str, byte: usize) -> u32 {
    text[..byte.min(text.len())].encode_utf16().count() as u32
}

/// The byte at `line`, `col` (0-based, in characters), if the text has one there.
pub fn byte_at(text: &str, line: usize, col: usize) -> Option<usize> {
    let start = text
        .split('\n')
        .take(line)
        .map(|l| l.len() + 1)
        .sum::<usize>();
    let l = text.get(start..)?.split('\n').next()?;
    l.char_indices().nth(col).map(|(i, _)| start + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_convert_between_utf16_units_and_bytes() {
        let t = "aé😀b";
        assert_eq!(byte_of(t, 0), 0);
        assert_eq!(byte_of(t, 2), 3);
        assert_eq!(byte_of(t, 4), 7);
        assert_eq!(byte_of(t, 99), t.len());
        assert_eq!(units_of(t, 3), 2);
        assert_eq!(units_of(t, 7), 4);
        assert_eq!(byte_at("ab\ncd", 1, 1), Some(4));
        assert_eq!(byte_at("ab\ncd", 1, 2), None);
        assert_eq!(byte_at("ab\ncd", 5, 0), None);
    }

    #[test]
    fn a_word_being_typed_is_offered_the_primitives_it_starts() {
        let t = "P0(khugepaged) {\n    pmdp_get";
        let o = offer_at(t, t.len()).unwrap();
        assert_eq!((o.line, o.col, o.end - o.start), (1, 4, 8));
        assert!(o.items.iter().all(|n| n.starts_with("pmdp_get")));
        // Not in the middle of a word, not for one letter, not for no primitive.
        assert!(offer_at(t, t.len() - 1).is_none());
        assert!(offer_at("p", 1).is_none());
        assert!(offer_at("zzz", 3).is_none());
    }
}
