//! A search split over parts that share no memory gives the one-thread answer: every
//! built-in scenario and matrix cell, on 1 to 4 parts, with messages delivered in any
//! order a transport may deliver them (each channel in order, channels interleaved).

use super::tests::{enough_hazards, every_scenario_and_matrix_cell};
use super::*;
use crate::preset;
use std::collections::VecDeque;

/// Checks with `n` parts, delivering the messages of a random channel next, where a
/// channel is one sender to one receiver (in order, as a `MessagePort` delivers).
fn shuffled(cfg: &Config, opts: CheckOptions, n: usize, seed: u64) -> CheckResult {
    // Searches numbered as a transport reusing its parts numbers them.
    let mut c = Coordinator::new(cfg, opts, n)
        .unwrap()
        .numbered_from(seed as u32 % 1000 * 16);
    let mut parts = parts_of(cfg, opts, n);
    // Channel (from, to): `n` is the coordinator.
    let mut chans: Vec<VecDeque<Vec<u8>>> = vec![VecDeque::new(); (n + 1) * (n + 1)];
    let mut rng = seed | 1;
    let mut out = Vec::new();
    c.start(&mut out);
    let mut from = n;
    loop {
        for p in out.drain(..) {
            let to: Vec<usize> = match p.to {
                To::All => (0..n).collect(),
                To::Part(j) => vec![j],
                To::Coordinator => vec![n],
            };
            for t in to {
                chans[from * (n + 1) + t].push_back(p.bytes.clone());
            }
        }
        if let Some(r) = c.result() {
            assert!(chans.iter().all(VecDeque::is_empty) || r.verdict != Verdict::Safe);
            return r.clone();
        }
        let live: Vec<usize> = (0..chans.len()).filter(|&i| !chans[i].is_empty()).collect();
        assert!(!live.is_empty(), "a check ends with a result");
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let ch = live[(rng % live.len() as u64) as usize];
        let bytes = chans[ch].pop_front().unwrap();
        let to = ch % (n + 1);
        from = to;
        if to == n {
            c.handle(&bytes, &mut out);
        } else {
            parts[to].handle(bytes, &mut out);
        }
    }
}

fn same(a: &CheckResult, b: &CheckResult, at: &str) {
    assert_eq!(a.verdict, b.verdict, "{at}");
    assert_eq!(
        (a.states, a.transitions, a.depth, a.stopped_by),
        (b.states, b.transitions, b.depth, b.stopped_by),
        "{at}"
    );
    assert_eq!(a.witness, b.witness, "{at}");
}

/// Delivers what `out` holds (what the coordinator's start sent) and all it leads to,
/// one message at a time in the order sent, until the coordinator has a result;
/// `after` sees each message once it is handled, with its receiver (`None`: the
/// coordinator).
fn in_order(
    c: &mut Coordinator,
    parts: &mut [Part],
    mut out: Vec<Post>,
    mut after: impl FnMut(Option<usize>, &[u8], &mut [Part], &Coordinator),
) -> CheckResult {
    let mut queue = VecDeque::new();
    while c.result().is_none() {
        for p in out.drain(..) {
            match p.to {
                To::All => queue.extend((0..parts.len()).map(|j| (Some(j), p.bytes.clone()))),
                To::Part(j) => queue.push_back((Some(j), p.bytes)),
                To::Coordinator => queue.push_back((None, p.bytes)),
            }
        }
        let (to, bytes) = queue.pop_front().expect("a check ends with a result");
        match to {
            Some(j) => parts[j].handle(bytes.clone(), &mut out),
            None => c.handle(&bytes, &mut out),
        }
        after(to, &bytes, parts, c);
    }
    c.result().unwrap().clone()
}

/// The bytes the memory budget counts for a part's store with room for `states` states
/// and `index` index slots, from the element sizes: a state's are itself, its parent,
/// choice, global index, and its places in global order and in the frontier; an index
/// slot's, a `u32` and a control byte.
fn store_bytes(states: usize, index: usize) -> u64 {
    use std::mem::size_of;
    let state = size_of::<u128>() + 4 * size_of::<u32>() + size_of::<u8>();
    (states * state + index * (size_of::<u32>() + 1)) as u64
}

