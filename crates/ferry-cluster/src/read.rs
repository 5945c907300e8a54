//! Listing every discovered resource: paginated, concurrent, retried, and
//! collecting what could not be read instead of stopping at it.

use std::sync::Arc;

use ferry_model::{Node, Object, Origin, Value};
use futures::StreamExt as _;
use serde::Deserialize;

use crate::discovery::{Discovery, Resource};
use crate::request::{RequestError, get_bytes};
use crate::Connection;

/// What to read and how hard to push the server.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Namespaces to read (all when empty). Cluster-scoped resources are always read.
    pub namespaces: Vec<String>,
    /// A label selector, as kubectl's `-l` takes it.
    pub selector: Option<String>,
    /// Objects per page (`limit`).
    pub page_size: u32,
    /// Lists in flight at once.
    pub concurrency: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions { namespaces: Vec::new(), selector: None, page_size: 500, concurrency: 8 }
    }
}

/// A list that could not be read.
#[derive(Debug, Clone)]
pub struct Failure {
    /// `plural.group`.
    pub resource: String,
    /// The namespace listed, if the list was per namespace.
    pub namespace: Option<String>,
    /// What the server (or the network) said.
    pub error: RequestError,
}

/// Everything read from the cluster.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The objects, in discovery order, then in the server's order.
    pub objects: Vec<Object>,
    /// Lists that failed (forbidden, unavailable), after retries.
    pub failures: Vec<Failure>,
    /// Response bytes received.
    pub bytes: u64,
}

/// Receives progress while the cluster is read (a terminal bar, a log, nothing).
pub trait Progress: Sync {
    /// Reading starts; `lists` lists will be made.
    fn started(&self, _lists: usize) {}
    /// A page of `objects` objects of `resource` arrived.
    fn page(&self, _resource: &Resource, _objects: usize) {}
    /// One list finished (successfully or not).
    fn list_done(&self, _resource: &Resource) {}
}

impl Progress for () {}

/// One collection to list.
struct Task<'a> {
    resource: &'a Resource,
    namespace: Option<&'a str>,
}

/// Lists every resource in `discovery`, `options.concurrency` lists at a time.
pub async fn read(connection: &Connection, discovery: &Discovery, options: &ReadOptions, progress: &dyn Progress) -> Snapshot {
    let tasks = tasks(discovery, options);
    progress.started(tasks.len());
    let mut results: Vec<(usize, Result<ListResult, Failure>)> = futures::stream::iter(tasks.into_iter().enumerate())
        .map(|(index, task)| async move {
            let result = list_all(connection, &task, options, progress).await;
            progress.list_done(task.resource);
            (index, result)
        })
        .buffer_unordered(options.concurrency.max(1))
        .collect()
        .await;
    results.sort_by_key(|(index, _)| *index);
    let mut snapshot = Snapshot::default();
    for (_, result) in results {
        match result {
            Ok(list) => {
                snapshot.bytes += list.bytes;
                snapshot.objects.extend(list.objects);
            }
            Err(failure) => snapshot.failures.push(failure),
        }
    }
    snapshot
}

fn tasks<'a>(discovery: &'a Discovery, options: &'a ReadOptions) -> Vec<Task<'a>> {
    let mut tasks = Vec::new();
    for resource in &discovery.resources {
        if resource.namespaced && !options.namespaces.is_empty() {
            tasks.extend(options.namespaces.iter().map(|ns| Task { resource, namespace: Some(ns.as_str()) }));
        } else {
            tasks.push(Task { resource, namespace: None });
        }
    }
    tasks
}

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    metadata: PageMeta,
    #[serde(default)]
    items: Vec<Node>,
}

#[derive(Deserialize, Default)]
struct PageMeta {
    #[serde(rename = "continue", default)]
    continue_token: Option<String>,
}

struct ListResult {
    objects: Vec<Object>,
    bytes: u64,
}

/// Follows `continue` tokens to the end; an expired token (410) restarts the list once.
async fn list_all(connection: &Connection, task: &Task<'_>, options: &ReadOptions, progress: &dyn Progress) -> Result<ListResult, Failure> {
    let fail = |error| Failure { resource: task.resource.qualified(), namespace: task.namespace.map(str::to_owned), error };
    let mut restarted = false;
    'list: loop {
        let mut result = ListResult { objects: Vec::new(), bytes: 0 };
        let mut token: Option<String> = None;
        loop {
            let path = page_path(task, options, token.as_deref());
            let body = match get_bytes(&connection.client, &path).await {
                Ok(body) => body,
                Err(error) if error.status() == Some(410) && !restarted => {
                    restarted = true;
                    continue 'list;
                }
                Err(error) => return Err(fail(error)),
            };
            result.bytes += body.len() as u64;
            let page: Page = serde_json::from_slice(&body)
                .map_err(|e| fail(RequestError::invalid_response(http::Method::GET, &path, format!("invalid list response: {e}"))))?;
            progress.page(task.resource, page.items.len());
            result.objects.extend(page.items.into_iter().map(|item| to_object(item, task.resource, &connection.context)));
            token = page.metadata.continue_token.filter(|t| !t.is_empty());
            if token.is_none() {
                return Ok(result);
            }
        }
    }
}

fn page_path(task: &Task<'_>, options: &ReadOptions, token: Option<&str>) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("limit", &options.page_size.to_string());
    if let Some(selector) = &options.selector {
        query.append_pair("labelSelector", selector);
    }
    if let Some(token) = token {
        query.append_pair("continue", token);
    }
    format!("{}?{}", task.resource.list_path(task.namespace), query.finish())
}

/// A list item as an object: items of built-in lists carry no `apiVersion`
/// and `kind`, so they are added from the resource; evidence points at the
/// object in the cluster (`CONTEXT:RESOURCE/NAMESPACE/NAME`, no line).
fn to_object(mut item: Node, resource: &Resource, context: &str) -> Object {
    if let Value::Map(entries) = &mut item.value {
        if !entries.iter().any(|(k, _)| k == "kind") {
            entries.insert(0, ("kind".to_owned(), Node::scalar(0, resource.kind.as_str(), false)));
        }
        if !entries.iter().any(|(k, _)| k == "apiVersion") {
            entries.insert(0, ("apiVersion".to_owned(), Node::scalar(0, resource.api_version(), false)));
        }
    }
    let namespace = item.at(&["metadata", "namespace"]).and_then(Node::as_str).unwrap_or("-");
    let name = item.at(&["metadata", "name"]).and_then(Node::as_str).unwrap_or("(unnamed)");
    let file: Arc<str> = format!("{context}:{}/{namespace}/{name}", resource.qualified()).into();
    Object::from_root(item, Origin { file, document: 1, line: 0 })
}
