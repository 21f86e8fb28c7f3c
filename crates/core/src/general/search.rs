//! The exhaustive breadth-first search of the general machine, apart from its rules,
//! with its shortest witness.
//!
//! The search stores every state it reaches, one per orbit of the walker symmetry
//! where it applies ([`Symmetry`]: interchangeable walkers sorted), and no partial-order
//! reduction (its soundness argument is the classic checker's and is not re-derived for
//! the general machine), so `safe` means every interleaving was explored, up to
//! renaming interchangeable walkers. A witness found through sorted states is mapped
//! back to the CPUs that took each step. With `threads` above 1 a
//! layer is expanded in rounds on several threads, and `crate::bfs` stores what they
//! found in the order one thread would have: every answer is the one-thread answer.

use super::enabled::list_into;
use super::ir::GProgram;
use super::machine::{GChoice, GMachine, GState};
use super::pack::{pack, unpack, Packed, Shape};
use super::reduce::Reduction;
use super::symmetry::{Perm, Symmetry, IDENTITY};
use crate::bfs::{Index, Store, Strings, Workers};
use crate::hazard::{Hazard, Verdict};
use std::hash::Hasher;
use std::sync::Arc;

/// The limits of a search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GCheckOptions {
    pub max_states: u64,
    pub max_depth: u32,
    /// Threads the search runs on, as [`crate::CheckOptions::threads`].
    pub threads: u32,
    /// Store one state per orbit of the walker symmetry, where it applies
    /// ([`Symmetry::of`]); off, every state as it is (for cross-checking it).
    pub symmetry: bool,
    /// Explore one walker's step alone where the partial-order reduction's argument
    /// holds ([`Reduction`]); off, every open choice of every state.
    pub reduce: bool,
}

impl Default for GCheckOptions {
    fn default() -> Self {
        GCheckOptions {
            max_states: 4_000_000,
            max_depth: 100_000,
            threads: 1,
            symmetry: true,
            reduce: true,
        }
    }
}

/// What a search found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GCheckResult {
    pub verdict: Verdict,
    pub states: u64,
    pub transitions: u64,
    /// Breadth-first levels explored.
    pub depth: u32,
    /// The shortest schedule to the hazard (for a deadlock, to the stuck state).
    pub witness: Option<Vec<GChoice>>,
    /// Which budget ended an incomplete search.
    pub stopped_by: Option<String>,
    /// `alloc = random`: the frame of the pass that found the witness, which its
    /// schedule replays on ([`GCheckResult::program`]).
    pub frame: Option<u64>,
    /// The groups of walkers the search took as interchangeable, storing one state
    /// for all their renamings ([`Symmetry`]); empty where it stored every state.
    pub interchangeable: Vec<Vec<u8>>,
}

impl GCheckResult {
    /// The walkers the search took as interchangeable, in words: "P2, P3 and P4
    /// interchangeable" (groups joined by "; "), or nothing.
    pub fn interchangeable_text(&self) -> String {
        let each: Vec<String> = self
            .interchangeable
            .iter()
            .map(|g| {
                let names: Vec<String> = g.iter().map(|c| format!("P{c}")).collect();
                let (last, rest) = names.split_last().expect("a group of two or more");
                format!("{} and {last}", rest.join(", "))
            })
            .collect();
        if each.is_empty() {
            String::new()
        } else {
            format!("{} interchangeable", each.join("; "))
        }
    }

    /// The program the witness replays on: `p`, or under `alloc = random` its copy
    /// with the frame of the pass that found it.
    pub fn program(&self, p: &Arc<GProgram>) -> Arc<GProgram> {
        match self.frame {
            Some(f) if p.frame != Some(f) => Arc::new(p.with_frame(f)),
            _ => p.clone(),
        }
    }

    /// Whether the file's `exists` claim holds: `None` where the search cannot say
    /// (incomplete, or a deadlock the clause does not name).
    pub fn claim(&self, p: &GProgram) -> Option<bool> {
        let found = match self.verdict {
            Verdict::Safe => false,
            Verdict::Incomplete => return None,
            Verdict::Deadlock if !p.exists.hazards.contains(&Hazard::Deadlock) => return None,
            _ => true,
        };
        Some(found != p.exists.negated)
    }
}

