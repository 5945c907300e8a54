//! Per-object fact extraction: the only place that walks object trees.
//!
//! Each object is reduced to a compact [`Facts`] record (references,
//! host mentions, images, selectors, cloud markers) right after it is parsed,
//! and the tree is dropped. Everything later works on facts only, which keeps
//! memory proportional to what matters rather than to the input: values are
//! stored at their exact size, and strings that repeat from object to object
//! (field paths, keys, registries) are shared through [`Strings`].

use std::borrow::Cow;
use std::hash::Hasher as _;
use std::sync::Arc;

use base64::Engine;
use ferry_model::load::{Document, DocumentId};
use ferry_model::{Doc, DocNode, Object, Origin};
use serde::Serialize;
use thin_vec::ThinVec;

use crate::assessment::{Named, ObjRef, Via, WarningLevel};
use crate::endpoints;
use crate::helm;
use crate::hosts::{HostToken, ServiceHost, host_tokens, service_host};
use crate::knowledge::cloud::Match;
use crate::knowledge::references::{Reference, Value as RefValue, walk};
use crate::knowledge::{Generated, Knowledge, Subject};
use crate::selector::Selector;
use crate::strings::Strings;

mod markers;
pub use markers::{LOAD_BALANCER_IP, VENDOR_REGISTRY_IMAGE};

/// The broad role of an object in a migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// Runs pods: Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob, Pod, and custom kinds with a pod template.
    Workload,
    /// A Service.
    Service,
    /// An Ingress.
    Ingress,
    /// A ConfigMap.
    ConfigMap,
    /// A Secret (values are never kept).
    Secret,
    /// A PersistentVolumeClaim.
    PersistentVolumeClaim,
    /// A PersistentVolume.
    PersistentVolume,
    /// A StorageClass.
    StorageClass,
    /// A ServiceAccount.
    ServiceAccount,
    /// Roles, ClusterRoles and their bindings.
    Rbac,
    /// A CustomResourceDefinition.
    CustomResourceDefinition,
    /// A Namespace.
    Namespace,
    /// HPA, KEDA ScaledObject, VPA.
    Autoscaler,
    /// A PodDisruptionBudget.
    DisruptionBudget,
    /// A NetworkPolicy.
    NetworkPolicy,
    /// Anything else built into Kubernetes.
    Other,
    /// An object of a custom (non-Kubernetes) API group.
    Custom,
}

/// How one object refers to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Relation {
    /// `envFrom` of a ConfigMap or Secret.
    EnvFrom,
    /// `env[].valueFrom` of a ConfigMap or Secret key.
    EnvValueFrom,
    /// A `configMap`, `secret` or `persistentVolumeClaim` volume.
    Volume,
    /// A source of a `projected` volume.
    ProjectedVolume,
    /// A CSI Secrets Store volume's SecretProviderClass.
    SecretProviderClass,
    /// `serviceAccountName` (or the deprecated `serviceAccount`).
    ServiceAccount,
    /// `imagePullSecrets`.
    ImagePullSecret,
    /// A network address (DNS name) in env, args, command or configuration.
    Network,
    /// A selector choosing pods (Service, PodDisruptionBudget, NetworkPolicy).
    Selects,
    /// An Ingress rule or default backend.
    IngressBackend,
    /// An Ingress's or a Gateway listener's TLS certificate.
    TlsSecret,
    /// An Ingress's class.
    IngressClass,
    /// An autoscaler's target.
    ScaleTarget,
    /// A binding's role.
    RoleRef,
    /// A binding's subject.
    RoleSubject,
    /// A claim's or template's storage class.
    StorageClass,
    /// A claim bound to a named volume.
    VolumeName,
    /// A Dapr-enabled workload's Dapr Component: one of its namespace, unscoped or scoped to its app-id.
    DaprComponent,
    /// A Dapr-enabled workload's Configuration (`dapr.io/config`).
    DaprConfiguration,
    /// A Dapr Component's `secretKeyRef` of a Kubernetes Secret.
    ComponentSecret,
    /// A Dapr Component's secret store (`auth.secretStore`), another Component.
    SecretStore,
    /// A mesh or gateway route's destination (Istio VirtualService, Gateway API `backendRefs`).
    RouteBackend,
    /// A route's gateway (Gateway API `parentRefs`, Istio `gateways`).
    RouteParent,
    /// A traffic policy's Service (Istio DestinationRule `host`).
    TrafficPolicy,
    /// A Gateway's GatewayClass.
    GatewayClass,
    /// A class's parameters (GatewayClass `parametersRef`).
    ParametersRef,
    /// A Flux HelmRelease's chart source (`spec.chart.spec.sourceRef`, `spec.chartRef`).
    ChartSource,
    /// A Flux HelmRelease's `valuesFrom` ConfigMap or Secret.
    HelmValues,
}

/// A reference by name from one object to another.
#[derive(Debug, Clone)]
pub struct Ref {
    /// Kind of the target, followed by `.GROUP` when the reference says which API group it
    /// means (`Configuration.dapr.io`, `Gateway.networking.istio.io`): [`Ref::target_kind`],
    /// [`Ref::target_group`]. One shared string, so that naming the group costs no memory.
    pub kind: Arc<str>,
    /// Namespace of the target; `None` means the referrer's own.
    pub namespace: Option<Arc<str>>,
    /// Name of the target.
    pub name: Box<str>,
    /// How it is referred to.
    pub relation: Relation,
    /// The key, for single-key references.
    pub key: Option<Arc<str>>,
    /// Whether the target is expected among the input (ConfigMaps, Secrets...) rather than provided by the cluster (StorageClasses, ClusterRoles).
    pub expected_in_input: bool,
    /// Whether Kubernetes tolerates its absence (`optional: true`).
    pub optional: bool,
    /// Line of the reference.
    pub line: u32,
    /// Field path of the reference.
    pub path: Arc<str>,
}

impl Ref {
    /// The target's kind, without its group.
    pub fn target_kind(&self) -> &str {
        self.kind.split_once('.').map_or(&self.kind, |(kind, _)| kind)
    }

    /// The target's API group, when the reference names one: only an object of that group is the target.
    pub fn target_group(&self) -> Option<&str> {
        self.kind.split_once('.').map(|(_, group)| group)
    }
}

/// `KIND.GROUP` as [`Ref::kind`] holds a reference to a kind of a named API group (`KIND` for the core group).
fn qualified_kind<'k>(kind: &'k str, group: &str) -> Cow<'k, str> {
    if group.is_empty() { Cow::Borrowed(kind) } else { Cow::Owned(format!("{kind}.{group}")) }
}

/// A host name found in a string of the object.
#[derive(Debug, Clone)]
pub struct Mention {
    /// Host, lower-case.
    pub host: Box<str>,
    /// Port, if written.
    pub port: Option<u16>,
    /// URL scheme, if written.
    pub scheme: Option<Arc<str>>,
    /// Scheme or port present.
    pub explicit: bool,
    /// The ConfigMap key or env var name the value sits under (for an EndpointSlice's
    /// addresses, the Service it serves).
    pub key: Option<Arc<str>>,
    /// Found in a Secret: never shown, and never reported as dangling.
    pub secret: bool,
    /// May name a host outside the cluster (an external endpoint) if it names no Service.
    pub external: bool,
    /// Line of the value.
    pub line: u32,
    /// Field path of the value.
    pub path: Arc<str>,
}

/// A container image.
#[derive(Debug, Clone)]
pub struct Image {
    /// The image reference as written.
    pub reference: String,
    /// Its registry host (`docker.io` when none is written).
    pub registry: Arc<str>,
}

/// A cloud rule that matched something in this object.
#[derive(Debug, Clone)]
pub struct CloudHit {
    /// Id of the matched service in the knowledge table.
    pub service_id: String,
    /// Source of the rule that matched.
    pub rule_source: String,
    /// What was looked at.
    pub subject: Subject,
    /// The text that matched (withheld for Secret values).
    pub matched: String,
    /// Line.
    pub line: u32,
    /// Field path.
    pub path: String,
}

/// A reference to another API version inside the object (e.g. an HPA's `scaleTargetRef.apiVersion`).
#[derive(Debug, Clone)]
pub struct ApiRef {
    /// The referenced apiVersion.
    pub api_version: String,
    /// The referenced kind.
    pub kind: String,
    /// Line.
    pub line: u32,
    /// Field path, or where in a Helm release manifest.
    pub path: String,
    /// How the object refers to it.
    pub via: Via,
}

/// The finding code of an env entry with both `value` and `valueFrom`.
pub const ENV_VALUE_AND_VALUE_FROM: &str = "env-value-and-value-from";

/// The finding code of a pod template volume replaced by a volumeClaimTemplate of the same name.
pub const VOLUME_SHADOWED_BY_CLAIM: &str = "volume-shadowed-by-claim-template";

