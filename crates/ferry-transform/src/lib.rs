//! The pure transformation stage of `ferry export → transform → apply`.
//!
//! One object at a time, as untyped JSON (`apiVersion`, `kind`, `metadata`,
//! `spec`, ... as an API server or an archive holds it), [`transform`]:
//!
//! 1. [`sanitise`]s it: removes what belongs to the source cluster (uid,
//!    resourceVersion, managedFields, status, allocated cluster IPs and node
//!    ports, binding annotations, generated Job selectors, ...), or decides that
//!    it is not migrated at all because Kubernetes makes it itself;
//! 2. [`convert`]s it to an API version the target serves, following the
//!    upstream deprecation guide field by field;
//! 3. applies the user's [`Rules`] from `ferry.yaml` (image registries, storage
//!    and ingress classes, namespaces, labels and annotations, workload identity,
//!    JSON, merge and strategic merge patches); before all of this, the rules'
//!    `exclude` section may leave the object out.
//!
//! Every decision is reported as a [`Note`]; an object with an error note is not applied.
//! What every rule did to a whole set of objects is summed up by a [`Report`]. Nothing here reads files or prints:
//! knowledge tables are compiled in from `data/`, and [`diff`] returns text.
//!
//! ```
//! use ferry_transform::{Options, Rules, transform};
//! use serde_json::json;
//!
//! let rules = Rules::parse(
//!     "apiVersion: ferry.dev/v1alpha1\nkind: TransformRules\nnamespaces: {shop-legacy: shop}\n",
//!     "ferry.yaml",
//! )
//! .unwrap();
//! let options = Options { target_version: "1.30".parse().unwrap(), rules };
//! let ingress = json!({
//!     "apiVersion": "extensions/v1beta1", "kind": "Ingress",
//!     "metadata": {"name": "web", "namespace": "shop-legacy", "uid": "d3b0", "resourceVersion": "81"},
//!     "spec": {"rules": [{"http": {"paths": [{"path": "/", "backend": {"serviceName": "web", "servicePort": 80}}]}}]}
//! });
//! let result = transform(ingress, &options);
//! let object = result.object.unwrap();
//! assert_eq!(object["apiVersion"], "networking.k8s.io/v1");
//! assert_eq!(object["metadata"], json!({"name": "web", "namespace": "shop"}));
//! assert_eq!(object["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["port"]["number"], 80);
//! ```

mod compare;
mod convert;
pub mod gitops;
mod note;
mod object;
mod pod_images;
mod redact;
mod report;
pub mod rules;
mod sanitise;

pub use compare::{diff, normalise_for_compare, normalise_in_place};
pub use convert::{Converted, convert};
pub use ferry_analysis::KubeVersion;
pub use note::{Note, Severity};
pub use pod_images::{ContainerImage, PodPull, container_images, pod_pull};
pub use redact::{mask_secret_in_place, redact_secret, redact_secret_looking};
pub use report::{Counts, ObjectReport, Outcome, Report, RuleCount};
pub use rules::{RuleHit, Rules, RulesError};
pub use sanitise::{reads_managed_fields, sanitise};
use serde_json::Value;

/// What to transform for.
#[derive(Debug, Clone)]
pub struct Options {
    /// The Kubernetes version of the target cluster: API versions it no longer serves are converted.
    pub target_version: KubeVersion,
    /// The user's rules (`Rules::default()` for none).
    pub rules: Rules,
}

/// The outcome of transforming one object.
#[derive(Debug, Clone, PartialEq)]
pub struct Transformed {
    /// The object to apply, or `None` when it is not applied (excluded, made by
    /// Kubernetes itself, replaced by a mapped class; or it has an error note: no
    /// successor API, a rule failed, ...).
    pub object: Option<Value>,
    /// Everything worth telling about it, in the order it happened.
    pub notes: Vec<Note>,
    /// The rules that matched it, and what each did.
    pub rules: Vec<RuleHit>,
}

impl Transformed {
    /// Whether a note says that the object cannot go to the target.
    pub fn failed(&self) -> bool {
        self.notes.iter().any(|n| n.severity == Severity::Error)
    }

    /// Whether an `exclude` rule left it out.
    pub fn excluded(&self) -> bool {
        self.notes.iter().any(|n| n.code == "excluded")
    }
}

/// Leaves the object out if an `exclude` rule matches it as read; else sanitises, converts
/// and applies the rules to it, in that order.
pub fn transform(object: Value, options: &Options) -> Transformed {
    transform_keeping(object, options, false).0
}

