//! An X86 litmus test as tornsim holds it: the threads' instructions, the initial
//! state, and the final condition over registers and memory.

use serde::{Deserialize, Serialize};

/// The registers, as herd7's X86 names them.
pub const REGS: [&str; 8] = ["EAX", "EBX", "ECX", "EDX", "ESI", "EDI", "EBP", "ESP"];

/// An instruction operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operand {
    Reg(u8),
    Imm(i64),
    /// A location, by index into [`Test::vars`].
    Mem(u8),
    /// `[ESI]`: the location whose address the register holds. An X86 test's is set by
    /// the initial state (`0:ESI=x`) and never written by the thread, as the parser
    /// checks; a C test's pointer local is checked when the test runs.
    Ind(u8),
}

/// What a register holds for the address of location `x` (`0:ESI=x`): apart from any
/// number a test writes.
pub const ADDR: i64 = 1 << 48;

/// The value that is location `x`'s address.
pub fn address(x: u8) -> i64 {
    ADDR + x as i64
}

/// The location of `vars` locations whose address `v` is, if it is one.
pub fn location_at(v: i64, vars: usize) -> Option<usize> {
    v.checked_sub(ADDR)
        .and_then(|x| usize::try_from(x).ok())
        .filter(|&x| x < vars)
}

/// The arithmetic of `ADD`, `XOR`, `OR`, `AND` (`INC` and `DEC` are `ADD` of 1 and -1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alu {
    Add,
    Xor,
    Or,
    And,
}

impl Alu {
    pub fn apply(self, a: i64, b: i64) -> i64 {
        match self {
            Alu::Add => a.wrapping_add(b),
            Alu::Xor => a ^ b,
            Alu::Or => a | b,
            Alu::And => a & b,
        }
    }
}

/// One instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ins {
    /// `MOV dst,src`: a load, a store, or a register move.
    Mov(Operand, Operand),
    Mfence,
    /// `LFENCE`, `SFENCE`: nothing to order under x86-TSO.
    Nop,
    /// `XCHG [x],REG`: locked.
    Xchg(u8, u8),
    /// `ADD`, `XOR`, `OR`, `AND` (and `INC`, `DEC`) on a memory destination: with
    /// `LOCK`, one atomic step that waits for an empty store buffer; without, a load and
    /// then a store (two steps, the store buffered under TSO), so another CPU's store can
    /// fall between them.
    Rmw(u8, Alu, Operand, bool),
    /// The same on a register destination: `REG op= src`, a load if `src` is a location.
    Alu(u8, Alu, Operand),
    /// `LOCK XADD [x],REG`.
    LockXadd(u8, u8),
    /// `LOCK CMPXCHG [x],REG`: if `[x]` equals EAX, `[x]` = REG, else EAX = `[x]`.
    LockCmpxchg(u8, u8),
    /// `CMP a,b`: sets the zero flag to `a == b` (a load if either is a location).
    Cmp(Operand, Operand),
    /// `JMP L` (`None`), `JE L` (`Some(true)`: if the zero flag is set), `JNE L`: to the
    /// instruction at the index.
    Jump(Option<bool>, u8),
    /// `rcu_read_lock()` and `rcu_read_unlock()`: no instruction on x86 (a compiler
    /// barrier), but they bound the read-side critical section a grace period waits for.
    RcuLock,
    RcuUnlock,
    /// `synchronize_rcu()`: a full barrier, then a wait until every other CPU has
    /// passed a quiescent state (been outside any read-side critical section with its
    /// store buffer drained: the kernel's grace period has each CPU run a full barrier),
    /// then a full barrier.
    SyncRcu,
}

impl Test {
    /// Thread `t`'s register `r` as the test names it.
    pub fn reg_name(&self, t: u8, r: u8) -> &str {
        self.reg_names
            .get(t as usize)
            .and_then(|n| n.get(r as usize))
            .map_or(REGS[r as usize], String::as_str)
    }
}

impl Ins {
    /// Registers the instruction reads.
    pub fn reads(self) -> Vec<u8> {
        let mut v = self.reads_direct();
        v.extend(self.bases());
        v
    }

    /// Registers an `[ESI]` operand takes its address from.
    pub fn bases(self) -> Vec<u8> {
        let ops = match self {
            Ins::Mov(a, b) | Ins::Cmp(a, b) => vec![a, b],
            _ => Vec::new(),
        };
        ops.into_iter()
            .filter_map(|o| match o {
                Operand::Ind(r) => Some(r),
                _ => None,
            })
            .collect()
    }

