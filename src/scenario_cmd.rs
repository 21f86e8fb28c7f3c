//! `tornsim show` (a scenario file, or the built-in ones) and `tornsim primitives` (the
//! primitives table).

use crate::args::{PrimitivesArgs, ShowArgs};
use crate::output::{InputError, OK};
use tornsim_core::{prim, program};

pub fn cmd_show(a: ShowArgs) -> Result<u8, InputError> {
    let Some(name) = a.name else {
        for (name, src) in program::BUILTIN {
            let (s, _) = program::load(src).expect("built-in files parse");
            println!("{name:<22} {}", s.description);
        }
        return Ok(OK);
    };
    let src = program::builtin_source(&name).ok_or_else(|| {
        let names: Vec<&str> = program::BUILTIN.iter().map(|(n, _)| *n).collect();
        InputError(format!(
            "no built-in scenario '{name}' (known: {})",
            names.join(", ")
        ))
    })?;
    let (s, cfg) = program::load(src).expect("built-in files parse");
    print!("{}", program::print(&s, &cfg));
    Ok(OK)
}

pub fn cmd_primitives(a: PrimitivesArgs) -> Result<u8, InputError> {
    if a.litmus {
        if a.markdown {
            print!("{}", tornsim_core::x86::markdown());
        } else {
            for (names, form, x86) in tornsim_core::x86::PRIMITIVES {
                println!("{form}");
                println!("    primitives: {names}");
                println!("    x86: {x86}");
                println!();
            }
        }
        return Ok(OK);
    }
    if a.general {
        if a.markdown {
            print!("{}", tornsim_core::general::table::markdown());
        } else {
            for p in tornsim_core::general::table::GPRIMS {
                println!("{}", p.usage());
                println!("    {}", p.help);
                println!("    kernel: {} in {}", p.kernel, p.file);
                println!();
            }
            for k in tornsim_core::general::table::ACTORS {
                println!("P…({}): {}", k.name, k.help);
            }
        }
        return Ok(OK);
    }
    if a.markdown {
        print!("{}", prim::markdown());
        return Ok(OK);
    }
    for p in prim::PRIMS {
        let call = p.usage.call_text(p.name);
        println!("{call}");
        println!("    {}", p.help);
        println!("    who: {}", prim::role::names(p.roles));
        let steps: Vec<String> = (p.ops)(&prim::Lowering {
            mode: tornsim_core::config::Mode::XenPv,
            ..prim::Lowering::default()
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
    Ok(OK)
}
