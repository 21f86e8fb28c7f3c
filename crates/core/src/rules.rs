//! The model's rules that both machines share, written once over [`Sys`]: what a state
//! holds, whatever its layout. The general machine ([`crate::general::GMachine`]) lays
//! out any program's world; the classic machine ([`crate::machine::Machine`]) is the
//! PMD race's fast path, one PMD and the old table packed into a few words. Each keeps
//! its own dispatch and layout, and takes the rules here, specialised to its layout by
//! the compiler, so that a rule cannot say one thing in one machine and another in
//! the other.
//!
//! The rules so far: interrupts off and on (a quiescent state, which completes a
//! deferred free), the answer to an IPI (with the host's preemption under
//! `kvm-pv-flush`), the flush's and the sync's IPIs, a table's free, a store to an
//! entry (whole or a half, to memory or through a store buffer) and the value a CPU
//! sees through its own buffered stores, `pmd_none()` on it, a read's loads with the
//! torn check, a spinlock's lock, trylock and unlock, which choices are open, and what
//! a step waits for (a lock, a reader-writer lock, the VMA's readers, a freed frame,
//! its store buffer), a table's allocation, which table a frame holds, a stale
//! dereference, and shared words' steps.

/// The [`Sys`] accessors of the masks that a layout keeps as plain fields of its
/// state, `self.st.irq_off` and `self.st.preempted` (both layouts do).
macro_rules! plain_masks {
    () => {
        #[inline(always)]
        fn irq_off(&self) -> u64 {
            self.st.irq_off
        }
        #[inline(always)]
        fn set_irq_off(&mut self, m: u64) {
            self.st.irq_off = m;
        }
        #[inline(always)]
        fn preempted(&self) -> u64 {
            self.st.preempted
        }
        #[inline(always)]
        fn set_preempted(&mut self, m: u64) {
            self.st.preempted = m;
        }
    };
}
pub(crate) use plain_masks;

/// The [`ReadReg`] accessors of the halves that a layout keeps as the fields `low` and
/// `high` of its read registers (both layouts do).
macro_rules! plain_halves {
    () => {
        #[inline(always)]
        fn halves(&self) -> (u32, u32) {
            (self.low, self.high)
        }
        #[inline(always)]
        fn set_halves(&mut self, low: u32, high: u32) {
            (self.low, self.high) = (low, high);
        }
    };
}
pub(crate) use plain_halves;

/// "No CPU": a free lock's owner.
pub const NO_CPU: u8 = u8::MAX;

/// A table's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Life {
    /// Not allocated yet (an allocation site's table before `pte_alloc_one()`).
    Unallocated,
    Live,
    /// Freed once the CPUs in the mask (interrupts off when the free was queued) have
    /// enabled interrupts: an RCU grace period.
    Queued(u64),
    Freed,
}

