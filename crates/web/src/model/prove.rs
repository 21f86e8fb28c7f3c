//! The Prove panel's part of the reducer: one exhaustive check at a time, in the worker,
//! within the page's state budget, of the settings as they are or of every CPU count;
//! an answer to settings since changed is dropped.

use super::state::{Model, PAGE_MAX_STATES};
use crate::runner::Request;
use std::rc::Rc;
use tornsim_core::cutoff::AnyResult;
use tornsim_core::{CheckProgress, CheckResult};

impl Model {
    /// Prove the settings as they are, or (`any`, or `readers = any` in the settings) for
    /// every CPU count.
    pub(super) fn check_start(&mut self, any: bool) {
        let any = any || self.share.config.any_readers;
        if self.invalid.is_none() {
            let config = self.share.config.clone();
            let max_states = PAGE_MAX_STATES;
            let seq = self.post(|seq| match any {
                false => Request::Check {
                    seq,
                    config,
                    max_states,
                },
                true => Request::CheckAny {
                    seq,
                    config,
                    max_states,
                },
            });
            self.checking = Some(seq);
            self.check_progress = None;
            self.check = None;
            self.any = None;
        }
    }

    /// The answer for every CPU count: its search is the verdict shown, its argument and
    /// counts are shown beside it.
    pub(super) fn check_any_done(&mut self, seq: u64, result: Result<AnyResult, String>) {
        let current = self.checking == Some(seq);
        self.check_done(
            seq,
            result
                .as_ref()
                .map(|a| a.result.clone())
                .map_err(Clone::clone),
        );
        if current {
            self.any = result.ok().map(Rc::new);
        }
    }

    pub(super) fn check_done(&mut self, seq: u64, result: Result<CheckResult, String>) {
        self.outbox.retain(|(id, _)| *id != seq);
        if self.checking == Some(seq) {
            self.checking = None;
            self.check_progress = None;
            self.check = Some(result);
        }
    }

    pub(super) fn check_progressed(&mut self, seq: u64, progress: CheckProgress) {
        if self.checking == Some(seq) {
            self.check_progress = Some(progress);
        }
    }

    /// Drops the search in flight: the pool stops it at the end of the layer it is in.
    pub(super) fn check_cancel(&mut self) {
        if let Some(seq) = self.checking.take() {
            self.outbox.retain(|(id, _)| *id != seq);
            self.send(&Request::CancelCheck { seq });
        }
        self.check_progress = None;
    }
}
