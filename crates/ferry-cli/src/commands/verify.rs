//! `ferry verify`: the source, what the transformation makes of it, and the target,
//! compared object by object; then the target's readiness; one verdict.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::time::{Duration, Instant};

use ferry_cluster::fetch::{self, Collections, Fetched, Kept, Prefetched};
use ferry_cluster::{ConnectOptions, Connection, Discovery, Resource};
use ferry_model::ObjectId;
use ferry_verify::{Compared, Difference, Expectation, Finding, Problem, Readiness, Report, Saved, State, Verdict, evidence};
use futures::StreamExt as _;
use rayon::prelude::*;
use serde_json::Value;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::args::{SummaryFormat, VerifyCommand};
use crate::commands::sources::{self, Plan, Source};
use crate::commands::{cluster, pipeline};
use crate::error::{CliError, ExitStatus};

/// How often readiness is read again while waiting.
const POLL: Duration = Duration::from_secs(2);
/// Collections read from the target at once.
const CONCURRENCY: usize = 16;
/// The label that ties an EndpointSlice to its Service.
const SERVICE_NAME: &str = "kubernetes.io/service-name";

/// Verifies the migration and picks the exit status from the verdict.
pub fn run(command: VerifyCommand) -> Result<ExitStatus, CliError> {
    crate::memory::keep_freed_pages();
    let rules = pipeline::rules(&command.transform)?;
    let evidence = read_evidence(&command)?;
    cluster::runtime()?.block_on(async {
        // The target is opened, and the collections of the objects found so far are listed,
        // while the source is read: neither waits for the other.
        let (found, ids) = tokio::sync::mpsc::unbounded_channel::<ObjectId>();
        let read = sources::read(&command.source, &command.archive, move |id| drop(found.send(id.clone())));
        let (source, opened) = tokio::join!(read, open_target_and_prefetch(&command.target, ids));
        let Source { objects: sources, described, generated, unreadable, .. } = source?;
        let (target, discovery, prefetched) = opened?;
        let options = ferry_transform::Options { target_version: pipeline::target_version(&command.transform, &target.server_version)?, rules };
        let expected = Expected::new(Plan::new(sources, &options), generated);
        let report = check_until(&target, &discovery, &expected, &evidence, prefetched, Instant::now() + command.wait).await;
        let checked_at = jiff::Timestamp::now();
        for line in &unreadable {
            eprintln!("warning: source not read completely: {line}");
        }
        let target = format!("context `{}` ({}, Kubernetes {})", target.context, target.server, target.server_version);
        let status = status(&report, &unreadable);
        let saved = Saved::new(described, target, checked_at.to_string(), report);
        pipeline::to_stdout(|out| print(out, &saved, command.output))?;
        // The process ends with this command: freeing two copies of every object would only
        // delay its exit (4 % of the samples of a profiled run with 10,000 objects).
        std::mem::forget(expected);
        Ok(status)
    })
}

/// Connects to the target, discovers it, and lists the collections of the source objects `ids`
/// brings (at the source's versions; those the transformation moves elsewhere are listed again
/// when compared) until the source is read.
async fn open_target_and_prefetch(options: &ConnectOptions, ids: UnboundedReceiver<ObjectId>) -> Result<(Connection, Discovery, Prefetched), CliError> {
    let target = cluster::connect(options).await?;
    let discovery = cluster::discover(&target, options).await?;
    let ids = futures::stream::unfold(ids, |mut ids| async move { ids.recv().await.map(|id| (id, ids)) });
    let prefetched = fetch::prefetch(&target, &discovery, ids, CONCURRENCY, &kept).await;
    Ok((target, discovery, prefetched))
}

/// How much of the target's objects of `resource` the comparison needs ([`sources::kept`]).
fn kept(resource: &Resource) -> Kept {
    sources::kept(&resource.group, &resource.kind)
}

fn status(report: &Report, unreadable: &[String]) -> ExitStatus {
    if !unreadable.is_empty() {
        return ExitStatus::IncompleteInput;
    }
    match report.verdict() {
        Verdict::Ready => ExitStatus::Success,
        Verdict::Differences => ExitStatus::Blockers,
        Verdict::NotReady => ExitStatus::NotReady,
    }
}

