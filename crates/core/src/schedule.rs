//! Schedules as strings: `ts1.HEADER.STEPS.CHECK`, every character URL-safe; a run of a
//! scenario file that is not a built-in placement is `ts2.HEADER.HASH.STEPS.CHECK`, where
//! HASH names the scenario's program ([`crate::scenario::program_hash`]), so that a
//! schedule is never replayed on another scenario.
//!
//! A schedule carries everything a replay needs: the configuration, the populator's new
//! table (drawn per run when `alloc=random`) and the sequence of choices. HEADER is
//! base64url of a few bytes of configuration; STEPS has one character per step for
//! machines of up to 31 CPUs (two beyond); CHECK is a 12-bit checksum over both, so a
//! typo or a truncated link is reported instead of replaying something else.

use crate::codec::{b64_value, decode_b64, encode_b64, B64};
use crate::config::{
    Alloc, Apic, ClearKind, Config, FreeKind, Knob, Memory, Mode, ReaderKind, SetKind,
    SyncPlacement,
};
use crate::machine::Choice;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The format version this build writes and reads for the built-in placements.
pub const VERSION: &str = "ts1";
/// The format version of a scenario file's schedules.
pub const VERSION_SCENARIO: &str = "ts2";

/// One run, replayable: configuration, new table, and the choices in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    pub config: Config,
    pub new_table: u64,
    pub choices: Vec<Choice>,
}

/// Why a schedule string was refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleError(pub String);

impl fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed schedule: {}", self.0)
    }
}

impl std::error::Error for ScheduleError {}

fn err<T>(msg: impl Into<String>) -> Result<T, ScheduleError> {
    Err(ScheduleError(msg.into()))
}

fn index_of<K: Knob>(v: K) -> u8 {
    K::ALL.iter().position(|&x| x == v).unwrap_or(0) as u8
}

fn knob_at<K: Knob>(i: u8) -> Result<K, ScheduleError> {
    K::ALL.get(i as usize).copied().ok_or_else(|| {
        ScheduleError(format!(
            "unknown {} code {i} (made by a newer tornsim?)",
            K::FIELD
        ))
    })
}

pub(crate) fn checksum(parts: &[&str]) -> u16 {
    // FNV-1a, folded to 12 bits.
    let mut h: u32 = 0x811c_9dc5;
    for p in parts {
        for &b in p.as_bytes() {
            h = (h ^ b as u32).wrapping_mul(0x0100_0193);
        }
        h = (h ^ b'.' as u32).wrapping_mul(0x0100_0193);
    }
    ((h >> 20) ^ (h & 0xfff)) as u16 & 0xfff
}

/// The parts joined by dots, then the checksum over them as two more characters: a
/// schedule string as [`Schedule::decode_with`] checks it.
pub(crate) fn seal(parts: &[&str]) -> String {
    let sum = checksum(parts);
    format!(
        "{}.{}{}",
        parts.join("."),
        B64[(sum >> 6) as usize] as char,
        B64[(sum & 63) as usize] as char
    )
}

