//! The general compiler: a [`GScenario`] checked against the rules of the model (locks
//! balanced, interrupts restored, walkers that only read entries, arguments of the
//! kinds their rows ask for) and lowered into the flat code the general machine
//! interprets, with the world it starts from: the PMDs, the tables with their PTEs, the
//! pages with their counts.

use super::emit::{thread_jumps, Emitter, Local};
use super::ir::*;
use super::lang::{GBlock, GScenario};
use super::world::{configure, world};
use crate::knob::ReaderKind;
use crate::prim::general as table;
use crate::scenario::syntax::{ScenarioError, Span};
use std::collections::HashMap;

fn err<T>(span: Span, msg: impl Into<String>) -> Result<T, ScenarioError> {
    Err(ScenarioError::at(span, msg))
}

/// Compiles a parsed file with the knobs its settings give.
pub fn compile(s: &GScenario) -> Result<GProgram, ScenarioError> {
    let walkers = s
        .blocks
        .iter()
        .filter(|b| table::actor(&b.actor).is_some_and(|a| a.walker))
        .count() as u32;
    let cfg = configure(s, walkers)?;
    compile_with(s, &cfg)
}

/// Compiles a parsed file under the given knobs (its own settings are not read).
pub fn compile_with(s: &GScenario, cfg: &GConfig) -> Result<GProgram, ScenarioError> {
    let mut w = world(s)?;
    let mut blocks: Vec<&GBlock> = s.blocks.iter().collect();
    blocks.sort_by_key(|b| b.cpu);
    for (i, b) in blocks.iter().enumerate() {
        if b.cpu as usize != i {
            return err(
                b.span,
                format!("blocks are numbered P0, P1, … with no gap or repeat: expected P{i}"),
            );
        }
    }
    let mut kinds = Vec::new();
    let mut seen_walker = false;
    for b in &blocks {
        let a = table::actor(&b.actor).ok_or_else(|| {
            let known: Vec<&str> = table::ACTORS.iter().map(|a| a.name).collect();
            ScenarioError::at(
                b.actor_span,
                format!(
                    "unknown kernel path '{}' (known: {})",
                    b.actor,
                    known.join(", ")
                ),
            )
        })?;
        if seen_walker && !a.walker {
            return err(b.span, "the lockless walkers' blocks come after every other block (readers = N replicates them)");
        }
        seen_walker |= a.walker;
        kinds.push(a);
    }
    let walker_blocks: Vec<usize> = (0..blocks.len()).filter(|&i| kinds[i].walker).collect();
    let writers = blocks.len() - walker_blocks.len();
    if walker_blocks.len() as u32 > cfg.readers {
        return err(
            blocks[writers + cfg.readers as usize].span,
            format!(
                "{} walker blocks but readers = {}: set readers to at least {}",
                walker_blocks.len(),
                cfg.readers,
                walker_blocks.len()
            ),
        );
    }
    let readers = if walker_blocks.is_empty() {
        0
    } else {
        cfg.readers as usize
    };
    let needed = writers + readers;
    let cpus = cfg.cpus.map_or(needed, |c| c as usize);
    if cpus < needed || cpus > MAX_CPUS as usize || needed == 0 {
        return err(
            s.settings
                .iter()
                .find(|k| k.0 == "cpus" || k.0 == "readers")
                .map_or(blocks[0].span, |k| k.2),
            format!("the blocks need {needed} CPUs; the general machine has 1 to {MAX_CPUS}"),
        );
    }
    let mut code = Vec::new();
    let mut ranges = Vec::new();
    let mut table_locals = Vec::new();
    let mut words = crate::program::words::Builder::new(&[])?;
    for (bi, b) in blocks.iter().enumerate() {
        let start = code.len();
        words.block();
        let mut e = Emitter {
            cfg,
            world: &mut w,
            words: &mut words,
            code: std::mem::take(&mut code),
            locals: HashMap::new(),
            names: Vec::new(),
            origin: HashMap::new(),
            walker: kinds[bi].walker,
            held: Vec::new(),
            irq_off: false,
            counters: Vec::new(),
            breaks: Vec::new(),
            returns: Vec::new(),
            ended: false,
            run_start: None,
            prim: 0,
            line: b.span.line,
        };
        e.stmts(&b.body)?;
        e.end_run();
        if !e.held.is_empty() {
            return err(
                b.span,
                format!(
                    "P{} ends holding a lock: release it with spin_unlock()",
                    b.cpu
                ),
            );
        }
        if e.irq_off {
            return err(
                b.span,
                format!(
                    "P{} ends with interrupts disabled: add local_irq_restore()",
                    b.cpu
                ),
            );
        }
        let end = e.code.len();
        if end == start && kinds[bi].walker {
            return err(
                b.span,
                "a walker block needs at least one step (it loops over its lines)",
            );
        }
        for pc in std::mem::take(&mut e.returns) {
            e.code[pc].next = end as u16;
            e.code[pc].alt = end as u16;
        }
        // Falling off the end: a walker starts again, any other block is done.
        let to = if kinds[bi].walker { start as u16 } else { DONE };
        for ins in &mut e.code[start..end] {
            for t in [&mut ins.next, &mut ins.alt] {
                if *t as usize == end {
                    *t = to;
                }
            }
        }
        table_locals.push(e.locals.values().fold(0u32, |m, l| match *l {
            Local::Table(s) => m | 1 << s,
            _ => m,
        }));
        ranges.push((
            b.actor.clone(),
            start as u16,
            end as u16,
            std::mem::take(&mut e.names),
        ));
        code = e.code;
    }
    thread_jumps(&mut code, &mut ranges);
    for r in &ranges {
        liveness(&mut code, r.1, r.2);
    }
    let mut entry = vec![DONE; cpus];
    let mut block_of = vec![None; cpus];
    let (mut walker_mask, mut in_mm) = (0u64, 0u64);
    for cpu in 0..needed {
        let b = if cpu < writers {
            cpu
        } else {
            walker_blocks[(cpu - writers) % walker_blocks.len()]
        };
        let (_, s, e, _) = &ranges[b];
        entry[cpu] = if s == e { DONE } else { *s };
        block_of[cpu] = Some(b as u8);
        let a = kinds[b];
        if a.walker {
            walker_mask |= 1 << cpu;
        }
        let mm = a.in_mm.unwrap_or(cfg.reader == ReaderKind::GupFast);
        if mm {
            in_mm |= 1 << cpu;
        }
    }
    let block_ids: Vec<u8> = block_of.iter().map(|b| b.unwrap_or(u8::MAX)).collect();
    let words = words.finish(&block_ids, s.exists.cond.as_ref())?;
    Ok(GProgram {
        name: s.name.clone(),
        description: s.description.clone(),
        cfg: cfg.clone(),
        code,
        entry,
        block_of,
        blocks: ranges,
        table_locals,
        words,
        local_base: Vec::new(),
        walkers: walker_mask,
        in_mm,
        cpus: cpus as u8,
        pmds: w.pmds,
        random_table: (cfg.alloc == crate::knob::Alloc::Random)
            .then(|| w.tables.iter().position(|t| !t.declared).map(|t| t as u8))
            .flatten(),
        frame: None,
        tables: w.tables,
        pages: w.pages,
        exists: s.exists.clone(),
        source: s.source.clone(),
        walkers_at: None,
    })
    .map(|mut p| {
        let mut base = 0u16;
        for cpu in 0..p.cpus {
            p.local_base.push(base);
            base += p.local_names(cpu).len() as u16;
        }
        p
    })
}

