//! ferry's strategic merge patches against Kubernetes' own, on a real kube-apiserver
//! (see ferry-testcluster):
//! - every row of `data/strategic-merge.yaml` says what the server's /openapi/v2 says
//!   (`x-kubernetes-patch-strategy`, `x-kubernetes-patch-merge-key`), and no merge list of
//!   the types it covers is missing (fields newer than the server, marked `since`, excepted);
//! - patches applied by the server (`kubectl patch --type strategic --dry-run=server`) and by
//!   ferry to the same stored Deployment give the same spec.

use ferry_testcluster::{Options, TestCluster};
use ferry_transform::{Rules, transform};
use serde_json::{Value, json};

const TABLE: &str = include_str!("../data/strategic-merge.yaml");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strategic_merge_patches_agree_with_the_api_server() {
    let cluster = TestCluster::start(Options::default()).await.expect("cluster");
    let openapi: Value = serde_json::from_str(&cluster.kubectl(&["get", "--raw", "/openapi/v2"]).expect("openapi")).expect("openapi JSON");
    let version: Value = serde_json::from_str(&cluster.kubectl(&["get", "--raw", "/version"]).expect("version")).expect("version JSON");
    let minor: u32 = version["minor"].as_str().and_then(|m| m.trim_end_matches('+').parse().ok()).expect("minor version");
    let failures = table_against(&openapi["definitions"], minor);
    assert!(failures.is_empty(), "data/strategic-merge.yaml differs from the API server's OpenAPI:\n{}", failures.join("\n"));
    patches_against(&cluster);
}

/// Every row against the definitions, and every patch-tagged property of a covered definition against the rows.
fn table_against(definitions: &Value, minor: u32) -> Vec<String> {
    let table: Value = serde_saphyr::from_str(TABLE).expect("data/strategic-merge.yaml");
    let mut failures = Vec::new();
    for row in table["types"].as_array().expect("types") {
        let fields = row["fields"].as_array().expect("fields");
        for definition_name in row["openapi"].as_array().expect("openapi").iter().filter_map(Value::as_str) {
            let definition_name = &served(definitions, definition_name);
            let properties = &definitions[definition_name]["properties"];
            if properties.is_null() {
                failures.push(format!("{definition_name}: not served"));
                continue;
            }
            for field in fields {
                let name = field["field"].as_str().expect("field");
                let at = format!("{definition_name}.{name}");
                let property = &properties[name];
                let newer = field["since"].as_str().and_then(|s| s.strip_prefix("1.")).and_then(|m| m.parse::<u32>().ok()).is_some_and(|m| m > minor);
                match (property.is_null(), newer) {
                    (true, true) => continue,
                    (true, false) => failures.push(format!("{at}: no such property")),
                    (false, _) => failures.extend(field_against(&at, field, property, definitions)),
                }
            }
            for (name, property) in properties.as_object().into_iter().flatten() {
                if property.get("x-kubernetes-patch-strategy").is_some() && !fields.iter().any(|f| f["field"] == name.as_str()) {
                    failures.push(format!("{definition_name}.{name}: has patch strategy {} but no row", property["x-kubernetes-patch-strategy"]));
                }
            }
        }
    }
    for kind in table["kinds"].as_array().expect("kinds") {
        let root = table["types"].as_array().unwrap().iter().find(|t| t["name"] == kind["type"]).expect("root type");
        let suffix = format!(".{}", kind["kind"].as_str().unwrap());
        assert!(root["openapi"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().ends_with(&suffix)), "{}: root type {}", kind["kind"], kind["type"]);
    }
    failures
}

fn field_against(at: &str, field: &Value, property: &Value, definitions: &Value) -> Vec<String> {
    let mut failures = Vec::new();
    let strategies: Vec<&str> = property["x-kubernetes-patch-strategy"].as_str().map(|s| s.split(',').collect()).unwrap_or_default();
    let want_merge = field["strategy"] == "merge";
    if want_merge != strategies.contains(&"merge") {
        failures.push(format!("{at}: strategy {} in the table, {strategies:?} on the server", field["strategy"]));
    }
    if field["retainKeys"] == true && !strategies.contains(&"retainKeys") {
        failures.push(format!("{at}: retainKeys in the table only"));
    }
    if field["key"] != property["x-kubernetes-patch-merge-key"] && (want_merge || !field["key"].is_null()) {
        failures.push(format!("{at}: merge key {} in the table, {} on the server", field["key"], property["x-kubernetes-patch-merge-key"]));
    }
    if let Some(of) = field["type"].as_str() {
        let reference = property["$ref"].as_str().or_else(|| property["items"]["$ref"].as_str()).unwrap_or_default();
        let table: Value = serde_saphyr::from_str(TABLE).expect("data/strategic-merge.yaml");
        let row = table["types"].as_array().unwrap().iter().find(|t| t["name"] == of).cloned().unwrap_or_default();
        let names: Vec<String> =
            row["openapi"].as_array().into_iter().flatten().map(|n| format!("#/definitions/{}", served(definitions, n.as_str().unwrap()))).collect();
        if !names.iter().any(|n| n == reference) && definitions.get(reference.trim_start_matches("#/definitions/")).is_some() {
            failures.push(format!("{at}: type {of} in the table, {reference} on the server"));
        }
    }
    failures
}

