//! The simulated machine: the PMD as two 32-bit halves, the page-table lock, per-CPU
//! interrupt state, pending IPIs, the two page-table frames, and the actors' programs.
//!
//! [`Machine::step`] is the only place the semantics live: the random runner, replay,
//! the interactive stepper, the timed scheduler and the exhaustive checker all call it.
//! The rules it shares with the general machine (interrupts, IPIs and their answers,
//! a table's free) are `crate::rules`', written once over either machine's layout.
//! Every call is one atomic step of MODEL.md: a 32-bit load or store, a 64-bit exchange,
//! a lock or unlock, an IPI send, an IPI acknowledgement, a hypercall.
//!
//! Two modes go beyond MODEL.md's table, as its "later modes" section suggests:
//! - `hyperv`: the TLB flush is a hypercall that waits for nobody (as under Xen PV);
//!   the sync is a real IPI broadcast. Verdicts are Xen PV's.
//! - `kvm-pv-flush`: the host may preempt a reader's vCPU at any moment, interrupts off
//!   or not (a step of its own, taken through the reader's acknowledgement choice:
//!   resume if preempted, else acknowledge a deliverable IPI, else preempt). A preempted
//!   vCPU takes no step and acknowledges nothing. `kvm_flush_tlb_multi()` skips
//!   preempted vCPUs (they flush on resume) instead of waiting; the sync still waits for
//!   them. So a reader preempted between its loads is not held off by the flush, and
//!   every placement but `under-ptl` can tear, whatever the reader kind.

//!
//! The module's files: `state` (the values a step changes), `action` (what a step did and
//! which choices are open), this file (a [`Machine`]: construction, accessors, the
//! enabled set) and `step` (the semantics).

mod action;
mod state;
mod step;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tso_tests;

use crate::config::{Alloc, Config, ConfigError, Memory, Mode, ReaderKind, SyncPlacement};
pub use crate::hazard::Hazard;
pub use crate::prim::Op;
pub use crate::program::DONE;
use crate::program::{Instr, Program};
use crate::rules;
pub use action::*;
pub use state::*;
use std::sync::Arc;

/// The machine for one configuration.
#[derive(Clone, Debug)]
pub struct Machine {
    /// The program's code, inline: the dispatch of every step loads from it, and a
    /// pointer chase to reach it cost a tenth of the step rate.
    code: [Instr; 256],
    cfg: Config,
    prog: Arc<Program>,
    cpus: u8,
    reader_mask: u64,
    flush_targets: u64,
    sync_targets: u64,
    split_clear: bool,
    split_set: bool,
    same_frame: bool,
    /// `kvm-pv-flush`: readers' vCPUs may be preempted, and the flush skips them.
    kvm: bool,
    /// Some reader is not bracketed by `local_irq_save()`/`local_irq_restore()`, or takes
    /// the PTL, or the program has shared words: the `busy` and `at_lock` masks are kept,
    /// and word steps run. Constant per machine, so the branches on it are always
    /// predicted.
    generic: bool,
    drain: bool,
    /// `memory = tso`: CPUs have store buffers, and drains are choices.
    tso: bool,
    /// Per pc, under TSO: how the step is ordered against its store buffer.
    sb_rule: [crate::prim::Tso; 256],
    /// Per pc: what its step waits for ([`Machine::wait`]), as an index into [`WAITS`].
    wait_ix: [u8; 256],
    /// Each CPU's store-buffer capacity: as many stores as its block has store lines, at
    /// most [`SB_DEPTH`]. Every loop the compiler admits passes a locked step
    /// (`pmd_lock()`), which empties the buffer, so no run needs more; the checker packs
    /// a buffer in this many entries.
    sb_cap: Vec<u8>,
    new_addr: u64,
    new: Pmd,
    history: [Pmd; 5],
    history_len: u8,
    st: State,
}

impl Machine {
    /// A machine at its initial state, running the program of `cfg`'s scenario (its own,
    /// or the built-in file for its sync placement). With `drain`, readers stop starting
    /// new iterations once the collapser and the populator are done, so a run ends;
    /// without it (the checker) readers loop forever.
    pub fn new(cfg: &Config, drain: bool) -> Result<Machine, ConfigError> {
        cfg.validate()?;
        let prog = Arc::new(crate::program::program_for(cfg)?);
        Machine::with_program(cfg, prog, drain)
    }

