//! Pure analysis of Kubernetes objects for a migration: inventory, dependency
//! matrix, managed-cloud dependencies with counterparts, deprecated APIs and
//! migration waves.
//!
//! Nothing here does I/O beyond handing paths to the loader: objects are
//! reduced to [`facts::Facts`] as they stream in, and the [`Assessment`] is
//! computed from facts alone.
//!
//! ```no_run
//! use ferry_analysis::{assess_paths, Options};
//! let assessment = assess_paths(&["manifests/".into()], &Options::default()).unwrap();
//! println!("{} objects, {} removed APIs", assessment.inventory.total, assessment.removed_apis().count());
//! ```

mod absent;
pub mod assessment;
mod duplicates;
mod emulated;
mod endpoints;
pub mod facts;
mod helm;
pub mod hosts;
pub mod inventory;
pub mod knowledge;
mod orphans;
mod resolve;
pub mod scope;
pub mod selector;
mod strings;
pub mod waves;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

pub use assessment::*;
pub use duplicates::{DUPLICATE_OBJECT, Given, LeftOut, OnDuplicate, keep_one};
pub use emulated::EMULATED_IN_CLUSTER;
pub use endpoints::{ExternalEndpoint, Network};
use facts::{Class, Facts};
use ferry_model::load::{DocumentId, LoadError, LoadReport, Location, load_documents};
use ferry_model::{Manifest, Object};
pub use knowledge::{Knowledge, KubeVersion};
pub use orphans::ORPHAN;
use rayon::prelude::*;
pub use scope::Scope;
pub use strings::Strings;
use thin_vec::ThinVec;

/// The Kubernetes version assessed against when none is given: the newest
/// release whose removals the deprecation table covers.
pub const DEFAULT_TARGET_VERSION: KubeVersion = KubeVersion { major: 1, minor: 36 };

/// Target profiles that have counterparts in the knowledge table.
pub const PROFILES: &[&str] = &["oss", "aks", "eks", "gke"];

/// What to assess against.
#[derive(Debug, Clone)]
pub struct Options {
    /// Target Kubernetes version.
    pub target_version: KubeVersion,
    /// Target profile for counterparts (one of [`PROFILES`]).
    pub profile: String,
    /// Where the objects came from.
    pub source: Source,
    /// Which copy of an object given more than once is assessed, and how loudly the others are reported.
    pub on_duplicate: OnDuplicate,
    /// Whether an input without any Kubernetes object is fine (otherwise it is an error, [`NO_OBJECTS`]).
    pub allow_empty: bool,
    /// Which objects of manifests are assessed (`-n`, `-l`); a cluster is read in scope already.
    pub scope: Scope,
}

/// The warning code of an input without Kubernetes objects.
pub const NO_OBJECTS: &str = "no-objects";

/// Where the assessed objects came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Source {
    /// Manifest files: each object's `apiVersion` is what its author wrote.
    #[default]
    Manifests,
    /// A live cluster: `apiVersion` is the version ferry chose to read, so the
    /// version recorded by `kubectl apply` is reported as evidence of how it was applied.
    Cluster,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            target_version: DEFAULT_TARGET_VERSION,
            profile: "oss".into(),
            source: Source::Manifests,
            on_duplicate: OnDuplicate::default(),
            allow_empty: false,
            scope: Scope::default(),
        }
    }
}

/// Loads everything below `paths` and assesses it.
///
/// Each document is reduced to its facts while the loader reads it, with its
/// tree still borrowing the file's text; only the facts are kept.
pub fn assess_paths(paths: &[PathBuf], options: &Options) -> Result<Assessment, LoadError> {
    let knowledge = Knowledge::builtin();
    let strings = Strings::default();
    let scope = &options.scope;
    let (facts, mut report) =
        load_documents(paths, |document| scope.keeps_document(&document).then(|| facts::extract_document(document, knowledge, &strings)))?;
    let mut facts: Vec<Facts> = facts.into_iter().flatten().collect();
    facts.shrink_to_fit();
    drop(strings);
    let read = report.objects;
    report.objects = facts.len() as u64;
    let mut assessment = assess(facts, &report, options, knowledge);
    // Unreadable documents explain an empty result better, and are errors already.
    if report.objects == 0 && !report.has_errors() {
        assessment.warnings.insert(0, no_objects(paths, read, options.allow_empty));
    }
    Ok(assessment)
}

