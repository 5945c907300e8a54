//! Arguments of `ferry version`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use ferry_cluster::ConnectOptions;

/// Arguments of `ferry version`.
#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Only ferry's own version, even when a context is given.
    #[arg(long)]
    pub client: bool,
    /// Also show the API server's version of this kubeconfig context.
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Kubeconfig file (default: $KUBECONFIG or ~/.kube/config); with it, the server's version of its current context.
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Output format (default: lines of text).
    #[arg(short, long, value_enum)]
    pub output: Option<VersionOutput>,
}

/// How `ferry version` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VersionOutput {
    /// JSON.
    Json,
    /// YAML.
    Yaml,
}

/// `ferry version`, resolved.
#[derive(Debug)]
pub struct VersionSettings {
    /// The cluster whose server version to show, if any.
    pub server: Option<ConnectOptions>,
    /// `None` for text.
    pub output: Option<VersionOutput>,
}

impl VersionSettings {
    /// Resolves the arguments: a server is asked only with `--context` or `--kubeconfig` and without `--client`.
    pub fn resolve(args: VersionArgs) -> VersionSettings {
        let VersionArgs { client, context, kubeconfig, output } = args;
        let asked = context.is_some() || kubeconfig.is_some();
        let server = (asked && !client).then_some(ConnectOptions { kubeconfig, context });
        VersionSettings { server, output }
    }
}
