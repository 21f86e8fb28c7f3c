//! The page's one reducer: every user action and every worker answer is a [`Msg`], and
//! [`Model::reduce`] is the only place state changes. Simulation happens in
//! `tornsim-core` ([`Campaign`], [`Stepper`], [`check`]); this file only decides what to
//! ask for next. Chunks to send are queued in `outbox` and posted by an effect, so the
//! reducer itself does no I/O.

use crate::runner::{Parsed, Request};
use std::rc::Rc;
use tornsim_core::campaign::{Campaign, Chunk, ChunkResult, Share};
use tornsim_core::config::{Config, ConfigError};
use tornsim_core::rare::{EstimateSpec, RateEstimate};
use tornsim_core::{replay_str_with, scenario, CheckResult, Choice, ScenarioError, Stepper, Trace};
use yew::Reducible;

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

/// The scenario editor: the text as typed, and what the worker last said of it.
#[derive(Clone, Debug, PartialEq)]
pub struct Editor {
    pub text: String,
    /// The description line of the text that last parsed.
    pub description: String,
    /// The latest parse asked for; answers to older texts are dropped.
    pub seq: u64,
    pub state: EditorState,
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
pub const PAGE_MAX_STATES: u64 = 3_000_000;

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
    pub manual: Option<Rc<Stepper>>,
    pub check: Option<Result<CheckResult, String>>,
    /// The id of the check request in flight.
    pub checking: Option<u64>,
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
    CheckDone {
        seq: u64,
        result: Result<CheckResult, String>,
    },
    /// The editor's text changed.
    ScenarioText(String),
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
const WORKER_CHUNK_MS: f64 = 120.0;
const INLINE_CHUNK_MS: f64 = 20.0;
/// How often a running batch's results reach the page.
pub const SHOW_MS: f64 = 250.0;

impl Model {
    /// The page's state from a URL fragment (without `#`). A fragment that does not
    /// parse leaves the defaults and explains why.
    pub fn from_fragment(fragment: &str, in_worker: bool) -> Model {
        // The embed keys are read first and on their own, so that an embed whose other
        // settings are refused still renders as an embed (with its notice).
        let (mut embed, mut locked, mut workers_wanted) = (false, false, None);
        for pair in fragment.split('&') {
            match pair {
                "embed" | "embed=1" => embed = true,
                "controls=locked" => locked = true,
                _ => {
                    if let Some(n) = pair.strip_prefix("workers=") {
                        workers_wanted = n
                            .parse::<usize>()
                            .ok()
                            .filter(|n| (1..=crate::runner::MAX_WORKERS).contains(n));
                    }
                }
            }
        }
        let (share, notice) = if fragment.trim().is_empty() {
            (Share::default(), None)
        } else {
            let parsed = decode_pairs(fragment).and_then(|q| {
                let (s, extra) = Share::from_query(&q, &["embed", "controls", "workers"])?;
                for (k, v) in extra {
                    match (k, v) {
                        ("embed", "1" | "0" | "") | ("controls", "locked" | "open") => {}
                        ("workers", _) if workers_wanted.is_some() => {}
                        (k, v) => {
                            return Err(ConfigError::new(
                                k,
                                format!(
                                    "unknown value '{v}' (embed=1, controls=locked|open, \
                                     workers=1..={})",
                                    crate::runner::MAX_WORKERS
                                ),
                            ))
                        }
                    }
                }
                Ok(s)
            });
            match parsed {
                Ok(s) => (s, None),
                Err(e) => (
                    Share::default(),
                    Some(format!(
                        "This link's settings could not be used ({e}); showing the defaults instead."
                    )),
                ),
            }
        };
        let trace = share.trace.as_deref().and_then(|t| {
            replay_str_with(t, share.config.scenario.as_ref())
                .ok()
                .map(|trace| TraceView {
                    trace: Rc::new(trace),
                    pos: 0,
                })
        });
        let text = scenario_text(&share.config);
        let description = describe(&text);
        let mut m = Model {
            share,
            embed,
            locked,
            invalid: None,
            notice,
            status: Status::Idle,
            campaign: None,
            shown: None,
            shown_elapsed_ms: 0.0,
            shown_at: None,
            outbox: Vec::new(),
            outbox_seq: 0,
            sink: None,
            view_seq: 0,
            chunk_size: 2_000,
            in_worker,
            workers: 1,
            workers_wanted,
            started_ms: 0.0,
            elapsed_ms: 0.0,
            generation: 0,
            trace,
            manual: None,
            check: None,
            checking: None,
            editor: Editor {
                text,
                description,
                seq: 0,
                state: EditorState::Ok,
            },
            error: None,
            deliberate: 0,
            rates: Vec::new(),
        };
        // A link whose scenario has an error still opens that text in the editor, with
        // the error at its line, rather than losing the user's work.
        if m.notice.is_some() {
            if let Some(text) = linked_scenario(fragment) {
                m.edit_scenario(text);
            }
        }
        m
    }

