//! Converting objects whose API version the target no longer serves.
//!
//! Whether a version is removed comes from ferry-analysis's deprecation table;
//! which conversions exist, their defaults and sources from
//! `data/conversions.yaml`; the structural field changes from the converters in
//! this module's files, one per kind family.

mod crd;
mod hpa;
mod ingress;
mod small;
mod webhook;
mod workload;

use std::sync::OnceLock;

use ferry_analysis::KubeVersion;
use ferry_analysis::knowledge::Deprecations;
use ferry_analysis::knowledge::deprecations::{ApiStatus, DeprecationRow};
use serde::Deserialize;
use serde_json::Value;

use crate::note::{Note, Severity};
use crate::object::{Identity, PathPattern, api_version, kind, pointer, remove_at};
use crate::rules::matcher::KindPattern;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    conversions: Vec<Conversion>,
    references: Vec<Reference>,
    no_successor: Vec<NoSuccessor>,
    unconverted: Vec<Unconverted>,
}

/// One (from, kind) → to conversion.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Conversion {
    from: String,
    kind: String,
    to: String,
    #[serde(default)]
    converter: Converter,
    #[serde(default)]
    keep_defaults: Vec<KeptDefault>,
    #[serde(default)]
    removed_fields: Vec<RemovedField>,
    #[serde(default)]
    changed_defaults: Vec<ChangedDefault>,
    source: String,
}

/// A default of the old version, written out when absent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeptDefault {
    field: PathPattern,
    value: Value,
    #[serde(default)]
    unless: Option<FieldValue>,
}

/// `field` (a JSON pointer) has `value`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldValue {
    field: String,
    value: Value,
}

/// A field the new version does not have.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RemovedField {
    field: PathPattern,
    why: String,
}

/// A default that changed and is deliberately not kept.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangedDefault {
    field: String,
    message: String,
}

/// Fields of some kinds that refer to another object by apiVersion and kind.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Reference {
    kinds: Vec<KindPattern>,
    fields: Vec<PathPattern>,
    #[cfg_attr(not(test), expect(dead_code, reason = "required in every row so the table stays sourced; checked by the tests"))]
    source: String,
}

/// A removed version with no successor, and what to do instead.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoSuccessor {
    from: String,
    kind: String,
    advice: String,
    source: String,
}

/// A removed version ferry deliberately does not convert.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Unconverted {
    from: String,
    kind: String,
    why: String,
}

/// The code that makes a conversion's structural changes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Converter {
    /// Only `apiVersion` changes.
    #[default]
    Rename,
    Workload,
    Ingress,
    CustomResourceDefinition,
    Webhook,
    PodDisruptionBudget,
    #[serde(rename = "hpa-v2beta1")]
    HpaV2beta1,
    CertificateSigningRequest,
    EndpointSlice,
    Event,
    #[serde(rename = "rbac-v1alpha1")]
    RbacV1alpha1,
    FlowControlShares,
    AccessReview,
}

impl Converter {
    fn apply(self, object: &mut Value, notes: &mut Vec<Note>) {
        match self {
            Converter::Rename => {}
            Converter::Workload => workload::convert(object, notes),
            Converter::Ingress => ingress::convert(object, notes),
            Converter::CustomResourceDefinition => crd::convert(object, notes),
            Converter::Webhook => webhook::convert(object, notes),
            Converter::PodDisruptionBudget => small::pod_disruption_budget(object, notes),
            Converter::HpaV2beta1 => hpa::convert(object),
            Converter::CertificateSigningRequest => small::certificate_signing_request(object, notes),
            Converter::EndpointSlice => small::endpoint_slice(object, notes),
            Converter::Event => small::event(object, notes),
            Converter::RbacV1alpha1 => small::rbac_subjects(object),
            Converter::FlowControlShares => small::flow_control_shares(object, notes),
            Converter::AccessReview => small::access_review(object),
        }
    }
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        serde_saphyr::from_str(include_str!("../../data/conversions.yaml")).expect("embedded data/conversions.yaml is valid (checked by its tests)")
    })
}

impl Table {
    fn conversion(&self, from: &str, kind: &str) -> Option<&Conversion> {
        self.conversions.iter().find(|c| c.from == from && c.kind == kind)
    }
}

