//! Rules that recognise objects Kubernetes made itself (`data/generated.yaml`).

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::OnceLock;

use ferry_model::load::DocumentId;
use ferry_model::{Doc, DocNode, Node, ObjectId};
use rayon::prelude::*;
use serde::Deserialize;

use crate::strings::FastHash;

/// One rule: conditions, and what to tell the user.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratedRule {
    /// Stable identifier.
    pub id: String,
    /// Conditions, all of which must hold.
    pub when: When,
    /// Why such objects are not migrated; `{owner}` stands for the controlling owner.
    pub reason: String,
    /// Where this is documented.
    pub source: String,
}

/// Conditions of a [`GeneratedRule`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct When {
    /// Kind.
    pub kind: Option<String>,
    /// API group (`""` for the core group).
    pub group: Option<String>,
    /// Names, any of.
    #[serde(default)]
    pub names: Vec<String>,
    /// Namespaces, any of.
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// A label key, or `key=value`.
    pub label: Option<String>,
    /// An annotation key, or `key=value`.
    pub annotation: Option<String>,
    /// `path=value` for a top-level scalar field.
    pub field: Option<String>,
    /// An ownerReference with `controller: true`.
    #[serde(default)]
    pub controller_owner: bool,
    /// The kind of the ownerReference with `controller: true`.
    pub owner_kind: Option<String>,
    /// Endpoints named like a Service with a selector (decided across objects).
    #[serde(default)]
    pub selecting_service: bool,
}

/// Why an object is not migrated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// The rule's id.
    pub rule: String,
    /// For the user.
    pub reason: String,
}

/// The generated-object rules.
#[derive(Debug)]
pub struct GeneratedRules {
    rules: Vec<GeneratedRule>,
}

