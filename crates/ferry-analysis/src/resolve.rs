//! Resolves the references and host mentions of all objects into the
//! dependency matrix.
//!
//! Everything is looked up through hash indices built once, so resolving is
//! linear in the number of references: no name is matched against every
//! Service.

use std::collections::HashMap;

use crate::assessment::{Dependency, Evidence, ObjRef, Resolution};
use crate::facts::{Class, Facts, Mention, Ref, Relation};

/// Kinds without a namespace.
const CLUSTER_SCOPED: &[&str] = &[
    "Namespace", "StorageClass", "PersistentVolume", "ClusterRole", "ClusterRoleBinding", "IngressClass",
    "CustomResourceDefinition", "PriorityClass", "RuntimeClass", "CSIDriver", "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration", "APIService", "Node",
];

type Key<'a> = (&'a str, Option<&'a str>, &'a str);

/// Look-up tables over all facts.
pub(crate) struct Index<'a> {
    facts: &'a [Facts],
    by_key: HashMap<Key<'a>, usize>,
    workloads_by_label: HashMap<(Option<&'a str>, &'a str, &'a str), Vec<usize>>,
    workloads_by_namespace: HashMap<Option<&'a str>, Vec<usize>>,
}

impl<'a> Index<'a> {
    pub(crate) fn new(facts: &'a [Facts]) -> Self {
        let mut index = Index {
            facts,
            by_key: HashMap::with_capacity(facts.len()),
            workloads_by_label: HashMap::new(),
            workloads_by_namespace: HashMap::new(),
        };
        for (i, f) in facts.iter().enumerate() {
            let ns = f.id.namespace.as_deref();
            index.by_key.entry((f.id.kind.as_str(), ns, f.id.name.as_str())).or_insert(i);
            if let Some(pod) = &f.pod {
                index.workloads_by_namespace.entry(ns).or_default().push(i);
                for (k, v) in &pod.labels {
                    index.workloads_by_label.entry((ns, k.as_str(), v.as_str())).or_default().push(i);
                }
            }
        }
        index
    }

    /// Finds an object, falling back to one whose manifest leaves the namespace unset.
    /// The flag says whether the fallback was used.
    fn find(&self, kind: &str, namespace: Option<&str>, name: &str) -> Option<(usize, bool)> {
        let namespace = if CLUSTER_SCOPED.contains(&kind) { None } else { namespace };
        if let Some(&i) = self.by_key.get(&(kind, namespace, name)) {
            return Some((i, false));
        }
        namespace.and_then(|_| self.by_key.get(&(kind, None, name))).map(|&i| (i, true))
    }

    /// Workloads whose pod labels satisfy a selector, in the selector's namespace.
    fn selected(&self, selector_owner: usize) -> Vec<usize> {
        let owner = &self.facts[selector_owner];
        let Some(selector) = owner.selector.as_ref().map(|s| &s.value).filter(|s| !s.is_empty()) else { return Vec::new() };
        let ns = owner.id.namespace.as_deref();
        let candidates = match selector.labels.first() {
            Some((k, v)) => self.workloads_by_label.get(&(ns, k.as_str(), v.as_str())),
            None => self.workloads_by_namespace.get(&ns),
        };
        candidates
            .into_iter()
            .flatten()
            .copied()
            .filter(|&w| self.facts[w].pod.as_ref().is_some_and(|p| selector.matches(&p.labels)))
            .collect()
    }
}

/// The resolved graph.
pub(crate) struct Resolved {
    /// Every dependency edge.
    pub dependencies: Vec<Dependency>,
    /// For each object, the workloads that depend on it directly (by reference or because it selects them).
    pub users: HashMap<usize, Vec<usize>>,
    /// Workload-to-workload needs: (from, to, index of the network edge in `dependencies`).
    pub workload_needs: Vec<(usize, usize, usize)>,
    /// Objects with a non-empty selector that selects no workload.
    pub empty_selections: Vec<usize>,
}

