//! The index of a search's stored states, split into shards by hash; the workers a
//! search runs with; and a round: a run of one layer's states expanded by the workers at
//! once ([`expand_round`]), whose successors [`merge`] then stores.
//!
//! *Why the answers do not depend on the thread count.* A search on one thread numbers
//! states in the order it first meets them. A parallel round expands a slice of one
//! breadth-first layer, each worker a run of consecutive states, and keeps each
//! worker's successors in order; concatenated, they are the successors in the order one
//! thread meets them. [`merge`] keeps the first of each state not already stored and
//! numbers the kept ones in that order, so every state gets the index, parent and
//! choice a search on one thread gives it: the same counts, the same witness.
//! Deduplication runs in parallel too, each worker owning a set of shards; only the
//! numbering (a pass over flags, pushing the new states) is sequential.

use hashbrown::HashTable;
#[cfg(not(target_arch = "wasm32"))]
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

/// A search's stored states, by position: a vector of states of one size (the classic
/// checker's 128-bit words) or [`Strings`] (the general search's byte strings).
pub(crate) trait Store: Sync {
    type State: ?Sized + Eq + Sync + ToOwned;
    fn count(&self) -> usize;
    fn get(&self, i: usize) -> &Self::State;
    fn put(&mut self, s: &Self::State);
}

/// What a worker keeps of a state it found: the state, owned.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) type Owned<T> = <<T as Store>::State as ToOwned>::Owned;

impl<S: Eq + Clone + Sync> Store for Vec<S> {
    type State = S;
    fn count(&self) -> usize {
        self.len()
    }
    #[inline(always)]
    fn get(&self, i: usize) -> &S {
        &self[i]
    }
    fn put(&mut self, s: &S) {
        self.push(s.clone());
    }
}

/// Byte strings kept end to end in buffers of [`Strings::CHUNK`] bytes: an allocation
/// a chunk, where a vector of strings took one a state (a `malloc` and a `free` each,
/// and three words and the allocator's header beside every string). A full chunk is
/// never moved, so a growing search does not copy what it stored, nor hold two copies
/// at once.
#[derive(Debug, Default)]
pub(crate) struct Strings {
    chunks: Vec<Vec<u8>>,
    /// Each string's chunk, start in it and length.
    at: Vec<(u32, u32, u32)>,
}

impl Strings {
    /// A chunk's size, unless one string is longer.
    pub(crate) const CHUNK: usize = 1 << 20;
}

impl Store for Strings {
    type State = [u8];
    fn count(&self) -> usize {
        self.at.len()
    }
    #[inline(always)]
    fn get(&self, i: usize) -> &[u8] {
        let (c, from, n) = self.at[i];
        let from = from as usize;
        &self.chunks[c as usize][from..from + n as usize]
    }
    fn put(&mut self, s: &[u8]) {
        let fits = self
            .chunks
            .last()
            .is_some_and(|c| c.capacity() - c.len() >= s.len());
        if !fits {
            self.chunks
                .push(Vec::with_capacity(Self::CHUNK.max(s.len())));
        }
        let c = self.chunks.len() - 1;
        let chunk = &mut self.chunks[c];
        self.at.push((c as u32, chunk.len() as u32, s.len() as u32));
        chunk.extend_from_slice(s);
    }
}

/// Shards when a search runs on several threads: enough that workers owning
/// contiguous groups of them get about the same share of states.
#[cfg(not(target_arch = "wasm32"))]
const PAR_SHARDS: usize = 64;

/// A hash index from states to their positions in a search's arena, in shards.
pub(crate) struct Index {
    shards: Vec<HashTable<u32>>,
    mask: u64,
}

impl Index {
    /// An index of `shards` shards (a power of two; 1 for a search on one thread).
    pub(crate) fn new(shards: usize) -> Index {
        assert!(shards.is_power_of_two());
        Index {
            shards: (0..shards).map(|_| HashTable::new()).collect(),
            mask: shards as u64 - 1,
        }
    }

    #[inline(always)]
    fn shard(&self, h: u64) -> usize {
        shard_of(h, self.mask)
    }

