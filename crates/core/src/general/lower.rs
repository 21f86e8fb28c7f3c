//! Lowering one call by its primitive's row: arguments resolved to the kinds the row
//! asks for, the classic no-argument forms given their defaults, and the steps emitted
//! as the knobs say (split or whole loads and stores, the flush, RCU or immediate frees).

use super::emit::{err, Emitter, Local, Origin};
use super::ir::*;
use super::lang::{Arg, Call};
use crate::knob::{Alloc, ClearKind, FreeKind, SetKind};
use crate::prim::general::{Kind, R};
use crate::prim::Prim;
use crate::scenario::syntax::{ScenarioError, Span};

impl Emitter<'_> {
    /// Lowers one call; returns the pc of its (last) instruction for a condition.
    pub(super) fn lower(
        &mut self,
        row: &'static Prim,
        call: &Call,
        dest: Option<&(String, Span)>,
    ) -> Result<usize, ScenarioError> {
        self.prim = crate::prim::index(row);
        let span = call.span;
        let classic = call.args.is_empty() && row.bare() && !row.args.is_empty();
        if !classic && call.args.len() != row.args.len() {
            return err(
                span,
                format!(
                    "{}() takes {} argument{} ({})",
                    row.name,
                    row.args.len(),
                    if row.args.len() == 1 { "" } else { "s" },
                    row.usage()
                ),
            );
        }
        let arg = |i: usize| &call.args[i];
        let dest_of =
            |me: &mut Self, kind: fn(u8) -> Local, default: &str| -> Result<u8, ScenarioError> {
                match dest {
                    Some((n, s)) => me.dest(n, kind, *s),
                    None => me.dest(default, kind, span),
                }
            };
        if dest.is_some() && matches!(row.ret, R::Nothing) {
            return err(span, format!("{}() returns nothing to assign", row.name));
        }
        let writes = matches!(
            row.kind,
            Kind::CollapseFlush
                | Kind::CollapseFlushSync
                | Kind::GetAndClear
                | Kind::PmdClear
                | Kind::Populate
                | Kind::SetHuge
                | Kind::PteClear
                | Kind::PteGetAndClear
                | Kind::SetPte
                | Kind::FreeNow
                | Kind::FreeDefer
                | Kind::TlbRemoveTable
                | Kind::AllocTable
        );
        if writes && self.walker {
            return err(span, format!("{}() changes page tables: a lockless walker (gup_fast, walker, reader) only reads them", row.name));
        }
        let pmd_arg = |me: &Self| -> Result<u8, ScenarioError> {
            if classic {
                me.default_pmd(span)
            } else {
                let (n, s) = me.name_arg(arg(0), "a PMD")?;
                me.pmd(n, s)
            }
        };
        if !matches!(
            row.kind,
            Kind::ReadLow | Kind::ReadHigh | Kind::RecheckLow | Kind::RecheckHigh
        ) {
            self.end_run();
        }
        let split = self.cfg.platform.split();
        let at = match row.kind {
            Kind::PmdLock => {
                let e = pmd_arg(self)?;
                let l = LockSrc::Pmd(e);
                if let Some((n, s)) = dest {
                    self.locals.insert(n.clone(), Local::Lock(l));
                    let _ = s;
                }
                self.take(l, span)?
            }
            Kind::PteLock => {
                let (n, s) = self.name_arg(arg(0), "a PMD value")?;
                let t = self.table(n, s)?;
                let (d, _) = dest.ok_or_else(|| {
                    ScenarioError::at(
                        span,
                        "write 'ptl = pte_lockptr(pmdval);', then spin_lock(ptl)",
                    )
                })?;
                self.locals.insert(d.clone(), Local::Lock(LockSrc::Pte(t)));
                // No step: it computes where the lock is.
                return Ok(self.code.len().saturating_sub(1));
            }
            Kind::SpinLock | Kind::SpinUnlock | Kind::SpinTrylock => {
                let l = if classic {
                    LockSrc::Pmd(self.default_pmd(span)?)
                } else {
                    let (n, s) = self.name_arg(arg(0), "a lock")?;
                    match self.locals.get(n) {
                        Some(Local::Lock(l)) => *l,
                        _ => return err(s, format!("'{n}' is not a lock: set it with 'ptl = pmd_lock(pmd);' or 'ptl = pte_lockptr(pmdval);'")),
                    }
                };
                match row.kind {
                    Kind::SpinLock => self.take(l, span)?,
                    Kind::SpinTrylock if self.held.contains(&l) => {
                        return err(span, "spin_trylock() of a lock this block holds always fails (a spinlock does not nest)")
                    }
                    Kind::SpinTrylock => {
                        // Held on the taken branch only: the compiler tracks it as held
                        // from here, and the false arm must not unlock (checked at run
                        // time as an unlock of a lock not held).
                        let pc = self.push(GOp::Trylock(l));
                        self.held.push(l);
                        pc
                    }
                    _ => {
                        match self.held.iter().rposition(|h| *h == l) {
                            Some(i) => {
                                self.held.remove(i);
                            }
                            None => {
                                return err(
                                    span,
                                    format!("{}: this lock is not held here", row.name),
                                )
                            }
                        }
                        self.push(GOp::Unlock {
                            lock: l,
                            retry: false,
                        })
                    }
                }
            }
            Kind::MmapLock { write } | Kind::IMmapLock { write } => {
                let lock = matches!(row.kind, Kind::IMmapLock { .. }) as u8;
                self.push(GOp::Rw {
                    lock,
                    write,
                    take: true,
                })
            }
            Kind::MmapUnlock { write } | Kind::IMmapUnlock { write } => {
                let lock = matches!(row.kind, Kind::IMmapUnlock { .. }) as u8;
                self.push(GOp::Rw {
                    lock,
                    write,
                    take: false,
                })
            }
            Kind::VmaStartWrite => self.push(GOp::VmaStartWrite),
            Kind::VmaStartRead => self.push(GOp::VmaStartRead),
            Kind::VmaEndRead => self.push(GOp::VmaEndRead),
            Kind::IrqOff => {
                if self.irq_off {
                    return err(span, "interrupts are already off here");
                }
                self.irq_off = true;
                self.push(GOp::IrqOff)
            }
            Kind::IrqOn => {
                if !self.irq_off {
                    return err(span, "local_irq_restore() without local_irq_save() first");
                }
                self.irq_off = false;
                self.push(GOp::IrqOn)
            }
            Kind::Flush => {
                // The flush names its PMD only to check it exists: the IPI reaches every
                // CPU of mm_cpumask whichever entry's range it covers.
                pmd_arg(self)?;
                self.ipi(GOp::Flush {
                    skip_sync: false,
                    fenced: true,
                })
            }
            Kind::BareFlush => self.push(GOp::Flush {
                skip_sync: false,
                fenced: false,
            }),
            Kind::Fence => {
                if self.cfg.memory == crate::knob::Memory::Tso {
                    self.push(GOp::Fence)
                } else {
                    return Ok(self.code.len().saturating_sub(1));
                }
            }
            Kind::LocklessSync => {
                if self.cfg.sync_is_ipi() {
                    self.ipi(GOp::Sync)
                } else {
                    return Ok(self.code.len().saturating_sub(1));
                }
            }
            Kind::SyncOne => self.ipi(GOp::Sync),
            Kind::CollapseFlush | Kind::CollapseFlushSync | Kind::GetAndClear => {
                let e = pmd_arg(self)?;
                let d = dest_of(self, Local::Value, "_pmd")?;
                self.origin.insert(d, Origin::Pmd(e));
                let mut pc = self.clear(e, d);
                if row.kind != Kind::GetAndClear {
                    let sync = row.kind == Kind::CollapseFlushSync && self.cfg.sync_is_ipi();
                    let flush = self.ipi(GOp::Flush {
                        skip_sync: sync,
                        fenced: true,
                    });
                    pc = flush;
                    if sync {
                        pc = self.ipi(GOp::Sync);
                        // A flush that sent IPIs skips the sync (and its fence).
                        self.code[flush].alt = (flush + 1) as u16;
                        self.code[flush].next = (pc + 1) as u16;
                    }
                }
                pc
            }
            Kind::PmdClear => {
                let e = pmd_arg(self)?;
                let entry = EntryRef::Pmd(e);
                if split {
                    self.push(GOp::Store {
                        entry,
                        how: Store::ClearLow,
                        src: Source::None,
                        dest: None,
                    });
                    self.push(GOp::Store {
                        entry,
                        how: Store::ClearHigh,
                        src: Source::None,
                        dest: None,
                    })
                } else {
                    self.push(GOp::Store {
                        entry,
                        how: Store::ClearPlain,
                        src: Source::None,
                        dest: None,
                    })
                }
            }
            Kind::Populate => {
                let e = pmd_arg(self)?;
                let t = if classic {
                    self.table("pgtable", span).map_err(|_| ScenarioError::at(span, "pmd_populate() installs the table pte_alloc_one() allocated: call it first"))?
                } else {
                    let (n, s) = self.name_arg(arg(1), "a table")?;
                    self.table(n, s)?
                };
                self.set(EntryRef::Pmd(e), Source::Table(t))
            }
            Kind::SetHuge => {
                let e = pmd_arg(self)?;
                let (n, s) = self.name_arg(arg(1), "a page")?;
                let p = match self.page(n, s)? {
                    PageSrc::Fixed(p) => p,
                    PageSrc::OfValue(_) => {
                        return err(s, "set_pmd_at() installs a declared page by name")
                    }
                };
                self.set(EntryRef::Pmd(e), Source::Huge(p))
            }
            Kind::GetLockless | Kind::Get | Kind::ReadAtomic => {
                let e = pmd_arg(self)?;
                let d = dest_of(self, Local::Value, "pmdval")?;
                self.origin.insert(d, Origin::Pmd(e));
                let entry = EntryRef::Pmd(e);
                self.read(
                    entry,
                    d,
                    row.kind == Kind::GetLockless,
                    split && row.kind != Kind::ReadAtomic,
                )
            }
            Kind::ReadLow | Kind::ReadHigh | Kind::RecheckLow | Kind::RecheckHigh => {
                let e = self.default_pmd(span)?;
                let d = dest_of(self, Local::Value, "pmdval")?;
                self.origin.insert(d, Origin::Pmd(e));
                let half = if matches!(row.kind, Kind::ReadLow | Kind::RecheckLow) {
                    Half::Low
                } else {
                    Half::High
                };
                let recheck = matches!(row.kind, Kind::RecheckLow | Kind::RecheckHigh);
                let entry = EntryRef::Pmd(e);
                if recheck {
                    let Some(start) = self.run_start.take() else {
                        return err(
                            span,
                            format!("{}() re-checks a read: loads must come before it", row.name),
                        );
                    };
                    let pc = self.push(GOp::Load {
                        entry,
                        step: LoadStep::Recheck(half),
                        dest: d,
                    });
                    self.code[pc].alt = start as u16;
                    pc
                } else {
                    let pc = self.push(GOp::Load {
                        entry,
                        step: LoadStep::Part(half),
                        dest: d,
                    });
                    self.run_start.get_or_insert(pc);
                    pc
                }
            }
            Kind::Test(test) => {
                if classic {
                    let e = self.default_pmd(span)?;
                    self.push(GOp::NoneNow(e))
                } else {
                    let (n, s) = self.name_arg(arg(0), "a value")?;
                    let src = self.value(n, s)?;
                    self.push(GOp::Test { src, test })
                }
            }
            Kind::PmdSame => {
                let (n, s) = self.name_arg(arg(0), "a value")?;
                let src = self.value(n, s)?;
                let (m, ms) = self.name_arg(arg(1), "a PMD")?;
                let pmd = self.pmd(m, ms)?;
                self.push(GOp::PmdSame { src, pmd })
            }
            Kind::PteSame => {
                let (n, s) = self.name_arg(arg(0), "a value")?;
                let src = self.value(n, s)?;
                let (m, ms) = self.name_arg(arg(1), "a table")?;
                let table = self.table(m, ms)?;
                let index = self.index(arg(2))?;
                self.push(GOp::PteSame { src, table, index })
            }
            Kind::PteRangeNone => {
                let (n, s) = self.name_arg(arg(0), "a table")?;
                let t = self.table(n, s)?;
                self.push(GOp::RangeNone(t))
            }
            Kind::PteOffsetMap => {
                let src = if classic {
                    self.value("pmdval", span).map_err(|_| {
                        ScenarioError::at(
                            span,
                            "pte_offset_map() uses the value a read returned: read the PMD first",
                        )
                    })?
                } else {
                    let (n, s) = self.name_arg(arg(0), "a PMD value")?;
                    self.value(n, s)?
                };
                let d = dest_of(self, Local::Table, "ptep")?;
                if let Some(o) = self.origin.get(&src).copied() {
                    self.origin.insert(d, o);
                }
                self.push(GOp::Map { src, dest: d })
            }
            Kind::PteGetLockless | Kind::PteGet | Kind::PteGetAndClear => {
                let (n, s) = self.name_arg(arg(0), "a table")?;
                let table = self.table(n, s)?;
                let index = self.index(arg(1))?;
                let d = dest_of(self, Local::Value, "pte")?;
                let from = match table {
                    TableSrc::Local(t) | TableSrc::OfValue(t) => self.origin.get(&t).copied(),
                    TableSrc::Fixed(_) => None,
                };
                match from {
                    Some(Origin::Pmd(e)) => {
                        self.origin.insert(d, Origin::Pte(e, index));
                    }
                    _ => {
                        self.origin.remove(&d);
                    }
                }
                let entry = EntryRef::Pte { table, index };
                if row.kind == Kind::PteGetAndClear {
                    self.push(GOp::Store {
                        entry,
                        how: Store::Clear,
                        src: Source::None,
                        dest: Some(d),
                    })
                } else {
                    self.read(
                        entry,
                        d,
                        row.kind == Kind::PteGetLockless,
                        split && row.kind == Kind::PteGetLockless,
                    )
                }
            }
            Kind::PteClear => {
                let (n, s) = self.name_arg(arg(0), "a table")?;
                let table = self.table(n, s)?;
                let index = self.index(arg(1))?;
                self.push(GOp::Store {
                    entry: EntryRef::Pte { table, index },
                    how: Store::ClearPlain,
                    src: Source::None,
                    dest: None,
                })
            }
            Kind::SetPte => {
                let (n, s) = self.name_arg(arg(0), "a table")?;
                let table = self.table(n, s)?;
                let index = self.index(arg(1))?;
                let (m, ms) = self.name_arg(arg(2), "a page")?;
                let p = self.page(m, ms)?;
                self.push(GOp::Store {
                    entry: EntryRef::Pte { table, index },
                    how: Store::SetPlain,
                    src: Source::Page(p),
                    dest: None,
                })
            }
            Kind::AllocTable => {
                let d = dest_of(self, Local::Table, "pgtable")?;
                let k = self.world.tables.len();
                if k >= 16 {
                    return err(span, "at most 16 tables in a scenario");
                }
                let allocated = self.world.tables.iter().filter(|t| !t.declared).count() as u64;
                if self.cfg.alloc == Alloc::Random {
                    let declared = self.world.tables.iter().filter(|t| t.declared).count();
                    if allocated > 0 || declared != 1 {
                        return err(
                            span,
                            "alloc = random draws one table's frame and checks it by its equality with the table it replaces: declare one table and allocate one",
                        );
                    }
                }
                let (addr, reuses) = match self.cfg.alloc {
                    Alloc::SameFrame => (FIRST_TABLE, Some(0)),
                    // A placeholder: each run draws the frame, each pass of the search
                    // takes one of its equality classes.
                    Alloc::Random => (crate::machine::default_table(Alloc::Random), None),
                    // The first declared table's low word under another high word: the
                    // ABA MODEL.md's torn read needs.
                    _ => (FIRST_TABLE + ((allocated + 1) << 32), None),
                };
                if reuses.is_some() && !self.world.tables.first().is_some_and(|t| t.declared) {
                    return err(
                        span,
                        "alloc = same-frame takes the first declared table's frame: declare one",
                    );
                }
                self.world.tables.push(TableDef {
                    name: format!("{}#{}", dest.map_or("pgtable", |d| d.0.as_str()), self.line),
                    addr,
                    declared: false,
                    ptes: [0; PTES],
                    reuses,
                });
                self.push(GOp::Alloc {
                    table: k as u8,
                    dest: d,
                })
            }
            Kind::FreeNow | Kind::FreeDefer | Kind::TlbRemoveTable => {
                let t = if classic {
                    // The table the block's clear returned; after pmd_clear(), which
                    // returns nothing, the table the PMD held at the start (the classic
                    // old table).
                    match self.table("_pmd", span) {
                        Ok(t) => t,
                        Err(_) if self.world.tables.first().is_some_and(|t| t.declared) => {
                            TableSrc::Fixed(0)
                        }
                        Err(_) => return Err(ScenarioError::at(span, format!("{}() frees the table this block cleared from the PMD: clear it first, or name the table", row.name))),
                    }
                } else {
                    let (n, s) = self.name_arg(arg(0), "a table")?;
                    self.table(n, s)?
                };
                let how = match row.kind {
                    Kind::FreeNow => FreeHow::Now,
                    Kind::FreeDefer if self.cfg.free == FreeKind::Immediate => FreeHow::Now,
                    Kind::FreeDefer => FreeHow::Rcu,
                    _ if self.cfg.rcu_table_free() => FreeHow::Rcu,
                    _ => FreeHow::Now,
                };
                self.push(GOp::Free { table: t, how })
            }
            Kind::GetPage
            | Kind::TryGetPage
            | Kind::PutPage
            | Kind::MaybePinned
            | Kind::GupReturn => {
                let (n, s) = self.name_arg(arg(0), "a page")?;
                let p = self.page(n, s)?;
                match row.kind {
                    Kind::GetPage => self.push(GOp::GetPage(p)),
                    Kind::TryGetPage => self.push(GOp::TryGetPage(p)),
                    Kind::PutPage => self.push(GOp::PutPage(p)),
                    Kind::MaybePinned => self.push(GOp::Pinned(p)),
                    _ => {
                        let PageSrc::OfValue(src) = p else {
                            return err(
                                s,
                                "gup_return() returns the page of a PTE value the walker read",
                            );
                        };
                        let Some(Origin::Pte(pmd, index)) = self.origin.get(&src).copied() else {
                            return err(s, format!("gup_return() needs '{n}' read by ptep_get_lockless() through a table that pte_offset_map() took from a PMD read in this block"));
                        };
                        self.push(GOp::GupReturn { src, pmd, index })
                    }
                }
            }
            Kind::Nothing => return Ok(self.code.len().saturating_sub(1)),
            Kind::WriteOnce | Kind::ReadOnce | Kind::Xchg => self.word(row, call, dest)?,
        };
        Ok(at)
    }

    /// `WRITE_ONCE(x, 1);`, `r0 = READ_ONCE(x);`, `[r0 =] xchg(x, 1);`: the classic
    /// language's shared words and registers, recorded by the same builder
    /// ([`crate::program::words`]), so that the values, limits and the `exists`
    /// condition's checks are the classic machine's.
    fn word(
        &mut self,
        row: &'static Prim,
        call: &Call,
        dest: Option<&(String, Span)>,
    ) -> Result<usize, ScenarioError> {
        let (var, vs) = self.name_arg(&call.args[0], "a shared word")?;
        if self.world.pmd_names.contains_key(var)
            || self.world.table_names.contains_key(var)
            || self.world.page_names.contains_key(var)
        {
            return err(
                vs,
                format!("'{var}' is declared as an entry, table or page, not a shared word"),
            );
        }
        let value = match call.args.get(1) {
            None => None,
            Some(Arg::Num(n, s)) => Some((*n, *s)),
            Some(a) => return err(a.span(), "expected a number to store, such as 1"),
        };
        if row.kind == Kind::ReadOnce && dest.is_none() {
            return err(
                call.span,
                "write 'r0 = READ_ONCE(x);': the value goes into a register",
            );
        }
        if let Some((r, s)) = dest {
            if self.locals.contains_key(r) {
                return err(
                    *s,
                    format!("'{r}' is a local of this block, not a register"),
                );
            }
        }
        let pc = self.code.len();
        // Not `buffered`: the general machine buffers a word store as its word and
        // value, never by the classic machine's 4-bit store code, so it takes none (and
        // has no bound on distinct plain stores).
        let a = self
            .words
            .access(pc, &(var.to_string(), vs), value, dest, false)?;
        Ok(self.push(match row.kind {
            Kind::WriteOnce => GOp::WriteOnce(a),
            Kind::ReadOnce => GOp::ReadOnce(a),
            _ => GOp::Xchg(a),
        }))
    }

    /// An IPI send as the kernel's x2APIC code makes it: where `weak_wrmsr_fence()`
    /// orders it (TSO, an Intel x2APIC `WRMSR`) the fence is a step of its own before
    /// the send, as the classic rows' `ipi_ops` (`prim/table.rs`) has it. Returns the
    /// send's pc.
    fn ipi(&mut self, op: GOp) -> usize {
        let c = &self.cfg;
        if c.memory == crate::knob::Memory::Tso
            && c.apic == crate::knob::Apic::X2apic
            && op.tso(c) == crate::prim::Tso::OrderedIpi
        {
            self.push(GOp::Fence);
        }
        self.push(op)
    }

    pub(super) fn take(&mut self, l: LockSrc, span: Span) -> Result<usize, ScenarioError> {
        if self.held.contains(&l) {
            return err(
                span,
                "this lock is already held here (a spinlock does not nest: a deadlock)",
            );
        }
        self.held.push(l);
        Ok(self.push(GOp::Lock(l)))
    }

    /// The PMD clear as `clear` says, its old value into `d`.
    pub(super) fn clear(&mut self, e: u8, d: u8) -> usize {
        let entry = EntryRef::Pmd(e);
        match self.cfg.clear {
            ClearKind::Xchg64 => self.push(GOp::Store {
                entry,
                how: Store::Clear,
                src: Source::None,
                dest: Some(d),
            }),
            ClearKind::SplitLowFirst => {
                self.push(GOp::Store {
                    entry,
                    how: Store::ClearLowXchg,
                    src: Source::None,
                    dest: Some(d),
                });
                self.push(GOp::Store {
                    entry,
                    how: Store::ClearHigh,
                    src: Source::None,
                    dest: None,
                })
            }
        }
    }

    /// A table installed as `set` says.
    pub(super) fn set(&mut self, entry: EntryRef, src: Source) -> usize {
        match self.cfg.set {
            SetKind::Xchg64 => self.push(GOp::Store {
                entry,
                how: Store::Set,
                src,
                dest: None,
            }),
            SetKind::SplitHighFirst => {
                self.push(GOp::Store {
                    entry,
                    how: Store::SetHigh,
                    src,
                    dest: None,
                });
                self.push(GOp::Store {
                    entry,
                    how: Store::SetLow,
                    src,
                    dest: None,
                })
            }
        }
    }

    /// A read of an entry into `d`: split (with a re-check if `lockless`) or whole.
    pub(super) fn read(&mut self, entry: EntryRef, d: u8, lockless: bool, split: bool) -> usize {
        if !split {
            return self.push(GOp::Load {
                entry,
                step: LoadStep::Whole,
                dest: d,
            });
        }
        let first = self.push(GOp::Load {
            entry,
            step: LoadStep::Part(Half::Low),
            dest: d,
        });
        if lockless {
            self.push(GOp::Load {
                entry,
                step: LoadStep::Part(Half::High),
                dest: d,
            });
            let pc = self.push(GOp::Load {
                entry,
                step: LoadStep::Recheck(Half::Low),
                dest: d,
            });
            self.code[pc].alt = first as u16;
            pc
        } else {
            self.push(GOp::Load {
                entry,
                step: LoadStep::Last(Half::High),
                dest: d,
            })
        }
    }
}