/// The `n` parts of a search of `cfg`.
fn parts_of(cfg: &Config, opts: CheckOptions, n: usize) -> Vec<Part> {
    (0..n)
        .map(|me| Part::new(cfg, opts, me, n).unwrap())
        .collect()
}

/// Parts of `n` for `cfg`, and what their coordinator's start sent.
fn started(
    cfg: &Config,
    opts: CheckOptions,
    n: usize,
    c: &mut Coordinator,
) -> (Vec<Part>, Vec<Post>) {
    let mut out = Vec::new();
    c.start(&mut out);
    (parts_of(cfg, opts, n), out)
}

#[test]
fn parts_give_the_one_thread_answer_whatever_the_delivery_order() {
    let all = every_scenario_and_matrix_cell();
    let mut hazards = 0;
    for (k, (name, cfg)) in all.iter().enumerate() {
        let opts = CheckOptions::default();
        let one = check(cfg, opts).unwrap();
        for n in [1, 2, 3, 4] {
            let at = format!("{name}, {}, {n} parts", cfg.summary());
            same(&check_in_parts(cfg, opts, n).unwrap(), &one, &at);
            if n > 1 {
                same(&shuffled(cfg, opts, n, k as u64 * 7 + n as u64), &one, &at);
            }
        }
        hazards += one.witness.is_some() as u32;
    }
    enough_hazards(hazards, all.len());
}

/// The state budget stops the parts where it stops one thread, at every layer of the
/// search, and a hazard met after the refused state does not count.
#[test]
fn parts_stop_at_the_state_budget_where_one_thread_does() {
    let cfg = Config {
        readers: 3,
        ..preset("merged").unwrap().config
    };
    let torn = preset("seed-thread-v1").unwrap().config;
    // Around the budget that the whole search fills exactly, and the one that the
    // states stored before the hazard fill: the refusal and the hazard in one layer.
    let all = check(&cfg, CheckOptions::default()).unwrap().states;
    let at_hazard = check(&torn, CheckOptions::default()).unwrap().states;
    let merged = [1, 2, 7, 100, 4_000, all - 1, all, all + 1];
    let torn_at = [5, 60, 300, at_hazard - 1, at_hazard, at_hazard + 1];
    for (cfg, budgets) in [(&cfg, &merged[..]), (&torn, &torn_at[..])] {
        for &max_states in budgets {
            let opts = CheckOptions {
                max_states,
                ..CheckOptions::default()
            };
            let one = check(cfg, opts).unwrap();
            for n in [2, 3] {
                let at = format!("{} at {max_states} states, {n} parts", cfg.summary());
                same(&shuffled(cfg, opts, n, max_states), &one, &at);
            }
        }
    }
}

/// The memory budget, split between the parts, stops the search with `incomplete`
/// before the store outgrows it.
#[test]
fn parts_share_the_memory_budget() {
    let cfg = Config {
        readers: 4,
        ..preset("merged").unwrap().config
    };
    let full = check(&cfg, CheckOptions::default()).unwrap();
    let all = full.states;
    let opts = CheckOptions {
        max_bytes: 1 << 20,
        ..CheckOptions::default()
    };
    for n in [1, 2, 3] {
        let r = check_in_parts(&cfg, opts, n).unwrap();
        assert_eq!(r.stopped_by, Some(Budget::Memory), "{n} parts");
        assert!(r.peak_bytes <= 1 << 20, "{n} parts: {}", r.peak_bytes);
        assert!(
            r.states > 1_000 && r.states < all,
            "{n} parts: {} of {all}",
            r.states
        );
        // Every stored state but the first was reached by a transition taken.
        assert!(
            r.transitions >= r.states - 1 && r.transitions < full.transitions,
            "{n} parts: {} transitions",
            r.transitions
        );
    }
}