    /// The shard of hash `h`. A search on one thread has one, reached without the
    /// shift, mask and bounds check that picking among several costs on every lookup.
    #[inline(always)]
    fn table(&self, h: u64) -> &HashTable<u32> {
        match self.shards.as_slice() {
            [one] => one,
            all => &all[self.shard(h)],
        }
    }

    /// Whether a stored state with hash `h` satisfies `eq`.
    #[inline(always)]
    pub(crate) fn contains(&self, h: u64, eq: impl FnMut(&u32) -> bool) -> bool {
        self.table(h).find(h, eq).is_some()
    }

    /// The stored position whose state has hash `h` and satisfies `eq`.
    #[inline(always)]
    pub(crate) fn find(&self, h: u64, eq: impl FnMut(&u32) -> bool) -> Option<u32> {
        self.table(h).find(h, eq).copied()
    }

    /// [`Index::table`], to insert into.
    #[inline(always)]
    fn table_mut(&mut self, h: u64) -> &mut HashTable<u32> {
        let mask = self.mask;
        match self.shards.as_mut_slice() {
            [one] => one,
            all => &mut all[shard_of(h, mask)],
        }
    }

    /// Adds position `i`, whose state hashes to `h`; `hasher` rehashes stored positions.
    #[inline(always)]
    pub(crate) fn insert(&mut self, h: u64, i: u32, hasher: impl Fn(&u32) -> u64) {
        self.table_mut(h).insert_unique(h, i, hasher);
    }

    /// Makes room for `more` states, spread over the shards; `hasher` rehashes stored
    /// positions.
    pub(crate) fn reserve(&mut self, more: usize, hasher: impl Fn(&u32) -> u64) {
        let each = more.div_ceil(self.shards.len());
        for s in &mut self.shards {
            s.reserve(each, &hasher);
        }
    }

    /// Slots allocated, over every shard.
    pub(crate) fn capacity(&self) -> usize {
        self.shards.iter().map(HashTable::capacity).sum()
    }
}

/// The shard of hash `h` among `mask + 1`: bits that hashbrown uses for neither the
/// bucket (the low bits) nor the control byte (the top seven), so that states of one
/// shard still spread over its buckets and tags.
#[inline(always)]
fn shard_of(h: u64, mask: u64) -> usize {
    ((h >> 40) & mask) as usize
}

/// The workers a search on `threads` threads hands its rounds to (none on one thread).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) type Workers = Option<std::sync::Arc<rayon::ThreadPool>>;
/// WebAssembly has no threads here: every search runs on the calling thread.
#[cfg(target_arch = "wasm32")]
pub(crate) type Workers = ();

/// The workers for a search on `threads` threads, and an empty index sharded for them.
pub(crate) fn workers(threads: u32) -> (Workers, Index) {
    #[cfg(not(target_arch = "wasm32"))]
    {
        let pool = (threads > 1).then(|| pool(threads as usize));
        let shards = if pool.is_some() { PAR_SHARDS } else { 1 };
        (pool, Index::new(shards))
    }
    #[cfg(target_arch = "wasm32")]
    {
        let _ = threads;
        ((), Index::new(1))
    }
}

#[cfg(not(target_arch = "wasm32"))]
/// A successor a worker found that the index did not hold when it looked.
pub(crate) struct Cand<S, V> {
    pub(crate) y: S,
    pub(crate) h: u64,
    pub(crate) from: u32,
    pub(crate) via: V,
}

#[cfg(not(target_arch = "wasm32"))]
/// Where a worker puts the successors it finds while it expands a run of a layer.
pub(crate) struct Emitter<'a, T: Store, V, H> {
    states: &'a T,
    index: &'a Index,
    hash: &'a H,
    /// This worker's candidates so far, by hash: most successors a layer repeats are
    /// siblings' (the diamonds of independent steps), which the same worker finds.
    local: HashTable<u32>,
    cands: Vec<Cand<Owned<T>, V>>,
    /// The state being expanded.
    pub(crate) from: u32,
    pub(crate) transitions: u64,
}

