//! ferry-cluster against a real kube-apiserver v1.20.2 (see ferry-testcluster).

use ferry_cluster::{ConnectOptions, Connection, ReadOptions, Resource, connect, discover, read, read_raw};
use ferry_model::RawObject;
use ferry_testcluster::{Options, TestCluster, User, WIDGET_CRD};
use futures::StreamExt as _;

async fn open(cluster: &TestCluster, context: &str) -> Connection {
    let options = ConnectOptions { kubeconfig: Some(cluster.kubeconfig()), context: Some(context.into()) };
    connect(&options).await.expect("connect")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_everything_paginated_with_custom_resources_and_preferred_versions() {
    let cluster = TestCluster::start(Options::default()).await.unwrap();
    cluster.apply_crd("widgets.example.com", WIDGET_CRD).unwrap();
    cluster.kubectl(&["create", "namespace", "shop"]).unwrap();
    let mut many = String::new();
    for i in 0..1203 {
        many.push_str(&format!("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}, namespace: shop, labels: {{batch: x}}}}\ndata: {{k: v}}\n"));
    }
    many.push_str("---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1, namespace: shop}\nspec: {size: 3}\n");
    many.push_str("---\napiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: nightly, namespace: shop}\nspec:\n  schedule: '0 1 * * *'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Never\n          containers: [{name: c, image: busybox}]\n");
    cluster.apply(None, &many).unwrap();

    let connection = open(&cluster, "admin").await;
    assert_eq!(connection.server_version, "v1.20.2");
    let discovery = discover(&connection).await.unwrap();
    assert!(discovery.failures.is_empty(), "{:?}", discovery.failures);
    let version_of = |plural: &str| discovery.resources.iter().find(|r| r.plural == plural).map(|r| r.api_version());
    assert_eq!(version_of("widgets").as_deref(), Some("example.com/v1"));
    assert_eq!(version_of("cronjobs").as_deref(), Some("batch/v1beta1"), "1.20 serves CronJob only in v1beta1");
    assert_eq!(version_of("horizontalpodautoscalers").as_deref(), Some("autoscaling/v1"), "preferred, not newest");
    assert_eq!(version_of("ingresses").as_deref(), Some("networking.k8s.io/v1"));
    assert!(discovery.skipped.iter().any(|(r, _)| r == "ingresses.extensions"), "read once, not twice");
    assert!(!discovery.resources.iter().any(|r| r.plural == "events"));

    let options = ReadOptions { namespaces: vec!["shop".into()], page_size: 100, ..Default::default() };
    let snapshot = read(&connection, &discovery, &options, &()).await;
    assert!(snapshot.failures.is_empty(), "{:?}", snapshot.failures);
    let in_shop = |kind: &str| snapshot.objects.iter().filter(|o| o.id.kind == kind && o.id.namespace.as_deref() == Some("shop")).count();
    assert_eq!(in_shop("ConfigMap"), 1203, "every page followed");
    let widget = snapshot.objects.iter().find(|o| o.id.kind == "Widget").expect("custom resource read");
    assert_eq!(widget.id.api_version, "example.com/v1");
    assert_eq!(widget.root.at(&["spec", "size"]).and_then(|n| n.as_str()), Some("3"));
    let config_map = snapshot.objects.iter().find(|o| o.id.name == "c7").unwrap();
    assert_eq!(config_map.id.api_version, "v1", "list items get apiVersion and kind from the resource");
    assert!(snapshot.objects.iter().any(|o| o.id.kind == "Namespace"), "cluster-scoped objects are read even with -n");
    assert!(!snapshot.objects.iter().any(|o| o.id.kind == "ServiceAccount" && o.id.namespace.as_deref() == Some("default")));

    // The same lists kept as text (what an export writes), page by page: the same objects in
    // the same order (discovery order, then the server's), the same content.
    let keep = |_: &Resource, objects: Vec<RawObject>| objects;
    let lists: Vec<_> = read_raw(&connection, &discovery, &options, &(), &keep).collect().await;
    let plurals: Vec<&str> = lists.iter().map(|list| list.resource.plural.as_str()).collect();
    let listed: Vec<&str> = discovery.resources.iter().map(|r| r.plural.as_str()).collect();
    assert_eq!(plurals, listed, "lists come out in discovery order");
    let mut raw: Vec<RawObject> = Vec::new();
    for list in lists {
        for objects in list.pages.expect("every list read") {
            assert!(objects.len() <= 100, "one page at a time");
            raw.extend(objects);
        }
    }
    let trees: Vec<_> = snapshot.objects.iter().map(|o| (o.id.clone(), o.root.to_json())).collect();
    let texts: Vec<_> = raw.iter().map(|o| (o.id.clone(), o.to_value().expect("valid JSON"))).collect();
    // Objects that change between the two reads (leases, the controllers' status) may differ.
    let stable = |(id, _): &&(ferry_model::ObjectId, serde_json::Value)| id.namespace.as_deref() == Some("shop");
    assert_eq!(trees.iter().filter(stable).collect::<Vec<_>>(), texts.iter().filter(stable).collect::<Vec<_>>());
    assert_eq!(trees.len(), texts.len());
    let c7 = raw.iter().find(|o| o.id.name == "c7").unwrap();
    assert!(c7.json().starts_with(br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"#), "the type first, as a GET returns it");

    let selected = ReadOptions { selector: Some("batch=x".into()), ..Default::default() };
    let snapshot = read(&connection, &discovery, &selected, &()).await;
    assert_eq!(snapshot.objects.len(), 1203, "only labelled objects");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_resources_are_listed_and_the_rest_is_read() {
    let viewer = User { name: "viewer".into(), groups: vec!["viewers".into()] };
    let cluster = TestCluster::start(Options { users: vec![viewer], ..Default::default() }).await.unwrap();
    cluster
        .apply(
            None,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: viewer}
rules:
- apiGroups: ["*"]
  resources: ["*"]
  verbs: [get, list]
- nonResourceURLs: ["*"]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: viewer}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view-no-secrets}
subjects: [{kind: Group, name: viewers, apiGroup: rbac.authorization.k8s.io}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: view-no-secrets}
rules:
- apiGroups: [""]
  resources: [configmaps, namespaces, services, serviceaccounts]
  verbs: [get, list]
- apiGroups: [apps]
  resources: ["*"]
  verbs: [get, list]
- nonResourceURLs: ["*"]
  verbs: [get]
"#,
        )
        .unwrap();
    cluster.kubectl(&["create", "configmap", "settings", "--from-literal=mode=fast"]).unwrap();
    let connection = open(&cluster, "viewer").await;
    let discovery = discover(&connection).await.unwrap();
    let snapshot = read(&connection, &discovery, &ReadOptions::default(), &()).await;
    let secrets = snapshot.failures.iter().find(|f| f.resource == "secrets").expect("secrets are reported as forbidden");
    assert!(secrets.error.is_forbidden(), "{:?}", secrets.error);
    assert!(snapshot.objects.iter().any(|o| o.id.kind == "ConfigMap" && o.id.name == "settings"), "allowed resources are still read");
    assert!(!snapshot.failures.iter().any(|f| f.resource == "configmaps"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_aggregated_api_does_not_stop_discovery() {
    let cluster = TestCluster::start(Options::default()).await.unwrap();
    cluster
        .apply(
            None,
            r#"
apiVersion: v1
kind: Service
metadata: {name: metrics-server, namespace: kube-system}
spec:
  ports: [{port: 443, protocol: TCP}]
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1beta1.metrics.k8s.io}
spec:
  group: metrics.k8s.io
  version: v1beta1
  groupPriorityMinimum: 100
  versionPriority: 100
  insecureSkipTLSVerify: true
  service: {name: metrics-server, namespace: kube-system}
"#,
        )
        .unwrap();
    let connection = open(&cluster, "admin").await;
    for _ in 0..50 {
        if cluster.kubectl(&["get", "--raw", "/apis"]).unwrap().contains("metrics.k8s.io") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let started = std::time::Instant::now();
    let discovery = discover(&connection).await.unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "bounded retries, not kube's 15");
    assert!(
        discovery.failures.iter().any(|f| f.path == "/apis/metrics.k8s.io/v1beta1" && f.status().is_some_and(|s| s >= 400)),
        "the broken group is reported: {:?}",
        discovery.failures
    );
    assert!(discovery.resources.iter().any(|r| r.plural == "deployments"), "the rest is discovered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_servers_bad_credentials_and_unknown_contexts_are_clear_errors() {
    let cluster = TestCluster::start(Options::default()).await.unwrap();
    let kubeconfig = std::fs::read_to_string(cluster.kubeconfig()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bad_token = dir.path().join("bad-token");
    std::fs::write(&bad_token, kubeconfig.replace(cluster.admin_token(), "wrong-token")).unwrap();
    let error = connect(&ConnectOptions { kubeconfig: Some(bad_token), context: None }).await.unwrap_err();
    let ferry_cluster::ClusterError::Request(e) = &error else { panic!("{error}") };
    assert!(e.is_unauthorized(), "{e}");
    assert!(!error.to_string().contains("wrong-token"), "credentials never appear in errors");

    let unknown = connect(&ConnectOptions { kubeconfig: Some(cluster.kubeconfig()), context: Some("prod".into()) }).await.unwrap_err();
    assert!(unknown.to_string().contains("context `prod` not found; available: admin"), "{unknown}");

    let server = cluster.server().to_owned();
    let down = dir.path().join("down");
    std::fs::write(&down, kubeconfig.clone()).unwrap();
    drop(cluster);
    let error = connect(&ConnectOptions { kubeconfig: Some(down), context: None }).await.unwrap_err();
    let ferry_cluster::ClusterError::Request(e) = &error else { panic!("{error}") };
    assert!(e.is_unreachable(), "{e} ({server})");
}
