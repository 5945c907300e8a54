//! Archives in S3-compatible storage, against a real `rclone serve s3` on 127.0.0.1: round
//! trips, a multipart upload of several parts, interrupted uploads that leave nothing visible,
//! and the errors for wrong credentials, a missing bucket and damaged objects.

mod support;

use std::sync::Arc;

use ferry_archive::{ArchiveError, Destination, S3Settings, Writer, read};
use ferry_model::ObjectId;
use ferry_testcluster::s3::S3Server;
use object_store::ObjectStoreExt as _;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as StorePath;
use serde_json::{Value, json};
use support::{assert_reported, assert_round_trip, header, identity_keys, object, sample, write};

/// A client of the test server, to look at and tamper with stored objects directly.
fn store(server: &S3Server) -> Arc<object_store::aws::AmazonS3> {
    let settings = server.settings();
    let store = AmazonS3Builder::new()
        .with_endpoint(settings.endpoint.expect("endpoint"))
        .with_allow_http(true)
        .with_bucket_name("ferry")
        .with_region("us-east-1")
        .with_access_key_id(ferry_testcluster::s3::ACCESS_KEY)
        .with_secret_access_key(ferry_testcluster::s3::SECRET_KEY)
        .build()
        .expect("store");
    Arc::new(store)
}

/// About `megabytes` MiB of objects that compress poorly (pseudo-random base64).
fn bulky(megabytes: usize) -> Vec<(ObjectId, String, Value)> {
    let mut state = 0x2545_F491_4F6C_DD1D_u64;
    let mut noise = |len: usize| -> String {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                char::from(alphabet[(state % 64) as usize])
            })
            .collect()
    };
    (0..megabytes * 4)
        .map(|i| object("v1", "Secret", "secrets", Some("bulk"), &format!("blob-{i:04}"), json!({ "data": { "blob": noise(256 * 1024) } })))
        .collect()
}

async fn read_error(dest: &Destination) -> ArchiveError {
    let err = read(dest, None).await.expect_err("the read must fail");
    assert_reported(&err, &dest.to_string());
    err
}

#[tokio::test]
async fn round_trip_plain_and_encrypted() {
    let server = S3Server::start();
    let dest = server.dest("s3://ferry/backups/");
    assert!(matches!(&dest, Destination::S3(l) if l.key == "backups/ferry-archive.tar.zst"));
    write(&dest, None, &sample()).await.expect("write");
    assert_round_trip(&dest, None, &sample()).await;
    assert!(server.file_of("ferry", "backups/ferry-archive.tar.zst").is_file());

    let identity = tempfile::tempdir().expect("temp dir");
    let key = identity_keys(&identity.path().join("identity.txt"));
    let sealed = server.dest("s3://ferry/sealed.tar.zst");
    write(&sealed, Some(&key), &sample()).await.expect("write encrypted");
    assert_round_trip(&sealed, Some(&key), &sample()).await;
    let err = read_error(&sealed).await;
    assert!(matches!(err, ArchiveError::KeyRequired { .. }), "{err}");
}

#[tokio::test]
async fn a_large_archive_goes_up_in_several_parts() {
    let server = S3Server::start();
    let dest = server.dest("s3://ferry/large.tar.zst");
    let objects = bulky(24);
    write(&dest, None, &objects).await.expect("write");
    let meta = store(&server).head(&StorePath::from("large.tar.zst")).await.expect("head");
    assert!(meta.size > 2 * 8 * 1024 * 1024, "{} bytes need more than two 8 MiB parts", meta.size);
    assert_round_trip(&dest, None, &objects).await;
}

#[tokio::test]
async fn an_aborted_upload_leaves_nothing_visible() {
    let server = S3Server::start();
    let dest = server.dest("s3://ferry/aborted.tar.zst");
    let mut writer = Writer::create(&dest, header(), None).await.expect("create");
    for (id, resource, object) in &bulky(20) {
        writer.add(id, resource, object).await.expect("add");
    }
    writer.abort().await;
    let err = read_error(&dest).await;
    assert!(matches!(err, ArchiveError::NotFound { .. }), "{err}");
    assert!(err.to_string().contains("there is no archive at `s3://ferry/aborted.tar.zst`"), "{err}");
    assert!(!server.file_of("ferry", "aborted.tar.zst").exists());
}

