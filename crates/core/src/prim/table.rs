//! The table of primitives itself: one row per kernel function a scenario may call.

use super::op::{role, Lowering, Op, Prim, Use};
use crate::knob::{ClearKind, FreeKind, Memory, Mode, SetKind};

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
        ops: fence_ops,
        help: "MFENCE; LFENCE: make earlier stores visible before a non-serializing WRMSR",
        modes: "no step under memory = sc; under tso one step that waits for an empty store buffer",
        kernel: "weak_wrmsr_fence() (x2apic_wrmsr_fence() before 25a068b8e9a4e)",
        file: "arch/x86/include/asm/barrier.h",
        tso: "a fence: waits until this CPU's store buffer is empty",
    },
    Prim {
        name: "WRITE_ONCE",
        usage: Use::Write,
        roles: role::ANY,
        ops: |_| vec![Op::WordStore],
        help: "store a value to a shared word the scenario names (`int x = 0;` in the settings gives its first value, else 0)",
        modes: "one 32-bit store in every mode",
        kernel: "WRITE_ONCE() / __WRITE_ONCE(): a volatile store, one MOV",
        file: "include/asm-generic/rwonce.h",
        tso: "a plain store, buffered: other CPUs see it once it drains",
    },
    Prim {
        name: "READ_ONCE",
        usage: Use::Read,
        roles: role::ANY,
        ops: |_| vec![Op::WordLoad],
        help: "load a shared word into a register of this CPU, which the exists clause may name (`P2:r0=1`)",
        modes: "one 32-bit load in every mode",
        kernel: "READ_ONCE() / __READ_ONCE(): a volatile load, one MOV",
        file: "include/asm-generic/rwonce.h",
        tso: "a load: this CPU's newest buffered store to the word if it has one, else memory",
    },
    Prim {
        name: "xchg",
        usage: Use::Exchange,
        roles: role::ANY,
        ops: |_| vec![Op::WordXchg],
        help: "exchange a shared word with a value in one atomic step, the old value into a register (`xchg(x, 1);` drops it)",
        modes: "one locked exchange in every mode",
        kernel: "xchg() / arch_xchg(): XCHG with a memory operand, locked without a prefix",
        file: "arch/x86/include/asm/cmpxchg.h",
        tso: "locked: waits for an empty store buffer, then reads and writes memory",
    },
    Prim {
        name: "smp_mb",
        usage: Use::Call,
        roles: role::ANY,
        ops: fence_ops,
        help: "a full memory barrier: no later load runs before an earlier store is visible",
        modes: "no step under memory = sc; under tso one step that waits for an empty store buffer",
        kernel: "smp_mb() / __smp_mb(): lock; addl $0,-4(%esp)",
        file: "arch/x86/include/asm/barrier.h",
        tso: "a locked add to the stack: waits until this CPU's store buffer is empty",
    },
    Prim {
        name: "smp_rmb",
        usage: Use::Call,
        roles: role::ANY,
        ops: |_| vec![],
        help: "orders loads against loads: x86 never reorders them, so it is no step",
        modes: "no step in any mode",
        kernel: "smp_rmb() / __smp_rmb(): dma_rmb(), a compiler barrier()",
        file: "arch/x86/include/asm/barrier.h",
        tso: "no step: TSO keeps loads in order",
    },
    Prim {
        name: "smp_wmb",
        usage: Use::Call,
        roles: role::ANY,
        ops: |_| vec![],
        help: "orders stores against stores: x86 never reorders them (the store buffer is FIFO), so it is no step",
        modes: "no step in any mode",
        kernel: "smp_wmb() / __smp_wmb(): a compiler barrier()",
        file: "arch/x86/include/asm/barrier.h",
        tso: "no step: the FIFO store buffer keeps stores in order",
    },
];
