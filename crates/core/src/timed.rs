//! Timed interleavings: a discrete-event simulation over the same [`Machine`], where
//! every step takes time drawn from a per-action latency, and the next step is always
//! the enabled one that can start earliest. It answers what the sync costs where it is:
//! how long the PTL is held, how long a collapse takes, how long the page fault spins.
//!
//! # Latencies (nanoseconds; every one is a field of [`Latencies`])
//!
//! Defaults are round figures for a current x86 server, and the model only needs their
//! orders of magnitude:
//! - `load` 5, `store` 20: an L1/L2 hit is a few cycles, but the PMD's cache line moves
//!   between the writer and the readers, and a transfer between cores costs tens of ns
//!   (Intel 64 and IA-32 Architectures Optimization Reference Manual, cache latencies).
//! - `lock` 25: an uncontended `lock cmpxchg` is about 20 cycles on recent cores.
//! - `ipi_send` 300 per target: `smp_call_function_many()` writes the APIC's ICR once per
//!   target CPU, and under Xen PV each is an event-channel notification hypercall, so a
//!   broadcast costs more with every CPU.
//! - `ipi_delivery` 1500, `ipi_handling` 500: a cross-CPU IPI round trip
//!   is one to a few microseconds on bare metal, handler entry and exit included (the
//!   figures behind the x86 `flush_tlb_multi()` paravirt work and the KVM PV TLB flush
//!   patches, which report IPI-based shootdowns of several microseconds).
//! - `hypercall` 1000: a Xen or Hyper-V hypercall round trip is around a microsecond.
//! - `alloc` 200, `free` 100: a page from the per-CPU lists, and queueing an RCU free.
//! - `read_work` 400: GUP-fast's or a walker's work with interrupts off after the PMD
//!   read (walking one page table of PTEs).
//! - `between_reads` 2000: a reader's time between two lockless reads.
//! - `preempt_chance` 0.002, `preempt` 20000: now and then a vCPU is descheduled by the
//!   host (tens of microseconds is a short slice for Xen's credit scheduler or KVM),
//!   even with guest interrupts off; on bare metal an NMI or SMI stalls a CPU likewise.
//!   This is what lets a reader's two loads straddle a collapse at all.
//!
//! Fixed costs are drawn uniformly within ±50% of their mean; `read_work` and
//! `between_reads` from a triangular distribution on `[0, 2·mean]`. Only additions and
//! multiplications are used, never `ln` or `exp`, so runs are bit-identical on every
//! platform (wasm included) for a seed.

use crate::config::{Config, ConfigError};
use crate::machine::{flag, ActionKind, Choice, Machine, Op, COLLAPSER, POPULATOR};
use crate::run::table_for;
use crate::sched::{run_seed, Rng};
use serde::{Deserialize, Serialize};

/// Mean latencies in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Latencies {
    pub load: f64,
    pub store: f64,
    pub lock: f64,
    pub ipi_send: f64,
    pub ipi_delivery: f64,
    pub ipi_handling: f64,
    pub hypercall: f64,
    pub alloc: f64,
    pub free: f64,
    pub read_work: f64,
    pub between_reads: f64,
    /// Chance per step that the (v)CPU is stalled before it: vCPU preemption by the
    /// host, or an NMI/SMI on bare metal. Without such stalls a reader's two loads are
    /// nanoseconds apart and can never straddle the microseconds between clear and
    /// re-populate, so no race would ever show.
    pub preempt_chance: f64,
    /// Mean stall when one happens.
    pub preempt: f64,
}

impl Default for Latencies {
    fn default() -> Self {
        Latencies {
            load: 5.0,
            store: 20.0,
            lock: 25.0,
            ipi_send: 300.0,
            ipi_delivery: 1500.0,
            ipi_handling: 500.0,
            hypercall: 1000.0,
            alloc: 200.0,
            free: 100.0,
            read_work: 400.0,
            between_reads: 2000.0,
            preempt_chance: 0.002,
            preempt: 20_000.0,
        }
    }
}

