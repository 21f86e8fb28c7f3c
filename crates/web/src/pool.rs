//! Which worker of the pool a request goes to, and what to do with a worker that is
//! slow to start or stops answering. Plain bookkeeping over a [`Port`] (a Web Worker on
//! the page, a recording fake in the tests), so it is tested natively; `engine.rs`
//! wires it to the workers' messages and a timer.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

/// What the pool needs of a worker.
pub trait Port {
    fn post(&self, msg: &str);
    fn terminate(&self);
}

/// One worker of the pool and what it has not answered yet.
struct Slot<W> {
    worker: W,
    /// The worker's wasm has started and installed its handler (it said `ready`): a
    /// message posted before would be dropped.
    ready: bool,
    /// Given up on (see [`Pool::watch`]): terminated, its requests handed to others.
    dead: bool,
    /// When it was added: one that has not said `ready` [`START_MS`] later never will.
    added_ms: f64,
    /// How many times a fresh worker took this slot over from one given up on.
    restarts: u32,
    /// Requests posted and not yet answered, oldest first (a worker answers in order).
    sent: VecDeque<Sent>,
    /// When the oldest of them became the one the worker is on (it answered the one
    /// before, or it was posted to an idle worker), and the pool's answers by then.
    front_ms: f64,
    front_answers: u64,
}

/// A request posted to a worker.
struct Sent {
    msg: String,
    /// A batch's chunk: short by design (the page sizes them to about 120 ms), so one
    /// unanswered for long is a worker that is stuck, not busy.
    chunk: bool,
}

/// The pool: its workers, and the requests sent while no worker was ready, for
/// whichever is ready first. Shared rather than queued at one worker: a worker that is
/// slow to start holds no work the others could do (on WebKit's cold loads workers said
/// ready up to 3.9 s after the page's first render, and a batch's chunks queued at them
/// held it back: 454k-620k runs/s in five cold loads against the warm pool's 907k;
/// 505k-850k in six once they held none).
pub struct Pool<W> {
    slots: RefCell<Vec<Slot<W>>>,
    backlog: RefCell<VecDeque<Sent>>,
    answers: Cell<u64>,
}

impl<W> Default for Pool<W> {
    fn default() -> Self {
        Pool {
            slots: RefCell::new(Vec::new()),
            backlog: RefCell::new(VecDeque::new()),
            answers: Cell::new(0),
        }
    }
}

/// Requests a ready worker holds from the backlog at once: as many as the page keeps in
/// flight per worker.
const IN_FLIGHT: usize = 2;

/// A chunk unanswered this long while the rest of the pool answered this many
/// requests marks its worker stuck. WebKitGTK left one worker of four spinning for
/// minutes on one cold load in three to six, and its batch never ended; a uniformly
/// slow device answers nothing else meanwhile either, so it is never taken for stuck.
/// Chunks are sized to about 120 ms, so a healthy worker answers well within both.
pub const STUCK_MS: f64 = 1_000.0;
pub const STUCK_ANSWERS: u64 = 16;

/// A chunk unanswered this long marks its worker stuck whatever the rest of the pool
/// did: a lone worker has no others to be measured against, and a chunk sized to
/// about 120 ms (10,000 runs before the first answer sizes them) that takes a minute
/// is a worker that stopped, not a slow device. The page then runs the batch itself.
/// A CI run once waited 240 s on one worker's batch that two seconds finish.
pub const HUNG_MS: f64 = 60_000.0;

/// A worker that has not said `ready` this long after it was started never will: its
/// wasm failed to load (a failed fetch or instantiation rejects a promise in the
/// worker, which reaches the page as no event at all) or its start hangs, and requests
/// waiting for it would wait for ever. Cold starts said ready within 4 s on every
/// browser measured, and within 2 s on a loaded CI machine. With [`RESTARTS`], a
/// browser whose workers never start runs the batch on the page after 30 s, as when
/// this was 30 s and a slot was not restarted.
pub const START_MS: f64 = 10_000.0;

/// How many times a slot whose worker was given up on is given a fresh one. WebKitGTK
/// once left the lone worker of a CI run silent for 30 s, and the page ran that batch
/// itself at 33k runs/s where a worker runs 650k; a worker started again starts like
/// any other. A browser whose workers never start gives up after this many, and the
/// page runs the batch.
pub const RESTARTS: u32 = 2;

