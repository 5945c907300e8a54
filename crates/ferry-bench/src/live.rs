//! `ferry-bench live [OBJECTS]`: reading a live cluster.
//!
//! Starts a test control plane (kube-apiserver v1.20.2 + etcd on 127.0.0.1),
//! fills it with OBJECTS objects (default 20,000: ConfigMaps, Secrets,
//! Deployments and Services over 20 namespaces), then measures, alternating
//! rounds and keeping the best of 3 each:
//! - the raw limit: the same paginated LISTs (every discovered resource, 500
//!   per page, 8 in flight) as plain HTTP, parsing nothing but `continue`;
//! - ferry's read (`ferry_cluster::read`: the same LISTs, each item parsed into ferry's object tree);
//! - `ferry assess --context` as a process (connect, discover, read, analyse, JSON report);
//! - `kubectl get` of the same resource types, all namespaces, `-o json`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use ferry_cluster::{ConnectOptions, Connection, Discovery, ReadOptions};
use ferry_testcluster::{Options, TestCluster};
use futures::StreamExt as _;
use http_body_util::BodyExt as _;

/// Namespaces the objects are spread over.
pub(crate) const NAMESPACES: usize = 20;
const CREATE_CONCURRENCY: usize = 32;

/// Runs the live benchmark and prints a Markdown table.
pub fn bench_live(args: &[String]) {
    let objects: usize = args.first().map_or(20_000, |s| s.parse().expect("object count"));
    let runtime = crate::runtime();
    runtime.block_on(run(objects));
}

