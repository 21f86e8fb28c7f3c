//! The Linux kernel memory model's C litmus format (`C NAME`, the initial state, one
//! `P0(int *x, …) { … }` per thread, the condition), answered for x86: each primitive is
//! lowered to the instructions the kernel's x86 implementation uses
//! (arch/x86/include/asm/barrier.h, cmpxchg.h, atomic.h), and the test is then an X86
//! test like any other. [`PRIMITIVES`] is the mapping, as the book prints it.

use super::parse::{err, Parser};
use super::program::MAX_CODE;
use super::syntax::{address, Alu, Ins, Operand, Test};
use crate::scenario::ScenarioError;

/// Whether `src` is a C litmus test: its first word is `C`.
pub fn is_c(src: &str) -> bool {
    src.split_whitespace().next() == Some("C")
}

/// The scratch registers of a lowered thread: `cmpxchg()` compares with EAX; the other
/// holds a value on its way to a locked instruction. Locals take the slots after them.
const EAX: u8 = 0;
const TMP: u8 = 1;
const FIRST_LOCAL: u8 = 2;

/// Each primitive the reader takes and the x86 instructions it becomes: (names, form,
/// x86). One table, read by the reader's error message and printed by the book.
pub const PRIMITIVES: &[(&str, &str, &str)] = &[
    ("READ_ONCE, atomic_read, smp_load_acquire, rcu_dereference", "r = READ_ONCE(*x)", "MOV r,[x]"),
    ("WRITE_ONCE, atomic_set, smp_store_release, rcu_assign_pointer", "WRITE_ONCE(*x, v)", "MOV [x],v"),
    ("smp_mb", "smp_mb()", "MFENCE (the kernel's LOCK ADDL $0 to the stack orders the same)"),
    ("smp_mb__before_atomic, smp_mb__after_atomic, smp_mb__after_spinlock, smp_mb__after_unlock_lock", "smp_mb__after_atomic()", "nothing: x86 atomics and spin_lock() are locked instructions, full barriers already"),
    ("smp_rmb, smp_wmb, barrier", "smp_wmb()", "nothing (a compiler barrier on x86)"),
    ("rcu_read_lock, rcu_read_unlock", "rcu_read_lock()", "nothing on x86 (a compiler barrier); they bound the read-side critical section a grace period waits for"),
    ("synchronize_rcu", "synchronize_rcu()", "a full barrier; a wait until every other CPU has been outside any read-side critical section with its stores drained (a quiescent state); a full barrier"),
    ("xchg and its _relaxed, _acquire, _release forms", "r = xchg(x, v)", "MOV r,v; XCHG [x],r"),
    ("cmpxchg and its forms", "r = cmpxchg(x, old, new)", "MOV EAX,old; MOV t,new; LOCK CMPXCHG [x],t; MOV r,EAX"),
    ("atomic_inc, atomic_dec, atomic_add, atomic_sub", "atomic_add(v, x)", "LOCK ADD [x],v"),
    ("atomic_*_return, atomic_fetch_* and their forms", "r = atomic_fetch_add(v, x)", "MOV t,v; LOCK XADD [x],t (then ADD t,v for *_return); MOV r,t"),
    ("spin_lock", "spin_lock(l)", "L: MOV t,1; XCHG [l],t; CMP t,0; JNE L (a test-and-set lock)"),
    ("spin_unlock", "spin_unlock(l)", "MOV [l],0"),
    ("spin_trylock", "r = spin_trylock(l)", "MOV t,1; XCHG [l],t; r = (t == 0)"),
    ("spin_is_locked", "r = spin_is_locked(l)", "MOV t,[l]; r = (t != 0)"),
    ("if, locals", "if (r == 1) { … } else { … }", "CMP r,1; JNE …"),
];

/// [`PRIMITIVES`] as the book's Markdown table (`tornsim primitives --litmus --markdown`).
pub fn markdown() -> String {
    let mut out = String::from("| primitives | form | x86 |\n|---|---|---|\n");
    for (names, form, x86) in PRIMITIVES {
        out.push_str(&format!("| {names} | `{form}` | {x86} |\n"));
    }
    out
}

