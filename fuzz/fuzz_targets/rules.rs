//! Fuzz target `rules`: arbitrary bytes through `ferry_fuzz::rules` (its contracts are documented there).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ferry_fuzz::rules(data));
