//! The stable smoke of the fuzz targets in `fuzz/`: every string a user can hand the
//! core (scenario files, share fragments with packed scenarios and traces, schedule
//! strings), as mutations of valid ones and as noise. Refused with a message or
//! accepted, never a panic; what is accepted writes back to the same thing. Runs in
//! seconds in `cargo test`; `.ci/fuzz` is the long version.

use proptest::prelude::*;
use tornsim_core::{program, scenario, Schedule, Share};

/// One edit of a text: delete, insert or replace a few characters anywhere (by char, so
/// multi-byte text stays valid UTF-8).
#[derive(Clone, Debug)]
enum Edit {
    Delete(usize, usize),
    Insert(usize, String),
    Replace(usize, String),
    Swap(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let piece = prop_oneof![
        Just("{".to_string()),
        Just("}".to_string()),
        Just("(".to_string()),
        Just(";".to_string()),
        Just("/*".to_string()),
        Just("\"".to_string()),
        Just("é∀".to_string()),
        Just("pmd_lock();".to_string()),
        Just("spin_unlock();".to_string()),
        Just("if (pmd_none())".to_string()),
        Just("P7(walker) {".to_string()),
        Just("exists (deadlock)".to_string()),
        "[ -~]{0,6}",
    ];
    prop_oneof![
        (any::<usize>(), 1usize..40).prop_map(|(a, n)| Edit::Delete(a, n)),
        (any::<usize>(), piece.clone()).prop_map(|(a, s)| Edit::Insert(a, s)),
        (any::<usize>(), piece).prop_map(|(a, s)| Edit::Replace(a, s)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Swap(a, b)),
    ]
}

fn apply(src: &str, edits: &[Edit]) -> String {
    let mut c: Vec<char> = src.chars().collect();
    for e in edits {
        let n = c.len().max(1);
        match e {
            Edit::Delete(a, k) => {
                let a = a % n;
                let b = (a + k).min(c.len());
                if a < b {
                    c.drain(a..b);
                }
            }
            Edit::Insert(a, s) => {
                let a = a % (c.len() + 1);
                for (i, ch) in s.chars().enumerate() {
                    c.insert(a + i, ch);
                }
            }
            Edit::Replace(a, s) => {
                let a = a % n;
                let b = (a + s.chars().count()).min(c.len());
                c.splice(a..b, s.chars());
            }
            Edit::Swap(a, b) => {
                // Swap two lines: the reviewer's move.
                let text: String = c.iter().collect();
                let mut lines: Vec<&str> = text.lines().collect();
                if !lines.is_empty() {
                    let (a, b) = (a % lines.len(), b % lines.len());
                    lines.swap(a, b);
                }
                c = lines.join("\n").chars().collect();
            }
        }
    }
    c.into_iter().collect()
}

fn builtin() -> impl Strategy<Value = &'static str> {
    prop::sample::select(program::BUILTIN.iter().map(|(_, s)| *s).collect::<Vec<_>>())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn edited_scenarios_parse_or_point_inside_the_text(src in builtin(), edits in prop::collection::vec(edit(), 1..4)) {
        let text = apply(src, &edits);
        match program::load_checked(&text) {
            Ok((_, cfg)) => {
                // Accepted: its print parses to the same program, and a bounded check ends.
                let again = program::print(program::of_config(&cfg), &cfg);
                let (_, cfg2) = program::load(&again).expect("a printed file parses");
                prop_assert_eq!(
                    scenario::program_hash(program::of_config(&cfg2)),
                    scenario::program_hash(program::of_config(&cfg))
                );
                let opts = tornsim_core::CheckOptions { max_states: 5_000, ..Default::default() };
                let _ = tornsim_core::check(&cfg, opts);
            }
            Err(e) => {
                prop_assert!(e.span.start <= text.len() && e.span.line >= 1, "{:?}", e);
                prop_assert!(e.span.line as usize <= text.lines().count().max(1) + 1, "{:?}", e);
                let shown = e.render(&text, "t.litmus");
                prop_assert!(shown.starts_with("t.litmus:"));
            }
        }
    }

