//! The migration record as a terminal table and as Markdown (for pull requests and change
//! tickets): the steps with their results, then what each file found.

use std::io::{self, Write};

use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use ferry_verify::{Check, Saved};

use super::{Document, Record, Status, Timeline};
use crate::sanitize::{markdown as md, terminal};

/// Rows of one table at most in the Markdown record; the rest is counted.
const MARKDOWN_ROWS: usize = 200;

/// Writes the steps as a table with the verdict below it.
pub fn write_table(record: &Record, out: &mut dyn Write) -> io::Result<()> {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Disabled).set_header(["step", "result", "file", "summary"]);
    for entry in &record.entries {
        table.add_row([entry.step.clone(), status(entry.status).to_owned(), terminal(&entry.file), terminal(&entry.summary)]);
    }
    writeln!(out, "{table}")?;
    writeln!(out, "record: {}", terminal(&record.verdict()))
}

fn status(status: Status) -> &'static str {
    match status {
        Status::Passed => "passed",
        Status::Failed => "FAILED",
        Status::Info => "info",
    }
}

/// Writes the record as Markdown.
pub fn write_markdown(record: &Record, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "# Migration record\n\n**{}**\n", md(&record.verdict()))?;
    writeln!(out, "| step | result | file | SHA-256 | summary |\n|---|---|---|---|---|")?;
    for entry in &record.entries {
        writeln!(out, "| {} | {} | `{}` | `{}` | {} |", md(&entry.step), status(entry.status), md(&entry.file), &entry.sha256[..16], md(&entry.summary))?;
    }
    for entry in &record.entries {
        writeln!(out, "\n## {}: `{}`\n", md(&entry.step), md(&entry.file))?;
        match &entry.document {
            Document::Verify(saved) => verify(saved, out)?,
            Document::Checks(checks) => self::checks(checks, out)?,
            Document::Timeline(timeline) => self::timeline(timeline, out)?,
        }
    }
    Ok(())
}

fn verify(saved: &Saved, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "Source {} against target {}, checked at {}.\n", md(&saved.source), md(&saved.target), md(&saved.checked_at))?;
    writeln!(out, "{}\n", super::parity(saved))?;
    let rows = super::verify_rows(saved);
    if !rows.is_empty() {
        table(out, ["object", "found", "detail"], rows)?;
    }
    if !saved.report.evidence.is_empty() {
        checks(&saved.report.evidence, out)?;
    }
    Ok(())
}

fn checks(checks: &[Check], out: &mut dyn Write) -> io::Result<()> {
    table(out, ["object", "result", "detail"], super::check_rows(checks))
}

fn timeline(timeline: &Timeline, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "Outcome: {}; worst-case time to roll back {:.1} s.\n", md(&timeline.outcome), timeline.worst_case_rollback_ms as f64 / 1000.0)?;
    table(out, ["time", "step", "action", "detail"], super::timeline_rows(timeline))
}

/// A Markdown table of at most [`MARKDOWN_ROWS`] rows, escaped, with the rest counted.
fn table<const N: usize>(out: &mut dyn Write, headers: [&str; N], rows: Vec<[String; N]>) -> io::Result<()> {
    writeln!(out, "| {} |\n|{}", headers.join(" | "), "---|".repeat(N))?;
    for row in rows.iter().take(MARKDOWN_ROWS) {
        let cells: Vec<String> = row.iter().map(|c| md(c)).collect();
        writeln!(out, "| {} |", cells.join(" | "))?;
    }
    if rows.len() > MARKDOWN_ROWS {
        writeln!(out, "\n{} more rows not shown; the file itself has everything.", rows.len() - MARKDOWN_ROWS)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_markdown_record_lists_each_step_and_what_it_found() {
        let failed = r#"{"apiVersion": "ferry.dev/v1alpha1", "kind": "Evidence", "step": "volumes", "checks": [
            {"object": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": "shop", "name": "data"}, "passed": false, "detail": "2 paths | differ"}]}"#;
        let record = Record::read(&[("v.json".to_owned(), failed.into()), ("t.json".to_owned(), super::super::tests::timeline("rolled_back"))]).unwrap();
        let mut out = Vec::new();
        write_markdown(&record, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("**2 of 2 steps FAILED: volumes (v.json), cutover (t.json)**"), "{text}");
        assert!(text.contains("| PersistentVolumeClaim shop/data | FAILED | 2 paths \\| differ |"), "{text}");
        assert!(text.contains("| 2.6 s |  | rollback | old 100 / new 0 restored: new-shop (new): status 500 |"), "{text}");
        let mut table = Vec::new();
        write_table(&record, &mut table).unwrap();
        assert!(String::from_utf8(table).unwrap().ends_with("record: 2 of 2 steps FAILED: volumes (v.json), cutover (t.json)\n"));
    }
}
