//! Reading an archive back, verifying everything: the format version, that every member path is
//! safe, that every manifest entry is present with its size and sha256, and that nothing else is
//! there. Single-file and S3 archives are unpacked by one synchronous pipeline (decrypt: age,
//! or the old `FERRYENC` format → zstd → tar) on a blocking thread; directory archives are walked.

use std::collections::HashMap;
use std::io::{self, Cursor, Read};
use std::path::Path;

use ferry_model::ObjectId;

use crate::keys::{AGE_MAGIC, open as open_age};
use crate::legacy::{self, Opener, Problem};
use crate::member::{MANIFEST, is_safe, printable, sha256_hex};
use crate::{ArchiveError, Destination, Keys, Manifest, ManifestEntry, S3Location, ZSTD_MAGIC, manifest, s3};

/// One object read from an archive, kept as the JSON text stored (checked to be JSON), so
/// that a whole archive in memory costs its size, not the size of its parsed trees.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Its identity, as the manifest records it.
    pub id: ObjectId,
    /// The resource it was read through, `plural.group`.
    pub resource: String,
    /// The object's JSON text.
    pub text: Box<[u8]>,
}

impl Entry {
    /// The object, parsed from its text (which [`read`] has checked to be JSON); fails only for
    /// an object nested deeper than serde_json builds trees (128 levels).
    pub fn object(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_slice(&self.text)
    }
}

/// Member paths and their bytes, before they are checked against the manifest.
type Members = HashMap<String, Vec<u8>>;

/// How much an archive may make ferry read, so that a small hostile archive (a decompression
/// bomb) is refused from its tar headers before its data is read, and cannot get past the
/// limits by declaring less than it holds: a member's data is read only up to its declared
/// size, and everything read counts against the total.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// One object's member: the API server stores objects of at most about 3 MiB.
    pub member: u64,
    /// `manifest.json`: about 400 bytes per object, so a million objects fit.
    pub manifest: u64,
    /// Everything unpacked: members, their tar headers and long names.
    pub total: u64,
}

impl Limits {
    /// The limits documented in docs/archive-format.md.
    pub(crate) const DEFAULT: Limits = Limits { member: 16 << 20, manifest: 1 << 30, total: 4 << 30 };

    /// The limit for the member at `path`.
    fn of(&self, path: &str) -> u64 {
        if path == MANIFEST { self.manifest } else { self.member }
    }
}

/// The longest GNU long name read (ferry's member paths are under 400 bytes).
const MAX_LONG_NAME: u64 = 4096;

/// Bytes allowed after the tar stream's end-of-archive blocks (ferry writes 1 KiB of them).
const MAX_TRAILER: u64 = 1 << 20;

/// Bytes read so far, against [`Limits::total`].
struct Budget {
    limits: Limits,
    used: u64,
}

impl Budget {
    /// Takes `bytes` of the total, or says why they cannot be read.
    fn take(&mut self, archive: &str, what: &str, bytes: u64) -> Result<(), ArchiveError> {
        self.used = self.used.saturating_add(bytes);
        if self.used > self.limits.total {
            return Err(too_large(archive, format!("{what} brings what it unpacks to over {}", size_text(self.limits.total))));
        }
        Ok(())
    }

    /// Checks a member's declared size against its limit and the total, before it is read.
    fn admit(&mut self, archive: &str, path: &str, size: u64) -> Result<(), ArchiveError> {
        let limit = self.limits.of(path);
        if size > limit {
            return Err(too_large(archive, format!("member `{}` is {size} bytes, over the limit of {} for it", printable(path), size_text(limit))));
        }
        self.take(archive, &format!("member `{}`", printable(path)), size)
    }
}

/// An archive refused for its size.
fn too_large(archive: &str, problem: String) -> ArchiveError {
    ArchiveError::TooLarge { archive: archive.to_owned(), problem }
}

