//! Scenario files: the actors' programs as a small litmus-style text, one block per CPU,
//! one primitive per line, settings and an `exists` clause, parsed into a [`Scenario`]
//! and compiled for a [`Config`] into the [`Program`] the machine interprets.
//!
//! ```text
//! tornsim seed-thread-v1
//! "The withdrawn v1 patch: the sync runs after the PTL is dropped"
//! { mode = xen-pv; readers = 2; }
//! P0(khugepaged) {
//!     pmd_lock();
//!     pmdp_collapse_flush();
//!     spin_unlock();
//!     pmdp_get_lockless_sync();
//!     pte_free_defer();
//! }
//! P1(fault) {
//!     pte_alloc_one();
//!     do {
//!         pmd_lock();
//!         if (pmd_none())
//!             pmd_populate();
//!         spin_unlock();
//!     } while (!installed);
//! }
//! P2(gup_fast) {
//!     local_irq_save();
//!     pmdp_get_lockless();
//!     pte_offset_map();
//!     local_irq_restore();
//! }
//! exists (torn \/ stale)
//! ```
//!
//! - Comments: `// …`, `/* … */` and herd's `(* … *)`.
//! - Settings use the CLI flags' names and values (`tornsim run --help`); `sync` is not
//!   one of them, since the lines are the placement. The CLI's flags apply on top.
//! - `P0` is khugepaged (the collapser), `P1` the page fault (the populator), `P2…` the
//!   readers: `gup_fast` (in `mm_cpumask`), `walker` (outside it), or `reader` (the kind
//!   the `reader` setting names). With `readers = N` and fewer reader blocks, the reader
//!   CPUs take the blocks in turn. Control flow takes no step of its own: `if
//!   (pmd_none())` is the check's step, and `do { … spin_unlock(); } while (!installed);`
//!   loops on the unlock's step. Readers loop over their block forever (in a random run,
//!   until the writers are done).
//! - `exists (torn \/ stale \/ deadlock)` names what the checker looks for and claims it
//!   happens; `~exists (…)` claims it never does. A deadlock is always reported.
//!
//! The built-in presets and the four sync placements are such files (`scenarios/` in the
//! repository, embedded here); a file whose program is a built-in placement's is that
//! placement, so its schedules and traces are the preset's, byte for byte.

use crate::config::{Config, ConfigError, Knob, ReaderKind, SyncPlacement};
use crate::machine::Hazard;
use crate::prim::{self, Op, Use};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::{Arc, OnceLock};

/// Where something is in the source: 1-based line and column (in characters), and the
/// byte range.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Span {
    pub line: u32,
    pub col: u32,
    pub start: usize,
    pub end: usize,
}

/// A problem with a scenario, at a place in its text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioError {
    pub span: Span,
    pub message: String,
}

impl ScenarioError {
    fn at(span: Span, message: impl Into<String>) -> ScenarioError {
        ScenarioError {
            span,
            message: message.into(),
        }
    }

    /// The message with the offending line and a caret under the place, as compilers
    /// print them: `name:line:col: message`, then the line, then `^^^`.
    pub fn render(&self, src: &str, name: &str) -> String {
        let Span { line, col, .. } = self.span;
        let mut out = format!("{name}:{line}:{col}: {}\n", self.message);
        if let Some(text) = src.lines().nth(line.saturating_sub(1) as usize) {
            let width = line.to_string().len();
            let len = src
                .get(self.span.start..self.span.end)
                .map_or(1, |s| s.chars().take_while(|&c| c != '\n').count().max(1));
            let pad: String = text
                .chars()
                .take(col.saturating_sub(1) as usize)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            out.push_str(&format!("{:width$} |\n", ""));
            out.push_str(&format!("{line} | {text}\n"));
            out.push_str(&format!("{:width$} | {pad}{}\n", "", "^".repeat(len)));
        }
        out
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.span.line, self.span.col, self.message)
    }
}

impl std::error::Error for ScenarioError {}

// ---------------------------------------------------------------------------------------
// Syntax

/// Which actor a block is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Actor {
    Khugepaged,
    Fault,
    /// A reader; `None`: the kind the `reader` setting names.
    Reader(Option<ReaderKind>),
}

impl Actor {
    fn name(self) -> &'static str {
        match self {
            Actor::Khugepaged => "khugepaged",
            Actor::Fault => "fault",
            Actor::Reader(None) => "reader",
            Actor::Reader(Some(ReaderKind::GupFast)) => "gup_fast",
            Actor::Reader(Some(ReaderKind::Walker)) => "walker",
        }
    }
    fn role_bit(self) -> u8 {
        match self {
            Actor::Khugepaged => prim::role::COLLAPSER,
            Actor::Fault => prim::role::POPULATOR,
            Actor::Reader(_) => prim::role::READER,
        }
    }
}

/// One statement of a block.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Stmt {
    /// `name();`
    Call { name: String, span: Span },
    /// `if ([!]cond()) { … } [else { … }]`
    If {
        cond: String,
        negated: bool,
        span: Span,
        then: Vec<Stmt>,
        other: Vec<Stmt>,
    },
    /// `do { … } while (!installed);`
    DoWhile { body: Vec<Stmt>, span: Span },
}

/// One CPU's block.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Block {
    pub cpu: u32,
    pub actor: Actor,
    pub span: Span,
    pub body: Vec<Stmt>,
}

/// The `exists` clause.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Exists {
    /// `~exists`: the claim is that none of the hazards happens.
    pub negated: bool,
    pub hazards: Vec<Hazard>,
    pub span: Span,
}

impl Exists {
    /// What the built-in presets ask: any torn read or stale use.
    pub fn default_clause() -> Exists {
        Exists {
            negated: false,
            hazards: vec![Hazard::Torn, Hazard::Stale],
            span: Span::default(),
        }
    }
    /// Whether the file's claim holds given the checker's verdict: `exists` claims one
    /// of its hazards is reachable, `~exists` that none is. `None`: undecided (the
    /// search was incomplete, or stopped at a deadlock the clause does not name).
    pub fn holds(&self, v: crate::check::Verdict) -> Option<bool> {
        use crate::check::Verdict as V;
        let named = |h| self.hazards.contains(&h);
        let found = match v {
            V::Safe => false,
            V::Torn => named(Hazard::Torn),
            V::Stale => named(Hazard::Stale),
            V::Deadlock if named(Hazard::Deadlock) => true,
            V::Deadlock | V::Incomplete => return None,
        };
        Some(found != self.negated)
    }

    /// The clause as written.
    pub fn text(&self) -> String {
        print_exists(self).trim_end().to_string()
    }

    /// Whether the checker stops at `h` (a deadlock always stops it).
    pub fn asks(&self, h: Hazard) -> bool {
        h == Hazard::Deadlock || self.hazards.contains(&h)
    }
    fn same_question(&self, o: &Exists) -> bool {
        let norm = |e: &Exists| {
            let mut v: Vec<Hazard> = e.hazards.clone();
            v.push(Hazard::Deadlock);
            v.sort();
            v.dedup();
            v
        };
        norm(self) == norm(o)
    }
}

