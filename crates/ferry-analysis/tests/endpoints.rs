//! External endpoints (issue 20, item 10): every host, address and URL outside the cluster that
//! workloads use, from each place one is written, classified as private or public with its
//! protocol; and what is never one (a Service of the input, the cluster's names, a managed
//! cloud service, file and package names, bind addresses, CIDR blocks, Secret values).

mod support;

use serde_json::{Value, json};
use support::assess_values;

/// Each endpoint as `ADDRESS network protocol <- users`, as the JSON report writes them.
fn endpoints(objects: Vec<Value>) -> Vec<String> {
    let report = serde_json::to_value(assess_values(objects)).unwrap();
    report["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let users: Vec<&str> = e["used_by"].as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap()).collect();
            format!("{} {} {} <- {}", e["address"].as_str().unwrap(), e["network"].as_str().unwrap(), e["protocol"].as_str().unwrap_or("-"), users.join(","))
        })
        .collect()
}

fn deployment(name: &str, container: Value, volumes: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "shop"},
           "spec": {"selector": {"matchLabels": {"app": name}}, "template": {"metadata": {"labels": {"app": name}},
                    "spec": {"containers": [container], "volumes": volumes}}}})
}

fn service(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "shop"}, "spec": spec})
}

fn config_map(name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "shop"}, "data": data})
}

#[test]
fn env_args_and_the_configuration_workloads_read_are_classified_with_their_protocol() {
    let env = json!([
        {"name": "SMTP_HOST", "value": "smtp.sendgrid.net"}, {"name": "SMTP_PORT", "value": "587"},
        {"name": "LDAP_URL", "value": "ldaps://dc1.corp:636"},
        {"name": "DB", "value": "jdbc:sqlserver://10.20.0.5:1433;databaseName=orders"},
        {"name": "LEGACY_API", "value": "https://erp.example.com/api/v2"},
        {"name": "FROM_MAP", "valueFrom": {"configMapKeyRef": {"name": "keyed", "key": "ORACLE"}}},
    ]);
    let container = json!({"name": "c", "image": "web:1", "env": env, "args": ["--ntp=ntp.ubuntu.com", "--kdc", "kdc.ad.internal:88"],
                           "envFrom": [{"configMapRef": {"name": "settings"}}]});
    let volumes = json!([{"name": "files", "configMap": {"name": "files"}}]);
    let found = endpoints(vec![
        deployment("web", container, volumes),
        config_map("settings", json!({"MONGO_URL": "mongodb://mongo1.db.lan:27017/app"})),
        config_map("keyed", json!({"ORACLE": "oracle-prod:1521", "UNUSED": "ftp://files.example.org"})),
        config_map("files", json!({"app.conf": "# see https://nginx.org/en/docs/http/ngx_http_upstream_module.html\nupstream { server 192.168.10.4:8080; }"})),
    ]);
    let expected = [
        "192.168.10.4:8080 private HTTP <- web",
        "sqlserver://10.20.0.5:1433 private SQL Server <- web",
        "ldaps://dc1.corp:636 private LDAPS <- web",
        "kdc.ad.internal:88 private Kerberos <- web",
        "mongodb://mongo1.db.lan:27017 private MongoDB <- web",
        "oracle-prod:1521 private Oracle <- web",
        "https://erp.example.com public HTTPS <- web",
        "ntp.ubuntu.com public - <- web",
        "smtp.sendgrid.net public - <- web",
    ];
    let mut sorted = found.clone();
    sorted.sort();
    let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(sorted, want, "{found:#?}");
}

