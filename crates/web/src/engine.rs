//! Where requests go: a pool of Web Workers (the `worker` binary, started by
//! `www/worker_start.js`), one per core, or, when no worker can start (the wasm-bindgen
//! test runner, a browser without workers), the page itself in short timer-sliced tasks.
//! Both answer a [`Request`] with [`serve`]; an exhaustive search runs on every worker
//! of the pool at once ([`crate::prove_pool`]). Also the worker's side: what it does
//! with each message.

use crate::pool::{Pool, Port};
use crate::prove_pool;
use crate::runner::{page_check_options, serve, Reply, Request, READY};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use yew::Callback;

pub enum Engine {
    /// A pool of Web Workers; every request goes to the ready one with the fewest
    /// unanswered (to the backlog while none is ready), but for an exhaustive search,
    /// which runs on all of them at once.
    Workers {
        pool: Rc<Pool<web_sys::Worker>>,
        running: prove_pool::Running,
        done: Callback<Reply>,
        /// Each worker's message and error handlers, kept alive with the pool (the
        /// watchdog adds a fresh worker's).
        _handlers: Rc<std::cell::RefCell<Vec<Handlers>>>,
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

/// The worker's start script, next to the page (relative, so sub-paths work).
pub const WORKER_URL: &str = "./worker_start.js";

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
                let handlers = Rc::new(std::cell::RefCell::new(handlers));
                let (p, h) = (pool.clone(), handlers.clone());
                let (d, r) = (done.clone(), running.clone());
                let watchdog = gloo_timers::callback::Interval::new(WATCH_MS, move || {
                    // A fresh worker takes a given-up one's slot, so the old one's
                    // handlers are detached when it is terminated (a late answer of
                    // its would count as the new one's) and kept (at most RESTARTS a
                    // slot), as the page cannot tell that none is running.
                    let restart = |i| {
                        let w = web_sys::Worker::new(WORKER_URL).ok()?;
                        let ends = (d.clone(), failed.clone(), r.clone());
                        h.borrow_mut().push(Self::listen(&p, i, &w, ends));
                        Some(w)
                    };
                    // Only a live worker is given up on: with none left, this is said once.
                    if p.watch(js_sys::Date::now(), restart) == 0 {
                        return;
                    }
                    if p.live().is_empty() {
                        // The page takes over, as when a worker reports an error.
                        failed.emit("no worker started or kept answering".into());
                    } else {
                        web_sys::console::warn_1(
                            &"tornsim: a worker did not start or stopped answering; it is started again, or the others take its work"
                                .into(),
                        );
                    }
                });
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
                for w in pool.all() {
                    w.terminate();
                }
                web_sys::console::warn_1(&e);
                Engine::Inline { done }
            }
        }
    }

    /// Adds to the pool a worker boot.js started (`early`), or a new one, as slot
    /// `index`; returns its handlers.
    fn slot(
        pool: &Rc<Pool<web_sys::Worker>>,
        index: usize,
        early: Option<web_sys::Worker>,
        done: Callback<Reply>,
        failed: Callback<String>,
        running: prove_pool::Running,
    ) -> Result<Handlers, JsValue> {
        let mark = |key: &str| {
            early
                .as_ref()
                .and_then(|w| js_sys::Reflect::get(w, &JsValue::from_str(key)).ok())
        };
        let early_ready = mark("tornsimReady").is_some_and(|v| v.is_truthy());
        if let Some(why) = mark("tornsimFailed").and_then(|v| v.as_string()) {
            // Told from a task of its own, as its handler would have: the page is
            // still making this engine.
            let failed = failed.clone();
            gloo_timers::callback::Timeout::new(0, move || failed.emit(why)).forget();
        }
        let worker = match early {
            Some(w) => w,
            None => web_sys::Worker::new(WORKER_URL)?,
        };
        let handlers = Self::listen(pool, index, &worker, (done, failed, running));
        pool.add(worker, early_ready, js_sys::Date::now());
        Ok(handlers)
    }

    /// Wires `worker`'s messages and errors to slot `index` of the pool and to the
    /// page's `done` and `failed`; returns the handlers, which must outlive it.
    fn listen(
        pool: &Rc<Pool<web_sys::Worker>>,
        index: usize,
        worker: &web_sys::Worker,
        (done, failed, running): (Callback<Reply>, Callback<String>, prove_pool::Running),
    ) -> Handlers {
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
                p.ready(index, js_sys::Date::now());
                return;
            }
            if !p.answered(index, js_sys::Date::now()) {
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
        (on_message, on_error)
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
                prove_pool::start(running, workers, seq, config, opts, done.clone());
            }
            (Engine::Workers { running, .. }, Request::CancelCheck { seq }) => {
                if prove_pool::running_seq(running) == Some(seq) {
                    prove_pool::stop(running);
                }
            }
            (_, Request::CancelCheck { .. }) => {}
            (Engine::Workers { pool, .. }, req) => {
                let chunk = matches!(req, Request::Chunk(_));
                let msg = serde_json::to_string(&req).expect("requests serialise");
                pool.send(msg, chunk, js_sys::Date::now());
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

/// How often the pool looks for a stuck worker ([`Pool::watch`]).
const WATCH_MS: u32 = 250;

impl Port for web_sys::Worker {
    fn post(&self, msg: &str) {
        if let Err(e) = self.post_message(&JsValue::from_str(msg)) {
            web_sys::console::error_1(&e);
        }
    }
    fn terminate(&self) {
        self.set_onmessage(None);
        self.set_onerror(None);
        web_sys::Worker::terminate(self);
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