/// A parsed scenario file.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    /// The settings as written: (key, value, where).
    pub settings: Vec<(String, String, Span)>,
    pub blocks: Vec<Block>,
    pub exists: Exists,
    /// The text it was parsed from.
    pub source: String,
}

impl PartialEq for Scenario {
    fn eq(&self, o: &Scenario) -> bool {
        self.source == o.source
    }
}
impl Eq for Scenario {}
impl std::hash::Hash for Scenario {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.source.hash(h)
    }
}

// ---------------------------------------------------------------------------------------
// Lexing

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Punct(&'static str),
    Eof,
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    span: Span,
}

const PUNCTS: &[&str] = &["\\/", "||", "{", "}", "(", ")", ";", "=", "!", "~", ","];

fn lex(src: &str) -> Result<Vec<Token>, ScenarioError> {
    let mut out = Vec::new();
    let b = src.as_bytes();
    let (mut i, mut line, mut line_start) = (0usize, 1u32, 0usize);
    let span_at = |start: usize, end: usize, line: u32, line_start: usize| Span {
        line,
        col: src[line_start..start].chars().count() as u32 + 1,
        start,
        end,
    };
    while i < b.len() {
        let c = b[i];
        if c == b'\n' {
            i += 1;
            line += 1;
            line_start = i;
            continue;
        }
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        // Comments.
        let close = match (c, b.get(i + 1)) {
            (b'/', Some(b'/')) => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            (b'/', Some(b'*')) => Some("*/"),
            (b'(', Some(b'*')) => Some("*)"),
            _ => None,
        };
        if let Some(close) = close {
            let (sl, ss) = (line, line_start);
            let start = i;
            i += 2;
            loop {
                if i >= b.len() {
                    return Err(ScenarioError::at(
                        span_at(start, start + 2, sl, ss),
                        format!("this comment is never closed (no '{close}')"),
                    ));
                }
                if b[i..].starts_with(close.as_bytes()) {
                    i += 2;
                    break;
                }
                if b[i] == b'\n' {
                    line += 1;
                    line_start = i + 1;
                }
                i += 1;
            }
            continue;
        }
        let start = i;
        if c == b'"' {
            let mut s = String::new();
            i += 1;
            loop {
                match src[i..].chars().next() {
                    None | Some('\n') => {
                        return Err(ScenarioError::at(
                            span_at(start, start + 1, line, line_start),
                            "this string is never closed (no '\"' on its line)",
                        ))
                    }
                    Some('"') => {
                        i += 1;
                        break;
                    }
                    Some('\\') if matches!(b.get(i + 1), Some(b'"') | Some(b'\\')) => {
                        s.push(b[i + 1] as char);
                        i += 2;
                    }
                    Some(ch) => {
                        s.push(ch);
                        i += ch.len_utf8();
                    }
                }
            }
            out.push(Token {
                tok: Tok::Str(s),
                span: span_at(start, i, line, line_start),
            });
            continue;
        }
        if c.is_ascii_alphanumeric() || c == b'_' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'-') {
                i += 1;
            }
            out.push(Token {
                tok: Tok::Ident(src[start..i].to_string()),
                span: span_at(start, i, line, line_start),
            });
            continue;
        }
        if let Some(p) = PUNCTS.iter().find(|p| src[i..].starts_with(**p)) {
            i += p.len();
            out.push(Token {
                tok: Tok::Punct(p),
                span: span_at(start, i, line, line_start),
            });
            continue;
        }
        let ch = src[i..].chars().next().unwrap_or('?');
        return Err(ScenarioError::at(
            span_at(start, start + ch.len_utf8(), line, line_start),
            format!("unexpected character {ch:?}"),
        ));
    }
    out.push(Token {
        tok: Tok::Eof,
        span: span_at(b.len(), b.len(), line, line_start),
    });
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Parsing

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    /// Open braces, for "unbalanced" messages that point at the opener.
    open: Vec<Span>,
}

