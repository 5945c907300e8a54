//! The API server's messages about a Secret can quote the values it refused (a `stringData`
//! value that is not a string comes back as `Invalid value: …`), and ferry prints and records
//! those messages: for Secrets, every quoted text but the object's own name and every value
//! after `Invalid value:` or `expected …, got` is masked, keeping the reason and the field path.

/// What replaces a masked value.
const MASK: &str = "(value hidden)";

/// Where the server writes a value, and what ends it: validation (`field: Invalid value: 12:
/// reason`) and server-side apply's typed patch (`.field: expected string, got &value…{Value:12}`).
const VALUES: [(&str, &str); 2] = [("Invalid value: ", ": "), (", got ", "\n")];

/// The server's `message` about the Secret named `name`, with the values it may quote masked.
pub(crate) fn secret_message(message: &str, name: &str) -> String {
    VALUES.iter().fold(mask_quoted(message, name), |text, (mark, end)| mask_after(&text, mark, end))
}

/// Masks every `"…"` (backslash escapes honoured; an unclosed quote runs to the end) whose text is not `name`.
fn mask_quoted(message: &str, name: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(open) = rest.find('"') {
        out.push_str(&rest[..=open]);
        let quoted = &rest[open + 1..];
        let mut escaped = false;
        let close = quoted.char_indices().find(|&(_, c)| {
            let closes = c == '"' && !escaped;
            escaped = c == '\\' && !escaped;
            closes
        });
        let (text, after) = match close {
            Some((at, _)) => (&quoted[..at], &quoted[at..]),
            None => (quoted, ""),
        };
        out.push_str(if text == name { text } else { MASK });
        rest = after.strip_prefix('"').map_or(after, |after| {
            out.push('"');
            after
        });
    }
    out.push_str(rest);
    out
}

/// Masks what follows each `mark` up to the next `end` (kept) or the end of the message.
fn mask_after(message: &str, mark: &str, end: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find(mark) {
        out.push_str(&rest[..at + mark.len()]);
        let value = &rest[at + mark.len()..];
        out.push_str(MASK);
        rest = value.find(end).map_or("", |stop| &value[stop..]);
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_the_server_quotes_about_a_secret_are_masked_and_the_rest_kept() {
        let message =
            r#"Secret "db" is invalid: [stringData[password]: Invalid value: 123456789: must be a string, data[token]: Invalid value: "s3cr\"et": bad]"#;
        let masked = secret_message(message, "db");
        assert_eq!(
            masked,
            r#"Secret "db" is invalid: [stringData[password]: Invalid value: (value hidden): must be a string, data[token]: Invalid value: (value hidden): bad]"#
        );
        assert!(!masked.contains("123456789") && !masked.contains("s3cr"));
        let typed =
            "failed to create typed patch object: errors:\n  .stringData.password: expected string, got &value.valueUnstructured{Value:987654321}\n  .x: y";
        assert_eq!(
            secret_message(typed, "db"),
            "failed to create typed patch object: errors:\n  .stringData.password: expected string, got (value hidden)\n  .x: y"
        );
        assert_eq!(secret_message("unterminated \"hunter2", "db"), "unterminated \"(value hidden)");
        assert_eq!(
            secret_message("json: cannot unmarshal number into Go struct field Secret.stringData of type string", "db"),
            "json: cannot unmarshal number into Go struct field Secret.stringData of type string"
        );
    }
}
