//! The runs panel's part of the reducer: a batch (or a cost run of every placement) cut
//! into chunks for the worker pool, their answers absorbed, the chunk size adapted to
//! the workers' speed, a failed worker's chunks run on the page, and a finished cost
//! run's rare-event rates asked for.

use super::state::{Model, Sink, Status, INLINE_CHUNK_MS, PAGE_ESTIMATE, WORKER_CHUNK_MS};
use crate::runner::Request;
use tornsim_core::campaign::{Campaign, Chunk, ChunkResult};
use tornsim_core::rare::RateEstimate;

impl Model {
    /// Runs per second of what is shown.
    pub fn runs_per_sec(&self) -> f64 {
        let runs = self.shown.as_ref().map_or(0, |c| c.runs());
        if self.shown_elapsed_ms <= 0.0 {
            0.0
        } else {
            runs as f64 * 1000.0 / self.shown_elapsed_ms
        }
    }

    pub(super) fn start(&mut self, now_ms: f64, timed: bool) {
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
    pub(super) fn fill_outbox(&mut self) {
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
    pub(super) fn request_rates(&mut self) {
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

    /// Start, or start a cost run (`timed`), unless the settings cannot run.
    pub(super) fn start_batch(&mut self, now_ms: f64, timed: bool) {
        if self.invalid.is_none() {
            self.outbox.clear();
            self.start(now_ms, timed);
        }
    }

    pub(super) fn pause(&mut self) {
        if self.status == Status::Running {
            self.status = Status::Paused;
        }
    }

    pub(super) fn resume(&mut self, now_ms: f64) {
        if self.status == Status::Paused {
            self.status = Status::Running;
            // Time spent paused does not count against runs/s.
            self.started_ms = now_ms - self.elapsed_ms;
            self.fill_outbox();
        }
    }

    pub(super) fn rate_estimated(
        &mut self,
        seq: u64,
        lane: usize,
        generation: u64,
        result: Result<RateEstimate, String>,
    ) {
        self.outbox.retain(|(id, _)| *id != seq);
        if generation == self.generation {
            if let Some(slot) = self.rates.get_mut(lane) {
                *slot = Some(result);
            }
        }
    }

    pub(super) fn engine_ready(&mut self, workers: usize, sink: Option<Sink>) {
        self.in_worker = workers > 0;
        self.workers = workers.max(1);
        // What was queued before the engine existed goes out now.
        self.sink = sink;
        for (_, req) in &self.outbox {
            self.send(req);
        }
        self.fill_outbox();
    }

    pub(super) fn reset(&mut self) {
        self.generation += 1;
        self.rates.clear();
        self.campaign = None;
        self.outbox.clear();
        self.status = Status::Idle;
        self.elapsed_ms = 0.0;
    }

    pub(super) fn chunk_done(
        &mut self,
        chunk: Chunk,
        result: Result<ChunkResult, String>,
        worker_ms: f64,
        now_ms: f64,
    ) {
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

    pub(super) fn worker_failed(&mut self, why: String) {
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
}
