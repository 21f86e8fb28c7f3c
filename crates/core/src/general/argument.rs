//! The cutoff argument's conditions and their result, for both machines
//! (`crate::cutoff` derives them for a classic program), and the argument for a
//! general program: its walkers are a class (`readers = N` replicates their blocks),
//! so the theorem of `docs/src/cutoff.md` applies where the walkers' steps meet C1 and
//! C2, read off [`GOp::shared_writes`] and [`GOp::private_reads`]; then checks at
//! `1..=B` walkers (B, the file's walker blocks) decide every count of walkers and
//! idle CPUs.

use super::ir::{GOp, GProgram};
use super::lang::parse;
use super::search::{check, GCheckOptions, GCheckResult};
use crate::hazard::Verdict;
use crate::prim::general as table;
use crate::scenario::syntax::ScenarioError;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Where a condition fails: the first line whose step breaks it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breach {
    /// The scenario line (1-based), and its text.
    pub line: u32,
    pub text: String,
    /// The step of that line that breaks it, and what it touches.
    pub op: String,
    pub why: String,
}

/// One condition of the argument, and whether the program meets it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    /// `C1`, `C2`, `C3`.
    pub id: String,
    pub statement: String,
    pub holds: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broken_at: Option<Breach>,
}

impl Condition {
    pub fn new(id: &str, statement: &str, breach: Option<Breach>) -> Condition {
        Condition {
            id: id.into(),
            statement: statement.into(),
            holds: breach.is_none(),
            broken_at: breach,
        }
    }
}

/// What [`Argument::check_counts`] gives: each count checked with its verdict, the last
/// count, and what its check gave.
pub type Counts<R> = (Vec<(u32, Verdict)>, u32, R);

/// The argument as it applies to one program.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Argument {
    /// Reader blocks: the cutoff, the most readers a check needs.
    pub cutoff: u32,
    pub conditions: Vec<Condition>,
}

impl Argument {
    /// Whether every condition holds, so that checks at `1..=cutoff` decide every count.
    pub fn applies(&self) -> bool {
        self.conditions.iter().all(|c| c.holds)
    }

    /// The cutoff where the argument applies; `None` where a condition fails (the
    /// number would claim a bound nothing proves).
    pub fn proven_cutoff(&self) -> Option<u32> {
        self.applies().then_some(self.cutoff)
    }

    /// The argument as the command prints it: whether it applies, then each condition
    /// held or broken at its line. `unit` names what is counted ("reader", "walker").
    pub fn explain(&self, unit: &str) -> String {
        let k = self.cutoff;
        let mut out = if self.applies() {
            format!(
                "cutoff argument (docs/cutoff.md): it applies, so {} every count of {unit}s and idle CPUs:\n",
                if k == 1 {
                    format!("the check at 1 {unit} decides")
                } else {
                    format!("the checks at 1..={k} {unit}s decide")
                }
            )
        } else {
            "cutoff argument (docs/cutoff.md): it does not apply, so only the counts checked are decided:\n".to_string()
        };
        for c in &self.conditions {
            out.push_str(&match &c.broken_at {
                None => format!("  {} holds: {}\n", c.id, c.statement),
                Some(b) => format!(
                    "  {} fails: {}; line {}: `{}` ({}): {}\n",
                    c.id, c.statement, b.line, b.text, b.op, b.why
                ),
            });
        }
        out
    }

    /// Runs `check_at` at 1, 2, … readers: up to the cutoff where the argument applies,
    /// else up to `bound`, stopping at the first count that is not safe. Returns each
    /// count's verdict, and the last count with what its check gave.
    pub fn check_counts<R, E>(
        &self,
        bound: u32,
        mut check_at: impl FnMut(u32) -> Result<(Verdict, R), E>,
    ) -> Result<Counts<R>, E> {
        let last = if self.applies() {
            self.cutoff
        } else {
            bound.max(1)
        };
        let mut checked = Vec::new();
        let mut n = 1;
        loop {
            let (v, r) = check_at(n)?;
            checked.push((n, v));
            if v != Verdict::Safe || n >= last {
                return Ok((checked, n, r));
            }
            n += 1;
        }
    }
}

/// "1 reader", "3 readers".
pub fn readers(n: u32) -> String {
    format!("{n} reader{}", if n == 1 { "" } else { "s" })
}

/// A verdict for every reader count in one sentence, as the command and the page say
/// it: `n` is the count that gave it, `proved` whether the argument made it hold for
/// every count.
pub fn any_sentence(verdict: Verdict, proved: bool, n: u32) -> String {
    let readers = readers(n);
    match verdict {
        Verdict::Safe if proved => "safe for any number of CPUs (readers and idle CPUs alike)".into(),
        Verdict::Safe => format!(
            "bounded: safe for 1..={n} readers, not proved for more (the cutoff argument does not apply)"
        ),
        Verdict::Incomplete => format!("incomplete at {readers}: nothing is proven"),
        v if proved => format!(
            "{v} with {readers}, the fewest that reach it (and so with any more readers or idle CPUs)"
        ),
        v => format!("{v} with {readers}, the fewest that reach it"),
    }
}

