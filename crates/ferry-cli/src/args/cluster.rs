//! The kubeconfig options of the commands that read one cluster and write another, as kubectl
//! spells them (`--context`, `--kubeconfig`) with ferry's `--to-context`/`--to-kubeconfig` for
//! the target, each defined once and flattened into the commands.

use std::path::PathBuf;

use clap::Args;
use ferry_cluster::ConnectOptions;

/// `--context`/`--kubeconfig` of the one cluster a command reads (export, migrate, verify,
/// volumes: the source) or writes and checks (apply, preflight: the target).
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// The kubeconfig context of the cluster (default: the current context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// The kubeconfig file (default: $KUBECONFIG or ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
}

/// `--to-context`/`--to-kubeconfig`: the target beside a source (migrate, verify, volumes).
#[derive(Debug, Args)]
pub struct ToClusterArgs {
    /// The target cluster's kubeconfig context.
    #[arg(long, value_name = "NAME")]
    pub to_context: String,
    /// The target's kubeconfig file (default: the source's).
    #[arg(long, value_name = "FILE")]
    pub to_kubeconfig: Option<PathBuf>,
}

impl ClusterArgs {
    /// How to connect to the cluster.
    pub fn connect(self) -> ConnectOptions {
        ConnectOptions { kubeconfig: self.kubeconfig, context: self.context }
    }
}

impl ToClusterArgs {
    /// How to connect to the target: through the source's kubeconfig file unless it has its own.
    pub fn connect(self, source_kubeconfig: Option<&PathBuf>) -> ConnectOptions {
        ConnectOptions { kubeconfig: self.to_kubeconfig.or_else(|| source_kubeconfig.cloned()), context: Some(self.to_context) }
    }
}