/// `P0`, `P12`: the head of a CPU block.
fn is_block_head(w: &str) -> bool {
    w.len() > 1 && w.starts_with('P') && w[1..].bytes().all(|c| c.is_ascii_digit())
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Ident(s) => format!("'{s}'"),
        Tok::Str(_) => "a string".into(),
        Tok::Punct(p) => format!("'{p}'"),
        Tok::Eof => "the end of the file".into(),
    }
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.toks[self.pos]
    }
    fn next(&mut self) -> Token {
        let t = self.toks[self.pos].clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }
    fn is(&self, p: &str) -> bool {
        matches!(&self.peek().tok, Tok::Punct(q) if *q == p)
    }
    fn is_word(&self, w: &str) -> bool {
        matches!(&self.peek().tok, Tok::Ident(s) if s == w)
    }
    fn err<T>(&self, what: &str) -> Result<T, ScenarioError> {
        let t = self.peek();
        if t.tok == Tok::Eof {
            if let Some(open) = self.open.last() {
                return Err(ScenarioError::at(
                    *open,
                    format!("unbalanced braces: this '{{' is never closed (expected {what} before the end of the file)"),
                ));
            }
        }
        if t.tok == Tok::Punct("}") && self.open.is_empty() {
            return Err(ScenarioError::at(
                t.span,
                "unbalanced braces: this '}' closes nothing",
            ));
        }
        Err(ScenarioError::at(
            t.span,
            format!("expected {what}, found {}", describe(&t.tok)),
        ))
    }
    fn expect(&mut self, p: &'static str) -> Result<Span, ScenarioError> {
        if self.is(p) {
            let s = self.next().span;
            if p == "{" {
                self.open.push(s);
            } else if p == "}" {
                self.open.pop();
            }
            Ok(s)
        } else {
            self.err(&format!("'{p}'"))
        }
    }
    fn ident(&mut self, what: &str) -> Result<(String, Span), ScenarioError> {
        match &self.peek().tok {
            Tok::Ident(s) => {
                let s = s.clone();
                Ok((s, self.next().span))
            }
            _ => self.err(what),
        }
    }

    fn file(&mut self, source: &str) -> Result<Scenario, ScenarioError> {
        if !self.is_word("tornsim") {
            return self.err("'tornsim NAME' on the first line");
        }
        self.next();
        let (name, _) = self.ident("the scenario's name after 'tornsim'")?;
        let description = match &self.peek().tok {
            Tok::Str(s) => {
                let s = s.clone();
                self.next();
                s
            }
            _ => String::new(),
        };
        let mut settings = Vec::new();
        if self.is("{") {
            self.expect("{")?;
            while !self.is("}") {
                let (k, ks) = self.ident("a setting name (or '}')")?;
                if self.is("(") && is_block_head(&k) {
                    let open = *self.open.last().expect("inside the settings' braces");
                    return Err(ScenarioError::at(
                        open,
                        format!(
                            "unbalanced braces: the settings' '{{' is not closed before {k} begins"
                        ),
                    ));
                }
                self.expect("=")?;
                let (v, vs) = match &self.peek().tok {
                    Tok::Ident(s) | Tok::Str(s) => {
                        let s = s.clone();
                        (s, self.next().span)
                    }
                    _ => return self.err(&format!("a value for '{k}'")),
                };
                settings.push((k, v, Span { end: vs.end, ..ks }));
                if !self.is("}") {
                    self.expect(";")?;
                }
            }
            self.expect("}")?;
        }
        let mut blocks = Vec::new();
        while let Tok::Ident(w) = &self.peek().tok {
            if w == "exists" {
                break;
            }
            blocks.push(self.block()?);
        }
        if blocks.is_empty() {
            return self.err("a CPU block such as 'P0(khugepaged) {'");
        }
        let exists = self.exists()?;
        if self.peek().tok != Tok::Eof {
            return self.err("the end of the file after the exists clause");
        }
        Ok(Scenario {
            name,
            description,
            settings,
            blocks,
            exists,
            source: source.to_string(),
        })
    }

    fn block(&mut self) -> Result<Block, ScenarioError> {
        let (head, span) = self.ident("a CPU block such as 'P0(khugepaged)'")?;
        let cpu = head
            .strip_prefix('P')
            .and_then(|n| n.parse::<u32>().ok())
            .filter(|_| head.len() > 1 && head[1..].bytes().all(|c| c.is_ascii_digit()))
            .ok_or_else(|| {
                ScenarioError::at(
                    span,
                    format!("expected a CPU block such as 'P0(khugepaged)', found '{head}'"),
                )
            })?;
        self.expect("(")?;
        let (role, rs) = self.ident("the actor: khugepaged, fault, gup_fast, walker or reader")?;
        let actor = match role.as_str() {
            "khugepaged" => Actor::Khugepaged,
            "fault" => Actor::Fault,
            "gup_fast" => Actor::Reader(Some(ReaderKind::GupFast)),
            "walker" => Actor::Reader(Some(ReaderKind::Walker)),
            "reader" => Actor::Reader(None),
            _ => {
                return Err(ScenarioError::at(
                    rs,
                    format!(
                    "unknown actor '{role}' (known: khugepaged, fault, gup_fast, walker, reader)"
                ),
                ))
            }
        };
        self.expect(")")?;
        let body = self.body()?;
        Ok(Block {
            cpu,
            actor,
            span,
            body,
        })
    }

    /// `{ stmt* }`
    fn body(&mut self) -> Result<Vec<Stmt>, ScenarioError> {
        self.expect("{")?;
        let mut v = Vec::new();
        while !self.is("}") {
            v.push(self.stmt()?);
        }
        self.expect("}")?;
        Ok(v)
    }

    /// A block or a single statement (after `if (…)` or `else`).
    fn arm(&mut self) -> Result<Vec<Stmt>, ScenarioError> {
        if self.is("{") {
            self.body()
        } else {
            Ok(vec![self.stmt()?])
        }
    }

    fn stmt(&mut self) -> Result<Stmt, ScenarioError> {
        if self.peek().tok == Tok::Eof {
            return self.err("'}'");
        }
        let (w, span) = self.ident("a primitive call such as 'pmd_lock();' or '}'")?;
        if self.is("(") && is_block_head(&w) {
            if let Some(open) = self.open.last() {
                return Err(ScenarioError::at(
                    *open,
                    format!("unbalanced braces: this '{{' is not closed before {w} begins"),
                ));
            }
        }
        match w.as_str() {
            "if" => {
                self.expect("(")?;
                let negated = self.is("!");
                if negated {
                    self.next();
                }
                let (cond, cs) = self.ident("a condition such as 'pmd_none()'")?;
                self.expect("(")?;
                self.expect(")")?;
                self.expect(")")?;
                let then = self.arm()?;
                let other = if self.is_word("else") {
                    self.next();
                    self.arm()?
                } else {
                    Vec::new()
                };
                Ok(Stmt::If {
                    cond,
                    negated,
                    span: cs,
                    then,
                    other,
                })
            }
            "do" => {
                let body = self.body()?;
                if !self.is_word("while") {
                    return self.err("'while (!installed);' after the do block");
                }
                self.next();
                self.expect("(")?;
                let neg = self.is("!");
                let at = self.peek().span;
                if neg {
                    self.next();
                }
                let (cond, _) = self.ident("'!installed'")?;
                if !neg || cond != "installed" {
                    return Err(ScenarioError::at(
                        at,
                        "the only loop condition is '!installed' (retry until the populator has installed its table)",
                    ));
                }
                self.expect(")")?;
                self.expect(";")?;
                Ok(Stmt::DoWhile { body, span })
            }
            "while" | "for" | "goto" | "return" | "else" => Err(ScenarioError::at(
                span,
                format!("'{w}' is not part of the scenario language (statements are calls, 'if (pmd_none())' and 'do {{ … }} while (!installed);')"),
            )),
            _ => {
                self.expect("(")?;
                self.expect(")")?;
                self.expect(";")?;
                Ok(Stmt::Call { name: w, span })
            }
        }
    }

    fn exists(&mut self) -> Result<Exists, ScenarioError> {
        let start = self.peek().span;
        let negated = self.is("~");
        if negated {
            self.next();
        }
        if !self.is_word("exists") {
            return self.err("'exists (torn)' (or '~exists (…)') at the end");
        }
        self.next();
        self.expect("(")?;
        let mut hazards = Vec::new();
        loop {
            if self.is("~") {
                return Err(ScenarioError::at(
                    self.peek().span,
                    "negate the whole clause instead: '~exists (torn)' claims no torn read is reachable",
                ));
            }
            let (h, hs) = self.ident("torn, stale or deadlock")?;
            hazards.push(match h.as_str() {
                "torn" => Hazard::Torn,
                "stale" => Hazard::Stale,
                "deadlock" => Hazard::Deadlock,
                _ => {
                    return Err(ScenarioError::at(
                        hs,
                        format!("unknown hazard '{h}' (known: torn, stale, deadlock)"),
                    ))
                }
            });
            if self.is("\\/") || self.is("||") {
                self.next();
            } else {
                break;
            }
        }
        let end = self.expect(")")?;
        Ok(Exists {
            negated,
            hazards,
            span: Span {
                end: end.end,
                ..start
            },
        })
    }
}

/// Parses a scenario file. Settings are checked here; programs when compiled.
pub fn parse(src: &str) -> Result<Scenario, ScenarioError> {
    let toks = lex(src)?;
    let mut p = Parser {
        toks,
        pos: 0,
        open: Vec::new(),
    };
    let s = p.file(src)?;
    // Every setting must name a knob and a value that knob takes.
    let mut c = Config::default();
    for (k, v, span) in &s.settings {
        if k == "sync" {
            return Err(ScenarioError::at(
                *span,
                "'sync' is not a setting in a scenario: the order of the lines is the placement",
            ));
        }
        c.set(k, v)
            .map_err(|e| ScenarioError::at(*span, e.to_string()))?;
    }
    Ok(s)
}

// ---------------------------------------------------------------------------------------
// Printing

