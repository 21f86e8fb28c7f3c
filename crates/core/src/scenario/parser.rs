//! The scenario parser: tokens to a [`Scenario`], with the header, the description, the
//! settings block (each setting checked against the knob it names), the CPU blocks and
//! the `exists` clause. Errors carry the span of what was wrong and what was expected;
//! whether a block's program is one the model can run is the compiler's question.

use super::lexer::{lex, Tok, Token};
use super::syntax::{
    cpu_number, Actor, Block, Cond, Exists, Loc, Scenario, ScenarioError, Span, Stmt,
};
use crate::hazard::Hazard;
use crate::knob::Setting;

/// A cursor over the tokens, with the basic reads both scenario parsers share (the
/// general machine's, `crate::general::lang`, wraps it).
pub(crate) struct Parser {
    pub(crate) toks: Vec<Token>,
    pub(crate) pos: usize,
    /// Open braces, for "unbalanced" messages that point at the opener.
    pub(crate) open: Vec<Span>,
}

/// `P0`, `P12`: the head of a CPU block.
fn is_block_head(w: &str) -> bool {
    w.len() > 1 && w.starts_with('P') && w[1..].bytes().all(|c| c.is_ascii_digit())
}

pub(crate) fn describe(t: &Tok) -> String {
    match t {
        Tok::Ident(s) => format!("'{s}'"),
        Tok::Str(_) => "a string".into(),
        Tok::Punct(p) => format!("'{p}'"),
        Tok::Eof => "the end of the file".into(),
    }
}