/// FxHash's word step (rustc's hasher): states are hashed only to find equal ones,
/// whose full comparison follows, so a fast unkeyed hash is enough. The search's
/// order, and so its witness, is the order states are found in, whatever the hash.
struct FxHasher(u64);

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.write_u64(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let mut tail = [0u8; 8];
        let rest = chunks.remainder();
        tail[..rest.len()].copy_from_slice(rest);
        self.write_u64(u64::from_le_bytes(tail) ^ rest.len() as u64);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.write_u64(i as u64);
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.write_u64(i as u64);
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.write_u64(i as u64);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

fn hash_state(s: &[u8]) -> u64 {
    let mut h = FxHasher(0);
    h.write(s);
    h.finish()
}

/// Checks every interleaving of `p` breadth first, stopping at the first hazard the
/// `exists` clause asks about (or a deadlock).
///
/// Under `alloc = random` it searches once per equality class of the drawn frame (see
/// [`GProgram::frame_classes`]), as the classic checker does: the counts are the
/// passes' sums, and the first pass with a hazard gives the verdict and the witness.
pub fn check(p: &Arc<GProgram>, opts: GCheckOptions) -> GCheckResult {
    if p.random_table.is_none() || p.frame.is_some() {
        return search(p, opts);
    }
    let (mut states, mut transitions, mut depth) = (0, 0, 0);
    let mut last = None;
    for f in p.frame_classes() {
        let mut r = search(&Arc::new(p.with_frame(f)), opts);
        states += r.states;
        transitions += r.transitions;
        depth = depth.max(r.depth);
        (r.states, r.transitions, r.depth) = (states, transitions, depth);
        if r.verdict != Verdict::Safe {
            r.frame = Some(f);
            return r;
        }
        last = Some(r);
    }
    last.expect("five classes")
}

/// One search of `p`, reduced where the partial-order reduction applies. Where the
/// reduced search meets a hazard at depth `d`, the full search gives the answer, and
/// it stops by layer `d` (the reduced graph's path is one of its paths), so a depth
/// budget of `d + 1` changes nothing it finds: the reduced graph's shortest witness
/// can be longer than the full graph's, or another of the same length, and a hazard's
/// witness, depth and counts are the full search's, whether or not the reduction
/// applies. A safe verdict is the reduced search's, with its counts.
fn search(p: &Arc<GProgram>, opts: GCheckOptions) -> GCheckResult {
    let s = GSearch::new(p, opts);
    let reduces = s.red.is_some();
    let r = s.run();
    if !reduces || matches!(r.verdict, Verdict::Safe | Verdict::Incomplete) {
        return r;
    }
    let full = GCheckOptions {
        reduce: false,
        max_depth: r.depth.saturating_add(1).min(opts.max_depth),
        ..opts
    };
    let f = GSearch::new(p, full).run();
    debug_assert!(f.verdict != Verdict::Safe, "{}", p.name);
    f
}

/// Why expanding a state ended the search.
#[derive(Clone, Copy, Debug)]
enum Stop {
    /// The state itself: a deadlock, or a final state the `exists` clause's condition
    /// holds in (judged where the state is expanded, as the classic checker does).
    AtState(Hazard),
    Depth,
    /// A step's hazard that the clause asks about, and the step.
    Hazard(Hazard, GChoice),
    States,
}

/// Expands the state unpacked in the scratch's `base` (in the layer at `depth`): calls
/// `succ` with each successor, in the order of the choices, until it answers false,
/// and counts the transitions taken. Returns
/// what ends the search, if anything: a deadlock, an observed final state or the depth
/// budget before any successor, or a step's hazard after the successors of the choices
/// before it.
#[inline]
fn expand(
    m: &mut GMachine,
    (shape, sym, red): Rules,
    (en, base, buf): &mut Scratch,
    depth: u32,
    max_depth: u32,
    transitions: &mut u64,
    mut succ: impl FnMut(GChoice, &Packed) -> bool,
) -> Option<Stop> {
    m.st.clone_from(base);
    let open = m.open();
    list_into(open.en, en);
    if m.deadlocked_in(&open) {
        return Some(Stop::AtState(Hazard::Deadlock));
    }
    if m.observed() && m.prog.exists.asks(Hazard::Observed) {
        return Some(Stop::AtState(Hazard::Observed));
    }
    if depth >= max_depth {
        return Some(Stop::Depth);
    }
    if let Some(ch) = red.and_then(|r| r.ample(m, en)) {
        en.clear();
        en.push(ch);
    }
    for (k, &ch) in en.iter().enumerate() {
        // The first choice steps from the state just copied.
        if k > 0 {
            m.st.clone_from(base);
        }
        let (h, _) = successor(m, sym, ch);
        *transitions += 1;
        if let Some(h) = h.filter(|&h| h != Hazard::Observed && m.prog.exists.asks(h)) {
            return Some(Stop::Hazard(h, ch));
        }
        pack(shape, &m.st, buf);
        if !succ(ch, buf) {
            break;
        }
    }
    None
}

/// Takes `ch` from the state in `m` and leaves its successor as the search stores it:
/// dead locals forgotten and, under symmetry, the walkers sorted (from a stored state,
/// which is sorted, only the CPU that moved can be out of place). Returns the step's
/// hazard and where each CPU's parts came from (the identity without symmetry); the
/// expansion and the witness's mapping both make successors here.
#[inline(always)]
fn successor(m: &mut GMachine, sym: Option<&Symmetry>, ch: GChoice) -> (Option<Hazard>, Perm) {
    let h = m.step(ch);
    m.forget_dead(ch.cpu);
    let from = match sym {
        Some(s) => s.canon_after(&mut m.st, ch.cpu),
        None => IDENTITY,
    };
    (h, from)
}

/// How the search stores a state of the program, and its reductions: the walker
/// symmetry and the partial-order reduction, each where it applies.
type Rules<'a> = (&'a Shape, Option<&'a Symmetry>, Option<&'a Reduction>);

