//! What a run simulates: the machine (mode, CPU count), the actors (readers and their
//! kind), where the collapser puts its sync, and the knobs MODEL.md lists, gathered in
//! one [`Config`] that can be set field by field from `key=value` text.
//!
//! Every knob has a kebab-case name shared by the CLI, config files (TOML/JSON), URL
//! fragments and the web page's controls, so one spelling works everywhere. The knobs
//! themselves are [`crate::knob`]'s, re-exported here; a configuration's own program is a
//! parsed scenario file, which is why this module sits above the scenario parser and
//! below the compiler. Named presets are in [`crate::presets`](mod@crate::presets), above everything they load.

pub use crate::knob::*;
use crate::prim::Lowering;
use crate::scenario::syntax::Scenario;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A full configuration. `Config::default()` is the kernel as merged on native PAE.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "kebab-case")]
pub struct Config {
    /// CPU count; `None` means collapser + populator + one per reader. Extra CPUs are idle.
    pub cpus: Option<u32>,
    pub mode: Mode,
    pub sync: SyncPlacement,
    /// `CONFIG_PARAVIRT` on native PAE (selects `CONFIG_MMU_GATHER_RCU_TABLE_FREE`, which makes
    /// the sync a real IPI broadcast). Only meaningful for `native-pae`.
    pub paravirt: bool,
    pub readers: u32,
    /// `readers = any`: checks answer for every reader count (`readers` is then the
    /// count a run uses). Not part of a schedule: a run has a count.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub any_readers: bool,
    pub reader: ReaderKind,
    pub alloc: Alloc,
    pub clear: ClearKind,
    pub set: SetKind,
    pub free: FreeKind,
    /// The memory model; `sc` is left out of the serialised form, so configurations
    /// and files written before it existed read and write the same.
    #[serde(skip_serializing_if = "is_default")]
    pub memory: Memory,
    /// How an IPI send is ordered after earlier stores (matters under `memory = tso`).
    #[serde(skip_serializing_if = "is_default")]
    pub apic: Apic,
    /// The actors' programs, when they are not a built-in placement's (then `sync` is
    /// ignored). Serialised as the scenario file's text.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "scenario_text"
    )]
    pub scenario: Option<Arc<Scenario>>,
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// A scenario travels as its file's text and is parsed again on arrival.
mod scenario_text {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Arc<Scenario>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(sc) => s.serialize_some(&sc.source),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Arc<Scenario>>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|t| {
            crate::scenario::parser::parse(&t)
                .map(Arc::new)
                .map_err(serde::de::Error::custom)
        })
        .transpose()
    }
}

impl Default for Config {
    fn default() -> Self {
        let native = Lowering::default();
        Config {
            cpus: None,
            mode: native.mode,
            sync: SyncPlacement::UnderPtl,
            paravirt: native.paravirt,
            readers: 2,
            any_readers: false,
            reader: ReaderKind::GupFast,
            alloc: Alloc::SameLow,
            clear: native.clear,
            set: native.set,
            free: native.free,
            memory: native.memory,
            apic: native.apic,
            scenario: None,
        }
    }
}

impl Config {
    /// The number of simulated CPUs.
    pub fn cpu_count(&self) -> u32 {
        self.cpus.unwrap_or(2 + self.readers)
    }

    /// Whether `pmdp_get_lockless_sync()` is a real IPI broadcast in this configuration.
    pub fn sync_is_ipi(&self) -> bool {
        self.lowering().sync_is_ipi()
    }

    /// The knobs the primitives compile by.
    pub fn lowering(&self) -> Lowering {
        Lowering {
            mode: self.mode,
            paravirt: self.paravirt,
            clear: self.clear,
            set: self.set,
            free: self.free,
            memory: self.memory,
            apic: self.apic,
        }
    }

    /// The placement that takes effect: a sync that compiles to nothing is `none`.
    pub fn effective_sync(&self) -> SyncPlacement {
        if self.sync_is_ipi() {
            self.sync
        } else {
            SyncPlacement::None
        }
    }

