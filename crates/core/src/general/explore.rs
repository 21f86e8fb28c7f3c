//! Running the general machine, apart from its rules: randomized runs (deterministic
//! for a seed), schedule strings that replay a run exactly, and traces drawn as one
//! column per CPU. The exhaustive search is `search`'s.

use super::enabled::{list_into, Open};
use super::ir::GProgram;
use super::machine::{GChoice, GMachine, GState};
use super::pct::GPct;
use crate::codec::{b64_value, decode_b64, encode_b64, B64};
use crate::hazard::Hazard;
use crate::sched::{frame_rng, pick_uniform, run_seed, Rng, SchedulerSpec};
use crate::schedule::{checksum, seal};
use std::sync::Arc;

/// Counts of a batch of random runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GStats {
    pub runs: u64,
    pub steps: u64,
    /// Runs that raised each hazard at least once, by [`Hazard`] (deadlocks included).
    pub hazards: Vec<(Hazard, u64)>,
    /// Runs cut at the step limit.
    pub cut: u64,
    /// The first run (by index) that raised a hazard the clause asks about: its
    /// hazard and schedule string.
    pub first: Option<(Hazard, String)>,
    /// That run's index in the batch: which of two merged parts' first comes first.
    #[serde(default)]
    pub first_run: Option<u64>,
}

impl GStats {
    pub fn count(&self, h: Hazard) -> u64 {
        self.hazards
            .iter()
            .find(|(x, _)| *x == h)
            .map_or(0, |x| x.1)
    }

    /// Adds another part of the same batch (runs of other indices): the totals of both,
    /// and the first hazardous run of the two by index, as one batch run at once has.
    pub fn merge(&mut self, o: &GStats) {
        self.runs += o.runs;
        self.steps += o.steps;
        self.cut += o.cut;
        for &(h, n) in &o.hazards {
            match self.hazards.iter_mut().find(|(x, _)| *x == h) {
                Some(x) => x.1 += n,
                None => self.hazards.push((h, n)),
            }
        }
        if o.first_run
            .is_some_and(|i| self.first_run.is_none_or(|j| i < j))
        {
            self.first.clone_from(&o.first);
            self.first_run = o.first_run;
        }
    }

    /// Runs that raised `h`, per million runs, with the 95% Wilson interval.
    pub fn per_million(&self, h: Hazard) -> (f64, f64, f64) {
        let k = self.count(h);
        let (lo, hi) = crate::run::wilson(k, self.runs);
        let rate = if self.runs == 0 {
            0.0
        } else {
            k as f64 / self.runs as f64
        };
        (rate * 1e6, lo * 1e6, hi * 1e6)
    }
}

/// Runs longer than this many steps are cut: a block that loops without end (a retry
/// whose condition never comes true). A deadlock is found as one, not cut.
pub const MAX_RUN_STEPS: u64 = 100_000;

/// Random runs of one program: each run's choices uniform among the enabled ones (or
/// picked by PCT), seeded from the batch seed and the run's index, so a batch is the
/// same in any split.
pub struct GBatch {
    m: GMachine,
    /// `alloc = random`: the frames a run cannot draw (see [`GProgram::taken_frames`]).
    taken: Vec<u64>,
    seed: u64,
    next: u64,
    stats: GStats,
    pct: Option<GPct>,
    /// PCT's list of the open choices, one buffer for the batch.
    enabled: Vec<GChoice>,
    /// The choices open where every run starts, counted once (`None` under `alloc =
    /// random`: each run's table is drawn anew).
    start: Option<Open>,
}

impl GBatch {
    pub fn new(p: &Arc<GProgram>, seed: u64) -> GBatch {
        let m = GMachine::new(p.clone(), true);
        let start = p.random_table.is_none().then(|| m.open());
        GBatch {
            m,
            taken: p.taken_frames(),
            seed,
            next: 0,
            stats: GStats::default(),
            pct: None,
            enabled: Vec::new(),
            start,
        }
    }

    /// A batch under `spec`: uniform random, or PCT of a depth (checked as the classic
    /// machine checks it).
    pub fn with_scheduler(
        p: &Arc<GProgram>,
        seed: u64,
        spec: SchedulerSpec,
    ) -> Result<GBatch, crate::config::ConfigError> {
        spec.validate()?;
        let mut b = GBatch::new(p, seed);
        if let SchedulerSpec::Pct { depth } = spec {
            b.pct = Some(GPct::new(depth));
        }
        Ok(b)
    }

