//! Manifests in, YAML out (`ferry transform --from MANIFESTS --to DIR --format yaml`): every
//! shared corpus becomes a tree that `kubectl kustomize` builds and a real kube-apiserver
//! v1.20.2 accepts in a server-side dry run, holding the same objects as the archive path, and
//! that `ferry apply --from DIR` plans whole;
//! manifests from standard input; Secrets left out with a note; the same input gives the same
//! bytes; a directory ferry did not write is refused.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command as Process, Stdio};

use assert_cmd::Command;
use ferry_archive::{Destination, S3Settings};
use ferry_model::ObjectId;
use ferry_model::id::split_api_version;
use ferry_model::load::load_text_documents;
use ferry_testcluster::{Options, TestCluster, corpora};
use serde_json::Value;

/// Each corpus, the manifests of it given to `--from`, and the exit code expected.
const CORPORA: [(&str, &str, i32); 6] = [
    ("aks-store-demo", "aks-store-demo", 0),
    ("azure-voting-app-redis-2019", "azure-voting-app-redis-2019", 0),
    // Four access and token *Review fixtures are requests, never stored: they cannot go to a target (3).
    ("kube-no-trouble", "kube-no-trouble", 3),
    ("pluto", "pluto", 0),
    // Its src/ and terraform/ hold Helm values files that are not valid YAML (ferry refuses those with exit 4); _rendered/ is its manifests.
    ("retail-store-sample-app", "retail-store-sample-app/_rendered", 0),
    ("sock-shop-2019", "sock-shop-2019", 0),
];

/// Objects of the corpora that no API server accepts as they are written upstream (so neither
/// as ferry writes them), with why.
const INVALID_UPSTREAM: &[(&str, &str, &str)] = &[
    ("kube-no-trouble", "policy/PodSecurityPolicy//example", "its spec leaves out required fields (supplementalGroups, ...)"),
    ("kube-no-trouble", "autoscaling/HorizontalPodAutoscaler//php-apache", "autoscaling/v2beta1 written with v2beta2's `target` field"),
    ("kube-no-trouble", "certificates.k8s.io/CertificateSigningRequest//example.com", "spec.request is not a PEM certificate request"),
    (
        "kube-no-trouble",
        "networking.k8s.io/Ingress/default/test-ingress",
        "a fake-client fixture: networking.k8s.io/v1 with v1beta1's serviceName and servicePort",
    ),
    ("kube-no-trouble", "storage.k8s.io/VolumeAttachment//test", "it has no spec"),
    // Not invalid, but newer than the target: ferry converts APIs a target no longer serves, not ones it does not serve yet.
    ("kube-no-trouble", "storage.k8s.io/CSIStorageCapacity//my-csi-capacity", "storage.k8s.io/v1beta1 CSIStorageCapacity came with Kubernetes 1.21"),
];

