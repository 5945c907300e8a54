//! The terminal summary (`-o table`, the default), laid out for the terminal's width, or with
//! nothing wrapped or shortened when there is no terminal (a pipe or a file). File and field
//! paths (`Where` columns: `file:line` and a field path) are never cut in the middle: each goes
//! on a line of its own and, in a narrow terminal, is shortened from the left at a `/` or `.`
//! behind a `…`, so the file name and line stay in view.

use std::io::{self, Write};

use comfy_table::{ColumnConstraint, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use ferry_analysis::Assessment;

use crate::sanitize::terminal;
use crate::summary::{Section, headline, sections};

/// Rows shown per table before "... N more".
const LIMIT: usize = 50;

/// Columns that hold file or field paths, kept whole or shortened from the left.
const PATH_COLUMNS: [&str; 1] = ["Where"];

/// The narrowest a path column is made, in characters, however narrow the terminal.
const MIN_PATH_WIDTH: usize = 20;

/// Writes the summary for a terminal `width` columns wide; `None`: no terminal, no wrapping.
pub fn write(a: &Assessment, width: Option<u16>, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "ferry assessment")?;
    writeln!(out, "{}", terminal(&headline(a)))?;
    for section in sections(a, LIMIT) {
        writeln!(out)?;
        writeln!(out, "== {} ==", terminal(&section.title))?;
        if !section.rows.is_empty() {
            writeln!(out, "{}", table(&section, width))?;
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

/// A section's rows as a table `width` wide (unbounded when `None`).
fn table(section: &Section, width: Option<u16>) -> Table {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    match width {
        Some(width) => table.set_content_arrangement(ContentArrangement::Dynamic).set_width(width),
        None => table.set_content_arrangement(ContentArrangement::Disabled),
    };
    table.set_header(section.headers.clone());
    let paths: Vec<bool> = section.headers.iter().map(|h| PATH_COLUMNS.contains(h)).collect();
    let path_width = width.map(|w| path_width(w, section.headers.len()));
    for row in &section.rows {
        table.add_row(row.iter().zip(&paths).map(|(cell, &path)| match (path, path_width) {
            (true, Some(limit)) => cell.split_whitespace().map(|word| shorten_left(&terminal(word), limit)).collect::<Vec<_>>().join("\n"),
            _ => terminal(cell),
        }));
    }
    for (column, _) in paths.iter().enumerate().filter(|(_, path)| **path) {
        if let Some(column) = table.column_mut(column) {
            column.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
    table
}

/// The characters a path column gets in a table `width` wide of `columns` columns: twice an even
/// share of the width, at least [`MIN_PATH_WIDTH`], at most two fifths of the width.
fn path_width(width: u16, columns: usize) -> usize {
    let width = usize::from(width);
    let borders_and_padding = 3 * columns + 1;
    let share = width.saturating_sub(borders_and_padding) / columns.max(1);
    (2 * share).min(width * 2 / 5).max(MIN_PATH_WIDTH)
}

/// `path` if it fits in `limit` characters, else its end behind `…`, at most `limit` characters
/// in all, starting where a name starts (after or at a `/` or `.`) when the end holds such a place.
fn shorten_left(path: &str, limit: usize) -> String {
    let chars: Vec<char> = path.chars().collect();
    let limit = limit.max(2);
    if chars.len() <= limit {
        return path.to_owned();
    }
    let separator = |c: char| matches!(c, '/' | '.');
    let first = chars.len() - (limit - 1);
    let start = (first..chars.len()).find(|&i| separator(chars[i]) || separator(chars[i - 1])).unwrap_or(first);
    format!("…{}", chars[start..].iter().collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_shortened_from_the_left_at_a_separator() {
        assert_eq!(shorten_left("examples/aks-shop/cart.yaml:28", 40), "examples/aks-shop/cart.yaml:28");
        assert_eq!(shorten_left("examples/aks-shop/cart.yaml:28", 24), "…/aks-shop/cart.yaml:28");
        assert_eq!(shorten_left("examples/aks-shop/cart.yaml:28", 20), "…/cart.yaml:28");
        assert_eq!(shorten_left("spec.template.spec.containers[0].envFrom[0].configMapRef.name", 24), "….configMapRef.name");
        assert_eq!(shorten_left("averyveryverylongfilenamewithoutseparators:1", 10), "…arators:1");
        let short = shorten_left("a/b/ünïcödé/çharacters/here.yaml:1", 12);
        assert!(short.chars().count() <= 12 && short.ends_with("…here.yaml:1"), "{short}");
    }
}