impl GeneratedRules {
    /// The table built into this binary, parsed on first use: on its own, so that a command
    /// that only classifies objects (`ferry export`) does not compile the other tables.
    pub fn builtin() -> &'static GeneratedRules {
        static RULES: OnceLock<GeneratedRules> = OnceLock::new();
        RULES.get_or_init(|| GeneratedRules::parse(include_str!("../../data/generated.yaml")).expect("embedded data/generated.yaml is valid"))
    }

    /// Parses the table.
    pub fn parse(text: &str) -> Result<GeneratedRules, String> {
        let rules: Vec<GeneratedRule> = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
        Ok(GeneratedRules { rules })
    }

    /// The rules, in table order.
    pub fn rules(&self) -> &[GeneratedRule] {
        &self.rules
    }

    /// The first rule (not needing other objects) that says this object was made by Kubernetes.
    pub fn classify(&self, id: &ObjectId, root: &Node) -> Option<Generated> {
        // Most objects match no rule by identity; only the others need a document view.
        if !self.may_classify(id) {
            return None;
        }
        self.classify_document(&DocumentId::of(id), Doc::from_node(root).root().expect("a node is a root"))
    }

    /// Whether some rule (not needing other objects) could say this object was made by
    /// Kubernetes, judging by its identity alone: `false` settles it without the content.
    pub fn may_classify(&self, id: &ObjectId) -> bool {
        let id = DocumentId::of(id);
        self.rules.iter().any(|r| !r.when.selecting_service && r.when.matches_identity(&id))
    }

    /// [`GeneratedRules::classify`] for a loaded document.
    pub fn classify_document(&self, id: &DocumentId<'_>, root: DocNode<'_>) -> Option<Generated> {
        let rule = self.rules.iter().find(|r| !r.when.selecting_service && r.when.matches_identity(id) && r.when.matches_content(root))?;
        let owner = controlling_owner(root).unwrap_or_default();
        Some(Generated { rule: rule.id.clone(), reason: rule.reason.replace("{owner}", &owner) })
    }

    /// For each object, the `selecting_service` rule that applies because a Service that
    /// selects pods (`selects_pods`) has its namespace and name: the endpoints controller's
    /// objects. Those rules look at identity only, which the table tests check.
    pub fn selected_by_services<'a, T: Sync>(
        &self,
        objects: &'a [T],
        id: impl Fn(&'a T) -> DocumentId<'a> + Sync,
        selects_pods: impl Fn(&'a T) -> bool,
    ) -> Vec<Option<Generated>> {
        let services: HashSet<(Option<&str>, Cow<'_, str>), FastHash> =
            objects.iter().filter(|&o| selects_pods(o)).map(&id).map(|id| (id.namespace, id.name)).collect();
        objects.par_iter().map(|o| self.by_service(&id(o), |ns, name| services.contains(&(ns, Cow::Borrowed(name))))).collect()
    }

    /// Whether a `selecting_service` rule could apply to the object `id`: then what made it is
    /// known only once every Service is ([`GeneratedRules::by_service`]).
    pub fn waits_for_services(&self, id: &DocumentId<'_>) -> bool {
        self.service_rule(id).is_some()
    }

    /// The `selecting_service` rule that applies to the object `id`, given whether a Service
    /// that selects pods has a namespace and name (`selecting`).
    pub fn by_service(&self, id: &DocumentId<'_>, selecting: impl FnOnce(Option<&str>, &str) -> bool) -> Option<Generated> {
        let rule = self.service_rule(id).filter(|_| selecting(id.namespace, &id.name))?;
        Some(Generated { rule: rule.id.clone(), reason: rule.reason.clone() })
    }

    fn service_rule(&self, id: &DocumentId<'_>) -> Option<&GeneratedRule> {
        self.rules.iter().find(|r| r.when.selecting_service && r.when.matches_identity(id))
    }
}

impl When {
    /// Kind, group, name and namespace conditions.
    fn matches_identity(&self, id: &DocumentId<'_>) -> bool {
        let is = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        let one_of = |list: &[String], have: Option<&str>| list.is_empty() || have.is_some_and(|h| list.iter().any(|l| l == h));
        is(&self.kind, id.kind) && is(&self.group, id.group()) && one_of(&self.names, Some(&id.name)) && one_of(&self.namespaces, id.namespace)
    }

    /// Whether any condition looks inside the object.
    pub fn looks_at_content(&self) -> bool {
        self.label.is_some() || self.annotation.is_some() || self.field.is_some() || self.controller_owner || self.owner_kind.is_some()
    }

    /// Label, annotation, field and owner conditions.
    fn matches_content(&self, root: DocNode<'_>) -> bool {
        let meta = root.get("metadata");
        self.label.as_deref().is_none_or(|l| has_entry(meta.and_then(|m| m.get("labels")), l))
            && self.annotation.as_deref().is_none_or(|a| has_entry(meta.and_then(|m| m.get("annotations")), a))
            && self.field.as_deref().is_none_or(|f| has_entry(Some(root), f))
            && (!self.controller_owner || controlling_owner(root).is_some())
            && self.owner_kind.as_deref().is_none_or(|kind| controlling_owner_node(root).and_then(|o| o.str_at("kind")) == Some(kind))
    }
}

/// Whether `map` has `key`, or `key` with `value` when the condition is `key=value`.
fn has_entry(map: Option<DocNode<'_>>, condition: &str) -> bool {
    let Some(map) = map else { return false };
    match condition.split_once('=') {
        Some((key, value)) => map.str_at(key) == Some(value),
        None => map.get(condition).is_some(),
    }
}

/// `Kind name` of the ownerReference marked `controller: true`.
fn controlling_owner(root: DocNode<'_>) -> Option<String> {
    controlling_owner_node(root).map(|o| format!("{} {}", o.str_at("kind").unwrap_or("owner"), o.str_at("name").unwrap_or("?")))
}

/// The ownerReference marked `controller: true`.
fn controlling_owner_node(root: DocNode<'_>) -> Option<DocNode<'_>> {
    root.at(&["metadata", "ownerReferences"])?.items().find(|o| o.get("controller").and_then(DocNode::as_bool) == Some(true))
}
