//! `ferry_cluster::apply` against a real kube-apiserver v1.20.2.

use ferry_cluster::apply::{ApplyObject, ApplyOptions, IfExists, Journal, Outcome, apply};
use ferry_cluster::{ConnectOptions, Connection, connect};
use ferry_model::ObjectId;
use ferry_testcluster::{Options, TestCluster, WIDGET_CRD};
use serde_json::{Value, json};

async fn open(cluster: &TestCluster) -> Connection {
    let options = ConnectOptions { kubeconfig: Some(cluster.kubeconfig()), context: Some("admin".into()) };
    connect(&options).await.expect("connect")
}

fn object(value: Value) -> ApplyObject {
    let id = ObjectId {
        api_version: value["apiVersion"].as_str().unwrap().into(),
        kind: value["kind"].as_str().unwrap().into(),
        namespace: value["metadata"]["namespace"].as_str().map(str::to_owned),
        name: value["metadata"]["name"].as_str().unwrap().into(),
    };
    ApplyObject::new(id, value)
}

/// A CRD and its custom resource, a namespace the input does not declare, a
/// Service without port protocols (the 1.20 server-side-apply bug), and a
/// workload with its configuration.
fn shop() -> Vec<ApplyObject> {
    vec![
        object(json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1", "namespace": "shop"}, "spec": {"size": 3}})),
        object(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "cart", "namespace": "shop"},
            "spec": {"selector": {"matchLabels": {"app": "cart"}}, "template": {"metadata": {"labels": {"app": "cart"}},
            "spec": {"containers": [{"name": "cart", "image": "cart:1", "envFrom": [{"configMapRef": {"name": "cart"}}]}]}}}})),
        object(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "cart", "namespace": "shop"},
            "spec": {"selector": {"app": "cart"}, "ports": [{"port": 80, "targetPort": 8080}]}})),
        object(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cart", "namespace": "shop"}, "data": {"MODE": "prod"}})),
        object(serde_saphyr::from_str(WIDGET_CRD).unwrap()),
    ]
}

fn outcomes(report: &ferry_cluster::apply::ApplyReport) -> Vec<(String, String)> {
    let mut list: Vec<(String, String)> = report.results.iter().map(|r| (format!("{}/{}", r.id.kind, r.id.name), r.outcome.label().to_owned())).collect();
    list.sort();
    list
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applies_in_order_creates_missing_namespaces_then_reports_unchanged_and_updated() {
    let cluster = TestCluster::start(Options::default()).await.unwrap();
    let connection = open(&cluster).await;

    let dry = ApplyOptions { dry_run: true, ..Default::default() };
    let report = apply(&connection, shop(), &|_| None, &dry, &mut Journal::disabled(), &()).await.unwrap();
    let widget = report.results.iter().find(|r| r.id.kind == "Widget").unwrap();
    assert!(matches!(&widget.outcome, Outcome::Skipped(why) if why.contains("CustomResourceDefinition")), "{:?}", widget.outcome);
    assert!(cluster.kubectl(&["get", "crd"]).unwrap().is_empty(), "a dry run stores nothing");

    let report = apply(&connection, shop(), &|_| None, &ApplyOptions::default(), &mut Journal::disabled(), &()).await.unwrap();
    assert!(report.is_complete(), "{:#?}", report.results);
    assert_eq!(report.created_namespaces, ["shop"]);
    let order: Vec<&str> = report.results.iter().map(|r| r.id.kind.as_str()).collect();
    assert_eq!(order, ["CustomResourceDefinition", "Namespace", "ConfigMap", "Widget", "Deployment", "Service"]);
    assert!(report.results.iter().all(|r| r.outcome == Outcome::Created), "{:#?}", report.results);
    let protocol = cluster.kubectl(&["get", "service", "cart", "-n", "shop", "-o", "jsonpath={.spec.ports[0].protocol}"]).unwrap();
    assert_eq!(protocol, "TCP");
    let managers = cluster.kubectl(&["get", "configmap", "cart", "-n", "shop", "-o", "jsonpath={.metadata.managedFields[*].manager}"]).unwrap();
    assert_eq!(managers, "ferry");

    let mut changed = shop();
    let mut config = changed[3].object().unwrap();
    config["data"]["MODE"] = json!("canary");
    changed[3] = object(config);
    let report = apply(&connection, changed, &|_| None, &ApplyOptions::default(), &mut Journal::disabled(), &()).await.unwrap();
    let results = outcomes(&report);
    assert!(results.contains(&("ConfigMap/cart".into(), "updated".into())), "{results:?}");
    assert!(results.contains(&("Deployment/cart".into(), "unchanged".into())), "{results:?}");
    assert!(results.contains(&("Widget/w1".into(), "unchanged".into())), "{results:?}");
    assert!(!results.iter().any(|(k, _)| k == "Namespace/shop"), "the namespace exists now: {results:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_objects_are_skipped_or_refused_as_asked_and_failures_are_collected() {
    let cluster = TestCluster::start(Options::default()).await.unwrap();
    cluster.kubectl(&["create", "namespace", "shop"]).unwrap();
    cluster.kubectl(&["create", "configmap", "cart", "-n", "shop", "--from-literal=MODE=theirs"]).unwrap();
    let connection = open(&cluster).await;

    let refuse = ApplyOptions { if_exists: IfExists::Fail, ..Default::default() };
    let error = apply(&connection, shop(), &|_| None, &refuse, &mut Journal::disabled(), &()).await.unwrap_err();
    assert!(error.to_string().contains("ConfigMap shop/cart"), "{error}");
    assert!(cluster.kubectl(&["get", "crd"]).unwrap().is_empty(), "refused before anything was applied");

    let skip = ApplyOptions { if_exists: IfExists::Skip, ..Default::default() };
    let mut objects = shop();
    objects.push(object(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name", "namespace": "shop"}})));
    let report = apply(&connection, objects, &|_| None, &skip, &mut Journal::disabled(), &()).await.unwrap();
    let results = outcomes(&report);
    assert!(results.contains(&("ConfigMap/cart".into(), "skipped".into())), "{results:?}");
    assert!(results.contains(&("ConfigMap/Bad_Name".into(), "failed".into())), "{results:?}");
    assert!(results.contains(&("Widget/w1".into(), "created".into())), "one failure does not stop the rest: {results:?}");
    assert!(!report.is_complete());
    let mode = cluster.kubectl(&["get", "configmap", "cart", "-n", "shop", "-o", "jsonpath={.data.MODE}"]).unwrap();
    assert_eq!(mode, "theirs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_s_message_about_a_refused_secret_does_not_show_its_values() {
    let cluster = TestCluster::start(Options::default()).await.unwrap();
    let connection = open(&cluster).await;
    let secret = object(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "default"},
        "stringData": {"password": 987654321987_u64, "token": {"nested": "hunter2-not-a-string"}}}));
    let report = apply(&connection, vec![secret], &|_| None, &ApplyOptions::default(), &mut Journal::disabled(), &()).await.unwrap();
    let Outcome::Failed(message) = &report.results[0].outcome else { panic!("refused: {:?}", report.results[0].outcome) };
    assert!(!message.contains("987654321987") && !message.contains("hunter2"), "{message}");
    assert!(message.contains("stringData") || message.contains("string"), "the reason stays: {message}");
}
