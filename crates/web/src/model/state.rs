//! The page's state and the messages that change it: the [`Model`] every panel reads,
//! each panel's own part of it ([`TraceView`], [`Editor`]), the [`Msg`]s, and the one
//! way out of the reducer, a request queued for the engine ([`Model::post`]).

use crate::runner::{Parsed, Request};
use std::rc::Rc;
use tornsim_core::campaign::{Campaign, Chunk, ChunkResult, Share};
use tornsim_core::config::ConfigError;
use tornsim_core::cutoff::AnyResult;
use tornsim_core::rare::{EstimateSpec, RateEstimate};
use tornsim_core::{CheckProgress, CheckResult, Choice, ScenarioError, Stepper, Trace};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Idle,
    Running,
    Paused,
    Done,
}

/// An open trace and the step shown (0 = before the first step).
#[derive(Clone, Debug, PartialEq)]
pub struct TraceView {
    pub trace: Rc<Trace>,
    pub pos: usize,
}

/// An open run of a file the general machine runs, and the step shown (0 = before the
/// first step).
#[derive(Clone, Debug, PartialEq)]
pub struct GeneralView {
    pub timeline: Rc<tornsim_core::general::GTimeline>,
    pub pos: usize,
}

/// Random runs of the editor's general file, split in parts across the workers
/// (each part a range of the batch's run indices, so any split adds up to the same
/// batch).
#[derive(Clone, Debug, PartialEq)]
pub struct GeneralRuns {
    pub text: String,
    pub spec: tornsim_core::sched::SchedulerSpec,
    pub seed: u64,
    pub total: u64,
    /// The next part's first run.
    pub next: u64,
    /// Parts asked for and not answered yet, by request id.
    pub pending: Vec<u64>,
    pub stats: tornsim_core::general::GStats,
    /// After each part answered: the runs so far and each hazard's runs (the chart).
    pub series: Vec<(u64, Vec<(tornsim_core::Hazard, u64)>)>,
    pub stopped: bool,
    pub error: Option<String>,
}

impl GeneralRuns {
    /// Every run asked for has been answered, or the runs were stopped and the parts
    /// in flight have come back.
    pub fn finished(&self) -> bool {
        self.pending.is_empty() && (self.stopped || self.next >= self.total)
    }
}