    /// Starts the batch at run `index` (each run's seed is the batch seed's and its
    /// index's): a part of a batch, for runs split across workers.
    pub fn starting_at(mut self, index: u64) -> GBatch {
        self.next = index;
        self
    }

    /// Runs `n` more runs; returns the totals so far.
    pub fn run(&mut self, n: u64) -> &GStats {
        let mut seen = Vec::new();
        for _ in 0..n {
            let index = self.next;
            self.next += 1;
            seen.clear();
            let (steps, cut) = self.run_one(index, &mut seen, None);
            self.stats.runs += 1;
            self.stats.steps += steps;
            self.stats.cut += cut as u64;
            for &h in &seen {
                match self.stats.hazards.iter_mut().find(|(x, _)| *x == h) {
                    Some(x) => x.1 += 1,
                    None => self.stats.hazards.push((h, 1)),
                }
                if self.stats.first.is_none() && self.m.program().exists.asks(h) {
                    // The run again, its choices recorded: a run is its seed's, so
                    // the batch records only the one run it reports.
                    let mut choices = Vec::new();
                    self.run_one(index, &mut Vec::new(), Some(&mut choices));
                    self.stats.first = Some((h, encode(self.m.program(), &choices)));
                    self.stats.first_run = Some(index);
                }
            }
        }
        &self.stats
    }

    /// Run `index` of the batch: the hazards it raised go into `seen` (each once), its
    /// choices into `record` if given; returns its steps and whether it was cut.
    fn run_one(
        &mut self,
        index: u64,
        seen: &mut Vec<Hazard>,
        mut record: Option<&mut Vec<GChoice>>,
    ) -> (u64, bool) {
        let seed = run_seed(self.seed, index);
        let mut rng = Rng::new(seed);
        if self.m.program().random_table.is_some() {
            // `alloc = random`: the run's table's frame, from its own stream, as on
            // the classic machine.
            let mut frames = frame_rng(seed);
            let frame = crate::machine::draw_frame(&self.taken, &mut || frames.next_u64());
            self.m.set_frame(frame);
        }
        if let Some(pct) = &mut self.pct {
            pct.start(seed, self.m.program());
        }
        self.m.reset();
        let mut open = match self.start {
            Some(start) => {
                debug_assert_eq!(start, self.m.open());
                start
            }
            None => self.m.open(),
        };
        let cpus = self.m.program().cpus as u32;
        let mut steps = 0u64;
        loop {
            let en = open.en;
            // Stuck, as the search defines it: walkers may still loop, but nothing
            // they do frees what the others wait for.
            if self.m.deadlocked_in(&open) {
                seen.push(Hazard::Deadlock);
                return (steps, false);
            }
            if en.is_empty() {
                return (steps, false);
            }
            if steps >= MAX_RUN_STEPS {
                return (steps, true);
            }
            steps += 1;
            // The step apart in each arm: PCT's bookkeeping around it cost the uniform
            // runs 4% of their instructions when shared.
            let h = match &mut self.pct {
                None => {
                    let ch = pick_uniform(&mut rng, cpus, en).into();
                    if let Some(r) = record.as_deref_mut() {
                        r.push(ch);
                    }
                    self.m.step_open(ch, &mut open)
                }
                Some(pct) => {
                    list_into(en, &mut self.enabled);
                    let ch = pct.pick(&self.enabled, steps - 1);
                    if let Some(r) = record.as_deref_mut() {
                        r.push(ch);
                    }
                    let from = self.m.st.pc[ch.cpu as usize];
                    let h = self.m.step_open(ch, &mut open);
                    pct.done(ch, from, self.m.st.pc[ch.cpu as usize]);
                    h
                }
            };
            if let Some(h) = h {
                if !seen.contains(&h) {
                    seen.push(h);
                }
            }
        }
    }
}

/// The schedule strings' format version.
pub const VERSION: &str = "tg1";

/// A program's identity in a schedule: a hash of its file's text.
fn program_id(p: &GProgram) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let at = p.walkers_at.map(|n| format!("\0readers={n}"));
    for &b in p
        .source
        .as_bytes()
        .iter()
        .chain(at.iter().flat_map(|a| a.as_bytes()))
    {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    encode_b64(&h.to_le_bytes())
}

