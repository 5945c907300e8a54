//! Backup and in-place restore of a realistic tree through a repository in a local directory:
//! many small files, a larger file, symbolic links, a hard link, an empty directory, a sparse
//! file, odd modes; a second pass after changes sends only the change and the restore leaves
//! unchanged files untouched; a damaged chunk is detected; an encrypted repository round-trips,
//! hides contents and names, still deduplicates, and refuses missing or wrong keys.

use std::collections::HashMap;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::Path;
use std::sync::Arc;

use ferry_archive::Keys;
use ferry_testcluster::noise;
use ferry_volumes::{BackupOptions, BackupStats, Chunker, DirStore, Manifest, Repository, Unlock, VolumeError, backup, restore};

/// Writes the sample tree.
fn make_tree(root: &Path) {
    for dir in 0..10 {
        let dir_path = root.join(format!("dir-{dir}"));
        std::fs::create_dir_all(&dir_path).expect("dir");
        for file in 0..30 {
            std::fs::write(dir_path.join(format!("file-{file}.txt")), format!("file {file} in {dir}\n").repeat(file + 1)).expect("small file");
        }
    }
    std::fs::write(root.join("large.bin"), noise(6 << 20, 1)).expect("large file");
    xattr::set(root.join("dir-1/file-1.txt"), "user.origin", b"shop-db").expect("a user attribute");
    xattr::set(root.join("dir-2"), "trusted.note", b"\x00\xffnot text").expect("a trusted attribute on a directory");
    std::os::unix::fs::symlink("dir-1/file-1.txt", root.join("link")).expect("symlink");
    std::os::unix::fs::symlink("nowhere", root.join("dangling")).expect("dangling symlink");
    std::fs::hard_link(root.join("dir-2/file-2.txt"), root.join("hard")).expect("hard link");
    std::fs::create_dir(root.join("empty")).expect("empty dir");
    let sparse = std::fs::File::create(root.join("sparse.img")).expect("sparse");
    sparse.set_len(32 << 20).expect("sparse length");
    std::os::unix::fs::FileExt::write_at(&sparse, b"middle", 16 << 20).expect("sparse data");
    let mode = |path: &str, mode: u32| std::fs::set_permissions(root.join(path), std::fs::Permissions::from_mode(mode)).expect("chmod");
    mode("dir-3/file-3.txt", 0o600);
    mode("dir-4/file-4.txt", 0o4755);
    mode("dir-5", 0o1777);
    mode("dir-6/file-6.txt", 0o000);
    std::os::unix::fs::lchown(root.join("dir-7/file-7.txt"), Some(1234), Some(5678)).expect("chown (the tests run as root)");
}

fn repository(dir: &Path) -> Repository {
    Repository::open_or_create(Arc::new(DirStore::new(dir)), Chunker::default(), None).expect("repository")
}

/// Opens (or creates) the repository in `dir` with `unlock`.
fn open_with(dir: &Path, unlock: Option<&Unlock>) -> Result<Repository, VolumeError> {
    Repository::open_or_create(Arc::new(DirStore::new(dir)), Chunker::default(), unlock)
}

/// Keys holding a new age identity, written to `path` as `age-keygen` would.
fn identity_keys(path: &Path) -> Unlock {
    use age::secrecy::ExposeSecret as _;
    #[allow(deprecated, reason = "classic X25519 identities are what `age` 1.1 (Debian) reads")]
    let identity = age::x25519::Identity::generate();
    std::fs::write(path, format!("{}\n", identity.to_string().expose_secret())).expect("identity file");
    let mut keys = Keys::new();
    keys.add_identity_file(path).expect("identity");
    Unlock::Keys(keys)
}

/// Every stored file below `dir`, with its bytes.
fn stored(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).expect("list") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push((path.strip_prefix(dir).expect("below").to_string_lossy().into_owned(), std::fs::read(&path).expect("read")));
            }
        }
    }
    out
}

fn pass(repository: &Repository, root: &Path, time: &str) -> BackupStats {
    backup(repository, root, &BackupOptions { volume: "shop/data".into(), time: time.into() }).expect("backup")
}

fn assert_same(source: &Path, target: &Path) {
    let mismatches = Manifest::of_tree(source).expect("source manifest").compare(&Manifest::of_tree(target).expect("target manifest"));
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}

