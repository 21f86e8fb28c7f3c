//! What a step has to do with the other CPUs, told from its op and the program alone:
//! what it waits for ([`Wait`], besides its CPU's own IPIs and store buffer), and whose
//! open choices taking it can change ([`GOp::reach`]). The machine's enabled test
//! (`enabled.rs`) reads both; neither depends on a state.

use super::ir::{GOp, GProgram, LockSrc};

/// What a step waits for besides its CPU's own IPIs and vCPU (and, under TSO, its
/// store buffer): the machine's enabled test (`enabled.rs`) tests it.
#[derive(Clone, Copy, Debug)]
pub enum Wait {
    Nothing,
    /// A block's end: it never steps.
    End,
    /// `spin_lock()`: the lock free.
    Lock(LockSrc),
    /// A reader-writer lock taken: no writer, and for writing no reader either.
    Rw {
        lock: u8,
        write: bool,
    },
    /// `vma_start_write()`: no other CPU holding the VMA read lock.
    VmaReaders,
    /// `pte_alloc_one()` of a frame another table holds (`alloc = same-frame`): that
    /// table freed.
    Freed(u8),
}

impl Wait {
    pub fn of(prog: &GProgram, op: GOp) -> Wait {
        match op {
            GOp::Done => Wait::End,
            GOp::Lock(l) => Wait::Lock(l),
            GOp::Rw {
                lock,
                write,
                take: true,
            } => Wait::Rw { lock, write },
            GOp::VmaStartWrite => Wait::VmaReaders,
            GOp::Alloc { table, .. } => match prog.tables[table as usize].reuses {
                Some(r) => Wait::Freed(r),
                None => Wait::Nothing,
            },
            _ => Wait::Nothing,
        }
    }
}

/// Whose open choices a step can change: see [`GOp::reach`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// Only its own CPU's next program step: the step changes none of its CPU's
    /// interrupt flag, store buffer or IPIs, so its answer and drain stay as they were.
    Step,
    /// Only its own CPU's.
    Own,
    /// Also those of CPUs standing at a step that waits for a lock or a table.
    Waiters,
    /// Also every CPU's answer to an IPI.
    Answers,
    /// An answer to an IPI (not the host's choice under `kvm-pv-flush`): its own
    /// answer, and the senders' next steps (their IPI may be answered by all now).
    Answered,
    All,
}

impl GOp {
    /// Whose open choices taking this step can change besides its own CPU's; what
    /// the others may do depends on nothing else it writes (an entry, a count, a
    /// local, a word), so a run retests only those after it
    /// ([`super::machine::GMachine::step_open`]).
    pub fn reach(&self) -> Reach {
        match self {
            // A lock taken or released, a table allocated or freed, interrupts on (the
            // end of a grace period): only a CPU standing at a step that waits for a
            // lock or a table.
            GOp::Lock(_)
            | GOp::Unlock { .. }
            | GOp::Trylock(_)
            | GOp::Rw { .. }
            | GOp::VmaStartWrite
            | GOp::VmaStartRead
            | GOp::VmaEndRead
            | GOp::IrqOn
            | GOp::Alloc { .. }
            | GOp::Free { .. } => Reach::Waiters,
            // An IPI sent: its targets may answer.
            GOp::Flush { .. } | GOp::Sync => Reach::Answers,
            GOp::Done => Reach::All,
            // Interrupts off, a store (it may be buffered): its own answer and drain too.
            GOp::IrqOff | GOp::Store { .. } | GOp::WriteOnce(_) | GOp::Xchg(_) => Reach::Own,
            GOp::Fence
            | GOp::Load { .. }
            | GOp::NoneNow(_)
            | GOp::Test { .. }
            | GOp::PmdSame { .. }
            | GOp::PteSame { .. }
            | GOp::RangeNone(_)
            | GOp::Map { .. }
            | GOp::GetPage(_)
            | GOp::TryGetPage(_)
            | GOp::PutPage(_)
            | GOp::Pinned(_)
            | GOp::GupReturn { .. }
            | GOp::ReadOnce(_)
            | GOp::Jump => Reach::Step,
        }
    }
}
