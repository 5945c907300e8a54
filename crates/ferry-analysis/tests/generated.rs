//! `ferry_analysis::Provenance` (what `ferry export` leaves out, decided as objects are read)
//! decides without facts what the assessment decides with them; this keeps the two in step,
//! the Service-selector rule included, whatever order the objects come in.

use std::collections::BTreeMap;

use ferry_analysis::{Options, Provenance, Source, Verdict, assess_objects};
use ferry_model::load::LoadReport;
use ferry_model::{Node, Object, Origin};
use serde_json::json;

fn object(value: serde_json::Value) -> Object {
    let root: Node = serde_json::from_value(value).unwrap();
    Object::from_root(root, Origin { file: "cluster".into(), document: 1, line: 0 })
}

/// The rule by which `ferry export` leaves out each object, reading them in this order a page
/// of `page` objects at a time, each page judged apart and merged in order.
fn exported(objects: &[Object], page: usize) -> Vec<Option<String>> {
    let mut provenance = Provenance::default();
    let mut verdicts = Vec::new();
    for part in objects.chunks(page) {
        let mut apart = Provenance::default();
        verdicts.extend(part.iter().map(|o| apart.judge(o)));
        provenance.merge(apart);
    }
    let decide = |(o, verdict)| match verdict {
        Verdict::Known(generated) => generated,
        Verdict::AwaitsServices => provenance.decide(o),
    };
    objects.iter().zip(verdicts).map(decide).map(|g| g.map(|g| g.rule)).collect()
}

#[test]
fn endpoints_read_before_their_service_are_still_the_endpoints_controllers() {
    let objects = vec![
        object(json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "web", "namespace": "shop"}})),
        object(json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "db", "namespace": "shop"}})),
        object(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db", "namespace": "shop"}, "spec": {"ports": [{"port": 5432}]}})),
        object(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"}, "spec": {"selector": {"app": "web"}}})),
    ];
    assert_eq!(Provenance::default().judge(&objects[0]), Verdict::AwaitsServices, "an Endpoints alone cannot be told");
    assert_eq!(Provenance::default().judge(&objects[2]), Verdict::Known(None));
    for page in 1..=objects.len() {
        assert_eq!(exported(&objects, page), [Some("endpoints-controller".to_owned()), None, None, None], "pages of {page}");
    }
}

#[test]
fn export_leaves_out_what_the_assessment_counts_as_made_by_kubernetes() {
    let owned = json!({"kind": "Deployment", "name": "web", "uid": "u", "controller": true, "apiVersion": "apps/v1"});
    let objects = vec![
        object(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"}, "spec": {"selector": {"app": "web"}}})),
        object(json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "web", "namespace": "shop"}})),
        object(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db", "namespace": "shop"}, "spec": {"ports": [{"port": 5432}]}})),
        object(json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "db", "namespace": "shop"}})),
        object(json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web-1", "namespace": "shop", "ownerReferences": [owned]}})),
        object(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kube-root-ca.crt", "namespace": "shop"}})),
        object(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "shop"}})),
    ];
    let mut by_export: BTreeMap<String, usize> = BTreeMap::new();
    for rule in exported(&objects, 2).into_iter().flatten() {
        *by_export.entry(rule).or_default() += 1;
    }
    let reversed: Vec<Object> = objects.iter().rev().cloned().collect();
    let mut backwards = exported(&reversed, 3);
    backwards.reverse();
    assert_eq!(backwards, exported(&objects, 1), "the order objects are read in changes nothing");
    let options = Options { source: Source::Cluster, ..Options::default() };
    let assessment = assess_objects(objects, &LoadReport::default(), &options);
    let by_assessment: BTreeMap<String, usize> = assessment.inventory.generated.iter().map(|g| (g.rule.clone(), g.count)).collect();
    assert_eq!(by_export, by_assessment);
    assert_eq!(by_export.get("endpoints-controller"), Some(&1), "only the selecting Service's Endpoints: {by_export:?}");
    assert_eq!(by_export.values().sum::<usize>(), 3, "{by_export:?}");
}

#[test]
fn cert_manager_orders_challenges_requests_and_ingress_shim_certificates_are_left_out() {
    let by = |kind: &str, name: &str| json!({"apiVersion": "networking.k8s.io/v1", "kind": kind, "name": name, "uid": "u", "controller": true});
    let objects = vec![
        object(json!({"apiVersion": "acme.cert-manager.io/v1", "kind": "Order", "metadata": {"name": "shop-1-1", "namespace": "shop"}})),
        object(json!({"apiVersion": "acme.cert-manager.io/v1", "kind": "Challenge", "metadata": {"name": "shop-1-1-2", "namespace": "shop"}})),
        object(json!({"apiVersion": "cert-manager.io/v1", "kind": "CertificateRequest", "metadata": {"name": "shop-1", "namespace": "shop"}})),
        object(
            json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "web-tls", "namespace": "shop", "ownerReferences": [by("Ingress", "web")]}}),
        ),
        object(json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "shop", "namespace": "shop"}})),
        object(json!({"apiVersion": "cert-manager.io/v1", "kind": "Issuer", "metadata": {"name": "letsencrypt", "namespace": "shop"}})),
        object(json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls", "metadata": {"name": "shop-tls", "namespace": "shop"}})),
    ];
    let rules = exported(&objects, 1);
    let expected = ["cert-manager-acme-order", "cert-manager-acme-challenge", "cert-manager-certificate-request", "cert-manager-ingress-shim-certificate"];
    assert_eq!(rules[..4], expected.map(|r| Some(r.to_owned())));
    assert_eq!(rules[4..], [None, None, None], "a Certificate of its own, Issuers and TLS Secrets move");
    let assessment = assess_objects(objects, &LoadReport::default(), &Options { source: Source::Cluster, ..Options::default() });
    let shim = assessment.inventory.generated.iter().find(|g| g.rule == "cert-manager-ingress-shim-certificate").expect("counted");
    assert!(shim.reason.contains("Ingress web"), "{}", shim.reason);
}