impl Latencies {
    /// Every field by name (the names `--latency` takes), for scaling one at a time.
    pub fn named(&mut self) -> [(&'static str, &mut f64); 13] {
        [
            ("load", &mut self.load),
            ("store", &mut self.store),
            ("lock", &mut self.lock),
            ("ipi_send", &mut self.ipi_send),
            ("ipi_delivery", &mut self.ipi_delivery),
            ("ipi_handling", &mut self.ipi_handling),
            ("hypercall", &mut self.hypercall),
            ("alloc", &mut self.alloc),
            ("free", &mut self.free),
            ("read_work", &mut self.read_work),
            ("between_reads", &mut self.between_reads),
            ("preempt_chance", &mut self.preempt_chance),
            ("preempt", &mut self.preempt),
        ]
    }

    /// A copy with latency `name` multiplied by `factor` (a chance stays at most 1).
    pub fn scaled(&self, name: &str, factor: f64) -> Option<Latencies> {
        let mut l = *self;
        let (_, v) = l.named().into_iter().find(|(n, _)| *n == name)?;
        *v *= factor;
        l.preempt_chance = l.preempt_chance.min(1.0);
        Some(l)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(0.0..=1.0).contains(&self.preempt_chance) {
            return Err(ConfigError::new(
                "preempt_chance",
                format!("{} is not a probability in 0..=1", self.preempt_chance),
            ));
        }
        let mut all = *self;
        for (k, &mut v) in all
            .named()
            .into_iter()
            .filter(|(k, _)| *k != "preempt_chance")
        {
            if !(v.is_finite() && (0.0..=1e9).contains(&v)) {
                return Err(ConfigError::new(
                    k,
                    format!("latency {v} ns is out of range 0..=1e9"),
                ));
            }
        }
        Ok(())
    }
}

/// What one timed run measured. Times in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TimedRun {
    /// khugepaged's `pmd_lock()` to its `spin_unlock()`.
    pub ptl_hold: f64,
    /// `pmd_lock()` to the old table's free.
    pub collapse: f64,
    /// Time the page fault spun on the PTL.
    pub populator_spin: f64,
    /// Time khugepaged waited for IPI acknowledgements, over all its broadcasts.
    pub ipi_wait: f64,
    pub ipis: u32,
    pub torn_reads: u32,
    /// Dereferences of a freed table.
    #[serde(default)]
    pub stale_uses: u32,
    pub end: f64,
}

fn jitter(rng: &mut Rng, mean: f64) -> f64 {
    mean * (0.5 + rng.unit())
}

fn triangular(rng: &mut Rng, mean: f64) -> f64 {
    mean * (rng.unit() + rng.unit())
}

/// Stall classes per group of CPUs and writers' phase: one per kind of step a stall can
/// follow.
pub const STALL_KINDS: usize = ActionKind::ReloadHigh as usize + 1;
/// Writers' phases a stall is classed by: khugepaged's pc (32 values, the last for
/// "done") times the PMD's write count (4 values, the last for "3 or more").
pub const STALL_PHASES: usize = 32 * 4;

/// The writers' phase of `m`, in `0..STALL_PHASES`.
fn phase(m: &Machine) -> usize {
    let st = m.state();
    let pc = st.pc[COLLAPSER as usize];
    let pc = if pc == crate::machine::DONE {
        31
    } else {
        pc.min(30)
    } as usize;
    pc * 4 + st.ver.min(3) as usize
}

/// How a timed run draws its stalls (vCPU preemptions, NMIs). Nominally each draw stalls
/// with `preempt_chance`. Biased, for importance sampling ([`crate::rare`]): a draw of
/// class `(group[cpu] * STALL_PHASES + phase) * STALL_KINDS + kind` (CPUs that run the
/// same program share a group; the phase is how far khugepaged and the PMD's writes
/// have got; the kind is that of the CPU's last step) stalls with `q[class]` instead,
/// and `weight` is multiplied by the draw's likelihood ratio (`p/q` for a stall,
/// `(1-p)/(1-q)` for none), so that weighted counts estimate the nominal model's. Either way a draw takes exactly one number from the run's stream.
#[derive(Clone, Debug)]
pub struct Stalls<'a> {
    p: f64,
    q: Option<&'a [f64]>,
    group: &'a [u8],
    /// Draw with the nominal chance while still computing the biased likelihood ratio
    /// (the defensive share of a mixture, see [`crate::rare`]).
    pub sample_nominal: bool,
    /// The run's likelihood ratio so far, nominal over biased (1 when nominal).
    pub weight: f64,
    /// Every draw's class and outcome, when recording (the proposal's tuning reads them).
    pub draws: Option<Vec<(u16, bool)>>,
}

