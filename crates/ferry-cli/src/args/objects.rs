//! Where the commands that check objects (`ferry certs`, `ferry images`) read them: manifest
//! files, a live cluster or an archive, in some namespaces.

use std::path::PathBuf;

use clap::Args;
use ferry_cluster::{ConnectOptions, ReadOptions};

use super::{ArchiveArgs, ArchiveSettings, NamespaceArgs};

/// The source of the objects, as given on the command line.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("input").required(true).args(["context", "files", "from"]))]
pub struct ObjectsArgs {
    /// Read the source cluster through this kubeconfig context.
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// The source's kubeconfig file (default: $KUBECONFIG or ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Read manifest files or directories instead (repeat).
    #[arg(short = 'f', long = "filename", value_name = "PATH", conflicts_with_all = ["context", "from"])]
    pub files: Vec<PathBuf>,
    /// Read an archive made by `ferry export` instead.
    #[arg(long, value_name = "ARCHIVE", conflicts_with = "context")]
    pub from: Option<String>,
    #[command(flatten)]
    pub namespace: NamespaceArgs,
    #[command(flatten)]
    pub archive: ArchiveArgs,
}

/// Where objects are read from.
#[derive(Debug)]
pub enum ObjectSource {
    /// Manifest files and directories.
    Files(Vec<PathBuf>),
    /// A live cluster.
    Cluster(ConnectOptions),
    /// An archive.
    Archive(String),
}

/// The source of the objects, resolved.
#[derive(Debug)]
pub struct Objects {
    /// Where they come from.
    pub source: ObjectSource,
    /// Namespaces (all when empty).
    pub namespaces: Vec<String>,
    /// How clusters are read.
    pub read: ReadOptions,
    /// Key and S3 settings for `--from`.
    pub archive: ArchiveSettings,
}

impl Objects {
    /// Resolves the arguments (clap has checked that exactly one source is given).
    pub fn resolve(args: ObjectsArgs) -> Objects {
        let source = match (args.context, args.from) {
            (Some(context), _) => ObjectSource::Cluster(ConnectOptions { kubeconfig: args.kubeconfig, context: Some(context) }),
            (None, Some(from)) => ObjectSource::Archive(from),
            (None, None) => ObjectSource::Files(args.files),
        };
        Objects {
            source,
            read: ReadOptions { namespaces: args.namespace.namespaces.clone(), ..ReadOptions::default() },
            namespaces: args.namespace.namespaces,
            archive: ArchiveSettings::resolve(args.archive),
        }
    }
}
