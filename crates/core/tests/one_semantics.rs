//! One semantics: the classic machine and the general machine running the same file
//! agree step by step, not only on verdicts. On every built-in scenario and every
//! cell of MODEL.md's matrix (SC with one and two readers, TSO with each APIC), fed
//! the same choices, they open the same choices before every step and raise the same
//! hazard at the same step; their state graphs are the same graph; and the general
//! checker stores as many states, and finds the same witness, as the classic checker
//! does without its reductions.

use std::collections::{HashMap, HashSet, VecDeque};
use tornsim_core::check::{check, matrix_configs, CheckOptions};
use tornsim_core::config::{Alloc, Apic, Memory};
use tornsim_core::general::{self, GChoice, GMachine, GState};
use tornsim_core::machine::{Choice, Enabled, Machine, State};
use tornsim_core::program::{self, BUILTIN};
use tornsim_core::{Config, Hazard, Verdict};

/// A choice as both machines spell it: (CPU, answer an IPI, drain a store buffer).
type Ch = (u8, bool, bool);

/// Every built-in scenario (and one under `kvm-pv-flush`), then the matrix: SC with one reader (every split) and two,
/// and TSO with one reader under each APIC.
fn configs() -> Vec<(String, Config)> {
    let mut v: Vec<(String, Config)> = BUILTIN
        .iter()
        .map(|(n, s)| (n.to_string(), program::load(s).unwrap().1))
        .collect();
    // A reader with stores buffered under kvm-pv-flush: the host waits for them.
    let (_, hs) = BUILTIN.iter().find(|(n, _)| *n == "handshake-mb").unwrap();
    let kvm = hs.replace("mode = native-pae;", "mode = kvm-pv-flush;");
    v.push((
        "handshake-mb / kvm-pv-flush".into(),
        program::load(&kvm).unwrap().1,
    ));
    for r in [1, 2] {
        v.extend(
            matrix_configs(r, r == 1)
                .into_iter()
                .map(|c| (c.summary(), c)),
        );
    }
    for apic in [Apic::Xapic, Apic::X2apic] {
        for mut c in matrix_configs(1, true) {
            c.memory = Memory::Tso;
            c.apic = apic;
            v.push((format!("{} / {apic:?}", c.summary()), c));
        }
    }
    v
}

/// The choices in one order, as a set.
fn sorted(choices: impl Iterator<Item = Ch>) -> Vec<Ch> {
    let mut v: Vec<Ch> = choices.collect();
    v.sort();
    v
}

/// Open choices, as masks, listed.
fn listed(en: Enabled) -> Vec<Ch> {
    sorted(en.iter().map(|c| (c.cpu, c.ack, c.drain)))
}

fn classic_open(m: &Machine) -> Vec<Ch> {
    listed(m.enabled())
}

fn general_open(g: &GMachine) -> Vec<Ch> {
    listed(g.enabled_set())
}

/// One step on both: the hazard each raised (the classic machine's observed final
/// state counts as its step's, as the general machine reports it).
fn step_both(
    m: &mut Machine,
    g: &mut GMachine,
    kept: &mut general::Open,
    (cpu, ack, drain): Ch,
) -> (Option<Hazard>, Option<Hazard>) {
    let e = m.step(Choice { cpu, ack, drain });
    let hc = e.hazard().or(m.observed().then_some(Hazard::Observed));
    let hg = g.step_open(GChoice { cpu, ack, drain }, kept);
    (hc, hg)
}

