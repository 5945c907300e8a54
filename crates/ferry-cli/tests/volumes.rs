//! `ferry volumes` between two real clusters with nodes: a Deployment's claim and a claim no
//! Pod mounts move (at once with `--parallel 2`, one after the other with `--parallel 1`)
//! through mover Jobs on ferry's own image and a repository shared by hostPath; a second sync
//! sends only the change; cutover scales the Deployment to zero, waits for its Pod, makes the
//! final pass and verifies into evidence; a target Pod reads the same bytes; a too-small target
//! claim, and one of the wrong class (after --rules), are refused before any data moves; a
//! difference made on the target is named by verify; a pass and a verification through an
//! encrypted repository (the repository key reaching the movers through their Jobs' Secrets).
//! Through a real S3 server (`rclone serve s3`), with its credentials reaching the movers only
//! through their Jobs' Secrets: a pass survives ferry killed mid-pass, a mover Pod deleted
//! mid-pass and the S3 server stopped mid-pass for longer than `--store-retry` (each failure
//! named, then a re-run completes without sending again what is stored); a server down for a
//! few seconds is waited for and the pass completes; the cutover's evidence is equal; a
//! corrupted chunk is found at restore.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use ferry_testcluster::s3::{self, S3Server};
use ferry_testcluster::{FERRY_IMAGE, Options, TestCluster, TestImages};
use serde_json::Value;
use volumes_support::indexed_chunks;

mod volumes_support;

/// Source objects: the Deployment `db` mounting `shop/data`, the unmounted `shop/idle`,
/// `tight/logs`, whose target claim is too small, and `tight/cache`, whose target claim has
/// another class. Claims name their volumes so that each binds
/// to the directory the test fills.
const SOURCE: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Namespace
metadata: {name: tight}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: shop}
spec: {storageClassName: local, volumeName: pv-data, accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: idle, namespace: shop}
spec: {storageClassName: local, volumeName: pv-idle, accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: logs, namespace: tight}
spec: {storageClassName: local, volumeName: pv-logs, accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: cache, namespace: tight}
spec: {storageClassName: local, volumeName: pv-cache, accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: db, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      hostNetwork: true
      terminationGracePeriodSeconds: 1
      volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]
      containers:
      - {name: db, image: ferry.local/busybox:1, imagePullPolicy: Never, command: [sleep, "100000"], volumeMounts: [{name: data, mountPath: /data}]}
"#;

