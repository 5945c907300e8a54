//! Deployments, DaemonSets, StatefulSets and ReplicaSets from `extensions/v1beta1`
//! and `apps/v1beta1` to `apps/v1`: those versions defaulted `spec.selector` and
//! `metadata.labels` from the pod template's labels; `apps/v1` requires the
//! selector and defaults neither, so both are written out.

use serde_json::Value;

use crate::note::Note;
use crate::object::map_at;

pub(super) fn convert(object: &mut Value, notes: &mut Vec<Note>) {
    let template_labels = object.pointer("/spec/template/metadata/labels").filter(|l| l.as_object().is_some_and(|l| !l.is_empty())).cloned();
    let Some(labels) = template_labels else {
        if object.pointer("/spec/selector").is_none_or(Value::is_null) {
            notes.push(
                Note::error("invalid-object", "apps/v1 requires spec.selector, and the pod template has no labels to build it from").at("/spec/selector"),
            );
        }
        return;
    };
    if object.pointer("/spec/selector").is_none_or(Value::is_null)
        && let Some(spec) = map_at(object, "/spec")
    {
        spec.insert("selector".into(), serde_json::json!({ "matchLabels": labels.clone() }));
        notes.push(
            Note::info("default-kept", "set to the pod template's labels, as the old version defaulted it (apps/v1 requires a selector)").at("/spec/selector"),
        );
    }
    if object.pointer("/metadata/labels").and_then(Value::as_object).is_none_or(|l| l.is_empty())
        && let Some(metadata) = map_at(object, "/metadata")
    {
        metadata.insert("labels".into(), labels);
        notes.push(Note::info("default-kept", "set to the pod template's labels, as the old version defaulted them").at("/metadata/labels"));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn selector_and_labels_come_from_the_template() {
        let mut deployment = json!({"apiVersion": "extensions/v1beta1", "kind": "Deployment", "metadata": {"name": "carts"},
            "spec": {"template": {"metadata": {"labels": {"name": "carts"}}, "spec": {"containers": []}}}});
        let mut notes = Vec::new();
        convert(&mut deployment, &mut notes);
        assert_eq!(deployment["spec"]["selector"], json!({"matchLabels": {"name": "carts"}}));
        assert_eq!(deployment["metadata"]["labels"], json!({"name": "carts"}));
        assert_eq!(notes.len(), 2);
    }

    #[test]
    fn given_selectors_and_labels_stay() {
        let mut deployment = json!({"metadata": {"labels": {"team": "a"}},
            "spec": {"selector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]}, "template": {"metadata": {"labels": {"app": "x"}}}}});
        let before = deployment.clone();
        let mut notes = Vec::new();
        convert(&mut deployment, &mut notes);
        assert_eq!(deployment, before);
        assert!(notes.is_empty());
    }

    #[test]
    fn no_selector_and_no_labels_is_an_error() {
        let mut deployment = json!({"spec": {"template": {"spec": {}}}});
        let mut notes = Vec::new();
        convert(&mut deployment, &mut notes);
        assert_eq!(notes[0].code, "invalid-object");
    }
}
