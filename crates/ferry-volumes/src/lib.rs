//! Persistent-volume data for migrations: a content-addressed, deduplicating repository in a
//! local directory or under an S3 prefix (`ferry.volumes/v2`, docs/volume-repository.md),
//! with backup passes, in-place restores and manifests for verification.
//!
//! [`backup`] walks a tree, cuts files into content-defined chunks (FastCDC), stores the
//! chunks the repository lacks (zstd, named by their SHA-256) and saves a [`Snapshot`] listing
//! every entry with its metadata; a later pass of the same volume reuses the chunks of files
//! whose size, modification time, inode and change time are unchanged. [`restore`] makes a
//! tree equal to a snapshot in place, verifying every chunk. [`Manifest::of_tree`] describes
//! a tree independently of the repository, and [`Manifest::compare`] names every difference.
//!
//! With [`Unlock`] keys the repository is encrypted: every object an age file, names keyed
//! hashes (see `seal.rs`). I/O goes through the [`Store`] trait; this crate never prints.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use ferry_volumes::{BackupOptions, Chunker, DirStore, Manifest, Repository, backup, restore};
//!
//! let (source, target, repo) = (tempfile::tempdir()?, tempfile::tempdir()?, tempfile::tempdir()?);
//! std::fs::write(source.path().join("data.txt"), "hello")?;
//! let repository = Repository::open_or_create(Arc::new(DirStore::new(repo.path())), Chunker::default(), None)?;
//! let options = BackupOptions { volume: "shop/data".into(), time: "2026-12-06T12:00:00Z".into() };
//! let stats = backup(&repository, source.path(), &options)?;
//! restore(&repository, &stats.snapshot, target.path())?;
//! assert!(Manifest::of_tree(source.path())?.compare(&Manifest::of_tree(target.path())?).is_empty());
//! # Ok(())
//! # }
//! ```

mod backup;
pub mod cluster;
mod error;
mod manifest;
mod mover;
mod pack;
mod repo;
mod restore;
mod seal;
mod snapshot;
mod store;
mod walk;
mod xattrs;

pub use backup::{BackupOptions, BackupStats, backup};
pub use error::VolumeError;
pub use manifest::{Manifest, ManifestEntry, Mismatch};
pub use mover::{ManifestSummary, MoverReport, MoverTask, REPORT_LIMIT, run_mover};
pub use repo::{Chunker, Config, Encryption, FORMAT, Repository};
pub use restore::{RestoreStats, restore};
pub use seal::{RepositoryKey, Unlock};
pub use snapshot::{Entry, Kind, Snapshot, Stamp};
pub use store::{DirStore, S3Store, Store, open_store};
pub use xattrs::Xattrs;
