//! The final condition of an X86 litmus test, and the `locations` it names: a
//! proposition over registers (`0:EAX=1`) and memory (`x=2`) with `~`, `/\`, `\/` and
//! parentheses.

use super::parse::{err, parse_int, reg_index, thread_number, Parser, Piece};
use super::syntax::{address, Atom, Prop};
use crate::scenario::ScenarioError;

/// A parser of one level of the condition's grammar.
type Level<'a> = fn(&mut Parser<'a>, usize) -> Result<Prop, ScenarioError>;

impl<'a> Parser<'a> {
    /// `0:EAX`, `P0:EAX` or `x` (or `[x]`), as in a condition or a `locations` list.
    pub(super) fn location(
        &mut self,
        p: Piece,
        nthreads: usize,
    ) -> Result<(Option<u8>, u8), ScenarioError> {
        let src = self.src;
        let t = p.text;
        if let Some((proc_, reg)) = t.split_once(':') {
            let n = thread_number(
                Piece {
                    text: proc_.trim(),
                    at: p.at,
                },
                src,
            )?;
            if n < 0 || n as usize >= nthreads {
                return err(
                    src,
                    p.at,
                    t.len(),
                    format!("there is no P{n} (the test has {nthreads} threads)"),
                );
            }
            let named = self
                .reg_names
                .get(n as usize)
                .map(|names| names.iter().position(|x| x == reg.trim()).map(|i| i as u8));
            let Some(r) = named.unwrap_or_else(|| reg_index(reg.trim())) else {
                return err(
                    src,
                    p.at,
                    t.len(),
                    format!("unknown register '{}'", reg.trim()),
                );
            };
            return Ok((Some(n as u8), r));
        }
        let name = t.trim_start_matches('[').trim_end_matches(']').trim();
        // A location no thread writes is herd7's too: the condition sees its first value.
        match self.vars.iter().position(|v| v == name) {
            Some(x) => Ok((None, x as u8)),
            None => err(
                src,
                p.at,
                t.len(),
                format!("'{name}' is no location of this test"),
            ),
        }
    }

    /// A proposition: `~` (or `not`), `/\`, `\/`, `=>`, parentheses, `true`, `false`,
    /// atoms `0:EAX=1`, `x=2`, `x == 2`, `x != 2`. As in herd7's grammar, `\/` binds
    /// loosest, then `/\`, then `=>` (to the right), then `~`.
    pub(super) fn prop(&mut self, n: usize) -> Result<Prop, ScenarioError> {
        self.chain(n, "\\/", Self::conj, Prop::Or)
    }

    fn conj(&mut self, n: usize) -> Result<Prop, ScenarioError> {
        self.chain(n, "/\\", Self::implies, Prop::And)
    }

    /// `a => b`, that is `~a \/ b`; `a => b => c` is `a => (b => c)`.
    fn implies(&mut self, n: usize) -> Result<Prop, ScenarioError> {
        let left = self.unary(n)?;
        self.skip_space();
        if !self.rest().starts_with("=>") {
            return Ok(left);
        }
        self.pos += 2;
        self.depth += 1;
        let right = self.implies(n);
        self.depth -= 1;
        Ok(Prop::Or(
            Box::new(Prop::Not(Box::new(left))),
            Box::new(right?),
        ))
    }

    /// `operand (op operand)*`, joined left to right.
    fn chain(
        &mut self,
        n: usize,
        op: &str,
        operand: Level<'a>,
        join: fn(Box<Prop>, Box<Prop>) -> Prop,
    ) -> Result<Prop, ScenarioError> {
        let mut left = operand(self, n)?;
        loop {
            self.skip_space();
            if !self.rest().starts_with(op) {
                return Ok(left);
            }
            self.pos += op.len();
            let right = operand(self, n)?;
            left = join(Box::new(left), Box::new(right));
        }
    }

    fn unary(&mut self, n: usize) -> Result<Prop, ScenarioError> {
        self.depth += 1;
        let r = self.unary_inner(n);
        self.depth -= 1;
        r
    }

    fn unary_inner(&mut self, n: usize) -> Result<Prop, ScenarioError> {
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
            return Ok(Prop::Not(Box::new(self.unary(n)?)));
        }
        if r.starts_with('(') {
            let open = self.pos;
            self.pos += 1;
            let p = self.prop(n)?;
            self.skip_space();
            if !self.rest().starts_with(')') {
                return err(src, open, 1, "this '(' is never closed");
            }
            self.pos += 1;
            return Ok(p);
        }
        if let Some(t) = r
            .strip_prefix("not")
            .filter(|t| t.starts_with([' ', '\t', '\n', '(']))
        {
            self.pos += r.len() - t.len();
            return Ok(Prop::Not(Box::new(self.unary(n)?)));
        }
        // LOC, then `=`, `==` or `!=` (blanks allowed around it), then VALUE.
        let end = r
            .find(|c: char| c.is_whitespace() || matches!(c, ')' | '/' | '\\' | '=' | '!' | ';'))
            .unwrap_or(r.len());
        let loc = Piece {
            text: &r[..end],
            at: self.pos,
        };
        self.pos += end;
        match loc.text {
            "true" => return Ok(Prop::True),
            "false" => return Ok(Prop::False),
            "" => {
                return err(
                    src,
                    loc.at,
                    1,
                    "expected a condition such as 0:EAX=1 or x=2",
                )
            }
            _ => {}
        }
        self.skip_space();
        let r = self.rest();
        let (equal, op_len) = if r.starts_with("==") {
            (true, 2)
        } else if r.starts_with("!=") {
            (false, 2)
        } else if r.starts_with('=') && !r.starts_with("=>") {
            (true, 1)
        } else {
            return err(
                src,
                loc.at,
                loc.text.len(),
                format!("expected LOC=VALUE, found '{}'", loc.text),
            );
        };
        self.pos += op_len;
        self.skip_space();
        let r = self.rest();
        let vend = r
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .unwrap_or(r.len());
        let word = &r[..vend];
        // `0:ESI=x`: the register holds x's address.
        let val = match self.vars.iter().position(|v| v == word) {
            Some(x) => address(x as u8),
            None => parse_int(
                Piece {
                    text: word,
                    at: self.pos,
                },
                src,
                "a whole number or a location's name",
            )?,
        };
        self.pos += vend;
        let (proc_, idx) = self.location(loc, n)?;
        let atom = Prop::Atom(match proc_ {
            Some(p) => Atom::Reg(p, idx, val),
            None => Atom::Mem(idx, val),
        });
        Ok(if equal {
            atom
        } else {
            Prop::Not(Box::new(atom))
        })
    }
}