/// The warning for input without a single Kubernetes object (or none in `-n`/`-l`'s scope of
/// the `read` ones): an error unless allowed.
fn no_objects(paths: &[PathBuf], read: u64, allowed: bool) -> Warning {
    let shown: Vec<String> = paths.iter().map(|p| format!("`{}`", p.display())).collect();
    let message = match read {
        0 => format!("no Kubernetes objects in {}; did you forget to render Helm or Kustomize?", shown.join(", ")),
        n => format!("none of the {n} Kubernetes objects in {} is in the namespaces and selector given (-n, -l)", shown.join(", ")),
    };
    Warning { severity: if allowed { WarningLevel::Note } else { WarningLevel::Error }, code: NO_OBJECTS.into(), message, object: None, location: None }
}

/// Assesses objects read elsewhere (from a cluster, say); `report` describes the reading.
/// Each object is dropped as soon as its facts are extracted.
pub fn assess_objects(objects: Vec<Object>, report: &LoadReport, options: &Options) -> Assessment {
    let knowledge = Knowledge::builtin();
    let strings = Strings::default();
    let facts: Vec<Facts> = objects.into_par_iter().map(|object| facts::extract(&object, knowledge, &strings)).collect();
    drop(strings);
    assess(facts, report, options, knowledge)
}

/// Tells, object by object as a cluster is read, whether Kubernetes made an object (what
/// `ferry export` leaves out unless asked): the same decision as the assessment's, without
/// extracting facts. Most objects are told from themselves at once; objects named like a
/// Service's endpoints only once every Service has been seen ([`Provenance::decide`]). The
/// objects of a page can be judged by a provenance of their own, merged later.
#[derive(Debug, Default)]
pub struct Provenance {
    /// Namespace and name of every Service seen that selects pods.
    services: HashSet<(Option<String>, String)>,
}

/// What [`Provenance::judge`] tells of an object alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Made by Kubernetes (by this rule), or not.
    Known(Option<knowledge::Generated>),
    /// Named like the endpoints of a Service: decided by [`Provenance::decide`].
    AwaitsServices,
}

impl Provenance {
    /// Judges one object, and notes it if it is a Service that selects pods.
    pub fn judge<M: Manifest>(&mut self, object: &M) -> Verdict {
        let rules = knowledge::GeneratedRules::builtin();
        let id = object.id();
        if id.kind == "Service" && object.tree().is_some_and(|root| root.at(&["spec", "selector"]).is_some()) {
            self.services.insert((id.namespace.clone(), id.name.clone()));
        }
        match rules.classify(id, object.outline()) {
            None if rules.waits_for_services(&DocumentId::of(id)) => Verdict::AwaitsServices,
            generated => Verdict::Known(generated),
        }
    }

    /// Adds the Services `later` has seen.
    pub fn merge(&mut self, later: Provenance) {
        self.services.extend(later.services);
    }

    /// What made an object judged [`Verdict::AwaitsServices`], once every Service has been judged.
    pub fn decide<M: Manifest>(&self, object: &M) -> Option<knowledge::Generated> {
        let rules = knowledge::GeneratedRules::builtin();
        rules.by_service(&DocumentId::of(object.id()), |namespace, name| self.services.contains(&(namespace.map(str::to_owned), name.to_owned())))
    }
}

