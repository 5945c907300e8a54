//! Loading Kubernetes objects from files and directories of manifests.
//!
//! Directories are walked recursively for `*.yaml`, `*.yml` and `*.json`
//! files (hidden entries and Helm chart `templates/` skipped with a note).
//! Each file is split into documents, documents are parsed in parallel, and
//! each object is handed to the caller's `map` function at once, so that only
//! what the caller keeps stays in memory. `List` documents are expanded.
//! [`load_documents`] hands out [`Document`]s, whose tree borrows the file's
//! text; [`Document::into_object`] makes an owned [`Object`] of one.
//!
//! Anything that is not a Kubernetes object (Kustomization, Chart.yaml, values
//! files, empty documents) is skipped with a note; malformed documents become
//! errors naming file, document and line while the rest of the input loads.

mod split;
mod template;
mod yaml;

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;

use crate::Object;
use crate::doc::{Doc, DocNode};
use crate::id::{ObjectId, Origin};
use crate::node::Node;

/// One object of the input, its tree borrowed from the text being loaded.
#[derive(Debug, Clone)]
pub struct Document<'d> {
    /// API version, kind, namespace and name.
    pub id: DocumentId<'d>,
    /// File, document and line where the object starts.
    pub origin: Origin,
    /// The whole object, with a line number on every value.
    pub root: DocNode<'d>,
    /// Read from an unrendered Helm template: the tree holds only its `apiVersion`, `kind`
    /// and `metadata.name` lines.
    pub templated: bool,
}

impl Document<'_> {
    /// An owned object with a copy of the tree, for callers that keep or change it.
    pub fn into_object(self) -> Object {
        Object { id: self.id.to_object_id(), origin: self.origin, root: self.root.to_node() }
    }
}

/// An [`ObjectId`] borrowed from the document it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentId<'d> {
    /// `apiVersion` as declared.
    pub api_version: &'d str,
    /// `kind`.
    pub kind: &'d str,
    /// `metadata.namespace`, `None` when the manifest leaves it unset.
    pub namespace: Option<&'d str>,
    /// `metadata.name` (or `generateName` followed by `*`, or `(unnamed)`).
    pub name: Cow<'d, str>,
}

impl<'d> DocumentId<'d> {
    /// A borrowed view of an owned identity.
    pub fn of(id: &'d ObjectId) -> DocumentId<'d> {
        DocumentId { api_version: &id.api_version, kind: &id.kind, namespace: id.namespace.as_deref(), name: Cow::Borrowed(&id.name) }
    }

    /// The owned identity.
    pub fn to_object_id(&self) -> ObjectId {
        ObjectId {
            api_version: self.api_version.to_owned(),
            kind: self.kind.to_owned(),
            namespace: self.namespace.map(str::to_owned),
            name: self.name.clone().into_owned(),
        }
    }

    /// The API group (`""` for the core group).
    pub fn group(&self) -> &'d str {
        crate::id::split_api_version(self.api_version).0
    }
}

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

/// Loads every object below `paths`, handing each to `map` (in parallel) as a
/// [`Document`] that borrows the text being read, and keeping what `map` returns,
/// in input order: nothing is copied that `map` does not keep
/// ([`Document::into_object`] makes an owned [`Object`]).
pub fn load_documents<T, F>(paths: &[PathBuf], map: F) -> Result<(Vec<T>, LoadReport), LoadError>
where
    T: Send,
    F: Fn(Document<'_>) -> T + Sync,
{
    let mut report = LoadReport::default();
    let mut out = Vec::new();
    let files = collect_files(paths, &mut report)?;
    // One file at a time, its documents in parallel; the next file is read meanwhile.
    let mut next = files.first().map(read_file);
    for (i, file) in files.iter().enumerate() {
        let text = next.take().expect("read ahead");
        let (loaded, following) = rayon::join(|| load_file(file, text, &map), || files.get(i + 1).map(read_file));
        next = following;
        loaded.add_to(&mut out, &mut report);
    }
    Ok((out, report))
}

/// What part of the input yielded, in input order.
struct Loaded<T> {
    files: u64,
    bytes: u64,
    documents: u64,
    objects: Vec<T>,
    issues: Vec<Issue>,
}

impl<T> Default for Loaded<T> {
    fn default() -> Self {
        Loaded { files: 0, bytes: 0, documents: 0, objects: Vec::new(), issues: Vec::new() }
    }
}

impl<T> Loaded<T> {
    /// `self` followed by `next`.
    fn append(mut self, mut next: Loaded<T>) -> Loaded<T> {
        self.files += next.files;
        self.bytes += next.bytes;
        self.documents += next.documents;
        self.objects.append(&mut next.objects);
        self.issues.append(&mut next.issues);
        self
    }

    fn add_to(self, out: &mut Vec<T>, report: &mut LoadReport) {
        report.files += self.files;
        report.bytes += self.bytes;
        report.documents += self.documents;
        report.objects += self.objects.len() as u64;
        out.extend(self.objects);
        report.issues.extend(self.issues);
    }
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
            // Only regular files (also behind a link) are read from a walk: a named pipe would
            // block the run and a device could be read forever.
            let regular = entry.file_type().is_file() || (entry.path_is_symlink() && std::fs::metadata(path).is_ok_and(|m| m.is_file()));
            if !regular {
                report.issues.push(file_issue(Severity::Note, &path.display().to_string(), SPECIAL_NOTE.into()));
                continue;
            }
            let helm_template = templates.as_ref().is_some_and(|t| path.starts_with(t));
            files.push(InputFile { path: path.to_path_buf(), helm_template });
        }
    }
}

