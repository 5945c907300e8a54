//! The moves themselves: sync passes, the cutover (stop the workloads, wait until their Pods
//! are gone, final pass, verify) and verification into evidence; claims are handled
//! `Mover::parallel` at a time.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::error::kube_error;
use super::job::{JobRequest, remove_leftovers, run_job};
use super::plan::mounting_pods;
use super::{ClaimPlan, Error, Mover, VolumePlan, Workload};
use crate::{Manifest, ManifestSummary, Mismatch};

/// The evidence file's format.
pub const EVIDENCE_FORMAT: &str = "ferry.volumes.evidence/v1";

/// Annotation that keeps a workload's replicas from before the cutover.
const REPLICAS_ANNOTATION: &str = "ferry.io/replicas-before-cutover";

/// Mismatches listed per claim in evidence; the rest are counted.
const MISMATCHES_LISTED: usize = 1000;

/// What a sync pass did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncReport {
    /// The run id.
    pub run: String,
    /// Per claim.
    pub claims: Vec<ClaimSync>,
}

/// One claim's pass.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClaimSync {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The snapshot made and restored.
    pub snapshot: String,
    /// Files on the source.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Files new or changed since the last pass.
    pub changed_files: u64,
    /// Their bytes.
    pub changed_bytes: u64,
    /// Compressed bytes sent to the repository.
    pub sent_bytes: u64,
    /// Chunks sent to the repository (those it already held are never sent again).
    pub new_chunks: u64,
    /// Files written on the target.
    pub written_files: u64,
    /// Entries removed on the target.
    pub removed: u64,
    /// When the pass started (RFC 3339).
    pub started: String,
    /// When it ended (RFC 3339).
    pub finished: String,
    /// Seconds the pass took (both Jobs).
    pub seconds: f64,
    /// Mover Jobs of interrupted runs for this claim, removed (with their Pods and Secrets)
    /// before the pass.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interrupted_jobs: Vec<String>,
}

/// What a cutover did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CutoverReport {
    /// Workloads scaled to zero.
    pub scaled: Vec<Scaled>,
    /// Seconds until their Pods were gone.
    pub quiesce_seconds: f64,
    /// The final pass.
    pub sync: SyncReport,
    /// The verification.
    pub evidence: Evidence,
}

/// A workload scaled to zero, and the replicas it had.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scaled {
    /// Namespace.
    pub namespace: String,
    /// Kind.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Replicas before (kept in the `ferry.io/replicas-before-cutover` annotation).
    pub replicas: i32,
}

/// The verification of a run: per claim, both sides' manifests and every difference.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// [`EVIDENCE_FORMAT`].
    pub format: String,
    /// The run id.
    pub run: String,
    /// Per claim.
    pub claims: Vec<ClaimEvidence>,
}

/// One claim's verification.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimEvidence {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The source's manifest.
    pub source: ManifestSummary,
    /// The target's manifest.
    pub target: ManifestSummary,
    /// Whether both trees are equal (path, kind, size, mode, owner, content).
    pub equal: bool,
    /// How many paths differ.
    pub mismatch_count: u64,
    /// The differences (the first 1000).
    pub mismatches: Vec<Mismatch>,
}

impl Evidence {
    /// Every claim equal on both sides.
    pub fn equal(&self) -> bool {
        self.claims.iter().all(|c| c.equal)
    }
}

/// Refuses a plan with blocking findings.
fn refuse_blocking(plan: &VolumePlan) -> Result<(), Error> {
    let blocking = plan.blocking();
    if blocking.is_empty() { Ok(()) } else { Err(Error::Refused(blocking)) }
}

/// One pass per claim: a backup Job on the source (claim read-only, on the node where it is
/// mounted), then a restore Job of that snapshot on the target.
pub async fn sync(source: &Client, target: &Client, plan: &VolumePlan, mover: &Mover) -> Result<SyncReport, Error> {
    refuse_blocking(plan)?;
    let claims = each_claim(plan, mover, |index, claim| sync_claim(source, target, claim, index, mover)).await?;
    Ok(SyncReport { run: mover.run.clone(), claims })
}

/// Runs `task` for every claim of the plan, `mover.parallel` at a time, results in the plan's
/// order. After a failure no further claim starts, but those under way run to their end (so
/// that their Jobs are deleted); then the first failure is returned.
async fn each_claim<'a, T, F, Fut>(plan: &'a VolumePlan, mover: &Mover, task: F) -> Result<Vec<T>, Error>
where
    F: Fn(usize, &'a ClaimPlan) -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    use futures::StreamExt as _;
    let failed = AtomicBool::new(false);
    let (task, failed) = (&task, &failed);
    let results: Vec<Result<Option<T>, Error>> = futures::stream::iter(plan.claims.iter().enumerate())
        .map(|(index, claim)| async move {
            if failed.load(Ordering::SeqCst) {
                return Ok(None);
            }
            let result = task(index, claim).await;
            failed.fetch_or(result.is_err(), Ordering::SeqCst);
            result.map(Some)
        })
        .buffered(mover.parallel.max(1))
        .collect()
        .await;
    let mut done = Vec::new();
    for result in results {
        done.extend(result?);
    }
    Ok(done)
}

