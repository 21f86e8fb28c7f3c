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
