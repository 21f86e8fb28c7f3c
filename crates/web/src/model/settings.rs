//! The settings' part of the reducer: the controls and presets, and the page's link (its
//! fragment), read on load and whenever the address changes, written back as the
//! settings change. Percent-decoding follows what the embed snippet writes.

use super::editor::{describe, scenario_text};
use super::state::{Edit, Editor, EditorState, Model, Status, TraceView};
use crate::runner::Request;
use std::rc::Rc;
use tornsim_core::campaign::Share;
use tornsim_core::config::ConfigError;
use tornsim_core::{replay_str_with, scenario};

impl Model {
    /// The page's state from a URL fragment (without `#`). A fragment that does not
    /// parse leaves the defaults and explains why.
    pub fn from_fragment(fragment: &str, in_worker: bool) -> Model {
        // The embed keys are read first and on their own, so that an embed whose other
        // settings are refused still renders as an embed (with its notice).
        let (mut embed, mut locked, mut workers_wanted) = (false, false, None);
        for pair in fragment.split('&') {
            match pair {
                "embed" | "embed=1" => embed = true,
                "controls=locked" => locked = true,
                _ => {
                    if let Some(n) = pair.strip_prefix("workers=") {
                        workers_wanted = n
                            .parse::<usize>()
                            .ok()
                            .filter(|n| (1..=crate::engine::MAX_WORKERS).contains(n));
                    }
                }
            }
        }
        let (share, notice) = if fragment.trim().is_empty() {
            (Share::default(), None)
        } else {
            let parsed = decode_pairs(fragment).and_then(|q| {
                let (s, extra) = Share::from_query(&q, &["embed", "controls", "workers"])?;
                for (k, v) in extra {
                    match (k, v) {
                        ("embed", "1" | "0" | "") | ("controls", "locked" | "open") => {}
                        ("workers", _) if workers_wanted.is_some() => {}
                        (k, v) => {
                            return Err(ConfigError::new(
                                k,
                                format!(
                                    "unknown value '{v}' (embed=1, controls=locked|open, \
                                     workers=1..={})",
                                    crate::engine::MAX_WORKERS
                                ),
                            ))
                        }
                    }
                }
                Ok(s)
            });
            match parsed {
                Ok(s) => (s, None),
                Err(e) => (
                    Share::default(),
                    Some(format!(
                        "This link's settings could not be used ({e}); showing the defaults instead."
                    )),
                ),
            }
        };
        let trace = share.trace.as_deref().and_then(|t| {
            replay_str_with(t, share.config.scenario.as_ref())
                .ok()
                .map(|trace| TraceView {
                    trace: Rc::new(trace),
                    pos: 0,
                })
        });
        let text = scenario_text(&share.config);
        let description = describe(&text);
        let mut m = Model {
            share,
            embed,
            locked,
            invalid: None,
            notice,
            status: Status::Idle,
            campaign: None,
            shown: None,
            shown_elapsed_ms: 0.0,
            cost_charts: false,
            shown_at: None,
            outbox: Vec::new(),
            outbox_seq: 0,
            sink: None,
            view_seq: 0,
            chunk_size: 2_000,
            in_worker,
            workers: 1,
            workers_wanted,
            started_ms: 0.0,
            elapsed_ms: 0.0,
            generation: 0,
            trace,
            general_trace: None,
            general_runs: None,
            manual: None,
            check: None,
            any: None,
            checking: None,
            check_progress: None,
            editor: Editor {
                text,
                description,
                seq: 0,
                state: EditorState::Ok,
                check_on_parse: false,
                general: None,
                proving_any: false,
            },
            error: None,
            deliberate: 0,
            rates: Vec::new(),
        };
        // A link whose scenario has an error still opens that text in the editor, with
        // the error at its line, rather than losing the user's work.
        if m.notice.is_some() {
            if let Some(text) = linked_scenario(fragment) {
                m.edit_scenario(text);
            }
        } else if let Some(text) = m.share.general.clone() {
            // A file the general machine runs: the editor shows it, and its parse
            // brings the general machine's answer; the link's run opens on it.
            let linked = m.share.trace.clone();
            m.edit_scenario(text);
            if let Some(t) = linked {
                m.open_trace(t);
            }
        }
        m
    }

    pub fn fragment(&self) -> String {
        self.share.to_query()
    }

    /// Shows what `fragment` says, as a fresh page would, keeping the ids of requests
    /// in flight growing so that their answers are told apart from new ones.
    pub(super) fn load_fragment(&mut self, fragment: &str) {
        let fragment = fragment.trim_start_matches('#');
        if fragment == self.fragment() {
            return;
        }
        let mut fresh = Model::from_fragment(fragment, self.in_worker);
        let parse: Vec<String> = fresh
            .outbox
            .drain(..)
            .filter_map(|(_, r)| match r {
                Request::Parse { text, .. } => Some(text),
                _ => None,
            })
            .collect();
        fresh.outbox_seq = self.outbox_seq;
        fresh.generation = self.generation + 1;
        fresh.editor.seq = self.editor.seq;
        fresh.deliberate = self.deliberate;
        // The engine outlives the fragment.
        (fresh.workers, fresh.workers_wanted) = (self.workers, self.workers_wanted);
        (fresh.sink, fresh.view_seq) = (self.sink.clone(), self.view_seq);
        *self = fresh;
        for text in parse {
            self.edit_scenario(text);
        }
    }

    /// A control changed the settings: kept even when invalid, with the reason beside it.
    pub(super) fn edit(&mut self, f: Edit) {
        let mut s = self.share.clone();
        match f(&mut s).and_then(|_| s.config.validate().map(|_| ())) {
            Ok(()) => {
                self.share = s;
                self.invalid = None;
            }
            Err(e) => {
                // Keep what the user typed visible with the reason beside it;
                // never clamp it silently.
                self.share = s;
                self.invalid = Some(e);
            }
        }
        self.settings_changed();
        if self.invalid.is_none() {
            self.refresh_editor();
        }
    }

    /// A preset was picked.
    pub(super) fn pick_preset(&mut self, name: String) {
        match tornsim_core::preset(&name) {
            Ok(p) => {
                self.share.config = p.config;
                self.invalid = None;
                self.settings_changed();
                // A preset replaces whatever the editor held, errors included.
                self.editor.state = EditorState::Ok;
                self.refresh_editor();
            }
            Err(e) => self.invalid = Some(e),
        }
    }
}

/// The unpacked `scenario=` of a fragment, if it has one that unpacks.
fn linked_scenario(fragment: &str) -> Option<String> {
    let q = decode_pairs(fragment).ok()?;
    let v = q.split('&').find_map(|p| p.strip_prefix("scenario="))?;
    scenario::unpack(v).ok()
}

/// Splits a fragment into pairs and percent-decodes each key and value (`%3D` for `=`,
/// `%26` for `&`, as the embed snippet writes them). A decoded pair that would read as
/// more than one pair is refused rather than reinterpreted.
pub fn decode_pairs(fragment: &str) -> Result<String, ConfigError> {
    let mut out = Vec::new();
    for pair in fragment.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (percent_decode(k), percent_decode(v));
        if k.contains(['&', '=']) || v.contains('&') {
            return Err(ConfigError::new(k, "a key or value holds '&' or '='"));
        }
        out.push(format!("{k}={v}"));
    }
    Ok(out.join("&"))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 3 <= b.len() {
            if let Ok(v) =
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or(""), 16)
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
