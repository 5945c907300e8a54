//! What `--from` of `transform` and `apply` reads: a ferry archive, or Kubernetes manifests
//! (files, directories, `-` for standard input) through the loader `ferry assess` uses, each
//! object given once as `assess` decides ([`ferry_analysis::keep_one`]).
//!
//! `--from` names an archive when it is an `s3://` URL, a directory with a `manifest.json` at
//! its top, or a file whose name does not end in `.yaml`, `.yml` or `.json`; anything else is
//! manifests (docs/gitops.md).

use std::io::Read as _;
use std::path::{Path, PathBuf};

use ferry_analysis::facts::{CLUSTER_SCOPED, content_digest};
use ferry_analysis::{Given, ObjRef, OnDuplicate, WarningLevel, keep_one};
use ferry_archive::{Entry, Header, Manifest};
use ferry_model::load::{Document, LoadReport, Severity, load_documents, load_text_documents};
use ferry_model::{ObjectId, Origin};
use serde_json::Value;

use crate::args::{ArchiveSettings, InputSettings};
use crate::commands::{archive, pipeline};
use crate::error::{CliError, ExitStatus};
use crate::terminal::{diag, printable};

/// What `--from` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A ferry archive (a tar.zst file, a directory archive, an `s3://` URL).
    Archive(String),
    /// Manifest files or directories.
    Manifests(PathBuf),
    /// Manifests on standard input (`-`).
    Stdin,
}

impl Input {
    /// Tells an archive from manifests (see the module documentation).
    pub fn parse(text: &str) -> Input {
        if text == "-" {
            return Input::Stdin;
        }
        if text.contains("://") {
            return Input::Archive(text.to_owned());
        }
        let path = Path::new(text);
        let manifests = if path.is_dir() {
            !path.join("manifest.json").is_file()
        } else {
            matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json"))
        };
        if manifests { Input::Manifests(path.to_path_buf()) } else { Input::Archive(text.to_owned()) }
    }
}

/// One copy of an object, as far as keeping one copy per object needs (its identity, where it
/// is given and a digest of its content), with what the caller keeps of it.
pub struct Candidate<T> {
    /// Its identity.
    id: ObjectId,
    /// Where it starts.
    pub origin: Origin,
    /// A digest of its content, to tell identical copies from conflicting ones.
    digest: u64,
    /// What is kept of it: the object itself, or its position in the input.
    pub kept: T,
}

/// An object read from manifests, read as Kubernetes reads YAML.
pub type Loaded = Candidate<Value>;

impl<T> Given for Candidate<T> {
    fn key(&self) -> (&str, &str, Option<&str>, &str) {
        (self.id.group(), &self.id.kind, self.id.namespace.as_deref(), &self.id.name)
    }
    fn origin(&self) -> &Origin {
        &self.origin
    }
    fn digest(&self) -> u64 {
        self.digest
    }
    fn obj_ref(&self) -> ObjRef {
        ObjRef::of(&self.id)
    }
}

/// The objects `--from` holds.
pub enum Source {
    /// An archive's manifest and verified members.
    Archive(Manifest, Vec<Entry>),
    /// Objects read from manifests, each once, in input order, and what was refused (objects
    /// no API server accepts, with where they are and why).
    Manifests(Vec<Loaded>, Vec<String>),
}

/// One object of the source: its JSON (or why it cannot be read) and, for an archive member,
/// the resource it was exported through (`--include`/`--exclude` match it).
pub struct Item<R> {
    resource: Option<R>,
    object: Result<Value, CliError>,
}

impl<R: AsRef<str>> pipeline::Input for Item<R> {
    fn resource(&self) -> Option<&str> {
        self.resource.as_ref().map(AsRef::as_ref)
    }
    fn into_value(self) -> Result<Value, CliError> {
        self.object
    }
}

impl Source {
    /// Reads `--from`; `what` ends the error of input that cannot be used ("nothing was written").
    /// Only the objects in `input.scope` are read (`-n`, `-l`).
    pub async fn read(from: &str, settings: &ArchiveSettings, input: &InputSettings, what: &str) -> Result<Source, CliError> {
        let scope = &input.scope;
        let in_scope = |document: Document<'_>| scope.keeps_document(&document).then(|| load(document));
        match Input::parse(from) {
            Input::Archive(text) => {
                let (manifest, mut entries) = archive::read(&text, settings).await?;
                if !scope.is_everything() {
                    // A member that cannot be parsed stays, to fail where every member is read.
                    entries.retain(|entry| archive::parsed(entry).map_or(true, |object| scope.keeps_value(&object)));
                }
                Ok(Source::Archive(manifest, entries))
            }
            Input::Manifests(path) => {
                let (loaded, report) = load_documents(std::slice::from_ref(&path), in_scope).map_err(|e| CliError::failure("cannot read the manifests", &e))?;
                given_once(loaded, &report, input.on_duplicate, what)
            }
            Input::Stdin => {
                let mut text = String::new();
                std::io::stdin().read_to_string(&mut text).map_err(|e| CliError::failure("cannot read manifests from standard input", &e))?;
                let (loaded, report) = load_text_documents("standard input", text, in_scope);
                given_once(loaded, &report, input.on_duplicate, what)
            }
        }
    }

