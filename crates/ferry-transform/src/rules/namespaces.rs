//! The namespace map: `metadata.namespace`, Namespace objects, every field that
//! names a namespace (binding subjects, webhook, APIService and conversion
//! services, PersistentVolume claims), NetworkPolicy namespace selectors by
//! name, and in-cluster DNS names in container env/args/command, ConfigMap data
//! and ExternalName Services.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{applied, rename_value};
use crate::note::Note;
use crate::object::{Identity, PathPattern, containers_mut, escape, pod_spec_pointer, pointer};

const SECTION: &str = "namespaces";

/// The label the API server puts on every Namespace, holding its name.
const NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// `(group, kind, field patterns)` of fields that hold a namespace name.
const NAMESPACE_FIELDS: &[(&str, &str, &[&str])] = &[
    ("rbac.authorization.k8s.io", "RoleBinding", &["/subjects/*/namespace"]),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding", &["/subjects/*/namespace"]),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration", &["/webhooks/*/clientConfig/service/namespace"]),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration", &["/webhooks/*/clientConfig/service/namespace"]),
    ("apiregistration.k8s.io", "APIService", &["/spec/service/namespace"]),
    (
        "apiextensions.k8s.io",
        "CustomResourceDefinition",
        &["/spec/conversion/webhook/clientConfig/service/namespace", "/spec/conversion/webhookClientConfig/service/namespace"],
    ),
    ("", "PersistentVolume", &["/spec/claimRef/namespace"]),
    ("", "Namespace", &["/metadata/name", "/metadata/labels/kubernetes.io~1metadata.name"]),
];

/// Where NetworkPolicies select namespaces.
const NAMESPACE_SELECTORS: [&str; 2] = ["/spec/ingress/*/from/*/namespaceSelector", "/spec/egress/*/to/*/namespaceSelector"];

pub(super) fn apply(map: &BTreeMap<String, String>, id: &Identity, object: &mut Value, notes: &mut Vec<Note>) {
    if map.is_empty() {
        return;
    }
    let own = id.namespace.iter().map(|_| "/metadata/namespace");
    let named = NAMESPACE_FIELDS.iter().filter(|(group, kind, _)| *group == id.group && *kind == id.kind).flat_map(|(_, _, p)| p.iter().copied());
    for pattern in own.chain(named).filter_map(PathPattern::parse) {
        for path in pattern.find(object) {
            rename_value(object, &pointer(&path), map, SECTION, notes);
        }
    }
    if id.group == "networking.k8s.io" && id.kind == "NetworkPolicy" {
        network_policy(object, map, notes);
    }
    dns_names(object, id, map, notes);
}

/// Selectors on the namespace-name label are rewritten; any other namespace
/// selector is reported, since the renamed namespace must carry its labels.
fn network_policy(object: &mut Value, map: &BTreeMap<String, String>, notes: &mut Vec<Note>) {
    for pattern in NAMESPACE_SELECTORS.iter().filter_map(|p| PathPattern::parse(p)) {
        for path in pattern.find(object) {
            let selector_pointer = pointer(&path);
            rename_value(object, &format!("{selector_pointer}/matchLabels/{}", escape(NAME_LABEL)), map, SECTION, notes);
            for field in name_expression_values(object, &selector_pointer) {
                rename_value(object, &field, map, SECTION, notes);
            }
            if selects_by_other_labels(object.pointer(&selector_pointer)) {
                let renamed: Vec<&str> = map.keys().map(String::as_str).collect();
                let message = format!(
                    "selects namespaces by labels other than their name; the renamed namespace(s) `{}` must carry the same labels on the target",
                    renamed.join("`, `")
                );
                notes.push(Note::warning("namespace-selector", message).at(selector_pointer));
            }
        }
    }
}

