//! The steps a primitive compiles to ([`Op`]), what each touches ([`Footprint`]), how it
//! is ordered under x86-TSO ([`Tso`]), who may call a classic row ([`role`]) and how
//! ([`Use`]), and the knobs a row compiles by ([`Lowering`]).

use crate::knob::{Apic, ClearKind, FreeKind, Memory, Mode, SetKind};
use serde::{Deserialize, Serialize};

/// One atomic step of a CPU's program. The machine dispatches on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[repr(u8)]
pub enum Op {
    /// `spin_lock(ptl)`: spins (interrupts on) while another CPU holds it.
    Lock,
    /// `spin_unlock(ptl)`; inside `do { } while (!installed)` it loops back while the
    /// populator has not installed its table.
    Unlock,
    /// One 64-bit exchange of the PMD to zero.
    Clear,
    ClearLow,
    ClearHigh,
    /// The mode's TLB flush: an IPI to `mm_cpumask` and a wait, or a hypercall. Inside
    /// `pmdp_collapse_flush_sync()` it skips the following sync when it sent IPIs.
    Flush,
    /// `tlb_remove_table_sync_one()`: an IPI to every other CPU, and a wait.
    Sync,
    /// `pte_free_defer()`: freed once every CPU inside a read has enabled interrupts.
    FreeDefer,
    /// `pte_free()`: freed at once.
    FreeNow,
    /// `pte_alloc_one()`; with `alloc=same-frame` it waits until the old frame is free.
    Alloc,
    /// `pmd_none(*pmd)`, both halves, under the PTL: branches.
    CheckNone,
    /// `set_pmd()`: one 64-bit store of the new table.
    Set,
    SetHigh,
    SetLow,
    /// `local_irq_save()`.
    IrqOff,
    /// `local_irq_restore()`: a quiescent state for a queued deferred free.
    IrqOn,
    /// One 32-bit load of `pmd_low` into the read being assembled.
    LoadLow,
    /// One 32-bit load of `pmd_high`.
    LoadHigh,
    /// A load of `pmd_low` that completes the read (no re-check follows).
    LoadLowEnd,
    /// A load of `pmd_high` that completes the read.
    LoadHighEnd,
    /// `pmd_low` loaded again: on a change the read retries, else it returns.
    RecheckLow,
    /// `pmd_high` loaded again: on a change the read retries, else it returns.
    RecheckHigh,
    /// One atomic 64-bit load: the whole read.
    Load64,
    /// Dereferences the page table the read returned (skipped if it is not present).
    Deref,
    /// `weak_wrmsr_fence()`, `MFENCE; LFENCE`: waits for an empty store buffer. Only
    /// compiled under `memory = tso` (under SC it would be a step that does nothing).
    Fence,
    /// A plain store of 0 to `pmd_low` (`native_pmd_clear()`), where `ClearLow` is an
    /// `xchg`: the same under SC, but under TSO this one waits in the store buffer.
    ClearLowStore,
    /// `WRITE_ONCE(x, v)`: a plain store to a shared word (buffered under TSO). Its
    /// word and value are the program's ([`crate::program::Words`], by pc).
    WordStore,
    /// `r = READ_ONCE(x)`: a load of a shared word into a register (own buffer first
    /// under TSO).
    WordLoad,
    /// `r = xchg(x, v)`: a locked exchange of a shared word.
    WordXchg,
    /// A writer past its last line. Never executed: a CPU there is never enabled.
    Done,
}

/// Shared state a step may touch, as bits of [`Footprint`].
pub mod var {
    /// Both halves of the PMD.
    pub const PMD: u16 = 1;
    /// The page-table lock.
    pub const PTL: u16 = 2;
    /// This CPU's interrupt flag.
    pub const IRQ: u16 = 4;
    /// Other CPUs' pending IPIs (sending one).
    pub const IPI: u16 = 8;
    /// The old table's life (queued, freed) and the quiescent states it waits for.
    pub const TABLE: u16 = 16;
    /// Whether the populator installed its table, and allocated it.
    pub const INSTALLED: u16 = 32;
    /// Every reader's interrupt flag (`pte_free_defer()` reads them all).
    pub const ALL_IRQ: u16 = 64;
    /// The host's preemption of vCPUs (the KVM PV flush skips preempted ones).
    pub const PREEMPTED: u16 = 128;
    /// The scenario's shared words and this CPU's registers (`WRITE_ONCE()`, …).
    pub const WORDS: u16 = 256;

