//! The exhaustive search over a test's interleavings under x86-TSO or SC, and herd7's
//! report of its final states.

use super::syntax::{location_at, Ins, Operand, Quant, Test, ADDR};
use crate::knob::Memory;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// herd7's verdict on how often the condition's proposition holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Observation {
    Sometimes,
    Never,
    Always,
}

impl Observation {
    pub fn name(self) -> &'static str {
        match self {
            Observation::Sometimes => "Sometimes",
            Observation::Never => "Never",
            Observation::Always => "Always",
        }
    }
}

/// One final state, as the report shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalState {
    /// `0:EAX=0; 1:EAX=0;`.
    pub state: String,
    /// Interleavings that end in it (saturating).
    pub count: u64,
    /// The condition's proposition holds in it.
    pub holds: bool,
}

/// The result of checking a test.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub name: String,
    pub memory: Memory,
    pub quant: Quant,
    /// `exists (0:EAX=0 /\ 1:EAX=0)`.
    pub condition: String,
    pub states: Vec<FinalState>,
    /// Final states where the proposition holds, and where it does not.
    pub positive: u64,
    pub negative: u64,
    pub observation: Observation,
    /// The test's condition is validated (herd7's `Ok`).
    pub ok: bool,
    /// States and transitions the exhaustive search visited.
    pub explored: u64,
    pub transitions: u64,
}

impl Outcome {
    /// The report in herd7's form.
    pub fn herd_text(&self) -> String {
        let kind = match self.quant {
            Quant::Exists => "Allowed",
            Quant::NotExists => "Forbidden",
            Quant::Forall => "Required",
        };
        let mut s = format!("Test {} {kind}\n", self.name);
        s.push_str(&format!("States {}\n", self.states.len()));
        for f in &self.states {
            let mark = if f.holds { "*>" } else { ":>" };
            s.push_str(&format!("{:<6}{mark}{}\n", f.count, f.state));
        }
        s.push_str(if self.ok { "Ok\n" } else { "No\n" });
        s.push_str("Witnesses\n");
        s.push_str(&format!(
            "Positive: {} Negative: {}\n",
            self.positive, self.negative
        ));
        s.push_str(&format!(
            "Condition {} is {}validated\n",
            self.condition,
            if self.ok { "" } else { "NOT " }
        ));
        s.push_str(&format!(
            "Observation {} {} {} {}\n",
            self.name,
            self.observation.name(),
            self.positive,
            self.negative
        ));
        s
    }
}

/// A machine state of the explorer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct St {
    pc: Vec<u8>,
    regs: Vec<[i64; 8]>,
    mem: Vec<i64>,
    /// Per thread, its buffered stores (location, value), oldest first.
    sb: Vec<Vec<(u8, i64)>>,
    /// Per thread, the value an unlocked read-modify-write has loaded and not yet stored.
    tmp: Vec<Option<i64>>,
    /// Per thread, the zero flag `CMP` sets and `JE`/`JNE` test.
    zf: Vec<bool>,
    /// Per thread, how deep it is in RCU read-side critical sections.
    rcu: Vec<u8>,
    /// Per thread in `synchronize_rcu()`: the CPUs (a bit each) that have not yet
    /// passed a quiescent state since its grace period began.
    gp: Vec<Option<u64>>,
}

/// A grace period stops waiting for a CPU once it is outside any read-side critical
/// section with an empty store buffer.
fn settle(mut n: St) -> St {
    let quiet = (0..n.rcu.len())
        .filter(|&u| n.rcu[u] == 0 && n.sb[u].is_empty())
        .fold(0u64, |m, u| m | 1 << u);
    for g in n.gp.iter_mut().flatten() {
        *g &= !quiet;
    }
    n
}

/// `[ESI]` as the location the register's address names; any other operand as it is.
fn resolve(o: Operand, regs: &[i64; 8]) -> Operand {
    match o {
        Operand::Ind(r) => Operand::Mem((regs[r as usize] - ADDR) as u8),
        other => other,
    }
}

/// What thread `t` reads at `x`: its own latest buffered store, else memory.
fn load(s: &St, t: usize, x: u8) -> i64 {
    let own = s.sb[t].iter().rev().find(|(y, _)| *y == x).map(|&(_, v)| v);
    own.unwrap_or(s.mem[x as usize])
}