/// [`transform`], also giving the object as sanitised, before conversion and rules, when it is
/// migrated: its normal form ([`normalise_in_place`]), for holding the source against what it
/// becomes without copying and normalising the whole source object.
pub fn transform_with_normal_form(object: Value, options: &Options) -> (Transformed, Option<Value>) {
    transform_keeping(object, options, true)
}

/// [`transform`], with a copy of the sanitised object when `keep_sanitised` and it is migrated.
fn transform_keeping(mut object: Value, options: &Options, keep_sanitised: bool) -> (Transformed, Option<Value>) {
    let mut notes = Vec::new();
    if !object.is_object() {
        notes.push(Note::error("invalid-object", "not a Kubernetes object (a JSON map with apiVersion, kind and metadata)"));
        return (Transformed { object: None, notes, rules: Vec::new() }, None);
    }
    if let Some(note) = options.rules.excluded(&object) {
        let notes = vec![note];
        return (Transformed { object: None, rules: rules::hits(Vec::new(), &notes), notes }, None);
    }
    if let Some(reason) = sanitise::sanitise_noting(&mut object, &mut notes) {
        let owner = sanitise::controlling_owner(&object).map(|o| format!(" ({o})")).unwrap_or_default();
        notes.push(Note::info("not-migrated", format!("not migrated: {reason}{owner}")));
        return (Transformed { object: None, notes, rules: Vec::new() }, None);
    }
    let sanitised = keep_sanitised.then(|| object.clone());
    let mut converted = match convert(object, options.target_version) {
        Ok(converted) => converted,
        Err(note) => {
            notes.push(note);
            return (Transformed { object: None, notes, rules: Vec::new() }, None);
        }
    };
    notes.append(&mut converted.notes);
    let mut object = converted.object;
    let mut matched = Vec::new();
    let verdict = rules::apply(&options.rules, &mut object, &mut notes, &mut matched);
    let transformed = Transformed { object: Some(object), rules: rules::hits(matched, &notes), notes };
    if verdict == rules::Verdict::Drop || transformed.failed() {
        return (Transformed { object: None, ..transformed }, None);
    }
    (transformed, sanitised)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn options(target: &str) -> Options {
        Options { target_version: target.parse().unwrap(), rules: Rules::default() }
    }

    #[test]
    fn controller_owned_objects_are_not_migrated_and_name_their_owner() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d", "controller": true}]}});
        let result = transform(pod, &options("1.30"));
        assert_eq!(result.object, None);
        assert_eq!(result.notes[0].message, "not migrated: created by its controller (ReplicaSet web-5d)");
    }

    #[test]
    fn the_normal_form_kept_is_the_sources_before_conversion() {
        let ingress = json!({"apiVersion": "networking.k8s.io/v1beta1", "kind": "Ingress",
            "metadata": {"name": "web", "namespace": "shop", "uid": "1", "resourceVersion": "7", "managedFields": [{"manager": "kubectl"}]},
            "spec": {"rules": [{"host": "shop.example.com", "http": {"paths": [{"path": "/", "backend": {"serviceName": "web", "servicePort": 80}}]}}]},
            "status": {"loadBalancer": {}}});
        let (transformed, normal) = transform_with_normal_form(ingress.clone(), &options("1.22"));
        assert_eq!(normal, Some(normalise_for_compare(&ingress)));
        assert_eq!(transformed.object, transform(ingress, &options("1.22")).object);
        assert_eq!(transformed.object.unwrap()["apiVersion"], "networking.k8s.io/v1", "converted after the copy");
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d", "controller": true}]}});
        assert_eq!(transform_with_normal_form(pod, &options("1.30")).1, None, "not migrated: nothing to compare");
    }

    #[test]
    fn objects_without_successor_are_not_applied() {
        let psp = json!({"apiVersion": "policy/v1beta1", "kind": "PodSecurityPolicy", "metadata": {"name": "p"}, "spec": {}});
        let result = transform(psp, &options("1.25"));
        assert_eq!(result.object, None);
        assert_eq!(result.notes[0].code, "no-successor");
    }

    #[test]
    fn anything_that_is_not_an_object_is_an_error() {
        for junk in [json!(null), json!([]), json!("x"), json!(3)] {
            let result = transform(junk, &options("1.30"));
            assert_eq!((result.object, result.notes[0].code), (None, "invalid-object"));
        }
    }
}
