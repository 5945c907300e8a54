//! The migration checklist: what must be decided and done before and during
//! the move, derived from the findings, in the order a team would work
//! through it.
//!
//! An item is *blocking* only when the migration cannot go right until it is
//! done: input that could not be assessed, removed APIs without a
//! conversion, references to objects missing from the input, and managed
//! services bound to the source platform (found through storage classes,
//! ingress classes, annotations, labels, node labels, API groups or fields)
//! whose counterpart must be decided because the target cannot provide them.
//! Services reached over the network (host names, images, configuration
//! keys) can stay where they are at first, so deciding on them is work, not
//! a blocker. Counterparts are offered as options from the knowledge table,
//! never prescribed; the rest (convertible APIs, cycles, waves) is work to
//! plan.

use std::collections::BTreeMap;

use ferry_analysis::knowledge::cloud::Subject;
use ferry_analysis::{Assessment, CloudFinding, DeprecationFinding, Resolution};

/// Names listed in one item before "and N more".
const NAMES: usize = 12;

/// One thing to decide or do.
#[derive(Debug, Clone, PartialEq)]
pub struct ChecklistItem {
    /// Short imperative title.
    pub title: String,
    /// Details (objects concerned, evidence, options).
    pub detail: String,
    /// Whether the migration cannot go right until it is done.
    pub blocking: bool,
}

/// Builds the checklist: blocking items first, each group in working order.
pub fn checklist(a: &Assessment) -> Vec<ChecklistItem> {
    let mut items = input_items(a);
    api_items(a, &mut items);
    cloud_items(a, &mut items);
    dangling_items(a, &mut items);
    for cycle in &a.waves.cycles {
        items.push(item(format!("Move {} together", cycle.members.join(" + ")), cycle.advice.clone(), false));
    }
    for wave in &a.waves.waves {
        let names: Vec<String> = wave.applications.iter().map(|app| app.name.to_string()).collect();
        items.push(item(format!("Wave {}: move {}", wave.number, listing(&names)), "Apply, verify, then shift traffic before the next wave.".into(), false));
    }
    // Stable: the working order is kept within each group.
    items.sort_by_key(|i| !i.blocking);
    items
}

/// Input that keeps the assessment from being complete.
fn input_items(a: &Assessment) -> Vec<ChecklistItem> {
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
    items
}

/// Removed APIs: blocking when the target serves no replacement (nothing to
/// convert to); otherwise `ferry migrate` converts them and they need review.
fn api_items(a: &Assessment, items: &mut Vec<ChecklistItem>) {
    let target = a.target.kubernetes;
    let (convertible, stuck): (Vec<&DeprecationFinding>, Vec<&DeprecationFinding>) = a.removed_apis().partition(|d| d.replacement_available(target));
    let describe = |list: &[&DeprecationFinding]| -> Vec<String> {
        list.iter().map(|d| format!("{} ({} → {})", d.object, d.api_version, d.replacement.as_deref().unwrap_or("no successor"))).collect()
    };
    if !stuck.is_empty() {
        items.push(item(
            format!("Decide what replaces {} object(s) whose API is removed in Kubernetes {target} without a successor", stuck.len()),
            format!("No conversion exists; options: the component's newer release, another product, or dropping the object: {}", listing(&describe(&stuck))),
            true,
        ));
    }
    if !convertible.is_empty() {
        items.push(item(
            format!("Review the conversion of {} object(s) from API versions removed in Kubernetes {target}", convertible.len()),
            format!("`ferry migrate` converts them to the replacement; check the result: {}", listing(&describe(&convertible))),
            false,
        ));
    }
}

/// Whether a finding ties the workload to the source platform (the target
/// cluster cannot provide it), rather than to an endpoint it reaches over the network (a
/// collector's exporter sends there too) or to a store the input does not name.
fn platform_bound(c: &CloudFinding) -> bool {
    !matches!(c.subject, Subject::Host | Subject::Image | Subject::ImagePath | Subject::ConfigKey | Subject::OtelComponent | Subject::MissingObject)
}

/// Managed cloud services: a decision per service, with the knowledge
/// table's counterparts for the target profile offered as options; blocking
/// when the service is bound to the source platform. Services the target
/// keeps ("(keep)") only need to stay reachable.
fn cloud_items(a: &Assessment, items: &mut Vec<ChecklistItem>) {
    let mut by_service: BTreeMap<&str, (Vec<String>, &CloudFinding, bool)> = BTreeMap::new();
    for c in &a.cloud {
        let entry = by_service.entry(&c.service).or_insert_with(|| (Vec::new(), c, false));
        entry.0.extend(c.used_by.iter().map(|u| u.name.to_string()));
        entry.2 |= platform_bound(c);
    }
    for (service, (mut users, finding, bound)) in by_service {
        users.sort();
        users.dedup();
        let used_by = if users.is_empty() { String::new() } else { format!(" Used by {}.", listing(&users)) };
        let counterpart = finding.counterpart.trim();
        if counterpart.ends_with("(keep)") || counterpart.is_empty() {
            items.push(item(format!("Keep {service} reachable from the target"), format!("The target profile keeps this service.{used_by}"), false));
        } else if bound {
            items.push(item(
                format!("Decide what replaces {service}"),
                format!(
                    "The target cannot provide it. Options for profile {}: {counterpart}. Provision the choice before the first wave that needs it.{used_by}",
                    a.target.profile
                ),
                true,
            ));
        } else {
            items.push(item(
                format!("Decide whether to keep or replace {service}"),
                format!(
                    "It is reached over the network, so the target can keep using it at first. Options for profile {}: keep it, or {counterpart}.{used_by}",
                    a.target.profile
                ),
                false,
            ));
        }
    }
}

