//! The general machine: a compiled program with its state (`state.rs`) and
//! [`GMachine::step`], the one place its rules live (those it shares with the classic
//! machine through `crate::rules`). Runs, the exhaustive search and traces all step
//! through it; which steps are open is `enabled.rs`'s.

use super::ir::{
    Buffered, EntryRef, FreeHow, GOp, GProgram, LockSrc, PageSrc, TableSrc, DONE, NO_TABLE, PTES,
};
use super::reach::Wait;
use crate::hazard::Hazard;
use crate::prim::general::Test;
use crate::rules::{self, Sys};
use std::sync::Arc;

pub(super) use super::state::NO_READ;
pub use super::state::{GChoice, GState, Life, PerCpu, ReadReg, NO_CPU};

/// The machine for one compiled program.
#[derive(Clone, Debug)]
pub struct GMachine {
    pub(super) prog: Arc<GProgram>,
    /// Walkers start no new iteration once every other block is done (runs end).
    pub(super) drain: bool,
    /// The program's CPUs, as a mask.
    pub(super) all: u64,
    /// The program's walkers and each CPU's first pc, read on every step: kept here,
    /// not behind the program's `Arc`.
    pub(super) walkers: u64,
    pub(super) entry: PerCpu<u16>,
    /// Each CPU's locals in the state's ([`GProgram::locals_of`]), as (start, end).
    locals: PerCpu<(u16, u16)>,
    /// Each CPU's store-buffer capacity under TSO: its block's store instructions.
    pub(super) sb_cap: Vec<u8>,
    /// By pc: what the step there waits for besides its CPU's own IPIs and vCPU and
    /// its store buffer. Told once from the code, so that the enabled test of a step
    /// that waits for nothing (most) is a few loads.
    pub(super) waits: Vec<Wait>,
    /// By pc: [`CALM`] and [`QUIET`], for a run's shortcut past the enabled test
    /// (`enabled.rs`).
    pub(super) calm: Vec<u8>,
    /// `memory = tso` and `kvm-pv-flush`, read on every step: kept here, not behind
    /// the program's `Arc`.
    pub(super) tso: bool,
    pub(super) kvm: bool,
    /// The `exists` clause has a condition on final words and registers.
    observes: bool,
    /// The state a run starts in: `reset` copies it into `st` (into vectors already
    /// allocated) instead of building a new state.
    init: GState,
    pub st: GState,
}

/// A CPU standing at this pc has no bit in any of the enabled test's masks: its step
/// waits for nothing, it is not at its block's entry, and under TSO its store buffer
/// cannot hold it.
pub(super) const CALM: u8 = 1;
/// The step at this pc is [`GOp::quiet`].
pub(super) const QUIET: u8 = 2;

/// What a value in an entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Obj {
    None,
    Table(u8),
    Huge(u8),
    Page(u8),
    /// Present, but no object's value: a torn or bogus entry.
    Unknown,
}

