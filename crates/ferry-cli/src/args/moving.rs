//! Arguments of the commands that move objects (`export`, `transform`,
//! `apply`, `migrate`) and the settings resolved from them.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use ferry_analysis::KubeVersion;
use ferry_archive::S3Settings;
use ferry_cluster::apply::{ApplyOptions, IfExists};
use ferry_cluster::export::ExportFilter;
use ferry_cluster::{ConnectOptions, ReadOptions};
use ferry_transform::gitops::Secrets;

use super::{ClusterArgs, InputArgs, InputSettings, NamespaceArgs, Output, ScopeArgs, ToClusterArgs, TransformOutput, YamlArgs};
use crate::error::CliError;

pub(super) const EXPORT_EXAMPLES: &str = "\
Examples:
  ferry export --context old-aks -n shop --to shop.ferry
  ferry export --context old-aks -n shop,payments --exclude secrets --to backup/
  AWS_ENDPOINT_URL=https://s3.example.com AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... \\
    ferry export --context old-aks -l app.kubernetes.io/part-of=shop --to s3://migrations/shop/
  age-keygen -o me.txt && ferry export --context old-aks -n shop --identity me.txt --to shop.ferry
  ferry export --context old-aks -n shop --recipients-file team.txt --to s3://migrations/shop.ferry

The archive holds a manifest (source, filters, every object with its SHA-256)
and one JSON document per object; see docs/archive-format.md. Objects Kubernetes
makes itself (ReplicaSets of Deployments, token Secrets, ...) are left out unless
--include-generated. Secrets are exported but never printed.

Exit codes:
  0  exported
  1  ferry could not run (cluster unreachable, archive not writable)
  2  wrong command line
  4  some resources could not be read (forbidden, API group down): the archive is incomplete";

pub(super) const TRANSFORM_EXAMPLES: &str = "\
Examples:
  ferry transform --from shop.ferry --rules ferry.yaml --to shop-target.ferry
  ferry transform --from shop.ferry --rules ferry.yaml --target-version 1.29 --diff
  ferry transform --from s3://migrations/shop/ --to shop-target/ --diff
  ferry transform --from shop.ferry --rules ferry.yaml --pin-images images.json --diff
  ferry transform --from shop.ferry --rules ferry.yaml --strict -o json > report.json
  ferry transform --from shop.ferry --rules ferry.yaml --exclude secrets --notes --to shop-target.ferry
  ferry transform --from manifests/ --rules ferry.yaml --to clusters/new/shop --format yaml
  helm template shop ./chart | ferry transform --from - --target-version 1.29 -o yaml

--from is an archive (an s3:// URL, a directory with a manifest.json at its top, a file
not ending in .yaml, .yml or .json) or manifests (files and directories as `ferry assess`
reads them, `-` for standard input; an object given twice is kept once, see --on-duplicate).
--format yaml writes one file per object (NAMESPACE/KIND-NAME.yaml, _cluster/ for objects
without a namespace) and a kustomization.yaml for Argo CD or Flux; the directory must be new,
empty or a tree ferry wrote, and is replaced whole. -o yaml (or --to -) writes one YAML
stream. Secrets are left out of YAML with a note unless --secrets=plain (see docs/gitops.md).

Every object is sanitised (uid, resourceVersion, status, managedFields, cluster IPs,
auto-assigned node ports, ...), API versions removed in --target-version are converted,
then the rules of ferry.yaml apply (docs/transform-rules.md); --pin-images then pins each
image `ferry images copy --evidence` verified to the digest it copied. --diff prints what changes
per object, with Secret values masked, and ConfigMap values and container env values whose
keys or names look secret (PASSWORD, SECRET, TOKEN, KEY, CREDENTIAL, ...); --show-secrets
shows them.

Exit codes:
  0  transformed
  1  ferry could not run (archive unreadable or corrupt, rules invalid, output not writable)
  2  wrong command line
  3  some objects cannot go to the target (no successor API, a rule failed): listed on stderr,
     and not written; or, with --strict, a rule matched no object (nothing written)
  4  some manifests cannot be read, or an object is given twice with different content: nothing written";

