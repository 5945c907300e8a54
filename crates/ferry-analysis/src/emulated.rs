//! Cloud services emulated in the cluster: a cloud-looking configuration (a DynamoDB table
//! name, a Pub/Sub topic) whose endpoint is overridden to a Service of the input (DynamoDB
//! Local, MinIO, the Pub/Sub emulator) is no managed-cloud dependency. Its cloud markers are
//! taken out of the cloud findings and reported as one note each.
//!
//! An *override* is a value that addresses a Service of the input under a key that either
//! names the cloud service itself (a `config_key` rule of `data/cloud.yaml` matches it:
//! `DYNAMODB_ENDPOINT`, `PUBSUB_EMULATOR_HOST`), which covers that service, or is the AWS
//! SDKs' endpoint override (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`), which covers
//! every AWS service. An override covers the markers of the object it is written in; a
//! workload's also covers what it reads (its ConfigMaps and Secrets), and the markers of a
//! ConfigMap or Secret are covered when every workload reading it is.

use std::collections::{HashMap, HashSet};

use ferry_model::load::Location;

use crate::assessment::{Warning, WarningLevel};
use crate::facts::{Class, Facts, Mention, Relation};
use crate::knowledge::{Knowledge, Subject};
use crate::resolve::service_address;

/// The warning code of a cloud service emulated in the cluster.
pub const EMULATED_IN_CLUSTER: &str = "emulated-in-cluster";

/// The AWS SDKs' endpoint override (and its per-service variants, `AWS_ENDPOINT_URL_S3`).
/// <https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html>
const AWS_ENDPOINT_OVERRIDE: &str = "AWS_ENDPOINT_URL";

/// What an override stands in for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Covers<'a> {
    /// One cloud service, by id.
    Service(&'a str),
    /// Every service of a provider.
    Provider(&'a str),
}

/// A value that points a cloud client at a Service of the input.
#[derive(Clone, Copy)]
struct Override<'a> {
    covers: Covers<'a>,
    /// The object it is written in.
    object: usize,
    mention: &'a Mention,
    /// Namespace and name of the Service it addresses.
    service: (Option<&'a str>, &'a str),
}

/// Takes the markers of emulated services out of `facts` and returns a note for each
/// (object, service) they were taken from.
pub(crate) fn take_emulated(facts: &mut [Facts], kb: &Knowledge) -> Vec<Warning> {
    let covered = coverage(facts, kb);
    let mut out = Vec::new();
    for (i, overrides) in covered.into_iter().enumerate() {
        if overrides.is_empty() {
            continue;
        }
        let mut noted = HashSet::new();
        let mut notes = Vec::new();
        facts[i].cloud.retain(|hit| {
            let Some(service) = kb.cloud.service(&hit.service_id) else { return true };
            let Some(o) = overrides.iter().find(|o| o.covers(&service.id, &service.provider)) else { return true };
            if noted.insert(service.id.as_str()) {
                notes.push((service.name.clone(), o.clone()));
            }
            false
        });
        for (service, o) in notes {
            out.push(note(facts, i, &service, &o));
        }
    }
    out
}

/// The overrides that apply to each object (owned copies: `facts` is changed afterwards);
/// empty when the input overrides no endpoint.
fn coverage(facts: &[Facts], kb: &Knowledge) -> Vec<Vec<OwnedOverride>> {
    let services: HashSet<(Option<&str>, &str)> =
        facts.iter().filter(|f| f.class == Class::Service).map(|f| (f.id.namespace.as_deref(), f.id.name.as_str())).collect();
    let own: Vec<Vec<Override<'_>>> = facts.iter().enumerate().map(|(i, f)| overrides(i, f, &services, kb)).collect();
    if own.iter().all(Vec::is_empty) {
        return Vec::new();
    }
    let configs: HashMap<(&str, Option<&str>, &str), usize> = facts
        .iter()
        .enumerate()
        .filter(|(_, f)| matches!(f.class, Class::ConfigMap | Class::Secret))
        .map(|(i, f)| ((&*f.id.kind, f.id.namespace.as_deref(), f.id.name.as_str()), i))
        .collect();
    let mut covered: Vec<Vec<Override<'_>>> = own.clone();
    let mut readers: HashMap<usize, Vec<usize>> = HashMap::new();
    for (w, f) in facts.iter().enumerate().filter(|(_, f)| f.pod.is_some()) {
        for r in f.refs.iter().filter(|r| matches!(r.relation, Relation::EnvFrom | Relation::EnvValueFrom | Relation::Volume | Relation::ProjectedVolume)) {
            let ns = r.namespace.as_deref().or(f.id.namespace.as_deref());
            if let Some(&c) = configs.get(&(r.target_kind(), ns, &*r.name)) {
                // A single-key reference reads only the overrides under that key.
                covered[w].extend(own[c].iter().filter(|o| r.key.is_none() || o.mention.key == r.key).copied());
                readers.entry(c).or_default().push(w);
            }
        }
    }
    // A configuration's markers are covered by what covers every workload that reads it.
    for (c, ws) in &readers {
        let first = covered[ws[0]].clone();
        let shared: Vec<Override<'_>> = first.into_iter().filter(|o| ws.iter().all(|&w| covered[w].iter().any(|p| p.covers == o.covers))).collect();
        covered[*c].extend(shared);
    }
    covered.into_iter().map(|os| os.into_iter().map(|o| OwnedOverride::of(&o, facts)).collect()).collect()
}

