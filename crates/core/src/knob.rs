//! The knobs a configuration is made of: the mode, the sync placement, the reader kind
//! and the write and free variants MODEL.md lists, each an enum with one kebab-case name
//! shared by the CLI, config and scenario files, links and the page's controls, and
//! `ConfigError`, which names the field a bad value was given for. The lowest layer:
//! it knows nothing of programs or machines.

use serde::{Deserialize, Serialize};
use std::fmt;

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

knob!(
    /// The memory model: when a store becomes visible to other CPUs.
    Memory, "memory", {
        /// Sequential consistency.
        Sc = "sc": "sequential consistency: a store is seen by every CPU the moment it executes (the default: MODEL.md's verdicts assume it, and every schedule, statistic and golden file of earlier releases stays valid)",
        /// x86-TSO.
        Tso = "tso": "x86-TSO (herd7's x86tso.cat): each CPU's stores wait in a FIFO store buffer, its loads read its own newest buffered store, locked instructions and MFENCE wait for an empty buffer",
    }
);

knob!(
    /// How an IPI send is ordered against the sender's earlier stores (`memory = tso`).
    Apic, "apic", {
        /// xAPIC: the ICR write is an MMIO store.
        Xapic = "xapic": "xAPIC: the IPI is an MMIO write to the ICR, ordered after every earlier store",
        /// x2APIC: the ICR write is a WRMSR.
        X2apic = "x2apic": "x2APIC: the IPI is a WRMSR, not ordered with the store buffer; the kernel's flush and sync paths call weak_wrmsr_fence() (MFENCE; LFENCE) first (Linux 25a068b8e9a4e)",
        /// x2APIC on AMD.
        X2apicAmd = "x2apic-amd": "x2APIC on AMD, where the WRMSR is serializing and the kernel skips the fence (Linux 04c3024560d3)",
    }
);

// The knob! macro derives no Default (most knobs' defaults live in Config::default()).
#[allow(clippy::derivable_impls)]
impl Default for Memory {
    fn default() -> Self {
        Memory::Sc
    }
}

#[allow(clippy::derivable_impls)]
impl Default for Apic {
    fn default() -> Self {
        Apic::Xapic
    }
}

/// Smallest and largest CPU counts.
pub const CPUS_RANGE: (u32, u32) = (2, 64);
/// Smallest and largest reader counts.
pub const READERS_RANGE: (u32, u32) = (1, 62);

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
    "memory", "apic",
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

/// One setting's value, parsed from its text: what `key = value` means in a scenario
/// file, a config file, a link or a CLI flag. `Config::set` stores it; the scenario
/// parser checks a file's settings with it before any configuration exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setting {
    /// `None`: `auto`, one CPU per actor.
    Cpus(Option<u32>),
    Readers(u32),
    /// `readers = any`: the exhaustive check answers for every reader count (the
    /// cutoff argument, `crate::cutoff`); a run keeps the reader count it had.
    AnyReaders,
    Mode(Mode),
    Sync(SyncPlacement),
    Paravirt(bool),
    Reader(ReaderKind),
    Alloc(Alloc),
    Clear(ClearKind),
    Set(SetKind),
    Free(FreeKind),
    Memory(Memory),
    Apic(Apic),
}

impl Setting {
    /// Parses one field's value, naming the field in the error.
    pub fn parse(field: &str, value: &str) -> Result<Setting, ConfigError> {
        let v = value.trim();
        Ok(match field {
            "cpus" => Setting::Cpus(if v == "auto" {
                None
            } else {
                Some(parse_count("cpus", v, CPUS_RANGE)?)
            }),
            "readers" if v == "any" => Setting::AnyReaders,
            "readers" => Setting::Readers(parse_count("readers", v, READERS_RANGE)?),
            "mode" => Setting::Mode(v.parse()?),
            "sync" => Setting::Sync(v.parse()?),
            "paravirt" => Setting::Paravirt(parse_bool("paravirt", v)?),
            "reader" => Setting::Reader(v.parse()?),
            "alloc" => Setting::Alloc(v.parse()?),
            "clear" => Setting::Clear(v.parse()?),
            "set" => Setting::Set(v.parse()?),
            "free" => Setting::Free(v.parse()?),
            "memory" => Setting::Memory(v.parse()?),
            "apic" => Setting::Apic(v.parse()?),
            _ => {
                return Err(ConfigError::new(
                    field,
                    format!("unknown setting (known: {})", FIELDS.join(", ")),
                ));
            }
        })
    }
}
