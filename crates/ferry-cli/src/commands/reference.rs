//! References generated from the clap definition, so that they never drift from it: shell
//! completion scripts (`ferry completion`) and man pages (checked in under docs/man/; the test
//! `tests/reference.rs` writes fresh ones and compares, `FERRY_UPDATE_MAN=1` updates them).

use std::path::Path;

use clap::CommandFactory as _;
use clap_complete::Shell;

use crate::args::Cli;
use crate::error::{CliError, ExitStatus};

/// Prints the completion script for `shell` on standard output.
pub fn completion(shell: Shell) -> Result<ExitStatus, CliError> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "ferry", &mut script);
    super::print_stdout(&script)?;
    Ok(ExitStatus::Success)
}

/// Writes one man page per command into `dir` (`ferry.1`, `ferry-assess.1`, `ferry-images-plan.1`, ...).
pub fn write_man_pages(dir: &Path) -> std::io::Result<()> {
    clap_mangen::generate_to(Cli::command(), dir)
}