fn read_evidence(command: &VerifyCommand) -> Result<Vec<ferry_verify::Check>, CliError> {
    let mut checks = Vec::new();
    for path in &command.evidence {
        let what = || format!("cannot use the evidence file `{}`", path.display());
        let text = std::fs::read_to_string(path).map_err(|e| CliError::failure(what(), &e))?;
        checks.extend(evidence::parse(&text).map_err(|e| CliError::failure(what(), &e))?);
    }
    Ok(checks)
}

/// What the target should hold, ready to be compared with what it holds.
struct Expected {
    /// The target identities of `expectations`, in the same order.
    ids: Vec<ObjectId>,
    /// Each object's source copy and transformed copy, in normal form.
    expectations: Vec<Expectation>,
    /// Source objects that cannot go to the target, with why.
    blocked: Vec<Finding<Problem>>,
    /// Source objects left out on purpose (by the transformation, or as made by Kubernetes).
    left_out: usize,
}

impl Expected {
    /// Brings the plan's objects to normal form once (on every core), for every check.
    fn new(plan: Plan, generated: usize) -> Expected {
        let Plan { objects, ids, blocked, left_out } = plan;
        let expectations = objects.into_par_iter().map(|planned| Expectation::with_normal_source(planned.source, planned.expected)).collect();
        Expected { ids, expectations, blocked, left_out: left_out + generated }
    }
}

/// Checks, and while everything is at parity but something is not ready, checks again every
/// [`POLL`] and once more at `deadline`.
async fn check_until(
    target: &Connection,
    discovery: &Discovery,
    expected: &Expected,
    evidence: &[ferry_verify::Check],
    prefetched: Prefetched,
    deadline: Instant,
) -> Report {
    let mut report = check(target, discovery, expected, evidence, prefetched).await;
    while report.verdict() == Verdict::NotReady
        && let Some(left) = deadline.checked_duration_since(Instant::now()).filter(|left| !left.is_zero())
    {
        eprintln!("waiting: {} objects not ready yet", report.not_ready());
        tokio::time::sleep(POLL.min(left)).await;
        report = check(target, discovery, expected, evidence, Prefetched::default()).await;
    }
    report
}

/// Reads the target's copies, and the endpoints of its Services; then, on every core, reads
/// each copy's readiness and compares it (bringing it to normal form in place, without a copy).
async fn check(target: &Connection, discovery: &Discovery, expected: &Expected, evidence: &[ferry_verify::Check], prefetched: Prefetched) -> Report {
    let Collections { fetched, others } = fetch::read_collections(target, discovery, &expected.ids, CONCURRENCY, prefetched, &kept).await;
    let mut report = Report { left_out: expected.left_out, problems: expected.blocked.clone(), evidence: evidence.to_vec(), ..Default::default() };
    report.add_extra(others);
    let running = expected.ids.iter().zip(&fetched).filter_map(|(id, fetched)| match fetched {
        Fetched::Found(actual) => Some((id, actual)),
        _ => None,
    });
    let endpoints = Endpoints::read(target, discovery, running).await;
    let checked: Vec<(Result<Compared, String>, Option<Readiness>)> = expected
        .expectations
        .par_iter()
        .zip(&expected.ids)
        .zip(fetched)
        .map(|((expectation, id), fetched)| match fetched {
            Fetched::Found(actual) => {
                let readiness = endpoints.readiness(id, &actual);
                (Ok(expectation.compare(Some(actual))), readiness)
            }
            Fetched::Absent => (Ok(expectation.compare(None)), None),
            Fetched::Unreadable(why) => (Err(why), None),
        })
        .collect();
    for (id, (compared, readiness)) in expected.ids.iter().zip(checked) {
        match compared {
            Ok(compared) => report.add(id, compared),
            Err(why) => report.problems.push(Finding { object: id.clone(), found: Problem { reason: format!("cannot be read on the target: {why}") } }),
        }
        report.readiness.extend(readiness.map(|found| Finding { object: id.clone(), found }));
    }
    report
}

/// The EndpointSlices (and, for Services without any, the Endpoints objects) of the namespaces
/// whose Services select Pods: one list per namespace, not one per Service.
struct Endpoints {
    /// Per namespace: its slices by Service name and its Endpoints objects by name, or why they could not be read.
    namespaces: HashMap<String, Result<NamespaceEndpoints, String>>,
}

