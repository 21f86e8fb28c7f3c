//! The general language's syntax tree and parser. A superset of the classic scenario
//! language (`crate::scenario`): the same header, settings, blocks and `exists` clause,
//! plus what the family of lockless-walker races needs: declarations of entries, tables
//! and pages (`pmd pmd = table(t0);`, `pte t0[0] = page(a);`, `page a = 1;`), blocks
//! named by any kernel path (`P1(madvise)`), calls with arguments and results
//! (`ptl = pmd_lock(pmd);`, `pmdval = pmdp_get_lockless(pmd);`), conditions on values
//! (`if (!pmd_same(pmdval, pmd))`), bounded loops (`for (i = 0; i < 4; i++)`), `break;`
//! and `return;`. It shares the classic lexer, spans and errors, so a message points at
//! `file:line:col` with a caret in the same way.

use crate::hazard::Hazard;
use crate::scenario::lexer::Tok;
use crate::scenario::parser::{blocks, Parser};
use crate::scenario::syntax::{cpu_number, Cond, ScenarioError, Span};

/// An argument of a call: a name (an entry, a table, a page, a local) or a number.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Arg {
    Name(String, Span),
    Num(u32, Span),
}

impl Arg {
    pub fn span(&self) -> Span {
        match self {
            Arg::Name(_, s) | Arg::Num(_, s) => *s,
        }
    }
}

/// A primitive's call: `name(args)`; `span` is the name's.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Call {
    pub name: String,
    pub span: Span,
    pub args: Vec<Arg>,
}

/// One statement of a block.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum GStmt {
    /// `[dest =] name(args);`
    Call {
        dest: Option<(String, Span)>,
        call: Call,
    },
    /// `if ([!]cond(args)) … [else …]`
    If {
        negated: bool,
        cond: Call,
        then: Vec<GStmt>,
        other: Vec<GStmt>,
    },
    /// `do { … } while (!installed);`: the classic fault's retry.
    DoWhileInstalled { body: Vec<GStmt>, span: Span },
    /// `for (i = FROM; i < TO; i++) { … }`: unrolled, `i` a number in the body.
    For {
        var: String,
        from: u32,
        to: u32,
        body: Vec<GStmt>,
        span: Span,
    },
    /// Leaves the innermost `for`.
    Break(Span),
    /// Ends the block (a walker's iteration).
    Return(Span),
}

/// An entry's or slot's first value in a declaration.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Init {
    None,
    /// `table(t0)`: a page table.
    Table(String, Span),
    /// `huge(p)`: a huge page mapped by a PMD.
    Huge(String, Span),
    /// `page(p)`: a page mapped by a PTE.
    Page(String, Span),
}

/// A declaration in the settings block.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Decl {
    /// `pmd NAME = INIT;`
    Pmd {
        name: String,
        init: Init,
        span: Span,
    },
    /// `pte TABLE[INDEX] = INIT;`
    Pte {
        table: String,
        index: u32,
        init: Init,
        span: Span,
    },
    /// `page NAME = COUNT;`
    Page {
        name: String,
        count: u32,
        span: Span,
    },
    /// `table NAME;`: a table that is allocated but mapped nowhere.
    Table { name: String, span: Span },
}

/// One CPU's block: `P1(madvise) { … }`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GBlock {
    pub cpu: u32,
    pub actor: String,
    pub actor_span: Span,
    pub span: Span,
    pub body: Vec<GStmt>,
}

/// The `exists` clause: hazards, and a condition over final shared words and
/// registers (the classic language's, read by the same parser).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GExists {
    pub negated: bool,
    pub hazards: Vec<Hazard>,
    pub cond: Option<Cond>,
    pub span: Span,
}

impl GExists {
    /// The clause as written: its hazards, then its condition on registers and words.
    pub fn text(&self) -> String {
        crate::scenario::syntax::Exists {
            negated: self.negated,
            hazards: self.hazards.clone(),
            cond: self.cond.clone(),
            span: self.span,
        }
        .text()
    }

