//! `ferry transform`: an archive or manifests in; a transformed archive, a YAML tree or stream,
//! and/or a diff out.

use std::io::Write;

use ferry_analysis::DEFAULT_TARGET_VERSION;

use crate::args::{Output, TransformCommand};
use crate::commands::input::Source;
use crate::commands::{archive, cluster, gitops, pipeline};
use crate::error::{CliError, ExitStatus};
use crate::terminal::diag;

/// Transforms the input.
pub fn run(command: TransformCommand) -> Result<ExitStatus, CliError> {
    let rules = pipeline::rules(&command.transform)?;
    let options = ferry_transform::Options { target_version: command.transform.target_version.unwrap_or(DEFAULT_TARGET_VERSION), rules };
    cluster::runtime()?.block_on(async {
        let source = Source::read(&command.from, &command.archive, command.on_duplicate, "nothing was written").await?;
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        let diff = if command.diff { Some(pipeline::Diff { out: &mut out, show_secrets: command.show_secrets }) } else { None };
        let mut prepared = pipeline::transform_all(source.objects(), &options, diff, |origin, id, object| (id, object, origin))?;
        prepared.blocked.extend_from_slice(source.refused());
        match out.flush() {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(CliError::failure("cannot write to standard output", &e)),
            _ => {}
        }
        drop(out);
        for line in &prepared.blocked {
            diag!("error: cannot go to the target: {line}");
        }
        prepared.left_out += source.once_after_transform(&mut prepared.objects, command.on_duplicate, "nothing was written")?;
        let objects = || prepared.objects.iter().map(|(id, object, _)| (id, object));
        match &command.to {
            Output::Nothing => {}
            Output::Archive(to) => {
                // The resource each object was exported from, as the source archive records it.
                let objects = prepared.objects.iter().map(|(id, object, origin)| (id.clone(), source.resource(*origin), object));
                archive::write(to, &command.archive, source.header(), objects).await?;
            }
            Output::Tree(dir) => {
                let files = gitops::write_tree(dir, objects(), command.secrets).await?;
                diag!("wrote {files} files to {}", dir.display());
            }
            Output::Stream => gitops::write_stream(objects(), command.secrets)?,
        }
        let changed = if command.diff { format!(" ({} changed)", prepared.changed) } else { String::new() };
        diag!(
            "transformed {} objects for Kubernetes {}{changed}: {} left out, {} cannot go to the target",
            prepared.objects.len() + prepared.left_out + prepared.blocked.len(),
            options.target_version,
            prepared.left_out,
            prepared.blocked.len()
        );
        Ok(if prepared.blocked.is_empty() { ExitStatus::Success } else { ExitStatus::Blockers })
    })
}