/// A token of a thread's body, with its byte offset.
#[derive(Clone, Copy, Debug)]
struct Tok<'a> {
    text: &'a str,
    at: usize,
}

fn tokens(src: &str, from: usize, to: usize) -> Vec<Tok<'_>> {
    let mut out = Vec::new();
    let b = src.as_bytes();
    let mut i = from;
    while i < to {
        let Some(c) = src[i..to].chars().next() else {
            break;
        };
        if c.is_whitespace() {
            i += c.len_utf8();
        } else if src[i..to].starts_with("//") {
            i = src[i..to].find('\n').map_or(to, |n| i + n);
        } else if src[i..to].starts_with("/*") {
            i = src[i..to].find("*/").map_or(to, |n| i + n + 2);
        } else if c.is_ascii_alphanumeric() || c == '_' {
            let start = i;
            while i < to && ((b[i] as char).is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Tok {
                text: &src[start..i],
                at: start,
            });
        } else {
            let two = src.get(i..i + 2).filter(|_| i + 2 <= to);
            let len = match two {
                Some("==" | "!=") => 2,
                _ => c.len_utf8(),
            };
            out.push(Tok {
                text: &src[i..i + len],
                at: i,
            });
            i += len;
        }
    }
    out
}

/// One thread's lowering: its code, its locals, and where it reads.
struct Thread<'s, 'p> {
    p: &'p mut Parser<'s>,
    toks: Vec<Tok<'s>>,
    i: usize,
    /// The thread's pointer parameters: the locations it may name.
    params: Vec<String>,
    locals: Vec<String>,
    code: Vec<Ins>,
    end: usize,
}