/// The scenario editor: the text as typed, and what the worker last said of it.
#[derive(Clone, Debug, PartialEq)]
pub struct Editor {
    pub text: String,
    /// The description line of the text that last parsed.
    pub description: String,
    /// The latest parse asked for; answers to older texts are dropped.
    pub seq: u64,
    pub state: EditorState,
    /// Check the text once it parses: set by a line move, whose point is the verdict.
    pub check_on_parse: bool,
    /// The text runs on the general machine: what it answered (the classic controls,
    /// charts and trace view do not run it).
    pub general: Option<tornsim_core::general::GReport>,
    /// The general file's verdict for every walker count is on its way.
    pub proving_any: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum EditorState {
    /// The text is what the settings run.
    Ok,
    /// Sent to the worker, no answer yet.
    Parsing,
    Error(ScenarioError),
}

/// The most states the page's exhaustive search stores before it says "incomplete".
pub const PAGE_MAX_STATES: u64 = 8_000_000;

#[derive(Clone, Debug)]
pub struct Model {
    pub share: Share,
    /// Compact layout for documentation pages (`embed=1`).
    pub embed: bool,
    /// The controls are shown read-only (`controls=locked`).
    pub locked: bool,
    /// Why the controls' configuration cannot run, shown beside them.
    pub invalid: Option<ConfigError>,
    /// Why the link's fragment was not used.
    pub notice: Option<String>,
    pub status: Status,
    pub campaign: Option<Campaign>,
    /// What the page shows of the campaign: a copy refreshed at most every
    /// [`SHOW_MS`] while a batch runs (and at once otherwise), so that the page repaints a
    /// few times a second however many workers answer, and its painting leaves the
    /// cores to them.
    pub shown: Option<Rc<Campaign>>,
    /// `elapsed_ms` as of `shown`.
    pub shown_elapsed_ms: f64,
    /// The cost run's charts and table are on the page: from a cost run's first answer
    /// until something other than a cost run is shown. A new cost run keeps them (its
    /// lanes empty until they fill) rather than taking them down and building them again:
    /// the page does not jump, and the browser keeps the fonts their text is drawn in
    /// (a chart built anew made Chromium ask its browser process for them again, a
    /// synchronous call that took 50 to 120 ms on two cores busy with the workers).
    pub cost_charts: bool,
    /// When a chunk's answer last refreshed `shown`.
    pub shown_at: Option<f64>,
    /// Requests posted, kept until answered (a failed worker's are posted again), and
    /// the last id given out.
    pub outbox: Vec<(u64, Request)>,
    pub outbox_seq: u64,
    /// Where a request goes the moment it is queued: the page's engine, from
    /// [`Msg::EngineReady`] on. Posting from the reducer, not from an effect after a
    /// render, lets a worker's answer that changes nothing on screen skip the render.
    pub sink: Option<Sink>,
    /// Changes whenever anything the page shows may have changed; the page re-renders
    /// only then (see the `PartialEq` below).
    pub view_seq: u64,
    pub chunk_size: u64,
    /// Where chunks run: workers (false only in tests or when workers fail).
    pub in_worker: bool,
    /// Workers in the pool (1 when chunks run on the page).
    pub workers: usize,
    /// The pool size a link asks for (`workers=N`), else one per core.
    pub workers_wanted: Option<usize>,
    pub started_ms: f64,
    pub elapsed_ms: f64,
    pub generation: u64,
    pub trace: Option<TraceView>,
    /// The open run of the editor's general file (its schedule is `share.trace`).
    pub general_trace: Option<GeneralView>,
    /// Random runs of the editor's general file.
    pub general_runs: Option<GeneralRuns>,
    pub manual: Option<Rc<Stepper>>,
    pub check: Option<Result<CheckResult, String>>,
    /// When the verdict shown was asked for every CPU count: the argument, and the counts
    /// checked (`check` holds the search that gave the verdict).
    pub any: Option<Rc<AnyResult>>,
    /// The id of the check request in flight.
    pub checking: Option<u64>,
    /// How far it has gone, when it runs on the pool (which reports as it goes).
    pub check_progress: Option<CheckProgress>,
    pub editor: Editor,
    pub error: Option<String>,
    /// Counts deliberate changes of the settings (a control, a preset, a trace opened or
    /// closed): each gets its own history entry, while typing in the editor replaces the
    /// current one.
    pub deliberate: u64,
    /// A finished cost run's rare-event rate per lane: `None` while it is computed.
    pub rates: Vec<Option<Result<RateEstimate, String>>>,
}

/// How the page estimates a cost run's rare-event rates: importance sampling to 10%
/// relative error, within a million timed runs per lane.
pub const PAGE_ESTIMATE: EstimateSpec = EstimateSpec {
    method: tornsim_core::rare::Method::Importance,
    event: tornsim_core::rare::Event::Torn,
    rel_error: 0.1,
    max_runs: 1_000_000,
};

/// A change to the settings, as a control makes it.
pub type Edit = Box<dyn FnOnce(&mut Share) -> Result<(), ConfigError>>;

// Messages are short-lived; boxing the chunk would only add an allocation per answer.
#[allow(clippy::large_enum_variant)]
pub enum Msg {
    /// Replace the settings (a control changed, a preset was picked).
    Edit(Edit),
    Preset(String),
    Start {
        now_ms: f64,
    },
    /// Timed runs of every placement: the cost model's trade-off.
    StartCost {
        now_ms: f64,
    },
    Pause,
    Resume {
        now_ms: f64,
    },
    Reset,
    ChunkDone {
        chunk: Chunk,
        result: Result<ChunkResult, String>,
        worker_ms: f64,
        now_ms: f64,
    },
    WorkerFailed(String),
    OpenTrace(String),
    CloseTrace,
    Seek(usize),
    StepBy(i64),
    ManualStart,
    ManualStep(Choice),
    CheckStart,
    /// Prove for every CPU count (the cutoff argument).
    CheckAnyStart,
    CheckAnyDone {
        seq: u64,
        result: Result<AnyResult, String>,
    },
    CheckDone {
        seq: u64,
        result: Result<CheckResult, String>,
    },
    /// How far the search in flight has gone.
    CheckProgress {
        seq: u64,
        progress: CheckProgress,
    },
    /// Stop the search in flight.
    CheckCancel,
    /// The editor's text changed.
    ScenarioText(String),
    /// The editor moved lines (Alt+Up/Down): the new text, checked once it parses.
    ScenarioMoved(String),
    /// The address bar's fragment changed under the page (a pasted link, Back/Forward).
    Fragment(String),
    ScenarioParsed {
        seq: u64,
        result: Result<Parsed, ScenarioError>,
    },
    RateEstimated {
        seq: u64,
        lane: usize,
        generation: u64,
        result: Result<RateEstimate, String>,
    },
    /// Random runs of the editor's general file: how many, under which scheduler.
    GeneralRunStart {
        runs: u64,
        spec: tornsim_core::sched::SchedulerSpec,
    },
    GeneralRunStop,
    /// The editor's general file, checked for every walker count.
    GeneralProveAny,
    GeneralRunsDone {
        seq: u64,
        result: Result<tornsim_core::general::GStats, String>,
    },
    /// The engine started with this many workers (0: chunks run on the page), and
    /// takes requests through `sink`.
    EngineReady {
        workers: usize,
        sink: Option<Sink>,
    },
}

/// Sends a request to the engine; the flag says whether chunks still run in workers
/// (false once they failed, so the engine falls back to the page).
#[derive(Clone)]
pub struct Sink(pub Rc<dyn Fn(Request, bool)>);

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sink")
    }
}

