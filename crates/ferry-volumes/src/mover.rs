//! The mover: what `ferry volumes mover` does inside a Job (back up, restore, or describe the
//! volume mounted at a path) and the report it leaves as the container's termination message,
//! which ferry reads from the Pod's status together with the exit code.

use std::path::Path;

use ferry_archive::S3Settings;
use serde::{Deserialize, Serialize};

use crate::{BackupOptions, BackupStats, Chunker, Manifest, Repository, RestoreStats, Unlock, VolumeError, backup, open_store, restore};

/// Kubernetes keeps at most this many bytes of a termination message.
pub const REPORT_LIMIT: usize = 4096;

/// Skipped paths named in a report; the rest are only counted.
const SKIPPED_SHOWN: usize = 10;

/// What a mover run reports: exactly one of its fields is set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoverReport {
    /// A backup pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupStats>,
    /// A restore.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore: Option<RestoreStats>,
    /// A manifest, stored in the repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<ManifestSummary>,
    /// Why the run failed (it also exits non-zero).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A manifest as reported: where it is stored and what it holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestSummary {
    /// Its key in the repository.
    pub key: String,
    /// Regular files.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// [`Manifest::digest`].
    pub digest: String,
}

/// What the mover is asked to do.
#[derive(Debug, Clone)]
pub enum MoverTask {
    /// Back up the tree as a new snapshot of `volume`.
    Backup {
        /// The volume's name in the repository.
        volume: String,
        /// The pass's time (RFC 3339).
        time: String,
    },
    /// Restore a snapshot in place.
    Restore {
        /// The snapshot id.
        snapshot: String,
    },
    /// Store the tree's manifest under `key`.
    Manifest {
        /// The repository key.
        key: String,
    },
}

/// Runs a task on the tree at `path` with the repository at `repository` (opened with
/// `unlock` when it is encrypted: in a Job, the repository key ferry put in the Job's Secret).
pub fn run_mover(repository: &str, s3: &S3Settings, unlock: Option<&Unlock>, path: &Path, task: &MoverTask) -> Result<MoverReport, VolumeError> {
    let store = open_store(repository, s3)?;
    match task {
        MoverTask::Backup { volume, time } => {
            let repository = Repository::open_or_create(store, Chunker::default(), unlock)?;
            let mut stats = backup(&repository, path, &BackupOptions { volume: volume.clone(), time: time.clone() })?;
            stats.skipped.truncate(SKIPPED_SHOWN);
            Ok(MoverReport { backup: Some(stats), ..MoverReport::default() })
        }
        MoverTask::Restore { snapshot } => {
            let stats = restore(&Repository::open(store, unlock)?, snapshot, path)?;
            Ok(MoverReport { restore: Some(stats), ..MoverReport::default() })
        }
        MoverTask::Manifest { key } => {
            let repository = Repository::open_or_create(store, Chunker::default(), unlock)?;
            let manifest = Manifest::of_tree(path)?;
            repository.put_document(key, &manifest)?;
            let summary = ManifestSummary { key: key.clone(), files: manifest.files(), bytes: manifest.bytes(), digest: manifest.digest() };
            Ok(MoverReport { manifest: Some(summary), ..MoverReport::default() })
        }
    }
}

impl MoverReport {
    /// A failure's report: the error and its causes, cut to fit a termination message.
    pub fn failed(err: &(dyn std::error::Error + 'static)) -> MoverReport {
        let mut text = std::iter::successors(Some(err), |e| e.source()).map(ToString::to_string).collect::<Vec<_>>().join(": ");
        if text.len() > REPORT_LIMIT / 2 {
            let mut end = REPORT_LIMIT / 2;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
            text.push('…');
        }
        MoverReport { error: Some(text), ..MoverReport::default() }
    }
}
