//! The simulated machine: the PMD as two 32-bit halves, the page-table lock, per-CPU
//! interrupt state, pending IPIs, the two page-table frames, and the actors' programs.
//!
//! [`Machine::step`] is the only place the semantics live: the random runner, replay,
//! the interactive stepper, the timed scheduler and the exhaustive checker all call it.
//! Every call is one atomic step of MODEL.md: a 32-bit load or store, a 64-bit exchange,
//! a lock or unlock, an IPI send, an IPI acknowledgement, a hypercall.
//!
//! Two modes go beyond MODEL.md's table, as its "later modes" section suggests:
//! - `hyperv`: the TLB flush is a hypercall that waits for nobody (as under Xen PV);
//!   the sync is a real IPI broadcast. Verdicts are Xen PV's.
//! - `kvm-pv-flush`: the host may preempt a reader's vCPU at any moment, interrupts off
//!   or not (a step of its own, taken through the reader's acknowledgement choice:
//!   resume if preempted, else acknowledge a deliverable IPI, else preempt). A preempted
//!   vCPU takes no step and acknowledges nothing. `kvm_flush_tlb_multi()` skips
//!   preempted vCPUs (they flush on resume) instead of waiting; the sync still waits for
//!   them. So a reader preempted between its loads is not held off by the flush, and
//!   every placement but `under-ptl` can tear, whatever the reader kind.

use crate::config::{
    Alloc, ClearKind, Config, ConfigError, Mode, ReaderKind, SetKind, SyncPlacement,
};
pub use crate::prim::Op;
pub use crate::scenario::DONE;
use crate::scenario::{Instr, Program};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// "No CPU" in the PTL owner field.
pub const NO_CPU: u8 = u8::MAX;
/// The collapser (khugepaged) always runs on CPU 0.
pub const COLLAPSER: u8 = 0;
/// The populator (a page fault) always runs on CPU 1.
pub const POPULATOR: u8 = 1;
/// Readers run on CPUs 2.., then idle CPUs follow.
pub const FIRST_READER: u8 = 2;

/// `_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY`: `_PAGE_TABLE` on x86.
pub const PAGE_TABLE_FLAGS: u32 = 0x067;
/// The physical address of the page table khugepaged retracts.
pub const OLD_TABLE: u64 = 0x1_3a5f_e000;
/// The `same-low` allocation: the old table's low word under another high word.
pub const SAME_LOW_TABLE: u64 = 0x2_3a5f_e000;
/// RAM the `random` allocator draws frames from. More than 4 GiB, so low words can collide.
pub const RAM_BYTES: u64 = 16 << 30;
const PAGE_SHIFT: u32 = 12;

/// A PMD value, as its two 32-bit halves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Pmd {
    pub low: u32,
    pub high: u32,
}

impl Pmd {
    /// The entry `pmd_populate()` writes for a page table at `addr`.
    pub fn table(addr: u64) -> Pmd {
        Pmd {
            low: (addr as u32 & !0xfff) | PAGE_TABLE_FLAGS,
            high: (addr >> 32) as u32,
        }
    }
    /// Present means `pmd_low` is non-zero (MODEL.md's definition).
    pub fn present(self) -> bool {
        self.low != 0
    }
    /// The physical address the entry points to.
    pub fn addr(self) -> u64 {
        (((self.high as u64) << 32) | self.low as u64) & !0xfff
    }
    pub fn value(self) -> u64 {
        ((self.high as u64) << 32) | self.low as u64
    }
}

/// Which IPI broadcast is outstanding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IpiKind {
    /// `native_flush_tlb_multi()` from `pmdp_collapse_flush()`.
    #[default]
    Flush,
    /// `tlb_remove_table_sync_one()`, i.e. `pmdp_get_lockless_sync()`.
    Sync,
}

/// What each CPU runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Collapser,
    Populator,
    Reader,
    Idle,
}

/// The life of the old page table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TableState {
    Live,
    /// `pte_free_defer()` queued it; freed once the CPUs in `qs` enable interrupts.
    FreeQueued,
    Freed,
}

/// "No first load yet" in [`Regs::first_ver`].
pub const NO_VER: u8 = u8::MAX;

/// A reader's registers. Fields that are dead at the reader's pc are kept zero, so that
/// equal machine states compare equal (the checker relies on it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Regs {
    pub low: u32,
    pub high: u32,
    /// The PMD version at this read's first load, for the torn-read check.
    pub first_ver: u8,
}

impl Regs {
    pub const START: Regs = Regs {
        low: 0,
        high: 0,
        first_ver: NO_VER,
    };
}

/// Everything that changes during a run.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct State {
    pub pmd: Pmd,
    /// How many writes the PMD has had: an index into [`Machine::history`].
    pub ver: u8,
    pub ptl: u8,
    pub irq_off: u64,
    pub pending: u64,
    /// CPUs that must enable interrupts before a queued deferred free completes.
    pub qs: u64,
    /// vCPUs the host has descheduled (`kvm-pv-flush` only): they take no step and
    /// acknowledge no IPI until resumed.
    pub preempted: u64,
    pub ipi: IpiKind,
    /// The flush sent at least one IPI (what `pmdp_collapse_flush_sync()` records).
    pub flush_sent_ipi: bool,
    pub installed: bool,
    /// The populator has allocated its new table.
    pub allocated: bool,
    pub old_table: TableState,
    /// Each CPU's pc, an index into the program's code ([`DONE`] once a writer has
    /// finished, and for idle CPUs): CPU 0 the collapser, 1 the populator, then readers.
    /// A fixed array, so that indexing it by a CPU number needs no bounds check.
    pub pc: [u8; 64],
    /// Each reader's registers; reader `i` runs on CPU `2 + i`.
    pub regs: Vec<Regs>,
    /// Which writers (bits 0 and 1) can step: derived from the fields above, and kept
    /// current by the steps that can change it rather than recomputed every step.
    writers: u64,
    /// All ones while readers may start reads; zero once a draining run's writers are done.
    gate: u64,
    /// Readers inside an iteration of their block (away from its first line). Derived
    /// from the pcs; kept only for programs whose readers are not bracketed by
    /// `local_irq_save()`/`local_irq_restore()` (else `irq_off` says the same).
    busy: u64,
    /// Readers whose next step is `pmd_lock()` (kept only where a reader takes the PTL).
    at_lock: u64,
    /// Each CPU's instruction at its pc, derived from `pc`: the step dispatches on it
    /// with one load, where going through the code would put a second dependent load
    /// before every (often mispredicted) dispatch.
    cur: [Instr; 64],
}

impl State {
    /// Becomes a copy of `o`, derived fields included, reusing the registers' buffer:
    /// what the checker does between the choices it expands from one state, where
    /// unpacking the stored state again cost more than the step.
    pub(crate) fn copy_from(&mut self, o: &State) {
        // Every field by name, so that a new one cannot be forgotten here.
        let State {
            pmd,
            ver,
            ptl,
            irq_off,
            pending,
            qs,
            preempted,
            ipi,
            flush_sent_ipi,
            installed,
            allocated,
            old_table,
            pc,
            regs,
            writers,
            gate,
            busy,
            at_lock,
            cur,
        } = o;
        (self.pmd, self.ver, self.ptl) = (*pmd, *ver, *ptl);
        (self.irq_off, self.pending, self.qs, self.preempted) =
            (*irq_off, *pending, *qs, *preempted);
        (self.ipi, self.flush_sent_ipi, self.installed) = (*ipi, *flush_sent_ipi, *installed);
        (self.allocated, self.old_table, self.pc) = (*allocated, *old_table, *pc);
        self.regs.clone_from(regs);
        (self.writers, self.gate, self.busy, self.at_lock) = (*writers, *gate, *busy, *at_lock);
        self.cur = *cur;
    }

    pub fn collapser(&self) -> u8 {
        self.pc[COLLAPSER as usize]
    }
    pub fn populator(&self) -> u8 {
        self.pc[POPULATOR as usize]
    }
}

/// What one step did, with the values it read or wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Action {
    PtlLock,
    /// `retry`: the populator found the PMD populated and will try again.
    PtlUnlock {
        retry: bool,
    },
    /// A 64-bit exchange to zero.
    Clear,
    ClearLow,
    ClearHigh,
    FlushIpi {
        targets: u64,
    },
    FlushHypercall,
    SyncIpi {
        targets: u64,
    },
    /// `waiting`: CPUs that must enable interrupts first (0: freed at once).
    Free {
        waiting: u64,
    },
    Alloc {
        addr: u64,
    },
    CheckNone {
        none: bool,
    },
    Set,
    SetHigh,
    SetLow,
    IrqOff,
    LoadLow {
        value: u32,
    },
    LoadHigh {
        value: u32,
    },
    /// The re-read of `pmd_low`; on a match the read returns `(low, high)`.
    ReloadLow {
        low: u32,
        high: u32,
        retry: bool,
        torn: bool,
    },
    Load64 {
        low: u32,
        high: u32,
    },
    /// A load that completes a read with no re-check (`half`: which word it loaded).
    LastLoad {
        half: Half,
        low: u32,
        high: u32,
        torn: bool,
    },
    /// The re-read of `pmd_high` (a read protocol that loads the high word first).
    ReloadHigh {
        low: u32,
        high: u32,
        retry: bool,
        torn: bool,
    },
    Deref {
        addr: u64,
        stale: bool,
    },
    /// `freed`: this was the last quiescent state the deferred free waited for.
    IrqOn {
        freed: bool,
    },
    Ack {
        ipi: IpiKind,
    },
    /// The host deschedules this vCPU (`kvm-pv-flush`).
    Preempt,
    /// The host runs it again; a flush it missed is done now.
    Resume,
}

