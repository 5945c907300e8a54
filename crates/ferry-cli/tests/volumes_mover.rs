//! `ferry volumes mover` as a Job runs it, without a cluster: its report on stdout and in the
//! result file, exit code 1 with the error in the report on failure, and a backup killed
//! mid-pass that the next pass resumes, reusing the chunks already stored; an encrypted
//! repository opened with the repository key a Job's Secret holds, and refused without it.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use volumes_support::indexed_chunks;

mod volumes_support;

const FERRY: &str = env!("CARGO_BIN_EXE_ferry");

/// `ferry volumes mover ARGS`; returns (exit code, stdout, stderr).
fn mover(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(FERRY).args(["volumes", "mover"]).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A poorly compressible byte string.
fn noise(len: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

#[test]
fn reports_go_to_the_result_file_and_failures_exit_1() {
    let work = tempfile::tempdir().unwrap();
    let (tree, repository, result) = (work.path().join("tree"), work.path().join("repository"), work.path().join("result.json"));
    std::fs::create_dir(&tree).unwrap();
    std::fs::write(tree.join("a"), "a\n").unwrap();
    let (repository, result) = (repository.to_str().unwrap(), result.to_str().unwrap());
    let tree = tree.to_str().unwrap();

    let (code, stdout, stderr) = mover(&["backup", "--volume", "ns/a", "--time", "t", "--repository", repository, "--path", tree, "--result", result]);
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(result).unwrap()).unwrap();
    assert_eq!(report, serde_json::from_str::<Value>(&stdout).unwrap());
    assert_eq!(report["backup"]["files"].as_u64(), Some(1));

    let (code, _, stderr) = mover(&["restore", "--snapshot", "0".repeat(64).as_str(), "--repository", repository, "--path", tree, "--result", result]);
    assert_eq!(code, 1, "{stderr}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(result).unwrap()).unwrap();
    assert!(report["error"].as_str().unwrap().contains("has no snapshot"), "{report}");
    assert!(report.get("restore").is_none());
}

#[test]
fn a_backup_killed_mid_pass_is_resumed_by_the_next_one() {
    let work = tempfile::tempdir().unwrap();
    let (tree, repository, restored) = (work.path().join("tree"), work.path().join("repository"), work.path().join("restored"));
    std::fs::create_dir(&tree).unwrap();
    std::fs::write(tree.join("big.bin"), noise(96 << 20)).unwrap();
    let args =
        ["volumes", "mover", "backup", "--volume", "ns/big", "--time", "t", "--repository", repository.to_str().unwrap(), "--path", tree.to_str().unwrap()];

    let mut child = Command::new(FERRY).args(args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while indexed_chunks(&repository).len() < 10 {
        assert!(child.try_wait().unwrap().is_none(), "the backup ended before it could be killed");
        assert!(Instant::now() < deadline, "no pack written");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let stored = indexed_chunks(&repository).len();
    assert!(!repository.join("refs/ns/big").exists(), "a killed pass leaves no snapshot reference");

    let (code, stdout, stderr) = mover(&args[2..]);
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let new_chunks = report["backup"]["new_chunks"].as_u64().unwrap() as usize;
    assert_eq!(new_chunks + stored, indexed_chunks(&repository).len(), "the chunks stored before the kill are reused: {report}");
    assert!(stored >= 10 && new_chunks < indexed_chunks(&repository).len(), "{report}");

    let snapshot = report["backup"]["snapshot"].as_str().unwrap();
    let (code, _, stderr) = mover(&["restore", "--snapshot", snapshot, "--repository", repository.to_str().unwrap(), "--path", restored.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(std::fs::read(restored.join("big.bin")).unwrap() == std::fs::read(tree.join("big.bin")).unwrap());
}

#[test]
fn an_encrypted_repository_is_moved_with_its_repository_key_and_refused_without() {
    use age::secrecy::ExposeSecret as _;
    let work = tempfile::tempdir().unwrap();
    let (tree, restored, repository) = (work.path().join("tree"), work.path().join("restored"), work.path().join("repository"));
    std::fs::create_dir(&tree).unwrap();
    std::fs::write(tree.join("a"), "precious\n").unwrap();
    // What `ferry volumes sync` does before its Jobs: create the repository with the user's keys.
    let mut keys = ferry_archive::Keys::new();
    keys.add_passphrase("correct horse".into(), "the test").unwrap();
    let store = std::sync::Arc::new(ferry_volumes::DirStore::new(&repository));
    let created = ferry_volumes::Repository::open_or_create(store, ferry_volumes::Chunker::default(), Some(&ferry_volumes::Unlock::Keys(keys))).unwrap();
    let key_file = work.path().join("repository-key");
    std::fs::write(&key_file, created.key().unwrap().to_text().expose_secret()).unwrap();
    let (repository, key_file) = (repository.to_str().unwrap(), key_file.to_str().unwrap());

    let (code, stdout, stderr) =
        mover(&["backup", "--volume", "ns/a", "--time", "t", "--repository", repository, "--path", tree.to_str().unwrap(), "--repository-key", key_file]);
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let snapshot = report["backup"]["snapshot"].as_str().unwrap();
    let (code, _, stderr) =
        mover(&["restore", "--snapshot", snapshot, "--repository", repository, "--path", restored.to_str().unwrap(), "--repository-key", key_file]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(std::fs::read_to_string(restored.join("a")).unwrap(), "precious\n");

    let (code, stdout, stderr) = mover(&["restore", "--snapshot", snapshot, "--repository", repository, "--path", restored.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.contains("is encrypted"), "{stdout}");
    assert!(!stdout.contains("AGE-SECRET-KEY") && !stderr.contains("AGE-SECRET-KEY"), "the key is never shown");
}

/// A new age identity from Debian's `age-keygen`: (its file, its recipient).
fn age_keygen(path: &Path) -> (String, String) {
    let out = Command::new("age-keygen").arg("-o").arg(path).output().expect("age-keygen (Debian's age) is installed by scripts/");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let recipient = String::from_utf8_lossy(&out.stderr).trim().strip_prefix("Public key: ").expect("age-keygen names the public key").to_owned();
    (path.to_str().unwrap().to_owned(), recipient)
}

/// `ferry volumes add-key ARGS`; returns (exit code, stdout, stderr).
fn add_key(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(FERRY).args(["volumes", "add-key"]).args(args).env("FERRY_TEST_NEW_PASSPHRASE", "battery staple").output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn add_key_lets_another_key_open_the_repository_and_age_read_its_stored_key() {
    use age::secrecy::ExposeSecret as _;
    let work = tempfile::tempdir().unwrap();
    let repository = work.path().join("repository");
    let ((first, _), (second, second_recipient), (other, _)) =
        (age_keygen(&work.path().join("first.txt")), age_keygen(&work.path().join("second.txt")), age_keygen(&work.path().join("other.txt")));
    let mut keys = ferry_archive::Keys::new();
    keys.add_identity_file(Path::new(&first)).unwrap();
    let store = std::sync::Arc::new(ferry_volumes::DirStore::new(&repository));
    let created = ferry_volumes::Repository::open_or_create(store, ferry_volumes::Chunker::default(), Some(&ferry_volumes::Unlock::Keys(keys))).unwrap();
    let via = repository.to_str().unwrap();

    let (code, stdout, stderr) = add_key(&["--via", via, "--identity", &other, "--add-recipient", &second_recipient]);
    assert_eq!(code, 1, "a key that does not open it adds nothing: {stdout}{stderr}");
    assert!(stderr.contains("none of its 1 stored keys (keys/) opens with them"), "{stderr}");
    let (code, _, stderr) = add_key(&["--via", via, "--identity", &first]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("give the keys to add"), "{stderr}");

    let (code, stdout, stderr) = add_key(&["--via", via, "--identity", &first, "--add-recipient", &second_recipient, "-o", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["keys"], 2, "{report}");
    let added = report["added"].as_str().unwrap();
    // The stored key is an ordinary age file: Debian's age opens it with the added identity.
    let opened = Command::new("age").args(["-d", "-i", &second]).arg(repository.join(added)).output().unwrap();
    assert!(opened.status.success(), "{}", String::from_utf8_lossy(&opened.stderr));
    assert_eq!(String::from_utf8_lossy(&opened.stdout), *created.key().unwrap().to_text().expose_secret(), "the repository's own key");

    // The added identity opens it in turn, and adds a passphrase.
    let (code, stdout, stderr) = add_key(&["--via", via, "--identity", &second, "--add-passphrase-env", "FERRY_TEST_NEW_PASSPHRASE"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("added keys/") && stdout.contains(": 3 stored keys open it"), "{stdout}");
    for text in [&stdout, &stderr] {
        assert!(!text.contains("AGE-SECRET-KEY") && !text.contains("battery staple"), "no key is shown: {text}");
    }
}
