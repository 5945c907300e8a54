//! Which objects `-n`/`--namespace` and `-l`/`--selector` choose from manifests, as they choose
//! them from a cluster: objects of the given namespaces and every cluster-scoped object (a live
//! `-n` read lists cluster-scoped resources too), each only when its labels match the selector.
//!
//! An object whose manifest sets no namespace is in the namespace `kubectl apply -n NS` would
//! create it in, so it belongs to every namespace given: only objects that name another
//! namespace are left out.

use ferry_model::load::Document;
use serde_json::Value;

use crate::facts::CLUSTER_SCOPED;
use crate::selector::Selector;

/// Namespaces (all when empty) and a label selector (none: every object).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    /// The namespaces given; empty for all.
    namespaces: Vec<String>,
    /// The selector given.
    selector: Option<Selector>,
}

impl Scope {
    /// The scope of `-n` (repeated or comma-separated namespaces) and `-l` (kubectl's selector
    /// text); an error names what in the selector cannot be read.
    pub fn new(namespaces: Vec<String>, selector: Option<&str>) -> Result<Scope, String> {
        let selector = selector.map(Selector::parse).transpose()?;
        Ok(Scope { namespaces, selector })
    }

    /// The scope of `-n` alone.
    pub fn of_namespaces(namespaces: Vec<String>) -> Scope {
        Scope { namespaces, selector: None }
    }

    /// Whether every object is in scope (no `-n`, no `-l`).
    pub fn is_everything(&self) -> bool {
        self.namespaces.is_empty() && self.selector.is_none()
    }

    /// Whether an object of `kind` in `namespace` (unset: `None`) with these labels is in scope.
    pub fn keeps<'a>(&self, kind: &str, namespace: Option<&str>, labels: impl Iterator<Item = (&'a str, &'a str)>) -> bool {
        let in_namespace = self.namespaces.is_empty() || CLUSTER_SCOPED.contains(&kind) || namespace.is_none_or(|ns| self.namespaces.iter().any(|n| n == ns));
        in_namespace && self.selector.as_ref().is_none_or(|s| s.matches(&labels.collect::<Vec<_>>()))
    }

    /// Whether a loaded document is in scope.
    pub fn keeps_document(&self, document: &Document<'_>) -> bool {
        if self.is_everything() {
            return true;
        }
        let labels = document.root.at(&["metadata", "labels"]);
        self.keeps(document.id.kind, document.id.namespace, labels.into_iter().flat_map(|l| l.string_entries()))
    }

    /// Whether an object as JSON (an archive member) is in scope.
    pub fn keeps_value(&self, object: &Value) -> bool {
        if self.is_everything() {
            return true;
        }
        let text = |path: &str| object.pointer(path).and_then(Value::as_str);
        let labels = object.pointer("/metadata/labels").and_then(Value::as_object);
        let labels = labels.into_iter().flatten().filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)));
        self.keeps(text("/kind").unwrap_or_default(), text("/metadata/namespace"), labels)
    }

    /// What the scope asks for, for messages: `namespace shop, payments and selector app=web`.
    pub fn describe(&self, selector_text: Option<&str>) -> String {
        let mut parts = Vec::new();
        if !self.namespaces.is_empty() {
            parts.push(format!("namespace {}", self.namespaces.join(", ")));
        }
        if let Some(text) = selector_text {
            parts.push(format!("selector `{text}`"));
        }
        parts.join(" and ")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(kind: &str, namespace: Option<&str>, labels: Value) -> Value {
        let mut metadata = json!({"name": "x", "labels": labels});
        if let Some(ns) = namespace {
            metadata["namespace"] = json!(ns);
        }
        json!({"apiVersion": "v1", "kind": kind, "metadata": metadata})
    }

    #[test]
    fn namespaces_keep_their_objects_unset_namespaces_and_cluster_scoped_objects() {
        let scope = Scope::new(vec!["shop".into(), "pay".into()], None).unwrap();
        assert!(scope.keeps_value(&object("ConfigMap", Some("shop"), json!({}))));
        assert!(scope.keeps_value(&object("ConfigMap", Some("pay"), json!({}))));
        assert!(!scope.keeps_value(&object("ConfigMap", Some("other"), json!({}))));
        assert!(scope.keeps_value(&object("ConfigMap", None, json!({}))), "kubectl apply -n shop would create it in shop");
        assert!(scope.keeps_value(&object("ClusterRole", None, json!({}))));
        assert!(scope.keeps_value(&object("Namespace", Some("stray"), json!({}))), "a cluster-scoped object's namespace is ignored");
        assert!(Scope::default().is_everything() && !scope.is_everything());
    }

    #[test]
    fn the_selector_applies_to_every_object_cluster_scoped_ones_too() {
        let scope = Scope::new(Vec::new(), Some("app=web,!legacy")).unwrap();
        assert!(scope.keeps_value(&object("Service", Some("shop"), json!({"app": "web"}))));
        assert!(!scope.keeps_value(&object("Service", Some("shop"), json!({"app": "web", "legacy": "1"}))));
        assert!(!scope.keeps_value(&object("ClusterRole", None, json!({"app": "db"}))));
        assert!(!scope.keeps_value(&object("Service", Some("shop"), Value::Null)));
        assert!(Scope::new(Vec::new(), Some("app in (web")).is_err());
        assert_eq!(Scope::new(vec!["a".into(), "b".into()], Some("x=1")).unwrap().describe(Some("x=1")), "namespace a, b and selector `x=1`");
    }
}
