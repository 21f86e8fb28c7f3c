//! States in 128 bits: each field's width comes from the program (a CPU's pc is stored as
//! its index inside its block, reader registers as which of the few possible values they
//! hold), and readers are stored sorted, one state per orbit of the reader symmetry.
//!
//! *Symmetry.* All readers run the same program, have the same kind (so are all in or
//! all out of `mm_cpumask`) and are treated alike by every broadcast; idle CPUs likewise.
//! Permuting readers (with their IRQ, pending and quiescent-state bits) maps runs to
//! runs of the same length and hazards to hazards, so one state per orbit is stored: the
//! per-reader fields are sorted before hashing.

use super::options::CheckError;
use crate::machine::{
    Machine, Pmd, Regs, TableState, COLLAPSER, DONE, FIRST_READER, NO_CPU, NO_VER, POPULATOR,
};
use crate::prim::Reduction;

/// How a machine state packs into 128 bits. Field widths come from the program: a
/// CPU's pc is stored as its index inside its block.
pub(super) struct Layout {
    pub(super) readers: usize,
    /// Bits per reader word.
    pub(super) reader_bits: u32,
    pub(super) kvm: bool,
    /// Some reader takes the PTL: each reader word holds an "owns the PTL" bit.
    pub(super) reader_locks: bool,
    pub(super) idle: u64,
    pub(super) idle_bits: u32,
    pub(super) old: Pmd,
    pub(super) new: Pmd,
    pub(super) last_ver: u8,
    /// Writers' (first pc, length, bits); `DONE` is stored as the length.
    pub(super) writers: [(u8, u8, u32); 2],
    /// Reader pc bits, and each reader slot's first pc.
    pub(super) r_pc_bits: u32,
    pub(super) r_base: Vec<u8>,
    /// Reader slots that run the same block: symmetry permutes only within a group.
    pub(super) groups: Vec<Vec<usize>>,
    /// Per pc: when a reader's step there may be explored alone.
    pub(super) reduction: Vec<Reduction>,
    /// Under TSO, the writers' store-buffer capacities: each entry packs in 3 bits.
    pub(super) w_sb: [u32; 2],
    /// Under TSO, bits per reader for its buffer's length (a reader buffers only its
    /// `spin_unlock()`, so the length says it all).
    pub(super) r_sb_bits: u32,
    /// The machine has store buffers (`memory = tso`).
    pub(super) tso: bool,
    /// A program with shared words: its slots, then (under TSO) every CPU's whole
    /// buffer in 4-bit codes, packed after the readers in place of the short forms above.
    pub(super) words: Option<WordsLayout>,
}

/// Where a program's shared words go in a packed state.
pub(super) struct WordsLayout {
    /// Slots ([`crate::machine::State::words`]), each in `slot_bits` bits; an unset
    /// register is stored as `unset`.
    slots: usize,
    slot_bits: u32,
    unset: u8,
    /// Each CPU's buffer capacity (TSO), in 4-bit entries.
    caps: Vec<u32>,
}

const READER_LOW_BITS: u32 = 10;

fn bits_for(values: u32) -> u32 {
    32 - values.saturating_sub(1).leading_zeros()
}

