//! ferry's API conversions against Kubernetes' own, on real kube-apiservers v1.20.2
//! (see ferry-testcluster), which serve many kinds in an old and a new version.
//!
//! Each object of `oracle/cases.yaml` is created through its old version on a
//! "source" server, which stores it and converts it to the new version itself.
//! ferry's conversion of the same object is created through the new version on a
//! "target" server. Two checks follow, after `normalise_for_compare`:
//! - every field ferry writes equals the server's own conversion (the server may
//!   have more fields: its defaults);
//! - read back in the new version, so that both sides are defaulted by the same
//!   code, the two objects are equal.
//!
//! The second alone would miss differences that the server's storage format hides
//! (HorizontalPodAutoscalers are stored as autoscaling/v1 with their metrics in an
//! annotation, which normalises the metric target type). The few places where
//! ferry deliberately differs are checked for exactly that difference
//! (`documented_divergences`) and then set aside.

use std::collections::BTreeSet;

use ferry_analysis::Knowledge;
use ferry_testcluster::{Options, TestCluster};
use ferry_transform::{KubeVersion, convert, diff, normalise_for_compare};
use serde_json::Value;

const CASES: &str = include_str!("oracle/cases.yaml");

/// ferry's result and the version of the same shape that v1.20 serves
/// (`autoscaling/v2` is `autoscaling/v2beta2` with another name).
const SERVED_AS: &[(&str, &str)] = &[("autoscaling/v2", "autoscaling/v2beta2")];

