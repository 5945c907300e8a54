//! Arguments of `ferry volumes` (plan, sync, cutover, verify, and the internal mover) and the
//! settings resolved from them.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use ferry_cluster::ConnectOptions;
use ferry_volumes::MoverTask;
use ferry_volumes::cluster::Scope;

use super::{ClusterArgs, KeyArgs, ScopeArgs, ToClusterArgs};
use crate::error::CliError;

pub(super) const VOLUMES_EXAMPLES: &str = "\
Examples:
  ferry volumes plan    --context old --to-context new -n shop --rules ferry.yaml
  ferry volumes sync    --context old --to-context new -n shop --via s3://migrations/shop-volumes
  ferry volumes sync    --context old --to-context new -n shop --via s3://migrations/shop-volumes   # again: only changes
  ferry volumes cutover --context old --to-context new -n shop --via s3://migrations/shop-volumes --evidence shop.json
  ferry volumes verify  --context old --to-context new -n shop --via s3://migrations/shop-volumes

Data moves through Jobs that ferry runs on both clusters with its own image (--mover-image):
a backup Job on the source (the claim mounted read-only, on the node where it is attached)
and a restore Job on the target per claim. Outcomes come from the Jobs' exit codes and
termination messages. --via is a repository in S3-compatible storage (credentials from
AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_ENDPOINT_URL, handed to the movers in a Secret
deleted with their Job) or an absolute directory that both clusters' nodes share (hostPath).
With --identity, --recipient(s-file) or --encryption-key-file/--passphrase-env (the same keys
as archives) the repository is encrypted with age; its own key is stored in it, encrypted with
yours, and reaches the movers only through their Job's Secret (mounted as a file).
--parallel N claims move at once (one mover Job per claim and cluster at a time).

After a failure or an interruption (ferry killed, a mover Pod gone, the store unreachable),
run the same command again: only the chunks the repository lacks are sent, and the mover
Jobs an interrupted run left for the claims are removed first.

Exit codes:
  0  done; for verify and cutover: every claim equal on both sides
  1  ferry could not run, or a mover Job failed (named, with its error)
  2  wrong command line
  3  refused (a target claim missing, too small, lost or of the wrong storage class;
     workloads that cannot be stopped),
     or verification found differences (paths listed, evidence written)";

/// Subcommands of `ferry volumes`.
#[derive(Debug, Subcommand)]
pub enum VolumesCommand {
    /// List the claims in scope with their size, class, mounts and the target's claim.
    Plan(VolumesArgs),
    /// Copy the claims' data to the target's claims (a warm pass; again for only the changes).
    Sync(VolumesArgs),
    /// Scale the source workloads that mount the claims to zero, wait until their Pods are gone, final pass, verify.
    Cutover(VolumesArgs),
    /// Compare the claims' files on both sides and write the evidence.
    Verify(VolumesArgs),
    /// Let more keys open an encrypted repository (a team member's recipient, a new passphrase).
    #[command(after_help = ADD_KEY_EXAMPLES)]
    AddKey(AddKeyArgs),
    /// Internal: what a mover Job runs inside the cluster.
    #[command(hide = true, subcommand)]
    Mover(MoverCommand),
}

const ADD_KEY_EXAMPLES: &str = "\
Examples:
  ferry volumes add-key --via s3://migrations/shop-volumes --identity me.txt --add-recipient age1…
  ferry volumes add-key --via s3://migrations/shop-volumes --passphrase-env OLD --add-passphrase-env NEW

The repository's own key is stored once more under keys/, encrypted with the added keys;
the keys that opened it before still do. Nothing else in the repository changes.";

/// Arguments of `ferry volumes add-key`.
#[derive(Debug, Args)]
pub struct AddKeyArgs {
    /// The encrypted repository: s3://BUCKET/PREFIX or a directory.
    #[arg(long, value_name = "LOCATION")]
    pub via: String,
    /// The keys that open the repository now.
    #[command(flatten)]
    pub keys: KeyArgs,
    /// The keys to add.
    #[command(flatten)]
    pub add: AddedKeyArgs,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = VolumesOutput::Table)]
    pub output: VolumesOutput,
}

