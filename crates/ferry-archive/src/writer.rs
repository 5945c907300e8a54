//! Writing an archive object by object: a directory of JSON files with `manifest.json` written
//! last, or one tar stream (compressed with zstd, optionally encrypted) going to a local
//! temporary file beside `NAME` (a new file with a random name, `.NAME.XXXXXX.partial`) or an S3 multipart upload. Only [`Writer::finish`] makes the archive
//! complete and visible; [`Writer::abort`] (or dropping the writer) leaves no archive behind.
//!
//! The costly part of writing (digests, tar, compression) can be done before an object's turn
//! comes, on any thread: an [`Encoder`] makes a [`Batch`] of objects (for a stream, one zstd
//! frame), and [`Writer::add_batch`] appends batches in order.

use std::collections::HashSet;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use ferry_model::{ObjectId, RawObject};
use rayon::prelude::*;
use serde::Serialize;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::keys::AGE_MAGIC;
use crate::manifest::{FORMAT, ManifestText, entries_text};
use crate::member::{MANIFEST, line_sha256_hex, path_for};
use crate::s3::Upload;
use crate::{ArchiveError, Destination, Header, Keys, Manifest, ManifestEntry};

/// zstd level 1: on the tar of an export of 10,000 objects as the API server sent them (one
/// line each, 20.6 MB with the tar headers) it is faster than level 3 (zstd's default) and
/// smaller too (789 kB against 948 kB).
const ZSTD_LEVEL: i32 = 1;

/// Objects encoded together on all cores by [`Writer::add_all`] before they are added, in order.
const BATCH: usize = 512;

/// Tar bytes of objects added one by one ([`Writer::add`], [`Writer::add_all`]) compressed as
/// one zstd frame: frames this large compress within 2% of a single frame.
const FRAME: usize = 1024 * 1024;

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
    /// Boxed: the tar and cipher state is large.
    Stream(Box<StreamOut>),
}

impl Writer {
    /// Starts an archive at `dest`, encrypted with age to `keys` when they are given (not for
    /// directories): to their recipients, else their identities' recipients, else their passphrase.
    ///
    /// A directory must be new, empty, or an earlier ferry archive (which is removed first). A
    /// single file is written under a temporary name beside `NAME` and may replace an earlier archive only. An S3
    /// upload starts at once, so a missing bucket or refused credentials fail here.
    pub async fn create(dest: &Destination, header: Header, key: Option<&Keys>) -> Result<Writer, ArchiveError> {
        let archive = dest.to_string();
        let form = match dest {
            Destination::Directory(root) => {
                if key.is_some() {
                    return Err(ArchiveError::EncryptedDirectory { archive });
                }
                let manifest = ManifestText::start(Vec::new(), &header).map_err(io_error(&archive, "write the manifest of"))?;
                Form::Directory(DirectoryOut::prepare(&archive, root, manifest).await?)
            }
            Destination::File(path) => {
                let (layer, manifest) = (layer(&archive, key)?, compressed_manifest(&archive, &header)?);
                Form::Stream(Box::new(StreamOut::new(layer, manifest, Sink::File(FileSink::create(&archive, path).await?))))
            }
            Destination::S3(location) => {
                let (layer, manifest) = (layer(&archive, key)?, compressed_manifest(&archive, &header)?);
                Form::Stream(Box::new(StreamOut::new(layer, manifest, Sink::S3(Upload::start(location).await?))))
            }
        };
        Ok(Writer { archive, header, objects: Vec::new(), paths: HashSet::new(), form, broken: false })
    }

    /// An encoder of batches for this writer, to use on any thread.
    pub fn encoder(&self) -> Encoder {
        Encoder { frames: matches!(self.form, Form::Stream(_)) }
    }

    /// Adds one object read through `resource` (`plural.group`, e.g. `deployments.apps`).
    ///
    /// After an error other than [`ArchiveError::InvalidObject`] (or when this future is dropped
    /// before it completes) the writer is broken: later calls fail; call [`abort`](Writer::abort).
    pub async fn add<T: Serialize + ?Sized>(&mut self, id: &ObjectId, resource: &str, object: &T) -> Result<(), ArchiveError> {
        self.add_encoded(encode(id, resource, object).map(Encoded::from)).await
    }

