//! CustomResourceDefinition from `apiextensions.k8s.io/v1beta1` to `v1`.
//!
//! v1 keeps schema, subresources and printer columns per version, requires a
//! schema, prunes unknown fields unless a schema says to preserve them, and
//! nests the conversion webhook. v1beta1's `preserveUnknownFields` defaulted to
//! true, so unless it was explicitly false every object schema is marked
//! `x-kubernetes-preserve-unknown-fields: true`: custom resources copied to the
//! target keep every field they had (the API server's own conversion instead
//! reports `preserveUnknownFields: true`, which a new v1 CRD may not set).

use serde_json::{Map, Value, json};

use crate::note::Note;
use crate::object::map_at;

/// The annotation v1 requires on CRDs of groups under `k8s.io` and `kubernetes.io`
/// (https://github.com/kubernetes/enhancements/pull/1111); v1beta1 did not check it.
const APPROVAL: &str = "api-approved.kubernetes.io";

/// Top-level v1beta1 fields that v1 keeps in each version, with their v1 name.
const PER_VERSION: [(&str, &str); 3] = [("validation", "schema"), ("subresources", "subresources"), ("additionalPrinterColumns", "additionalPrinterColumns")];

pub(super) fn convert(object: &mut Value, notes: &mut Vec<Note>) {
    mark_unapproved_protected_group(object, notes);
    let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) else { return };
    versions_from_version(spec);
    for (top, per_version) in PER_VERSION {
        if let Some(value) = spec.shift_remove(top) {
            for version in versions_mut(spec) {
                version.entry(per_version).or_insert_with(|| value.clone());
            }
        }
    }
    let preserve = spec.shift_remove("preserveUnknownFields").is_none_or(|v| v != Value::Bool(false));
    for (i, version) in versions_mut(spec).enumerate() {
        rename_json_path(version);
        schema(version, i, preserve, notes);
    }
    nest_conversion_webhook(spec);
}

fn versions_mut(spec: &mut Map<String, Value>) -> impl Iterator<Item = &mut Map<String, Value>> {
    spec.get_mut("versions").and_then(Value::as_array_mut).into_iter().flatten().filter_map(Value::as_object_mut)
}

/// A CRD in a protected group without the approval annotation, which v1 would refuse,
/// is marked `unapproved` (the value the enhancement proposal prescribes for that case).
fn mark_unapproved_protected_group(object: &mut Value, notes: &mut Vec<Note>) {
    let group = object.pointer("/spec/group").and_then(Value::as_str).unwrap_or_default();
    let protected = ["k8s.io", "kubernetes.io"].iter().any(|p| group == *p || group.ends_with(&format!(".{p}")));
    let approved = object.pointer("/metadata/annotations").and_then(|a| a.get(APPROVAL)).is_some();
    if !protected || approved {
        return;
    }
    let message = format!(
        "group `{group}` is reserved for Kubernetes: v1 requires the `{APPROVAL}` annotation, so it is set to `unapproved, ...`; replace it with the URL of the approving API review if there is one"
    );
    if let Some(annotations) = map_at(object, "/metadata/annotations") {
        annotations.insert(APPROVAL.into(), json!("unapproved, converted from apiextensions.k8s.io/v1beta1 by ferry"));
        notes.push(Note::warning("behaviour-change", message).at("/metadata/annotations/api-approved.kubernetes.io"));
    }
}

/// The deprecated single `version` becomes the only entry of `versions` when there is none.
fn versions_from_version(spec: &mut Map<String, Value>) {
    let Some(version) = spec.shift_remove("version") else { return };
    if spec.get("versions").and_then(Value::as_array).is_none_or(Vec::is_empty) {
        spec.insert("versions".into(), json!([{ "name": version, "served": true, "storage": true }]));
    }
}

fn rename_json_path(version: &mut Map<String, Value>) {
    let columns = version.get_mut("additionalPrinterColumns").and_then(Value::as_array_mut).into_iter().flatten();
    for column in columns.filter_map(Value::as_object_mut) {
        if let Some(path) = column.shift_remove("JSONPath") {
            column.insert("jsonPath".into(), path);
        }
    }
}