/// Which 32-bit half of the PMD.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Half {
    Low,
    High,
}

/// The hazards MODEL.md defines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Hazard {
    Torn,
    Stale,
    Deadlock,
}

impl Hazard {
    pub fn name(self) -> &'static str {
        match self {
            Hazard::Torn => "torn",
            Hazard::Stale => "stale",
            Hazard::Deadlock => "deadlock",
        }
    }
}

impl Action {
    /// The hazard this step exhibited, if any.
    #[inline]
    pub fn hazard(&self) -> Option<Hazard> {
        match *self {
            Action::ReloadLow { torn: true, .. }
            | Action::ReloadHigh { torn: true, .. }
            | Action::LastLoad { torn: true, .. } => Some(Hazard::Torn),
            Action::Deref { stale: true, .. } => Some(Hazard::Stale),
            _ => None,
        }
    }

    /// IPIs this step sent.
    #[inline]
    pub fn ipis_sent(&self) -> u32 {
        match *self {
            Action::FlushIpi { targets } | Action::SyncIpi { targets } => targets.count_ones(),
            _ => 0,
        }
    }
}

/// The kind of an [`Action`], without its values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum ActionKind {
    PtlLock,
    PtlUnlock,
    Clear,
    ClearLow,
    ClearHigh,
    FlushIpi,
    FlushHypercall,
    SyncIpi,
    Free,
    Alloc,
    CheckNone,
    Set,
    SetHigh,
    SetLow,
    IrqOff,
    LoadLow,
    LoadHigh,
    ReloadLow,
    Load64,
    Deref,
    IrqOn,
    Ack,
    Preempt,
    Resume,
    LastLoadLow,
    LastLoadHigh,
    ReloadHigh,
}

/// Bits of [`Effect::flags`].
pub mod flag {
    /// The re-read `pmd_low` differed (reader), or the populator must retry.
    pub const RETRY: u8 = 1;
    pub const TORN: u8 = 2;
    pub const STALE: u8 = 4;
    /// The last quiescent state of a deferred free: the old table is freed now.
    pub const FREED: u8 = 8;
    /// A read returned a value.
    pub const READ: u8 = 16;
    /// The CPU finished a loop iteration (PCT lowers its priority).
    pub const YIELD: u8 = 32;
    /// `pmd_none()` was true.
    pub const NONE: u8 = 64;
    /// The acknowledged IPI was the sync (else the flush).
    pub const SYNC: u8 = 128;
}

/// What one step did, as plain fields that a batch can add up without branching on the
/// kind of step. [`Effect::action`] gives the same information as a typed [`Action`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Effect {
    pub kind: ActionKind,
    /// [`flag`] bits.
    pub flags: u8,
    /// IPIs this step sent.
    pub ipis: u8,
    /// A loaded half, or the `pmd_low` a read returns.
    pub v1: u32,
    /// The `pmd_high` a read returns.
    pub v2: u32,
    /// An address or a CPU mask.
    pub wide: u64,
}

impl Effect {
    #[inline]
    pub fn has(&self, f: u8) -> bool {
        self.flags & f != 0
    }

    /// The hazard this step exhibited, if any.
    #[inline]
    pub fn hazard(&self) -> Option<Hazard> {
        if self.has(flag::TORN) {
            Some(Hazard::Torn)
        } else if self.has(flag::STALE) {
            Some(Hazard::Stale)
        } else {
            None
        }
    }

    /// The typed form.
    pub fn action(&self) -> Action {
        let f = |b| self.has(b);
        match self.kind {
            ActionKind::PtlLock => Action::PtlLock,
            ActionKind::PtlUnlock => Action::PtlUnlock {
                retry: f(flag::RETRY),
            },
            ActionKind::Clear => Action::Clear,
            ActionKind::ClearLow => Action::ClearLow,
            ActionKind::ClearHigh => Action::ClearHigh,
            ActionKind::FlushIpi => Action::FlushIpi { targets: self.wide },
            ActionKind::FlushHypercall => Action::FlushHypercall,
            ActionKind::SyncIpi => Action::SyncIpi { targets: self.wide },
            ActionKind::Free => Action::Free { waiting: self.wide },
            ActionKind::Alloc => Action::Alloc { addr: self.wide },
            ActionKind::CheckNone => Action::CheckNone {
                none: f(flag::NONE),
            },
            ActionKind::Set => Action::Set,
            ActionKind::SetHigh => Action::SetHigh,
            ActionKind::SetLow => Action::SetLow,
            ActionKind::IrqOff => Action::IrqOff,
            ActionKind::LoadLow => Action::LoadLow { value: self.v1 },
            ActionKind::LoadHigh => Action::LoadHigh { value: self.v1 },
            ActionKind::ReloadLow => Action::ReloadLow {
                low: self.v1,
                high: self.v2,
                retry: f(flag::RETRY),
                torn: f(flag::TORN),
            },
            ActionKind::Load64 => Action::Load64 {
                low: self.v1,
                high: self.v2,
            },
            ActionKind::LastLoadLow | ActionKind::LastLoadHigh => Action::LastLoad {
                half: if self.kind == ActionKind::LastLoadLow {
                    Half::Low
                } else {
                    Half::High
                },
                low: self.v1,
                high: self.v2,
                torn: f(flag::TORN),
            },
            ActionKind::ReloadHigh => Action::ReloadHigh {
                low: self.v1,
                high: self.v2,
                retry: f(flag::RETRY),
                torn: f(flag::TORN),
            },
            ActionKind::Deref => Action::Deref {
                addr: self.wide,
                stale: f(flag::STALE),
            },
            ActionKind::IrqOn => Action::IrqOn {
                freed: f(flag::FREED),
            },
            ActionKind::Ack => Action::Ack {
                ipi: if f(flag::SYNC) {
                    IpiKind::Sync
                } else {
                    IpiKind::Flush
                },
            },
            ActionKind::Preempt => Action::Preempt,
            ActionKind::Resume => Action::Resume,
        }
    }
}

impl From<Action> for Effect {
    fn from(a: Action) -> Effect {
        let mut e = Effect {
            kind: ActionKind::PtlLock,
            flags: 0,
            ipis: 0,
            v1: 0,
            v2: 0,
            wide: 0,
        };
        let b = |c: bool, f: u8| if c { f } else { 0 };
        e.kind = match a {
            Action::Preempt => {
                e.flags = flag::YIELD;
                ActionKind::Preempt
            }
            Action::Resume => {
                e.flags = flag::YIELD;
                ActionKind::Resume
            }
            Action::PtlLock => ActionKind::PtlLock,
            Action::PtlUnlock { retry } => {
                e.flags = b(retry, flag::RETRY | flag::YIELD);
                ActionKind::PtlUnlock
            }
            Action::Clear => ActionKind::Clear,
            Action::ClearLow => ActionKind::ClearLow,
            Action::ClearHigh => ActionKind::ClearHigh,
            Action::FlushIpi { targets } => {
                (e.wide, e.ipis) = (targets, targets.count_ones() as u8);
                ActionKind::FlushIpi
            }
            Action::FlushHypercall => ActionKind::FlushHypercall,
            Action::SyncIpi { targets } => {
                (e.wide, e.ipis) = (targets, targets.count_ones() as u8);
                ActionKind::SyncIpi
            }
            Action::Free { waiting } => {
                e.wide = waiting;
                ActionKind::Free
            }
            Action::Alloc { addr } => {
                e.wide = addr;
                ActionKind::Alloc
            }
            Action::CheckNone { none } => {
                e.flags = b(none, flag::NONE);
                ActionKind::CheckNone
            }
            Action::Set => ActionKind::Set,
            Action::SetHigh => ActionKind::SetHigh,
            Action::SetLow => ActionKind::SetLow,
            Action::IrqOff => ActionKind::IrqOff,
            Action::LoadLow { value } => {
                e.v1 = value;
                ActionKind::LoadLow
            }
            Action::LoadHigh { value } => {
                e.v1 = value;
                ActionKind::LoadHigh
            }
            Action::ReloadLow {
                low,
                high,
                retry,
                torn,
            } => {
                (e.v1, e.v2) = (low, high);
                e.flags = b(retry, flag::RETRY) | b(torn, flag::TORN) | b(!retry, flag::READ);
                ActionKind::ReloadLow
            }
            Action::Load64 { low, high } => {
                (e.v1, e.v2) = (low, high);
                e.flags = flag::READ;
                ActionKind::Load64
            }
            Action::LastLoad {
                half,
                low,
                high,
                torn,
            } => {
                (e.v1, e.v2) = (low, high);
                e.flags = flag::READ | b(torn, flag::TORN);
                match half {
                    Half::Low => ActionKind::LastLoadLow,
                    Half::High => ActionKind::LastLoadHigh,
                }
            }
            Action::ReloadHigh {
                low,
                high,
                retry,
                torn,
            } => {
                (e.v1, e.v2) = (low, high);
                e.flags = b(retry, flag::RETRY) | b(torn, flag::TORN) | b(!retry, flag::READ);
                ActionKind::ReloadHigh
            }
            Action::Deref { addr, stale } => {
                e.wide = addr;
                e.flags = b(stale, flag::STALE);
                ActionKind::Deref
            }
            Action::IrqOn { freed } => {
                e.flags = flag::YIELD | b(freed, flag::FREED);
                ActionKind::IrqOn
            }
            Action::Ack { ipi } => {
                e.flags = b(ipi == IpiKind::Sync, flag::SYNC);
                ActionKind::Ack
            }
        };
        e
    }
}

