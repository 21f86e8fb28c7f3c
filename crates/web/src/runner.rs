//! What the page asks of its workers and what they answer: [`Request`], [`Reply`] and
//! [`serve`], which only calls `tornsim-core`; messages are JSON strings (`crate::engine`
//! carries them).

use serde::{Deserialize, Serialize};
use tornsim_core::campaign::{Chunk, ChunkResult};
use tornsim_core::cutoff::{check_any, AnyResult};
use tornsim_core::rare::{EstimateSpec, RateEstimate};
use tornsim_core::timed::Latencies;
use tornsim_core::{CheckOptions, CheckResult, Config, ScenarioError};

/// The most memory the page's exhaustive search may use for its state store, in each
/// worker it runs on: room for the largest built-in case (`handshake-mb` at three
/// readers, 5.8 M states) in one worker.
pub const PAGE_MAX_BYTES: u64 = 384 << 20;

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
    /// Drop the exhaustive search `seq` (the pool's; one in a single worker runs on).
    CancelCheck {
        seq: u64,
    },
    /// To a worker: hold part `me` of `n` of the search `seq` split over the pool
    /// ([`crate::prove_pool`]); the message brings the ports to the other parts.
    Part {
        seq: u64,
        config: Config,
        opts: CheckOptions,
        me: usize,
        n: usize,
    },
    /// To a worker: drop its part of the search `seq`.
    PartStop {
        seq: u64,
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

/// The page's search options: its state budget, and a memory budget well inside a tab's
/// for each of the `workers` workers the search runs on.
pub fn page_check_options(max_states: u64, workers: usize) -> CheckOptions {
    CheckOptions {
        max_states,
        // A worker's memory is the tab's: stop with "incomplete" well before it would
        // fail. A search split over the pool splits the budget evenly.
        max_bytes: PAGE_MAX_BYTES * workers as u64,
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
    /// How far the search split over the pool has gone.
    CheckProgress {
        seq: u64,
        progress: tornsim_core::CheckProgress,
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

/// What the worker does with each message (and the inline engine with each request);
/// the requests about the pool's search have no answer here.
pub fn serve(req: Request) -> Option<Reply> {
    Some(match req {
        Request::Chunk(c) => Reply::Chunk(answer(c)),
        Request::CancelCheck { .. } | Request::Part { .. } | Request::PartStop { .. } => {
            return None
        }
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
            let opts = page_check_options(max_states, 1);
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
            result: check_any(&config, page_check_options(max_states, 1), ANY_BOUND)
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
    })
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
