//! Plain-text output for terminals, shared by the commands that print it: left-aligned
//! columns, and `-o name` lines.

use std::fmt::Write as _;

/// One line of `-o name`: `kind/name` with the kind in lower case, as `kubectl get -o name`
/// prints objects (`deployment/web`); control characters in the name escaped.
pub fn name_line(kind: &str, name: &str) -> String {
    format!("{}/{}\n", kind.to_lowercase(), crate::terminal::printable(name))
}

/// Left-aligned columns, two spaces apart.
pub fn write_columns<const N: usize>(out: &mut String, header: [&str; N], rows: &[[String; N]]) {
    let mut widths = header.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let text: Vec<String> = cells.zip(widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
        let _ = writeln!(out, "{}", text.join("  ").trim_end());
    };
    line(&mut header.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
}