/// The counts checked with their verdicts: "1 reader: safe, 2 readers: torn".
pub fn checked_text(checked: &[(u32, Verdict)]) -> String {
    let counts: Vec<String> = checked
        .iter()
        .map(|&(n, v)| format!("{}: {v}", readers(n)))
        .collect();
    counts.join(", ")
}

/// Each distinct step of the blocks `which` selects, with its line, in order.
fn steps(p: &GProgram, walkers: bool) -> Vec<(GOp, u32, u16)> {
    let mut out: Vec<(GOp, u32, u16)> = Vec::new();
    for (actor, from, to, _) in &p.blocks {
        if table::actor(actor).is_some_and(|a| a.walker) != walkers {
            continue;
        }
        for ins in &p.code[*from as usize..*to as usize] {
            let step = (ins.op, ins.line, ins.prim);
            if !out.contains(&step) {
                out.push(step);
            }
        }
    }
    out
}

/// The file's walker blocks.
pub fn walker_blocks(p: &GProgram) -> u32 {
    p.blocks
        .iter()
        .filter(|b| table::actor(&b.0).is_some_and(|a| a.walker))
        .count() as u32
}

/// The argument for a general program (its walker and CPU counts do not matter).
pub fn argument(p: &GProgram) -> Argument {
    let walkers = steps(p, true);
    let breach = |bad: &dyn Fn(&GOp) -> Option<&'static str>, what: &str| {
        walkers.iter().find_map(|(op, line, prim)| {
            bad(op).map(|touched| Breach {
                line: *line,
                text: p
                    .source
                    .lines()
                    .nth(line.saturating_sub(1) as usize)
                    .unwrap_or("")
                    .trim()
                    .to_string(),
                op: format!("{}()", crate::prim::PRIMS[*prim as usize].name),
                why: format!("a walker's step {what} {touched}"),
            })
        })
    };
    let c1 = breach(&GOp::shared_writes, "writes");
    let c2 = breach(&GOp::private_reads, "reads");
    Argument {
        cutoff: walker_blocks(p).max(1),
        conditions: vec![
            Condition::new(
                "C1",
                "walkers write no shared state but their own interrupt flag",
                c1,
            ),
            Condition::new(
                "C2",
                "walkers read only what the writers write (entries, tables, page counts)",
                c2,
            ),
            // Every wait the general machine has on other CPUs is on a set: an IPI on
            // every target, a grace period on every CPU that had interrupts off; a lock
            // or rwsem is held by writers only once C1 holds.
            Condition::new(
                "C3",
                "writers wait on other CPUs only as a set: every IPI target, every CPU inside a read",
                None,
            ),
        ],
    }
}

/// The answer for every walker count.
#[derive(Clone, Debug)]
pub struct GAnyResult {
    pub argument: Argument,
    /// Whether the verdict holds for every count of walkers and idle CPUs.
    pub proved: bool,
    pub verdict: Verdict,
    pub checked: Vec<(u32, Verdict)>,
    /// The check that gave the verdict, and the program it ran (its witness replays
    /// there).
    pub result: GCheckResult,
    pub program: Arc<GProgram>,
    pub readers: u32,
}

impl GAnyResult {
    pub fn sentence(&self) -> String {
        any_sentence(self.verdict, self.proved, self.readers)
    }
}

/// The program at `n` walkers: the first `n` walker blocks where `n` is below the
/// file's count (as the classic machine runs them), replicated where above; no idle
/// CPU.
pub fn at_walkers(p: &GProgram, n: u32) -> Result<Arc<GProgram>, ScenarioError> {
    let mut s = parse(&p.source)?;
    let mut kept = 0;
    s.blocks.retain(|b| {
        let walker = table::actor(&b.actor).is_some_and(|a| a.walker);
        kept += walker as u32;
        !walker || kept <= n
    });
    let cfg = super::ir::GConfig {
        readers: n,
        cpus: None,
        any_readers: false,
        ..p.cfg.clone()
    };
    let mut at = super::compile::compile_with(&s, &cfg)?;
    at.walkers_at = Some(n);
    Ok(Arc::new(at))
}

/// Checks `p` for every walker count: at `1..=cutoff` walkers when the argument
/// applies, else at `1..=bound` ("bounded"). Stops at the first count that is not safe.
pub fn check_any(
    p: &GProgram,
    opts: GCheckOptions,
    bound: u32,
) -> Result<GAnyResult, ScenarioError> {
    let argument = argument(p);
    let (checked, readers, (result, program)) = argument.check_counts(bound, |n| {
        let at = at_walkers(p, n)?;
        let r = check(&at, opts);
        Ok::<_, ScenarioError>((r.verdict, (r, at)))
    })?;
    Ok(GAnyResult {
        proved: argument.applies() && result.verdict != Verdict::Incomplete,
        verdict: result.verdict,
        argument,
        checked,
        result,
        program,
        readers,
    })
}
