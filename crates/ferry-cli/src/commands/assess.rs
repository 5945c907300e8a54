//! `ferry assess`: load manifests, assess them, render the result, and end it with the
//! verdict: what blocks, and the exit code it gives (in ferry's codes or Pluto's).

use std::io::{self, Write};

use std::sync::Arc;

use ferry_analysis::{Assessment, Options, WarningLevel, assess_objects, assess_paths};
use ferry_cluster::{ConnectOptions, ReadOptions};
use ferry_model::load::{Issue, LoadReport, Location, Severity};
use ferry_report::{Format, render, render_table};

use crate::args::{AssessSettings, ExitCodes, FailOn, Input, OutputFormat};
use crate::commands::{cluster, out_file};
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
    let verdict = Verdict::of(&assessment, settings.fail_on, settings.exit_codes);
    let width = if settings.out.is_none() && settings.output == OutputFormat::Table { crate::terminal::width() } else { None };
    let report = Report { assessment: &assessment, output: settings.output, verdict: &verdict, width };
    match &settings.out {
        Some(path) => out_file::write(path, |out| report.write(out))?,
        None => {
            let stdout = io::stdout();
            let mut lock = io::BufWriter::new(stdout.lock());
            report
                .write(&mut lock)
                .and_then(|()| lock.flush())
                .or_else(super::ignore_broken_pipe)
                .map_err(|e| CliError::failure("cannot write to standard output", &e))?;
        }
    }
    if !report.ends_with_verdict() || settings.out.is_some() {
        diag!("{}", one_line_summary(&assessment));
        diag!("{verdict}");
    }
    super::leave_to_exit(assessment);
    Ok(verdict.status)
}

/// The report as written: the rendered assessment, and for the terminal table the verdict as its last line.
struct Report<'a> {
    assessment: &'a Assessment,
    output: OutputFormat,
    verdict: &'a Verdict,
    /// The terminal's width for a table on standard output; `None` for a pipe or a file.
    width: Option<u16>,
}

impl Report<'_> {
    fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        match self.output {
            OutputFormat::Table | OutputFormat::Wide => render_table(self.assessment, self.width, out)?,
            OutputFormat::Name => write_names(self.assessment, out)?,
            OutputFormat::Json => render(self.assessment, Format::Json, out)?,
            OutputFormat::Yaml => render(self.assessment, Format::Yaml, out)?,
            OutputFormat::Markdown => render(self.assessment, Format::Markdown, out)?,
            OutputFormat::Html => render(self.assessment, Format::Html, out)?,
        }
        if self.ends_with_verdict() {
            writeln!(out)?;
            writeln!(out, "{}", self.verdict)?;
        }
        Ok(())
    }

    /// Whether the verdict is the report's last line (the tables), rather than a line on stderr.
    fn ends_with_verdict(&self) -> bool {
        matches!(self.output, OutputFormat::Table | OutputFormat::Wide)
    }
}

/// `-o name`: `kind/name` of every object assessed (kind in lower case), one a line, as
/// `kubectl get -o name` prints them, workloads first, each group in the inventory's order.
fn write_names(a: &Assessment, out: &mut dyn Write) -> io::Result<()> {
    let workloads = a.inventory.workloads.iter().map(|w| &w.object);
    for object in workloads.chain(a.inventory.resources.values().flatten().map(|r| &r.object)) {
        out.write_all(super::columns::name_line(&object.kind, &object.name).as_bytes())?;
    }
    Ok(())
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

fn one_line_summary(a: &Assessment) -> String {
    let dangling = a.dependencies.iter().filter(|d| d.resolution == ferry_analysis::Resolution::Dangling).count();
    let errors = a.errors_of(ferry_analysis::INPUT_ERROR);
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

/// What blocks, and the exit status it gives.
#[derive(Debug)]
struct Verdict {
    /// What blocks, counted (`2 removed APIs`), input problems first.
    blocking: Vec<String>,
    /// The exit status.
    status: ExitStatus,
}

impl Verdict {
    /// Judges the assessment by `fail_on`, in the codes of `scheme`. Input problems (errors
    /// among the warnings) come first and decide the code: ferry's 4, or Pluto's 1.
    fn of(a: &Assessment, fail_on: FailOn, scheme: ExitCodes) -> Verdict {
        let mut blocking = input_problems(a);
        let incomplete = !blocking.is_empty();
        let removed = if fail_on == FailOn::Never { 0 } else { a.removed_apis().count() };
        let deprecated = if fail_on == FailOn::Deprecated { a.blocking_deprecations().count() - a.removed_apis().count() } else { 0 };
        blocking.extend(counted(removed, "removed API", "removed APIs"));
        blocking.extend(counted(deprecated, "deprecated API", "deprecated APIs"));
        let status = match scheme {
            ExitCodes::Ferry if incomplete => ExitStatus::IncompleteInput,
            ExitCodes::Ferry if removed + deprecated > 0 => ExitStatus::Blockers,
            ExitCodes::Ferry => ExitStatus::Success,
            ExitCodes::Pluto => {
                let target = a.target.kubernetes;
                let unavailable = if fail_on == FailOn::Never { 0 } else { a.blocking_deprecations().filter(|d| !d.replacement_available(target)).count() };
                let replacements = format!("APIs whose replacement Kubernetes {target} does not serve");
                blocking.extend(counted(unavailable, &format!("API whose replacement Kubernetes {target} does not serve"), &replacements));
                // Pluto's order: 2 for deprecations, overridden by 3 for removals, overridden by 4.
                let code = match (incomplete, unavailable, removed, deprecated) {
                    (true, ..) => 1,
                    (_, 1.., _, _) => 4,
                    (_, _, 1.., _) => 3,
                    (_, _, _, 1..) => 2,
                    _ => 0,
                };
                ExitStatus::Foreign(code)
            }
        };
        Verdict { blocking, status }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let blocking = if self.blocking.is_empty() { "nothing blocks".to_owned() } else { self.blocking.join(", ") };
        write!(f, "verdict: {blocking} → exit {}", self.status.code())
    }
}

/// The input problems that make the assessment incomplete or ambiguous, counted by kind.
fn input_problems(a: &Assessment) -> Vec<String> {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for w in a.warnings.iter().filter(|w| w.severity == WarningLevel::Error) {
        match counts.iter_mut().find(|(code, _)| *code == w.code) {
            Some((_, n)) => *n += 1,
            None => counts.push((&w.code, 1)),
        }
    }
    let unreadable = if a.input.cluster.is_some() { ("unreadable resource", "unreadable resources") } else { ("unreadable document", "unreadable documents") };
    counts
        .into_iter()
        .filter_map(|(code, n)| match code {
            ferry_analysis::NO_OBJECTS => Some("no Kubernetes objects".to_owned()),
            ferry_analysis::DUPLICATE_OBJECT => counted(n, "conflicting duplicate object", "conflicting duplicate objects"),
            ferry_analysis::INPUT_ERROR => counted(n, unreadable.0, unreadable.1),
            other => counted(n, &format!("`{other}` error"), &format!("`{other}` errors")),
        })
        .collect()
}

/// `1 removed API`, `2 removed APIs`; nothing for none.
fn counted(n: usize, one: &str, many: &str) -> Option<String> {
    match n {
        0 => None,
        1 => Some(format!("1 {one}")),
        n => Some(format!("{n} {many}")),
    }
}