/// Something worth telling the user about one object.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Short machine-readable code, e.g. `plain-credential`.
    pub code: &'static str,
    /// An error when the API server rejects the object as written, a warning otherwise.
    pub severity: WarningLevel,
    /// What it means, for the user (never contains secret values).
    pub message: String,
    /// Line.
    pub line: u32,
    /// Field path.
    pub path: String,
}

/// Pod-level facts of a workload.
#[derive(Debug, Clone, Default)]
pub struct PodFacts {
    /// Labels of the pod template (or of the Pod).
    pub labels: Box<[(Arc<str>, Box<str>)]>,
    /// Every container image (init containers included).
    pub images: Vec<Image>,
    /// The service account, when set.
    pub service_account: Option<String>,
    /// `spec.replicas`, when set.
    pub replicas: Option<u64>,
    /// Set when the pods run a Dapr sidecar (`dapr.io/enabled: "true"`).
    pub dapr: Option<Box<DaprApp>>,
}

/// A Dapr-enabled pod template: the Components of its namespace apply to it.
#[derive(Debug, Clone)]
pub struct DaprApp {
    /// `dapr.io/app-id`, when written (Components scoped to app-ids need it).
    pub app_id: Option<Box<str>>,
    /// Line of the app-id annotation (of `dapr.io/enabled` without one).
    pub line: u32,
    /// Its field path.
    pub path: Arc<str>,
}

/// A value with the line and field path it was read from.
#[derive(Debug, Clone)]
pub struct Located<T> {
    /// The value.
    pub value: T,
    /// Line.
    pub line: u32,
    /// Field path.
    pub path: &'static str,
}

/// Per-kind details for the inventory.
#[derive(Debug, Clone, Default)]
pub struct Detail {
    /// Service type, Secret type, StorageClass provisioner, Ingress class...
    pub r#type: Option<String>,
    /// Service ports (`80/TCP`), Ingress hosts, PVC size.
    pub items: Box<[String]>,
    /// Number of keys (ConfigMap, Secret).
    pub keys: usize,
}

/// An object's identity, as in [`ferry_model::ObjectId`], with the API version, kind and
/// namespace shared between the objects that have the same. Reads like [`Named`]
/// (`id.kind`, `id.namespace`, `id.name`); [`Id::obj_ref`] shares it with the report.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Id {
    /// `apiVersion` as declared.
    pub api_version: Arc<str>,
    /// Kind, `metadata.namespace` (`None` when the manifest leaves it unset) and
    /// `metadata.name` (or `generateName` followed by `*`).
    object: ObjRef,
}

/// Built-in kinds without a namespace, and the Gateway API's GatewayClass.
pub const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "StorageClass",
    "PersistentVolume",
    "ClusterRole",
    "ClusterRoleBinding",
    "IngressClass",
    "GatewayClass",
    "CustomResourceDefinition",
    "PriorityClass",
    "RuntimeClass",
    "CSIDriver",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "APIService",
    "Node",
];

impl Id {
    /// The identity as reports name it; a cluster-scoped object's stray `metadata.namespace`
    /// (which kubectl ignores) is left out, so that references find the object.
    fn new(id: DocumentId<'_>, strings: &Strings) -> Id {
        let namespace = id.namespace.filter(|_| !CLUSTER_SCOPED.contains(&id.kind));
        let object = ObjRef::new(strings.get(id.kind), namespace.map(|ns| strings.get(ns)), &*id.name);
        Id { api_version: strings.get(id.api_version), object }
    }

    /// The API group (`""` for the core group).
    pub fn group(&self) -> &str {
        ferry_model::id::split_api_version(&self.api_version).0
    }

    /// The reference a report names the object by (shared, not copied).
    pub fn obj_ref(&self) -> ObjRef {
        self.object.clone()
    }

    /// The identity as the loader's [`DocumentId`], borrowed.
    pub(crate) fn document_id(&self) -> DocumentId<'_> {
        DocumentId { api_version: &self.api_version, kind: &self.kind, namespace: self.namespace.as_deref(), name: Cow::Borrowed(&self.name) }
    }
}

impl std::ops::Deref for Id {
    type Target = Named;
    fn deref(&self) -> &Named {
        &self.object
    }
}

/// Everything ferry keeps about one object.
#[derive(Debug, Clone)]
pub struct Facts {
    /// Identity.
    pub id: Id,
    /// Where it starts.
    pub origin: Origin,
    /// Broad role.
    pub class: Class,
    /// Pod facts, for workloads.
    pub pod: Option<Box<PodFacts>>,
    /// The pods it selects (Service, PDB, NetworkPolicy), where the selector is written.
    pub selector: Option<Box<Located<Selector>>>,
    /// Named references.
    pub refs: ThinVec<Ref>,
    /// Host names found in strings.
    pub mentions: ThinVec<Mention>,
    /// Cloud markers.
    pub cloud: ThinVec<CloudHit>,
    /// apiVersions referred to inside the object.
    pub api_refs: ThinVec<ApiRef>,
    /// Per-object findings (hygiene, legacy settings).
    pub findings: ThinVec<Finding>,
    /// Inventory details.
    pub detail: Detail,
    /// Set when Kubernetes made this object itself: counted, not migrated.
    pub generated: Option<Box<Generated>>,
    /// The Secrets its controller makes (a cert-manager Certificate's `spec.secretName`, ...:
    /// `data/producers.yaml`), in its namespace.
    pub provides: ThinVec<Box<str>>,
    /// A Dapr Component's `scopes`: the app-ids it applies to (all of its namespace when empty).
    pub scopes: ThinVec<Box<str>>,
    /// A digest of the whole content ([`content_digest`]), to tell identical copies of an
    /// object from conflicting ones.
    pub digest: u64,
    /// Read from an unrendered Helm template: only its `apiVersion`, `kind` and name are known.
    pub templated: bool,
}

/// Reduces an object to its facts, sharing repeated strings through `strings` (one set for
/// all the objects of a run).
pub fn extract(object: &Object, knowledge: &Knowledge, strings: &Strings) -> Facts {
    let doc = Doc::from_node(&object.root);
    let root = doc.root().expect("a node is a root");
    extract_document(Document { id: DocumentId::of(&object.id), origin: object.origin.clone(), root, templated: false }, knowledge, strings)
}

/// Reduces a document read by the loader to its facts, sharing repeated strings through `strings`.
pub fn extract_document(document: Document<'_>, knowledge: &Knowledge, strings: &Strings) -> Facts {
    let Document { id, origin, root, templated } = document;
    let generated = knowledge.generated.classify_document(&id, root).map(Box::new);
    let class = classify(id.kind, id.group(), root);
    let provides = knowledge.producers.secrets(id.group(), id.kind, root).into_iter().map(Box::from).collect();
    let mut x = Extractor { kb: knowledge, strings, id: Id::new(id, strings), class, facts: Draft::default() };
    x.metadata(root, "");
    x.last_applied(root);
    x.api_group(root);
    x.field_rules(root);
    x.table_references(root);
    x.by_kind(root);
    let Extractor { id, class, facts: f, .. } = x;
    Facts {
        id,
        origin,
        class,
        pod: f.pod.map(Box::new),
        selector: f.selector.map(Box::new),
        refs: f.refs.into(),
        mentions: f.mentions.into(),
        cloud: f.cloud.into(),
        api_refs: f.api_refs.into(),
        findings: f.findings.into(),
        detail: Detail { r#type: f.detail_type, items: f.detail_items.into_boxed_slice(), keys: f.detail_keys },
        generated,
        provides,
        scopes: f.scopes.into(),
        digest: content_digest(root),
        templated,
    }
}

/// A digest of a value and everything below it: scalars by their text, sequences in order,
/// mappings in any order of their keys (two renders may order keys differently). Lines and
/// quoting do not count. Not cryptographic: it tells identical copies of an object apart
/// from conflicting ones in the input, where a collision would only soften an error to a warning.
pub fn content_digest(node: DocNode<'_>) -> u64 {
    let mut hasher = rustc_hash::FxHasher::default();
    if let Some(text) = node.as_str() {
        hasher.write_u8(1);
        hasher.write(text.as_bytes());
    } else if node.is_map() {
        let entries = node.entries().fold(0u64, |sum, (key, value)| {
            let mut entry = rustc_hash::FxHasher::default();
            entry.write(key.as_bytes());
            entry.write_u64(content_digest(value));
            sum.wrapping_add(entry.finish())
        });
        hasher.write_u8(2);
        hasher.write_u64(entries);
    } else if node.is_seq() {
        hasher.write_u8(3);
        for item in node.items() {
            hasher.write_u64(content_digest(item));
        }
    }
    hasher.finish()
}

/// Facts while they are being gathered.
#[derive(Default)]
struct Draft {
    pod: Option<PodFacts>,
    selector: Option<Located<Selector>>,
    refs: Vec<Ref>,
    mentions: Vec<Mention>,
    cloud: Vec<CloudHit>,
    api_refs: Vec<ApiRef>,
    findings: Vec<Finding>,
    detail_type: Option<String>,
    detail_items: Vec<String>,
    detail_keys: usize,
    scopes: Vec<Box<str>>,
}

/// The items of a sequence that may be absent.
fn items<'d>(node: Option<DocNode<'d>>) -> impl Iterator<Item = DocNode<'d>> + 'd {
    node.into_iter().flat_map(DocNode::items)
}

