//! One worker's part of a search split over workers that share no memory (the page's Web
//! Workers): Stern and Dill's parallel Murφ, made to give the one-thread answers.
//!
//! Each state belongs to one part, by its hash ([`owner`]); a part stores and expands
//! only its own states. Expanding its share of a layer, a part keeps the successors it
//! owns and sends the others to their owners in one batch each (dropping those it sent
//! already: a layer's repeats are mostly siblings'). Each successor carries its *key*:
//! the global index of the state it came from, then its choice's place among that state's
//! choices. One thread numbers a layer's new states in the order of their least keys, so
//! an owner keeps each new state's least key, and the coordinator (`coord`), merging the
//! parts' sorted keys, numbers the layer exactly as one thread does. Parents, choices and
//! global indices are then one thread's, and so are the counts and the witness.

use super::options::{CheckError, CheckOptions};
use super::pack::mix;
use super::search::{expand, End, Rules, Search};
use super::wire::{cands, put_cand, Met, Msg, Post, To, NO_STEP};
use crate::config::Config;
use crate::machine::{Hazard, Machine, State};

/// The part (of `n`) that owns the state with hash `h`: bits that the parts' hash
/// tables use for neither buckets nor tags.
#[inline(always)]
pub(super) fn owner(h: u64, n: usize) -> usize {
    ((((h >> 24) & 0xffff) * n as u64) >> 16) as usize
}

pub(super) fn hazard_code(h: Hazard) -> u8 {
    match h {
        Hazard::Torn => 0,
        Hazard::Stale => 1,
        Hazard::Deadlock => 2,
        _ => 3,
    }
}

pub(super) fn hazard_of(code: u8) -> Hazard {
    match code {
        0 => Hazard::Torn,
        1 => Hazard::Stale,
        2 => Hazard::Deadlock,
        _ => Hazard::Observed,
    }
}

/// One search's share: the `Search` holds the machine and this part's states.
struct Share {
    s: Search,
    id: u32,
    /// The layer whose states are in `frontier`.
    layer: u32,
    /// Global index of each stored state (`u32::MAX` until the coordinator numbers it).
    gidx: Vec<u32>,
    /// Stored positions in global order.
    by_gidx: Vec<u32>,
    /// The layer's states, in global order, and the transitions taken from each.
    frontier: Vec<u32>,
    taken: Vec<u32>,
    /// Where the next layer's states begin among the stored ones, and their least keys.
    next_at: usize,
    keys: Vec<u64>,
    /// The next layer's states in key order, once every part's successors are in.
    order: Vec<u32>,
    /// Batches for the other parts, written as successors are found.
    out: Vec<Vec<u8>>,
    /// The successors sent lately, by hash, each with the layer it was sent in (an
    /// empty slot's, `NO_LAYER`, is no layer's: a state that packs to 0 is sent too).
    sent: Vec<(u128, u32)>,
    /// Batches of the layer come in from this many other parts so far.
    batches: usize,
    expanded: bool,
    /// The memory budget refused a state.
    full: bool,
}

/// A part's store as a test sees it: the layer it is at, its states stored so far
/// (numbered and not), the room its vectors have (the states', the vectors pushed with
/// them, the global order's, the frontier's and the keys') and its index has, and
/// whether the memory budget has refused a state.
#[cfg(test)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) struct Room {
    pub layer: u32,
    pub stored: usize,
    pub vecs: usize,
    /// Parents, choices, global indices.
    pub pushed: [usize; 3],
    pub by_gidx: usize,
    pub index: usize,
    pub frontier: usize,
    pub keys: usize,
    pub full: bool,
}

/// A worker's part of a search split over `n` workers.
pub struct Part {
    cfg: Config,
    opts: CheckOptions,
    me: usize,
    n: usize,
    share: Option<Share>,
    /// Messages for a later layer or search than this part is at, kept until it is there.
    early: Vec<Vec<u8>>,
}

impl Part {
    /// Part `me` of `n` of searches of `cfg`; the coordinator's messages start them.
    pub fn new(cfg: &Config, opts: CheckOptions, me: usize, n: usize) -> Result<Part, CheckError> {
        cfg.validate().map_err(CheckError::Config)?;
        assert!(me < n && n <= 256, "part {me} of {n}");
        Ok(Part {
            cfg: cfg.clone(),
            opts: CheckOptions { threads: 1, ..opts },
            me,
            n,
            share: None,
            early: Vec::new(),
        })
    }