impl GMachine {
    pub fn new(prog: Arc<GProgram>, drain: bool) -> GMachine {
        let st = initial(&prog);
        let observes = prog.observes();
        let all = if prog.cpus >= 64 {
            u64::MAX
        } else {
            (1u64 << prog.cpus) - 1
        };
        let sb_cap = (0..prog.cpus as usize)
            .map(|c| match prog.block_of[c] {
                Some(b) => {
                    let (_, from, to, _) = &prog.blocks[b as usize];
                    let n = prog.code[*from as usize..*to as usize]
                        .iter()
                        .filter(|i| i.op.tso(&prog.cfg) == crate::prim::Tso::Buffered)
                        .count();
                    n.clamp(1, 255) as u8
                }
                None => 1,
            })
            .collect();
        let tso = prog.cfg.memory == crate::knob::Memory::Tso;
        let waits: Vec<Wait> = prog.code.iter().map(|i| Wait::of(&prog, i.op)).collect();
        let calm = prog
            .code
            .iter()
            .zip(&waits)
            .enumerate()
            .map(|(pc, (i, w))| {
                let class = i.op.tso(&prog.cfg);
                let held = tso && (class.waits_for_buffer() || class == crate::prim::Tso::Buffered);
                let calm =
                    matches!(w, Wait::Nothing) && !prog.entry.contains(&(pc as u16)) && !held;
                (calm as u8 * CALM) | (i.op.quiet() as u8 * QUIET)
            })
            .collect();
        GMachine {
            walkers: prog.walkers,
            entry: PerCpu::from_slice(&prog.entry),
            locals: PerCpu::from_slice(
                &(0..prog.cpus)
                    .map(|c| {
                        let at = prog.locals_of(c);
                        (at.start as u16, at.end as u16)
                    })
                    .collect::<Vec<_>>(),
            ),
            calm,
            waits,
            tso,
            kvm: prog.cfg.platform.kvm(),
            prog,
            drain,
            all,
            sb_cap,
            observes,
            init: st.clone(),
            st,
        }
    }

    pub fn program(&self) -> &Arc<GProgram> {
        &self.prog
    }

    pub fn reset(&mut self) {
        self.st.clone_from(&self.init);
    }

    /// Puts the random allocator's table at `frame` for the runs that follow (the
    /// program is copied once if another owner shares it).
    pub fn set_frame(&mut self, frame: u64) {
        Arc::make_mut(&mut self.prog).set_frame(frame);
        self.init = initial(&self.prog);
    }

    pub(super) fn op(&self, cpu: u8) -> GOp {
        match self.st.pc[cpu as usize] {
            DONE => GOp::Done,
            pc => self.prog.code[pc as usize].op,
        }
    }

    pub(super) fn is_walker(&self, cpu: u8) -> bool {
        self.walkers >> cpu & 1 == 1
    }

    /// What a value is.
    pub fn decode(&self, v: u64) -> Obj {
        if v == 0 {
            return Obj::None;
        }
        if v as u32 == 0 {
            return Obj::Unknown;
        }
        let addr = v & !0xfff & 0x000f_ffff_ffff_f000;
        if v & 0x80 != 0 {
            return match self.prog.pages.iter().position(|p| p.1 == addr) {
                Some(p) => Obj::Huge(p as u8),
                None => Obj::Unknown,
            };
        }
        if let Some(p) = self.prog.pages.iter().position(|p| p.1 == addr) {
            return Obj::Page(p as u8);
        }
        // Two tables share a frame under alloc = same-frame: the allocated one first.
        rules::table_at(self, addr).map_or(Obj::Unknown, |t| Obj::Table(t as u8))
    }

    pub(super) fn local(&self, cpu: u8, slot: u8) -> u64 {
        self.st.locals[(self.prog.local_base[cpu as usize] + slot as u16) as usize]
    }

    /// [`GProgram::locals_of`], kept in the machine: a step's end and the search's
    /// every successor read it.
    #[inline(always)]
    fn locals_at(&self, cpu: u8) -> std::ops::Range<usize> {
        let (from, to) = self.locals[cpu as usize];
        from as usize..to as usize
    }

    pub(super) fn set_local(&mut self, cpu: u8, slot: u8, v: u64) {
        let i = (self.prog.local_base[cpu as usize] + slot as u16) as usize;
        self.st.locals[i] = v;
    }

    /// The table a source names, or `None`.
    pub(super) fn table_of(&self, cpu: u8, t: TableSrc) -> Option<u8> {
        match t {
            TableSrc::Fixed(t) => Some(t),
            TableSrc::Local(s) => match self.local(cpu, s) {
                NO_TABLE => None,
                t => Some(t as u8),
            },
            TableSrc::OfValue(s) => match self.decode(self.local(cpu, s)) {
                Obj::Table(t) => Some(t),
                _ => None,
            },
        }
    }

