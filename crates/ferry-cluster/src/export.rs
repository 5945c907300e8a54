//! Choosing what to export from a snapshot: kind filters, objects Kubernetes
//! made itself, and the cluster-scoped objects that namespaced ones need.
//!
//! With namespaces given, cluster-scoped objects are exported only when the
//! namespaces need them, as Velero does with `--include-namespaces`: the
//! Namespace objects themselves, the CustomResourceDefinitions of exported
//! custom resources, PersistentVolumes bound to claims in those namespaces,
//! ClusterRoleBindings naming their ServiceAccounts, and the ClusterRoles those
//! bindings (or the namespaces' RoleBindings) refer to.

use std::collections::HashSet;

use ferry_model::id::split_api_version;
use ferry_model::{Manifest, Node};

use crate::discovery::{Discovery, Resource};

/// What to export.
#[derive(Debug, Clone, Default)]
pub struct ExportFilter {
    /// Only these namespaces (all when empty).
    pub namespaces: Vec<String>,
    /// Only these kinds or resources (all when empty): `Deployment`, `deployments`, `deployments.apps`, `Deployment.apps`.
    pub include: Vec<String>,
    /// Never these kinds or resources, in the same forms.
    pub exclude: Vec<String>,
    /// Also objects Kubernetes made itself (ReplicaSets of Deployments, token Secrets, ...).
    pub include_generated: bool,
}

/// One object chosen for export: a tree ([`ferry_model::Object`]) or JSON text ([`ferry_model::RawObject`]).
#[derive(Debug)]
pub struct Selected<T> {
    /// The object.
    pub object: T,
    /// Its resource, `plural.group` (`plural` for the core group).
    pub resource: String,
}

/// The outcome of [`select`].
#[derive(Debug)]
pub struct Selection<T> {
    /// Objects to export, in snapshot order.
    pub objects: Vec<Selected<T>>,
    /// Objects left out as made by Kubernetes.
    pub generated: usize,
    /// Objects left out by the kind and namespace filters.
    pub filtered: usize,
}

/// Chooses the objects of a snapshot to export; `generated[i]` says whether
/// `objects[i]` was made by Kubernetes.
pub fn select<T: Manifest>(objects: Vec<T>, generated: &[bool], discovery: &Discovery, filter: &ExportFilter) -> Selection<T> {
    let mut selection = Selection { objects: Vec::new(), generated: 0, filtered: 0 };
    let mut kept: Vec<(T, &Resource)> = Vec::new();
    let mut cluster_scoped: Vec<(T, &Resource)> = Vec::new();
    for (object, &made_by_kubernetes) in objects.into_iter().zip(generated) {
        let Some(resource) = resource_of(discovery, object.id()) else { continue };
        if made_by_kubernetes && !filter.include_generated {
            selection.generated += 1;
        } else if !kind_wanted(filter, resource) {
            selection.filtered += 1;
        } else if resource.namespaced || filter.namespaces.is_empty() {
            kept.push((object, resource));
        } else {
            cluster_scoped.push((object, resource));
        }
    }
    if !filter.namespaces.is_empty() {
        let mut needs = Needs::of(&kept, &filter.namespaces);
        // A kept ClusterRoleBinding adds its role, so ClusterRoles are decided last.
        cluster_scoped.sort_by_key(|(object, _)| object.id().kind == "ClusterRole");
        for (object, resource) in cluster_scoped {
            if needs.take(&object) {
                kept.push((object, resource));
            } else {
                selection.filtered += 1;
            }
        }
    }
    selection.objects = kept.into_iter().map(|(object, resource)| Selected { object, resource: resource.qualified() }).collect();
    selection
}

/// The resource that served the object `id` (objects read from a cluster always have one).
fn resource_of<'a>(discovery: &'a Discovery, id: &ferry_model::ObjectId) -> Option<&'a Resource> {
    let (group, version) = split_api_version(&id.api_version);
    discovery.resources.iter().find(|r| r.group == group && r.version == version && r.kind == id.kind)
}

fn kind_wanted(filter: &ExportFilter, resource: &Resource) -> bool {
    let matches = |pattern: &String| {
        let pattern = pattern.to_ascii_lowercase();
        let kind = resource.kind.to_ascii_lowercase();
        [kind.clone(), resource.plural.clone(), resource.qualified(), format!("{kind}.{}", resource.group)].contains(&pattern)
    };
    (filter.include.is_empty() || filter.include.iter().any(matches)) && !filter.exclude.iter().any(matches)
}

