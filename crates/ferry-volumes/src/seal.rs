//! Encryption of a repository (docs/volume-repository.md, "Encryption"): every chunk and
//! document is one age file encrypted to the repository's own X25519 identity, and chunks and
//! snapshots are named by an HMAC-SHA-256 of their plain bytes keyed from that identity, so
//! that equal contents still deduplicate but their names reveal nothing to whoever can list
//! the store. The identity itself is stored under `keys/`, encrypted with the user's keys (the
//! same passphrase, recipients and identities as archives, [`ferry_archive::Keys`]).
//!
//! A repository's identity is an ordinary age identity: `age -d -i me.txt keys/K > repo.txt`
//! and `age -d -i repo.txt index/abcd… | zstd -d` read the repository with age's tools.

#![allow(
    deprecated,
    reason = "classic X25519 keeps every stored object readable by age 1.x (Debian) and rage; post-quantum headers add ~1.5 KB to each object"
)]

use std::fmt;
use std::str::FromStr as _;

use age::secrecy::{ExposeSecret as _, SecretString};
use ferry_archive::Keys;
use hmac::{KeyInit as _, Mac as _};
use sha2::{Digest as _, Sha256};

use crate::VolumeError;

/// The first line of a repository key as ferry writes it (an age identity file's comment).
const KEY_COMMENT: &str = "# ferry.volumes/v1 repository key";

/// What opens an encrypted repository: the user's keys (which open its stored key), or the
/// repository's key itself (what ferry hands to its mover Jobs).
#[derive(Debug, Clone)]
pub enum Unlock {
    /// A passphrase, recipients and identities, as for archives.
    Keys(Keys),
    /// The repository's own key, as [`RepositoryKey::to_text`] wrote it.
    Key(RepositoryKey),
}

/// The key of an encrypted repository: an age X25519 identity. Its text is secret; it is never
/// shown by `Debug`.
#[derive(Clone)]
pub struct RepositoryKey {
    identity: age::x25519::Identity,
}

impl fmt::Debug for RepositoryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RepositoryKey(<redacted>)")
    }
}

impl RepositoryKey {
    /// A new random key.
    pub(crate) fn generate() -> RepositoryKey {
        RepositoryKey { identity: age::x25519::Identity::generate() }
    }

    /// Reads a key written by [`RepositoryKey::to_text`] (an age identity file with one
    /// identity); `origin` names it in errors, never its text.
    pub fn parse(text: &str, origin: &str) -> Result<RepositoryKey, VolumeError> {
        let line = text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#'));
        let identity = line.and_then(|l| age::x25519::Identity::from_str(l).ok()).ok_or_else(|| VolumeError::Key {
            repository: origin.to_owned(),
            problem: "it does not hold a repository key (an age identity, AGE-SECRET-KEY-1…)".to_owned(),
        })?;
        Ok(RepositoryKey { identity })
    }

    /// Reads a key file written from [`RepositoryKey::to_text`] (in a mover Job, the file
    /// mounted from its Secret).
    pub fn from_file(path: &std::path::Path) -> Result<RepositoryKey, VolumeError> {
        let text = std::fs::read_to_string(path).map_err(VolumeError::io("read the repository key", path))?;
        RepositoryKey::parse(&text, &path.display().to_string())
    }

    /// The key as an age identity file, for a file or a Kubernetes Secret. Secret.
    pub fn to_text(&self) -> SecretString {
        SecretString::from(format!("{KEY_COMMENT}\n{}\n", self.identity.to_string().expose_secret()))
    }

    /// The public recipient of this key (`age1…`), recorded in `config.json` so that a wrong key
    /// is told apart from damage.
    pub fn recipient(&self) -> String {
        self.identity.to_public().to_string()
    }
}

/// An open encrypted repository's cipher and naming key.
pub(crate) struct Sealing {
    key: RepositoryKey,
    /// The repository key as archive keys: each object is an age file to it, read with the
    /// archive reader's limits (a bounded header) and its account of damage.
    keys: ferry_archive::Keys,
    names: [u8; 32],
}

impl Sealing {
    /// The cipher of a repository key.
    pub(crate) fn new(key: RepositoryKey) -> Sealing {
        let secret = key.identity.to_string();
        let names = Sha256::new().chain_update(b"ferry.volumes/v1 names\0").chain_update(secret.expose_secret().as_bytes()).finalize().into();
        let mut keys = ferry_archive::Keys::new();
        keys.add_identity_text(key.to_text().expose_secret(), "the repository key").expect("a repository key is an age identity");
        Sealing { key, keys, names }
    }

    /// The repository key.
    pub(crate) fn key(&self) -> &RepositoryKey {
        &self.key
    }

    /// The name of plain bytes: lower-case hex HMAC-SHA-256 under the naming key.
    pub(crate) fn name(&self, plain: &[u8]) -> String {
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(&self.names).expect("HMAC takes keys of any length");
        mac.update(plain);
        ferry_archive::hex(&mac.finalize().into_bytes())
    }

    /// Encrypts one object.
    pub(crate) fn seal(&self, repository: &str, plain: &[u8]) -> Result<Vec<u8>, VolumeError> {
        self.keys.encrypt(plain).map_err(|e| VolumeError::Key { repository: repository.to_owned(), problem: format!("cannot encrypt: {e}") })
    }

    /// Decrypts one object; `key` names it in errors.
    pub(crate) fn open(&self, repository: &str, key: &str, sealed: &[u8]) -> Result<Vec<u8>, VolumeError> {
        self.keys.decrypt_bytes(key, sealed).map_err(|e| VolumeError::Corrupt { repository: repository.to_owned(), problem: unopened(key, e) })
    }
}

/// Why the object `key` did not open, in the repository's words (the archive reader's
/// errors speak of archives and of `ferry export`).
fn unopened(key: &str, error: ferry_archive::ArchiveError) -> String {
    use ferry_archive::ArchiveError;
    match error {
        ArchiveError::Damaged { problem, .. } | ArchiveError::Truncated { problem, .. } | ArchiveError::TooLarge { problem, .. } => {
            format!("`{key}`: {problem}")
        }
        ArchiveError::WrongKey { .. } => format!("`{key}` cannot be decrypted with the repository's key"),
        ArchiveError::NotAnArchive { problem, .. } => format!("`{key}` is not an age file: {problem}"),
        other => format!("`{key}`: {other}"),
    }
}
