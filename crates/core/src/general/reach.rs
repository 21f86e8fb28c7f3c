//! What a step waits for besides its CPU's own IPIs and store buffer ([`Wait`]), told
//! from its op and the program alone: the machine's enabled test (`enabled.rs`) reads
//! it, and tests one by one only the CPUs at a step that waits.

use super::ir::{GOp, GProgram, LockSrc};

/// What a step waits for besides its CPU's own IPIs and vCPU (and, under TSO, its
/// store buffer): the machine's enabled test (`enabled.rs`) tests it by the shared
/// rule ([`crate::rules::free_for`]).
pub type Wait = crate::rules::Wait<LockSrc>;

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

impl GOp {
    /// Taking this step changes nothing the enabled test reads but its CPU's pc: no
    /// lock, table, interrupt flag, IPI, store buffer or vCPU (an entry, a count, a
    /// local, a pin or the write log, which no test reads, it may). Where its CPU also
    /// stands, before and after, where no mask of the enabled test (`enabled.rs`) has its bit, a run
    /// keeps the open choices as they were.
    pub fn quiet(&self) -> bool {
        matches!(
            self,
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
                | GOp::Jump
        )
    }
}
