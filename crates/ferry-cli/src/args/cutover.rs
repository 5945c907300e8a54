//! Arguments of `ferry cutover` and the settings resolved from them.

use std::path::PathBuf;

use clap::Args;
use ferry_cutover::Mode;

use super::SummaryFormat;
use crate::error::CliError;

pub(super) const CUTOVER_EXAMPLES: &str = "\
Examples:
  ferry cutover --plan cutover.yaml --dry-run      # check the plan, the driver and its key; change nothing
  ferry cutover --plan cutover.yaml                # shift step by step behind the gates
  ferry cutover --plan cutover.yaml --resume       # after ferry was interrupted
  ferry cutover --plan cutover.yaml --rollback     # restore the weights recorded before the first step
  ferry cutover --plan cutover.yaml -o json > timeline.json

The plan (docs/cutover.md) names a driver (PowerDNS weighted records, HAProxy server
weights, or an RFC 2136 update signed with TSIG switching A/AAAA records), the steps (percent of the traffic to the new side), the bake time per step and
the health gates evaluated every gate interval. A failing gate restores the last good
weights. Every change is journalled (default: the plan's path with `.journal`).

Exit codes:
  0  cut over (or rolled back with --rollback, or checked with --dry-run)
  1  ferry could not run (invalid plan, switch unreachable, key refused, journal held or foreign)
  2  wrong command line
  5  a gate failed: the last good weights were restored";

/// Arguments of `ferry cutover`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("mode").args(["dry_run", "resume", "rollback"]))]
pub struct CutoverArgs {
    /// The plan file (YAML, docs/cutover.md).
    #[arg(long, value_name = "FILE")]
    pub plan: PathBuf,
    /// Check the plan, the driver and its credentials and print the steps; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Go on with the run the journal records, from the first step whose gates did not hold.
    #[arg(long)]
    pub resume: bool,
    /// Restore the weights and TTL the journal recorded before the first change.
    #[arg(long)]
    pub rollback: bool,
    /// The journal file (default: the plan's path with the extension `.journal`).
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,
    /// Timeline format.
    #[arg(short, long, value_enum, default_value_t = SummaryFormat::Table)]
    pub output: SummaryFormat,
}

/// Settings of `ferry cutover`, resolved.
#[derive(Debug)]
pub struct CutoverSettings {
    /// The plan's text.
    pub plan_text: String,
    /// What to do.
    pub mode: Mode,
    /// The journal.
    pub journal: PathBuf,
    /// Timeline format.
    pub output: SummaryFormat,
}

impl CutoverSettings {
    /// Reads the plan and picks the mode.
    pub fn resolve(args: CutoverArgs) -> Result<Self, CliError> {
        let CutoverArgs { plan, dry_run, resume, rollback, journal, output } = args;
        let plan_text = std::fs::read_to_string(&plan).map_err(|e| CliError::failure(format!("cannot read the plan {}", plan.display()), &e))?;
        let mode = match (dry_run, resume, rollback) {
            (true, _, _) => Mode::DryRun,
            (_, true, _) => Mode::Resume,
            (_, _, true) => Mode::Rollback,
            _ => Mode::Fresh,
        };
        let journal = journal.unwrap_or_else(|| plan.with_extension("journal"));
        Ok(CutoverSettings { plan_text, mode, journal, output })
    }
}