    /// Whether the search stops at `h` (a deadlock always stops it; a final state the
    /// condition describes where there is one).
    pub fn asks(&self, h: Hazard) -> bool {
        h == Hazard::Deadlock
            || self.hazards.contains(&h)
            || (h == Hazard::Observed && self.cond.is_some())
    }
}

/// A parsed file of the general language.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GScenario {
    pub name: String,
    pub description: String,
    pub settings: Vec<(String, String, Span)>,
    pub decls: Vec<Decl>,
    pub blocks: Vec<GBlock>,
    pub exists: GExists,
    pub source: String,
}

/// The classic parser's cursor ([`Parser`]: tokens, braces, the basic reads and their
/// errors), with the general language's productions on top.
struct GParser(Parser);

impl std::ops::Deref for GParser {
    type Target = Parser;
    fn deref(&self) -> &Parser {
        &self.0
    }
}

impl std::ops::DerefMut for GParser {
    fn deref_mut(&mut self) -> &mut Parser {
        &mut self.0
    }
}

impl std::borrow::Borrow<Parser> for GParser {
    fn borrow(&self) -> &Parser {
        &self.0
    }
}

/// Statements are nested at most this deep (a hostile file cannot exhaust the stack).
const MAX_DEPTH: u32 = 32;

impl GParser {
    /// A block head (`P1(`) where a statement or setting should be: the brace before it
    /// was never closed. Said at that brace, as the classic parser says it.
    fn unclosed_before(&self, w: &str) -> Result<(), ScenarioError> {
        if self.is("(") && cpu_number(w).is_some() {
            if let Some(open) = self.open.last() {
                return Err(ScenarioError::at(
                    *open,
                    format!("unbalanced braces: this '{{' is not closed before {w} begins"),
                ));
            }
        }
        Ok(())
    }

    fn file(&mut self, source: &str) -> Result<GScenario, ScenarioError> {
        let (name, description) = self.header()?;
        let mut settings = Vec::new();
        let mut decls = Vec::new();
        if self.is("{") {
            self.expect("{")?;
            while !self.is("}") {
                let (k, ks) = self.ident("a setting or a declaration (or '}')")?;
                self.unclosed_before(&k)?;
                match k.as_str() {
                    "pmd" | "pte" | "page" | "table" if !self.is("=") => {
                        decls.push(self.decl(&k, ks)?);
                    }
                    _ => settings.push(self.setting_value(k, ks)?),
                }
                if !self.is("}") {
                    self.expect(";")?;
                }
            }
            self.expect("}")?;
        }
        let blocks = blocks(self, GParser::block)?;
        let exists = self.exists()?;
        self.end()?;
        Ok(GScenario {
            name,
            description,
            settings,
            decls,
            blocks,
            exists,
            source: source.to_string(),
        })
    }

    fn init(&mut self) -> Result<Init, ScenarioError> {
        let (w, ws) = self.ident("none, table(T), huge(P) or page(P)")?;
        if w == "none" {
            return Ok(Init::None);
        }
        let make: fn(String, Span) -> Init = match w.as_str() {
            "table" => Init::Table,
            "huge" => Init::Huge,
            "page" => Init::Page,
            _ => {
                return Err(ScenarioError::at(
                    ws,
                    format!("'{w}' is not a value: none, table(T), huge(P) or page(P)"),
                ))
            }
        };
        self.expect("(")?;
        let (n, ns) = self.name("a table's or a page's name")?;
        self.expect(")")?;
        Ok(make(n, ns))
    }