fn print_stmts(out: &mut String, stmts: &[Stmt], depth: usize) {
    let ind = "    ".repeat(depth);
    for s in stmts {
        match s {
            Stmt::Call { name, .. } => out.push_str(&format!("{ind}{name}();\n")),
            Stmt::If {
                cond,
                negated,
                then,
                other,
                ..
            } => {
                let bang = if *negated { "!" } else { "" };
                let arm = |out: &mut String, v: &[Stmt], head: String| {
                    if let [one @ Stmt::Call { .. }] = v {
                        out.push_str(&format!("{head}\n"));
                        print_stmts(out, std::slice::from_ref(one), depth + 1);
                        false
                    } else {
                        out.push_str(&format!("{head} {{\n"));
                        print_stmts(out, v, depth + 1);
                        true
                    }
                };
                let braced = arm(out, then, format!("{ind}if ({bang}{cond}())"));
                if braced {
                    out.push_str(&format!("{ind}}}\n"));
                }
                if !other.is_empty() && arm(out, other, format!("{ind}else")) {
                    out.push_str(&format!("{ind}}}\n"));
                }
            }
            Stmt::DoWhile { body, .. } => {
                out.push_str(&format!("{ind}do {{\n"));
                print_stmts(out, body, depth + 1);
                out.push_str(&format!("{ind}}} while (!installed);\n"));
            }
        }
    }
}

fn print_blocks(blocks: &[Block], reader: Option<ReaderKind>) -> String {
    let mut out = String::new();
    for b in blocks {
        let actor = match (b.actor, reader) {
            (Actor::Reader(_), Some(k)) => Actor::Reader(Some(k)),
            (a, _) => a,
        };
        out.push_str(&format!("P{}({}) {{\n", b.cpu, actor.name()));
        print_stmts(&mut out, &b.body, 1);
        out.push_str("}\n");
    }
    out
}

fn print_exists(e: &Exists) -> String {
    let hs: Vec<&str> = e.hazards.iter().map(|h| h.name()).collect();
    format!(
        "{}exists ({})\n",
        if e.negated { "~" } else { "" },
        hs.join(" \\/ ")
    )
}

/// Writes `s` back as text in the canonical layout: one primitive per line, four-space
/// indents, the settings of `cfg` (every knob but `sync`), no comments.
pub fn print(s: &Scenario, cfg: &Config) -> String {
    let mut out = format!("tornsim {}\n", s.name);
    if !s.description.is_empty() {
        out.push_str(&format!(
            "\"{}\"\n",
            s.description.replace('\\', "\\\\").replace('"', "\\\"")
        ));
    }
    let keys = [
        "mode", "paravirt", "readers", "cpus", "alloc", "clear", "set", "free",
    ];
    let kv: Vec<String> = keys
        .iter()
        .filter(|k| !(**k == "paravirt" && cfg.mode != crate::config::Mode::NativePae))
        .map(|k| format!("{k} = {};", cfg.get(k).unwrap_or_default()))
        .collect();
    out.push_str(&format!("{{ {} }}\n\n", kv.join(" ")));
    out.push_str(&print_blocks(&s.blocks, Some(cfg.reader)));
    out.push('\n');
    out.push_str(&print_exists(&s.exists));
    out
}

/// The program part (blocks and exists, reader kinds folded into the `reader` setting) in
/// canonical form: what identifies a scenario's semantics.
fn program_text(s: &Scenario) -> String {
    let mut blocks = s.blocks.clone();
    for b in &mut blocks {
        if let Actor::Reader(_) = b.actor {
            b.actor = Actor::Reader(None);
        }
    }
    print_blocks(&blocks, None)
}

/// A 64-bit FNV-1a hash of the scenario's program and `exists` clause (not its name,
/// description, settings or comments): schedules of a scenario carry it.
pub fn program_hash(s: &Scenario) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in program_text(s)
        .bytes()
        .chain(print_exists(&s.exists).bytes())
    {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

// ---------------------------------------------------------------------------------------
// Built-in scenarios

/// The built-in scenario files, by name: the four placements and the presets.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "under-ptl",
        include_str!("../../../scenarios/under-ptl.litmus"),
    ),
    (
        "after-unlock",
        include_str!("../../../scenarios/after-unlock.litmus"),
    ),
    ("none", include_str!("../../../scenarios/none.litmus")),
    (
        "flush-sync-skip",
        include_str!("../../../scenarios/flush-sync-skip.litmus"),
    ),
    (
        "seed-thread-v1",
        include_str!("../../../scenarios/seed-thread-v1.litmus"),
    ),
    ("merged", include_str!("../../../scenarios/merged.litmus")),
    (
        "native-gup",
        include_str!("../../../scenarios/native-gup.litmus"),
    ),
    (
        "native-walker",
        include_str!("../../../scenarios/native-walker.litmus"),
    ),
    ("non-pae", include_str!("../../../scenarios/non-pae.litmus")),
    (
        "v3-skip-walker",
        include_str!("../../../scenarios/v3-skip-walker.litmus"),
    ),
    (
        "v3-skip-xen",
        include_str!("../../../scenarios/v3-skip-xen.litmus"),
    ),
    (
        "no-sync-xen",
        include_str!("../../../scenarios/no-sync-xen.litmus"),
    ),
    (
        "sync-twice",
        include_str!("../../../scenarios/sync-twice.litmus"),
    ),
    (
        "ptl-reader",
        include_str!("../../../scenarios/ptl-reader.litmus"),
    ),
    (
        "high-first",
        include_str!("../../../scenarios/high-first.litmus"),
    ),
    (
        "no-recheck",
        include_str!("../../../scenarios/no-recheck.litmus"),
    ),
    (
        "irq-off-ptl-deadlock",
        include_str!("../../../scenarios/irq-off-ptl-deadlock.litmus"),
    ),
];

/// The names of the presets among [`BUILTIN`], in display order.
pub const PRESETS: &[&str] = &[
    "seed-thread-v1",
    "merged",
    "native-gup",
    "native-walker",
    "non-pae",
    "v3-skip-walker",
    "v3-skip-xen",
    "no-sync-xen",
];

/// The built-in placement programs, parsed once.
fn placements() -> &'static [(SyncPlacement, Scenario)] {
    static P: OnceLock<Vec<(SyncPlacement, Scenario)>> = OnceLock::new();
    P.get_or_init(|| {
        SyncPlacement::ALL
            .iter()
            .map(|&p| {
                let src = builtin_source(p.name()).expect("every placement has a file");
                (p, parse(src).expect("the built-in placement files parse"))
            })
            .collect()
    })
}

/// The text of a built-in scenario file.
pub fn builtin_source(name: &str) -> Option<&'static str> {
    BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// The placement file's scenario for `p`.
pub fn placement(p: SyncPlacement) -> &'static Scenario {
    &placements()
        .iter()
        .find(|(q, _)| *q == p)
        .expect("every placement is built in")
        .1
}

/// The placement whose program `s` is, if any, and if it asks the presets' question.
pub fn as_placement(s: &Scenario) -> Option<SyncPlacement> {
    if !s.exists.same_question(&Exists::default_clause()) {
        return None;
    }
    let text = program_text(s);
    placements()
        .iter()
        .find(|(_, p)| program_text(p) == text)
        .map(|(q, _)| *q)
}