/// A limit in words.
fn size_text(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 && b % (1 << 30) == 0 => format!("{} GiB", b >> 30),
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b => format!("{b} bytes"),
    }
}

/// Reads at most `size` bytes (what a header or the file system declared) of a member that has
/// been admitted; more than `limit` is refused whatever was declared.
fn read_member(archive: &str, path: &str, reader: impl Read, size: u64, limit: u64) -> Result<io::Result<Vec<u8>>, ArchiveError> {
    let mut bytes = Vec::with_capacity(size.min(limit) as usize);
    let read = reader.take(limit + 1).read_to_end(&mut bytes);
    if bytes.len() as u64 > limit {
        return Err(too_large(archive, format!("member `{}` holds more than the limit of {} for it", printable(path), size_text(limit))));
    }
    Ok(read.map(|_| bytes))
}

/// Reads and verifies a whole archive; the entries come in manifest order.
///
/// `keys` are needed for an encrypted archive; with keys that can decrypt (a passphrase or an
/// identity; recipients alone only encrypt), a plain archive (a directory or an unencrypted
/// file) is refused, so that an attacker cannot swap in an unencrypted copy. An
/// archive in the old `FERRYENC` format is read with a passphrase that is its key, and counted
/// in [`Keys::legacy_reads`].
pub async fn read(dest: &Destination, keys: Option<&Keys>) -> Result<(Manifest, Vec<Entry>), ArchiveError> {
    let archive = dest.to_string();
    let key = keys.filter(|keys| keys.can_decrypt()).cloned();
    match dest {
        Destination::Directory(_) if key.is_some() => Err(ArchiveError::NotEncrypted { archive }),
        Destination::Directory(root) => {
            let root = root.clone();
            blocking(archive, move |archive| verified(archive, read_directory(archive, &root, Limits::DEFAULT)?)).await
        }
        Destination::File(path) => {
            let path = path.to_path_buf();
            blocking(archive, move |archive| {
                let file = std::fs::File::open(&path).map_err(|source| match source.kind() {
                    io::ErrorKind::NotFound => ArchiveError::NotFound { archive: archive.to_owned() },
                    _ => ArchiveError::Io { archive: archive.to_owned(), action: "open", source },
                })?;
                read_from(archive, io::BufReader::new(file), key.as_ref())
            })
            .await
        }
        Destination::S3(location) => {
            let download = s3::download(location).await?;
            let location = location.clone();
            blocking(archive, move |archive| verified(archive, read_stream(archive, Some(&location), download, key.as_ref())?)).await
        }
    }
}

/// Reads and verifies the bytes of a single-file archive (encrypted or not) from `raw`, as [`read`]
/// does for a file, on the calling thread; `archive` names it in errors.
pub fn read_from(archive: &str, raw: impl Read + Send, key: Option<&Keys>) -> Result<(Manifest, Vec<Entry>), ArchiveError> {
    verified(archive, read_stream(archive, None, raw, key.filter(|keys| keys.can_decrypt()))?)
}

/// Runs synchronous reading and verification on tokio's blocking pool.
async fn blocking<T: Send + 'static>(archive: String, work: impl FnOnce(&str) -> Result<T, ArchiveError> + Send + 'static) -> Result<T, ArchiveError> {
    let shown = archive.clone();
    tokio::task::spawn_blocking(move || work(&archive)).await.map_err(|e| ArchiveError::Io { archive: shown, action: "read", source: io::Error::other(e) })?
}

