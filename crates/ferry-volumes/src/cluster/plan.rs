//! The plan: every claim in scope on the source with its size, class, access modes, binding,
//! the Pods and workloads that mount it and the node it is attached to, and the state of the
//! claim of the same name on the target, with findings that block a move.

use std::collections::BTreeMap;

use ferry_model::quantity::bytes_of;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt as _};
use serde::{Deserialize, Serialize};

use super::error::kube_error;
use super::{Error, RUN_LABEL};

/// Which claims a move covers.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Namespaces; empty means all.
    pub namespaces: Vec<String>,
    /// A label selector on the claims.
    pub selector: Option<String>,
    /// The rules' `storageClasses` map (source class to target class): a target claim must
    /// have its source claim's class mapped through it (or the same class, when unmapped).
    pub storage_classes: BTreeMap<String, String>,
}

/// The claims in scope and what stands in the way.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumePlan {
    /// Every claim, by namespace and name.
    pub claims: Vec<ClaimPlan>,
}

/// One claim of the source and its counterpart on the target.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimPlan {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Requested size, as written (e.g. `1Gi`).
    pub size: String,
    /// Storage class.
    pub storage_class: Option<String>,
    /// Access modes.
    pub access_modes: Vec<String>,
    /// Phase (`Bound`, `Pending`, `Lost`).
    pub phase: String,
    /// The bound volume.
    pub volume: Option<String>,
    /// Running Pods that mount it.
    pub pods: Vec<String>,
    /// The node those Pods run on: the source mover runs there too.
    pub node: Option<String>,
    /// The workloads those Pods belong to.
    pub workloads: Vec<Workload>,
    /// The target's claim of the same name.
    pub target: TargetClaim,
    /// What stands in the way.
    pub findings: Vec<Finding>,
}

/// A workload that mounts a claim.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Workload {
    /// `Deployment`, `StatefulSet`, `ReplicaSet`, or the kind of an owner ferry cannot scale (`DaemonSet`, `Job`, `Pod`...).
    pub kind: String,
    /// Name.
    pub name: String,
}

/// The target's claim of the same namespace and name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetClaim {
    /// `missing`, or its phase in lower case (`bound`, `pending`, `lost`).
    pub state: String,
    /// Requested size.
    pub size: Option<String>,
    /// Storage class.
    pub storage_class: Option<String>,
}

/// Something about a claim the user should know; `blocking` ones stop `sync` and `cutover`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Whether it stops the move.
    pub blocking: bool,
    /// What it is and what to do.
    pub message: String,
}

impl VolumePlan {
    /// Blocking findings, each naming its claim.
    pub fn blocking(&self) -> Vec<String> {
        self.claims.iter().flat_map(|c| c.findings.iter().filter(|f| f.blocking).map(move |f| format!("{}/{}: {}", c.namespace, c.name, f.message))).collect()
    }
}

/// Reads the claims in scope on the source and their counterparts on the target.
pub async fn plan(source: &Client, target: &Client, scope: &Scope) -> Result<VolumePlan, Error> {
    let mut claims = Vec::new();
    for claim in list_claims(source, scope).await? {
        let namespace = claim.namespace().unwrap_or_default();
        let pods = mounting_pods(source, &namespace, &claim.name_any()).await?;
        let mut plan = describe(&claim, &pods);
        plan.workloads = workloads(source, &namespace, &pods).await?;
        let theirs = Api::<PersistentVolumeClaim>::namespaced(target.clone(), &namespace)
            .get_opt(&plan.name)
            .await
            .map_err(kube_error(format!("read the claim `{namespace}/{}` on the target", plan.name)))?;
        check_target(&mut plan, theirs.as_ref(), &scope.storage_classes);
        claims.push(plan);
    }
    claims.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    Ok(VolumePlan { claims })
}

/// The claims in scope, from every namespace asked for (or all).
async fn list_claims(client: &Client, scope: &Scope) -> Result<Vec<PersistentVolumeClaim>, Error> {
    let params = scope.selector.as_deref().map_or_else(ListParams::default, |s| ListParams::default().labels(s));
    let apis: Vec<(String, Api<PersistentVolumeClaim>)> = if scope.namespaces.is_empty() {
        vec![("all namespaces".to_owned(), Api::all(client.clone()))]
    } else {
        scope.namespaces.iter().map(|ns| (format!("namespace `{ns}`"), Api::namespaced(client.clone(), ns))).collect()
    };
    let mut claims = Vec::new();
    for (shown, api) in apis {
        let list = api.list(&params).await.map_err(kube_error(format!("list the claims of {shown} on the source")))?;
        claims.extend(list.items);
    }
    Ok(claims)
}

