//! What a file's settings and declarations make: the knobs (each checked against what
//! the kernel can have), the world the run starts from (PMDs, tables with their PTEs,
//! pages with their counts), and whether the file needs the general machine at all.

use super::ir::*;
use super::lang::{Decl, GScenario, GStmt, Init};
use crate::knob::{Knob, Memory, Mode};
use crate::scenario::syntax::{ScenarioError, Span};
use std::collections::HashMap;

fn err<T>(span: Span, msg: impl Into<String>) -> Result<T, ScenarioError> {
    Err(ScenarioError::at(span, msg))
}

pub(super) struct World {
    pub(super) pmds: Vec<(String, u64)>,
    pub(super) pmd_names: HashMap<String, u8>,
    pub(super) tables: Vec<TableDef>,
    pub(super) table_names: HashMap<String, u8>,
    pub(super) pages: Vec<(String, u64, u32)>,
    pub(super) page_names: HashMap<String, u8>,
}

/// The knobs a file's settings give.
pub(super) fn configure(s: &GScenario, walker_blocks: u32) -> Result<GConfig, ScenarioError> {
    let mut c = GConfig {
        readers: walker_blocks.max(1),
        ..GConfig::default()
    };
    let mut flush: Option<(Flush, Span)> = None;
    let mut readers_set = false;
    for (k, v, span) in &s.settings {
        let bad = |m: String| ScenarioError::at(*span, m);
        match k.as_str() {
            "mode" => {
                c.platform = if v == "native-64" {
                    Platform::Native64
                } else {
                    let m: Mode = v.parse().map_err(|_| {
                        bad(format!(
                            "mode: unknown value '{v}' (allowed: {}, native-64)",
                            Mode::names()
                        ))
                    })?;
                    Platform::Classic(m)
                };
            }
            "flush" => {
                let f = Flush::NAMES.iter().find(|(n, _)| n == v).ok_or_else(|| {
                    bad(format!(
                        "flush: unknown value '{v}' (allowed: auto, ipi, invlpgb, rar, hypercall)"
                    ))
                })?;
                flush = f.1.map(|f| (f, *span));
            }
            "memory" => {
                let m: Memory = v
                    .parse()
                    .map_err(|e: crate::knob::ConfigError| bad(e.to_string()))?;
                c.memory = m;
            }
            "apic" => {
                c.apic = crate::knob::Apic::parse(v).map_err(|e| bad(e.to_string()))?;
            }
            "sync" => return Err(bad(
                "'sync' is not a setting in a scenario: the order of the lines is the placement"
                    .into(),
            )),
            _ => {
                let setting = crate::knob::Setting::parse(k, v).map_err(|e| bad(e.to_string()))?;
                use crate::knob::Setting as S;
                match setting {
                    S::Cpus(n) => c.cpus = n,
                    S::Readers(n) => {
                        c.readers = n;
                        readers_set = true;
                    }
                    S::AnyReaders => {
                        c.any_readers = true;
                        readers_set = true;
                    }
                    S::Paravirt(b) => c.paravirt = b,
                    S::Reader(r) => c.reader = r,
                    S::Alloc(a) => c.alloc = a,
                    S::Clear(x) => c.clear = x,
                    S::Set(x) => c.set = x,
                    S::Free(x) => c.free = x,
                    S::Mode(_) | S::Sync(_) | S::Memory(_) | S::Apic(_) => {}
                }
            }
        }
    }
    let _ = readers_set;
    c.flush = match flush {
        None => c.platform.default_flush(),
        Some((f, span)) => {
            let bad = |m: &str| Err(ScenarioError::at(span, m.to_string()));
            match (c.platform, f) {
                (Platform::Classic(_), Flush::Invlpgb | Flush::Rar) => {
                    return bad(&format!(
                        "flush = {}: {} is 64-bit only (the kernel enables it on x86-64; PAE kernels flush by IPI or hypercall): use mode = native-64",
                        f.name(),
                        if f == Flush::Invlpgb { "AMD's INVLPGB" } else { "Intel's RAR" }
                    ))
                }
                (Platform::Classic(Mode::XenPv | Mode::HyperV), Flush::Ipi) => {
                    return bad("flush = ipi: a Xen PV or Hyper-V guest flushes by hypercall (xen_flush_tlb_multi(), hyperv_flush_tlb_multi())")
                }
                (Platform::Classic(Mode::NativePae | Mode::NonPae) | Platform::Native64, Flush::Hypercall) => {
                    return bad("flush = hypercall needs a paravirt guest: mode = xen-pv or hyperv")
                }
                _ => f,
            }
        }
    };
    Ok(c)
}

/// Whether a parsed file needs the general machine: it declares entries, tables or
/// pages, names a kernel path the classic machine lacks, calls a primitive with
/// arguments or one only the general machine has, loops with `for`, leaves with
/// `break` or `return`, asks a general hazard, or sets `flush` or `mode = native-64`.
pub fn needs_general(s: &GScenario) -> bool {
    const CLASSIC_ACTORS: [&str; 5] = ["khugepaged", "fault", "gup_fast", "walker", "reader"];
    fn stmts(v: &[GStmt]) -> bool {
        v.iter().any(|s| match s {
            GStmt::Call { dest, call } => {
                let shared = matches!(call.name.as_str(), "WRITE_ONCE" | "READ_ONCE" | "xchg");
                !shared
                    && (dest.is_some()
                        || !call.args.is_empty()
                        || crate::prim::lookup(&call.name).is_some_and(|p| p.classic.is_none()))
            }
            GStmt::If {
                cond, then, other, ..
            } => !cond.args.is_empty() || cond.name != "pmd_none" || stmts(then) || stmts(other),
            GStmt::DoWhileInstalled { body, .. } => stmts(body),
            GStmt::For { .. } | GStmt::Break(_) | GStmt::Return(_) => true,
        })
    }
    !s.decls.is_empty()
        || s.blocks
            .iter()
            .any(|b| !CLASSIC_ACTORS.contains(&b.actor.as_str()) || stmts(&b.body))
        || s.exists
            .hazards
            .iter()
            .any(|h| crate::hazard::Hazard::GENERAL.contains(h))
        || s.settings
            .iter()
            .any(|(k, v, _)| k == "flush" || (k == "mode" && v == "native-64"))
}