/// The entries of a mapping that may be absent.
fn entries<'d>(node: Option<DocNode<'d>>) -> impl Iterator<Item = (&'d str, DocNode<'d>)> + 'd {
    node.into_iter().flat_map(DocNode::entries)
}

fn entry_count(node: Option<DocNode<'_>>) -> usize {
    node.map_or(0, |n| n.entries().len())
}

const BUILTIN_GROUPS: &[&str] = &[
    "",
    "apps",
    "batch",
    "extensions",
    "policy",
    "autoscaling",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "apiextensions.k8s.io",
    "admissionregistration.k8s.io",
    "scheduling.k8s.io",
    "coordination.k8s.io",
    "node.k8s.io",
    "discovery.k8s.io",
    "certificates.k8s.io",
    "events.k8s.io",
    "flowcontrol.apiserver.k8s.io",
    "apiregistration.k8s.io",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "resource.k8s.io",
    "storagemigration.k8s.io",
    "internal.apiserver.k8s.io",
    "audit.k8s.io",
];

fn classify(kind: &str, group: &str, root: DocNode<'_>) -> Class {
    match kind {
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "ReplicationController" | "Job" | "CronJob" | "Pod" => Class::Workload,
        "Service" => Class::Service,
        "Ingress" => Class::Ingress,
        "ConfigMap" => Class::ConfigMap,
        "Secret" => Class::Secret,
        "PersistentVolumeClaim" => Class::PersistentVolumeClaim,
        "PersistentVolume" => Class::PersistentVolume,
        "StorageClass" => Class::StorageClass,
        "ServiceAccount" => Class::ServiceAccount,
        "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding" => Class::Rbac,
        "CustomResourceDefinition" => Class::CustomResourceDefinition,
        "Namespace" => Class::Namespace,
        "HorizontalPodAutoscaler" | "VerticalPodAutoscaler" | "ScaledObject" => Class::Autoscaler,
        "PodDisruptionBudget" => Class::DisruptionBudget,
        "NetworkPolicy" => Class::NetworkPolicy,
        _ if root.at(&["spec", "template", "spec", "containers"]).is_some() => Class::Workload,
        _ if BUILTIN_GROUPS.contains(&group) => Class::Other,
        _ => Class::Custom,
    }
}

/// Where the pod spec and pod labels of a workload kind live.
fn pod_template_path(kind: &str) -> &'static [&'static str] {
    match kind {
        "Pod" => &[],
        "CronJob" => &["spec", "jobTemplate", "spec", "template"],
        _ => &["spec", "template"],
    }
}

fn dotted(path: &[&str]) -> String {
    path.join(".")
}

struct Extractor<'a> {
    kb: &'a Knowledge,
    strings: &'a Strings,
    id: Id,
    class: Class,
    facts: Draft,
}

impl<'a> Extractor<'a> {
    fn by_kind(&mut self, root: DocNode<'_>) {
        match self.class {
            Class::Workload => self.workload(root),
            Class::Service => self.service(root),
            Class::Ingress => self.ingress(root),
            Class::ConfigMap => self.config_map(root),
            Class::Secret => self.secret(root),
            Class::PersistentVolumeClaim => self.claim(root.get("spec"), "spec"),
            Class::PersistentVolume => self.persistent_volume(root),
            Class::StorageClass => self.storage_class(root),
            Class::Rbac => self.binding(root),
            Class::Autoscaler => self.autoscaler(root),
            Class::DisruptionBudget => self.selector_at(root, &["spec", "selector"], false),
            Class::NetworkPolicy => self.selector_at(root, &["spec", "podSelector"], false),
            Class::Namespace => self.namespace(root),
            Class::CustomResourceDefinition => self.crd(root),
            Class::ServiceAccount | Class::Other | Class::Custom => {
                self.selector_at(root, &["spec", "podSelector"], false);
                if self.id.group() == DAPR_GROUP && *self.id.kind == *"Component" {
                    self.dapr_component(root);
                }
                if self.id.group() == ISTIO_NETWORKING_GROUP && *self.id.kind == *"ServiceEntry" {
                    self.service_entry(root);
                }
                if matches!(&*self.id.kind, "Endpoints" | "EndpointSlice") {
                    self.hand_written_endpoints(root);
                }
                if root.str_at("kind") == Some("IngressClass") {
                    self.scalar_subject(root.at(&["spec", "controller"]), Subject::IngressClass, "spec.controller");
                }
                self.custom_markers(root);
            }
        }
    }

    // ----- generic -----

    /// Cloud markers in the labels and annotations of `owner`, whose own path is `prefix` (`""` or `spec.template.`).
    fn metadata(&mut self, owner: DocNode<'_>, prefix: &str) {
        let Some(meta) = owner.get("metadata") else { return };
        for (subject, field) in [(Subject::Annotation, "annotations"), (Subject::Label, "labels")] {
            for (key, node) in entries(meta.get(field)) {
                let value = node.as_str();
                if let Some(hit) = self.find(subject, key, value) {
                    let matched = match value {
                        Some(v) if hit.rule.value.is_some() => format!("{key}: {v}"),
                        _ => key.to_owned(),
                    };
                    self.hit(hit, subject, matched, node.line(), format!("{prefix}metadata.{field}.{key}"));
                }
                if subject == Subject::Annotation && key == LEGACY_INGRESS_CLASS {
                    self.scalar_subject(Some(node), Subject::IngressClass, &format!("{prefix}metadata.{field}.{key}"));
                }
            }
        }
    }

    fn api_group(&mut self, root: DocNode<'_>) {
        let group = self.id.group();
        if group.is_empty() {
            return;
        }
        if let Some(hit) = self.find(Subject::ApiGroup, group, None) {
            let line = root.get("apiVersion").map_or(root.line(), |n| n.line());
            self.hit(hit, Subject::ApiGroup, self.id.api_version.to_string(), line, "apiVersion".into());
        }
    }

    fn field_rules(&mut self, root: DocNode<'_>) {
        let (kb, id) = (self.kb, self.id.clone());
        for (index, rule) in kb.cloud.field_rules(id.group(), &id.kind) {
            let Some(path) = rule.path.as_deref() else { continue };
            let segments: Vec<&str> = path.split('.').collect();
            let Some(node) = root.at(&segments) else { continue };
            let Some(value) = node.as_str() else { continue };
            if let Some(hit) = kb.cloud.field_match(index, value) {
                self.hit(hit, Subject::Field, format!("{path}: {value}"), node.line(), path.to_owned());
            }
        }
    }

    /// References at the fields `data/references.yaml` names for this kind.
    fn table_references(&mut self, root: DocNode<'_>) {
        let kb = self.kb;
        for row in kb.references.of(self.id.group(), &self.id.kind) {
            for field in &row.fields {
                walk(root, field, &mut |node, path| self.table_reference(row, node, path));
            }
        }
    }

    /// One value at a field of the table: a named reference, or hosts and addresses.
    fn table_reference(&mut self, row: &Reference, node: DocNode<'_>, path: &str) {
        // Rows whose values name objects have a relation (checked when the table is parsed).
        let relation = row.relation.unwrap_or(Relation::Network);
        let group = row.target_group.as_deref().unwrap_or_default();
        let target = qualified_kind(row.target.as_deref().unwrap_or_default(), group);
        let target = &*target;
        let added = match row.value {
            RefValue::Name => self.reference(target, Some(node), relation, path.to_owned()),
            RefValue::NamespacedName => {
                let Some(value) = node.as_str().filter(|v| !row.reserved.iter().any(|r| r == v)) else { return };
                let (namespace, name) = value.split_once('/').map_or((None, value), |(ns, name)| (Some(ns), name));
                let namespace = namespace.map(|ns| self.strings.get(ns));
                self.named_reference(target, name, namespace, relation, node.line(), path)
            }
            RefValue::ObjectRef => {
                let Some(kind) = node.str_at("kind").or(row.target.as_deref()) else { return };
                let kind = qualified_kind(kind, node.str_at("group").unwrap_or(group));
                let namespace = node.str_at("namespace").map(|ns| self.strings.get(ns));
                let optional = node.str_at("optional") == Some("true");
                let Some(r) = self.reference(&kind, node.get("name"), relation, format!("{path}.name")) else { return };
                r.namespace = namespace;
                r.optional = optional;
                Some(r)
            }
            RefValue::Host => {
                let Some(host) = node.as_str() else { return };
                let (namespace, name) = match service_host(host) {
                    Some(ServiceHost::Bare(name)) if is_dns_label(name) => (None, name),
                    Some(ServiceHost::Qualified { name, namespace }) => (Some(self.strings.get(namespace)), name),
                    _ => return,
                };
                self.named_reference(target, name, namespace, relation, node.line(), path)
            }
            RefValue::ExternalHost => {
                let Some(host) = node.as_str() else { return };
                let host = host.to_ascii_lowercase();
                if let Some(hit) = self.kb.cloud.find(Subject::Host, &host, None) {
                    self.hit(hit, Subject::Host, host, node.line(), path.to_owned());
                }
                return;
            }
            RefValue::Address => return self.text(node, None, || path.to_owned(), false),
            RefValue::RegistryUrl => return self.registry_url(node, path),
        };
        if let Some(r) = added {
            r.expected_in_input = !row.cluster;
        }
    }