/// Running Pods of the namespace that mount the claim (ferry's own movers left out).
pub(crate) async fn mounting_pods(client: &Client, namespace: &str, claim: &str) -> Result<Vec<Pod>, Error> {
    let pods = Api::<Pod>::namespaced(client.clone(), namespace)
        .list(&ListParams::default())
        .await
        .map_err(kube_error(format!("list the Pods of namespace `{namespace}` on the source")))?;
    Ok(pods.items.into_iter().filter(|pod| mounts(pod, claim) && !pod.labels().contains_key(RUN_LABEL) && !finished(pod)).collect())
}

/// Whether a Pod mounts the claim.
fn mounts(pod: &Pod, claim: &str) -> bool {
    let volumes = pod.spec.iter().flat_map(|s| s.volumes.iter().flatten());
    volumes.filter_map(|v| v.persistent_volume_claim.as_ref()).any(|c| c.claim_name == claim)
}

/// Whether a Pod has finished (and so no longer holds its volumes).
fn finished(pod: &Pod) -> bool {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()).is_some_and(|phase| matches!(phase, "Succeeded" | "Failed"))
}

/// The claim's own facts and findings.
fn describe(claim: &PersistentVolumeClaim, pods: &[Pod]) -> ClaimPlan {
    let spec = claim.spec.clone().unwrap_or_default();
    let phase = claim.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_else(|| "Pending".to_owned());
    let mut findings = Vec::new();
    if phase != "Bound" {
        findings.push(Finding { blocking: true, message: format!("the source claim is {phase}: it has no volume to copy") });
    }
    let nodes: BTreeMap<String, ()> = pods.iter().filter_map(|p| p.spec.as_ref()?.node_name.clone()).map(|n| (n, ())).collect();
    if nodes.len() > 1 {
        findings.push(Finding {
            blocking: false,
            message: format!("mounted on several nodes ({}); the source mover runs on the first", nodes.keys().cloned().collect::<Vec<_>>().join(", ")),
        });
    }
    ClaimPlan {
        namespace: claim.namespace().unwrap_or_default(),
        name: claim.name_any(),
        size: requested(&spec).unwrap_or_default(),
        storage_class: spec.storage_class_name.clone(),
        access_modes: spec.access_modes.clone().unwrap_or_default(),
        phase,
        volume: spec.volume_name.clone(),
        pods: pods.iter().map(|p| p.name_any()).collect(),
        node: nodes.into_keys().next(),
        workloads: Vec::new(),
        target: TargetClaim::default(),
        findings,
    }
}

/// The requested storage of a claim.
fn requested(spec: &k8s_openapi::api::core::v1::PersistentVolumeClaimSpec) -> Option<String> {
    spec.resources.as_ref()?.requests.as_ref()?.get("storage").map(|q| q.0.clone())
}

/// Fills in the target's claim and the findings about it.
fn check_target(plan: &mut ClaimPlan, theirs: Option<&PersistentVolumeClaim>, storage_classes: &BTreeMap<String, String>) {
    let Some(theirs) = theirs else {
        plan.target.state = "missing".to_owned();
        let message = "the target has no claim of this name; create it first (`ferry migrate`, or apply the same claim)".to_owned();
        plan.findings.push(Finding { blocking: true, message });
        return;
    };
    let spec = theirs.spec.clone().unwrap_or_default();
    let status = theirs.status.clone().unwrap_or_default();
    plan.target = TargetClaim {
        state: status.phase.clone().unwrap_or_else(|| "Pending".to_owned()).to_lowercase(),
        size: requested(&spec),
        storage_class: spec.storage_class_name.clone(),
    };
    let capacity = status.capacity.as_ref().and_then(|c| c.get("storage")).and_then(|q| bytes_of(&q.0));
    let offered = plan.target.size.as_deref().and_then(bytes_of).max(capacity).unwrap_or(0);
    let needed = bytes_of(&plan.size).unwrap_or(0);
    if offered < needed {
        let offered_text = plan.target.size.clone().unwrap_or_else(|| "no size".to_owned());
        plan.findings
            .push(Finding { blocking: true, message: format!("too small: the target claim offers {offered_text}, the source claim asks for {}", plan.size) });
    }
    if plan.target.state == "lost" {
        plan.findings.push(Finding { blocking: true, message: "the target claim is Lost: its volume is gone".to_owned() });
    }
    let mapped = plan.storage_class.as_ref().and_then(|class| storage_classes.get(class));
    let expected = mapped.or(plan.storage_class.as_ref());
    if plan.target.storage_class.as_ref() != expected {
        let show = |c: Option<&String>| c.map_or_else(|| "(none)".to_owned(), |c| format!("`{c}`"));
        let why = if mapped.is_some() {
            "the source's class after the rules' storageClasses map"
        } else {
            "the source's class; map classes with `storageClasses` in --rules"
        };
        let message =
            format!("wrong storage class: the target claim has {}, it should have {} ({why})", show(plan.target.storage_class.as_ref()), show(expected));
        plan.findings.push(Finding { blocking: true, message });
    }
}

