//! `ferry-bench images [ROUNDS]`: copying container images from registry to registry.
//!
//! Starts a source registry (Debian's `docker-registry` on 127.0.0.1) and pushes an image set
//! to it: [`APPS`] single-platform images and one two-platform index, every layer a real
//! gzip-compressed tar of deterministic incompressible bytes (ferry's own layer builder), the
//! images sharing a base layer and one of three runtime layers, ~540 MB of unique blobs.
//! Manifests naming every image and a `ferry.yaml` moving them to the target are written.
//! Then, for ROUNDS rounds (default 3; best of the rounds kept), each tool copies the whole set
//! into a fresh target registry, then copies it again with nothing changed:
//! - `ferry images copy -f MANIFESTS --rules ferry.yaml`, one process for the set;
//! - `skopeo copy --all --preserve-digests`, one process per image (as scripts do);
//! - `skopeo sync --all --preserve-digests --src yaml`, one process for the set;
//! - the floor any copier pays here, in this process: every unique blob read from the source
//!   and uploaded with the fewest requests the API allows (a GET, a POST opening the upload and
//!   one PUT carrying the source's stream), 8 at once, into one repository, with no manifests
//!   and no hashing on the client; with nothing changed, one HEAD of each image's tag on each
//!   side (what any copier must ask to know nothing changed).
//!
//! The target sits behind a relay on loopback that counts the bytes clients send it; its
//! access log counts the requests. After each first copy every target manifest is checked
//! to have the source's digest (no tool may recompress). skopeo keeps a blob-location cache
//! between runs (`/var/lib/containers/cache` as root): each fresh target has a new port, so the
//! cache cannot skip a first copy.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferry_images::{Credentials, Digest, Image, ImageConfig, Layer, LayerBuilder, Registries, RegistryOptions};
use ferry_testcluster::TestRegistry;
use futures::StreamExt as _;
use serde_json::json;

use crate::delay::DelayRelay;

/// Single-platform images in the set (the two-platform index comes on top).
const APPS: usize = 23;
/// The base layer every image but the index's second platform shares.
const BASE_BYTES: usize = 48 << 20;
/// Each image has one of three runtime layers of this size.
const RUNTIME_BYTES: usize = 24 << 20;
const RUNTIMES: usize = 3;
/// Each image's own layer.
const APP_BYTES: usize = 16 << 20;
/// The index's second platform has its own base of this size.
const OTHER_BASE_BYTES: usize = 20 << 20;
const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";
const TAG: &str = "1";

/// Runs the image copy benchmark and prints Markdown tables.
pub fn bench_images(args: &[String]) {
    let rounds: usize = args.first().map_or(3, |s| s.parse().expect("round count"));
    assert!(Path::new("/usr/bin/skopeo").exists(), "skopeo missing: run scripts/install-k8s.sh");
    crate::runtime().block_on(run(rounds.max(1)));
}

/// The image set in the source registry.
struct ImageSet {
    /// Repository and manifest digest of every image, the index last.
    images: Vec<(String, String)>,
    /// Size and a source repository holding it of each distinct blob (configs and layers), by
    /// digest.
    blobs: HashMap<String, (u64, String)>,
    /// Sum of every image's blobs, shared ones counted per image.
    logical_bytes: u64,
}

impl ImageSet {
    fn unique_bytes(&self) -> u64 {
        self.blobs.values().map(|(size, _)| size).sum()
    }
}

/// The tools compared.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tool {
    Ferry,
    SkopeoCopy,
    SkopeoSync,
    Floor,
}

impl Tool {
    const ALL: [Tool; 4] = [Tool::Ferry, Tool::SkopeoCopy, Tool::SkopeoSync, Tool::Floor];

    fn name(self) -> &'static str {
        match self {
            Tool::Ferry => "ferry images copy",
            Tool::SkopeoCopy => "skopeo copy --all, per image",
            Tool::SkopeoSync => "skopeo sync --all",
            Tool::Floor => "floor: blob GET + upload, 8 at once, in process",
        }
    }

    /// Where the tool puts `repository` in the target (`skopeo sync` keeps the last part only).
    fn target_repository(self, repository: &str) -> String {
        match self {
            Tool::SkopeoSync => format!("mirror/{}", repository.rsplit('/').next().expect("a repository")),
            _ => format!("mirror/{repository}"),
        }
    }
}

/// One copy run: wall time, bytes sent to the target, requests it served.
#[derive(Clone, Copy)]
struct Copied {
    seconds: f64,
    bytes: u64,
    requests: usize,
}

