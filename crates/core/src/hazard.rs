//! What tornsim looks for and what it answers: the hazards MODEL.md defines (a torn
//! read, a stale use after free, a deadlock) and the checker's verdicts, which a
//! scenario's `exists` clause, the machine, the checker and every front end name. The
//! lowest layer that needs them, so each of those can say them without importing the
//! others.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The hazards MODEL.md defines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Hazard {
    Torn,
    Stale,
    Deadlock,
    /// A final state the `exists` clause describes over registers and shared words
    /// (`P1:r0=1 /\ x=2`): every writer done, every store buffer drained, no reader
    /// inside an iteration.
    Observed,
    /// A walker loads an entry of a page table after the table was freed (2ba99c5e0881).
    FreedTable,
    /// A reference taken on a page whose count was zero: `get_page()` on a freed page
    /// (d73af79742e7), or a `put_page()` below zero.
    FreedPage,
    /// A walker returns a page it pinned through an entry that no longer maps it
    /// (70cbc3cc78a9).
    StalePin,
    /// A table installed from a none or non-table entry: a pfn that is not a page table
    /// (6fa1066fc5d0).
    BogusTable,
    /// A page table freed while one of its PTEs is still present ("Bad rss-counter").
    NonemptyFree,
}

impl Hazard {
    /// The hazards an `exists` clause names by word (an observed final state is written
    /// as its values instead).
    pub const NAMED: [Hazard; 3] = [Hazard::Torn, Hazard::Stale, Hazard::Deadlock];

    /// The hazards only the general machine ([`crate::general`]) can raise: tables and
    /// pages with lifetimes, page counts, entries installed from other entries.
    pub const GENERAL: [Hazard; 5] = [
        Hazard::FreedTable,
        Hazard::FreedPage,
        Hazard::StalePin,
        Hazard::BogusTable,
        Hazard::NonemptyFree,
    ];

    /// Every hazard an `exists` clause may name by word, in either machine.
    pub fn named_any() -> impl Iterator<Item = Hazard> {
        Hazard::NAMED.into_iter().chain(Hazard::GENERAL)
    }

    /// What it means, in kernel terms (MODEL.md's definitions).
    pub fn meaning(self) -> &'static str {
        match self {
            Hazard::Torn => "a walker returned a present value whose halves the entry never held together",
            Hazard::Stale => "a walker used (pte_offset_map()) a page table that was already freed",
            Hazard::Deadlock => "no CPU can step while some block has not finished",
            Hazard::Observed => "a final state the exists clause describes",
            Hazard::FreedTable => "a walker loaded an entry of a page table after the table was freed",
            Hazard::FreedPage => "a reference count was raised from zero (get_page() on a freed page) or dropped below zero",
            Hazard::StalePin => "a walker handed out a pin on a page that the entry it was read through no longer maps when the run is over",
            Hazard::BogusTable => "a page table was installed from a none or non-table entry (a pfn that is not a table)",
            Hazard::NonemptyFree => "a page table was freed while one of its PTEs was still present",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Hazard::Torn => "torn",
            Hazard::Stale => "stale",
            Hazard::Deadlock => "deadlock",
            Hazard::Observed => "observed",
            Hazard::FreedTable => "freed-table",
            Hazard::FreedPage => "freed-page",
            Hazard::StalePin => "stale-pin",
            Hazard::BogusTable => "bogus-table",
            Hazard::NonemptyFree => "nonempty-free",
        }
    }
}

/// The checker's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Safe,
    Torn,
    Stale,
    Deadlock,
    /// A final state the clause's condition over registers and memory holds in is
    /// reachable.
    Observed,
    Incomplete,
    FreedTable,
    FreedPage,
    StalePin,
    BogusTable,
    NonemptyFree,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Safe => "safe",
            Verdict::Torn => "torn",
            Verdict::Stale => "stale",
            Verdict::Deadlock => "deadlock",
            Verdict::Observed => "observed",
            Verdict::Incomplete => "incomplete",
            Verdict::FreedTable => "freed-table",
            Verdict::FreedPage => "freed-page",
            Verdict::StalePin => "stale-pin",
            Verdict::BogusTable => "bogus-table",
            Verdict::NonemptyFree => "nonempty-free",
        }
    }
    /// What the verdict says, as a sentence's end ("…: some interleaving …").
    pub fn sentence(self) -> &'static str {
        match self {
            Verdict::Safe => "every interleaving was explored and none has a hazard",
            Verdict::Torn => "some interleaving returns a torn PMD",
            Verdict::Stale => "some interleaving uses a freed page table",
            Verdict::Deadlock => "some interleaving leaves the collapse stuck",
            Verdict::Observed => {
                "some interleaving ends in a state the exists clause's condition on registers and shared words holds in"
            }
            Verdict::Incomplete => "a budget ran out before the search ended: nothing is proven",
            Verdict::FreedTable => "some interleaving reads an entry of a freed page table",
            Verdict::FreedPage => "some interleaving takes a reference on a freed page",
            Verdict::StalePin => "some interleaving leaves a caller holding a pin on a page that the entry it was read through no longer maps",
            Verdict::BogusTable => "some interleaving installs a page table from an entry that is not one",
            Verdict::NonemptyFree => "some interleaving frees a page table that still maps a page",
        }
    }

    pub(crate) fn of(h: Hazard) -> Verdict {
        match h {
            Hazard::Torn => Verdict::Torn,
            Hazard::Stale => Verdict::Stale,
            Hazard::Deadlock => Verdict::Deadlock,
            Hazard::Observed => Verdict::Observed,
            Hazard::FreedTable => Verdict::FreedTable,
            Hazard::FreedPage => Verdict::FreedPage,
            Hazard::StalePin => Verdict::StalePin,
            Hazard::BogusTable => Verdict::BogusTable,
            Hazard::NonemptyFree => Verdict::NonemptyFree,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The words the CLI, the page and the docs print for each hazard: each says what
    /// it is, and no two say the same.
    #[test]
    fn every_hazard_has_its_own_meaning_and_sentence() {
        let mut meanings = Vec::new();
        let mut sentences = Vec::new();
        let mut all: Vec<Hazard> = Hazard::named_any().collect();
        for h in [Hazard::Deadlock, Hazard::Observed] {
            if !all.contains(&h) {
                all.push(h);
            }
        }
        for h in all {
            let m = h.meaning();
            let s = Verdict::of(h).sentence();
            assert!(m.len() > 20, "{h:?}: {m}");
            assert!(s.starts_with("some interleaving "), "{h:?}: {s}");
            assert!(!meanings.contains(&m) && !sentences.contains(&s), "{h:?}");
            meanings.push(m);
            sentences.push(s);
        }
        assert!(Hazard::Torn.meaning().contains("halves"));
        assert!(Hazard::FreedPage.meaning().contains("zero"));
        assert!(Verdict::Safe.sentence().contains("none has a hazard"));
        assert!(Verdict::Incomplete.sentence().contains("nothing is proven"));
    }
}