/// How many kinds of choice a CPU has: a step and an answer, and a drain under TSO.
fn kinds(p: &GProgram) -> usize {
    2 + (p.cfg.memory == crate::knob::Memory::Tso) as usize
}

/// `tg1.PROGRAM.STEPS.CHECK`: one character a step (the CPU times the kinds of choice,
/// plus one for an acknowledgement, two for a drain), and the classic schedules'
/// checksum over the rest. Under `alloc = random`, `tg1.PROGRAM.FRAME.STEPS.CHECK`: the
/// run's frame comes with it, as a classic schedule carries its table.
pub fn encode(p: &GProgram, choices: &[GChoice]) -> String {
    let k = kinds(p);
    let steps: String = choices
        .iter()
        .map(|c| {
            let kind = c.ack as usize + 2 * c.drain as usize;
            B64[(c.cpu as usize * k + kind) & 63] as char
        })
        .collect();
    match p.frame {
        Some(f) => seal(&[
            VERSION,
            &program_id(p),
            &encode_b64(&f.to_le_bytes()),
            &steps,
        ]),
        None => seal(&[VERSION, &program_id(p), &steps]),
    }
}

/// The choices of a schedule string made for `p`, or why it cannot be replayed on it.
/// A schedule of an `alloc = random` file replays on its own frame: see [`decode_run`].
pub fn decode(p: &GProgram, s: &str) -> Result<Vec<GChoice>, String> {
    // `parse` reads a frame exactly when `p` allocates at random, so only a frame other
    // than `p`'s own (or `p` not yet given one) can differ here.
    let (frame, choices) = parse(p, s)?;
    if frame != p.frame {
        return Err("this schedule's run drew another frame: decode it with decode_run".into());
    }
    Ok(choices)
}

/// The program a schedule string replays on (`p`, or under `alloc = random` its copy
/// with the run's frame) and its choices.
pub fn decode_run(p: &Arc<GProgram>, s: &str) -> Result<(Arc<GProgram>, Vec<GChoice>), String> {
    let (frame, choices) = parse(p, s)?;
    match frame {
        Some(f) if p.frame != Some(f) => Ok((Arc::new(p.with_frame(f)), choices)),
        _ => Ok((p.clone(), choices)),
    }
}

fn parse(p: &GProgram, s: &str) -> Result<(Option<u64>, Vec<GChoice>), String> {
    let parts: Vec<&str> = s.trim().split('.').collect();
    let random = p.random_table.is_some();
    let (v, id, frame, steps, sum) = match (random, &parts[..]) {
        (false, &[v, id, steps, sum]) => (v, id, None, steps, sum),
        (true, &[v, id, frame, steps, sum]) => (v, id, Some(frame), steps, sum),
        (false, _) => {
            return Err(
                "a general schedule has four dot-separated parts (tg1.PROGRAM.STEPS.CHECK)".into(),
            )
        }
        (true, _) => {
            return Err("a schedule of a file with alloc = random has five dot-separated parts (tg1.PROGRAM.FRAME.STEPS.CHECK)".into())
        }
    };
    if v != VERSION {
        return Err(format!(
            "unknown schedule version '{v}' (this build reads {VERSION})"
        ));
    }
    let sealed: Vec<&str> = [v, id].into_iter().chain(frame).chain([steps]).collect();
    let want = checksum(&sealed);
    let got = sum
        .bytes()
        .map(b64_value)
        .collect::<Option<Vec<u8>>>()
        .filter(|b| b.len() == 2)
        .map(|b| (b[0] as u16) << 6 | b[1] as u16);
    if got != Some(want) {
        return Err("the checksum does not match: the schedule was mistyped or cut short".into());
    }
    if decode_b64(id).is_none() || id != program_id(p) {
        return Err(format!(
            "this schedule was made for another scenario file than '{}'",
            p.name
        ));
    }
    let frame = match frame {
        None => None,
        Some(f) => {
            let bytes: [u8; 8] = decode_b64(f)
                .and_then(|b| b.try_into().ok())
                .ok_or("the schedule's frame is not 8 bytes of base64url")?;
            let f = u64::from_le_bytes(bytes);
            if f & 0xfff != 0 {
                return Err(format!("the schedule's frame {f:#x} is not a 4 KiB frame"));
            }
            Some(f)
        }
    };
    let k = kinds(p) as u8;
    let choices = steps
        .bytes()
        .map(|c| {
            b64_value(c)
                .map(|v| GChoice {
                    cpu: v / k,
                    ack: v % k == 1,
                    drain: v % k == 2,
                })
                .ok_or_else(|| format!("'{}' is not a step", c as char))
        })
        .collect::<Result<_, _>>()?;
    Ok((frame, choices))
}

