//! `ferry certs` as users run it: on manifests (exit codes, formats, never a certificate body
//! or key in any output), and around a real `ferry migrate` between two kube-apiservers
//! v1.20.2 with cert-manager's CRDs: what cert-manager made for one issuance stays behind,
//! the TLS Secrets arrive byte for byte, and nothing would make cert-manager issue again
//! until an issuer annotation is changed on purpose.

use std::path::Path;

use assert_cmd::Command;
use base64::Engine as _;
use ferry_testcluster::{Options, TestCluster};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, date_time_ymd};
use serde_json::{Value, json};

/// cert-manager's CRDs (v1.21.1, trimmed; see tests/data/cert-manager/SOURCE).
const CRDS: &str = include_str!("data/cert-manager/crds.yaml");
/// A month into the test certificates' 90 days (2026-01-01 to 2026-04-01).
const CUTOVER: &str = "2026-02-01T00:00:00Z";

/// A TLS certificate and its key, as PEM.
struct Tls {
    crt: String,
    key: String,
}

/// A root CA, and leaves it signs for `names`.
struct Pki {
    root: CertifiedIssuer<'static, KeyPair>,
}

impl Pki {
    fn new() -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, "ferry test root");
        Pki { root: CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap() }
    }

    fn leaf(&self, names: &[&str]) -> Tls {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
        params.distinguished_name.push(DnType::CommonName, names[0]);
        params.not_before = date_time_ymd(2026, 1, 1);
        params.not_after = date_time_ymd(2026, 4, 1);
        let crt = params.signed_by(&key, &self.root).unwrap().pem() + &self.root.pem();
        Tls { crt, key: key.serialize_pem() }
    }
}

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn tls_secret(name: &str, tls: &Tls, issuer: &str) -> Value {
    let annotations =
        json!({"cert-manager.io/issuer-name": issuer, "cert-manager.io/issuer-kind": "Issuer", "cert-manager.io/issuer-group": "cert-manager.io"});
    json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls", "metadata": {"name": name, "namespace": "shop", "annotations": annotations},
        "data": {"tls.crt": b64(&tls.crt), "tls.key": b64(&tls.key)}})
}

fn opaque(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": "shop"}, "data": {"value": b64("not a real credential")}})
}

/// What a shop's certificates need: a Let's Encrypt Issuer (DNS-01) with its account key and
/// DNS credential, a Certificate and its Secret, and the Ingress that serves it; and an
/// Ingress whose certificate ingress-shim manages, with its Secret.
fn shop(pki: &Pki, shop_issuer_annotation: &str) -> (Vec<Value>, [Tls; 2]) {
    let (shop_tls, www_tls) = (pki.leaf(&["shop.example.com"]), pki.leaf(&["www.example.com"]));
    let solver = json!({"dns01": {"cloudflare": {"apiTokenSecretRef": {"name": "cloudflare-token", "key": "value"}}}});
    let objects = vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}),
        opaque("letsencrypt-account"),
        opaque("cloudflare-token"),
        tls_secret("shop-tls", &shop_tls, shop_issuer_annotation),
        tls_secret("www-tls", &www_tls, "letsencrypt"),
        json!({"apiVersion": "cert-manager.io/v1", "kind": "Issuer", "metadata": {"name": "letsencrypt", "namespace": "shop"},
            "spec": {"acme": {"server": "https://acme-v02.api.letsencrypt.org/directory", "email": "ops@example.com",
                              "privateKeySecretRef": {"name": "letsencrypt-account"}, "solvers": [solver]}}}),
        json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "shop", "namespace": "shop"},
            "spec": {"secretName": "shop-tls", "dnsNames": ["shop.example.com"], "issuerRef": {"name": "letsencrypt", "kind": "Issuer", "group": "cert-manager.io"}}}),
        ingress("shop", "shop-tls", "shop.example.com", json!({})),
        ingress("www", "www-tls", "www.example.com", json!({"cert-manager.io/issuer": "letsencrypt"})),
    ];
    (objects, [shop_tls, www_tls])
}

