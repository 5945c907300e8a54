//! `ferry preflight` against a real target (kube-apiserver v1.20.2 with controllers and a real
//! node): a target lacking a storage class and a CRD the objects need, the same target made
//! ready, then a ResourceQuota too small for a claim, then workloads no node can run (too
//! large, a node selector nothing matches), an admission webhook (HTTPS on loopback) refusing
//! ConfigMaps, then with `--images` images looked up in real
//! registries on loopback (present, missing, built for another platform, behind basic
//! authentication with a right and a wrong pull secret); each gives exactly the right findings
//! and exit code, and the target's objects are the same before and after every run. The
//! external host the Deployment uses is an `info` finding with the command that tests it; a
//! probe Pod on the target reaches a listening port on loopback and is refused by a closed one.

use assert_cmd::Command;
use ferry_testcluster::{BUSYBOX_IMAGE, Options, REGISTRY_PASSWORD, REGISTRY_USER, TestCluster, TestRegistry, TestWebhook, WEBHOOK_REFUSAL, WIDGET_CRD};
use serde_json::Value;

const APPLICATION: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config}
data: {greeting: hello}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  storageClassName: fast
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: ferry.local/busybox:1, command: [sleep, "3600"], env: [{name: SMTP_RELAY, value: "smtp://mail.corp.internal:25"}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, protocol: TCP}]
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: blue}
spec: {size: 3, color: blue}
"#;

const FAST: &str = "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: fast}\nprovisioner: kubernetes.io/no-provisioner\n";

/// Two workloads the target's node cannot run: one asks for more CPU than any node has, one
/// for a node label no node carries.
const UNSCHEDULABLE: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: huge}
spec:
  selector: {matchLabels: {app: huge}}
  template:
    metadata: {labels: {app: huge}}
    spec:
      containers: [{name: c, image: ferry.local/busybox:1, resources: {requests: {cpu: "1000", memory: 1Mi}}}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: pinned}
spec:
  template:
    spec:
      restartPolicy: Never
      nodeSelector: {disk: nvme}
      containers: [{name: c, image: ferry.local/busybox:1}]
"#;

const QUOTA: &str = "apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: small}\nspec:\n  hard: {requests.storage: 1Mi}\n";

