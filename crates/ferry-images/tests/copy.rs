//! `ferry_images::copy` between two real Debian `docker-registry` instances on loopback: the
//! source behind TLS (a throw-away CA) with htpasswd basic authentication, the target plain
//! HTTP. Fixtures are pushed to the source with `oci-client` (another implementation of the
//! distribution API): single images sharing a base layer, one with a 40 MB layer, a
//! two-platform index, and an image with a cosign signature and attestation
//! (`sha256-HEX.sig`/`.att` tags) and an OCI 1.1 referrer found through the tag schema
//! (`sha256-HEX`; docker-registry 2.8 does not serve the referrers API). A source stream cut
//! in the middle of a layer by a relay resumes where it broke; an upload cut in the middle is
//! started again.

use std::str::FromStr as _;

use bytes::Bytes;
use ferry_images::copy::NoProgress;
use ferry_images::{CopyJob, Credentials, Digest, ImageRef, Registries, RegistryOptions, copy};
use ferry_testcluster::{Cut, REGISTRY_PASSWORD, REGISTRY_USER, TestRegistry, TestRelay, noise};
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};
use serde_json::{Value, json};

const INDEX: &str = "application/vnd.oci.image.index.v1+json";
const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// Pushes fixtures to the TLS source with `oci-client`.
struct Pusher {
    client: Client,
    host: String,
}

impl Pusher {
    fn new(registry: &TestRegistry) -> Pusher {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let ca = Certificate { encoding: CertificateEncoding::Pem, data: std::fs::read(registry.ca_bundle()).unwrap() };
        let client = Client::new(ClientConfig { extra_root_certificates: vec![ca], ..ClientConfig::default() });
        Pusher { client, host: registry.host() }
    }

    async fn blob(&self, repository: &str, data: &[u8]) -> Value {
        let digest = Digest::of(data);
        let reference = Reference::from_str(&format!("{}/{repository}:x", self.host)).unwrap();
        self.client.auth(&reference, &auth(), RegistryOperation::Push).await.unwrap();
        self.client.push_blob(&reference, Bytes::copy_from_slice(data), digest.as_str()).await.unwrap();
        json!({"digest": digest.as_str(), "size": data.len()})
    }

    /// Puts a manifest under `tag` (or by digest when `None`); returns its digest.
    async fn manifest(&self, repository: &str, tag: Option<&str>, manifest: &Value, media_type: &'static str) -> String {
        let body = serde_json::to_vec(manifest).unwrap();
        let digest = Digest::of(&body).to_string();
        let at = tag.map_or(format!("@{digest}"), |t| format!(":{t}"));
        let reference = Reference::from_str(&format!("{}/{repository}{at}", self.host)).unwrap();
        self.client.auth(&reference, &auth(), RegistryOperation::Push).await.unwrap();
        self.client.push_manifest_raw(&reference, body, http::HeaderValue::from_static(media_type)).await.unwrap();
        digest
    }