pub(super) fn world(s: &GScenario) -> Result<World, ScenarioError> {
    let mut w = World {
        pmds: Vec::new(),
        pmd_names: HashMap::new(),
        tables: Vec::new(),
        table_names: HashMap::new(),
        pages: Vec::new(),
        page_names: HashMap::new(),
    };
    let dup = |span: Span, n: &str| err(span, format!("'{n}' is declared twice"));
    // Pages and tables first, so that entries may name them in any order.
    for d in &s.decls {
        match d {
            Decl::Page { name, count, span } => {
                if w.page_names.contains_key(name) || w.table_names.contains_key(name) {
                    return dup(*span, name);
                }
                if w.pages.len() >= 16 {
                    return err(*span, "at most 16 pages in a scenario");
                }
                if *count > 100 {
                    return err(*span, "a page's count is at most 100 in this model");
                }
                let addr = FIRST_PAGE + ((w.pages.len() as u64) << 21);
                w.page_names.insert(name.clone(), w.pages.len() as u8);
                w.pages.push((name.clone(), addr, *count));
            }
            Decl::Table { name, span }
            | Decl::Pte {
                table: name, span, ..
            } => {
                if w.page_names.contains_key(name) {
                    return dup(*span, name);
                }
                if matches!(d, Decl::Table { .. }) && w.table_names.contains_key(name) {
                    return dup(*span, name);
                }
                declare_table(&mut w, name, *span)?;
            }
            Decl::Pmd {
                init: Init::Table(t, ts),
                ..
            } => {
                if w.page_names.contains_key(t) {
                    return err(*ts, format!("'{t}' is a page, not a table"));
                }
                declare_table(&mut w, t, *ts)?;
            }
            Decl::Pmd { .. } => {}
        }
    }
    for d in &s.decls {
        match d {
            Decl::Pmd { name, init, span } => {
                if w.pmd_names.contains_key(name) {
                    return dup(*span, name);
                }
                if w.pmds.len() >= 8 {
                    return err(*span, "at most 8 PMDs in a scenario");
                }
                let v = match init {
                    Init::None => 0,
                    Init::Table(t, _) => {
                        let k = w.table_names[t] as usize;
                        (w.tables[k].addr & !0xfff) | TABLE_FLAGS
                    }
                    Init::Huge(p, ps) => match w.page_names.get(p) {
                        Some(&k) => w.pages[k as usize].1 | HUGE_FLAGS,
                        None => {
                            return err(
                                *ps,
                                format!(
                                    "'{p}' is not a declared page (declare it: 'page {p} = 1;')"
                                ),
                            )
                        }
                    },
                    Init::Page(_, ps) => {
                        return err(
                            *ps,
                            "a PMD holds none, table(T) or huge(P); page(P) is for PTEs",
                        )
                    }
                };
                w.pmd_names.insert(name.clone(), w.pmds.len() as u8);
                w.pmds.push((name.clone(), v));
            }
            Decl::Pte {
                table,
                index,
                init,
                span,
            } => {
                if *index as usize >= PTES {
                    return err(
                        *span,
                        format!("a table has PTEs 0 to {} in this model", PTES - 1),
                    );
                }
                let v = match init {
                    Init::None => 0,
                    Init::Page(p, ps) => match w.page_names.get(p) {
                        Some(&k) => w.pages[k as usize].1 | TABLE_FLAGS,
                        None => {
                            return err(
                                *ps,
                                format!(
                                    "'{p}' is not a declared page (declare it: 'page {p} = 1;')"
                                ),
                            )
                        }
                    },
                    Init::Table(_, ps) | Init::Huge(_, ps) => {
                        return err(*ps, "a PTE holds none or page(P)")
                    }
                };
                let k = w.table_names[table] as usize;
                w.tables[k].ptes[*index as usize] = v;
            }
            _ => {}
        }
    }
    // The classic file declares nothing: one PMD holding the old table.
    if w.pmds.is_empty() {
        declare_table(&mut w, "t0", Span::default())?;
        let v = (w.tables[0].addr & !0xfff) | TABLE_FLAGS;
        w.pmd_names.insert("pmd".into(), 0);
        w.pmds.push(("pmd".into(), v));
    }
    Ok(w)
}

fn declare_table(w: &mut World, name: &str, span: Span) -> Result<(), ScenarioError> {
    if w.table_names.contains_key(name) {
        return Ok(());
    }
    if w.tables.len() >= 8 {
        return err(span, "at most 8 declared tables in a scenario");
    }
    let addr = FIRST_TABLE + ((w.tables.len() as u64) << 12);
    w.table_names.insert(name.to_string(), w.tables.len() as u8);
    w.tables.push(TableDef {
        name: name.to_string(),
        addr,
        declared: true,
        ptes: [0; PTES],
        reuses: None,
    });
    Ok(())
}
