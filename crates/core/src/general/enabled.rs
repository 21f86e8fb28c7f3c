//! Which choices are open: what a step waits for besides its CPU's own IPIs (a lock,
//! a reader-writer lock, the VMA's readers, a freed frame, its store buffer), when a
//! CPU can answer an IPI or drain a store, when nothing can move (a deadlock), and how
//! a run keeps what the test reads from step to step instead of reading every CPU
//! again. One more `impl` of [`GMachine`].
//!
//! The rule is one function of masks of CPUs, the one both machines take
//! ([`crate::rules::open`]), fed by [`GMachine::open_in`]: who has finished, who stands at its block's entry or at a step that
//! waits, who sends an IPI, who is owed one, whose store buffer holds stores. Only the
//! CPUs at a waiting step (a lock, a table) and, under TSO, those with buffered stores
//! are tested one by one. A step changes those masks for its own CPU alone (an answer
//! for the senders), so a run keeps them ([`Open`]) and retests nothing else.

use super::ir::DONE;
use super::machine::{GChoice, GMachine, CALM, QUIET};
use super::reach::Wait;
use crate::hazard::Hazard;
use crate::machine::Enabled;
use crate::rules;

/// The choices open in a state ([`GMachine::open`]) and the masks they were told
/// from, kept across a run's steps by [`GMachine::step_open`]: it describes the
/// machine's state until that state is changed otherwise (a reset, a state loaded
/// into `st`), when [`GMachine::open`] must count it afresh.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Open {
    pub en: Enabled,
    a: Around,
}

/// What the enabled test reads of every CPU besides the state's own masks
/// (`irq_off`, `preempted`), as masks of CPUs: gathered by one pass
/// ([`GMachine::around`]), then kept by each step for the CPU it moved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Around {
    /// CPUs whose block has finished (and idle CPUs).
    done: u64,
    /// CPUs standing at their block's first step: a walker between iterations.
    entry: u64,
    /// CPUs standing at a step that waits for something ([`Wait`] other than
    /// `Nothing`): the only ones whose program step is tested one by one.
    waits: u64,
    /// CPUs whose IPI some CPU has not answered yet.
    senders: u64,
    /// The CPUs some sender's IPI still waits for.
    pending: u64,
    /// CPUs with stores in their buffer (none under `memory = sc`).
    buffered: u64,
}

impl GMachine {
    /// What every CPU's enabled test reads of the whole machine, gathered in one pass.
    pub(super) fn around(&self) -> Around {
        let mut a = Around::default();
        for c in 0..self.prog.cpus as usize {
            self.place(c, &mut a);
            self.sent(c, &mut a);
            set_bit(&mut a.buffered, c, !self.st.sb[c].is_empty());
        }
        a
    }

    /// Sets CPU `c`'s bits of the masks its pc tells.
    #[inline(always)]
    fn place(&self, c: usize, a: &mut Around) {
        let pc = self.st.pc[c];
        set_bit(&mut a.done, c, pc == DONE);
        set_bit(&mut a.entry, c, pc == self.entry[c]);
        let waits = pc != DONE && !matches!(self.waits[pc as usize], Wait::Nothing);
        set_bit(&mut a.waits, c, waits);
    }

    /// Adds CPU `c`'s IPI, if it has one outstanding, to the masks (a program step
    /// only ever adds: a CPU with an IPI outstanding does not step).
    #[inline(always)]
    fn sent(&self, c: usize, a: &mut Around) {
        let m = self.st.pending[c];
        a.pending |= m;
        set_bit(&mut a.senders, c, m != 0);
    }

    /// Every block but the walkers has finished, told from the masks.
    fn writers_done_in(&self, a: &Around) -> bool {
        self.all & !self.walkers & !a.done == 0
    }

    /// Every block but the walkers has finished.
    pub fn writers_done(&self) -> bool {
        self.writers_done_in(&self.around())
    }

    /// The run is over, told from the masks: writers done, walkers between
    /// iterations, no IPI outstanding, no store buffered, no vCPU preempted.
    fn finished_in(&self, a: &Around) -> bool {
        self.writers_done_in(a)
            && self.walkers & !a.entry & self.all == 0
            && a.pending == 0
            && a.buffered == 0
            && self.st.preempted == 0
    }

    /// The run is over: writers done, walkers between iterations, no IPI outstanding.
    pub fn finished(&self) -> bool {
        self.finished_in(&self.around())
    }

    /// The choices open, told from the masks by the shared rule ([`rules::open`]): a
    /// program step needs its block not finished and no IPI of its own outstanding, and
    /// the CPUs at a step that waits for something, or (under TSO) with stores buffered,
    /// are tested one by one ([`GMachine::free_to_step`]).
    #[inline(always)]
    fn open_in(&self, a: &Around) -> Enabled {
        let (prog, ack, drain) = rules::open(self, self.masks_in(a));
        Enabled { prog, ack, drain }
    }

    /// This layout's masks for the shared rule ([`rules::open`]).
    #[inline(always)]
    fn masks_in(&self, a: &Around) -> rules::Masks {
        let buffered = if self.tso { a.buffered } else { 0 };
        let ending = self.drain && self.writers_done_in(a);
        rules::Masks {
            ready: self.all & !a.done & !a.senders,
            test: a.waits | buffered,
            stopped: if ending { self.walkers & a.entry } else { 0 },
            going: if ending { 0 } else { !0 },
            pending: a.pending,
            buffered,
            kvm: self.kvm,
            walkers: self.walkers,
        }
    }

