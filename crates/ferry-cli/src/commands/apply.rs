//! `ferry apply`: an archive or manifests in, transformed for the target, applied in dependency order.

use crate::args::ApplyCommand;
use crate::commands::input::Source;
use crate::commands::{cluster, pipeline};
use crate::error::{CliError, ExitStatus};

/// Applies the archive or manifests to the target.
pub fn run(command: ApplyCommand) -> Result<ExitStatus, CliError> {
    let rules = pipeline::rules(&command.transform)?;
    cluster::runtime()?.block_on(async {
        let source = Source::read(&command.from, &command.archive, &command.input, "nothing was applied").await?;
        let connection = cluster::connect(&command.apply.connect).await?;
        let options = ferry_transform::Options { target_version: pipeline::target_version(&command.transform, &connection.server_version)?, rules };
        // One object at a time: an entry's text is parsed, transformed, kept as text again and freed.
        let refused = source.refused().to_vec();
        let mut prepared = pipeline::transform_all(source.into_objects(), &options, &command.transform, None, pipeline::apply_object)?;
        pipeline::refuse(&mut prepared, &refused);
        if let Some(stop) = pipeline::check_rules(&prepared, &command.transform) {
            return Ok(stop);
        }
        if command.apply.plan_only {
            return pipeline::print_plan(&prepared);
        }
        pipeline::apply_prepared(&connection, prepared, &command.apply, "ferry apply").await
    })
}
