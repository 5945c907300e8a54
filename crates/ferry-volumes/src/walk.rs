//! Walking a tree the same way for backups and manifests: parents before children, names in
//! byte order, symbolic links never followed, the root itself first as `.`.

use std::fs::Metadata;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use crate::VolumeError;

/// One entry found below the root.
pub(crate) struct Found {
    /// The path relative to the root (`.` for the root).
    pub path: String,
    /// The absolute path.
    pub full: PathBuf,
    /// Its own metadata (not its link target's).
    pub meta: Metadata,
}

/// Every entry of the tree at `root`, the root first.
pub(crate) fn walk(root: &Path) -> Result<Vec<Found>, VolumeError> {
    let meta = std::fs::symlink_metadata(root).map_err(VolumeError::io("read", root))?;
    let mut found = vec![Found { path: ".".to_owned(), full: root.to_path_buf(), meta }];
    walk_dir(root, "", &mut found)?;
    Ok(found)
}

/// Adds the entries of one directory, depth first.
fn walk_dir(dir: &Path, relative: &str, found: &mut Vec<Found>) -> Result<(), VolumeError> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(VolumeError::io("list", dir))? {
        names.push(entry.map_err(VolumeError::io("list", dir))?.file_name());
    }
    names.sort();
    for name in names {
        let full = dir.join(&name);
        let name = name.into_string().map_err(|_| VolumeError::Path { path: full.clone() })?;
        let path = if relative.is_empty() { name } else { format!("{relative}/{name}") };
        let meta = std::fs::symlink_metadata(&full).map_err(VolumeError::io("read", &full))?;
        let is_dir = meta.is_dir();
        found.push(Found { path: path.clone(), full: full.clone(), meta });
        if is_dir {
            walk_dir(&full, &path, found)?;
        }
    }
    Ok(())
}

/// Nanoseconds since the epoch of a (seconds, nanoseconds) pair.
pub(crate) fn nanos(seconds: i64, nanoseconds: i64) -> i64 {
    seconds.saturating_mul(1_000_000_000).saturating_add(nanoseconds)
}

/// The modification time of an entry in nanoseconds.
pub(crate) fn mtime_ns(meta: &Metadata) -> i64 {
    nanos(meta.mtime(), meta.mtime_nsec())
}
