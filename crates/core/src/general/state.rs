//! The general machine's state: the family's world (entries with the values they held,
//! tables and pages with their lifetimes and counts, spinlocks, reader-writer locks,
//! interrupts and IPIs, each CPU's locals and the read it is assembling), and the
//! choices that move it.

use super::ir::{Buffered, MAX_CPUS};
use std::ops::{Deref, DerefMut, Index, IndexMut};

/// "No CPU" in a lock's owner.
pub use crate::rules::NO_CPU;
/// "No read in progress" in [`ReadReg::first_log`].
pub(super) const NO_READ: u16 = u16::MAX;

pub use crate::rules::Life;

/// The read a CPU is assembling from 32-bit loads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ReadReg {
    pub low: u32,
    pub high: u32,
    /// Where the write log stood at the read's first load (`NO_READ`: no read).
    pub first_log: u16,
    /// The entry's value at the read's first load.
    pub first_val: u64,
}

impl Default for ReadReg {
    fn default() -> ReadReg {
        ReadReg::START
    }
}

/// One value per CPU of the program, in an array of the machine's most CPUs: read and
/// written by index as the program's CPUs (a slice of them when iterated), with no
/// length to check on every access of a step, and copied without an allocation.
#[derive(Clone, Copy, Debug)]
pub struct PerCpu<T> {
    n: u8,
    /// Slots past `n` are not the state's: it compares and hashes by the CPUs' values.
    v: [T; MAX_CPUS as usize],
}

impl<T: PartialEq> PartialEq for PerCpu<T> {
    fn eq(&self, o: &PerCpu<T>) -> bool {
        **self == **o
    }
}

impl<T: Eq> Eq for PerCpu<T> {}

impl<T: std::hash::Hash> std::hash::Hash for PerCpu<T> {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        (**self).hash(h);
    }
}

impl<T: Copy + Default> PerCpu<T> {
    /// `n` CPUs' values, each `x`.
    pub fn new(n: usize, x: T) -> PerCpu<T> {
        Self::from_slice(&vec![x; n])
    }

    /// Becomes a copy of `o`, copying only its CPUs' values (the search loads a state
    /// before each of its choices; the slots past them are no state's).
    #[inline]
    pub fn copy_from(&mut self, o: &PerCpu<T>) {
        let n = (o.n as usize).min(MAX_CPUS as usize);
        self.n = o.n;
        self.v[..n].copy_from_slice(&o.v[..n]);
    }

    pub fn from_slice(xs: &[T]) -> PerCpu<T> {
        assert!(xs.len() <= MAX_CPUS as usize, "{} CPUs", xs.len());
        let mut v = [T::default(); MAX_CPUS as usize];
        v[..xs.len()].copy_from_slice(xs);
        PerCpu {
            n: xs.len() as u8,
            v,
        }
    }
}

impl<T> Deref for PerCpu<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.v[..self.n as usize]
    }
}

impl<T> DerefMut for PerCpu<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.v[..self.n as usize]
    }
}

impl<'a, T> IntoIterator for &'a PerCpu<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a, T> IntoIterator for &'a mut PerCpu<T> {
    type Item = &'a mut T;
    type IntoIter = std::slice::IterMut<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter_mut()
    }
}

impl<T> Index<usize> for PerCpu<T> {
    type Output = T;
    #[inline(always)]
    fn index(&self, c: usize) -> &T {
        debug_assert!(c < self.n as usize, "CPU {c} of {}", self.n);
        &self.v[c % MAX_CPUS as usize]
    }
}

impl<T> IndexMut<usize> for PerCpu<T> {
    #[inline(always)]
    fn index_mut(&mut self, c: usize) -> &mut T {
        debug_assert!(c < self.n as usize, "CPU {c} of {}", self.n);
        &mut self.v[c % MAX_CPUS as usize]
    }
}

impl ReadReg {
    pub const START: ReadReg = ReadReg {
        low: 0,
        high: 0,
        first_log: NO_READ,
        first_val: 0,
    };
}

