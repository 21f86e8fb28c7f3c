//! Where requests go: a pool of Web Workers (the `worker` binary, loaded through trunk's
//! loader shim), one per core, or, when no worker can start (the wasm-bindgen test
//! runner, a browser without workers), the page itself in short timer-sliced tasks.
//! Both answer a [`Request`] with [`serve`]; an exhaustive search runs on every worker
//! of the pool at once ([`crate::prove_pool`]). Also the worker's side: what it does
//! with each message.

use crate::prove_pool;
use crate::runner::{page_check_options, serve, Reply, Request, READY};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use yew::Callback;

/// One worker of the pool and what it has not answered yet.
pub struct Slot {
    worker: web_sys::Worker,
    /// The worker's wasm has started and installed its handler (it said `ready`): a
    /// message posted before would be dropped.
    ready: bool,
    /// Given up on (see [`Pool::watch`]): terminated, its requests handed to others.
    dead: bool,
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

/// The pool's shared state: its workers, and the requests sent while no worker was
/// ready, for whichever is ready first. Shared rather than queued at one worker: a
/// worker that is slow to start holds no work the others could do (on WebKit's cold
/// loads workers said ready up to 3.9 s after the page's first render, and a batch's
/// chunks queued at them held it back: 454k-620k runs/s in five cold loads against the
/// warm pool's 907k; 505k-850k in six once they held none).
#[derive(Default)]
pub struct Pool {
    slots: RefCell<Vec<Slot>>,
    backlog: RefCell<VecDeque<Sent>>,
    answers: Cell<u64>,
}

/// Requests a ready worker holds from the backlog at once: as many as the page keeps in
/// flight per worker.
const IN_FLIGHT: usize = 2;

/// A chunk unanswered this long while the rest of the pool answered this many
/// requests marks its worker stuck. WebKitGTK left one worker of four spinning for
/// minutes on one cold load in three to six, and its batch never ended; a uniformly
/// slow device answers nothing else meanwhile either, so it is never taken for stuck.
/// Chunks are sized to about 120 ms, so a healthy worker answers well within both.
const STUCK_MS: f64 = 1_000.0;
const STUCK_ANSWERS: u64 = 16;
/// How often the pool looks for a stuck worker.
const WATCH_MS: u32 = 250;

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
    elapsed_ms > STUCK_MS && answers_since >= STUCK_ANSWERS
}

