//! The deprecated-API table and look-ups against a target Kubernetes version.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// A Kubernetes (or component) minor version such as `1.25`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KubeVersion {
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
}

impl FromStr for KubeVersion {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim().trim_start_matches('v');
        let mut parts = trimmed.split('.');
        let parse = |p: Option<&str>| p.and_then(|p| p.parse::<u32>().ok());
        match (parse(parts.next()), parse(parts.next())) {
            (Some(major), Some(minor)) => Ok(KubeVersion { major, minor }),
            _ => Err(format!("`{s}` is not a version like `1.29`")),
        }
    }
}

impl fmt::Display for KubeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl Serialize for KubeVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for KubeVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// One row of `data/deprecations.yaml`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DeprecationRow {
    /// The deprecated `apiVersion`.
    pub api_version: String,
    /// The kind, or `*` for every kind of that version.
    pub kind: String,
    /// `k8s`, or the component (e.g. `cert-manager`) whose versions the row uses.
    pub component: String,
    /// Version that deprecated it.
    pub deprecated_in: Option<KubeVersion>,
    /// Version that stopped serving it.
    pub removed_in: Option<KubeVersion>,
    /// The `apiVersion` to move to, if any.
    pub replacement: Option<String>,
    /// Version from which the replacement is served.
    pub replacement_since: Option<KubeVersion>,
    /// Where the row comes from.
    pub source: String,
    /// Field-level changes or disagreements between sources.
    #[serde(default)]
    pub note: Option<String>,
}

/// Whether an API version still works on the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiStatus {
    /// Still served on the target, but deprecated.
    Deprecated,
    /// No longer served on the target: the object cannot be applied as written.
    Removed,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    rows: Vec<DeprecationRow>,
}

/// The deprecated-API table, indexed by `apiVersion` and kind.
pub struct Deprecations {
    rows: Vec<DeprecationRow>,
    index: HashMap<(String, String), usize>,
}

impl Deprecations {
    /// The table built into this binary, parsed on first use.
    ///
    /// # Panics
    /// Never in a released build: the embedded table is validated by the test suite.
    pub fn builtin() -> &'static Deprecations {
        static TABLE: OnceLock<Deprecations> = OnceLock::new();
        TABLE.get_or_init(|| Deprecations::parse(include_str!("../../data/deprecations.yaml")).expect("embedded data/deprecations.yaml is valid"))
    }

    /// Parses the YAML table.
    pub fn parse(text: &str) -> Result<Self, String> {
        let table: Table = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
        let mut index = HashMap::new();
        for (i, row) in table.rows.iter().enumerate() {
            if index.insert((row.api_version.clone(), row.kind.clone()), i).is_some() {
                return Err(format!("duplicate row for {} {}", row.api_version, row.kind));
            }
        }
        Ok(Deprecations { rows: table.rows, index })
    }

    /// Every row, in file order.
    pub fn rows(&self) -> &[DeprecationRow] {
        &self.rows
    }

    /// The row for an `apiVersion` and kind, falling back to a `*` row for the version.
    pub fn lookup(&self, api_version: &str, kind: &str) -> Option<&DeprecationRow> {
        let key = |k: &str| (api_version.to_owned(), k.to_owned());
        self.index.get(&key(kind)).or_else(|| self.index.get(&key("*"))).map(|&i| &self.rows[i])
    }

    /// What `api_version`/`kind` means on `target`, or `None` when it is fine.
    ///
    /// Rows of other components (cert-manager, Istio) count their own versions,
    /// so they are reported as removed as soon as that component removed them.
    pub fn status(&self, api_version: &str, kind: &str, target: KubeVersion) -> Option<(ApiStatus, &DeprecationRow)> {
        let row = self.lookup(api_version, kind)?;
        if row.component != "k8s" {
            let status = if row.removed_in.is_some() { ApiStatus::Removed } else { ApiStatus::Deprecated };
            return Some((status, row));
        }
        if row.removed_in.is_some_and(|r| r <= target) {
            Some((ApiStatus::Removed, row))
        } else if row.deprecated_in.is_none_or(|d| d <= target) {
            Some((ApiStatus::Deprecated, row))
        } else {
            None
        }
    }
}
