//! What a run simulates: the machine (mode, CPU count), the actors (readers and their
//! kind), where the collapser puts its sync, and the knobs MODEL.md lists.
//!
//! Every knob has a kebab-case name shared by the CLI, config files (TOML/JSON), URL
//! fragments and the web page's controls, so one spelling works everywhere.

use crate::scenario::Scenario;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::{Arc, OnceLock};

/// An enumerated configuration knob.
pub trait Knob: Copy + Eq + Sized + 'static {
    /// The field name this knob is stored under.
    const FIELD: &'static str;
    /// Every value, in display order.
    const ALL: &'static [Self];
    /// The value's kebab-case name.
    fn name(self) -> &'static str;
    /// One line saying what the value means, naming the kernel code it mirrors.
    fn help(self) -> &'static str;

    /// Parses a kebab-case name, with an error that lists the allowed values.
    fn parse(s: &str) -> Result<Self, ConfigError> {
        Self::ALL
            .iter()
            .copied()
            .find(|v| v.name() == s)
            .ok_or_else(|| {
                ConfigError::new(
                    Self::FIELD,
                    format!("unknown value '{s}' (allowed: {})", Self::names()),
                )
            })
    }

    /// The allowed values, comma separated.
    fn names() -> String {
        Self::ALL
            .iter()
            .map(|v| v.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

macro_rules! knob {
    ($(#[$m:meta])* $name:ident, $field:literal, { $($(#[$vm:meta])* $var:ident = $s:literal : $help:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "kebab-case")]
        pub enum $name { $($(#[$vm])* $var),+ }

        impl Knob for $name {
            const FIELD: &'static str = $field;
            const ALL: &'static [Self] = &[$(Self::$var),+];
            fn name(self) -> &'static str { match self { $(Self::$var => $s),+ } }
            fn help(self) -> &'static str { match self { $(Self::$var => $help),+ } }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.name()) }
        }

        impl std::str::FromStr for $name {
            type Err = ConfigError;
            fn from_str(s: &str) -> Result<Self, ConfigError> { <Self as Knob>::parse(s) }
        }
    };
}

knob!(
    /// How the machine accesses the PMD and flushes TLBs.
    Mode, "mode", {
        /// x86-32 PAE on bare metal.
        NativePae = "native-pae": "x86-32 PAE on bare metal: split PMD loads; the TLB flush IPIs the CPUs in mm_cpumask and waits (native_flush_tlb_multi())",
        /// x86-32 PAE as a Xen PV guest.
        XenPv = "xen-pv": "x86-32 PAE as a Xen PV guest: split PMD loads; the TLB flush is a hypercall that waits for nobody (xen_flush_tlb_multi())",
        /// A kernel whose PMD loads are atomic.
        NonPae = "non-pae": "PMD read with one atomic load, so pmdp_get_lockless_sync() is a no-op",
        /// x86-32 PAE as a KVM guest with the paravirtual TLB flush.
        KvmPvFlush = "kvm-pv-flush": "x86-32 PAE under KVM with PV TLB flush (kvm_flush_tlb_multi()): the host may preempt vCPUs, and the flush skips a preempted vCPU (flushing it on resume) instead of waiting for it; the sync IPI still waits",
        /// x86-32 PAE as a Hyper-V guest.
        HyperV = "hyperv": "x86-32 PAE under Hyper-V: the TLB flush is a hypercall (hyperv_flush_tlb_multi()) that waits for nobody; the sync IPI still waits",
    }
);

knob!(
    /// Where the collapser calls `pmdp_get_lockless_sync()`.
    SyncPlacement, "sync", {
        UnderPtl = "under-ptl": "the kernel as merged: pmdp_get_lockless_sync() before spin_unlock(ptl) in collapse_pte_mapped_thp()/retract_page_tables()",
        AfterUnlock = "after-unlock": "the withdrawn v1 patch 'mm/khugepaged: move tlb_remove_table_sync_one out': sync after spin_unlock(ptl)",
        None = "none": "no sync at all, as a kernel without CONFIG_MMU_GATHER_RCU_TABLE_FREE",
        FlushSyncSkip = "flush-sync-skip": "the v3 proposal pmdp_collapse_flush_sync(): sync under the PTL only if the flush sent no IPI",
    }
);

knob!(
    /// Which lockless walker the readers are.
    ReaderKind, "reader", {
        GupFast = "gup-fast": "GUP-fast (gup_fast_pmd_range()): runs the mm, so it is in mm_cpumask and the native flush IPI reaches it",
        Walker = "walker": "__pte_offset_map() from a CPU that does not run the mm (rmap walk): outside mm_cpumask, only the sync reaches it",
    }
);

knob!(
    /// Where the populator's new page table comes from.
    Alloc, "alloc", {
        SameLow = "same-low": "adversarial: the new table's address has the old one's low 32 bits and another high word (ABA on pmd_low)",
        Random = "random": "a frame drawn from 16 GiB of RAM, so pmd_low collides at the rate real memory allows",
        SameFrame = "same-frame": "the freed old frame comes back: an ABA with an identical value",
    }
);

knob!(
    /// How `pmdp_get_and_clear()` writes the PMD.
    ClearKind, "clear", {
        Xchg64 = "xchg64": "one 64-bit exchange (native_pmdp_get_and_clear() via pxx_xchg64/cmpxchg8b, current kernels)",
        SplitLowFirst = "split-low-first": "xchg pmd_low to 0, then pmd_high = 0 (native_pmdp_get_and_clear() before v6.2)",
    }
);

knob!(
    /// How `pmd_populate()` writes the PMD.
    SetKind, "set", {
        Xchg64 = "xchg64": "one 64-bit store (set_pmd() via set_64bit()/cmpxchg8b)",
        SplitHighFirst = "split-high-first": "pmd_high first, then pmd_low (the order that keeps a half-written entry not-present)",
    }
);

knob!(
    /// How the old page table is freed.
    FreeKind, "free", {
        RcuDeferred = "rcu-deferred": "pte_free_defer(): freed once every CPU has had interrupts enabled since the free was queued",
        Immediate = "immediate": "pte_free() at once: shows what the deferral protects",
    }
);

/// Smallest and largest CPU counts.
pub const CPUS_RANGE: (u32, u32) = (2, 64);
/// Smallest and largest reader counts.
pub const READERS_RANGE: (u32, u32) = (1, 62);

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
    pub reader: ReaderKind,
    pub alloc: Alloc,
    pub clear: ClearKind,
    pub set: SetKind,
    pub free: FreeKind,
    /// The actors' programs, when they are not a built-in placement's (then `sync` is
    /// ignored). Serialised as the scenario file's text.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "scenario_text"
    )]
    pub scenario: Option<Arc<Scenario>>,
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
            crate::scenario::parse(&t)
                .map(Arc::new)
                .map_err(serde::de::Error::custom)
        })
        .transpose()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            cpus: None,
            mode: Mode::NativePae,
            sync: SyncPlacement::UnderPtl,
            paravirt: true,
            readers: 2,
            reader: ReaderKind::GupFast,
            alloc: Alloc::SameLow,
            clear: ClearKind::Xchg64,
            set: SetKind::Xchg64,
            free: FreeKind::RcuDeferred,
            scenario: None,
        }
    }
}

