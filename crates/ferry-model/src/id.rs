//! Object identity (`apiVersion`, `kind`, namespace, name) and source location.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

/// What identifies a Kubernetes object: its type and its name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
pub struct ObjectId {
    /// `apiVersion` as declared, e.g. `apps/v1` or `v1`.
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    /// `kind`, e.g. `Deployment`.
    pub kind: String,
    /// `metadata.namespace`, `None` when the manifest leaves it unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `metadata.name` (or `generateName` followed by `*`).
    pub name: String,
}

impl ObjectId {
    /// The API group (`""` for the core group).
    pub fn group(&self) -> &str {
        split_api_version(&self.api_version).0
    }

    /// The identity of a JSON object; `None` when apiVersion, kind or metadata.name is missing.
    pub fn from_json(object: &serde_json::Value) -> Option<ObjectId> {
        // `get`, not `pointer`: a pointer is unescaped token by token, allocating, and this runs per object.
        let text = |value: Option<&serde_json::Value>| value.and_then(serde_json::Value::as_str).map(str::to_owned);
        let metadata = |field: &str| text(object.get("metadata").and_then(|m| m.get(field)));
        Some(ObjectId {
            api_version: text(object.get("apiVersion"))?,
            kind: text(object.get("kind"))?,
            namespace: metadata("namespace"),
            name: metadata("name")?,
        })
    }
}

/// Splits `group/version` into its two parts; the core group is `""`.
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.split_once('/').unwrap_or(("", api_version))
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// Where an object (or one of its values) was found.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Origin {
    /// The file, as given on the command line or found below a given directory.
    pub file: Arc<str>,
    /// 1-based index of the YAML document within the file.
    pub document: u32,
    /// 1-based line of the object's first value.
    pub line: u32,
}

impl Origin {
    /// The same file and document, at another line.
    pub fn at_line(&self, line: u32) -> Origin {
        Origin { file: self.file.clone(), document: self.document, line }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}
