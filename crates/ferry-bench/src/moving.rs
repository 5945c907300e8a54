//! `ferry-bench move [OBJECTS]`: exporting from and applying to live clusters.
//!
//! Writes OBJECTS objects (default 10,000: the mix of `live.rs` over 20
//! namespaces) as JSON `List` files, then, in one run:
//! - cluster A (fresh): `kubectl apply --server-side -f DIR` (the baseline for apply);
//! - from cluster A, best of 5 each: raw paginated LISTs (the limit for export), both
//!   in-process on an open connection and as a whole process (`ferry-bench raw-lists`:
//!   start, connect, discover, list, the same fixed costs as any exporter),
//!   `ferry export --to FILE`, and `kubectl get -A -o json` of the same resource types;
//! - cluster B (fresh, same server build): `ferry apply --from FILE` of that export,
//!   in dependency order, with its peak RSS;
//! - clusters C and D (fresh): the same two applies again through a relay that delays
//!   each direction by [`ONE_WAY_DELAY`], the network between a client and a remote
//!   API server, which the loopback runs leave out.
//!
//! The API server and etcd share the machine's cores with the client, so each apply also
//! reports the CPU time the cluster's processes spent during it: that time divided by the
//! cores is the shortest any client could take on this machine (the server-bound floor).
//!
//! Velero restores about 10 objects/s (velero#6845); that figure is printed for
//! scale, not measured here (Velero needs in-cluster servers).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use ferry_cluster::ConnectOptions;
use ferry_testcluster::{Options, TestCluster};

use crate::delay::DelayRelay;
use crate::live::{NAMESPACES, object, raw_lists, timed};
use crate::{Run, measure, sibling_binary};

/// Objects per `List` file given to kubectl.
const OBJECTS_PER_FILE: usize = 1000;

/// Delay per direction of the simulated network: 2 ms round trip, a client in the same
/// cloud region as its cluster's API server.
const ONE_WAY_DELAY: Duration = Duration::from_millis(1);

/// Runs the move benchmark and prints Markdown tables.
pub fn bench_move(args: &[String]) {
    let objects: usize = args.first().map_or(10_000, |s| s.parse().expect("object count"));
    let runtime = crate::runtime();
    runtime.block_on(run(objects));
}

/// One apply into a fresh cluster: wall time, peak RSS, and the cluster's CPU time meanwhile.
struct Apply {
    run: Run,
    server_cpu: f64,
    applied: usize,
}

impl Apply {
    /// The shortest time any client could take: the server's CPU time spread over all cores.
    fn floor(&self) -> f64 {
        self.server_cpu / crate::cores() as f64
    }
}

async fn run(objects: usize) {
    let ferry = sibling_binary("ferry");
    let work = tempfile::tempdir().expect("temp dir");
    let manifests = work.path().join("manifests");
    write_manifests(&manifests, objects);
    let manifests = manifests.to_str().expect("utf-8 path");
    let archive = work.path().join("bench.ferry");
    let archive = archive.to_str().expect("utf-8 path");
    let journal = work.path().join("journal.jsonl");
    let journal = journal.to_str().expect("utf-8 path");
    let kubectl_apply = |kubeconfig: &str| measure(Path::new("kubectl"), &["--kubeconfig", kubeconfig, "apply", "--server-side", "-f", manifests]);
    let ferry_apply = |kubeconfig: &str| {
        // Each apply is a new run on a new cluster, not the resumption of the last one.
        let _ = std::fs::remove_file(journal);
        measure(&ferry, &["apply", "--kubeconfig", kubeconfig, "--context", "admin", "--from", archive, "--journal", journal])
    };

    let source = TestCluster::start(Options::default()).await.expect("test cluster (run scripts/install-k8s.sh)");
    let kubectl_loopback = apply_to(&source, None, &work, &kubectl_apply);
    let export = bench_export(&source, &ferry, archive).await;
    drop(source);

    let ferry_loopback = apply_to(&fresh_cluster().await, None, &work, &ferry_apply);
    let kubectl_remote = apply_to(&fresh_cluster().await, Some(ONE_WAY_DELAY), &work, &kubectl_apply);
    let ferry_remote = apply_to(&fresh_cluster().await, Some(ONE_WAY_DELAY), &work, &ferry_apply);

    println!("machine: {} cores, {}; kube-apiserver v1.20.2 + etcd on 127.0.0.1 (fresh cluster per apply)", crate::cores(), crate::cpu_model());
    println!();
    println!(
        "| network | objects | kubectl apply --server-side s | ferry apply s | kubectl / ferry | ferry objects/s | server CPU, kubectl s | server CPU, ferry s | server-bound floor s | ferry / floor | ferry peak RSS MB | Velero at ~10 objects/s s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (network, kubectl, ferry) in [("loopback", &kubectl_loopback, &ferry_loopback), ("2 ms round trip", &kubectl_remote, &ferry_remote)] {
        println!(
            "| {network} | {objects} (+{NAMESPACES} namespaces; {} on the target) | {:.1} | {:.2} | {:.1} | {:.0} | {:.1} | {:.1} | {:.2} | {:.2} | {:.0} | {:.0} |",
            ferry.applied,
            kubectl.run.seconds,
            ferry.run.seconds,
            kubectl.run.seconds / ferry.run.seconds,
            objects as f64 / ferry.run.seconds,
            kubectl.server_cpu,
            ferry.server_cpu,
            ferry.floor(),
            ferry.run.seconds / ferry.floor(),
            ferry.run.peak_rss_mb,
            objects as f64 / 10.0
        );
    }
    println!();
    println!(
        "| objects | raw LISTs in-process s | raw LISTs process s | ferry export s | kubectl get -A -o json s | export / raw in-process | export / raw process | kubectl get / export | ferry export peak RSS MB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {objects} | {:.3} | {:.3} | {:.3} | {:.3} | {:.2} | {:.2} | {:.2} | {:.0} |",
        export.raw,
        export.raw_process,
        export.ferry.seconds,
        export.kubectl,
        export.ferry.seconds / export.raw,
        export.ferry.seconds / export.raw_process,
        export.kubectl / export.ferry.seconds,
        export.ferry.peak_rss_mb
    );
}