/// What expanding a state works in, kept from state to state: the open choices, the
/// state unpacked from its string (`base`: each choice steps from a copy of it, and
/// the stored states may grow meanwhile), a successor packed.
type Scratch = (Vec<GChoice>, GState, Packed);

/// A state that the search stops at: where, and why.
type Found = (u32, Stop);

/// A round smaller than this many states is expanded on the calling thread (as the
/// classic checker does; see `crate::bfs` for why the answers agree).
#[cfg(not(target_arch = "wasm32"))]
const PAR_MIN: usize = if cfg!(test) { 1 } else { 256 };
#[cfg(not(target_arch = "wasm32"))]
const PAR_ROUND: usize = 1 << 15;

/// One breadth-first search of the general machine.
struct GSearch {
    opts: GCheckOptions,
    m: GMachine,
    shape: Shape,
    sym: Option<Symmetry>,
    red: Option<Reduction>,
    /// Where the initial state's CPUs went in the stored root (identity but under
    /// symmetry, and there too while the walkers start alike).
    root_from: Perm,
    scratch: Scratch,
    states: Strings,
    parent: Vec<u32>,
    via: Vec<GChoice>,
    index: Index,
    cursor: usize,
    layer_end: usize,
    depth: u32,
    transitions: u64,
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    pool: Workers,
}

impl GSearch {
    fn new(p: &Arc<GProgram>, opts: GCheckOptions) -> GSearch {
        let m = GMachine::new(p.clone(), false);
        let sym = if opts.symmetry { Symmetry::of(p) } else { None };
        let red = if opts.reduce { Reduction::of(p) } else { None };
        let (pool, mut index) = crate::bfs::workers(opts.threads);
        let mut root = m.st.clone();
        let root_from = match &sym {
            Some(s) => s.canon(&mut root),
            None => IDENTITY,
        };
        let (mut start, mut states) = (Packed::new(), Strings::default());
        let shape = Shape::of(p);
        pack(&shape, &root, &mut start);
        index.insert(hash_state(&start), 0, |_| unreachable!("one state"));
        states.put(&start);
        GSearch {
            opts,
            states,
            scratch: (Vec::new(), m.st.clone(), Packed::new()),
            m,
            shape,
            sym,
            red,
            root_from,
            parent: vec![u32::MAX],
            via: vec![GChoice::step(0)],
            index,
            cursor: 0,
            layer_end: 1,
            depth: 0,
            transitions: 0,
            pool,
        }
    }