impl<'a> Stalls<'a> {
    /// The model's own stalls.
    pub fn nominal(p: f64) -> Stalls<'static> {
        Stalls {
            p,
            q: None,
            group: &[],
            sample_nominal: true,
            weight: 1.0,
            draws: None,
        }
    }

    /// Stalls drawn with `q[class]` (each in `[p, 1)`), weighted back to `p`; `group`
    /// gives each CPU's group.
    pub fn biased(p: f64, q: &'a [f64], group: &'a [u8], record: bool) -> Stalls<'a> {
        Stalls {
            p,
            q: Some(q),
            group,
            sample_nominal: false,
            weight: 1.0,
            draws: record.then(Vec::new),
        }
    }

    /// Whether draws are biased (so runs carry weights).
    pub fn is_biased(&self) -> bool {
        self.q.is_some()
    }

    fn reset(&mut self) {
        self.weight = 1.0;
        if let Some(d) = &mut self.draws {
            d.clear();
        }
    }

    #[inline]
    fn draw(&mut self, rng: &mut Rng, m: &Machine, cpu: usize, after: ActionKind) -> bool {
        let Some(q) = self.q else {
            return rng.unit() < self.p;
        };
        let g = self.group.get(cpu).map_or(0, |&g| g as usize);
        let class = (g * STALL_PHASES + phase(m)) * STALL_KINDS + after as usize;
        let qc = q.get(class).copied().unwrap_or(self.p);
        let stalled = rng.unit() < if self.sample_nominal { self.p } else { qc };
        self.weight *= if stalled {
            self.p / qc
        } else {
            (1.0 - self.p) / (1.0 - qc)
        };
        if let Some(d) = &mut self.draws {
            d.push((class as u16, stalled));
        }
        stalled
    }
}

/// One timed run of `m` (a draining machine) from `seed`.
pub fn timed_run(m: &mut Machine, lat: &Latencies, seed: u64, new_table: u64) -> TimedRun {
    timed_run_with(
        m,
        lat,
        seed,
        new_table,
        &mut Stalls::nominal(lat.preempt_chance),
    )
}

/// Run `i` of the stream `seeds`: seeded by `run_seed(seeds, i)`, with that seed's new
/// table, and its stalls drawn by `stalls`.
pub fn timed_run_at(
    m: &mut Machine,
    lat: &Latencies,
    seeds: u64,
    i: u64,
    stalls: &mut Stalls,
) -> TimedRun {
    let s = run_seed(seeds, i);
    let table = table_for(m.config(), s);
    timed_run_with(m, lat, s, table, stalls)
}

/// [`timed_run`] with its stalls drawn by `stalls` (whose weight it resets first).
pub fn timed_run_with(
    m: &mut Machine,
    lat: &Latencies,
    seed: u64,
    new_table: u64,
    stalls: &mut Stalls,
) -> TimedRun {
    // One loop per kind of machine. The commands refuse TSO here (`timed_memory`); a
    // TSO machine passed in directly drains its buffers at no cost.
    match (m.is_generic(), m.is_tso()) {
        (false, false) => timed_run_as::<false, false>(m, lat, seed, new_table, stalls),
        (true, false) => timed_run_as::<true, false>(m, lat, seed, new_table, stalls),
        (false, true) => timed_run_as::<false, true>(m, lat, seed, new_table, stalls),
        (true, true) => timed_run_as::<true, true>(m, lat, seed, new_table, stalls),
    }
}

