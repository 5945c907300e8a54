//! `ferry smoke`: reads the target's Ingresses and Services, builds the plan with
//! `ferry_smoke` (what to request, where), sends it over HTTPS, prints the report (table or
//! JSON), writes the evidence file and picks the exit code. No logic of its own beyond that.

use std::fmt::Write as _;

use ferry_cluster::{Discovery, Resource};
use ferry_smoke::probe::{Https, Roots};
use ferry_smoke::{Code, Outcome, Plan, Report, Request};
use serde::Serialize;
use serde_json::Value;

use crate::args::{SmokeSettings, SummaryFormat};
use crate::commands::columns::write_columns;
use crate::commands::{cluster, out_file, pipeline};
use crate::error::{CliError, ExitStatus};
use crate::progress::ReadBar;
use crate::terminal::printable;

/// The JSON schema of `ferry smoke -o json`.
const SCHEMA: &str = "ferry.smoke/v1";

/// Runs the smoke test and picks the exit status.
pub fn run(settings: SmokeSettings) -> Result<ExitStatus, CliError> {
    let roots = match &settings.ca_bundle {
        Some(path) => Roots::Bundle(read_file(path, "the CA bundle")?),
        None => Roots::System,
    };
    let checks = match &settings.checks {
        Some(path) => {
            let text = read_file(path, "the checks file")?;
            ferry_smoke::checks::parse(&text, &path.display().to_string())
                .map_err(|e| CliError::failure("invalid checks file", &e).with_hint("the checks file's format is in docs/smoke.md"))?
        }
        None => Vec::new(),
    };
    let (target, unreadable) = cluster::runtime()?.block_on(read_target(&settings))?;
    let plan = plan(&settings, &target, checks)?;
    let transport = Https::new(&roots, settings.timeout).map_err(|e| CliError::failure("cannot send requests", &e))?;
    let report = ferry_smoke::run(&plan, &transport, settings.concurrency);
    for line in &unreadable {
        eprintln!("warning: {}", printable(line));
    }
    if let Some(path) = &settings.out {
        out_file::write(path, |out| pipeline::write_structured(out, &report.evidence(), false))?;
    }
    pipeline::to_stdout(|out| match settings.output {
        SummaryFormat::Table => out.write_all(printable(&table(&report, &target.context)).as_bytes()),
        format @ (SummaryFormat::Json | SummaryFormat::Yaml) => structured(out, &report, &target.context, format),
    })?;
    Ok(if !unreadable.is_empty() {
        ExitStatus::IncompleteInput
    } else if report.failing() {
        ExitStatus::Blockers
    } else {
        ExitStatus::Success
    })
}

fn read_file(path: &std::path::Path, what: &str) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|e| CliError::failure(format!("cannot read {what} `{}`", path.display()), &e))
}

/// What the target holds that the plan needs.
struct Target {
    context: String,
    ingresses: Vec<Value>,
    services: Vec<Value>,
}

/// The target's Ingresses (networking.k8s.io) and Services in the namespaces asked for, and
/// what could not be read.
async fn read_target(settings: &SmokeSettings) -> Result<(Target, Vec<String>), CliError> {
    let connection = cluster::connect(&settings.target).await?;
    let discovery = cluster::discover(&connection, &settings.target).await?;
    let wanted = |r: &&Resource| (r.group == "networking.k8s.io" && r.kind == "Ingress") || (r.group.is_empty() && r.kind == "Service");
    let narrowed = Discovery { resources: discovery.resources.iter().filter(wanted).cloned().collect(), ..Discovery::default() };
    let bar = ReadBar::stderr();
    let snapshot = ferry_cluster::read(&connection, &narrowed, &settings.read, &bar).await;
    bar.finish();
    let (ingresses, services): (Vec<_>, Vec<_>) = snapshot.objects.iter().partition(|o| o.id.kind == "Ingress");
    let json = |objects: Vec<&ferry_model::Object>| objects.into_iter().map(|o| o.root.to_json()).collect();
    let unreadable = cluster::unreadable(&narrowed, &snapshot.failures);
    Ok((Target { context: connection.context, ingresses: json(ingresses), services: json(services) }, unreadable))
}

