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
}

impl Hazard {
    /// The hazards an `exists` clause names by word (an observed final state is written
    /// as its values instead).
    pub const NAMED: [Hazard; 3] = [Hazard::Torn, Hazard::Stale, Hazard::Deadlock];

    pub fn name(self) -> &'static str {
        match self {
            Hazard::Torn => "torn",
            Hazard::Stale => "stale",
            Hazard::Deadlock => "deadlock",
            Hazard::Observed => "observed",
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
        }
    }
    pub(crate) fn of(h: Hazard) -> Verdict {
        match h {
            Hazard::Torn => Verdict::Torn,
            Hazard::Stale => Verdict::Stale,
            Hazard::Deadlock => Verdict::Deadlock,
            Hazard::Observed => Verdict::Observed,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