impl<'s> Thread<'s, '_> {
    fn err<T>(&self, at: usize, len: usize, msg: impl Into<String>) -> Result<T, ScenarioError> {
        err(self.p.src, at, len, msg)
    }

    fn peek(&self) -> Option<Tok<'s>> {
        self.toks.get(self.i).copied()
    }

    fn next(&mut self, what: &str) -> Result<Tok<'s>, ScenarioError> {
        match self.peek() {
            Some(t) => {
                self.i += 1;
                Ok(t)
            }
            None => self.err(
                self.end,
                1,
                format!("expected {what}, found the end of the thread"),
            ),
        }
    }

    fn expect(&mut self, text: &str) -> Result<Tok<'s>, ScenarioError> {
        let t = self.next(&format!("'{text}'"))?;
        if t.text != text {
            return self.err(
                t.at,
                t.text.len(),
                format!("expected '{text}', found '{}'", t.text),
            );
        }
        Ok(t)
    }

    fn eat(&mut self, text: &str) -> bool {
        let hit = self.peek().is_some_and(|t| t.text == text);
        self.i += hit as usize;
        hit
    }

    fn local(&self, name: &str) -> Option<u8> {
        self.locals
            .iter()
            .position(|l| l == name)
            .map(|i| i as u8 + FIRST_LOCAL)
    }

    fn declare(&mut self, t: Tok) -> Result<u8, ScenarioError> {
        if let Some(r) = self.local(t.text) {
            return Ok(r);
        }
        if self.locals.len() + FIRST_LOCAL as usize >= 8 {
            return self.err(t.at, t.text.len(), "a thread has at most 6 locals");
        }
        self.locals.push(t.text.to_string());
        Ok(self.locals.len() as u8 - 1 + FIRST_LOCAL)
    }

    /// `*x` or `x`, a location a parameter names, or `*r0`, the one a pointer local
    /// holds the address of (checked when the test runs).
    fn location(&mut self) -> Result<Operand, ScenarioError> {
        self.eat("&");
        let star = self.eat("*");
        let t = self.next("a location")?;
        if let (true, Some(r)) = (star, self.local(t.text)) {
            return Ok(Operand::Ind(r));
        }
        if !self.params.iter().any(|p| p == t.text) {
            return self.err(
                t.at,
                t.text.len(),
                format!("'{}' is not a parameter of this thread", t.text),
            );
        }
        Ok(Operand::Mem(self.p.var(t.text)))
    }

    /// A location for a locked instruction: a parameter's, not a pointer local's.
    fn mem(&mut self) -> Result<u8, ScenarioError> {
        let at = self.peek().map_or(self.end, |t| t.at);
        match self.location()? {
            Operand::Mem(x) => Ok(x),
            _ => self.err(at, 1, "a locked primitive here takes a parameter's location; a pointer local is for READ_ONCE(), WRITE_ONCE() and the rcu_ accessors"),
        }
    }

    /// A value: a number, `-n`, a local, or a parameter's address (`x` or `&x`).
    fn value(&mut self) -> Result<Operand, ScenarioError> {
        let neg = self.eat("-");
        let amp = !neg && self.eat("&");
        let t = self.next("a value")?;
        if let (false, Ok(v)) = (amp, t.text.parse::<i64>()) {
            return Ok(Operand::Imm(if neg { v.wrapping_neg() } else { v }));
        }
        if neg {
            return self.err(
                t.at,
                t.text.len(),
                format!("expected a number after '-', found '{}'", t.text),
            );
        }
        match self.local(t.text) {
            Some(r) if !amp => Ok(Operand::Reg(r)),
            _ if self.params.iter().any(|p| p == t.text) => {
                Ok(Operand::Imm(address(self.p.var(t.text))))
            }
            _ => self.err(
                t.at,
                t.text.len(),
                format!(
                    "expected a number, a local or a parameter, found '{}'",
                    t.text
                ),
            ),
        }
    }

    fn block(&mut self) -> Result<(), ScenarioError> {
        if self.eat("{") {
            while !self.eat("}") {
                if self.peek().is_none() {
                    return self.err(self.end, 1, "a '{' is never closed");
                }
                self.statement()?;
            }
            Ok(())
        } else {
            self.statement()
        }
    }

    fn jump(&mut self, cond: Option<bool>) -> usize {
        self.code.push(Ins::Jump(cond, 0));
        self.code.len() - 1
    }

    fn land(&mut self, jump: usize) {
        if let Ins::Jump(c, _) = self.code[jump] {
            self.code[jump] = Ins::Jump(c, self.code.len() as u8);
        }
    }

    /// `r = (TMP == 0)` (`zero`) or `r = (TMP != 0)`: 1 or 0 by a compare and a jump.
    fn tmp_test(&mut self, r: u8, zero: bool) {
        self.code.push(Ins::Mov(Operand::Reg(r), Operand::Imm(0)));
        self.code.push(Ins::Cmp(Operand::Reg(TMP), Operand::Imm(0)));
        let skip = self.jump(Some(!zero));
        self.code.push(Ins::Mov(Operand::Reg(r), Operand::Imm(1)));
        self.land(skip);
    }

    fn statement(&mut self) -> Result<(), ScenarioError> {
        let mut t = self.next("a statement")?;
        // `(void)f(…);`: the value dropped.
        if t.text == "(" && self.eat("void") {
            self.expect(")")?;
            t = self.next("a call")?;
        }
        match t.text {
            ";" => return Ok(()),
            "{" => {
                self.i -= 1;
                return self.block();
            }
            "int" | "long" | "unsigned" => {
                loop {
                    while self.eat("*") {}
                    let name = self.next("a local's name")?;
                    let r = self.declare(name)?;
                    if self.eat("=") {
                        let v = self.value()?;
                        self.code.push(Ins::Mov(Operand::Reg(r), v));
                    }
                    if !self.eat(",") {
                        break;
                    }
                }
                self.expect(";")?;
                return Ok(());
            }
            "if" => {
                self.expect("(")?;
                let jump_if_false = self.condition()?;
                self.expect(")")?;
                let skip = self.jump(Some(jump_if_false));
                self.block()?;
                if self.eat("else") {
                    let over = self.jump(None);
                    self.land(skip);
                    self.block()?;
                    self.land(over);
                } else {
                    self.land(skip);
                }
                return Ok(());
            }
            _ => {}
        }
        if self.eat("=") {
            let r = self.declare(t)?;
            let f = self.next("a value or a call")?;
            if self.peek().is_some_and(|n| n.text == "(") {
                self.call(f, Some(r))?;
            } else {
                self.i -= 1;
                let v = self.value()?;
                self.code.push(Ins::Mov(Operand::Reg(r), v));
            }
        } else {
            self.call(t, None)?;
        }
        self.expect(";")?;
        Ok(())
    }

    /// `r == v`, `r != v`, `r`, `!r`: a CMP; returns the zero flag on which the `if`'s
    /// body is skipped.
    fn condition(&mut self) -> Result<bool, ScenarioError> {
        let not = self.eat("!");
        let t = self.next("a local")?;
        let Some(r) = self.local(t.text) else {
            return self.err(
                t.at,
                t.text.len(),
                format!("an if tests a local: '{}' is none", t.text),
            );
        };
        let (against, equal) = if self.eat("==") {
            (self.value()?, true)
        } else if self.eat("!=") {
            (self.value()?, false)
        } else {
            (Operand::Imm(0), not)
        };
        self.code.push(Ins::Cmp(Operand::Reg(r), against));
        // Skip the body when the test fails: JNE for ==, JE for !=.
        Ok(!equal)
    }

    /// How many arguments the call at `(` has (looked at, not consumed).
    fn arg_count(&mut self) -> Result<usize, ScenarioError> {
        let save = self.i;
        self.expect("(")?;
        let (mut depth, mut commas, mut empty) = (1, 0, true);
        loop {
            let t = self.next("')'")?;
            depth += (t.text == "(") as i32 - (t.text == ")") as i32;
            if depth == 0 {
                break;
            }
            empty = false;
            commas += (t.text == ",") as usize;
        }
        self.i = save;
        Ok(if empty { 0 } else { commas + 1 })
    }

    fn call(&mut self, f: Tok<'s>, dest: Option<u8>) -> Result<(), ScenarioError> {
        let name = f.text;
        // xchg_relaxed(), atomic_fetch_add_acquire()…: the same instructions on x86.
        let base = ["_relaxed", "_acquire", "_release"]
            .iter()
            .filter(|_| {
                ["xchg", "cmpxchg", "atomic_"]
                    .iter()
                    .any(|p| name.starts_with(p))
            })
            .find_map(|s| name.strip_suffix(s))
            .unwrap_or(name);
        let n_args = self.arg_count()?;
        self.expect("(")?;
        let want = |n: usize, me: &Self| -> Result<(), ScenarioError> {
            if n_args != n {
                return me.err(
                    f.at,
                    name.len(),
                    format!(
                        "{name}() takes {n} argument{}",
                        if n == 1 { "" } else { "s" }
                    ),
                );
            }
            Ok(())
        };
        // The primitives that return a value take the destination; with one left over,
        // the call returns nothing to assign.
        let took = std::cell::Cell::new(false);
        let needs_dest = |me: &Self| -> Result<u8, ScenarioError> {
            took.set(true);
            dest.map_or_else(
                || {
                    me.err(
                        f.at,
                        name.len(),
                        format!("{name}() returns a value: write r = {name}(…)"),
                    )
                },
                Ok,
            )
        };
        let comma = |me: &mut Self| me.expect(",").map(|_| ());
        match base {
            "READ_ONCE" | "atomic_read" | "smp_load_acquire" | "rcu_dereference" => {
                want(1, self)?;
                let r = needs_dest(self)?;
                let x = self.location()?;
                self.code.push(Ins::Mov(Operand::Reg(r), x));
            }
            "WRITE_ONCE" | "atomic_set" | "smp_store_release" | "rcu_assign_pointer" => {
                want(2, self)?;
                let x = self.location()?;
                comma(self)?;
                let v = self.value()?;
                self.code.push(Ins::Mov(x, v));
            }
            "smp_mb" => {
                want(0, self)?;
                self.code.push(Ins::Mfence);
            }
            "smp_rmb"
            | "smp_wmb"
            | "barrier"
            | "smp_mb__before_atomic"
            | "smp_mb__after_atomic"
            | "smp_mb__after_spinlock"
            | "smp_mb__after_unlock_lock" => want(0, self)?,
            "rcu_read_lock" | "rcu_read_unlock" | "synchronize_rcu" => {
                want(0, self)?;
                self.code.push(match base {
                    "rcu_read_lock" => Ins::RcuLock,
                    "rcu_read_unlock" => Ins::RcuUnlock,
                    _ => Ins::SyncRcu,
                });
            }
            "xchg" => {
                want(2, self)?;
                let r = needs_dest(self)?;
                let x = self.mem()?;
                comma(self)?;
                let v = self.value()?;
                self.code.push(Ins::Mov(Operand::Reg(r), v));
                self.code.push(Ins::Xchg(x, r));
            }
            "cmpxchg" => {
                want(3, self)?;
                let r = needs_dest(self)?;
                let x = self.mem()?;
                comma(self)?;
                let old = self.value()?;
                comma(self)?;
                let new = self.value()?;
                self.code.push(Ins::Mov(Operand::Reg(EAX), old));
                self.code.push(Ins::Mov(Operand::Reg(TMP), new));
                self.code.push(Ins::LockCmpxchg(x, TMP));
                self.code.push(Ins::Mov(Operand::Reg(r), Operand::Reg(EAX)));
            }
            "atomic_inc" | "atomic_dec" => {
                want(1, self)?;
                let x = self.mem()?;
                let one = if base == "atomic_inc" { 1 } else { -1 };
                self.code
                    .push(Ins::Rmw(x, Alu::Add, Operand::Imm(one), true));
            }
            "atomic_add" | "atomic_sub" => {
                want(2, self)?;
                let v = self.value()?;
                comma(self)?;
                let x = self.mem()?;
                let v = self.negated(v, base == "atomic_sub", f)?;
                self.code.push(Ins::Rmw(x, Alu::Add, v, true));
            }
            "atomic_inc_return" | "atomic_dec_return" | "atomic_fetch_inc" | "atomic_fetch_dec"
            | "atomic_add_return" | "atomic_sub_return" | "atomic_fetch_add"
            | "atomic_fetch_sub" => {
                let by_one = base.contains("inc") || base.contains("dec");
                want(if by_one { 1 } else { 2 }, self)?;
                let r = needs_dest(self)?;
                let v = if by_one {
                    Operand::Imm(1)
                } else {
                    let v = self.value()?;
                    comma(self)?;
                    v
                };
                let x = self.mem()?;
                let v = self.negated(v, base.contains("dec") || base.contains("sub"), f)?;
                self.code.push(Ins::Mov(Operand::Reg(TMP), v));
                self.code.push(Ins::LockXadd(x, TMP));
                if base.ends_with("_return") {
                    self.code.push(Ins::Alu(TMP, Alu::Add, v));
                }
                self.code.push(Ins::Mov(Operand::Reg(r), Operand::Reg(TMP)));
            }
            "spin_lock" => {
                want(1, self)?;
                let l = self.mem()?;
                let top = self.code.len() as u8;
                self.code.push(Ins::Mov(Operand::Reg(TMP), Operand::Imm(1)));
                self.code.push(Ins::Xchg(l, TMP));
                self.code.push(Ins::Cmp(Operand::Reg(TMP), Operand::Imm(0)));
                self.code.push(Ins::Jump(Some(false), top));
            }
            "spin_unlock" => {
                want(1, self)?;
                let l = self.mem()?;
                self.code.push(Ins::Mov(Operand::Mem(l), Operand::Imm(0)));
            }
            "spin_is_locked" => {
                want(1, self)?;
                let r = needs_dest(self)?;
                let l = self.mem()?;
                self.code.push(Ins::Mov(Operand::Reg(TMP), Operand::Mem(l)));
                self.tmp_test(r, false);
            }
            "spin_trylock" => {
                want(1, self)?;
                let r = needs_dest(self)?;
                let l = self.mem()?;
                self.code.push(Ins::Mov(Operand::Reg(TMP), Operand::Imm(1)));
                self.code.push(Ins::Xchg(l, TMP));
                self.tmp_test(r, true);
            }
            _ => {
                return self.err(
                    f.at,
                    name.len(),
                    format!(
                        "{name}() is not modelled: the x86 reader takes {}",
                        PRIMITIVES
                            .iter()
                            .map(|p| p.0)
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                );
            }
        }
        if dest.is_some() && !took.get() {
            return self.err(
                f.at,
                name.len(),
                format!("{name}() returns nothing to assign"),
            );
        }
        self.expect(")")?;
        Ok(())
    }

    /// `v`, negated for a subtraction: a number only (x86 would need a NEG first).
    fn negated(&self, v: Operand, neg: bool, f: Tok) -> Result<Operand, ScenarioError> {
        match (v, neg) {
            (Operand::Imm(n), true) => Ok(Operand::Imm(n.wrapping_neg())),
            (Operand::Reg(_), true) => self.err(
                f.at,
                f.text.len(),
                format!("{}() subtracts a number here, not a local", f.text),
            ),
            (other, _) => Ok(other),
        }
    }
}

