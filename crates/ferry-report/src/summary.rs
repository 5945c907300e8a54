//! The sections of the terminal and Markdown summaries, built once from the
//! assessment so that both renderers show the same content.

use ferry_analysis::{Assessment, CloudFinding, Resolution, WarningLevel};

use crate::endpoints;
use crate::matrix::{cell, has_other, matrix};
use crate::serialized_name;

/// A titled block: a table and/or lines of text.
pub(crate) struct Section {
    /// Heading.
    pub title: String,
    /// Column headers (empty when the section has no table).
    pub headers: Vec<&'static str>,
    /// Table rows.
    pub rows: Vec<Vec<String>>,
    /// Rows left out because of the limit.
    pub omitted: usize,
    /// Text lines after the table.
    pub lines: Vec<String>,
}

impl Section {
    fn new(title: impl Into<String>, headers: Vec<&'static str>) -> Self {
        Section { title: title.into(), headers, rows: Vec::new(), omitted: 0, lines: Vec::new() }
    }

    fn push(&mut self, row: Vec<String>, limit: usize) {
        if self.rows.len() < limit {
            self.rows.push(row);
        } else {
            self.omitted += 1;
        }
    }
}

/// The headline: target and input counts.
pub(crate) fn headline(a: &Assessment) -> String {
    let notes = a.warnings.iter().filter(|w| w.severity == WarningLevel::Note).count();
    let errors = a.errors_of(ferry_analysis::INPUT_ERROR);
    let read = match &a.input.cluster {
        Some(cluster) => format!("Read {} objects from {cluster}; {notes} notes, {errors} unreadable resources.", a.input.objects),
        None => {
            format!("Read {} files, {} documents, {} objects; {notes} notes, {errors} unreadable documents.", a.input.files, a.input.documents, a.input.objects)
        }
    };
    format!("Target Kubernetes {} (profile `{}`). {read}", a.target.kubernetes, a.target.profile)
}

/// Every section, tables capped at `limit` rows.
pub(crate) fn sections(a: &Assessment, limit: usize) -> Vec<Section> {
    vec![
        inventory(a, limit),
        dependency_matrix(a, limit),
        dangling(a, limit),
        cloud(a, limit),
        external_endpoints(a, limit),
        deprecations(a, limit),
        waves(a),
        warnings(a, limit),
    ]
}

fn inventory(a: &Assessment, limit: usize) -> Section {
    let mut s = Section::new(format!("Inventory: {} objects", a.inventory.total), vec!["Kind", "apiVersion", "Count"]);
    for k in &a.inventory.by_kind {
        s.push(vec![k.kind.clone(), k.api_version.clone(), k.count.to_string()], limit);
    }
    let namespaces: Vec<String> =
        a.inventory.by_namespace.iter().map(|n| format!("{} ({})", if n.namespace.is_empty() { "(unset)" } else { &n.namespace }, n.count)).collect();
    s.lines.push(format!("Namespaces: {}", namespaces.join(", ")));
    let registries: Vec<String> = a.inventory.registries.iter().map(|r| format!("{} ({})", r.registry, r.images)).collect();
    s.lines.push(format!(
        "Workloads: {}; image registries: {}",
        a.inventory.workloads.len(),
        if registries.is_empty() { "none".into() } else { registries.join(", ") }
    ));
    if !a.inventory.generated.is_empty() {
        let generated: Vec<String> = a.inventory.generated.iter().map(|g| format!("{} {} ({})", g.count, g.kind, g.rule)).collect();
        s.lines.push(format!("Made by Kubernetes itself, not migrated: {}", generated.join(", ")));
    }
    s
}

fn dependency_matrix(a: &Assessment, limit: usize) -> Section {
    let rows = matrix(a);
    let other = has_other(&rows);
    let mut headers = vec!["Workload", "Services", "ConfigMaps", "Secrets", "Volumes", "ServiceAccount"];
    headers.extend(other.then_some("Other"));
    headers.push("Cloud");
    let mut s = Section::new("Dependency matrix", headers);
    for row in rows {
        let workload = format!("{} {}", row.workload.kind, qualified(row.workload.namespace.as_deref(), &row.workload.name));
        let cells = [&row.services, &row.config_maps, &row.secrets, &row.volumes, &row.service_account].map(|c| cell(c));
        let mut r = vec![workload];
        r.extend(cells);
        r.extend(other.then(|| cell(&row.other)));
        r.push(row.cloud.join(", "));
        s.push(r, limit);
    }
    s
}

fn dangling(a: &Assessment, limit: usize) -> Section {
    let mut s = Section::new("References to objects missing from the input", vec!["From", "Needs", "How", "Where"]);
    for d in a.dependencies.iter().filter(|d| d.resolution == Resolution::Dangling) {
        let how = serialized_name(d.kind);
        s.push(vec![d.from.to_string(), d.to.to_string(), how, d.evidence.to_string()], limit);
    }
    if s.rows.is_empty() {
        s.lines.push("None: every reference resolves within the input.".into());
    }
    s
}

