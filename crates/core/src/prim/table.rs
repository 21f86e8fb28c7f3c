//! The table of primitives itself: one row per kernel function a scenario may call, in
//! a classic file or a general one.

use super::general::{Kind, Test, A, R};
use super::op::{role, Lowering, Op, Use};
use crate::knob::{ClearKind, FreeKind, Memory, Mode, SetKind};

/// One row: how a call is written (its arguments and what it gives back), how the
/// general compiler lowers it, what it does, the kernel function it models and where,
/// and, for the calls a classic file may make, the classic machine's steps.
pub struct Prim {
    pub name: &'static str,
    pub args: &'static [A],
    pub ret: R,
    /// How the general compiler (`crate::general`) lowers it.
    pub kind: Kind,
    /// What it does, in one sentence.
    pub help: &'static str,
    /// Where the kernel does it: function, and file in a v6.x tree.
    pub kernel: &'static str,
    pub file: &'static str,
    /// Its form in a classic file: the call with no arguments means the default PMD
    /// (`pmd`), the PMD lock and the implicit locals (`pmdval`, `_pmd`, `pgtable`,
    /// `ptep`); the shared-word calls keep their arguments.
    pub classic: Option<Classic>,
}

/// What a call compiles to on the classic machine, and what a classic file may call.
pub struct Classic {
    /// [`role`] bits: the blocks that may call it.
    pub roles: u8,
    /// The steps it compiles to under a configuration's knobs.
    pub ops: fn(&Lowering) -> Vec<Op>,
    /// Its meaning per mode, where the modes differ.
    pub modes: &'static str,
    /// Its steps under `memory = tso`, with the kernel code that makes them so.
    pub tso: &'static str,
}

impl Prim {
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

    /// How a classic file uses it: a shared-word call by its arguments and result,
    /// every other one bare.
    pub fn classic_use(&self) -> Use {
        match (self.ret, self.args) {
            (R::Cond, _) => Use::Condition,
            (R::Nothing, [A::Word, ..]) => Use::Write,
            (R::Reg, [A::Word]) => Use::Read,
            (R::Reg, _) => Use::Exchange,
            _ => Use::Call,
        }
    }

    /// The general compiler accepts the call with no arguments, in its classic meaning.
    pub fn bare(&self) -> bool {
        self.classic.is_some() && matches!(self.classic_use(), Use::Call | Use::Condition)
    }
}

