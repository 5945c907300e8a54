//! Choosing what to export as objects are read: kind filters, objects Kubernetes made itself,
//! and the cluster-scoped objects that namespaced ones need.
//!
//! With namespaces given, cluster-scoped objects are exported only when the
//! namespaces need them, as Velero does with `--include-namespaces`: the
//! Namespace objects themselves, the CustomResourceDefinitions of exported
//! custom resources, PersistentVolumes bound to claims in those namespaces,
//! ClusterRoleBindings naming their ServiceAccounts, and the ClusterRoles those
//! bindings (or the namespaces' RoleBindings) refer to. Those are decided once every
//! namespaced object has been seen; everything else as soon as it is read.

use std::collections::HashSet;

use ferry_model::{Manifest, Node};

use crate::discovery::Resource;

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

/// Chooses objects for export as they are offered, one at a time: whether Kubernetes made an
/// object and the kind filters settle most at once; with namespaces given, cluster-scoped
/// objects wait for [`Choice::finish`], when every namespaced object has been offered. The
/// objects of a page can be offered to a choice of their own, merged in list order later.
#[derive(Debug)]
pub struct Choice<'a, T> {
    filter: &'a ExportFilter,
    /// What the namespaced objects chosen so far need.
    needs: Needs<'a>,
    /// Cluster-scoped objects, with namespaces given.
    waiting: Vec<(T, &'a Resource)>,
    generated: usize,
    filtered: usize,
}

/// What [`Choice::finish`] decides.
#[derive(Debug)]
pub struct Chosen<'a, T> {
    /// The waiting objects to export, after every object [`Choice::offer`] returned: as offered,
    /// ClusterRoles last.
    pub objects: Vec<(T, &'a Resource)>,
    /// Objects left out as made by Kubernetes.
    pub generated: usize,
    /// Objects left out by the kind and namespace filters.
    pub filtered: usize,
}

impl<'a, T: Manifest> Choice<'a, T> {
    /// A choice with nothing offered yet.
    pub fn new(filter: &'a ExportFilter) -> Self {
        Choice { filter, needs: Needs::default(), waiting: Vec::new(), generated: 0, filtered: 0 }
    }

    /// Offers an object read through `resource`, made by Kubernetes or not: returns it if it is
    /// to be exported now; otherwise it is counted as left out, or waits for [`Choice::finish`].
    pub fn offer(&mut self, object: T, resource: &'a Resource, made_by_kubernetes: bool) -> Option<T> {
        if made_by_kubernetes && !self.filter.include_generated {
            self.generated += 1;
        } else if !kind_wanted(self.filter, resource) {
            self.filtered += 1;
        } else if self.filter.namespaces.is_empty() {
            return Some(object);
        } else if resource.namespaced {
            self.needs.note(&object, resource);
            return Some(object);
        } else {
            self.waiting.push((object, resource));
        }
        None
    }

    /// Adds what was offered to `later`, a choice of the objects that follow.
    pub fn merge(&mut self, later: Choice<'a, T>) {
        self.needs.merge(later.needs);
        self.waiting.extend(later.waiting);
        self.generated += later.generated;
        self.filtered += later.filtered;
    }

    /// Decides the waiting cluster-scoped objects, once every namespaced object has been offered.
    pub fn finish(self) -> Chosen<'a, T> {
        let Choice { filter, mut needs, mut waiting, generated, mut filtered } = self;
        // A kept ClusterRoleBinding adds its role, so ClusterRoles are decided last.
        waiting.sort_by_key(|(object, _)| object.id().kind == "ClusterRole");
        let mut objects = Vec::new();
        for (object, resource) in waiting {
            if needs.take(&object, &filter.namespaces) {
                objects.push((object, resource));
            } else {
                filtered += 1;
            }
        }
        Chosen { objects, generated, filtered }
    }
}

fn kind_wanted(filter: &ExportFilter, resource: &Resource) -> bool {
    filter.wants_kind(&resource.group, &resource.kind, Some(&resource.plural))
}

impl ExportFilter {
    /// Whether `--include`/`--exclude` keep objects of this group (`""` for core), kind and,
    /// when known, plural resource name: a pattern is a kind (`Deployment`, any case), a
    /// plural (`deployments`), or either qualified by the group (`deployments.apps`,
    /// `Deployment.apps`).
    pub fn wants_kind(&self, group: &str, kind: &str, plural: Option<&str>) -> bool {
        let kind = kind.to_ascii_lowercase();
        let matches = |pattern: &String| {
            let pattern = pattern.to_ascii_lowercase();
            let qualified = |name: &str| if group.is_empty() { name.to_owned() } else { format!("{name}.{group}") };
            pattern == kind || pattern == format!("{kind}.{group}") || plural.is_some_and(|p| pattern == p || pattern == qualified(p))
        };
        (self.include.is_empty() || self.include.iter().any(matches)) && !self.exclude.iter().any(matches)
    }
}

