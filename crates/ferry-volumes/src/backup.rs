//! A backup pass: walk the tree, reuse the chunks of files unchanged since the parent snapshot,
//! cut the others into content-defined chunks (files in parallel), store the chunks the
//! repository lacks, and save a snapshot.

use std::collections::HashMap;
use std::io::Read as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use fastcdc::v2020::{FastCDC, StreamCDC};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::snapshot::{Entry, Kind, Snapshot, Stamp};
use crate::walk::{Found, mtime_ns, nanos, walk};
use crate::{Repository, VolumeError};

/// What a backup pass is for.
#[derive(Debug, Clone)]
pub struct BackupOptions {
    /// The volume's name in the repository (e.g. `NAMESPACE/PVC`).
    pub volume: String,
    /// When the pass started (RFC 3339), recorded in the snapshot.
    pub time: String,
}

/// What a backup pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupStats {
    /// The new snapshot's id.
    pub snapshot: String,
    /// The snapshot it reused unchanged files from.
    pub parent: Option<String>,
    /// Regular files (hard links counted once).
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Files read because they are new or changed since the parent.
    pub changed_files: u64,
    /// Their bytes.
    pub changed_bytes: u64,
    /// Chunks the repository did not have.
    pub new_chunks: u64,
    /// Compressed bytes written to the repository for them.
    pub stored_bytes: u64,
    /// Paths of entries a volume copy cannot hold (sockets, pipes, devices), left out.
    pub skipped: Vec<String>,
}

/// Backs up the tree at `root` as a new snapshot of `options.volume`, reusing unchanged files
/// of the volume's latest snapshot.
pub fn backup(repository: &Repository, root: &Path, options: &BackupOptions) -> Result<BackupStats, VolumeError> {
    let parent_id = repository.latest(&options.volume)?;
    let parent = match &parent_id {
        Some(id) => Some(repository.load_snapshot(id)?),
        None => None,
    };
    let previous: HashMap<&str, &Entry> = parent.iter().flat_map(|s| &s.entries).map(|e| (e.path.as_str(), e)).collect();
    let mut stats = BackupStats { parent: parent_id.clone(), ..BackupStats::default() };
    let mut links: HashMap<(u64, u64), String> = HashMap::new();
    let mut planned = Vec::new();
    for found in walk(root)? {
        match plan(&found, &previous, &mut links) {
            Some(plan) => planned.push((found, plan)),
            None => stats.skipped.push(found.path),
        }
    }
    let stored = AtomicU64::new(0);
    let new_chunks = AtomicU64::new(0);
    let entries: Vec<Entry> = planned.into_par_iter().map(|(found, plan)| entry(repository, &found, plan, &stored, &new_chunks)).collect::<Result<_, _>>()?;
    for entry in &entries {
        if let Kind::File { size, sha256, .. } = &entry.kind {
            stats.files += 1;
            stats.bytes += size;
            if !previous.get(entry.path.as_str()).is_some_and(|old| matches!(&old.kind, Kind::File { sha256: before, .. } if before == sha256)) {
                stats.changed_files += 1;
                stats.changed_bytes += size;
            }
        }
    }
    stats.stored_bytes = stored.into_inner();
    stats.new_chunks = new_chunks.into_inner();
    let snapshot = Snapshot { volume: options.volume.clone(), time: options.time.clone(), parent: parent_id, entries };
    stats.snapshot = repository.save_snapshot(&snapshot)?;
    Ok(stats)
}

/// How an entry's kind is found.
enum Plan {
    /// Already known: a directory, a link, or a file unchanged since the parent.
    Known(Kind),
    /// A regular file to read and chunk.
    Read,
}

