//! `ferry assess --context` against a real kube-apiserver v1.20.2 with its
//! controller manager: the live assessment agrees with the assessment of the
//! manifests that were applied, and what only a cluster has (generated
//! objects, last-applied versions, Helm releases) is reported as such.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::PathBuf;

use assert_cmd::Command;
use base64::Engine as _;
use ferry_testcluster::{Options, TestCluster, corpora};
use serde_json::Value;

fn assess(args: &[&str]) -> (Value, i32) {
    let out = Command::cargo_bin("ferry").unwrap().arg("assess").args(args).args(["-o", "json"]).output().unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (json, out.status.code().unwrap())
}

fn live(cluster: &TestCluster, extra: &[&str]) -> (Value, i32) {
    let kubeconfig = cluster.kubeconfig();
    let mut args = vec!["--kubeconfig", kubeconfig.to_str().unwrap(), "--context", "admin"];
    args.extend_from_slice(extra);
    assess(&args)
}

/// What must agree: edges, cloud findings, kinds to migrate, waves (namespaces aside:
/// the manifests leave them unset and the cluster fills them in).
fn comparable(a: &Value) -> [BTreeSet<String>; 5] {
    let obj = |o: &Value| format!("{} {}", o["kind"].as_str().unwrap(), o["name"].as_str().unwrap());
    let rows = |key: &str, f: &dyn Fn(&Value) -> String| a[key].as_array().unwrap().iter().map(f).collect::<BTreeSet<String>>();
    let edges = rows("dependencies", &|d| format!("{} -{}-> {} ({})", obj(&d["from"]), d["kind"], obj(&d["to"]), d["resolution"]));
    let cloud = rows("cloud", &|c| {
        format!("{} on {} used by {}", c["service_id"], obj(&c["object"]), c["used_by"].as_array().unwrap().iter().map(obj).collect::<Vec<_>>().join(","))
    });
    let apis = rows("deprecations", &|d| format!("{} {} {} {}", obj(&d["object"]), d["apiVersion"], d["status"], d["via"]));
    let kinds = a["inventory"]["by_kind"].as_array().unwrap().iter().map(|k| format!("{} {}", k["kind"], k["count"])).collect();
    let waves = a["waves"]["waves"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|w| w["applications"].as_array().unwrap().iter().map(move |app| format!("wave {} {}", w["number"], app["name"])))
        .collect();
    [edges, cloud, apis, kinds, waves]
}

fn apply(cluster: &TestCluster, namespace: &str, files: &[PathBuf]) {
    let _ = cluster.kubectl(&["create", "namespace", namespace]);
    for file in files {
        cluster.kubectl(&["apply", "-n", namespace, "-f", file.to_str().unwrap()]).unwrap();
    }
}

