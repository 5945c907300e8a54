//! Findings a migration team needs (issue 20 item 9): an env entry the API server rejects, a
//! pod volume a volumeClaimTemplate silently replaces, what nothing in the input reaches
//! (orphans, with the precision rules of `orphans.rs`), and no "selects nothing" for a
//! selector whose pods come from unrendered Helm templates.

mod support;

use ferry_analysis::{Assessment, Options, WarningLevel, assess_paths};
use serde_json::{Value, json};
use support::assess_values as assess;

/// The warnings of `code`, as `SEVERITY OBJECT-NAME`.
fn warnings(a: &Assessment, code: &str) -> Vec<String> {
    a.warnings.iter().filter(|w| w.code == code).map(|w| format!("{:?} {}", w.severity, w.object.as_ref().map_or("-".into(), |o| o.name.to_string()))).collect()
}

fn pod(kind: &str, name: &str, containers: Value, extra: Value) -> Value {
    let mut spec = json!({"containers": containers});
    spec.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    json!({"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": "shop"},
           "spec": {"selector": {"matchLabels": {"app": name}}, "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}})
}

fn container(env: Value) -> Value {
    json!([{"name": "c", "image": "example/app:1", "env": env}])
}

fn service(name: &str, selects: Option<&str>, r#type: &str) -> Value {
    let mut spec = json!({"type": r#type, "ports": [{"port": 80}]});
    if let Some(app) = selects {
        spec["selector"] = json!({"app": app});
    }
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "shop"}, "spec": spec})
}

#[test]
fn an_env_entry_with_value_and_value_from_is_an_error() {
    let env = json!([
        {"name": "BOTH", "value": "x", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
        {"name": "EMPTY_VALUE", "value": "", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
        {"name": "ONLY_VALUE", "value": "x"},
    ]);
    let a = assess(vec![pod("Deployment", "web", container(env), json!({}))]);
    assert_eq!(warnings(&a, "env-value-and-value-from"), ["Error web"], "an empty `value` is accepted next to `valueFrom`");
    let w = a.warnings.iter().find(|w| w.code == "env-value-and-value-from").unwrap();
    assert!(w.message.contains("`BOTH`"), "{}", w.message);
    assert!(a.has_input_errors(), "the API server rejects the object as written");
}

#[test]
fn a_pod_volume_named_like_a_volume_claim_template_is_shadowed() {
    let statefulset = |volume: &str| {
        let mut s = pod("StatefulSet", "db", json!([{"name": "c", "image": "postgres:16"}]), json!({"volumes": [{"name": volume, "emptyDir": {}}]}));
        s["spec"]["volumeClaimTemplates"] = json!([{"metadata": {"name": "data"}, "spec": {"resources": {"requests": {"storage": "1Gi"}}}}]);
        s
    };
    let shadowed = assess(vec![statefulset("data")]);
    assert_eq!(warnings(&shadowed, "volume-shadowed-by-claim-template"), ["Warning db"]);
    let w = shadowed.warnings.iter().find(|w| w.code == "volume-shadowed-by-claim-template").unwrap();
    assert_eq!(w.location.as_ref().and_then(|l| l.field.as_deref()), Some("spec.template.spec.volumes[0]"));
    assert!(warnings(&assess(vec![statefulset("scratch")]), "volume-shadowed-by-claim-template").is_empty());
}

#[test]
fn workloads_that_nothing_reaches_are_orphans_and_the_rest_are_not() {
    let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "operator"},
                         "roleRef": {"kind": "ClusterRole", "name": "operator", "apiGroup": "rbac.authorization.k8s.io"},
                         "subjects": [{"kind": "ServiceAccount", "name": "operator", "namespace": "shop"}]});
    let a = assess(vec![
        pod("Deployment", "old-app", container(json!([])), json!({})),
        pod("Deployment", "worker", container(json!([{"name": "API_URL", "value": "http://api:80"}])), json!({})),
        pod("Deployment", "operator", container(json!([])), json!({"serviceAccountName": "operator"})),
        binding,
        pod("DaemonSet", "agent", container(json!([])), json!({})),
        pod("Deployment", "api", container(json!([])), json!({})),
        service("api", Some("api"), "ClusterIP"),
        pod("Deployment", "internal", container(json!([])), json!({})),
        service("internal", Some("internal"), "ClusterIP"),
        pod("Deployment", "front", container(json!([])), json!({})),
        service("front", Some("front"), "LoadBalancer"),
        service("legacy-mail", None, "ExternalName"),
    ]);
    assert_eq!(
        warnings(&a, "orphan"),
        ["Note old-app", "Note legacy-mail"],
        "a worker calls out, an operator works through the API server, a DaemonSet is a node agent, `api` is called, `internal` may be called from code, `front` is an entry point"
    );
}

