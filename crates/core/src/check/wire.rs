//! The messages of a search split over workers that share no memory (`parts`): what the
//! coordinator asks of the parts, what the parts send each other and what they answer,
//! as bytes, so that any transport carries them (Web Workers' transferred buffers, or a
//! queue in a test). Little-endian fixed fields after a tag byte; a batch of candidates
//! is 25 bytes a candidate, read in place.

/// Where a message goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum To {
    /// The part numbered so.
    Part(usize),
    /// Every part.
    All,
    Coordinator,
}

/// A message and where it goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Post {
    pub to: To,
    pub bytes: Vec<u8>,
}

/// A hazard a part met while expanding its share of a layer: the first in its order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Met {
    /// Where one thread meets it: the state's global index, then 0 for a hazard of the
    /// state itself or the choice's place among the state's choices (from 1).
    pub(super) key: u64,
    pub(super) hazard: u8,
    /// The choice's code, or `NO_STEP` for a hazard of the state itself.
    pub(super) step: u8,
}

pub(super) const NO_STEP: u8 = u8::MAX;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Msg {
    /// A new search (the last one's store is dropped).
    Start {
        search: u32,
        table: u64,
        reduce: bool,
    },
    /// The layer's new states in global order, as the part each belongs to; the first
    /// has global index `first`. `go`: expand them.
    Number {
        search: u32,
        first: u32,
        go: bool,
        owners: Vec<u8>,
    },
    /// Transitions taken from this layer's states with global index below `below`.
    Count {
        search: u32,
        below: u32,
    },
    /// The stored state with global index `idx`, asked of every part.
    Ask {
        search: u32,
        idx: u32,
    },
    /// Successors for the part that owns them: `body` is candidates of `CAND` bytes.
    Batch {
        search: u32,
        layer: u32,
        body: Vec<u8>,
    },
    Expanded {
        search: u32,
        layer: u32,
        transitions: u64,
        met: Option<Met>,
    },
    /// The part's new states' keys, sorted; the bytes its store holds; whether its
    /// memory budget refused a state.
    Keys {
        search: u32,
        layer: u32,
        part: u8,
        bytes: u64,
        full: bool,
        keys: Vec<u64>,
    },
    Counted {
        search: u32,
        transitions: u64,
    },
    Parent {
        search: u32,
        idx: u32,
        parent: u32,
        state: u128,
    },
}

/// Bytes of one candidate in a batch: the packed state, its key, its choice.
pub(super) const CAND: usize = 25;

/// Appends a candidate to a batch's body.
#[inline(always)]
pub(super) fn put_cand(body: &mut Vec<u8>, y: u128, key: u64, via: u8) {
    body.extend_from_slice(&y.to_le_bytes());
    body.extend_from_slice(&key.to_le_bytes());
    body.push(via);
}

/// The candidates of a batch's body.
pub(super) fn cands(body: &[u8]) -> impl Iterator<Item = (u128, u64, u8)> + '_ {
    body.chunks_exact(CAND).map(|c| {
        let y = u128::from_le_bytes(c[..16].try_into().expect("16 bytes"));
        let key = u64::from_le_bytes(c[16..24].try_into().expect("8 bytes"));
        (y, key, c[24])
    })
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (a, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*a)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|a| a[0])
    }
    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_le_bytes)
    }
    fn u128(&mut self) -> Option<u128> {
        self.take().map(u128::from_le_bytes)
    }
    fn rest(self) -> Vec<u8> {
        self.0.to_vec()
    }
}

impl Msg {
    pub(super) fn search(&self) -> u32 {
        match *self {
            Msg::Start { search, .. }
            | Msg::Number { search, .. }
            | Msg::Count { search, .. }
            | Msg::Ask { search, .. }
            | Msg::Batch { search, .. }
            | Msg::Expanded { search, .. }
            | Msg::Keys { search, .. }
            | Msg::Counted { search, .. }
            | Msg::Parent { search, .. } => search,
        }
    }

