//! The machine's accesses to entries, tables and pages: a store as the kernel makes it
//! (whole or a half, with the bogus-table check), the loads of a read with the torn
//! check against the writes since its first load, the write log kept as short as the
//! reads in progress need, and a page's mapcount. One more `impl` of [`GMachine`]: its
//! step dispatches here.

use super::ir::{EntryRef, LoadStep, PageSrc, Source, Store, TableSrc, PTES};
use super::machine::{GMachine, Life, Obj, ReadReg, NO_READ};
use crate::hazard::Hazard;
use crate::rules::{self, Loaded};

impl GMachine {
    /// How many entries of live tables and PMDs map page `p`.
    pub(super) fn mapcount(&self, p: u8) -> i32 {
        let np = self.prog.pmds.len();
        let mut n = 0;
        for (i, &v) in self.st.entries.iter().enumerate() {
            let live = i < np || self.st.tables[(i - np) / PTES] != Life::Freed;
            if live && matches!(self.decode(v), Obj::Page(q) | Obj::Huge(q) if q == p) {
                n += 1;
            }
        }
        n
    }

    pub(super) fn write(&mut self, e: usize, v: u64) {
        self.st.entries[e] = v;
        if self.st.reads.iter().any(|r| r.first_log != NO_READ) {
            self.st.log.push((e as u8, v));
        }
    }

    pub(super) fn store(
        &mut self,
        cpu: u8,
        entry: EntryRef,
        how: Store,
        src: Source,
        dest: Option<u8>,
        buffered: bool,
    ) -> Option<Hazard> {
        let (e, freed) = self.entry_of(cpu, entry)?;
        let mut hazard = freed.then_some(Hazard::FreedTable);
        let old = self.seen(cpu, e);
        let value = match src {
            Source::None => 0,
            Source::Table(t) => match self.table_of(cpu, t) {
                Some(t) => self.prog.table_value(t as usize),
                None => {
                    // The value a non-table source holds, installed as if it were one:
                    // the bogus pfn.
                    if matches!(how, Store::Set | Store::SetHigh) {
                        hazard = Some(Hazard::BogusTable);
                    }
                    match t {
                        TableSrc::OfValue(s) => self.local(cpu, s),
                        _ => 0,
                    }
                }
            },
            Source::Huge(p) => self.prog.huge_value(p as usize),
            Source::Page(p) => match p {
                PageSrc::Fixed(p) => self.prog.page_value(p as usize),
                PageSrc::OfValue(s) => self.local(cpu, s),
            },
        };
        if let Some(d) = dest {
            self.set_local(cpu, d, old);
        }
        let table = matches!(src, Source::Table(_));
        rules::store(self, cpu, e, how, value, table, buffered);
        hazard
    }

    /// A load of a read: returns the hazard and where the CPU goes. Inlined into the
    /// step, whose commonest op it is: the call's saving of registers was a third of
    /// its cost.
    #[inline(always)]
    pub(super) fn load(
        &mut self,
        cpu: u8,
        entry: EntryRef,
        step: LoadStep,
        dest: u8,
        next: u16,
        alt: u16,
    ) -> (Option<Hazard>, u16) {
        let c = cpu as usize;
        let (cur, e, freed) = match self.entry_of(cpu, entry) {
            Some((e, f)) => (self.seen(cpu, e), e, f),
            None => (0, usize::MAX, false),
        };
        let mut hazard = freed.then_some(Hazard::FreedTable);
        let mut go = next;
        match rules::load(self, cpu, e, cur, step) {
            Loaded::Going => {}
            Loaded::Retry => go = alt,
            Loaded::Done { v, torn } => {
                if torn {
                    hazard = hazard.or(Some(Hazard::Torn));
                }
                self.set_local(cpu, dest, v);
                self.end_read(c);
            }
        }
        (hazard, go)
    }

    /// Ends CPU `c`'s read, and drops the writes no read in progress needs now.
    ///
    /// The log is kept compact (empty with no read in progress, else the oldest read
    /// begins at 0: equal states compare equal) by this alone: a write only appends and
    /// a read's first load begins at the end, so only a read's end can leave writes
    /// that no read needs.
    #[inline(always)]
    fn end_read(&mut self, c: usize) {
        self.st.reads[c] = ReadReg::START;
        // With no write logged there is nothing to drop, and every read in progress
        // began at 0: the common case, told without a pass over the reads.
        if !self.st.log.is_empty() {
            self.compact_log();
        }
    }

    /// Whether the log is as [`GMachine::end_read`] keeps it.
    pub(super) fn log_is_compact(&self) -> bool {
        match self.oldest_read() {
            NO_READ => self.st.log.is_empty(),
            o => o == 0,
        }
    }

    /// Where in the log the oldest read in progress began ([`NO_READ`]: none is).
    fn oldest_read(&self) -> u16 {
        self.st
            .reads
            .iter()
            .map(|r| r.first_log)
            .min()
            .unwrap_or(NO_READ)
    }

    fn compact_log(&mut self) {
        let oldest = self.oldest_read();
        if oldest == NO_READ {
            self.st.log.clear();
        } else if oldest > 0 {
            self.st.log.drain(..oldest as usize);
            for r in &mut self.st.reads {
                if r.first_log != NO_READ {
                    r.first_log -= oldest;
                }
            }
        }
    }
}