#[tokio::test]
async fn a_server_that_dies_mid_upload_leaves_no_archive() {
    let mut server = S3Server::start();
    let dest = server.dest("s3://ferry/crashed.tar.zst");
    let mut writer = Writer::create(&dest, header(), None).await.expect("create");
    let objects = bulky(24);
    let (first, rest) = objects.split_at(40);
    for (id, resource, object) in first {
        writer.add(id, resource, object).await.expect("add while the server runs");
    }
    server.kill();
    let mut failure = None;
    for (id, resource, object) in rest {
        if let Err(err) = writer.add(id, resource, object).await {
            failure = Some(err);
            break;
        }
    }
    let err = match failure {
        Some(err) => {
            writer.abort().await;
            err
        }
        None => writer.finish().await.expect_err("finishing without a server"),
    };
    assert!(matches!(err, ArchiveError::Storage { .. }), "{err}");
    assert!(err.to_string().contains("did not answer"), "{err}");

    let server = server.restart();
    let dest = server.dest("s3://ferry/crashed.tar.zst");
    let err = read_error(&dest).await;
    assert!(matches!(err, ArchiveError::NotFound { .. }), "{err}");
}

#[tokio::test]
async fn wrong_credentials_are_reported_as_such() {
    let server = S3Server::start();
    let settings = server.settings_with(ferry_testcluster::s3::ACCESS_KEY, "not-the-secret");
    let dest = Destination::parse("s3://ferry/x.tar.zst", &settings).expect("dest");
    let err = Writer::create(&dest, header(), None).await.err().expect("refused");
    assert_reported(&err, "s3://ferry/x.tar.zst");
    assert!(matches!(err, ArchiveError::Storage { .. }) && err.to_string().contains("refused the credentials"), "{err}");
    assert!(!support::error_chain(&err).contains("not-the-secret"), "{err}");

    let settings = server.settings_with("nobody", "nothing");
    let dest = Destination::parse("s3://ferry/x.tar.zst", &settings).expect("dest");
    let err = read_error(&dest).await;
    assert!(err.to_string().contains("refused the credentials"), "{err}");
}

#[tokio::test]
async fn a_missing_bucket_is_reported_as_such() {
    let server = S3Server::start();
    let dest = server.dest("s3://no-such-bucket/x.tar.zst");
    let err = Writer::create(&dest, header(), None).await.err().expect("refused");
    assert_reported(&err, "s3://no-such-bucket/x.tar.zst");
    assert!(err.to_string().contains("the bucket `no-such-bucket` does not exist"), "{err}");
    let err = read_error(&dest).await;
    assert!(err.to_string().contains("the bucket `no-such-bucket` does not exist"), "{err}");
}

#[tokio::test]
async fn a_truncated_or_altered_object_is_caught() {
    let server = S3Server::start();
    let dest = server.dest("s3://ferry/damaged.tar.zst");
    write(&dest, None, &sample()).await.expect("write");
    let store = store(&server);
    let path = StorePath::from("damaged.tar.zst");
    let good = store.get(&path).await.expect("get").bytes().await.expect("bytes").to_vec();

    for cut in [0, 3, good.len() / 2, good.len() - 1] {
        store.put(&path, good[..cut].to_vec().into()).await.expect("put");
        let err = read_error(&dest).await;
        assert!(matches!(err, ArchiveError::Truncated { .. }), "cut at {cut}: {err}");
    }
    let mut bad = good.clone();
    bad[good.len() / 2] ^= 0x10;
    store.put(&path, bad.into()).await.expect("put");
    let err = read_error(&dest).await;
    assert!(matches!(err, ArchiveError::Damaged { .. } | ArchiveError::DigestMismatch { .. } | ArchiveError::Truncated { .. }), "{err}");
}

#[tokio::test]
async fn s3_settings_without_credentials_or_server_fail_cleanly() {
    let dest = Destination::parse("s3://ferry/x.tar.zst", &S3Settings::default()).expect("dest");
    let err = read(&dest, None).await.expect_err("no credentials");
    assert!(matches!(err, ArchiveError::S3Settings { .. }) && err.to_string().contains("AWS_ACCESS_KEY_ID"), "{err}");

    // An https endpoint builds a TLS client: its crypto provider must be found without a panic
    // although two are linked (aws-lc-rs for reqwest, ring for the cluster client). Nothing listens on the port, so the request fails cleanly.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    let err = Writer::create(&https_dest(closed), header(), None).await.err().expect("nothing listens");
    assert!(matches!(err, ArchiveError::Storage { .. }) && err.to_string().contains("did not answer"), "{err}");
}

#[tokio::test]
async fn an_endpoint_that_does_not_speak_tls_is_explained() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let _ = std::io::Write::write_all(&mut stream, b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
        }
    });
    let err = Writer::create(&https_dest(port), header(), None).await.err().expect("no TLS");
    assert!(matches!(err, ArchiveError::Storage { .. }) && err.to_string().contains("TLS handshake"), "{err}");
}

/// An archive behind `https://127.0.0.1:PORT`.
fn https_dest(port: u16) -> Destination {
    let settings = S3Settings {
        endpoint: Some(format!("https://127.0.0.1:{port}")),
        access_key_id: Some("a".into()),
        secret_access_key: Some("b".into()),
        path_style: true,
        ..S3Settings::default()
    };
    Destination::parse("s3://ferry/x.tar.zst", &settings).expect("dest")
}