/// Builds the dependency matrix.
pub(crate) fn resolve(facts: &[Facts]) -> Resolved {
    let index = Index::new(facts);
    let mut builder = Builder { facts, index: &index, out: Vec::new(), seen: HashMap::new(), users: HashMap::new(), targets: Vec::new(), backends: Vec::new() };
    let mut selections: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut empty_selections = Vec::new();
    for (i, f) in facts.iter().enumerate() {
        for r in &f.refs {
            builder.reference(i, r);
        }
        if f.selector.as_ref().is_some_and(|s| !s.value.is_empty()) {
            let chosen = index.selected(i);
            if chosen.is_empty() && f.class != Class::Custom {
                empty_selections.push(i);
            }
            for &w in &chosen {
                builder.selects(i, w);
            }
            selections.insert(i, chosen);
        }
    }
    for (i, f) in facts.iter().enumerate().filter(|(_, f)| f.pod.is_some()) {
        for m in &f.mentions {
            builder.mention(i, m, None);
        }
        builder.config_mentions(i);
    }
    // An Ingress is used by the workloads behind the Services it routes to.
    for &(ingress, service) in &builder.backends {
        let behind = selections.get(&service).cloned().unwrap_or_default();
        builder.users.entry(ingress).or_default().extend(behind);
    }
    let workload_needs = builder
        .targets
        .iter()
        .filter_map(|&(from, to, edge)| selections.get(&to).map(|ws| (from, ws, edge)))
        .flat_map(|(from, ws, edge)| ws.iter().filter(move |&&w| w != from).map(move |&w| (from, w, edge)))
        .collect();
    Resolved { dependencies: builder.out, users: builder.users, workload_needs, empty_selections }
}

struct Builder<'a> {
    facts: &'a [Facts],
    index: &'a Index<'a>,
    out: Vec<Dependency>,
    seen: HashMap<(usize, ObjRef, Relation), usize>,
    users: HashMap<usize, Vec<usize>>,
    /// Network edges that resolved to a Service: (from, service, edge index).
    targets: Vec<(usize, usize, usize)>,
    /// Ingress backends that resolved to a Service: (ingress, service).
    backends: Vec<(usize, usize)>,
}

