//! Label and annotation rules: rename, remove and add keys of `metadata.labels`
//! or `metadata.annotations`, by exact key or glob.

use serde_json::{Map, Value};

use super::{MetadataRule, applied, rule_name};
use crate::note::Note;
use crate::object::{Identity, escape, map_at};

/// Which map a rule edits.
#[derive(Debug, Clone, Copy)]
pub(super) enum Target {
    Labels,
    Annotations,
}

impl Target {
    fn field(self) -> &'static str {
        match self {
            Target::Labels => "labels",
            Target::Annotations => "annotations",
        }
    }
}

/// Applies the rules that select the object; a rule matched it when it selects it and has
/// keys to add, or one of its `rename`/`remove` patterns matches a key of the map.
pub(super) fn apply(target: Target, rules: &[MetadataRule], id: &Identity, object: &mut Value, notes: &mut Vec<Note>, matched: &mut Vec<String>) {
    let pointer = format!("/metadata/{}", target.field());
    for (i, rule) in rules.iter().enumerate().filter(|(_, r)| r.matches.matches(id)) {
        let name = rule_name(&rule.name, target.field(), i);
        let Some(map) = map_at(object, &pointer) else { continue };
        let patterns = rule.rename.0.iter().map(|(glob, _)| glob).chain(&rule.remove);
        if !rule.add.is_empty() || patterns.clone().any(|glob| map.keys().any(|key| glob.matches(key))) {
            matched.push(name.clone());
        }
        for (key, what) in edit(rule, map) {
            notes.push(applied(&name, format!("{pointer}/{}", escape(&key)), what));
        }
        if map.is_empty() {
            crate::object::remove_key(object, "/metadata", target.field());
        }
    }
}

/// Applies one rule to one map; returns each changed key with what happened to it.
fn edit(rule: &MetadataRule, map: &mut Map<String, Value>) -> Vec<(String, String)> {
    let mut changes = Vec::new();
    for (from, to) in &rule.rename.0 {
        let renames: Vec<(String, String)> =
            map.keys().filter_map(|key| Some((key.clone(), substitute(to, &from.captures(key)?)))).filter(|(old, new)| old != new).collect();
        for (old, new) in renames {
            if let Some(value) = map.shift_remove(&old) {
                map.insert(new.clone(), value);
                changes.push((new.clone(), format!("renamed from `{old}`")));
            }
        }
    }
    for glob in &rule.remove {
        let removed: Vec<String> = map.keys().filter(|k| glob.matches(k)).cloned().collect();
        for key in removed {
            map.shift_remove(&key);
            changes.push((key, "removed".to_owned()));
        }
    }
    for (key, value) in &rule.add {
        if map.get(key).and_then(Value::as_str) != Some(value.as_str()) {
            map.insert(key.clone(), Value::String(value.clone()));
            changes.push((key.clone(), format!("set to `{value}`")));
        }
    }
    changes
}

/// `to` with its `*`s replaced, in order, by what the source glob's `*`s matched.
fn substitute(to: &str, captures: &[&str]) -> String {
    let mut parts = to.split('*');
    let mut out = parts.next().unwrap_or_default().to_owned();
    for (part, capture) in parts.zip(captures.iter().chain(std::iter::repeat(&""))) {
        out.push_str(capture);
        out.push_str(part);
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::rules::Rules;

    fn rules(yaml: &str) -> Rules {
        Rules::parse(&format!("apiVersion: ferry.dev/v1alpha1\nkind: TransformRules\n{yaml}"), "ferry.yaml").unwrap()
    }

    #[test]
    fn azure_load_balancer_annotations_go_and_others_come() {
        let rules = rules(
            "annotations:\n  - match: {kinds: [core/Service]}\n    remove: [\"service.beta.kubernetes.io/azure-*\"]\n    add: {service.beta.kubernetes.io/aws-load-balancer-type: nlb}\n    rename: {\"old.example.com/*\": \"new.example.com/*\"}\n",
        );
        let mut service = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "store-front", "annotations": {
            "service.beta.kubernetes.io/azure-load-balancer-internal": "true", "old.example.com/owner": "shop", "keep": "me"}}});
        let mut notes = Vec::new();
        apply(Target::Annotations, &rules.annotations, &Identity::of(&service), &mut service, &mut notes, &mut Vec::new());
        assert_eq!(
            service["metadata"]["annotations"],
            json!({"keep": "me", "new.example.com/owner": "shop", "service.beta.kubernetes.io/aws-load-balancer-type": "nlb"})
        );
        assert_eq!(notes.len(), 3);
        let mut deployment =
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x", "annotations": {"service.beta.kubernetes.io/azure-x": "1"}}});
        let before = deployment.clone();
        apply(Target::Annotations, &rules.annotations, &Identity::of(&deployment), &mut deployment, &mut Vec::new(), &mut Vec::new());
        assert_eq!(deployment, before, "the rule matches Services only");
    }

    #[test]
    fn emptied_maps_are_removed_and_untouched_objects_get_none() {
        let rules = rules("labels:\n  - remove: [\"*\"]\n");
        let mut object = json!({"metadata": {"name": "x", "labels": {"a": "b"}}});
        apply(Target::Labels, &rules.labels, &Identity::of(&object), &mut object, &mut Vec::new(), &mut Vec::new());
        assert_eq!(object, json!({"metadata": {"name": "x"}}));
        let mut bare = json!({"metadata": {"name": "x"}});
        apply(Target::Labels, &rules.labels, &Identity::of(&bare), &mut bare, &mut Vec::new(), &mut Vec::new());
        assert_eq!(bare, json!({"metadata": {"name": "x"}}));
    }
}
