//! Command-line arguments, and turning the config flags into a validated [`Config`].

use crate::input::ScenarioFile;
use crate::output::InputError;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use tornsim_core::{preset, Config};

#[derive(Parser, Debug)]
#[command(
    name = "tornsim",
    version,
    about = "Watch, measure and prove the x86-32 PAE torn PMD read race (khugepaged vs lockless walkers)",
    after_help = "Exit status: 0 no hazard found, 1 hazard found, 2 bad input or internal error, 3 search incomplete."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process; the size difference between subcommands does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run many randomized interleavings (of a preset or scenario files) and count torn reads.
    Run(RunArgs),
    /// Print a schedule string's run step by step (`replay FILE SCHEDULE` for a
    /// scenario file's schedule).
    Replay(ReplayArgs),
    /// List the named presets.
    Presets(PresetsArgs),
    /// Exhaustive search: prove a configuration or scenario file safe, or print its
    /// shortest hazard.
    Check(CheckArgs),
    /// The checker's verdict for every mode x placement x reader kind, beside MODEL.md's.
    Matrix(MatrixArgs),
    /// Timed runs over a grid of CPU counts x readers x placements x modes: PTL hold,
    /// collapse latency, spinning, IPI waits, torn reads per million collapses.
    Sweep(SweepArgs),
    /// Combines `sweep --shard K/N --json` outputs into the table one machine prints.
    Merge(MergeArgs),
    /// How the rate of torn reads per collapse moves as each latency is halved and
    /// doubled (rare-event estimates with 95% intervals).
    Sensitivity(SensitivityArgs),
    /// Measure simulated steps and runs per second, and checker speed.
    Bench(BenchArgs),
    /// Print a built-in scenario (preset or placement) as a file to start from; with no
    /// name, list them.
    Show(ShowArgs),
    /// List the primitives scenario files may call, with their steps and kernel sources.
    Primitives(PrimitivesArgs),
    /// The kernel history suite: Linux's fixed page-table races, each checked before and
    /// after its fix (scenarios/history/). Exit status 1 if a verdict differs from the
    /// one its commit gives.
    History(HistoryArgs),
    /// Print this command's reference: the book's CLI chapter (Markdown), a man page, or
    /// shell completions.
    Reference(ReferenceArgs),
}

#[derive(Args, Debug)]
pub struct ReferenceArgs {
    /// What to print.
    #[arg(value_enum)]
    pub format: ReferenceFormat,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum ReferenceFormat {
    /// The book's CLI chapter, docs/src/cli.md.
    Markdown,
    /// A man page in roff, docs/src/tornsim.1.
    Man,
    /// Completions for bash.
    Bash,
    /// Completions for zsh.
    Zsh,
    /// Completions for fish.
    Fish,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// A preset or placement name (see `tornsim show`).
    pub name: Option<String>,
}

#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// Only this race (the stem of its files: `mremap-retract`).
    #[arg(long, value_name = "NAME")]
    pub race: Option<String>,
    /// Print JSON: each race's commit, story and rows.
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// Print the book's chapter on the suite (docs/src/history.md) as Markdown.
    #[arg(long)]
    pub markdown: bool,
    /// Threads each search runs on, 1..=256 (the table does not depend on it).
    /// Default: all cores.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub threads: Option<i64>,
}

#[derive(Args, Debug)]
pub struct PrimitivesArgs {
    /// Print the table as Markdown (as in the docs).
    #[arg(long)]
    pub markdown: bool,
    /// Only the calls a classic file may make, each with its classic steps (the
    /// Markdown always holds every row, and the classic steps in a section of their own).
    #[arg(long, conflicts_with_all = ["litmus", "markdown"])]
    pub classic: bool,
    /// Kept for scripts written when the general machine's calls had a table of their
    /// own: every row is in the one table now, so this prints what no flag does.
    #[arg(long, hide = true, conflicts_with_all = ["litmus", "classic"])]
    pub general: bool,
    /// The kernel's C litmus primitives and the x86 instructions each becomes (the
    /// book's mapping table), instead of the scenario primitives.
    #[arg(long)]
    pub litmus: bool,
}

