//! `ferry assess`: load manifests, assess them, render the result.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use ferry_analysis::{Assessment, assess_paths};
use ferry_report::{Format, render};

use crate::args::{AssessSettings, FailOn};
use crate::error::{CliError, ExitStatus};

/// Runs the assessment and writes it where asked.
pub fn run(settings: AssessSettings) -> Result<ExitStatus, CliError> {
    let assessment = assess_paths(&settings.paths, &settings.options)
        .map_err(|e| CliError::failure("cannot load the input", &e).with_hint("check that every PATH exists and is readable"))?;
    match &settings.out {
        Some(path) => write_file(path, &assessment, settings.format)?,
        None => {
            let stdout = io::stdout();
            let mut lock = io::BufWriter::new(stdout.lock());
            render(&assessment, settings.format, &mut lock)
                .and_then(|()| lock.flush())
                .or_else(ignore_broken_pipe)
                .map_err(|e| CliError::failure("cannot write to standard output", &e))?;
        }
    }
    if settings.format != Format::Table || settings.out.is_some() {
        eprintln!("{}", one_line_summary(&assessment));
    }
    Ok(exit_status(&assessment, settings.fail_on))
}

fn ignore_broken_pipe(e: io::Error) -> io::Result<()> {
    if e.kind() == io::ErrorKind::BrokenPipe { Ok(()) } else { Err(e) }
}

/// Writes to a temporary file beside `path` and renames it, so a failed run never leaves half a report.
fn write_file(path: &Path, assessment: &Assessment, format: Format) -> Result<(), CliError> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".{}.ferry-tmp", path.file_name().and_then(|n| n.to_str()).unwrap_or("out")));
    let written = fs::File::create(&tmp).and_then(|file| {
        let mut file = io::BufWriter::new(file);
        render(assessment, format, &mut file)?;
        file.flush()
    });
    let result = written.and_then(|()| fs::rename(&tmp, path));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(|e| CliError::failure(format!("cannot write `{}`", path.display()), &e))
}

fn one_line_summary(a: &Assessment) -> String {
    let dangling = a.dependencies.iter().filter(|d| d.resolution == ferry_analysis::Resolution::Dangling).count();
    let errors = a.warnings.iter().filter(|w| w.severity == ferry_analysis::WarningLevel::Error).count();
    format!(
        "ferry: {} objects, {} dependencies ({} dangling), {} cloud findings, {} removed / {} deprecated APIs for {}, {} waves, {} unreadable documents",
        a.inventory.total,
        a.dependencies.len(),
        dangling,
        a.cloud.len(),
        a.removed_apis().count(),
        a.deprecations.len() - a.removed_apis().count(),
        a.target.kubernetes,
        a.waves.waves.len(),
        errors
    )
}

fn exit_status(a: &Assessment, fail_on: FailOn) -> ExitStatus {
    let blockers = match fail_on {
        FailOn::Removed => a.removed_apis().count(),
        FailOn::Deprecated => a.deprecations.len(),
        FailOn::Never => 0,
    };
    if a.has_input_errors() {
        ExitStatus::IncompleteInput
    } else if blockers > 0 {
        ExitStatus::Blockers
    } else {
        ExitStatus::Success
    }
}
