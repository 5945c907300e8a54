//! `ferry-bench move [OBJECTS]`: exporting from and applying to live clusters.
//!
//! Writes OBJECTS objects (default 10,000: the mix of `live.rs` over 20
//! namespaces) as JSON `List` files, then, in one run:
//! - cluster A (fresh): `kubectl apply --server-side -f DIR` (the baseline for apply);
//! - from cluster A, best of 3 each: raw paginated LISTs (the limit for export), both
//!   in-process on an open connection and as a whole process (`ferry-bench raw-lists`:
//!   start, connect, discover, list, the same fixed costs as any exporter),
//!   `ferry export --to FILE`, and `kubectl get -A -o json` of the same resource types;
//! - cluster B (fresh, same server build): `ferry apply --from FILE` of that export,
//!   in dependency order, with its peak RSS.
//!
//! Velero restores about 10 objects/s (velero#6845); that figure is printed for
//! scale, not measured here (Velero needs in-cluster servers).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use ferry_cluster::ConnectOptions;
use ferry_testcluster::{Options, TestCluster};

use crate::live::{NAMESPACES, object, raw_lists};
use crate::{Run, best_of, measure, sibling_binary};

/// Objects per `List` file given to kubectl.
const OBJECTS_PER_FILE: usize = 1000;

/// Runs the move benchmark and prints a Markdown table.
pub fn bench_move(args: &[String]) {
    let objects: usize = args.first().map_or(10_000, |s| s.parse().expect("object count"));
    let runtime = crate::runtime();
    runtime.block_on(run(objects));
}

async fn run(objects: usize) {
    let ferry = sibling_binary("ferry");
    let work = tempfile::tempdir().expect("temp dir");
    let manifests = work.path().join("manifests");
    write_manifests(&manifests, objects);
    let archive = work.path().join("bench.ferry");
    let archive = archive.to_str().expect("utf-8 path");

    let source = TestCluster::start(Options::default()).await.expect("test cluster (run scripts/install-k8s.sh)");
    let source_kubeconfig = source.kubeconfig();
    let source_kubeconfig = source_kubeconfig.to_str().expect("utf-8 path");
    let kubectl_apply = measure(Path::new("kubectl"), &["--kubeconfig", source_kubeconfig, "apply", "--server-side", "-f", manifests.to_str().expect("utf-8")]);

    let connect = ConnectOptions { kubeconfig: Some(source.kubeconfig()), context: Some("admin".into()) };
    let connection = ferry_cluster::connect(&connect).await.expect("connect");
    let discovery = ferry_cluster::discover(&connection).await.expect("discover");
    let kinds: Vec<String> = discovery.resources.iter().map(|r| r.qualified()).collect();
    let me = std::env::current_exe().expect("own path");
    let (mut raw, mut raw_process, mut export, mut kubectl_get) = (f64::MAX, f64::MAX, None::<Run>, f64::MAX);
    for _ in 0..3 {
        let started = Instant::now();
        raw_lists(&connection, &discovery).await;
        raw = raw.min(started.elapsed().as_secs_f64());
        raw_process = raw_process.min(measure(&me, &["raw-lists", source_kubeconfig]).seconds);
        let run = measure(&ferry, &["export", "--kubeconfig", source_kubeconfig, "--context", "admin", "--to", archive]);
        if export.as_ref().is_none_or(|best| run.seconds < best.seconds) {
            export = Some(run);
        }
        kubectl_get = kubectl_get.min(measure(Path::new("kubectl"), &["--kubeconfig", source_kubeconfig, "get", &kinds.join(","), "-A", "-o", "json", "--chunk-size=500"]).seconds);
    }
    let export = export.expect("three rounds");
    drop(source);

    let target = TestCluster::start(Options::default()).await.expect("test cluster");
    let target_kubeconfig = target.kubeconfig();
    let target_kubeconfig = target_kubeconfig.to_str().expect("utf-8 path");
    let journal = work.path().join("journal.jsonl");
    let apply = best_of(1, || {
        measure(&ferry, &["apply", "--kubeconfig", target_kubeconfig, "--context", "admin", "--from", archive, "--journal", journal.to_str().expect("utf-8")])
    });
    let applied = count_objects(target_kubeconfig);

    println!("machine: {} cores, {}; kube-apiserver v1.20.2 + etcd on 127.0.0.1 (fresh cluster per apply)", crate::cores(), crate::cpu_model());
    println!("| objects | kubectl apply --server-side s | ferry apply s | ferry apply objects/s | kubectl / ferry apply | ferry apply peak RSS MB | raw LISTs in-process s | raw LISTs process s | ferry export s | kubectl get -A -o json s | export / raw in-process | export / raw process | kubectl get / export | Velero restore at ~10 objects/s s |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {objects} (+{NAMESPACES} namespaces; {applied} on the target) | {:.1} | {:.2} | {:.0} | {:.1} | {:.0} | {raw:.3} | {raw_process:.3} | {:.3} | {kubectl_get:.3} | {:.2} | {:.2} | {:.2} | {:.0} |",
        kubectl_apply.seconds,
        apply.seconds,
        objects as f64 / apply.seconds,
        kubectl_apply.seconds / apply.seconds,
        apply.peak_rss_mb,
        export.seconds,
        export.seconds / raw,
        export.seconds / raw_process,
        kubectl_get / export.seconds,
        objects as f64 / 10.0
    );
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
fn write_manifests(dir: &Path, objects: usize) {
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