/// The configuration flags every simulating command takes.
#[derive(Args, Debug, Default, Clone)]
pub struct ConfigArgs {
    /// Start from a named preset (see `tornsim presets`).
    #[arg(long, value_name = "NAME")]
    pub preset: Option<String>,
    /// Read settings from a TOML or JSON file (applied after --preset, before other flags).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// CPU count, 2..=64, or `auto` (collapser + populator + readers).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub cpus: Option<String>,
    /// native-pae, xen-pv, non-pae, kvm-pv-flush or hyperv.
    #[arg(long, value_name = "MODE")]
    pub mode: Option<String>,
    /// Sync placement: under-ptl, after-unlock, none or flush-sync-skip.
    #[arg(long, value_name = "PLACEMENT")]
    pub sync: Option<String>,
    /// CONFIG_PARAVIRT on native-pae: on or off.
    #[arg(long, value_name = "on|off")]
    pub paravirt: Option<String>,
    /// Reader count, 1..=62 (`check` also takes `any`: every count, by the cutoff
    /// argument of docs/cutoff.md).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub readers: Option<String>,
    /// Reader kind: gup-fast or walker.
    #[arg(long, value_name = "KIND")]
    pub reader: Option<String>,
    /// New page table: same-low, random or same-frame.
    #[arg(long, value_name = "ALLOC")]
    pub alloc: Option<String>,
    /// PMD clear: xchg64 or split-low-first.
    #[arg(long, value_name = "KIND")]
    pub clear: Option<String>,
    /// PMD set: xchg64 or split-high-first.
    #[arg(long, value_name = "KIND")]
    pub set: Option<String>,
    /// Old table free: rcu-deferred or immediate.
    #[arg(long, value_name = "KIND")]
    pub free: Option<String>,
    /// Memory model: sc (default) or tso (x86-TSO store buffers).
    #[arg(long, value_name = "MODEL")]
    pub memory: Option<String>,
    /// IPI ordering under tso: xapic (default), x2apic or x2apic-amd.
    #[arg(long, value_name = "APIC")]
    pub apic: Option<String>,
}

impl ConfigArgs {
    /// Each flag by name, and whether it was given: what a file that takes its settings
    /// from elsewhere (a litmus test, a general scenario) checks before refusing one.
    pub fn given(&self) -> [(&'static str, bool); 14] {
        [
            ("--preset", self.preset.is_some()),
            ("--config", self.config.is_some()),
            ("--cpus", self.cpus.is_some()),
            ("--mode", self.mode.is_some()),
            ("--sync", self.sync.is_some()),
            ("--paravirt", self.paravirt.is_some()),
            ("--readers", self.readers.is_some()),
            ("--reader", self.reader.is_some()),
            ("--alloc", self.alloc.is_some()),
            ("--clear", self.clear.is_some()),
            ("--set", self.set.is_some()),
            ("--free", self.free.is_some()),
            ("--memory", self.memory.is_some()),
            ("--apic", self.apic.is_some()),
        ]
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum SchedulerKind {
    Random,
    Pct,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Scenario files to run (see `tornsim show`); none: the configuration flags alone.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Number of runs.
    #[arg(
        long,
        default_value_t = 100_000,
        value_name = "N",
        allow_hyphen_values = true
    )]
    pub runs: u64,
    /// Batch seed; run i uses a seed derived from it and i.
    #[arg(
        long,
        default_value_t = 1,
        value_name = "S",
        allow_hyphen_values = true
    )]
    pub seed: u64,
    #[arg(long, value_enum, default_value_t = SchedulerKind::Random)]
    pub scheduler: SchedulerKind,
    /// PCT depth (the bug depth targeted), 1..=64. The seed thread's race has depth 4.
    #[arg(
        long,
        default_value_t = 4,
        value_name = "D",
        allow_hyphen_values = true
    )]
    pub depth: u32,
    /// Worker threads (results do not depend on it). Default: all cores.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub threads: Option<usize>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum TraceFormat {
    Table,
    Json,
}

