//! Shared words: the variables a scenario's `WRITE_ONCE()`, `READ_ONCE()` and `xchg()`
//! name, the registers those load, the few values either can hold, and the `exists`
//! condition over them. The compiler builds one [`Words`] per program; the machine's
//! steps and drains, the checker's packing and final states, and traces read it.
//!
//! A state keeps them as one byte per slot ([`crate::machine::State::words`]): each
//! shared word, then each CPU's registers. A slot holds an index into
//! [`Words::values`], or [`UNSET`] for a register nothing has loaded yet: every value a
//! word can take is a constant of the program, so the checker packs a slot in a few bits.

use crate::scenario::syntax::{Cond, Loc, ScenarioError, Span};

/// A register no step has set: it equals no value in a condition.
pub const UNSET: u8 = u8::MAX;
/// "No register": an `xchg()` whose old value is dropped.
pub const NO_REG: u8 = u8::MAX;
/// Distinct stores (word, value) a program may buffer: the store buffer's 4-bit codes
/// left after the PMD's and the lock's.
pub const MAX_STORES: usize = 10;
/// Distinct values, shared words and registers per block a program may use: the
/// checker packs every slot of a state in 128 bits with the rest of the machine.
pub const MAX_VALUES: usize = 15;
pub const MAX_VARS: usize = 8;
pub const MAX_REGS: usize = 8;

/// What a step on a shared word touches, by pc.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Access {
    /// The word's index.
    pub var: u8,
    /// The value stored or exchanged in, as an index into [`Words::values`].
    pub value: u8,
    /// The register loaded (an index among its block's), or [`NO_REG`].
    pub reg: u8,
    /// The store's index in [`Words::stores`] (its store-buffer code less six).
    pub store: u8,
}

/// A program's shared words and registers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Words {
    /// The words' names, declared ones first.
    pub vars: Vec<String>,
    /// Every value a slot can hold, 0 first.
    pub values: Vec<u32>,
    /// Each word's first value (an index into `values`).
    pub init: Vec<u8>,
    /// Each block's registers, by name.
    pub regs: Vec<Vec<String>>,
    /// Each CPU's first register slot (after the words), and its block (`u8::MAX`:
    /// an idle CPU, with no registers).
    pub base: Vec<(u16, u8)>,
    /// Slots in all.
    pub len: usize,
    /// By pc: what a word step there touches.
    pub access: Vec<Access>,
    /// The (word, value) pairs a plain store writes: what a buffered one is.
    pub stores: Vec<(u8, u8)>,
    /// The `exists` clause's condition on final states.
    pub cond: Option<Cond>,
}

impl Words {
    /// The slots at the start of a run.
    pub fn initial(&self) -> Vec<u8> {
        let mut v = vec![0; self.len];
        self.reset(&mut v);
        v
    }

    /// Puts `slots` (of [`Words::len`]) back to the start of a run, in place: what every
    /// run's reset does, so it allocates nothing.
    pub fn reset(&self, slots: &mut [u8]) {
        let (vars, regs) = slots.split_at_mut(self.init.len());
        vars.copy_from_slice(&self.init);
        regs.fill(UNSET);
    }

    /// The value a slot holds (`None`: an unset register).
    pub fn value(&self, slot: u8) -> Option<u32> {
        self.values.get(slot as usize).copied()
    }

    /// The slot `loc` names, if the program has it.
    pub fn slot(&self, loc: &Loc) -> Option<usize> {
        match loc {
            Loc::Var(n) => self.vars.iter().position(|v| v == n),
            Loc::Reg { cpu, name } => {
                let &(base, block) = self.base.get(*cpu as usize)?;
                let i = self
                    .regs
                    .get(block as usize)?
                    .iter()
                    .position(|r| r == name)?;
                Some(base as usize + i)
            }
        }
    }

    /// Whether the condition holds in `slots` (false without a condition).
    pub fn holds(&self, slots: &[u8]) -> bool {
        self.cond.as_ref().is_some_and(|c| {
            c.eval(&|loc: &Loc| {
                self.slot(loc)
                    .and_then(|s| slots.get(s))
                    .and_then(|&v| self.value(v))
            })
        })
    }

    /// A buffered store in kernel terms: `x = 1`.
    pub fn store_text(&self, k: u8) -> String {
        match self.stores.get(k as usize) {
            Some(&(var, value)) => self.assign_text(var, value),
            None => "?".into(),
        }
    }

    /// Word `var` taking value `value` (indices), in kernel terms: `x = 1`.
    pub fn assign_text(&self, var: u8, value: u8) -> String {
        format!(
            "{} = {}",
            self.vars[var as usize], self.values[value as usize]
        )
    }

    /// Each slot named and valued, for a trace: `x = 1`, `P2:r0 = 0` (`-`: unset).
    pub fn text(&self, slots: &[u8]) -> Vec<(String, String)> {
        let show = |s: u8| self.value(s).map_or("-".into(), |v| v.to_string());
        let mut out: Vec<(String, String)> = self
            .vars
            .iter()
            .zip(slots)
            .map(|(n, &s)| (n.clone(), show(s)))
            .collect();
        for (cpu, &(base, block)) in self.base.iter().enumerate() {
            if let Some(regs) = self.regs.get(block as usize) {
                for (i, r) in regs.iter().enumerate() {
                    let s = slots.get(base as usize + i).copied().unwrap_or(UNSET);
                    out.push((format!("P{cpu}:{r}"), show(s)));
                }
            }
        }
        out
    }
}