/// Every member's bytes must match the manifest; returns the parsed objects in manifest order.
fn verified(archive: &str, (manifest, mut members): (Manifest, Members)) -> Result<(Manifest, Vec<Entry>), ArchiveError> {
    let mut entries = Vec::with_capacity(manifest.objects.len());
    for listed in &manifest.objects {
        let described = || (archive.to_owned(), listed.path.clone(), listed.id.to_string());
        let Some(bytes) = members.remove(&listed.path) else {
            let (archive, member, object) = described();
            return Err(ArchiveError::MissingMember { archive, member, object });
        };
        if bytes.len() as u64 != listed.size || sha256_hex(&bytes) != listed.sha256 {
            let (archive, member, object) = described();
            return Err(ArchiveError::DigestMismatch { archive, member, object });
        }
        check_identity(archive, listed, &bytes)?;
        entries.push(Entry { id: listed.id.clone(), resource: listed.resource.clone(), text: bytes.into_boxed_slice() });
    }
    match members.into_keys().min() {
        Some(extra) => Err(ArchiveError::UnexpectedMember { archive: archive.to_owned(), member: printable(&extra) }),
        None => Ok((manifest, entries)),
    }
}

/// The fields of a member that name its object; everything else is skipped (but checked to be JSON).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Identity<'a> {
    #[serde(borrow, default)]
    api_version: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    kind: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    metadata: Option<Metadata<'a>>,
}

/// The naming fields of a member's `metadata`.
#[derive(serde::Deserialize)]
struct Metadata<'a> {
    #[serde(borrow, default)]
    namespace: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    name: Option<std::borrow::Cow<'a, str>>,
}

/// A member must be JSON (checked without building a tree: objects are parsed one at a time
/// where they are used) and hold the object its manifest entry names: same kind, API group,
/// namespace and name, so that a member swapped under another object's entry is refused.
/// UTF-8 is checked over the whole text first: serde_json does not check the strings of the
/// fields it skips.
fn check_identity(archive: &str, listed: &ManifestEntry, bytes: &[u8]) -> Result<(), ArchiveError> {
    let damaged = |problem: String| ArchiveError::Damaged { archive: archive.to_owned(), problem };
    let text = std::str::from_utf8(bytes)
        .map_err(|e| damaged(format!("member `{}` ({}) is not UTF-8 text (invalid byte at offset {})", listed.path, listed.id, e.valid_up_to())))?;
    let found: Identity = serde_json::from_str(text).map_err(|e| damaged(format!("member `{}` ({}) is not a JSON object ({e})", listed.path, listed.id)))?;
    let metadata = found.metadata.unwrap_or(Metadata { namespace: None, name: None });
    let held = ObjectId {
        api_version: found.api_version.unwrap_or_default().into_owned(),
        kind: found.kind.unwrap_or_default().into_owned(),
        namespace: metadata.namespace.filter(|ns| !ns.is_empty()).map(std::borrow::Cow::into_owned),
        name: metadata.name.unwrap_or_default().into_owned(),
    };
    let expected = &listed.id;
    if held.kind == expected.kind && held.group() == expected.group() && held.namespace == expected.namespace && held.name == expected.name {
        return Ok(());
    }
    Err(ArchiveError::IdentityMismatch {
        archive: archive.to_owned(),
        member: listed.path.clone(),
        listed: printable(&expected.to_string()),
        held: printable(&format!("{} ({})", held, held.api_version)),
    })
}

/// Reads a single-file or S3 archive: sniffs encryption, decompresses, unpacks the tar.
fn read_stream(archive: &str, location: Option<&S3Location>, mut raw: impl Read + Send, keys: Option<&Keys>) -> Result<(Manifest, Members), ArchiveError> {
    let fail = |member: Option<&str>, err: io::Error| stream_failure(archive, location, member, err);
    let mut head = [0u8; AGE_MAGIC.len()];
    let read = legacy::fill(&mut raw, &mut head).map_err(|e| fail(None, e))?;
    let head = &head[..read];
    let stream = Cursor::new(head.to_vec()).chain(raw);
    let required = || ArchiveError::KeyRequired { archive: archive.to_owned() };
    let compressed: Box<dyn Read + Send + '_> = if head == AGE_MAGIC {
        Box::new(open_age(archive, stream, keys.ok_or_else(required)?)?)
    } else if head.starts_with(legacy::MAGIC) {
        let keys = keys.ok_or_else(required)?;
        let key = keys.legacy_key().ok_or_else(|| ArchiveError::WrongKey { archive: archive.to_owned() })?;
        keys.count_legacy_read();
        Box::new(Opener::new(stream, &key).map_err(|e| fail(None, e))?)
    } else if head.starts_with(&ZSTD_MAGIC) {
        if keys.is_some() {
            return Err(ArchiveError::NotEncrypted { archive: archive.to_owned() });
        }
        Box::new(stream)
    } else {
        return Err(unrecognised(archive, head));
    };
    let decoder = zstd::stream::read::Decoder::new(compressed).map_err(|e| fail(None, e))?;
    unpack(archive, decoder, &fail, Limits::DEFAULT)
}

