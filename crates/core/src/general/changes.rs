//! What a step changed, in kernel terms: the entries it wrote (as the objects their
//! values name), tables' lifetimes, page counts, locks, and IPIs sent or answered.
//! Traces show them under the step, so the diagram carries the state beside the CPU
//! columns: rows for entries, locks and counts. One more `impl` of [`GMachine`].

use super::machine::{GMachine, GState, Life, Obj, NO_CPU};

impl GMachine {
    /// A value as the object it names.
    pub fn value_text(&self, v: u64) -> String {
        match self.decode(v) {
            Obj::None => "none".into(),
            Obj::Table(t) => format!("table {}", self.prog.tables[t as usize].name),
            Obj::Huge(p) => format!("huge page {}", self.prog.pages[p as usize].0),
            Obj::Page(p) => format!("page {}", self.prog.pages[p as usize].0),
            Obj::Unknown => format!("{v:#x} (no object)"),
        }
    }

    fn lock_name(&self, l: usize) -> String {
        let np = self.prog.pmds.len();
        if l < np {
            format!("{}'s lock", self.prog.pmds[l].0)
        } else {
            format!("{}'s PTE lock", self.prog.tables[l - np].name)
        }
    }

    /// A lock's holder: "free", or "`held` by P3".
    fn owner(c: u8, held: &str) -> String {
        if c == NO_CPU {
            "free".into()
        } else {
            format!("{held} by P{c}")
        }
    }

    /// What changed from `before` to the machine's state now, one phrase each.
    pub fn changes(&self, before: &GState) -> Vec<String> {
        let st = &self.st;
        let mut out = Vec::new();
        for (e, (&old, &new)) in before.entries.iter().zip(&st.entries).enumerate() {
            if old != new {
                // Under the decode of now: a freed table's entry reads as its frame.
                out.push(format!(
                    "{}: {} -> {}",
                    self.prog.entry_name(e),
                    self.value_text(old),
                    self.value_text(new)
                ));
            }
        }
        for (t, (old, new)) in before.tables.iter().zip(&st.tables).enumerate() {
            if old != new {
                let what = match new {
                    Life::Unallocated => "unallocated",
                    Life::Live => "allocated",
                    Life::Queued(_) => "freed after a grace period",
                    Life::Freed => "freed",
                };
                out.push(format!("table {}: {what}", self.prog.tables[t].name));
            }
        }
        for (p, (old, new)) in before.counts.iter().zip(&st.counts).enumerate() {
            if old != new {
                out.push(format!(
                    "page {}: count {old} -> {new}",
                    self.prog.pages[p].0
                ));
            }
        }
        for (l, (&old, &new)) in before.spin.iter().zip(&st.spin).enumerate() {
            if old != new {
                out.push(format!(
                    "{}: {}",
                    self.lock_name(l),
                    Self::owner(new, "held")
                ));
            }
        }
        const RW: [&str; 2] = ["mmap_lock", "i_mmap_rwsem"];
        for (i, (old, new)) in before.rw.iter().zip(&st.rw).enumerate() {
            if old.0 != new.0 {
                out.push(format!("{}: {}", RW[i], Self::owner(new.0, "write-held")));
            }
            if old.1 != new.1 {
                out.push(format!("{}: {} readers", RW[i], new.1.count_ones()));
            }
        }
        if before.vma != st.vma {
            out.push(format!(
                "VMA lock: {}, {} readers",
                Self::owner(st.vma.0, "write-locked"),
                st.vma.1.count_ones()
            ));
        }
        for (c, (&old, &new)) in before.pending.iter().zip(&st.pending).enumerate() {
            let sent = new & !old;
            if sent != 0 {
                let to: Vec<String> = (0..64)
                    .filter(|t| sent >> t & 1 == 1)
                    .map(|t| format!("P{t}"))
                    .collect();
                out.push(format!("P{c} waits for IPIs to {}", to.join(", ")));
            }
        }
        out
    }
}