impl Layout {
    pub(super) fn new(m: &Machine) -> Result<Layout, CheckError> {
        let readers = m.config().readers as usize;
        let cpus = m.cpus() as u64;
        let idle = cpus - 2 - readers as u64;
        let idle_bits = 64 - idle.leading_zeros();
        let kvm = m.config().mode == crate::config::Mode::KvmPvFlush;
        let p = m.program();
        let writers = [COLLAPSER, POPULATOR].map(|c| {
            let (s, e) = p.blocks[p.block_of[c as usize] as usize];
            (s, e - s, bits_for((e - s) as u32 + 1))
        });
        let reader_cpus = FIRST_READER..FIRST_READER + readers as u8;
        let r_base: Vec<u8> = reader_cpus
            .clone()
            .map(|c| p.blocks[p.block_of[c as usize] as usize].0)
            .collect();
        let r_len = reader_cpus
            .clone()
            .map(|c| {
                let (s, e) = p.blocks[p.block_of[c as usize] as usize];
                (e - s) as u32
            })
            .max()
            .unwrap_or(1);
        let r_pc_bits = bits_for(r_len).max(1);
        let reader_locks = reader_cpus
            .clone()
            .any(|c| p.cpu_has(c, |o| o == crate::prim::Op::Lock));
        let tso = m.is_tso();
        let words = p.words.as_ref().map(|w| WordsLayout {
            slots: w.len,
            slot_bits: bits_for(w.values.len() as u32 + 1),
            unset: w.values.len() as u8,
            caps: (0..m.cpus())
                .map(|c| if tso { m.sb_capacity(c) } else { 0 })
                .collect(),
        });
        // With shared words every buffer is packed whole, after the readers.
        let short_sb = tso && words.is_none();
        let w_sb = [COLLAPSER, POPULATOR].map(|c| if short_sb { m.sb_capacity(c) } else { 0 });
        let r_sb_bits = if short_sb {
            reader_cpus
                .clone()
                .map(|c| bits_for(m.sb_capacity(c) + 1))
                .max()
                .unwrap_or(0)
        } else {
            0
        };
        let reader_bits =
            READER_LOW_BITS + r_pc_bits + kvm as u32 + reader_locks as u32 + r_sb_bits;
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for (i, c) in reader_cpus.clone().enumerate() {
            let b = p.block_of[c as usize];
            match groups
                .iter_mut()
                .find(|g| p.block_of[FIRST_READER as usize + g[0]] == b)
            {
                Some(g) => g.push(i),
                None => groups.push(vec![i]),
            }
        }
        // A reader block whose every step could be reduced would let a cycle of the
        // reduced graph skip full expansion (C3): such a block is never reduced.
        let mut reduction: Vec<Reduction> = p
            .code
            .iter()
            .map(|i| i.op.footprint().reduction())
            .collect();
        for g in &groups {
            let (s, e) = p.blocks[p.block_of[FIRST_READER as usize + g[0]] as usize];
            let r = &mut reduction[s as usize..e as usize];
            if !r.contains(&Reduction::Never) {
                r.fill(Reduction::Never);
            }
        }
        let bits = 3
            + 2
            + 1
            + 1
            + 1
            + 1
            + 2
            + writers[0].2
            + writers[1].2
            + 3 * (w_sb[0] + w_sb[1])
            + 1
            + idle_bits
            + reader_bits * readers as u32
            + words.as_ref().map_or(0, |w| {
                w.slots as u32 * w.slot_bits + 4 * w.caps.iter().sum::<u32>()
            });
        // `unpack` stages the words' slots in a 64-entry array.
        if bits > 128 || words.as_ref().is_some_and(|w| w.slots > 64) {
            return Err(CheckError::TooLarge {
                bits: bits.max(129),
            });
        }
        Ok(Layout {
            readers,
            reader_bits,
            kvm,
            reader_locks,
            idle,
            idle_bits,
            old: m.history()[0],
            new: *m.history().last().expect("a history has the old value"),
            last_ver: m.history().len() as u8 - 1,
            writers,
            r_pc_bits,
            r_base,
            groups,
            reduction,
            w_sb,
            r_sb_bits,
            tso,
            words,
        })
    }

    fn val_code(v: u32, old: u32, new: u32) -> u128 {
        if v == 0 {
            0
        } else if v == old {
            1
        } else {
            debug_assert_eq!(v, new, "a register holds a value the PMD never had");
            2
        }
    }
    fn code_val(c: u128, old: u32, new: u32) -> u32 {
        match c {
            0 => 0,
            1 => old,
            _ => new,
        }
    }

    pub(super) fn pack(&self, m: &Machine, symmetry: bool) -> u128 {
        // Decided once per state, not once per field: under SC no store-buffer branch
        // is taken at all.
        if self.tso {
            self.pack_as::<true>(m, symmetry)
        } else {
            self.pack_as::<false>(m, symmetry)
        }
    }

