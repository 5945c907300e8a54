//! Converters with one or two field changes each: PodDisruptionBudget,
//! CertificateSigningRequest, EndpointSlice, events.k8s.io Event, RBAC v1alpha1
//! bindings, API Priority and Fairness priority levels, access reviews.

use serde_json::{Map, Value, json};

use crate::note::Note;
use crate::object::{escape, remove_key};

/// policy/v1beta1 → v1: an empty selector selected no pods and now selects every pod
/// of the namespace; an unset selector selects none in both, so an empty one is removed.
pub(super) fn pod_disruption_budget(object: &mut Value, notes: &mut Vec<Note>) {
    let Some(selector) = object.pointer("/spec/selector").and_then(Value::as_object) else { return };
    let empty = selector.values().all(|v| v.as_object().is_some_and(Map::is_empty) || v.as_array().is_some_and(Vec::is_empty) || v.is_null());
    if empty {
        remove_key(object, "/spec", "selector");
        let message = "removed the empty selector: it selected no pods in policy/v1beta1 but would select every pod of the namespace in policy/v1; an unset selector selects none in both";
        notes.push(Note::warning("behaviour-change", message).at("/spec/selector"));
    }
}

/// certificates.k8s.io/v1 requires `signerName` and refuses `kubernetes.io/legacy-unknown`.
pub(super) fn certificate_signing_request(object: &mut Value, notes: &mut Vec<Note>) {
    let message = match object.pointer("/spec/signerName").and_then(Value::as_str) {
        None => {
            "certificates.k8s.io/v1 requires spec.signerName (v1beta1 derived it from the request, usually `kubernetes.io/legacy-unknown`); set it, for example with a patch rule"
        }
        Some("kubernetes.io/legacy-unknown") => {
            "certificates.k8s.io/v1 refuses `kubernetes.io/legacy-unknown`; choose the signer that should issue this certificate"
        }
        Some(_) => return,
    };
    notes.push(Note::error("invalid-object", message).at("/spec/signerName"));
}

/// discovery.k8s.io/v1: `topology["kubernetes.io/hostname"]` → `nodeName`,
/// `topology["topology.kubernetes.io/zone"]` → `zone`; other keys have no writable place.
pub(super) fn endpoint_slice(object: &mut Value, notes: &mut Vec<Note>) {
    let endpoints = object.get_mut("endpoints").and_then(Value::as_array_mut).into_iter().flatten();
    for (i, endpoint) in endpoints.enumerate().filter_map(|(i, e)| e.as_object_mut().map(|e| (i, e))) {
        let Some(Value::Object(mut topology)) = endpoint.shift_remove("topology") else { continue };
        for (key, field) in [("kubernetes.io/hostname", "nodeName"), ("topology.kubernetes.io/zone", "zone")] {
            if let Some(value) = topology.shift_remove(key) {
                endpoint.entry(field).or_insert(value);
            }
        }
        for key in topology.keys() {
            let message = format!("topology key `{key}` has no field in discovery.k8s.io/v1 (deprecatedTopology is not writable); dropped");
            notes.push(Note::warning("field-removed", message).at(format!("/endpoints/{i}/topology/{}", escape(key))));
        }
    }
}

/// events.k8s.io/v1 does not accept the `deprecated*` fields on new Events and
/// allows only `Normal` and `Warning` as type.
pub(super) fn event(object: &mut Value, notes: &mut Vec<Note>) {
    for field in ["deprecatedSource", "deprecatedFirstTimestamp", "deprecatedLastTimestamp", "deprecatedCount"] {
        if remove_key(object, "", field).is_some() {
            notes.push(Note::warning("field-removed", "not permitted in new events.k8s.io/v1 Events").at(format!("/{field}")));
        }
    }
    if let Some(kind) = object.get("type").and_then(Value::as_str)
        && !matches!(kind, "Normal" | "Warning")
    {
        notes.push(Note::error("invalid-object", format!("type `{kind}` is not allowed in events.k8s.io/v1 (only Normal and Warning)")).at("/type"));
    }
}

/// rbac v1alpha1 subjects carry `apiVersion`; v1 has `apiGroup`, set as Kubernetes'
/// own conversion sets it (k8s.io/kubernetes pkg/apis/rbac/v1alpha1/conversion.go).
pub(super) fn rbac_subjects(object: &mut Value) {
    let subjects = object.get_mut("subjects").and_then(Value::as_array_mut).into_iter().flatten();
    for subject in subjects.filter_map(Value::as_object_mut) {
        let api_version = subject.shift_remove("apiVersion");
        let group = match subject.get("kind").and_then(Value::as_str) {
            Some("ServiceAccount") => None,
            Some("User" | "Group") => Some("rbac.authorization.k8s.io".to_owned()),
            _ => api_version.as_ref().and_then(Value::as_str).and_then(|v| v.split_once('/')).map(|(group, _)| group.to_owned()),
        };
        if let Some(group) = group {
            subject.insert("apiGroup".into(), Value::String(group));
        }
    }
}

