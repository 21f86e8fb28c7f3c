//! Shared words and registers on the general machine: `WRITE_ONCE()` (a plain store,
//! buffered under TSO), `READ_ONCE()` (its CPU's own newest buffered store first, as
//! x86-TSO forwards), `xchg()` (locked), and the `exists` clause's condition on a
//! final state. The values and slots are the classic machine's
//! ([`crate::program::words::Words`], one byte a slot), so a classic file with words
//! means the same here. One more `impl` of [`GMachine`].

use super::ir::{Access, GOp, Words};
use super::machine::GMachine;
use crate::hazard::Hazard;
use crate::program::words::NO_REG;
use crate::rules;

impl GMachine {
    fn words(&self) -> &Words {
        self.prog
            .words
            .as_deref()
            .expect("a program with word steps has words")
    }

    /// The register slot of `cpu`'s register `reg`.
    pub(super) fn reg_slot(&self, cpu: u8, reg: u8) -> usize {
        self.words().base[cpu as usize].0 as usize + reg as usize
    }

    /// One word step of `cpu`.
    pub(super) fn word_step(&mut self, cpu: u8, op: GOp) {
        match op {
            GOp::WriteOnce(Access { var, value, .. }) => {
                let buffered = self.buffers(op);
                rules::write_once(self, cpu, (var, value), buffered);
            }
            GOp::ReadOnce(Access { var, reg, .. }) => {
                rules::read_once(self, cpu, var, reg);
            }
            GOp::Xchg(Access {
                var, value, reg, ..
            }) => {
                rules::xchg(self, cpu, var, value, reg);
            }
            _ => {}
        }
    }

    /// A final state the `exists` clause's condition describes: the run is over and
    /// the condition holds on the words and registers (it never holds without one).
    pub fn observed(&self) -> bool {
        self.prog
            .words
            .as_deref()
            .is_some_and(|w| self.finished() && w.holds(&self.st.words))
    }

    /// [`Hazard::Observed`] where the step just taken ended the run in a state the
    /// condition describes.
    pub(super) fn observe(&self) -> Option<Hazard> {
        self.observed().then_some(Hazard::Observed)
    }

    /// What a word step of `cpu` would do: `collapsing = 1`, `r0 = walking (0)`,
    /// `xchg x to 1, r0 = the old value (0)`.
    pub(super) fn describe_word(&self, cpu: u8, op: GOp) -> String {
        let w = self.words();
        let reg = |a: &Access| {
            let b = w.base[cpu as usize].1 as usize;
            w.regs[b][a.reg as usize].clone()
        };
        let val = |slot: u8| w.values[slot as usize];
        match op {
            GOp::WriteOnce(a) => self.word_store_text(a.var, a.value),
            GOp::ReadOnce(a) => format!(
                "{} = {} ({})",
                reg(&a),
                w.vars[a.var as usize],
                val(rules::seen_word(self, cpu, a.var))
            ),
            GOp::Xchg(a) if a.reg != NO_REG => format!(
                "xchg {} to {}, {} = the old value ({})",
                w.vars[a.var as usize],
                val(a.value),
                reg(&a),
                val(self.st.words[a.var as usize])
            ),
            GOp::Xchg(a) => format!("xchg {} to {}", w.vars[a.var as usize], val(a.value)),
            _ => String::new(),
        }
    }

    /// A buffered word store in kernel terms: `x = 1`.
    pub(super) fn word_store_text(&self, var: u8, value: u8) -> String {
        self.words().assign_text(var, value)
    }

    /// The shared words and registers, each named and valued (`-`: a register not set
    /// yet); empty for a program without them.
    pub fn words_text(&self) -> Vec<(String, String)> {
        self.prog
            .words
            .as_deref()
            .map(|w| w.text(&self.st.words))
            .unwrap_or_default()
    }
}