/// Thread `t` stores `v` at `x`: into its buffer under TSO, else to memory.
fn store(s: &mut St, t: usize, x: u8, v: i64, tso: bool) {
    if tso {
        s.sb[t].push((x, v));
    } else {
        s.mem[x as usize] = v;
    }
}

fn value(o: Operand, regs: &[i64; 8]) -> i64 {
    match o {
        Operand::Reg(r) => regs[r as usize],
        Operand::Imm(v) => v,
        Operand::Mem(_) | Operand::Ind(_) => 0,
    }
}

/// An operand's value to thread `t`: a location's is a load.
fn read(s: &St, t: usize, o: Operand) -> i64 {
    match resolve(o, &s.regs[t]) {
        Operand::Mem(x) => load(s, t, x),
        other => value(other, &s.regs[t]),
    }
}

/// The most states a check visits before it gives up (a litmus test has a few thousand).
pub const MAX_STATES: usize = 2_000_000;

/// Why a check could not finish.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckFail {
    /// More states than [`MAX_STATES`] (a loop whose registers keep changing, say).
    TooLarge { states: u64 },
    /// No interleaving ends: some thread's loop never exits.
    NeverEnds,
    /// A `synchronize_rcu()` waits forever: a CPU it waits for never leaves its
    /// read-side critical section.
    GraceNeverEnds,
    /// A thread dereferences a register that holds no location's address.
    BadPointer {
        thread: u8,
        register: String,
        value: i64,
    },
}

impl std::fmt::Display for CheckFail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CheckFail::TooLarge { states } => write!(
                f,
                "the test has more than {states} states: too large to check exhaustively"
            ),
            CheckFail::NeverEnds => write!(
                f,
                "no interleaving ends: a loop never exits, whatever the other threads do"
            ),
            CheckFail::BadPointer {
                thread,
                register,
                value,
            } => write!(
                f,
                "P{thread} dereferences {register}, which holds {value}, not a location's address, in some interleaving"
            ),
            CheckFail::GraceNeverEnds => write!(
                f,
                "a synchronize_rcu() waits forever: a CPU it waits for never leaves its read-side critical section (an rcu_read_unlock() missing, or the grace period inside a critical section it waits for)"
            ),
        }
    }
}

impl Test {
    /// The quantifier a `with` clause gives the model (`tso`, `x86tso` or `x86-tso`;
    /// `sc`), else the condition's own.
    pub fn quant_for(&self, memory: Memory) -> Quant {
        let names: &[&str] = match memory {
            Memory::Tso => &["tso", "x86tso", "x86-tso"],
            Memory::Sc => &["sc"],
        };
        self.kinds
            .iter()
            .find(|(n, _)| names.iter().any(|m| n.eq_ignore_ascii_case(m)))
            .map_or(self.quant, |k| k.1)
    }

    /// The location whose address `v` is, if it is one.
    fn address_of(&self, v: i64) -> Option<usize> {
        location_at(v, self.vars.len())
    }

    /// A register's value as herd7 shows it: a location's address by the location's name.
    fn show_value(&self, v: i64) -> String {
        match self.address_of(v) {
            Some(x) => self.vars[x].clone(),
            None => v.to_string(),
        }
    }

    /// Counts `s` as explored and puts its successors in `succ`; whether it is final.
    fn expand(
        &self,
        s: &St,
        tso: bool,
        succ: &mut Vec<St>,
        explored: &mut u64,
    ) -> Result<bool, CheckFail> {
        *explored += 1;
        if *explored as usize > MAX_STATES {
            return Err(CheckFail::TooLarge {
                states: MAX_STATES as u64,
            });
        }
        succ.clear();
        self.successors(s, tso, succ)?;
        if succ.is_empty() && s.gp.iter().any(Option::is_some) {
            return Err(CheckFail::GraceNeverEnds);
        }
        Ok(succ.is_empty())
    }