/// A scheduling decision: which CPU steps, and whether the step is that CPU's IPI
/// acknowledgement rather than its next instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Choice {
    pub cpu: u8,
    pub ack: bool,
}

impl Choice {
    pub fn prog(cpu: u8) -> Choice {
        Choice { cpu, ack: false }
    }
    pub fn ack(cpu: u8) -> Choice {
        Choice { cpu, ack: true }
    }
    /// A dense code, `cpu * 2 + ack`, below 128.
    pub fn code(self) -> u8 {
        (self.cpu << 1) | self.ack as u8
    }
    pub fn from_code(code: u8) -> Choice {
        Choice {
            cpu: code >> 1,
            ack: code & 1 == 1,
        }
    }
}

/// The choices open at a state, as two CPU bit masks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Enabled {
    pub prog: u64,
    pub ack: u64,
}

impl Enabled {
    #[inline]
    pub fn count(self) -> u32 {
        self.prog.count_ones() + self.ack.count_ones()
    }
    #[inline]
    pub fn is_empty(self) -> bool {
        self.prog | self.ack == 0
    }
    #[inline]
    pub fn contains(self, ch: Choice) -> bool {
        let m = if ch.ack { self.ack } else { self.prog };
        ch.cpu < 64 && m >> ch.cpu & 1 == 1
    }
    /// The `i`-th choice, program steps first, in CPU order. `i < count()`.
    #[inline]
    pub fn nth(self, i: u32) -> Choice {
        let p = self.prog.count_ones();
        if i < p {
            Choice::prog(nth_bit(self.prog, i))
        } else {
            Choice::ack(nth_bit(self.ack, i - p))
        }
    }
    pub fn iter(self) -> impl Iterator<Item = Choice> {
        bits(self.prog)
            .map(Choice::prog)
            .chain(bits(self.ack).map(Choice::ack))
    }
}

/// Index of the `n`-th set bit of `m` (which has more than `n` bits set).
#[inline]
pub fn nth_bit(mut m: u64, n: u32) -> u8 {
    for _ in 0..n {
        m &= m - 1;
    }
    m.trailing_zeros() as u8
}

/// The set bits of a mask, lowest first.
pub fn bits(mut m: u64) -> impl Iterator<Item = u8> {
    std::iter::from_fn(move || {
        if m == 0 {
            return None;
        }
        let b = m.trailing_zeros() as u8;
        m &= m - 1;
        Some(b)
    })
}

/// Draws the `random` allocator's frame: any 4 KiB frame of [`RAM_BYTES`] but the old table.
pub fn draw_table(next_u64: &mut impl FnMut() -> u64) -> u64 {
    let frames = RAM_BYTES >> PAGE_SHIFT;
    let old = OLD_TABLE >> PAGE_SHIFT;
    let f = ((next_u64() as u128 * (frames - 1) as u128) >> 64) as u64;
    (if f >= old { f + 1 } else { f }) << PAGE_SHIFT
}

/// The populator's table for `same-low` and `same-frame`; for `random`, a placeholder
/// that each run replaces with a drawn frame.
pub fn default_table(alloc: Alloc) -> u64 {
    match alloc {
        Alloc::SameLow => SAME_LOW_TABLE,
        Alloc::SameFrame => OLD_TABLE,
        Alloc::Random => 0x0_0fed_c000,
    }
}

/// The machine for one configuration.
#[derive(Clone, Debug)]
pub struct Machine {
    /// The program's code, inline: the dispatch of every step loads from it, and a
    /// pointer chase to reach it cost a tenth of the step rate.
    code: [Instr; 256],
    cfg: Config,
    prog: Arc<Program>,
    cpus: u8,
    reader_mask: u64,
    flush_targets: u64,
    sync_targets: u64,
    split_clear: bool,
    split_set: bool,
    same_frame: bool,
    /// `kvm-pv-flush`: readers' vCPUs may be preempted, and the flush skips them.
    kvm: bool,
    /// Some reader is not bracketed by `local_irq_save()`/`local_irq_restore()`, or takes
    /// the PTL: the `busy` and `at_lock` masks are kept. Constant per machine, so the
    /// branches on it are always predicted.
    generic: bool,
    drain: bool,
    new_addr: u64,
    new: Pmd,
    history: [Pmd; 5],
    history_len: u8,
    st: State,
}

impl Machine {
    /// A machine at its initial state, running the program of `cfg`'s scenario (its own,
    /// or the built-in file for its sync placement). With `drain`, readers stop starting
    /// new iterations once the collapser and the populator are done, so a run ends;
    /// without it (the checker) readers loop forever.
    pub fn new(cfg: &Config, drain: bool) -> Result<Machine, ConfigError> {
        cfg.validate()?;
        let prog = Arc::new(crate::scenario::program_for(cfg)?);
        Machine::with_program(cfg, prog, drain)
    }

    /// A machine for a program already compiled for `cfg`.
    pub fn with_program(
        cfg: &Config,
        prog: Arc<Program>,
        drain: bool,
    ) -> Result<Machine, ConfigError> {
        cfg.validate()?;
        let cpus = cfg.cpu_count() as u8;
        let all = if cpus == 64 {
            u64::MAX
        } else {
            (1u64 << cpus) - 1
        };
        let reader_mask = ((1u64 << cfg.readers) - 1) << FIRST_READER;
        let mm_cpumask_others = (1u64 << POPULATOR)
            | if cfg.reader == ReaderKind::GupFast {
                reader_mask
            } else {
                0
            };
        let generic = (FIRST_READER..cpus)
            .filter(|&c| reader_mask >> c & 1 == 1)
            .any(|c| !bracketed(&prog, c));
        let new_addr = default_table(cfg.alloc);
        let mut m = Machine {
            code: *prog.code,
            cfg: cfg.clone(),
            cpus,
            reader_mask,
            flush_targets: if matches!(cfg.mode, Mode::XenPv | Mode::HyperV) {
                0
            } else {
                mm_cpumask_others
            },
            sync_targets: all & !(1 << COLLAPSER),
            split_clear: cfg.clear == ClearKind::SplitLowFirst,
            split_set: cfg.set == SetKind::SplitHighFirst,
            same_frame: cfg.alloc == Alloc::SameFrame,
            kvm: cfg.mode == Mode::KvmPvFlush,
            generic,
            drain,
            new_addr,
            new: Pmd::default(),
            history: [Pmd::default(); 5],
            history_len: 0,
            st: State {
                pmd: Pmd::default(),
                ver: 0,
                ptl: NO_CPU,
                irq_off: 0,
                pending: 0,
                qs: 0,
                preempted: 0,
                ipi: IpiKind::Flush,
                flush_sent_ipi: false,
                installed: false,
                allocated: false,
                old_table: TableState::Live,
                pc: [DONE; 64],
                regs: vec![Regs::START; cfg.readers as usize],
                writers: 0,
                gate: u64::MAX,
                busy: 0,
                at_lock: 0,
                cur: [Instr::DONE; 64],
            },
            prog,
        };
        m.reset(new_addr);
        Ok(m)
    }

    /// Back to the initial state, with the populator's new table at `new_addr`.
    pub fn reset(&mut self, new_addr: u64) {
        let old = Pmd::table(OLD_TABLE);
        if new_addr != self.new_addr || self.history_len == 0 {
            self.new_addr = new_addr;
            self.new = Pmd::table(new_addr);
            // The PMD's values in order. Every write is known in advance because the
            // compiler admits one clear in khugepaged and one populate, over a none
            // PMD, in the fault: the PMD goes old -> none -> new.
            let mut h = [Pmd::default(); 5];
            let mut n = 0;
            let mut push = |p| {
                h[n] = p;
                n += 1;
            };
            push(old);
            if self.split_clear {
                push(Pmd {
                    low: 0,
                    high: old.high,
                });
            }
            push(Pmd::default());
            if self.split_set {
                push(Pmd {
                    low: 0,
                    high: self.new.high,
                });
            }
            push(self.new);
            self.history = h;
            self.history_len = n as u8;
        }
        let st = &mut self.st;
        st.pmd = old;
        st.ver = 0;
        st.ptl = NO_CPU;
        st.irq_off = 0;
        st.pending = 0;
        st.qs = 0;
        st.preempted = 0;
        st.ipi = IpiKind::Flush;
        st.flush_sent_ipi = false;
        st.installed = false;
        st.allocated = false;
        st.old_table = TableState::Live;
        st.pc[..self.prog.entry.len()].copy_from_slice(&self.prog.entry);
        st.regs.fill(Regs::START);
        self.rederive();
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }
    /// The compiled program this machine runs.
    pub fn program(&self) -> &Arc<Program> {
        &self.prog
    }
    pub fn cpus(&self) -> u8 {
        self.cpus
    }
    pub fn state(&self) -> &State {
        &self.st
    }
    /// The op `cpu` runs next ([`Op::Done`] for a finished writer or an idle CPU).
    #[inline]
    pub fn op(&self, cpu: u8) -> Op {
        self.st.cur[cpu as usize & 63].op
    }

