//! The terminal summary (`-o table`, the default).

use std::io::{self, Write};

use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use ferry_analysis::Assessment;

use crate::sanitize::terminal;
use crate::summary::{headline, sections};

/// Rows shown per table before "... N more".
const LIMIT: usize = 50;

/// Writes the summary.
pub fn write(a: &Assessment, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "ferry assessment")?;
    writeln!(out, "{}", terminal(&headline(a)))?;
    for section in sections(a, LIMIT) {
        writeln!(out)?;
        writeln!(out, "== {} ==", terminal(&section.title))?;
        if !section.rows.is_empty() {
            let mut table = Table::new();
            table.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic).set_width(160);
            table.set_header(section.headers.clone());
            for row in &section.rows {
                table.add_row(row.iter().map(|c| terminal(c)));
            }
            writeln!(out, "{table}")?;
        }
        if section.omitted > 0 {
            writeln!(out, "... {} more (use -o json for everything)", section.omitted)?;
        }
        for line in &section.lines {
            writeln!(out, "{}", terminal(line))?;
        }
    }
    Ok(())
}
