//! Command-line arguments (clap) and the settings resolved from them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use ferry_analysis::{KubeVersion, Options, PROFILES, Source};

use crate::error::CliError;

mod certs;
mod cluster;
mod cutover;
mod gitops;
mod images;
mod moving;
mod objects;
mod preflight;
mod report;
mod scope;
mod smoke;
mod verify;
mod version;
mod volumes;
pub use certs::*;
pub use cluster::*;
pub use cutover::*;
pub use gitops::*;
pub use images::*;
pub use moving::*;
pub use objects::*;
pub use preflight::*;
pub use report::*;
pub use scope::*;
pub use smoke::*;
pub use verify::*;
pub use version::*;
pub use volumes::*;

/// ferry: carry Kubernetes workloads from one cluster to another.
#[derive(Debug, Parser)]
#[command(name = "ferry", version, about, long_about = None, propagate_version = true, after_help = FERRY_EXAMPLES)]
pub struct Cli {
    /// How long one request to an API server may take before giving up, e.g. `30s`, `1m`; `0` for no limit [default: 10s to connect, 120s per read].
    #[arg(long, global = true, value_name = "DURATION")]
    pub request_timeout: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

const FERRY_EXAMPLES: &str = "\
Examples:
  ferry assess examples/aks-shop
  ferry migrate --context old --to-context new -n shop
  ferry version --context prod-aks
  source <(ferry completion bash)
  kubectl ferry version --client   # with a `kubectl-ferry` link to ferry on PATH (README)

Exit codes (each command's --help details them):
  0 done  1 could not run  2 wrong command line  3 findings or differences  4 incomplete
  5 cut-over rolled back  6 verified at parity but not ready";

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Assess manifests before a migration: inventory, dependencies, cloud services, deprecated APIs, waves.
    #[command(after_help = ASSESS_EXAMPLES)]
    Assess(AssessArgs),
    /// Export a cluster's objects to an archive (a file, a directory or s3://bucket/key).
    #[command(after_help = EXPORT_EXAMPLES)]
    Export(ExportArgs),
    /// Transform an archive or manifests for the target (strip cluster state, convert API versions, apply rules) into an archive or YAML.
    #[command(after_help = TRANSFORM_EXAMPLES)]
    Transform(TransformArgs),
    /// Apply an archive or manifests to the target cluster in dependency order (server-side apply, resumable).
    #[command(after_help = APPLY_EXAMPLES)]
    Apply(ApplyArgs),
    /// Export, transform and apply in one step, from one cluster to another.
    #[command(after_help = MIGRATE_EXAMPLES)]
    Migrate(MigrateArgs),
    /// Container images: build ferry's own and push it to a registry.
    #[command(subcommand)]
    Images(ImagesCommand),
    /// Check TLS certificates, cert-manager objects and Ingresses so that certificates move without being issued again.
    #[command(after_help = CERTS_EXAMPLES)]
    Certs(CertsArgs),
    /// Smoke-test the new cluster over real TLS before DNS moves: every Ingress host and path, and user-defined checks.
    #[command(after_help = SMOKE_EXAMPLES)]
    Smoke(SmokeArgs),
    /// Shift traffic from the old cluster to the new one step by step behind health gates, with automatic rollback.
    #[command(after_help = CUTOVER_EXAMPLES)]
    Cutover(CutoverArgs),
    /// Verify a migration: source, transformation and target compared field by field, and the target's workloads ready.
    #[command(after_help = VERIFY_EXAMPLES)]
    Verify(VerifyArgs),
    /// Check a target before migrating to it, read-only: a server-side dry run, classes and CRDs needed, version skew.
    #[command(after_help = PREFLIGHT_EXAMPLES)]
    Preflight(PreflightArgs),
    /// Gather the evidence of a migration's steps (verify, volumes, images, smoke tests, cut-over) into one record.
    #[command(after_help = REPORT_EXAMPLES)]
    Report(RecordArgs),
    /// Move persistent-volume data: plan, warm sync passes, cutover and verification with evidence.
    #[command(subcommand, after_help = VOLUMES_EXAMPLES)]
    Volumes(VolumesCommand),
    /// Show ferry's version, the commit and target it was built for, and with a context the API server's version.
    #[command(after_help = VERSION_EXAMPLES)]
    Version(VersionArgs),
    /// Print a shell completion script: bash, zsh, fish, powershell or elvish.
    #[command(after_help = COMPLETION_EXAMPLES)]
    Completion(CompletionArgs),
}

const COMPLETION_EXAMPLES: &str = "\
Examples:
  source <(ferry completion bash)                       # this bash session
  ferry completion bash > /etc/bash_completion.d/ferry  # every bash session
  ferry completion zsh > \"${fpath[1]}/_ferry\"
  ferry completion fish > ~/.config/fish/completions/ferry.fish
  ferry completion powershell >> $PROFILE";

/// Arguments of `ferry completion`.
#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `90s`, `5m`, `1h` or a number of seconds, given as `flag`.
fn parse_duration(flag: &str, text: &str) -> Result<std::time::Duration, CliError> {
    let (number, unit) = text.find(|c: char| !c.is_ascii_digit()).map_or((text, ""), |at| text.split_at(at));
    let seconds = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => 0,
    };
    match number.parse::<u64>() {
        Ok(n) if seconds > 0 => Ok(std::time::Duration::from_secs(n.saturating_mul(seconds))),
        _ => Err(CliError::usage(format!("invalid `{flag}` duration `{text}`"), Some("write e.g. `90s`, `5m`, `1h` or a number of seconds".into()))),
    }
}

