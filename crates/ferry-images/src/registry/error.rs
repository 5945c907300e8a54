//! Why a registry request failed, written for users. Never holds credentials, tokens or
//! `Authorization` headers: only the registry host, what was being done and the outcome.

use std::fmt;

/// A registry request that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("registry `{registry}`: {action}: {problem}")]
pub struct RegistryError {
    /// The registry host (and port).
    pub registry: String,
    /// What was being done, e.g. "reading the manifest `shop/web:1`".
    pub action: String,
    /// What went wrong.
    pub problem: Problem,
}

/// What went wrong with a registry request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// No connection (refused, TLS failure, time-out), after the retries.
    Unreachable(String),
    /// The registry refused the credentials (or asked for some and none were given).
    Unauthorized {
        /// Whether credentials were sent.
        had_credentials: bool,
    },
    /// The credentials are valid but may not do this (HTTP 403).
    Denied,
    /// The repository, manifest or blob does not exist.
    NotFound,
    /// Any other answer the request did not expect.
    Status {
        /// The HTTP status.
        status: u16,
        /// The registry's error code and message, if it sent the distribution API's error body.
        detail: String,
    },
    /// Content whose SHA-256 is not the digest it was asked for or announced with.
    DigestMismatch {
        /// The digest expected.
        expected: String,
        /// The digest of what arrived.
        actual: String,
    },
    /// Something the copy refuses or cannot read (an unsupported digest algorithm or manifest).
    Unsupported(String),
}

impl Problem {
    /// Whether trying again may succeed: a broken connection, a rate limit or a server error.
    pub fn is_transient(&self) -> bool {
        match self {
            Problem::Unreachable(_) => true,
            Problem::Status { status, .. } => *status == 429 || (500..=504).contains(status),
            _ => false,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Unreachable(reason) => write!(f, "cannot reach the registry: {reason}"),
            Problem::Unauthorized { had_credentials: true } => f.write_str("the registry refused the credentials (HTTP 401)"),
            Problem::Unauthorized { had_credentials: false } => f.write_str("the registry asks for credentials and none were found (HTTP 401)"),
            Problem::Denied => f.write_str("access denied (HTTP 403)"),
            Problem::NotFound => f.write_str("not found (HTTP 404)"),
            Problem::Status { status, detail } if detail.is_empty() => write!(f, "unexpected answer HTTP {status}"),
            Problem::Status { status, detail } => write!(f, "unexpected answer HTTP {status}: {detail}"),
            Problem::DigestMismatch { expected, actual } => write!(f, "content has digest `{actual}`, expected `{expected}`; refusing it"),
            Problem::Unsupported(what) => f.write_str(what),
        }
    }
}