/// What the rules read and write of a machine's state.
pub(crate) trait Sys {
    fn irq_off(&self) -> u64;
    fn set_irq_off(&mut self, m: u64);
    /// `kvm-pv-flush`: the vCPUs the host has preempted.
    fn preempted(&self) -> u64;
    fn set_preempted(&mut self, m: u64);
    /// Whether an IPI is pending for `cpu`, from any sender.
    fn pending_for(&self, cpu: u8) -> bool;
    /// Whether `cpu`'s store buffer is empty (always, under `memory = sc`).
    fn buffer_empty(&self, cpu: u8) -> bool;
    /// `cpu` answers every IPI pending for it.
    fn answer_all(&mut self, cpu: u8);
    /// `from` sends IPIs to `targets`, and waits for their answers.
    fn send(&mut self, from: u8, targets: u64);
    /// How many tables the program has.
    fn tables(&self) -> usize;
    /// How many of them, from the first, the program may free (what a quiescent state
    /// looks through for a queued free).
    fn freeable(&self) -> usize {
        self.tables()
    }
    /// The address of table `t`'s frame (two tables share one under `alloc =
    /// same-frame`).
    fn frame(&self, t: usize) -> u64;
    fn life(&self, t: usize) -> Life;
    /// Whether table `t` has been freed.
    #[inline(always)]
    fn freed(&self, t: usize) -> bool {
        self.life(t) == Life::Freed
    }
    /// Whether table `t` is allocated and not yet freed (live, or its free queued).
    #[inline(always)]
    fn in_use(&self, t: usize) -> bool {
        matches!(self.life(t), Life::Live | Life::Queued(_))
    }
    /// The CPUs table `t`'s queued free waits for (none if its free is not queued).
    #[inline(always)]
    fn queued_for(&self, t: usize) -> u64 {
        match self.life(t) {
            Life::Queued(m) => m,
            _ => 0,
        }
    }
    fn set_life(&mut self, t: usize, l: Life);
    /// Entry `e`'s value in memory.
    fn entry(&self, e: usize) -> u64;
    /// Entry `e` becomes `v` in memory (a write the torn check of a read in progress
    /// sees).
    fn set_entry(&mut self, e: usize, v: u64);
    /// `cpu` buffers a store: bits `mask` of entry `e` become `bits` when it drains.
    fn buffer_bits(&mut self, cpu: u8, e: usize, mask: u64, bits: u64);
    /// `cpu` has installed a table (what the fault's `while (!installed)` tests).
    fn set_installed(&mut self, cpu: u8);
    /// `cpu`'s buffered stores to entries, oldest first, each as (entry, bits
    /// changed, their value), to `f`.
    fn each_buffered(&self, cpu: u8, f: impl FnMut(usize, u64, u64));
    /// Spinlock `l`'s owner ([`NO_CPU`]: free).
    fn owner(&self, l: usize) -> u8;
    fn set_owner(&mut self, l: usize, cpu: u8);
    /// `cpu` buffers the release store of `spin_unlock()` on lock `l`.
    fn buffer_unlock(&mut self, cpu: u8, l: usize);
    /// Whether `cpu` has installed a table.
    fn installed(&self, cpu: u8) -> bool;
    /// A read in progress, as the layout keeps it.
    type Read: ReadReg;
    /// What a read that begins now notes, its first load of `cur` from entry `e`.
    fn mark(&self, e: usize, cur: u64) -> <Self::Read as ReadReg>::Mark;
    /// `cpu`'s read in progress.
    fn read_mut(&mut self, cpu: u8) -> &mut Self::Read;
    /// Whether entry `e` held `v` at some instant from read `r`'s first load to now
    /// (`cur`: its value now, as the reading CPU sees it).
    fn held_since(&self, r: &Self::Read, e: usize, v: u64, cur: u64) -> bool;
    /// Whether `cpu`'s next program step waits now, for what the layout tests one CPU
    /// at a time ([`Masks::test`]): its store buffer to drain or to have a place, and
    /// what its step needs (a lock, a table) where the layout does not keep that as a
    /// mask.
    fn waits(&self, cpu: u8) -> bool;
    /// How the layout's program names a spinlock in a step.
    type LockName: Copy;
    /// The spinlock `l` names for `cpu` now, if it names one (a table's split lock
    /// names none while the CPU holds no table).
    fn lock_index(&self, cpu: u8, l: Self::LockName) -> Option<usize>;
    /// Reader-writer lock `l`'s writer ([`NO_CPU`]: none) and readers.
    fn rw(&self, l: u8) -> (u8, u64);
    /// The CPUs holding the VMA's read lock.
    fn vma_readers(&self) -> u64;
    /// How the layout names a store to a shared word, as its store buffer holds it.
    type WordStore: Copy;
    /// The word `k` stores to and the value it stores (a slot of the program's words
    /// and a value's index, one byte each in both layouts).
    fn word_store(&self, k: Self::WordStore) -> (u8, u8);
    /// Slot `i` of the shared words and registers, in memory.
    fn word(&self, i: usize) -> u8;
    fn set_word(&mut self, i: usize, v: u8);
    /// `cpu` buffers word store `k`.
    fn buffer_word(&mut self, cpu: u8, k: Self::WordStore);
    /// `cpu`'s buffered word stores, oldest first, to `f`.
    fn each_buffered_word(&self, cpu: u8, f: impl FnMut(Self::WordStore));
    /// The slot of `cpu`'s register `reg`.
    fn reg_slot(&self, cpu: u8, reg: u8) -> usize;
}

