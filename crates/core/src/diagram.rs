//! Traces drawn the way kernel commit messages draw races: one column per CPU, one row
//! per step, kernel function names in the cells, and a closing line saying what went
//! wrong. Up to four CPUs fit in 100 columns, ready to paste into a patch.

use crate::config::{Config, Mode, SyncPlacement};
use crate::machine::{Action, Hazard, Pmd};
use crate::trace::{describe, hex32, pmd_hex, Trace};
use std::fmt::Write;

/// The widest diagram for up to four CPUs.
pub const MAX_WIDTH: usize = 100;

/// A cell: the short description, with the collapser's steps named after the kernel
/// functions a reviewer will look for.
fn cell(cfg: &Config, a: &Action) -> String {
    match *a {
        Action::Clear => "pmdp_collapse_flush(): pmdp_get_and_clear()".into(),
        Action::ClearLow => "pmdp_collapse_flush(): pmd_low = 0".into(),
        Action::FlushIpi { .. } | Action::FlushHypercall => {
            if cfg.mode == Mode::XenPv {
                "xen_flush_tlb_multi() hypercall".into()
            } else if cfg.mode == Mode::HyperV {
                "hyperv_flush_tlb_multi() hypercall".into()
            } else if cfg.mode == Mode::KvmPvFlush {
                describe(cfg, a, true).replace("flush_tlb: ", "kvm_flush_tlb_multi(): ")
            } else {
                describe(cfg, a, true).replace("flush_tlb: ", "flush_tlb_mm_range(): ")
            }
        }
        Action::SyncIpi { .. } if cfg.sync == SyncPlacement::FlushSyncSkip => {
            "pmdp_collapse_flush_sync(): tlb_remove_table_sync_one()".into()
        }
        Action::SyncIpi { .. } => "tlb_remove_table_sync_one(): IPI all".into(),
        Action::Free { .. } => format!("{} /* old table */", describe(cfg, a, true)),
        _ => describe(cfg, a, true),
    }
}

impl Trace {
    /// The trace as CPU columns. CPUs that never step are left out, so an idle CPU
    /// costs a column only when it acknowledges an IPI.
    ///
    /// Under `memory = tso` a CPU whose store buffer drains gets a second column, its
    /// store buffer, right of its own: a drain is drawn there, on the row where the
    /// store reaches memory.
    pub fn to_kernel(&self) -> String {
        // (cpu, its store buffer's column?) in CPU order.
        let used: Vec<(u8, bool)> = self
            .cpus
            .iter()
            .flat_map(|c| [(c.cpu, false), (c.cpu, true)])
            .filter(|&(c, drain)| self.steps.iter().any(|s| s.cpu == c && s.drain == drain))
            .collect();
        let cells: Vec<(usize, String)> = self
            .steps
            .iter()
            .map(|s| {
                let col = used
                    .iter()
                    .position(|&k| k == (s.cpu, s.drain))
                    .unwrap_or(0);
                (col, cell(&self.config, &s.action))
            })
            .collect();
        let names: Vec<String> = used
            .iter()
            .map(|&(c, drain)| {
                if drain {
                    format!("CPU{c} store buffer")
                } else {
                    self.cpus[c as usize].name.clone()
                }
            })
            .collect();
        // Columns as wide as the readers' cells need (each row has one cell, so the
        // collapser's and populator's longer names may run into the empty columns to
        // their right), but never more than 100 columns for four CPUs.
        let content = cells
            .iter()
            .filter(|(col, _)| *col + 1 == used.len())
            .map(|(_, t)| t.chars().count())
            .chain(names.iter().map(|n| n.len()))
            .max()
            .unwrap_or(0);
        let width = (content + 2).min(MAX_WIDTH / used.len().clamp(1, 4));
        let mut out = String::new();
        let _ = writeln!(out, "/* {} */", self.config.summary());
        let row = |out: &mut String, col: usize, text: &str| {
            let line = format!("{:indent$}{text}", "", indent = col * width);
            let _ = writeln!(out, "{}", line.trim_end());
        };
        let mut head = String::new();
        let mut rule = String::new();
        for n in &names {
            let _ = write!(head, "{n:<width$}");
            let _ = write!(rule, "{:<width$}", "-".repeat(n.len()));
        }
        let _ = writeln!(out, "{}", head.trim_end());
        let _ = writeln!(out, "{}", rule.trim_end());
        for (col, text) in &cells {
            row(&mut out, *col, text);
        }
        if let Some(s) = self.steps.iter().find(|s| s.hazard.is_some()) {
            out.push('\n');
            out.push_str(&self.verdict_line(s.cpu, &s.action));
        } else if self.deadlocked {
            out.push_str("\nDEADLOCK: no CPU can step and the collapse has not finished\n");
        }
        out
    }

    /// Names which PMD value each half of a returned pair came from.
    fn provenance(&self, half_low: bool, v: u32) -> &'static str {
        let half = |p: Pmd| if half_low { p.low } else { p.high };
        let old = self.initial.pmd;
        let new = Pmd::table(self.new_table);
        match (v == half(old), v == half(new), v == 0) {
            (true, true, _) => "old and new table alike",
            (true, false, _) => "the old table",
            (false, true, _) => "the new table",
            (_, _, true) => "the cleared PMD",
            _ => "no value the PMD held",
        }
    }

    fn verdict_line(&self, cpu: u8, a: &Action) -> String {
        match (a.hazard(), *a) {
            (Some(Hazard::Torn), Action::ReloadLow { low, high, .. }) => format!(
                "TORN: CPU{cpu} returned {}, which the PMD never held during its read:\n      \
                 low {} is {}, high {} is {}.\n",
                pmd_hex(Pmd { low, high }),
                hex32(low),
                self.provenance(true, low),
                hex32(high),
                self.provenance(false, high),
            ),
            (Some(Hazard::Stale), Action::Deref { addr, .. }) => format!(
                "STALE: CPU{cpu} used page table {}, already freed by pte_free().\n",
                crate::trace::addr_hex(addr)
            ),
            _ => String::new(),
        }
    }
}
