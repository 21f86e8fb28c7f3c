//! A one-line progress bar on stderr, drawn only when stderr is a terminal so that
//! redirected output and CI logs stay clean and deterministic.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

pub struct Progress {
    enabled: bool,
    label: String,
    total: u64,
    last: Instant,
    start: Instant,
}

impl Progress {
    pub fn new(label: &str, total: u64) -> Progress {
        let now = Instant::now();
        Progress {
            enabled: std::io::stderr().is_terminal(),
            label: label.to_string(),
            total,
            last: now - Duration::from_secs(1),
            start: now,
        }
    }

    /// Redraws at most ten times a second.
    pub fn update(&mut self, done: u64, note: &str) {
        if !self.enabled || self.last.elapsed() < Duration::from_millis(100) {
            return;
        }
        self.last = Instant::now();
        let width = 30usize;
        let frac = if self.total == 0 {
            1.0
        } else {
            (done as f64 / self.total as f64).min(1.0)
        };
        let filled = (frac * width as f64) as usize;
        let rate = done as f64 / self.start.elapsed().as_secs_f64().max(1e-9);
        let mut e = std::io::stderr().lock();
        let _ = write!(
            e,
            "\r\x1b[2K{} [{}{}] {:>3.0}% {}/{} ({:.0}/s) {}",
            self.label,
            "#".repeat(filled),
            " ".repeat(width - filled),
            frac * 100.0,
            done,
            self.total,
            rate,
            note
        );
        let _ = e.flush();
    }

    pub fn finish(&mut self) {
        if self.enabled {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }
}

/// Maps `f` over `items` on every core, keeping their order, with a progress bar on a
/// terminal. Items are handed out one at a time, so uneven items balance across threads.
pub fn par_map<T: Sync, R: Send>(label: &str, items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    par_map_on(cores(), label, items, f)
}

/// The cores this process may run on: every command's default thread count.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// [`par_map`] on `threads` threads.
pub fn par_map_on<T: Sync, R: Send>(
    threads: usize,
    label: &str,
    items: &[T],
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let threads = threads.clamp(1, items.len().max(1));
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let out: std::sync::Mutex<Vec<Option<R>>> =
        std::sync::Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let r = f(item);
                out.lock().expect("no thread panics holding it")[i] = Some(r);
                done.fetch_add(1, Ordering::Relaxed);
            });
        }
        let mut bar = Progress::new(label, items.len() as u64);
        while done.load(Ordering::Relaxed) < items.len() {
            bar.update(done.load(Ordering::Relaxed) as u64, "");
            std::thread::sleep(Duration::from_millis(20));
        }
        bar.finish();
    });
    out.into_inner()
        .expect("no thread panics holding it")
        .into_iter()
        .map(|r| r.expect("every item ran"))
        .collect()
}
