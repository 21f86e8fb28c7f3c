//! The step semantics: one arm per op at the CPU's pc, each an atomic step of MODEL.md
//! (a 32-bit load or store, a 64-bit exchange, a lock or unlock, an IPI send or
//! acknowledgement, a hypercall), with the helpers that finish a read and classify it.

use super::action::*;
use super::state::*;
use super::Machine;
use crate::prim::Op;
use crate::program::Instr;
use crate::rules::{self, Answer, Half, Life, LoadStep, Loaded, Store as How, Sys};

impl Machine {
    /// Takes one step. `ch` must be enabled; the caller checks (see [`Machine::try_step`]).
    ///
    /// Every program step is one arm of one `match` on the op at the CPU's pc: under a
    /// random schedule the kind of the next step is unpredictable, and each extra branch
    /// on it (reader or not, which role, which op) cost a mispredict; one dispatch halved
    /// them. The program only says where each outcome goes next.
    #[inline(always)]
    pub fn step(&mut self, ch: Choice) -> Effect {
        match (self.generic, self.tso) {
            (false, false) => self.step_as::<false, false>(ch),
            (true, false) => self.step_as::<true, false>(ch),
            (false, true) => self.step_as::<false, true>(ch),
            (true, true) => self.step_as::<true, true>(ch),
        }
    }

