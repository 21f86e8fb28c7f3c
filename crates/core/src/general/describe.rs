//! The general machine's steps in words: what a choice would do, in kernel terms, and
//! why one cannot be taken now. Traces, the page and replay errors read them. One more
//! `impl` of [`GMachine`].

use super::ir::{GOp, Half, LoadStep, Store, DONE};
use super::machine::{GChoice, GMachine};

impl GMachine {
    /// Why `ch` cannot be taken now, or `None` if it can.
    pub fn why_disabled(&self, ch: GChoice) -> Option<String> {
        if ch.cpu >= self.prog.cpus {
            return Some(format!(
                "there is no CPU{} (the machine has {} CPUs)",
                ch.cpu, self.prog.cpus
            ));
        }
        if self.is_enabled(ch) {
            return None;
        }
        let name = self.prog.cpu_name(ch.cpu);
        let no_new = || format!("{name} starts no new iteration: the other blocks are done");
        if ch.ack && ch.drain {
            return Some("a step is an answer or a drain, not both".into());
        }
        if ch.drain {
            return Some(format!("{name}'s store buffer is empty"));
        }
        if ch.ack {
            if self.host_schedules(ch.cpu) {
                return Some(if !self.st.sb[ch.cpu as usize].is_empty() {
                    format!("the host does not preempt or resume {name} before its store buffer drains (a VM exit is serializing)")
                } else {
                    format!("the host does not preempt {name} once the writers are done")
                });
            }
            return Some(if self.st.irq_off >> ch.cpu & 1 == 1 {
                format!("{name} has interrupts disabled")
            } else if self.st.pending.iter().all(|p| p >> ch.cpu & 1 == 0) {
                format!("{name} has no IPI pending")
            } else {
                format!("{name} takes no interrupt before its store buffer drains")
            });
        }
        Some(match self.op(ch.cpu) {
            GOp::Done => format!("{name} has finished"),
            _ if self.st.preempted >> ch.cpu & 1 == 1 => {
                format!("{name}'s vCPU is preempted by the host")
            }
            _ if self.st.pending[ch.cpu as usize] != 0 => {
                format!("{name} waits for its IPIs to be answered")
            }
            op if self.buffer_blocks(ch.cpu, op).is_some() => {
                format!(
                    "{name} {}",
                    self.buffer_blocks(ch.cpu, op).unwrap_or_default()
                )
            }
            // Whatever its first step would wait for.
            _ if self.stopped() >> ch.cpu & 1 == 1 => no_new(),
            GOp::Lock(_) => format!("{name} spins on a lock another CPU holds"),
            GOp::Rw { .. } => format!("{name} sleeps on a reader-writer lock"),
            GOp::VmaStartWrite => format!("{name} waits for the VMA's readers"),
            GOp::Alloc { .. } => {
                format!("{name} waits for the old frame to be freed (alloc = same-frame)")
            }
            _ => no_new(),
        })
    }

    /// What `ch` would do, in kernel terms (before it is taken).
    pub fn describe(&self, ch: GChoice) -> String {
        if ch.ack {
            return if !self.host_schedules(ch.cpu) {
                "answers the IPI".into()
            } else if self.st.preempted >> ch.cpu & 1 == 1 {
                "the host resumes its vCPU (it flushes its TLB)".into()
            } else if self.deliverable(ch.cpu) {
                "answers the IPI".into()
            } else {
                "the host preempts its vCPU".into()
            };
        }
        if ch.drain {
            return self.describe_drain(ch.cpu);
        }
        let pc = self.st.pc[ch.cpu as usize];
        if pc == DONE {
            return "done".into();
        }
        let ins = self.prog.code[pc as usize];
        let prim = crate::prim::PRIMS[ins.prim as usize].name;
        let what = match ins.op {
            GOp::Load { step, .. } => match step {
                LoadStep::Part(h) | LoadStep::Last(h) => format!("load {}", half_name(h)),
                LoadStep::Recheck(h) => format!("re-check {}", half_name(h)),
                LoadStep::Whole => "load the whole entry".into(),
            },
            GOp::Store { how, .. } => match how {
                Store::Clear => "xchg the entry to 0".into(),
                Store::ClearPlain => "store 0 to the entry".into(),
                Store::SetPlain => "store the new value".into(),
                Store::ClearLowXchg => "xchg the low word to 0".into(),
                Store::ClearLow => "store 0 to the low word".into(),
                Store::ClearHigh => "store 0 to the high word".into(),
                Store::Set => "store the new value".into(),
                Store::SetHigh => "store the new high word".into(),
                Store::SetLow => "store the new low word".into(),
            },
            GOp::Flush { .. } => match self.prog.cfg.flush {
                super::ir::Flush::Ipi => "flush: IPI mm_cpumask and wait".into(),
                f => format!("flush ({}): waits for no walker", f.name()),
            },
            GOp::Sync => "IPI every other CPU and wait".into(),
            GOp::Fence if !matches!(prim, "weak_wrmsr_fence" | "smp_mb") => {
                "weak_wrmsr_fence(): wait for an empty store buffer before the IPI".into()
            }
            GOp::WriteOnce(_) | GOp::ReadOnce(_) | GOp::Xchg(_) => {
                self.describe_word(ch.cpu, ins.op)
            }
            _ => String::new(),
        };
        let what = if self.buffers(ins.op) && !what.is_empty() {
            format!("{what}, into the store buffer")
        } else {
            what
        };
        if what.is_empty() {
            format!("{prim}() (line {})", ins.line)
        } else {
            format!("{prim}(): {what} (line {})", ins.line)
        }
    }
}

fn half_name(h: Half) -> &'static str {
    match h {
        Half::Low => "the low word",
        Half::High => "the high word",
    }
}
