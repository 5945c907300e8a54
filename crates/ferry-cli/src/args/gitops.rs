//! Arguments for manifests in and YAML out (`transform`, `apply --from`): which copy of an
//! object given twice is kept, the output format, and what happens to Secrets (docs/gitops.md).

use clap::{Args, ValueEnum};
use ferry_analysis::{OnDuplicate, Scope};
use ferry_transform::gitops::Secrets;

use super::{OnDuplicateArg, ScopeArgs};
use crate::error::CliError;

impl OnDuplicateArg {
    /// The analysis' choice.
    pub fn resolve(self) -> OnDuplicate {
        match self {
            OnDuplicateArg::Error => OnDuplicate::Error,
            OnDuplicateArg::First => OnDuplicate::First,
            OnDuplicateArg::Last => OnDuplicate::Last,
        }
    }
}

/// Which objects of `--from` are read, and which copy of an object manifests give twice.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// Namespaces and labels of the objects read (an object whose manifest sets no namespace
    /// is kept, and still goes to `default` unless it is given one).
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Which copy of an object the manifests give more than once is kept (as for `ferry assess`).
    #[arg(long, value_enum, value_name = "WHICH", default_value_t = OnDuplicateArg::Error)]
    pub on_duplicate: OnDuplicateArg,
}

/// How `--from` is read, resolved.
#[derive(Debug)]
pub struct InputSettings {
    /// The objects kept (`-n`, `-l`).
    pub scope: Scope,
    /// Which copy of an object given twice is kept.
    pub on_duplicate: OnDuplicate,
}

impl InputArgs {
    /// Validates the selector.
    pub fn resolve(self) -> Result<InputSettings, CliError> {
        Ok(InputSettings { scope: self.scope.scope()?, on_duplicate: self.on_duplicate.resolve() })
    }
}

/// What `transform` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A ferry archive (docs/archive-format.md).
    Archive,
    /// YAML: a directory tree with a kustomization.yaml, or one stream with `--to -`.
    Yaml,
}

/// `transform -o`: what goes to standard output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TransformOutput {
    /// Nothing but diffs; a summary on standard error.
    Table,
    /// The whole transformation report as JSON.
    Json,
    /// The transformed objects as one multi-document YAML stream (the same as `--to - --format yaml`).
    Yaml,
}

/// `--secrets` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SecretsArg {
    /// Leave Secrets out of YAML, with a note for each.
    Omit,
    /// Write Secrets to YAML as they are (their values base64-encoded, not encrypted).
    Plain,
}

/// Where and how `transform` writes YAML.
#[derive(Debug, Args)]
pub struct YamlArgs {
    /// Output format (default: archive; yaml with `--to -`).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,
    /// Secrets in YAML output: left out with a note (omit), or written in clear (plain).
    #[arg(long, value_enum, value_name = "WHAT", default_value_t = SecretsArg::Omit)]
    pub secrets: SecretsArg,
}

/// Where `transform` writes, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Nothing (`--diff` only).
    Nothing,
    /// An archive at this location.
    Archive(String),
    /// A YAML tree in this directory.
    Tree(std::path::PathBuf),
    /// One YAML stream on standard output.
    Stream,
}

impl YamlArgs {
    /// The output `--to`, `--format` and `-o yaml` (`stream`) ask for, and the Secrets policy.
    pub(super) fn resolve(&self, to: Option<String>, stream: bool) -> Result<(Output, Secrets), CliError> {
        let secrets = match self.secrets {
            SecretsArg::Omit => Secrets::Omit,
            SecretsArg::Plain => Secrets::Plain,
        };
        let output = match (to, self.format, stream) {
            (_, _, true) => Output::Stream,
            (None, ..) => Output::Nothing,
            (Some(to), Some(Format::Yaml) | None, _) if to == "-" => Output::Stream,
            (Some(to), Some(Format::Archive), _) if to == "-" => {
                return Err(CliError::usage("an archive cannot go to standard output", Some("give a file, a directory or an s3:// URL".into())));
            }
            (Some(to), Some(Format::Yaml), _) if to.contains("://") => {
                return Err(CliError::usage("`--format yaml` writes to a local directory", Some("give a directory, or `--to -` for standard output".into())));
            }
            (Some(to), Some(Format::Yaml), _) => Output::Tree(to.into()),
            (Some(to), _, _) => Output::Archive(to),
        };
        Ok((output, secrets))
    }
}
