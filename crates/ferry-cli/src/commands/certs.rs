//! `ferry certs`: read objects (files, a cluster or an archive), check their certificates with
//! `ferry_certs`, compare with the target if asked, and print the result. Never prints a
//! certificate body or a key: only what `ferry_certs` reports (names, dates, findings).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::sync::Arc;

use ferry_certs::{Finding, Report, Severity};
use ferry_cluster::{ConnectOptions, ReadOptions};
use ferry_model::load::{LoadReport, load_documents};
use ferry_model::{Node, Object, Origin};
use serde::Serialize;

use crate::args::{ArchiveSettings, CertsFormat, CertsSettings, ObjectSource, Objects};
use crate::commands::columns::{name_line, write_columns};
use crate::commands::{archive, cluster};
use crate::error::{CliError, ExitStatus};
use crate::progress::ReadBar;

/// The JSON schema of `ferry certs -o json`.
const SCHEMA: &str = "ferry.certs/v1";

/// Checks the certificates and prints the report.
pub fn run(settings: CertsSettings) -> Result<ExitStatus, CliError> {
    let ca_bundle = settings
        .ca_bundle
        .as_deref()
        .map(|path| std::fs::read_to_string(path).map_err(|e| CliError::failure(format!("cannot read the CA bundle `{}`", path.display()), &e)))
        .transpose()?;
    let (objects, mut incomplete) = read(&settings)?;
    let options = ferry_certs::Options { cutover: settings.cutover, ca_bundle, namespaces: settings.objects.namespaces.clone() };
    let mut report = ferry_certs::check(&objects, &options);
    if let Some(target) = &settings.target {
        let (target_objects, unreadable) = read_cluster(target, &settings.objects.read)?;
        incomplete.extend(unreadable);
        report.add(ferry_certs::compare(&objects, &target_objects));
    }
    for line in &incomplete {
        eprintln!("warning: {line}");
    }
    let text = match settings.format {
        CertsFormat::Table => table(&report, settings.cutover),
        CertsFormat::Json => json(&report, settings.cutover)?,
        CertsFormat::Name => report.certificates.iter().map(|c| name_line("Secret", &c.secret.name)).collect(),
    };
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .or_else(super::ignore_broken_pipe)
        .map_err(|e| CliError::failure("cannot write to standard output", &e))?;
    Ok(if !incomplete.is_empty() {
        ExitStatus::IncompleteInput
    } else if report.failing() {
        ExitStatus::Blockers
    } else {
        ExitStatus::Success
    })
}

/// The source's objects, in the namespaces asked for, and what could not be read.
fn read(settings: &CertsSettings) -> Result<(Vec<Object>, Vec<String>), CliError> {
    read_input(&settings.objects)
}

/// The objects of files, a cluster or an archive, in `namespaces` (all when empty), and what
/// could not be read; shared with `ferry images`.
pub(crate) fn read_input(input: &Objects) -> Result<(Vec<Object>, Vec<String>), CliError> {
    let Objects { source, namespaces, read, archive } = input;
    let (objects, unreadable) = match source {
        ObjectSource::Files(paths) => {
            let (objects, report) = load_documents(paths, |document| document.into_object())
                .map_err(|e| CliError::failure("cannot load the input", &e).with_hint("check that every PATH exists and is readable"))?;
            (objects, load_errors(&report))
        }
        ObjectSource::Cluster(connect) => read_cluster(connect, read)?,
        ObjectSource::Archive(from) => (read_archive(from, archive)?, Vec::new()),
    };
    let wanted = |o: &Object| namespaces.is_empty() || o.id.namespace.as_ref().is_none_or(|ns| namespaces.contains(ns));
    Ok((objects.into_iter().filter(wanted).collect(), unreadable))
}

/// The input errors of a file load, for the user.
fn load_errors(report: &LoadReport) -> Vec<String> {
    report
        .issues
        .iter()
        .filter(|i| i.severity == ferry_model::load::Severity::Error)
        .map(|i| format!("{}: {}", i.location.file_and_line(), i.message))
        .collect()
}

