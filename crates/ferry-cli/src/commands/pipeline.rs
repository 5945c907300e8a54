//! The shared back half of `transform`, `apply` and `migrate`: transforming
//! objects with notes for the user, ordering by migration wave, applying with
//! a journal, and the summary.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferry_analysis::facts::{self, Facts};
use ferry_analysis::{Knowledge, KubeVersion, ObjRef, Options, Source, Strings};
use ferry_cluster::Connection;
use ferry_cluster::apply::{ApplyObject, ApplyReport, Journal, JournalError, Outcome, apply, journal_key};
use ferry_model::load::LoadReport;
use ferry_model::{Node, Object, ObjectId, Origin};
use ferry_transform::rules::ImagePins;
use ferry_transform::{Note, Report, Rules, Severity};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::args::{ApplySettings, SummaryFormat, TransformSettings};
use crate::error::{CliError, ExitStatus};
use crate::progress::ApplyBar;
use crate::terminal::{diag, printable};

/// Keeps a transformed object for the target as what `apply` sends (for [`transform_all`]).
pub fn apply_object(_: usize, id: ObjectId, object: Value) -> ApplyObject {
    ApplyObject::new(id, object)
}

/// Reads the rules file, if any, and the pins of `--pin-images`.
pub fn rules(settings: &TransformSettings) -> Result<Rules, CliError> {
    let mut rules = read_rules(settings.rules.as_deref())?;
    if let Some(path) = &settings.pin_images {
        rules.pins = ImagePins::new(pins(path)?);
    }
    Ok(rules)
}

/// Reads a rules file (docs/transform-rules.md); none gives the empty rules.
pub fn read_rules(path: Option<&Path>) -> Result<Rules, CliError> {
    let Some(path) = path else { return Ok(Rules::default()) };
    let text = std::fs::read_to_string(path).map_err(|e| CliError::failure(format!("cannot read the rules file `{}`", path.display()), &e))?;
    Rules::parse(&text, &path.display().to_string()).map_err(|e| CliError::failure("invalid transformation rules", &e))
}

/// What `--pin-images` pins: the targets and digests the image copy evidence verified.
fn pins(path: &Path) -> Result<Vec<(String, String)>, CliError> {
    let hint = "give the file `ferry images copy --evidence FILE` wrote";
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::failure(format!("cannot read the image copy evidence `{}`", path.display()), &e).with_hint(hint))?;
    ferry_images::copy::verified_targets(&text, &path.display().to_string()).map_err(|e| CliError::failure("cannot pin images", &e).with_hint(hint))
}

/// The version to convert for: the one asked for, else the target server's.
pub fn target_version(settings: &TransformSettings, server_version: &str) -> Result<KubeVersion, CliError> {
    if let Some(version) = settings.target_version {
        return Ok(version);
    }
    let trimmed = server_version.trim_start_matches('v');
    let major_minor: String = trimmed.split(['.', '-', '+']).take(2).collect::<Vec<_>>().join(".");
    major_minor.parse().map_err(|e: String| {
        CliError::usage(format!("cannot read the target's Kubernetes version `{server_version}`: {e}"), Some("pass `--target-version X.Y`".into()))
    })
}

/// Objects transformed for the target (kept as `T`: objects to apply, or trees to write to
/// an archive), and what the user must hear about.
pub struct Prepared<T = ApplyObject> {
    /// Objects for the target.
    pub objects: Vec<T>,
    /// Why objects cannot go to the target (one line per error note).
    pub blocked: Vec<String>,
    /// Objects the transformation changed (counted only while diffing, which needs the object before).
    pub changed: usize,
    /// What every rule did, and every object counted once by outcome.
    pub report: Report,
}

/// An object to transform: its JSON (or why it cannot be read) and, when known, the
/// resource it was read through (`plural.group`, for `--include`/`--exclude`).
pub trait Input {
    /// The resource, `plural.group` (`plural` for the core group).
    fn resource(&self) -> Option<&str>;
    /// The object.
    fn into_value(self) -> Result<Value, CliError>;
}