/// Everything that changes in a run.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct GState {
    pub pc: PerCpu<u16>,
    pub irq_off: u64,
    /// Per sender: the CPUs that have not yet answered its IPI.
    pub pending: PerCpu<u64>,
    /// Every entry's value: the PMDs, then each table's PTEs.
    pub entries: Vec<u64>,
    /// The writes since the oldest read in progress began: (entry, value written).
    /// What a read's torn check compares against; emptied when no read is in progress,
    /// so that states differing only in old writes are one state.
    pub log: Vec<(u8, u64)>,
    pub tables: Vec<Life>,
    pub counts: Vec<i32>,
    /// Each spinlock's owner: the PMDs' locks, then the tables' split PTE locks.
    pub spin: Vec<u8>,
    /// mmap_lock and i_mmap_rwsem: (writer, readers).
    pub rw: [(u8, u64); 2],
    /// The VMA lock: (write-locker, readers).
    pub vma: (u8, u64),
    pub locals: Vec<u64>,
    pub reads: PerCpu<ReadReg>,
    /// CPUs that have installed a table (the classic fault's `while (!installed)`).
    pub installed: u64,
    /// Each CPU's store buffer, oldest first (always empty under `memory = sc`).
    pub sb: Vec<Vec<Buffered>>,
    /// `kvm-pv-flush`: walkers whose vCPU the host has preempted.
    pub preempted: u64,
    /// The pins GUP-fast has handed to its callers, as (PMD, PTE index, page), sorted:
    /// a caller keeps its pin (for DMA, say) to the end of the run, where each page
    /// must still be mapped where it was found (the stale-pin judgement).
    pub held: Vec<(u8, u8, u8)>,
    /// Shared words, then each CPU's registers: one byte a slot, as the classic
    /// machine keeps them ([`crate::program::words::Words`]).
    pub words: Vec<u8>,
}

/// Field by field, so that `clone_from` reuses the target's vectors: the search loads a
/// state into the machine before each of its choices, and a derived `clone_from`
/// would allocate every vector each time.
impl Clone for GState {
    fn clone(&self) -> GState {
        let mut c = GState {
            pc: self.pc,
            irq_off: 0,
            pending: self.pending,
            entries: Vec::new(),
            log: Vec::new(),
            tables: Vec::new(),
            counts: Vec::new(),
            spin: Vec::new(),
            rw: self.rw,
            vma: self.vma,
            locals: Vec::new(),
            reads: self.reads,
            installed: 0,
            sb: Vec::new(),
            preempted: 0,
            held: Vec::new(),
            words: Vec::new(),
        };
        c.clone_from(self);
        c
    }

    fn clone_from(&mut self, o: &GState) {
        // Every field by name, so that a new one cannot be forgotten here.
        let GState {
            pc,
            irq_off,
            pending,
            entries,
            log,
            tables,
            counts,
            spin,
            rw,
            vma,
            locals,
            reads,
            installed,
            sb,
            preempted,
            held,
            words,
        } = o;
        self.pc.copy_from(pc);
        self.irq_off = *irq_off;
        self.pending.copy_from(pending);
        copy_vec(&mut self.entries, entries);
        copy_vec(&mut self.log, log);
        copy_vec(&mut self.tables, tables);
        copy_vec(&mut self.counts, counts);
        copy_vec(&mut self.spin, spin);
        self.rw = *rw;
        self.vma = *vma;
        copy_vec(&mut self.locals, locals);
        self.reads.copy_from(reads);
        self.installed = *installed;
        // Mostly empty (always under `memory = sc`): an empty buffer copies nothing.
        if self.sb.len() == sb.len() {
            for (d, s) in self.sb.iter_mut().zip(sb) {
                copy_vec(d, s);
            }
        } else {
            self.sb.clone_from(sb);
        }
        self.preempted = *preempted;
        copy_vec(&mut self.held, held);
        copy_vec(&mut self.words, words);
    }
}

/// `d` becomes a copy of `s`: one copy where the lengths agree (a state of the same
/// program: only the write log and the pins vary), none where both are empty.
#[inline(always)]
fn copy_vec<T: Copy>(d: &mut Vec<T>, s: &[T]) {
    if d.len() == s.len() {
        if !s.is_empty() {
            d.copy_from_slice(s);
        }
    } else {
        d.clear();
        d.extend_from_slice(s);
    }
}

/// One choice: a CPU's next program step, its answer to a pending IPI, or (under
/// `memory = tso`) the drain of its oldest buffered store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GChoice {
    pub cpu: u8,
    pub ack: bool,
    pub drain: bool,
}

/// The classic machine's spelling of the same choice (the shared random draw's).
impl From<crate::machine::Choice> for GChoice {
    fn from(c: crate::machine::Choice) -> GChoice {
        GChoice {
            cpu: c.cpu,
            ack: c.ack,
            drain: c.drain,
        }
    }
}

impl GChoice {
    pub fn step(cpu: u8) -> GChoice {
        GChoice {
            cpu,
            ack: false,
            drain: false,
        }
    }
    pub fn ack(cpu: u8) -> GChoice {
        GChoice {
            cpu,
            ack: true,
            drain: false,
        }
    }
    pub fn drain(cpu: u8) -> GChoice {
        GChoice {
            cpu,
            ack: false,
            drain: true,
        }
    }
}
