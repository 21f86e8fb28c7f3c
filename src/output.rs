//! What the command gives back: its exit statuses, the bad-input error (one line, exit
//! status 2) that every command returns, and JSON as every `--json` prints it. The
//! lowest layer of the command: everything else imports it.

use tornsim_core::ConfigError;

/// Exit statuses.
pub const OK: u8 = 0;
pub const HAZARD: u8 = 1;
pub const BAD_INPUT: u8 = 2;
pub const INCOMPLETE: u8 = 3;

/// A bad-input error: printed as one line, exit status 2.
#[derive(Debug)]
pub struct InputError(pub String);

impl From<ConfigError> for InputError {
    fn from(e: ConfigError) -> Self {
        InputError(e.to_string())
    }
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Prints a JSON value as every `--json` output is printed: pretty, one trailing newline.
pub fn print_json(v: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).expect("JSON values always serialise")
    );
}

/// The fields every `check --readers any --json` prints, classic or general: the
/// verdict with its sentence, the argument (its cutoff only where it applies), each
/// count checked, and the check that decided.
pub struct AnyFields<'a> {
    pub argument: &'a tornsim_core::cutoff::Argument,
    pub verdict: tornsim_core::Verdict,
    pub proved: bool,
    pub sentence: &'a str,
    pub checked: &'a [(u32, tornsim_core::Verdict)],
    pub witness_readers: Option<u32>,
    pub states: u64,
    pub seconds: f64,
}

/// The [`AnyFields`] of a check for every count, classic (`cutoff::AnyResult`) or
/// general (`general::argument::GAnyResult`): the two have the same fields by name.
macro_rules! any_fields {
    ($r:expr, $sentence:expr, $secs:expr) => {
        $crate::output::AnyFields {
            argument: &$r.argument,
            verdict: $r.verdict,
            proved: $r.proved,
            sentence: $sentence,
            checked: &$r.checked,
            witness_readers: $r.result.witness.as_ref().map(|_| $r.readers),
            states: $r.result.states,
            seconds: $secs,
        }
    };
}
pub(crate) use any_fields;

impl AnyFields<'_> {
    /// These fields, then `more`'s.
    pub fn with(&self, more: serde_json::Value) -> serde_json::Value {
        let mut v = serde_json::json!({
            "readers": "any",
            "verdict": self.verdict,
            "proved": self.proved,
            "sentence": self.sentence,
            "cutoff": self.argument.proven_cutoff(),
            "argument_applies": self.argument.applies(),
            "conditions": self.argument.conditions,
            "checked": self.checked.iter().map(|(n, v)| serde_json::json!({"readers": n, "verdict": v})).collect::<Vec<_>>(),
            "witness_readers": self.witness_readers,
            "states": self.states,
            "seconds": self.seconds,
        });
        if let (Some(o), serde_json::Value::Object(m)) = (v.as_object_mut(), more) {
            o.extend(m);
        }
        v
    }
}

/// ", on N threads" for a search that ran on several, else nothing.
pub fn on_threads(n: u32) -> String {
    if n > 1 {
        format!(", on {n} threads")
    } else {
        String::new()
    }
}