/// `runs` random runs on both machines, choice for choice: the first disagreement.
/// Under `alloc = random` both put the new table at `frame`.
fn lockstep(cfg: &Config, runs: u64, frame: Option<u64>) -> Result<(), String> {
    let p = general::from_classic(cfg).map_err(|e| e.to_string())?;
    for run in 0..runs {
        let mut m = Machine::new(cfg, true).unwrap();
        let mut g = GMachine::new(p.clone(), true);
        if let Some(f) = frame {
            m.reset(f);
            g.set_frame(f);
        }
        let mut x = run.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        // The general machine's open choices as a run keeps them from step to step.
        let mut kept = g.open();
        for step in 0..5000 {
            let (a, b) = (classic_open(&m), general_open(&g));
            if a != b {
                return Err(format!(
                    "run {run} step {step}: classic opens {a:?}, general {b:?}"
                ));
            }
            let k = listed(kept.en);
            if k != b {
                return Err(format!(
                    "run {run} step {step}: the general run kept {k:?} open, not {b:?}"
                ));
            }
            // Both machines' view of the PMD and of interrupts, after every step.
            let pmd = m.state().pmd;
            let whole = pmd.low as u64 | (pmd.high as u64) << 32;
            if (whole, m.state().irq_off) != (g.st.entries[0], g.st.irq_off) {
                return Err(format!(
                    "run {run} step {step}: classic pmd {whole:#x} irq_off {:b}, general {:#x} {:b}",
                    m.state().irq_off,
                    g.st.entries[0],
                    g.st.irq_off
                ));
            }
            if a.is_empty() {
                break;
            }
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let ch = a[(x % a.len() as u64) as usize];
            let (hc, hg) = step_both(&mut m, &mut g, &mut kept, ch);
            if hc != hg {
                return Err(format!(
                    "run {run} step {step}: {ch:?} raised {hc:?} classic, {hg:?} general"
                ));
            }
        }
    }
    Ok(())
}

#[test]
fn both_machines_open_the_same_choices_and_raise_the_same_hazards_step_by_step() {
    let cfgs = configs();
    let bad: Vec<String> = cfgs
        .iter()
        .filter_map(|(n, c)| lockstep(c, 100, None).err().map(|e| format!("{n}: {e}")))
        .collect();
    assert!(
        bad.is_empty(),
        "{} of {} differ:\n{}",
        bad.len(),
        cfgs.len(),
        bad.join("\n")
    );
    assert_eq!(
        cfgs.len(),
        BUILTIN.len() + 1 + 200 + 200 + 200 - 80,
        "{}",
        cfgs.len()
    );
}

/// `alloc = random` too: every built-in scenario with the new table at a frame of each
/// class the allocator can draw (the old table's low word or not, its frame or not).
#[test]
fn both_machines_agree_step_by_step_wherever_the_new_table_is_drawn() {
    let mut compared = 0;
    for (name, src) in BUILTIN {
        let mut cfg = program::load(src).unwrap().1;
        cfg.alloc = Alloc::Random;
        let p = general::from_classic(&cfg).unwrap();
        for f in p.frame_classes() {
            if let Err(e) = lockstep(&cfg, 50, Some(f)) {
                panic!("{name} at frame {f:#x}: {e}");
            }
            compared += 1;
        }
    }
    assert_eq!(compared, BUILTIN.len() * 5);
}

#[test]
fn the_general_check_stores_the_classic_checks_states_and_finds_its_witness() {
    let unreduced = CheckOptions {
        reduce: false,
        symmetry: false,
        ..Default::default()
    };
    let mut compared = 0;
    for (n, c) in configs() {
        // A drawn frame is searched per equality class, differently by each checker.
        if c.alloc == Alloc::Random {
            continue;
        }
        let a = check(&c, unreduced).unwrap();
        let p = general::from_classic(&c).unwrap();
        let g = general::check(
            &p,
            general::GCheckOptions {
                symmetry: false,
                reduce: false,
                ..Default::default()
            },
        );
        let wa: Option<Vec<Ch>> = a
            .witness
            .map(|w| w.choices.iter().map(|c| (c.cpu, c.ack, c.drain)).collect());
        let wg: Option<Vec<Ch>> = g
            .witness
            .map(|w| w.iter().map(|c| (c.cpu, c.ack, c.drain)).collect());
        assert_eq!(
            (a.verdict, a.states, a.transitions, wa),
            (g.verdict, g.states, g.transitions, wg),
            "{n}"
        );
        compared += 1;
    }
    assert!(compared > 500, "{compared}");
}

