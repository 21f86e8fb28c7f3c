//! Traces: one run, step by step, with what each CPU did in kernel terms and the machine
//! state after each step. Built by [`Stepper`], which replay, the web page's trace viewer
//! and its "be the scheduler" mode all drive.

use crate::config::{Config, ConfigError, ReaderKind, SyncPlacement};
use crate::machine::{
    bits, Action, Choice, Half, Hazard, IpiKind, Machine, Pmd, Role, Store, TableState, NO_CPU,
};
use crate::schedule::{Schedule, ScheduleError};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The machine state shown after each step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The PMD in memory (under TSO, buffered stores are not in it yet).
    pub pmd: Pmd,
    pub irq_off: u64,
    pub ptl: Option<u8>,
    pub pending: u64,
    pub old_table: TableState,
    /// Under `memory = tso`, each CPU's buffered stores, oldest first, in kernel terms
    /// (`pmd_high = 0`); empty under `sc`, and then left out of the serialised form.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buffers: Vec<Vec<String>>,
    /// The scenario's shared words and registers in memory, named and valued (`x`,
    /// `P2:r0`; `-` for a register not set yet); empty for a program without them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<(String, String)>,
}

impl Snapshot {
    fn of(m: &Machine) -> Snapshot {
        let st = m.state();
        Snapshot {
            pmd: st.pmd,
            irq_off: st.irq_off,
            ptl: (st.ptl != NO_CPU).then_some(st.ptl),
            pending: st.pending,
            old_table: st.old_table,
            buffers: if m.is_tso() {
                (0..m.cpus()).map(|c| m.buffer_text(c)).collect()
            } else {
                Vec::new()
            },
            words: m.words_text(),
        }
    }

    /// The shared words and registers on one line: `x=1 y=0 P2:r0=-`.
    pub fn words_line(&self) -> String {
        let v: Vec<String> = self.words.iter().map(|(k, v)| format!("{k}={v}")).collect();
        v.join(" ")
    }
}

/// One CPU of a trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuInfo {
    pub cpu: u8,
    pub role: Role,
    /// As kernel race diagrams head their columns: `CPU2 (GUP-fast)`.
    pub name: String,
}

/// One step of a trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceStep {
    pub index: u64,
    pub cpu: u8,
    pub ack: bool,
    /// A store-buffer drain (`memory = tso`); left out of the serialised form when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub drain: bool,
    pub action: Action,
    /// The step in kernel terms, e.g. `low = pmdp->pmd_low (0x3a5fe067)`.
    pub text: String,
    pub after: Snapshot,
    pub hazard: Option<Hazard>,
}

/// A whole run (or its prefix), step by step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trace {
    pub schedule: String,
    pub config: Config,
    pub new_table: u64,
    pub cpus: Vec<CpuInfo>,
    pub initial: Snapshot,
    pub steps: Vec<TraceStep>,
    /// The run reached its end (writers done, no reader inside a read).
    pub finished: bool,
    /// No CPU can step although the run has not finished.
    pub deadlocked: bool,
    /// The run finished in a state the `exists` clause's condition on registers and
    /// shared words holds in.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub observed: bool,
}

impl Trace {
    /// The loads of the read that ends at step `end` (its `pmd_low`, `pmd_high` and
    /// `pmd_low` re-check, or its one 64-bit load), oldest first; empty if `end` is no
    /// read's last load.
    pub fn loads_of(&self, end: usize) -> Vec<usize> {
        let Some(last) = self.steps.get(end) else {
            return Vec::new();
        };
        match last.action {
            Action::Load64 { .. } => return vec![end],
            Action::ReloadLow { retry: false, .. }
            | Action::ReloadHigh { retry: false, .. }
            | Action::LastLoad { .. } => {}
            _ => return Vec::new(),
        }
        // The plain loads of this CPU just before it, back to anything else.
        let mut out = vec![end];
        for i in (0..end).rev() {
            let s = &self.steps[i];
            if s.cpu != last.cpu || s.ack {
                continue;
            }
            match s.action {
                Action::LoadHigh { .. } | Action::LoadLow { .. } => out.push(i),
                _ => break,
            }
        }
        out.reverse();
        out
    }

