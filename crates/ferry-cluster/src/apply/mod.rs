//! Applying objects to a target cluster: in dependency order, server-side
//! apply with field manager `ferry`, bounded concurrency and retries, a
//! journal for `--resume`, and every outcome collected.
//!
//! Steps come from `data/apply-order.yaml` ([`order`]). Before the first step
//! the target is discovered and the collections the objects go to are listed
//! (metadata only) so that each outcome can be told apart: created, updated,
//! unchanged (server-side apply of identical content keeps the
//! resourceVersion), skipped, failed. If the target stops answering, the run
//! ends after the current step and the rest is reported as not attempted; the
//! journal then lets `--resume` finish the job.

pub mod journal;
pub mod order;
mod redact;
pub(crate) mod target;

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

use ferry_model::ObjectId;
use futures::StreamExt as _;
use serde_json::{Value, json};

use crate::discovery::{Discovery, discover};
use crate::request::{JSON, Payload, RequestError, get_json, send};
use crate::{ClusterError, Connection};
pub use journal::{Journal, JournalError};
pub use order::{Step, Wait, plan};
use target::{Existing as Present, FIELD_MANAGER, Key, existing, key, locate, namespace_key};

/// One object to apply, kept as the JSON text of its request, so that a whole run in
/// memory costs about the size of its objects' text, not of their parsed trees.
#[derive(Debug, Clone)]
pub struct ApplyObject {
    /// Its identity (as it will be on the target).
    pub id: ObjectId,
    /// The object as JSON, readied for server-side apply.
    body: Box<[u8]>,
}

impl ApplyObject {
    /// An object transformed for the target (`id` is its identity), readied for server-side apply once, before any
    /// request: the fields that would make it a failed precondition (a stale resourceVersion
    /// or uid) go, and the 1.20 Service-port workaround is applied.
    pub fn new(id: ObjectId, mut object: Value) -> ApplyObject {
        if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            for field in ["resourceVersion", "uid", "managedFields"] {
                meta.shift_remove(field);
            }
        }
        if id.kind == "Service" && id.group().is_empty() {
            default_port_protocols(&mut object);
        }
        let body = serde_json::to_vec(&object).expect("JSON values serialize").into_boxed_slice();
        ApplyObject { id, body }
    }

    /// The object's JSON text, as it is sent.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The object, parsed from its text (which fails only for objects nested deeper than
    /// serde_json reads, 128 levels).
    pub fn object(&self) -> Result<Value, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

/// What to do with objects that exist on the target already.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IfExists {
    /// Leave them as they are.
    Skip,
    /// Server-side apply over them (fields others manage are kept).
    #[default]
    Update,
    /// Refuse to start if any exists that ferry did not apply itself.
    Fail,
}

/// How to apply.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Server-side dry run: the server validates and defaults, nothing is stored.
    pub dry_run: bool,
    /// What to do with objects that exist already.
    pub if_exists: IfExists,
    /// Requests in flight at once within a step.
    pub concurrency: usize,
    /// How long to wait for a CustomResourceDefinition to be Established.
    pub establish_timeout: Duration,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions { dry_run: false, if_exists: IfExists::Update, concurrency: 32, establish_timeout: Duration::from_secs(60) }
    }
}

/// What happened to one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It did not exist and was created (or would be, in a dry run).
    Created,
    /// It existed and changed (in a dry run: it exists and would be applied).
    Updated,
    /// It existed with the same content.
    Unchanged,
    /// Not applied, for this reason.
    Skipped(String),
    /// The server refused it, with this message.
    Failed(String),
    /// An earlier, interrupted run applied it (recorded in the journal).
    DoneBefore,
    /// The run stopped before reaching it.
    NotAttempted,
}

impl Outcome {
    /// A one-word label: `created`, `updated`, `unchanged`, `skipped`, `failed`, `done-before`, `not-attempted`.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Updated => "updated",
            Outcome::Unchanged => "unchanged",
            Outcome::Skipped(_) => "skipped",
            Outcome::Failed(_) => "failed",
            Outcome::DoneBefore => "done-before",
            Outcome::NotAttempted => "not-attempted",
        }
    }

    /// Whether the object is on the target as wanted (or was deliberately left alone).
    pub fn is_settled(&self) -> bool {
        !matches!(self, Outcome::Failed(_) | Outcome::NotAttempted)
    }
}

