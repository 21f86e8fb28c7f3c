//! A general state as the exhaustive search stores it: every field of a [`GState`] in
//! one byte string, so that a stored state is one allocation, not one a vector, and
//! two states are equal exactly when their strings are. The program fixes how many
//! CPUs, entries, tables, pages, locks, locals and words there are; only the write
//! log, the store buffers and the held pins vary, and each is written with its length
//! first, so the string of a state is the one string of it. What the program can
//! never change ([`Shape`]) is left out: it is the same in all its states.
//!
//! A mask of CPUs is written in two bytes (the machine has at most [`MAX_CPUS`], 16),
//! and a CPU that assembles no read in one byte: most of a state's CPUs are not in a
//! read, and a shorter string is less to hash, compare and keep.

use super::ir::{Buffered, GOp, GProgram, MAX_CPUS};
use super::state::{GState, Life, ReadReg};

/// A state as one byte string ([`pack`], [`unpack`]).
pub type Packed = Vec<u8>;

/// What of a state its program can change: a part that no step of the program sets
/// keeps its first value in every state, so the string leaves it out and [`unpack`]
/// leaves it as the state it reads into (one of the same program) holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Store buffers (`memory = tso`).
    tso: bool,
    /// Preempted vCPUs (`kvm-pv-flush`).
    kvm: bool,
    /// mmap_lock, i_mmap_rwsem and the VMA lock.
    rw: bool,
    /// Pins handed to GUP-fast's callers.
    pins: bool,
}

impl Shape {
    pub fn of(p: &GProgram) -> Shape {
        Shape {
            tso: p.cfg.memory == crate::knob::Memory::Tso,
            kvm: p.cfg.platform.kvm(),
            rw: p.takes_rw(),
            pins: p.code.iter().any(|i| matches!(i.op, GOp::GupReturn { .. })),
        }
    }
}

/// Writes `s`, a state of a program of shape `k`, into `out` (its allocation kept).
pub fn pack(k: &Shape, s: &GState, out: &mut Packed) {
    // The string is sized once for the longest it can be, then written through a
    // cursor and cut to what was written: a store and a bounds check a field, where a
    // push checked the capacity and moved the length. Only what the last string did
    // not reach is cleared: the cursor writes over the rest.
    let need = longest(k, s);
    out.resize(out.len().max(need), 0);
    let mut w = Writer { buf: out, at: 0 };
    w.u16s(&s.pc);
    w.mask(s.irq_off);
    w.masks(&s.pending);
    w.u64s(&s.entries);
    w.u16(s.log.len() as u16);
    for &(e, v) in &s.log {
        w.u8(e);
        w.u64(v);
    }
    for &life in &s.tables {
        match life {
            Life::Unallocated => w.u8(0),
            Life::Live => w.u8(1),
            Life::Queued(m) => {
                w.u8(2);
                w.mask(m);
            }
            Life::Freed => w.u8(3),
        }
    }
    for &n in &s.counts {
        w.u32(n as u32);
    }
    w.bytes(&s.spin);
    if k.rw {
        for &(owner, readers) in s.rw.iter().chain([&s.vma]) {
            w.u8(owner);
            w.mask(readers);
        }
    }
    w.u64s(&s.locals);
    for r in &s.reads {
        if *r == ReadReg::START {
            w.u8(0);
        } else {
            w.u8(1);
            w.u32(r.low);
            w.u32(r.high);
            w.u16(r.first_log);
            w.u64(r.first_val);
        }
    }
    w.mask(s.installed);
    for b in s.sb.iter().filter(|_| k.tso) {
        w.u8(b.len() as u8);
        for &x in b {
            match x {
                Buffered::Entry { entry, mask, value } => {
                    w.u8(0);
                    w.u16(entry);
                    w.u64(mask);
                    w.u64(value);
                }
                Buffered::Unlock(l) => {
                    w.u8(1);
                    w.u16(l);
                }
                Buffered::Word { var, value } => {
                    w.u8(2);
                    w.u8(var);
                    w.u8(value);
                }
            }
        }
    }
    if k.kvm {
        w.mask(s.preempted);
    }
    if k.pins {
        w.u8(s.held.len() as u8);
        for &(pmd, index, page) in &s.held {
            w.bytes(&[pmd, index, page]);
        }
    }
    w.bytes(&s.words);
    let n = w.at;
    out.truncate(n);
}

