//! What a machine is made of between steps: the PMD as two halves, a reader's registers,
//! the [`State`] that every step changes (and that the checker packs and restores), the
//! CPU numbering, and the page-table frames the populator may allocate.

use crate::config::Alloc;
use crate::program::Instr;
use serde::{Deserialize, Serialize};

/// "No CPU" in the PTL owner field.
pub use crate::rules::NO_CPU;
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

/// A store waiting in a store buffer (`memory = tso`). The machine knows every value a
/// store can write in advance (see [`Machine::history`](super::Machine::history)), so a store is one of five, or
/// one of the program's stores to shared words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Store {
    /// `pmd_low = 0`.
    LowZero,
    /// `pmd_high = 0`.
    HighZero,
    /// `pmd_high` = the new table's high word.
    HighNew,
    /// `pmd_low` = the new table's low word.
    LowNew,
    /// `spin_unlock(ptl)`: the lock word back to unlocked.
    PtlFree,
    /// The program's `k`-th store to a shared word ([`crate::program::Words::stores`]).
    Word(u8),
}

/// The first store-buffer code of a shared word's store.
const WORD_CODE: u32 = 6;

impl Store {
    pub(super) fn from_code(c: u32) -> Store {
        match c {
            1 => Store::LowZero,
            2 => Store::HighZero,
            3 => Store::HighNew,
            4 => Store::LowNew,
            5 => Store::PtlFree,
            c => Store::Word((c - WORD_CODE) as u8),
        }
    }

    /// Its 4-bit code in a [`StoreBuffer`].
    pub fn code(self) -> u32 {
        match self {
            Store::LowZero => 1,
            Store::HighZero => 2,
            Store::HighNew => 3,
            Store::LowNew => 4,
            Store::PtlFree => 5,
            Store::Word(k) => WORD_CODE + k as u32,
        }
    }

    /// The store in kernel terms, with the value it writes (`new`: the populator's entry).
    pub fn describe(self, new: Pmd) -> String {
        match self {
            Store::LowZero => "pmd_low = 0".into(),
            Store::HighZero => "pmd_high = 0".into(),
            Store::HighNew => format!("pmd_high = {:x}", new.high),
            Store::LowNew => format!("pmd_low = {:08x}", new.low),
            Store::PtlFree => "ptl = unlocked".into(),
            Store::Word(k) => format!("shared store {k}"),
        }
    }
}

/// Stores a buffer holds before a further store waits for a drain. Real store buffers
/// hold dozens; no program the compiler admits buffers more than five between two steps
/// that wait for an empty buffer, so the bound never restricts a run.
pub const SB_DEPTH: u32 = 7;

/// One CPU's FIFO store buffer: up to [`SB_DEPTH`] [`Store`] codes of 4 bits each, the
/// oldest in the lowest bits. Copy-sized, so a state with buffers clones as cheaply as
/// one without.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StoreBuffer(pub u32);