fn ingress(name: &str, secret: &str, host: &str, annotations: Value) -> Value {
    let backend = json!({"service": {"name": "web", "port": {"number": 80}}});
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": name, "namespace": "shop", "annotations": annotations},
        "spec": {"tls": [{"hosts": [host], "secretName": secret}], "rules": [{"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}}]}})
}

/// The objects as one `List` in JSON, which both kubectl and ferry read.
fn yaml(objects: &[Value]) -> String {
    json!({"apiVersion": "v1", "kind": "List", "items": objects}).to_string()
}

/// `ferry ARGS`: (exit code, stdout, stderr).
fn ferry(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("ferry").unwrap().args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Neither output holds a PEM block, nor any line of a certificate's or key's body, nor their base64.
fn shows_no_secret(outputs: &[&str], secrets: &[Tls]) {
    for output in outputs {
        assert!(!output.contains("-----BEGIN") && !output.contains("PRIVATE KEY-----"), "a PEM block is printed:\n{output}");
        for tls in secrets {
            for pem in [&tls.crt, &tls.key] {
                for line in pem.lines().filter(|l| !l.starts_with("-----") && l.len() >= 16) {
                    assert!(!output.contains(&line[..16]), "a line of a PEM body is printed");
                }
                assert!(!output.contains(&b64(pem)[..24]), "base64 of a PEM is printed");
            }
        }
    }
}

fn write(dir: &Path, objects: &[Value]) -> String {
    let path = dir.join("shop.yaml");
    std::fs::write(&path, yaml(objects)).unwrap();
    dir.to_str().unwrap().to_owned()
}

fn codes(report: &Value) -> Vec<&str> {
    report["findings"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap()).collect()
}

#[test]
fn manifests_that_move_cleanly_pass_and_nothing_secret_is_printed() {
    let pki = Pki::new();
    let (objects, tls) = shop(&pki, "letsencrypt");
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), &objects);
    let (code, table, stderr) = ferry(&["certs", "-f", &path, "--cutover-at", CUTOVER]);
    assert_eq!(code, 0, "{table}{stderr}");
    assert!(table.contains("shop/shop-tls") && table.contains("Certificate/shop/shop") && table.contains("Ingress/shop/www (ingress-shim)"), "{table}");
    assert!(table.contains("2026-04-01T00:00:00Z") && table.contains("EC 256"), "{table}");
    let (code, json, stderr2) = ferry(&["certs", "-f", &path, "--cutover-at", CUTOVER, "-o", "json"]);
    assert_eq!(code, 0, "{stderr2}");
    let report: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["schema"], "ferry.certs/v1");
    assert_eq!(report["certificates"].as_array().unwrap().len(), 2);
    assert!(report["findings"].as_array().unwrap().iter().all(|f| f["reissue"] == false), "{json}");
    let (code, names, stderr3) = ferry(&["certs", "-f", &path, "--cutover-at", CUTOVER, "-o", "name"]);
    assert_eq!(code, 0, "{stderr3}");
    let secrets: Vec<String> =
        report["certificates"].as_array().unwrap().iter().map(|c| format!("secret/{}\n", c["secret"]["name"].as_str().unwrap())).collect();
    assert_eq!(names, secrets.concat(), "one `secret/NAME` line per certificate, in the report's order");
    shows_no_secret(&[&table, &stderr, &json, &stderr2, &names], &tls);
}

#[test]
fn a_wrong_issuer_annotation_or_a_garbage_certificate_fails_with_exit_code_3() {
    let pki = Pki::new();
    let (mut objects, tls) = shop(&pki, "letsencrypt-staging");
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), &objects);
    let (code, json, stderr) = ferry(&["certs", "-f", &path, "--cutover-at", CUTOVER, "-o", "json"]);
    assert_eq!(code, 3, "{stderr}");
    let report: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(codes(&report), ["issuer-annotations", "duplicate-limit"], "{json}");
    assert_eq!(report["findings"][0]["object"], json!({"kind": "Secret", "namespace": "shop", "name": "shop-tls"}));
    assert_eq!(report["orders"][0]["orders"], 1);
    let (_, table, stderr2) = ferry(&["certs", "-f", &path, "--cutover-at", CUTOVER]);
    assert!(table.contains("issuer-annotations") && table.contains("[re-issues]") && table.contains("hint:"), "{table}");

    objects[3]["data"]["tls.crt"] = json!(b64("this is not PEM"));
    objects[3]["data"]["tls.key"] = json!(b64(&tls[1].key));
    let path = write(dir.path(), &objects);
    let (code, garbage, stderr3) = ferry(&["certs", "-f", &path, "--cutover-at", CUTOVER]);
    assert_eq!(code, 3);
    assert!(garbage.contains("crt-invalid") && garbage.contains("tls.crt holds no PEM block"), "{garbage}");
    shows_no_secret(&[&json, &stderr, &table, &stderr2, &garbage, &stderr3], &tls);
}