/// Cluster-scoped objects the exported namespaces need.
struct Needs {
    namespaces: HashSet<String>,
    /// (group, kind) of every kept object: a CRD defining one of them is needed.
    custom_kinds: HashSet<(String, String)>,
    cluster_roles: HashSet<String>,
}

impl Needs {
    fn of<T: Manifest>(kept: &[(T, &Resource)], namespaces: &[String]) -> Needs {
        let mut needs = Needs { namespaces: namespaces.iter().cloned().collect(), custom_kinds: HashSet::new(), cluster_roles: HashSet::new() };
        for (object, resource) in kept {
            needs.custom_kinds.insert((resource.group.clone(), resource.kind.clone()));
            if object.id().kind == "RoleBinding"
                && let Some(binding) = object.tree()
            {
                needs.add_cluster_role(&binding);
            }
        }
        needs
    }

    fn add_cluster_role(&mut self, binding: &Node) {
        if binding.at(&["roleRef", "kind"]).and_then(Node::as_str) == Some("ClusterRole")
            && let Some(name) = binding.at(&["roleRef", "name"]).and_then(Node::as_str)
        {
            self.cluster_roles.insert(name.to_owned());
        }
    }

    /// Whether a cluster-scoped object is needed (kept, when its content cannot be read); a
    /// ClusterRoleBinding taken adds its ClusterRole to what is needed.
    fn take(&mut self, object: &impl Manifest) -> bool {
        let id = object.id();
        let by_content = |wanted: &dyn Fn(&Node) -> bool| object.tree().is_none_or(|root| wanted(&root));
        match id.kind.as_str() {
            "Namespace" => self.namespaces.contains(&id.name),
            "ClusterRole" => self.cluster_roles.contains(&id.name),
            "CustomResourceDefinition" => by_content(&|root| self.defines_kept_kind(root)),
            "PersistentVolume" => by_content(&|root| self.bound_here(root)),
            "ClusterRoleBinding" => match object.tree() {
                Some(binding) if self.binds_service_account_here(&binding) => {
                    self.add_cluster_role(&binding);
                    true
                }
                Some(_) => false,
                None => true,
            },
            _ => false,
        }
    }

    fn defines_kept_kind(&self, crd: &Node) -> bool {
        let group = crd.at(&["spec", "group"]).and_then(Node::as_str).unwrap_or_default();
        let kind = crd.at(&["spec", "names", "kind"]).and_then(Node::as_str).unwrap_or_default();
        self.custom_kinds.contains(&(group.to_owned(), kind.to_owned()))
    }

    fn bound_here(&self, volume: &Node) -> bool {
        volume.at(&["spec", "claimRef", "namespace"]).and_then(Node::as_str).is_some_and(|ns| self.namespaces.contains(ns))
    }

    fn binds_service_account_here(&self, binding: &Node) -> bool {
        binding.get("subjects").map(Node::items).unwrap_or_default().iter().any(|subject| {
            subject.str_at("kind") == Some("ServiceAccount") && subject.str_at("namespace").is_some_and(|ns| self.namespaces.contains(ns))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(group: &str, plural: &str, kind: &str) -> Resource {
        Resource { group: group.into(), version: "v1".into(), plural: plural.into(), kind: kind.into(), namespaced: true }
    }

    #[test]
    fn kinds_are_named_as_kubectl_names_them() {
        let deployments = resource("apps", "deployments", "Deployment");
        let secrets = resource("", "secrets", "Secret");
        let wanted = |include: &[&str], exclude: &[&str], r: &Resource| {
            let filter = ExportFilter {
                include: include.iter().map(|s| s.to_string()).collect(),
                exclude: exclude.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            };
            kind_wanted(&filter, r)
        };
        for name in ["Deployment", "deployment", "deployments", "deployments.apps", "Deployment.apps"] {
            assert!(wanted(&[name], &[], &deployments), "{name}");
            assert!(!wanted(&[], &[name], &deployments), "{name}");
        }
        assert!(!wanted(&["deployments.extensions"], &[], &deployments));
        assert!(wanted(&[], &["secrets"], &deployments) && !wanted(&[], &["secrets"], &secrets));
        assert!(wanted(&[], &[], &secrets), "no filter keeps everything");
    }
}
