//! Properties of the model over random configurations and seeds.

use proptest::prelude::*;
use tornsim_core::config::*;
use tornsim_core::machine::{Action, Effect, Pmd, Role};
use tornsim_core::run::{record_run, table_for, Batch};
use tornsim_core::sched::{run_seed, SchedulerSpec};
use tornsim_core::{preset, replay, Stepper};

fn config() -> impl Strategy<Value = Config> {
    (
        prop::sample::select(Mode::ALL),
        prop::sample::select(SyncPlacement::ALL),
        prop::sample::select(ReaderKind::ALL),
        prop::sample::select(Alloc::ALL),
        prop::sample::select(ClearKind::ALL),
        prop::sample::select(SetKind::ALL),
        prop::sample::select(FreeKind::ALL),
        1u32..=4,
        0u32..=2,
        any::<bool>(),
        prop::sample::select(Memory::ALL),
        prop::sample::select(Apic::ALL),
    )
        .prop_map(
            |(
                mode,
                sync,
                reader,
                alloc,
                clear,
                set,
                free,
                readers,
                idle,
                paravirt,
                memory,
                apic,
            )| Config {
                mode,
                sync,
                reader,
                alloc,
                clear,
                set,
                free,
                readers,
                any_readers: false,
                cpus: Some(2 + readers + idle),
                paravirt: paravirt || mode != Mode::NativePae,
                memory,
                apic,
                scenario: None,
            },
        )
}

