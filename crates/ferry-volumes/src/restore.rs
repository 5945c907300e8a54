//! Restoring a snapshot in place: entries the snapshot lacks are removed, changed files are
//! rewritten (into a temporary file renamed over the old one, all-zero chunks left as holes),
//! files whose contents already match are left untouched, and metadata is set only where it
//! differs (directories last, so that read-only directories can still be filled).

use std::collections::HashSet;
use std::ffi::CString;
use std::fs::{File, Metadata};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::Path;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::snapshot::{Entry, Kind};
use crate::walk::{mtime_ns, walk};
use crate::{Repository, VolumeError};

/// What a restore did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreStats {
    /// Regular files in the snapshot (hard links counted once).
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Files written because they were missing or different.
    pub written_files: u64,
    /// Their bytes.
    pub written_bytes: u64,
    /// Entries removed because the snapshot does not have them.
    pub removed: u64,
}

/// Makes the tree at `root` equal to the snapshot `id`: directories first, then files and
/// symbolic links (in parallel), then hard links to them, then the directories' metadata.
pub fn restore(repository: &Repository, id: &str, root: &Path) -> Result<RestoreStats, VolumeError> {
    let snapshot = repository.load_snapshot(id)?;
    std::fs::create_dir_all(root).map_err(VolumeError::io("create", root))?;
    let mut stats = RestoreStats { removed: remove_extra(&snapshot.entries, root)?, ..RestoreStats::default() };
    let of_kind = |wanted: fn(&Kind) -> bool| snapshot.entries.iter().filter(move |e| wanted(&e.kind));
    for entry in of_kind(|k| *k == Kind::Dir) {
        ensure_dir(&root.join(&entry.path))?;
    }
    let leaves: Vec<(&Entry, bool)> = snapshot
        .entries
        .par_iter()
        .enumerate()
        .filter(|(_, entry)| matches!(entry.kind, Kind::File { .. } | Kind::Symlink { .. }))
        .map(|(index, entry)| Ok((entry, restore_leaf(repository, entry, &root.join(&entry.path), index)?)))
        .collect::<Result<_, VolumeError>>()?;
    for (entry, written) in leaves {
        if let Kind::File { size, .. } = entry.kind {
            stats.files += 1;
            stats.bytes += size;
            if written {
                stats.written_files += 1;
                stats.written_bytes += size;
            }
        }
    }
    for entry in &snapshot.entries {
        if let Kind::Hardlink { target } = &entry.kind {
            ensure_hardlink(&root.join(target), &root.join(&entry.path))?;
        }
    }
    for entry in of_kind(|k| *k == Kind::Dir).rev() {
        set_metadata(entry, &root.join(&entry.path))?;
    }
    Ok(stats)
}

/// Restores a file or a symbolic link and sets its metadata; true when a file was written.
/// `index` (the entry's place in the snapshot) names the file's temporary copy.
fn restore_leaf(repository: &Repository, entry: &Entry, path: &Path, index: usize) -> Result<bool, VolumeError> {
    let written = match &entry.kind {
        Kind::Symlink { target } => {
            ensure_symlink(target, path)?;
            false
        }
        _ => restore_file(repository, entry, path, index)?,
    };
    set_metadata(entry, path)?;
    Ok(written)
}

/// Removes what is below `root` but not in the snapshot, or there as another kind; returns how many.
fn remove_extra(entries: &[Entry], root: &Path) -> Result<u64, VolumeError> {
    let wanted: std::collections::HashMap<&str, &Kind> = entries.iter().map(|e| (e.path.as_str(), &e.kind)).collect();
    let mut removed_dirs: HashSet<String> = HashSet::new();
    let mut removed = 0;
    for found in walk(root)?.into_iter().skip(1) {
        if found.path.rsplit_once('/').is_some_and(|(parent, _)| removed_dirs.iter().any(|d| parent == d || parent.starts_with(&format!("{d}/")))) {
            continue;
        }
        let kind = found.meta.file_type();
        let keep = match wanted.get(found.path.as_str()) {
            Some(Kind::Dir) => kind.is_dir(),
            Some(Kind::Symlink { .. }) => kind.is_symlink(),
            Some(Kind::File { .. } | Kind::Hardlink { .. }) => kind.is_file(),
            None => false,
        };
        if keep {
            continue;
        }
        if kind.is_dir() {
            std::fs::remove_dir_all(&found.full).map_err(VolumeError::io("remove", &found.full))?;
            removed_dirs.insert(found.path);
        } else {
            std::fs::remove_file(&found.full).map_err(VolumeError::io("remove", &found.full))?;
        }
        removed += 1;
    }
    Ok(removed)
}

/// Creates a directory unless it exists.
fn ensure_dir(path: &Path) -> Result<(), VolumeError> {
    match std::fs::create_dir(path) {
        Err(err) if err.kind() != std::io::ErrorKind::AlreadyExists => Err(VolumeError::io("create", path)(err)),
        _ => Ok(()),
    }
}