    pub const NAMES: [(u16, &str); 9] = [
        (PMD, "pmd"),
        (PTL, "ptl"),
        (IRQ, "irq"),
        (IPI, "ipi"),
        (TABLE, "table"),
        (INSTALLED, "installed"),
        (ALL_IRQ, "all-irq"),
        (PREEMPTED, "preempted"),
        (WORDS, "words"),
    ];

    /// `pmd,ptl`.
    pub fn names(bits: u16) -> String {
        let v: Vec<&str> = NAMES
            .iter()
            .filter(|(b, _)| bits & b != 0)
            .map(|&(_, n)| n)
            .collect();
        if v.is_empty() {
            "-".into()
        } else {
            v.join(",")
        }
    }
}

/// What a step reads and writes, and whether it can exhibit a hazard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Footprint {
    pub reads: u16,
    pub writes: u16,
    /// Writes [`var::TABLE`] only when it is this CPU's last awaited quiescent state.
    pub quiescent: bool,
    /// Can raise a torn read or a stale use: such a step is never reordered away.
    pub visible: bool,
    /// Waits on other CPUs only as a set, every one alike: until every target of its IPI
    /// has acknowledged it, or every CPU inside a read has passed a quiescent state. The
    /// cutoff argument (`cutoff.rs`) needs every writer's wait on readers to be so.
    pub waits_all: bool,
}

/// When the checker may explore a reader's step alone (an ample set of one CPU).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reduction {
    /// Always explored beside every other CPU's steps.
    Never,
    /// Once the PMD has had its last write: it only reads the PMD.
    PmdFinal,
    /// Once both writers are done: it only touches this CPU's interrupt flag, which only
    /// `pte_free_defer()` and this CPU's own IPI acknowledgements read, and which only
    /// matters to a deadlock while a writer runs.
    WritersDone,
}

impl Footprint {
    /// The reduction rule this footprint allows. The checker's soundness argument
    /// (`check.rs`) is stated in terms of this function, not of particular ops.
    pub fn reduction(self) -> Reduction {
        use var::*;
        if self.visible {
            return Reduction::Never;
        }
        if self.writes == 0 && self.reads == PMD {
            // Only later PMD writes could fail to commute with it.
            Reduction::PmdFinal
        } else if self.writes == IRQ && (self.reads == 0 || self.reads == TABLE && self.quiescent) {
            // A quiescent state writes TABLE only when this CPU is awaited; the checker
            // tests that bit before reducing.
            Reduction::WritersDone
        } else {
            Reduction::Never
        }
    }
}

impl Op {
    pub const ALL: [Op; 29] = {
        use Op::*;
        [
            Lock,
            Unlock,
            Clear,
            ClearLow,
            ClearHigh,
            Flush,
            Sync,
            FreeDefer,
            FreeNow,
            Alloc,
            CheckNone,
            Set,
            SetHigh,
            SetLow,
            IrqOff,
            IrqOn,
            LoadLow,
            LoadHigh,
            LoadLowEnd,
            LoadHighEnd,
            RecheckLow,
            RecheckHigh,
            Load64,
            Deref,
            Fence,
            ClearLowStore,
            WordStore,
            WordLoad,
            WordXchg,
        ]
    };

    /// The shared state this step touches.
    pub fn footprint(self) -> Footprint {
        use var::*;
        use Op::*;
        let (reads, writes, quiescent, visible) = match self {
            Lock => (PTL, PTL, false, false),
            Unlock => (INSTALLED, PTL, false, false),
            Clear | ClearLow | ClearHigh | ClearLowStore => (PMD, PMD, false, false),
            Flush => (PREEMPTED, IPI, false, false),
            Sync => (0, IPI, false, false),
            FreeDefer => (ALL_IRQ, TABLE, false, false),
            FreeNow => (0, TABLE, false, false),
            Alloc => (TABLE, INSTALLED, false, false),
            CheckNone => (PMD, 0, false, false),
            Set | SetHigh | SetLow => (0, PMD | INSTALLED, false, false),
            IrqOff => (0, IRQ, false, false),
            IrqOn => (TABLE, IRQ, true, false),
            LoadLow | LoadHigh => (PMD, 0, false, false),
            LoadLowEnd | LoadHighEnd | RecheckLow | RecheckHigh | Load64 => (PMD, 0, false, true),
            Deref => (TABLE | INSTALLED, 0, false, true),
            WordStore => (0, WORDS, false, false),
            WordLoad => (WORDS, 0, false, false),
            WordXchg => (WORDS, WORDS, false, false),
            // Touches only this CPU's store buffer.
            Fence | Done => (0, 0, false, false),
        };
        Footprint {
            reads,
            writes,
            quiescent,
            visible,
            waits_all: matches!(self, Flush | Sync | FreeDefer),
        }
    }

