//! The scenario compiler: a [`Scenario`] checked against the model's rules (who may call
//! what, reads bracketed, the PTL balanced) and lowered for a [`Config`] into the flat
//! [`Program`] the machine interprets, each primitive expanding to the ops its row in
//! [`crate::prim`] gives.

use super::builtin::of_config;
use super::words::{Builder, Words};
use crate::config::{Config, ConfigError};
use crate::hazard::Hazard;
use crate::prim::{self, Op, Use};
use crate::scenario::program_hash;
use crate::scenario::syntax::{Actor, Block, Exists, Scenario, ScenarioError, Span, Stmt};

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
    /// Shared words and registers (`WRITE_ONCE()`, `READ_ONCE()`, `xchg()`, `int x`),
    /// and the `exists` condition over them; `None` where the scenario has none.
    pub words: Option<Box<Words>>,
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
    /// The pcs of `cpu`'s block (none for an idle CPU).
    pub fn block_pcs(&self, cpu: u8) -> std::ops::Range<u8> {
        match self.block_of.get(cpu as usize) {
            Some(&b) if b != u8::MAX => {
                let (s, e) = self.blocks[b as usize];
                s..e
            }
            _ => 0..0,
        }
    }
    /// Whether any op in `cpu`'s block is `op`.
    pub fn cpu_has(&self, cpu: u8, f: impl Fn(Op) -> bool) -> bool {
        self.block_pcs(cpu).any(|pc| f(self.code[pc as usize].op))
    }
}

struct Emitter<'a> {
    cfg: &'a Config,
    words: &'a mut Builder,
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
            Stmt::Access {
                name,
                span,
                var,
                value,
                reg,
            } => self.access(name, *span, var, *value, reg.as_ref()),
            Stmt::If {
                cond,
                negated,
                span,
                then,
                other,
            } => {
                let (p, c) = self.known(cond, *span)?;
                if p.classic_use() != Use::Condition {
                    return Err(ScenarioError::at(
                        *span,
                        format!("{cond}() is a statement, not a condition (conditions: pmd_none)"),
                    ));
                }
                self.allowed(p, c, *span)?;
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

    fn known(
        &self,
        name: &str,
        span: Span,
    ) -> Result<(&'static prim::Prim, &'static prim::Classic), ScenarioError> {
        prim::classic(name).ok_or_else(|| {
            let hint = prim::nearest(name)
                .map(|n| format!(" (did you mean '{n}'?)"))
                .unwrap_or_default();
            ScenarioError::at(
                span,
                format!("unknown primitive '{name}'{hint}; `tornsim primitives` lists them"),
            )
        })
    }

    fn allowed(&self, p: &prim::Prim, c: &prim::Classic, span: Span) -> Result<(), ScenarioError> {
        if c.roles & self.actor.role_bit() == 0 {
            return Err(ScenarioError::at(
                span,
                format!(
                    "{}() is not for a {} block (it is for: {})",
                    p.name,
                    self.actor.name(),
                    prim::role::names(c.roles)
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

    /// `WRITE_ONCE(x, 1);`, `r0 = READ_ONCE(x);`, `[r0 =] xchg(x, 1);`.
    fn access(
        &mut self,
        name: &str,
        span: Span,
        var: &(String, Span),
        value: Option<(u32, Span)>,
        reg: Option<&(String, Span)>,
    ) -> Result<(), ScenarioError> {
        let (p, c) = self.known(name, span)?;
        let usage = p.classic_use();
        let shape = |what: &str| {
            Err(ScenarioError::at(
                span,
                format!("{what}: write '{}'", usage.call_text(name)),
            ))
        };
        match (usage, value.is_some(), reg.is_some()) {
            (Use::Call | Use::Condition, _, _) => {
                return shape(&format!("{name}() takes no arguments"))
            }
            (Use::Write, false, _) => return shape(&format!("{name}() needs a value to store")),
            (Use::Write, true, true) => return shape(&format!("{name}() returns nothing")),
            (Use::Read, true, _) => {
                return shape(&format!("{name}() takes one argument, the word"))
            }
            (Use::Read, false, false) => {
                return shape(&format!("{name}() needs a register to load into"))
            }
            (Use::Exchange, false, _) => {
                return shape(&format!("{name}() needs the value to exchange in"))
            }
            _ => {}
        }
        self.allowed(p, c, span)?;
        self.end_run();
        for op in (c.ops)(&self.cfg.lowering()) {
            let i = self.push(op, span.line);
            let buffered = op.tso(&self.cfg.lowering()) == crate::prim::Tso::Buffered;
            self.words.access(i, var, value, reg, buffered)?;
        }
        Ok(())
    }

    fn call(&mut self, name: &str, span: Span) -> Result<(), ScenarioError> {
        let (p, c) = self.known(name, span)?;
        let usage = p.classic_use();
        if usage == Use::Condition {
            return Err(ScenarioError::at(
                span,
                format!("{name}() is a condition: write 'if ({name}()) {{ … }}'"),
            ));
        }
        if usage != Use::Call {
            return Err(ScenarioError::at(
                span,
                format!(
                    "{name}() works on a shared word: write '{}'",
                    usage.call_text(name)
                ),
            ));
        }
        self.allowed(p, c, span)?;
        let ops = (c.ops)(&self.cfg.lowering());
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
                Op::Clear | Op::ClearLow | Op::ClearLowStore => self.clears += 1,
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
            // pmdp_collapse_flush_sync(): a flush that sent IPIs skips the sync after it
            // (and the x2APIC fence before that sync).
            if op == Op::Flush && p.name == "pmdp_collapse_flush_sync" {
                let sync = ops[k + 1..].iter().position(|&o| o == Op::Sync);
                if let Some(d) = sync {
                    self.code[i].next = (i + d + 2) as u8;
                }
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
    let mut words = Builder::new(&s.init)?;
    for b in &blocks {
        let start = code.len();
        words.block();
        let mut e = Emitter {
            cfg,
            words: &mut words,
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
    let observable = s.exists.cond.is_some()
        || s.exists.hazards.iter().any(|h| match h {
            Hazard::Torn => torn_ok,
            Hazard::Stale => stale_ok,
            Hazard::Deadlock | Hazard::Observed => true,
            // The classic parser names none of these; the general machine raises them.
            _ => false,
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
    let words = words.finish(&block_of, s.exists.cond.as_ref())?;
    Ok(Program {
        code: full,
        entry,
        block_of,
        blocks: ranges,
        lines,
        hash: cfg.scenario.as_ref().map(|s| program_hash(s)),
        exists: s.exists.clone(),
        words,
    })
}

fn find_control(stmts: &[Stmt]) -> Option<&Stmt> {
    stmts
        .iter()
        .find(|s| matches!(s, Stmt::If { .. } | Stmt::DoWhile { .. }))
}

/// The program `cfg` runs: its scenario's, or its placement's.
pub fn program_for(cfg: &Config) -> Result<Program, ConfigError> {
    let s = of_config(cfg);
    compile(s, cfg).map_err(|e| ConfigError::new("scenario", e.to_string()))
}