impl Input for Result<Value, CliError> {
    fn resource(&self) -> Option<&str> {
        None
    }
    fn into_value(self) -> Result<Value, CliError> {
        self
    }
}

/// The `excluded` note for an object that `--include`/`--exclude` leave out.
fn kind_filtered(settings: &TransformSettings, object: &Value, resource: Option<&str>) -> Option<Note> {
    if settings.kinds.include.is_empty() && settings.kinds.exclude.is_empty() {
        return None;
    }
    let group = object["apiVersion"].as_str().and_then(|v| v.rsplit_once('/')).map_or("", |(group, _)| group);
    let plural = resource.map(|r| r.split_once('.').map_or(r, |(plural, _)| plural));
    let kind = object["kind"].as_str().unwrap_or_default();
    (!settings.kinds.wants_kind(group, kind, plural)).then(|| Note::info("excluded", "left out by --include/--exclude"))
}

/// Where `transform --diff` writes, and whether it shows what looks secret ([`ferry_transform::redact_secret_looking`]).
pub struct Diff<'a> {
    /// Standard output, usually.
    pub out: &'a mut dyn Write,
    /// `--show-secrets`: values are shown as they are.
    pub show_secrets: bool,
}

/// Transforms every object, printing warnings and errors to stderr (never
/// object values) and, given a writer, a diff per changed object (a closed
/// pipe ends the diffs, not the transformation nor the count of changes).
/// The first object that cannot be read stops it, before anything is applied. Each object
/// for the target is handed to `keep` with its position in the input as soon as it is
/// transformed ([`apply_object`] keeps its text only).
/// Objects `--include`/`--exclude` leave out are not transformed; an object with an error
/// note (a rule failed, no successor API) is not kept: it is counted once, as failed.
pub fn transform_all<T>(
    objects: impl IntoIterator<Item = impl Input>,
    options: &ferry_transform::Options,
    settings: &TransformSettings,
    diff: Option<Diff<'_>>,
    keep: impl Fn(usize, ObjectId, Value) -> T,
) -> Result<Prepared<T>, CliError> {
    let report = Report::new(&options.rules, settings.report_objects);
    let mut prepared = Prepared { objects: Vec::new(), blocked: Vec::new(), changed: 0, report };
    let counting = diff.is_some();
    let show_secrets = diff.as_ref().is_some_and(|d| d.show_secrets);
    let mut diff = diff.map(|d| d.out);
    for (origin, input) in objects.into_iter().enumerate() {
        let resource = input.resource().map(str::to_owned);
        let input = input.into_value()?;
        let label = ObjectId::from_json(&input).map_or_else(|| "an object without a name".to_owned(), |id| id.to_string());
        if let Some(note) = kind_filtered(settings, &input, resource.as_deref()) {
            print_notes(&label, std::slice::from_ref(&note), settings.notes, &mut prepared.blocked);
            prepared.report.exclude(&label, note);
            continue;
        }
        let before = counting.then(|| input.clone());
        let transformed = ferry_transform::transform(input, options);
        print_notes(&label, &transformed.notes, settings.notes, &mut prepared.blocked);
        prepared.report.add(&label, &transformed);
        let Some(after) = transformed.object else { continue };
        if let Some(before) = before
            && before != after
        {
            prepared.changed += 1;
            if let Some(out) = diff.as_deref_mut() {
                let shown = |object: &Value| if show_secrets { object.clone() } else { ferry_transform::redact_secret_looking(object) };
                let text = ferry_transform::diff(&shown(&before), &shown(&after));
                match writeln!(out, "--- {}\n{text}", printable(&label)) {
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => diff = None,
                    written => written.map_err(|e| CliError::failure("cannot write the diff", &e))?,
                }
            }
        }
        match ObjectId::from_json(&after) {
            Some(id) => {
                prepared.objects.push(keep(origin, id, after));
            }
            None => {
                let message = "has no apiVersion, kind or metadata.name after transformation";
                prepared.blocked.push(format!("{label}: {message}"));
                prepared.report.fail(&label, Note::error("invalid-object", message));
            }
        }
    }
    Ok(prepared)
}