/// The most bytes [`pack`] can write for `s`: every read in progress, every queued
/// table, every buffered store at its longest.
fn longest(k: &Shape, s: &GState) -> usize {
    let cpus = s.pc.len();
    let buffered: usize = if k.tso {
        s.sb.iter().map(|b| 1 + 19 * b.len()).sum()
    } else {
        0
    };
    let held = if k.pins { 1 + 3 * s.held.len() } else { 0 };
    let rw = if k.rw { 3 * 3 } else { 0 };
    let preempted = if k.kvm { 2 } else { 0 };
    2 * cpus
        + 2
        + 2 * cpus
        + 8 * s.entries.len()
        + 2
        + 9 * s.log.len()
        + 3 * s.tables.len()
        + 4 * s.counts.len()
        + s.spin.len()
        + rw
        + 8 * s.locals.len()
        + 19 * cpus
        + 2
        + buffered
        + preempted
        + held
        + s.words.len()
}

/// Reads `p` back into `s`, a state of the same program (its vectors have the
/// program's lengths; their allocations are kept).
pub fn unpack(k: &Shape, p: &[u8], s: &mut GState) {
    let mut r = Reader(p);
    r.u16s(&mut s.pc);
    s.irq_off = r.mask();
    for m in &mut s.pending {
        *m = r.mask();
    }
    r.u64s(&mut s.entries);
    let n = r.u16();
    s.log.clear();
    for _ in 0..n {
        let e = r.u8();
        s.log.push((e, r.u64()));
    }
    for life in &mut s.tables {
        *life = match r.u8() {
            0 => Life::Unallocated,
            1 => Life::Live,
            2 => Life::Queued(r.mask()),
            _ => Life::Freed,
        };
    }
    for n in &mut s.counts {
        *n = r.u32() as i32;
    }
    for l in &mut s.spin {
        *l = r.u8();
    }
    if k.rw {
        for lock in s.rw.iter_mut().chain([&mut s.vma]) {
            let owner = r.u8();
            *lock = (owner, r.mask());
        }
    }
    r.u64s(&mut s.locals);
    for x in &mut s.reads {
        *x = match r.u8() {
            0 => ReadReg::START,
            _ => ReadReg {
                low: r.u32(),
                high: r.u32(),
                first_log: r.u16(),
                first_val: r.u64(),
            },
        };
    }
    s.installed = r.mask();
    for b in s.sb.iter_mut().filter(|_| k.tso) {
        let n = r.u8();
        b.clear();
        for _ in 0..n {
            b.push(match r.u8() {
                0 => Buffered::Entry {
                    entry: r.u16(),
                    mask: r.u64(),
                    value: r.u64(),
                },
                1 => Buffered::Unlock(r.u16()),
                _ => Buffered::Word {
                    var: r.u8(),
                    value: r.u8(),
                },
            });
        }
    }
    if k.kvm {
        s.preempted = r.mask();
    }
    if k.pins {
        let n = r.u8();
        s.held.clear();
        for _ in 0..n {
            s.held.push((r.u8(), r.u8(), r.u8()));
        }
    }
    for w in &mut s.words {
        *w = r.u8();
    }
    debug_assert!(r.0.is_empty(), "{} bytes left", r.0.len());
}

/// A cursor over a string sized by [`longest`].
struct Writer<'a> {
    buf: &'a mut [u8],
    at: usize,
}

