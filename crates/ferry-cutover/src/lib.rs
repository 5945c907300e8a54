//! Traffic cut-over from the old cluster to the new one (`ferry cutover`, issue 17).
//!
//! A [`Plan`] names a [`Driver`] (PowerDNS weighted records, HAProxy server weights, or a switch
//! of DNS records by RFC 2136 update), the steps (percent of the traffic on the new side), how
//! long each bakes and the health gates evaluated meanwhile. [`Cutover`] runs it: the TTL lowered first, each step's weights set,
//! the gates evaluated every interval, the last good weights restored when a gate fails, the
//! old side watched for residual traffic at the end. A [`Journal`] records every change before
//! and after it is made, so a killed run is resumed or rolled back.

pub mod driver;
pub mod gate;
pub mod journal;
pub mod plan;
pub mod requires;
pub mod run;

use std::path::PathBuf;

pub use driver::{Driver, Residual, Weights};
pub use journal::{Journal, Record};
pub use plan::Plan;
pub use run::{Cutover, Event, Mode, Outcome, Report, TIMELINE_FORMAT};

/// Why a cut-over could not run. Messages never contain an API key.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The plan is invalid.
    #[error("invalid plan: {0}")]
    Plan(String),
    /// The driver could not read or change the traffic switch.
    #[error("{0}")]
    Driver(String),
    /// A precondition of the plan's `requires` does not hold: nothing was changed.
    #[error("{0}")]
    Precondition(String),
    /// The journal cannot be used.
    #[error("journal {}: {message}", path.display())]
    Journal {
        /// The journal's path.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// A blocking HTTP client on rustls with ring (the provider the rest of ferry installs).
pub(crate) fn http_client(builder: reqwest::blocking::ClientBuilder) -> Result<reqwest::blocking::Client, Error> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    builder.build().map_err(|e| Error::Plan(format!("HTTP client: {}", error_chain(&e))))
}

/// An error with its causes, on one line.
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}
