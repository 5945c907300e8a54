//! Cloud markers outside an object's own fields, in the public corpora of `tests/corpora`,
//! checked against the hand-written oracle `tests/corpora/GROUND_TRUTH.md` (sections 5-12):
//! Flux and Argo CD Helm values and chart sources, OpenTelemetry collector configurations, a
//! node's cloud-provider settings, CSI secret volumes without their SecretProviderClass, and
//! images from cloud vendors' public registries. Recall and precision both: the cloud findings,
//! vendor-registry notes and the edges of the new relations are exactly the ground truth's, and
//! the cloud-neutral corpora have no cloud finding.

#[path = "support/corpus.rs"]
mod corpus;

use std::collections::BTreeSet;

use corpus::{assert_exactly, assess, cloud, file, name, strings};
use ferry_analysis::INPUT_ERROR;
use ferry_analysis::facts::VENDOR_REGISTRY_IMAGE;
use serde_json::Value;

/// Edges of the relations of GitOps tools and of the volumes and references the corpora show.
fn edges(a: &Value) -> BTreeSet<String> {
    corpus::edges(a, &["chart-source", "helm-values", "secret-provider-class", "volume", "network", "env-value-from"])
}

/// Vendor-registry notes as `OBJECT file:line`.
fn vendor_notes(a: &Value) -> BTreeSet<String> {
    let warnings = a["warnings"].as_array().unwrap().iter().filter(|w| w["code"] == VENDOR_REGISTRY_IMAGE);
    warnings.map(|w| format!("{} {}:{}", name(&w["object"]), file(w), w["line"])).collect()
}

// §5
#[test]
fn flux_releases_reach_their_sources_and_a_public_ecr_image_in_values_is_a_note_not_a_cloud_finding() {
    let a = assess("flux-helm-example", &["apps", "infrastructure"]);
    assert_exactly(
        edges(&a),
        &strings(&[
            "HelmRelease/podinfo/podinfo -> HelmRepository/podinfo/podinfo [chart-source] resolved release.yaml:14",
            "HelmRelease/cert-manager/cert-manager -> OCIRepository/cert-manager/cert-manager [chart-source] resolved cert-manager.yaml:38",
            "HelmRelease/envoy-gateway-system/envoy-gateway -> OCIRepository/envoy-gateway-system/gateway-helm [chart-source] resolved envoy-gateway.yaml:39",
        ]),
    );
    assert_exactly(cloud(&a), &[]);
    assert_exactly(vendor_notes(&a), &strings(&["HelmRelease/podinfo/podinfo release.yaml:26"]));
}

// §6a
#[test]
fn the_retired_azure_marketplace_chart_repository_is_used_by_the_release_installing_from_it() {
    let a = assess("azure-flux-gitops", &["infrastructure"]);
    assert_exactly(
        edges(&a),
        &strings(&[
            "HelmRelease/cluster-config/nginx -> HelmRepository/azure-marketplace [chart-source] resolved release.yaml:14",
            "HelmRelease/cluster-config/redis -> HelmRepository/bitnami [chart-source] resolved release.yaml:14",
            "HelmRelease/cluster-config/redis -> ConfigMap/cluster-config/redis-values [helm-values] dangling release.yaml:23",
        ]),
    );
    assert_exactly(
        cloud(&a),
        &strings(&["azure-acr-helm-repository HelmRepository/azure-marketplace azure-marketplace.yaml:7 used by [HelmRelease/cluster-config/nginx]"]),
    );
}

// §6b
#[test]
fn application_gateway_in_helm_values_is_found_where_the_values_set_it() {
    let a = assess("azure-flux-gitops", &["apps"]);
    let expected: Vec<String> =
        [15, 17, 18].iter().map(|line| format!("azure-application-gateway HelmRelease/cluster-config/podinfo podinfo-values.yaml:{line} used by []")).collect();
    assert_exactly(cloud(&a), &expected);
}

// §7 (with its correction: a private gcr.io project among the kustomize images)
#[test]
fn the_reference_argo_cd_application_uses_one_private_gcr_image_and_nothing_else_of_a_cloud() {
    let a = assess("argo-cd", &["docs"]);
    assert_exactly(cloud(&a), &strings(&["gcp-artifact-registry Application/argocd/guestbook application.yaml:131 used by []"]));
    assert_exactly(vendor_notes(&a), &[]);
}

// §8
#[test]
fn aws_collector_components_in_a_config_map_are_used_by_the_collector() {
    let a = assess("aws-otel-collector", &["deployment-template"]);
    let user = "[DaemonSet/aws-otel-eks/aws-otel-eks-ci]";
    assert_exactly(
        cloud(&a),
        &[
            format!("aws-cloudwatch ConfigMap/aws-otel-eks/otel-agent-conf otel-container-insights-infra.yaml:82 used by {user}"),
            format!("aws-cloudwatch ConfigMap/aws-otel-eks/otel-agent-conf otel-container-insights-infra.yaml:89 used by {user}"),
            format!("aws-cloudwatch DaemonSet/aws-otel-eks/aws-otel-eks-ci otel-container-insights-infra.yaml:188 used by {user}"),
        ],
    );
    assert_exactly(vendor_notes(&a), &[]);
    assert!(
        edges(&a).contains(
            "DaemonSet/aws-otel-eks/aws-otel-eks-ci -> ConfigMap/aws-otel-eks/otel-agent-conf [volume] resolved otel-container-insights-infra.yaml:242"
        )
    );
}

