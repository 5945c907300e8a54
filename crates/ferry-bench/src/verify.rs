//! `ferry-bench verify [OBJECTS]`: checking a migration, next to what users do instead.
//!
//! Fills a source cluster with OBJECTS objects (default 10,000: the mix of `live.rs` over 20
//! namespaces), migrates them to a fresh target with `ferry migrate`, writes the same objects
//! as `List` files, then measures, alternating rounds and keeping the best of 3:
//! - the raw limit: the paginated LISTs of both clusters (every discovered resource, plain HTTP,
//!   parsing nothing but `continue`), one cluster after the other, on open connections, and as
//!   two processes (`ferry-bench raw-lists`: start, connect, discover, list);
//! - `ferry verify` of the source cluster against the target, as a process (connect, discover,
//!   read the source, transform, read the target, compare, readiness, report), with the 20
//!   namespaces named (`-n`: each namespaced resource listed per namespace) and without (every
//!   namespace);
//! - `ferry verify --from ARCHIVE` (the migration's archive) against the target;
//! - once, as it is slow: `kubectl diff -f DIR` of the same objects against the target, the
//!   user's alternative (a server-side dry-run per object, then a local diff).
//!
//! The clusters have no node, so Deployments are never ready: `verify` answers 6 (at parity, not
//! ready); it is checked once to be at parity before anything is timed.
//!
//! With `FERRY_BENCH_HOLD` set, nothing is timed: once the target is at parity the bench prints
//! the `ferry verify` command lines and keeps both clusters until standard input closes, for
//! profiling one process at a time (`perf record`, `perf stat`).

use std::path::Path;
use std::process::Command;

use ferry_cluster::{ConnectOptions, Connection, Discovery};
use ferry_testcluster::{Options, TestCluster};

use crate::live::{NAMESPACES, fill, process_exiting, raw_lists, timed};
use crate::moving::write_manifests;

/// `ferry verify`'s exit code when everything is at parity but not ready.
const AT_PARITY_NOT_READY: i32 = 6;

/// Runs the verify benchmark and prints a Markdown table.
pub fn bench_verify(args: &[String]) {
    let objects: usize = args.first().map_or(10_000, |s| s.parse().expect("object count"));
    crate::runtime().block_on(run(objects));
}

