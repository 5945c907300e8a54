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
  ferry preflight --context new-ck8s --from shop.ferry --probe-endpoints --probe db.corp.internal:5432

Read-only checks of the target before `ferry apply` or `ferry migrate`: a server-side dry
run of every transformed object (unserved API versions, missing CRDs, schema errors,
admission webhooks, quotas), the storage classes, ingress classes and CRDs the objects
need, and the version skew between source and target. With --images, each image the
transformed manifests name is looked up in its registry with the pull secret they give it
(anonymous without one, as a node without credentials of its own): it must exist, the pull
secret must open the registry, and a node's platform must be among the image's. With
--probe-endpoints (or --probe HOST:PORT), one short-lived Pod on the target (image
--probe-image, which needs sh, nc and timeout, e.g. busybox) tries a TCP connection to each
external endpoint the objects use and to each --probe, and each answers reachable (info) or
not (fail); the Pod is deleted afterwards. Nothing else is written; without those flags,
nothing at all.

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
    /// Try a TCP connection to each external endpoint the objects use from a short-lived Pod on the target (the only thing preflight creates; it is deleted).
    #[arg(long)]
    pub probe_endpoints: bool,
    /// Also try this endpoint from the probe Pod (repeat; implies the probe): what the manifests do not show, e.g. a database named in a connection string.
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_host_port)]
    pub probe: Vec<(String, u16)>,
    /// The probe Pod's image: it needs `sh`, `nc` and `timeout`.
    #[arg(long, value_name = "IMAGE", default_value = ferry_verify::preflight::endpoints::PROBE_IMAGE)]
    pub probe_image: String,
    /// The probe Pod's namespace.
    #[arg(long, value_name = "NAMESPACE", default_value = "default")]
    pub probe_namespace: String,
    /// Run the probe Pod on the node's network instead of the Pod network (where the workloads will not run as hostNetwork, leave this off).
    #[arg(long)]
    pub probe_host_network: bool,
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
    /// The probe of the external endpoints, when asked for.
    pub probe: Option<ProbeSettings>,
}

/// How `--probe-endpoints` runs.
#[derive(Debug, Clone)]
pub struct ProbeSettings {
    /// Endpoints given with `--probe`, besides those the objects use.
    pub extra: Vec<(String, u16)>,
    /// The probe Pod's image.
    pub image: String,
    /// Its namespace.
    pub namespace: String,
    /// Whether it runs on the node's network.
    pub host_network: bool,
}

/// Reads `HOST:PORT` (`[ADDRESS]:PORT` for IPv6).
fn parse_host_port(text: &str) -> Result<(String, u16), String> {
    let (host, port) = text.rsplit_once(':').ok_or_else(|| format!("`{text}` is not HOST:PORT"))?;
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    let port = port.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| format!("`{port}` is not a TCP port (1-65535)"))?;
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(format!("`{text}` names no host"));
    }
    Ok((host.to_owned(), port))
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
            probe_endpoints,
            probe,
            probe_image,
            probe_namespace,
            probe_host_network,
            output,
            archive,
        } = args;
        let probe = (probe_endpoints || !probe.is_empty()).then_some(ProbeSettings {
            extra: probe,
            image: probe_image,
            namespace: probe_namespace,
            host_network: probe_host_network,
        });
        let source = match from {
            Some(from) => SourceInput::Archive { from, scope: ferry_analysis::Scope::of_namespaces(namespaces) },
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
            probe,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_endpoints_are_host_and_port_and_bad_ones_say_why() {
        assert_eq!(parse_host_port("db.corp.internal:5432"), Ok(("db.corp.internal".to_owned(), 5432)));
        assert_eq!(parse_host_port("[fd00::1]:636"), Ok(("fd00::1".to_owned(), 636)));
        assert_eq!(parse_host_port("db.corp.internal"), Err("`db.corp.internal` is not HOST:PORT".to_owned()));
        assert_eq!(parse_host_port("db:0"), Err("`0` is not a TCP port (1-65535)".to_owned()));
        assert_eq!(parse_host_port("db:http"), Err("`http` is not a TCP port (1-65535)".to_owned()));
        assert_eq!(parse_host_port(":80"), Err("`:80` names no host".to_owned()));
    }
}