    fn successors(&self, s: &St, tso: bool, out: &mut Vec<St>) -> Result<(), CheckFail> {
        for (t, code) in self.threads.iter().enumerate() {
            if tso && !s.sb[t].is_empty() {
                let mut n = s.clone();
                let (x, v) = n.sb[t].remove(0);
                n.mem[x as usize] = v;
                out.push(settle(n));
            }
            let Some(&ins) = code.get(s.pc[t] as usize) else {
                continue;
            };
            if tso && ins.drains() && !s.sb[t].is_empty() {
                continue;
            }
            // A pointer a C test dereferences must hold a location's address.
            for r in ins.bases() {
                let v = s.regs[t][r as usize];
                if self.address_of(v).is_none() {
                    return Err(CheckFail::BadPointer {
                        thread: t as u8,
                        register: self.reg_name(t as u8, r).to_string(),
                        value: v,
                    });
                }
            }
            let mut n = s.clone();
            n.pc[t] += 1;
            match ins {
                Ins::Mov(d, src) => match resolve(d, &s.regs[t]) {
                    Operand::Reg(r) => n.regs[t][r as usize] = read(s, t, src),
                    Operand::Mem(x) => store(&mut n, t, x, read(s, t, src), tso),
                    // The parser admits no other MOV.
                    _ => {}
                },
                Ins::Mfence | Ins::Nop => {}
                Ins::Cmp(a, b) => n.zf[t] = read(s, t, a) == read(s, t, b),
                Ins::Jump(cond, to) => {
                    if cond.is_none_or(|eq| eq == s.zf[t]) {
                        n.pc[t] = to;
                    }
                }
                Ins::Alu(r, op, src) => {
                    n.regs[t][r as usize] = op.apply(s.regs[t][r as usize], read(s, t, src));
                }
                Ins::Rmw(x, op, src, true) => {
                    n.mem[x as usize] = op.apply(n.mem[x as usize], value(src, &s.regs[t]));
                }
                // Unlocked: the load is one step (the instruction not yet done), the
                // store the next.
                Ins::Rmw(x, op, src, false) => match s.tmp[t] {
                    None => {
                        n.pc[t] -= 1;
                        n.tmp[t] = Some(load(s, t, x));
                    }
                    Some(old) => {
                        n.tmp[t] = None;
                        store(&mut n, t, x, op.apply(old, value(src, &s.regs[t])), tso);
                    }
                },
                Ins::RcuLock => n.rcu[t] = n.rcu[t].saturating_add(1),
                Ins::RcuUnlock => n.rcu[t] = n.rcu[t].saturating_sub(1),
                Ins::SyncRcu => match s.gp[t] {
                    // Begins: waits for every other CPU to pass a quiescent state (out
                    // of any critical section, its buffer drained: the kernel's grace
                    // period has each CPU run a full barrier).
                    None => {
                        n.pc[t] -= 1;
                        let others = (0..s.rcu.len())
                            .filter(|&u| u != t)
                            .fold(0u64, |m, u| m | 1 << u);
                        n.gp[t] = Some(others);
                    }
                    Some(0) => n.gp[t] = None,
                    // Still waiting: no step.
                    Some(_) => continue,
                },
                Ins::Xchg(x, r) => {
                    std::mem::swap(&mut n.mem[x as usize], &mut n.regs[t][r as usize])
                }
                Ins::LockXadd(x, r) => {
                    let old = n.mem[x as usize];
                    n.mem[x as usize] = old.wrapping_add(n.regs[t][r as usize]);
                    n.regs[t][r as usize] = old;
                }
                Ins::LockCmpxchg(x, r) => {
                    let cur = n.mem[x as usize];
                    if cur == n.regs[t][0] {
                        n.mem[x as usize] = n.regs[t][r as usize];
                    } else {
                        n.regs[t][0] = cur;
                    }
                }
            }
            out.push(settle(n));
        }
        Ok(())
    }