/// A read in progress: the halves it has loaded, and whether it has begun.
pub(crate) trait ReadReg: Copy {
    /// Where a read began.
    type Mark: Copy;
    fn halves(&self) -> (u32, u32);
    fn set_halves(&mut self, low: u32, high: u32);
    /// Notes `m` as where the read began, if it has not begun.
    fn begin(&mut self, m: Self::Mark);
}

/// How a store changes an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Store {
    /// One 64-bit exchange to zero (`pmdp_huge_get_and_clear()`, `ptep_get_and_clear()`).
    Clear,
    /// One plain 64-bit store of zero (`pmd_clear()` where entries are whole,
    /// `pte_clear()`).
    ClearPlain,
    /// `xchg(&pmd_low, 0)`.
    ClearLowXchg,
    /// `pmd_low = 0`, a plain store.
    ClearLow,
    /// `pmd_high = 0`.
    ClearHigh,
    /// One 64-bit store of the source's value as `set_pmd()` makes it: `cmpxchg8b` on
    /// the 32-bit platforms (the classic `set = xchg64`), a plain store on 64-bit.
    Set,
    /// One plain 64-bit store (`set_pte()`).
    SetPlain,
    SetHigh,
    SetLow,
}

impl Store {
    /// The bits of an entry the store changes, and what it gives them for `value`,
    /// the entry that a table or page makes.
    pub(crate) fn bits(self, value: u64) -> (u64, u64) {
        const LOW: u64 = 0xffff_ffff;
        match self {
            Store::Clear | Store::ClearPlain => (!0, 0),
            Store::ClearLowXchg | Store::ClearLow => (LOW, 0),
            Store::ClearHigh => (!LOW, 0),
            Store::Set | Store::SetPlain => (!0, value),
            Store::SetHigh => (!LOW, value & !LOW),
            Store::SetLow => (LOW, value & LOW),
        }
    }
}

/// Which half of a 64-bit entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Half {
    Low,
    High,
}

/// How one load belongs to a read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LoadStep {
    /// A 32-bit load that does not finish the read.
    Part(Half),
    /// Loads the half again: on a change the read retries, else it returns.
    Recheck(Half),
    /// The last 32-bit load: the read returns.
    Last(Half),
    /// One 64-bit load: the whole read.
    Whole,
}

/// What a load did to its read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Loaded {
    /// The read goes on.
    Going,
    /// A recheck saw its half change: the read starts again from its first load,
    /// keeping where it began.
    Retry,
    /// The read returns `v`; `torn`: present, yet no value the entry held from the
    /// read's first load to now.
    Done { v: u64, torn: bool },
}

/// What an answer choice did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    /// The host resumed the preempted vCPU.
    Resumed,
    /// The host preempted the vCPU, which could take no IPI.
    Preempted,
    /// The CPU took its pending IPIs.
    Answered,
}

/// Whether `cpu` can take an IPI now: one is pending for it, its interrupts are on and
/// its store buffer is empty (taking an interrupt is serializing).
#[inline(always)]
pub(crate) fn deliverable<S: Sys>(s: &S, cpu: u8) -> bool {
    s.irq_off() >> cpu & 1 == 0 && s.pending_for(cpu) && s.buffer_empty(cpu)
}

/// What a step waits for besides its CPU's own IPIs and vCPU (and, under TSO, its
/// store buffer), told from its op and the program alone; `L` names a spinlock as the
/// layout's program does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait<L> {
    Nothing,
    /// A block's end: it never steps.
    End,
    /// `spin_lock()`: the lock free.
    Lock(L),
    /// A reader-writer lock taken: no writer, and for writing no reader either.
    Rw {
        lock: u8,
        write: bool,
    },
    /// `vma_start_write()`: no CPU holding the VMA read lock (its own CPU neither).
    VmaReaders,
    /// `pte_alloc_one()` of a frame another table holds (`alloc = same-frame`): that
    /// table freed.
    Freed(u8),
}

