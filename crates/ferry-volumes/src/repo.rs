//! The repository: its configuration, chunks (zstd-compressed, named by the SHA-256 of their
//! plain bytes, verified on every read), snapshots, per-volume references to the latest
//! snapshot, and JSON documents such as manifests; optionally encrypted (`seal.rs`: each object
//! an age file, names keyed hashes). The format is docs/volume-repository.md.

use std::cell::RefCell;
use std::collections::HashMap;
use std::collections::hash_map::Entry as Slot;
use std::sync::{Arc, Mutex, PoisonError};

use rayon::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::pack::{Location, OpenPack, PackIndex, index_key, pack_key};
use crate::seal::{RepositoryKey, Sealing, Unlock};
use crate::{Snapshot, Store, VolumeError};

/// The format this version reads and writes.
pub const FORMAT: &str = "ferry.volumes/v2";

/// zstd level for chunks and documents: zstd's fastest. On the volume benchmark's tree
/// (BENCHMARKS.md) level 1 compressed 1.7 times as fast as level 3 with the same ratio (the
/// `zstd` tool on 130 MB of its small text files: 48.9 MB at level 1, 49.5 MB at level 3; its
/// half-random large files: 56.4 MB at both); the compression was the largest part of a
/// backup's time, and a migration's repository is read once.
const ZSTD_LEVEL: i32 = 1;

/// The largest object decompressed into a buffer sized from its frame header; larger ones (and
/// frames that do not record their size) are decompressed as a stream.
const BULK_LIMIT: usize = 64 << 20;

thread_local! {
    /// Each thread's zstd contexts, reused for every chunk: a new context per chunk
    /// (`zstd::encode_all`, `zstd::decode_all`) sets up its tables and window each time, which
    /// cost more than compressing a small file's chunk.
    static CONTEXTS: RefCell<Option<(zstd::bulk::Compressor<'static>, zstd::bulk::Decompressor<'static>)>> = const { RefCell::new(None) };
}

/// Runs `work` with this thread's zstd contexts.
fn with_contexts<T>(
    work: impl FnOnce(&mut zstd::bulk::Compressor<'static>, &mut zstd::bulk::Decompressor<'static>) -> std::io::Result<T>,
) -> std::io::Result<T> {
    CONTEXTS.with_borrow_mut(|slot| {
        let (compressor, decompressor) = match slot {
            Some(contexts) => contexts,
            None => slot.insert((zstd::bulk::Compressor::new(ZSTD_LEVEL)?, zstd::bulk::Decompressor::new()?)),
        };
        work(compressor, decompressor)
    })
}

/// One zstd frame of `plain`, recording its size (so that reading it allocates exactly once).
fn compress(plain: &[u8]) -> std::io::Result<Vec<u8>> {
    with_contexts(|compressor, _| compressor.compress(plain))
}

/// The bytes of zstd frames: into one buffer when the frames record a size up to
/// [`BULK_LIMIT`] (every frame ferry writes records it), else as a stream.
fn decompress(packed: &[u8]) -> std::io::Result<Vec<u8>> {
    match zstd::bulk::Decompressor::upper_bound(packed).filter(|size| *size <= BULK_LIMIT) {
        Some(size) => with_contexts(|_, decompressor| decompressor.decompress(packed, size)),
        None => zstd::decode_all(packed),
    }
}

/// The repository's `config.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// Always [`FORMAT`].
    pub format: String,
    /// Content-defined chunking parameters (FastCDC 2020), in bytes.
    pub chunker: Chunker,
    /// Set when the repository is encrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<Encryption>,
}

/// How a repository is encrypted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Encryption {
    /// Always `age`.
    pub scheme: String,
    /// The public recipient (`age1…`) of the repository's key, which every object is encrypted to.
    pub recipient: String,
}

/// FastCDC parameters; every backup into a repository uses the repository's, so that the
/// same contents give the same chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunker {
    /// Smallest chunk (except a file's last).
    pub min: u32,
    /// Average chunk.
    pub avg: u32,
    /// Largest chunk.
    pub max: u32,
}

impl Default for Chunker {
    /// 512 KiB / 1 MiB / 8 MiB, as restic uses.
    fn default() -> Chunker {
        Chunker { min: 512 * 1024, avg: 1024 * 1024, max: 8 * 1024 * 1024 }
    }
}

