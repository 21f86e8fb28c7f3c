//! The built-in scenario files (`scenarios/` in the repository, embedded here): the four
//! sync placements, whose programs every configuration without a file of its own runs,
//! and the presets. A file whose program is a placement's is that placement.

use crate::config::{Config, Knob, SyncPlacement};
use crate::scenario::parse;
use crate::scenario::printer::program_text;
use crate::scenario::syntax::{Exists, Scenario};
use std::sync::OnceLock;

/// The built-in scenario files, by name: the four placements and the presets.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "under-ptl",
        include_str!("../../../../scenarios/under-ptl.litmus"),
    ),
    (
        "after-unlock",
        include_str!("../../../../scenarios/after-unlock.litmus"),
    ),
    ("none", include_str!("../../../../scenarios/none.litmus")),
    (
        "flush-sync-skip",
        include_str!("../../../../scenarios/flush-sync-skip.litmus"),
    ),
    (
        "seed-thread-v1",
        include_str!("../../../../scenarios/seed-thread-v1.litmus"),
    ),
    (
        "merged",
        include_str!("../../../../scenarios/merged.litmus"),
    ),
    (
        "native-gup",
        include_str!("../../../../scenarios/native-gup.litmus"),
    ),
    (
        "native-walker",
        include_str!("../../../../scenarios/native-walker.litmus"),
    ),
    (
        "non-pae",
        include_str!("../../../../scenarios/non-pae.litmus"),
    ),
    (
        "v3-skip-walker",
        include_str!("../../../../scenarios/v3-skip-walker.litmus"),
    ),
    (
        "v3-skip-xen",
        include_str!("../../../../scenarios/v3-skip-xen.litmus"),
    ),
    (
        "no-sync-xen",
        include_str!("../../../../scenarios/no-sync-xen.litmus"),
    ),
    (
        "sync-twice",
        include_str!("../../../../scenarios/sync-twice.litmus"),
    ),
    (
        "ptl-reader",
        include_str!("../../../../scenarios/ptl-reader.litmus"),
    ),
    (
        "high-first",
        include_str!("../../../../scenarios/high-first.litmus"),
    ),
    (
        "no-recheck",
        include_str!("../../../../scenarios/no-recheck.litmus"),
    ),
    (
        "irq-off-ptl-deadlock",
        include_str!("../../../../scenarios/irq-off-ptl-deadlock.litmus"),
    ),
    (
        "x2apic-no-fence",
        include_str!("../../../../scenarios/x2apic-no-fence.litmus"),
    ),
    (
        "x2apic-fence",
        include_str!("../../../../scenarios/x2apic-fence.litmus"),
    ),
    (
        "handshake-no-mb",
        include_str!("../../../../scenarios/handshake-no-mb.litmus"),
    ),
    (
        "handshake-mb",
        include_str!("../../../../scenarios/handshake-mb.litmus"),
    ),
];

/// The built-in placement programs, parsed once.
fn placements() -> &'static [(SyncPlacement, Scenario)] {
    static P: OnceLock<Vec<(SyncPlacement, Scenario)>> = OnceLock::new();
    P.get_or_init(|| {
        SyncPlacement::ALL
            .iter()
            .map(|&p| {
                let src = builtin_source(p.name()).expect("every placement has a file");
                (p, parse(src).expect("the built-in placement files parse"))
            })
            .collect()
    })
}

/// The text of a built-in scenario file.
pub fn builtin_source(name: &str) -> Option<&'static str> {
    BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// The placement file's scenario for `p`.
pub fn placement(p: SyncPlacement) -> &'static Scenario {
    &placements()
        .iter()
        .find(|(q, _)| *q == p)
        .expect("every placement is built in")
        .1
}

/// The placement whose program `s` is, if any, and if it asks the presets' question.
pub fn as_placement(s: &Scenario) -> Option<SyncPlacement> {
    if !s.exists.same_question(&Exists::default_clause()) {
        return None;
    }
    let text = program_text(s);
    placements()
        .iter()
        .find(|(_, p)| program_text(p) == text)
        .map(|(q, _)| *q)
}

/// The scenario `cfg` runs: its own, or its placement's.
pub fn of_config(cfg: &Config) -> &Scenario {
    match &cfg.scenario {
        Some(s) => s,
        None => placement(cfg.sync),
    }
}