/// Whether what `cpu`'s next step waits for (`w`) is free now. Its own read lock
/// counts too: `down_write()` on a lock the task holds for reading never returns, as
/// with `mmap_lock` and a spinlock.
#[inline(always)]
pub(crate) fn free_for<S: Sys>(s: &S, cpu: u8, w: Wait<S::LockName>) -> bool {
    match w {
        Wait::Nothing => true,
        Wait::End => false,
        Wait::Lock(l) => s.lock_index(cpu, l).is_none_or(|l| s.owner(l) == NO_CPU),
        Wait::Rw { lock, write } => {
            let (w, r) = s.rw(lock);
            w == NO_CPU && (!write || r == 0)
        }
        Wait::VmaReaders => s.vma_readers() == 0,
        Wait::Freed(t) => s.freed(t as usize),
    }
}

/// Whether a CPU's store buffer, holding `len` stores of at most `cap`, holds back a
/// step of TSO class `class`: a locked, fencing or serializing step waits for it to
/// drain, a store for a place in it.
#[inline(always)]
pub(crate) fn buffer_holds(class: crate::prim::Tso, len: usize, cap: usize) -> bool {
    (class.waits_for_buffer() && len != 0) || (class == crate::prim::Tso::Buffered && len >= cap)
}

/// What the rule of which choices are open ([`open`]) reads of a state besides its
/// `irq_off` and `preempted` masks, as masks of CPUs, each layout keeping them its own
/// way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Masks {
    /// CPUs whose next program step may be taken as far as the layout's masks tell:
    /// the block has not finished, no IPI it sent is unanswered, and (where the layout
    /// keeps them as masks) what the step waits for is free.
    pub ready: u64,
    /// Of those, the CPUs whose step is tested one at a time ([`Sys::waits`]).
    pub test: u64,
    /// Walkers between iterations that start no fresh one: those of a draining run
    /// whose writers have finished (it ends once the walkers do).
    pub stopped: u64,
    /// Every bit set, but none in a draining run whose writers have finished: the host
    /// preempts no vCPU then, so that runs end.
    pub going: u64,
    /// CPUs some IPI is pending for.
    pub pending: u64,
    /// CPUs with stores in their buffer (none under `memory = sc`).
    pub buffered: u64,
    /// `kvm-pv-flush`: the host schedules the walkers' vCPUs.
    pub kvm: bool,
    /// The walkers.
    pub walkers: u64,
}

/// The choices open, as masks of CPUs (program steps, answers, drains).
///
/// A program step: [`Masks::ready`], its vCPU not preempted, not a walker's fresh
/// iteration once a draining run is ending, and not waiting ([`Sys::waits`]). An
/// answer: an IPI pending, interrupts on, and an empty store buffer (taking an
/// interrupt is serializing, and so is the VM exit or entry of a host's choice); where
/// the host schedules the CPU the choice is the host's ([`answer`]): resume its vCPU if
/// preempted, else deliver an IPI it can take, else preempt it (not once a draining run
/// is ending, so that runs end). A drain: a store in the buffer.
#[inline(always)]
pub(crate) fn open<S: Sys>(s: &S, m: Masks) -> (u64, u64, u64) {
    let mut prog = m.ready & !m.stopped;
    let mut ack = m.pending & !s.irq_off();
    if m.kvm {
        // Only the host preempts a vCPU: elsewhere `preempted` is empty.
        let (preempted, w) = (s.preempted(), m.walkers);
        prog &= !preempted;
        ack = (ack & !w) | (w & (preempted | ack | m.going));
    }
    let mut test = prog & m.test;
    while test != 0 {
        let c = test.trailing_zeros() as u8;
        test &= test - 1;
        if s.waits(c) {
            prog &= !(1 << c);
        }
    }
    (prog, ack & !m.buffered, m.buffered)
}

