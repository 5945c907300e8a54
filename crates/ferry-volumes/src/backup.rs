//! A backup pass: walk the tree, reuse the chunks of files unchanged since the parent snapshot,
//! cut the others into content-defined chunks (files in parallel), store the chunks the
//! repository lacks (in packs), and save a snapshot.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::io::Read as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use fastcdc::v2020::FastCDC;
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
    /// What a volume copy cannot hold, left out: paths of sockets, pipes and devices, and
    /// `PATH: the extended attribute …` for attributes whose names are not UTF-8.
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
    let read = read_entries(repository, planned, &stored, &new_chunks, &mut stats.skipped).and_then(|entries| repository.flush().map(|()| entries));
    let entries = read.inspect_err(|_| repository.abandon())?;
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

/// The entries of the planned paths, in their order. The threads take the files to read
/// largest first, each the next one when it is free, so that a few large files do not end the
/// pass on one thread. Names of extended attributes that cannot be kept are added to `skipped`.
fn read_entries(
    repository: &Repository,
    planned: Vec<(Found, Plan)>,
    stored: &AtomicU64,
    new_chunks: &AtomicU64,
    skipped: &mut Vec<String>,
) -> Result<Vec<Entry>, VolumeError> {
    let mut work: Vec<(usize, Found, Plan)> = planned.into_iter().enumerate().map(|(i, (found, plan))| (i, found, plan)).collect();
    work.sort_by_key(|(_, found, plan)| Reverse(if matches!(plan, Plan::Read) { found.meta.len() } else { 0 }));
    let mut done: Vec<(usize, (Entry, Vec<String>))> = work
        .into_iter()
        .par_bridge()
        .map(|(i, found, plan)| Ok((i, entry(repository, &found, plan, stored, new_chunks)?)))
        .collect::<Result<_, VolumeError>>()?;
    done.sort_unstable_by_key(|(i, _)| *i);
    let mut entries = Vec::with_capacity(done.len());
    for (_, (entry, unnamed)) in done {
        skipped.extend(unnamed.into_iter().map(|name| format!("{}: the extended attribute `{name}` (its name is not UTF-8)", entry.path)));
        entries.push(entry);
    }
    Ok(entries)
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

/// The snapshot entry of a planned entry, reading the file when needed, and the names of
/// extended attributes left out because they are not UTF-8.
fn entry(repository: &Repository, found: &Found, plan: Plan, stored: &AtomicU64, new_chunks: &AtomicU64) -> Result<(Entry, Vec<String>), VolumeError> {
    let kind = match plan {
        Plan::Known(Kind::File { chunks, .. }) if !chunks.iter().all(|id| repository.has_chunk(id)) => read_file(repository, found, stored, new_chunks)?,
        Plan::Known(kind) => kind,
        Plan::Read => read_file(repository, found, stored, new_chunks)?,
    };
    let xattrs = if matches!(kind, Kind::Hardlink { .. }) { crate::xattrs::Read::default() } else { crate::xattrs::read(&found.full)? };
    let meta = &found.meta;
    let entry =
        Entry { path: found.path.clone(), mode: meta.mode() & 0o7777, uid: meta.uid(), gid: meta.gid(), mtime_ns: mtime_ns(meta), kind, xattrs: xattrs.kept };
    Ok((entry, xattrs.unnamed))
}

/// Reads a file into chunks, storing those the repository lacks. Files up to the largest chunk
/// are read whole and cut in memory (the streaming chunker allocates a buffer of the largest
/// chunk's size per file, which made backups of many small files 50 times slower); larger ones
/// a window at a time, whose chunks are stored in parallel.
fn read_file(repository: &Repository, found: &Found, stored: &AtomicU64, new_chunks: &AtomicU64) -> Result<Kind, VolumeError> {
    let chunker = repository.config().chunker;
    let mut file = std::fs::File::open(&found.full).map_err(VolumeError::io("open", &found.full))?;
    let store = |data: &[u8]| store_chunk(repository, data, stored, new_chunks);
    let (chunks, sha256) = if found.meta.len() <= u64::from(chunker.max) {
        let mut data = Vec::with_capacity(usize::try_from(found.meta.len()).unwrap_or(0));
        file.read_to_end(&mut data).map_err(VolumeError::io("read", &found.full))?;
        let chunks =
            FastCDC::new(&data, chunker.min, chunker.avg, chunker.max).map(|c| store(&data[c.offset..c.offset + c.length])).collect::<Result<Vec<_>, _>>()?;
        // Most files are one chunk; in a plain repository its name is the file's SHA-256.
        let sha256 = match chunks.as_slice() {
            [only] if repository.names_chunks_by_sha256() => only.0.clone(),
            _ => ferry_archive::hex(&Sha256::digest(&data)),
        };
        (chunks, sha256)
    } else {
        read_large_file(file, found, chunker, &store)?
    };
    let size = chunks.iter().map(|(_, length)| length).sum();
    Ok(Kind::File { size, sha256, chunks: chunks.into_iter().map(|(id, _)| id).collect(), stamp: stamp(found) })
}

/// Reads a file larger than a chunk a window of several chunks at a time: the window is cut in
/// memory, its chunks stored in parallel while the file's SHA-256 goes on. The window's last cut
/// is kept for the next window unless the file ends there, so the chunks are those of one
/// pass over the whole file. Returns each chunk's name and length, and the file's SHA-256.
fn read_large_file<F>(mut file: std::fs::File, found: &Found, chunker: crate::Chunker, store: &F) -> Result<(Vec<(String, u64)>, String), VolumeError>
where
    F: Fn(&[u8]) -> Result<(String, u64), VolumeError> + Sync,
{
    let window_size = 4 * chunker.max as usize;
    let (mut window, mut chunks, mut whole) = (Vec::with_capacity(window_size), Vec::new(), Sha256::new());
    loop {
        let wanted = (window_size - window.len()) as u64;
        let read = (&mut file).take(wanted).read_to_end(&mut window).map_err(VolumeError::io("read", &found.full))?;
        let at_end = (read as u64) < wanted;
        let mut cuts: Vec<(usize, usize)> = FastCDC::new(&window, chunker.min, chunker.avg, chunker.max).map(|c| (c.offset, c.length)).collect();
        if !at_end {
            cuts.pop();
        }
        let used = cuts.last().map_or(0, |(offset, length)| offset + length);
        let (stored, ()) = rayon::join(
            || cuts.par_iter().map(|&(offset, length)| store(&window[offset..offset + length])).collect::<Result<Vec<_>, _>>(),
            || {
                whole.update(&window[..used]);
            },
        );
        chunks.extend(stored?);
        if at_end {
            return Ok((chunks, ferry_archive::hex(&whole.finalize())));
        }
        window.drain(..used);
    }
}

/// Stores one chunk unless the repository has it; returns its name and length.
fn store_chunk(repository: &Repository, data: &[u8], stored: &AtomicU64, new_chunks: &AtomicU64) -> Result<(String, u64), VolumeError> {
    let id = repository.digest(data);
    let written = repository.put_chunk(&id, data)?;
    if written > 0 {
        stored.fetch_add(written, Ordering::Relaxed);
        new_chunks.fetch_add(1, Ordering::Relaxed);
    }
    Ok((id, data.len() as u64))
}
