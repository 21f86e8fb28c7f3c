//! Rare-event rates in the timed model: the chance that a collapse is hit by a torn read
//! (or a stale use), with a 95% confidence interval, down to rates that brute force
//! cannot reach in any budget.
//!
//! # What the rate is
//!
//! One timed run ([`crate::timed`]) is one collapse with its readers and page fault. The
//! rate is the probability that the run contains at least one torn read (or stale use)
//! under the given [`Latencies`]. Two torn reads in one collapse need two independent
//! stalls, so at the rates that matter this equals torn reads per collapse to within
//! the rate squared. It is a rate *under these latencies*: the stall chance
//! (`preempt_chance`) dominates it (see the sensitivity table in the README).
//!
//! # Why importance sampling, and which
//!
//! In the timed model a torn read needs one rare draw at the right moment: khugepaged's
//! clear lands between a reader's `pmd_low` and `pmd_high` loads (a window one load
//! long), and that reader is then stalled (a vCPU preemption, an NMI) before its
//! `pmd_low` re-check until the fault has re-populated the PMD. Everything else in the
//! run is ordinary. So the natural estimator draws the stalls that matter more often
//! and weights each run by its likelihood ratio. Importance splitting was the
//! alternative: it needs a level function that measures progress toward a torn read,
//! which is easy to write for the built-in programs and hard to write for an arbitrary
//! scenario file; importance sampling of the stall draws needs nothing from the
//! program, and is unbiased for any proposal.
//!
//! The proposal gives each *stall class* its own stall chance `q`. A class is a group of
//! CPUs (khugepaged, the fault, the readers, any other), the writers' phase (khugepaged's
//! pc and the PMD's write count) and the kind of step the CPU just took: "a reader right
//! after its `pmd_high` load, while the PMD is cleared" is one class. The chances are
//! tuned by the cross-entropy method (Rubinstein and Kroese, *The Cross-Entropy Method*,
//! 2004): pilot batches under the current `q`, then for every class the
//! likelihood-weighted share of its draws that stalled in the runs that hit the event.
//! Classes whose stalls never help fall back to the nominal chance, so they add no
//! variance. The first pilot starts every class at 5% (doubling while a pilot sees too
//! few hits); [`PILOT_ROUNDS`] rounds follow. Pilot runs and main runs use disjoint seed
//! streams, and the estimate uses only the main runs, so it is unbiased whatever the
//! pilots found.
//!
//! One main run in [`DEFENSIVE`] draws its stalls nominally (a defensive mixture,
//! Hesterberg 1995), and every hit is weighted by the balance heuristic over the two
//! (nominal over the mixture's density), so no weight exceeds [`DEFENSIVE`]: a path the
//! proposal under-samples cannot make the variance explode.
//!
//! # Intervals and stopping
//!
//! Brute force reports the Wilson interval of hits over runs. Importance sampling
//! reports the normal interval of the weighted mean (`mean ± 1.96·s/√n`). Both run in
//! chunks of [`CHUNK`] runs until the interval's half-width is at most `rel_error` of
//! the estimate (with at least [`MIN_HITS`] hits, so that a lucky start does not stop
//! it) or the run budget is spent; chunk boundaries are fixed, so a seed gives the same
//! answer on every machine.
//!
//! # Exact zeros
//!
//! Before sampling, the configuration goes to the exhaustive checker (with a small
//! state budget). If it proves the configuration safe, no interleaving of the timed
//! model can hit the event either (a timed run is one of the checker's interleavings),
//! and the rate is reported as exactly 0 with that reason rather than as a tiny number.

use crate::check::{check, CheckOptions, Verdict};
use crate::config::{Config, ConfigError};
use crate::machine::{Machine, COLLAPSER, POPULATOR};
use crate::run::wilson;
use crate::sched::run_seed;
use crate::timed::{timed_run_at, Latencies, Stalls, TimedRun, STALL_KINDS, STALL_PHASES};
use serde::{Deserialize, Serialize};

/// Runs between two stopping checks.
pub const CHUNK: u64 = 10_000;
/// Hits needed before the relative-error target may stop a run.
pub const MIN_HITS: u64 = 30;
/// Runs per pilot batch of the cross-entropy tuning.
pub const PILOT_RUNS: u64 = 20_000;
/// Cross-entropy rounds.
pub const PILOT_ROUNDS: u32 = 5;
/// One main run in this many draws its stalls nominally (a defensive mixture).
pub const DEFENSIVE: u64 = 10;
/// States the checker may store when looking for an exact zero.
pub const EXACT_ZERO_STATES: u64 = 2_000_000;

