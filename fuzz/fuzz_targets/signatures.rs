#![no_main]
//! See [`portico_fuzz::host::signatures`] for what this target checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| portico_fuzz::host::signatures(data));