/// What the parts send each other survives the trip as bytes, and bytes no part wrote
/// are refused.
#[test]
fn messages_read_back_as_written() {
    use super::wire::{Met, Msg};
    let msgs = [
        Msg::Start {
            search: 3,
            table: 0x1234_5678_9abc,
            reduce: true,
        },
        Msg::Number {
            search: 4,
            first: 77,
            go: true,
            owners: vec![0, 1, 1, 0],
        },
        Msg::Count {
            search: 5,
            below: 12,
        },
        Msg::Ask { search: 6, idx: 99 },
        Msg::Batch {
            search: 7,
            layer: 2,
            body: vec![7; 50],
        },
        Msg::Expanded {
            search: 8,
            layer: 3,
            transitions: 1 << 40,
            met: None,
        },
        Msg::Expanded {
            search: 8,
            layer: 3,
            transitions: 5,
            met: Some(Met {
                key: 5 << 32 | 3,
                hazard: 1,
                step: 130,
            }),
        },
        Msg::Keys {
            search: 9,
            layer: 4,
            part: 2,
            bytes: 1 << 33,
            full: true,
            keys: vec![1, 2 << 32],
        },
        Msg::Counted {
            search: 10,
            transitions: 123,
        },
        Msg::Parent {
            search: 11,
            idx: 5,
            parent: u32::MAX,
            state: u128::MAX - 5,
        },
    ];
    for m in msgs {
        assert_eq!(Msg::decode(&m.encode()), Some(m.clone()), "{m:?}");
        let b = m.encode();
        assert_eq!(Msg::decode(&b[..b.len().min(4)]), None, "{m:?} cut short");
    }
    assert_eq!(Msg::decode(&[]), None);
    assert_eq!(Msg::decode(&[9, 0, 0, 0, 0]), None);
    assert_eq!(Msg::decode(&[4, 0, 0, 0, 0, 0, 0, 0, 0, 1]), None);
}

/// The coordinator's progress: nothing before it starts, rising counts through every
/// allocation class, the result's counts at the end; and a second start sends nothing.
#[test]
fn the_coordinator_reports_progress_and_starts_once() {
    let cfg = Config {
        alloc: crate::config::Alloc::Random,
        ..preset("merged").unwrap().config
    };
    let opts = CheckOptions::default();
    let n = 2;
    let mut c = Coordinator::new(&cfg, opts, n).unwrap();
    let p0 = c.progress();
    assert_eq!(
        (p0.states, p0.transitions, p0.depth, p0.frontier),
        (0, 0, 0, 0)
    );
    assert_eq!((p0.class, p0.classes), (1, 5));
    let (mut parts, mut out) = started(&cfg, opts, n, &mut c);
    let sent = out.len();
    c.start(&mut out);
    assert_eq!(out.len(), sent, "a second start sends nothing");
    let (mut last, mut classes, mut layers) = (p0, vec![], 0);
    let r = in_order(&mut c, &mut parts, out, |_, _, _, c| {
        let p = c.progress();
        assert!(
            p.states >= last.states && p.transitions >= last.transitions,
            "{p:?}"
        );
        assert!((1..=5).contains(&p.class) && p.classes == 5, "{p:?}");
        if p.class == last.class && c.result().is_none() {
            assert!(p.depth >= last.depth, "{p:?} after {last:?}");
            layers += (p.depth > last.depth) as u32;
            assert!(p.frontier >= 1, "{p:?}");
        }
        if !classes.contains(&p.class) {
            classes.push(p.class);
        }
        last = p;
    });
    same(&r, &check(&cfg, opts).unwrap(), "merged, alloc = random");
    assert_eq!(
        (last.states, last.transitions, last.depth),
        (r.states, r.transitions, r.depth)
    );
    assert_eq!(classes, [1, 2, 3, 4, 5]);
    assert!(layers > 10, "{layers}");
}

