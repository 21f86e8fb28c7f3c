//! The primitives a scenario file may call, in one table: each row names the kernel
//! function it models, how a call is written, how the general compiler lowers it, and,
//! for the calls a classic file may make, which blocks may call it and the atomic steps
//! it compiles to in each mode, and where to read it in a Linux tree. Both compilers,
//! the machine's footprints, the checker's partial-order reduction, the editor's
//! highlighting and completion, `tornsim primitives`, the docs and the web page's help
//! all read this table, so a primitive is added in one place.
//!
//! A classic row compiles to zero or more [`Op`]s: one op is one atomic step of
//! MODEL.md. Each op declares the shared state it reads and writes ([`Op::footprint`]);
//! the checker derives which steps commute from those footprints alone
//! ([`Footprint::reduction`]).
//!
//! The module's files: `table` (the rows), `op` (the classic steps and their
//! footprints), and `general` (the general language's argument kinds, how a row is
//! lowered, and the kernel paths a block may name).

pub mod general;
mod op;
mod table;

pub use op::*;
pub use table::{Classic, Prim, PRIMS};

use crate::knob::Mode;

/// The row for `name`.
pub fn lookup(name: &str) -> Option<&'static Prim> {
    PRIMS.iter().find(|p| p.name == name)
}

/// The row for `name` if a classic file may call it, with its classic steps.
pub fn classic(name: &str) -> Option<(&'static Prim, &'static Classic)> {
    lookup(name).and_then(|p| Some((p, p.classic.as_ref()?)))
}

/// The row's place in [`PRIMS`] (what a general instruction records of where it came
/// from).
pub fn index(row: &Prim) -> u16 {
    PRIMS.iter().position(|p| std::ptr::eq(p, row)).unwrap_or(0) as u16
}

/// The known name nearest to `name` (edit distance), for "did you mean".
pub fn nearest(name: &str) -> Option<&'static str> {
    let score = |p: &Prim| {
        let d = edit_distance(name, p.name);
        // A name that contains what was typed (or the reverse) is a good guess too.
        if p.name.contains(name) || name.contains(p.name) {
            d.min(2)
        } else {
            d
        }
    };
    PRIMS
        .iter()
        .map(|p| (score(p), p.name))
        .min()
        .filter(|&(d, n)| d <= n.len().max(name.len()) / 2 + 1)
        .map(|(_, n)| n)
}