pub(super) const APPLY_EXAMPLES: &str = "\
Examples:
  ferry apply --context new-cluster --from shop.ferry --dry-run
  ferry apply --context new-cluster --from shop.ferry --rules ferry.yaml
  ferry apply --context new-cluster --from shop.ferry --existing skip
  ferry apply --context new-cluster --from shop.ferry --resume     # after an interruption
  ferry apply --context new-cluster --from manifests/ --dry-run

Objects are transformed as by `ferry transform` (for the target's version unless
--target-version), then applied with server-side apply (field manager `ferry`) in
dependency order: CRDs (waited for until Established), namespaces, storage, volumes,
claims, identities and RBAC, configuration, quotas and classes, custom resources,
workloads by migration wave, Services, Ingresses, NetworkPolicies, PDBs and
autoscalers, admission webhooks last. A journal records every object applied, so an
interrupted run is finished with --resume without applying anything twice.

Exit codes:
  0  every object applied (created, updated, unchanged or skipped as asked)
  1  ferry could not run (cluster unreachable, archive corrupt, objects exist with --existing fail)
  2  wrong command line
  3  applied, but some objects cannot go to the target (no successor API, a rule failed: those are
     not applied); or, with --strict, a rule matched no object (nothing applied)
  4  some objects failed or were not attempted: fix the cause, then run again with --resume";

pub(super) const MIGRATE_EXAMPLES: &str = "\
Examples:
  ferry migrate --context old-aks --to-context new-ck8s -n shop --rules ferry.yaml --dry-run
  ferry migrate --context old-aks --to-context new-ck8s -n shop --rules ferry.yaml --archive-to shop.ferry
  ferry migrate --context old-aks --to-context new-ck8s -n shop --rules ferry.yaml --resume

`ferry export`, `ferry transform` and `ferry apply` in one step, with the same options;
--archive also keeps what was read as an archive. Exit codes as for `ferry apply`.";

/// Where objects are read from, and which.
#[derive(Debug, Args)]
pub struct SourceArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub scope: ScopeArgs,
    #[command(flatten)]
    pub kinds: KindArgs,
    /// Also export objects Kubernetes made itself (ReplicaSets of Deployments, token Secrets, ...).
    #[arg(long)]
    pub include_generated: bool,
}

/// Kind filters, as `export` has them.
#[derive(Debug, Args)]
pub struct KindArgs {
    /// Only these kinds or resources (`Deployment`, `deployments`, `deployments.apps`; repeat or separate with commas).
    #[arg(long, value_name = "KIND", value_delimiter = ',')]
    pub include: Vec<String>,
    /// Never these kinds or resources.
    #[arg(long, value_name = "KIND", value_delimiter = ',')]
    pub exclude: Vec<String>,
}

/// What the transformation reports.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Fail (exit 3, nothing written or applied) when a rule of the rules file matches no object.
    #[arg(long)]
    pub strict: bool,
    /// Show every note per object on stderr (conversions, defaults kept or changed, rules applied).
    #[arg(short = 'v', long = "notes")]
    pub notes: bool,
}

/// How archives are opened.
#[derive(Debug, Args)]
pub struct ArchiveArgs {
    #[command(flatten)]
    pub keys: KeyArgs,
    /// S3-compatible endpoint for s3:// archives (default: $AWS_ENDPOINT_URL; credentials from $AWS_ACCESS_KEY_ID/$AWS_SECRET_ACCESS_KEY).
    #[arg(long, value_name = "URL")]
    pub s3_endpoint: Option<String>,
    /// S3 region (default: $AWS_REGION, else us-east-1).
    #[arg(long, value_name = "REGION")]
    pub s3_region: Option<String>,
}

