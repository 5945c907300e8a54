//! Every check of `ferry_certs::check`, positive and negative, with certificates made here
//! (rcgen; RSA keys and SEC1/PKCS#1 encodings through the `openssl` command).

use std::io::Write as _;
use std::process::{Command, Stdio};

use base64::Engine as _;
use ferry_certs::{Options, Report, Severity, check, compare};
use ferry_model::{Node, Object, Origin};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, date_time_ymd};
use serde_json::{Value, json};

/// 2026-02-01T00:00:00Z: a month into the test leaves' 90 days.
const FEB: i64 = 1_769_904_000;
/// 2026-03-15T00:00:00Z: past the default renewal time (2/3 through, 2026-03-02).
const MID_MARCH: i64 = 1_773_532_800;
/// 2026-05-01T00:00:00Z: after the leaves expire.
const MAY: i64 = 1_777_593_600;

type Ca = CertifiedIssuer<'static, KeyPair>;

fn ca(name: &str, parent: Option<&Ca>) -> Ca {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let key = KeyPair::generate().unwrap();
    match parent {
        Some(parent) => CertifiedIssuer::signed_by(params, key, parent).unwrap(),
        None => CertifiedIssuer::self_signed(params, key).unwrap(),
    }
}

/// A leaf for `names`, valid 2026-01-01 to 2026-04-01, signed by `issuer`; its PEM.
fn leaf(names: &[&str], key: &KeyPair, issuer: &Ca) -> String {
    let mut params = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, names[0]);
    params.not_before = date_time_ymd(2026, 1, 1);
    params.not_after = date_time_ymd(2026, 4, 1);
    params.signed_by(key, issuer).unwrap().pem()
}

fn openssl(args: &[&str], input: &str) -> String {
    let mut child = Command::new("openssl").args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("openssl runs");
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "openssl {args:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn rsa_pkcs8() -> String {
    openssl(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"], "")
}

fn object(value: Value) -> Object {
    let root: Node = serde_json::from_value(value).unwrap();
    Object::from_root(root, Origin { file: "test".into(), document: 1, line: 0 })
}

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn secret(name: &str, crt: &str, key: &str, issuer: Option<(&str, &str)>) -> Object {
    let annotations = match issuer {
        Some((name, kind)) => {
            json!({"cert-manager.io/issuer-name": name, "cert-manager.io/issuer-kind": kind, "cert-manager.io/issuer-group": "cert-manager.io"})
        }
        None => json!({}),
    };
    object(json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
        "metadata": {"name": name, "namespace": "shop", "annotations": annotations},
        "data": {"tls.crt": b64(crt), "tls.key": b64(key)}}))
}

fn certificate(name: &str, secret: &str, names: &[&str], issuer: &str) -> Object {
    object(json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": name, "namespace": "shop"},
        "spec": {"secretName": secret, "dnsNames": names, "issuerRef": {"name": issuer, "kind": "Issuer", "group": "cert-manager.io"}}}))
}

fn acme_issuer(name: &str, solver: Value) -> Object {
    object(json!({"apiVersion": "cert-manager.io/v1", "kind": "Issuer", "metadata": {"name": name, "namespace": "shop"},
        "spec": {"acme": {"server": "https://acme-v02.api.letsencrypt.org/directory", "privateKeySecretRef": {"name": "letsencrypt-account"}, "solvers": [solver]}}}))
}

fn opaque(name: &str) -> Object {
    object(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": "shop"}, "data": {"k": "dg=="}}))
}

fn ingress(name: &str, secret: &str, hosts: &[&str], annotations: Value) -> Object {
    object(json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": name, "namespace": "shop", "annotations": annotations},
        "spec": {"tls": [{"secretName": secret, "hosts": hosts}], "rules": [{"host": hosts[0]}]}}))
}

fn run(objects: &[Object], cutover: i64) -> Report {
    let report = check(objects, &Options { cutover, ..Options::default() });
    no_secret_material(&report, objects);
    report
}

fn bundle(ca_bundle: Option<String>) -> Options {
    Options { cutover: FEB, ca_bundle, ..Options::default() }
}

fn codes(report: &Report) -> Vec<&'static str> {
    report.findings.iter().map(|f| f.code).collect()
}