    /// Each IPI as (sending step, acknowledging step, sender, target); the
    /// acknowledgement is `None` while it is still pending.
    pub fn ipi_arrows(&self) -> Vec<(usize, Option<usize>, u8, u8)> {
        let mut out = Vec::new();
        for (i, s) in self.steps.iter().enumerate() {
            let targets = match s.action {
                Action::FlushIpi { targets } | Action::SyncIpi { targets } => targets,
                _ => continue,
            };
            for t in bits(targets) {
                let ack = self.steps[i + 1..]
                    .iter()
                    .position(|a| a.ack && a.cpu == t)
                    .map(|j| i + 1 + j);
                out.push((i, ack, s.cpu, t));
            }
        }
        out
    }
}

impl Trace {
    /// The steps that exhibited a hazard, in order.
    /// CPUs whose store buffer holds a store at some step (`memory = tso`), in order:
    /// the viewers give each a store-buffer row.
    pub fn buffering_cpus(&self) -> Vec<u8> {
        let mut cpus: Vec<u8> = self
            .steps
            .iter()
            .flat_map(|s| {
                s.after
                    .buffers
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| !b.is_empty())
                    .map(|(c, _)| c as u8)
            })
            .collect();
        cpus.sort_unstable();
        cpus.dedup();
        cpus
    }

    pub fn hazards(&self) -> impl Iterator<Item = &TraceStep> {
        self.steps.iter().filter(|s| s.hazard.is_some())
    }
}

/// The column heading for a CPU, as kernel race diagrams write it.
pub fn cpu_name(cfg: &Config, cpu: u8, role: Role) -> String {
    let what = match role {
        Role::Collapser => "khugepaged",
        Role::Populator => "fault",
        Role::Reader => match cfg.reader {
            ReaderKind::GupFast => "GUP-fast",
            ReaderKind::Walker => "walker",
        },
        Role::Idle => "idle",
    };
    format!("CPU{cpu} ({what})")
}

fn cpu_list(m: u64) -> String {
    let v: Vec<String> = bits(m).map(|c| c.to_string()).collect();
    v.join(",")
}

/// Describes a step in kernel terms. `short` keeps it within 24 characters, for the
/// columns of a race diagram.
pub fn describe(cfg: &Config, a: &Action, short: bool) -> String {
    if short {
        describe_short(cfg, a)
    } else {
        describe_long(cfg, a)
    }
}