#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// A schedule string (`ts1.…`), as printed by `run` or `check`; a scenario file's
    /// schedule (`ts2.…`) comes after its file.
    #[arg(value_name = "[FILE] SCHEDULE", required = true, num_args = 1..=2)]
    pub args: Vec<String>,
    #[arg(long, value_enum, default_value_t = TraceFormat::Table)]
    pub format: TraceFormat,
    /// For a general scenario file: the walker count the schedule was made at, where
    /// it is not the file's own (`check --readers any` prints it with the schedule).
    #[arg(long, value_name = "N")]
    pub readers: Option<u32>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// A summary, then the witness step by step.
    Table,
    /// The witness as CPU columns, the way kernel commit messages draw races.
    Kernel,
    Json,
}

#[derive(Args, Debug, Clone)]
pub struct SearchArgs {
    /// Give up with verdict `incomplete` (exit 3) after storing this many states.
    #[arg(long, value_name = "N", allow_hyphen_values = true, default_value_t = tornsim_core::check::DEFAULT_MAX_STATES)]
    pub max_states: u64,
    /// Give up with verdict `incomplete` (exit 3) rather than let the state store grow
    /// past this size: bytes, or with a K, M or G suffix (binary: 512M = 512 MiB).
    #[arg(long, value_name = "SIZE")]
    pub max_memory: Option<String>,
    /// Turn off partial-order reduction, the classic checker's and a general file's
    /// (slower; for cross-checking the reduction).
    #[arg(long)]
    pub no_reduction: bool,
    /// Turn off reader symmetry, and a general file's walker symmetry (slower; for
    /// cross-checking the symmetry reduction).
    #[arg(long)]
    pub no_symmetry: bool,
    /// Threads the search runs on, 1..=256 (verdicts, counts and witnesses do not
    /// depend on it). Default: all cores.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub threads: Option<i64>,
}

impl SearchArgs {
    pub fn options(&self) -> Result<tornsim_core::CheckOptions, InputError> {
        if self.max_states == 0 || self.max_states > u32::MAX as u64 {
            return Err(InputError(format!(
                "--max-states: must be in 1..={}",
                u32::MAX
            )));
        }
        let max_bytes = match &self.max_memory {
            None => u64::MAX,
            Some(v) => parse_size(v).ok_or_else(|| {
                InputError(format!(
                    "--max-memory: expected a size such as 512M or 2G, got '{v}'"
                ))
            })?,
        };
        if max_bytes < 1 << 20 {
            return Err(InputError("--max-memory: must be at least 1M".into()));
        }
        let threads = threads(self.threads)?;
        Ok(tornsim_core::CheckOptions {
            max_states: self.max_states,
            max_bytes,
            reduce: !self.no_reduction,
            symmetry: !self.no_symmetry,
            threads,
        })
    }
}

/// A search's `--threads`: all cores when not given.
pub fn threads(n: Option<i64>) -> Result<u32, InputError> {
    match n {
        None => Ok(crate::progress::cores() as u32),
        Some(n @ 1..=256) => Ok(n as u32),
        Some(n) => Err(InputError(format!(
            "--threads: must be in 1..=256, got {n}"
        ))),
    }
}

/// `512M`, `2G`, `64K` (binary multiples) or plain bytes.
fn parse_size(v: &str) -> Option<u64> {
    let v = v.trim();
    let (num, mult) = match v.char_indices().last()? {
        (i, 'K' | 'k') => (&v[..i], 1u64 << 10),
        (i, 'M' | 'm') => (&v[..i], 1 << 20),
        (i, 'G' | 'g') => (&v[..i], 1 << 30),
        _ => (v, 1),
    };
    num.trim().parse::<u64>().ok()?.checked_mul(mult)
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Scenario files to check, one verdict row each (see `tornsim show`); none: the
    /// configuration flags alone.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub search: SearchArgs,
    /// With `--readers any` where the cutoff argument does not apply: check 1..=N readers.
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub bound: u32,
    /// Same as --format json.
    #[arg(long)]
    pub json: bool,
    #[arg(long, value_enum)]
    pub format: Option<CheckFormat>,
}

