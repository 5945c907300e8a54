//! Patterns that made wrong or missing edges on real applications (issue 20): Secrets made by
//! controllers are provided by their maker, `storageClassName: ""` names no class, a
//! cluster-scoped object with a stray namespace is still found, the legacy ingress-class
//! annotation names a class, a database name in an env
//! variable is not a call to a Service of that name, and the API server is the cluster's own.

mod support;

use serde_json::{Value, json};
use support::assess_values;

/// Each dependency as `FROM -> TO (resolution)`, names as the report writes them.
fn edges(objects: Vec<Value>) -> Vec<String> {
    let assessment = assess_values(objects);
    let report = serde_json::to_value(&assessment).unwrap();
    let name = |r: &Value| format!("{}/{}", r["kind"].as_str().unwrap(), r["name"].as_str().unwrap());
    report["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| format!("{} -> {} ({})", name(&d["from"]), name(&d["to"]), d["resolution"].as_str().unwrap()))
        .collect()
}

fn deployment(env: Value, volumes: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
           "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "c", "image": "web:1", "env": env}], "volumes": volumes}}}})
}

#[test]
fn secrets_that_controllers_make_are_provided_by_their_maker() {
    let volumes = json!([{"name": "tls", "secret": {"secretName": "web-tls"}}, {"name": "db", "secret": {"secretName": "db-credentials"}},
                         {"name": "sealed", "secret": {"secretName": "api-key"}}, {"name": "csi", "secret": {"secretName": "synced"}},
                         {"name": "gone", "secret": {"secretName": "nobody-makes-this"}}]);
    let edges = edges(vec![
        deployment(json!([]), volumes),
        json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "web", "namespace": "shop"},
               "spec": {"secretName": "web-tls", "dnsNames": ["shop.example.com"], "issuerRef": {"name": "le", "kind": "ClusterIssuer"}}}),
        json!({"apiVersion": "external-secrets.io/v1beta1", "kind": "ExternalSecret", "metadata": {"name": "db-credentials", "namespace": "shop"},
               "spec": {"secretStoreRef": {"name": "vault"}}}),
        json!({"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret", "metadata": {"name": "api-key", "namespace": "shop"}, "spec": {"encryptedData": {}}}),
        json!({"apiVersion": "secrets-store.csi.x-k8s.io/v1", "kind": "SecretProviderClass", "metadata": {"name": "vault", "namespace": "shop"},
               "spec": {"provider": "vault", "secretObjects": [{"secretName": "synced", "type": "Opaque"}]}}),
    ]);
    let to_secrets: Vec<&String> = edges.iter().filter(|e| e.starts_with("Deployment/web ->")).collect();
    assert!(to_secrets.contains(&&"Deployment/web -> Certificate/web (resolved)".to_owned()), "{edges:#?}");
    assert!(to_secrets.contains(&&"Deployment/web -> ExternalSecret/db-credentials (resolved)".to_owned()), "{edges:#?}");
    assert!(to_secrets.contains(&&"Deployment/web -> SealedSecret/api-key (resolved)".to_owned()), "{edges:#?}");
    assert!(to_secrets.contains(&&"Deployment/web -> SecretProviderClass/vault (resolved)".to_owned()), "{edges:#?}");
    assert!(to_secrets.contains(&&"Deployment/web -> Secret/nobody-makes-this (dangling)".to_owned()), "{edges:#?}");
}

#[test]
fn an_empty_storage_class_and_a_stray_namespace_on_a_cluster_scoped_object() {
    let edges = edges(vec![
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data", "namespace": "shop"},
               "spec": {"storageClassName": "", "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}),
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "nginx", "namespace": "shop"}, "spec": {"controller": "k8s.io/ingress-nginx"}}),
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web", "namespace": "shop"}, "spec": {"ingressClassName": "nginx"}}),
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
               "metadata": {"name": "legacy", "namespace": "shop", "annotations": {"kubernetes.io/ingress.class": "nginx"}}, "spec": {}}),
    ]);
    assert!(!edges.iter().any(|e| e.starts_with("PersistentVolumeClaim/data -> StorageClass")), "`\"\"` asks for no class: {edges:#?}");
    assert!(edges.contains(&"Ingress/web -> IngressClass/nginx (resolved)".to_owned()), "{edges:#?}");
    assert!(edges.contains(&"Ingress/legacy -> IngressClass/nginx (resolved)".to_owned()), "the legacy annotation names the class too: {edges:#?}");
}

#[test]
fn database_names_are_not_calls_and_the_api_server_is_the_clusters_own() {
    let env = json!([{"name": "POSTGRES_DB", "value": "orders"}, {"name": "ORDERS_HOST", "value": "payments"},
                     {"name": "KUBE_API", "value": "https://kubernetes.default.svc:443"}]);
    let service =
        |name: &str| json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "shop"}, "spec": {"ports": [{"port": 80}]}});
    let edges = edges(vec![deployment(env, json!([])), service("orders"), service("payments")]);
    assert!(!edges.iter().any(|e| e.contains("-> Service/orders")), "POSTGRES_DB names a database: {edges:#?}");
    assert!(edges.contains(&"Deployment/web -> Service/payments (resolved)".to_owned()), "{edges:#?}");
    assert!(edges.iter().any(|e| e.contains("-> Service/kubernetes") && e.ends_with("(cluster-provided)")), "{edges:#?}");
}

/// A Deployment `web` in `shop` that mounts ConfigMap `files` holding `data`.
fn mounting(data: Value) -> Vec<Value> {
    let volumes = json!([{"name": "files", "configMap": {"name": "files"}}]);
    vec![deployment(json!([]), volumes), json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "files", "namespace": "shop"}, "data": data})]
}

#[test]
fn host_port_shapes_inside_embedded_json_are_not_service_references() {
    let settings = r#"{"$$hashKey": "object:1058", "id": "panel:12", "redisHost": "cache:6379", "Logging": {"LogLevel": "Information"}}"#;
    let edges = edges(mounting(json!({"appsettings.json": settings})));
    assert!(!edges.iter().any(|e| e.contains("Service/object") || e.contains("Service/panel")), "JSON keys and ids are no addresses: {edges:#?}");
    assert!(edges.contains(&"Deployment/web -> Service/cache (dangling)".to_owned()), "a key that names an address still counts: {edges:#?}");
}

#[test]
fn a_grafana_dashboard_in_a_config_map_holds_no_service_references() {
    let dashboard = r#"{"schemaVersion": 39, "panels": [{"datasource": "prometheus:9090", "targets": [{"expr": "up", "refId": "A"}], "gridPos": {"h": 8}, "$$hashKey": "object:1058"}], "links": [{"url": "https://grafana.com/grafana/dashboards/1860"}]}"#;
    let edges = edges(mounting(json!({"node.json": dashboard})));
    assert!(!edges.iter().any(|e| e.contains("-> Service/")), "a dashboard is no configuration of the workload's calls: {edges:#?}");
}