/// The ready worker with the fewest requests unanswered, if any worker is ready.
pub fn pick(slots: impl IntoIterator<Item = (bool, usize)>) -> Option<usize> {
    slots
        .into_iter()
        .enumerate()
        .filter(|(_, (ready, _))| *ready)
        .min_by_key(|(_, (_, outstanding))| *outstanding)
        .map(|(i, _)| i)
}

/// Whether a chunk its worker has been on for `elapsed_ms` (since it answered the
/// request before, or since the chunk was posted to it idle), while the pool gave
/// `answers_since` answers, marks the worker stuck.
pub fn stuck(elapsed_ms: f64, answers_since: u64) -> bool {
    (elapsed_ms > STUCK_MS && answers_since >= STUCK_ANSWERS) || elapsed_ms > HUNG_MS
}

impl<W: Port + Clone> Pool<W> {
    /// Adds a worker started by `now` (`ready`: it has said so already); returns its
    /// index.
    pub fn add(&self, worker: W, ready: bool, now: f64) -> usize {
        let mut slots = self.slots.borrow_mut();
        slots.push(Slot {
            worker,
            ready,
            dead: false,
            added_ms: now,
            restarts: 0,
            sent: VecDeque::new(),
            front_ms: 0.0,
            front_answers: 0,
        });
        slots.len() - 1
    }

    fn post(&self, i: usize, r: Sent, now: f64) {
        let mut slots = self.slots.borrow_mut();
        let slot = &mut slots[i];
        slot.worker.post(&r.msg);
        if slot.sent.is_empty() {
            slot.front_ms = now;
            slot.front_answers = self.answers.get();
        }
        slot.sent.push_back(r);
    }

    /// The ready worker to post to, among those holding fewer than `cap` requests.
    fn pick_below(&self, cap: usize) -> Option<usize> {
        let slots = self.slots.borrow();
        pick(slots.iter().map(|s| {
            let open = s.ready && !s.dead && s.sent.len() < cap;
            (open, s.sent.len())
        }))
    }

    /// Hands the backlog to ready workers with room.
    fn dispatch(&self, now: f64) {
        loop {
            let Some(i) = self.pick_below(IN_FLIGHT) else {
                return;
            };
            let Some(r) = self.backlog.borrow_mut().pop_front() else {
                return;
            };
            self.post(i, r, now);
        }
    }

    /// Sends a request (`chunk`: a batch's chunk) to the ready worker with the fewest
    /// unanswered; to the back of the backlog while none is ready, or while the backlog
    /// holds requests (a stopped worker's go first).
    pub fn send(&self, msg: String, chunk: bool, now: f64) {
        let r = Sent { msg, chunk };
        let waiting = !self.backlog.borrow().is_empty();
        match self.pick_below(usize::MAX).filter(|_| !waiting) {
            Some(i) => self.post(i, r, now),
            None => {
                self.backlog.borrow_mut().push_back(r);
                self.dispatch(now);
            }
        }
    }

    /// Worker `i` said `ready`: it takes from the backlog.
    pub fn ready(&self, i: usize, now: f64) {
        self.slots.borrow_mut()[i].ready = true;
        self.dispatch(now);
    }

    /// Worker `i` answered its oldest request; whether the answer stands (not when the
    /// worker was given up on and its requests were handed to others).
    pub fn answered(&self, i: usize, now: f64) -> bool {
        if self.slots.borrow()[i].dead {
            return false;
        }
        self.answers.set(self.answers.get() + 1);
        {
            let mut slots = self.slots.borrow_mut();
            let slot = &mut slots[i];
            slot.sent.pop_front();
            slot.front_ms = now;
            slot.front_answers = self.answers.get();
        }
        self.dispatch(now);
        true
    }