/// The keys `add-key` lets open the repository, given as `--identity` and its kin give keys.
#[derive(Debug, Args)]
pub struct AddedKeyArgs {
    /// Add the passphrase in FILE.
    #[arg(long, value_name = "FILE")]
    pub add_passphrase_file: Option<PathBuf>,
    /// Add the passphrase in the environment variable VAR.
    #[arg(long, value_name = "VAR")]
    pub add_passphrase_env: Option<String>,
    /// Add a recipient: an age public key (age1…) or an SSH public key (repeat for a team).
    #[arg(long = "add-recipient", value_name = "RECIPIENT")]
    pub add_recipients: Vec<String>,
    /// Add every recipient in FILE (one per line, `#` comments).
    #[arg(long = "add-recipients-file", value_name = "FILE")]
    pub add_recipients_files: Vec<PathBuf>,
    /// Add the recipient of the age identity file FILE.
    #[arg(long = "add-identity", value_name = "FILE")]
    pub add_identities: Vec<PathBuf>,
}

impl From<AddedKeyArgs> for KeyArgs {
    fn from(add: AddedKeyArgs) -> KeyArgs {
        KeyArgs {
            encryption_key_file: add.add_passphrase_file,
            passphrase_env: add.add_passphrase_env,
            recipients: add.add_recipients,
            recipients_files: add.add_recipients_files,
            identities: add.add_identities,
        }
    }
}

/// Output formats of `ferry volumes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VolumesOutput {
    /// A table for a terminal.
    Table,
    /// The table with the manifest digests of `verify` and `cutover` whole (the table shows their first 16 digits).
    Wide,
    /// JSON.
    Json,
}

/// Arguments shared by plan, sync, cutover and verify.
#[derive(Debug, Args)]
pub struct VolumesArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub to: ToClusterArgs,
    /// Namespaces and labels of the claims.
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// The repository: s3://BUCKET/PREFIX, or an absolute directory both clusters' nodes share.
    #[arg(long, value_name = "LOCATION")]
    pub via: Option<String>,
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Transformation rules (docs/transform-rules.md): their `storageClasses` map gives the class each target claim must have.
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// The image the mover Jobs run (ferry at /usr/local/bin/ferry).
    #[arg(long, value_name = "REF", default_value = concat!("ferry:", env!("CARGO_PKG_VERSION")))]
    pub mover_image: String,
    /// The CPU the mover containers request (a Kubernetes quantity; 0: none). With no request a
    /// mover is BestEffort, the class a busy node gives CPU last.
    #[arg(long, value_name = "QUANTITY", default_value = "250m")]
    pub mover_cpu: String,
    /// The memory the mover containers request (0: none).
    #[arg(long, value_name = "QUANTITY", default_value = "256Mi")]
    pub mover_memory: String,
    /// Run mover Pods in the node's network (for clusters without a Pod network).
    #[arg(long)]
    pub mover_host_network: bool,
    /// Longest time one mover Job may take, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    pub timeout: u64,
    /// How long a mover keeps retrying an S3 store that does not answer (down, restarting,
    /// unreachable) before its pass fails, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub store_retry: u64,
    /// Claims moved or verified at once; each runs at most one mover Job per cluster at a time.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallel: u16,
    /// Longest wait for the workloads' Pods to be gone at cutover, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub quiesce_timeout: u64,
    /// The evidence file of verify and cutover (default: ferry-volumes-RUN.json).
    #[arg(long, value_name = "FILE")]
    pub evidence: Option<PathBuf>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = VolumesOutput::Table)]
    pub output: VolumesOutput,
}

