//! Runs and batches of runs, with their statistics.
//!
//! The batch loop records nothing per step: when a run exhibits the first hazard of its
//! kind, the batch runs it again (a run is a pure function of its seed) with a recorder,
//! to get the schedule that replays it.

use crate::config::{Alloc, Config, ConfigError};
use crate::machine::{
    default_table, draw_table, flag, ActionKind, Choice, Effect, Hazard, Machine, NO_CPU,
};
use crate::sched::{run_seed, AnyScheduler, Scheduler, SchedulerSpec};
use crate::schedule::Schedule;
use serde::{Deserialize, Serialize};

/// Steps after which a run is abandoned. Runs end in tens of steps; only a scheduler
/// that starves the writers (or a model bug) gets near this.
pub const STEP_LIMIT: u64 = 1_000_000;

/// Sees every step of a run. `()` sees nothing and costs nothing.
pub trait Recorder {
    fn record(&mut self, m: &Machine, step: u64, ch: Choice, e: &Effect);
}

impl Recorder for () {
    #[inline(always)]
    fn record(&mut self, _: &Machine, _: u64, _: Choice, _: &Effect) {}
}

/// Records the choices, to build a [`Schedule`].
#[derive(Default)]
pub struct ChoiceRecorder(pub Vec<Choice>);

impl Recorder for ChoiceRecorder {
    fn record(&mut self, _: &Machine, _: u64, ch: Choice, _: &Effect) {
        self.0.push(ch);
    }
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunEnd {
    Finished,
    Deadlock,
    StepLimit,
}

/// The first hazard seen in a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HazardAt {
    pub hazard: Hazard,
    /// Index of the step that exhibited it (0-based).
    pub step: u64,
    pub cpu: u8,
}

/// What one run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSummary {
    pub steps: u64,
    pub torn_reads: u32,
    pub stale_uses: u32,
    pub retries: u32,
    pub reads: u32,
    pub ipis_sent: u32,
    pub ptl_held_steps: u64,
    pub end: Option<RunEnd>,
    pub first_torn: Option<HazardAt>,
    pub first_stale: Option<HazardAt>,
    /// The run finished in a state the `exists` clause's condition over registers and
    /// shared words holds in.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub observed: bool,
}

/// The populator's new table for a run.
pub fn table_for(cfg: &Config, seed: u64) -> u64 {
    match cfg.alloc {
        Alloc::Random => {
            let mut rng = crate::sched::frame_rng(seed);
            draw_table(&mut || rng.next_u64())
        }
        alloc => default_table(alloc),
    }
}

/// Runs one run on `m` (a draining machine) with `sched`, from its seed.
#[inline]
pub fn run_once<S: Scheduler, R: Recorder>(
    m: &mut Machine,
    sched: &mut S,
    seed: u64,
    new_table: u64,
    rec: &mut R,
) -> RunSummary {
    match (m.is_generic(), m.is_tso()) {
        (false, false) => run_once_as::<false, false, S, R>(m, sched, seed, new_table, rec),
        (true, false) => run_once_as::<true, false, S, R>(m, sched, seed, new_table, rec),
        (false, true) => run_once_as::<false, true, S, R>(m, sched, seed, new_table, rec),
        (true, true) => run_once_as::<true, true, S, R>(m, sched, seed, new_table, rec),
    }
}

#[inline]
fn run_once_as<const G: bool, const T: bool, S: Scheduler, R: Recorder>(
    m: &mut Machine,
    sched: &mut S,
    seed: u64,
    new_table: u64,
    rec: &mut R,
) -> RunSummary {
    m.reset(new_table);
    sched.start(seed, m);
    let mut s = RunSummary::default();
    let mut step = 0u64;
    loop {
        let en = m.enabled_as::<G, T>();
        // A finished run has nothing enabled, so one test per step covers both endings.
        if en.is_empty() {
            s.end = Some(if m.finished() {
                RunEnd::Finished
            } else {
                RunEnd::Deadlock
            });
            s.observed = m.observed();
            break;
        }
        if step >= STEP_LIMIT {
            s.end = Some(RunEnd::StepLimit);
            break;
        }
        let ch = sched.pick(m, en, step);
        let e = m.step_as::<G, T>(ch);
        sched.done(ch, &e);
        rec.record(m, step, ch, &e);
        // Only the reader's pmd_low re-check counts; the populator retries too.
        s.retries += (e.has(flag::RETRY) & (e.kind == ActionKind::ReloadLow)) as u32;
        s.reads += e.has(flag::READ) as u32;
        s.ipis_sent += e.ipis as u32;
        if e.flags & (flag::TORN | flag::STALE) != 0 {
            let at = HazardAt {
                hazard: Hazard::Torn,
                step,
                cpu: ch.cpu,
            };
            if e.has(flag::TORN) {
                s.torn_reads += 1;
                s.first_torn.get_or_insert(at);
            } else {
                s.stale_uses += 1;
                s.first_stale.get_or_insert(HazardAt {
                    hazard: Hazard::Stale,
                    ..at
                });
            }
        }
        step += 1;
        s.ptl_held_steps += (m.state().ptl != NO_CPU) as u64;
    }
    s.steps = step;
    s
}

