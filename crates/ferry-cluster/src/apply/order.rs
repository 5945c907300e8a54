//! The apply order (`data/apply-order.yaml`) and the plan it gives a set of objects.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use ferry_model::ObjectId;

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    step: String,
    #[serde(default)]
    kinds: Vec<String>,
    #[serde(default)]
    others: bool,
    #[serde(default)]
    wait: Option<Wait>,
    #[serde(default)]
    by_wave: bool,
    #[cfg_attr(not(test), expect(dead_code, reason = "required in every row so the table stays sourced; checked by the tests"))]
    source: String,
}

/// What to wait for once a step's objects are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Wait {
    /// CustomResourceDefinitions report `Established`; then the target is discovered again.
    Established,
}

/// One step of a plan: objects applied in parallel, after every earlier step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The step's name, e.g. `workloads` or `workloads, wave 2`.
    pub name: String,
    /// What to wait for after the step.
    pub wait: Option<Wait>,
    /// Indices into the object list given to [`plan`].
    pub objects: Vec<usize>,
}

fn rows() -> &'static [Row] {
    static ROWS: OnceLock<Vec<Row>> = OnceLock::new();
    ROWS.get_or_init(|| serde_saphyr::from_str(include_str!("../../data/apply-order.yaml")).expect("embedded data/apply-order.yaml is valid"))
}

/// `group/Kind` (or `Kind` for the core group) → row index.
fn row_of_kind() -> &'static HashMap<&'static str, usize> {
    static INDEX: OnceLock<HashMap<&'static str, usize>> = OnceLock::new();
    INDEX.get_or_init(|| rows().iter().enumerate().flat_map(|(i, row)| row.kinds.iter().map(move |k| (k.as_str(), i))).collect())
}

fn others_row() -> usize {
    rows().iter().position(|row| row.others).expect("data/apply-order.yaml has a step with `others: true`")
}

/// The row an object belongs to.
fn row_for(id: &ObjectId) -> usize {
    let group = id.group();
    let key = if group.is_empty() { id.kind.clone() } else { format!("{group}/{}", id.kind) };
    row_of_kind().get(key.as_str()).copied().unwrap_or_else(others_row)
}

/// Orders `ids` into steps: by the kind table, and inside a step marked
/// `by_wave`, by `wave_of` (objects without a wave go last). Empty steps are left out.
pub fn plan(ids: &[ObjectId], wave_of: &dyn Fn(usize) -> Option<usize>) -> Vec<Step> {
    let mut by_row: BTreeMap<(usize, usize), Vec<usize>> = BTreeMap::new();
    for (index, id) in ids.iter().enumerate() {
        let row = row_for(id);
        let wave = if rows()[row].by_wave { wave_of(index).unwrap_or(usize::MAX) } else { 0 };
        by_row.entry((row, wave)).or_default().push(index);
    }
    let waves_in_row = |row: usize| by_row.keys().filter(|(r, _)| *r == row).count();
    by_row
        .iter()
        .map(|(&(row, wave), objects)| {
            let base = &rows()[row].step;
            let name = match (waves_in_row(row) > 1, wave) {
                (false, _) => base.clone(),
                (true, usize::MAX) => format!("{base}, outside any wave"),
                (true, wave) => format!("{base}, wave {}", wave + 1),
            };
            Step { name, wait: rows()[row].wait, objects: objects.clone() }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(api_version: &str, kind: &str) -> ObjectId {
        ObjectId { api_version: api_version.into(), kind: kind.into(), namespace: None, name: "x".into() }
    }

    #[test]
    fn every_row_is_sourced_and_every_kind_listed_once() {
        let mut seen = std::collections::HashSet::new();
        for row in rows() {
            assert!(row.source.len() > 20, "step `{}` needs a source", row.step);
            assert!(row.others == row.kinds.is_empty(), "step `{}` needs kinds or `others`, not both", row.step);
            for kind in &row.kinds {
                assert!(seen.insert(kind.clone()), "{kind} is listed twice");
            }
        }
        assert_eq!(rows().iter().filter(|r| r.others).count(), 1);
    }

    #[test]
    fn crds_first_webhooks_last_custom_resources_before_workloads() {
        let ids = vec![
            id("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"),
            id("apps/v1", "Deployment"),
            id("example.com/v1", "Widget"),
            id("v1", "Namespace"),
            id("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
            id("v1", "Service"),
            id("v1", "ConfigMap"),
        ];
        let steps = plan(&ids, &|_| None);
        let order: Vec<&str> = steps.iter().map(|s| ids[s.objects[0]].kind.as_str()).collect();
        assert_eq!(order, ["CustomResourceDefinition", "Namespace", "ConfigMap", "Widget", "Deployment", "Service", "ValidatingWebhookConfiguration"]);
        assert_eq!(steps[0].wait, Some(Wait::Established));
    }

    #[test]
    fn cert_manager_secrets_then_issuers_then_certificates_then_ingresses() {
        let ids = vec![
            id("networking.k8s.io/v1", "Ingress"),
            id("cert-manager.io/v1", "Certificate"),
            id("cert-manager.io/v1", "ClusterIssuer"),
            id("cert-manager.io/v1", "Issuer"),
            id("v1", "Secret"),
        ];
        let steps = plan(&ids, &|_| None);
        let order: Vec<Vec<&str>> = steps.iter().map(|s| s.objects.iter().map(|&i| ids[i].kind.as_str()).collect()).collect();
        assert_eq!(order, [vec!["Secret"], vec!["ClusterIssuer", "Issuer"], vec!["Certificate"], vec!["Ingress"]]);
    }

    #[test]
    fn workloads_follow_waves_and_unwaved_objects_go_last() {
        let ids = vec![id("apps/v1", "Deployment"), id("apps/v1", "StatefulSet"), id("apps/v1", "Deployment")];
        let waves = [Some(1), Some(0), None];
        let steps = plan(&ids, &|i| waves[i]);
        let names: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["workloads, wave 1", "workloads, wave 2", "workloads, outside any wave"]);
        assert_eq!(steps[0].objects, [1]);
    }
}
