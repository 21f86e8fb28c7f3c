//! The classic x86 litmus tests in `tests/litmus/x86/`, written in herd7's format, give
//! herd7's observations under x86-TSO (`x86tso.cat`), and `Never` for every relaxed
//! outcome under SC.

use tornsim_core::config::Memory;
use tornsim_core::x86::{parse, Observation};

/// herd7's answers: (test, under tso, under sc).
const EXPECTED: &[(&str, Observation, Observation)] = {
    use Observation::*;
    &[
        ("SB", Sometimes, Never),
        ("SB+mfences", Never, Never),
        ("SB+xchgs", Never, Never),
        ("R", Sometimes, Never),
        ("R+mfences", Never, Never),
        ("n6", Sometimes, Never),
        ("n6+mfences", Never, Never),
        ("MP", Never, Never),
        ("MP+mfences", Never, Never),
        ("LB", Never, Never),
        ("LB+mfences", Never, Never),
        ("S", Never, Never),
        ("S+mfences", Never, Never),
        ("2+2W", Never, Never),
        ("2+2W+mfences", Never, Never),
        ("IRIW", Never, Never),
        ("IRIW+mfences", Never, Never),
        ("WRC", Never, Never),
        ("WRC+mfences", Never, Never),
        ("INC+locks", Always, Always),
        // Unlocked: a load then a store on each side, so both can load 0.
        ("INC", Sometimes, Sometimes),
        ("CAS", Never, Never),
    ]
};

fn dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/litmus/x86")
}

#[test]
fn every_classic_test_gives_herd7s_observation() {
    for &(name, tso, sc) in EXPECTED {
        let path = dir().join(format!("{name}.litmus"));
        let src = std::fs::read_to_string(&path).unwrap();
        let t = parse(&src).unwrap_or_else(|e| panic!("{}", e.render(&src, name)));
        assert_eq!(t.name, name);
        for (memory, want) in [(Memory::Tso, tso), (Memory::Sc, sc)] {
            let o = t.check(memory).unwrap();
            assert_eq!(
                o.observation,
                want,
                "{name} under {memory}:\n{}",
                o.herd_text()
            );
            assert!(o.herd_text().contains(&format!(
                "Observation {name} {} {} {}\n",
                want.name(),
                o.positive,
                o.negative
            )));
        }
    }
}

#[test]
fn every_file_in_the_folder_has_an_expected_answer() {
    let mut names: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|f| f.strip_suffix(".litmus").map(str::to_string))
        .collect();
    names.sort();
    let mut want: Vec<String> = EXPECTED.iter().map(|e| e.0.to_string()).collect();
    want.sort();
    assert_eq!(names, want);
}

/// Relaxed outcomes need TSO; SC shows a subset of TSO's final states, never more.
#[test]
fn sc_final_states_are_a_subset_of_tsos() {
    for &(name, ..) in EXPECTED {
        let src = std::fs::read_to_string(dir().join(format!("{name}.litmus"))).unwrap();
        let t = parse(&src).unwrap();
        let (tso, sc) = (t.check(Memory::Tso).unwrap(), t.check(Memory::Sc).unwrap());
        for f in &sc.states {
            assert!(
                tso.states.iter().any(|g| g.state == f.state),
                "{name}: SC reaches {} but TSO does not",
                f.state
            );
        }
        assert!(tso.explored >= sc.explored, "{name}");
    }
}