    /// The op's name in listings.
    pub fn name(self) -> &'static str {
        use Op::*;
        match self {
            Lock => "lock",
            Unlock => "unlock",
            Clear => "clear64",
            ClearLow => "clear-low",
            ClearHigh => "clear-high",
            Flush => "flush",
            Sync => "sync-ipi",
            FreeDefer => "free-defer",
            FreeNow => "free",
            Alloc => "alloc",
            CheckNone => "check-none",
            Set => "set64",
            SetHigh => "set-high",
            SetLow => "set-low",
            IrqOff => "irq-off",
            IrqOn => "irq-on",
            LoadLow => "load-low",
            LoadHigh => "load-high",
            LoadLowEnd => "load-low-end",
            LoadHighEnd => "load-high-end",
            RecheckLow => "recheck-low",
            RecheckHigh => "recheck-high",
            Load64 => "load64",
            Deref => "deref",
            Fence => "mfence",
            ClearLowStore => "store-low",
            WordStore => "write-once",
            WordLoad => "read-once",
            WordXchg => "xchg",
            Done => "done",
        }
    }

    /// A load that belongs to a read being assembled (reads and re-checks).
    pub fn is_load(self) -> bool {
        use Op::*;
        matches!(
            self,
            LoadLow | LoadHigh | LoadLowEnd | LoadHighEnd | RecheckLow | RecheckHigh | Load64
        )
    }

    /// A step after which the read's value is known (on a re-check: when it matches).
    pub fn ends_read(self) -> bool {
        use Op::*;
        matches!(
            self,
            LoadLowEnd | LoadHighEnd | RecheckLow | RecheckHigh | Load64
        )
    }

    pub fn writes_pmd(self) -> bool {
        self.footprint().writes & var::PMD != 0
    }

    /// What the step is under `memory = tso` (how the machine orders it against the
    /// CPU's store buffer).
    pub fn tso(self, c: &Lowering) -> Tso {
        use Op::*;
        match self {
            ClearHigh | ClearLowStore | SetHigh | SetLow | Unlock | WordStore => Tso::Buffered,
            Lock | Clear | ClearLow | Set | WordXchg => Tso::Locked,
            Alloc | FreeNow | FreeDefer => Tso::Locked,
            Fence => Tso::Fence,
            Flush if c.flush_is_hypercall() => Tso::Serializing,
            Flush | Sync if c.ipi_ordered() => Tso::OrderedIpi,
            Flush | Sync => Tso::UnorderedIpi,
            CheckNone | LoadLow | LoadHigh | LoadLowEnd | LoadHighEnd | RecheckLow
            | RecheckHigh | Load64 | WordLoad => Tso::Load,
            IrqOff | IrqOn | Deref | Done => Tso::Local,
        }
    }
}

/// How a step is ordered against its CPU's store buffer under `memory = tso`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tso {
    /// A plain store: it waits in the FIFO store buffer until a drain step.
    Buffered,
    /// A locked instruction (`xchg`, `cmpxchg8b`, `lock`-prefixed, a spinlock's or the
    /// page allocator's): waits for an empty buffer, then acts on memory at once.
    Locked,
    /// `MFENCE`: waits for an empty buffer.
    Fence,
    /// A hypercall: serializing, so it waits for an empty buffer.
    Serializing,
    /// An IPI ordered after earlier stores (xAPIC MMIO, or a serializing x2APIC
    /// `WRMSR` on AMD): waits for an empty buffer.
    OrderedIpi,
    /// An x2APIC `WRMSR` on Intel: sent with stores still in the buffer.
    UnorderedIpi,
    /// A load: the CPU's own newest buffered store to the location, else memory.
    Load,
    /// No memory access (the interrupt flag, a use of the table already read).
    Local,
}