fn describe_short(cfg: &Config, a: &Action) -> String {
    let walker = cfg.reader == ReaderKind::Walker;
    match *a {
        Action::PtlLock => "pmd_lock()".into(),
        Action::PtlUnlock { retry: false } => "spin_unlock(ptl)".into(),
        Action::PtlUnlock { retry: true } => "spin_unlock(ptl), retry".into(),
        Action::Clear => "pmdp_get_and_clear()".into(),
        Action::ClearLow => "xchg(&pmdp->pmd_low, 0)".into(),
        Action::ClearHigh => "pmdp->pmd_high = 0".into(),
        Action::FlushIpi { targets } => format!("flush_tlb: IPI {}", cpu_list(targets)),
        Action::FlushHypercall => "flush_tlb: hypercall".into(),
        Action::SyncIpi { .. } => "..._sync_one(): IPI all".into(),
        Action::Free { .. } if cfg.free == crate::config::FreeKind::Immediate => {
            "pte_free()".into()
        }
        Action::Free { waiting: 0 } => "pte_free_defer(): freed".into(),
        Action::Free { waiting } => format!("pte_free_defer(): {}", cpu_list(waiting)),
        Action::Alloc { .. } => "pte_alloc_one()".into(),
        Action::CheckNone { none } => format!("pmd_none(*pmd): {none}"),
        Action::Set => "pmd_populate()".into(),
        Action::SetHigh => "pmdp->pmd_high = new".into(),
        Action::SetLow => "pmdp->pmd_low = new".into(),
        Action::IrqOff => "local_irq_save()".into(),
        Action::IrqOn { .. } => "local_irq_restore()".into(),
        Action::LoadLow { value } => format!("low = pmd_low {value:08x}"),
        Action::LoadHigh { value } => format!("high = pmd_high {value:x}"),
        Action::ReloadLow {
            low, retry: true, ..
        } => format!("pmd_low {low:08x} != low"),
        Action::ReloadLow { torn: true, .. } => "pmd_low == low: TORN".into(),
        Action::ReloadLow { low, high, .. } => format!("return {}", pmd_short(Pmd { low, high })),
        Action::Load64 { low, high } => format!("READ_ONCE {}", pmd_short(Pmd { low, high })),
        Action::LastLoad { torn: true, .. } => "last load: TORN".into(),
        Action::LastLoad {
            half: Half::Low,
            low,
            ..
        } => format!("low = pmd_low {low:08x}"),
        Action::LastLoad {
            half: Half::High,
            high,
            ..
        } => format!("high = pmd_high {high:x}"),
        Action::ReloadHigh {
            high, retry: true, ..
        } => format!("pmd_high {high:x} != high"),
        Action::ReloadHigh { torn: true, .. } => "pmd_high == high: TORN".into(),
        Action::ReloadHigh { low, high, .. } => format!("return {}", pmd_short(Pmd { low, high })),
        Action::Deref { stale, .. } => {
            let f = if walker {
                "__pte_map()"
            } else {
                "pte_offset_map()"
            };
            if stale {
                format!("{f}: STALE")
            } else {
                f.into()
            }
        }
        Action::Ack {
            ipi: IpiKind::Flush,
        } => "IRQ: flush_tlb_func()".into(),
        Action::Ack { ipi: IpiKind::Sync } => "IRQ: table_smp_sync()".into(),
        Action::Preempt => "host preempts vCPU".into(),
        Action::Resume => "host resumes vCPU".into(),
        Action::ClearLowStore => "pmdp->pmd_low = 0".into(),
        Action::Fence => "weak_wrmsr_fence()".into(),
        Action::Drain { store } => format!("drain: {}", store_short(cfg, store)),
        Action::WordStore { .. } | Action::WordLoad { .. } | Action::WordXchg { .. } => {
            word_text(cfg, a)
        }
    }
}

fn store_short(cfg: &Config, s: Store) -> String {
    match s {
        Store::LowZero => "pmd_low = 0".into(),
        Store::HighZero => "pmd_high = 0".into(),
        Store::HighNew => "pmd_high = new".into(),
        Store::LowNew => "pmd_low = new".into(),
        Store::PtlFree => "ptl unlocked".into(),
        Store::Word(k) => words_of(cfg).map_or("?".into(), |w| w.store_text(k)),
    }
}

/// The shared words of `cfg`'s program, for naming them: its program compiled again,
/// which only traces of scenarios with shared words ask for.
fn words_of(cfg: &Config) -> Option<Box<crate::program::Words>> {
    crate::program::program_for(cfg).ok()?.words
}

