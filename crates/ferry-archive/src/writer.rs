//! Writing an archive object by object: a directory of JSON files with `manifest.json` written
//! last, or one tar stream (compressed with zstd, optionally encrypted) going to a local
//! `NAME.partial` file or an S3 multipart upload. Only [`Writer::finish`] makes the archive
//! complete and visible; [`Writer::abort`] (or dropping the writer) leaves no archive behind.

use std::collections::HashSet;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use ferry_model::{ObjectId, RawObject};
use rayon::prelude::*;
use serde::Serialize;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::manifest::FORMAT;
use crate::member::{MANIFEST, path_for, sha256_hex};
use crate::seal::{self, Sealer};
use crate::s3::Upload;
use crate::{ArchiveError, Destination, EncryptionKey, Header, Manifest, ManifestEntry};

/// zstd level 1: on the tar of an export of 10,000 objects as the API server sent them (one
/// line each, 20.6 MB with the tar headers) it is faster than level 3 (zstd's default) and
/// smaller too (789 kB against 948 kB).
const ZSTD_LEVEL: i32 = 1;

/// Objects encoded together on all cores before they are written, in order.
const BATCH: usize = 512;

/// zstd's own worker threads: compression runs beside the encoding of the next objects.
const COMPRESSION_THREADS: u32 = 2;

/// Compressed bytes collected before they go to the file or the upload.
const FLUSH_AT: usize = 1024 * 1024;

/// The temporary name of a directory archive's manifest until it is complete.
const MANIFEST_PARTIAL: &str = ".manifest.json.partial";

/// An archive being written. Add objects, then [`finish`](Writer::finish) it; until then the
/// location holds no complete archive.
pub struct Writer {
    archive: String,
    header: Header,
    objects: Vec<ManifestEntry>,
    paths: HashSet<String>,
    form: Form,
    broken: bool,
}

/// Where the members go.
enum Form {
    Directory(DirectoryOut),
    /// Boxed: the tar, zstd and cipher state is large.
    Stream(Box<StreamOut>),
}

impl Writer {
    /// Starts an archive at `dest`, encrypted with `key` when one is given (not for directories).
    ///
    /// A directory must be new, empty, or an earlier ferry archive (which is removed first). A
    /// single file is written as `NAME.partial` and may replace an earlier archive only. An S3
    /// upload starts at once, so a missing bucket or refused credentials fail here.
    pub async fn create(dest: &Destination, header: Header, key: Option<&EncryptionKey>) -> Result<Writer, ArchiveError> {
        let archive = dest.to_string();
        let form = match dest {
            Destination::Directory(root) => {
                if key.is_some() {
                    return Err(ArchiveError::EncryptedDirectory { archive });
                }
                Form::Directory(DirectoryOut::prepare(&archive, root).await?)
            }
            Destination::File(path) => {
                let tar = stream_start(&archive, key)?;
                Form::Stream(Box::new(StreamOut { tar, sink: Sink::File(FileSink::create(&archive, path).await?) }))
            }
            Destination::S3(location) => {
                let tar = stream_start(&archive, key)?;
                Form::Stream(Box::new(StreamOut { tar, sink: Sink::S3(Upload::start(location).await?) }))
            }
        };
        Ok(Writer { archive, header, objects: Vec::new(), paths: HashSet::new(), form, broken: false })
    }

    /// Adds one object read through `resource` (`plural.group`, e.g. `deployments.apps`).
    ///
    /// After an error other than [`ArchiveError::InvalidObject`] (or when this future is dropped
    /// before it completes) the writer is broken: later calls fail; call [`abort`](Writer::abort).
    pub async fn add<T: Serialize + ?Sized>(&mut self, id: &ObjectId, resource: &str, object: &T) -> Result<(), ArchiveError> {
        let member = encode(id, resource, object);
        self.add_encoded(member).await
    }

