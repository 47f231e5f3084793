#![no_main]
//! See [`portico_fuzz::host::load_component`] for what this target checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| portico_fuzz::host::load_component(data));