/// Every object of a cluster (in the namespaces asked for), and what could not be read.
fn read_cluster(connect: &ConnectOptions, read: &ReadOptions) -> Result<(Vec<Object>, Vec<String>), CliError> {
    cluster::runtime()?.block_on(async {
        let connection = cluster::connect(connect).await?;
        let discovery = cluster::discover(&connection, connect).await?;
        let bar = ReadBar::stderr();
        let snapshot = ferry_cluster::read(&connection, &discovery, read, &bar).await;
        bar.finish();
        Ok((snapshot.objects, cluster::unreadable(&discovery, &snapshot.failures)))
    })
}

/// Every object of an archive.
fn read_archive(from: &str, settings: &ArchiveSettings) -> Result<Vec<Object>, CliError> {
    let (_, entries) = cluster::runtime()?.block_on(archive::read(from, settings))?;
    let file: Arc<str> = from.into();
    entries
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            let root: Node =
                serde_json::from_value(archive::parsed(entry)?).map_err(|e| CliError::failure(format!("cannot read {} from the archive", entry.id), &e))?;
            Ok(Object::from_root(root, Origin { file: file.clone(), document: u32::try_from(index + 1).unwrap_or(u32::MAX), line: 0 }))
        })
        .collect()
}

/// The report as JSON.
fn json(report: &Report, cutover: i64) -> Result<String, CliError> {
    #[derive(Serialize)]
    struct Document<'a> {
        schema: &'static str,
        cutover: String,
        #[serde(flatten)]
        report: &'a Report,
    }
    let document = Document { schema: SCHEMA, cutover: rfc3339(cutover), report };
    serde_json::to_string_pretty(&document).map(|text| text + "\n").map_err(|e| CliError::failure("cannot write the report as JSON", &e))
}

fn rfc3339(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds).map(|t| t.to_string()).unwrap_or_else(|_| seconds.to_string())
}

/// The report for a terminal: certificates, findings with hints, projected orders, a summary line.
fn table(report: &Report, cutover: i64) -> String {
    let mut out = format!("TLS certificates, cut-over {}\n\n", rfc3339(cutover));
    let rows: Vec<[String; 6]> = report
        .certificates
        .iter()
        .map(|c| {
            let secret = format!("{}/{}", c.secret.namespace.as_deref().unwrap_or_default(), c.secret.name);
            let names = if c.names.is_empty() { "-".to_owned() } else { c.names.join(",") };
            let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
            [secret, dash(&c.managed_by), names, dash(&c.not_after), dash(&c.key), status(c.status).to_owned()]
        })
        .collect();
    write_columns(&mut out, ["SECRET", "MANAGED BY", "NAMES", "EXPIRES", "KEY", "STATUS"], &rows);
    if !report.findings.is_empty() {
        out.push_str("\nFindings:\n");
        for finding in &report.findings {
            write_finding(&mut out, finding);
        }
    }
    if !report.orders.is_empty() {
        out.push_str("\nNew ACME orders if re-issued:\n");
        for order in &report.orders {
            let limit = order.limit_per_week.map(|l| format!(" (limit {l} per week for this set)")).unwrap_or_default();
            let _ = writeln!(out, "  {} for [{}] at {}{limit}", order.orders, order.names.join(", "), order.server);
        }
    }
    let counts: BTreeMap<Severity, usize> = report.findings.iter().fold(BTreeMap::new(), |mut m, f| {
        *m.entry(f.severity).or_default() += 1;
        m
    });
    let count = |s| counts.get(&s).copied().unwrap_or(0);
    let _ = writeln!(
        out,
        "\n{} certificates; {} failing, {} warnings, {} notes; {} re-issuance conditions",
        report.certificates.len(),
        count(Severity::Fail),
        count(Severity::Warn),
        count(Severity::Info),
        report.reissuing().count()
    );
    out
}

fn status(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "ok",
        Severity::Warn => "warn",
        Severity::Fail => "FAIL",
    }
}

fn write_finding(out: &mut String, finding: &Finding) {
    let reissue = if finding.reissue { " [re-issues]" } else { "" };
    let _ = writeln!(out, "  {:<4}  {}  {}{reissue}: {}", finding.severity, finding.code, finding.object, finding.message);
    if !finding.hint.is_empty() {
        let _ = writeln!(out, "        hint: {}", finding.hint);
    }
}
