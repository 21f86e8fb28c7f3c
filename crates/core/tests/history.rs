//! The kernel history suite (`scenarios/history/`): each race's pre-fix order reaches
//! the hazard its commit describes, in the modes the commit names, and its fix is
//! proved safe, for every walker count where the cutoff argument applies.

use tornsim_core::general::{self, argument, history, GCheckOptions};
use tornsim_core::hazard::Verdict;

/// Every race, every row: the verdict the commit gives, and every pre-fix witness
/// replays to its hazard.
#[test]
fn every_race_tears_before_its_fix_and_is_safe_after() {
    let suite = history::check_suite(GCheckOptions::default()).unwrap();
    assert_eq!(suite.len(), history::RACES.len());
    for race in &suite {
        for row in &race.rows {
            eprintln!(
                "{}: {} ({} states, witness {:?} steps on {:?} CPUs)",
                row.case, row.verdict, row.states, row.witness_steps, row.witness_cpus
            );
            assert!(row.holds, "{}: {row:?}", race.race);
            assert_eq!(row.expect_safe, row.verdict == Verdict::Safe, "{row:?}");
        }
        assert!(race.holds());
        // The pre-fix file first (a hazard), the fix last (safe).
        assert!(!race.rows[0].expect_safe && race.rows.last().unwrap().expect_safe);
        let before = history::file(&format!("{}-before", race.race)).unwrap();
        let p = general::load(before).unwrap();
        let row = &race.rows[0];
        let w = general::decode(&p, row.schedule.as_ref().expect("a pre-fix witness")).unwrap();
        assert_eq!(Some(w.len()), row.witness_steps);
        // The witness is the commit's interleaving and the steps the model spells out
        // beside it (locks, interrupts, the first loads of a split read, tests of a
        // value already read): its events are the commit's, give or take the PMD
        // reads a commit's prose leaves implicit.
        let events = race.header.events().unwrap();
        let b = row.breakdown.as_ref().unwrap();
        let spelled: usize = b.spelled_out.iter().map(|k| k.1).sum();
        assert_eq!(b.events + spelled, w.len());
        assert!(
            b.events <= events + 2,
            "{}: {}, the commit {events}",
            race.race,
            b.text()
        );
        let t = general::replay(&p, &w).unwrap();
        assert_eq!(
            t.steps.last().and_then(|s| s.hazard).map(|h| h.name()),
            Some(row.verdict.name()),
            "{}: the witness ends at its hazard",
            race.race
        );
    }
}

/// Yang Shi's diagram has eleven events; the witness has the same eleven, and spells
/// out its locks, interrupts, split-read loads and local steps beside them.
#[test]
fn the_gup_collapse_witness_is_the_commits_diagram_and_the_steps_the_model_spells_out() {
    let race = history::RACES
        .iter()
        .find(|r| r.name == "gup-thp-collapse")
        .unwrap();
    let r = history::check_race(race, GCheckOptions::default()).unwrap();
    let b = r.rows[0].breakdown.clone().unwrap();
    assert_eq!(
        b.text(),
        "11 events + 17 spelled out (locks 8, interrupts 2, split-read loads 4, local 3)"
    );
    assert_eq!(r.header.events(), Some(11));
    assert_eq!(
        r.rows.last().unwrap().breakdown,
        None,
        "the fix has no witness"
    );
}

/// Every fix holds for any number of walkers: proved where the cutoff argument applies,
/// else checked up to 3 walkers with the reason it does not apply.
#[test]
fn every_fix_is_safe_for_any_number_of_walkers() {
    for race in history::RACES {
        let p = general::load(history::file(&format!("{}-fix", race.name)).unwrap()).unwrap();
        if argument::walker_blocks(&p) == 0 {
            continue;
        }
        let a = argument::check_any(&p, GCheckOptions::default(), 3).unwrap();
        assert_eq!(a.verdict, Verdict::Safe, "{}: {}", race.name, a.sentence());
        assert_eq!(a.proved, a.argument.applies(), "{}", race.name);
        eprintln!("{}: {}", race.name, a.sentence());
    }
}

