//! A scenario file and a configuration, each made from the other: the file's settings
//! applied to the defaults, the reader kind taken from its blocks, and either a built-in
//! placement or the scenario itself attached; and a configuration printed back as a
//! file, its settings with its program.

use super::builtin::as_placement;
use super::compiler::compile;
use crate::config::{Config, Knob};
use crate::scenario::parse;
use crate::scenario::printer::print_blocks;
use crate::scenario::syntax::{print_exists, Actor, Scenario, ScenarioError};
use std::sync::Arc;

/// A scenario file turned into a configuration: its settings applied to the defaults
/// (the reader count defaults to the number of reader blocks), then either a built-in
/// placement (`sync`) or the scenario itself attached.
pub fn to_config(s: &Scenario) -> Result<Config, ScenarioError> {
    let mut c = Config {
        readers: s
            .blocks
            .iter()
            .filter(|b| matches!(b.actor, Actor::Reader(_)))
            .count()
            .max(1) as u32,
        ..Config::default()
    };
    let mut kinds = s.blocks.iter().filter_map(|b| match b.actor {
        Actor::Reader(Some(k)) => Some((k, b.span)),
        _ => None,
    });
    if let Some((k, _)) = kinds.next() {
        c.reader = k;
        if let Some((_, span)) = kinds.find(|(k2, _)| *k2 != k) {
            return Err(ScenarioError::at(
                span,
                "every reader block must be of one kind (gup_fast or walker): the kind decides mm_cpumask for all readers",
            ));
        }
    }
    for (k, v, span) in &s.settings {
        if k == "reader"
            && s.blocks
                .iter()
                .any(|b| matches!(b.actor, Actor::Reader(Some(kk)) if kk.name() != v))
        {
            return Err(ScenarioError::at(
                *span,
                format!("'reader = {v}' contradicts the reader blocks' kind"),
            ));
        }
        c.set(k, v)
            .map_err(|e| ScenarioError::at(*span, e.to_string()))?;
    }
    attach(s, &mut c);
    Ok(c)
}

/// Makes `c` run `s`: a built-in placement by name, else the scenario itself.
pub fn attach(s: &Scenario, c: &mut Config) {
    match as_placement(s) {
        Some(p) => {
            c.sync = p;
            c.scenario = None;
        }
        None => {
            c.scenario = Some(Arc::new(s.clone()));
        }
    }
}

/// Parses and configures in one call.
pub fn load(src: &str) -> Result<(Scenario, Config), ScenarioError> {
    let s = parse(src)?;
    let c = to_config(&s)?;
    Ok((s, c))
}

/// Parses, configures and compiles: every error the file can have on its own settings,
/// as the page's editor shows them while the user types.
pub fn load_checked(src: &str) -> Result<(Scenario, Config), ScenarioError> {
    let (s, c) = load(src)?;
    compile(&s, &c)?;
    Ok((s, c))
}

/// Writes `s` back as text in the canonical layout: one primitive per line, four-space
/// indents, the settings of `cfg` (every knob but `sync`), no comments.
pub fn print(s: &Scenario, cfg: &Config) -> String {
    let mut out = format!("tornsim {}\n", s.name);
    if !s.description.is_empty() {
        out.push_str(&format!(
            "\"{}\"\n",
            s.description.replace('\\', "\\\\").replace('"', "\\\"")
        ));
    }
    let keys = [
        "mode", "paravirt", "readers", "cpus", "alloc", "clear", "set", "free",
    ];
    // The memory model and the APIC only where they are not the defaults, so that a file
    // written before they existed prints as it did.
    let tso = cfg.memory != crate::config::Memory::default();
    let apic = tso || cfg.apic != crate::config::Apic::default();
    let extra = [("memory", tso), ("apic", apic)];
    let kv: Vec<String> = keys
        .iter()
        .filter(|k| !(**k == "paravirt" && cfg.mode != crate::config::Mode::NativePae))
        .copied()
        .chain(extra.iter().filter(|(_, on)| *on).map(|(k, _)| *k))
        .map(|k| format!("{k} = {};", cfg.get(k).unwrap_or_default()))
        .chain(s.init.iter().map(|(n, v, _)| format!("int {n} = {v};")))
        .collect();
    out.push_str(&format!("{{ {} }}\n\n", kv.join(" ")));
    out.push_str(&print_blocks(&s.blocks, Some(cfg.reader)));
    out.push('\n');
    out.push_str(&print_exists(&s.exists));
    out
}
