//! The general machine's compiled form: the knobs (`GConfig`, the platform and flush),
//! the steps (`GOp`) with what they name (entries, tables, pages, locks), the
//! instructions, and the program with its world (`GProgram`). Plain data that the
//! compiler writes and the machine reads.

use super::lang::GExists;
use crate::knob::{Alloc, Apic, ClearKind, FreeKind, Knob, Memory, Mode, ReaderKind, SetKind};
use crate::prim::general::Test;
use crate::prim::Tso;
pub use crate::program::words::{Access, Words};

/// PTEs per table the model keeps (`pte t0[0]` … `pte t0[3]`).
pub const PTES: usize = 4;
/// "No table" in a table local.
pub const NO_TABLE: u64 = u64::MAX;
/// The pc of a finished block.
pub const DONE: u16 = u16::MAX;
/// The most CPUs a general scenario may have.
pub const MAX_CPUS: u32 = 16;

/// `_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY`.
pub(super) const TABLE_FLAGS: u64 = 0x067;
/// The same, and `_PAGE_PSE`: a huge page.
pub(super) const HUGE_FLAGS: u64 = 0x0e7;
/// The first declared table's frame: the classic old table's.
pub(super) const FIRST_TABLE: u64 = 0x1_3a5f_e000;
/// Pages sit 2 MiB apart below 4 GiB, where no table is.
pub(super) const FIRST_PAGE: u64 = 0x4000_0000;

/// How the TLB is flushed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Flush {
    /// `native_flush_tlb_multi()`: an IPI to each CPU in mm_cpumask, waiting for each.
    Ipi,
    /// AMD's broadcast invalidation (64-bit only): no IPI, waits for no walker.
    Invlpgb,
    /// Intel's Remote Action Request (64-bit only): the target acts even with IRQs off.
    Rar,
    /// A paravirt hypercall (Xen PV, Hyper-V): waits for no guest IRQ handler.
    Hypercall,
}

impl Flush {
    pub const NAMES: [(&'static str, Option<Flush>); 5] = [
        ("auto", None),
        ("ipi", Some(Flush::Ipi)),
        ("invlpgb", Some(Flush::Invlpgb)),
        ("rar", Some(Flush::Rar)),
        ("hypercall", Some(Flush::Hypercall)),
    ];
    pub fn name(self) -> &'static str {
        match self {
            Flush::Ipi => "ipi",
            Flush::Invlpgb => "invlpgb",
            Flush::Rar => "rar",
            Flush::Hypercall => "hypercall",
        }
    }
    /// Whether it interrupts its targets and waits for each to answer.
    pub fn waits(self) -> bool {
        self == Flush::Ipi
    }
}

/// The platform: the classic modes, and 64-bit x86 (`native-64`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Platform {
    Classic(Mode),
    Native64,
}

impl Platform {
    pub fn name(self) -> &'static str {
        match self {
            Platform::Classic(m) => m.name(),
            Platform::Native64 => "native-64",
        }
    }
    /// `kvm-pv-flush`: the host may preempt a walker's vCPU at any moment, and
    /// `kvm_flush_tlb_multi()` skips preempted vCPUs (they flush on resume).
    pub fn kvm(self) -> bool {
        self == Platform::Classic(Mode::KvmPvFlush)
    }
    /// Entries are read and written in 32-bit halves.
    pub fn split(self) -> bool {
        matches!(
            self,
            Platform::Classic(Mode::NativePae | Mode::XenPv | Mode::HyperV | Mode::KvmPvFlush)
        )
    }
    pub fn default_flush(self) -> Flush {
        match self {
            Platform::Classic(Mode::XenPv | Mode::HyperV) => Flush::Hypercall,
            _ => Flush::Ipi,
        }
    }
}

/// The knobs of a general scenario.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GConfig {
    pub platform: Platform,
    pub flush: Flush,
    /// `CONFIG_PARAVIRT` (and so `CONFIG_MMU_GATHER_RCU_TABLE_FREE`).
    pub paravirt: bool,
    pub readers: u32,
    pub cpus: Option<u32>,
    pub reader: ReaderKind,
    pub alloc: Alloc,
    pub clear: ClearKind,
    pub set: SetKind,
    pub free: FreeKind,
    /// `memory = tso`: each CPU has a FIFO store buffer ([`GOp::tso`] says which steps
    /// use it and which wait for it to drain).
    pub memory: Memory,
    /// How an IPI send is ordered against earlier stores under TSO.
    pub apic: Apic,
    /// `readers = any`: a check answers for every walker count, by the cutoff argument.
    pub any_readers: bool,
}

