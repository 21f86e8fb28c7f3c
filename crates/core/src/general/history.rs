//! The kernel history suite: Linux's fixed races between lockless page-table walkers and
//! page-table changes, each a pair of files in `scenarios/history/` (`NAME-before`, the
//! order the commit fixed, and `NAME-fix`, the order it made), with the commit in the
//! files' header. [`RACES`] says which variants of a file the suite also checks: the
//! modes and flushes in which the commit says the old order was already safe, or
//! equally broken. [`check_suite`] answers them all; `tornsim history` prints it.

use super::argument::argument;
use super::compile::compile;
use super::explore::encode;
use super::ir::GProgram;
use super::lang::parse;
use super::machine::{GChoice, GMachine};
use super::search::{check, GCheckOptions};
use crate::hazard::Verdict;
use crate::scenario::syntax::ScenarioError;
use serde::Serialize;
use std::sync::Arc;

/// The suite's files, by name.
pub const FILES: &[(&str, &str)] = files_in!("history":
    "collapse-pt-reclaim-before",
    "collapse-pt-reclaim-fix",
    "gup-thp-collapse-before",
    "gup-thp-collapse-fix",
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

/// A Xen PV race of a walker against a flush that does not wait for it: Hyper-V's
/// hypercall waits no more than Xen's, and the native flush's IPI waits for the walker's
/// interrupts-off section, so the old order is safe there.
const HYPERCALL_FLUSH: &[Variant] = &[
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
];

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
        name: "gup-thp-collapse",
        // "On architectures that send an IPI broadcast on TLB flush, it works as
        // expected": the pin is in place before the pinned check.
        variants: HYPERCALL_FLUSH,
    },
    Race {
        name: "khugepaged-gup-fast",
        variants: HYPERCALL_FLUSH,
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
    /// The pre-fix file's: how many events the commit's own interleaving has (its
    /// diagram, or the order its prose gives), and which: `11 events, the commit's
    /// diagram`. The witness is that, plus the steps the model spells out (locks,
    /// interrupts, the loads of a split read, the checks).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub interleaving: String,
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
    /// The number of events in the commit's interleaving, if the header gives it.
    pub fn events(&self) -> Option<usize> {
        self.interleaving.split_whitespace().next()?.parse().ok()
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
            "interleaving" => Some(&mut h.interleaving),
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

/// One race as a gallery lists it: its commit (the pre-fix file's header) and its two
/// files.
#[derive(Clone, Debug, PartialEq)]
pub struct Pair {
    pub race: &'static str,
    pub header: Header,
    pub before: &'static str,
    pub fix: &'static str,
}

/// Every race's pair, oldest story first (a race whose files are missing or whose
/// header does not read is left out; the suite's tests refuse both).
pub fn pairs() -> Vec<Pair> {
    RACES
        .iter()
        .filter_map(|r| {
            let before = file(&format!("{}-before", r.name))?;
            let fix = file(&format!("{}-fix", r.name))?;
            Some(Pair {
                race: r.name,
                header: header(before).ok()?,
                before,
                fix,
            })
        })
        .collect()
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
    /// The witness's steps by kind, to set beside the commit's interleaving.
    pub breakdown: Option<Breakdown>,
}

/// A witness's steps by kind: the race's events (loads, stores, flushes, frees,
/// counts, checks of shared state), and the steps the model spells out beside them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Breakdown {
    pub events: usize,
    /// By kind (`locks`, `interrupts`, …), in the order first met.
    pub spelled_out: Vec<(&'static str, usize)>,
}

impl Breakdown {
    /// `11 events + 17 spelled out (locks 8, interrupts 2, …)`.
    pub fn text(&self) -> String {
        let n: usize = self.spelled_out.iter().map(|k| k.1).sum();
        let kinds: Vec<String> = self
            .spelled_out
            .iter()
            .map(|(k, c)| format!("{k} {c}"))
            .collect();
        format!(
            "{} events + {n} spelled out ({})",
            self.events,
            kinds.join(", ")
        )
    }
}

/// Sorts the steps of witness `w` of `p` by [`GOp::spelled_out`](super::ir::GOp::spelled_out).
pub fn breakdown(p: &Arc<GProgram>, w: &[GChoice]) -> Breakdown {
    let mut m = GMachine::new(p.clone(), false);
    let mut b = Breakdown::default();
    for &ch in w {
        if !m.is_enabled(ch) {
            break;
        }
        let kind = if ch.ack {
            Some("IPI answers")
        } else if ch.drain {
            Some("store-buffer drains")
        } else {
            m.op(ch.cpu).spelled_out()
        };
        match kind {
            None => b.events += 1,
            Some(k) => match b.spelled_out.iter_mut().find(|e| e.0 == k) {
                Some(e) => e.1 += 1,
                None => b.spelled_out.push((k, 1)),
            },
        }
        m.step(ch);
    }
    b
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
        schedule: r.witness.as_ref().map(|w| encode(&r.program(&p), w)),
        breakdown: r.witness.as_ref().map(|w| breakdown(&r.program(&p), w)),
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

/// The book's chapter "Real kernel bugs, found again" (docs/src/history.md), from the
/// suite's reports: the table, then one section per race with its commit, its story,
/// the commit's interleaving beside the witness's, a live scene of the witness, the
/// two files side by side and the fix's proof. `tornsim history --markdown` prints it;
/// a test keeps the book's copy equal to it.
pub fn markdown(reports: &[RaceReport]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    s.push_str("# Real kernel bugs, found again\n\n");
    s.push_str(
        "Linux has fixed a series of races between lockless page-table walkers (GUP-fast,\n\
         `__pte_offset_map()`) and the code that clears, moves and frees page tables and\n\
         pages. Each commit below tells its race in its message. The history suite holds\n\
         each race as a pair of files in `scenarios/history/`: `NAME-before.litmus`, the\n\
         order the commit fixed, and `NAME-fix.litmus`, the order it left. Before the fix,\n\
         the exhaustive check finds the hazard the commit describes, with the shortest\n\
         interleaving that reaches it. After it, the check finds none. `tornsim history`\n\
         checks every pair and the variants each commit speaks of (the modes where the old\n\
         order was already safe, or broken the same way); a verdict that differs from its\n\
         commit's is an error (exit status 1).\n\n\
         Each witness is the commit's interleaving plus the steps the model spells out\n\
         beside it: lock and unlock steps, interrupts off and on, the first loads of a\n\
         split read (a PAE entry is read in three loads; the last is the read), and local\n\
         steps (a test of a value already read, `pte_offset_map()`'s address arithmetic).\n\
         The table counts both.\n\n",
    );
    s.push_str("| race | commit | before the fix | also checked | the fix | witness | the commit's interleaving |\n");
    s.push_str("|---|---|---|---|---|---|---|\n");
    for r in reports {
        let h = &r.header;
        let before = &r.rows[0];
        let fix = r.rows.last().unwrap_or(before);
        let variants: Vec<String> = r.rows[1..r.rows.len().saturating_sub(1)]
            .iter()
            .map(|v| format!("{}: {}", v.knobs, v.verdict.name()))
            .collect();
        let witness = before.breakdown.as_ref().map_or(String::new(), |b| {
            format!("{} steps: {}", before.witness_steps.unwrap_or(0), b.text())
        });
        let _ = writeln!(
            s,
            "| [`{}`](#{}) | {} ({}, {}) | {} ({}) | {} | {} | {} | {} |",
            r.race,
            r.race,
            h.id(),
            h.author,
            h.date,
            before.verdict.name(),
            before.knobs,
            variants.join("; "),
            fix.verdict.name(),
            witness,
            h.events().map_or(String::new(), |n| format!("{n} events")),
        );
    }
    for r in reports {
        let h = &r.header;
        let before = &r.rows[0];
        let fix = r.rows.last().unwrap_or(before);
        let _ = writeln!(s, "\n## {}\n", r.race);
        let _ = writeln!(
            s,
            "**{} \"{}\"** ({}, {}). {}\n",
            h.id(),
            h.title(),
            h.author,
            h.date,
            sentence(&h.kernels)
        );
        let _ = writeln!(s, "{}\n", h.story);
        if let Some((head, events)) = h.interleaving.split_once(": ") {
            let _ = writeln!(s, "The commit's interleaving, {head}:\n");
            for (i, e) in events.split("; ").enumerate() {
                let _ = writeln!(s, "{}. {}", i + 1, e.trim_end_matches('.'));
            }
            s.push('\n');
        }
        if let (Some(n), Some(b)) = (before.witness_steps, &before.breakdown) {
            let _ = writeln!(
                s,
                "tornsim's witness, {} under {}: {n} steps on {} CPUs, {}. The scene below\n\
                 shows it as CPU columns; step through it with \"Step through the witness\".\n",
                before.verdict.name(),
                before.knobs,
                before.witness_cpus.unwrap_or(0),
                b.text()
            );
        }
        let _ = writeln!(
            s,
            "<div data-tornsim=\"file={}-before&amp;controls=locked\"></div>\n",
            r.race
        );
        let _ = writeln!(
            s,
            "The two files, before the fix and after it:\n\n<div class=\"pair\">\n\n\
             ```c\n{{{{#include ../../scenarios/history/{0}-before.litmus}}}}\n```\n\n\
             ```c\n{{{{#include ../../scenarios/history/{0}-fix.litmus}}}}\n```\n\n</div>\n",
            r.race
        );
        let _ = write!(
            s,
            "The fix: {}, every interleaving explored ({} states). ",
            fix.verdict.name(),
            fix.states
        );
        match file(&format!("{}-fix", r.race))
            .and_then(|src| compile(&parse(src).ok()?).ok())
            .map(|p| argument(&p))
        {
            Some(a) if a.applies() => {
                let _ = writeln!(
                    s,
                    "For any number of walkers the cutoff argument applies, so the checks \
                     at 1..={} walkers decide every count: safe at each.",
                    a.cutoff
                );
            }
            Some(a) => {
                let broken: Vec<String> = a
                    .conditions
                    .iter()
                    .filter_map(|c| {
                        c.broken_at
                            .as_ref()
                            .map(|b| format!("{} ({})", c.id, b.why))
                    })
                    .collect();
                let _ = writeln!(
                    s,
                    "For more walkers the cutoff argument does not apply ({}), so the suite's \
                     tests check 1, 2 and 3 walkers: safe at each.",
                    broken.join("; ")
                );
            }
            None => s.push('\n'),
        }
        let _ = writeln!(
            s,
            "`tornsim check scenarios/history/{}-fix.litmus --readers any` says the same.",
            r.race
        );
    }
    s
}

/// `text` as a sentence: capitalised, with a full stop.
fn sentence(text: &str) -> String {
    let mut c = text.chars();
    let first = c
        .next()
        .map(|f| f.to_uppercase().collect::<String>())
        .unwrap_or_default();
    let rest: String = c.collect();
    let end = if rest.ends_with('.') { "" } else { "." };
    format!("{first}{rest}{end}")
}
