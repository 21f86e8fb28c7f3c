//! A scenario file's syntax tree: CPU blocks of statements, settings as written, the
//! `exists` clause, and the spans that errors point at. Plain data that the parser
//! builds and the printer, the compiler and the configuration read; it names hazards and
//! verdicts ([`crate::hazard`]) and reader kinds ([`crate::knob`]), nothing above them.

use crate::hazard::{Hazard, Verdict};
use crate::knob::ReaderKind;
use crate::prim;
use serde::{Deserialize, Serialize};
use std::fmt;

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
    pub(crate) fn at(span: Span, message: impl Into<String>) -> ScenarioError {
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

/// The CPU a block's head names: `P0` is 0. Digits only after the `P`.
pub(crate) fn cpu_number(head: &str) -> Option<u32> {
    let digits = head.strip_prefix('P')?;
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

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
    /// Every actor a block may name, as its name reads.
    pub(crate) const ALL: [Actor; 5] = [
        Actor::Khugepaged,
        Actor::Fault,
        Actor::Reader(Some(ReaderKind::GupFast)),
        Actor::Reader(Some(ReaderKind::Walker)),
        Actor::Reader(None),
    ];

    /// The actor a block's name stands for.
    pub(crate) fn named(name: &str) -> Option<Actor> {
        Actor::ALL.into_iter().find(|a| a.name() == name)
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Actor::Khugepaged => "khugepaged",
            Actor::Fault => "fault",
            Actor::Reader(None) => "reader",
            Actor::Reader(Some(ReaderKind::GupFast)) => "gup_fast",
            Actor::Reader(Some(ReaderKind::Walker)) => "walker",
        }
    }
    pub(crate) fn role_bit(self) -> u8 {
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
    /// A primitive on a shared word: `WRITE_ONCE(x, 1);`, `r0 = READ_ONCE(x);`,
    /// `r0 = xchg(x, 1);`. `span` is the primitive's name.
    Access {
        name: String,
        span: Span,
        var: (String, Span),
        value: Option<(u32, Span)>,
        reg: Option<(String, Span)>,
    },
}

/// What a condition atom compares: a CPU's register or a shared word.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Loc {
    /// `P1:r0`
    Reg { cpu: u32, name: String },
    /// `x`
    Var(String),
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Loc::Reg { cpu, name } => write!(f, "P{cpu}:{name}"),
            Loc::Var(v) => f.write_str(v),
        }
    }
}

/// A condition over a final state's registers and shared words, as herd7 writes them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cond {
    /// `P1:r0=1`, `x=2`.
    Eq {
        loc: Loc,
        value: u32,
        span: Span,
    },
    Not(Box<Cond>),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
}

impl Cond {
    /// Every atom, in order.
    pub fn atoms(&self) -> Vec<(&Loc, u32, Span)> {
        match self {
            Cond::Eq { loc, value, span } => vec![(loc, *value, *span)],
            Cond::Not(c) => c.atoms(),
            Cond::And(a, b) | Cond::Or(a, b) => {
                let mut v = a.atoms();
                v.extend(b.atoms());
                v
            }
        }
    }

    /// Whether it holds, given each atom's location's value (`None`: a register never
    /// set, which equals nothing).
    pub fn eval(&self, value_of: &impl Fn(&Loc) -> Option<u32>) -> bool {
        match self {
            Cond::Eq { loc, value, .. } => value_of(loc) == Some(*value),
            Cond::Not(c) => !c.eval(value_of),
            Cond::And(a, b) => a.eval(value_of) && b.eval(value_of),
            Cond::Or(a, b) => a.eval(value_of) || b.eval(value_of),
        }
    }

    /// `prec`: 0 inside an `\/`, 1 inside a `/\`, 2 under `~`.
    fn print(&self, out: &mut String, prec: u8) {
        let (mine, paren) = match self {
            Cond::Eq { .. } | Cond::Not(_) => (2, false),
            Cond::And(..) => (1, prec > 1),
            Cond::Or(..) => (0, prec > 0),
        };
        if paren {
            out.push('(');
        }
        match self {
            Cond::Eq { loc, value, .. } => out.push_str(&format!("{loc}={value}")),
            Cond::Not(c) => {
                out.push('~');
                c.print(out, 2);
            }
            Cond::And(a, b) | Cond::Or(a, b) => {
                a.print(out, mine);
                out.push_str(if mine == 1 { " /\\ " } else { " \\/ " });
                b.print(out, mine);
            }
        }
        if paren {
            out.push(')');
        }
    }
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
    /// The alternatives over final registers and shared words, joined by `\/` (none:
    /// the clause names hazards only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cond: Option<Cond>,
    pub span: Span,
}

impl Exists {
    /// What the built-in presets ask: any torn read or stale use.
    pub fn default_clause() -> Exists {
        Exists {
            negated: false,
            hazards: vec![Hazard::Torn, Hazard::Stale],
            cond: None,
            span: Span::default(),
        }
    }
    /// Whether the file's claim holds given the checker's verdict: `exists` claims one
    /// of its hazards is reachable, `~exists` that none is. `None`: undecided (the
    /// search was incomplete, or stopped at a deadlock the clause does not name).
    pub fn holds(&self, v: Verdict) -> Option<bool> {
        use Verdict as V;
        let named = |h| self.hazards.contains(&h);
        let found = match v {
            V::Safe => false,
            V::Torn => named(Hazard::Torn),
            V::Stale => named(Hazard::Stale),
            V::Observed => self.cond.is_some(),
            V::FreedTable => named(Hazard::FreedTable),
            V::FreedPage => named(Hazard::FreedPage),
            V::StalePin => named(Hazard::StalePin),
            V::BogusTable => named(Hazard::BogusTable),
            V::NonemptyFree => named(Hazard::NonemptyFree),
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
        match h {
            Hazard::Deadlock => true,
            Hazard::Observed => self.cond.is_some(),
            _ => self.hazards.contains(&h),
        }
    }
    pub(crate) fn same_question(&self, o: &Exists) -> bool {
        let norm = |e: &Exists| {
            let mut v: Vec<Hazard> = e.hazards.clone();
            v.push(Hazard::Deadlock);
            v.sort();
            v.dedup();
            v
        };
        norm(self) == norm(o) && self.cond == o.cond
    }
}

/// A parsed scenario file.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    /// The settings as written: (key, value, where).
    pub settings: Vec<(String, String, Span)>,
    /// Shared words' first values as declared (`int x = 1;` in the settings block).
    pub init: Vec<(String, u32, Span)>,
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

pub(crate) fn print_exists(e: &Exists) -> String {
    let mut alts: Vec<String> = e.hazards.iter().map(|h| h.name().to_string()).collect();
    if let Some(c) = &e.cond {
        let mut t = String::new();
        c.print(&mut t, 0);
        alts.push(t);
    }
    format!(
        "{}exists ({})\n",
        if e.negated { "~" } else { "" },
        alts.join(" \\/ ")
    )
}
