//! The program of an X86 litmus test: the columns `P0 | P1 ;`, one row of instructions
//! per line, with labels and jumps, and each instruction's operands.

use super::parse::{err, is_ident, parse_int, reg_index, Parser, Piece};
use super::syntax::{Alu, Ins, Operand, REGS};
use crate::scenario::ScenarioError;

/// The most instructions a thread has (a program counter is a byte, and a label may
/// name the end).
pub(super) const MAX_CODE: usize = 250;

/// `ADD`, `XOR`, `OR`, `AND`, `INC`, `DEC` by destination: a location (atomic with
/// `LOCK`, a load then a store without), or a register (no `LOCK`).
fn alu(op: Alu, d: Operand, s: Operand, locked: bool) -> Result<Ins, &'static str> {
    match (d, s) {
        (Operand::Ind(_), _) | (_, Operand::Ind(_)) => {
            Err("a register-indirect address [ESI] is taken by MOV and CMP only")
        }
        (Operand::Mem(_), Operand::Mem(_)) => Err("x86 has no memory-to-memory form"),
        (Operand::Mem(x), s) => Ok(Ins::Rmw(x, op, s, locked)),
        (Operand::Reg(_), _) if locked => Err("LOCK takes a memory destination: LOCK ADD [x],src"),
        (Operand::Reg(r), s) => Ok(Ins::Alu(r, op, s)),
        (Operand::Imm(_), _) => Err("the destination cannot be an immediate"),
    }
}

impl<'a> Parser<'a> {
    /// The columns: a header `P0 | P1 ;`, then one row of instructions per line.
    #[allow(clippy::type_complexity)]
    pub(super) fn program(
        &mut self,
    ) -> Result<(Vec<Vec<Ins>>, Vec<Vec<(usize, usize)>>), ScenarioError> {
        let src = self.src;
        self.skip_space();
        let head = self.line().trim();
        let cols: Vec<Piece> = Piece {
            text: head.text.trim_end().trim_end_matches(';'),
            at: head.at,
        }
        .split('|')
        .into_iter()
        .map(Piece::trim)
        .collect();
        for (i, c) in cols.iter().enumerate() {
            if !c.text.eq_ignore_ascii_case(&format!("P{i}")) {
                return err(
                    src,
                    c.at,
                    c.text.len(),
                    format!("expected the column header P{i} (the header is 'P0 | P1 | ... ;')"),
                );
            }
        }
        let n = cols.len();
        let mut threads = vec![Vec::new(); n];
        let mut lines = vec![Vec::new(); n];
        // Per thread, its labels and the instruction each names; the jumps to resolve
        // once every label is known: (thread, instruction, label, where it is written).
        let mut labels: Vec<Vec<(String, usize)>> = vec![Vec::new(); n];
        let mut jumps: Vec<(usize, usize, String, usize)> = Vec::new();
        loop {
            self.skip_space();
            let r = self.rest();
            let word = r
                .split(|c: char| !c.is_ascii_alphanumeric())
                .next()
                .unwrap_or("");
            if r.is_empty()
                || r.starts_with(['~', '('])
                || ["exists", "forall", "final", "locations", "filter", "not"].contains(&word)
            {
                break;
            }
            let row = self.line().trim();
            let Some(body) = row.text.strip_suffix(';') else {
                return err(
                    src,
                    row.at + row.text.len(),
                    1,
                    "a row of the program ends with ';'",
                );
            };
            let cells = Piece {
                text: body,
                at: row.at,
            }
            .split('|');
            if cells.len() != n {
                return err(
                    src,
                    row.at,
                    row.text.len(),
                    format!(
                        "{} columns in this row, but the header has {n}",
                        cells.len()
                    ),
                );
            }
            for (t, cell) in cells.into_iter().enumerate() {
                let mut cell = cell.trim();
                // `L0:`, before an instruction or alone: the next instruction's label.
                if let Some((name, rest)) = cell.text.split_once(':') {
                    if is_ident(name) && reg_index(name).is_none() {
                        if labels[t].iter().any(|(n, _)| n == name) {
                            return err(
                                src,
                                cell.at,
                                name.len(),
                                format!("P{t} has two labels '{name}'"),
                            );
                        }
                        labels[t].push((name.to_string(), threads[t].len()));
                        cell = Piece {
                            text: rest,
                            at: cell.at + name.len() + 1,
                        }
                        .trim();
                    }
                }
                if cell.text.is_empty() {
                    continue;
                }
                let (m, target) = cell
                    .text
                    .split_once(char::is_whitespace)
                    .unwrap_or((cell.text, ""));
                let jump = match m.to_ascii_uppercase().as_str() {
                    "JMP" => Some(None),
                    "JE" => Some(Some(true)),
                    "JNE" => Some(Some(false)),
                    _ => None,
                };
                let ins = match jump {
                    Some(cond) => {
                        let target = target.trim();
                        let at = cell.at + cell.text.len() - target.len();
                        if !is_ident(target) {
                            return err(
                                src,
                                cell.at,
                                cell.text.len(),
                                format!("{m} takes a label: {m} L0"),
                            );
                        }
                        jumps.push((t, threads[t].len(), target.to_string(), at));
                        Ins::Jump(cond, 0)
                    }
                    None => self.ins(cell)?,
                };
                if threads[t].len() >= MAX_CODE {
                    return err(
                        src,
                        cell.at,
                        cell.text.len(),
                        format!("P{t} has more than {MAX_CODE} instructions"),
                    );
                }
                threads[t].push(ins);
                lines[t].push((cell.at, cell.text.len()));
            }
        }
        for (t, i, name, at) in jumps {
            let Some(&(_, to)) = labels[t].iter().find(|(n, _)| *n == name) else {
                return err(src, at, name.len(), format!("P{t} has no label '{name}'"));
            };
            if let Ins::Jump(cond, _) = threads[t][i] {
                threads[t][i] = Ins::Jump(cond, to as u8);
            }
        }
        Ok((threads, lines))
    }