/// One namespace's EndpointSlices by Service name, and its Endpoints objects by name.
struct NamespaceEndpoints {
    slices: HashMap<String, Vec<Value>>,
    objects: HashMap<String, Value>,
}

impl Endpoints {
    /// Reads the endpoints of the Services among the target's copies `running`.
    async fn read<'a>(target: &Connection, discovery: &Discovery, running: impl Iterator<Item = (&'a ObjectId, &'a Value)>) -> Endpoints {
        let mut services: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (id, actual) in running {
            if let (Some(_), Some(namespace)) = (ferry_verify::endpoint_selector(actual), id.namespace.as_deref()) {
                services.entry(namespace).or_default().push(&id.name);
            }
        }
        let read = futures::stream::iter(services)
            .map(|(namespace, services)| async move { (namespace.to_owned(), read_namespace(target, discovery, namespace, &services).await) })
            .buffer_unordered(CONCURRENCY);
        Endpoints { namespaces: read.collect().await }
    }

    /// The readiness of the target's copy `actual` of `id`, if its kind has one.
    fn readiness(&self, id: &ObjectId, actual: &Value) -> Option<Readiness> {
        match self.ready(id, actual) {
            Ok(ready) => ferry_verify::readiness(actual, ready),
            Err(why) => Some(Readiness { state: State::NotReady, detail: format!("cannot read its endpoints: {why}") }),
        }
    }

    /// Ready endpoints of `service` (0 for anything that is not a Service selecting Pods).
    fn ready(&self, service: &ObjectId, actual: &Value) -> Result<usize, String> {
        let (Some(_), Some(namespace)) = (ferry_verify::endpoint_selector(actual), service.namespace.as_deref()) else { return Ok(0) };
        let read = self.namespaces.get(namespace).ok_or("its namespace was not read")?.as_ref().map_err(String::clone)?;
        Ok(ferry_verify::ready_endpoints(read.slices.get(&service.name).map_or(&[][..], Vec::as_slice), read.objects.get(&service.name)))
    }
}

/// One namespace's EndpointSlices by the Service they belong to, and its Endpoints objects
/// when one of `services` has no slice.
async fn read_namespace(target: &Connection, discovery: &Discovery, namespace: &str, services: &[&str]) -> Result<NamespaceEndpoints, String> {
    let named = |items: Vec<Value>, label: &str| -> Vec<(String, Value)> {
        items.into_iter().filter_map(|item| Some((item.pointer(label)?.as_str()?.to_owned(), item))).collect()
    };
    let mut slices: HashMap<String, Vec<Value>> = HashMap::new();
    if let Some(resource) = fetch::preferred(discovery, "discovery.k8s.io", "EndpointSlice") {
        let items = fetch::list(target, resource, Some(namespace), SERVICE_NAME, Kept::WithoutManagedFields).await.map_err(|e| e.to_string())?;
        for (service, slice) in named(items, "/metadata/labels/kubernetes.io~1service-name") {
            slices.entry(service).or_default().push(slice);
        }
    }
    let objects = match fetch::preferred(discovery, "", "Endpoints").filter(|_| services.iter().any(|s| !slices.contains_key(*s))) {
        Some(resource) => {
            named(fetch::list(target, resource, Some(namespace), "", Kept::WithoutManagedFields).await.map_err(|e| e.to_string())?, "/metadata/name")
                .into_iter()
                .collect()
        }
        None => HashMap::new(),
    };
    Ok(NamespaceEndpoints { slices, objects })
}

fn print(out: &mut dyn Write, saved: &Saved, format: SummaryFormat) -> std::io::Result<()> {
    match format {
        SummaryFormat::Json | SummaryFormat::Yaml => pipeline::write_structured(out, saved, format == SummaryFormat::Yaml),
        SummaryFormat::Table => print_table(out, saved),
    }
}

