//! Archives on local disk: directory and single-file forms, encryption, and every kind of
//! damage a reader must catch (altered bytes, truncation, missing or extra members, hostile
//! paths, a newer format, a wrong or missing key) — always with a clear error, never a panic.

mod support;

use std::io::Read as _;
use std::path::{Path, PathBuf};

use ferry_archive::{ArchiveError, Batch, Destination, Encoder, Keys, S3Settings, Writer, read};
use ferry_model::RawObject;
use serde_json::json;
use support::{SECRET_VALUE, assert_reported, assert_round_trip, header, identity_keys, new_identity, sample, write};

fn dest(path: &Path) -> Destination {
    Destination::parse(&path.to_string_lossy(), &S3Settings::default()).expect("destination")
}

fn file_dest(path: &Path) -> Destination {
    Destination::File(path.to_path_buf())
}

/// Writes the sample as a single-file archive and returns its path.
async fn sample_file(dir: &Path, key: Option<&Keys>) -> PathBuf {
    let path = dir.join("backup.tar.zst");
    write(&file_dest(&path), key, &sample()).await.expect("write");
    path
}

/// Reads `path` and returns the error it must give.
async fn read_error(path: &Path, key: Option<&Keys>) -> ArchiveError {
    let err = read(&file_dest(path), key).await.expect_err("the archive must be refused");
    assert_reported(&err, &path.display().to_string());
    err
}

#[tokio::test]
async fn directory_round_trip_keeps_every_object_and_the_header() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("export/");
    let dest = dest(&root);
    assert!(matches!(dest, Destination::Directory(_)));
    let manifest = write(&dest, None, &sample()).await.expect("write");
    assert_round_trip(&dest, None, &sample()).await;

    assert!(root.join("manifest.json").is_file());
    assert!(root.join("objects/core/Secret/shop/db.json").is_file());
    assert!(root.join("objects/rbac.authorization.k8s.io/ClusterRole/_cluster/system%3Acontroller%3Ashop.json").is_file());
    assert!(!root.join(".manifest.json.partial").exists());
    for entry in &manifest.objects {
        assert!(root.join(&entry.path).is_file(), "{}", entry.path);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(root.join("objects/core/Secret/shop/db.json")).expect("secret").permissions().mode();
        assert_eq!(mode & 0o077, 0, "members are readable by their owner only");
    }
}

#[tokio::test]
async fn single_file_round_trip_leaves_no_partial_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("backup.tar.zst");
    let dest = dest(&path);
    assert!(matches!(dest, Destination::File(_)));
    let manifest = write(&dest, None, &sample()).await.expect("write");
    assert_eq!(manifest.objects.len(), sample().len());
    assert_round_trip(&dest, None, &sample()).await;
    assert!(!dir.path().join("backup.tar.zst.partial").exists());
    let bytes = std::fs::read(&path).expect("archive");
    assert_eq!(bytes[..4], [0x28, 0xB5, 0x2F, 0xFD], "a zstd stream");
    let members = unpack(&bytes);
    assert_eq!(members.last().map(|(p, _)| p.as_str()), Some("manifest.json"), "the manifest comes last");
}

#[cfg(unix)]
#[tokio::test]
async fn a_link_planted_at_the_old_partial_name_is_not_followed_and_the_archive_is_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("temp dir");
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "keep me").expect("victim");
    std::os::unix::fs::symlink(&victim, dir.path().join("backup.tar.zst.partial")).expect("symlink");
    let path = sample_file(dir.path(), None).await;
    assert_eq!(std::fs::read_to_string(&victim).expect("victim"), "keep me", "the planted link was followed");
    assert_eq!(std::fs::metadata(&path).expect("archive").permissions().mode() & 0o777, 0o600);
    assert_round_trip(&file_dest(&path), None, &sample()).await;
    let names: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").map(|e| e.expect("entry").file_name()).collect();
    assert_eq!(names.len(), 3, "no temporary file is left: {names:?}");
}

/// Keys with only a passphrase, read from a file.
fn passphrase_keys(dir: &Path, passphrase: &str) -> Keys {
    let path = dir.join(format!("passphrase-{}.txt", passphrase.len()));
    std::fs::write(&path, format!("{passphrase}\n")).expect("passphrase file");
    let mut keys = Keys::new();
    keys.add_passphrase_file(&path).expect("passphrase");
    keys
}