async fn run(objects: usize) {
    let ferry = crate::sibling_binary("ferry");
    let cluster = TestCluster::start(Options::default()).await.expect("test cluster (run scripts/install-k8s.sh)");
    let client = cluster.client().await.expect("client");
    let started = Instant::now();
    fill(&client, objects).await;
    eprintln!("created {objects} objects in {:.1} s", started.elapsed().as_secs_f64());
    let connect = ConnectOptions { kubeconfig: Some(cluster.kubeconfig()), context: Some("admin".into()) };
    let connection = ferry_cluster::connect(&connect).await.expect("connect");
    let discovery = ferry_cluster::discover(&connection).await.expect("discover");
    let kinds: Vec<String> = discovery.resources.iter().map(|r| r.qualified()).collect();
    let kubeconfig = cluster.kubeconfig();
    let kubeconfig = kubeconfig.to_str().expect("utf-8 path");
    let (mut raw, mut read, mut assess, mut kubectl) = (f64::MAX, f64::MAX, f64::MAX, f64::MAX);
    let mut count = 0;
    for _ in 0..3 {
        raw = raw.min(timed(raw_lists(&connection, &discovery)).await);
        let started = Instant::now();
        let snapshot = ferry_cluster::read(&connection, &discovery, &ReadOptions::default(), &()).await;
        read = read.min(started.elapsed().as_secs_f64());
        assert!(snapshot.failures.is_empty(), "{:?}", snapshot.failures);
        count = snapshot.objects.len();
        assess = assess
            .min(process(&ferry, &["assess", "--kubeconfig", kubeconfig, "--context", "admin", "-o", "json", "--out", "/dev/null", "--fail-on", "never"]));
        kubectl = kubectl.min(process(Path::new("kubectl"), &["--kubeconfig", kubeconfig, "get", &kinds.join(","), "-A", "-o", "json", "--chunk-size=500"]));
    }
    println!("machine: {} cores, {}; kube-apiserver v1.20.2 on 127.0.0.1; {} resource types", crate::cores(), crate::cpu_model(), kinds.len());
    println!(
        "| objects read | raw LISTs s | ferry read s | ferry assess --context s | kubectl get -A -o json s | ferry read / raw | kubectl / ferry read | kubectl / ferry assess |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    println!("| {count} | {raw:.3} | {read:.3} | {assess:.3} | {kubectl:.3} | {:.2} | {:.2} | {:.2} |", read / raw, kubectl / read, kubectl / assess);
}

/// The seconds `work` takes.
pub(crate) async fn timed(work: impl std::future::Future<Output = ()>) -> f64 {
    timed_value(work).await.0
}

/// The seconds `work` takes, and what it gives.
pub(crate) async fn timed_value<T>(work: impl std::future::Future<Output = T>) -> (f64, T) {
    let started = Instant::now();
    let value = work.await;
    (started.elapsed().as_secs_f64(), value)
}

fn process(program: &Path, args: &[&str]) -> f64 {
    process_exiting(program, args, &[0])
}

/// The seconds a command takes, which must exit with one of `codes`.
pub(crate) fn process_exiting(program: &Path, args: &[&str], codes: &[i32]) -> f64 {
    let started = Instant::now();
    let status = Command::new(program).args(args).stdout(Stdio::null()).stderr(Stdio::null()).status().expect("spawn");
    assert!(status.code().is_some_and(|code| codes.contains(&code)), "{} {args:?} failed: {status}", program.display());
    started.elapsed().as_secs_f64()
}

/// The raw limit: the same LISTs as ferry's read, as plain HTTP, keeping only `continue`.
pub(crate) async fn raw_lists(connection: &Connection, discovery: &Discovery) {
    #[derive(serde::Deserialize)]
    struct Page {
        metadata: Meta,
    }
    #[derive(serde::Deserialize)]
    struct Meta {
        #[serde(rename = "continue", default)]
        token: Option<String>,
    }
    futures::stream::iter(&discovery.resources)
        .for_each_concurrent(ReadOptions::default().concurrency, |resource| async move {
            let mut token: Option<String> = None;
            loop {
                let mut path = format!("{}?limit=500", resource.list_path(None));
                if let Some(t) = &token {
                    path.push_str("&continue=");
                    path.push_str(&form_urlencoded::byte_serialize(t.as_bytes()).collect::<String>());
                }
                let request = http::Request::get(path).header("accept", "application/json").body(kube::client::Body::empty()).expect("request");
                let response = connection.client.send(request).await.expect("list");
                let body = response.into_body().collect().await.expect("body").to_bytes();
                let page: Page = serde_json::from_slice(&body).expect("list JSON");
                token = page.metadata.token.filter(|t| !t.is_empty());
                if token.is_none() {
                    break;
                }
            }
        })
        .await;
}

/// Creates `objects` objects: per 10, five ConfigMaps, two Secrets, two Deployments and one Service.
pub(crate) async fn fill(client: &kube::Client, objects: usize) {
    for ns in 0..NAMESPACES {
        post(client, "/api/v1/namespaces", serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": format!("bench-{ns}")}})).await;
    }
    futures::stream::iter(0..objects)
        .for_each_concurrent(CREATE_CONCURRENCY, |i| async move {
            let (path, body) = object(i);
            post(client, &path, body).await;
        })
        .await;
}

/// The `i`th benchmark object and the collection path it is created under.
pub(crate) fn object(i: usize) -> (String, serde_json::Value) {
    let ns = format!("bench-{}", i % NAMESPACES);
    let name = format!("app-{i}");
    let labels = serde_json::json!({"app.kubernetes.io/name": format!("app-{}", i / 10)});
    match i % 10 {
        0..=4 => (
            format!("/api/v1/namespaces/{ns}/configmaps"),
            serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels},
                "data": {"DATABASE_URL": format!("postgres://db-{}.{ns}.svc:5432/app", i % 97), "LOG_LEVEL": "info", "FEATURE_FLAGS": "a,b,c"}}),
        ),
        5 | 6 => (
            format!("/api/v1/namespaces/{ns}/secrets"),
            serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "labels": labels}, "type": "Opaque",
                "data": {"password": "cGFzc3dvcmQ=", "token": "dG9rZW4tdmFsdWU="}}),
        ),
        7 | 8 => (
            format!("/apis/apps/v1/namespaces/{ns}/deployments"),
            serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels},
                "spec": {"replicas": 2, "selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {"containers": [{
                    "name": "app", "image": format!("registry.example.com/team/app-{}:1.{}", i % 50, i % 7),
                    "ports": [{"containerPort": 8080}],
                    "env": [{"name": "UPSTREAM", "value": format!("http://app-{}.{ns}.svc:8080", (i + 10) / 10)},
                            {"name": "DB", "valueFrom": {"secretKeyRef": {"name": format!("app-{}", i - 2), "key": "password"}}}],
                    "envFrom": [{"configMapRef": {"name": format!("app-{}", i - 3)}}]}]}}}}),
        ),
        _ => (
            format!("/api/v1/namespaces/{ns}/services"),
            serde_json::json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": format!("app-{}", i / 10), "labels": labels},
                "spec": {"selector": labels, "ports": [{"port": 8080, "protocol": "TCP"}]}}),
        ),
    }
}

async fn post(client: &kube::Client, path: &str, body: serde_json::Value) {
    let request = http::Request::post(path).header("content-type", "application/json").body(serde_json::to_vec(&body).expect("json")).expect("request");
    client.request_text(request).await.unwrap_or_else(|e| panic!("POST {path}: {e}"));
}