    /// An image of the given layers (bytes, stored as they are) and a config naming `arch`.
    async fn image(&self, repository: &str, tag: Option<&str>, layers: &[&[u8]], arch: &str) -> String {
        let config = json!({"architecture": arch, "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).to_string();
        let config = self.blob(repository, config.as_bytes()).await;
        let mut descriptors = Vec::new();
        for layer in layers {
            let mut descriptor = self.blob(repository, layer).await;
            descriptor["mediaType"] = json!("application/vnd.oci.image.layer.v1.tar+gzip");
            descriptors.push(descriptor);
        }
        let mut config_descriptor = config;
        config_descriptor["mediaType"] = json!("application/vnd.oci.image.config.v1+json");
        let manifest = json!({"schemaVersion": 2, "mediaType": MANIFEST, "config": config_descriptor, "layers": descriptors});
        self.manifest(repository, tag, &manifest, MANIFEST).await
    }

    /// A small artifact manifest (a cosign-style signature or attestation, or an OCI 1.1
    /// referrer with `subject` and `artifactType`).
    async fn artifact(&self, repository: &str, tag: Option<&str>, payload: &str, subject: Option<&str>) -> (String, usize) {
        let empty = self.blob(repository, b"{}").await;
        let mut layer = self.blob(repository, payload.as_bytes()).await;
        layer["mediaType"] = json!("application/vnd.dev.cosign.simplesigning.v1+json");
        let mut config = empty;
        config["mediaType"] = json!("application/vnd.oci.empty.v1+json");
        let mut manifest = json!({"schemaVersion": 2, "mediaType": MANIFEST, "config": config, "layers": [layer]});
        if let Some(subject) = subject {
            manifest["artifactType"] = json!("application/vnd.example.sbom.v1+json");
            manifest["subject"] = json!({"mediaType": MANIFEST, "digest": subject, "size": 0});
        }
        let size = serde_json::to_vec(&manifest).unwrap().len();
        (self.manifest(repository, tag, &manifest, MANIFEST).await, size)
    }
}

fn auth() -> RegistryAuth {
    RegistryAuth::Basic(REGISTRY_USER.into(), REGISTRY_PASSWORD.into())
}

fn registries(source: &TestRegistry, password: &str) -> Registries {
    let docker_config = source.path().join("docker-config.json");
    std::fs::write(&docker_config, "{}").unwrap();
    let options = RegistryOptions {
        credentials: vec![(source.host(), Credentials::basic(REGISTRY_USER, password))],
        ca_bundle: Some(source.ca_bundle()),
        docker_config: Some(docker_config),
        ..RegistryOptions::default()
    };
    Registries::new(options).unwrap()
}

fn job(source: &TestRegistry, target: &TestRegistry, from: &str, to: &str) -> CopyJob {
    let (source, target) = (ImageRef::parse(&format!("{}/{from}", source.host())).unwrap(), ImageRef::parse(&format!("{}/{to}", target.host())).unwrap());
    CopyJob { source, target, target_seen: None }
}

/// Requests that send blob content: upload starts, chunks, and closes.
fn blob_uploads(requests: &[String]) -> Vec<&String> {
    requests.iter().filter(|r| r.contains("/blobs/uploads/")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_indexes_and_referrers_are_copied_byte_exact_and_a_second_run_sends_no_blob() {
    let source = TestRegistry::start_with_tls_and_basic_auth().unwrap();
    let target = TestRegistry::start().unwrap();
    let push = Pusher::new(&source);
    let (base, big) = (noise(300_000, 1), noise(40_000_000, 2));
    let one = push.image("app/one", Some("1"), &[&base, &big], "amd64").await;
    let two = push.image("app/two", Some("1"), &[&base, &noise(50_000, 3)], "amd64").await;
    let amd64 = push.image("multi", None, &[&base, &noise(60_000, 4)], "amd64").await;
    let arm64 = push.image("multi", None, &[&noise(70_000, 5)], "arm64").await;
    let entry = |digest: &str, arch: &str| json!({"mediaType": MANIFEST, "digest": digest, "size": 0, "platform": {"os": "linux", "architecture": arch}});
    let index = push
        .manifest("multi", Some("1"), &json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": [entry(&amd64, "amd64"), entry(&arm64, "arm64")]}), INDEX)
        .await;
    let hex = one.trim_start_matches("sha256:");
    let (signature, _) = push.artifact("app/one", Some(&format!("sha256-{hex}.sig")), "signed", None).await;
    let (attestation, _) = push.artifact("app/one", Some(&format!("sha256-{hex}.att")), "attested", None).await;
    let (referrer, size) = push.artifact("app/one", None, "sbom", Some(&one)).await;
    let referrers_index = json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": [{"mediaType": MANIFEST, "digest": referrer, "size": size, "artifactType": "application/vnd.example.sbom.v1+json"}]});
    push.manifest("app/one", Some(&format!("sha256-{hex}")), &referrers_index, INDEX).await;

    let jobs = [
        job(&source, &target, "app/one:1", "mirror/app/one:1"),
        job(&source, &target, "app/two:1", "mirror/app/two:1"),
        job(&source, &target, "multi:1", "mirror/multi:1"),
    ];
    let evidence = copy(&jobs, &registries(&source, REGISTRY_PASSWORD), &NoProgress).await;
    for (image, expected) in evidence.iter().zip([&one, &two, &index]) {
        assert_eq!(image.error, None, "{image:?}");
        assert!(image.verified);
        assert_eq!(image.source_digest.as_deref(), Some(expected.as_str()));
        assert_eq!(image.target_digest.as_deref(), Some(expected.as_str()));
    }
    // Byte-exact manifests on the target, every platform, every referrer.
    let manifest_digest = |path: &str| {
        let (status, body) = target.get(path).unwrap();
        assert_eq!(status, 200, "{path}");
        Digest::of(&body).to_string()
    };
    assert_eq!(manifest_digest("/v2/mirror/app/one/manifests/1"), one);
    assert_eq!(manifest_digest("/v2/mirror/app/two/manifests/1"), two);
    assert_eq!(manifest_digest("/v2/mirror/multi/manifests/1"), index);
    assert_eq!(manifest_digest(&format!("/v2/mirror/multi/manifests/{amd64}")), amd64);
    assert_eq!(manifest_digest(&format!("/v2/mirror/multi/manifests/{arm64}")), arm64);
    assert_eq!(evidence[2].platforms, ["linux/amd64", "linux/arm64"]);
    assert_eq!(evidence[0].platforms, ["linux/amd64"]);
    assert_eq!(manifest_digest(&format!("/v2/mirror/app/one/manifests/sha256-{hex}.sig")), signature);
    assert_eq!(manifest_digest(&format!("/v2/mirror/app/one/manifests/sha256-{hex}.att")), attestation);
    assert_eq!(manifest_digest(&format!("/v2/mirror/app/one/manifests/{referrer}")), referrer);
    let found: Vec<(&str, Option<&str>)> = evidence[0].referrers.iter().map(|r| (r.found_by, r.tag.as_deref())).collect();
    let tag = |suffix: &str| format!("sha256-{hex}{suffix}");
    assert_eq!(found, [("tag", Some(tag("").as_str())), ("tag", Some(tag(".sig").as_str())), ("tag", Some(tag(".att").as_str()))]);
    let (status, big_back) = target.get(&format!("/v2/mirror/app/one/blobs/{}", Digest::of(&big))).unwrap();
    assert_eq!((status, Digest::of(&big_back)), (200, Digest::of(&big)), "the big blob arrives whole");

    // The shared base layer and the amd64 config (the same bytes in three images) went once and
    // were mounted into the two other repositories.
    assert_eq!(evidence.iter().map(|e| e.blobs_mounted).sum::<u64>(), 4, "{evidence:#?}");
    let sent: u64 = evidence.iter().map(|e| e.bytes_sent).sum();
    assert!(sent > big.len() as u64 + base.len() as u64 && sent < big.len() as u64 + 2 * base.len() as u64, "{sent}");
    assert!(target.requests().iter().any(|r| r.starts_with("POST") && r.contains("mount=")), "no mount was asked for");
    let patches = target.requests().iter().filter(|r| r.starts_with("PATCH")).count() as u64;
    assert_eq!(patches, evidence.iter().map(|e| e.blobs_sent).sum::<u64>(), "each blob sent is streamed in one request");

    // Nothing changed: no blob and no manifest is sent again.
    let before = target.requests().len();
    let again = copy(&jobs, &registries(&source, REGISTRY_PASSWORD), &NoProgress).await;
    let requests = target.requests()[before..].to_vec();
    assert!(blob_uploads(&requests).is_empty(), "{requests:#?}");
    assert!(!requests.iter().any(|r| r.starts_with("PUT")), "{requests:#?}");
    for image in &again {
        assert_eq!((image.error.as_deref(), image.blobs_sent, image.manifests_sent, image.verified), (None, 0, 0, true), "{image:?}");
    }
    assert_eq!(again[0].referrers.len(), 3);
    // What a plan saw on the target (the tag at the source's digest) is not asked again.
    let seen: Vec<CopyJob> =
        jobs.iter().zip([&one, &two, &index]).map(|(job, digest)| CopyJob { target_seen: Some(digest.to_string()), ..job.clone() }).collect();
    let before = target.requests().len();
    let third = copy(&seen, &registries(&source, REGISTRY_PASSWORD), &NoProgress).await;
    assert!(third.iter().all(|image| image.verified && image.manifests_sent == 0), "{third:#?}");
    let asked = target.requests()[before..].to_vec();
    assert!(!asked.iter().any(|r| r.ends_with("/manifests/1")), "{asked:#?}");
    // Referrer tags come from one listing per repository: the tags it does not list (no SBOM
    // was pushed) are never asked for.
    assert!(source.requests().iter().any(|r| r.contains("/tags/list")), "{:#?}", source.requests());
    assert!(!source.requests().iter().any(|r| r.contains(".sbom")), "{:#?}", source.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_and_missing_repositories_are_named_without_the_credentials() {
    let source = TestRegistry::start_with_tls_and_basic_auth().unwrap();
    let target = TestRegistry::start().unwrap();
    Pusher::new(&source).image("app/one", Some("1"), &[b"layer"], "amd64").await;
    let jobs = [job(&source, &target, "app/one:1", "mirror/one:1")];
    let wrong = copy(&jobs, &registries(&source, "not-the-password-x7"), &NoProgress).await;
    let error = wrong[0].error.clone().unwrap();
    assert!(error.contains(&source.host()) && error.contains("refused the credentials"), "{error}");
    assert!(!error.contains("not-the-password-x7") && !error.contains(REGISTRY_PASSWORD), "{error}");
    let missing = copy(&[job(&source, &target, "app/none:1", "mirror/none:1")], &registries(&source, REGISTRY_PASSWORD), &NoProgress).await;
    let error = missing[0].error.clone().unwrap();
    assert!(error.contains("app/none") && error.contains("not found"), "{error}");
    assert!(!error.contains(REGISTRY_PASSWORD), "{error}");
    assert!(target.requests().iter().all(|r| !r.contains("/blobs/")), "nothing was sent to the target");
}

/// A 4 MB single-layer image pushed to `source` as `app/big:1`; its blobs' bytes.
async fn push_big_image(source: &TestRegistry) -> (ferry_images::Image, u64) {
    let layer = noise(4_000_000, 9);
    let image = ferry_images::Image::new(
        &ferry_images::ImageConfig::default(),
        vec![ferry_images::LayerBuilder::new().bytes("data", bytes::Bytes::from(layer), 0o644).unwrap().build().unwrap()],
    );
    ferry_images::push(&image, &format!("{}/app/big:1", source.host()), &Credentials::anonymous()).await.unwrap();
    let blobs = image.blobs().map(|b| b.size()).sum();
    (image, blobs)
}

/// Copies `from/app/big:1` to `to/mirror/big:1` with no credentials.
async fn copy_big_image(from: &str, to: &str, scratch: &TestRegistry) -> ferry_images::ImageEvidence {
    let (source, target) = (ImageRef::parse(&format!("{from}/app/big:1")).unwrap(), ImageRef::parse(&format!("{to}/mirror/big:1")).unwrap());
    let job = CopyJob { source, target, target_seen: None };
    let docker_config = scratch.path().join("docker-config.json");
    std::fs::write(&docker_config, "{}").unwrap();
    let registries = Registries::new(RegistryOptions { docker_config: Some(docker_config), ..RegistryOptions::default() }).unwrap();
    copy(&[job], &registries, &NoProgress).await.remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_stream_broken_mid_blob_resumes_where_it_broke() {
    let (source, target) = (TestRegistry::start().unwrap(), TestRegistry::start().unwrap());
    let (image, blobs) = push_big_image(&source).await;
    // The source behind a relay that cuts its first connection 2 MB into what it answers: in
    // the middle of the layer.
    let relay = TestRelay::start(source.host().parse().unwrap(), Some(Cut::Answers(2_000_000))).unwrap();
    let evidence = copy_big_image(&relay.address().to_string(), &target.host(), &target).await;
    assert!(relay.was_cut(), "the relay broke a stream");
    assert_eq!((evidence.error.as_deref(), evidence.verified), (None, true), "{evidence:?}");
    assert_eq!(evidence.target_digest.as_deref(), Some(image.digest().as_str()));
    // Resumed, not read again: the source answered the blobs once, plus the manifest and a little HTTP.
    let returned = relay.returned();
    assert!(returned > blobs && returned < blobs + 100_000, "{returned} bytes came back through the relay for {blobs} bytes of blobs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_broken_mid_blob_is_started_again() {
    let (source, target) = (TestRegistry::start().unwrap(), TestRegistry::start().unwrap());
    let (image, _) = push_big_image(&source).await;
    // The target behind a relay that cuts the first connection sending it 2 MB: in the middle
    // of the layer's upload.
    let relay = TestRelay::start(target.host().parse().unwrap(), Some(Cut::Requests(2_000_000))).unwrap();
    let evidence = copy_big_image(&source.host(), &relay.address().to_string(), &target).await;
    assert!(relay.was_cut(), "the relay broke an upload");
    assert_eq!((evidence.error.as_deref(), evidence.verified, evidence.blobs_sent), (None, true, 2), "{evidence:?}");
    let layer = image.blobs().map(|b| b.digest.to_string()).find(|d| *d != image.config().digest.to_string()).unwrap();
    let (status, body) = target.get(&format!("/v2/mirror/big/blobs/{layer}")).unwrap();
    assert_eq!((status, Digest::of(&body).to_string()), (200, layer), "the layer arrived whole");
    let uploads = target.requests().iter().filter(|r| r.starts_with("POST") && r.contains("/blobs/uploads/")).count();
    assert_eq!(uploads, 3, "the config, the cut upload and its new start: {:#?}", target.requests());
}