/// One row: `row!(name, [ARG, …] -> RET, kind, help, kernel, file[, Classic { … }])`.
macro_rules! row {
    ($name:literal, [$($a:ident),*] -> $ret:ident, $kind:expr, $help:literal, $kernel:literal, $file:literal $(, $classic:expr)?) => {
        Prim {
            name: $name,
            args: &[$(A::$a),*],
            ret: R::$ret,
            kind: $kind,
            help: $help,
            kernel: $kernel,
            file: $file,
            classic: row!(@classic $($classic)?),
        }
    };
    (@classic) => { None };
    (@classic $c:expr) => { Some($c) };
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

/// A fence (`MFENCE`, or a locked add to the stack): a step only under TSO, where it
/// waits for an empty store buffer; under SC it would be a step that does nothing.
fn fence_ops(c: &Lowering) -> Vec<Op> {
    if c.memory == Memory::Tso {
        vec![Op::Fence]
    } else {
        vec![]
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

/// Every primitive, in the order `tornsim primitives` lists them: locks, interrupts,
/// flushes and syncs, PMD writes and reads, tests, PTEs, tables, pages, barriers,
/// shared words.
#[rustfmt::skip]
pub static PRIMS: &[Prim] = &[
    row!("pmd_lock", [Entry] -> Lock, Kind::PmdLock,
        "take the PMD's page-table lock (the PTL), spinning with interrupts enabled while another CPU holds it",
        "pmd_lock() / spin_lock(ptl)", "include/linux/mm.h",
        Classic {
            roles: role::ANY,
            ops: |_| vec![Op::Lock],
            modes: "the same in every mode",
            tso: "locked: arch_spin_lock() is a `lock`-prefixed xadd, so it waits for an empty store buffer",
        }),
    row!("pte_lockptr", [Value] -> Lock, Kind::PteLock,
        "the split PTE lock of the table a PMD value points to (it lives in the table's page); take it with spin_lock()",
        "pte_lockptr()", "include/linux/mm.h"),
    row!("spin_lock", [Lock] -> Nothing, Kind::SpinLock,
        "take a spinlock, spinning with interrupts enabled",
        "spin_lock()", "include/linux/spinlock.h"),
    row!("spin_unlock", [Lock] -> Nothing, Kind::SpinUnlock,
        "release a spinlock; a classic file's `spin_unlock();` releases the PTL, and as the last line of `do { … } while (!installed);` loops back until the table is installed",
        "spin_unlock(ptl)", "include/linux/spinlock.h",
        Classic {
            roles: role::ANY,
            ops: |_| vec![Op::Unlock],
            modes: "the same in every mode",
            tso: "a plain store: arch_spin_unlock() on x86 is a release store with no lock prefix, so it waits in the store buffer",
        }),
    row!("spin_trylock", [Lock] -> Cond, Kind::SpinTrylock,
        "take a spinlock if it is free: true if taken",
        "spin_trylock()", "include/linux/spinlock.h"),
    row!("mmap_read_lock", [] -> Nothing, Kind::MmapLock { write: false },
        "take mmap_lock for reading (sleeps while a writer holds it)",
        "mmap_read_lock()", "include/linux/mmap_lock.h"),
    row!("mmap_read_unlock", [] -> Nothing, Kind::MmapUnlock { write: false },
        "release mmap_lock for reading",
        "mmap_read_unlock()", "include/linux/mmap_lock.h"),
    row!("mmap_write_lock", [] -> Nothing, Kind::MmapLock { write: true },
        "take mmap_lock for writing (sleeps while anyone holds it)",
        "mmap_write_lock()", "include/linux/mmap_lock.h"),
    row!("mmap_write_unlock", [] -> Nothing, Kind::MmapUnlock { write: true },
        "release mmap_lock for writing, and with it the VMA write lock",
        "mmap_write_unlock()", "include/linux/mmap_lock.h"),
    row!("i_mmap_lock_read", [] -> Nothing, Kind::IMmapLock { write: false },
        "take the file's i_mmap_rwsem for reading",
        "i_mmap_lock_read()", "include/linux/fs.h"),
    row!("i_mmap_unlock_read", [] -> Nothing, Kind::IMmapUnlock { write: false },
        "release i_mmap_rwsem for reading",
        "i_mmap_unlock_read()", "include/linux/fs.h"),
    row!("i_mmap_lock_write", [] -> Nothing, Kind::IMmapLock { write: true },
        "take the file's i_mmap_rwsem for writing",
        "i_mmap_lock_write()", "include/linux/fs.h"),
    row!("i_mmap_unlock_write", [] -> Nothing, Kind::IMmapUnlock { write: true },
        "release i_mmap_rwsem for writing",
        "i_mmap_unlock_write()", "include/linux/fs.h"),
    row!("vma_start_write", [] -> Nothing, Kind::VmaStartWrite,
        "write-lock the VMA (needs mmap_write_lock()): waits for its readers; held until mmap_write_unlock()",
        "vma_start_write()", "include/linux/mm.h"),
    row!("vma_start_read", [] -> Cond, Kind::VmaStartRead,
        "read-lock the VMA as lock_vma_under_rcu() does: false (fall back to mmap_lock) while it is write-locked",
        "vma_start_read() / lock_vma_under_rcu()", "mm/memory.c"),
    row!("vma_end_read", [] -> Nothing, Kind::VmaEndRead,
        "release the VMA read lock",
        "vma_end_read()", "include/linux/mm.h"),
    row!("local_irq_save", [] -> Nothing, Kind::IrqOff,
        "disable interrupts: from here this CPU answers no IPI, and an RCU grace period waits for it",
        "local_irq_save() (gup_fast(), pmdp_get_lockless_start())", "include/linux/irqflags.h, mm/gup.c, include/linux/pgtable.h",
        Classic {
            roles: role::READER,
            ops: |_| vec![Op::IrqOff],
            modes: "the same in every mode (a hypervisor may still preempt the vCPU: kvm-pv-flush)",
            tso: "cli: no memory access, not serializing",
        }),
    row!("local_irq_restore", [] -> Nothing, Kind::IrqOn,
        "enable interrupts: a quiescent state for RCU-deferred frees (pte_free_defer())",
        "local_irq_restore() (gup_fast(), pmdp_get_lockless_end())", "include/linux/irqflags.h, mm/gup.c, include/linux/pgtable.h",
        Classic {
            roles: role::READER,
            ops: |_| vec![Op::IrqOn],
            modes: "the same in every mode",
            tso: "sti/popf: no memory access, not serializing",
        }),
    row!("flush_tlb_range", [Entry] -> Nothing, Kind::Flush,
        "the TLB flush, as `flush` says: ipi waits for every CPU in mm_cpumask (so for IRQ-off walkers); invlpgb, rar and hypercall wait for no walker",
        "flush_tlb_range() / flush_tlb_multi()", "arch/x86/mm/tlb.c",
        Classic {
            roles: role::COLLAPSER,
            ops: |c| ipi_ops(c, Op::Flush),
            modes: "native-pae, non-pae: native_flush_tlb_multi() IPIs mm_cpumask and waits; kvm-pv-flush: kvm_flush_tlb_multi() skips preempted vCPUs; xen-pv, hyperv: a hypercall that waits for nobody",
            tso: "weak_wrmsr_fence() then the IPI on x2APIC (x2apic_send_IPI_mask()); an MMIO write ordered after earlier stores on xAPIC; a serializing WRMSR on x2APIC AMD; a serializing hypercall under xen-pv and hyperv",
        }),
    row!("flush_tlb_others_ipi", [] -> Nothing, Kind::BareFlush,
        "the TLB flush IPI to mm_cpumask, and the wait, with no fence before the x2APIC WRMSR: the flush path before ce4e240c279a (\"x86: add x2apic_wrmsr_fence() to x2apic flush tlb paths\"); under memory = tso with apic = x2apic the IPI leaves before earlier stores drain, otherwise it is flush_tlb_range()",
        "flush_tlb_others_ipi() -> send_IPI_mask() before ce4e240c279a", "arch/x86/kernel/tlb_32.c (v2.6.28)",
        Classic {
            roles: role::COLLAPSER,
            ops: |_| vec![Op::Flush],
            modes: "as flush_tlb_range(): an IPI where the flush sends one, a hypercall under xen-pv and hyperv",
            tso: "x2apic: the IPI leaves with the sender's stores still buffered; xapic and x2apic-amd: ordered after them",
        }),
    row!("pmdp_get_lockless_sync", [] -> Nothing, Kind::LocklessSync,
        "wait until no lockless walker can still hold the old PMD: an IPI broadcast that waits for every other CPU, where the PMD is read in halves (PAE with CONFIG_MMU_GATHER_RCU_TABLE_FREE); nothing elsewhere",
        "pmdp_get_lockless_sync() -> tlb_remove_table_sync_one()", "include/linux/pgtable.h, mm/mmu_gather.c",
        Classic {
            roles: role::COLLAPSER,
            ops: |c| {
                if c.sync_is_ipi() {
                    ipi_ops(c, Op::Sync)
                } else {
                    vec![]
                }
            },
            modes: "an IPI to every other CPU that waits for all (native-pae with paravirt on, xen-pv, kvm-pv-flush, hyperv); nothing at all on non-pae or with paravirt off (no CONFIG_MMU_GATHER_RCU_TABLE_FREE)",
            tso: "as tlb_remove_table_sync_one(): smp_call_function() sends the IPI through the same APIC paths as the flush, fence and all",
        }),
    row!("tlb_remove_table_sync_one", [] -> Nothing, Kind::SyncOne,
        "an IPI broadcast to every other CPU, waiting for each to answer (so for every IRQ-off walker), in every mode (the v1 patch's first version called it directly)",
        "tlb_remove_table_sync_one()", "mm/mmu_gather.c",
        Classic {
            roles: role::COLLAPSER,
            ops: |c| ipi_ops(c, Op::Sync),
            modes: "the same in every mode, non-pae included",
            tso: "weak_wrmsr_fence() then the IPI on x2APIC; ordered after earlier stores on xAPIC and x2APIC AMD; a hypercall (serializing) under xen-pv",
        }),
    row!("pmdp_collapse_flush", [Entry] -> Value, Kind::CollapseFlush,
        "clear the PMD (pmdp_huge_get_and_clear()) and flush the TLB (flush_tlb_range()); gives the old value",
        "pmdp_collapse_flush()", "mm/pgtable-generic.c",
        Classic {
            roles: role::COLLAPSER,
            ops: |c| {
                let mut v = clear_ops(c);
                v.extend(ipi_ops(c, Op::Flush));
                v
            },
            modes: "the clear is one 64-bit xchg or two 32-bit stores (`clear`); the flush is an IPI to mm_cpumask that waits (native-pae, non-pae, kvm-pv-flush: skipping preempted vCPUs) or a hypercall that waits for nobody (xen-pv, hyperv)",
            tso: "the clear as `clear` says (an xchg is locked; pmd_high = 0 is a plain buffered store); the flush IPI as `apic` says, after weak_wrmsr_fence() on x2APIC as native_send_call_func_ipi() -> x2apic_send_IPI_mask() does; a hypercall flush is serializing",
        }),
    row!("pmdp_collapse_flush_sync", [Entry] -> Value, Kind::CollapseFlushSync,
        "the v3 proposal: clear, flush, and the sync broadcast only if the flush sent no IPI; gives the old value",
        "pmdp_collapse_flush_sync() (proposed, v3, Jan 2026)", "mm/khugepaged.c (proposed)",
        Classic {
            roles: role::COLLAPSER,
            ops: |c| {
                let mut v = clear_ops(c);
                v.extend(ipi_ops(c, Op::Flush));
                if c.sync_is_ipi() {
                    v.extend(ipi_ops(c, Op::Sync));
                }
                v
            },
            modes: "native-pae: the flush IPIs mm_cpumask, so the sync is skipped; xen-pv, hyperv: the hypercall sends none, so the sync runs; non-pae or paravirt off: no sync",
            tso: "as pmdp_collapse_flush() and, when it runs, tlb_remove_table_sync_one()",
        }),
    row!("pmdp_huge_get_and_clear", [Entry] -> Value, Kind::GetAndClear,
        "clear the PMD without a flush; gives the old value",
        "pmdp_huge_get_and_clear() / native_pmdp_get_and_clear()", "arch/x86/include/asm/pgtable-3level.h",
        Classic {
            roles: role::COLLAPSER,
            ops: clear_ops,
            modes: "one 64-bit xchg (`clear = xchg64`) or pmd_low then pmd_high (`clear = split-low-first`)",
            tso: "xchg64 (pxx_xchg64, cmpxchg8b) is locked; split-low-first is xchg(&pmd_low, 0), locked, then pmd_high = 0, a plain buffered store (native_pmdp_get_and_clear() before v6.2)",
        }),
    row!("pmd_clear", [Entry] -> Nothing, Kind::PmdClear,
        "clear the PMD with plain stores, two under PAE, pmd_low then pmd_high (what the PMD clear was before page tables were freed by RCU: no locked instruction)",
        "pmd_clear() / native_pmd_clear(): pmd_low = 0; smp_wmb(); pmd_high = 0", "arch/x86/include/asm/pgtable-3level.h",
        Classic {
            roles: role::COLLAPSER,
            ops: |_| vec![Op::ClearLowStore, Op::ClearHigh],
            modes: "two 32-bit stores in every mode",
            tso: "two plain stores, both buffered: other CPUs can read the old PMD until they drain",
        }),
    row!("pmd_populate", [Entry, Table] -> Nothing, Kind::Populate,
        "install a page table in the PMD (a bogus-table hazard if the table is none or not a table)",
        "pmd_populate() / set_pmd()", "arch/x86/include/asm/pgalloc.h",
        Classic {
            roles: role::POPULATOR,
            ops: set_ops,
            modes: "one 64-bit store (`set = xchg64`) or pmd_high then pmd_low (`set = split-high-first`)",
            tso: "xchg64 (set_pmd() via pxx_xchg64/cmpxchg8b) is locked; split-high-first is two WRITE_ONCE() stores, both buffered, drained in program order",
        }),
    row!("set_pmd_at", [Entry, Page] -> Nothing, Kind::SetHuge,
        "install a huge page in the PMD",
        "set_pmd_at()", "arch/x86/include/asm/pgtable.h"),
    row!("pmdp_get_lockless", [Entry] -> Value, Kind::GetLockless,
        "read the PMD without a lock: pmd_low, pmd_high, then pmd_low again, retrying if it changed, under PAE; one load on 64-bit",
        "pmdp_get_lockless()", "include/linux/pgtable.h",
        Classic {
            roles: role::READER,
            ops: |c| read_ops(c, true),
            modes: "three 32-bit loads (PAE modes); one atomic 64-bit load on non-pae",
            tso: "loads from memory (readers buffer no PMD stores); x86-TSO keeps them in program order",
        }),
    row!("pmdp_get", [Entry] -> Value, Kind::Get,
        "a plain read of the PMD with no re-check, safe only while the PTL is held: two loads under PAE, one on 64-bit",
        "pmdp_get() (READ_ONCE(*pmdp))", "include/linux/pgtable.h",
        Classic {
            roles: role::READER,
            ops: |c| read_ops(c, false),
            modes: "two 32-bit loads, pmd_low then pmd_high (PAE modes); one atomic 64-bit load on non-pae",
            tso: "loads from memory",
        }),
    row!("read_pmd_low", [] -> Nothing, Kind::ReadLow,
        "one 32-bit load of pmd_low; the last load of a run of loads completes the read",
        "pmdp_get_lockless(): pmd.pmd_low = pmdp->pmd_low", "include/linux/pgtable.h",
        Classic {
            roles: role::READER,
            ops: |_| vec![Op::LoadLow],
            modes: "a 32-bit load in every mode (write your own read protocol)",
            tso: "a load from memory",
        }),
    row!("read_pmd_high", [] -> Nothing, Kind::ReadHigh,
        "one 32-bit load of pmd_high; the last load of a run of loads completes the read",
        "pmdp_get_lockless(): pmd.pmd_high = pmdp->pmd_high", "include/linux/pgtable.h",
        Classic {
            roles: role::READER,
            ops: |_| vec![Op::LoadHigh],
            modes: "a 32-bit load in every mode",
            tso: "a load from memory",
        }),
    row!("recheck_pmd_low", [] -> Nothing, Kind::RecheckLow,
        "load pmd_low again: if it changed, retry from the read's first load; else the read returns",
        "pmdp_get_lockless(): while (pmd.pmd_low != pmdp->pmd_low)", "include/linux/pgtable.h",
        Classic {
            roles: role::READER,
            ops: |_| vec![Op::RecheckLow],
            modes: "a 32-bit load in every mode",
            tso: "a load from memory",
        }),
    row!("recheck_pmd_high", [] -> Nothing, Kind::RecheckHigh,
        "load pmd_high again: if it changed, retry from the read's first load; else the read returns",
        "(a variant protocol: no kernel reads high first)", "-",
        Classic {
            roles: role::READER,
            ops: |_| vec![Op::RecheckHigh],
            modes: "a 32-bit load in every mode",
            tso: "a load from memory",
        }),
    row!("read_pmd_atomic", [] -> Nothing, Kind::ReadAtomic,
        "one atomic 64-bit load (cmpxchg8b): the whole read in one step",
        "pmdp_get_lockless() without CONFIG_GUP_GET_PXX_LOW_HIGH", "include/linux/pgtable.h",
        Classic {
            roles: role::READER,
            ops: |_| vec![Op::Load64],
            modes: "a 64-bit load in every mode",
            tso: "cmpxchg8b with a lock prefix: a locked load of both halves",
        }),
    row!("pmd_none", [Value] -> Cond, Kind::Test(Test::None),
        "the value is none; a classic file's `if (pmd_none())` tests the PMD itself, both halves in one step (the fault holds the PTL, so no half changes under it), as pmd_install() does",
        "pmd_none() (pmd_install(): pmd_none(*pmd))", "arch/x86/include/asm/pgtable.h, mm/memory.c",
        Classic {
            roles: role::POPULATOR,
            ops: |_| vec![Op::CheckNone],
            modes: "the same in every mode",
            tso: "a load: the fault's own buffered PMD stores first, then memory",
        }),
    row!("pmd_present", [Value] -> Cond, Kind::Test(Test::Present),
        "the value is present",
        "pmd_present()", "arch/x86/include/asm/pgtable.h"),
    row!("pmd_trans_huge", [Value] -> Cond, Kind::Test(Test::Huge),
        "the value maps a huge page",
        "pmd_trans_huge()", "include/linux/huge_mm.h"),
    row!("pmd_is_table", [Value] -> Cond, Kind::Test(Test::Table),
        "the value points to a page table (present and not huge: !pmd_leaf() && !pmd_bad())",
        "!pmd_leaf() && !pmd_bad()", "include/linux/pgtable.h"),
    row!("pte_none", [Value] -> Cond, Kind::Test(Test::None),
        "the PTE value is none",
        "pte_none()", "arch/x86/include/asm/pgtable.h"),
    row!("pte_present", [Value] -> Cond, Kind::Test(Test::Present),
        "the PTE value is present",
        "pte_present()", "arch/x86/include/asm/pgtable.h"),
    row!("pmd_same", [Value, Entry] -> Cond, Kind::PmdSame,
        "the value equals the PMD now (one load of the whole entry: the re-check after a pin or under the lock)",
        "pmd_same(pmdval, pmdp_get(pmd))", "include/linux/pgtable.h"),
    row!("pte_same", [Value, Table, Index] -> Cond, Kind::PteSame,
        "the value equals the table's PTE now",
        "pte_same(pte, ptep_get(ptep))", "include/linux/pgtable.h"),
    row!("pte_range_none", [Table] -> Cond, Kind::PteRangeNone,
        "every PTE of the table is none (one step, under the PTE lock)",
        "pte_range_none() / the empty-table check of try_get_and_clear_pmd()", "mm/pt_reclaim.c"),
    row!("pte_offset_map", [Value] -> Table, Kind::PteOffsetMap,
        "use the table a PMD value points to (a stale hazard if it was freed); none or a huge page gives no table, and no step (__pte_offset_map()'s nomap: a test of the value; a classic reader's call is skipped when its read returned a none PMD)",
        "pte_offset_map() / __pte_offset_map()", "mm/pgtable-generic.c, mm/gup.c",
        Classic {
            roles: role::READER,
            ops: |_| vec![Op::Deref],
            modes: "the same in every mode",
            tso: "no PMD access: it uses the table the read returned",
        }),
    row!("ptep_get_lockless", [Table, Index] -> Value, Kind::PteGetLockless,
        "read a PTE of the table without a lock (three loads under PAE; a freed-table hazard if the table was freed)",
        "ptep_get_lockless()", "include/linux/pgtable.h"),
    row!("ptep_get", [Table, Index] -> Value, Kind::PteGet,
        "read a PTE (one load of the whole entry: under the PTE lock)",
        "ptep_get()", "include/linux/pgtable.h"),
    row!("pte_clear", [Table, Index] -> Nothing, Kind::PteClear,
        "clear a PTE",
        "pte_clear()", "arch/x86/include/asm/pgtable.h"),
    row!("ptep_get_and_clear", [Table, Index] -> Value, Kind::PteGetAndClear,
        "clear a PTE; gives the old value",
        "ptep_get_and_clear()", "arch/x86/include/asm/pgtable.h"),
    row!("set_pte", [Table, Index, Page] -> Nothing, Kind::SetPte,
        "map a page at a PTE of the table",
        "set_pte_at()", "arch/x86/include/asm/pgtable.h"),
    row!("pte_alloc_one", [] -> Table, Kind::AllocTable,
        "allocate a new page table (its frame: `alloc`)",
        "pte_alloc_one()", "mm/memory.c (__pte_alloc)",
        Classic {
            roles: role::POPULATOR,
            ops: |_| vec![Op::Alloc],
            modes: "the same in every mode; with `alloc = same-frame` it waits until the old table is freed",
            tso: "locked: alloc_pages() takes zone->lock",
        }),
    row!("pte_free", [Table] -> Nothing, Kind::FreeNow,
        "free a page table at once (a nonempty-free hazard if a PTE is still present)",
        "pte_free()", "include/asm-generic/pgalloc.h",
        Classic {
            roles: role::COLLAPSER,
            ops: |_| vec![Op::FreeNow],
            modes: "the same in every mode",
            tso: "locked: free_pages() takes zone->lock",
        }),
    row!("pte_free_defer", [Table] -> Nothing, Kind::FreeDefer,
        "free a page table after an RCU grace period: once every CPU that had interrupts off has enabled them (`free = immediate` makes it pte_free(), to show what the deferral protects)",
        "pte_free_defer()", "mm/pgtable-generic.c",
        Classic {
            roles: role::COLLAPSER,
            ops: |c| {
                if c.free == FreeKind::Immediate {
                    vec![Op::FreeNow]
                } else {
                    vec![Op::FreeDefer]
                }
            },
            modes: "the same in every mode; `free = immediate` turns it into pte_free()",
            tso: "locked: the free ends in the page allocator, which takes zone->lock (and RCU's grace period implies full barriers)",
        }),
    row!("tlb_remove_table", [Table] -> Nothing, Kind::TlbRemoveTable,
        "free a page table through the mmu_gather: after an RCU grace period with CONFIG_MMU_GATHER_RCU_TABLE_FREE (paravirt = on; every x86 kernel since a37259732a7d), else at once after the flush",
        "tlb_remove_table()", "mm/mmu_gather.c"),
    row!("get_page", [Page] -> Nothing, Kind::GetPage,
        "take a reference unconditionally (a freed-page hazard if the count was zero)",
        "get_page() / folio_get()", "include/linux/mm.h"),
    row!("try_get_page", [Page] -> Cond, Kind::TryGetPage,
        "take a reference unless the count is zero: true if taken",
        "try_get_page() / folio_try_get()", "include/linux/mm.h"),
    row!("put_page", [Page] -> Nothing, Kind::PutPage,
        "drop a reference; the last one frees the page",
        "put_page() / folio_put()", "include/linux/mm.h"),
    row!("folio_maybe_dma_pinned", [Page] -> Cond, Kind::MaybePinned,
        "the page has more references than mappings (someone pinned it)",
        "folio_maybe_dma_pinned() / the refcount check of __collapse_huge_page_isolate()", "include/linux/mm.h, mm/khugepaged.c"),
    row!("gup_return", [Page] -> Nothing, Kind::GupReturn,
        "GUP-fast hands the page it pinned to its caller, who keeps the pin to the end of the run: a stale-pin hazard if the PMD and PTE it was read through no longer map it then",
        "gup_fast() returning a page", "mm/gup.c"),
    row!("weak_wrmsr_fence", [] -> Nothing, Kind::Fence,
        "MFENCE; LFENCE: make earlier stores visible before a non-serializing WRMSR (under memory = tso a step that waits for an empty store buffer; no step under memory = sc)",
        "weak_wrmsr_fence() (x2apic_wrmsr_fence() before 25a068b8e9a4e)", "arch/x86/include/asm/barrier.h",
        Classic {
            roles: role::ANY,
            ops: fence_ops,
            modes: "no step under memory = sc; under tso one step that waits for an empty store buffer",
            tso: "a fence: waits until this CPU's store buffer is empty",
        }),
    row!("smp_mb", [] -> Nothing, Kind::Fence,
        "a full memory barrier: no later load runs before an earlier store is visible (under memory = tso a step that waits for an empty store buffer; no step under memory = sc)",
        "smp_mb() / __smp_mb(): lock; addl $0,-4(%esp)", "arch/x86/include/asm/barrier.h",
        Classic {
            roles: role::ANY,
            ops: fence_ops,
            modes: "no step under memory = sc; under tso one step that waits for an empty store buffer",
            tso: "a locked add to the stack: waits until this CPU's store buffer is empty",
        }),
    row!("smp_rmb", [] -> Nothing, Kind::Nothing,
        "orders loads against loads: x86 never reorders them, so it is no step",
        "smp_rmb() / __smp_rmb(): dma_rmb(), a compiler barrier()", "arch/x86/include/asm/barrier.h",
        Classic {
            roles: role::ANY,
            ops: |_| vec![],
            modes: "no step in any mode",
            tso: "no step: TSO keeps loads in order",
        }),
    row!("smp_wmb", [] -> Nothing, Kind::Nothing,
        "orders stores against stores: x86 never reorders them (the store buffer is FIFO), so it is no step",
        "smp_wmb() / __smp_wmb(): a compiler barrier()", "arch/x86/include/asm/barrier.h",
        Classic {
            roles: role::ANY,
            ops: |_| vec![],
            modes: "no step in any mode",
            tso: "no step: the FIFO store buffer keeps stores in order",
        }),
    row!("WRITE_ONCE", [Word, Num] -> Nothing, Kind::WriteOnce,
        "store a number to a shared word the scenario names, as herd7 writes it (`int x = 0;` in the settings gives its first value, else 0)",
        "WRITE_ONCE() / __WRITE_ONCE(): a volatile store, one MOV", "include/asm-generic/rwonce.h",
        Classic {
            roles: role::ANY,
            ops: |_| vec![Op::WordStore],
            modes: "one 32-bit store in every mode",
            tso: "a plain store, buffered: other CPUs see it once it drains",
        }),
    row!("READ_ONCE", [Word] -> Reg, Kind::ReadOnce,
        "load a shared word into a register of this CPU, which keeps it to the end of the run, where the exists clause may name it (`P2:r0=1`)",
        "READ_ONCE() / __READ_ONCE(): a volatile load, one MOV", "include/asm-generic/rwonce.h",
        Classic {
            roles: role::ANY,
            ops: |_| vec![Op::WordLoad],
            modes: "one 32-bit load in every mode",
            tso: "a load: this CPU's newest buffered store to the word if it has one, else memory",
        }),
    row!("xchg", [Word, Num] -> Reg, Kind::Xchg,
        "exchange a shared word with a number in one atomic step, the old value into a register (`xchg(x, 1);` drops it)",
        "xchg() / arch_xchg(): XCHG with a memory operand, locked without a prefix", "arch/x86/include/asm/cmpxchg.h",
        Classic {
            roles: role::ANY,
            ops: |_| vec![Op::WordXchg],
            modes: "one locked exchange in every mode",
            tso: "locked: waits for an empty store buffer, then reads and writes memory",
        }),
];