/// One claim's pass.
async fn sync_claim(source: &Client, target: &Client, claim: &ClaimPlan, index: usize, mover: &Mover) -> Result<ClaimSync, Error> {
    let (started, began) = (Instant::now(), jiff::Timestamp::now());
    let mut interrupted_jobs = remove_leftovers(source, mover, "source", &claim.namespace, &claim.name).await?;
    interrupted_jobs.extend(remove_leftovers(target, mover, "target", &claim.namespace, &claim.name).await?);
    let volume = format!("{}/{}", claim.namespace, claim.name);
    let time = began.to_string();
    let backup =
        request(claim, "source", format!("ferry-backup-{}-{index}", mover.run), vec!["backup".into(), "--volume".into(), volume, "--time".into(), time]);
    let sent = run_job(source, mover, &backup).await?.backup.ok_or_else(|| backup_missing(&backup))?;
    let restore = request(claim, "target", format!("ferry-restore-{}-{index}", mover.run), vec!["restore".into(), "--snapshot".into(), sent.snapshot.clone()]);
    let written = run_job(target, mover, &restore).await?.restore.ok_or_else(|| backup_missing(&restore))?;
    Ok(ClaimSync {
        namespace: claim.namespace.clone(),
        name: claim.name.clone(),
        snapshot: sent.snapshot,
        files: sent.files,
        bytes: sent.bytes,
        changed_files: sent.changed_files,
        changed_bytes: sent.changed_bytes,
        sent_bytes: sent.stored_bytes,
        new_chunks: sent.new_chunks,
        written_files: written.written_files,
        removed: written.removed,
        started: began.to_string(),
        finished: jiff::Timestamp::now().to_string(),
        seconds: started.elapsed().as_secs_f64(),
        interrupted_jobs,
    })
}

/// A Job for a claim; source Jobs mount it read-only on its node.
fn request(claim: &ClaimPlan, side: &'static str, name: String, args: Vec<String>) -> JobRequest {
    let source = side == "source";
    JobRequest {
        side,
        namespace: claim.namespace.clone(),
        claim: claim.name.clone(),
        name,
        read_only: source,
        node: if source { claim.node.clone() } else { None },
        args,
    }
}

/// A mover that succeeded without the report its task makes.
fn backup_missing(request: &JobRequest) -> Error {
    Error::Mover {
        side: request.side,
        claim: format!("{}/{}", request.namespace, request.claim),
        job: request.name.clone(),
        problem: "it reported success without the result of its task".to_owned(),
    }
}

/// Manifest Jobs on both sides per claim, compared into evidence.
pub async fn verify(source: &Client, target: &Client, plan: &VolumePlan, mover: &Mover) -> Result<Evidence, Error> {
    refuse_blocking(plan)?;
    let repository = mover.via.open(mover.key.as_ref())?;
    let claims = each_claim(plan, mover, |index, claim| verify_claim(source, target, &repository, claim, index, mover)).await?;
    Ok(Evidence { format: EVIDENCE_FORMAT.to_owned(), run: mover.run.clone(), claims })
}

/// One claim's manifests on both sides, compared.
async fn verify_claim(
    source: &Client,
    target: &Client,
    repository: &crate::Repository,
    claim: &ClaimPlan,
    index: usize,
    mover: &Mover,
) -> Result<ClaimEvidence, Error> {
    let mut sides = Vec::new();
    for (side, client) in [("source", source), ("target", target)] {
        remove_leftovers(client, mover, side, &claim.namespace, &claim.name).await?;
        let key = format!("manifests/{}/{side}/{}/{}", mover.run, claim.namespace, claim.name);
        let job = request(claim, side, format!("ferry-manifest-{}-{}-{index}", &side[..3], mover.run), vec!["manifest".into(), "--key".into(), key.clone()]);
        let summary = run_job(client, mover, &job).await?.manifest.ok_or_else(|| backup_missing(&job))?;
        let manifest = repository.get_document::<Manifest>(&key)?.map(|(m, _)| m).ok_or_else(|| {
            Error::Repository(crate::VolumeError::Corrupt {
                repository: repository.name(),
                problem: format!("the manifest `{key}` the mover reported is not there"),
            })
        })?;
        sides.push((summary, manifest));
    }
    let (target_summary, target_manifest) = sides.pop().unwrap_or_default();
    let (source_summary, source_manifest) = sides.pop().unwrap_or_default();
    let mut mismatches = source_manifest.compare(&target_manifest);
    let mismatch_count = mismatches.len() as u64;
    mismatches.truncate(MISMATCHES_LISTED);
    Ok(ClaimEvidence {
        namespace: claim.namespace.clone(),
        name: claim.name.clone(),
        equal: mismatch_count == 0 && source_summary.digest == target_summary.digest,
        source: source_summary,
        target: target_summary,
        mismatch_count,
        mismatches,
    })
}

