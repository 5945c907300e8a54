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
    /// Managed cloud services it depends on.
    pub cloud: Vec<Text>,
}

/// Builds the matrix from the assessment's dependencies and cloud findings.
pub fn matrix(a: &Assessment) -> Vec<MatrixRow> {
    let mut rows: BTreeMap<ObjRef, MatrixRow> =
        a.inventory.workloads.iter().map(|w| (w.object.clone(), MatrixRow { workload: w.object.clone(), ..MatrixRow::default() })).collect();
    for d in &a.dependencies {
        let Some(row) = rows.get_mut(&d.from) else { continue };
        let cell = (d.to.name.to_string(), d.resolution == Resolution::Dangling);
        let column = match (d.to.kind.as_str(), d.kind) {
            ("Service", Relation::Network) => &mut row.services,
            ("ConfigMap", _) => &mut row.config_maps,
            ("Secret", _) => &mut row.secrets,
            ("PersistentVolumeClaim", _) => &mut row.volumes,
            ("ServiceAccount", _) => &mut row.service_account,
            _ => continue,
        };
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

/// Renders a matrix cell: names joined by commas, dangling ones marked.
pub fn cell(items: &[(String, bool)]) -> String {
    items.iter().map(|(name, dangling)| if *dangling { format!("{name} (missing)") } else { name.clone() }).collect::<Vec<_>>().join(", ")
}