impl Parser {
    pub(crate) fn peek(&self) -> &Token {
        &self.toks[self.pos]
    }
    pub(crate) fn next(&mut self) -> Token {
        let t = self.toks[self.pos].clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }
    pub(crate) fn is(&self, p: &str) -> bool {
        matches!(&self.peek().tok, Tok::Punct(q) if *q == p)
    }
    pub(crate) fn is_word(&self, w: &str) -> bool {
        matches!(&self.peek().tok, Tok::Ident(s) if s == w)
    }
    pub(crate) fn err<T>(&self, what: &str) -> Result<T, ScenarioError> {
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
    pub(crate) fn expect(&mut self, p: &'static str) -> Result<Span, ScenarioError> {
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
    pub(crate) fn ident(&mut self, what: &str) -> Result<(String, Span), ScenarioError> {
        match &self.peek().tok {
            Tok::Ident(s) => {
                let s = s.clone();
                Ok((s, self.next().span))
            }
            _ => self.err(what),
        }
    }

    /// A non-negative decimal number (a shared word's value).
    pub(crate) fn number(&mut self, what: &str) -> Result<(u32, Span), ScenarioError> {
        match &self.peek().tok {
            Tok::Ident(w) if w.bytes().all(|c| c.is_ascii_digit()) => {
                let span = self.peek().span;
                let v = w
                    .parse::<u32>()
                    .map_err(|_| ScenarioError::at(span, format!("{w} does not fit in 32 bits")))?;
                self.next();
                Ok((v, span))
            }
            _ => self.err(what),
        }
    }

    /// A shared word's or a register's name: an identifier that is not a number.
    pub(crate) fn name(&mut self, what: &str) -> Result<(String, Span), ScenarioError> {
        match &self.peek().tok {
            Tok::Ident(w)
                if w.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && !w.contains('-') =>
            {
                self.ident(what)
            }
            _ => self.err(what),
        }
    }

    /// `tornsim NAME "description"`: the name, and the description (empty if none).
    pub(crate) fn header(&mut self) -> Result<(String, String), ScenarioError> {
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
        Ok((name, description))
    }

    /// `= VALUE` after a setting's name `k` (at `ks`): the setting as written.
    pub(crate) fn setting_value(
        &mut self,
        k: String,
        ks: Span,
    ) -> Result<(String, String, Span), ScenarioError> {
        self.expect("=")?;
        let (v, vs) = match &self.peek().tok {
            Tok::Ident(s) | Tok::Str(s) => {
                let s = s.clone();
                (s, self.next().span)
            }
            _ => return self.err(&format!("a value for '{k}'")),
        };
        Ok((k, v, Span { end: vs.end, ..ks }))
    }

    /// `while (!installed);` after a do block; `other` is the error for any other
    /// condition.
    pub(crate) fn while_installed(&mut self, other: &str) -> Result<(), ScenarioError> {
        if !self.is_word("while") {
            return self.err("'while (!installed);' after the do block");
        }
        self.next();
        self.expect("(")?;
        let at = self.peek().span;
        let neg = self.is("!");
        if neg {
            self.next();
        }
        let (cond, _) = self.ident("'!installed'")?;
        if !neg || cond != "installed" {
            return Err(ScenarioError::at(at, other));
        }
        self.expect(")")?;
        self.expect(";")?;
        Ok(())
    }

    /// Nothing after the exists clause.
    pub(crate) fn end(&self) -> Result<(), ScenarioError> {
        if self.peek().tok != Tok::Eof {
            return self.err("the end of the file after the exists clause");
        }
        Ok(())
    }

    /// A tokenised text, before its first token.
    pub(crate) fn new(src: &str) -> Result<Parser, ScenarioError> {
        Ok(Parser {
            toks: lex(src)?,
            pos: 0,
            open: Vec::new(),
        })
    }

    fn file(&mut self, source: &str) -> Result<Scenario, ScenarioError> {
        let (name, description) = self.header()?;
        let mut settings = Vec::new();
        let mut init: Vec<(String, u32, Span)> = Vec::new();
        if self.is("{") {
            self.expect("{")?;
            while !self.is("}") {
                let (k, ks) = self.ident("a setting name (or '}')")?;
                if k == "int" && !self.is("=") {
                    // `int x = 1;`: a shared word's first value.
                    let (name, ns) = self.name("a shared word's name after 'int'")?;
                    if init.iter().any(|(n, _, _)| *n == name) {
                        return Err(ScenarioError::at(ns, format!("'{name}' is declared twice")));
                    }
                    self.expect("=")?;
                    let (v, vs) = self.number(&format!("a number for '{name}'"))?;
                    init.push((name, v, Span { end: vs.end, ..ks }));
                    if !self.is("}") {
                        self.expect(";")?;
                    }
                    continue;
                }
                if self.is("(") && is_block_head(&k) {
                    let open = *self.open.last().expect("inside the settings' braces");
                    return Err(ScenarioError::at(
                        open,
                        format!(
                            "unbalanced braces: the settings' '{{' is not closed before {k} begins"
                        ),
                    ));
                }
                settings.push(self.setting_value(k, ks)?);
                if !self.is("}") {
                    self.expect(";")?;
                }
            }
            self.expect("}")?;
        }
        let blocks = blocks(self, Parser::block)?;
        let exists = self.exists_among(&Hazard::NAMED)?;
        self.end()?;
        Ok(Scenario {
            name,
            description,
            settings,
            init,
            blocks,
            exists,
            source: source.to_string(),
        })
    }

    fn block(&mut self) -> Result<Block, ScenarioError> {
        let (head, span) = self.ident("a CPU block such as 'P0(khugepaged)'")?;
        let cpu = cpu_number(&head).ok_or_else(|| {
            ScenarioError::at(
                span,
                format!("expected a CPU block such as 'P0(khugepaged)', found '{head}'"),
            )
        })?;
        self.expect("(")?;
        let (role, rs) = self.ident("the actor: khugepaged, fault, gup_fast, walker or reader")?;
        let actor = Actor::named(&role).ok_or_else(|| {
            ScenarioError::at(
                rs,
                format!(
                    "unknown actor '{role}' (known: khugepaged, fault, gup_fast, walker, reader)"
                ),
            )
        })?;
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
                self.while_installed(
                    "the only loop condition is '!installed' (retry until the populator has installed its table)",
                )?;
                Ok(Stmt::DoWhile { body, span })
            }
            "while" | "for" | "goto" | "return" | "else" => Err(ScenarioError::at(
                span,
                format!("'{w}' is not part of the scenario language (statements are calls, 'if (pmd_none())' and 'do {{ … }} while (!installed);')"),
            )),
            _ if self.is("=") => {
                // `r0 = READ_ONCE(x);`
                self.next();
                let (name, ns) = self.ident("a call such as 'READ_ONCE(x)' after '='")?;
                self.expect("(")?;
                if self.is(")") {
                    return Err(ScenarioError::at(
                        ns,
                        format!("{name}() returns nothing to put in '{w}'"),
                    ));
                }
                self.access(name, ns, Some((w, span)))
            }
            _ => {
                self.expect("(")?;
                if !self.is(")") {
                    return self.access(w, span, None);
                }
                self.expect(")")?;
                self.expect(";")?;
                Ok(Stmt::Call { name: w, span })
            }
        }
    }