/// One object's result.
#[derive(Debug, Clone)]
pub struct Applied {
    /// The object.
    pub id: ObjectId,
    /// The step it belonged to.
    pub step: String,
    /// What happened.
    pub outcome: Outcome,
}

/// The result of a whole apply.
#[derive(Debug, Default)]
pub struct ApplyReport {
    /// Every object, in the order applied.
    pub results: Vec<Applied>,
    /// Namespaces that were missing on the target and not in the input, created by ferry.
    pub created_namespaces: Vec<String>,
    /// Why the run stopped early, if it did.
    pub stopped: Option<String>,
}

impl ApplyReport {
    /// How many objects had each outcome label, in a fixed order.
    pub fn counts(&self) -> Vec<(&'static str, usize)> {
        let labels = ["created", "updated", "unchanged", "skipped", "done-before", "failed", "not-attempted"];
        labels.iter().map(|&l| (l, self.results.iter().filter(|r| r.outcome.label() == l).count())).collect()
    }

    /// Whether every object is settled and the run was not stopped.
    pub fn is_complete(&self) -> bool {
        self.stopped.is_none() && self.results.iter().all(|r| r.outcome.is_settled())
    }
}

/// Receives progress while objects are applied.
pub trait ApplyProgress: Sync {
    /// Applying starts with `total` objects.
    fn started(&self, _total: usize) {}
    /// A step starts.
    fn step(&self, _name: &str, _objects: usize) {}
    /// One object finished.
    fn applied(&self, _id: &ObjectId, _outcome: &Outcome) {}
}

impl ApplyProgress for () {}

/// Why an apply could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The target could not be discovered or listed.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// The journal could not be used.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// `--existing fail` and objects exist already.
    #[error("{} object(s) already exist on the target, e.g. {}", .0.len(), .0.iter().take(5).map(ToString::to_string).collect::<Vec<_>>().join(", "))]
    Exists(Vec<ObjectId>),
}

/// Applies `objects` to the target in plan order. `wave_of(i)` gives the
/// migration wave of `objects[i]` (workloads of earlier waves go first).
/// Namespaces the objects need that neither the input nor the target has are
/// created first. Outcomes are recorded in `journal` as they arrive; it is
/// marked complete only if every object settled.
pub async fn apply(
    connection: &Connection,
    mut objects: Vec<ApplyObject>,
    wave_of: &dyn Fn(usize) -> Option<usize>,
    options: &ApplyOptions,
    journal: &mut Journal,
    progress: &dyn ApplyProgress,
) -> Result<ApplyReport, ApplyError> {
    let mut discovery = discover(connection).await?;
    let mut report = ApplyReport::default();
    let present = present_objects(connection, &discovery, &objects, options).await?;
    report.created_namespaces = add_missing_namespaces(&mut objects, &present);
    if options.if_exists == IfExists::Fail {
        refuse_existing(&discovery, &objects, &present)?;
    }
    let ids: Vec<ObjectId> = objects.iter().map(|o| o.id.clone()).collect();
    let steps = plan(&ids, wave_of);
    progress.started(objects.len());
    let run = Run { connection, options, present, created_in_run: created_in_run(&objects) };
    for step in &steps {
        progress.step(&step.name, step.objects.len());
        if report.stopped.is_some() {
            record_all(&mut report, &step.name, step.objects.iter().map(|&i| &ids[i]), Outcome::NotAttempted, progress);
            continue;
        }
        let (done, pending): (Vec<usize>, Vec<usize>) = step.objects.iter().partition(|&&i| journal.is_done(&journal_key(&ids[i])));
        for index in done {
            progress.applied(&ids[index], &Outcome::DoneBefore);
            report.results.push(Applied { id: ids[index].clone(), step: step.name.clone(), outcome: Outcome::DoneBefore });
        }
        let mut unanswered: HashSet<usize> = pending.iter().copied().collect();
        {
            // Each outcome is journaled as it arrives, so a kill loses at most the requests in flight.
            let mut outcomes = std::pin::pin!(run.step(&discovery, pending, &objects));
            while let Some((index, outcome)) = outcomes.next().await {
                unanswered.remove(&index);
                if let Outcome::Failed(message) = &outcome
                    && is_unreachable(message)
                {
                    report.stopped = Some(format!("the target stopped answering: {message}"));
                }
                if outcome.is_settled() {
                    journal.record(&journal_key(&ids[index]), outcome.label())?;
                }
                progress.applied(&ids[index], &outcome);
                report.results.push(Applied { id: ids[index].clone(), step: step.name.clone(), outcome });
                if report.stopped.is_some() {
                    break;
                }
            }
        }
        let mut unanswered: Vec<usize> = unanswered.into_iter().collect();
        unanswered.sort_unstable();
        record_all(&mut report, &step.name, unanswered.iter().map(|&i| &ids[i]), Outcome::NotAttempted, progress);
        journal.sync()?;
        if step.wait == Some(Wait::Established) && !options.dry_run && report.stopped.is_none() {
            wait_established(connection, step, &ids, &mut report, options.establish_timeout).await;
            discovery = discover(connection).await?;
        }
    }
    Ok(report)
}