#[tokio::test]
async fn encrypted_round_trip_hides_the_contents() {
    let dir = tempfile::tempdir().expect("temp dir");
    let keys = identity_keys(&dir.path().join("identity.txt"));
    let path = sample_file(dir.path(), Some(&keys)).await;
    assert_round_trip(&file_dest(&path), Some(&keys), &sample()).await;
    let bytes = std::fs::read(&path).expect("archive");
    assert!(bytes.starts_with(b"age-encryption.org/v1\n-> X25519 "), "an age file to an X25519 recipient");
    let plain = zstd::decode_all(bytes.as_slice());
    assert!(plain.is_err(), "the compressed stream is not readable without the key");
    assert!(!bytes.windows(SECRET_VALUE.len()).any(|w| w == SECRET_VALUE.as_bytes()));
    assert_eq!(keys.legacy_reads(), 0);
}

#[tokio::test]
async fn recipients_encrypt_for_every_holder_of_an_identity() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (alice, bob) = (dir.path().join("alice.txt"), dir.path().join("bob.txt"));
    let recipients = dir.path().join("team.txt");
    std::fs::write(&recipients, format!("# the team\n{}\n\n{}\n", new_identity(&alice), new_identity(&bob))).expect("recipients file");
    let mut writing = Keys::new();
    writing.add_recipients_file(&recipients).expect("recipients");
    let path = sample_file(dir.path(), Some(&writing)).await;
    for identity in [&alice, &bob] {
        assert_round_trip(&file_dest(&path), Some(&identity_keys(identity)), &sample()).await;
    }
    let err = read_error(&path, Some(&writing)).await;
    assert!(matches!(err, ArchiveError::KeyRequired { .. }), "recipients alone cannot decrypt: {err}");
    let plain = dir.path().join("plain/");
    write(&dest(&plain), None, &sample()).await.expect("write");
    assert_round_trip(&dest(&plain), Some(&writing), &sample()).await;
}

#[tokio::test]
async fn a_passphrase_encrypts_and_decrypts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let keys = passphrase_keys(dir.path(), "correct horse battery staple");
    let path = sample_file(dir.path(), Some(&keys)).await;
    assert!(std::fs::read(&path).expect("archive").starts_with(b"age-encryption.org/v1\n-> scrypt "));
    assert_round_trip(&file_dest(&path), Some(&keys), &sample()).await;
    let mut from_env = Keys::new();
    from_env.add_passphrase("correct horse battery staple".to_owned(), "FERRY_TEST_PASSPHRASE").expect("passphrase");
    assert_round_trip(&file_dest(&path), Some(&from_env), &sample()).await;

    let wrong = read_error(&path, Some(&passphrase_keys(dir.path(), "wrong horse"))).await;
    assert!(matches!(wrong, ArchiveError::WrongKey { .. }), "{wrong}");
    let identity = read_error(&path, Some(&identity_keys(&dir.path().join("identity.txt")))).await;
    assert!(matches!(identity, ArchiveError::WrongKey { .. }), "{identity}");

    let mut both = passphrase_keys(dir.path(), "correct horse battery staple");
    both.add_recipient(&new_identity(&dir.path().join("other.txt"))).expect("recipient");
    let err = Writer::create(&file_dest(&dir.path().join("both")), header(), Some(&both)).await.err().expect("refused");
    assert!(matches!(err, ArchiveError::Encryption { .. }) && err.to_string().contains("one or the other"), "{err}");
}

#[tokio::test]
async fn an_encrypted_archive_needs_its_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let keys = identity_keys(&dir.path().join("identity.txt"));
    let path = sample_file(dir.path(), Some(&keys)).await;

    let missing = read_error(&path, None).await;
    assert!(matches!(missing, ArchiveError::KeyRequired { .. }), "{missing}");
    assert!(missing.to_string().contains("is encrypted; pass --identity"), "{missing}");

    let wrong = read_error(&path, Some(&identity_keys(&dir.path().join("other.txt")))).await;
    assert!(matches!(wrong, ArchiveError::WrongKey { .. }), "{wrong}");
    assert!(wrong.to_string().contains("keys given do not open"), "{wrong}");
}

#[tokio::test]
async fn a_plain_archive_is_refused_when_a_key_is_given() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = identity_keys(&dir.path().join("identity.txt"));
    let path = sample_file(dir.path(), None).await;
    let err = read_error(&path, Some(&key)).await;
    assert!(matches!(err, ArchiveError::NotEncrypted { .. }), "{err}");
    assert!(err.to_string().contains("is not encrypted but a key was given"), "{err}");

    let root = dir.path().join("plain/");
    write(&dest(&root), None, &sample()).await.expect("write");
    let err = read(&dest(&root), Some(&key)).await.expect_err("a directory cannot be encrypted");
    assert!(matches!(err, ArchiveError::NotEncrypted { .. }), "{err}");
}