/// Why the first bytes are not those of an archive.
fn unrecognised(archive: &str, head: &[u8]) -> ArchiveError {
    let archive = archive.to_owned();
    if head.is_empty() {
        ArchiveError::Truncated { archive, problem: "it is empty (0 bytes)".to_owned() }
    } else if [AGE_MAGIC, legacy::MAGIC, &ZSTD_MAGIC].iter().any(|magic| magic.starts_with(head)) {
        ArchiveError::Truncated { archive, problem: format!("it ends after {} bytes", head.len()) }
    } else {
        ArchiveError::NotAnArchive { archive, problem: "it starts with neither zstd's magic number nor an age header".to_owned() }
    }
}

/// Reads the tar members: object members, then `manifest.json` last, then the end of the stream.
/// Entries are read raw, so that a GNU long name is read here, within its own limit, rather
/// than whole by the tar reader; every other kind of extension entry is refused as not a file.
fn unpack(
    archive: &str,
    stream: impl Read,
    fail: &dyn Fn(Option<&str>, io::Error) -> ArchiveError,
    limits: Limits,
) -> Result<(Manifest, Members), ArchiveError> {
    let mut tar = tar::Archive::new(stream);
    let mut members = Members::new();
    let mut manifest_bytes = None;
    let mut last_member: Option<String> = None;
    let mut long_name: Option<Vec<u8>> = None;
    let mut budget = Budget { limits, used: 0 };
    for entry in tar.entries().map_err(|e| fail(None, e))?.raw(true) {
        let mut entry = entry.map_err(|e| fail(last_member.as_deref(), e))?;
        let size = entry.size();
        budget.take(archive, "a tar header", 512)?;
        if entry.header().entry_type().is_gnu_longname() {
            long_name = Some(read_long_name(archive, &mut entry, size, long_name.is_some(), &mut budget, fail)?);
            continue;
        }
        let path = match long_name.take() {
            Some(name) => String::from_utf8_lossy(&name).into_owned(),
            None => String::from_utf8_lossy(&entry.path_bytes()).into_owned(),
        };
        check_member(archive, &path, entry.header().entry_type(), manifest_bytes.is_some(), &members)?;
        budget.admit(archive, &path, size)?;
        let bytes = read_member(archive, &path, &mut entry, size, limits.of(&path))?.map_err(|e| fail(Some(&path), e))?;
        if path == MANIFEST {
            manifest_bytes = Some(bytes);
        } else {
            members.insert(path.clone(), bytes);
        }
        last_member = Some(path);
    }
    // Read to the end so the zstd checksum and the final encrypted chunk are verified too.
    let trailer = io::copy(&mut tar.into_inner().take(MAX_TRAILER + 1), &mut io::sink()).map_err(|e| fail(last_member.as_deref(), e))?;
    if trailer > MAX_TRAILER {
        return Err(too_large(archive, format!("more than {} of data follow the end of its tar stream", size_text(MAX_TRAILER))));
    }
    let Some(bytes) = manifest_bytes else {
        let problem = match last_member {
            Some(last) => format!("no `{MANIFEST}` at its end (the last member is `{}`)", printable(&last)),
            None => format!("it holds no members and no `{MANIFEST}`"),
        };
        return Err(ArchiveError::Truncated { archive: archive.to_owned(), problem });
    };
    Ok((manifest::parse(archive, &bytes)?, members))
}