    /// Takes a message from the coordinator or another part; appends what it sends.
    pub fn handle(&mut self, bytes: Vec<u8>, out: &mut Vec<Post>) {
        if self.take(bytes, out) {
            // A message that moved this part on may have made kept ones current.
            loop {
                let kept = std::mem::take(&mut self.early);
                let mut moved = false;
                for b in kept {
                    moved |= self.take(b, out);
                }
                if !moved {
                    break;
                }
            }
        }
    }

    /// The messages kept for a later layer or search, and the search and layer this
    /// part is at: what a test of the delivery rules looks at.
    #[cfg(test)]
    pub(super) fn kept_and_at(&self) -> (usize, Option<(u32, u32)>) {
        (
            self.early.len(),
            self.share.as_ref().map(|s| (s.id, s.layer)),
        )
    }

    /// This part's store: what a test of its growth looks at.
    #[cfg(test)]
    pub(super) fn room(&self) -> Option<Room> {
        self.share.as_ref().map(|sh| Room {
            layer: sh.layer,
            stored: sh.s.states.len(),
            vecs: sh.s.states.capacity(),
            pushed: [
                sh.s.parent.capacity(),
                sh.s.via.capacity(),
                sh.gidx.capacity(),
            ],
            by_gidx: sh.by_gidx.capacity(),
            index: sh.s.index.capacity(),
            frontier: sh.frontier.capacity(),
            keys: sh.keys.capacity(),
            full: sh.full,
        })
    }

    /// Handles one message; false if it was kept for later or dropped.
    fn take(&mut self, bytes: Vec<u8>, out: &mut Vec<Post>) -> bool {
        let Some(head) = Head::of(&bytes) else {
            return false;
        };
        let current = self.share.as_ref().map(|s| (s.id, s.layer));
        if head.tag == 0 {
            if current.is_some_and(|(id, _)| head.search <= id) {
                return false;
            }
        } else {
            match current {
                Some((id, _)) if head.search < id => return false,
                Some((id, layer)) if head.search == id => {
                    if head.tag == 4 && head.layer > layer {
                        self.early.push(bytes);
                        return false;
                    }
                    if head.tag == 4 && head.layer < layer {
                        return false;
                    }
                }
                _ => {
                    self.early.push(bytes);
                    return false;
                }
            }
        }
        if head.tag == 4 {
            self.take_batch(&bytes[HEAD..], out);
            return true;
        }
        let Some(msg) = Msg::decode(&bytes) else {
            return false;
        };
        match msg {
            Msg::Start {
                search,
                table,
                reduce,
            } => self.start(search, table, reduce, out),
            Msg::Number {
                first, go, owners, ..
            } => self.number(first, go, &owners, out),
            Msg::Count { below, .. } => {
                let sh = self.share.as_ref().expect("a current search");
                let transitions = sh
                    .frontier
                    .iter()
                    .zip(&sh.taken)
                    .take_while(|&(&p, _)| sh.gidx[p as usize] < below)
                    .map(|(_, &t)| t as u64)
                    .sum();
                let search = sh.id;
                send_up(
                    out,
                    Msg::Counted {
                        search,
                        transitions,
                    },
                );
            }
            Msg::Ask { idx, .. } => {
                let sh = self.share.as_ref().expect("a current search");
                let found = sh
                    .by_gidx
                    .binary_search_by_key(&idx, |&p| sh.gidx[p as usize]);
                if let Ok(k) = found {
                    let p = sh.by_gidx[k] as usize;
                    let msg = Msg::Parent {
                        search: sh.id,
                        idx,
                        parent: sh.s.parent[p],
                        state: sh.s.states[p],
                    };
                    send_up(out, msg);
                }
            }
            _ => return false,
        }
        true
    }

