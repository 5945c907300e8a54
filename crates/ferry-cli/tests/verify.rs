//! `ferry verify` after a real `ferry migrate` between two clusters with a node each: an
//! application (a Deployment behind an HTTP readiness probe and its Service, ConfigMaps, a
//! Secret, a claim bound to a local volume, a custom resource) is at parity with only
//! explained differences and ready; then differences made on the target (an object deleted, a
//! field changed, an object applied untransformed, a Secret value changed) and objects that
//! never become ready (a crashing Deployment, a Service without endpoints, an unbound claim)
//! are each reported precisely, with the documented exit codes, and Secret values never appear.

use std::path::Path;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use ferry_testcluster::{Options, TestCluster, WIDGET_CRD};
use serde_json::{Value, json};

/// The Secret's value, as written and as the API stores it (base64).
const SECRET: &str = "s3cr3t-hunter-2";
const SECRET_BASE64: &str = "czNjcjN0LWh1bnRlci0y";

/// `ferry ARGS`; returns (exit code, stdout, stderr).
fn ferry(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("ferry").unwrap().args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The application in namespace `shop`, serving on loopback port `port`.
fn application(port: u16) -> String {
    format!(
        r#"
apiVersion: v1
kind: ConfigMap
metadata: {{name: web-config}}
data: {{greeting: hello}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: web-extra}}
data: {{mode: fast}}
---
apiVersion: v1
kind: Secret
metadata: {{name: web-secret}}
stringData: {{password: {SECRET}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: data}}
spec:
  storageClassName: local
  accessModes: [ReadWriteOnce]
  resources: {{requests: {{storage: 1Gi}}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      hostNetwork: true
      containers:
      - name: httpd
        image: ferry.local/busybox:1
        imagePullPolicy: Never
        env:
        - {{name: PORT, value: "{port}"}}
        - name: GREETING
          valueFrom: {{configMapKeyRef: {{name: web-config, key: greeting}}}}
        - name: PASSWORD
          valueFrom: {{secretKeyRef: {{name: web-secret, key: password}}}}
        command: ["sh", "-c", "mkdir -p /www && echo $GREETING > /www/index.html && exec httpd -f -p 127.0.0.1:$PORT -h /www"]
        ports: [{{name: http, containerPort: {port}, hostPort: {port}}}]
        readinessProbe:
          httpGet: {{host: 127.0.0.1, port: http, path: /index.html}}
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: {{name: web, labels: {{app: web}}}}
spec:
  type: NodePort
  selector: {{app: web}}
  # One node port chosen (kept: the target must have it), one allocated by each cluster (not
  # compared): which is which only the managed fields and the last-applied record tell.
  ports: [{{name: http, port: 80, targetPort: http, protocol: TCP, nodePort: 30080}}, {{name: alt, port: 81, targetPort: http, protocol: TCP}}]
---
apiVersion: example.com/v1
kind: Widget
metadata: {{name: blue}}
spec: {{size: 3, color: blue}}
"#
    )
}

/// Objects that never become ready.
const NEVER_READY: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: stuck}
spec:
  replicas: 1
  selector: {matchLabels: {app: stuck}}
  template:
    metadata: {labels: {app: stuck}}
    spec:
      hostNetwork: true
      containers: [{name: c, image: ferry.local/busybox:1, imagePullPolicy: Never, command: [sh, -c, "exit 1"]}]
---
apiVersion: v1
kind: Service
metadata: {name: orphan}
spec:
  selector: {app: nobody}
  ports: [{port: 80, protocol: TCP}]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: unbound}
spec:
  storageClassName: local
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 5Gi}}
"#;

