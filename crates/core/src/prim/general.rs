//! The general machine's primitives, one row each: how a call is written (its arguments
//! and what it returns), the kernel function it models and where, and what it does. The
//! general compiler (`crate::general`) lowers a call by its row's [`Kind`]; the editor's
//! highlighting, `tornsim primitives --general` and the docs read the rows; the classic
//! rows (`super::PRIMS`) are the same functions on the classic machine, and every
//! classic name is a row here too, so a classic file runs on the general machine
//! unchanged.

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

/// One row.
pub struct GPrim {
    pub name: &'static str,
    pub args: &'static [A],
    /// The classic form: the call with no arguments means the default PMD (`pmd`), the
    /// PMD lock, and the implicit locals `pmdval`, `_pmd`, `pgtable`, `ptep`.
    pub classic: bool,
    pub ret: R,
    pub kind: Kind,
    pub help: &'static str,
    pub kernel: &'static str,
    pub file: &'static str,
}

impl GPrim {
    /// How a call is written.
    pub fn usage(&self) -> String {
        let args: Vec<&str> = self
            .args
            .iter()
            .map(|a| match a {
                A::Entry => "pmd",
                A::Value => "val",
                A::Table => "table",
                A::Lock => "ptl",
                A::Page => "page",
                A::Index => "i",
                A::Word => "x",
                A::Num => "1",
            })
            .collect();
        let call = format!("{}({})", self.name, args.join(", "));
        match self.ret {
            R::Nothing => format!("{call};"),
            R::Value => format!("v = {call};"),
            R::Table => format!("t = {call};"),
            R::Lock => format!("ptl = {call};"),
            R::Cond => format!("if ({call})"),
            R::Reg => format!("r0 = {call};"),
        }
    }
}

macro_rules! row {
    ($name:literal, [$($a:ident),*], $classic:literal, $ret:ident, $kind:expr, $help:literal, $kernel:literal, $file:literal) => {
        GPrim { name: $name, args: &[$(A::$a),*], classic: $classic, ret: R::$ret, kind: $kind, help: $help, kernel: $kernel, file: $file }
    };
}

