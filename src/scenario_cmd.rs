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
    if a.markdown {
        print!("{}", prim::markdown());
        return Ok(OK);
    }
    for p in prim::PRIMS {
        if a.classic && p.classic.is_none() {
            continue;
        }
        println!("{}", p.usage());
        println!("    {}", p.help);
        if let Some(c) = &p.classic {
            println!(
                "    classic: {}  (who: {})",
                p.classic_use().call_text(p.name),
                prim::role::names(c.roles)
            );
            println!("    classic steps (xen-pv): {}", prim::classic_steps(c));
            println!("    per mode: {}", c.modes);
        }
        println!("    kernel: {} in {}", p.kernel, p.file);
        println!();
    }
    if !a.classic {
        for k in prim::general::ACTORS {
            println!("P…({}): {}", k.name, k.help);
        }
    }
    Ok(OK)
}
