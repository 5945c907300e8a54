//! Fuzz target `transform`: arbitrary bytes through `ferry_fuzz::transform_object` (its contracts are documented there).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ferry_fuzz::transform_object(data));