    /// A machine for a program already compiled for `cfg`.
    pub fn with_program(
        cfg: &Config,
        prog: Arc<Program>,
        drain: bool,
    ) -> Result<Machine, ConfigError> {
        cfg.validate()?;
        let cpus = cfg.cpu_count() as u8;
        let all = if cpus == 64 {
            u64::MAX
        } else {
            (1u64 << cpus) - 1
        };
        let reader_mask = ((1u64 << cfg.readers) - 1) << FIRST_READER;
        let mm_cpumask_others = (1u64 << POPULATOR)
            | if cfg.reader == ReaderKind::GupFast {
                reader_mask
            } else {
                0
            };
        // Shared words' steps are on the generic path only (see `step_as`).
        let generic = prog.words.is_some()
            || (FIRST_READER..cpus)
                .filter(|&c| reader_mask >> c & 1 == 1)
                .any(|c| !bracketed(&prog, c));
        let new_addr = default_table(cfg.alloc);
        let tso = cfg.memory == Memory::Tso;
        let lowering = cfg.lowering();
        let mut sb_rule = [crate::prim::Tso::Local; 256];
        for (r, ins) in sb_rule.iter_mut().zip(prog.code.iter()) {
            *r = ins.op.tso(&lowering);
        }
        // The PMD's history follows the writes the program makes, whatever the knobs say
        // (`pmd_clear()` is split under any `clear`).
        let has = |f: fn(Op) -> bool| prog.code.iter().any(|i| f(i.op));
        let split_clear = has(|o| matches!(o, Op::ClearLow | Op::ClearLowStore));
        let split_set = has(|o| o == Op::SetHigh);
        let sb_cap = (0..cpus)
            .map(|c| {
                let stores = prog
                    .block_pcs(c)
                    .filter(|&pc| sb_rule[pc as usize] == crate::prim::Tso::Buffered)
                    .count();
                stores.min(SB_DEPTH as usize) as u8
            })
            .collect();
        let mut m = Machine {
            code: *prog.code,
            cfg: cfg.clone(),
            cpus,
            reader_mask,
            flush_targets: if matches!(cfg.mode, Mode::XenPv | Mode::HyperV) {
                0
            } else {
                mm_cpumask_others
            },
            sync_targets: all & !(1 << COLLAPSER),
            split_clear,
            split_set,
            same_frame: cfg.alloc == Alloc::SameFrame,
            kvm: cfg.mode == Mode::KvmPvFlush,
            generic,
            drain,
            tso,
            sb_rule,
            wait_ix: [0; 256],
            sb_cap,
            new_addr,
            new: Pmd::default(),
            history: [Pmd::default(); 5],
            history_len: 0,
            st: State {
                pmd: Pmd::default(),
                ver: 0,
                ptl: NO_CPU,
                irq_off: 0,
                pending: 0,
                qs: 0,
                preempted: 0,
                ipi: IpiKind::Flush,
                flush_sent_ipi: false,
                installed: false,
                allocated: false,
                old_table: TableState::Live,
                pc: [DONE; 64],
                regs: vec![Regs::START; cfg.readers as usize],
                sb: vec![StoreBuffer::default(); if tso { cpus as usize } else { 0 }],
                words: prog.words.as_ref().map(|w| w.initial()).unwrap_or_default(),
                sb_mask: 0,
                writers: 0,
                gate: u64::MAX,
                busy: 0,
                at_lock: 0,
                cur: [Instr::DONE; 64],
                cpus,
            },
            prog,
        };
        for pc in 0..m.code.len() {
            let w = m.wait(m.code[pc].op);
            m.wait_ix[pc] = WAITS.iter().position(|&x| x == w).unwrap_or(0) as u8;
        }
        m.reset(new_addr);
        Ok(m)
    }