fn scheduler() -> impl Strategy<Value = SchedulerSpec> {
    prop_oneof![
        Just(SchedulerSpec::Random),
        (1u32..=5).prop_map(|depth| SchedulerSpec::Pct { depth })
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// A run's schedule string replays to the same run, step for step.
    #[test]
    fn replaying_a_schedule_reproduces_the_run(cfg in config(), spec in scheduler(), seed in any::<u64>()) {
        let (schedule, summary) = record_run(&cfg, spec, seed);
        let text = schedule.encode();
        let decoded = tornsim_core::Schedule::decode(&text).unwrap();
        prop_assert_eq!(&decoded, &schedule);
        let trace = replay(&decoded).unwrap();
        prop_assert!(trace.finished);
        prop_assert_eq!(trace.steps.len() as u64, summary.steps);
        let torn = trace.steps.iter().filter(|s| matches!(s.action, Action::ReloadLow { torn: true, .. })).count();
        let stale = trace.steps.iter().filter(|s| matches!(s.action, Action::Deref { stale: true, .. })).count();
        prop_assert_eq!(torn as u32, summary.torn_reads);
        prop_assert_eq!(stale as u32, summary.stale_uses);
        // Replaying twice gives the same trace.
        prop_assert_eq!(replay(&decoded).unwrap(), trace);
    }

    /// An atomic 64-bit load cannot tear, whatever the writers do.
    #[test]
    fn non_pae_never_tears(mut cfg in config(), spec in scheduler(), seed in any::<u64>()) {
        cfg.mode = Mode::NonPae;
        cfg.paravirt = true;
        let mut b = Batch::new(&cfg, spec, seed).unwrap();
        let st = b.run(200);
        prop_assert_eq!(st.torn_reads, 0);
        prop_assert_eq!(st.retries, 0);
    }

    /// Every run ends: no deadlock, no runaway.
    #[test]
    fn no_run_deadlocks(cfg in config(), spec in scheduler(), seed in any::<u64>()) {
        let mut b = Batch::new(&cfg, spec, seed).unwrap();
        let st = b.run(100);
        prop_assert_eq!(st.deadlocks, 0);
        prop_assert_eq!(st.step_limit_runs, 0);
    }

    /// The machine reports a torn read exactly when the returned (low, high) pair is
    /// present and was never the PMD's value between the read's first and last load.
    /// The oracle here keeps its own record of every value the PMD held, from the trace,
    /// independent of the machine's version history.
    #[test]
    fn torn_is_reported_iff_the_pair_was_never_held(cfg in config(), spec in scheduler(), seed in any::<u64>()) {
        let (schedule, _) = record_run(&cfg, spec, seed);
        let trace = replay(&schedule).unwrap();
        let mut pmd_before = vec![trace.initial.pmd];
        pmd_before.extend(trace.steps.iter().map(|s| s.after.pmd));
        // For each reader, the step of the first load of its current read operation.
        let mut first_load: Vec<Option<usize>> = vec![None; trace.cpus.len()];
        for (i, s) in trace.steps.iter().enumerate() {
            let c = s.cpu as usize;
            if s.ack || trace.cpus[c].role != Role::Reader {
                continue;
            }
            match s.action {
                Action::LoadLow { .. } => {
                    first_load[c].get_or_insert(i);
                }
                Action::ReloadLow { low, high, retry: false, torn } => {
                    let start = first_load[c].take().expect("a re-check follows a first load");
                    // Loads do not write, so the PMD at step k's instant is the value
                    // before step k.
                    let held: Vec<Pmd> = pmd_before[start..=i].to_vec();
                    let got = Pmd { low, high };
                    let expect = got.present() && !held.contains(&got);
                    prop_assert_eq!(torn, expect, "step {}: got {:?}, held {:?}", i, got, held);
                }
                _ => {}
            }
        }
    }

    /// `Effect::action` loses nothing: converting back gives the same effect.
    #[test]
    fn effects_round_trip_through_actions(cfg in config(), seed in any::<u64>()) {
        let (schedule, _) = record_run(&cfg, SchedulerSpec::Random, seed);
        let mut m = tornsim_core::Machine::new(&cfg, true).unwrap();
        m.reset(schedule.new_table);
        for ch in schedule.choices {
            let e = m.step(ch);
            prop_assert_eq!(Effect::from(e.action()), e);
        }
    }

    /// Batches split into chunks or shards give the statistics of one batch.
    #[test]
    fn chunked_batches_equal_one_batch(cfg in config(), seed in any::<u64>(), cut in 1u64..300) {
        let mut whole = Batch::new(&cfg, SchedulerSpec::Random, seed).unwrap();
        whole.run(300);
        let mut a = Batch::new(&cfg, SchedulerSpec::Random, seed).unwrap();
        a.run(cut);
        let mut b = Batch::new(&cfg, SchedulerSpec::Random, seed).unwrap().starting_at(cut);
        b.run(300 - cut);
        let mut merged = a.stats().clone();
        merged.merge(b.stats());
        prop_assert_eq!(&merged, whole.stats());
    }
}

#[test]
fn stepper_and_batch_agree_on_the_random_table() {
    let cfg = Config {
        alloc: Alloc::Random,
        ..preset("seed-thread-v1").unwrap().config
    };
    let seed = run_seed(9, 4);
    let table = table_for(&cfg, seed);
    let (schedule, _) = record_run(&cfg, SchedulerSpec::Random, seed);
    assert_eq!(schedule.new_table, table);
    let st = Stepper::new(&cfg, table).unwrap();
    assert_eq!(st.machine().new_table(), table);
}

/// The withdrawn patch tears under Xen PV and the merged code never does, as random runs
/// see it (the exhaustive checker proves the "never").
#[test]
fn random_runs_agree_with_the_seed_thread() {
    let run = |name: &str| {
        let mut b = Batch::new(&preset(name).unwrap().config, SchedulerSpec::Random, 7).unwrap();
        b.run(20_000).clone()
    };
    assert!(run("seed-thread-v1").runs_with_torn > 0);
    assert_eq!(run("merged").runs_with_torn, 0);
    assert!(run("native-walker").runs_with_torn > 0);
    assert_eq!(run("native-gup").runs_with_torn, 0);
    assert!(run("v3-skip-walker").runs_with_torn > 0);
    assert_eq!(run("v3-skip-xen").runs_with_torn, 0);
}

/// The seed thread's race has PCT depth 4: the reader must be preempted after its first
/// load and after its high load, and the populator must then run before the reader
/// resumes; three priority changes. Depth 3 cannot schedule that; depth 4 can.
#[test]
fn pct_needs_depth_four_for_the_race() {
    let cfg = preset("seed-thread-v1").unwrap().config;
    let torn = |depth| {
        Batch::new(&cfg, SchedulerSpec::Pct { depth }, 1)
            .unwrap()
            .run(50_000)
            .runs_with_torn
    };
    assert_eq!(torn(3), 0);
    assert!(torn(4) > 0);
}

/// The statistics of a fixed batch, pinned in a file that the web crate's wasm tests
/// compare against too: the same input gives the same numbers natively and in wasm.
/// Regenerate after a deliberate model change with `TORNSIM_BLESS=1 cargo test`.
#[test]
fn golden_batch_statistics() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/seed-thread-v1-seed7-5000.json"
    );
    let cfg = tornsim_core::preset("seed-thread-v1").unwrap().config;
    let stats = tornsim_core::Batch::new(&cfg, tornsim_core::SchedulerSpec::Random, 7)
        .unwrap()
        .run(5_000);
    let got = serde_json::to_string_pretty(&stats).unwrap() + "\n";
    if std::env::var_os("TORNSIM_BLESS").is_some() {
        std::fs::write(path, &got).unwrap();
    }
    let want = std::fs::read_to_string(path).expect("the golden file exists");
    assert_eq!(
        got, want,
        "statistics changed; bless only if the model changed on purpose"
    );
    assert!(stats.runs_with_torn > 0);
}