/// An answer choice of `cpu`. Where the host schedules it (a walker's vCPU under
/// `kvm-pv-flush`) the choice is the host's: resume it if preempted, else let it take
/// its IPIs if it can, else preempt it. Elsewhere the CPU takes its IPIs.
#[inline(always)]
pub(crate) fn answer<S: Sys>(s: &mut S, cpu: u8, host_schedules: bool) -> Answer {
    let bit = 1u64 << cpu;
    if host_schedules {
        if s.preempted() & bit != 0 {
            s.set_preempted(s.preempted() & !bit);
            return Answer::Resumed;
        }
        if !deliverable(s, cpu) {
            s.set_preempted(s.preempted() | bit);
            return Answer::Preempted;
        }
    }
    s.answer_all(cpu);
    Answer::Answered
}

/// `cpu`'s TLB flush (`pmdp_collapse_flush()`): where the flush waits for its targets
/// (`in_mm`: mm_cpumask, or none where it is a hypercall), an IPI to each but itself
/// and the preempted vCPUs, which `kvm_flush_tlb_multi()` marks to flush on resume
/// instead of waiting for. Returns the targets: none sent means the CPUs were not
/// told, which `pmdp_collapse_flush_sync()` reads to decide on its sync.
#[inline(always)]
pub(crate) fn flush<S: Sys>(s: &mut S, cpu: u8, in_mm: u64) -> u64 {
    let targets = in_mm & !(1u64 << cpu) & !s.preempted();
    s.send(cpu, targets);
    targets
}

/// `cpu`'s sync (`tlb_remove_table_sync_one()`): an IPI to every other CPU of `all`,
/// preempted or not, waiting for each to take it with interrupts on.
#[inline(always)]
pub(crate) fn sync<S: Sys>(s: &mut S, cpu: u8, all: u64) -> u64 {
    let targets = all & !(1u64 << cpu);
    s.send(cpu, targets);
    targets
}

/// Live table `t` is freed: at once (`pte_free()`), or (`rcu`: `pte_free_defer()`)
/// once every CPU that has interrupts off now has enabled them, an RCU grace period
/// for the walkers inside `local_irq_save()` (and for the freeing CPU's own IRQ-off
/// section, if it frees inside one). Returns the CPUs it waits for; a table not live
/// is left as it is.
#[inline(always)]
pub(crate) fn free<S: Sys>(s: &mut S, t: usize, rcu: bool) -> u64 {
    if s.life(t) != Life::Live {
        return 0;
    }
    let waiting = if rcu { s.irq_off() } else { 0 };
    s.set_life(
        t,
        if waiting == 0 {
            Life::Freed
        } else {
            Life::Queued(waiting)
        },
    );
    waiting
}

/// `pte_alloc_one()`: table `t` is allocated.
#[inline(always)]
pub(crate) fn alloc<S: Sys>(s: &mut S, t: usize) {
    s.set_life(t, Life::Live);
}

/// The table a frame holds, told from its address (`addr`, a table entry's page
/// frame): the table allocated there now, else the first whose frame it is (its life
/// says whether it was freed or is not allocated yet); none for a frame no table has.
#[inline(always)]
pub(crate) fn table_at<S: Sys>(s: &S, addr: u64) -> Option<usize> {
    let mut found = None;
    for t in 0..s.tables() {
        if s.frame(t) == addr {
            if s.in_use(t) {
                return Some(t);
            }
            found = found.or(Some(t));
        }
    }
    found
}

/// A dereference of the table at `addr` (`pte_offset_map()` of the value a walker
/// read): stale when a table whose frame that is has been freed and none is allocated
/// there now (under `alloc = same-frame` the frame may hold its successor).
#[inline(always)]
pub(crate) fn stale<S: Sys>(s: &S, addr: u64) -> bool {
    let (mut freed, mut live) = (false, false);
    for t in 0..s.tables() {
        let here = s.frame(t) == addr;
        freed |= here & s.freed(t);
        live |= here & s.in_use(t);
    }
    freed & !live
}

/// `cpu` disables interrupts: from here it takes no IPI.
#[inline(always)]
pub(crate) fn irq_off<S: Sys>(s: &mut S, cpu: u8) {
    s.set_irq_off(s.irq_off() | 1u64 << cpu);
}

