//! Fuzz target `archive_encrypted`: arbitrary bytes through `ferry_fuzz::archive_encrypted` (its contracts are documented there).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ferry_fuzz::archive_encrypted(data));