/// Nothing of a certificate body or key appears in the report.
fn no_secret_material(report: &Report, objects: &[Object]) {
    let text = serde_json::to_string(report).unwrap();
    assert!(!text.contains("-----BEGIN"), "{text}");
    for object in objects {
        for (_, value) in object.root.get("data").map(Node::string_entries).into_iter().flatten() {
            let decoded = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(value).unwrap_or_default()).unwrap_or_default();
            for line in decoded.lines().filter(|l| l.len() > 20 && !l.starts_with("-----")) {
                assert!(!text.contains(&line[..20]), "a line of a PEM body appears in the report");
            }
            assert!(value.len() < 20 || !text.contains(&value[..20]), "base64 data appears in the report");
        }
    }
}

/// A good cert-manager set-up: Issuer with DNS-01, account key, credentials, Certificate, Secret, Ingress.
fn good() -> (Vec<Object>, Ca) {
    let root = ca("Test Root", None);
    let key = KeyPair::generate().unwrap();
    let crt = leaf(&["shop.example.com", "*.shop.example.com"], &key, &root);
    let dns01 = json!({"dns01": {"cloudflare": {"apiTokenSecretRef": {"name": "cloudflare-token", "key": "token"}}}});
    let objects = vec![
        secret("shop-tls", &(crt + &root.pem()), &key.serialize_pem(), Some(("letsencrypt", "Issuer"))),
        certificate("shop", "shop-tls", &["shop.example.com", "*.shop.example.com"], "letsencrypt"),
        acme_issuer("letsencrypt", dns01),
        opaque("letsencrypt-account"),
        opaque("cloudflare-token"),
        ingress("shop", "shop-tls", &["shop.example.com", "api.shop.example.com"], json!({})),
    ];
    (objects, root)
}

#[test]
fn a_sound_set_up_has_no_finding() {
    let (objects, _) = good();
    let report = run(&objects, FEB);
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    assert_eq!(report.certificates.len(), 1);
    let summary = &report.certificates[0];
    assert_eq!(summary.not_after.as_deref(), Some("2026-04-01T00:00:00Z"));
    assert_eq!(summary.key.as_deref(), Some("EC 256"));
    assert_eq!(summary.managed_by.as_deref(), Some("Certificate/shop/shop"));
}

#[test]
fn expired_at_the_cutover_fails_and_renewal_before_it_warns() {
    let (objects, _) = good();
    let expired = run(&objects, MAY);
    assert!(codes(&expired).contains(&"expired"), "{:?}", codes(&expired));
    assert!(expired.failing());
    let renewing = run(&objects, MID_MARCH);
    assert_eq!(codes(&renewing), ["renewal-before-cutover", "duplicate-limit"]);
    assert_eq!(renewing.findings[0].severity, Severity::Warn);
    assert!(renewing.findings[0].reissue);
    assert_eq!(renewing.orders.len(), 1);
    assert_eq!(renewing.orders[0].orders, 1);
    assert_eq!(renewing.orders[0].names, ["*.shop.example.com", "shop.example.com"]);
    assert_eq!(renewing.findings[1].severity, Severity::Info, "one order of five");
}

#[test]
fn renew_before_moves_the_renewal_time() {
    let (mut objects, _) = good();
    objects[1] = object(json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "shop", "namespace": "shop"},
        "spec": {"secretName": "shop-tls", "dnsNames": ["shop.example.com", "*.shop.example.com"], "renewBefore": "360h0m0s",
                 "issuerRef": {"name": "letsencrypt", "kind": "Issuer"}}}));
    assert!(run(&objects, MID_MARCH).findings.is_empty(), "renewal on 2026-03-17 is after the cut-over");
}

#[test]
fn a_key_of_another_certificate_is_a_mismatch() {
    let (mut objects, root) = good();
    let other = KeyPair::generate().unwrap();
    let crt = leaf(&["shop.example.com", "*.shop.example.com"], &KeyPair::generate().unwrap(), &root) + &root.pem();
    objects[0] = secret("shop-tls", &crt, &other.serialize_pem(), Some(("letsencrypt", "Issuer")));
    let report = run(&objects, FEB);
    assert_eq!(codes(&report), ["key-mismatch", "duplicate-limit"]);
    assert!(report.findings[0].message.contains("PKCS#8 EC"), "{}", report.findings[0].message);
}