    /// [`Machine::step`], for a machine whose [`Machine::is_generic`] is `G` and whose
    /// [`Machine::is_tso`] is `T`.
    #[inline(always)]
    pub fn step_as<const G: bool, const T: bool>(&mut self, ch: Choice) -> Effect {
        debug_assert_eq!(G, self.generic);
        debug_assert_eq!(T, self.tso);
        debug_assert!(self.enabled().contains(ch), "{ch:?} is not enabled");
        let cpu = ch.cpu;
        let bit = 1u64 << cpu;
        let mut e = Effect::of(ActionKind::Ack);
        if T && ch.drain {
            return self.drain_one(cpu);
        }
        if ch.ack {
            let host = self.kvm && self.reader_mask & bit != 0;
            match rules::answer(self, cpu, host) {
                Answer::Resumed => {
                    e.kind = ActionKind::Resume;
                    // A yield, so PCT does not toggle one vCPU forever.
                    e.flags = flag::YIELD;
                }
                Answer::Preempted => {
                    e.kind = ActionKind::Preempt;
                    e.flags = flag::YIELD;
                }
                Answer::Answered => {
                    e.flags = (self.st.ipi == IpiKind::Sync) as u8 * flag::SYNC;
                    self.refresh();
                }
            }
            return e;
        }
        let pmd = self.st.pmd;
        // The reader arms below load their registers themselves (`slot`): a writer's step
        // should not pay for a reader's load.
        let ins = self.st.cur[cpu as usize & 63];
        let mut next = ins.next;
        match ins.op {
            Op::Lock => {
                rules::lock(self, cpu, 0);
                e.kind = ActionKind::PtlLock;
                return self.moved::<G>(cpu, bit, e, next);
            }
            Op::Unlock => {
                // Inside `do { … } while (!installed)`, the unlock loops back.
                rules::unlock(self, cpu, 0, T);
                let retry = rules::loops_again(self, cpu, ins.alt != ins.next);
                next = if retry { ins.alt } else { ins.next };
                e.kind = ActionKind::PtlUnlock;
                e.flags = retry as u8 * (flag::RETRY | flag::YIELD);
                return self.moved::<G>(cpu, bit, e, next);
            }
            Op::Clear => {
                rules::store(self, cpu, 0, How::Clear, 0, false, false);
                e.kind = ActionKind::Clear;
            }
            Op::ClearLow => {
                rules::store(self, cpu, 0, How::ClearLowXchg, 0, false, false);
                e.kind = ActionKind::ClearLow;
            }
            Op::ClearHigh => {
                rules::store(self, cpu, 0, How::ClearHigh, 0, false, T);
                e.kind = ActionKind::ClearHigh;
            }
            Op::ClearLowStore => {
                rules::store(self, cpu, 0, How::ClearLow, 0, false, T);
                e.kind = ActionKind::ClearLowStore;
            }
            // The buffer is empty: `enabled` held the fence until it was.
            Op::Fence => e.kind = ActionKind::Fence,
            // A writer's steps that come once a run: out of the step's line, whose
            // every instruction and register the reads' steps share. Each has its own
            // arm here: one out-of-line step for all five, dispatching on the op a
            // second time, mispredicted that dispatch (the op follows the schedule).
            Op::Flush => {
                let (e, next) = self.flush_step(cpu, ins);
                return self.moved::<G>(cpu, bit, e, next);
            }
            Op::Sync => {
                let e = self.sync_step(cpu);
                return self.moved::<G>(cpu, bit, e, next);
            }
            Op::FreeDefer => {
                let e = self.free_step(true);
                return self.moved::<G>(cpu, bit, e, next);
            }
            Op::FreeNow => {
                let e = self.free_step(false);
                return self.moved::<G>(cpu, bit, e, next);
            }
            Op::Alloc => {
                let e = self.alloc_step();
                return self.moved::<G>(cpu, bit, e, next);
            }
            Op::CheckNone => {
                // Under the PTL no one else writes the PMD, so reading both halves is one step.
                let none = rules::none_now(self, cpu, 0);
                next = if none { ins.next } else { ins.alt };
                e.kind = ActionKind::CheckNone;
                e.flags = none as u8 * flag::NONE;
            }
            Op::Set => {
                rules::store(self, cpu, 0, How::Set, self.new.value(), true, false);
                e.kind = ActionKind::Set;
            }
            Op::SetHigh => {
                rules::store(self, cpu, 0, How::SetHigh, self.new.value(), true, T);
                e.kind = ActionKind::SetHigh;
            }
            Op::SetLow => {
                rules::store(self, cpu, 0, How::SetLow, self.new.value(), true, T);
                e.kind = ActionKind::SetLow;
            }

            // Readers. Registers dead at the next pc are zeroed, so equal states compare
            // equal.
            Op::IrqOff => {
                rules::irq_off(self, cpu);
                e.kind = ActionKind::IrqOff;
            }
            Op::LoadLow => {
                next = self.load_step(cpu, ins, pmd, LoadStep::Part(Half::Low), &mut e);
                e.kind = ActionKind::LoadLow;
                e.v1 = pmd.low;
            }
            Op::LoadHigh => {
                next = self.load_step(cpu, ins, pmd, LoadStep::Part(Half::High), &mut e);
                e.kind = ActionKind::LoadHigh;
                e.v1 = pmd.high;
            }
            Op::RecheckLow => {
                let (_, r) = self.regs(cpu);
                e.kind = ActionKind::ReloadLow;
                (e.v1, e.v2) = (pmd.low, r.high);
                next = self.load_step(cpu, ins, pmd, LoadStep::Recheck(Half::Low), &mut e);
            }
            Op::RecheckHigh => {
                let (_, r) = self.regs(cpu);
                e.kind = ActionKind::ReloadHigh;
                (e.v1, e.v2) = (r.low, pmd.high);
                next = self.load_step(cpu, ins, pmd, LoadStep::Recheck(Half::High), &mut e);
            }
            Op::LoadLowEnd => {
                let (_, r) = self.regs(cpu);
                e.kind = ActionKind::LastLoadLow;
                (e.v1, e.v2) = (pmd.low, r.high);
                next = self.load_step(cpu, ins, pmd, LoadStep::Last(Half::Low), &mut e);
            }
            Op::LoadHighEnd => {
                let (_, r) = self.regs(cpu);
                e.kind = ActionKind::LastLoadHigh;
                (e.v1, e.v2) = (r.low, pmd.high);
                next = self.load_step(cpu, ins, pmd, LoadStep::Last(Half::High), &mut e);
            }
            Op::Load64 => {
                e.kind = ActionKind::Load64;
                (e.v1, e.v2) = (pmd.low, pmd.high);
                next = self.load_step(cpu, ins, pmd, LoadStep::Whole, &mut e);
            }
            Op::Deref => {
                let (slot, r) = self.regs(cpu);
                let addr = r.pmd().addr();
                let stale = rules::stale(self, addr);
                self.st.regs[slot] = Regs::START;
                e.kind = ActionKind::Deref;
                e.wide = addr;
                e.flags = stale as u8 * flag::STALE;
            }
            Op::IrqOn => {
                e.kind = ActionKind::IrqOn;
                e.flags = flag::YIELD;
                if rules::irq_on(self, cpu) {
                    e.flags |= flag::FREED;
                    self.goto(cpu, next);
                    self.refresh();
                }
            }
            // Only a generic machine runs these (a program with shared words is one), so
            // the fast path has no call in its loop.
            Op::WordStore | Op::WordLoad | Op::WordXchg if G => {
                let (values, wide) = self.word_step::<T>(cpu, ins.op);
                e.kind = match ins.op {
                    Op::WordStore => ActionKind::WordStore,
                    Op::WordLoad => ActionKind::WordLoad,
                    _ => ActionKind::WordXchg,
                };
                (e.v1, e.v2, e.wide) = (values as u32, (values >> 32) as u32, wide);
            }
            // A finished CPU is never enabled (`enabled` says so, and debug builds check
            // it above); no panic path in the dispatch.
            Op::Done | Op::WordStore | Op::WordLoad | Op::WordXchg => {}
        }
        self.goto(cpu, next);
        // A writer's next op may be one it waits at (`pmd_lock()` with the PTL taken,
        // `pte_alloc_one()` for the old frame, its end): the writer mask follows it. The
        // readers' steps, nearly all of them, skip this on one predicted branch.
        if cpu < FIRST_READER {
            self.refresh();
        }
        self.reader_tail::<G>(cpu, next, bit);
        e
    }

