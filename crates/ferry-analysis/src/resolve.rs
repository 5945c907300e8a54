//! Resolves the references and host mentions of all objects into the
//! dependency matrix.
//!
//! Everything is looked up through hash indices built once, so resolving is
//! linear in the number of references: no name is matched against every
//! Service. The work runs in three steps so that the expensive parts use every
//! core while the result stays in input order: candidate edges are found per
//! object in parallel, holding only indices and borrowed names; one pass in
//! input order merges repeated edges; the surviving edges are then written out
//! in parallel, straight into a vector of their exact size.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::BuildHasher as _;

use hashbrown::HashTable;
use rayon::prelude::*;

use crate::assessment::{Dependency, Evidence, MAX_EXTRA_EVIDENCE, ObjRef, Resolution, Text};
use crate::endpoints::{self, ExternalEndpoint, Sighting};
use crate::facts::{CLUSTER_SCOPED, Class, DAPR_GROUP, DaprApp, Facts, Located, Mention, Ref, Relation};
use crate::hosts::{ServiceHost, service_host};
use crate::knowledge::EndpointRules;
use crate::selector::Selector;
use crate::strings::FastHash;

type Key<'a> = (&'a str, Option<&'a str>, &'a str);

/// Look-up tables over all facts.
pub(crate) struct Index<'a> {
    facts: &'a [Facts],
    by_key: ByKey,
    workloads_by_label: HashMap<(Option<&'a str>, &'a str, &'a str), Vec<usize>, FastHash>,
    workloads_by_namespace: HashMap<Option<&'a str>, Vec<usize>, FastHash>,
    /// Secrets that objects of the input make (`Facts::provides`), by namespace and name: the maker.
    made_secrets: HashMap<(Option<&'a str>, &'a str), usize, FastHash>,
    /// Dapr Components by namespace.
    dapr_components: HashMap<Option<&'a str>, Vec<usize>, FastHash>,
}

fn key_of(f: &Facts) -> Key<'_> {
    (&f.id.kind, f.id.namespace.as_deref(), &f.id.name)
}

/// The first object of each kind, namespace and name. The table holds only object indices
/// (4 bytes a slot, where the borrowed names would take 56) and reads the names from the facts.
struct ByKey {
    table: HashTable<u32>,
    hasher: FastHash,
}

impl ByKey {
    fn new(facts: &[Facts]) -> ByKey {
        let mut by_key = ByKey { table: HashTable::with_capacity(facts.len()), hasher: FastHash::default() };
        for (i, f) in facts.iter().enumerate() {
            let key = key_of(f);
            let hash = by_key.hasher.hash_one(key);
            let rehash = |&j: &u32| by_key.hasher.hash_one(key_of(&facts[j as usize]));
            if let hashbrown::hash_table::Entry::Vacant(slot) = by_key.table.entry(hash, |&j| key_of(&facts[j as usize]) == key, rehash) {
                slot.insert(i as u32);
            }
        }
        by_key
    }

    fn get(&self, facts: &[Facts], key: Key<'_>) -> Option<usize> {
        let hash = self.hasher.hash_one(key);
        self.table.find(hash, |&j| key_of(&facts[j as usize]) == key).map(|&j| j as usize)
    }
}