/// Cluster-scoped objects the exported namespaces need, as far as the namespaced objects
/// chosen so far tell.
#[derive(Debug, Default)]
struct Needs<'a> {
    /// (group, kind) of every kept object, borrowed from its resource: a CRD defining one of
    /// them is needed.
    custom_kinds: HashSet<(&'a str, &'a str)>,
    cluster_roles: HashSet<String>,
}

impl<'a> Needs<'a> {
    /// Notes what a namespaced object chosen for export needs.
    fn note(&mut self, object: &impl Manifest, resource: &'a Resource) {
        self.custom_kinds.insert((&resource.group, &resource.kind));
        if object.id().kind == "RoleBinding"
            && let Some(binding) = object.tree()
        {
            self.add_cluster_role(&binding);
        }
    }

    fn merge(&mut self, other: Needs<'a>) {
        self.custom_kinds.extend(other.custom_kinds);
        self.cluster_roles.extend(other.cluster_roles);
    }

    fn add_cluster_role(&mut self, binding: &Node) {
        if binding.at(&["roleRef", "kind"]).and_then(Node::as_str) == Some("ClusterRole")
            && let Some(name) = binding.at(&["roleRef", "name"]).and_then(Node::as_str)
        {
            self.cluster_roles.insert(name.to_owned());
        }
    }

