//! Command-line arguments (clap) and the settings resolved from them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use ferry_analysis::{KubeVersion, Options, PROFILES};
use ferry_report::Format;

use crate::error::CliError;

/// ferry: carry Kubernetes workloads from one cluster to another.
#[derive(Debug, Parser)]
#[command(name = "ferry", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Assess manifests before a migration: inventory, dependencies, cloud services, deprecated APIs, waves.
    #[command(after_help = ASSESS_EXAMPLES)]
    Assess(AssessArgs),
}

const ASSESS_EXAMPLES: &str = "\
Examples:
  ferry assess examples/aks-shop
  ferry assess rendered/ --target-version 1.29 -o json --out assessment.json
  ferry assess manifests/ --profile eks -o html --out report.html
  helm template shop ./chart | tee /tmp/shop.yaml >/dev/null && ferry assess /tmp/shop.yaml -o markdown

Exit codes:
  0  assessment done, nothing blocking
  1  ferry could not run (unreadable path, cannot write output)
  2  wrong command line
  3  blocking findings (API versions removed in the target version; deprecated too with --fail-on deprecated)
  4  some input could not be read: the assessment is incomplete (takes precedence over 3)";

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Readable summary for a terminal.
    Table,
    /// JSON, schema `ferry.assessment/v1` (docs/assessment-schema.md).
    Json,
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

/// Arguments of `ferry assess`.
#[derive(Debug, Args)]
pub struct AssessArgs {
    /// Manifest files or directories (searched recursively for *.yaml, *.yml, *.json).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
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
    /// Which findings make ferry exit with code 3.
    #[arg(long, value_enum, default_value_t = FailOn::Removed)]
    pub fail_on: FailOn,
}

/// Settings for the assess command, validated.
#[derive(Debug)]
pub struct AssessSettings {
    /// Inputs.
    pub paths: Vec<PathBuf>,
    /// Analysis options.
    pub options: Options,
    /// Output format.
    pub format: Format,
    /// Output file.
    pub out: Option<PathBuf>,
    /// Exit-code policy.
    pub fail_on: FailOn,
}

impl AssessSettings {
    /// Validates the arguments.
    pub fn resolve(args: AssessArgs) -> Result<Self, CliError> {
        let AssessArgs { paths, target_version, profile, output, out, fail_on } = args;
        let target_version: KubeVersion = target_version
            .parse()
            .map_err(|e: String| CliError::usage(format!("invalid `--target-version`: {e}"), Some("use MAJOR.MINOR, e.g. `--target-version 1.29`".into())))?;
        if !PROFILES.contains(&profile.as_str()) {
            return Err(CliError::usage(format!("unknown `--profile` `{profile}`"), Some(format!("choose one of: {}", PROFILES.join(", ")))));
        }
        let format = match output {
            OutputFormat::Table => Format::Table,
            OutputFormat::Json => Format::Json,
            OutputFormat::Markdown => Format::Markdown,
            OutputFormat::Html => Format::Html,
        };
        Ok(AssessSettings { paths, options: Options { target_version, profile }, format, out, fail_on })
    }
}