#[tokio::test]
async fn key_files_that_hold_no_key_are_explained() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bad.key");
    std::fs::write(&path, "hunter2\n").expect("key file");
    let err = Keys::new().add_identity_file(&path).expect_err("not an identity");
    assert!(matches!(err, ArchiveError::KeyFileInvalid { .. }), "{err}");
    assert!(err.to_string().contains(&path.display().to_string()) && err.to_string().contains("line 1") && !err.to_string().contains("hunter2"), "{err}");
    let err = Keys::new().add_passphrase_file(&dir.path().join("missing.key")).expect_err("missing");
    assert!(matches!(err, ArchiveError::KeyFileUnreadable { .. }), "{err}");
    std::fs::write(&path, " \n").expect("key file");
    let err = Keys::new().add_passphrase_file(&path).expect_err("empty");
    assert!(err.to_string().contains("it is empty"), "{err}");
    std::fs::write(&path, "# nobody\nage1notakey\n").expect("recipients file");
    let err = Keys::new().add_recipients_file(&path).expect_err("bad recipient");
    assert!(matches!(err, ArchiveError::Recipient { .. }) && err.to_string().contains("line 2"), "{err}");
    let err = Keys::new().add_recipient("bob@example.com").expect_err("not a recipient");
    assert!(err.to_string().contains("neither an age recipient"), "{err}");
}

#[tokio::test]
async fn archives_in_the_old_format_are_still_read_with_their_key() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let archive = fixtures.join("ferryenc-v1.tar.zst");
    assert!(std::fs::read(&archive).expect("fixture").starts_with(b"FERRYENC"));
    let mut keys = Keys::new();
    keys.add_passphrase_file(&fixtures.join("ferryenc-v1.key")).expect("old key file");
    let expected: Vec<_> = sample().into_iter().take(3).collect();
    assert_round_trip(&file_dest(&archive), Some(&keys), &expected).await;
    assert_eq!(keys.legacy_reads(), 1, "the caller can tell that the old format was read");

    let missing = read_error(&archive, None).await;
    assert!(matches!(missing, ArchiveError::KeyRequired { .. }), "{missing}");
    let dir = tempfile::tempdir().expect("temp dir");
    for other in [identity_keys(&dir.path().join("identity.txt")), passphrase_keys(dir.path(), &"ab".repeat(32)), passphrase_keys(dir.path(), "not a key")] {
        let err = read_error(&archive, Some(&other)).await;
        assert!(matches!(err, ArchiveError::WrongKey { .. }), "{err}");
    }
}

#[tokio::test]
async fn a_hostile_age_header_is_refused_at_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let keys = identity_keys(&dir.path().join("identity.txt"));
    let path = dir.path().join("hostile.age");
    let mut bytes = b"age-encryption.org/v1\n-> X25519 ".to_vec();
    bytes.extend(std::iter::repeat_n(b'A', 4 << 20));
    std::fs::write(&path, &bytes).expect("write");
    let started = std::time::Instant::now();
    let err = read_error(&path, Some(&keys)).await;
    assert!(matches!(err, ArchiveError::TooLarge { .. } | ArchiveError::Damaged { .. }), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "refused in {:?}", started.elapsed());
}

#[tokio::test]
async fn directories_cannot_be_encrypted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = identity_keys(&dir.path().join("identity.txt"));
    let err = Writer::create(&Destination::Directory(dir.path().join("out")), header(), Some(&key)).await.err().expect("refused");
    assert!(matches!(err, ArchiveError::EncryptedDirectory { .. }), "{err}");
    assert!(!dir.path().join("out").exists());
}

#[tokio::test]
async fn a_directory_with_other_files_is_refused_but_an_earlier_archive_is_replaced() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("notes.txt"), "mine").expect("file");
    let err = Writer::create(&dest(dir.path()), header(), None).await.err().expect("refused");
    assert!(matches!(err, ArchiveError::DirectoryNotEmpty { .. }), "{err}");
    assert!(dir.path().join("notes.txt").exists());

    let root = dir.path().join("archive");
    write(&Destination::Directory(root.clone()), None, &sample()).await.expect("first export");
    let smaller = &sample()[..2];
    write(&Destination::Directory(root.clone()), None, smaller).await.expect("second export");
    assert_round_trip(&Destination::Directory(root), None, smaller).await;
}