    /// Queues the request `make` builds from its id (the outbox id doubles as the
    /// request's `seq`, so answers match requests one to one) and returns the id.
    fn post(&mut self, make: impl FnOnce(u64) -> Request) -> u64 {
        self.outbox_seq += 1;
        let req = make(self.outbox_seq);
        self.send(&req);
        self.outbox.push((self.outbox_seq, req));
        self.outbox_seq
    }

    /// Hands a request to the engine, once there is one.
    fn send(&self, req: &Request) {
        if let Some(sink) = &self.sink {
            (sink.0)(req.clone(), self.in_worker);
        }
    }

    /// The settings changed from outside the editor: show them as a file.
    fn refresh_editor(&mut self) {
        // Text that does not parse is the user's work in progress: keep it.
        if !matches!(self.editor.state, EditorState::Error(_)) {
            self.editor.text = scenario_text(&self.share.config);
            self.editor.description = describe(&self.editor.text);
            self.editor.seq += 1;
            self.editor.state = EditorState::Ok;
        }
    }

    /// A verdict, shown or on its way, is about the settings it was asked for.
    fn settings_changed(&mut self) {
        self.check = None;
        self.checking = None;
    }

    fn edit_scenario(&mut self, text: String) {
        self.editor.text = text.clone();
        self.editor.seq = self.post(|seq| Request::Parse { seq, text });
        self.editor.state = EditorState::Parsing;
    }

    pub fn fragment(&self) -> String {
        self.share.to_query()
    }

    /// Runs per second of what is shown.
    pub fn runs_per_sec(&self) -> f64 {
        let runs = self.shown.as_ref().map_or(0, |c| c.runs());
        if self.shown_elapsed_ms <= 0.0 {
            0.0
        } else {
            runs as f64 * 1000.0 / self.shown_elapsed_ms
        }
    }

    fn start(&mut self, now_ms: f64, timed: bool) {
        self.generation += 1;
        let cfg = self.share.config.clone();
        let lanes = if self.share.compare || timed {
            Campaign::compare_lanes(&cfg)
        } else {
            vec![(cfg.sync.to_string(), cfg)]
        };
        match Campaign::new(
            lanes,
            self.share.scheduler,
            self.share.seed,
            self.share.runs,
            self.generation,
        ) {
            Ok(mut c) => {
                c.timed = timed.then(tornsim_core::timed::Latencies::default);
                self.campaign = Some(c);
                self.status = Status::Running;
                self.started_ms = now_ms;
                self.elapsed_ms = 0.0;
                // Workers start with chunks of a few tens of ms and adapt from there;
                // on the page, small ones keep every task short.
                self.chunk_size = if self.in_worker { 10_000 } else { 2_000 };
                self.error = None;
                self.rates.clear();
                self.fill_outbox();
            }
            Err(e) => self.invalid = Some(e),
        }
    }