/// With symmetry on both sides, the general search stores one state per orbit of its
/// walker symmetry exactly as the classic search does of its reader symmetry: the same
/// states and transitions wherever both apply it and neither finds a hazard (a hazard
/// ends each search where its own order of a layer meets it first). The classic
/// checker leaves its symmetry off for files with shared words, whose condition may
/// name a reader's register; there, and where a hazard is found, the verdicts agree.
#[test]
fn with_symmetry_the_general_check_stores_the_classic_checks_orbits() {
    let classic = CheckOptions {
        reduce: false,
        ..Default::default()
    };
    let (mut same_states, mut fewer) = (0, 0);
    for (n, c) in configs() {
        if c.alloc == Alloc::Random {
            continue;
        }
        let a = check(&c, classic).unwrap();
        let p = general::from_classic(&c).unwrap();
        let g = general::check(
            &p,
            general::GCheckOptions {
                reduce: false,
                ..Default::default()
            },
        );
        assert_eq!(a.verdict, g.verdict, "{n}");
        let words = p.words.is_some();
        if a.verdict == Verdict::Safe && !words {
            assert_eq!((a.states, a.transitions), (g.states, g.transitions), "{n}");
            same_states += 1;
            let full = check(
                &c,
                CheckOptions {
                    symmetry: false,
                    ..classic
                },
            )
            .unwrap();
            fewer += (g.states < full.states) as u32;
        }
    }
    assert!(same_states > 100 && fewer > 20, "{same_states} {fewer}");
}

/// Breadth-first over pairs of states, both machines taking each choice: every classic
/// state is paired with exactly one general state and the other way round, so the two
/// state graphs are one graph (the general search forgets dead locals, as it stores).
#[test]
fn both_machines_have_the_same_state_graph_on_every_builtin_scenario() {
    for (name, src) in BUILTIN {
        let cfg = program::load(src).unwrap().1;
        let p = general::from_classic(&cfg).unwrap();
        let mut m = Machine::new(&cfg, true).unwrap();
        let mut g = GMachine::new(p, true);
        let start = (m.state().clone(), g.st.clone());
        let mut seen: HashSet<(State, GState)> = HashSet::from([start.clone()]);
        let mut queue = VecDeque::from([start]);
        while let Some((c, s)) = queue.pop_front() {
            m.set_state(c.clone());
            g.st = s.clone();
            let open = classic_open(&m);
            assert_eq!(open, general_open(&g), "{name}");
            for ch in open {
                m.set_state(c.clone());
                g.st = s.clone();
                let mut kept = g.open();
                let (hc, hg) = step_both(&mut m, &mut g, &mut kept, ch);
                assert_eq!(hc, hg, "{name}");
                assert_eq!(
                    listed(kept.en),
                    general_open(&g),
                    "{name}: kept open after {ch:?}"
                );
                g.forget_dead(ch.0);
                let next = (m.state().clone(), g.st.clone());
                if hc.is_none() && seen.insert(next.clone()) {
                    queue.push_back(next);
                }
            }
        }
        let mut of_classic: HashMap<&State, usize> = HashMap::new();
        let mut of_general: HashMap<&GState, usize> = HashMap::new();
        for (c, s) in &seen {
            *of_classic.entry(c).or_default() += 1;
            *of_general.entry(s).or_default() += 1;
        }
        assert!(
            of_classic.values().all(|&k| k == 1),
            "{name}: a classic state with two general ones"
        );
        assert!(
            of_general.values().all(|&k| k == 1),
            "{name}: a general state with two classic ones"
        );
        assert!(seen.len() > 50, "{name}: {}", seen.len());
    }
}