const HELM_NOTE: &str = "Helm chart templates read without rendering: templated documents count only by their `apiVersion`, `kind` and name; render with `helm template` to assess dependencies";

const SPECIAL_NOTE: &str = "skipped: not a regular file (a named pipe, device or socket); name it on the command line to read it";

/// The most that is read from a file named on the command line that is not a regular file (a
/// named pipe such as `<(helm template …)`, a device): `/dev/zero` must not fill memory.
const MAX_SPECIAL_FILE: u64 = 256 << 20;

fn is_hidden(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.'))
}

fn is_helm_templates_dir(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == "templates") && path.parent().is_some_and(|chart| chart.join("Chart.yaml").is_file())
}

fn has_manifest_extension(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json"))
}

fn file_issue(severity: Severity, file: &str, message: String) -> Issue {
    Issue { severity, location: Location::file(file.into()), message }
}

/// A file's text, split into documents.
struct Source {
    text: String,
    /// Each document as (start, end, index, first line), the text's byte-order mark left out.
    documents: Vec<(usize, usize, u32, u32)>,
}

impl Source {
    fn new(text: String, json: bool) -> Source {
        let body = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let chunks = if json { vec![split::Chunk { text: body, index: 1, first_line: 1 }] } else { split::split_documents(body) };
        let base = text.as_ptr() as usize;
        let documents = chunks
            .iter()
            .map(|c| {
                let start = c.text.as_ptr() as usize - base;
                (start, start + c.text.len(), c.index, c.first_line)
            })
            .collect();
        Source { text, documents }
    }

    fn chunks(&self) -> Vec<split::Chunk<'_>> {
        self.documents.iter().map(|&(start, end, index, first_line)| split::Chunk { text: &self.text[start..end], index, first_line }).collect()
    }
}

/// Reads and splits a file (while the documents of the one before are being loaded).
fn read_file(input: &InputFile) -> Result<Source, String> {
    let json = input.path.extension().is_some_and(|e| e == "json");
    read_text(&input.path).map(|text| Source::new(text, json))
}