    fn run(mut self) -> GCheckResult {
        while self.cursor < self.states.count() {
            if self.cursor == self.layer_end {
                self.layer_end = self.states.count();
                self.depth += 1;
            }
            #[cfg(not(target_arch = "wasm32"))]
            if self.pool.is_some() && self.depth < self.opts.max_depth {
                let n = (self.layer_end - self.cursor).min(PAR_ROUND);
                if n >= PAR_MIN {
                    if let Some(f) = self.round(n) {
                        return self.result(Some(f));
                    }
                    continue;
                }
            }
            if let Some(f) = self.step_one() {
                return self.result(Some(f));
            }
        }
        self.result(None)
    }

    /// Expands the state at the cursor on this thread.
    fn step_one(&mut self) -> Option<Found> {
        let from = self.cursor as u32;
        self.cursor += 1;
        let (states, parent, via, index) = (
            &mut self.states,
            &mut self.parent,
            &mut self.via,
            &mut self.index,
        );
        unpack(&self.shape, states.get(from as usize), &mut self.scratch.1);
        let max_states = self.opts.max_states;
        let mut full = false;
        let stop = expand(
            &mut self.m,
            (&self.shape, self.sym.as_ref(), self.red.as_ref()),
            &mut self.scratch,
            self.depth,
            self.opts.max_depth,
            &mut self.transitions,
            |ch, y| {
                let h = hash_state(y);
                if index.contains(h, |&i| states.get(i as usize) == &y[..]) {
                    return true;
                }
                if states.count() as u64 >= max_states {
                    full = true;
                    return false;
                }
                let i = states.count() as u32;
                states.put(y);
                parent.push(from);
                via.push(ch);
                index.insert(h, i, |&j| hash_state(states.get(j as usize)));
                true
            },
        );
        if full {
            return Some((from, Stop::States));
        }
        stop.map(|s| (from, s))
    }

    /// Expands the next `n` states of the layer in parallel, then stores their new
    /// successors in the order one thread meets them.
    #[cfg(not(target_arch = "wasm32"))]
    fn round(&mut self, n: usize) -> Option<Found> {
        use crate::bfs::{expand_round, merge, Arena};
        let pool = self.pool.clone().expect("a round runs with workers");
        let lo = self.cursor;
        let (depth, max_depth, m0) = (self.depth, self.opts.max_depth, &self.m);
        let rules = (&self.shape, self.sym.as_ref(), self.red.as_ref());
        let round = expand_round(
            &pool,
            &self.states,
            &self.index,
            &hash_state,
            (lo, n),
            if cfg!(test) { 1 } else { 8 },
            || (m0.clone(), (Vec::new(), m0.st.clone(), Packed::new())),
            |(m, scratch), x, e| {
                let (from, mut taken) = (e.from, 0);
                unpack(rules.0, x, &mut scratch.1);
                let stop = expand(m, rules, scratch, depth, max_depth, &mut taken, |ch, y| {
                    e.emit(ch, y);
                    true
                });
                e.transitions += taken;
                stop.map(|s| (from, s))
            },
        );
        let before = self.transitions;
        self.transitions += round.transitions;
        let (stop, cands) = (round.stop, round.cands);
        self.cursor = lo + n;
        let max_states = self.opts.max_states;
        let arena = Arena {
            states: &mut self.states,
            parent: &mut self.parent,
            via: &mut self.via,
            index: &mut self.index,
        };
        let stored = merge(&pool, arena, &cands, hash_state, |a| {
            if a.states.count() as u64 >= max_states {
                Err(())
            } else {
                Ok(())
            }
        });
        if let Err(((), p)) = stored {
            self.transitions = before + self.recount(lo, &cands[p]);
            return Some((cands[p].from, Stop::States));
        }
        stop
    }

