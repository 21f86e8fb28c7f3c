//! The rare-event estimator against brute force, and its exact zeros.

use tornsim_core::config::{Config, Mode, SyncPlacement};
use tornsim_core::preset;
use tornsim_core::rare::{estimate, EstimateSpec, Event, Method, Stop};
use tornsim_core::timed::{timed_batch, Latencies};

fn cfg(mode: Mode, sync: SyncPlacement) -> Config {
    Config {
        mode,
        sync,
        ..Config::default()
    }
}

fn stalls(p: f64) -> Latencies {
    Latencies {
        preempt_chance: p,
        ..Latencies::default()
    }
}

fn spec(method: Method, rel_error: f64, max_runs: u64) -> EstimateSpec {
    EstimateSpec {
        method,
        event: Event::Torn,
        rel_error,
        max_runs,
    }
}

#[test]
fn brute_force_runs_are_the_sweeps_runs() {
    let c = preset("seed-thread-v1").unwrap().config;
    let lat = stalls(0.03);
    let b = timed_batch(&c, &lat, 5, 20_000).unwrap();
    let e = estimate(&c, &lat, &spec(Method::Brute, 0.1, 20_000), 5).unwrap();
    assert_eq!(
        (e.runs, e.hits, e.stop),
        (20_000, b.runs_with_torn, Stop::Budget)
    );
    assert!(e.hits > 0);
    assert!(e.lo < e.rate && e.rate < e.hi.unwrap());
}

#[test]
fn safe_configurations_are_exactly_zero_with_the_checkers_reason() {
    let safe = [
        preset("merged").unwrap().config,
        cfg(Mode::XenPv, SyncPlacement::UnderPtl),
        cfg(Mode::KvmPvFlush, SyncPlacement::UnderPtl),
        cfg(Mode::NativePae, SyncPlacement::AfterUnlock),
    ];
    for c in safe {
        for method in [Method::Importance, Method::Brute] {
            let e = estimate(&c, &stalls(0.05), &spec(method, 0.1, 1000), 1).unwrap();
            assert_eq!(
                (e.rate, e.lo, e.hi, e.stop, e.runs),
                (0.0, 0.0, Some(0.0), Stop::Proof, 0),
                "{c:?}"
            );
            assert!(e
                .reason
                .unwrap()
                .starts_with("safe: the exhaustive checker"));
        }
    }
}

#[test]
fn importance_sampling_reaches_one_in_a_hundred_million_where_brute_force_sees_nothing() {
    let c = cfg(Mode::XenPv, SyncPlacement::AfterUnlock);
    let lat = stalls(1e-5);
    let s = spec(Method::Importance, 0.1, 5_000_000);
    let a = estimate(&c, &lat, &s, 3).unwrap();
    assert_eq!(
        a,
        estimate(&c, &lat, &s, 3).unwrap(),
        "deterministic for a seed"
    );
    assert_eq!(a.stop, Stop::Target, "{a:?}");
    assert!(a.rel_error.unwrap() <= 0.1);
    assert!(1e-9 < a.rate && a.rate < 1e-7, "{a:?}");
    let b = estimate(&c, &lat, &spec(Method::Brute, 0.1, a.samples()), 3).unwrap();
    assert_eq!((b.hits, b.rate), (0, 0.0), "{b:?}");
    // A rate ten times rarer stays as cheap: the cost does not grow with 1/rate.
    let r = estimate(&c, &stalls(1e-6), &s, 3).unwrap();
    assert_eq!(r.stop, Stop::Target, "{r:?}");
    assert!(r.samples() < 2 * a.samples(), "{r:?} vs {a:?}");
    assert!(r.rate < a.rate / 5.0, "{r:?} vs {a:?}");
}

#[test]
fn both_estimators_agree_where_brute_force_is_feasible() {
    // 12 settings with rates of 1e-4 and above: two modes that tear, two placements
    // that do, three stall chances. Each pair of 95% intervals must overlap. Brute
    // force runs a fixed budget (about 400 hits at the rarest setting), so that its
    // interval owes nothing to when it stopped.
    let mut settings = Vec::new();
    for mode in [Mode::XenPv, Mode::KvmPvFlush] {
        for sync in [SyncPlacement::AfterUnlock, SyncPlacement::None] {
            for p in [0.03, 0.05, 0.08] {
                settings.push((cfg(mode, sync), p));
            }
        }
    }
    assert_eq!(settings.len(), 12);
    let mut failures = Vec::new();
    for (c, p) in &settings {
        let lat = stalls(*p);
        let b = estimate(c, &lat, &spec(Method::Brute, 1e-3, 1_000_000), 11).unwrap();
        let i = estimate(c, &lat, &spec(Method::Importance, 0.1, 4_000_000), 11).unwrap();
        assert!(b.rate >= 1e-4, "{:?} {:?} p={p}: {b:?}", c.mode, c.sync);
        assert_eq!((b.stop, i.stop), (Stop::Budget, Stop::Target));
        if !b.overlaps(&i) {
            failures.push(format!("{:?} {:?} p={p}: {b:?} vs {i:?}", c.mode, c.sync));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn stale_uses_are_estimated_too() {
    // An immediate free (no RCU deferral) lets a walker dereference a freed table.
    let mut c = cfg(Mode::XenPv, SyncPlacement::None);
    c.free = tornsim_core::config::FreeKind::Immediate;
    let s = EstimateSpec {
        event: Event::Stale,
        ..spec(Method::Importance, 0.1, 4_000_000)
    };
    let e = estimate(&c, &stalls(1e-4), &s, 2).unwrap();
    assert_eq!((e.event, e.stop), (Event::Stale, Stop::Target), "{e:?}");
    assert!(e.rate > 0.0);
}

#[test]
fn bad_specs_are_refused() {
    let c = Config::default();
    for (rel, max) in [(0.0, 10), (f64::NAN, 10), (1.5, 10), (0.1, 0)] {
        assert!(estimate(&c, &stalls(0.01), &spec(Method::Brute, rel, max), 1).is_err());
    }
}
