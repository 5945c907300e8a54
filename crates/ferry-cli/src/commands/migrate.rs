//! `ferry migrate`: export, transform and apply in one step.

use ferry_cluster::apply::ApplyObject;

use crate::args::MigrateCommand;
use crate::commands::{archive, cluster, export, pipeline};
use crate::error::{CliError, ExitStatus};

/// Moves the selected objects from the source cluster to the target.
pub fn run(command: MigrateCommand) -> Result<ExitStatus, CliError> {
    let rules = pipeline::rules(&command.transform)?;
    cluster::runtime()?.block_on(async {
        let source = cluster::read_source(&command.source).await?;
        let read_status = export::incomplete_if_unreadable(&source.unreadable);
        if let Some(to) = &command.archive_to {
            let header = export::header(&command.source, &source.connection);
            archive::write_selection(to, &command.archive, header, &source.selection).await?;
        }
        let target = cluster::connect(&command.apply.connect).await?;
        let options = ferry_transform::Options { target_version: pipeline::target_version(&command.transform, &target.server_version)?, rules };
        let objects = source.selection.objects.into_iter().map(|s| {
            s.object.to_value().map_err(|e| CliError::failure(format!("cannot read {} as the source cluster sent it; nothing was applied", s.object.id), &e))
        });
        let prepared = pipeline::transform_all(objects, &options, None, ApplyObject::new)?;
        if command.apply.plan_only {
            return pipeline::print_plan(&prepared);
        }
        let status = pipeline::apply_prepared(&target, prepared, &command.apply, "ferry migrate").await?;
        Ok(if status == ExitStatus::Success { read_status } else { status })
    })
}