/// Every (old apiVersion, kind) the cases must cover.
const COVERED: &[(&str, &str)] = &[
    ("extensions/v1beta1", "Ingress"),
    ("networking.k8s.io/v1beta1", "Ingress"),
    ("networking.k8s.io/v1beta1", "IngressClass"),
    ("apiextensions.k8s.io/v1beta1", "CustomResourceDefinition"),
    ("admissionregistration.k8s.io/v1beta1", "ValidatingWebhookConfiguration"),
    ("admissionregistration.k8s.io/v1beta1", "MutatingWebhookConfiguration"),
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1beta1", "Role"),
    ("rbac.authorization.k8s.io/v1beta1", "RoleBinding"),
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRoleBinding"),
    ("scheduling.k8s.io/v1beta1", "PriorityClass"),
    ("storage.k8s.io/v1beta1", "StorageClass"),
    ("storage.k8s.io/v1beta1", "CSIDriver"),
    ("storage.k8s.io/v1beta1", "VolumeAttachment"),
    ("storage.k8s.io/v1beta1", "CSINode"),
    ("coordination.k8s.io/v1beta1", "Lease"),
    ("certificates.k8s.io/v1beta1", "CertificateSigningRequest"),
    ("autoscaling/v2beta1", "HorizontalPodAutoscaler"),
    ("node.k8s.io/v1beta1", "RuntimeClass"),
    ("events.k8s.io/v1beta1", "Event"),
    ("apiregistration.k8s.io/v1beta1", "APIService"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversions_agree_with_the_api_server() {
    let (source, target) = tokio::join!(TestCluster::start(Options::default()), TestCluster::start(Options::default()));
    let (source, target) = (source.expect("source cluster"), target.expect("target cluster"));
    let cases: Vec<Value> = serde_saphyr::from_multiple(CASES).expect("oracle/cases.yaml");
    let mut failures = Vec::new();
    let mut covered = BTreeSet::new();
    let count = cases.len();
    for old in cases {
        let label = format!("{} {} {}", text(&old, "/apiVersion"), text(&old, "/kind"), text(&old, "/metadata/name"));
        covered.insert((text(&old, "/apiVersion").to_owned(), text(&old, "/kind").to_owned()));
        if let Err(failure) = check(&source, &target, old) {
            failures.push(format!("--- {label}:\n{failure}"));
        }
    }
    for (api_version, kind) in COVERED {
        assert!(covered.contains(&(api_version.to_string(), kind.to_string())), "no case for {api_version} {kind}");
    }
    assert!(failures.is_empty(), "{} of {count} conversions differ from the API server's:\n{}", failures.len(), failures.join("\n"));
}

/// Creates the object on the source and ferry's conversion on the target, and compares their read-backs.
fn check(source: &TestCluster, target: &TestCluster, old: Value) -> Result<(), String> {
    let kind = text(&old, "/kind").to_owned();
    let converted = convert(old.clone(), removal(&old)?).map_err(|note| format!("not converted: {note}"))?;
    let mut ours = converted.object;
    let served = SERVED_AS.iter().find(|(ferry, _)| text(&ours, "/apiVersion") == *ferry).map(|(_, served)| *served);
    if let Some(served) = served {
        ours["apiVersion"] = Value::String(served.to_owned());
    }
    source.apply(None, &old.to_string()).map_err(|e| format!("the source refused the old object: {e}"))?;
    target.apply(None, &ours.to_string()).map_err(|e| format!("the target refused ferry's conversion: {e}\n{}", pretty(&ours)))?;
    let server = normalise_for_compare(&read_back(source, &ours)?);
    let (mut server_for_written, mut written) = (server.clone(), normalise_for_compare(&ours));
    storage_artifacts(&kind, &mut server_for_written);
    storage_artifacts(&kind, &mut written);
    documented_divergences(&kind, &mut server_for_written, &mut written)?;
    if let Some(field) = first_difference(&written, &server_for_written, &mut String::new()) {
        return Err(format!("ferry writes {field} differently from the API server's conversion\n{}", sorted_diff(&server_for_written, &written)));
    }
    let (mut server, mut created) = (server, normalise_for_compare(&read_back(target, &ours)?));
    documented_divergences(&kind, &mut server, &mut created)?;
    if server == created { Ok(()) } else { Err(format!("(- the API server's conversion, + ferry's, both read back)\n{}", sorted_diff(&server, &created))) }
}

/// The first place where `part` has something that `whole` does not have equally
/// (`whole` may have more: the server's defaults), as a JSON pointer.
fn first_difference(part: &Value, whole: &Value, at: &mut String) -> Option<String> {
    match (part, whole) {
        (Value::Object(part), Value::Object(whole)) => part.iter().find_map(|(key, value)| {
            let length = at.len();
            at.push('/');
            at.push_str(key);
            let found = match whole.get(key) {
                Some(other) => first_difference(value, other, at),
                None if is_zero(value) => None,
                None => Some(at.clone()),
            };
            at.truncate(length);
            found
        }),
        (Value::Array(part), Value::Array(whole)) if part.len() == whole.len() => part.iter().zip(whole).enumerate().find_map(|(i, (value, other))| {
            let length = at.len();
            at.push_str(&format!("/{i}"));
            let found = first_difference(value, other, at);
            at.truncate(length);
            found
        }),
        (part, whole) if part == whole => None,
        _ => Some(if at.is_empty() { "/".to_owned() } else { at.clone() }),
    }
}

/// The Kubernetes version that stopped serving the old object's version.
fn removal(old: &Value) -> Result<KubeVersion, String> {
    let row = Knowledge::builtin().deprecations.lookup(text(old, "/apiVersion"), text(old, "/kind")).ok_or("not in the deprecation table")?;
    row.removed_in.ok_or_else(|| "never removed".to_owned())
}

/// `kubectl get` of the object named like `like`, in `like`'s apiVersion.
fn read_back(cluster: &TestCluster, like: &Value) -> Result<Value, String> {
    let (group, version) = text(like, "/apiVersion").split_once('/').unwrap_or(("", text(like, "/apiVersion")));
    let resource = [plural(text(like, "/kind"))?, version, group].iter().filter(|p| !p.is_empty()).copied().collect::<Vec<_>>().join(".");
    let mut args = vec!["get", resource.as_str(), text(like, "/metadata/name"), "-o", "json"];
    let namespace = text(like, "/metadata/namespace");
    if !namespace.is_empty() {
        args.extend(["-n", namespace]);
    }
    let json = cluster.kubectl(&args).map_err(|e| e.to_string())?;
    serde_json::from_str(&json).map_err(|e| e.to_string())
}

fn plural(kind: &str) -> Result<&'static str, String> {
    Ok(match kind {
        "Ingress" => "ingresses",
        "IngressClass" => "ingressclasses",
        "CustomResourceDefinition" => "customresourcedefinitions",
        "ValidatingWebhookConfiguration" => "validatingwebhookconfigurations",
        "MutatingWebhookConfiguration" => "mutatingwebhookconfigurations",
        "ClusterRole" => "clusterroles",
        "Role" => "roles",
        "RoleBinding" => "rolebindings",
        "ClusterRoleBinding" => "clusterrolebindings",
        "PriorityClass" => "priorityclasses",
        "StorageClass" => "storageclasses",
        "CSIDriver" => "csidrivers",
        "VolumeAttachment" => "volumeattachments",
        "CSINode" => "csinodes",
        "Lease" => "leases",
        "CertificateSigningRequest" => "certificatesigningrequests",
        "HorizontalPodAutoscaler" => "horizontalpodautoscalers",
        "RuntimeClass" => "runtimeclasses",
        "Event" => "events",
        "APIService" => "apiservices",
        other => return Err(format!("no plural known for {other}")),
    })
}

/// Zero values, which the API server leaves out of its answers.
fn is_zero(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
    }
}

/// Differences that come from how the server stores a kind, not from conversion:
/// HorizontalPodAutoscalers are stored as autoscaling/v1, which keeps the CPU
/// utilization target in its own field and the other metrics in an annotation, so
/// the metrics come back in another order.
fn storage_artifacts(kind: &str, object: &mut Value) {
    if kind == "HorizontalPodAutoscaler"
        && let Some(metrics) = object.pointer_mut("/spec/metrics").and_then(Value::as_array_mut)
    {
        metrics.sort_by_key(Value::to_string);
    }
}