#[tokio::test]
async fn a_file_that_is_not_an_archive_is_not_replaced_but_an_archive_is() {
    let dir = tempfile::tempdir().expect("temp dir");
    let precious = dir.path().join("thesis.txt");
    std::fs::write(&precious, "years of work").expect("file");
    let err = Writer::create(&file_dest(&precious), header(), None).await.err().expect("refused");
    assert!(matches!(err, ArchiveError::FileNotArchive { .. }), "{err}");
    assert_eq!(std::fs::read_to_string(&precious).expect("still there"), "years of work");

    let path = sample_file(dir.path(), None).await;
    write(&file_dest(&path), None, &sample()[..1]).await.expect("replaces");
    assert_round_trip(&file_dest(&path), None, &sample()[..1]).await;
}

#[tokio::test]
async fn an_interrupted_export_leaves_no_archive() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("backup.tar.zst");
    let (id, resource, object) = &sample()[1];

    let mut writer = Writer::create(&file_dest(&path), header(), None).await.expect("create");
    writer.add(id, resource, object).await.expect("add");
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 1, "a temporary file is being written");
    writer.abort().await;
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0, "aborting removes the temporary file");
    assert!(matches!(read(&file_dest(&path), None).await, Err(ArchiveError::NotFound { .. })));

    let mut dropped = Writer::create(&file_dest(&path), header(), None).await.expect("create");
    dropped.add(id, resource, object).await.expect("add");
    drop(dropped);
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0, "dropping the writer removes the partial file");

    let root = dir.path().join("tree");
    let mut writer = Writer::create(&Destination::Directory(root.clone()), header(), None).await.expect("create");
    writer.add(id, resource, object).await.expect("add");
    drop(writer);
    let err = read(&Destination::Directory(root.clone()), None).await.expect_err("no manifest");
    assert!(matches!(err, ArchiveError::Truncated { .. }), "{err}");
    assert!(err.to_string().contains("the export was probably interrupted"), "{err}");

    let writer = Writer::create(&Destination::Directory(root.clone()), header(), None).await.expect("create again");
    writer.abort().await;
    assert!(!root.join("objects").exists());
}

#[tokio::test]
async fn the_same_object_twice_is_refused_and_the_writer_goes_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("backup.tar.zst");
    let (id, resource, object) = &sample()[1];
    let mut writer = Writer::create(&file_dest(&path), header(), None).await.expect("create");
    writer.add(id, resource, object).await.expect("add");
    let err = writer.add(id, resource, object).await.expect_err("duplicate");
    assert!(matches!(err, ArchiveError::InvalidObject { .. }) && err.to_string().contains("Deployment shop/web"), "{err}");
    writer.finish().await.expect("an invalid object does not break the writer");
    assert_round_trip(&file_dest(&path), None, &sample()[1..2]).await;
}

/// The sample as JSON text, as `ferry export` reads objects from a cluster.
fn raw_sample() -> Vec<(RawObject, String)> {
    let raw = |(id, resource, object): (ferry_model::ObjectId, String, serde_json::Value)| {
        (RawObject::from_list_item(&object.to_string(), &id.api_version, &id.kind).expect("an object"), resource)
    };
    sample().into_iter().map(raw).collect()
}

fn batch(encoder: &Encoder, objects: &[(RawObject, String)]) -> Batch {
    encoder.raw(objects.iter().map(|(object, resource)| (object, resource.as_str())))
}

/// Writes the sample: its last objects encoded first on another thread, added after the first
/// (a batch) and the middle ones (one by one).
async fn write_in_batches(dest: &Destination, key: Option<&Keys>) {
    let (raw, objects) = (raw_sample(), sample());
    let mut writer = Writer::create(dest, header(), key).await.expect("create");
    let encoder = writer.encoder();
    let last = std::thread::scope(|scope| scope.spawn(|| batch(&encoder, &raw[3..])).join().expect("encoded"));
    writer.add_batch(batch(&encoder, &raw[..1])).await.expect("first batch");
    for (id, resource, object) in &objects[1..3] {
        writer.add(id, resource, object).await.expect("add");
    }
    writer.add_batch(last).await.expect("last batch");
    writer.finish().await.expect("finish");
}

