//! The coordinator of a search split over parts (`part`): it numbers each layer from the
//! parts' sorted keys, finds where one thread would stop (the least hazard met, or the
//! state the budget refuses) and the transitions taken up to there, walks the witness's
//! states back from their owners, and runs the checker's searches in the order
//! [`Checker`](super::Checker) does (each allocation class; the shortest witness without
//! reductions), so that its result is [`check`](super::check)'s.

use super::options::{Budget, CheckError, CheckOptions, CheckProgress, CheckResult};
use super::part::{hazard_of, Part};
use super::search::Search;
use super::wire::{Met, Msg, Post, To, NO_STEP};
use crate::config::{Alloc, Config};
use crate::hazard::Verdict;
use crate::machine::{default_table, Choice, Hazard};
use crate::schedule::Schedule;

/// Where a search stopped inside a layer, and the states stored when it did.
#[derive(Clone, Copy, Debug)]
enum Stop {
    Hazard(Met),
    /// The state budget refused the state first reached at this key.
    States(u64),
}

impl Stop {
    fn key(self) -> u64 {
        match self {
            Stop::Hazard(m) => m.key,
            Stop::States(k) => k,
        }
    }
}

/// What the coordinator waits for.
#[derive(Debug)]
enum Wait {
    /// Every part's `Expanded` and `Keys` for the layer.
    Layer,
    /// Every part's count of the transitions before the stop.
    Count {
        stop: Stop,
        sum: u64,
        replies: usize,
    },
    /// The owner of the next state back on the witness's path.
    Walk { met: Met, path: Vec<u128> },
}

/// One search of the parts.
#[derive(Debug)]
struct Run {
    id: u32,
    table: u64,
    opts: CheckOptions,
    layer: u32,
    /// States stored so far (every numbered layer), transitions taken before the layer.
    stored: u64,
    transitions: u64,
    frontier: u64,
    peak_bytes: u64,
    expanded: Vec<Option<(u64, Option<Met>)>>,
    keys: Vec<Option<(Vec<u64>, u64, bool)>>,
    wait: Wait,
    /// For the search of the full graph after a hazard: what the first search found.
    first: Option<(Schedule, Hazard)>,
}

/// How a search of the parts ended.
enum End {
    Exhausted,
    OutOf(Budget),
    Hazard(Schedule, Hazard),
}

/// Coordinates `n` parts through one check of a configuration.
pub struct Coordinator {
    cfg: Config,
    opts: CheckOptions,
    n: usize,
    tables: Vec<u64>,
    class: usize,
    next_id: u32,
    run: Option<Run>,
    totals: CheckResult,
    result: Option<CheckResult>,
}

impl Coordinator {
    /// A check of `cfg` by `n` parts (1 to 256), each made by [`Part::new`] with the same
    /// configuration and options; [`Coordinator::start`] sends the first messages.
    pub fn new(cfg: &Config, opts: CheckOptions, n: usize) -> Result<Coordinator, CheckError> {
        cfg.validate().map_err(CheckError::Config)?;
        assert!((1..=256).contains(&n), "{n} parts");
        let tables = match cfg.alloc {
            Alloc::Random => super::options::random_classes().to_vec(),
            a => vec![default_table(a)],
        };
        // The errors a search can meet, met here rather than in a part.
        Search::new(cfg, tables[0], opts, 1)?;
        Ok(Coordinator {
            cfg: cfg.clone(),
            opts,
            n,
            tables,
            class: 0,
            next_id: 1,
            run: None,
            totals: CheckResult::nothing_yet(),
            result: None,
        })
    }

    /// Numbers this check's searches from `first` on (each check takes at most ten):
    /// parts drop a message of a search before their current one, so a transport that
    /// reuses its parts for the next check gives it higher numbers, and the messages
    /// still on their way from a check it dropped are not taken for the new one's.
    pub fn numbered_from(mut self, first: u32) -> Coordinator {
        self.next_id = first.max(1);
        self
    }

    /// The first messages.
    pub fn start(&mut self, out: &mut Vec<Post>) {
        if self.run.is_none() && self.result.is_none() {
            self.begin(self.tables[0], self.opts, None, out);
        }
    }

    /// The result, once the check is over.
    pub fn result(&self) -> Option<&CheckResult> {
        self.result.as_ref()
    }

    pub fn progress(&self) -> CheckProgress {
        let mut p = CheckProgress {
            states: self.totals.states,
            transitions: self.totals.transitions,
            depth: self.totals.depth,
            frontier: 0,
            class: self.class.min(self.tables.len() - 1) as u32 + 1,
            classes: self.tables.len() as u32,
        };
        if let Some(r) = self.run.as_ref().filter(|r| r.first.is_none()) {
            p.states += r.stored;
            p.transitions += r.transitions;
            p.depth = p.depth.max(r.layer);
            p.frontier = r.frontier;
        }
        p
    }