    fn decl(&mut self, kind: &str, ks: Span) -> Result<Decl, ScenarioError> {
        Ok(match kind {
            "pmd" => {
                let (name, _) = self.name("the PMD's name after 'pmd'")?;
                self.expect("=")?;
                let init = self.init()?;
                Decl::Pmd {
                    name,
                    init,
                    span: ks,
                }
            }
            "pte" => {
                let (table, _) =
                    self.name("a table's name after 'pte' (as in 'pte t0[0] = page(a)')")?;
                self.expect("[")?;
                let (index, _) = self.number("a PTE index")?;
                self.expect("]")?;
                self.expect("=")?;
                let init = self.init()?;
                Decl::Pte {
                    table,
                    index,
                    init,
                    span: ks,
                }
            }
            "page" => {
                let (name, _) = self.name("the page's name after 'page'")?;
                self.expect("=")?;
                let (count, _) = self.number("the page's reference count")?;
                Decl::Page {
                    name,
                    count,
                    span: ks,
                }
            }
            _ => {
                let (name, _) = self.name("the table's name after 'table'")?;
                Decl::Table { name, span: ks }
            }
        })
    }

    fn block(&mut self) -> Result<GBlock, ScenarioError> {
        let (head, span) = self.ident("a CPU block such as 'P0(khugepaged)'")?;
        let cpu = cpu_number(&head).ok_or_else(|| {
            ScenarioError::at(
                span,
                format!("expected a CPU block such as 'P0(khugepaged)', found '{head}'"),
            )
        })?;
        self.expect("(")?;
        let (actor, actor_span) =
            self.name("the kernel path the CPU runs, such as khugepaged or gup_fast")?;
        self.expect(")")?;
        let body = self.body(0)?;
        Ok(GBlock {
            cpu,
            actor,
            actor_span,
            span,
            body,
        })
    }

    fn body(&mut self, depth: u32) -> Result<Vec<GStmt>, ScenarioError> {
        let open = self.expect("{")?;
        if depth > MAX_DEPTH {
            return Err(ScenarioError::at(
                open,
                format!("statements nest more than {MAX_DEPTH} deep"),
            ));
        }
        let mut v = Vec::new();
        while !self.is("}") {
            if self.peek().tok == Tok::Eof {
                return self.err("'}'");
            }
            v.push(self.stmt(depth)?);
        }
        self.expect("}")?;
        Ok(v)
    }

    fn arm(&mut self, depth: u32) -> Result<Vec<GStmt>, ScenarioError> {
        if self.is("{") {
            self.body(depth + 1)
        } else {
            Ok(vec![self.stmt(depth + 1)?])
        }
    }

    /// `name(args)` after its name.
    fn call(&mut self, name: String, span: Span) -> Result<Call, ScenarioError> {
        self.expect("(")?;
        let mut args = Vec::new();
        while !self.is(")") {
            if !args.is_empty() {
                self.expect(",")?;
            }
            match &self.peek().tok {
                Tok::Ident(w) if w.bytes().all(|c| c.is_ascii_digit()) => {
                    let (n, s) = self.number("a number")?;
                    args.push(Arg::Num(n, s));
                }
                Tok::Ident(w) if is_name(w) => {
                    let (n, s) = self.ident("an argument")?;
                    args.push(Arg::Name(n, s));
                }
                _ => return self.err("an argument: a name such as 'pmd' or a number"),
            }
        }
        self.expect(")")?;
        Ok(Call { name, span, args })
    }