/// `cpu` enables interrupts: a quiescent state, and the last one a queued free waits
/// for frees its table. Returns whether a free completed.
#[inline(always)]
pub(crate) fn irq_on<S: Sys>(s: &mut S, cpu: u8) -> bool {
    let bit = 1u64 << cpu;
    s.set_irq_off(s.irq_off() & !bit);
    let mut freed = false;
    for t in 0..s.freeable() {
        // Only a free that waits for this CPU changes.
        let m = s.queued_for(t);
        if m & bit != 0 {
            let m = m & !bit;
            freed |= m == 0;
            s.set_life(t, if m == 0 { Life::Freed } else { Life::Queued(m) });
        }
    }
    freed
}

/// Bits `mask` of entry `e` become those of `bits`, and the others keep what memory
/// holds: a store at once, or a buffered one as it drains (a half store leaves the
/// other half as it is then).
#[inline(always)]
pub(crate) fn write_bits<S: Sys>(s: &mut S, e: usize, mask: u64, bits: u64) {
    s.set_entry(e, s.entry(e) & !mask | bits & mask);
}

/// `cpu` stores to entry `e` as `how` says, `value` the entry that a table or page
/// makes: into its store buffer where the store is a buffered one under TSO
/// (`buffered`), else to memory at once (a locked store waits for an empty buffer, so
/// memory is what the CPU sees). A table's whole entry, or its low word (present
/// last), completes its installation (`table`: the value is a table's).
#[inline(always)]
pub(crate) fn store<S: Sys>(
    s: &mut S,
    cpu: u8,
    e: usize,
    how: Store,
    value: u64,
    table: bool,
    buffered: bool,
) {
    let (mask, bits) = how.bits(value);
    if table && matches!(how, Store::Set | Store::SetLow) {
        s.set_installed(cpu);
    }
    if buffered {
        s.buffer_bits(cpu, e, mask, bits);
    } else {
        write_bits(s, e, mask, bits);
    }
}

/// `cpu`'s load of entry `e`, whose value it sees now is `cur`, as step `step` of its
/// read: a 32-bit load of a half, a recheck of one, the last, or one 64-bit load (a
/// read of its own, which cannot tear). The read's first load notes where it begins.
/// A read that returns is torn where its value is present (`pmd_low` not zero) but
/// is no value the entry held at any instant since then: old low word, new high word.
/// The caller ends a read that returns.
#[inline(always)]
pub(crate) fn load<S: Sys>(s: &mut S, cpu: u8, e: usize, cur: u64, step: LoadStep) -> Loaded {
    let half = |h: Half| match h {
        Half::Low => cur as u32,
        Half::High => (cur >> 32) as u32,
    };
    let h = match step {
        LoadStep::Whole => {
            return Loaded::Done {
                v: cur,
                torn: false,
            }
        }
        LoadStep::Part(h) | LoadStep::Recheck(h) | LoadStep::Last(h) => h,
    };
    let mark = s.mark(e, cur);
    let r = s.read_mut(cpu);
    r.begin(mark);
    let (mut low, mut high) = r.halves();
    if let LoadStep::Recheck(_) = step {
        let had = match h {
            Half::Low => low,
            Half::High => high,
        };
        if had != half(h) {
            r.set_halves(0, 0);
            return Loaded::Retry;
        }
    } else {
        match h {
            Half::Low => low = half(h),
            Half::High => high = half(h),
        }
    }
    if let LoadStep::Part(_) = step {
        r.set_halves(low, high);
        return Loaded::Going;
    }
    let r = *r;
    let v = low as u64 | (high as u64) << 32;
    // `&`, not `&&`: whether a read is present follows the schedule, and a branch on it
    // mispredicted.
    let torn = (v as u32 != 0) & !s.held_since(&r, e, v, cur);
    Loaded::Done { v, torn }
}

/// Entry `e` as `cpu` loads it: memory, overlaid by its own buffered stores to it in
/// program order (x86-TSO's store forwarding).
#[inline(always)]
pub(crate) fn seen<S: Sys>(s: &S, cpu: u8, e: usize) -> u64 {
    let mut v = s.entry(e);
    s.each_buffered(cpu, |x, mask, bits| {
        if x == e {
            v = v & !mask | bits & mask;
        }
    });
    v
}