/// An object in an API version the target serves, and what happened on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Converted {
    /// The converted object (unchanged when nothing was removed, or when ferry has
    /// no converter; a `no-converter` note then says so).
    pub object: Value,
    /// What changed and what to review.
    pub notes: Vec<Note>,
}

/// Converts `object` to an API version that `target` serves, following the
/// upstream "Deprecated API Migration Guide" field by field. Objects whose version
/// is still served are returned unchanged. Conversions chain when a replacement is
/// itself removed by `target`.
///
/// `Err` is a [`Severity::Error`] note with code `no-successor` when the version is
/// removed and nothing replaces it (PodSecurityPolicy): such an object cannot be
/// migrated. A removed version ferry has no converter for is returned unchanged
/// with a `no-converter` note (an error for Kubernetes APIs, a warning for add-ons
/// such as cert-manager whose removal depends on the installed release).
pub fn convert(object: Value, target: KubeVersion) -> Result<Converted, Note> {
    let mut object = object;
    let mut notes = Vec::new();
    let deprecations = Deprecations::builtin();
    // Each step moves to a newer version; the bound only guards against a table cycle.
    for _ in 0..=table().conversions.len() {
        let (from, kind) = (api_version(&object).to_owned(), kind(&object).to_owned());
        let Some((ApiStatus::Removed, row)) = deprecations.status(&from, &kind, target) else { break };
        if row.replacement.is_none() {
            return Err(no_successor(&from, &kind, row));
        }
        let Some(conversion) = table().conversion(&from, &kind) else {
            notes.push(no_converter(&from, &kind, row));
            break;
        };
        conversion.apply(&mut object, &mut notes);
        notes.push(
            Note::info("converted", format!("`{from}` {kind} is not served by Kubernetes {target}; converted to `{}` ({})", conversion.to, conversion.source))
                .at("/apiVersion"),
        );
    }
    convert_references(&mut object, target, &mut notes);
    Ok(Converted { object, notes })
}

/// Rewrites references (`{apiVersion, kind, name}`) to removed versions.
fn convert_references(object: &mut Value, target: KubeVersion, notes: &mut Vec<Note>) {
    let id = Identity::of(object);
    let references = table().references.iter().filter(|r| r.kinds.iter().any(|k| k.matches(&id.group, &id.kind)));
    for pattern in references.flat_map(|r| r.fields.iter()) {
        for path in pattern.find(object) {
            let field = format!("{}/apiVersion", pointer(&path));
            let Some(reference) = object.pointer(&pointer(&path)) else { continue };
            let (from, kind) = (api_version(reference).to_owned(), self::kind(reference).to_owned());
            let served = served_version(&from, &kind, target);
            if served != from
                && let Some(slot) = object.pointer_mut(&field)
            {
                *slot = Value::String(served.clone());
                notes.push(
                    Note::info("converted", format!("refers to `{from}` {kind}, which Kubernetes {target} does not serve; now refers to `{served}`")).at(field),
                );
            }
        }
    }
}

/// The version that serves `kind` at `target`, following replacements of removed versions.
fn served_version(api_version: &str, kind: &str, target: KubeVersion) -> String {
    let deprecations = Deprecations::builtin();
    let mut current = api_version.to_owned();
    for _ in 0..=deprecations.rows().len() {
        match deprecations.status(&current, kind, target) {
            Some((ApiStatus::Removed, row)) if row.component == "k8s" => match &row.replacement {
                Some(next) => current = next.clone(),
                None => break,
            },
            _ => break,
        }
    }
    current
}

impl Conversion {
    fn apply(&self, object: &mut Value, notes: &mut Vec<Note>) {
        self.converter.apply(object, notes);
        for removed in &self.removed_fields {
            for path in removed.field.find(object) {
                if remove_at(object, &path).is_some() {
                    notes.push(Note::warning("field-removed", format!("removed: {}", removed.why)).at(pointer(&path)));
                }
            }
        }
        for kept in &self.keep_defaults {
            if kept.unless.as_ref().is_some_and(|u| object.pointer(&u.field) == Some(&u.value)) {
                continue;
            }
            for field in kept.field.set_missing(object, &kept.value) {
                let message = format!("set to `{}`, the default of `{}`, because `{}` defaults it differently", kept.value, self.from, self.to);
                notes.push(Note::info("default-kept", message).at(field));
            }
        }
        for changed in &self.changed_defaults {
            if object.pointer(&changed.field).is_none() {
                notes.push(Note::info("default-changed", changed.message.clone()).at(changed.field.clone()));
            }
        }
        if let Some(map) = object.as_object_mut() {
            map.insert("apiVersion".into(), Value::String(self.to.clone()));
        }
    }
}