    /// The transitions one thread takes from the state at `lo` up to the step that
    /// found `c`: the state budget refused `c`, and one thread stops right there.
    #[cfg(not(target_arch = "wasm32"))]
    fn recount(&mut self, lo: usize, c: &crate::bfs::Cand<Packed, GChoice>) -> u64 {
        let mut n = 0;
        for i in lo..=c.from as usize {
            unpack(&self.shape, self.states.get(i), &mut self.scratch.1);
            let last = i == c.from as usize;
            expand(
                &mut self.m,
                (&self.shape, self.sym.as_ref(), self.red.as_ref()),
                &mut self.scratch,
                0,
                u32::MAX,
                &mut n,
                |ch, y| !(last && ch == c.via && *y == c.y),
            );
        }
        n
    }

    /// The choices from the initial state to the stored state `to`, each taken by the
    /// CPU that took it: under symmetry a stored choice is a sorted state's, and
    /// `sigma` (which CPU plays each of the sorted state's parts) follows each step's
    /// sort. Also `sigma` at `to`, for a step taken from it.
    fn path(&self, to: u32) -> (Vec<GChoice>, Perm) {
        let mut at = Vec::new();
        let mut i = to as usize;
        while self.parent[i] != u32::MAX {
            at.push(i);
            i = self.parent[i] as usize;
        }
        at.reverse();
        let mut sigma = self.root_from;
        let Some(sym) = &self.sym else {
            return (at.iter().map(|&i| self.via[i]).collect(), sigma);
        };
        let mut m = self.m.clone();
        let mut v = Vec::with_capacity(at.len());
        for i in at {
            let ch = self.via[i];
            v.push(GChoice {
                cpu: sigma[ch.cpu as usize],
                ..ch
            });
            unpack(
                &self.shape,
                self.states.get(self.parent[i] as usize),
                &mut m.st,
            );
            let (_, from) = successor(&mut m, Some(sym), ch);
            debug_assert!({
                let mut y = Packed::new();
                pack(&self.shape, &m.st, &mut y);
                y[..] == *self.states.get(i)
            });
            let before = sigma;
            for (s, &f) in sigma.iter_mut().zip(&from) {
                *s = before[f as usize];
            }
        }
        (v, sigma)
    }

    /// The answer: where the search stopped (`None`: it explored every state, safe).
    fn result(&self, found: Option<Found>) -> GCheckResult {
        let Some((from, stop)) = found else {
            return self.answer(Verdict::Safe, None, self.depth, None);
        };
        let (verdict, witness, depth, stopped_by) = match stop {
            Stop::AtState(h) => (Verdict::of(h), Some(self.path(from).0), self.depth, None),
            Stop::Hazard(h, ch) => {
                let (mut w, sigma) = self.path(from);
                w.push(GChoice {
                    cpu: sigma[ch.cpu as usize],
                    ..ch
                });
                (Verdict::of(h), Some(w), self.depth + 1, None)
            }
            Stop::Depth => (
                Verdict::Incomplete,
                None,
                self.depth,
                Some("the depth budget"),
            ),
            Stop::States => (
                Verdict::Incomplete,
                None,
                self.depth,
                Some("the state budget"),
            ),
        };
        self.answer(verdict, witness, depth, stopped_by)
    }

    fn answer(
        &self,
        verdict: Verdict,
        witness: Option<Vec<GChoice>>,
        depth: u32,
        stopped_by: Option<&str>,
    ) -> GCheckResult {
        GCheckResult {
            verdict,
            states: self.states.count() as u64,
            transitions: self.transitions,
            depth,
            witness,
            stopped_by: stopped_by.map(String::from),
            frame: None,
            interchangeable: self
                .sym
                .as_ref()
                .map_or_else(Vec::new, |s| s.groups().to_vec()),
        }
    }
}
