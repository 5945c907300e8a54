//! `ferry images`: `push-ferry` packs a ferry binary into an image and pushes it; `plan` lists
//! the images the workloads run and where the rules move them; `copy` copies them. Objects are
//! read as `ferry certs` reads them; planning and copying are `ferry_images`'s.

use std::fmt::Write as _;
use std::io::Write as _;

use ferry_analysis::DEFAULT_TARGET_VERSION;
use ferry_images::plan::{Plan, Severity};
use ferry_images::{Credentials, ImageEvidence, Pushed, Registries};
use serde_json::json;

use crate::args::{ImagesCopySettings, ImagesInput, ImagesPlanSettings, PushFerrySettings, PushOutput};
use crate::commands::{certs, cluster, out_file, pipeline};
use crate::error::{CliError, ExitStatus};
use crate::progress::CopyBar;
use crate::terminal::{diag, printable};

/// The JSON schema of `ferry images plan -o json`.
const PLAN_SCHEMA: &str = "ferry.images.plan/v1";

/// Builds ferry's image from the binary and pushes it; prints the pinned reference. The reference
/// is checked (and its credentials read) before the image is built.
pub fn run(settings: PushFerrySettings) -> Result<ExitStatus, CliError> {
    let credentials = Credentials::for_reference(&settings.reference).map_err(|e| push_error(&settings.reference, &e))?;
    let image =
        ferry_images::ferry_image(&settings.binary).map_err(|e| CliError::failure(format!("cannot build the image of `{}`", settings.binary.display()), &e))?;
    let pushed =
        cluster::runtime()?.block_on(ferry_images::push(&image, &settings.reference, &credentials)).map_err(|e| push_error(&settings.reference, &e))?;
    match settings.output {
        PushOutput::Table => print_table(&pushed),
        PushOutput::Json => println!("{}", json(&pushed)),
    }
    Ok(ExitStatus::Success)
}

fn push_error(reference: &str, error: &ferry_images::Error) -> CliError {
    let failure = CliError::failure(format!("cannot push to `{reference}`"), error);
    match error {
        ferry_images::Error::Reference { .. } => failure.with_hint("give REGISTRY/REPOSITORY[:TAG], e.g. `registry.example.com/tools/ferry:1`"),
        ferry_images::Error::Registry { .. } => {
            failure.with_hint("check that the registry is reachable and that `docker login` holds credentials for it if it needs some")
        }
        _ => failure,
    }
}

fn print_table(pushed: &Pushed) {
    println!("{}", pushed.pinned());
    println!("bytes sent: {}", pushed.bytes_sent);
    println!("blobs sent: {}", pushed.blobs_sent);
    println!("blobs skipped (already present): {}", pushed.blobs_skipped);
}

fn json(pushed: &Pushed) -> serde_json::Value {
    serde_json::json!({
        "reference": pushed.reference,
        "digest": pushed.digest.as_str(),
        "pinned": pushed.pinned(),
        "bytesSent": pushed.bytes_sent,
        "blobsSent": pushed.blobs_sent,
        "blobsSkipped": pushed.blobs_skipped,
    })
}

/// Reads the objects and plans their images; warns about what could not be read.
fn make_plan(input: &ImagesInput) -> Result<(Plan, Vec<String>), CliError> {
    let rules = pipeline::rules(&input.transform)?;
    let options = ferry_transform::Options { target_version: input.transform.target_version.unwrap_or(DEFAULT_TARGET_VERSION), rules };
    let (objects, unreadable) = certs::read_input(&input.objects)?;
    let values: Vec<serde_json::Value> = objects.iter().map(|o| o.root.to_json()).collect();
    for line in &unreadable {
        diag!("warning: {line}");
    }
    Ok((ferry_images::plan(&values, &options), unreadable))
}

fn registries(input: &ImagesInput) -> Result<Registries, CliError> {
    Registries::new(input.registries.clone()).map_err(|e| CliError::failure("cannot set up the registry client", &e))
}

/// `ferry images plan`: the plan as a table or JSON; exit 3 on error findings, 4 on unreadable input.
pub fn plan(settings: ImagesPlanSettings) -> Result<ExitStatus, CliError> {
    let (mut plan, unreadable) = make_plan(&settings.input)?;
    if settings.resolve {
        let registries = registries(&settings.input)?;
        cluster::runtime()?.block_on(ferry_images::plan::resolve(&mut plan, &registries));
    }
    let text = match settings.output {
        PushOutput::Table => plan_table(&plan),
        PushOutput::Json => format!("{:#}\n", json!({"schema": PLAN_SCHEMA, "images": plan.images, "findings": plan.findings, "totals": plan.totals})),
    };
    write_stdout(&text)?;
    Ok(if !unreadable.is_empty() {
        ExitStatus::IncompleteInput
    } else if plan.has_errors() {
        ExitStatus::Blockers
    } else {
        ExitStatus::Success
    })
}