/// PriorityLevelConfiguration: `assuredConcurrencyShares` became `nominalConcurrencyShares`
/// (v1beta3), and an explicit 0, which every beta version turned into 30, stays 0 in v1.
pub(super) fn flow_control_shares(object: &mut Value, notes: &mut Vec<Note>) {
    let Some(limited) = object.pointer_mut("/spec/limited").and_then(Value::as_object_mut) else { return };
    if let Some(shares) = limited.shift_remove("assuredConcurrencyShares") {
        limited.insert("nominalConcurrencyShares".into(), shares);
    }
    if limited.get("nominalConcurrencyShares").and_then(Value::as_i64) == Some(0) {
        limited.insert("nominalConcurrencyShares".into(), json!(30));
        notes.push(Note::info("default-kept", "0 meant the default, 30, in the beta versions; v1 would keep 0").at("/spec/limited/nominalConcurrencyShares"));
    }
}

/// authorization.k8s.io/v1: `spec.group` was renamed `spec.groups`.
pub(super) fn access_review(object: &mut Value) {
    let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) else { return };
    if let Some(groups) = spec.shift_remove("group") {
        spec.insert("groups".into(), groups);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_disruption_budget_selector_is_removed() {
        let mut pdb = json!({"spec": {"minAvailable": 2, "selector": {"matchLabels": {}}}});
        let mut notes = Vec::new();
        pod_disruption_budget(&mut pdb, &mut notes);
        assert_eq!(pdb, json!({"spec": {"minAvailable": 2}}));
        assert_eq!(notes.len(), 1);
        let mut kept = json!({"spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "xy"}}}});
        let before = kept.clone();
        pod_disruption_budget(&mut kept, &mut Vec::new());
        assert_eq!(kept, before);
    }

    #[test]
    fn csr_needs_a_usable_signer() {
        let mut notes = Vec::new();
        certificate_signing_request(&mut json!({"spec": {"request": "aGVsbG8="}}), &mut notes);
        certificate_signing_request(&mut json!({"spec": {"signerName": "kubernetes.io/legacy-unknown"}}), &mut notes);
        certificate_signing_request(&mut json!({"spec": {"signerName": "kubernetes.io/kube-apiserver-client"}}), &mut notes);
        assert_eq!(notes.len(), 2);
    }

    #[test]
    fn endpoint_topology_becomes_fields() {
        // kube-no-trouble's fixture (fixtures/endpointslice-v1beta1.yaml), plus a custom key.
        let mut slice = json!({"addressType": "IPv4", "endpoints": [{"addresses": ["10.1.2.3"], "conditions": {"ready": true}, "hostname": "pod-1",
            "topology": {"kubernetes.io/hostname": "node-1", "topology.kubernetes.io/zone": "us-west2-a", "rack": "r1"}}]});
        let mut notes = Vec::new();
        endpoint_slice(&mut slice, &mut notes);
        assert_eq!(
            slice["endpoints"][0],
            json!({"addresses": ["10.1.2.3"], "conditions": {"ready": true}, "hostname": "pod-1", "nodeName": "node-1", "zone": "us-west2-a"})
        );
        assert_eq!(notes[0].field.as_deref(), Some("/endpoints/0/topology/rack"));
    }

    #[test]
    fn rbac_subjects_get_api_groups() {
        let mut binding = json!({"subjects": [
            {"kind": "User", "apiVersion": "rbac.authorization.k8s.io/v1alpha1", "name": "jane"},
            {"kind": "ServiceAccount", "apiVersion": "v1", "name": "app", "namespace": "a"},
            {"kind": "Team", "apiVersion": "example.com/v1", "name": "x"}]});
        rbac_subjects(&mut binding);
        assert_eq!(
            binding["subjects"],
            json!([
            {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "jane"},
            {"kind": "ServiceAccount", "name": "app", "namespace": "a"},
            {"kind": "Team", "apiGroup": "example.com", "name": "x"}])
        );
    }

    #[test]
    fn events_lose_deprecated_fields_and_access_reviews_rename_group() {
        let mut record = json!({"type": "Normal", "deprecatedCount": 3, "reason": "Started"});
        let mut notes = Vec::new();
        event(&mut record, &mut notes);
        assert_eq!(record, json!({"type": "Normal", "reason": "Started"}));
        let mut review = json!({"spec": {"user": "jane", "group": ["dev"]}});
        access_review(&mut review);
        assert_eq!(review, json!({"spec": {"user": "jane", "groups": ["dev"]}}));
    }
}
