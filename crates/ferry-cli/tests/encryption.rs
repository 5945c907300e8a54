//! Archive encryption on the command line, without a cluster (`ferry transform` reads and
//! writes archives with the same keys): age recipients and identities, interoperating with
//! Debian's `age` (installed by scripts/test.sh); the downgrade refusal; a missing passphrase
//! variable; and an archive in the old `FERRYENC` format, read with its key file and a note.

use std::path::Path;
use std::process::Command;

use ferry_archive::{Destination, Header, Writer};
use ferry_model::ObjectId;

const FERRY: &str = env!("CARGO_BIN_EXE_ferry");

/// A Secret value that must appear in no encrypted archive and no output.
const SECRET_VALUE: &str = "c2VjcmV0LXRoYXQtbXVzdC1ub3QtbGVhaw==";

/// `ferry ARGS`; returns (exit code, stdout, stderr).
fn ferry(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(FERRY).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A command that must succeed; its standard output.
fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("cannot run {program} (installed by scripts/test.sh): {e}"));
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// A plain archive with a ConfigMap and a Secret.
async fn plain_archive(path: &Path) {
    let mut writer = Writer::create(&Destination::File(path.to_path_buf()), Header::default(), None).await.unwrap();
    let id = |kind: &str, name: &str| ObjectId { api_version: "v1".into(), kind: kind.into(), namespace: Some("shop".into()), name: name.into() };
    let config = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "shop"}, "data": {"mode": "fast"}});
    let secret = serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "shop"}, "data": {"password": SECRET_VALUE}});
    writer.add(&id("ConfigMap", "settings"), "configmaps", &config).await.unwrap();
    writer.add(&id("Secret", "db"), "secrets", &secret).await.unwrap();
    writer.finish().await.unwrap();
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn recipients_and_identities_interoperate_with_age_and_plain_archives_are_refused_with_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    plain_archive(Path::new(&path("plain.tar.zst"))).await;
    run("age-keygen", &["-o", &path("me.txt")]);
    let recipient = run("age-keygen", &["-y", &path("me.txt")]).trim().to_owned();

    let (code, _, stderr) = ferry(&["transform", "--from", &path("plain.tar.zst"), "--to", &path("sealed.ferry"), "--recipient", &recipient]);
    assert_eq!(code, 0, "{stderr}");
    let sealed = std::fs::read(path("sealed.ferry")).unwrap();
    assert!(sealed.starts_with(b"age-encryption.org/v1\n") && !contains(&sealed, SECRET_VALUE));
    run("age", &["-d", "-i", &path("me.txt"), "-o", &path("opened.tar.zst"), &path("sealed.ferry")]);
    let (code, _, stderr) = ferry(&["transform", "--from", &path("opened.tar.zst"), "--to", &path("again.tar.zst")]);
    assert_eq!(code, 0, "age's output is a plain archive ferry reads: {stderr}");

    // Read with the identity; written again to the identity's own recipient, which age opens.
    let (code, _, stderr) = ferry(&["transform", "--from", &path("sealed.ferry"), "--to", &path("resealed.ferry"), "--identity", &path("me.txt")]);
    assert_eq!(code, 0, "{stderr}");
    run("age", &["-d", "-i", &path("me.txt"), "-o", &path("reopened.tar.zst"), &path("resealed.ferry")]);

    let (code, _, stderr) = ferry(&["transform", "--from", &path("sealed.ferry"), "--to", &path("x.ferry")]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("is encrypted; pass --identity"), "{stderr}");
    run("age-keygen", &["-o", &path("other.txt")]);
    let (code, _, stderr) = ferry(&["transform", "--from", &path("sealed.ferry"), "--to", &path("x.ferry"), "--identity", &path("other.txt")]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("do not open the archive"), "{stderr}");
    let (code, _, stderr) = ferry(&["transform", "--from", &path("plain.tar.zst"), "--to", &path("x.ferry"), "--identity", &path("me.txt")]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("is not encrypted but a key was given"), "{stderr}");
    let (code, _, stderr) = ferry(&["transform", "--from", &path("sealed.ferry"), "--to", &path("x.ferry"), "--passphrase-env", "FERRY_TEST_NO_SUCH_VARIABLE"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("FERRY_TEST_NO_SUCH_VARIABLE"), "{stderr}");
    assert!(!Path::new(&path("x.ferry")).exists(), "nothing is written after a refusal");
}

#[test]
fn an_archive_in_the_old_format_is_read_with_its_key_file_and_a_note() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ferry-archive/tests/fixtures");
    let (old, key) = (fixtures.join("ferryenc-v1.tar.zst"), fixtures.join("ferryenc-v1.key"));
    let dir = tempfile::tempdir().unwrap();
    let new = dir.path().join("new.ferry");
    let args = |from: &Path, to: &Path| {
        ["transform", "--from", from.to_str().unwrap(), "--to", to.to_str().unwrap(), "--encryption-key-file", key.to_str().unwrap()].map(str::to_owned)
    };

    let (code, _, stderr) = ferry(&args(&old, &new).each_ref().map(String::as_str));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("note:") && stderr.contains("old format (FERRYENC)") && stderr.contains("the next will not"), "{stderr}");
    assert!(std::fs::read(&new).unwrap().starts_with(b"age-encryption.org/v1\n-> scrypt "), "rewritten with age, the key file as passphrase");
    let (code, _, stderr) = ferry(&args(&new, &dir.path().join("again.ferry")).each_ref().map(String::as_str));
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("FERRYENC"), "no note for an age archive: {stderr}");
}