    /// Gives up on each worker whose current chunk is [`stuck`], or that has not said
    /// `ready` within [`START_MS`]: terminates it and hands what it held to the others,
    /// first in line (a chunk's answer does not depend on where it runs: it is its seed
    /// and run indices). A slot given up on fewer than [`RESTARTS`] times takes the
    /// fresh worker `restart` starts for it, if it starts one, and is timed as a worker
    /// just added. Returns how many it gave up on.
    pub fn watch(&self, now: f64, mut restart: impl FnMut(usize) -> Option<W>) -> usize {
        let answers = self.answers.get();
        let mut again = Vec::new();
        let mut given_up = 0;
        for (i, slot) in self.slots.borrow_mut().iter_mut().enumerate() {
            if slot.dead {
                continue;
            }
            let unstarted = !slot.ready && now - slot.added_ms > START_MS;
            let stuck_on =
                |r: &Sent| r.chunk && stuck(now - slot.front_ms, answers - slot.front_answers);
            if unstarted || slot.sent.front().is_some_and(stuck_on) {
                slot.dead = true;
                slot.worker.terminate();
                again.extend(slot.sent.drain(..));
                given_up += 1;
                if slot.restarts < RESTARTS {
                    if let Some(w) = restart(i) {
                        slot.worker = w;
                        slot.ready = false;
                        slot.dead = false;
                        slot.added_ms = now;
                        slot.restarts += 1;
                    }
                }
            }
        }
        let mut backlog = self.backlog.borrow_mut();
        for r in again.into_iter().rev() {
            backlog.push_front(r);
        }
        drop(backlog);
        self.dispatch(now);
        given_up
    }

    /// The workers that are not given up on.
    pub fn live(&self) -> Vec<W> {
        let slots = self.slots.borrow();
        slots
            .iter()
            .filter(|s| !s.dead)
            .map(|s| s.worker.clone())
            .collect()
    }

    /// Every worker, given up on or not, to stop them all.
    pub fn all(&self) -> Vec<W> {
        self.slots
            .borrow()
            .iter()
            .map(|s| s.worker.clone())
            .collect()
    }