impl<'a> Index<'a> {
    pub(crate) fn new(facts: &'a [Facts]) -> Self {
        let by_name = || ByKey::new(facts);
        let by_labels = || {
            let mut by_label: HashMap<(Option<&'a str>, &'a str, &'a str), Vec<usize>, FastHash> = HashMap::default();
            let mut by_namespace: HashMap<Option<&'a str>, Vec<usize>, FastHash> = HashMap::default();
            for (i, f) in facts.iter().enumerate() {
                let Some(pod) = &f.pod else { continue };
                let ns = f.id.namespace.as_deref();
                by_namespace.entry(ns).or_default().push(i);
                for (k, v) in &pod.labels {
                    by_label.entry((ns, &**k, &**v)).or_default().push(i);
                }
            }
            (by_label, by_namespace)
        };
        let (by_key, (workloads_by_label, workloads_by_namespace)) = rayon::join(by_name, by_labels);
        let mut made_secrets = HashMap::default();
        let mut dapr_components: HashMap<Option<&'a str>, Vec<usize>, FastHash> = HashMap::default();
        for (i, f) in facts.iter().enumerate() {
            for name in &f.provides {
                made_secrets.entry((f.id.namespace.as_deref(), &**name)).or_insert(i);
            }
            if &*f.id.kind == "Component" && f.id.group() == DAPR_GROUP {
                dapr_components.entry(f.id.namespace.as_deref()).or_default().push(i);
            }
        }
        Index { facts, by_key, workloads_by_label, workloads_by_namespace, made_secrets, dapr_components }
    }

    /// Finds an object, falling back to one whose manifest leaves the namespace unset.
    /// The flag says whether the fallback was used.
    fn find(&self, kind: &str, namespace: Option<&str>, name: &str) -> Option<(usize, bool)> {
        let namespace = if CLUSTER_SCOPED.contains(&kind) { None } else { namespace };
        if let Some(i) = self.by_key.get(self.facts, (kind, namespace, name)) {
            return Some((i, false));
        }
        if kind == "Secret"
            && let Some(&maker) = self.made_secrets.get(&(namespace, name))
        {
            return Some((maker, false));
        }
        namespace.and_then(|_| self.by_key.get(self.facts, (kind, None, name))).map(|i| (i, true))
    }

    /// The object a reference names: of its kind, and of its API group when it names one (a
    /// Dapr `Configuration` is no Knative `Configuration` of the same name).
    fn find_ref(&self, r: &Ref, namespace: Option<&str>) -> Option<(usize, bool)> {
        let found = self.find(r.target_kind(), namespace, &r.name)?;
        match r.target_group() {
            Some(group) if self.facts[found.0].id.group() != group => None,
            _ => Some(found),
        }
    }

    /// The first object with the same kind, namespace and name as object `i`:
    /// objects that would be named alike in a report are one target.
    fn canonical(&self, i: usize) -> usize {
        self.by_key.get(self.facts, key_of(&self.facts[i])).expect("every object is indexed")
    }

    /// The Dapr Components that apply to a Dapr app in `namespace`: those scoped to its app-id,
    /// and those without scopes; then, as a fallback (flagged), those whose manifest sets no namespace.
    fn dapr_components<'s>(&'s self, namespace: Option<&'s str>, app: &'s DaprApp) -> impl Iterator<Item = (usize, bool)> + 's {
        let app_id = app.app_id.as_deref();
        let own = self.dapr_components.get(&namespace).into_iter().flatten().map(|&c| (c, false));
        let unset = namespace.and_then(|_| self.dapr_components.get(&None)).into_iter().flatten().map(|&c| (c, true));
        own.chain(unset).filter(move |&(c, _)| {
            let scopes = &self.facts[c].scopes;
            scopes.is_empty() || app_id.is_some_and(|id| scopes.iter().any(|s| &**s == id))
        })
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
        candidates.into_iter().flatten().copied().filter(|&w| self.facts[w].pod.as_ref().is_some_and(|p| selector.matches(&p.labels[..]))).collect()
    }
}

/// The resolved graph.
pub(crate) struct Resolved {
    /// Every dependency edge.
    pub dependencies: Vec<Dependency>,
    /// For each object with cloud markers, the workloads that depend on it directly
    /// (by reference or because it selects them).
    pub users: HashMap<usize, Vec<usize>>,
    /// Workload-to-workload needs: (from, to, index of the network edge in `dependencies`).
    pub workload_needs: Vec<(usize, usize, usize)>,
    /// Objects with a non-empty selector that selects no workload.
    pub empty_selections: Vec<usize>,
    /// Hosts outside the cluster that workloads use.
    pub endpoints: Vec<ExternalEndpoint>,
}