/// `--request-timeout`, as kubectl reads it: `0` for no limit, else a duration.
pub fn request_timeout(text: Option<&str>) -> Result<ferry_cluster::RequestTimeout, CliError> {
    Ok(match text.map(|t| parse_duration("--request-timeout", t)).transpose()? {
        None => ferry_cluster::RequestTimeout::Default,
        Some(limit) if limit.is_zero() => ferry_cluster::RequestTimeout::Unlimited,
        Some(limit) => ferry_cluster::RequestTimeout::After(limit),
    })
}

/// The program name usage lines show: `kubectl ferry` when started as the kubectl plugin
/// `kubectl-ferry` (kubectl runs plugins by their path), else `ferry` whatever the file is called.
pub fn bin_name(argv0: Option<&std::ffi::OsStr>) -> &'static str {
    let file = argv0.and_then(|a| std::path::Path::new(a).file_stem()).and_then(|f| f.to_str());
    if file == Some("kubectl-ferry") { "kubectl ferry" } else { "ferry" }
}

const VERSION_EXAMPLES: &str = "\
Examples:
  ferry version
  ferry version --client -o json
  ferry version --context prod-aks -o yaml

Exit codes:
  0  versions shown
  1  the cluster could not be reached (with --context or --kubeconfig)
  2  wrong command line";

const ASSESS_EXAMPLES: &str = "\
Examples:
  ferry assess examples/aks-shop
  ferry assess --context prod-aks -n shop -n payments -o html --out report.html
  ferry assess --kubeconfig ~/.kube/old-cluster --context admin -l app.kubernetes.io/part-of=shop
  ferry assess rendered/ --target-version 1.29 -o json --out assessment.json
  ferry assess manifests/ --profile eks -o html --out report.html
  helm template shop ./chart | tee /tmp/shop.yaml >/dev/null && ferry assess /tmp/shop.yaml -o markdown
  ferry assess overlays/ --on-duplicate=last
  ferry assess rendered/ -n shop -l app.kubernetes.io/part-of=shop -o name
  ferry assess --context prod-aks -A -o wide
  ferry assess manifests/ --exit-codes=pluto --target-version 1.29

The last line of the report (on stderr with -o json|markdown|html or --out) is the verdict:
what blocks, and the exit code it gives.

Exit codes:
  0  assessment done, nothing blocking
  1  ferry could not run (unreadable path, cannot write output)
  2  wrong command line
  3  blocking findings (API versions removed in the target version; deprecated too with --fail-on deprecated)
  4  the assessment is incomplete or ambiguous (takes precedence over 3): some input could not
     be read, an object is given twice with different content (see --on-duplicate), or the
     input holds no Kubernetes object (see --allow-empty); on a cluster: a resource was
     forbidden or an API group did not answer (each is listed)

