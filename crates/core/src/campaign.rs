//! Long batches run in chunks, one lane per configuration, and the shareable settings
//! that describe them.
//!
//! A front end that must stay responsive (the web page's worker, a notebook) asks a
//! [`Campaign`] for the next [`Chunk`] of a lane, runs it anywhere with [`Chunk::run`],
//! and hands the statistics back. Chunks of a lane cover consecutive run indices, so a
//! lane's totals after `n` runs equal `Batch::new(config, scheduler, seed).run(n)`
//! whatever the chunk sizes were: pausing, resuming, or moving work to a worker never
//! changes a result.

use crate::config::{Config, ConfigError, Knob, SyncPlacement};
use crate::run::{Batch, Stats};
use crate::sched::SchedulerSpec;
use crate::timed::{Latencies, TimedSamples};
use serde::{Deserialize, Serialize};

/// A slice of a lane's runs, self-contained so it can be posted to a worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Chunk {
    pub lane: usize,
    /// Which campaign it belongs to, so answers for a reset campaign are dropped.
    pub generation: u64,
    pub config: Config,
    pub scheduler: SchedulerSpec,
    pub seed: u64,
    pub first: u64,
    pub runs: u64,
    /// Timed runs with these latencies instead of scheduler runs.
    #[serde(default)]
    pub timed: Option<Latencies>,
}

/// What a chunk produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ChunkResult {
    Runs(Stats),
    Timed(TimedSamples),
}

impl Chunk {
    pub fn run(&self) -> Result<ChunkResult, ConfigError> {
        match &self.timed {
            Some(lat) => Ok(ChunkResult::Timed(TimedSamples::run(
                &self.config,
                lat,
                self.seed,
                self.first,
                self.runs,
            )?)),
            None => {
                let mut b =
                    Batch::new(&self.config, self.scheduler, self.seed)?.starting_at(self.first);
                Ok(ChunkResult::Runs(b.run(self.runs)))
            }
        }
    }
}

/// One point of a lane's cumulative series, for charts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Point {
    pub runs: u64,
    pub runs_with_torn: u64,
    pub torn_reads: u64,
    pub retries: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Lane {
    pub label: String,
    pub config: Config,
    pub stats: Stats,
    pub series: Vec<Point>,
    /// A timed campaign's samples.
    #[serde(default)]
    pub timed: TimedSamples,
    /// Chunks handed out and not yet answered.
    #[serde(default)]
    pub in_flight: u32,
    /// Runs handed out in chunks so far (merged, in flight, parked or lost).
    #[serde(default)]
    pub issued: u64,
    /// Answers that came back ahead of an earlier chunk of this lane (another worker
    /// was faster); merged as soon as the runs before them are, so that results never
    /// depend on which worker answered first.
    #[serde(default)]
    pub parked: Vec<(Chunk, ChunkResult)>,
    /// Runs `(first, count)` whose chunks were lost, handed out again before new ones.
    #[serde(default)]
    pub lost: Vec<(u64, u64)>,
}

impl Lane {
    /// Runs done, of either kind.
    pub fn runs(&self) -> u64 {
        self.stats.runs.max(self.timed.runs)
    }

    /// Whether the lane has runs to hand out.
    fn has_work(&self, target: u64) -> bool {
        self.issued < target || !self.lost.is_empty()
    }

    fn merge(&mut self, result: &ChunkResult) {
        match result {
            ChunkResult::Runs(stats) => self.stats.merge(stats),
            ChunkResult::Timed(t) => {
                self.timed.merge(t);
                return;
            }
        }
        let s = &self.stats;
        self.series.push(Point {
            runs: s.runs,
            runs_with_torn: s.runs_with_torn,
            torn_reads: s.torn_reads,
            retries: s.retries,
        });
        if self.series.len() > MAX_POINTS {
            // Keep the first and last points, drop every other one in between.
            let last = *self.series.last().expect("not empty");
            let mut kept: Vec<Point> = self.series.iter().step_by(2).copied().collect();
            if kept.last() != Some(&last) {
                kept.push(last);
            }
            self.series = kept;
        }
    }
}