const Z95: f64 = 1.959_963_984_540_054;

/// The hazard whose rate is estimated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Event {
    Torn,
    Stale,
}

impl Event {
    pub fn name(self) -> &'static str {
        match self {
            Event::Torn => "torn",
            Event::Stale => "stale",
        }
    }
    pub fn parse(s: &str) -> Result<Event, String> {
        match s {
            "torn" => Ok(Event::Torn),
            "stale" => Ok(Event::Stale),
            _ => Err(format!("unknown event '{s}' (known: torn, stale)")),
        }
    }
    fn hit(self, r: &TimedRun) -> bool {
        match self {
            Event::Torn => r.torn_reads > 0,
            Event::Stale => r.stale_uses > 0,
        }
    }
}

/// How the rate is estimated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Plain timed runs, counting hits.
    Brute,
    /// Importance sampling of the stall draws (see the module docs).
    Importance,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Brute => "brute",
            Method::Importance => "importance",
        }
    }
    pub fn parse(s: &str) -> Result<Method, String> {
        match s {
            "brute" => Ok(Method::Brute),
            "importance" | "is" => Ok(Method::Importance),
            _ => Err(format!(
                "unknown estimator '{s}' (known: importance, brute)"
            )),
        }
    }
}

/// What to estimate and when to stop.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EstimateSpec {
    pub method: Method,
    pub event: Event,
    /// Stop once the 95% interval's half-width is at most this share of the estimate.
    pub rel_error: f64,
    /// Stop after this many runs (pilots included) whatever the error.
    pub max_runs: u64,
}

impl Default for EstimateSpec {
    fn default() -> Self {
        EstimateSpec {
            method: Method::Importance,
            event: Event::Torn,
            rel_error: 0.1,
            max_runs: 10_000_000,
        }
    }
}

impl EstimateSpec {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(self.rel_error > 0.0 && self.rel_error <= 1.0) {
            return Err(ConfigError::new(
                "rel_error",
                format!("{} is not in (0, 1]", self.rel_error),
            ));
        }
        if self.max_runs == 0 {
            return Err(ConfigError::new("max_runs", "must be at least 1"));
        }
        Ok(())
    }
}

/// Why the estimate stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stop {
    /// The relative error reached its target.
    Target,
    /// The run budget ran out first.
    Budget,
    /// The checker proved the rate is zero.
    Proof,
}

/// A rate with its 95% interval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RateEstimate {
    pub method: Method,
    pub event: Event,
    /// Probability that a collapse is hit.
    pub rate: f64,
    pub lo: f64,
    /// `None` when the interval has no upper bound (importance sampling without a hit).
    pub hi: Option<f64>,
    /// Half-width over the estimate; `None` when the estimate is 0.
    pub rel_error: Option<f64>,
    /// Runs that hit the event (main runs only).
    pub hits: u64,
    /// Main runs, whose results make the estimate.
    pub runs: u64,
    /// Runs spent tuning the proposal.
    pub pilot_runs: u64,
    pub stop: Stop,
    /// For an exact zero: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl RateEstimate {
    /// Every run the estimate cost.
    pub fn samples(&self) -> u64 {
        self.runs + self.pilot_runs
    }

    /// Whether two estimates' intervals share a point.
    pub fn overlaps(&self, o: &RateEstimate) -> bool {
        let hi = |e: &RateEstimate| e.hi.unwrap_or(f64::INFINITY);
        self.lo <= hi(o) && o.lo <= hi(self)
    }
}

/// Why an estimate cannot run.
pub type EstimateError = ConfigError;

/// Estimates the rate of `spec.event` per collapse for `cfg` under `lat`, from `seed`.
pub fn estimate(
    cfg: &Config,
    lat: &Latencies,
    spec: &EstimateSpec,
    seed: u64,
) -> Result<RateEstimate, EstimateError> {
    spec.validate()?;
    lat.validate()?;
    crate::timed::timed_memory(cfg)?;
    let mut m = Machine::new(cfg, true)?;
    if let Some(reason) = exact_zero(cfg) {
        return Ok(RateEstimate {
            method: spec.method,
            event: spec.event,
            rate: 0.0,
            lo: 0.0,
            hi: Some(0.0),
            rel_error: None,
            hits: 0,
            runs: 0,
            pilot_runs: 0,
            stop: Stop::Proof,
            reason: Some(reason),
        });
    }
    Ok(match spec.method {
        Method::Brute => brute(&mut m, lat, spec, seed),
        Method::Importance => importance(&mut m, lat, spec, seed),
    })
}