    /// Every worker is ready and none was given up on for good: the pool's search can
    /// number its parts by slot (while a slot waits for its fresh worker, or after one
    /// is given up on for good, a search runs in one worker).
    pub fn all_ready(&self) -> bool {
        self.slots.borrow().iter().all(|s| s.ready && !s.dead)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    /// A worker that records what it is sent and whether it was stopped.
    #[derive(Clone, Default)]
    struct Fake {
        got: Rc<RefCell<Vec<String>>>,
        stopped: Rc<Cell<bool>>,
    }

    impl Port for Fake {
        fn post(&self, msg: &str) {
            self.got.borrow_mut().push(msg.to_string());
        }
        fn terminate(&self) {
            self.stopped.set(true);
        }
    }

    fn pool(ready: &[bool]) -> (Pool<Fake>, Vec<Fake>) {
        let p = Pool::default();
        let fakes: Vec<Fake> = ready.iter().map(|_| Fake::default()).collect();
        for (f, &r) in fakes.iter().zip(ready) {
            p.add(f.clone(), r, 0.0);
        }
        (p, fakes)
    }

    /// No fresh worker starts (as when `new Worker()` throws).
    fn none(_: usize) -> Option<Fake> {
        None
    }

    fn got(f: &Fake) -> Vec<String> {
        f.got.borrow().clone()
    }

    /// Sends each (request, whether a chunk) at time 0.
    fn send_all(p: &Pool<Fake>, reqs: &[(&str, bool)]) {
        for &(msg, chunk) in reqs {
            p.send(msg.into(), chunk, 0.0);
        }
    }

    /// Worker 1 answers [`STUCK_ANSWERS`] requests, `step` ms apart from `t`, and is
    /// sent a new chunk after each (as the page tops the pool up); returns the last time.
    fn others_answer(p: &Pool<Fake>, mut t: f64, step: f64) -> f64 {
        for k in 0..STUCK_ANSWERS {
            t += step;
            assert!(p.answered(1, t));
            p.send(format!("y{k}"), true, t);
        }
        t
    }

    #[test]
    fn a_request_goes_to_the_least_loaded_ready_worker_or_waits() {
        assert_eq!(pick([(true, 3), (true, 1), (true, 2)]), Some(1));
        // A worker still starting holds nothing, however idle.
        assert_eq!(pick([(false, 0), (true, 5)]), Some(1));
        assert_eq!(pick([(true, 2), (false, 0), (true, 2)]), Some(0));
        assert_eq!(pick([(false, 0), (false, 0)]), None);
        assert_eq!(pick([]), None);
    }

    #[test]
    fn a_chunk_is_stuck_when_long_unanswered_while_the_pool_answers_or_for_a_minute() {
        assert!(stuck(STUCK_MS + 1.0, STUCK_ANSWERS));
        assert!(!stuck(STUCK_MS, STUCK_ANSWERS));
        // A slow device: nothing else answered meanwhile either.
        assert!(!stuck(HUNG_MS, STUCK_ANSWERS - 1));
        // But a minute on one chunk is a worker that stopped, alone or not.
        assert!(stuck(HUNG_MS + 1.0, 0));
    }

    #[test]
    fn a_lone_worker_that_stops_answering_is_given_up_on_after_a_minute() {
        let (p, w) = pool(&[true]);
        send_all(&p, &[("a", true), ("b", true)]);
        assert_eq!(p.watch(HUNG_MS, none), 0, "nothing else answered: not yet");
        assert_eq!(p.watch(HUNG_MS + 1.0, none), 1);
        assert!(w[0].stopped.get());
        assert!(p.live().is_empty(), "the page takes the batch over");
    }

    #[test]
    fn requests_wait_for_the_first_ready_worker_which_takes_two_then_one_per_answer() {
        let (p, w) = pool(&[false, false]);
        send_all(&p, &[("a", true), ("b", true), ("c", true), ("d", true)]);
        assert!(got(&w[0]).is_empty() && got(&w[1]).is_empty());
        p.ready(1, 1.0);
        assert_eq!(got(&w[1]), ["a", "b"]);
        assert!(p.answered(1, 2.0));
        assert_eq!(got(&w[1]), ["a", "b", "c"]);
        p.ready(0, 3.0);
        assert_eq!(got(&w[0]), ["d"]);
        // Once a worker is ready, a request goes straight to the least loaded.
        p.send("e".into(), true, 4.0);
        assert_eq!(got(&w[0]), ["d", "e"]);
        // Ties go to the first; so does a request that is not a chunk.
        p.send("f".into(), false, 4.0);
        assert_eq!(got(&w[0]), ["d", "e", "f"]);
        assert_eq!(got(&w[1]), ["a", "b", "c"]);
        assert!(p.all_ready());
    }

    #[test]
    fn a_stuck_worker_is_stopped_and_its_requests_run_first_elsewhere() {
        let (p, w) = pool(&[true, true]);
        send_all(&p, &[("slow", true), ("x", true), ("slow-next", true)]);
        assert_eq!(got(&w[0]), ["slow", "slow-next"]);
        // The other worker keeps answering; the first does not.
        let t = others_answer(&p, 0.0, 10.0);
        assert_eq!(p.watch(t, none), 0, "not yet a second");
        assert_eq!(p.watch(STUCK_MS + 1.0, none), 1);
        assert!(w[0].stopped.get() && !w[1].stopped.get());
        // Its two chunks are next in line at the other worker, in order, as it has room.
        assert_eq!(p.live().len(), 1);
        assert!(!p.all_ready(), "the pool's search waits for a whole pool");
        let last = || got(&w[1]).last().cloned();
        assert_eq!(last().as_deref(), Some("slow"));
        p.send("later".into(), true, STUCK_MS + 2.0);
        assert!(p.answered(1, STUCK_MS + 2.0));
        assert_eq!(last().as_deref(), Some("slow-next"));
        assert!(p.answered(1, STUCK_MS + 3.0));
        assert_eq!(last().as_deref(), Some("later"));
        // A late answer from the stopped worker does not stand.
        assert!(!p.answered(0, STUCK_MS + 4.0));
    }

    #[test]
    fn only_a_chunk_can_be_stuck_and_a_worker_is_timed_from_the_request_it_is_on() {
        let (p, w) = pool(&[true, true]);
        // A long search, then a chunk queued behind it at the same worker.
        send_all(&p, &[("check", false), ("busy", true), ("chunk", true)]);
        assert_eq!(got(&w[0]), ["check", "chunk"]);
        let t = others_answer(&p, 0.0, 100.0);
        assert_eq!(p.watch(t + STUCK_MS, none), 0, "a search is not a chunk");
        // The search ends; the chunk behind it is timed from now, not from its posting.
        let t = t + STUCK_MS;
        assert!(p.answered(0, t));
        others_answer(&p, t, 0.0);
        assert_eq!(p.watch(t + STUCK_MS, none), 0);
        assert_eq!(p.watch(t + STUCK_MS + 1.0, none), 1);
    }

    #[test]
    fn a_worker_that_never_says_ready_is_given_up_on_and_its_backlog_goes_on() {
        let (p, w) = pool(&[false, false]);
        send_all(&p, &[("a", true), ("b", false), ("c", true)]);
        p.ready(1, 10.0);
        assert_eq!(got(&w[1]), ["a", "b"]);
        // However long a ready worker is busy, only the silent one is given up on, and
        // only once it has had its time.
        assert_eq!(p.watch(START_MS, none), 0);
        assert_eq!(p.watch(START_MS + 1.0, none), 1);
        assert!(w[0].stopped.get() && !w[1].stopped.get());
        assert_eq!(p.live().len(), 1);
        assert!(p.answered(1, START_MS + 2.0));
        assert_eq!(got(&w[1]), ["a", "b", "c"]);
        assert!(got(&w[0]).is_empty());
        // A worker added later has its own time; none left: the page must be told.
        p.add(Fake::default(), false, START_MS);
        assert_eq!(p.watch(2.0 * START_MS, none), 0);
        assert_eq!(p.watch(2.0 * START_MS + 1.0, none), 1);
        let (p, _) = pool(&[false]);
        assert_eq!(p.watch(START_MS + 1.0, none), 1);
        assert!(p.live().is_empty());
    }

    #[test]
    fn a_slot_given_up_on_takes_a_fresh_worker_a_few_times_then_the_page_is_told() {
        let (p, w) = pool(&[false]);
        send_all(&p, &[("a", true), ("b", true), ("c", true)]);
        let fresh: Vec<Fake> = (0..RESTARTS).map(|_| Fake::default()).collect();
        let mut asked = Vec::new();
        let mut t = 0.0;
        for (k, f) in fresh.iter().enumerate() {
            t += START_MS + 1.0;
            let started = |i| {
                asked.push(i);
                Some(f.clone())
            };
            assert_eq!(p.watch(t, started), 1, "restart {k}");
            assert!(!p.live().is_empty(), "its slot waits for the fresh worker");
            assert!(!p.all_ready());
            // Timed from its own start, not the slot's.
            assert_eq!(p.watch(t + START_MS, none), 0);
        }
        assert_eq!(asked, vec![0; RESTARTS as usize]);
        assert!(w[0].stopped.get() && fresh[..fresh.len() - 1].iter().all(|f| f.stopped.get()));
        // The last one starts and takes the backlog, in order.
        let last = fresh.last().unwrap();
        p.ready(0, t + 1.0);
        assert!(p.all_ready());
        assert_eq!(got(last), ["a", "b"]);
        assert!(p.answered(0, t + 2.0));
        assert_eq!(got(last), ["a", "b", "c"]);
        // It stops answering for a minute: no fresh worker is asked for any more.
        let mut asked_again = false;
        let again = |_| {
            asked_again = true;
            Some(Fake::default())
        };
        assert_eq!(p.watch(t + 2.0 + HUNG_MS + 1.0, again), 1);
        assert!(!asked_again && last.stopped.get());
        assert!(p.live().is_empty(), "the page takes the batch over");
    }

    #[test]
    fn a_stuck_worker_of_a_pool_is_replaced_and_its_chunks_go_to_the_others_first() {
        let (p, w) = pool(&[true, true]);
        send_all(&p, &[("slow", true), ("x", true), ("slow-next", true)]);
        let t = others_answer(&p, 0.0, 10.0);
        let fresh = Fake::default();
        assert_eq!(p.watch(t.max(STUCK_MS + 1.0), |_| Some(fresh.clone())), 1);
        assert!(w[0].stopped.get() && !fresh.stopped.get());
        assert_eq!(p.live().len(), 2);
        // The live worker has room for one: the stuck worker's first chunk; the fresh
        // one, once ready, takes the next.
        assert_eq!(got(&w[1]).last().map(String::as_str), Some("slow"));
        p.ready(0, STUCK_MS + 2.0);
        assert_eq!(got(&fresh), ["slow-next"]);
        assert!(p.answered(0, STUCK_MS + 3.0));
    }
}
