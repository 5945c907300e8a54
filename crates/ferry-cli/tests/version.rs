//! `ferry version`: the client's version, commit and target, in text, JSON and YAML; with a
//! context the server's version, checked against what kubectl reads from a real kube-apiserver.

use assert_cmd::Command;
use ferry_testcluster::{Options, TestCluster};
use serde_json::Value;

fn ferry(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("ferry").unwrap().args(args).output().unwrap()
}

fn json(args: &[&str]) -> Value {
    let out = ferry(args);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The commit this checkout is at, if git can tell (the binary is rebuilt when HEAD moves).
fn head() -> Option<String> {
    let out = std::process::Command::new("git").args(["rev-parse", "HEAD"]).output().ok().filter(|o| o.status.success())?;
    Some(String::from_utf8(out.stdout).unwrap().trim().to_owned())
}

#[test]
fn the_client_version_names_the_package_version_commit_and_target() {
    let versions = json(&["version", "--client", "-o", "json"]);
    let client = &versions["clientVersion"];
    assert_eq!(client["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(client["gitCommit"].as_str().map(str::to_owned), head());
    let target = client["target"].as_str().unwrap();
    assert!(target.starts_with(std::env::consts::ARCH) && target.contains(std::env::consts::OS), "{target}");
    assert!(client["rustcVersion"].as_str().unwrap().starts_with("rustc "), "{client}");
    assert!(versions.get("serverVersion").is_none(), "{versions}");
}

#[test]
fn text_and_yaml_say_the_same_as_json() {
    let client = json(&["version", "-o", "json"])["clientVersion"].clone();
    let text = String::from_utf8(ferry(&["version"]).stdout).unwrap();
    assert!(text.starts_with(&format!("Client Version: {}\n", client["version"].as_str().unwrap())), "{text}");
    assert!(text.contains(&format!("Target: {}\n", client["target"].as_str().unwrap())), "{text}");
    let yaml = String::from_utf8(ferry(&["version", "-o", "yaml"]).stdout).unwrap();
    assert!(yaml.starts_with("clientVersion:\n"), "{yaml}");
    assert!(yaml.contains(&format!("  target: {}\n", client["target"].as_str().unwrap())), "{yaml}");
}

#[test]
fn an_unknown_output_format_is_a_usage_error() {
    let out = ferry(&["version", "-o", "table"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("possible values: json, yaml"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_context_the_server_version_is_the_one_kubectl_reads() {
    let cluster = TestCluster::start(Options::default()).await.unwrap();
    let kubectl: Value = serde_json::from_str(&cluster.kubectl(&["version", "-o", "json"]).unwrap()).unwrap();
    let kubeconfig = cluster.kubeconfig();
    let kubeconfig = kubeconfig.to_str().unwrap();

    let versions = json(&["version", "--kubeconfig", kubeconfig, "--context", "admin", "-o", "json"]);
    let server = &versions["serverVersion"];
    assert_eq!(server["gitVersion"], kubectl["serverVersion"]["gitVersion"], "{versions}");
    assert_eq!(server["context"], "admin");
    assert_eq!(server["server"], cluster.server());

    let text = String::from_utf8(ferry(&["version", "--kubeconfig", kubeconfig]).stdout).unwrap();
    assert!(text.ends_with(&format!("Server Version: {} (context `admin`, {})\n", server["gitVersion"].as_str().unwrap(), cluster.server())), "{text}");

    let client_only = json(&["version", "--client", "--kubeconfig", kubeconfig, "-o", "json"]);
    assert!(client_only.get("serverVersion").is_none(), "{client_only}");
}

#[test]
fn an_unreachable_server_is_exit_code_1_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("config");
    let port = ferry_testcluster::free_port().unwrap();
    std::fs::write(
        &kubeconfig,
        format!("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: 'https://127.0.0.1:{port}'}}\ncontexts:\n- name: gone\n  context: {{cluster: c, user: u}}\nusers:\n- name: u\n  user: {{token: s3cr3t}}\ncurrent-context: gone\n"),
    )
    .unwrap();
    let out = ferry(&["version", "--kubeconfig", kubeconfig.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("error: cannot reach the API server of the current context"), "{stderr}");
    assert!(!stderr.contains("s3cr3t") && out.stdout.is_empty(), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_timeout_gives_up_on_a_stopped_api_server() {
    let cluster = TestCluster::start(Options::default()).await.unwrap();
    let kubeconfig = cluster.kubeconfig();
    let args = ["version", "--kubeconfig", kubeconfig.to_str().unwrap(), "--request-timeout", "1s"];
    assert_eq!(ferry(&args).status.code(), Some(0), "answers while running");

    cluster.pause_apiserver(true);
    // Without --request-timeout this read would wait 120 s; with 1s it gives up.
    let out = ferry(&args);
    cluster.pause_apiserver(false);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot reach the API server") && stderr.contains("deadline has elapsed"), "{stderr}");
    assert!(stderr.contains("--request-timeout"), "the hint names the flag: {stderr}");

    let global = ferry(&["--request-timeout", "0", "version", "--kubeconfig", kubeconfig.to_str().unwrap()]);
    assert_eq!(global.status.code(), Some(0), "given before the command too; 0 is no limit");
    let bad = ferry(&["version", "--request-timeout", "soon"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid `--request-timeout` duration `soon`"));
}