/// Sets [`GInstr::live`] on a block's code, `start..end`, by the usual backward fixpoint:
/// a local is live where some path reads it before any step writes it. A finished
/// block has none live. Every edge stays in the block or ends it. A local set only
/// under an `if` is live at the block's first line, where it reads none (the machine
/// starts a walker's next iteration with its locals none, as the first): a walker's
/// loop back then keeps it live to its iteration's end, longer than it needs, never
/// shorter.
fn liveness(code: &mut [GInstr], start: u16, end: u16) {
    let live_at = |code: &[GInstr], t: u16| match t {
        DONE => 0,
        t => code[t as usize].live,
    };
    let mut changed = true;
    while changed {
        changed = false;
        for pc in (start..end).rev() {
            let ins = code[pc as usize];
            let def = ins.op.defines().map_or(0, |d| 1u32 << d);
            // A read's re-check writes its local only where it returns (`next`); its
            // retry edge (`alt`) writes nothing.
            let alt_def = match ins.op {
                GOp::Load {
                    step: LoadStep::Recheck(_),
                    ..
                } => 0,
                _ => def,
            };
            let live =
                ins.op.uses() | live_at(code, ins.next) & !def | live_at(code, ins.alt) & !alt_def;
            if live != ins.live {
                code[pc as usize].live = live;
                changed = true;
            }
        }
    }
}