/// The first run of a batch that showed a hazard, with the schedule that replays it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HazardRecord {
    pub run: u64,
    pub step: u64,
    pub cpu: u8,
    pub schedule: String,
}

/// Statistics over many runs. Counters add up under [`Stats::merge`], so chunks, shards
/// and worker messages combine into what one batch would report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub runs: u64,
    pub runs_with_torn: u64,
    pub torn_reads: u64,
    /// Reads whose second `pmd_low` load differed, caught by the retry loop.
    pub retries: u64,
    pub stale_uses: u64,
    pub runs_with_stale: u64,
    /// Completed reads (returned a value).
    pub reads: u64,
    pub steps: u64,
    pub ipis_sent: u64,
    /// Steps after which the PTL was held.
    pub ptl_held_steps: u64,
    pub deadlocks: u64,
    pub step_limit_runs: u64,
    pub first_torn: Option<HazardRecord>,
    pub first_stale: Option<HazardRecord>,
    pub first_deadlock: Option<HazardRecord>,
    /// Runs that finished in a state the `exists` clause's condition over registers and
    /// shared words holds in (absent where the clause has none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub runs_observed: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_observed: Option<HazardRecord>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn earliest(a: &mut Option<HazardRecord>, b: &Option<HazardRecord>) {
    if let Some(b) = b {
        if a.as_ref().is_none_or(|a| b.run < a.run) {
            *a = Some(b.clone());
        }
    }
}

impl Stats {
    /// Adds another batch's statistics (disjoint runs).
    pub fn merge(&mut self, o: &Stats) {
        self.runs += o.runs;
        self.runs_with_torn += o.runs_with_torn;
        self.torn_reads += o.torn_reads;
        self.retries += o.retries;
        self.stale_uses += o.stale_uses;
        self.runs_with_stale += o.runs_with_stale;
        self.reads += o.reads;
        self.steps += o.steps;
        self.ipis_sent += o.ipis_sent;
        self.ptl_held_steps += o.ptl_held_steps;
        self.deadlocks += o.deadlocks;
        self.step_limit_runs += o.step_limit_runs;
        earliest(&mut self.first_torn, &o.first_torn);
        earliest(&mut self.first_stale, &o.first_stale);
        earliest(&mut self.first_deadlock, &o.first_deadlock);
        self.runs_observed += o.runs_observed;
        earliest(&mut self.first_observed, &o.first_observed);
    }

    /// Runs with a torn read per million runs, with a 95% Wilson interval.
    pub fn torn_per_million(&self) -> (f64, f64, f64) {
        let (lo, hi) = wilson(self.runs_with_torn, self.runs);
        let p = if self.runs == 0 {
            0.0
        } else {
            self.runs_with_torn as f64 / self.runs as f64
        };
        (p * 1e6, lo * 1e6, hi * 1e6)
    }

    /// Whether any run showed a hazard.
    pub fn any_hazard(&self) -> bool {
        self.runs_with_torn + self.runs_with_stale + self.deadlocks + self.runs_observed > 0
    }
}

/// Rates from fewer events than this are shown as rough (`~`, by the CLI and the page),
/// beside their interval: one or two events say little about a rate.
pub const FEW_EVENTS: u64 = 10;