With --exit-codes=pluto (Pluto's codes; --fail-on defaults to deprecated):
  0  nothing blocking     1  ferry could not run, or the input is incomplete or ambiguous
  2  deprecated APIs      3  removed APIs (over 2)
  4  an API whose replacement the target does not serve, or that has none (over 2 and 3)";

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Readable summary for a terminal.
    Table,
    /// The summary with nothing shortened, whatever the terminal's width (full paths).
    Wide,
    /// `kind/name` of every object assessed, one a line, as `kubectl get -o name` prints them.
    Name,
    /// JSON, schema `ferry.assessment/v1` (docs/assessment-schema.md).
    Json,
    /// The same document as YAML.
    Yaml,
    /// Markdown.
    Markdown,
    /// One self-contained HTML page with the dependency graph.
    Html,
}

/// What makes `assess` exit with code 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// API versions removed in the target version.
    Removed,
    /// Deprecated or removed API versions.
    Deprecated,
    /// Never exit 3.
    Never,
}

/// Which exit codes `assess` gives for its findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExitCodes {
    /// ferry's own (see README): 3 for blocking findings, 4 for incomplete input.
    Ferry,
    /// Pluto's: 2 deprecated, 3 removed, 4 replacement not available on the target, 1 for input
    /// ferry cannot assess in full (unreadable documents, duplicates, no objects).
    Pluto,
}

/// Which copy of an object given more than once `assess` keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnDuplicateArg {
    /// Keep the first; copies that differ are errors (exit code 4), identical ones warnings.
    Error,
    /// Keep the first copy; the others are notes.
    First,
    /// Keep the last copy; the others are notes.
    Last,
}

/// Arguments of `ferry assess`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("live").args(["context", "kubeconfig"]).multiple(true))]
pub struct AssessArgs {
    /// Manifest files or directories (searched recursively for *.yaml, *.yml, *.json).
    #[arg(value_name = "PATH", required_unless_present_any = ["context", "kubeconfig"], conflicts_with_all = ["context", "kubeconfig"])]
    pub paths: Vec<PathBuf>,
    /// Assess a live cluster through this kubeconfig context (instead of PATHs).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Kubeconfig file (default: $KUBECONFIG, a list of files, or ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Namespaces and labels, of a cluster or of manifests (an object whose manifest sets no
    /// namespace is in every namespace given, as `kubectl apply -n` would create it there).
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Lists in flight at once when reading a cluster.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64), requires = "live")]
    pub concurrency: u16,
    /// Kubernetes version of the target cluster, e.g. 1.29.
    #[arg(long, value_name = "X.Y", default_value_t = ferry_analysis::DEFAULT_TARGET_VERSION.to_string())]
    pub target_version: String,
    /// Target profile for cloud counterparts: oss (sovereign / Compliant Kubernetes), aks, eks or gke.
    #[arg(long, value_name = "PROFILE", default_value = "oss")]
    pub profile: String,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    /// Write the output to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Which findings block (exit code 3; with `--exit-codes=pluto`: 2, 3 or 4) [default: removed; deprecated with `--exit-codes=pluto`].
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,
    /// Exit codes of ferry (see README) or of Pluto (2 deprecated, 3 removed, 4 replacement not available), for pipelines moving from Pluto.
    #[arg(long, value_enum, default_value_t = ExitCodes::Ferry)]
    pub exit_codes: ExitCodes,
    /// An object (API group, kind, namespace, name) given more than once: an error (keeping the first copy), or keep the first or the last copy.
    #[arg(long, value_enum, default_value_t = OnDuplicateArg::Error)]
    pub on_duplicate: OnDuplicateArg,
    /// Accept input without any Kubernetes object (otherwise exit code 4).
    #[arg(long)]
    pub allow_empty: bool,
}

/// Where `ferry assess` reads objects from.
#[derive(Debug)]
pub enum Input {
    /// Manifest files and directories.
    Paths(Vec<PathBuf>),
    /// A live cluster.
    Cluster {
        /// Kubeconfig and context.
        connect: ferry_cluster::ConnectOptions,
        /// Namespaces, selector, concurrency.
        read: ferry_cluster::ReadOptions,
    },
}

/// Settings for the assess command, validated.
#[derive(Debug)]
pub struct AssessSettings {
    /// Inputs.
    pub input: Input,
    /// Analysis options.
    pub options: Options,
    /// Output format.
    pub output: OutputFormat,
    /// Output file.
    pub out: Option<PathBuf>,
    /// Which findings block.
    pub fail_on: FailOn,
    /// Whose exit codes.
    pub exit_codes: ExitCodes,
}