impl Default for GConfig {
    fn default() -> Self {
        GConfig {
            platform: Platform::Classic(Mode::NativePae),
            flush: Flush::Ipi,
            paravirt: true,
            readers: 1,
            cpus: None,
            reader: ReaderKind::GupFast,
            alloc: Alloc::SameLow,
            clear: ClearKind::Xchg64,
            set: SetKind::Xchg64,
            free: FreeKind::RcuDeferred,
            memory: Memory::Sc,
            apic: Apic::Xapic,
            any_readers: false,
        }
    }
}

impl GConfig {
    /// Whether `pmdp_get_lockless_sync()` is an IPI broadcast.
    pub fn sync_is_ipi(&self) -> bool {
        match self.platform {
            Platform::Classic(Mode::NativePae) => self.paravirt,
            Platform::Classic(Mode::XenPv | Mode::HyperV | Mode::KvmPvFlush) => true,
            _ => false,
        }
    }
    /// Whether tables freed through the mmu_gather wait for an RCU grace period.
    pub fn rcu_table_free(&self) -> bool {
        self.paravirt
            || !matches!(
                self.platform,
                Platform::Classic(Mode::NativePae) | Platform::Native64
            )
    }
}

/// An entry an instruction reads or writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryRef {
    /// A declared PMD.
    Pmd(u8),
    /// PTE `index` of the table in a table local.
    Pte { table: TableSrc, index: u8 },
}

/// Where a table comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TableSrc {
    /// A declared table.
    Fixed(u8),
    /// A table local.
    Local(u8),
    /// The table a value local points to.
    OfValue(u8),
}

/// Where a page comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PageSrc {
    Fixed(u8),
    /// The page a value local maps.
    OfValue(u8),
}

/// Which lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LockSrc {
    /// A PMD's lock.
    Pmd(u8),
    /// The split PTE lock of a table.
    Pte(TableSrc),
}

pub use crate::rules::Store;
pub use crate::rules::{Half, LoadStep};

/// The value a store installs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    None,
    /// A table: the entry for it (a bogus table if the source is none or not a table).
    Table(TableSrc),
    /// A huge page.
    Huge(u8),
    /// A page mapped by a PTE.
    Page(PageSrc),
}

/// How a table is freed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FreeHow {
    Now,
    /// After an RCU grace period: once every CPU that had interrupts off enabled them.
    Rcu,
}

/// One step of the general machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GOp {
    Lock(LockSrc),
    /// `retry`: inside `do { … } while (!installed)`, loop back (to `alt`) until this CPU
    /// has installed its table.
    Unlock {
        lock: LockSrc,
        retry: bool,
    },
    /// Branches: `next` if taken, `alt` if not.
    Trylock(LockSrc),
    /// mmap_lock (0) or i_mmap_rwsem (1), taken or released, for reading or writing.
    Rw {
        lock: u8,
        write: bool,
        take: bool,
    },
    VmaStartWrite,
    /// Branches.
    VmaStartRead,
    VmaEndRead,
    IrqOff,
    IrqOn,
    /// `sync`: where it sent no IPI, go on to the sync (`alt`); else past it (`next`).
    /// `fenced`: the IPI follows `weak_wrmsr_fence()`, as every flush path has since
    /// ce4e240c279a (only `flush_tlb_others_ipi()` is without).
    Flush {
        skip_sync: bool,
        fenced: bool,
    },
    Sync,
    /// `MFENCE` (only under `memory = tso`).
    Fence,
    Store {
        entry: EntryRef,
        how: Store,
        src: Source,
        dest: Option<u8>,
    },
    Load {
        entry: EntryRef,
        step: LoadStep,
        dest: u8,
    },
    /// Both halves of the PMD in one step, as the classic fault tests them under the lock.
    NoneNow(u8),
    Test {
        src: u8,
        test: Test,
    },
    PmdSame {
        src: u8,
        pmd: u8,
    },
    PteSame {
        src: u8,
        table: TableSrc,
        index: u8,
    },
    RangeNone(TableSrc),
    Map {
        src: u8,
        dest: u8,
    },
    Alloc {
        table: u8,
        dest: u8,
    },
    Free {
        table: TableSrc,
        how: FreeHow,
    },
    GetPage(PageSrc),
    TryGetPage(PageSrc),
    PutPage(PageSrc),
    Pinned(PageSrc),
    GupReturn {
        src: u8,
        pmd: u8,
        index: u8,
    },
    /// `WRITE_ONCE(x, 1)`: a plain store to a shared word (buffered under TSO).
    WriteOnce(Access),
    /// `r0 = READ_ONCE(x)`: a load into a register.
    ReadOnce(Access),
    /// `[r0 =] xchg(x, 1)`: locked, the old value into the register if there is one.
    Xchg(Access),
    /// `break`, `return`, the skip over an else arm: threaded away after compiling, so
    /// no CPU ever stands on one (no step).
    Jump,
    Done,
}