#[cfg(not(target_arch = "wasm32"))]
impl<T: Store, V, H: Fn(&T::State) -> u64> Emitter<'_, T, V, H> {
    /// Keeps `y`, reached from the state being expanded by `via`, unless this worker
    /// has it already or the index holds it.
    #[inline(always)]
    pub(crate) fn emit(&mut self, via: V, y: &T::State) {
        use std::borrow::Borrow;
        let h = (self.hash)(y);
        let (cands, states) = (&self.cands, self.states);
        if self
            .local
            .find(h, |&k| cands[k as usize].y.borrow() == y)
            .is_some()
            || self.index.contains(h, |&i| states.get(i as usize) == y)
        {
            return;
        }
        self.local
            .insert_unique(h, cands.len() as u32, |&k| cands[k as usize].h);
        self.cands.push(Cand {
            y: y.to_owned(),
            h,
            from: self.from,
            via,
        });
    }
}

#[cfg(not(target_arch = "wasm32"))]
/// What a round's workers found: the candidates in the order one thread meets them, the
/// transitions taken, and what stopped the search, if anything.
pub(crate) struct Round<S, V, X> {
    pub(crate) cands: Vec<Cand<S, V>>,
    pub(crate) transitions: u64,
    pub(crate) stop: Option<X>,
}

#[cfg(not(target_arch = "wasm32"))]
/// Expands `states[lo..lo + n]` (one layer's) on the pool's workers, each taking runs
/// of consecutive states with a worker state of its own (`worker()`, a machine).
/// `expand` expands one state into the emitter and says whether the search stops
/// there; as one thread would, the round stops at the first such state in order and
/// keeps nothing found after it.
#[allow(clippy::too_many_arguments)]
pub(crate) fn expand_round<T, V, X, W, H>(
    pool: &rayon::ThreadPool,
    states: &T,
    index: &Index,
    hash: &H,
    (lo, n): (usize, usize),
    chunk_min: usize,
    worker: impl Fn() -> W + Sync + Send,
    expand: impl Fn(&mut W, &T::State, &mut Emitter<'_, T, V, H>) -> Option<X> + Sync + Send,
) -> Round<Owned<T>, V, X>
where
    T: Store,
    Owned<T>: Send,
    V: Copy + Send + Sync,
    X: Send,
    H: Fn(&T::State) -> u64 + Sync,
{
    use rayon::prelude::*;
    // Eight runs a worker: enough to even out runs of unequal cost.
    let chunk = n.div_ceil(pool.current_num_threads() * 8).max(chunk_min);
    let parts: Vec<Round<Owned<T>, V, X>> = pool.install(|| {
        (0..n.div_ceil(chunk))
            .into_par_iter()
            .map_init(&worker, |w, k| {
                let run = lo + k * chunk..(lo + (k + 1) * chunk).min(lo + n);
                let mut e = Emitter {
                    states,
                    index,
                    hash,
                    local: HashTable::new(),
                    cands: Vec::with_capacity(run.len() * 2),
                    from: 0,
                    transitions: 0,
                };
                let mut stop = None;
                for i in run {
                    e.from = i as u32;
                    stop = expand(w, states.get(i), &mut e);
                    if stop.is_some() {
                        break;
                    }
                }
                Round {
                    cands: e.cands,
                    transitions: e.transitions,
                    stop,
                }
            })
            .collect()
    });
    let last = parts
        .iter()
        .position(|p| p.stop.is_some())
        .unwrap_or(parts.len().saturating_sub(1));
    let mut round = Round {
        cands: Vec::new(),
        transitions: 0,
        stop: None,
    };
    for p in parts.into_iter().take(last + 1) {
        round.transitions += p.transitions;
        round.stop = p.stop;
        if round.cands.is_empty() {
            round.cands = p.cands;
        } else {
            round.cands.extend(p.cands);
        }
    }
    round
}

#[cfg(not(target_arch = "wasm32"))]
/// The arena of a search: states, and for each the state it was first reached from and
/// the choice that reached it.
pub(crate) struct Arena<'a, T, V> {
    pub(crate) states: &'a mut T,
    pub(crate) parent: &'a mut Vec<u32>,
    pub(crate) via: &'a mut Vec<V>,
    pub(crate) index: &'a mut Index,
}

