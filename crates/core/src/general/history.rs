//! The kernel history suite: Linux's fixed races between lockless page-table walkers and
//! page-table changes, each a pair of files in `scenarios/history/` (`NAME-before`, the
//! order the commit fixed, and `NAME-fix`, the order it made), with the commit in the
//! files' header. [`RACES`] says which variants of a file the suite also checks: the
//! modes and flushes in which the commit says the old order was already safe, or
//! equally broken. [`check_suite`] answers them all; `tornsim history` prints it.

use super::compile::compile;
use super::explore::{check, encode, GCheckOptions};
use super::lang::parse;
use crate::hazard::Verdict;
use crate::scenario::syntax::ScenarioError;
use serde::Serialize;
use std::sync::Arc;

/// The suite's files, by name.
pub const FILES: &[(&str, &str)] = files_in!("history":
    "collapse-pt-reclaim-before",
    "collapse-pt-reclaim-fix",
    "invlpgb-table-free-before",
    "invlpgb-table-free-fix",
    "khugepaged-gup-fast-before",
    "khugepaged-gup-fast-fix",
    "mremap-retract-before",
    "mremap-retract-fix",
    "munmap-get-page-before",
    "munmap-get-page-fix",
    "pae-pte-offset-map-before",
    "pae-pte-offset-map-fix",
);

/// One race: its files' stem, and the variants of the pre-fix file the commit speaks
/// of (a setting as the file writes it, its replacement, whether that order is safe
/// there).
#[derive(Clone, Copy, Debug)]
pub struct Race {
    pub name: &'static str,
    pub variants: &'static [Variant],
}

/// The pre-fix file with one setting changed.
#[derive(Clone, Copy, Debug)]
pub struct Variant {
    pub from: &'static str,
    pub to: &'static str,
    /// What the commit says of the old order there: safe, or the same hazard.
    pub safe: bool,
}

/// The suite, oldest story first.
pub const RACES: &[Race] = &[
    Race {
        name: "munmap-get-page",
        // Native PAE flushes by IPI, which waits for GUP-fast: the commit's "As TLB
        // flush is done synchronously via IPI".
        variants: &[Variant {
            from: "mode = xen-pv",
            to: "mode = native-pae",
            safe: true,
        }],
    },
    Race {
        name: "khugepaged-gup-fast",
        // Hyper-V flushes by hypercall too; the native flush's IPI already waits.
        variants: &[
            Variant {
                from: "mode = xen-pv",
                to: "mode = hyperv",
                safe: false,
            },
            Variant {
                from: "mode = xen-pv",
                to: "mode = native-pae",
                safe: true,
            },
        ],
    },
    Race {
        name: "pae-pte-offset-map",
        // The torn read needs only the split read: Xen PV tears the same way.
        variants: &[Variant {
            from: "mode = native-pae",
            to: "mode = xen-pv",
            safe: false,
        }],
    },
    Race {
        name: "mremap-retract",
        variants: &[],
    },
    Race {
        name: "invlpgb-table-free",
        // Intel's RAR completes without the walker too; the IPI flush waits for it.
        variants: &[
            Variant {
                from: "flush = invlpgb",
                to: "flush = rar",
                safe: false,
            },
            Variant {
                from: "flush = invlpgb",
                to: "flush = ipi",
                safe: true,
            },
        ],
    },
    Race {
        name: "collapse-pt-reclaim",
        variants: &[],
    },
];

/// A file's history header: the `// key: value` lines after its description.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Header {
    /// The commit's id and title: `2ba99c5e0881 "mm/khugepaged: …"`.
    pub commit: String,
    pub author: String,
    pub date: String,
    pub kernels: String,
    /// One paragraph: the race and what the fix changes.
    pub story: String,
}

impl Header {
    /// The commit's short id.
    pub fn id(&self) -> &str {
        self.commit.split_whitespace().next().unwrap_or("")
    }
    /// The commit's title, without its quotes.
    pub fn title(&self) -> &str {
        let t = self.commit[self.id().len()..].trim();
        t.strip_prefix('"')
            .and_then(|t| t.split('"').next())
            .unwrap_or(t)
    }
}

/// Reads `src`'s header; an error names the first key missing.
pub fn header(src: &str) -> Result<Header, String> {
    let mut h = Header::default();
    let mut in_story = false;
    for line in src.lines().skip(2) {
        let Some(c) = line.strip_prefix("//") else {
            break;
        };
        let c = c.trim();
        if c.starts_with("Expected result") {
            break;
        }
        let (key, value) = c.split_once(':').unwrap_or(("", c));
        let field = match key {
            "commit" => Some(&mut h.commit),
            "author" => Some(&mut h.author),
            "date" => Some(&mut h.date),
            "kernels" => Some(&mut h.kernels),
            "story" => Some(&mut h.story),
            _ => None,
        };
        match field {
            Some(f) if !in_story || key == "story" => {
                in_story = key == "story";
                *f = value.trim().to_string();
            }
            _ if in_story => {
                h.story.push(' ');
                h.story.push_str(c);
            }
            _ => {}
        }
    }
    for (key, v) in [
        ("commit", &h.commit),
        ("author", &h.author),
        ("date", &h.date),
        ("kernels", &h.kernels),
        ("story", &h.story),
    ] {
        if v.is_empty() {
            return Err(format!("the history header has no '// {key}:' line"));
        }
    }
    Ok(h)
}