    pub(super) fn page_of(&self, cpu: u8, p: PageSrc) -> Option<u8> {
        match p {
            PageSrc::Fixed(p) => Some(p),
            PageSrc::OfValue(s) => match self.decode(self.local(cpu, s)) {
                Obj::Page(p) | Obj::Huge(p) => Some(p),
                _ => None,
            },
        }
    }

    /// An entry's index, and whether its table is freed; `None`: a PTE of no table.
    pub(super) fn entry_of(&self, cpu: u8, e: EntryRef) -> Option<(usize, bool)> {
        match e {
            EntryRef::Pmd(p) => Some((p as usize, false)),
            EntryRef::Pte { table, index } => self.table_of(cpu, table).map(|t| {
                (
                    self.prog.pmds.len() + t as usize * PTES + index as usize,
                    self.st.tables[t as usize] == Life::Freed,
                )
            }),
        }
    }

    pub(super) fn lock_of(&self, cpu: u8, l: LockSrc) -> Option<usize> {
        match l {
            LockSrc::Pmd(e) => Some(e as usize),
            LockSrc::Pte(t) => self
                .table_of(cpu, t)
                .map(|t| self.prog.pmds.len() + t as usize),
        }
    }

    /// Takes one step; `ch` must be enabled. Returns the hazard the step raised, or
    /// [`Hazard::Observed`] where it ended the run in the state the `exists` clause's
    /// condition describes (a drain or an answer can be that step too).
    pub fn step(&mut self, ch: GChoice) -> Option<Hazard> {
        self.step_inline(ch)
    }

    /// [`GMachine::step`], inlined into a random run's loop
    /// ([`GMachine::step_open`]): a call's saving and restoring of registers was a
    /// tenth of a step's cost there. Other callers take the one out-of-line copy.
    #[inline(always)]
    pub(super) fn step_inline(&mut self, ch: GChoice) -> Option<Hazard> {
        let h = self.step_once(ch);
        debug_assert!(self.log_is_compact(), "after {ch:?}: {:?}", self.st);
        if h.is_none() && !self.st.held.is_empty() && self.finished() {
            if let Some(h) = self.stale_pin() {
                return Some(h);
            }
        }
        if self.observes && h.is_none() {
            return self.observe();
        }
        h
    }

    /// [`Hazard::StalePin`] where a pin a caller holds is on a page no longer mapped
    /// where GUP-fast found it. Judged when the run is over, not when the pin is
    /// handed out: a collapse that clears the PMD, finds the page pinned and puts the
    /// table back leaves the pin good, however the clear fell against the return.
    fn stale_pin(&self) -> Option<Hazard> {
        let np = self.prog.pmds.len();
        let gone =
            |&(pmd, index, p): &(u8, u8, u8)| match self.decode(self.st.entries[pmd as usize]) {
                Obj::Table(t) if self.st.tables[t as usize] != Life::Freed => {
                    self.decode(self.st.entries[np + t as usize * PTES + index as usize])
                        != Obj::Page(p)
                }
                _ => true,
            };
        self.st.held.iter().any(gone).then_some(Hazard::StalePin)
    }

