//! The compiler's emitter: one block's statements lowered into instructions, with the
//! locals each block names (their kinds known at compile time), the locks held and the
//! interrupt state on the straight path, `if` arms, bounded `for` loops, `break` and
//! `return`; then the jumps threaded away so no CPU stands on one. Each call is lowered
//! by its primitive's row (`lower`).

use super::ir::*;
use super::lang::{Arg, Call, GStmt};
use super::world::World;
use crate::prim::general::R;
use crate::scenario::syntax::{ScenarioError, Span};
use std::collections::HashMap;

/// The most instructions a whole scenario compiles to: checked after every statement,
/// so unrolled loops (which multiply) stop as soon as they pass it.
pub(super) const MAX_CODE: usize = 4_000;

pub(super) fn err<T>(span: Span, msg: impl Into<String>) -> Result<T, ScenarioError> {
    Err(ScenarioError::at(span, msg))
}

/// A local's kind, known when the block is compiled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Local {
    Value(u8),
    Table(u8),
    Lock(LockSrc),
}

/// Where a value local's or table local's value came from, for `gup_return()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Origin {
    Pmd(u8),
    Pte(u8, u8),
}

pub(super) struct Emitter<'a> {
    pub(super) cfg: &'a GConfig,
    pub(super) world: &'a mut World,
    /// The file's shared words and registers, built across its blocks.
    pub(super) words: &'a mut crate::program::words::Builder,
    pub(super) code: Vec<GInstr>,
    pub(super) locals: HashMap<String, Local>,
    pub(super) names: Vec<String>,
    pub(super) origin: HashMap<u8, Origin>,
    pub(super) walker: bool,
    /// Locks held and interrupts off on the straight path being compiled.
    pub(super) held: Vec<LockSrc>,
    pub(super) irq_off: bool,
    /// `for` loops: their counter's value, and the pcs of their `break`s with the locks
    /// held where the loop began.
    pub(super) counters: Vec<(String, u32)>,
    pub(super) breaks: Vec<(Vec<usize>, Vec<LockSrc>, bool)>,
    pub(super) returns: Vec<usize>,
    /// The straight path ended in `break` or `return`: what follows is unreachable.
    pub(super) ended: bool,
    /// A run of raw half loads (`read_pmd_low()` …): its first pc.
    pub(super) run_start: Option<usize>,
    pub(super) prim: u16,
    pub(super) line: u32,
}

