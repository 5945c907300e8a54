//! Where a repository's objects live, behind one small synchronous trait: a local directory
//! ([`DirStore`]) or a prefix in an S3-compatible bucket ([`S3Store`], through `object_store`
//! with the client, settings and error explanations of `ferry-archive`).

use std::fmt;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferry_archive::{Destination, S3Location, S3Settings};
use futures::TryStreamExt as _;
use object_store::{ObjectStore, ObjectStoreExt as _, PutPayload};

use crate::VolumeError;

/// A flat key-value store of immutable objects, keyed by `/`-separated relative keys.
pub trait Store: Send + Sync + fmt::Display {
    /// The object's bytes, or `None` when there is no such object.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, VolumeError>;
    /// The bytes `range` of an object (fewer if it ends before, or an error, as the store
    /// reports it), or `None` when there is no such object.
    fn get_range(&self, key: &str, range: Range<u64>) -> Result<Option<Vec<u8>>, VolumeError>;
    /// Stores an object; it becomes visible whole or not at all.
    fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), VolumeError>;
    /// Several objects (each `None` when absent), in the order of `keys`: one after another
    /// unless the store can send the requests concurrently.
    fn get_all(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, VolumeError> {
        keys.iter().map(|key| self.get(key)).collect()
    }
    /// Every key that starts with `prefix`.
    fn list(&self, prefix: &str) -> Result<Vec<String>, VolumeError>;
}

/// Opens a repository location as the user wrote it: `s3://BUCKET/PREFIX` or a local directory.
pub fn open_store(text: &str, s3: &S3Settings) -> Result<Arc<dyn Store>, VolumeError> {
    let location = |problem: String| VolumeError::Location { text: text.to_owned(), problem };
    if text.len() > 5 && text[..5].eq_ignore_ascii_case("s3://") {
        let dir = if text.ends_with('/') { text.to_owned() } else { format!("{text}/") };
        return match Destination::parse(&dir, s3) {
            Ok(Destination::S3(object)) => S3Store::open(object).map(|store| Arc::new(store) as Arc<dyn Store>),
            Ok(_) => Err(location("not an s3:// URL".to_owned())),
            Err(err) => Err(location(err.to_string())),
        };
    }
    if text.is_empty() || text.contains("://") {
        return Err(location("give a local directory or s3://BUCKET/PREFIX".to_owned()));
    }
    Ok(Arc::new(DirStore { root: PathBuf::from(text) }))
}

/// A repository in a local directory: each key is a file below it.
#[derive(Debug)]
pub struct DirStore {
    root: PathBuf,
}

impl DirStore {
    /// A store rooted at `root` (created on the first write).
    pub fn new(root: impl Into<PathBuf>) -> DirStore {
        DirStore { root: root.into() }
    }
}

impl fmt::Display for DirStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.root.display())
    }
}

impl Store for DirStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, VolumeError> {
        let path = self.root.join(key);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(VolumeError::io("read", path)(err)),
        }
    }

    fn get_range(&self, key: &str, range: Range<u64>) -> Result<Option<Vec<u8>>, VolumeError> {
        let path = self.root.join(key);
        let mut file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(VolumeError::io("read", path)(err)),
        };
        file.seek(SeekFrom::Start(range.start)).map_err(VolumeError::io("read", &path))?;
        let mut bytes = Vec::new();
        file.take(range.end - range.start).read_to_end(&mut bytes).map_err(VolumeError::io("read", &path))?;
        Ok(Some(bytes))
    }

    fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), VolumeError> {
        let path = self.root.join(key);
        let parent = path.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(parent).map_err(VolumeError::io("create", parent))?;
        let temporary = parent.join(format!(".tmp-{}-{:?}", std::process::id(), std::thread::current().id()));
        std::fs::write(&temporary, bytes).map_err(VolumeError::io("write", &temporary))?;
        std::fs::rename(&temporary, &path).map_err(VolumeError::io("rename into place", &path))
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, VolumeError> {
        let mut keys = Vec::new();
        list_dir(&self.root, &self.root.join(prefix), &mut keys)?;
        Ok(keys)
    }
}