impl GOp {
    /// The local the step writes, if any.
    pub fn dest(&self) -> Option<u8> {
        match *self {
            GOp::Store { dest, .. } => dest,
            GOp::Load { dest, .. } | GOp::Map { dest, .. } | GOp::Alloc { dest, .. } => Some(dest),
            _ => None,
        }
    }

    /// The locals the step reads, as a mask of the block's slots: what keeps a local
    /// live ([`GInstr::live`]).
    pub fn uses(&self) -> u32 {
        fn table(t: TableSrc) -> u32 {
            match t {
                TableSrc::Fixed(_) => 0,
                TableSrc::Local(s) | TableSrc::OfValue(s) => 1 << s,
            }
        }
        fn page(p: PageSrc) -> u32 {
            match p {
                PageSrc::Fixed(_) => 0,
                PageSrc::OfValue(s) => 1 << s,
            }
        }
        fn entry(e: EntryRef) -> u32 {
            match e {
                EntryRef::Pmd(_) => 0,
                EntryRef::Pte { table: t, .. } => table(t),
            }
        }
        fn lock(l: LockSrc) -> u32 {
            match l {
                LockSrc::Pmd(_) => 0,
                LockSrc::Pte(t) => table(t),
            }
        }
        use GOp::*;
        match *self {
            Lock(l) | Trylock(l) | Unlock { lock: l, .. } => lock(l),
            Store { entry: e, src, .. } => {
                entry(e)
                    | match src {
                        Source::Table(t) => table(t),
                        Source::Page(p) => page(p),
                        Source::None | Source::Huge(_) => 0,
                    }
            }
            Load { entry: e, .. } => entry(e),
            Test { src, .. } | PmdSame { src, .. } | Map { src, .. } | GupReturn { src, .. } => {
                1 << src
            }
            PteSame { src, table: t, .. } => 1 << src | table(t),
            RangeNone(t) | Free { table: t, .. } => table(t),
            GetPage(p) | TryGetPage(p) | PutPage(p) | Pinned(p) => page(p),
            Rw { .. } | VmaStartWrite | VmaStartRead | VmaEndRead | IrqOff | IrqOn => 0,
            Flush { .. } | Sync | Fence | NoneNow(_) | Alloc { .. } => 0,
            WriteOnce(_) | ReadOnce(_) | Xchg(_) | Jump | Done => 0,
        }
    }

    /// The local the step surely writes on its way to `next` (a read's first loads
    /// write none: the value is the last load's).
    pub fn defines(&self) -> Option<u8> {
        match self {
            GOp::Load {
                step: LoadStep::Part(_),
                ..
            } => None,
            _ => self.dest(),
        }
    }

