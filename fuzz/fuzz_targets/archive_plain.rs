//! Fuzz target `archive_plain`: arbitrary bytes through `ferry_fuzz::archive_plain` (its contracts are documented there).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ferry_fuzz::archive_plain(data));