/// Collects the keys of the files below `dir`, skipping unfinished writes.
fn list_dir(root: &Path, dir: &Path, keys: &mut Vec<String>) -> Result<(), VolumeError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(VolumeError::io("list", dir)(err)),
    };
    for entry in entries {
        let entry = entry.map_err(VolumeError::io("list", dir))?;
        let path = entry.path();
        if entry.file_type().map_err(VolumeError::io("inspect", &path))?.is_dir() {
            list_dir(root, &path, keys)?;
        } else if !entry.file_name().to_string_lossy().starts_with(".tmp-") {
            let key = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().into_owned();
            keys.push(key);
        }
    }
    Ok(())
}

/// A repository under a prefix of an S3-compatible bucket. Its methods are synchronous: called
/// from async code on a multi-threaded runtime (`ferry volumes verify` reads manifests between
/// Jobs), a request runs on that runtime while the worker thread is handed over to others
/// (`block_in_place`); from any other thread, on a small runtime of the store's own, made the
/// first time it is needed (a runtime started or dropped inside async code panics).
pub struct S3Store {
    location: S3Location,
    prefix: String,
    client: Arc<dyn ObjectStore>,
    own_runtime: std::sync::OnceLock<tokio::runtime::Runtime>,
    /// Set once the server answered a ranged GET with something other than the range (`rclone
    /// serve s3` sends the range with status 200, which `object_store` refuses): from then on
    /// whole objects are read and the last few kept, so that the chunks of a pack cost one GET.
    ranges_refused: std::sync::atomic::AtomicBool,
    /// The last whole objects read once `ranges_refused` is set, oldest first.
    whole_objects: std::sync::Mutex<std::collections::VecDeque<(String, bytes::Bytes)>>,
}

/// How many GETs an [`S3Store`] sends at once for [`Store::get_all`].
const CONCURRENT_GETS: usize = 16;

/// How many whole objects an [`S3Store`] keeps when its server refuses ranged reads: a
/// restore's threads each read one pack after another.
const WHOLE_OBJECTS_KEPT: usize = 4;

impl S3Store {
    /// A store for `s3://BUCKET/PREFIX/`, where `location.key` ends in a placeholder file name.
    fn open(mut location: S3Location) -> Result<S3Store, VolumeError> {
        let prefix = location.key.rsplit_once('/').map(|(dir, _)| format!("{dir}/")).unwrap_or_default();
        location.key = prefix.trim_end_matches('/').to_owned();
        let shown = format!("s3://{}/{}", location.bucket, prefix);
        let client = ferry_archive::s3_client(&location).map_err(|err| VolumeError::Location { text: shown, problem: err.to_string() })?;
        Ok(S3Store {
            location,
            prefix,
            client: Arc::new(client),
            own_runtime: std::sync::OnceLock::new(),
            ranges_refused: std::sync::atomic::AtomicBool::new(false),
            whole_objects: std::sync::Mutex::default(),
        })
    }

    /// Runs one request to its end, on the caller's runtime or the store's own (see [`S3Store`]).
    fn block_on<F: std::future::Future>(&self, request: F) -> Result<F::Output, VolumeError> {
        use tokio::runtime::{Handle, RuntimeFlavor};
        match Handle::try_current() {
            Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => Ok(tokio::task::block_in_place(|| handle.block_on(request))),
            Ok(_) => Err(VolumeError::Location {
                text: self.to_string(),
                problem: "the S3 store was used from a single-threaded async runtime, where it cannot wait".to_owned(),
            }),
            Err(_) => Ok(self.own_runtime()?.block_on(request)),
        }
    }

    /// The store's own runtime, started the first time a request needs it.
    fn own_runtime(&self) -> Result<&tokio::runtime::Runtime, VolumeError> {
        if let Some(runtime) = self.own_runtime.get() {
            return Ok(runtime);
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|err| VolumeError::Location { text: self.to_string(), problem: format!("cannot start the I/O runtime: {err}") })?;
        Ok(self.own_runtime.get_or_init(|| runtime))
    }

