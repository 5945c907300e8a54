//! What the commands share about clusters: the async runtime, connecting with
//! errors written for users, and reading a source cluster, choosing what to export as
//! each page arrives.

use std::pin::pin;
use std::sync::OnceLock;

use ferry_analysis::{Provenance, Verdict};
use ferry_cluster::export::{Choice, ExportFilter};
use ferry_cluster::{ClusterError, ConnectOptions, Connection, Discovery, Failure, RequestTimeout, Resource};
use ferry_model::RawObject;
use futures::StreamExt as _;

use crate::args::SourceSettings;
use crate::error::CliError;
use crate::progress::ReadBar;

/// A multi-threaded runtime for the cluster commands.
pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| CliError::failure("cannot start the async runtime", &e))
}

/// `--request-timeout`: like kubectl's, one flag for the whole process, set once from the command
/// line before any command runs ([`set_request_timeout`]) and applied to every connection.
static REQUEST_TIMEOUT: OnceLock<RequestTimeout> = OnceLock::new();

/// Sets the request timeout of every connection this process opens (the first call wins).
pub fn set_request_timeout(timeout: RequestTimeout) {
    let _ = REQUEST_TIMEOUT.set(timeout);
}

/// Connects, or says why not (never showing credentials).
pub async fn connect(options: &ConnectOptions) -> Result<Connection, CliError> {
    let timeout = REQUEST_TIMEOUT.get().copied().unwrap_or_default();
    ferry_cluster::connect_with(options, timeout).await.map_err(|e| cluster_error(&e, options))
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
            .with_hint("check the network path to the server (VPN, proxy, firewall) and that the context points at the right cluster; a slow server may need a longer `--request-timeout`"),
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

/// A source cluster, connected and discovered.
pub struct Source {
    /// The source connection.
    pub connection: Connection,
    /// What it serves.
    pub discovery: Discovery,
}

/// Connects to the source cluster and discovers it.
pub async fn open_source(settings: &SourceSettings) -> Result<Source, CliError> {
    let connection = connect(&settings.connect).await?;
    let discovery = discover(&connection, &settings.connect).await?;
    Ok(Source { connection, discovery })
}

/// Objects chosen for export together, with the resources they were read through.
pub type Chosen<'a> = Vec<(RawObject, &'a Resource)>;

/// What reading the source left out, and what it could not read.
pub struct SourceRead {
    /// Objects left out as made by Kubernetes.
    pub generated: usize,
    /// Objects left out by the kind and namespace filters.
    pub filtered: usize,
    /// What could not be read, for the user.
    pub unreadable: Vec<String>,
}

/// Reads the source cluster (with a progress bar), choosing what to export as each page
/// arrives: `make` turns the objects chosen from a page into something at once (an archive
/// batch, say), while later lists are still being read; `take` gets what `make` made in
/// discovery order, then what it made of the objects that could only be chosen once everything
/// was read. Reading stops when `take` says no.
pub async fn read_source<'a, U>(
    source: &'a Source,
    settings: &'a SourceSettings,
    make: &(impl Fn(Chosen<'a>) -> U + 'a),
    mut take: impl FnMut(U) -> bool,
) -> SourceRead {
    let filter = &settings.filter;
    let bar = ReadBar::stderr();
    let page = |resource, objects| {
        let mut part = Part::new(filter);
        let chosen = part.choose(objects, resource);
        (make(chosen), part)
    };
    let (mut whole, mut failures, mut taking) = (Part::new(filter), Vec::new(), true);
    {
        let mut lists = pin!(ferry_cluster::read_raw(&source.connection, &source.discovery, &settings.read, &bar, &page));
        while taking && let Some(list) = lists.next().await {
            match list.pages {
                Ok(pages) => {
                    for (made, part) in pages {
                        whole.merge(part);
                        taking = taking && take(made);
                    }
                }
                Err(failure) => failures.push(failure),
            }
        }
    }
    bar.finish();
    let Part { mut choice, provenance, awaiting, .. } = whole;
    if taking {
        let decided = awaiting.into_iter().filter_map(|(object, resource)| {
            let generated = provenance.decide(&object).is_some();
            choice.offer(object, resource, generated).map(|object| (object, resource))
        });
        taking = take(make(decided.collect()));
    }
    let last = choice.finish();
    if taking {
        take(make(last.objects));
    }
    SourceRead { generated: last.generated, filtered: last.filtered, unreadable: unreadable(&source.discovery, &failures) }
}

/// The choices made on some of the objects read (a page, or all so far).
struct Part<'a> {
    /// Whether what made an object matters (not with --include-generated).
    judged: bool,
    choice: Choice<'a, RawObject>,
    provenance: Provenance,
    /// Objects named like a Service's endpoints, chosen once every Service has been read.
    awaiting: Chosen<'a>,
}

impl<'a> Part<'a> {
    fn new(filter: &'a ExportFilter) -> Self {
        Part { judged: !filter.include_generated, choice: Choice::new(filter), provenance: Provenance::default(), awaiting: Vec::new() }
    }

    /// Offers objects read through `resource`; returns those chosen at once.
    fn choose(&mut self, objects: Vec<RawObject>, resource: &'a Resource) -> Chosen<'a> {
        let mut chosen = Vec::new();
        for object in objects {
            let verdict = if self.judged { self.provenance.judge(&object) } else { Verdict::Known(None) };
            match verdict {
                Verdict::Known(generated) => chosen.extend(self.choice.offer(object, resource, generated.is_some()).map(|object| (object, resource))),
                Verdict::AwaitsServices => self.awaiting.push((object, resource)),
            }
        }
        chosen
    }

    /// Adds the choices made on the objects that follow.
    fn merge(&mut self, later: Part<'a>) {
        self.choice.merge(later.choice);
        self.provenance.merge(later.provenance);
        self.awaiting.extend(later.awaiting);
    }
}