    /// How many objects it holds.
    pub fn len(&self) -> usize {
        match self {
            Source::Archive(_, entries) => entries.len(),
            Source::Manifests(objects, _) => objects.len(),
        }
    }

    /// Each object, parsed (an archive member) or as loaded, in input order, with the resource
    /// an archive read it through.
    pub fn objects(&self) -> impl Iterator<Item = Item<&str>> + '_ {
        (0..self.len()).map(|i| match self {
            Source::Archive(_, entries) => Item { resource: Some(entries[i].resource.as_str()), object: archive::parsed(&entries[i]) },
            Source::Manifests(objects, _) => Item { resource: None, object: Ok(objects[i].kept.clone()) },
        })
    }

    /// Each object, given up one at a time (an archive member is parsed as it comes).
    pub fn into_objects(self) -> Box<dyn Iterator<Item = Item<String>>> {
        match self {
            Source::Archive(_, entries) => Box::new(entries.into_iter().map(|e| {
                let object = archive::parsed(&e);
                Item { resource: Some(e.resource), object }
            })),
            Source::Manifests(objects, _) => Box::new(objects.into_iter().map(|o| Item { resource: None, object: Ok(o.kept) })),
        }
    }

    /// The resource object `index` was exported through (empty for manifests: they do not say).
    pub fn resource(&self, index: usize) -> &str {
        match self {
            Source::Archive(_, entries) => &entries[index].resource,
            Source::Manifests(..) => "",
        }
    }

    /// Objects of the manifests that no API server accepts, each with where it is and why.
    pub fn refused(&self) -> &[String] {
        match self {
            Source::Archive(..) => &[],
            Source::Manifests(_, refused) => refused,
        }
    }

    /// The header for an archive of these objects: the source archive's, or a new one.
    pub fn header(&self) -> Header {
        match self {
            Source::Archive(manifest, _) => manifest.header.clone(),
            Source::Manifests(..) => Header { created: crate::commands::export::now_rfc3339(), ..Header::default() },
        }
    }
}

/// A transformed object (kept as its position in the input), as far as telling copies apart
/// needs: two objects of the input can become the same one when their API versions are
/// converted (`extensions/v1beta1` and `apps/v1beta1` Deployments both become `apps/v1`), and an
/// object that sets no namespace is taken to be in `default`, as kustomize and kubectl's default
/// context take it.
type Converted = Candidate<usize>;

impl Source {
    /// Keeps one of the transformed objects (identity, object, position in the input) that
    /// became the same object, as [`Source::read`] does for the input; returns the copies left out.
    pub fn once_after_transform(&self, objects: &mut Vec<(ObjectId, Value, usize)>, on_duplicate: OnDuplicate, what: &str) -> Result<Vec<String>, CliError> {
        let placed = |id: &ObjectId| {
            let mut id = id.clone();
            if id.namespace.is_none() && !CLUSTER_SCOPED.contains(&id.kind.as_str()) {
                id.namespace = Some("default".to_owned());
            }
            id
        };
        // Copies after conversion are rare: without two objects of one identity there is
        // nothing to compare, and no object is serialised to be digested.
        let placed_ids: Vec<ObjectId> = objects.iter().map(|(id, ..)| placed(id)).collect();
        let all_distinct = {
            let mut seen = std::collections::HashSet::with_capacity(placed_ids.len());
            placed_ids.iter().all(|id| seen.insert((id.group(), &id.kind, &id.namespace, &id.name)))
        };
        if all_distinct {
            return Ok(Vec::new());
        }
        let origin = |index: usize| match self {
            Source::Archive(..) => Origin { file: "the archive".into(), document: index as u32 + 1, line: 0 },
            Source::Manifests(loaded, _) => loaded[index].origin.clone(),
        };
        let digest = |object: &Value| {
            let mut hasher = std::hash::DefaultHasher::new();
            std::hash::Hash::hash(&object.to_string(), &mut hasher);
            std::hash::Hasher::finish(&hasher)
        };
        let mut converted: Vec<Converted> = objects
            .iter()
            .zip(placed_ids)
            .map(|((_, object, index), id)| Converted { id, origin: origin(*index), digest: digest(object), kept: *index })
            .collect();
        let left_out = keep_one(&mut converted, on_duplicate);
        if left_out.copies.is_empty() {
            return Ok(Vec::new());
        }
        let conflicts = report_duplicates(&left_out.warnings, "after conversion");
        if conflicts > 0 {
            return Err(conflict_error(conflicts, what));
        }
        let out: std::collections::HashSet<usize> = left_out.copies.iter().map(|c| c.kept).collect();
        let copies = objects.iter().filter(|(_, _, index)| out.contains(index)).map(|(id, ..)| id.to_string()).collect();
        objects.retain(|(_, _, index)| !out.contains(index));
        Ok(copies)
    }
}

