//! The checks of `ferry preflight` that need no request: what the transformed
//! objects need from the target (served kinds, storage classes, ingress classes, nodes
//! that can run their Pods: `capacity.rs`) against what the target has, and the version skew. The server-side dry run
//! that validates every object is the CLI's part; its outcomes become [`Issue`]s too, and so do
//! the external endpoints the assessment finds in the objects (`endpoints.rs`), and what a probe
//! Pod found trying them (`probe.rs`).

mod capacity;
pub mod endpoints;
pub mod probe;

use std::collections::BTreeSet;

use ferry_model::ObjectId;
use serde::Serialize;
use serde_json::Value;

/// How much an issue matters for the migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// The migration would fail or leave something broken.
    Fail,
    /// Likely a problem; check by hand.
    Warn,
    /// Worth knowing.
    Info,
}

/// One finding of a preflight check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    /// How much it matters.
    pub severity: Severity,
    /// A stable code, e.g. `missing-storage-class`.
    pub code: &'static str,
    /// The object concerned, if one is (its `apiVersion`, `kind`, `namespace` and `name` in JSON).
    #[serde(flatten)]
    pub object: Option<ObjectId>,
    /// What is wrong and what to do.
    pub message: String,
}

/// What the target has, as far as the checks need it.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// `(group, kind)` of every resource the target serves, at any version.
    pub served: BTreeSet<(String, String)>,
    /// The target's StorageClass objects.
    pub storage_classes: Vec<Value>,
    /// The names of the target's IngressClasses.
    pub ingress_classes: BTreeSet<String>,
    /// The target's `gitVersion`, e.g. `v1.20.2`.
    pub version: String,
    /// The target's Node objects (labels, taints, allocatable resources).
    pub nodes: Vec<Value>,
}

/// What the transformed `objects` need that neither the target nor the objects
/// themselves provide, and the skew between the source's version (if known) and the target's.
pub fn check(objects: &[(ObjectId, Value)], target: &Target, source_version: Option<&str>) -> Vec<Issue> {
    let bundle = Bundle::of(objects);
    let mut issues = Vec::new();
    for (id, object) in objects {
        if !target.served.contains(&(id.group().to_owned(), id.kind.clone())) && !bundle.kinds.contains(&(id.group().to_owned(), id.kind.clone())) {
            let group = if id.group().is_empty() { "the core group" } else { id.group() };
            let message = format!("the target serves no {} in {group} and the objects bring no CustomResourceDefinition for it: install it first", id.kind);
            issues.push(Issue { severity: Severity::Fail, code: "missing-api", object: Some(id.clone()), message });
        }
        issues.extend(storage_classes(id, object, target, &bundle));
        issues.extend(ingress_class(id, object, target, &bundle));
    }
    issues.extend(capacity::check(objects, &target.nodes));
    issues.extend(skew(source_version, &target.version));
    issues
}

/// Kinds and classes the objects create themselves.
struct Bundle {
    kinds: BTreeSet<(String, String)>,
    storage_classes: BTreeSet<String>,
    ingress_classes: BTreeSet<String>,
}

impl Bundle {
    fn of(objects: &[(ObjectId, Value)]) -> Bundle {
        let named = |kind: &str| objects.iter().filter(|(id, _)| id.kind == kind).map(|(id, _)| id.name.clone()).collect();
        let kinds = objects
            .iter()
            .filter(|(id, _)| id.kind == "CustomResourceDefinition")
            .filter_map(|(_, crd)| Some((text(crd, "/spec/group")?.to_owned(), text(crd, "/spec/names/kind")?.to_owned())))
            .collect();
        Bundle { kinds, storage_classes: named("StorageClass"), ingress_classes: named("IngressClass") }
    }
}

fn text<'a>(object: &'a Value, pointer: &str) -> Option<&'a str> {
    object.pointer(pointer).and_then(Value::as_str)
}

/// Storage classes a claim (or a StatefulSet's claim templates) names must exist; a claim that names none needs a default class.
fn storage_classes(id: &ObjectId, object: &Value, target: &Target, bundle: &Bundle) -> Vec<Issue> {
    let claims: Vec<&Value> = match id.kind.as_str() {
        "PersistentVolumeClaim" => vec![object],
        "StatefulSet" => object.pointer("/spec/volumeClaimTemplates").and_then(Value::as_array).map(|t| t.iter().collect()).unwrap_or_default(),
        _ => return Vec::new(),
    };
    let on_target = |name: &str| target.storage_classes.iter().any(|c| text(c, "/metadata/name") == Some(name));
    let has_default = target.storage_classes.iter().any(|c| {
        ["storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class"]
            .iter()
            .any(|key| c.pointer("/metadata/annotations").and_then(|a| a.get(key)).and_then(Value::as_str) == Some("true"))
    });
    let issue = |severity, code, message| Issue { severity, code, object: Some(id.clone()), message };
    claims
        .into_iter()
        .filter_map(|claim| match claim.pointer("/spec/storageClassName") {
            None if !has_default => Some(issue(Severity::Warn, "no-default-storage-class", "names no storage class and the target has no default one".into())),
            Some(Value::String(name)) if !name.is_empty() && !on_target(name) && !bundle.storage_classes.contains(name) => Some(issue(
                Severity::Fail,
                "missing-storage-class",
                format!("storage class `{name}` does not exist on the target: create it or map it with `storageClasses` in the rules"),
            )),
            _ => None,
        })
        .collect()
}