/// One step of a trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GTraceStep {
    pub choice: GChoice,
    pub text: String,
    pub hazard: Option<Hazard>,
    /// What the step changed: entries, tables, counts, locks, IPIs.
    pub changes: Vec<String>,
}

/// A replayed run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GTrace {
    pub steps: Vec<GTraceStep>,
    /// The run ended stuck with work left: a deadlock.
    pub deadlock: bool,
}

/// Replays `choices` on `p` from its first state (the checker's machine: walkers loop).
pub fn replay(p: &Arc<GProgram>, choices: &[GChoice]) -> Result<GTrace, String> {
    let mut steps = Vec::new();
    let deadlock = replay_each(p, choices, |_, _, s| steps.push(s))?;
    Ok(GTrace { steps, deadlock })
}

/// Replays `choices`, handing each step to `visit` with the machine after it and the
/// state before it; answers
/// whether the run ended deadlocked. What [`replay`] and the page's timeline share.
pub(super) fn replay_each(
    p: &Arc<GProgram>,
    choices: &[GChoice],
    mut visit: impl FnMut(&GMachine, &GState, GTraceStep),
) -> Result<bool, String> {
    let mut m = GMachine::new(p.clone(), false);
    for (i, &ch) in choices.iter().enumerate() {
        if let Some(why) = m.why_disabled(ch) {
            return Err(format!(
                "step {i} ({}) cannot run: {why}",
                p.cpu_name(ch.cpu)
            ));
        }
        let text = m.describe(ch);
        let before = m.st.clone();
        let hazard = m.step(ch);
        let changes = m.changes(&before);
        visit(
            &m,
            &before,
            GTraceStep {
                choice: ch,
                text,
                hazard,
                changes,
            },
        );
    }
    Ok(m.deadlocked_in(&m.open()))
}

impl GTrace {
    /// The trace as text: one line a step, the CPU, what it did, and any hazard.
    pub fn text(&self, p: &GProgram) -> String {
        let mut out = String::new();
        for (i, s) in self.steps.iter().enumerate() {
            out.push_str(&format!(
                "{:>4}  {:<16} {}{}\n",
                i + 1,
                p.cpu_name(s.choice.cpu),
                s.text,
                s.hazard
                    .map(|h| format!("   <-- {}: {}", h.name(), h.meaning()))
                    .unwrap_or_default()
            ));
            for c in &s.changes {
                out.push_str(&format!(
                    "{:>4}  {:<16}   [{c}]
",
                    "", ""
                ));
            }
        }
        if self.deadlock {
            out.push_str("      deadlock: no CPU can make progress\n");
        }
        out
    }

    /// The trace as the kernel's race diagrams draw it: one column a CPU, time going
    /// down, an IPI's answer marked where the answering CPU stands.
    pub fn columns(&self, p: &GProgram) -> String {
        let n = p.cpus as usize;
        let width = 34;
        let mut out = String::new();
        let head: Vec<String> = (0..n)
            .map(|c| format!("{:<width$}", p.cpu_name(c as u8)))
            .collect();
        out.push_str(head.join(" ").trim_end());
        out.push('\n');
        out.push_str(&vec!["-".repeat(width); n].join(" "));
        out.push('\n');
        for s in &self.steps {
            let mut cells = vec![String::new(); n];
            let mut text = s.text.clone();
            if let Some(h) = s.hazard {
                text.push_str(&format!(" <-- {}", h.name()));
            }
            cells[s.choice.cpu as usize] = text;
            let line: Vec<String> = cells.iter().map(|c| format!("{c:<width$}")).collect();
            out.push_str(line.join(" ").trim_end());
            out.push('\n');
            // The state the step changed, in rows under it in its CPU's column.
            for c in &s.changes {
                let mut cells = vec![String::new(); n];
                cells[s.choice.cpu as usize] = format!("  [{c}]");
                let line: Vec<String> = cells.iter().map(|c| format!("{c:<width$}")).collect();
                out.push_str(line.join(" ").trim_end());
                out.push('\n');
            }
        }
        if self.deadlock {
            out.push_str("(deadlock: no CPU can make progress)\n");
        }
        out
    }
}