    /// The flush (`pmdp_collapse_flush()`): returns the step's effect and where the CPU
    /// goes.
    #[inline(never)]
    fn flush_step(&mut self, cpu: u8, ins: Instr) -> (Effect, u8) {
        let mut e = Effect::of(ActionKind::FlushHypercall);
        let targets = rules::flush(self, cpu, self.flush_targets);
        let sent = targets != 0;
        if sent {
            // Native: IPI the CPUs in mm_cpumask and wait for them.
            sent_to(targets, &mut e);
            self.st.ipi = IpiKind::Flush;
            self.st.flush_sent_ipi = true;
            e.kind = ActionKind::FlushIpi;
        }
        // Xen PV: a hypercall that no guest IRQ handler sees. pmdp_collapse_flush_sync()
        // skips the sync when the flush sent IPIs.
        (e, if sent { ins.next } else { ins.alt })
    }

    /// The sync (`tlb_remove_table_sync_one()`).
    #[inline(never)]
    fn sync_step(&mut self, cpu: u8) -> Effect {
        let mut e = Effect::of(ActionKind::SyncIpi);
        let targets = rules::sync(self, cpu, self.sync_targets);
        sent_to(targets, &mut e);
        self.st.ipi = IpiKind::Sync;
        e
    }

    /// The old table's free: after a grace period (`rcu`: `pte_free_defer()`) or at once.
    #[inline(never)]
    fn free_step(&mut self, rcu: bool) -> Effect {
        let mut e = Effect::of(ActionKind::Free);
        e.wide = rules::free(self, OLD, rcu);
        e
    }

    /// The populator's `pte_alloc_one()`.
    #[inline(never)]
    fn alloc_step(&mut self) -> Effect {
        rules::alloc(self, NEW);
        let mut e = Effect::of(ActionKind::Alloc);
        e.wide = self.new_addr;
        e
    }

