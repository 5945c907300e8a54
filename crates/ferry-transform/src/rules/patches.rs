//! JSON patch (RFC 6902) and merge patch (RFC 7386) rules. A failing JSON patch
//! leaves the object as it was and becomes an error note naming the rule.

use serde_json::Value;

use super::{PatchRule, rule_name};
use crate::note::Note;
use crate::object::Identity;

pub(super) fn apply(rules: &[PatchRule], id: &Identity, object: &mut Value, notes: &mut Vec<Note>) {
    for (i, rule) in rules.iter().enumerate().filter(|(_, r)| r.matches.matches(id)) {
        let name = rule_name(&rule.name, "patches", i);
        if let Some(patch) = &rule.json_patch {
            match json_patch::patch(object, patch) {
                Ok(()) => notes.push(Note::info("rule-applied", format!("{name}: applied {} JSON patch operation(s)", patch.len()))),
                Err(error) => {
                    let message = format!("{name}: JSON patch does not apply to {}: {error}; the object is left without this patch", id.display());
                    notes.push(Note::error("rule-failed", message).at(error.path.to_string()));
                }
            }
        }
        if let Some(merge) = &rule.merge_patch {
            let before = object.clone();
            json_patch::merge(object, merge);
            if *object != before {
                notes.push(Note::info("rule-applied", format!("{name}: applied the merge patch")));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::rules::Rules;

    fn rules(yaml: &str) -> Rules {
        Rules::parse(&format!("apiVersion: ferry.dev/v1alpha1\nkind: TransformRules\n{yaml}"), "ferry.yaml").unwrap()
    }

    fn deployment() -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop", "labels": {"tier": "front"}},
            "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "web", "image": "nginx"}]}}}})
    }

    #[test]
    fn json_and_merge_patches_on_matching_objects() {
        let rules = rules(concat!(
            "patches:\n",
            "  - name: fewer-replicas\n    match: {kinds: [apps/*], namespaces: [sho?], name: ^web$, labels: tier=front}\n",
            "    jsonPatch:\n      - {op: replace, path: /spec/replicas, value: 1}\n      - {op: add, path: /spec/template/spec/containers/0/env, value: [{name: A, value: b}]}\n",
            "  - mergePatch: {spec: {paused: true, replicas: null}}\n    match: {kinds: [\"*/Deployment\"]}\n",
            "  - mergePatch: {spec: {paused: false}}\n    match: {kinds: [core/Service]}\n",
        ));
        let mut object = deployment();
        let mut notes = Vec::new();
        apply(&rules.patches, &Identity::of(&object), &mut object, &mut notes);
        assert_eq!(object["spec"]["template"]["spec"]["containers"][0]["env"][0]["name"], "A");
        assert_eq!(object["spec"]["paused"], true);
        assert!(object["spec"].get("replicas").is_none());
        let names: Vec<&str> = notes.iter().map(|n| n.message.split(':').next().unwrap_or_default()).collect();
        assert_eq!(names, ["fewer-replicas", "patches[1]"]);
    }

    #[test]
    fn a_failing_patch_is_an_error_note_and_changes_nothing() {
        let rules = rules(
            "patches:\n  - name: probe\n    jsonPatch:\n      - {op: replace, path: /spec/replicas, value: 1}\n      - {op: remove, path: /spec/template/spec/containers/0/livenessProbe}\n",
        );
        let mut object = deployment();
        let mut notes = Vec::new();
        apply(&rules.patches, &Identity::of(&object), &mut object, &mut notes);
        assert_eq!(object, deployment());
        assert_eq!((notes[0].severity, notes[0].code), (crate::note::Severity::Error, "rule-failed"));
        assert!(notes[0].message.contains("probe") && notes[0].message.contains("Deployment shop/web"), "{}", notes[0].message);
        assert_eq!(notes[0].field.as_deref(), Some("/spec/template/spec/containers/0/livenessProbe"));
    }
}