impl Tso {
    /// The step cannot run until its CPU's store buffer is empty.
    pub fn waits_for_buffer(self) -> bool {
        matches!(
            self,
            Tso::Locked | Tso::Fence | Tso::Serializing | Tso::OrderedIpi
        )
    }

    /// What the step is, in words.
    pub fn describe(self) -> &'static str {
        match self {
            Tso::Buffered => "buffered store",
            Tso::Locked => "locked: waits for an empty buffer",
            Tso::Fence => "fence: waits for an empty buffer",
            Tso::Serializing => "hypercall, serializing: waits for an empty buffer",
            Tso::OrderedIpi => "IPI ordered after earlier stores: waits for an empty buffer",
            Tso::UnorderedIpi => "IPI not ordered: sent with stores still buffered",
            Tso::Load => "load (own buffer first)",
            Tso::Local => "no memory access",
        }
    }
}

/// Which actors may call a primitive (bits).
pub mod role {
    pub const COLLAPSER: u8 = 1;
    pub const POPULATOR: u8 = 2;
    pub const READER: u8 = 4;
    pub const ANY: u8 = 7;

    pub fn names(bits: u8) -> String {
        let mut v = Vec::new();
        if bits & COLLAPSER != 0 {
            v.push("khugepaged");
        }
        if bits & POPULATOR != 0 {
            v.push("fault");
        }
        if bits & READER != 0 {
            v.push("readers");
        }
        v.join(", ")
    }
}

/// How a primitive is used in a program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Use {
    /// A statement: `name();`.
    Call,
    /// The condition of an `if`: `if (name()) { … }`.
    Condition,
    /// A store of a value to a shared word: `name(x, 1);`.
    Write,
    /// A load of a shared word into a register: `r0 = name(x);`.
    Read,
    /// An exchange: `name(x, 1);` or `r0 = name(x, 1);`.
    Exchange,
}

impl Use {
    /// How a call is written, for help and errors.
    pub fn call_text(self, name: &str) -> String {
        match self {
            Use::Call => format!("{name}();"),
            Use::Condition => format!("if ({name}())"),
            Use::Write => format!("{name}(x, 1);"),
            Use::Read => format!("r0 = {name}(x);"),
            Use::Exchange => format!("r0 = {name}(x, 1);"),
        }
    }
}

/// The knobs that decide what a primitive compiles to: a configuration less its CPU
/// count, readers and program (`Config::lowering`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lowering {
    pub mode: Mode,
    pub paravirt: bool,
    pub clear: ClearKind,
    pub set: SetKind,
    pub free: FreeKind,
    pub memory: Memory,
    pub apic: Apic,
}

/// The kernel's native behaviour, which `Config::default()` takes too.
impl Default for Lowering {
    fn default() -> Self {
        Lowering {
            mode: Mode::NativePae,
            paravirt: true,
            clear: ClearKind::Xchg64,
            set: SetKind::Xchg64,
            free: FreeKind::RcuDeferred,
            memory: Memory::Sc,
            apic: Apic::Xapic,
        }
    }
}

impl Lowering {
    /// The TLB flush is a hypercall (Xen PV, Hyper-V), which waits for nobody.
    pub fn flush_is_hypercall(&self) -> bool {
        matches!(self.mode, Mode::XenPv | Mode::HyperV)
    }

    /// An IPI send is ordered after the sender's earlier stores: always under SC; under
    /// TSO with xAPIC (an MMIO write), x2APIC on AMD (a serializing `WRMSR`), or where
    /// IPIs are hypercalls (Xen PV, Hyper-V).
    pub fn ipi_ordered(&self) -> bool {
        self.memory == Memory::Sc || self.apic != Apic::X2apic || self.flush_is_hypercall()
    }

    /// The kernel's IPI paths call `weak_wrmsr_fence()` before the `WRMSR`: compiled
    /// where it is a step that matters (TSO, x2APIC on Intel).
    pub fn ipi_fence(&self) -> bool {
        !self.ipi_ordered()
    }

    /// Whether `pmdp_get_lockless_sync()` is a real IPI broadcast: it is one wherever
    /// `CONFIG_MMU_GATHER_RCU_TABLE_FREE` is set and the PMD is read in halves.
    pub fn sync_is_ipi(&self) -> bool {
        match self.mode {
            Mode::NonPae => false,
            Mode::NativePae => self.paravirt,
            Mode::XenPv | Mode::KvmPvFlush | Mode::HyperV => true,
        }
    }
}
