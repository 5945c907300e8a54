//! `ferry transform`: archive in, transformed archive (and/or a diff) out.

use std::io::Write as _;

use ferry_analysis::DEFAULT_TARGET_VERSION;

use crate::args::TransformCommand;
use crate::commands::{archive, cluster, pipeline};
use crate::error::{CliError, ExitStatus};

/// Transforms the archive.
pub fn run(command: TransformCommand) -> Result<ExitStatus, CliError> {
    let rules = pipeline::rules(&command.transform)?;
    let options = ferry_transform::Options { target_version: command.transform.target_version.unwrap_or(DEFAULT_TARGET_VERSION), rules };
    cluster::runtime()?.block_on(async {
        let (manifest, entries) = archive::read(&command.from, &command.archive).await?;
        let resources: std::collections::HashMap<ferry_model::ObjectId, String> = entries.iter().map(|e| (e.id.clone(), e.resource.clone())).collect();
        let stdout = std::io::stdout();
        let mut lock = stdout.lock();
        let diff: Option<&mut dyn std::io::Write> = if command.diff { Some(&mut lock) } else { None };
        let prepared = pipeline::transform_all(entries.into_iter().map(|e| e.object), &options, diff)?;
        lock.flush().map_err(|e| CliError::failure("cannot write to standard output", &e))?;
        for line in &prepared.blocked {
            eprintln!("error: cannot go to the target: {line}");
        }
        if let Some(to) = &command.to {
            let objects = prepared.objects.iter().map(|o| {
                let resource = resources.get(&o.id).map_or("", String::as_str);
                (o.id.clone(), resource, o.object.clone())
            });
            archive::write(to, &command.archive, manifest.header, objects).await?;
        }
        eprintln!(
            "transformed {} objects for Kubernetes {}: {} changed, {} left out, {} cannot go to the target",
            prepared.objects.len() + prepared.left_out + prepared.blocked.len(),
            options.target_version,
            prepared.changed,
            prepared.left_out,
            prepared.blocked.len()
        );
        Ok(if prepared.blocked.is_empty() { ExitStatus::Success } else { ExitStatus::Blockers })
    })
}