/// A state's owner among the parts is its hash's bits 24 to 39 scaled to the part
/// count: every part owns a share (the page's workers split the states evenly), which
/// the answer-level tests cannot see, since any split gives the same answer.
#[test]
fn each_part_owns_its_share_of_the_hashes() {
    use super::part::owner;
    assert_eq!(owner(0, 4), 0);
    assert_eq!(owner(0x8000 << 24, 2), 1);
    assert_eq!(owner(0xffff << 24 | 0xff_ffff, 4), 3);
    assert_eq!(owner(0x4000 << 24 | 1 << 40, 4), 1, "bits past 39 ignored");
    for n in 1..=8usize {
        let mut seen = vec![0u32; n];
        for k in 0..4096u64 {
            seen[owner(k << 28, n)] += 1;
        }
        assert!(seen.iter().all(|&c| c > 0), "{n} parts: {seen:?}");
    }
}

/// A part drops what a finished search sent it, and a batch of a layer it has left,
/// instead of keeping them: kept, each would be retried on every message for the rest
/// of the search (the answers cannot show it; what the part holds can).
#[test]
fn a_part_drops_what_an_old_search_or_an_old_layer_sent_it() {
    use super::part::Head;
    let cfg = preset("merged").unwrap().config;
    let opts = CheckOptions::default();
    let n = 2;
    // Delivers in order, each message to part 0 also into `got`; `hook` runs after
    // each of part 0's messages.
    fn drive(
        c: &mut Coordinator,
        parts: &mut [Part],
        got: &mut Vec<Vec<u8>>,
        mut hook: impl FnMut(&mut Part, &[Vec<u8>]),
    ) -> CheckResult {
        let mut out = Vec::new();
        c.start(&mut out);
        in_order(c, parts, out, |to, bytes, parts, _| {
            if to == Some(0) {
                got.push(bytes.to_vec());
                hook(&mut parts[0], got);
            }
        })
    }
    let mut parts = parts_of(&cfg, opts, n);
    let one = check(&cfg, opts).unwrap();
    let mut old = Vec::new();
    let mut c = Coordinator::new(&cfg, opts, n).unwrap();
    same(
        &drive(&mut c, &mut parts, &mut old, |_, _| {}),
        &one,
        "first search",
    );
    let mut c = Coordinator::new(&cfg, opts, n).unwrap().numbered_from(16);
    let (mut stale, mut left_behind) = (0, 0);
    let mut now = Vec::new();
    let r = drive(&mut c, &mut parts, &mut now, |p, got| {
        let (kept, at) = p.kept_and_at();
        let Some((_, layer)) = at else { return };
        let mut none = Vec::new();
        for b in &old {
            p.handle(b.clone(), &mut none);
            stale += 1;
        }
        for b in got {
            let h = Head::of(b).unwrap();
            if h.tag == 4 && h.layer < layer {
                p.handle(b.clone(), &mut none);
                left_behind += 1;
            }
        }
        assert!(
            none.is_empty(),
            "a dropped message sent {} posts",
            none.len()
        );
        assert_eq!(p.kept_and_at(), (kept, at), "a dropped message was kept");
    });
    same(&r, &one, "second search, old messages delivered again");
    assert!(
        stale > 1_000 && left_behind > 100,
        "{stale} stale, {left_behind} of old layers"
    );
}