/// A fresh target registry behind a counting relay.
struct Target {
    registry: TestRegistry,
    relay: DelayRelay,
}

impl Target {
    fn start() -> Target {
        let registry = TestRegistry::start().expect("target registry (install docker-registry: scripts/install-k8s.sh)");
        let upstream: SocketAddr = registry.host().parse().expect("registry address");
        let relay = DelayRelay::start(upstream, Duration::ZERO);
        Target { registry, relay }
    }

    fn host(&self) -> String {
        self.relay.address.to_string()
    }

    /// Runs `work`, returning its wall time, the bytes sent to the target and its requests.
    fn measure(&self, work: impl FnOnce()) -> Copied {
        let (bytes, requests) = (self.relay.sent.load(Ordering::Relaxed), self.registry.requests().len());
        let started = Instant::now();
        work();
        let seconds = started.elapsed().as_secs_f64();
        // The access log is written as requests end; the last line may land just after the client exits.
        std::thread::sleep(Duration::from_millis(200));
        Copied { seconds, bytes: self.relay.sent.load(Ordering::Relaxed) - bytes, requests: self.registry.requests().len() - requests }
    }
}

async fn run(rounds: usize) {
    let ferry = crate::sibling_binary("ferry");
    let source = TestRegistry::start().expect("source registry (install docker-registry: scripts/install-k8s.sh)");
    let started = Instant::now();
    let set = push_image_set(&source).await;
    eprintln!("pushed {} images ({} MB unique) in {:.1} s", set.images.len(), set.unique_bytes() / 1_000_000, started.elapsed().as_secs_f64());
    let dir = tempfile::tempdir().expect("temporary directory");
    write_inputs(dir.path(), &source, &set);
    let mut best: HashMap<(usize, bool), Copied> = HashMap::new();
    for round in 0..rounds {
        for (t, tool) in Tool::ALL.into_iter().enumerate() {
            let target = Target::start();
            let (ferry, dir, source, target, set) = (&ferry, dir.path(), &source, &target, &set);
            let copy = |again| move || copy_with(tool, again, ferry, dir, source, target, set);
            let first = target.measure(copy(false));
            if tool != Tool::Floor {
                check_digests(tool, target, set);
            }
            let again = target.measure(copy(true));
            eprintln!("round {}: {}: first {:.2} s, again {:.2} s", round + 1, tool.name(), first.seconds, again.seconds);
            for (no_change, run) in [(false, first), (true, again)] {
                let kept = best.entry((t, no_change)).or_insert(run);
                if run.seconds < kept.seconds {
                    *kept = run;
                }
            }
        }
    }
    print_tables(&set, &best, rounds);
}

fn print_tables(set: &ImageSet, best: &HashMap<(usize, bool), Copied>, rounds: usize) {
    let unique = set.unique_bytes();
    println!(
        "machine: {} cores, {}; docker-registry on 127.0.0.1 (plain HTTP); skopeo {}; best of {rounds}",
        crate::cores(),
        crate::cpu_model(),
        skopeo_version()
    );
    println!(
        "image set: {} images ({APPS} single-platform, one 2-platform index), {} distinct blobs, {:.1} MB unique, {:.1} MB counting shared layers per image\n",
        set.images.len(),
        set.blobs.len(),
        unique as f64 / 1e6,
        set.logical_bytes as f64 / 1e6
    );
    for (no_change, title) in [(false, "first copy (fresh target)"), (true, "second run, nothing changed")] {
        let ferry = best[&(0, no_change)];
        let floor = best[&(Tool::ALL.iter().position(|t| *t == Tool::Floor).expect("the floor is measured"), no_change)];
        println!("{title}:\n");
        println!(
            "| tool | wall s | MB sent to target | sent / unique blob bytes | requests to target | time / ferry's | time / floor's | requests / ferry's |"
        );
        println!("|---|---|---|---|---|---|---|---|");
        for (t, tool) in Tool::ALL.into_iter().enumerate() {
            let run = best[&(t, no_change)];
            println!(
                "| {} | {:.2} | {:.1} | {:.3} | {} | {:.2} | {:.2} | {:.2} |",
                tool.name(),
                run.seconds,
                run.bytes as f64 / 1e6,
                run.bytes as f64 / unique as f64,
                run.requests,
                run.seconds / ferry.seconds,
                run.seconds / floor.seconds,
                run.requests as f64 / ferry.requests as f64
            );
        }
        println!();
    }
}

