//! `ferry preflight`: read-only checks of a target before migrating to it.

use std::io::Write;
use std::time::Duration;

use ferry_analysis::ExternalEndpoint;
use ferry_cluster::apply::{ApplyObject, ApplyOptions, Journal, Outcome, apply};
use ferry_cluster::fetch;
use ferry_cluster::{Connection, Discovery};
use ferry_model::ObjectId;
use ferry_verify::preflight::{self, Issue, Severity, probe};
use serde::Serialize;
use serde_json::Value;

use crate::args::{PreflightCommand, ProbeSettings, SummaryFormat};
use crate::commands::sources::{self, Plan};
use crate::commands::{cluster, pipeline};
use crate::error::{CliError, ExitStatus};

/// Checks the target for the source's objects, as transformed for it; writes nothing.
pub fn run(command: PreflightCommand) -> Result<ExitStatus, CliError> {
    crate::memory::keep_freed_pages();
    let rules = pipeline::rules(&command.transform)?;
    cluster::runtime()?.block_on(async {
        let source = sources::read(&command.source, &command.archive, |_| {}).await?;
        let target = cluster::connect(&command.target).await?;
        let discovery = cluster::discover(&target, &command.target).await?;
        let options = ferry_transform::Options { target_version: pipeline::target_version(&command.transform, &target.server_version)?, rules };
        let plan = Plan::new(source.objects, &options);
        let facts = target_facts(&target, &discovery).await?;
        let image_issues = match &command.images {
            Some(registries) => images(&plan, &facts.nodes, registries).await,
            None => Vec::new(),
        };
        let blocked =
            plan.blocked.into_iter().map(|b| Issue { severity: Severity::Fail, code: "cannot-migrate", object: Some(b.object), message: b.found.reason });
        let objects: Vec<(ObjectId, Value)> = plan.objects.into_iter().map(|p| (p.id, p.expected)).collect();
        let mut issues: Vec<Issue> = blocked.chain(preflight::check(&objects, &facts, source.version.as_deref())).collect();
        let endpoints = preflight::endpoints::of_objects(&objects);
        issues.extend(preflight::endpoints::check(&endpoints, &target.context));
        if let Some(settings) = &command.probe {
            issues.extend(probe_endpoints(&target, &endpoints, settings).await);
        }
        let dry_run = dry_run(&target, &objects, &issues).await?;
        issues.extend(dry_run);
        issues.extend(image_issues);
        issues.sort_by_key(|issue| issue.severity);
        for line in &source.unreadable {
            eprintln!("warning: source not read completely: {line}");
        }
        let summary = Summary {
            source: source.described,
            target: format!("context `{}` ({}, Kubernetes {})", target.context, target.server, target.server_version),
            objects: objects.len(),
            issues,
        };
        pipeline::to_stdout(|out| print(out, &summary, command.output))?;
        Ok(if !source.unreadable.is_empty() {
            ExitStatus::IncompleteInput
        } else if summary.count(Severity::Fail) > 0 {
            ExitStatus::Blockers
        } else {
            ExitStatus::Success
        })
    })
}

/// How long the probe Pod may take, its image pull included.
const PROBE_TIMEOUT: Duration = Duration::from_secs(120);

/// Tries the endpoints from a probe Pod on the target (deleted afterwards) and reads its findings.
async fn probe_endpoints(target: &Connection, endpoints: &[ExternalEndpoint], settings: &ProbeSettings) -> Vec<Issue> {
    let targets = probe::targets(endpoints, &settings.extra);
    if targets.is_empty() {
        return Vec::new();
    }
    let pod = probe::ProbePod { namespace: settings.namespace.clone(), image: settings.image.clone(), host_network: settings.host_network };
    eprintln!("probing {} endpoint(s) from a Pod in `{}` on the target", targets.len(), pod.namespace);
    match ferry_cluster::pod::run_to_end(&target.client, pod.manifest(&targets), PROBE_TIMEOUT).await {
        Ok(ended) => probe::read(&targets, ended.exit_code, &ended.log, &target.context),
        Err(why) => vec![probe::failed(&why, &targets)],
    }
}

/// What the target serves, its classes and its nodes.
async fn target_facts(target: &Connection, discovery: &Discovery) -> Result<preflight::Target, CliError> {
    let list = |group: &'static str, kind: &'static str| async move {
        match fetch::preferred(discovery, group, kind) {
            Some(resource) => fetch::list(target, resource, None, "", fetch::Kept::WithoutManagedFields)
                .await
                .map_err(|e| CliError::failure(format!("cannot list the target's {}", resource.plural), &e)),
            None => Ok(Vec::new()),
        }
    };
    let name = |object: &Value| object.pointer("/metadata/name").and_then(Value::as_str).map(str::to_owned);
    Ok(preflight::Target {
        served: discovery.served.iter().map(|r| (r.group.clone(), r.kind.clone())).collect(),
        storage_classes: list("storage.k8s.io", "StorageClass").await?,
        ingress_classes: list("networking.k8s.io", "IngressClass").await?.iter().filter_map(name).collect(),
        version: target.server_version.clone(),
        nodes: list("", "Node").await?,
    })
}

