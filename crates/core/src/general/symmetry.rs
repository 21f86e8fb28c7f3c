//! Walker symmetry for the general search: walkers that run the same block and that
//! nothing tells apart are interchangeable, so the search stores one state per orbit,
//! each group's CPUs sorted by what they hold (as the classic checker stores its
//! readers sorted).
//!
//! Two walkers are interchangeable when the machine treats them alike: the same block
//! (so the same code, entry and locals, and both in `mm_cpumask` or both out, which a
//! flush's targets depend on), and neither named by the `exists` condition (`P3:r0 = 1`
//! tells P3 apart). A CPU's identity reaches the state as its own slots (pc, the read it
//! assembles, its store buffer, locals and registers), as its bit in masks (interrupts
//! off, IPIs owed to each sender, preempted, installed, a queued free's grace period,
//! the readers of mmap_lock, i_mmap_rwsem and the VMA) and as a lock's owner. A
//! group's IPIs would be one more: a mask of *other* CPUs in its slot, which sorting
//! cannot make canonical; a group whose block can send one (a flush, a sync) is left
//! out. With that, two walkers that compare equal on all of the above are the same in
//! every way, swapping them changes nothing, and the sorted state is the orbit's one
//! representative, whichever order the sort met them in.

use super::ir::{Buffered, FreeHow, GOp, GProgram, MAX_CPUS};
use super::state::{GState, Life, ReadReg, NO_CPU};
use std::cmp::Ordering;

/// Which CPU each CPU's slots came from in a permuted state: `from[new] = old`.
pub type Perm = [u8; MAX_CPUS as usize];

/// The identity permutation.
pub const IDENTITY: Perm = {
    let mut p = [0; MAX_CPUS as usize];
    let mut c = 0;
    while c < MAX_CPUS as usize {
        p[c] = c as u8;
        c += 1;
    }
    p
};

/// The groups of interchangeable walkers of a program, and where each CPU's locals and
/// registers lie in the state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symmetry {
    /// Each group's CPUs, ascending: two or more each.
    groups: Vec<Vec<u8>>,
    /// Each CPU's group and its place in it, if it is in one.
    place: Vec<Option<(usize, usize)>>,
    /// Each CPU's locals in [`GState::locals`], as a range.
    locals: Vec<(usize, usize)>,
    /// Each CPU's registers in [`GState::words`], as a range.
    regs: Vec<(usize, usize)>,
    /// What the program can set, so that comparing and renaming CPUs skip the rest,
    /// which stays as it started in every state: the CPUs whose block can send an
    /// IPI (no other CPU ever has one outstanding), whether a free can be queued for a
    /// grace period, and whether a reader-writer lock or the VMA lock is taken.
    senders: Vec<u8>,
    queues: bool,
    rw: bool,
}

impl Symmetry {
    /// The program's groups of interchangeable walkers; `None` where there is no group
    /// of two.
    pub fn of(p: &GProgram) -> Option<Symmetry> {
        let named: Vec<u32> = p
            .exists
            .cond
            .iter()
            .flat_map(|c| c.atoms())
            .filter_map(|(loc, _, _)| match loc {
                crate::scenario::syntax::Loc::Reg { cpu, .. } => Some(*cpu),
                crate::scenario::syntax::Loc::Var(_) => None,
            })
            .collect();
        let sends = |b: usize| {
            let (_, from, to, _) = &p.blocks[b];
            p.code[*from as usize..*to as usize]
                .iter()
                .any(|i| matches!(i.op, GOp::Flush { .. } | GOp::Sync))
        };
        // By block alone: the compiler puts a block's CPUs all in mm_cpumask or all out.
        let mut groups: Vec<(u8, Vec<u8>)> = Vec::new();
        for c in 0..p.cpus {
            let Some(b) = p.block_of[c as usize] else {
                continue;
            };
            if p.walkers >> c & 1 == 0 || named.contains(&(c as u32)) || sends(b as usize) {
                continue;
            }
            match groups.iter_mut().find(|(k, _)| *k == b) {
                Some((_, g)) => {
                    debug_assert_eq!(p.in_mm >> g[0] & 1, p.in_mm >> c & 1);
                    g.push(c)
                }
                None => groups.push((b, vec![c])),
            }
        }
        let groups: Vec<Vec<u8>> = groups
            .into_iter()
            .map(|(_, g)| g)
            .filter(|g| g.len() > 1)
            .collect();
        if groups.is_empty() {
            return None;
        }
        let locals = (0..p.cpus as usize)
            .map(|c| {
                let at = p.locals_of(c as u8);
                (at.start, at.end)
            })
            .collect();
        let regs = (0..p.cpus as usize)
            .map(|c| match p.words.as_deref() {
                Some(w) if w.base[c].1 != u8::MAX => {
                    let (at, b) = w.base[c];
                    let at = at as usize;
                    (at, at + w.regs[b as usize].len())
                }
                _ => (0, 0),
            })
            .collect();
        let senders = (0..p.cpus)
            .filter(|&c| p.block_of[c as usize].is_some_and(|b| sends(b as usize)))
            .collect();
        let queues = p.code.iter().any(|i| {
            matches!(
                i.op,
                GOp::Free {
                    how: FreeHow::Rcu,
                    ..
                }
            )
        });
        let rw = p.takes_rw();
        let mut place = vec![None; p.cpus as usize];
        for (k, g) in groups.iter().enumerate() {
            for (i, &c) in g.iter().enumerate() {
                place[c as usize] = Some((k, i));
            }
        }
        Some(Symmetry {
            groups,
            place,
            locals,
            regs,
            senders,
            queues,
            rw,
        })
    }