    #[inline(always)]
    fn step_once(&mut self, ch: GChoice) -> Option<Hazard> {
        debug_assert!(self.is_enabled(ch), "{ch:?} is not enabled");
        let cpu = ch.cpu;
        let bit = 1u64 << cpu;
        if ch.ack {
            rules::answer(self, cpu, self.host_schedules(cpu));
            return None;
        }
        if ch.drain {
            self.drain_one(cpu);
            return None;
        }
        let pc = self.st.pc[cpu as usize];
        let ins = self.prog.code[pc as usize];
        let mut next = ins.next;
        let mut hazard = None;
        let c = cpu as usize;
        match ins.op {
            GOp::Lock(l) => {
                if let Some(l) = self.lock_of(cpu, l) {
                    rules::lock(self, cpu, l);
                }
            }
            GOp::Unlock { lock, retry } => {
                if let Some(l) = self.lock_of(cpu, lock) {
                    rules::unlock(self, cpu, l, self.buffers(ins.op));
                }
                if rules::loops_again(self, cpu, retry) {
                    next = ins.alt;
                }
            }
            GOp::Trylock(l) => {
                if let Some(l) = self.lock_of(cpu, l) {
                    if !rules::trylock(self, cpu, l) {
                        next = ins.alt;
                    }
                }
            }
            GOp::Rw { lock, write, take } => {
                let rw = &mut self.st.rw[lock as usize];
                match (take, write) {
                    (true, true) => rw.0 = cpu,
                    (true, false) => rw.1 |= bit,
                    (false, true) => {
                        rw.0 = NO_CPU;
                        // mmap_write_unlock() ends every VMA write lock it took.
                        if lock == 0 && self.st.vma.0 == cpu {
                            self.st.vma.0 = NO_CPU;
                        }
                    }
                    (false, false) => rw.1 &= !bit,
                }
            }
            GOp::VmaStartWrite => self.st.vma.0 = cpu,
            GOp::VmaStartRead => {
                if self.st.vma.0 == NO_CPU {
                    self.st.vma.1 |= bit;
                } else {
                    next = ins.alt;
                }
            }
            GOp::VmaEndRead => self.st.vma.1 &= !bit,
            GOp::IrqOff => rules::irq_off(self, cpu),
            GOp::IrqOn => {
                rules::irq_on(self, cpu);
            }
            GOp::Flush { skip_sync, .. } => {
                let in_mm = if self.prog.cfg.flush.waits() {
                    self.prog.in_mm & self.all
                } else {
                    0
                };
                if rules::flush(self, cpu, in_mm) == 0 && skip_sync {
                    next = ins.alt;
                }
            }
            GOp::Sync => {
                rules::sync(self, cpu, self.all);
            }
            GOp::Store {
                entry,
                how,
                src,
                dest,
            } => {
                let buffered = self.buffers(ins.op);
                hazard = self.store(cpu, entry, how, src, dest, buffered)
            }
            GOp::Load { entry, step, dest } => {
                let (h, n) = self.load(cpu, entry, step, dest, ins.next, ins.alt);
                hazard = h;
                next = n;
            }
            GOp::NoneNow(e) => {
                if !rules::none_now(self, cpu, e as usize) {
                    next = ins.alt;
                }
            }
            GOp::Test { src, test } => {
                let v = self.local(cpu, src);
                let present = v as u32 != 0;
                let yes = match test {
                    Test::None => v == 0,
                    Test::Present => present,
                    Test::Huge => present && v & 0x80 != 0,
                    Test::Table => points_to_table(v),
                };
                if !yes {
                    next = ins.alt;
                }
            }
            GOp::PmdSame { src, pmd } => {
                if self.seen(cpu, pmd as usize) != self.local(cpu, src) {
                    next = ins.alt;
                }
            }
            GOp::PteSame { src, table, index } => {
                let e = EntryRef::Pte { table, index };
                let (cur, freed) = match self.entry_of(cpu, e) {
                    Some((i, f)) => (self.seen(cpu, i), f),
                    None => (0, false),
                };
                if freed {
                    hazard = Some(Hazard::FreedTable);
                }
                if cur != self.local(cpu, src) {
                    next = ins.alt;
                }
            }
            GOp::RangeNone(t) => {
                if let Some(t) = self.table_of(cpu, t) {
                    if self.st.tables[t as usize] == Life::Freed {
                        hazard = Some(Hazard::FreedTable);
                    }
                    let base = self.prog.pmds.len() + t as usize * PTES;
                    if (base..base + PTES).any(|e| self.seen(cpu, e) != 0) {
                        next = ins.alt;
                    }
                }
            }
            GOp::Map { src, dest } => {
                let t = match self.decode(self.local(cpu, src)) {
                    Obj::Table(t) => {
                        if rules::stale(self, self.prog.tables[t as usize].addr) {
                            hazard = Some(Hazard::Stale);
                        }
                        t as u64
                    }
                    _ => NO_TABLE,
                };
                self.set_local(cpu, dest, t);
            }
            GOp::Alloc { table, dest } => {
                rules::alloc(self, table as usize);
                self.set_local(cpu, dest, table as u64);
            }
            GOp::Free { table, how } => {
                if let Some(t) = self.table_of(cpu, table) {
                    let base = self.prog.pmds.len() + t as usize * PTES;
                    if self.st.entries[base..base + PTES]
                        .iter()
                        .any(|&v| v as u32 != 0)
                    {
                        hazard = Some(Hazard::NonemptyFree);
                    }
                    rules::free(self, t as usize, how == FreeHow::Rcu);
                }
            }
            GOp::GetPage(p) => {
                if let Some(p) = self.page_of(cpu, p) {
                    let n = &mut self.st.counts[p as usize];
                    if *n <= 0 {
                        hazard = Some(Hazard::FreedPage);
                    }
                    *n += 1;
                }
            }
            GOp::TryGetPage(p) => match self.page_of(cpu, p) {
                Some(p) if self.st.counts[p as usize] > 0 => self.st.counts[p as usize] += 1,
                _ => next = ins.alt,
            },
            GOp::PutPage(p) => {
                if let Some(p) = self.page_of(cpu, p) {
                    let n = &mut self.st.counts[p as usize];
                    if *n <= 0 {
                        hazard = Some(Hazard::FreedPage);
                    } else {
                        *n -= 1;
                    }
                }
            }
            GOp::Pinned(p) => {
                let pinned = self
                    .page_of(cpu, p)
                    .is_some_and(|p| self.st.counts[p as usize] > self.mapcount(p));
                if !pinned {
                    next = ins.alt;
                }
            }
            GOp::GupReturn { src, pmd, index } => {
                if let Obj::Page(p) = self.decode(self.local(cpu, src)) {
                    let pin = (pmd, index, p);
                    match self.st.held.binary_search(&pin) {
                        // The caller already holds this page pinned there: one pin
                        // says as much as many, and drops the walker's extra
                        // reference so that a walker looping on it stays finite.
                        Ok(_) => self.st.counts[p as usize] -= 1,
                        Err(i) => self.st.held.insert(i, pin),
                    }
                }
            }
            GOp::WriteOnce(_) | GOp::ReadOnce(_) | GOp::Xchg(_) => self.word_step(cpu, ins.op),
            GOp::Fence | GOp::Jump | GOp::Done => {}
        }
        // pte_offset_map() of a none or huge value returns NULL before it touches memory
        // (__pte_offset_map()'s `nomap`): a test of a value already read, so no step of
        // its own, as the classic machine's read skips its dereference. Any other
        // present value is mapped, a torn one too.
        while let Some(&GOp::Map { src, dest }) = self.prog.code.get(next as usize).map(|i| &i.op) {
            if points_to_table(self.local(cpu, src)) {
                break;
            }
            self.set_local(cpu, dest, NO_TABLE);
            next = self.prog.code[next as usize].next;
        }
        self.st.pc[c] = next;
        // A walker's next iteration starts with its locals none, as its first did: a
        // local set under an `if` reads none where the branch was not taken, never the
        // last iteration's value. A finished block's are dead: zeroed, equal states
        // compare equal.
        if next == DONE || (self.is_walker(cpu) && next == self.entry[c]) {
            let at = self.locals_at(cpu);
            self.st.locals[at].fill(0);
        }
        hazard
    }
}