/// Prints duplicate warnings at their level; returns how many are errors.
fn report_duplicates(warnings: &[ferry_analysis::Warning], when: &str) -> usize {
    let mut conflicts = 0;
    for warning in warnings {
        let level = match warning.severity {
            WarningLevel::Error => "error",
            WarningLevel::Warning => "warning",
            WarningLevel::Note => "note",
        };
        conflicts += usize::from(warning.severity == WarningLevel::Error);
        let when = if when.is_empty() { String::new() } else { format!(" ({when})") };
        diag!("{level}: {}{when}", printable(&warning.message));
    }
    conflicts
}

/// The error for objects given twice with different content.
fn conflict_error(conflicts: usize, what: &str) -> CliError {
    CliError::could_not_run(format!("{conflicts} objects are given twice with different content; {what}"))
        .with_hint("remove one copy of each, or choose with `--on-duplicate=first|last`")
        .with_status(ExitStatus::IncompleteInput)
}

/// A document of the input that is not transformed.
enum Skipped {
    /// An unrendered Helm template, at this place.
    Template(Origin),
    /// An object no API server accepts, with why.
    Invalid(Origin, &'static str),
}

/// One document of the input: an object, or why it is skipped.
fn load(document: Document<'_>) -> Result<Loaded, Skipped> {
    if document.templated {
        return Err(Skipped::Template(document.origin));
    }
    for field in ["labels", "annotations"] {
        if document.root.at(&["metadata", field]).is_some_and(|value| !value.is_map() && !value.is_null()) {
            let why = if field == "labels" { "`metadata.labels` is not a mapping" } else { "`metadata.annotations` is not a mapping" };
            return Err(Skipped::Invalid(document.origin, why));
        }
    }
    let digest = content_digest(document.root);
    let object = document.into_object();
    Ok(Loaded { id: object.id, origin: object.origin, digest, kept: object.root.to_json() })
}

/// Reports what the loader noted and keeps one copy of each object; input that cannot be read,
/// or copies that differ with no `--on-duplicate` choice, stop the command.
fn given_once(loaded: Vec<Option<Result<Loaded, Skipped>>>, report: &LoadReport, on_duplicate: OnDuplicate, what: &str) -> Result<Source, CliError> {
    for issue in &report.issues {
        let level = if issue.severity == Severity::Error { "error" } else { "note" };
        diag!("{level}: {}", printable(&issue.to_string()));
    }
    let mut objects = Vec::with_capacity(loaded.len());
    let mut refused = Vec::new();
    for item in loaded.into_iter().flatten() {
        match item {
            Ok(object) => objects.push(object),
            Err(Skipped::Template(origin)) => diag!(
                "warning: {}: an unrendered Helm template is left out; render the chart (`helm template`) and give its output",
                printable(&origin.to_string())
            ),
            Err(Skipped::Invalid(origin, why)) => refused.push(format!("{origin}: {why}; no API server accepts it")),
        }
    }
    let conflicts = report_duplicates(&keep_one(&mut objects, on_duplicate).warnings, "");
    if report.has_errors() {
        return Err(CliError::could_not_run(format!("some manifests cannot be read (listed above); {what}"))
            .with_hint("fix them, or give only the files that can be read")
            .with_status(ExitStatus::IncompleteInput));
    }
    if conflicts > 0 {
        return Err(conflict_error(conflicts, what));
    }
    Ok(Source::Manifests(objects, refused))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_tells_archives_from_manifests() {
        let dir = tempfile::tempdir().unwrap();
        let archive_dir = dir.path().join("archive");
        std::fs::create_dir(&archive_dir).unwrap();
        std::fs::write(archive_dir.join("manifest.json"), "{}").unwrap();
        let text = |p: &Path| p.to_str().unwrap().to_owned();
        assert_eq!(Input::parse("-"), Input::Stdin);
        assert_eq!(Input::parse("s3://bucket/shop.tar.zst"), Input::Archive("s3://bucket/shop.tar.zst".into()));
        assert_eq!(Input::parse("shop.ferry"), Input::Archive("shop.ferry".into()));
        assert_eq!(Input::parse("shop.tar.zst"), Input::Archive("shop.tar.zst".into()));
        assert_eq!(Input::parse(&text(&archive_dir)), Input::Archive(text(&archive_dir)));
        assert_eq!(Input::parse(&text(dir.path())), Input::Manifests(dir.path().to_path_buf()));
        assert_eq!(Input::parse("deploy/app.yaml"), Input::Manifests("deploy/app.yaml".into()));
        assert_eq!(Input::parse("list.json"), Input::Manifests("list.json".into()));
    }
}