/// An open repository.
pub struct Repository {
    store: Arc<dyn Store>,
    config: Config,
    /// Every chunk stored or being stored: where it is (from the packs' indexes, read at open and
    /// added to as packs are written), or `None` while it waits in the open pack, so that a chunk
    /// two files share is stored once.
    known: Mutex<HashMap<String, Option<Location>>>,
    /// The pack being filled.
    open_pack: Mutex<OpenPack>,
    /// The cipher of an encrypted repository.
    sealing: Option<Sealing>,
}

/// Locks a mutex, going on if a thread panicked while holding it (the data stays usable).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Lower-case hex SHA-256 of bytes.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    ferry_archive::hex(&Sha256::digest(bytes))
}

impl Repository {
    /// Opens the repository in `store`, creating it with `chunker` when the store is empty:
    /// encrypted when `unlock` holds keys (its new key is stored under `keys/`, encrypted with them).
    pub fn open_or_create(store: Arc<dyn Store>, chunker: Chunker, unlock: Option<&Unlock>) -> Result<Repository, VolumeError> {
        if store.get("config.json")?.is_none() {
            let encryption = match unlock {
                None => None,
                Some(Unlock::Keys(keys)) => Some(create_key(store.as_ref(), keys)?),
                Some(Unlock::Key(_)) => {
                    return Err(VolumeError::Key {
                        repository: store.to_string(),
                        problem: "there is no repository there yet, and a repository key only opens an existing one".to_owned(),
                    });
                }
            };
            let config = Config { format: FORMAT.to_owned(), chunker, encryption };
            let text = serde_json::to_vec_pretty(&config).map_err(|e| VolumeError::Corrupt { repository: store.to_string(), problem: e.to_string() })?;
            store.put("config.json", text)?;
        }
        Repository::open(store, unlock)
    }

    /// Opens an existing repository and reads its packs' indexes. An encrypted repository needs
    /// `unlock`; a plain one is refused when keys are given (a swapped-in plain copy).
    pub fn open(store: Arc<dyn Store>, unlock: Option<&Unlock>) -> Result<Repository, VolumeError> {
        let repository = store.to_string();
        let bytes = store.get("config.json")?.ok_or_else(|| VolumeError::Format {
            repository: repository.clone(),
            expected: FORMAT,
            found: "there is no config.json (nothing was backed up to it yet?)".to_owned(),
        })?;
        let config: Config = serde_json::from_slice(&bytes).map_err(|e| VolumeError::Format {
            repository: repository.clone(),
            expected: FORMAT,
            found: format!("config.json is not readable: {e}"),
        })?;
        if config.format != FORMAT {
            return Err(VolumeError::Format { repository, expected: FORMAT, found: format!("its config.json says `{}`", config.format) });
        }
        let sealing = match (&config.encryption, unlock) {
            (None, None) => None,
            (None, Some(_)) => return Err(VolumeError::NotEncrypted { repository }),
            (Some(_), None) => return Err(VolumeError::KeyRequired { repository }),
            (Some(encryption), Some(unlock)) => Some(Sealing::new(unlock_key(store.as_ref(), encryption, unlock)?)),
        };
        let repository = Repository { store, config, known: Mutex::default(), open_pack: Mutex::default(), sealing };
        repository.read_indexes()?;
        Ok(repository)
    }

    /// Stores the repository's key once more, encrypted with `keys` (another team member's
    /// recipient, a new passphrase), so that they open it too; the keys stored before stay.
    /// Returns the new object's name under `keys/`. A plain repository has no key to share.
    pub fn add_key(&self, keys: &ferry_archive::Keys) -> Result<String, VolumeError> {
        let sealing = self
            .sealing
            .as_ref()
            .ok_or_else(|| VolumeError::Key { repository: self.store.to_string(), problem: "it is not encrypted, so there is no key to add".to_owned() })?;
        store_key(self.store.as_ref(), sealing.key(), keys)
    }

    /// The names of the stored keys (`keys/…`) of an encrypted repository.
    pub fn key_names(&self) -> Result<Vec<String>, VolumeError> {
        self.store.list("keys/")
    }

    /// The key of an encrypted repository (what its mover Jobs are given).
    pub fn key(&self) -> Option<&RepositoryKey> {
        self.sealing.as_ref().map(Sealing::key)
    }