    /// Adds objects in order, as [`Writer::add`] does one by one (the same bytes), encoding them
    /// (JSON and digest) on all cores a batch at a time; stops at the first error.
    pub async fn add_all<'a, T: Serialize + Send + Sync>(&mut self, objects: impl IntoIterator<Item = (ObjectId, &'a str, T)>) -> Result<(), ArchiveError> {
        let mut objects = objects.into_iter();
        loop {
            let batch: Vec<(ObjectId, &str, T)> = objects.by_ref().take(BATCH).collect();
            if batch.is_empty() {
                return Ok(());
            }
            let members: Vec<Result<Encoded, Refused>> =
                batch.par_iter().map(|(id, resource, object)| encode(id, resource, object).map(Encoded::from)).collect();
            for member in members {
                self.add_encoded(member).await?;
            }
        }
    }

    /// Adds a batch made by this writer's [`Encoder`] after everything added before, as
    /// [`Writer::add`] does: a batch holding an object that cannot be a member (or one already
    /// in the archive) is refused whole with [`ArchiveError::InvalidObject`].
    ///
    /// # Panics
    ///
    /// If the batch was encoded for a stream archive and this writer writes a directory.
    pub async fn add_batch(&mut self, batch: Batch) -> Result<(), ArchiveError> {
        self.add_encoded(batch.0).await
    }

    async fn add_encoded(&mut self, encoded: Result<Encoded, Refused>) -> Result<(), ArchiveError> {
        if self.broken {
            return Err(ArchiveError::Broken { archive: self.archive.clone() });
        }
        // Stays set when this future is dropped half-way: the stream may hold part of a member.
        self.broken = true;
        let result = self.add_unchecked(encoded).await;
        // An invalid object is refused before anything is written.
        self.broken = result.as_ref().is_err_and(|e| !matches!(e, ArchiveError::InvalidObject { .. }));
        result
    }

    /// [`Writer::add_encoded`] without the broken-writer bookkeeping.
    async fn add_unchecked(&mut self, encoded: Result<Encoded, Refused>) -> Result<(), ArchiveError> {
        let invalid = |Refused { object, problem }| ArchiveError::InvalidObject { archive: self.archive.clone(), object, problem };
        let Encoded { entries, manifest, body } = encoded.map_err(invalid)?;
        let mut new = HashSet::with_capacity(entries.len());
        if let Some(twice) = entries.iter().find(|e| self.paths.contains(&e.path) || !new.insert(e.path.as_str())) {
            let problem = "the archive already holds an object of this group, kind, namespace and name".to_owned();
            return Err(invalid(Refused { object: twice.id.to_string(), problem }));
        }
        match (&mut self.form, body) {
            (Form::Directory(out), Body::Members(members)) => {
                for (entry, bytes) in entries.iter().zip(members) {
                    out.add(&self.archive, &entry.path, &bytes).await?;
                }
            }
            (Form::Stream(out), Body::Members(members)) => {
                for (entry, bytes) in entries.iter().zip(members) {
                    out.add(&self.archive, &entry.path, &bytes).await?;
                }
            }
            (Form::Stream(out), Body::Frame(frame)) => out.add_frame(&self.archive, frame).await?,
            (Form::Directory(_), Body::Frame(_)) => panic!("a batch encoded for a stream archive was added to a directory archive"),
        }
        let noted = match &mut self.form {
            Form::Directory(out) => out.manifest.add(&manifest, entries.len()),
            Form::Stream(out) => out.manifest.add(&manifest, entries.len()),
        };
        noted.map_err(io_error(&self.archive, "write the manifest of"))?;
        self.paths.extend(entries.iter().map(|e| e.path.clone()));
        self.objects.extend(entries);
        Ok(())
    }

    /// Writes the manifest and completes the archive: renames the directory's manifest or the
    /// temporary file into place, or completes the S3 upload. Returns the manifest written.
    pub async fn finish(self) -> Result<Manifest, ArchiveError> {
        let Writer { archive, header, objects, form, broken, .. } = self;
        if broken {
            abort(form).await;
            return Err(ArchiveError::Broken { archive });
        }
        match form {
            Form::Directory(out) => out.finish(&archive).await?,
            Form::Stream(out) => out.finish(&archive).await?,
        }
        Ok(Manifest { format: FORMAT.to_owned(), header, objects })
    }

    /// Abandons the archive: removes what was written to a directory, deletes the temporary
    /// file, or aborts the S3 multipart upload. Best effort; never fails.
    pub async fn abort(self) {
        abort(self.form).await;
    }
}

