//! Reading back what a cluster holds, as JSON, for checks after a migration (`ferry verify`)
//! and before one (`ferry preflight`): the collections the planned objects live in, each
//! read with paginated LISTs (one request per 500 objects instead of one per object), and
//! small filtered lists (EndpointSlices of Services, classes).

use std::collections::{BTreeSet, HashMap};

use ferry_model::ObjectId;
use ferry_model::lean::WithoutManagedFields;
use futures::StreamExt as _;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::Connection;
use crate::apply::target::locate;
use crate::discovery::{Discovery, Resource};
use crate::read::{PageMeta, invalid_list, paginate};
use crate::request::{JSON, RequestError};

/// Objects asked for in one list request.
const PAGE: usize = 500;

/// What the cluster holds for one object.
#[derive(Debug, Clone)]
pub enum Fetched {
    /// The object, as the server sends it.
    Found(Value),
    /// The server serves its kind but holds no such object.
    Absent,
    /// It could not be read (its kind is not served, forbidden, the server did not answer), with why.
    Unreadable(String),
}

/// What [`read_collections`] found.
#[derive(Debug, Default)]
pub struct Collections {
    /// For each identity asked about, in the order asked.
    pub fetched: Vec<Fetched>,
    /// The other objects of the collections that were read: what the cluster holds beside
    /// the objects asked about, in the same kinds and namespaces.
    pub others: Vec<Value>,
}

/// How much of each listed object is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    /// The object as the server sends it.
    Whole,
    /// Without `metadata.managedFields` (see [`ferry_model::lean`]).
    WithoutManagedFields,
}

impl Kept {
    /// Parses one object's JSON text, keeping what `self` says.
    pub fn parse(self, json: &[u8]) -> Result<Value, serde_json::Error> {
        match self {
            Kept::Whole => serde_json::from_slice(json),
            Kept::WithoutManagedFields => ferry_model::lean::parse_without_managed_fields(json),
        }
    }
}

/// Says, for each resource, how much of its objects a reader needs.
pub type KeptOf<'a> = &'a (dyn Fn(&Resource) -> Kept + Sync);

/// A resource at one version, in one namespace (or cluster-wide).
type Collection = (Resource, Option<String>);

/// Collections read ahead of [`read_collections`]: what [`prefetch`] listed while the objects
/// that live in them were still being found.
#[derive(Debug, Default)]
pub struct Prefetched(HashMap<Collection, Result<Vec<Value>, String>>);

/// Lists, `concurrency` at a time, the collection of each identity `ids` yields as soon as it
/// comes (each collection once, at the identity's own apiVersion), until `ids` ends: a reader of
/// the source hands identities over page by page, and the target's lists overlap its reading.
/// Identities whose kind the cluster does not serve are skipped; [`read_collections`] reports them.
pub async fn prefetch(
    connection: &Connection,
    discovery: &Discovery,
    ids: impl futures::Stream<Item = ObjectId>,
    concurrency: usize,
    kept: KeptOf<'_>,
) -> Prefetched {
    let mut seen: BTreeSet<Collection> = BTreeSet::new();
    let collections = ids.filter_map(|id| {
        let located = locate(discovery, &id).ok().map(|(resource, namespace)| (resource.clone(), namespace));
        std::future::ready(located.filter(|collection| seen.insert(collection.clone())))
    });
    let listed = collections
        .map(|collection| async move {
            let items = list(connection, &collection.0, collection.1.as_deref(), "", kept(&collection.0)).await.map_err(|e| e.to_string());
            (collection, items)
        })
        .buffer_unordered(concurrency.max(1));
    Prefetched(listed.collect().await)
}