    fn start(&mut self, id: u32, table: u64, reduce: bool, out: &mut Vec<Post>) {
        let opts = CheckOptions {
            reduce,
            ..self.opts
        };
        let mut s = Search::new(&self.cfg, table, opts, u32::MAX).expect("validated when made");
        let root = s.states[0];
        let mine = owner(mix(root), self.n) == self.me;
        let (gidx, frontier) = if mine {
            (vec![0], vec![0])
        } else {
            s.states.clear();
            s.parent.clear();
            s.via.clear();
            s.index = crate::bfs::Index::new(1);
            (Vec::new(), Vec::new())
        };
        self.early
            .retain(|b| Head::of(b).is_some_and(|h| h.search >= id));
        self.share = Some(Share {
            s,
            id,
            layer: 0,
            by_gidx: frontier.clone(),
            gidx,
            frontier,
            taken: Vec::new(),
            next_at: 0,
            keys: Vec::new(),
            order: Vec::new(),
            out: vec![Vec::new(); self.n],
            sent: vec![(0, NO_LAYER); SENT],
            batches: 0,
            expanded: false,
            full: false,
        });
        self.expand(out);
    }

    /// Expands this part's share of the layer, sends the other parts their successors
    /// and the coordinator what it took and met.
    fn expand(&mut self, out: &mut Vec<Post>) {
        let (me, n) = (self.me, self.n);
        let budget = self.opts.max_bytes / n as u64;
        let sh = self.share.as_mut().expect("a current search");
        sh.next_at = sh.s.states.len();
        sh.taken.clear();
        for body in &mut sh.out {
            body.clear();
            body.extend_from_slice(&batch_head(sh.id, sh.layer));
        }
        let met = match (sh.s.m.is_generic(), sh.s.m.is_tso()) {
            (false, false) => sh.expand_as::<false, false>(me, n, budget),
            (true, false) => sh.expand_as::<true, false>(me, n, budget),
            (false, true) => sh.expand_as::<false, true>(me, n, budget),
            (true, true) => sh.expand_as::<true, true>(me, n, budget),
        };
        let (search, layer) = (sh.id, sh.layer);
        for (j, body) in sh.out.iter_mut().enumerate() {
            if j != me {
                let mut bytes = batch_head(search, layer);
                std::mem::swap(&mut bytes, body);
                out.push(Post {
                    to: To::Part(j),
                    bytes,
                });
            }
        }
        let transitions = sh.taken.iter().map(|&t| t as u64).sum();
        let msg = Msg::Expanded {
            search,
            layer,
            transitions,
            met,
        };
        send_up(out, msg);
        sh.expanded = true;
        self.settle(out);
    }

    fn take_batch(&mut self, body: &[u8], out: &mut Vec<Post>) {
        let budget = self.opts.max_bytes / self.n as u64;
        let sh = self.share.as_mut().expect("a current search");
        let (_, _, _, mut store, _) = sh.split();
        for (y, key, via) in cands(body) {
            store.store(y, mix(y), key, via, budget);
        }
        sh.batches += 1;
        self.settle(out);
    }

    /// Once this part has expanded its share and every other part's successors are in:
    /// orders the new states by key and sends the keys.
    fn settle(&mut self, out: &mut Vec<Post>) {
        let n = self.n;
        let sh = self.share.as_mut().expect("a current search");
        if !sh.expanded || sh.batches + 1 < n {
            return;
        }
        let at = sh.next_at;
        let mut sorted: Vec<(u64, u32)> = sh
            .keys
            .iter()
            .zip(at as u32..)
            .map(|(&k, p)| (k, p))
            .collect();
        // States come in runs of rising keys (this part's own, then each batch): a
        // stable sort merges runs.
        sorted.sort_by_key(|&(k, _)| k);
        for &(k, p) in &sorted {
            sh.s.parent[p as usize] = (k >> 32) as u32;
        }
        let keys = sorted.iter().map(|&(k, _)| k).collect();
        sh.order = sorted.into_iter().map(|(_, p)| p).collect();
        let msg = Msg::Keys {
            search: sh.id,
            layer: sh.layer,
            part: self.me as u8,
            bytes: sh.bytes(),
            full: sh.full,
            keys,
        };
        send_up(out, msg);
    }

    fn number(&mut self, first: u32, go: bool, owners: &[u8], out: &mut Vec<Post>) {
        let me = self.me as u8;
        let sh = self.share.as_mut().expect("a current search");
        let mut mine = sh.order.iter();
        for (i, _) in owners.iter().enumerate().filter(|&(_, &o)| o == me) {
            let &p = mine
                .next()
                .expect("the coordinator numbers this part's states");
            sh.gidx[p as usize] = first + i as u32;
        }
        sh.by_gidx.extend_from_slice(&sh.order);
        sh.frontier = std::mem::take(&mut sh.order);
        sh.keys.clear();
        sh.layer += 1;
        sh.batches = 0;
        sh.expanded = false;
        let budget = self.opts.max_bytes / self.n as u64;
        sh.grow(first as usize + owners.len(), self.n, budget);
        if go {
            self.expand(out);
        }
    }
}

