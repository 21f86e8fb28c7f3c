//! Schedulers: which enabled choice runs next.
//!
//! A run is a pure function of (configuration, scheduler, seed). Batches derive each run's
//! seed from the batch seed and the run's index ([`run_seed`]), so a batch split into
//! chunks, shards or worker messages gives the same runs in any split.

use crate::machine::{flag, Choice, Effect, Enabled, Machine};
use serde::{Deserialize, Serialize};

/// SplitMix64's finaliser: a good 64-bit mixer.
#[inline]
pub fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The seed of run `index` of a batch seeded with `seed`.
#[inline]
pub fn run_seed(seed: u64, index: u64) -> u64 {
    splitmix64(seed ^ splitmix64(index))
}

/// The random stream a run under `alloc = random` draws its new table's frame from:
/// apart from the scheduler's, so that the frame and the schedule are independent draws
/// (and a file's runs are the same runs on both machines).
#[inline]
pub fn frame_rng(run_seed: u64) -> Rng {
    Rng::new(run_seed ^ 0x7ab1_e5ee_d000_0000)
}

/// wyrand: small, fast, and identical on every platform (wasm included).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(splitmix64(seed))
    }
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0xa076_1d64_78bd_642f);
        let t = (self.0 as u128).wrapping_mul((self.0 ^ 0xe703_7ed1_a0b4_28db) as u128);
        (t >> 64) as u64 ^ t as u64
    }
    /// Uniform in `0..n` (Lemire's multiply-shift; the bias is below 2^-32 for our `n`).
    #[inline]
    pub fn below(&mut self, n: u32) -> u32 {
        (((self.next_u64() >> 32) * n as u64) >> 32) as u32
    }
    /// Uniform in `[0, 1)`.
    #[inline]
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// Picks which enabled choice runs next.
pub trait Scheduler {
    /// Called before each run with that run's seed.
    fn start(&mut self, seed: u64, m: &Machine);
    /// Picks one of `en`, which is never empty. `step` counts steps taken in this run.
    fn pick(&mut self, m: &Machine, en: Enabled, step: u64) -> Choice;
    /// Told what the picked choice did.
    fn done(&mut self, _ch: Choice, _e: &Effect) {}
}

/// Which scheduler to use, as a value that serialises.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SchedulerSpec {
    /// Every enabled choice equally likely at every step.
    #[default]
    Random,
    /// Probabilistic Concurrency Testing with `depth - 1` priority change points.
    Pct { depth: u32 },
}

/// Largest PCT depth accepted.
pub const MAX_PCT_DEPTH: u32 = 64;

impl SchedulerSpec {
    pub fn validate(&self) -> Result<(), crate::config::ConfigError> {
        match *self {
            SchedulerSpec::Pct { depth } if !(1..=MAX_PCT_DEPTH).contains(&depth) => {
                Err(crate::config::ConfigError::new(
                    "depth",
                    format!("{depth} is out of range 1..={MAX_PCT_DEPTH}"),
                ))
            }
            _ => Ok(()),
        }
    }

    pub fn name(&self) -> String {
        match self {
            SchedulerSpec::Random => "random".into(),
            SchedulerSpec::Pct { depth } => format!("pct(depth {depth})"),
        }
    }
}

/// Uniform random choice among the enabled ones.
///
/// The enabled choices of a machine of up to 32 CPUs fit one 64-bit mask (program steps,
/// then acknowledgements above them) whose set bits are nearly contiguous: readers, the
/// writers when not blocked, acknowledgements during an IPI wait. The scheduler draws a
/// bit within the span of set bits and redraws on a miss. That is uniform and, unlike a
/// bit search, rarely mispredicts a branch: the step's own dispatch already costs one
/// unpredictable branch per step, and the scheduler should not add more.
#[derive(Clone, Debug)]
pub struct RandomScheduler {
    rng: Rng,
}

impl RandomScheduler {
    pub fn new() -> Self {
        RandomScheduler { rng: Rng::new(0) }
    }
}

impl Default for RandomScheduler {
    fn default() -> Self {
        Self::new()
    }
}

impl Scheduler for RandomScheduler {
    fn start(&mut self, seed: u64, _m: &Machine) {
        self.rng = Rng::new(seed);
    }
    // Always inlined: the run loop has one instantiation per machine kind, and a call
    // per step here cost a fifth of the step rate.
    #[inline(always)]
    fn pick(&mut self, m: &Machine, en: Enabled, _step: u64) -> Choice {
        pick_uniform(&mut self.rng, m.cpus() as u32, en)
    }
}

