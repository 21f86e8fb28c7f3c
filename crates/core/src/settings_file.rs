//! Settings files (`tornsim --config FILE`): a TOML or JSON table of the same keys and
//! values as the command line's config flags, read into `(key, value)` pairs that
//! [`crate::Config::set`] applies. Here rather than in the command, so that the fuzzer
//! and the hostile-input tests reach the very code the command runs.

use crate::config::{Config, ConfigError};

/// A file's format, by its extension; `Guess` tries JSON, then TOML.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Toml,
    Guess,
}

impl Format {
    pub fn of_extension(ext: &str) -> Format {
        match ext {
            "json" => Format::Json,
            "toml" => Format::Toml,
            _ => Format::Guess,
        }
    }
}

/// Why a settings file was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SettingsError {
    /// Not valid JSON or TOML: the format named, and the parser's message.
    Syntax {
        format: &'static str,
        message: String,
    },
    /// Valid, but not a table of settings.
    NotATable,
    /// A value that is not a string, number or boolean.
    BadValue { key: String },
}

impl std::fmt::Display for SettingsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SettingsError::Syntax { format, message } => {
                write!(f, "is not valid {format}: {}", message.trim())
            }
            SettingsError::NotATable => f.write_str("must hold a table of settings"),
            SettingsError::BadValue { key } => {
                write!(f, "{key} must be a string, number or boolean")
            }
        }
    }
}

/// The file's settings as `(key, value)` pairs, `preset` first so that the file's other
/// settings refine it.
pub fn settings(text: &str, format: Format) -> Result<Vec<(String, String)>, SettingsError> {
    let json = || serde_json::from_str::<serde_json::Value>(text).map_err(|e| e.to_string());
    let toml = || {
        toml::from_str::<toml::Table>(text)
            .map_err(|e| e.message().to_string())
            .and_then(|t| serde_json::to_value(t).map_err(|e| e.to_string()))
    };
    let value = match format {
        Format::Json => json(),
        Format::Toml => toml(),
        Format::Guess => json().or_else(|_| toml()),
    }
    .map_err(|message| SettingsError::Syntax {
        format: if format == Format::Json {
            "JSON"
        } else {
            "TOML"
        },
        message,
    })?;
    let serde_json::Value::Object(map) = value else {
        return Err(SettingsError::NotATable);
    };
    let mut out = Vec::new();
    for (k, v) in map {
        let s = match v {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            _ => return Err(SettingsError::BadValue { key: k }),
        };
        out.push((k, s));
    }
    out.sort_by_key(|(k, _)| k != "preset");
    Ok(out)
}

/// Applies settings over `cfg`: `preset` replaces it, every other key is a
/// [`Config::set`].
pub fn apply(cfg: &mut Config, settings: &[(String, String)]) -> Result<(), ConfigError> {
    for (k, v) in settings {
        if k == "preset" {
            *cfg = crate::presets::preset(v)?.config;
        } else {
            cfg.set(k, v)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_and_json_give_the_same_settings() {
        let t = settings(
            "readers = 3\npreset = \"merged\"\nparavirt = false\n",
            Format::Toml,
        );
        let j = settings(
            r#"{"paravirt": false, "readers": 3, "preset": "merged"}"#,
            Format::Guess,
        );
        assert_eq!(t, j);
        let s = t.unwrap();
        assert_eq!(s[0], ("preset".to_string(), "merged".to_string()));
        let mut cfg = Config::default();
        apply(&mut cfg, &s).unwrap();
        assert_eq!((cfg.readers, cfg.paravirt), (3, false));
    }

    #[test]
    fn bad_files_say_why() {
        let e = settings("[1, 2]", Format::Json).unwrap_err();
        assert_eq!(e, SettingsError::NotATable);
        let e = settings("readers = [1]", Format::Toml).unwrap_err();
        assert_eq!(e.to_string(), "readers must be a string, number or boolean");
        let e = settings("readers = ", Format::Guess).unwrap_err();
        assert!(e.to_string().starts_with("is not valid TOML"), "{e}");
    }
}
