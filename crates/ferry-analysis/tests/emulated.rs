//! Cloud services emulated in the cluster (issue 20 item 6): a cloud-looking configuration
//! whose endpoint is overridden to a Service of the input is reported as emulated, never as
//! a managed-cloud dependency; without that Service it stays one. A StorageClass's cloud
//! finding is used by the workloads that mount claims of that class.

mod support;

use std::path::PathBuf;

use ferry_analysis::facts::Relation;
use ferry_analysis::{Assessment, EMULATED_IN_CLUSTER, Options, Resolution, WarningLevel, assess_paths};
use serde_json::{Value, json};
use support::assess_values as assess;

fn cloud(a: &Assessment) -> Vec<String> {
    a.cloud.iter().map(|c| format!("{} {}", c.service_id, c.object.name)).collect()
}

fn emulated(a: &Assessment) -> Vec<String> {
    a.warnings.iter().filter(|w| w.code == EMULATED_IN_CLUSTER).map(|w| w.message.clone()).collect()
}

fn deployment(name: &str, env: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "shop"},
           "spec": {"selector": {"matchLabels": {"app": name}}, "template": {"metadata": {"labels": {"app": name}},
                    "spec": {"containers": [{"name": "c", "image": "example/app:1", "env": env}]}}}})
}

fn service(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "shop"}, "spec": {"selector": {"app": name}, "ports": [{"port": 80}]}})
}

#[test]
fn retail_store_carts_with_dynamodb_local_is_emulated_not_amazon_dynamodb() {
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/emulated/carts-dynamodb-local.yaml"));
    let a = assess_paths(&[path], &Options::default()).unwrap();
    assert!(a.cloud.is_empty(), "{:#?}", cloud(&a));
    let notes: Vec<_> = a.warnings.iter().filter(|w| w.code == EMULATED_IN_CLUSTER).collect();
    assert_eq!(notes.len(), 1, "{:#?}", emulated(&a));
    assert_eq!(notes[0].severity, WarningLevel::Note);
    assert!(notes[0].message.contains("Amazon DynamoDB") && notes[0].message.contains("carts-dynamodb"), "{}", notes[0].message);
    assert!(notes[0].message.contains("RETAIL_CART_PERSISTENCE_DYNAMODB_ENDPOINT"), "{}", notes[0].message);
    assert!(
        a.dependencies
            .iter()
            .any(|d| d.from.name == "carts" && d.to.name == "carts-dynamodb" && d.kind == Relation::Network && d.resolution == Resolution::Resolved)
    );
}

#[test]
fn an_override_to_a_host_the_input_does_not_hold_keeps_the_cloud_finding() {
    let env = json!([{"name": "DYNAMODB_TABLE", "value": "carts"}, {"name": "DYNAMODB_ENDPOINT", "value": "http://dynamodb-local:8000"}]);
    let a = assess(vec![deployment("carts", env)]);
    assert!(cloud(&a).contains(&"aws-dynamodb carts".to_owned()), "{:#?}", cloud(&a));
    assert!(emulated(&a).is_empty());
}

#[test]
fn the_aws_sdk_endpoint_override_covers_every_aws_service_of_the_workload() {
    let env = json!([{"name": "ORDERS_SQS_QUEUE", "value": "orders"}, {"name": "AWS_ENDPOINT_URL", "value": "http://localstack:4566"}]);
    let with = assess(vec![deployment("orders", env.clone()), service("localstack")]);
    assert!(cloud(&with).is_empty(), "{:#?}", cloud(&with));
    assert_eq!(emulated(&with).len(), 1, "{:#?}", emulated(&with));
    let without = assess(vec![deployment("orders", env)]);
    assert!(cloud(&without).contains(&"aws-sqs orders".to_owned()), "no localstack Service in the input: {:#?}", cloud(&without));
}

#[test]
fn a_configuration_is_emulated_only_for_workloads_that_all_override_it() {
    let config = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "pubsub", "namespace": "shop"}, "data": {"GCP_PUBSUB_TOPIC": "orders"}});
    let reader = |name: &str, env: Value| {
        let mut d = deployment(name, env);
        d["spec"]["template"]["spec"]["containers"][0]["envFrom"] = json!([{"configMapRef": {"name": "pubsub"}}]);
        d
    };
    let emulator = json!([{"name": "PUBSUB_EMULATOR_HOST", "value": "pubsub-emulator:8085"}]);
    let all = assess(vec![config.clone(), reader("a", emulator.clone()), reader("b", emulator.clone()), service("pubsub-emulator")]);
    assert!(cloud(&all).is_empty(), "{:#?}", cloud(&all));
    let one = assess(vec![config, reader("a", emulator), reader("b", json!([])), service("pubsub-emulator")]);
    assert_eq!(cloud(&one), ["gcp-pubsub pubsub"], "`b` talks to the real Pub/Sub");
}

#[test]
fn a_storage_class_cloud_finding_is_used_by_the_workloads_that_mount_its_claims() {
    let class = json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "premium"}, "provisioner": "disk.csi.azure.com"});
    let claim = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data", "namespace": "shop"},
                       "spec": {"storageClassName": "premium", "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}});
    let mut db = deployment("db", json!([]));
    db["spec"]["template"]["spec"]["volumes"] = json!([{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]);
    let a = assess(vec![class, claim, db, deployment("web", json!([]))]);
    let finding = a.cloud.iter().find(|c| c.object.kind == "StorageClass").unwrap_or_else(|| panic!("{:#?}", cloud(&a)));
    let users: Vec<String> = finding.used_by.iter().map(|u| u.name.to_string()).collect();
    assert_eq!(users, ["db"]);
}