    /// Queues a chunk for every idle lane with runs left.
    fn fill_outbox(&mut self) {
        if self.status != Status::Running {
            return;
        }
        let Some(c) = self.campaign.as_mut() else {
            return;
        };
        let mut chunks = Vec::new();
        // Two chunks per worker: each has the next one queued while the page takes in
        // the last, so no worker waits on the main thread.
        let per_lane = c.per_lane(self.workers * 2);
        while let Some(ch) = c.next_chunk(self.chunk_size, per_lane) {
            chunks.push(ch);
        }
        if c.done() {
            self.status = Status::Done;
        }
        for ch in chunks {
            self.post(|_| Request::Chunk(ch));
        }
        self.request_rates();
    }

    /// Once a cost run is done, asks for each lane's rare-event rate: the torn reads
    /// too rare for the run itself to count, with their intervals.
    fn request_rates(&mut self) {
        let Some(c) = self.campaign.as_ref() else {
            return;
        };
        let Some(latencies) = c.timed.filter(|_| c.done() && self.rates.is_empty()) else {
            return;
        };
        let (lanes, seed, generation) = (
            c.lanes.iter().map(|l| l.config.clone()).collect::<Vec<_>>(),
            self.share.seed,
            self.generation,
        );
        self.rates = vec![None; lanes.len()];
        for (lane, config) in lanes.into_iter().enumerate() {
            self.post(|seq| Request::Estimate {
                seq,
                lane,
                generation,
                config,
                latencies,
                spec: PAGE_ESTIMATE,
                seed,
            });
        }
    }

    /// Shows what `fragment` says, as a fresh page would, keeping the ids of requests
    /// in flight growing so that their answers are told apart from new ones.
    fn load_fragment(&mut self, fragment: &str) {
        let fragment = fragment.trim_start_matches('#');
        if fragment == self.fragment() {
            return;
        }
        let mut fresh = Model::from_fragment(fragment, self.in_worker);
        let parse: Vec<String> = fresh
            .outbox
            .drain(..)
            .filter_map(|(_, r)| match r {
                Request::Parse { text, .. } => Some(text),
                _ => None,
            })
            .collect();
        fresh.outbox_seq = self.outbox_seq;
        fresh.generation = self.generation + 1;
        fresh.editor.seq = self.editor.seq;
        fresh.deliberate = self.deliberate;
        // The engine outlives the fragment.
        (fresh.workers, fresh.workers_wanted) = (self.workers, self.workers_wanted);
        (fresh.sink, fresh.view_seq) = (self.sink.clone(), self.view_seq);
        *self = fresh;
        for text in parse {
            self.edit_scenario(text);
        }
    }

    fn apply(&mut self, msg: Msg) {
        let chunk_at = match &msg {
            Msg::ChunkDone { now_ms, .. } => Some(*now_ms),
            _ => None,
        };
        self.apply_msg(msg);
        // While a batch runs, a chunk's answer refreshes the page's copy only every
        // SHOW_MS; anything else (and the batch's end) shows at once.
        let fresh = self
            .shown_at
            .is_none_or(|t| chunk_at.is_none_or(|now| now - t >= SHOW_MS));
        if fresh || self.status != Status::Running {
            self.shown = self.campaign.clone().map(Rc::new);
            self.shown_elapsed_ms = self.elapsed_ms;
            self.shown_at = chunk_at.or(self.shown_at);
            self.view_seq += 1;
        }
    }

