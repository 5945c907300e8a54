//! The migration checklist: what must be done before and during the move,
//! derived from the findings, in the order a team would work through it.

use std::collections::BTreeMap;

use ferry_analysis::{Assessment, Resolution};

/// One thing to do.
#[derive(Debug, Clone, PartialEq)]
pub struct ChecklistItem {
    /// Short imperative title.
    pub title: String,
    /// Details (objects concerned, evidence).
    pub detail: String,
    /// Whether it blocks the migration until done.
    pub blocking: bool,
}

/// Builds the checklist.
pub fn checklist(a: &Assessment) -> Vec<ChecklistItem> {
    let mut items = Vec::new();
    if a.errors_of(ferry_analysis::NO_OBJECTS) > 0 {
        items.push(item(
            "Give the rendered manifests".into(),
            "The input holds no Kubernetes object; render Helm charts or Kustomize overlays first.".into(),
            true,
        ));
    }
    let unreadable = a.errors_of(ferry_analysis::INPUT_ERROR);
    if unreadable > 0 {
        items.push(item(format!("Fix {unreadable} unreadable input document(s)"), "The assessment is incomplete until they parse; see Warnings.".into(), true));
    }
    let duplicates = a.errors_of(ferry_analysis::DUPLICATE_OBJECT);
    if duplicates > 0 {
        items.push(item(
            format!("Resolve {duplicates} object(s) given twice with different content"),
            "Only the first copy is assessed; see Warnings for both places.".into(),
            true,
        ));
    }
    let removed: Vec<String> =
        a.removed_apis().map(|d| format!("{} ({} → {})", d.object, d.api_version, d.replacement.as_deref().unwrap_or("no successor"))).collect();
    if !removed.is_empty() {
        items.push(item(
            format!("Convert {} object(s) from API versions removed in Kubernetes {}", removed.len(), a.target.kubernetes),
            removed.join("; "),
            true,
        ));
    }
    let mut by_service: BTreeMap<&str, (Vec<String>, &str)> = BTreeMap::new();
    for c in &a.cloud {
        let entry = by_service.entry(&c.service).or_insert_with(|| (Vec::new(), &c.counterpart));
        entry.0.extend(c.used_by.iter().map(|u| u.name.to_string()));
    }
    for (service, (mut users, counterpart)) in by_service {
        users.sort();
        users.dedup();
        let used_by = if users.is_empty() { String::new() } else { format!(" (used by {})", users.join(", ")) };
        items.push(item(
            format!("Replace {service} with {counterpart}"),
            format!("Provision it on the target before the first wave that needs it{used_by}."),
            true,
        ));
    }
    let dangling: Vec<String> =
        a.dependencies.iter().filter(|d| d.resolution == Resolution::Dangling).map(|d| format!("{} → {} ({})", d.from, d.to, d.evidence)).collect();
    if !dangling.is_empty() {
        items.push(item(
            format!("Resolve {} reference(s) to objects missing from the input", dangling.len()),
            format!("Add them to the migration or keep them reachable from the target: {}", dangling.join("; ")),
            false,
        ));
    }
    for cycle in &a.waves.cycles {
        items.push(item(format!("Move {} together", cycle.members.join(" + ")), cycle.advice.clone(), false));
    }
    for wave in &a.waves.waves {
        let names: Vec<&str> = wave.applications.iter().map(|app| app.name.as_str()).collect();
        items.push(item(format!("Wave {}: move {}", wave.number, names.join(", ")), "Apply, verify, then shift traffic before the next wave.".into(), false));
    }
    items
}

fn item(title: String, detail: String, blocking: bool) -> ChecklistItem {
    ChecklistItem { title, detail, blocking }
}