impl Schedule {
    /// The string form.
    pub fn encode(&self) -> String {
        let c = &self.config;
        let mut bytes = vec![
            (index_of(c.mode) & 3)
                | index_of(c.sync) << 2
                | index_of(c.reader) << 4
                | (c.paravirt as u8) << 5
                | index_of(c.clear) << 6
                | index_of(c.set) << 7,
            // Modes past the first four spill into bit 4 of the second byte.
            index_of(c.alloc)
                | index_of(c.free) << 2
                | (c.cpus.is_some() as u8) << 3
                | (index_of(c.mode) >> 2) << 4
                | index_of(c.memory) << 5
                | index_of(c.apic) << 6,
            c.cpu_count() as u8,
            c.readers as u8,
        ];
        // PAE addresses fit in 36 bits; five bytes hold them.
        bytes.extend_from_slice(&(self.new_table >> 12).to_le_bytes()[..4]);
        let header = encode_b64(&bytes);
        let hash = c
            .scenario
            .as_ref()
            .map(|s| encode_b64(&crate::scenario::program_hash(s).to_le_bytes()));
        let mut steps = String::with_capacity(self.choices.len());
        for ch in &self.choices {
            let code = ch.code();
            if code < 62 {
                steps.push(B64[code as usize] as char);
            } else if code < 126 {
                steps.push('-');
                steps.push(B64[(code - 62) as usize] as char);
            } else {
                steps.push('_');
                steps.push(B64[(code - 126) as usize] as char);
            }
        }
        let mut parts = vec![
            if hash.is_some() {
                VERSION_SCENARIO
            } else {
                VERSION
            },
            &header,
        ];
        if let Some(h) = &hash {
            parts.push(h);
        }
        parts.push(&steps);
        seal(&parts)
    }

    /// Parses a schedule of a built-in placement (`ts1`); a scenario's (`ts2`) needs
    /// its scenario: see [`Schedule::decode_with`].
    pub fn decode(s: &str) -> Result<Schedule, ScheduleError> {
        Schedule::decode_with(s, None)
    }