/// A step on a shared word in the scenario's own names: `WRITE_ONCE(x, 1)`,
/// `r0 = READ_ONCE(x): 1`, `r0 = xchg(x, 1): 0` (the value loaded, the old value).
fn word_text(cfg: &Config, a: &Action) -> String {
    let Some(w) = words_of(cfg) else {
        return "?".into();
    };
    let var = |v: u8| w.vars.get(v as usize).cloned().unwrap_or_default();
    let reg = |cpu: u8, r: u8| {
        w.base
            .get(cpu as usize)
            .and_then(|&(_, b)| w.regs.get(b as usize))
            .and_then(|regs| regs.get(r as usize))
            .map(|r| format!("{r} = "))
            .unwrap_or_default()
    };
    match *a {
        Action::WordStore { var: v, value } => format!("WRITE_ONCE({}, {value})", var(v)),
        Action::WordLoad {
            var: v,
            cpu,
            reg: r,
            value,
        } => format!("{}READ_ONCE({}): {value}", reg(cpu, r), var(v)),
        Action::WordXchg {
            var: v,
            cpu,
            reg: r,
            old,
            value,
        } => format!("{}xchg({}, {value}): {old}", reg(cpu, r), var(v)),
        _ => String::new(),
    }
}

fn describe_long(cfg: &Config, a: &Action) -> String {
    let text = describe_long_sc(cfg, a);
    let buffered = matches!(
        a,
        Action::ClearHigh
            | Action::ClearLowStore
            | Action::SetHigh
            | Action::SetLow
            | Action::PtlUnlock { .. }
            | Action::WordStore { .. }
    );
    if cfg.memory == crate::config::Memory::Tso && buffered {
        format!("{text} (into the store buffer)")
    } else {
        text
    }
}

