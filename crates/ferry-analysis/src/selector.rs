//! Kubernetes label selectors: `matchLabels`, `matchExpressions`, the plain map form
//! Services use, and the text form of kubectl's `-l` (`app=web,tier!=db,env in (a,b),!canary`).

use ferry_model::DocNode;

/// A parsed label selector.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selector {
    /// Labels that must be equal.
    pub labels: Vec<(String, String)>,
    /// Set-based requirements.
    pub expressions: Vec<Requirement>,
}

/// One `matchExpressions` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Requirement {
    /// Label key.
    pub key: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    pub operator: String,
    /// Values for `In`/`NotIn`.
    pub values: Vec<String>,
}

impl Selector {
    /// The plain map form (`Service.spec.selector`).
    pub fn from_map(node: DocNode<'_>) -> Selector {
        Selector { labels: pairs(node), expressions: Vec::new() }
    }

    /// The `LabelSelector` form (`matchLabels` + `matchExpressions`).
    pub fn from_label_selector(node: DocNode<'_>) -> Selector {
        let labels = node.get("matchLabels").map(pairs).unwrap_or_default();
        let expressions = node.get("matchExpressions").map(|n| n.items().filter_map(requirement).collect()).unwrap_or_default();
        Selector { labels, expressions }
    }

    /// Reads kubectl's `-l` text: requirements separated by commas, each `key=value`,
    /// `key==value`, `key!=value`, `key in (v1,v2)`, `key notin (v1,v2)`, `key` (exists) or
    /// `!key` (does not exist).
    pub fn parse(text: &str) -> Result<Selector, String> {
        let mut selector = Selector::default();
        for term in split_terms(text)? {
            let term = term.trim();
            let requirement = |key: &str, operator: &str, values: Vec<String>| -> Result<Requirement, String> {
                Ok(Requirement { key: label_key(key, term)?, operator: operator.to_owned(), values })
            };
            if let Some(key) = term.strip_prefix('!') {
                selector.expressions.push(requirement(key, "DoesNotExist", Vec::new())?);
            } else if let Some((head, list)) = term.split_once('(') {
                let (key, operator) = match head.split_whitespace().collect::<Vec<_>>()[..] {
                    [key, "in"] => (key, "In"),
                    [key, "notin"] => (key, "NotIn"),
                    _ => return Err(format!("`{term}`: write `KEY in (V1,V2)` or `KEY notin (V1,V2)`")),
                };
                let list = list.trim_end().strip_suffix(')').ok_or_else(|| format!("`{term}`: the value list does not end with `)`"))?;
                let values = list.split(',').map(|v| label_value(v.trim(), term)).collect::<Result<_, _>>()?;
                selector.expressions.push(requirement(key, operator, values)?);
            } else if let Some((key, value)) = term.split_once("!=") {
                selector.expressions.push(requirement(key, "NotIn", vec![label_value(value.trim(), term)?])?);
            } else if let Some((key, value)) = term.split_once("==").or_else(|| term.split_once('=')) {
                selector.labels.push((label_key(key, term)?, label_value(value.trim(), term)?));
            } else {
                selector.expressions.push(requirement(term, "Exists", Vec::new())?);
            }
        }
        Ok(selector)
    }

    /// Whether the selector has no requirement (it then selects everything).
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.expressions.is_empty()
    }

    /// Whether a set of labels (held in any string type) satisfies the selector.
    pub fn matches<K: AsRef<str>, V: AsRef<str>>(&self, labels: &[(K, V)]) -> bool {
        let value = |key: &str| labels.iter().find(|(k, _)| k.as_ref() == key).map(|(_, v)| v.as_ref());
        self.labels.iter().all(|(k, v)| value(k) == Some(v))
            && self.expressions.iter().all(|r| match r.operator.as_str() {
                "In" => value(&r.key).is_some_and(|v| r.values.iter().any(|x| x == v)),
                "NotIn" => value(&r.key).is_none_or(|v| !r.values.iter().any(|x| x == v)),
                "Exists" => value(&r.key).is_some(),
                "DoesNotExist" => value(&r.key).is_none(),
                _ => false,
            })
    }
}