fn schema(version: &mut Map<String, Value>, index: usize, preserve: bool, notes: &mut Vec<Note>) {
    let field = format!("/spec/versions/{index}/schema/openAPIV3Schema");
    let name = version.get("name").and_then(Value::as_str).unwrap_or("?").to_owned();
    let Some(schema) = version.get_mut("schema").and_then(|s| s.get_mut("openAPIV3Schema")).filter(|s| s.is_object()) else {
        version.insert("schema".into(), json!({ "openAPIV3Schema": { "type": "object", "x-kubernetes-preserve-unknown-fields": true } }));
        let message =
            format!("version `{name}` had no schema, which v1 requires; it gets one that accepts any fields (`x-kubernetes-preserve-unknown-fields: true`)");
        notes.push(Note::warning("behaviour-change", message).at(field));
        return;
    };
    let mut untyped = Vec::new();
    untyped_nodes(schema, &field, &mut untyped);
    for node in untyped {
        notes.push(
            Note::warning(
                "not-structural",
                "has properties or items but no `type`: v1 accepts only structural schemas, so the API server will refuse this CRD until the type is added",
            )
            .at(node),
        );
    }
    if preserve {
        let marked = preserve_unknown_fields(schema);
        if marked > 0 {
            let message = format!(
                "v1beta1 kept unknown fields (`preserveUnknownFields` was not false); marked {marked} object schema(s) of version `{name}` with `x-kubernetes-preserve-unknown-fields: true` so that v1 does not prune existing resources; remove them to let v1 prune"
            );
            notes.push(Note::warning("behaviour-change", message).at(field));
        }
    }
}

/// Marks every object schema that does not already keep unknown fields; returns how many.
/// Value validations (`allOf`, `anyOf`, `oneOf`, `not`) may not carry the marker and are skipped.
fn preserve_unknown_fields(node: &mut Value) -> usize {
    let Some(map) = node.as_object_mut() else { return 0 };
    let is_object = map.get("type").and_then(Value::as_str) == Some("object") || map.contains_key("properties");
    let mut marked = 0;
    if is_object && !map.contains_key("additionalProperties") && map.get("x-kubernetes-preserve-unknown-fields") != Some(&Value::Bool(true)) {
        map.insert("x-kubernetes-preserve-unknown-fields".into(), Value::Bool(true));
        marked += 1;
    }
    if let Some(properties) = map.get_mut("properties").and_then(Value::as_object_mut) {
        marked += properties.values_mut().map(preserve_unknown_fields).sum::<usize>();
    }
    for key in ["items", "additionalProperties"] {
        match map.get_mut(key) {
            Some(Value::Array(items)) => marked += items.iter_mut().map(preserve_unknown_fields).sum::<usize>(),
            Some(item) => marked += preserve_unknown_fields(item),
            None => {}
        }
    }
    marked
}

/// Schema nodes with `properties` or `items` but no `type` (or an int-or-string / preserve marker).
fn untyped_nodes(node: &Value, field: &str, found: &mut Vec<String>) {
    let Some(map) = node.as_object() else { return };
    let exempt = ["type", "x-kubernetes-int-or-string", "x-kubernetes-preserve-unknown-fields"].iter().any(|k| map.contains_key(*k));
    if !exempt && (map.contains_key("properties") || map.contains_key("items")) {
        found.push(field.to_owned());
    }
    for (name, child) in map.get("properties").and_then(Value::as_object).into_iter().flatten() {
        untyped_nodes(child, &format!("{field}/properties/{}", crate::object::escape(name)), found);
    }
    if let Some(items) = map.get("items") {
        untyped_nodes(items, &format!("{field}/items"), found);
    }
}