/// A configuration problem, naming the field and what is allowed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigError {
    pub field: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for ConfigError {}

/// The names of every field `Config::set` accepts, in display order.
pub const FIELDS: &[&str] = &[
    "cpus", "mode", "sync", "paravirt", "readers", "reader", "alloc", "clear", "set", "free",
];

fn parse_bool(field: &str, v: &str) -> Result<bool, ConfigError> {
    match v {
        "on" | "true" | "yes" | "1" => Ok(true),
        "off" | "false" | "no" | "0" => Ok(false),
        _ => Err(ConfigError::new(
            field,
            format!("expected on or off, got '{v}'"),
        )),
    }
}

fn parse_count(field: &str, v: &str, (lo, hi): (u32, u32)) -> Result<u32, ConfigError> {
    let n: u64 = v.trim().parse().map_err(|_| {
        ConfigError::new(
            field,
            format!("expected a whole number in {lo}..={hi}, got '{v}'"),
        )
    })?;
    if n < lo as u64 || n > hi as u64 {
        return Err(ConfigError::new(
            field,
            format!("{n} is out of range {lo}..={hi}"),
        ));
    }
    Ok(n as u32)
}

impl Config {
    /// The number of simulated CPUs.
    pub fn cpu_count(&self) -> u32 {
        self.cpus.unwrap_or(2 + self.readers)
    }

    /// Whether `pmdp_get_lockless_sync()` is a real IPI broadcast in this configuration.
    pub fn sync_is_ipi(&self) -> bool {
        match self.mode {
            Mode::NonPae => false,
            Mode::NativePae => self.paravirt,
            Mode::XenPv | Mode::KvmPvFlush | Mode::HyperV => true,
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
        let v = value.trim();
        match field {
            "cpus" => {
                self.cpus = if v == "auto" {
                    None
                } else {
                    Some(parse_count("cpus", v, CPUS_RANGE)?)
                };
            }
            "readers" => self.readers = parse_count("readers", v, READERS_RANGE)?,
            "mode" => self.mode = v.parse()?,
            // A placement picked by name replaces any scenario's own order.
            "sync" => {
                self.sync = v.parse()?;
                self.scenario = None;
            }
            "paravirt" => self.paravirt = parse_bool("paravirt", v)?,
            "reader" => self.reader = v.parse()?,
            "alloc" => self.alloc = v.parse()?,
            "clear" => self.clear = v.parse()?,
            "set" => self.set = v.parse()?,
            "free" => self.free = v.parse()?,
            _ => {
                return Err(ConfigError::new(
                    field,
                    format!("unknown setting (known: {})", FIELDS.join(", ")),
                ));
            }
        }
        Ok(())
    }

    /// The value of one field as `set` accepts it back.
    pub fn get(&self, field: &str) -> Option<String> {
        Some(match field {
            "cpus" => self
                .cpus
                .map_or_else(|| "auto".to_string(), |c| c.to_string()),
            "readers" => self.readers.to_string(),
            "mode" => self.mode.name().into(),
            "sync" => self.sync.name().into(),
            "paravirt" => (if self.paravirt { "on" } else { "off" }).into(),
            "reader" => self.reader.name().into(),
            "alloc" => self.alloc.name().into(),
            "clear" => self.clear.name().into(),
            "set" => self.set.name().into(),
            "free" => self.free.name().into(),
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
        if self.mode == Mode::NativePae && !self.paravirt {
            s.push_str(" / paravirt off");
        }
        s
    }
}

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
        crate::scenario::PRESETS
            .iter()
            .map(|&name| {
                let src = crate::scenario::builtin_source(name).expect("every preset has a file");
                let (s, config) = crate::scenario::load(src).expect("the preset files parse");
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

#[cfg(test)]
mod tests {
    use super::*;

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