/// The note of an edge found through the no-namespace fallback.
const ALONGSIDE: &str = "target's manifest sets no namespace; assumed to be deployed alongside";

/// An index that stands for no object.
const NONE: u32 = u32::MAX;

/// Where a candidate edge comes from: everything else about it is read from there.
#[derive(Clone, Copy)]
enum Source<'a> {
    Reference(&'a Ref),
    Selects(&'a Located<Selector>),
    /// A Dapr app's Component, by the app's namespace and app-id.
    Dapr(&'a DaprApp),
    /// A host mention, in the object itself or in the configuration object `via`.
    Mention(&'a Mention, u32),
}

/// An edge found for one object, before repeated edges are merged: indices into
/// the facts and a reference to what it was found from, nothing copied.
#[derive(Clone, Copy)]
struct Candidate<'a> {
    from: u32,
    /// The object it points at, or [`NONE`] when the input does not hold it.
    target: u32,
    /// Whether the target was found through the no-namespace fallback.
    fallback: bool,
    relation: Relation,
    source: Source<'a>,
}

impl<'a> Candidate<'a> {
    fn found(&self) -> Option<usize> {
        (self.target != NONE).then_some(self.target as usize)
    }

    fn via(&self) -> Option<usize> {
        match self.source {
            Source::Mention(_, via) if via != NONE => Some(via as usize),
            _ => None,
        }
    }

    /// The object in whose manifest the evidence is written.
    fn owner(&self) -> usize {
        self.via().unwrap_or(self.from as usize)
    }

    fn line_and_path(&self) -> (u32, &'a str) {
        match self.source {
            Source::Reference(r) => (r.line, &r.path),
            Source::Selects(selector) => (selector.line, selector.path),
            Source::Dapr(app) => (app.line, &app.path),
            Source::Mention(m, _) => (m.line, &m.path),
        }
    }

    /// Kind, namespace and name of a target the input does not hold.
    fn missing(&self, facts: &'a [Facts]) -> (&'a str, Option<&'a str>, &'a str) {
        let own_namespace = facts[self.from as usize].id.namespace.as_deref();
        match self.source {
            Source::Reference(r) => {
                let namespace = if CLUSTER_SCOPED.contains(&r.target_kind()) { None } else { r.namespace.as_deref().or(own_namespace) };
                (r.target_kind(), namespace, &r.name)
            }
            Source::Mention(m, _) => {
                let (namespace, name, _) = service_address(&m.host, own_namespace, m.explicit).expect("a mention becomes an edge only as an address");
                ("Service", namespace, name)
            }
            Source::Selects(_) | Source::Dapr(_) => unreachable!("selections and Dapr scopes only find objects of the input"),
        }
    }

    /// The field path as a shared string (the facts' own, except for selectors' static paths).
    fn shared_path(&self) -> Text {
        match self.source {
            Source::Reference(r) => r.path.clone().into(),
            Source::Selects(selector) => selector.path.into(),
            Source::Dapr(app) => app.path.clone().into(),
            Source::Mention(m, _) => m.path.clone().into(),
        }
    }

    fn evidence(&self, facts: &[Facts]) -> Evidence {
        let (line, _) = self.line_and_path();
        Evidence { file: facts[self.owner()].origin.file.clone().into(), line, path: self.shared_path() }
    }

    /// The dependency as reported.
    fn dependency(&self, facts: &[Facts]) -> Dependency {
        let found = self.found().map(|_| self.fallback);
        let to = match self.found() {
            Some(t) => facts[t].id.obj_ref(),
            None => {
                let (kind, namespace, name) = self.missing(facts);
                ObjRef::new(kind, namespace, name)
            }
        };
        let (resolution, note, address) = match self.source {
            Source::Reference(r) => {
                let resolution = match found {
                    Some(_) => Resolution::Resolved,
                    None if r.expected_in_input && !r.optional => Resolution::Dangling,
                    None => Resolution::ClusterProvided,
                };
                let note = match found {
                    Some(true) => Some(ALONGSIDE.to_owned()),
                    None if r.optional => Some("marked optional".to_owned()),
                    _ => None,
                };
                (resolution, note, None)
            }
            Source::Selects(_) => (Resolution::Resolved, None, None),
            Source::Dapr(_) => (Resolution::Resolved, self.fallback.then(|| ALONGSIDE.to_owned()), None),
            Source::Mention(mention, _) => {
                let note = match found {
                    Some(true) => {
                        let own_namespace = facts[self.from as usize].id.namespace.as_deref();
                        let service_namespace = service_address(&mention.host, own_namespace, mention.explicit).and_then(|(ns, _, _)| ns);
                        Some(format!("Service's manifest sets no namespace; assumed to be in `{}`", service_namespace.unwrap_or_default()))
                    }
                    None if is_api_server(&mention.host) => Some("the cluster's own API server".to_owned()),
                    None => Some("no Service of this name in the input".to_owned()),
                    _ => None,
                };
                let resolution = match found {
                    Some(_) => Resolution::Resolved,
                    None if is_api_server(&mention.host) => Resolution::ClusterProvided,
                    None => Resolution::Dangling,
                };
                let address = (!mention.secret).then(|| format_address(mention));
                (resolution, note, address)
            }
        };
        Dependency {
            from: facts[self.from as usize].id.obj_ref(),
            to,
            kind: self.relation,
            resolution,
            evidence: self.evidence(facts),
            via: self.via().map(|v| facts[v].id.obj_ref()),
            address: address.map(|a| Text::from(a.as_str())),
            note: note.map(String::into_boxed_str),
            also: Box::default(),
        }
    }
}

/// Whether a host names the cluster's API server (`kubernetes`, `kubernetes.default`,
/// `kubernetes.default.svc[.cluster.local]`), which every cluster provides.
fn is_api_server(host: &str) -> bool {
    matches!(host.trim_end_matches('.'), "kubernetes" | "kubernetes.default" | "kubernetes.default.svc" | "kubernetes.default.svc.cluster.local")
}

/// Candidate edges of a run of objects, with what their selectors chose.
#[derive(Default)]
struct Found<'a> {
    /// References and selections (first pass of the matrix).
    named: Vec<Candidate<'a>>,
    /// Network edges, the objects' own and those of the configuration they read (second pass).
    network: Vec<Candidate<'a>>,
    /// The workloads each object with a non-empty selector chose.
    selections: Vec<(usize, Vec<usize>)>,
    /// Hosts that name no Service of the input: external endpoints, perhaps.
    external: Vec<Sighting<'a>>,
}

/// Objects handled together when finding candidates: enough to make each task worth scheduling.
const RUN: usize = 512;

/// Builds the dependency matrix.
pub(crate) fn resolve(facts: &[Facts], rules: &EndpointRules) -> Resolved {
    let index = Index::new(facts);
    let mut found: Vec<Found<'_>> = facts
        .par_chunks(RUN)
        .enumerate()
        .map(|(run, objects)| {
            let mut found = Found::default();
            for (k, f) in objects.iter().enumerate() {
                candidates(&index, run * RUN + k, f, &mut found);
            }
            found
        })
        .collect();
    // Merge repeated edges in input order: references and selections of every object first, then network edges.
    let count: usize = found.iter().map(|f| f.named.len() + f.network.len()).sum();
    let mut merge = Merge {
        index: &index,
        edges: Vec::with_capacity(count),
        extra: Vec::new(),
        seen: HashMap::with_capacity_and_hasher(count, FastHash::default()),
        missing: HashMap::default(),
        users: HashMap::new(),
        targets: Vec::new(),
        backends: Vec::new(),
        claim_classes: Vec::new(),
        mounts: Vec::new(),
    };
    for run in &found {
        for candidate in &run.named {
            merge.add(candidate, facts);
        }
    }
    for run in &found {
        for candidate in &run.network {
            merge.add(candidate, facts);
        }
    }
    let mut selections: HashMap<usize, Vec<usize>, FastHash> = HashMap::default();
    let mut empty_selections = Vec::new();
    let sightings: Vec<Sighting<'_>> = found.iter_mut().flat_map(|run| std::mem::take(&mut run.external)).collect();
    let callers = merge.targets.iter().map(|&(from, service, _)| (from, service));
    let endpoints = endpoints::collect(facts, sightings, callers, rules);
    for (i, chosen) in found.into_iter().flat_map(|run| run.selections) {
        if chosen.is_empty() && facts[i].class != Class::Custom {
            empty_selections.push(i);
        }
        selections.insert(i, chosen);
    }
    let Merge { edges, extra, mut users, targets, backends, seen, missing, claim_classes, mounts, .. } = merge;
    storage_class_users(&claim_classes, &mounts, &mut users);
    // Writing the dependencies out is the peak of the assessment: free the look-ups first.
    drop((seen, missing, index));
    let mut dependencies: Vec<Dependency> = edges.par_iter().map(|c| c.dependency(facts)).collect();
    drop(edges);
    for (edge, candidate) in extra {
        let dep = &mut dependencies[edge];
        if dep.also.len() >= MAX_EXTRA_EVIDENCE {
            continue;
        }
        let evidence = candidate.evidence(facts);
        if evidence != dep.evidence && !dep.also.contains(&evidence) {
            let mut also = std::mem::take(&mut dep.also).into_vec();
            also.push(evidence);
            dep.also = also.into_boxed_slice();
        }
    }
    // An Ingress is used by the workloads behind the Services it routes to.
    for &(ingress, service) in backends.iter().filter(|(ingress, _)| has_cloud_markers(facts, *ingress)) {
        let behind = selections.get(&service).cloned().unwrap_or_default();
        users.entry(ingress).or_default().extend(behind);
    }
    let workload_needs = targets
        .iter()
        .filter_map(|&(from, to, edge)| selections.get(&to).map(|ws| (from, ws, edge)))
        .flat_map(|(from, ws, edge)| ws.iter().filter(move |&&w| w != from).map(move |&w| (from, w, edge)))
        .collect();
    Resolved { dependencies, users, workload_needs, empty_selections, endpoints }
}

/// A StorageClass with cloud markers is used by the workloads that mount its claims.
fn storage_class_users(claim_classes: &[(usize, usize)], mounts: &[(usize, usize)], users: &mut HashMap<usize, Vec<usize>>) {
    if claim_classes.is_empty() {
        return;
    }
    let mut mounted_by: HashMap<usize, Vec<usize>> = HashMap::new();
    for &(workload, claim) in mounts {
        mounted_by.entry(claim).or_default().push(workload);
    }
    for (claim, class) in claim_classes {
        if let Some(workloads) = mounted_by.get(claim) {
            users.entry(*class).or_default().extend(workloads);
        }
    }
}

/// Whether an object's users are asked for: only to say who uses its cloud markers.
fn has_cloud_markers(facts: &[Facts], i: usize) -> bool {
    !facts[i].cloud.is_empty()
}

/// Adds every candidate edge of object `i`, in the order the matrix lists them.
fn candidates<'a>(index: &Index<'a>, i: usize, f: &'a Facts, out: &mut Found<'a>) {
    for r in &f.refs {
        out.named.push(reference(index, i, f, r));
    }
    if let Some(selector) = f.selector.as_deref().filter(|s| !s.value.is_empty()) {
        let chosen = index.selected(i);
        for &w in &chosen {
            out.named.push(Candidate { from: i as u32, target: w as u32, fallback: false, relation: Relation::Selects, source: Source::Selects(selector) });
        }
        out.selections.push((i, chosen));
    }
    if let Some(pod) = &f.pod {
        for m in f.mentions.iter() {
            mention(index, i, f, m, None, out);
        }
        config_mentions(index, i, f, out);
        if let Some(app) = &pod.dapr {
            dapr_components(index, i, f, app, out);
        }
    }
}