    /// Adds objects in order, as [`Writer::add`] does one by one, encoding them (JSON and
    /// digest) on all cores a batch at a time; stops at the first error.
    pub async fn add_all<'a, T: Serialize + Send + Sync>(&mut self, objects: impl IntoIterator<Item = (ObjectId, &'a str, T)>) -> Result<(), ArchiveError> {
        self.add_in_batches(objects, |(id, resource, object)| encode(id, resource, object)).await
    }

    /// Adds objects kept as JSON text, each under the resource it was read from, as
    /// [`Writer::add_all`] does: their text is written as it is, not encoded again.
    pub async fn add_raw_all<'a>(&mut self, objects: impl IntoIterator<Item = (&'a RawObject, &'a str)>) -> Result<(), ArchiveError> {
        self.add_in_batches(objects, |(object, resource)| member(&object.id, resource, copy_with_room_for_newline(object.json()))).await
    }

    /// Encodes the items of each batch on all cores, then adds them in order.
    async fn add_in_batches<I: Send + Sync>(
        &mut self,
        items: impl IntoIterator<Item = I>,
        encode: impl Fn(&I) -> Result<Member, Refused> + Sync,
    ) -> Result<(), ArchiveError> {
        let mut items = items.into_iter();
        loop {
            let batch: Vec<I> = items.by_ref().take(BATCH).collect();
            if batch.is_empty() {
                return Ok(());
            }
            let members: Vec<Result<Member, Refused>> = batch.par_iter().map(&encode).collect();
            for member in members {
                self.add_encoded(member).await?;
            }
        }
    }

    async fn add_encoded(&mut self, member: Result<Member, Refused>) -> Result<(), ArchiveError> {
        if self.broken {
            return Err(ArchiveError::Broken { archive: self.archive.clone() });
        }
        // Stays set when this future is dropped half-way: the stream may hold part of a member.
        self.broken = true;
        let result = self.add_member(member).await;
        // An invalid object is refused before anything is written.
        self.broken = result.as_ref().is_err_and(|e| !matches!(e, ArchiveError::InvalidObject { .. }));
        result
    }

    /// [`Writer::add_encoded`] without the broken-writer bookkeeping.
    async fn add_member(&mut self, member: Result<Member, Refused>) -> Result<(), ArchiveError> {
        let invalid = |Refused { object, problem }| ArchiveError::InvalidObject { archive: self.archive.clone(), object, problem };
        let Member { entry, bytes } = member.map_err(invalid)?;
        if self.paths.contains(&entry.path) {
            let problem = "the archive already holds an object of this group, kind, namespace and name".to_owned();
            return Err(invalid(Refused { object: entry.id.to_string(), problem }));
        }
        match &mut self.form {
            Form::Directory(out) => out.add(&self.archive, &entry.path, &bytes).await?,
            Form::Stream(out) => out.add(&self.archive, &entry.path, &bytes).await?,
        }
        self.paths.insert(entry.path.clone());
        self.objects.push(entry);
        Ok(())
    }

    /// Writes the manifest and completes the archive: renames the directory's manifest or the
    /// `.partial` file into place, or completes the S3 upload. Returns the manifest written.
    pub async fn finish(self) -> Result<Manifest, ArchiveError> {
        let Writer { archive, header, objects, form, broken, .. } = self;
        if broken {
            abort(form).await;
            return Err(ArchiveError::Broken { archive });
        }
        let manifest = Manifest { format: FORMAT.to_owned(), header, objects };
        let mut json = serde_json::to_vec_pretty(&manifest).map_err(|e| io_error(&archive, "write the manifest of")(e.into()))?;
        json.push(b'\n');
        match form {
            Form::Directory(out) => out.finish(&archive, &json).await?,
            Form::Stream(out) => out.finish(&archive, &json).await?,
        }
        Ok(manifest)
    }

    /// Abandons the archive: removes what was written to a directory, deletes the `.partial`
    /// file, or aborts the S3 multipart upload. Best effort; never fails.
    pub async fn abort(self) {
        abort(self.form).await;
    }
}

/// An object ready to be written: its manifest entry and its bytes.
struct Member {
    entry: ManifestEntry,
    bytes: Vec<u8>,
}

/// An object that cannot be a member, and why.
struct Refused {
    object: String,
    problem: String,
}