/// The target's claims: the same two in `shop`; in `tight` a 100Mi one and one of class `slow`.
const TARGET: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Namespace
metadata: {name: tight}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: shop}
spec: {storageClassName: local, volumeName: pv-data, accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: idle, namespace: shop}
spec: {storageClassName: local, volumeName: pv-idle, accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: logs, namespace: tight}
spec: {storageClassName: local, accessModes: [ReadWriteOnce], resources: {requests: {storage: 100Mi}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: cache, namespace: tight}
spec: {storageClassName: slow, accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
"#;

/// A finished ferry's (exit code, stdout, stderr).
fn ended(out: Output) -> (i32, String, String) {
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The two clusters and the repository, as `ferry volumes` arguments.
struct Move {
    source: TestCluster,
    target: TestCluster,
    /// `--via`.
    via: String,
    /// Variables ferry runs with (the S3 server's endpoint and credentials).
    env: Vec<(&'static str, String)>,
}

impl Move {
    /// The command `ferry volumes VERB` between the clusters with ARGS after the common ones.
    fn command(&self, verb: &str, args: &[&str]) -> Command {
        let (src, dst) = (self.source.kubeconfig(), self.target.kubeconfig());
        let mut command = Command::new(env!("CARGO_BIN_EXE_ferry"));
        command.args(["volumes", verb, "--kubeconfig", src.to_str().unwrap(), "--context", "admin", "--to-kubeconfig", dst.to_str().unwrap()]);
        command.args(["--to-context", "admin", "--via", &self.via, "--mover-image", FERRY_IMAGE, "--mover-host-network", "--timeout", "120"]);
        command.args(args).envs(self.env.iter().map(|(name, value)| (name, value)));
        command
    }

    /// `ferry volumes VERB` run to its end; returns (exit code, stdout, stderr).
    fn volumes(&self, verb: &str, args: &[&str]) -> (i32, String, String) {
        ended(self.command(verb, args).output().unwrap())
    }

    /// `volumes VERB -o json` that must exit 0, parsed.
    fn json(&self, verb: &str, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        let (code, stdout, stderr) = self.volumes(verb, &all);
        assert_eq!(code, 0, "{verb}: {stderr}\n{stdout}");
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{verb}: {e}: {stdout}"))
    }
}

fn kubectl(cluster: &TestCluster, args: &[&str]) -> String {
    cluster.kubectl(args).unwrap_or_else(|e| panic!("{e}"))
}

/// Waits until `check` holds, for at most 90 s.
fn eventually(what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while !check() {
        assert!(Instant::now() < deadline, "gave up waiting: {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Fills a volume directory: nested small files, a larger one, a link, an empty directory.
fn fill(dir: &Path) {
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    for i in 0..50 {
        std::fs::write(dir.join(format!("sub/f{i}")), format!("line-{i}\n").repeat(i + 1)).unwrap();
    }
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    std::fs::write(dir.join("big"), big).unwrap();
    std::os::unix::fs::symlink("sub/f1", dir.join("link")).unwrap();
    std::fs::create_dir(dir.join("empty")).unwrap();
}

/// The claim `NAMESPACE/NAME` in a sync report.
fn claim<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["claims"].as_array().unwrap().iter().find(|c| format!("{}/{}", c["namespace"].as_str().unwrap(), c["name"].as_str().unwrap()) == name).unwrap()
}

/// Whether two claims' passes overlapped in time.
fn overlap(one: &Value, other: &Value) -> bool {
    let time = |pass: &Value, field: &str| pass[field].as_str().unwrap().parse::<jiff::Timestamp>().unwrap();
    time(one, "started") < time(other, "finished") && time(other, "started") < time(one, "finished")
}

/// Mover Jobs left in a cluster.
fn jobs_left(cluster: &TestCluster) -> String {
    kubectl(cluster, &["get", "jobs", "-A", "-l", "ferry.io/volumes-run", "-o", "name"])
}

/// Both clusters with [`SOURCE`] and [`TARGET`] applied, the claims bound and `db` running,
/// and the volume directories the test fills.
struct Setup {
    source: TestCluster,
    target: TestCluster,
    /// `shop/data` on the source and the target.
    data: PathBuf,
    target_data: PathBuf,
    /// `shop/idle` on the target.
    target_idle: PathBuf,
}

/// Starts both clusters with ferry's image, fills `shop/data` ([`fill`]) and `shop/idle`.
async fn setup(work: &Path) -> Setup {
    let (source, target) =
        tokio::join!(TestCluster::start(Options { nodes: 1, ..Default::default() }), TestCluster::start(Options { nodes: 1, ..Default::default() }));
    let (source, target) = (source.unwrap(), target.unwrap());
    let images = TestImages::build(work, Some(Path::new(env!("CARGO_BIN_EXE_ferry")))).unwrap();
    for cluster in [&source, &target] {
        cluster.import_image(images.ferry.as_ref().unwrap()).unwrap();
    }
    let (data, idle) = (source.create_volume("pv-data", "1Gi").unwrap(), source.create_volume("pv-idle", "1Gi").unwrap());
    source.create_volume("pv-logs", "1Gi").unwrap();
    source.create_volume("pv-cache", "1Gi").unwrap();
    let (target_data, target_idle) = (target.create_volume("pv-data", "1Gi").unwrap(), target.create_volume("pv-idle", "1Gi").unwrap());
    fill(&data);
    std::fs::write(idle.join("only-here"), "nobody mounts me\n").unwrap();
    source.apply(None, SOURCE).unwrap();
    target.apply(None, TARGET).unwrap();
    if let Err(err) = source.kubectl(&["-n", "shop", "rollout", "status", "deployment/db", "--timeout=180s"]) {
        let state = source.kubectl(&["get", "pods,pvc,pv,events", "-A", "-o", "wide"]).unwrap_or_else(|e| e.to_string());
        panic!("{err}\n{state}");
    }
    let phases = |cluster: &TestCluster, namespace: &str| kubectl(cluster, &["-n", namespace, "get", "pvc", "-o", "jsonpath={.items[*].status.phase}"]);
    eventually("the claims bound", || {
        phases(&source, "shop") == "Bound Bound" && phases(&source, "tight") == "Bound Bound" && phases(&target, "shop") == "Bound Bound"
    });
    Setup { source, target, data, target_data, target_idle }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volumes_move_with_warm_passes_cutover_and_evidence() {
    let work = tempfile::tempdir().unwrap();
    let Setup { source, target, data, target_data, target_idle, .. } = setup(work.path()).await;
    let repository = work.path().join("repository");
    let moving = Move { source, target, via: repository.to_string_lossy().into_owned(), env: Vec::new() };

    // The plan: the Deployment's claim with its node, the unmounted claim, the too-small one (exit 3).
    let (code, stdout, stderr) = moving.volumes("plan", &["-n", "shop,tight", "-o", "json"]);
    assert_eq!(code, 3, "{stderr}");
    let plan: Value = serde_json::from_str(&stdout).unwrap();
    let data_plan = claim(&plan, "shop/data");
    assert_eq!((data_plan["workloads"][0]["kind"].as_str(), data_plan["workloads"][0]["name"].as_str()), (Some("Deployment"), Some("db")), "{data_plan}");
    assert_eq!((data_plan["node"].as_str(), data_plan["target"]["state"].as_str()), (Some("127.0.0.1"), Some("bound")));
    assert_eq!(claim(&plan, "shop/idle")["pods"], serde_json::json!([]));
    let logs = claim(&plan, "tight/logs");
    assert!(logs["findings"][0]["message"].as_str().unwrap().contains("too small"), "{logs}");
    let cache = &claim(&plan, "tight/cache")["findings"];
    assert_eq!(cache[0]["blocking"].as_bool(), Some(true), "{cache}");
    assert!(cache[0]["message"].as_str().unwrap().starts_with("wrong storage class: the target claim has `slow`, it should have `local`"), "{cache}");

    // Rules that map `local` to `slow` make the class of `cache` right and that of `logs` wrong.
    let rules = work.path().join("ferry.yaml");
    std::fs::write(&rules, "apiVersion: ferry.dev/v1alpha1\nkind: TransformRules\nstorageClasses: {local: slow}\n").unwrap();
    let (code, stdout, stderr) = moving.volumes("plan", &["-n", "tight", "-o", "json", "--rules", rules.to_str().unwrap()]);
    assert_eq!(code, 3, "{stderr}");
    let mapped: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(claim(&mapped, "tight/cache")["findings"], serde_json::json!([]), "{mapped}");
    let logs = claim(&mapped, "tight/logs")["findings"].to_string();
    assert!(logs.contains("has `local`, it should have `slow` (the source's class after the rules' storageClasses map)"), "{logs}");

    // A too-small target claim, and one of the wrong class, are refused before any data moves.
    let (code, _, stderr) = moving.volumes("sync", &["-n", "tight"]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("tight/logs: too small") && stderr.contains("tight/cache: wrong storage class"), "{stderr}");
    assert!(!repository.join("config.json").exists(), "nothing was written");
    assert_eq!(jobs_left(&moving.source), "");

    // The first pass moves everything, both claims at once; no Job is left behind.
    let first = moving.json("sync", &["-n", "shop", "--parallel", "2"]);
    assert!(overlap(claim(&first, "shop/data"), claim(&first, "shop/idle")), "the claims moved one after the other: {first}");
    assert_eq!((claim(&first, "shop/data")["files"].as_u64(), claim(&first, "shop/data")["changed_files"].as_u64()), (Some(51), Some(51)), "{first}");
    assert_eq!(claim(&first, "shop/idle")["files"].as_u64(), Some(1));
    assert_eq!(std::fs::read(target_data.join("big")).unwrap(), std::fs::read(data.join("big")).unwrap());
    assert_eq!(std::fs::read_to_string(target_idle.join("only-here")).unwrap(), "nobody mounts me\n");
    eventually("mover Jobs deleted", || jobs_left(&moving.source).is_empty() && jobs_left(&moving.target).is_empty());

    // A change on the source: the second pass sends only it.
    std::fs::write(data.join("sub/f3"), "changed\n").unwrap();
    std::fs::write(data.join("new"), "added\n").unwrap();
    std::fs::remove_file(data.join("sub/f4")).unwrap();
    let second = moving.json("sync", &["-n", "shop", "--parallel", "1"]);
    assert!(!overlap(claim(&second, "shop/data"), claim(&second, "shop/idle")), "the claims moved at once: {second}");
    let data_pass = claim(&second, "shop/data");
    assert_eq!(
        (data_pass["changed_files"].as_u64(), data_pass["changed_bytes"].as_u64(), data_pass["removed"].as_u64()),
        (Some(2), Some(14), Some(1)),
        "{second}"
    );
    assert!(data_pass["sent_bytes"].as_u64().unwrap() < 1000, "{second}");
    assert_eq!(claim(&second, "shop/idle")["changed_files"].as_u64(), Some(0));

    // Cutover: the Deployment goes to zero (replicas remembered), its Pod is gone, final pass, evidence equal.
    std::fs::write(data.join("last-write"), "before the cutover\n").unwrap();
    let evidence_file = work.path().join("evidence.json");
    let cutover = moving.json("cutover", &["-n", "shop", "--evidence", evidence_file.to_str().unwrap()]);
    assert_eq!(cutover["scaled"][0]["replicas"].as_i64(), Some(1), "{cutover}");
    let deployment: Value = serde_json::from_str(&kubectl(&moving.source, &["-n", "shop", "get", "deployment", "db", "-o", "json"])).unwrap();
    assert_eq!(deployment["spec"]["replicas"].as_i64(), Some(0));
    assert_eq!(deployment["metadata"]["annotations"]["ferry.io/replicas-before-cutover"].as_str(), Some("1"));
    assert_eq!(kubectl(&moving.source, &["-n", "shop", "get", "pods", "-l", "app=db", "-o", "name"]), "");
    let evidence: Value = serde_json::from_str(&std::fs::read_to_string(&evidence_file).unwrap()).unwrap();
    assert_eq!(evidence["format"].as_str(), Some("ferry.volumes.evidence/v1"));
    for name in ["shop/data", "shop/idle"] {
        let claim = claim(&evidence, name);
        assert_eq!(claim["equal"].as_bool(), Some(true), "{claim}");
        assert_eq!(claim["source"]["digest"], claim["target"]["digest"]);
    }
    assert_eq!(claim(&evidence, "shop/data")["source"]["files"].as_u64(), Some(52));

    // A Pod on the target reads the same bytes.
    let digest = sha256_of(&data.join("big"));
    let reader = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: reader, namespace: shop}}\nspec:\n  hostNetwork: true\n  restartPolicy: Never\n  volumes: [{{name: d, persistentVolumeClaim: {{claimName: data}}}}]\n  containers:\n  - {{name: c, image: ferry.local/busybox:1, imagePullPolicy: Never, volumeMounts: [{{name: d, mountPath: /data}}], command: [sh, -c, 'echo \"{digest}  /data/big\" | sha256sum -c && test \"$(cat /data/last-write)\" = \"before the cutover\"']}}\n"
    );
    moving.target.apply(None, &reader).unwrap();
    let phase = || kubectl(&moving.target, &["-n", "shop", "get", "pod", "reader", "-o", "jsonpath={.status.phase}"]);
    eventually("the reader Pod ends", || matches!(phase().as_str(), "Succeeded" | "Failed"));
    assert_eq!(phase(), "Succeeded");

    // A difference on the target is found and named.
    std::fs::write(target_data.join("sub/f7"), "line-7\n".repeat(7) + "tamper\n").unwrap();
    let (code, _, stderr) = moving.volumes("verify", &["-n", "shop", "--evidence", evidence_file.to_str().unwrap()]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("sub/f7: content differs"), "{stderr}");
    let evidence: Value = serde_json::from_str(&std::fs::read_to_string(&evidence_file).unwrap()).unwrap();
    assert_eq!(claim(&evidence, "shop/data")["mismatches"][0]["path"].as_str(), Some("sub/f7"));

    // Through an encrypted repository (an age identity): the pass repairs the target, the
    // repository holds only age files under keyed names, and it cannot be read without the key.
    let encrypted_repository = work.path().join("encrypted");
    let encrypted = Move { via: encrypted_repository.to_string_lossy().into_owned(), ..moving };
    let identity = work.path().join("me.txt");
    std::fs::write(&identity, "AGE-SECRET-KEY-17S8ZHE8RADH2PHSNEYNP65K9KVZQHCMKZD58QQGYHD8WHGELEK4QKTH4P0\n").unwrap();
    let identity = identity.to_str().unwrap();
    let pass = encrypted.json("sync", &["-n", "shop", "--identity", identity]);
    assert_eq!(claim(&pass, "shop/data")["written_files"].as_u64(), Some(1), "only the tampered file is rewritten: {pass}");
    let config = std::fs::read_to_string(encrypted_repository.join("config.json")).unwrap();
    assert!(config.contains("\"scheme\": \"age\""), "{config}");
    let packs = std::fs::read_dir(encrypted_repository.join("packs")).unwrap().next().unwrap().unwrap().path();
    let pack = std::fs::read_dir(packs).unwrap().next().unwrap().unwrap().path();
    assert!(std::fs::read(&pack).unwrap().starts_with(b"age-encryption.org/v1\n"));
    let verified = encrypted.json("verify", &["-n", "shop", "--identity", identity, "--evidence", evidence_file.to_str().unwrap()]);
    assert_eq!(claim(&verified, "shop/data")["equal"].as_bool(), Some(true), "{verified}");
    let (code, _, stderr) = encrypted.volumes("verify", &["-n", "shop"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("is encrypted; pass --identity"), "{stderr}");
    eventually("mover Jobs and their Secrets deleted", || {
        let secrets = kubectl(&encrypted.source, &["get", "secrets", "-A", "-l", "ferry.io/volumes-run", "-o", "name"]);
        jobs_left(&encrypted.source).is_empty() && jobs_left(&encrypted.target).is_empty() && secrets.is_empty()
    });
}

/// Hex SHA-256 of a file, through the `sha256sum` the test images also use.
fn sha256_of(path: &Path) -> String {
    let out = std::process::Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap().to_owned()
}

/// Files in each round of data a fault interrupts, and their size: enough that a pass takes
/// seconds, so that it can be interrupted once it has stored some chunks.
const ROUND_FILES: usize = 24;
const ROUND_FILE_SIZE: usize = 8 << 20;

/// Writes a new round of incompressible files under `DIR/round-SEED`; returns their bytes.
fn new_round(dir: &Path, seed: u64) -> u64 {
    let round = dir.join(format!("round-{seed}"));
    std::fs::create_dir_all(&round).unwrap();
    for i in 0..ROUND_FILES {
        std::fs::write(round.join(format!("f{i}")), ferry_testcluster::noise(ROUND_FILE_SIZE, seed * 1000 + i as u64)).unwrap();
    }
    (ROUND_FILES * ROUND_FILE_SIZE) as u64
}

/// Chunks the S3 server holds, in packs with an index, for the repository `s3://ferry/volumes`.
fn stored_chunks(server: &S3Server) -> usize {
    indexed_chunks(&server.file_of("ferry", "volumes")).len()
}

/// The variables that reach the S3 server, as a user sets them.
fn s3_env(server: &S3Server) -> Vec<(&'static str, String)> {
    let endpoint = server.settings().endpoint.unwrap();
    vec![("AWS_ENDPOINT_URL", endpoint), ("AWS_ACCESS_KEY_ID", s3::ACCESS_KEY.into()), ("AWS_SECRET_ACCESS_KEY", s3::SECRET_KEY.into())]
}

/// Starts `ferry volumes sync -n shop -o json` and returns it once its backup Job has stored
/// a few chunks of the new round: the pass is under way.
fn sync_under_way(moving: &Move, server: &S3Server, extra: &[&str]) -> std::process::Child {
    let before = stored_chunks(server);
    let args = [&["-n", "shop", "-o", "json"], extra].concat();
    let mut child = moving.command("sync", &args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    while stored_chunks(server) < before + 8 {
        if child.try_wait().unwrap().is_some() || Instant::now() > deadline {
            let _ = child.kill();
            let (code, stdout, stderr) = ended(child.wait_with_output().unwrap());
            panic!("the pass ended (exit code {code}) or stalled before it stored 8 chunks:\n{stderr}\n{stdout}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child
}

/// A sync that must succeed after an interrupted one: it sends only the chunks the store
/// lacks (never one it holds), less than the round's bytes, and the round arrives whole.
fn resumed_pass(moving: &Move, server: &S3Server, setup: (&Path, &Path), round: (u64, u64), said: &mut Vec<String>) -> Value {
    let stored_before = stored_chunks(server);
    let (code, stdout, stderr) = moving.volumes("sync", &["-n", "shop", "-o", "json"]);
    said.extend([stdout.clone(), stderr.clone()]);
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let pass = claim(&report, "shop/data");
    let (new_chunks, sent) = (pass["new_chunks"].as_u64().unwrap(), pass["sent_bytes"].as_u64().unwrap());
    assert!(stored_before as u64 + new_chunks <= stored_chunks(server) as u64, "a chunk already stored was sent again: {pass}");
    assert!(sent < round.1, "the pass sent {sent} bytes, as much as the whole round: {pass}");
    let (data, target_data) = setup;
    let last = format!("round-{}/f{}", round.0, ROUND_FILES - 1);
    assert!(std::fs::read(target_data.join(&last)).unwrap() == std::fs::read(data.join(&last)).unwrap(), "{last} differs on the target");
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volumes_through_s3_survive_faults_and_resume() {
    let work = tempfile::tempdir().unwrap();
    let Setup { source, target, data, target_data, .. } = setup(work.path()).await;
    let mut server = S3Server::start();
    let mut moving = Move { source, target, via: "s3://ferry/volumes".into(), env: s3_env(&server) };
    let mut said = Vec::new();
    let dirs = (data.as_path(), target_data.as_path());

    // ferry killed mid-pass: its Job's objects hold no credential; the re-run removes the Job
    // it left and sends only what is not stored yet.
    let round = new_round(&data, 1);
    let mut ferry = sync_under_way(&moving, &server, &[]);
    let objects = kubectl(&moving.source, &["get", "jobs,pods", "-A", "-l", "ferry.io/volumes-run", "-o", "json"]);
    assert!(objects.contains("ferry-backup-") && objects.contains("secretKeyRef"), "{objects}");
    for credential in [s3::ACCESS_KEY, s3::SECRET_KEY] {
        assert!(!objects.contains(credential), "a mover's objects hold `{credential}`");
    }
    ferry.kill().unwrap();
    let (_, stdout, stderr) = ended(ferry.wait_with_output().unwrap());
    said.extend([stdout, stderr]);
    let resumed = resumed_pass(&moving, &server, dirs, (1, round), &mut said);
    let interrupted = claim(&resumed, "shop/data")["interrupted_jobs"].to_string();
    assert!(interrupted.contains("ferry-backup-"), "the killed run's Job is named as removed: {resumed}");
    eventually("every mover Job and Secret deleted", || {
        let secrets = kubectl(&moving.source, &["get", "secrets", "-A", "-l", "ferry.io/volumes-run", "-o", "name"]);
        jobs_left(&moving.source).is_empty() && jobs_left(&moving.target).is_empty() && secrets.is_empty()
    });

    // A mover Pod deleted mid-pass: the failure names the Job, the claim and how to resume.
    let round = new_round(&data, 2);
    let ferry = sync_under_way(&moving, &server, &[]);
    kubectl(&moving.source, &["-n", "shop", "delete", "pods", "-l", "ferry.io/volumes-run", "--wait=false"]);
    let (code, stdout, stderr) = ended(ferry.wait_with_output().unwrap());
    said.extend([stdout, stderr.clone()]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("the mover Job `ferry-backup-") && stderr.contains("for the claim `shop/data` on the source failed"), "{stderr}");
    assert!(stderr.contains("hint: fix the cause and run the same `ferry volumes sync` again"), "{stderr}");
    resumed_pass(&moving, &server, dirs, (2, round), &mut said);

    // The S3 server stopped mid-pass for longer than --store-retry: the mover gives up,
    // naming the repository; with the server back (on another port), the re-run completes.
    let round = new_round(&data, 3);
    let ferry = sync_under_way(&moving, &server, &["--store-retry", "2"]);
    server.kill();
    let (code, stdout, stderr) = ended(ferry.wait_with_output().unwrap());
    said.extend([stdout, stderr.clone()]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("the mover Job `ferry-backup-") && stderr.contains("in the repository `s3://ferry/volumes/`"), "{stderr}");
    let restarted = server.restart();
    let _stopped = std::mem::replace(&mut server, restarted); // holds the data directory both serve
    moving.env = s3_env(&server);
    resumed_pass(&moving, &server, dirs, (3, round), &mut said);

    // The S3 server down for a few seconds mid-pass, then back on its port: the movers wait
    // for it (--store-retry, 300 s by default) and the pass completes without a re-run.
    new_round(&data, 4);
    let ferry = sync_under_way(&moving, &server, &[]);
    server.kill();
    std::thread::sleep(Duration::from_secs(3));
    let restarted = server.restart_on_same_port();
    let _down_once = std::mem::replace(&mut server, restarted);
    let (code, stdout, stderr) = ended(ferry.wait_with_output().unwrap());
    said.extend([stdout, stderr.clone()]);
    assert_eq!(code, 0, "the pass waited for its store: {stderr}");
    let last = format!("round-4/f{}", ROUND_FILES - 1);
    assert!(std::fs::read(target_data.join(&last)).unwrap() == std::fs::read(data.join(&last)).unwrap(), "{last} differs on the target");

    // The cutover through S3: evidence equal on both claims.
    std::fs::write(data.join("fragile"), "a file of one chunk, damaged below\n").unwrap();
    let evidence_file = work.path().join("evidence.json");
    let (code, stdout, stderr) = moving.volumes("cutover", &["-n", "shop", "-o", "json", "--evidence", evidence_file.to_str().unwrap()]);
    said.extend([stdout.clone(), stderr.clone()]);
    assert_eq!(code, 0, "{stderr}");
    let evidence: Value = serde_json::from_str(&std::fs::read_to_string(&evidence_file).unwrap()).unwrap();
    for name in ["shop/data", "shop/idle"] {
        assert_eq!(claim(&evidence, name)["equal"].as_bool(), Some(true), "{evidence}");
    }
    assert_eq!(claim(&evidence, "shop/data")["source"]["files"].as_u64(), Some(51 + 4 * ROUND_FILES as u64 + 1));

    // A damaged chunk is found when the target needs it again.
    let id = sha256_of(&data.join("fragile"));
    let chunk = indexed_chunks(&server.file_of("ferry", "volumes")).into_iter().find(|c| c.id == id).expect("the file's chunk is indexed");
    let mut pack = std::fs::read(&chunk.pack).unwrap();
    pack[chunk.offset as usize..(chunk.offset + chunk.length) as usize].fill(b'!');
    std::fs::write(&chunk.pack, pack).unwrap();
    std::fs::remove_file(target_data.join("fragile")).unwrap();
    let (code, stdout, stderr) = moving.volumes("sync", &["-n", "shop"]);
    said.extend([stdout, stderr.clone()]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("the mover Job `ferry-restore-") && stderr.contains("is damaged") && stderr.contains("`fragile`"), "{stderr}");

    for (text, credential) in said.iter().flat_map(|text| [s3::ACCESS_KEY, s3::SECRET_KEY].map(|c| (text, c))) {
        assert!(!text.contains(credential), "ferry printed `{credential}`: {text}");
    }
}