    fn operand(&mut self, p: Piece) -> Result<Operand, ScenarioError> {
        let src = self.src;
        let t = p.text;
        if let Some(v) = t.strip_prefix('$') {
            let v = parse_int(
                Piece {
                    text: v,
                    at: p.at + 1,
                },
                src,
                "a number after '$'",
            )?;
            return Ok(Operand::Imm(v));
        }
        // herd7 takes an immediate without its `$` too.
        if t.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
            return Ok(Operand::Imm(parse_int(p, src, "a number")?));
        }
        if let Some(inner) = t.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            let inner = inner.trim();
            if let Some(r) = reg_index(inner) {
                return Ok(Operand::Ind(r));
            }
            if !is_ident(inner) {
                return err(
                    src,
                    p.at,
                    t.len(),
                    format!("'{t}': an address is a location [x] or a register [ESI]"),
                );
            }
            return Ok(Operand::Mem(self.var(inner)));
        }
        match reg_index(t) {
            Some(r) => Ok(Operand::Reg(r)),
            None => err(
                src,
                p.at,
                t.len(),
                format!(
                    "'{t}' is not an operand: a register ({}), an immediate $n, or a location [x]",
                    REGS.join(", ")
                ),
            ),
        }
    }

    pub(super) fn ins(&mut self, cell: Piece) -> Result<Ins, ScenarioError> {
        let src = self.src;
        let text = cell.text;
        let mnem_end = text.find(char::is_whitespace).unwrap_or(text.len());
        let mut m = text[..mnem_end].to_ascii_uppercase();
        let mut m_at = cell.at;
        let mut rest = Piece {
            text: &text[mnem_end..],
            at: cell.at + mnem_end,
        }
        .trim();
        let locked = m == "LOCK";
        if locked {
            let e = rest
                .text
                .find(char::is_whitespace)
                .unwrap_or(rest.text.len());
            m = rest.text[..e].to_ascii_uppercase();
            m_at = rest.at;
            rest = Piece {
                text: &rest.text[e..],
                at: rest.at + e,
            }
            .trim();
        }
        let ops: Vec<Operand> = if rest.text.is_empty() {
            Vec::new()
        } else {
            rest.split(',')
                .into_iter()
                .map(|p| self.operand(p.trim()))
                .collect::<Result<_, _>>()?
        };
        let bad = |what: &str| err(src, cell.at, text.len(), format!("{m}: {what}"));
        let mem_of = |o: &Operand| match o {
            Operand::Mem(x) => Some(*x),
            _ => None,
        };
        let reg_of = |o: &Operand| match o {
            Operand::Reg(r) => Some(*r),
            _ => None,
        };
        let ins = match (m.as_str(), locked, ops.as_slice()) {
            ("MOV", false, [d, s]) => match (d, s) {
                (Operand::Mem(_) | Operand::Ind(_), Operand::Mem(_) | Operand::Ind(_)) => {
                    return bad("x86 has no memory-to-memory MOV");
                }
                (Operand::Imm(_), _) => return bad("the destination cannot be an immediate"),
                _ => Ins::Mov(*d, *s),
            },
            ("CMP", false, [a, b]) => match (a, b) {
                (Operand::Mem(_) | Operand::Ind(_), Operand::Mem(_) | Operand::Ind(_)) => {
                    return bad("x86 compares a location with a register or an immediate only");
                }
                (Operand::Imm(_), _) => return bad("the first operand cannot be an immediate"),
                _ => Ins::Cmp(*a, *b),
            },
            ("MFENCE", false, []) => Ins::Mfence,
            // Under x86-TSO on write-back memory they order nothing MOV does not.
            ("LFENCE" | "SFENCE", false, []) => Ins::Nop,
            ("XCHG", _, [a, b]) => match (mem_of(a), reg_of(b), mem_of(b), reg_of(a)) {
                (Some(x), Some(r), _, _) | (_, _, Some(x), Some(r)) => Ins::Xchg(x, r),
                _ => return bad("expected XCHG [x],REG or XCHG REG,[x]"),
            },
            ("ADD" | "XOR" | "OR" | "AND", _, [d, s]) => {
                let op = match m.as_str() {
                    "ADD" => Alu::Add,
                    "XOR" => Alu::Xor,
                    "OR" => Alu::Or,
                    _ => Alu::And,
                };
                match alu(op, *d, *s, locked) {
                    Ok(i) => i,
                    Err(e) => return bad(e),
                }
            }
            ("INC" | "DEC", _, [d]) => {
                let one = Operand::Imm(if m == "INC" { 1 } else { -1 });
                match alu(Alu::Add, *d, one, locked) {
                    Ok(i) => i,
                    Err(e) => return bad(e),
                }
            }
            ("XADD", true, [a, b]) => match (mem_of(a), reg_of(b)) {
                (Some(x), Some(r)) => Ins::LockXadd(x, r),
                _ => return bad("expected LOCK XADD [x],REG"),
            },
            ("CMPXCHG", true, [a, b]) => match (mem_of(a), reg_of(b)) {
                (Some(x), Some(r)) => Ins::LockCmpxchg(x, r),
                _ => return bad("expected LOCK CMPXCHG [x],REG (compares with EAX)"),
            },
            ("XADD" | "CMPXCHG", false, _) => {
                return err(
                    src,
                    m_at,
                    m.len(),
                    format!("{m} without LOCK is not atomic and this model does not take it: write LOCK {m}"),
                )
            }
            ("MOV" | "CMP" | "MFENCE" | "LFENCE" | "SFENCE" | "ADD" | "XOR" | "OR" | "AND"
            | "INC" | "DEC" | "XADD" | "CMPXCHG", _, _) => {
                return bad("wrong operands (or a LOCK prefix where it does not belong)")
            }
            (other, _, _) => {
                let fence = other.ends_with("FENCE")
                    || ["DMB", "DSB", "ISB", "SYNC", "LWSYNC", "ISYNC", "FENCE"].contains(&other);
                return err(
                    src,
                    m_at,
                    other.len(),
                    if fence {
                        format!("unknown fence '{other}': this model knows MFENCE (and LFENCE, SFENCE, which order nothing more under x86-TSO)")
                    } else {
                        format!("unknown instruction '{other}': this model knows MOV, CMP, JMP, JE, JNE, MFENCE, LFENCE, SFENCE, XCHG, ADD, XOR, OR, AND, INC, DEC (each with or without LOCK), and LOCK XADD, CMPXCHG")
                    },
                );
            }
        };
        Ok(ins)
    }
}
