//! `ferry transform`: an archive or manifests in; a transformed archive, a YAML tree or stream,
//! and/or a diff out.

use std::io::Write;

use ferry_analysis::DEFAULT_TARGET_VERSION;
use ferry_transform::Note;

use crate::args::{Output, SummaryFormat, TransformCommand};
use crate::commands::input::Source;
use crate::commands::{archive, cluster, gitops, pipeline};
use crate::error::{CliError, ExitStatus};
use crate::terminal::diag;

/// Transforms the input.
pub fn run(command: TransformCommand) -> Result<ExitStatus, CliError> {
    let rules = pipeline::rules(&command.transform)?;
    let options = ferry_transform::Options { target_version: command.transform.target_version.unwrap_or(DEFAULT_TARGET_VERSION), rules };
    cluster::runtime()?.block_on(async {
        let source = Source::read(&command.from, &command.archive, &command.input, "nothing was written").await?;
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        let diff = if command.diff { Some(pipeline::Diff { out: &mut out, show_secrets: command.show_secrets }) } else { None };
        let mut prepared = pipeline::transform_all(source.objects(), &options, &command.transform, diff, |origin, id, object| (id, object, origin))?;
        pipeline::refuse(&mut prepared, source.refused());
        match out.flush() {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(CliError::failure("cannot write to standard output", &e)),
            _ => {}
        }
        drop(out);
        for line in &prepared.blocked {
            diag!("error: cannot go to the target: {line}");
        }
        for copy in source.once_after_transform(&mut prepared.objects, command.input.on_duplicate, "nothing was written")? {
            prepared.report.left_out_after(&copy, Note::info("duplicate", "the same object as another after conversion: one copy is kept"));
        }
        if command.output == SummaryFormat::Json {
            pipeline::to_stdout(|out| writeln!(out, "{}", serde_json::to_string_pretty(&prepared.report).expect("the report serializes")))?;
        }
        if let Some(stop) = pipeline::check_rules(&prepared, &command.transform) {
            return Ok(stop);
        }
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
        let changed = if command.diff { format!(" ({} changed by the transformation)", prepared.changed) } else { String::new() };
        diag!("{}{changed}", pipeline::summary_line(&prepared.report, options.target_version));
        Ok(if prepared.report.counts.failed == 0 { ExitStatus::Success } else { ExitStatus::Blockers })
    })
}