fn load_file<T, F>(input: &InputFile, source: Result<Source, String>, map: &F) -> Loaded<T>
where
    T: Send,
    F: Fn(Document<'_>) -> T + Sync,
{
    let file: Arc<str> = input.path.display().to_string().into();
    let source = match source {
        Ok(source) => source,
        Err(message) => {
            return Loaded { issues: vec![file_issue(Severity::Error, &file, message)], ..Loaded::default() };
        }
    };
    let loaded = load_source(&file, &source, input.helm_template, map);
    Loaded { files: 1, ..loaded }
}

/// Loads the objects of text that did not come from a file of its own (a Helm
/// release's stored manifest, say), handing out [`Document`]s as [`load_documents`]
/// does; `name` stands for the file in evidence and issues.
pub fn load_text_documents<T, F>(name: &str, text: String, map: F) -> (Vec<T>, LoadReport)
where
    T: Send,
    F: Fn(Document<'_>) -> T + Sync,
{
    let (mut out, mut report) = (Vec::new(), LoadReport::default());
    let source = Source::new(text, false);
    load_source(&Arc::from(name), &source, false, &map).add_to(&mut out, &mut report);
    (out, report)
}

fn load_source<T, F>(file: &Arc<str>, source: &Source, helm_template: bool, map: &F) -> Loaded<T>
where
    T: Send,
    F: Fn(Document<'_>) -> T + Sync,
{
    let bytes = source.text.len() as u64;
    let loaded = source
        .chunks()
        .par_iter()
        .fold(Loaded::default, |loaded, chunk| load_chunk(loaded, chunk, file, helm_template, map))
        .reduce(Loaded::default, Loaded::append);
    Loaded { bytes, ..loaded }
}

fn read_text(path: &Path) -> Result<String, String> {
    let bytes = read_bytes(path).map_err(|e| format!("cannot read: {e}"))?;
    if bytes.contains(&0)
        && let Some(pos) = bytes.iter().position(|&b| b == 0)
    {
        return Err(format!("not a text file (NUL byte at offset {pos})"));
    }
    String::from_utf8(bytes).map_err(|e| format!("not UTF-8 text (invalid byte at offset {})", e.utf8_error().valid_up_to()))
}

/// A file's bytes; one that is not a regular file (a pipe, a device) is read up to
/// [`MAX_SPECIAL_FILE`], so that `/dev/zero` is refused rather than read until memory runs out.
pub fn read_bytes(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let file = std::fs::File::open(path)?;
    let metadata = file.metadata()?;
    let limit = if metadata.is_file() { u64::MAX } else { MAX_SPECIAL_FILE };
    let mut bytes = Vec::with_capacity(metadata.len().min(MAX_SPECIAL_FILE) as usize);
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::other(format!("it is not a regular file and holds more than {} MiB", MAX_SPECIAL_FILE >> 20)));
    }
    Ok(bytes)
}

/// Adds what one chunk of a file holds to what the chunks before it in the same range yielded.
fn load_chunk<T, F>(mut result: Loaded<T>, chunk: &split::Chunk<'_>, file: &Arc<str>, helm_template: bool, map: &F) -> Loaded<T>
where
    F: Fn(Document<'_>) -> T,
{
    let issue = |severity, line, field: Option<&str>, message: String| Issue {
        severity,
        location: Location::at(file.clone(), chunk.index, line, field.map(str::to_owned)),
        message,
    };
    let templated = helm_template && chunk.text.contains("{{");
    let header = if templated { template::header(chunk.text, chunk.first_line) } else { None };
    let parsed = match (&header, templated) {
        (Some(node), _) => Ok(Doc::from_node(node)),
        (None, true) => Ok(Doc::default()),
        (None, false) => yaml::parse_documents(chunk.text, chunk.first_line),
    };
    let doc = match parsed {
        Ok(doc) => doc,
        Err(err) => {
            result.documents += 1;
            let hint = if chunk.text.contains("{{") { " (this looks like an unrendered template)" } else { "" };
            result.issues.push(issue(Severity::Error, err.line, None, format!("invalid YAML: {}{hint}", err.message)));
            return result;
        }
    };
    for root in doc.roots().flatten() {
        result.documents += 1;
        let origin = Origin { file: file.clone(), document: chunk.index, line: root.line() };
        for outcome in classify(root, &origin) {
            let (object, problem) = match outcome {
                Ok((object, problem)) => (Some(object), problem),
                Err(skip) => (None, Some(skip)),
            };
            if let Some(skip) = problem {
                result.issues.push(issue(skip.severity, skip.line, skip.field, skip.message));
            }
            if let Some((id, origin, root)) = object {
                result.objects.push(map(Document { id, origin, root, templated: header.is_some() }));
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

/// An object found in a document: its identity, where it starts, and its tree.
type Found<'d> = (DocumentId<'d>, Origin, DocNode<'d>);

/// Turns one document into objects: a single object, a `List`'s items, or a skip.
fn classify<'d>(root: DocNode<'d>, origin: &Origin) -> Vec<Result<(Found<'d>, Option<Skip>), Skip>> {
    let note = |message: &str| Skip { severity: Severity::Note, line: root.line(), field: None, message: message.into() };
    if !root.is_map() {
        return vec![Err(note("skipped: not a Kubernetes object (the document is not a mapping)"))];
    }
    let (Some(api_version), Some(kind)) = (root.str_at("apiVersion"), root.str_at("kind")) else {
        return vec![Err(note("skipped: not a Kubernetes object (no `apiVersion` and `kind`)"))];
    };
    if api_version.starts_with("kustomize.config.k8s.io/") {
        return vec![Err(note("skipped: Kustomize configuration; render it with `kubectl kustomize` to assess the result"))];
    }
    if is_list(kind, root) {
        return expand_list(root, origin);
    }
    vec![Ok(found(root, origin.clone()))]
}

fn is_list(kind: &str, root: DocNode<'_>) -> bool {
    kind.ends_with("List") && root.get("items").is_some_and(DocNode::is_seq)
}

fn expand_list<'d>(root: DocNode<'d>, origin: &Origin) -> Vec<Result<(Found<'d>, Option<Skip>), Skip>> {
    // The first `items` entry, as a mapping's look-up finds it.
    let Some(items) = root.get("items") else { return Vec::new() };
    items
        .items()
        .map(|item| {
            if item.str_at("apiVersion").is_none() || item.str_at("kind").is_none() {
                return Err(Skip {
                    severity: Severity::Error,
                    line: item.line(),
                    field: Some("items[].kind"),
                    message: "List item has no `apiVersion` and `kind`".into(),
                });
            }
            Ok(found(item, origin.at_line(item.line())))
        })
        .collect()
}

/// Kinds the API server never stores, which therefore need no name.
const UNNAMED_KINDS: &[&str] = &[
    "TokenReview",
    "SubjectAccessReview",
    "LocalSubjectAccessReview",
    "SelfSubjectAccessReview",
    "SelfSubjectRulesReview",
    "SelfSubjectReview",
    "TokenRequest",
];

impl Object {
    /// An object from a document tree that already has its `apiVersion` and
    /// `kind` (an item read from a cluster, say); without a name it is `(unnamed)`.
    pub fn from_root(root: Node, origin: Origin) -> Object {
        Object { id: object_id(&root), origin: Origin { line: root.line, ..origin }, root }
    }
}

/// The identity of an object tree, read as the loader reads it: `generateName` followed by `*`
/// without a name, `(unnamed)` without either.
pub fn object_id(root: &Node) -> ObjectId {
    identity(root).0.to_object_id()
}

fn found(root: DocNode<'_>, origin: Origin) -> (Found<'_>, Option<Skip>) {
    let (id, problem) = identity(root);
    ((id, Origin { line: root.line(), ..origin }, root), problem)
}

/// The reads [`identity`] needs, so that it works on an owned tree and a borrowed one alike.
trait IdentityTree<'a>: Copy {
    fn child(self, key: &str) -> Option<Self>;
    fn text(self) -> Option<&'a str>;
    fn start_line(self) -> u32;
    fn text_at(self, path: &[&str]) -> Option<&'a str> {
        path.iter().try_fold(self, |node, key| node.child(key))?.text()
    }
}

impl<'a> IdentityTree<'a> for &'a Node {
    fn child(self, key: &str) -> Option<Self> {
        self.get(key)
    }
    fn text(self) -> Option<&'a str> {
        self.as_str()
    }
    fn start_line(self) -> u32 {
        self.line
    }
}

impl<'a> IdentityTree<'a> for DocNode<'a> {
    fn child(self, key: &str) -> Option<Self> {
        self.get(key)
    }
    fn text(self) -> Option<&'a str> {
        self.as_str()
    }
    fn start_line(self) -> u32 {
        self.line()
    }
}

/// The object's identity; a missing name is reported (except for review kinds) but the object is kept,
/// so that its API version is still assessed.
fn identity<'a>(root: impl IdentityTree<'a>) -> (DocumentId<'a>, Option<Skip>) {
    let kind = root.text_at(&["kind"]).unwrap_or_default();
    let name = root
        .text_at(&["metadata", "name"])
        .map(Cow::Borrowed)
        .or_else(|| root.text_at(&["metadata", "generateName"]).map(|prefix| Cow::Owned(format!("{prefix}*"))));
    let problem = match &name {
        None if !UNNAMED_KINDS.contains(&kind) => Some(Skip {
            severity: Severity::Error,
            line: root.child("metadata").unwrap_or(root).start_line(),
            field: Some("metadata.name"),
            message: format!("{kind} has no `metadata.name`; kept as `(unnamed)` but it cannot be applied as written"),
        }),
        _ => None,
    };
    let id = DocumentId {
        api_version: root.text_at(&["apiVersion"]).unwrap_or_default(),
        kind,
        namespace: root.text_at(&["metadata", "namespace"]),
        name: name.unwrap_or(Cow::Borrowed("(unnamed)")),
    };
    (id, problem)
}

#[cfg(test)]
mod tests;
