//! Loading Kubernetes objects from files and directories of manifests.
//!
//! Directories are walked recursively for `*.yaml`, `*.yml` and `*.json`
//! files (hidden entries and Helm chart `templates/` skipped with a note).
//! Each file is split into documents, documents are parsed in parallel, and
//! each object is handed to the caller's `map` function at once, so that only
//! what the caller keeps stays in memory. `List` documents are expanded.
//!
//! Anything that is not a Kubernetes object (Kustomization, Chart.yaml, values
//! files, empty documents) is skipped with a note; malformed documents become
//! errors naming file, document and line while the rest of the input loads.

mod split;
mod template;
mod yaml;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;

use crate::id::{ObjectId, Origin};
use crate::node::Node;
use crate::Object;

/// How serious an [`Issue`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Something was skipped on purpose; the assessment is still complete.
    Note,
    /// Some input could not be read; the assessment is missing it.
    Error,
}

/// Where in the input something is, as precisely as known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// The file concerned (for objects read from a cluster, the object's address).
    pub file: Arc<str>,
    /// 1-based document index within the file, when it concerns one document.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<u32>,
    /// 1-based line, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// The field concerned, e.g. `metadata.name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl Location {
    /// A whole file (or source).
    pub fn file(file: Arc<str>) -> Location {
        Location { file, document: None, line: None, field: None }
    }

    /// A place in one document; line 0 (a source without lines, such as a cluster) is left unknown.
    pub fn at(file: Arc<str>, document: u32, line: u32, field: Option<String>) -> Location {
        Location { file, document: Some(document), line: (line > 0).then_some(line), field }
    }

    /// `file:line`, or `file` when the line is unknown.
    pub fn file_and_line(&self) -> String {
        match self.line {
            Some(line) => format!("{}:{line}", self.file),
            None => self.file.to_string(),
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.file_and_line())?;
        if let Some(doc) = self.document {
            write!(f, " (document {doc})")?;
        }
        if let Some(field) = &self.field {
            write!(f, " `{field}`")?;
        }
        Ok(())
    }
}

/// A problem or a skipped part of the input, located as precisely as known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    /// Note or error.
    pub severity: Severity,
    /// Where.
    #[serde(flatten)]
    pub location: Location,
    /// What happened, written for the user.
    pub message: String,
}

impl std::fmt::Display for Issue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// Counts and issues from one load.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LoadReport {
    /// Files read.
    pub files: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Non-empty documents seen.
    pub documents: u64,
    /// Kubernetes objects produced (List items counted one by one).
    pub objects: u64,
    /// Notes and errors, in input order.
    pub issues: Vec<Issue>,
}

impl LoadReport {
    /// Whether any input could not be read.
    pub fn has_errors(&self) -> bool {
        self.issues.iter().any(|i| i.severity == Severity::Error)
    }
}

/// A fatal problem: a path given by the user cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The path does not exist or cannot be opened.
    #[error("cannot read `{path}`")]
    Unreadable {
        /// The path as given.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Loads every object below `paths`, handing each to `map` (in parallel) and
/// keeping what it returns, in input order.
pub fn load_paths<T, F>(paths: &[PathBuf], map: F) -> Result<(Vec<T>, LoadReport), LoadError>
where
    T: Send,
    F: Fn(Object) -> T + Sync,
{
    let mut report = LoadReport::default();
    let mut out = Vec::new();
    let files = collect_files(paths, &mut report)?;
    for file in files {
        load_file(&file, &map, &mut out, &mut report);
    }
    Ok((out, report))
}

/// A file to read, and whether it is an unrendered Helm template.
struct InputFile {
    path: PathBuf,
    helm_template: bool,
}

fn collect_files(paths: &[PathBuf], report: &mut LoadReport) -> Result<Vec<InputFile>, LoadError> {
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|source| LoadError::Unreadable { path: path.clone(), source })?;
        if meta.is_dir() {
            walk_dir(path, &mut files, report);
        } else {
            files.push(InputFile { path: path.clone(), helm_template: false });
        }
    }
    Ok(files)
}