/// Several lanes run on the same seed stream up to a target number of runs each.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    pub scheduler: SchedulerSpec,
    pub seed: u64,
    pub target: u64,
    pub generation: u64,
    pub lanes: Vec<Lane>,
    /// Timed runs (the cost model) instead of scheduler runs.
    #[serde(default)]
    pub timed: Option<Latencies>,
}

/// Series keep at most this many points; older ones are thinned.
const MAX_POINTS: usize = 400;

impl Campaign {
    /// A campaign of `lanes` (label, configuration), each validated.
    pub fn new(
        lanes: Vec<(String, Config)>,
        scheduler: SchedulerSpec,
        seed: u64,
        target: u64,
        generation: u64,
    ) -> Result<Campaign, ConfigError> {
        scheduler.validate()?;
        if target == 0 {
            return Err(ConfigError::new("runs", "must be at least 1"));
        }
        let lanes = lanes
            .into_iter()
            .map(|(label, config)| {
                config.validate()?;
                Ok(Lane {
                    label,
                    config,
                    stats: Stats::default(),
                    series: vec![Point::default()],
                    timed: TimedSamples::default(),
                    in_flight: 0,
                    issued: 0,
                    parked: Vec::new(),
                    lost: Vec::new(),
                })
            })
            .collect::<Result<Vec<_>, ConfigError>>()?;
        Ok(Campaign {
            scheduler,
            seed,
            target,
            generation,
            lanes,
            timed: None,
        })
    }

    /// One lane per sync placement, for the compare view.
    pub fn compare_lanes(cfg: &Config) -> Vec<(String, Config)> {
        SyncPlacement::ALL
            .iter()
            .map(|&sync| {
                (
                    sync.name().to_string(),
                    Config {
                        sync,
                        ..cfg.clone()
                    },
                )
            })
            .collect()
    }

    pub fn done(&self) -> bool {
        self.lanes.iter().all(|l| l.runs() >= self.target)
    }

    pub fn runs(&self) -> u64 {
        self.lanes.iter().map(|l| l.runs()).sum()
    }

    /// Chunks to keep in flight per lane so that `workers` workers are all busy: one
    /// per lane when the lanes alone fill them, else enough to share them out.
    pub fn per_lane(&self, workers: usize) -> u32 {
        workers.max(1).div_ceil(self.lanes.len().max(1)) as u32
    }

    /// The next chunk, of at most `size` runs, for the lane with the fewest runs handed
    /// out among those with fewer than `per_lane` chunks in flight (see
    /// [`Campaign::per_lane`]). Lost runs are handed out again first.
    pub fn next_chunk(&mut self, size: u64, per_lane: u32) -> Option<Chunk> {
        let (target, generation, scheduler, seed, timed) = (
            self.target,
            self.generation,
            self.scheduler,
            self.seed,
            self.timed,
        );
        let (i, lane) = self
            .lanes
            .iter_mut()
            .enumerate()
            .filter(|(_, l)| l.in_flight < per_lane.max(1) && l.has_work(target))
            .min_by_key(|(_, l)| l.issued - l.lost.iter().map(|r| r.1).sum::<u64>())?;
        let (first, runs) = if lane.lost.is_empty() {
            let first = lane.issued;
            // Near the end, chunks shrink so that the chunks in flight share what is
            // left evenly, rather than one worker finishing long after the others.
            let share = (target - first).div_ceil(per_lane.max(1) as u64).max(500);
            let runs = size.max(1).min(share).min(target - first);
            lane.issued += runs;
            (first, runs)
        } else {
            lane.lost.sort_unstable();
            lane.lost.remove(0)
        };
        lane.in_flight += 1;
        Some(Chunk {
            lane: i,
            generation,
            config: lane.config.clone(),
            scheduler,
            seed,
            first,
            runs,
            timed,
        })
    }