/// A scenario file turned into a configuration: its settings applied to the defaults
/// (the reader count defaults to the number of reader blocks), then either a built-in
/// placement (`sync`) or the scenario itself attached.
pub fn to_config(s: &Scenario) -> Result<Config, ScenarioError> {
    let mut c = Config {
        readers: s
            .blocks
            .iter()
            .filter(|b| matches!(b.actor, Actor::Reader(_)))
            .count()
            .max(1) as u32,
        ..Config::default()
    };
    let mut kinds = s.blocks.iter().filter_map(|b| match b.actor {
        Actor::Reader(Some(k)) => Some((k, b.span)),
        _ => None,
    });
    if let Some((k, _)) = kinds.next() {
        c.reader = k;
        if let Some((_, span)) = kinds.find(|(k2, _)| *k2 != k) {
            return Err(ScenarioError::at(
                span,
                "every reader block must be of one kind (gup_fast or walker): the kind decides mm_cpumask for all readers",
            ));
        }
    }
    for (k, v, span) in &s.settings {
        if k == "reader"
            && s.blocks
                .iter()
                .any(|b| matches!(b.actor, Actor::Reader(Some(kk)) if kk.name() != v))
        {
            return Err(ScenarioError::at(
                *span,
                format!("'reader = {v}' contradicts the reader blocks' kind"),
            ));
        }
        c.set(k, v)
            .map_err(|e| ScenarioError::at(*span, e.to_string()))?;
    }
    attach(s, &mut c);
    Ok(c)
}

/// Makes `c` run `s`: a built-in placement by name, else the scenario itself.
pub fn attach(s: &Scenario, c: &mut Config) {
    match as_placement(s) {
        Some(p) => {
            c.sync = p;
            c.scenario = None;
        }
        None => {
            c.scenario = Some(Arc::new(s.clone()));
        }
    }
}

/// Parses and configures in one call.
pub fn load(src: &str) -> Result<(Scenario, Config), ScenarioError> {
    let s = parse(src)?;
    let c = to_config(&s)?;
    Ok((s, c))
}

/// Parses, configures and compiles: every error the file can have on its own settings,
/// as the page's editor shows them while the user types.
pub fn load_checked(src: &str) -> Result<(Scenario, Config), ScenarioError> {
    let (s, c) = load(src)?;
    compile(&s, &c)?;
    Ok((s, c))
}

/// The longest scenario text a link may carry once unpacked: far beyond any real file,
/// small enough that a hostile link cannot make the page inflate gigabytes.
pub const MAX_PACKED_TEXT: usize = 64 * 1024;

/// A scenario's text for a URL: raw DEFLATE, then base64url without padding, so a link
/// carries an edited file in a few hundred characters and needs no escaping.
pub fn pack(text: &str) -> String {
    crate::schedule::encode_b64(&miniz_oxide::deflate::compress_to_vec(text.as_bytes(), 9))
}

/// The text [`pack`] made, or why this is not one.
pub fn unpack(packed: &str) -> Result<String, String> {
    let bytes = crate::schedule::decode_b64(packed.trim())
        .ok_or("it is not base64url (A-Z a-z 0-9 - _)")?;
    let text = miniz_oxide::inflate::decompress_to_vec_with_limit(&bytes, MAX_PACKED_TEXT)
        .map_err(|e| match e.status {
            miniz_oxide::inflate::TINFLStatus::HasMoreOutput => {
                format!("it unpacks to more than {MAX_PACKED_TEXT} bytes")
            }
            _ => "it is not a packed scenario (truncated or mistyped?)".to_string(),
        })?;
    String::from_utf8(text).map_err(|_| "it unpacks to text that is not UTF-8".to_string())
}

/// A reviewer's edit: the first line whose text (trimmed) is `line` moved to stand just
/// before the first line that is `before`. `None` if either is missing. The edit the
/// seed thread is about is `move_line(merged, "spin_unlock();", "pmdp_get_lockless_sync();")`.
pub fn move_line(src: &str, line: &str, before: &str) -> Option<String> {
    let mut lines: Vec<&str> = src.lines().collect();
    let from = lines.iter().position(|l| l.trim() == line)?;
    let moved = lines.remove(from);
    let to = lines.iter().position(|l| l.trim() == before)?;
    lines.insert(to, moved);
    let mut out = lines.join("\n");
    if src.ends_with('\n') {
        out.push('\n');
    }
    Some(out)
}

/// The scenario `cfg` runs: its own, or its placement's.
pub fn of_config(cfg: &Config) -> &Scenario {
    match &cfg.scenario {
        Some(s) => s,
        None => placement(cfg.sync),
    }
}

// ---------------------------------------------------------------------------------------
// Compiling

/// "This writer has finished": the pc of a CPU past its last line.
pub const DONE: u8 = u8::MAX;

/// One compiled step: the op, and where the CPU goes after it. Four bytes, so that
/// the machine finds a CPU's next step with one shifted load.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(C, align(4))]
pub struct Instr {
    pub op: Op,
    /// The usual successor.
    pub next: u8,
    /// The other outcome: a check that found the PMD populated, a re-check that failed
    /// (back to the read's first load), an unlock that must retry, a flush that sent no
    /// IPI (to the sync `pmdp_collapse_flush_sync()` then does).
    pub alt: u8,
    /// After a read that returned a none PMD: past the `pte_offset_map()` that follows
    /// (so `skip != next` says a dereference uses the read's value).
    pub skip: u8,
}

impl Instr {
    pub const DONE: Instr = Instr {
        op: Op::Done,
        next: DONE,
        alt: DONE,
        skip: DONE,
    };
}

/// The compiled form of a scenario under a configuration: one flat code array that
/// every CPU indexes with its pc, readers running the same block sharing code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    /// 256 entries, so a `u8` pc never needs a bounds check; unused ones are `Done`.
    pub code: Box<[Instr; 256]>,
    /// Each CPU's first pc (`DONE` for idle CPUs).
    pub entry: Vec<u8>,
    /// Each CPU's block, as an index into `blocks` (`u8::MAX` for idle CPUs).
    pub block_of: Vec<u8>,
    /// Each block's code range.
    pub blocks: Vec<(u8, u8)>,
    /// Each instruction's source line (0: none).
    pub lines: Vec<u32>,
    /// The scenario's hash ([`program_hash`]), or `None` for a built-in placement.
    pub hash: Option<u64>,
    pub exists: Exists,
}

impl Program {
    pub fn instr(&self, pc: u8) -> Instr {
        self.code[pc as usize]
    }
    /// The pc's index inside its block's code.
    pub fn local(&self, cpu: u8, pc: u8) -> u8 {
        match self.block_of.get(cpu as usize) {
            Some(&b) if b != u8::MAX && pc != DONE => pc - self.blocks[b as usize].0,
            _ => pc,
        }
    }
    /// Whether any op in `cpu`'s block is `op`.
    pub fn cpu_has(&self, cpu: u8, f: impl Fn(Op) -> bool) -> bool {
        match self.block_of.get(cpu as usize) {
            Some(&b) if b != u8::MAX => {
                let (s, e) = self.blocks[b as usize];
                (s..e).any(|pc| f(self.code[pc as usize].op))
            }
            _ => false,
        }
    }
}

struct Emitter<'a> {
    cfg: &'a Config,
    code: Vec<Instr>,
    lines: Vec<u32>,
    actor: Actor,
    /// PTL held, interrupts off, on the straight path being compiled.
    held: bool,
    irq_off: bool,
    clears: u32,
    populates: u32,
    allocs: u32,
    in_if_none: bool,
    /// The read currently being assembled: pc of its first load.
    run_start: Option<usize>,
    /// Where this block's code starts.
    start: usize,
}