impl Pool {
    fn post(&self, i: usize, msg: String, chunk: bool) {
        let mut slots = self.slots.borrow_mut();
        let slot = &mut slots[i];
        if let Err(e) = slot.worker.post_message(&JsValue::from_str(&msg)) {
            web_sys::console::error_1(&e);
        }
        if slot.sent.is_empty() {
            slot.front_ms = js_sys::Date::now();
            slot.front_answers = self.answers.get();
        }
        slot.sent.push_back(Sent { msg, chunk });
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
    fn dispatch(&self) {
        loop {
            let Some(i) = self.pick_below(IN_FLIGHT) else {
                return;
            };
            let Some(r) = self.backlog.borrow_mut().pop_front() else {
                return;
            };
            self.post(i, r.msg, r.chunk);
        }
    }

    fn send(&self, msg: String, chunk: bool) {
        match self.pick_below(usize::MAX) {
            Some(i) => self.post(i, msg, chunk),
            None => self.backlog.borrow_mut().push_back(Sent { msg, chunk }),
        }
    }

    fn ready(&self, i: usize) {
        self.slots.borrow_mut()[i].ready = true;
        self.dispatch();
    }

    /// Worker `i` answered its oldest request; whether the answer stands (a stuck
    /// worker's late answers were given by another).
    fn answered(&self, i: usize) -> bool {
        let live = {
            let mut slots = self.slots.borrow_mut();
            let slot = &mut slots[i];
            slot.sent.pop_front();
            slot.front_ms = js_sys::Date::now();
            slot.front_answers = self.answers.get() + 1;
            !slot.dead
        };
        if live {
            self.answers.set(self.answers.get() + 1);
            self.dispatch();
        }
        live
    }

    /// Gives up on a worker whose oldest chunk is stuck: terminates it and hands what it
    /// held to the others, first in line. The answers are the same wherever a chunk
    /// runs (a chunk is its seed and run indices).
    fn watch(&self) {
        let now = js_sys::Date::now();
        let answers = self.answers.get();
        let mut again = Vec::new();
        for slot in self.slots.borrow_mut().iter_mut().filter(|s| !s.dead) {
            let Some(oldest) = slot.sent.front() else {
                continue;
            };
            if oldest.chunk && stuck(now - slot.front_ms, answers - slot.front_answers) {
                slot.dead = true;
                slot.worker.terminate();
                web_sys::console::warn_1(
                    &"tornsim: a worker stopped answering; its chunks run elsewhere".into(),
                );
                again.extend(slot.sent.drain(..));
            }
        }
        if again.is_empty() {
            return;
        }
        let mut backlog = self.backlog.borrow_mut();
        for r in again.into_iter().rev() {
            backlog.push_front(r);
        }
        drop(backlog);
        self.dispatch();
    }

    /// The workers that are not given up on.
    fn live(&self) -> Vec<web_sys::Worker> {
        let slots = self.slots.borrow();
        slots
            .iter()
            .filter(|s| !s.dead)
            .map(|s| s.worker.clone())
            .collect()
    }

    /// Every worker is ready and none was given up on: the pool's search can number
    /// its parts by slot (after a worker is given up on, a search runs in one worker).
    fn all_ready(&self) -> bool {
        self.slots.borrow().iter().all(|s| s.ready && !s.dead)
    }
}

pub enum Engine {
    /// A pool of Web Workers; every request goes to the ready one with the fewest
    /// unanswered (to the backlog while none is ready), but for an exhaustive search,
    /// which runs on all of them at once.
    Workers {
        pool: Rc<Pool>,
        running: prove_pool::Running,
        done: Callback<Reply>,
        /// Each worker's message and error handlers, kept alive with the pool.
        _handlers: Vec<Handlers>,
        _watchdog: gloo_timers::callback::Interval,
    },
    Inline {
        done: Callback<Reply>,
    },
}

/// A worker's handlers.
pub type Handlers = (
    Closure<dyn FnMut(web_sys::MessageEvent)>,
    Closure<dyn FnMut(web_sys::ErrorEvent)>,
);

/// The workers `www/boot.js` started before the page's wasm loaded, to be adopted.
fn early_workers() -> Vec<web_sys::Worker> {
    let global = js_sys::global();
    let key = JsValue::from_str("tornsimEarlyWorkers");
    let Ok(list) = js_sys::Reflect::get(&global, &key) else {
        return Vec::new();
    };
    // Taken once: a second engine (none today) would start its own.
    let _ = js_sys::Reflect::set(&global, &key, &js_sys::Array::new());
    list.dyn_into::<js_sys::Array>()
        .map(|a| a.iter().filter_map(|w| w.dyn_into().ok()).collect())
        .unwrap_or_default()
}

/// The worker script trunk emits next to the page (relative, so sub-paths work).
pub const WORKER_URL: &str = "./worker_loader.js";

/// The most workers the page starts, whatever the machine has.
pub const MAX_WORKERS: usize = 8;

/// The most workers an embed starts: a documentation page may hold several embeds,
/// each with its own pool, and their batches are small.
pub const EMBED_MAX_WORKERS: usize = 2;

/// Workers for this machine: one per logical core the browser reports, capped (lower
/// for an embed).
pub fn default_workers(embed: bool) -> usize {
    let n = web_sys::window().map_or(1.0, |w| w.navigator().hardware_concurrency());
    let cap = if embed {
        EMBED_MAX_WORKERS
    } else {
        MAX_WORKERS
    };
    (n as usize).clamp(1, cap)
}

impl Engine {
    /// A pool of `workers` workers if they start, else the inline engine.
    pub fn new(workers: usize, done: Callback<Reply>, failed: Callback<String>) -> Engine {
        let mut early = early_workers().into_iter();
        let running = prove_pool::Running::default();
        let pool = Rc::new(Pool::default());
        let handlers = (0..workers)
            .map(|i| {
                Self::slot(
                    &pool,
                    i,
                    early.next(),
                    done.clone(),
                    failed.clone(),
                    running.clone(),
                )
            })
            .collect::<Result<Vec<_>, _>>();
        // Workers boot.js started that the pool does not need.
        for w in early {
            w.terminate();
        }
        match handlers {
            Ok(handlers) if !handlers.is_empty() => {
                let p = pool.clone();
                let watchdog = gloo_timers::callback::Interval::new(WATCH_MS, move || p.watch());
                Engine::Workers {
                    pool,
                    running,
                    done,
                    _handlers: handlers,
                    _watchdog: watchdog,
                }
            }
            Ok(_) => Engine::Inline { done },
            Err(e) => {
                for s in pool.slots.borrow().iter() {
                    s.worker.terminate();
                }
                web_sys::console::warn_1(&e);
                Engine::Inline { done }
            }
        }
    }

