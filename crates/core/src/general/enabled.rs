//! Which choices are open: what a step waits for besides its CPU's own IPIs (a lock,
//! a reader-writer lock, the VMA's readers, a freed frame, its store buffer), when a
//! CPU can answer an IPI or drain a store, when nothing can move (a deadlock), and how
//! a run keeps the open choices from step to step instead of testing every CPU again.
//! One more `impl` of [`GMachine`].

use super::ir::DONE;
use super::machine::{GChoice, GMachine, Life, NO_CPU};
use super::reach::{Reach, Wait};
use crate::hazard::Hazard;
use crate::machine::Enabled;

/// The choices open in a state ([`GMachine::open`]), kept across a run's steps by
/// [`GMachine::step_open`]: it describes the machine's state until that state is
/// changed otherwise (a reset, a state loaded into `st`), when [`GMachine::open`] must
/// count it afresh.
#[derive(Clone, Copy, Debug)]
pub struct Open {
    pub en: Enabled,
    a: Around,
}

/// What the enabled tests share: see [`GMachine::around`].
#[derive(Clone, Copy, Debug)]
pub(super) struct Around {
    /// Every block but the walkers has finished.
    pub(super) writers_done: bool,
    /// The CPUs some sender's IPI still waits for.
    pending: u64,
}

impl GMachine {
    /// What every CPU's enabled test reads of the whole machine, gathered in one pass
    /// (a random run asks of every CPU on every step).
    pub(super) fn around(&self) -> Around {
        let mut a = Around {
            writers_done: true,
            pending: 0,
        };
        for c in 0..self.prog.cpus as usize {
            a.writers_done &= self.prog.walkers >> c & 1 == 1 || self.st.pc[c] == DONE;
            a.pending |= self.st.pending[c];
        }
        a
    }

    /// Whether `cpu`'s next program step can run now.
    #[inline(always)]
    fn can_step(&self, cpu: u8, a: Around) -> bool {
        let c = cpu as usize;
        let pc = self.st.pc[c];
        if pc == DONE || self.st.pending[c] != 0 || self.st.preempted >> cpu & 1 == 1 {
            return false;
        }
        if self.drain && a.writers_done && self.is_walker(cpu) && pc == self.prog.entry[c] {
            return false;
        }
        if self.tso
            && self
                .buffer_blocks(cpu, self.prog.code[pc as usize].op)
                .is_some()
        {
            return false;
        }
        match self.waits[pc as usize] {
            Wait::Nothing => true,
            Wait::End => false,
            Wait::Lock(l) => self
                .lock_of(cpu, l)
                .is_none_or(|l| self.st.spin[l] == NO_CPU),
            Wait::Rw { lock, write } => {
                let (w, r) = self.st.rw[lock as usize];
                w == NO_CPU && (!write || r == 0)
            }
            Wait::VmaReaders => self.st.vma.1 & !(1u64 << cpu) == 0,
            Wait::Freed(r) => self.st.tables[r as usize] == Life::Freed,
        }
    }

    /// Taking an interrupt is serializing: under TSO a CPU answers with an empty buffer.
    /// Under `kvm-pv-flush` a walker's answer choice is the host's: resume its vCPU if
    /// preempted, else deliver an IPI it can take, else preempt it (not once the
    /// writers of a run that drains are done, so that runs end).
    fn can_ack(&self, cpu: u8, a: Around) -> bool {
        let deliverable = self.deliverable_in(cpu, a.pending);
        if self.host_schedules(cpu) {
            let preempted = self.st.preempted >> cpu & 1 == 1;
            return preempted || deliverable || !(self.drain && a.writers_done);
        }
        deliverable
    }

    /// Whether `cpu` can take an IPI now: one is pending for it, its interrupts are on,
    /// and (taking an interrupt is serializing) its store buffer is empty.
    pub(super) fn deliverable(&self, cpu: u8) -> bool {
        self.deliverable_in(cpu, self.around().pending)
    }

