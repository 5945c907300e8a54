//! What ferry prints on the terminal passes through one filter: text from archives, manifests
//! and API servers can hold raw control characters (an escape sequence can recolour, move the
//! cursor or retitle the terminal), so every diagnostic line is written with C0 and C1 controls
//! escaped (`\x1b`, `\u{9b}`); only the newline stays, for ferry's own multi-line messages.
//! Tables are laid out for the terminal's width ([`width`]).

use std::borrow::Cow;

/// Prints a diagnostic line on standard error, through [`printable`].
macro_rules! diag {
    ($($arg:tt)*) => {
        eprintln!("{}", $crate::terminal::printable(&format!($($arg)*)))
    };
}
pub(crate) use diag;

/// `text` with every control character but the newline escaped: C0 and DEL as `\xNN`, C1 as `\u{NN}`.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_escaped) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            c if !is_escaped(c) => out.push(c),
            c if u32::from(c) < 0x80 => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
        }
    }
    Cow::Owned(out)
}

/// The width tables are laid out for: `COLUMNS` when set to a number (as `ls` and kubectl
/// honour it), else the width of the terminal on standard output, else `None` (a pipe or a
/// file: nothing is wrapped or shortened).
pub fn width() -> Option<u16> {
    let columns = std::env::var("COLUMNS").ok().and_then(|c| c.trim().parse::<u16>().ok()).filter(|&c| c > 0);
    columns.or_else(|| terminal_size::terminal_size_of(std::io::stdout()).map(|(terminal_size::Width(w), _)| w))
}

/// Whether `c` is a control character other than the newline.
fn is_escaped(c: char) -> bool {
    c.is_control() && c != '\n'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_and_newlines_and_text_kept() {
        assert_eq!(printable("plain text, ünïcode\nnext line"), "plain text, ünïcode\nnext line");
        assert!(matches!(printable("nothing to do"), Cow::Borrowed(_)));
        assert_eq!(printable("a\u{1b}[31mred\u{7}\r\t\u{7f}"), "a\\x1b[31mred\\x07\\x0d\\x09\\x7f");
        assert_eq!(printable("c1 \u{9b}2J \u{85}"), "c1 \\u{9b}2J \\u{85}");
    }
}