/// Copies the whole set into `target` with `tool` (`again`: the second time); panics if the
/// tool fails.
fn copy_with(tool: Tool, again: bool, ferry: &Path, dir: &Path, source: &TestRegistry, target: &Target, set: &ImageSet) {
    let to = target.host();
    match tool {
        Tool::Floor => {
            let floor = async { if again { floor_look_up(&source.host(), &to, set).await } else { floor_copy(&source.host(), &to, set).await } };
            tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(floor));
        }
        Tool::Ferry => {
            let rules = dir.join(format!("ferry-{}.yaml", target.relay.address.port()));
            let text = format!("apiVersion: ferry.dev/v1alpha1\nkind: TransformRules\nimages:\n  - {{from: '{}/', to: '{to}/mirror/'}}\n", source.host());
            std::fs::write(&rules, text).expect("rules file");
            let mut command = Command::new(ferry);
            command.args(["images", "copy", "-f"]).arg(dir.join("manifests")).arg("--rules").arg(&rules);
            run_command(command.arg("--docker-config").arg(dir.join("config.json")));
        }
        Tool::SkopeoCopy => {
            for (repository, _) in &set.images {
                let from = format!("docker://{}/{repository}:{TAG}", source.host());
                let into = format!("docker://{to}/{}:{TAG}", tool.target_repository(repository));
                run_command(skopeo().args(["copy", "--all", "--preserve-digests", "--src-tls-verify=false", "--dest-tls-verify=false", &from, &into]));
            }
        }
        Tool::SkopeoSync => {
            let into = format!("{to}/mirror");
            let args = ["sync", "--all", "--preserve-digests", "--src", "yaml", "--dest", "docker", "--dest-tls-verify=false"];
            run_command(skopeo().args(args).arg(dir.join("sync.yaml")).arg(into));
        }
    }
}

/// The floor of a first copy: each unique blob streamed from its GET into one upload PUT.
async fn floor_copy(from: &str, to: &str, set: &ImageSet) {
    let http = reqwest::Client::new();
    let blobs = futures::stream::iter(&set.blobs).for_each_concurrent(8, |(digest, (size, repository))| {
        let http = &http;
        async move {
            let opened = http.post(format!("http://{to}/v2/floor/blobs/uploads/")).send().await.expect("opening an upload");
            let location = opened.headers().get("location").and_then(|l| l.to_str().ok()).expect("an upload location");
            let mut url = reqwest::Url::parse(&format!("http://{to}")).and_then(|base| base.join(location)).expect("upload URL");
            url.query_pairs_mut().append_pair("digest", digest);
            let body = http.get(format!("http://{from}/v2/{repository}/blobs/{digest}")).send().await.expect("GET of a blob").bytes_stream();
            let put = http.put(url).header("content-length", *size).body(reqwest::Body::wrap_stream(body)).send().await.expect("PUT of a blob");
            assert!(put.status().is_success(), "the floor's PUT of {digest}: {}", put.status());
        }
    });
    blobs.await;
}

/// The floor of a run with nothing changed: one HEAD of each image's tag on each side.
async fn floor_look_up(from: &str, to: &str, set: &ImageSet) {
    let http = reqwest::Client::new();
    let accept = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json";
    let heads = futures::stream::iter(&set.images).for_each_concurrent(8, |(repository, _)| {
        let http = &http;
        async move {
            for host in [from, to] {
                http.head(format!("http://{host}/v2/{repository}/manifests/{TAG}")).header("accept", accept).send().await.expect("HEAD of a manifest");
            }
        }
    });
    heads.await;
}

fn skopeo() -> Command {
    let mut command = Command::new("skopeo");
    command.arg("--insecure-policy");
    command
}

fn skopeo_version() -> String {
    let output = Command::new("skopeo").arg("--version").output().expect("skopeo --version");
    String::from_utf8_lossy(&output.stdout).trim().trim_start_matches("skopeo version ").to_owned()
}

fn run_command(command: &mut Command) {
    let output = command.stdout(Stdio::null()).stderr(Stdio::piped()).output().expect("spawn");
    assert!(output.status.success(), "{command:?} failed: {}", String::from_utf8_lossy(&output.stderr));
}

/// Checks that every image arrived with the source's manifest digest.
fn check_digests(tool: Tool, target: &Target, set: &ImageSet) {
    for (repository, digest) in &set.images {
        let manifest = format!("/v2/{}/manifests/{TAG}", tool.target_repository(repository));
        let (status, body) = target.registry.get(&manifest).expect("GET from the target");
        assert_eq!((status, Digest::of(&body).to_string()), (200, digest.clone()), "{}: {manifest}", tool.name());
    }
}

