//! Dapr scopes and secret stores, and the corners of mesh routes, that the public corpora
//! (`tests/routes_corpora.rs`) do not show: a Component scoped to some app-ids applies to those
//! only (and its cloud finding is theirs), `auth.secretStore` names a secret store Component,
//! a fully qualified destination reaches another namespace, and the reserved gateway `mesh`,
//! wildcard hosts and external hosts name no object.

mod support;

use serde_json::{Value, json};

fn assess(objects: Vec<Value>) -> Value {
    serde_json::to_value(support::assess_values(objects)).unwrap()
}

/// Each dependency as `FROM -> TO [relation] (resolution)`, with namespaces.
fn edges(report: &Value) -> Vec<String> {
    let name = |r: &Value| match r["namespace"].as_str() {
        Some(ns) => format!("{}/{ns}/{}", r["kind"].as_str().unwrap(), r["name"].as_str().unwrap()),
        None => format!("{}/{}", r["kind"].as_str().unwrap(), r["name"].as_str().unwrap()),
    };
    let deps = report["dependencies"].as_array().unwrap();
    deps.iter()
        .map(|d| format!("{} -> {} [{}] ({})", name(&d["from"]), name(&d["to"]), d["kind"].as_str().unwrap(), d["resolution"].as_str().unwrap()))
        .collect()
}

fn dapr_app(name: &str, annotations: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "shop"},
           "spec": {"selector": {"matchLabels": {"app": name}}, "template": {"metadata": {"labels": {"app": name}, "annotations": annotations},
                    "spec": {"containers": [{"name": "c", "image": "app:1"}]}}}})
}

fn component(name: &str, r#type: &str, extra: Value) -> Value {
    let mut c = json!({"apiVersion": "dapr.io/v1alpha1", "kind": "Component", "metadata": {"name": name, "namespace": "shop"},
                       "spec": {"type": r#type, "version": "v1", "metadata": []}});
    for (k, v) in extra.as_object().unwrap() {
        if k == "metadata" {
            c["spec"]["metadata"] = v.clone();
        } else {
            c[k] = v.clone();
        }
    }
    c
}

#[test]
fn scoped_components_apply_to_their_app_ids_only_and_so_does_their_cloud_finding() {
    let report = assess(vec![
        dapr_app("orders", json!({"dapr.io/enabled": "true", "dapr.io/app-id": "orders"})),
        dapr_app("billing", json!({"dapr.io/enabled": "true", "dapr.io/app-id": "billing"})),
        dapr_app("plain", json!({"dapr.io/app-id": "plain"})),
        component("bus", "pubsub.azure.servicebus.topics", json!({"scopes": ["orders"]})),
        component("cache", "state.redis", json!({"metadata": [{"name": "redisHost", "value": "redis.cache.svc.cluster.local:6379"}]})),
    ]);
    let edges = edges(&report);
    let dapr: Vec<&String> = edges.iter().filter(|e| e.contains("[dapr-component]")).collect();
    assert_eq!(
        dapr,
        [
            "Deployment/shop/orders -> Component/shop/bus [dapr-component] (resolved)",
            "Deployment/shop/orders -> Component/shop/cache [dapr-component] (resolved)",
            "Deployment/shop/billing -> Component/shop/cache [dapr-component] (resolved)",
        ],
        "a pod without `dapr.io/enabled: \"true\"` runs no sidecar: {edges:#?}"
    );
    let redis: Vec<&String> = edges.iter().filter(|e| e.contains("-> Service/cache/redis")).collect();
    assert_eq!(redis.len(), 2, "both apps that load `cache` connect to its Redis host: {edges:#?}");
    let bus = report["cloud"].as_array().unwrap().iter().find(|c| c["service_id"] == "azure-service-bus").expect("the Service Bus component");
    assert_eq!(bus["used_by"], json!([{"kind": "Deployment", "namespace": "shop", "name": "orders"}]));
}

#[test]
fn a_secret_store_named_by_auth_is_a_component_and_the_kubernetes_store_reads_secrets() {
    let secret = json!([{"name": "connectionString", "secretKeyRef": {"name": "bus-connection", "key": "value"}}]);
    let edges = edges(&assess(vec![
        component("vault", "secretstores.azure.keyvault", json!({})),
        component("bus", "pubsub.azure.servicebus.queues", json!({"metadata": secret.clone(), "auth": {"secretStore": "vault"}})),
        component("events", "pubsub.kafka", json!({"metadata": secret.clone()})),
        component("state", "state.redis", json!({"metadata": secret, "auth": {"secretStore": "kubernetes"}})),
    ]));
    assert!(edges.contains(&"Component/shop/bus -> Component/shop/vault [secret-store] (resolved)".to_owned()), "{edges:#?}");
    assert!(!edges.iter().any(|e| e.starts_with("Component/shop/bus -> Secret")), "the key is in the vault, not a Secret: {edges:#?}");
    assert!(edges.contains(&"Component/shop/events -> Secret/shop/bus-connection [component-secret] (dangling)".to_owned()), "{edges:#?}");
    assert!(edges.contains(&"Component/shop/state -> Secret/shop/bus-connection [component-secret] (dangling)".to_owned()), "{edges:#?}");
}

#[test]
fn a_component_whose_manifest_sets_no_namespace_is_assumed_alongside() {
    let mut unset = component("cache", "state.redis", json!({}));
    unset["metadata"].as_object_mut().unwrap().shift_remove("namespace");
    let report = assess(vec![dapr_app("orders", json!({"dapr.io/enabled": "true", "dapr.io/app-id": "orders"})), unset]);
    assert_eq!(edges(&report), ["Deployment/shop/orders -> Component/cache [dapr-component] (resolved)"]);
    assert!(report["dependencies"][0]["note"].as_str().unwrap().contains("no namespace"));
}

#[test]
fn a_missing_dapr_configuration_is_dangling() {
    let edges = edges(&assess(vec![dapr_app("orders", json!({"dapr.io/enabled": "true", "dapr.io/app-id": "orders", "dapr.io/config": "tracing"}))]));
    assert_eq!(edges, ["Deployment/shop/orders -> Configuration/shop/tracing [dapr-configuration] (dangling)"]);
}

#[test]
fn mesh_hosts_qualified_reserved_wildcard_and_external() {
    let service = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "reviews", "namespace": "prod"}, "spec": {"ports": [{"port": 80}]}});
    let routes = json!({"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": "edge", "namespace": "web"},
        "spec": {"hosts": ["*"], "gateways": ["mesh", "istio-system/public"],
                 "http": [{"route": [{"destination": {"host": "reviews.prod.svc.cluster.local"}}, {"destination": {"host": "api.example.com"}},
                                     {"destination": {"host": "*.example.com"}}]}],
                 "tcp": [{"route": [{"destination": {"host": "db"}}]}]}});
    let entry = json!({"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry", "metadata": {"name": "aws", "namespace": "web"},
        "spec": {"hosts": ["*.amazonaws.com", "api.example.com"], "resolution": "DNS"}});
    let report = assess(vec![service, routes, entry]);
    let mut edges = edges(&report);
    edges.sort();
    assert_eq!(
        edges,
        [
            "VirtualService/web/edge -> Gateway/istio-system/public [route-parent] (dangling)",
            "VirtualService/web/edge -> Service/prod/reviews [route-backend] (resolved)",
            "VirtualService/web/edge -> Service/web/db [route-backend] (dangling)",
        ]
    );
    let cloud: Vec<(&str, &str)> =
        report["cloud"].as_array().unwrap().iter().map(|c| (c["service_id"].as_str().unwrap(), c["matched"].as_str().unwrap())).collect();
    assert_eq!(cloud, [("aws-other", "*.amazonaws.com")], "only the cloud host of the ServiceEntry is a cloud marker");
}