#[tokio::test]
async fn batches_encoded_ahead_are_added_in_order_in_every_form() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = identity_keys(&dir.path().join("identity.txt"));
    let file = dir.path().join("backup.tar.zst");
    for (dest, key) in [(Destination::Directory(dir.path().join("tree")), None), (file_dest(&file), None), (file_dest(&dir.path().join("sealed")), Some(&key))]
    {
        write_in_batches(&dest, key).await;
        assert_round_trip(&dest, key, &sample()).await;
    }
    let again = dir.path().join("again.tar.zst");
    write_in_batches(&file_dest(&again), None).await;
    let bytes = std::fs::read(&file).expect("archive");
    assert!(bytes == std::fs::read(&again).expect("archive"), "the same batches make the same bytes");
    assert_eq!(unpack(&bytes).len(), sample().len() + 1, "the frames hold one tar stream: the objects, then the manifest");
}

#[tokio::test]
async fn a_batch_with_an_object_already_added_is_refused_whole_and_the_writer_goes_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("backup.tar.zst");
    let (raw, objects) = (raw_sample(), sample());
    let mut writer = Writer::create(&file_dest(&path), header(), None).await.expect("create");
    let encoder = writer.encoder();
    let (id, resource, object) = &objects[1];
    writer.add(id, resource, object).await.expect("add");
    let err = writer.add_batch(batch(&encoder, &raw[1..3])).await.expect_err("the Deployment is there");
    assert!(matches!(err, ArchiveError::InvalidObject { .. }) && err.to_string().contains("Deployment shop/web"), "{err}");
    let twice = [raw[2].clone(), raw[2].clone()];
    let err = writer.add_batch(batch(&encoder, &twice)).await.expect_err("twice in one batch");
    assert!(err.to_string().contains("Secret shop/db"), "{err}");
    writer.add_batch(batch(&encoder, &raw[2..3])).await.expect("the Secret alone");
    writer.finish().await.expect("an invalid batch does not break the writer");
    assert_round_trip(&file_dest(&path), None, &objects[1..3]).await;
}

#[tokio::test]
async fn a_flipped_byte_inside_an_object_is_a_digest_error_naming_the_member() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = sample_file(dir.path(), None).await;
    let mut members = unpack(&std::fs::read(&path).expect("archive"));
    let (member, bytes) = members.iter_mut().find(|(p, _)| p.ends_with("Secret/shop/db.json")).expect("secret member");
    let member = member.clone();
    let at = bytes.windows(SECRET_VALUE.len()).position(|w| w == SECRET_VALUE.as_bytes()).expect("value");
    bytes[at] ^= 0x01;
    std::fs::write(&path, pack(&members)).expect("write");

    let err = read_error(&path, None).await;
    assert!(matches!(&err, ArchiveError::DigestMismatch { member: m, .. } if *m == member), "{err}");
    assert!(err.to_string().contains("objects/core/Secret/shop/db.json") && err.to_string().contains("Secret shop/db"), "{err}");
}

#[tokio::test]
async fn a_flipped_byte_anywhere_in_the_file_is_caught() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = sample_file(dir.path(), None).await;
    let good = std::fs::read(&path).expect("archive");
    for at in [0, 4, 10, good.len() / 3, good.len() / 2, good.len() - 10, good.len() - 1] {
        let mut bad = good.clone();
        bad[at] ^= 0x40;
        std::fs::write(&path, &bad).expect("write");
        let err = read_error(&path, None).await;
        assert!(
            matches!(
                err,
                ArchiveError::Damaged { .. } | ArchiveError::DigestMismatch { .. } | ArchiveError::NotAnArchive { .. } | ArchiveError::Truncated { .. }
            ),
            "byte {at}: {err}"
        );
    }
}

#[tokio::test]
async fn a_truncated_file_is_reported_as_truncated() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = sample_file(dir.path(), None).await;
    let good = std::fs::read(&path).expect("archive");
    for cut in [0, 2, 4, 10, 100, good.len() / 2, good.len() - 30, good.len() - 1] {
        std::fs::write(&path, &good[..cut]).expect("write");
        let err = read_error(&path, None).await;
        assert!(matches!(err, ArchiveError::Truncated { .. }), "cut at {cut}: {err}");
        assert!(err.to_string().contains("run `ferry export` again"), "{err}");
    }
}