#[derive(Args, Debug)]
pub struct MatrixArgs {
    /// Readers per cell, or `any`: every count, by the cutoff argument.
    #[arg(
        long,
        default_value = "2",
        value_name = "N",
        allow_hyphen_values = true
    )]
    pub readers: String,
    /// Every clear x set split too (four times the cells).
    #[arg(long)]
    pub all_splits: bool,
    /// Memory models, comma separated: sc (the default), tso, or sc,tso for both
    /// (a memory column then heads each row).
    #[arg(long, value_name = "MODELS")]
    pub memory: Option<String>,
    /// IPI ordering for the tso cells: xapic (default), x2apic or x2apic-amd.
    #[arg(long, value_name = "APIC")]
    pub apic: Option<String>,
    #[command(flatten)]
    pub search: SearchArgs,
    #[arg(long)]
    pub json: bool,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum SweepFormat {
    Table,
    Json,
    Csv,
}

#[derive(Args, Debug)]
pub struct SweepArgs {
    /// Scenario files to sweep in place of the placements (see `tornsim show`); the
    /// files' own mode, readers and reader kind hold unless given here.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// CPU counts, comma separated (extra CPUs beyond collapser, populator and readers
    /// are idle and answer IPIs).
    #[arg(long, default_value = "4,6,8,10,12,14,16", value_name = "LIST")]
    pub cpus: String,
    /// Reader counts, comma separated [default: 2, or each file's own].
    #[arg(long, value_name = "LIST")]
    pub readers: Option<String>,
    /// Placements, comma separated [default: under-ptl,after-unlock,none,flush-sync-skip;
    /// not with files].
    #[arg(long, value_name = "LIST")]
    pub sync: Option<String>,
    /// Modes, comma separated [default: xen-pv,native-pae, or each file's own].
    #[arg(long, value_name = "LIST")]
    pub mode: Option<String>,
    /// Reader kind [default: gup-fast, or each file's own].
    #[arg(long, value_name = "KIND")]
    pub reader: Option<String>,
    /// Timed runs (collapses) per cell.
    #[arg(
        long,
        default_value_t = 2000,
        value_name = "N",
        allow_hyphen_values = true
    )]
    pub runs: u64,
    #[arg(
        long,
        default_value_t = 1,
        value_name = "S",
        allow_hyphen_values = true
    )]
    pub seed: u64,
    /// Latencies in ns, e.g. `ipi_delivery=3000,hypercall=800` (see `tornsim_core::timed`).
    #[arg(long, value_name = "K=V,...")]
    pub latency: Option<String>,
    /// Run only the K-th of N disjoint slices of the grid (K counts from 1).
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    #[command(flatten)]
    pub estimate: EstimateArgs,
    #[arg(long, value_enum, default_value_t = SweepFormat::Table)]
    pub format: SweepFormat,
    /// Same as --format json.
    #[arg(long)]
    pub json: bool,
    /// Same as --format csv.
    #[arg(long)]
    pub csv: bool,
}

/// The rare-event estimator's flags.
#[derive(Args, Debug, Clone, Default)]
pub struct EstimateArgs {
    /// Also estimate each cell's rate per collapse with its 95% interval: `importance`
    /// (importance sampling of the stalls, for rare rates) or `brute` (plain runs).
    #[arg(long, value_name = "METHOD")]
    pub estimate: Option<String>,
    /// The hazard whose rate is estimated: torn or stale.
    #[arg(long, value_name = "EVENT", default_value = "torn")]
    pub event: String,
    /// Stop once the 95% interval's half-width is at most this share of the rate.
    #[arg(
        long,
        value_name = "R",
        default_value_t = 0.1,
        allow_hyphen_values = true
    )]
    pub rel_error: f64,
    /// Stop after this many timed runs per estimate whatever the error.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 10_000_000,
        allow_hyphen_values = true
    )]
    pub budget: u64,
}