    /// A reference by a name, in `namespace` (`None`: the object's own) when the name is read
    /// from inside a value (`ns/name`, a host name).
    fn named_reference(&mut self, kind: &str, name: &str, namespace: Option<Arc<str>>, relation: Relation, line: u32, path: &str) -> Option<&mut Ref> {
        // An empty name refers to nothing (`storageClassName: ""` asks for no class at all).
        if name.is_empty() {
            return None;
        }
        let bare = kind.split_once('.').map_or(kind, |(bare, _)| bare);
        let expected_in_input = !matches!(bare, "StorageClass" | "ClusterRole" | "PersistentVolume" | "IngressClass");
        self.facts.refs.push(Ref {
            kind: self.strings.get(kind),
            namespace,
            name: name.into(),
            relation,
            key: None,
            expected_in_input,
            optional: false,
            line,
            path: self.strings.get(path),
        });
        self.facts.refs.last_mut()
    }

    /// The cloud rule that matches `key` (and `value`). Keys that come back from object to object
    /// (label keys, env names, registries) are looked up once; host names and image paths,
    /// which mostly do not, go straight to the rules.
    fn find(&self, subject: Subject, key: &str, value: Option<&str>) -> Option<Match<'a>> {
        let cloud = &self.kb.cloud;
        if !self.strings.may_match(subject as u32, key, || cloud.may_match(subject, key)) {
            return None;
        }
        cloud.first_match(subject, key, value)
    }

    /// Records a cloud marker; a second marker of the same service on the same line adds nothing.
    fn hit(&mut self, m: Match<'_>, subject: Subject, matched: String, line: u32, path: String) {
        let service_id = &m.service.id;
        if self.facts.cloud.iter().any(|h| &h.service_id == service_id && h.line == line) {
            return;
        }
        let rule_source = m.rule.source.clone();
        self.facts.cloud.push(CloudHit { service_id: service_id.clone(), rule_source, subject, matched, line, path });
    }

    fn scalar_subject(&mut self, node: Option<DocNode<'_>>, subject: Subject, path: &str) {
        let Some(node) = node else { return };
        let Some(value) = node.as_str() else { return };
        if let Some(hit) = self.find(subject, value, None) {
            self.hit(hit, subject, value.to_owned(), node.line(), path.to_owned());
        }
    }

    fn reference(&mut self, kind: &str, name: Option<DocNode<'_>>, relation: Relation, path: String) -> Option<&mut Ref> {
        let node = name?;
        self.named_reference(kind, node.as_str()?, None, relation, node.line(), &path)
    }

    /// Host names in a string value: cloud hosts become cloud hits, the rest mentions.
    /// The field path is only spelled out (by `path`) for what is kept.
    fn text(&mut self, node: DocNode<'_>, key: Option<&str>, path: impl Fn() -> String, standalone_words: bool) {
        let Some(text) = node.as_str() else { return };
        self.scan_text(text, node.line(), key, path, standalone_words, false);
    }

    /// A ConfigMap's file: a text of several lines is a literal block (`|`, the form files take),
    /// whose lines are the manifest's from the one after its key, so each host is evidenced at its
    /// own line. (A folded block, `>`, would shift the lines, not what is found.)
    fn file_text(&mut self, node: DocNode<'_>, key: &str, path: impl Fn() -> String) {
        let Some(text) = node.as_str().filter(|t| t.contains('\n')) else { return self.text(node, Some(key), path, false) };
        let whole = Whole { by_line: true, ..Whole::of(text) };
        for (offset, part) in text.lines().enumerate() {
            self.scan_part(part, whole, node.line() + 1 + offset as u32, Some(key), &path, false, false);
        }
    }

    fn scan_text(&mut self, text: &str, line: u32, key: Option<&str>, path: impl Fn() -> String, standalone_words: bool, secret: bool) {
        self.scan_part(text, Whole::of(text), line, key, &path, standalone_words, secret);
    }

    /// Hosts in `part` of the value `whole` (which says whether a word stands alone, and
    /// whether the value is an embedded JSON document), at `line`.
    #[allow(clippy::too_many_arguments)]
    fn scan_part(&mut self, part: &str, whole: Whole<'_>, line: u32, key: Option<&str>, path: &impl Fn() -> String, standalone_words: bool, secret: bool) {
        let whole_value = whole.trimmed;
        let embedded = whole.embedded;
        for token in host_tokens(part) {
            if let Some(hit) = self.kb.cloud.find(Subject::Host, &token.host, None) {
                let matched = if secret { "(secret value withheld)".to_owned() } else { token.host.to_string() };
                self.hit(hit, Subject::Host, matched, line, path());
                continue;
            }
            if embedded.is_some_and(|json| !json.may_address(&token)) {
                continue;
            }
            let standalone = standalone_words || (token.host == whole_value && key.is_none_or(key_names_an_address));
            let addressed = token.host == whole_value && key.is_some_and(key_names_an_address);
            // Hosts in Secrets are never shown, so they are no endpoint candidates.
            let external = !secret && endpoints::is_candidate(self.kb.endpoints, &token, addressed) && !whole.in_comment(part, &token);
            if external || is_service_candidate(&token, standalone) {
                let explicit = token.is_explicit();
                self.facts.mentions.push(Mention {
                    external,
                    host: token.host.into(),
                    port: token.port,
                    scheme: token.scheme.map(|s| self.strings.get(s)),
                    explicit,
                    key: key.map(|k| self.strings.get(k)),
                    secret,
                    line,
                    path: self.strings.get(&path()),
                });
            }
        }
    }

    /// The addresses of hand-written Endpoints (`subsets[].addresses[].ip`) and EndpointSlices
    /// (`endpoints[].addresses[]`), those without a Pod's `targetRef`, keyed by the Service the
    /// `kubernetes.io/service-name` label names), each with the first port: where a Service
    /// without selector sends its traffic.
    fn hand_written_endpoints(&mut self, root: DocNode<'_>) {
        let slice = *self.id.kind == *"EndpointSlice";
        let service = if slice { root.at(&["metadata", "labels", "kubernetes.io/service-name"]).and_then(DocNode::as_str) } else { None };
        // A slice lists its ports once; an Endpoints object per subset.
        let groups = if slice { "endpoints" } else { "subsets" };
        let port_of = |group: DocNode<'_>| items(if slice { root.get("ports") } else { group.get("ports") }).find_map(|p| p.str_at("port")?.parse().ok());
        // A Pod's address (`targetRef`) is a controller's, not written by hand.
        let by_hand = |node: DocNode<'_>| node.get("targetRef").is_none();
        for (i, group) in items(root.get(groups)).enumerate().filter(|(_, g)| !slice || by_hand(*g)) {
            let port = port_of(group);
            for (j, address) in items(group.get("addresses")).enumerate().filter(|(_, a)| slice || by_hand(*a)) {
                let (node, field) = if slice {
                    (Some(address), format!("endpoints[{i}].addresses[{j}]"))
                } else {
                    (address.get("ip"), format!("subsets[{i}].addresses[{j}].ip"))
                };
                let Some(ip) = node.and_then(DocNode::as_str).filter(|ip| ip.parse::<std::net::IpAddr>().is_ok()) else { continue };
                self.external_host(ip.to_ascii_lowercase(), port, service, node.map_or(0, |n| n.line()), &field);
            }
        }
    }

    /// An Istio ServiceEntry's `hosts` (those that are no managed cloud service, a cloud
    /// finding already) and `addresses` (addresses or CIDR blocks), with its first port
    /// (<https://istio.io/latest/docs/reference/config/networking/service-entry/>).
    fn service_entry(&mut self, root: DocNode<'_>) {
        let Some(spec) = root.get("spec") else { return };
        let port = items(spec.get("ports")).find_map(|p| p.str_at("number")?.parse().ok());
        for field in ["hosts", "addresses"] {
            for (i, node) in items(spec.get(field)).enumerate() {
                let Some(host) = node.as_str().map(str::to_ascii_lowercase) else { continue };
                if self.kb.cloud.find(Subject::Host, &host, None).is_none() {
                    self.external_host(host, port, None, node.line(), &format!("spec.{field}[{i}]"));
                }
            }
        }
    }

    /// A host outside the cluster that an object names by itself (a ServiceEntry's host, an
    /// Endpoints address), not found in free text.
    fn external_host(&mut self, host: String, port: Option<u16>, key: Option<&str>, line: u32, path: &str) {
        self.facts.mentions.push(Mention {
            external: true,
            host: host.into(),
            port,
            scheme: None,
            explicit: true,
            key: key.map(|k| self.strings.get(k)),
            secret: false,
            line,
            path: self.strings.get(path),
        });
    }

    fn config_key(&mut self, key: &str, line: u32, path: impl FnOnce() -> String) {
        if let Some(hit) = self.find(Subject::ConfigKey, key, None) {
            self.hit(hit, Subject::ConfigKey, key.to_owned(), line, path());
        }
    }

    fn selector_at(&mut self, root: DocNode<'_>, path: &[&'static str], plain_map: bool) {
        if let Some(node) = root.at(path) {
            let value = if plain_map { Selector::from_map(node) } else { Selector::from_label_selector(node) };
            let path = match path {
                ["spec", "selector"] => "spec.selector",
                _ => "spec.podSelector",
            };
            self.facts.selector = Some(Located { value, line: node.line(), path });
        }
    }

    // ----- workloads -----

    fn workload(&mut self, root: DocNode<'_>) {
        let template_path = pod_template_path(&self.id.kind);
        let template = if template_path.is_empty() { Some(root) } else { root.at(template_path) };
        let Some(template) = template else { return };
        let prefix = if template_path.is_empty() { String::new() } else { format!("{}.", dotted(template_path)) };
        let mut pod = PodFacts {
            labels: template
                .at(&["metadata", "labels"])
                .map(|labels| labels.string_entries().map(|(k, v)| (self.strings.get(k), v.into())).collect())
                .unwrap_or_default(),
            replicas: root.at(&["spec", "replicas"]).and_then(DocNode::as_str).and_then(|r| r.parse().ok()),
            ..PodFacts::default()
        };
        if !prefix.is_empty() {
            self.metadata(template, &prefix);
        }
        pod.dapr = self.dapr_app(template, &prefix);
        if let Some(spec) = template.get("spec") {
            self.pod_spec(spec, &format!("{prefix}spec"), &mut pod);
        }
        for (i, claim) in items(root.at(&["spec", "volumeClaimTemplates"])).enumerate() {
            self.claim(claim.get("spec"), &format!("spec.volumeClaimTemplates[{i}].spec"));
            self.claim_shadows_volume(claim, template, &format!("{prefix}spec.volumes"));
        }
        self.facts.pod = Some(pod);
    }

    /// The Dapr annotations of a pod template: whether it runs a sidecar, its app-id, its
    /// Configuration (<https://docs.dapr.io/reference/arguments-annotations-overview/>).
    fn dapr_app(&mut self, template: DocNode<'_>, prefix: &str) -> Option<Box<DaprApp>> {
        let annotations = template.at(&["metadata", "annotations"])?;
        let enabled = annotations.get("dapr.io/enabled").filter(|e| e.as_str() == Some("true"))?;
        let config_path = format!("{prefix}metadata.annotations.dapr.io/config");
        self.reference(DAPR_CONFIGURATION, annotations.get("dapr.io/config"), Relation::DaprConfiguration, config_path);
        let (node, key) = match annotations.get("dapr.io/app-id") {
            Some(app_id) => (app_id, "dapr.io/app-id"),
            None => (enabled, "dapr.io/enabled"),
        };
        let path = self.strings.get(&format!("{prefix}metadata.annotations.{key}"));
        Some(Box::new(DaprApp { app_id: annotations.str_at("dapr.io/app-id").map(Into::into), line: node.line(), path }))
    }

    /// A Dapr Component: the app-ids it is scoped to, the addresses in its metadata values, and
    /// where its `secretKeyRef`s are read from: the secret store Component `auth.secretStore`
    /// names, or Kubernetes Secrets (<https://docs.dapr.io/operations/components/component-secrets/>).
    fn dapr_component(&mut self, root: DocNode<'_>) {
        self.facts.scopes = items(root.get("scopes")).filter_map(DocNode::as_str).map(Into::into).collect();
        let store = root.at(&["auth", "secretStore"]).filter(|s| s.as_str().is_some_and(|s| s != KUBERNETES_SECRET_STORE));
        let mut reads_secrets = false;
        for (i, item) in items(root.at(&["spec", "metadata"])).enumerate() {
            if let Some(value) = item.get("value") {
                self.text(value, item.str_at("name"), || format!("spec.metadata[{i}].value"), false);
            }
            let Some(secret) = item.get("secretKeyRef") else { continue };
            reads_secrets = true;
            if store.is_none() {
                let key = secret.str_at("key").map(|k| self.strings.get(k));
                let path = format!("spec.metadata[{i}].secretKeyRef.name");
                if let Some(r) = self.reference("Secret", secret.get("name"), Relation::ComponentSecret, path) {
                    r.key = key;
                }
            }
        }
        if reads_secrets {
            self.reference(DAPR_COMPONENT, store, Relation::SecretStore, "auth.secretStore".into());
        }
    }

    /// A volumeClaimTemplate takes precedence over a pod template volume of the same name
    /// (StatefulSetSpec reference): the volume's own source is silently never used.
    fn claim_shadows_volume(&mut self, claim: DocNode<'_>, template: DocNode<'_>, volumes_path: &str) {
        let Some(name) = claim.at(&["metadata", "name"]).and_then(DocNode::as_str) else { return };
        let Some((i, volume)) = items(template.at(&["spec", "volumes"])).enumerate().find(|(_, v)| v.str_at("name") == Some(name)) else { return };
        self.facts.findings.push(Finding {
            code: VOLUME_SHADOWED_BY_CLAIM,
            severity: WarningLevel::Warning,
            message: format!(
                "pod volume `{name}` is replaced by the volumeClaimTemplate of the same name (a claim takes precedence over a template volume): the volume's own source is never used; rename one of them"
            ),
            line: volume.line(),
            path: format!("{volumes_path}[{i}]"),
        });
    }

    fn pod_spec(&mut self, spec: DocNode<'_>, path: &str, pod: &mut PodFacts) {
        for field in ["initContainers", "containers", "ephemeralContainers"] {
            for (i, container) in items(spec.get(field)).enumerate() {
                self.container(container, &format!("{path}.{field}[{i}]"), pod);
            }
        }
        for (i, volume) in items(spec.get("volumes")).enumerate() {
            self.volume(volume, &format!("{path}.volumes[{i}]"));
        }
        for field in ["serviceAccountName", "serviceAccount"] {
            let node = spec.get(field);
            if pod.service_account.is_none() && node.and_then(DocNode::as_str).is_some_and(|sa| sa != "default") {
                pod.service_account = node.and_then(DocNode::as_str).map(str::to_owned);
                self.reference("ServiceAccount", node, Relation::ServiceAccount, format!("{path}.{field}"));
            }
        }
        for (i, secret) in items(spec.get("imagePullSecrets")).enumerate() {
            self.reference("Secret", secret.get("name"), Relation::ImagePullSecret, format!("{path}.imagePullSecrets[{i}].name"));
        }
        self.node_labels(spec, path);
        self.pod_addresses(spec, path);
    }

    /// The name servers of `dnsConfig` (DNS, port 53) and the addresses of `hostAliases`:
    /// hosts outside the cluster the pod uses without naming them in its containers.
    fn pod_addresses(&mut self, spec: DocNode<'_>, path: &str) {
        for (i, node) in items(spec.at(&["dnsConfig", "nameservers"])).enumerate() {
            if let Some(server) = node.as_str() {
                self.external_host(server.to_ascii_lowercase(), Some(DNS_PORT), None, node.line(), &format!("{path}.dnsConfig.nameservers[{i}]"));
            }
        }
        for (i, alias) in items(spec.get("hostAliases")).enumerate() {
            if let Some(node) = alias.get("ip")
                && let Some(ip) = node.as_str()
            {
                self.external_host(ip.to_ascii_lowercase(), None, None, node.line(), &format!("{path}.hostAliases[{i}].ip"));
            }
        }
    }

    fn node_labels(&mut self, spec: DocNode<'_>, path: &str) {
        for (key, node) in entries(spec.get("nodeSelector")) {
            self.node_label(key, node.as_str(), node.line(), format!("{path}.nodeSelector.{key}"));
        }
        let Some(affinity) = spec.at(&["affinity", "nodeAffinity"]) else { return };
        let required = affinity.at(&["requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"]);
        let preferred = affinity.get("preferredDuringSchedulingIgnoredDuringExecution");
        let terms = items(required);
        let preferences = items(preferred).filter_map(|p| p.get("preference"));
        for term in terms.chain(preferences) {
            for expr in items(term.get("matchExpressions")) {
                if let Some(key) = expr.str_at("key") {
                    self.node_label(key, None, expr.line(), format!("{path}.affinity.nodeAffinity"));
                }
            }
        }
    }

    fn node_label(&mut self, key: &str, value: Option<&str>, line: u32, path: String) {
        if let Some(hit) = self.find(Subject::NodeLabel, key, value) {
            self.hit(hit, Subject::NodeLabel, key.to_owned(), line, path);
        }
    }

    fn container(&mut self, container: DocNode<'_>, path: &str, pod: &mut PodFacts) {
        if let Some(node) = container.get("image") {
            self.image(node, &format!("{path}.image"), pod);
        }
        for (j, env) in items(container.get("env")).enumerate() {
            self.env(env, &format!("{path}.env[{j}]"));
        }
        for (j, from) in items(container.get("envFrom")).enumerate() {
            for (field, kind) in [("configMapRef", "ConfigMap"), ("secretRef", "Secret")] {
                let Some(source) = from.get(field) else { continue };
                let optional = source.get("optional").and_then(|o| o.as_str()) == Some("true");
                if let Some(r) = self.reference(kind, source.get("name"), Relation::EnvFrom, format!("{path}.envFrom[{j}].{field}.name")) {
                    r.optional = optional;
                }
            }
        }
        for field in ["command", "args"] {
            for (k, arg) in items(container.get(field)).enumerate() {
                self.text(arg, None, || format!("{path}.{field}[{k}]"), true);
            }
            self.arguments(container.get(field), &|k| format!("{path}.{field}[{k}]"));
        }
    }

    fn image(&mut self, node: DocNode<'_>, path: &str, pod: &mut PodFacts) {
        let Some(reference) = node.as_str() else { return };
        let registry = self.image_marker(reference, node.line(), &|| path.to_owned(), true);
        pod.images.push(Image { reference: reference.to_owned(), registry: self.strings.get(&registry) });
    }

    fn env(&mut self, env: DocNode<'_>, path: &str) {
        let name = env.str_at("name");
        if let (Some(value), Some(value_from)) = (env.get("value").filter(|v| v.as_str().is_some_and(|v| !v.is_empty())), env.get("valueFrom")) {
            // The API server refuses a non-empty `value` next to `valueFrom`; a strategic-merge
            // patch that sets one over a base with the other makes exactly this.
            self.facts.findings.push(Finding {
                code: ENV_VALUE_AND_VALUE_FROM,
                severity: WarningLevel::Error,
                message: format!(
                    "env `{}` has both `value` and `valueFrom`: the API server rejects the object (\"may not be specified when `value` is not empty\"); keep one (a patch that sets one over a base with the other produces this)",
                    name.unwrap_or_default()
                ),
                line: value_from.line().max(value.line()),
                path: format!("{path}.valueFrom"),
            });
        }
        if let Some(value) = env.get("value") {
            self.text(value, name, || format!("{path}.value"), false);
            if name.is_some_and(looks_like_credential) && value.as_str().is_some_and(|v| !v.is_empty()) {
                self.facts.findings.push(Finding {
                    code: "plain-credential",
                    severity: WarningLevel::Warning,
                    message: format!("env `{}` holds a literal value that looks like a credential; move it to a Secret", name.unwrap_or_default()),
                    line: value.line(),
                    path: format!("{path}.value"),
                });
            }
        }
        if let Some(name) = name {
            self.config_key(name, env.line(), || format!("{path}.name"));
        }
        for (field, kind) in [("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")] {
            let Some(source) = env.at(&["valueFrom", field]) else { continue };
            let key = source.str_at("key").map(|k| self.strings.get(k));
            let optional = source.str_at("optional") == Some("true");
            if let Some(r) = self.reference(kind, source.get("name"), Relation::EnvValueFrom, format!("{path}.valueFrom.{field}.name")) {
                r.key = key;
                r.optional = optional;
            }
        }
    }

    fn volume(&mut self, volume: DocNode<'_>, path: &str) {
        let optional = |n: DocNode<'_>| n.str_at("optional") == Some("true");
        if let Some(cm) = volume.get("configMap")
            && let Some(r) = self.reference("ConfigMap", cm.get("name"), Relation::Volume, format!("{path}.configMap.name"))
        {
            r.optional = optional(cm);
        }
        if let Some(secret) = volume.get("secret")
            && let Some(r) = self.reference("Secret", secret.get("secretName"), Relation::Volume, format!("{path}.secret.secretName"))
        {
            r.optional = optional(secret);
        }
        self.reference(
            "PersistentVolumeClaim",
            volume.at(&["persistentVolumeClaim", "claimName"]),
            Relation::Volume,
            format!("{path}.persistentVolumeClaim.claimName"),
        );
        for (k, source) in items(volume.at(&["projected", "sources"])).enumerate() {
            for (field, kind) in [("configMap", "ConfigMap"), ("secret", "Secret")] {
                self.reference(kind, source.at(&[field, "name"]), Relation::ProjectedVolume, format!("{path}.projected.sources[{k}].{field}.name"));
            }
        }
        if let Some(csi) = volume.get("csi")
            && csi.str_at("driver") == Some("secrets-store.csi.k8s.io")
        {
            self.reference(
                "SecretProviderClass",
                csi.at(&["volumeAttributes", "secretProviderClass"]),
                Relation::SecretProviderClass,
                format!("{path}.csi.volumeAttributes.secretProviderClass"),
            );
        }
        self.claim(volume.at(&["ephemeral", "volumeClaimTemplate", "spec"]), &format!("{path}.ephemeral.volumeClaimTemplate.spec"));
        self.volume_source_drivers(Some(volume), path);
    }

    /// CSI drivers and in-tree cloud volume types (pods' volumes and PV specs share this shape).
    fn volume_source_drivers(&mut self, source: Option<DocNode<'_>>, path: &str) {
        let Some(source) = source else { return };
        self.scalar_subject(source.at(&["csi", "driver"]), Subject::StorageDriver, &format!("{path}.csi.driver"));
        self.host_path(source, path);
        for (field, driver) in IN_TREE_VOLUMES {
            if let Some(node) = source.get(field)
                && let Some(hit) = self.find(Subject::StorageDriver, driver, None)
            {
                self.hit(hit, Subject::StorageDriver, (*driver).to_owned(), node.line(), format!("{path}.{field}"));
            }
        }
    }

    fn persistent_volume(&mut self, root: DocNode<'_>) {
        self.volume_source_drivers(root.get("spec"), "spec");
        self.reference("StorageClass", root.at(&["spec", "storageClassName"]), Relation::StorageClass, "spec.storageClassName".into());
    }

    fn claim(&mut self, spec: Option<DocNode<'_>>, path: &str) {
        let Some(spec) = spec else { return };
        let class_path = format!("{path}.storageClassName");
        self.scalar_subject(spec.get("storageClassName"), Subject::StorageClass, &class_path);
        self.reference("StorageClass", spec.get("storageClassName"), Relation::StorageClass, class_path);
        self.reference("PersistentVolume", spec.get("volumeName"), Relation::VolumeName, format!("{path}.volumeName"));
        if let Some(size) = spec.at(&["resources", "requests", "storage"]).and_then(DocNode::as_str) {
            self.facts.detail_items.push(size.to_owned());
        }
    }

    // ----- networking -----

    fn service(&mut self, root: DocNode<'_>) {
        self.selector_at(root, &["spec", "selector"], true);
        let spec = root.get("spec");
        self.facts.detail_type = Some(spec.and_then(|s| s.str_at("type")).unwrap_or("ClusterIP").to_owned());
        for port in items(spec.and_then(|s| s.get("ports"))) {
            if let Some(number) = port.str_at("port") {
                self.facts.detail_items.push(format!("{number}/{}", port.str_at("protocol").unwrap_or("TCP")));
            }
        }
        if let Some(external) = spec.and_then(|s| s.get("externalName")) {
            self.text(external, None, || "spec.externalName".to_owned(), true);
        }
        self.load_balancer_ip(spec);
    }

    fn ingress(&mut self, root: DocNode<'_>) {
        let Some(spec) = root.get("spec") else { return };
        self.scalar_subject(spec.get("ingressClassName"), Subject::IngressClass, "spec.ingressClassName");
        if self.reference("IngressClass", spec.get("ingressClassName"), Relation::IngressClass, "spec.ingressClassName".into()).is_none() {
            // The class named only by the legacy annotation (still read by most controllers).
            let annotation = root.at(&["metadata", "annotations", LEGACY_INGRESS_CLASS]);
            self.reference("IngressClass", annotation, Relation::IngressClass, format!("metadata.annotations.{LEGACY_INGRESS_CLASS}"));
        }
        for field in ["backend", "defaultBackend"] {
            if let Some(backend) = spec.get(field) {
                self.backend(backend, &format!("spec.{field}"));
            }
        }
        for (i, rule) in items(spec.get("rules")).enumerate() {
            if let Some(host) = rule.str_at("host") {
                self.facts.detail_items.push(host.to_owned());
            }
            for (j, p) in items(rule.at(&["http", "paths"])).enumerate() {
                if let Some(backend) = p.get("backend") {
                    self.backend(backend, &format!("spec.rules[{i}].http.paths[{j}].backend"));
                }
            }
        }
        for (i, tls) in items(spec.get("tls")).enumerate() {
            self.reference("Secret", tls.get("secretName"), Relation::TlsSecret, format!("spec.tls[{i}].secretName"));
        }
    }

    /// Both Ingress backend shapes: `serviceName` (v1beta1) and `service.name` (v1).
    fn backend(&mut self, backend: DocNode<'_>, path: &str) {
        if backend.get("serviceName").is_some() {
            self.reference("Service", backend.get("serviceName"), Relation::IngressBackend, format!("{path}.serviceName"));
        } else {
            self.reference("Service", backend.at(&["service", "name"]), Relation::IngressBackend, format!("{path}.service.name"));
        }
    }

    // ----- configuration -----

    fn config_map(&mut self, root: DocNode<'_>) {
        if helm::is_release("ConfigMap", root) {
            return self.helm_release("ConfigMap", root);
        }
        self.facts.detail_keys = entry_count(root.get("data")) + entry_count(root.get("binaryData"));
        for (key, value) in entries(root.get("data")) {
            self.file_text(value, key, || format!("data.{key}"));
            self.config_key(key, value.line(), || format!("data.{key}"));
            self.collector_config(value, &|| format!("data.{key}"));
        }
    }

    /// Secrets: only names, types and key counts are kept. Values are decoded
    /// in memory to find cloud hosts and Service addresses; the text is never kept.
    fn secret(&mut self, root: DocNode<'_>) {
        self.facts.detail_type = Some(root.str_at("type").unwrap_or("Opaque").to_owned());
        if helm::is_release("Secret", root) {
            return self.helm_release("Secret", root);
        }
        self.secret_keys(root);
        let data = entries(root.get("data"));
        let string_data = entries(root.get("stringData"));
        self.facts.detail_keys = entry_count(root.get("data")) + entry_count(root.get("stringData"));
        let engine = base64::engine::general_purpose::STANDARD;
        for (field, entries, encoded) in [("data", data, true), ("stringData", string_data, false)] {
            for (key, node) in entries {
                let Some(raw) = node.as_str() else { continue };
                let decoded = if encoded { engine.decode(raw.trim()).ok().and_then(|b| String::from_utf8(b).ok()) } else { Some(raw.to_owned()) };
                if let Some(text) = decoded {
                    self.scan_text(&text, node.line(), Some(key), || format!("{field}.{key}"), false, true);
                }
            }
        }
    }

    /// A Helm release record: the API versions of its stored manifest; the data itself is never kept.
    fn helm_release(&mut self, kind: &str, root: DocNode<'_>) {
        self.facts.detail_keys = root.get("data").map_or(0, |d| d.entries().len());
        match helm::decode(kind, root) {
            Ok(release) => {
                self.facts.detail_items.push(format!("helm release {}", release.label));
                self.facts.api_refs.extend(release.api_refs);
            }
            Err(why) => self.facts.findings.push(Finding {
                code: "helm-release-unreadable",
                severity: WarningLevel::Warning,
                message: format!("Helm release record could not be decoded ({why}); its manifest's API versions are not assessed"),
                line: root.get("data").map_or(0, |d| d.line()),
                path: "data.release".into(),
            }),
        }
    }

    /// The apiVersion recorded by `kubectl apply` when it differs from the one
    /// read: evidence of how the object was applied, never of what it is.
    fn last_applied(&mut self, root: DocNode<'_>) {
        const KEY: &str = "kubectl.kubernetes.io/last-applied-configuration";
        let Some(node) = root.at(&["metadata", "annotations", KEY]) else { return };
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Applied {
            api_version: Option<String>,
            kind: Option<String>,
        }
        let Some(applied) = node.as_str().and_then(|text| serde_json::from_str::<Applied>(text).ok()) else { return };
        let (Some(api_version), Some(kind)) = (applied.api_version, applied.kind) else { return };
        if *api_version != *self.id.api_version && *kind == *self.id.kind {
            let path = format!("metadata.annotations.{KEY}");
            self.facts.api_refs.push(ApiRef { api_version, kind, line: node.line(), path, via: Via::LastApplied });
        }
    }

    fn storage_class(&mut self, root: DocNode<'_>) {
        self.facts.detail_type = root.str_at("provisioner").map(str::to_owned);
        self.scalar_subject(root.get("provisioner"), Subject::StorageDriver, "provisioner");
    }

    fn binding(&mut self, root: DocNode<'_>) {
        let Some(role_ref) = root.get("roleRef") else { return };
        let kind = role_ref.str_at("kind").unwrap_or("Role").to_owned();
        self.reference(&kind, role_ref.get("name"), Relation::RoleRef, "roleRef.name".into());
        for (i, subject) in items(root.get("subjects")).enumerate() {
            if subject.str_at("kind") != Some("ServiceAccount") || subject.str_at("name") == Some("default") {
                continue;
            }
            let namespace = subject.str_at("namespace").map(|ns| self.strings.get(ns));
            if let Some(r) = self.reference("ServiceAccount", subject.get("name"), Relation::RoleSubject, format!("subjects[{i}].name")) {
                r.namespace = namespace;
            }
        }
    }

    fn autoscaler(&mut self, root: DocNode<'_>) {
        let target = root.at(&["spec", "scaleTargetRef"]).or_else(|| root.at(&["spec", "targetRef"]));
        let Some(target) = target else { return };
        let field = if root.at(&["spec", "scaleTargetRef"]).is_some() { "scaleTargetRef" } else { "targetRef" };
        let kind = target.str_at("kind").unwrap_or("Deployment").to_owned();
        self.reference(&kind, target.get("name"), Relation::ScaleTarget, format!("spec.{field}.name"));
        if let Some(api) = target.get("apiVersion")
            && let Some(api_version) = api.as_str()
        {
            let path = format!("spec.{field}.apiVersion");
            self.facts.api_refs.push(ApiRef { api_version: api_version.to_owned(), kind, line: api.line(), path, via: Via::Reference });
        }
    }

    fn namespace(&mut self, root: DocNode<'_>) {
        let Some(node) = root.at(&["metadata", "annotations", "net.beta.kubernetes.io/network-policy"]) else { return };
        self.facts.findings.push(Finding {
            code: "legacy-network-policy-annotation",
            severity: WarningLevel::Warning,
            message: "`net.beta.kubernetes.io/network-policy` has been ignored since Kubernetes 1.7 and isolates nothing; use a default-deny NetworkPolicy"
                .into(),
            line: node.line(),
            path: "metadata.annotations.net.beta.kubernetes.io/network-policy".into(),
        });
    }

    fn crd(&mut self, root: DocNode<'_>) {
        let group = root.at(&["spec", "group"]).and_then(DocNode::as_str).unwrap_or_default();
        let kind = root.at(&["spec", "names", "kind"]).and_then(DocNode::as_str).unwrap_or_default();
        self.facts.detail_type = Some(format!("{group}/{kind}"));
    }
}