    /// The arguments of a call on a shared word, after its '(': `x` or `x, 1`.
    fn access(
        &mut self,
        name: String,
        span: Span,
        reg: Option<(String, Span)>,
    ) -> Result<Stmt, ScenarioError> {
        let var = self.name("a shared word such as 'x'")?;
        let value = if self.is(",") {
            self.next();
            Some(self.number("a value such as 1 (a non-negative number)")?)
        } else {
            None
        };
        self.expect(")")?;
        self.expect(";")?;
        Ok(Stmt::Access {
            name,
            span,
            var,
            value,
            reg,
        })
    }

    /// The `exists` clause, its hazards among `known` (the classic machine's three, or
    /// every hazard the general machine raises).
    pub(crate) fn exists_among(&mut self, known: &[Hazard]) -> Result<Exists, ScenarioError> {
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
        let whole = self.disjunction(0, known)?;
        let end = self.expect(")")?;
        // Hazards are alternatives of the whole clause; the rest is one condition on
        // the final state.
        let mut alts = Vec::new();
        flatten_or(whole, &mut alts);
        let mut hazards = Vec::new();
        let mut cond: Option<Cond> = None;
        for a in alts {
            match a {
                Formula::Hazard(h, _) => {
                    if !hazards.contains(&h) {
                        hazards.push(h)
                    }
                }
                f => {
                    let c = f.into_cond()?;
                    cond = Some(match cond {
                        None => c,
                        Some(p) => Cond::Or(Box::new(p), Box::new(c)),
                    });
                }
            }
        }
        Ok(Exists {
            negated,
            hazards,
            cond,
            span: Span {
                end: end.end,
                ..start
            },
        })
    }

    fn disjunction(&mut self, depth: u32, known: &[Hazard]) -> Result<Formula, ScenarioError> {
        let mut f = self.conjunction(depth, known)?;
        while self.is("\\/") || self.is("||") {
            self.next();
            let g = self.conjunction(depth, known)?;
            f = Formula::Or(Box::new(f), Box::new(g));
        }
        Ok(f)
    }

    fn conjunction(&mut self, depth: u32, known: &[Hazard]) -> Result<Formula, ScenarioError> {
        let mut f = self.unary(depth, known)?;
        while self.is("/\\") || self.is("&&") {
            self.next();
            let g = self.unary(depth, known)?;
            f = Formula::And(Box::new(f), Box::new(g));
        }
        Ok(f)
    }