/// Levenshtein distance over bytes.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let sub = prev[j - 1] + (a[i - 1] != b[j - 1]) as usize;
            cur[j] = sub.min(prev[j] + 1).min(cur[j - 1] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// A classic row's steps under xen-pv, and under non-pae where they differ, each with
/// the shared state it reads / writes.
pub fn classic_steps(c: &Classic) -> String {
    let cfgs = [
        Lowering {
            mode: Mode::XenPv,
            ..Lowering::default()
        },
        Lowering {
            mode: Mode::NonPae,
            ..Lowering::default()
        },
    ];
    let mut steps: Vec<String> = Vec::new();
    for cfg in &cfgs {
        let ops = (c.ops)(cfg);
        let text = if ops.is_empty() {
            "(no step)".to_string()
        } else {
            ops.iter()
                .map(|o| {
                    let f = o.footprint();
                    format!(
                        "{} ({} / {})",
                        o.name(),
                        var::names(f.reads),
                        var::names(f.writes)
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !steps.contains(&text) {
            steps.push(text);
        }
    }
    steps.join("; non-pae: ")
}

/// The table as Markdown: what `tornsim primitives --markdown` prints and the docs hold.
/// Every row first, then the classic rows' steps, then the kernel paths.
pub fn markdown() -> String {
    let mut s = String::from("| call | what it does | kernel |\n|---|---|---|\n");
    for p in PRIMS {
        s.push_str(&format!(
            "| `{}` | {} | `{}` in {} |\n",
            p.usage(),
            p.help,
            p.kernel,
            p.file
        ));
    }
    s.push_str(
        "\n## In a classic file\n\nThe calls a classic file may make, in their classic form (the PMD, \
         the PTL and the read in progress are implied; only the shared-word calls take \
         arguments), with who may make them and the steps each compiles to on the classic \
         machine.\n\n\
         | call | who | steps (reads / writes) | per mode | under `memory = tso` |\n\
         |---|---|---|---|---|\n",
    );
    for p in PRIMS {
        let Some(c) = &p.classic else { continue };
        s.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            p.classic_use().call_text(p.name),
            role::names(c.roles),
            classic_steps(c),
            c.modes,
            c.tso
        ));
    }
    s.push_str(
        "\n## Kernel paths\n\n| block | walker | in mm_cpumask | what it is |\n|---|---|---|---|\n",
    );
    for a in general::ACTORS {
        s.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            a.name,
            if a.walker { "yes" } else { "no" },
            match a.in_mm {
                Some(true) => "yes",
                Some(false) => "no",
                None => "as `reader` says",
            },
            a.help
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn op_all_is_indexed_by_value() {
        for (i, op) in Op::ALL.iter().enumerate() {
            assert_eq!(*op as usize, i);
        }
    }

    #[test]
    fn names_are_unique_and_suggestions_find_typos() {
        let mut names: Vec<_> = PRIMS.iter().map(|p| p.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), PRIMS.len());
        assert_eq!(
            nearest("pmdp_get_lockless_synk"),
            Some("pmdp_get_lockless_sync")
        );
        assert_eq!(nearest("spin_unlok"), Some("spin_unlock"));
        assert_eq!(nearest("pmd_lck"), Some("pmd_lock"));
        assert_eq!(nearest("zzzzzzzzzzzzzzzzzzzz"), None);
    }

    #[test]
    fn a_classic_call_is_bare_but_for_the_shared_words() {
        let classic: Vec<_> = PRIMS.iter().filter(|p| p.classic.is_some()).collect();
        assert_eq!((PRIMS.len(), classic.len()), (66, 32));
        for p in &classic {
            let words = matches!(p.name, "WRITE_ONCE" | "READ_ONCE" | "xchg");
            assert_eq!(p.bare(), !words, "{}", p.name);
        }
        let uses: Vec<_> = ["WRITE_ONCE", "READ_ONCE", "xchg", "pmd_none", "pmd_lock"]
            .map(|n| lookup(n).unwrap().classic_use())
            .into();
        assert_eq!(
            uses,
            [
                Use::Write,
                Use::Read,
                Use::Exchange,
                Use::Condition,
                Use::Call
            ]
        );
        // A general-only row has no classic form, and is not bare.
        let g = lookup("pte_lockptr").unwrap();
        assert!(g.classic.is_none() && !g.bare());
        assert_eq!(index(lookup("pmd_lock").unwrap()), 0);
        assert_eq!(index(g), 1);
    }

    #[test]
    fn reductions_follow_footprints() {
        use Op::*;
        for op in Op::ALL {
            let want = match op {
                // The checker reduces only readers' steps; pmd_none() is the fault's.
                LoadLow | LoadHigh | CheckNone => Reduction::PmdFinal,
                IrqOff | IrqOn => Reduction::WritersDone,
                _ => Reduction::Never,
            };
            assert_eq!(op.footprint().reduction(), want, "{op:?}");
        }
    }

    #[test]
    fn sync_is_a_no_op_where_model_md_says() {
        let p = classic("pmdp_get_lockless_sync").unwrap().1;
        let native_off = Config {
            paravirt: false,
            ..Config::default()
        }
        .lowering();
        let non_pae = Config {
            mode: Mode::NonPae,
            ..Config::default()
        }
        .lowering();
        assert!((p.ops)(&native_off).is_empty());
        assert!((p.ops)(&non_pae).is_empty());
        assert_eq!((p.ops)(&Config::default().lowering()), vec![Op::Sync]);
        let always = classic("tlb_remove_table_sync_one").unwrap().1;
        assert_eq!((always.ops)(&non_pae), vec![Op::Sync]);
    }
}
