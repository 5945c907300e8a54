//! A snapshot: one backup pass of one tree, listing every entry with its metadata and, for
//! regular files, the chunks that hold its contents (see docs/volume-repository.md).

use serde::{Deserialize, Serialize};

/// One pass of one volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The volume (a name the caller chooses, e.g. `NAMESPACE/PVC`).
    pub volume: String,
    /// When the pass started (RFC 3339, UTC), as the caller gave it.
    pub time: String,
    /// The snapshot this pass reused unchanged files from, if any.
    pub parent: Option<String>,
    /// Every entry below the root, parents before children, in byte order of their paths.
    pub entries: Vec<Entry>,
}

/// A file, directory, symbolic link or hard link of the tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The path relative to the root, `/`-separated, never empty.
    pub path: String,
    /// Permission bits with set-uid, set-gid and sticky (`mode & 0o7777`).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i64,
    /// What the entry is.
    #[serde(flatten)]
    pub kind: Kind,
    /// Extended attributes (name → base64 value; see `xattrs.rs`), on every kind but hard links.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub xattrs: crate::Xattrs,
}

/// The kind of an entry, with what only that kind has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Kind {
    /// A directory (its entries follow it).
    Dir,
    /// A regular file.
    File {
        /// Its length in bytes.
        size: u64,
        /// Lower-case hex SHA-256 of its contents.
        sha256: String,
        /// Its chunks in order: the hex SHA-256 of each chunk's plain bytes.
        chunks: Vec<String>,
        /// Device, inode and change time when it was read: a later pass that finds the same
        /// reuses the chunks without reading the file.
        stamp: Stamp,
    },
    /// A symbolic link.
    Symlink {
        /// Where it points, as stored in the link.
        target: String,
    },
    /// A further name of a regular file listed earlier in the snapshot.
    Hardlink {
        /// The path of the first name.
        target: String,
    },
}

/// What identifies an unchanged file between passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    /// Device.
    pub dev: u64,
    /// Inode.
    pub ino: u64,
    /// Change time, nanoseconds since the epoch.
    pub ctime_ns: i64,
}
