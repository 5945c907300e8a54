//! The assessment: what `ferry assess` reports, as plain serialisable data.
//!
//! This is the documented JSON schema (`docs/assessment-schema.md`); field
//! names and meanings are stable within a schema version.

use std::sync::Arc;

use ferry_model::ObjectId;
use ferry_model::load::{Location, Severity};
use serde::Serialize;

use crate::facts::Relation;
use crate::knowledge::deprecations::ApiStatus;
use crate::knowledge::{KubeVersion, Subject};

/// The warning code of a document or file that could not be read.
pub const INPUT_ERROR: &str = "input-error";

/// Schema identifier written at the top of the JSON output.
pub const SCHEMA: &str = "ferry.assessment/v1";

/// The complete assessment of one input.
#[derive(Debug, Clone, Serialize)]
pub struct Assessment {
    /// Always [`SCHEMA`].
    pub schema: &'static str,
    /// What the migration targets.
    pub target: Target,
    /// What was read.
    pub input: InputSummary,
    /// What there is.
    pub inventory: crate::inventory::Inventory,
    /// What needs what.
    pub dependencies: Vec<Dependency>,
    /// Dependencies on managed cloud services, with counterparts.
    pub cloud: Vec<CloudFinding>,
    /// Hosts, addresses and URLs outside the cluster that workloads use (not managed cloud services).
    pub endpoints: Vec<crate::ExternalEndpoint>,
    /// Deprecated and removed API versions.
    pub deprecations: Vec<DeprecationFinding>,
    /// Migration order.
    pub waves: crate::waves::Waves,
    /// Everything else the user should know, input problems included.
    pub warnings: Vec<Warning>,
}

/// The migration target.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// Target Kubernetes version.
    pub kubernetes: KubeVersion,
    /// Target profile for counterparts: `oss`, `aks`, `eks` or `gke`.
    pub profile: String,
}

/// Counts of what was read.
#[derive(Debug, Clone, Serialize)]
pub struct InputSummary {
    /// Files read.
    pub files: u64,
    /// Non-empty YAML/JSON documents.
    pub documents: u64,
    /// Kubernetes objects.
    pub objects: u64,
    /// Bytes read.
    pub bytes: u64,
    /// The cluster read, when the input was a live cluster (context, server, version).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
}

/// A shared, immutable string: cloning it costs a reference count, not an allocation.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Text(Arc<str>);

impl Text {
    /// The string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Text {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

impl From<Arc<str>> for Text {
    fn from(text: Arc<str>) -> Text {
        Text(text)
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Text {
        Text(text.into())
    }
}

impl From<String> for Text {
    fn from(text: String) -> Text {
        Text(text.into())
    }
}

impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.0, f)
    }
}

/// An object named in a finding: a shared handle, so that the matrix, the inventory and the
/// findings name an object without copying its kind, namespace and name. Reads like the
/// [`Named`] it points to (`r.kind`, `r.name`).
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ObjRef(Arc<Named>);

/// Kind, namespace and name of an object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Named {
    /// Kind.
    pub kind: Text,
    /// Namespace (absent when unset or cluster-scoped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<Text>,
    /// Name.
    pub name: Text,
}

impl ObjRef {
    /// A reference to the object of this kind, namespace and name.
    pub fn new(kind: impl Into<Text>, namespace: Option<impl Into<Text>>, name: impl Into<Text>) -> ObjRef {
        ObjRef(Arc::new(Named { kind: kind.into(), namespace: namespace.map(Into::into), name: name.into() }))
    }

    /// The reference for an object id.
    pub fn of(id: &ObjectId) -> ObjRef {
        ObjRef::new(id.kind.as_str(), id.namespace.as_deref(), id.name.as_str())
    }
}

impl std::ops::Deref for ObjRef {
    type Target = Named;
    fn deref(&self) -> &Named {
        &self.0
    }
}

impl std::fmt::Debug for ObjRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Display for ObjRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// Where something was seen: file, line and field path (strings shared, as in [`ObjRef`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Evidence {
    /// File.
    pub file: Text,
    /// 1-based line.
    pub line: u32,
    /// Field path within the object, e.g. `spec.template.spec.containers[0].env[2].value`.
    pub path: Text,
}

impl Evidence {
    /// `file:line`, or just the object's address when it was read from a cluster (no lines).
    pub fn location(&self) -> String {
        if self.line == 0 { self.file.to_string() } else { format!("{}:{}", self.file, self.line) }
    }
}

impl std::fmt::Display for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // As `location()` then the path, without making the location a string first.
        match self.line {
            0 => write!(f, "{} {}", self.file, self.path),
            line => write!(f, "{}:{line} {}", self.file, self.path),
        }
    }
}

/// Whether a dependency's target was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Resolution {
    /// The target is in the input.
    Resolved,
    /// The target should be in the input but is not.
    Dangling,
    /// The target is normally provided by the cluster (StorageClass, ClusterRole) and is not in the input.
    ClusterProvided,
}

/// One edge of the dependency matrix.
#[derive(Debug, Clone, Serialize)]
pub struct Dependency {
    /// The object that needs something.
    pub from: ObjRef,
    /// What it needs.
    pub to: ObjRef,
    /// How.
    pub kind: Relation,
    /// Whether `to` was found.
    pub resolution: Resolution,
    /// Where the reference is written.
    pub evidence: Evidence,
    /// The ConfigMap or Secret that carries the reference, when not the object itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<ObjRef>,
    /// The address as written (`amqp://rabbitmq:5672`), for network edges; never from a Secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Text>,
    /// A caveat, e.g. an assumed namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<Box<str>>,
    /// Further places where the same dependency is written (at most [`MAX_EXTRA_EVIDENCE`]).
    #[serde(skip_serializing_if = "<[Evidence]>::is_empty")]
    pub also: Box<[Evidence]>,
}