/// `ferry ARGS`; returns (exit code, stdout, stderr).
fn ferry(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("ferry").unwrap().args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Every object of the kinds an apply could touch, with its resourceVersion.
fn state(cluster: &TestCluster) -> String {
    let kinds =
        "namespaces,configmaps,secrets,persistentvolumeclaims,deployments,services,serviceaccounts,resourcequotas,storageclasses,customresourcedefinitions";
    cluster.kubectl(&["get", kinds, "-A", "-o", "custom-columns=KIND:.kind,NS:.metadata.namespace,NAME:.metadata.name,RV:.metadata.resourceVersion"]).unwrap()
}

/// Runs preflight with `args` and checks that it wrote nothing; returns the exit code and the JSON report.
fn preflight(target: &TestCluster, args: &[&str]) -> (i32, Value) {
    let before = state(target);
    let kubeconfig = target.kubeconfig().to_str().unwrap().to_owned();
    let mut all = vec!["preflight", "--kubeconfig", &kubeconfig, "--context", "admin", "-o", "json"];
    all.extend(args);
    let (code, stdout, stderr) = ferry(&all);
    assert_eq!(state(target), before, "preflight wrote to the target: {stderr}");
    (code, serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}{stderr}")))
}

/// `severity code Kind/name` of each issue, info left out.
fn issues(report: &Value) -> Vec<String> {
    let issues = report["issues"].as_array().unwrap().iter().filter(|i| i["severity"] != "info");
    issues
        .map(|i| {
            format!(
                "{} {} {}/{}",
                i["severity"].as_str().unwrap(),
                i["code"].as_str().unwrap(),
                i["kind"].as_str().unwrap_or("-"),
                i["name"].as_str().unwrap_or("-")
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_finds_missing_classes_crds_and_quotas_and_never_writes() {
    let source = TestCluster::start(Options { controllers: true, ..Default::default() });
    let target = TestCluster::start(Options { nodes: 1, ..Default::default() });
    let (source, target) = tokio::join!(source, target);
    let (source, target) = (source.unwrap(), target.unwrap());
    source.apply_crd("widgets.example.com", WIDGET_CRD).unwrap();
    source.apply(None, FAST).unwrap();
    source.kubectl(&["create", "namespace", "shop"]).unwrap();
    source.apply(Some("shop"), APPLICATION).unwrap();
    let work = tempfile::tempdir().unwrap();
    let archive = work.path().join("shop.ferry");
    let archive = archive.to_str().unwrap();
    let source_kubeconfig = source.kubeconfig().to_str().unwrap().to_owned();
    let (code, _, stderr) =
        ferry(&["export", "--kubeconfig", &source_kubeconfig, "--context", "admin", "-n", "shop", "--exclude", "customresourcedefinitions", "--to", archive]);
    assert_eq!(code, 0, "{stderr}");

    // A bare target: no storage class `fast`, no Widget CRD.
    let (code, report) = preflight(&target, &["--from", archive]);
    assert_eq!(code, 3, "{report:#}");
    assert_eq!(issues(&report), ["fail missing-storage-class PersistentVolumeClaim/data", "fail missing-api Widget/blue"], "{report:#}");

    // Ready: the class, the CRD and the namespace exist. Read from the source cluster this time.
    target.apply(None, FAST).unwrap();
    target.apply_crd("widgets.example.com", WIDGET_CRD).unwrap();
    target.kubectl(&["create", "namespace", "shop"]).unwrap();
    let from_source = ["--context-from", "admin", "--kubeconfig-from", &source_kubeconfig, "-n", "shop", "--exclude", "customresourcedefinitions"];
    let (code, report) = preflight(&target, &from_source);
    let only = report["issues"].as_array().unwrap();
    assert_eq!((code, only.len(), &only[0]["code"]), (0, 1, &serde_json::json!("external-endpoint")), "the node can run the Deployment: {report:#}");
    let hint = only[0]["message"].as_str().unwrap();
    assert!(
        hint.contains("`kubectl --context admin run ferry-probe --rm -i --restart=Never --image=busybox:1.36 -- nc -zv -w 5 mail.corp.internal 25`"),
        "{hint}"
    );
    assert!(hint.contains("private network, SMTP") && hint.contains("Deployment shop/web"), "{hint}");
    assert!(report["objects"].as_u64().unwrap() >= 6, "{report:#}");

    // A quota too small for the claim: the server's dry run refuses it.
    target.apply(Some("shop"), QUOTA).unwrap();
    let quota_known = || target.kubectl(&["get", "resourcequota", "small", "-n", "shop", "-o", "jsonpath={.status.hard}"]).is_ok_and(|h| !h.is_empty());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !quota_known() {
        assert!(std::time::Instant::now() < deadline, "the quota controller did not fill in the quota's status");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let (code, report) = preflight(&target, &["--from", archive]);
    assert_eq!(code, 3, "{report:#}");
    assert_eq!(issues(&report), ["fail quota PersistentVolumeClaim/data"], "{report:#}");
    let message = report["issues"][0]["message"].as_str().unwrap();
    assert!(message.contains("exceeded quota: small"), "{message}");

    let (code, table, _) = ferry(&["preflight", "--kubeconfig", target.kubeconfig().to_str().unwrap(), "--context", "admin", "--from", archive]);
    assert_eq!(code, 3);
    assert!(table.contains("FAIL  quota") && table.contains("1 fail, 0 warn"), "{table}");

    // An admission webhook (HTTPS on loopback) that refuses ConfigMaps: the dry run meets it.
    let webhook = TestWebhook::start("ConfigMap").unwrap();
    target.apply(None, &webhook.configuration("refuse-configmaps", "configmaps")).unwrap();
    let (code, report) = preflight(&target, &["--from", archive]);
    assert_eq!(code, 3, "{report:#}");
    let mut found = issues(&report);
    found.sort();
    assert_eq!(found, ["fail dry-run-rejected ConfigMap/web-config", "fail quota PersistentVolumeClaim/data"], "{report:#}");
    let refusal = report["issues"].as_array().unwrap().iter().find(|i| i["kind"] == "ConfigMap").unwrap()["message"].as_str().unwrap().to_owned();
    assert!(refusal.contains(WEBHOOK_REFUSAL) && refusal.contains("refuse-configmap.ferry.test"), "{refusal}");
    assert!(webhook.reviews() >= 1);
    target.kubectl(&["delete", "validatingwebhookconfiguration", "refuse-configmaps"]).unwrap();

    // Workloads the node cannot run, read from the source cluster.
    source.kubectl(&["create", "namespace", "batch"]).unwrap();
    source.apply(Some("batch"), UNSCHEDULABLE).unwrap();
    target.kubectl(&["create", "namespace", "batch"]).unwrap();
    let batch = ["--context-from", "admin", "--kubeconfig-from", &source_kubeconfig, "-n", "batch"];
    let (code, report) = preflight(&target, &batch);
    assert_eq!(code, 3, "{report:#}");
    assert_eq!(issues(&report), ["fail requests-exceed-nodes Deployment/huge", "fail unschedulable Job/pinned"], "{report:#}");
    let message = report["issues"][0]["message"].as_str().unwrap();
    assert!(message.starts_with("one Pod requests 1000 CPU, 1 MiB; no node it may run on has that much allocatable (at most "), "{message}");

    // A probe Pod on the target tries two given endpoints: a port that listens and one that does
    // not (the objects' own endpoints are not on loopback, and the probe must send nothing elsewhere).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let open = listener.local_addr().unwrap().to_string();
    let closed = format!("127.0.0.1:{}", ferry_testcluster::free_port().unwrap());
    let probe = [&batch[..], &["--probe", &open, "--probe", &closed, "--probe-image", BUSYBOX_IMAGE, "--probe-host-network"]].concat();
    let (code, report) = preflight(&target, &probe);
    assert_eq!(code, 3, "{report:#}");
    let probed: Vec<(&str, &str)> = report["issues"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["code"].as_str().unwrap().starts_with("endpoint-"))
        .map(|i| (i["code"].as_str().unwrap(), i["message"].as_str().unwrap()))
        .collect();
    assert_eq!(probed.len(), 2, "{report:#}");
    let reached = probed.iter().find(|(code, _)| *code == "endpoint-reachable").unwrap().1;
    assert!(reached.starts_with(&format!("`{open}` (given with --probe) accepted a TCP connection from a Pod on `admin`")), "{reached}");
    let refused = probed.iter().find(|(code, _)| *code == "endpoint-unreachable").unwrap().1;
    assert!(refused.contains(&format!("`{closed}`")) && refused.contains("Connection refused"), "{refused}");
    let left = || target.kubectl(&["get", "pods", "-A", "-l", "app.kubernetes.io/component=probe", "-o", "name"]).unwrap();
    assert_eq!(left().trim(), "", "the probe Pod is deleted");
    // A probe image the node cannot pull (a loopback registry that is not there): one warning
    // naming what went untested, no endpoint called reachable or not, and no Pod left.
    let nowhere = format!("127.0.0.1:{}/none:1", ferry_testcluster::free_port().unwrap());
    let unpullable = [&batch[..], &["--probe", &open, "--probe-image", &nowhere, "--probe-host-network"]].concat();
    let (_, report) = preflight(&target, &unpullable);
    let probe_issues: Vec<&Value> = report["issues"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["code"].as_str().unwrap().contains("probe") || i["code"].as_str().unwrap().starts_with("endpoint-"))
        .collect();
    assert_eq!(probe_issues.len(), 1, "{report:#}");
    assert_eq!((probe_issues[0]["code"].as_str(), probe_issues[0]["severity"].as_str()), (Some("probe-failed"), Some("warn")), "{report:#}");
    let message = probe_issues[0]["message"].as_str().unwrap();
    assert!(message.contains("cannot start") && message.contains(&format!("`{open}`")), "{message}");
    assert_eq!(left().trim(), "", "the probe Pod is deleted");

    // Images, looked up in real registries: only the `media` namespace, whose images all live on loopback.
    let (open, locked) = (TestRegistry::start().unwrap(), TestRegistry::start_with_basic_auth().unwrap());
    push_images(&open, &locked).await;
    source.kubectl(&["create", "namespace", "media"]).unwrap();
    source.apply(Some("media"), &media(&open.host(), &locked.host())).unwrap();
    target.kubectl(&["create", "namespace", "media"]).unwrap();
    let media = ["--context-from", "admin", "--kubeconfig-from", &source_kubeconfig, "-n", "media", "--images"];
    let (code, report) = preflight(&target, &media);
    assert_eq!(code, 3, "{report:#}");
    let mut found: Vec<String> = report["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| format!("{} {} {}", i["severity"].as_str().unwrap(), i["code"].as_str().unwrap(), i["message"].as_str().unwrap().split("`: ").next().unwrap()))
        .collect();
    found.sort();
    let image = |registry: &TestRegistry, name: &str| format!("`{}/shop/{name}", registry.host());
    assert_eq!(
        found,
        [
            format!("fail image-missing {}", image(&open, "gone:1")),
            format!("fail image-platform {}", image(&open, "arm:1")),
            format!("fail image-pull-denied {}", image(&locked, "web:1")),
        ],
        "{report:#}"
    );
    let text = report.to_string();
    assert!(text.contains("the image is built for linux/arm64 only; the target's nodes are linux/amd64 (used by Deployment media/arm)"), "{report:#}");
    assert!(text.contains("with the pull secret `media/wrong` (used by Deployment media/locked)"), "{report:#}");
    assert!(!text.contains(REGISTRY_PASSWORD) && !text.contains("not-the-password"), "no credential in the report: {report:#}");
}

/// Pushes `shop/web:1` to both registries (and as `:2` to the locked one) and, to the open one,
/// `shop/arm:1`: an index whose only entry claims linux/arm64.
async fn push_images(open: &TestRegistry, locked: &TestRegistry) {
    let layer = ferry_images::LayerBuilder::new().bytes("data", &b"web"[..], 0o644).unwrap().build().unwrap();
    let image = ferry_images::Image::new(&ferry_images::ImageConfig::default(), vec![layer]);
    let anonymous = ferry_images::Credentials::anonymous();
    ferry_images::push(&image, &format!("{}/shop/web:1", open.host()), &anonymous).await.unwrap();
    ferry_images::push(&image, &format!("{}/shop/arm:amd64", open.host()), &anonymous).await.unwrap();
    let basic = ferry_images::Credentials::basic(REGISTRY_USER, REGISTRY_PASSWORD);
    ferry_images::push(&image, &format!("{}/shop/web:1", locked.host()), &basic).await.unwrap();
    ferry_images::push(&image, &format!("{}/shop/web:2", locked.host()), &basic).await.unwrap();
    let entry = serde_json::json!({"mediaType": ferry_images::MANIFEST_MEDIA_TYPE, "digest": image.digest().to_string(), "size": image.manifest().size(),
        "platform": {"os": "linux", "architecture": "arm64"}});
    let index = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [entry]});
    let docker_config = open.path().join("docker-config.json");
    std::fs::write(&docker_config, "{}").unwrap();
    let registries = ferry_images::Registries::new(ferry_images::RegistryOptions { docker_config: Some(docker_config), ..Default::default() }).unwrap();
    let body = bytes::Bytes::from(serde_json::to_vec(&index).unwrap());
    registries.get(&open.host()).unwrap().manifest_put("shop/arm", "1", &body, "application/vnd.oci.image.index.v1+json").await.unwrap();
}

/// Deployments in `media` using an image that is there, one that is not, one for arm64 only,
/// and the locked registry's image with a right and (under another tag: the check uses an
/// image's first pull secret) with a wrong pull secret.
fn media(open: &str, locked: &str) -> String {
    use base64::Engine as _;
    let secret = |name: &str, password: &str| {
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{REGISTRY_USER}:{password}"));
        let config = serde_json::json!({"auths": {locked: {"auth": auth}}}).to_string();
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}}}\ntype: kubernetes.io/dockerconfigjson\ndata: {{.dockerconfigjson: {}}}\n---\n",
            base64::engine::general_purpose::STANDARD.encode(config)
        )
    };
    let deployment = |name: &str, image: &str, pull: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}}}\nspec:\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n    spec:\n      imagePullSecrets: [{pull}]\n      containers: [{{name: c, image: '{image}'}}]\n---\n"
        )
    };
    [
        secret("right", REGISTRY_PASSWORD),
        secret("wrong", "not-the-password"),
        deployment("present", &format!("{open}/shop/web:1"), ""),
        deployment("absent", &format!("{open}/shop/gone:1"), ""),
        deployment("arm", &format!("{open}/shop/arm:1"), ""),
        deployment("unlocked", &format!("{locked}/shop/web:2"), "{name: right}"),
        deployment("locked", &format!("{locked}/shop/web:1"), "{name: wrong}"),
    ]
    .concat()
}
