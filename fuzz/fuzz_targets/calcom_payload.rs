#![no_main]
//! See [`portico_fuzz::light::calcom_payload`] for what this target checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| portico_fuzz::light::calcom_payload(data));