// §9
#[test]
fn google_collector_exporters_in_a_config_map_are_used_by_the_collector() {
    let a = assess("otlp-k8s-ingest", &["k8s"]);
    let user = "[Deployment/opentelemetry/opentelemetry-collector]";
    assert_exactly(
        cloud(&a),
        &[
            format!("gcp-cloud-operations ConfigMap/opentelemetry/collector-config 1_configmap.yaml:19 used by {user}"),
            format!("gcp-managed-prometheus ConfigMap/opentelemetry/collector-config 1_configmap.yaml:23 used by {user}"),
            format!("gcp-apis ConfigMap/opentelemetry/collector-config 1_configmap.yaml:29 used by {user}"),
            format!("gcp-artifact-registry Deployment/opentelemetry/opentelemetry-collector 4_deployment.yaml:38 used by {user}"),
        ],
    );
}

// §10
#[test]
fn the_azure_cloud_provider_is_found_in_flags_node_files_images_and_its_configuration() {
    let a = assess(
        "cloud-provider-azure",
        &["examples/in-tree", "examples/out-of-tree/cloud-controller-manager.yaml", "examples/out-of-tree/cloud-node-manager.yaml"],
    );
    let mut expected = Vec::new();
    let mut on = |object: &str, file: &str, lines: &[u32]| {
        for line in lines {
            expected.push(format!("azure-cloud-provider {object} {file}:{line} used by [{object}]"));
        }
    };
    on("Pod/kube-system/kube-controller-manager", "kube-controller-manager.yaml", &[18, 19, 55]);
    on("Deployment/kube-system/cloud-controller-manager", "cloud-controller-manager.yaml", &[161, 166, 167, 214]);
    on("DaemonSet/kube-system/cloud-node-manager", "cloud-node-manager.yaml", &[82]);
    on("DaemonSet/kube-system/cloud-node-manager-windows", "cloud-node-manager.yaml", &[139]);
    expected.push(
        "azure-cloud-provider Secret/kube-system/azure-cloud-config cloud-controller-manager.yaml:223 used by [Deployment/kube-system/cloud-controller-manager]"
            .to_owned(),
    );
    assert_exactly(cloud(&a), &expected);
    assert_exactly(vendor_notes(&a), &[]);
    // The in-tree kube-apiserver.yaml is not YAML (see the correction of §10): an error names it.
    let errors = a["warnings"].as_array().unwrap().iter().filter(|w| w["code"] == INPUT_ERROR);
    assert_eq!(errors.map(|w| file(w).to_owned()).collect::<Vec<_>>(), ["kube-apiserver.yaml"]);
    let out_of_tree = assess("cloud-provider-azure", &["examples/out-of-tree/kube-controller-manager.yaml"]);
    assert_exactly(
        cloud(&out_of_tree),
        &strings(&[
            "azure-cloud-provider Pod/kube-system/kube-controller-manager kube-controller-manager.yaml:59 used by [Pod/kube-system/kube-controller-manager]",
        ]),
    );
}

// §11a
#[test]
fn csi_secret_volumes_without_their_class_read_a_store_of_unknown_provider() {
    let a = assess("secrets-store-csi-driver", &["test/bats/tests/azure"]);
    assert_exactly(
        edges(&a),
        &strings(&[
            "Pod/secrets-store-inline-crd -> SecretProviderClass/azure [secret-provider-class] dangling pod-secrets-store-inline-volume-crd.yaml:24",
            "Deployment/busybox-deployment -> SecretProviderClass/azure-sync [secret-provider-class] dangling deployment-synck8s-azure.yaml:41",
            "Deployment/busybox-deployment -> Secret/foosecret [env-value-from] dangling deployment-synck8s-azure.yaml:29",
        ]),
    );
    assert_exactly(
        cloud(&a),
        &strings(&[
            "secrets-store-csi-unknown-provider Pod/secrets-store-inline-crd pod-secrets-store-inline-volume-crd.yaml:24 used by [Pod/secrets-store-inline-crd]",
            "secrets-store-csi-unknown-provider Deployment/busybox-deployment deployment-synck8s-azure.yaml:41 used by [Deployment/busybox-deployment]",
        ]),
    );
    let provider = a["cloud"][0]["provider"].as_str().unwrap();
    assert_eq!(provider, "unknown", "the provider is not guessed from the class name");
}

// §11b
#[test]
fn a_csi_secret_volume_with_its_class_is_the_class_providers_finding_only() {
    let a = assess("secrets-store-csi-driver", &["test/bats/tests/gcp"]);
    assert_exactly(
        edges(&a),
        &strings(&["Pod/secrets-store-inline-crd -> SecretProviderClass/gcp [secret-provider-class] resolved pod-secrets-store-inline-volume-crd.yaml:24"]),
    );
    assert_exactly(
        cloud(&a),
        &strings(&["gcp-secret-manager SecretProviderClass/gcp gcp_v1_secretproviderclass.yaml:6 used by [Pod/secrets-store-inline-crd]"]),
    );
}

// §12
#[test]
fn mcr_images_of_a_sample_app_are_notes_and_no_cloud_finding() {
    let a = assess("azure-voting-app-redis", &["azure-vote-all-in-one-redis.yaml"]);
    assert_exactly(cloud(&a), &[]);
    assert_exactly(
        vendor_notes(&a),
        &strings(&["Deployment/azure-vote-back azure-vote-all-in-one-redis.yaml:19", "Deployment/azure-vote-front azure-vote-all-in-one-redis.yaml:60"]),
    );
    assert!(edges(&a).contains("Deployment/azure-vote-front -> Service/azure-vote-back [network] resolved azure-vote-all-in-one-redis.yaml:70"));
}
