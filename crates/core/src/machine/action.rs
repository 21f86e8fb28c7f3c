//! What one step did and what may step next: the typed [`Action`] a trace shows, the
//! flat [`Effect`] a batch adds up, a scheduler's [`Choice`] and the [`Enabled`] set it
//! chooses from.

use super::state::*;
use crate::hazard::Hazard;
use serde::{Deserialize, Serialize};

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
    /// `pmd_low = 0` as a plain store (`native_pmd_clear()`).
    ClearLowStore,
    /// `weak_wrmsr_fence()`: the store buffer was empty.
    Fence,
    /// The oldest store in this CPU's store buffer reached memory (`memory = tso`).
    Drain {
        store: Store,
    },
    /// `WRITE_ONCE(x, value)` (`var`: the word's index in the program).
    WordStore {
        var: u8,
        value: u32,
    },
    /// `r = READ_ONCE(x)` loaded `value` into register `reg` (an index among the
    /// registers of `cpu`'s block).
    WordLoad {
        var: u8,
        cpu: u8,
        reg: u8,
        value: u32,
    },
    /// `[r =] xchg(x, value)`: the word held `old` (`reg`: `NO_REG` if dropped).
    WordXchg {
        var: u8,
        cpu: u8,
        reg: u8,
        old: u32,
        value: u32,
    },
}

/// Which 32-bit half of the PMD.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Half {
    Low,
    High,
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
    ClearLowStore,
    Fence,
    Drain,
    WordStore,
    WordLoad,
    WordXchg,
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
    /// A step of `kind`, with no flag, IPI or value yet.
    #[inline(always)]
    pub const fn of(kind: ActionKind) -> Effect {
        Effect {
            kind,
            flags: 0,
            ipis: 0,
            v1: 0,
            v2: 0,
            wide: 0,
        }
    }

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
            ActionKind::ClearLowStore => Action::ClearLowStore,
            ActionKind::Fence => Action::Fence,
            ActionKind::Drain => Action::Drain {
                store: Store::from_code(self.wide as u32),
            },
            ActionKind::WordStore => Action::WordStore {
                var: self.wide as u8,
                value: self.v1,
            },
            ActionKind::WordLoad => Action::WordLoad {
                var: self.wide as u8,
                reg: (self.wide >> 8) as u8,
                cpu: (self.wide >> 16) as u8,
                value: self.v1,
            },
            ActionKind::WordXchg => Action::WordXchg {
                var: self.wide as u8,
                reg: (self.wide >> 8) as u8,
                cpu: (self.wide >> 16) as u8,
                old: self.v2,
                value: self.v1,
            },
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
            Action::ClearLowStore => ActionKind::ClearLowStore,
            Action::Fence => ActionKind::Fence,
            Action::Drain { store } => {
                e.wide = store.code() as u64;
                ActionKind::Drain
            }
            Action::WordStore { var, value } => {
                (e.wide, e.v1) = (var as u64, value);
                ActionKind::WordStore
            }
            Action::WordLoad {
                var,
                cpu,
                reg,
                value,
            } => {
                (e.wide, e.v1) = (var as u64 | (reg as u64) << 8 | (cpu as u64) << 16, value);
                ActionKind::WordLoad
            }
            Action::WordXchg {
                var,
                cpu,
                reg,
                old,
                value,
            } => {
                let wide = var as u64 | (reg as u64) << 8 | (cpu as u64) << 16;
                (e.wide, e.v1, e.v2) = (wide, value, old);
                ActionKind::WordXchg
            }
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
/// acknowledgement or (under `memory = tso`) the drain of the oldest store in its store
/// buffer, rather than its next instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Choice {
    pub cpu: u8,
    pub ack: bool,
    /// Left out of the serialised form when false, so SC choices read as before.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub drain: bool,
}

impl Choice {
    pub fn prog(cpu: u8) -> Choice {
        Choice {
            cpu,
            ack: false,
            drain: false,
        }
    }
    pub fn ack(cpu: u8) -> Choice {
        Choice {
            cpu,
            ack: true,
            drain: false,
        }
    }
    pub fn drain(cpu: u8) -> Choice {
        Choice {
            cpu,
            ack: false,
            drain: true,
        }
    }
    /// A dense code: `cpu * 2 + ack` below 128, a drain `128 + cpu`.
    pub fn code(self) -> u8 {
        if self.drain {
            128 | self.cpu
        } else {
            (self.cpu << 1) | self.ack as u8
        }
    }
    pub fn from_code(code: u8) -> Choice {
        if code >= 128 {
            Choice::drain(code & 63)
        } else {
            Choice {
                cpu: code >> 1,
                ack: code & 1 == 1,
                drain: false,
            }
        }
    }
}

/// The choices open at a state, as CPU bit masks: program steps, IPI
/// acknowledgements, and store-buffer drains (always empty under `memory = sc`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Enabled {
    pub prog: u64,
    pub ack: u64,
    pub drain: u64,
}

impl Enabled {
    #[inline]
    pub fn count(self) -> u32 {
        self.prog.count_ones() + self.ack.count_ones() + self.drain.count_ones()
    }
    #[inline]
    pub fn is_empty(self) -> bool {
        self.prog | self.ack | self.drain == 0
    }
    #[inline]
    pub fn contains(self, ch: Choice) -> bool {
        let m = if ch.drain {
            self.drain
        } else if ch.ack {
            self.ack
        } else {
            self.prog
        };
        ch.cpu < 64 && m >> ch.cpu & 1 == 1
    }
    /// The `i`-th choice: program steps, then acknowledgements, then drains, each in
    /// CPU order. `i < count()`.
    #[inline]
    pub fn nth(self, i: u32) -> Choice {
        let p = self.prog.count_ones();
        let a = self.ack.count_ones();
        if i < p {
            Choice::prog(nth_bit(self.prog, i))
        } else if i < p + a {
            Choice::ack(nth_bit(self.ack, i - p))
        } else {
            Choice::drain(nth_bit(self.drain, i - p - a))
        }
    }
    /// The choices in [`Enabled::nth`]'s order. One loop over the three masks, not a
    /// chain of three iterators: the timed model walks it every step.
    #[inline]
    pub fn iter(self) -> impl Iterator<Item = Choice> {
        let (mut p, mut a, mut d) = (self.prog, self.ack, self.drain);
        let take = |m: &mut u64| {
            let b = m.trailing_zeros() as u8;
            *m &= *m - 1;
            b
        };
        std::iter::from_fn(move || {
            if p != 0 {
                Some(Choice::prog(take(&mut p)))
            } else if a != 0 {
                Some(Choice::ack(take(&mut a)))
            } else if d != 0 {
                Some(Choice::drain(take(&mut d)))
            } else {
                None
            }
        })
    }
}