    /// Moves `cpu` to `pc`.
    #[inline(always)]
    fn goto(&mut self, cpu: u8, pc: u8) {
        self.st.pc[cpu as usize & 63] = pc;
        self.st.cur[cpu as usize & 63] = self.code[pc as usize];
    }
    /// Replaces the dynamic state (the checker restores states it has stored). Only the
    /// public fields matter; the derived ones are recomputed.
    pub fn set_state(&mut self, st: State) {
        self.st = st;
        self.rederive();
    }
    /// Goes back to a state this machine was in (derived fields and all), as the
    /// checker does between the choices it expands from one state.
    pub(crate) fn restore(&mut self, saved: &State) {
        self.st.copy_from(saved);
    }
    /// Edits the public fields of the state in place, then recomputes the derived ones.
    pub fn edit_state(&mut self, f: impl FnOnce(&mut State)) {
        f(&mut self.st);
        self.rederive();
    }
    /// The populator's new table.
    pub fn new_table(&self) -> u64 {
        self.new_addr
    }
    /// Every value the PMD takes in a run, in order; `state().ver` indexes it.
    pub fn history(&self) -> &[Pmd] {
        &self.history[..self.history_len as usize]
    }
    pub fn reader_mask(&self) -> u64 {
        self.reader_mask
    }
    /// CPUs the native TLB flush sends IPIs to (none under Xen PV).
    pub fn flush_targets(&self) -> u64 {
        self.flush_targets
    }
    pub fn sync_targets(&self) -> u64 {
        self.sync_targets
    }
    pub fn effective_sync(&self) -> SyncPlacement {
        self.cfg.effective_sync()
    }

    pub fn role(&self, cpu: u8) -> Role {
        match cpu {
            COLLAPSER => Role::Collapser,
            POPULATOR => Role::Populator,
            c if (self.reader_mask >> c) & 1 == 1 => Role::Reader,
            _ => Role::Idle,
        }
    }

    /// Readers inside an iteration of their block.
    #[inline(always)]
    pub fn busy(&self) -> u64 {
        if self.generic {
            self.busy_as::<true>()
        } else {
            self.busy_as::<false>()
        }
    }

    /// [`Machine::busy`] for a machine whose `generic` is `G`.
    #[inline(always)]
    fn busy_as<const G: bool>(&self) -> u64 {
        if G {
            self.st.busy
        } else {
            self.st.irq_off & self.reader_mask
        }
    }

    /// Whether this machine keeps the `busy` and `at_lock` masks (some reader is not
    /// bracketed by `local_irq_save()`/`local_irq_restore()`, or takes the PTL). The
    /// run loop picks [`Machine::step_as`] and [`Machine::enabled_as`] by it once per
    /// run, so the common bracketed readers pay nothing for the general case.
    #[inline]
    pub fn is_generic(&self) -> bool {
        self.generic
    }

    /// Whether `addr` is a page table that is allocated right now.
    #[inline(always)]
    fn table_live(&self, addr: u64) -> bool {
        ((addr == self.new_addr) & self.st.allocated)
            | ((addr == OLD_TABLE) & (self.st.old_table != TableState::Freed))
    }

    /// Which writers can step, from first principles. Boolean `&`/`|`, not `&&`/`||`:
    /// this runs after every writer step and short-circuit branches mispredicted.
    fn writers_now(&self) -> u64 {
        let st = &self.st;
        let free = st.ptl == NO_CPU;
        let (c, p) = (self.op(COLLAPSER), self.op(POPULATOR));
        // A CPU that sent IPIs waits for them: only the collapser sends.
        let c_ok = (c != Op::Done) & (st.pending == 0) & ((c != Op::Lock) | free);
        // The allocator can only hand back the old frame once it is free.
        let alloc_ok = !self.same_frame | (st.old_table == TableState::Freed);
        let p_ok = (p != Op::Done) & ((p != Op::Lock) | free) & ((p != Op::Alloc) | alloc_ok);
        (c_ok as u64) << COLLAPSER | (p_ok as u64) << POPULATOR
    }

    /// Recomputes the writer mask and the gate. Called by the steps that can change
    /// them: writer steps, acknowledgements, and the quiescent state that frees the old
    /// table.
    #[inline]
    fn refresh(&mut self) {
        self.st.writers = self.writers_now();
        self.st.gate = if self.drain && self.writers_done() {
            0
        } else {
            u64::MAX
        };
    }

    /// Recomputes every derived field from the public ones.
    fn rederive(&mut self) {
        // CPUs past the machine's count stay idle ([`DONE`]) from construction on.
        for c in 0..self.cpus as usize {
            self.st.cur[c] = self.code[self.st.pc[c] as usize];
        }
        if self.generic {
            let (mut busy, mut at_lock) = (0, 0);
            for c in FIRST_READER..self.cpus {
                if self.reader_mask >> c & 1 == 1 {
                    let pc = self.st.pc[c as usize];
                    busy |= ((pc != self.prog.entry[c as usize]) as u64) << c;
                    at_lock |= ((self.code[pc as usize].op == Op::Lock) as u64) << c;
                }
            }
            self.st.busy = busy;
            self.st.at_lock = at_lock;
        }
        self.refresh();
    }

    /// The collapser and the populator have finished.
    #[inline]
    pub fn writers_done(&self) -> bool {
        (self.st.collapser() == DONE) & (self.st.populator() == DONE)
    }

    /// The run is over: writers done and no reader inside an iteration.
    #[inline]
    pub fn finished(&self) -> bool {
        self.writers_done() && self.busy() == 0
    }

    /// The choices the scheduler may make now.
    #[inline(always)]
    pub fn enabled(&self) -> Enabled {
        if self.generic {
            self.enabled_as::<true>()
        } else {
            self.enabled_as::<false>()
        }
    }

    /// [`Machine::enabled`], for a machine whose [`Machine::is_generic`] is `G`.
    #[inline(always)]
    pub fn enabled_as<const G: bool>(&self) -> Enabled {
        debug_assert_eq!(G, self.generic);
        let st = &self.st;
        debug_assert_eq!(
            st.writers,
            self.writers_now(),
            "stale writer mask in {st:?}"
        );
        // Readers always may step, except that a draining run starts no new iteration
        // and a reader spins while another CPU holds the PTL it wants.
        let mut readers = self.reader_mask & (self.busy_as::<G>() | st.gate);
        if G {
            readers &= !(st.at_lock & ((st.ptl != NO_CPU) as u64).wrapping_neg());
        }
        let mut en = Enabled {
            prog: readers | st.writers,
            ack: st.pending & !st.irq_off,
        };
        if self.kvm {
            // A reader's "ack" choice is the host's: resume it if preempted, else
            // deliver its IPI if it can take one, else preempt it (not once a draining
            // run's writers are done, so that runs end).
            let r = self.reader_mask;
            let can_ack = st.pending & !st.irq_off;
            en.prog &= !st.preempted;
            en.ack = (can_ack & !st.preempted)
                | (r & st.preempted)
                | (r & !st.preempted & !can_ack & st.gate);
        }
        en
    }

    /// Why `ch` cannot be taken now, or `None` if it can.
    pub fn why_disabled(&self, ch: Choice) -> Option<String> {
        let st = &self.st;
        if ch.cpu >= self.cpus {
            return Some(format!(
                "there is no CPU{} (the machine has {} CPUs)",
                ch.cpu, self.cpus
            ));
        }
        let bit = 1u64 << ch.cpu;
        if ch.ack && self.kvm && self.reader_mask & bit != 0 {
            return if self.enabled().contains(ch) {
                None
            } else {
                Some(format!(
                    "the host does not preempt CPU{} once the collapse is over",
                    ch.cpu
                ))
            };
        }
        if ch.ack {
            return if st.pending & bit == 0 {
                Some(format!("CPU{} has no IPI pending", ch.cpu))
            } else if st.irq_off & bit != 0 {
                Some(format!("CPU{} has interrupts disabled", ch.cpu))
            } else {
                None
            };
        }
        if self.enabled().contains(ch) {
            return None;
        }
        let op = self.op(ch.cpu);
        if st.preempted & bit != 0 {
            return Some(format!("CPU{} is preempted by the host", ch.cpu));
        }
        Some(match self.role(ch.cpu) {
            Role::Idle => format!("CPU{} is idle: it only acknowledges IPIs", ch.cpu),
            Role::Reader if op == Op::Lock && st.ptl != NO_CPU => {
                format!("CPU{} is spinning on the PTL held by CPU{}", ch.cpu, st.ptl)
            }
            Role::Reader => format!(
                "CPU{} has finished: the collapse is over and it is outside a read",
                ch.cpu
            ),
            Role::Collapser if op == Op::Done => "the collapser has finished".into(),
            Role::Populator if op == Op::Done => "the populator has finished".into(),
            Role::Collapser if st.pending != 0 => {
                "the collapser is waiting for IPI acknowledgements".into()
            }
            Role::Populator if op == Op::Alloc => {
                "the populator waits for the old frame to be freed (alloc=same-frame)".into()
            }
            _ => format!("CPU{} is spinning on the PTL held by CPU{}", ch.cpu, st.ptl),
        })
    }

    /// Takes one step. `ch` must be enabled; the caller checks (see [`Machine::try_step`]).
    ///
    /// Every program step is one arm of one `match` on the op at the CPU's pc: under a
    /// random schedule the kind of the next step is unpredictable, and each extra branch
    /// on it (reader or not, which role, which op) cost a mispredict; one dispatch halved
    /// them. The program only says where each outcome goes next.
    #[inline(always)]
    pub fn step(&mut self, ch: Choice) -> Effect {
        if self.generic {
            self.step_as::<true>(ch)
        } else {
            self.step_as::<false>(ch)
        }
    }