#[test]
fn an_in_cluster_store_next_to_its_managed_replacement_is_an_orphan() {
    let app = pod("Deployment", "orders", container(json!([{"name": "DB_HOST", "value": "orders.cluster-abc.eu-west-1.rds.amazonaws.com"}])), json!({}));
    let mut store = pod("StatefulSet", "postgres", json!([{"name": "c", "image": "postgres:16"}]), json!({}));
    store["spec"]["volumeClaimTemplates"] = json!([{"metadata": {"name": "data"}, "spec": {"resources": {"requests": {"storage": "1Gi"}}}}]);
    let left_behind = assess(vec![app.clone(), store.clone(), service("postgres", Some("postgres"), "ClusterIP")]);
    assert_eq!(warnings(&left_behind, "orphan"), ["Note postgres"]);
    let message = &left_behind.warnings.iter().find(|w| w.code == "orphan").unwrap().message;
    assert!(message.contains("Amazon RDS"), "{message}");

    let without_managed = pod("Deployment", "orders", container(json!([])), json!({}));
    let code_defaults = assess(vec![without_managed, store.clone(), service("postgres", Some("postgres"), "ClusterIP")]);
    assert!(
        warnings(&code_defaults, "orphan").iter().all(|w| !w.ends_with("postgres")),
        "may be reached by an address in code: {:?}",
        warnings(&code_defaults, "orphan")
    );

    let used = pod("Deployment", "reports", container(json!([{"name": "PGHOST", "value": "postgres"}])), json!({}));
    let still_used = assess(vec![app, used, store, service("postgres", Some("postgres"), "ClusterIP")]);
    assert!(warnings(&still_used, "orphan").is_empty(), "{:?}", warnings(&still_used, "orphan"));
}

/// A chart whose Deployment is an unrendered template and whose Service is plain YAML.
fn chart(dir: &std::path::Path, with_deployment: bool) {
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(dir.join("Chart.yaml"), "apiVersion: v2\nname: shop\nversion: 0.1.0\n").unwrap();
    std::fs::write(
        dir.join("templates/service.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector:\n    app: web\n  ports:\n    - port: 80\n",
    )
    .unwrap();
    if with_deployment {
        let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}-web\nspec:\n  selector:\n    matchLabels:\n      {{- include \"shop.labels\" . | nindent 6 }}\n  template:\n    metadata:\n      labels:\n        {{- include \"shop.labels\" . | nindent 8 }}\n    spec:\n      containers:\n        - name: web\n          image: web:1\n";
        std::fs::write(dir.join("templates/deployment.yaml"), deployment).unwrap();
    }
}

#[test]
fn a_selector_whose_pods_are_unrendered_templates_does_not_select_nothing() {
    let with = tempfile::tempdir().unwrap();
    chart(with.path(), true);
    let a = assess_paths(&[with.path().to_path_buf()], &Options::default()).unwrap();
    assert!(warnings(&a, "selects-nothing").is_empty(), "{:?}", a.warnings);
    assert!(warnings(&a, "orphan").is_empty(), "what templates reference is unknown: {:?}", warnings(&a, "orphan"));

    let elsewhere = with.path().join("../").join(format!("{}-plain", with.path().file_name().unwrap().to_string_lossy()));
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("svc.yaml"), "apiVersion: v1\nkind: Service\nmetadata:\n  name: api\n  namespace: shop\nspec:\n  selector:\n    app: api\n")
        .unwrap();
    let both = assess_paths(&[with.path().to_path_buf(), elsewhere.clone()], &Options::default()).unwrap();
    std::fs::remove_dir_all(&elsewhere).unwrap();
    assert_eq!(warnings(&both, "selects-nothing"), ["Warning api"], "a chart elsewhere does not hold what `api` selects");

    let without = tempfile::tempdir().unwrap();
    chart(without.path(), false);
    let a = assess_paths(&[without.path().to_path_buf()], &Options::default()).unwrap();
    assert_eq!(warnings(&a, "selects-nothing"), ["Warning web"]);
    assert!(a.warnings.iter().all(|w| w.severity != WarningLevel::Error));
}