impl Share {
    /// Once this part's store (its vectors, or its index) has room for less than 5/4 of
    /// its share of the `total` states stored, doubles it (or more, to that). The room
    /// is worked out from the global count, so every part grows its store in the same
    /// layer: a part growing alone (copying its states, rehashing its index) would keep
    /// the others waiting for its batch. One part grows as a search on one thread does.
    fn grow(&mut self, total: usize, n: usize, budget: u64) {
        let need = (total / n * 5 / 4).max(1 << 10);
        let s = &mut self.s;
        let (len, vecs, index) = (s.states.len(), s.states.capacity(), s.index.capacity());
        if n == 1 || self.full || (vecs >= need && index >= need) {
            return;
        }
        let more = |cap: usize| if cap < need { need.max(2 * cap) } else { cap };
        let (to_vecs, to_index) = (more(vecs), more(index));
        if (to_vecs * STATE_BYTES + to_index * 8 / 7 * 5) as u64 > budget {
            // What the store would take then: the budget stops the search instead.
            self.full = true;
            return;
        }
        if to_vecs > vecs {
            s.states.reserve_exact(to_vecs - len);
            s.parent.reserve_exact(to_vecs - len);
            s.via.reserve_exact(to_vecs - len);
            self.gidx.reserve_exact(to_vecs - len);
            self.by_gidx.reserve_exact(to_vecs - self.by_gidx.len());
        }
        if to_index > index {
            let states = &s.states;
            s.index
                .reserve(to_index - len, |&j| mix(states[j as usize]));
        }
    }

    /// The machine, the expansion rules, the store and the outgoing successors, borrowed
    /// apart.
    fn split(&mut self) -> (&mut Machine, &mut State, Rules<'_>, Store<'_>, Outbox<'_>) {
        let s = &mut self.s;
        let rules = Rules {
            layout: &s.layout,
            opts: &s.opts,
            stops: s.stops,
            depth: self.layer,
        };
        let store = Store {
            states: &mut s.states,
            parent: &mut s.parent,
            via: &mut s.via,
            index: &mut s.index,
            gidx: &mut self.gidx,
            keys: &mut self.keys,
            next_at: self.next_at,
            full: &mut self.full,
        };
        let outbox = Outbox {
            out: &mut self.out,
            sent: &mut self.sent,
            tag: self.layer,
        };
        (&mut s.m, &mut s.saved, rules, store, outbox)
    }

    fn expand_as<const G: bool, const T: bool>(
        &mut self,
        me: usize,
        n: usize,
        budget: u64,
    ) -> Option<Met> {
        let frontier = std::mem::take(&mut self.frontier);
        let mut taken_all = Vec::with_capacity(frontier.len());
        let mut met = None;
        let (m, saved, rules, mut store, mut outbox) = self.split();
        for &p in &frontier {
            let (x, from) = (store.states[p as usize], store.gidx[p as usize]);
            let (mut taken, mut k) = (0u64, 0u64);
            let end = expand::<G, T>(m, saved, rules, x, from, &mut taken, |ch, y| {
                k += 1;
                let (h, key, via) = (mix(y), (from as u64) << 32 | k, ch.code());
                if owner(h, n) == me {
                    store.store(y, h, key, via, budget);
                    return !*store.full;
                }
                outbox.push(owner(h, n), y, h, key, via);
                true
            });
            taken_all.push(taken as u32);
            if let Some(End::Hazard(f, _)) = end {
                let step = f.step.map_or(NO_STEP, |c| c.code());
                met = Some(Met {
                    key: (from as u64) << 32 | taken,
                    hazard: hazard_code(f.hazard),
                    step,
                });
                break;
            }
            if *store.full {
                break;
            }
        }
        self.frontier = frontier;
        self.taken = taken_all;
        met
    }

