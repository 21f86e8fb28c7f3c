//! One breadth-first search over the packed states reachable from one initial state:
//! the arena of states with their parents and the choices that reached them, the hash
//! index, the budgets, deadlock detection, and the witness: the choices back from a
//! hazard, searched again without reductions so that it is the shortest.
//!
//! A hazard found with reductions on is searched for again with them off, up to the depth
//! it was found at, so the printed witness is the shortest over the full graph.
//!
//! With `threads` above 1, a layer is expanded in rounds: workers expand runs of its
//! states at once and `crate::bfs` stores what they found, in the order one thread
//! would have, so every answer is the one-thread answer.

use super::options::{Budget, CheckError, CheckOptions};
use super::pack::{mix, Layout};
use super::reduce::ample_en;
#[cfg(not(target_arch = "wasm32"))]
use crate::bfs::Cand;
use crate::bfs::{Index, Workers};
use crate::config::Config;
use crate::machine::{bits, flag, Choice, Hazard, Machine, State};
use crate::schedule::Schedule;

/// The options a search of `m`'s program runs with. Reader symmetry permutes readers'
/// PMD registers but not their registers for shared words, which a condition may name
/// by CPU: off for a program with shared words. The partial-order reduction is argued
/// for hazards a step raises and for deadlocks (`reduce.rs`), not for final states: off
/// for a clause with a condition over registers and words.
pub(super) fn effective_options(m: &Machine, mut opts: CheckOptions) -> CheckOptions {
    if m.program().words.is_some() {
        opts.symmetry = false;
    }
    if m.has_final_condition() {
        opts.reduce = false;
    }
    opts
}

/// A hazard found: the state it was found from, and the step that raised it (none for
/// a deadlock, which is a state).
#[derive(Clone, Copy, Debug)]
pub(super) struct Found {
    pub(super) from: u32,
    pub(super) step: Option<Choice>,
    pub(super) hazard: Hazard,
}

#[derive(Clone, Copy, Debug)]
pub(super) enum End {
    Exhausted,
    OutOf(Budget),
    Hazard(Found, u32),
}

/// One breadth-first search from one initial state.
pub(super) struct Search {
    pub(super) m: Machine,
    pub(super) layout: Layout,
    pub(super) opts: CheckOptions,
    pub(super) max_depth: u32,
    pub(super) states: Vec<u128>,
    pub(super) parent: Vec<u32>,
    pub(super) via: Vec<u8>,
    pub(super) index: Index,
    pub(super) cursor: usize,
    /// Index where the layer being expanded ends.
    pub(super) layer_end: usize,
    pub(super) depth: u32,
    pub(super) transitions: u64,
    /// What ends the search.
    pub(super) stops: Stops,
    /// The state being expanded, restored before each of its choices after the first.
    pub(super) saved: State,
    /// Workers for rounds expanded in parallel (`opts.threads` above 1).
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    pool: Workers,
}

/// A round smaller than this many states is expanded on the calling thread: handing it
/// out would cost more than it saves. The answer is the same either way.
#[cfg(not(target_arch = "wasm32"))]
const PAR_MIN: usize = if cfg!(test) { 1 } else { 1024 };

/// The most states one parallel round expands: rounds end at layer boundaries anyway,
/// and a bound keeps the candidates' buffer small.
#[cfg(not(target_arch = "wasm32"))]
const PAR_ROUND: usize = 1 << 16;

/// What ends a search.
#[derive(Clone, Copy, Debug)]
pub(super) struct Stops {
    /// Explore past hazards instead of stopping at the first (to enumerate every state).
    pub(super) keep_going: bool,
    /// The hazard flags the scenario's `exists` clause asks about (the search goes on
    /// past the others).
    stop_flags: u8,
    /// The `exists` clause has a condition on final registers and words: every
    /// expanded state is tested for it.
    observe: bool,
}

/// What expanding a state needs besides a machine: read only, shared by workers.
#[derive(Clone, Copy)]
pub(super) struct Rules<'a> {
    pub(super) layout: &'a Layout,
    pub(super) opts: &'a CheckOptions,
    pub(super) stops: Stops,
    /// The layer being expanded.
    pub(super) depth: u32,
}