/// Reads a GNU long-name entry (the path of the member that follows), within its limit.
fn read_long_name(
    archive: &str,
    entry: &mut impl Read,
    size: u64,
    pending: bool,
    budget: &mut Budget,
    fail: &dyn Fn(Option<&str>, io::Error) -> ArchiveError,
) -> Result<Vec<u8>, ArchiveError> {
    if pending {
        return Err(ArchiveError::Damaged { archive: archive.to_owned(), problem: "two long names describe the same member".to_owned() });
    }
    if size > MAX_LONG_NAME {
        return Err(too_large(archive, format!("a long member name is {size} bytes, over the limit of {MAX_LONG_NAME}")));
    }
    budget.take(archive, "a long member name", size)?;
    let mut name = read_member(archive, "(long name)", entry, size, MAX_LONG_NAME)?.map_err(|e| fail(None, e))?;
    while name.last() == Some(&0) {
        name.pop();
    }
    Ok(name)
}

/// A member must have a safe path, be a regular file, be new, and not follow the manifest.
fn check_member(archive: &str, path: &str, kind: tar::EntryType, after_manifest: bool, members: &Members) -> Result<(), ArchiveError> {
    if !is_safe(path) {
        return Err(ArchiveError::UnsafeMember { archive: archive.to_owned(), member: printable(path) });
    }
    let problem = if !kind.is_file() {
        "is not a regular file"
    } else if after_manifest {
        "follows `manifest.json`, which must be the last member"
    } else if members.contains_key(path) {
        "appears twice"
    } else {
        return Ok(());
    };
    Err(ArchiveError::Damaged { archive: archive.to_owned(), problem: format!("member `{}` {problem}", printable(path)) })
}

/// Turns an error from the decrypt → zstd → tar pipeline into what the user needs to know.
fn stream_failure(archive: &str, location: Option<&S3Location>, member: Option<&str>, err: io::Error) -> ArchiveError {
    let archive = archive.to_owned();
    let at = member.map(|m| format!(" (at member `{}`)", printable(m))).unwrap_or_default();
    if let Some(problem) = err.get_ref().and_then(|e| e.downcast_ref::<Problem>()) {
        return match problem {
            Problem::Truncated(text) => ArchiveError::Truncated { archive, problem: format!("{text}{at}") },
            Problem::Damaged(text) => ArchiveError::Damaged { archive, problem: format!("{text}{at}") },
            Problem::WrongKey => ArchiveError::WrongKey { archive },
            Problem::NewerVersion(v) => ArchiveError::NewerFormat { archive, format: format!("encryption version {v}"), known: "encryption version 1" },
        };
    }
    let err = match location {
        Some(location) => match s3::transfer_error(err) {
            Ok(source) => return s3::storage_error(location, "download", source),
            Err(err) => err,
        },
        None => err,
    };
    let text = err.to_string();
    if err.kind() == io::ErrorKind::UnexpectedEof || text.contains("incomplete") || text.contains("entire block") {
        ArchiveError::Truncated { archive, problem: format!("its compressed data ends early{at}") }
    } else {
        ArchiveError::Damaged { archive, problem: format!("it cannot be decompressed or unpacked{at}: {text}") }
    }
}

/// Reads a directory archive: `manifest.json` and every file below `objects/`, within `limits`.
fn read_directory(archive: &str, root: &Path, limits: Limits) -> Result<(Manifest, Members), ArchiveError> {
    let io_error = |action, source| ArchiveError::Io { archive: archive.to_owned(), action, source };
    let mut budget = Budget { limits, used: 0 };
    let bytes = match read_file(archive, &root.join(MANIFEST), MANIFEST, &mut budget)? {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Err(missing_manifest(archive, root)),
        Err(err) => return Err(io_error("read the manifest of", err)),
    };
    let manifest = manifest::parse(archive, &bytes)?;
    let mut members = Members::new();
    collect_files(archive, root, "", &mut members, &mut budget)?;
    Ok((manifest, members))
}

