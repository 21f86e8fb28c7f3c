//! The page's one reducer: every user action and every worker answer is a [`Msg`], and
//! [`Model::reduce`] is the only place state changes. Simulation happens in
//! `tornsim-core` (`Campaign`, `Stepper`, `check`); this module only decides what to
//! ask for next. Chunks to send are queued in `outbox` and posted by an effect, so the
//! reducer itself does no I/O.
//!
//! One file per panel, each adding its messages' handlers to [`Model`]: `state` (the
//! model and the messages), `editor` (the scenario panel), `settings` (controls, presets
//! and the link), `batch` (runs and cost runs), `trace` (the trace viewer and the
//! manual stepper), `prove` (the exhaustive check) and `general` (runs of a file the
//! general machine runs). This file dispatches.

mod batch;
mod editor;
mod general;
mod prove;
mod settings;
mod state;
#[cfg(test)]
mod tests;
mod trace;

pub use editor::scenario_text;
pub use settings::decode_pairs;
pub use state::*;
use std::rc::Rc;
use yew::Reducible;

impl Model {
    fn apply(&mut self, msg: Msg) {
        let chunk_at = match &msg {
            Msg::ChunkDone { now_ms, .. } => Some(*now_ms),
            _ => None,
        };
        self.apply_msg(msg);
        // While a batch runs, a chunk's answer refreshes the page's copy only every
        // SHOW_MS; anything else (and the batch's end) shows at once.
        let fresh = self
            .shown_at
            .is_none_or(|t| chunk_at.is_none_or(|now| now - t >= SHOW_MS));
        if fresh || self.status != Status::Running {
            self.shown = self.campaign.clone().map(Rc::new);
            self.shown_elapsed_ms = self.elapsed_ms;
            self.shown_at = chunk_at.or(self.shown_at);
            self.cost_charts = match self.shown.as_deref() {
                Some(c) if c.timed.is_some() => {
                    self.cost_charts || c.lanes.iter().any(|l| l.runs() > 0)
                }
                _ => false,
            };
            self.view_seq += 1;
        }
    }

    fn apply_msg(&mut self, msg: Msg) {
        if matches!(
            msg,
            Msg::Edit(_) | Msg::Preset(_) | Msg::OpenTrace(_) | Msg::CloseTrace
        ) {
            self.deliberate += 1;
        }
        match msg {
            Msg::Fragment(f) => self.load_fragment(&f),
            Msg::Edit(f) => self.edit(f),
            Msg::Preset(name) => self.pick_preset(name),
            Msg::ScenarioText(text) => self.scenario_edited(text, false),
            Msg::ScenarioMoved(text) => self.scenario_edited(text, true),
            Msg::ScenarioParsed { seq, result } => self.scenario_parsed(seq, result),
            Msg::CheckStart => self.check_start(false),
            Msg::CheckAnyStart => self.check_start(true),
            Msg::Start { now_ms } => self.start_batch(now_ms, false),
            Msg::StartCost { now_ms } => self.start_batch(now_ms, true),
            Msg::Pause => self.pause(),
            Msg::Resume { now_ms } => self.resume(now_ms),
            Msg::RateEstimated {
                seq,
                lane,
                generation,
                result,
            } => self.rate_estimated(seq, lane, generation, result),
            Msg::EngineReady { workers, sink } => self.engine_ready(workers, sink),
            Msg::Reset => self.reset(),
            Msg::ChunkDone {
                chunk,
                result,
                worker_ms,
                now_ms,
            } => self.chunk_done(chunk, result, worker_ms, now_ms),
            Msg::WorkerFailed(why) => self.worker_failed(why),
            Msg::OpenTrace(s) => self.open_trace(s),
            Msg::CloseTrace => self.close_trace(),
            Msg::Seek(p) => self.seek(p),
            Msg::StepBy(d) => self.step_by(d),
            Msg::ManualStart => self.manual_start(),
            Msg::ManualStep(ch) => self.manual_step(ch),
            Msg::CheckDone { seq, result } => self.check_done(seq, result),
            Msg::CheckProgress { seq, progress } => self.check_progressed(seq, progress),
            Msg::CheckCancel => self.check_cancel(),
            Msg::CheckAnyDone { seq, result } => self.check_any_done(seq, result),
            Msg::GeneralRunStart { runs, spec } => self.general_run_start(runs, spec),
            Msg::GeneralRunStop => self.general_run_stop(),
            Msg::GeneralProveAny => self.general_prove_any(),
            Msg::GeneralRunsDone { seq, result } => self.general_runs_done(seq, result),
        }
    }
}

impl Reducible for Model {
    type Action = Msg;
    fn reduce(self: Rc<Self>, msg: Msg) -> Rc<Self> {
        let mut m = (*self).clone();
        m.apply(msg);
        Rc::new(m)
    }
}
