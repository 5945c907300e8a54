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
    let mut corrupt = stored.clone();
    let middle = corrupt.len() / 2;
    corrupt[middle] ^= 0x40;
    let corrupt_path = work.path().join("corrupt.ferry");
    std::fs::write(&corrupt_path, corrupt).unwrap();
    let fourth = TestCluster::start(Options::default()).await.unwrap();
    let (code, _, stderr) = ferry(&["apply", "--kubeconfig", &kubeconfig(&fourth), "--context", "admin", "--from", corrupt_path.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("corrupt.ferry"), "names the archive: {stderr}");
    assert!(fourth.kubectl(&["get", "namespace", "shop"]).is_err(), "nothing was applied from a corrupt archive");
}

/// An archive of many ConfigMaps, so that an apply takes long enough to be interrupted.
async fn load_archive(path: &Path, objects: usize) {
    let destination = ferry_archive::Destination::File(path.to_owned());
    let mut writer = ferry_archive::Writer::create(&destination, ferry_archive::Header::default(), None).await.unwrap();
    for i in 0..objects {
        let object = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("c{i:05}"), "namespace": "load"}, "data": {"n": i.to_string()}});
        let id = ferry_model::ObjectId::from_json(&object).unwrap();
        writer.add(&id, "configmaps", &object).await.unwrap();
    }
    writer.finish().await.unwrap();
}

/// Starts `ferry apply` as a child and returns it once its journal has `lines` lines.
fn apply_until(dst: &str, archive: &str, journal: &Path, lines: usize) -> std::process::Child {
    let child = Process::new(assert_cmd::cargo::cargo_bin("ferry"))
        .args(["apply", "--kubeconfig", dst, "--context", "admin", "--from", archive, "--concurrency", "2", "--journal", journal.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(|| std::fs::read_to_string(journal).is_ok_and(|text| text.lines().count() > lines));
    child
}

fn config_maps(cluster: &TestCluster) -> usize {
    cluster.kubectl(&["get", "configmaps", "-n", "load", "--no-headers", "--chunk-size=500"]).unwrap().lines().count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_apply_is_finished_by_resume_after_ferry_or_the_target_is_killed() {
    const OBJECTS: usize = 5000;
    let work = tempfile::tempdir().unwrap();
    let archive = work.path().join("load.ferry");
    load_archive(&archive, OBJECTS).await;
    let archive = archive.to_str().unwrap();

    // ferry killed mid-apply.
    let mut target = TestCluster::start(Options::default()).await.unwrap();
    let dst = kubeconfig(&target);
    let journal = work.path().join("journal.jsonl");
    let mut child = apply_until(&dst, archive, &journal, 300);
    child.kill().unwrap();
    child.wait().unwrap();
    let partial = config_maps(&target);
    assert!(partial > 0 && partial < OBJECTS, "killed mid-way ({partial} applied)");
    // The ConfigMaps the killed run recorded as done (complete lines only; the last may be cut off).
    let recorded = std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .filter(|line| line.contains("/ConfigMap/load/") && serde_json::from_str::<Value>(line).is_ok())
        .count();
    assert!(recorded >= 290, "the journal had more than 300 lines when ferry was killed ({recorded} ConfigMaps)");
    let (code, _, stderr) = ferry(&["apply", "--kubeconfig", &dst, "--context", "admin", "--from", archive, "--journal", journal.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("interrupted") && stderr.contains("--resume"), "{stderr}");
    let (code, stdout, stderr) =
        ferry(&["apply", "--kubeconfig", &dst, "--context", "admin", "--from", archive, "--journal", journal.to_str().unwrap(), "--resume", "-o", "json"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let summary: Value = serde_json::from_str(&stdout).unwrap();
    assert!(summary["counts"]["done-before"].as_u64().unwrap() >= recorded as u64, "every recorded object is done before: {}", summary["counts"]);
    assert_eq!(config_maps(&target), OBJECTS, "complete, no duplicates");

    // The target's API server killed mid-apply, into a second namespace.
    let rules = work.path().join("rename.yaml");
    std::fs::write(&rules, "apiVersion: ferry.dev/v1alpha1\nkind: TransformRules\nnamespaces: {load: load2}\n").unwrap();
    let journal2 = work.path().join("journal2.jsonl");
    let apply2 = |extra: &[&str]| {
        let mut args = vec![
            "apply",
            "--kubeconfig",
            &dst,
            "--context",
            "admin",
            "--from",
            archive,
            "--rules",
            rules.to_str().unwrap(),
            "--journal",
            journal2.to_str().unwrap(),
            "--concurrency",
            "4",
        ];
        args.extend_from_slice(extra);
        Process::new(assert_cmd::cargo::cargo_bin("ferry")).args(&args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
    };
    let child = apply2(&[]);
    wait_for(|| std::fs::read_to_string(&journal2).is_ok_and(|text| text.lines().count() > 300));
    target.kill_apiserver();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stdout}{stderr}");
    assert!(stdout.contains("stopped early") && stderr.contains("--resume"), "{stdout}{stderr}");
    target.restart_apiserver().await.unwrap();
    let out = apply2(&["--resume"]).wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let in_load2 = target.kubectl(&["get", "configmaps", "-n", "load2", "--no-headers", "--chunk-size=500"]).unwrap().lines().count();
    assert_eq!(in_load2, OBJECTS, "complete after the restart, no duplicates");
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