/// Assesses facts already extracted. Objects Kubernetes made itself are
/// counted in the inventory and otherwise left out; an object given more than once is
/// assessed once, and the copies left out are reported ([`OnDuplicate`]).
///
/// Independent sections are computed in parallel; facts are given up as soon
/// as nothing needs them (references, mentions and selectors once the matrix is built),
/// and the inventory takes the names and images it lists from the facts
/// rather than copying them.
pub fn assess(mut facts: Vec<Facts>, report: &LoadReport, options: &Options, knowledge: &Knowledge) -> Assessment {
    let left_out = duplicates::keep_one(&mut facts, options.on_duplicate);
    mark_controller_endpoints(&mut facts, knowledge);
    let generated: Vec<Facts> = facts.extract_if(.., |f| f.generated.is_some()).collect();
    let emulated = emulated::take_emulated(&mut facts, knowledge);
    let (mut resolved, deprecations) = rayon::join(
        || resolve::resolve(&facts, knowledge.endpoints),
        || deprecation_findings(facts.iter().chain(left_out.copies.iter().filter(|f| f.generated.is_none())), options, knowledge),
    );
    for f in &mut facts {
        f.refs = ThinVec::new();
        f.mentions = ThinVec::new();
        // The warnings still name where a selector is written, not what it selects.
        if let Some(selector) = &mut f.selector {
            selector.value = selector::Selector::default();
        }
    }
    let (waves, (mut cloud, mut warnings)) = rayon::join(
        || waves::waves(&facts, &resolved.workload_needs, &resolved.dependencies),
        || (cloud_findings(&facts, &resolved.users, options, knowledge), warnings(&facts, report, left_out, &resolved, knowledge)),
    );
    cloud.extend(absent::absent_findings(&resolved.dependencies, &options.profile, knowledge));
    warnings.extend(emulated);
    let endpoints = std::mem::take(&mut resolved.endpoints);
    let inventory = inventory::inventory(facts, &generated);
    Assessment {
        schema: SCHEMA,
        target: Target { kubernetes: options.target_version, profile: options.profile.clone() },
        input: InputSummary { files: report.files, documents: report.documents, objects: report.objects, bytes: report.bytes, cluster: None },
        inventory,
        dependencies: resolved.dependencies,
        cloud,
        endpoints,
        deprecations,
        waves,
        warnings,
    }
}

/// Endpoints named like a Service with a selector are the endpoints controller's, not the user's.
fn mark_controller_endpoints(facts: &mut [Facts], knowledge: &Knowledge) {
    let selects_pods = |f: &Facts| f.class == Class::Service && f.selector.is_some();
    let by_services = knowledge.generated.selected_by_services(facts, |f| f.id.document_id(), selects_pods);
    for (f, by_service) in facts.iter_mut().zip(by_services) {
        if f.generated.is_none() {
            f.generated = by_service.map(Box::new);
        }
    }
}

fn evidence(f: &Facts, line: u32, path: &str) -> Evidence {
    Evidence { file: f.origin.file.clone().into(), line, path: path.into() }
}

/// A cloud service's texts, shared by all its findings.
struct ServiceTexts {
    provider: Text,
    id: Text,
    name: Text,
    category: Text,
    counterpart: Text,
}

impl ServiceTexts {
    /// The texts of `service`, with its counterpart on `profile`.
    fn new(service: &knowledge::cloud::Service, profile: &str) -> ServiceTexts {
        ServiceTexts {
            provider: service.provider.as_str().into(),
            id: service.id.as_str().into(),
            name: service.name.as_str().into(),
            category: service.category.as_str().into(),
            counterpart: service.counterparts.for_profile(profile).unwrap_or_default().into(),
        }
    }
}

fn cloud_findings(facts: &[Facts], users: &HashMap<usize, Vec<usize>>, options: &Options, kb: &Knowledge) -> Vec<CloudFinding> {
    let mut out = Vec::new();
    let mut services: HashMap<&str, ServiceTexts> = HashMap::new();
    let mut sources: HashMap<&str, Text> = HashMap::new();
    for (i, f) in facts.iter().enumerate() {
        for hit in &f.cloud {
            let Some(service) = kb.cloud.service(&hit.service_id) else { continue };
            let texts = services.entry(&service.id).or_insert_with(|| ServiceTexts::new(service, &options.profile));
            let mut used_by: Vec<ObjRef> = match f.class {
                Class::Workload => vec![f.id.obj_ref()],
                _ => users.get(&i).into_iter().flatten().map(|&w| facts[w].id.obj_ref()).collect(),
            };
            used_by.sort();
            used_by.dedup();
            out.push(CloudFinding {
                provider: texts.provider.clone(),
                service_id: texts.id.clone(),
                service: texts.name.clone(),
                category: texts.category.clone(),
                subject: hit.subject,
                matched: hit.matched.clone(),
                object: f.id.obj_ref(),
                evidence: evidence(f, hit.line, &hit.path),
                used_by,
                counterpart: texts.counterpart.clone(),
                rule_source: sources.entry(&hit.rule_source).or_insert_with(|| hit.rule_source.as_str().into()).clone(),
            });
        }
    }
    out
}