/// Encodes an object as a member: JSON on one line with a final newline, its digest and its path.
fn encode<T: Serialize + ?Sized>(id: &ObjectId, resource: &str, object: &T) -> Result<Member, Refused> {
    let json = serde_json::to_vec(object).map_err(|e| Refused { object: id.to_string(), problem: format!("it cannot be written as JSON ({e})") })?;
    member(id, resource, json)
}

/// A member holding `json` (one JSON object) and a final newline, with its digest and its path.
fn member(id: &ObjectId, resource: &str, mut bytes: Vec<u8>) -> Result<Member, Refused> {
    let path = path_for(id).map_err(|problem| Refused { object: id.to_string(), problem: problem.to_owned() })?;
    bytes.push(b'\n');
    let entry = ManifestEntry { id: id.clone(), resource: resource.to_owned(), path, sha256: sha256_hex(&bytes), size: bytes.len() as u64 };
    Ok(Member { entry, bytes })
}

fn copy_with_room_for_newline(json: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(json.len() + 1);
    bytes.extend_from_slice(json);
    bytes
}

/// Removes partial output.
async fn abort(form: Form) {
    match form {
        Form::Directory(out) => out.abort().await,
        Form::Stream(out) => out.sink.abort().await,
    }
}

/// An `Io` error about the archive.
fn io_error<'a>(archive: &'a str, action: &'static str) -> impl FnOnce(io::Error) -> ArchiveError + 'a {
    move |source| ArchiveError::Io { archive: archive.to_owned(), action, source }
}

/// A directory archive being written.
struct DirectoryOut {
    root: PathBuf,
    created_root: bool,
    made: HashSet<PathBuf>,
}

impl DirectoryOut {
    /// Creates the directory, or empties an earlier archive in it (manifest first, so an
    /// interruption never leaves a manifest over missing objects); refuses other contents.
    async fn prepare(archive: &str, root: &Path) -> Result<DirectoryOut, ArchiveError> {
        let names = match list_directory(root).await {
            Ok(names) => names,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                tokio::fs::create_dir_all(root).await.map_err(io_error(archive, "create"))?;
                return Ok(DirectoryOut { root: root.to_path_buf(), created_root: true, made: HashSet::new() });
            }
            Err(err) => return Err(io_error(archive, "open")(err)),
        };
        let ours = |name: &std::ffi::OsString| [MANIFEST, "objects", MANIFEST_PARTIAL].iter().any(|n| name == n);
        if !names.iter().all(ours) {
            return Err(ArchiveError::DirectoryNotEmpty { archive: archive.to_owned() });
        }
        for name in [MANIFEST, MANIFEST_PARTIAL] {
            remove_file_if_present(&root.join(name)).await.map_err(io_error(archive, "replace the earlier archive in"))?;
        }
        if names.iter().any(|n| n == "objects") {
            tokio::fs::remove_dir_all(root.join("objects")).await.map_err(io_error(archive, "replace the earlier archive in"))?;
        }
        Ok(DirectoryOut { root: root.to_path_buf(), created_root: false, made: HashSet::new() })
    }

    /// Writes one member file.
    async fn add(&mut self, archive: &str, member: &str, bytes: &[u8]) -> Result<(), ArchiveError> {
        let path = self.root.join(member);
        if let Some(parent) = path.parent()
            && !self.made.contains(parent)
        {
            tokio::fs::create_dir_all(parent).await.map_err(io_error(archive, "create a directory in"))?;
            self.made.insert(parent.to_path_buf());
        }
        let mut file = create_private(&path).await.map_err(io_error(archive, "write a member of"))?;
        file.write_all(bytes).await.map_err(io_error(archive, "write a member of"))?;
        file.flush().await.map_err(io_error(archive, "write a member of"))
    }

    /// Writes the manifest under a temporary name and renames it into place.
    async fn finish(self, archive: &str, json: &[u8]) -> Result<(), ArchiveError> {
        let partial = self.root.join(MANIFEST_PARTIAL);
        let mut file = create_private(&partial).await.map_err(io_error(archive, "write the manifest of"))?;
        file.write_all(json).await.map_err(io_error(archive, "write the manifest of"))?;
        file.flush().await.map_err(io_error(archive, "write the manifest of"))?;
        file.sync_all().await.map_err(io_error(archive, "write the manifest of"))?;
        drop(file);
        tokio::fs::rename(&partial, self.root.join(MANIFEST)).await.map_err(io_error(archive, "complete"))
    }

    /// Removes the members written, and the directory if this writer created it.
    async fn abort(self) {
        let _ = tokio::fs::remove_dir_all(self.root.join("objects")).await;
        let _ = remove_file_if_present(&self.root.join(MANIFEST_PARTIAL)).await;
        if self.created_root {
            let _ = tokio::fs::remove_dir(&self.root).await;
        }
    }
}

