//! Listing every discovered resource: paginated, concurrent, retried, and
//! collecting what could not be read instead of stopping at it.

use std::collections::BTreeMap;
use std::pin::pin;
use std::sync::Arc;

use ferry_model::{Node, Object, Origin, RawObject};
use futures::{Stream, StreamExt as _};
use serde::Deserialize;

use crate::Connection;
use crate::discovery::{Discovery, Resource};
use crate::request::{JSON, RequestError, send};

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

/// One list read to its end, or why it could not be.
#[derive(Debug)]
pub struct Listed<'a, U> {
    /// The resource listed.
    pub resource: &'a Resource,
    /// What was made of each page, in the server's order; or the failure, after retries.
    pub pages: Result<Vec<U>, Failure>,
    /// Response bytes received for the pages.
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
struct Task<'r, 's> {
    resource: &'r Resource,
    namespace: Option<&'s str>,
}

/// What list items are read into.
pub(crate) trait ListItem: Sized + Send {
    /// A page's items as first read, before each is made into `Self`.
    type Items<'b>;
    /// Reads the body of one page: its items, as they are, and its `continue` token.
    fn split(body: &[u8]) -> Result<(Self::Items<'_>, Option<String>), serde_json::Error>;
    /// Makes the items of a page of `resource`'s list.
    fn items(items: Self::Items<'_>, resource: &Resource, context: &str) -> Result<Vec<Self>, serde_json::Error>;
}

impl ListItem for Object {
    type Items<'b> = Vec<Node>;

    fn split(body: &[u8]) -> Result<(Vec<Node>, Option<String>), serde_json::Error> {
        let page: Page = serde_json::from_slice(body)?;
        Ok((page.items, page.metadata.continue_token))
    }

    fn items(items: Vec<Node>, resource: &Resource, context: &str) -> Result<Vec<Object>, serde_json::Error> {
        let (api_version, qualified) = (resource.api_version(), resource.qualified());
        Ok(items.into_iter().map(|item| to_object(item, &api_version, &resource.kind, &qualified, context)).collect())
    }
}

impl ListItem for RawObject {
    type Items<'b> = Vec<&'b serde_json::value::RawValue>;

    fn split(body: &[u8]) -> Result<(Self::Items<'_>, Option<String>), serde_json::Error> {
        let page: RawPage<'_> = serde_json::from_slice(body)?;
        Ok((page.items, page.metadata.continue_token))
    }

    fn items(items: Self::Items<'_>, resource: &Resource, _context: &str) -> Result<Vec<RawObject>, serde_json::Error> {
        let api_version = resource.api_version();
        items.iter().map(|item| RawObject::from_list_item(item.get(), &api_version, &resource.kind)).collect()
    }
}

/// Lists every resource in `discovery`, `options.concurrency` lists at a time, each item
/// parsed into ferry's tree.
pub async fn read(connection: &Connection, discovery: &Discovery, options: &ReadOptions, progress: &dyn Progress) -> Snapshot {
    let keep = |_: &Resource, objects: Vec<Object>| objects;
    let mut lists = pin!(lists(connection, discovery, options, progress, &keep));
    let mut snapshot = Snapshot::default();
    while let Some(list) = lists.next().await {
        match list.pages {
            Ok(pages) => {
                snapshot.bytes += list.bytes;
                snapshot.objects.extend(pages.into_iter().flatten());
            }
            Err(failure) => snapshot.failures.push(failure),
        }
    }
    snapshot
}

/// Lists every resource like [`read`], each item kept as the JSON text the server sent (for
/// an export: only its identity and outline are parsed), handing each page's objects to `page`
/// as soon as the page arrives. Each list comes out once it and every list before it (in
/// discovery order) are complete, while later lists go on being read. A list restarted because
/// its `continue` token expired starts over: what `page` made of its earlier pages is dropped.
pub fn read_raw<'r: 's, 's, U: 's>(
    connection: &'s Connection,
    discovery: &'r Discovery,
    options: &'s ReadOptions,
    progress: &'s dyn Progress,
    page: &'s impl Fn(&'r Resource, Vec<RawObject>) -> U,
) -> impl Stream<Item = Listed<'r, U>> + 's {
    lists(connection, discovery, options, progress, page)
}

fn lists<'r: 's, 's, T: ListItem, U: 's>(
    connection: &'s Connection,
    discovery: &'r Discovery,
    options: &'s ReadOptions,
    progress: &'s dyn Progress,
    page: &'s impl Fn(&'r Resource, Vec<T>) -> U,
) -> impl Stream<Item = Listed<'r, U>> + 's {
    let tasks = tasks(discovery, options);
    progress.started(tasks.len());
    let completed = futures::stream::iter(tasks.into_iter().enumerate())
        .map(move |(index, task)| async move {
            let (pages, bytes) = match list_all(connection, &task, options, progress, page).await {
                Ok((pages, bytes)) => (Ok(pages), bytes),
                Err(failure) => (Err(failure), 0),
            };
            progress.list_done(task.resource);
            (index, Listed { resource: task.resource, pages, bytes })
        })
        .buffer_unordered(options.concurrency.max(1));
    in_order(completed)
}