    /// Checks every field, returning the first problem.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let (rlo, rhi) = READERS_RANGE;
        if self.readers < rlo || self.readers > rhi {
            return Err(ConfigError::new(
                "readers",
                format!("{} is out of range {rlo}..={rhi}", self.readers),
            ));
        }
        if let Some(c) = self.cpus {
            let (lo, hi) = CPUS_RANGE;
            if c < lo || c > hi {
                return Err(ConfigError::new(
                    "cpus",
                    format!("{c} is out of range {lo}..={hi}"),
                ));
            }
            if c < 2 + self.readers {
                return Err(ConfigError::new(
                    "cpus",
                    format!(
                        "{c} CPUs cannot hold the collapser, the populator and {} reader{}: need at least {}",
                        self.readers,
                        if self.readers == 1 { "" } else { "s" },
                        2 + self.readers
                    ),
                ));
            }
        }
        if self.memory == Memory::Tso && self.cpu_count() > 62 {
            return Err(ConfigError::new(
                "cpus",
                format!(
                    "{} CPUs: memory = tso supports up to 62 (a schedule string names each CPU's store-buffer drain in two characters)",
                    self.cpu_count()
                ),
            ));
        }
        if !self.paravirt && self.mode != Mode::NativePae {
            return Err(ConfigError::new(
                "paravirt",
                format!("can only be turned off for native-pae ({} is always paravirtualised or has no sync)", self.mode),
            ));
        }
        Ok(())
    }

    /// Sets one field from its kebab-case name and a string value (as in `mode=xen-pv`).
    pub fn set(&mut self, field: &str, value: &str) -> Result<(), ConfigError> {
        match Setting::parse(field, value)? {
            Setting::Cpus(c) => self.cpus = c,
            Setting::Readers(n) => {
                self.readers = n;
                self.any_readers = false;
            }
            Setting::AnyReaders => self.any_readers = true,
            Setting::Mode(m) => self.mode = m,
            // A placement picked by name replaces any scenario's own order.
            Setting::Sync(p) => {
                self.sync = p;
                self.scenario = None;
            }
            Setting::Paravirt(on) => self.paravirt = on,
            Setting::Reader(r) => self.reader = r,
            Setting::Alloc(a) => self.alloc = a,
            Setting::Clear(k) => self.clear = k,
            Setting::Set(k) => self.set = k,
            Setting::Free(k) => self.free = k,
            Setting::Memory(k) => self.memory = k,
            Setting::Apic(k) => self.apic = k,
        }
        Ok(())
    }

    /// The value of one field as `set` accepts it back.
    pub fn get(&self, field: &str) -> Option<String> {
        Some(match field {
            "cpus" => self
                .cpus
                .map_or_else(|| "auto".to_string(), |c| c.to_string()),
            "readers" if self.any_readers => "any".into(),
            "readers" => self.readers.to_string(),
            "mode" => self.mode.name().into(),
            "sync" => self.sync.name().into(),
            "paravirt" => (if self.paravirt { "on" } else { "off" }).into(),
            "reader" => self.reader.name().into(),
            "alloc" => self.alloc.name().into(),
            "clear" => self.clear.name().into(),
            "set" => self.set.name().into(),
            "free" => self.free.name().into(),
            "memory" => self.memory.name().into(),
            "apic" => self.apic.name().into(),
            _ => return None,
        })
    }

    /// The fields that differ from `base`, as `key=value` pairs joined by `&`: the compact
    /// form used in links and `data-tornsim` attributes.
    pub fn to_query(&self, base: &Config) -> String {
        FIELDS
            .iter()
            .filter(|f| self.get(f) != base.get(f))
            .map(|f| format!("{f}={}", self.get(f).unwrap_or_default()))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// A short one-line description, for table headers and chart legends.
    pub fn summary(&self) -> String {
        let program = match &self.scenario {
            Some(s) => format!("scenario {}", s.name),
            None => self.sync.name().to_string(),
        };
        let mut s = format!(
            "{} / {} / {}x {} / {} CPUs",
            self.mode,
            program,
            self.readers,
            self.reader,
            self.cpu_count()
        );
        if self.any_readers {
            s.push_str(" / checked for any reader count");
        }
        if self.mode == Mode::NativePae && !self.paravirt {
            s.push_str(" / paravirt off");
        }
        if self.memory == Memory::Tso {
            s.push_str(&format!(" / tso, {}", self.apic));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets::presets;

    #[test]
    fn defaults_are_valid_and_cpus_follow_readers() {
        let mut c = Config::default();
        c.validate().unwrap();
        assert_eq!(c.cpu_count(), 4);
        c.readers = 7;
        assert_eq!(c.cpu_count(), 9);
    }

    #[test]
    fn every_preset_is_valid() {
        for p in presets() {
            p.config
                .validate()
                .unwrap_or_else(|e| panic!("{}: {e}", p.name));
        }
    }

    #[test]
    fn validation_names_the_field() {
        let bad = [
            (
                "cpus",
                Config {
                    cpus: Some(1),
                    ..Default::default()
                },
            ),
            (
                "cpus",
                Config {
                    cpus: Some(65),
                    ..Default::default()
                },
            ),
            (
                "cpus",
                Config {
                    cpus: Some(3),
                    readers: 2,
                    ..Default::default()
                },
            ),
            (
                "readers",
                Config {
                    readers: 0,
                    ..Default::default()
                },
            ),
            (
                "readers",
                Config {
                    readers: 63,
                    ..Default::default()
                },
            ),
            (
                "paravirt",
                Config {
                    mode: Mode::XenPv,
                    paravirt: false,
                    ..Default::default()
                },
            ),
        ];
        for (field, c) in bad {
            assert_eq!(c.validate().unwrap_err().field, field, "{c:?}");
        }
    }

    #[test]
    fn set_and_get_round_trip_every_field() {
        let mut c = Config::default();
        for (k, v) in [
            ("cpus", "9"),
            ("mode", "xen-pv"),
            ("sync", "none"),
            ("readers", "3"),
            ("reader", "walker"),
            ("alloc", "random"),
            ("clear", "split-low-first"),
            ("set", "split-high-first"),
            ("free", "immediate"),
        ] {
            c.set(k, v).unwrap();
            assert_eq!(c.get(k).unwrap(), v);
        }
        let q = c.to_query(&Config::default());
        let mut d = Config::default();
        d.apply_query(&q).unwrap();
        assert_eq!(c, d);
    }

    #[test]
    fn bad_values_list_what_is_allowed() {
        let e = Config::default().set("mode", "pae").unwrap_err();
        assert_eq!(e.field, "mode");
        assert!(e.message.contains("native-pae, xen-pv, non-pae"), "{e}");
        assert!(Config::default().set("cpus", "-3").is_err());
        assert!(Config::default()
            .set("cpus", "99999999999999999999")
            .is_err());
        assert!(Config::default().set("colour", "red").is_err());
        assert!(Config::default().apply_query("readers").is_err());
        assert!(Config::default().apply_query("preset=nope").is_err());
    }

    #[test]
    fn paravirt_off_makes_every_placement_none() {
        let c = Config {
            paravirt: false,
            sync: SyncPlacement::UnderPtl,
            ..Default::default()
        };
        assert_eq!(c.effective_sync(), SyncPlacement::None);
        let c = Config {
            mode: Mode::NonPae,
            sync: SyncPlacement::UnderPtl,
            ..Default::default()
        };
        assert_eq!(c.effective_sync(), SyncPlacement::None);
    }

    #[test]
    fn serde_uses_kebab_case_and_rejects_unknown_fields() {
        let c: Config =
            serde_json::from_str(r#"{"mode":"xen-pv","sync":"after-unlock","readers":3}"#).unwrap();
        assert_eq!(c.mode, Mode::XenPv);
        assert_eq!(c.readers, 3);
        assert!(serde_json::from_str::<Config>(r#"{"modes":"xen-pv"}"#).is_err());
    }
}