/// Each pair cites one commit, with every field of the header, and the suite lists
/// every race of its directory.
#[test]
fn every_pair_carries_its_commit() {
    let mut stems: Vec<String> = history::FILES
        .iter()
        .map(|(n, _)| {
            n.trim_end_matches("-before")
                .trim_end_matches("-fix")
                .to_string()
        })
        .collect();
    stems.dedup();
    let mut races: Vec<&str> = history::RACES.iter().map(|r| r.name).collect();
    races.sort_unstable();
    assert_eq!(stems, races, "one race a pair of files");
    for race in history::RACES {
        let before =
            history::header(history::file(&format!("{}-before", race.name)).unwrap()).unwrap();
        let fix = history::header(history::file(&format!("{}-fix", race.name)).unwrap()).unwrap();
        assert_eq!(before.commit, fix.commit, "{}", race.name);
        assert!(
            before.id().len() == 12 && before.id().bytes().all(|b| b.is_ascii_hexdigit()),
            "{}: {}",
            race.name,
            before.id()
        );
        assert!(!before.title().is_empty() && !before.title().contains('"'));
        assert!(before.story.len() > 80, "{}: one paragraph", race.name);
        // The commit's interleaving, to measure the witness against.
        assert!(before.events().is_some_and(|n| n >= 4), "{}", race.name);
        let (_, events) = before.interleaving.split_once(": ").unwrap();
        assert_eq!(
            Some(events.split("; ").count()),
            before.events(),
            "{}: one item an event",
            race.name
        );
        assert_ne!(
            before.story, fix.story,
            "{}: the fix says what it changed",
            race.name
        );
    }
    // The gallery's list is the suite, in its order, each with its files.
    let pairs = history::pairs();
    let names: Vec<&str> = pairs.iter().map(|p| p.race).collect();
    let order: Vec<&str> = history::RACES.iter().map(|r| r.name).collect();
    assert_eq!(names, order);
    for p in &pairs {
        assert_eq!(Some(p.before), history::file(&format!("{}-before", p.race)));
        assert_eq!(Some(p.fix), history::file(&format!("{}-fix", p.race)));
        assert_eq!(Ok(&p.header), history::header(p.before).as_ref());
    }
}

#[test]
fn a_header_without_a_field_and_a_variant_of_a_setting_the_file_lacks_are_errors() {
    let src = "tornsim t\n\"d\"\n// commit: 0123456789ab \"t\"\n// author: a\n// date: d\n// story: s\n{ }\n";
    assert_eq!(
        history::header(src),
        Err("the history header has no '// kernels:' line".into())
    );
    let full = src.replace("// story", "// kernels: k\n// story");
    let h = history::header(&full).unwrap();
    assert_eq!(
        (h.id(), h.title(), h.story.as_str()),
        ("0123456789ab", "t", "s")
    );
    // The story runs to the end of the header: a line in it that reads like a field is
    // the story's; a comment before it that names no field is nobody's.
    let long = full
        .replace("// author: a", "// author: a\n// note: not a field")
        .replace("// story: s", "// story: s\n// date: in the story\n// more");
    let h = history::header(&long).unwrap();
    assert_eq!(h.story, "s date: in the story more");
    assert_eq!((h.date.as_str(), h.author.as_str()), ("d", "a"));
    let no_story = full.replace("// story: s", "// no story here");
    assert_eq!(
        history::header(&no_story),
        Err("the history header has no '// story:' line".into())
    );
    let v = history::Variant {
        from: "mode = xen-pv",
        to: "mode = native-pae",
        safe: true,
    };
    assert_eq!(
        history::variant_text("{ mode = native-64; }", &v),
        Err("the file does not set 'mode = xen-pv'".into())
    );
    assert_eq!(
        history::variant_text("{ mode = xen-pv; }", &v).unwrap(),
        "{ mode = native-pae; }"
    );
}

/// The book's chapter on the suite is generated from it: `tornsim history --markdown`.
#[test]
fn the_books_history_chapter_is_generated_from_the_suite() {
    let doc = include_str!("../../../docs/src/history.md");
    let body = doc
        .split_once("-->\n\n")
        .map(|(_, b)| b)
        .expect("the generated-file header");
    let suite = history::check_suite(GCheckOptions::default()).unwrap();
    assert_eq!(
        body,
        history::markdown(&suite),
        "docs/src/history.md is stale: run `tornsim history --markdown` into it (below the header)"
    );
    // A scene and both files for every race.
    for race in history::RACES {
        for want in [
            format!("file={}-before&amp;", race.name),
            format!(
                "{{{{#include ../../scenarios/history/{}-fix.litmus}}}}",
                race.name
            ),
        ] {
            assert!(body.contains(&want), "{want}");
        }
    }
}

/// A check that runs out of budget decides nothing: no row holds, the variants' neither
/// (they have no claim of their own to fall back on), and the race does not hold.
#[test]
fn a_check_cut_short_holds_no_row() {
    let race = history::RACES
        .iter()
        .find(|r| r.name == "khugepaged-gup-fast")
        .unwrap();
    let tiny = GCheckOptions {
        max_states: 10,
        ..GCheckOptions::default()
    };
    let r = history::check_race(race, tiny).unwrap();
    assert_eq!(r.rows.len(), 4, "the file, two variants, the fix");
    for row in &r.rows {
        assert_eq!(row.verdict, Verdict::Incomplete, "{}", row.case);
        assert!(!row.holds, "{}", row.case);
    }
    assert!(!r.holds());
    let full = history::check_race(race, GCheckOptions::default()).unwrap();
    assert!(full.holds());
}