impl Emitter<'_> {
    fn push(&mut self, op: Op, line: u32) -> usize {
        let i = self.code.len();
        let n = (i + 1) as u8;
        self.code.push(Instr {
            op,
            next: n,
            alt: n,
            skip: n,
        });
        self.lines.push(line);
        i
    }

    fn stmts(&mut self, stmts: &[Stmt]) -> Result<(), ScenarioError> {
        for s in stmts {
            self.stmt(s)?;
        }
        Ok(())
    }

    fn stmt(&mut self, s: &Stmt) -> Result<(), ScenarioError> {
        match s {
            Stmt::Call { name, span } => self.call(name, *span),
            Stmt::If {
                cond,
                negated,
                span,
                then,
                other,
            } => {
                let p = self.known(cond, *span)?;
                if p.usage != Use::Condition {
                    return Err(ScenarioError::at(
                        *span,
                        format!("{cond}() is a statement, not a condition (conditions: pmd_none)"),
                    ));
                }
                self.allowed(p, *span)?;
                if !self.held {
                    return Err(ScenarioError::at(
                        *span,
                        "pmd_none() is tested under the PTL here (one step for both halves): take pmd_lock() first",
                    ));
                }
                self.end_run();
                let at = self.push(Op::CheckNone, span.line);
                let (held, irq) = (self.held, self.irq_off);
                let was = self.in_if_none;
                self.in_if_none = !negated;
                self.stmts(then)?;
                self.end_run();
                let mid = self.code.len();
                let after_then = (self.held, self.irq_off);
                self.in_if_none = *negated;
                (self.held, self.irq_off) = (held, irq);
                self.stmts(other)?;
                self.end_run();
                self.in_if_none = was;
                let end = self.code.len();
                if (self.held, self.irq_off) != after_then {
                    return Err(ScenarioError::at(
                        *span,
                        "the two branches of this if leave the PTL or interrupts in different states",
                    ));
                }
                // Falling out of the then-branch skips the else-branch.
                for ins in &mut self.code[at + 1..mid] {
                    for t in [&mut ins.next, &mut ins.alt, &mut ins.skip] {
                        if *t as usize == mid {
                            *t = end as u8;
                        }
                    }
                }
                let then_at = if mid > at + 1 { at + 1 } else { end };
                // `next`: the PMD was none; `alt`: it was populated.
                let (none, populated) = if *negated {
                    (mid, then_at)
                } else {
                    (then_at, mid)
                };
                self.code[at].next = none as u8;
                self.code[at].alt = populated as u8;
                Ok(())
            }
            Stmt::DoWhile { body, span } => {
                self.end_run();
                let start = self.code.len();
                let held = self.held;
                self.stmts(body)?;
                self.end_run();
                let last = self.code.len().checked_sub(1).filter(|&l| l >= start);
                match last.map(|l| (l, self.code[l].op)) {
                    Some((l, Op::Unlock)) if self.held == held => {
                        self.code[l].alt = start as u8;
                        Ok(())
                    }
                    Some((_, Op::Unlock)) => Err(ScenarioError::at(
                        *span,
                        "the loop body must leave the PTL as it found it",
                    )),
                    _ => Err(ScenarioError::at(
                        *span,
                        "the last line of 'do { … } while (!installed);' must be spin_unlock(): the retry is taken as the lock is dropped",
                    )),
                }
            }
        }
    }

    fn known(&self, name: &str, span: Span) -> Result<&'static prim::Prim, ScenarioError> {
        prim::lookup(name).ok_or_else(|| {
            let hint = prim::nearest(name)
                .map(|n| format!(" (did you mean '{n}'?)"))
                .unwrap_or_default();
            ScenarioError::at(
                span,
                format!("unknown primitive '{name}'{hint}; `tornsim primitives` lists them"),
            )
        })
    }

    fn allowed(&self, p: &prim::Prim, span: Span) -> Result<(), ScenarioError> {
        if p.roles & self.actor.role_bit() == 0 {
            return Err(ScenarioError::at(
                span,
                format!(
                    "{}() is not for a {} block (it is for: {})",
                    p.name,
                    self.actor.name(),
                    prim::role::names(p.roles)
                ),
            ));
        }
        Ok(())
    }

    /// Ends the read being assembled: its last plain load becomes the one that returns.
    fn end_run(&mut self) {
        if self.run_start.take().is_some() {
            if let Some(last) = self.code.last_mut() {
                last.op = match last.op {
                    Op::LoadLow => Op::LoadLowEnd,
                    Op::LoadHigh => Op::LoadHighEnd,
                    o => o,
                };
            }
        }
    }

    fn call(&mut self, name: &str, span: Span) -> Result<(), ScenarioError> {
        let p = self.known(name, span)?;
        if p.usage == Use::Condition {
            return Err(ScenarioError::at(
                span,
                format!("{name}() is a condition: write 'if ({name}()) {{ … }}'"),
            ));
        }
        self.allowed(p, span)?;
        let ops = (p.ops)(self.cfg);
        for (k, &op) in ops.iter().enumerate() {
            if !op.is_load() {
                self.end_run();
            }
            match op {
                Op::Lock if self.held => {
                    return Err(ScenarioError::at(
                        span,
                        "pmd_lock() while this CPU already holds the PTL: it would spin on itself forever",
                    ))
                }
                Op::Lock => self.held = true,
                Op::Unlock if !self.held => {
                    return Err(ScenarioError::at(
                        span,
                        "spin_unlock() without pmd_lock(): this CPU does not hold the PTL here",
                    ))
                }
                Op::Unlock => self.held = false,
                Op::IrqOff if self.irq_off => {
                    return Err(ScenarioError::at(
                        span,
                        "local_irq_save() with interrupts already disabled (nesting is not modelled)",
                    ))
                }
                Op::IrqOff => self.irq_off = true,
                Op::IrqOn if !self.irq_off => {
                    return Err(ScenarioError::at(
                        span,
                        "local_irq_restore() without local_irq_save()",
                    ))
                }
                Op::IrqOn => self.irq_off = false,
                Op::Clear | Op::ClearLow => self.clears += 1,
                Op::Set | Op::SetHigh => {
                    if !self.in_if_none {
                        return Err(ScenarioError::at(
                            span,
                            "pmd_populate() must be inside 'if (pmd_none())': the model's PMD goes old -> none -> new, so the new table is only installed over a none PMD",
                        ));
                    }
                    if self.allocs == 0 {
                        return Err(ScenarioError::at(
                            span,
                            "pmd_populate() before pte_alloc_one(): there is no new table to install yet",
                        ));
                    }
                    self.populates += 1;
                }
                Op::Alloc => self.allocs += 1,
                Op::Deref => {
                    let prev = (self.code.len() > self.start).then(|| self.code[self.code.len() - 1].op);
                    if !prev.is_some_and(Op::ends_read) {
                        return Err(ScenarioError::at(
                            span,
                            "pte_offset_map() must directly follow the read whose table it uses (pmdp_get_lockless(), pmdp_get(), or your own loads)",
                        ));
                    }
                }
                _ => {}
            }
            let i = self.push(op, span.line);
            if op.is_load() {
                let start = *self.run_start.get_or_insert(i);
                if matches!(op, Op::RecheckLow | Op::RecheckHigh) {
                    self.code[i].alt = start as u8;
                }
                if op.ends_read() {
                    self.run_start = None;
                }
            }
            if op == Op::Deref {
                // The read before skips this dereference when it returns a none PMD.
                let r = i - 1;
                self.code[r].skip = (i + 1) as u8;
            }
            // pmdp_collapse_flush_sync(): a flush that sent IPIs skips the sync after it.
            if op == Op::Flush
                && p.name == "pmdp_collapse_flush_sync"
                && ops.get(k + 1) == Some(&Op::Sync)
            {
                self.code[i].next = (i + 2) as u8;
            }
        }
        Ok(())
    }
}