fn print_table(out: &mut dyn Write, saved: &Saved) -> std::io::Result<()> {
    let report = &saved.report;
    writeln!(out, "verified source {} against target {}", saved.source, saved.target)?;
    writeln!(
        out,
        "parity: {}/{} objects (explained: {} transformed as expected, {} with defaults the target filled in; {} source objects left out on purpose)",
        report.at_parity, report.compared, report.transformed, report.defaulted, report.left_out
    )?;
    if !report.differences.is_empty() || !report.problems.is_empty() {
        writeln!(out, "differences:")?;
    }
    for finding in &report.differences {
        writeln!(out, "  {}", difference(finding))?;
    }
    for problem in &report.problems {
        writeln!(out, "  problem          {}: {}", name(&problem.object), problem.found.reason)?;
    }
    let count = |state| report.readiness.iter().filter(|r| r.found.state == state).count();
    writeln!(out, "readiness: {} ready, {} not ready, {} unknown", count(State::Ready), count(State::NotReady), count(State::Unknown))?;
    for finding in report.readiness.iter().filter(|r| r.found.state != State::Ready) {
        let label = if finding.found.state == State::NotReady { "not ready" } else { "unknown" };
        writeln!(out, "  {label:<16} {}: {}", name(&finding.object), finding.found.detail)?;
    }
    if !report.extra.is_empty() {
        writeln!(out, "extra on the target (not sent by the source; not blocking): {}", report.extra.len())?;
    }
    for id in &report.extra {
        writeln!(out, "  extra            {}", name(id))?;
    }
    for check in &report.evidence {
        let object = check.object.as_ref().map(|o| format!(" {}", name(o))).unwrap_or_default();
        writeln!(out, "evidence {}: {}{object}: {}", check.step, if check.passed { "passed" } else { "FAILED" }, check.detail)?;
    }
    let verdict = match report.verdict() {
        Verdict::Ready => "ready for cut-over (parity, everything ready)".to_owned(),
        Verdict::Differences => format!("NOT ready for cut-over: {} unexpected differences, {} problems", report.differences.len(), report.problems.len()),
        Verdict::NotReady => format!("NOT ready for cut-over: at parity, {} objects not ready", report.not_ready()),
    };
    writeln!(out, "verdict: {verdict}")
}

fn name(id: &ObjectId) -> String {
    format!("{} {id}", id.api_version)
}

fn difference(finding: &Finding<Difference>) -> String {
    let object = name(&finding.object);
    match &finding.found {
        Difference::Missing => format!("missing          {object}: not on the target"),
        Difference::Changed { path, expected, actual } => {
            format!("changed          {object} {path}: expected {}, target has {}", shown(expected.as_ref()), shown(actual.as_ref()))
        }
        Difference::NotTransformed { path, expected, actual } => {
            format!("not transformed  {object} {path}: expected {}, target has the source's {}", shown(expected.as_ref()), shown(actual.as_ref()))
        }
    }
}

/// A value in one line, at most 80 characters (Secret values arrive masked).
fn shown(value: Option<&Value>) -> String {
    let Some(value) = value else { return "nothing".to_owned() };
    let text = value.to_string();
    match text.char_indices().nth(80) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use ferry_images::ImageEvidence;
    use ferry_verify::evidence;
    use ferry_volumes::cluster::{ClaimEvidence, EVIDENCE_FORMAT, Evidence};
    use serde_json::json;

    #[test]
    fn the_evidence_ferry_volumes_and_ferry_images_write_is_read() {
        let claim =
            |name: &str, equal| ClaimEvidence { namespace: "shop".into(), name: name.into(), equal, mismatch_count: u64::from(!equal), ..Default::default() };
        let volumes = Evidence { format: EVIDENCE_FORMAT.into(), run: "r1".into(), claims: vec![claim("data", true), claim("logs", false)] };
        let checks = evidence::parse(&serde_json::to_string(&volumes).unwrap()).unwrap();
        assert_eq!(checks.iter().map(|c| (c.object.as_ref().unwrap().name.as_str(), c.passed)).collect::<Vec<_>>(), [("data", true), ("logs", false)]);

        let copied = ImageEvidence { source: "a.io/web:1".into(), target: "b.io/web:1".into(), verified: true, ..Default::default() };
        let failed = ImageEvidence { source: "a.io/db:1".into(), target: "b.io/db:1".into(), error: Some("not found".into()), ..Default::default() };
        let images = json!({"schema": ferry_images::copy::EVIDENCE_SCHEMA, "images": [copied, failed]});
        let checks = evidence::parse(&images.to_string()).unwrap();
        assert_eq!(checks.iter().map(|c| (c.step.as_str(), c.passed)).collect::<Vec<_>>(), [("images", true), ("images", false)]);
    }
}
