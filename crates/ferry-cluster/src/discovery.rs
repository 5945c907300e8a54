//! Tolerant discovery: every listable resource at its preferred version.
//!
//! Per-group discovery (`/api/v1`, `/apis/GROUP/VERSION`) works on every
//! server version ferry meets, 1.20 included. A group that cannot be read (an
//! aggregated APIService whose backend is down answers 503) is reported in
//! [`Discovery::failures`] and skipped; the rest goes on.

use std::collections::BTreeMap;

use futures::StreamExt as _;
use serde::Deserialize;

use crate::request::{RequestError, get_json};
use crate::resources::{self, Rule};
use crate::{ClusterError, Connection};

/// Group-versions fetched at the same time.
const CONCURRENCY: usize = 8;

/// A resource type ferry can list.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Resource {
    /// API group (`""` for the core group).
    pub group: String,
    /// The version read: the group's preferred version when it serves this resource.
    pub version: String,
    /// Plural resource name, e.g. `deployments`.
    pub plural: String,
    /// Kind, e.g. `Deployment`.
    pub kind: String,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
}

impl Resource {
    /// `group/version`, or `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.clone() } else { format!("{}/{}", self.group, self.version) }
    }

    /// `plural.group` as kubectl names it (`plural` for the core group).
    pub fn qualified(&self) -> String {
        if self.group.is_empty() { self.plural.clone() } else { format!("{}.{}", self.plural, self.group) }
    }

    /// The collection path, in one namespace or across all.
    pub fn list_path(&self, namespace: Option<&str>) -> String {
        let base = if self.group.is_empty() { format!("/api/{}", self.version) } else { format!("/apis/{}/{}", self.group, self.version) };
        match namespace {
            Some(ns) if self.namespaced => format!("{base}/namespaces/{ns}/{}", self.plural),
            _ => format!("{base}/{}", self.plural),
        }
    }
}

/// What discovery found.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    /// Listable resources, sorted by group and name.
    pub resources: Vec<Resource>,
    /// Every resource at every version served, including the ones `resources` leaves out.
    pub served: Vec<Resource>,
    /// Group-versions that could not be read, with why.
    pub failures: Vec<RequestError>,
    /// Resources left out on purpose (`data/resources.yaml`), with why.
    pub skipped: Vec<(String, String)>,
}