/// Where ferry differs from the API server on purpose (see the converters and
/// docs/transform-rules.md): checks that the difference is exactly the documented
/// one, then removes it from both sides.
fn documented_divergences(kind: &str, server: &mut Value, ferry: &mut Value) -> Result<(), String> {
    match kind {
        "CustomResourceDefinition" => {
            crd_approval(server, ferry)?;
            crd_preserve_unknown_fields(server, ferry)
        }
        "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration" => webhook_side_effects(server, ferry),
        _ => Ok(()),
    }
}

/// The server reports v1beta1's default `preserveUnknownFields: true`, which a new v1
/// CRD may not set; ferry marks the schemas `x-kubernetes-preserve-unknown-fields`
/// instead, and gives a schema-less version a schema that preserves everything.
fn crd_preserve_unknown_fields(server: &mut Value, ferry: &mut Value) -> Result<(), String> {
    let Some(spec) = server.get_mut("spec").and_then(Value::as_object_mut) else { return Ok(()) };
    if spec.shift_remove("preserveUnknownFields") != Some(Value::Bool(true)) {
        return Ok(());
    }
    if ferry.pointer("/spec/preserveUnknownFields").is_some() {
        return Err("ferry kept preserveUnknownFields, which v1 refuses on new CRDs".into());
    }
    let versions = server.pointer("/spec/versions").and_then(Value::as_array).map_or(0, Vec::len);
    for i in 0..versions {
        let schema = format!("/spec/versions/{i}/schema");
        if server.pointer(&schema).is_none() {
            let permissive = serde_json::json!({"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}});
            if ferry.pointer(&schema) != Some(&permissive) {
                return Err(format!("version {i} has no schema on the server, and ferry's is not the permissive one"));
            }
            if let Some(version) = ferry.pointer_mut(&format!("/spec/versions/{i}")).and_then(Value::as_object_mut) {
                version.shift_remove("schema");
            }
        } else if !has_preserve_marker(ferry.pointer(&format!("{schema}/openAPIV3Schema"))) {
            return Err(format!("version {i}: ferry did not mark the schema x-kubernetes-preserve-unknown-fields"));
        }
    }
    remove_preserve_markers(server);
    remove_preserve_markers(ferry);
    Ok(())
}

/// v1 requires an approval annotation on CRDs of `*.k8s.io` groups, which v1beta1 did not;
/// the server reports the stored CRD without it, ferry marks it `unapproved, ...`.
fn crd_approval(server: &Value, ferry: &mut Value) -> Result<(), String> {
    const APPROVAL: &str = "api-approved.kubernetes.io";
    if server.pointer("/metadata/annotations").and_then(|a| a.get(APPROVAL)).is_some() {
        return Ok(());
    }
    let Some(annotations) = ferry.pointer_mut("/metadata/annotations").and_then(Value::as_object_mut) else { return Ok(()) };
    match annotations.shift_remove(APPROVAL) {
        Some(value) if !value.as_str().is_some_and(|v| v.starts_with("unapproved")) => Err(format!("unexpected {APPROVAL}: {value}")),
        _ => {
            if annotations.is_empty() {
                ferry.pointer_mut("/metadata").and_then(Value::as_object_mut).map(|m| m.shift_remove("annotations"));
            }
            Ok(())
        }
    }
}

fn has_preserve_marker(schema: Option<&Value>) -> bool {
    schema.and_then(|s| s.get("x-kubernetes-preserve-unknown-fields")) == Some(&Value::Bool(true))
}

fn remove_preserve_markers(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.shift_remove("x-kubernetes-preserve-unknown-fields");
            map.values_mut().for_each(remove_preserve_markers);
        }
        Value::Array(items) => items.iter_mut().for_each(remove_preserve_markers),
        _ => {}
    }
}

/// v1 refuses `sideEffects: Unknown` and `Some` on new objects; the server reports
/// them as stored. ferry writes `None` and `NoneOnDryRun`.
fn webhook_side_effects(server: &mut Value, ferry: &mut Value) -> Result<(), String> {
    let count = server.get("webhooks").and_then(Value::as_array).map_or(0, Vec::len);
    for i in 0..count {
        let field = format!("/webhooks/{i}/sideEffects");
        let expected = match server.pointer(&field).and_then(Value::as_str) {
            Some("Unknown") => "None",
            Some("Some") => "NoneOnDryRun",
            _ => continue,
        };
        if ferry.pointer(&field).and_then(Value::as_str) != Some(expected) {
            return Err(format!("webhook {i}: expected ferry's sideEffects `{expected}`"));
        }
        if let Some(slot) = server.pointer_mut(&field) {
            *slot = Value::String(expected.to_owned());
        }
    }
    Ok(())
}

/// A diff of the two objects with map keys sorted, so that only values show up.
fn sorted_diff(before: &Value, after: &Value) -> String {
    diff(&sorted(before), &sorted(after))
}

fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by_key(|(key, _)| *key);
            Value::Object(entries.into_iter().map(|(k, v)| (k.clone(), sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

fn text<'v>(value: &'v Value, pointer: &str) -> &'v str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}