/// The definition's name, or its v1beta1 twin where the server is older than the v1 API
/// (batch/v1 CronJob came in 1.21; the beta has the same patch tags).
fn served(definitions: &Value, name: &str) -> String {
    if definitions.get(name).is_some() { name.to_owned() } else { name.replace(".v1.", ".v1beta1.") }
}

/// One Deployment, stored by the server; each patch through the server's dry run and through ferry.
fn patches_against(cluster: &TestCluster) {
    let stored = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default", "finalizers": ["example.com/a"]},
        "spec": {"paused": true, "selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
            "containers": [
                {"name": "web", "image": "nginx", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                 "ports": [{"containerPort": 80, "protocol": "TCP"}], "volumeMounts": [{"name": "data", "mountPath": "/data"}]},
                {"name": "sidecar", "image": "envoy"}],
            "tolerations": [{"key": "old", "operator": "Exists", "effect": "NoSchedule"}],
            "volumes": [{"name": "data", "emptyDir": {}}, {"name": "cache", "emptyDir": {}}]}}}});
    cluster.apply(None, &stored.to_string()).expect("create the Deployment");
    let stored: Value = serde_json::from_str(&cluster.kubectl(&["get", "deployment", "web", "-n", "default", "-o", "json"]).unwrap()).unwrap();
    let patches = [
        json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "env": [{"name": "B", "value": "two"}, {"name": "C", "value": "3"}],
            "ports": [{"containerPort": 8080, "protocol": "TCP"}]}], "tolerations": [{"key": "new", "operator": "Exists", "effect": "NoExecute"}]}}}}),
        json!({"metadata": {"finalizers": ["example.com/b"]}, "spec": {"template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"},
            {"name": "web", "env": [{"name": "A", "$patch": "delete"}], "volumeMounts": [{"mountPath": "/tmp", "name": "tmp"}]}],
            "volumes": [{"name": "cache", "$patch": "delete"}, {"name": "tmp", "emptyDir": {"medium": "Memory"}}]}}}}),
        json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["example.com/a"]}, "spec": {"replicas": 3, "paused": null,
            "template": {"spec": {"volumes": [{"$patch": "replace"}, {"name": "data", "emptyDir": {"medium": "Memory"}}]}}}}),
    ];
    for (i, patch) in patches.iter().enumerate() {
        let server = cluster.kubectl(&[
            "patch",
            "deployment",
            "web",
            "-n",
            "default",
            "--type",
            "strategic",
            "--dry-run=server",
            "-o",
            "json",
            "-p",
            &patch.to_string(),
        ]);
        let mut server: Value = serde_json::from_str(&server.unwrap_or_else(|e| panic!("patch {i}: {e}"))).unwrap();
        // ferry sanitises the `creationTimestamp: null` the server writes into templates.
        server["spec"]["template"]["metadata"].as_object_mut().map(|m| m.shift_remove("creationTimestamp"));
        let rules = format!("apiVersion: ferry.dev/v1alpha1\nkind: TransformRules\npatches:\n  - strategicMergePatch: {patch}\n");
        let options = ferry_transform::Options { target_version: "1.20".parse().unwrap(), rules: Rules::parse(&rules, "ferry.yaml").unwrap() };
        let ferry = transform(stored.clone(), &options).object.unwrap_or_else(|| panic!("patch {i} applies"));
        assert_eq!(ferry["spec"], server["spec"], "patch {i}: spec differs:\n{}", ferry_transform::diff(&server["spec"], &ferry["spec"]));
        assert_eq!(ferry["metadata"]["finalizers"], server["metadata"]["finalizers"], "patch {i}: finalizers");
    }
}