fn timed_run_as<const G: bool, const T: bool>(
    m: &mut Machine,
    lat: &Latencies,
    seed: u64,
    new_table: u64,
    stalls: &mut Stalls,
) -> TimedRun {
    stalls.reset();
    m.reset(new_table);
    let mut rng = Rng::new(seed);
    let n = m.cpus() as usize;
    // When each CPU is free to take its next step, and when each pending IPI arrives.
    // Per-CPU arrays on the stack, indexed by a CPU number below 64: a run is short, and
    // allocating them on the heap cost a twentieth of it (kept on the heap from run to
    // run, they were slower still).
    let mut ready = [0.0f64; 64];
    for t in &mut ready[..n] {
        *t = triangular(&mut rng, lat.between_reads) * 0.5;
    }
    ready[COLLAPSER as usize] = jitter(&mut rng, lat.between_reads);
    ready[POPULATOR as usize] = jitter(&mut rng, lat.between_reads);
    let mut arrives = [0.0f64; 64];
    // Under kvm-pv-flush a stalled reader is really descheduled (the PV flush skips
    // it), and the host resumes it at this time.
    let kvm = m.config().mode == crate::config::Mode::KvmPvFlush;
    let readers = m.reader_mask();
    let mut resume_at = [0.0f64; 64];
    let mut now = 0.0f64;
    let mut r = TimedRun::default();
    let (mut lock_at, mut sent_at) = (None::<f64>, 0.0f64);
    let mut steps = 0u64;
    // Each CPU's last step, which classes a stall drawn before its next one.
    let mut last = [ActionKind::Resume; 64];
    loop {
        let en = m.enabled_as::<G, T>();
        if en.is_empty() || steps >= crate::run::STEP_LIMIT {
            break;
        }
        // The enabled choice that can start first; ties go to the lower CPU.
        let mut best = (f64::INFINITY, Choice::prog(0));
        for ch in en.iter() {
            let c = ch.cpu as usize & 63;
            let reader = readers >> c & 1 == 1;
            let t = if ch.ack && kvm && reader {
                let st = m.state();
                if st.preempted >> c & 1 == 1 {
                    resume_at[c].max(now)
                } else if (st.pending & !st.irq_off) >> c & 1 == 1 {
                    arrives[c].max(now)
                } else {
                    // Preemption comes from the stall draw below, not as a choice:
                    // never the first.
                    f64::INFINITY
                }
            } else if ch.ack {
                arrives[c].max(now)
            } else {
                ready[c].max(now)
            };
            // Selects, not a branch: which choice starts first follows the draws, and a
            // branch on it mispredicted.
            let first = t < best.0;
            best.0 = if first { t } else { best.0 };
            best.1 = if first { ch } else { best.1 };
        }
        let (start, ch) = best;
        let c = ch.cpu as usize & 63;
        if !ch.ack && c == POPULATOR as usize && m.op(POPULATOR) == Op::Lock {
            // It was ready at ready[c] and could only lock now: that gap was spinning.
            r.populator_spin += start - ready[c].min(start);
        }
        now = start;
        if kvm && !ch.ack && readers >> c & 1 == 1 && stalls.draw(&mut rng, m, c, last[c]) {
            // The host deschedules this vCPU before its step.
            let pre = Choice::ack(ch.cpu);
            if en.contains(pre) {
                m.step_as::<G, T>(pre);
                steps += 1;
                last[c] = ActionKind::Preempt;
                resume_at[c] = start + triangular(&mut rng, lat.preempt);
                continue;
            }
        }
        let e = m.step_as::<G, T>(ch);
        steps += 1;
        let d = match e.kind {
            ActionKind::Ack => lat.ipi_handling,
            ActionKind::PtlLock => lat.lock,
            ActionKind::PtlUnlock => lat.store,
            ActionKind::Clear
            | ActionKind::ClearLow
            | ActionKind::ClearLowStore
            | ActionKind::Fence
            | ActionKind::WordStore
            | ActionKind::WordLoad
            | ActionKind::WordXchg
            | ActionKind::ClearHigh
            | ActionKind::Set
            | ActionKind::SetHigh
            | ActionKind::SetLow => lat.store,
            // One ICR write (under Xen PV, one event-channel hypercall) per target.
            ActionKind::FlushIpi | ActionKind::SyncIpi => lat.ipi_send * e.ipis as f64,
            ActionKind::FlushHypercall => lat.hypercall,
            ActionKind::Free => lat.free,
            ActionKind::Alloc => lat.alloc,
            ActionKind::CheckNone
            | ActionKind::LoadLow
            | ActionKind::LoadHigh
            | ActionKind::ReloadLow
            | ActionKind::ReloadHigh
            | ActionKind::LastLoadLow
            | ActionKind::LastLoadHigh
            | ActionKind::Load64 => lat.load,
            ActionKind::IrqOff | ActionKind::IrqOn => 1.0,
            ActionKind::Deref | ActionKind::Preempt | ActionKind::Resume | ActionKind::Drain => 0.0,
        };
        let mut d = jitter(&mut rng, d);
        match e.kind {
            ActionKind::Deref => d = triangular(&mut rng, lat.read_work),
            ActionKind::IrqOn => d += triangular(&mut rng, lat.between_reads),
            _ => {}
        }
        // A descheduled vCPU neither runs its program nor takes an IPI until it is back.
        last[c] = e.kind;
        if !kvm_reader(kvm, readers, c) && stalls.draw(&mut rng, m, c, e.kind) {
            d += triangular(&mut rng, lat.preempt);
        }
        let end = start + d;
        if e.kind == ActionKind::Resume {
            ready[c] = ready[c].max(end);
        } else if ch.ack {
            // The handler interrupts whatever the CPU was doing and delays it.
            ready[c] = ready[c].max(start) + d;
            if m.state().pending == 0 {
                r.ipi_wait += end - sent_at;
                ready[COLLAPSER as usize] = ready[COLLAPSER as usize].max(end);
            }
        } else {
            ready[c] = end;
        }
        if c == COLLAPSER as usize && !ch.ack {
            match e.kind {
                ActionKind::PtlLock => lock_at = Some(start),
                ActionKind::PtlUnlock => r.ptl_hold = end - lock_at.unwrap_or(start),
                ActionKind::Free => r.collapse = end - lock_at.unwrap_or(start),
                ActionKind::FlushIpi | ActionKind::SyncIpi => {
                    sent_at = end;
                    r.ipis += e.ipis as u32;
                    for t in crate::machine::bits(m.state().pending) {
                        arrives[t as usize & 63] = end + jitter(&mut rng, lat.ipi_delivery);
                    }
                }
                _ => {}
            }
        }
        r.torn_reads += e.has(flag::TORN) as u32;
        r.stale_uses += e.has(flag::STALE) as u32;
    }
    r.end = now;
    r
}