/// Counts the objects of manifests refused before the transformation (each line says where
/// it is and why) as failed, and lists them with the objects that cannot go to the target.
pub fn refuse<T>(prepared: &mut Prepared<T>, refused: &[String]) {
    for line in refused {
        prepared.report.refuse(line, Note::error("invalid-object", "no API server accepts it"));
        prepared.blocked.push(line.clone());
    }
}

/// Prints warnings (and with `--notes` every note) of one object to stderr, and keeps its
/// errors for the summary. Notes never hold object values.
fn print_notes(label: &str, notes: &[Note], all: bool, blocked: &mut Vec<String>) {
    for note in notes {
        let field = note.field.as_deref().map(|f| format!(" ({f})")).unwrap_or_default();
        match note.severity {
            Severity::Error => blocked.push(format!("{label}: {}{field}", note.message)),
            Severity::Warning => diag!("warning: {}", printable(&format!("{label}: {}{field}", note.message))),
            Severity::Info if all => diag!("note: {}", printable(&format!("{label}: [{}] {}{field}", note.code, note.message))),
            Severity::Info => {}
        }
    }
}

/// Warns about every rule that matched no object; with `--strict` they are errors and the
/// command stops (exit 3) before anything is written or applied.
pub fn check_rules<T>(prepared: &Prepared<T>, settings: &TransformSettings) -> Option<ExitStatus> {
    let level = if settings.strict { "error" } else { "warning" };
    let mut unmatched = 0;
    for rule in prepared.report.unmatched() {
        diag!("{level}: rule `{}` of the rules file matched no object (a typo in a prefix, class or namespace name?)", printable(&rule.rule));
        unmatched += 1;
    }
    (settings.strict && unmatched > 0).then(|| {
        diag!("error: --strict: {unmatched} rule(s) matched nothing; nothing was written or applied");
        ExitStatus::Blockers
    })
}

/// The one-line transformation summary: every object counted once.
pub fn summary_line(report: &Report, target_version: KubeVersion) -> String {
    let c = report.counts;
    let rules: usize = report.rules.iter().filter(|r| r.changed > 0).count();
    format!(
        "transformed {} of {} objects for Kubernetes {target_version}: {} left out, {} excluded, {} cannot go to the target; {rules} of {} rules changed something",
        c.transformed,
        c.read,
        c.left_out,
        c.excluded,
        c.failed,
        report.rules.len()
    )
}

/// The migration wave of each object (workloads only), from ferry's assessment of the objects themselves.
pub fn waves(objects: &[ApplyObject]) -> Vec<Option<usize>> {
    let file: Arc<str> = "archive".into();
    let knowledge = Knowledge::builtin();
    let strings = Strings::default();
    // One object tree at a time, reduced to its facts at once, so that the trees are never all in memory.
    let facts: Vec<Facts> = objects
        .iter()
        .filter_map(|o| serde_json::from_slice::<Node>(o.body()).ok())
        .map(|root| facts::extract(&Object::from_root(root, Origin { file: file.clone(), document: 1, line: 0 }), knowledge, &strings))
        .collect();
    let options = Options { source: Source::Cluster, ..Default::default() };
    let assessment = ferry_analysis::assess(facts, &LoadReport::default(), &options, knowledge);
    let mut wave_of: HashMap<&ObjRef, usize> = HashMap::new();
    for (index, wave) in assessment.waves.waves.iter().enumerate() {
        for workload in wave.applications.iter().flat_map(|a| &a.workloads) {
            wave_of.insert(workload, index);
        }
    }
    objects.iter().map(|o| wave_of.get(&ObjRef::of(&o.id)).copied()).collect()
}