    /// Back to the initial state, with the populator's new table at `new_addr`.
    pub fn reset(&mut self, new_addr: u64) {
        let old = Pmd::table(OLD_TABLE);
        if new_addr != self.new_addr || self.history_len == 0 {
            self.new_addr = new_addr;
            self.new = Pmd::table(new_addr);
            // The PMD's values in order. Every write is known in advance because the
            // compiler admits one clear in khugepaged and one populate, over a none
            // PMD, in the fault: the PMD goes old -> none -> new.
            let mut h = [Pmd::default(); 5];
            let mut n = 0;
            let mut push = |p| {
                h[n] = p;
                n += 1;
            };
            push(old);
            if self.split_clear {
                push(Pmd {
                    low: 0,
                    high: old.high,
                });
            }
            push(Pmd::default());
            if self.split_set {
                push(Pmd {
                    low: 0,
                    high: self.new.high,
                });
            }
            push(self.new);
            self.history = h;
            self.history_len = n as u8;
        }
        let st = &mut self.st;
        st.pmd = old;
        st.ver = 0;
        st.ptl = NO_CPU;
        st.irq_off = 0;
        st.pending = 0;
        st.qs = 0;
        st.preempted = 0;
        st.ipi = IpiKind::Flush;
        st.flush_sent_ipi = false;
        st.installed = false;
        st.allocated = false;
        st.old_table = TableState::Live;
        st.pc[..self.prog.entry.len()].copy_from_slice(&self.prog.entry);
        st.regs.fill(Regs::START);
        st.sb.fill(StoreBuffer::default());
        if let Some(w) = &self.prog.words {
            w.reset(&mut st.words);
        }
        self.rederive();
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }
    /// The compiled program this machine runs.
    pub fn program(&self) -> &Arc<Program> {
        &self.prog
    }
    pub fn cpus(&self) -> u8 {
        self.cpus
    }
    pub fn state(&self) -> &State {
        &self.st
    }
    /// The op `cpu` runs next ([`Op::Done`] for a finished writer or an idle CPU).
    #[inline]
    pub fn op(&self, cpu: u8) -> Op {
        self.st.cur[cpu as usize & 63].op
    }

    /// Moves `cpu` to `pc`.
    #[inline(always)]
    fn goto(&mut self, cpu: u8, pc: u8) {
        self.st.pc[cpu as usize & 63] = pc;
        self.st.cur[cpu as usize & 63] = self.code[pc as usize];
    }
    /// Replaces the dynamic state (the checker restores states it has stored). Only the
    /// public fields matter; the derived ones are recomputed.
    pub fn set_state(&mut self, st: State) {
        self.st = st;
        self.rederive();
    }
    /// Goes back to a state this machine was in (derived fields and all), as the
    /// checker does between the choices it expands from one state.
    pub(crate) fn restore(&mut self, saved: &State) {
        self.st.copy_from(saved);
    }
    /// Edits the public fields of the state in place, then recomputes the derived ones.
    pub fn edit_state(&mut self, f: impl FnOnce(&mut State)) {
        f(&mut self.st);
        self.rederive();
    }
    /// The populator's new table.
    pub fn new_table(&self) -> u64 {
        self.new_addr
    }
    /// Every value the PMD takes in a run, in order; `state().ver` indexes it.
    pub fn history(&self) -> &[Pmd] {
        &self.history[..self.history_len as usize]
    }
    pub fn reader_mask(&self) -> u64 {
        self.reader_mask
    }
    /// CPUs the native TLB flush sends IPIs to (none under Xen PV).
    pub fn flush_targets(&self) -> u64 {
        self.flush_targets
    }
    pub fn sync_targets(&self) -> u64 {
        self.sync_targets
    }
    pub fn effective_sync(&self) -> SyncPlacement {
        self.cfg.effective_sync()
    }

    pub fn role(&self, cpu: u8) -> Role {
        match cpu {
            COLLAPSER => Role::Collapser,
            POPULATOR => Role::Populator,
            c if (self.reader_mask >> c) & 1 == 1 => Role::Reader,
            _ => Role::Idle,
        }
    }

    /// Readers inside an iteration of their block.
    #[inline(always)]
    pub fn busy(&self) -> u64 {
        if self.generic {
            self.busy_as::<true>()
        } else {
            self.busy_as::<false>()
        }
    }

    /// [`Machine::busy`] for a machine whose `generic` is `G`.
    #[inline(always)]
    fn busy_as<const G: bool>(&self) -> u64 {
        if G {
            self.st.busy
        } else {
            self.st.irq_off & self.reader_mask
        }
    }

    /// Whether this machine keeps the `busy` and `at_lock` masks (some reader is not
    /// bracketed by `local_irq_save()`/`local_irq_restore()`, or takes the PTL). The
    /// run loop picks [`Machine::step_as`] and [`Machine::enabled_as`] by it (and by
    /// [`Machine::is_tso`]) once per run, so the common bracketed readers pay nothing
    /// for the general case.
    #[inline]
    pub fn is_generic(&self) -> bool {
        self.generic
    }