/// The marker the run puts on transport failures, so that it can stop.
const UNREACHABLE: &str = "(target unreachable)";

fn is_unreachable(message: &str) -> bool {
    message.ends_with(UNREACHABLE)
}

fn record_all<'a>(report: &mut ApplyReport, step: &str, ids: impl Iterator<Item = &'a ObjectId>, outcome: Outcome, progress: &dyn ApplyProgress) {
    for id in ids {
        progress.applied(id, &outcome);
        report.results.push(Applied { id: id.clone(), step: step.to_owned(), outcome: outcome.clone() });
    }
}

/// The journal's name for an object: `group/Kind/namespace/name`.
pub fn journal_key(id: &ObjectId) -> String {
    format!("{}/{}/{}/{}", id.group(), id.kind, id.namespace.as_deref().unwrap_or(""), id.name)
}

/// Objects this run creates that others need: CRDs (group/kind they define) and namespaces.
struct CreatedInRun {
    kinds: HashSet<(String, String)>,
    namespaces: HashSet<String>,
}

fn created_in_run(objects: &[ApplyObject]) -> CreatedInRun {
    let defined_kind = |crd: &Value| {
        let group = crd.pointer("/spec/group").and_then(Value::as_str)?;
        let kind = crd.pointer("/spec/names/kind").and_then(Value::as_str)?;
        Some((group.to_owned(), kind.to_owned()))
    };
    CreatedInRun {
        kinds: objects.iter().filter(|o| o.id.kind == "CustomResourceDefinition").filter_map(|o| defined_kind(&o.object().ok()?)).collect(),
        namespaces: objects.iter().filter(|o| o.id.kind == "Namespace" && o.id.group().is_empty()).map(|o| o.id.name.clone()).collect(),
    }
}

/// What a step needs from the run.
struct Run<'a> {
    connection: &'a Connection,
    options: &'a ApplyOptions,
    present: HashMap<Key, Present>,
    created_in_run: CreatedInRun,
}

impl Run<'_> {
    /// Applies objects in parallel; outcomes come out in completion order.
    fn step<'s>(&'s self, discovery: &'s Discovery, indices: Vec<usize>, objects: &'s [ApplyObject]) -> impl futures::Stream<Item = (usize, Outcome)> + 's {
        futures::stream::iter(indices)
            .map(move |index| async move { (index, self.apply_one(discovery, &objects[index]).await) })
            .buffer_unordered(self.options.concurrency.max(1))
    }

    async fn apply_one(&self, discovery: &Discovery, object: &ApplyObject) -> Outcome {
        let (resource, namespace) = match locate(discovery, &object.id) {
            Ok(location) => location,
            Err(_) if self.options.dry_run && self.defined_in_run(&object.id) => {
                return Outcome::Skipped("its CustomResourceDefinition is created by this run, which a dry run does not do".into());
            }
            Err(why) => return Outcome::Failed(why),
        };
        let before = self.present.get(&key(resource, namespace.clone(), &object.id.name));
        if before.is_some() && self.options.if_exists == IfExists::Skip {
            return Outcome::Skipped("exists on the target (--existing skip)".into());
        }
        if self.options.dry_run
            && namespace.as_ref().is_some_and(|ns| self.created_in_run.namespaces.contains(ns))
            && !self.namespace_exists(namespace.as_deref())
        {
            return Outcome::Skipped(format!("namespace {} is created by this run, which a dry run does not do", namespace.unwrap_or_default()));
        }
        let path = format!(
            "{}/{}?fieldManager={FIELD_MANAGER}&force=true{}",
            resource.list_path(namespace.as_deref()),
            object.id.name,
            if self.options.dry_run { "&dryRun=All" } else { "" }
        );
        let body = match request_body(object, namespace.as_deref()) {
            Ok(body) => body,
            Err(e) => return Outcome::Failed(format!("cannot name its namespace in the request: {e}")),
        };
        let payload = Payload { content_type: "application/apply-patch+yaml", bytes: &body };
        match send(&self.connection.client, http::Method::PATCH, &path, JSON, Some(&payload)).await {
            Ok(response) => outcome_of(&response, before, self.options.dry_run),
            Err(error) => Outcome::Failed(failure_message(&error, &object.id)),
        }
    }

    fn defined_in_run(&self, id: &ObjectId) -> bool {
        self.created_in_run.kinds.contains(&(id.group().to_owned(), id.kind.clone()))
    }

    fn namespace_exists(&self, namespace: Option<&str>) -> bool {
        namespace.is_some_and(|ns| self.present.contains_key(&namespace_key(ns)))
    }
}

