//! The inventory: counts by kind and namespace, workloads with their images,
//! and every other object by class (Secrets by name, type and key count only).

use std::collections::BTreeMap;

use serde::Serialize;

use ferry_model::Origin;

use crate::assessment::{ObjRef, Text};
use crate::facts::{Class, Facts, PodFacts};

/// What the input contains.
#[derive(Debug, Clone, Serialize)]
pub struct Inventory {
    /// Number of objects to migrate (objects Kubernetes made itself are not counted here).
    pub total: usize,
    /// Objects Kubernetes made itself (ReplicaSets of Deployments, token Secrets,
    /// default RBAC...): counted by kind and rule, not migrated.
    pub generated: Vec<GeneratedCount>,
    /// Counts by apiVersion and kind, largest first.
    pub by_kind: Vec<KindCount>,
    /// Counts by namespace (`""` for objects whose manifest sets none).
    pub by_namespace: Vec<NamespaceCount>,
    /// Workloads with their images.
    pub workloads: Vec<Workload>,
    /// Image registries and how many image references use each.
    pub registries: Vec<RegistryCount>,
    /// Every other object, grouped by class (`service`, `ingress`, `secret`, ...).
    pub resources: BTreeMap<Class, Vec<Resource>>,
}

/// A kind and how many objects have it.
#[derive(Debug, Clone, Serialize)]
pub struct KindCount {
    /// apiVersion.
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    /// Kind.
    pub kind: String,
    /// Count.
    pub count: usize,
}

/// Objects of one kind that one rule of `data/generated.yaml` recognised.
#[derive(Debug, Clone, Serialize)]
pub struct GeneratedCount {
    /// Kind.
    pub kind: String,
    /// The rule's id.
    pub rule: String,
    /// Why they are not migrated (the first object's reason).
    pub reason: String,
    /// Count.
    pub count: usize,
}

/// A namespace and how many objects it holds.
#[derive(Debug, Clone, Serialize)]
pub struct NamespaceCount {
    /// Namespace, `""` when unset.
    pub namespace: String,
    /// Count.
    pub count: usize,
}

/// A workload.
#[derive(Debug, Clone, Serialize)]
pub struct Workload {
    /// The object.
    pub object: ObjRef,
    /// Replicas, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u64>,
    /// Images, init containers included.
    pub images: Vec<String>,
    /// Service account, when not `default`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    /// Where it is written, shown as `file:line`.
    #[serde(serialize_with = "as_file_line")]
    pub location: Origin,
}

/// A registry and its number of image references.
#[derive(Debug, Clone, Serialize)]
pub struct RegistryCount {
    /// Registry host.
    pub registry: String,
    /// Image references using it.
    pub images: usize,
}

/// Any non-workload object.
#[derive(Debug, Clone, Serialize)]
pub struct Resource {
    /// The object.
    pub object: ObjRef,
    /// apiVersion.
    #[serde(rename = "apiVersion")]
    pub api_version: Text,
    /// Service type, Secret type, provisioner, CRD group/kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    /// Ports, hosts, sizes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
    /// Number of data keys (ConfigMaps and Secrets).
    #[serde(skip_serializing_if = "is_zero")]
    pub keys: usize,
    /// Where it is written, shown as `file:line`.
    #[serde(serialize_with = "as_file_line")]
    pub location: Origin,
}

/// An origin as `file:line`, the file shared with the facts rather than copied into a string per object.
fn as_file_line<S: serde::Serializer>(origin: &Origin, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(origin)
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Builds the inventory of the objects to migrate, and counts the generated ones.
/// The names, images and details it lists are moved out of `facts`, not copied.
pub(crate) fn inventory(mut facts: Vec<Facts>, generated: &[Facts]) -> Inventory {
    let mut kinds: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut namespaces: BTreeMap<&str, usize> = BTreeMap::new();
    let mut registries: BTreeMap<&str, usize> = BTreeMap::new();
    let mut workload_count = 0;
    let mut class_counts: BTreeMap<Class, usize> = BTreeMap::new();
    for f in &facts {
        *kinds.entry((&f.id.api_version, &f.id.kind)).or_default() += 1;
        *namespaces.entry(f.id.namespace.as_deref().unwrap_or("")).or_default() += 1;
        match &f.pod {
            Some(pod) => {
                workload_count += 1;
                for image in &pod.images {
                    *registries.entry(&image.registry).or_default() += 1;
                }
            }
            None => *class_counts.entry(f.class).or_default() += 1,
        }
    }
    let total = facts.len();
    let by_kind = sorted_counts(kinds, |(api_version, kind), count| KindCount { api_version: api_version.to_owned(), kind: kind.to_owned(), count });
    let by_namespace = sorted_counts(namespaces, |ns, count| NamespaceCount { namespace: ns.to_owned(), count });
    let registries = sorted_counts(registries, |registry, images| RegistryCount { registry: registry.to_owned(), images });
    let mut workloads = Vec::with_capacity(workload_count);
    let mut resources: BTreeMap<Class, Vec<Resource>> = class_counts.into_iter().map(|(class, count)| (class, Vec::with_capacity(count))).collect();
    // Taken from the back, so that the facts' memory is given back while the inventory grows.
    const GIVE_BACK: usize = 4096;
    while let Some(f) = facts.pop() {
        if facts.len().is_multiple_of(GIVE_BACK) {
            facts.shrink_to_fit();
        }
        match listed(f) {
            Listed::Workload(workload) => workloads.push(workload),
            Listed::Resource(class, resource) => resources.entry(class).or_default().push(resource),
        }
    }
    workloads.reverse();
    for listed in resources.values_mut() {
        listed.reverse();
    }
    Inventory { total, generated: generated_counts(generated), by_kind, by_namespace, workloads, registries, resources }
}

/// An object as the inventory lists it.
enum Listed {
    Workload(Workload),
    Resource(Class, Resource),
}

fn listed(f: Facts) -> Listed {
    let location = f.origin;
    let object = f.id.obj_ref();
    let api_version = f.id.api_version;
    match f.pod {
        Some(pod) => {
            let PodFacts { images, service_account, replicas, .. } = *pod;
            Listed::Workload(Workload { object, replicas, images: images.into_iter().map(|i| i.reference).collect(), service_account, location })
        }
        None => Listed::Resource(
            f.class,
            Resource { object, api_version: api_version.into(), r#type: f.detail.r#type, details: f.detail.items.into_vec(), keys: f.detail.keys, location },
        ),
    }
}

fn generated_counts(generated: &[Facts]) -> Vec<GeneratedCount> {
    let mut counts: BTreeMap<(&str, &str), (usize, &str)> = BTreeMap::new();
    for f in generated {
        let Some(g) = &f.generated else { continue };
        counts.entry((&f.id.kind, &g.rule)).or_insert((0, &g.reason)).0 += 1;
    }
    let mut rows: Vec<GeneratedCount> = counts
        .into_iter()
        .map(|((kind, rule), (count, reason))| GeneratedCount { kind: kind.into(), rule: rule.into(), reason: reason.into(), count })
        .collect();
    rows.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| (&a.kind, &a.rule).cmp(&(&b.kind, &b.rule))));
    rows
}

/// Turns a count map into rows, largest count first, then by key.
fn sorted_counts<K: Ord + Copy, T>(counts: BTreeMap<K, usize>, row: impl Fn(K, usize) -> T) -> Vec<T> {
    let mut pairs: Vec<(K, usize)> = counts.into_iter().collect();
    pairs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    pairs.into_iter().map(|(k, n)| row(k, n)).collect()
}