fn walk_dir(root: &Path, files: &mut Vec<InputFile>, report: &mut LoadReport) {
    let mut walker = walkdir::WalkDir::new(root).sort_by_file_name().into_iter();
    let mut templates: Option<PathBuf> = None;
    while let Some(entry) = walker.next() {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                let file = err.path().unwrap_or(root).display().to_string();
                report.issues.push(file_issue(Severity::Error, &file, format!("cannot read: {err}")));
                continue;
            }
        };
        let path = entry.path();
        if entry.depth() > 0 && is_hidden(path) {
            if entry.file_type().is_dir() {
                walker.skip_current_dir();
            }
            continue;
        }
        if entry.file_type().is_dir() {
            if is_helm_templates_dir(path) {
                report.issues.push(file_issue(Severity::Note, &path.display().to_string(), HELM_NOTE.into()));
                templates = Some(path.to_path_buf());
            }
        } else if has_manifest_extension(path) {
            let helm_template = templates.as_ref().is_some_and(|t| path.starts_with(t));
            files.push(InputFile { path: path.to_path_buf(), helm_template });
        }
    }
}

const HELM_NOTE: &str = "Helm chart templates read without rendering: templated documents count only by their `apiVersion`, `kind` and name; render with `helm template` to assess dependencies";

fn is_hidden(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.'))
}

fn is_helm_templates_dir(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == "templates")
        && path.parent().is_some_and(|chart| chart.join("Chart.yaml").is_file())
}

fn has_manifest_extension(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json"))
}

fn file_issue(severity: Severity, file: &str, message: String) -> Issue {
    Issue { severity, location: Location::file(file.into()), message }
}

fn load_file<T, F>(input: &InputFile, map: &F, out: &mut Vec<T>, report: &mut LoadReport)
where
    T: Send,
    F: Fn(Object) -> T + Sync,
{
    let path = input.path.as_path();
    let file: Arc<str> = path.display().to_string().into();
    let text = match read_text(path) {
        Ok(text) => text,
        Err(message) => {
            report.issues.push(file_issue(Severity::Error, &file, message));
            return;
        }
    };
    report.files += 1;
    let json = path.extension().is_some_and(|e| e == "json");
    load_source(&file, &text, json, input.helm_template, map, out, report);
}

/// Loads the objects of text that did not come from a file of its own (a Helm
/// release's stored manifest, say); `name` stands for the file in evidence and issues.
pub fn load_text<T, F>(name: &str, text: &str, map: F) -> (Vec<T>, LoadReport)
where
    T: Send,
    F: Fn(Object) -> T + Sync,
{
    let (mut out, mut report) = (Vec::new(), LoadReport::default());
    load_source(&Arc::from(name), text, false, false, &map, &mut out, &mut report);
    (out, report)
}

fn load_source<T, F>(file: &Arc<str>, text: &str, json: bool, helm_template: bool, map: &F, out: &mut Vec<T>, report: &mut LoadReport)
where
    T: Send,
    F: Fn(Object) -> T + Sync,
{
    report.bytes += text.len() as u64;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let chunks = if json { vec![split::Chunk { text, index: 1, first_line: 1 }] } else { split::split_documents(text) };
    let results: Vec<DocResult<T>> = chunks.par_iter().map(|chunk| load_chunk(chunk, file, helm_template, map)).collect();
    for result in results {
        report.documents += result.documents;
        report.objects += result.objects.len() as u64;
        out.extend(result.objects);
        report.issues.extend(result.issues);
    }
}

fn read_text(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    if let Some(pos) = bytes.iter().position(|&b| b == 0) {
        return Err(format!("not a text file (NUL byte at offset {pos})"));
    }
    String::from_utf8(bytes).map_err(|e| format!("not UTF-8 text (invalid byte at offset {})", e.utf8_error().valid_up_to()))
}

struct DocResult<T> {
    documents: u64,
    objects: Vec<T>,
    issues: Vec<Issue>,
}