    /// The name of plain bytes (a chunk's, a snapshot's): their SHA-256, or in an encrypted
    /// repository their keyed hash.
    pub(crate) fn digest(&self, plain: &[u8]) -> String {
        match &self.sealing {
            Some(sealing) => sealing.name(plain),
            None => sha256_hex(plain),
        }
    }

    /// Whether chunks are named by the SHA-256 of their plain bytes (a plain repository).
    pub(crate) fn names_chunks_by_sha256(&self) -> bool {
        self.sealing.is_none()
    }

    /// The repository's configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Where the repository is, as shown in messages.
    pub fn name(&self) -> String {
        self.store.to_string()
    }

    /// Reads every pack's index (one object per pack: fetched together, then opened and parsed
    /// in parallel).
    fn read_indexes(&self) -> Result<(), VolumeError> {
        let keys = self.store.list("index/")?;
        let objects = self.store.get_all(&keys)?;
        let indexes: Vec<PackIndex> = keys.par_iter().zip(objects).map(|(key, packed)| self.read_index(key, packed)).collect::<Result<_, _>>()?;
        let mut known = lock(&self.known);
        for index in &indexes {
            known.extend(index.locations().map(|(id, at)| (id, Some(at))));
        }
        Ok(())
    }

    /// One pack's index from its stored bytes; it must name the pack its key names.
    fn read_index(&self, key: &str, packed: Option<Vec<u8>>) -> Result<PackIndex, VolumeError> {
        let missing = || VolumeError::Corrupt { repository: self.name(), problem: format!("`{key}` vanished while it was read") };
        let (index, _) = self.parse_document::<PackIndex>(key, &packed.ok_or_else(missing)?)?;
        if index_key(&index.pack) != key {
            return Err(VolumeError::Corrupt { repository: self.name(), problem: format!("`{key}` is the index of another pack (`{}`)", index.pack) });
        }
        Ok(index)
    }

    /// Whether a chunk is stored, or waits in the open pack.
    pub(crate) fn has_chunk(&self, id: &str) -> bool {
        lock(&self.known).contains_key(id)
    }

    /// Adds a chunk to the open pack unless it is stored (or being stored) already, writing
    /// the pack once it is full; returns the bytes added (0 when deduplicated). A backup ends
    /// with [`Repository::flush`], or with [`Repository::abandon`] when it fails.
    pub(crate) fn put_chunk(&self, id: &str, plain: &[u8]) -> Result<u64, VolumeError> {
        match lock(&self.known).entry(id.to_owned()) {
            Slot::Occupied(_) => return Ok(0),
            Slot::Vacant(slot) => slot.insert(None),
        };
        let stored = self.pack(plain)?;
        let full = lock(&self.open_pack).add(id, &stored);
        if let Some(full) = full {
            self.write_pack(full)?;
        }
        Ok(stored.len() as u64)
    }

    /// Writes the open pack, if it holds any chunk.
    pub(crate) fn flush(&self) -> Result<(), VolumeError> {
        let open = std::mem::take(&mut *lock(&self.open_pack));
        if open.is_empty() { Ok(()) } else { self.write_pack(open) }
    }

    /// Forgets the chunks of a failed backup that no written pack holds (those in the open
    /// pack, or in a pack whose write failed), so that the next backup stores them.
    pub(crate) fn abandon(&self) {
        drop(std::mem::take(&mut *lock(&self.open_pack)));
        lock(&self.known).retain(|_, at| at.is_some());
    }

    /// Writes a pack, then its index: a pack without an index (a pass killed in between) is
    /// never read, and its chunks are stored again by the next pass.
    fn write_pack(&self, pack: OpenPack) -> Result<(), VolumeError> {
        let (bytes, index) = pack.into_parts();
        self.store.put(&pack_key(&index.pack), bytes)?;
        self.put_document(&index_key(&index.pack), &index)?;
        lock(&self.known).extend(index.locations().map(|(id, at)| (id, Some(at))));
        Ok(())
    }