/// A name for this apply (objects, target), so that `--resume` continues the same run and not another.
pub fn run_key(objects: &[ApplyObject], connection: &Connection) -> String {
    let mut digests: Vec<(String, Vec<u8>)> = objects.iter().map(|o| (journal_key(&o.id), Sha256::digest(o.body()).to_vec())).collect();
    digests.sort();
    let mut hasher = Sha256::new();
    hasher.update(connection.server.as_bytes());
    for (key, digest) in digests {
        hasher.update(key.as_bytes());
        hasher.update(digest);
    }
    hasher.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// `--journal`, else `$XDG_STATE_HOME/ferry/journal/CONTEXT-RUN.jsonl` (or `~/.local/state/...`).
fn journal_path(settings: &ApplySettings, context: &str, run: &str) -> PathBuf {
    if let Some(path) = &settings.journal {
        return path.clone();
    }
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".local/state")))
        .unwrap_or_else(|| PathBuf::from("."));
    let context: String = context.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    state.join("ferry/journal").join(format!("{context}-{run}.jsonl"))
}

fn open_journal(settings: &ApplySettings, connection: &Connection, run: &str, command: &str) -> Result<Journal, CliError> {
    if settings.options.dry_run {
        return Ok(Journal::disabled());
    }
    let path = journal_path(settings, &connection.context, run);
    Journal::open(&path, run, settings.resume).map_err(|e| match &e {
        JournalError::Interrupted { path, .. } => CliError::failure("an earlier run of this apply was interrupted", &e)
            .with_hint(format!("finish it with `{command} --resume` (the same command plus --resume), or delete {} to start over", path.display())),
        JournalError::NothingToResume(_) | JournalError::OtherRun { .. } => {
            CliError::failure("cannot resume", &e).with_hint("run without --resume to start a new apply (an apply of the same objects is safe to repeat)")
        }
        JournalError::Busy { .. } => CliError::failure("another apply is running", &e)
            .with_hint("two applies with one journal would both apply and record the same objects; wait for the other one, or stop it"),
        JournalError::Io { .. } => CliError::failure("cannot use the apply journal", &e).with_hint("choose another file with --journal"),
    })
}

/// Applies prepared objects to the target, prints the summary, and picks the exit status.
pub async fn apply_prepared(connection: &Connection, prepared: Prepared, settings: &ApplySettings, command: &str) -> Result<ExitStatus, CliError> {
    let transformation = prepared.report;
    for line in &prepared.blocked {
        diag!("error: not applied: {line}");
    }
    let wave_of = waves(&prepared.objects);
    let run = run_key(&prepared.objects, connection);
    let mut journal = open_journal(settings, connection, &run, command)?;
    if journal.done_before() > 0 {
        diag!("resuming: {} objects were applied by the interrupted run", journal.done_before());
    }
    let bar = ApplyBar::stderr();
    let started = std::time::Instant::now();
    let report = apply(connection, prepared.objects, &|i| wave_of.get(i).copied().flatten(), &settings.options, &mut journal, &bar).await;
    bar.finish();
    let report = report.map_err(|e| CliError::failure(format!("cannot apply to context `{}`", connection.context), &e))?;
    to_stdout(|out| print_summary(out, &report, &transformation, connection, settings, started.elapsed()))?;
    if report.is_complete() {
        journal.complete().map_err(|e| CliError::failure("cannot finish the apply journal", &e))?;
        Ok(if prepared.blocked.is_empty() { ExitStatus::Success } else { ExitStatus::Blockers })
    } else {
        diag!("hint: fix the cause, then run `{command} --resume` to apply what is missing (journal: {})", journal.path().display());
        Ok(ExitStatus::IncompleteInput)
    }
}