    fn apply_msg(&mut self, msg: Msg) {
        if matches!(
            msg,
            Msg::Edit(_) | Msg::Preset(_) | Msg::OpenTrace(_) | Msg::CloseTrace
        ) {
            self.deliberate += 1;
        }
        match msg {
            Msg::Fragment(f) => self.load_fragment(&f),
            Msg::Edit(f) => {
                let mut s = self.share.clone();
                match f(&mut s).and_then(|_| s.config.validate().map(|_| ())) {
                    Ok(()) => {
                        self.share = s;
                        self.invalid = None;
                    }
                    Err(e) => {
                        // Keep what the user typed visible with the reason beside it;
                        // never clamp it silently.
                        self.share = s;
                        self.invalid = Some(e);
                    }
                }
                self.settings_changed();
                if self.invalid.is_none() {
                    self.refresh_editor();
                }
            }
            Msg::Preset(name) => match tornsim_core::preset(&name) {
                Ok(p) => {
                    self.share.config = p.config;
                    self.invalid = None;
                    self.settings_changed();
                    // A preset replaces whatever the editor held, errors included.
                    self.editor.state = EditorState::Ok;
                    self.refresh_editor();
                }
                Err(e) => self.invalid = Some(e),
            },
            Msg::ScenarioText(text) => {
                if text != self.editor.text {
                    self.edit_scenario(text);
                }
            }
            Msg::ScenarioParsed { seq, result } => {
                self.outbox.retain(|(id, _)| *id != seq);
                if seq != self.editor.seq {
                    return;
                }
                match result {
                    Ok(Parsed {
                        config: cfg,
                        description,
                    }) => {
                        self.editor.state = EditorState::Ok;
                        self.editor.description = description;
                        if cfg != self.share.config {
                            self.share.config = cfg;
                            self.settings_changed();
                        }
                        self.invalid = self.share.config.validate().err();
                    }
                    Err(e) => {
                        self.invalid = Some(ConfigError::new(
                            "scenario",
                            format!("the editor's text has an error at {e}"),
                        ));
                        self.editor.state = EditorState::Error(e);
                    }
                }
            }
            Msg::CheckStart => {
                if self.invalid.is_none() {
                    let config = self.share.config.clone();
                    let seq = self.post(|seq| Request::Check {
                        seq,
                        config,
                        max_states: PAGE_MAX_STATES,
                    });
                    self.checking = Some(seq);
                    self.check = None;
                }
            }
            Msg::Start { now_ms } => {
                if self.invalid.is_none() {
                    self.outbox.clear();
                    self.start(now_ms, false);
                }
            }
            Msg::StartCost { now_ms } => {
                if self.invalid.is_none() {
                    self.outbox.clear();
                    self.start(now_ms, true);
                }
            }
            Msg::Pause => {
                if self.status == Status::Running {
                    self.status = Status::Paused;
                }
            }
            Msg::Resume { now_ms } => {
                if self.status == Status::Paused {
                    self.status = Status::Running;
                    // Time spent paused does not count against runs/s.
                    self.started_ms = now_ms - self.elapsed_ms;
                    self.fill_outbox();
                }
            }
            Msg::RateEstimated {
                seq,
                lane,
                generation,
                result,
            } => {
                self.outbox.retain(|(id, _)| *id != seq);
                if generation == self.generation {
                    if let Some(slot) = self.rates.get_mut(lane) {
                        *slot = Some(result);
                    }
                }
            }
            Msg::EngineReady { workers, sink } => {
                self.in_worker = workers > 0;
                self.workers = workers.max(1);
                // What was queued before the engine existed goes out now.
                self.sink = sink;
                for (_, req) in &self.outbox {
                    self.send(req);
                }
                self.fill_outbox();
            }
            Msg::Reset => {
                self.generation += 1;
                self.rates.clear();
                self.campaign = None;
                self.outbox.clear();
                self.status = Status::Idle;
                self.elapsed_ms = 0.0;
            }
            Msg::ChunkDone {
                chunk,
                result,
                worker_ms,
                now_ms,
            } => {
                self.outbox
                    .retain(|(_, r)| !matches!(r, Request::Chunk(c) if c == &chunk));
                let Some(c) = self.campaign.as_mut() else {
                    return;
                };
                match result {
                    Ok(r) => {
                        if !c.absorb(&chunk, &r) {
                            return;
                        }
                    }
                    Err(e) => {
                        c.release(&chunk);
                        self.error = Some(e);
                        self.status = Status::Paused;
                        return;
                    }
                }
                if self.status == Status::Running {
                    self.elapsed_ms = now_ms - self.started_ms;
                }
                let target = if self.in_worker {
                    WORKER_CHUNK_MS
                } else {
                    INLINE_CHUNK_MS
                };
                if worker_ms > 0.0 {
                    let ideal = chunk.runs as f64 * target / worker_ms;
                    let next = ideal.clamp(chunk.runs as f64 / 2.0, chunk.runs as f64 * 2.0);
                    self.chunk_size = (next as u64).clamp(100, 2_000_000);
                }
                self.fill_outbox();
            }
            Msg::WorkerFailed(why) => {
                // Fall back to the main thread in small chunks rather than stop.
                self.in_worker = false;
                self.workers = 1;
                self.error = Some(format!(
                    "The web worker failed ({why}); running on the page instead."
                ));
                // Parses and checks in flight are lost with the worker: ask again.
                let again: Vec<Request> = self
                    .outbox
                    .iter()
                    .filter(|(_, r)| !matches!(r, Request::Chunk(_)))
                    .map(|(_, r)| r.clone())
                    .collect();
                if let Some(c) = self.campaign.as_mut() {
                    for (_, r) in self.outbox.drain(..) {
                        if let Request::Chunk(ch) = r {
                            c.release(&ch);
                        }
                    }
                }
                self.outbox.clear();
                for r in again {
                    self.post(|_| r);
                }
                self.chunk_size = 500;
                self.fill_outbox();
            }
            Msg::OpenTrace(s) => match replay_str_with(&s, self.share.config.scenario.as_ref()) {
                Ok(t) => {
                    // Open at the hazard, the step the reader came for.
                    let pos = t
                        .steps
                        .iter()
                        .position(|s| s.hazard.is_some())
                        .map_or(t.steps.len(), |i| i + 1);
                    self.trace = Some(TraceView {
                        trace: Rc::new(t),
                        pos,
                    });
                    self.share.trace = Some(s);
                    self.manual = None;
                }
                Err(e) => self.error = Some(format!("Cannot open that schedule: {e}")),
            },
            Msg::CloseTrace => {
                self.trace = None;
                self.manual = None;
                self.share.trace = None;
            }
            Msg::Seek(p) => {
                if let Some(t) = self.trace.as_mut() {
                    t.pos = p.min(t.trace.steps.len());
                }
            }
            Msg::StepBy(d) => {
                if let Some(t) = self.trace.as_mut() {
                    let p = (t.pos as i64 + d).clamp(0, t.trace.steps.len() as i64);
                    t.pos = p as usize;
                }
            }
            Msg::ManualStart => {
                let cfg: &Config = &self.share.config;
                let table = tornsim_core::run::table_for(cfg, self.share.seed);
                match Stepper::new(cfg, table) {
                    Ok(s) => {
                        self.trace = Some(TraceView {
                            trace: Rc::new(s.trace().clone()),
                            pos: 0,
                        });
                        self.manual = Some(Rc::new(s));
                        self.share.trace = None;
                    }
                    Err(e) => self.invalid = Some(e),
                }
            }
            Msg::ManualStep(ch) => {
                if let Some(m) = self.manual.as_mut() {
                    let m = Rc::make_mut(m);
                    if m.step(ch).is_ok() {
                        let t = m.trace().clone();
                        let pos = t.steps.len();
                        if t.hazards().next().is_some() {
                            self.share.trace = Some(t.schedule.clone());
                        }
                        self.trace = Some(TraceView {
                            trace: Rc::new(t),
                            pos,
                        });
                    }
                }
            }
            Msg::CheckDone { seq, result } => {
                self.outbox.retain(|(id, _)| *id != seq);
                if self.checking == Some(seq) {
                    self.checking = None;
                    self.check = Some(result);
                }
            }
        }
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

impl Reducible for Model {
    type Action = Msg;
    fn reduce(self: Rc<Self>, msg: Msg) -> Rc<Self> {
        let mut m = (*self).clone();
        m.apply(msg);
        Rc::new(m)
    }
}

/// The file a configuration runs, as the editor shows it: a preset's file, a scenario's
/// own text while nothing overrides its settings, else the canonical print of program
/// and settings.
pub fn scenario_text(cfg: &Config) -> String {
    // A preset as its own file, comments and all.
    if let Some(src) = tornsim_core::presets()
        .iter()
        .find(|p| &p.config == cfg)
        .and_then(|p| scenario::builtin_source(p.name))
    {
        return src.to_string();
    }
    if let Some(sc) = &cfg.scenario {
        if scenario::to_config(sc).is_ok_and(|c| &c == cfg) {
            return sc.source.clone();
        }
    }
    scenario::print(scenario::of_config(cfg), cfg)
}

/// The description line of a file the page wrote itself (from a preset or settings).
fn describe(text: &str) -> String {
    scenario::parse(text)
        .map(|s| s.description)
        .unwrap_or_default()
}

/// The unpacked `scenario=` of a fragment, if it has one that unpacks.
fn linked_scenario(fragment: &str) -> Option<String> {
    let q = decode_pairs(fragment).ok()?;
    let v = q.split('&').find_map(|p| p.strip_prefix("scenario="))?;
    scenario::unpack(v).ok()
}

/// Splits a fragment into pairs and percent-decodes each key and value (`%3D` for `=`,
/// `%26` for `&`, as the embed snippet writes them). A decoded pair that would read as
/// more than one pair is refused rather than reinterpreted.
pub fn decode_pairs(fragment: &str) -> Result<String, ConfigError> {
    let mut out = Vec::new();
    for pair in fragment.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (percent_decode(k), percent_decode(v));
        if k.contains(['&', '=']) || v.contains('&') {
            return Err(ConfigError::new(k, "a key or value holds '&' or '='"));
        }
        out.push(format!("{k}={v}"));
    }
    Ok(out.join("&"))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 3 <= b.len() {
            if let Ok(v) =
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or(""), 16)
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::{serve, Reply};

    /// The worker's answer to `req`, as the message the page makes of it (chunks run
    /// here directly: the worker's timing needs a browser clock).
    fn answer(req: Request) -> Msg {
        answer_at(req, 0.0)
    }

    /// [`answer`], arriving at `now_ms`.
    fn answer_at(req: Request, now_ms: f64) -> Msg {
        let reply = match req {
            Request::Chunk(chunk) => Reply::Chunk(crate::runner::Answer {
                result: chunk.run().map_err(|e| e.to_string()),
                chunk,
                ms: 1.0,
            }),
            other => serve(other),
        };
        Msg::from_reply(reply, now_ms)
    }

    /// Serves every queued request as the worker would, until none is left.
    fn pump(m: &mut Model) {
        while let Some((_, req)) = m.outbox.first().cloned() {
            m.outbox.remove(0);
            m.apply(answer(req));
        }
    }

    fn unlock_first(src: &str) -> String {
        scenario::move_line(src, "spin_unlock();", "pmdp_get_lockless_sync();").unwrap()
    }

    #[test]
    fn editing_merged_in_the_editor_reaches_the_torn_read() {
        let mut m = Model::from_fragment("preset=merged", false);
        m.apply(Msg::CheckStart);
        pump(&mut m);
        assert_eq!(
            m.check.as_ref().unwrap().as_ref().unwrap().verdict.name(),
            "safe"
        );
        let edited = unlock_first(&m.editor.text);
        m.apply(Msg::ScenarioText(edited.clone()));
        assert_eq!(m.editor.state, EditorState::Parsing);
        pump(&mut m);
        assert_eq!(m.editor.state, EditorState::Ok);
        assert_eq!(m.editor.text, edited, "the user's text is kept as typed");
        m.apply(Msg::CheckStart);
        pump(&mut m);
        assert_eq!(
            m.check.as_ref().unwrap().as_ref().unwrap().verdict.name(),
            "torn"
        );
        // The link now opens the same thing.
        let again = Model::from_fragment(&m.fragment(), false);
        assert_eq!(again.share.config, m.share.config);
    }

    /// A pool of workers keeps two chunks per worker in flight; answers served in any
    /// order give the totals of one worker (and of one batch); a worker's failure hands
    /// its chunks to the page.
    #[test]
    fn a_pool_answering_out_of_order_gives_one_workers_totals() {
        let frag = "preset=seed-thread-v1&runs=40000&seed=7&workers=3";
        let mut m = Model::from_fragment(frag, true);
        assert_eq!(m.workers_wanted, Some(3));
        assert!(m.notice.is_none(), "{:?}", m.notice);
        m.apply(Msg::EngineReady {
            workers: 3,
            sink: None,
        });
        m.apply(Msg::Start { now_ms: 0.0 });
        assert_eq!(m.outbox.len(), 6, "two chunks for each of three workers");
        let mut served = 0;
        // The newest request first: answers come back out of order.
        while let Some((_, req)) = m.outbox.pop() {
            m.apply(answer(req));
            served += 1;
            if served == 3 {
                m.apply(Msg::WorkerFailed("gone".into()));
                assert_eq!(m.workers, 1);
            }
        }
        assert_eq!(m.status, Status::Done);
        let cfg = m.share.config.clone();
        let whole = tornsim_core::Batch::new(&cfg, tornsim_core::SchedulerSpec::Random, 7)
            .unwrap()
            .run(40_000);
        assert_eq!(m.campaign.as_ref().unwrap().lanes[0].stats, whole);
        assert!(Model::from_fragment("workers=99", true).notice.is_some());
    }

    /// Requests reach the engine as they are queued, not after a render; an answer that
    /// only adds to the campaign between two refreshes of what is shown leaves the model
    /// equal (for the page: no render), and the next chunk goes out all the same.
    #[test]
    fn answers_between_refreshes_post_chunks_without_a_render() {
        let sent = Rc::new(std::cell::RefCell::new(Vec::new()));
        let log = sent.clone();
        let sink = Sink(Rc::new(move |r, _| log.borrow_mut().push(r)));
        let mut m = Model::from_fragment("preset=seed-thread-v1&runs=400000&seed=7", true);
        m.apply(Msg::CheckStart);
        assert!(sent.borrow().is_empty());
        m.apply(Msg::EngineReady {
            workers: 2,
            sink: Some(sink),
        });
        assert_eq!(
            sent.borrow().len(),
            1,
            "what was queued goes out with the engine"
        );
        m.apply(Msg::Start { now_ms: 0.0 });
        assert_eq!(sent.borrow().len(), 1 + 4, "two chunks per worker");
        let chunk = |m: &Model, i: usize| {
            m.outbox
                .iter()
                .filter(|(_, r)| matches!(r, Request::Chunk(_)))
                .nth(i)
                .unwrap()
                .1
                .clone()
        };
        // The first answer shows; the next one, 90 ms later, does not; one past SHOW_MS
        // does.
        let before = m.clone();
        m.apply(answer_at(chunk(&m, 0), 10.0));
        assert!(m != before);
        let before = m.clone();
        m.apply(answer_at(chunk(&m, 0), 100.0));
        assert!(m == before, "an unshown answer re-rendered");
        assert_eq!(sent.borrow().len(), 1 + 4 + 2, "each answer sent a chunk");
        m.apply(answer_at(chunk(&m, 0), 10.0 + SHOW_MS));
        assert!(m != before);
        let runs = m.shown.as_ref().unwrap().runs();
        assert_eq!(runs, m.campaign.as_ref().unwrap().runs());
        // Anything else shows at once.
        let before = m.clone();
        m.apply(Msg::Pause);
        assert!(m != before);
    }

    #[test]
    fn a_new_fragment_applies_and_drops_what_was_in_flight() {
        let mut m = Model::from_fragment("preset=seed-thread-v1&runs=1000", false);
        m.apply(Msg::Start { now_ms: 0.0 });
        m.apply(Msg::CheckStart);
        let before = m.outbox_seq;
        let in_flight = m.outbox.clone();
        m.apply(Msg::Fragment("#preset=merged&seed=9".into()));
        assert_eq!(m.share.seed, 9);
        assert_eq!(
            m.share.config,
            tornsim_core::preset("merged").unwrap().config
        );
        assert!(m.campaign.is_none() && m.check.is_none() && m.checking.is_none());
        assert!(
            m.editor.text.contains("tornsim merged"),
            "{}",
            m.editor.text
        );
        // Answers to what the old page asked are ignored.
        for (_, r) in in_flight {
            m.apply(answer(r));
        }
        assert!(m.campaign.is_none() && m.check.is_none());
        assert!(m.outbox_seq >= before);
        // The same fragment again changes nothing; a broken one shows a notice.
        let d = m.deliberate;
        m.apply(Msg::Fragment(m.fragment()));
        assert_eq!(m.deliberate, d);
        m.apply(Msg::Fragment("mode=nonsense".into()));
        assert!(m.notice.is_some());
    }

    #[test]
    fn deliberate_changes_are_counted_and_typing_is_not() {
        let mut m = Model::from_fragment("", false);
        m.apply(Msg::Preset("merged".into()));
        m.apply(Msg::Edit(Box::new(|s| s.config.set("readers", "3"))));
        assert_eq!(m.deliberate, 2);
        let t = m.editor.text.replace("readers = 3", "readers = 2");
        m.apply(Msg::ScenarioText(t));
        pump(&mut m);
        assert_eq!(m.share.config.readers, 2);
        assert_eq!(m.deliberate, 2);
    }

    #[test]
    fn a_check_beyond_its_budget_answers_incomplete() {
        let config = tornsim_core::preset("merged").unwrap().config;
        let Reply::Checked { result, .. } = serve(Request::Check {
            seq: 1,
            config,
            max_states: 100,
        }) else {
            panic!("a check is answered by a verdict")
        };
        let r = result.unwrap();
        assert_eq!(r.verdict, tornsim_core::Verdict::Incomplete);
        assert_eq!(r.stopped_by, Some(tornsim_core::check::Budget::States));
    }

    #[test]
    fn a_verdict_asked_before_an_edit_is_not_shown_after_it() {
        let mut m = Model::from_fragment("preset=merged", false);
        m.apply(Msg::CheckStart);
        let edited = unlock_first(&m.editor.text);
        m.apply(Msg::ScenarioText(edited));
        // Served in order: the check of the old text, then the parse of the new one.
        pump(&mut m);
        assert_eq!(m.check, None);
        assert_eq!(m.checking, None);
    }

    #[test]
    fn a_stale_parse_answer_is_ignored_and_errors_block_runs() {
        let mut m = Model::from_fragment("", false);
        let good = m.editor.text.clone();
        m.apply(Msg::ScenarioText(good.replace("pmd_lock();", "pmd_lok();")));
        m.apply(Msg::ScenarioText(good.replace("pmd_lock();", "pmd_lck();")));
        pump(&mut m);
        let EditorState::Error(e) = &m.editor.state else {
            panic!("{:?}", m.editor.state)
        };
        assert!(
            e.message.contains("pmd_lck"),
            "the latest text's error: {e}"
        );
        assert!(m.invalid.is_some());
        m.apply(Msg::Start { now_ms: 0.0 });
        assert!(m.campaign.is_none(), "no run on a text with an error");
        // A control change keeps the broken text (the user's work) in the editor.
        m.apply(Msg::Edit(Box::new(|s| s.config.set("readers", "3"))));
        assert!(m.editor.text.contains("pmd_lck"));
        // A preset replaces it.
        m.apply(Msg::Preset("merged".into()));
        assert_eq!(m.editor.state, EditorState::Ok);
        assert!(!m.editor.text.contains("pmd_lck"));
    }
}
