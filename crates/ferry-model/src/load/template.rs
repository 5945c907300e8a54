//! Reads what can be read from an unrendered Helm template document: the
//! top-level `apiVersion`, `kind` and `metadata.name` lines. That is enough to
//! report deprecated API versions in charts nobody has rendered yet.

use crate::node::{Node, Value};

/// A minimal object (`apiVersion`, `kind`, `metadata.name`) from a template's top-level lines, if it has them.
pub(crate) fn header(text: &str, first_line: u32) -> Option<Node> {
    let mut api_version = None;
    let mut kind = None;
    let mut name = None;
    let mut in_metadata = false;
    for (offset, line) in text.lines().enumerate() {
        let line_no = first_line + offset as u32;
        let top_level = !line.starts_with([' ', '\t']);
        if top_level {
            in_metadata = line.trim_end() == "metadata:";
        }
        if let Some(v) = top_level.then(|| field(line, "apiVersion")).flatten() {
            api_version.get_or_insert(Node::scalar(line_no, v, false));
        } else if let Some(v) = top_level.then(|| field(line, "kind")).flatten() {
            kind.get_or_insert(Node::scalar(line_no, v, false));
        } else if in_metadata && name.is_none() && line.starts_with("  name:") {
            name = field(line.trim_start(), "name").map(|v| Node::scalar(line_no, v, false));
        }
    }
    let (api_version, kind) = (api_version?, kind?);
    let line = api_version.line.min(kind.line);
    let name = name.unwrap_or_else(|| Node::scalar(line, "(templated)", false));
    let metadata = Node { line: name.line, value: Value::Map(vec![("name".into(), name)]) };
    let entries = vec![("apiVersion".into(), api_version), ("kind".into(), kind), ("metadata".into(), metadata)];
    Some(Node { line, value: Value::Map(entries) })
}

fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let value = line.strip_prefix(key)?.strip_prefix(':')?.trim();
    let value = value.trim_matches(|c| c == '"' || c == '\'');
    (!value.is_empty()).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_header_of_a_templated_document() {
        let text = "{{- if .Values.enabled }}\napiVersion: extensions/v1beta1\nkind: Deployment\nmetadata:\n  labels:\n    app: x\n  name: {{ .Release.Name }}-web\nspec:\n  replicas: {{ .Values.replicas }}\n";
        let node = header(text, 10).unwrap();
        assert_eq!(node.str_at("apiVersion"), Some("extensions/v1beta1"));
        assert_eq!(node.get("apiVersion").unwrap().line, 11);
        assert_eq!(node.at(&["metadata", "name"]).and_then(Node::as_str), Some("{{ .Release.Name }}-web"));
    }

    #[test]
    fn documents_without_a_kind_yield_nothing() {
        assert!(header("{{ include \"helpers\" . }}\n", 1).is_none());
    }
}