    /// [`GMachine::deliverable`], given every sender's pending CPUs in one mask.
    fn deliverable_in(&self, cpu: u8, pending: u64) -> bool {
        self.st.irq_off >> cpu & 1 == 0
            && pending >> cpu & 1 == 1
            && self.st.sb[cpu as usize].is_empty()
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

    /// The choices open now, with what every CPU's test of them shared.
    pub fn open(&self) -> Open {
        let a = self.around();
        let mut en = Enabled::default();
        for cpu in 0..self.prog.cpus {
            self.test_cpu(cpu, a, &mut en);
        }
        Open { en, a }
    }

    /// Sets `cpu`'s bits of `en`: its program step, its answer, its drain.
    #[inline(always)]
    fn test_cpu(&self, cpu: u8, a: Around, en: &mut Enabled) {
        set_bit(&mut en.prog, cpu, self.can_step(cpu, a));
        set_bit(&mut en.ack, cpu, self.can_ack(cpu, a));
        let drain = self.tso && !self.st.sb[cpu as usize].is_empty();
        set_bit(&mut en.drain, cpu, drain);
    }

    /// Takes one step, as [`GMachine::step`], and brings `open` (what
    /// [`GMachine::open`] or this said last) up to the choices open after it, kept
    /// rather than tested afresh; returns the step's hazard.
    #[inline(always)]
    pub fn step_open(&mut self, ch: GChoice, open: &mut Open) -> Option<Hazard> {
        // What the step can change, told before it moves the pc.
        let reach = match self.st.pc[ch.cpu as usize] {
            _ if ch.ack && !self.host_schedules(ch.cpu) => Reach::Answered,
            _ if ch.ack || ch.drain => Reach::All,
            DONE => Reach::All,
            pc => self.reaches[pc as usize],
        };
        let h = self.step_inline(ch);
        self.open_after(open, ch, reach);
        h
    }

    /// Brings `o`, the choices open before `ch` (a step that can change `reach`), up
    /// to those open after it: its own CPU retested, and the others only where the
    /// step can have changed theirs ([`super::ir::GOp::reach`]); an answer, a drain, a block's
    /// last step (the writers may be done) test them all. What a random run calls
    /// after each step, where retesting every CPU was most of a step's cost.
    #[inline(always)]
    fn open_after(&self, o: &mut Open, ch: GChoice, mut reach: Reach) {
        let cpu = ch.cpu;
        if self.st.pc[cpu as usize] == DONE {
            reach = Reach::All;
        }
        match reach {
            Reach::All => *o = self.open(),
            Reach::Step => set_bit(&mut o.en.prog, cpu, self.can_step(cpu, o.a)),
            Reach::Own => self.test_cpu(cpu, o.a, &mut o.en),
            Reach::Waiters => {
                self.test_cpu(cpu, o.a, &mut o.en);
                for d in (0..self.prog.cpus).filter(|&d| d != cpu) {
                    let pc = self.st.pc[d as usize];
                    if pc != DONE && !matches!(self.waits[pc as usize], Wait::Nothing) {
                        set_bit(&mut o.en.prog, d, self.can_step(d, o.a));
                    }
                }
            }
            Reach::Answered => {
                // Only the pending masks changed: this CPU's bit left every sender's.
                o.a = self.around();
                set_bit(&mut o.en.ack, cpu, self.can_ack(cpu, o.a));
                for d in (0..self.prog.cpus).filter(|&d| d != cpu) {
                    set_bit(&mut o.en.prog, d, self.can_step(d, o.a));
                }
            }
            Reach::Answers => {
                // The IPI's targets are pending now too.
                o.a.pending |= self.st.pending[cpu as usize];
                self.test_cpu(cpu, o.a, &mut o.en);
                for d in (0..self.prog.cpus).filter(|&d| d != cpu) {
                    set_bit(&mut o.en.ack, d, self.can_ack(d, o.a));
                }
            }
        }
        debug_assert_eq!(o.en, self.open().en, "after {ch:?} ({reach:?})");
    }

    pub fn is_enabled(&self, ch: GChoice) -> bool {
        ch.cpu < self.prog.cpus
            && match (ch.ack, ch.drain) {
                (true, false) => self.can_ack(ch.cpu, self.around()),
                (false, true) => !self.st.sb[ch.cpu as usize].is_empty(),
                (false, false) => self.can_step(ch.cpu, self.around()),
                (true, true) => false,
            }
    }

    /// A deadlock, given the choices open (`en`): something has not finished (a block
    /// other than a walker, a walker inside an iteration, an IPI), and nothing can move
    /// it: every open choice, if any, is a walker starting a fresh iteration, which
    /// releases nothing anyone waits for.
    #[inline(always)]
    pub fn deadlocked_in(&self, en: Enabled) -> bool {
        // Cheapest first: a random run asks on every step, and almost always some
        // answer, drain or step other than a fresh iteration is open.
        // A block other than a walker that can step is not stuck, whatever else holds.
        if en.ack != 0 || en.drain != 0 || en.prog & !self.prog.walkers != 0 {
            return false;
        }
        self.walkers_stuck(en.prog)
    }

    /// [`GMachine::deadlocked_in`] where only walkers' steps (`open`) are open.
    #[inline(always)]
    fn walkers_stuck(&self, mut open: u64) -> bool {
        // An open walker step inside an iteration moves the run on: told from the open
        // walkers alone (one or two), without a pass over every CPU.
        while open != 0 {
            if !self.at_entry(open.trailing_zeros() as u8) {
                return false;
            }
            open &= open - 1;
        }
        self.nothing_moves()
    }

    /// Every open choice, if any, is a walker's fresh iteration: stuck if something
    /// has not finished.
    fn nothing_moves(&self) -> bool {
        let a = self.around();
        !a.writers_done
            || a.pending != 0
            || (0..self.prog.cpus).any(|c| self.is_walker(c) && !self.at_entry(c))
    }
}

/// The choices of `en` into `v` (cleared first), in [`GMachine::enabled`]'s order.
pub(super) fn list_into(en: Enabled, v: &mut Vec<GChoice>) {
    v.clear();
    v.extend(en.iter().map(GChoice::from));
}

/// Sets bit `cpu` of mask `m` to `on`.
#[inline(always)]
fn set_bit(m: &mut u64, cpu: u8, on: bool) {
    *m = *m & !(1 << cpu) | (on as u64) << cpu;
}
