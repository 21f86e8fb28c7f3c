//! The primitives a scenario file may call, in one table: each row names the kernel
//! function it models, which actors may call it, the atomic steps it compiles to in each
//! mode, and where to read it in a Linux tree. The scenario parser, the compiler, the
//! machine's footprints, the checker's partial-order reduction, `tornsim primitives`, the
//! docs and the web page's help all read this table, so a primitive is added in one place.
//!
//! A primitive compiles to zero or more [`Op`]s: one op is one atomic step of MODEL.md.
//! Each op declares the shared state it reads and writes ([`Op::footprint`]); the checker
//! derives which steps commute from those footprints alone ([`Footprint::reduction`]).

//!
//! The module's files: `op` (the steps and their footprints), `table` (the rows), and
//! `general` (the general machine's rows and kernel paths: `crate::general` lowers
//! them, and every classic name has a row there too).

pub mod general;
mod op;
mod table;

pub use op::*;
pub use table::PRIMS;

use crate::knob::Mode;

/// The row for `name`.
pub fn lookup(name: &str) -> Option<&'static Prim> {
    PRIMS.iter().find(|p| p.name == name)
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

/// The table as Markdown: what `tornsim primitives --markdown` prints and the docs hold.
pub fn markdown() -> String {
    let mut s = String::from(
        "| primitive | who | steps (reads / writes) | per mode | under `memory = tso` | kernel |\n|---|---|---|---|---|---|\n",
    );
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
    for p in PRIMS {
        let mut steps: Vec<String> = Vec::new();
        for c in &cfgs {
            let ops = (p.ops)(c);
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
        let call = format!("`{}`", p.usage.call_text(p.name));
        s.push_str(&format!(
            "| {call} {} | {} | {} | {} | {} | `{}` in {} |\n",
            p.help,
            role::names(p.roles),
            steps.join("; non-pae: "),
            p.modes,
            p.tso,
            p.kernel,
            p.file
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
        let p = lookup("pmdp_get_lockless_sync").unwrap();
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
        let always = lookup("tlb_remove_table_sync_one").unwrap();
        assert_eq!((always.ops)(&non_pae), vec![Op::Sync]);
    }
}
