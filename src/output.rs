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