/// The checker's proof that no interleaving hits any hazard, if it finds one within
/// its budget.
pub fn exact_zero(cfg: &Config) -> Option<String> {
    let opts = CheckOptions {
        max_states: EXACT_ZERO_STATES,
        ..CheckOptions::default()
    };
    match check(cfg, opts) {
        Ok(r) if r.verdict == Verdict::Safe => Some(format!(
            "safe: the exhaustive checker found no torn read or stale use in {} states",
            r.states
        )),
        _ => None,
    }
}

/// What the main runs add up to: runs, hits, and the hits' weights and squared weights.
#[derive(Clone, Copy, Debug, Default)]
struct Tally {
    runs: u64,
    hits: u64,
    s1: f64,
    s2: f64,
}

impl Tally {
    /// The weighted mean, its 95% interval and the interval's half-width (Wilson when
    /// every weight is 1, as in brute force; else the normal interval of the mean, whose
    /// low end is cut at 0 but whose half-width is not).
    fn interval(&self, weighted: bool) -> (f64, f64, f64, f64) {
        let n = self.runs as f64;
        if !weighted {
            let (lo, hi) = wilson(self.hits, self.runs);
            return (self.hits as f64 / n, lo, hi, (hi - lo) / 2.0);
        }
        let mean = self.s1 / n;
        let var = if self.runs > 1 {
            ((self.s2 - n * mean * mean) / (n - 1.0)).max(0.0)
        } else {
            0.0
        };
        let half = Z95 * (var / n).sqrt();
        (mean, (mean - half).max(0.0), mean + half, half)
    }
}

/// The main runs: run `i` from `run_seed(seeds, i)`, in chunks of [`CHUNK`], until the
/// target relative error (with [`MIN_HITS`] hits) or `max` runs. `weigh` gives a hit
/// run's weight from its stalls (and may set them up for run `i` first, through
/// `before`).
#[allow(clippy::too_many_arguments)]
fn sample(
    m: &mut Machine,
    lat: &Latencies,
    spec: &EstimateSpec,
    stalls: &mut Stalls,
    seeds: u64,
    max: u64,
    before: impl Fn(u64, &mut Stalls),
    weigh: impl Fn(&Stalls) -> f64,
) -> (Tally, Stop) {
    let weighted = stalls.is_biased();
    let mut t = Tally::default();
    let stop = loop {
        let n = CHUNK.min(max - t.runs);
        for i in t.runs..t.runs + n {
            before(i, stalls);
            let r = timed_run_at(m, lat, seeds, i, stalls);
            if spec.event.hit(&r) {
                let w = weigh(stalls);
                t.hits += 1;
                t.s1 += w;
                t.s2 += w * w;
            }
        }
        t.runs += n;
        let (rate, _, _, half) = t.interval(weighted);
        if t.hits >= MIN_HITS && half <= spec.rel_error * rate {
            break Stop::Target;
        }
        if t.runs >= max {
            break Stop::Budget;
        }
    };
    (t, stop)
}

/// The estimate a tally makes.
fn finish(
    spec: &EstimateSpec,
    method: Method,
    t: Tally,
    weighted: bool,
    pilot_runs: u64,
    stop: Stop,
) -> RateEstimate {
    let (rate, lo, hi, half) = t.interval(weighted);
    // Weighted, no hit gives no upper bound; Wilson's bound holds at 0 hits too.
    let hi = (t.hits > 0 || !weighted).then_some(hi);
    RateEstimate {
        method,
        event: spec.event,
        rate,
        lo,
        hi,
        rel_error: (t.hits > 0).then(|| half / rate),
        hits: t.hits,
        runs: t.runs,
        pilot_runs,
        stop,
        reason: None,
    }
}

