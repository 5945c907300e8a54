//! Images: layers, a config and an OCI image manifest, each a blob addressed by its SHA-256.

use bytes::Bytes;
use serde::Serialize;

use crate::{Digest, Layer};

/// The media type of an OCI image manifest.
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// The media type of an OCI image config.
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";
/// The media type of a gzip-compressed layer.
pub const LAYER_MEDIA_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// Content with its media type and digest.
#[derive(Clone)]
pub struct Blob {
    /// What the content is, e.g. [`LAYER_MEDIA_TYPE`].
    pub media_type: &'static str,
    /// The SHA-256 of `data`.
    pub digest: Digest,
    /// The content.
    pub data: Bytes,
}

impl Blob {
    /// A blob of `data`, digested.
    pub fn new(media_type: &'static str, data: impl Into<Bytes>) -> Blob {
        let data = data.into();
        Blob { media_type, digest: Digest::of(&data), data }
    }

    /// The size in bytes.
    pub fn size(&self) -> u64 {
        self.data.len() as u64
    }

    fn descriptor(&self) -> Descriptor<'_> {
        Descriptor { media_type: self.media_type, digest: self.digest.as_str(), size: self.size() }
    }
}

impl std::fmt::Debug for Blob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blob").field("media_type", &self.media_type).field("digest", &self.digest).field("size", &self.size()).finish()
    }
}

/// How a container of the image runs; empty fields are left out of the config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageConfig {
    /// The program and its first arguments (`ENTRYPOINT`).
    pub entrypoint: Vec<String>,
    /// Arguments after the entrypoint, or the command when there is none (`CMD`).
    pub cmd: Vec<String>,
    /// Environment, `NAME=value` each.
    pub env: Vec<String>,
    /// The working directory, absolute.
    pub working_dir: Option<String>,
}

/// A built image: its manifest, config and layers, ready to write or push.
#[derive(Debug, Clone)]
pub struct Image {
    manifest: Blob,
    config: Blob,
    layers: Vec<Layer>,
}

impl Image {
    /// An image of `layers` (bottom first) that runs as `config` says, for this machine's
    /// architecture and Linux.
    pub fn new(config: &ImageConfig, layers: Vec<Layer>) -> Image {
        let config = Blob::new(CONFIG_MEDIA_TYPE, config_json(config, &layers));
        let manifest = Manifest {
            schema_version: 2,
            media_type: MANIFEST_MEDIA_TYPE,
            config: config.descriptor(),
            layers: layers.iter().map(|l| l.blob.descriptor()).collect(),
        };
        let manifest = Blob::new(MANIFEST_MEDIA_TYPE, serde_json::to_vec(&manifest).expect("a manifest serializes"));
        Image { manifest, config, layers }
    }

    /// The manifest's digest: the image's identity in a registry (`REPO@sha256:…`).
    pub fn digest(&self) -> &Digest {
        &self.manifest.digest
    }

    /// The manifest (JSON, [`MANIFEST_MEDIA_TYPE`]).
    pub fn manifest(&self) -> &Blob {
        &self.manifest
    }

    /// The config (JSON, [`CONFIG_MEDIA_TYPE`]).
    pub fn config(&self) -> &Blob {
        &self.config
    }

    /// The layers, bottom first.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// The blobs the manifest refers to: the config, then the layers.
    pub fn blobs(&self) -> impl Iterator<Item = &Blob> {
        std::iter::once(&self.config).chain(self.layers.iter().map(|l| &l.blob))
    }

    /// The sum of the sizes of the manifest and every blob.
    pub fn size(&self) -> u64 {
        self.manifest.size() + self.blobs().map(Blob::size).sum::<u64>()
    }
}

/// The architecture name OCI uses for this machine's (`amd64` for `x86_64`).
pub fn host_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        "loongarch64" => "loong64",
        other => other,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor<'a> {
    media_type: &'a str,
    digest: &'a str,
    size: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Manifest<'a> {
    schema_version: u32,
    media_type: &'a str,
    config: Descriptor<'a>,
    layers: Vec<Descriptor<'a>>,
}

#[derive(Serialize)]
struct ConfigFile<'a> {
    architecture: &'a str,
    os: &'a str,
    config: RunConfig<'a>,
    rootfs: RootFs<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RunConfig<'a> {
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    env: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    entrypoint: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    cmd: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    working_dir: Option<&'a str>,
}

#[derive(Serialize)]
struct RootFs<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    diff_ids: Vec<&'a str>,
}

fn config_json(config: &ImageConfig, layers: &[Layer]) -> Vec<u8> {
    let file = ConfigFile {
        architecture: host_architecture(),
        os: "linux",
        config: RunConfig { env: &config.env, entrypoint: &config.entrypoint, cmd: &config.cmd, working_dir: config.working_dir.as_deref() },
        rootfs: RootFs { kind: "layers", diff_ids: layers.iter().map(|l| l.diff_id.as_str()).collect() },
    };
    serde_json::to_vec(&file).expect("a config serializes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LayerBuilder;

    #[test]
    fn the_manifest_and_config_refer_to_the_blobs() {
        let mut layer = LayerBuilder::new();
        layer.bytes("/hello", &b"hi"[..], 0o644).unwrap();
        let layer = layer.build().unwrap();
        let config = ImageConfig { cmd: vec!["/hello".into()], env: vec!["PATH=/bin".into()], ..Default::default() };
        let image = Image::new(&config, vec![layer.clone()]);
        let manifest: serde_json::Value = serde_json::from_slice(&image.manifest().data).unwrap();
        assert_eq!(manifest["mediaType"], MANIFEST_MEDIA_TYPE);
        assert_eq!(manifest["config"]["digest"], image.config().digest.as_str());
        assert_eq!(manifest["config"]["size"], image.config().size());
        assert_eq!(manifest["layers"][0]["digest"], layer.blob.digest.as_str());
        assert_eq!(manifest["layers"][0]["mediaType"], LAYER_MEDIA_TYPE);
        let config: serde_json::Value = serde_json::from_slice(&image.config().data).unwrap();
        assert_eq!(config["os"], "linux");
        assert_eq!(config["architecture"], host_architecture());
        assert_eq!(config["rootfs"]["diff_ids"][0], layer.diff_id.as_str());
        assert_eq!(config["config"], serde_json::json!({"Env": ["PATH=/bin"], "Cmd": ["/hello"]}));
        assert_eq!(*image.digest(), Digest::of(&image.manifest().data));
    }
}