    #[inline(always)]
    fn pack_as<const T: bool>(&self, m: &Machine, symmetry: bool) -> u128 {
        let st = m.state();
        let mut x: u128 = 0;
        let mut push = |v: u128, n: u32| {
            x = (x << n) | v;
        };
        push(st.ver as u128, 3);
        push(
            match st.ptl {
                NO_CPU => 0,
                COLLAPSER => 1,
                POPULATOR => 2,
                _ => 3,
            },
            2,
        );
        push(st.ipi as u128, 1);
        push(st.flush_sent_ipi as u128, 1);
        push(st.installed as u128, 1);
        push(st.allocated as u128, 1);
        push(st.old_table as u128, 2);
        for (w, &(base, len, bits)) in self.writers.iter().enumerate() {
            let pc = st.pc[w];
            push(if pc == DONE { len } else { pc - base } as u128, bits);
        }
        if T {
            for (w, &cap) in self.w_sb.iter().enumerate() {
                // 4-bit store codes, 1..=5, repacked in 3 bits each; 0 is an empty slot.
                let b = st.sb.get(w).map_or(0, |b| b.0);
                let mut v = 0u128;
                for i in 0..cap {
                    v |= (((b >> (4 * i)) & 7) as u128) << (3 * i);
                }
                push(v, 3 * cap);
            }
        }
        push((st.pending >> POPULATOR) as u128 & 1, 1);
        let idle_first = FIRST_READER as u64 + self.readers as u64;
        let idle_mask = if self.idle == 0 {
            0
        } else {
            ((1u64 << self.idle) - 1) << idle_first
        };
        push(
            (st.pending & idle_mask).count_ones() as u128,
            self.idle_bits,
        );
        let mut rs = [0u32; 9];
        let pcb = self.r_pc_bits;
        for (i, r) in st.regs.iter().enumerate() {
            let cpu = FIRST_READER as usize + i;
            let b = |m: u64| (m >> cpu) as u32 & 1;
            let pc = (st.pc[cpu] - self.r_base[i]) as u32;
            let lo = Self::val_code(r.low, self.old.low, self.new.low) as u32;
            let hi = Self::val_code(r.high, self.old.high, self.new.high) as u32;
            let fv = if r.first_ver == NO_VER {
                7
            } else {
                r.first_ver as u32
            };
            let mut top = 0;
            if T && self.r_sb_bits > 0 {
                top = st.sb.get(cpu).map_or(0, |b| b.len());
            }
            if self.kvm {
                top = top << 1 | b(st.preempted);
            }
            if self.reader_locks {
                top = top << 1 | (st.ptl as usize == cpu) as u32;
            }
            rs[i] = top << (READER_LOW_BITS + pcb)
                | pc << READER_LOW_BITS
                | lo << 8
                | hi << 6
                | fv << 3
                | b(st.irq_off) << 2
                | b(st.pending) << 1
                | b(st.qs);
        }
        let rs = &mut rs[..self.readers];
        if symmetry {
            if self.groups.len() == 1 {
                rs.sort_unstable();
            } else {
                for g in &self.groups {
                    let mut v: Vec<u32> = g.iter().map(|&i| rs[i]).collect();
                    v.sort_unstable();
                    for (&i, w) in g.iter().zip(v) {
                        rs[i] = w;
                    }
                }
            }
        }
        for &r in rs.iter() {
            push(r as u128, self.reader_bits);
        }
        if let Some(w) = &self.words {
            for &v in &st.words[..w.slots] {
                push(v.min(w.unset) as u128, w.slot_bits);
            }
            if T {
                for (c, &cap) in w.caps.iter().enumerate() {
                    let b = st.sb.get(c).map_or(0, |b| b.0) as u128;
                    push(b & ((1u128 << (4 * cap)) - 1), 4 * cap);
                }
            }
        }
        x
    }

    pub(super) fn unpack(&self, x: u128, m: &mut Machine) {
        if self.tso {
            self.unpack_as::<true>(x, m)
        } else {
            self.unpack_as::<false>(x, m)
        }
    }