#[test]
fn rsa_keys_match_as_pkcs1_and_pkcs8_and_ec_keys_as_sec1() {
    let root = ca("Test Root", None);
    let rsa = rsa_pkcs8();
    let rsa_key = KeyPair::from_pem(&rsa).unwrap();
    let rsa_crt = leaf(&["rsa.example.com"], &rsa_key, &root) + &root.pem();
    let pkcs1 = openssl(&["pkey", "-traditional"], &rsa);
    assert!(pkcs1.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    let ec_key = KeyPair::generate().unwrap();
    let ec_crt = leaf(&["ec.example.com"], &ec_key, &root) + &root.pem();
    let sec1 = openssl(&["pkey", "-traditional"], &ec_key.serialize_pem());
    assert!(sec1.starts_with("-----BEGIN EC PRIVATE KEY-----"));
    for (crt, key) in [(&rsa_crt, &rsa), (&rsa_crt, &pkcs1), (&ec_crt, &sec1)] {
        let report = run(&[secret("tls", crt, key, None)], FEB);
        assert!(report.findings.is_empty(), "{:#?}", report.findings);
    }
    assert_eq!(run(&[secret("tls", &rsa_crt, &rsa, None)], FEB).certificates[0].key.as_deref(), Some("RSA 2048"));
    let crossed = run(&[secret("tls", &rsa_crt, &sec1, None)], FEB);
    assert_eq!(codes(&crossed), ["key-mismatch"]);
    assert!(crossed.findings[0].message.contains("SEC1 EC"));
    let other_rsa = openssl(&["pkey", "-traditional"], &rsa_pkcs8());
    assert_eq!(codes(&run(&[secret("tls", &rsa_crt, &other_rsa, None)], FEB)), ["key-mismatch"]);
}

#[test]
fn garbage_is_named_without_being_quoted() {
    let root = ca("Test Root", None);
    let key = KeyPair::generate().unwrap();
    let crt = leaf(&["shop.example.com"], &key, &root);
    let cases = [
        ("not a certificate at all", key.serialize_pem(), "crt-invalid", "holds no PEM block"),
        ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", key.serialize_pem(), "crt-invalid", "not an X.509 certificate"),
        ("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n", key.serialize_pem(), "crt-invalid", "not valid PEM"),
        (crt.as_str(), "garbage".to_owned(), "key-invalid", "holds no PEM block"),
        (crt.as_str(), crt.clone(), "key-invalid", "no private key (found: CERTIFICATE)"),
        (crt.as_str(), "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".to_owned(), "key-invalid", "not a valid key"),
    ];
    for (crt, key, code, says) in cases {
        let report = run(&[secret("tls", crt, &key, None)], FEB);
        let finding = report.findings.iter().find(|f| f.code == code).unwrap_or_else(|| panic!("{code}: {:#?}", report.findings));
        assert!(finding.message.contains(says), "{code}: {}", finding.message);
        assert_eq!(finding.severity, Severity::Fail);
    }
    let in_the_wrong_key = run(&[secret("tls", &(crt.clone() + &key.serialize_pem()), &key.serialize_pem(), None)], FEB);
    assert!(in_the_wrong_key.findings.iter().any(|f| f.message.contains("holds a private key")), "{:#?}", in_the_wrong_key.findings);
}

#[test]
fn chains_are_checked_for_order_signatures_and_their_top() {
    let root = ca("Test Root", None);
    let intermediate = ca("Test Intermediate", Some(&root));
    let key = KeyPair::generate().unwrap();
    let crt = leaf(&["shop.example.com"], &key, &intermediate);
    let key_pem = key.serialize_pem();
    let in_order = run(&[secret("tls", &(crt.clone() + &intermediate.pem() + &root.pem()), &key_pem, None)], FEB);
    assert!(in_order.findings.is_empty(), "{:#?}", in_order.findings);

    let reversed = run(&[secret("tls", &(intermediate.pem() + &crt + &root.pem()), &key_pem, None)], FEB);
    let order = reversed.findings.iter().find(|f| f.code == "chain-order").expect("out of order");
    assert!(order.message.contains("`CN=shop.example.com` → `CN=Test Intermediate` → `CN=Test Root`"), "{}", order.message);

    let other_root = ca("Test Root", None);
    let forged = run(&[secret("tls", &(crt.clone() + &intermediate.pem() + &other_root.pem()), &key_pem, None)], FEB);
    assert_eq!(codes(&forged), ["chain-broken"]);
    assert!(forged.findings[0].message.contains("does not verify"), "{}", forged.findings[0].message);

    let gap = run(&[secret("tls", &(crt.clone() + &root.pem()), &key_pem, None)], FEB);
    assert_eq!(codes(&gap), ["chain-broken"]);

    let without_root = crt.clone() + &intermediate.pem();
    assert_eq!(codes(&run(&[secret("tls", &without_root, &key_pem, None)], FEB)), ["chain-unverified"]);
    let objects = [secret("tls", &without_root, &key_pem, None)];
    let trusted = check(&objects, &bundle(Some(root.pem())));
    assert!(trusted.findings.is_empty(), "{:#?}", trusted.findings);
    let wrong = check(&objects, &bundle(Some(other_root.pem())));
    assert_eq!(codes(&wrong), ["chain-incomplete"]);
    let broken_bundle = check(&objects, &bundle(Some("junk".into())));
    assert!(codes(&broken_bundle).contains(&"ca-bundle-invalid"));
}

#[test]
fn every_ingress_host_must_be_named() {
    let (mut objects, _) = good();
    objects.push(ingress("admin", "shop-tls", &["admin.example.com", "deep.api.shop.example.com"], json!({})));
    let report = run(&objects, FEB);
    assert_eq!(codes(&report), ["host-not-covered", "host-not-covered"]);
    assert!(report.findings[0].message.contains("Ingress/shop/admin serves `admin.example.com`"), "{}", report.findings[0].message);
    assert!(!report.findings[0].reissue, "a missing host does not make cert-manager issue again");
}

#[test]
fn issuer_annotations_and_names_that_differ_make_cert_manager_issue_again() {
    let (mut objects, root) = good();
    let key = KeyPair::generate().unwrap();
    let crt = leaf(&["shop.example.com", "*.shop.example.com"], &key, &root) + &root.pem();
    objects[0] = secret("shop-tls", &crt, &key.serialize_pem(), Some(("letsencrypt-staging", "Issuer")));
    let report = run(&objects, FEB);
    assert_eq!(codes(&report), ["issuer-annotations", "duplicate-limit"]);
    assert!(report.findings[0].reissue);
    objects[0] = secret("shop-tls", &crt, &key.serialize_pem(), None);
    assert_eq!(codes(&run(&objects, FEB)), ["issuer-annotations", "duplicate-limit"], "no annotation at all");
    objects[0] = secret("shop-tls", &crt, &key.serialize_pem(), Some(("letsencrypt", "ClusterIssuer")));
    assert_eq!(codes(&run(&objects, FEB)), ["issuer-annotations", "duplicate-limit"], "another kind");

    let (mut objects, _) = good();
    objects[1] = certificate("shop", "shop-tls", &["shop.example.com"], "letsencrypt");
    let report = run(&objects, FEB);
    assert_eq!(codes(&report), ["names-differ", "duplicate-limit"]);
}

#[test]
fn issuers_need_their_secrets_and_http01_cannot_renew_before_dns_moves() {
    let (mut objects, _) = good();
    objects.retain(|o| o.id.name != "letsencrypt-account" && o.id.name != "cloudflare-token");
    let report = run(&objects, FEB);
    assert_eq!(codes(&report), ["issuer-secret-missing", "account-key-missing"]);
    assert!(report.findings[0].message.contains("spec.acme.solvers[0].dns01.cloudflare.apiTokenSecretRef"), "{}", report.findings[0].message);

    let (mut objects, _) = good();
    objects[2] = acme_issuer("letsencrypt", json!({"http01": {"ingress": {"class": "nginx"}}}));
    assert_eq!(codes(&run(&objects, FEB)), ["http01-solver"]);

    let ca_issuer = object(
        json!({"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": {"name": "internal"}, "spec": {"ca": {"secretName": "internal-ca"}}}),
    );
    let report = run(&[ca_issuer], FEB);
    assert_eq!(codes(&report), ["issuer-secret-missing"]);
    assert!(report.findings[0].message.contains("`cert-manager/internal-ca`"), "{}", report.findings[0].message);
}

#[test]
fn a_missing_issuer_or_secret_is_reported() {
    let (mut objects, _) = good();
    objects.remove(2);
    assert_eq!(codes(&run(&objects, FEB)), ["issuer-missing"]);
    let (mut objects, _) = good();
    objects.remove(0);
    let report = run(&objects, FEB);
    assert_eq!(codes(&report), ["secret-missing", "duplicate-limit"]);
    assert!(report.findings[0].reissue);
}

#[test]
fn ingress_shim_certificates_are_judged_by_their_ingress_and_orders_add_up() {
    let root = ca("Test Root", None);
    let mut objects = vec![acme_issuer("letsencrypt", json!({"http01": {"ingress": {}}})), opaque("letsencrypt-account")];
    // Six Ingresses share one name set whose Secrets carry no issuer annotations: six orders.
    for i in 0..6 {
        let key = KeyPair::generate().unwrap();
        let crt = leaf(&["shop.example.com"], &key, &root) + &root.pem();
        objects.push(secret(&format!("tls-{i}"), &crt, &key.serialize_pem(), None));
        objects.push(ingress(&format!("web-{i}"), &format!("tls-{i}"), &["shop.example.com"], json!({"cert-manager.io/issuer": "letsencrypt"})));
    }
    let report = run(&objects, FEB);
    assert_eq!(report.orders.len(), 1);
    assert_eq!(report.orders[0].orders, 6);
    assert_eq!(report.orders[0].limit_per_week, Some(5));
    let limit = report.findings.iter().find(|f| f.code == "duplicate-limit").unwrap();
    assert_eq!(limit.severity, Severity::Fail);
    assert_eq!(report.certificates[0].managed_by.as_deref(), Some("Ingress/shop/web-0 (ingress-shim)"));
}

#[test]
fn the_target_must_hold_the_same_bytes() {
    let (source, root) = good();
    assert_eq!(compare(&source, &source).iter().map(|f| f.code).collect::<Vec<_>>(), ["target-identical"]);
    let key = KeyPair::generate().unwrap();
    let other = secret("shop-tls", &leaf(&["shop.example.com"], &key, &root), &key.serialize_pem(), None);
    let differs = compare(&source, &[other]);
    assert_eq!(differs[0].code, "target-secret-differs");
    assert!(differs[0].message.starts_with("tls.crt and tls.key"), "{}", differs[0].message);
    assert_eq!(compare(&source, &[]).iter().map(|f| f.code).collect::<Vec<_>>(), ["target-secret-missing"]);
}

#[test]
fn unmanaged_certificates_warn_near_expiry_and_before_they_are_valid() {
    let root = ca("Test Root", None);
    let key = KeyPair::generate().unwrap();
    let crt = leaf(&["shop.example.com"], &key, &root) + &root.pem();
    let objects = [secret("tls", &crt, &key.serialize_pem(), None)];
    assert!(run(&objects, FEB).findings.is_empty());
    assert_eq!(codes(&run(&objects, MID_MARCH)), ["expires-soon"], "nothing renews it, 17 days after the cut-over");
    const NEW_YEARS_EVE: i64 = 1_767_139_200;
    assert_eq!(codes(&run(&objects, NEW_YEARS_EVE)), ["not-yet-valid"]);
}

#[test]
fn ingress_shim_reads_renew_before_from_the_ingress() {
    let root = ca("Test Root", None);
    let key = KeyPair::generate().unwrap();
    let crt = leaf(&["shop.example.com"], &key, &root) + &root.pem();
    let with = |annotations: Value| {
        vec![
            acme_issuer("letsencrypt", json!({"dns01": {"webhook": {"groupName": "acme.example.com", "solverName": "x"}}})),
            opaque("letsencrypt-account"),
            secret("tls", &crt, &key.serialize_pem(), Some(("letsencrypt", "Issuer"))),
            ingress("web", "tls", &["shop.example.com"], annotations),
        ]
    };
    let default = run(&with(json!({"cert-manager.io/issuer": "letsencrypt"})), MID_MARCH);
    assert_eq!(codes(&default), ["renewal-before-cutover", "duplicate-limit"]);
    let later = run(&with(json!({"cert-manager.io/issuer": "letsencrypt", "cert-manager.io/renew-before": "360h"})), MID_MARCH);
    assert!(later.findings.is_empty(), "{:#?}", later.findings);
}