/// Compiles `s` for `cfg`: checks every block against the model's rules and returns the
/// program the machine runs.
pub fn compile(s: &Scenario, cfg: &Config) -> Result<Program, ScenarioError> {
    let whole = Span {
        line: 1,
        col: 1,
        start: 0,
        end: 0,
    };
    let cpus = cfg.cpu_count();
    let readers = cfg.readers;
    // Blocks: P0 khugepaged, P1 fault, then readers, numbered without gaps.
    let mut blocks: Vec<&Block> = s.blocks.iter().collect();
    blocks.sort_by_key(|b| b.cpu);
    for (i, b) in blocks.iter().enumerate() {
        if b.cpu as usize != i {
            let (what, at) = if (b.cpu as usize) < i {
                (format!("P{} is defined twice", b.cpu), b.span)
            } else {
                (
                    format!("CPU{i} has no program: number the blocks P0, P1, P2, … without gaps"),
                    b.span,
                )
            };
            return Err(ScenarioError::at(at, what));
        }
        let want = match i {
            0 => Some(Actor::Khugepaged),
            1 => Some(Actor::Fault),
            _ => None,
        };
        let ok = match want {
            Some(a) => b.actor == a,
            None => matches!(b.actor, Actor::Reader(_)),
        };
        if !ok {
            let need = match i {
                0 => "P0 must be khugepaged: the model's collapser runs on CPU0".to_string(),
                1 => "P1 must be fault: the model's populator runs on CPU1".to_string(),
                _ => format!("P{i} must be a reader (gup_fast, walker or reader): khugepaged and fault are P0 and P1"),
            };
            return Err(ScenarioError::at(b.span, need));
        }
    }
    if blocks.len() < 2 {
        let (n, what) = if blocks.is_empty() {
            (0, "khugepaged")
        } else {
            (1, "fault")
        };
        return Err(ScenarioError::at(
            blocks.first().map_or(whole, |b| b.span),
            format!("CPU{n} has no program: the scenario needs P{n}({what})"),
        ));
    }
    let reader_blocks = &blocks[2..];
    if reader_blocks.is_empty() {
        return Err(ScenarioError::at(
            blocks[1].span,
            "CPU2 has no program: the scenario needs at least one reader block, P2(gup_fast) or P2(walker)",
        ));
    }
    if reader_blocks.len() as u32 > readers {
        return Err(ScenarioError::at(
            reader_blocks[readers as usize].span,
            format!(
                "{} reader blocks but readers = {readers}: set readers to at least {}",
                reader_blocks.len(),
                reader_blocks.len()
            ),
        ));
    }
    if let Err(e) = cfg.validate() {
        let span = s
            .settings
            .iter()
            .find(|(k, _, _)| *k == e.field)
            .map_or(blocks.last().map_or(whole, |b| b.span), |x| x.2);
        return Err(ScenarioError::at(
            span,
            format!("too many CPUs or readers: {e}"),
        ));
    }
    let mut code: Vec<Instr> = Vec::new();
    let mut lines = Vec::new();
    let mut ranges = Vec::new();
    for b in &blocks {
        let start = code.len();
        let mut e = Emitter {
            cfg,
            code: std::mem::take(&mut code),
            lines: std::mem::take(&mut lines),
            actor: b.actor,
            held: false,
            irq_off: false,
            clears: 0,
            populates: 0,
            allocs: 0,
            in_if_none: false,
            run_start: None,
            start,
        };
        if matches!(b.actor, Actor::Khugepaged | Actor::Reader(_)) {
            if let Some(Stmt::If { span, .. } | Stmt::DoWhile { span, .. }) = find_control(&b.body)
            {
                return Err(ScenarioError::at(
                    *span,
                    "'if' and 'do … while' are for the fault block (P1) only in this model",
                ));
            }
        }
        e.stmts(&b.body)?;
        e.end_run();
        let end = e.code.len();
        if end > 250 {
            return Err(ScenarioError::at(
                b.span,
                "the scenario compiles to more than 250 steps; the machine's pcs are one byte",
            ));
        }
        let close = match b.actor {
            Actor::Reader(_) => "a reader",
            _ => "a writer",
        };
        if e.held {
            return Err(ScenarioError::at(
                b.span,
                format!(
                    "P{} ends holding the PTL ({close} must drop it with spin_unlock())",
                    b.cpu
                ),
            ));
        }
        if e.irq_off {
            return Err(ScenarioError::at(
                b.span,
                format!(
                    "P{} ends with interrupts disabled: add local_irq_restore()",
                    b.cpu
                ),
            ));
        }
        match b.actor {
            Actor::Khugepaged if e.clears != 1 => {
                return Err(ScenarioError::at(
                    b.span,
                    format!(
                        "khugepaged clears the PMD {} times: the model needs exactly one clear (pmdp_collapse_flush(), pmdp_huge_get_and_clear() or pmdp_collapse_flush_sync())",
                        e.clears
                    ),
                ))
            }
            Actor::Fault if e.populates != 1 || e.allocs != 1 => {
                return Err(ScenarioError::at(
                    b.span,
                    "the fault block needs exactly one pte_alloc_one() and one pmd_populate() inside 'if (pmd_none())'",
                ))
            }
            Actor::Reader(_) if end == start => {
                return Err(ScenarioError::at(
                    b.span,
                    "a reader block needs at least one step (it loops over its lines forever)",
                ))
            }
            _ => {}
        }
        // Fall off the end: writers are done, readers loop.
        let to = match b.actor {
            Actor::Reader(_) => start as u8,
            _ => DONE,
        };
        for ins in &mut e.code[start..end] {
            for t in [&mut ins.next, &mut ins.alt, &mut ins.skip] {
                if *t as usize == end {
                    *t = to;
                }
            }
        }
        ranges.push((start as u8, end as u8));
        code = e.code;
        lines = e.lines;
    }
    // The exists clause must be observable by some reader.
    let has = |f: &dyn Fn(Op) -> bool| code[ranges[2].0 as usize..].iter().any(|i| f(i.op));
    let torn_ok = has(&|o| {
        matches!(
            o,
            Op::LoadLowEnd | Op::LoadHighEnd | Op::RecheckLow | Op::RecheckHigh
        )
    });
    let stale_ok = has(&|o| o == Op::Deref);
    let observable = s.exists.hazards.iter().any(|h| match h {
        Hazard::Torn => torn_ok,
        Hazard::Stale => stale_ok,
        Hazard::Deadlock => true,
    });
    if !observable {
        let why: Vec<&str> = s
            .exists
            .hazards
            .iter()
            .map(|h| match h {
                Hazard::Torn => "a torn read needs a reader that loads the PMD in halves (on non-pae pmdp_get_lockless() is one 64-bit load)",
                _ => "a stale use needs a reader that calls pte_offset_map()",
            })
            .collect();
        return Err(ScenarioError::at(
            s.exists.span,
            format!(
                "the model cannot observe this exists clause: {}",
                why.join("; ")
            ),
        ));
    }
    let mut full = Box::new([Instr::DONE; 256]);
    full[..code.len()].copy_from_slice(&code);
    let mut entry = vec![DONE; cpus as usize];
    let mut block_of = vec![u8::MAX; cpus as usize];
    for cpu in 0..cpus as usize {
        let b = match cpu {
            0 | 1 => cpu,
            c if c < 2 + readers as usize => 2 + (c - 2) % reader_blocks.len(),
            _ => continue,
        };
        entry[cpu] = ranges[b].0;
        block_of[cpu] = b as u8;
    }
    // A writer with no line at all is done from the start.
    for w in 0..2 {
        if ranges[w].0 == ranges[w].1 {
            entry[w] = DONE;
        }
    }
    Ok(Program {
        code: full,
        entry,
        block_of,
        blocks: ranges,
        lines,
        hash: cfg.scenario.as_ref().map(|s| program_hash(s)),
        exists: s.exists.clone(),
    })
}

