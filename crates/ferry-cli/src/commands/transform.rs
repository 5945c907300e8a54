//! `ferry transform`: archive in, transformed archive (and/or a diff) out.

use std::io::Write;

use ferry_analysis::DEFAULT_TARGET_VERSION;

use crate::args::{SummaryFormat, TransformCommand};
use crate::commands::{archive, cluster, pipeline};
use crate::error::{CliError, ExitStatus};
use crate::terminal::diag;

/// Transforms the archive.
pub fn run(command: TransformCommand) -> Result<ExitStatus, CliError> {
    let rules = pipeline::rules(&command.transform)?;
    let options = ferry_transform::Options { target_version: command.transform.target_version.unwrap_or(DEFAULT_TARGET_VERSION), rules };
    cluster::runtime()?.block_on(async {
        let (manifest, entries) = archive::read(&command.from, &command.archive).await?;
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        let diff = if command.diff { Some(pipeline::Diff { out: &mut out, show_secrets: command.show_secrets }) } else { None };
        let prepared = pipeline::transform_all(&entries, &options, &command.transform, diff, |origin, id, object| (id, object, origin))?;
        match out.flush() {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(CliError::failure("cannot write to standard output", &e)),
            _ => {}
        }
        for line in &prepared.blocked {
            diag!("error: cannot go to the target: {line}");
        }
        if command.output == SummaryFormat::Json {
            pipeline::to_stdout(|out| writeln!(out, "{}", serde_json::to_string_pretty(&prepared.report).expect("the report serializes")))?;
        }
        if let Some(stop) = pipeline::check_rules(&prepared, &command.transform) {
            return Ok(stop);
        }
        if let Some(to) = &command.to {
            // The resource each object was exported from, as the source archive records it.
            let objects = prepared.objects.iter().map(|(id, object, origin)| (id.clone(), entries[*origin].resource.as_str(), object));
            archive::write(to, &command.archive, manifest.header, objects).await?;
        }
        let changed = if command.diff { format!(" ({} changed by the transformation)", prepared.changed) } else { String::new() };
        diag!("{}{changed}", pipeline::summary_line(&prepared.report, options.target_version));
        Ok(if prepared.report.counts.failed == 0 { ExitStatus::Success } else { ExitStatus::Blockers })
    })
}
