//! What the general language's calls are made of: the kinds of argument a row asks for
//! ([`A`]), what a call gives back ([`R`]), how the general compiler (`crate::general`)
//! lowers a row ([`Kind`]), and the kernel paths a block may name ([`ACTORS`]). The rows
//! themselves are the one table, [`super::PRIMS`].

/// What an argument must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum A {
    /// A PMD declared in the settings (`pmd`).
    Entry,
    /// A local holding an entry's value (`pmdval`, `pte`, `_pmd`).
    Value,
    /// A page table: a local from `pte_alloc_one()` or `pte_offset_map()`, a value local
    /// that points to a table, or a declared table's name.
    Table,
    /// A lock local (`ptl = pmd_lock(pmd)`).
    Lock,
    /// A page: a value local that maps it, or a declared page's name.
    Page,
    /// A PTE index (a number, or a `for` loop's counter).
    Index,
    /// A shared word, named where it is first used (`x`, as herd7 writes it).
    Word,
    /// A number stored in a shared word.
    Num,
}

/// What a call gives back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum R {
    Nothing,
    /// An entry's value, into a local (`pmdval = pmdp_get_lockless(pmd)`).
    Value,
    /// A table, into a local.
    Table,
    /// A lock, into a local.
    Lock,
    /// A condition: the call stands in an `if`.
    Cond,
    /// A shared word's value, into a register (`r0 = READ_ONCE(x)`): registers keep
    /// their value to the end of the run, where the `exists` clause reads them.
    Reg,
}

/// How the compiler lowers a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    PmdLock,
    PteLock,
    SpinLock,
    SpinUnlock,
    SpinTrylock,
    MmapLock {
        write: bool,
    },
    MmapUnlock {
        write: bool,
    },
    IMmapLock {
        write: bool,
    },
    IMmapUnlock {
        write: bool,
    },
    VmaStartWrite,
    VmaStartRead,
    VmaEndRead,
    IrqOff,
    IrqOn,
    /// The mode's TLB flush.
    Flush,
    /// `pmdp_get_lockless_sync()`: an IPI broadcast where the PMD is read in halves.
    LocklessSync,
    /// `tlb_remove_table_sync_one()`: an IPI broadcast in every mode.
    SyncOne,
    /// Clear the PMD (as the `clear` knob says) and flush.
    CollapseFlush,
    /// Clear, flush, and sync only if the flush sent no IPI (the v3 proposal).
    CollapseFlushSync,
    /// Clear the PMD (as `clear` says), no flush.
    GetAndClear,
    /// `pmd_clear()`: two plain stores under PAE.
    PmdClear,
    /// Install a table in a PMD (as `set` says).
    Populate,
    /// Install a huge page in a PMD.
    SetHuge,
    /// The whole-entry lockless read (three loads under PAE).
    GetLockless,
    /// A plain read (two loads under PAE, no re-check).
    Get,
    ReadLow,
    ReadHigh,
    RecheckLow,
    RecheckHigh,
    ReadAtomic,
    /// A test of a value local.
    Test(Test),
    /// The local's value against the entry now.
    PmdSame,
    PteSame,
    PteRangeNone,
    PteOffsetMap,
    PteGetLockless,
    PteGet,
    PteClear,
    PteGetAndClear,
    SetPte,
    AllocTable,
    FreeNow,
    FreeDefer,
    TlbRemoveTable,
    GetPage,
    TryGetPage,
    PutPage,
    MaybePinned,
    GupReturn,
    /// `MFENCE` (`smp_mb()`, `weak_wrmsr_fence()`): under `memory = tso` a step that
    /// waits for an empty store buffer; no step under sequential consistency.
    Fence,
    /// The flush IPI without `weak_wrmsr_fence()` (`flush_tlb_others_ipi()` before
    /// ce4e240c279a): under TSO with x2APIC it leaves with stores still buffered.
    BareFlush,
    /// No step on x86 (`smp_rmb()`, `smp_wmb()`: TSO already orders loads and stores).
    Nothing,
    /// A plain store to a shared word.
    WriteOnce,
    /// A plain load of a shared word into a register.
    ReadOnce,
    /// A locked exchange on a shared word (the register optional).
    Xchg,
}

/// A test of an entry value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Test {
    None,
    Present,
    Huge,
    Table,
}

/// One kernel path a block may run: whether it is a lockless walker (replicated by
/// `readers`, looping) and whether it runs the mm (is in `mm_cpumask`, so the native
/// flush IPI reaches it).
pub struct Actor {
    pub name: &'static str,
    pub walker: bool,
    /// `None`: as the `reader` setting says (the classic `reader` block).
    pub in_mm: Option<bool>,
    pub help: &'static str,
}

/// Every kernel path a block may name.
pub static ACTORS: &[Actor] = &[
    Actor {
        name: "khugepaged",
        walker: false,
        in_mm: Some(false),
        help: "khugepaged's collapse (a kernel thread: not in mm_cpumask)",
    },
    Actor {
        name: "fault",
        walker: false,
        in_mm: Some(true),
        help: "a page fault (__handle_mm_fault(), __pte_alloc())",
    },
    Actor {
        name: "madvise",
        walker: false,
        in_mm: Some(true),
        help:
            "madvise(MADV_DONTNEED): zap_page_range_single(), with PT_RECLAIM freeing empty tables",
    },
    Actor {
        name: "mremap",
        walker: false,
        in_mm: Some(true),
        help: "mremap(): move_page_tables(), move_normal_pmd()",
    },
    Actor {
        name: "munmap",
        walker: false,
        in_mm: Some(true),
        help: "munmap(): unmap_region(), zap and free",
    },
    Actor {
        name: "collapse",
        walker: false,
        in_mm: Some(true),
        help: "MADV_COLLAPSE from the process (collapse_huge_page() in process context)",
    },
    Actor {
        name: "reclaim",
        walker: false,
        in_mm: Some(false),
        help: "reclaim or an rmap walk from another CPU (try_to_unmap(): not in mm_cpumask)",
    },
    Actor {
        name: "gup_fast",
        walker: true,
        in_mm: Some(true),
        help: "GUP-fast (gup_fast_pmd_range()): a lockless walker in mm_cpumask",
    },
    Actor {
        name: "walker",
        walker: true,
        in_mm: Some(false),
        help: "__pte_offset_map() from a CPU that does not run the mm",
    },
    Actor {
        name: "reader",
        walker: true,
        in_mm: None,
        help: "a lockless walker of the kind the `reader` setting names",
    },
];

/// The path named `name`.
pub fn actor(name: &str) -> Option<&'static Actor> {
    ACTORS.iter().find(|a| a.name == name)
}