/// A suite file's text by name.
pub fn file(name: &str) -> Option<&'static str> {
    FILES.iter().find(|f| f.0 == name).map(|f| f.1)
}

/// `src` with the variant's setting changed; an error if the file does not write it.
pub fn variant_text(src: &str, v: &Variant) -> Result<String, String> {
    if !src.contains(v.from) {
        return Err(format!("the file does not set '{}'", v.from));
    }
    Ok(src.replacen(v.from, v.to, 1))
}

/// One checked file of the suite.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// The file, with the variant's setting if any (`khugepaged-gup-fast-before`,
    /// `… (mode = native-pae)`).
    pub case: String,
    /// What the file or the race's table expects: a hazard, or safe.
    pub expect_safe: bool,
    /// By name, as every JSON output prints a verdict (`bogus-table`).
    #[serde(serialize_with = "verdict_name")]
    pub verdict: Verdict,
    pub holds: bool,
    /// The knobs it ran with: mode, flush.
    pub knobs: String,
    pub states: u64,
    pub witness_steps: Option<usize>,
    /// The CPUs the witness moves (fewer than the file's when some stay idle).
    pub witness_cpus: Option<usize>,
    /// The witness's schedule string (`tornsim replay FILE SCHEDULE`).
    pub schedule: Option<String>,
}

fn verdict_name<S: serde::Serializer>(v: &Verdict, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(v.name())
}

/// One race's rows: the pre-fix file, its variants, the fix.
#[derive(Clone, Debug, Serialize)]
pub struct RaceReport {
    pub race: String,
    pub header: Header,
    pub rows: Vec<Row>,
}

impl RaceReport {
    /// Whether every row came out as expected.
    pub fn holds(&self) -> bool {
        self.rows.iter().all(|r| r.holds)
    }
}

/// Checks one case. A file checked as written must also bear out its own `exists`
/// clause; a variant is held to the race's table alone.
fn check_row(
    case: String,
    src: &str,
    expect_safe: bool,
    as_written: bool,
    opts: GCheckOptions,
) -> Result<Row, ScenarioError> {
    let p = Arc::new(compile(&parse(src)?)?);
    let r = check(&p, opts);
    let verdict = r.verdict;
    let expected = match verdict {
        Verdict::Safe => expect_safe,
        Verdict::Incomplete => false,
        _ => !expect_safe,
    };
    let holds = expected && (!as_written || r.claim(&p) == Some(true));
    let knobs = p
        .knobs()
        .iter()
        .filter(|(k, _)| matches!(*k, "mode" | "flush"))
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ");
    let witness_cpus = r.witness.as_ref().map(|w| {
        let mut cpus: Vec<u8> = w.iter().map(|c| c.cpu).collect();
        cpus.sort_unstable();
        cpus.dedup();
        cpus.len()
    });
    Ok(Row {
        case,
        expect_safe,
        verdict,
        holds,
        knobs,
        states: r.states,
        witness_steps: r.witness.as_ref().map(Vec::len),
        witness_cpus,
        schedule: r.witness.as_ref().map(|w| encode(&p, w)),
    })
}

/// Checks one race: its pre-fix file, each variant, its fix.
pub fn check_race(race: &Race, opts: GCheckOptions) -> Result<RaceReport, String> {
    let before_name = format!("{}-before", race.name);
    let fix_name = format!("{}-fix", race.name);
    let before = file(&before_name).ok_or_else(|| format!("no file {before_name}"))?;
    let fix = file(&fix_name).ok_or_else(|| format!("no file {fix_name}"))?;
    let header = header(before).map_err(|e| format!("{before_name}: {e}"))?;
    let err = |name: &str, src: &str| {
        let name = name.to_string();
        let src = src.to_string();
        move |e: ScenarioError| e.render(&src, &name)
    };
    let mut rows = vec![check_row(before_name.clone(), before, false, true, opts)
        .map_err(err(&before_name, before))?];
    for v in race.variants {
        let text = variant_text(before, v).map_err(|e| format!("{before_name}: {e}"))?;
        let case = format!("{before_name} ({})", v.to);
        rows.push(check_row(case.clone(), &text, v.safe, false, opts).map_err(err(&case, &text))?);
    }
    rows.push(check_row(fix_name.clone(), fix, true, true, opts).map_err(err(&fix_name, fix))?);
    Ok(RaceReport {
        race: race.name.to_string(),
        header,
        rows,
    })
}

/// Checks the whole suite.
pub fn check_suite(opts: GCheckOptions) -> Result<Vec<RaceReport>, String> {
    RACES.iter().map(|r| check_race(r, opts)).collect()
}
