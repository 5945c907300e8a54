//! What `verify` and `preflight` share: reading the source (a cluster, as `ferry export`
//! chooses its objects, or an archive) and transforming it as `ferry apply` would.

use ferry_cluster::fetch::Kept;
use ferry_model::ObjectId;
use ferry_transform::{Severity, Transformed};
use ferry_verify::{Finding, Problem};
use rayon::prelude::*;
use serde_json::Value;

use crate::args::{ArchiveSettings, SourceInput};
use crate::commands::{archive, cluster};
use crate::error::CliError;

/// What was read from the source.
pub struct Source {
    /// The objects, as the cluster or the archive holds them.
    pub objects: Vec<Value>,
    /// Where they were read, for the report.
    pub described: String,
    /// The source cluster's `gitVersion`, when known.
    pub version: Option<String>,
    /// Objects left out as made by Kubernetes (a cluster source).
    pub generated: usize,
    /// What could not be read.
    pub unreadable: Vec<String>,
}

/// Reads the source's objects, as `ferry export` chooses them; `found` is told each object's
/// identity as soon as it is read (list by list from a cluster), before the reading ends.
pub async fn read(input: &SourceInput, settings: &ArchiveSettings, mut found: impl FnMut(&ObjectId)) -> Result<Source, CliError> {
    match input {
        SourceInput::Archive { from, scope } => {
            let (manifest, entries) = archive::read(from, settings).await?;
            let mut objects = Vec::new();
            for entry in &entries {
                let object = archive::parsed_by(entry, |text| value_of(&entry.id, text))?;
                if scope.keeps_value(&object) {
                    found(&entry.id);
                    objects.push(object);
                }
            }
            let version = Some(manifest.header.source.server_version).filter(|v| !v.is_empty());
            Ok(Source { objects, described: format!("archive {from}"), version, generated: 0, unreadable: Vec::new() })
        }
        SourceInput::Cluster(settings) => {
            let source = cluster::open_source(settings).await?;
            // Each page is parsed as soon as it is chosen, while later lists are still read,
            // and its text freed.
            let parse = |chosen: cluster::Chosen| chosen.into_iter().map(|(object, _)| (value_of(&object.id, object.json()), object.id)).collect::<Vec<_>>();
            let mut parsed = Vec::new();
            let read = cluster::read_source(&source, settings, &parse, |objects| {
                objects.iter().for_each(|(_, id)| found(id));
                parsed.extend(objects);
                true
            })
            .await;
            let objects = parsed
                .into_iter()
                .map(|(value, id)| value.map_err(|e| CliError::failure(format!("cannot read {id} as the source cluster sent it"), &e)))
                .collect::<Result<_, _>>()?;
            Ok(Source {
                objects,
                described: format!("context `{}`", source.connection.context),
                version: Some(source.connection.server_version.clone()),
                generated: read.generated,
                unreadable: read.unreadable,
            })
        }
    }
}

/// How much of an object of `group` (`""` = core) and `kind` is read, from either cluster or
/// an archive: its managed fields only where the transformation's normal form reads them.
pub fn kept(group: &str, kind: &str) -> Kept {
    if ferry_transform::reads_managed_fields(group, kind) { Kept::Whole } else { Kept::WithoutManagedFields }
}

/// The object `id` from its JSON text, read as [`kept`] says.
fn value_of(id: &ObjectId, json: &[u8]) -> Result<Value, serde_json::Error> {
    kept(id.group(), &id.kind).parse(json)
}

/// One object of the source and what the transformation makes of it.
pub struct Planned {
    /// Its identity on the target.
    pub id: ObjectId,
    /// As the source holds it, sanitised (without what belongs to the source cluster: the
    /// normal form in which it is compared, Secret values still readable).
    pub source: Value,
    /// As the transformation makes it.
    pub expected: Value,
}

/// What the target should hold.
pub struct Plan {
    /// The objects for the target.
    pub objects: Vec<Planned>,
    /// The target identities of `objects`, in the same order.
    pub ids: Vec<ObjectId>,
    /// Source objects that cannot go to the target, with why.
    pub blocked: Vec<Finding<Problem>>,
    /// Source objects left out on purpose.
    pub left_out: usize,
}

impl Plan {
    /// Transforms every source object as `ferry apply` does (on every core).
    pub fn new(sources: Vec<Value>, options: &ferry_transform::Options) -> Plan {
        let mut plan = Plan { objects: Vec::new(), ids: Vec::new(), blocked: Vec::new(), left_out: 0 };
        let transformed: Vec<(Option<ObjectId>, Transformed, Option<Value>)> = sources
            .into_par_iter()
            .map(|source| {
                let id = ObjectId::from_json(&source);
                let (transformed, normal) = ferry_transform::transform_with_normal_form(source, options);
                (id, transformed, normal)
            })
            .collect();
        for (source_id, Transformed { object, notes, .. }, source) in transformed {
            match object.zip(source).and_then(|(expected, source)| Some((ObjectId::from_json(&expected)?, source, expected))) {
                Some((id, source, expected)) => {
                    plan.ids.push(id.clone());
                    plan.objects.push(Planned { id, source, expected });
                }
                None => {
                    let errors: Vec<&str> = notes.iter().filter(|n| n.severity == Severity::Error).map(|n| n.message.as_str()).collect();
                    match source_id {
                        Some(object) if !errors.is_empty() => {
                            plan.blocked.push(Finding { object, found: Problem { reason: format!("cannot go to the target: {}", errors.join("; ")) } })
                        }
                        _ => plan.left_out += 1,
                    }
                }
            }
        }
        plan
    }
}
