//! Orphans: what nothing in the input reaches, often left behind by an earlier migration
//! (a database Deployment still running after the move to a managed service). An inventory
//! note, never a warning: the input may not hold everything that calls in.
//!
//! The rule, chosen for precision:
//! - A Service is *referenced* when any dependency of the input resolves to it other than its
//!   own selections: an Ingress or route backend, a network address in env, args or
//!   configuration, any other reference. LoadBalancer and NodePort Services are entry points
//!   from outside the cluster and count as referenced.
//! - A workload is *unreached* when it runs continuously (not a DaemonSet, Job or CronJob), no
//!   object names it (an autoscaler's target does not count), it calls no Service and uses no
//!   managed cloud service itself or through the configuration it reads (a queue worker does),
//!   and its ServiceAccount is not bound to a role (a controller talks to the API server
//!   instead). Hosts outside the cluster that match no cloud rule are not seen yet.
//! - An unreached workload is an orphan when no Service selects it at all, or when every
//!   Service selecting it is unreferenced, it keeps data (a StatefulSet, or it mounts a
//!   PersistentVolumeClaim) and its namespace uses a managed database, cache, message broker
//!   or search service: the in-cluster store the application moved away from. A workload
//!   behind an unreferenced Service is otherwise not reported, because applications often
//!   find each other through addresses built into their code, which no manifest shows.
//! - A Service without a selector (ExternalName, hand-written endpoints) that is not
//!   referenced is an orphan too. A Service with a selector is reported through the workloads
//!   it selects (or as selecting nothing), not on its own: in front of a running workload it
//!   may serve scrapers or headless DNS.
//! - Nothing is reported when the input holds unrendered Helm templates: what they reference
//!   is unknown.

use std::collections::{HashMap, HashSet};

use ferry_model::load::Location;

use crate::assessment::{Dependency, Named, Resolution, Warning, WarningLevel};
use crate::facts::{Class, Facts, Relation};
use crate::knowledge::Knowledge;

/// The warning code of an orphan.
pub const ORPHAN: &str = "orphan";

/// What the dependencies say about each object.
#[derive(Default)]
struct Reach<'a> {
    /// Targets of a resolved dependency other than a selection or an autoscaler's target.
    referenced: HashSet<&'a Named>,
    /// The Services selecting each workload.
    selected_by: HashMap<&'a Named, Vec<&'a Named>>,
    /// Objects with a network dependency of their own.
    callers: HashSet<&'a Named>,
    /// Objects that read or mount an object with cloud markers.
    cloud_readers: HashSet<&'a Named>,
    /// Workloads that mount a PersistentVolumeClaim.
    claims: HashSet<&'a Named>,
    /// ServiceAccounts that a binding grants a role, by namespace and name.
    bound: HashSet<(Option<&'a str>, &'a str)>,
}