    /// Reads a chunk and checks its digest; `file` names the file it belongs to in errors.
    pub(crate) fn get_chunk(&self, id: &str, file: &str) -> Result<Vec<u8>, VolumeError> {
        let corrupt = |problem: String| VolumeError::Corrupt { repository: self.name(), problem };
        let Location { pack, offset, length } =
            lock(&self.known).get(id).cloned().flatten().ok_or_else(|| corrupt(format!("the chunk `{id}` of `{file}` is in no pack's index")))?;
        let key = pack_key(&pack);
        let end = offset.checked_add(length).filter(|_| length <= self.largest_stored_chunk());
        let end = end.ok_or_else(|| corrupt(format!("the index of `{key}` gives the chunk `{id}` of `{file}` an impossible place")))?;
        let stored = self.store.get_range(&key, offset..end)?.ok_or_else(|| corrupt(format!("the pack `{key}` holding a chunk of `{file}` is missing")))?;
        if stored.len() as u64 != length {
            return Err(corrupt(format!("the pack `{key}` ends before the chunk `{id}` of `{file}`")));
        }
        let plain = self.unpack(&key, &stored).map_err(|e| match e {
            VolumeError::Corrupt { problem, .. } => corrupt(format!("{problem} (the chunk at byte {offset}, of `{file}`)")),
            other => other,
        })?;
        if self.digest(&plain) != id {
            return Err(corrupt(format!("the chunk `{id}` in `{key}` (a chunk of `{file}`) does not match its digest")));
        }
        Ok(plain)
    }

    /// The most bytes a stored chunk can take: the largest chunk, incompressible, with room for
    /// zstd's and age's framing.
    fn largest_stored_chunk(&self) -> u64 {
        let largest = self.config.chunker.max as usize;
        (zstd::zstd_safe::compress_bound(largest) + largest / 1024 + (64 << 10)) as u64
    }

    /// zstd of bytes, then encrypted in an encrypted repository.
    fn pack(&self, plain: &[u8]) -> Result<Vec<u8>, VolumeError> {
        let packed = compress(plain).map_err(|e| VolumeError::Corrupt { repository: self.name(), problem: format!("cannot compress: {e}") })?;
        match &self.sealing {
            Some(sealing) => sealing.seal(&self.name(), &packed),
            None => Ok(packed),
        }
    }

    /// The plain bytes of a stored object `key`: decrypted if need be, then decompressed.
    fn unpack(&self, key: &str, stored: &[u8]) -> Result<Vec<u8>, VolumeError> {
        let opened;
        let packed = match &self.sealing {
            Some(sealing) => {
                opened = sealing.open(&self.name(), key, stored)?;
                opened.as_slice()
            }
            None => stored,
        };
        decompress(packed).map_err(|e| VolumeError::Corrupt { repository: self.name(), problem: format!("`{key}` does not decompress ({e})") })
    }

    /// Stores a JSON document (zstd-compressed) under `key`.
    pub fn put_document<T: Serialize>(&self, key: &str, value: &T) -> Result<(), VolumeError> {
        let text = serde_json::to_vec(value).map_err(|e| VolumeError::Corrupt { repository: self.name(), problem: format!("`{key}`: {e}") })?;
        self.store.put(key, self.pack(&text)?)
    }

    /// Reads a JSON document written by [`Repository::put_document`]; `None` when absent.
    pub fn get_document<T: DeserializeOwned>(&self, key: &str) -> Result<Option<(T, String)>, VolumeError> {
        let Some(packed) = self.store.get(key)? else { return Ok(None) };
        self.parse_document(key, &packed).map(Some)
    }

    /// A document from the bytes stored under `key`, and the digest of its JSON text.
    fn parse_document<T: DeserializeOwned>(&self, key: &str, packed: &[u8]) -> Result<(T, String), VolumeError> {
        let text = self.unpack(key, packed)?;
        let value =
            serde_json::from_slice(&text).map_err(|e| VolumeError::Corrupt { repository: self.name(), problem: format!("`{key}` is not readable ({e})") })?;
        Ok((value, self.digest(&text)))
    }

    /// Stores a snapshot and makes it its volume's latest; returns its id (the digest of its JSON text).
    pub fn save_snapshot(&self, snapshot: &Snapshot) -> Result<String, VolumeError> {
        check_volume_name(&self.name(), &snapshot.volume)?;
        let text = serde_json::to_vec(snapshot).map_err(|e| VolumeError::Corrupt { repository: self.name(), problem: e.to_string() })?;
        let id = self.digest(&text);
        self.store.put(&format!("snapshots/{id}"), self.pack(&text)?)?;
        self.store.put(&format!("refs/{}", snapshot.volume), id.clone().into_bytes())?;
        Ok(id)
    }