/// The internal mover's tasks.
#[derive(Debug, Subcommand)]
pub enum MoverCommand {
    /// Back up the tree at --path as a new snapshot of --volume.
    Backup {
        /// The volume's name in the repository.
        #[arg(long)]
        volume: String,
        /// The pass's time (RFC 3339).
        #[arg(long)]
        time: String,
        #[command(flatten)]
        common: MoverArgs,
    },
    /// Restore a snapshot in place at --path.
    Restore {
        /// The snapshot id.
        #[arg(long)]
        snapshot: String,
        #[command(flatten)]
        common: MoverArgs,
    },
    /// Store the manifest of the tree at --path under --key.
    Manifest {
        /// The repository key.
        #[arg(long)]
        key: String,
        #[command(flatten)]
        common: MoverArgs,
    },
}

/// Where the mover works.
#[derive(Debug, Args)]
pub struct MoverArgs {
    /// The repository (a directory or s3://BUCKET/PREFIX; S3 settings from the AWS_* variables).
    #[arg(long)]
    pub repository: String,
    /// The tree.
    #[arg(long)]
    pub path: PathBuf,
    /// Also write the JSON report here (a Job's /dev/termination-log).
    #[arg(long)]
    pub result: Option<PathBuf>,
    /// The key of an encrypted repository (a file mounted from the Job's Secret).
    #[arg(long)]
    pub repository_key: Option<PathBuf>,
    /// Retry an S3 repository that does not answer for this long, in seconds.
    #[arg(long)]
    pub store_retry_seconds: Option<u64>,
}

/// What `ferry volumes` does, resolved.
#[derive(Debug)]
pub enum VolumesSettings {
    /// Plan, sync, cutover or verify (boxed: it is large).
    Run(Box<RunSettings>),
    /// The mover inside a Job.
    Mover(MoverSettings),
    /// `add-key`.
    AddKey(AddKeySettings),
}

/// Settings of `add-key`.
#[derive(Debug)]
pub struct AddKeySettings {
    /// The repository.
    pub via: String,
    /// The keys that open it now.
    pub keys: KeyArgs,
    /// The keys to add.
    pub add: KeyArgs,
    /// Table or JSON.
    pub output: VolumesOutput,
}

/// Which of the cluster commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// `plan`.
    Plan,
    /// `sync`.
    Sync,
    /// `cutover`.
    Cutover,
    /// `verify`.
    Verify,
}

/// Settings of plan, sync, cutover and verify.
#[derive(Debug)]
pub struct RunSettings {
    /// Which command.
    pub verb: Verb,
    /// The source.
    pub source: ConnectOptions,
    /// The target.
    pub target: ConnectOptions,
    /// The claims in scope.
    pub scope: Scope,
    /// The repository location (required except for plan).
    pub via: Option<String>,
    /// The keys of an encrypted repository.
    pub keys: KeyArgs,
    /// The rules file.
    pub rules: Option<PathBuf>,
    /// The mover image.
    pub image: String,
    /// Mover Pods in the node's network.
    pub host_network: bool,
    /// Longest Job.
    pub timeout: Duration,
    /// Longest wait for Pods to be gone.
    pub quiesce_timeout: Duration,
    /// Claims at once.
    pub parallel: usize,
    /// How long movers retry an S3 store.
    pub store_retry: Duration,
    /// The movers' resource requests.
    pub requests: Vec<(String, String)>,
    /// The evidence file.
    pub evidence: Option<PathBuf>,
    /// Table, wide table or JSON.
    pub output: VolumesOutput,
}

/// Settings of the mover.
#[derive(Debug)]
pub struct MoverSettings {
    /// The task.
    pub task: MoverTask,
    /// The repository.
    pub repository: String,
    /// The tree.
    pub path: PathBuf,
    /// Where the report also goes.
    pub result: Option<PathBuf>,
    /// The repository key file.
    pub repository_key: Option<PathBuf>,
    /// How long to retry an S3 repository that does not answer.
    pub store_retry: Option<Duration>,
}