async fn run(objects: usize) {
    let ferry = crate::sibling_binary("ferry");
    let work = tempfile::tempdir().expect("temp dir");
    let (source, target) = tokio::join!(TestCluster::start(Options::default()), TestCluster::start(Options::default()));
    let (source, target) = (source.expect("test cluster (run scripts/install-k8s.sh)"), target.expect("test cluster"));
    fill(&source.client().await.expect("client"), objects).await;
    let manifests = work.path().join("manifests");
    write_manifests(&manifests, objects);
    let path = |name: &str| work.path().join(name).to_str().expect("utf-8 path").to_owned();
    let (source_config, target_config) = (path_of(&source), path_of(&target));
    let namespaces: Vec<String> = (0..NAMESPACES).flat_map(|ns| ["-n".to_owned(), format!("bench-{ns}")]).collect();
    let from_source = ["--kubeconfig", &source_config, "--context", "admin"];
    let to_target = ["--to-kubeconfig", &target_config, "--to-context", "admin"];
    let migrate: Vec<&str> = ["migrate"].into_iter().chain(from_source).chain(to_target).chain(namespaces.iter().map(String::as_str)).collect();
    let (archive, journal) = (path("bench.ferry"), path("journal.jsonl"));
    process_exiting(&ferry, &[&migrate[..], &["--archive-to", &archive, "--journal", &journal]].concat(), &[0]);
    let live: Vec<&str> = ["verify"].into_iter().chain(from_source).chain(to_target).chain(namespaces.iter().map(String::as_str)).collect();
    let archived: Vec<&str> = ["verify", "--from", &archive].into_iter().chain(to_target).chain(namespaces.iter().map(String::as_str)).collect();
    let everything: Vec<&str> = ["verify"].into_iter().chain(from_source).chain(to_target).collect();
    let compared = check_parity(&ferry, &live);
    if std::env::var_os("FERRY_BENCH_HOLD").is_some() {
        hold(&ferry, &[&live, &everything, &archived]);
        return;
    }
    let me = std::env::current_exe().expect("own path");

    let (source_connection, target_connection) = (connect(&source).await, connect(&target).await);
    let (mut raw, mut raw_process, mut verify_live, mut verify_all, mut verify_archive) = (f64::MAX, f64::MAX, f64::MAX, f64::MAX, f64::MAX);
    for _ in 0..3 {
        let both = async {
            raw_lists(&source_connection.0, &source_connection.1).await;
            raw_lists(&target_connection.0, &target_connection.1).await;
        };
        raw = raw.min(timed(both).await);
        let processes = process_exiting(&me, &["raw-lists", &source_config], &[0]) + process_exiting(&me, &["raw-lists", &target_config], &[0]);
        raw_process = raw_process.min(processes);
        verify_all = verify_all.min(process_exiting(&ferry, &everything, &[3, AT_PARITY_NOT_READY]));
        verify_live = verify_live.min(process_exiting(&ferry, &live, &[AT_PARITY_NOT_READY]));
        verify_archive = verify_archive.min(process_exiting(&ferry, &archived, &[AT_PARITY_NOT_READY]));
    }
    let manifests = manifests.to_str().expect("utf-8 path");
    let kubectl_diff = process_exiting(Path::new("kubectl"), &["--kubeconfig", &target_config, "diff", "-f", manifests], &[0, 1]);

    println!("machine: {} cores, {}; two kube-apiserver v1.20.2 + etcd on 127.0.0.1", crate::cores(), crate::cpu_model());
    println!();
    println!(
        "| objects compared | raw LISTs of both clusters in-process s | as processes s | ferry verify -n ×20 s | ferry verify, all namespaces s | ferry verify --from archive s | kubectl diff -f s | verify -n / raw processes | verify all / raw processes | kubectl diff / verify -n |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {compared} | {raw:.3} | {raw_process:.3} | {verify_live:.3} | {verify_all:.3} | {verify_archive:.3} | {kubectl_diff:.1} | {:.2} | {:.2} | {:.1} |",
        verify_live / raw_process,
        verify_all / raw_process,
        kubectl_diff / verify_live
    );
}

/// Prints each of `commands` as a shell line and waits until standard input closes.
fn hold(ferry: &Path, commands: &[&[&str]]) {
    for command in commands {
        println!("{} {}", ferry.display(), command.join(" "));
    }
    eprintln!("clusters held; close standard input (Ctrl-D) to stop them");
    std::io::copy(&mut std::io::stdin(), &mut std::io::sink()).expect("read standard input");
}

fn path_of(cluster: &TestCluster) -> String {
    cluster.kubeconfig().to_str().expect("utf-8 path").to_owned()
}

async fn connect(cluster: &TestCluster) -> (Connection, Discovery) {
    let options = ConnectOptions { kubeconfig: Some(cluster.kubeconfig()), context: Some("admin".into()) };
    let connection = ferry_cluster::connect(&options).await.expect("connect");
    let discovery = ferry_cluster::discover(&connection).await.expect("discover");
    (connection, discovery)
}

/// Runs `ferry verify -o json` once and checks that the target is at parity; returns the objects compared.
fn check_parity(ferry: &Path, verify: &[&str]) -> u64 {
    let output = Command::new(ferry).args(verify).args(["-o", "json"]).output().expect("spawn ferry verify");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("verify's JSON report");
    assert_eq!(output.status.code(), Some(AT_PARITY_NOT_READY), "{report:#}");
    assert_eq!(report["compared"], report["atParity"], "the migration left differences: {report:#}");
    report["compared"].as_u64().expect("a count")
}