/// Dapr's API group.
pub(crate) const DAPR_GROUP: &str = "dapr.io";

/// The port of DNS (IANA service name `domain`).
const DNS_PORT: u16 = 53;

/// Istio's networking API group.
const ISTIO_NETWORKING_GROUP: &str = "networking.istio.io";

/// A reference to a Dapr Configuration ([`Ref::kind`]: no Configuration of another group is meant).
const DAPR_CONFIGURATION: &str = "Configuration.dapr.io";

/// A reference to a Dapr Component.
const DAPR_COMPONENT: &str = "Component.dapr.io";

/// The secret store Dapr provides on Kubernetes, reading Kubernetes Secrets: the default of
/// `auth.secretStore` (<https://docs.dapr.io/reference/components-reference/supported-secret-stores/kubernetes-secret-store/>).
const KUBERNETES_SECRET_STORE: &str = "kubernetes";

/// The annotation that named an Ingress's class before `spec.ingressClassName`.
const LEGACY_INGRESS_CLASS: &str = "kubernetes.io/ingress.class";

/// In-tree volume types and the provisioner names the cloud table uses for them.
const IN_TREE_VOLUMES: &[(&str, &str)] = &[
    ("azureDisk", "kubernetes.io/azure-disk"),
    ("azureFile", "kubernetes.io/azure-file"),
    ("awsElasticBlockStore", "kubernetes.io/aws-ebs"),
    ("gcePersistentDisk", "kubernetes.io/gce-pd"),
];