fn no_successor(from: &str, kind: &str, row: &DeprecationRow) -> Note {
    let advice = table().no_successor.iter().find(|n| n.from == from && n.kind == kind).map(|n| format!(" {} ({})", n.advice, n.source)).unwrap_or_default();
    let removed = row.removed_in.map(|v| format!(" since {v}")).unwrap_or_default();
    Note::error("no-successor", format!("`{from}` {kind} is not served{removed} and has no successor, so the object is not applied.{advice}")).at("/apiVersion")
}

fn no_converter(from: &str, kind: &str, row: &DeprecationRow) -> Note {
    let replacement = row.replacement.as_deref().unwrap_or_default();
    let why = table().unconverted.iter().find(|u| u.from == from && u.kind == kind).map(|u| format!(": {}", u.why)).unwrap_or_default();
    let hint = row.note.as_deref().map(|n| format!(" ({n})")).unwrap_or_default();
    let (severity, removed) = match (row.component.as_str(), row.removed_in) {
        ("k8s", Some(v)) => (Severity::Error, format!("is not served since Kubernetes {v}")),
        (component, Some(v)) => (Severity::Warning, format!("is not served since {component} {v}")),
        (_, None) => (Severity::Warning, "is deprecated".to_owned()),
    };
    let message = format!(
        "`{from}` {kind} {removed}; ferry has no converter to `{replacement}`{why}. The object is left as it is and applying it will fail until it is converted{hint}"
    );
    Note::new(severity, "no-converter", message).at("/apiVersion")
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use serde_json::json;

    use super::*;

    fn version(text: &str) -> KubeVersion {
        text.parse().unwrap()
    }

    #[test]
    fn the_table_agrees_with_the_deprecation_table() {
        let deprecations = Deprecations::builtin();
        let table = table();
        let mut seen = HashSet::new();
        for c in &table.conversions {
            assert!(!c.source.trim().is_empty(), "{} {} has no source", c.from, c.kind);
            assert!(seen.insert((c.from.as_str(), c.kind.as_str())), "duplicate {} {}", c.from, c.kind);
            let row = deprecations.lookup(&c.from, &c.kind).unwrap_or_else(|| panic!("{} {} is not in the deprecation table", c.from, c.kind));
            assert!(row.removed_in.is_some(), "{} {} is never removed", c.from, c.kind);
            assert_eq!(row.replacement.as_deref(), Some(c.to.as_str()), "{} {}: `to` differs from the deprecation table", c.from, c.kind);
        }
        for r in &table.references {
            assert!(!r.source.trim().is_empty() && !r.kinds.is_empty() && !r.fields.is_empty());
        }
        for n in &table.no_successor {
            assert!(!n.source.trim().is_empty() && !n.advice.trim().is_empty());
            assert!(deprecations.lookup(&n.from, &n.kind).is_some_and(|r| r.replacement.is_none() && r.removed_in.is_some()));
        }
        for u in &table.unconverted {
            assert!(!u.why.trim().is_empty());
            assert!(seen.insert((u.from.as_str(), u.kind.as_str())), "{} {} both converted and unconverted", u.from, u.kind);
        }
        let accounted: HashSet<(&str, &str)> = table.no_successor.iter().map(|n| (n.from.as_str(), n.kind.as_str())).chain(seen).collect();
        for row in deprecations.rows().iter().filter(|r| r.component == "k8s" && r.removed_in.is_some()) {
            assert!(accounted.contains(&(row.api_version.as_str(), row.kind.as_str())), "{} {} is neither converted nor explained", row.api_version, row.kind);
        }
    }

    #[test]
    fn served_versions_are_left_alone() {
        let ingress = json!({"apiVersion": "extensions/v1beta1", "kind": "Ingress", "metadata": {"name": "a"}, "spec": {}});
        let converted = convert(ingress.clone(), version("1.21")).unwrap();
        assert_eq!(converted.object, ingress);
        assert!(converted.notes.is_empty());
        for junk in [json!(null), json!([1]), json!({"apiVersion": 7})] {
            assert_eq!(convert(junk.clone(), version("1.30")).unwrap().object, junk);
        }
    }

    #[test]
    fn conversions_chain_through_removed_replacements() {
        let plc = json!({"apiVersion": "flowcontrol.apiserver.k8s.io/v1beta1", "kind": "PriorityLevelConfiguration", "metadata": {"name": "batch"},
            "spec": {"type": "Limited", "limited": {"assuredConcurrencyShares": 0, "limitResponse": {"type": "Reject"}}}});
        let at_126 = convert(plc.clone(), version("1.26")).unwrap().object;
        assert_eq!(at_126["apiVersion"], "flowcontrol.apiserver.k8s.io/v1beta3");
        let at_132 = convert(plc, version("1.32")).unwrap();
        assert_eq!(at_132.object["apiVersion"], "flowcontrol.apiserver.k8s.io/v1");
        assert_eq!(at_132.object["spec"]["limited"], json!({"nominalConcurrencyShares": 30, "limitResponse": {"type": "Reject"}}));
        assert_eq!(at_132.notes.iter().filter(|n| n.code == "converted").count(), 2);
    }

    #[test]
    fn references_to_removed_versions_follow_their_replacement() {
        // sock-shop-2019/deploy/kubernetes/autoscaling/cart-hsc.yaml
        let hpa = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "cart", "namespace": "sock-shop"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1beta1", "kind": "Deployment", "name": "cart"}, "minReplicas": 1, "maxReplicas": 10, "targetCPUUtilizationPercentage": 50}});
        let converted = convert(hpa, version("1.16")).unwrap();
        assert_eq!(converted.object["spec"]["scaleTargetRef"]["apiVersion"], "apps/v1");
        assert_eq!(converted.object["apiVersion"], "autoscaling/v1");
        assert_eq!(converted.notes[0].field.as_deref(), Some("/spec/scaleTargetRef/apiVersion"));
        let v2beta1 = json!({"apiVersion": "autoscaling/v2beta1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "a"},
            "spec": {"scaleTargetRef": {"apiVersion": "extensions/v1beta1", "kind": "Deployment", "name": "a"}, "metrics": [
                {"type": "Object", "object": {"target": {"apiVersion": "extensions/v1beta1", "kind": "Ingress", "name": "main"}, "metricName": "hits", "targetValue": "1"}}]}});
        let at_125 = convert(v2beta1, version("1.25")).unwrap().object;
        assert_eq!(at_125["spec"]["metrics"][0]["object"]["describedObject"]["apiVersion"], "networking.k8s.io/v1");
        assert_eq!(at_125["spec"]["scaleTargetRef"]["apiVersion"], "apps/v1");
    }

    #[test]
    fn pod_security_policies_have_no_successor() {
        let psp = json!({"apiVersion": "extensions/v1beta1", "kind": "PodSecurityPolicy", "metadata": {"name": "restricted"}, "spec": {"privileged": false}});
        assert_eq!(convert(psp.clone(), version("1.24")).unwrap().object["apiVersion"], "policy/v1beta1");
        let note = convert(psp, version("1.25")).unwrap_err();
        assert_eq!((note.severity, note.code), (Severity::Error, "no-successor"));
        assert!(note.message.contains("Pod Security Admission"), "{}", note.message);
    }

    #[test]
    fn removed_versions_without_converter_are_left_with_a_note() {
        let vap = json!({"apiVersion": "admissionregistration.k8s.io/v1alpha1", "kind": "ValidatingAdmissionPolicy", "metadata": {"name": "p"}});
        let converted = convert(vap.clone(), version("1.33")).unwrap();
        assert_eq!(converted.object, vap);
        assert_eq!((converted.notes[0].severity, converted.notes[0].code), (Severity::Error, "no-converter"));
        assert!(converted.notes[0].message.contains("alpha API"));
        let issuer = json!({"apiVersion": "cert-manager.io/v1alpha2", "kind": "Issuer", "metadata": {"name": "ca"}});
        let converted = convert(issuer, version("1.30")).unwrap();
        assert_eq!(converted.notes[0].severity, Severity::Warning, "add-on removals depend on the installed add-on");
    }
}