const SECURITY_GROUP_POLICY_CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: securitygrouppolicies.vpcresources.k8s.aws}
spec:
  group: vpcresources.k8s.aws
  scope: Namespaced
  names: {plural: securitygrouppolicies, singular: securitygrouppolicy, kind: SecurityGroupPolicy, listKind: SecurityGroupPolicyList}
  versions:
  - name: v1beta1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_assessment_agrees_with_the_applied_manifests() {
    let cluster = TestCluster::start(Options { controllers: true, ..Default::default() }).await.unwrap();
    cluster.apply_crd("securitygrouppolicies.vpcresources.k8s.aws", SECURITY_GROUP_POLICY_CRD).unwrap();

    let c = corpora();
    // Each retail service lives in its own namespace, as its DNS names (`carts.carts.svc`) say.
    let retail: Vec<(&str, PathBuf)> =
        ["carts", "catalog", "checkout", "orders", "ui"].iter().map(|s| (*s, c.join(format!("retail-store-sample-app/_rendered/{s}-eks-sim.yaml")))).collect();
    let cases: [(&str, Vec<(&str, PathBuf)>); 3] = [
        ("store", vec![("store", c.join("aks-store-demo/aks-store-all-in-one.yaml"))]),
        ("azure", vec![("azure", c.join("aks-store-demo/_rendered/helm-azure-sim.yaml"))]),
        ("retail", retail),
    ];
    for (namespace, file) in cases.iter().flat_map(|(_, files)| files) {
        apply(&cluster, namespace, std::slice::from_ref(file));
    }
    // Let the controllers create ReplicaSets, Pods, token Secrets and Endpoints.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;

    for (case, files) in &cases {
        let paths: Vec<&str> = files.iter().map(|(_, p)| p.to_str().unwrap()).collect();
        let (offline, _) = assess(&paths);
        let namespaces: Vec<&str> = files.iter().map(|(ns, _)| *ns).collect();
        let joined = namespaces.join(",");
        let (online, code) = live(&cluster, &["-n", &joined]);
        assert_eq!(code, 0, "{case}: {} {}", online["deprecations"], online["warnings"]);
        let [edges, cloud, apis, kinds, waves] = comparable(&offline);
        let [live_edges, live_cloud, live_apis, live_kinds, live_waves] = comparable(&online);
        assert!(!edges.is_empty(), "{case}: the corpus has dependencies");
        assert_eq!(live_edges, edges, "{case}: dependencies");
        assert_eq!(live_cloud, cloud, "{case}: cloud findings");
        assert_eq!(live_apis, apis, "{case}: deprecated APIs");
        assert_eq!(live_waves, waves, "{case}: waves");
        // The live read adds the namespaces themselves, and cluster-scoped objects (the CRD).
        let namespaced_kinds: BTreeSet<String> =
            live_kinds.into_iter().filter(|k| !k.starts_with("\"Namespace\"") && !k.starts_with("\"CustomResourceDefinition\"")).collect();
        assert_eq!(namespaced_kinds, kinds, "{case}: objects to migrate");
        let generated: BTreeSet<&str> = online["inventory"]["generated"].as_array().unwrap().iter().map(|g| g["rule"].as_str().unwrap()).collect();
        for rule in ["controller-owned", "default-service-account", "root-ca-configmap", "endpoints-controller", "service-account-token"] {
            assert!(generated.contains(rule), "{case}: {rule} not recognised: {generated:?}");
        }
    }
    let (online, _) = live(&cluster, &["-n", "catalog,checkout,orders"]);
    let policies = online["inventory"]["by_kind"].as_array().unwrap().iter().find(|k| k["kind"] == "SecurityGroupPolicy").expect("custom resources are read");
    assert_eq!(policies["count"], 3);
}

