//! Errors and exit codes of the command line.

use crate::terminal::diag;
use std::process::ExitCode;

/// Exit codes: stable, documented in the README, for CI pipelines to act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: done, nothing blocking found.
    Success,
    /// 1: ferry could not do its job (unreadable path, cluster unreachable, corrupt archive, cannot write output).
    Failure,
    /// 2: the command line is wrong.
    Usage,
    /// 3: blocking findings: API versions removed in the target version (or deprecated ones with
    /// `--fail-on deprecated`); for transform/apply, objects that cannot go to the target.
    Blockers,
    /// 4: incomplete: some input could not be read, or some objects were not applied (`--resume` finishes them).
    IncompleteInput,
    /// 5: `ferry cutover`: a health gate failed and the last good weights were restored.
    RolledBack,
    /// 6: `ferry verify`: at parity, but something on the target is not ready.
    NotReady,
    /// A code of another tool's documented scheme, chosen by the user (`assess --exit-codes=pluto`).
    Foreign(u8),
}

impl ExitStatus {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Usage => 2,
            ExitStatus::Blockers => 3,
            ExitStatus::IncompleteInput => 4,
            ExitStatus::RolledBack => 5,
            ExitStatus::NotReady => 6,
            ExitStatus::Foreign(code) => code,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> Self {
        ExitCode::from(s.code())
    }
}

/// An error for the user, with what caused it and what to do.
#[derive(Debug)]
pub struct CliError {
    message: String,
    causes: Vec<String>,
    hint: Option<String>,
    status: ExitStatus,
}

impl CliError {
    /// A usage error (exit code 2).
    pub fn usage(message: impl Into<String>, hint: Option<String>) -> Self {
        CliError { message: message.into(), causes: Vec::new(), hint, status: ExitStatus::Usage }
    }

    /// A failure with its chain of causes (exit code 1).
    pub fn failure(message: impl Into<String>, source: &(dyn std::error::Error + 'static)) -> Self {
        let mut causes = Vec::new();
        let mut next = Some(source);
        while let Some(err) = next {
            causes.push(err.to_string());
            next = err.source();
        }
        CliError { message: message.into(), causes, hint: None, status: ExitStatus::Failure }
    }

    /// A failure that no underlying error caused (exit code 1).
    pub fn could_not_run(message: impl Into<String>) -> Self {
        CliError { message: message.into(), causes: Vec::new(), hint: None, status: ExitStatus::Failure }
    }

    /// Adds a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Exits with `status` instead (e.g. 3 for a refusal that findings caused).
    pub fn with_status(mut self, status: ExitStatus) -> Self {
        self.status = status;
        self
    }

    /// The exit status this error maps to.
    pub fn status(&self) -> ExitStatus {
        self.status
    }

    /// Prints the error to stderr.
    pub fn print(&self) {
        diag!("error: {}", self.message);
        for cause in &self.causes {
            diag!("  Caused by: {cause}");
        }
        if let Some(hint) = &self.hint {
            diag!("hint: {hint}");
        }
    }
}
