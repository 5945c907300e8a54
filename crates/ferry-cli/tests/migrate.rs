//! `ferry export`, `transform`, `apply` and `migrate` between two real
//! kube-apiservers v1.20.2: the target ends up with what the source had, as
//! transformed, nothing missing and nothing extra; interruptions (ferry killed,
//! the target's API server killed) are finished with `--resume`; a corrupt
//! archive is refused; archives go through a real S3 server.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use ferry_testcluster::{Options, TestCluster, WIDGET_CRD, corpora, s3};
use serde_json::Value;

/// `ferry ARGS` with the cluster's kubeconfig; returns (exit code, stdout, stderr).
fn ferry(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("ferry").unwrap().args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn kubeconfig(cluster: &TestCluster) -> String {
    cluster.kubeconfig().to_str().unwrap().to_owned()
}

/// Objects of our own beside the corpus: custom resources, a CronJob (batch/v1beta1 on 1.20),
/// an Ingress written as networking.k8s.io/v1beta1, RBAC bound to a ServiceAccount of the
/// namespace from a cluster-scoped binding, a ConfigMap naming a Service by `svc.ns`, and a
/// Service with Azure annotations and a node port the user chose.
const EXTRAS: &str = r#"
apiVersion: example.com/v1
kind: Widget
metadata: {name: blue}
spec: {size: 3, color: blue}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: red}
spec: {size: 5, color: red}
---
apiVersion: batch/v1beta1
kind: CronJob
metadata: {name: nightly-report}
spec:
  schedule: "0 1 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: report, image: ghcr.io/azure-samples/aks-store-demo/report:1.0}]
---
apiVersion: networking.k8s.io/v1beta1
kind: Ingress
metadata: {name: store-front}
spec:
  rules:
  - host: shop.example.com
    http:
      paths:
      - path: /
        backend: {serviceName: store-front, servicePort: 80}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: reporter}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: read-config}
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get, list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reporter-reads-config}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: read-config}
subjects: [{kind: ServiceAccount, name: reporter, namespace: shop}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: report-settings}
data:
  ORDERS: http://order-service.shop:3000/orders
  PRODUCTS: product-service.shop.svc.cluster.local:3002
---
apiVersion: v1
kind: Service
metadata:
  name: admin-fixed
  annotations:
    service.beta.kubernetes.io/azure-load-balancer-internal: "true"
    example.com/owner: team-shop
spec:
  type: NodePort
  selector: {app: store-admin}
  ports: [{port: 80, targetPort: 8081, nodePort: 30480, protocol: TCP}]
"#;

const CLUSTER_SCOPED: &str = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: widget-reader}
rules: [{apiGroups: [example.com], resources: [widgets], verbs: [get, list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: reporter-reads-widgets}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: widget-reader}
subjects: [{kind: ServiceAccount, name: reporter, namespace: shop}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: unrelated}
rules: [{apiGroups: [""], resources: [nodes], verbs: [get]}]
"#;

const RULES: &str = r#"
apiVersion: ferry.dev/v1alpha1
kind: TransformRules
images:
- from: ghcr.io/azure-samples/
  to: harbor.example.com/shop/
namespaces:
  shop: store
annotations:
- remove: ["service.beta.kubernetes.io/azure-*"]
"#;

/// The source: the aks-store all-in-one application (a corpus) plus [`EXTRAS`], in `shop`, with controllers running.
async fn source_cluster() -> TestCluster {
    let cluster = TestCluster::start(Options { controllers: true, ..Default::default() }).await.unwrap();
    cluster.apply_crd("widgets.example.com", WIDGET_CRD).unwrap();
    cluster.kubectl(&["create", "namespace", "shop"]).unwrap();
    let all_in_one = corpora().join("aks-store-demo/aks-store-all-in-one.yaml");
    cluster.kubectl(&["apply", "-n", "shop", "-f", all_in_one.to_str().unwrap()]).unwrap();
    cluster.apply(Some("shop"), EXTRAS).unwrap();
    cluster.apply(None, CLUSTER_SCOPED).unwrap();
    // Let the controllers make what they make (ReplicaSets, Pods, token Secrets, Endpoints).
    wait_for(|| cluster.kubectl(&["get", "replicasets", "-n", "shop", "--no-headers"]).is_ok_and(|out| out.lines().count() >= 7));
    cluster
}

fn wait_for(mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Kinds compared between source and target.
const KINDS: &str =
    "configmaps,secrets,services,deployments,statefulsets,serviceaccounts,roles,rolebindings,ingresses.networking.k8s.io,cronjobs,widgets,replicasets,pods";

/// The objects of `namespace`, by `Kind/name`, with what the servers set themselves removed.
fn objects(cluster: &TestCluster, namespace: &str) -> BTreeMap<String, Value> {
    let text = cluster.kubectl(&["get", KINDS, "-n", namespace, "-o", "json", "--show-managed-fields"]).unwrap();
    let list: Value = serde_json::from_str(&text).unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            (format!("{}/{}", item["kind"].as_str().unwrap(), item["metadata"]["name"].as_str().unwrap()), ferry_transform::normalise_for_compare(item))
        })
        .collect()
}

