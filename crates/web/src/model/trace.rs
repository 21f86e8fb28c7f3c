//! The trace panel's part of the reducer: a schedule opened as a trace at its hazard,
//! moved through step by step, and the manual stepper that builds one choice at a time.

use super::state::{GeneralView, Model, TraceView};
use std::rc::Rc;
use tornsim_core::config::Config;
use tornsim_core::{replay_str_with, Choice, Stepper};

impl Model {
    pub(super) fn open_trace(&mut self, s: String) {
        // The editor's file runs on the general machine: its schedules are its own.
        if let Some(src) = &self.share.general {
            match tornsim_core::general::timeline_of(src, &s) {
                Ok(t) => {
                    self.general_trace = Some(GeneralView {
                        pos: t.open_at(),
                        timeline: Rc::new(t),
                    });
                    self.trace = None;
                    self.manual = None;
                    self.share.trace = Some(s);
                }
                Err(e) => self.error = Some(format!("Cannot open that schedule: {e}")),
            }
            return;
        }
        match replay_str_with(&s, self.share.config.scenario.as_ref()) {
            Ok(t) => {
                // Open at the hazard, the step the reader came for.
                let pos = t
                    .steps
                    .iter()
                    .position(|s| s.hazard.is_some())
                    .map_or(t.steps.len(), |i| i + 1);
                self.trace = Some(TraceView {
                    trace: Rc::new(t),
                    pos,
                });
                self.share.trace = Some(s);
                self.manual = None;
            }
            Err(e) => self.error = Some(format!("Cannot open that schedule: {e}")),
        }
    }

    pub(super) fn close_trace(&mut self) {
        self.trace = None;
        self.general_trace = None;
        self.manual = None;
        self.share.trace = None;
    }

    /// The open trace's step and length, whichever machine it is of.
    fn cursor(&mut self) -> Option<(&mut usize, usize)> {
        match (self.trace.as_mut(), self.general_trace.as_mut()) {
            (Some(t), _) => Some((&mut t.pos, t.trace.steps.len())),
            (None, Some(g)) => Some((&mut g.pos, g.timeline.frames.len())),
            (None, None) => None,
        }
    }

    pub(super) fn seek(&mut self, p: usize) {
        if let Some((pos, n)) = self.cursor() {
            *pos = p.min(n);
        }
    }

    pub(super) fn step_by(&mut self, d: i64) {
        if let Some((pos, n)) = self.cursor() {
            *pos = (*pos as i64 + d).clamp(0, n as i64) as usize;
        }
    }

    pub(super) fn manual_start(&mut self) {
        let cfg: &Config = &self.share.config;
        let table = tornsim_core::run::table_for(cfg, self.share.seed);
        match Stepper::new(cfg, table) {
            Ok(s) => {
                self.trace = Some(TraceView {
                    trace: Rc::new(s.trace().clone()),
                    pos: 0,
                });
                self.manual = Some(Rc::new(s));
                self.share.trace = None;
            }
            Err(e) => self.invalid = Some(e),
        }
    }

    pub(super) fn manual_step(&mut self, ch: Choice) {
        if let Some(m) = self.manual.as_mut() {
            let m = Rc::make_mut(m);
            if m.step(ch).is_ok() {
                let t = m.trace().clone();
                let pos = t.steps.len();
                if t.hazards().next().is_some() {
                    self.share.trace = Some(t.schedule.clone());
                }
                self.trace = Some(TraceView {
                    trace: Rc::new(t),
                    pos,
                });
            }
        }
    }
}
