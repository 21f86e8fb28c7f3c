//! The scenario panel's part of the reducer: the editor's text as typed, sent to the
//! worker to parse, and the settings it stands for once it parses; and the text shown for
//! settings chosen elsewhere (a preset's own file, or the canonical print).

use super::state::{EditorState, Model};
use crate::runner::{Parsed, Request};
use tornsim_core::config::{Config, ConfigError};
use tornsim_core::{program, scenario, ScenarioError};

impl Model {
    /// The settings changed from outside the editor: show them as a file.
    pub(super) fn refresh_editor(&mut self) {
        // Text that does not parse is the user's work in progress: keep it.
        if !matches!(self.editor.state, EditorState::Error(_)) {
            self.close_general_trace();
            self.editor.general = None;
            self.share.general = None;
            self.editor.text = scenario_text(&self.share.config);
            self.editor.description = describe(&self.editor.text);
            self.editor.seq += 1;
            self.editor.state = EditorState::Ok;
        }
    }

    /// Sends `text` to be parsed. Each parse decides afresh whether a check follows it,
    /// so a later text (typed, or from a link) never inherits a move's check.
    pub(super) fn edit_scenario(&mut self, text: String) {
        if text != self.editor.text {
            self.close_general_trace();
        }
        self.editor.text = text.clone();
        self.editor.seq = self.post(|seq| Request::Parse {
            seq,
            text,
            any: false,
        });
        self.editor.state = EditorState::Parsing;
        self.editor.check_on_parse = false;
        self.editor.proving_any = false;
    }

    /// Asks the general file's verdict for every walker count: the same text parsed
    /// again, its report now for any count. The report shown stays until it comes.
    pub(super) fn general_prove_any(&mut self) {
        let askable = self
            .editor
            .general
            .as_ref()
            .is_some_and(|r| r.can_prove_any());
        if !askable || self.editor.proving_any || self.editor.state != EditorState::Ok {
            return;
        }
        let text = self.editor.text.clone();
        self.editor.seq = self.post(|seq| Request::Parse {
            seq,
            text,
            any: true,
        });
        self.editor.proving_any = true;
    }

    /// A run of the general file in the editor, and its random runs, are of that text
    /// only: answers still on their way are dropped with them.
    fn close_general_trace(&mut self) {
        if self.general_trace.take().is_some() {
            self.share.trace = None;
        }
        self.drop_general_runs();
    }

    /// The editor's text changed; `moved` by a line move (Alt+Up/Down), a reordering
    /// whose verdict is what the user wants next, so it is checked once it parses.
    pub(super) fn scenario_edited(&mut self, text: String, moved: bool) {
        if text != self.editor.text {
            self.edit_scenario(text);
            self.editor.check_on_parse = moved;
        }
    }

    /// The worker's answer to a parse: the settings the text stands for, or its error.
    pub(super) fn scenario_parsed(&mut self, seq: u64, result: Result<Parsed, ScenarioError>) {
        self.outbox.retain(|(id, _)| *id != seq);
        if seq != self.editor.seq {
            return;
        }
        self.editor.proving_any = false;
        match result {
            Ok(Parsed {
                general: Some(report),
                description,
                ..
            }) => {
                // The classic controls cannot run this file: say so beside them, and
                // show the general machine's answer in the Scenario panel.
                self.editor.state = EditorState::Ok;
                self.editor.description = description;
                self.editor.general = Some(report);
                self.share.general = Some(self.editor.text.clone());
                self.editor.check_on_parse = false;
                self.invalid = Some(ConfigError::new(
                    "scenario",
                    "the editor's file runs on the general machine: its verdict and runs are in the Scenario panel",
                ));
            }
            Ok(Parsed {
                config: cfg,
                description,
                general: None,
            }) => {
                self.editor.state = EditorState::Ok;
                self.editor.description = description;
                self.editor.general = None;
                self.share.general = None;
                if cfg != self.share.config {
                    self.share.config = cfg;
                    self.settings_changed();
                }
                self.invalid = self.share.config.validate().err();
                if std::mem::take(&mut self.editor.check_on_parse) {
                    self.check_start(false);
                }
            }
            Err(e) => {
                self.editor.check_on_parse = false;
                self.editor.general = None;
                self.invalid = Some(ConfigError::new(
                    "scenario",
                    format!("the editor's text has an error at {e}"),
                ));
                self.editor.state = EditorState::Error(e);
            }
        }
    }
}

/// The file a configuration runs, as the editor shows it: a preset's file, a scenario's
/// own text while nothing overrides its settings, else the canonical print of program
/// and settings.
pub fn scenario_text(cfg: &Config) -> String {
    // A preset as its own file, comments and all.
    if let Some(src) = tornsim_core::presets()
        .iter()
        .find(|p| &p.config == cfg)
        .and_then(|p| program::builtin_source(p.name))
    {
        return src.to_string();
    }
    if let Some(sc) = &cfg.scenario {
        if program::to_config(sc).is_ok_and(|c| &c == cfg) {
            return sc.source.clone();
        }
    }
    program::print(program::of_config(cfg), cfg)
}

/// The description line of a file the page wrote itself (from a preset or settings).
pub(super) fn describe(text: &str) -> String {
    scenario::parse(text)
        .map(|s| s.description)
        .unwrap_or_default()
}
