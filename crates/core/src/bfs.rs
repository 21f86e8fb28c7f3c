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

    /// Whether a stored state with hash `h` satisfies `eq`.
    #[inline(always)]
    pub(crate) fn contains(&self, h: u64, eq: impl FnMut(&u32) -> bool) -> bool {
        self.shards[self.shard(h)].find(h, eq).is_some()
    }

    /// The stored position whose state has hash `h` and satisfies `eq`.
    #[inline(always)]
    pub(crate) fn find(&self, h: u64, eq: impl FnMut(&u32) -> bool) -> Option<u32> {
        self.shards[self.shard(h)].find(h, eq).copied()
    }

    /// Adds position `i`, whose state hashes to `h`; `hasher` rehashes stored positions.
    #[inline(always)]
    pub(crate) fn insert(&mut self, h: u64, i: u32, hasher: impl Fn(&u32) -> u64) {
        let s = self.shard(h);
        self.shards[s].insert_unique(h, i, hasher);
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
pub(crate) struct Emitter<'a, S, V, H> {
    states: &'a [S],
    index: &'a Index,
    hash: &'a H,
    /// This worker's candidates so far, by hash: most successors a layer repeats are
    /// siblings' (the diamonds of independent steps), which the same worker finds.
    local: HashTable<u32>,
    cands: Vec<Cand<S, V>>,
    /// The state being expanded.
    pub(crate) from: u32,
    pub(crate) transitions: u64,
}

#[cfg(not(target_arch = "wasm32"))]
impl<S: Eq + Clone, V, H: Fn(&S) -> u64> Emitter<'_, S, V, H> {
    /// Keeps `y`, reached from the state being expanded by `via`, unless this worker
    /// has it already or the index holds it.
    #[inline(always)]
    pub(crate) fn emit(&mut self, via: V, y: &S) {
        let h = (self.hash)(y);
        let (cands, states) = (&self.cands, self.states);
        if self.local.find(h, |&k| cands[k as usize].y == *y).is_some()
            || self.index.contains(h, |&i| states[i as usize] == *y)
        {
            return;
        }
        self.local
            .insert_unique(h, cands.len() as u32, |&k| cands[k as usize].h);
        self.cands.push(Cand {
            y: y.clone(),
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
pub(crate) fn expand_round<S, V, X, W, H>(
    pool: &rayon::ThreadPool,
    states: &[S],
    index: &Index,
    hash: &H,
    (lo, n): (usize, usize),
    chunk_min: usize,
    worker: impl Fn() -> W + Sync + Send,
    expand: impl Fn(&mut W, &S, &mut Emitter<'_, S, V, H>) -> Option<X> + Sync + Send,
) -> Round<S, V, X>
where
    S: Eq + Clone + Send + Sync,
    V: Copy + Send + Sync,
    X: Send,
    H: Fn(&S) -> u64 + Sync,
{
    use rayon::prelude::*;
    // Eight runs a worker: enough to even out runs of unequal cost.
    let chunk = n.div_ceil(pool.current_num_threads() * 8).max(chunk_min);
    let parts: Vec<Round<S, V, X>> = pool.install(|| {
        states[lo..lo + n]
            .par_chunks(chunk)
            .enumerate()
            .map_init(&worker, |w, (k, xs)| {
                let mut e = Emitter {
                    states,
                    index,
                    hash,
                    local: HashTable::new(),
                    cands: Vec::with_capacity(xs.len() * 2),
                    from: 0,
                    transitions: 0,
                };
                let mut stop = None;
                for (j, x) in xs.iter().enumerate() {
                    e.from = (lo + k * chunk + j) as u32;
                    stop = expand(w, x, &mut e);
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
pub(crate) struct Arena<'a, S, V> {
    pub(crate) states: &'a mut Vec<S>,
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
pub(crate) fn merge<S, V, E>(
    pool: &rayon::ThreadPool,
    a: Arena<'_, S, V>,
    cands: &[Cand<S, V>],
    hash: impl Fn(&S) -> u64 + Sync,
    mut admit: impl FnMut(&Arena<'_, S, V>) -> Result<(), E>,
) -> Result<(), (E, usize)>
where
    S: Eq + Clone + Sync + Send,
    V: Copy + Sync + Send,
{
    let base = a.states.len();
    assert!(
        base + cands.len() < u32::MAX as usize,
        "positions fit in 32 bits"
    );
    let new: Vec<AtomicBool> = (0..cands.len()).map(|_| AtomicBool::new(false)).collect();
    let groups = pool.current_num_threads().clamp(1, a.index.shards.len());
    let per = a.index.shards.len().div_ceil(groups);
    let mask = a.index.mask;
    let states: &Vec<S> = &*a.states;
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
                    states[i] == c.y
                } else {
                    cands[i - base].y == c.y
                }
            };
            let t = &mut shards[s - first];
            if t.find(c.h, eq).is_none() {
                t.insert_unique(c.h, (base + p) as u32, |&i| {
                    let i = i as usize;
                    if i < base {
                        hash(&states[i])
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
        number[p] = a.states.len() as u32;
        a.states.push(c.y.clone());
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
