//! The ferry command line: argument parsing, settings, and dispatch to
//! commands. Commands receive plain settings (never clap types) and return an
//! [`ExitStatus`]; errors are printed here, once, as `error:` / `Caused by:` / `hint:`,
//! and every diagnostic goes through one filter of control characters (`terminal`).

mod args;
mod commands;
mod error;
mod memory;
mod progress;
mod terminal;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{CommandFactory as _, FromArgMatches as _};

pub use commands::reference::write_man_pages;
pub use error::{CliError, ExitStatus};

/// Runs ferry with the given arguments (the first is the program name).
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let args: Vec<OsString> = args.into_iter().collect();
    let command = args::Cli::command().bin_name(args::bin_name(args.first().map(OsString::as_os_str)));
    let cli = match command.try_get_matches_from(args).and_then(|matches| args::Cli::from_arg_matches(&matches)) {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() { ExitStatus::Usage.into() } else { ExitStatus::Success.into() };
        }
    };
    match args::request_timeout(cli.request_timeout.as_deref()) {
        Ok(timeout) => commands::set_request_timeout(timeout),
        Err(err) => {
            err.print();
            return err.status().into();
        }
    }
    let result = match cli.command {
        args::Command::Assess(assess) => args::AssessSettings::resolve(assess).and_then(commands::assess::run),
        args::Command::Export(export) => args::ExportSettings::resolve(export).and_then(commands::export::run),
        args::Command::Transform(transform) => args::TransformCommand::resolve(transform).and_then(commands::transform::run),
        args::Command::Apply(apply) => args::ApplyCommand::resolve(apply).and_then(commands::apply::run),
        args::Command::Migrate(migrate) => args::MigrateCommand::resolve(migrate).and_then(commands::migrate::run),
        args::Command::Images(args::ImagesCommand::PushFerry(push)) => args::PushFerrySettings::resolve(push).and_then(commands::images::run),
        args::Command::Images(args::ImagesCommand::Plan(plan)) => args::ImagesPlanSettings::resolve(plan).and_then(commands::images::plan),
        args::Command::Images(args::ImagesCommand::Copy(copy)) => args::ImagesCopySettings::resolve(copy).and_then(commands::images::copy),
        args::Command::Certs(certs) => args::CertsSettings::resolve(certs).and_then(commands::certs::run),
        args::Command::Smoke(smoke) => args::SmokeSettings::resolve(smoke).and_then(commands::smoke::run),
        args::Command::Cutover(cutover) => args::CutoverSettings::resolve(cutover).and_then(commands::cutover::run),
        args::Command::Verify(verify) => args::VerifyCommand::resolve(verify).and_then(commands::verify::run),
        args::Command::Preflight(preflight) => args::PreflightCommand::resolve(preflight).and_then(commands::preflight::run),
        args::Command::Report(report) => commands::report::run(report.into()),
        args::Command::Volumes(volumes) => args::VolumesSettings::resolve(volumes).and_then(commands::volumes::run),
        args::Command::Version(version) => commands::version::run(args::VersionSettings::resolve(version)),
        args::Command::Completion(completion) => commands::reference::completion(completion.shell),
    };
    match result {
        Ok(status) => status.into(),
        Err(err) => {
            err.print();
            err.status().into()
        }
    }
}
