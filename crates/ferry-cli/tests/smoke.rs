//! `ferry smoke` as users run it, against a real kube-apiserver v1.20.2 whose Ingresses name
//! the hosts, and HAProxy terminating TLS on 127.0.0.3 (new) and 127.0.0.2 (old) in front of
//! real HTTP backends: exit codes, the table and JSON reports, the evidence file that `ferry
//! verify --evidence` reads, addresses from the Ingress status, and bad input.

use std::net::{IpAddr, SocketAddr};

use assert_cmd::Command;
use ferry_testcluster::{Options, TestBackend, TestCluster, TestHaproxy, TestPki, TlsSite, free_port};
use serde_json::Value;

const HOST: &str = "shop.smoke.test";

const INGRESSES: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec:
  tls: [{hosts: [shop.smoke.test], secretName: shop-tls}]
  rules:
  - host: shop.smoke.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
      - {path: /api, pathType: Prefix, backend: {service: {name: api, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: plain, namespace: shop}
spec:
  rules:
  - host: plain.smoke.test
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]
"#;

/// `ferry ARGS`: (exit code, stdout, stderr).
fn ferry(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("ferry").unwrap().args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn site(ip: [u8; 4], pem: String, backend: &TestBackend, routes: Vec<(String, SocketAddr)>) -> TlsSite {
    TlsSite { bind: SocketAddr::new(IpAddr::from(ip), free_port().unwrap()), pem, sni: None, routes, backend: backend.address() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_new_cluster_is_tested_over_tls_and_a_failing_path_fails_the_run() {
    let cluster = TestCluster::start(Options::default()).await.unwrap();
    cluster.apply(None, INGRESSES).unwrap();
    let pki = TestPki::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("ca.pem");
    std::fs::write(&bundle, pki.root_pem()).unwrap();
    let checks = dir.path().join("checks.yaml");
    std::fs::write(&checks, format!("checks:\n  - {{name: health, host: {HOST}, path: /healthz, expect_status: 200, expect_body: ok shop}}\n")).unwrap();

    let (old_backend, new_backend, api) = (
        TestBackend::start("shop", [127, 0, 0, 2].into()).unwrap(),
        TestBackend::start("shop", [127, 0, 0, 3].into()).unwrap(),
        TestBackend::start("api", [127, 0, 0, 3].into()).unwrap(),
    );
    api.set_status(502);
    let old = site([127, 0, 0, 2], pki.leaf(HOST, false).unwrap(), &old_backend, Vec::new());
    let healthy = site([127, 0, 0, 3], pki.leaf(HOST, false).unwrap(), &new_backend, Vec::new());
    let failing_api = site([127, 0, 0, 3], pki.leaf(HOST, false).unwrap(), &new_backend, vec![("/api".into(), api.address())]);
    let _old_haproxy = TestHaproxy::start_tls(std::slice::from_ref(&old)).unwrap();
    let new_haproxy = TestHaproxy::start_tls(&[healthy.clone(), failing_api.clone()]).unwrap();
    let kubeconfig = cluster.kubeconfig();
    let kubeconfig = kubeconfig.to_str().unwrap();
    let common = ["smoke", "--to-context", "admin", "--kubeconfig", kubeconfig, "-n", "shop", "--ca-bundle", bundle.to_str().unwrap()];
    let (old_address, checks) = (old.bind.to_string(), checks.to_str().unwrap().to_owned());

    // All healthy: the Ingress's two paths and the check pass, compared with the old side.
    let pin = format!("{HOST}:{}:127.0.0.3", healthy.bind.port());
    let (code, stdout, stderr) = ferry(&[&common[..], &["--resolve", &pin, "--compare-address", &old_address, "--checks", &checks]].concat());
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let api_row = stdout.lines().find(|l| l.contains(&format!("GET https://{HOST}/api "))).unwrap_or_default();
    let cells: Vec<&str> = api_row.split_whitespace().collect();
    assert_eq!(cells[..7], ["ok", "GET", &format!("https://{HOST}/api"), "ingress", "shop/web", &healthy.bind.to_string(), "200"], "{stdout}");
    assert!(stdout.contains("ingress shop/plain plain.smoke.test/: the host is served without TLS"), "{stdout}");
    assert!(stdout.contains("3 requests: 3 passed, 0 failed; 1 skipped"), "{stdout}");

    // /api answers 502 on the new side: exit code 3, the reason in the JSON and in the evidence.
    let evidence = dir.path().join("evidence.json");
    let address = failing_api.bind.to_string();
    let args = ["--address", &address, "--compare-address", &old_address, "-o", "json", "--out", evidence.to_str().unwrap()];
    let (code, stdout, stderr) = ferry(&[&common[..], &args].concat());
    assert_eq!(code, 3, "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!((report["schema"].as_str(), report["passed"].as_u64(), report["failed"].as_u64()), (Some("ferry.smoke/v1"), Some(1), Some(1)));
    let api_outcome = &report["outcomes"][1];
    assert_eq!(api_outcome["request"]["path"], "/api");
    assert_eq!(api_outcome["problems"][0]["code"], "status-differs");
    assert_eq!(api_outcome["problems"][0]["message"], "status 502, the old side answered 200");
    assert_eq!(api_outcome["new"]["certificate"]["names"][0], HOST);
    let checks = ferry_verify::evidence::parse(&std::fs::read_to_string(&evidence).unwrap()).unwrap();
    assert_eq!(checks.iter().map(|c| c.passed).collect::<Vec<_>>(), [true, false]);
    assert_eq!(checks[1].object.as_ref().map(|o| (o.kind.as_str(), o.name.as_str())), Some(("Ingress", "web")));
    assert!(checks[1].detail.contains("status 502, the old side answered 200"), "{}", checks[1].detail);

    // SNI and Host were the host name on every request HAProxy served.
    let log = new_haproxy.log();
    let requests: Vec<&str> = log.lines().filter(|l| l.contains(" GET ")).collect();
    assert_eq!(requests.len(), 5, "{log}");
    assert!(requests.iter().all(|l| l.contains(&format!(" sni={HOST} host={HOST} "))), "{log}");

    // Without --address, the Ingress's status names where it is served: nothing listens there.
    cluster
        .kubectl(&[
            "patch",
            "ingress",
            "web",
            "-n",
            "shop",
            "--subresource=status",
            "--type=merge",
            "-p",
            r#"{"status":{"loadBalancer":{"ingress":[{"ip":"127.0.0.4"}]}}}"#,
        ])
        .unwrap();
    let (code, stdout, stderr) = ferry(&[&common[..], &["--timeout", "3"]].concat());
    assert_eq!(code, 3, "{stdout}\n{stderr}");
    assert!(stdout.contains("    refused: connection refused by 127.0.0.4:443"), "{stdout}");
}

#[test]
fn bad_resolve_syntax_is_a_usage_error_and_a_malformed_checks_file_names_the_field() {
    let (code, help, _) = ferry(&["smoke", "--help"]);
    assert_eq!(code, 0);
    assert!(help.contains("--resolve <HOST:PORT:IP>") && help.contains("Examples:") && help.contains("3  a request failed"), "{help}");
    let (code, _, stderr) = ferry(&["smoke", "--to-context", "new", "--resolve", "shop.example.com:127.0.0.3"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("error: invalid `--resolve` `shop.example.com:127.0.0.3`: expected HOST:PORT:IP"), "{stderr}");
    let (code, _, stderr) = ferry(&["smoke", "--to-context", "new", "--compare-address", "old-lb.example.com"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("invalid `--compare-address` `old-lb.example.com`"), "{stderr}");

    let dir = tempfile::tempdir().unwrap();
    let checks = dir.path().join("checks.yaml");
    std::fs::write(&checks, "checks:\n  - {host: shop.example.com}\n  - {host: shop.example.com, expect_status: 700}\n").unwrap();
    let (code, _, stderr) = ferry(&["smoke", "--to-context", "new", "--checks", checks.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains(&format!("{}: checks[1].expect_status: 700 is not an HTTP status (100-599)", checks.display())), "{stderr}");
    assert!(stderr.contains("hint: the checks file's format is in docs/smoke.md"), "{stderr}");
    std::fs::write(&checks, "checks:\n  - host: shop.example.com\n    expect: 200\n").unwrap();
    let (code, _, stderr) = ferry(&["smoke", "--to-context", "new", "--checks", checks.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("unknown field `expect`"), "{stderr}");
}
