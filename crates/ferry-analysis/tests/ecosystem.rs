//! Removed APIs of the ecosystem (issue 20 item 8): an object of an API version that its
//! project no longer serves is reported as removed, with the replacement and the project's
//! release that stopped serving it (not a Kubernetes version); the versions that replace
//! them, and the current APIs of projects that removed nothing, give no finding.

use std::path::PathBuf;

use ferry_analysis::knowledge::deprecations::ApiStatus;
use ferry_analysis::{Assessment, Options, assess_paths};

fn assess(file: &str) -> Assessment {
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/ecosystem")).join(file);
    assess_paths(&[path], &Options::default()).expect("fixture loads")
}

/// Each finding as `KIND NAME: STATUS, COMPONENT REMOVED_IN -> REPLACEMENT`.
fn findings(a: &Assessment) -> Vec<String> {
    a.deprecations
        .iter()
        .map(|d| {
            let removed = d.removed_in.map(|v| v.to_string()).unwrap_or_default();
            let status = if d.status == ApiStatus::Removed { "removed" } else { "deprecated" };
            format!("{} {}: {status}, {} {removed} -> {}", d.kind, d.object.name, d.component, d.replacement.as_deref().unwrap_or("none"))
        })
        .collect()
}

#[test]
fn external_secrets_v1alpha1_and_v1beta1_are_removed_in_the_operators_releases() {
    assert_eq!(
        findings(&assess("external-secrets.yaml")),
        [
            "ExternalSecret db-credentials: removed, external-secrets 0.17 -> external-secrets.io/v1",
            "SecretStore vault: removed, external-secrets 0.16 -> external-secrets.io/v1",
        ]
    );
}

#[test]
fn gateway_api_v1alpha2_grpcroute_is_removed_in_the_crd_bundle() {
    assert_eq!(findings(&assess("gateway-api.yaml")), ["GRPCRoute catalog: removed, gateway-api 1.2 -> gateway.networking.k8s.io/v1"]);
}

#[test]
fn keda_v1_group_is_removed_in_keda_2() {
    assert_eq!(findings(&assess("keda.yaml")), ["ScaledObject worker: removed, keda 2.0 -> keda.sh/v1alpha1"]);
}

#[test]
fn flux_v1_and_flux_v2_beta_apis_are_removed() {
    assert_eq!(
        findings(&assess("flux.yaml")),
        [
            "HelmRelease podinfo: removed, flux 2.0 -> helm.toolkit.fluxcd.io/v2",
            "HelmRelease redis: removed, flux 2.7 -> helm.toolkit.fluxcd.io/v2",
            "GitRepository shop: removed, flux 2.7 -> source.toolkit.fluxcd.io/v1",
        ]
    );
}

#[test]
fn traefik_containous_group_is_removed_in_traefik_3() {
    assert_eq!(findings(&assess("traefik.yaml")), ["IngressRoute web: removed, traefik 3.0 -> traefik.io/v1alpha1"]);
}

#[test]
fn cert_manager_v1alpha2_is_removed_in_cert_manager_1_6() {
    assert_eq!(findings(&assess("cert-manager.yaml")), ["Certificate web: removed, cert-manager 1.6 -> cert-manager.io/v1"]);
}

#[test]
fn current_versions_and_apis_nobody_removed_give_no_finding() {
    let a = assess("current.yaml");
    assert_eq!(a.inventory.total, 12);
    assert_eq!(findings(&a), Vec::<String>::new());
}

#[test]
fn the_json_names_the_component_release_not_a_kubernetes_version() {
    let json = serde_json::to_value(assess("traefik.yaml")).unwrap();
    let finding = &json["deprecations"][0];
    assert_eq!((finding["component"].as_str(), finding["removed_in"].as_str()), (Some("traefik"), Some("3.0")));
    assert_eq!(finding["replacement"].as_str(), Some("traefik.io/v1alpha1"));
    assert!(finding.get("replacement_since").is_none(), "a component's release is not a Kubernetes release: {finding}");
}