/// Decides how to record an entry; `None` for entries that cannot be kept.
fn plan(found: &Found, previous: &HashMap<&str, &Entry>, links: &mut HashMap<(u64, u64), String>) -> Option<Plan> {
    let meta = &found.meta;
    let kind = meta.file_type();
    if kind.is_dir() {
        return Some(Plan::Known(Kind::Dir));
    }
    if kind.is_symlink() {
        let target = std::fs::read_link(&found.full).ok()?.to_string_lossy().into_owned();
        return Some(Plan::Known(Kind::Symlink { target }));
    }
    if !kind.is_file() {
        return None;
    }
    if meta.nlink() > 1 {
        if let Some(first) = links.get(&(meta.dev(), meta.ino())) {
            return Some(Plan::Known(Kind::Hardlink { target: first.clone() }));
        }
        links.insert((meta.dev(), meta.ino()), found.path.clone());
    }
    let stamp = stamp(found);
    match previous.get(found.path.as_str()).map(|e| (&e.kind, e.mtime_ns)) {
        Some((Kind::File { size, stamp: old, .. }, mtime)) if *size == meta.len() && *old == stamp && mtime == mtime_ns(meta) => {
            Some(Plan::Known(previous[found.path.as_str()].kind.clone()))
        }
        _ => Some(Plan::Read),
    }
}

/// The device, inode and change time of an entry.
fn stamp(found: &Found) -> Stamp {
    Stamp { dev: found.meta.dev(), ino: found.meta.ino(), ctime_ns: nanos(found.meta.ctime(), found.meta.ctime_nsec()) }
}

/// The snapshot entry of a planned entry, reading the file when needed.
fn entry(repository: &Repository, found: &Found, plan: Plan, stored: &AtomicU64, new_chunks: &AtomicU64) -> Result<Entry, VolumeError> {
    let kind = match plan {
        Plan::Known(Kind::File { chunks, .. }) if !chunks.iter().all(|id| repository.has_chunk(id)) => read_file(repository, found, stored, new_chunks)?,
        Plan::Known(kind) => kind,
        Plan::Read => read_file(repository, found, stored, new_chunks)?,
    };
    let meta = &found.meta;
    Ok(Entry { path: found.path.clone(), mode: meta.mode() & 0o7777, uid: meta.uid(), gid: meta.gid(), mtime_ns: mtime_ns(meta), kind })
}

/// Reads a file into chunks, storing those the repository lacks. Files up to the largest chunk
/// are read whole and cut in memory: the streaming chunker allocates a buffer of the largest
/// chunk's size per file, which made backups of many small files 50 times slower.
fn read_file(repository: &Repository, found: &Found, stored: &AtomicU64, new_chunks: &AtomicU64) -> Result<Kind, VolumeError> {
    let chunker = repository.config().chunker;
    let mut file = std::fs::File::open(&found.full).map_err(VolumeError::io("open", &found.full))?;
    let mut whole = Sha256::new();
    let mut chunks = Vec::new();
    let mut size = 0u64;
    let mut add = |data: &[u8]| -> Result<(), VolumeError> {
        whole.update(data);
        size += data.len() as u64;
        let id = repository.digest(data);
        let written = repository.put_chunk(&id, data)?;
        if written > 0 {
            stored.fetch_add(written, Ordering::Relaxed);
            new_chunks.fetch_add(1, Ordering::Relaxed);
        }
        chunks.push(id);
        Ok(())
    };
    if found.meta.len() <= u64::from(chunker.max) {
        let mut data = Vec::with_capacity(usize::try_from(found.meta.len()).unwrap_or(0));
        file.read_to_end(&mut data).map_err(VolumeError::io("read", &found.full))?;
        for chunk in FastCDC::new(&data, chunker.min, chunker.avg, chunker.max) {
            add(&data[chunk.offset..chunk.offset + chunk.length])?;
        }
    } else {
        for chunk in StreamCDC::new(file, chunker.min, chunker.avg, chunker.max) {
            add(&chunk.map_err(|e| VolumeError::io("read", &found.full)(std::io::Error::other(e)))?.data)?;
        }
    }
    Ok(Kind::File { size, sha256: ferry_archive::hex(&whole.finalize()), chunks, stamp: stamp(found) })
}