/// The target's copy serves on another port (both nodes share the host's loopback), and
/// ConfigMaps are labelled: differences the transformation explains.
fn rules(port: u16) -> String {
    format!(
        r#"
apiVersion: ferry.dev/v1alpha1
kind: TransformRules
labels:
- match: {{kinds: [core/ConfigMap]}}
  add: {{migrated-by: ferry}}
patches:
- name: target-port
  match: {{kinds: [apps/Deployment], name: ^web$}}
  jsonPatch:
  - {{op: replace, path: /spec/template/spec/containers/0/env/0/value, value: "{port}"}}
  - {{op: replace, path: /spec/template/spec/containers/0/ports/0/containerPort, value: {port}}}
  - {{op: replace, path: /spec/template/spec/containers/0/ports/0/hostPort, value: {port}}}
"#
    )
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Two clusters and the arguments that name them.
struct Clusters {
    source: TestCluster,
    target: TestCluster,
    work: tempfile::TempDir,
}

impl Clusters {
    fn path(&self, name: &str) -> String {
        self.work.path().join(name).to_str().unwrap().to_owned()
    }

    /// The source cluster and what of it is migrated: the namespace, without the volumes (each
    /// cluster has its own local volume of that name).
    fn source(&self) -> Vec<String> {
        let kubeconfig = self.source.kubeconfig().to_str().unwrap().to_owned();
        ["--kubeconfig", &kubeconfig, "--context", "admin", "--exclude", "persistentvolumes"].map(str::to_owned).to_vec()
    }

    /// The target cluster, the namespace and the rules.
    fn target(&self) -> Vec<String> {
        let kubeconfig = self.target.kubeconfig().to_str().unwrap().to_owned();
        ["--to-kubeconfig", &kubeconfig, "--to-context", "admin", "-n", "shop", "--rules", &self.path("ferry.yaml")].map(str::to_owned).to_vec()
    }

    /// `ferry migrate`, keeping the archive as `RUN.ferry` and the journal as `RUN.jsonl`.
    fn migrate(&self, run: &str) {
        let mut args: Vec<String> = vec!["migrate".into()];
        args.extend(self.source());
        args.extend(self.target());
        args.extend(["--journal".into(), self.path(&format!("{run}.jsonl")), "--archive-to".into(), self.path(&format!("{run}.ferry"))]);
        let (code, stdout, stderr) = ferry(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(code, 0, "{stdout}{stderr}");
    }

    /// `ferry verify` of the source cluster against the target, plus `extra`.
    fn verify(&self, extra: &[&str]) -> (i32, String, String) {
        self.verify_from(self.source(), extra)
    }

    /// `ferry verify` of `source` against the target, plus `extra`; Secret values are never printed.
    fn verify_from(&self, source: Vec<String>, extra: &[&str]) -> (i32, String, String) {
        let mut args: Vec<String> = vec!["verify".into()];
        args.extend(source);
        args.extend(self.target());
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        let (code, stdout, stderr) = ferry(&args.iter().map(String::as_str).collect::<Vec<_>>());
        for text in [&stdout, &stderr] {
            assert!(!text.contains(SECRET) && !text.contains(SECRET_BASE64), "a Secret value was printed:\n{text}");
        }
        (code, stdout, stderr)
    }

    fn verify_json(&self, extra: &[&str]) -> (i32, Value) {
        let mut args = vec!["-o", "json"];
        args.extend(extra);
        let (code, stdout, stderr) = self.verify(&args);
        (code, serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}{stderr}")))
    }
}

/// `Kind/name: detail` of each readiness entry in `state`.
fn readiness(report: &Value, state: &str) -> Vec<String> {
    let entries = report["readiness"].as_array().unwrap().iter().filter(|r| r["state"] == state);
    entries.map(|r| format!("{}/{}: {}", r["kind"].as_str().unwrap(), r["name"].as_str().unwrap(), r["detail"].as_str().unwrap())).collect()
}

async fn clusters() -> Clusters {
    let with_node = || TestCluster::start(Options { nodes: 1, ..Default::default() });
    let (source, target) = tokio::join!(with_node(), with_node());
    let (source, target) = (source.unwrap(), target.unwrap());
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("ferry.yaml"), rules(ferry_testcluster::free_port().unwrap())).unwrap();
    source.apply_crd("widgets.example.com", WIDGET_CRD).unwrap();
    source.kubectl(&["create", "namespace", "shop"]).unwrap();
    source.create_volume("data-1", "1Gi").unwrap();
    target.create_volume("data-1", "1Gi").unwrap();
    source.apply(Some("shop"), &application(ferry_testcluster::free_port().unwrap())).unwrap();
    if let Err(e) = source.kubectl(&["rollout", "status", "deployment/web", "-n", "shop", "--timeout=180s"]) {
        panic!("{e}\n{}", pods(&source));
    }
    Clusters { source, target, work }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_finds_parity_then_each_difference_and_each_object_not_ready() {
    let clusters = clusters().await;
    clusters.migrate("first");

    // Parity after the migration: what differs from the source is what the rules and the target's server did.
    let (code, report) = clusters.verify_json(&["--wait", "120s"]);
    assert_eq!((code, &report["verdict"]), (0, &json!("ready")), "{report:#}\n{}", pods(&clusters.target));
    assert_eq!((&report["differences"], &report["problems"]), (&json!([]), &json!([])), "{report:#}");
    assert_eq!(report["compared"], report["atParity"]);
    assert!(report["compared"].as_u64().unwrap() >= 9, "namespace, CRD, two ConfigMaps, Secret, claim, Deployment, Service, Widget: {report:#}");
    assert_eq!(report["transformed"], 3, "two labelled ConfigMaps and the Deployment's port: {report:#}");
    assert!(report["leftOut"].as_u64().unwrap() >= 3, "ReplicaSets, Pods, token Secrets...: {report:#}");
    let mut ready = readiness(&report, "ready");
    ready.sort();
    assert_eq!(ready, ["Deployment/web: 1/1 replicas ready, 1/1 updated", "PersistentVolumeClaim/data: claim Bound", "Service/web: 1 ready endpoints"]);
    let (code, table, _) = clusters.verify(&[]);
    assert_eq!(code, 0, "{table}");
    assert!(table.contains("verdict: ready for cut-over"), "{table}");
    // The saved report is the verify step of the migration record.
    let ready = write(clusters.work.path(), "ready.json", &report.to_string());
    let (code, record, stderr) = ferry(&["report", &ready, "-o", "json"]);
    let record: Value = serde_json::from_str(&record).unwrap();
    assert_eq!((code, &record["passed"], &record["entries"][0]["status"]), (0, &json!(true), &json!("passed")), "{record:#}{stderr}");
    assert!(record["entries"][0]["summary"].as_str().unwrap().starts_with("ready: parity "), "{record:#}");
    // The same from the archive the migration kept.
    let (code, table, stderr) = clusters.verify_from(vec!["--from".into(), clusters.path("first.ferry")], &[]);
    assert_eq!(code, 0, "{table}{stderr}");
    // Only what `-l` selects of the archive is compared, as from a cluster.
    let (code, selected, stderr) = clusters.verify_from(vec!["--from".into(), clusters.path("first.ferry")], &["-l", "app=web", "-o", "json"]);
    let selected: Value = serde_json::from_str(&selected).unwrap_or_else(|e| panic!("{e}: {selected}{stderr}"));
    assert_eq!((code, &selected["compared"], &selected["atParity"]), (0, &json!(1), &json!(1)), "the Service alone: {selected:#}");
    assert_eq!(readiness(&selected, "ready"), ["Service/web: 1 ready endpoints"], "{selected:#}");
    assert_eq!(report["extra"], json!([]), "Kubernetes' own objects (kube-root-ca.crt, the default ServiceAccount, tokens) are not extra: {report:#}");

    // An object on the target that the source never sent is reported, and does not block.
    let target = &clusters.target;
    target.kubectl(&["create", "configmap", "stray", "-n", "shop", "--from-literal=left=over"]).unwrap();
    let (code, report) = clusters.verify_json(&[]);
    let stray = json!({"apiVersion": "v1", "kind": "ConfigMap", "namespace": "shop", "name": "stray"});
    assert_eq!((code, &report["extra"]), (0, &json!([stray])), "{report:#}");
    let (_, table, _) = clusters.verify(&[]);
    assert!(table.contains("extra on the target (not sent by the source; not blocking): 1\n  extra            v1 ConfigMap shop/stray"), "{table}");
    target.kubectl(&["delete", "configmap", "stray", "-n", "shop"]).unwrap();

    // Evidence another step recorded counts: a failed check stops the cut-over.
    let evidence = r#"{"apiVersion": "ferry.dev/v1alpha1", "kind": "Evidence", "step": "volumes",
        "checks": [{"object": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": "shop", "name": "data"}, "passed": false, "detail": "checksum differs"}]}"#;
    let evidence = write(clusters.work.path(), "volumes.json", evidence);
    let (code, table, _) = clusters.verify(&["--evidence", &evidence]);
    assert_eq!(code, 3, "{table}");
    assert!(table.contains("evidence volumes: FAILED v1 PersistentVolumeClaim shop/data: checksum differs"), "{table}");

    // Differences made on the target, each reported at its field.
    target.kubectl(&["delete", "widget", "blue", "-n", "shop"]).unwrap();
    target.kubectl(&["patch", "configmap", "web-config", "-n", "shop", "--type", "merge", "-p", r#"{"data":{"greeting":"changed"}}"#]).unwrap();
    let untransformed = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-extra, namespace: shop}\ndata: {mode: fast}\n";
    target.kubectl(&["replace", "-f", &write(clusters.work.path(), "untransformed.yaml", untransformed)]).unwrap();
    target.kubectl(&["patch", "secret", "web-secret", "-n", "shop", "--type", "merge", "-p", r#"{"data":{"password":"b3RoZXItdmFsdWU="}}"#]).unwrap();
    let (code, report) = clusters.verify_json(&[]);
    assert_eq!((code, &report["verdict"]), (3, &json!("differences")), "{report:#}");
    let differences = write(clusters.work.path(), "differences.json", &report.to_string());
    let (code, record, _) = ferry(&["report", &ready, &differences, &evidence, "-o", "markdown"]);
    assert_eq!(code, 3, "{record}");
    assert!(record.contains("**2 of 3 steps FAILED: verify ("), "{record}");
    assert!(record.contains("| Widget shop/blue | difference | {\"difference\":\"missing\"} |"), "{record}");
    assert!(!record.contains("b3RoZXItdmFsdWU=") && !record.contains("other-value"), "Secret values stay masked in the record: {record}");
    assert!(
        record.contains("| Secret shop/web-secret | difference |") && record.contains("&lt;redacted: 16 bytes"),
        "the Secret's row is there, masked: {record}"
    );
    let differences: Vec<String> = report["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            format!(
                "{} {}/{} {} {} {}",
                d["difference"].as_str().unwrap(),
                d["kind"].as_str().unwrap(),
                d["name"].as_str().unwrap(),
                d["path"],
                d["expected"],
                d["actual"]
            )
        })
        .collect();
    assert_eq!(differences.len(), 4, "{differences:#?}");
    assert!(differences.contains(&"missing Widget/blue null null null".to_owned()), "{differences:#?}");
    assert!(differences.contains(&r#"changed ConfigMap/web-config "/data/greeting" "hello" "changed""#.to_owned()), "{differences:#?}");
    assert!(differences.contains(&r#"not-transformed ConfigMap/web-extra "/metadata/labels/migrated-by" "ferry" null"#.to_owned()), "{differences:#?}");
    let secret = differences.iter().find(|d| d.starts_with("changed Secret/web-secret \"/data/password\"")).expect("the Secret's change");
    assert!(secret.contains("<redacted: 20 bytes") && secret.contains("<redacted: 16 bytes"), "masked, with lengths: {secret}");
    let (code, table, _) = clusters.verify(&[]);
    assert_eq!(code, 3, "{table}");
    assert!(table.contains("missing          example.com/v1 Widget shop/blue: not on the target"), "{table}");
    assert!(table.contains("changed          v1 ConfigMap shop/web-config /data/greeting: expected \"hello\", target has \"changed\""), "{table}");
    assert!(table.contains("not transformed  v1 ConfigMap shop/web-extra /metadata/labels/migrated-by: expected \"ferry\""), "{table}");

    // A second migration repairs the target and brings objects that never become ready: at parity, not ready.
    clusters.source.apply(Some("shop"), NEVER_READY).unwrap();
    clusters.migrate("second");
    wait_for("the crashing Pod on the target", || {
        target
            .kubectl(&["get", "pods", "-n", "shop", "-l", "app=stuck", "-o", "jsonpath={.items[0].status.containerStatuses[0].restartCount}"])
            .is_ok_and(|n| !n.is_empty())
    });
    let started = Instant::now();
    let (code, report) = clusters.verify_json(&["--wait", "4s"]);
    assert!(started.elapsed() >= Duration::from_secs(3), "--wait polls until the time is up");
    assert_eq!((code, &report["verdict"]), (6, &json!("not-ready")), "{report:#}");
    assert_eq!((&report["differences"], &report["problems"]), (&json!([]), &json!([])), "the second migration repaired the target: {report:#}");
    let mut not_ready = readiness(&report, "not-ready");
    not_ready.sort();
    assert_eq!(
        not_ready,
        ["Deployment/stuck: 0/1 replicas ready, 1/1 updated", "PersistentVolumeClaim/unbound: claim Pending", "Service/orphan: 0 ready endpoints"]
    );
    assert_eq!(readiness(&report, "ready").len(), 3, "{report:#}");
    let (code, table, _) = clusters.verify(&[]);
    assert_eq!(code, 6, "{table}");
    assert!(table.contains("not ready        apps/v1 Deployment shop/stuck: 0/1 replicas ready"), "{table}");
    assert!(table.contains("verdict: NOT ready for cut-over: at parity, 3 objects not ready"), "{table}");
}

/// What the Pods of `shop` went through, for a failure message.
fn pods(cluster: &TestCluster) -> String {
    cluster.kubectl(&["describe", "pods", "-n", "shop"]).unwrap_or_else(|e| e.to_string())
}

/// Writes `text` to `name` in `dir`; returns its path.
fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}