    /// The groups, each ascending.
    pub fn groups(&self) -> &[Vec<u8>] {
        &self.groups
    }

    /// Puts `st` in its orbit's canonical form: each group's CPUs sorted by
    /// everything each holds (equal only when swapping them changes nothing). Returns
    /// where each CPU's slots came from.
    pub fn canon(&self, st: &mut GState) -> Perm {
        let mut from = IDENTITY;
        for g in &self.groups {
            // An insertion sort that swaps two CPUs' whole parts of the state at a
            // time: a group is a handful of CPUs, mostly in order already.
            for i in 1..g.len() {
                self.move_left(st, g, i, &mut from);
            }
        }
        from
    }

    /// Moves the CPU at `g[j]` left past every CPU of the group before it that sorts
    /// after it, swapping their parts of the state and recording the swaps in `from`;
    /// returns where it stopped.
    #[inline(always)]
    fn move_left(&self, st: &mut GState, g: &[u8], mut j: usize, from: &mut Perm) -> usize {
        while j > 0 && self.cmp(st, g[j - 1], g[j]) == Ordering::Greater {
            self.swap(st, g[j - 1], g[j]);
            from.swap(g[j - 1] as usize, g[j] as usize);
            j -= 1;
        }
        j
    }

    /// [`Symmetry::canon`] of a state that was canonical before CPU `moved` took one
    /// step (a program step, an answer or a drain): only `moved` can be out of place,
    /// and it moves left or right to where the sort would put it.
    ///
    /// Why no other two of its group change order: what orders them is their own slots,
    /// their bits in masks and the locks they own, and a step of another CPU changes
    /// none of that unequally. Its own bits and locks are its own; the bits it sets in
    /// other CPUs' places are its IPI's targets (a group is all in `mm_cpumask` or all
    /// out; only a preempted vCPU is skipped, which the preempted mask has ordered
    /// first) and a queued free's grace period (the CPUs with interrupts off, which
    /// that mask has ordered first). The result is the sort's to the permutation: both
    /// are stable sorts of one sequence.
    pub fn canon_after(&self, st: &mut GState, moved: u8) -> Perm {
        let mut from = IDENTITY;
        let Some((k, j)) = self.place.get(moved as usize).copied().flatten() else {
            return from;
        };
        let g = &self.groups[k];
        let mut j = self.move_left(st, g, j, &mut from);
        while j + 1 < g.len() && self.cmp(st, g[j], g[j + 1]) == Ordering::Greater {
            self.swap(st, g[j], g[j + 1]);
            from.swap(g[j] as usize, g[j + 1] as usize);
            j += 1;
        }
        from
    }

