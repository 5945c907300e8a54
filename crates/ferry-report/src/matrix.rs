//! The dependency matrix: one row per workload, one column per kind of need.

use std::collections::BTreeMap;

use ferry_analysis::facts::Relation;
use ferry_analysis::{Assessment, ObjRef, Resolution, Text};

/// What one workload needs, by column.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MatrixRow {
    /// The workload.
    pub workload: ObjRef,
    /// Services it talks to (name, `true` when dangling).
    pub services: Vec<(String, bool)>,
    /// ConfigMaps it reads.
    pub config_maps: Vec<(String, bool)>,
    /// Secrets it reads (names only).
    pub secrets: Vec<(String, bool)>,
    /// PersistentVolumeClaims it mounts.
    pub volumes: Vec<(String, bool)>,
    /// Its ServiceAccount.
    pub service_account: Vec<(String, bool)>,
    /// Everything else it needs, as `Kind/name`: Dapr Components and Configurations,
    /// SecretProviderClasses, the resources whose controllers make its Secrets (ExternalSecret,
    /// Certificate, SealedSecret...), the StorageClasses of its claim templates.
    pub other: Vec<(String, bool)>,
    /// Managed cloud services it depends on.
    pub cloud: Vec<Text>,
}

/// Builds the matrix from the assessment's dependencies and cloud findings.
pub fn matrix(a: &Assessment) -> Vec<MatrixRow> {
    let mut rows: BTreeMap<ObjRef, MatrixRow> =
        a.inventory.workloads.iter().map(|w| (w.object.clone(), MatrixRow { workload: w.object.clone(), ..MatrixRow::default() })).collect();
    for d in &a.dependencies {
        let Some(row) = rows.get_mut(&d.from) else { continue };
        // The fixed columns say the kind; the `Other` column names it with each object.
        let (column, names_kind) = match (d.to.kind.as_str(), d.kind) {
            ("Service", Relation::Network) => (&mut row.services, false),
            ("ConfigMap", _) => (&mut row.config_maps, false),
            ("Secret", _) => (&mut row.secrets, false),
            ("PersistentVolumeClaim", _) => (&mut row.volumes, false),
            ("ServiceAccount", _) => (&mut row.service_account, false),
            _ => (&mut row.other, true),
        };
        let name = if names_kind { format!("{}/{}", d.to.kind, d.to.name) } else { d.to.name.to_string() };
        let cell = (name, d.resolution == Resolution::Dangling);
        if !column.contains(&cell) {
            column.push(cell);
        }
    }
    for c in &a.cloud {
        for user in &c.used_by {
            if let Some(row) = rows.get_mut(user)
                && !row.cloud.contains(&c.service)
            {
                row.cloud.push(c.service.clone());
            }
        }
    }
    rows.into_values().collect()
}

/// Whether the matrix needs its `Other` column (some workload needs a kind outside the fixed columns).
pub fn has_other(rows: &[MatrixRow]) -> bool {
    rows.iter().any(|r| !r.other.is_empty())
}

/// Renders a matrix cell: names joined by commas, dangling ones marked.
pub fn cell(items: &[(String, bool)]) -> String {
    items.iter().map(|(name, dangling)| if *dangling { format!("{name} (missing)") } else { name.clone() }).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use ferry_analysis::{Options, assess_objects};
    use ferry_model::load::LoadReport;
    use ferry_model::{Node, Object, Origin};
    use serde_json::json;

    use super::*;

    fn assess(objects: Vec<serde_json::Value>) -> Assessment {
        let object = |value| Object::from_root(serde_json::from_value::<Node>(value).unwrap(), Origin { file: "in.yaml".into(), document: 1, line: 0 });
        assess_objects(objects.into_iter().map(object).collect(), &LoadReport::default(), &Options::default())
    }

    /// The kinds newer than the matrix's fixed columns (Dapr, Secrets Store CSI, controllers that
    /// make Secrets, claim templates' classes) are needs of the workload too: before the `Other`
    /// column their edges were in the assessment but in no column.
    #[test]
    fn needs_of_kinds_outside_the_fixed_columns_show_in_the_other_column() {
        let template = json!({"metadata": {"labels": {"app": "web"}, "annotations": {"dapr.io/enabled": "true", "dapr.io/app-id": "web", "dapr.io/config": "tracing"}},
                              "spec": {"containers": [{"name": "c", "image": "web:1", "envFrom": [{"secretRef": {"name": "db"}}]}],
                                       "volumes": [{"name": "s", "csi": {"driver": "secrets-store.csi.k8s.io", "volumeAttributes": {"secretProviderClass": "vault"}}}]}});
        let a = assess(vec![
            json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web", "namespace": "shop"},
                   "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template,
                            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"storageClassName": "fast"}}]}}),
            json!({"apiVersion": "dapr.io/v1alpha1", "kind": "Component", "metadata": {"name": "state", "namespace": "shop"}, "spec": {"type": "state.redis"}}),
            json!({"apiVersion": "dapr.io/v1alpha1", "kind": "Configuration", "metadata": {"name": "tracing", "namespace": "shop"}, "spec": {}}),
            json!({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "metadata": {"name": "db", "namespace": "shop"}, "spec": {}}),
        ]);
        let rows = matrix(&a);
        let web = rows.iter().find(|r| r.workload.name == "web").expect("a row per workload");
        let mut other = web.other.clone();
        other.sort();
        let expected = [
            ("Component/state", false),
            ("Configuration/tracing", false),
            ("ExternalSecret/db", false),
            ("SecretProviderClass/vault", true),
            ("StorageClass/fast", false),
        ];
        assert_eq!(other, expected.map(|(name, dangling)| (name.to_owned(), dangling)));
        assert!(has_other(&rows));
    }

    #[test]
    fn without_such_needs_there_is_no_other_column() {
        let a = assess(vec![json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x:1"}]}})]);
        assert!(!has_other(&matrix(&a)));
    }
}