/// Whether the state loaded in `m`, with enabled set `en`, is a deadlock.
#[inline(always)]
pub(super) fn deadlocked_en(m: &Machine, en: crate::machine::Enabled) -> bool {
    let st = m.state();
    // Real acknowledgements only: a kvm reader's preempt choice helps no writer.
    let acks = st.pending & !st.irq_off & !st.preempted;
    // A reader inside an iteration that can step may still release what a writer
    // waits for; one between iterations holds nothing.
    !m.writers_done()
        && en.prog & !m.reader_mask() == 0
        && acks == 0
        && st.preempted == 0
        && en.prog & m.busy() == 0
        && en.drain == 0
}

/// Expands the packed state `x` (stored at `from`, in the layer `r.depth`): calls
/// `succ` with each successor's choice and packed state, in the order of the choices,
/// until it answers false, and counts the transitions taken. Returns the hazard that
/// ends the search, if any: a deadlock or an observed final state before any
/// successor, or a step's hazard the clause asks about, after the successors of the
/// choices before it.
#[inline(always)]
pub(super) fn expand<const G: bool, const T: bool>(
    m: &mut Machine,
    saved: &mut State,
    r: Rules<'_>,
    x: u128,
    from: u32,
    transitions: &mut u64,
    mut succ: impl FnMut(Choice, u128) -> bool,
) -> Option<End> {
    let depth = r.depth;
    r.layout.unpack(x, m);
    let en = m.enabled_as::<G, T>();
    // A deadlock, or a final state the clause's condition holds in, is the state itself.
    let at_state = |hazard| {
        let step = None;
        Some(End::Hazard(Found { from, step, hazard }, depth))
    };
    if !r.stops.keep_going && deadlocked_en(m, en) {
        return at_state(Hazard::Deadlock);
    }
    if r.stops.observe && !r.stops.keep_going && m.observed() {
        return at_state(Hazard::Observed);
    }
    let (prog, ack, drain) = ample_en(m, r.layout, r.opts.reduce, en);
    let choices = bits(prog)
        .map(Choice::prog)
        .chain(bits(ack).map(Choice::ack))
        .chain(bits(drain).map(Choice::drain));
    let several = prog.count_ones() + ack.count_ones() + drain.count_ones() > 1;
    if several {
        saved.copy_from(m.state());
    }
    let mut first = true;
    for ch in choices {
        if !first {
            m.restore(saved);
        }
        first = false;
        let e = m.step_as::<G, T>(ch);
        *transitions += 1;
        if e.flags & r.stops.stop_flags != 0 && !r.stops.keep_going {
            let hazard = if e.flags & r.stops.stop_flags & flag::TORN != 0 {
                Hazard::Torn
            } else {
                Hazard::Stale
            };
            let found = Found {
                from,
                step: Some(ch),
                hazard,
            };
            return Some(End::Hazard(found, depth + 1));
        }
        if !succ(ch, r.layout.pack(m, r.opts.symmetry)) {
            break;
        }
    }
    None
}

impl Search {
    pub(super) fn new(
        cfg: &Config,
        table: u64,
        opts: CheckOptions,
        max_depth: u32,
    ) -> Result<Search, CheckError> {
        let mut m = Machine::new(cfg, false).map_err(CheckError::Config)?;
        m.reset(table);
        let opts = effective_options(&m, opts);
        let layout = Layout::new(&m)?;
        let root = layout.pack(&m, opts.symmetry);
        let saved = m.state().clone();
        let (pool, index) = crate::bfs::workers(opts.threads);
        let ex = &m.program().exists;
        let stops = Stops {
            keep_going: false,
            stop_flags: if ex.asks(Hazard::Torn) { flag::TORN } else { 0 }
                | if ex.asks(Hazard::Stale) {
                    flag::STALE
                } else {
                    0
                },
            observe: m.has_final_condition(),
        };
        let mut s = Search {
            m,
            layout,
            opts,
            max_depth,
            states: vec![root],
            parent: vec![u32::MAX],
            via: vec![0],
            index,
            cursor: 0,
            layer_end: 1,
            depth: 0,
            transitions: 0,
            stops,
            saved,
            pool,
        };
        s.index.insert(mix(root), 0, |_| unreachable!("one state"));
        Ok(s)
    }

    /// The transitions to explore from the state loaded in the machine.
    #[cfg(test)]
    pub(super) fn ample(&self) -> (u64, u64, u64) {
        ample_en(&self.m, &self.layout, self.opts.reduce, self.m.enabled())
    }