/// A part of several grows its store ahead of need, from the global count, so that the
/// parts grow in the same layer (one part grows as a search on one thread does, as
/// states come): once a layer is numbered, with `total` states numbered in all, each
/// part's vectors and index have room for 5/4 of its share (1,024 at least), and its
/// vectors no more than twice what that or its stored states ask (the vectors pushed
/// together, all the same room). The memory budget refuses a state only when the
/// vectors are full or that room would pass it, and a part's store grows no more after.
/// The answers cannot show any of it (a store grows by itself as states come, and a
/// split search's budget stops it somewhere in the layer); what a part holds can.
#[test]
fn a_part_grows_its_store_ahead_of_its_share_and_not_once_full() {
    use super::part::Room;
    // The index's room for `x` states: a power of two of buckets, 7/8 of them used.
    let hash_room = |x: usize| (x * 8).div_ceil(7).next_power_of_two() / 8 * 7;
    // (the result; layers numbered while the room was past the least; parts that
    // filled as the store refused a state and as `grow` did; each part's store once
    // it numbered the first layer)
    let run = |readers: u32, max_bytes: u64, n: usize| {
        let cfg = Config {
            readers,
            ..preset("merged").unwrap().config
        };
        let opts = CheckOptions {
            max_bytes,
            ..CheckOptions::default()
        };
        let mut c = Coordinator::new(&cfg, opts, n).unwrap();
        let (mut parts, out) = started(&cfg, opts, n, &mut c);
        // Before its start, a part has no store.
        let mut at = vec![Room::default(); n];
        let mut full: Vec<Option<Room>> = vec![None; n];
        let (mut past_the_least, mut kinds) = (0, [0; 2]);
        let mut first = vec![None; n];
        let r = in_order(&mut c, &mut parts, out, |to, _, parts, c| {
            let Some(j) = to else { return };
            let (room, was) = (parts[j].room().unwrap(), at[j]);
            at[j] = room;
            let numbered = room.layer > was.layer;
            if numbered && room.layer == 1 {
                first[j] = Some(room);
            }
            // One class of tables: the coordinator's count is the states numbered.
            let share = c.progress().states as usize / n * 5 / 4;
            let need = share.max(1 << 10);
            let here = format!(
                "part {j} of {n}, layer {}: {room:?}, need {need}",
                room.layer
            );
            // Once grown together (to 1,024 at least), they double together.
            let lockstep = room.pushed.iter().all(|&c| c == room.vecs);
            assert!(n == 1 || room.vecs < 1 << 10 || lockstep, "{here}");
            if let Some(f) = full[j] {
                assert_eq!(
                    (room.vecs, room.index),
                    (f.vecs, f.index),
                    "grew once full: {here}"
                );
            } else if room.full {
                let refused = room.stored == room.vecs;
                let short = n > 1 && numbered && (was.vecs < need || was.index < need);
                assert!(refused || short, "full with room: {here}, before {was:?}");
                kinds[short as usize] += 1;
                full[j] = Some(room);
            } else if numbered && n == 1 {
                // One part grows as a search on one thread does: as states come.
                assert!(room.vecs <= (2 * room.stored).max(4), "{here}");
            } else if numbered {
                assert!(room.vecs >= need && room.index >= need, "{here}");
                assert!(room.by_gidx >= need, "{here}");
                assert!(room.by_gidx <= 2 * need.max(room.stored), "{here}");
                let asked = need.max(2 * was.index).max(room.stored);
                assert!(room.index <= hash_room(asked), "{here}, before {was:?}");
                assert!(room.vecs <= 2 * need.max(room.stored), "{here}");
                past_the_least += (share > 1 << 10) as u32;
            }
        });
        (r, past_the_least, kinds, first)
    };
    for n in [1, 2, 3] {
        let (r, past_the_least, kinds, _) = run(3, CheckOptions::default().max_bytes, n);
        assert_eq!((r.stopped_by, kinds), (None, [0, 0]), "{n} parts");
        assert!(
            n == 1 || past_the_least > 3 * n as u32,
            "{n} parts: {past_the_least}"
        );
        let mut both = [0; 2];
        for budget in (17..22).map(|b| 1u64 << b) {
            let (r, _, kinds, _) = run(4, budget, n);
            assert_eq!(
                r.stopped_by,
                Some(Budget::Memory),
                "{n} parts, {budget} bytes"
            );
            assert!(kinds != [0, 0], "{n} parts, {budget} bytes");
            both = [both[0] + kinds[0], both[1] + kinds[1]];
        }
        assert!(
            both[0] > 0 && (n == 1 || both[1] > 0),
            "{n} parts: {both:?}"
        );
    }
    // At the budget's edge: room for the least (1,024 states) whose bytes are a part's
    // share of the budget exactly is taken when the first layer is numbered; a byte
    // less, and the part is full then.
    let edge = store_bytes(1024, 1024 * 8 / 7);
    for n in [2, 3] {
        for (share, filled) in [(edge, false), (edge - 1, true)] {
            let (_, _, _, first) = run(4, share * n as u64, n);
            for (j, f) in first.iter().enumerate() {
                let f = f.unwrap();
                let at = format!("part {j} of {n}, {share} bytes each: {f:?}");
                assert_eq!(f.full, filled, "{at}");
                assert_eq!(f.vecs >= 1024, !filled, "{at}");
            }
        }
    }
}