/// Whether a word is a DNS label (so that `*` or a template is no Service name).
fn is_dns_label(word: &str) -> bool {
    !word.is_empty() && word.len() <= 63 && word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Whether a host token may name a Service: cluster-style names always, and a
/// single-label word only when it stands alone or comes with a scheme or port.
fn is_service_candidate(token: &HostToken<'_>, standalone: bool) -> bool {
    if token.host == "localhost" {
        return false;
    }
    match service_host(&token.host) {
        Some(ServiceHost::Bare(_)) => token.is_explicit() || standalone,
        Some(_) => true,
        None => false,
    }
}

/// A JSON document embedded in a value (a settings file, a Grafana dashboard): its ids and
/// hash keys (`"object:1058"`) look like `host:port` without being addresses.
#[derive(Clone, Copy)]
struct EmbeddedJson {
    /// A Grafana dashboard (`panels` and `schemaVersion`): what it shows, not what the workload calls.
    dashboard: bool,
}

impl EmbeddedJson {
    /// Whether a token of the document may be an address: never in a dashboard; elsewhere a
    /// URL, or a value whose key names an address (`"redisHost": "cache:6379"`).
    fn may_address(self, token: &HostToken<'_>) -> bool {
        !self.dashboard && (token.scheme.is_some() || token.previous.is_some_and(|key| key_names_an_address(key.trim_end_matches(':'))))
    }
}

/// A value whose hosts are scanned (whole, or line by line): what the whole says of each token.
#[derive(Clone, Copy)]
struct Whole<'t> {
    text: &'t str,
    trimmed: &'t str,
    embedded: Option<EmbeddedJson>,
    /// Scanned one line at a time (a ConfigMap file), not as one value.
    by_line: bool,
}

