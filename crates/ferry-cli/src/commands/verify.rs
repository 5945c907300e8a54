//! `ferry verify`: the source, what the transformation makes of it, and the target,
//! compared object by object; then the target's readiness; one verdict.

use std::io::Write;
use std::time::{Duration, Instant};

use ferry_cluster::fetch::{self, Fetched};
use ferry_cluster::{Connection, Discovery};
use ferry_model::ObjectId;
use ferry_verify::{Difference, Finding, Readiness, Report, State, Verdict, evidence};
use serde::Serialize;
use serde_json::Value;

use crate::args::{SummaryFormat, VerifyCommand};
use crate::commands::sources::{self, Plan, Source};
use crate::commands::{cluster, pipeline};
use crate::error::{CliError, ExitStatus};

/// How often readiness is read again while waiting.
const POLL: Duration = Duration::from_secs(2);
/// Objects read from the target at once.
const CONCURRENCY: usize = 16;

/// Verifies the migration and picks the exit status from the verdict.
pub fn run(command: VerifyCommand) -> Result<ExitStatus, CliError> {
    let rules = pipeline::rules(&command.transform)?;
    let evidence = read_evidence(&command)?;
    cluster::runtime()?.block_on(async {
        let Source { objects: sources, described, generated, unreadable, .. } = sources::read(&command.source, &command.archive).await?;
        let target = cluster::connect(&command.target).await?;
        let discovery = cluster::discover(&target, &command.target).await?;
        let options = ferry_transform::Options { target_version: pipeline::target_version(&command.transform, &target.server_version)?, rules };
        let mut plan = Plan::new(sources, &options);
        plan.left_out += generated;
        let report = check_until(&target, &discovery, &plan, &evidence, Instant::now() + command.wait).await;
        for line in &unreadable {
            eprintln!("warning: source not read completely: {line}");
        }
        let header = Header { source: described, target: format!("context `{}` ({}, Kubernetes {})", target.context, target.server, target.server_version) };
        pipeline::to_stdout(|out| print(out, &header, &report, command.output))?;
        Ok(status(&report, &unreadable))
    })
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

/// Checks, and while everything is at parity but something is not ready, checks again every
/// [`POLL`] and once more at `deadline`.
async fn check_until(target: &Connection, discovery: &Discovery, plan: &Plan, evidence: &[ferry_verify::Check], deadline: Instant) -> Report {
    let mut report = check(target, discovery, plan, evidence).await;
    while report.verdict() == Verdict::NotReady
        && let Some(left) = deadline.checked_duration_since(Instant::now()).filter(|left| !left.is_zero())
    {
        eprintln!("waiting: {} objects not ready yet", report.not_ready());
        tokio::time::sleep(POLL.min(left)).await;
        report = check(target, discovery, plan, evidence).await;
    }
    report
}

/// Reads the target's copies and compares them; reads the readiness of those that run.
async fn check(target: &Connection, discovery: &Discovery, plan: &Plan, evidence: &[ferry_verify::Check]) -> Report {
    let fetched = fetch::get_each(target, discovery, &plan.ids, CONCURRENCY).await;
    let mut report = Report { left_out: plan.left_out, problems: plan.blocked.clone(), evidence: evidence.to_vec(), ..Default::default() };
    for (planned, fetched) in plan.objects.iter().zip(fetched) {
        let actual = match fetched {
            Fetched::Found(actual) => actual,
            Fetched::Absent => {
                report.add(&planned.id, ferry_verify::compare(&planned.source, &planned.expected, None));
                continue;
            }
            Fetched::Unreadable(why) => {
                report.problems.push(Finding { object: planned.id.clone(), found: format!("cannot be read on the target: {why}") });
                continue;
            }
        };
        report.add(&planned.id, ferry_verify::compare(&planned.source, &planned.expected, Some(&actual)));
        let endpoints = match ferry_verify::endpoint_selector(&actual) {
            Some(selector) => ready_endpoints(target, discovery, &planned.id, &selector).await,
            None => Ok(0),
        };
        let readiness = match endpoints {
            Ok(endpoints) => ferry_verify::readiness(&actual, endpoints),
            Err(why) => Some(Readiness { state: State::NotReady, detail: format!("cannot read its endpoints: {why}") }),
        };
        report.readiness.extend(readiness.map(|found| Finding { object: planned.id.clone(), found }));
    }
    report
}

/// A Service's ready endpoints: from its EndpointSlices, else from its Endpoints object.
async fn ready_endpoints(target: &Connection, discovery: &Discovery, service: &ObjectId, selector: &str) -> Result<usize, String> {
    let slices = match fetch::preferred(discovery, "discovery.k8s.io", "EndpointSlice") {
        Some(resource) => fetch::list(target, resource, service.namespace.as_deref(), selector).await.map_err(|e| e.to_string())?,
        None => Vec::new(),
    };
    if !slices.is_empty() {
        return Ok(ferry_verify::ready_endpoints(&slices, None));
    }
    let endpoints = ObjectId { api_version: "v1".into(), kind: "Endpoints".into(), ..service.clone() };
    match fetch::get_each(target, discovery, &[endpoints], 1).await.pop() {
        Some(Fetched::Found(endpoints)) => Ok(ferry_verify::ready_endpoints(&[], Some(&endpoints))),
        Some(Fetched::Unreadable(why)) => Err(why),
        _ => Ok(0),
    }
}

/// What was compared with what.
#[derive(Serialize)]
struct Header {
    source: String,
    target: String,
}

/// The JSON report.
#[derive(Serialize)]
struct Output<'a> {
    verdict: Verdict,
    #[serde(flatten)]
    header: &'a Header,
    #[serde(flatten)]
    report: &'a Report,
}

fn print(out: &mut dyn Write, header: &Header, report: &Report, format: SummaryFormat) -> std::io::Result<()> {
    match format {
        SummaryFormat::Json => {
            let output = Output { verdict: report.verdict(), header, report };
            writeln!(out, "{}", serde_json::to_string_pretty(&output).expect("JSON values serialize"))
        }
        SummaryFormat::Table => print_table(out, header, report),
    }
}

fn print_table(out: &mut dyn Write, header: &Header, report: &Report) -> std::io::Result<()> {
    writeln!(out, "verified source {} against target {}", header.source, header.target)?;
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
        writeln!(out, "  problem          {}: {}", name(&problem.object), problem.found)?;
    }
    let count = |state| report.readiness.iter().filter(|r| r.found.state == state).count();
    writeln!(out, "readiness: {} ready, {} not ready, {} unknown", count(State::Ready), count(State::NotReady), count(State::Unknown))?;
    for finding in report.readiness.iter().filter(|r| r.found.state != State::Ready) {
        let label = if finding.found.state == State::NotReady { "not ready" } else { "unknown" };
        writeln!(out, "  {label:<16} {}: {}", name(&finding.object), finding.found.detail)?;
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
