//! Kubernetes label selectors: `matchLabels`, `matchExpressions`, and the
//! plain map form Services use.

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
}