    /// Orders two CPUs of one group by everything the state holds of each: equal
    /// exactly when swapping them leaves the state as it was. In order: pc, the read
    /// in progress, the first mask with one's bit and not the other's (interrupts
    /// off, installed, preempted, the readers of mmap_lock, i_mmap_rwsem and the
    /// VMA, IPIs owed to each sender, each queued free's grace period), the first
    /// lock one owns (spinlocks, then the writers of those three), locals,
    /// registers, store buffer.
    fn cmp(&self, st: &GState, a: u8, b: u8) -> Ordering {
        let (x, y) = (a as usize, b as usize);
        let o = st.pc[x]
            .cmp(&st.pc[y])
            .then_with(|| read_key(&st.reads[x]).cmp(&read_key(&st.reads[y])));
        if o.is_ne() {
            return o;
        }
        // The CPU whose bit is set comes second.
        let by = |m: u64| {
            ((m >> a ^ m >> b) & 1 != 0).then(|| {
                if m >> a & 1 != 0 {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            })
        };
        for m in [st.irq_off, st.installed, st.preempted] {
            if let Some(o) = by(m) {
                return o;
            }
        }
        if self.rw {
            for m in [st.rw[0].1, st.rw[1].1, st.vma.1] {
                if let Some(o) = by(m) {
                    return o;
                }
            }
        }
        for &s in &self.senders {
            if let Some(o) = by(st.pending[s as usize]) {
                return o;
            }
        }
        if self.queues {
            for life in &st.tables {
                if let Life::Queued(m) = *life {
                    if let Some(o) = by(m) {
                        return o;
                    }
                }
            }
        }
        // The CPU that owns a lock comes second.
        let owners = if self.rw {
            [st.rw[0].0, st.rw[1].0, st.vma.0]
        } else {
            [NO_CPU; 3]
        };
        for &o in st.spin.iter().chain(&owners) {
            if o == a {
                return Ordering::Greater;
            }
            if o == b {
                return Ordering::Less;
            }
        }
        slice(&st.locals, self.locals[x])
            .cmp(slice(&st.locals, self.locals[y]))
            .then_with(|| slice(&st.words, self.regs[x]).cmp(slice(&st.words, self.regs[y])))
            .then_with(|| {
                let key = |c: usize| st.sb[c].iter().map(buffered_key);
                key(x).cmp(key(y))
            })
    }

    /// Renames CPUs `a` and `b`: each takes the other's slots, bits in every mask and
    /// locks held.
    fn swap(&self, st: &mut GState, a: u8, b: u8) {
        let (x, y) = (a as usize, b as usize);
        st.pc.swap(x, y);
        st.reads.swap(x, y);
        st.pending.swap(x, y);
        st.sb.swap(x, y);
        // Both bits or neither: nothing to rename.
        let ab = 1u64 << a | 1u64 << b;
        let flip = |m: &mut u64| {
            let both = *m & ab;
            if both != 0 && both != ab {
                *m ^= ab;
            }
        };
        let owner = |o: &mut u8| {
            if *o == a {
                *o = b;
            } else if *o == b {
                *o = a;
            }
        };
        flip(&mut st.irq_off);
        flip(&mut st.installed);
        flip(&mut st.preempted);
        for &s in &self.senders {
            flip(&mut st.pending[s as usize]);
        }
        if self.queues {
            for life in &mut st.tables {
                if let Life::Queued(m) = life {
                    flip(m);
                }
            }
        }
        st.spin.iter_mut().for_each(owner);
        if self.rw {
            for rw in st.rw.iter_mut().chain([&mut st.vma]) {
                owner(&mut rw.0);
                flip(&mut rw.1);
            }
        }
        swap_ranges(&mut st.locals, self.locals[x], self.locals[y]);
        swap_ranges(&mut st.words, self.regs[x], self.regs[y]);
    }

    /// Renames the CPUs as `from` says (`from[new] = old`), one swap at a time.
    #[cfg(test)]
    fn apply(&self, st: &mut GState, from: &Perm) {
        let (mut at, n) = (IDENTITY, st.pc.len());
        for (c, &want) in from.iter().enumerate().take(n) {
            let d = (c..n).find(|&d| at[d] == want).expect("a permutation");
            if d != c {
                self.swap(st, c as u8, d as u8);
                at.swap(c, d);
            }
        }
    }
}

/// Swaps two equally long ranges of `xs` (one block's locals or registers each).
fn swap_ranges<T>(xs: &mut [T], (a, end): (usize, usize), (b, _): (usize, usize)) {
    let n = end - a;
    if n == 0 || a == b {
        return;
    }
    let (lo, hi) = (a.min(b), a.max(b));
    let (left, right) = xs.split_at_mut(hi);
    left[lo..lo + n].swap_with_slice(&mut right[..n]);
}

fn slice<T>(xs: &[T], (lo, hi): (usize, usize)) -> &[T] {
    &xs[lo..hi]
}

fn read_key(r: &ReadReg) -> (u32, u32, u16, u64) {
    (r.low, r.high, r.first_log, r.first_val)
}

fn buffered_key(b: &Buffered) -> (u8, u64, u64, u64) {
    match *b {
        Buffered::Entry { entry, mask, value } => (0, entry as u64, mask, value),
        Buffered::Unlock(l) => (1, l as u64, 0, 0),
        Buffered::Word { var, value } => (2, var as u64, value as u64, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::general::argument::at_walkers;
    use crate::general::machine::GMachine;
    use crate::general::tests::random_choice;
    use crate::general::{history, load, FILES};

    /// Every permutation of `0..n`.
    fn perms(n: usize) -> Vec<Vec<usize>> {
        if n == 0 {
            return vec![Vec::new()];
        }
        let mut out = Vec::new();
        for p in perms(n - 1) {
            for at in 0..n {
                let mut q = p.clone();
                q.insert(at, n - 1);
                out.push(q);
            }
        }
        out
    }

    /// States of random runs of `p` (walkers loop, as in the search), each after a
    /// step with its dead locals forgotten, as the search stores them.
    fn states(p: &Arc<GProgram>, runs: u64) -> Vec<GState> {
        let mut m = GMachine::new(p.clone(), false);
        let start = m.st.clone();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut out = Vec::new();
        for _ in 0..runs {
            m.st.clone_from(&start);
            for _ in 0..200 {
                let Some(ch) = random_choice(&m, &mut x) else {
                    break;
                };
                if m.step(ch).is_some() {
                    break;
                }
                m.forget_dead(ch.cpu);
                out.push(m.st.clone());
            }
        }
        out
    }

    use std::sync::Arc;

    /// Walkers that take a spinlock, i_mmap_rwsem and the VMA lock, buffer stores
    /// under TSO and keep a register; the general files have none of these.
    const LOCKING_WALKERS: &str = "tornsim locking-walkers
{ mode = native-64; memory = tso; readers = 3; pmd pmd = table(t0); pte t0[0] = page(a); page a = 1; }
P0(madvise) {
    mmap_write_lock(); vma_start_write();
    pmdval = pmdp_get_lockless(pmd); ptl = pte_lockptr(pmdval);
    spin_lock(ptl); WRITE_ONCE(x, 1); spin_unlock(ptl);
    mmap_write_unlock();
}
P1(gup_fast) {
    if (vma_start_read()) {
        i_mmap_lock_read();
        pmdval = pmdp_get_lockless(pmd); ptl = pte_lockptr(pmdval);
        spin_lock(ptl); WRITE_ONCE(y, 1); r0 = READ_ONCE(x); spin_unlock(ptl);
        i_mmap_unlock_read(); vma_end_read();
    }
}
exists (x=2)
";

    /// Walkers whose vCPUs the host preempts (`kvm-pv-flush`).
    const PREEMPTED_WALKERS: &str = "tornsim preempted-walkers
{ mode = kvm-pv-flush; readers = 3; pmd pmd = table(t0); }
P0(khugepaged) { x = pmdp_collapse_flush(pmd); tlb_remove_table_sync_one(); }
P1(gup_fast) { local_irq_save(); v = pmdp_get_lockless(pmd); local_irq_restore(); }
exists (torn)
";

    /// Walkers whose store buffers differ only in what they hold: a walker that saw
    /// the PMD cleared buffers one value, one that saw the table another.
    const BRANCHING_WALKERS: &str = "tornsim branching-walkers
{ mode = native-64; memory = tso; readers = 3; pmd pmd = table(t0); }
P0(khugepaged) { x = pmdp_collapse_flush(pmd); }
P1(gup_fast) {
    local_irq_save(); v = pmdp_get_lockless(pmd);
    if (pmd_none(v)) { WRITE_ONCE(y, 1); }
    if (pmd_present(v)) { WRITE_ONCE(y, 2); }
    local_irq_restore();
}
exists (y=2)
";

    #[test]
    fn a_walker_the_condition_names_or_whose_block_sends_ipis_is_not_renamed() {
        let groups = |src: &str| {
            let p = load(src).unwrap_or_else(|e| panic!("{}", e.render(src, "t")));
            Symmetry::of(&p).map(|s| s.groups)
        };
        assert_eq!(groups(LOCKING_WALKERS), Some(vec![vec![1, 2, 3]]));
        let named = LOCKING_WALKERS.replace("exists (x=2)", "exists (P2:r0=1)");
        assert_eq!(groups(&named), Some(vec![vec![1, 3]]));
        let two = named.replace("readers = 3", "readers = 2");
        assert_eq!(groups(&two), None, "one walker left: no group");
        let sends = PREEMPTED_WALKERS.replace(
            "local_irq_restore(); }",
            "local_irq_restore(); tlb_remove_table_sync_one(); }",
        );
        assert_eq!(groups(PREEMPTED_WALKERS), Some(vec![vec![1, 2, 3]]));
        assert_eq!(groups(&sends), None);
        // A CPU with no block (more CPUs than the blocks need) has no registers.
        let idle = LOCKING_WALKERS.replace("readers = 3;", "readers = 3; cpus = 6;");
        assert_eq!(groups(&idle), Some(vec![vec![1, 2, 3]]));
    }

    /// From a sorted state, one step of any CPU and the moved CPU put in its place
    /// sort as the whole sort does, to the same permutation: over every open choice
    /// of the sorted states of every general and history file at three walkers.
    #[test]
    fn after_one_step_only_the_moved_cpu_finds_its_place() {
        let (mut checked, mut moved) = (0, [0u32; 3]);
        let more = [
            ("locking-walkers", LOCKING_WALKERS),
            ("preempted-walkers", PREEMPTED_WALKERS),
            ("branching-walkers", BRANCHING_WALKERS),
        ];
        for (name, src) in FILES.iter().chain(history::FILES).chain(&more) {
            let p = at_walkers(&load(src).unwrap(), 3).unwrap();
            let Some(sym) = Symmetry::of(&p) else {
                continue;
            };
            let mut m = GMachine::new(p.clone(), false);
            for mut s in states(&p, 20) {
                sym.canon(&mut s);
                m.st.clone_from(&s);
                for ch in m.enabled() {
                    m.st.clone_from(&s);
                    m.step(ch);
                    m.forget_dead(ch.cpu);
                    let mut whole = m.st.clone();
                    let want = sym.canon(&mut whole);
                    let got = sym.canon_after(&mut m.st, ch.cpu);
                    assert_eq!((&m.st, got), (&whole, want), "{name}: {ch:?} from {s:?}");
                    // Left, right or stayed.
                    let at = |f: &Perm| f.iter().position(|&c| c == ch.cpu);
                    moved[match at(&got).cmp(&Some(ch.cpu as usize)) {
                        Ordering::Less => 0,
                        Ordering::Greater => 1,
                        Ordering::Equal => 2,
                    }] += 1;
                    checked += 1;
                }
            }
        }
        assert!(
            checked > 10_000 && moved.iter().all(|&n| n > 100),
            "{checked} {moved:?}"
        );
    }

    /// The sorted form is the orbit's one representative: every renaming of a group's
    /// walkers sorts to the same state. Run over the states of every general and
    /// history file at three walkers (locks and rwsems held by walkers, queued frees,
    /// preempted vCPUs, pins, store buffers under TSO, registers), so that a field the
    /// order forgot shows as two renamings that sort apart.
    #[test]
    fn every_renaming_of_the_walkers_sorts_to_one_state() {
        let mut checked = 0;
        let mut moved = 0;
        let more = [
            ("locking-walkers", LOCKING_WALKERS),
            ("preempted-walkers", PREEMPTED_WALKERS),
            ("branching-walkers", BRANCHING_WALKERS),
        ];
        // How often a walker of a group had each kind of state: its store buffer, a
        // spinlock, an rwsem or the VMA lock, a queued free's grace period, a
        // preempted vCPU, a register set, an IPI owed.
        let mut seen = [0u32; 7];
        for (name, src) in FILES.iter().chain(history::FILES).chain(&more) {
            let p = at_walkers(&load(src).unwrap(), 3).unwrap();
            let Some(sym) = Symmetry::of(&p) else {
                continue;
            };
            for s in states(&p, 40) {
                for &c in sym.groups().iter().flatten() {
                    let (w, bit) = (c as usize, |m: u64| m >> c & 1 == 1);
                    let kinds = [
                        !s.sb[w].is_empty(),
                        s.spin.contains(&c),
                        s.rw.iter().chain([&s.vma]).any(|r| r.0 == c || bit(r.1)),
                        s.tables
                            .iter()
                            .any(|l| matches!(*l, Life::Queued(m) if bit(m))),
                        bit(s.preempted),
                        s.words[sym.regs[w].0..sym.regs[w].1]
                            .iter()
                            .any(|&r| r != crate::program::words::UNSET),
                        s.pending.iter().any(|&m| bit(m)),
                    ];
                    for (n, k) in seen.iter_mut().zip(kinds) {
                        *n += k as u32;
                    }
                }
                let mut want = s.clone();
                let from = sym.canon(&mut want);
                moved += (from != IDENTITY) as u32;
                for g in sym.groups() {
                    for order in perms(g.len()) {
                        let mut from = IDENTITY;
                        for (i, &j) in order.iter().enumerate() {
                            from[g[i] as usize] = g[j];
                        }
                        let mut t = s.clone();
                        sym.apply(&mut t, &from);
                        sym.canon(&mut t);
                        assert_eq!(t, want, "{name}: {from:?} of {s:?}");
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 10_000 && moved > 1_000, "{checked} {moved}");
        assert!(seen.iter().all(|&n| n > 100), "{seen:?}");
    }
}
