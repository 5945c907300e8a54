//! ferry's migration archive: the objects of an export with a manifest of their sizes and
//! sha256 digests, versioned (`ferry.archive/v1`, see `docs/archive-format.md`), stored as a
//! directory, a single zstd-compressed tar file (the default), or one object in S3-compatible
//! storage, optionally encrypted with age ([`Keys`]: a passphrase, recipients, identities), so
//! that `age` and `rage` can decrypt it; archives in ferry's old `FERRYENC` format are still read.
//!
//! [`Writer`] writes object by object, holding only each object's manifest entry (not its
//! text) once it is written, and an archive only becomes visible
//! when [`Writer::finish`] succeeds. [`read`] verifies everything before it returns: format,
//! member paths, every digest, nothing missing and nothing extra. Errors ([`ArchiveError`]) name
//! the archive and the member and say what to do; they never carry object contents.
//!
//! This crate touches only the archive it is given; it never prints.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! use ferry_archive::{Destination, Header, S3Settings, Writer, read};
//! use ferry_model::ObjectId;
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("backup.tar.zst");
//! let dest = Destination::parse(&path.to_string_lossy(), &S3Settings::from_env())?;
//!
//! let id = ObjectId { api_version: "v1".into(), kind: "ConfigMap".into(), namespace: Some("shop".into()), name: "settings".into() };
//! let object = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "shop"}});
//! let mut writer = Writer::create(&dest, Header::default(), None).await?;
//! writer.add(&id, "configmaps", &object).await?;
//! let manifest = writer.finish().await?;
//! assert_eq!(manifest.objects[0].path, "objects/core/ConfigMap/shop/settings.json");
//!
//! let (_, entries) = read(&dest, None).await?;
//! assert_eq!(entries[0].object()?, object);
//! # Ok::<_, Box<dyn std::error::Error>>(())
//! # })
//! # }
//! ```

mod destination;
mod error;
mod keys;
mod legacy;
mod manifest;
mod member;
mod reader;
mod s3;
mod tree;
mod writer;

pub use destination::{DEFAULT_OBJECT_NAME, Destination, S3Location, S3Settings};
pub use error::ArchiveError;
pub use keys::Keys;
pub use manifest::{FORMAT, Filters, Header, Manifest, ManifestEntry, Source};
pub use member::hex;
pub use reader::{Entry, read, read_from};
pub use s3::{storage_error, store as s3_client};
pub use tree::{TREE_MARKER, TreeError, write_tree};
pub use writer::{Batch, Encoder, Writer};

/// The first bytes of every zstd frame.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];