fn find_control(stmts: &[Stmt]) -> Option<&Stmt> {
    stmts.iter().find(|s| !matches!(s, Stmt::Call { .. }))
}

/// The program `cfg` runs: its scenario's, or its placement's.
pub fn program_for(cfg: &Config) -> Result<Program, ConfigError> {
    let s = of_config(cfg);
    compile(s, cfg).map_err(|e| ConfigError::new("scenario", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(src: &str) -> String {
        match load(src).and_then(|(s, c)| compile(&s, &c).map(|_| ())) {
            Ok(()) => panic!("accepted:\n{src}"),
            Err(e) => e.render(src, "t.litmus"),
        }
    }

    const GOOD: &str = "tornsim t\n{ mode = xen-pv; }\nP0(khugepaged) {\n    pmd_lock();\n    pmdp_collapse_flush();\n    spin_unlock();\n    pmdp_get_lockless_sync();\n    pte_free_defer();\n}\nP1(fault) {\n    pte_alloc_one();\n    do {\n        pmd_lock();\n        if (pmd_none())\n            pmd_populate();\n        spin_unlock();\n    } while (!installed);\n}\nP2(gup_fast) {\n    local_irq_save();\n    pmdp_get_lockless();\n    pte_offset_map();\n    local_irq_restore();\n}\nexists (torn \\/ stale)\n";

    #[test]
    fn a_file_equal_to_a_placement_is_that_placement() {
        let (_, c) = load(GOOD).unwrap();
        assert_eq!(c.sync, SyncPlacement::AfterUnlock);
        assert!(c.scenario.is_none());
        assert_eq!(c.readers, 1);
        let moved = GOOD.replace(
            "    spin_unlock();\n    pmdp_get_lockless_sync();",
            "    pmdp_get_lockless_sync();\n    spin_unlock();",
        );
        let (_, c) = load(&moved).unwrap();
        assert_eq!(c.sync, SyncPlacement::UnderPtl);
        let asked = GOOD.replace("exists (torn \\/ stale)", "exists (torn)");
        assert!(load(&asked).unwrap().1.scenario.is_some());
    }

    #[test]
    fn every_builtin_file_parses_and_compiles_and_prints_back() {
        for (name, src) in BUILTIN {
            let (s, c) = load(src).unwrap_or_else(|e| panic!("{}", e.render(src, name)));
            compile(&s, &c).unwrap();
            let again = print(&s, &c);
            let (s2, c2) = load(&again).unwrap();
            let plain = |c: &Config| Config {
                scenario: None,
                ..c.clone()
            };
            assert_eq!(plain(&c2), plain(&c), "{name}");
            assert_eq!(c2.scenario.is_some(), c.scenario.is_some(), "{name}");
            assert_eq!(program_hash(&s2), program_hash(&s), "{name}");
        }
    }

    /// Each built-in file states its expected result in its `exists` clause; the
    /// exhaustive checker must agree with every one.
    #[test]
    fn every_builtin_claim_holds_under_exhaustive_search() {
        for (name, src) in BUILTIN {
            let (s, c) = load(src).unwrap();
            let r = crate::check::check(&c, crate::check::CheckOptions::default()).unwrap();
            assert_eq!(
                s.exists.holds(r.verdict),
                Some(true),
                "{name}: {} but the checker says {}",
                s.exists.text(),
                r.verdict
            );
        }
    }

    #[test]
    fn errors_point_at_the_place_with_a_caret() {
        let e = err(&GOOD.replace("pmdp_get_lockless_sync", "pmdp_get_lockless_synk"));
        assert!(e.starts_with("t.litmus:7:5: unknown primitive 'pmdp_get_lockless_synk' (did you mean 'pmdp_get_lockless_sync'?)"), "{e}");
        assert!(
            e.contains("7 |     pmdp_get_lockless_synk();\n  |     ^^^^^^^^^^^^^^^^^^^^^^\n"),
            "{e}"
        );
        let e = err(&GOOD.replace(
            "    pmd_lock();\n    pmdp_collapse_flush();",
            "    pmdp_collapse_flush();",
        ));
        assert!(e.contains("spin_unlock() without pmd_lock()"), "{e}");
        let e = err(&GOOD.replace("pte_free_defer();\n}", "pte_free_defer();\n"));
        assert!(e.contains("unbalanced braces"), "{e}");
        let e = err(&GOOD.replace("P1(fault)", "P3(fault)"));
        assert!(e.contains("CPU1 has no program"), "{e}");
        let e = err(&GOOD.replace("{ mode = xen-pv; }", "{ mode = xen-pv; readers = 70; }"));
        assert!(e.contains("out of range"), "{e}");
        let e = err(&GOOD
            .replace(
                "{ mode = xen-pv; }",
                "{ mode = xen-pv; cpus = 64; readers = 62; }",
            )
            .replace("exists", "P3(gup_fast) { local_irq_save(); }\nexists"));
        assert!(e.contains("interrupts disabled"), "{e}");
        let e = err(&GOOD
            .replace("pte_offset_map();\n", "")
            .replace("exists (torn \\/ stale)", "exists (stale)"));
        assert!(e.contains("cannot observe"), "{e}");
        let e = err(&GOOD.replace("exists (torn \\/ stale)", "exists (tron)"));
        assert!(e.contains("unknown hazard 'tron'"), "{e}");
        let e = err(&GOOD.replace(
            "    pmd_lock();\n    pmdp_collapse_flush();",
            "    pmd_lock();\n    pmd_lock();\n    pmdp_collapse_flush();",
        ));
        assert!(e.contains("already holds the PTL"), "{e}");
    }
}
