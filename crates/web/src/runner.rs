//! Where chunks run: a pool of Web Workers (the `worker` binary, loaded through trunk's
//! loader shim), one per core, or, when no worker can start (the wasm-bindgen test runner, a browser
//! without workers), the page itself in short timer-sliced tasks. Both answer a
//! [`Request`] with [`serve`], which only calls `tornsim-core`; messages are JSON strings.

use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::rc::Rc;
use tornsim_core::campaign::{Chunk, ChunkResult};
use tornsim_core::cutoff::{check_any, AnyResult};
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
    /// Parse, configure and compile a scenario's text; `any`: a general file's verdict
    /// for every walker count.
    Parse {
        seq: u64,
        text: String,
        #[serde(default)]
        any: bool,
    },
    /// The exhaustive search.
    Check {
        seq: u64,
        config: Config,
        max_states: u64,
    },
    /// The exhaustive search for every CPU count ([`tornsim_core::cutoff`]).
    CheckAny {
        seq: u64,
        config: Config,
        max_states: u64,
    },
    /// A part of the page's random runs of a general file.
    GeneralRuns {
        seq: u64,
        part: tornsim_core::general::RunsPart,
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

/// The page's search options: its state budget, and a memory budget well inside a tab's.
fn page_check_options(max_states: u64) -> CheckOptions {
    CheckOptions {
        max_states,
        // A worker's memory is the tab's: stop with "incomplete" well before it would
        // fail.
        max_bytes: PAGE_MAX_BYTES,
        ..CheckOptions::default()
    }
}

/// Where the cutoff argument does not apply, the page checks this many readers.
pub const ANY_BOUND: u32 = 3;

/// A scenario text that parsed: what it runs, and its description line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Parsed {
    pub config: Config,
    pub description: String,
    /// A file the general machine runs (`tornsim_core::general`): its report. The
    /// configuration is then not the file's (the classic controls keep theirs).
    pub general: Option<tornsim_core::general::GReport>,
}

/// The most states the general machine's search stores for a file in the editor, and
/// the random runs it answers with: general files are small (the built-in ones need at
/// most 2,000 states), and a parse must not hold the worker for long.
pub const GENERAL_MAX_STATES: u64 = 300_000;
pub const GENERAL_RUNS: u64 = 2_000;

/// What a parse answers: a general file's report (for every walker count if `any`),
/// or the classic configuration.
fn parse(text: &str, any: bool) -> Result<Parsed, ScenarioError> {
    use tornsim_core::general::{self, Route};
    if let Route::General(p) = general::route(text)? {
        let report = if any {
            general::report_any
        } else {
            general::report
        };
        return Ok(Parsed {
            config: Config::default(),
            description: p.description.clone(),
            general: Some(report(&p, GENERAL_MAX_STATES, GENERAL_RUNS, 1)),
        });
    }
    tornsim_core::program::load_checked(text).map(|(s, config)| Parsed {
        config,
        description: s.description,
        general: None,
    })
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
    CheckedAny {
        seq: u64,
        result: Result<AnyResult, String>,
    },
    Estimated {
        seq: u64,
        lane: usize,
        generation: u64,
        result: Result<RateEstimate, String>,
    },
    GeneralRuns {
        seq: u64,
        result: Result<tornsim_core::general::GStats, String>,
    },
}

/// What the worker does with each message (and the inline engine with each request).
pub fn serve(req: Request) -> Reply {
    match req {
        Request::Chunk(c) => Reply::Chunk(answer(c)),
        Request::GeneralRuns { seq, part } => Reply::GeneralRuns {
            seq,
            result: part.run(),
        },
        Request::Parse { seq, text, any } => Reply::Parsed {
            seq,
            result: parse(&text, any),
        },
        Request::Check {
            seq,
            config,
            max_states,
        } => {
            let opts = page_check_options(max_states);
            Reply::Checked {
                seq,
                result: tornsim_core::check(&config, opts).map_err(|e| e.to_string()),
            }
        }
        Request::CheckAny {
            seq,
            config,
            max_states,
        } => Reply::CheckedAny {
            seq,
            result: check_any(&config, page_check_options(max_states), ANY_BOUND)
                .map_err(|e| e.to_string()),
        },
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

/// Runs a few short chunks of the page's default settings before the worker says it is
/// ready.
///
/// A browser first runs wasm from a quickly compiled baseline and swaps in optimised
/// code for a function only when it is next called. A batch's first chunk is one long
/// call, so without this it ran entirely in baseline code, at a quarter of the speed:
/// measured on two cores, each of two workers lost about 110 ms in a 1 M-run batch of
/// 0.87 s. Many short calls let the optimised code arrive before the first chunk does.
pub fn warm_up() {
    let share = tornsim_core::campaign::Share::default();
    let start = js_sys::Date::now();
    for i in 0..WARM_UP_CALLS {
        let chunk = Chunk {
            lane: 0,
            generation: 0,
            config: share.config.clone(),
            scheduler: share.scheduler,
            seed: share.seed,
            first: i * WARM_UP_RUNS,
            runs: WARM_UP_RUNS,
            timed: None,
        };
        let _ = chunk.run();
        if js_sys::Date::now() - start > WARM_UP_MAX_MS {
            break;
        }
    }
}

/// Warm-up calls and runs per call: 10,000 runs, about 15 ms of optimised code.
const WARM_UP_CALLS: u64 = 40;
const WARM_UP_RUNS: u64 = 250;
/// A slow device stops warming up after this long.
const WARM_UP_MAX_MS: f64 = 250.0;

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
    /// A pool of Web Workers; every request goes to the one with the fewest unanswered.
    Workers(Vec<Slot>),
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
        let pool = (0..workers)
            .map(|_| Self::slot(early.next(), done.clone(), failed.clone()))
            .collect::<Result<Vec<_>, _>>();
        // Workers boot.js started that the pool does not need.
        for w in early {
            w.terminate();
        }
        match pool {
            Ok(slots) if !slots.is_empty() => Engine::Workers(slots),
            Ok(_) => Engine::Inline { done },
            Err(e) => {
                web_sys::console::warn_1(&e);
                Engine::Inline { done }
            }
        }
    }

    /// A slot for a worker boot.js started (`early`), or for a new one.
    fn slot(
        early: Option<web_sys::Worker>,
        done: Callback<Reply>,
        failed: Callback<String>,
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
        matches!(self, Engine::Workers(_))
    }

    /// Workers in the pool (0 for the inline engine).
    pub fn workers(&self) -> usize {
        match self {
            Engine::Workers(s) => s.len(),
            Engine::Inline { .. } => 0,
        }
    }

    pub fn send(&self, req: Request) {
        match self {
            Engine::Workers(slots) => {
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
        if let Engine::Workers(slots) = self {
            for s in slots {
                s.worker.terminate();
            }
        }
    }
}
