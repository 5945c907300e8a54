//! The Markdown report (`-o markdown`), for pull requests and wikis.

use std::io::{self, Write};

use ferry_analysis::Assessment;

use crate::checklist::checklist;
use crate::sanitize::markdown as md;
use crate::summary::{headline, sections};

/// Rows per table before "... N more".
const LIMIT: usize = 500;

/// Writes the report.
pub fn write(a: &Assessment, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "# ferry assessment\n\n{}", md(&headline(a)))?;
    for section in sections(a, LIMIT) {
        writeln!(out, "\n## {}\n", md(&section.title))?;
        if !section.rows.is_empty() {
            writeln!(out, "| {} |", section.headers.join(" | "))?;
            writeln!(out, "|{}", "---|".repeat(section.headers.len()))?;
            for row in &section.rows {
                let cells: Vec<String> = row.iter().map(|c| md(c)).collect();
                writeln!(out, "| {} |", cells.join(" | "))?;
            }
        }
        if section.omitted > 0 {
            writeln!(out, "\n… {} more rows (the JSON output has everything).", section.omitted)?;
        }
        if !section.lines.is_empty() {
            writeln!(out)?;
        }
        for line in &section.lines {
            let bullet = if line.starts_with("  - ") { line.clone() } else { format!("- {line}") };
            writeln!(out, "{}", md(&bullet))?;
        }
    }
    writeln!(out, "\n## Migration checklist\n")?;
    for item in checklist(a) {
        let flag = if item.blocking { " **(blocking)**" } else { "" };
        writeln!(out, "- [ ] {}{flag}: {}", md(&item.title), md(&item.detail))?;
    }
    Ok(())
}