impl Emitter<'_> {
    pub(super) fn push(&mut self, op: GOp) -> usize {
        let i = self.code.len();
        let n = (i + 1) as u16;
        self.code.push(GInstr {
            op,
            next: n,
            alt: n,
            line: self.line,
            prim: self.prim,
            live: 0,
        });
        i
    }

    pub(super) fn slot(&mut self, name: &str, kind: fn(u8) -> Local) -> Result<u8, String> {
        if let Some(l) = self.locals.get(name) {
            return match (l, kind(0)) {
                (Local::Value(s), Local::Value(_)) | (Local::Table(s), Local::Table(_)) => Ok(*s),
                _ => Err(format!(
                    "'{name}' already holds something else in this block"
                )),
            };
        }
        if self.names.len() >= 32 {
            return Err("a block has at most 32 locals".into());
        }
        let s = self.names.len() as u8;
        self.names.push(name.to_string());
        self.locals.insert(name.to_string(), kind(s));
        Ok(s)
    }

    pub(super) fn dest(
        &mut self,
        name: &str,
        kind: fn(u8) -> Local,
        span: Span,
    ) -> Result<u8, ScenarioError> {
        self.slot(name, kind)
            .map_err(|m| ScenarioError::at(span, m))
    }

    /// A value local, by name, that some earlier line set.
    pub(super) fn value(&self, name: &str, span: Span) -> Result<u8, ScenarioError> {
        match self.locals.get(name) {
            Some(Local::Value(s)) => Ok(*s),
            Some(_) => err(span, format!("'{name}' is not an entry's value")),
            None => err(span, format!("'{name}' is not set before this line (set it with a read such as '{name} = pmdp_get_lockless(pmd);')")),
        }
    }

    pub(super) fn pmd(&self, name: &str, span: Span) -> Result<u8, ScenarioError> {
        self.world.pmd_names.get(name).copied().ok_or_else(|| {
            let known: Vec<&str> = self.world.pmds.iter().map(|p| p.0.as_str()).collect();
            ScenarioError::at(
                span,
                format!(
                    "there is no PMD '{name}' (declared: {}; declare one as 'pmd {name} = none;')",
                    known.join(", ")
                ),
            )
        })
    }

    pub(super) fn table(&self, name: &str, span: Span) -> Result<TableSrc, ScenarioError> {
        match self.locals.get(name) {
            Some(Local::Table(s)) => Ok(TableSrc::Local(*s)),
            Some(Local::Value(s)) => Ok(TableSrc::OfValue(*s)),
            Some(Local::Lock(_)) => err(span, format!("'{name}' is a lock, not a table")),
            None => match self.world.table_names.get(name) {
                Some(&t) => Ok(TableSrc::Fixed(t)),
                None => err(span, format!("'{name}' is not a table: a local set by pte_alloc_one() or pte_offset_map(), a value that points to one, or a declared table")),
            },
        }
    }

    pub(super) fn page(&self, name: &str, span: Span) -> Result<PageSrc, ScenarioError> {
        match self.locals.get(name) {
            Some(Local::Value(s)) => Ok(PageSrc::OfValue(*s)),
            Some(_) => err(span, format!("'{name}' is not a page or a value that maps one")),
            None => match self.world.page_names.get(name) {
                Some(&p) => Ok(PageSrc::Fixed(p)),
                None => err(span, format!("'{name}' is not a page: declare it ('page {name} = 1;') or read a PTE that maps it")),
            },
        }
    }

    pub(super) fn index(&self, a: &Arg) -> Result<u8, ScenarioError> {
        let v = match a {
            Arg::Num(n, _) => *n,
            Arg::Name(n, s) => match self.counters.iter().rev().find(|(c, _)| c == n) {
                Some((_, v)) => *v,
                None => {
                    return err(
                        *s,
                        format!("'{n}' is not a PTE index: a number, or a for loop's counter"),
                    )
                }
            },
        };
        if v as usize >= PTES {
            return err(
                a.span(),
                format!("a table has PTEs 0 to {} in this model", PTES - 1),
            );
        }
        Ok(v as u8)
    }

    pub(super) fn name_arg<'b>(
        &self,
        a: &'b Arg,
        what: &str,
    ) -> Result<(&'b str, Span), ScenarioError> {
        match a {
            Arg::Name(n, s) => Ok((n.as_str(), *s)),
            Arg::Num(_, s) => err(*s, format!("expected {what}, found a number")),
        }
    }

    /// The default PMD of the classic forms.
    pub(super) fn default_pmd(&self, span: Span) -> Result<u8, ScenarioError> {
        self.pmd("pmd", span)
    }

    /// Closes a run of raw half loads: its last plain load returns the read.
    pub(super) fn end_run(&mut self) {
        if self.run_start.take().is_some() {
            if let Some(last) = self.code.last_mut() {
                if let GOp::Load {
                    entry,
                    step: LoadStep::Part(h),
                    dest,
                } = last.op
                {
                    last.op = GOp::Load {
                        entry,
                        step: LoadStep::Last(h),
                        dest,
                    };
                }
            }
        }
    }

    pub(super) fn stmts(&mut self, v: &[GStmt]) -> Result<(), ScenarioError> {
        for s in v {
            if self.ended {
                return err(stmt_span(s), "this line is never reached: the one before it leaves with 'break;' or 'return;'");
            }
            self.stmt(s)?;
            // Unrolled loops multiply: stop as soon as the code is too long, not after.
            if self.code.len() > MAX_CODE {
                return err(
                    stmt_span(s),
                    format!(
                        "the scenario compiles to more than {MAX_CODE} steps (loops are unrolled)"
                    ),
                );
            }
        }
        Ok(())
    }

    pub(super) fn stmt(&mut self, s: &GStmt) -> Result<(), ScenarioError> {
        match s {
            GStmt::Call { dest, call } => {
                let row = self.row(call)?;
                if row.ret == R::Cond {
                    return err(
                        call.span,
                        format!(
                            "{}() is a condition: write it as 'if ({}(…))'",
                            call.name, call.name
                        ),
                    );
                }
                self.line = call.span.line;
                self.lower(row, call, dest.as_ref())?;
                Ok(())
            }
            GStmt::If {
                negated,
                cond,
                then,
                other,
            } => {
                let row = self.row(cond)?;
                if row.ret != R::Cond {
                    return err(
                        cond.span,
                        format!("{}() is a statement, not a condition", cond.name),
                    );
                }
                self.end_run();
                self.line = cond.span.line;
                let at = self.lower(row, cond, None)?;
                // A trylock holds its lock on the taken arm only.
                let mut state_else = (self.held.clone(), self.irq_off);
                if let GOp::Trylock(l) = self.code[at].op {
                    if let Some(i) = state_else.0.iter().rposition(|h| *h == l) {
                        state_else.0.remove(i);
                    }
                }
                let (held_then, irq_then) = (self.held.clone(), self.irq_off);
                let (yes_held, no_held) = if *negated {
                    (state_else.clone(), (held_then, irq_then))
                } else {
                    ((held_then, irq_then), state_else.clone())
                };
                (self.held, self.irq_off) = yes_held;
                self.ended = false;
                self.stmts(then)?;
                self.end_run();
                let then_ended = std::mem::take(&mut self.ended);
                let skip = if other.is_empty() {
                    None
                } else {
                    Some(self.push(GOp::Jump))
                };
                let mid = self.code.len();
                let after_then = (self.held.clone(), self.irq_off);
                (self.held, self.irq_off) = no_held;
                self.stmts(other)?;
                self.end_run();
                let else_ended = std::mem::take(&mut self.ended);
                let end = self.code.len();
                if let Some(j) = skip {
                    self.code[j].next = end as u16;
                    self.code[j].alt = end as u16;
                }
                match (then_ended, else_ended) {
                    (true, true) => self.ended = true,
                    (true, false) => {}
                    (false, true) => (self.held, self.irq_off) = after_then,
                    (false, false) => {
                        if (self.held.clone(), self.irq_off) != after_then {
                            return err(cond.span, "the two branches of this if leave locks or interrupts in different states");
                        }
                    }
                }
                let then_at = if mid > at + 1 { at + 1 } else { end };
                self.code[at].next = then_at as u16;
                self.code[at].alt = mid as u16;
                if *negated {
                    let c = &mut self.code[at];
                    (c.next, c.alt) = (c.alt, c.next);
                }
                Ok(())
            }
            GStmt::DoWhileInstalled { body, span } => {
                self.end_run();
                let start = self.code.len();
                self.stmts(body)?;
                self.end_run();
                let len = self.code.len();
                match self.code.last_mut() {
                    Some(GInstr {
                        op: GOp::Unlock { retry, .. },
                        alt,
                        ..
                    }) if len > start => {
                        *retry = true;
                        *alt = start as u16;
                        Ok(())
                    }
                    _ => err(*span, "the body of 'do { … } while (!installed);' must end with spin_unlock(): the retry drops the lock"),
                }
            }
            GStmt::For {
                var,
                from,
                to,
                body,
                span,
            } => {
                self.end_run();
                self.breaks
                    .push((Vec::new(), self.held.clone(), self.irq_off));
                for i in *from..*to {
                    self.counters.push((var.clone(), i));
                    let state = (self.held.clone(), self.irq_off);
                    self.stmts(body)?;
                    self.end_run();
                    self.counters.pop();
                    if std::mem::take(&mut self.ended) {
                        // The body always leaves: later rounds are unreachable.
                        (self.held, self.irq_off) = state;
                        break;
                    }
                    if (self.held.clone(), self.irq_off) != state {
                        return err(
                            *span,
                            "a loop's body must leave locks and interrupts as it found them",
                        );
                    }
                }
                let end = self.code.len();
                let (jumps, _, _) = self.breaks.pop().unwrap_or_default();
                for pc in jumps {
                    self.code[pc].next = end as u16;
                    self.code[pc].alt = end as u16;
                }
                Ok(())
            }
            GStmt::Break(span) => {
                let Some((_, held, irq)) = self.breaks.last() else {
                    return err(*span, "'break;' outside a for loop");
                };
                if (held, *irq) != (&self.held, self.irq_off) {
                    return err(
                        *span,
                        "'break;' with locks or interrupts not as they were where the loop began",
                    );
                }
                let pc = self.push(GOp::Jump);
                if let Some(b) = self.breaks.last_mut() {
                    b.0.push(pc);
                }
                self.ended = true;
                Ok(())
            }
            GStmt::Return(span) => {
                if !self.held.is_empty() || self.irq_off {
                    return err(
                        *span,
                        "'return;' with a lock held or interrupts off: release them first",
                    );
                }
                let pc = self.push(GOp::Jump);
                self.returns.push(pc);
                self.ended = true;
                Ok(())
            }
        }
    }

    pub(super) fn row(&self, call: &Call) -> Result<&'static crate::prim::Prim, ScenarioError> {
        crate::prim::lookup(&call.name).ok_or_else(|| {
            let near = crate::prim::nearest(&call.name)
                .map(|n| format!(" (did you mean {n}?)"))
                .unwrap_or_default();
            ScenarioError::at(
                call.span,
                format!("unknown primitive {}(){near}", call.name),
            )
        })
    }
}