    /// Which writers can step: no IPI of its own unanswered, and what its op waits for
    /// free (the shared rule). Boolean `&`, not `&&`: this runs after every writer step
    /// and short-circuit branches mispredicted.
    fn writers_now(&self) -> u64 {
        let free = self.frees();
        // A CPU that sent IPIs waits for them: only the collapser sends.
        let c_ok = (self.st.pending == 0) & self.free_now(&free, COLLAPSER);
        let p_ok = self.free_now(&free, POPULATOR);
        (c_ok as u64) << COLLAPSER | (p_ok as u64) << POPULATOR
    }

    /// The shared rule's answer ([`rules::free_for`]) to each wait a classic step can
    /// have, in [`WAITS`]' order. The one lock's answer is the same for every CPU
    /// (`lock_index` takes no notice of the CPU).
    #[inline(always)]
    fn frees(&self) -> [bool; 4] {
        WAITS.map(|w| rules::free_for(self, COLLAPSER, w))
    }

    /// Whether what `cpu`'s next step waits for is free now, of `free` ([`Machine::frees`]):
    /// picked by its pc, a lookup where a match on its op (which follows the schedule)
    /// mispredicted.
    #[inline(always)]
    fn free_now(&self, free: &[bool; 4], cpu: u8) -> bool {
        free[self.wait_ix[self.st.pc[cpu as usize & 63] as usize] as usize & 3]
    }

    /// Recomputes the writer mask and the gate. Called by the steps that can change
    /// them: writer steps, acknowledgements, and the quiescent state that frees the old
    /// table.
    #[inline]
    fn refresh(&mut self) {
        self.st.writers = self.writers_now();
        self.st.gate = if self.drain && self.writers_done() {
            0
        } else {
            u64::MAX
        };
    }

    /// Recomputes every derived field from the public ones.
    fn rederive(&mut self) {
        // CPUs past the machine's count stay idle ([`DONE`]) from construction on.
        for c in 0..self.cpus as usize {
            self.st.cur[c] = self.code[self.st.pc[c] as usize];
        }
        if self.generic {
            let (mut busy, mut at_lock) = (0, 0);
            for c in FIRST_READER..self.cpus {
                if self.reader_mask >> c & 1 == 1 {
                    let pc = self.st.pc[c as usize];
                    busy |= ((pc != self.prog.entry[c as usize]) as u64) << c;
                    at_lock |= ((self.code[pc as usize].op == Op::Lock) as u64) << c;
                }
            }
            self.st.busy = busy;
            self.st.at_lock = at_lock;
        }
        self.st.sb_mask = self
            .st
            .sb
            .iter()
            .enumerate()
            .fold(0, |m, (c, b)| m | ((!b.is_empty() as u64) << c));
        self.refresh();
    }

    /// The collapser and the populator have finished.
    #[inline]
    pub fn writers_done(&self) -> bool {
        (self.st.collapser() == DONE) & (self.st.populator() == DONE)
    }

    /// The run is over: writers done, no reader inside an iteration, and every store
    /// buffer drained.
    #[inline]
    pub fn finished(&self) -> bool {
        self.writers_done() && self.busy() == 0 && self.st.sb_mask == 0
    }

    /// Whether CPUs have store buffers (`memory = tso`).
    #[inline]
    pub fn is_tso(&self) -> bool {
        self.tso
    }

    /// CPUs whose store buffer holds a store.
    #[inline]
    pub fn buffered(&self) -> u64 {
        self.st.sb_mask
    }

    /// `cpu`'s buffered stores, oldest first, in kernel terms.
    pub fn buffer_text(&self, cpu: u8) -> Vec<String> {
        self.st
            .sb
            .get(cpu as usize)
            .map(|b| b.iter().map(|s| self.store_text(s)).collect())
            .unwrap_or_default()
    }

    /// A store in kernel terms, with the value it writes.
    pub fn store_text(&self, s: Store) -> String {
        match (s, &self.prog.words) {
            (Store::Word(k), Some(w)) => w.store_text(k),
            _ => s.describe(self.new),
        }
    }

    /// The shared words and registers, each named and valued (`-`: a register not set
    /// yet); empty for a program without them.
    pub fn words_text(&self) -> Vec<(String, String)> {
        self.prog
            .words
            .as_ref()
            .map(|w| w.text(&self.st.words))
            .unwrap_or_default()
    }

    /// Whether this is a final state the `exists` clause's condition over registers and
    /// shared words holds in: the run is [`Machine::finished`] and the condition holds.
    pub fn observed(&self) -> bool {
        self.prog
            .words
            .as_ref()
            .is_some_and(|w| w.cond.is_some() && self.finished() && w.holds(&self.st.words))
    }