/// `ferry ARGS` with `stdin`; returns (exit code, stdout, stderr).
fn ferry(args: &[&str], stdin: &str) -> (i32, String, String) {
    let out = Command::cargo_bin("ferry").unwrap().args(args).write_stdin(stdin.to_owned()).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn kubectl_kustomize(dir: &Path) -> String {
    let out = Process::new("kubectl").args(["kustomize", dir.to_str().unwrap()]).stderr(Stdio::piped()).output().expect("kubectl (scripts/install-k8s.sh)");
    assert!(out.status.success(), "kubectl kustomize {}: {}", dir.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn key(id: &ObjectId) -> String {
    format!("{}/{}/{}/{}", split_api_version(&id.api_version).0, id.kind, id.namespace.as_deref().unwrap_or(""), id.name)
}

/// The objects of a YAML stream, read as ferry reads manifests, in ferry's normal form, by identity.
fn objects_of_yaml(text: &str) -> BTreeMap<String, Value> {
    let (objects, report) = load_text_documents("built", text.to_owned(), |d| d.into_object());
    assert!(!report.has_errors(), "{:?}", report.issues);
    objects.into_iter().map(|o| (key(&o.id), ferry_transform::normalise_for_compare(&o.root.to_json()))).collect()
}

async fn objects_of_archive(path: &Path) -> BTreeMap<String, Value> {
    let destination = Destination::parse(path.to_str().unwrap(), &S3Settings::default()).unwrap();
    let (_, entries) = ferry_archive::read(&destination, None).await.unwrap();
    entries.iter().map(|e| (key(&e.id), ferry_transform::normalise_for_compare(&e.object().unwrap()))).collect()
}

/// Every file below `dir` and its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                out.insert(path.strip_prefix(dir).unwrap().display().to_string(), std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

/// A CustomResourceDefinition that serves `kind` in `group` at `versions`, any content allowed: the
/// corpora's custom resources (cert-manager Issuers, SecurityGroupPolicies) need their CRDs,
/// which are not part of the corpora.
fn any_content_crd(group: &str, kind: &str, versions: &BTreeSet<String>) -> (String, String) {
    let plural = format!("{}s", kind.to_lowercase());
    let name = format!("{plural}.{group}");
    let versions: Vec<String> = versions
        .iter()
        .enumerate()
        .map(|(i, v)| format!("  - name: {v}\n    served: true\n    storage: {}\n    schema: {{openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}}}\n", i == 0))
        .collect();
    // Groups under k8s.io (the CSI snapshot API) are protected: their CRDs say where they were approved.
    let approval =
        if group.ends_with("k8s.io") { ", annotations: {api-approved.kubernetes.io: 'https://github.com/kubernetes-csi/external-snapshotter'}" } else { "" };
    let yaml = format!(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {{name: {name}{approval}}}\nspec:\n  group: {group}\n  scope: Namespaced\n  names: {{plural: {plural}, singular: {}, kind: {kind}, listKind: {kind}List}}\n  versions:\n{}",
        kind.to_lowercase(),
        versions.concat()
    );
    (name, yaml)
}

/// Makes what a server-side dry run cannot: the namespaces the objects use and the CRDs of
/// custom resources the cluster does not serve. Then each object is applied with the server's
/// dry run (those invalid upstream one by one); returns those refused.
fn dry_run_apply(cluster: &TestCluster, built: &str, corpus: &str) -> BTreeSet<String> {
    let (objects, _) = load_text_documents("built", built.to_owned(), |d| d.into_object());
    let served: BTreeSet<String> = cluster.kubectl(&["api-versions"]).unwrap().lines().map(str::to_owned).collect();
    let served_groups: BTreeSet<&str> = served.iter().map(|v| split_api_version(v).0).collect();
    let mut custom: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    let mut namespaces = BTreeSet::new();
    for object in &objects {
        let (group, version) = split_api_version(&object.id.api_version);
        if !served.contains(&object.id.api_version) {
            assert!(!served_groups.contains(group), "{corpus}: {} is in a group the target serves, at a version it does not", object.id);
            custom.entry((group.to_owned(), object.id.kind.clone())).or_default().insert(version.to_owned());
        }
        namespaces.extend(object.id.namespace.clone());
        if object.id.kind == "Namespace" {
            namespaces.insert(object.id.name.clone());
        }
    }
    for ((group, kind), versions) in &custom {
        let (name, yaml) = any_content_crd(group, kind, versions);
        cluster.apply_crd(&name, &yaml).unwrap_or_else(|e| panic!("{corpus}: {e}"));
    }
    for namespace in &namespaces {
        let _ = cluster.kubectl(&["create", "namespace", namespace]);
    }
    // kubectl's client-side apply with the server's dry run: the server validates and defaults every
    // object. (Server-side apply on v1.20.2 refuses Service ports that leave out `protocol`, as
    // most manifests do: "associative list with keys has an element that omits key field".)
    let dry_run = |objects: &[&ferry_model::Object]| {
        let yaml: String = objects.iter().map(|o| format!("---\n{}", ferry_transform::gitops::to_yaml(&o.root.to_json()))).collect();
        cluster.kubectl_with_input(&["apply", "--dry-run=server", "-f", "-"], yaml.as_bytes())
    };
    let (invalid, valid): (Vec<_>, Vec<_>) = objects.iter().partition(|o| INVALID_UPSTREAM.iter().any(|(c, id, _)| *c == corpus && *id == key(&o.id)));
    let accepted = dry_run(&valid).unwrap_or_else(|e| panic!("{corpus}: the target refuses the tree: {e}"));
    assert_eq!(accepted.lines().count(), valid.len(), "{corpus}: every object is accepted:\n{accepted}");
    invalid.into_iter().filter(|o| dry_run(&[o]).is_err()).map(|o| key(&o.id)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_corpus_becomes_a_kustomize_tree_the_target_accepts_with_the_objects_of_the_archive_path() {
    let cluster = TestCluster::start(Options::default()).await.unwrap();
    let scratch = tempfile::tempdir().unwrap();
    for (corpus, from, expected) in CORPORA {
        let from = corpora().join(from);
        let dir = scratch.path().join(corpus);
        let archive = scratch.path().join(format!("{corpus}.tar.zst"));
        let common = ["transform", "--from", from.to_str().unwrap(), "--target-version", "1.20", "--on-duplicate", "first"];
        let tree_args = [&common[..], &["--to", dir.to_str().unwrap(), "--format", "yaml", "--secrets", "plain"]].concat();
        let (code, _, stderr) = ferry(&tree_args, "");
        assert_eq!(code, expected, "{corpus}: {stderr}");
        if corpus == "kube-no-trouble" {
            // Its VolumeSnapshotContent fixture writes its annotations as a list.
            let refused = "fixtures/volumesnapshotcontent-v1beta1.yaml:1: `metadata.annotations` is not a mapping; no API server accepts it";
            assert!(stderr.contains(refused), "{stderr}");
        }
        let (code, _, stderr) = ferry(&[&common[..], &["--to", archive.to_str().unwrap()]].concat(), "");
        assert_eq!(code, expected, "{corpus}: {stderr}");

        let built = kubectl_kustomize(&dir);
        let from_tree = objects_of_yaml(&built);
        let from_archive = objects_of_archive(&archive).await;
        assert!(from_tree.len() > 3, "{corpus}: {} objects", from_tree.len());
        assert_eq!(from_tree.keys().collect::<Vec<_>>(), from_archive.keys().collect::<Vec<_>>(), "{corpus}: the same objects");
        for (id, object) in &from_archive {
            assert_eq!(&from_tree[id], object, "{corpus}: {id} is the same through YAML and kustomize");
        }
        // `ferry apply` reads the tree back as manifests (the kustomization.yaml is skipped with a note) and plans every object.
        let kubeconfig = cluster.kubeconfig();
        let (code, plan, stderr) =
            ferry(&["apply", "--kubeconfig", kubeconfig.to_str().unwrap(), "--context", "admin", "--from", dir.to_str().unwrap(), "--dry-run=client"], "");
        assert_eq!(code, 0, "{corpus}: {stderr}");
        assert_eq!(plan.lines().filter(|l| l.starts_with("     ")).count(), from_tree.len(), "{corpus}: {plan}");

        let refused = dry_run_apply(&cluster, &built, corpus);
        if refused.is_empty() {
            // ferry's own server-side apply takes the tree as it is (Services' ports without `protocol` included).
            let (code, summary, stderr) =
                ferry(&["apply", "--kubeconfig", kubeconfig.to_str().unwrap(), "--context", "admin", "--from", dir.to_str().unwrap(), "--dry-run"], "");
            assert_eq!(code, 0, "{corpus}: {summary}{stderr}");
        }
        let invalid: BTreeSet<String> = INVALID_UPSTREAM.iter().filter(|(c, ..)| *c == corpus).map(|(_, id, _)| (*id).to_owned()).collect();
        assert_eq!(refused, invalid, "{corpus}: the target refuses the objects invalid upstream");
    }
}

const SHOP: &str = "\
apiVersion: v1
kind: Secret
metadata: {name: db, namespace: shop}
stringData: {password: hunter2-in-clear}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, uid: 9f1c, resourceVersion: '42'}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        env:
        - {name: ENABLED, value: 'yes'}
        - {name: MODE, value: '0755'}
        - {name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: db, key: password}}}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
";

#[test]
fn manifests_from_standard_input_become_the_same_yaml_as_from_a_file_with_secrets_left_out_and_noted() {
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("shop.yaml");
    std::fs::write(&file, SHOP).unwrap();
    let (code, from_stdin, stderr) = ferry(&["transform", "--from", "-", "-o", "yaml"], SHOP);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("note: Secret shop/db left out of the YAML"), "{stderr}");
    assert!(stderr.contains("Sealed Secrets") && stderr.contains("--secrets=plain"), "{stderr}");
    assert!(!from_stdin.contains("hunter2") && !stderr.contains("hunter2"));
    let (_, from_file, _) = ferry(&["transform", "--from", file.to_str().unwrap(), "--to", "-"], "");
    assert_eq!(from_stdin, from_file);
    // Namespaces first; the uid and resourceVersion are gone; keys in the order written; `yes` and `0755` stay strings.
    let objects = objects_of_yaml(&from_stdin);
    assert_eq!(objects.keys().collect::<Vec<_>>(), ["/Namespace//shop", "apps/Deployment/shop/web"]);
    assert!(from_stdin.starts_with("---\napiVersion: v1\nkind: Namespace\n"), "{from_stdin}");
    assert!(from_stdin.contains("---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n"), "{from_stdin}");
    let env = &objects["apps/Deployment/shop/web"]["spec"]["template"]["spec"]["containers"][0]["env"];
    assert_eq!((&env[0]["value"], &env[1]["value"]), (&Value::from("yes"), &Value::from("0755")));

    let dir = scratch.path().join("tree");
    let (code, _, stderr) = ferry(&["transform", "--from", "-", "--to", dir.to_str().unwrap(), "--format", "yaml"], SHOP);
    assert_eq!(code, 0, "{stderr}");
    let tree = files(&dir);
    assert_eq!(tree.keys().collect::<Vec<_>>(), [".ferry-tree", "_cluster/namespace-shop.yaml", "kustomization.yaml", "shop/deployment-web.yaml"]);
    assert!(tree.values().all(|bytes| !String::from_utf8_lossy(bytes).contains("hunter2")));
}

#[test]
fn the_same_input_gives_the_same_bytes_and_a_directory_ferry_did_not_write_is_refused() {
    let scratch = tempfile::tempdir().unwrap();
    let from = corpora().join("sock-shop-2019");
    let write =
        |dir: &Path| ferry(&["transform", "--from", from.to_str().unwrap(), "--to", dir.to_str().unwrap(), "--format", "yaml", "--on-duplicate=first"], "");
    let (first, second) = (scratch.path().join("first"), scratch.path().join("second"));
    assert_eq!(write(&first).0, 0);
    assert_eq!(write(&second).0, 0);
    let tree = files(&first);
    assert!(tree.len() > 30, "{}", tree.len());
    assert_eq!(tree, files(&second), "two runs, the same bytes");
    assert_eq!(write(&first).0, 0, "ferry's own tree is replaced");
    assert_eq!(files(&first), tree);

    std::fs::write(first.join("sock-shop/README.md"), "mine").unwrap();
    let (code, _, stderr) = write(&first);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("README.md") && stderr.contains("ferry did not write"), "{stderr}");
    assert_eq!(std::fs::read_to_string(first.join("sock-shop/README.md")).unwrap(), "mine", "left as it was");
}