impl EstimateArgs {
    /// The estimate to make, if `--estimate` was given (`required`: the command always
    /// estimates, by default with importance sampling).
    pub fn spec(
        &self,
        required: bool,
    ) -> Result<Option<tornsim_core::rare::EstimateSpec>, InputError> {
        use tornsim_core::rare::{EstimateSpec, Event, Method};
        let method = match (&self.estimate, required) {
            (Some(m), _) => Method::parse(m).map_err(|e| InputError(format!("--estimate: {e}")))?,
            (None, true) => Method::Importance,
            (None, false) => return Ok(None),
        };
        let spec = EstimateSpec {
            method,
            event: Event::parse(&self.event).map_err(|e| InputError(format!("--event: {e}")))?,
            rel_error: self.rel_error,
            max_runs: self.budget,
        };
        spec.validate().map_err(|e| {
            let flag = if e.field == "rel_error" {
                "--rel-error"
            } else {
                "--budget"
            };
            InputError(format!("{flag}: {}", e.message))
        })?;
        Ok(Some(spec))
    }
}

#[derive(Args, Debug)]
pub struct SensitivityArgs {
    /// A scenario file (see `tornsim show`); none: the configuration flags alone.
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Base latencies in ns, e.g. `preempt_chance=1e-5` (see `tornsim_core::timed`).
    #[arg(long, value_name = "K=V,...")]
    pub latency: Option<String>,
    #[command(flatten)]
    pub estimate: EstimateArgs,
    #[arg(
        long,
        default_value_t = 1,
        value_name = "S",
        allow_hyphen_values = true
    )]
    pub seed: u64,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// JSON files written by `tornsim sweep --shard K/N --json`.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = SweepFormat::Table)]
    pub format: SweepFormat,
    #[arg(long)]
    pub json: bool,
    #[arg(long)]
    pub csv: bool,
}

#[derive(Args, Debug)]
pub struct PresetsArgs {
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[arg(long)]
    pub json: bool,
    /// Seconds to spend on each case.
    #[arg(
        long,
        default_value_t = 1.0,
        value_name = "SECONDS",
        allow_hyphen_values = true
    )]
    pub seconds: f64,
}

/// Reads a config file (TOML or JSON, by extension, else whichever parses) as settings.
fn file_settings(path: &PathBuf) -> Result<Vec<(String, String)>, InputError> {
    use tornsim_core::settings_file::{settings, Format, SettingsError};
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError(format!("--config: cannot read '{shown}': {e}")))?;
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    settings(&text, Format::of_extension(ext)).map_err(|e| match e {
        SettingsError::BadValue { .. } => InputError(format!("--config: '{shown}': {e}")),
        _ => InputError(format!("--config: '{shown}' {e}")),
    })
}

impl ConfigArgs {
    /// Layers defaults, `--preset`, `--config` and the individual flags, then validates.
    pub fn build(&self) -> Result<Config, InputError> {
        self.build_on(None)
    }

    /// As [`ConfigArgs::build`], starting from a scenario file's settings and program.
    pub fn build_for(&self, f: &ScenarioFile) -> Result<Config, InputError> {
        let shown = f.path.display();
        if self.preset.is_some() {
            return Err(InputError(format!(
                "--preset: '{shown}' already gives the programs; use one or the other"
            )));
        }
        if self.sync.is_some() {
            return Err(InputError(format!(
                "--sync: the order of the lines in '{shown}' is its placement; edit the file instead"
            )));
        }
        let cfg = self.build_on(Some(f.config.clone()))?;
        f.compiles_under(&cfg)?;
        Ok(cfg)
    }

    fn build_on(&self, base: Option<Config>) -> Result<Config, InputError> {
        let mut cfg = match (&self.preset, base) {
            (_, Some(c)) => c,
            (Some(name), None) => preset(name)?.config,
            (None, None) => Config::default(),
        };
        if let Some(path) = &self.config {
            tornsim_core::settings_file::apply(&mut cfg, &file_settings(path)?)
                .map_err(|e| InputError(format!("--config '{}': {e}", path.display())))?;
        }
        let flags = [
            ("cpus", &self.cpus),
            ("mode", &self.mode),
            ("sync", &self.sync),
            ("paravirt", &self.paravirt),
            ("readers", &self.readers),
            ("reader", &self.reader),
            ("alloc", &self.alloc),
            ("clear", &self.clear),
            ("set", &self.set),
            ("free", &self.free),
            ("memory", &self.memory),
            ("apic", &self.apic),
        ];
        for (k, v) in flags {
            if let Some(v) = v {
                cfg.set(k, v)?;
            }
        }
        cfg.validate()?;
        Ok(cfg)
    }
}