/// `conversion.webhookClientConfig` and `conversionReviewVersions` move under
/// `conversion.webhook`; v1beta1 defaulted the review versions to `["v1beta1"]`.
fn nest_conversion_webhook(spec: &mut Map<String, Value>) {
    let Some(conversion) = spec.get_mut("conversion").and_then(Value::as_object_mut) else { return };
    let client = conversion.shift_remove("webhookClientConfig");
    let review_versions = conversion.shift_remove("conversionReviewVersions");
    let webhook_strategy = conversion.get("strategy").and_then(Value::as_str) == Some("Webhook");
    if webhook_strategy || client.is_some() {
        let mut webhook = Map::new();
        if let Some(client) = client {
            webhook.insert("clientConfig".into(), client);
        }
        webhook.insert("conversionReviewVersions".into(), review_versions.unwrap_or_else(|| json!(["v1beta1"])));
        conversion.insert("webhook".into(), Value::Object(webhook));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// kube-no-trouble's fixture (fixtures/customresourcedefinition-v1beta1.yaml).
    fn certificates_crd() -> Value {
        json!({"apiVersion": "apiextensions.k8s.io/v1beta1", "kind": "CustomResourceDefinition", "metadata": {"name": "certificates.test.k8s.io"},
            "spec": {"group": "test.k8s.io", "version": "v1beta1", "scope": "Cluster",
                "names": {"plural": "certificates", "singular": "certificate", "kind": "Certificate", "categories": ["all"]},
                "additionalPrinterColumns": [{"name": "Status", "type": "string", "JSONPath": ".status.lastConditionState"}],
                "subresources": {"status": {}}}})
    }

    #[test]
    fn schema_less_crd_gets_a_permissive_schema_and_per_version_fields() {
        let mut crd = certificates_crd();
        let mut notes = Vec::new();
        convert(&mut crd, &mut notes);
        assert_eq!(
            crd["spec"],
            json!({"group": "test.k8s.io", "scope": "Cluster",
                "names": {"plural": "certificates", "singular": "certificate", "kind": "Certificate", "categories": ["all"]},
                "versions": [{"name": "v1beta1", "served": true, "storage": true,
                    "additionalPrinterColumns": [{"name": "Status", "type": "string", "jsonPath": ".status.lastConditionState"}],
                    "subresources": {"status": {}},
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]})
        );
        assert_eq!(crd["metadata"]["annotations"]["api-approved.kubernetes.io"], "unapproved, converted from apiextensions.k8s.io/v1beta1 by ferry");
        let codes: Vec<&str> = notes.iter().map(|n| n.code).collect();
        assert_eq!(codes, ["behaviour-change", "behaviour-change"]);
    }

    #[test]
    fn preserved_unknown_fields_stay_preserved() {
        let mut crd = json!({"spec": {"versions": [{"name": "v1"}],
            "validation": {"openAPIV3Schema": {"type": "object", "properties": {
                "spec": {"type": "object", "properties": {"size": {"type": "integer"}, "labels": {"type": "object", "additionalProperties": {"type": "string"}}}},
                "list": {"type": "array", "items": {"type": "object", "properties": {"a": {"type": "string"}}}}}}}}});
        let mut notes = Vec::new();
        convert(&mut crd, &mut notes);
        let schema = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
        assert_eq!(schema["x-kubernetes-preserve-unknown-fields"], true);
        assert_eq!(schema["properties"]["spec"]["x-kubernetes-preserve-unknown-fields"], true);
        assert_eq!(schema["properties"]["list"]["items"]["x-kubernetes-preserve-unknown-fields"], true);
        assert!(schema["properties"]["spec"]["properties"]["labels"].get("x-kubernetes-preserve-unknown-fields").is_none());
        assert!(notes[0].message.contains("marked 3"), "{}", notes[0].message);

        let mut pruning = json!({"spec": {"preserveUnknownFields": false, "versions": [{"name": "v1", "schema": {"openAPIV3Schema": {"type": "object"}}}]}});
        let before = pruning["spec"]["versions"].clone();
        convert(&mut pruning, &mut Vec::new());
        assert_eq!(pruning["spec"]["versions"], before);
        assert!(pruning["spec"].get("preserveUnknownFields").is_none());
    }

    #[test]
    fn conversion_webhook_is_nested() {
        let mut crd = json!({"spec": {"conversion": {"strategy": "Webhook", "webhookClientConfig": {"service": {"namespace": "a", "name": "conv"}, "caBundle": "Zm9v"}}}});
        convert(&mut crd, &mut Vec::new());
        assert_eq!(
            crd["spec"]["conversion"],
            json!({"strategy": "Webhook", "webhook": {
            "clientConfig": {"service": {"namespace": "a", "name": "conv"}, "caBundle": "Zm9v"}, "conversionReviewVersions": ["v1beta1"]}})
        );
        let mut none = json!({"spec": {"conversion": {"strategy": "None", "conversionReviewVersions": ["v1beta1"]}}});
        convert(&mut none, &mut Vec::new());
        assert_eq!(none["spec"]["conversion"], json!({"strategy": "None"}));
    }

    #[test]
    fn untyped_schema_nodes_are_reported() {
        let mut crd = json!({"spec": {"preserveUnknownFields": false, "versions": [{"name": "v1", "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {"properties": {}}}}}}]}});
        let mut notes = Vec::new();
        convert(&mut crd, &mut notes);
        assert_eq!(notes[0].code, "not-structural");
        assert_eq!(notes[0].field.as_deref(), Some("/spec/versions/0/schema/openAPIV3Schema/properties/spec"));
    }
}