fn describe_long_sc(cfg: &Config, a: &Action) -> String {
    let walker = cfg.reader == ReaderKind::Walker;
    match *a {
        Action::PtlLock => "pmd_lock(): spin_lock(ptl)".into(),
        Action::PtlUnlock { retry: false } => "spin_unlock(ptl)".into(),
        Action::PtlUnlock { retry: true } => "spin_unlock(ptl): PMD still populated, retry".into(),
        Action::Clear => "pmdp_collapse_flush(): pmdp_get_and_clear(), one 64-bit xchg".into(),
        Action::ClearLow => "pmdp_get_and_clear(): xchg(&pmdp->pmd_low, 0)".into(),
        Action::ClearHigh => "the clear's second store: pmdp->pmd_high = 0".into(),
        Action::FlushIpi { targets } if cfg.mode == crate::config::Mode::KvmPvFlush => format!(
            "flush_tlb_range(): kvm_flush_tlb_multi() IPIs running vCPUs {} of mm_cpumask and waits; preempted ones flush on resume",
            cpu_list(targets)
        ),
        Action::FlushIpi { targets } => {
            format!(
                "flush_tlb_range(): IPI mm_cpumask CPU {} and wait",
                cpu_list(targets)
            )
        }
        Action::FlushHypercall if cfg.mode == crate::config::Mode::HyperV => {
            "flush_tlb_range(): hyperv_flush_tlb_multi() hypercall, waits for nobody".into()
        }
        Action::FlushHypercall => {
            "flush_tlb_range(): xen_flush_tlb_multi() hypercall, waits for nobody".into()
        }
        Action::SyncIpi { targets } => {
            let f = if cfg.sync == SyncPlacement::FlushSyncSkip {
                "tlb_gather_remove_table_sync_one()"
            } else {
                "pmdp_get_lockless_sync(): tlb_remove_table_sync_one()"
            };
            format!("{f}: IPI CPU {} and wait", cpu_list(targets))
        }
        Action::Free { .. } if cfg.free == crate::config::FreeKind::Immediate => {
            "pte_free(): old table freed".into()
        }
        Action::Free { waiting: 0 } => {
            "pte_free_defer(): no CPU inside a read, old table freed".into()
        }
        Action::Free { waiting } => {
            format!(
                "pte_free_defer(): queued until CPU {} enable interrupts",
                cpu_list(waiting)
            )
        }
        Action::Alloc { addr } => format!("pte_alloc_one(): new table at {}", addr_hex(addr)),
        Action::CheckNone { none } => format!("pmd_install(): pmd_none(*pmd) is {none}"),
        Action::Set => "pmd_populate(): set_pmd(), one 64-bit store".into(),
        Action::SetHigh => "pmd_populate(): pmdp->pmd_high = new high".into(),
        Action::SetLow => "pmd_populate(): pmdp->pmd_low = new low".into(),
        Action::IrqOff if walker => "pmdp_get_lockless_start(): local_irq_save()".into(),
        Action::IrqOff => "local_irq_save()".into(),
        Action::IrqOn { freed } => {
            let f = if walker {
                "pmdp_get_lockless_end(): local_irq_restore()"
            } else {
                "local_irq_restore()"
            };
            if freed {
                format!("{f}; last quiescent state: old table freed")
            } else {
                f.into()
            }
        }
        Action::LoadLow { value } => format!("low = pmdp->pmd_low ({})", hex32(value)),
        Action::LoadHigh { value } => format!("high = pmdp->pmd_high ({})", hex32(value)),
        Action::ReloadLow {
            low, retry: true, ..
        } => format!("pmdp->pmd_low is now {}: changed, retry", hex32(low)),
        Action::ReloadLow {
            low, high, torn, ..
        } => format!(
            "pmdp->pmd_low == low: return {}{}",
            pmd_hex(Pmd { low, high }),
            if torn {
                "  TORN: the PMD never held this value"
            } else {
                ""
            }
        ),
        Action::Load64 { low, high } => {
            format!("pmd = READ_ONCE(*pmdp) ({})", pmd_hex(Pmd { low, high }))
        }
        Action::LastLoad {
            half,
            low,
            high,
            torn,
        } => format!(
            "{}, no re-check: return {}{}",
            match half {
                Half::Low => format!("low = pmdp->pmd_low ({})", hex32(low)),
                Half::High => format!("high = pmdp->pmd_high ({})", hex32(high)),
            },
            pmd_hex(Pmd { low, high }),
            if torn {
                "  TORN: the PMD never held this value"
            } else {
                ""
            }
        ),
        Action::ReloadHigh {
            high, retry: true, ..
        } => format!("pmdp->pmd_high is now {}: changed, retry", hex32(high)),
        Action::ReloadHigh {
            low, high, torn, ..
        } => format!(
            "pmdp->pmd_high == high: return {}{}",
            pmd_hex(Pmd { low, high }),
            if torn {
                "  TORN: the PMD never held this value"
            } else {
                ""
            }
        ),
        Action::Deref { addr, stale } => {
            let f = if walker {
                "__pte_map()"
            } else {
                "gup_fast_pte_range(): pte_offset_map()"
            };
            if stale {
                format!("{f} on {}: STALE, that table was freed", addr_hex(addr))
            } else {
                format!("{f} on table {}", addr_hex(addr))
            }
        }
        Action::Ack {
            ipi: IpiKind::Flush,
        } => "IPI handler flush_tlb_func(): acknowledge".into(),
        Action::Ack { ipi: IpiKind::Sync } => {
            "IPI handler tlb_remove_table_smp_sync(): acknowledge".into()
        }
        Action::Preempt => {
            "the host deschedules this vCPU (steal_time.preempted set): a PV flush skips it".into()
        }
        Action::Resume => "the host runs this vCPU again (a skipped flush is done now)".into(),
        Action::ClearLowStore => "pmd_clear(): pmdp->pmd_low = 0, a plain store".into(),
        Action::Fence => "weak_wrmsr_fence(): mfence; lfence (the store buffer is empty)".into(),
        Action::Drain { store } => format!(
            "store buffer drains: {} reaches memory",
            match store {
                Store::PtlFree => "the unlock".into(),
                s => store_short(cfg, s),
            }
        ),
        Action::WordStore { .. } => word_text(cfg, a),
        Action::WordLoad { .. } => format!("{} (loaded)", word_text(cfg, a)),
        Action::WordXchg { .. } => format!("{} (the old value; locked)", word_text(cfg, a)),
    }
}

