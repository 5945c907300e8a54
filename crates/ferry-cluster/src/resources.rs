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
    #[allow(dead_code)] // Required in every row so the table stays sourced; read by the tests only.
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

fn table() -> &'static HashMap<String, Rule> {
    static TABLE: OnceLock<HashMap<String, Rule>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let rows: Vec<Row> = serde_saphyr::from_str(include_str!("../data/resources.yaml")).expect("embedded data/resources.yaml is valid");
        rows.into_iter()
            .map(|row| {
                let rule = match (row.skip, row.same_as) {
                    (Some(reason), None) => Rule::Skip(reason),
                    (None, Some(other)) => Rule::SameAs(other),
                    _ => panic!("data/resources.yaml: `{}` needs exactly one of `skip` and `same_as`", row.resource),
                };
                (row.resource, rule)
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
    fn table_is_valid_and_aliases_point_at_readable_resources() {
        for (resource, rule) in table() {
            if let Rule::SameAs(other) = rule {
                assert!(rule_for_target_is_readable(other), "{resource} points at {other}, which is skipped or aliased");
            }
        }
        assert_eq!(rule("ingresses.extensions"), Some(&Rule::SameAs("ingresses.networking.k8s.io".into())));
        assert!(matches!(rule("events"), Some(Rule::Skip(_))));
        assert_eq!(rule("deployments.apps"), None);
    }

    fn rule_for_target_is_readable(qualified: &str) -> bool {
        rule(qualified).is_none()
    }
}