impl<'s> Parser<'s> {
    fn c_test(&mut self) -> Result<Test, ScenarioError> {
        let src = self.src;
        let (name, doc) = self.header("C")?;
        let (init_vars, init_regs) = self.init()?;
        let mut threads = Vec::new();
        loop {
            self.skip_space();
            let r = self.rest();
            let Some(head) = r
                .strip_prefix('P')
                .filter(|h| h.starts_with(|c: char| c.is_ascii_digit()))
            else {
                break;
            };
            let at = self.pos;
            let digits = head
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(head.len());
            if head[..digits].parse::<usize>().ok() != Some(threads.len()) {
                return err(
                    src,
                    at,
                    digits + 1,
                    format!("expected the thread P{}", threads.len()),
                );
            }
            let open = r
                .find('(')
                .ok_or(())
                .or_else(|_| err(src, at, 1, "expected 'P0(int *x, …)'"))?;
            let close = r
                .find(')')
                .filter(|&c| c > open)
                .ok_or(())
                .or_else(|_| err(src, at + open, 1, "this '(' is never closed"))?;
            let params: Vec<String> = r[open + 1..close]
                .split(',')
                .filter_map(|p| {
                    p.trim()
                        .rsplit(|c: char| c == '*' || c.is_whitespace())
                        .next()
                })
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect();
            let body_open = r[close..]
                .find('{')
                .map(|b| close + b)
                .ok_or(())
                .or_else(|_| err(src, at + close, 1, "expected the thread's body '{ … }'"))?;
            // The body ends at its matching brace.
            let mut depth = 0;
            let mut body_close = None;
            for (i, c) in r[body_open..].char_indices() {
                depth += (c == '{') as i32 - (c == '}') as i32;
                if depth == 0 {
                    body_close = Some(body_open + i);
                    break;
                }
            }
            let Some(body_close) = body_close else {
                return err(src, at + body_open, 1, "this '{' is never closed");
            };
            let (from, to) = (self.pos + body_open + 1, self.pos + body_close);
            let mut th = Thread {
                toks: tokens(src, from, to),
                p: self,
                i: 0,
                params,
                locals: Vec::new(),
                code: Vec::new(),
                end: to,
            };
            while th.peek().is_some() {
                th.statement()?;
            }
            if th.code.len() > MAX_CODE {
                return err(
                    src,
                    at,
                    2,
                    format!("a thread lowers to more than {MAX_CODE} instructions"),
                );
            }
            let mut names: Vec<String> = vec!["EAX".into(), "tmp".into()];
            names.extend(th.locals.iter().cloned());
            let code = std::mem::take(&mut th.code);
            self.reg_names.push(names);
            threads.push(code);
            self.pos = to + 1;
        }
        if threads.is_empty() {
            self.skip_space();
            return err(
                src,
                self.pos,
                1,
                "expected the first thread 'P0(int *x, …) { … }'",
            );
        }
        self.conclude(name, doc, init_vars, init_regs, threads)
    }
}

/// Parses a C litmus test into the X86 test its primitives lower to.
pub fn parse_c(src: &str) -> Result<Test, ScenarioError> {
    Parser::new(src).c_test()
}
