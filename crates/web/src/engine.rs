//! Where requests go: a pool of Web Workers (the `worker` binary, loaded through trunk's
//! loader shim), one per core, or, when no worker can start (the wasm-bindgen test
//! runner, a browser without workers), the page itself in short timer-sliced tasks.
//! Both answer a [`Request`] with [`serve`]; an exhaustive search runs on every worker
//! of the pool at once ([`crate::prove_pool`]). Also the worker's side: what it does
//! with each message.

use crate::prove_pool;
use crate::runner::{page_check_options, serve, Reply, Request, READY};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use yew::Callback;

/// One worker of the pool and what it has not answered yet.
pub struct Slot {
    worker: web_sys::Worker,
    /// Messages posted before the worker's wasm has started and installed its handler
    /// would be dropped, so they wait here until it says `ready`.
    waiting: Rc<RefCell<Option<Vec<String>>>>,
    /// Requests posted and not yet answered: the next one goes to the least loaded.
    outstanding: Rc<std::cell::Cell<u32>>,
    _on_message: Closure<dyn FnMut(web_sys::MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::ErrorEvent)>,
}

pub enum Engine {
    /// A pool of Web Workers; every request goes to the one with the fewest unanswered,
    /// but for an exhaustive search, which runs on all of them at once.
    Workers {
        slots: Vec<Slot>,
        running: prove_pool::Running,
        done: Callback<Reply>,
    },
    Inline {
        done: Callback<Reply>,
    },
}

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
        let pool = (0..workers)
            .map(|i| {
                Self::slot(
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
        match pool {
            Ok(slots) if !slots.is_empty() => Engine::Workers {
                slots,
                running,
                done,
            },
            Ok(_) => Engine::Inline { done },
            Err(e) => {
                web_sys::console::warn_1(&e);
                Engine::Inline { done }
            }
        }
    }

    /// A slot for a worker boot.js started (`early`), or for a new one.
    fn slot(
        index: usize,
        early: Option<web_sys::Worker>,
        done: Callback<Reply>,
        failed: Callback<String>,
        running: prove_pool::Running,
    ) -> Result<Slot, JsValue> {
        let ready = early.as_ref().is_some_and(|w| {
            js_sys::Reflect::get(w, &JsValue::from_str("tornsimReady")).is_ok_and(|v| v.is_truthy())
        });
        let worker = match early {
            Some(w) => w,
            None => web_sys::Worker::new(WORKER_URL)?,
        };
        // A worker that has said "ready" already takes messages at once.
        let waiting: Rc<RefCell<Option<Vec<String>>>> =
            Rc::new(RefCell::new((!ready).then(Vec::new)));
        let outstanding = Rc::new(std::cell::Cell::new(0u32));
        let (w2, wait2, out2) = (worker.clone(), waiting.clone(), outstanding.clone());
        let on_message = Closure::<dyn FnMut(_)>::new(move |e: web_sys::MessageEvent| {
            match prove_pool::came(e.data()) {
                prove_pool::Came::Other => {}
                came => return prove_pool::from_part(&running, index, came),
            }
            let text = e.data().as_string().unwrap_or_default();
            if text == READY {
                // For the cold-start test and for anyone profiling the page.
                if let Some(p) = web_sys::window().and_then(|w| w.performance()) {
                    let _ = p.mark("tornsim-worker-ready");
                }
                for msg in wait2.borrow_mut().take().unwrap_or_default() {
                    let _ = w2.post_message(&JsValue::from_str(&msg));
                }
                return;
            }
            out2.set(out2.get().saturating_sub(1));
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
        Ok(Slot {
            worker,
            waiting,
            outstanding,
            _on_message: on_message,
            _on_error: on_error,
        })
    }

    pub fn is_worker(&self) -> bool {
        matches!(self, Engine::Workers { .. })
    }

    /// Workers in the pool (0 for the inline engine).
    pub fn workers(&self) -> usize {
        match self {
            Engine::Workers { slots, .. } => slots.len(),
            Engine::Inline { .. } => 0,
        }
    }

    pub fn send(&self, req: Request) {
        use prove_pool as pool;
        match (self, req) {
            (
                Engine::Workers {
                    slots,
                    running,
                    done,
                },
                Request::Check {
                    seq,
                    config,
                    max_states,
                },
            ) if slots.iter().all(|s| s.waiting.borrow().is_none()) => {
                let workers = slots.iter().map(|s| s.worker.clone()).collect();
                let opts = page_check_options(max_states, slots.len());
                pool::start(running, workers, seq, config, opts, done.clone());
            }
            (Engine::Workers { running, .. }, Request::CancelCheck { seq }) => {
                if pool::running_seq(running) == Some(seq) {
                    pool::stop(running);
                }
            }
            (_, Request::CancelCheck { .. }) => {}
            (Engine::Workers { slots, .. }, req) => {
                let Some(slot) = slots.iter().min_by_key(|s| s.outstanding.get()) else {
                    return;
                };
                slot.outstanding.set(slot.outstanding.get() + 1);
                let msg = serde_json::to_string(&req).expect("requests serialise");
                if let Some(q) = slot.waiting.borrow_mut().as_mut() {
                    q.push(msg);
                    return;
                }
                if let Err(e) = slot.worker.post_message(&JsValue::from_str(&msg)) {
                    web_sys::console::error_1(&e);
                }
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
        if let Engine::Workers { slots, .. } = self {
            for s in slots {
                s.worker.terminate();
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