/// Each CPU's buffered stores after a step, `CPU0: pmd_low = 0, pmd_high = 0`, or `-`.
pub fn buffers_text(s: &Snapshot) -> String {
    let v: Vec<String> = s
        .buffers
        .iter()
        .enumerate()
        .filter(|(_, b)| !b.is_empty())
        .map(|(c, b)| format!("CPU{c}: {}", b.join(", ")))
        .collect();
    if v.is_empty() {
        "-".into()
    } else {
        v.join("; ")
    }
}

/// `0x3a5fe067`.
pub fn hex32(v: u32) -> String {
    format!("{v:#x}")
}

/// `0x00000001_3a5fe067`: high word, then low word.
pub fn pmd_hex(p: Pmd) -> String {
    format!("{:#010x}_{:08x}", p.high, p.low)
}

fn pmd_short(p: Pmd) -> String {
    format!("{:x}:{:08x}", p.high, p.low)
}

/// A physical address with the 4 GiB boundary visible: `0x1_3a5fe000`.
pub fn addr_hex(a: u64) -> String {
    format!("{:#x}_{:08x}", a >> 32, a as u32)
}

/// Why a replay failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReplayError {
    Schedule(ScheduleError),
    Config(ConfigError),
    /// Step `index` chose something the machine could not do there.
    Step {
        index: usize,
        choice: Choice,
        why: String,
    },
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayError::Schedule(e) => e.fmt(f),
            ReplayError::Config(e) => write!(f, "invalid configuration: {e}"),
            ReplayError::Step { index, choice, why } => write!(
                f,
                "the schedule does not replay: step {index} picks CPU{}{}, but {why}",
                choice.cpu,
                if choice.ack {
                    "'s IPI acknowledgement"
                } else if choice.drain {
                    "'s store-buffer drain"
                } else {
                    ""
                }
            ),
        }
    }
}

impl std::error::Error for ReplayError {}

/// Drives a machine one chosen step at a time, keeping the trace.
#[derive(Clone, Debug)]
pub struct Stepper {
    machine: Machine,
    choices: Vec<Choice>,
    trace: Trace,
}

/// Two steppers are equal when they took the same steps on the same configuration.
impl PartialEq for Stepper {
    fn eq(&self, o: &Stepper) -> bool {
        self.choices == o.choices && self.trace == o.trace
    }
}

impl Stepper {
    /// A fresh run of `cfg` whose populator allocates `new_table`.
    pub fn new(cfg: &Config, new_table: u64) -> Result<Stepper, ConfigError> {
        let mut machine = Machine::new(cfg, true)?;
        machine.reset(new_table);
        let cpus = (0..machine.cpus())
            .map(|c| {
                let role = machine.role(c);
                CpuInfo {
                    cpu: c,
                    role,
                    name: cpu_name(cfg, c, role),
                }
            })
            .collect();
        let trace = Trace {
            schedule: String::new(),
            config: cfg.clone(),
            new_table,
            cpus,
            initial: Snapshot::of(&machine),
            steps: Vec::new(),
            finished: false,
            deadlocked: false,
            observed: false,
        };
        let mut s = Stepper {
            machine,
            choices: Vec::new(),
            trace,
        };
        s.refresh();
        Ok(s)
    }

    fn refresh(&mut self) {
        self.trace.finished = self.machine.finished();
        self.trace.observed = self.machine.observed();
        self.trace.deadlocked = !self.trace.finished && self.machine.enabled().is_empty();
        self.trace.schedule = self.schedule().encode();
    }

    pub fn machine(&self) -> &Machine {
        &self.machine
    }

    /// The choices open now, in CPU order, program steps first.
    pub fn enabled(&self) -> Vec<Choice> {
        self.machine.enabled().iter().collect()
    }

    /// What `ch` would do, described, without doing it.
    pub fn preview(&self, ch: Choice) -> Result<String, String> {
        let mut m = self.machine.clone();
        let a = m.try_step(ch)?;
        Ok(describe(m.config(), &a, false))
    }