/// Items tagged with their index (each of 0, 1, 2, ... once, in any order), in index order:
/// each is held back until every item before it has come.
fn in_order<T>(tagged: impl Stream<Item = (usize, T)>) -> impl Stream<Item = T> {
    let mut early = BTreeMap::new();
    let mut next = 0;
    tagged.flat_map(move |(index, item)| {
        early.insert(index, item);
        let mut ready = Vec::new();
        while let Some(item) = early.remove(&next) {
            ready.push(item);
            next += 1;
        }
        futures::stream::iter(ready)
    })
}

fn tasks<'r, 's>(discovery: &'r Discovery, options: &'s ReadOptions) -> Vec<Task<'r, 's>> {
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

/// A page whose items are left as text.
#[derive(Deserialize)]
struct RawPage<'a> {
    #[serde(default)]
    metadata: PageMeta,
    #[serde(borrow, default)]
    items: Vec<&'a serde_json::value::RawValue>,
}

/// The list metadata ferry reads: the `continue` token.
#[derive(Deserialize, Default)]
pub(crate) struct PageMeta {
    #[serde(rename = "continue", default)]
    pub(crate) continue_token: Option<String>,
}

/// Follows `continue` tokens to the end, handing each page's items to `page`; an expired token
/// (410) restarts the list once. Returns what `page` made of each page, and the bytes received.
async fn list_all<'r, T: ListItem, U>(
    connection: &Connection,
    task: &Task<'r, '_>,
    options: &ReadOptions,
    progress: &dyn Progress,
    page: &impl Fn(&'r Resource, Vec<T>) -> U,
) -> Result<(Vec<U>, u64), Failure> {
    let fail = |error| Failure { resource: task.resource.qualified(), namespace: task.namespace.map(str::to_owned), error };
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("limit", &options.page_size.to_string());
    if let Some(selector) = &options.selector {
        query.append_pair("labelSelector", selector);
    }
    let base = format!("{}?{}", task.resource.list_path(task.namespace), query.finish());
    let mut restarted = false;
    loop {
        match list_once(connection, &base, task.resource, progress, page).await {
            Ok(done) => return Ok(done),
            Err(error) if error.status() == Some(410) && !restarted => restarted = true,
            Err(error) => return Err(fail(error)),
        }
    }
}

/// Reads the collection at `base` page by page: each page is asked for as soon as the page
/// before has given its `continue` token, so that the server works on it while the page
/// before is made into objects and handed to `page`.
async fn list_once<'r, T: ListItem, U>(
    connection: &Connection,
    base: &str,
    resource: &'r Resource,
    progress: &dyn Progress,
    page: &impl Fn(&'r Resource, Vec<T>) -> U,
) -> Result<(Vec<U>, u64), RequestError> {
    let (mut made, mut bytes) = (Vec::new(), 0);
    let mut next = Some(Fetch::start(&connection.client, base.to_owned()));
    while let Some(fetch) = next.take() {
        let (path, body) = fetch.finish().await?;
        bytes += body.len() as u64;
        let (items, token) = T::split(&body).map_err(|e| invalid_list(&path, &e))?;
        next = token.filter(|t| !t.is_empty()).map(|token| Fetch::start(&connection.client, continued(base, &token)));
        let objects = T::items(items, resource, &connection.context).map_err(|e| invalid_list(&path, &e))?;
        progress.page(resource, objects.len());
        made.push(page(resource, objects));
    }
    Ok((made, bytes))
}