impl StoreBuffer {
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn len(self) -> u32 {
        (32 - self.0.leading_zeros()).div_ceil(4)
    }
    pub fn is_full(self) -> bool {
        self.len() >= SB_DEPTH
    }
    /// Appends the newest store.
    pub fn push(&mut self, s: Store) {
        debug_assert!(!self.is_full());
        self.0 |= s.code() << (4 * self.len());
    }
    /// Takes the oldest store.
    pub fn pop(&mut self) -> Option<Store> {
        if self.0 == 0 {
            return None;
        }
        let s = Store::from_code(self.0 & 15);
        self.0 >>= 4;
        Some(s)
    }
    /// The stores, oldest first.
    pub fn iter(self) -> impl Iterator<Item = Store> {
        let mut b = self;
        std::iter::from_fn(move || b.pop())
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

/// The classic layout's tables, as the shared rules number them: the old table, which
/// khugepaged frees, and the populator's new one.
pub(super) const OLD: usize = 0;
pub(super) const NEW: usize = 1;

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

    /// The value the registers hold, as a PMD.
    #[inline(always)]
    pub fn pmd(self) -> Pmd {
        Pmd {
            low: self.low,
            high: self.high,
        }
    }
}

/// Everything that changes during a run.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct State {
    pub pmd: Pmd,
    /// How many writes the PMD has had: an index into [`Machine::history`](super::Machine::history).
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
    /// Each CPU's pc, an index into the program's code ([`DONE`](crate::program::DONE) once a writer has
    /// finished, and for idle CPUs): CPU 0 the collapser, 1 the populator, then readers.
    /// A fixed array, so that indexing it by a CPU number needs no bounds check.
    pub pc: [u8; 64],
    /// Each reader's registers; reader `i` runs on CPU `2 + i`.
    pub regs: Vec<Regs>,
    /// Each CPU's store buffer under `memory = tso` (empty under `sc`): `st.pmd` and
    /// `st.ptl` are memory, and a buffered store reaches them at its drain step.
    pub sb: Vec<StoreBuffer>,
    /// The program's shared words, then each CPU's registers
    /// ([`crate::program::Words`]): empty for a program without them.
    pub words: Vec<u8>,
    /// CPUs whose store buffer is not empty: derived from `sb`.
    pub(super) sb_mask: u64,
    /// Which writers (bits 0 and 1) can step: derived from the fields above, and kept
    /// current by the steps that can change it rather than recomputed every step.
    pub(super) writers: u64,
    /// All ones while readers may start reads; zero once a draining run's writers are done.
    pub(super) gate: u64,
    /// Readers inside an iteration of their block (away from its first line). Derived
    /// from the pcs; kept only for programs whose readers are not bracketed by
    /// `local_irq_save()`/`local_irq_restore()` (else `irq_off` says the same).
    pub(super) busy: u64,
    /// Readers whose next step is `pmd_lock()` (kept only where a reader takes the PTL).
    pub(super) at_lock: u64,
    /// Each CPU's instruction at its pc, derived from `pc`: the step dispatches on it
    /// with one load, where going through the code would put a second dependent load
    /// before every (often mispredicted) dispatch.
    pub(super) cur: [Instr; 64],
    /// How many CPUs the machine has: the entries of `pc` and `cur` past them stay
    /// [`DONE`](crate::program::DONE) from construction on.
    pub(super) cpus: u8,
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
            sb,
            words,
            sb_mask,
            writers,
            gate,
            busy,
            at_lock,
            cur,
            cpus,
        } = o;
        (self.pmd, self.ver, self.ptl) = (*pmd, *ver, *ptl);
        (self.irq_off, self.pending, self.qs, self.preempted) =
            (*irq_off, *pending, *qs, *preempted);
        (self.ipi, self.flush_sent_ipi, self.installed) = (*ipi, *flush_sent_ipi, *installed);
        (self.allocated, self.old_table, self.pc) = (*allocated, *old_table, *pc);
        if self.regs.len() == regs.len() {
            // Element by element: a copy of so few goes faster than a call to memcpy.
            for (a, b) in self.regs.iter_mut().zip(regs) {
                *a = *b;
            }
        } else {
            self.regs.clone_from(regs);
        }
        // Under SC both are empty: skip the call.
        if !sb.is_empty() {
            self.sb.clone_from(sb);
        }
        if !words.is_empty() {
            self.words.clone_from(words);
        }
        self.sb_mask = *sb_mask;
        (self.writers, self.gate, self.busy, self.at_lock) = (*writers, *gate, *busy, *at_lock);
        // The machine's CPUs' entries only, in a copy of fixed size that inlines: the
        // whole array went through a call to memcpy, a tenth of the checker's time.
        const FIXED: usize = 16;
        self.cur[..FIXED].copy_from_slice(&cur[..FIXED]);
        // Past them both states hold `DONE`, unless one is of a machine with more.
        if (*cpus).max(self.cpus) as usize > FIXED {
            self.cur[FIXED..].copy_from_slice(&cur[FIXED..]);
        }
        self.cpus = *cpus;
    }

    pub fn collapser(&self) -> u8 {
        self.pc[COLLAPSER as usize]
    }
    pub fn populator(&self) -> u8 {
        self.pc[POPULATOR as usize]
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
    draw_frame(&[OLD_TABLE], next_u64)
}

/// Draws a 4 KiB frame of [`RAM_BYTES`] uniformly among those not in `taken` (frame
/// addresses, sorted, distinct): one draw, whatever `taken` holds.
pub fn draw_frame(taken: &[u64], next_u64: &mut impl FnMut() -> u64) -> u64 {
    let frames = RAM_BYTES >> PAGE_SHIFT;
    let mut f = ((next_u64() as u128 * (frames - taken.len() as u64) as u128) >> 64) as u64;
    // The n-th free frame: step over each taken one at or below it, in order.
    for &t in taken {
        if f >= t >> PAGE_SHIFT {
            f += 1;
        }
    }
    f << PAGE_SHIFT
}

/// Representatives of every equality class of a `random` frame against the table `old`
/// it replaces: same or different low word, and a high word equal to the old one's,
/// zero, or other. (The same frame cannot be drawn while the old one is allocated.)
/// Elsewhere a frame matters only through these equalities: a torn read joins one
/// value's low word to another's high word.
pub fn frame_classes(old: u64) -> [u64; 5] {
    let old_low = old & 0xffff_f000;
    [
        old_low,                            // same low, high zero
        (5 << 32) | old_low,                // same low, other high
        (old & !0xffff_ffff) | 0x0bad_0000, // other low, same high
        0x0bad_0000,                        // other low, high zero
        (5 << 32) | 0x0bad_0000,            // other low, other high
    ]
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