impl AssessSettings {
    /// Validates the arguments.
    pub fn resolve(args: AssessArgs) -> Result<Self, CliError> {
        let AssessArgs { paths, context, kubeconfig, scope, concurrency, target_version, profile, output, out, fail_on, exit_codes, on_duplicate, allow_empty } =
            args;
        let target_version: KubeVersion = target_version
            .parse()
            .map_err(|e: String| CliError::usage(format!("invalid `--target-version`: {e}"), Some("use MAJOR.MINOR, e.g. `--target-version 1.29`".into())))?;
        if !PROFILES.contains(&profile.as_str()) {
            return Err(CliError::usage(format!("unknown `--profile` `{profile}`"), Some(format!("choose one of: {}", PROFILES.join(", ")))));
        }
        let kept = scope.scope()?;
        let (input, source) = if paths.is_empty() {
            let connect = ferry_cluster::ConnectOptions { kubeconfig, context };
            let ScopeArgs { namespace: NamespaceArgs { namespaces, .. }, selector } = scope;
            let read = ferry_cluster::ReadOptions { namespaces, selector, concurrency: usize::from(concurrency), ..Default::default() };
            (Input::Cluster { connect, read }, Source::Cluster)
        } else {
            (Input::Paths(paths), Source::Manifests)
        };
        let fail_on = fail_on.unwrap_or(match exit_codes {
            ExitCodes::Ferry => FailOn::Removed,
            ExitCodes::Pluto => FailOn::Deprecated,
        });
        let on_duplicate = on_duplicate.resolve();
        let options = Options { target_version, profile, source, on_duplicate, allow_empty, scope: kept };
        Ok(AssessSettings { input, options, output, out, fail_on, exit_codes })
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    /// Every `ferry ...` example line of every command's help, as words (a trailing `# comment`
    /// and `> redirection` left out; quotes are not used in the examples).
    fn examples(command: &clap::Command, out: &mut Vec<(String, Vec<String>)>) {
        let help = command.get_after_help().map(ToString::to_string).unwrap_or_default();
        for line in help.lines().map(str::trim).filter(|l| l.starts_with("ferry ")) {
            let line = line.split(" #").next().unwrap().split(" >").next().unwrap();
            out.push((command.get_name().to_owned(), line.split_whitespace().map(str::to_owned).collect()));
        }
        for sub in command.get_subcommands() {
            examples(sub, out);
        }
    }

    #[test]
    fn every_example_in_the_help_parses() {
        let mut found = Vec::new();
        examples(&Cli::command(), &mut found);
        assert!(found.len() > 40, "{found:?}");
        for (command, words) in found {
            if let Err(e) = Cli::command().try_get_matches_from(&words) {
                panic!("an example of `{command}` does not parse: `{}`\n{e}", words.join(" "));
            }
        }
    }

    #[test]
    fn durations_take_seconds_minutes_and_hours() {
        use std::time::Duration;
        assert_eq!(parse_duration("--wait", "90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("--wait", "5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("--wait", "1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_duration("--wait", "42").unwrap(), Duration::from_secs(42));
        for bad in ["", "m", "5d", "-1s", "1.5m"] {
            assert!(parse_duration("--wait", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn request_timeouts_are_read_as_kubectl_reads_them() {
        use ferry_cluster::RequestTimeout;
        assert_eq!(request_timeout(None).unwrap(), RequestTimeout::Default);
        assert_eq!(request_timeout(Some("0")).unwrap(), RequestTimeout::Unlimited);
        assert_eq!(request_timeout(Some("0s")).unwrap(), RequestTimeout::Unlimited);
        assert_eq!(request_timeout(Some("1m")).unwrap(), RequestTimeout::After(std::time::Duration::from_secs(60)));
        assert!(request_timeout(Some("soon")).is_err());
    }

    #[test]
    fn usage_names_kubectl_ferry_only_for_the_kubectl_plugin() {
        let name = |argv0: &str| bin_name(Some(std::ffi::OsStr::new(argv0)));
        assert_eq!(name("/home/u/.local/bin/kubectl-ferry"), "kubectl ferry");
        assert_eq!(name("kubectl-ferry.exe"), "kubectl ferry");
        assert_eq!(name("/usr/bin/ferry"), "ferry");
        assert_eq!(name("./ferry-x86_64-linux"), "ferry");
        assert_eq!(bin_name(None), "ferry");
    }
}
