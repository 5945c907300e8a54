//! Arguments of `ferry certs` and the settings resolved from them.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use ferry_cluster::ConnectOptions;

use super::{Objects, ObjectsArgs};
use crate::error::CliError;

pub(super) const CERTS_EXAMPLES: &str = "\
Examples:
  ferry certs --context old-aks -n shop --cutover-at 2026-03-01T22:00:00Z
  ferry certs --context old-aks --to-context new-ck8s -n shop      # after `ferry migrate`
  ferry certs -f manifests/ --ca-bundle /etc/ssl/certs/ca-certificates.crt -o json
  ferry certs --from shop.ferry --cutover-at 2026-03-01T22:00:00Z

Checks every TLS Secret, cert-manager Certificate, Issuer and ClusterIssuer and the
Ingresses that use them, so that certificates move to the target without being issued
again: expiry and cert-manager's renewal time against the cut-over, key against
certificate (PKCS#1, PKCS#8, SEC1), chain order and signatures, Ingress hosts, the
Secret's cert-manager issuer annotations, the issuers' Secrets, HTTP-01 solvers, and the
new ACME orders any re-issuance would place (Let's Encrypt: 5 per week per name set).
With --to-context, the target's TLS Secrets must hold the same bytes (compared by digest).
Certificate bodies and keys are never printed.

Exit codes:
  0  nothing failing
  1  ferry could not run (unreadable path, archive or cluster, bad --ca-bundle file)
  2  wrong command line
  3  failing findings (expired at the cut-over, key mismatch, re-issuance, ...)
  4  some input could not be read, so the check is incomplete (takes precedence over 3)";

/// Output of `ferry certs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CertsFormat {
    /// Certificates, findings and projected orders, for a terminal.
    Table,
    /// JSON, schema `ferry.certs/v1`.
    Json,
    /// `secret/NAME` of every TLS Secret checked, one a line (as `kubectl get -o name`).
    Name,
}

/// Arguments of `ferry certs`.
#[derive(Debug, Args)]
pub struct CertsArgs {
    #[command(flatten)]
    pub objects: ObjectsArgs,
    /// Also compare the target's TLS Secrets with the source's (same bytes, by digest).
    #[arg(long, value_name = "NAME")]
    pub to_context: Option<String>,
    /// The target's kubeconfig file (default: the source's).
    #[arg(long, value_name = "FILE", requires = "to_context")]
    pub to_kubeconfig: Option<PathBuf>,
    /// When traffic moves to the target, RFC 3339 (default: now).
    #[arg(long, value_name = "RFC3339")]
    pub cutover_at: Option<String>,
    /// Trusted CA certificates (PEM) that chains may end at.
    #[arg(long, value_name = "FILE")]
    pub ca_bundle: Option<PathBuf>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = CertsFormat::Table)]
    pub output: CertsFormat,
}

/// `ferry certs`, resolved.
#[derive(Debug)]
pub struct CertsSettings {
    /// The source's objects.
    pub objects: Objects,
    /// The target to compare with.
    pub target: Option<ConnectOptions>,
    /// The cut-over, in seconds since the epoch.
    pub cutover: i64,
    /// The CA bundle file.
    pub ca_bundle: Option<PathBuf>,
    /// Output format.
    pub format: CertsFormat,
}

impl CertsSettings {
    /// Validates the arguments.
    pub fn resolve(args: CertsArgs) -> Result<CertsSettings, CliError> {
        let cutover = match &args.cutover_at {
            Some(text) => text.parse::<jiff::Timestamp>().map_err(|e| {
                CliError::usage(format!("invalid `--cutover-at` `{text}`: {e}"), Some("use RFC 3339, e.g. `--cutover-at 2026-03-01T22:00:00Z`".into()))
            })?,
            None => jiff::Timestamp::now(),
        };
        let target = args
            .to_context
            .map(|context| ConnectOptions { kubeconfig: args.to_kubeconfig.or_else(|| args.objects.kubeconfig.clone()), context: Some(context) });
        Ok(CertsSettings { objects: Objects::resolve(args.objects), target, cutover: cutover.as_second(), ca_bundle: args.ca_bundle, format: args.output })
    }
}