/// Inode, modification and change time of every regular file.
fn stamps(root: &Path) -> HashMap<String, (u64, i64, i64)> {
    let mut out = HashMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("list") {
            let path = entry.expect("entry").path();
            let meta = std::fs::symlink_metadata(&path).expect("stat");
            if meta.is_dir() {
                stack.push(path);
            } else if meta.is_file() {
                let name = path.strip_prefix(root).expect("below").to_string_lossy().into_owned();
                out.insert(name, (meta.ino(), meta.mtime_nsec() + meta.mtime() * 1_000_000_000, meta.ctime_nsec() + meta.ctime() * 1_000_000_000));
            }
        }
    }
    out
}

#[test]
fn a_tree_round_trips_and_a_second_pass_sends_only_the_change() {
    let (source, target, repo) = (tempfile::tempdir().expect("tmp"), tempfile::tempdir().expect("tmp"), tempfile::tempdir().expect("tmp"));
    make_tree(source.path());
    let repository = repository(repo.path());

    let first = pass(&repository, source.path(), "2026-12-06T12:00:00Z");
    assert_eq!((first.files, first.changed_files, first.parent.as_deref()), (302, 302, None));
    let restored = restore(&repository, &first.snapshot, target.path()).expect("restore");
    assert_eq!((restored.files, restored.written_files, restored.removed), (302, 302, 0));
    assert_same(source.path(), target.path());
    let meta = |path: &str| std::fs::symlink_metadata(target.path().join(path)).expect("restored entry");
    assert_eq!(meta("hard").ino(), meta("dir-2/file-2.txt").ino(), "the hard link is one file");
    assert!(meta("sparse.img").blocks() * 512 < 1 << 20, "the sparse file keeps its holes: {} blocks", meta("sparse.img").blocks());
    assert_eq!(meta("dir-5/file-5.txt").mtime(), std::fs::metadata(source.path().join("dir-5/file-5.txt")).expect("src").mtime());
    assert_eq!(std::fs::read_link(target.path().join("dangling")).expect("link").to_string_lossy(), "nowhere");
    assert!(meta("empty").is_dir());
    assert_eq!((meta("dir-7/file-7.txt").uid(), meta("dir-7/file-7.txt").gid()), (1234, 5678));

    // Change: one small file, 64 KiB in the middle of the large one, a new file, a deleted file and directory, a chmod.
    std::fs::write(source.path().join("dir-0/file-0.txt"), "changed\n").expect("change");
    let mut large = std::fs::read(source.path().join("large.bin")).expect("large");
    large[3 << 20..(3 << 20) + 65536].copy_from_slice(&noise(65536, 2));
    std::fs::write(source.path().join("large.bin"), large).expect("large change");
    std::fs::write(source.path().join("dir-9/new.txt"), "new\n").expect("new");
    std::fs::remove_file(source.path().join("dir-8/file-8.txt")).expect("delete");
    std::fs::remove_dir_all(source.path().join("dir-1")).expect("delete dir");
    std::fs::set_permissions(source.path().join("dir-3/file-3.txt"), std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let before = stamps(target.path());

    let second = pass(&repository, source.path(), "2026-12-06T12:10:00Z");
    assert_eq!(second.parent.as_deref(), Some(first.snapshot.as_str()));
    assert_eq!((second.files, second.changed_files), (302 - 1 - 30 + 1, 3), "{second:?}");
    assert!(second.stored_bytes < 3 << 20, "only the changed chunks are stored: {second:?}");
    assert!(second.new_chunks <= 5, "{second:?}");

    let again = restore(&repository, &second.snapshot, target.path()).expect("restore in place");
    assert_eq!((again.written_files, again.removed), (3, 2), "{again:?}");
    assert_same(source.path(), target.path());
    let after = stamps(target.path());
    for (path, stamp) in &before {
        if !["dir-0/file-0.txt", "large.bin", "dir-3/file-3.txt"].contains(&path.as_str()) && after.contains_key(path) {
            assert_eq!(after[path], *stamp, "{path} was touched");
        }
    }
    assert_ne!(after["large.bin"].0, before["large.bin"].0, "the changed file is rewritten");
}

#[test]
fn a_damaged_chunk_is_detected_on_restore() {
    let (source, target, repo) = (tempfile::tempdir().expect("tmp"), tempfile::tempdir().expect("tmp"), tempfile::tempdir().expect("tmp"));
    std::fs::write(source.path().join("only.txt"), "precious data\n").expect("file");
    let repository = repository(repo.path());
    let stats = pass(&repository, source.path(), "2026-12-06T12:00:00Z");
    // The one file is one chunk, alone in the one pack.
    let packs = std::fs::read_dir(repo.path().join("packs")).expect("packs").next().expect("one prefix").expect("entry").path();
    let pack = std::fs::read_dir(&packs).expect("pack").next().expect("one pack").expect("entry").path();
    let good = std::fs::read(&pack).expect("pack bytes");
    let tampered = zstd::bulk::compress(b"tampered data\n", 3).expect("zstd");
    assert_eq!(tampered.len(), good.len(), "the same length, so that only the contents differ");
    std::fs::write(&pack, tampered).expect("tamper");

    let err = restore(&repository, &stats.snapshot, target.path()).expect_err("a damaged chunk");
    let text = err.to_string();
    assert!(matches!(err, VolumeError::Corrupt { .. }) && text.contains("only.txt") && text.contains("does not match its digest"), "{text}");
    assert!(!text.contains("precious") && !text.contains("tampered"), "{text}");

    std::fs::write(&pack, &good[..good.len() / 2]).expect("truncate");
    let err = restore(&repository, &stats.snapshot, target.path()).expect_err("a truncated pack");
    assert!(matches!(err, VolumeError::Corrupt { .. }) && err.to_string().contains("ends before the chunk"), "{err}");

    let mut flipped = good.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0xff;
    std::fs::write(&pack, flipped).expect("flip");
    let text = restore(&repository, &stats.snapshot, target.path()).expect_err("a changed byte").to_string();
    assert!(text.contains("does not decompress") || text.contains("does not match its digest"), "{text}");
}

#[test]
fn an_encrypted_repository_round_trips_hides_contents_and_names_and_still_deduplicates() {
    let dirs: Vec<_> = (0..5).map(|_| tempfile::tempdir().expect("tmp")).collect();
    let (source, target, repo, plain_repo, keys) = (dirs[0].path(), dirs[1].path(), dirs[2].path(), dirs[3].path(), dirs[4].path());
    make_tree(source);
    let unlock = identity_keys(&keys.join("me.txt"));
    let encrypted = open_with(repo, Some(&unlock)).expect("an encrypted repository");
    let first = pass(&encrypted, source, "2026-12-06T12:00:00Z");
    restore(&encrypted, &first.snapshot, target).expect("restore");
    assert_same(source, target);

    // Every object but config.json and the refs (a snapshot's keyed name) is an age file; no
    // file's contents and no plain SHA-256 name show.
    let files = stored(repo);
    let plain_name = ferry_archive::hex(&<sha2::Sha256 as sha2::Digest>::digest(b"file 0 in 0\n"));
    for (name, bytes) in &files {
        assert!(!name.contains(&plain_name), "a chunk is named by its plain SHA-256: {name}");
        assert!(!bytes.windows(11).any(|w| w == b"file 3 in 4"), "{name} holds plain text");
        if name != "config.json" && !name.starts_with("refs/") {
            assert!(bytes.starts_with(b"age-encryption.org/v1\n"), "{name} is not an age file");
        }
    }
    assert!(files.iter().any(|(name, _)| name.starts_with("keys/")), "the repository's key is stored, encrypted");
    let plain = pass(&repository(plain_repo), source, "2026-12-06T12:00:00Z");
    assert_eq!(plain.new_chunks, first.new_chunks, "the same chunks, named differently");
    let overhead = first.stored_bytes - plain.stored_bytes;
    // age's header, nonce and tag come to ~200 bytes per object; rage's library adds a random
    // "grease" stanza to some headers (measured: 92 kB over 308 chunks, ~300 bytes each).
    assert!(overhead <= 400 * first.new_chunks, "age adds its header per chunk: {overhead} bytes over {} chunks", first.new_chunks);

    // A copy of a file and an unchanged tree store nothing new.
    std::fs::copy(source.join("dir-2/file-20.txt"), source.join("copy.txt")).expect("copy");
    let reopened = open_with(repo, Some(&unlock)).expect("reopen with the same keys");
    let second = pass(&reopened, source, "2026-12-06T12:10:00Z");
    assert_eq!((second.changed_files, second.new_chunks, second.stored_bytes), (1, 0, 0), "{second:?}");

    // The movers' repository key opens it too; missing, other or plain-for-encrypted keys are refused.
    let key = reopened.key().expect("an encrypted repository has a key").clone();
    let by_key = open_with(repo, Some(&Unlock::Key(key.clone()))).expect("open with the repository key");
    restore(&by_key, &second.snapshot, target).expect("restore with the repository key");
    assert_same(source, target);
    let missing = open_with(repo, None).err().expect("no keys");
    assert!(matches!(missing, VolumeError::KeyRequired { .. }) && missing.to_string().contains("is encrypted; pass --identity"), "{missing}");
    let other = open_with(repo, Some(&identity_keys(&keys.join("other.txt")))).err().expect("other keys");
    assert!(matches!(other, VolumeError::WrongKey { .. }), "{other}");
    let downgrade = open_with(plain_repo, Some(&unlock)).err().expect("a plain repository with keys");
    assert!(matches!(downgrade, VolumeError::NotEncrypted { .. }), "{downgrade}");
    let elsewhere = open_with(plain_repo, None).map(|_| ()).and_then(|()| open_with(&keys.join("new"), Some(&Unlock::Key(key))).map(drop));
    assert!(matches!(elsewhere, Err(VolumeError::Key { .. })), "a repository key does not create a repository: {elsewhere:?}");
}

#[test]
fn a_passphrase_opens_an_encrypted_repository() {
    let (source, target, repo, keys) =
        (tempfile::tempdir().expect("tmp"), tempfile::tempdir().expect("tmp"), tempfile::tempdir().expect("tmp"), tempfile::tempdir().expect("tmp"));
    std::fs::write(source.path().join("only.txt"), "precious data\n").expect("file");
    let passphrase = |text: &str| {
        let mut keys = Keys::new();
        keys.add_passphrase(text.to_owned(), "FERRY_TEST_PASSPHRASE").expect("passphrase");
        Unlock::Keys(keys)
    };
    let stats = pass(&open_with(repo.path(), Some(&passphrase("correct horse"))).expect("create"), source.path(), "2026-12-06T12:00:00Z");
    let reopened = open_with(repo.path(), Some(&passphrase("correct horse"))).expect("reopen");
    restore(&reopened, &stats.snapshot, target.path()).expect("restore");
    assert_same(source.path(), target.path());
    let wrong = open_with(repo.path(), Some(&passphrase("wrong horse"))).err().expect("wrong passphrase");
    assert!(matches!(wrong, VolumeError::WrongKey { .. }), "{wrong}");
    let identity = open_with(repo.path(), Some(&identity_keys(&keys.path().join("me.txt")))).err().expect("an identity it was not encrypted to");
    assert!(matches!(identity, VolumeError::WrongKey { .. }), "{identity}");
}

#[test]
fn an_added_key_opens_the_repository_and_the_keys_before_it_still_do() {
    let (source, target, repo, plain, keys) = (
        tempfile::tempdir().expect("tmp"),
        tempfile::tempdir().expect("tmp"),
        tempfile::tempdir().expect("tmp"),
        tempfile::tempdir().expect("tmp"),
        tempfile::tempdir().expect("tmp"),
    );
    std::fs::write(source.path().join("only.txt"), "precious data\n").expect("file");
    let first = identity_keys(&keys.path().join("first.txt"));
    let created = open_with(repo.path(), Some(&first)).expect("create");
    let stats = pass(&created, source.path(), "2026-12-06T12:00:00Z");
    let Unlock::Keys(second) = identity_keys(&keys.path().join("second.txt")) else { unreachable!("identity_keys gives keys") };
    let other = identity_keys(&keys.path().join("other.txt"));
    assert!(matches!(open_with(repo.path(), Some(&Unlock::Keys(second.clone()))).err(), Some(VolumeError::WrongKey { .. })), "not before it is added");

    let added = created.add_key(&second).expect("add a key");
    assert!(added.starts_with("keys/"), "{added}");
    assert_eq!(created.key_names().expect("list").len(), 2, "the first key stays");
    let by_second = open_with(repo.path(), Some(&Unlock::Keys(second))).expect("the added key opens it");
    assert_eq!(by_second.key().map(|k| k.recipient()), created.key().map(|k| k.recipient()), "the same repository key");
    restore(&by_second, &stats.snapshot, target.path()).expect("restore with the added key");
    assert_same(source.path(), target.path());
    open_with(repo.path(), Some(&first)).expect("the first key still opens it");
    assert!(matches!(open_with(repo.path(), Some(&other)).err(), Some(VolumeError::WrongKey { .. })), "a key never added does not");

    let Unlock::Keys(any) = other else { unreachable!("identity_keys gives keys") };
    let refused = repository(plain.path()).add_key(&any).expect_err("a plain repository has no key");
    assert!(refused.to_string().contains("it is not encrypted, so there is no key to add"), "{refused}");
}

#[test]
fn a_file_read_a_window_at_a_time_is_cut_as_one_pass_over_it_would_cut_it() {
    let (source, repo) = (tempfile::tempdir().expect("tmp"), tempfile::tempdir().expect("tmp"));
    // Small chunks, so that the 2 MiB file spans many of the reader's windows (4 largest chunks each).
    let chunker = Chunker { min: 4 << 10, avg: 16 << 10, max: 64 << 10 };
    let data = noise(2 << 20, 11);
    std::fs::write(source.path().join("large.bin"), &data).expect("file");
    let repository = Repository::open_or_create(Arc::new(DirStore::new(repo.path())), chunker, None).expect("repository");
    let stats = pass(&repository, source.path(), "2026-12-06T12:00:00Z");

    let sha256 = |bytes: &[u8]| ferry_archive::hex(&<sha2::Sha256 as sha2::Digest>::digest(bytes));
    let expected: Vec<String> =
        fastcdc::v2020::FastCDC::new(&data, chunker.min, chunker.avg, chunker.max).map(|c| sha256(&data[c.offset..c.offset + c.length])).collect();
    let snapshot = repository.load_snapshot(&stats.snapshot).expect("snapshot");
    let file = snapshot.entries.iter().find(|e| e.path == "large.bin").expect("the file");
    let ferry_volumes::Kind::File { chunks, sha256: whole, size, .. } = &file.kind else { panic!("{file:?}") };
    assert!(expected.len() > 64, "many windows: {} chunks", expected.len());
    assert_eq!(chunks, &expected, "the same cuts as one pass over the file");
    assert_eq!((whole.as_str(), *size), (sha256(&data).as_str(), data.len() as u64));
}

#[test]
fn extended_attributes_are_kept_compared_and_made_equal_in_place() {
    let (source, target, repo) = (tempfile::tempdir().expect("tmp"), tempfile::tempdir().expect("tmp"), tempfile::tempdir().expect("tmp"));
    make_tree(source.path());
    let repository = repository(repo.path());
    let stats = pass(&repository, source.path(), "2026-12-06T12:00:00Z");
    let snapshot = repository.load_snapshot(&stats.snapshot).expect("snapshot");
    let file = snapshot.entries.iter().find(|e| e.path == "dir-1/file-1.txt").expect("the file");
    assert_eq!(file.xattrs.get("user.origin").map(String::as_str), Some("c2hvcC1kYg=="), "{file:?}");

    restore(&repository, &stats.snapshot, target.path()).expect("restore");
    assert_same(source.path(), target.path());
    assert_eq!(xattr::get(target.path().join("dir-2"), "trusted.note").expect("read"), Some(b"\x00\xffnot text".to_vec()));

    // On the target: one attribute changed, one added; verification names them, and a restore in place mends both.
    xattr::set(target.path().join("dir-1/file-1.txt"), "user.origin", b"other").expect("set");
    xattr::set(target.path().join("dir-3/file-3.txt"), "user.extra", b"x").expect("set");
    let mismatches = Manifest::of_tree(source.path()).expect("manifest").compare(&Manifest::of_tree(target.path()).expect("manifest"));
    let problems: Vec<(&str, &str)> = mismatches.iter().map(|m| (m.path.as_str(), m.problem.as_str())).collect();
    assert_eq!(problems, [("dir-1/file-1.txt", "extended attributes differ: user.origin"), ("dir-3/file-3.txt", "extended attributes differ: user.extra")]);
    restore(&repository, &stats.snapshot, target.path()).expect("restore in place");
    assert_same(source.path(), target.path());
}

#[test]
fn a_backup_that_fails_to_write_its_pack_leaves_nothing_half_known_for_the_next_one() {
    let (source, target, repo) = (tempfile::tempdir().expect("tmp"), tempfile::tempdir().expect("tmp"), tempfile::tempdir().expect("tmp"));
    make_tree(source.path());
    let repository = repository(repo.path());
    // A file where the packs' directory should be: the pack cannot be written.
    std::fs::write(repo.path().join("packs"), "in the way").expect("blocker");
    let options = BackupOptions { volume: "shop/data".into(), time: "2026-12-06T12:00:00Z".into() };
    backup(&repository, source.path(), &options).expect_err("the pack cannot be written");

    // The same open repository, the cause removed: every chunk is stored this time.
    std::fs::remove_file(repo.path().join("packs")).expect("unblock");
    let stats = pass(&repository, source.path(), "2026-12-06T12:10:00Z");
    assert!(stats.new_chunks > 0 && stats.stored_bytes > 0, "{stats:?}");
    restore(&repository, &stats.snapshot, target.path()).expect("every chunk is in a pack");
    assert_same(source.path(), target.path());
}