    /// The CPU moves on after a step that may have changed the writer mask or the gate
    /// whichever CPU took it (a lock, an unlock, a step that comes once a run), and
    /// they follow.
    #[inline(always)]
    fn moved<const G: bool>(&mut self, cpu: u8, bit: u64, e: Effect, next: u8) -> Effect {
        self.goto(cpu, next);
        self.refresh();
        self.reader_tail::<G>(cpu, next, bit);
        e
    }

    /// A reader's index into the readers' registers. Only readers' steps call it; the
    /// clamp lets the indexing that follows go without a panic path.
    #[inline(always)]
    fn slot(&self, cpu: u8) -> usize {
        (cpu.wrapping_sub(FIRST_READER) as usize).min(self.st.regs.len() - 1)
    }

    /// A reader's slot and the registers in it: what every reader arm that uses its
    /// registers loads first (writers' steps load none).
    #[inline(always)]
    fn regs(&self, cpu: u8) -> (usize, Regs) {
        let slot = self.slot(cpu);
        (slot, self.st.regs[slot])
    }

    /// After a step of a generic machine's reader: its `busy` and `at_lock` bits, and the
    /// writers it may have let go (its unlock) or stopped (its lock). Nothing otherwise.
    /// The steps that already moved and refreshed return through here too, so that no
    /// step writes its pc twice.
    #[inline(always)]
    fn reader_tail<const G: bool>(&mut self, cpu: u8, next: u8, bit: u64) {
        if G && self.reader_mask & bit != 0 {
            // Away from the block's first line is inside an iteration.
            let away = (next != self.prog.entry[cpu as usize]) as u64;
            let lock = (self.code[next as usize].op == Op::Lock) as u64;
            self.st.busy = self.st.busy & !bit | away << cpu;
            self.st.at_lock = self.st.at_lock & !bit | lock << cpu;
            self.refresh();
        }
    }

    /// Takes one step if `ch` is enabled, else says why not.
    pub fn try_step(&mut self, ch: Choice) -> Result<Action, String> {
        match self.why_disabled(ch) {
            None => Ok(self.step(ch).action()),
            Some(why) => Err(why),
        }
    }

    /// Puts a store in `cpu`'s store buffer (`memory = tso`).
    fn buffer(&mut self, cpu: u8, s: Store) {
        if let Some(b) = self.st.sb.get_mut(cpu as usize) {
            b.push(s);
            self.st.sb_mask |= 1 << cpu;
        }
    }

    /// A buffered store to the PMD, as its bits: which it changes, and their value.
    #[inline(always)]
    fn pmd_bits(&self, s: Store) -> Option<(u64, u64)> {
        match s {
            Store::LowZero => Some((LOW, 0)),
            Store::HighZero => Some((!LOW, 0)),
            Store::HighNew => Some((!LOW, self.new.value() & !LOW)),
            Store::LowNew => Some((LOW, self.new.value() & LOW)),
            Store::PtlFree | Store::Word(_) => None,
        }
    }

    /// A step on a shared word: `WRITE_ONCE()` (buffered under TSO), `READ_ONCE()`
    /// (from this CPU's newest buffered store to the word, else memory), `xchg()` (its
    /// buffer is empty: `enabled` held it until it was). Returns the effect's `v1` and
    /// `v2` (the value stored or loaded, the old value) in one word, and its `wide`.
    #[inline(never)]
    fn word_step<const T: bool>(&mut self, cpu: u8, op: Op) -> (u64, u64) {
        let Some(a) = self
            .prog
            .words
            .as_deref()
            .map(|w| w.access[self.st.pc[cpu as usize & 63] as usize])
        else {
            return (0, 0);
        };
        // As `Action` has them: the word, and for a load or exchange its register's CPU
        // and index.
        let wide = a.var as u64 | (a.reg as u64) << 8 | (cpu as u64) << 16;
        let (v1, v2, wide) = match op {
            Op::WordStore => {
                rules::write_once(self, cpu, a.store, T);
                (a.value, None, a.var as u64)
            }
            Op::WordLoad => (rules::read_once(self, cpu, a.var, a.reg), None, wide),
            _ => {
                let old = rules::xchg(self, cpu, a.var, a.value, a.reg);
                (a.value, Some(old), wide)
            }
        };
        let value = |i: u8| {
            let w = self.prog.words.as_deref();
            w.and_then(|w| w.value(i)).unwrap_or(0) as u64
        };
        (value(v1) | v2.map_or(0, |o| value(o) << 32), wide)
    }