    /// Takes one step.
    pub fn step(&mut self, ch: Choice) -> Result<&TraceStep, String> {
        let a = self.machine.try_step(ch)?;
        let cfg = self.machine.config();
        self.choices.push(ch);
        self.trace.steps.push(TraceStep {
            index: self.trace.steps.len() as u64,
            cpu: ch.cpu,
            ack: ch.ack,
            drain: ch.drain,
            action: a,
            text: describe(cfg, &a, false),
            after: Snapshot::of(&self.machine),
            hazard: a.hazard(),
        });
        self.refresh();
        Ok(self.trace.steps.last().expect("just pushed"))
    }

    pub fn finished(&self) -> bool {
        self.trace.finished
    }
    pub fn trace(&self) -> &Trace {
        &self.trace
    }
    pub fn into_trace(self) -> Trace {
        self.trace
    }
    pub fn schedule(&self) -> Schedule {
        Schedule {
            config: self.machine.config().clone(),
            new_table: self.machine.new_table(),
            choices: self.choices.clone(),
        }
    }
}

/// Replays a schedule into its trace.
pub fn replay(s: &Schedule) -> Result<Trace, ReplayError> {
    let mut st = Stepper::new(&s.config, s.new_table).map_err(ReplayError::Config)?;
    for (index, &choice) in s.choices.iter().enumerate() {
        st.step(choice)
            .map_err(|why| ReplayError::Step { index, choice, why })?;
    }
    Ok(st.into_trace())
}

/// Replays a schedule string.
pub fn replay_str(s: &str) -> Result<Trace, ReplayError> {
    replay_str_with(s, None)
}

/// Replays a schedule string made on `scenario` (a `ts2` schedule needs it).
pub fn replay_str_with(
    s: &str,
    scenario: Option<&std::sync::Arc<crate::scenario::Scenario>>,
) -> Result<Trace, ReplayError> {
    replay(&Schedule::decode_with(s, scenario).map_err(ReplayError::Schedule)?)
}