/// References to objects missing from the input: they break at the target.
fn dangling_items(a: &Assessment, items: &mut Vec<ChecklistItem>) {
    let dangling: Vec<String> =
        a.dependencies.iter().filter(|d| d.resolution == Resolution::Dangling).map(|d| format!("{} → {} ({})", d.from, d.to, d.evidence)).collect();
    if !dangling.is_empty() {
        items.push(item(
            format!("Resolve {} reference(s) to objects missing from the input", dangling.len()),
            format!("Add them to the migration or keep them reachable from the target: {}", listing(&dangling)),
            true,
        ));
    }
}

/// The first [`NAMES`] entries joined, then how many more there are.
fn listing(names: &[String]) -> String {
    match names.len() {
        n if n <= NAMES => names.join(", "),
        n => format!("{} and {} more", names[..NAMES].join(", "), n - NAMES),
    }
}

fn item(title: String, detail: String, blocking: bool) -> ChecklistItem {
    ChecklistItem { title, detail, blocking }
}

#[cfg(test)]
mod tests {
    use ferry_analysis::{Assessment, Options, assess_paths};

    use super::*;

    fn assess(manifest: &str) -> Assessment {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("input.yaml"), manifest).expect("write manifest");
        assess_paths(&[dir.path().to_path_buf()], &Options::default()).expect("loads")
    }

    const NEUTRAL: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - {name: web, image: "ghcr.io/example/web:1", envFrom: [{configMapRef: {name: web-config}}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config, namespace: shop}
data: {LOG_LEVEL: info}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80}]}
"#;

    #[test]
    fn cloud_neutral_input_without_findings_blocks_nothing() {
        let a = assess(NEUTRAL);
        assert!(a.cloud.is_empty() && a.deprecations.is_empty() && a.warnings.is_empty(), "{:?} {:?} {:?}", a.cloud, a.deprecations, a.warnings);
        let items = checklist(&a);
        assert!(!items.is_empty(), "the waves are still listed");
        assert!(items.iter().all(|i| !i.blocking), "{items:#?}");
    }

    #[test]
    fn removed_api_without_conversion_blocks() {
        let psp = "---\napiVersion: policy/v1beta1\nkind: PodSecurityPolicy\nmetadata: {name: restricted}\nspec: {privileged: false}\n";
        let a = assess(&format!("{NEUTRAL}{psp}"));
        let items = checklist(&a);
        let blocking: Vec<&ChecklistItem> = items.iter().filter(|i| i.blocking).collect();
        assert_eq!(blocking.len(), 1, "{items:#?}");
        assert!(blocking[0].title.contains("without a successor"), "{}", blocking[0].title);
        assert!(blocking[0].detail.contains("PodSecurityPolicy"), "{}", blocking[0].detail);
    }

    #[test]
    fn convertible_removed_api_is_work_not_a_blocker() {
        let old = NEUTRAL.replacen("apiVersion: apps/v1", "apiVersion: extensions/v1beta1", 1);
        let a = assess(&old);
        assert_eq!(a.removed_apis().count(), 1);
        let items = checklist(&a);
        let review = items.iter().find(|i| i.title.starts_with("Review the conversion")).expect("review item");
        assert!(!review.blocking);
        assert!(items.iter().all(|i| !i.blocking), "{items:#?}");
    }

    #[test]
    fn services_reached_over_the_network_are_options_not_blockers() {
        let bus = r#"env: [{name: BUS, value: "Endpoint=sb://contoso.servicebus.windows.net/"}], envFrom"#;
        let a = assess(&NEUTRAL.replacen("envFrom", bus, 1));
        assert_eq!(a.target.profile, "oss");
        let items = checklist(&a);
        let decide = items.iter().find(|i| i.title == "Decide whether to keep or replace Azure Service Bus").expect("decision item");
        assert!(!decide.blocking);
        assert!(decide.detail.contains("Options for profile oss: keep it, or RabbitMQ with the AMQP 1.0 plugin, or NATS JetStream."), "{}", decide.detail);
        assert!(decide.detail.contains("Used by web."), "{}", decide.detail);
    }

    #[test]
    fn platform_bound_services_block_until_decided() {
        let claim = "---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data, namespace: shop}\nspec: {storageClassName: managed-csi, accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n";
        let a = assess(&format!("{NEUTRAL}{claim}"));
        let items = checklist(&a);
        let decide = items.iter().find(|i| i.title.starts_with("Decide what replaces Azure Disk")).expect("decision item");
        assert!(decide.blocking, "{items:#?}");
        assert!(decide.detail.starts_with("The target cannot provide it. Options for profile oss: "), "{}", decide.detail);
    }

    #[test]
    fn dangling_references_block_first() {
        let a = assess(&NEUTRAL.replace("name: web-config, namespace", "name: other-config, namespace"));
        let items = checklist(&a);
        assert!(items[0].blocking && items[0].title.contains("missing from the input"), "{items:#?}");
        assert!(items[1..].iter().all(|i| !i.blocking));
    }

    #[test]
    fn long_listings_are_cut() {
        let names: Vec<String> = (0..20).map(|i| format!("app-{i}")).collect();
        assert_eq!(listing(&names[..2]), "app-0, app-1");
        assert!(listing(&names).ends_with("app-11 and 8 more"));
    }
}
