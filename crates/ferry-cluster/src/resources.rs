//! The resource table (`data/resources.yaml`): what is never read, and what is
//! the same objects served under a second group.

use std::collections::HashMap;
use std::sync::OnceLock;

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    resource: String,
    #[serde(default)]
    skip: Option<String>,
    #[serde(default)]
    same_as: Option<String>,
    #[cfg_attr(not(test), expect(dead_code, reason = "required in every row so the table stays sourced; checked by the tests"))]
    source: String,
}

/// What the table says about one resource.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Rule {
    /// Never inventoried, for this reason.
    Skip(String),
    /// The same objects as this other resource (`plural.group`).
    SameAs(String),
}

fn rows() -> &'static [Row] {
    static ROWS: OnceLock<Vec<Row>> = OnceLock::new();
    ROWS.get_or_init(|| serde_saphyr::from_str(include_str!("../data/resources.yaml")).expect("embedded data/resources.yaml is valid"))
}

fn table() -> &'static HashMap<&'static str, Rule> {
    static TABLE: OnceLock<HashMap<&'static str, Rule>> = OnceLock::new();
    TABLE.get_or_init(|| {
        rows()
            .iter()
            .map(|row| {
                let rule = match (&row.skip, &row.same_as) {
                    (Some(reason), None) => Rule::Skip(reason.clone()),
                    (None, Some(other)) => Rule::SameAs(other.clone()),
                    _ => panic!("data/resources.yaml: `{}` needs exactly one of `skip` and `same_as`", row.resource),
                };
                (row.resource.as_str(), rule)
            })
            .collect()
    })
}

/// The rule for `plural.group` (`plural` for the core group), if any.
pub(crate) fn rule(qualified: &str) -> Option<&'static Rule> {
    table().get(qualified)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_is_sourced_unique_and_aliases_point_at_readable_resources() {
        for row in rows() {
            assert!(!row.source.trim().is_empty(), "{} has no source", row.resource);
        }
        assert_eq!(table().len(), rows().len(), "a resource is listed twice");
        for (resource, found) in table() {
            if let Rule::SameAs(other) = found {
                assert_eq!(rule(other), None, "{resource} points at {other}, which is skipped or aliased");
            }
        }
        assert_eq!(rule("ingresses.extensions"), Some(&Rule::SameAs("ingresses.networking.k8s.io".into())));
        assert!(matches!(rule("events"), Some(Rule::Skip(_))));
        assert_eq!(rule("deployments.apps"), None);
    }
}