/// The overrides written in one object.
fn overrides<'a>(i: usize, f: &'a Facts, services: &HashSet<(Option<&str>, &str)>, kb: &'a Knowledge) -> Vec<Override<'a>> {
    let mut out = Vec::new();
    for m in f.mentions.iter() {
        let Some(key) = m.key.as_deref() else { continue };
        let covers = if is_aws_endpoint_override(key) {
            Covers::Provider("aws")
        } else {
            match kb.cloud.find(Subject::ConfigKey, key, None) {
                Some(hit) => Covers::Service(&hit.service.id),
                None => continue,
            }
        };
        let Some((namespace, name, _)) = service_address(&m.host, f.id.namespace.as_deref(), m.explicit) else { continue };
        let found = [(namespace, name), (None, name)].into_iter().find(|s| services.contains(s));
        if let Some(service) = found {
            out.push(Override { covers, object: i, mention: m, service });
        }
    }
    out
}

/// `AWS_ENDPOINT_URL`, or `AWS_ENDPOINT_URL_` followed by a service's name.
fn is_aws_endpoint_override(key: &str) -> bool {
    let prefix = key.get(..AWS_ENDPOINT_OVERRIDE.len()).is_some_and(|p| p.eq_ignore_ascii_case(AWS_ENDPOINT_OVERRIDE));
    prefix && matches!(key.as_bytes().get(AWS_ENDPOINT_OVERRIDE.len()), None | Some(b'_'))
}

/// An override, detached from the facts it was found in.
#[derive(Clone)]
struct OwnedOverride {
    covers_service: Option<String>,
    covers_provider: Option<String>,
    object: usize,
    key: String,
    line: u32,
    path: String,
    service: String,
}

impl OwnedOverride {
    fn covers(&self, service_id: &str, provider: &str) -> bool {
        self.covers_service.as_deref() == Some(service_id) || self.covers_provider.as_deref() == Some(provider)
    }

    fn of(o: &Override<'_>, facts: &[Facts]) -> OwnedOverride {
        let (covers_service, covers_provider) = match o.covers {
            Covers::Service(id) => (Some(id.to_owned()), None),
            Covers::Provider(p) => (None, Some(p.to_owned())),
        };
        let service = match o.service.0.or(facts[o.object].id.namespace.as_deref()) {
            Some(ns) => format!("{ns}/{}", o.service.1),
            None => o.service.1.to_owned(),
        };
        OwnedOverride {
            covers_service,
            covers_provider,
            object: o.object,
            key: o.mention.key.as_deref().unwrap_or_default().to_owned(),
            line: o.mention.line,
            path: o.mention.path.to_string(),
            service,
        }
    }
}

/// The note for the markers of `service` taken from object `i`.
fn note(facts: &[Facts], i: usize, service: &str, o: &OwnedOverride) -> Warning {
    let at = &facts[o.object];
    let written = if o.object == i { String::new() } else { format!(" (in {})", at.id.obj_ref()) };
    Warning {
        severity: WarningLevel::Note,
        code: EMULATED_IN_CLUSTER.into(),
        message: format!(
            "{}: {service} is emulated in the cluster: `{}`{written} points it to Service {}; not a managed-cloud dependency",
            facts[i].id.obj_ref(),
            o.key,
            o.service
        ),
        object: Some(facts[i].id.obj_ref()),
        location: Some(Location::at(at.origin.file.clone(), at.origin.document, o.line, Some(o.path.clone()))),
    }
}