    fn stmt(&mut self, depth: u32) -> Result<GStmt, ScenarioError> {
        if depth > MAX_DEPTH {
            return Err(ScenarioError::at(
                self.peek().span,
                format!("statements nest more than {MAX_DEPTH} deep"),
            ));
        }
        let (w, span) = self.ident("a statement such as 'pmd_lock(pmd);' or '}'")?;
        self.unclosed_before(&w)?;
        match w.as_str() {
            "if" => {
                self.expect("(")?;
                let negated = self.is("!");
                if negated {
                    self.next();
                }
                let (c, cs) = self.name("a condition such as 'pmd_none(pmdval)'")?;
                let cond = self.call(c, cs)?;
                self.expect(")")?;
                let then = self.arm(depth)?;
                let other = if self.is_word("else") {
                    self.next();
                    self.arm(depth)?
                } else {
                    Vec::new()
                };
                Ok(GStmt::If {
                    negated,
                    cond,
                    then,
                    other,
                })
            }
            "do" => {
                let body = self.body(depth + 1)?;
                self.while_installed(
                    "a do-while loop has no bound: the only one is 'do { … } while (!installed);' (the fault's retry); write a bounded loop as 'for (i = 0; i < N; i++)'",
                )?;
                Ok(GStmt::DoWhileInstalled { body, span })
            }
            "for" => {
                self.expect("(")?;
                let (var, vs) = self.name("the loop's counter, as in 'for (i = 0; i < 4; i++)'")?;
                self.expect("=")?;
                let (from, _) = self.number("the counter's first value")?;
                self.expect(";")?;
                let (v2, v2s) = self.name("the counter")?;
                if v2 != var {
                    return Err(ScenarioError::at(
                        v2s,
                        format!("the loop tests '{v2}' but counts '{var}'"),
                    ));
                }
                if !self.is("<") {
                    return Err(ScenarioError::at(
                        self.peek().span,
                        "a loop needs a bound: 'i < N' with N a number",
                    ));
                }
                self.next();
                let to = match &self.peek().tok {
                    Tok::Ident(n) if n.bytes().all(|c| c.is_ascii_digit()) => {
                        self.number("the bound")?.0
                    }
                    _ => {
                        return Err(ScenarioError::at(
                            self.peek().span,
                            "a loop needs a bound: 'i < N' with N a number",
                        ))
                    }
                };
                self.expect(";")?;
                let (v3, v3s) = self.name("the counter")?;
                if v3 != var {
                    return Err(ScenarioError::at(
                        v3s,
                        format!("the loop steps '{v3}' but counts '{var}'"),
                    ));
                }
                self.expect("++")?;
                self.expect(")")?;
                if to > from.saturating_add(16) {
                    return Err(ScenarioError::at(
                        vs,
                        format!("a loop runs at most 16 times ({from}..{to} is {})", to.saturating_sub(from)),
                    ));
                }
                let body = self.body(depth + 1)?;
                Ok(GStmt::For {
                    var,
                    from,
                    to,
                    body,
                    span,
                })
            }
            "break" | "return" => {
                self.expect(";")?;
                Ok(if w == "break" {
                    GStmt::Break(span)
                } else {
                    GStmt::Return(span)
                })
            }
            "while" | "goto" | "else" | "switch" => Err(ScenarioError::at(
                span,
                format!("'{w}' is not part of the scenario language (statements are calls, 'if', bounded 'for' loops, 'do {{ … }} while (!installed);', 'break;' and 'return;')"),
            )),
            _ if self.is("=") => {
                if !is_name(&w) {
                    return Err(ScenarioError::at(span, format!("'{w}' is not a name to assign to")));
                }
                self.next();
                let (name, ns) = self.name("a call such as 'pmdp_get_lockless(pmd)' after '='")?;
                let call = self.call(name, ns)?;
                self.expect(";")?;
                Ok(GStmt::Call {
                    dest: Some((w, span)),
                    call,
                })
            }
            _ => {
                if !is_name(&w) {
                    return Err(ScenarioError::at(span, format!("'{w}' is not a primitive's name")));
                }
                let call = self.call(w, span)?;
                self.expect(";")?;
                Ok(GStmt::Call { dest: None, call })
            }
        }
    }

    fn exists(&mut self) -> Result<GExists, ScenarioError> {
        let known: Vec<Hazard> = Hazard::named_any().collect();
        let e = self.0.exists_among(&known)?;
        Ok(GExists {
            negated: e.negated,
            hazards: e.hazards,
            cond: e.cond,
            span: e.span,
        })
    }
}

fn is_name(w: &str) -> bool {
    w.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') && !w.contains('-')
}

/// Parses a file of the general language. Settings and declarations are checked when
/// it is compiled.
pub fn parse(src: &str) -> Result<GScenario, ScenarioError> {
    GParser(Parser::new(src)?).file(src)
}
