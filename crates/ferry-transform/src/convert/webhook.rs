//! Validating/MutatingWebhookConfiguration from `admissionregistration.k8s.io/v1beta1`
//! to `v1`. The changed defaults (failurePolicy, matchPolicy, timeoutSeconds,
//! admissionReviewVersions) are kept explicit by `data/conversions.yaml`; here:
//! `sideEffects`, which v1 restricts to `None` and `NoneOnDryRun`, and names,
//! which v1 requires to be unique.

use std::collections::HashSet;

use serde_json::Value;

use crate::note::Note;

pub(super) fn convert(object: &mut Value, notes: &mut Vec<Note>) {
    let mut names = HashSet::new();
    let webhooks = object.get_mut("webhooks").and_then(Value::as_array_mut).into_iter().flatten();
    for (i, webhook) in webhooks.enumerate().filter_map(|(i, w)| w.as_object_mut().map(|w| (i, w))) {
        let declared = webhook.get("sideEffects").and_then(Value::as_str).unwrap_or("Unknown").to_owned();
        if let Some((allowed, meaning)) = allowed_side_effects(&declared) {
            webhook.insert("sideEffects".into(), Value::String(allowed.into()));
            let message = format!(
                "`{declared}` is not allowed in v1; set to `{allowed}`, which declares that the webhook {meaning}. v1beta1 rejected dry-run requests for this webhook; v1 sends them to it, so check that it behaves accordingly"
            );
            notes.push(Note::warning("behaviour-change", message).at(format!("/webhooks/{i}/sideEffects")));
        }
        let name = webhook.get("name").and_then(Value::as_str).unwrap_or_default();
        if !names.insert(name.to_owned()) {
            notes.push(
                Note::error("invalid-object", format!("webhook name `{name}` is used twice; v1 requires unique names")).at(format!("/webhooks/{i}/name")),
            );
        }
    }
}

/// The v1 value for a v1beta1-only `sideEffects` value, and what it means.
fn allowed_side_effects(declared: &str) -> Option<(&'static str, &'static str)> {
    match declared {
        "Unknown" => Some(("None", "has no side effects")),
        "Some" => Some(("NoneOnDryRun", "skips its side effects when a request has `dryRun` set")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn side_effects_are_mapped_and_duplicates_reported() {
        let mut config = json!({"webhooks": [
            {"name": "a.example.com"},
            {"name": "b.example.com", "sideEffects": "Some"},
            {"name": "b.example.com", "sideEffects": "NoneOnDryRun"}]});
        let mut notes = Vec::new();
        convert(&mut config, &mut notes);
        assert_eq!(config["webhooks"][0]["sideEffects"], "None");
        assert_eq!(config["webhooks"][1]["sideEffects"], "NoneOnDryRun");
        let codes: Vec<&str> = notes.iter().map(|n| n.code).collect();
        assert_eq!(codes, ["behaviour-change", "behaviour-change", "invalid-object"]);
    }
}