/// Makes [`Batch`]es for one [`Writer`]: digests, and for a stream the tar members compressed
/// as one zstd frame. Needs no access to the writer, so batches can be made on any thread in any
/// order while the writer appends earlier ones.
#[derive(Debug, Clone, Copy)]
pub struct Encoder {
    /// Whether batches are zstd frames (stream archives) or member files (directories).
    frames: bool,
}

impl Encoder {
    /// Encodes objects kept as JSON text, each under the resource it was read from
    /// (`plural.group`): their text is written as it is, not encoded again.
    pub fn raw<'a>(&self, objects: impl IntoIterator<Item = (&'a RawObject, &'a str)>) -> Batch {
        Batch(self.encode(objects.into_iter().map(|(object, resource)| (&object.id, resource, object.json()))))
    }

    fn encode<'a>(&self, objects: impl Iterator<Item = (&'a ObjectId, &'a str, &'a [u8])>) -> Result<Encoded, Refused> {
        let members: Vec<(ManifestEntry, &[u8])> = objects.map(|(id, resource, json)| Ok((entry(id, resource, json)?, json))).collect::<Result<_, _>>()?;
        // A batch of no objects (a page whose objects were all left out) writes nothing.
        let body = if self.frames && !members.is_empty() {
            Body::Frame(compressed_tar(|tar| {
                members.iter().try_for_each(|(entry, json)| {
                    append(tar, &entry.path, entry.size, io::Read::chain(*json, &b"\n"[..]))
                        .map_err(|e| Refused { object: entry.id.to_string(), problem: format!("it cannot be written as a tar member ({e})") })
                })
            })?)
        } else {
            Body::Members(members.iter().map(|(_, json)| with_newline(json)).collect())
        };
        let entries: Vec<ManifestEntry> = members.into_iter().map(|(entry, _)| entry).collect();
        Ok(Encoded { manifest: entries_text(&entries), entries, body })
    }
}

/// Objects encoded by an [`Encoder`], to be added with [`Writer::add_batch`].
pub struct Batch(Result<Encoded, Refused>);

/// Manifest entries and the bytes that go with them.
struct Encoded {
    entries: Vec<ManifestEntry>,
    /// The entries' text in `manifest.json`.
    manifest: Vec<u8>,
    body: Body,
}

/// The bytes of encoded objects.
enum Body {
    /// Each member's bytes, in the order of the entries.
    Members(Vec<Vec<u8>>),
    /// The members as tar, compressed as one complete zstd frame (for stream archives).
    Frame(Vec<u8>),
}

/// An object ready to be written: its manifest entry and its bytes.
struct Member {
    entry: ManifestEntry,
    bytes: Vec<u8>,
}

impl From<Member> for Encoded {
    fn from(Member { entry, bytes }: Member) -> Encoded {
        let entries = vec![entry];
        Encoded { manifest: entries_text(&entries), entries, body: Body::Members(vec![bytes]) }
    }
}

/// An object that cannot be a member, and why.
struct Refused {
    object: String,
    problem: String,
}

/// Encodes an object as a member: JSON on one line with a final newline, its digest and its path.
fn encode<T: Serialize + ?Sized>(id: &ObjectId, resource: &str, object: &T) -> Result<Member, Refused> {
    let mut bytes = serde_json::to_vec(object).map_err(|e| Refused { object: id.to_string(), problem: format!("it cannot be written as JSON ({e})") })?;
    let entry = entry(id, resource, &bytes)?;
    bytes.push(b'\n');
    Ok(Member { entry, bytes })
}

/// The manifest entry of a member holding `json` (one JSON object) and a final newline.
fn entry(id: &ObjectId, resource: &str, json: &[u8]) -> Result<ManifestEntry, Refused> {
    let path = path_for(id).map_err(|problem| Refused { object: id.to_string(), problem: problem.to_owned() })?;
    Ok(ManifestEntry { id: id.clone(), resource: resource.to_owned(), path, sha256: line_sha256_hex(json), size: json.len() as u64 + 1 })
}

