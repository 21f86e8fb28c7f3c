//! One breadth-first search over the packed states reachable from one initial state:
//! the arena of states with their parents and the choices that reached them, the hash
//! index, the budgets, deadlock detection, and the witness: the choices back from a
//! hazard, searched again without reductions so that it is the shortest.
//!
//! A hazard found with reductions on is searched for again with them off, up to the depth
//! it was found at, so the printed witness is the shortest over the full graph.
//!

use super::options::{Budget, CheckError, CheckOptions};
use super::pack::{mix, Layout};
use crate::config::Config;
use crate::machine::{bits, flag, Choice, Hazard, Machine, State};
use crate::schedule::Schedule;
use hashbrown::HashTable;

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
    pub(super) index: HashTable<u32>,
    pub(super) cursor: usize,
    /// Index where the layer being expanded ends.
    pub(super) layer_end: usize,
    pub(super) depth: u32,
    pub(super) transitions: u64,
    /// Explore past hazards instead of stopping at the first (to enumerate every state).
    pub(super) keep_going: bool,
    /// The hazard flags the scenario's `exists` clause asks about (the search goes on
    /// past the others).
    pub(super) stop_flags: u8,
    /// The state being expanded, restored before each of its choices after the first.
    pub(super) saved: State,
    /// The `exists` clause has a condition on final registers and words: every
    /// expanded state is tested for it.
    pub(super) observe: bool,
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
        let mut s = Search {
            m,
            layout,
            opts,
            max_depth,
            states: vec![root],
            parent: vec![u32::MAX],
            via: vec![0],
            index: HashTable::new(),
            cursor: 0,
            layer_end: 1,
            depth: 0,
            transitions: 0,
            keep_going: false,
            stop_flags: 0,
            saved,
            observe: false,
        };
        s.observe = s.m.has_final_condition();
        let ex = &s.m.program().exists;
        s.stop_flags = if ex.asks(Hazard::Torn) { flag::TORN } else { 0 }
            | if ex.asks(Hazard::Stale) {
                flag::STALE
            } else {
                0
            };
        s.index
            .insert_unique(mix(root), 0, |&i| mix(s.states[i as usize]));
        Ok(s)
    }

    pub(super) fn bytes(&self) -> u64 {
        (self.states.capacity() * 16
            + self.parent.capacity() * 4
            + self.via.capacity()
            + self.index.capacity() * 5) as u64
    }

    /// [`Search::deadlocked`], given the enabled set.
    #[inline(always)]
    fn deadlocked_en(&self, en: crate::machine::Enabled) -> bool {
        let st = self.m.state();
        // Real acknowledgements only: a kvm reader's preempt choice helps no writer.
        let acks = st.pending & !st.irq_off & !st.preempted;
        // A reader inside an iteration that can step may still release what a writer
        // waits for; one between iterations holds nothing.
        !self.m.writers_done()
            && en.prog & !self.m.reader_mask() == 0
            && acks == 0
            && st.preempted == 0
            && en.prog & self.m.busy() == 0
            && en.drain == 0
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
            left -= 1;
            if self.cursor == self.layer_end {
                self.layer_end = self.states.len();
                self.depth += 1;
            }
            if self.depth >= self.max_depth {
                return Some(End::Exhausted);
            }
            let from = self.cursor as u32;
            let x = self.states[self.cursor];
            self.cursor += 1;
            self.layout.unpack(x, &mut self.m);
            let en = self.m.enabled_as::<G, T>();
            if self.deadlocked_en(en) && !self.keep_going {
                return Some(End::Hazard(
                    Found {
                        from,
                        step: None,
                        hazard: Hazard::Deadlock,
                    },
                    self.depth,
                ));
            }
            if self.observe && !self.keep_going && self.m.observed() {
                return Some(End::Hazard(
                    Found {
                        from,
                        step: None,
                        hazard: Hazard::Observed,
                    },
                    self.depth,
                ));
            }
            let (prog, ack, drain) = self.ample_en(en);
            let choices = bits(prog)
                .map(Choice::prog)
                .chain(bits(ack).map(Choice::ack))
                .chain(bits(drain).map(Choice::drain));
            let several = prog.count_ones() + ack.count_ones() + drain.count_ones() > 1;
            if several {
                self.saved.copy_from(self.m.state());
            }
            let mut first = true;
            for ch in choices {
                if !first {
                    self.m.restore(&self.saved);
                }
                first = false;
                let e = self.m.step_as::<G, T>(ch);
                self.transitions += 1;
                if e.flags & self.stop_flags != 0 && !self.keep_going {
                    let hazard = if e.flags & self.stop_flags & flag::TORN != 0 {
                        Hazard::Torn
                    } else {
                        Hazard::Stale
                    };
                    return Some(End::Hazard(
                        Found {
                            from,
                            step: Some(ch),
                            hazard,
                        },
                        self.depth + 1,
                    ));
                }
                let y = self.layout.pack(&self.m, self.opts.symmetry);
                let h = mix(y);
                let states = &self.states;
                if self.index.find(h, |&i| states[i as usize] == y).is_none() {
                    if self.states.len() as u64 >= self.opts.max_states {
                        return Some(End::OutOf(Budget::States));
                    }
                    // The next push may double the store: stop before, not after.
                    if self.states.len() == self.states.capacity()
                        && self.bytes().saturating_mul(2) > self.opts.max_bytes
                    {
                        return Some(End::OutOf(Budget::Memory));
                    }
                    let i = self.states.len() as u32;
                    self.states.push(y);
                    self.parent.push(from);
                    self.via.push(ch.code());
                    let states = &self.states;
                    self.index.insert_unique(h, i, |&j| mix(states[j as usize]));
                }
            }
        }
        Some(End::Exhausted)
    }

    /// A concrete schedule from the initial state to the hazard `f`. Stored states are
    /// canonical (readers sorted), so each stored edge is matched to the concrete choice
    /// that leads to a state with the same canonical form.
    pub(super) fn witness(&mut self, f: Found) -> Schedule {
        let mut path = Vec::new();
        let mut i = f.from;
        while self.parent[i as usize] != u32::MAX {
            path.push(i);
            i = self.parent[i as usize];
        }
        path.reverse();
        let sym = self.opts.symmetry;
        let mut m = Machine::new(self.m.config(), false).expect("validated");
        m.reset(self.m.new_table());
        let mut choices = Vec::new();
        for &target in &path {
            let want = self.states[target as usize];
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
        if let Some(step) = f.step {
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