    /// Parses a string made by [`Schedule::encode`]. Surrounding whitespace is ignored.
    /// `scenario`: the scenario a `ts2` schedule was made on (its hash must match); a
    /// `ts1` schedule runs a built-in placement and takes none.
    pub fn decode_with(
        s: &str,
        scenario: Option<&std::sync::Arc<crate::scenario::Scenario>>,
    ) -> Result<Schedule, ScheduleError> {
        let s = s.trim();
        if s.is_empty() {
            return err("the schedule is empty");
        }
        let parts: Vec<&str> = s.split('.').collect();
        let with_hash = parts[0] == VERSION_SCENARIO;
        if parts[0] != VERSION && !with_hash {
            if parts[0].starts_with("ts") {
                return err(format!(
                    "version '{}' is not supported (this tornsim reads {VERSION} and {VERSION_SCENARIO})",
                    parts[0]
                ));
            }
            return err(format!("it should start with '{VERSION}.'"));
        }
        let want = if with_hash { 5 } else { 4 };
        if parts.len() != want {
            return err(format!(
                "expected {want} dot-separated parts ({}), found {}",
                if with_hash {
                    "version.header.scenario.steps.check"
                } else {
                    "version.header.steps.check"
                },
                parts.len()
            ));
        }
        let hash = with_hash.then(|| parts[2]);
        let (header, steps, check) = (parts[1], parts[want - 2], parts[want - 1]);
        for (what, part) in [
            ("header", header),
            ("scenario hash", hash.unwrap_or("")),
            ("steps", steps),
            ("checksum", check),
        ] {
            if let Some((i, c)) = part
                .char_indices()
                .find(|&(_, c)| !c.is_ascii() || b64_value(c as u8).is_none())
            {
                return err(format!(
                    "character {c:?} at position {i} of the {what} is not allowed"
                ));
            }
        }
        if check.len() != 2 {
            return err("the checksum must be 2 characters");
        }
        let cb = check.as_bytes();
        let got =
            (b64_value(cb[0]).unwrap_or(0) as u16) << 6 | b64_value(cb[1]).unwrap_or(0) as u16;
        if got != checksum(&parts[..want - 1]) {
            return err("checksum mismatch: the string was mistyped or cut short");
        }
        let scenario = match (hash, scenario) {
            (None, None) => None,
            (None, Some(s)) => {
                return err(format!(
                    "this schedule is for a built-in placement, not for the scenario '{}'",
                    s.name
                ))
            }
            (Some(h), given) => {
                let h = decode_b64(h)
                    .filter(|b| b.len() == 8)
                    .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
                    .ok_or_else(|| {
                        ScheduleError("the scenario hash is not 8 bytes of base64url".into())
                    })?;
                match given {
                    None => {
                        return err(format!(
                            "this schedule belongs to scenario #{h:016x}: replay it with its file (tornsim replay FILE SCHEDULE)"
                        ))
                    }
                    Some(s) if crate::scenario::program_hash(s) != h => {
                        return err(format!(
                            "this schedule belongs to scenario #{h:016x}, not to '{}' (#{:016x}): its lines differ",
                            s.name,
                            crate::scenario::program_hash(s)
                        ))
                    }
                    Some(s) => Some(s.clone()),
                }
            }
        };
        let bytes = decode_b64(header)
            .ok_or_else(|| ScheduleError("the header is not valid base64url".into()))?;
        if bytes.len() != 8 {
            return err(format!(
                "the header holds {} bytes, expected 8",
                bytes.len()
            ));
        }
        let explicit_cpus = bytes[1] >> 3 & 1 == 1;
        let config = Config {
            mode: knob_at::<Mode>(bytes[0] & 3 | (bytes[1] >> 4 & 1) << 2)?,
            sync: knob_at::<SyncPlacement>(bytes[0] >> 2 & 3)?,
            reader: knob_at::<ReaderKind>(bytes[0] >> 4 & 1)?,
            paravirt: bytes[0] >> 5 & 1 == 1,
            clear: knob_at::<ClearKind>(bytes[0] >> 6 & 1)?,
            set: knob_at::<SetKind>(bytes[0] >> 7 & 1)?,
            alloc: knob_at::<Alloc>(bytes[1] & 3)?,
            free: knob_at::<FreeKind>(bytes[1] >> 2 & 1)?,
            memory: knob_at::<Memory>(bytes[1] >> 5 & 1)?,
            apic: knob_at::<Apic>(bytes[1] >> 6 & 3)?,
            cpus: explicit_cpus.then_some(bytes[2] as u32),
            readers: bytes[3] as u32,
            any_readers: false,
            scenario,
        };
        if !explicit_cpus && config.cpu_count() != bytes[2] as u32 {
            return err("the CPU count disagrees with the reader count");
        }
        config
            .validate()
            .map_err(|e| ScheduleError(format!("its configuration is invalid: {e}")))?;
        let frame = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as u64;
        let mut choices = Vec::with_capacity(steps.len());
        let sb = steps.as_bytes();
        let mut i = 0;
        while i < sb.len() {
            let v = b64_value(sb[i]).unwrap_or(0);
            let code = match v {
                62 | 63 => {
                    let Some(&next) = sb.get(i + 1) else {
                        return err("the steps end in the middle of a two-character step");
                    };
                    i += 1;
                    (if v == 62 { 62 } else { 126 }) + b64_value(next).unwrap_or(0) as u32
                }
                v => v as u32,
            };
            // Under TSO, codes from 128 are store-buffer drains (`Choice::code`).
            let top = if config.memory == Memory::Tso {
                189
            } else {
                127
            };
            if code > top {
                return err(format!("step {} names a CPU above 63", choices.len()));
            }
            choices.push(Choice::from_code(code as u8));
            i += 1;
        }
        Ok(Schedule {
            config,
            new_table: frame << 12,
            choices,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::SAME_LOW_TABLE;

    fn sample() -> Schedule {
        Schedule {
            config: Config {
                mode: Mode::XenPv,
                sync: SyncPlacement::AfterUnlock,
                ..Config::default()
            },
            new_table: SAME_LOW_TABLE,
            choices: vec![
                Choice::prog(2),
                Choice::prog(0),
                Choice::ack(3),
                Choice::prog(1),
            ],
        }
    }

    #[test]
    fn round_trips_and_is_url_safe() {
        let s = sample();
        let text = s.encode();
        assert!(text.starts_with("ts1."));
        assert!(
            text.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(&c)),
            "{text}"
        );
        assert_eq!(Schedule::decode(&text).unwrap(), s);
        assert_eq!(Schedule::decode(&format!("  {text}\n")).unwrap(), s);
    }

    #[test]
    fn wide_machines_use_two_characters_per_high_cpu() {
        let mut s = sample();
        s.config.cpus = Some(64);
        s.config.readers = 62;
        s.choices = (0..64)
            .flat_map(|c| [Choice::prog(c), Choice::ack(c)])
            .collect();
        assert_eq!(Schedule::decode(&s.encode()).unwrap(), s);
    }

    #[test]
    fn every_config_round_trips() {
        for mode in Mode::ALL {
            for sync in SyncPlacement::ALL {
                for alloc in Alloc::ALL {
                    let c = Config {
                        mode: *mode,
                        sync: *sync,
                        alloc: *alloc,
                        cpus: Some(7),
                        readers: 3,
                        ..Config::default()
                    };
                    let s = Schedule {
                        config: c,
                        new_table: 0x3_ffff_f000,
                        choices: vec![],
                    };
                    assert_eq!(Schedule::decode(&s.encode()).unwrap(), s);
                }
            }
        }
    }

    /// A scenario's schedule replays on its own scenario, and is refused on another
    /// (whose lines differ) and without one.
    #[test]
    fn a_scenario_schedule_belongs_to_its_scenario() {
        let load = |name| {
            crate::program::load(crate::program::builtin_source(name).unwrap())
                .unwrap()
                .1
        };
        let (mine, other) = (load("sync-twice"), load("high-first"));
        let text = crate::run::record_run(&mine, crate::SchedulerSpec::Random, 3)
            .0
            .encode();
        assert!(text.starts_with("ts2."), "{text}");
        let own = mine.scenario.as_ref();
        assert_eq!(Schedule::decode_with(&text, own).unwrap().config, mine);
        assert!(other.scenario.is_some());
        let e = Schedule::decode_with(&text, other.scenario.as_ref()).unwrap_err();
        assert!(e.to_string().contains("its lines differ"), "{e}");
        let e = Schedule::decode_with(&text, None).unwrap_err();
        assert!(e.to_string().contains("replay it with its file"), "{e}");
    }

    /// A header whose CPU count disagrees with its reader count is refused, even
    /// with a valid checksum (a hand-edited link).
    #[test]
    fn a_cpu_count_that_disagrees_with_the_readers_is_refused() {
        let good = sample().encode();
        let (body, _) = good.rsplit_once('.').unwrap();
        let mut parts: Vec<String> = body.split('.').map(String::from).collect();
        let mut header = decode_b64(&parts[1]).unwrap();
        header[2] += 1;
        parts[1] = encode_b64(&header);
        let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
        let forged = seal(&refs);
        let e = Schedule::decode(&forged).unwrap_err().to_string();
        assert!(e.contains("CPU count disagrees"), "{e}");
        // The same edit of an explicit count is a different machine, and decodes.
        let mut wide = sample();
        wide.config.cpus = Some(wide.config.cpu_count());
        assert!(Schedule::decode(&wide.encode()).is_ok());
    }

    #[test]
    fn malformed_strings_say_what_is_wrong() {
        let good = sample().encode();
        let cases = [
            ("", "empty"),
            ("hello", "start with"),
            ("ts9.AAAA.BB.CC", "not supported"),
            ("ts1.AAAA", "4 dot-separated"),
            (&good.replacen('.', ".!", 2)[..], "not allowed"),
            (&good[..good.len() - 1], "checksum"),
        ];
        for (text, want) in cases {
            let e = Schedule::decode(text).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
        // A flipped step character is caught by the checksum.
        let mut b = good.clone().into_bytes();
        let pos = good.rfind('.').unwrap() - 1;
        b[pos] = if b[pos] == b'A' { b'B' } else { b'A' };
        let e = Schedule::decode(std::str::from_utf8(&b).unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("checksum"), "{e}");
    }
}