    /// [`Machine::step`], for a machine whose [`Machine::is_generic`] is `G`.
    #[inline(always)]
    pub fn step_as<const G: bool>(&mut self, ch: Choice) -> Effect {
        debug_assert_eq!(G, self.generic);
        debug_assert!(self.enabled().contains(ch), "{ch:?} is not enabled");
        let cpu = ch.cpu;
        let bit = 1u64 << cpu;
        let mut e = Effect {
            kind: ActionKind::Ack,
            flags: 0,
            ipis: 0,
            v1: 0,
            v2: 0,
            wide: 0,
        };
        if ch.ack && self.kvm && self.reader_mask & bit != 0 {
            if self.st.preempted & bit != 0 {
                self.st.preempted &= !bit;
                e.kind = ActionKind::Resume;
                // A yield, so PCT does not toggle one vCPU forever.
                e.flags = flag::YIELD;
                return e;
            }
            if self.st.pending & !self.st.irq_off & bit == 0 {
                self.st.preempted |= bit;
                e.kind = ActionKind::Preempt;
                e.flags = flag::YIELD;
                return e;
            }
        }
        if ch.ack {
            self.st.pending &= !bit;
            e.flags = (self.st.ipi == IpiKind::Sync) as u8 * flag::SYNC;
            self.refresh();
            return e;
        }
        let pmd = self.st.pmd;
        // The reader arms below load their registers themselves (`slot`): a writer's step
        // should not pay for a reader's load.
        let ins = self.st.cur[cpu as usize & 63];
        let mut next = ins.next;
        match ins.op {
            Op::Lock => {
                self.st.ptl = cpu;
                e.kind = ActionKind::PtlLock;
                self.goto(cpu, next);
                self.refresh();
                self.reader_tail::<G>(cpu, next, bit);
                return e;
            }
            Op::Unlock => {
                // Inside `do { … } while (!installed)`, the unlock loops back.
                let retry = !self.st.installed & (ins.alt != ins.next);
                next = if retry { ins.alt } else { ins.next };
                self.st.ptl = NO_CPU;
                e.kind = ActionKind::PtlUnlock;
                e.flags = retry as u8 * (flag::RETRY | flag::YIELD);
                self.goto(cpu, next);
                self.refresh();
                self.reader_tail::<G>(cpu, next, bit);
                return e;
            }
            Op::Clear => {
                self.write_pmd(Pmd::default());
                e.kind = ActionKind::Clear;
            }
            Op::ClearLow => {
                self.write_pmd(Pmd {
                    low: 0,
                    high: pmd.high,
                });
                e.kind = ActionKind::ClearLow;
            }
            Op::ClearHigh => {
                self.write_pmd(Pmd::default());
                e.kind = ActionKind::ClearHigh;
            }
            Op::Flush => {
                // kvm_flush_tlb_multi() skips preempted vCPUs, marking them to flush
                // on resume, instead of waiting for them.
                let targets = self.flush_targets & !self.st.preempted;
                let sent = targets != 0;
                // pmdp_collapse_flush_sync() skips the sync when the flush sent IPIs.
                next = if sent { ins.next } else { ins.alt };
                if sent {
                    // Native: IPI the CPUs in mm_cpumask and wait for them.
                    self.send_ipi(targets, IpiKind::Flush, &mut e);
                    self.st.flush_sent_ipi = true;
                    e.kind = ActionKind::FlushIpi;
                } else {
                    // Xen PV: a hypercall that no guest IRQ handler sees.
                    e.kind = ActionKind::FlushHypercall;
                }
                self.goto(cpu, next);
                self.refresh();
                self.reader_tail::<G>(cpu, next, bit);
                return e;
            }
            Op::Sync => {
                self.send_ipi(self.sync_targets, IpiKind::Sync, &mut e);
                e.kind = ActionKind::SyncIpi;
                self.goto(cpu, next);
                self.refresh();
                self.reader_tail::<G>(cpu, next, bit);
                return e;
            }
            op @ (Op::FreeDefer | Op::FreeNow) => {
                // pte_free_defer() waits for every CPU inside an IRQ-off read to leave it.
                let waiting = if op == Op::FreeDefer {
                    self.st.irq_off & self.reader_mask
                } else {
                    0
                };
                self.st.qs = waiting;
                self.st.old_table = if waiting == 0 {
                    TableState::Freed
                } else {
                    TableState::FreeQueued
                };
                e.kind = ActionKind::Free;
                e.wide = waiting;
                self.goto(cpu, next);
                self.refresh();
                self.reader_tail::<G>(cpu, next, bit);
                return e;
            }
            Op::Alloc => {
                self.st.allocated = true;
                e.kind = ActionKind::Alloc;
                e.wide = self.new_addr;
                self.goto(cpu, next);
                self.refresh();
                self.reader_tail::<G>(cpu, next, bit);
                return e;
            }
            Op::CheckNone => {
                // Under the PTL no one else writes the PMD, so reading both halves is one step.
                let none = pmd == Pmd::default();
                next = if none { ins.next } else { ins.alt };
                e.kind = ActionKind::CheckNone;
                e.flags = none as u8 * flag::NONE;
            }
            Op::Set => {
                self.write_pmd(self.new);
                self.st.installed = true;
                e.kind = ActionKind::Set;
            }
            Op::SetHigh => {
                self.write_pmd(Pmd {
                    low: 0,
                    high: self.new.high,
                });
                e.kind = ActionKind::SetHigh;
            }
            Op::SetLow => {
                self.write_pmd(self.new);
                self.st.installed = true;
                e.kind = ActionKind::SetLow;
            }

            // Readers. Registers dead at the next pc are zeroed, so equal states compare
            // equal.
            Op::IrqOff => {
                self.st.irq_off |= bit;
                e.kind = ActionKind::IrqOff;
            }
            Op::LoadLow => {
                let slot = self.slot(cpu);
                let r = self.st.regs[slot];
                // The first load of a read notes the PMD version, for the torn check.
                let rg = &mut self.st.regs[slot];
                rg.first_ver = first_ver(r, self.st.ver);
                rg.low = pmd.low;
                e.kind = ActionKind::LoadLow;
                e.v1 = pmd.low;
            }
            Op::LoadHigh => {
                let slot = self.slot(cpu);
                let r = self.st.regs[slot];
                let rg = &mut self.st.regs[slot];
                rg.first_ver = first_ver(r, self.st.ver);
                rg.high = pmd.high;
                e.kind = ActionKind::LoadHigh;
                e.v1 = pmd.high;
            }
            Op::RecheckLow => {
                let slot = self.slot(cpu);
                let r = self.st.regs[slot];
                e.kind = ActionKind::ReloadLow;
                (e.v1, e.v2) = (pmd.low, r.high);
                next = if pmd.low != r.low {
                    self.retry(slot, r, ins, &mut e)
                } else {
                    self.end_read(
                        cpu,
                        ins,
                        Pmd {
                            low: r.low,
                            high: r.high,
                        },
                        r.first_ver,
                        &mut e,
                    )
                };
            }
            Op::RecheckHigh => {
                let slot = self.slot(cpu);
                let r = self.st.regs[slot];
                e.kind = ActionKind::ReloadHigh;
                (e.v1, e.v2) = (r.low, pmd.high);
                next = if pmd.high != r.high {
                    self.retry(slot, r, ins, &mut e)
                } else {
                    self.end_read(
                        cpu,
                        ins,
                        Pmd {
                            low: r.low,
                            high: r.high,
                        },
                        r.first_ver,
                        &mut e,
                    )
                };
            }
            Op::LoadLowEnd => {
                let slot = self.slot(cpu);
                let r = self.st.regs[slot];
                e.kind = ActionKind::LastLoadLow;
                let got = Pmd {
                    low: pmd.low,
                    high: r.high,
                };
                (e.v1, e.v2) = (got.low, got.high);
                next = self.end_read(cpu, ins, got, first_ver(r, self.st.ver), &mut e);
            }
            Op::LoadHighEnd => {
                let slot = self.slot(cpu);
                let r = self.st.regs[slot];
                e.kind = ActionKind::LastLoadHigh;
                let got = Pmd {
                    low: r.low,
                    high: pmd.high,
                };
                (e.v1, e.v2) = (got.low, got.high);
                next = self.end_read(cpu, ins, got, first_ver(r, self.st.ver), &mut e);
            }
            Op::Load64 => {
                e.kind = ActionKind::Load64;
                (e.v1, e.v2) = (pmd.low, pmd.high);
                e.flags = flag::READ;
                next = self.after_read(cpu, ins, pmd);
            }
            Op::Deref => {
                let slot = self.slot(cpu);
                let r = self.st.regs[slot];
                let addr = Pmd {
                    low: r.low,
                    high: r.high,
                }
                .addr();
                let stale =
                    ((addr == OLD_TABLE) | (addr == self.new_addr)) & !self.table_live(addr);
                self.st.regs[slot] = Regs::START;
                e.kind = ActionKind::Deref;
                e.wide = addr;
                e.flags = stale as u8 * flag::STALE;
            }
            Op::IrqOn => {
                self.st.irq_off &= !bit;
                e.kind = ActionKind::IrqOn;
                e.flags = flag::YIELD;
                // Enabling interrupts is a quiescent state; the last one a deferred free
                // waits for frees the old table.
                if self.st.qs & bit != 0 {
                    self.st.qs &= !bit;
                    if self.st.qs == 0 {
                        self.st.old_table = TableState::Freed;
                        e.flags |= flag::FREED;
                        self.goto(cpu, next);
                        self.refresh();
                    }
                }
            }
            // A finished CPU is never enabled (`enabled` says so, and debug builds check
            // it above); no panic path in the dispatch.
            Op::Done => {}
        }
        self.goto(cpu, next);
        self.reader_tail::<G>(cpu, next, bit);
        e
    }

    /// A reader's index into the readers' registers. Only readers' steps call it; the
    /// clamp lets the indexing that follows go without a panic path.
    #[inline(always)]
    fn slot(&self, cpu: u8) -> usize {
        (cpu.wrapping_sub(FIRST_READER) as usize).min(self.st.regs.len() - 1)
    }

