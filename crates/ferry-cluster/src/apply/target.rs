//! What ferry needs to know about the target before applying: which resource
//! serves each object, and which objects exist already.

use std::collections::{BTreeSet, HashMap};

use ferry_model::ObjectId;
use ferry_model::id::split_api_version;
use futures::StreamExt as _;
use serde::Deserialize;

use crate::Connection;
use crate::discovery::{Discovery, Resource};
use crate::read::{PageMeta, invalid_list, paginate};
use crate::request::RequestError;

/// The field manager's name in `metadata.managedFields`.
pub(crate) const FIELD_MANAGER: &str = "ferry";

/// `Accept` header for metadata-only lists (served since Kubernetes 1.15).
const METADATA_ONLY: &str = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";

/// The resource serving `id`'s apiVersion and kind, or why there is none.
fn resource_for<'a>(discovery: &'a Discovery, id: &ObjectId) -> Result<&'a Resource, String> {
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

/// Where an object goes: the resource serving it and, for a namespaced
/// resource, its namespace (`default` when the object names none, as kubectl does).
pub(crate) fn locate<'a>(discovery: &'a Discovery, id: &ObjectId) -> Result<(&'a Resource, Option<String>), String> {
    let resource = resource_for(discovery, id)?;
    let namespace = resource.namespaced.then(|| id.namespace.clone().unwrap_or_else(|| "default".to_owned()));
    Ok((resource, namespace))
}

/// The key of an object in [`existing`]'s answer.
pub(crate) fn key(resource: &Resource, namespace: Option<String>, name: &str) -> Key {
    (resource.qualified(), namespace, name.to_owned())
}

/// The key of a Namespace object in [`existing`]'s answer.
pub(crate) fn namespace_key(name: &str) -> Key {
    ("namespaces".to_owned(), None, name.to_owned())
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
    metadata: PageMeta,
    /// `null` when the list is empty.
    #[serde(default)]
    items: Option<Vec<MetadataItem>>,
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
    let base = format!("{}?limit=500", resource.list_path(namespace));
    paginate(&connection.client, &base, METADATA_ONLY, |path, body| {
        let page: MetadataList = serde_json::from_slice(body).map_err(|e| invalid_list(path, &e))?;
        found.extend(page.items.unwrap_or_default().into_iter().map(|item| {
            let meta = item.metadata;
            let applied_by_ferry = meta.managed_fields.iter().flatten().any(|f| f.manager == FIELD_MANAGER);
            (key(resource, meta.namespace, &meta.name), Existing { resource_version: meta.resource_version, applied_by_ferry })
        }));
        Ok(page.metadata.continue_token)
    })
    .await?;
    Ok(found)
}
