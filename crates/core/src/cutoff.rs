//! Verdicts for every reader count: a cutoff argument, checked on the scenario itself,
//! that lets a check at a few readers decide every count of readers and idle CPUs.
//!
//! The theorem, its proof and where it does not apply are `docs/src/cutoff.md`, below.
#![doc = include_str!("../../../docs/src/cutoff.md")]

use crate::check::{check, CheckError, CheckOptions, CheckResult};
use crate::config::Config;
use crate::hazard::Verdict;
use crate::machine::{COLLAPSER, FIRST_READER, POPULATOR};
use crate::prim::{var, Op};
use crate::program::{of_config, program_for, Program};
use crate::scenario::Actor;
use serde::{Deserialize, Serialize};

pub use crate::general::argument::{any_sentence, readers, Argument, Breach, Condition};

/// State only readers own: another CPU's interrupt flag, IPIs, preemption, and the PTL.
const NOT_WRITER_STATE: u16 = var::IRQ | var::ALL_IRQ | var::IPI | var::PREEMPTED | var::PTL;

/// The reader blocks a configuration's program has.
fn reader_blocks(cfg: &Config) -> u32 {
    let n = of_config(cfg)
        .blocks
        .iter()
        .filter(|b| matches!(b.actor, Actor::Reader(_)))
        .count();
    n.max(1) as u32
}

/// The argument for `cfg`'s program (its reader count and CPU count do not matter).
pub fn argument(cfg: &Config) -> Result<Argument, CheckError> {
    let cutoff = reader_blocks(cfg);
    let at_cutoff = Config {
        readers: cutoff,
        any_readers: false,
        cpus: None,
        ..cfg.clone()
    };
    let program = program_for(&at_cutoff).map_err(CheckError::Config)?;
    let source = &of_config(cfg).source;
    let readers = steps(&program, FIRST_READER..FIRST_READER + cutoff as u8);
    let writers = steps(&program, [COLLAPSER, POPULATOR]);
    let breach = |steps: &[(Op, u32)], bad: &dyn Fn(Op) -> Option<String>| {
        steps.iter().find_map(|&(op, line)| {
            bad(op).map(|why| Breach {
                line,
                text: source
                    .lines()
                    .nth(line.saturating_sub(1) as usize)
                    .unwrap_or("")
                    .trim()
                    .to_string(),
                op: op.name().to_string(),
                why,
            })
        })
    };
    let c1 = breach(&readers, &|op| {
        let w = op.footprint().writes & !var::IRQ;
        (w != 0).then(|| format!("a reader's step writes {}", var::names(w)))
    });
    let c2 = breach(&readers, &|op| {
        let r = op.footprint().reads & NOT_WRITER_STATE;
        (r != 0).then(|| format!("a reader's step reads {}", var::names(r)))
    });
    let c3 = breach(&writers, &|op| {
        let f = op.footprint();
        let on_others = f.reads & (var::ALL_IRQ | var::PREEMPTED) != 0 || f.writes & var::IPI != 0;
        (on_others && !f.waits_all)
            .then(|| "a writer's step waits on one particular CPU".to_string())
    });
    let cond = |id: &str, statement: &str, b: Option<Breach>| Condition {
        id: id.into(),
        statement: statement.into(),
        holds: b.is_none(),
        broken_at: b,
    };
    let mut conditions = vec![
        cond(
            "C1",
            "readers write no shared state but their own interrupt flag",
            c1,
        ),
        cond(
            "C2",
            "readers read only what the writers write (the PMD, the tables, installed)",
            c2,
        ),
        cond(
            "C3",
            "writers wait on other CPUs only as a set: every IPI target, every CPU inside a read",
            c3,
        ),
    ];
    // A condition on final registers names CPUs one by one, and says nothing of the
    // runs the argument maps onto each other.
    if let Some(c) = program.words.as_ref().and_then(|w| w.cond.as_ref()) {
        let span = c.atoms().first().map(|a| a.2).unwrap_or_default();
        conditions.push(cond(
            "C4",
            "the exists clause names hazards only (no condition on final registers or words)",
            Some(Breach {
                line: span.line,
                text: source
                    .lines()
                    .nth(span.line.saturating_sub(1) as usize)
                    .unwrap_or("")
                    .trim()
                    .to_string(),
                op: "exists".into(),
                why: "the clause tests final values, which depend on which CPUs ran".into(),
            }),
        ));
    }
    Ok(Argument { cutoff, conditions })
}

/// The ops of the CPUs' blocks with their source lines, each once, in order.
fn steps(p: &Program, cpus: impl IntoIterator<Item = u8>) -> Vec<(Op, u32)> {
    let mut out: Vec<(Op, u32)> = Vec::new();
    for cpu in cpus {
        for pc in p.block_pcs(cpu) {
            let step = (p.code[pc as usize].op, p.lines[pc as usize]);
            if !out.contains(&step) {
                out.push(step);
            }
        }
    }
    out
}

/// The answer for every reader count.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnyResult {
    pub argument: Argument,
    /// Whether the verdict holds for every count of readers and idle CPUs (the argument
    /// applies and every check finished); otherwise it holds for `checked` only.
    pub proved: bool,
    /// The verdict: a hazard at the fewest readers that reach it, else safe (or
    /// incomplete).
    pub verdict: Verdict,
    /// The reader counts checked, in order, with each one's verdict.
    pub checked: Vec<(u32, Verdict)>,
    /// The check that gave the verdict (at the fewest readers for a hazard, the last
    /// count otherwise), with its witness.
    pub result: CheckResult,
    /// Its reader count.
    pub readers: u32,
}

/// Checks `cfg` for every reader count: at `1..=cutoff` readers when the argument applies,
/// else at `1..=bound` ("bounded"). Stops at the first count that is not safe.
pub fn check_any(cfg: &Config, opts: CheckOptions, bound: u32) -> Result<AnyResult, CheckError> {
    let argument = argument(cfg)?;
    let (checked, readers, result) = argument.check_counts(bound, |readers| {
        let at = Config {
            readers,
            any_readers: false,
            cpus: None,
            ..cfg.clone()
        };
        let r = check(&at, opts)?;
        Ok::<_, CheckError>((r.verdict, r))
    })?;
    Ok(AnyResult {
        proved: argument.applies() && result.verdict != Verdict::Incomplete,
        verdict: result.verdict,
        argument,
        checked,
        result,
        readers,
    })
}

impl AnyResult {
    /// The verdict in one sentence, as the command and the page say it.
    pub fn sentence(&self) -> String {
        any_sentence(self.verdict, self.proved, self.readers)
    }

    /// The counts checked with their verdicts: "1 reader: safe, 2 readers: torn".
    pub fn checked_text(&self) -> String {
        crate::general::argument::checked_text(&self.checked)
    }
}