/// The reason a request for `id` failed; about a Secret, without the values the server may quote.
fn failure_message(error: &RequestError, id: &ObjectId) -> String {
    if error.is_unreachable() {
        format!("{error} {UNREACHABLE}")
    } else if id.kind == "Secret" && id.group().is_empty() {
        redact::secret_message(&error.message, &id.name)
    } else {
        error.message.clone()
    }
}

/// created / updated / unchanged, from what was there before and the response.
fn outcome_of(response: &[u8], before: Option<&Present>, dry_run: bool) -> Outcome {
    let Some(before) = before else { return Outcome::Created };
    if dry_run {
        return Outcome::Updated;
    }
    let after = serde_json::from_slice::<Value>(response).ok().and_then(|v| v.pointer("/metadata/resourceVersion").and_then(Value::as_str).map(str::to_owned));
    if after.as_deref() == Some(before.resource_version.as_str()) { Outcome::Unchanged } else { Outcome::Updated }
}

/// The request body: the object's text, or, for an object of a namespaced kind that names
/// no namespace, a copy that names the one it goes to.
fn request_body<'a>(object: &'a ApplyObject, namespace: Option<&str>) -> Result<Cow<'a, [u8]>, serde_json::Error> {
    match namespace {
        Some(ns) if object.id.namespace.as_deref() != Some(ns) => {
            let mut copy = object.object()?;
            if let Some(meta) = copy.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.insert("namespace".into(), Value::String(ns.to_owned()));
            }
            serde_json::to_vec(&copy).map(Cow::Owned)
        }
        _ => Ok(Cow::Borrowed(object.body())),
    }
}

/// Kubernetes before 1.21 rejects a server-side apply of a Service whose
/// ports omit `protocol` (kubernetes#89324, an HTTP 500 about an associative
/// list key); `TCP` is the default the server would fill in anyway.
fn default_port_protocols(service: &mut Value) {
    let Some(ports) = service.pointer_mut("/spec/ports").and_then(Value::as_array_mut) else { return };
    for port in ports.iter_mut().filter_map(Value::as_object_mut) {
        port.entry("protocol").or_insert_with(|| Value::String("TCP".into()));
    }
}

/// Lists what is on the target in every collection the objects go to, plus namespaces.
async fn present_objects(
    connection: &Connection,
    discovery: &Discovery,
    objects: &[ApplyObject],
    options: &ApplyOptions,
) -> Result<HashMap<Key, Present>, ApplyError> {
    let mut collections = BTreeSet::new();
    let namespaces = ObjectId { api_version: "v1".into(), kind: "Namespace".into(), namespace: None, name: String::new() };
    for id in objects.iter().map(|o| &o.id).chain([&namespaces]) {
        if let Ok((resource, namespace)) = locate(discovery, id) {
            collections.insert((resource.clone(), namespace));
        }
    }
    existing(connection, collections, options.concurrency).await.map_err(|e| ApplyError::Cluster(e.into()))
}

/// Adds a Namespace object for every namespace the objects use that neither
/// they nor the target have; returns the names.
fn add_missing_namespaces(objects: &mut Vec<ApplyObject>, present: &HashMap<Key, Present>) -> Vec<String> {
    let declared: HashSet<&str> = objects.iter().filter(|o| o.id.kind == "Namespace" && o.id.group().is_empty()).map(|o| o.id.name.as_str()).collect();
    let used: BTreeSet<String> = objects.iter().filter_map(|o| o.id.namespace.clone()).collect();
    let missing: Vec<String> = used.into_iter().filter(|ns| !declared.contains(ns.as_str()) && !present.contains_key(&namespace_key(ns))).collect();
    for ns in &missing {
        let id = ObjectId { api_version: "v1".into(), kind: "Namespace".into(), namespace: None, name: ns.clone() };
        objects.push(ApplyObject::new(id, json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})));
    }
    missing
}