/// References to Dapr, Istio and Gateway API kinds name the API group as well as the kind: an
/// object of another group with the same kind and name (a Knative `Configuration`, an Istio
/// `Gateway` for a Gateway API route, a Gateway API `Gateway` for a VirtualService, an OAM
/// `Component` for a secret store) is not the target, and neither is it looked at by the cloud
/// table's rules of the kind (an OAM Component's `spec.type` is no Dapr component type).
#[test]
fn references_to_dapr_istio_and_gateway_kinds_are_matched_by_api_group_too() {
    let mesh_gateway = json!({"apiVersion": "networking.istio.io/v1", "kind": "Gateway", "metadata": {"name": "istio-gw", "namespace": "shop"},
                              "spec": {"servers": []}});
    let api_gateway = json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": {"name": "api-gw", "namespace": "shop"},
                             "spec": {"gatewayClassName": "istio", "listeners": []}});
    let report = assess(vec![
        dapr_app("orders", json!({"dapr.io/enabled": "true", "dapr.io/app-id": "orders", "dapr.io/config": "appconfig"})),
        json!({"apiVersion": "serving.knative.dev/v1", "kind": "Configuration", "metadata": {"name": "appconfig", "namespace": "shop"}, "spec": {}}),
        component(
            "state",
            "state.redis",
            json!({"metadata": [{"name": "password", "secretKeyRef": {"name": "p", "key": "k"}}], "auth": {"secretStore": "vault"}}),
        ),
        json!({"apiVersion": "core.oam.dev/v1beta1", "kind": "Component", "metadata": {"name": "vault", "namespace": "shop"},
               "spec": {"type": "state.azure.cosmosdb"}}),
        mesh_gateway,
        api_gateway,
        json!({"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": "vs", "namespace": "shop"},
               "spec": {"hosts": ["*"], "gateways": ["api-gw", "istio-gw"], "http": []}}),
        json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "route", "namespace": "shop"},
               "spec": {"parentRefs": [{"name": "istio-gw"}, {"name": "api-gw"}], "rules": []}}),
    ]);
    let edges = edges(&report);
    let of = |relation: &str| -> Vec<&String> { edges.iter().filter(|e| e.contains(relation)).collect() };
    assert_eq!(of("[dapr-configuration]"), ["Deployment/shop/orders -> Configuration/shop/appconfig [dapr-configuration] (dangling)"]);
    assert_eq!(of("[secret-store]"), ["Component/shop/state -> Component/shop/vault [secret-store] (dangling)"]);
    assert_eq!(
        of("[route-parent]"),
        [
            "VirtualService/shop/vs -> Gateway/shop/api-gw [route-parent] (dangling)",
            "VirtualService/shop/vs -> Gateway/shop/istio-gw [route-parent] (resolved)",
            "HTTPRoute/shop/route -> Gateway/shop/istio-gw [route-parent] (dangling)",
            "HTTPRoute/shop/route -> Gateway/shop/api-gw [route-parent] (resolved)",
        ]
    );
    assert_eq!(report["cloud"], json!([]), "an OAM Component is no Dapr Component");
}
