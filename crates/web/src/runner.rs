//! Where chunks run: a dedicated Web Worker (the `worker` binary, loaded through trunk's
//! loader shim) or, when no worker can start (the wasm-bindgen test runner, a browser
//! without workers), the page itself in short timer-sliced tasks. Both answer a
//! [`Request`] with [`serve`], which only calls `tornsim-core`; messages are JSON strings.

use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::rc::Rc;
use tornsim_core::campaign::{Chunk, ChunkResult};
use tornsim_core::rare::{EstimateSpec, RateEstimate};
use tornsim_core::timed::Latencies;
use tornsim_core::{CheckOptions, CheckResult, Config, ScenarioError};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use yew::Callback;

/// The most memory the page's exhaustive search may use for its state store.
pub const PAGE_MAX_BYTES: u64 = 256 << 20;

/// What the worker posts once it can take requests.
pub const READY: &str = "ready";

/// What the page asks of the worker. Parsing and checking go there too, so that typing
/// in the scenario editor or proving a large configuration never blocks the page.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Request {
    Chunk(Chunk),
    /// Parse, configure and compile a scenario's text.
    Parse {
        seq: u64,
        text: String,
    },
    /// The exhaustive search.
    Check {
        seq: u64,
        config: Config,
        max_states: u64,
    },
    /// A lane's rare-event rate ([`tornsim_core::rare`]).
    Estimate {
        seq: u64,
        lane: usize,
        generation: u64,
        config: Config,
        latencies: Latencies,
        spec: EstimateSpec,
        seed: u64,
    },
}

/// A scenario text that parsed: what it runs, and its description line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Parsed {
    pub config: Config,
    pub description: String,
}

/// The worker's answer to a [`Request`].
// One message per request, moved once: boxing the answer would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Reply {
    Chunk(Answer),
    Parsed {
        seq: u64,
        result: Result<Parsed, ScenarioError>,
    },
    Checked {
        seq: u64,
        result: Result<CheckResult, String>,
    },
    Estimated {
        seq: u64,
        lane: usize,
        generation: u64,
        result: Result<RateEstimate, String>,
    },
}

/// What the worker does with each message (and the inline engine with each request).
pub fn serve(req: Request) -> Reply {
    match req {
        Request::Chunk(c) => Reply::Chunk(answer(c)),
        Request::Parse { seq, text } => Reply::Parsed {
            seq,
            result: tornsim_core::scenario::load_checked(&text).map(|(s, config)| Parsed {
                config,
                description: s.description,
            }),
        },
        Request::Check {
            seq,
            config,
            max_states,
        } => {
            let opts = CheckOptions {
                max_states,
                // A worker's memory is the tab's: stop with "incomplete" well before it
                // would fail.
                max_bytes: PAGE_MAX_BYTES,
                ..CheckOptions::default()
            };
            Reply::Checked {
                seq,
                result: tornsim_core::check(&config, opts).map_err(|e| e.to_string()),
            }
        }
        Request::Estimate {
            seq,
            lane,
            generation,
            config,
            latencies,
            spec,
            seed,
        } => Reply::Estimated {
            seq,
            lane,
            generation,
            result: tornsim_core::rare::estimate(&config, &latencies, &spec, seed)
                .map_err(|e| e.to_string()),
        },
    }
}

/// A worker's answer to one chunk.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Answer {
    pub chunk: Chunk,
    pub result: Result<ChunkResult, String>,
    /// Milliseconds the chunk took inside the worker.
    pub ms: f64,
}

/// Runs a chunk and times it; what the worker does per message.
pub fn answer(chunk: Chunk) -> Answer {
    let t = js_sys::Date::now();
    let result = chunk.run().map_err(|e| e.to_string());
    Answer {
        chunk,
        result,
        ms: js_sys::Date::now() - t,
    }
}

pub enum Engine {
    Worker {
        worker: web_sys::Worker,
        /// Messages posted before the worker's wasm has started and installed its
        /// handler would be dropped, so chunks wait here until it says `ready`.
        waiting: Rc<RefCell<Option<Vec<String>>>>,
        _on_message: Closure<dyn FnMut(web_sys::MessageEvent)>,
        _on_error: Closure<dyn FnMut(web_sys::ErrorEvent)>,
    },
    Inline {
        done: Callback<Reply>,
    },
}

/// The worker script trunk emits next to the page (relative, so sub-paths work).
pub const WORKER_URL: &str = "./worker_loader.js";

impl Engine {
    /// A worker engine if one starts, else the inline engine.
    pub fn new(use_worker: bool, done: Callback<Reply>, failed: Callback<String>) -> Engine {
        if use_worker {
            match Self::worker(done.clone(), failed) {
                Ok(e) => return e,
                Err(e) => web_sys::console::warn_1(&e),
            }
        }
        Engine::Inline { done }
    }

    fn worker(done: Callback<Reply>, failed: Callback<String>) -> Result<Engine, JsValue> {
        let worker = web_sys::Worker::new(WORKER_URL)?;
        let waiting: Rc<RefCell<Option<Vec<String>>>> = Rc::new(RefCell::new(Some(Vec::new())));
        let (w2, wait2) = (worker.clone(), waiting.clone());
        let on_message = Closure::<dyn FnMut(_)>::new(move |e: web_sys::MessageEvent| {
            let text = e.data().as_string().unwrap_or_default();
            if text == READY {
                for msg in wait2.borrow_mut().take().unwrap_or_default() {
                    let _ = w2.post_message(&JsValue::from_str(&msg));
                }
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
        Ok(Engine::Worker {
            worker,
            waiting,
            _on_message: on_message,
            _on_error: on_error,
        })
    }

    pub fn is_worker(&self) -> bool {
        matches!(self, Engine::Worker { .. })
    }

    pub fn send(&self, req: Request) {
        match self {
            Engine::Worker {
                worker, waiting, ..
            } => {
                let msg = serde_json::to_string(&req).expect("requests serialise");
                if let Some(q) = waiting.borrow_mut().as_mut() {
                    q.push(msg);
                    return;
                }
                if let Err(e) = worker.post_message(&JsValue::from_str(&msg)) {
                    web_sys::console::error_1(&e);
                }
            }
            Engine::Inline { done } => {
                let done = done.clone();
                // A timer per request lets the page paint and handle input between them.
                gloo_timers::callback::Timeout::new(0, move || done.emit(serve(req))).forget();
            }
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if let Engine::Worker { worker, .. } = self {
            worker.terminate();
        }
    }
}
