//! OCI container images for ferry, made from files on this machine without a container engine.
//!
//! - [`LayerBuilder`] makes one deterministic, gzip-compressed layer from host files, directories,
//!   symbolic links and bytes: the same input always gives the same digests.
//! - [`Image`] puts layers, an [`ImageConfig`] and an OCI image manifest together, everything
//!   addressed by SHA-256, and writes an OCI image-layout archive that `ctr images import`,
//!   `skopeo` and other OCI tools read ([`Image::write_oci_archive`]).
//! - [`push`] uploads an image to a registry through the OCI distribution API, skipping blobs the
//!   registry already has; credentials come from Docker's `config.json` ([`Credentials`]).
//! - [`plan()`] lists every image Kubernetes objects run and where `ferry.yaml`'s rules move
//!   it (through `ferry_transform`, so the copy agrees with the transformed manifests);
//!   [`plan::resolve`] adds digests and sizes from the registries; [`pullable::check`] asks
//!   whether the target's nodes can pull each image (exists, pull secret, platforms).
//! - [`copy()`] copies images between registries byte for byte (every platform, referrers,
//!   blobs only where missing) through [`registry`], a small distribution-API client.
//! - [`ferry_image`], [`busybox_image`] and [`pause_image`] make the images ferry runs in clusters
//!   and the ones its tests need, each binary with the shared libraries `ldd` names.

pub mod copy;
mod credentials;
mod digest;
mod error;
mod image;
mod layer;
mod layout;
mod libraries;
pub mod plan;
mod presets;
pub mod pullable;
mod push;
pub mod registry;

pub use copy::{CopyJob, ImageEvidence, copy};
pub use credentials::Credentials;
pub use digest::Digest;
pub use error::Error;
pub use image::{Blob, CONFIG_MEDIA_TYPE, Image, ImageConfig, LAYER_MEDIA_TYPE, MANIFEST_MEDIA_TYPE};
pub use layer::{Layer, LayerBuilder};
pub use layout::{CONTAINERD_NAME_ANNOTATION, REF_NAME_ANNOTATION};
pub use libraries::{parse_ldd, shared_libraries};
pub use plan::{Plan, plan};
pub use presets::{FERRY_PATH, busybox_image, ferry_image, pause_image};
pub use push::{Pushed, push};
pub use registry::{ImageRef, Registries, RegistryOptions};