/// Builds a [`Words`] while the compiler walks the blocks.
#[derive(Default)]
pub(crate) struct Builder {
    vars: Vec<String>,
    values: Vec<u32>,
    init: Vec<u8>,
    regs: Vec<Vec<String>>,
    access: Vec<(usize, Access)>,
    stores: Vec<(u8, u8)>,
    /// Words some step writes.
    written: Vec<bool>,
    used: bool,
}

impl Builder {
    pub(crate) fn new(init: &[(String, u32, Span)]) -> Result<Builder, ScenarioError> {
        let mut b = Builder::default();
        b.value(0, Span::default())?;
        for (name, v, span) in init {
            let var = b.var(name, *span)?;
            b.init[var as usize] = b.value(*v, *span)?;
        }
        b.used = !init.is_empty();
        Ok(b)
    }

    fn value(&mut self, v: u32, span: Span) -> Result<u8, ScenarioError> {
        if let Some(i) = self.values.iter().position(|&x| x == v) {
            return Ok(i as u8);
        }
        if self.values.len() == MAX_VALUES {
            return Err(ScenarioError::at(
                span,
                format!("more than {MAX_VALUES} distinct values on shared words: the checker packs each in a few bits"),
            ));
        }
        self.values.push(v);
        Ok(self.values.len() as u8 - 1)
    }

    fn var(&mut self, name: &str, span: Span) -> Result<u8, ScenarioError> {
        if let Some(i) = self.vars.iter().position(|x| x == name) {
            return Ok(i as u8);
        }
        if self.vars.len() == MAX_VARS {
            return Err(ScenarioError::at(
                span,
                format!("more than {MAX_VARS} shared words"),
            ));
        }
        self.vars.push(name.to_string());
        self.init.push(0);
        self.written.push(false);
        Ok(self.vars.len() as u8 - 1)
    }

    /// Starts a block's registers.
    pub(crate) fn block(&mut self) {
        self.regs.push(Vec::new());
    }

    fn reg(&mut self, name: &str, span: Span) -> Result<u8, ScenarioError> {
        let regs = self.regs.last_mut().expect("a block was started");
        if let Some(i) = regs.iter().position(|x| x == name) {
            return Ok(i as u8);
        }
        if regs.len() == MAX_REGS {
            return Err(ScenarioError::at(
                span,
                format!("more than {MAX_REGS} registers in one block"),
            ));
        }
        regs.push(name.to_string());
        Ok(regs.len() as u8 - 1)
    }

    /// Records the word step at `pc`: its word, the value it writes (a store or an
    /// exchange), the register it loads; returns what it recorded.
    pub(crate) fn access(
        &mut self,
        pc: usize,
        var: &(String, Span),
        value: Option<(u32, Span)>,
        reg: Option<&(String, Span)>,
        buffered: bool,
    ) -> Result<Access, ScenarioError> {
        self.used = true;
        let v = self.var(&var.0, var.1)?;
        let mut a = Access {
            var: v,
            value: 0,
            reg: NO_REG,
            store: 0,
        };
        if let Some((x, span)) = value {
            a.value = self.value(x, span)?;
            self.written[v as usize] = true;
            if buffered {
                let s = (v, a.value);
                a.store = match self.stores.iter().position(|&t| t == s) {
                    Some(i) => i as u8,
                    None if self.stores.len() == MAX_STORES => {
                        return Err(ScenarioError::at(
                            span,
                            format!("more than {MAX_STORES} distinct plain stores to shared words: the store buffer codes each in 4 bits"),
                        ))
                    }
                    None => {
                        self.stores.push(s);
                        self.stores.len() as u8 - 1
                    }
                };
            }
        }
        if let Some((r, span)) = reg {
            a.reg = self.reg(r, *span)?;
        }
        self.access.push((pc, a));
        Ok(a)
    }

    /// The finished table, or `None` for a program without shared words. `block_of` is
    /// each CPU's block (`u8::MAX`: idle).
    pub(crate) fn finish(
        self,
        block_of: &[u8],
        cond: Option<&Cond>,
    ) -> Result<Option<Box<Words>>, ScenarioError> {
        if !self.used && cond.is_none() {
            return Ok(None);
        }
        let mut base = Vec::new();
        let mut next = self.vars.len();
        for &b in block_of {
            base.push((next as u16, b));
            next += self.regs.get(b as usize).map_or(0, |r| r.len());
        }
        // By pc: the classic machine's pcs are bytes; the general machine's steps carry
        // their access themselves, and its pcs only index this table as far as they go.
        let len = self
            .access
            .iter()
            .map(|(pc, _)| pc + 1)
            .max()
            .unwrap_or(0)
            .max(256);
        let mut access = vec![Access::default(); len];
        for (pc, a) in &self.access {
            access[*pc] = *a;
        }
        let w = Words {
            vars: self.vars,
            values: self.values,
            init: self.init,
            regs: self.regs,
            base,
            len: next,
            access,
            stores: self.stores,
            cond: cond.cloned(),
        };
        if let Some(c) = cond {
            for (loc, _, span) in c.atoms() {
                let known = w.slot(loc).is_some();
                let msg = match loc {
                    Loc::Var(n) if !known || !self.written[w.slot(loc).unwrap_or(0)] => {
                        format!("no CPU writes the shared word '{n}': the condition would test its first value only")
                    }
                    Loc::Reg { cpu, .. } if (*cpu as usize) >= block_of.len() => {
                        format!(
                            "there is no CPU{cpu} (the machine has {} CPUs)",
                            block_of.len()
                        )
                    }
                    Loc::Reg { cpu, name } if !known => {
                        format!("P{cpu} loads nothing into '{name}': its block has no '{name} = READ_ONCE(…);' or '{name} = xchg(…);'")
                    }
                    _ => continue,
                };
                return Err(ScenarioError::at(span, msg));
            }
        }
        Ok(Some(Box::new(w)))
    }
}