/// The keys that encrypt and decrypt archives and volume repositories, in the age format
/// (`age`/`rage` read what ferry writes). None given: nothing is encrypted.
#[derive(Debug, Clone, Default, Args)]
pub struct KeyArgs {
    /// Encrypt (write) or decrypt (read) with the passphrase in FILE (age's scrypt). A key file
    /// of earlier ferry versions (64 hex digits) is such a passphrase, and also opens their archives.
    #[arg(long, value_name = "FILE", visible_alias = "passphrase-file")]
    pub encryption_key_file: Option<PathBuf>,
    /// Take the passphrase from the environment variable VAR (for CI; it is never asked for).
    #[arg(long, value_name = "VAR")]
    pub passphrase_env: Option<String>,
    /// Encrypt to this recipient: an age public key (age1…) or an SSH public key (repeat for a team).
    #[arg(long = "recipient", value_name = "RECIPIENT")]
    pub recipients: Vec<String>,
    /// Encrypt to every recipient in FILE (one per line, `#` comments), as `age -R` reads it.
    #[arg(long = "recipients-file", value_name = "FILE")]
    pub recipients_files: Vec<PathBuf>,
    /// Decrypt with the age identity file FILE (age-keygen's) or an unencrypted SSH private key;
    /// when writing without --recipient, encrypt to it.
    #[arg(long = "identity", value_name = "FILE")]
    pub identities: Vec<PathBuf>,
}

/// How objects are changed for the target.
#[derive(Debug, Args)]
pub struct TransformOpts {
    /// Transformation rules (docs/transform-rules.md).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Convert API versions removed in this Kubernetes version (default for apply: the target's version).
    #[arg(long, value_name = "X.Y")]
    pub target_version: Option<String>,
    /// Pin every image `ferry images copy --evidence FILE` verified to the digest it copied
    /// (`registry/app:1@sha256:…`), after the rules' rewrites.
    #[arg(long, value_name = "EVIDENCE")]
    pub pin_images: Option<PathBuf>,
}

/// `--dry-run` values, as kubectl names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DryRun {
    /// Transform and print the plan; the target is only asked for its version.
    Client,
    /// Send every object with the server's dry run: validated and defaulted, not stored.
    Server,
}

/// Output of the apply summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SummaryFormat {
    /// Counts and problems, for a terminal.
    Table,
    /// Every object's outcome as JSON.
    Json,
    /// The same document as `json`, as YAML.
    Yaml,
}

/// How objects are applied.
#[derive(Debug, Args)]
pub struct ApplyOpts {
    /// Do not change the target: `server` (the default for a bare --dry-run) or `client`.
    #[arg(long, value_enum, value_name = "MODE", num_args = 0..=1, default_missing_value = "server", require_equals = true)]
    pub dry_run: Option<DryRun>,
    /// What to do with objects that exist on the target already.
    #[arg(long, value_enum, value_name = "WHAT", default_value_t = Existing::Update)]
    pub existing: Existing,
    /// Finish an interrupted run recorded in the journal.
    #[arg(long)]
    pub resume: bool,
    /// The journal file (default: ~/.local/state/ferry/journal/CONTEXT-RUN.jsonl).
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,
    /// Requests in flight at once.
    #[arg(long, value_name = "N", default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    /// Summary format.
    #[arg(short, long, value_enum, default_value_t = SummaryFormat::Table)]
    pub output: SummaryFormat,
}

/// `--existing` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Existing {
    /// Leave existing objects alone.
    Skip,
    /// Server-side apply over them.
    Update,
    /// Refuse to start if any exists that ferry did not apply.
    Fail,
}

/// Arguments of `ferry export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Lists in flight at once.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// The archive: a file (default form), a directory (ending in `/` or existing), or s3://bucket/key.
    #[arg(long, value_name = "DEST")]
    pub to: String,
    #[command(flatten)]
    pub archive: ArchiveArgs,
}