fn brute(m: &mut Machine, lat: &Latencies, spec: &EstimateSpec, seed: u64) -> RateEstimate {
    let mut stalls = Stalls::nominal(lat.preempt_chance);
    let (t, stop) = sample(
        m,
        lat,
        spec,
        &mut stalls,
        seed,
        spec.max_runs,
        |_, _| {},
        |_| 1.0,
    );
    finish(spec, Method::Brute, t, false, 0, stop)
}

/// Stall groups: khugepaged, the page fault, the readers (which all run one program),
/// and any other CPU.
const GROUPS: usize = 4;

fn groups(m: &Machine) -> Vec<u8> {
    (0..m.cpus())
        .map(|c| match c {
            COLLAPSER => 0,
            POPULATOR => 1,
            _ if m.reader_mask() >> c & 1 == 1 => 2,
            _ => 3,
        })
        .collect()
}

/// Seeds of pilot round `k` and of the main runs: disjoint streams derived from the
/// estimate's seed.
fn stream(seed: u64, k: u64) -> u64 {
    run_seed(seed ^ 0x005e_ed0f_1a7e_u64.rotate_left(k as u32 * 8), k)
}

/// The cross-entropy tuning: per-class stall chances for the main runs, and the pilot
/// runs it spent.
pub fn tune(m: &mut Machine, lat: &Latencies, spec: &EstimateSpec, seed: u64) -> (Vec<f64>, u64) {
    let p = lat.preempt_chance;
    let group = groups(m);
    let classes = GROUPS * STALL_PHASES * STALL_KINDS;
    let mut start = 0.05f64;
    let mut q = vec![start.max(p); classes];
    let mut spent = 0u64;
    let mut round = 0u32;
    let mut attempt = 0u64;
    while round < PILOT_ROUNDS {
        let budget = spec.max_runs.saturating_sub(spent) / 2;
        let n = PILOT_RUNS.min(budget);
        if n == 0 {
            break;
        }
        let (mut num, mut den) = (vec![0.0f64; classes], vec![0.0f64; classes]);
        let mut hits = 0u64;
        let mut stalls = Stalls::biased(p, &q, &group, true);
        let seeds = stream(seed, 1 + attempt);
        attempt += 1;
        for i in 0..n {
            let r = timed_run_at(m, lat, seeds, i, &mut stalls);
            if !spec.event.hit(&r) {
                continue;
            }
            hits += 1;
            let w = stalls.weight;
            for &(c, stalled) in stalls.draws.as_deref().unwrap_or(&[]) {
                den[c as usize] += w;
                if stalled {
                    num[c as usize] += w;
                }
            }
        }
        spent += n;
        if hits < 10 {
            // Too few hits to learn from: stall more everywhere and start over.
            if start >= 0.4 || round > 0 {
                break;
            }
            start *= 2.0;
            q.iter_mut().for_each(|x| *x = start.max(p));
            continue;
        }
        // Smoothed update (Rubinstein and Kroese's α = 0.7), kept inside [p, 0.5]: a
        // class no hit drew falls back to the nominal chance at once.
        for c in 0..classes {
            q[c] = if den[c] > 0.0 {
                (0.7 * num[c] / den[c] + 0.3 * q[c]).clamp(p, 0.5)
            } else {
                p
            };
        }
        round += 1;
    }
    (q, spent)
}

fn importance(m: &mut Machine, lat: &Latencies, spec: &EstimateSpec, seed: u64) -> RateEstimate {
    let p = lat.preempt_chance;
    let (q, pilot_runs) = if p > 0.0 {
        tune(m, lat, spec, seed)
    } else {
        (Vec::new(), 0)
    };
    let group = groups(m);
    let mut stalls = if p > 0.0 {
        Stalls::biased(p, &q, &group, false)
    } else {
        Stalls::nominal(0.0)
    };
    let weighted = stalls.is_biased();
    let max = spec.max_runs.saturating_sub(pilot_runs).max(1);
    let beta = 1.0 / DEFENSIVE as f64;
    let (t, stop) = sample(
        m,
        lat,
        spec,
        &mut stalls,
        stream(seed, 0),
        max,
        |i, st| st.sample_nominal = i % DEFENSIVE == 0,
        // The balance heuristic over the mixture: nominal / (β·nominal + (1-β)·biased),
        // never above 1/β.
        |st| {
            if weighted {
                1.0 / (beta + (1.0 - beta) / st.weight)
            } else {
                1.0
            }
        },
    );
    finish(spec, Method::Importance, t, weighted, pilot_runs, stop)
}
