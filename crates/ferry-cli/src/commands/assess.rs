//! `ferry assess`: load manifests, assess them, render the result.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use std::sync::Arc;

use ferry_analysis::{Assessment, Options, assess_objects, assess_paths};
use ferry_cluster::{ConnectOptions, ReadOptions};
use ferry_model::load::{Issue, LoadReport, Location, Severity};
use ferry_report::{Format, render};

use crate::args::{AssessSettings, FailOn, Input};
use crate::commands::cluster;
use crate::error::{CliError, ExitStatus};
use crate::progress::ReadBar;
use crate::terminal::diag;

/// Runs the assessment and writes it where asked.
pub fn run(settings: AssessSettings) -> Result<ExitStatus, CliError> {
    let assessment = match &settings.input {
        Input::Paths(paths) => assess_paths(paths, &settings.options)
            .map_err(|e| CliError::failure("cannot load the input", &e).with_hint("check that every PATH exists and is readable"))?,
        Input::Cluster { connect, read } => assess_cluster(connect, read, &settings.options)?,
    };
    match &settings.out {
        Some(path) => write_file(path, &assessment, settings.format)?,
        None => {
            let stdout = io::stdout();
            let mut lock = io::BufWriter::new(stdout.lock());
            render(&assessment, settings.format, &mut lock)
                .and_then(|()| lock.flush())
                .or_else(ignore_broken_pipe)
                .map_err(|e| CliError::failure("cannot write to standard output", &e))?;
        }
    }
    if settings.format != Format::Table || settings.out.is_some() {
        diag!("{}", one_line_summary(&assessment));
    }
    let status = exit_status(&assessment, settings.fail_on);
    super::leave_to_exit(assessment);
    Ok(status)
}

/// Reads the cluster and assesses what it holds; unreadable resources become errors in the report.
fn assess_cluster(connect: &ConnectOptions, read: &ReadOptions, options: &Options) -> Result<Assessment, CliError> {
    let (connection, discovery, snapshot) = cluster::runtime()?.block_on(async {
        let connection = cluster::connect(connect).await?;
        let discovery = cluster::discover(&connection, connect).await?;
        let bar = ReadBar::stderr();
        let snapshot = ferry_cluster::read(&connection, &discovery, read, &bar).await;
        bar.finish();
        Ok::<_, CliError>((connection, discovery, snapshot))
    })?;
    let origin: Arc<str> = format!("cluster `{}`", connection.context).into();
    let mut report =
        LoadReport { objects: snapshot.objects.len() as u64, documents: snapshot.objects.len() as u64, bytes: snapshot.bytes, ..Default::default() };
    for line in cluster::unreadable(&discovery, &snapshot.failures) {
        report.issues.push(Issue {
            severity: Severity::Error,
            location: Location::file(origin.clone()),
            message: format!("left out of the assessment: {line}"),
        });
    }
    let mut assessment = assess_objects(snapshot.objects, &report, options);
    assessment.input.cluster = Some(format!("context `{}` ({}, Kubernetes {})", connection.context, connection.server, connection.server_version));
    Ok(assessment)
}

fn ignore_broken_pipe(e: io::Error) -> io::Result<()> {
    if e.kind() == io::ErrorKind::BrokenPipe { Ok(()) } else { Err(e) }
}

/// Writes the report to `path`. A regular file (or a new one), also when reached through a
/// symbolic link, is replaced atomically, through a temporary file beside it renamed into
/// place, so a failed run never leaves half a report and the link stays a link; anything
/// else (`/dev/null`, a named pipe, a dangling link) is written in place, so that it is never
/// replaced by a plain file.
fn write_file(path: &Path, assessment: &Assessment, format: Format) -> Result<(), CliError> {
    let write_to = |file: fs::File| {
        let mut file = io::BufWriter::new(file);
        render(assessment, format, &mut file)?;
        file.flush()
    };
    let is_link = fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    let target = if is_link { fs::canonicalize(path).ok() } else { Some(path.to_path_buf()) };
    let result = match target {
        Some(target) if fs::metadata(&target).map_or(true, |m| m.is_file()) => replace_atomically(&target, write_to),
        _ => fs::OpenOptions::new().write(true).create(true).truncate(true).open(path).and_then(write_to),
    };
    result.map_err(|e| CliError::failure(format!("cannot write `{}`", path.display()), &e))
}

/// Writes a temporary file beside `path` and renames it into place; on failure removes it.
/// The temporary file has a random name and is created exclusively with mode `0600`
/// (tempfile's defaults), so a file or link planted beside `path` is never followed or reused.
fn replace_atomically(path: &Path, write_to: impl FnOnce(fs::File) -> io::Result<()>) -> io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new().prefix(".ferry-").suffix(".tmp").tempfile_in(dir)?;
    let (file, tmp) = tmp.into_parts();
    write_to(file)?;
    // On failure the temporary path comes back in the error and is removed when it drops.
    tmp.persist(path).map_err(|e| e.error)
}

fn one_line_summary(a: &Assessment) -> String {
    let dangling = a.dependencies.iter().filter(|d| d.resolution == ferry_analysis::Resolution::Dangling).count();
    let errors = a.warnings.iter().filter(|w| w.severity == ferry_analysis::WarningLevel::Error).count();
    let generated: usize = a.inventory.generated.iter().map(|g| g.count).sum();
    format!(
        "ferry: {} objects (+{generated} made by Kubernetes), {} dependencies ({} dangling), {} cloud findings, {} removed / {} deprecated APIs for {}, {} waves, {} unreadable documents",
        a.inventory.total,
        a.dependencies.len(),
        dangling,
        a.cloud.len(),
        a.removed_apis().count(),
        a.deprecations.len() - a.removed_apis().count(),
        a.target.kubernetes,
        a.waves.waves.len(),
        errors
    )
}

fn exit_status(a: &Assessment, fail_on: FailOn) -> ExitStatus {
    let blockers = match fail_on {
        FailOn::Removed => a.removed_apis().count(),
        FailOn::Deprecated => a.deprecations.len(),
        FailOn::Never => 0,
    };
    if a.has_input_errors() {
        ExitStatus::IncompleteInput
    } else if blockers > 0 {
        ExitStatus::Blockers
    } else {
        ExitStatus::Success
    }
}