/// Arguments of `ferry transform`.
#[derive(Debug, Args)]
pub struct TransformArgs {
    /// The archive, or manifest files or directory (`-`: standard input), to read.
    #[arg(long, value_name = "SRC")]
    pub from: String,
    /// Where to write: an archive, a directory with --format yaml, `-` for a YAML stream (omit
    /// with --diff, -o json or -o yaml to write nothing else).
    #[arg(long, value_name = "DEST", required_unless_present_any = ["diff", "output"])]
    pub to: Option<String>,
    /// Print what changes, object by object (Secret values, ConfigMap values under keys that
    /// look secret and env values whose names look secret masked).
    #[arg(long)]
    pub diff: bool,
    /// Show in --diff the values it masks by default.
    #[arg(long, requires = "diff")]
    pub show_secrets: bool,
    /// What goes to standard output: `table` (a summary on stderr), `json` (the whole
    /// transformation report: per-rule counts, every object's notes) or `yaml` (the transformed
    /// objects as one multi-document stream).
    #[arg(short, long, value_enum, value_name = "FORMAT")]
    pub output: Option<TransformOutput>,
    #[command(flatten)]
    pub yaml: YamlArgs,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub transform: TransformOpts,
    #[command(flatten)]
    pub kinds: KindArgs,
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub archive: ArchiveArgs,
}

/// Arguments of `ferry apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// The archive, or manifest files or directory (`-`: standard input), to apply.
    #[arg(long, value_name = "SRC")]
    pub from: String,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub transform: TransformOpts,
    #[command(flatten)]
    pub kinds: KindArgs,
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub apply: ApplyOpts,
    #[command(flatten)]
    pub archive: ArchiveArgs,
}

/// Arguments of `ferry migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub to: ToClusterArgs,
    /// Also keep what was read as an archive here.
    #[arg(long, value_name = "DEST")]
    pub archive_to: Option<String>,
    #[command(flatten)]
    pub transform: TransformOpts,
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub apply: ApplyOpts,
    #[command(flatten)]
    pub archive: ArchiveArgs,
}

/// The source side, resolved.
#[derive(Debug)]
pub struct SourceSettings {
    /// Kubeconfig and context.
    pub connect: ConnectOptions,
    /// Namespaces, selector, concurrency.
    pub read: ReadOptions,
    /// Kinds and generated objects.
    pub filter: ExportFilter,
}

impl SourceSettings {
    pub(super) fn resolve(args: SourceArgs, concurrency: u16) -> SourceSettings {
        let SourceArgs {
            cluster,
            scope: ScopeArgs { namespace: NamespaceArgs { namespaces, .. }, selector },
            kinds: KindArgs { include, exclude },
            include_generated,
        } = args;
        SourceSettings {
            connect: cluster.connect(),
            read: ReadOptions { namespaces: namespaces.clone(), selector, concurrency: usize::from(concurrency), ..Default::default() },
            filter: ExportFilter { namespaces, include, exclude, include_generated },
        }
    }
}

/// How archives are opened, resolved.
#[derive(Debug)]
pub struct ArchiveSettings {
    /// Where the encryption keys come from (read when an archive is opened).
    pub keys: KeyArgs,
    /// S3 endpoint, region and credentials.
    pub s3: S3Settings,
}

impl ArchiveSettings {
    pub(super) fn resolve(args: ArchiveArgs) -> ArchiveSettings {
        let mut s3 = S3Settings::from_env();
        if let Some(endpoint) = args.s3_endpoint {
            s3.allow_http = endpoint.starts_with("http://");
            s3.path_style = true;
            s3.endpoint = Some(endpoint);
        }
        if let Some(region) = args.s3_region {
            s3.region = Some(region);
        }
        ArchiveSettings { keys: args.keys, s3 }
    }
}

/// The transformation, resolved (the rules file is read by the command).
#[derive(Debug)]
pub struct TransformSettings {
    /// The rules file.
    pub rules: Option<PathBuf>,
    /// The version to convert for; `None` means the target's own.
    pub target_version: Option<KubeVersion>,
    /// The image copy evidence to pin images with.
    pub pin_images: Option<PathBuf>,
    /// `--include`/`--exclude` of `transform` and `apply` (`migrate` filters while it reads).
    pub kinds: ExportFilter,
    /// `--strict`: a rule that matches nothing stops the command.
    pub strict: bool,
    /// `--notes`: every note of every object on stderr.
    pub notes: bool,
    /// Keep every object's notes in the report (`-o json`).
    pub report_objects: bool,
}

