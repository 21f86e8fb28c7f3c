//! herd7 X86 litmus text, as `common/litmus.rs` says.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "common/litmus.rs"]
mod litmus;

fuzz_target!(|data: &[u8]| litmus::run(data, tornsim_core::x86::parse));
