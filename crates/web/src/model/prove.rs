//! The Prove panel's part of the reducer: one exhaustive check at a time, in the worker,
//! within the page's state budget; an answer to settings since changed is dropped.

use super::state::{Model, PAGE_MAX_STATES};
use crate::runner::Request;
use tornsim_core::CheckResult;

impl Model {
    pub(super) fn check_start(&mut self) {
        if self.invalid.is_none() {
            let config = self.share.config.clone();
            let seq = self.post(|seq| Request::Check {
                seq,
                config,
                max_states: PAGE_MAX_STATES,
            });
            self.checking = Some(seq);
            self.check = None;
        }
    }

    pub(super) fn check_done(&mut self, seq: u64, result: Result<CheckResult, String>) {
        self.outbox.retain(|(id, _)| *id != seq);
        if self.checking == Some(seq) {
            self.checking = None;
            self.check = Some(result);
        }
    }
}
