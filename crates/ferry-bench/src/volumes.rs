//! `ferry-bench volumes [SIZE_MB]`: volume data moved through the clusters' mover Jobs
//! (`ferry volumes sync`: a backup Job on the source, a restore Job on the target) against the
//! same mover run as local processes on the same tree (`ferry volumes mover backup` then
//! `restore`), in one run: the first pass, then the second after a 5 % change. Two test
//! clusters with a node each; the claim's volume is a directory on this machine, the
//! repository a directory both nodes share (hostPath). The tree and its change are
//! scripts/volume-tree.py's, as scripts/bench-volumes.sh uses them against restic and rsync.
//! Both copies are checked equal to the source before any figure is printed.

use std::path::{Path, PathBuf};
use std::process::Command;

use ferry_testcluster::{FERRY_IMAGE, Options, TestCluster, TestImages};
use ferry_volumes::Manifest;

/// The claim on both clusters, bound to the volume the benchmark fills.
const CLAIM: &str = "apiVersion: v1\nkind: Namespace\nmetadata: {name: bench}\n---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data, namespace: bench}\nspec: {storageClassName: local, volumeName: pv-bench, accessModes: [ReadWriteOnce], resources: {requests: {storage: 100Gi}}}\n";

/// Runs the comparison on a tree of SIZE_MB (default 400) and prints one table row per pass.
pub(crate) fn bench_volumes(args: &[String]) {
    let size_mb: u64 = args.first().map(|s| s.parse().expect("SIZE_MB is a number")).unwrap_or(400);
    let ferry = crate::sibling_binary("ferry");
    let work = tempfile::tempdir().expect("a work directory");
    let (source, target) = crate::runtime().block_on(async {
        let (source, target) =
            tokio::join!(TestCluster::start(Options { nodes: 1, ..Default::default() }), TestCluster::start(Options { nodes: 1, ..Default::default() }));
        (source.expect("source cluster"), target.expect("target cluster"))
    });
    let images = TestImages::build(work.path(), Some(&ferry)).expect("test images");
    let image = images.ferry.as_ref().expect("ferry's image");
    let mut volumes = Vec::new();
    for cluster in [&source, &target] {
        cluster.import_image(image).expect("import ferry's image");
        volumes.push(cluster.create_volume("pv-bench", "100Gi").expect("volume"));
        cluster.apply(None, CLAIM).expect("claim");
    }
    for cluster in [&source, &target] {
        cluster.kubectl(&["-n", "bench", "wait", "--for=jsonpath={.status.phase}=Bound", "pvc/data", "--timeout=120s"]).expect("claim bound");
    }
    let (tree, cluster_copy) = (&volumes[0], &volumes[1]);
    tree_script(&["make", path(tree), &size_mb.to_string()]);
    let local = Local { ferry: &ferry, repository: work.path().join("local-repository"), copy: work.path().join("local-copy") };
    let clusters = Clusters { ferry: &ferry, source: &source, target: &target, repository: work.path().join("cluster-repository") };

    let files = Manifest::of_tree(tree).expect("source manifest").files();
    println!("machine: {} cores, {}; tree {size_mb} MB ({files} files)", crate::cores(), crate::cpu_model());
    println!("| pass | local mover: backup + restore s | through the clusters' Jobs s | clusters / local |");
    println!("|---|---|---|---|");
    for (pass, time) in [("first", "2026-12-07T12:00:00Z"), ("second, after a 5 % change", "2026-12-07T12:10:00Z")] {
        if pass != "first" {
            tree_script(&["change", path(tree)]);
        }
        let local_seconds = local.pass(tree, time);
        let cluster_seconds = clusters.sync();
        let source = Manifest::of_tree(tree).expect("source manifest");
        for copy in [&local.copy, cluster_copy] {
            let mismatches = source.compare(&Manifest::of_tree(copy).expect("copy manifest"));
            assert!(mismatches.is_empty(), "{} differs from the source: {mismatches:?}", copy.display());
        }
        println!("| {pass} | {local_seconds:.2} | {cluster_seconds:.2} | {:.2} |", cluster_seconds / local_seconds);
    }
}

/// The mover as local processes, into a directory repository and a local copy.
struct Local<'a> {
    ferry: &'a Path,
    repository: PathBuf,
    copy: PathBuf,
}

impl Local<'_> {
    /// Seconds to back `tree` up and restore its snapshot into the copy.
    fn pass(&self, tree: &Path, time: &str) -> f64 {
        let repository = path(&self.repository);
        let backup = ["volumes", "mover", "backup", "--volume", "bench/data", "--time", time, "--repository", repository, "--path", path(tree)];
        let backup_seconds = crate::live::process_exiting(self.ferry, &backup, &[0]);
        let snapshot = std::fs::read_to_string(self.repository.join("refs/bench/data")).expect("the snapshot reference");
        let restore = ["volumes", "mover", "restore", "--snapshot", snapshot.trim(), "--repository", repository, "--path", path(&self.copy)];
        backup_seconds + crate::live::process_exiting(self.ferry, &restore, &[0])
    }
}

/// `ferry volumes sync` between the two clusters.
struct Clusters<'a> {
    ferry: &'a Path,
    source: &'a TestCluster,
    target: &'a TestCluster,
    repository: PathBuf,
}

impl Clusters<'_> {
    /// Seconds for one `ferry volumes sync` of the claim.
    fn sync(&self) -> f64 {
        let (source, target) = (self.source.kubeconfig(), self.target.kubeconfig());
        let args = [
            "volumes",
            "sync",
            "--kubeconfig",
            path(&source),
            "--context",
            "admin",
            "--to-kubeconfig",
            path(&target),
            "--to-context",
            "admin",
            "-n",
            "bench",
            "--via",
            path(&self.repository),
            "--mover-image",
            FERRY_IMAGE,
            "--mover-host-network",
            "--timeout",
            "3600",
        ];
        crate::live::process_exiting(self.ferry, &args, &[0])
    }
}

/// Runs scripts/volume-tree.py with `args`.
fn tree_script(args: &[&str]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/volume-tree.py");
    let status = Command::new("python3").arg(script).args(args).status().expect("python3");
    assert!(status.success(), "volume-tree.py {args:?} failed");
}

/// A path as an argument (the benchmark's paths are UTF-8).
fn path(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}