/// The requests (the Ingresses', then the checks) and where they go: the addresses given, or
/// else those the target's status names.
fn plan(settings: &SmokeSettings, target: &Target, checks: Vec<Request>) -> Result<Plan, CliError> {
    let discovered = ferry_smoke::targets::discover(&target.ingresses, &target.services);
    let mut requests = discovered.requests;
    requests.extend(checks);
    if requests.is_empty() {
        for skipped in &discovered.skipped {
            eprintln!("skipped: {} {}{}: {}", skipped.origin.label(), printable(&skipped.host), printable(&skipped.path), skipped.reason);
        }
        return Err(CliError::could_not_run("nothing to test: no Ingress host is served over TLS and no --checks file was given")
            .with_hint("give --checks FILE (docs/smoke.md), or check --to-context and -n"));
    }
    let (new, notes) = if settings.new.is_empty() { (discovered.routes, discovered.notes) } else { (settings.new.clone(), Vec::new()) };
    Ok(Plan { requests, new, old: settings.old.clone(), skipped: discovered.skipped, notes })
}

/// The report as JSON: the schema, the target's context, then the report.
fn structured(out: &mut dyn std::io::Write, report: &Report, context: &str, format: SummaryFormat) -> std::io::Result<()> {
    #[derive(Serialize)]
    struct Document<'a> {
        schema: &'static str,
        context: &'a str,
        passed: usize,
        failed: usize,
        #[serde(flatten)]
        report: &'a Report,
    }
    let (passed, failed) = report.counts();
    pipeline::write_structured(out, &Document { schema: SCHEMA, context, passed, failed, report }, format == SummaryFormat::Yaml)
}

/// The report for a terminal: one row per request, the problems of those that failed, what
/// was skipped, notes, and a summary line.
fn table(report: &Report, context: &str) -> String {
    let mut out = format!("Smoke test of context `{context}`\n\n");
    let rows: Vec<[String; 6]> = report.outcomes.iter().map(row).collect();
    write_columns(&mut out, ["RESULT", "REQUEST", "FROM", "ADDRESS", "STATUS", "MS"], &rows);
    let failed: Vec<&Outcome> = report.outcomes.iter().filter(|o| !o.passed).collect();
    if !failed.is_empty() {
        out.push_str("\nProblems:\n");
        for outcome in failed {
            let _ = writeln!(out, "  {} {}", outcome.request.method, outcome.request.url());
            for problem in &outcome.problems {
                let _ = writeln!(out, "    {}: {}", code(problem.code), problem.message);
            }
        }
    }
    if !report.skipped.is_empty() {
        out.push_str("\nSkipped:\n");
        for skipped in &report.skipped {
            let host = if skipped.host.is_empty() { "(no host)" } else { skipped.host.as_str() };
            let _ = writeln!(out, "  {} {host}{}: {}", skipped.origin.label(), skipped.path, skipped.reason);
        }
    }
    for note in &report.notes {
        let _ = writeln!(out, "\nnote: {note}");
    }
    let (passed, failed) = report.counts();
    let _ = writeln!(out, "\n{} requests: {passed} passed, {failed} failed; {} skipped", report.outcomes.len(), report.skipped.len());
    out
}

/// A problem's code as the JSON report writes it (`wrong-certificate`).
fn code(code: Code) -> String {
    serde_json::to_value(code).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn row(outcome: &Outcome) -> [String; 6] {
    let new = outcome.new.as_ref();
    let dash = |v: Option<String>| v.unwrap_or_else(|| "-".to_owned());
    [
        if outcome.passed { "ok" } else { "FAIL" }.to_owned(),
        format!("{} {}", outcome.request.method, outcome.request.url()),
        outcome.request.origin.label(),
        dash(new.map(|n| n.address.to_string())),
        dash(new.and_then(|n| n.status).map(|s| s.to_string())),
        dash(new.map(|n| n.latency_ms.to_string())),
    ]
}
