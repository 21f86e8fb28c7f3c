//! herd7's X86 litmus format, read into a [`Test`]: the `X86 NAME` header, an optional
//! quoted comment and `key=value` metadata, the `{ }` initial state, the program in
//! columns (`P0 | P1 ;`), an optional `locations [...]`, and the final condition.
//! Every error names its line and column, as scenario files' errors do.

use super::syntax::{address, location_at, Ins, Quant, Test, REGS};
use crate::scenario::{ScenarioError, Span};

/// Whether `src` is an X86 litmus test: its first word is `X86`.
pub fn is_x86(src: &str) -> bool {
    src.split_whitespace()
        .next()
        .is_some_and(|w| w.eq_ignore_ascii_case("X86"))
}

/// The span of `len` bytes at byte offset `start` of `src`.
fn span_at(src: &str, start: usize, len: usize) -> Span {
    let start = start.min(src.len());
    let before = &src[..start];
    let line = before.matches('\n').count() as u32 + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = src[line_start..start].chars().count() as u32 + 1;
    Span {
        line,
        col,
        start,
        end: (start + len.max(1)).min(src.len().max(start)),
    }
}

pub(super) fn err<T>(
    src: &str,
    at: usize,
    len: usize,
    msg: impl Into<String>,
) -> Result<T, ScenarioError> {
    Err(ScenarioError {
        span: span_at(src, at, len),
        message: msg.into(),
    })
}

/// A word of `src` with its byte offset.
#[derive(Clone, Copy)]
pub(super) struct Piece<'a> {
    pub(super) text: &'a str,
    pub(super) at: usize,
}

impl<'a> Piece<'a> {
    pub(super) fn trim(self) -> Piece<'a> {
        let lead = self.text.len() - self.text.trim_start().len();
        Piece {
            text: self.text.trim(),
            at: self.at + lead,
        }
    }
    pub(super) fn split(self, c: char) -> Vec<Piece<'a>> {
        let mut out = Vec::new();
        let mut start = 0;
        for (i, ch) in self.text.char_indices() {
            if ch == c {
                out.push(Piece {
                    text: &self.text[start..i],
                    at: self.at + start,
                });
                start = i + ch.len_utf8();
            }
        }
        out.push(Piece {
            text: &self.text[start..],
            at: self.at + start,
        });
        out
    }
}

pub(super) fn is_ident(s: &str) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
}

pub(super) fn reg_index(s: &str) -> Option<u8> {
    REGS.iter()
        .position(|r| r.eq_ignore_ascii_case(s))
        .map(|i| i as u8)
}

pub(super) fn parse_int(p: Piece, src: &str, what: &str) -> Result<i64, ScenarioError> {
    let t = p.text;
    let v = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()
    } else {
        t.parse::<i64>().ok()
    };
    v.map_or_else(
        || err(src, p.at, t.len(), format!("expected {what}, found '{t}'")),
        Ok,
    )
}

/// A thread's number as herd7 writes it in a location: `0`, or `P0`.
pub(super) fn thread_number(p: Piece, src: &str) -> Result<i64, ScenarioError> {
    let t = p.text.trim();
    match t.strip_prefix(['P', 'p']) {
        Some(n) => parse_int(
            Piece {
                text: n,
                at: p.at + 1,
            },
            src,
            "a thread number",
        ),
        None => parse_int(p, src, "a thread number"),
    }
}

/// Parses an X86 litmus test.
pub fn parse(src: &str) -> Result<Test, ScenarioError> {
    Parser::new(src).test()
}

pub(super) struct Parser<'a> {
    pub(super) src: &'a str,
    pub(super) pos: usize,
    /// Nesting of `~` and parentheses in the condition, bounded so that a hostile file
    /// cannot overflow the stack.
    pub(super) depth: u32,
    pub(super) vars: Vec<String>,
    /// A C test's registers by thread and slot, named as its locals (`r0`); empty for
    /// X86, whose registers are [`REGS`].
    pub(super) reg_names: Vec<Vec<String>>,
}

