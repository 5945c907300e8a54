//! `ferry images push-ferry`, `plan` and `copy` run as a user would, against real
//! `docker-registry` instances on loopback, and `ferry transform --pin-images` with the
//! evidence of a copy.

mod common;

use std::io::Read as _;

use assert_cmd::Command;
use ferry_testcluster::TestRegistry;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

fn sha256(data: &[u8]) -> String {
    Sha256::digest(data).iter().fold("sha256:".to_owned(), |mut text, byte| {
        text.push_str(&format!("{byte:02x}"));
        text
    })
}

fn ferry() -> Command {
    Command::cargo_bin("ferry").unwrap()
}

/// The member `path` of a gzip-compressed tar, if there.
fn member(layer: &[u8], path: &str) -> Option<Vec<u8>> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(layer));
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap().to_str() == Some(path) {
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            return Some(data);
        }
    }
    None
}

#[test]
fn push_ferry_pushes_this_binary_and_a_second_push_sends_only_the_manifest() {
    let registry = TestRegistry::start().unwrap();
    let reference = format!("{}/ferry:test", registry.host());
    // A copy, run itself: the target directory's binary may be rebuilt while the test runs.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("ferry");
    std::fs::copy(env!("CARGO_BIN_EXE_ferry"), &copy).unwrap();
    let ferry = || Command::new(&copy);
    let output = ferry().args(["images", "push-ferry", &reference, "-o", "json"]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let pushed: Value = serde_json::from_slice(&output.stdout).unwrap();
    let digest = pushed["digest"].as_str().unwrap();
    assert_eq!(pushed["pinned"], format!("{reference}@{digest}"));
    assert_eq!((pushed["blobsSent"].as_u64(), pushed["blobsSkipped"].as_u64()), (Some(2), Some(0)));

    let (status, manifest) = registry.get("/v2/ferry/manifests/test").unwrap();
    assert_eq!((status, sha256(&manifest).as_str()), (200, digest));
    let (status, by_digest) = registry.get(&format!("/v2/ferry/manifests/{digest}")).unwrap();
    assert_eq!((status, by_digest), (200, manifest.clone()));
    let manifest: Value = serde_json::from_slice(&manifest).unwrap();
    let layer_digest = manifest["layers"][0]["digest"].as_str().unwrap();
    let (status, layer) = registry.get(&format!("/v2/ferry/blobs/{layer_digest}")).unwrap();
    assert_eq!((status, sha256(&layer).as_str()), (200, layer_digest));
    let binary = member(&layer, "usr/local/bin/ferry").expect("the layer holds usr/local/bin/ferry");
    assert_eq!(sha256(&binary), sha256(&std::fs::read(&copy).unwrap()), "the layer holds another binary");
    assert!(member(&layer, "lib64/ld-linux-x86-64.so.2").is_some() || cfg!(not(target_arch = "x86_64")));
    let sent = pushed["bytesSent"].as_u64().unwrap();
    assert!(sent > layer.len() as u64, "{sent} bytes sent for a {} byte layer", layer.len());

    let again = ferry().args(["images", "push-ferry", &reference]).assert().success();
    let stdout = String::from_utf8_lossy(&again.get_output().stdout).into_owned();
    assert!(stdout.starts_with(&format!("{reference}@{digest}\n")), "{stdout}");
    assert!(stdout.contains("\nblobs sent: 0\nblobs skipped (already present): 2\n"), "{stdout}");
}

#[test]
fn an_unreachable_registry_fails_with_exit_1_and_says_why() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let reference = format!("127.0.0.1:{closed}/ferry:test");
    let output = ferry().args(["images", "push-ferry", &reference]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with(&format!("error: cannot push to `{reference}`\n  Caused by: registry `127.0.0.1:{closed}`: connecting failed\n")), "{stderr}");
    assert!(stderr.contains("hint: check that the registry is reachable") && !stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_bad_reference_or_binary_fails_with_exit_1() {
    let output = ferry().args(["images", "push-ferry", "127.0.0.1:5000/Bad Name:1"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Caused by: invalid image reference `127.0.0.1:5000/Bad Name:1`") && stderr.contains("hint: give REGISTRY/REPOSITORY"), "{stderr}");
    let output = ferry().args(["images", "push-ferry", "127.0.0.1:5000/ferry:1", "--binary", "/nonexistent/ferry"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with(
            "error: cannot build the image of `/nonexistent/ferry`\n  Caused by: cannot list the shared libraries of `/nonexistent/ferry`: no such file"
        ),
        "{stderr}"
    );
}

#[test]
fn help_shows_an_example_and_a_missing_reference_is_a_usage_error() {
    let help = ferry().args(["images", "push-ferry", "--help"]).assert().success();
    assert!(String::from_utf8_lossy(&help.get_output().stdout).contains("ferry images push-ferry registry.example.com/tools/ferry:0.1.0"));
    ferry().args(["images", "push-ferry"]).assert().code(2);
}

#[test]
fn credentials_come_from_docker_config_and_are_never_printed() {
    let registry = ferry_testcluster::TestRegistry::start_with_basic_auth().unwrap();
    let reference = format!("{}/private/ferry:1", registry.host());
    let dir = tempfile::tempdir().unwrap();
    let write_config =
        |auth: &str| std::fs::write(dir.path().join("config.json"), serde_json::json!({"auths": {registry.host(): {"auth": auth}}}).to_string()).unwrap();
    write_config(&ferry_testcluster::basic_credentials());
    ferry().env("DOCKER_CONFIG", dir.path()).args(["images", "push-ferry", &reference]).assert().success();

    use base64::Engine as _;
    let wrong = base64::engine::general_purpose::STANDARD.encode("ferry:wrong-password-xyz");
    write_config(&wrong);
    let output = ferry().env("DOCKER_CONFIG", dir.path()).args(["images", "push-ferry", &reference]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with(&format!("error: cannot push to `{reference}`\n")) && stderr.contains("401"), "{stderr}");
    assert!(!stderr.contains("wrong-password-xyz") && !stderr.contains(&wrong), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_runs_the_image_push_ferry_pushed() {
    let registry = TestRegistry::start().unwrap();
    let reference = format!("{}/tools/ferry:e2e", registry.host());
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("ferry");
    std::fs::copy(env!("CARGO_BIN_EXE_ferry"), &copy).unwrap();
    let output = Command::new(&copy).args(["images", "push-ferry", &reference, "-o", "json"]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let pinned = serde_json::from_slice::<Value>(&output.stdout).unwrap()["pinned"].as_str().unwrap().to_owned();
    let version = Command::new(&copy).arg("--version").output().unwrap();
    let version = String::from_utf8(version.stdout).unwrap();

    let cluster = ferry_testcluster::TestCluster::start(ferry_testcluster::Options { nodes: 1, ..Default::default() }).await.unwrap();
    cluster.trust_registry(&registry.host()).unwrap();
    let pod = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: ferry}}\nspec:\n  hostNetwork: true\n  restartPolicy: Never\n  containers:\n  - {{name: ferry, image: '{pinned}', args: ['--version']}}\n"
    );
    cluster.apply(None, &pod).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let phase = loop {
        let phase = cluster.kubectl(&["get", "pod", "ferry", "-o", "jsonpath={.status.phase}"]).unwrap();
        if phase == "Succeeded" || phase == "Failed" || std::time::Instant::now() > deadline {
            break phase;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let describe = cluster.kubectl(&["describe", "pod", "ferry"]).unwrap_or_default();
    assert_eq!(phase, "Succeeded", "{describe}");
    assert_eq!(cluster.kubectl(&["logs", "ferry"]).unwrap(), version, "the Pod ran this ferry binary, with its own libraries");
}

/// A small image pushed to `registry` as `repository:1`; its digest.
fn push_small_image(registry: &TestRegistry, repository: &str, content: &'static [u8]) -> String {
    let layer = ferry_images::LayerBuilder::new().bytes("data", content, 0o644).unwrap().build().unwrap();
    let image = ferry_images::Image::new(&ferry_images::ImageConfig::default(), vec![layer]);
    let reference = format!("{}/{repository}:1", registry.host());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(ferry_images::push(&image, &reference, &ferry_images::Credentials::anonymous())).unwrap();
    image.digest().to_string()
}

#[test]
fn images_plan_and_copy_follow_the_rules_and_a_second_copy_sends_nothing() {
    let (source, target) = (TestRegistry::start().unwrap(), TestRegistry::start().unwrap());
    let web = push_small_image(&source, "shop/web", b"web");
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("manifests");
    std::fs::create_dir(&manifests).unwrap();
    let image = format!("{}/shop/web:1", source.host());
    let deployment = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"template": {"spec": {"initContainers": [{"name": "init", "image": image}],
            "containers": [{"name": "web", "image": image}, {"name": "sidecar", "image": "busybox:1.36"}]}}}});
    std::fs::write(manifests.join("web.yaml"), deployment.to_string()).unwrap();
    let rules = dir.path().join("ferry.yaml");
    std::fs::write(
        &rules,
        format!("apiVersion: ferry.dev/v1alpha1\nkind: TransformRules\nimages:\n  - {{from: '{}/', to: '{}/mirror/'}}\n", source.host(), target.host()),
    )
    .unwrap();
    std::fs::write(dir.path().join("config.json"), "{}").unwrap();
    let args = |command: &str| {
        let mut cmd = ferry();
        cmd.args(["images", command, "-f"]).arg(&manifests).arg("--rules").arg(&rules).arg("--docker-config").arg(dir.path().join("config.json"));
        cmd
    };

    let output = args("plan").args(["-o", "json"]).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let plan: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(plan["schema"], "ferry.images.plan/v1");
    let image = &plan["images"][0];
    assert_eq!(image["target"], format!("{}/mirror/shop/web:1", target.host()));
    assert_eq!((image["copy"].as_bool(), image["resolved"]["digest"].as_str()), (Some(true), Some(web.as_str())));
    assert_eq!(image["users"].as_array().unwrap().len(), 2, "the container and the init container");
    assert_eq!(plan["images"][1]["copy"], false, "busybox stays where it is");
    assert_eq!(plan["findings"][0]["code"], "not-rewritten");

    let evidence = dir.path().join("evidence.json");
    let output = args("copy").arg("--evidence").arg(&evidence).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let written: Value = serde_json::from_slice(&std::fs::read(&evidence).unwrap()).unwrap();
    assert_eq!(written["summary"]["verified"], 1);
    assert_eq!(written["images"][0]["targetDigest"], web.as_str());
    let (status, manifest) = target.get("/v2/mirror/shop/web/manifests/1").unwrap();
    assert_eq!((status, sha256(&manifest)), (200, web.clone()));

    let output = args("copy").output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("nothing to send: every blob was already there"), "{stdout}");

    // The same objects, transformed with the evidence: pinned to the digest that was copied.
    let archive = dir.path().join("archive/");
    let id = ferry_model::ObjectId { api_version: "apps/v1".into(), kind: "Deployment".into(), namespace: Some("shop".into()), name: "web".into() };
    common::archive(&ferry_archive::Destination::Directory(archive.clone()), &[(id, "deployments.apps", deployment)]);
    let transform = |evidence: &std::path::Path| {
        let mut cmd = ferry();
        cmd.args(["transform", "--target-version", "1.30", "--diff", "--from"]).arg(&archive).arg("--rules").arg(&rules).arg("--pin-images").arg(evidence);
        cmd.output().unwrap()
    };
    let output = transform(&evidence);
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let pinned = format!("{}/mirror/shop/web:1@{web}", target.host());
    assert_eq!(stdout.matches(&pinned).count(), 2, "the container and the init container: {stdout}");
    assert!(stderr.contains("warning: Deployment shop/web: image `busybox:1.36` is not in the image copy evidence"), "{stderr}");

    let wrong = dir.path().join("plan.json");
    std::fs::write(&wrong, serde_json::to_vec(&plan).unwrap()).unwrap();
    let output = transform(&wrong);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("error: cannot pin images\n"), "{stderr}");
    assert!(stderr.contains(&format!("`{}`: `schema` is `ferry.images.plan/v1`, not `ferry.images.copy/v1`", wrong.display())), "{stderr}");
    args("plan").arg("--pin-images").arg(&evidence).assert().code(2);
}

#[test]
fn images_plan_and_copy_name_two_images_on_one_target_and_copy_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a}\nspec:\n  containers: [{name: a, image: r1.example.com/app:1}, {name: b, image: r2.example.com/app:1}]\n";
    std::fs::write(dir.path().join("pod.yaml"), pod).unwrap();
    let rules = dir.path().join("ferry.yaml");
    std::fs::write(&rules, "apiVersion: ferry.dev/v1alpha1\nkind: TransformRules\nimages:\n  - {from: r1.example.com/, to: t.example.com/}\n  - {from: r2.example.com/, to: t.example.com/}\n").unwrap();
    // Neither run may contact a registry: the conflict is found before any request.
    for args in [&["images", "plan", "--no-resolve"][..], &["images", "copy"]] {
        let output = ferry().args(args).arg("-f").arg(dir.path().join("pod.yaml")).arg("--rules").arg(&rules).output().unwrap();
        assert_eq!(output.status.code(), Some(3), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains("error [target-conflict] r1.example.com/app:1"), "{stdout}");
    }
}

