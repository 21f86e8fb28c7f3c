//! A replayed general run as plain data for a viewer: the CPUs' names, and per step its
//! CPU, what it did, its hazard, what it changed and the whole state after it as named
//! rows. The web page's trace panel draws it for a file the general machine runs (it
//! crosses a worker boundary, so it is serde data), and holds no semantics of its own:
//! every word comes from the machine's own describe and changes.

use super::explore::{decode_run, replay_each, GTrace};
use super::ir::{GProgram, DONE};
use super::machine::GMachine;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What kind of choice a step was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FrameKind {
    /// The CPU's next program step.
    Step,
    /// Its answer to a pending IPI.
    Ack,
    /// The drain of its oldest buffered store (`memory = tso`).
    Drain,
}

/// One step of a [`GTimeline`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GFrame {
    pub cpu: u8,
    pub kind: FrameKind,
    pub text: String,
    /// The hazard the step raised: its name and what it means.
    pub hazard: Option<(String, String)>,
    pub changes: Vec<String>,
    /// The state after the step, row for row as [`GTimeline::initial`].
    pub after: Vec<(String, String)>,
}

/// A run of a general file, ready to draw and to step through.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GTimeline {
    pub name: String,
    /// Each CPU's name, `P0(khugepaged)`.
    pub cpus: Vec<String>,
    /// The schedule string that replays it (`tornsim replay FILE SCHEDULE`).
    pub schedule: String,
    /// The state before the first step, as named rows.
    pub initial: Vec<(String, String)>,
    pub frames: Vec<GFrame>,
    /// The run ended stuck with work left.
    pub deadlock: bool,
    /// The run as the kernel's race diagrams draw it ([`GTrace::columns`]).
    pub diagram: String,
}

impl GTimeline {
    /// The first step that raised a hazard.
    pub fn hazard_step(&self) -> Option<usize> {
        self.frames.iter().position(|f| f.hazard.is_some())
    }

    /// Where a viewer opens it: just after the first hazard (the step the reader came
    /// for), else at the end.
    pub fn open_at(&self) -> usize {
        self.hazard_step().map_or(self.frames.len(), |i| i + 1)
    }

    /// The state after `pos` steps (0: the initial state), row for row.
    pub fn state_at(&self, pos: usize) -> &[(String, String)] {
        match pos.min(self.frames.len()) {
            0 => &self.initial,
            k => &self.frames[k - 1].after,
        }
    }
}

/// Replays `schedule` (a `tg1` string) on `p`, keeping the state after every step.
pub fn timeline(p: &Arc<GProgram>, schedule: &str) -> Result<GTimeline, String> {
    let (p, choices) = decode_run(p, schedule)?;
    let p = &p;
    let start = GMachine::new(p.clone(), false);
    // Which locals hold a value this run gave them: set by the step that writes one,
    // cleared when the machine declares them dead (a block done, a walker's next
    // iteration), as it zeroes them then.
    let mut written = vec![false; start.st.locals.len()];
    let initial = start.state_rows(&written);
    let mut steps = Vec::with_capacity(choices.len());
    let mut afters = Vec::with_capacity(choices.len());
    let deadlock = replay_each(p, &choices, |m, before, s| {
        let c = s.choice.cpu as usize;
        let at = p.locals_of(s.choice.cpu);
        if !s.choice.ack && !s.choice.drain {
            if let Some(d) = p.code[before.pc[c] as usize].op.dest() {
                written[at.start + d as usize] = true;
            }
        }
        let pc = m.st.pc[c];
        if pc == DONE || pc == p.entry[c] {
            written[at].fill(false);
        }
        afters.push(m.state_rows(&written));
        steps.push(s);
    })?;
    // The diagram first, from the steps, which then become the frames.
    let trace = GTrace { steps, deadlock };
    let diagram = trace.columns(p);
    let frames = trace
        .steps
        .into_iter()
        .zip(afters)
        .map(|(s, after)| GFrame {
            cpu: s.choice.cpu,
            kind: match (s.choice.ack, s.choice.drain) {
                (true, _) => FrameKind::Ack,
                (_, true) => FrameKind::Drain,
                _ => FrameKind::Step,
            },
            text: s.text,
            hazard: s
                .hazard
                .map(|h| (h.name().to_string(), h.meaning().to_string())),
            changes: s.changes,
            after,
        })
        .collect();
    Ok(GTimeline {
        name: p.name.clone(),
        cpus: (0..p.cpus).map(|c| p.cpu_name(c)).collect(),
        schedule: schedule.trim().to_string(),
        initial,
        frames,
        deadlock,
        diagram,
    })
}