    /// Whether the old table is freed, as [`Sys::life`] tells it (no CPU left to pass a
    /// quiescent state, and its free done), without a branch.
    #[inline(always)]
    fn old_freed(&self) -> bool {
        (self.st.qs == 0) & (self.st.old_table == TableState::Freed)
    }

    /// The oldest store in `cpu`'s buffer reaches memory.
    fn drain_one(&mut self, cpu: u8) -> Effect {
        let mut e = Effect::of(ActionKind::Drain);
        let c = cpu as usize;
        let Some(s) = self.st.sb.get_mut(c).and_then(|b| b.pop()) else {
            return e;
        };
        if self.st.sb[c].is_empty() {
            self.st.sb_mask &= !(1u64 << cpu);
        }
        if let Some((mask, bits)) = self.pmd_bits(s) {
            rules::write_bits(self, 0, mask, bits);
        } else if let Store::Word(k) = s {
            rules::drain_word(self, k);
        } else {
            rules::release(self, 0);
        }
        e.wide = s.code() as u64;
        self.refresh();
        e
    }

    #[inline]
    fn write_pmd(&mut self, pmd: Pmd) {
        self.st.pmd = pmd;
        self.st.ver += 1;
        debug_assert_eq!(self.history[self.st.ver as usize], pmd);
    }

    /// Whether the PMD held the present value `v` at some version in `first..=last`.
    ///
    /// The only present values in a run's history are the old table (version 0) and the
    /// new one (the last version): every other write leaves `pmd_low` zero. So two
    /// comparisons decide it.
    #[inline(always)]
    pub(super) fn held_present(&self, first: u8, last: u8, v: u64) -> bool {
        let last_ver = self.history_len - 1;
        ((v == self.history[0].value()) & (first == 0))
            | ((v == self.new.value()) & (last == last_ver))
    }

    /// A load of the PMD, `pmd` in memory, as step `step` of a read (the rule is
    /// [`rules::load`]): returns where the CPU goes. A read that returns goes on as
    /// [`Machine::after_read`] says.
    #[inline(always)]
    fn load_step(&mut self, cpu: u8, ins: Instr, pmd: Pmd, step: LoadStep, e: &mut Effect) -> u8 {
        match rules::load(self, cpu, 0, pmd.value(), step) {
            Loaded::Going => ins.next,
            Loaded::Retry => {
                e.flags = flag::RETRY;
                ins.alt
            }
            Loaded::Done { v, torn } => {
                e.flags = flag::READ | (torn as u8 * flag::TORN);
                let got = Pmd {
                    low: v as u32,
                    high: (v >> 32) as u32,
                };
                self.after_read(cpu, ins, got)
            }
        }
    }

    /// A read returned `v`: a present value goes on to the `pte_offset_map()` that
    /// follows (keeping it in the registers), a none one skips it.
    #[inline(always)]
    fn after_read(&mut self, cpu: u8, ins: Instr, v: Pmd) -> u8 {
        let slot = self.slot(cpu);
        let keep = v.present() & (ins.skip != ins.next);
        self.st.regs[slot] = if keep {
            Regs {
                low: v.low,
                high: v.high,
                first_ver: NO_VER,
            }
        } else {
            Regs::START
        };
        if v.present() {
            ins.next
        } else {
            ins.skip
        }
    }
}

/// A PMD's low word.
const LOW: u64 = 0xffff_ffff;