/// A Deployment whose Pods run busybox from `image` (two replicas, Ready once running; host
/// network, as test nodes have no pod network).
fn busybox_deployment(image: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: shop}}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, namespace: shop}}\nspec:\n  replicas: 2\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec:\n      hostNetwork: true\n      containers:\n      - {{name: web, image: '{image}', command: [sleep, '3600'], readinessProbe: {{exec: {{command: ['true']}}, periodSeconds: 1}}}}\n"
    )
}

/// Waits until the Deployment `shop/web` is rolled out; panics with its Pods described if not.
fn rolled_out(cluster: &ferry_testcluster::TestCluster) {
    if let Err(err) = cluster.kubectl(&["-n", "shop", "rollout", "status", "deployment/web", "--timeout=180s"]) {
        panic!("{err}\n{}", cluster.kubectl(&["-n", "shop", "describe", "pods"]).unwrap_or_default());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_copy_and_migrate_the_target_pods_pull_the_pinned_image_from_the_target_registry() {
    let (a, b) = (TestRegistry::start().unwrap(), TestRegistry::start().unwrap());
    let with_node = || ferry_testcluster::TestCluster::start(ferry_testcluster::Options { nodes: 1, ..Default::default() });
    let (source, target) = tokio::join!(with_node(), with_node());
    let (source, target) = (source.unwrap(), target.unwrap());
    source.trust_registry(&a.host()).unwrap();
    target.trust_registry(&b.host()).unwrap();
    let busybox = ferry_images::busybox_image(std::path::Path::new("/bin/busybox")).unwrap();
    let digest = busybox.digest().to_string();
    ferry_images::push(&busybox, &format!("{}/tools/busybox:1", a.host()), &ferry_images::Credentials::anonymous()).await.unwrap();
    source.apply(None, &busybox_deployment(&format!("{}/tools/busybox:1", a.host()))).unwrap();
    rolled_out(&source);

    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("ferry.yaml");
    std::fs::write(
        &rules,
        format!("apiVersion: ferry.dev/v1alpha1\nkind: TransformRules\nimages:\n  - {{from: '{}/', to: '{}/mirror/'}}\n", a.host(), b.host()),
    )
    .unwrap();
    std::fs::write(dir.path().join("config.json"), "{}").unwrap();
    let (src, dst) = (source.kubeconfig(), target.kubeconfig());
    let evidence = dir.path().join("images.json");
    let output = ferry()
        .args(["images", "copy", "--context", "admin", "-n", "shop", "--kubeconfig"])
        .arg(&src)
        .arg("--rules")
        .arg(&rules)
        .arg("--docker-config")
        .arg(dir.path().join("config.json"))
        .arg("--evidence")
        .arg(&evidence)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let copied = b.requests().len();

    let output = ferry()
        .args(["migrate", "--context", "admin", "--to-context", "admin", "-n", "shop", "--kubeconfig"])
        .arg(&src)
        .arg("--to-kubeconfig")
        .arg(&dst)
        .arg("--rules")
        .arg(&rules)
        .arg("--pin-images")
        .arg(&evidence)
        .arg("--journal")
        .arg(dir.path().join("journal.jsonl"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let pinned = format!("{}/mirror/tools/busybox:1@{digest}", b.host());
    let image = target.kubectl(&["-n", "shop", "get", "deployment", "web", "-o", "jsonpath={.spec.template.spec.containers[0].image}"]).unwrap();
    assert_eq!(image, pinned);
    rolled_out(&target);
    let ready = target.kubectl(&["-n", "shop", "get", "pods", "-o", "jsonpath={.items[*].status.containerStatuses[0].ready}"]).unwrap();
    assert_eq!(ready, "true true");
    // The node resolved the pinned reference at the target registry (it holds busybox's blobs
    // already: test nodes import the same deterministic busybox image when they start).
    let requests = b.requests()[copied..].to_vec();
    let resolved = requests.iter().any(|r| r.ends_with(&format!(" /v2/mirror/tools/busybox/manifests/{digest}")));
    assert!(resolved, "the target node did not ask the target registry: {requests:?}");
    assert!(!requests.iter().any(|r| r.starts_with("PUT") || r.starts_with("POST")), "{requests:?}");
}
