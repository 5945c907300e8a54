//! Reading back single objects and small filtered lists from a cluster, as JSON,
//! for checks after a migration (`ferry verify`): the copy of each object the
//! target holds, and what shows whether it runs (EndpointSlices of a Service).

use ferry_model::ObjectId;
use futures::StreamExt as _;
use serde_json::Value;

use crate::Connection;
use crate::apply::target::locate;
use crate::discovery::{Discovery, Resource};
use crate::request::{JSON, RequestError, get_json, send};

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

/// Reads each object by its identity (at its own apiVersion, so the server converts
/// it if it stores another), `concurrency` requests at a time; answers in the order asked.
pub async fn get_each(connection: &Connection, discovery: &Discovery, ids: &[ObjectId], concurrency: usize) -> Vec<Fetched> {
    futures::stream::iter(ids).map(|id| get_one(connection, discovery, id)).buffered(concurrency.max(1)).collect().await
}

async fn get_one(connection: &Connection, discovery: &Discovery, id: &ObjectId) -> Fetched {
    let (resource, namespace) = match locate(discovery, id) {
        Ok(location) => location,
        Err(why) => return Fetched::Unreadable(why),
    };
    let path = format!("{}/{}", resource.list_path(namespace.as_deref()), id.name);
    match send(&connection.client, http::Method::GET, &path, JSON, None).await {
        Ok(body) => serde_json::from_slice(&body).map_or_else(|e| Fetched::Unreadable(format!("GET {path}: invalid JSON: {e}")), Fetched::Found),
        Err(error) if error.status() == Some(404) => Fetched::Absent,
        Err(error) => Fetched::Unreadable(error.to_string()),
    }
}

/// The listable resource of `kind` in `group` at the version the cluster prefers, if it serves one.
pub fn preferred<'a>(discovery: &'a Discovery, group: &str, kind: &str) -> Option<&'a Resource> {
    discovery.resources.iter().find(|r| r.group == group && r.kind == kind)
}

/// The items of `resource` in `namespace` that match the label `selector` (one page of up to 500).
pub async fn list(connection: &Connection, resource: &Resource, namespace: Option<&str>, selector: &str) -> Result<Vec<Value>, RequestError> {
    #[derive(serde::Deserialize)]
    struct Items {
        #[serde(default)]
        items: Option<Vec<Value>>,
    }
    let query = form_urlencoded::Serializer::new(String::new()).append_pair("limit", "500").append_pair("labelSelector", selector).finish();
    let items: Items = get_json(&connection.client, &format!("{}?{query}", resource.list_path(namespace))).await?;
    Ok(items.items.unwrap_or_default())
}
