//! Arguments of `ferry smoke` and the settings resolved from them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use ferry_cluster::{ConnectOptions, ReadOptions};
use ferry_smoke::Routes;
use ferry_smoke::address::{AddressError, Pin, parse_address, parse_pin};

use super::{NamespaceArgs, SummaryFormat};
use crate::error::CliError;

pub(super) const SMOKE_EXAMPLES: &str = "\
Examples:
  ferry smoke --to-context new-ck8s -n shop                              # addresses from the Ingresses' status
  ferry smoke --to-context new-ck8s --address 198.51.100.20 --compare-address 203.0.113.10
  ferry smoke --to-context new-ck8s --resolve shop.example.com:443:198.51.100.20 --checks smoke.yaml
  ferry smoke --to-context new-ck8s --address 198.51.100.20 --ca-bundle private-ca.pem -o json --out smoke-evidence.json

Sends every host and path the target's Ingresses serve over TLS, and the checks of --checks
(docs/smoke.md), to the new cluster's address with the real host name as TLS SNI and Host
header (never an IP-only handshake); checks the certificate against the host name and the
trust roots (the system's, or only --ca-bundle), the status, the expected text and, with
--compare-address/--compare-resolve, the status and body SHA-256 of the same request sent to
the old cluster. Without --address/--resolve, addresses come from the Ingresses'
status.loadBalancer, else from the one LoadBalancer Service address. --out writes evidence
that `ferry verify --evidence` takes into its verdict.

Exit codes:
  0  every request passed
  1  ferry could not run (cluster unreachable, invalid checks file or CA bundle, nothing to test)
  2  wrong command line (e.g. a malformed --address or --resolve)
  3  a request failed (wrong certificate, untrusted, expired, status, body, connection)
  4  Ingresses or Services could not be read, so the test is incomplete (takes precedence over 3)";

/// Arguments of `ferry smoke`.
#[derive(Debug, Args)]
pub struct SmokeArgs {
    /// The new cluster's kubeconfig context, whose Ingresses are tested.
    #[arg(long, value_name = "NAME")]
    pub to_context: String,
    /// Kubeconfig file (default: $KUBECONFIG or ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Namespaces of the Ingresses tested.
    #[command(flatten)]
    pub namespace: NamespaceArgs,
    /// Send every request to this address of the new cluster (port 443 unless given).
    #[arg(long, value_name = "IP[:PORT]")]
    pub address: Option<String>,
    /// Send requests for HOST to IP:PORT, like curl's --resolve (repeat); wins over --address.
    #[arg(long, value_name = "HOST:PORT:IP")]
    pub resolve: Vec<String>,
    /// Also send each request to the old cluster here, and compare status and body.
    #[arg(long, value_name = "IP[:PORT]", conflicts_with = "compare_resolve")]
    pub compare_address: Option<String>,
    /// Like --compare-address, per host (repeat).
    #[arg(long, value_name = "HOST:PORT:IP")]
    pub compare_resolve: Vec<String>,
    /// Trust only the CA certificates of this PEM file (default: the system's trust roots).
    #[arg(long, value_name = "FILE")]
    pub ca_bundle: Option<PathBuf>,
    /// User-defined checks (YAML, docs/smoke.md).
    #[arg(long, value_name = "FILE")]
    pub checks: Option<PathBuf>,
    /// Seconds each request may take (connect, TLS, answer and body).
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub timeout: u64,
    /// Requests in flight at once.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Report format.
    #[arg(short, long, value_enum, default_value_t = SummaryFormat::Table)]
    pub output: SummaryFormat,
    /// Write the evidence (JSON, `ferry verify --evidence`) to FILE.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `ferry smoke`, resolved.
#[derive(Debug)]
pub struct SmokeSettings {
    /// The new cluster.
    pub target: ConnectOptions,
    /// How its Ingresses and Services are read.
    pub read: ReadOptions,
    /// Where the new side's requests go, if given (else from the target's status).
    pub new: Routes,
    /// Where the old side's go, when compared.
    pub old: Option<Routes>,
    /// The CA bundle file.
    pub ca_bundle: Option<PathBuf>,
    /// The checks file.
    pub checks: Option<PathBuf>,
    /// Per request.
    pub timeout: Duration,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Report format.
    pub output: SummaryFormat,
    /// The evidence file.
    pub out: Option<PathBuf>,
}

impl SmokeSettings {
    /// Validates the arguments (addresses are parsed here: a malformed one is a usage error).
    pub fn resolve(args: SmokeArgs) -> Result<SmokeSettings, CliError> {
        let SmokeArgs {
            to_context,
            kubeconfig,
            namespace: NamespaceArgs { namespaces, .. },
            address,
            resolve,
            compare_address,
            compare_resolve,
            ca_bundle,
            checks,
            timeout,
            concurrency,
            output,
            out,
        } = args;
        let new = routes(address.as_deref(), "--address", &resolve, "--resolve")?;
        let old = routes(compare_address.as_deref(), "--compare-address", &compare_resolve, "--compare-resolve")?;
        Ok(SmokeSettings {
            target: ConnectOptions { kubeconfig, context: Some(to_context) },
            read: ReadOptions { namespaces, ..ReadOptions::default() },
            new,
            old: (!old.is_empty()).then_some(old),
            ca_bundle,
            checks,
            timeout: Duration::from_secs(timeout),
            concurrency: usize::from(concurrency),
            output,
            out,
        })
    }
}

/// The routes of one side's `--address`/`--resolve` style flags.
fn routes(address: Option<&str>, address_flag: &'static str, pins: &[String], pin_flag: &'static str) -> Result<Routes, CliError> {
    let usage = |e: AddressError| CliError::usage(e.to_string(), None);
    let default: Option<SocketAddr> = address.map(|a| parse_address(address_flag, a)).transpose().map_err(usage)?;
    let pins: Vec<Pin> = pins.iter().map(|p| parse_pin(pin_flag, p)).collect::<Result<_, _>>().map_err(usage)?;
    Ok(Routes::new(default, pins))
}