/// Reads one file of a directory archive, its size checked before it is read. The file is
/// opened without following a symbolic link or waiting for a named pipe's writer, and must be
/// a regular file.
fn read_file(archive: &str, path: &Path, member: &str, budget: &mut Budget) -> Result<io::Result<Vec<u8>>, ArchiveError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NOFOLLOW | libc::O_NONBLOCK);
    let opened = options.open(path).and_then(|file| Ok((file.metadata()?, file)));
    let (metadata, file) = match opened {
        Ok(opened) => opened,
        Err(err) if err.raw_os_error() == Some(libc::ELOOP) => return Err(not_regular(archive, member)),
        Err(err) => return Ok(Err(err)),
    };
    if !metadata.is_file() {
        return Err(not_regular(archive, member));
    }
    let size = metadata.len();
    budget.admit(archive, member, size)?;
    read_member(archive, member, file, size, budget.limits.of(member))
}

/// Why a directory has no manifest: it does not exist, is empty, or holds an interrupted export.
fn missing_manifest(archive: &str, root: &Path) -> ArchiveError {
    let archive = archive.to_owned();
    if root.join("objects").is_dir() {
        ArchiveError::Truncated { archive, problem: format!("the directory has objects but no `{MANIFEST}`") }
    } else if root.is_dir() && std::fs::read_dir(root).is_ok_and(|mut entries| entries.next().is_some()) {
        ArchiveError::NotAnArchive { archive, problem: format!("the directory has no `{MANIFEST}`") }
    } else {
        ArchiveError::NotFound { archive }
    }
}

/// Reads every regular file below `dir` into `members`, keyed by `/`-separated relative path.
/// Symbolic links and other special files are refused: an archive holds plain files only.
fn collect_files(archive: &str, dir: &Path, prefix: &str, members: &mut Members, budget: &mut Budget) -> Result<(), ArchiveError> {
    let io_error = |source| ArchiveError::Io { archive: archive.to_owned(), action: "read", source };
    for entry in std::fs::read_dir(dir).map_err(io_error)? {
        let entry = entry.map_err(io_error)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let relative = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
        let kind = entry.file_type().map_err(io_error)?;
        if !is_safe(&relative) {
            return Err(ArchiveError::UnsafeMember { archive: archive.to_owned(), member: printable(&relative) });
        }
        if kind.is_dir() {
            collect_files(archive, &entry.path(), &relative, members, budget)?;
        } else if kind.is_file() {
            if relative != MANIFEST {
                let bytes = read_file(archive, &entry.path(), &relative, budget)?.map_err(io_error)?;
                members.insert(relative, bytes);
            }
        } else {
            return Err(not_regular(archive, &relative));
        }
    }
    Ok(())
}