impl<'a> Parser<'a> {
    pub(super) fn new(src: &'a str) -> Parser<'a> {
        Parser {
            src,
            pos: 0,
            depth: 0,
            vars: Vec::new(),
            reg_names: Vec::new(),
        }
    }

    pub(super) fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    /// Skips blanks and `(* ... *)` / `//` comments.
    pub(super) fn skip_space(&mut self) {
        loop {
            let r = self.rest();
            let t = r.trim_start();
            self.pos += r.len() - t.len();
            if t.starts_with("(*") {
                let end = t.find("*)").map_or(t.len(), |i| i + 2);
                self.pos += end;
            } else if t.starts_with("//") {
                let end = t.find('\n').unwrap_or(t.len());
                self.pos += end;
            } else {
                return;
            }
        }
    }

    /// Consumes `word` if the input goes on with it as a whole word.
    pub(super) fn keyword(&mut self, word: &str) -> bool {
        let r = self.rest();
        let whole = r
            .strip_prefix(word)
            .is_some_and(|t| !t.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_'));
        if whole {
            self.pos += word.len();
        }
        whole
    }

    /// `exists`, `forall`, or `~exists` (herd7 takes `~ exists` and `not exists` too),
    /// consumed; nothing consumed if none is there.
    fn quantifier(&mut self) -> Option<Quant> {
        let start = self.pos;
        if self.keyword("exists") {
            Some(Quant::Exists)
        } else if self.keyword("forall") {
            Some(Quant::Forall)
        } else if self.keyword("~exists")
            || (self.keyword("~") || self.keyword("not")) && {
                self.skip_space();
                self.keyword("exists")
            }
        {
            Some(Quant::NotExists)
        } else {
            self.pos = start;
            None
        }
    }

    /// The rest of the current line, consumed.
    pub(super) fn line(&mut self) -> Piece<'a> {
        let r = self.rest();
        let end = r.find('\n').unwrap_or(r.len());
        let piece = Piece {
            text: &r[..end],
            at: self.pos,
        };
        self.pos += end;
        piece
    }

    pub(super) fn var(&mut self, name: &str) -> u8 {
        match self.vars.iter().position(|v| v == name) {
            Some(i) => i as u8,
            None => {
                self.vars.push(name.to_string());
                (self.vars.len() - 1) as u8
            }
        }
    }

    fn test(&mut self) -> Result<Test, ScenarioError> {
        let src = self.src;
        let (name, doc) = self.header("X86")?;
        let (init_vars, init_regs) = self.init()?;
        let (threads, lines) = self.program()?;
        // Registers read before this thread writes them (or the init block sets them).
        for (t, code) in threads.iter().enumerate() {
            // `[ESI]` needs ESI to hold an address from the start, and to keep it.
            for (i, ins) in code.iter().enumerate() {
                for r in ins.bases() {
                    let address = init_regs.iter().any(|&(p, q, v)| {
                        p as usize == t && q == r && location_at(v, self.vars.len()).is_some()
                    });
                    if !address || code.iter().any(|o| o.sets().contains(&r)) {
                        let (line_at, len) = lines[t][i];
                        let reg = REGS[r as usize];
                        return err(
                            src,
                            line_at,
                            len,
                            format!("[{reg}] needs {reg} to hold a location's address from the initial state ({t}:{reg}=x;) and P{t} not to write it"),
                        );
                    }
                }
            }
            let mut set = [false; 8];
            for &(_, r, _) in init_regs.iter().filter(|(p, _, _)| *p as usize == t) {
                set[r as usize] = true;
            }
            for (i, ins) in code.iter().enumerate() {
                for r in ins.reads() {
                    if !set[r as usize] {
                        let (line_at, len) = lines[t][i];
                        return err(
                            src,
                            line_at,
                            len,
                            format!(
                                "P{t} reads {} before it sets it: give it a value first (MOV {},$0) or in the initial state ({t}:{}=0;)",
                                REGS[r as usize], REGS[r as usize], REGS[r as usize]
                            ),
                        );
                    }
                }
                for r in ins.sets() {
                    set[r as usize] = true;
                }
            }
        }
        self.conclude(name, doc, init_vars, init_regs, threads)
    }

    /// What follows the threads (`locations`, `filter`, the condition and its `with`
    /// clause), and the whole test.
    pub(super) fn conclude(
        &mut self,
        name: String,
        doc: String,
        init_vars: Vec<(u8, i64)>,
        init_regs: Vec<(u8, u8, i64)>,
        threads: Vec<Vec<Ins>>,
    ) -> Result<Test, ScenarioError> {
        let src = self.src;
        let nthreads = threads.len();
        self.skip_space();
        let mut locations = Vec::new();
        if self.rest().starts_with("locations") {
            self.pos += "locations".len();
            self.skip_space();
            let at = self.pos;
            let r = self.rest();
            let open = r.find('[').filter(|&i| r[..i].trim().is_empty());
            let Some((body_start, end)) = open.and_then(|i| r[i..].find(']').map(|j| (i, i + j)))
            else {
                return err(src, at, 1, "expected 'locations [a; 0:EAX; ...]'");
            };
            let body = Piece {
                text: &r[body_start + 1..end],
                at: at + body_start + 1,
            };
            self.pos = at + end + 1;
            for item in body.split(';') {
                let item = item.trim();
                if item.text.is_empty() {
                    continue;
                }
                locations.push(self.location(item, nthreads)?);
            }
            self.skip_space();
        }
        let mut filter = None;
        if self.keyword("filter") {
            filter = Some(self.prop(nthreads)?);
            self.skip_space();
        }
        let qat = self.pos;
        // `final P` and a bare `(P)` are `exists`.
        let quant = if let Some(q) = self.quantifier() {
            q
        } else if self.keyword("final") || self.rest().starts_with('(') {
            Quant::Exists
        } else {
            let word = self.rest().split_whitespace().next().unwrap_or("");
            return err(
                src,
                qat,
                word.len(),
                if word.is_empty() {
                    "expected the final condition: exists (...), ~exists (...) or forall (...)"
                        .to_string()
                } else {
                    format!("expected exists, ~exists or forall, found '{word}'")
                },
            );
        };
        let cond_start = self.pos;
        let prop = self.prop(nthreads)?;
        let cond_text = src[cond_start..self.pos]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        self.skip_space();
        // herd7 allows a `;` after the condition.
        if self.rest().starts_with(';') {
            self.pos += 1;
            self.skip_space();
        }
        let kw = match quant {
            Quant::Exists => "exists",
            Quant::NotExists => "~exists",
            Quant::Forall => "forall",
        };
        // `with tso: exists; sc: ~exists;`: what each model is expected to answer.
        let mut kinds = Vec::new();
        if self.keyword("with") {
            loop {
                self.skip_space();
                let r = self.rest();
                if r.is_empty() {
                    break;
                }
                let at = self.pos;
                let Some((name, after)) = r.split_once(':').filter(|(n, _)| is_ident(n.trim()))
                else {
                    return err(
                        src,
                        at,
                        r.split_whitespace().next().map_or(1, str::len),
                        "expected 'NAME: exists', 'NAME: ~exists' or 'NAME: forall' after 'with'",
                    );
                };
                self.pos += r.len() - after.len();
                self.skip_space();
                let Some(q) = self.quantifier() else {
                    return err(
                        src,
                        self.pos,
                        1,
                        format!("expected exists, ~exists or forall for '{}'", name.trim()),
                    );
                };
                kinds.push((name.trim().to_string(), q));
                self.skip_space();
                if self.rest().starts_with(';') {
                    self.pos += 1;
                }
            }
        }
        if !self.rest().trim().is_empty() {
            let r = self.rest();
            return err(
                src,
                self.pos,
                r.split_whitespace().next().map_or(1, str::len),
                "unexpected text after the condition",
            );
        }
        let mut init = vec![0i64; self.vars.len()];
        for (x, v) in init_vars {
            init[x as usize] = v;
        }
        Ok(Test {
            name,
            doc,
            vars: self.vars.clone(),
            init,
            init_regs,
            threads,
            locations,
            filter,
            kinds,
            quant,
            prop,
            reg_names: self.reg_names.clone(),
            cond_text: format!("{kw} {cond_text}"),
        })
    }

    /// `KIND NAME`, an alias and a quoted comment, then comment and `key=value` lines up
    /// to the initial state: the name and the comment.
    pub(super) fn header(&mut self, kind: &str) -> Result<(String, String), ScenarioError> {
        let src = self.src;
        self.skip_space();
        let head = self.line().trim();
        let mut words = head.text.split_whitespace();
        if !words.next().is_some_and(|w| w.eq_ignore_ascii_case(kind)) {
            return err(
                src,
                head.at,
                head.text.len(),
                format!("an {kind} litmus test starts with '{kind} NAME'"),
            );
        }
        // `X86 NAME` (or `C NAME`), then (as herd7 takes them) an alias in parentheses and a quoted
        // comment: `X86 amd3 (alias) "..."`.
        let after = head.text[kind.len()..].trim_start();
        let name_len = after
            .find(|c: char| c.is_whitespace() || c == '(' || c == '"')
            .unwrap_or(after.len());
        let name = after[..name_len].to_string();
        if name.is_empty() {
            return err(
                src,
                head.at,
                head.text.len(),
                format!("the test has no name: '{kind} NAME'"),
            );
        }
        let mut doc = String::new();
        let mut tail = after[name_len..].trim();
        if let Some(alias) = tail.strip_prefix('(') {
            tail = alias.split_once(')').map_or("", |(_, t)| t).trim();
        }
        if let Some(quoted) = tail.strip_prefix('"') {
            doc = quoted.trim_end_matches('"').to_string();
        } else if !tail.is_empty() {
            let at = head.at + head.text.len() - tail.len();
            return err(
                src,
                at,
                tail.len(),
                format!("after '{kind} NAME' the header takes an alias in parentheses and a quoted comment only"),
            );
        }
        // A quoted comment and `key=value` lines, up to the initial state.
        loop {
            self.skip_space();
            let r = self.rest();
            if r.starts_with('{') {
                break;
            }
            if r.is_empty() {
                return err(src, self.pos, 0, "expected the initial state '{ ... }'");
            }
            let l = self.line().trim();
            if l.text.starts_with('"') && doc.is_empty() {
                doc = l.text.trim_matches('"').to_string();
            } else if !l.text.contains('=') && !l.text.starts_with('"') {
                return err(
                    src,
                    l.at,
                    l.text.len(),
                    "expected the initial state '{ ... }' (or a quoted comment, or key=value)",
                );
            }
        }
        Ok((name, doc))
    }

    /// `{ x=0; 0:EAX=1; }`.
    #[allow(clippy::type_complexity)]
    pub(super) fn init(&mut self) -> Result<(Vec<(u8, i64)>, Vec<(u8, u8, i64)>), ScenarioError> {
        let src = self.src;
        let open = self.pos;
        let r = self.rest();
        let Some(close) = r.find('}') else {
            return err(
                src,
                open,
                1,
                "the initial state '{' is never closed with '}'",
            );
        };
        let body = Piece {
            text: &r[1..close],
            at: open + 1,
        };
        self.pos = open + close + 1;
        // herd7 takes `};` as well as `}`.
        self.skip_space();
        if self.rest().starts_with(';') {
            self.pos += 1;
        }
        let (mut vars, mut regs) = (Vec::new(), Vec::new());
        for item in body.split(';') {
            let item = item.trim();
            if item.text.is_empty() {
                continue;
            }
            // `x=1`, or a declaration alone (`int flag;`), which starts at 0.
            let eq = item.text.find('=').unwrap_or(item.text.len());
            let lhs = Piece {
                text: &item.text[..eq],
                at: item.at,
            }
            .trim();
            let mut rhs = Piece {
                text: item.text.get(eq + 1..).unwrap_or(""),
                at: item.at + eq + 1,
            }
            .trim();
            // The kernel's spellings: `atomic_t v = ATOMIC_INIT(1)`, `int *y = &x`.
            if let Some(inner) = rhs
                .text
                .strip_prefix("ATOMIC_INIT(")
                .and_then(|t| t.strip_suffix(')'))
            {
                rhs = Piece {
                    text: inner,
                    at: rhs.at + "ATOMIC_INIT(".len(),
                }
                .trim();
            }
            let pointee = rhs.text.strip_prefix('&').map(str::trim);
            // `0:ESI=x` (or `&x`): the register holds x's address.
            let v = match pointee.unwrap_or(rhs.text) {
                "" if eq == item.text.len() => 0,
                name if is_ident(name) && reg_index(name).is_none() => address(self.var(name)),
                _ => parse_int(rhs, src, "a whole number or a location's name")?,
            };
            // An optional C type before the name: `int x=0`, `uint32_t y=1`, `int *y`.
            let name = lhs.text.split_whitespace().last().unwrap_or("");
            let name = name.trim_start_matches('*');
            let name_at = lhs.at + lhs.text.len() - name.len();
            if let Some((p, reg)) = name.split_once(':') {
                let t = thread_number(
                    Piece {
                        text: p,
                        at: name_at,
                    },
                    src,
                )?;
                let Some(r) = reg_index(reg) else {
                    return err(
                        src,
                        name_at + p.len() + 1,
                        reg.len(),
                        format!("unknown register '{reg}' (known: {})", REGS.join(", ")),
                    );
                };
                regs.push((t as u8, r, v));
            } else {
                let name = name.trim_start_matches('[').trim_end_matches(']');
                if !is_ident(name) {
                    return err(
                        src,
                        name_at,
                        name.len(),
                        format!("'{name}' is not a location name"),
                    );
                }
                let x = self.var(name);
                vars.push((x, v));
            }
        }
        Ok((vars, regs))
    }
}