impl Writer<'_> {
    #[inline(always)]
    fn put<const N: usize>(&mut self, x: [u8; N]) {
        self.buf[self.at..self.at + N].copy_from_slice(&x);
        self.at += N;
    }
    fn bytes(&mut self, xs: &[u8]) {
        self.buf[self.at..self.at + xs.len()].copy_from_slice(xs);
        self.at += xs.len();
    }
    fn u8(&mut self, x: u8) {
        self.put([x]);
    }
    fn u16(&mut self, x: u16) {
        self.put(x.to_le_bytes());
    }
    fn u32(&mut self, x: u32) {
        self.put(x.to_le_bytes());
    }
    fn u64(&mut self, x: u64) {
        self.put(x.to_le_bytes());
    }
    /// A mask of CPUs, in the two bytes that the machine's most CPUs need.
    fn mask(&mut self, m: u64) {
        debug_assert!(m >> MAX_CPUS == 0, "a mask of CPUs past the 16th: {m:#x}");
        self.u16(m as u16);
    }
    /// Each CPU's mask.
    fn masks(&mut self, ms: &[u64]) {
        for &m in ms {
            self.mask(m);
        }
    }
    /// A slice's values in one go: one bounds check, then a loop of plain stores (a
    /// state's entries and locals are most of it).
    fn u64s(&mut self, xs: &[u64]) {
        let to = &mut self.buf[self.at..self.at + xs.len() * 8];
        for (d, x) in to.chunks_exact_mut(8).zip(xs) {
            d.copy_from_slice(&x.to_le_bytes());
        }
        self.at += xs.len() * 8;
    }
    fn u16s(&mut self, xs: &[u16]) {
        let to = &mut self.buf[self.at..self.at + xs.len() * 2];
        for (d, x) in to.chunks_exact_mut(2).zip(xs) {
            d.copy_from_slice(&x.to_le_bytes());
        }
        self.at += xs.len() * 2;
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let (head, rest) = self.0.split_first_chunk::<N>().expect("a packed state");
        self.0 = rest;
        *head
    }
    fn u8(&mut self) -> u8 {
        self.take::<1>()[0]
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.take())
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take())
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }
    fn mask(&mut self) -> u64 {
        self.u16() as u64
    }
    /// [`Writer::u64s`]'s values back, as many as `xs` holds.
    fn u64s(&mut self, xs: &mut [u64]) {
        let (head, rest) = self.0.split_at(xs.len() * 8);
        for (x, b) in xs.iter_mut().zip(head.chunks_exact(8)) {
            *x = u64::from_le_bytes(b.try_into().expect("8 bytes"));
        }
        self.0 = rest;
    }
    fn u16s(&mut self, xs: &mut [u16]) {
        let (head, rest) = self.0.split_at(xs.len() * 2);
        for (x, b) in xs.iter_mut().zip(head.chunks_exact(2)) {
            *x = u16::from_le_bytes(b.try_into().expect("2 bytes"));
        }
        self.0 = rest;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::general::machine::GMachine;
    use crate::general::{builtin_files, load};

    /// `longest` is what a state at its longest packs to, byte for byte: every CPU in
    /// a read, every table's free queued, a store buffered in every slot it can hold,
    /// a logged write, a held pin and preempted vCPUs, each where the program's shape
    /// has it. Shorter, `pack` would run off the string; longer, each state would clear
    /// bytes it never writes. On every built-in general file and every classic
    /// built-in scenario as a general program (shared words and registers among them),
    /// and under `kvm-pv-flush` where it has SC.
    #[test]
    fn the_longest_state_fills_the_string_exactly() {
        let mut progs: Vec<_> = builtin_files()
            .map(|(name, src)| (name.to_string(), load(src).unwrap()))
            .collect();
        for (name, src) in crate::program::BUILTIN {
            let (_, mut cfg) = crate::program::load(src).unwrap();
            progs.push((
                name.to_string(),
                crate::general::from_classic(&cfg).unwrap(),
            ));
            // With the host's preemptions, where the mode has them.
            if cfg.memory == crate::knob::Memory::Sc {
                cfg.mode = crate::knob::Mode::KvmPvFlush;
                progs.push((
                    format!("{name} under kvm-pv-flush"),
                    crate::general::from_classic(&cfg).unwrap(),
                ));
            }
        }
        assert!(progs.iter().any(|(_, p)| Shape::of(p).kvm));
        assert!(progs.iter().any(|(_, p)| p.words.is_some()));
        for (name, p) in progs {
            let k = Shape::of(&p);
            let mut s = GMachine::new(p, false).st;
            for r in &mut s.reads {
                *r = ReadReg {
                    low: 1,
                    high: 2,
                    first_log: 3,
                    first_val: 4,
                };
            }
            for t in &mut s.tables {
                *t = Life::Queued(0b101);
            }
            if k.kvm {
                s.preempted = 0b110;
            }
            for (c, b) in s.sb.iter_mut().enumerate().filter(|_| k.tso) {
                b.clear();
                b.extend((0..c as u16 + 1).map(|e| Buffered::Entry {
                    entry: e,
                    mask: u64::MAX,
                    value: 7,
                }));
            }
            s.log = vec![(0, 9), (1, 8)];
            if k.pins {
                s.held = vec![(0, 1, 2)];
            }
            let mut buf = Packed::new();
            pack(&k, &s, &mut buf);
            assert_eq!(buf.len(), longest(&k, &s), "{name}");
            let mut back = s.clone();
            back.log.clear();
            back.held.clear();
            back.sb.iter_mut().for_each(Vec::clear);
            unpack(&k, &buf, &mut back);
            assert_eq!(back, s, "{name}");
        }
    }
}