fn with_newline(json: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(json.len() + 1);
    bytes.extend_from_slice(json);
    bytes.push(b'\n');
    bytes
}

/// What encoding needs on each thread beyond its output, kept from one batch to the next:
/// allocating a megabyte-sized buffer and a zstd context for every batch costs page faults.
#[derive(Default)]
struct Scratch {
    /// Tar members before compression.
    tar: Vec<u8>,
    compressor: Option<zstd::bulk::Compressor<'static>>,
    /// Compressed bytes, before they are copied out at their size.
    frame: Vec<u8>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// One zstd frame of the tar members `write` appends (on this thread's scratch buffer).
fn compressed_tar<E>(write: impl FnOnce(&mut Tar) -> Result<(), E>) -> Result<Vec<u8>, E> {
    SCRATCH.with_borrow_mut(|Scratch { tar: buffer, compressor, frame }| {
        let mut tar = tar::Builder::new(std::mem::take(buffer));
        let written = write(&mut tar);
        // Taken before the builder is dropped, which ends its tar stream: the archive's goes on.
        *buffer = std::mem::take(tar.get_mut());
        let compressed = written.map(|()| frame_of(compressor, frame, buffer));
        buffer.clear();
        compressed
    })
}

/// One zstd frame of `bytes`.
fn compress(bytes: &[u8]) -> Vec<u8> {
    SCRATCH.with_borrow_mut(|Scratch { compressor, frame, .. }| frame_of(compressor, frame, bytes))
}

/// One zstd frame of `bytes`, with its content checksum, made in `frame` with this thread's
/// context and copied out.
fn frame_of(compressor: &mut Option<zstd::bulk::Compressor<'static>>, frame: &mut Vec<u8>, bytes: &[u8]) -> Vec<u8> {
    // In memory, with a valid level and parameter, into a buffer of zstd's bound for the
    // input, zstd fails only when memory runs out.
    let compressor = compressor.get_or_insert_with(|| {
        let mut compressor = zstd::bulk::Compressor::new(ZSTD_LEVEL).expect("a zstd context");
        compressor.set_parameter(zstd::zstd_safe::CParameter::ChecksumFlag(true)).expect("a valid zstd parameter");
        compressor
    });
    frame.clear();
    frame.reserve(zstd::zstd_safe::compress_bound(bytes.len()));
    compressor.compress_to_buffer(bytes, frame).expect("zstd compresses into a buffer of its bound");
    frame.clone()
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
    manifest: ManifestText<Vec<u8>>,
}

impl DirectoryOut {
    /// Creates the directory, or empties an earlier archive in it (manifest first, so an
    /// interruption never leaves a manifest over missing objects); refuses other contents.
    async fn prepare(archive: &str, root: &Path, manifest: ManifestText<Vec<u8>>) -> Result<DirectoryOut, ArchiveError> {
        let names = match list_directory(root).await {
            Ok(names) => names,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                tokio::fs::create_dir_all(root).await.map_err(io_error(archive, "create"))?;
                return Ok(DirectoryOut { root: root.to_path_buf(), created_root: true, made: HashSet::new(), manifest });
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
        Ok(DirectoryOut { root: root.to_path_buf(), created_root: false, made: HashSet::new(), manifest })
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
    async fn finish(self, archive: &str) -> Result<(), ArchiveError> {
        let (json, _) = self.manifest.end().map_err(io_error(archive, "write the manifest of"))?;
        let partial = self.root.join(MANIFEST_PARTIAL);
        let mut file = create_private(&partial).await.map_err(io_error(archive, "write the manifest of"))?;
        file.write_all(&json).await.map_err(io_error(archive, "write the manifest of"))?;
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

/// Creates a new file readable by its owner only (archives hold Secrets); an existing file or
/// symbolic link at `path` makes it fail rather than be followed or reused.
pub(crate) async fn create_private(path: &Path) -> io::Result<tokio::fs::File> {
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true);
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

/// Tar members not yet compressed.
type Tar = tar::Builder<Vec<u8>>;

/// The layer below compression: the stream as it is, or encrypted with age to `keys`.
fn layer(archive: &str, keys: Option<&Keys>) -> Result<Layer, ArchiveError> {
    let Some(keys) = keys else { return Ok(Layer::Plain(Vec::new())) };
    let encryptor = keys.encryptor().map_err(|problem| ArchiveError::Encryption { problem })?;
    let out = Shared::default();
    let writer = encryptor.wrap_output(out.clone()).map_err(io_error(archive, "encrypt"))?;
    Ok(Layer::Sealed(writer, out))
}

/// Bytes written by age's stream writer, taken out by the archive's writer as they collect.
#[derive(Clone, Default)]
struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Shared {
    /// The bytes written so far and not yet taken.
    fn buffer(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buffer().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The compressed stream as it is, or encrypted (age's STREAM: 64 KiB chunks, each sealed as
/// soon as it is full, so nothing but the current chunk is held).
enum Layer {
    Plain(Vec<u8>),
    Sealed(age::stream::StreamWriter<Shared>, Shared),
}

impl Layer {
    /// Takes the bytes ready for the sink once at least `at_least` have collected.
    fn take_ready(&mut self, at_least: usize) -> Option<Vec<u8>> {
        match self {
            Layer::Plain(out) => (out.len() >= at_least).then(|| std::mem::take(out)),
            Layer::Sealed(_, out) => {
                let mut out = out.buffer();
                (out.len() >= at_least).then(|| std::mem::take(&mut *out))
            }
        }
    }

    /// Ends the stream and returns the last bytes.
    fn finish(self) -> io::Result<Vec<u8>> {
        match self {
            Layer::Plain(out) => Ok(out),
            Layer::Sealed(writer, out) => {
                writer.finish()?;
                Ok(std::mem::take(&mut *out.buffer()))
            }
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
            Layer::Sealed(writer, _) => writer.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A single-file or S3 archive being written: one tar stream in zstd frames.
struct StreamOut {
    /// Members added one by one since the last frame, compressed once [`FRAME`] bytes collect.
    open: Tar,
    /// The manifest's text so far, compressed as it grows.
    manifest: ManifestText<Compressing>,
    layer: Layer,
    sink: Sink,
}

/// A zstd frame being compressed as its bytes come.
type Compressing = zstd::stream::write::Encoder<'static, Vec<u8>>;

/// A manifest written into a zstd frame of its own as objects are added.
fn compressed_manifest(archive: &str, header: &Header) -> Result<ManifestText<Compressing>, ArchiveError> {
    let mut frame = zstd::stream::write::Encoder::new(Vec::new(), ZSTD_LEVEL).map_err(io_error(archive, "compress"))?;
    frame.include_checksum(true).map_err(io_error(archive, "compress"))?;
    ManifestText::start(frame, header).map_err(io_error(archive, "write the manifest of"))
}

impl StreamOut {
    fn new(layer: Layer, manifest: ManifestText<Compressing>, sink: Sink) -> StreamOut {
        StreamOut { open: tar::Builder::new(Vec::new()), manifest, layer, sink }
    }

    /// Appends one member to the open frame, and compresses the frame once it is large enough.
    async fn add(&mut self, archive: &str, member: &str, bytes: &[u8]) -> Result<(), ArchiveError> {
        append(&mut self.open, member, bytes.len() as u64, bytes).map_err(io_error(archive, "write"))?;
        if self.open.get_ref().len() >= FRAME {
            self.close_frame(archive).await?;
        }
        Ok(())
    }

    /// Appends a frame made by an [`Encoder`], after the members added before it.
    async fn add_frame(&mut self, archive: &str, frame: Vec<u8>) -> Result<(), ArchiveError> {
        self.close_frame(archive).await?;
        self.put(archive, &frame).await
    }

    /// Compresses the members of the open frame, if any.
    async fn close_frame(&mut self, archive: &str) -> Result<(), ArchiveError> {
        if self.open.get_ref().is_empty() {
            return Ok(());
        }
        let frame = compress(&std::mem::take(self.open.get_mut()));
        self.put(archive, &frame).await
    }

    /// Passes a frame through the encryption layer, and on to the sink once enough has collected.
    async fn put(&mut self, archive: &str, frame: &[u8]) -> Result<(), ArchiveError> {
        self.layer.write_all(frame).map_err(io_error(archive, "encrypt"))?;
        if let Some(ready) = self.layer.take_ready(FLUSH_AT) {
            self.sink.write(archive, ready).await?;
        }
        Ok(())
    }

    /// Compresses the members still open, ends the tar stream with the manifest, ends the
    /// encryption, and completes the sink.
    async fn finish(mut self: Box<Self>, archive: &str) -> Result<(), ArchiveError> {
        if let Err(error) = self.close_frame(archive).await {
            self.sink.abort().await;
            return Err(error);
        }
        let StreamOut { manifest, mut layer, sink, .. } = *self;
        let tail = last_frames(manifest).and_then(|frames| layer.write_all(&frames)).and_then(|()| layer.finish());
        match tail {
            Ok(tail) => sink.finish(archive, tail).await,
            Err(err) => {
                sink.abort().await;
                Err(io_error(archive, "write")(err))
            }
        }
    }
}

/// The manifest as the last member, and the end of the tar stream: its header in a frame, its
/// text in the frame compressed as it was written, and the padding and end-of-archive blocks.
fn last_frames(manifest: ManifestText<Compressing>) -> io::Result<Vec<u8>> {
    let (text, size) = manifest.end()?;
    let mut header = member_header(size);
    header.set_path(MANIFEST)?;
    header.set_cksum();
    let mut frames = compress(header.as_bytes());
    frames.extend(text.finish()?);
    let padding = (512 - size % 512) % 512;
    frames.extend(compress(&vec![0; padding as usize + 1024]));
    Ok(frames)
}

/// The header of a regular file member of `size` bytes: owner-only mode, time 0 (archives of the
/// same objects are byte-identical when not encrypted).
fn member_header(size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(size);
    header.set_mode(0o600);
    header.set_mtime(0);
    header
}

/// Appends a regular file member of `size` bytes, with a GNU long name for a path over 100 bytes.
fn append(tar: &mut Tar, member: &str, size: u64, content: impl io::Read) -> io::Result<()> {
    tar.append_data(&mut member_header(size), member, content)
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

/// A local single-file archive being written under a temporary name beside it; dropping the
/// sink removes the temporary file.
struct FileSink {
    file: tokio::fs::File,
    partial: tempfile::TempPath,
    target: PathBuf,
}

impl FileSink {
    /// Creates the temporary file `.NAME.XXXXXX.partial` in `NAME`'s directory: a random name,
    /// created exclusively (an existing file or symbolic link is never followed or reused) with
    /// mode `0600` (tempfile's default). Refuses when `NAME` exists and is not an archive.
    async fn create(archive: &str, target: &Path) -> Result<FileSink, ArchiveError> {
        if !replaceable(target).await.map_err(io_error(archive, "check the file"))? {
            return Err(ArchiveError::FileNotArchive { archive: archive.to_owned() });
        }
        let dir = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let mut prefix = std::ffi::OsString::from(".");
        prefix.push(target.file_name().unwrap_or_default());
        prefix.push(".");
        let temp = tempfile::Builder::new().prefix(&prefix).suffix(".partial").tempfile_in(dir);
        let (file, partial) = temp.map_err(io_error(archive, "create a temporary file beside"))?.into_parts();
        Ok(FileSink { file: tokio::fs::File::from_std(file), partial, target: target.to_path_buf() })
    }

    /// Writes the tail, syncs, and renames the temporary file to `NAME`.
    async fn finish(mut self, archive: &str, tail: &[u8]) -> Result<(), ArchiveError> {
        self.file.write_all(tail).await.map_err(io_error(archive, "write"))?;
        self.file.flush().await.map_err(io_error(archive, "write"))?;
        self.file.sync_all().await.map_err(io_error(archive, "write"))?;
        // On failure the temporary path comes back in the error and is removed when it drops.
        self.partial.persist(&self.target).map_err(|e| io_error(archive, "complete")(e.error))
    }
}

/// Whether `target` may be written: it does not exist, or it starts like a ferry archive.
async fn replaceable(target: &Path) -> io::Result<bool> {
    let file = match tokio::fs::File::open(target).await {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(true),
        Err(err) => return Err(err),
    };
    let mut head = Vec::with_capacity(AGE_MAGIC.len());
    file.take(AGE_MAGIC.len() as u64).read_to_end(&mut head).await?;
    Ok(head == AGE_MAGIC || head.starts_with(crate::legacy::MAGIC) || head.starts_with(&crate::ZSTD_MAGIC))
}
