//! A manifest: every entry of a tree with its kind, size, mode, owner, link target, extended
//! attributes and the SHA-256 of a file's contents, computed from the tree itself on each side of a move, and the
//! comparison of two manifests that names every path that differs.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::VolumeError;
use crate::walk::{Found, walk};

/// A tree as verification sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Every entry, the root (`.`) first, parents before children.
    pub entries: Vec<ManifestEntry>,
}

/// One entry of a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// The path relative to the root.
    pub path: String,
    /// `dir`, `file`, `symlink` or `other` (sockets, pipes, devices).
    pub kind: String,
    /// Bytes of a file (0 for other kinds).
    pub size: u64,
    /// Permission bits (`mode & 0o7777`).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// SHA-256 of a file's contents, or a link's target.
    pub content: Option<String>,
    /// Extended attributes (name → base64 value), left out when there are none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub xattrs: crate::Xattrs,
}

/// One difference between two manifests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mismatch {
    /// The path.
    pub path: String,
    /// What differs, e.g. `missing on the target` or `content differs`.
    pub problem: String,
}

impl Manifest {
    /// Computes the manifest of the tree at `root` (files hashed in parallel).
    pub fn of_tree(root: &Path) -> Result<Manifest, VolumeError> {
        let entries = walk(root)?.into_par_iter().map(|found| entry(&found)).collect::<Result<_, _>>()?;
        Ok(Manifest { entries })
    }

    /// Regular files in the manifest.
    pub fn files(&self) -> u64 {
        self.entries.iter().filter(|e| e.kind == "file").count() as u64
    }

    /// Their bytes.
    pub fn bytes(&self) -> u64 {
        self.entries.iter().map(|e| e.size).sum()
    }

    /// The SHA-256 of the manifest's JSON text: equal trees have equal digests.
    pub fn digest(&self) -> String {
        crate::repo::sha256_hex(&serde_json::to_vec(self).unwrap_or_default())
    }

    /// Every difference between a source (`self`) and a target manifest, in path order.
    pub fn compare(&self, target: &Manifest) -> Vec<Mismatch> {
        let source: BTreeMap<&str, &ManifestEntry> = self.entries.iter().map(|e| (e.path.as_str(), e)).collect();
        let target: BTreeMap<&str, &ManifestEntry> = target.entries.iter().map(|e| (e.path.as_str(), e)).collect();
        let mut paths: Vec<&str> = source.keys().chain(target.keys()).copied().collect();
        paths.sort_unstable();
        paths.dedup();
        paths
            .into_iter()
            .filter_map(|path| {
                let problem = match (source.get(path), target.get(path)) {
                    (Some(_), None) => "missing on the target".to_owned(),
                    (None, Some(_)) => "only on the target".to_owned(),
                    (Some(s), Some(t)) => difference(s, t)?,
                    (None, None) => return None,
                };
                Some(Mismatch { path: path.to_owned(), problem })
            })
            .collect()
    }
}

/// What differs between two entries of the same path, if anything.
fn difference(source: &ManifestEntry, target: &ManifestEntry) -> Option<String> {
    if source.kind != target.kind {
        Some(format!("a {} on the source, a {} on the target", source.kind, target.kind))
    } else if source.size != target.size {
        Some(format!("{} bytes on the source, {} on the target", source.size, target.size))
    } else if source.content != target.content {
        Some(if source.kind == "symlink" { "link target differs" } else { "content differs" }.to_owned())
    } else if source.mode != target.mode {
        Some(format!("mode {:04o} on the source, {:04o} on the target", source.mode, target.mode))
    } else if (source.uid, source.gid) != (target.uid, target.gid) {
        Some(format!("owner {}:{} on the source, {}:{} on the target", source.uid, source.gid, target.uid, target.gid))
    } else if source.xattrs != target.xattrs {
        Some(format!("extended attributes differ: {}", crate::xattrs::differing(&source.xattrs, &target.xattrs).join(", ")))
    } else {
        None
    }
}

/// The manifest entry of one found entry.
fn entry(found: &Found) -> Result<ManifestEntry, VolumeError> {
    let meta = &found.meta;
    let kind = meta.file_type();
    let (name, size, content) = if kind.is_file() {
        ("file", meta.len(), Some(crate::restore::file_sha256(&found.full)?))
    } else if kind.is_dir() {
        ("dir", 0, None)
    } else if kind.is_symlink() {
        let target = std::fs::read_link(&found.full).map_err(VolumeError::io("read the link", &found.full))?;
        ("symlink", 0, Some(target.to_string_lossy().into_owned()))
    } else {
        ("other", 0, None)
    };
    let xattrs = crate::xattrs::read(&found.full)?.kept;
    Ok(ManifestEntry { path: found.path.clone(), kind: name.to_owned(), size, mode: meta.mode() & 0o7777, uid: meta.uid(), gid: meta.gid(), content, xattrs })
}