/// Pointers to the values of `matchExpressions` on the namespace-name label.
fn name_expression_values(object: &Value, selector_pointer: &str) -> Vec<String> {
    let expressions = object.pointer(&format!("{selector_pointer}/matchExpressions")).and_then(Value::as_array).into_iter().flatten().enumerate();
    expressions
        .filter(|(_, e)| e.get("key").and_then(Value::as_str) == Some(NAME_LABEL))
        .flat_map(|(i, e)| {
            let count = e.get("values").and_then(Value::as_array).map_or(0, Vec::len);
            (0..count).map(move |j| format!("{selector_pointer}/matchExpressions/{i}/values/{j}"))
        })
        .collect()
}

fn selects_by_other_labels(selector: Option<&Value>) -> bool {
    let Some(selector) = selector else { return false };
    let labels = selector.get("matchLabels").and_then(Value::as_object).into_iter().flatten().any(|(key, _)| key != NAME_LABEL);
    let expressions =
        selector.get("matchExpressions").and_then(Value::as_array).into_iter().flatten().any(|e| e.get("key").and_then(Value::as_str) != Some(NAME_LABEL));
    labels || expressions
}

/// In-cluster DNS names in the places where configuration names other services.
fn dns_names(object: &mut Value, id: &Identity, map: &BTreeMap<String, String>, notes: &mut Vec<Note>) {
    let mut fields: Vec<String> = Vec::new();
    if let Some(spec_pointer) = pod_spec_pointer(&id.group, &id.kind)
        && let Some(spec) = object.pointer_mut(spec_pointer)
    {
        for (container_pointer, container) in containers_mut(spec) {
            let env = container.get("env").and_then(Value::as_array).into_iter().flatten().enumerate();
            fields.extend(env.filter(|(_, e)| e.get("value").is_some()).map(|(i, _)| format!("{spec_pointer}{container_pointer}/env/{i}/value")));
            for list in ["args", "command"] {
                let count = container.get(list).and_then(Value::as_array).map_or(0, Vec::len);
                fields.extend((0..count).map(|i| format!("{spec_pointer}{container_pointer}/{list}/{i}")));
            }
        }
    }
    match (id.group.as_str(), id.kind.as_str()) {
        ("", "ConfigMap") => {
            let keys = object.get("data").and_then(Value::as_object).into_iter().flatten().map(|(k, _)| format!("/data/{}", escape(k)));
            fields.extend(keys);
        }
        ("", "Service") => fields.push("/spec/externalName".into()),
        _ => {}
    }
    for field in fields {
        let Some(slot) = object.pointer_mut(&field) else { continue };
        if let Some((rewritten, renamed)) = slot.as_str().and_then(|text| rewrite_dns(text, map)) {
            *slot = Value::String(rewritten);
            for old in renamed {
                notes.push(applied(SECTION, &field, format!("rewrote in-cluster DNS names of namespace `{old}`")).by(format!("{SECTION}.{old}")));
            }
        }
    }
}

/// Rewrites host names whose namespace label is renamed: `svc.old`, `svc.old.svc`,
/// `svc.old.svc.cluster.local` (and deeper names such as `pod.svc.old.svc...`).
/// The namespace must be a whole label that ends the name or comes before `svc`,
/// so `foo.older` and `api.old.example.com` are left alone. Returns the text and the
/// namespaces renamed in it.
pub(crate) fn rewrite_dns(text: &str, map: &BTreeMap<String, String>) -> Option<(String, Vec<String>)> {
    let mut out = String::with_capacity(text.len());
    let mut renamed: Vec<String> = Vec::new();
    let mut run_start = None;
    for (i, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        let in_name = i < text.len() && (c.is_ascii_alphanumeric() || c == '.' || c == '-');
        match (in_name, run_start) {
            (true, None) => run_start = Some(i),
            (false, Some(start)) => {
                let host = &text[start..i];
                match rewrite_host(host, map) {
                    Some((new, old)) => {
                        out.push_str(&new);
                        if !renamed.contains(&old) {
                            renamed.push(old);
                        }
                    }
                    None => out.push_str(host),
                }
                run_start = None;
            }
            _ => {}
        }
        if !in_name && i < text.len() {
            out.push(c);
        }
    }
    (!renamed.is_empty()).then_some((out, renamed))
}