    #[inline(always)]
    fn unpack_as<const T: bool>(&self, x: u128, m: &mut Machine) {
        let mut x = x;
        let mut pop = |n: u32| {
            let v = x & ((1u128 << n) - 1);
            x >>= n;
            v
        };
        let mut sb_all = [0u32; 64];
        let mut slots = [0u8; 64];
        if let Some(w) = &self.words {
            if T {
                for c in (0..w.caps.len()).rev() {
                    sb_all[c] = pop(4 * w.caps[c]) as u32;
                }
            }
            for i in (0..w.slots).rev() {
                let v = pop(w.slot_bits) as u8;
                slots[i] = if v == w.unset {
                    crate::program::UNSET
                } else {
                    v
                };
            }
        }
        let mut rs = [0u32; 9];
        for i in (0..self.readers).rev() {
            rs[i] = pop(self.reader_bits) as u32;
        }
        let idle_pending = pop(self.idle_bits) as u64;
        let pop_pending = pop(1) as u64;
        let mut wsb = [0u32; 2];
        if T {
            for w in (0..2).rev() {
                let cap = self.w_sb[w];
                let v = pop(3 * cap);
                for i in 0..cap {
                    wsb[w] |= (((v >> (3 * i)) & 7) as u32) << (4 * i);
                }
            }
        }
        let mut wpc = [0u8; 2];
        for w in (0..2).rev() {
            let (base, len, bits) = self.writers[w];
            let v = pop(bits) as u8;
            wpc[w] = if v == len { DONE } else { base + v };
        }
        let old_table = match pop(2) {
            0 => TableState::Live,
            1 => TableState::FreeQueued,
            _ => TableState::Freed,
        };
        let allocated = pop(1) == 1;
        let installed = pop(1) == 1;
        let flush_sent_ipi = pop(1) == 1;
        let ipi = if pop(1) == 1 {
            crate::machine::IpiKind::Sync
        } else {
            crate::machine::IpiKind::Flush
        };
        let ptl_code = pop(2);
        let ver = pop(3) as u8;
        let pmd = m.history()[ver as usize];
        let (old, new) = (self.old, self.new);
        let readers = self.readers;
        let idle_first = FIRST_READER as u64 + readers as u64;
        let pcb = self.r_pc_bits;
        m.edit_state(|st| {
            st.pmd = pmd;
            st.ver = ver;
            st.ptl = match ptl_code {
                0 => NO_CPU,
                1 => COLLAPSER,
                2 => POPULATOR,
                // A reader: the one whose word says it owns the PTL (below).
                _ => NO_CPU,
            };
            st.ipi = ipi;
            st.flush_sent_ipi = flush_sent_ipi;
            st.installed = installed;
            st.allocated = allocated;
            st.old_table = old_table;
            st.pc[COLLAPSER as usize] = wpc[0];
            st.pc[POPULATOR as usize] = wpc[1];
            if let Some(w) = &self.words {
                st.words.copy_from_slice(&slots[..w.slots]);
                if T {
                    for (c, b) in st.sb.iter_mut().enumerate() {
                        *b = crate::machine::StoreBuffer(sb_all[c]);
                    }
                }
            } else if T {
                st.sb[COLLAPSER as usize] = crate::machine::StoreBuffer(wsb[0]);
                st.sb[POPULATOR as usize] = crate::machine::StoreBuffer(wsb[1]);
            }
            let idle = if idle_pending == 0 {
                0
            } else {
                ((1u64 << idle_pending) - 1) << idle_first
            };
            let (mut irq, mut pend, mut qs, mut pre) =
                (0u64, pop_pending << POPULATOR | idle, 0u64, 0u64);
            for (i, &r) in rs[..readers].iter().enumerate() {
                let cpu = FIRST_READER as usize + i;
                let mut top = r >> (READER_LOW_BITS + pcb);
                if self.reader_locks {
                    if top & 1 == 1 {
                        st.ptl = cpu as u8;
                    }
                    top >>= 1;
                }
                // Without store buffers `top` is the preempted bit alone (zero
                // unless kvm); with them, the buffer's length sits above it.
                if !T {
                    pre |= (top as u64 & 1) << cpu;
                } else if self.kvm {
                    pre |= (top as u64 & 1) << cpu;
                    top >>= 1;
                }
                if T && self.r_sb_bits > 0 {
                    // `top` is now the buffer's length: that many unlocks.
                    let mut b = crate::machine::StoreBuffer::default();
                    for _ in 0..top {
                        b.push(crate::machine::Store::PtlFree);
                    }
                    st.sb[cpu] = b;
                }
                st.pc[cpu] = self.r_base[i] + ((r >> READER_LOW_BITS) & ((1 << pcb) - 1)) as u8;
                let fv = ((r >> 3) & 7) as u8;
                st.regs[i] = Regs {
                    low: Self::code_val(((r >> 8) & 3) as u128, old.low, new.low),
                    high: Self::code_val(((r >> 6) & 3) as u128, old.high, new.high),
                    first_ver: if fv == 7 { NO_VER } else { fv },
                };
                irq |= ((r >> 2) as u64 & 1) << cpu;
                pend |= ((r >> 1) as u64 & 1) << cpu;
                qs |= (r as u64 & 1) << cpu;
            }
            st.irq_off = irq;
            st.pending = pend;
            st.qs = qs;
            st.preempted = pre;
        });
    }
}

pub(super) fn mix(x: u128) -> u64 {
    let a = (x as u64) ^ ((x >> 64) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let a = (a ^ (a >> 32)).wrapping_mul(0xd6e8_feb8_6659_fd93);
    a ^ (a >> 29)
}