fn load_chunk<T, F>(chunk: &split::Chunk<'_>, file: &Arc<str>, helm_template: bool, map: &F) -> DocResult<T>
where
    F: Fn(Object) -> T,
{
    let mut result = DocResult { documents: 0, objects: Vec::new(), issues: Vec::new() };
    let issue = |severity, line, field: Option<&str>, message: String| Issue {
        severity,
        location: Location::at(file.clone(), chunk.index, line, field.map(str::to_owned)),
        message,
    };
    let templated = helm_template && chunk.text.contains("{{");
    let parsed = if templated { Ok(vec![template::header(chunk.text, chunk.first_line)]) } else { yaml::parse_documents(chunk.text, chunk.first_line) };
    let documents = match parsed {
        Ok(documents) => documents,
        Err(err) => {
            result.documents = 1;
            let hint = if chunk.text.contains("{{") { " (this looks like an unrendered template)" } else { "" };
            result.issues.push(issue(Severity::Error, err.line, None, format!("invalid YAML: {}{hint}", err.message)));
            return result;
        }
    };
    for root in documents.into_iter().flatten() {
        result.documents += 1;
        let origin = Origin { file: file.clone(), document: chunk.index, line: root.line };
        for outcome in classify(root, origin) {
            let (object, problem) = match outcome {
                Ok(found) => (Some(found.0), found.1),
                Err(skip) => (None, Some(skip)),
            };
            if let Some(skip) = problem {
                result.issues.push(issue(skip.severity, skip.line, skip.field, skip.message));
            }
            if let Some(object) = object {
                result.objects.push(map(object));
            }
        }
    }
    result
}

struct Skip {
    severity: Severity,
    line: u32,
    field: Option<&'static str>,
    message: String,
}

/// Turns one document into objects: a single object, a `List`'s items, or a skip.
fn classify(root: Node, origin: Origin) -> Vec<Result<(Object, Option<Skip>), Skip>> {
    let note = |message: &str| Skip { severity: Severity::Note, line: root.line, field: None, message: message.into() };
    if !root.is_map() {
        return vec![Err(note("skipped: not a Kubernetes object (the document is not a mapping)"))];
    }
    let (Some(api_version), Some(kind)) = (root.str_at("apiVersion"), root.str_at("kind")) else {
        return vec![Err(note("skipped: not a Kubernetes object (no `apiVersion` and `kind`)"))];
    };
    if api_version.starts_with("kustomize.config.k8s.io/") {
        return vec![Err(note("skipped: Kustomize configuration; render it with `kubectl kustomize` to assess the result"))];
    }
    if is_list(kind, &root) {
        return expand_list(root, &origin);
    }
    vec![Ok(object(root, origin))]
}

fn is_list(kind: &str, root: &Node) -> bool {
    kind.ends_with("List") && matches!(root.get("items").map(|n| &n.value), Some(crate::Value::Seq(_)))
}

fn expand_list(root: Node, origin: &Origin) -> Vec<Result<(Object, Option<Skip>), Skip>> {
    let crate::Value::Map(entries) = root.value else { return Vec::new() };
    let items = entries.into_iter().find(|(k, _)| k == "items").map(|(_, v)| v);
    let Some(Node { value: crate::Value::Seq(items), .. }) = items else { return Vec::new() };
    items
        .into_iter()
        .map(|item| {
            if item.str_at("apiVersion").is_none() || item.str_at("kind").is_none() {
                return Err(Skip {
                    severity: Severity::Error,
                    line: item.line,
                    field: Some("items[].kind"),
                    message: "List item has no `apiVersion` and `kind`".into(),
                });
            }
            let line = item.line;
            Ok(object(item, origin.at_line(line)))
        })
        .collect()
}

/// Kinds the API server never stores, which therefore need no name.
const UNNAMED_KINDS: &[&str] = &[
    "TokenReview", "SubjectAccessReview", "LocalSubjectAccessReview", "SelfSubjectAccessReview",
    "SelfSubjectRulesReview", "SelfSubjectReview", "TokenRequest",
];

impl Object {
    /// An object from a document tree that already has its `apiVersion` and
    /// `kind` (an item read from a cluster, say); without a name it is `(unnamed)`.
    pub fn from_root(root: Node, origin: Origin) -> Object {
        object(root, origin).0
    }
}

/// Builds the object; a missing name is reported (except for review kinds) but the object is kept,
/// so that its API version is still assessed.
fn object(root: Node, origin: Origin) -> (Object, Option<Skip>) {
    let kind = root.str_at("kind").unwrap_or_default().to_owned();
    let name = root.at(&["metadata", "name"]).and_then(Node::as_str).map(str::to_owned).or_else(|| {
        root.at(&["metadata", "generateName"]).and_then(Node::as_str).map(|prefix| format!("{prefix}*"))
    });
    let problem = match &name {
        None if !UNNAMED_KINDS.contains(&kind.as_str()) => Some(Skip {
            severity: Severity::Error,
            line: root.get("metadata").map_or(root.line, |m| m.line),
            field: Some("metadata.name"),
            message: format!("{kind} has no `metadata.name`; kept as `(unnamed)` but it cannot be applied as written"),
        }),
        _ => None,
    };
    let id = ObjectId {
        api_version: root.str_at("apiVersion").unwrap_or_default().to_owned(),
        kind,
        namespace: root.at(&["metadata", "namespace"]).and_then(Node::as_str).map(str::to_owned),
        name: name.unwrap_or_else(|| "(unnamed)".to_owned()),
    };
    (Object { id, origin: Origin { line: root.line, ..origin }, root }, problem)
}

#[cfg(test)]
mod tests;