/// `--existing fail`: objects on the target that ferry did not put there stop the run before it starts.
fn refuse_existing(discovery: &Discovery, objects: &[ApplyObject], present: &HashMap<Key, Present>) -> Result<(), ApplyError> {
    let clashes: Vec<ObjectId> = objects
        .iter()
        .filter(|o| {
            locate(discovery, &o.id).is_ok_and(|(resource, namespace)| present.get(&key(resource, namespace, &o.id.name)).is_some_and(|p| !p.applied_by_ferry))
        })
        .map(|o| o.id.clone())
        .collect();
    if clashes.is_empty() { Ok(()) } else { Err(ApplyError::Exists(clashes)) }
}

/// Waits until every CRD the step created reports Established; one that does
/// not in time has its outcome turned into a failure.
async fn wait_established(connection: &Connection, step: &Step, ids: &[ObjectId], report: &mut ApplyReport, timeout: Duration) {
    let deadline = tokio::time::Instant::now() + timeout;
    let settled: HashSet<ObjectId> =
        report.results.iter().filter(|r| r.outcome.is_settled() && !matches!(r.outcome, Outcome::Skipped(_))).map(|r| r.id.clone()).collect();
    for &index in step.objects.iter().filter(|&&i| settled.contains(&ids[i])) {
        let name = &ids[index].name;
        let path = format!("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}");
        let last = loop {
            let status = get_json::<Value>(&connection.client, &path).await.map(|crd| established(&crd));
            match status {
                Ok(Ok(())) => break None,
                Ok(Err(why)) | Err(RequestError { message: why, .. }) if tokio::time::Instant::now() >= deadline => break Some(why),
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        if let Some(why) = last
            && let Some(result) = report.results.iter_mut().rev().find(|r| r.id == ids[index])
        {
            result.outcome = Outcome::Failed(format!("not Established after {}s: {why}", timeout.as_secs()));
        }
    }
}

/// Ok when the CRD's `Established` condition is `True`, else the condition's message.
fn established(crd: &Value) -> Result<(), String> {
    let conditions = crd.pointer("/status/conditions").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let condition = conditions.iter().find(|c| c.get("type").and_then(Value::as_str) == Some("Established"));
    match condition {
        Some(c) if c.get("status").and_then(Value::as_str) == Some("True") => Ok(()),
        Some(c) => Err(c.get("message").and_then(Value::as_str).unwrap_or("not established yet").to_owned()),
        None => Err("no Established condition yet".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(kind: &str, namespace: Option<&str>, name: &str) -> ObjectId {
        ObjectId { api_version: "v1".into(), kind: kind.into(), namespace: namespace.map(str::to_owned), name: name.into() }
    }

    #[test]
    fn objects_are_kept_readied_for_server_side_apply() {
        let service = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "cart", "namespace": "shop", "uid": "u-1", "resourceVersion": "7"},
            "spec": {"ports": [{"port": 80}, {"port": 53, "protocol": "UDP"}]}});
        let object = ApplyObject::new(id("Service", Some("shop"), "cart"), service).object().unwrap();
        assert_eq!(object["metadata"], json!({"name": "cart", "namespace": "shop"}), "precondition fields go");
        assert_eq!(object["spec"]["ports"], json!([{"port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}]));
    }

    #[test]
    fn the_request_names_the_namespace_only_where_the_object_does_not() {
        let named = ApplyObject::new(
            id("ConfigMap", Some("shop"), "a"),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "shop"}}),
        );
        assert!(matches!(request_body(&named, Some("shop")).unwrap(), Cow::Borrowed(body) if body == named.body()));
        let unnamed = ApplyObject::new(id("ConfigMap", None, "b"), json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}}));
        let body: Value = serde_json::from_slice(&request_body(&unnamed, Some("default")).unwrap()).unwrap();
        assert_eq!(body["metadata"], json!({"name": "b", "namespace": "default"}));
        assert!(matches!(request_body(&unnamed, None).unwrap(), Cow::Borrowed(_)), "cluster-scoped: sent as it is");
    }
}