async fn fresh_cluster() -> TestCluster {
    TestCluster::start(Options::default()).await.expect("test cluster")
}

/// Runs `apply` (given a kubeconfig) against `cluster`, directly or through a delaying relay.
fn apply_to(cluster: &TestCluster, delay: Option<Duration>, work: &tempfile::TempDir, apply: &dyn Fn(&str) -> Run) -> Apply {
    let kubeconfig = match delay {
        None => cluster.kubeconfig(),
        Some(one_way) => {
            let upstream = cluster.server().trim_start_matches("https://").parse().expect("server address");
            let relay = DelayRelay::start(upstream, one_way);
            let text = std::fs::read_to_string(cluster.kubeconfig()).expect("kubeconfig");
            let path = work.path().join(format!("relayed-{}.kubeconfig", relay.address.port()));
            std::fs::write(&path, text.replace(cluster.server(), &format!("https://{}", relay.address))).expect("relayed kubeconfig");
            path
        }
    };
    let kubeconfig = kubeconfig.to_str().expect("utf-8 path");
    let cpu_before = cluster.cpu_seconds();
    let run = apply(kubeconfig);
    let server_cpu = cluster.cpu_seconds() - cpu_before;
    Apply { run, server_cpu, applied: count_objects(kubeconfig) }
}

/// Export figures, each the best of 5.
struct Export {
    raw: f64,
    raw_process: f64,
    ferry: Run,
    kubectl: f64,
}

/// Raw LISTs (in-process and as a process), `ferry export` and `kubectl get`, alternating.
async fn bench_export(source: &TestCluster, ferry: &Path, archive: &str) -> Export {
    let kubeconfig = source.kubeconfig();
    let kubeconfig = kubeconfig.to_str().expect("utf-8 path");
    let connect = ConnectOptions { kubeconfig: Some(source.kubeconfig()), context: Some("admin".into()) };
    let connection = ferry_cluster::connect(&connect).await.expect("connect");
    let discovery = ferry_cluster::discover(&connection).await.expect("discover");
    let kinds: Vec<String> = discovery.resources.iter().map(|r| r.qualified()).collect();
    let me = std::env::current_exe().expect("own path");
    let mut best = Export { raw: f64::MAX, raw_process: f64::MAX, ferry: Run { seconds: f64::MAX, peak_rss_mb: 0.0 }, kubectl: f64::MAX };
    for _ in 0..5 {
        best.raw = best.raw.min(timed(raw_lists(&connection, &discovery)).await);
        best.raw_process = best.raw_process.min(measure(&me, &["raw-lists", kubeconfig]).seconds);
        let run = measure(ferry, &["export", "--kubeconfig", kubeconfig, "--context", "admin", "--to", archive]);
        if run.seconds < best.ferry.seconds {
            best.ferry = run;
        }
        best.kubectl = best
            .kubectl
            .min(measure(Path::new("kubectl"), &["--kubeconfig", kubeconfig, "get", &kinds.join(","), "-A", "-o", "json", "--chunk-size=500"]).seconds);
    }
    best
}

/// `ferry-bench raw-lists KUBECONFIG`: the raw LISTs as a whole process (start, connect, discover, list).
pub fn raw_lists_process(kubeconfig: &str) {
    let runtime = crate::runtime();
    runtime.block_on(async {
        let connect = ConnectOptions { kubeconfig: Some(kubeconfig.into()), context: Some("admin".into()) };
        let connection = ferry_cluster::connect(&connect).await.expect("connect");
        let discovery = ferry_cluster::discover(&connection).await.expect("discover");
        raw_lists(&connection, &discovery).await;
    });
}

/// Writes the namespaces, then the objects in `List` files of [`OBJECTS_PER_FILE`], in the order kubectl reads them.
pub(crate) fn write_manifests(dir: &Path, objects: usize) {
    std::fs::create_dir_all(dir).expect("manifest dir");
    let namespaces: Vec<serde_json::Value> =
        (0..NAMESPACES).map(|ns| serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": format!("bench-{ns}")}})).collect();
    write_list(&dir.join("0000-namespaces.json"), namespaces);
    let all: Vec<serde_json::Value> = (0..objects)
        .map(|i| {
            let (path, mut body) = object(i);
            let namespace = path.split('/').skip_while(|segment| *segment != "namespaces").nth(1).expect("namespaced path").to_owned();
            body["metadata"]["namespace"] = serde_json::Value::String(namespace);
            body
        })
        .collect();
    for (n, chunk) in all.chunks(OBJECTS_PER_FILE).enumerate() {
        write_list(&dir.join(format!("{:04}-objects.json", n + 1)), chunk.to_vec());
    }
}

fn write_list(path: &Path, items: Vec<serde_json::Value>) {
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
    std::fs::write(path, serde_json::to_vec(&list).expect("JSON")).expect("write manifests");
}

/// Objects of the benchmark's kinds in the benchmark's namespaces on the target.
fn count_objects(kubeconfig: &str) -> usize {
    let output = Command::new("kubectl")
        .args(["--kubeconfig", kubeconfig, "get", "configmaps,secrets,deployments,services", "-A", "--no-headers", "--chunk-size=500"])
        .output()
        .expect("kubectl");
    String::from_utf8_lossy(&output.stdout).lines().filter(|l| l.starts_with("bench-")).count()
}