    fn reads_direct(self) -> Vec<u8> {
        match self {
            Ins::Cmp(a, b) => [a, b]
                .into_iter()
                .filter_map(|o| match o {
                    Operand::Reg(r) => Some(r),
                    _ => None,
                })
                .collect(),
            Ins::Mov(_, Operand::Reg(r)) => vec![r],
            Ins::Xchg(_, r) | Ins::LockXadd(_, r) => vec![r],
            Ins::Rmw(_, _, Operand::Reg(r), _) => vec![r],
            // `XOR r,r` is 0 whatever r held: the idiom reads nothing.
            Ins::Alu(r, Alu::Xor, Operand::Reg(s)) if r == s => Vec::new(),
            Ins::Alu(r, _, Operand::Reg(s)) => vec![r, s],
            Ins::Alu(r, _, _) => vec![r],
            Ins::LockCmpxchg(_, r) => vec![0, r],
            _ => Vec::new(),
        }
    }
    /// Registers the instruction writes.
    pub fn sets(self) -> Vec<u8> {
        match self {
            Ins::Mov(Operand::Reg(r), _) => vec![r],
            Ins::Xchg(_, r) | Ins::LockXadd(_, r) | Ins::Alu(r, _, _) => vec![r],
            Ins::LockCmpxchg(..) => vec![0],
            _ => Vec::new(),
        }
    }
    /// Waits for an empty store buffer under TSO.
    pub fn drains(self) -> bool {
        !matches!(
            self,
            Ins::Mov(..)
                | Ins::Nop
                | Ins::Alu(..)
                | Ins::Rmw(.., false)
                | Ins::Cmp(..)
                | Ins::Jump(..)
                | Ins::RcuLock
                | Ins::RcuUnlock
        )
    }
}

/// `exists`, `~exists` or `forall`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Quant {
    Exists,
    NotExists,
    Forall,
}

/// One comparison of a condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Atom {
    /// `P:REG=v`.
    Reg(u8, u8, i64),
    /// `x=v`.
    Mem(u8, i64),
}

/// A condition over the final registers and memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Prop {
    True,
    False,
    Atom(Atom),
    Not(Box<Prop>),
    And(Box<Prop>, Box<Prop>),
    Or(Box<Prop>, Box<Prop>),
}

impl Prop {
    /// Whether the proposition holds of final registers `regs` (per thread) and
    /// memory `mem` (per location).
    pub fn eval(&self, regs: &[[i64; 8]], mem: &[i64]) -> bool {
        match self {
            Prop::True => true,
            Prop::False => false,
            Prop::Atom(Atom::Reg(p, r, v)) => regs[*p as usize][*r as usize] == *v,
            Prop::Atom(Atom::Mem(x, v)) => mem[*x as usize] == *v,
            Prop::Not(p) => !p.eval(regs, mem),
            Prop::And(a, b) => a.eval(regs, mem) && b.eval(regs, mem),
            Prop::Or(a, b) => a.eval(regs, mem) || b.eval(regs, mem),
        }
    }

    /// The locations it compares, registers as (thread, register), memory as (None, x).
    pub fn locations(&self, out: &mut Vec<(Option<u8>, u8)>) {
        match self {
            Prop::Atom(Atom::Reg(p, r, _)) => out.push((Some(*p), *r)),
            Prop::Atom(Atom::Mem(x, _)) => out.push((None, *x)),
            Prop::Not(p) => p.locations(out),
            Prop::And(a, b) | Prop::Or(a, b) => {
                a.locations(out);
                b.locations(out);
            }
            Prop::True | Prop::False => {}
        }
    }
}

/// A parsed test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Test {
    pub name: String,
    /// The quoted comment under the name, if any.
    pub doc: String,
    /// The locations, by index.
    pub vars: Vec<String>,
    /// Each location's initial value.
    pub init: Vec<i64>,
    /// Initial register values: (thread, register, value).
    pub init_regs: Vec<(u8, u8, i64)>,
    pub threads: Vec<Vec<Ins>>,
    /// Extra locations to show in the final states (`locations [...]`).
    pub locations: Vec<(Option<u8>, u8)>,
    /// `filter (...)`: final states where it does not hold are left out, as herd7 does.
    pub filter: Option<Prop>,
    /// `final (...) with tso: exists; sc: ~exists;`: the quantifier for a model by name,
    /// in place of [`Test::quant`] when the check's model is named.
    pub kinds: Vec<(String, Quant)>,
    pub quant: Quant,
    pub prop: Prop,
    /// The condition as written, normalised to single spaces.
    pub cond_text: String,
    /// A C test's register names by thread and slot (its locals); empty: [`REGS`].
    pub reg_names: Vec<Vec<String>>,
}