/// Points every edge that lands on a [`GOp::Jump`] at where the jump goes, and a block
/// whose first instruction is a jump at its target: no CPU ever stands on a jump.
pub(super) fn thread_jumps(code: &mut [GInstr], ranges: &mut [(String, u16, u16, Vec<String>)]) {
    let resolve = |code: &[GInstr], mut t: u16| {
        // A walker made of jumps alone would chase them round its loop: give up after
        // as many as there are instructions (the caller then finds no step).
        for _ in 0..=code.len() {
            if (t as usize) >= code.len() || code[t as usize].op != GOp::Jump {
                return t;
            }
            t = code[t as usize].next;
        }
        DONE
    };
    for i in 0..code.len() {
        let (n, a) = (resolve(code, code[i].next), resolve(code, code[i].alt));
        code[i].next = n;
        code[i].alt = a;
    }
    for r in ranges.iter_mut() {
        if r.1 < r.2 {
            let s = resolve(code, r.1);
            if s == DONE || s >= r.2 {
                // The block is nothing but jumps: it has no step.
                r.1 = r.2;
            }
        }
    }
}

pub(super) fn stmt_span(s: &GStmt) -> Span {
    match s {
        GStmt::Call { call, .. } => call.span,
        GStmt::If { cond, .. } => cond.span,
        GStmt::DoWhileInstalled { span, .. } | GStmt::For { span, .. } => *span,
        GStmt::Break(s) | GStmt::Return(s) => *s,
    }
}