/// Whether the target's nodes can pull each image the transformed objects run (`--images`).
async fn images(plan: &Plan, nodes: &[Value], registries: &ferry_images::RegistryOptions) -> Vec<Issue> {
    let field = |node: &Value, name: &str| node.pointer(&format!("/status/nodeInfo/{name}")).and_then(Value::as_str).unwrap_or_default().to_owned();
    let platforms: Vec<String> = nodes.iter().map(|node| format!("{}/{}", field(node, "operatingSystem"), field(node, "architecture"))).collect();
    let sources: Vec<Value> = plan.objects.iter().map(|p| p.source.clone()).collect();
    let transformed: Vec<Option<Value>> = plan.objects.iter().map(|p| Some(p.expected.clone())).collect();
    let images = ferry_images::plan::plan_transformed(&sources, &transformed).images;
    let findings = ferry_images::pullable::check(&images, transformed.iter().flatten(), &platforms, registries).await;
    findings
        .into_iter()
        .map(|f| {
            let severity = match f.severity {
                ferry_images::plan::Severity::Error => Severity::Fail,
                ferry_images::plan::Severity::Warning => Severity::Warn,
                ferry_images::plan::Severity::Info => Severity::Info,
            };
            Issue { severity, code: f.code, object: None, message: format!("`{}`: {}", f.image, f.message) }
        })
        .collect()
}

/// A server-side dry run of every object (apply's own, with no journal); an object already
/// failed by another check is not reported twice.
async fn dry_run(target: &Connection, objects: &[(ObjectId, Value)], known: &[Issue]) -> Result<Vec<Issue>, CliError> {
    let failed = |id: &ObjectId| known.iter().any(|i| i.severity == Severity::Fail && i.object.as_ref() == Some(id));
    let requests = objects.iter().map(|(id, object)| ApplyObject::new(id.clone(), object.clone())).collect();
    let options = ApplyOptions { dry_run: true, ..Default::default() };
    let report = apply(target, requests, &|_| None, &options, &mut Journal::disabled(), &())
        .await
        .map_err(|e| CliError::failure(format!("cannot dry-run the objects on context `{}`", target.context), &e))?;
    let issue = |severity, code, id: &ObjectId, message: String| Issue { severity, code, object: Some(id.clone()), message };
    Ok(report
        .results
        .iter()
        .filter(|r| !failed(&r.id))
        .filter_map(|r| match &r.outcome {
            Outcome::Failed(message) if message.contains("exceeded quota") => Some(issue(Severity::Fail, "quota", &r.id, message.clone())),
            Outcome::Failed(message) => Some(issue(Severity::Fail, "dry-run-rejected", &r.id, message.clone())),
            Outcome::Skipped(message) => Some(issue(Severity::Info, "not-dry-run", &r.id, message.clone())),
            Outcome::NotAttempted => Some(issue(Severity::Warn, "not-checked", &r.id, "the dry run stopped before this object".into())),
            _ => None,
        })
        .collect())
}

/// The preflight's outcome.
#[derive(Serialize)]
struct Summary {
    source: String,
    target: String,
    objects: usize,
    issues: Vec<Issue>,
}

impl Summary {
    fn count(&self, severity: Severity) -> usize {
        self.issues.iter().filter(|i| i.severity == severity).count()
    }
}

fn print(out: &mut dyn Write, summary: &Summary, format: SummaryFormat) -> std::io::Result<()> {
    if format != SummaryFormat::Table {
        return pipeline::write_structured(out, summary, format == SummaryFormat::Yaml);
    }
    writeln!(out, "preflight of target {} for {} objects from {}", summary.target, summary.objects, summary.source)?;
    for issue in &summary.issues {
        let severity = match issue.severity {
            Severity::Fail => "FAIL",
            Severity::Warn => "warn",
            Severity::Info => "info",
        };
        let object = issue.object.as_ref().map(|o| format!("{} {o}: ", o.api_version)).unwrap_or_default();
        writeln!(out, "  {severity}  {:<24} {object}{}", issue.code, issue.message)?;
    }
    let counts = [Severity::Fail, Severity::Warn, Severity::Info].map(|s| summary.count(s));
    writeln!(out, "{} fail, {} warn, {} info", counts[0], counts[1], counts[2])
}
