//! Moving volumes between clusters with the clusters' own Jobs: [`plan`] finds the claims in
//! scope and checks the target's, [`sync`] runs a backup Job on the source and a restore Job
//! on the target per claim, [`cutover`] stops the workloads that mount the claims and makes
//! the final pass, and [`verify`] compares manifests computed on both sides into evidence.
//! Every outcome comes from a Job's exit code and its termination message, never from logs.

mod error;
mod job;
mod plan;
mod run;

pub use error::Error;
pub use job::{Mover, Via};
pub use plan::{ClaimPlan, Finding, Scope, TargetClaim, VolumePlan, Workload, plan};
pub use run::{ClaimEvidence, ClaimSync, CutoverReport, EVIDENCE_FORMAT, Evidence, Scaled, SyncReport, cutover, sync, verify};

/// Label on every object ferry creates for a run, with the run id as value.
pub const RUN_LABEL: &str = "ferry.io/volumes-run";