    /// What the page's editor does with every keystroke: highlight the text, look up the
    /// word under the caret, offer completions, move lines. Never a panic, spans inside
    /// the text on character boundaries, and a line move keeps every line.
    #[test]
    fn the_editor_s_helpers_take_any_text_and_offset(src in builtin(), edits in prop::collection::vec(edit(), 0..4), at in any::<usize>(), to in any::<usize>(), up in any::<bool>()) {
        let text = apply(src, &edits);
        let spans = scenario::highlight::highlight(&text);
        for w in spans.windows(2) {
            prop_assert!(w[0].0.end <= w[1].0.start);
        }
        for (r, _) in &spans {
            prop_assert!(text.get(r.clone()).is_some(), "{:?}", r);
        }
        let at = at % (text.len() + 1);
        let (a, b) = scenario::highlight::word_at(&text, at);
        prop_assert!(a <= b && b <= text.len());
        let _ = scenario::highlight::primitive_at(&text, at);
        let _ = scenario::highlight::complete(&text[a..b]);
        let to = to % (text.len() + 1);
        if text.is_char_boundary(at) && text.is_char_boundary(to) {
            if let Some((moved, s, f)) = scenario::move_selected_lines(&text, at, to, up) {
                let mut l1: Vec<&str> = text.split('\n').collect();
                let mut l2: Vec<&str> = moved.split('\n').collect();
                l1.sort_unstable();
                l2.sort_unstable();
                prop_assert_eq!(l1, l2);
                prop_assert!(s <= f && f <= moved.len());
            }
        }
    }

    #[test]
    fn noise_never_panics_any_parser(s in "\\PC{0,200}") {
        let _ = program::load_checked(&s);
        let _ = Schedule::decode(&s);
        let _ = scenario::unpack(&s);
        if let Ok((share, _)) = Share::from_query(&s, &["embed", "controls"]) {
            let q = share.to_query();
            prop_assert_eq!(Share::from_query(&q, &[]).unwrap().0, share);
        }
    }

    #[test]
    fn edited_links_are_refused_or_read_back(src in builtin(), edits in prop::collection::vec(edit(), 0..3), cut in any::<usize>()) {
        let (_, cfg) = program::load(src).unwrap();
        let link = Share { config: cfg, ..Share::default() }.to_query();
        let bad = apply(&link, &edits);
        let bad = &bad[..bad.char_indices().map(|(i, _)| i).nth(cut % (bad.chars().count() + 1)).unwrap_or(bad.len())];
        if let Ok((share, _)) = Share::from_query(bad, &[]) {
            let q = share.to_query();
            prop_assert_eq!(Share::from_query(&q, &[]).unwrap().0, share);
        }
    }

    #[test]
    fn edited_schedules_are_refused_or_replay(edits in prop::collection::vec(edit(), 1..3)) {
        let cfg = tornsim_core::preset("seed-thread-v1").unwrap().config;
        let w = tornsim_core::check(&cfg, Default::default()).unwrap().witness.unwrap().encode();
        let s = apply(&w, &edits);
        if let Ok(sched) = Schedule::decode(&s) {
            let _ = tornsim_core::replay(&sched);
        }
    }
}

/// `--config` files (compiled when the `files` feature is on, as it is for the
/// workspace's tests through the command line's dependency).
#[cfg(feature = "files")]
mod settings_files {
    use super::*;
    use tornsim_core::settings_file::{apply as apply_settings, settings, Format};

    const FILES: [&str; 3] = [
        "preset = \"merged\"\nreaders = 3\nmode = \"xen-pv\"\nparavirt = false\n",
        "{\"preset\": \"seed-thread-v1\", \"cpus\": \"auto\", \"readers\": 2}",
        "sync = \"after-unlock\"\nalloc = \"random\"\n",
    ];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn edited_settings_files_are_refused_or_apply(i in 0usize..3, edits in prop::collection::vec(edit(), 0..4)) {
            let text = apply(FILES[i], &edits);
            for format in [Format::Json, Format::Toml, Format::Guess] {
                if let Ok(s) = settings(&text, format) {
                    let mut cfg = tornsim_core::Config::default();
                    if apply_settings(&mut cfg, &s).is_ok() {
                        let _ = cfg.validate();
                    }
                }
            }
        }
    }
}
