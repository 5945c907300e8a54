//! Registries spoken to through the OCI distribution API by a small client of ferry's own on
//! `reqwest` (see `client.rs` for why not `oci-client`): image references, the options that
//! govern every registry of a run (credentials file, CA bundle, plain HTTP, concurrency,
//! retries), and one [`Registry`] per host, made on first use and shared.

mod auth;
mod client;
mod error;
mod reference;

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use client::Behaviour;
pub(crate) use client::Upload;
pub use client::{Found, MANIFEST_TYPES, Registry};
pub use error::{Problem, RegistryError};

use crate::{Credentials, Error};

/// An image reference split into its parts, Docker Hub's short forms completed
/// (`nginx:1.25` is `docker.io/library/nginx:1.25`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageRef {
    /// The registry as written (`docker.io` for Docker Hub).
    pub registry: String,
    /// The repository, e.g. `library/nginx`.
    pub repository: String,
    /// The tag, if one was given.
    pub tag: Option<String>,
    /// The digest, if one was given.
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parses a reference as Kubernetes and Docker read it.
    pub fn parse(text: &str) -> Result<ImageRef, Error> {
        let invalid = |reason: String| Error::Reference { reference: text.to_owned(), reason };
        reference::parse(text).map_err(invalid)
    }

    /// The host to send API requests to (Docker Hub's is `registry-1.docker.io`).
    pub fn api_host(&self) -> &str {
        if matches!(self.registry.as_str(), "docker.io" | "index.docker.io") { "registry-1.docker.io" } else { &self.registry }
    }

    /// What to ask the registry for: the digest if there is one, else the tag (`latest` if none).
    pub fn reference(&self) -> &str {
        self.digest.as_deref().or(self.tag.as_deref()).unwrap_or("latest")
    }

    /// The same repository, pinned to `digest` (the tag kept for readers).
    pub fn pinned(&self, digest: &str) -> ImageRef {
        ImageRef { digest: Some(digest.to_owned()), ..self.clone() }
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// What governs every registry of a run.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// Docker's `config.json` to read credentials from (default: `$DOCKER_CONFIG/config.json`,
    /// else `~/.docker/config.json`).
    pub docker_config: Option<PathBuf>,
    /// Credentials given in code per registry host, before the `config.json`'s.
    pub credentials: Vec<(String, Credentials)>,
    /// PEM certificates trusted besides the system's.
    pub ca_bundle: Option<PathBuf>,
    /// Registry hosts that may be spoken to over plain HTTP besides loopback ones.
    pub plain_http: Vec<String>,
    /// Blob transfers in flight per registry (twice as many small requests).
    pub concurrency: usize,
    /// Tries per request, the first included.
    pub attempts: u32,
    /// The first wait before a retry; doubled each time.
    pub first_backoff: Duration,
    /// The longest wait before a retry, `Retry-After` included.
    pub max_wait: Duration,
}

impl Default for RegistryOptions {
    fn default() -> RegistryOptions {
        RegistryOptions {
            docker_config: None,
            credentials: Vec::new(),
            ca_bundle: None,
            plain_http: Vec::new(),
            concurrency: 8,
            attempts: 5,
            first_backoff: Duration::from_millis(500),
            max_wait: Duration::from_secs(60),
        }
    }
}

/// The registries of a run, one [`Registry`] per host.
pub struct Registries {
    options: RegistryOptions,
    http: reqwest::Client,
    clients: Mutex<HashMap<String, Arc<Registry>>>,
}

impl Registries {
    /// Reads the CA bundle and builds the HTTP client the registries share.
    pub fn new(options: RegistryOptions) -> Result<Registries, Error> {
        // reqwest takes the process's default rustls provider: ring, as for the cluster client.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder().connect_timeout(Duration::from_secs(10)).read_timeout(Duration::from_secs(120));
        if let Some(path) = &options.ca_bundle {
            let what = format!("reading the CA bundle `{}`", path.display());
            let pem = std::fs::read(path).map_err(crate::error::io_err(what.clone()))?;
            let certificates = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| Error::Io { what: what.clone(), source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()) })?;
            builder = builder.tls_certs_merge(certificates);
        }
        let http = builder.build().map_err(|e| Error::Io { what: "setting up the HTTP client".into(), source: std::io::Error::other(e.to_string()) })?;
        Ok(Registries { options, http, clients: Mutex::new(HashMap::new()) })
    }

    /// The registry at `host` (an API host, see [`ImageRef::api_host`]); its credentials are
    /// read on first use.
    pub fn get(&self, host: &str) -> Result<Arc<Registry>, Error> {
        let mut clients = self.clients.lock().expect("not poisoned");
        if let Some(client) = clients.get(host) {
            return Ok(client.clone());
        }
        let credentials = match self.options.credentials.iter().find(|(h, _)| h == host) {
            Some((_, credentials)) => credentials.clone(),
            None => Credentials::from_docker_config_at(self.options.docker_config.as_deref(), credentials_key(host))?,
        };
        let behaviour = Behaviour {
            attempts: self.options.attempts.max(1),
            first_backoff: self.options.first_backoff,
            max_wait: self.options.max_wait,
            plain_http_allowed: crate::push::is_loopback(host) || self.options.plain_http.iter().any(|h| h == host),
        };
        let client = Arc::new(Registry::new(host.to_owned(), self.http.clone(), credentials, behaviour, self.options.concurrency));
        clients.insert(host.to_owned(), client.clone());
        Ok(client)
    }

    /// Requests sent to each registry so far, by host.
    pub fn requests(&self) -> Vec<(String, u64)> {
        let mut counts: Vec<(String, u64)> = self.clients.lock().expect("not poisoned").values().map(|r| (r.host().to_owned(), r.requests())).collect();
        counts.sort();
        counts
    }
}

/// The `config.json` key of an API host (Docker Hub's credentials sit under `docker.io`).
fn credentials_key(host: &str) -> &str {
    if host == "registry-1.docker.io" { "docker.io" } else { host }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_completed_like_docker_does() {
        let nginx = ImageRef::parse("nginx:1.25").unwrap();
        assert_eq!((nginx.registry.as_str(), nginx.repository.as_str(), nginx.reference()), ("docker.io", "library/nginx", "1.25"));
        assert_eq!(nginx.api_host(), "registry-1.docker.io");
        assert_eq!(nginx.to_string(), "docker.io/library/nginx:1.25");
        let digest = format!("sha256:{}", "a".repeat(64));
        let pinned = ImageRef::parse(&format!("127.0.0.1:5000/shop/web:2@{digest}")).unwrap();
        assert_eq!((pinned.api_host(), pinned.reference()), ("127.0.0.1:5000", digest.as_str()));
        assert_eq!(ImageRef::parse("127.0.0.1:5000/shop/web").unwrap().reference(), "latest");
        assert!(ImageRef::parse("Not A Reference").is_err());
    }
}
