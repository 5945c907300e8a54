//! What the commands share about clusters: the async runtime, connecting with
//! errors written for users, and reading a source cluster into an export selection.

use std::pin::pin;

use ferry_cluster::export::{Selection, select};
use ferry_cluster::{ClusterError, ConnectOptions, Connection, Discovery, Failure, Resource};
use ferry_model::RawObject;
use futures::StreamExt as _;

use crate::args::SourceSettings;
use crate::error::CliError;
use crate::progress::ReadBar;

/// A multi-threaded runtime for the cluster commands.
pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| CliError::failure("cannot start the async runtime", &e))
}

/// Connects, or says why not (never showing credentials).
pub async fn connect(options: &ConnectOptions) -> Result<Connection, CliError> {
    ferry_cluster::connect(options).await.map_err(|e| cluster_error(&e, options))
}

/// Discovers, or says why not.
pub async fn discover(connection: &Connection, options: &ConnectOptions) -> Result<Discovery, CliError> {
    ferry_cluster::discover(connection).await.map_err(|e| cluster_error(&e, options))
}

/// A cluster that cannot be read at all, explained for the user; credentials are never shown.
pub fn cluster_error(error: &ClusterError, connect: &ConnectOptions) -> CliError {
    let context = connect.context.as_deref().map_or_else(|| "the current context".to_owned(), |c| format!("context `{c}`"));
    match error {
        ClusterError::Kubeconfig(_) => CliError::failure("cannot use the kubeconfig", error)
            .with_hint("check `--kubeconfig`/`KUBECONFIG` and `--context` (list contexts with `kubectl config get-contexts`)"),
        ClusterError::Request(e) if e.is_unreachable() => CliError::failure(format!("cannot reach the API server of {context}"), error)
            .with_hint("check the network path to the server (VPN, proxy, firewall) and that the context points at the right cluster"),
        ClusterError::Request(e) if e.is_unauthorized() => CliError::failure(format!("the API server of {context} rejected the credentials"), error)
            .with_hint("refresh the credentials (token, certificate or exec plugin login) and retry"),
        ClusterError::Request(_) => CliError::failure(format!("cannot read the cluster of {context}"), error),
    }
}

/// Lists, for the user, what could not be read (forbidden resources, groups that did not answer).
pub fn unreadable(discovery: &Discovery, failures: &[Failure]) -> Vec<String> {
    let groups = discovery.failures.iter().map(|f| format!("API group not read: {f}"));
    let lists = failures.iter().map(|f| {
        let scope = f.namespace.as_deref().map(|ns| format!(" in namespace `{ns}`")).unwrap_or_default();
        let why = if f.error.is_forbidden() { "forbidden for this user" } else { "could not be listed" };
        format!("`{}`{scope} {why}: {}", f.resource, f.error.message)
    });
    groups.chain(lists).collect()
}

/// A source cluster, read and filtered for export.
pub struct SourceRead {
    /// The source connection.
    pub connection: Connection,
    /// The objects to move, as the server sent them.
    pub selection: Selection<RawObject>,
    /// What could not be read.
    pub unreadable: Vec<String>,
}

/// Reads the source cluster (with a progress bar) and selects what to export.
pub async fn read_source(settings: &SourceSettings) -> Result<SourceRead, CliError> {
    let connection = connect(&settings.connect).await?;
    let discovery = discover(&connection, &settings.connect).await?;
    let bar = ReadBar::stderr();
    let keep = |_: &Resource, objects: Vec<RawObject>| objects;
    let (mut objects, mut failures) = (Vec::new(), Vec::new());
    {
        let mut lists = pin!(ferry_cluster::read_raw(&connection, &discovery, &settings.read, &bar, &keep));
        while let Some(list) = lists.next().await {
            match list.pages {
                Ok(pages) => objects.extend(pages.into_iter().flatten()),
                Err(failure) => failures.push(failure),
            }
        }
    }
    bar.finish();
    let unreadable = unreadable(&discovery, &failures);
    let generated: Vec<bool> = ferry_analysis::generated(&objects).iter().map(Option::is_some).collect();
    let selection = select(objects, &generated, &discovery, &settings.filter);
    Ok(SourceRead { connection, selection, unreadable })
}