/// A uniform pick among the open choices of a machine with `n` CPUs: a bit drawn in the
/// span of the set bits, redrawn on a miss (where a drain is open or `n` is over 32, an
/// index in [`Enabled::nth`]'s order). Both machines' random runs pick through it, so a
/// file runs the same runs on either.
#[inline(always)]
pub fn pick_uniform(rng: &mut Rng, n: u32, en: Enabled) -> Choice {
    if n > 32 || en.drain != 0 {
        return en.nth(rng.below(en.count()));
    }
    let all = en.prog | en.ack << n;
    let lo = all.trailing_zeros();
    let span = 64 - all.leading_zeros() - lo;
    loop {
        let b = lo + rng.below(span);
        if all >> b & 1 == 1 {
            let ack = b >= n;
            return Choice {
                cpu: (b - n * ack as u32) as u8,
                ack,
                drain: false,
            };
        }
    }
}

/// PCT (Burckhardt, Kothari, Musuvathi, Nagarakatte, ASPLOS 2010).
///
/// Each thread (a CPU's program, and separately its IPI handler) gets a random distinct
/// priority; the highest-priority enabled thread runs. At `depth - 1` steps drawn
/// uniformly from the first `horizon` steps, the running thread drops below every
/// initial priority. PCT assumes threads that terminate; our readers loop forever, so a
/// thread demoted by a change point would never run again behind them. A reader that
/// finishes a read or comes back to its block's first line (or a populator that must
/// retry) therefore yields: it drops below every other thread, demoted ones included,
/// so each loop iteration gives way.
#[derive(Clone, Debug)]
pub struct PctScheduler {
    depth: u32,
    rng: Rng,
    /// Indexed by [`Choice::code`]: program steps and handlers, then drains from 128.
    prio: [u64; 192],
    change_points: Vec<u64>,
    next_cp: usize,
    yield_prio: u64,
    /// The CPU whose program step ran last without yielding: if it was a reader that
    /// came back to its block's first line, it finished an iteration and yields too.
    ran: Option<u8>,
}

/// Initial priorities sit above `PCT_BASE`, change-point priorities just below it, and
/// yields go below both, counting down from `PCT_BASE / 2`.
const PCT_BASE: u64 = 1 << 40;

impl PctScheduler {
    pub fn new(depth: u32) -> Self {
        PctScheduler {
            depth: depth.max(1),
            rng: Rng::new(0),
            prio: [0; 192],
            change_points: Vec::with_capacity(depth as usize),
            next_cp: 0,
            yield_prio: PCT_BASE / 2,
            ran: None,
        }
    }

    /// Drops `ch` below every thread, demoted ones included (see the type's docs).
    fn demote(&mut self, ch: Choice) {
        self.prio[ch.code() as usize] = self.yield_prio;
        self.yield_prio -= 1;
    }

    /// The number of steps change points are drawn from: an estimate of a run's length.
    pub fn horizon(m: &Machine) -> u64 {
        // Collapser and populator take about a dozen steps; each reader loops six steps
        // per read; each IPI costs an acknowledgement. Measured mean run lengths under
        // the random scheduler sit between 1x and 2x this.
        let c = m.config();
        16 + 8 * c.readers as u64 + 2 * c.cpu_count() as u64
    }

    #[inline]
    fn best(&self, en: Enabled) -> Choice {
        let mut best = en.nth(0);
        let mut best_p = 0;
        for ch in en.iter() {
            let p = self.prio[ch.code() as usize];
            if p > best_p {
                best_p = p;
                best = ch;
            }
        }
        best
    }
}