impl GMachine {
    /// Zeroes `cpu`'s locals that no step reads again before one writes them
    /// ([`super::ir::GInstr::live`]). The search stores its states so, and so counts
    /// states that differ only in such values as one, as the classic machine does; a run
    /// keeps them, and its timeline shows each value to its block's end.
    pub fn forget_dead(&mut self, cpu: u8) {
        let live = match self.st.pc[cpu as usize] {
            DONE => 0,
            pc => self.prog.code[pc as usize].live,
        };
        let at = self.locals_at(cpu);
        // Each local kept or zeroed by a mask of its live bit: no branch on the bits.
        for (k, v) in self.st.locals[at].iter_mut().enumerate() {
            *v &= (((live >> k) & 1) as u64).wrapping_neg();
        }
    }
}

/// Whether an entry's value points to a table: present (its low word, where PAE keeps
/// `_PAGE_PRESENT`, is not zero) and not a huge page (`_PAGE_PSE` clear): what
/// `pmd_present() && !pmd_leaf()` asks, and what `pte_offset_map()` maps.
fn points_to_table(v: u64) -> bool {
    v as u32 != 0 && v & 0x80 == 0
}

/// The state a program starts in.
pub fn initial(p: &GProgram) -> GState {
    let n = p.cpus as usize;
    let mut entries: Vec<u64> = p.pmds.iter().map(|x| x.1).collect();
    for t in &p.tables {
        entries.extend_from_slice(&t.ptes);
    }
    let locals = p
        .local_base
        .last()
        .map_or(0, |&b| b as usize + p.local_names(p.cpus - 1).len());
    GState {
        pc: PerCpu::from_slice(&p.entry),
        irq_off: 0,
        pending: PerCpu::new(n, 0),
        entries,
        log: Vec::new(),
        tables: p
            .tables
            .iter()
            .map(|t| {
                if t.declared {
                    Life::Live
                } else {
                    Life::Unallocated
                }
            })
            .collect(),
        counts: p.pages.iter().map(|x| x.2 as i32).collect(),
        spin: vec![NO_CPU; p.lock_count()],
        rw: [(NO_CPU, 0); 2],
        vma: (NO_CPU, 0),
        locals: vec![0; locals],
        reads: PerCpu::new(n, ReadReg::START),
        installed: 0,
        sb: vec![Vec::new(); n],
        preempted: 0,
        held: Vec::new(),
        words: p.words.as_ref().map(|w| w.initial()).unwrap_or_default(),
    }
}

