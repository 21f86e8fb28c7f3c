//! Scenario files on the command line: read from disk and loaded, with every error at
//! its line and column in the file, as a compiler prints them.

use crate::output::InputError;
use std::path::{Path, PathBuf};
use tornsim_core::program;
use tornsim_core::scenario::Scenario;
use tornsim_core::Config;

/// A scenario file as read from disk.
pub struct ScenarioFile {
    pub path: PathBuf,
    pub text: String,
    pub scenario: Scenario,
    pub config: Config,
}

impl ScenarioFile {
    pub fn load(path: &Path) -> Result<ScenarioFile, InputError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| InputError(format!("cannot read '{shown}': {e}")))?;
        let (scenario, config) =
            program::load(&text).map_err(|e| InputError(e.render(&text, &shown)))?;
        Ok(ScenarioFile {
            path: path.to_path_buf(),
            text,
            scenario,
            config,
        })
    }

    /// Checks that the scenario compiles under `cfg` (the file's settings with the
    /// command line's flags on top), pointing at the file on error.
    pub fn compiles_under(&self, cfg: &Config) -> Result<(), InputError> {
        program::compile(&self.scenario, cfg)
            .map(|_| ())
            .map_err(|e| InputError(e.render(&self.text, &self.path.display().to_string())))
    }
}