impl TransformSettings {
    pub(super) fn resolve(args: TransformOpts) -> Result<TransformSettings, CliError> {
        let target_version = args.target_version.map(|v| parse_version(&v)).transpose()?;
        Ok(TransformSettings {
            rules: args.rules,
            target_version,
            pin_images: args.pin_images,
            kinds: ExportFilter::default(),
            strict: false,
            notes: false,
            report_objects: false,
        })
    }

    /// The settings of the commands that report on the transformation (`transform`, `apply`, `migrate`).
    fn reporting(args: TransformOpts, kinds: Option<KindArgs>, report: ReportArgs, output: SummaryFormat) -> Result<TransformSettings, CliError> {
        let kinds = kinds.map(|k| ExportFilter { include: k.include, exclude: k.exclude, ..ExportFilter::default() }).unwrap_or_default();
        let report_objects = output != SummaryFormat::Table;
        Ok(TransformSettings { kinds, strict: report.strict, notes: report.notes, report_objects, ..TransformSettings::resolve(args)? })
    }
}

fn parse_version(text: &str) -> Result<KubeVersion, CliError> {
    text.parse().map_err(|e: String| CliError::usage(format!("invalid `--target-version`: {e}"), Some("use MAJOR.MINOR, e.g. `--target-version 1.29`".into())))
}

/// The apply side, resolved.
#[derive(Debug)]
pub struct ApplySettings {
    /// The target's kubeconfig and context.
    pub connect: ConnectOptions,
    /// Engine options.
    pub options: ApplyOptions,
    /// `--dry-run=client`: stop before sending anything.
    pub plan_only: bool,
    /// `--resume`.
    pub resume: bool,
    /// `--journal`.
    pub journal: Option<PathBuf>,
    /// Summary format.
    pub output: SummaryFormat,
}

impl ApplySettings {
    fn resolve(args: ApplyOpts, connect: ConnectOptions) -> Result<ApplySettings, CliError> {
        if args.resume && args.dry_run.is_some() {
            return Err(CliError::usage("`--resume` and `--dry-run` do not go together", Some("a dry run records nothing to resume".into())));
        }
        let if_exists = match args.existing {
            Existing::Skip => IfExists::Skip,
            Existing::Update => IfExists::Update,
            Existing::Fail => IfExists::Fail,
        };
        let options = ApplyOptions {
            dry_run: args.dry_run == Some(DryRun::Server),
            if_exists,
            concurrency: usize::from(args.concurrency),
            establish_timeout: Duration::from_secs(60),
        };
        Ok(ApplySettings { connect, options, plan_only: args.dry_run == Some(DryRun::Client), resume: args.resume, journal: args.journal, output: args.output })
    }
}

/// `ferry export`, resolved.
#[derive(Debug)]
pub struct ExportSettings {
    /// What to read.
    pub source: SourceSettings,
    /// The archive to write.
    pub to: String,
    /// Key and S3 settings.
    pub archive: ArchiveSettings,
}

impl ExportSettings {
    /// Validates the arguments.
    pub fn resolve(args: ExportArgs) -> Result<ExportSettings, CliError> {
        Ok(ExportSettings { source: SourceSettings::resolve(args.source, args.concurrency), to: args.to, archive: ArchiveSettings::resolve(args.archive) })
    }
}

/// `ferry transform`, resolved.
#[derive(Debug)]
pub struct TransformCommand {
    /// The archive or manifests to read.
    pub from: String,
    /// Which of its objects are read, and which copy of an object given twice is kept.
    pub input: InputSettings,
    /// Where to write.
    pub to: Output,
    /// Secrets in YAML.
    pub secrets: Secrets,
    /// Print diffs.
    pub diff: bool,
    /// Show in diffs the values masked by default.
    pub show_secrets: bool,
    /// `-o json`: the transformation report on stdout.
    pub output: SummaryFormat,
    /// Rules and version.
    pub transform: TransformSettings,
    /// Key and S3 settings.
    pub archive: ArchiveSettings,
}