impl VolumesSettings {
    /// Validates the arguments.
    pub fn resolve(command: VolumesCommand) -> Result<VolumesSettings, CliError> {
        let (verb, args) = match command {
            VolumesCommand::Plan(args) => (Verb::Plan, args),
            VolumesCommand::Sync(args) => (Verb::Sync, args),
            VolumesCommand::Cutover(args) => (Verb::Cutover, args),
            VolumesCommand::Verify(args) => (Verb::Verify, args),
            VolumesCommand::Mover(mover) => return Ok(VolumesSettings::Mover(MoverSettings::resolve(mover))),
            VolumesCommand::AddKey(args) => {
                return Ok(VolumesSettings::AddKey(AddKeySettings { via: args.via, keys: args.keys, add: args.add.into(), output: args.output }));
            }
        };
        if verb != Verb::Plan && args.via.is_none() {
            return Err(CliError::usage(
                "`--via` is required to move or verify data",
                Some("give s3://BUCKET/PREFIX or a directory both clusters' nodes share".into()),
            ));
        }
        let target = args.to.connect(args.cluster.kubeconfig.as_ref());
        Ok(VolumesSettings::Run(Box::new(RunSettings {
            verb,
            source: args.cluster.connect(),
            target,
            scope: Scope { namespaces: args.scope.namespace.namespaces, selector: args.scope.selector, storage_classes: Default::default() },
            via: args.via,
            keys: args.keys,
            rules: args.rules,
            image: args.mover_image,
            host_network: args.mover_host_network,
            timeout: Duration::from_secs(args.timeout.max(1)),
            quiesce_timeout: Duration::from_secs(args.quiesce_timeout.max(1)),
            parallel: usize::from(args.parallel),
            store_retry: Duration::from_secs(args.store_retry.max(1)),
            requests: mover_requests(&args.mover_cpu, &args.mover_memory)?,
            evidence: args.evidence,
            output: args.output,
        })))
    }
}

/// The movers' resource requests from `--mover-cpu` and `--mover-memory`; `0` requests none.
fn mover_requests(cpu: &str, memory: &str) -> Result<Vec<(String, String)>, CliError> {
    let mut requests = Vec::new();
    for (name, flag, quantity) in [("cpu", "--mover-cpu", cpu), ("memory", "--mover-memory", memory)] {
        match ferry_model::quantity::value_of(quantity) {
            Some(value) if value > 0.0 => requests.push((name.to_owned(), quantity.to_owned())),
            Some(_) => {}
            None => {
                return Err(CliError::usage(
                    format!("{flag} `{quantity}` is not a Kubernetes quantity"),
                    Some("for example 500m or 1 (CPU), 256Mi or 1Gi (memory)".into()),
                ));
            }
        }
    }
    Ok(requests)
}

impl MoverSettings {
    /// The task and where it works.
    fn resolve(command: MoverCommand) -> MoverSettings {
        let (task, common) = match command {
            MoverCommand::Backup { volume, time, common } => (MoverTask::Backup { volume, time }, common),
            MoverCommand::Restore { snapshot, common } => (MoverTask::Restore { snapshot }, common),
            MoverCommand::Manifest { key, common } => (MoverTask::Manifest { key }, common),
        };
        MoverSettings {
            task,
            repository: common.repository,
            path: common.path,
            result: common.result,
            repository_key: common.repository_key,
            store_retry: common.store_retry_seconds.map(Duration::from_secs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mover_requests_are_quantities_and_zero_requests_nothing() {
        assert_eq!(mover_requests("250m", "256Mi").unwrap(), [("cpu".to_owned(), "250m".to_owned()), ("memory".to_owned(), "256Mi".to_owned())]);
        assert_eq!(mover_requests("0", "1Gi").unwrap(), [("memory".to_owned(), "1Gi".to_owned())]);
        let error = mover_requests("lots", "1Gi").unwrap_err();
        assert_eq!(error.status(), crate::error::ExitStatus::Usage);
        assert!(format!("{error:?}").contains("--mover-cpu `lots` is not a Kubernetes quantity"), "{error:?}");
    }
}
