//! The primitives a scenario file may call, in one table: each row names the kernel
//! function it models, which actors may call it, the atomic steps it compiles to in each
//! mode, and where to read it in a Linux tree. The scenario parser, the compiler, the
//! machine's footprints, the checker's partial-order reduction, `tornsim primitives`, the
//! docs and the web page's help all read this table, so a primitive is added in one place.
//!
//! A primitive compiles to zero or more [`Op`]s: one op is one atomic step of MODEL.md.
//! Each op declares the shared state it reads and writes ([`Op::footprint`]); the checker
//! derives which steps commute from those footprints alone ([`Footprint::reduction`]).

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

    pub const NAMES: [(u16, &str); 8] = [
        (PMD, "pmd"),
        (PTL, "ptl"),
        (IRQ, "irq"),
        (IPI, "ipi"),
        (TABLE, "table"),
        (INSTALLED, "installed"),
        (ALL_IRQ, "all-irq"),
        (PREEMPTED, "preempted"),
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
    pub const ALL: [Op; 26] = {
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
            ClearHigh | ClearLowStore | SetHigh | SetLow | Unlock => Tso::Buffered,
            Lock | Clear | ClearLow | Set => Tso::Locked,
            Alloc | FreeNow | FreeDefer => Tso::Locked,
            Fence => Tso::Fence,
            Flush if c.flush_is_hypercall() => Tso::Serializing,
            Flush | Sync if c.ipi_ordered() => Tso::OrderedIpi,
            Flush | Sync => Tso::UnorderedIpi,
            CheckNone | LoadLow | LoadHigh | LoadLowEnd | LoadHighEnd | RecheckLow
            | RecheckHigh | Load64 => Tso::Load,
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
}

/// One row of the table.
pub struct Prim {
    pub name: &'static str,
    pub usage: Use,
    /// [`role`] bits.
    pub roles: u8,
    /// The steps it compiles to under a configuration's knobs.
    pub ops: fn(&Lowering) -> Vec<Op>,
    /// What it does, in one sentence.
    pub help: &'static str,
    /// Its meaning per mode, where the modes differ.
    pub modes: &'static str,
    /// Where the kernel does it: function, and file in a v6.x tree.
    pub kernel: &'static str,
    pub file: &'static str,
    /// Its steps under `memory = tso`, with the kernel code that makes them so.
    pub tso: &'static str,
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

fn clear_ops(c: &Lowering) -> Vec<Op> {
    match c.clear {
        ClearKind::Xchg64 => vec![Op::Clear],
        ClearKind::SplitLowFirst => vec![Op::ClearLow, Op::ClearHigh],
    }
}

fn set_ops(c: &Lowering) -> Vec<Op> {
    match c.set {
        SetKind::Xchg64 => vec![Op::Set],
        SetKind::SplitHighFirst => vec![Op::SetHigh, Op::SetLow],
    }
}

/// An IPI send as the kernel's x2APIC code makes it: `weak_wrmsr_fence()` first where
/// that matters (`Lowering::ipi_fence`).
fn ipi_ops(c: &Lowering, op: Op) -> Vec<Op> {
    let fence = c.ipi_fence() && !(op == Op::Flush && c.flush_is_hypercall());
    if fence {
        vec![Op::Fence, op]
    } else {
        vec![op]
    }
}

fn read_ops(c: &Lowering, recheck: bool) -> Vec<Op> {
    if c.mode == Mode::NonPae {
        vec![Op::Load64]
    } else if recheck {
        vec![Op::LoadLow, Op::LoadHigh, Op::RecheckLow]
    } else {
        vec![Op::LoadLow, Op::LoadHighEnd]
    }
}

/// Every primitive, in the order `tornsim primitives` lists them.
pub static PRIMS: &[Prim] = &[
    Prim {
        name: "pmd_lock",
        usage: Use::Call,
        roles: role::ANY,
        ops: |_| vec![Op::Lock],
        help: "take the page-table lock (PTL), spinning with interrupts enabled while another CPU holds it",
        modes: "the same in every mode",
        kernel: "pmd_lock() / spin_lock(ptl)",
        file: "include/linux/mm.h",
        tso: "locked: arch_spin_lock() is a `lock`-prefixed xadd, so it waits for an empty store buffer",
    },
    Prim {
        name: "spin_unlock",
        usage: Use::Call,
        roles: role::ANY,
        ops: |_| vec![Op::Unlock],
        help: "release the PTL; as the last line of `do { … } while (!installed);` it loops back until the table is installed",
        modes: "the same in every mode",
        kernel: "spin_unlock(ptl)",
        file: "include/linux/spinlock.h",
        tso: "a plain store: arch_spin_unlock() on x86 is a release store with no lock prefix, so it waits in the store buffer",
    },
    Prim {
        name: "pmdp_collapse_flush",
        usage: Use::Call,
        roles: role::COLLAPSER,
        ops: |c| {
            let mut v = clear_ops(c);
            v.extend(ipi_ops(c, Op::Flush));
            v
        },
        help: "clear the PMD (pmdp_huge_get_and_clear()) and flush the TLB (flush_tlb_range())",
        modes: "the clear is one 64-bit xchg or two 32-bit stores (`clear`); the flush is an IPI to mm_cpumask that waits (native-pae, non-pae, kvm-pv-flush: skipping preempted vCPUs) or a hypercall that waits for nobody (xen-pv, hyperv)",
        kernel: "pmdp_collapse_flush()",
        file: "mm/pgtable-generic.c",
        tso: "the clear as `clear` says (an xchg is locked; pmd_high = 0 is a plain buffered store); the flush IPI as `apic` says, after weak_wrmsr_fence() on x2APIC as native_send_call_func_ipi() -> x2apic_send_IPI_mask() does; a hypercall flush is serializing",
    },
    Prim {
        name: "pmdp_huge_get_and_clear",
        usage: Use::Call,
        roles: role::COLLAPSER,
        ops: clear_ops,
        help: "clear the PMD only, without the flush",
        modes: "one 64-bit xchg (`clear = xchg64`) or pmd_low then pmd_high (`clear = split-low-first`)",
        kernel: "pmdp_huge_get_and_clear() / native_pmdp_get_and_clear()",
        file: "arch/x86/include/asm/pgtable-3level.h",
        tso: "xchg64 (pxx_xchg64, cmpxchg8b) is locked; split-low-first is xchg(&pmd_low, 0), locked, then pmd_high = 0, a plain buffered store (native_pmdp_get_and_clear() before v6.2)",
    },
    Prim {
        name: "flush_tlb_range",
        usage: Use::Call,
        roles: role::COLLAPSER,
        ops: |c| ipi_ops(c, Op::Flush),
        help: "the TLB flush only",
        modes: "native-pae, non-pae: native_flush_tlb_multi() IPIs mm_cpumask and waits; kvm-pv-flush: kvm_flush_tlb_multi() skips preempted vCPUs; xen-pv, hyperv: a hypercall that waits for nobody",
        kernel: "flush_tlb_range() / flush_tlb_multi()",
        file: "arch/x86/mm/tlb.c",
        tso: "weak_wrmsr_fence() then the IPI on x2APIC (x2apic_send_IPI_mask()); an MMIO write ordered after earlier stores on xAPIC; a serializing WRMSR on x2APIC AMD; a serializing hypercall under xen-pv and hyperv",
    },
    Prim {
        name: "pmdp_get_lockless_sync",
        usage: Use::Call,
        roles: role::COLLAPSER,
        ops: |c| {
            if c.sync_is_ipi() {
                ipi_ops(c, Op::Sync)
            } else {
                vec![]
            }
        },
        help: "wait until no lockless walker can still hold the old PMD: an IPI broadcast where the PMD is read in halves",
        modes: "an IPI to every other CPU that waits for all (native-pae with paravirt on, xen-pv, kvm-pv-flush, hyperv); nothing at all on non-pae or with paravirt off (no CONFIG_MMU_GATHER_RCU_TABLE_FREE)",
        kernel: "pmdp_get_lockless_sync() -> tlb_remove_table_sync_one()",
        file: "include/linux/pgtable.h, mm/mmu_gather.c",
        tso: "as tlb_remove_table_sync_one(): smp_call_function() sends the IPI through the same APIC paths as the flush, fence and all",
    },
    Prim {
        name: "tlb_remove_table_sync_one",
        usage: Use::Call,
        roles: role::COLLAPSER,
        ops: |c| ipi_ops(c, Op::Sync),
        help: "an IPI broadcast to every other CPU, waiting for each to answer, in every mode (the v1 patch's first version called it directly)",
        modes: "the same in every mode, non-pae included",
        kernel: "tlb_remove_table_sync_one()",
        file: "mm/mmu_gather.c",
        tso: "weak_wrmsr_fence() then the IPI on x2APIC; ordered after earlier stores on xAPIC and x2APIC AMD; a hypercall (serializing) under xen-pv",
    },
    Prim {
        name: "pmdp_collapse_flush_sync",
        usage: Use::Call,
        roles: role::COLLAPSER,
        ops: |c| {
            let mut v = clear_ops(c);
            v.extend(ipi_ops(c, Op::Flush));
            if c.sync_is_ipi() {
                v.extend(ipi_ops(c, Op::Sync));
            }
            v
        },
        help: "the v3 proposal: clear, flush, and the sync broadcast only if the flush sent no IPI",
        modes: "native-pae: the flush IPIs mm_cpumask, so the sync is skipped; xen-pv, hyperv: the hypercall sends none, so the sync runs; non-pae or paravirt off: no sync",
        kernel: "pmdp_collapse_flush_sync() (proposed, v3, Jan 2026)",
        file: "mm/khugepaged.c (proposed)",
        tso: "as pmdp_collapse_flush() and, when it runs, tlb_remove_table_sync_one()",
    },
    Prim {
        name: "pte_free_defer",
        usage: Use::Call,
        roles: role::COLLAPSER,
        ops: |c| {
            if c.free == FreeKind::Immediate {
                vec![Op::FreeNow]
            } else {
                vec![Op::FreeDefer]
            }
        },
        help: "free the old page table once every CPU inside a read has enabled interrupts (an RCU grace period)",
        modes: "the same in every mode; `free = immediate` turns it into pte_free() to show what the deferral protects",
        kernel: "pte_free_defer()",
        file: "mm/pgtable-generic.c",
        tso: "locked: the free ends in the page allocator, which takes zone->lock (and RCU's grace period implies full barriers)",
    },
    Prim {
        name: "pte_free",
        usage: Use::Call,
        roles: role::COLLAPSER,
        ops: |_| vec![Op::FreeNow],
        help: "free the old page table at once",
        modes: "the same in every mode",
        kernel: "pte_free()",
        file: "include/asm-generic/pgalloc.h",
        tso: "locked: free_pages() takes zone->lock",
    },
    Prim {
        name: "pte_alloc_one",
        usage: Use::Call,
        roles: role::POPULATOR,
        ops: |_| vec![Op::Alloc],
        help: "allocate the new page table (which frame: `alloc`)",
        modes: "the same in every mode; with `alloc = same-frame` it waits until the old table is freed",
        kernel: "pte_alloc_one()",
        file: "mm/memory.c (__pte_alloc)",
        tso: "locked: alloc_pages() takes zone->lock",
    },
    Prim {
        name: "pmd_none",
        usage: Use::Condition,
        roles: role::POPULATOR,
        ops: |_| vec![Op::CheckNone],
        help: "as `if (pmd_none())`: test both halves of the PMD for zero (one step: the populator holds the PTL, so no half changes under it)",
        modes: "the same in every mode",
        kernel: "pmd_install(): pmd_none(*pmd)",
        file: "mm/memory.c",
        tso: "a load: the fault's own buffered PMD stores first, then memory",
    },
    Prim {
        name: "pmd_populate",
        usage: Use::Call,
        roles: role::POPULATOR,
        ops: set_ops,
        help: "install the new page table in the PMD",
        modes: "one 64-bit store (`set = xchg64`) or pmd_high then pmd_low (`set = split-high-first`)",
        kernel: "pmd_populate() / set_pmd()",
        file: "arch/x86/include/asm/pgalloc.h",
        tso: "xchg64 (set_pmd() via pxx_xchg64/cmpxchg8b) is locked; split-high-first is two WRITE_ONCE() stores, both buffered, drained in program order",
    },
    Prim {
        name: "local_irq_save",
        usage: Use::Call,
        roles: role::READER,
        ops: |_| vec![Op::IrqOff],
        help: "disable interrupts: from here this CPU answers no IPI",
        modes: "the same in every mode (a hypervisor may still preempt the vCPU: kvm-pv-flush)",
        kernel: "local_irq_save() (gup_fast(), pmdp_get_lockless_start())",
        file: "mm/gup.c, include/linux/pgtable.h",
        tso: "cli: no memory access, not serializing",
    },
    Prim {
        name: "local_irq_restore",
        usage: Use::Call,
        roles: role::READER,
        ops: |_| vec![Op::IrqOn],
        help: "enable interrupts: a quiescent state for pte_free_defer()",
        modes: "the same in every mode",
        kernel: "local_irq_restore() (gup_fast(), pmdp_get_lockless_end())",
        file: "mm/gup.c, include/linux/pgtable.h",
        tso: "sti/popf: no memory access, not serializing",
    },
    Prim {
        name: "pmdp_get_lockless",
        usage: Use::Call,
        roles: role::READER,
        ops: |c| read_ops(c, true),
        help: "read the PMD without the lock: pmd_low, pmd_high, then pmd_low again, retrying if it changed",
        modes: "three 32-bit loads (PAE modes); one atomic 64-bit load on non-pae",
        kernel: "pmdp_get_lockless()",
        file: "include/linux/pgtable.h",
        tso: "loads from memory (readers buffer no PMD stores); x86-TSO keeps them in program order",
    },
    Prim {
        name: "pmdp_get",
        usage: Use::Call,
        roles: role::READER,
        ops: |c| read_ops(c, false),
        help: "a plain read of the PMD with no re-check: safe only while the PTL is held",
        modes: "two 32-bit loads, pmd_low then pmd_high (PAE modes); one atomic 64-bit load on non-pae",
        kernel: "pmdp_get() (READ_ONCE(*pmdp))",
        file: "include/linux/pgtable.h",
        tso: "loads from memory",
    },
    Prim {
        name: "read_pmd_low",
        usage: Use::Call,
        roles: role::READER,
        ops: |_| vec![Op::LoadLow],
        help: "one 32-bit load of pmd_low; the last load of a run of loads completes the read",
        modes: "a 32-bit load in every mode (write your own read protocol)",
        kernel: "pmdp_get_lockless(): pmd.pmd_low = pmdp->pmd_low",
        file: "include/linux/pgtable.h",
        tso: "a load from memory",
    },
    Prim {
        name: "read_pmd_high",
        usage: Use::Call,
        roles: role::READER,
        ops: |_| vec![Op::LoadHigh],
        help: "one 32-bit load of pmd_high; the last load of a run of loads completes the read",
        modes: "a 32-bit load in every mode",
        kernel: "pmdp_get_lockless(): pmd.pmd_high = pmdp->pmd_high",
        file: "include/linux/pgtable.h",
        tso: "a load from memory",
    },
    Prim {
        name: "recheck_pmd_low",
        usage: Use::Call,
        roles: role::READER,
        ops: |_| vec![Op::RecheckLow],
        help: "load pmd_low again: if it changed, retry from the read's first load; else the read returns",
        modes: "a 32-bit load in every mode",
        kernel: "pmdp_get_lockless(): while (pmd.pmd_low != pmdp->pmd_low)",
        file: "include/linux/pgtable.h",
        tso: "a load from memory",
    },
    Prim {
        name: "recheck_pmd_high",
        usage: Use::Call,
        roles: role::READER,
        ops: |_| vec![Op::RecheckHigh],
        help: "load pmd_high again: if it changed, retry from the read's first load; else the read returns",
        modes: "a 32-bit load in every mode",
        kernel: "(a variant protocol: no kernel reads high first)",
        file: "-",
        tso: "a load from memory",
    },
    Prim {
        name: "read_pmd_atomic",
        usage: Use::Call,
        roles: role::READER,
        ops: |_| vec![Op::Load64],
        help: "one atomic 64-bit load (cmpxchg8b): the whole read in one step",
        modes: "a 64-bit load in every mode",
        kernel: "pmdp_get_lockless() without CONFIG_GUP_GET_PXX_LOW_HIGH",
        file: "include/linux/pgtable.h",
        tso: "cmpxchg8b with a lock prefix: a locked load of both halves",
    },
    Prim {
        name: "pte_offset_map",
        usage: Use::Call,
        roles: role::READER,
        ops: |_| vec![Op::Deref],
        help: "use the page table the read returned (a stale use if it was freed); skipped when the read returned a none PMD",
        modes: "the same in every mode",
        kernel: "pte_offset_map() / __pte_offset_map()",
        file: "mm/pgtable-generic.c, mm/gup.c",
        tso: "no PMD access: it uses the table the read returned",
    },
    Prim {
        name: "pmd_clear",
        usage: Use::Call,
        roles: role::COLLAPSER,
        ops: |_| vec![Op::ClearLowStore, Op::ClearHigh],
        help: "clear the PMD with two plain stores, pmd_low then pmd_high (what the PMD clear was before page tables were freed by RCU: no locked instruction)",
        modes: "two 32-bit stores in every mode",
        kernel: "pmd_clear() / native_pmd_clear(): pmd_low = 0; smp_wmb(); pmd_high = 0",
        file: "arch/x86/include/asm/pgtable-3level.h",
        tso: "two plain stores, both buffered: other CPUs can read the old PMD until they drain",
    },
    Prim {
        name: "flush_tlb_others_ipi",
        usage: Use::Call,
        roles: role::COLLAPSER,
        ops: |_| vec![Op::Flush],
        help: "the TLB flush IPI to mm_cpumask, and the wait, with no fence before the x2APIC WRMSR: the flush path before ce4e240c279a (\"x86: add x2apic_wrmsr_fence() to x2apic flush tlb paths\")",
        modes: "as flush_tlb_range(): an IPI where the flush sends one, a hypercall under xen-pv and hyperv",
        kernel: "flush_tlb_others_ipi() -> send_IPI_mask() before ce4e240c279a",
        file: "arch/x86/kernel/tlb_32.c (v2.6.28)",
        tso: "x2apic: the IPI leaves with the sender's stores still buffered; xapic and x2apic-amd: ordered after them",
    },
    Prim {
        name: "weak_wrmsr_fence",
        usage: Use::Call,
        roles: role::ANY,
        ops: |c| {
            if c.memory == Memory::Tso {
                vec![Op::Fence]
            } else {
                vec![]
            }
        },
        help: "MFENCE; LFENCE: make earlier stores visible before a non-serializing WRMSR",
        modes: "no step under memory = sc; under tso one step that waits for an empty store buffer",
        kernel: "weak_wrmsr_fence() (x2apic_wrmsr_fence() before 25a068b8e9a4e)",
        file: "arch/x86/include/asm/barrier.h",
        tso: "a fence: waits until this CPU's store buffer is empty",
    },
];

/// The row for `name`.
pub fn lookup(name: &str) -> Option<&'static Prim> {
    PRIMS.iter().find(|p| p.name == name)
}

/// The known name nearest to `name` (edit distance), for "did you mean".
pub fn nearest(name: &str) -> Option<&'static str> {
    let score = |p: &Prim| {
        let d = edit_distance(name, p.name);
        // A name that contains what was typed (or the reverse) is a good guess too.
        if p.name.contains(name) || name.contains(p.name) {
            d.min(2)
        } else {
            d
        }
    };
    PRIMS
        .iter()
        .map(|p| (score(p), p.name))
        .min()
        .filter(|&(d, n)| d <= n.len().max(name.len()) / 2 + 1)
        .map(|(_, n)| n)
}

