//! Splits a multi-document YAML file into documents, the way `kubectl` does:
//! a line that starts with `---`, followed by nothing but spaces or a comment,
//! ends one document and starts the next.
//!
//! Splitting before parsing lets a syntax error in one document leave the
//! others readable, and lets documents be parsed in parallel.

/// One document's text, its 1-based position among the file's documents
/// (blank ones included, as a reader counts them) and its first line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Chunk<'a> {
    pub text: &'a str,
    pub index: u32,
    pub first_line: u32,
}

/// Splits `text` at document separator lines.
pub(crate) fn split_documents(text: &str) -> Vec<Chunk<'_>> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut first_line = 1;
    let mut offset = 0;
    let mut index = 1;
    let mut seen_separator = false;
    for (line_no, line) in (1u32..).zip(text.split_inclusive('\n')) {
        if !is_separator(line) {
            offset += line.len();
            continue;
        }
        let leading_separator = !seen_separator && text[start..offset].trim().is_empty();
        seen_separator = true;
        if leading_separator {
            start = offset + line.len();
            first_line = line_no + 1;
        } else {
            chunks.push(Chunk { text: &text[start..offset], index, first_line });
            index += 1;
            start = offset + line.len();
            first_line = line_no + 1;
        }
        offset += line.len();
    }
    chunks.push(Chunk { text: &text[start..], index, first_line });
    chunks.retain(|c| !c.text.trim().is_empty());
    chunks
}

fn is_separator(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("---") else { return false };
    let rest = rest.trim();
    rest.is_empty() || rest.starts_with('#')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_separator_lines_only() {
        let text = "a: 1\n---\nb: |\n  ---not a separator\n--- # comment\nc: 3\n";
        let chunks = split_documents(text);
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks[1], Chunk { text: "b: |\n  ---not a separator\n", index: 2, first_line: 3 });
        assert_eq!(chunks[2].first_line, 6);
    }

    #[test]
    fn blank_documents_are_dropped() {
        let chunks = split_documents("---\n---\n\n---\na: 1");
        assert_eq!(chunks, vec![Chunk { text: "a: 1", index: 3, first_line: 5 }]);
    }

    #[test]
    fn content_after_dashes_stays_in_the_document() {
        let chunks = split_documents("--- !tag\na: 1\n");
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].first_line, 1);
    }
}