/// A GET sent at once from a task of its own, so that it goes on while its sender works;
/// aborted when dropped before it is finished.
struct Fetch {
    path: String,
    task: tokio::task::JoinHandle<Result<bytes::Bytes, RequestError>>,
}

impl Fetch {
    fn start(client: &kube::Client, path: String) -> Fetch {
        let (client, sent) = (client.clone(), path.clone());
        Fetch { path, task: tokio::spawn(async move { send(&client, http::Method::GET, &sent, JSON, None).await }) }
    }

    /// The path asked for and the body of the answer.
    async fn finish(mut self) -> Result<(String, bytes::Bytes), RequestError> {
        let body = (&mut self.task).await.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?;
        Ok((std::mem::take(&mut self.path), body))
    }
}

impl Drop for Fetch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The path of the page after the one that gave `token`.
fn continued(base: &str, token: &str) -> String {
    format!("{base}&continue={}", form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>())
}

/// GETs the collection at `base` (a path with a query, `limit` included)
/// page by page, handing each page's path and body to `page`, which returns
/// the page's `continue` token; stops at the first page without one.
pub(crate) async fn paginate(
    client: &kube::Client,
    base: &str,
    accept: &str,
    mut page: impl FnMut(&str, &[u8]) -> Result<Option<String>, RequestError>,
) -> Result<(), RequestError> {
    let mut path = base.to_owned();
    loop {
        let body = send(client, http::Method::GET, &path, accept, None).await?;
        match page(&path, &body)?.filter(|t| !t.is_empty()) {
            Some(token) => path = continued(base, &token),
            None => return Ok(()),
        }
    }
}

/// A 2xx list answer that is not a list.
pub(crate) fn invalid_list(path: &str, error: &serde_json::Error) -> RequestError {
    RequestError::invalid_response(http::Method::GET, path, format!("invalid list response: {error}"))
}

/// A list item as an object: items of built-in lists carry no `apiVersion`
/// and `kind`, so they are added from the resource; evidence points at the
/// object in the cluster (`CONTEXT:RESOURCE/NAMESPACE/NAME`, no line).
fn to_object(mut item: Node, api_version: &str, kind: &str, resource: &str, context: &str) -> Object {
    ferry_model::raw::complete_list_item(&mut item, api_version, kind);
    let namespace = item.at(&["metadata", "namespace"]).and_then(Node::as_str).unwrap_or("-");
    let name = item.at(&["metadata", "name"]).and_then(Node::as_str).unwrap_or("(unnamed)");
    let file: Arc<str> = format!("{context}:{resource}/{namespace}/{name}").into();
    Object::from_root(item, Origin { file, document: 1, line: 0 })
}

#[cfg(test)]
mod tests {
    use futures::FutureExt as _;

    use super::*;

    #[test]
    fn items_come_out_in_index_order_as_soon_as_every_item_before_them_has_come() {
        let (tagged, received) = futures::channel::mpsc::unbounded();
        let mut ordered = pin!(in_order(received));
        let mut next = || ordered.next().now_or_never();
        tagged.unbounded_send((1, 'b')).unwrap();
        assert_eq!(next(), None, "b waits for a");
        tagged.unbounded_send((0, 'a')).unwrap();
        assert_eq!((next(), next()), (Some(Some('a')), Some(Some('b'))));
        tagged.unbounded_send((3, 'd')).unwrap();
        assert_eq!(next(), None, "d waits for c");
        tagged.unbounded_send((2, 'c')).unwrap();
        tagged.unbounded_send((4, 'e')).unwrap();
        assert_eq!((next(), next(), next()), (Some(Some('c')), Some(Some('d')), Some(Some('e'))));
        drop(tagged);
        assert_eq!(next(), Some(None), "ends with its input");
    }
}
