//! Showing and comparing objects: a unified diff of their YAML renderings, the
//! normal form in which an object read from the source and its copy read from
//! the target compare equal, and Secrets with their values masked.

use serde_json::Value;
use similar::TextDiff;

use crate::sanitise;

/// A unified diff (`--- before` / `+++ after`, three lines of context) of the
/// YAML renderings of two objects; empty when they are equal.
pub fn diff(before: &Value, after: &Value) -> String {
    if before == after {
        return String::new();
    }
    let (before, after) = (crate::gitops::to_yaml(before), crate::gitops::to_yaml(after));
    TextDiff::from_lines(&before, &after).unified_diff().context_radius(3).header("before", "after").to_string()
}

/// `object` without what its cluster's API server and controllers manage (the
/// fields [`sanitise`](crate::sanitise) strips: uid, resourceVersion, timestamps,
/// managedFields, owner references, status, allocated IPs and node ports,
/// generated Job selectors, ...), so that an object from the source cluster and
/// its migrated copy read from the target compare equal. Unlike `sanitise`, it
/// never decides that an object is not migrated.
pub fn normalise_for_compare(object: &Value) -> Value {
    let mut normal = object.clone();
    normalise_in_place(&mut normal);
    normal
}

/// Brings `object` itself to the normal form of [`normalise_for_compare`], without a copy.
pub fn normalise_in_place(object: &mut Value) {
    sanitise::strip(object, &mut Vec::new());
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
        assert_eq!(
            normalise_for_compare(&token),
            json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token", "metadata": {"name": "t"}})
        );
    }
}