/// The manifests `ferry images copy` reads (one Deployment per image), an empty Docker
/// config, and the YAML source list of `skopeo sync`.
fn write_inputs(dir: &Path, source: &TestRegistry, set: &ImageSet) {
    let manifests = dir.join("manifests");
    std::fs::create_dir(&manifests).expect("manifests directory");
    let mut yaml = String::new();
    let mut sync = format!("{}:\n  tls-verify: false\n  images:\n", source.host());
    for (i, (repository, _)) in set.images.iter().enumerate() {
        yaml.push_str(&format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: app-{i}, namespace: bench}}\nspec:\n  template:\n    spec:\n      containers: [{{name: app, image: '{}/{repository}:{TAG}'}}]\n",
            source.host()
        ));
        sync.push_str(&format!("    {repository}: ['{TAG}']\n"));
    }
    std::fs::write(manifests.join("deployments.yaml"), yaml).expect("manifests");
    std::fs::write(dir.join("sync.yaml"), sync).expect("sync.yaml");
    std::fs::write(dir.join("config.json"), "{}").expect("config.json");
}

/// Pushes the image set: `bench/app-NN` images on a shared base and runtime, and `bench/multi`,
/// an index of an image on the same base and one on a base of its own.
async fn push_image_set(source: &TestRegistry) -> ImageSet {
    let base = layer(1, BASE_BYTES);
    let runtimes: Vec<Layer> = (0..RUNTIMES).map(|r| layer(10 + r as u64, RUNTIME_BYTES)).collect();
    let mut set = ImageSet { images: Vec::new(), blobs: HashMap::new(), logical_bytes: 0 };
    for app in 0..APPS {
        let image = Image::new(&ImageConfig::default(), vec![base.clone(), runtimes[app % RUNTIMES].clone(), layer(100 + app as u64, APP_BYTES)]);
        let repository = format!("bench/app-{app:02}");
        push(source, &image, &repository, TAG, &mut set).await;
        set.images.push((repository, image.digest().to_string()));
    }
    let platforms = [
        ("amd64", Image::new(&ImageConfig::default(), vec![base.clone(), layer(200, APP_BYTES)])),
        ("arm64", Image::new(&ImageConfig::default(), vec![layer(201, OTHER_BASE_BYTES), layer(202, APP_BYTES)])),
    ];
    let mut entries = Vec::new();
    for (architecture, image) in &platforms {
        push(source, image, "bench/multi", architecture, &mut set).await;
        let manifest = image.manifest();
        entries.push(json!({"mediaType": manifest.media_type, "digest": manifest.digest.as_str(), "size": manifest.size(),
            "platform": {"os": "linux", "architecture": architecture}}));
    }
    let index = Bytes::from(serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": INDEX_MEDIA_TYPE, "manifests": entries})).expect("JSON"));
    let registries =
        Registries::new(RegistryOptions { credentials: vec![(source.host(), Credentials::anonymous())], ..RegistryOptions::default() }).expect("registries");
    let registry = registries.get(&source.host()).expect("source registry");
    registry.manifest_put("bench/multi", TAG, &index, INDEX_MEDIA_TYPE).await.expect("putting the index");
    set.images.push(("bench/multi".into(), Digest::of(&index).to_string()));
    set
}

async fn push(source: &TestRegistry, image: &Image, repository: &str, tag: &str, set: &mut ImageSet) {
    let reference = format!("{}/{repository}:{tag}", source.host());
    ferry_images::push(image, &reference, &Credentials::anonymous()).await.unwrap_or_else(|e| panic!("pushing {reference}: {e}"));
    for blob in image.blobs() {
        set.blobs.insert(blob.digest.to_string(), (blob.size(), repository.to_owned()));
        set.logical_bytes += blob.size();
    }
}

/// A layer holding one file of `size` deterministic bytes that do not compress.
fn layer(seed: u64, size: usize) -> Layer {
    LayerBuilder::new().bytes("data/blob", noise(seed, size), 0o644).expect("layer entry").build().expect("layer")
}

/// `size` bytes of xorshift output from `seed`.
fn noise(seed: u64, size: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut data = Vec::with_capacity(size + 8);
    while data.len() < size {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        data.extend_from_slice(&state.to_le_bytes());
    }
    data.truncate(size);
    data
}