    /// The walkers the run's end stops between iterations: once a draining run's other
    /// blocks are done, they start no new one.
    pub(super) fn stopped(&self) -> u64 {
        self.masks_in(&self.around()).stopped
    }

    /// Whether `cpu`'s next program step, at a step that waits or with stores
    /// buffered, has what it waits for: its buffer drained or a place in it, and its
    /// lock, reader-writer lock, VMA or frame free.
    pub(super) fn free_to_step(&self, cpu: u8) -> bool {
        let c = cpu as usize;
        let pc = self.st.pc[c];
        if self.tso
            && self
                .buffer_blocks(cpu, self.prog.code[pc as usize].op)
                .is_some()
        {
            return false;
        }
        crate::rules::free_for(self, cpu, self.waits[pc as usize])
    }

    /// Whether `cpu` can take an IPI now: one is pending for it, its interrupts are on,
    /// and (taking an interrupt is serializing) its store buffer is empty.
    pub(super) fn deliverable(&self, cpu: u8) -> bool {
        crate::rules::deliverable(self, cpu)
    }

    /// Whether the host preempts and resumes `cpu` (a walker under `kvm-pv-flush`).
    pub(super) fn host_schedules(&self, cpu: u8) -> bool {
        self.kvm && self.is_walker(cpu)
    }

    /// The choices open now, program steps first, then acknowledgements, then drains,
    /// each by CPU.
    pub fn enabled(&self) -> Vec<GChoice> {
        let mut v = Vec::new();
        self.enabled_into(&mut v);
        v
    }

    /// [`GMachine::enabled`] into `v` (cleared first): runs reuse one buffer.
    pub fn enabled_into(&self, v: &mut Vec<GChoice>) {
        list_into(self.enabled_set(), v);
    }

    /// The choices open now as CPU masks: what a random run draws from without
    /// building [`GMachine::enabled`]'s list (in the same order: [`Enabled::nth`]).
    pub fn enabled_set(&self) -> Enabled {
        self.open().en
    }

    /// The choices open now, with the masks they were told from.
    pub fn open(&self) -> Open {
        let a = self.around();
        Open {
            en: self.open_in(&a),
            a,
        }
    }

    /// Takes one step, as [`GMachine::step`], and brings `open` (what
    /// [`GMachine::open`] or this said last) up to the choices open after it: the
    /// masks change for the stepping CPU alone (for an answer, the senders'), so only
    /// its bits are read again; returns the step's hazard.
    #[inline(always)]
    pub fn step_open(&mut self, ch: GChoice, open: &mut Open) -> Option<Hazard> {
        let c = ch.cpu as usize;
        let from = self.st.pc[c];
        let h = self.step_inline(ch);
        // A quiet step from a calm place to a calm place: nothing the test reads moved.
        let to = self.st.pc[c];
        if !ch.ack
            && !ch.drain
            && self.calm_at(from) == CALM | QUIET
            && self.calm_at(to) & CALM != 0
        {
            debug_assert_eq!(open.en, self.open().en, "after {ch:?}");
            return h;
        }
        let a = &mut open.a;
        if ch.ack {
            // The answering CPU left every sender's mask (or the host preempted or
            // resumed its vCPU, which `preempted` says): the senders' masks again.
            a.pending = 0;
            let mut s = a.senders;
            while s != 0 {
                let d = s.trailing_zeros() as usize;
                s &= s - 1;
                self.sent(d, a);
            }
        } else if !ch.drain {
            self.place(c, a);
            self.sent(c, a);
        }
        if self.tso {
            set_bit(&mut a.buffered, c, !self.st.sb[c].is_empty());
        }
        open.en = self.open_in(a);
        debug_assert_eq!(*a, self.around(), "after {ch:?}");
        h
    }

    /// [`CALM`] and [`QUIET`] of a pc (none of `DONE`).
    #[inline(always)]
    fn calm_at(&self, pc: u16) -> u8 {
        self.calm.get(pc as usize).copied().unwrap_or(0)
    }

    pub fn is_enabled(&self, ch: GChoice) -> bool {
        if ch.cpu >= self.prog.cpus {
            return false;
        }
        let en = self.open().en;
        let mask = match (ch.ack, ch.drain) {
            (false, false) => en.prog,
            (true, false) => en.ack,
            (false, true) => en.drain,
            (true, true) => return false,
        };
        mask >> ch.cpu & 1 == 1
    }

    /// A deadlock, given the choices open and their masks (`o`): the run has not
    /// finished, and nothing can move it: every open choice, if any, is a walker
    /// starting a fresh iteration, which releases nothing anyone waits for. (With no
    /// drain and no answer open, no store is buffered and no vCPU preempted: what is
    /// left unfinished is a block other than a walker, a walker inside an iteration,
    /// or an IPI.)
    #[inline(always)]
    pub fn deadlocked_in(&self, o: &Open) -> bool {
        let (en, a) = (o.en, &o.a);
        let fresh = self.walkers & a.entry;
        en.ack == 0 && en.drain == 0 && en.prog & !fresh == 0 && !self.finished_in(a)
    }
}

/// The choices of `en` into `v` (cleared first), in [`GMachine::enabled`]'s order.
pub(super) fn list_into(en: Enabled, v: &mut Vec<GChoice>) {
    v.clear();
    v.extend(en.iter().map(GChoice::from));
}

/// Sets bit `c` of mask `m` to `on`.
#[inline(always)]
fn set_bit(m: &mut u64, c: usize, on: bool) {
    *m = *m & !(1 << c) | (on as u64) << c;
}
