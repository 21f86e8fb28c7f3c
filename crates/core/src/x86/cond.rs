//! The final condition of an X86 litmus test, and the `locations` it names: a
//! proposition over registers (`0:EAX=1`) and memory (`x=2`) with `~`, `/\`, `\/` and
//! parentheses.

use super::parse::{err, parse_int, reg_index, Parser, Piece};
use super::syntax::{Atom, Ins, Prop, REGS};
use crate::scenario::ScenarioError;

/// A parser of one level of the condition's grammar.
type Level<'a> = fn(&mut Parser<'a>, usize, &[Vec<Ins>]) -> Result<Prop, ScenarioError>;

impl<'a> Parser<'a> {
    /// `0:EAX` or `x` (or `[x]`), as in a condition or a `locations` list.
    /// `strict` (a condition's atom): the location must be written by the program.
    pub(super) fn location(
        &mut self,
        p: Piece,
        nthreads: usize,
        threads: &[Vec<Ins>],
        strict: bool,
    ) -> Result<(Option<u8>, u8), ScenarioError> {
        let src = self.src;
        let t = p.text;
        if let Some((proc_, reg)) = t.split_once(':') {
            let n = parse_int(
                Piece {
                    text: proc_.trim(),
                    at: p.at,
                },
                src,
                "a thread number",
            )?;
            if n < 0 || n as usize >= nthreads {
                return err(
                    src,
                    p.at,
                    t.len(),
                    format!("there is no P{n} (the test has {nthreads} threads)"),
                );
            }
            let Some(r) = reg_index(reg.trim()) else {
                return err(
                    src,
                    p.at,
                    t.len(),
                    format!("unknown register '{}'", reg.trim()),
                );
            };
            let written = threads[n as usize].iter().any(|i| i.sets().contains(&r));
            if strict && !written {
                return err(
                    src,
                    p.at,
                    t.len(),
                    format!(
                        "P{n} never writes {}: the condition would only see its initial value",
                        REGS[r as usize]
                    ),
                );
            }
            return Ok((Some(n as u8), r));
        }
        let name = t.trim_start_matches('[').trim_end_matches(']').trim();
        let known = self.vars.iter().position(|v| v == name);
        match known {
            Some(x) if self.writes[x] || !strict => Ok((None, x as u8)),
            Some(_) => err(
                src,
                p.at,
                t.len(),
                format!("no CPU writes '{name}': the condition would only see its initial value"),
            ),
            None => err(
                src,
                p.at,
                t.len(),
                format!("'{name}' is no location of this test"),
            ),
        }
    }

    /// A proposition: `~`, `/\`, `\/`, parentheses, `true`, `false`, atoms `0:EAX=1`, `x=2`.
    /// `\/` binds loosest, then `/\`, then `~`.
    pub(super) fn prop(&mut self, n: usize, threads: &[Vec<Ins>]) -> Result<Prop, ScenarioError> {
        self.chain(n, threads, "\\/", Self::conj, Prop::Or)
    }

    fn conj(&mut self, n: usize, threads: &[Vec<Ins>]) -> Result<Prop, ScenarioError> {
        self.chain(n, threads, "/\\", Self::unary, Prop::And)
    }

    /// `operand (op operand)*`, joined left to right.
    fn chain(
        &mut self,
        n: usize,
        threads: &[Vec<Ins>],
        op: &str,
        operand: Level<'a>,
        join: fn(Box<Prop>, Box<Prop>) -> Prop,
    ) -> Result<Prop, ScenarioError> {
        let mut left = operand(self, n, threads)?;
        loop {
            self.skip_space();
            if !self.rest().starts_with(op) {
                return Ok(left);
            }
            self.pos += op.len();
            let right = operand(self, n, threads)?;
            left = join(Box::new(left), Box::new(right));
        }
    }

    fn unary(&mut self, n: usize, threads: &[Vec<Ins>]) -> Result<Prop, ScenarioError> {
        self.depth += 1;
        let r = self.unary_inner(n, threads);
        self.depth -= 1;
        r
    }

    fn unary_inner(&mut self, n: usize, threads: &[Vec<Ins>]) -> Result<Prop, ScenarioError> {
        let src = self.src;
        self.skip_space();
        if self.depth > 64 {
            return err(
                src,
                self.pos,
                1,
                "the condition nests deeper than 64 levels",
            );
        }
        let r = self.rest();
        if let Some(stripped) = r.strip_prefix('~') {
            self.pos += r.len() - stripped.len();
            return Ok(Prop::Not(Box::new(self.unary(n, threads)?)));
        }
        if r.starts_with('(') {
            let open = self.pos;
            self.pos += 1;
            let p = self.prop(n, threads)?;
            self.skip_space();
            if !self.rest().starts_with(')') {
                return err(src, open, 1, "this '(' is never closed");
            }
            self.pos += 1;
            return Ok(p);
        }
        let end = r
            .find(|c: char| c.is_whitespace() || c == ')' || c == '/' || c == '\\')
            .unwrap_or(r.len());
        let word = Piece {
            text: &r[..end],
            at: self.pos,
        };
        self.pos += end;
        match word.text {
            "true" => return Ok(Prop::True),
            "false" => return Ok(Prop::False),
            "" => {
                return err(
                    src,
                    word.at,
                    1,
                    "expected a condition such as 0:EAX=1 or x=2",
                )
            }
            _ => {}
        }
        let Some(eq) = word.text.find('=') else {
            return err(
                src,
                word.at,
                word.text.len(),
                format!("expected LOC=VALUE, found '{}'", word.text),
            );
        };
        let loc = Piece {
            text: &word.text[..eq],
            at: word.at,
        };
        let val = parse_int(
            Piece {
                text: &word.text[eq + 1..],
                at: word.at + eq + 1,
            },
            src,
            "a whole number",
        )?;
        let (proc_, idx) = self.location(loc, n, threads, true)?;
        Ok(Prop::Atom(match proc_ {
            Some(p) => Atom::Reg(p, idx, val),
            None => Atom::Mem(idx, val),
        }))
    }
}