/// Levenshtein distance over bytes.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let sub = prev[j - 1] + (a[i - 1] != b[j - 1]) as usize;
            cur[j] = sub.min(prev[j] + 1).min(cur[j - 1] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The table as Markdown: what `tornsim primitives --markdown` prints and the docs hold.
pub fn markdown() -> String {
    let mut s = String::from(
        "| primitive | who | steps (reads / writes) | per mode | under `memory = tso` | kernel |\n|---|---|---|---|---|---|\n",
    );
    let cfgs = [
        Lowering {
            mode: Mode::XenPv,
            ..Lowering::default()
        },
        Lowering {
            mode: Mode::NonPae,
            ..Lowering::default()
        },
    ];
    for p in PRIMS {
        let mut steps: Vec<String> = Vec::new();
        for c in &cfgs {
            let ops = (p.ops)(c);
            let text = if ops.is_empty() {
                "(no step)".to_string()
            } else {
                ops.iter()
                    .map(|o| {
                        let f = o.footprint();
                        format!(
                            "{} ({} / {})",
                            o.name(),
                            var::names(f.reads),
                            var::names(f.writes)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            if !steps.contains(&text) {
                steps.push(text);
            }
        }
        let call = match p.usage {
            Use::Call => format!("`{}();`", p.name),
            Use::Condition => format!("`if ({}())`", p.name),
        };
        s.push_str(&format!(
            "| {call} {} | {} | {} | {} | {} | `{}` in {} |\n",
            p.help,
            role::names(p.roles),
            steps.join("; non-pae: "),
            p.modes,
            p.tso,
            p.kernel,
            p.file
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn op_all_is_indexed_by_value() {
        for (i, op) in Op::ALL.iter().enumerate() {
            assert_eq!(*op as usize, i);
        }
    }

    #[test]
    fn names_are_unique_and_suggestions_find_typos() {
        let mut names: Vec<_> = PRIMS.iter().map(|p| p.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), PRIMS.len());
        assert_eq!(
            nearest("pmdp_get_lockless_synk"),
            Some("pmdp_get_lockless_sync")
        );
        assert_eq!(nearest("spin_unlok"), Some("spin_unlock"));
        assert_eq!(nearest("pmd_lck"), Some("pmd_lock"));
        assert_eq!(nearest("zzzzzzzzzzzzzzzzzzzz"), None);
    }

    #[test]
    fn reductions_follow_footprints() {
        use Op::*;
        for op in Op::ALL {
            let want = match op {
                // The checker reduces only readers' steps; pmd_none() is the fault's.
                LoadLow | LoadHigh | CheckNone => Reduction::PmdFinal,
                IrqOff | IrqOn => Reduction::WritersDone,
                _ => Reduction::Never,
            };
            assert_eq!(op.footprint().reduction(), want, "{op:?}");
        }
    }

    #[test]
    fn sync_is_a_no_op_where_model_md_says() {
        let p = lookup("pmdp_get_lockless_sync").unwrap();
        let native_off = Config {
            paravirt: false,
            ..Config::default()
        }
        .lowering();
        let non_pae = Config {
            mode: Mode::NonPae,
            ..Config::default()
        }
        .lowering();
        assert!((p.ops)(&native_off).is_empty());
        assert!((p.ops)(&non_pae).is_empty());
        assert_eq!((p.ops)(&Config::default().lowering()), vec![Op::Sync]);
        let always = lookup("tlb_remove_table_sync_one").unwrap();
        assert_eq!((always.ops)(&non_pae), vec![Op::Sync]);
    }
}
