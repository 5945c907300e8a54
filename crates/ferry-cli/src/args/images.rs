//! Arguments of `ferry images` and the settings resolved from them.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use crate::error::CliError;

pub(super) const PUSH_FERRY_EXAMPLES: &str = "\
Examples:
  ferry images push-ferry registry.example.com/tools/ferry:0.1.0
  ferry images push-ferry 127.0.0.1:5000/ferry:test --binary target/release/ferry -o json

The image holds the ferry binary at /usr/local/bin/ferry (its entrypoint), the shared
libraries and dynamic loader `ldd` names for it at their paths on this machine, and /tmp.
Blobs the registry already has are not sent again. Loopback registries (localhost,
127.0.0.0/8, ::1) are spoken to over plain HTTP, all others over HTTPS; credentials come
from Docker's config.json ($DOCKER_CONFIG or ~/.docker/config.json, `docker login`).

Exit codes:
  0  pushed
  1  ferry could not run (invalid reference, unreadable binary, registry unreachable or refusing)
  2  wrong command line";

/// What `ferry images` does.
#[derive(Debug, Subcommand)]
pub enum ImagesCommand {
    /// Build ferry's own container image from a binary and push it to a registry.
    #[command(after_help = PUSH_FERRY_EXAMPLES)]
    PushFerry(PushFerryArgs),
}

/// Output formats of `ferry images push-ferry`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PushOutput {
    /// Readable lines.
    Table,
    /// One JSON object.
    Json,
}

/// Arguments of `ferry images push-ferry`.
#[derive(Debug, Args)]
pub struct PushFerryArgs {
    /// Where to push: REGISTRY/REPOSITORY[:TAG] (tag `latest` if none).
    #[arg(value_name = "REGISTRY/REPO[:TAG]")]
    pub reference: String,
    /// The ferry binary to pack (default: this ferry).
    #[arg(long, value_name = "PATH")]
    pub binary: Option<PathBuf>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = PushOutput::Table)]
    pub output: PushOutput,
}

/// Settings of `ferry images push-ferry`, resolved.
#[derive(Debug)]
pub struct PushFerrySettings {
    /// Where to push.
    pub reference: String,
    /// The binary to pack.
    pub binary: PathBuf,
    /// Output format.
    pub output: PushOutput,
}

impl PushFerrySettings {
    /// Resolves the binary (default: the running executable).
    pub fn resolve(args: PushFerryArgs) -> Result<PushFerrySettings, CliError> {
        let binary = match args.binary {
            Some(binary) => binary,
            None => {
                std::env::current_exe().map_err(|e| CliError::failure("cannot find the running ferry binary", &e).with_hint("name it with `--binary PATH`"))?
            }
        };
        Ok(PushFerrySettings { reference: args.reference, binary, output: args.output })
    }
}