#[tokio::test]
async fn a_truncated_or_altered_encrypted_file_is_caught() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = identity_keys(&dir.path().join("identity.txt"));
    let path = sample_file(dir.path(), Some(&key)).await;
    let good = std::fs::read(&path).expect("archive");
    for cut in [0, 3, 8, 20, 44, 60, 150, good.len() / 2, good.len() - 1] {
        std::fs::write(&path, &good[..cut]).expect("write");
        let err = read_error(&path, Some(&key)).await;
        assert!(matches!(err, ArchiveError::Truncated { .. } | ArchiveError::Damaged { .. }), "cut at {cut}: {err}");
    }
    for at in [good.len() / 2, good.len() - 1] {
        let mut bad = good.clone();
        bad[at] ^= 0x01;
        std::fs::write(&path, &bad).expect("write");
        let err = read_error(&path, Some(&key)).await;
        assert!(matches!(err, ArchiveError::Damaged { .. }), "byte {at}: {err}");
        assert!(err.to_string().contains("fails authentication"), "{err}");
    }
    // Every byte of the header after its version line: a recipient's stanza no longer opens
    // (wrong key), no longer parses, or the header's MAC fails; never "a newer format".
    let header_end = good.windows(4).position(|w| w == b"--- ").expect("the header's MAC line") + 48;
    for at in "age-encryption.org/v1\n".len()..header_end {
        let mut bad = good.clone();
        bad[at] ^= 0x01;
        std::fs::write(&path, &bad).expect("write");
        let err = read_error(&path, Some(&key)).await;
        assert!(matches!(err, ArchiveError::Damaged { .. } | ArchiveError::WrongKey { .. }), "byte {at}: {err}");
    }
}

/// Lower-case hex sha256 of a byte string, as the manifest records it.
fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Rewrites the sample archive's members with `change` and returns the error reading it gives.
async fn forged(change: impl FnOnce(&mut Vec<(String, Vec<u8>)>)) -> ArchiveError {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = sample_file(dir.path(), None).await;
    let mut members = unpack(&std::fs::read(&path).expect("archive"));
    change(&mut members);
    std::fs::write(&path, pack(&members)).expect("write");
    read_error(&path, None).await
}

#[tokio::test]
async fn a_missing_manifest_means_an_interrupted_export() {
    let err = forged(|members| {
        members.pop();
    })
    .await;
    assert!(matches!(err, ArchiveError::Truncated { .. }), "{err}");
    assert!(err.to_string().contains("no `manifest.json` at its end"), "{err}");
}

#[tokio::test]
async fn a_member_the_manifest_does_not_list_is_refused() {
    let err = forged(|members| {
        let at = members.len() - 1;
        members.insert(at, ("objects/core/ConfigMap/shop/planted.json".into(), b"{}\n".to_vec()));
    })
    .await;
    assert!(matches!(&err, ArchiveError::UnexpectedMember { member, .. } if member == "objects/core/ConfigMap/shop/planted.json"), "{err}");
}

