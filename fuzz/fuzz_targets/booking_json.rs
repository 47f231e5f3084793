#![no_main]
//! See [`portico_fuzz::light::booking_json`] for what this target checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| portico_fuzz::light::booking_json(data));
