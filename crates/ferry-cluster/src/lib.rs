//! Reading live Kubernetes clusters.
//!
//! [`connect`] opens a cluster the way kubectl does (kubeconfig files and
//! `KUBECONFIG` lists, contexts, tokens, client certificates, exec plugins, CA
//! data, the insecure flag). [`discover`] finds every listable resource with
//! its preferred version and keeps going past broken API groups. [`read`]
//! lists them all, paginated, with bounded concurrency and bounded retries,
//! into the same [`ferry_model::Object`]s the manifest loader produces, so the
//! analysis does not care where objects came from.
//!
//! This crate never prints: progress goes to a [`Progress`] reporter and
//! partial failures (a forbidden resource, an unreachable API group) come back
//! as data with the objects that could be read. [`pod::run_to_end`] runs a short-lived Pod
//! (the preflight's probe) and reads how it ended.

pub mod apply;
mod connect;
mod discovery;
pub mod export;
pub mod fetch;
pub mod pod;
mod read;
mod request;
mod resources;

pub use connect::{ConnectOptions, Connection, RequestTimeout, connect, connect_with};
pub use discovery::{Discovery, Resource, discover};
pub use read::{Failure, Listed, Progress, ReadOptions, Snapshot, read, read_raw};
pub use request::{Cause, RequestError};

/// Why a cluster could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The kubeconfig could not be read or names no usable context.
    #[error("kubeconfig: {0}")]
    Kubeconfig(String),
    /// The API server did not answer or refused the credentials.
    #[error(transparent)]
    Request(#[from] RequestError),
}
