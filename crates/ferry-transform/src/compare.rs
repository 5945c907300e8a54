//! Showing and comparing objects: a unified diff of their YAML renderings, the
//! normal form in which an object read from the source and its copy read from
//! the target compare equal, and Secrets with their values masked.

use serde_json::Value;
use sha2::{Digest as _, Sha256};
use similar::TextDiff;

use crate::sanitise;

/// A unified diff (`--- before` / `+++ after`, three lines of context) of the
/// YAML renderings of two objects; empty when they are equal.
pub fn diff(before: &Value, after: &Value) -> String {
    if before == after {
        return String::new();
    }
    let (before, after) = (render(before), render(after));
    TextDiff::from_lines(&before, &after).unified_diff().context_radius(3).header("before", "after").to_string()
}

/// YAML, or JSON if the YAML writer refuses the value (it cannot for JSON input).
fn render(object: &Value) -> String {
    serde_saphyr::to_string(object).unwrap_or_else(|_| serde_json::to_string_pretty(object).unwrap_or_default())
}

/// `object` without what its cluster's API server and controllers manage (the
/// fields [`sanitise`](crate::sanitise) strips: uid, resourceVersion, timestamps,
/// managedFields, owner references, status, allocated IPs and node ports,
/// generated Job selectors, ...), so that an object from the source cluster and
/// its migrated copy read from the target compare equal. Unlike `sanitise`, it
/// never decides that an object is not migrated.
pub fn normalise_for_compare(object: &Value) -> Value {
    let mut normal = object.clone();
    sanitise::strip(&mut normal, &mut Vec::new());
    normal
}

/// A copy of `object` with every value of a (v1) Secret replaced by its length
/// and a digest prefix, so that diffs and comparisons show that a value changed
/// but never what it is; other objects are copied as they are. The
/// last-applied annotation holds the whole Secret as `kubectl apply` sent it,
/// so it is masked too.
pub fn redact_secret(object: &Value) -> Value {
    if object.get("kind").and_then(Value::as_str) != Some("Secret") || object.get("apiVersion").and_then(Value::as_str) != Some("v1") {
        return object.clone();
    }
    let mut copy = object.clone();
    for field in ["data", "stringData"] {
        if let Some(map) = copy.get_mut(field).and_then(Value::as_object_mut) {
            map.values_mut().for_each(mask);
        }
    }
    if let Some(annotations) = copy.pointer_mut("/metadata/annotations").and_then(Value::as_object_mut) {
        annotations.get_mut("kubectl.kubernetes.io/last-applied-configuration").into_iter().for_each(mask);
    }
    copy
}

fn mask(value: &mut Value) {
    let text = value.as_str().unwrap_or_default();
    let digest = Sha256::digest(text.as_bytes());
    *value = Value::String(format!("<redacted: {} bytes, sha256 {:02x}{:02x}{:02x}{:02x}>", text.len(), digest[0], digest[1], digest[2], digest[3]));
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn diffs_are_unified_and_empty_for_equal_objects() {
        let before = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"x": "1", "y": "multi\nline\n"}});
        assert_eq!(diff(&before, &before), "");
        let mut after = before.clone();
        after["data"]["x"] = json!("2");
        let text = diff(&before, &after);
        assert!(text.starts_with("--- before\n+++ after\n@@"), "{text}");
        assert!(text.contains("\n-  x: '1'\n+  x: '2'\n") || text.contains("\n-  x: \"1\"\n+  x: \"2\"\n"), "{text}");
    }

    #[test]
    fn source_and_target_copies_compare_equal() {
        let source = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "a", "uid": "1", "resourceVersion": "5",
            "creationTimestamp": "2026-01-01T00:00:00Z"}, "spec": {"clusterIP": "10.0.0.1", "clusterIPs": ["10.0.0.1"], "ports": [{"port": 80, "nodePort": 31000}], "type": "NodePort"},
            "status": {"loadBalancer": {}}});
        let target = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "a", "uid": "2", "resourceVersion": "9",
            "creationTimestamp": "2026-02-01T00:00:00Z"}, "spec": {"clusterIP": "10.1.0.7", "clusterIPs": ["10.1.0.7"], "ports": [{"port": 80, "nodePort": 32000}], "type": "NodePort"}});
        assert_eq!(normalise_for_compare(&source), normalise_for_compare(&target));
        let token = json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token", "metadata": {"name": "t", "uid": "1"}});
        assert_eq!(normalise_for_compare(&token), json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token", "metadata": {"name": "t"}}));
    }

    #[test]
    fn secret_values_are_masked_and_other_objects_kept() {
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"password": "aHVudGVyMg=="}, "stringData": {"token": "t0ps3cret"}});
        let masked = redact_secret(&secret).to_string();
        assert!(!masked.contains("aHVudGVyMg==") && !masked.contains("t0ps3cret"), "{masked}");
        assert!(masked.contains("<redacted: 12 bytes, sha256 "), "{masked}");
        let config = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"password": "visible"}});
        assert_eq!(redact_secret(&config), config);
    }
}
