//! Pushing an image to a registry through the OCI distribution API (the `oci-client` crate):
//! each blob is checked with HEAD and uploaded only if missing, then the manifest is put by tag.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::time::Duration;

use base64::Engine as _;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};

use crate::error::Error;
use crate::{Blob, Digest, Image};

/// How to log in to a registry. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials(RegistryAuth);

impl Credentials {
    /// No credentials (anonymous, or a bearer token obtained without any).
    pub fn anonymous() -> Credentials {
        Credentials(RegistryAuth::Anonymous)
    }

    /// A user name and password (HTTP basic, or to obtain a bearer token).
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Credentials {
        Credentials(RegistryAuth::Basic(username.into(), password.into()))
    }

    /// The credentials Docker's `config.json` holds for `registry` (host and port, e.g.
    /// `registry.example.com:5000`): `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
    /// No file, or no entry for the registry, means anonymous.
    pub fn from_docker_config(registry: &str) -> Result<Credentials, Error> {
        match docker_config_path() {
            Some(path) if path.is_file() => Credentials::from_docker_config_file(&path, registry),
            _ => Ok(Credentials::anonymous()),
        }
    }

    /// The credentials Docker's `config.json` holds for the registry of `reference`
    /// (`REGISTRY/REPOSITORY[:TAG]`), as [`Credentials::from_docker_config`] finds them.
    pub fn for_reference(reference: &str) -> Result<Credentials, Error> {
        Credentials::from_docker_config(parse_reference(reference)?.resolve_registry())
    }

    /// The credentials in the `auths` entry for `registry` of a Docker `config.json` at `path`
    /// (its base64 `auth`, `user:password`); anonymous if there is no entry.
    pub fn from_docker_config_file(path: &Path, registry: &str) -> Result<Credentials, Error> {
        let invalid = |reason: String| Error::DockerConfig { path: path.display().to_string(), reason };
        let text = std::fs::read_to_string(path).map_err(|e| invalid(e.to_string()))?;
        let config: serde_json::Value = serde_json::from_str(&text).map_err(|e| invalid(format!("not JSON: {e}")))?;
        let Some(auths) = config.get("auths").and_then(serde_json::Value::as_object) else {
            return Ok(Credentials::anonymous());
        };
        let entry = auths.iter().find(|(key, _)| registry_of_key(key) == registry || (is_docker_hub(registry) && is_docker_hub(registry_of_key(key))));
        let Some(auth) = entry.and_then(|(_, entry)| entry.get("auth")).and_then(serde_json::Value::as_str) else {
            return Ok(Credentials::anonymous());
        };
        let decoded =
            base64::engine::general_purpose::STANDARD.decode(auth.trim()).map_err(|_| invalid(format!("the `auth` of `{registry}` is not base64")))?;
        let decoded = String::from_utf8(decoded).map_err(|_| invalid(format!("the `auth` of `{registry}` is not UTF-8")))?;
        match decoded.split_once(':') {
            Some((user, password)) => Ok(Credentials::basic(user, password)),
            None => Err(invalid(format!("the `auth` of `{registry}` is not `user:password`"))),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            RegistryAuth::Anonymous => f.write_str("Credentials(anonymous)"),
            RegistryAuth::Basic(..) | RegistryAuth::Bearer(_) => f.write_str("Credentials(<redacted>)"),
        }
    }
}

fn docker_config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG") {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker/config.json"))
}

/// The host (and port) of a `config.json` key: `https://index.docker.io/v1/` → `index.docker.io`.
fn registry_of_key(key: &str) -> &str {
    let key = key.split_once("://").map_or(key, |(_, rest)| rest);
    key.split('/').next().unwrap_or(key)
}

fn is_docker_hub(registry: &str) -> bool {
    matches!(registry, "docker.io" | "index.docker.io" | "registry-1.docker.io")
}

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
    client.auth(&target, &credentials.0, RegistryOperation::Push).await.map_err(failed("connecting".into()))?;
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

/// A reference to push to: parsed, with a tag and no digest.
fn parse_reference(reference: &str) -> Result<Reference, Error> {
    let invalid = |reason: String| Error::Reference { reference: reference.to_owned(), reason };
    let parsed = Reference::from_str(reference).map_err(|e| invalid(e.to_string()))?;
    if parsed.digest().is_some() {
        return Err(invalid("a digest cannot be pushed to; give a tag, e.g. `registry.example.com/ferry:1`".into()));
    }
    Ok(parsed)
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
fn is_loopback(registry: &str) -> bool {
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

    #[test]
    fn docker_config_auths_are_matched_by_registry_and_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        let auth = base64::engine::general_purpose::STANDARD.encode("robot:s3cret-pass");
        let text = serde_json::json!({"auths": {
            "https://index.docker.io/v1/": {"auth": auth},
            "registry.example.com:5000": {"auth": auth},
            "broken.example.com": {"auth": "!!"},
        }});
        std::fs::write(&path, text.to_string()).unwrap();
        let found = Credentials::from_docker_config_file(&path, "registry.example.com:5000").unwrap();
        assert_eq!(found, Credentials::basic("robot", "s3cret-pass"));
        assert_eq!(format!("{found:?}"), "Credentials(<redacted>)");
        assert_eq!(Credentials::from_docker_config_file(&path, "docker.io").unwrap(), Credentials::basic("robot", "s3cret-pass"));
        assert_eq!(Credentials::from_docker_config_file(&path, "other.example.com").unwrap(), Credentials::anonymous());
        let err = Credentials::from_docker_config_file(&path, "broken.example.com").unwrap_err().to_string();
        assert!(err.contains("is not base64") && !err.contains("s3cret"), "{err}");
    }
}