    /// Takes a chunk's statistics back. Chunks are merged in run order: one that comes
    /// back ahead of an earlier one is parked until that one is merged. Returns false
    /// (and changes nothing) for a chunk of another generation, or one that was never
    /// handed out or is already merged.
    pub fn absorb(&mut self, chunk: &Chunk, result: &ChunkResult) -> bool {
        let Some(lane) = self.lanes.get_mut(chunk.lane) else {
            return false;
        };
        let parked = lane.parked.iter().any(|(c, _)| c.first == chunk.first);
        if chunk.generation != self.generation
            || chunk.first < lane.runs()
            || chunk.first + chunk.runs > lane.issued
            || parked
            || lane.in_flight == 0
        {
            return false;
        }
        lane.in_flight -= 1;
        if chunk.first > lane.runs() {
            lane.parked.push((chunk.clone(), result.clone()));
            return true;
        }
        lane.merge(result);
        while let Some(k) = lane.parked.iter().position(|(c, _)| c.first == lane.runs()) {
            let (_, r) = lane.parked.swap_remove(k);
            lane.merge(&r);
        }
        true
    }

    /// A chunk was lost (its worker died): its runs are handed out again.
    pub fn release(&mut self, chunk: &Chunk) {
        if let Some(l) = self.lanes.get_mut(chunk.lane) {
            if chunk.generation == self.generation && l.in_flight > 0 {
                l.in_flight -= 1;
                l.lost.push((chunk.first, chunk.runs));
            }
        }
    }
}

/// Everything a link shares: configuration, scheduler, seed, runs, the compare view, and
/// an open trace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Share {
    pub config: Config,
    pub scheduler: SchedulerSpec,
    pub seed: u64,
    pub runs: u64,
    pub compare: bool,
    pub autorun: bool,
    pub trace: Option<String>,
    /// A file the general machine runs (`crate::general`): its text, shared as
    /// `scenario=` in place of the configuration's own file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub general: Option<String>,
}

impl Default for Share {
    fn default() -> Self {
        Share {
            config: crate::presets::preset("seed-thread-v1")
                .expect("the preset exists")
                .config,
            scheduler: SchedulerSpec::Random,
            seed: 1,
            runs: 100_000,
            compare: false,
            autorun: false,
            trace: None,
            general: None,
        }
    }
}

/// Keys a caller handles itself, with their values, as [`Share::from_query`] returns them.
pub type Extra<'a> = Vec<(&'a str, &'a str)>;

/// The most runs a link may ask for.
pub const MAX_RUNS: u64 = 1_000_000_000;

impl Share {
    /// `key=value&…`: the configuration's fields as [`Config::to_query`] writes them
    /// (relative to the defaults), then `scheduler`, `depth`, `seed`, `runs`, `compare`,
    /// `autorun` and `trace`. Keys the page does not know are refused, not ignored, so a
    /// typo in a link is reported.
    pub fn to_query(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        // A scenario goes first, packed; the settings after it are relative to the file's
        // own, as flags over a file are on the command line.
        let base = match &self.config.scenario {
            _ if self.general.is_some() => {
                let g = self.general.as_deref().unwrap_or_default();
                parts.push(format!("scenario={}", crate::scenario::pack(g)));
                Config::default()
            }
            Some(sc) => {
                parts.push(format!("scenario={}", crate::scenario::pack(&sc.source)));
                crate::program::to_config(sc).unwrap_or_default()
            }
            None => Config::default(),
        };
        let q = self.config.to_query(&base);
        if !q.is_empty() {
            parts.push(q);
        }
        if let SchedulerSpec::Pct { depth } = self.scheduler {
            parts.push(format!("scheduler=pct&depth={depth}"));
        }
        parts.push(format!("seed={}&runs={}", self.seed, self.runs));
        if self.compare {
            parts.push("compare=1".into());
        }
        if self.autorun {
            parts.push("autorun=1".into());
        }
        if let Some(t) = &self.trace {
            parts.push(format!("trace={t}"));
        }
        parts.join("&")
    }