/// The 95% Wilson score interval for `k` successes in `n` trials.
pub fn wilson(k: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let z = 1.959_963_984_540_054_f64;
    let n = n as f64;
    let p = k as f64 / n;
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = z * ((p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt()) / denom;
    // At k = 0 (or n) the bound is exactly 0 (or 1); rounding would leave 1e-19.
    let lo = if k == 0 {
        0.0
    } else {
        (centre - half).max(0.0)
    };
    let hi = if k as f64 == n {
        1.0
    } else {
        (centre + half).min(1.0)
    };
    (lo, hi)
}

/// A batch of runs that can be advanced in chunks.
#[derive(Clone, Debug)]
pub struct Batch {
    config: Config,
    spec: SchedulerSpec,
    seed: u64,
    next_run: u64,
    machine: Machine,
    sched: AnyScheduler,
    stats: Stats,
}

impl Batch {
    /// A batch whose run `i` uses seed `run_seed(seed, i)`.
    pub fn new(config: &Config, spec: SchedulerSpec, seed: u64) -> Result<Batch, ConfigError> {
        spec.validate()?;
        Ok(Batch {
            config: config.clone(),
            spec,
            seed,
            next_run: 0,
            machine: Machine::new(config, true)?,
            sched: AnyScheduler::new(spec),
            stats: Stats::default(),
        })
    }

    /// Starts at run index `first` instead of 0 (for shards).
    pub fn starting_at(mut self, first: u64) -> Batch {
        self.next_run = first;
        self
    }

    pub fn config(&self) -> &Config {
        &self.config
    }
    pub fn stats(&self) -> &Stats {
        &self.stats
    }
    /// The index of the next run.
    pub fn next_run(&self) -> u64 {
        self.next_run
    }

    /// Runs the next `runs` runs and returns their statistics alone (they are also added
    /// to [`Batch::stats`]). A hazard's schedule is recorded only for the batch's first
    /// hazard of each kind, so later chunks carry none.
    pub fn run(&mut self, runs: u64) -> Stats {
        let mut chunk = Stats::default();
        let recorded = Recorded {
            torn: self.stats.first_torn.is_some(),
            stale: self.stats.first_stale.is_some(),
            deadlock: self.stats.first_deadlock.is_some(),
            observed: self.stats.first_observed.is_some(),
        };
        let (cfg, spec, seed, first) = (&self.config, self.spec, self.seed, self.next_run);
        // Dispatch once per chunk so the step loop is monomorphic.
        match &mut self.sched {
            AnyScheduler::Random(s) => run_chunk(
                cfg,
                spec,
                seed,
                first,
                runs,
                &mut self.machine,
                s,
                recorded,
                &mut chunk,
            ),
            AnyScheduler::Pct(s) => run_chunk(
                cfg,
                spec,
                seed,
                first,
                runs,
                &mut self.machine,
                s,
                recorded,
                &mut chunk,
            ),
        }
        self.next_run += runs;
        self.stats.merge(&chunk);
        chunk
    }

    /// The schedule of run `index` of this batch.
    pub fn schedule_of(&self, index: u64) -> Schedule {
        record_run(&self.config, self.spec, run_seed(self.seed, index)).0
    }
}

/// Runs one run from scratch with a recorder: its schedule and summary.
pub fn record_run(config: &Config, spec: SchedulerSpec, seed: u64) -> (Schedule, RunSummary) {
    let mut m = Machine::new(config, true).expect("validated by the caller");
    let mut sched = AnyScheduler::new(spec);
    let mut rec = ChoiceRecorder::default();
    let table = table_for(config, seed);
    let summary = run_once(&mut m, &mut sched, seed, table, &mut rec);
    (
        Schedule {
            config: config.clone(),
            new_table: table,
            choices: rec.0,
        },
        summary,
    )
}

/// Which hazards a batch already holds a schedule for.
#[derive(Clone, Copy)]
struct Recorded {
    torn: bool,
    stale: bool,
    deadlock: bool,
    observed: bool,
}

#[allow(clippy::too_many_arguments)]
fn run_chunk<S: Scheduler>(
    config: &Config,
    spec: SchedulerSpec,
    seed: u64,
    first: u64,
    runs: u64,
    m: &mut Machine,
    sched: &mut S,
    recorded: Recorded,
    st: &mut Stats,
) {
    let random_alloc = config.alloc == Alloc::Random;
    let fixed_table = m.new_table();
    for index in first..first + runs {
        let rs = run_seed(seed, index);
        let table = if random_alloc {
            table_for(config, rs)
        } else {
            fixed_table
        };
        let r = run_once(m, sched, rs, table, &mut ());
        st.runs += 1;
        st.steps += r.steps;
        st.torn_reads += r.torn_reads as u64;
        st.runs_with_torn += (r.torn_reads > 0) as u64;
        st.stale_uses += r.stale_uses as u64;
        st.runs_with_stale += (r.stale_uses > 0) as u64;
        st.retries += r.retries as u64;
        st.reads += r.reads as u64;
        st.ipis_sent += r.ipis_sent as u64;
        st.ptl_held_steps += r.ptl_held_steps;
        let note = |slot: &mut Option<HazardRecord>, done: bool, at: Option<(u64, u8)>| {
            if let (None, false, Some((step, cpu))) = (&slot, done, at) {
                let schedule = record_run(config, spec, rs).0.encode();
                *slot = Some(HazardRecord {
                    run: index,
                    step,
                    cpu,
                    schedule,
                });
            }
        };
        note(
            &mut st.first_torn,
            recorded.torn,
            r.first_torn.map(|h| (h.step, h.cpu)),
        );
        note(
            &mut st.first_stale,
            recorded.stale,
            r.first_stale.map(|h| (h.step, h.cpu)),
        );
        match r.end {
            Some(RunEnd::Deadlock) => {
                st.deadlocks += 1;
                note(
                    &mut st.first_deadlock,
                    recorded.deadlock,
                    Some((r.steps, NO_CPU)),
                );
            }
            Some(RunEnd::StepLimit) => st.step_limit_runs += 1,
            _ => {}
        }
        if r.observed {
            st.runs_observed += 1;
            note(
                &mut st.first_observed,
                recorded.observed,
                Some((r.steps, NO_CPU)),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets::preset;

    #[test]
    fn wilson_interval_brackets_the_estimate() {
        let (lo, hi) = wilson(5, 100);
        assert!(lo < 0.05 && 0.05 < hi);
        assert!(
            (lo - 0.0215).abs() < 1e-3 && (hi - 0.1118).abs() < 1e-3,
            "{lo} {hi}"
        );
        assert_eq!(wilson(0, 0), (0.0, 1.0));
        let (lo, _) = wilson(0, 1000);
        assert_eq!(lo, 0.0);
    }

    #[test]
    fn chunks_add_up_to_one_batch() {
        let cfg = preset("seed-thread-v1").unwrap().config;
        let mut whole = Batch::new(&cfg, SchedulerSpec::Random, 3).unwrap();
        whole.run(3000);
        let mut parts = Batch::new(&cfg, SchedulerSpec::Random, 3).unwrap();
        parts.run(1000);
        parts.run(1500);
        parts.run(500);
        assert_eq!(whole.stats(), parts.stats());
        let mut shard = Batch::new(&cfg, SchedulerSpec::Random, 3)
            .unwrap()
            .starting_at(1000);
        let mut head = Batch::new(&cfg, SchedulerSpec::Random, 3).unwrap();
        head.run(1000);
        shard.run(2000);
        let mut merged = head.stats().clone();
        merged.merge(shard.stats());
        assert_eq!(&merged, whole.stats());
    }

    /// Random and PCT runs of every built-in scenario (the presets among them) end,
    /// finished or (the scenario written to deadlock) deadlocked, on the path their
    /// machine takes.
    #[test]
    fn every_scenario_runs_to_its_end() {
        for (name, src) in crate::program::BUILTIN {
            let (_, cfg) = crate::program::load(src).unwrap();
            for spec in [SchedulerSpec::Random, SchedulerSpec::Pct { depth: 3 }] {
                let s = Batch::new(&cfg, spec, 1).unwrap().run(500);
                assert_eq!(s.step_limit_runs, 0, "{name} {spec:?}");
                assert!(s.reads > 0 || s.deadlocks > 0, "{name} {spec:?}: no read");
                if name.contains("deadlock") {
                    assert!(s.deadlocks > 0, "{name} {spec:?}");
                } else {
                    assert_eq!(s.deadlocks, 0, "{name} {spec:?}");
                }
            }
        }
    }
}