    /// The shared state the step writes, beside its own CPU's interrupt flag (and the
    /// quiescent state enabling interrupts is, which a grace period waits for): what
    /// the cutoff argument's C1 forbids a walker.
    pub fn shared_writes(&self) -> Option<&'static str> {
        use GOp::*;
        match self {
            Lock(_) | Unlock { .. } | Trylock(_) => Some("a spinlock"),
            Rw { .. } => Some("mmap_lock or i_mmap_rwsem"),
            VmaStartWrite | VmaStartRead | VmaEndRead => Some("the VMA lock"),
            Flush { .. } | Sync => Some("other CPUs' pending IPIs"),
            Store { .. } => Some("a page-table entry"),
            WriteOnce(_) | Xchg(_) => Some("a shared word"),
            Alloc { .. } | Free { .. } => Some("a table's lifetime"),
            GetPage(_) | TryGetPage(_) | PutPage(_) => Some("a page's reference count"),
            GupReturn { .. } => Some("the pins its callers hold"),
            IrqOff
            | IrqOn
            | Fence
            | Load { .. }
            | NoneNow(_)
            | Test { .. }
            | PmdSame { .. }
            | PteSame { .. }
            | RangeNone(_)
            | Map { .. }
            | Pinned(_)
            | ReadOnce(_)
            | Jump
            | Done => None,
        }
    }

    /// What a step is when it is not one of a race's events as a commit message tells
    /// them (a load, a store, a flush, a free, a count, a check of shared state): the
    /// steps the model spells out beside them, by kind. `None` for an event.
    pub fn spelled_out(&self) -> Option<&'static str> {
        use GOp::*;
        match self {
            Lock(_)
            | Unlock { .. }
            | Trylock(_)
            | Rw { .. }
            | VmaStartWrite
            | VmaStartRead
            | VmaEndRead => Some("locks"),
            IrqOff | IrqOn => Some("interrupts"),
            // A split read is one event: its last load, or its re-check.
            Load {
                step: LoadStep::Part(_),
                ..
            } => Some("split-read loads"),
            // A test of a value already read, pte_offset_map()'s address arithmetic.
            Test { .. } | Map { .. } => Some("local"),
            _ => None,
        }
    }

    /// The state of other CPUs the step reads (their interrupt flags, a lock's owner,
    /// the VMA's readers): what the cutoff argument's C2 forbids a walker. Entries,
    /// tables and counts are the writers' state.
    pub fn private_reads(&self) -> Option<&'static str> {
        use GOp::*;
        match self {
            Lock(_) | Trylock(_) => Some("a spinlock's owner"),
            Rw { .. } => Some("an rwsem's holders"),
            VmaStartWrite | VmaStartRead => Some("the VMA lock's holders"),
            Flush { .. } | Sync => Some("other CPUs' interrupt flags"),
            Free {
                how: FreeHow::Rcu, ..
            } => Some("other CPUs' interrupt flags (the grace period)"),
            _ => None,
        }
    }

    /// How the step is ordered against its CPU's store buffer under `memory = tso`: the
    /// general machine's TSO rules, in one place. A classic row's `tso` text
    /// ([`Classic::tso`](crate::prim::Classic::tso)) says the same of the same kernel code.
    pub fn tso(&self, cfg: &GConfig) -> Tso {
        use GOp::*;
        match *self {
            // arch_spin_lock() and spin_trylock() are locked; arch_spin_unlock() is a
            // plain release store.
            Lock(_) | Trylock(_) => Tso::Locked,
            Unlock { .. } => Tso::Buffered,
            // rwsems and the VMA lock are atomics on their counts; the page allocator
            // takes zone->lock; page_ref_inc() and friends are lock-prefixed.
            Rw { .. } | VmaStartWrite | VmaStartRead | VmaEndRead => Tso::Locked,
            Alloc { .. } | Free { .. } => Tso::Locked,
            GetPage(_) | TryGetPage(_) | PutPage(_) => Tso::Locked,
            Fence => Tso::Fence,
            Flush { fenced, .. } => match cfg.flush {
                self::Flush::Hypercall => Tso::Serializing,
                // "The INVLPGB instruction is weakly ordered" (asm/invlpgb.h).
                self::Flush::Invlpgb => Tso::Local,
                // A bare x2APIC WRMSR on Intel does not wait for the store buffer.
                self::Flush::Ipi if !fenced && cfg.apic == Apic::X2apic => Tso::UnorderedIpi,
                // weak_wrmsr_fence() precedes the x2APIC WRMSR; an xAPIC IPI is an
                // MMIO write; AMD's x2APIC WRMSR is serializing; RAR is requested
                // through the same APIC.
                self::Flush::Ipi | self::Flush::Rar => Tso::OrderedIpi,
            },
            Sync => match cfg.platform {
                Platform::Classic(Mode::XenPv | Mode::HyperV) => Tso::Serializing,
                _ => Tso::OrderedIpi,
            },
            Store { how, .. } => match how {
                self::Store::Clear | self::Store::ClearLowXchg => Tso::Locked,
                self::Store::Set if cfg.platform != Platform::Native64 => Tso::Locked,
                _ => Tso::Buffered,
            },
            Load { .. } | NoneNow(_) | PmdSame { .. } | PteSame { .. } | RangeNone(_) => Tso::Load,
            Pinned(_) | ReadOnce(_) => Tso::Load,
            WriteOnce(_) => Tso::Buffered,
            Xchg(_) => Tso::Locked,
            IrqOff | IrqOn | Test { .. } | Map { .. } | GupReturn { .. } | Jump | Done => {
                Tso::Local
            }
        }
    }
}