impl Builder<'_> {
    fn evidence(&self, owner: usize, line: u32, path: &str) -> Evidence {
        Evidence { file: self.facts[owner].origin.file.to_string(), line, path: path.to_owned() }
    }

    /// Records an edge, or adds its evidence to the same (from, to, relation) edge; returns the index of a new edge.
    fn push(&mut self, from: usize, to: ObjRef, dep: Dependency, target: Option<usize>) -> Option<usize> {
        if let Some(&existing) = self.seen.get(&(from, to.clone(), dep.kind)) {
            let edge = &mut self.out[existing];
            if edge.also.len() < crate::assessment::MAX_EXTRA_EVIDENCE && edge.evidence != dep.evidence && !edge.also.contains(&dep.evidence) {
                edge.also.push(dep.evidence);
            }
            return None;
        }
        self.seen.insert((from, to, dep.kind), self.out.len());
        if let Some(t) = target
            && self.facts[from].pod.is_some() {
                self.users.entry(t).or_default().push(from);
            }
        self.out.push(dep);
        Some(self.out.len() - 1)
    }

    fn reference(&mut self, from: usize, r: &Ref) {
        let f = &self.facts[from];
        let ns = r.namespace.as_deref().or(f.id.namespace.as_deref());
        let found = self.index.find(&r.kind, ns, &r.name);
        let to = match found {
            Some((t, _)) => ObjRef::of(&self.facts[t].id),
            None => ObjRef {
                kind: r.kind.clone(),
                namespace: if CLUSTER_SCOPED.contains(&r.kind.as_str()) { None } else { ns.map(str::to_owned) },
                name: r.name.clone(),
            },
        };
        let resolution = match found {
            Some(_) => Resolution::Resolved,
            None if r.expected_in_input && !r.optional => Resolution::Dangling,
            None => Resolution::ClusterProvided,
        };
        let note = match found {
            Some((_, true)) => Some("target's manifest sets no namespace; assumed to be deployed alongside".to_owned()),
            None if r.optional => Some("marked optional".to_owned()),
            _ => None,
        };
        let dep = Dependency {
            from: ObjRef::of(&f.id),
            to: to.clone(),
            kind: r.relation,
            resolution,
            evidence: self.evidence(from, r.line, &r.path),
            via: None,
            address: None,
            note,
            also: Vec::new(),
        };
        if let (Some((t, _)), Relation::IngressBackend) = (found, r.relation) {
            self.backends.push((from, t));
        }
        self.push(from, to, dep, found.map(|(t, _)| t));
    }

    fn selects(&mut self, owner: usize, workload: usize) {
        let f = &self.facts[owner];
        let Some(selector) = &f.selector else { return };
        let to = ObjRef::of(&self.facts[workload].id);
        let dep = Dependency {
            from: ObjRef::of(&f.id),
            to: to.clone(),
            kind: Relation::Selects,
            resolution: Resolution::Resolved,
            evidence: self.evidence(owner, selector.line, selector.path),
            via: None,
            address: None,
            note: None,
            also: Vec::new(),
        };
        self.push(owner, to, dep, None);
        self.users.entry(owner).or_default().push(workload);
    }

    /// Host mentions inside the ConfigMaps and Secrets a workload reads.
    fn config_mentions(&mut self, workload: usize) {
        let refs: Vec<(usize, Option<String>)> = self.facts[workload]
            .refs
            .iter()
            .filter(|r| matches!(r.kind.as_str(), "ConfigMap" | "Secret"))
            .filter(|r| r.relation != Relation::ImagePullSecret && r.relation != Relation::TlsSecret)
            .filter_map(|r| {
                let ns = self.facts[workload].id.namespace.as_deref();
                self.index.find(&r.kind, ns, &r.name).map(|(t, _)| (t, r.key.clone()))
            })
            .collect();
        for (config, key) in refs {
            let facts = self.facts;
            for m in facts[config].mentions.iter().filter(|m| key.is_none() || m.key == key) {
                self.mention(workload, m, Some(config));
            }
        }
    }

    fn mention(&mut self, from: usize, m: &Mention, via: Option<usize>) {
        let f = &self.facts[from];
        let owner = via.unwrap_or(from);
        let Some((service_ns, name, dangling_if_missing)) = service_address(&m.host, f.id.namespace.as_deref(), m.explicit) else {
            return;
        };
        let found = self.index.find("Service", service_ns, name);
        if found.is_none() && (!dangling_if_missing || m.secret) {
            return;
        }
        let to = match found {
            Some((t, _)) => ObjRef::of(&self.facts[t].id),
            None => ObjRef { kind: "Service".into(), namespace: service_ns.map(str::to_owned), name: name.to_owned() },
        };
        let address = (!m.secret).then(|| format_address(m));
        let note = match found {
            Some((_, true)) => Some(format!("Service's manifest sets no namespace; assumed to be in `{}`", service_ns.unwrap_or_default())),
            None => Some("no Service of this name in the input".to_owned()),
            _ => None,
        };
        let dep = Dependency {
            from: ObjRef::of(&f.id),
            to: to.clone(),
            kind: Relation::Network,
            resolution: if found.is_some() { Resolution::Resolved } else { Resolution::Dangling },
            evidence: self.evidence(owner, m.line, &m.path),
            via: via.map(|v| ObjRef::of(&self.facts[v].id)),
            address,
            note,
            also: Vec::new(),
        };
        if let Some(edge) = self.push(from, to, dep, found.map(|(t, _)| t))
            && let Some((t, _)) = found {
                self.targets.push((from, t, edge));
            }
    }
}

/// Reads a host as an in-cluster Service address: `svc`, `svc.ns`,
/// `svc.ns.svc` or `svc.ns.svc.<cluster-domain>`. Returns the namespace, the
/// Service name and whether a miss is a dangling reference (the name is
/// unmistakably in-cluster) rather than an external host.
fn service_address<'a>(host: &'a str, own_ns: Option<&'a str>, explicit: bool) -> Option<(Option<&'a str>, &'a str, bool)> {
    let labels: Vec<&str> = host.split('.').collect();
    match labels.as_slice() {
        [name] => Some((own_ns, name, explicit)),
        [name, ns] => Some((Some(ns), name, false)),
        [name, ns, "svc", ..] => Some((Some(ns), name, true)),
        _ => None,
    }
}

fn format_address(m: &Mention) -> String {
    let mut s = String::new();
    if let Some(scheme) = &m.scheme {
        s.push_str(scheme);
        s.push_str("://");
    }
    s.push_str(&m.host);
    if let Some(port) = m.port {
        s.push_str(&format!(":{port}"));
    }
    s
}