fn helm_release_secret(name: &str, manifest: &str) -> String {
    let release =
        serde_json::json!({"name": name, "version": 1, "namespace": "legacy", "manifest": manifest, "config": {"dbPassword": "hunter2-release-secret"}});
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(release.to_string().as_bytes()).unwrap();
    let engine = base64::engine::general_purpose::STANDARD;
    let helm = engine.encode(gz.finish().unwrap());
    format!(
        "apiVersion: v1\nkind: Secret\ntype: helm.sh/release.v1\nmetadata:\n  name: sh.helm.release.v1.{name}.v1\n  labels: {{owner: helm, name: {name}, version: \"1\"}}\ndata:\n  release: {}\n",
        engine.encode(helm)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_applied_versions_and_helm_releases_are_labelled_evidence() {
    let cluster = TestCluster::start(Options::default()).await.unwrap();
    cluster.kubectl(&["create", "namespace", "applied"]).unwrap();
    let ingress = "apiVersion: networking.k8s.io/v1beta1\nkind: Ingress\nmetadata: {name: web}\nspec:\n  rules:\n  - http:\n      paths:\n      - path: /\n        backend: {serviceName: web, servicePort: 80}\n";
    cluster.apply(Some("applied"), ingress).unwrap();
    let (a, code) = live(&cluster, &["-n", "applied", "--target-version", "1.25"]);
    let findings: Vec<&Value> = a["deprecations"].as_array().unwrap().iter().filter(|d| d["object"]["name"] == "web").collect();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0]["via"], "last-applied");
    assert_eq!(findings[0]["apiVersion"], "networking.k8s.io/v1beta1");
    assert_eq!(code, 0, "how an object was applied is evidence, never a blocker");

    let manifest = "---\n# Source: legacy/templates/ingress.yaml\napiVersion: extensions/v1beta1\nkind: Ingress\nmetadata:\n  name: legacy\n";
    cluster.kubectl(&["create", "namespace", "legacy"]).unwrap();
    cluster.apply(Some("legacy"), &helm_release_secret("legacy", manifest)).unwrap();
    let (a, code) = live(&cluster, &["-n", "legacy", "--target-version", "1.25"]);
    let release = a["deprecations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["via"] == "helm-release")
        .unwrap_or_else(|| panic!("no Helm release finding: {}", a["deprecations"]));
    assert_eq!(release["apiVersion"], "extensions/v1beta1");
    assert_eq!(release["status"], "removed");
    assert_eq!(release["object"]["name"], "sh.helm.release.v1.legacy.v1");
    assert_eq!(code, 3, "a release that helm upgrade cannot apply blocks");
    let text = a.to_string();
    assert!(!text.contains("hunter2-release-secret"), "release values never reach the report");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_resources_make_the_assessment_incomplete_not_failed() {
    let viewer = ferry_testcluster::User { name: "viewer".into(), groups: vec!["viewers".into()] };
    let cluster = TestCluster::start(Options { users: vec![viewer], ..Default::default() }).await.unwrap();
    cluster.kubectl(&["create", "clusterrole", "viewer", "--verb=get,list", "--resource=configmaps,namespaces"]).unwrap();
    cluster.kubectl(&["create", "clusterrolebinding", "viewer", "--clusterrole=viewer", "--group=viewers"]).unwrap();
    cluster.kubectl(&["create", "configmap", "settings", "--from-literal=mode=fast"]).unwrap();
    let kubeconfig = cluster.kubeconfig();
    let out = Command::cargo_bin("ferry").unwrap().args(["assess", "--kubeconfig", kubeconfig.to_str().unwrap(), "--context", "viewer"]).output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("left out of the assessment: `secrets` forbidden for this user"), "{stdout}");
    assert!(stdout.contains("ConfigMap"), "what is allowed is still assessed: {stdout}");
    assert!(!stdout.contains(&ferry_testcluster::user_token("viewer")), "tokens never printed");
}

#[test]
fn an_unreachable_cluster_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("config");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:9', insecure-skip-tls-verify: true}\ncontexts:\n- name: gone\n  context: {cluster: c, user: u}\nusers:\n- name: u\n  user: {token: s3cr3t-token}\ncurrent-context: gone\n",
    )
    .unwrap();
    let out = Command::cargo_bin("ferry").unwrap().args(["assess", "--kubeconfig", kubeconfig.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot reach the API server of the current context"), "{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");
    assert!(!stderr.contains("s3cr3t-token"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubeconfig_lists_and_exec_plugins_work_like_kubectl() {
    let cluster = TestCluster::start(Options::default()).await.unwrap();
    cluster.kubectl(&["create", "configmap", "from-exec", "--from-literal=k=v"]).unwrap();
    let original = std::fs::read_to_string(cluster.kubeconfig()).unwrap();
    let ca = original.lines().find_map(|l| l.trim().strip_prefix("certificate-authority-data: ")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The cluster and an exec-plugin user in one file, the context in another: KUBECONFIG merges them.
    let credential =
        format!(r#"{{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{{"token":"{}"}}}}"#, cluster.admin_token());
    let users = dir.path().join("users.yaml");
    std::fs::write(
        &users,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster: {{server: '{}', certificate-authority-data: {ca}}}\nusers:\n- name: plugin\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: /bin/sh\n      args: ['-c', 'echo ''{credential}''']\n",
            cluster.server()
        ),
    )
    .unwrap();
    let contexts = dir.path().join("contexts.yaml");
    std::fs::write(&contexts, "apiVersion: v1\nkind: Config\ncontexts:\n- name: via-plugin\n  context: {cluster: test, user: plugin}\n").unwrap();
    let list = format!("{}:{}", users.display(), contexts.display());
    let out = Command::cargo_bin("ferry")
        .unwrap()
        .env("KUBECONFIG", list)
        .args(["assess", "--context", "via-plugin", "-n", "default", "-o", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let a: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = a["inventory"]["resources"]["config-map"].as_array().unwrap().iter().map(|r| r["object"]["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"from-exec"), "{names:?}");
    assert!(!stderr.contains(cluster.admin_token()) && !a.to_string().contains(cluster.admin_token()), "the plugin's token is never printed");
}