    /// The bytes this part's store holds.
    fn bytes(&self) -> u64 {
        let s = &self.s;
        (s.states.capacity() * 16
            + s.parent.capacity() * 4
            + s.via.capacity()
            + s.index.capacity() * 5
            + (self.gidx.capacity() + self.by_gidx.capacity() + self.frontier.capacity()) * 4
            + self.keys.capacity() * 8) as u64
    }
}

/// Slots of the filter of successors sent lately.
const SENT: usize = 1 << 16;

/// The layer of an empty slot of that filter: no layer's, as a search has fewer
/// layers than states, whose global indices are `u32`s below `u32::MAX`.
const NO_LAYER: u32 = u32::MAX;

/// The successors a part sends to other parts, most repeats dropped: a layer's repeats
/// are mostly siblings' (the diamonds of independent steps), met close together, and a
/// repeat that gets through costs its owner one lookup. (An index of every successor
/// sent, which drops every repeat, gave the same speed in the page.)
struct Outbox<'a> {
    out: &'a mut [Vec<u8>],
    sent: &'a mut [(u128, u32)],
    tag: u32,
}

impl Outbox<'_> {
    /// Sends `y` to part `to` unless it went lately in this layer: the first time a
    /// part meets a state in a layer is its least key there.
    #[inline(always)]
    fn push(&mut self, to: usize, y: u128, h: u64, key: u64, via: u8) {
        let slot = &mut self.sent[h as usize % SENT];
        if *slot != (y, self.tag) {
            *slot = (y, self.tag);
            put_cand(&mut self.out[to], y, key, via);
        }
    }
}

/// Bytes a stored state takes in a part's vectors, for the memory budget: the state,
/// its parent, choice, global index and places in global order and in the frontier.
const STATE_BYTES: usize = 16 + 4 + 1 + 4 + 4 + 4;

/// A part's store, borrowed apart from its machine.
struct Store<'a> {
    states: &'a mut Vec<u128>,
    parent: &'a mut Vec<u32>,
    via: &'a mut Vec<u8>,
    index: &'a mut crate::bfs::Index,
    gidx: &'a mut Vec<u32>,
    keys: &'a mut Vec<u64>,
    next_at: usize,
    full: &'a mut bool,
}

impl Store<'_> {
    /// Stores `y` as a new state of the next layer under `key`, or lowers the key of the
    /// new state it is; a state of an earlier layer stays as it is.
    #[inline(always)]
    fn store(&mut self, y: u128, h: u64, key: u64, via: u8, budget: u64) {
        let states = &*self.states;
        if let Some(i) = self.index.find(h, |&i| states[i as usize] == y) {
            let i = i as usize;
            if i >= self.next_at && key < self.keys[i - self.next_at] {
                self.keys[i - self.next_at] = key;
                self.via[i] = via;
            }
            return;
        }
        if *self.full {
            return;
        }
        let len = self.states.len();
        if len == self.states.capacity() {
            let bytes = (len * STATE_BYTES + self.index.capacity() * 5) as u64;
            if bytes.saturating_mul(2) > budget {
                *self.full = true;
                return;
            }
        }
        self.states.push(y);
        self.parent.push(u32::MAX);
        self.via.push(via);
        self.gidx.push(u32::MAX);
        self.keys.push(key);
        let states = &*self.states;
        self.index
            .insert(h, len as u32, |&j| mix(states[j as usize]));
    }
}

fn send_up(out: &mut Vec<Post>, msg: Msg) {
    out.push(Post {
        to: To::Coordinator,
        bytes: msg.encode(),
    });
}

/// A batch's header: tag, search, layer.
const HEAD: usize = 9;

fn batch_head(search: u32, layer: u32) -> Vec<u8> {
    let mut b = vec![4];
    b.extend_from_slice(&search.to_le_bytes());
    b.extend_from_slice(&layer.to_le_bytes());
    b
}

/// A message's tag, search and (for a batch) layer, read without decoding the rest.
pub(super) struct Head {
    pub(super) tag: u8,
    pub(super) search: u32,
    pub(super) layer: u32,
}

impl Head {
    pub(super) fn of(b: &[u8]) -> Option<Head> {
        let tag = *b.first()?;
        let search = u32::from_le_bytes(b.get(1..5)?.try_into().ok()?);
        let layer = match tag {
            4 => u32::from_le_bytes(b.get(5..9)?.try_into().ok()?),
            _ => 0,
        };
        Some(Head { tag, search, layer })
    }
}
