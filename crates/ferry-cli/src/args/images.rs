//! Arguments of `ferry images` and the settings resolved from them.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use ferry_images::RegistryOptions;

use super::{Objects, ObjectsArgs, TransformOpts, TransformSettings};
use crate::error::CliError;

pub(super) const PLAN_EXAMPLES: &str = "\
Examples:
  ferry images plan --context old-aks -n shop --rules ferry.yaml
  ferry images plan -f manifests/ --rules ferry.yaml -o json
  ferry images plan --from shop.ferry --rules ferry.yaml --no-resolve

Lists every image of every container, init container and ephemeral container of the
workloads, CronJobs and bare Pods, with the objects that use it; the target reference is
what `ferry transform` writes with the same rules file, so the copy and the manifests
agree. Pull secrets are named per side (never their contents). Without --no-resolve the
source registries are asked for each tag's digest, platforms and sizes (HEAD and GET of
manifests only), and the target for what it holds now.

Exit codes:
  0  nothing wrong
  1  ferry could not run (unreadable input or rules file)
  2  wrong command line
  3  error findings (two images on one target, a pin the copy cannot keep, an image that
     does not resolve)
  4  some input could not be read";

pub(super) const COPY_EXAMPLES: &str = "\
Examples:
  ferry images copy --context old-aks -n shop --rules ferry.yaml --evidence images.json
  ferry images copy -f manifests/ --rules ferry.yaml --ca-bundle harbor-ca.pem
  ferry images copy --from shop.ferry --rules ferry.yaml --plain-http registry.lab:5000

Copies every image the plan moves, byte for byte: manifests and indexes with every
platform, digests unchanged (anything that would change one is refused); blobs only where
the target lacks them (HEAD first), mounted from another repository of the target when one
holds them; the referrers (OCI 1.1 referrers API, else the `sha256-HEX` tag schema and
cosign's .sig/.att/.sbom tags). A second run sends nothing that is already there.
Credentials come from Docker's config.json (--docker-config, else $DOCKER_CONFIG or
~/.docker/config.json; credential helpers included); registries asking for bearer tokens
get them with those credentials. Plain HTTP only for loopback and --plain-http hosts.

Exit codes:
  0  every image copied and verified
  1  ferry could not run
  2  wrong command line
  3  the plan has error findings: nothing was copied
  4  some images could not be copied (see the evidence), or some input could not be read";

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
    /// List every image the workloads run, where the rules move it, and check it.
    #[command(after_help = PLAN_EXAMPLES)]
    Plan(ImagesPlanArgs),
    /// Copy the images the plan moves to their target registries, byte for byte.
    #[command(after_help = COPY_EXAMPLES)]
    Copy(ImagesCopyArgs),
}

/// Where `ferry images plan|copy` read objects, and how registries are reached.
#[derive(Debug, Args)]
pub struct ImagesInputArgs {
    #[command(flatten)]
    pub objects: ObjectsArgs,
    /// Docker config.json with registry credentials (default: $DOCKER_CONFIG/config.json, else ~/.docker/config.json).
    #[arg(long, value_name = "FILE")]
    pub docker_config: Option<PathBuf>,
    #[command(flatten)]
    pub trust: RegistryTrustArgs,
    /// Blob transfers at once per registry.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub concurrency: usize,
    #[command(flatten)]
    pub transform: TransformOpts,
}

/// Which registries are trusted how: extra CA certificates, plain HTTP.
#[derive(Debug, Args)]
pub struct RegistryTrustArgs {
    /// PEM certificates to trust besides the system's (private registries).
    #[arg(long, value_name = "FILE")]
    pub ca_bundle: Option<PathBuf>,
    /// A registry (HOST[:PORT]) that may be spoken to over plain HTTP (repeat); loopback ones always may.
    #[arg(long, value_name = "HOST")]
    pub plain_http: Vec<String>,
}

impl RegistryTrustArgs {
    /// Registry options with this trust and the defaults otherwise.
    pub fn options(self) -> RegistryOptions {
        RegistryOptions { ca_bundle: self.ca_bundle, plain_http: self.plain_http, ..RegistryOptions::default() }
    }
}

/// Arguments of `ferry images plan`.
#[derive(Debug, Args)]
pub struct ImagesPlanArgs {
    #[command(flatten)]
    pub input: ImagesInputArgs,
    /// Do not ask the registries (no digests, sizes or target state).
    #[arg(long)]
    pub no_resolve: bool,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = PushOutput::Table)]
    pub output: PushOutput,
}

/// Arguments of `ferry images copy`.
#[derive(Debug, Args)]
pub struct ImagesCopyArgs {
    #[command(flatten)]
    pub input: ImagesInputArgs,
    /// Write the evidence (every image's digests, platforms, blobs and referrers) as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub evidence: Option<PathBuf>,
    /// Output format of the summary.
    #[arg(short, long, value_enum, default_value_t = PushOutput::Table)]
    pub output: PushOutput,
}

/// Input and registry settings of `ferry images plan|copy`, resolved.
#[derive(Debug)]
pub struct ImagesInput {
    /// Where objects come from.
    pub objects: Objects,
    /// The rules file and target version.
    pub transform: TransformSettings,
    /// How registries are reached.
    pub registries: RegistryOptions,
}

impl ImagesInput {
    fn resolve(args: ImagesInputArgs) -> Result<ImagesInput, CliError> {
        if args.concurrency == 0 {
            return Err(CliError::usage("`--concurrency` must be at least 1", None));
        }
        if args.transform.pin_images.is_some() {
            let hint = "pin the manifests after the copy: `ferry transform|apply|migrate --pin-images EVIDENCE`";
            return Err(CliError::usage("`--pin-images` does not apply to `ferry images`", Some(hint.into())));
        }
        let registries = RegistryOptions { docker_config: args.docker_config, concurrency: args.concurrency, ..args.trust.options() };
        Ok(ImagesInput { objects: Objects::resolve(args.objects), transform: TransformSettings::resolve(args.transform)?, registries })
    }
}

/// `ferry images plan`, resolved.
#[derive(Debug)]
pub struct ImagesPlanSettings {
    /// Input and registries.
    pub input: ImagesInput,
    /// Whether to ask the registries.
    pub resolve: bool,
    /// Output format.
    pub output: PushOutput,
}

impl ImagesPlanSettings {
    /// Validates the arguments.
    pub fn resolve(args: ImagesPlanArgs) -> Result<ImagesPlanSettings, CliError> {
        Ok(ImagesPlanSettings { input: ImagesInput::resolve(args.input)?, resolve: !args.no_resolve, output: args.output })
    }
}

/// `ferry images copy`, resolved.
#[derive(Debug)]
pub struct ImagesCopySettings {
    /// Input and registries.
    pub input: ImagesInput,
    /// The evidence file.
    pub evidence: Option<PathBuf>,
    /// Output format.
    pub output: PushOutput,
}

impl ImagesCopySettings {
    /// Validates the arguments.
    pub fn resolve(args: ImagesCopyArgs) -> Result<ImagesCopySettings, CliError> {
        Ok(ImagesCopySettings { input: ImagesInput::resolve(args.input)?, evidence: args.evidence, output: args.output })
    }
}

/// Output formats of `ferry images`.
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
