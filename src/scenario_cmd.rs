//! Scenario files on the command line: loading them with errors at their line and
//! column, `tornsim show`, and `tornsim primitives`.

use crate::args::{InputError, PrimitivesArgs, ShowArgs};
use std::path::{Path, PathBuf};
use tornsim_core::scenario::{self, Scenario};
use tornsim_core::{prim, Config};

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
            scenario::load(&text).map_err(|e| InputError(e.render(&text, &shown)))?;
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
        scenario::compile(&self.scenario, cfg)
            .map(|_| ())
            .map_err(|e| InputError(e.render(&self.text, &self.path.display().to_string())))
    }
}

pub fn cmd_show(a: ShowArgs) -> Result<u8, InputError> {
    let Some(name) = a.name else {
        for (name, src) in scenario::BUILTIN {
            let (s, _) = scenario::load(src).expect("built-in files parse");
            println!("{name:<22} {}", s.description);
        }
        return Ok(crate::OK);
    };
    let src = scenario::builtin_source(&name).ok_or_else(|| {
        let names: Vec<&str> = scenario::BUILTIN.iter().map(|(n, _)| *n).collect();
        InputError(format!(
            "no built-in scenario '{name}' (known: {})",
            names.join(", ")
        ))
    })?;
    let (s, cfg) = scenario::load(src).expect("built-in files parse");
    print!("{}", scenario::print(&s, &cfg));
    Ok(crate::OK)
}

pub fn cmd_primitives(a: PrimitivesArgs) -> Result<u8, InputError> {
    if a.markdown {
        print!("{}", prim::markdown());
        return Ok(crate::OK);
    }
    for p in prim::PRIMS {
        let call = match p.usage {
            prim::Use::Call => format!("{}();", p.name),
            prim::Use::Condition => format!("if ({}())", p.name),
        };
        println!("{call}");
        println!("    {}", p.help);
        println!("    who: {}", prim::role::names(p.roles));
        let steps: Vec<String> = (p.ops)(&Config {
            mode: tornsim_core::config::Mode::XenPv,
            ..Config::default()
        })
        .iter()
        .map(|o| {
            let f = o.footprint();
            format!(
                "{} (reads {}, writes {})",
                o.name(),
                prim::var::names(f.reads),
                prim::var::names(f.writes)
            )
        })
        .collect();
        println!(
            "    steps (xen-pv): {}",
            if steps.is_empty() {
                "none".to_string()
            } else {
                steps.join(", ")
            }
        );
        println!("    per mode: {}", p.modes);
        println!("    kernel: {} in {}", p.kernel, p.file);
        println!();
    }
    Ok(crate::OK)
}