    pub(super) fn encode(&self) -> Vec<u8> {
        let mut b = Vec::new();
        let search = self.search().to_le_bytes();
        match self {
            Msg::Start { table, reduce, .. } => {
                b.push(0);
                b.extend_from_slice(&search);
                b.extend_from_slice(&table.to_le_bytes());
                b.push(*reduce as u8);
            }
            Msg::Number {
                first, go, owners, ..
            } => {
                b.push(1);
                b.extend_from_slice(&search);
                b.extend_from_slice(&first.to_le_bytes());
                b.push(*go as u8);
                b.extend_from_slice(owners);
            }
            Msg::Count { below, .. } => {
                b.push(2);
                b.extend_from_slice(&search);
                b.extend_from_slice(&below.to_le_bytes());
            }
            Msg::Ask { idx, .. } => {
                b.push(3);
                b.extend_from_slice(&search);
                b.extend_from_slice(&idx.to_le_bytes());
            }
            Msg::Batch { layer, body, .. } => {
                b.reserve(9 + body.len());
                b.push(4);
                b.extend_from_slice(&search);
                b.extend_from_slice(&layer.to_le_bytes());
                b.extend_from_slice(body);
            }
            Msg::Expanded {
                layer,
                transitions,
                met,
                ..
            } => {
                b.push(5);
                b.extend_from_slice(&search);
                b.extend_from_slice(&layer.to_le_bytes());
                b.extend_from_slice(&transitions.to_le_bytes());
                if let Some(m) = met {
                    b.extend_from_slice(&m.key.to_le_bytes());
                    b.push(m.hazard);
                    b.push(m.step);
                }
            }
            Msg::Keys {
                layer,
                part,
                bytes,
                full,
                keys,
                ..
            } => {
                b.reserve(19 + keys.len() * 8);
                b.push(6);
                b.extend_from_slice(&search);
                b.extend_from_slice(&layer.to_le_bytes());
                b.push(*part);
                b.extend_from_slice(&bytes.to_le_bytes());
                b.push(*full as u8);
                for k in keys {
                    b.extend_from_slice(&k.to_le_bytes());
                }
            }
            Msg::Counted { transitions, .. } => {
                b.push(7);
                b.extend_from_slice(&search);
                b.extend_from_slice(&transitions.to_le_bytes());
            }
            Msg::Parent {
                idx, parent, state, ..
            } => {
                b.push(8);
                b.extend_from_slice(&search);
                b.extend_from_slice(&idx.to_le_bytes());
                b.extend_from_slice(&parent.to_le_bytes());
                b.extend_from_slice(&state.to_le_bytes());
            }
        }
        b
    }

    /// The message in `b`, or `None` for bytes no part or coordinator wrote.
    pub(super) fn decode(b: &[u8]) -> Option<Msg> {
        let (&tag, rest) = b.split_first()?;
        let mut r = Reader(rest);
        let search = r.u32()?;
        let msg = match tag {
            0 => Msg::Start {
                search,
                table: r.u64()?,
                reduce: r.u8()? != 0,
            },
            1 => Msg::Number {
                search,
                first: r.u32()?,
                go: r.u8()? != 0,
                owners: r.rest(),
            },
            2 => Msg::Count {
                search,
                below: r.u32()?,
            },
            3 => Msg::Ask {
                search,
                idx: r.u32()?,
            },
            4 => {
                let layer = r.u32()?;
                let body = r.rest();
                if body.len() % CAND != 0 {
                    return None;
                }
                Msg::Batch {
                    search,
                    layer,
                    body,
                }
            }
            5 => Msg::Expanded {
                search,
                layer: r.u32()?,
                transitions: r.u64()?,
                met: match r.0.is_empty() {
                    true => None,
                    false => Some(Met {
                        key: r.u64()?,
                        hazard: r.u8()?,
                        step: r.u8()?,
                    }),
                },
            },
            6 => {
                let (layer, part) = (r.u32()?, r.u8()?);
                let (bytes, full) = (r.u64()?, r.u8()? != 0);
                if r.0.len() % 8 != 0 {
                    return None;
                }
                let keys =
                    r.0.chunks_exact(8)
                        .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
                        .collect();
                Msg::Keys {
                    search,
                    layer,
                    part,
                    bytes,
                    full,
                    keys,
                }
            }
            7 => Msg::Counted {
                search,
                transitions: r.u64()?,
            },
            8 => Msg::Parent {
                search,
                idx: r.u32()?,
                parent: r.u32()?,
                state: r.u128()?,
            },
            _ => return None,
        };
        Some(msg)
    }
}
