//! The scenario printer: blocks and `exists` clauses written back in canonical layout,
//! and the program's canonical text, whose hash names a scenario in its schedule
//! strings. (A whole file with its settings is printed from a configuration:
//! `crate::program::print`.)

use super::syntax::{print_exists, Actor, Block, Scenario, Stmt};
use crate::knob::ReaderKind;

fn print_stmts(out: &mut String, stmts: &[Stmt], depth: usize) {
    let ind = "    ".repeat(depth);
    for s in stmts {
        match s {
            Stmt::Call { name, .. } => out.push_str(&format!("{ind}{name}();\n")),
            Stmt::Access {
                name,
                var,
                value,
                reg,
                ..
            } => {
                let to = reg
                    .as_ref()
                    .map(|(r, _)| format!("{r} = "))
                    .unwrap_or_default();
                let v = value.map(|(v, _)| format!(", {v}")).unwrap_or_default();
                out.push_str(&format!("{ind}{to}{name}({}{v});\n", var.0));
            }
            Stmt::If {
                cond,
                negated,
                then,
                other,
                ..
            } => {
                let bang = if *negated { "!" } else { "" };
                let arm = |out: &mut String, v: &[Stmt], head: String| {
                    if let [one @ (Stmt::Call { .. } | Stmt::Access { .. })] = v {
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

pub(crate) fn print_blocks(blocks: &[Block], reader: Option<ReaderKind>) -> String {
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

/// The program part (blocks and exists, reader kinds folded into the `reader` setting) in
/// canonical form: what identifies a scenario's semantics.
pub(crate) fn program_text(s: &Scenario) -> String {
    let mut blocks = s.blocks.clone();
    for b in &mut blocks {
        if let Actor::Reader(_) = b.actor {
            b.actor = Actor::Reader(None);
        }
    }
    // Shared words' first values are part of the program (none: as before they existed).
    let init: String = s
        .init
        .iter()
        .map(|(n, v, _)| format!("int {n} = {v};\n"))
        .collect();
    init + &print_blocks(&blocks, None)
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