/// A directory archive's file that is a symbolic link, a named pipe or another special file.
fn not_regular(archive: &str, member: &str) -> ArchiveError {
    ArchiveError::Damaged {
        archive: archive.to_owned(),
        problem: format!("`{}` is a symbolic link or special file; an archive holds regular files only", printable(member)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that counts what is read from it.
    struct Counted<'a> {
        inner: &'a [u8],
        read: &'a std::cell::Cell<usize>,
    }

    impl Read for Counted<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.read.set(self.read.get() + n);
            Ok(n)
        }
    }

    /// A tar header for `path` declaring `size` bytes, followed by `data`.
    fn member(path: &str, size: u64, data: &[u8]) -> Vec<u8> {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(size);
        header.set_path(path).expect("path");
        header.set_cksum();
        let mut out = header.as_bytes().to_vec();
        out.extend_from_slice(data);
        out.resize(out.len().next_multiple_of(512), 0);
        out
    }

    const SMALL: Limits = Limits { member: 1000, manifest: 2000, total: 5000 };

    fn unpacked(tar: &[u8], read: &std::cell::Cell<usize>) -> ArchiveError {
        let fail = |_: Option<&str>, e: io::Error| ArchiveError::Damaged { archive: "a".into(), problem: e.to_string() };
        unpack("a", Counted { inner: tar, read }, &fail, SMALL).expect_err("refused")
    }

    #[test]
    fn a_member_declared_over_its_limit_is_refused_before_its_data_is_read() {
        let read = std::cell::Cell::new(0);
        let tar = member("objects/core/ConfigMap/ns/big.json", 1 << 40, &vec![b'x'; 100_000]);
        let err = unpacked(&tar, &read);
        assert!(matches!(err, ArchiveError::TooLarge { .. }), "{err}");
        assert!(err.to_string().contains("is 1099511627776 bytes, over the limit of 1000 bytes"), "{err}");
        assert!(read.get() <= 10 * 1024, "read {} bytes before refusing", read.get());
    }

    #[test]
    fn members_under_their_limit_still_count_against_the_total() {
        let read = std::cell::Cell::new(0);
        let tar: Vec<u8> = (0..20).flat_map(|i| member(&format!("objects/core/ConfigMap/ns/m{i}.json"), 900, &[b'x'; 900])).collect();
        let err = unpacked(&tar, &read);
        assert!(matches!(err, ArchiveError::TooLarge { .. }) && err.to_string().contains("over 5000 bytes"), "{err}");
        assert!(read.get() <= 5000 + 2 * 1024 + 10 * 1024, "read {} bytes", read.get());
    }

    #[test]
    fn a_long_name_over_its_limit_is_refused_before_it_is_read() {
        let read = std::cell::Cell::new(0);
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::GNULongName);
        header.set_size(1 << 31);
        header.set_path("././@LongLink").expect("path");
        header.set_cksum();
        let mut tar = header.as_bytes().to_vec();
        tar.resize(200_000, b'a');
        let err = unpacked(&tar, &read);
        assert!(matches!(err, ArchiveError::TooLarge { .. }) && err.to_string().contains("long member name"), "{err}");
        assert!(read.get() <= 10 * 1024, "read {} bytes", read.get());
    }

    #[cfg(unix)]
    #[test]
    fn a_named_pipe_or_a_link_as_a_directory_archive_s_manifest_is_refused_at_once() {
        let dir = tempfile::tempdir().expect("dir");
        let manifest = dir.path().join(MANIFEST);
        let fifo = std::ffi::CString::new(manifest.to_str().expect("utf-8")).expect("path");
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0, "mkfifo");
        let started = std::time::Instant::now();
        let err = read_directory("d", dir.path(), Limits::DEFAULT).expect_err("a pipe");
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "took {:?}", started.elapsed());
        assert!(err.to_string().contains("`manifest.json` is a symbolic link or special file"), "{err}");
        std::fs::remove_file(&manifest).expect("remove");
        std::os::unix::fs::symlink("/etc/hostname", &manifest).expect("link");
        let err = read_directory("d", dir.path(), Limits::DEFAULT).expect_err("a link");
        assert!(err.to_string().contains("`manifest.json` is a symbolic link or special file"), "{err}");
    }

    #[test]
    fn a_file_in_a_directory_archive_over_its_limit_is_refused_from_its_size() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(dir.path().join(MANIFEST), "{}").expect("manifest");
        let err = read_directory("d", dir.path(), SMALL).expect_err("not a manifest");
        assert!(matches!(err, ArchiveError::NotAnArchive { .. }), "{err}");
        let big = std::fs::File::create(dir.path().join(MANIFEST)).expect("manifest");
        big.set_len(1 << 40).expect("sparse");
        let err = read_directory("d", dir.path(), SMALL).expect_err("too large");
        assert!(matches!(err, ArchiveError::TooLarge { .. }) && err.to_string().contains("`manifest.json` is 1099511627776 bytes"), "{err}");
    }
}