    /// Reads a snapshot and checks it against its id.
    pub fn load_snapshot(&self, id: &str) -> Result<Snapshot, VolumeError> {
        if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(VolumeError::NoSnapshot { repository: self.name(), snapshot: id.to_owned() });
        }
        let key = format!("snapshots/{id}");
        let (snapshot, digest) =
            self.get_document::<Snapshot>(&key)?.ok_or_else(|| VolumeError::NoSnapshot { repository: self.name(), snapshot: id.to_owned() })?;
        if digest != id {
            return Err(VolumeError::Corrupt { repository: self.name(), problem: format!("`{key}` does not match its digest") });
        }
        Ok(snapshot)
    }

    /// The id of a volume's latest snapshot, if it has one.
    pub fn latest(&self, volume: &str) -> Result<Option<String>, VolumeError> {
        check_volume_name(&self.name(), volume)?;
        let id = self.store.get(&format!("refs/{volume}"))?;
        Ok(id.map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned()))
    }
}

/// Makes a new repository key, stores it under `keys/` encrypted with `keys`, and returns the
/// configuration's encryption entry.
fn create_key(store: &dyn Store, keys: &ferry_archive::Keys) -> Result<Encryption, VolumeError> {
    let key = RepositoryKey::generate();
    store_key(store, &key, keys)?;
    Ok(Encryption { scheme: "age".to_owned(), recipient: key.recipient() })
}

/// Stores `key` under `keys/`, encrypted with `keys`; returns the stored object's name.
fn store_key(store: &dyn Store, key: &RepositoryKey, keys: &ferry_archive::Keys) -> Result<String, VolumeError> {
    use age::secrecy::ExposeSecret as _;
    let wrapped =
        keys.encrypt(key.to_text().expose_secret().as_bytes()).map_err(|e| VolumeError::Key { repository: store.to_string(), problem: e.to_string() })?;
    let name = format!("keys/{}", &sha256_hex(&wrapped)[..16]);
    store.put(&name, wrapped)?;
    Ok(name)
}

/// The repository key `unlock` gives: its own, or one stored under `keys/` that the user's keys
/// decrypt; it must be the key the configuration names.
fn unlock_key(store: &dyn Store, encryption: &Encryption, unlock: &Unlock) -> Result<RepositoryKey, VolumeError> {
    let repository = store.to_string();
    let key = match unlock {
        Unlock::Key(key) => key.clone(),
        Unlock::Keys(keys) => {
            let names = store.list("keys/")?;
            let mut opened = None;
            for name in &names {
                let Some(wrapped) = store.get(name)? else { continue };
                match keys.decrypt_bytes(name, &wrapped) {
                    Ok(text) => {
                        opened = Some(RepositoryKey::parse(&String::from_utf8_lossy(&text), &repository)?);
                        break;
                    }
                    Err(ferry_archive::ArchiveError::WrongKey { .. }) => {}
                    Err(err) => return Err(VolumeError::Key { repository, problem: err.to_string() }),
                }
            }
            opened.ok_or_else(|| VolumeError::WrongKey {
                repository: repository.clone(),
                problem: format!("none of its {} stored keys (keys/) opens with them", names.len()),
            })?
        }
    };
    if key.recipient() != encryption.recipient {
        return Err(VolumeError::WrongKey { repository, problem: "the repository key given belongs to another repository".to_owned() });
    }
    Ok(key)
}

/// Refuses volume names that are not `/`-separated segments of letters, digits, `.`, `-` and `_`
/// (no empty, `.` or `..` segment): they become repository keys.
fn check_volume_name(repository: &str, volume: &str) -> Result<(), VolumeError> {
    let segment_ok = |s: &str| !s.is_empty() && s != "." && s != ".." && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if volume.split('/').all(segment_ok) {
        Ok(())
    } else {
        Err(VolumeError::Location {
            text: repository.to_owned(),
            problem: format!("the volume name `{volume}` is not a path of letters, digits, `.`, `-` and `_`"),
        })
    }
}