/// Every primitive of the general machine.
pub static GPRIMS: &[GPrim] = &[
    row!("pmd_lock", [Entry], true, Lock, Kind::PmdLock, "take the PMD's page-table lock, spinning with interrupts enabled", "pmd_lock()", "include/linux/mm.h"),
    row!("pte_lockptr", [Value], false, Lock, Kind::PteLock, "the split PTE lock of the table a PMD value points to (it lives in the table's page); take it with spin_lock()", "pte_lockptr()", "include/linux/mm.h"),
    row!("spin_lock", [Lock], false, Nothing, Kind::SpinLock, "take a spinlock, spinning with interrupts enabled", "spin_lock()", "include/linux/spinlock.h"),
    row!("spin_unlock", [Lock], true, Nothing, Kind::SpinUnlock, "release a spinlock", "spin_unlock()", "include/linux/spinlock.h"),
    row!("spin_trylock", [Lock], false, Cond, Kind::SpinTrylock, "take a spinlock if it is free: true if taken", "spin_trylock()", "include/linux/spinlock.h"),
    row!("mmap_read_lock", [], false, Nothing, Kind::MmapLock { write: false }, "take mmap_lock for reading (sleeps while a writer holds it)", "mmap_read_lock()", "include/linux/mmap_lock.h"),
    row!("mmap_read_unlock", [], false, Nothing, Kind::MmapUnlock { write: false }, "release mmap_lock for reading", "mmap_read_unlock()", "include/linux/mmap_lock.h"),
    row!("mmap_write_lock", [], false, Nothing, Kind::MmapLock { write: true }, "take mmap_lock for writing (sleeps while anyone holds it)", "mmap_write_lock()", "include/linux/mmap_lock.h"),
    row!("mmap_write_unlock", [], false, Nothing, Kind::MmapUnlock { write: true }, "release mmap_lock for writing, and with it the VMA write lock", "mmap_write_unlock()", "include/linux/mmap_lock.h"),
    row!("i_mmap_lock_read", [], false, Nothing, Kind::IMmapLock { write: false }, "take the file's i_mmap_rwsem for reading", "i_mmap_lock_read()", "include/linux/fs.h"),
    row!("i_mmap_unlock_read", [], false, Nothing, Kind::IMmapUnlock { write: false }, "release i_mmap_rwsem for reading", "i_mmap_unlock_read()", "include/linux/fs.h"),
    row!("i_mmap_lock_write", [], false, Nothing, Kind::IMmapLock { write: true }, "take the file's i_mmap_rwsem for writing", "i_mmap_lock_write()", "include/linux/fs.h"),
    row!("i_mmap_unlock_write", [], false, Nothing, Kind::IMmapUnlock { write: true }, "release i_mmap_rwsem for writing", "i_mmap_unlock_write()", "include/linux/fs.h"),
    row!("vma_start_write", [], false, Nothing, Kind::VmaStartWrite, "write-lock the VMA (needs mmap_write_lock()): waits for its readers; held until mmap_write_unlock()", "vma_start_write()", "include/linux/mm.h"),
    row!("vma_start_read", [], false, Cond, Kind::VmaStartRead, "read-lock the VMA as lock_vma_under_rcu() does: false (fall back to mmap_lock) while it is write-locked", "vma_start_read() / lock_vma_under_rcu()", "mm/memory.c"),
    row!("vma_end_read", [], false, Nothing, Kind::VmaEndRead, "release the VMA read lock", "vma_end_read()", "include/linux/mm.h"),
    row!("local_irq_save", [], true, Nothing, Kind::IrqOff, "disable interrupts: from here this CPU answers no IPI, and an RCU grace period waits for it", "local_irq_save()", "include/linux/irqflags.h"),
    row!("local_irq_restore", [], true, Nothing, Kind::IrqOn, "enable interrupts: a quiescent state for RCU-deferred frees", "local_irq_restore()", "include/linux/irqflags.h"),
    row!("flush_tlb_range", [Entry], true, Nothing, Kind::Flush, "the TLB flush, as `flush` says: ipi waits for every CPU in mm_cpumask (so for IRQ-off walkers); invlpgb, rar and hypercall wait for no walker", "flush_tlb_range() / flush_tlb_multi()", "arch/x86/mm/tlb.c"),
    row!("flush_tlb_others_ipi", [], true, Nothing, Kind::BareFlush, "the TLB flush without the x2APIC fence: under memory = tso with apic = x2apic the IPI leaves before earlier stores drain; otherwise the same as flush_tlb_range()", "flush_tlb_others_ipi()", "arch/x86/kernel/tlb_32.c (v2.6.28)"),
    row!("pmdp_get_lockless_sync", [], true, Nothing, Kind::LocklessSync, "an IPI broadcast that waits for every other CPU, where the PMD is read in halves (PAE with CONFIG_MMU_GATHER_RCU_TABLE_FREE); nothing elsewhere", "pmdp_get_lockless_sync()", "include/linux/pgtable.h"),
    row!("tlb_remove_table_sync_one", [], true, Nothing, Kind::SyncOne, "an IPI broadcast to every other CPU, waiting for each to answer (so for every IRQ-off walker)", "tlb_remove_table_sync_one()", "mm/mmu_gather.c"),
    row!("pmdp_collapse_flush", [Entry], true, Value, Kind::CollapseFlush, "clear the PMD and flush the TLB; gives the old value", "pmdp_collapse_flush()", "mm/pgtable-generic.c"),
    row!("pmdp_collapse_flush_sync", [Entry], true, Value, Kind::CollapseFlushSync, "the v3 proposal: clear, flush, and the sync broadcast only if the flush sent no IPI", "pmdp_collapse_flush_sync() (proposed)", "mm/khugepaged.c (proposed)"),
    row!("pmdp_huge_get_and_clear", [Entry], true, Value, Kind::GetAndClear, "clear the PMD without a flush; gives the old value", "pmdp_huge_get_and_clear()", "arch/x86/include/asm/pgtable-3level.h"),
    row!("pmd_clear", [Entry], true, Nothing, Kind::PmdClear, "clear the PMD with plain stores (two under PAE: pmd_low, then pmd_high)", "pmd_clear()", "arch/x86/include/asm/pgtable-3level.h"),
    row!("pmd_populate", [Entry, Table], true, Nothing, Kind::Populate, "install a page table in the PMD (a bogus-table hazard if the table is none or not a table)", "pmd_populate() / set_pmd()", "arch/x86/include/asm/pgalloc.h"),
    row!("set_pmd_at", [Entry, Page], false, Nothing, Kind::SetHuge, "install a huge page in the PMD", "set_pmd_at()", "arch/x86/include/asm/pgtable.h"),
    row!("pmdp_get_lockless", [Entry], true, Value, Kind::GetLockless, "read the PMD without a lock: pmd_low, pmd_high, pmd_low again (retrying if it changed) under PAE; one load on 64-bit", "pmdp_get_lockless()", "include/linux/pgtable.h"),
    row!("pmdp_get", [Entry], true, Value, Kind::Get, "a plain read: two loads under PAE with no re-check (safe only under the lock); one load on 64-bit", "pmdp_get()", "include/linux/pgtable.h"),
    row!("read_pmd_low", [], true, Nothing, Kind::ReadLow, "one 32-bit load of pmd_low; the last load of a run completes the read", "pmdp_get_lockless(): pmd_low", "include/linux/pgtable.h"),
    row!("read_pmd_high", [], true, Nothing, Kind::ReadHigh, "one 32-bit load of pmd_high; the last load of a run completes the read", "pmdp_get_lockless(): pmd_high", "include/linux/pgtable.h"),
    row!("recheck_pmd_low", [], true, Nothing, Kind::RecheckLow, "load pmd_low again: retry the read if it changed", "pmdp_get_lockless(): the re-check", "include/linux/pgtable.h"),
    row!("recheck_pmd_high", [], true, Nothing, Kind::RecheckHigh, "load pmd_high again: retry the read if it changed", "(a variant protocol)", "-"),
    row!("read_pmd_atomic", [], true, Nothing, Kind::ReadAtomic, "one atomic 64-bit load (cmpxchg8b)", "pmdp_get_lockless() without CONFIG_GUP_GET_PXX_LOW_HIGH", "include/linux/pgtable.h"),
    row!("pmd_none", [Value], true, Cond, Kind::Test(Test::None), "the value is none (as the classic fault writes it, 'if (pmd_none())' tests the PMD itself, both halves in one step under the lock)", "pmd_none()", "arch/x86/include/asm/pgtable.h"),
    row!("pmd_present", [Value], false, Cond, Kind::Test(Test::Present), "the value is present", "pmd_present()", "arch/x86/include/asm/pgtable.h"),
    row!("pmd_trans_huge", [Value], false, Cond, Kind::Test(Test::Huge), "the value maps a huge page", "pmd_trans_huge()", "include/linux/huge_mm.h"),
    row!("pmd_is_table", [Value], false, Cond, Kind::Test(Test::Table), "the value points to a page table (present and not huge: !pmd_leaf() && !pmd_bad())", "!pmd_leaf() && !pmd_bad()", "include/linux/pgtable.h"),
    row!("pte_none", [Value], false, Cond, Kind::Test(Test::None), "the PTE value is none", "pte_none()", "arch/x86/include/asm/pgtable.h"),
    row!("pte_present", [Value], false, Cond, Kind::Test(Test::Present), "the PTE value is present", "pte_present()", "arch/x86/include/asm/pgtable.h"),
    row!("pmd_same", [Value, Entry], false, Cond, Kind::PmdSame, "the value equals the PMD now (one load of the whole entry: the re-check after a pin or under the lock)", "pmd_same(pmdval, pmdp_get(pmd))", "include/linux/pgtable.h"),
    row!("pte_same", [Value, Table, Index], false, Cond, Kind::PteSame, "the value equals the table's PTE now", "pte_same(pte, ptep_get(ptep))", "include/linux/pgtable.h"),
    row!("pte_range_none", [Table], false, Cond, Kind::PteRangeNone, "every PTE of the table is none (one step, under the PTE lock)", "pte_range_none() / the empty-table check of try_get_and_clear_pmd()", "mm/pt_reclaim.c"),
    row!("pte_offset_map", [Value], true, Table, Kind::PteOffsetMap, "use the table a PMD value points to (a stale hazard if it was freed); none or a huge page gives no table, and no step (__pte_offset_map()'s nomap: a test of the value)", "pte_offset_map() / __pte_offset_map()", "mm/pgtable-generic.c"),
    row!("ptep_get_lockless", [Table, Index], false, Value, Kind::PteGetLockless, "read a PTE of the table without a lock (three loads under PAE; a freed-table hazard if the table was freed)", "ptep_get_lockless()", "include/linux/pgtable.h"),
    row!("ptep_get", [Table, Index], false, Value, Kind::PteGet, "read a PTE (one load of the whole entry: under the PTE lock)", "ptep_get()", "include/linux/pgtable.h"),
    row!("pte_clear", [Table, Index], false, Nothing, Kind::PteClear, "clear a PTE", "pte_clear()", "arch/x86/include/asm/pgtable.h"),
    row!("ptep_get_and_clear", [Table, Index], false, Value, Kind::PteGetAndClear, "clear a PTE; gives the old value", "ptep_get_and_clear()", "arch/x86/include/asm/pgtable.h"),
    row!("set_pte", [Table, Index, Page], false, Nothing, Kind::SetPte, "map a page at a PTE of the table", "set_pte_at()", "arch/x86/include/asm/pgtable.h"),
    row!("pte_alloc_one", [], true, Table, Kind::AllocTable, "allocate a new page table (its frame: `alloc`)", "pte_alloc_one()", "mm/memory.c (__pte_alloc)"),
    row!("pte_free", [Table], true, Nothing, Kind::FreeNow, "free a page table at once (a nonempty-free hazard if a PTE is still present)", "pte_free()", "include/asm-generic/pgalloc.h"),
    row!("pte_free_defer", [Table], true, Nothing, Kind::FreeDefer, "free a page table after an RCU grace period: once every CPU that had interrupts off has enabled them (`free = immediate` makes it pte_free())", "pte_free_defer()", "mm/pgtable-generic.c"),
    row!("tlb_remove_table", [Table], false, Nothing, Kind::TlbRemoveTable, "free a page table through the mmu_gather: after an RCU grace period with CONFIG_MMU_GATHER_RCU_TABLE_FREE (paravirt = on; every x86 kernel since a37259732a7d), else at once after the flush", "tlb_remove_table()", "mm/mmu_gather.c"),
    row!("get_page", [Page], false, Nothing, Kind::GetPage, "take a reference unconditionally (a freed-page hazard if the count was zero)", "get_page() / folio_get()", "include/linux/mm.h"),
    row!("try_get_page", [Page], false, Cond, Kind::TryGetPage, "take a reference unless the count is zero: true if taken", "try_get_page() / folio_try_get()", "include/linux/mm.h"),
    row!("put_page", [Page], false, Nothing, Kind::PutPage, "drop a reference; the last one frees the page", "put_page() / folio_put()", "include/linux/mm.h"),
    row!("folio_maybe_dma_pinned", [Page], false, Cond, Kind::MaybePinned, "the page has more references than mappings (someone pinned it)", "folio_maybe_dma_pinned() / the refcount check of __collapse_huge_page_isolate()", "include/linux/mm.h, mm/khugepaged.c"),
    row!("gup_return", [Page], false, Nothing, Kind::GupReturn, "GUP-fast hands the page it pinned to its caller, who keeps the pin to the end of the run: a stale-pin hazard if the PMD and PTE it was read through no longer map it then", "gup_fast() returning a page", "mm/gup.c"),
    row!("weak_wrmsr_fence", [], true, Nothing, Kind::Fence, "MFENCE; LFENCE: under memory = tso a step that waits for an empty store buffer; no step under memory = sc", "weak_wrmsr_fence()", "arch/x86/include/asm/barrier.h"),
    row!("smp_mb", [], true, Nothing, Kind::Fence, "a full barrier (a locked add on x86): under memory = tso a step that waits for an empty store buffer; no step under memory = sc", "smp_mb()", "arch/x86/include/asm/barrier.h"),
    row!("smp_rmb", [], true, Nothing, Kind::Nothing, "no step on x86", "smp_rmb()", "arch/x86/include/asm/barrier.h"),
    row!("smp_wmb", [], true, Nothing, Kind::Nothing, "no step on x86", "smp_wmb()", "arch/x86/include/asm/barrier.h"),
    row!("WRITE_ONCE", [Word, Num], false, Nothing, Kind::WriteOnce, "a plain store of a number to a shared word (buffered under memory = tso)", "WRITE_ONCE()", "include/asm-generic/rwonce.h"),
    row!("READ_ONCE", [Word], false, Reg, Kind::ReadOnce, "a plain load of a shared word into a register (its own buffered store first under memory = tso)", "READ_ONCE()", "include/asm-generic/rwonce.h"),
    row!("xchg", [Word, Num], false, Reg, Kind::Xchg, "a locked exchange: the word takes the number, the register (if any: 'r0 = xchg(x, 1);') its old value", "xchg()", "arch/x86/include/asm/cmpxchg.h"),
];

/// The row for `name`.
pub fn lookup(name: &str) -> Option<&'static GPrim> {
    GPRIMS.iter().find(|p| p.name == name)
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

/// The rows as Markdown, for `tornsim primitives --markdown` and the docs.
pub fn markdown() -> String {
    let mut s = String::from("| call | what it does | kernel |\n|---|---|---|\n");
    for p in GPRIMS {
        s.push_str(&format!(
            "| `{}` | {} | `{}` in {} |\n",
            p.usage(),
            p.help,
            p.kernel,
            p.file
        ));
    }
    s.push_str("\n| block | walker | in mm_cpumask | what it is |\n|---|---|---|---|\n");
    for a in ACTORS {
        s.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            a.name,
            if a.walker { "yes" } else { "no" },
            match a.in_mm {
                Some(true) => "yes",
                Some(false) => "no",
                None => "as `reader` says",
            },
            a.help
        ));
    }
    s
}