/// Scales the workloads that mount the claims to zero, waits until no Pod mounts them, makes
/// the final pass and verifies it.
pub async fn cutover(source: &Client, target: &Client, plan: &VolumePlan, mover: &Mover, quiesce_timeout: Duration) -> Result<CutoverReport, Error> {
    refuse_blocking(plan)?;
    let workloads: BTreeSet<(String, Workload)> = plan.claims.iter().flat_map(|c| c.workloads.iter().map(|w| (c.namespace.clone(), w.clone()))).collect();
    let unscalable: Vec<String> = workloads.iter().filter(|(_, w)| !w.scalable()).map(|(ns, w)| format!("{} `{ns}/{}`", w.kind, w.name)).collect();
    if !unscalable.is_empty() {
        return Err(Error::Refused(vec![format!("these mount the claims and cannot be scaled to zero; stop them first: {}", unscalable.join(", "))]));
    }
    let mut report = CutoverReport::default();
    for (namespace, workload) in &workloads {
        report.scaled.push(scale_to_zero(source, namespace, workload).await?);
    }
    let started = Instant::now();
    wait_until_unmounted(source, plan, quiesce_timeout).await?;
    report.quiesce_seconds = started.elapsed().as_secs_f64();
    let quiet = plan_without_pods(plan);
    report.sync = sync(source, target, &quiet, mover).await?;
    report.evidence = verify(source, target, &quiet, mover).await?;
    Ok(report)
}

/// The plan once nothing mounts the claims: movers are scheduled freely.
fn plan_without_pods(plan: &VolumePlan) -> VolumePlan {
    let claims = plan.claims.iter().map(|c| ClaimPlan { pods: Vec::new(), node: c.node.clone(), ..c.clone() }).collect();
    VolumePlan { claims }
}

/// Remembers a workload's replicas in an annotation and scales it to zero.
async fn scale_to_zero(client: &Client, namespace: &str, workload: &Workload) -> Result<Scaled, Error> {
    let action = format!("scale {} `{namespace}/{}` to zero on the source", workload.kind, workload.name);
    let replicas = match workload.kind.as_str() {
        "Deployment" => patch::<Deployment>(client, namespace, &workload.name, |d: &Deployment| d.spec.replicas).await,
        "StatefulSet" => patch::<StatefulSet>(client, namespace, &workload.name, |s: &StatefulSet| s.spec.replicas).await,
        _ => patch::<ReplicaSet>(client, namespace, &workload.name, |r: &ReplicaSet| r.spec.replicas).await,
    }
    .map_err(kube_error(action))?;
    Ok(Scaled { namespace: namespace.to_owned(), kind: workload.kind.clone(), name: workload.name.clone(), replicas })
}

/// Reads a scalable object's replicas (keeping an earlier cutover's annotation), then sets
/// the annotation and zero replicas in one merge patch.
async fn patch<K>(client: &Client, namespace: &str, name: &str, replicas: impl Fn(&K) -> Option<i32>) -> Result<i32, kube::Error>
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope> + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Serialize,
    K::DynamicType: Default,
{
    let api = Api::<K>::namespaced(client.clone(), namespace);
    let current = api.get(name).await?;
    let remembered = current.meta().annotations.as_ref().and_then(|a| a.get(REPLICAS_ANNOTATION)).and_then(|v| v.parse().ok());
    let before = remembered.unwrap_or_else(|| replicas(&current).unwrap_or(1));
    let body = json!({"metadata": {"annotations": {REPLICAS_ANNOTATION: before.to_string()}}, "spec": {"replicas": 0}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&body)).await?;
    Ok(before)
}

/// Waits until no running Pod mounts any claim of the plan.
async fn wait_until_unmounted(client: &Client, plan: &VolumePlan, timeout: Duration) -> Result<(), Error> {
    let deadline = Instant::now() + timeout;
    loop {
        let mut remaining = Vec::new();
        for claim in &plan.claims {
            let pods = mounting_pods(client, &claim.namespace, &claim.name).await?;
            remaining.extend(pods.iter().map(|p| format!("{}/{}", claim.namespace, kube::ResourceExt::name_any(p))));
        }
        if remaining.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(Error::Timeout(format!("these Pods still mount the claims after {timeout:?}: {}", remaining.join(", "))));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
