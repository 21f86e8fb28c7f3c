//! Development benchmark of the batch loop. `tornsim bench` prints the same figures as
//! steps/s and runs/s; this one gives criterion's statistics between changes.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tornsim_core::{preset, Batch, SchedulerSpec};

fn batches(c: &mut Criterion) {
    let mut g = c.benchmark_group("batch");
    for (name, spec) in [
        ("random", SchedulerSpec::Random),
        ("pct4", SchedulerSpec::Pct { depth: 4 }),
    ] {
        for readers in [2u32, 8] {
            let mut cfg = preset("seed-thread-v1").unwrap().config;
            cfg.readers = readers;
            let mut b = Batch::new(&cfg, spec, 1).unwrap();
            let steps_per_1000 = b.run(1000).steps;
            g.throughput(Throughput::Elements(steps_per_1000));
            g.bench_function(
                BenchmarkId::new(name, format!("{readers} readers, 1000 runs")),
                |bench| bench.iter(|| b.run(1000)),
            );
        }
    }
    g.finish();
}

criterion_group!(benches, batches);
criterion_main!(benches);
