//! Pushing an image to a registry through the OCI distribution API (the `oci-client` crate):
//! each blob is checked with HEAD and uploaded only if missing, then the manifest is put by tag.

use std::net::IpAddr;
use std::time::Duration;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::{Client, Reference, RegistryOperation};

use crate::error::Error;
use crate::{Blob, Credentials, Digest, Image, ImageRef};

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// The full reference pushed, `REGISTRY/REPOSITORY:TAG`.
    pub reference: String,
    /// The manifest's digest.
    pub digest: Digest,
    /// Bytes uploaded: the blobs that were missing and the manifest.
    pub bytes_sent: u64,
    /// Blobs uploaded (the config and layers the registry did not have).
    pub blobs_sent: usize,
    /// Blobs the registry already had, not uploaded again.
    pub blobs_skipped: usize,
}

impl Pushed {
    /// The reference pinned to the pushed manifest, `REGISTRY/REPOSITORY:TAG@sha256:…`.
    pub fn pinned(&self) -> String {
        format!("{}@{}", self.reference, self.digest)
    }
}

/// Pushes `image` to `reference` (`REGISTRY/REPOSITORY[:TAG]`, tag `latest` if none): blobs the
/// registry lacks are uploaded, then the manifest is put by tag. Plain HTTP is used for loopback
/// registries (`localhost`, 127.0.0.0/8, `::1`) only, HTTPS otherwise.
pub async fn push(image: &Image, reference: &str, credentials: &Credentials) -> Result<Pushed, Error> {
    let target = parse_reference(reference)?;
    let registry = target.resolve_registry().to_owned();
    let client = client(&registry)?;
    let failed = |action: String| {
        let registry = registry.clone();
        move |source| Error::Registry { registry, action, source }
    };
    client.auth(&target, credentials.auth(), RegistryOperation::Push).await.map_err(failed("connecting".into()))?;
    let mut pushed = Pushed { reference: full_name(&target), digest: image.digest().clone(), bytes_sent: 0, blobs_sent: 0, blobs_skipped: 0 };
    for blob in image.blobs() {
        if client.blob_exists(&target, blob.digest.as_str()).await.map_err(failed(format!("checking blob `{}`", blob.digest)))? {
            pushed.blobs_skipped += 1;
            continue;
        }
        upload(&client, &target, blob).await.map_err(failed(format!("uploading blob `{}`", blob.digest)))?;
        pushed.blobs_sent += 1;
        pushed.bytes_sent += blob.size();
    }
    let manifest = image.manifest();
    let content_type = http::HeaderValue::from_static(manifest.media_type);
    client.push_manifest_raw(&target, manifest.data.clone(), content_type).await.map_err(failed(format!("putting the manifest `{}`", manifest.digest)))?;
    pushed.bytes_sent += manifest.size();
    Ok(pushed)
}

async fn upload(client: &Client, target: &Reference, blob: &Blob) -> Result<(), OciDistributionError> {
    client.push_blob(target, blob.data.clone(), blob.digest.as_str()).await.map(drop)
}

/// A reference to push to: parsed as every reference is ([`ImageRef::parse`]), with a tag and
/// no digest.
pub(crate) fn parse_reference(reference: &str) -> Result<Reference, Error> {
    let parsed = ImageRef::parse(reference)?;
    if parsed.digest.is_some() {
        let reason = "a digest cannot be pushed to; give a tag, e.g. `registry.example.com/ferry:1`".into();
        return Err(Error::Reference { reference: reference.to_owned(), reason });
    }
    let tag = parsed.tag.unwrap_or_else(|| "latest".to_owned());
    Ok(Reference::with_tag(parsed.registry, parsed.repository, tag))
}

/// `REGISTRY/REPOSITORY:TAG` as pushed.
fn full_name(target: &Reference) -> String {
    format!("{}/{}:{}", target.registry(), target.repository(), target.tag().unwrap_or("latest"))
}

/// A client speaking plain HTTP to `registry` if it is on loopback, HTTPS otherwise.
fn client(registry: &str) -> Result<Client, Error> {
    // reqwest takes the process's default rustls provider: ring, as for the cluster client.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let protocol = if is_loopback(registry) { ClientProtocol::HttpsExcept(vec![registry.to_owned()]) } else { ClientProtocol::Https };
    let config = ClientConfig { protocol, use_monolithic_push: true, connect_timeout: Some(Duration::from_secs(10)), ..ClientConfig::default() };
    Client::try_from(config).map_err(|source| Error::Registry { registry: registry.to_owned(), action: "setting up the HTTP client".into(), source })
}

/// Whether `registry` (`HOST[:PORT]`) is `localhost`, in 127.0.0.0/8 or `::1`.
pub(crate) fn is_loopback(registry: &str) -> bool {
    if registry.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()) {
        return true;
    }
    let host = match registry.strip_prefix('[') {
        Some(rest) => rest.split_once(']').map_or(rest, |(host, _)| host),
        None => registry.rsplit_once(':').filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit())).map_or(registry, |(host, _)| host),
    };
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_registries_are_recognised() {
        for registry in ["127.0.0.1:5000", "127.3.2.1", "localhost:5000", "LOCALHOST", "[::1]:5000", "::1"] {
            assert!(is_loopback(registry), "{registry}");
        }
        for registry in ["registry.example.com", "10.0.0.1:5000", "[::2]:5000", "localhost.example.com:5000", "128.0.0.1"] {
            assert!(!is_loopback(registry), "{registry}");
        }
    }

    #[test]
    fn references_need_a_tag_not_a_digest() {
        let parsed = parse_reference("127.0.0.1:5000/ferry/mover:1").unwrap();
        assert_eq!(full_name(&parsed), "127.0.0.1:5000/ferry/mover:1");
        assert_eq!(full_name(&parse_reference("127.0.0.1:5000/ferry").unwrap()), "127.0.0.1:5000/ferry:latest");
        let digest = format!("127.0.0.1:5000/ferry@{}", Digest::of(b""));
        assert!(parse_reference(&digest).unwrap_err().to_string().contains("a digest cannot be pushed to"));
        let err = parse_reference("Not A Reference").unwrap_err().to_string();
        assert!(err.starts_with("invalid image reference `Not A Reference`: "), "{err}");
    }
}