fn kvm_reader(kvm: bool, readers: u64, c: usize) -> bool {
    kvm && readers >> c & 1 == 1
}

/// Percentiles of one metric.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub mean: f64,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

impl Summary {
    /// Nearest-rank percentiles (the smallest value with at least p% of samples at or
    /// below it), so that every reported value is one that a run produced.
    pub fn of(samples: &[f64]) -> Summary {
        if samples.is_empty() {
            return Summary::default();
        }
        let mut v = samples.to_vec();
        v.sort_by(f64::total_cmp);
        let rank = |p: f64| {
            let k = ((p / 100.0) * v.len() as f64).ceil() as usize;
            v[k.clamp(1, v.len()) - 1]
        };
        Summary {
            mean: v.iter().sum::<f64>() / v.len() as f64,
            p50: rank(50.0),
            p99: rank(99.0),
            max: v[v.len() - 1],
        }
    }
}

/// Sub-buckets per power of two in a [`Sketch`]: a bucket spans 1/256 of its value.
const SKETCH_SUB_BITS: u32 = 8;
/// Fixed-point scale of a [`Sketch`]'s sum: sums are exact integers, so a mean does not
/// depend on how the samples were split into chunks.
const SUM_SCALE: f64 = (1u64 << 20) as f64;

/// A mergeable histogram of non-negative samples (nanoseconds): the memory and the
/// messages of a timed batch stay small however many runs it has, and its percentiles
/// are read without sorting. Each bucket spans a relative width of 1/256 (the top bits
/// of the sample's `f64` pattern, which orders non-negative floats) and remembers its
/// smallest sample, so a percentile is a sample some run produced, at most 0.4% below
/// the exact nearest-rank value. Merging is exact: any split of a batch into chunks
/// gives the same sketch, on every platform.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Sketch {
    pub count: u64,
    /// Sum of the samples times 2^20, rounded per sample.
    sum: i128,
    pub max: f64,
    /// (bucket, samples in it, smallest sample), by bucket.
    buckets: Vec<(u32, u64, f64)>,
}