/// The workloads that own the Pods: Deployments through their ReplicaSets, StatefulSets, or
/// whatever else controls a Pod (or the Pod itself).
async fn workloads(client: &Client, namespace: &str, pods: &[Pod]) -> Result<Vec<Workload>, Error> {
    let mut found = Vec::new();
    for pod in pods {
        let workload = match pod.owner_references().iter().find(|o| o.controller == Some(true)) {
            Some(owner) if owner.kind == "ReplicaSet" => replica_set_owner(client, namespace, &owner.name).await?,
            Some(owner) => Workload { kind: owner.kind.clone(), name: owner.name.clone() },
            None => Workload { kind: "Pod".to_owned(), name: pod.name_any() },
        };
        found.push(workload);
    }
    found.sort();
    found.dedup();
    Ok(found)
}

/// A ReplicaSet's Deployment, or the ReplicaSet when no Deployment controls it.
async fn replica_set_owner(client: &Client, namespace: &str, name: &str) -> Result<Workload, Error> {
    let set = Api::<ReplicaSet>::namespaced(client.clone(), namespace)
        .get_opt(name)
        .await
        .map_err(kube_error(format!("read the ReplicaSet `{namespace}/{name}` on the source")))?;
    let owner = set.as_ref().and_then(|s| s.owner_references().iter().find(|o| o.controller == Some(true) && o.kind == "Deployment").cloned());
    Ok(owner.map_or_else(|| Workload { kind: "ReplicaSet".to_owned(), name: name.to_owned() }, |o| Workload { kind: o.kind, name: o.name }))
}

impl Workload {
    /// Whether `cutover` can stop it by scaling it to zero.
    pub fn scalable(&self) -> bool {
        matches!(self.kind.as_str(), "Deployment" | "StatefulSet" | "ReplicaSet")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The findings about a target claim of `class` for a source claim of class `local`.
    fn findings(class: Option<&str>, map: &[(&str, &str)]) -> Vec<Finding> {
        let mut plan = ClaimPlan { storage_class: Some("local".into()), size: "1Gi".into(), ..ClaimPlan::default() };
        let theirs: PersistentVolumeClaim = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "data"},
            "spec": {"storageClassName": class, "resources": {"requests": {"storage": "1Gi"}}},
            "status": {"phase": "Bound"},
        }))
        .expect("a claim");
        let map = map.iter().map(|(from, to)| ((*from).to_owned(), (*to).to_owned())).collect();
        check_target(&mut plan, Some(&theirs), &map);
        plan.findings
    }

    #[test]
    fn the_target_claim_must_have_the_source_class_or_its_mapped_class() {
        assert_eq!(findings(Some("local"), &[]), []);
        assert_eq!(findings(Some("slow"), &[("local", "slow")]), []);
        let wrong = findings(Some("slow"), &[]);
        assert!(wrong[0].blocking && wrong[0].message.starts_with("wrong storage class: the target claim has `slow`, it should have `local`"), "{wrong:?}");
        let unmapped = findings(Some("local"), &[("local", "fast")]);
        assert!(unmapped[0].message.contains("it should have `fast` (the source's class after the rules' storageClasses map)"), "{unmapped:?}");
        let none = findings(None, &[]);
        assert!(none[0].message.contains("has (none), it should have `local`"), "{none:?}");
    }
}
