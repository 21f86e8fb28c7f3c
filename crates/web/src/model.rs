//! The page's one reducer: every user action and every worker answer is a [`Msg`], and
//! [`Model::reduce`] is the only place state changes. Simulation happens in
//! `tornsim-core` ([`Campaign`], [`Stepper`], [`check`]); this file only decides what to
//! ask for next. Chunks to send are queued in `outbox` and posted by an effect, so the
//! reducer itself does no I/O.

use std::rc::Rc;
use tornsim_core::campaign::{Campaign, Chunk, ChunkResult, Share};
use tornsim_core::config::{Config, ConfigError};
use tornsim_core::{replay_str, CheckResult, Choice, Stepper, Trace};
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

#[derive(Clone, Debug, PartialEq)]
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
    /// Chunks the effect must post, and a counter that changes when it gains some.
    /// Posted chunks are kept until answered; ids only grow, so the effect that posts
    /// them can tell new ones from old whatever renders were batched.
    pub outbox: Vec<(u64, Chunk)>,
    pub outbox_seq: u64,
    pub chunk_size: u64,
    /// Where chunks run: a worker (false only in tests or when workers fail).
    pub in_worker: bool,
    pub started_ms: f64,
    pub elapsed_ms: f64,
    pub generation: u64,
    pub trace: Option<TraceView>,
    pub manual: Option<Rc<Stepper>>,
    pub check: Option<Result<CheckResult, String>>,
    pub error: Option<String>,
}

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
    CheckDone(Result<CheckResult, String>),
}

/// Runs per chunk aim at this much work, so progress updates several times a second and
/// (when chunks run on the main thread) no task gets long.
const WORKER_CHUNK_MS: f64 = 120.0;
const INLINE_CHUNK_MS: f64 = 20.0;

impl Model {
    /// The page's state from a URL fragment (without `#`). A fragment that does not
    /// parse leaves the defaults and explains why.
    pub fn from_fragment(fragment: &str, in_worker: bool) -> Model {
        // The embed keys are read first and on their own, so that an embed whose other
        // settings are refused still renders as an embed (with its notice).
        let (mut embed, mut locked) = (false, false);
        for pair in fragment.split('&') {
            match pair {
                "embed" | "embed=1" => embed = true,
                "controls=locked" => locked = true,
                _ => {}
            }
        }
        let (share, notice) = if fragment.trim().is_empty() {
            (Share::default(), None)
        } else {
            let parsed = decode_pairs(fragment).and_then(|q| {
                let (s, extra) = Share::from_query(&q, &["embed", "controls"])?;
                for (k, v) in extra {
                    match (k, v) {
                        ("embed", "1" | "0" | "") | ("controls", "locked" | "open") => {}
                        (k, v) => {
                            return Err(ConfigError::new(
                                k,
                                format!("unknown value '{v}' (embed=1, controls=locked|open)"),
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
            replay_str(t).ok().map(|trace| TraceView {
                trace: Rc::new(trace),
                pos: 0,
            })
        });
        Model {
            share,
            embed,
            locked,
            invalid: None,
            notice,
            status: Status::Idle,
            campaign: None,
            outbox: Vec::new(),
            outbox_seq: 0,
            chunk_size: 2_000,
            in_worker,
            started_ms: 0.0,
            elapsed_ms: 0.0,
            generation: 0,
            trace,
            manual: None,
            check: None,
            error: None,
        }
    }

    pub fn fragment(&self) -> String {
        self.share.to_query()
    }

    pub fn runs_per_sec(&self) -> f64 {
        let runs = self.campaign.as_ref().map_or(0, |c| c.runs());
        if self.elapsed_ms <= 0.0 {
            0.0
        } else {
            runs as f64 * 1000.0 / self.elapsed_ms
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
                self.chunk_size = 2_000;
                self.error = None;
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
        while let Some(ch) = c.next_chunk(self.chunk_size) {
            self.outbox_seq += 1;
            self.outbox.push((self.outbox_seq, ch));
        }
        if c.done() {
            self.status = Status::Done;
        }
    }

    fn apply(&mut self, msg: Msg) {
        match msg {
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
                self.check = None;
            }
            Msg::Preset(name) => match tornsim_core::preset(&name) {
                Ok(p) => {
                    self.share.config = p.config;
                    self.invalid = None;
                    self.check = None;
                }
                Err(e) => self.invalid = Some(e),
            },
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
            Msg::Reset => {
                self.generation += 1;
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
                self.outbox.retain(|(_, c)| c != &chunk);
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
                self.error = Some(format!(
                    "The web worker failed ({why}); running on the page instead."
                ));
                if let Some(c) = self.campaign.as_mut() {
                    for (_, ch) in self.outbox.drain(..) {
                        c.release(&ch);
                    }
                    for l in c.lanes.iter_mut() {
                        l.busy = false;
                    }
                }
                self.chunk_size = 500;
                self.fill_outbox();
            }
            Msg::OpenTrace(s) => match replay_str(&s) {
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
            Msg::CheckDone(r) => self.check = Some(r),
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