#[test]
fn external_name_services_hand_written_endpoints_service_entries_and_dapr_components() {
    let caller = json!({"name": "c", "image": "web:1", "env": [{"name": "LEGACY", "value": "http://legacy:8080"}, {"name": "MAIL", "value": "mail-relay:25"},
                                                              {"name": "SLICED", "value": "sliced:5432"}]});
    let dapr = |name: &str| {
        let mut d = deployment(name, json!({"name": "c", "image": "x:1"}), json!([]));
        d["spec"]["template"]["metadata"]["annotations"] = json!({"dapr.io/enabled": "true", "dapr.io/app-id": name});
        d
    };
    let found = endpoints(vec![
        deployment("web", caller, json!([])),
        service("legacy", json!({"type": "ExternalName", "externalName": "legacy.corp.example.net"})),
        service("mail-relay", json!({"ports": [{"port": 25}]})),
        json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "mail-relay", "namespace": "shop"},
               "subsets": [{"addresses": [{"ip": "172.20.1.9"}], "ports": [{"port": 25}]}]}),
        service("sliced", json!({"ports": [{"port": 5432}]})),
        json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": {"name": "sliced-1", "namespace": "shop",
               "labels": {"kubernetes.io/service-name": "sliced"}}, "addressType": "IPv4", "endpoints": [{"addresses": ["100.64.3.3"]}], "ports": [{"port": 5432}]}),
        json!({"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry", "metadata": {"name": "payments", "namespace": "shop"},
               "spec": {"hosts": ["api.stripe.com"], "location": "MESH_EXTERNAL"}}),
        dapr("orders"),
        json!({"apiVersion": "dapr.io/v1alpha1", "kind": "Component", "metadata": {"name": "mail", "namespace": "shop"}, "scopes": ["orders"],
               "spec": {"type": "bindings.smtp", "version": "v1", "metadata": [{"name": "host", "value": "smtp.office365.com"}, {"name": "port", "value": "587"}]}}),
    ]);
    for want in [
        "legacy.corp.example.net public - <- web",
        "172.20.1.9:25 private SMTP <- web",
        "100.64.3.3:5432 private PostgreSQL <- web",
        "api.stripe.com public - <- ",
        "smtp.office365.com public - <- orders",
    ] {
        assert!(found.contains(&want.to_owned()), "{want} missing from {found:#?}");
    }
    assert_eq!(found.len(), 5, "{found:#?}");
}

#[test]
fn what_is_never_an_external_endpoint() {
    let env = json!([
        {"name": "CART_ADDR", "value": "cart:7070"}, {"name": "CATALOG", "value": "http://catalog.other.svc.cluster.local:80"},
        {"name": "API", "value": "https://kubernetes.default.svc"}, {"name": "BLOB", "value": "https://acct.blob.core.windows.net/x"},
        {"name": "BIND", "value": "0.0.0.0:8080"}, {"name": "NO_PROXY", "value": "10.0.0.0/8,127.0.0.1,localhost"},
        {"name": "MAIN_CLASS", "value": "com.example.app"}, {"name": "POD_DNS", "value": "web-0.web.shop.svc.cluster.local"},
        {"name": "NEIGHBOUR", "value": "orders.shop:8080"}, {"name": "VERSION", "value": "1.2.3"},
    ]);
    let container = json!({"name": "c", "image": "web:1", "env": env, "command": ["python", "app.py", "--config", "settings.json", "run.sh"],
                           "envFrom": [{"secretRef": {"name": "db"}}]});
    let found = endpoints(vec![
        deployment("web", container, json!([])),
        service("cart", json!({"selector": {"app": "cart"}})),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "shop"}, "stringData": {"DB_URL": "postgres://db.corp.example.com:5432/x"}}),
        json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "cart", "namespace": "shop"},
               "subsets": [{"addresses": [{"ip": "10.1.1.1", "targetRef": {"kind": "Pod", "name": "cart-1"}}], "ports": [{"port": 7070}]}]}),
        json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": {"name": "cart-x", "namespace": "shop",
               "labels": {"kubernetes.io/service-name": "cart"}}, "endpoints": [{"addresses": ["10.1.1.2"], "targetRef": {"kind": "Pod", "name": "cart-2"}}], "ports": [{"port": 7070}]}),
        config_map("unread", json!({"URL": "https://nobody-reads-this.example.com"})),
    ]);
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn private_suffixes_addresses_and_single_labels_are_private_and_public_names_are_public() {
    let env: Vec<Value> = [
        ("A", "http://files.home.arpa"),
        ("B", "http://printer.local"),
        ("C", "http://[fd00::10]:8080"),
        ("D_HOST", "sqlsrv01"),
        ("E", "http://169.254.169.254/latest"),
        ("F", "https://example.com/hook"),
        ("G", "https://8.8.8.8"),
    ]
    .iter()
    .map(|(name, value)| json!({"name": name, "value": value}))
    .collect();
    let report = serde_json::to_value(assess_values(vec![deployment("web", json!({"name": "c", "image": "w:1", "env": env}), json!([]))])).unwrap();
    let places: Vec<(String, String, String)> = report["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["host"].as_str().unwrap().to_owned(), e["network"].as_str().unwrap().to_owned(), e["reason"].as_str().unwrap().to_owned()))
        .collect();
    let network = |host: &str| places.iter().find(|p| p.0 == host).map(|p| p.1.as_str()).unwrap_or_else(|| panic!("{host} missing: {places:#?}"));
    for host in ["files.home.arpa", "printer.local", "fd00::10", "sqlsrv01", "169.254.169.254"] {
        assert_eq!(network(host), "private", "{host}");
    }
    for host in ["example.com", "8.8.8.8"] {
        assert_eq!(network(host), "public", "{host}");
    }
    assert!(places.iter().any(|p| p.0 == "files.home.arpa" && p.2.contains(".home.arpa")), "the reason names the suffix: {places:#?}");
}