/// One row per managed service: the findings of all its markers grouped, with their count and
/// where the first was found (the JSON and HTML reports list every finding).
fn cloud(a: &Assessment, limit: usize) -> Section {
    let title = format!("Managed cloud dependencies (counterparts for `{}`)", a.target.profile);
    let mut s = Section::new(title, vec!["Service", "Findings", "Markers", "Where", "Used by", "Counterpart"]);
    for group in cloud_services(&a.cloud) {
        let first = group[0];
        s.push(
            vec![
                format!("{} ({})", first.service, first.provider),
                group.len().to_string(),
                distinct(group.iter().map(|c| c.matched.as_str())),
                first.evidence.location(),
                distinct(group.iter().flat_map(|c| c.used_by.iter().map(|u| u.name.as_str()))),
                first.counterpart.to_string(),
            ],
            limit,
        );
    }
    if s.rows.is_empty() {
        s.lines.push("None: no managed-cloud marker found; the input looks cloud-neutral.".into());
    }
    s
}

fn external_endpoints(a: &Assessment, limit: usize) -> Section {
    let mut s = Section::new(endpoints::TITLE, endpoints::HEADERS.to_vec());
    for row in endpoints::rows(a) {
        s.push(row.to_vec(), limit);
    }
    s.lines.push(if s.rows.is_empty() { endpoints::NONE } else { endpoints::INTRO }.to_owned());
    s
}

/// The findings grouped by provider and service, in the order each service was first found.
fn cloud_services(findings: &[CloudFinding]) -> Vec<Vec<&CloudFinding>> {
    let mut groups: Vec<Vec<&CloudFinding>> = Vec::new();
    for finding in findings {
        match groups.iter_mut().find(|g| g[0].provider == finding.provider && g[0].service_id == finding.service_id) {
            Some(group) => group.push(finding),
            None => groups.push(vec![finding]),
        }
    }
    groups
}

/// The distinct values, in first-seen order, joined by commas (linear: a service can be used
/// by tens of thousands of workloads).
fn distinct<'a>(values: impl Iterator<Item = &'a str>) -> String {
    let mut seen = std::collections::HashSet::new();
    values.filter(|value| seen.insert(*value)).collect::<Vec<_>>().join(", ")
}

fn deprecations(a: &Assessment, limit: usize) -> Section {
    let title = format!("Deprecated and removed APIs for Kubernetes {}", a.target.kubernetes);
    let mut s = Section::new(title, vec!["Status", "Object", "apiVersion", "Removed in", "Replacement", "Where"]);
    for d in &a.deprecations {
        let status = serialized_name(d.status);
        let status = match d.via.label() {
            Some(label) => format!("{status} ({label})"),
            None => status,
        };
        let removed = match (d.removed_in, d.component.as_str()) {
            (Some(v), "k8s") => v.to_string(),
            (Some(v), component) => format!("{component} {v}"),
            (None, _) => "not scheduled".into(),
        };
        s.push(
            vec![status, d.object.to_string(), d.api_version.clone(), removed, d.replacement.clone().unwrap_or_else(|| "none".into()), d.evidence.location()],
            limit,
        );
    }
    if s.rows.is_empty() {
        s.lines.push("None.".into());
    }
    s
}

fn waves(a: &Assessment) -> Section {
    let mut s = Section::new("Migration waves", Vec::new());
    for wave in &a.waves.waves {
        s.lines.push(format!("Wave {}:", wave.number));
        for app in &wave.applications {
            s.lines.push(format!("  - {}: {}", qualified(app.namespace.as_deref(), &app.name), app.reason));
        }
    }
    for cycle in &a.waves.cycles {
        s.lines.push(format!("Cycle: {}", cycle.members.join(" ↔ ")));
        for edge in &cycle.edges {
            s.lines.push(format!("  - {edge}"));
        }
    }
    if !a.waves.central.is_empty() {
        let central: Vec<String> = a.waves.central.iter().take(5).map(|c| format!("{} ({} dependents)", c.application, c.all_dependents)).collect();
        s.lines.push(format!("Most depended on: {}", central.join(", ")));
    }
    if a.waves.waves.is_empty() {
        s.lines.push("No workloads.".into());
    }
    s
}

fn warnings(a: &Assessment, limit: usize) -> Section {
    let mut s = Section::new("Warnings", vec!["Severity", "Where", "Message"]);
    let mut sorted: Vec<_> = a.warnings.iter().collect();
    sorted.sort_by_key(|w| std::cmp::Reverse(w.severity));
    for w in sorted {
        let severity = serialized_name(w.severity);
        let place = w.location.as_ref().map(ToString::to_string).unwrap_or_default();
        s.push(vec![severity, place, w.message.clone()], limit);
    }
    if s.rows.is_empty() {
        s.lines.push("None.".into());
    }
    s
}

fn qualified(namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_owned(),
    }
}