/// A store waiting in a CPU's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Buffered {
    /// The bits of `mask` of entry `entry` become those of `value`: a half store
    /// leaves the other half as memory holds it when the store drains.
    Entry { entry: u16, mask: u64, value: u64 },
    /// `spin_unlock()`: the lock word back to unlocked.
    Unlock(u16),
    /// `WRITE_ONCE()`: shared word `var` becomes value `value` (indices into the
    /// program's [`Words`]).
    Word { var: u8, value: u8 },
}

/// One instruction: the step, where it goes next, its alternative, its source line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GInstr {
    pub op: GOp,
    pub next: u16,
    pub alt: u16,
    pub line: u32,
    /// The primitive it came from (an index into [`PRIMS`](crate::prim::PRIMS)).
    pub prim: u16,
    /// The block's locals live where a CPU stands here (a later step may read them
    /// before one writes them): the machine zeroes the others, so that states that
    /// differ only in values nothing reads again are one state, as the classic
    /// machine's are.
    pub live: u32,
}

/// A table of the world: declared (live from the start) or allocated at a site.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TableDef {
    pub name: String,
    pub addr: u64,
    pub declared: bool,
    pub ptes: [u64; PTES],
    /// `alloc = same-frame`: the declared table whose frame it takes once that is freed.
    pub reuses: Option<u8>,
}

/// A compiled general scenario: the code, the CPUs, the world and the question.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GProgram {
    pub name: String,
    pub description: String,
    pub cfg: GConfig,
    pub code: Vec<GInstr>,
    /// Each CPU's first pc (`DONE` for an idle CPU).
    pub entry: Vec<u16>,
    /// Each CPU's block (an index into `blocks`), `None` for an idle CPU.
    pub block_of: Vec<Option<u8>>,
    /// Each block: its actor, its code range, its locals' names.
    pub blocks: Vec<(String, u16, u16, Vec<String>)>,
    /// Each block: which of its locals hold a table (the others hold an entry's value).
    pub table_locals: Vec<u32>,
    /// Shared words and registers, with the `exists` condition over them (`None`: the
    /// file has neither).
    pub words: Option<Box<Words>>,
    /// Each CPU's first local in the state's locals.
    pub local_base: Vec<u16>,
    pub walkers: u64,
    pub in_mm: u64,
    pub cpus: u8,
    pub pmds: Vec<(String, u64)>,
    pub tables: Vec<TableDef>,
    /// Pages: name, address, first count.
    pub pages: Vec<(String, u64, u32)>,
    pub exists: GExists,
    pub source: String,
    /// The walker count a check at another count than the file's compiled it for
    /// (`--readers N`, the checks of `readers = any`); part of its schedules' identity.
    pub walkers_at: Option<u32>,
    /// `alloc = random`: the allocated table whose frame each run draws, and each of
    /// the exhaustive search's passes fixes to one equality class.
    pub random_table: Option<u8>,
    /// The frame that table has in this copy of the program (`None`: not drawn yet);
    /// part of its schedules, which replay on that frame.
    pub frame: Option<u64>,
}

impl GProgram {
    /// The `exists` clause has a condition on final words and registers.
    pub fn observes(&self) -> bool {
        self.words.as_ref().is_some_and(|w| w.cond.is_some())
    }

    /// This program with the random allocator's table at `frame`.
    pub fn with_frame(&self, frame: u64) -> GProgram {
        let mut p = self.clone();
        p.set_frame(frame);
        p
    }

    pub(super) fn set_frame(&mut self, frame: u64) {
        if let Some(t) = self.random_table {
            self.tables[t as usize].addr = frame;
            self.frame = Some(frame);
        }
    }

    /// One frame of each equality class against the declared table the drawn one
    /// replaces (the compiler allows `alloc = random` with one declared table only, so
    /// no other value's halves can equal the drawn frame's).
    pub fn frame_classes(&self) -> [u64; 5] {
        crate::machine::frame_classes(self.tables[0].addr)
    }