/// `pmd_none()` of entry `e` as `cpu` sees it, in one step: its lock keeps every other
/// writer out, so no half changes between the two loads.
#[inline(always)]
pub(crate) fn none_now<S: Sys>(s: &S, cpu: u8, e: usize) -> bool {
    seen(s, cpu, e) == 0
}

/// `cpu` takes spinlock `l` (`spin_lock()`: the enabled set held it while another CPU
/// held the lock).
#[inline(always)]
pub(crate) fn lock<S: Sys>(s: &mut S, cpu: u8, l: usize) {
    s.set_owner(l, cpu);
}

/// `spin_trylock()` of lock `l` by `cpu`: takes it if free. Returns whether it did.
#[inline(always)]
pub(crate) fn trylock<S: Sys>(s: &mut S, cpu: u8, l: usize) -> bool {
    let free = s.owner(l) == NO_CPU;
    if free {
        s.set_owner(l, cpu);
    }
    free
}

/// `cpu` releases spinlock `l` (`spin_unlock()`, a plain release store): into its
/// store buffer under TSO (`buffered`), else at once.
#[inline(always)]
pub(crate) fn unlock<S: Sys>(s: &mut S, cpu: u8, l: usize, buffered: bool) {
    if buffered {
        s.buffer_unlock(cpu, l);
    } else {
        release(s, l);
    }
}

/// Whether `cpu` goes round its `do { … } while (!installed)` again at the unlock
/// that ends it (`looped`): until it has installed its table.
#[inline(always)]
pub(crate) fn loops_again<S: Sys>(s: &S, cpu: u8, looped: bool) -> bool {
    looped && !s.installed(cpu)
}

/// Lock `l` becomes free: `spin_unlock()`'s store, at once or as it drains.
#[inline(always)]
pub(crate) fn release<S: Sys>(s: &mut S, l: usize) {
    s.set_owner(l, NO_CPU);
}

/// `WRITE_ONCE()`: `cpu`'s store `k` to a shared word, into its store buffer
/// (`buffered`, a plain store under TSO) or to memory.
#[inline(always)]
pub(crate) fn write_once<S: Sys>(s: &mut S, cpu: u8, k: S::WordStore, buffered: bool) {
    if buffered {
        s.buffer_word(cpu, k);
    } else {
        drain_word(s, k);
    }
}

/// Word store `k` reaches memory.
#[inline(always)]
pub(crate) fn drain_word<S: Sys>(s: &mut S, k: S::WordStore) {
    let (var, v) = s.word_store(k);
    s.set_word(var as usize, v);
}

/// Word `var` as `cpu` loads it: its newest buffered store to it, else memory (x86-TSO
/// forwards a CPU's own stores).
#[inline(always)]
pub(crate) fn seen_word<S: Sys>(s: &S, cpu: u8, var: u8) -> u8 {
    let mut got = s.word(var as usize);
    s.each_buffered_word(cpu, |k| {
        let (v, x) = s.word_store(k);
        if v == var {
            got = x;
        }
    });
    got
}

/// `READ_ONCE()`: `cpu` loads word `var` into its register `reg`; returns the value.
#[inline(always)]
pub(crate) fn read_once<S: Sys>(s: &mut S, cpu: u8, var: u8, reg: u8) -> u8 {
    let v = seen_word(s, cpu, var);
    let r = s.reg_slot(cpu, reg);
    s.set_word(r, v);
    v
}

/// `xchg()` on a shared word (locked: its CPU's buffer is empty): `var` becomes
/// `value`, and the old value goes to `cpu`'s register `reg` unless it is
/// [`crate::program::words::NO_REG`]; returns the old value.
#[inline(always)]
pub(crate) fn xchg<S: Sys>(s: &mut S, cpu: u8, var: u8, value: u8, reg: u8) -> u8 {
    let old = s.word(var as usize);
    s.set_word(var as usize, value);
    if reg != crate::program::words::NO_REG {
        let r = s.reg_slot(cpu, reg);
        s.set_word(r, old);
    }
    old
}