/// Reads every (resource, namespace) collection the objects `ids` live in (each at the
/// object's own apiVersion, so the server converts what it stores at another), `concurrency`
/// collections at a time, and answers for each object in the order asked. Collections in
/// `prefetched` are taken from it instead of being listed again. `kept` says how much of each
/// resource's objects is read.
pub async fn read_collections(
    connection: &Connection,
    discovery: &Discovery,
    ids: &[ObjectId],
    concurrency: usize,
    prefetched: Prefetched,
    kept: KeptOf<'_>,
) -> Collections {
    let located: Vec<Result<Collection, String>> = ids.iter().map(|id| locate(discovery, id).map(|(r, ns)| (r.clone(), ns))).collect();
    let wanted: BTreeSet<&Collection> = located.iter().filter_map(|l| l.as_ref().ok()).collect();
    let mut prefetched = prefetched.0;
    let (known, missing): (Vec<&Collection>, Vec<&Collection>) = wanted.into_iter().partition(|c| prefetched.contains_key(*c));
    let mut listed: Vec<(&Collection, Result<Vec<Value>, String>)> = futures::stream::iter(missing)
        .map(|collection| async move {
            let items = list(connection, &collection.0, collection.1.as_deref(), "", kept(&collection.0)).await.map_err(|e| e.to_string());
            (collection, items)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    listed.extend(known.into_iter().filter_map(|collection| Some((collection, prefetched.remove(collection)?))));
    let mut failed: HashMap<&Collection, String> = HashMap::new();
    let mut by_name: HashMap<(&Collection, String), Value> = HashMap::new();
    for (collection, items) in listed {
        match items {
            Ok(items) => by_name.extend(items.into_iter().map(|item| ((collection, name_of(&item).to_owned()), item))),
            Err(error) => {
                failed.insert(collection, error);
            }
        }
    }
    let fetched = ids
        .iter()
        .zip(&located)
        .map(|(id, located)| match located {
            Err(why) => Fetched::Unreadable(why.clone()),
            Ok(collection) => match failed.get(collection) {
                Some(why) => Fetched::Unreadable(why.clone()),
                None => by_name.remove(&(collection, id.name.clone())).map_or(Fetched::Absent, Fetched::Found),
            },
        })
        .collect();
    Collections { fetched, others: by_name.into_values().collect() }
}

fn name_of(item: &Value) -> &str {
    item.get("metadata").and_then(|m| m.get("name")).and_then(Value::as_str).unwrap_or_default()
}

/// The listable resource of `kind` in `group` at the version the cluster prefers, if it serves one.
pub fn preferred<'a>(discovery: &'a Discovery, group: &str, kind: &str) -> Option<&'a Resource> {
    discovery.resources.iter().find(|r| r.group == group && r.kind == kind)
}

/// Every item of `resource` in `namespace` (all namespaces when `None`) that matches the label
/// `selector` (everything when empty), page by page, each with its `apiVersion` and `kind`,
/// read as `kept` says.
pub async fn list(connection: &Connection, resource: &Resource, namespace: Option<&str>, selector: &str, kept: Kept) -> Result<Vec<Value>, RequestError> {
    match kept {
        Kept::Whole => list_as::<Value>(connection, resource, namespace, selector, |item| item).await,
        Kept::WithoutManagedFields => list_as::<WithoutManagedFields>(connection, resource, namespace, selector, |item| item.0).await,
    }
}

/// [`list`], each item parsed as a `T` and made a value by `value`.
async fn list_as<T: DeserializeOwned>(
    connection: &Connection,
    resource: &Resource,
    namespace: Option<&str>,
    selector: &str,
    value: fn(T) -> Value,
) -> Result<Vec<Value>, RequestError> {
    #[derive(serde::Deserialize)]
    #[serde(bound = "T: DeserializeOwned")]
    struct Page<T> {
        #[serde(default)]
        metadata: PageMeta,
        /// `null` when the list is empty.
        #[serde(default = "Option::default")]
        items: Option<Vec<T>>,
    }
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("limit", &PAGE.to_string());
    if !selector.is_empty() {
        query.append_pair("labelSelector", selector);
    }
    let base = format!("{}?{}", resource.list_path(namespace), query.finish());
    let (api_version, kind) = (Value::from(resource.api_version()), Value::from(resource.kind.as_str()));
    let mut found = Vec::new();
    paginate(&connection.client, &base, JSON, |path, body| {
        let page: Page<T> = serde_json::from_slice(body).map_err(|e| invalid_list(path, &e))?;
        found.extend(page.items.unwrap_or_default().into_iter().map(|item| {
            let mut item = value(item);
            if let Some(fields) = item.as_object_mut() {
                fields.entry("apiVersion").or_insert_with(|| api_version.clone());
                fields.entry("kind").or_insert_with(|| kind.clone());
            }
            item
        }));
        Ok(page.metadata.continue_token)
    })
    .await?;
    Ok(found)
}