#[test]
fn conflicting_copies_stop_the_transform_unless_a_copy_is_chosen() {
    let twice = format!("{SHOP}---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: shop, labels: {{team: a}}}}\n");
    let (code, stdout, stderr) = ferry(&["transform", "--from", "-", "-o", "yaml"], &twice);
    assert_eq!((code, stdout.as_str()), (4, ""), "{stderr}");
    assert!(stderr.contains("Namespace shop is given twice, with different content: at standard input:22 and at standard input:26"), "{stderr}");
    let (code, stdout, stderr) = ferry(&["transform", "--from", "-", "-o", "yaml", "--on-duplicate", "last"], &twice);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("team: a"), "{stdout}");
}

#[test]
fn namespaces_and_selectors_choose_the_manifests_transformed() {
    let more = format!(
        "{SHOP}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: other, namespace: other, labels: {{app: web}}}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: unplaced}}\n"
    );
    let kept = |args: &[&str]| {
        let (code, stdout, stderr) = ferry(&[&["transform", "--from", "-", "-o", "yaml"], args].concat(), &more);
        assert_eq!(code, 0, "{stderr}");
        objects_of_yaml(&stdout).into_keys().collect::<Vec<_>>()
    };
    assert_eq!(kept(&["-n", "shop"]), ["/ConfigMap//unplaced", "/Namespace//shop", "apps/Deployment/shop/web"], "the Secret is left out of YAML");
    assert_eq!(kept(&["-n", "other"]), ["/ConfigMap//unplaced", "/ConfigMap/other/other", "/Namespace//shop"]);
    assert_eq!(kept(&["-l", "app=web"]), ["/ConfigMap/other/other"], "a selector applies to the object's own labels");
    assert_eq!(kept(&["-A"]).len(), 4, "everything but the Secret");
    let (code, _, stderr) = ferry(&["transform", "--from", "-", "-o", "yaml", "-l", "app="], &more);
    assert_eq!(code, 0, "`app=` selects an empty value: {stderr}");
    let (code, _, stderr) = ferry(&["transform", "--from", "-", "-o", "yaml", "-l", "a b"], &more);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("invalid `--selector`"), "{stderr}");
}

