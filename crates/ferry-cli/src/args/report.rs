//! Arguments of `ferry report` and the settings resolved from them.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

pub(super) const REPORT_EXAMPLES: &str = "\
Examples:
  ferry report verify.json volumes.json images.json smoke.json timeline.json
  ferry report *.json -o html --out migration.html
  ferry report verify.json timeline.json -o markdown >> CHANGE-1234.md
  ferry report *.json -o json | jq .passed

Each FILE is one that a step of ferry wrote: `ferry verify -o json`, `ferry volumes
verify|cutover --evidence`, `ferry images copy --evidence`, `ferry smoke --out`, `ferry cutover
-o json` (or any file of the evidence shape in ferry-verify's documentation). The record names
each file with the SHA-256 of its bytes. The HTML page draws each cut-over: the new side's share
of the traffic over time, every gate evaluation and every rollback.

Exit codes:
  0  every step the files record passed (a cut-over's dry run counts as neither)
  1  a file cannot be read, is not JSON, or is no record of a ferry step
  2  wrong command line
  3  a step failed: a verdict other than ready, a failed check, a rolled-back or undone cut-over";

/// Output formats of `ferry report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RecordFormat {
    /// The steps and their results, and the verdict.
    Table,
    /// JSON, format `ferry.migration-record/v1`: each file's step, status, summary and SHA-256.
    Json,
    /// Markdown: the steps, then what each file found.
    Markdown,
    /// One self-contained HTML page, with each cut-over drawn.
    Html,
}

/// Arguments of `ferry report`.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Files ferry's steps wrote (verify reports, evidence files, cut-over timelines), in the order to show them.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = RecordFormat::Table)]
    pub output: RecordFormat,
    /// Write the record to FILE instead of standard output (replaced atomically).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Settings of `ferry report`.
#[derive(Debug)]
pub struct RecordSettings {
    /// The files, in order.
    pub files: Vec<PathBuf>,
    /// Output format.
    pub format: RecordFormat,
    /// Where to write the record (`None`: standard output).
    pub out: Option<PathBuf>,
}

impl From<RecordArgs> for RecordSettings {
    fn from(args: RecordArgs) -> Self {
        let RecordArgs { files, output, out } = args;
        RecordSettings { files, format: output, out }
    }
}
