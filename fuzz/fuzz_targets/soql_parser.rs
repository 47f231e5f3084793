#![no_main]
//! See [`portico_fuzz::light::soql_parser`] for what this target checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| portico_fuzz::light::soql_parser(data));