/// A Dapr app's Components, and the addresses in them: the app loads them and connects there.
fn dapr_components<'a>(index: &Index<'a>, i: usize, f: &'a Facts, app: &'a DaprApp, out: &mut Found<'a>) {
    for (c, fallback) in index.dapr_components(f.id.namespace.as_deref(), app) {
        out.named.push(Candidate { from: i as u32, target: c as u32, fallback, relation: Relation::DaprComponent, source: Source::Dapr(app) });
        for m in index.facts[c].mentions.iter() {
            mention(index, i, f, m, Some(c), out);
        }
    }
}

fn reference<'a>(index: &Index<'a>, from: usize, f: &'a Facts, r: &'a Ref) -> Candidate<'a> {
    let ns = r.namespace.as_deref().or(f.id.namespace.as_deref());
    let (target, fallback) = match index.find_ref(r, ns) {
        Some((t, fallback)) => (t as u32, fallback),
        None => (NONE, false),
    };
    Candidate { from: from as u32, target, fallback, relation: r.relation, source: Source::Reference(r) }
}

/// Host mentions inside the ConfigMaps, Secrets and Dapr Configuration a workload reads.
fn config_mentions<'a>(index: &Index<'a>, workload: usize, f: &'a Facts, out: &mut Found<'a>) {
    let refs = f
        .refs
        .iter()
        .filter(|r| matches!(r.target_kind(), "ConfigMap" | "Secret") || r.relation == Relation::DaprConfiguration)
        .filter(|r| r.relation != Relation::ImagePullSecret && r.relation != Relation::TlsSecret)
        .filter_map(|r| index.find_ref(r, f.id.namespace.as_deref()).map(|(t, _)| (t, r.key.as_deref())));
    for (config, key) in refs {
        for m in index.facts[config].mentions.iter().filter(|m| key.is_none() || m.key.as_deref() == key) {
            mention(index, workload, f, m, Some(config), out);
        }
    }
}