impl Trace {
    /// A plain-text table, one row per step.
    pub fn to_table(&self) -> String {
        use fmt::Write;
        let mut out = String::new();
        let _ = writeln!(out, "# {}", self.config.summary());
        let _ = writeln!(out, "# schedule {}", self.schedule);
        let tso = self.config.memory == crate::config::Memory::Tso;
        let words = !self.initial.words.is_empty();
        let _ = writeln!(
            out,
            "{:>4}  {:<18} {:<58} {:<21} {:<8} {:<4} ipi pending{}{}",
            "step",
            "cpu",
            "action",
            "pmd (high_low)",
            "irqs off",
            "ptl",
            if tso { "  store buffers" } else { "" },
            if words { "  |  words" } else { "" }
        );
        let dash = |m: u64| if m == 0 { "-".to_string() } else { cpu_list(m) };
        for s in &self.steps {
            let name = &self.cpus[s.cpu as usize].name;
            let mut buffers = if tso {
                format!("  {:<11} {}", dash(s.after.pending), buffers_text(&s.after))
            } else {
                format!(" {}", dash(s.after.pending))
            };
            if words {
                buffers = format!("{buffers}  |  {}", s.after.words_line());
            }
            let _ = writeln!(
                out,
                "{:>4}  {:<18} {:<58} {:<21} {:<8} {:<4}{}",
                s.index,
                name,
                s.text,
                pmd_hex(s.after.pmd),
                dash(s.after.irq_off),
                s.after.ptl.map_or("-".to_string(), |c| c.to_string()),
                buffers.trim_end(),
            );
        }
        let end = if self.deadlocked {
            "DEADLOCK: no CPU can step and the run has not finished"
        } else if self.observed {
            "run finished in a state the exists clause describes"
        } else if self.finished {
            "run finished"
        } else {
            "schedule ends before the run does"
        };
        let hz: Vec<String> = self
            .hazards()
            .map(|s| {
                format!(
                    "{} at step {} on CPU{}",
                    s.hazard.map_or("", |h| h.name()),
                    s.index,
                    s.cpu
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "# {end}; {}",
            if hz.is_empty() {
                "no hazard".to_string()
            } else {
                hz.join(", ")
            }
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets::preset;
    use crate::run::record_run;
    use crate::sched::SchedulerSpec;

    #[test]
    fn replay_reproduces_a_recorded_run() {
        let cfg = preset("seed-thread-v1").unwrap().config;
        for seed in 0..50 {
            let (sched, summary) = record_run(&cfg, SchedulerSpec::Random, seed);
            let t = replay_str(&sched.encode()).unwrap();
            assert!(t.finished);
            assert_eq!(t.steps.len() as u64, summary.steps);
            assert_eq!(
                t.hazards().count() as u32,
                summary.torn_reads + summary.stale_uses
            );
        }
    }

    #[test]
    fn a_schedule_that_picks_a_blocked_cpu_is_refused_with_the_reason() {
        let cfg = preset("merged").unwrap().config;
        let s = Schedule {
            config: cfg,
            new_table: crate::machine::SAME_LOW_TABLE,
            choices: vec![Choice::prog(0), Choice::prog(1), Choice::prog(1)],
        };
        let e = replay(&s).unwrap_err().to_string();
        assert!(
            e.contains("step 2") && e.contains("spinning on the PTL"),
            "{e}"
        );
    }

    #[test]
    fn stepper_previews_without_stepping() {
        let cfg = preset("seed-thread-v1").unwrap().config;
        let mut st = Stepper::new(&cfg, crate::machine::SAME_LOW_TABLE).unwrap();
        assert_eq!(st.preview(Choice::prog(2)).unwrap(), "local_irq_save()");
        assert!(st.trace().steps.is_empty());
        st.step(Choice::prog(2)).unwrap();
        assert_eq!(st.trace().steps[0].after.irq_off, 0b100);
        assert!(st.step(Choice::ack(2)).is_err());
    }

    #[test]
    fn descriptions_fit_diagram_columns() {
        let cfg = preset("seed-thread-v1").unwrap().config;
        let actions = [
            Action::PtlLock,
            Action::PtlUnlock { retry: true },
            Action::Clear,
            Action::FlushIpi { targets: 0b1110 },
            Action::FlushHypercall,
            Action::SyncIpi { targets: 0b1110 },
            Action::Free { waiting: 0b1100 },
            Action::Alloc {
                addr: 0x2_3a5f_e000,
            },
            Action::CheckNone { none: false },
            Action::LoadLow { value: 0x3a5f_e067 },
            Action::LoadHigh { value: 0x3a5f_e067 },
            Action::ReloadLow {
                low: 0x3a5f_e067,
                high: 2,
                retry: false,
                torn: false,
            },
            Action::ReloadLow {
                low: 0x3a5f_e067,
                high: 2,
                retry: true,
                torn: false,
            },
            Action::Load64 {
                low: 0x3a5f_e067,
                high: 2,
            },
            Action::Deref {
                addr: 0x2_3a5f_e000,
                stale: false,
            },
            Action::Ack { ipi: IpiKind::Sync },
            Action::Ack {
                ipi: IpiKind::Flush,
            },
            Action::Free { waiting: 0 },
            Action::ClearLow,
            Action::IrqOff,
            Action::IrqOn { freed: true },
            Action::ReloadLow {
                low: 0x3a5f_e067,
                high: 0,
                retry: false,
                torn: true,
            },
            Action::Deref {
                addr: 0x1_3a5f_e000,
                stale: true,
            },
        ];
        for a in actions {
            let d = describe(&cfg, &a, true);
            assert!(d.len() <= 24, "{d:?} is {} long", d.len());
        }
    }
}