/// The ingress class an Ingress names must exist (a class named only by the legacy annotation may be a controller's own name: a warning).
fn ingress_class(id: &ObjectId, object: &Value, target: &Target, bundle: &Bundle) -> Option<Issue> {
    if id.kind != "Ingress" {
        return None;
    }
    let (name, severity) = match text(object, "/spec/ingressClassName") {
        Some(name) => (name, Severity::Fail),
        None => (object.pointer("/metadata/annotations").and_then(|a| a.get("kubernetes.io/ingress.class")).and_then(Value::as_str)?, Severity::Warn),
    };
    let known = target.ingress_classes.contains(name) || bundle.ingress_classes.contains(name);
    let message = format!("ingress class `{name}` does not exist on the target: install its controller or map it with `ingressClasses` in the rules");
    (!known).then(|| Issue { severity, code: "missing-ingress-class", object: Some(id.clone()), message })
}

/// `(major, minor)` of a `gitVersion` such as `v1.20.2-eks-1`.
fn minor_version(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.trim_start_matches('v').split(['.', '-', '+']);
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

fn skew(source: Option<&str>, target: &str) -> Option<Issue> {
    let (from, to) = (minor_version(source?)?, minor_version(target)?);
    let (severity, message) = match from.cmp(&to) {
        std::cmp::Ordering::Equal => return None,
        std::cmp::Ordering::Greater => {
            (Severity::Warn, format!("the target ({target}) is older than the source ({}): fields and API versions it does not know are rejected", source?))
        }
        std::cmp::Ordering::Less => {
            (Severity::Info, format!("the target ({target}) is newer than the source ({}): API versions it no longer serves are converted", source?))
        }
    };
    Some(Issue { severity, code: "version-skew", object: None, message })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(value: Value) -> (ObjectId, Value) {
        (ObjectId::from_json(&value).unwrap(), value)
    }

    fn target() -> Target {
        Target {
            served: [("", "PersistentVolumeClaim"), ("networking.k8s.io", "Ingress"), ("apps", "StatefulSet")]
                .map(|(g, k)| (g.to_owned(), k.to_owned()))
                .into(),
            storage_classes: vec![json!({"metadata": {"name": "fast"}})],
            ingress_classes: ["nginx".to_owned()].into(),
            version: "v1.29.1".into(),
            nodes: Vec::new(),
        }
    }

    fn codes(issues: &[Issue]) -> Vec<(Severity, &str, String)> {
        issues.iter().map(|i| (i.severity, i.code, i.object.as_ref().map_or(String::new(), |o| o.name.clone()))).collect()
    }

    #[test]
    fn classes_and_kinds_must_exist_on_the_target_or_come_with_the_objects() {
        let objects = [
            object(
                json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "ok", "namespace": "a"}, "spec": {"storageClassName": "fast"}}),
            ),
            object(
                json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "slow", "namespace": "a"}, "spec": {"storageClassName": "slow"}}),
            ),
            object(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "plain", "namespace": "a"}, "spec": {}})),
            object(
                json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "none", "namespace": "a"}, "spec": {"storageClassName": ""}}),
            ),
            object(json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "a"},
                          "spec": {"volumeClaimTemplates": [{"spec": {"storageClassName": "bundled"}}]}})),
            object(json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "bundled"}})),
            object(
                json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web", "namespace": "a"}, "spec": {"ingressClassName": "traefik"}}),
            ),
            object(
                json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "old", "namespace": "a", "annotations": {"kubernetes.io/ingress.class": "azure"}}}),
            ),
            object(json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "blue", "namespace": "a"}})),
            object(json!({"apiVersion": "other.io/v1", "kind": "Gadget", "metadata": {"name": "g", "namespace": "a"}})),
            object(json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "gadgets.other.io"},
                          "spec": {"group": "other.io", "names": {"kind": "Gadget"}}})),
        ];
        let mut target = target();
        target
            .served
            .extend([("storage.k8s.io", "StorageClass"), ("apiextensions.k8s.io", "CustomResourceDefinition")].map(|(g, k)| (g.to_owned(), k.to_owned())));
        assert_eq!(
            codes(&check(&objects, &target, Some("v1.29.0"))),
            [
                (Severity::Fail, "missing-storage-class", "slow".to_owned()),
                (Severity::Warn, "no-default-storage-class", "plain".to_owned()),
                (Severity::Fail, "missing-ingress-class", "web".to_owned()),
                (Severity::Warn, "missing-ingress-class", "old".to_owned()),
                (Severity::Fail, "missing-api", "blue".to_owned()),
            ]
        );
    }

    #[test]
    fn version_skew_warns_for_an_older_target() {
        let target = target();
        assert_eq!(codes(&check(&[], &target, Some("v1.30.2"))), [(Severity::Warn, "version-skew", String::new())]);
        assert_eq!(codes(&check(&[], &target, Some("v1.20.2"))), [(Severity::Info, "version-skew", String::new())]);
        assert!(check(&[], &target, None).is_empty() && check(&[], &target, Some("garbage")).is_empty());
    }
}