/// The names in a directory.
async fn list_directory(dir: &Path) -> io::Result<Vec<std::ffi::OsString>> {
    let mut entries = tokio::fs::read_dir(dir).await?;
    let mut names = Vec::new();
    while let Some(entry) = entries.next_entry().await? {
        names.push(entry.file_name());
    }
    Ok(names)
}

/// Creates (or truncates) a file readable by its owner only: archives hold Secrets.
async fn create_private(path: &Path) -> io::Result<tokio::fs::File> {
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    options.open(path).await
}

/// Removes a file; a file that is not there is fine.
async fn remove_file_if_present(path: &Path) -> io::Result<()> {
    match tokio::fs::remove_file(path).await {
        Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}

/// The tar → zstd → (encryption) pipeline, in memory; its output goes to a [`Sink`].
type Tar = tar::Builder<zstd::stream::write::Encoder<'static, Layer>>;

/// Starts the pipeline.
fn stream_start(archive: &str, key: Option<&EncryptionKey>) -> Result<Tar, ArchiveError> {
    let layer = match key {
        Some(key) => Layer::Sealed(Sealer::new(key).map_err(io_error(archive, "encrypt"))?),
        None => Layer::Plain(Vec::new()),
    };
    let mut encoder = zstd::stream::write::Encoder::new(layer, ZSTD_LEVEL).map_err(io_error(archive, "compress"))?;
    encoder.include_checksum(true).map_err(io_error(archive, "compress"))?;
    encoder.multithread(COMPRESSION_THREADS).map_err(io_error(archive, "compress"))?;
    Ok(tar::Builder::new(encoder))
}

/// The compressed stream as it is, or encrypted.
enum Layer {
    Plain(Vec<u8>),
    Sealed(Sealer),
}

impl Layer {
    /// Bytes ready for the sink.
    fn output(&mut self) -> &mut Vec<u8> {
        match self {
            Layer::Plain(out) => out,
            Layer::Sealed(sealer) => sealer.output(),
        }
    }

    /// Ends the stream and returns the last bytes.
    fn finish(self) -> io::Result<Vec<u8>> {
        match self {
            Layer::Plain(out) => Ok(out),
            Layer::Sealed(sealer) => sealer.finish(),
        }
    }
}

impl Write for Layer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Layer::Plain(out) => {
                out.extend_from_slice(buf);
                Ok(buf.len())
            }
            Layer::Sealed(sealer) => sealer.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A single-file or S3 archive being written.
struct StreamOut {
    tar: Tar,
    sink: Sink,
}

impl StreamOut {
    /// Appends one member and passes on the compressed output once enough has collected.
    async fn add(&mut self, archive: &str, member: &str, bytes: &[u8]) -> Result<(), ArchiveError> {
        append(&mut self.tar, member, bytes).map_err(io_error(archive, "write"))?;
        let output = self.tar.get_mut().get_mut().output();
        if output.len() >= FLUSH_AT {
            let ready = std::mem::take(output);
            self.sink.write(archive, ready).await?;
        }
        Ok(())
    }

    /// Appends the manifest, closes tar, zstd and encryption, and completes the sink.
    async fn finish(self: Box<Self>, archive: &str, json: &[u8]) -> Result<(), ArchiveError> {
        let StreamOut { tar, sink } = *self;
        match close(tar, json) {
            Ok(tail) => sink.finish(archive, tail).await,
            Err(err) => {
                sink.abort().await;
                Err(io_error(archive, "write")(err))
            }
        }
    }
}

/// Appends a regular file member: owner-only mode, time 0 (archives of the same objects are
/// byte-identical when not encrypted), GNU long names for paths over 100 bytes.
fn append(tar: &mut Tar, member: &str, bytes: &[u8]) -> io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(bytes.len() as u64);
    header.set_mode(0o600);
    header.set_mtime(0);
    tar.append_data(&mut header, member, bytes)
}