impl Sketch {
    fn bucket(v: f64) -> u32 {
        (v.to_bits() >> (52 - SKETCH_SUB_BITS)) as u32
    }

    pub fn add(&mut self, v: f64) {
        let v = if v.is_finite() { v.max(0.0) } else { 0.0 };
        self.count += 1;
        self.sum += (v * SUM_SCALE).round() as i128;
        self.max = self.max.max(v);
        let b = Sketch::bucket(v);
        match self.buckets.binary_search_by_key(&b, |e| e.0) {
            Ok(i) => {
                let e = &mut self.buckets[i];
                e.1 += 1;
                e.2 = e.2.min(v);
            }
            Err(i) => self.buckets.insert(i, (b, 1, v)),
        }
    }

    pub fn merge(&mut self, o: &Sketch) {
        self.count += o.count;
        self.sum += o.sum;
        self.max = self.max.max(o.max);
        let mut out = Vec::with_capacity(self.buckets.len() + o.buckets.len());
        let (mut a, mut b) = (self.buckets.iter().peekable(), o.buckets.iter().peekable());
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) if x.0 == y.0 => {
                    let (x, y) = (a.next().unwrap(), b.next().unwrap());
                    (x.0, x.1 + y.1, x.2.min(y.2))
                }
                (Some(x), Some(y)) if x.0 < y.0 => *a.next().unwrap(),
                (Some(_), Some(_)) | (None, Some(_)) => *b.next().unwrap(),
                (Some(_), None) => *a.next().unwrap(),
                (None, None) => break,
            };
            out.push(next);
        }
        self.buckets = out;
    }

    /// Buckets in use (what the sketch costs to keep and to send).
    pub fn buckets(&self) -> usize {
        self.buckets.len()
    }

    /// Nearest-rank percentile `p` (0–100), as the smallest sample of the bucket that
    /// holds that rank.
    pub fn percentile(&self, p: f64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let k = ((p / 100.0) * self.count as f64)
            .ceil()
            .clamp(1.0, self.count as f64) as u64;
        let mut seen = 0;
        for &(_, n, min) in &self.buckets {
            seen += n;
            if seen >= k {
                return min;
            }
        }
        self.max
    }

    pub fn summary(&self) -> Summary {
        if self.count == 0 {
            return Summary::default();
        }
        Summary {
            mean: self.sum as f64 / SUM_SCALE / self.count as f64,
            p50: self.percentile(50.0),
            p99: self.percentile(99.0),
            max: self.max,
        }
    }
}

/// A timed batch's results: per-run samples and their summaries.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TimedStats {
    pub runs: u64,
    pub runs_with_torn: u64,
    pub torn_reads: u64,
    pub ipis: u64,
    pub ptl_hold: Summary,
    pub collapse: Summary,
    pub populator_spin: Summary,
    pub ipi_wait: Summary,
}

impl TimedStats {
    /// Torn reads per million collapses (each run is one collapse).
    pub fn torn_per_million_collapses(&self) -> f64 {
        if self.runs == 0 {
            0.0
        } else {
            self.torn_reads as f64 * 1e6 / self.runs as f64
        }
    }

    /// The 95% Wilson interval of collapses with a torn read, per million.
    pub fn torn_interval_per_million(&self) -> (f64, f64) {
        let (lo, hi) = crate::run::wilson(self.runs_with_torn, self.runs);
        (lo * 1e6, hi * 1e6)
    }
}

/// A slice of a timed batch: counts, and each metric's samples as a [`Sketch`]. Slices
/// merge in any grouping into the whole batch's, so a front end shows percentiles live
/// while chunks arrive, and a worker sends a few kilobytes whatever the chunk's size.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TimedSamples {
    pub runs: u64,
    pub runs_with_torn: u64,
    pub torn_reads: u64,
    pub ipis: u64,
    pub ptl_hold: Sketch,
    pub collapse: Sketch,
    pub populator_spin: Sketch,
    pub ipi_wait: Sketch,
}