impl Scheduler for PctScheduler {
    fn start(&mut self, seed: u64, m: &Machine) {
        self.rng = Rng::new(seed);
        let threads = 2 * m.cpus() as usize;
        // A random permutation of distinct priorities above PCT_BASE (Fisher-Yates, in
        // place: no allocation per run).
        let prio = &mut self.prio[..threads];
        for (t, p) in prio.iter_mut().enumerate() {
            *p = PCT_BASE + (threads + t) as u64;
        }
        for i in (1..threads).rev() {
            let j = self.rng.below(i as u32 + 1) as usize;
            prio.swap(i, j);
        }
        if m.is_tso() {
            // Under TSO each store buffer is a thread too: one permutation over the
            // program, handler and buffer threads together (SC runs draw as before).
            let n = m.cpus() as usize;
            let mut vals: Vec<u64> = (0..3 * n).map(|k| PCT_BASE + (3 * n + k) as u64).collect();
            for i in (1..3 * n).rev() {
                let j = self.rng.below(i as u32 + 1) as usize;
                vals.swap(i, j);
            }
            self.prio[..2 * n].copy_from_slice(&vals[..2 * n]);
            self.prio[128..128 + n].copy_from_slice(&vals[2 * n..]);
        }
        let horizon = Self::horizon(m);
        self.change_points.clear();
        for _ in 1..self.depth {
            self.change_points.push((self.rng.next_u64() % horizon) + 1);
        }
        self.change_points.sort_unstable();
        self.next_cp = 0;
        self.yield_prio = PCT_BASE / 2;
        self.ran = None;
    }

    fn pick(&mut self, m: &Machine, en: Enabled, step: u64) -> Choice {
        // A reader whose block is not bracketed by local_irq_save()/local_irq_restore()
        // (one that takes the PTL, say) ends an iteration without the yield that
        // re-enabling interrupts gives; without this it could loop ahead of the writers
        // until the step limit.
        if let Some(cpu) = self.ran.take() {
            if (m.reader_mask() & !m.busy()) >> cpu & 1 == 1 {
                self.demote(Choice::prog(cpu));
            }
        }
        while self.next_cp < self.change_points.len() && self.change_points[self.next_cp] <= step {
            let b = self.best(en);
            // Later change points demote further.
            self.prio[b.code() as usize] = PCT_BASE - 1 - self.next_cp as u64;
            self.next_cp += 1;
        }
        self.best(en)
    }

    fn done(&mut self, ch: Choice, e: &Effect) {
        let yielded = e.has(flag::YIELD);
        if yielded {
            self.demote(ch);
        }
        self.ran = (!yielded && !ch.ack).then_some(ch.cpu);
    }
}

/// Either scheduler, for callers that pick one at run time.
// One lives per batch; boxing the PCT variant would add an indirection to every step.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum AnyScheduler {
    Random(RandomScheduler),
    Pct(PctScheduler),
}

impl AnyScheduler {
    pub fn new(spec: SchedulerSpec) -> Self {
        match spec {
            SchedulerSpec::Random => AnyScheduler::Random(RandomScheduler::new()),
            SchedulerSpec::Pct { depth } => AnyScheduler::Pct(PctScheduler::new(depth)),
        }
    }
}

impl Scheduler for AnyScheduler {
    fn start(&mut self, seed: u64, m: &Machine) {
        match self {
            AnyScheduler::Random(s) => s.start(seed, m),
            AnyScheduler::Pct(s) => s.start(seed, m),
        }
    }
    fn pick(&mut self, m: &Machine, en: Enabled, step: u64) -> Choice {
        match self {
            AnyScheduler::Random(s) => s.pick(m, en, step),
            AnyScheduler::Pct(s) => s.pick(m, en, step),
        }
    }
    fn done(&mut self, ch: Choice, e: &Effect) {
        match self {
            AnyScheduler::Random(s) => s.done(ch, e),
            AnyScheduler::Pct(s) => s.done(ch, e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_deterministic_and_roughly_uniform() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let mut counts = [0u32; 6];
        for _ in 0..60_000 {
            let x = a.below(6);
            assert_eq!(x, b.below(6));
            counts[x as usize] += 1;
        }
        for c in counts {
            assert!((9_000..11_000).contains(&c), "{counts:?}");
        }
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
    }

    #[test]
    fn run_seeds_differ_per_index_and_batch() {
        assert_ne!(run_seed(1, 0), run_seed(1, 1));
        assert_ne!(run_seed(1, 0), run_seed(2, 0));
        assert_eq!(run_seed(5, 9), run_seed(5, 9));
    }

    #[test]
    fn pct_depth_is_validated() {
        assert!(SchedulerSpec::Pct { depth: 0 }.validate().is_err());
        assert!(SchedulerSpec::Pct { depth: 65 }.validate().is_err());
        assert!(SchedulerSpec::Pct { depth: 3 }.validate().is_ok());
    }
}