    fn begin(
        &mut self,
        table: u64,
        opts: CheckOptions,
        first: Option<(Schedule, Hazard)>,
        out: &mut Vec<Post>,
    ) {
        let id = self.next_id;
        self.next_id += 1;
        self.run = Some(Run {
            id,
            table,
            opts,
            layer: 0,
            stored: 1,
            transitions: 0,
            frontier: 1,
            peak_bytes: 0,
            expanded: vec![None; self.n],
            keys: vec![None; self.n],
            wait: Wait::Layer,
            first,
        });
        let msg = Msg::Start {
            search: id,
            table,
            reduce: opts.reduce,
        };
        all(out, msg);
    }

    /// Takes a part's message; appends what the coordinator sends on.
    pub fn handle(&mut self, bytes: &[u8], out: &mut Vec<Post>) {
        let Some(msg) = Msg::decode(bytes) else {
            return;
        };
        let Some(run) = self.run.as_mut().filter(|r| r.id == msg.search()) else {
            return;
        };
        match (msg, &mut run.wait) {
            (
                Msg::Expanded {
                    layer,
                    transitions,
                    met,
                    ..
                },
                Wait::Layer,
            ) if layer == run.layer => {
                let slot = run.expanded.iter_mut().find(|e| e.is_none());
                *slot.expect("one report a part") = Some((transitions, met));
                self.layer_done(out);
            }
            (
                Msg::Keys {
                    layer,
                    part,
                    bytes,
                    full,
                    keys,
                    ..
                },
                Wait::Layer,
            ) if layer == run.layer && (part as usize) < self.n => {
                run.keys[part as usize] = Some((keys, bytes, full));
                self.layer_done(out);
            }
            (Msg::Counted { transitions, .. }, Wait::Count { sum, replies, .. }) => {
                *sum += transitions;
                *replies += 1;
                if *replies == self.n {
                    self.counted(out);
                }
            }
            (Msg::Parent { parent, state, .. }, Wait::Walk { path, met }) => {
                if parent == u32::MAX {
                    let met = *met;
                    let path = std::mem::take(path);
                    self.walked(met, path, out);
                } else {
                    path.push(state);
                    let id = run.id;
                    all(
                        out,
                        Msg::Ask {
                            search: id,
                            idx: parent,
                        },
                    );
                }
            }
            _ => {}
        }
    }

    /// Once every part has reported the layer: where one thread would stop in it, or
    /// the numbering of its new states.
    fn layer_done(&mut self, out: &mut Vec<Post>) {
        let run = self.run.as_mut().expect("a search runs");
        if run.expanded.iter().any(Option::is_none) || run.keys.iter().any(Option::is_none) {
            return;
        }
        let layer_transitions: u64 = run.expanded.iter().flatten().map(|e| e.0).sum();
        let met = run
            .expanded
            .iter()
            .flatten()
            .filter_map(|e| e.1)
            .min_by_key(|m| m.key);
        let reports: Vec<(Vec<u64>, u64, bool)> =
            run.keys.iter_mut().flatten().map(std::mem::take).collect();
        run.expanded.iter_mut().for_each(|e| *e = None);
        run.keys.iter_mut().for_each(|k| *k = None);
        let bytes: u64 = reports.iter().map(|r| r.1).sum();
        run.peak_bytes = run.peak_bytes.max(bytes);
        if reports.iter().any(|r| r.2) {
            // The counts of the layers finished: the store refused a state somewhere in
            // this one, which parts fill in no one thread's order.
            return self.end(End::OutOf(Budget::Memory), out);
        }
        let merged = merge(&reports);
        let below = met.map_or(merged.len(), |m| {
            merged.partition_point(|&(k, _)| k < m.key)
        });
        let room = run.opts.max_states.saturating_sub(run.stored);
        let stop = if below as u64 > room {
            Some(Stop::States(merged[room as usize].0))
        } else {
            met.map(Stop::Hazard)
        };
        if let Some(stop) = stop {
            run.stored += merged.partition_point(|&(k, _)| k < stop.key()) as u64;
            run.wait = Wait::Count {
                stop,
                sum: 0,
                replies: 0,
            };
            let below = (stop.key() >> 32) as u32;
            let id = run.id;
            return all(out, Msg::Count { search: id, below });
        }
        run.transitions += layer_transitions;
        if merged.is_empty() {
            return self.end(End::Exhausted, out);
        }
        let first = run.stored as u32;
        run.stored += merged.len() as u64;
        run.frontier = merged.len() as u64;
        run.layer += 1;
        let owners = merged.iter().map(|&(_, o)| o).collect();
        let id = run.id;
        all(
            out,
            Msg::Number {
                search: id,
                first,
                go: true,
                owners,
            },
        );
    }

    /// Once every part has counted the transitions before the stop.
    fn counted(&mut self, out: &mut Vec<Post>) {
        let run = self.run.as_mut().expect("a search runs");
        let Wait::Count { stop, sum, .. } = run.wait else {
            unreachable!("counting");
        };
        run.transitions += sum + (stop.key() & u32::MAX as u64);
        match stop {
            Stop::States(_) => self.end(End::OutOf(Budget::States), out),
            Stop::Hazard(met) => {
                run.wait = Wait::Walk {
                    met,
                    path: Vec::new(),
                };
                let idx = (met.key >> 32) as u32;
                let id = run.id;
                all(out, Msg::Ask { search: id, idx });
            }
        }
    }