impl TimedSamples {
    /// Runs `first..first + runs` of the batch (run `i` from `run_seed(seed, i)`).
    pub fn run(
        cfg: &Config,
        lat: &Latencies,
        seed: u64,
        first: u64,
        runs: u64,
    ) -> Result<TimedSamples, ConfigError> {
        lat.validate()?;
        timed_memory(cfg)?;
        let mut m = Machine::new(cfg, true)?;
        let mut out = TimedSamples::default();
        let mut stalls = Stalls::nominal(lat.preempt_chance);
        for i in first..first + runs {
            let r = timed_run_at(&mut m, lat, seed, i, &mut stalls);
            out.runs += 1;
            out.runs_with_torn += (r.torn_reads > 0) as u64;
            out.torn_reads += r.torn_reads as u64;
            out.ipis += r.ipis as u64;
            out.ptl_hold.add(r.ptl_hold);
            out.collapse.add(r.collapse);
            out.populator_spin.add(r.populator_spin);
            out.ipi_wait.add(r.ipi_wait);
        }
        Ok(out)
    }

    pub fn merge(&mut self, o: &TimedSamples) {
        self.runs += o.runs;
        self.runs_with_torn += o.runs_with_torn;
        self.torn_reads += o.torn_reads;
        self.ipis += o.ipis;
        self.ptl_hold.merge(&o.ptl_hold);
        self.collapse.merge(&o.collapse);
        self.populator_spin.merge(&o.populator_spin);
        self.ipi_wait.merge(&o.ipi_wait);
    }

    pub fn stats(&self) -> TimedStats {
        TimedStats {
            runs: self.runs,
            runs_with_torn: self.runs_with_torn,
            torn_reads: self.torn_reads,
            ipis: self.ipis,
            ptl_hold: self.ptl_hold.summary(),
            collapse: self.collapse.summary(),
            populator_spin: self.populator_spin.summary(),
            ipi_wait: self.ipi_wait.summary(),
        }
    }
}

/// Runs `runs` timed runs of `cfg` from `seed` (run `i` from `run_seed(seed, i)`).
pub fn timed_batch(
    cfg: &Config,
    lat: &Latencies,
    seed: u64,
    runs: u64,
) -> Result<TimedStats, ConfigError> {
    Ok(TimedSamples::run(cfg, lat, seed, 0, runs)?.stats())
}