/// `ferry images copy`: plans, resolves, and copies unless the plan has errors; writes the
/// evidence; exit 4 if an image failed.
pub fn copy(settings: ImagesCopySettings) -> Result<ExitStatus, CliError> {
    let (mut plan, unreadable) = make_plan(&settings.input)?;
    let registries = registries(&settings.input)?;
    let runtime = cluster::runtime()?;
    // Errors found without the registries (conflicts, changed pins) stop the copy before any request.
    if !plan.has_errors() {
        runtime.block_on(ferry_images::plan::resolve(&mut plan, &registries));
    }
    if plan.has_errors() {
        write_stdout(&findings_text(&plan))?;
        diag!("error: the plan has errors; nothing was copied (see `ferry images plan`)");
        return Ok(ExitStatus::Blockers);
    }
    let jobs = plan.jobs();
    let bar = CopyBar::stderr(jobs.len());
    let evidence = runtime.block_on(ferry_images::copy(&jobs, &registries, &bar));
    bar.finish();
    let document = copy_json(&evidence, &registries);
    if let Some(path) = &settings.evidence {
        out_file::write(path, |out| writeln!(out, "{document:#}"))?;
    }
    let text = match settings.output {
        PushOutput::Table => copy_table(&evidence),
        PushOutput::Json => format!("{document:#}\n"),
    };
    write_stdout(&text)?;
    let failed = evidence.iter().any(|e| e.error.is_some());
    Ok(if failed || !unreadable.is_empty() { ExitStatus::IncompleteInput } else { ExitStatus::Success })
}

fn write_stdout(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(printable(text).as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::failure("cannot write to standard output", &e)),
        _ => Ok(()),
    }
}

fn plan_table(plan: &Plan) -> String {
    let mut out = String::new();
    for image in &plan.images {
        let verb = if image.copy { "copy" } else { "stays" };
        let _ = writeln!(out, "{} -> {} ({verb})", image.source, image.target);
        if let Some(resolved) = &image.resolved {
            let platforms = if resolved.platforms.is_empty() { String::new() } else { format!(", platforms {}", resolved.platforms.join(" ")) };
            let _ = writeln!(out, "  {} {}, {} blobs, {} bytes{platforms}", resolved.digest, resolved.media_type, resolved.blobs, resolved.bytes);
        }
        for (side, secret) in [("source", &image.source_pull_secret), ("target", &image.target_pull_secret)] {
            if let Some(secret) = secret {
                let _ = writeln!(out, "  {side} pull secret: {secret}");
            }
        }
        for user in &image.users {
            let _ = writeln!(out, "  used by {} ({} {})", user.object, user.container, user.field);
        }
    }
    let totals = &plan.totals;
    let _ = writeln!(
        out,
        "\n{} images, {} to copy: {} distinct blobs, {} bytes; about {} requests for a first copy, {} when nothing changed",
        totals.images, totals.to_copy, totals.unique_blobs, totals.unique_bytes, totals.requests_first_copy, totals.requests_no_change
    );
    out + &findings_text(plan)
}

fn findings_text(plan: &Plan) -> String {
    let mut out = String::new();
    for finding in &plan.findings {
        let severity = match finding.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        };
        let _ = writeln!(out, "{severity} [{}] {}: {}", finding.code, finding.image, finding.message);
    }
    out
}

/// The evidence: every image, totals, and the requests each registry served.
fn copy_json(evidence: &[ImageEvidence], registries: &Registries) -> serde_json::Value {
    let sum = |f: fn(&ImageEvidence) -> u64| evidence.iter().map(f).sum::<u64>();
    let requests: serde_json::Map<String, serde_json::Value> = registries.requests().into_iter().map(|(host, n)| (host, json!(n))).collect();
    json!({
        "schema": ferry_images::copy::EVIDENCE_SCHEMA,
        "images": evidence,
        "summary": {
            "images": evidence.len(),
            "failed": evidence.iter().filter(|e| e.error.is_some()).count(),
            "verified": evidence.iter().filter(|e| e.verified).count(),
            "manifestsSent": sum(|e| e.manifests_sent),
            "blobsSent": sum(|e| e.blobs_sent),
            "blobsMounted": sum(|e| e.blobs_mounted),
            "blobsSkipped": sum(|e| e.blobs_skipped),
            "bytesSent": sum(|e| e.bytes_sent),
            "referrers": evidence.iter().map(|e| e.referrers.len()).sum::<usize>(),
            "requests": requests,
        }
    })
}

fn copy_table(evidence: &[ImageEvidence]) -> String {
    let mut out = String::new();
    for image in evidence {
        match &image.error {
            Some(error) => {
                let _ = writeln!(out, "failed  {} -> {}: {error}", image.source, image.target);
            }
            None => {
                let _ = writeln!(
                    out,
                    "copied  {} -> {} {} ({} blobs sent, {} mounted, {} already there, {} bytes, {} referrers)",
                    image.source,
                    image.target,
                    image.target_digest.as_deref().unwrap_or_default(),
                    image.blobs_sent,
                    image.blobs_mounted,
                    image.blobs_skipped,
                    image.bytes_sent,
                    image.referrers.len()
                );
            }
        }
    }
    let sent: u64 = evidence.iter().map(|e| e.blobs_sent).sum();
    let bytes: u64 = evidence.iter().map(|e| e.bytes_sent).sum();
    let failed = evidence.iter().filter(|e| e.error.is_some()).count();
    let nothing = if sent == 0 && failed == 0 { " (nothing to send: every blob was already there)" } else { "" };
    let _ = writeln!(out, "{} images, {failed} failed; {sent} blobs ({bytes} bytes) sent{nothing}", evidence.len());
    out
}
