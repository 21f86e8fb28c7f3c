//! The batch loop allocates nothing per step (nor per run): counted with a global
//! allocator wrapper. In its own test binary so no other test's allocations interfere.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use tornsim_core::{preset, Batch, SchedulerSpec};

struct Counting;
static ALLOCS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static A: Counting = Counting;

#[test]
fn batches_do_not_allocate_per_step() {
    for (name, spec) in [
        ("seed-thread-v1", SchedulerSpec::Random),
        ("merged", SchedulerSpec::Random),
        ("native-walker", SchedulerSpec::Pct { depth: 3 }),
    ] {
        let mut cfg = preset(name).unwrap().config;
        cfg.readers = 8;
        let mut b = Batch::new(&cfg, spec, 1).unwrap();
        // The first hazard of each kind is recorded (that allocates its schedule once).
        b.run(20_000);
        let before = ALLOCS.load(Ordering::Relaxed);
        let st = b.run(20_000);
        let after = ALLOCS.load(Ordering::Relaxed);
        assert!(st.steps > 1_000_000, "{name}: {} steps", st.steps);
        assert_eq!(
            after - before,
            0,
            "{name}: {} allocations in {} steps",
            after - before,
            st.steps
        );
    }
}