/// The timed model's latencies are measured for SC steps: a store buffer's drain has no
/// cost of its own there, so a TSO configuration is refused rather than timed wrongly.
pub fn timed_memory(cfg: &Config) -> Result<(), ConfigError> {
    if cfg.memory == crate::config::Memory::Tso {
        return Err(ConfigError::new(
            "memory",
            "the timed cost model (and the rare-event rates built on it) runs under memory = sc only; run, check and matrix take memory = tso",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preset;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(|x| x as f64).collect();
        let s = Summary::of(&v);
        assert_eq!((s.p50, s.p99, s.max, s.mean), (50.0, 99.0, 100.0, 50.5));
        let s = Summary::of(&[7.0]);
        assert_eq!((s.p50, s.p99, s.max), (7.0, 7.0, 7.0));
        assert_eq!(Summary::of(&[]), Summary::default());
        let s = Summary::of(&[3.0, 1.0, 2.0]);
        assert_eq!((s.p50, s.p99), (2.0, 3.0));
    }

    #[test]
    fn sketches_are_near_the_exact_percentiles_and_merge_exactly() {
        let mut rng = Rng::new(5);
        let v: Vec<f64> = (0..20_000)
            .map(|i| match i % 3 {
                0 => 0.0,
                1 => 1000.0 * (1.0 + rng.unit()),
                _ => 20_000.0 * rng.unit() * rng.unit(),
            })
            .collect();
        let mut whole = Sketch::default();
        v.iter().for_each(|&x| whole.add(x));
        let exact = Summary::of(&v);
        let s = whole.summary();
        for (got, want) in [(s.p50, exact.p50), (s.p99, exact.p99)] {
            assert!(
                got <= want && got >= want * (1.0 - 1.0 / 256.0),
                "{got} vs {want}"
            );
            assert!(v.contains(&got), "a percentile is a sample");
        }
        assert_eq!(s.max, exact.max);
        assert!((s.mean - exact.mean).abs() < 1e-6 * exact.mean);
        // Any split merges into the same sketch.
        let mut parts = Sketch::default();
        for chunk in v.chunks(777).rev() {
            let mut c = Sketch::default();
            chunk.iter().for_each(|&x| c.add(x));
            parts.merge(&c);
        }
        assert_eq!(parts, whole);
        assert!(whole.buckets() < 3000, "{}", whole.buckets());
        assert_eq!(Sketch::default().summary(), Summary::default());
    }

    #[test]
    fn timed_runs_are_deterministic_and_plausible() {
        let cfg = preset("merged").unwrap().config;
        let lat = Latencies::default();
        let a = timed_batch(&cfg, &lat, 3, 300).unwrap();
        let b = timed_batch(&cfg, &lat, 3, 300).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, timed_batch(&cfg, &lat, 4, 300).unwrap());
        // Under the PTL khugepaged clears, flushes by hypercall and syncs by IPI: the
        // hold is at least a hypercall plus an IPI delivery, and the collapse longer.
        assert!(
            a.ptl_hold.p50 > 0.5 * (lat.hypercall + lat.ipi_delivery),
            "{a:?}"
        );
        assert!(a.collapse.p50 >= a.ptl_hold.p50);
        assert!(a.ptl_hold.max >= a.ptl_hold.p99 && a.ptl_hold.p99 >= a.ptl_hold.p50);
        assert_eq!(a.torn_reads, 0);
        assert_eq!(a.ipis, 300 * 3, "one sync broadcast to three CPUs per run");
    }

    #[test]
    fn the_sync_after_unlock_shortens_the_hold() {
        let lat = Latencies::default();
        let under = timed_batch(&preset("merged").unwrap().config, &lat, 1, 500).unwrap();
        let after = timed_batch(&preset("seed-thread-v1").unwrap().config, &lat, 1, 500).unwrap();
        assert!(
            after.ptl_hold.p99 < under.ptl_hold.p99,
            "{after:?} vs {under:?}"
        );
    }

    #[test]
    fn slices_merge_into_the_whole_batch() {
        let cfg = preset("seed-thread-v1").unwrap().config;
        let lat = Latencies::default();
        let mut acc = TimedSamples::default();
        for (first, n) in [(0, 1), (1, 150), (151, 49)] {
            acc.merge(&TimedSamples::run(&cfg, &lat, 9, first, n).unwrap());
        }
        assert_eq!(acc.stats(), timed_batch(&cfg, &lat, 9, 200).unwrap());
    }

    #[test]
    fn kvm_preemption_is_deterministic_and_the_flush_skips_preempted_readers() {
        let mut cfg = preset("merged").unwrap().config;
        cfg.mode = crate::config::Mode::KvmPvFlush;
        let lat = Latencies {
            preempt_chance: 0.05,
            ..Latencies::default()
        };
        let a = timed_batch(&cfg, &lat, 2, 2000).unwrap();
        assert_eq!(a, timed_batch(&cfg, &lat, 2, 2000).unwrap());
        assert_eq!(
            a.torn_reads, 0,
            "the sync under the PTL waits even for preempted vCPUs"
        );
        // Fewer IPIs than three targets per broadcast: some flushes skipped a reader.
        assert!(a.ipis < 2000 * 6, "{}", a.ipis);
        cfg.sync = crate::config::SyncPlacement::AfterUnlock;
        let b = timed_batch(&cfg, &lat, 2, 20_000).unwrap();
        assert!(b.torn_reads > 0, "{b:?}");
    }

    #[test]
    fn bad_latencies_are_refused() {
        let lat = Latencies {
            ipi_delivery: f64::NAN,
            ..Latencies::default()
        };
        let e = timed_batch(&Config::default(), &lat, 1, 1).unwrap_err();
        assert_eq!(e.field, "ipi_delivery");
    }
}
