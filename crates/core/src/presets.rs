//! The presets: named configurations for one-click use and for sharing, each a built-in
//! scenario file (`scenarios/`), loaded once. The top of the configuration side: it
//! resolves names through the scenario loader, so `preset=NAME` in a link or a settings
//! file is answered here, not in [`crate::config`].

use crate::config::{Config, ConfigError};
use crate::program::{builtin_source, load};
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// The names of the presets among the built-in files (`crate::program::BUILTIN`), in display order.
pub const PRESETS: &[&str] = &[
    "seed-thread-v1",
    "merged",
    "native-gup",
    "native-walker",
    "non-pae",
    "v3-skip-walker",
    "v3-skip-xen",
    "no-sync-xen",
];

/// A named configuration, for one-click use and for sharing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preset {
    pub name: &'static str,
    pub summary: &'static str,
    pub config: Config,
}

/// Every preset, in display order: the preset files in `scenarios/`, parsed once.
pub fn presets() -> Vec<Preset> {
    static P: OnceLock<Vec<Preset>> = OnceLock::new();
    P.get_or_init(|| {
        PRESETS
            .iter()
            .map(|&name| {
                let src = builtin_source(name).expect("every preset has a file");
                let (s, config) = load(src).expect("the preset files parse");
                assert!(
                    config.scenario.is_none(),
                    "{name}: a preset runs a built-in placement"
                );
                Preset {
                    name,
                    // Parsed once per process: the leak is bounded by the preset count.
                    summary: Box::leak(s.description.into_boxed_str()),
                    config,
                }
            })
            .collect()
    })
    .clone()
}

/// Looks a preset up by name.
pub fn preset(name: &str) -> Result<Preset, ConfigError> {
    presets()
        .into_iter()
        .find(|p| p.name == name)
        .ok_or_else(|| {
            let names: Vec<_> = presets().iter().map(|p| p.name).collect();
            ConfigError::new(
                "preset",
                format!("unknown preset '{name}' (known: {})", names.join(", ")),
            )
        })
}

impl Config {
    /// Applies `key=value` pairs separated by `&`, `,` or whitespace. `preset=NAME` first
    /// resets to that preset; later pairs override it.
    pub fn apply_query(&mut self, query: &str) -> Result<(), ConfigError> {
        for pair in query.split(['&', ',', ' ', '\n']).filter(|p| !p.is_empty()) {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| ConfigError::new(pair, "expected key=value"))?;
            if k == "preset" {
                *self = preset(v)?.config;
            } else {
                self.set(k, v)?;
            }
        }
        Ok(())
    }
}