/// A host mention of workload `from`: a network edge when it names a Service (found, or
/// unmistakably in-cluster), and a sighting of a possible external endpoint when it names none.
fn mention<'a>(index: &Index<'a>, from: usize, f: &'a Facts, m: &'a Mention, via: Option<usize>, out: &mut Found<'a>) {
    let address = service_address(&m.host, f.id.namespace.as_deref(), m.explicit);
    let found = address.and_then(|(service_ns, name, _)| index.find("Service", service_ns, name));
    if found.is_none() && m.external && !m.secret && !is_api_server(&m.host) {
        out.external.push(Sighting { from, via, mention: m });
    }
    let Some((_, _, dangling_if_missing)) = address else { return };
    if found.is_none() && (!dangling_if_missing || m.secret) {
        return;
    }
    let (target, fallback) = match found {
        Some((t, fallback)) => (t as u32, fallback),
        None => (NONE, false),
    };
    let via = via.map_or(NONE, |v| v as u32);
    out.network.push(Candidate { from: from as u32, target, fallback, relation: Relation::Network, source: Source::Mention(m, via) });
}

/// Merges repeated edges, in input order, and records who uses what.
struct Merge<'i, 'a> {
    index: &'i Index<'a>,
    /// The edges of the matrix, in order.
    edges: Vec<Candidate<'a>>,
    /// Repeats of an edge, as (edge, repeat): further evidence for it.
    extra: Vec<(usize, Candidate<'a>)>,
    /// Edges by (from, target, relation); a target is an object's first index when
    /// the input holds it (objects named alike are one target), a number after the
    /// objects' when it does not.
    seen: HashMap<(u32, u32, Relation), usize, FastHash>,
    missing: HashMap<(&'a str, Option<&'a str>, &'a str), u32, FastHash>,
    users: HashMap<usize, Vec<usize>>,
    /// Network edges that resolved to a Service: (from, service, edge index).
    targets: Vec<(usize, usize, usize)>,
    /// Ingress backends that resolved to a Service: (ingress, service).
    backends: Vec<(usize, usize)>,
    /// Claims whose StorageClass has cloud markers: (claim, class).
    claim_classes: Vec<(usize, usize)>,
    /// Claims that workloads mount: (workload, claim).
    mounts: Vec<(usize, usize)>,
}

impl<'a> Merge<'_, 'a> {
    fn target_key(&mut self, candidate: &Candidate<'a>, facts: &'a [Facts]) -> u32 {
        match (candidate.found(), candidate.source) {
            // Selections and Dapr scopes reach objects through an index, not by name.
            (Some(w), Source::Selects(_) | Source::Dapr(_)) => self.index.canonical(w) as u32,
            (Some(t), _) => t as u32,
            (None, _) => {
                let next = (facts.len() + self.missing.len()) as u32;
                *self.missing.entry(candidate.missing(facts)).or_insert(next)
            }
        }
    }

    fn add(&mut self, candidate: &Candidate<'a>, facts: &'a [Facts]) {
        let found = candidate.found();
        let from = candidate.from as usize;
        match (candidate.source, found, candidate.relation) {
            (Source::Reference(_), Some(t), Relation::IngressBackend) => self.backends.push((from, t)),
            (Source::Reference(_), Some(t), Relation::StorageClass) if facts[from].class == Class::PersistentVolumeClaim && has_cloud_markers(facts, t) => {
                self.claim_classes.push((from, t));
            }
            (Source::Reference(_), Some(t), Relation::Volume) if facts[t].class == Class::PersistentVolumeClaim && facts[from].pod.is_some() => {
                self.mounts.push((from, t));
            }
            _ => {}
        }
        let key = (candidate.from, self.target_key(candidate, facts), candidate.relation);
        let edge = match self.seen.entry(key) {
            Entry::Occupied(existing) => {
                self.extra.push((*existing.get(), *candidate));
                None
            }
            Entry::Vacant(slot) => {
                slot.insert(self.edges.len());
                self.edges.push(*candidate);
                Some(self.edges.len() - 1)
            }
        };
        match candidate.source {
            Source::Selects(_) => {
                let workload = found.expect("selections find their workloads");
                if has_cloud_markers(facts, from) {
                    self.users.entry(from).or_default().push(workload);
                }
            }
            _ => {
                // A workload uses what it refers to; a HelmRelease, the chart source it installs from.
                if let (Some(_), Some(t)) = (edge, found)
                    && (facts[from].pod.is_some() || candidate.relation == Relation::ChartSource)
                    && has_cloud_markers(facts, t)
                {
                    self.users.entry(t).or_default().push(from);
                }
                if let (Some(edge), Some(t), Source::Mention(..)) = (edge, found, candidate.source) {
                    self.targets.push((from, t, edge));
                }
            }
        }
    }
}

/// Reads a host as an in-cluster Service address: `svc`, `svc.ns`,
/// `svc.ns.svc` or `svc.ns.svc.<cluster-domain>`. Returns the namespace, the
/// Service name and whether a miss is a dangling reference (the name is
/// unmistakably in-cluster) rather than an external host.
pub(crate) fn service_address<'a>(host: &'a str, own_ns: Option<&'a str>, explicit: bool) -> Option<(Option<&'a str>, &'a str, bool)> {
    Some(match service_host(host)? {
        ServiceHost::Bare(name) => (own_ns, name, explicit),
        ServiceHost::Namespaced { name, namespace } => (Some(namespace), name, false),
        ServiceHost::Qualified { name, namespace } => (Some(namespace), name, true),
    })
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
