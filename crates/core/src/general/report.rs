//! One general file, answered in one call: its exhaustive verdict with the file's claim,
//! the shortest witness drawn as CPU columns with its schedule string, and a seeded
//! batch of random runs. Plain data that crosses a worker boundary: what the web page
//! shows for a file the general machine runs.

use super::argument::check_any;
use super::explore::{encode, replay, GBatch};
use super::ir::GProgram;
use super::search::{check, GCheckOptions};
use crate::hazard::Verdict;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What a general file comes to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GReport {
    pub name: String,
    pub description: String,
    /// The knobs in one line: mode, flush, readers, CPUs.
    pub summary: String,
    /// The `exists` clause as written.
    pub exists: String,
    pub verdict: Verdict,
    /// Whether the clause's claim holds (`None`: the search could not say).
    pub claim: Option<bool>,
    pub states: u64,
    /// The walkers the search took as interchangeable, in words (empty: none).
    #[serde(default)]
    pub interchangeable: String,
    /// The shortest witness as kernel-style CPU columns, and its schedule string.
    pub witness: Option<String>,
    pub witness_steps: Option<usize>,
    pub schedule: Option<String>,
    /// The random runs: how many, their seed, and per hazard the runs that raised it.
    pub runs: u64,
    pub seed: u64,
    pub hazard_runs: Vec<(String, u64)>,
    /// The first run (by index) that raised a hazard the clause asks about.
    pub first_schedule: Option<String>,
    /// `readers = any`: the verdict for every walker count, and the argument's
    /// conditions in one line (the verdict and witness above are then the check at the
    /// fewest walkers that reach a hazard, or at the cutoff).
    #[serde(default)]
    pub any: Option<String>,
    /// The file's walker blocks: where there are any, the verdict can be asked for every
    /// walker count ([`report_any`]).
    #[serde(default)]
    pub walkers: u32,
}

/// Where the cutoff argument does not apply, the walker counts a report checks.
pub const ANY_BOUND: u32 = 3;

/// Checks `p` (up to `max_states`) and runs it `runs` times from `seed`; for every
/// walker count where the file says `readers = any`.
pub fn report(p: &Arc<GProgram>, max_states: u64, runs: u64, seed: u64) -> GReport {
    report_as(p, max_states, runs, seed, p.cfg.any_readers)
}

/// [`report`] for every walker count, whatever the file says: the page's "Prove for any
/// number of CPUs" on a general file.
pub fn report_any(p: &Arc<GProgram>, max_states: u64, runs: u64, seed: u64) -> GReport {
    report_as(p, max_states, runs, seed, true)
}

fn report_as(p: &Arc<GProgram>, max_states: u64, runs: u64, seed: u64, any: bool) -> GReport {
    let opts = GCheckOptions {
        max_states,
        ..GCheckOptions::default()
    };
    // For every count, the answer is the check at the count that decides. A file whose
    // walkers recompile at no count (it cannot happen to a file that compiled) keeps
    // its own check, and says why.
    let (r, p, any) = match any.then(|| check_any(p, opts, ANY_BOUND)) {
        Some(Err(e)) => (
            check(p, opts),
            p.clone(),
            Some(format!("any number of walkers: not checked ({e})")),
        ),
        None => (check(p, opts), p.clone(), None),
        Some(Ok(a)) => {
            let conds: Vec<String> = a
                .argument
                .conditions
                .iter()
                .map(|c| format!("{} {}", c.id, if c.holds { "holds" } else { "fails" }))
                .collect();
            let any = format!(
                "any number of walkers: {} (cutoff argument: {}; checked {})",
                a.sentence(),
                conds.join(", "),
                super::argument::checked_text(&a.checked)
            );
            (a.result, a.program, Some(any))
        }
    };
    let p = &p;
    // Under alloc = random the witness replays on the frame of the pass that found it.
    let wp = r.program(p);
    let trace = r.witness.as_ref().and_then(|w| replay(&wp, w).ok());
    let mut batch = GBatch::new(p, seed);
    let stats = batch.run(runs).clone();
    GReport {
        name: p.name.clone(),
        description: p.description.clone(),
        summary: p
            .knobs()
            .iter()
            .map(|(k, v)| format!("{k} = {v}"))
            .collect::<Vec<_>>()
            .join(", "),
        exists: p.exists.text(),
        verdict: r.verdict,
        claim: r.claim(p),
        states: r.states,
        interchangeable: r.interchangeable_text(),
        witness: trace.as_ref().map(|t| t.columns(&wp)),
        witness_steps: r.witness.as_ref().map(Vec::len),
        schedule: r.witness.as_ref().map(|w| encode(&wp, w)),
        runs: stats.runs,
        seed,
        hazard_runs: stats
            .hazards
            .iter()
            .map(|(h, n)| (h.name().to_string(), *n))
            .collect(),
        first_schedule: stats.first.map(|(_, s)| s),
        any,
        walkers: super::argument::walker_blocks(p),
    }
}

impl GReport {
    /// The verdict in a sentence, with the claim.
    pub fn headline(&self) -> String {
        let claim = match self.claim {
            Some(true) => "the file's claim holds",
            Some(false) => "the file's claim does NOT hold",
            None => "the file's claim is undecided",
        };
        match &self.any {
            Some(any) => format!("{}: {any} ({}; {claim})", self.verdict, self.exists),
            None => format!(
                "{}: {} ({}; {claim})",
                self.verdict,
                self.verdict.sentence(),
                self.exists
            ),
        }
    }

    /// Whether the page may offer the verdict for every walker count: the file has
    /// walkers, and this report is not already that verdict.
    pub fn can_prove_any(&self) -> bool {
        self.walkers > 0 && self.any.is_none()
    }

    /// Whether the verdict is a hazard (not safe, not incomplete).
    pub fn is_hazard(&self) -> bool {
        !matches!(self.verdict, Verdict::Safe | Verdict::Incomplete)
    }
}
