//! Replays every checked-in seed and regression input of `fuzz/seeds/TARGET/` through its
//! target's function, so the contracts the fuzzer checks are checked on every test run (and a
//! crash the fuzzer found stays fixed) without building the fuzzing workspace.

use std::path::{Path, PathBuf};

/// The seeds of one target, sorted by name; a target without seeds is a mistake.
fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds").join(target);
    let mut paths: Vec<PathBuf> =
        std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())).map(|entry| entry.expect("entry").path()).collect();
    paths.sort();
    assert!(!paths.is_empty(), "no seeds in {}", dir.display());
    paths.into_iter().map(|path| (path.clone(), std::fs::read(&path).expect("seed"))).collect()
}

/// Runs `target` over its seeds, naming the seed that broke a contract.
fn replay(target: &str, run: fn(&[u8])) {
    for (path, data) in seeds(target) {
        if std::panic::catch_unwind(|| run(&data)).is_err() {
            panic!("fuzz seed {} broke a contract of target {target}", path.display());
        }
    }
}

#[test]
fn yaml_seeds() {
    replay("yaml", ferry_fuzz::yaml);
}

#[test]
fn archive_plain_seeds() {
    replay("archive_plain", ferry_fuzz::archive_plain);
}

#[test]
fn archive_encrypted_seeds() {
    replay("archive_encrypted", ferry_fuzz::archive_encrypted);
}

#[test]
fn rules_seeds() {
    replay("rules", ferry_fuzz::rules);
}

#[test]
fn transform_seeds() {
    replay("transform", ferry_fuzz::transform_object);
}

#[test]
fn the_archive_seeds_hold_readable_archives() {
    let (_, zstd) = seeds("archive_plain").into_iter().find(|(path, _)| path.ends_with("zstd-three")).expect("seed zstd-three");
    let (manifest, entries) = ferry_archive::read_from("zstd-three", &zstd[1..], None).expect("the seed is a valid archive");
    assert_eq!((manifest.objects.len(), entries.len()), (3, 3));
}