#[tokio::test]
async fn a_member_swapped_for_another_object_with_its_digest_updated_is_refused() {
    let err = forged(|members| {
        let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "pwned"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"}});
        replace_config_map(members, format!("{binding}\n").into_bytes());
    })
    .await;
    assert!(matches!(err, ArchiveError::IdentityMismatch { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("is listed as ConfigMap shop/long-") && text.contains("but holds ClusterRoleBinding pwned"), "{text}");
}

/// Found by the fuzz target `archive_encrypted` (fuzz/seeds/archive_encrypted/regression-invalid-utf8):
/// a byte that is not UTF-8 inside a key the identity check skips passed as JSON.
#[tokio::test]
async fn a_member_that_is_not_utf_8_is_refused_even_in_a_field_the_identity_check_skips() {
    let err = forged(|members| {
        let (_, member) = members.iter().find(|(p, _)| p.contains("/ConfigMap/")).expect("the ConfigMap");
        let mut value: serde_json::Value = serde_json::from_slice(member).expect("json");
        value["data"] = json!({"desired": "x"});
        let text = format!("{value}\n").replace("desired", "d\u{e5}sired");
        let mut bytes = text.into_bytes();
        let at = bytes.windows(2).position(|w| w == "\u{e5}".as_bytes()).expect("the two-byte character");
        bytes.splice(at..at + 2, [0xe5]);
        replace_config_map(members, bytes);
    })
    .await;
    assert!(matches!(err, ArchiveError::Damaged { .. }), "{err}");
    assert!(err.to_string().contains("is not UTF-8 text (invalid byte at offset"), "{err}");
}

#[tokio::test]
async fn a_decompression_bomb_is_refused_from_its_header_in_both_forms() {
    let dir = tempfile::tempdir().expect("temp dir");
    let started = std::time::Instant::now();
    // A header declaring a 2 GiB member, then 8 MiB of zeros: a few kB compressed.
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(2 << 30);
    header.set_path("objects/core/ConfigMap/shop/bomb.json").expect("path");
    header.set_cksum();
    let mut tar = header.as_bytes().to_vec();
    tar.resize(8 << 20, 0);
    let path = dir.path().join("bomb.tar.zst");
    std::fs::write(&path, zstd::encode_all(tar.as_slice(), 1).expect("zstd")).expect("write");
    assert!(std::fs::metadata(&path).expect("bomb").len() < 100_000);
    let err = read_error(&path, None).await;
    assert!(matches!(err, ArchiveError::TooLarge { .. }), "{err}");
    assert!(err.to_string().contains("member `objects/core/ConfigMap/shop/bomb.json` is 2147483648 bytes, over the limit of 16 MiB"), "{err}");

    let root = dir.path().join("tree/");
    write(&dest(&root), None, &sample()).await.expect("write");
    let member = std::fs::OpenOptions::new().write(true).open(root.join("objects/core/Secret/shop/db.json")).expect("member");
    member.set_len(2 << 30).expect("a sparse 2 GiB member");
    let err = read(&dest(&root), None).await.expect_err("too large");
    assert!(matches!(err, ArchiveError::TooLarge { .. }) && err.to_string().contains("over the limit of 16 MiB"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "refusing took {:?}", started.elapsed());
}

#[tokio::test]
async fn a_member_the_manifest_lists_must_be_there() {
    let err = forged(|members| {
        members.retain(|(p, _)| !p.ends_with("Deployment/shop/web.json"));
    })
    .await;
    assert!(matches!(&err, ArchiveError::MissingMember { member, .. } if member == "objects/apps/Deployment/shop/web.json"), "{err}");
}

#[tokio::test]
async fn member_paths_that_could_escape_are_refused() {
    for hostile in ["../evil.json", "/etc/cron.d/evil", "objects/../../evil.json", "objects//x.json"] {
        let err = forged(|members| members.insert(0, (hostile.to_owned(), b"{}".to_vec()))).await;
        assert!(matches!(&err, ArchiveError::UnsafeMember { member, .. } if member == hostile), "{hostile}: {err}");
    }
}

#[tokio::test]
async fn members_after_the_manifest_are_refused() {
    let err = forged(|members| members.push(("objects/core/ConfigMap/shop/late.json".into(), b"{}".to_vec()))).await;
    assert!(matches!(err, ArchiveError::Damaged { .. }) && err.to_string().contains("must be the last member"), "{err}");
}

#[tokio::test]
async fn a_newer_format_asks_for_a_newer_ferry() {
    let err = forged(|members| {
        let (_, manifest) = members.last_mut().expect("manifest");
        let mut value: serde_json::Value = serde_json::from_slice(manifest).expect("json");
        value["format"] = json!("ferry.archive/v2");
        *manifest = serde_json::to_vec(&value).expect("json");
    })
    .await;
    assert!(matches!(err, ArchiveError::NewerFormat { .. }), "{err}");
    assert!(err.to_string().contains("written by a newer ferry"), "{err}");
}

#[tokio::test]
async fn a_file_that_is_not_an_archive_says_so() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "just some text").expect("file");
    let err = read_error(&path, None).await;
    assert!(matches!(err, ArchiveError::NotAnArchive { .. }), "{err}");
    let err = read(&file_dest(&dir.path().join("absent.tar.zst")), None).await.expect_err("absent");
    assert!(matches!(err, ArchiveError::NotFound { .. }) && err.to_string().contains("there is no archive at"), "{err}");
}

#[tokio::test]
async fn a_damaged_directory_archive_is_caught() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("archive");
    let dest = Destination::Directory(root.clone());
    write(&dest, None, &sample()).await.expect("write");
    let secret = root.join("objects/core/Secret/shop/db.json");
    let good = std::fs::read(&secret).expect("member");

    let mut bad = good.clone();
    bad[20] ^= 0x01;
    std::fs::write(&secret, &bad).expect("write");
    let err = read(&dest, None).await.expect_err("digest");
    assert_reported(&err, &root.display().to_string());
    assert!(matches!(&err, ArchiveError::DigestMismatch { member, .. } if member == "objects/core/Secret/shop/db.json"), "{err}");
    std::fs::write(&secret, &good).expect("restore");

    std::fs::write(root.join("objects/core/Secret/shop/planted.json"), "{}").expect("plant");
    let err = read(&dest, None).await.expect_err("extra");
    assert!(matches!(&err, ArchiveError::UnexpectedMember { member, .. } if member == "objects/core/Secret/shop/planted.json"), "{err}");
    std::fs::remove_file(root.join("objects/core/Secret/shop/planted.json")).expect("unplant");

    #[cfg(unix)]
    {
        std::fs::remove_file(&secret).expect("remove");
        std::os::unix::fs::symlink("/etc/hostname", &secret).expect("symlink");
        let err = read(&dest, None).await.expect_err("symlink");
        assert!(matches!(err, ArchiveError::Damaged { .. }) && err.to_string().contains("symbolic link"), "{err}");
    }
    std::fs::remove_file(&secret).expect("remove");
    let err = read(&dest, None).await.expect_err("missing");
    assert!(matches!(err, ArchiveError::MissingMember { .. }), "{err}");
}