    /// After a step of a generic machine's reader: its `busy` and `at_lock` bits, and the
    /// writers it may have let go (its unlock) or stopped (its lock). Nothing otherwise.
    /// The steps that already moved and refreshed return through here too, so that no
    /// step writes its pc twice.
    #[inline(always)]
    fn reader_tail<const G: bool>(&mut self, cpu: u8, next: u8, bit: u64) {
        if G && self.reader_mask & bit != 0 {
            // Away from the block's first line is inside an iteration.
            let away = (next != self.prog.entry[cpu as usize]) as u64;
            let lock = (self.code[next as usize].op == Op::Lock) as u64;
            self.st.busy = self.st.busy & !bit | away << cpu;
            self.st.at_lock = self.st.at_lock & !bit | lock << cpu;
            self.refresh();
        }
    }

    /// Takes one step if `ch` is enabled, else says why not.
    pub fn try_step(&mut self, ch: Choice) -> Result<Action, String> {
        match self.why_disabled(ch) {
            None => Ok(self.step(ch).action()),
            Some(why) => Err(why),
        }
    }

    #[inline]
    fn write_pmd(&mut self, pmd: Pmd) {
        self.st.pmd = pmd;
        self.st.ver += 1;
        debug_assert_eq!(self.history[self.st.ver as usize], pmd);
    }

    fn send_ipi(&mut self, targets: u64, kind: IpiKind, e: &mut Effect) {
        self.st.pending |= targets;
        self.st.ipi = kind;
        e.wide = targets;
        e.ipis = targets.count_ones() as u8;
    }

    /// Whether the PMD held the present value `v` at some version in `first..=last`.
    ///
    /// The only present values in a run's history are the old table (version 0) and the
    /// new one (the last version): every other write leaves `pmd_low` zero. So two
    /// comparisons decide it.
    #[inline(always)]
    fn held_present(&self, first: u8, last: u8, v: Pmd) -> bool {
        let last_ver = self.history_len - 1;
        ((v.value() == self.history[0].value()) & (first == 0))
            | ((v.value() == self.new.value()) & (last == last_ver))
    }

    /// A re-check saw the word change: back to the read's first load, keeping the
    /// version of its first load.
    #[inline(always)]
    fn retry(&mut self, slot: usize, r: Regs, ins: Instr, e: &mut Effect) -> u8 {
        e.flags = flag::RETRY;
        self.st.regs[slot] = Regs {
            low: 0,
            high: 0,
            first_ver: r.first_ver,
        };
        ins.alt
    }

    /// A split read returned `got`: the torn check, then as [`Machine::after_read`].
    #[inline(always)]
    fn end_read(&mut self, cpu: u8, ins: Instr, got: Pmd, first_ver: u8, e: &mut Effect) -> u8 {
        // Torn: present, and never the PMD's value from this read's first load to now.
        let torn = got.present() & !self.held_present(first_ver, self.st.ver, got);
        e.flags = flag::READ | (torn as u8 * flag::TORN);
        self.after_read(cpu, ins, got)
    }

    /// A read returned `v`: a present value goes on to the `pte_offset_map()` that
    /// follows (keeping it in the registers), a none one skips it.
    #[inline(always)]
    fn after_read(&mut self, cpu: u8, ins: Instr, v: Pmd) -> u8 {
        let slot = self.slot(cpu);
        let keep = v.present() & (ins.skip != ins.next);
        self.st.regs[slot] = if keep {
            Regs {
                low: v.low,
                high: v.high,
                first_ver: NO_VER,
            }
        } else {
            Regs::START
        };
        if v.present() {
            ins.next
        } else {
            ins.skip
        }
    }
}

/// The PMD version a read's first load noted, or `ver` if this is its first load.
#[inline(always)]
fn first_ver(r: Regs, ver: u8) -> u8 {
    if r.first_ver == NO_VER {
        ver
    } else {
        r.first_ver
    }
}