    fn unary(&mut self, depth: u32, known: &[Hazard]) -> Result<Formula, ScenarioError> {
        if depth > 64 {
            return Err(ScenarioError::at(
                self.peek().span,
                "the exists clause nests more than 64 deep",
            ));
        }
        if self.is("~") || self.is("!") {
            let at = self.next().span;
            let f = self.unary(depth + 1, known)?;
            return Ok(Formula::Not(Box::new(f), at));
        }
        if self.is("(") {
            self.next();
            let f = self.disjunction(depth + 1, known)?;
            self.expect(")")?;
            return Ok(f);
        }
        let names: Vec<&str> = known.iter().map(|h| h.name()).collect();
        let what = format!(
            "{}, or a final value such as 'P1:r0=1' or 'x=2'",
            names.join(", ")
        );
        let (w, ws) = self.ident(&what)?;
        if self.is(":") && is_block_head(&w) {
            self.next();
            let (reg, _) = self.name("a register such as 'r0' after ':'")?;
            self.expect("=")?;
            let (value, vs) = self.number("a value such as 1")?;
            let cpu = w[1..]
                .parse::<u32>()
                .map_err(|_| ScenarioError::at(ws, format!("{w} is not a CPU this model has")))?;
            return Ok(Formula::Eq(
                Loc::Reg { cpu, name: reg },
                value,
                Span { end: vs.end, ..ws },
            ));
        }
        if self.is("=") {
            if !w.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') || w.contains('-') {
                return Err(ScenarioError::at(
                    ws,
                    format!("'{w}' is not a shared word's name"),
                ));
            }
            self.next();
            let (value, vs) = self.number("a value such as 1")?;
            return Ok(Formula::Eq(Loc::Var(w), value, Span { end: vs.end, ..ws }));
        }
        match known.iter().find(|h| h.name() == w) {
            Some(&h) => Ok(Formula::Hazard(h, ws)),
            None => Err(ScenarioError::at(
                ws,
                format!(
                    "unknown hazard '{w}' (known: {}; or a final value such as 'P1:r0=1' or 'x=2')",
                    names.join(", ")
                ),
            )),
        }
    }
}

/// The CPU blocks, each read by `block`, up to the `exists` clause: at least one.
pub(crate) fn blocks<P, B>(
    p: &mut P,
    block: fn(&mut P) -> Result<B, ScenarioError>,
) -> Result<Vec<B>, ScenarioError>
where
    P: std::borrow::Borrow<Parser>,
{
    let mut v = Vec::new();
    while matches!(&p.borrow().peek().tok, Tok::Ident(w) if w != "exists") {
        v.push(block(p)?);
    }
    if v.is_empty() {
        return p.borrow().err("a CPU block such as 'P0(khugepaged) {'");
    }
    Ok(v)
}

/// An `exists` clause as written, before hazards and final values are told apart.
enum Formula {
    Hazard(Hazard, Span),
    Eq(Loc, u32, Span),
    Not(Box<Formula>, Span),
    And(Box<Formula>, Box<Formula>),
    Or(Box<Formula>, Box<Formula>),
}

fn flatten_or(f: Formula, out: &mut Vec<Formula>) {
    match f {
        Formula::Or(a, b) => {
            flatten_or(*a, out);
            flatten_or(*b, out);
        }
        f => out.push(f),
    }
}

impl Formula {
    /// A condition on the final state: no hazard inside it.
    fn into_cond(self) -> Result<Cond, ScenarioError> {
        Ok(match self {
            Formula::Hazard(h, at) => {
                return Err(ScenarioError::at(
                    at,
                    format!(
                        "{} is a hazard, not a final value: name it as an alternative of the whole clause ('exists ({} \\/ …)'), or negate the whole clause ('~exists')",
                        h.name(),
                        h.name()
                    ),
                ))
            }
            Formula::Eq(loc, value, span) => Cond::Eq { loc, value, span },
            Formula::Not(f, at) => {
                if let Formula::Hazard(h, _) = *f {
                    return Err(ScenarioError::at(
                        at,
                        format!("negate the whole clause instead: '~exists ({})' claims no {} is reachable", h.name(), h.name()),
                    ));
                }
                Cond::Not(Box::new(f.into_cond()?))
            }
            Formula::And(a, b) => Cond::And(Box::new(a.into_cond()?), Box::new(b.into_cond()?)),
            Formula::Or(a, b) => Cond::Or(Box::new(a.into_cond()?), Box::new(b.into_cond()?)),
        })
    }
}

/// Parses a scenario file. Settings are checked here; programs when compiled.
pub fn parse(src: &str) -> Result<Scenario, ScenarioError> {
    let mut p = Parser::new(src)?;
    let s = p.file(src)?;
    // Every setting must name a knob and a value that knob takes.
    for (k, v, span) in &s.settings {
        if k == "sync" {
            return Err(ScenarioError::at(
                *span,
                "'sync' is not a setting in a scenario: the order of the lines is the placement",
            ));
        }
        Setting::parse(k, v).map_err(|e| ScenarioError::at(*span, e.to_string()))?;
    }
    Ok(s)
}