fn print_summary(
    out: &mut dyn Write,
    report: &ApplyReport,
    transformation: &Report,
    connection: &Connection,
    settings: &ApplySettings,
    elapsed: std::time::Duration,
) -> std::io::Result<()> {
    let counts: BTreeMap<&str, usize> = report.counts().into_iter().filter(|(_, n)| *n > 0).collect();
    let mode = if settings.options.dry_run { " (server dry run: nothing stored)" } else { "" };
    let target = format!("context `{}` ({}, Kubernetes {})", connection.context, connection.server, connection.server_version);
    match settings.output {
        SummaryFormat::Json | SummaryFormat::Yaml => {
            let objects: Vec<Value> = report
                .results
                .iter()
                .map(|r| {
                    let message = match &r.outcome {
                        Outcome::Skipped(m) | Outcome::Failed(m) => Some(m.clone()),
                        _ => None,
                    };
                    json!({"apiVersion": r.id.api_version, "kind": r.id.kind, "namespace": r.id.namespace, "name": r.id.name,
                           "step": r.step, "outcome": r.outcome.label(), "message": message})
                })
                .collect();
            let summary = json!({"target": target, "dryRun": settings.options.dry_run, "seconds": elapsed.as_secs_f64(), "counts": counts,
                                 "createdNamespaces": report.created_namespaces, "stopped": report.stopped, "objects": objects,
                                 "transformation": transformation});
            write_structured(out, &summary, settings.output == SummaryFormat::Yaml)?;
        }
        SummaryFormat::Table => {
            writeln!(out, "applied {} objects to {target} in {:.1}s{mode}", report.results.len(), elapsed.as_secs_f64())?;
            let line: Vec<String> = counts.iter().map(|(label, n)| format!("{label} {n}")).collect();
            writeln!(out, "  {}", line.join(", "))?;
            if !report.created_namespaces.is_empty() {
                writeln!(out, "  namespaces created because the input uses them: {}", report.created_namespaces.join(", "))?;
            }
            for result in &report.results {
                if let Outcome::Failed(message) = &result.outcome {
                    writeln!(out, "{}", printable(&format!("  failed: {} ({}): {message}", result.id, result.step)))?;
                }
            }
            if let Some(why) = &report.stopped {
                writeln!(out, "{}", printable(&format!("  stopped early: {why}")))?;
            }
        }
    }
    Ok(())
}

/// `--dry-run=client`: prints the steps and their objects; nothing is sent.
pub fn print_plan(prepared: &Prepared) -> Result<ExitStatus, CliError> {
    let ids: Vec<ObjectId> = prepared.objects.iter().map(|o| o.id.clone()).collect();
    let wave_of = waves(&prepared.objects);
    let steps = ferry_cluster::apply::plan(&ids, &|i| wave_of[i]);
    to_stdout(|out| {
        for (number, step) in steps.iter().enumerate() {
            writeln!(out, "{}. {} ({} objects)", number + 1, step.name, step.objects.len())?;
            for &index in &step.objects {
                writeln!(out, "     {}", ids[index])?;
            }
        }
        Ok(())
    })?;
    for line in &prepared.blocked {
        diag!("error: not applied: {line}");
    }
    Ok(if prepared.blocked.is_empty() { ExitStatus::Success } else { ExitStatus::Blockers })
}

/// Writes `value` as pretty JSON, or with `yaml` as the same document in YAML (keys in the
/// same order): what `-o json` and `-o yaml` print.
pub fn write_structured(out: &mut dyn Write, value: &impl serde::Serialize, yaml: bool) -> std::io::Result<()> {
    let value = serde_json::to_value(value).map_err(std::io::Error::other)?;
    if yaml { out.write_all(ferry_transform::gitops::to_yaml(&value).as_bytes()) } else { writeln!(out, "{}", serde_json::to_string_pretty(&value)?) }
}

/// Writes to standard output; a closed pipe (`| head`) is not an error.
pub fn to_stdout(write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<(), CliError> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match write(&mut out).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::failure("cannot write to standard output", &e)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A standard output whose reader has gone away (`ferry transform --diff | head`).
    struct ClosedPipe;

    impl Write for ClosedPipe {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn changes_are_still_counted_after_the_diff_reader_is_gone() {
        let changed = |name: &str| Ok(serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "uid": "u"}}));
        let options = ferry_transform::Options { target_version: ferry_transform::KubeVersion { major: 1, minor: 30 }, rules: Default::default() };
        let settings = TransformSettings {
            rules: None,
            target_version: None,
            pin_images: None,
            kinds: Default::default(),
            strict: false,
            notes: false,
            report_objects: false,
        };
        let diff = Some(Diff { out: &mut ClosedPipe, show_secrets: false });
        let prepared = transform_all([changed("a"), changed("b"), changed("c")], &options, &settings, diff, apply_object).unwrap();
        assert_eq!(prepared.objects.len(), 3);
        assert_eq!(prepared.changed, 3, "each object lost its uid");
    }
}
