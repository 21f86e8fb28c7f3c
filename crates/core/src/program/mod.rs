//! A scenario file as something to run: its settings made into a [`Config`] (and a
//! configuration printed back as a file), the built-in files (the four sync placements,
//! which every configuration without a file of its own runs, and the presets), and the
//! compiler that lowers a scenario for a configuration into the [`Program`] the machine
//! interprets. Above [`crate::config`], which holds a parsed scenario; below the machine.
//!
//! Its files: `builtin` (the embedded files), `words` (shared words and registers),
//! `compiler`, and `load` (file to configuration and back), each importing only the
//! ones before it.

pub(crate) mod builtin;
pub(crate) mod compiler;
pub(crate) mod load;
#[cfg(test)]
mod tests;
pub(crate) mod words;

pub use builtin::{as_placement, builtin_source, of_config, placement, BUILTIN};
pub use compiler::{compile, program_for, Instr, Program, DONE};
pub use load::{attach, load, load_checked, print, to_config};
pub use words::{Access, Words, NO_REG, UNSET};

#[cfg(doc)]
use crate::config::Config;