#[test]
fn the_command_line_is_checked_and_explained() {
    let (code, help, _) = ferry(&["certs", "--help"]);
    assert_eq!(code, 0);
    assert!(help.contains("ferry certs --context old-aks --to-context new-ck8s") && help.contains("Exit codes"), "{help}");
    let (code, _, stderr) = ferry(&["certs", "-f", ".", "--cutover-at", "next tuesday"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("invalid `--cutover-at`"), "{stderr}");
    assert_eq!(ferry(&["certs"]).0, 2, "an input is required");
    assert_eq!(ferry(&["certs", "-f", ".", "--context", "x"]).0, 2, "one input only");
}

/// Names of `resource` in namespace shop; none when the resource type does not exist.
fn names(cluster: &TestCluster, resource: &str) -> Vec<String> {
    match cluster.kubectl(&["get", resource, "-n", "shop", "-o", "name"]) {
        Ok(out) => out.lines().map(str::to_owned).collect(),
        Err(e) if format!("{e:?}").contains("doesn't have a resource type") => Vec::new(),
        Err(e) => panic!("{e:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_moves_certificates_without_what_would_issue_them_again() {
    let source = TestCluster::start(Options { controllers: true, ..Default::default() }).await.unwrap();
    let target = TestCluster::start(Options::default()).await.unwrap();
    source.apply(None, CRDS).unwrap();
    for crd in ["issuers", "clusterissuers", "certificates", "certificaterequests"]
        .map(|c| format!("{c}.cert-manager.io"))
        .into_iter()
        .chain(["orders", "challenges"].map(|c| format!("{c}.acme.cert-manager.io")))
    {
        source.kubectl(&["wait", "--for=condition=Established", &format!("crd/{crd}"), "--timeout=60s"]).unwrap();
    }
    let pki = Pki::new();
    let (objects, tls) = shop(&pki, "letsencrypt");
    source.apply(None, &yaml(&objects)).unwrap();
    // What cert-manager makes for one issuance, and ingress-shim's Certificate owned by its Ingress.
    let uid = source.kubectl(&["get", "ingress", "www", "-n", "shop", "-o", "jsonpath={.metadata.uid}"]).unwrap();
    let owner = json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": "www", "uid": uid, "controller": true, "blockOwnerDeletion": true});
    let issuer_ref = json!({"name": "letsencrypt", "kind": "Issuer", "group": "cert-manager.io"});
    let made = [
        json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "www-tls", "namespace": "shop", "ownerReferences": [owner]},
            "spec": {"secretName": "www-tls", "dnsNames": ["www.example.com"], "issuerRef": issuer_ref}}),
        json!({"apiVersion": "cert-manager.io/v1", "kind": "CertificateRequest", "metadata": {"name": "shop-1", "namespace": "shop"},
            "spec": {"request": b64("csr"), "issuerRef": issuer_ref}}),
        json!({"apiVersion": "acme.cert-manager.io/v1", "kind": "Order", "metadata": {"name": "shop-1-1", "namespace": "shop"},
            "spec": {"request": b64("csr"), "issuerRef": issuer_ref, "dnsNames": ["shop.example.com"]}}),
        json!({"apiVersion": "acme.cert-manager.io/v1", "kind": "Challenge", "metadata": {"name": "shop-1-1-0", "namespace": "shop"},
            "spec": {"authorizationURL": "https://acme.invalid/authz/1", "dnsName": "shop.example.com", "issuerRef": issuer_ref, "key": "k", "token": "t",
                     "type": "DNS-01", "url": "https://acme.invalid/chall/1", "solver": {"dns01": {"cloudflare": {}}}}}),
    ];
    source.apply(None, &yaml(&made)).unwrap();
    let (src, dst) = (source.kubeconfig().to_str().unwrap().to_owned(), target.kubeconfig().to_str().unwrap().to_owned());
    let journal = source.path().join("journal.jsonl");

    let (code, stdout, stderr) = ferry(&[
        "migrate",
        "--kubeconfig",
        &src,
        "--context",
        "admin",
        "--to-context",
        "admin",
        "--to-kubeconfig",
        &dst,
        "-n",
        "shop",
        "--journal",
        journal.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(names(&target, "certificates.cert-manager.io"), ["certificate.cert-manager.io/shop"], "ingress-shim's Certificate stays behind");
    assert_eq!(names(&target, "issuers.cert-manager.io"), ["issuer.cert-manager.io/letsencrypt"]);
    for resource in ["certificaterequests.cert-manager.io", "orders.acme.cert-manager.io", "challenges.acme.cert-manager.io"] {
        assert_eq!(names(&source, resource).len(), 1, "{resource} exists on the source");
        assert!(names(&target, resource).is_empty(), "{resource} was moved");
    }
    for secret in ["shop-tls", "www-tls", "letsencrypt-account", "cloudflare-token"] {
        let data = |cluster: &TestCluster| cluster.kubectl(&["get", "secret", secret, "-n", "shop", "-o", "jsonpath={.data}"]).unwrap();
        assert_eq!(data(&source), data(&target), "Secret {secret} arrives byte for byte");
    }

    let compare =
        ["certs", "--kubeconfig", &src, "--context", "admin", "--to-context", "admin", "--to-kubeconfig", &dst, "-n", "shop", "--cutover-at", CUTOVER];
    let (code, json, stderr) = ferry(&[&compare[..], &["-o", "json"]].concat());
    assert_eq!(code, 0, "{json}{stderr}");
    let report: Value = serde_json::from_str(&json).unwrap();
    assert!(report["findings"].as_array().unwrap().iter().all(|f| f["reissue"] == false), "no re-issuance condition: {json}");
    assert_eq!(codes(&report), ["target-identical", "target-identical"], "{json}");
    assert_eq!(report["orders"], json!([]));

    let archive = source.path().join("shop.ferry");
    let (code, _, stderr) = ferry(&["export", "--kubeconfig", &src, "--context", "admin", "-n", "shop", "--to", archive.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let (code, from_archive, stderr) = ferry(&["certs", "--from", archive.to_str().unwrap(), "--cutover-at", CUTOVER]);
    assert_eq!(code, 0, "{from_archive}{stderr}");
    assert!(from_archive.contains("Ingress/shop/www (ingress-shim)"), "{from_archive}");

    target.kubectl(&["annotate", "secret", "shop-tls", "-n", "shop", "cert-manager.io/issuer-name=letsencrypt-staging", "--overwrite"]).unwrap();
    let (code, planted, stderr2) = ferry(&["certs", "--kubeconfig", &dst, "--context", "admin", "-n", "shop", "--cutover-at", CUTOVER, "-o", "json"]);
    assert_eq!(code, 3, "{planted}{stderr2}");
    let report: Value = serde_json::from_str(&planted).unwrap();
    let finding = &report["findings"][0];
    assert_eq!((finding["code"].as_str(), finding["reissue"].as_bool()), (Some("issuer-annotations"), Some(true)), "{planted}");
    assert_eq!(finding["object"]["name"], "shop-tls");
    let (_, table, stderr3) = ferry(&compare);
    shows_no_secret(&[&json, &stderr, &from_archive, &planted, &stderr2, &table, &stderr3], &tls);
}
