//! Arguments of `ferry verify` and the settings resolved from them.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use ferry_cluster::ConnectOptions;

use super::ToClusterArgs;
use super::moving::{ArchiveArgs, ArchiveSettings, SourceArgs, SourceSettings, SummaryFormat, TransformOpts, TransformSettings};
use crate::error::CliError;

pub(super) const VERIFY_EXAMPLES: &str = "\
Examples:
  ferry verify --context old-aks --to-context new-ck8s -n shop --rules ferry.yaml
  ferry verify --from shop.ferry --to-context new-ck8s --rules ferry.yaml --wait 5m -o json

Three-way comparison after a migration: what the source holds (live, or the archive),
what the transformation makes of it for the target (the same transform `ferry apply`
runs: the target's version and the rules), and what the target holds, all in the normal
form of `ferry transform` (uids, status, allocated cluster IPs and node ports removed), so
that transformed fields and defaults the target's server filled in are explained. Every
other difference is a finding with its field path; Secret values are masked. Then the
target's runtime readiness: workloads' replicas ready and updated, Jobs complete,
Services with ready endpoints, claims Bound, Ingresses admitted (when a status exists).

Exit codes:
  0  parity and everything ready: the cut-over may go ahead
  1  ferry could not run (cluster unreachable, archive corrupt, invalid rules or evidence)
  2  wrong command line
  3  unexpected differences (missing, changed or untransformed objects, objects that cannot
     go to the target or cannot be read there, failed evidence)
  4  the source could not be read completely: the verification is incomplete
  6  at parity, but something on the target is not ready (after --wait, if given)";

/// Arguments of `ferry verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Read the source from this archive instead of a cluster (a file, a dir/ or s3://bucket/key).
    #[arg(long, value_name = "SRC", conflicts_with_all = ["context", "include", "exclude", "include_generated"])]
    pub from: Option<String>,
    #[command(flatten)]
    pub to: ToClusterArgs,
    #[command(flatten)]
    pub transform: TransformOpts,
    /// Poll readiness until everything is ready or DURATION (`90s`, `5m`, `1h`, seconds) has passed.
    #[arg(long, value_name = "DURATION")]
    pub wait: Option<String>,
    /// Evidence files of other steps (ferry.dev/v1alpha1 Evidence; repeat for several).
    #[arg(long, value_name = "FILE")]
    pub evidence: Vec<PathBuf>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = SummaryFormat::Table)]
    pub output: SummaryFormat,
    #[command(flatten)]
    pub archive: ArchiveArgs,
}

/// Where `ferry verify` and `ferry preflight` read the source.
#[derive(Debug)]
pub enum SourceInput {
    /// A live cluster, read as `ferry export` reads it.
    Cluster(SourceSettings),
    /// An archive, limited to the objects in scope (`-n`, with the cluster-scoped objects, and `-l`).
    Archive {
        /// The archive.
        from: String,
        /// `-n` and `-l`.
        scope: ferry_analysis::Scope,
    },
}

/// `ferry verify`, resolved.
#[derive(Debug)]
pub struct VerifyCommand {
    /// The source.
    pub source: SourceInput,
    /// The target's kubeconfig and context.
    pub target: ConnectOptions,
    /// Rules and version.
    pub transform: TransformSettings,
    /// How long to wait for readiness (zero: check once).
    pub wait: Duration,
    /// Evidence files.
    pub evidence: Vec<PathBuf>,
    /// Report format.
    pub output: SummaryFormat,
    /// Key and S3 settings.
    pub archive: ArchiveSettings,
}

impl VerifyCommand {
    /// Validates the arguments.
    pub fn resolve(args: VerifyArgs) -> Result<VerifyCommand, CliError> {
        let target = args.to.connect(args.source.cluster.kubeconfig.as_ref());
        let wait = args.wait.as_deref().map(|wait| super::parse_duration("--wait", wait)).transpose()?.unwrap_or_default();
        let source = match args.from {
            Some(from) => SourceInput::Archive { from, scope: args.source.scope.scope()? },
            None => SourceInput::Cluster(SourceSettings::resolve(args.source, 8)),
        };
        Ok(VerifyCommand {
            source,
            target,
            transform: TransformSettings::resolve(args.transform)?,
            wait,
            evidence: args.evidence,
            output: args.output,
            archive: ArchiveSettings::resolve(args.archive),
        })
    }
}
