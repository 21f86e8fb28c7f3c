//! PCT (Probabilistic Concurrency Testing) on the general machine: the classic
//! scheduler's algorithm (`crate::sched::PctScheduler`) over the general machine's
//! threads. Each CPU is three threads (its program, its IPI handler, its store buffer
//! under TSO) with distinct random priorities; the highest enabled one runs; `depth - 1`
//! change points, drawn over an estimate of a run's length, each demote the thread
//! running then. Walkers loop forever, so a step that goes back in its block (a walker
//! starting its next iteration, a retry) yields: it drops below every thread, so the
//! others get to run.

use super::ir::GProgram;
use super::machine::GChoice;
use crate::sched::Rng;

/// Initial priorities sit above it, change points just below, yields below both.
const BASE: u64 = 1 << 40;

#[derive(Clone, Debug)]
pub struct GPct {
    depth: u32,
    rng: Rng,
    prio: Vec<u64>,
    change_points: Vec<u64>,
    next_cp: usize,
    yield_prio: u64,
}

fn thread(ch: GChoice) -> usize {
    ch.cpu as usize * 3 + ch.ack as usize + 2 * ch.drain as usize
}

impl GPct {
    pub fn new(depth: u32) -> GPct {
        GPct {
            depth: depth.max(1),
            rng: Rng::new(0),
            prio: Vec::new(),
            change_points: Vec::new(),
            next_cp: 0,
            yield_prio: BASE / 2,
        }
    }

    /// The steps change points are drawn from: every block's code once, a few loops of
    /// each walker, and an answer per CPU.
    pub fn horizon(p: &GProgram) -> u64 {
        let code: u64 = (0..p.cpus as usize)
            .filter_map(|c| p.block_of[c])
            .map(|b| {
                let (_, from, to, _) = &p.blocks[b as usize];
                (to - from) as u64
            })
            .sum();
        code + 4 * p.walkers.count_ones() as u64 + 2 * p.cpus as u64 + 1
    }

    /// Before each run, with the run's seed.
    pub fn start(&mut self, seed: u64, p: &GProgram) {
        self.rng = Rng::new(seed);
        let n = 3 * p.cpus as usize;
        // Only their order matters: distinct, and above every change point's priority
        // (BASE - 1 down) and every yield's (BASE / 2 down).
        let spread = |k: usize| (n + k) as u64;
        self.prio = (0..n).map(|k| BASE + spread(k)).collect();
        for i in (1..n).rev() {
            let j = self.rng.below(i as u32 + 1) as usize;
            self.prio.swap(i, j);
        }
        let horizon = Self::horizon(p);
        self.change_points = (1..self.depth)
            .map(|_| self.rng.next_u64() % horizon + 1)
            .collect();
        self.change_points.sort_unstable();
        self.next_cp = 0;
        self.yield_prio = BASE / 2;
    }

    /// The steps at which this run's change points fall (drawn by [`GPct::start`]).
    #[cfg(test)]
    pub(super) fn change_points(&self) -> &[u64] {
        &self.change_points
    }

    fn best(&self, en: &[GChoice]) -> GChoice {
        *en.iter()
            .max_by_key(|&&ch| self.prio[thread(ch)])
            .expect("a choice")
    }

    /// One of `en` (never empty) at step `step` of the run.
    pub fn pick(&mut self, en: &[GChoice], step: u64) -> GChoice {
        while self.next_cp < self.change_points.len() && self.change_points[self.next_cp] <= step {
            let b = self.best(en);
            self.prio[thread(b)] = BASE - 1 - self.next_cp as u64;
            self.next_cp += 1;
        }
        self.best(en)
    }

    /// Told that `ch` moved its CPU from `from` to `to`: a step back yields.
    pub fn done(&mut self, ch: GChoice, from: u16, to: u16) {
        if !ch.ack && !ch.drain && to <= from {
            self.prio[thread(ch)] = self.yield_prio;
            self.yield_prio -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::general::tests::prog;

    fn one_cpu() -> std::sync::Arc<GProgram> {
        prog("{ mode = native-64; } P0(madvise) { WRITE_ONCE(x, 1); }")
    }

    /// The initial priorities are a uniform shuffle: over a few hundred seeds, each of
    /// a CPU's three threads' six orders comes first about as often.
    #[test]
    fn the_initial_priorities_take_every_order() {
        let p = one_cpu();
        let mut count = std::collections::HashMap::new();
        let mut pct = GPct::new(1);
        for seed in 0..600 {
            pct.start(seed, &p);
            let mut order = [0usize, 1, 2];
            order.sort_by_key(|&t| pct.prio[t]);
            *count.entry(order).or_insert(0) += 1;
        }
        assert_eq!(count.len(), 6, "{count:?}");
        assert!(count.values().all(|&c| (60..140).contains(&c)), "{count:?}");
    }

    /// Each yield drops below every earlier one, however many a run has: the thread
    /// that stepped back last runs last.
    #[test]
    fn each_yield_goes_below_the_last() {
        let p = one_cpu();
        let mut pct = GPct::new(1);
        pct.start(7, &p);
        let mut last = BASE;
        for i in 0..100 {
            let ch = GChoice::step(0);
            pct.done(ch, 5, 5 - (i % 2));
            let now = pct.prio[thread(ch)];
            assert!(now < last, "yield {i}: {now} after {last}");
            last = now;
        }
    }

    /// The horizon counts each CPU's block (a walker's once per walker), four loops'
    /// worth per walker, two answers per CPU and one: change points for a seed fall
    /// where they did.
    #[test]
    fn the_horizon_counts_each_cpu_s_code_its_walkers_and_answers() {
        let p = prog(
            "{ mode = native-64; readers = 2; pmd pmd = table(t0); }
             P0(khugepaged) { x = pmdp_collapse_flush(pmd); WRITE_ONCE(y, 1); }
             P1(gup_fast) { local_irq_save(); v = pmdp_get_lockless(pmd); local_irq_restore(); }",
        );
        let lens: Vec<u16> = p.blocks.iter().map(|b| b.2 - b.1).collect();
        assert_eq!(
            lens,
            [3, 3],
            "P0 clears, flushes, stores; a walker saves, loads, restores"
        );
        // Three CPUs' code (3 + 3 + 3), two walkers (4 × 2), three CPUs (2 × 3), one.
        assert_eq!(GPct::horizon(&p), 9 + 8 + 6 + 1);
    }

    /// Each CPU's program, IPI handler and store buffer are three threads with a
    /// priority each: the choices of `n` CPUs name the `3n` priorities one to one.
    #[test]
    fn every_cpu_is_three_threads_of_its_own() {
        for n in 1..=crate::general::ir::MAX_CPUS as u8 {
            let mut seen = vec![false; 3 * n as usize];
            for cpu in 0..n {
                for ch in [GChoice::step(cpu), GChoice::ack(cpu), GChoice::drain(cpu)] {
                    let t = thread(ch);
                    assert!(t < seen.len() && !seen[t], "{n} CPUs: {ch:?} is thread {t}");
                    seen[t] = true;
                }
            }
        }
    }
}