/// An IPI step's effect: the CPUs it went to.
#[inline(always)]
fn sent_to(targets: u64, e: &mut Effect) {
    e.wide = targets;
    e.ipis = targets.count_ones() as u8;
}

/// The classic layout, as the shared rules read it: one pending mask (only the
/// collapser sends), and two tables, the old one ([`OLD`]), whose queued free waits for
/// the CPUs in `qs`, and the new one ([`NEW`]), allocated or not.
impl Sys for Machine {
    rules::plain_masks!();
    #[inline(always)]
    fn pending_for(&self, cpu: u8) -> bool {
        self.st.pending >> cpu & 1 == 1
    }
    /// The enabled set offers no answer while a CPU's buffer holds a store, so the
    /// rules never ask about one that does.
    #[inline(always)]
    fn buffer_empty(&self, cpu: u8) -> bool {
        debug_assert_eq!(
            self.st.sb_mask >> cpu & 1,
            0,
            "CPU{cpu} answers with stores buffered"
        );
        true
    }
    #[inline(always)]
    fn answer_all(&mut self, cpu: u8) {
        self.st.pending &= !(1u64 << cpu);
    }
    #[inline(always)]
    fn send(&mut self, _from: u8, targets: u64) {
        self.st.pending |= targets;
    }
    /// The old table ([`OLD`]) and the populator's new one ([`NEW`]).
    #[inline(always)]
    fn tables(&self) -> usize {
        2
    }
    /// Only the old table is ever freed.
    #[inline(always)]
    fn freeable(&self) -> usize {
        1
    }
    #[inline(always)]
    fn frame(&self, t: usize) -> u64 {
        if t == OLD {
            OLD_TABLE
        } else {
            self.new_addr
        }
    }
    /// The old table's queued free is the one with CPUs still to pass a quiescent
    /// state; the new table is never freed.
    #[inline(always)]
    fn life(&self, t: usize) -> Life {
        if t == NEW {
            if self.st.allocated {
                Life::Live
            } else {
                Life::Unallocated
            }
        } else if self.st.qs != 0 {
            Life::Queued(self.st.qs)
        } else if self.st.old_table == TableState::Freed {
            Life::Freed
        } else {
            Life::Live
        }
    }
    /// Without a branch: which table a walker dereferences, and whether its free is
    /// queued then, follow the schedule.
    #[inline(always)]
    fn freed(&self, t: usize) -> bool {
        (t == OLD) & self.old_freed()
    }
    #[inline(always)]
    fn in_use(&self, t: usize) -> bool {
        if t == NEW {
            self.st.allocated
        } else {
            !self.old_freed()
        }
    }
    #[inline(always)]
    fn queued_for(&self, t: usize) -> u64 {
        if t == OLD {
            self.st.qs
        } else {
            0
        }
    }
    #[inline(always)]
    fn entry(&self, _e: usize) -> u64 {
        self.st.pmd.value()
    }
    #[inline(always)]
    fn set_entry(&mut self, _e: usize, v: u64) {
        self.write_pmd(Pmd {
            low: v as u32,
            high: (v >> 32) as u32,
        });
    }
    /// A classic buffered store is a half, of zero or of the new table: its code.
    #[inline(always)]
    fn buffer_bits(&mut self, cpu: u8, _e: usize, mask: u64, bits: u64) {
        let s = match (mask == LOW, bits == 0) {
            (true, true) => Store::LowZero,
            (false, true) => Store::HighZero,
            (true, false) => Store::LowNew,
            (false, false) => Store::HighNew,
        };
        self.buffer(cpu, s);
    }
    #[inline(always)]
    fn set_installed(&mut self, _cpu: u8) {
        self.st.installed = true;
    }
    /// The PMD's stores only: a buffer holds the unlock and word stores too.
    #[inline(always)]
    fn each_buffered(&self, cpu: u8, mut f: impl FnMut(usize, u64, u64)) {
        let b = self.st.sb.get(cpu as usize).copied().unwrap_or_default();
        for (mask, bits) in b.iter().filter_map(|s| self.pmd_bits(s)) {
            f(0, mask, bits);
        }
    }
    /// The one spinlock: the PTL.
    #[inline(always)]
    fn owner(&self, _l: usize) -> u8 {
        self.st.ptl
    }
    #[inline(always)]
    fn set_owner(&mut self, _l: usize, cpu: u8) {
        self.st.ptl = cpu;
    }
    #[inline(always)]
    fn buffer_unlock(&mut self, cpu: u8, _l: usize) {
        self.buffer(cpu, Store::PtlFree);
    }
    #[inline(always)]
    fn installed(&self, _cpu: u8) -> bool {
        self.st.installed
    }
    type Read = Regs;
    /// The PMD's version: its write count.
    #[inline(always)]
    fn mark(&self, _e: usize, _cur: u64) -> u8 {
        self.st.ver
    }
    #[inline(always)]
    fn read_mut(&mut self, cpu: u8) -> &mut Regs {
        let slot = self.slot(cpu);
        &mut self.st.regs[slot]
    }
    #[inline(always)]
    fn held_since(&self, r: &Regs, _e: usize, v: u64, _cur: u64) -> bool {
        self.held_present(r.first_ver, self.st.ver, v)
    }
    #[inline(always)]
    fn waits(&self, cpu: u8) -> bool {
        (self.tso && self.buffer_blocks(cpu)) || !self.free_now(&self.frees(), cpu)
    }
    type LockName = ();
    /// One spinlock: the PTL.
    #[inline(always)]
    fn lock_index(&self, _cpu: u8, _l: ()) -> Option<usize> {
        Some(0)
    }
    /// No reader-writer lock: no classic step waits for one.
    fn rw(&self, _l: u8) -> (u8, u64) {
        (NO_CPU, 0)
    }
    /// No VMA lock: no classic step waits for it.
    fn vma_readers(&self) -> u64 {
        0
    }
    /// A word store is its index among the program's ([`crate::program::Words::stores`]).
    type WordStore = u8;
    fn word_store(&self, k: u8) -> (u8, u8) {
        self.prog
            .words
            .as_deref()
            .map_or((0, 0), |w| w.stores[k as usize])
    }
    fn word(&self, i: usize) -> u8 {
        self.st.words[i]
    }
    fn set_word(&mut self, i: usize, v: u8) {
        self.st.words[i] = v;
    }
    fn buffer_word(&mut self, cpu: u8, k: u8) {
        self.st.sb[cpu as usize].push(Store::Word(k));
        self.st.sb_mask |= 1 << cpu;
    }
    fn each_buffered_word(&self, cpu: u8, mut f: impl FnMut(u8)) {
        for s in self
            .st
            .sb
            .get(cpu as usize)
            .map(|b| b.iter())
            .into_iter()
            .flatten()
        {
            if let Store::Word(k) = s {
                f(k);
            }
        }
    }
    fn reg_slot(&self, cpu: u8, reg: u8) -> usize {
        self.prog
            .words
            .as_deref()
            .map_or(0, |w| w.base[cpu as usize].0 as usize + reg as usize)
    }
    /// The rules allocate the new table, and queue the old table's free or complete it.
    #[inline(always)]
    fn set_life(&mut self, t: usize, l: Life) {
        if t == NEW {
            self.st.allocated = l == Life::Live;
            return;
        }
        (self.st.old_table, self.st.qs) = match l {
            Life::Queued(m) => (TableState::FreeQueued, m),
            _ => (TableState::Freed, 0),
        };
    }
}

impl rules::ReadReg for Regs {
    type Mark = u8;
    rules::plain_halves!();
    #[inline(always)]
    fn begin(&mut self, ver: u8) {
        // A select, not a conditional store: whether a load is a read's first follows
        // the schedule, and a branch on it mispredicted.
        self.first_ver = if self.first_ver == NO_VER {
            ver
        } else {
            self.first_ver
        };
    }
}
