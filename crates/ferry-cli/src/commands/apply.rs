//! `ferry apply`: archive in, transformed for the target, applied in dependency order.

use crate::args::ApplyCommand;
use crate::commands::{archive, cluster, pipeline};
use crate::error::{CliError, ExitStatus};

/// Applies the archive to the target.
pub fn run(command: ApplyCommand) -> Result<ExitStatus, CliError> {
    let rules = pipeline::rules(&command.transform)?;
    cluster::runtime()?.block_on(async {
        let (_, entries) = archive::read(&command.from, &command.archive).await?;
        let connection = cluster::connect(&command.apply.connect).await?;
        let options = ferry_transform::Options { target_version: pipeline::target_version(&command.transform, &connection.server_version)?, rules };
        // One object at a time: an entry's text is parsed, transformed, kept as text again and freed.
        let prepared = pipeline::transform_all(entries, &options, &command.transform, None, pipeline::apply_object)?;
        if let Some(stop) = pipeline::check_rules(&prepared, &command.transform) {
            return Ok(stop);
        }
        if command.apply.plan_only {
            return pipeline::print_plan(&prepared);
        }
        pipeline::apply_prepared(&connection, prepared, &command.apply, "ferry apply").await
    })
}
