//! What can go wrong with a volume repository or a tree, named for the user: which file,
//! which chunk, which repository, and never any file contents or credentials.

use std::path::PathBuf;

/// A failure of a backup, a restore, a manifest or the repository.
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    /// A file or directory of the tree could not be read or written.
    #[error("cannot {action} `{}`", path.display())]
    Io {
        /// What ferry was doing, e.g. `read` or `create`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A path that the repository format cannot hold (not UTF-8).
    #[error("`{}` is not UTF-8; ferry volumes keep only UTF-8 paths", path.display())]
    Path {
        /// The path, as far as it can be shown.
        path: PathBuf,
    },
    /// The repository location is not usable.
    #[error("the repository location `{text}` is not usable: {problem}")]
    Location {
        /// The location as given.
        text: String,
        /// Why.
        problem: String,
    },
    /// The repository's storage failed a request.
    #[error("cannot {action} `{key}` in the repository `{repository}`")]
    Storage {
        /// The repository.
        repository: String,
        /// What ferry was doing.
        action: &'static str,
        /// The repository key.
        key: String,
        /// The storage error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Something stored in the repository is missing, damaged or not what it should be.
    #[error("the repository `{repository}` is damaged: {problem}")]
    Corrupt {
        /// The repository.
        repository: String,
        /// What is wrong, naming the key (and the file it belongs to, when known).
        problem: String,
    },
    /// The repository was written by another format or version.
    #[error("`{repository}` is not a ferry volume repository of format `{expected}`: {found}")]
    Format {
        /// The repository.
        repository: String,
        /// The format this ferry reads.
        expected: &'static str,
        /// What was found.
        found: String,
    },
    /// The repository is encrypted and no key was given.
    #[error(
        "the repository `{repository}` is encrypted; pass --identity with an age identity it was encrypted to, or --encryption-key-file (or --passphrase-env) with its passphrase"
    )]
    KeyRequired {
        /// The repository.
        repository: String,
    },
    /// Keys were given but the repository is not encrypted: using it would let a plain copy
    /// stand in for the encrypted one expected.
    #[error(
        "the repository `{repository}` is not encrypted but keys were given: refusing to use it, as it may have been swapped for a plain copy; use it without keys if it is meant to be plain"
    )]
    NotEncrypted {
        /// The repository.
        repository: String,
    },
    /// None of the keys given opens the repository.
    #[error("the keys given do not open the repository `{repository}`: {problem}")]
    WrongKey {
        /// The repository.
        repository: String,
        /// Which key was tried and why it failed.
        problem: String,
    },
    /// A repository key cannot be used or made.
    #[error("cannot use the key of the repository `{repository}`: {problem}")]
    Key {
        /// The repository (or the key file).
        repository: String,
        /// Why (never the key).
        problem: String,
    },
    /// A snapshot asked for does not exist.
    #[error("the repository `{repository}` has no snapshot `{snapshot}`")]
    NoSnapshot {
        /// The repository.
        repository: String,
        /// The snapshot id or volume name.
        snapshot: String,
    },
}

impl VolumeError {
    /// An I/O error on a path.
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> VolumeError {
        let path = path.into();
        move |source| VolumeError::Io { action, path, source }
    }
}
