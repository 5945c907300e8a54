//! Makes untrusted strings (object names, annotations, paths) safe to show.

/// Replaces control characters so that input cannot move the terminal cursor or change colours.
pub fn terminal(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { '\u{fffd}' } else { c }).collect()
}

/// Escapes text for HTML element content and attribute values.
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for a Markdown table cell.
pub fn markdown(s: &str) -> String {
    terminal(s).replace('|', "\\|").replace('<', "&lt;")
}

#[cfg(test)]
mod tests {
    #[test]
    fn escape_sequences_do_not_reach_the_terminal() {
        assert_eq!(super::terminal("a\u{1b}[31mred"), "a\u{fffd}[31mred");
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(super::html("<script>&\"'"), "&lt;script&gt;&amp;&quot;&#39;");
    }
}