    /// A whole object, from the last few read or by a GET.
    fn whole_object(&self, key: &str) -> Result<Option<bytes::Bytes>, VolumeError> {
        let kept = || self.whole_objects.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, bytes)) = kept().iter().find(|(k, _)| k == key) {
            return Ok(Some(bytes.clone()));
        }
        let bytes = self.download(key)?;
        if let Some(bytes) = &bytes {
            let mut kept = kept();
            if kept.len() == WHOLE_OBJECTS_KEPT {
                kept.pop_front();
            }
            kept.push_back((key.to_owned(), bytes.clone()));
        }
        Ok(bytes)
    }

    /// An object's bytes by one GET; `None` when there is no such object.
    fn download(&self, key: &str) -> Result<Option<bytes::Bytes>, VolumeError> {
        self.block_on(self.fetch(key))?
    }

    /// The request of [`S3Store::download`].
    async fn fetch(&self, key: &str) -> Result<Option<bytes::Bytes>, VolumeError> {
        match self.client.get(&self.path(key)).await {
            Ok(result) => result.bytes().await.map(Some).map_err(|err| self.error("download", key, err)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(self.error("download", key, err)),
        }
    }

    /// The object path of a key.
    fn path(&self, key: &str) -> object_store::path::Path {
        object_store::path::Path::from(format!("{}{key}", self.prefix))
    }

    /// A storage error with `ferry-archive`'s explanation of the cause.
    fn error(&self, action: &'static str, key: &str, err: object_store::Error) -> VolumeError {
        let source = ferry_archive::storage_error(&self.location, action, err);
        VolumeError::Storage { repository: self.to_string(), action, key: key.to_owned(), source: Box::new(source) }
    }
}

impl fmt::Display for S3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.location.bucket, self.prefix)
    }
}

impl Store for S3Store {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, VolumeError> {
        Ok(self.download(key)?.map(|bytes| bytes.to_vec()))
    }

    fn get_all(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, VolumeError> {
        use futures::StreamExt as _;
        let requests = futures::stream::iter(keys).map(|key| self.fetch(key)).buffered(CONCURRENT_GETS).collect::<Vec<_>>();
        self.block_on(requests)?.into_iter().map(|object| object.map(|bytes| bytes.map(|b| b.to_vec()))).collect()
    }

    fn get_range(&self, key: &str, range: Range<u64>) -> Result<Option<Vec<u8>>, VolumeError> {
        use std::sync::atomic::Ordering;
        if !self.ranges_refused.load(Ordering::Relaxed) {
            match self.block_on(self.client.get_range(&self.path(key), range.clone()))? {
                Ok(bytes) => return Ok(Some(bytes.to_vec())),
                Err(object_store::Error::NotFound { .. }) => return Ok(None),
                // Any other failure: read the whole object; if that works, ranges do not.
                Err(_) => {}
            }
        }
        let Some(whole) = self.whole_object(key)? else { return Ok(None) };
        self.ranges_refused.store(true, Ordering::Relaxed);
        let end = usize::try_from(range.end).unwrap_or(usize::MAX).min(whole.len());
        let start = usize::try_from(range.start).unwrap_or(usize::MAX).min(end);
        Ok(Some(whole[start..end].to_vec()))
    }

    fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), VolumeError> {
        let path = self.path(key);
        self.block_on(self.client.put(&path, PutPayload::from(bytes)))?.map(drop).map_err(|err| self.error("upload", key, err))
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, VolumeError> {
        let path = self.path(prefix.trim_end_matches('/'));
        let objects: Vec<_> = self.block_on(self.client.list(Some(&path)).try_collect())?.map_err(|err| self.error("list", prefix, err))?;
        Ok(objects.into_iter().filter_map(|meta| meta.location.as_ref().strip_prefix(&self.prefix).map(str::to_owned)).collect())
    }
}
