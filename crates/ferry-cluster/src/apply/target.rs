//! What ferry needs to know about the target before applying: which resource
//! serves each object, and which objects exist already.

use std::collections::{BTreeSet, HashMap};

use ferry_model::ObjectId;
use ferry_model::id::split_api_version;
use futures::StreamExt as _;
use serde::Deserialize;

use crate::discovery::{Discovery, Resource};
use crate::request::{RequestError, send};
use crate::Connection;

/// The field manager's name in `metadata.managedFields`.
pub(crate) const FIELD_MANAGER: &str = "ferry";

/// `Accept` header for metadata-only lists (served since Kubernetes 1.15).
const METADATA_ONLY: &str = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";

/// The resource serving `id`'s apiVersion and kind, or why there is none.
pub(crate) fn resource_for<'a>(discovery: &'a Discovery, id: &ObjectId) -> Result<&'a Resource, String> {
    let (group, version) = split_api_version(&id.api_version);
    let same_kind = || discovery.served.iter().filter(move |r| r.group == group && r.kind == id.kind);
    if let Some(resource) = same_kind().find(|r| r.version == version) {
        return Ok(resource);
    }
    let versions: BTreeSet<&str> = same_kind().map(|r| r.version.as_str()).collect();
    if versions.is_empty() {
        let group_name = if group.is_empty() { "the core group" } else { group };
        Err(format!("the target serves no {} in {group_name} (is its CustomResourceDefinition in the archive, or installed on the target?)", id.kind))
    } else {
        let served: Vec<&str> = versions.into_iter().collect();
        Err(format!(
            "the target does not serve {} {}; it serves {} (convert with `--target-version` set to the target's version)",
            id.api_version,
            id.kind,
            served.join(", ")
        ))
    }
}

/// An object already on the target.
#[derive(Debug, Clone)]
pub(crate) struct Existing {
    pub resource_version: String,
    /// Whether ferry applied it before (an earlier or interrupted run).
    pub applied_by_ferry: bool,
}

/// Where an object lives: `plural.group`, namespace, name.
pub(crate) type Key = (String, Option<String>, String);

#[derive(Deserialize)]
struct MetadataList {
    #[serde(default)]
    metadata: ListMeta,
    /// `null` when the list is empty.
    #[serde(default)]
    items: Option<Vec<MetadataItem>>,
}

#[derive(Deserialize, Default)]
struct ListMeta {
    #[serde(rename = "continue", default)]
    continue_token: Option<String>,
}

#[derive(Deserialize)]
struct MetadataItem {
    metadata: ItemMeta,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ItemMeta {
    name: String,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    resource_version: String,
    #[serde(default)]
    managed_fields: Option<Vec<ManagedField>>,
}

#[derive(Deserialize)]
struct ManagedField {
    #[serde(default)]
    manager: String,
}

/// Lists, metadata only, every (resource, namespace) collection the objects
/// will go to, and returns what is there already.
pub(crate) async fn existing(
    connection: &Connection,
    collections: BTreeSet<(Resource, Option<String>)>,
    concurrency: usize,
) -> Result<HashMap<Key, Existing>, RequestError> {
    let lists: Vec<Result<Vec<(Key, Existing)>, RequestError>> = futures::stream::iter(collections)
        .map(|(resource, namespace)| async move { list_metadata(connection, &resource, namespace.as_deref()).await })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut found = HashMap::new();
    for list in lists {
        found.extend(list?);
    }
    Ok(found)
}

async fn list_metadata(connection: &Connection, resource: &Resource, namespace: Option<&str>) -> Result<Vec<(Key, Existing)>, RequestError> {
    let mut found = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut path = format!("{}?limit=500", resource.list_path(namespace));
        if let Some(token) = &token {
            path.push_str("&continue=");
            path.push_str(&form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>());
        }
        let body = send(&connection.client, http::Method::GET, &path, METADATA_ONLY, None).await?;
        let page: MetadataList = serde_json::from_slice(&body)
            .map_err(|e| RequestError::invalid_response(http::Method::GET, &path, format!("invalid list response: {e}")))?;
        found.extend(page.items.unwrap_or_default().into_iter().map(|item| {
            let meta = item.metadata;
            let applied_by_ferry = meta.managed_fields.iter().flatten().any(|f| f.manager == FIELD_MANAGER);
            ((resource.qualified(), meta.namespace, meta.name), Existing { resource_version: meta.resource_version, applied_by_ferry })
        }));
        token = page.metadata.continue_token.filter(|t| !t.is_empty());
        if token.is_none() {
            return Ok(found);
        }
    }
}