    pub(super) fn bytes(&self) -> u64 {
        bytes(
            &self.states,
            self.parent.capacity(),
            self.via.capacity(),
            &self.index,
        )
    }

    /// Expands up to `budget` states.
    pub(super) fn run(&mut self, budget: u64) -> Option<End> {
        // One loop per kind of machine, as the run loop does: the steps and enabled
        // sets inside pay for neither the generic readers nor store buffers unless the
        // machine has them.
        match (self.m.is_generic(), self.m.is_tso()) {
            (false, false) => self.run_as::<false, false>(budget),
            (true, false) => self.run_as::<true, false>(budget),
            (false, true) => self.run_as::<false, true>(budget),
            (true, true) => self.run_as::<true, true>(budget),
        }
    }

    fn run_as<const G: bool, const T: bool>(&mut self, budget: u64) -> Option<End> {
        let mut left = budget;
        while self.cursor < self.states.len() {
            if left == 0 {
                return None;
            }
            if self.cursor == self.layer_end {
                self.layer_end = self.states.len();
                self.depth += 1;
            }
            if self.depth >= self.max_depth {
                return Some(End::Exhausted);
            }
            #[cfg(not(target_arch = "wasm32"))]
            if self.pool.is_some() {
                let n = (self.layer_end - self.cursor)
                    .min(PAR_ROUND)
                    .min(left as usize);
                if n >= PAR_MIN {
                    left -= n as u64;
                    if let Some(end) = self.round_as::<G, T>(n) {
                        return Some(end);
                    }
                    continue;
                }
            }
            left -= 1;
            if let Some(end) = self.step_one::<G, T>() {
                return Some(end);
            }
        }
        Some(End::Exhausted)
    }

    /// Expands the state at the cursor on this thread.
    #[inline(always)]
    fn step_one<const G: bool, const T: bool>(&mut self) -> Option<End> {
        let from = self.cursor as u32;
        let x = self.states[self.cursor];
        self.cursor += 1;
        let rules = Rules {
            layout: &self.layout,
            opts: &self.opts,
            stops: self.stops,
            depth: self.depth,
        };
        let (states, parent, via, index) = (
            &mut self.states,
            &mut self.parent,
            &mut self.via,
            &mut self.index,
        );
        let opts = &self.opts;
        let mut out = None;
        let end = expand::<G, T>(
            &mut self.m,
            &mut self.saved,
            rules,
            x,
            from,
            &mut self.transitions,
            |ch, y| {
                let h = mix(y);
                if !index.contains(h, |&i| states[i as usize] == y) {
                    if let Err(b) = admit(opts, states, parent.capacity(), via.capacity(), index) {
                        out = Some(End::OutOf(b));
                        return false;
                    }
                    let i = states.len() as u32;
                    states.push(y);
                    parent.push(from);
                    via.push(ch.code());
                    index.insert(h, i, |&j| mix(states[j as usize]));
                }
                true
            },
        );
        out.or(end)
    }

    /// Expands the next `n` states of the layer in parallel, then stores their new
    /// successors as one thread would have (`crate::bfs` says why the answers agree).
    #[cfg(not(target_arch = "wasm32"))]
    fn round_as<const G: bool, const T: bool>(&mut self, n: usize) -> Option<End> {
        use crate::bfs::{expand_round, merge, Arena};
        let pool = self.pool.clone().expect("a round runs with workers");
        let lo = self.cursor;
        let rules = Rules {
            layout: &self.layout,
            opts: &self.opts,
            stops: self.stops,
            depth: self.depth,
        };
        let (m0, saved0) = (&self.m, &self.saved);
        let round = expand_round(
            &pool,
            &self.states,
            &self.index,
            &|y: &u128| mix(*y),
            (lo, n),
            if cfg!(test) { 1 } else { 16 },
            || (m0.clone(), saved0.clone()),
            |(m, saved), &x, e| {
                let (from, mut taken) = (e.from, 0);
                let end = expand::<G, T>(m, saved, rules, x, from, &mut taken, |ch, y| {
                    e.emit(ch.code(), &y);
                    true
                });
                e.transitions += taken;
                end
            },
        );
        let before = self.transitions;
        self.transitions += round.transitions;
        let cands = round.cands;
        self.cursor = lo + n;
        let opts = &self.opts;
        let arena = Arena {
            states: &mut self.states,
            parent: &mut self.parent,
            via: &mut self.via,
            index: &mut self.index,
        };
        let stored = merge(
            &pool,
            arena,
            &cands,
            |&y| mix(y),
            |a| {
                admit(
                    opts,
                    a.states,
                    a.parent.capacity(),
                    a.via.capacity(),
                    a.index,
                )
            },
        );
        if let Err((b, p)) = stored {
            self.transitions = before + self.recount::<G, T>(lo, &cands[p]);
            return Some(End::OutOf(b));
        }
        round.stop
    }