    /// Parses a query (a URL fragment without `#`, or a `data-tornsim` attribute).
    /// `extra` names further keys the caller handles itself (they are returned).
    pub fn from_query<'a>(
        query: &'a str,
        extra: &[&str],
    ) -> Result<(Share, Extra<'a>), ConfigError> {
        let mut s = Share {
            config: Config::default(),
            ..Share::default()
        };
        let mut depth = None;
        let mut pct = false;
        let mut rest = Vec::new();
        let num = |k: &str, v: &str| {
            v.parse::<u64>()
                .map_err(|_| ConfigError::new(k, format!("expected a whole number, got '{v}'")))
        };
        let flag = |k: &str, v: &str| match v {
            "1" | "true" | "on" | "" => Ok(true),
            "0" | "false" | "off" => Ok(false),
            _ => Err(ConfigError::new(k, format!("expected 1 or 0, got '{v}'"))),
        };
        // The scenario sets the base the other settings apply over, wherever it stands.
        let mut scenario = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let text = if let Some(v) = pair.strip_prefix("scenario=") {
                crate::scenario::unpack(v).map_err(|e| {
                    ConfigError::new(
                        "scenario",
                        format!("cannot unpack this link's scenario: {e}"),
                    )
                })?
            } else if let Some(v) = pair.strip_prefix("file=") {
                // A built-in general file by name: a short link that stays true to the
                // file as it is now (the book's scenes, the page's history gallery).
                crate::general::builtin(v)
                    .ok_or_else(|| {
                        ConfigError::new(
                            "file",
                            format!("no built-in file '{v}' (the names are those of scenarios/general and scenarios/history)"),
                        )
                    })?
                    .to_string()
            } else {
                continue;
            };
            if scenario.is_some() {
                return Err(ConfigError::new(
                    pair.split('=').next().unwrap_or_default(),
                    "a link carries one file: scenario= or file=, once",
                ));
            }
            // A file the general machine runs keeps the configuration's defaults.
            if let Ok(crate::general::Route::General(_)) = crate::general::route(&text) {
                s.general = Some(text.clone());
                scenario = Some(text);
                continue;
            }
            let (_, c) = crate::program::load_checked(&text).map_err(|e| {
                ConfigError::new(
                    "scenario",
                    format!("this link's scenario has an error at {e}"),
                )
            })?;
            s.config = c;
            scenario = Some(text);
        }
        let mut trace = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match k {
                "scenario" | "file" => {}
                "sync" | "preset" if scenario.is_some() => {
                    return Err(ConfigError::new(
                        k,
                        "does not apply with a scenario: its file already gives the order of every step",
                    ))
                }
                "scheduler" => match v {
                    "random" => pct = false,
                    "pct" => pct = true,
                    _ => {
                        return Err(ConfigError::new(
                            "scheduler",
                            format!("unknown value '{v}' (expected random or pct)"),
                        ))
                    }
                },
                "depth" => depth = Some(num(k, v)? as u32),
                "seed" => s.seed = num(k, v)?,
                "runs" => {
                    s.runs = num(k, v)?;
                    if !(1..=MAX_RUNS).contains(&s.runs) {
                        return Err(ConfigError::new(
                            "runs",
                            format!("{} is out of range 1..={MAX_RUNS}", s.runs),
                        ));
                    }
                }
                "compare" => s.compare = flag(k, v)?,
                "autorun" => s.autorun = flag(k, v)?,
                "trace" => trace = Some(v),
                k if extra.contains(&k) => rest.push((k, v)),
                _ => s.config.apply_query(pair)?,
            }
        }
        if pct {
            s.scheduler = SchedulerSpec::Pct {
                depth: depth.unwrap_or(4),
            };
        } else if depth.is_some() {
            return Err(ConfigError::new("depth", "only applies to scheduler=pct"));
        }
        s.scheduler.validate()?;
        s.config.validate()?;
        if let Some(t) = trace {
            match &s.general {
                Some(src) => crate::general::timeline_of(src, t)
                    .map(|_| ())
                    .map_err(|e| ConfigError::new("trace", e))?,
                None => crate::schedule::Schedule::decode_with(t, s.config.scenario.as_ref())
                    .map(|_| ())
                    .map_err(|e| ConfigError::new("trace", e.0))?,
            }
            s.trace = Some(t.to_string());
        }
        Ok((s, rest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_lanes_equal_one_batch() {
        let cfg = crate::preset("seed-thread-v1").unwrap().config;
        let mut c = Campaign::new(
            Campaign::compare_lanes(&cfg),
            SchedulerSpec::Random,
            7,
            5_000,
            1,
        )
        .unwrap();
        let mut sizes = [1u64, 700, 1234, 3].into_iter().cycle();
        while let Some(ch) = c.next_chunk(sizes.next().unwrap(), 1) {
            let st = ch.run().unwrap();
            assert!(c.absorb(&ch, &st));
        }
        assert!(c.done());
        for l in &c.lanes {
            let whole = Batch::new(&l.config, SchedulerSpec::Random, 7)
                .unwrap()
                .run(5_000);
            assert_eq!(l.stats, whole, "{}", l.label);
            assert!(l.series.len() <= MAX_POINTS + 1);
        }
        assert!(c.lanes[1].stats.runs_with_torn > 0, "after-unlock tears");
        assert_eq!(c.lanes[0].stats.runs_with_torn, 0, "under-ptl does not");
    }

    #[test]
    fn timed_lanes_equal_one_timed_batch() {
        let cfg = crate::preset("merged").unwrap().config;
        let mut c = Campaign::new(
            Campaign::compare_lanes(&cfg),
            SchedulerSpec::Random,
            3,
            700,
            1,
        )
        .unwrap();
        c.timed = Some(Latencies::default());
        while let Some(ch) = c.next_chunk(256, 1) {
            let r = ch.run().unwrap();
            assert!(c.absorb(&ch, &r));
        }
        for l in &c.lanes {
            let whole =
                crate::timed::timed_batch(&l.config, &Latencies::default(), 3, 700).unwrap();
            assert_eq!(l.timed.stats(), whole, "{}", l.label);
        }
    }

    /// Several workers: chunks out three at a time per lane, answered in any order,
    /// one of them lost and handed out again; the totals are still one batch's.
    #[test]
    fn chunks_answered_out_of_order_merge_in_run_order() {
        let cfg = crate::preset("seed-thread-v1").unwrap().config;
        let lanes = vec![("a".to_string(), cfg.clone())];
        let mut c = Campaign::new(lanes, SchedulerSpec::Random, 7, 5_000, 1).unwrap();
        assert_eq!(c.per_lane(3), 3);
        let mut round = 0;
        loop {
            let mut out = Vec::new();
            while let Some(ch) = c.next_chunk(400, 3) {
                out.push(ch);
            }
            if out.is_empty() {
                break;
            }
            assert!(out.len() <= 3);
            round += 1;
            if round == 2 {
                // The middle chunk's worker dies: it comes back as lost work.
                let lost = out.remove(1);
                c.release(&lost);
            }
            for ch in out.iter().rev() {
                let r = ch.run().unwrap();
                assert!(c.absorb(ch, &r));
                // The same answer twice is refused.
                assert!(!c.absorb(ch, &r));
            }
        }
        assert!(c.done());
        let l = &c.lanes[0];
        assert!(l.parked.is_empty() && l.lost.is_empty() && l.in_flight == 0);
        let whole = Batch::new(&cfg, SchedulerSpec::Random, 7)
            .unwrap()
            .run(5_000);
        assert_eq!(l.stats, whole);
        // Four lanes share two workers one chunk each; one lane gets both.
        let four = Campaign::new(
            Campaign::compare_lanes(&cfg),
            SchedulerSpec::Random,
            7,
            10,
            1,
        )
        .unwrap();
        assert_eq!(
            (four.per_lane(2), four.per_lane(1), four.per_lane(8)),
            (1, 1, 2)
        );
    }

    #[test]
    fn stale_chunks_are_dropped() {
        let cfg = Config::default();
        let mut c =
            Campaign::new(vec![("a".into(), cfg)], SchedulerSpec::Random, 1, 10, 2).unwrap();
        let mut ch = c.next_chunk(5, 1).unwrap();
        let st = ch.run().unwrap();
        ch.generation = 1;
        assert!(!c.absorb(&ch, &st));
        assert_eq!(c.runs(), 0);
    }

    #[test]
    fn share_round_trips_and_refuses_nonsense() {
        let s = Share {
            scheduler: SchedulerSpec::Pct { depth: 5 },
            seed: 9,
            runs: 1234,
            compare: true,
            trace: None,
            ..Share::default()
        };
        let q = s.to_query();
        let (back, rest) = Share::from_query(&q, &[]).unwrap();
        assert_eq!(back, s);
        assert!(rest.is_empty());
        for bad in [
            "mode=arm",
            "seed=-1",
            "runs=0",
            "scheduler=fifo",
            "depth=3",
            "trace=ts1.nope",
            "readers=99",
            "bogus=1",
            "<script>=1",
        ] {
            assert!(Share::from_query(bad, &[]).is_err(), "{bad}");
        }
        let (_, rest) = Share::from_query("embed=1&preset=merged", &["embed"]).unwrap();
        assert_eq!(rest, vec![("embed", "1")]);
    }

    /// The acceptance edit: merged with the unlock moved above the sync.
    fn edited_merged() -> String {
        let src = crate::program::builtin_source("merged").unwrap();
        crate::scenario::move_line(src, "spin_unlock();", "pmdp_get_lockless_sync();").unwrap()
    }

    #[test]
    fn a_link_carries_an_edited_scenario_its_settings_and_a_trace() {
        // Merged with the unlock moved up is the after-unlock placement, and a link
        // says so by name.
        let (_, c) = crate::program::load(&edited_merged()).unwrap();
        assert_eq!(
            (c.sync, c.scenario.is_none()),
            (crate::config::SyncPlacement::AfterUnlock, true)
        );
        let text = crate::program::builtin_source("no-recheck").unwrap();
        let (sc, mut cfg) = crate::program::load(text).unwrap();
        assert!(cfg.scenario.is_some(), "no built-in placement");
        cfg.readers = 2;
        let r = crate::check(&cfg, crate::CheckOptions::default()).unwrap();
        assert_eq!(r.verdict.name(), "torn");
        let share = Share {
            config: cfg.clone(),
            trace: Some(r.witness.as_ref().unwrap().encode()),
            ..Share::default()
        };
        let q = share.to_query();
        assert!(q.starts_with("scenario="), "{q}");
        assert!(q.contains("&readers=2&"), "settings over the file's: {q}");
        assert!(q.len() < 800, "compressed: {} bytes", q.len());
        let (back, _) = Share::from_query(&q, &[]).unwrap();
        assert_eq!(back.config.scenario.as_ref().unwrap().source, sc.source);
        assert_eq!(back, share);
        // The trace replays only on its scenario.
        let t = share.trace.as_deref().unwrap();
        assert!(crate::replay_str_with(t, back.config.scenario.as_ref())
            .unwrap()
            .hazards()
            .next()
            .is_some());
        let e = Share::from_query(&format!("trace={t}"), &[]).unwrap_err();
        assert!(e.to_string().contains("scenario"), "{e}");
        // Picking a placement by name drops the scenario.
        let mut c = back.config.clone();
        c.set("sync", "under-ptl").unwrap();
        assert!(c.scenario.is_none());
    }

    #[test]
    fn a_link_names_a_built_in_general_file() {
        for (name, text) in crate::general::builtin_files() {
            let (s, _) = Share::from_query(&format!("file={name}&seed=7"), &[]).unwrap();
            assert_eq!(s.general.as_deref(), Some(*text), "{name}");
            assert_eq!(s.seed, 7);
            // Shared on, it carries the text (an edit in the page is no longer the file).
            let (back, _) = Share::from_query(&s.to_query(), &[]).unwrap();
            assert_eq!(back, s, "{name}");
        }
    }

    #[test]
    fn hostile_scenario_links_are_refused_with_reasons() {
        let bomb = crate::scenario::pack(&"/*".repeat(100_000));
        for (q, why) in [
            ("scenario=%%%".to_string(), "base64url"),
            ("scenario=AAAA".to_string(), "not a packed scenario"),
            (format!("scenario={bomb}"), "more than"),
            (
                format!(
                    "scenario={}",
                    crate::scenario::pack("tornsim x\nP0(khugepaged) { bogus(); }\nexists (torn)")
                ),
                "2:1: CPU1 has no program",
            ),
            (
                format!(
                    "scenario={}&sync=none",
                    crate::scenario::pack(&edited_merged())
                ),
                "does not apply",
            ),
            ("file=nope".to_string(), "no built-in file 'nope'"),
            (
                "file=two-collapsers&file=two-collapsers".to_string(),
                "one file",
            ),
            (
                format!(
                    "scenario={}&file=two-collapsers",
                    crate::scenario::pack(&edited_merged())
                ),
                "one file",
            ),
            (
                "file=two-collapsers&preset=merged".to_string(),
                "does not apply",
            ),
        ] {
            let e = Share::from_query(&q, &[]).unwrap_err().to_string();
            assert!(e.contains(why), "{q:.60}: {e}");
        }
    }
}