/// The general layout, as the shared rules read it: a pending mask per sender, and a
/// life per table.
impl Sys for GMachine {
    rules::plain_masks!();
    #[inline(always)]
    fn pending_for(&self, cpu: u8) -> bool {
        self.st.pending.iter().fold(0, |m, &p| m | p) >> cpu & 1 == 1
    }
    #[inline(always)]
    fn buffer_empty(&self, cpu: u8) -> bool {
        self.st.sb[cpu as usize].is_empty()
    }
    #[inline(always)]
    fn answer_all(&mut self, cpu: u8) {
        for p in &mut self.st.pending {
            *p &= !(1u64 << cpu);
        }
    }
    #[inline(always)]
    fn send(&mut self, from: u8, targets: u64) {
        self.st.pending[from as usize] |= targets;
    }
    #[inline(always)]
    fn tables(&self) -> usize {
        self.st.tables.len()
    }
    #[inline(always)]
    fn frame(&self, t: usize) -> u64 {
        self.prog.tables[t].addr
    }
    #[inline(always)]
    fn life(&self, t: usize) -> Life {
        self.st.tables[t]
    }
    #[inline(always)]
    fn set_life(&mut self, t: usize, l: Life) {
        self.st.tables[t] = l;
    }
    #[inline(always)]
    fn entry(&self, e: usize) -> u64 {
        self.st.entries[e]
    }
    #[inline(always)]
    fn set_entry(&mut self, e: usize, v: u64) {
        self.write(e, v);
    }
    #[inline(always)]
    fn buffer_bits(&mut self, cpu: u8, e: usize, mask: u64, bits: u64) {
        self.st.sb[cpu as usize].push(Buffered::Entry {
            entry: e as u16,
            mask,
            value: bits,
        });
    }
    #[inline(always)]
    fn set_installed(&mut self, cpu: u8) {
        self.st.installed |= 1 << cpu;
    }
    #[inline(always)]
    fn each_buffered(&self, cpu: u8, mut f: impl FnMut(usize, u64, u64)) {
        if self.tso {
            for b in &self.st.sb[cpu as usize] {
                if let Buffered::Entry { entry, mask, value } = *b {
                    f(entry as usize, mask, value);
                }
            }
        }
    }
    #[inline(always)]
    fn owner(&self, l: usize) -> u8 {
        self.st.spin[l]
    }
    #[inline(always)]
    fn set_owner(&mut self, l: usize, cpu: u8) {
        self.st.spin[l] = cpu;
    }
    #[inline(always)]
    fn buffer_unlock(&mut self, cpu: u8, l: usize) {
        self.st.sb[cpu as usize].push(Buffered::Unlock(l as u16));
    }
    #[inline(always)]
    fn installed(&self, cpu: u8) -> bool {
        self.st.installed >> cpu & 1 == 1
    }
    type Read = ReadReg;
    /// Where the write log stands, and the entry's value.
    #[inline(always)]
    fn mark(&self, _e: usize, cur: u64) -> (u16, u64) {
        (self.st.log.len() as u16, cur)
    }
    #[inline(always)]
    fn read_mut(&mut self, cpu: u8) -> &mut ReadReg {
        &mut self.st.reads[cpu as usize]
    }
    /// The value at the read's first load, now (through the CPU's own buffered
    /// stores too), or a write logged since.
    #[inline(always)]
    fn held_since(&self, r: &ReadReg, e: usize, v: u64, cur: u64) -> bool {
        v == r.first_val
            || v == cur
            || self.st.log[r.first_log as usize..]
                .iter()
                .any(|&(x, w)| x as usize == e && w == v)
    }
    #[inline(always)]
    fn waits(&self, cpu: u8) -> bool {
        !self.free_to_step(cpu)
    }
    type LockName = LockSrc;
    #[inline(always)]
    fn lock_index(&self, cpu: u8, l: LockSrc) -> Option<usize> {
        self.lock_of(cpu, l)
    }
    #[inline(always)]
    fn rw(&self, l: u8) -> (u8, u64) {
        self.st.rw[l as usize]
    }
    #[inline(always)]
    fn vma_readers(&self) -> u64 {
        self.st.vma.1
    }
    /// A word store is its word and value.
    type WordStore = (u8, u8);
    #[inline(always)]
    fn word_store(&self, k: (u8, u8)) -> (u8, u8) {
        k
    }
    #[inline(always)]
    fn word(&self, i: usize) -> u8 {
        self.st.words[i]
    }
    #[inline(always)]
    fn set_word(&mut self, i: usize, v: u8) {
        self.st.words[i] = v;
    }
    #[inline(always)]
    fn buffer_word(&mut self, cpu: u8, (var, value): (u8, u8)) {
        self.st.sb[cpu as usize].push(Buffered::Word { var, value });
    }
    #[inline(always)]
    fn each_buffered_word(&self, cpu: u8, mut f: impl FnMut((u8, u8))) {
        for b in &self.st.sb[cpu as usize] {
            if let Buffered::Word { var, value } = *b {
                f((var, value));
            }
        }
    }
    #[inline(always)]
    fn reg_slot(&self, cpu: u8, reg: u8) -> usize {
        GMachine::reg_slot(self, cpu, reg)
    }
}

impl rules::ReadReg for ReadReg {
    type Mark = (u16, u64);
    rules::plain_halves!();
    #[inline(always)]
    fn begin(&mut self, (log, cur): (u16, u64)) {
        if self.first_log == NO_READ {
            (self.first_log, self.first_val) = (log, cur);
        }
    }
}