    /// The locations the report shows: the condition's, then `locations`, registers
    /// first (by thread and register), then memory (by name).
    fn shown(&self) -> Vec<(Option<u8>, u8)> {
        let mut v = Vec::new();
        self.prop.locations(&mut v);
        v.extend(self.locations.iter().copied());
        v.sort_by(|a, b| match (a.0, b.0) {
            (Some(p), Some(q)) => (p, a.1).cmp(&(q, b.1)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => self.vars[a.1 as usize].cmp(&self.vars[b.1 as usize]),
        });
        v.dedup();
        v
    }

    /// Checks the test under `memory`: every interleaving, every final state.
    pub fn check(&self, memory: Memory) -> Result<Outcome, CheckFail> {
        let tso = memory == Memory::Tso;
        let n = self.threads.len();
        let mut regs = vec![[0i64; 8]; n];
        for &(t, r, v) in &self.init_regs {
            if let Some(rs) = regs.get_mut(t as usize) {
                rs[r as usize] = v;
            }
        }
        let root = St {
            pc: vec![0; n],
            regs,
            mem: self.init.clone(),
            sb: vec![Vec::new(); n],
            tmp: vec![None; n],
            zf: vec![false; n],
            rcu: vec![0; n],
            gp: vec![None; n],
        };
        let mut finals: Vec<(St, u64)> = Vec::new();
        let (mut explored, mut transitions) = (0u64, 0u64);
        let mut succ = Vec::new();
        if self
            .threads
            .iter()
            .flatten()
            .any(|i| matches!(i, Ins::Jump(..)))
        {
            // With jumps a state is reached by paths of different lengths, and a loop
            // by infinitely many: every state once, and each final state counted once.
            let mut seen: std::collections::HashSet<St> = std::collections::HashSet::new();
            seen.insert(root.clone());
            let mut stack = vec![root];
            while let Some(s) = stack.pop() {
                if self.expand(&s, tso, &mut succ, &mut explored)? {
                    finals.push((s, 1));
                    continue;
                }
                for t in succ.drain(..) {
                    transitions += 1;
                    if !seen.contains(&t) {
                        seen.insert(t.clone());
                        stack.push(t);
                    }
                }
            }
            if finals.is_empty() {
                return Err(CheckFail::NeverEnds);
            }
        } else {
            // Layer by layer: every transition adds one to a state's depth, so a state's
            // interleaving count is complete once the layer before it is done.
            let mut layer: HashMap<St, u64> = HashMap::from([(root, 1)]);
            while !layer.is_empty() {
                let mut next: HashMap<St, u64> = HashMap::new();
                for (s, count) in layer {
                    if self.expand(&s, tso, &mut succ, &mut explored)? {
                        finals.push((s, count));
                        continue;
                    }
                    for t in succ.drain(..) {
                        transitions += 1;
                        let c = next.entry(t).or_insert(0);
                        *c = c.saturating_add(count);
                    }
                }
                layer = next;
            }
        }
        let shown = self.shown();
        let mut by_text: Vec<FinalState> = Vec::new();
        for (s, count) in &finals {
            if self
                .filter
                .as_ref()
                .is_some_and(|f| !f.eval(&s.regs, &s.mem))
            {
                continue;
            }
            let holds = self.prop.eval(&s.regs, &s.mem);
            let text: String = shown
                .iter()
                .map(|&(p, i)| match p {
                    Some(p) => format!(
                        "{p}:{}={}; ",
                        self.reg_name(p, i),
                        self.show_value(s.regs[p as usize][i as usize])
                    ),
                    None => format!("{}={}; ", self.vars[i as usize], s.mem[i as usize]),
                })
                .collect::<String>()
                .trim_end()
                .to_string();
            match by_text.iter_mut().find(|f| f.state == text) {
                Some(f) => f.count = f.count.saturating_add(*count),
                None => by_text.push(FinalState {
                    state: text,
                    count: *count,
                    holds,
                }),
            }
        }
        by_text.sort_by(|a, b| a.state.cmp(&b.state));
        let positive = by_text.iter().filter(|f| f.holds).count() as u64;
        let negative = by_text.len() as u64 - positive;
        let observation = match (positive, negative) {
            (0, _) => Observation::Never,
            (_, 0) => Observation::Always,
            _ => Observation::Sometimes,
        };
        let quant = self.quant_for(memory);
        let ok = match quant {
            Quant::Exists => positive > 0,
            Quant::NotExists => positive == 0,
            Quant::Forall => negative == 0,
        };
        Ok(Outcome {
            name: self.name.clone(),
            memory,
            quant,
            condition: self.cond_text.clone(),
            states: by_text,
            positive,
            negative,
            observation,
            ok,
            explored,
            transitions,
        })
    }
}
