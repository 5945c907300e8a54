//! `ferry_analysis::generated` (what `ferry export` leaves out) decides without facts what the
//! assessment decides with them; this keeps the two in step, the Service-selector rule included.

use std::collections::BTreeMap;

use ferry_analysis::{Options, Source, assess_objects, generated};
use ferry_model::load::LoadReport;
use ferry_model::{Node, Object, Origin};
use serde_json::json;

fn object(value: serde_json::Value) -> Object {
    let root: Node = serde_json::from_value(value).unwrap();
    Object::from_root(root, Origin { file: "cluster".into(), document: 1, line: 0 })
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
    for rule in generated(&objects).into_iter().flatten().map(|g| g.rule) {
        *by_export.entry(rule).or_default() += 1;
    }
    let options = Options { source: Source::Cluster, ..Options::default() };
    let assessment = assess_objects(objects, &LoadReport::default(), &options);
    let by_assessment: BTreeMap<String, usize> = assessment.inventory.generated.iter().map(|g| (g.rule.clone(), g.count)).collect();
    assert_eq!(by_export, by_assessment);
    assert_eq!(by_export.get("endpoints-controller"), Some(&1), "only the selecting Service's Endpoints: {by_export:?}");
    assert_eq!(by_export.values().sum::<usize>(), 3, "{by_export:?}");
}