/// How many extra evidence locations a dependency keeps.
pub const MAX_EXTRA_EVIDENCE: usize = 4;

/// A dependency on a managed cloud service.
#[derive(Debug, Clone, Serialize)]
pub struct CloudFinding {
    /// `azure`, `aws` or `gcp`; `unknown` when the input does not say (a SecretProviderClass it lacks).
    pub provider: Text,
    /// Service id from the knowledge table.
    pub service_id: Text,
    /// Service name.
    pub service: Text,
    /// Category (messaging, database, ...).
    pub category: Text,
    /// What kind of marker matched.
    pub subject: Subject,
    /// The text that matched (withheld for Secret values).
    pub matched: String,
    /// The object carrying the marker.
    pub object: ObjRef,
    /// Where.
    pub evidence: Evidence,
    /// Workloads that depend on it through this object.
    pub used_by: Vec<ObjRef>,
    /// Replacement on the target profile.
    pub counterpart: Text,
    /// Source of the rule.
    pub rule_source: Text,
}

/// A deprecated or removed API version.
#[derive(Debug, Clone, Serialize)]
pub struct DeprecationFinding {
    /// The object.
    pub object: ObjRef,
    /// apiVersion found.
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    /// Kind it applies to.
    pub kind: String,
    /// On the target version.
    pub status: ApiStatus,
    /// `k8s` or the component whose versions are given.
    pub component: String,
    /// Deprecated in.
    pub deprecated_in: Option<KubeVersion>,
    /// Removed in.
    pub removed_in: Option<KubeVersion>,
    /// The apiVersion to use instead; `None` when the kind has no successor.
    pub replacement: Option<String>,
    /// The first Kubernetes release that serves `replacement`, when known (Kubernetes APIs only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replacement_since: Option<KubeVersion>,
    /// Field-level changes or caveats.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Where the version was seen: declared by the object, referred to by a field, recorded in
    /// `last-applied-configuration` (how the object was applied; live clusters only), or inside a Helm release.
    pub via: Via,
    /// Where.
    pub evidence: Evidence,
}

impl DeprecationFinding {
    /// Whether the target serves the replacement: there is one, and it is served by the
    /// target version (or since an unknown release, or the version is a component's own).
    pub fn replacement_available(&self, target: KubeVersion) -> bool {
        self.replacement.is_some() && self.replacement_since.is_none_or(|since| since <= target)
    }
}

/// How an object carries an API version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Via {
    /// The object's own `apiVersion`.
    Declared,
    /// A field that names another object's apiVersion (e.g. `scaleTargetRef.apiVersion`).
    Reference,
    /// `kubectl.kubernetes.io/last-applied-configuration`: how the object was last applied.
    /// Evidence about the manifests that produced it, not a property of the object; never blocking.
    LastApplied,
    /// The stored manifest of a Helm release; `helm upgrade` on the target must not use it as is.
    HelmRelease,
}

impl Via {
    /// How reports qualify a finding seen this way; `None` for the object's own `apiVersion`.
    pub fn label(self) -> Option<&'static str> {
        match self {
            Via::Declared => None,
            Via::Reference => Some("referenced (not declared)"),
            Via::LastApplied => Some("as last applied (evidence of the manifests, not blocking)"),
            Via::HelmRelease => Some("in a Helm release manifest"),
        }
    }
}

/// Anything else worth knowing.
#[derive(Debug, Clone, Serialize)]
pub struct Warning {
    /// Note, warning or error.
    pub severity: WarningLevel,
    /// Machine-readable code.
    pub code: String,
    /// For the user.
    pub message: String,
    /// Object concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<ObjRef>,
    /// Where: file, document, line and field, as known.
    #[serde(flatten)]
    pub location: Option<Location>,
}

/// Severity of a [`Warning`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WarningLevel {
    /// Informational.
    Note,
    /// Needs attention before migrating.
    Warning,
    /// Input that could not be read.
    Error,
}

impl From<Severity> for WarningLevel {
    fn from(s: Severity) -> Self {
        match s {
            Severity::Note => WarningLevel::Note,
            Severity::Error => WarningLevel::Error,
        }
    }
}

impl Assessment {
    /// Removed APIs: objects that cannot be applied to the target as written.
    pub fn removed_apis(&self) -> impl Iterator<Item = &DeprecationFinding> {
        self.deprecations.iter().filter(|d| d.status == ApiStatus::Removed && d.via != Via::LastApplied)
    }

    /// Findings that block with `--fail-on deprecated`: deprecated or removed APIs the objects
    /// declare or refer to (not the versions of `last-applied-configuration`, which are evidence only).
    pub fn blocking_deprecations(&self) -> impl Iterator<Item = &DeprecationFinding> {
        self.deprecations.iter().filter(|d| d.via != Via::LastApplied)
    }

    /// How many warnings of severity error have this code (e.g. [`INPUT_ERROR`], unreadable input).
    pub fn errors_of(&self, code: &str) -> usize {
        self.warnings.iter().filter(|w| w.severity == WarningLevel::Error && w.code == code).count()
    }

    /// Whether some input could not be read, or is ambiguous (duplicates) or empty.
    pub fn has_input_errors(&self) -> bool {
        self.warnings.iter().any(|w| w.severity == WarningLevel::Error)
    }
}