/// Appends the manifest and ends every layer; returns the bytes not yet passed on.
fn close(mut tar: Tar, json: &[u8]) -> io::Result<Vec<u8>> {
    append(&mut tar, MANIFEST, json)?;
    tar.into_inner()?.finish()?.finish()
}

/// Where a stream archive's bytes go.
enum Sink {
    File(FileSink),
    S3(Upload),
}

impl Sink {
    async fn write(&mut self, archive: &str, bytes: Vec<u8>) -> Result<(), ArchiveError> {
        match self {
            Sink::File(file) => file.file.write_all(&bytes).await.map_err(io_error(archive, "write")),
            Sink::S3(upload) => upload.write(bytes).await,
        }
    }

    async fn finish(self, archive: &str, tail: Vec<u8>) -> Result<(), ArchiveError> {
        match self {
            Sink::File(file) => file.finish(archive, &tail).await,
            Sink::S3(upload) => upload.finish(tail).await,
        }
    }

    async fn abort(self) {
        match self {
            // Dropping the file sink removes the partial file.
            Sink::File(file) => drop(file),
            Sink::S3(upload) => upload.abort().await,
        }
    }
}

/// A local single-file archive being written under its `.partial` name.
struct FileSink {
    file: tokio::fs::File,
    partial: Partial,
    target: PathBuf,
}

impl FileSink {
    /// Opens `NAME.partial`; refuses when `NAME` exists and is not an archive.
    async fn create(archive: &str, target: &Path) -> Result<FileSink, ArchiveError> {
        if !replaceable(target).await.map_err(io_error(archive, "check the file"))? {
            return Err(ArchiveError::FileNotArchive { archive: archive.to_owned() });
        }
        let mut name = target.as_os_str().to_owned();
        name.push(".partial");
        let partial = PathBuf::from(name);
        let file = create_private(&partial).await.map_err(|source| ArchiveError::Io {
            archive: partial.display().to_string(),
            action: "create",
            source,
        })?;
        Ok(FileSink { file, partial: Partial(Some(partial)), target: target.to_path_buf() })
    }

    /// Writes the tail, syncs, and renames `NAME.partial` to `NAME`.
    async fn finish(mut self, archive: &str, tail: &[u8]) -> Result<(), ArchiveError> {
        self.file.write_all(tail).await.map_err(io_error(archive, "write"))?;
        self.file.flush().await.map_err(io_error(archive, "write"))?;
        self.file.sync_all().await.map_err(io_error(archive, "write"))?;
        let Some(partial) = self.partial.0.take() else { return Ok(()) };
        match tokio::fs::rename(&partial, &self.target).await {
            Ok(()) => Ok(()),
            Err(err) => {
                self.partial.0 = Some(partial);
                Err(io_error(archive, "complete")(err))
            }
        }
    }
}

/// Whether `target` may be written: it does not exist, or it starts like a ferry archive.
async fn replaceable(target: &Path) -> io::Result<bool> {
    let file = match tokio::fs::File::open(target).await {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(true),
        Err(err) => return Err(err),
    };
    let mut head = Vec::with_capacity(seal::MAGIC.len());
    file.take(seal::MAGIC.len() as u64).read_to_end(&mut head).await?;
    Ok(head == seal::MAGIC || head.starts_with(&crate::ZSTD_MAGIC))
}

/// A partial file, removed when dropped unless taken.
struct Partial(Option<PathBuf>);

impl Drop for Partial {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}