    /// Once the witness's states are in, from the hazard's state back to the root's child.
    fn walked(&mut self, met: Met, mut path: Vec<u128>, out: &mut Vec<Post>) {
        let run = self.run.as_ref().expect("a search runs");
        path.reverse();
        let step = (met.step != NO_STEP).then(|| Choice::from_code(met.step));
        let s = Search::new(&self.cfg, run.table, run.opts, 1).expect("validated");
        let witness = s.witness_along(&path, step);
        self.end(End::Hazard(witness, hazard_of(met.hazard)), out);
    }

    fn end(&mut self, end: End, out: &mut Vec<Post>) {
        let run = self.run.take().expect("a search runs");
        let t = &mut self.totals;
        t.peak_bytes = t.peak_bytes.max(run.peak_bytes);
        if let Some((witness, hazard)) = run.first {
            // The search of the full graph for a shorter witness: it stands if it found one.
            let (witness, hazard) = match end {
                End::Hazard(w, h) => (w, h),
                _ => (witness, hazard),
            };
            return self.found(witness, hazard);
        }
        t.states += run.stored;
        t.transitions += run.transitions;
        t.depth = t.depth.max(run.layer);
        match end {
            End::Exhausted => {
                self.class += 1;
                match self.tables.get(self.class) {
                    Some(&table) => self.begin(table, self.opts, None, out),
                    None => self.result = Some(self.totals.clone()),
                }
            }
            End::OutOf(b) => {
                self.result = Some(CheckResult {
                    verdict: Verdict::Incomplete,
                    stopped_by: Some(b),
                    ..self.totals.clone()
                })
            }
            End::Hazard(witness, hazard) if run.opts.reduce => {
                // As the checker does: the reduced graph may reach the hazard by a longer
                // path than the full one. No depth bound is needed: the full graph holds
                // the reduced one's path, so its search meets a hazard at that depth or
                // before.
                let opts = CheckOptions {
                    reduce: false,
                    ..self.opts
                };
                self.begin(run.table, opts, Some((witness, hazard)), out);
            }
            End::Hazard(witness, hazard) => self.found(witness, hazard),
        }
    }

    fn found(&mut self, witness: Schedule, hazard: Hazard) {
        self.result = Some(CheckResult {
            verdict: Verdict::of(hazard),
            witness: Some(witness),
            ..self.totals.clone()
        });
    }
}

fn all(out: &mut Vec<Post>, msg: Msg) {
    out.push(Post {
        to: To::All,
        bytes: msg.encode(),
    });
}

/// The parts' sorted keys merged, each with its part.
fn merge(reports: &[(Vec<u64>, u64, bool)]) -> Vec<(u64, u8)> {
    let mut at = vec![0; reports.len()];
    // Each part's next key (`u64::MAX` once it has none left: no key is, as no state
    // has 2^32 - 1 choices).
    let head = |j: usize, i: usize| reports[j].0.get(i).copied().unwrap_or(u64::MAX);
    let mut heads: Vec<u64> = (0..reports.len()).map(|j| head(j, 0)).collect();
    let total = reports.iter().map(|r| r.0.len()).sum();
    let mut merged = Vec::with_capacity(total);
    for _ in 0..total {
        let mut part = 0;
        for j in 1..heads.len() {
            if heads[j] < heads[part] {
                part = j;
            }
        }
        merged.push((heads[part], part as u8));
        at[part] += 1;
        heads[part] = head(part, at[part]);
    }
    merged
}

/// Checks `cfg` with `n` parts in this thread, delivering their messages in order:
/// what a transport does, with a queue for the transport. The answer is [`check`](super::check)'s.
pub fn check_in_parts(
    cfg: &Config,
    opts: CheckOptions,
    n: usize,
) -> Result<CheckResult, CheckError> {
    let mut c = Coordinator::new(cfg, opts, n)?;
    let mut parts = (0..n)
        .map(|me| Part::new(cfg, opts, me, n))
        .collect::<Result<Vec<_>, _>>()?;
    let mut queue = std::collections::VecDeque::new();
    let mut out = Vec::new();
    c.start(&mut out);
    loop {
        for p in out.drain(..) {
            match p.to {
                To::All => queue.extend((0..n).map(|j| (Some(j), p.bytes.clone()))),
                To::Part(j) => queue.push_back((Some(j), p.bytes)),
                To::Coordinator => queue.push_back((None, p.bytes)),
            }
        }
        if let Some(r) = c.result() {
            return Ok(r.clone());
        }
        let (to, bytes) = queue.pop_front().expect("a check ends with a result");
        match to {
            Some(j) => parts[j].handle(bytes, &mut out),
            None => c.handle(&bytes, &mut out),
        }
    }
}