/// The comma-separated requirements of `text`; commas inside `( )` belong to a value list.
fn split_terms(text: &str) -> Result<Vec<&str>, String> {
    let (mut terms, mut depth, mut start) = (Vec::new(), 0u32, 0);
    for (at, c) in text.char_indices() {
        match c {
            '(' if depth == 0 => depth = 1,
            ')' if depth == 1 => depth = 0,
            '(' | ')' => return Err(format!("`{text}`: parentheses do not match")),
            ',' if depth == 0 => {
                terms.push(&text[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(format!("`{text}`: parentheses do not match"));
    }
    terms.push(&text[start..]);
    match terms.iter().find(|t| t.trim().is_empty()) {
        Some(_) => Err(format!("`{text}`: an empty requirement (two commas, or one at an end)")),
        None => Ok(terms),
    }
}

/// A label key (`[prefix/]name` of letters, digits, `-`, `_`, `.`), trimmed.
fn label_key(key: &str, term: &str) -> Result<String, String> {
    let key = key.trim();
    let valid = !key.is_empty() && key.split('/').count() <= 2 && key.split('/').all(|part| !part.is_empty() && part.chars().all(is_label_char));
    if valid { Ok(key.to_owned()) } else { Err(format!("`{term}`: `{key}` is not a label key")) }
}

/// A label value (letters, digits, `-`, `_`, `.`; may be empty).
fn label_value(value: &str, term: &str) -> Result<String, String> {
    if value.chars().all(is_label_char) { Ok(value.to_owned()) } else { Err(format!("`{term}`: `{value}` is not a label value")) }
}

fn is_label_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

fn pairs(node: DocNode<'_>) -> Vec<(String, String)> {
    node.string_entries().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

fn requirement(node: DocNode<'_>) -> Option<Requirement> {
    Some(Requirement {
        key: node.str_at("key")?.to_owned(),
        operator: node.str_at("operator")?.to_owned(),
        values: node.get("values").map(|v| v.items().filter_map(|i| i.as_str().map(str::to_owned)).collect()).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn equality_and_set_requirements() {
        let selector = Selector {
            labels: labels(&[("app", "web")]),
            expressions: vec![
                Requirement { key: "tier".into(), operator: "In".into(), values: vec!["front".into()] },
                Requirement { key: "canary".into(), operator: "DoesNotExist".into(), values: vec![] },
            ],
        };
        assert!(selector.matches(&labels(&[("app", "web"), ("tier", "front")])));
        assert!(!selector.matches(&labels(&[("app", "web"), ("tier", "back")])));
        assert!(!selector.matches(&labels(&[("app", "web"), ("tier", "front"), ("canary", "1")])));
    }

    #[test]
    fn kubectl_selector_text_is_read_as_kubectl_reads_it() {
        let selector = Selector::parse("app=web, tier==front,env in (prod, staging),track notin (canary),release!=old,owned,!legacy").unwrap();
        assert_eq!(selector.labels, labels(&[("app", "web"), ("tier", "front")]));
        let operators: Vec<(&str, &str, usize)> = selector.expressions.iter().map(|r| (r.key.as_str(), r.operator.as_str(), r.values.len())).collect();
        assert_eq!(operators, [("env", "In", 2), ("track", "NotIn", 1), ("release", "NotIn", 1), ("owned", "Exists", 0), ("legacy", "DoesNotExist", 0)]);
        let all = [("app", "web"), ("tier", "front"), ("env", "prod"), ("owned", "yes")];
        assert!(selector.matches(&labels(&all)));
        assert!(!selector.matches(&labels(&[("app", "web"), ("tier", "front"), ("env", "dev"), ("owned", "yes")])));
        assert!(!selector.matches(&labels(&[all.as_slice(), &[("legacy", "1")]].concat())));
        assert!(!selector.matches(&labels(&[all.as_slice(), &[("release", "old")]].concat())));
        assert_eq!(Selector::parse("app.kubernetes.io/part-of=shop").unwrap().labels, labels(&[("app.kubernetes.io/part-of", "shop")]));
    }

    #[test]
    fn malformed_selector_text_is_refused_with_the_requirement_named() {
        let empty = "an empty requirement (two commas, or one at an end)";
        let parentheses = "parentheses do not match";
        let cases = [
            ("", empty),
            ("app=web,", empty),
            (",app", empty),
            ("env in (a,b", parentheses),
            ("env in a,b)", parentheses),
            ("env within (a)", "write `KEY in (V1,V2)` or `KEY notin (V1,V2)`"),
            ("a b=c", "`a b` is not a label key"),
            ("app=we b", "`we b` is not a label value"),
            ("/x=1", "`/x` is not a label key"),
            ("a/b/c=1", "`a/b/c` is not a label key"),
            ("env in ((a))", parentheses),
        ];
        for (bad, reason) in cases {
            let error = Selector::parse(bad).expect_err(bad);
            assert_eq!(error, format!("`{bad}`: {reason}"));
        }
    }
}
