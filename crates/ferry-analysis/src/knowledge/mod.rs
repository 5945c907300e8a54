//! Knowledge tables, compiled into the binary from `data/*.yaml`.
//!
//! The tables are reviewed data files, each row with its source; this module
//! only parses them and answers look-ups. `tests` validates every row.

pub mod cloud;
pub mod deprecations;
pub mod endpoints;
pub mod generated;
pub mod producers;
pub mod references;

use std::sync::OnceLock;

pub use cloud::{CloudRules, Subject};
pub use deprecations::{Deprecations, KubeVersion};
pub use endpoints::EndpointRules;
pub use generated::{Generated, GeneratedRules};
pub use producers::Producers;
pub use references::References;

/// Everything ferry knows; each table is loaded once, when first asked for.
pub struct Knowledge {
    /// Deprecated and removed API versions.
    pub deprecations: &'static Deprecations,
    /// Managed-cloud markers and counterparts.
    pub cloud: &'static CloudRules,
    /// Objects Kubernetes makes itself.
    pub generated: &'static GeneratedRules,
    /// Objects whose controllers make Secrets.
    pub producers: &'static Producers,
    /// Fields of custom resources that refer to other objects or hosts.
    pub references: &'static References,
    /// What classifies hosts outside the cluster.
    pub endpoints: &'static EndpointRules,
}

