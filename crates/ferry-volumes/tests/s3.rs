//! A repository under an S3 prefix, against a real `rclone serve s3` on 127.0.0.1: a tree
//! backed up and restored, a second pass that stores only the change, and the errors for wrong
//! credentials and for a bucket that does not exist, and a store that is down for a while
//! waited for within the retry window. rclone answers ranged GETs with status 200, which
//! `object_store` refuses, so the restores here read packs through the store's whole-object
//! fallback.

use std::time::Duration;

use ferry_archive::S3Settings;
use ferry_testcluster::s3::S3Server;
use ferry_volumes::{BackupOptions, Chunker, Manifest, Repository, backup, open_store, restore};

#[test]
fn a_tree_round_trips_through_s3() {
    let server = S3Server::start();
    let (source, target) = (tempfile::tempdir().expect("tmp"), tempfile::tempdir().expect("tmp"));
    std::fs::create_dir(source.path().join("empty")).expect("dir");
    for i in 0..20 {
        std::fs::write(source.path().join(format!("f{i}")), format!("{i}\n").repeat(1000 * i)).expect("file");
    }
    std::os::unix::fs::symlink("f1", source.path().join("link")).expect("symlink");
    let store = open_store("s3://ferry/volumes/shop", &server.settings()).expect("store");
    assert_eq!(store.to_string(), "s3://ferry/volumes/shop/");
    let repository = Repository::open_or_create(store, Chunker::default(), None).expect("repository");
    let options = BackupOptions { volume: "shop/data".into(), time: "2026-12-06T12:00:00Z".into() };
    let first = backup(&repository, source.path(), &options).expect("backup");
    assert!(server.file_of("ferry", "volumes/shop/config.json").is_file());
    assert!(server.file_of("ferry", &format!("volumes/shop/snapshots/{}", first.snapshot)).is_file());

    std::fs::write(source.path().join("f3"), "changed").expect("change");
    let reopened = Repository::open(open_store("s3://ferry/volumes/shop/", &server.settings()).expect("store"), None).expect("reopen");
    let second = backup(&reopened, source.path(), &options).expect("second backup");
    assert_eq!((second.files, second.changed_files, second.new_chunks), (20, 1, 1), "{second:?}");
    restore(&reopened, &second.snapshot, target.path()).expect("restore");
    let mismatches = Manifest::of_tree(source.path()).expect("manifest").compare(&Manifest::of_tree(target.path()).expect("manifest"));
    assert!(mismatches.is_empty(), "{mismatches:?}");
}

/// `ferry volumes verify` reads the manifests the movers stored between Jobs, from async code
/// on ferry's multi-threaded runtime: the store must not start (or drop) a runtime there.
#[test]
fn the_store_works_from_async_code_on_a_multi_threaded_runtime() {
    let server = S3Server::start();
    let settings = server.settings();
    let source = tempfile::tempdir().expect("tmp");
    std::fs::write(source.path().join("f"), "data\n").expect("file");
    let written = Repository::open_or_create(open_store("s3://ferry/volumes/async", &settings).expect("store"), Chunker::default(), None).expect("repository");
    let options = BackupOptions { volume: "shop/data".into(), time: "2026-12-06T12:00:00Z".into() };
    let snapshot = backup(&written, source.path(), &options).expect("backup").snapshot;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let listed = runtime.block_on(async {
        let store = open_store("s3://ferry/volumes/async", &settings).expect("store");
        store.put("manifests/one", b"manifest".to_vec()).expect("put");
        assert_eq!(store.get("manifests/one").expect("get").as_deref(), Some(&b"manifest"[..]));
        assert_eq!(store.get("manifests/none").expect("get"), None);
        // Opening reads the packs' indexes; the repository is dropped here, inside async code.
        let repository = Repository::open(store.clone(), None).expect("open");
        assert_eq!(repository.load_snapshot(&snapshot).expect("snapshot").entries.len(), 2);
        store.list("manifests/").expect("list")
    });
    assert_eq!(listed, ["manifests/one"]);
}

#[test]
fn storage_errors_name_the_repository_and_the_cause() {
    let server = S3Server::start();
    let denied = open_store("s3://ferry/volumes", &server.settings_with(ferry_testcluster::s3::ACCESS_KEY, "not-the-secret")).expect("store");
    let text = chain(&Repository::open_or_create(denied, Chunker::default(), None).err().expect("refused"));
    assert!(text.contains("s3://ferry/volumes/") && text.contains("credentials") && !text.contains("not-the-secret"), "{text}");

    let missing = open_store("s3://no-such-bucket/volumes", &server.settings()).expect("store");
    let text = chain(&Repository::open_or_create(missing, Chunker::default(), None).err().expect("no bucket"));
    assert!(text.contains("`no-such-bucket` does not exist"), "{text}");
}

#[test]
fn a_store_down_for_a_while_is_waited_for_within_the_retry_window() {
    let mut server = S3Server::start();
    let patient = S3Settings { retry_window: Some(Duration::from_secs(60)), ..server.settings() };
    let (store, impatient) = (open_store("s3://ferry/volumes", &patient).expect("store"), open_store("s3://ferry/volumes", &server.settings()).expect("store"));
    store.put("before", b"1".to_vec()).expect("put while the store answers");

    server.kill();
    let refused = chain(&impatient.put("refused", b"2".to_vec()).expect_err("without a window, a store that is down fails the request"));
    assert!(refused.contains("s3://ferry/volumes/"), "{refused}");
    let back = std::thread::scope(|scope| {
        let restarted = scope.spawn(|| {
            std::thread::sleep(Duration::from_secs(3));
            server.restart_on_same_port()
        });
        store.put("during", b"3".to_vec()).expect("a put while the store is down waits for it to come back");
        restarted.join().expect("restarted")
    });
    assert_eq!(store.get("during").expect("get").as_deref(), Some(&b"3"[..]));
    assert_eq!(store.list("").expect("list"), ["before", "during"], "the refused put stored nothing");
    drop(back);
}

/// An error and its causes.
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    std::iter::successors(Some(err), |e| e.source()).map(ToString::to_string).collect::<Vec<_>>().join("\n  Caused by: ")
}