#[derive(Deserialize)]
struct GroupList {
    groups: Vec<Group>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Group {
    name: String,
    versions: Vec<GroupVersionRef>,
    preferred_version: Option<GroupVersionRef>,
}

#[derive(Deserialize)]
struct GroupVersionRef {
    version: String,
}

#[derive(Deserialize)]
struct CoreVersions {
    versions: Vec<String>,
}

#[derive(Deserialize)]
struct ResourceList {
    resources: Vec<ApiResource>,
}

#[derive(Deserialize)]
struct ApiResource {
    name: String,
    kind: String,
    namespaced: bool,
    #[serde(default)]
    verbs: Vec<String>,
}

/// One group-version to read, and whether it is its group's preferred version.
struct GroupVersion {
    group: String,
    version: String,
    preferred: bool,
}

/// Discovers every listable resource of the cluster.
pub async fn discover(connection: &Connection) -> Result<Discovery, ClusterError> {
    let client = &connection.client;
    let core: CoreVersions = get_json(client, "/api").await?;
    let groups: GroupList = get_json(client, "/apis").await?;
    let mut wanted: Vec<GroupVersion> =
        core.versions.into_iter().map(|version| GroupVersion { group: String::new(), preferred: version == "v1", version }).collect();
    for group in groups.groups {
        let preferred = group.preferred_version.map(|v| v.version);
        for v in group.versions {
            let is_preferred = preferred.as_deref() == Some(v.version.as_str());
            wanted.push(GroupVersion { group: group.name.clone(), version: v.version, preferred: is_preferred });
        }
    }
    let fetched: Vec<(GroupVersion, Result<ResourceList, RequestError>)> = futures::stream::iter(wanted)
        .map(|gv| async move {
            let path = if gv.group.is_empty() { format!("/api/{}", gv.version) } else { format!("/apis/{}/{}", gv.group, gv.version) };
            let list = get_json(client, &path).await;
            (gv, list)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    Ok(choose(fetched))
}

/// Picks, for every `plural.group`, the preferred version if it serves the
/// resource, else the most stable and newest version that does.
fn choose(fetched: Vec<(GroupVersion, Result<ResourceList, RequestError>)>) -> Discovery {
    let mut discovery = Discovery::default();
    let mut best: BTreeMap<(String, String), (Resource, (bool, VersionRank))> = BTreeMap::new();
    for (gv, list) in fetched {
        let list = match list {
            Ok(list) => list,
            Err(error) => {
                discovery.failures.push(error);
                continue;
            }
        };
        for r in list.resources.into_iter().filter(|r| !r.name.contains('/') && r.verbs.iter().any(|v| v == "list")) {
            let resource = Resource { group: gv.group.clone(), version: gv.version.clone(), plural: r.name, kind: r.kind, namespaced: r.namespaced };
            discovery.served.push(resource.clone());
            let rank = (gv.preferred, VersionRank::of(&gv.version));
            let key = (resource.group.clone(), resource.plural.clone());
            if best.get(&key).is_none_or(|(_, current)| rank > *current) {
                best.insert(key, (resource, rank));
            }
        }
    }
    for (resource, _) in best.into_values() {
        match resources::rule(&resource.qualified()) {
            None => discovery.resources.push(resource),
            Some(Rule::Skip(reason)) => discovery.skipped.push((resource.qualified(), reason.clone())),
            Some(Rule::SameAs(other)) => discovery.skipped.push((resource.qualified(), format!("the same objects as {other}"))),
        }
    }
    discovery.failures.sort_by(|a, b| a.path.cmp(&b.path));
    discovery
}

/// Kubernetes' version priority: GA over beta over alpha, then the higher number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct VersionRank {
    stability: u8,
    major: u32,
    minor: u32,
}

impl VersionRank {
    fn of(version: &str) -> VersionRank {
        let Some(rest) = version.strip_prefix('v') else { return VersionRank { stability: 0, major: 0, minor: 0 } };
        let digits_end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let major = rest[..digits_end].parse().unwrap_or(0);
        let suffix = &rest[digits_end..];
        let (stability, minor) = if suffix.is_empty() {
            (3, 0)
        } else if let Some(n) = suffix.strip_prefix("beta") {
            (2, n.parse().unwrap_or(0))
        } else if let Some(n) = suffix.strip_prefix("alpha") {
            (1, n.parse().unwrap_or(0))
        } else {
            (0, 0)
        };
        VersionRank { stability, major, minor }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_rank_like_kubernetes() {
        let mut versions = vec!["v1beta1", "v1", "v2beta2", "v1alpha1", "v2", "v2beta1", "foo"];
        versions.sort_by_key(|v| std::cmp::Reverse(VersionRank::of(v)));
        assert_eq!(versions, ["v2", "v1", "v2beta2", "v2beta1", "v1beta1", "v1alpha1", "foo"]);
    }

    #[test]
    fn preferred_version_wins_and_other_versions_fill_gaps() {
        let list = |names: &[(&str, &str)]| ResourceList {
            resources: names.iter().map(|(n, k)| ApiResource { name: (*n).into(), kind: (*k).into(), namespaced: true, verbs: vec!["list".into()] }).collect(),
        };
        let gv = |version: &str, preferred| GroupVersion { group: "batch".into(), version: version.into(), preferred };
        let discovery = choose(vec![
            (gv("v1beta1", false), Ok(list(&[("jobs", "Job"), ("cronjobs", "CronJob"), ("jobs/status", "Job")]))),
            (gv("v1", true), Ok(list(&[("jobs", "Job")]))),
        ]);
        let found: Vec<(String, String)> = discovery.resources.iter().map(|r| (r.plural.clone(), r.version.clone())).collect();
        assert_eq!(found, [("cronjobs".to_owned(), "v1beta1".to_owned()), ("jobs".to_owned(), "v1".to_owned())]);
    }

    #[test]
    fn broken_groups_are_reported_not_fatal() {
        let broken = RequestError {
            method: http::Method::GET,
            path: "/apis/metrics.k8s.io/v1beta1".into(),
            cause: crate::Cause::Status(503),
            message: "503 Service Unavailable".into(),
        };
        let discovery = choose(vec![(GroupVersion { group: "metrics.k8s.io".into(), version: "v1beta1".into(), preferred: true }, Err(broken))]);
        assert!(discovery.resources.is_empty());
        assert_eq!(discovery.failures.len(), 1);
    }

    #[test]
    fn paths_follow_the_api_layout() {
        let r = Resource { group: "apps".into(), version: "v1".into(), plural: "deployments".into(), kind: "Deployment".into(), namespaced: true };
        assert_eq!(r.list_path(Some("shop")), "/apis/apps/v1/namespaces/shop/deployments");
        assert_eq!(r.list_path(None), "/apis/apps/v1/deployments");
        let ns = Resource { group: String::new(), version: "v1".into(), plural: "namespaces".into(), kind: "Namespace".into(), namespaced: false };
        assert_eq!(ns.list_path(Some("shop")), "/api/v1/namespaces");
        assert_eq!(ns.qualified(), "namespaces");
    }
}