    /// Whether the `exists` clause has a condition over final registers and words.
    pub fn has_final_condition(&self) -> bool {
        self.prog.words.as_ref().is_some_and(|w| w.cond.is_some())
    }

    /// The TSO rule at `cpu`'s pc blocks it: the step waits for an empty store buffer
    /// (or, a store, for room in a full one).
    #[inline]
    fn buffer_blocks(&self, cpu: u8) -> bool {
        let c = cpu as usize & 63;
        let class = self.sb_rule[self.st.pc[c] as usize];
        let len = self.st.sb.get(c).map_or(0, |b| b.len());
        rules::buffer_holds(class, len as usize, self.sb_capacity(cpu) as usize)
    }

    /// What a step of `op` waits for besides its CPU's IPIs and store buffer: the PTL,
    /// or (`alloc = same-frame`) the old table's free.
    #[inline(always)]
    fn wait(&self, op: Op) -> rules::Wait<()> {
        match op {
            Op::Done => rules::Wait::End,
            Op::Lock => rules::Wait::Lock(()),
            Op::Alloc if self.same_frame => rules::Wait::Freed(state::OLD as u8),
            _ => rules::Wait::Nothing,
        }
    }

    /// How many stores `cpu`'s buffer holds before a further store waits.
    #[inline]
    pub fn sb_capacity(&self, cpu: u8) -> u32 {
        self.sb_cap.get(cpu as usize).map_or(0, |&c| c as u32)
    }

    /// The choices the scheduler may make now.
    #[inline(always)]
    pub fn enabled(&self) -> Enabled {
        match (self.generic, self.tso) {
            (false, false) => self.enabled_as::<false, false>(),
            (true, false) => self.enabled_as::<true, false>(),
            (false, true) => self.enabled_as::<false, true>(),
            (true, true) => self.enabled_as::<true, true>(),
        }
    }

    /// [`Machine::enabled`], for a machine whose [`Machine::is_generic`] is `G` and
    /// whose [`Machine::is_tso`] is `T` (an SC run pays nothing for store buffers).
    #[inline(always)]
    pub fn enabled_as<const G: bool, const T: bool>(&self) -> Enabled {
        debug_assert_eq!(T, self.tso);
        self.enabled_base::<G, T>()
    }

    /// The choices open, by the shared rule ([`rules::open`]) over this layout's masks;
    /// with `B` false, as if no store buffer held anything back.
    #[inline(always)]
    fn enabled_base<const G: bool, const B: bool>(&self) -> Enabled {
        let (prog, ack, drain) = rules::open(self, self.masks::<G, B>());
        Enabled { prog, ack, drain }
    }

    /// This layout's masks for the shared rule ([`rules::open`]); with `B` false, as if
    /// no store buffer held anything back.
    #[inline(always)]
    fn masks<const G: bool, const B: bool>(&self) -> rules::Masks {
        debug_assert_eq!(G, self.generic);
        let st = &self.st;
        debug_assert_eq!(
            st.writers,
            self.writers_now(),
            "stale writer mask in {st:?}"
        );
        // The writers' waits are in their mask; a reader at `pmd_lock()` is tested.
        let buffered = if B { st.sb_mask } else { 0 };
        rules::Masks {
            ready: self.reader_mask | st.writers,
            test: buffered | if G { st.at_lock } else { 0 },
            stopped: self.reader_mask & !(self.busy_as::<G>() | st.gate),
            going: st.gate,
            pending: st.pending,
            buffered,
            kvm: self.kvm,
            walkers: self.reader_mask,
        }
    }

    /// The readers the run's end stops outside an iteration: once a draining run's
    /// writers are done, they start no fresh one (the open rule's `stopped`).
    fn stopped(&self) -> u64 {
        if self.generic {
            self.masks::<true, false>().stopped
        } else {
            self.masks::<false, false>().stopped
        }
    }

    /// The choices open if store buffers held nothing back: what `why_disabled` tells
    /// apart from a buffer's wait.
    fn enabled_ignoring_buffers(&self) -> Enabled {
        if self.generic {
            self.enabled_base::<true, false>()
        } else {
            self.enabled_base::<false, false>()
        }
    }