    /// The frames the random allocator cannot draw: those a declared table or a page of
    /// the scenario has, sorted (for [`crate::machine::draw_frame`]).
    pub fn taken_frames(&self) -> Vec<u64> {
        let mut taken: Vec<u64> = self
            .tables
            .iter()
            .filter(|t| t.declared)
            .map(|t| t.addr & !0xfff)
            .chain(self.pages.iter().map(|p| p.1 & !0xfff))
            .collect();
        taken.sort_unstable();
        taken.dedup();
        taken
    }

    /// The value a PMD holds for table `t`.
    pub fn table_value(&self, t: usize) -> u64 {
        let a = self.tables[t].addr;
        (a & !0xfff) | TABLE_FLAGS
    }
    pub fn huge_value(&self, p: usize) -> u64 {
        self.pages[p].1 | HUGE_FLAGS
    }
    pub fn page_value(&self, p: usize) -> u64 {
        self.pages[p].1 | TABLE_FLAGS
    }
    /// Locks: one per PMD, then one per table.
    pub fn lock_count(&self) -> usize {
        self.pmds.len() + self.tables.len()
    }
    pub fn lock_name(&self, l: usize) -> String {
        if l < self.pmds.len() {
            format!("pmd_lock({})", self.pmds[l].0)
        } else {
            format!("pte_lockptr({})", self.tables[l - self.pmds.len()].name)
        }
    }
    /// An entry's name: `pmd`, `t0[1]`.
    pub fn entry_name(&self, e: usize) -> String {
        if e < self.pmds.len() {
            self.pmds[e].0.clone()
        } else {
            let k = e - self.pmds.len();
            format!("{}[{}]", self.tables[k / PTES].name, k % PTES)
        }
    }
    pub fn entries(&self) -> usize {
        self.pmds.len() + self.tables.len() * PTES
    }
    /// The knobs that decide a verdict, as `name=value` pairs (the memory model and the
    /// APIC only where they matter: under TSO).
    pub fn knobs(&self) -> Vec<(&'static str, String)> {
        let c = &self.cfg;
        let mut v = vec![
            ("mode", c.platform.name().to_string()),
            ("flush", c.flush.name().to_string()),
            ("readers", c.readers.to_string()),
            ("cpus", self.cpus.to_string()),
            ("alloc", c.alloc.name().to_string()),
            (
                "paravirt",
                if c.paravirt { "on" } else { "off" }.to_string(),
            ),
        ];
        if c.memory == Memory::Tso {
            v.push(("memory", "tso".into()));
            v.push(("apic", c.apic.name().into()));
        }
        v
    }

    /// Where CPU `cpu`'s locals lie in the state's locals.
    pub fn locals_of(&self, cpu: u8) -> std::ops::Range<usize> {
        let at = self.local_base[cpu as usize] as usize;
        at..at + self.local_names(cpu).len()
    }

    /// Whether some step takes or releases a reader-writer lock or the VMA lock:
    /// where none does, they stay free in every state.
    pub fn takes_rw(&self) -> bool {
        self.code.iter().any(|i| {
            matches!(
                i.op,
                GOp::Rw { .. } | GOp::VmaStartWrite | GOp::VmaStartRead | GOp::VmaEndRead
            )
        })
    }

    /// A CPU's name in traces: `P2(gup_fast)`.
    pub fn cpu_name(&self, cpu: u8) -> String {
        match self.block_of.get(cpu as usize).copied().flatten() {
            Some(b) => format!("P{cpu}({})", self.blocks[b as usize].0),
            None => format!("P{cpu}(idle)"),
        }
    }
    /// Whether `cpu`'s local `slot` holds a table (else an entry's value).
    pub fn is_table_local(&self, cpu: u8, slot: usize) -> bool {
        self.block_of
            .get(cpu as usize)
            .copied()
            .flatten()
            .is_some_and(|b| self.table_locals[b as usize] >> slot & 1 == 1)
    }
    /// The names of `cpu`'s locals.
    pub fn local_names(&self, cpu: u8) -> &[String] {
        match self.block_of.get(cpu as usize).copied().flatten() {
            Some(b) => &self.blocks[b as usize].3,
            None => &[],
        }
    }
}