impl TransformCommand {
    /// Validates the arguments.
    pub fn resolve(args: TransformArgs) -> Result<TransformCommand, CliError> {
        let output = args.output.unwrap_or(TransformOutput::Table);
        if args.diff && output != TransformOutput::Table {
            return Err(CliError::usage("`--diff` prints to standard output, and so does `-o`", Some("use one of them".into())));
        }
        let stream = output == TransformOutput::Yaml;
        if stream && (args.to.is_some() || args.yaml.format.is_some()) {
            return Err(CliError::usage("`-o yaml` writes to standard output: it does not go with --to or --format", None));
        }
        let (to, secrets) = args.yaml.resolve(args.to, stream)?;
        if args.diff && to == Output::Stream {
            return Err(CliError::usage(
                "`--diff` and a YAML stream on standard output do not go together",
                Some("write the YAML to a directory or a file".into()),
            ));
        }
        let recipients = !args.archive.keys.recipients.is_empty() || !args.archive.keys.recipients_files.is_empty();
        if recipients && matches!(to, Output::Tree(_) | Output::Stream) {
            return Err(CliError::usage(
                "YAML output is not encrypted: --recipient and --recipients-file only encrypt archives",
                Some("write an archive, or encrypt the YAML with SOPS (docs/gitops.md)".into()),
            ));
        }
        if output == TransformOutput::Json && to == Output::Stream {
            return Err(CliError::usage("`-o json` and a YAML stream both go to standard output", Some("write the YAML to a directory or a file".into())));
        }
        let output = if output == TransformOutput::Json { SummaryFormat::Json } else { SummaryFormat::Table };
        Ok(TransformCommand {
            from: args.from,
            input: args.input.resolve()?,
            to,
            secrets,
            diff: args.diff,
            show_secrets: args.show_secrets,
            output,
            transform: TransformSettings::reporting(args.transform, Some(args.kinds), args.report, output)?,
            archive: ArchiveSettings::resolve(args.archive),
        })
    }
}

/// `ferry apply`, resolved.
#[derive(Debug)]
pub struct ApplyCommand {
    /// The archive or manifests to apply.
    pub from: String,
    /// Which of its objects are applied, and which copy of an object given twice is kept.
    pub input: InputSettings,
    /// Rules and version.
    pub transform: TransformSettings,
    /// Target and engine options.
    pub apply: ApplySettings,
    /// Key and S3 settings.
    pub archive: ArchiveSettings,
}

impl ApplyCommand {
    /// Validates the arguments.
    pub fn resolve(args: ApplyArgs) -> Result<ApplyCommand, CliError> {
        let connect = args.cluster.connect();
        Ok(ApplyCommand {
            from: args.from,
            input: args.input.resolve()?,
            transform: TransformSettings::reporting(args.transform, Some(args.kinds), args.report, args.apply.output)?,
            apply: ApplySettings::resolve(args.apply, connect)?,
            archive: ArchiveSettings::resolve(args.archive),
        })
    }
}

/// `ferry migrate`, resolved.
#[derive(Debug)]
pub struct MigrateCommand {
    /// What to read.
    pub source: SourceSettings,
    /// An archive copy to keep.
    pub archive_to: Option<String>,
    /// Rules and version.
    pub transform: TransformSettings,
    /// Target and engine options.
    pub apply: ApplySettings,
    /// Key and S3 settings.
    pub archive: ArchiveSettings,
}

impl MigrateCommand {
    /// Validates the arguments.
    pub fn resolve(args: MigrateArgs) -> Result<MigrateCommand, CliError> {
        let connect = args.to.connect(args.source.cluster.kubeconfig.as_ref());
        let concurrency = args.apply.concurrency.min(64);
        Ok(MigrateCommand {
            source: SourceSettings::resolve(args.source, concurrency),
            archive_to: args.archive_to,
            transform: TransformSettings::reporting(args.transform, None, args.report, args.apply.output)?,
            apply: ApplySettings::resolve(args.apply, connect)?,
            archive: ArchiveSettings::resolve(args.archive),
        })
    }
}
