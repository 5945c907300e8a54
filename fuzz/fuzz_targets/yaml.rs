//! Fuzz target `yaml`: arbitrary bytes through `ferry_fuzz::yaml` (its contracts are documented there).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ferry_fuzz::yaml(data));
