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

    fn life_text(l: Life) -> &'static str {
        match l {
            Life::Unallocated => "unallocated",
            Life::Live => "allocated",
            Life::Queued(_) => "freed after a grace period",
            Life::Freed => "freed",
        }
    }

    /// The CPUs in `mask`, as `P1, P3`.
    fn cpus_text(mask: u64) -> String {
        (0..64)
            .filter(|t| mask >> t & 1 == 1)
            .map(|t| format!("P{t}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The whole state, one named row each, in a fixed order (a viewer lines rows up
    /// from step to step): entries, tables, page counts, locks, shared words and
    /// registers (`-`: not loaded yet), each CPU's interrupt
    /// flag, IPIs and store buffer, and each CPU's locals (`written`, one flag a local
    /// in the state's order, says which hold a value this run gave them: the others
    /// read "not set").
    pub fn state_rows(&self, written: &[bool]) -> Vec<(String, String)> {
        let st = &self.st;
        let p = &self.prog;
        let mut out: Vec<(String, String)> = (0..st.entries.len())
            .map(|e| (p.entry_name(e), self.value_text(st.entries[e])))
            .collect();
        for (t, &life) in st.tables.iter().enumerate() {
            // A queued free always waits for someone: with no one to wait for it is
            // freed at once.
            let what = match life {
                Life::Queued(m) => {
                    format!(
                        "{}: waits for {}",
                        Self::life_text(life),
                        Self::cpus_text(m)
                    )
                }
                _ => Self::life_text(life).to_string(),
            };
            out.push((format!("table {}", p.tables[t].name), what));
        }
        for (i, &n) in st.counts.iter().enumerate() {
            out.push((format!("page {}", p.pages[i].0), format!("count {n}")));
        }
        for (l, &c) in st.spin.iter().enumerate() {
            out.push((self.lock_name(l), Self::owner(c, "held")));
        }
        let rw = |name: &str, writer: u8, readers: u64, held: &str| {
            let v = match (writer, readers) {
                (NO_CPU, 0) => "free".to_string(),
                (NO_CPU, r) => format!("read-held by {}", Self::cpus_text(r)),
                (w, _) => Self::owner(w, held),
            };
            (name.to_string(), v)
        };
        const RW: [&str; 2] = ["mmap_lock", "i_mmap_rwsem"];
        for (i, &(w, r)) in st.rw.iter().enumerate() {
            out.push(rw(RW[i], w, r, "write-held"));
        }
        out.push(rw("VMA lock", st.vma.0, st.vma.1, "write-locked"));
        out.extend(self.words_text());
        for c in 0..p.cpus {
            let i = c as usize;
            let mut what = Vec::new();
            if st.irq_off >> c & 1 == 1 {
                what.push("interrupts off".to_string());
            }
            if st.preempted >> c & 1 == 1 {
                what.push("preempted by the host".to_string());
            }
            if st.pending[i] != 0 {
                what.push(format!(
                    "waits for IPIs to {}",
                    Self::cpus_text(st.pending[i])
                ));
            }
            let sb = &st.sb[i];
            if !sb.is_empty() {
                let stores: Vec<String> = sb.iter().map(|b| self.buffered_text(b)).collect();
                what.push(format!("store buffer: {}", stores.join("; ")));
            }
            if st.pc[i] == super::ir::DONE {
                what.push("done".to_string());
            }
            out.push((
                p.cpu_name(c),
                if what.is_empty() {
                    "running".into()
                } else {
                    what.join(", ")
                },
            ));
            let base = p.local_base[i] as usize;
            for (k, name) in p.local_names(c).iter().enumerate() {
                let v = st.locals[base + k];
                let text = match (p.is_table_local(c, k), v) {
                    _ if !written.get(base + k).copied().unwrap_or(false) => "not set".into(),
                    (false, _) => self.value_text(v),
                    (true, super::ir::NO_TABLE) => "no table".into(),
                    (true, t) => format!("table {}", p.tables[t as usize].name),
                };
                out.push((format!("P{c} {name}"), text));
            }
        }
        out
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
                out.push(format!(
                    "table {}: {}",
                    self.prog.tables[t].name,
                    Self::life_text(*new)
                ));
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
        if let Some(w) = self.prog.words.as_deref() {
            for ((name, old), (_, new)) in w.text(&before.words).into_iter().zip(w.text(&st.words))
            {
                if old != new {
                    out.push(format!("{name}: {old} -> {new}"));
                }
            }
        }
        for (c, (&old, &new)) in before.pending.iter().zip(&st.pending).enumerate() {
            let sent = new & !old;
            if sent != 0 {
                out.push(format!("P{c} waits for IPIs to {}", Self::cpus_text(sent)));
            }
        }
        out
    }
}