/// Whether `cpu`'s block starts with `local_irq_save()`, ends with `local_irq_restore()`
/// (the only way back to its first line), touches interrupts nowhere else and takes no
/// lock: then "inside an iteration" is "interrupts off".
fn bracketed(p: &Program, cpu: u8) -> bool {
    let b = p.block_of[cpu as usize];
    let (s, e) = p.blocks[b as usize];
    let code = &p.code[s as usize..e as usize];
    let n = code.len();
    n >= 2
        && code[0].op == Op::IrqOff
        && code[n - 1].op == Op::IrqOn
        && code.iter().enumerate().all(|(i, ins)| {
            let irq_ok = match ins.op {
                Op::IrqOff => i == 0,
                Op::IrqOn => i == n - 1,
                Op::Lock | Op::Unlock => false,
                _ => true,
            };
            let back = [ins.next, ins.alt, ins.skip].contains(&s);
            irq_ok && (!back || i == n - 1)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::*;

    #[test]
    fn each_cpu_has_its_role_and_ipis_are_counted() {
        let m = machine(|c| {
            c.readers = 3;
            c.cpus = Some(7);
        });
        let roles: Vec<Role> = (0..7).map(|c| m.role(c)).collect();
        assert_eq!(
            roles,
            [
                Role::Collapser,
                Role::Populator,
                Role::Reader,
                Role::Reader,
                Role::Reader,
                Role::Idle,
                Role::Idle
            ]
        );
        assert_eq!(Action::FlushIpi { targets: 0b1011 }.ipis_sent(), 3);
        assert_eq!(Action::SyncIpi { targets: 0b110 }.ipis_sent(), 2);
        assert_eq!(Action::Clear.ipis_sent(), 0);
        // Under kvm-pv-flush a reader's "ack" is the host's choice, but the populator's
        // and an idle CPU's are plain IPI acknowledgements.
        let m = machine(|c| {
            c.mode = Mode::KvmPvFlush;
            c.cpus = Some(4);
        });
        for cpu in [1, 3] {
            let why = m.why_disabled(Choice::ack(cpu)).unwrap();
            assert!(why.contains("has no IPI pending"), "CPU{cpu}: {why}");
        }
    }

    /// Who the flush's and the sync's IPIs go to: the sync to every CPU but the
    /// collapser; the native flush to `mm_cpumask` (the populator, and the readers if they
    /// are gup_fast), and to no one where a hypercall flushes.
    #[test]
    fn ipi_targets_follow_the_mode_and_mm_cpumask() {
        for (mode, reader, flush) in [
            (Mode::NativePae, ReaderKind::GupFast, 0b11110),
            (Mode::NativePae, ReaderKind::Walker, 0b00010),
            (Mode::KvmPvFlush, ReaderKind::GupFast, 0b11110),
            (Mode::XenPv, ReaderKind::GupFast, 0),
            (Mode::HyperV, ReaderKind::GupFast, 0),
        ] {
            let m = machine(|c| {
                (c.mode, c.reader, c.readers, c.cpus) = (mode, reader, 3, Some(6));
            });
            assert_eq!(m.flush_targets(), flush, "{mode} {reader:?}");
            assert_eq!(m.sync_targets(), 0b111110, "{mode} {reader:?}");
        }
    }

    fn machine(f: impl FnOnce(&mut Config)) -> Machine {
        let mut c = Config {
            readers: 1,
            ..Config::default()
        };
        f(&mut c);
        Machine::new(&c, true).unwrap()
    }

    fn run(m: &mut Machine, choices: &[(u8, bool)]) -> Vec<Action> {
        choices
            .iter()
            .map(|&(cpu, ack)| m.try_step(Choice { cpu, ack }).unwrap())
            .collect()
    }

    const C: (u8, bool) = (0, false);
    const P: (u8, bool) = (1, false);
    const R: (u8, bool) = (2, false);

    /// The fields a step keeps current instead of recomputing (`writers`, `gate`, the
    /// generic readers' `busy` and `at_lock`, each CPU's instruction) equal a
    /// recomputation from the public state after every step of random runs of every
    /// built-in scenario, in every mode it runs in, with 1 to 3 readers.
    #[test]
    fn maintained_fields_equal_a_recomputation_after_every_step() {
        use crate::config::Mode;
        use crate::sched::Rng;
        let mut rng = Rng::new(11);
        let mut machines = 0;
        for (name, src) in crate::scenario::BUILTIN {
            let (_, base) = crate::scenario::load(src).unwrap();
            for &mode in Mode::ALL {
                for readers in 1..=3 {
                    let cfg = Config {
                        mode,
                        readers,
                        cpus: None,
                        ..base.clone()
                    };
                    let Ok(mut m) = Machine::new(&cfg, true) else {
                        continue;
                    };
                    machines += 1;
                    let table = m.new_table();
                    let fresh = m.clone();
                    for _ in 0..20 {
                        m.reset(table);
                        for step in 0..400 {
                            let en = m.enabled();
                            if en.is_empty() {
                                break;
                            }
                            let e = m.step(en.nth(rng.below(en.count())));
                            // And the step's effect survives its conversion to an action.
                            assert_eq!(Effect::from(e.action()), e, "{name} {mode:?}");
                            let mut again = fresh.clone();
                            again.set_state(m.state().clone());
                            assert_eq!(again.state(), m.state(), "{name} {mode:?} step {step}");
                        }
                    }
                }
            }
        }
        assert!(machines > 3 * crate::scenario::BUILTIN.len(), "{machines}");
    }

    /// Readers bracketed by local_irq_save()/local_irq_restore() run the fast path; a
    /// reader that takes the PTL, or leaves interrupts off, or never disables them,
    /// makes the machine generic.
    #[test]
    fn only_bracketed_readers_take_the_fast_path() {
        for (name, src) in crate::scenario::BUILTIN {
            let (_, cfg) = crate::scenario::load(src).unwrap();
            let m = Machine::new(&cfg, false).unwrap();
            let takes_the_ptl = ["ptl-reader", "irq-off-ptl-deadlock"].contains(name);
            assert_eq!(m.is_generic(), takes_the_ptl, "{name}");
        }
        let merged = crate::scenario::builtin_source("merged").unwrap();
        let lines = |l: &[&str]| l.iter().map(|l| format!("    {l}\n")).collect::<String>();
        let (save, get, map, restore) = (
            "local_irq_save();",
            "pmdp_get_lockless();",
            "pte_offset_map();",
            "local_irq_restore();",
        );
        let block = lines(&[save, get, map, restore]);
        assert!(merged.contains(&block));
        for (other, generic) in [
            (
                lines(&[save, get, map, restore, save, get, map, restore]),
                true,
            ),
            (lines(&[get, map]), true),
            (block.clone(), false),
        ] {
            let (_, cfg) = crate::scenario::load(&merged.replace(&block, &other)).unwrap();
            let m = Machine::new(&cfg, false).unwrap();
            assert_eq!(m.is_generic(), generic, "{other}");
        }
    }

    /// Once a drained run is over, a reader outside a read says it has finished.
    #[test]
    fn a_reader_after_the_collapse_says_it_has_finished() {
        let mut m = Machine::new(&crate::preset("merged").unwrap().config, true).unwrap();
        let mut n = 0;
        while !m.finished() {
            // The writers first, acknowledgements next, readers last.
            let en = m.enabled();
            m.step(
                en.iter()
                    .min_by_key(|c| (c.cpu >= FIRST_READER && !c.ack, c.cpu))
                    .unwrap(),
            );
            n += 1;
            assert!(n < 1000);
        }
        let why = m.why_disabled(Choice::prog(FIRST_READER)).unwrap();
        assert!(why.contains("CPU2 has finished"), "{why}");
        let why = m.why_disabled(Choice::prog(COLLAPSER)).unwrap();
        assert!(why.contains("the collapser has finished"), "{why}");
        let why = m.why_disabled(Choice::prog(POPULATOR)).unwrap();
        assert!(why.contains("the populator has finished"), "{why}");
    }

    /// Why a CPU cannot step: an idle CPU only acknowledges IPIs.
    #[test]
    fn an_idle_cpu_says_it_is_idle() {
        let m = machine(|c| c.cpus = Some(5));
        let why = m.why_disabled(Choice::prog(4)).unwrap();
        assert!(why.contains("CPU4 is idle"), "{why}");
        let why = m.why_disabled(Choice::prog(5)).unwrap();
        assert!(why.contains("no CPU5"), "{why}");
    }

    /// A read whose last load is one half says which half it was.
    #[test]
    fn a_reads_last_load_names_its_half() {
        // The half the reader's third step (after local_irq_save() and one half) loads
        // last, if it is a read's last load.
        let last = |src: &str| {
            let (_, cfg) = crate::scenario::load(src).unwrap();
            let mut m = Machine::new(&cfg, true).unwrap();
            let a: Vec<Action> = (0..3)
                .map(|_| m.step(Choice::prog(FIRST_READER)).action())
                .collect();
            match a[2] {
                Action::LastLoad { half, .. } => Some(half),
                _ => None,
            }
        };
        let src = crate::scenario::builtin_source("no-recheck").unwrap();
        assert_eq!(last(src), Some(Half::High));
        let swapped = src
            .replace("read_pmd_low();", "read_pmd_x();")
            .replace("read_pmd_high();", "read_pmd_low();")
            .replace("read_pmd_x();", "read_pmd_high();");
        assert_eq!(last(&swapped), Some(Half::Low));
    }

    /// A reader that takes the PTL spins only while another CPU holds it: it may take
    /// a free PTL, waits while the collapser holds it, and goes on once it holds it.
    #[test]
    fn a_ptl_taking_reader_spins_only_while_another_cpu_holds_the_ptl() {
        let src = crate::scenario::builtin_source("ptl-reader").unwrap();
        let (_, cfg) = crate::scenario::load(src).unwrap();
        let mut m = Machine::new(&cfg, true).unwrap();
        let step = |cpu| Choice { cpu, ack: false };
        let (c, r, other) = (step(COLLAPSER), step(FIRST_READER), step(FIRST_READER + 1));
        assert!(m.enabled().contains(r), "a free PTL");
        m.try_step(c).unwrap();
        assert_eq!(m.state().ptl, COLLAPSER);
        assert!(!m.enabled().contains(r), "the collapser holds the PTL");
        let why = m.why_disabled(r).unwrap();
        assert!(
            why.contains("CPU2 is spinning on the PTL held by CPU0"),
            "{why}"
        );
        while m.state().ptl == COLLAPSER {
            m.try_step(c).unwrap();
        }
        assert!(m.enabled().contains(r), "the collapser let go");
        m.try_step(r).unwrap();
        assert_eq!(m.state().ptl, FIRST_READER);
        assert!(m.enabled().contains(r), "the holder goes on");
        assert!(!m.enabled().contains(other), "the other reader spins");
    }

    #[test]
    fn pmd_encoding_matches_x86() {
        let p = Pmd::table(OLD_TABLE);
        assert_eq!(
            p,
            Pmd {
                low: 0x3a5f_e067,
                high: 1
            }
        );
        assert_eq!(p.addr(), OLD_TABLE);
        assert_eq!(Pmd::table(SAME_LOW_TABLE).low, p.low);
        assert!(!Pmd::default().present());
    }

    #[test]
    fn a_quiet_read_returns_the_old_table() {
        let mut m = machine(|_| {});
        let a = run(&mut m, &[R, R, R, R, R, R]);
        assert_eq!(a[0], Action::IrqOff);
        assert_eq!(a[1], Action::LoadLow { value: 0x3a5f_e067 });
        assert_eq!(a[2], Action::LoadHigh { value: 1 });
        assert_eq!(
            a[3],
            Action::ReloadLow {
                low: 0x3a5f_e067,
                high: 1,
                retry: false,
                torn: false
            }
        );
        assert_eq!(
            a[4],
            Action::Deref {
                addr: OLD_TABLE,
                stale: false
            }
        );
        assert_eq!(a[5], Action::IrqOn { freed: false });
        assert_eq!(m.state().irq_off, 0);
    }

    #[test]
    fn collapser_program_follows_the_placement() {
        use Op::*;
        let order = |sync, mode| {
            let mut m = machine(|c| {
                c.sync = sync;
                c.mode = mode;
            });
            let mut pcs = vec![];
            while m.state().collapser() != DONE {
                pcs.push(m.op(COLLAPSER));
                m.step(Choice::prog(0)).action();
                // Acknowledge everything so the collapser can go on.
                for cpu in bits(m.state().pending).collect::<Vec<_>>() {
                    m.step(Choice::ack(cpu)).action();
                }
            }
            pcs
        };
        assert_eq!(
            order(SyncPlacement::UnderPtl, Mode::XenPv),
            [Lock, Clear, Flush, Sync, Unlock, FreeDefer]
        );
        assert_eq!(
            order(SyncPlacement::AfterUnlock, Mode::XenPv),
            [Lock, Clear, Flush, Unlock, Sync, FreeDefer]
        );
        assert_eq!(
            order(SyncPlacement::None, Mode::XenPv),
            [Lock, Clear, Flush, Unlock, FreeDefer]
        );
        // The skip: native flush sent IPIs, so no sync; Xen's hypercall sent none, so sync.
        assert_eq!(
            order(SyncPlacement::FlushSyncSkip, Mode::NativePae),
            [Lock, Clear, Flush, Unlock, FreeDefer]
        );
        assert_eq!(
            order(SyncPlacement::FlushSyncSkip, Mode::XenPv),
            [Lock, Clear, Flush, Sync, Unlock, FreeDefer]
        );
        // Non-PAE: the sync is a no-op, whatever the placement.
        assert_eq!(
            order(SyncPlacement::UnderPtl, Mode::NonPae),
            [Lock, Clear, Flush, Unlock, FreeDefer]
        );
    }

    #[test]
    fn flush_reaches_mm_cpumask_only_and_sync_reaches_everyone() {
        let mut m = machine(|c| {
            c.reader = ReaderKind::Walker;
            c.cpus = Some(5);
        });
        run(&mut m, &[C, C]);
        assert_eq!(
            m.step(Choice::prog(0)).action(),
            Action::FlushIpi { targets: 0b10 }
        );
        assert!(
            !m.enabled().contains(Choice::prog(0)),
            "the sender waits for acks"
        );
        let why = m.why_disabled(Choice::prog(0)).unwrap();
        assert!(why.contains("waiting for IPI acknowledgements"), "{why}");
        assert_eq!(
            m.step(Choice::ack(1)).action(),
            Action::Ack {
                ipi: IpiKind::Flush
            }
        );
        assert_eq!(
            m.step(Choice::prog(0)).action(),
            Action::SyncIpi { targets: 0b11110 }
        );
        assert_eq!(
            m.step(Choice::ack(4)).action(),
            Action::Ack { ipi: IpiKind::Sync }
        );
        // No CPU 64 or beyond takes a step, whatever the masks say.
        let all = Enabled {
            prog: u64::MAX,
            ack: u64::MAX,
        };
        assert!(all.contains(Choice::ack(63)));
        assert!(!all.contains(Choice::prog(64)) && !all.contains(Choice::ack(200)));
        let mut g = machine(|c| c.reader = ReaderKind::GupFast);
        run(&mut g, &[C, C]);
        assert_eq!(
            g.step(Choice::prog(0)).action(),
            Action::FlushIpi { targets: 0b110 }
        );
        let mut x = machine(|c| c.mode = Mode::XenPv);
        run(&mut x, &[C, C]);
        assert_eq!(x.step(Choice::prog(0)).action(), Action::FlushHypercall);
        assert_eq!(x.state().pending, 0);
    }

    #[test]
    fn irqs_off_blocks_acks_and_ptl_spinning_does_not() {
        let mut m = machine(|c| c.mode = Mode::NativePae);
        run(&mut m, &[R, C, C, P, C]); // reader IRQs off; collapser locks, clears, flushes
        let e = m.enabled();
        assert_eq!(
            e.ack, 0b10,
            "populator acks, the reader with IRQs off cannot"
        );
        assert!(m
            .why_disabled(Choice::ack(2))
            .unwrap()
            .contains("interrupts disabled"));
        assert!(m
            .why_disabled(Choice::prog(1))
            .unwrap()
            .contains("spinning on the PTL"));
        assert!(m.why_disabled(Choice::prog(0)).unwrap().contains("waiting"));
    }

    #[test]
    fn aba_on_pmd_low_gives_a_torn_read() {
        // Xen PV, sync after unlock: the seed thread's race.
        let mut m = machine(|c| {
            c.mode = Mode::XenPv;
            c.sync = SyncPlacement::AfterUnlock;
        });
        let mut a = run(&mut m, &[R, R, C, C, C, R, C, P, P, P, P]);
        // reader: IRQs off, low (old); collapser: lock, clear, hypercall; reader: high (0);
        // collapser: unlock; populator: alloc, lock, check, set; reader: low again (same).
        let e = m.step(Choice::prog(R.0));
        assert_eq!(e.hazard(), Some(Hazard::Torn));
        a.push(e.action());
        assert_eq!(a[5], Action::LoadHigh { value: 0 });
        assert_eq!(
            a[11],
            Action::ReloadLow {
                low: 0x3a5f_e067,
                high: 0,
                retry: false,
                torn: true
            }
        );
        assert_eq!(a[11].hazard(), Some(Hazard::Torn));
    }

    #[test]
    fn a_changed_low_word_retries() {
        let mut m = machine(|c| {
            c.mode = Mode::XenPv;
            c.sync = SyncPlacement::AfterUnlock;
            c.alloc = Alloc::Random;
        });
        m.reset(0x0_1234_5000);
        let a = run(&mut m, &[R, R, C, C, C, R, C, P, P, P, P, R]);
        assert_eq!(
            a[11],
            Action::ReloadLow {
                low: 0x1234_5067,
                high: 0,
                retry: true,
                torn: false
            }
        );
        assert_eq!(m.op(2), Op::LoadLow);
    }

    #[test]
    fn same_value_aba_and_new_value_reads_are_not_torn() {
        // Reads (old low, new high) where new = (old low, new high): the PMD held it.
        let mut m = machine(|c| {
            c.mode = Mode::XenPv;
            c.sync = SyncPlacement::AfterUnlock;
        });
        let a = run(&mut m, &[R, R, C, C, C, C, P, P, P, P, R, R]);
        assert_eq!(
            a[11],
            Action::ReloadLow {
                low: 0x3a5f_e067,
                high: 2,
                retry: false,
                torn: false
            }
        );
    }

    #[test]
    fn deferred_free_waits_for_readers_and_immediate_free_goes_stale() {
        let play = |free| {
            let mut m = machine(|c| {
                c.mode = Mode::XenPv;
                c.sync = SyncPlacement::None;
                c.free = free;
            });
            // The reader reads the old value completely, then the collapse runs to the free.
            let mut a = run(&mut m, &[R, R, R, R, C, C, C, C, C]);
            a.extend(run(&mut m, &[R, R]));
            a
        };
        let d = play(FreeKind::RcuDeferred);
        assert_eq!(d[8], Action::Free { waiting: 0b100 });
        assert_eq!(
            d[9],
            Action::Deref {
                addr: OLD_TABLE,
                stale: false
            }
        );
        assert_eq!(d[10], Action::IrqOn { freed: true });
        let i = play(FreeKind::Immediate);
        assert_eq!(i[8], Action::Free { waiting: 0 });
        assert_eq!(
            i[9],
            Action::Deref {
                addr: OLD_TABLE,
                stale: true
            }
        );
    }

    #[test]
    fn same_frame_allocation_waits_for_the_free() {
        let mut m = machine(|c| {
            c.alloc = Alloc::SameFrame;
            c.mode = Mode::XenPv;
            c.sync = SyncPlacement::None;
        });
        assert!(m.why_disabled(Choice::prog(1)).unwrap().contains("freed"));
        run(&mut m, &[C, C, C, C, C]);
        assert_eq!(
            m.step(Choice::prog(1)).action(),
            Action::Alloc { addr: OLD_TABLE }
        );
    }

    #[test]
    fn populator_retries_until_the_pmd_is_none() {
        let mut m = machine(|_| {});
        let a = run(&mut m, &[P, P, P, P]);
        assert_eq!(a[2], Action::CheckNone { none: false });
        // The populator held the PTL at its check: the collapser, at its lock, spun.
        let mut held = machine(|_| {});
        run(&mut held, &[P, P]);
        let why = held.why_disabled(Choice::prog(COLLAPSER)).unwrap();
        assert!(why.contains("spinning on the PTL held by CPU1"), "{why}");
        assert_eq!(a[3], Action::PtlUnlock { retry: true });
        assert_eq!(m.op(POPULATOR), Op::Lock);
        // Once the collapser has cleared the PMD and let go of the PTL, it is none.
        for _ in 0..100 {
            if m.state().pmd == Pmd::default() && m.state().ptl == NO_CPU {
                break;
            }
            // The collapser when it can, else an acknowledgement it waits for (the
            // populator's too), else a reader.
            let ch = m.enabled().iter().filter(|c| c.ack || c.cpu != POPULATOR);
            m.step(ch.min_by_key(|c| (c.cpu != COLLAPSER, !c.ack)).unwrap());
        }
        let a = run(&mut m, &[P, P, P, P]);
        assert_eq!(a[1], Action::CheckNone { none: true });
        assert_eq!(a[2], Action::Set);
        assert_eq!(a[3], Action::PtlUnlock { retry: false });
    }

    #[test]
    fn split_writes_pass_through_half_values() {
        let mut m = machine(|c| {
            c.clear = ClearKind::SplitLowFirst;
            c.set = SetKind::SplitHighFirst;
        });
        let h = m.history().to_vec();
        assert_eq!(h.len(), 5);
        assert_eq!(h[1], Pmd { low: 0, high: 1 });
        assert_eq!(h[3], Pmd { low: 0, high: 2 });
        let a = run(&mut m, &[C, C, C]);
        assert_eq!(a[1..], [Action::ClearLow, Action::ClearHigh]);
        assert_eq!(m.state().pmd, Pmd::default());
    }

    /// A read that returns a non-present value (here the half-cleared PMD, low word
    /// gone) leaves nothing in the reader's registers: the pte_offset_map() it skips is
    /// the only step that would use them, and a state must not remember the value.
    #[test]
    fn a_non_present_read_clears_the_registers() {
        let mut m = machine(|c| c.clear = ClearKind::SplitLowFirst);
        let a = run(&mut m, &[C, C, R, R, R, R]);
        assert_eq!(
            a[5],
            Action::ReloadLow {
                low: 0,
                high: 1,
                retry: false,
                torn: false
            }
        );
        assert_eq!(m.state().regs[0], Regs::START);
        assert_eq!(
            m.state().cur[2].op,
            Op::IrqOn,
            "pte_offset_map() is skipped"
        );
    }

    #[test]
    fn non_pae_reads_in_one_load() {
        let mut m = machine(|c| c.mode = Mode::NonPae);
        let a = run(&mut m, &[R, R]);
        assert_eq!(
            a[1],
            Action::Load64 {
                low: 0x3a5f_e067,
                high: 1
            }
        );
    }

    #[test]
    fn drained_run_finishes_when_readers_are_out() {
        let mut m = machine(|c| {
            c.mode = Mode::XenPv;
            c.sync = SyncPlacement::None;
        });
        run(&mut m, &[R]);
        while !m.writers_done() {
            let e = m.enabled();
            let ch = e.iter().find(|c| c.cpu < 2 || c.ack).unwrap();
            m.step(ch);
        }
        assert!(!m.finished(), "the reader is still inside its read");
        while !m.finished() {
            m.step(Choice::prog(2)).action();
        }
        assert!(m.enabled().is_empty());
    }

    #[test]
    fn draw_table_never_returns_the_old_frame_and_stays_in_ram() {
        let mut x = 0u64;
        let mut next = || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            x
        };
        for _ in 0..10_000 {
            let a = draw_table(&mut next);
            assert_ne!(a, OLD_TABLE);
            assert!(a < RAM_BYTES && a % 4096 == 0);
        }
        let mut edge = || u64::MAX;
        assert_eq!(draw_table(&mut edge), RAM_BYTES - 4096);
    }

    #[test]
    fn choices_code_round_trip() {
        for cpu in 0..64 {
            for ack in [false, true] {
                let c = Choice { cpu, ack };
                assert_eq!(Choice::from_code(c.code()), c);
            }
        }
        let e = Enabled {
            prog: 0b1010,
            ack: 0b100,
        };
        assert_eq!(
            e.iter().collect::<Vec<_>>(),
            (0..e.count()).map(|i| e.nth(i)).collect::<Vec<_>>()
        );
    }
}