impl Knowledge {
    /// The tables built into this binary (all of them loaded: callers that need one table ask
    /// for it alone, e.g. [`Deprecations::builtin`], and skip compiling the cloud matchers).
    pub fn builtin() -> &'static Knowledge {
        static KNOWLEDGE: OnceLock<Knowledge> = OnceLock::new();
        KNOWLEDGE.get_or_init(|| Knowledge {
            deprecations: Deprecations::builtin(),
            cloud: CloudRules::builtin(),
            generated: GeneratedRules::builtin(),
            producers: Producers::builtin(),
            references: References::builtin(),
            endpoints: EndpointRules::builtin(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_deprecation_row_is_sourced_and_consistent() {
        let table = &Knowledge::builtin().deprecations;
        assert!(table.rows().len() > 50);
        for row in table.rows() {
            assert!(!row.source.trim().is_empty(), "{} {} has no source", row.api_version, row.kind);
            if let (Some(d), Some(r)) = (row.deprecated_in, row.removed_in) {
                assert!(d <= r, "{} {} removed before deprecated", row.api_version, row.kind);
            }
            assert_ne!(row.replacement.as_deref(), Some(row.api_version.as_str()));
        }
    }

    #[test]
    fn every_ecosystem_row_cites_its_project_and_says_when_it_stops_being_served() {
        for row in Knowledge::builtin().deprecations.rows().iter().filter(|r| r.component != "k8s") {
            let what = format!("{} {} ({})", row.api_version, row.kind, row.component);
            assert!(row.source.contains("https://"), "{what}: cite the project's release notes or upgrade guide by URL");
            assert!(row.removed_in.is_some(), "{what}: which release of {} stops serving it?", row.component);
            assert!(row.note.as_deref().is_some_and(|n| !n.is_empty()), "{what}: say what the removal means");
        }
    }

    #[test]
    fn deprecation_rows_are_sorted_and_a_wildcard_is_never_mixed_with_kinds() {
        let rows = Knowledge::builtin().deprecations.rows();
        let key = |r: &deprecations::DeprecationRow| (r.removed_in.is_none(), r.removed_in, r.api_version.clone(), r.kind.clone());
        for pair in rows.windows(2) {
            assert!(key(&pair[0]) <= key(&pair[1]), "{} {} sorts after {} {}", pair[0].api_version, pair[0].kind, pair[1].api_version, pair[1].kind);
        }
        let wildcards: HashSet<&str> = rows.iter().filter(|r| r.kind == "*").map(|r| r.api_version.as_str()).collect();
        for row in rows.iter().filter(|r| r.kind != "*") {
            assert!(!wildcards.contains(row.api_version.as_str()), "{} has both `*` and {}", row.api_version, row.kind);
        }
    }

    #[test]
    fn every_secret_producer_is_sourced_unique_and_names_a_secret() {
        let mut seen = HashSet::new();
        for row in Producers::builtin().rows() {
            assert!(row.source.starts_with("https://"), "{} {} has no source", row.group, row.kind);
            assert!(!row.names.is_empty() || row.default.is_some(), "{} {} names no Secret", row.group, row.kind);
            assert!(seen.insert((&row.group, &row.kind)), "{} {} twice", row.group, row.kind);
        }
    }

    #[test]
    fn every_reference_is_sourced_unique_and_complete() {
        let mut seen = HashSet::new();
        let table = References::builtin();
        assert!(!table.rows().is_empty());
        for row in table.rows() {
            assert!(row.source.starts_with("https://"), "{} {:?} has no source", row.group, row.kinds);
            assert!(!row.kinds.is_empty() && !row.fields.is_empty(), "{} names no kind or field", row.group);
            for kind in &row.kinds {
                for field in &row.fields {
                    assert!(!field.starts_with('.') && !field.ends_with('.') && !field.contains(".."), "{field}");
                    assert!(seen.insert((&row.group, kind, field)), "{} {kind} {field} twice", row.group);
                }
            }
        }
        let bad = "references:\n  - {group: g, kinds: [K], fields: [spec.x], value: host, relation: route-backend, source: https://x}\n";
        assert!(References::parse(bad).unwrap_err().contains("target"), "a host needs a target kind");
        let bad = "references:\n  - {group: g, kinds: [K], fields: [spec.x], value: name, target: Service, source: https://x}\n";
        assert!(References::parse(bad).unwrap_err().contains("relation"), "a name needs a relation");
    }

    #[test]
    fn removals_cover_every_release_that_removed_apis() {
        let removed: HashSet<String> =
            Knowledge::builtin().deprecations.rows().iter().filter(|r| r.component == "k8s").filter_map(|r| r.removed_in).map(|v| v.to_string()).collect();
        for version in ["1.16", "1.22", "1.25", "1.26", "1.27", "1.29", "1.32"] {
            assert!(removed.contains(version), "no removal recorded for {version}");
        }
    }

    #[test]
    fn every_cloud_rule_and_service_is_sourced_and_unique() {
        let cloud = &Knowledge::builtin().cloud;
        for service in cloud.services() {
            assert!(!service.source.trim().is_empty(), "{} has no source", service.id);
            for profile in ["oss", "aks", "eks", "gke"] {
                assert!(!service.counterparts.for_profile(profile).unwrap().trim().is_empty(), "{} lacks {profile}", service.id);
            }
        }
        let mut seen = HashSet::new();
        for rule in cloud.rules() {
            assert!(!rule.source.trim().is_empty(), "rule {} has no source", rule.pattern);
            let key = (rule.on, rule.pattern.to_lowercase(), rule.value.clone(), rule.kind.clone(), rule.path.clone());
            assert!(seen.insert(key), "duplicate rule {:?} {}", rule.on, rule.pattern);
        }
        for vendor in cloud.vendor_registries() {
            assert!(
                !vendor.source.trim().is_empty() && !vendor.counterpart.trim().is_empty(),
                "vendor registry {} lacks a source or counterpart",
                vendor.pattern
            );
        }
    }

    #[test]
    fn every_generated_rule_is_sourced_unique_and_narrow() {
        let mut seen = HashSet::new();
        for rule in Knowledge::builtin().generated.rules() {
            assert!(!rule.source.trim().is_empty(), "{} has no source", rule.id);
            assert!(seen.insert(rule.id.clone()), "duplicate rule {}", rule.id);
            let w = &rule.when;
            let narrowed = w.kind.is_some() || !w.names.is_empty() || !w.namespaces.is_empty() || w.looks_at_content();
            assert!(narrowed, "{} would match every object", rule.id);
            assert!(!(w.selecting_service && w.looks_at_content()), "{}: a selecting_service rule is decided across objects, by identity only", rule.id);
        }
    }

    #[test]
    fn every_endpoint_row_is_sourced_and_no_private_suffix_is_public() {
        let rules = EndpointRules::builtin();
        assert!(rules.protocols().len() > 20 && rules.private_networks().len() >= 7);
        for protocol in rules.protocols() {
            assert!(!protocol.source.trim().is_empty(), "{} has no source", protocol.name);
            assert!(!protocol.schemes.is_empty() || !protocol.ports.is_empty(), "{} says nothing", protocol.name);
            assert!(protocol.schemes.iter().all(|s| *s == s.to_ascii_lowercase()), "{}: schemes in lower case", protocol.name);
        }
        for row in rules.private_suffixes() {
            assert!(row.source.contains("RFC") || row.source.contains("https://"), "{} has no source", row.suffix);
            assert!(!rules.is_public_tld(&row.suffix), "{} is delegated in the public root", row.suffix);
        }
        for row in rules.private_networks() {
            assert!(row.source.contains("RFC"), "{} has no RFC", row.network);
        }
        for tld in ["com", "net", "org", "io", "de", "arpa"] {
            assert!(rules.is_public_tld(tld), "{tld}");
        }
        assert_eq!(rules.protocol(Some("LDAPS"), Some(389)), Some("LDAPS"), "the scheme says it before the port");
        assert_eq!(rules.protocol(None, Some(5432)), Some("PostgreSQL"));
        assert!(EndpointRules::parse(&include_str!("../../data/endpoints.yaml").replace("10.0.0.0/8", "10.0.0.0/99")).unwrap_err().contains("10.0.0.0/99"));
    }

    #[test]
    fn public_registries_are_never_cloud_dependencies() {
        let cloud = &Knowledge::builtin().cloud;
        for registry in ["public.ecr.aws", "mcr.microsoft.com", "ghcr.io", "docker.io", "quay.io", "registry.k8s.io"] {
            assert!(cloud.find(Subject::Image, registry, None).is_none(), "{registry}");
        }
        for registry in ["public.ecr.aws", "mcr.microsoft.com", "gcr.io", "us-docker.pkg.dev"] {
            assert!(cloud.vendor_registry(registry).is_some(), "{registry} is a vendor's public registry");
        }
        for registry in ["ghcr.io", "docker.io", "quay.io", "registry.k8s.io", "acme.azurecr.io"] {
            assert!(cloud.vendor_registry(registry).is_none(), "{registry} is no vendor's public registry");
        }
    }
}