/// What the controllers made on the source, which must not be migrated.
fn made_by_kubernetes(key: &str, object: &Value) -> bool {
    key.starts_with("ReplicaSet/")
        || key.starts_with("Pod/")
        || key == "ServiceAccount/default"
        || key == "ConfigMap/kube-root-ca.crt"
        || object["type"] == "kubernetes.io/service-account-token"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_transform_apply_moves_an_application_with_namespace_mapping() {
    let source = source_cluster().await;
    let target = TestCluster::start(Options::default()).await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let archive = work.path().join("shop.ferry");
    let rules = work.path().join("ferry.yaml");
    std::fs::write(&rules, RULES).unwrap();
    let (archive, rules) = (archive.to_str().unwrap(), rules.to_str().unwrap());
    let (src, dst) = (kubeconfig(&source), kubeconfig(&target));

    let (code, _, stderr) = ferry(&["export", "--kubeconfig", &src, "--context", "admin", "-n", "shop", "--to", archive]);
    assert_eq!(code, 0, "{stderr}");
    let generated: usize = stderr.split(" made by Kubernetes").next().and_then(|s| s.rsplit('(').next()).and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!(generated > 0, "the controllers' objects are counted and left out: {stderr}");
    let secret_value = source.kubectl(&["get", "secret", "rabbitmq-secrets", "-n", "shop", "-o", "jsonpath={.data.RABBITMQ_DEFAULT_PASS}"]).unwrap();
    assert!(!secret_value.is_empty());
    assert!(!stderr.contains(&secret_value), "no Secret value on the terminal");

    let (code, diff, stderr) = ferry(&["transform", "--from", archive, "--rules", rules, "--diff"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(diff.contains("harbor.example.com/shop/aks-store-demo/order-service:2.2.0"), "{diff}");
    assert!(diff.contains("order-service.store"), "DNS names follow the namespace map: {diff}");
    assert!(!diff.contains(&secret_value), "Secret values are masked in diffs");

    // A transformed archive keeps, for every object, the resource it was exported from.
    let transformed = work.path().join("store.ferry");
    let (code, _, stderr) = ferry(&["transform", "--from", archive, "--rules", rules, "--to", transformed.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let (manifest, entries) = ferry_archive::read(&ferry_archive::Destination::File(transformed), None).await.unwrap();
    assert!(manifest.objects.iter().all(|o| !o.resource.is_empty()), "{:?}", manifest.objects.iter().map(|o| &o.resource).collect::<Vec<_>>());
    assert!(entries.iter().filter_map(|e| e.id.namespace.as_deref()).all(|ns| ns == "store"), "the namespace map applies");

    let (code, plan, stderr) = ferry(&["apply", "--kubeconfig", &dst, "--context", "admin", "--from", archive, "--rules", rules, "--dry-run=client"]);
    assert_eq!(code, 0, "{stderr}");
    let position = |line: &str| plan.find(line).unwrap_or_else(|| panic!("`{line}` in the plan:\n{plan}"));
    assert!(position("custom resource definitions") < position("Widget store/blue"), "{plan}");
    assert!(position("Widget store/blue") < position("Deployment store/order-service"), "{plan}");
    assert!(position("Deployment store/order-service") < position("Ingress store/store-front"), "{plan}");

    let (code, stdout, stderr) = ferry(&["apply", "--kubeconfig", &dst, "--context", "admin", "--from", archive, "--rules", rules, "--dry-run"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("server dry run"), "{stdout}");
    assert!(target.kubectl(&["get", "namespace", "store"]).is_err(), "a dry run stores nothing");

    let journal = work.path().join("journal.jsonl");
    let journal = journal.to_str().unwrap();
    let (code, stdout, stderr) = ferry(&["apply", "--kubeconfig", &dst, "--context", "admin", "--from", archive, "--rules", rules, "--journal", journal]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("created"), "{stdout}");

    let expected: BTreeMap<String, Value> = objects(&source, "shop").into_iter().filter(|(k, v)| !made_by_kubernetes(k, v)).collect();
    let actual = objects(&target, "store");
    let missing: Vec<&String> = expected.keys().filter(|k| !actual.contains_key(*k)).collect();
    let extra: Vec<&String> = actual.keys().filter(|k| !expected.contains_key(*k)).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing on the target: {missing:?}; extra: {extra:?}");
    assert!(expected.len() >= 25, "the comparison covers the application: {:?}", expected.keys());
    // Content: each source object, transformed with the same rules, is what the target holds.
    let options = ferry_transform::Options { target_version: "1.20".parse().unwrap(), rules: ferry_transform::Rules::parse(RULES, "ferry.yaml").unwrap() };
    for (key, source_object) in &expected {
        let transformed = ferry_transform::transform(source_object.clone(), &options).object.unwrap_or_else(|| panic!("{key} is migrated"));
        let want = ferry_transform::normalise_for_compare(&transformed);
        assert_eq!(want, actual[key], "{key} differs on the target:\n{}", ferry_transform::diff(&want, &actual[key]));
    }

    let image = target.kubectl(&["get", "deployment", "order-service", "-n", "store", "-o", "jsonpath={.spec.template.spec.containers[0].image}"]).unwrap();
    assert_eq!(image, "harbor.example.com/shop/aks-store-demo/order-service:2.2.0");
    let orders = target.kubectl(&["get", "configmap", "report-settings", "-n", "store", "-o", "jsonpath={.data.ORDERS}"]).unwrap();
    assert_eq!(orders, "http://order-service.store:3000/orders");
    let annotations = target.kubectl(&["get", "service", "admin-fixed", "-n", "store", "-o", "jsonpath={.metadata.annotations}"]).unwrap();
    assert!(!annotations.contains("azure") && annotations.contains("team-shop"), "{annotations}");
    let node_port = target.kubectl(&["get", "service", "admin-fixed", "-n", "store", "-o", "jsonpath={.spec.ports[0].nodePort}"]).unwrap();
    assert_eq!(node_port, "30480", "a node port the user chose is kept");
    let subject = target.kubectl(&["get", "clusterrolebinding", "reporter-reads-widgets", "-o", "jsonpath={.subjects[0].namespace}"]).unwrap();
    assert_eq!(subject, "store", "cluster-scoped bindings of the namespace's ServiceAccounts come along, mapped");
    assert!(target.kubectl(&["get", "clusterrole", "widget-reader"]).is_ok());
    assert!(target.kubectl(&["get", "clusterrole", "unrelated"]).is_err(), "cluster-scoped objects the namespace does not need stay behind");
    let password = target.kubectl(&["get", "secret", "rabbitmq-secrets", "-n", "store", "-o", "jsonpath={.data.RABBITMQ_DEFAULT_PASS}"]).unwrap();
    assert_eq!(password, secret_value, "Secrets arrive intact");

    // Applying again changes nothing.
    let (code, stdout, stderr) =
        ferry(&["apply", "--kubeconfig", &dst, "--context", "admin", "--from", archive, "--rules", rules, "--journal", journal, "-o", "json"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let summary: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["counts"]["unchanged"].as_u64(), Some(summary["objects"].as_array().unwrap().len() as u64), "{stdout}");
}

/// `ferry export` to `archive`: the member paths, in order, and what it said (the archive's name left out).
async fn exported(src: &str, archive: &Path, extra: &[&str]) -> (Vec<String>, String) {
    let archive_name = archive.to_str().unwrap();
    let mut args = vec!["export", "--kubeconfig", src, "--context", "admin", "--to", archive_name];
    args.extend_from_slice(extra);
    let (code, _, stderr) = ferry(&args);
    assert_eq!(code, 0, "{stderr}");
    let (manifest, _) = ferry_archive::read(&ferry_archive::Destination::File(archive.to_owned()), None).await.unwrap();
    (manifest.objects.into_iter().map(|entry| entry.path).collect(), stderr.replace(archive_name, "ARCHIVE"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_holds_the_same_objects_in_the_same_order_every_time() {
    let source = source_cluster().await;
    let src = kubeconfig(&source);
    let work = tempfile::tempdir().unwrap();
    let (first, second) = (work.path().join("first.ferry"), work.path().join("second.ferry"));

    // The endpoints controller's Endpoints must exist for leaving them out to mean anything.
    wait_for(|| source.kubectl(&["get", "endpoints", "-n", "shop", "--no-headers"]).is_ok_and(|out| !out.trim().is_empty()));
    let (shop, counts) = exported(&src, &first, &["-n", "shop"]).await;
    assert_eq!(
        exported(&src, &second, &["-n", "shop"]).await,
        (shop.clone(), counts),
        "read while it is written, the export does not depend on which list comes in first"
    );
    // Endpoints are listed before Services: those the endpoints controller made are still left out.
    assert!(!shop.iter().any(|path| path.starts_with("objects/core/Endpoints/")), "{shop:?}");
    // With -n, the cluster-scoped objects the namespace needs are decided once it has been read: last, ClusterRoles at the very end.
    let tail: Vec<&str> = shop.iter().rev().take(4).rev().map(String::as_str).collect();
    assert_eq!(
        tail,
        [
            "objects/core/Namespace/_cluster/shop.json",
            "objects/apiextensions.k8s.io/CustomResourceDefinition/_cluster/widgets.example.com.json",
            "objects/rbac.authorization.k8s.io/ClusterRoleBinding/_cluster/reporter-reads-widgets.json",
            "objects/rbac.authorization.k8s.io/ClusterRole/_cluster/widget-reader.json",
        ]
    );
    let (everything, counts) = exported(&src, &first, &[]).await;
    assert_eq!(exported(&src, &second, &[]).await, (everything.clone(), counts));
    assert!(everything.len() > shop.len() && everything.contains(&"objects/rbac.authorization.k8s.io/ClusterRole/_cluster/unrelated.json".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_in_one_step_through_s3_and_a_corrupt_archive_is_refused() {
    let source = source_cluster().await;
    let target = TestCluster::start(Options::default()).await.unwrap();
    let server = s3::S3Server::start();
    let settings = server.settings();
    let endpoint = settings.endpoint.clone().unwrap();
    let work = tempfile::tempdir().unwrap();
    let (src, dst) = (kubeconfig(&source), kubeconfig(&target));
    let s3_env = |command: &mut Command| {
        command
            .env("AWS_ENDPOINT_URL", &endpoint)
            .env("AWS_ACCESS_KEY_ID", s3::ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", s3::SECRET_KEY)
            .env("AWS_REGION", "us-east-1");
    };

    let mut migrate = Command::cargo_bin("ferry").unwrap();
    s3_env(&mut migrate);
    let out = migrate
        .args(["migrate", "--kubeconfig", &src, "--context", "admin", "--to-context", "admin", "--to-kubeconfig", &dst, "-n", "shop"])
        .args(["--archive-to", "s3://ferry/shop/", "--journal", work.path().join("j").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let on_target = objects(&target, "shop");
    assert!(on_target.contains_key("Widget/blue") && on_target.contains_key("StatefulSet/rabbitmq"), "{:?}", on_target.keys());

    // The archive kept on S3 applies to a third cluster, the endpoint given by flag this time.
    let third = TestCluster::start(Options::default()).await.unwrap();
    let mut apply = Command::cargo_bin("ferry").unwrap();
    s3_env(&mut apply);
    let out = apply
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .args(["apply", "--kubeconfig", &kubeconfig(&third), "--context", "admin", "--from", "s3://ferry/shop/", "--s3-endpoint", &endpoint])
        .args(["--journal", work.path().join("j3").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(objects(&third, "shop").keys().collect::<Vec<_>>(), on_target.keys().collect::<Vec<_>>());

    // One byte flipped in a copy of the archive: refused, nothing applied.
    let stored = std::fs::read(server.file_of("ferry", "shop/ferry-archive.tar.zst")).unwrap();
    let corrupt = with_a_byte_flipped(&stored);
    let corrupt_path = work.path().join("corrupt.ferry");
    std::fs::write(&corrupt_path, corrupt).unwrap();
    let fourth = TestCluster::start(Options::default()).await.unwrap();
    let (code, _, stderr) = ferry(&["apply", "--kubeconfig", &kubeconfig(&fourth), "--context", "admin", "--from", corrupt_path.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("corrupt.ferry"), "names the archive: {stderr}");
    assert!(fourth.kubectl(&["get", "namespace", "shop"]).is_err(), "nothing was applied from a corrupt archive");
}

/// A copy of a tar.zst archive with one byte from the middle on flipped where that changes
/// what the archive holds: a flip can land in a zstd block's padding bits and decode to the
/// very same tar (seen once in ~400 positions), which ferry rightly reads as intact.
fn with_a_byte_flipped(stored: &[u8]) -> Vec<u8> {
    let original = zstd::stream::decode_all(stored).unwrap();
    (stored.len() / 2..stored.len())
        .find_map(|at| {
            let mut copy = stored.to_vec();
            copy[at] ^= 0x40;
            (zstd::stream::decode_all(&copy[..]).ok().as_ref() != Some(&original)).then_some(copy)
        })
        .expect("a flipped byte that changes the archive")
}

/// Objects in the kill-point archive: enough that an apply takes long enough to be interrupted many times.
const KILL_POINT_OBJECTS: usize = 3000;

/// The kill-point archive's objects: ConfigMaps (every twentieth made through `generateName`, so
/// it carries one beside its name), Secrets with `data` and `stringData`, and ServiceAccounts,
/// all in namespace `load`.
fn kill_point_objects() -> Vec<Value> {
    (0..KILL_POINT_OBJECTS)
        .map(|i| match i % 10 {
            0 => serde_json::json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {"name": format!("s{i:05}"), "namespace": "load"},
                "data": {"n": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, i.to_string())}}),
            1 => serde_json::json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": format!("sa{i:05}"), "namespace": "load"}}),
            _ if i % 20 == 2 => serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": format!("gen-{i:05}-x7k2p"), "generateName": format!("gen-{i:05}-"), "namespace": "load"}, "data": {"n": i.to_string()}}),
            _ => serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("c{i:05}"), "namespace": "load", "labels": {"n": i.to_string()}},
                "data": {"n": i.to_string()}}),
        })
        .collect()
}

async fn write_archive(path: &Path, objects: &[Value]) {
    let destination = ferry_archive::Destination::File(path.to_owned());
    let mut writer = ferry_archive::Writer::create(&destination, ferry_archive::Header::default(), None).await.unwrap();
    for object in objects {
        let id = ferry_model::ObjectId::from_json(object).unwrap();
        let resource = format!("{}s", id.kind.to_lowercase());
        writer.add(&id, &resource, object).await.unwrap();
    }
    writer.finish().await.unwrap();
}

/// A small, seeded random number generator (xorshift64*): the seed is printed, so a failing
/// sequence of kill points can be replayed with `FERRY_KILL_SEED`.
struct Random(u64);

impl Random {
    fn from_env() -> Random {
        let seed = std::env::var("FERRY_KILL_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1);
        eprintln!("kill points: FERRY_KILL_SEED={seed}");
        Random(seed)
    }

    /// A number in `0..bound`.
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % bound.max(1)
    }
}

/// One apply of the kill-point suite: the archive, the journal and (for the second namespace) the rules.
struct KillRun<'a> {
    kubeconfig: &'a str,
    archive: &'a str,
    journal: &'a Path,
    rules: Option<&'a Path>,
}

impl KillRun<'_> {
    /// Starts `ferry apply` (with `--resume` once the journal exists) with its output piped.
    fn spawn(&self) -> std::process::Child {
        let journal = self.journal.to_str().unwrap();
        let mut args = vec!["apply", "--kubeconfig", self.kubeconfig, "--context", "admin", "--from", self.archive, "--journal", journal, "--concurrency", "4"];
        if let Some(rules) = self.rules {
            args.extend(["--rules", rules.to_str().unwrap()]);
        }
        if self.journal.exists() {
            args.push("--resume");
        }
        Process::new(assert_cmd::cargo::cargo_bin("ferry")).args(&args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
    }

    /// Complete `done` lines in the journal so far.
    fn recorded(&self) -> usize {
        std::fs::read_to_string(self.journal).map(|text| text.lines().filter(|line| line.starts_with("{\"done\"") && line.ends_with('}')).count()).unwrap_or(0)
    }

    /// Waits until the journal has `lines` records or the apply has ended; true if it is still running.
    fn wait_for_records(&self, child: &mut std::process::Child, lines: usize) -> bool {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if child.try_wait().unwrap().is_some() {
                return false;
            }
            if self.recorded() >= lines {
                return true;
            }
            assert!(Instant::now() < deadline, "the apply made no progress to {lines} records in 120 s");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Runs `--resume` to the end and expects success.
    fn finish(&self) {
        let out = self.spawn().wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }
}

/// Kinds the kill-point suite reads back.
const KILL_POINT_KINDS: &str = "configmaps,secrets,serviceaccounts";

/// The UID of every object of the kill-point kinds in `namespace`, by `Kind/name`.
fn uids(cluster: &TestCluster, namespace: &str) -> BTreeMap<String, String> {
    let columns = "custom-columns=K:.kind,N:.metadata.name,U:.metadata.uid";
    let text = cluster.kubectl(&["get", KILL_POINT_KINDS, "-n", namespace, "--no-headers", "--chunk-size=1000", "-o", columns]).unwrap();
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            Some((format!("{}/{}", fields.next()?, fields.next()?), fields.next()?.to_owned()))
        })
        .collect()
}

/// Objects are never made twice: whatever existed at the last look keeps its UID (it was not
/// deleted and created again), and nothing appears that the archive does not hold.
fn check_created_once(seen: &mut BTreeMap<String, String>, now: BTreeMap<String, String>, expected: &BTreeMap<String, Value>) {
    for (key, uid) in &now {
        assert!(expected.contains_key(key), "{key} is not in the archive (made twice under another name?)");
        if let Some(before) = seen.get(key) {
            assert_eq!(before, uid, "{key} was made again");
        }
    }
    *seen = now;
}

/// The archive's objects as they should be on the target, in the normal form, by `Kind/name`.
fn expected_objects(objects: &[Value], namespace: &str) -> BTreeMap<String, Value> {
    objects
        .iter()
        .map(|object| {
            let mut object = ferry_transform::normalise_for_compare(object);
            object["metadata"]["namespace"] = namespace.into();
            (format!("{}/{}", object["kind"].as_str().unwrap(), object["metadata"]["name"].as_str().unwrap()), object)
        })
        .collect()
}

/// The target holds exactly the archive's objects (normal form) and the journal names each one
/// once, and the namespace ferry created for them.
fn check_complete(cluster: &TestCluster, namespace: &str, expected: &BTreeMap<String, Value>, journal: &Path) {
    let text = cluster.kubectl(&["get", KILL_POINT_KINDS, "-n", namespace, "-o", "json", "--chunk-size=1000"]).unwrap();
    let list: Value = serde_json::from_str(&text).unwrap();
    let found: BTreeMap<String, Value> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            (format!("{}/{}", item["kind"].as_str().unwrap(), item["metadata"]["name"].as_str().unwrap()), ferry_transform::normalise_for_compare(item))
        })
        .collect();
    assert_eq!(found.len(), expected.len(), "the target holds as many objects as the archive");
    for (key, object) in expected {
        assert_eq!(found.get(key), Some(object), "{key} on the target");
    }
    let text = std::fs::read_to_string(journal).unwrap();
    let mut done = BTreeMap::new();
    for line in text.lines().filter_map(|line| serde_json::from_str::<Value>(line).ok()) {
        if let Some(object) = line["done"]["object"].as_str() {
            *done.entry(object.to_owned()).or_insert(0) += 1;
        }
    }
    assert!(done.values().all(|&n| n == 1), "no object recorded twice: {:?}", done.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>());
    assert!(done.remove(&format!("/Namespace//{namespace}")).is_some(), "the namespace ferry created is recorded");
    assert_eq!(done.len(), expected.len(), "every object recorded once");
    assert!(text.ends_with("\"complete\"\n"), "the journal ends complete: {}", text.lines().last().unwrap_or_default());
}

/// The kill-point suite: an apply of [`KILL_POINT_OBJECTS`] objects is SIGKILLed at random
/// points (`FERRY_KILL_POINTS`, 5 by default; the long form is 100) and resumed each time, and
/// separately the target's API server is killed and restarted under a running apply (a tenth as
/// often, at least once). Each time the target ends with exactly the archive's objects, in the
/// normal form; the journal names every object once; no object was ever made twice (UIDs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apply_killed_at_random_points_is_finished_by_resume_exactly_once() {
    let points: u64 = std::env::var("FERRY_KILL_POINTS").ok().and_then(|n| n.parse().ok()).unwrap_or(5);
    let mut random = Random::from_env();
    let work = tempfile::tempdir().unwrap();
    let objects = kill_point_objects();
    let archive = work.path().join("load.ferry");
    write_archive(&archive, &objects).await;
    let archive = archive.to_str().unwrap();
    let mut target = TestCluster::start(Options::default()).await.unwrap();
    let dst = kubeconfig(&target);

    // ferry SIGKILLed: a quarter of the points fall anywhere in the first 1.5 s of a run (reading,
    // discovery, listing), the others after a random number of further journal records.
    let journal = work.path().join("journal.jsonl");
    let run = KillRun { kubeconfig: &dst, archive, journal: &journal, rules: None };
    let expected = expected_objects(&objects, "load");
    let mut seen = BTreeMap::new();
    let complete = |journal: &Path| std::fs::read_to_string(journal).unwrap_or_default().ends_with("\"complete\"\n");
    let mut killed = 0;
    for point in 0..points {
        if complete(&journal) {
            break;
        }
        let mut child = run.spawn();
        let running = if random.below(4) == 0 {
            std::thread::sleep(Duration::from_millis(random.below(1500)));
            child.try_wait().unwrap().is_none()
        } else {
            let step = (KILL_POINT_OBJECTS - run.recorded().min(KILL_POINT_OBJECTS)) as u64 / (points - point + 1);
            run.wait_for_records(&mut child, run.recorded() + 1 + random.below(2 * step) as usize)
        };
        child.kill().unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(running || out.status.success(), "kill point {point}: ferry failed on its own: {}", String::from_utf8_lossy(&out.stderr));
        killed += u64::from(running);
        check_created_once(&mut seen, uids(&target, "load"), &expected);
    }
    if journal.exists() {
        let (code, _, stderr) = ferry(&["apply", "--kubeconfig", &dst, "--context", "admin", "--from", archive, "--journal", journal.to_str().unwrap()]);
        assert!(code == 0 || (code == 1 && stderr.contains("interrupted") && stderr.contains("--resume")), "without --resume: {stderr}");
    }
    eprintln!("kill points: ferry killed {killed} times of {points}");
    assert!(killed * 5 >= points * 4, "most kill points hit a running apply ({killed} of {points})");
    if !complete(&journal) {
        run.finish();
    }
    check_created_once(&mut seen, uids(&target, "load"), &expected);
    check_complete(&target, "load", &expected, &journal);

    // The target's API server killed under a running apply and restarted, into a second namespace.
    let rules = work.path().join("rename.yaml");
    std::fs::write(&rules, "apiVersion: ferry.dev/v1alpha1\nkind: TransformRules\nnamespaces: {load: load2}\n").unwrap();
    let journal = work.path().join("journal2.jsonl");
    let run = KillRun { kubeconfig: &dst, archive, journal: &journal, rules: Some(&rules) };
    let expected = expected_objects(&objects, "load2");
    let mut seen = BTreeMap::new();
    let restarts = (points / 10).max(1);
    for restart in 0..restarts {
        let mut child = run.spawn();
        let step = (KILL_POINT_OBJECTS - run.recorded().min(KILL_POINT_OBJECTS)) as u64 / (restarts - restart + 1);
        if !run.wait_for_records(&mut child, run.recorded() + 1 + random.below(2 * step) as usize) {
            break;
        }
        target.kill_apiserver();
        let out = child.wait_with_output().unwrap();
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(matches!(out.status.code(), Some(1 | 4)), "restart {restart}: {stdout}{stderr}");
        assert!(stderr.contains("--resume"), "restart {restart}: says how to go on: {stdout}{stderr}");
        target.restart_apiserver().await.unwrap();
        check_created_once(&mut seen, uids(&target, "load2"), &expected);
    }
    run.finish();
    check_created_once(&mut seen, uids(&target, "load2"), &expected);
    check_complete(&target, "load2", &expected, &journal);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_encrypted_archive_needs_its_key_and_holds_no_plain_secret() {
    let source = TestCluster::start(Options::default()).await.unwrap();
    let target = TestCluster::start(Options::default()).await.unwrap();
    source.kubectl(&["create", "namespace", "vault"]).unwrap();
    source.kubectl(&["create", "secret", "generic", "db", "-n", "vault", "--from-literal=password=correct-horse-battery-staple"]).unwrap();
    let work = tempfile::tempdir().unwrap();
    let key = work.path().join("key.txt");
    std::fs::write(&key, "7f".repeat(32)).unwrap();
    let archive = work.path().join("vault.ferry");
    let (key, archive) = (key.to_str().unwrap(), archive.to_str().unwrap());

    let (code, _, stderr) =
        ferry(&["export", "--kubeconfig", &kubeconfig(&source), "--context", "admin", "-n", "vault", "--encryption-key-file", key, "--to", archive]);
    assert_eq!(code, 0, "{stderr}");
    let bytes = std::fs::read(archive).unwrap();
    let encoded = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "correct-horse-battery-staple");
    assert!(!bytes.windows(encoded.len()).any(|w| w == encoded.as_bytes()), "the Secret is not readable in the archive");

    let dst = kubeconfig(&target);
    let (code, _, stderr) =
        ferry(&["apply", "--kubeconfig", &dst, "--context", "admin", "--from", archive, "--journal", work.path().join("j").to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("--encryption-key-file"), "says what is missing: {stderr}");
    let (code, stdout, stderr) = ferry(&[
        "apply",
        "--kubeconfig",
        &dst,
        "--context",
        "admin",
        "--from",
        archive,
        "--encryption-key-file",
        key,
        "--journal",
        work.path().join("j").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let password = target.kubectl(&["get", "secret", "db", "-n", "vault", "-o", "jsonpath={.data.password}"]).unwrap();
    assert_eq!(password, encoded);
}