/// The page re-renders when the model's view changed, not on every message: a worker's
/// answer that only adds to the campaign between two refreshes of `shown` is invisible.
impl PartialEq for Model {
    fn eq(&self, other: &Self) -> bool {
        self.view_seq == other.view_seq
    }
}

/// Runs per chunk aim at this much work, so progress updates several times a second and
/// (when chunks run on the main thread) no task gets long.
pub(super) const WORKER_CHUNK_MS: f64 = 120.0;
pub(super) const INLINE_CHUNK_MS: f64 = 20.0;
/// How often a running batch's results reach the page.
pub const SHOW_MS: f64 = 250.0;

impl Model {
    /// Queues the request `make` builds from its id (the outbox id doubles as the
    /// request's `seq`, so answers match requests one to one) and returns the id.
    pub(super) fn post(&mut self, make: impl FnOnce(u64) -> Request) -> u64 {
        self.outbox_seq += 1;
        let req = make(self.outbox_seq);
        self.send(&req);
        self.outbox.push((self.outbox_seq, req));
        self.outbox_seq
    }

    /// Hands a request to the engine, once there is one.
    pub(super) fn send(&self, req: &Request) {
        if let Some(sink) = &self.sink {
            (sink.0)(req.clone(), self.in_worker);
        }
    }

    /// A verdict, shown or on its way, is about the settings it was asked for.
    pub(super) fn settings_changed(&mut self) {
        self.check = None;
        self.any = None;
        self.check_cancel();
    }
}

impl Msg {
    /// The message the page makes of a worker's answer, at `now_ms`.
    pub fn from_reply(r: crate::runner::Reply, now_ms: f64) -> Msg {
        use crate::runner::Reply;
        match r {
            Reply::Chunk(a) => Msg::ChunkDone {
                chunk: a.chunk,
                result: a.result,
                worker_ms: a.ms,
                now_ms,
            },
            Reply::Parsed { seq, result } => Msg::ScenarioParsed { seq, result },
            Reply::Checked { seq, result } => Msg::CheckDone { seq, result },
            Reply::CheckProgress { seq, progress } => Msg::CheckProgress { seq, progress },
            Reply::CheckedAny { seq, result } => Msg::CheckAnyDone { seq, result },
            Reply::GeneralRuns { seq, result } => Msg::GeneralRunsDone { seq, result },
            Reply::Estimated {
                seq,
                lane,
                generation,
                result,
            } => Msg::RateEstimated {
                seq,
                lane,
                generation,
                result,
            },
        }
    }
}