impl<'a> Reach<'a> {
    /// What `dependencies` say; `cloud` holds the objects with cloud markers.
    fn of(dependencies: &'a [Dependency], cloud: &HashSet<&Named>) -> Reach<'a> {
        let mut reach = Reach::default();
        for d in dependencies {
            match d.kind {
                Relation::Selects if d.from.kind == "Service" => reach.selected_by.entry(&*d.to).or_default().push(&*d.from),
                Relation::Selects | Relation::ScaleTarget => {}
                Relation::RoleSubject => {
                    reach.bound.insert((d.to.namespace.as_deref(), &d.to.name));
                }
                kind => {
                    if kind == Relation::Volume && d.to.kind == "PersistentVolumeClaim" {
                        reach.claims.insert(&*d.from);
                    }
                    if kind == Relation::Network {
                        reach.callers.insert(&*d.from);
                    } else if cloud.contains(&*d.to) {
                        reach.cloud_readers.insert(&*d.from);
                    }
                    if d.resolution == Resolution::Resolved && d.from != d.to {
                        reach.referenced.insert(&*d.to);
                    }
                }
            }
        }
        reach
    }
}

/// Categories of managed services that replace an in-cluster store.
const DATA_SERVICES: &[&str] = &["database", "cache", "messaging", "search"];

/// The orphans among `facts`, as notes, in input order.
pub(crate) fn orphans(facts: &[Facts], dependencies: &[Dependency], kb: &Knowledge) -> Vec<Warning> {
    if facts.iter().any(|f| f.templated) {
        return Vec::new();
    }
    let cloud: HashSet<&Named> = facts.iter().filter(|f| !f.cloud.is_empty()).map(|f| &*f.id).collect();
    let reach = Reach::of(dependencies, &cloud);
    let uses_cloud = |f: &Facts| cloud.contains(&*f.id) || reach.cloud_readers.contains(&*f.id);
    let managed_data: HashMap<Option<&str>, &str> = facts
        .iter()
        .flat_map(|f| f.cloud.iter().map(move |hit| (f.id.namespace.as_deref(), hit)))
        .filter_map(|(ns, hit)| kb.cloud.service(&hit.service_id).filter(|s| DATA_SERVICES.contains(&s.category.as_str())).map(|s| (ns, s.name.as_str())))
        .collect();
    let services: HashMap<&Named, &Facts> = facts.iter().filter(|f| f.class == Class::Service).map(|f| (&*f.id, f)).collect();
    let unreferenced = |service: &Named| !reach.referenced.contains(service) && services.get(service).is_none_or(|f| !is_entry_point(f));
    let mut out = Vec::new();
    for f in facts {
        let named: &Named = &f.id;
        let message = match f.class {
            Class::Service if f.selector.is_none() && unreferenced(named) => {
                format!("{}: nothing in the input refers to it (no Ingress, route, address or other reference); left behind?", f.id.obj_ref())
            }
            Class::Workload
                if runs_continuously(&f.id.kind)
                    && !reach.referenced.contains(named)
                    && !reach.callers.contains(named)
                    && !uses_cloud(f)
                    && !is_bound(f, &reach) =>
            {
                let behind = reach.selected_by.get(named).map(Vec::as_slice).unwrap_or_default();
                let managed = managed_data.get(&f.id.namespace.as_deref());
                match (behind, managed) {
                    ([], _) => {
                        format!("{}: no Service selects it, no object names it and it calls no Service or managed service; left behind?", f.id.obj_ref())
                    }
                    (_, Some(managed)) if behind.iter().all(|s| unreferenced(s)) && keeps_data(f, &reach) => {
                        let services: Vec<&str> = behind.iter().map(|s| s.name.as_str()).collect();
                        format!(
                            "{}: keeps data, but nothing in the input refers to its Services ({}) while its namespace uses {managed}; left behind after the move to the managed service?",
                            f.id.obj_ref(),
                            services.join(", ")
                        )
                    }
                    _ => continue,
                }
            }
            _ => continue,
        };
        out.push(Warning {
            severity: WarningLevel::Note,
            code: ORPHAN.into(),
            message,
            object: Some(f.id.obj_ref()),
            location: Some(Location::at(f.origin.file.clone(), f.origin.document, f.origin.line, None)),
        });
    }
    out
}

/// A StatefulSet, or a workload that mounts a claim.
fn keeps_data(f: &Facts, reach: &Reach<'_>) -> bool {
    f.id.kind == "StatefulSet" || reach.claims.contains(&*f.id)
}

/// Workloads that serve or wait for work all the time: not node agents or run-to-completion jobs.
fn runs_continuously(kind: &str) -> bool {
    !matches!(kind, "DaemonSet" | "Job" | "CronJob")
}

/// LoadBalancer and NodePort Services are reached from outside the cluster.
fn is_entry_point(service: &Facts) -> bool {
    matches!(service.detail.r#type.as_deref(), Some("LoadBalancer" | "NodePort"))
}

/// Whether a workload's ServiceAccount is granted a role: it works through the API server.
fn is_bound(f: &Facts, reach: &Reach<'_>) -> bool {
    let Some(account) = f.pod.as_ref().and_then(|p| p.service_account.as_deref()) else { return false };
    reach.bound.contains(&(f.id.namespace.as_deref(), account)) || reach.bound.contains(&(None, account))
}