    /// Why `ch` cannot be taken now, or `None` if it can.
    pub fn why_disabled(&self, ch: Choice) -> Option<String> {
        let st = &self.st;
        if ch.cpu >= self.cpus {
            return Some(format!(
                "there is no CPU{} (the machine has {} CPUs)",
                ch.cpu, self.cpus
            ));
        }
        let bit = 1u64 << ch.cpu;
        if ch.drain {
            return if !self.tso {
                Some("there are no store buffers under memory = sc".into())
            } else if st.sb_mask & bit == 0 {
                Some(format!("CPU{}'s store buffer is empty", ch.cpu))
            } else {
                None
            };
        }
        if self.tso && st.sb_mask & bit != 0 && ch.ack && st.pending & bit != 0 {
            return Some(format!(
                "CPU{} takes an interrupt only with an empty store buffer (interrupts are serializing)",
                ch.cpu
            ));
        }
        if ch.ack && self.kvm && self.reader_mask & bit != 0 {
            return if self.enabled().contains(ch) {
                None
            } else if st.sb_mask & bit != 0 {
                Some(format!(
                    "the host does not preempt or resume CPU{} before its store buffer drains (a VM exit is serializing)",
                    ch.cpu
                ))
            } else {
                Some(format!(
                    "the host does not preempt CPU{} once the collapse is over",
                    ch.cpu
                ))
            };
        }
        if ch.ack {
            return if st.pending & bit == 0 {
                Some(format!("CPU{} has no IPI pending", ch.cpu))
            } else if st.irq_off & bit != 0 {
                Some(format!("CPU{} has interrupts disabled", ch.cpu))
            } else {
                None
            };
        }
        if self.enabled().contains(ch) {
            return None;
        }
        let op = self.op(ch.cpu);
        if st.preempted & bit != 0 {
            return Some(format!("CPU{} is preempted by the host", ch.cpu));
        }
        if self.tso && self.buffer_blocks(ch.cpu) && self.enabled_ignoring_buffers().contains(ch) {
            return Some(format!(
                "CPU{}'s next step ({}) waits until its store buffer has drained",
                ch.cpu,
                op.name()
            ));
        }
        // A reader the run's end stopped outside an iteration has finished, whatever its
        // first step would wait for.
        let stopped = self.stopped() & bit != 0;
        Some(match self.role(ch.cpu) {
            Role::Idle => format!("CPU{} is idle: it only acknowledges IPIs", ch.cpu),
            Role::Reader if op == Op::Lock && st.ptl != NO_CPU && !stopped => {
                format!("CPU{} is spinning on the PTL held by CPU{}", ch.cpu, st.ptl)
            }
            Role::Reader => format!(
                "CPU{} has finished: the collapse is over and it is outside a read",
                ch.cpu
            ),
            Role::Collapser if op == Op::Done => "the collapser has finished".into(),
            Role::Populator if op == Op::Done => "the populator has finished".into(),
            Role::Collapser if st.pending != 0 => {
                "the collapser is waiting for IPI acknowledgements".into()
            }
            Role::Populator if op == Op::Alloc => {
                "the populator waits for the old frame to be freed (alloc=same-frame)".into()
            }
            _ => format!("CPU{} is spinning on the PTL held by CPU{}", ch.cpu, st.ptl),
        })
    }
}

/// Every wait a classic step can have ([`Machine::wait`]).
const WAITS: [rules::Wait<()>; 4] = [
    rules::Wait::Nothing,
    rules::Wait::End,
    rules::Wait::Lock(()),
    rules::Wait::Freed(state::OLD as u8),
];

/// Whether `cpu`'s block starts with `local_irq_save()`, ends with `local_irq_restore()`
/// (the only way back to its first line), touches interrupts nowhere else and takes no
/// lock: then "inside an iteration" is "interrupts off".
fn bracketed(p: &Program, cpu: u8) -> bool {
    let b = p.block_of[cpu as usize];
    let (s, e) = p.blocks[b as usize];
    let code = &p.code[s as usize..e as usize];
    let n = code.len();
    n >= 2
        && code[0].op == Op::IrqOff
        && code[n - 1].op == Op::IrqOn
        && code.iter().enumerate().all(|(i, ins)| {
            let irq_ok = match ins.op {
                Op::IrqOff => i == 0,
                Op::IrqOn => i == n - 1,
                Op::Lock | Op::Unlock => false,
                _ => true,
            };
            let back = [ins.next, ins.alt, ins.skip].contains(&s);
            irq_ok && (!back || i == n - 1)
        })
}