    /// Whether a cluster-scoped object is needed by `namespaces` (kept, when its content cannot
    /// be read); a ClusterRoleBinding taken adds its ClusterRole to what is needed.
    fn take(&mut self, object: &impl Manifest, namespaces: &[String]) -> bool {
        let id = object.id();
        let here = |namespace: &str| namespaces.iter().any(|n| n == namespace);
        let by_content = |wanted: &dyn Fn(&Node) -> bool| object.tree().is_none_or(|root| wanted(&root));
        match id.kind.as_str() {
            "Namespace" => here(&id.name),
            "ClusterRole" => self.cluster_roles.contains(&id.name),
            "CustomResourceDefinition" => by_content(&|root| self.defines_kept_kind(root)),
            "PersistentVolume" => by_content(&|root| root.at(&["spec", "claimRef", "namespace"]).and_then(Node::as_str).is_some_and(here)),
            "ClusterRoleBinding" => match object.tree() {
                Some(binding) if binds_service_account_in(&binding, &here) => {
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
        self.custom_kinds.contains(&(group, kind))
    }
}

/// Whether a binding names a ServiceAccount of a namespace `here` says yes to.
fn binds_service_account_in(binding: &Node, here: &dyn Fn(&str) -> bool) -> bool {
    binding
        .get("subjects")
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .any(|subject| subject.str_at("kind") == Some("ServiceAccount") && subject.str_at("namespace").is_some_and(here))
}

#[cfg(test)]
mod tests {
    use ferry_model::RawObject;
    use serde_json::{Value, json};

    use super::*;

    fn resource(group: &str, plural: &str, kind: &str) -> Resource {
        Resource { group: group.into(), version: "v1".into(), plural: plural.into(), kind: kind.into(), namespaced: true }
    }

    fn cluster_scoped(group: &str, plural: &str, kind: &str) -> Resource {
        Resource { namespaced: false, ..resource(group, plural, kind) }
    }

    /// Objects read from a cluster with `-n shop`, each with its resource and whether Kubernetes made it.
    fn shop_cluster() -> Vec<(Value, Resource, bool)> {
        let rbac = "rbac.authorization.k8s.io";
        let (namespaces, crds) =
            (cluster_scoped("", "namespaces", "Namespace"), cluster_scoped("apiextensions.k8s.io", "customresourcedefinitions", "CustomResourceDefinition"));
        let (volumes, roles) = (cluster_scoped("", "persistentvolumes", "PersistentVolume"), cluster_scoped(rbac, "clusterroles", "ClusterRole"));
        let bindings = cluster_scoped(rbac, "clusterrolebindings", "ClusterRoleBinding");
        let meta = |api: &str, kind: &str, name: &str| json!({"apiVersion": api, "kind": kind, "metadata": {"name": name}});
        let with = |mut object: Value, extra: Value| {
            object.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            object
        };
        let crd = |name: &str, kind: &str| {
            with(meta("apiextensions.k8s.io/v1", "CustomResourceDefinition", name), json!({"spec": {"group": "example.com", "names": {"kind": kind}}}))
        };
        let volume = |name: &str, ns: &str| with(meta("v1", "PersistentVolume", name), json!({"spec": {"claimRef": {"namespace": ns, "name": "data"}}}));
        let binding = |name: &str, ns: &str, role: &str| {
            let subjects = json!([{"kind": "ServiceAccount", "name": "reporter", "namespace": ns}]);
            with(meta(&format!("{rbac}/v1"), "ClusterRoleBinding", name), json!({"roleRef": {"kind": "ClusterRole", "name": role}, "subjects": subjects}))
        };
        let in_shop = |mut object: Value| {
            object["metadata"]["namespace"] = json!("shop");
            object
        };
        let role_binding = with(in_shop(meta(&format!("{rbac}/v1"), "RoleBinding", "viewers")), json!({"roleRef": {"kind": "ClusterRole", "name": "view"}}));
        vec![
            (meta("v1", "Namespace", "shop"), namespaces.clone(), false),
            (meta("v1", "Namespace", "other"), namespaces.clone(), false),
            (meta("v1", "Namespace", "kube-system"), namespaces, true),
            (crd("widgets.example.com", "Widget"), crds.clone(), false),
            (crd("gadgets.example.com", "Gadget"), crds, false),
            (volume("pv-shop", "shop"), volumes.clone(), false),
            (volume("pv-other", "other"), volumes, false),
            (binding("reporter-reads-widgets", "shop", "widget-reader"), bindings.clone(), false),
            (binding("other-reads", "other", "unrelated"), bindings, false),
            (meta(&format!("{rbac}/v1"), "ClusterRole", "widget-reader"), roles.clone(), false),
            (meta(&format!("{rbac}/v1"), "ClusterRole", "view"), roles.clone(), false),
            (meta(&format!("{rbac}/v1"), "ClusterRole", "unrelated"), roles, false),
            (in_shop(meta("example.com/v1", "Widget", "blue")), resource("example.com", "widgets", "Widget"), false),
            (role_binding, resource(rbac, "rolebindings", "RoleBinding"), false),
            (in_shop(meta("v1", "ConfigMap", "settings")), resource("", "configmaps", "ConfigMap"), false),
            (in_shop(meta("v1", "Secret", "token")), resource("", "secrets", "Secret"), true),
        ]
    }

    /// Offers `objects` in pages of `page` objects, each page to a choice of its own merged in
    /// order; returns the names chosen (in the order they would be written) and the counts.
    fn choose(objects: &[(Value, Resource, bool)], filter: &ExportFilter, page: usize) -> (Vec<String>, usize, usize) {
        let mut choice = Choice::new(filter);
        let mut names = Vec::new();
        for part in objects.chunks(page) {
            let mut apart = Choice::new(filter);
            for (value, resource, made_by_kubernetes) in part {
                let object = RawObject::from_list_item(&value.to_string(), "v1", "Unknown").unwrap();
                names.extend(apart.offer(object, resource, *made_by_kubernetes).map(|o| o.id.name));
            }
            choice.merge(apart);
        }
        let last = choice.finish();
        names.extend(last.objects.into_iter().map(|(o, _)| o.id.name));
        (names, last.generated, last.filtered)
    }

    #[test]
    fn with_namespaces_cluster_scoped_objects_are_chosen_alike_before_or_after_what_needs_them() {
        let filter = ExportFilter { namespaces: vec!["shop".into()], ..Default::default() };
        let cluster = shop_cluster();
        let (names, generated, filtered) = choose(&cluster, &filter, cluster.len());
        assert_eq!(names, ["blue", "viewers", "settings", "shop", "widgets.example.com", "pv-shop", "reporter-reads-widgets", "widget-reader", "view"]);
        assert_eq!((generated, filtered), (2, 5), "kube-system and the token made by Kubernetes; other, gadgets, pv-other, other-reads, unrelated filtered");
        let mut orders = vec![cluster.iter().rev().cloned().collect::<Vec<_>>()];
        let (namespaced, scoped): (Vec<_>, Vec<_>) = cluster.iter().cloned().partition(|(_, r, _)| r.namespaced);
        orders.push(scoped.iter().chain(&namespaced).cloned().collect());
        orders.push(namespaced.iter().chain(&scoped).cloned().collect());
        for order in orders {
            for page in [1, 3, order.len()] {
                let (mut other, g, f) = choose(&order, &filter, page);
                let mut expected = names.clone();
                other.sort();
                expected.sort();
                assert_eq!((other, g, f), (expected, generated, filtered), "pages of {page}");
            }
        }
    }

    #[test]
    fn without_namespaces_every_wanted_object_is_chosen_at_once() {
        let filter = ExportFilter { exclude: vec!["secrets".into(), "PersistentVolume".into()], ..Default::default() };
        let (names, generated, filtered) = choose(&shop_cluster(), &filter, 4);
        assert_eq!(names.len(), 16 - 2 - 2, "{names:?}");
        assert_eq!((generated, filtered), (2, 2), "the token made by Kubernetes is counted as such, though its kind is excluded too");
        let all = ExportFilter { include_generated: true, ..filter };
        assert_eq!(choose(&shop_cluster(), &all, 4).1, 0, "with --include-generated nothing is left out as made by Kubernetes");
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
        let objects = ExportFilter { exclude: vec!["deployments.apps".into(), "Secret".into()], ..Default::default() };
        assert!(!objects.wants_kind("", "Secret", None) && !objects.wants_kind("apps", "Deployment", Some("deployments")));
        assert!(objects.wants_kind("apps", "Deployment", None), "a plural name needs the plural: manifests have none");
    }
}