/// Two objects that become one by conversion (an `extensions/v1beta1` and an `apps/v1beta1`
/// Deployment of one name both become `apps/v1`, with the defaults of their own versions):
/// refused as conflicting copies, and with `--on-duplicate` kept once and counted as left out.
#[test]
fn objects_that_become_one_by_conversion_are_kept_once() {
    let deployment = |api: &str| {
        format!(
            "---\napiVersion: {api}\nkind: Deployment\nmetadata: {{name: web, namespace: shop}}\nspec:\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec:\n      containers: [{{name: web, image: nginx:1}}]\n"
        )
    };
    let both = deployment("extensions/v1beta1") + &deployment("apps/v1beta1");
    let (code, stdout, stderr) = ferry(&["transform", "--from", "-", "-o", "yaml"], &both);
    assert_eq!((code, stdout.as_str()), (4, ""), "{stderr}");
    assert!(stderr.contains("Deployment shop/web is given twice") && stderr.contains("(after conversion)"), "{stderr}");

    let (code, stdout, stderr) = ferry(&["transform", "--from", "-", "-o", "yaml", "--on-duplicate", "first"], &both);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.matches("kind: Deployment").count(), 1, "{stdout}");
    assert!(stderr.contains("transformed 1 of 2 objects") && stderr.contains("1 left out"), "{stderr}");
}

#[test]
fn outputs_that_cannot_be_are_usage_errors() {
    let cases: [&[&str]; 7] = [
        &["--to", "-", "--format", "archive"],
        &["--to", "s3://bucket/tree", "--format", "yaml"],
        &["-o", "yaml", "--diff"],
        &["-o", "json", "--diff"],
        &["-o", "yaml", "--to", "tree"],
        &["-o", "json", "--to", "-"],
        &["-o", "yaml", "--recipient", "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"],
    ];
    for args in cases {
        let (code, stdout, stderr) = ferry(&[&["transform", "--from", "-"][..], args].concat(), SHOP);
        assert_eq!((code, stdout.as_str()), (2, ""), "{args:?}: {stderr}");
    }
}
