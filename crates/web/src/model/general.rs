//! Random runs of a file the general machine runs: the batch split in parts of
//! [`GENERAL_PART`] runs, a few in flight across the workers at a time, each answer
//! merged into the totals ([`tornsim_core::general::GStats::merge`]) and a point added
//! to the chart.

use super::state::{GeneralRuns, Model};
use crate::runner::Request;
use tornsim_core::general::{GStats, RunsPart};
use tornsim_core::sched::SchedulerSpec;

/// Runs per part: a fraction of a second of a worker's time on the built-in files.
pub const GENERAL_PART: u64 = 2_000;

/// The most runs the page's general runs take (as a link's `runs` may ask).
pub const GENERAL_MAX_RUNS: u64 = 10_000_000;

impl Model {
    pub(super) fn general_run_start(&mut self, runs: u64, spec: SchedulerSpec) {
        let Some(text) = self.share.general.clone() else {
            return;
        };
        self.drop_general_runs();
        if let Err(e) = spec.validate() {
            self.error = Some(e.to_string());
            return;
        }
        self.general_runs = Some(GeneralRuns {
            text,
            spec,
            seed: self.share.seed,
            total: runs.clamp(1, GENERAL_MAX_RUNS),
            next: 0,
            pending: Vec::new(),
            stats: GStats::default(),
            series: vec![(0, Vec::new())],
            stopped: false,
            error: None,
        });
        // Two parts a worker: one running, one waiting, so no worker idles between.
        for _ in 0..self.workers.max(1) * 2 {
            self.post_general_part();
        }
    }

    /// Asks for the next part, if there is one to ask for.
    fn post_general_part(&mut self) {
        let Some(g) = self.general_runs.as_mut() else {
            return;
        };
        if g.stopped || g.next >= g.total {
            return;
        }
        let (start, count) = (g.next, GENERAL_PART.min(g.total - g.next));
        g.next += count;
        let part = RunsPart {
            src: g.text.clone(),
            spec: g.spec,
            seed: g.seed,
            start,
            count,
        };
        let id = self.post(|seq| Request::GeneralRuns { seq, part });
        if let Some(g) = self.general_runs.as_mut() {
            g.pending.push(id);
        }
    }

    /// Forgets the runs, with their parts still to be answered (answers that come
    /// anyway are dropped: no runs wait for them).
    pub(super) fn drop_general_runs(&mut self) {
        if let Some(g) = self.general_runs.take() {
            self.outbox.retain(|(id, _)| !g.pending.contains(id));
        }
    }

    pub(super) fn general_run_stop(&mut self) {
        if let Some(g) = self.general_runs.as_mut() {
            g.stopped = true;
        }
    }

    pub(super) fn general_runs_done(&mut self, seq: u64, result: Result<GStats, String>) {
        self.outbox.retain(|(id, _)| *id != seq);
        let Some(g) = self.general_runs.as_mut() else {
            return;
        };
        let Some(i) = g.pending.iter().position(|&p| p == seq) else {
            return;
        };
        g.pending.remove(i);
        match result {
            Ok(s) => {
                g.stats.merge(&s);
                g.series.push((g.stats.runs, g.stats.hazards.clone()));
            }
            Err(e) => {
                g.error = Some(e);
                g.stopped = true;
            }
        }
        self.post_general_part();
    }
}