/// The bytes a part reports with its keys (for the coordinator's peak and the memory
/// budget) are what its store holds: every slot of its vectors at its element's size,
/// the index's with its control byte.
#[test]
fn a_part_reports_the_bytes_its_store_holds() {
    use super::wire::Msg;
    use std::mem::size_of;
    let cfg = Config {
        readers: 3,
        ..preset("merged").unwrap().config
    };
    for n in [1, 2, 3] {
        let opts = CheckOptions::default();
        let mut c = Coordinator::new(&cfg, opts, n).unwrap();
        let (mut parts, out) = started(&cfg, opts, n, &mut c);
        // Reports seen, and the most room each vector but the states' had in them: a
        // vector with none in all of them would weigh nothing in any.
        let (mut reports, mut most) = (0, [0; 7]);
        in_order(&mut c, &mut parts, out, |to, bytes, parts, _| {
            let (None, Some(Msg::Keys { part, bytes, .. })) = (to, Msg::decode(bytes)) else {
                return;
            };
            let room = parts[part as usize].room().unwrap();
            let [parent, via, gidx] = room.pushed;
            let want = room.vecs * size_of::<u128>()
                + (parent + gidx) * size_of::<u32>()
                + via * size_of::<u8>()
                + room.index * (size_of::<u32>() + 1)
                + (room.by_gidx + room.frontier) * size_of::<u32>()
                + room.keys * size_of::<u64>();
            assert_eq!(bytes, want as u64, "part {part} of {n}: {room:?}");
            reports += 1;
            let rooms = [
                parent,
                via,
                gidx,
                room.index,
                room.by_gidx,
                room.frontier,
                room.keys,
            ];
            for (m, r) in most.iter_mut().zip(rooms) {
                *m = r.max(*m);
            }
        });
        assert!(reports > 3 * n, "{n} parts: {reports} reports");
        assert!(most.iter().all(|&m| m > 1), "{n} parts: {most:?}");
    }
}

/// One part stores as a search on one thread does: at capacity, it refuses a state
/// where twice the bytes its store holds would pass the budget, and not at the budget.
#[test]
fn one_part_refuses_a_state_where_doubling_its_store_would_pass_the_budget() {
    let cfg = Config {
        readers: 4,
        ..preset("merged").unwrap().config
    };
    // How the search stopped, and the part's store then.
    let last = |max_bytes| {
        let opts = CheckOptions {
            max_bytes,
            ..CheckOptions::default()
        };
        let mut c = Coordinator::new(&cfg, opts, 1).unwrap();
        let (mut parts, out) = started(&cfg, opts, 1, &mut c);
        let r = in_order(&mut c, &mut parts, out, |_, _, _, _| {});
        (r.stopped_by, parts[0].room().unwrap())
    };
    let budget = 1 << 20;
    let (stopped, full) = last(budget);
    assert_eq!(stopped, Some(Budget::Memory));
    assert!(full.full && full.stored == full.vecs, "{full:?}");
    // What the store held as it refused (nothing was stored after).
    let held = store_bytes(full.vecs, full.index);
    assert!(
        held <= budget && 2 * held > budget,
        "{held} bytes: {full:?}"
    );
    let (_, at_edge) = last(2 * held);
    assert!(at_edge.vecs > full.vecs, "{at_edge:?}, before {full:?}");
    assert_eq!(last(2 * held - 1), (stopped, full));
}
