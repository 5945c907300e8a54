//! Opening a cluster from a kubeconfig, with kubectl's rules.

use std::path::PathBuf;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::ClusterError;
use crate::request::get_json;

/// Which cluster to open, as kubectl's `--kubeconfig` and `--context` say it.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// A kubeconfig file; `None` means `KUBECONFIG` (a list of files, merged) or `~/.kube/config`.
    pub kubeconfig: Option<PathBuf>,
    /// A context; `None` means the kubeconfig's `current-context`.
    pub context: Option<String>,
}

/// An open cluster.
#[derive(Clone)]
pub struct Connection {
    /// The client, with ferry's bounded retries instead of kube's default ones.
    pub client: kube::Client,
    /// The context used.
    pub context: String,
    /// The API server's URL (never its credentials).
    pub server: String,
    /// The server's `gitVersion`, e.g. `v1.20.2`.
    pub server_version: String,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection").field("context", &self.context).field("server", &self.server).finish_non_exhaustive()
    }
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct VersionInfo {
    git_version: String,
}

/// How long one request to the API server may take, as kubectl's `--request-timeout` says it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RequestTimeout {
    /// ferry's own: 10 s to connect, 120 s for each read, kube's default for each write.
    #[default]
    Default,
    /// No limit (kubectl's `--request-timeout=0`).
    Unlimited,
    /// This long to connect, and for each read and each write (watches included).
    After(Duration),
}

/// Opens the cluster and checks that it answers (`GET /version`), with ferry's timeouts.
pub async fn connect(options: &ConnectOptions) -> Result<Connection, ClusterError> {
    connect_with(options, RequestTimeout::Default).await
}

/// Opens the cluster with the given timeouts for every request of the connection, and checks
/// that it answers (`GET /version`).
pub async fn connect_with(options: &ConnectOptions, timeout: RequestTimeout) -> Result<Connection, ClusterError> {
    install_crypto_provider();
    let kubeconfig = match &options.kubeconfig {
        Some(path) => Kubeconfig::read_from(path).map_err(|e| ClusterError::Kubeconfig(format!("{}: {e}", path.display())))?,
        None => Kubeconfig::read().map_err(|e| ClusterError::Kubeconfig(e.to_string()))?,
    };
    let context = resolve_context(&kubeconfig, options.context.as_deref())?;
    let kube_options = KubeConfigOptions { context: Some(context.clone()), ..Default::default() };
    let mut config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &kube_options).await.map_err(|e| ClusterError::Kubeconfig(format!("context `{context}`: {e}")))?;
    config.default_retry = false;
    match timeout {
        RequestTimeout::Default => (config.connect_timeout, config.read_timeout) = (Some(Duration::from_secs(10)), Some(Duration::from_secs(120))),
        RequestTimeout::Unlimited => (config.connect_timeout, config.read_timeout, config.write_timeout) = (None, None, None),
        RequestTimeout::After(limit) => (config.connect_timeout, config.read_timeout, config.write_timeout) = (Some(limit), Some(limit), Some(limit)),
    }
    let server = config.cluster_url.to_string().trim_end_matches('/').to_owned();
    let client = kube::Client::try_from(config).map_err(|e| ClusterError::Kubeconfig(format!("context `{context}`: {e}")))?;
    let version: VersionInfo = get_json(&client, "/version").await?;
    Ok(Connection { client, context, server, server_version: version.git_version })
}

/// The context to use: the one asked for, else `current-context`; names the available ones when it is missing.
fn resolve_context(kubeconfig: &Kubeconfig, wanted: Option<&str>) -> Result<String, ClusterError> {
    let available: Vec<&str> = kubeconfig.contexts.iter().map(|c| c.name.as_str()).collect();
    let name = match wanted.or(kubeconfig.current_context.as_deref()) {
        Some(name) => name,
        None => return Err(ClusterError::Kubeconfig(format!("no context given and no current-context set; available: {}", list(&available)))),
    };
    if available.contains(&name) {
        Ok(name.to_owned())
    } else {
        Err(ClusterError::Kubeconfig(format!("context `{name}` not found; available: {}", list(&available))))
    }
}

fn list(names: &[&str]) -> String {
    if names.is_empty() { "none".to_owned() } else { names.join(", ") }
}

/// Installs ring as the process's TLS crypto provider; idempotent. (aws-lc-rs is linked too,
/// through object_store, but its first random numbers cost ~50 ms of entropy seeding per process.)
fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
