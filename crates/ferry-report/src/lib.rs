//! Renders an [`Assessment`] for people and pipelines: a terminal summary,
//! JSON (the documented schema), Markdown, and one self-contained HTML file
//! with the dependency graph drawn as SVG; and the migration [`record`] of the later steps'
//! evidence.
//!
//! Renderers write to any [`std::io::Write`] and never print on their own.

mod checklist;
mod endpoints;
mod html;
mod markdown;
mod matrix;
mod mermaid;
pub mod record;
mod sanitize;
mod summary;
mod svg;
mod table;

use std::io::{self, Write};

use ferry_analysis::Assessment;

pub use checklist::{ChecklistItem, checklist};
pub use matrix::{MatrixRow, matrix};

/// Output formats of `ferry assess`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Readable terminal summary.
    Table,
    /// The JSON schema `ferry.assessment/v1`.
    Json,
    /// The same document as YAML.
    Yaml,
    /// Markdown, for pull requests and wikis.
    Markdown,
    /// A single self-contained HTML page.
    Html,
}

/// Writes the terminal summary for a terminal `width` columns wide (`None`: no terminal, so
/// nothing is wrapped or shortened); paths are shortened from the left, never cut.
pub fn render_table(assessment: &Assessment, width: Option<u16>, out: &mut dyn Write) -> io::Result<()> {
    table::write(assessment, width, out)
}

/// The name an enum variant has in the JSON output (`env-from`, `removed`, `warning`).
pub(crate) fn serialized_name(value: impl serde::Serialize) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// Writes the assessment in `format` (a table as for no terminal: nothing wrapped or shortened).
pub fn render(assessment: &Assessment, format: Format, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Table => table::write(assessment, None, out),
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, assessment)?;
            writeln!(out)
        }
        Format::Yaml => out.write_all(serde_saphyr::to_string(assessment).map_err(io::Error::other)?.as_bytes()),
        Format::Markdown => markdown::write(assessment, out),
        Format::Html => html::write(assessment, out),
    }
}