/// Random runs: a batch of a classic file is the same batch on the general machine (the
/// same seed per run, the same draw among the same open choices), so the two count the
/// same steps and the same runs with each hazard, and record the same first witness.
#[test]
fn a_batch_of_random_runs_is_the_same_batch_on_both_machines() {
    use tornsim_core::general::GBatch;
    use tornsim_core::run::Batch;
    use tornsim_core::sched::SchedulerSpec;
    let (mut compared, mut witnesses) = (0, 0);
    // `alloc = random` too: every built-in scenario with a drawn frame per run.
    let random = BUILTIN.iter().map(|(n, s)| {
        let mut c = program::load(s).unwrap().1;
        c.alloc = Alloc::Random;
        (format!("{n} / random"), c)
    });
    for (n, c) in configs().into_iter().chain(random) {
        let a = Batch::new(&c, SchedulerSpec::Random, 7).unwrap().run(300);
        let p = general::from_classic(&c).unwrap();
        let g = GBatch::new(&p, 7).run(300).clone();
        let counts = (
            a.steps,
            a.runs_with_torn,
            a.runs_with_stale,
            a.runs_observed,
            a.deadlocks,
        );
        let gcounts = (
            g.steps,
            g.count(Hazard::Torn),
            g.count(Hazard::Stale),
            g.count(Hazard::Observed),
            g.count(Hazard::Deadlock),
        );
        assert_eq!(counts, gcounts, "{n}");
        // The first run with the hazard the clause asks about, and its schedule.
        if let Some((h, sched)) = &g.first {
            let rec = match h {
                Hazard::Torn => &a.first_torn,
                Hazard::Stale => &a.first_stale,
                Hazard::Observed => &a.first_observed,
                _ => &a.first_deadlock,
            };
            let rec = rec.as_ref().expect("the classic batch records it too");
            assert_eq!(Some(rec.run), g.first_run, "{n}");
            let classic =
                tornsim_core::Schedule::decode_with(&rec.schedule, c.scenario.as_ref()).unwrap();
            let (q, ours) = general::decode_run(&p, sched).unwrap();
            let classic: Vec<Ch> = classic
                .choices
                .iter()
                .map(|c| (c.cpu, c.ack, c.drain))
                .collect();
            let ours: Vec<Ch> = ours.iter().map(|c| (c.cpu, c.ack, c.drain)).collect();
            assert_eq!(classic, ours, "{n}");
            // Under `alloc = random`, on the same frame.
            if let Some(t) = q.random_table {
                let drawn = q.tables[t as usize].addr;
                let want = tornsim_core::Schedule::decode_with(&rec.schedule, c.scenario.as_ref())
                    .unwrap()
                    .new_table;
                assert_eq!(drawn, want, "{n}");
            }
            witnesses += 1;
        }
        compared += 1;
    }
    assert!(compared > 500 && witnesses > 100, "{compared} {witnesses}");
}

/// Enabling interrupts can open another CPU's step: where the old table's free waits
/// for a grace period and the fault's `pte_alloc_one()` waits for that frame
/// (`alloc = same-frame`), a walker's `local_irq_enable()` ends the grace period and
/// lets the allocation go on. A run that kept its open choices from the step before
/// sees it too (it retests every CPU after such a step). Breadth first over the states
/// of every one-reader matrix cell under `alloc = same-frame`, where the two machines
/// also agree step by step.
#[test]
fn a_grace_period_ended_by_enabling_interrupts_opens_the_waiting_allocation() {
    let (mut opened, mut cells) = (0, 0);
    for mut cfg in matrix_configs(1, true) {
        cfg.alloc = Alloc::SameFrame;
        let name = cfg.summary();
        let p = general::from_classic(&cfg).unwrap_or_else(|e| panic!("{name}: {e}"));
        if let Err(e) = lockstep(&cfg, 20, None) {
            panic!("{name}: {e}");
        }
        cells += 1;
        let mut g = GMachine::new(p, true);
        let mut seen = HashSet::from([g.st.clone()]);
        let mut queue = VecDeque::from([g.st.clone()]);
        while let Some(s) = queue.pop_front() {
            g.st = s.clone();
            for ch in g.enabled() {
                g.st = s.clone();
                let before = g.open();
                let was_off = g.st.irq_off >> ch.cpu & 1 == 1;
                let mut kept = before;
                let h = g.step_open(ch, &mut kept);
                // Only local_irq_enable() turns a CPU's interrupts back on.
                let irq_on = was_off && g.st.irq_off >> ch.cpu & 1 == 0;
                assert_eq!(kept.en, g.enabled_set(), "{name}: after {ch:?}");
                let others = !(1u64 << ch.cpu);
                if irq_on && kept.en.prog & !before.en.prog & others != 0 {
                    opened += 1;
                }
                g.forget_dead(ch.cpu);
                if h.is_none() && seen.insert(g.st.clone()) {
                    queue.push_back(g.st.clone());
                }
            }
        }
    }
    assert_eq!(cells, matrix_configs(1, true).len());
    assert!(opened > 0, "no grace period opened a waiting allocation");
}
