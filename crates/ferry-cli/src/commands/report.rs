//! `ferry report`: reads the files ferry's steps wrote, judges each, and writes the migration
//! record (table, JSON, Markdown or HTML) with exit code 3 when any step failed.

use std::io::Write;

use ferry_report::record::{self, Record};

use crate::args::{RecordFormat, RecordSettings};
use crate::commands::{out_file, pipeline};
use crate::error::{CliError, ExitStatus};
use crate::terminal::diag;

/// Reads the files and writes the record.
pub fn run(settings: RecordSettings) -> Result<ExitStatus, CliError> {
    let files = settings
        .files
        .iter()
        .map(|path| {
            let bytes = ferry_model::load::read_bytes(path).map_err(|e| CliError::failure(format!("cannot read `{}`", path.display()), &e))?;
            Ok((path.display().to_string(), bytes))
        })
        .collect::<Result<Vec<_>, CliError>>()?;
    let record = Record::read(&files)
        .map_err(|e| CliError::failure("cannot make the record", &e).with_hint("give the JSON files ferry's steps wrote; `ferry report --help` lists them"))?;
    let format = settings.format;
    let write = |out: &mut dyn Write| match format {
        RecordFormat::Table => record::write_table(&record, out),
        RecordFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&record).expect("the record serializes")),
        RecordFormat::Markdown => record::write_markdown(&record, out),
        RecordFormat::Html => record::write_html(&record, out),
    };
    match &settings.out {
        Some(path) => out_file::write(path, write)?,
        None => pipeline::to_stdout(write)?,
    }
    if settings.out.is_some() || format != RecordFormat::Table {
        diag!("record: {}", record.verdict());
    }
    Ok(if record.passed { ExitStatus::Success } else { ExitStatus::Blockers })
}