#[cfg(not(target_arch = "wasm32"))]
/// Stores the new states among `cands` (successors in the order a search on one thread
/// meets them), numbered in that order. `admit` is asked before each push, as a search on
/// one thread asks its budgets; its error ends the merge, and the search with it (the
/// index then holds candidates past that point under provisional ids), with the
/// position of the candidate it refused.
pub(crate) fn merge<T, V, E>(
    pool: &rayon::ThreadPool,
    a: Arena<'_, T, V>,
    cands: &[Cand<Owned<T>, V>],
    hash: impl Fn(&T::State) -> u64 + Sync,
    mut admit: impl FnMut(&Arena<'_, T, V>) -> Result<(), E>,
) -> Result<(), (E, usize)>
where
    T: Store,
    Owned<T>: Sync,
    V: Copy + Sync + Send,
{
    use std::borrow::Borrow;
    let base = a.states.count();
    assert!(
        base + cands.len() < u32::MAX as usize,
        "positions fit in 32 bits"
    );
    let new: Vec<AtomicBool> = (0..cands.len()).map(|_| AtomicBool::new(false)).collect();
    let groups = pool.current_num_threads().clamp(1, a.index.shards.len());
    let per = a.index.shards.len().div_ceil(groups);
    let mask = a.index.mask;
    let states: &T = &*a.states;
    // Each group of shards scans every candidate and takes those that hash into it: a
    // provisional id (base + the candidate's position) stands for a new state until the
    // numbering below.
    let dedup = |g: usize, shards: &mut [HashTable<u32>]| {
        let first = g * per;
        for (p, c) in cands.iter().enumerate() {
            let s = shard_of(c.h, mask);
            if s < first || s >= first + shards.len() {
                continue;
            }
            let eq = |&i: &u32| {
                let i = i as usize;
                if i < base {
                    states.get(i) == c.y.borrow()
                } else {
                    cands[i - base].y.borrow() == c.y.borrow()
                }
            };
            let t = &mut shards[s - first];
            if t.find(c.h, eq).is_none() {
                t.insert_unique(c.h, (base + p) as u32, |&i| {
                    let i = i as usize;
                    if i < base {
                        hash(states.get(i))
                    } else {
                        cands[i - base].h
                    }
                });
                new[p].store(true, Relaxed);
            }
        }
    };
    pool.install(|| {
        use rayon::prelude::*;
        a.index
            .shards
            .par_chunks_mut(per)
            .enumerate()
            .for_each(|(g, shards)| dedup(g, shards));
    });
    let mut number = vec![u32::MAX; cands.len()];
    let mut stopped = Ok(());
    for (p, c) in cands.iter().enumerate() {
        if !new[p].load(Relaxed) {
            continue;
        }
        if let Err(e) = admit(&a) {
            stopped = Err((e, p));
            break;
        }
        number[p] = a.states.count() as u32;
        a.states.put(c.y.borrow());
        a.parent.push(c.from);
        a.via.push(c.via);
    }
    stopped?;
    let number = &number;
    pool.install(|| {
        use rayon::prelude::*;
        a.index
            .shards
            .par_chunks_mut(per)
            .enumerate()
            .for_each(|(g, shards)| {
                let first = g * per;
                for (p, c) in cands.iter().enumerate() {
                    let s = shard_of(c.h, mask);
                    if number[p] == u32::MAX || s < first || s >= first + shards.len() {
                        continue;
                    }
                    let id = (base + p) as u32;
                    *shards[s - first]
                        .find_mut(c.h, |&i| i == id)
                        .expect("a new state was given a provisional id") = number[p];
                }
            });
    });
    Ok(())
}

#[cfg(not(target_arch = "wasm32"))]
/// A pool of `threads` workers, made once per count and kept: a search on several
/// threads should not pay for starting them, and `matrix` runs hundreds.
fn pool(threads: usize) -> std::sync::Arc<rayon::ThreadPool> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>> = OnceLock::new();
    let mut pools = POOLS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    pools
        .entry(threads)
        .or_insert_with(|| {
            Arc::new(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .thread_name(|i| format!("tornsim-check-{i}"))
                    .build()
                    .expect("the checker's worker threads start"),
            )
        })
        .clone()
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    /// A state's shard is the hash's bits from 40 up, under the mask: bits that
    /// hashbrown reads for neither the bucket nor the tag.
    #[test]
    fn a_hash_goes_to_the_shard_its_bits_from_40_name() {
        assert_eq!(shard_of(42 << 40 | 0xff_ffff_ffff, 63), 42);
        assert_eq!(shard_of(1 << 46 | 3 << 40, 63), 3, "bits past the mask");
        assert_eq!(shard_of(u64::MAX, 0), 0, "one shard");
        let mut ix = Index::new(64);
        let h = 7 << 40 | 5;
        ix.insert(h, 0, |_| h);
        assert_eq!(ix.shards[7].len(), 1, "stored in its shard");
        assert_eq!(ix.shards.iter().map(HashTable::len).sum::<usize>(), 1);
        assert!(ix.contains(h, |&i| i == 0));
        assert_eq!(ix.find(h, |&i| i == 0), Some(0));
    }

    /// One thread searches alone over one shard; more share a pool over 64 shards.
    #[test]
    fn several_threads_get_a_pool_and_a_sharded_index() {
        let (pool, ix) = workers(1);
        assert!(pool.is_none());
        assert_eq!(ix.shards.len(), 1);
        for threads in [2, 4] {
            let (pool, ix) = workers(threads);
            assert_eq!(
                pool.map(|p| p.current_num_threads()),
                Some(threads as usize)
            );
            assert_eq!(ix.shards.len(), PAR_SHARDS);
        }
    }

    /// Strings read back as they were put, in order, across chunks: one that does not
    /// fit in what is left of a chunk starts the next, one longer than a chunk gets one
    /// of its own, and a full chunk keeps its place (the strings in it do not move).
    #[test]
    fn strings_read_back_as_put_across_chunks() {
        let mut st = Strings::default();
        let big = Strings::CHUNK + 3;
        let lens = [5, Strings::CHUNK - 7, 2, 6, big, 0, 1];
        let put: Vec<Vec<u8>> = lens
            .iter()
            .enumerate()
            .map(|(k, &n)| (0..n).map(|i| (i * 7 + k) as u8).collect())
            .collect();
        let mut first = None;
        for (k, x) in put.iter().enumerate() {
            st.put(x);
            if k == 0 {
                first = Some(st.chunks[0].as_ptr());
            }
        }
        assert_eq!(st.count(), put.len());
        for (k, x) in put.iter().enumerate() {
            assert_eq!(st.get(k), &x[..], "string {k}");
        }
        // 5 + (CHUNK - 7) + 2 fill the first; 6 does not fit in it.
        let chunk = |k: usize| st.at[k].0;
        assert_eq!([chunk(0), chunk(1), chunk(2), chunk(3)], [0, 0, 0, 1]);
        assert_eq!((chunk(4), st.chunks[2].len()), (2, big), "its own chunk");
        assert_eq!(chunk(6), 3, "after the long one, a new chunk");
        assert_eq!(Some(st.chunks[0].as_ptr()), first, "a chunk never moves");
        let mut v = vec![1u128];
        v.put(&9);
        assert_eq!((v.count(), *Store::get(&v, 1)), (2, 9));
    }

    /// A worker keeps a successor once, and not at all if the index already holds it.
    #[test]
    fn a_worker_keeps_a_new_successor_once_and_a_stored_one_never() {
        let hash = |s: &u64| s.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let states = vec![10u64];
        let mut ix = Index::new(PAR_SHARDS);
        ix.insert(hash(&10), 0, |s| hash(&states[*s as usize]));
        let mut e = Emitter {
            states: &states,
            index: &ix,
            hash: &hash,
            local: HashTable::new(),
            cands: Vec::new(),
            from: 0,
            transitions: 0,
        };
        e.emit('a', &10);
        assert!(e.cands.is_empty(), "the index holds it");
        e.emit('b', &11);
        e.emit('c', &11);
        e.emit('d', &12);
        let kept: Vec<(u64, char)> = e.cands.iter().map(|c| (c.y, c.via)).collect();
        assert_eq!(kept, [(11, 'b'), (12, 'd')]);
    }
}