    /// The transitions one thread takes from the state at `lo` up to the step that
    /// found `c`: a budget refused `c`, and one thread stops right there.
    #[cfg(not(target_arch = "wasm32"))]
    fn recount<const G: bool, const T: bool>(&mut self, lo: usize, c: &Cand<u128, u8>) -> u64 {
        let rules = Rules {
            layout: &self.layout,
            opts: &self.opts,
            stops: Stops {
                keep_going: true,
                ..self.stops
            },
            depth: 0,
        };
        let mut n = 0;
        for i in lo..=c.from as usize {
            let x = self.states[i];
            expand::<G, T>(
                &mut self.m,
                &mut self.saved,
                rules,
                x,
                i as u32,
                &mut n,
                |ch, y| !(i == c.from as usize && ch.code() == c.via && y == c.y),
            );
        }
        n
    }

    /// A concrete schedule from the initial state to the hazard `f`. Stored states are
    /// canonical (readers sorted), so each stored edge is matched to the concrete choice
    /// that leads to a state with the same canonical form.
    pub(super) fn witness(&mut self, f: Found) -> Schedule {
        let mut path = Vec::new();
        let mut i = f.from;
        while self.parent[i as usize] != u32::MAX {
            path.push(self.states[i as usize]);
            i = self.parent[i as usize];
        }
        path.reverse();
        self.witness_along(&path, f.step)
    }

    /// The concrete schedule through the stored states `path` (from the root's child to
    /// the state a hazard was found from), then the step `step` that raised it.
    pub(super) fn witness_along(&self, path: &[u128], step: Option<Choice>) -> Schedule {
        let sym = self.opts.symmetry;
        let mut m = Machine::new(self.m.config(), false).expect("validated");
        m.reset(self.m.new_table());
        let mut choices = Vec::new();
        for &want in path {
            let ch = m
                .enabled()
                .iter()
                .find(|&ch| {
                    let mut t = m.clone();
                    t.step(ch);
                    self.layout.pack(&t, sym) == want
                })
                .expect("every stored edge has a concrete counterpart");
            m.step(ch);
            choices.push(ch);
        }
        if let Some(step) = step {
            // The canonical choice raised the hazard; find the concrete one that does.
            let canon = {
                let mut t = m.clone();
                self.layout.unpack(self.layout.pack(&m, sym), &mut t);
                let e = t.step(step);
                (e.kind, e.hazard())
            };
            let ch = m
                .enabled()
                .iter()
                .find(|&ch| {
                    let mut t = m.clone();
                    let e = t.step(ch);
                    (e.kind, e.hazard()) == canon
                })
                .expect("the hazard has a concrete counterpart");
            choices.push(ch);
        }
        Schedule {
            config: m.config().clone(),
            new_table: m.new_table(),
            choices,
        }
    }
}

/// The bytes a search's store holds: states, parents, choices and the index.
fn bytes(states: &Vec<u128>, parents: usize, vias: usize, index: &Index) -> u64 {
    (states.capacity() * 16 + parents * 4 + vias + index.capacity() * 5) as u64
}

/// Whether one more state may be stored: the budgets, asked before each push.
#[inline(always)]
fn admit(
    opts: &CheckOptions,
    states: &Vec<u128>,
    parents: usize,
    vias: usize,
    index: &Index,
) -> Result<(), Budget> {
    if states.len() as u64 >= opts.max_states {
        return Err(Budget::States);
    }
    // The next push may double the store: stop before, not after.
    if states.len() == states.capacity()
        && bytes(states, parents, vias, index).saturating_mul(2) > opts.max_bytes
    {
        return Err(Budget::Memory);
    }
    Ok(())
}