#[test]
fn writers_can_move_between_threads() {
    fn assert_send<T: Send>() {}
    assert_send::<Writer>();
}

/// The members of an unencrypted single-file archive, in order.
pub fn unpack(compressed: &[u8]) -> Vec<(String, Vec<u8>)> {
    let decoder = zstd::stream::read::Decoder::new(compressed).expect("zstd");
    let mut tar = tar::Archive::new(decoder);
    let mut members = Vec::new();
    for entry in tar.entries().expect("entries") {
        let mut entry = entry.expect("entry");
        let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).expect("member");
        members.push((path, bytes));
    }
    members
}

/// Packs members as a single-file archive; short paths are stored verbatim, even unsafe ones.
pub fn pack(members: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, bytes) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o600);
        header.set_entry_type(tar::EntryType::Regular);
        if path.len() < 100 {
            let name = &mut header.as_old_mut().name;
            name.fill(0);
            name[..path.len()].copy_from_slice(path.as_bytes());
            header.set_cksum();
            tar.append(&header, bytes.as_slice()).expect("append");
        } else {
            tar.append_data(&mut header, path, bytes.as_slice()).expect("append");
        }
    }
    let tar = tar.into_inner().expect("tar");
    zstd::encode_all(tar.as_slice(), 3).expect("zstd")
}

#[tokio::test]
async fn the_same_objects_make_the_same_bytes_one_by_one_or_in_batches() {
    // Enough data (~4 MB of JSON) for objects added one by one to span several 1 MiB frames.
    let objects: Vec<_> = (0..1000)
        .map(|i| {
            let noise: String = (0..4000).map(|j| char::from(b'a' + ((i * 31 + j * j * 7) % 26) as u8)).collect();
            support::object("v1", "ConfigMap", "configmaps", Some("shop"), &format!("cm-{i}"), json!({"data": {"noise": noise}}))
        })
        .collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let (one, batched) = (dir.path().join("one.tar.zst"), dir.path().join("batched.tar.zst"));
    let manifest = write(&file_dest(&one), None, &objects).await.expect("write one by one");
    let json_bytes: u64 = manifest.objects.iter().map(|entry| entry.size).sum();
    assert!(json_bytes > 3 << 20, "the objects span several frames ({json_bytes} bytes)");
    let mut writer = Writer::create(&file_dest(&batched), header(), None).await.expect("create");
    writer.add_all(objects.iter().map(|(id, resource, object)| (id.clone(), resource.as_str(), object))).await.expect("add all");
    writer.finish().await.expect("finish");
    let (one, batched) = (std::fs::read(&one).expect("archive"), std::fs::read(&batched).expect("archive"));
    assert!(one == batched, "two archives of the same objects differ");
}

/// Puts `bytes` in place of the ConfigMap's member and updates its digest and size in the
/// manifest (the last member), as a forger who can rewrite the whole archive would.
fn replace_config_map(members: &mut [(String, Vec<u8>)], bytes: Vec<u8>) {
    let (path, member) = members.iter_mut().find(|(p, _)| p.contains("/ConfigMap/")).expect("the ConfigMap");
    let path = path.clone();
    *member = bytes.clone();
    let (_, manifest) = members.last_mut().expect("manifest");
    let mut value: serde_json::Value = serde_json::from_slice(manifest).expect("json");
    let entry = value["objects"].as_array_mut().expect("objects").iter_mut().find(|e| e["path"] == path.as_str()).expect("entry");
    entry["sha256"] = json!(sha256_hex(&bytes));
    entry["size"] = json!(bytes.len());
    *manifest = serde_json::to_vec(&value).expect("json");
}