    /// Adds to the pool a worker boot.js started (`early`), or a new one, as slot
    /// `index`; returns its handlers.
    fn slot(
        pool: &Rc<Pool>,
        index: usize,
        early: Option<web_sys::Worker>,
        done: Callback<Reply>,
        failed: Callback<String>,
        running: prove_pool::Running,
    ) -> Result<Handlers, JsValue> {
        let early_ready = early.as_ref().is_some_and(|w| {
            js_sys::Reflect::get(w, &JsValue::from_str("tornsimReady")).is_ok_and(|v| v.is_truthy())
        });
        let worker = match early {
            Some(w) => w,
            None => web_sys::Worker::new(WORKER_URL)?,
        };
        let p = pool.clone();
        let on_message = Closure::<dyn FnMut(_)>::new(move |e: web_sys::MessageEvent| {
            match prove_pool::came(e.data()) {
                prove_pool::Came::Other => {}
                came => return prove_pool::from_part(&running, index, came),
            }
            let text = e.data().as_string().unwrap_or_default();
            if text == READY {
                // For the cold-start test and for anyone profiling the page.
                if let Some(perf) = web_sys::window().and_then(|w| w.performance()) {
                    let _ = perf.mark("tornsim-worker-ready");
                }
                p.ready(index);
                return;
            }
            if !p.answered(index) {
                return;
            }
            match serde_json::from_str::<Reply>(&text) {
                Ok(a) => done.emit(a),
                Err(err) => web_sys::console::error_1(&format!("bad worker answer: {err}").into()),
            }
        });
        let on_error = Closure::<dyn FnMut(_)>::new(move |e: web_sys::ErrorEvent| {
            failed.emit(e.message());
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        pool.slots.borrow_mut().push(Slot {
            worker,
            ready: early_ready,
            dead: false,
            sent: VecDeque::new(),
            front_ms: 0.0,
            front_answers: 0,
        });
        Ok((on_message, on_error))
    }

    pub fn is_worker(&self) -> bool {
        matches!(self, Engine::Workers { .. })
    }

    /// Workers in the pool (0 for the inline engine).
    pub fn workers(&self) -> usize {
        match self {
            Engine::Workers { pool, .. } => pool.live().len(),
            Engine::Inline { .. } => 0,
        }
    }

    pub fn send(&self, req: Request) {
        use prove_pool as pool;
        match (self, req) {
            (
                Engine::Workers {
                    pool,
                    running,
                    done,
                    ..
                },
                Request::Check {
                    seq,
                    config,
                    max_states,
                },
            ) if pool.all_ready() => {
                let workers = pool.live();
                let opts = page_check_options(max_states, workers.len());
                pool::start(running, workers, seq, config, opts, done.clone());
            }
            (Engine::Workers { running, .. }, Request::CancelCheck { seq }) => {
                if pool::running_seq(running) == Some(seq) {
                    pool::stop(running);
                }
            }
            (_, Request::CancelCheck { .. }) => {}
            (Engine::Workers { pool, .. }, req) => {
                let chunk = matches!(req, Request::Chunk(_));
                let msg = serde_json::to_string(&req).expect("requests serialise");
                pool.send(msg, chunk);
            }
            (Engine::Inline { done }, req) => {
                let done = done.clone();
                // A timer per request lets the page paint and handle input between them.
                gloo_timers::callback::Timeout::new(0, move || {
                    if let Some(r) = serve(req) {
                        done.emit(r)
                    }
                })
                .forget();
            }
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if let Engine::Workers { pool, .. } = self {
            for w in pool.live() {
                w.terminate();
            }
        }
    }
}

/// What a worker does with a message from the page or, for the pool's search, from
/// another worker's part ([`crate::prove_pool`]).
pub fn worker_message(scope: &web_sys::DedicatedWorkerGlobalScope, e: web_sys::MessageEvent) {
    use prove_pool as pool;
    match pool::came(e.data()) {
        pool::Came::Other => {}
        came => return pool::take(scope, None, came),
    }
    let text = e.data().as_string().unwrap_or_default();
    let req = match serde_json::from_str::<Request>(&text) {
        Ok(req) => req,
        Err(err) => {
            web_sys::console::error_1(&format!("worker: bad request: {err}").into());
            return;
        }
    };
    let reply = match req {
        Request::Part {
            seq,
            config,
            opts,
            me,
            n,
        } => match tornsim_core::check::Part::new(&config, opts, me, n) {
            Ok(part) => return pool::hold(scope, seq, part, me, e.ports()),
            // The page's coordinator met the same error and said so.
            Err(_) => return,
        },
        Request::PartStop { seq } => return pool::release(seq),
        req => serve(req),
    };
    if let Some(Ok(s)) = reply.map(|r| serde_json::to_string(&r)) {
        let _ = scope.post_message(&JsValue::from_str(&s));
    }
}

#[cfg(test)]
mod tests {
    use super::{pick, stuck, STUCK_ANSWERS, STUCK_MS};

    #[test]
    fn a_chunk_is_stuck_only_when_long_unanswered_while_the_pool_answers() {
        assert!(stuck(STUCK_MS + 1.0, STUCK_ANSWERS));
        assert!(!stuck(STUCK_MS, STUCK_ANSWERS));
        // A slow device: nothing else answered meanwhile either.
        assert!(!stuck(60_000.0, STUCK_ANSWERS - 1));
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
}
