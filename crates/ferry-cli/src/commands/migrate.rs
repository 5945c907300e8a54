//! `ferry migrate`: export, transform and apply in one step.

use crate::args::MigrateCommand;
use crate::commands::{archive, cluster, export, pipeline};
use crate::error::{CliError, ExitStatus};

/// Moves the selected objects from the source cluster to the target.
pub fn run(command: MigrateCommand) -> Result<ExitStatus, CliError> {
    let rules = pipeline::rules(&command.transform)?;
    cluster::runtime()?.block_on(async {
        let source = cluster::open_source(&command.source).await?;
        let archive = match &command.archive_to {
            Some(to) => Some(archive::Streamed::create(to, &command.archive, export::header(&command.source, &source.connection)).await?),
            None => None,
        };
        // The chosen objects are kept for the transform and, with --archive-to, written meanwhile.
        let mut objects = Vec::new();
        let encode = |chosen: Vec<_>| (archive.as_ref().map(|archive| archive.encode(&chosen)), chosen);
        let read = cluster::read_source(&source, &command.source, &encode, |(batch, chosen)| {
            objects.extend(chosen.into_iter().map(|(object, _)| object));
            batch.zip(archive.as_ref()).is_none_or(|(batch, archive)| archive.add(batch))
        })
        .await;
        if let Some(archive) = archive {
            archive.finish().await?;
        }
        let read_status = export::incomplete_if_unreadable(&read.unreadable);
        let target = cluster::connect(&command.apply.connect).await?;
        let options = ferry_transform::Options { target_version: pipeline::target_version(&command.transform, &target.server_version)?, rules };
        let objects = objects.into_iter().map(|object| {
            object.to_value().map_err(|e| CliError::failure(format!("cannot read {} as the source cluster sent it; nothing was applied", object.id), &e))
        });
        let prepared = pipeline::transform_all(objects, &options, &command.transform, None, pipeline::apply_object)?;
        if let Some(stop) = pipeline::check_rules(&prepared, &command.transform) {
            return Ok(stop);
        }
        if command.apply.plan_only {
            return pipeline::print_plan(&prepared);
        }
        let status = pipeline::apply_prepared(&target, prepared, &command.apply, "ferry migrate").await?;
        Ok(if status == ExitStatus::Success { read_status } else { status })
    })
}