/// The host with its namespace label renamed, and the old namespace.
fn rewrite_host(host: &str, map: &BTreeMap<String, String>) -> Option<(String, String)> {
    let labels: Vec<&str> = host.split('.').collect();
    let position = (1..labels.len()).find(|&i| {
        let ends = i + 1 == labels.len() || (i + 2 == labels.len() && labels[i + 1].is_empty());
        map.contains_key(labels[i]) && (ends || labels[i + 1] == "svc") && labels[..i].iter().all(|l| !l.is_empty())
    })?;
    let mut labels: Vec<String> = labels.iter().map(|l| (*l).to_owned()).collect();
    let new = map.get(labels[position].as_str())?.clone();
    let old = std::mem::replace(&mut labels[position], new);
    Some((labels.join("."), old))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn map() -> BTreeMap<String, String> {
        BTreeMap::from([("old".to_owned(), "new".to_owned())])
    }

    #[test]
    fn dns_names_at_label_boundaries() {
        let cases = [
            ("redis.old", Some("redis.new")),
            ("redis.old.svc", Some("redis.new.svc")),
            ("http://redis.old.svc.cluster.local:6379/0", Some("http://redis.new.svc.cluster.local:6379/0")),
            ("amqp://u:p@rabbit.old:5672,db.old.svc", Some("amqp://u:p@rabbit.new:5672,db.new.svc")),
            ("web-0.web.old.svc.cluster.local", Some("web-0.web.new.svc.cluster.local")),
            ("redis.older", None),
            ("api.old.example.com", None),
            ("old", None),
            ("old.svc", None),
            ("redis.old.", Some("redis.new.")),
        ];
        for (text, expected) in cases {
            assert_eq!(rewrite_dns(text, &map()).map(|(text, _)| text).as_deref(), expected, "{text}");
        }
    }

    #[test]
    fn every_namespace_reference() {
        let mut binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "b"},
            "subjects": [{"kind": "ServiceAccount", "name": "app", "namespace": "old"}, {"kind": "User", "name": "jane"}]});
        let mut notes = Vec::new();
        apply(&map(), &Identity::of(&binding), &mut binding, &mut notes);
        assert_eq!(binding["subjects"][0]["namespace"], "new");
        let mut namespace = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "old", "labels": {"kubernetes.io/metadata.name": "old"}}});
        apply(&map(), &Identity::of(&namespace), &mut namespace, &mut notes);
        assert_eq!(namespace["metadata"], json!({"name": "new", "labels": {"kubernetes.io/metadata.name": "new"}}));
        let mut deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w", "namespace": "old"},
            "spec": {"template": {"spec": {"containers": [{"name": "c", "args": ["--db=pg.old.svc:5432"], "env": [{"name": "A", "value": "http://api.old"}, {"name": "B", "valueFrom": {}}]}]}}}});
        apply(&map(), &Identity::of(&deployment), &mut deployment, &mut notes);
        assert_eq!(deployment["metadata"]["namespace"], "new");
        let container = &deployment["spec"]["template"]["spec"]["containers"][0];
        assert_eq!((container["args"][0].as_str(), container["env"][0]["value"].as_str()), (Some("--db=pg.new.svc:5432"), Some("http://api.new")));
        assert_eq!(notes.len(), 6);
    }

    #[test]
    fn network_policy_selectors() {
        let mut policy = json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "p", "namespace": "old"}, "spec": {
            "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "old"}}}, {"namespaceSelector": {"matchLabels": {"team": "a"}}}]}],
            "egress": [{"to": [{"namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["old", "x"]}]}}]}]}});
        let mut notes = Vec::new();
        apply(&map(), &Identity::of(&policy), &mut policy, &mut notes);
        assert_eq!(policy["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"], "new");
        assert_eq!(policy["spec"]["egress"][0]["to"][0]["namespaceSelector"]["matchExpressions"][0]["values"], json!(["new", "x"]));
        let warnings: Vec<&Note> = notes.iter().filter(|n| n.code == "namespace-selector").collect();
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].field.as_deref(), Some("/spec/ingress/0/from/1/namespaceSelector"));
    }
}
