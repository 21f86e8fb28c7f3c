//! `memory = tso` on the general machine: each CPU's FIFO store buffer, what a CPU sees
//! through it (its own newest stores over memory), the step that drains its oldest
//! store, and when a step must wait for it. Which step is buffered, locked or a fence
//! is [`GOp::tso`]'s to say; this file only applies it. One more `impl` of
//! [`GMachine`].

use super::ir::{Buffered, GOp};
use super::machine::GMachine;
use crate::prim::Tso;

impl GMachine {
    /// A buffered store in kernel terms.
    pub fn buffered_text(&self, b: &Buffered) -> String {
        match *b {
            Buffered::Unlock(_) => "spin_unlock(): the lock word".into(),
            Buffered::Word { var, value } => self.word_store_text(var, value),
            Buffered::Entry { entry, mask, value } => {
                let name = self.prog.entry_name(entry as usize);
                match mask {
                    0xffff_ffff => format!("{name} low word = {:#x}", value as u32),
                    0xffff_ffff_0000_0000 => format!("{name} high word = {:#x}", value >> 32),
                    _ => format!("{name} = {}", self.value_text(value)),
                }
            }
        }
    }

    pub fn is_tso(&self) -> bool {
        self.tso
    }

    /// Entry `e` as `cpu` loads it: memory, overlaid by its own buffered stores to it
    /// in program order (x86-TSO's store forwarding).
    #[inline(always)]
    pub(super) fn seen(&self, cpu: u8, e: usize) -> u64 {
        crate::rules::seen(self, cpu, e)
    }

    /// Why the buffer holds `cpu`'s next step `op` back, if it does: a locked,
    /// fencing or serializing step waits for an empty buffer; a store waits while the
    /// buffer is full (as many stores as the block has store instructions: a bound that
    /// keeps the search finite and that a run through the block never exceeds without
    /// a locked step between).
    pub(super) fn buffer_blocks(&self, cpu: u8, op: GOp) -> Option<&'static str> {
        if !self.is_tso() {
            return None;
        }
        let len = self.st.sb[cpu as usize].len();
        let class = op.tso(&self.prog.cfg);
        if !crate::rules::buffer_holds(class, len, self.sb_cap[cpu as usize] as usize) {
            None
        } else if class.waits_for_buffer() {
            Some("waits for its store buffer to drain (a locked or serializing step)")
        } else {
            Some("waits for a place in its full store buffer")
        }
    }

    /// Puts a store in `cpu`'s buffer if the step is a buffered one under TSO; else
    /// the caller stores to memory at once.
    pub(super) fn buffers(&self, op: GOp) -> bool {
        self.is_tso() && op.tso(&self.prog.cfg) == Tso::Buffered
    }

    /// The oldest store in `cpu`'s buffer reaches memory.
    pub(super) fn drain_one(&mut self, cpu: u8) {
        let b = self.st.sb[cpu as usize].remove(0);
        match b {
            Buffered::Entry { entry, mask, value } => {
                crate::rules::write_bits(self, entry as usize, mask, value)
            }
            Buffered::Unlock(l) => crate::rules::release(self, l as usize),
            Buffered::Word { var, value } => crate::rules::drain_word(self, (var, value)),
        }
    }

    /// What draining `cpu`'s oldest store does, in kernel terms.
    pub(super) fn describe_drain(&self, cpu: u8) -> String {
        match self.st.sb[cpu as usize].first() {
            Some(b) => format!("drains {} to memory", self.buffered_text(b)),
            None => "drains nothing (its store buffer is empty)".into(),
        }
    }

    /// `cpu`'s buffered stores, oldest first, in kernel terms.
    pub fn buffer_text(&self, cpu: u8) -> Vec<String> {
        self.st.sb[cpu as usize]
            .iter()
            .map(|b| self.buffered_text(b))
            .collect()
    }
}