fn deprecation_findings<'f>(facts: impl Iterator<Item = &'f Facts>, options: &Options, kb: &Knowledge) -> Vec<DeprecationFinding> {
    let mut out = Vec::new();
    for f in facts {
        let declared = std::iter::once((&*f.id.api_version, &*f.id.kind, f.origin.line, "apiVersion", Via::Declared));
        let referred = f
            .api_refs
            .iter()
            .filter(|r| r.via != Via::LastApplied || options.source == Source::Cluster)
            .map(|r| (r.api_version.as_str(), r.kind.as_str(), r.line, r.path.as_str(), r.via));
        for (api_version, kind, line, path, via) in declared.chain(referred) {
            let Some((status, row)) = kb.deprecations.status(api_version, kind, options.target_version) else { continue };
            out.push(DeprecationFinding {
                object: f.id.obj_ref(),
                api_version: api_version.to_owned(),
                kind: kind.to_owned(),
                status,
                component: row.component.clone(),
                deprecated_in: row.deprecated_in,
                removed_in: row.removed_in,
                replacement: row.replacement.clone(),
                replacement_since: row.replacement_since.filter(|_| row.component == "k8s"),
                note: row.note.clone().filter(|n| !n.is_empty()),
                via,
                evidence: evidence(f, line, path),
            });
        }
    }
    out
}

/// Input issues, duplicates, and what each object's facts found (in the copies left out
/// too: their files need the same fix), then selectors that select nothing, then orphans.
fn warnings(facts: &[Facts], report: &LoadReport, left_out: duplicates::LeftOut<Facts>, resolved: &resolve::Resolved, kb: &Knowledge) -> Vec<Warning> {
    let mut out: Vec<Warning> = report
        .issues
        .iter()
        .map(|issue| Warning {
            severity: issue.severity.into(),
            code: if issue.severity == ferry_model::load::Severity::Error { INPUT_ERROR } else { "input-skipped" }.into(),
            message: issue.message.clone(),
            object: None,
            location: Some(issue.location.clone()),
        })
        .collect();
    out.extend(left_out.warnings);
    for f in facts.iter().chain(&left_out.copies) {
        for finding in &f.findings {
            out.push(object_warning(f, finding.severity, finding.code, finding.message.clone(), finding.line, &finding.path));
        }
    }
    // A workload read from an unrendered Helm template has unknown pod labels: it may be what
    // a selector of the same chart directory, or of the namespace it names, selects.
    let templated = || facts.iter().filter(|f| f.templated && f.class == Class::Workload);
    let template_dirs: HashSet<&str> = templated().map(|f| directory(&f.origin.file)).collect();
    let template_namespaces: HashSet<&str> = templated().filter_map(|f| f.id.namespace.as_deref()).collect();
    for &i in &resolved.empty_selections {
        let f = &facts[i];
        let Some(selector) = &f.selector else { continue };
        if template_dirs.contains(directory(&f.origin.file)) || f.id.namespace.as_deref().is_some_and(|ns| template_namespaces.contains(ns)) {
            continue;
        }
        let message = format!("{} selects no workload in the input", f.id.obj_ref());
        out.push(object_warning(f, WarningLevel::Warning, "selects-nothing", message, selector.line, selector.path));
    }
    out.extend(orphans::orphans(facts, &resolved.dependencies, kb));
    out
}

/// The directory part of a file path (`""` for a bare name).
fn directory(file: &str) -> &str {
    file.rsplit_once(['/', '\\']).map_or("", |(dir, _)| dir)
}

fn object_warning(f: &Facts, severity: WarningLevel, code: &str, message: String, line: u32, path: &str) -> Warning {
    Warning {
        severity,
        code: code.to_owned(),
        message,
        object: Some(f.id.obj_ref()),
        location: Some(Location::at(f.origin.file.clone(), f.origin.document, line, Some(path.to_owned()))),
    }
}