/// Writes a file unless its contents match already; true when written. The file is written to
/// a temporary name made from `index`, then renamed into place.
fn restore_file(repository: &Repository, entry: &Entry, path: &Path, index: usize) -> Result<bool, VolumeError> {
    let Kind::File { size, sha256, chunks, .. } = &entry.kind else {
        return Ok(false);
    };
    if let Ok(meta) = std::fs::symlink_metadata(path)
        && meta.is_file()
        && meta.len() == *size
        && file_sha256(path)? == *sha256
    {
        return Ok(false);
    }
    let temporary = path.with_file_name(format!(".ferry-restore-{}-{index}", std::process::id()));
    let mut file = File::create(&temporary).map_err(VolumeError::io("create", &temporary))?;
    for id in chunks {
        let data = repository.get_chunk(id, &entry.path)?;
        write_sparse(&mut file, &data).map_err(VolumeError::io("write", &temporary))?;
    }
    file.set_len(*size).map_err(VolumeError::io("write", &temporary))?;
    drop(file);
    std::fs::rename(&temporary, path).map_err(VolumeError::io("rename into place", path))?;
    Ok(true)
}

/// Block size below which runs of zeros are written rather than left as holes.
const HOLE_BLOCK: usize = 4096;

/// Writes `data` at the file's position, seeking over all-zero blocks so that they stay holes.
fn write_sparse(file: &mut File, data: &[u8]) -> std::io::Result<()> {
    let mut start = 0;
    while start < data.len() {
        let zero = |block: &[u8]| block.iter().all(|&b| b == 0);
        let run_is_zero = zero(&data[start..(start + HOLE_BLOCK).min(data.len())]);
        let mut end = start;
        while end < data.len() && zero(&data[end..(end + HOLE_BLOCK).min(data.len())]) == run_is_zero {
            end = (end + HOLE_BLOCK).min(data.len());
        }
        if run_is_zero {
            file.seek(SeekFrom::Current((end - start) as i64))?;
        } else {
            file.write_all(&data[start..end])?;
        }
        start = end;
    }
    Ok(())
}

/// Lower-case hex SHA-256 of a file's contents.
pub(crate) fn file_sha256(path: &Path) -> Result<String, VolumeError> {
    let mut file = File::open(path).map_err(VolumeError::io("open", path))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buffer).map_err(VolumeError::io("read", path))?;
        if n == 0 {
            return Ok(ferry_archive::hex(&hasher.finalize()));
        }
        hasher.update(&buffer[..n]);
    }
}

/// Makes `path` a symbolic link to `target` unless it is one already.
fn ensure_symlink(target: &str, path: &Path) -> Result<(), VolumeError> {
    if std::fs::read_link(path).is_ok_and(|current| current.as_os_str().as_bytes() == target.as_bytes()) {
        return Ok(());
    }
    remove_if_present(path)?;
    std::os::unix::fs::symlink(target, path).map_err(VolumeError::io("create the symbolic link", path))
}

/// Makes `path` another name of `target` unless it is one already.
fn ensure_hardlink(target: &Path, path: &Path) -> Result<(), VolumeError> {
    let same = |a: &Metadata, b: &Metadata| a.dev() == b.dev() && a.ino() == b.ino();
    if let (Ok(a), Ok(b)) = (std::fs::symlink_metadata(target), std::fs::symlink_metadata(path))
        && same(&a, &b)
    {
        return Ok(());
    }
    remove_if_present(path)?;
    std::fs::hard_link(target, path).map_err(VolumeError::io("create the hard link", path))
}

/// Removes a non-directory entry if there is one.
fn remove_if_present(path: &Path) -> Result<(), VolumeError> {
    match std::fs::remove_file(path) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(VolumeError::io("remove", path)(err)),
        _ => Ok(()),
    }
}

/// Sets owner, mode, extended attributes and modification time where they differ from the entry's.
fn set_metadata(entry: &Entry, path: &Path) -> Result<(), VolumeError> {
    let meta = std::fs::symlink_metadata(path).map_err(VolumeError::io("read", path))?;
    if (meta.uid(), meta.gid()) != (entry.uid, entry.gid) {
        std::os::unix::fs::lchown(path, Some(entry.uid), Some(entry.gid)).map_err(VolumeError::io("change the owner of", path))?;
    }
    let is_link = matches!(entry.kind, Kind::Symlink { .. });
    if !is_link && meta.mode() & 0o7777 != entry.mode {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(entry.mode)).map_err(VolumeError::io("change the mode of", path))?;
    }
    crate::xattrs::apply(path, &entry.xattrs)?;
    if mtime_ns(&meta) != entry.mtime_ns {
        set_mtime(path, entry.mtime_ns).map_err(VolumeError::io("set the modification time of", path))?;
    }
    Ok(())
}

/// Sets a path's modification time (not following a symbolic link); the access time is left alone.
fn set_mtime(path: &Path, mtime_ns: i64) -> std::io::Result<()> {
    let name = CString::new(path.as_os_str().as_bytes()).map_err(std::io::Error::other)?;
    let omit = libc::timespec { tv_sec: 0, tv_nsec: libc::UTIME_OMIT };
    let mtime = libc::timespec { tv_sec: mtime_ns.div_euclid(1_000_000_000), tv_nsec: mtime_ns.rem_euclid(1_000_000_000) };
    let times = [omit, mtime];
    // SAFETY: `name` is a NUL-terminated string and `times` two valid timespecs, both alive for the call.
    let result = unsafe { libc::utimensat(libc::AT_FDCWD, name.as_ptr(), times.as_ptr(), libc::AT_SYMLINK_NOFOLLOW) };
    if result == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
}