impl<'t> Whole<'t> {
    fn of(text: &'t str) -> Whole<'t> {
        let trimmed = text.trim();
        Whole { text, trimmed, embedded: embedded_json(trimmed), by_line: false }
    }

    /// Whether the token stands in a comment of a configuration file (a link there is
    /// documentation, not a host the workload uses): `part`'s own line when the value is
    /// scanned line by line, else any comment line of the value that holds it.
    fn in_comment(&self, part: &str, token: &HostToken<'_>) -> bool {
        if self.by_line {
            return is_comment(part);
        }
        self.text.contains('\n') && self.text.lines().any(|l| is_comment(l) && l.contains(&*token.host))
    }
}

/// Whether a line of a configuration file is a comment (`#`, `//`, `;`).
fn is_comment(line: &str) -> bool {
    let line = line.trim_start();
    line.starts_with('#') || line.starts_with("//") || line.starts_with(';')
}

/// The embedded JSON document a value is, if it is one (it starts with `{` or `[` and ends alike).
fn embedded_json(value: &str) -> Option<EmbeddedJson> {
    let is_json = (value.starts_with('{') && value.ends_with('}')) || (value.starts_with('[') && value.ends_with(']'));
    is_json.then(|| EmbeddedJson { dashboard: value.contains("\"panels\"") && value.contains("\"schemaVersion\"") })
}

/// Suffixes of env/config keys that name a place or an identifier, not a value to protect or dial.
const NON_VALUE_SUFFIXES: &[&str] = &["_FILE", "_PATH", "_DIR", "_NAME", "_MOUNT", "_LOCATION", "_REF", "_ENABLED"];

fn has_non_value_suffix(name: &str) -> bool {
    NON_VALUE_SUFFIXES.iter().any(|s| ends_with_ignoring_case(name, s))
}

fn looks_like_credential(name: &str) -> bool {
    ["PASSWORD", "PASSWD", "SECRET", "TOKEN", "API_KEY", "APIKEY", "ACCESS_KEY", "PRIVATE_KEY"].iter().any(|marker| contains_ignoring_case(name, marker))
        && !has_non_value_suffix(name)
}

/// Whether `text` contains `upper` (an upper-case ASCII word), in any case.
fn contains_ignoring_case(text: &str, upper: &str) -> bool {
    text.len() >= upper.len() && text.as_bytes().windows(upper.len()).any(|w| w.eq_ignore_ascii_case(upper.as_bytes()))
}

/// Whether a key (`REDIS`, `ORDER_QUEUE_HOSTNAME`, `CATALOG_ADDR`) suggests its
/// value is an address, so that a bare word like `rabbitmq` may be read as a Service.
///
/// Words that say "address" count anywhere in the key; a product's name only as the key's last
/// word (`CART_REDIS`, `KAFKA`), since `POSTGRES_DB`, `MYSQL_USER` or `RABBITMQ_VHOST` name
/// a database, a user or a virtual host, not the server.
fn key_names_an_address(key: &str) -> bool {
    const ADDRESS_WORDS: &[&str] = &["HOST", "ADDR", "SERVER", "ENDPOINT", "URL", "URI", "SERVICE", "BROKER", "UPSTREAM", "BACKEND"];
    const PRODUCTS: &[&str] = &[
        "REDIS",
        "MONGO",
        "MONGODB",
        "MYSQL",
        "POSTGRES",
        "POSTGRESQL",
        "RABBIT",
        "RABBITMQ",
        "AMQP",
        "KAFKA",
        "NATS",
        "MEMCACHE",
        "MEMCACHED",
        "ELASTIC",
        "ELASTICSEARCH",
        "ZIPKIN",
        "JAEGER",
    ];
    /// Words that end like an address word but are something else (a RabbitMQ virtual host).
    const LOOKALIKES: &[&str] = &["VHOST"];
    if has_non_value_suffix(key) {
        return false;
    }
    let says_address = |word: &str| {
        !LOOKALIKES.iter().any(|l| word.eq_ignore_ascii_case(l))
            && ADDRESS_WORDS.iter().any(|w| starts_with_ignoring_case(word, w) || ends_with_ignoring_case(word, w))
    };
    key_words(key).any(says_address) || key_words(key).last().is_some_and(|last| PRODUCTS.iter().any(|p| last.eq_ignore_ascii_case(p)))
}

/// The words of a key: split at `_`, `-`, `.` and where camel case starts a new word (`redisHost`).
fn key_words(key: &str) -> impl Iterator<Item = &str> {
    key.split(['_', '-', '.']).filter(|p| !p.is_empty()).flat_map(|part| {
        let bytes = part.as_bytes();
        let starts = std::iter::once(0).chain((1..bytes.len()).filter(move |&i| bytes[i].is_ascii_uppercase() && bytes[i - 1].is_ascii_lowercase()));
        let ends = starts.clone().skip(1).chain(std::iter::once(part.len()));
        starts.zip(ends).map(move |(start, end)| &part[start..end])
    })
}

fn starts_with_ignoring_case(text: &str, prefix: &str) -> bool {
    text.len() >= prefix.len() && text.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

fn ends_with_ignoring_case(text: &str, suffix: &str) -> bool {
    text.len() >= suffix.len() && text.as_bytes()[text.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
}

/// Splits an image reference into its registry host and `registry/repository` (no tag or digest).
pub fn split_image(reference: &str) -> (String, String) {
    let without_digest = reference.split('@').next().unwrap_or(reference);
    let (first, rest) = without_digest.split_once('/').unwrap_or(("", without_digest));
    let is_registry = first.contains(['.', ':']) || first == "localhost";
    let (registry, path) = if is_registry { (first, rest) } else { ("docker.io", without_digest) };
    let path = match path.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => repo,
        _ => path,
    };
    (registry.to_ascii_lowercase(), format!("{}/{}", registry.to_ascii_lowercase(), path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_split_into_registry_and_path() {
        assert_eq!(split_image("nginx:1.25"), ("docker.io".into(), "docker.io/nginx".into()));
        assert_eq!(split_image("acr1.azurecr.io/shop/web:4.2"), ("acr1.azurecr.io".into(), "acr1.azurecr.io/shop/web".into()));
        assert_eq!(split_image("localhost:5000/app@sha256:abc"), ("localhost:5000".into(), "localhost:5000/app".into()));
    }

    #[test]
    fn address_keys() {
        assert!(key_names_an_address("REDIS"));
        assert!(key_names_an_address("ORDER_QUEUE_HOSTNAME"));
        assert!(!key_names_an_address("QUEUE_NAME"));
        assert!(!key_names_an_address("DB_NAME"));
        assert!(key_names_an_address("CART_REDIS"));
        assert!(key_names_an_address("kafka"));
        assert!(!key_names_an_address("POSTGRES_DB"), "a database name");
        assert!(!key_names_an_address("MYSQL_USER"));
        assert!(!key_names_an_address("RABBITMQ_DEFAULT_VHOST"));
        assert!(key_names_an_address("POSTGRES_HOST"));
        assert!(key_names_an_address("redisHost") && key_names_an_address("DATABASEURL") && key_names_an_address("cacheServers"));
        assert!(!key_names_an_address("postgresDb"));
    }

    #[test]
    fn credential_names() {
        assert!(!looks_like_credential("PSP_SECRETS_DIR"));
        assert!(looks_like_credential("ORDER_DB_PASSWORD"));
        assert!(!looks_like_credential("PASSWORD_FILE"));
        assert!(!looks_like_credential("ORDER_QUEUE_HOSTNAME"));
    }
}
