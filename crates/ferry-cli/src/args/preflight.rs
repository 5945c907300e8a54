//! Arguments of `ferry preflight` and the settings resolved from them.

use std::path::PathBuf;

use clap::Args;
use ferry_cluster::ConnectOptions;
use ferry_cluster::export::ExportFilter;

use super::images::RegistryTrustArgs;
use super::moving::{ArchiveArgs, ArchiveSettings, SourceSettings, SummaryFormat, TransformOpts, TransformSettings};
use super::verify::SourceInput;
use super::{ClusterArgs, NamespaceArgs};
use crate::error::CliError;

pub(super) const PREFLIGHT_EXAMPLES: &str = "\
Examples:
  ferry preflight --context new-ck8s --from shop.ferry --rules ferry.yaml
  ferry preflight --context new-ck8s --context-from old-aks -n shop --rules ferry.yaml -o json
  ferry preflight --context new-ck8s --from shop.ferry --rules ferry.yaml --images --ca-bundle harbor-ca.pem

Read-only checks of the target before `ferry apply` or `ferry migrate`: a server-side dry
run of every transformed object (unserved API versions, missing CRDs, schema errors,
admission webhooks, quotas), the storage classes, ingress classes and CRDs the objects
need, and the version skew between source and target. With --images, each image the
transformed manifests name is looked up in its registry with the pull secret they give it
(anonymous without one, as a node without credentials of its own): it must exist, the pull
secret must open the registry, and a node's platform must be among the image's. Nothing is
written.

Exit codes:
  0  no finding of severity fail (warnings are listed)
  1  ferry could not run (cluster unreachable, archive corrupt, invalid rules)
  2  wrong command line
  3  findings of severity fail: the migration would fail or leave something broken
  4  the source could not be read completely: the check is incomplete";

/// Arguments of `ferry preflight`.
#[derive(Debug, Args)]
pub struct PreflightArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// The archive to check (a file, a dir/ or s3://bucket/key).
    #[arg(long, value_name = "SRC", required_unless_present = "context_from", conflicts_with = "context_from")]
    pub from: Option<String>,
    /// Check what this source cluster context holds instead of an archive.
    #[arg(long, value_name = "NAME")]
    pub context_from: Option<String>,
    /// The source's kubeconfig file (default: the target's).
    #[arg(long, value_name = "FILE", requires = "context_from")]
    pub kubeconfig_from: Option<PathBuf>,
    #[command(flatten)]
    pub namespace: NamespaceArgs,
    /// Only these kinds or resources of a source cluster (repeat or separate with commas).
    #[arg(long, value_name = "KIND", value_delimiter = ',', requires = "context_from")]
    pub include: Vec<String>,
    /// Never these kinds or resources of a source cluster.
    #[arg(long, value_name = "KIND", value_delimiter = ',', requires = "context_from")]
    pub exclude: Vec<String>,
    #[command(flatten)]
    pub transform: TransformOpts,
    /// Also check each image in its registry: it exists, the pull secret the objects give it opens the registry, it runs on a node's platform.
    #[arg(long)]
    pub images: bool,
    #[command(flatten)]
    pub registries: RegistryTrustArgs,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = SummaryFormat::Table)]
    pub output: SummaryFormat,
    #[command(flatten)]
    pub archive: ArchiveArgs,
}

/// `ferry preflight`, resolved.
#[derive(Debug)]
pub struct PreflightCommand {
    /// The objects to check.
    pub source: SourceInput,
    /// The target's kubeconfig and context.
    pub target: ConnectOptions,
    /// Rules and version.
    pub transform: TransformSettings,
    /// Report format.
    pub output: SummaryFormat,
    /// Key and S3 settings.
    pub archive: ArchiveSettings,
    /// How to reach the images' registries, when they are checked (`--images`).
    pub images: Option<ferry_images::RegistryOptions>,
}

impl PreflightCommand {
    /// Validates the arguments.
    pub fn resolve(args: PreflightArgs) -> Result<PreflightCommand, CliError> {
        let PreflightArgs {
            cluster: ClusterArgs { context, kubeconfig },
            from,
            context_from,
            kubeconfig_from,
            namespace: NamespaceArgs { namespaces, .. },
            include,
            exclude,
            transform,
            images,
            registries,
            output,
            archive,
        } = args;
        let source = match from {
            Some(from) => SourceInput::Archive { from, namespaces },
            None => SourceInput::Cluster(SourceSettings {
                connect: ConnectOptions { kubeconfig: kubeconfig_from.or_else(|| kubeconfig.clone()), context: context_from },
                read: ferry_cluster::ReadOptions { namespaces: namespaces.clone(), ..Default::default() },
                filter: ExportFilter { namespaces, include, exclude, include_generated: false },
            }),
        };
        Ok(PreflightCommand {
            source,
            target: ConnectOptions { kubeconfig, context },
            transform: TransformSettings::resolve(transform)?,
            output,
            archive: ArchiveSettings::resolve(archive),
            images: images.then(|| registries.options()),
        })
    }
}
