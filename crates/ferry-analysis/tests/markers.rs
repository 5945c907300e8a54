//! The corners of cloud markers outside an object's own fields that the public corpora
//! (`tests/markers_corpora.rs`) do not show: OpenTelemetryCollector resources (configuration as
//! an object and as a string), Argo CD Helm parameters and ApplicationSet templates, Flux v1
//! chart repositories, flags given as two items, `loadBalancerIP`, and what must stay quiet:
//! an otherwise cloud-neutral input, and public images no vendor hosts.

mod support;

use ferry_analysis::facts::{LOAD_BALANCER_IP, VENDOR_REGISTRY_IMAGE};
use ferry_analysis::{Assessment, WarningLevel};
use serde_json::{Value, json};
use support::assess_values as assess;

/// Cloud findings as `SERVICE OBJECT-NAME MATCHED`.
fn cloud(a: &Assessment) -> Vec<String> {
    a.cloud.iter().map(|c| format!("{} {} {}", c.service_id.as_str(), c.object.name.as_str(), c.matched)).collect()
}

fn codes(a: &Assessment, code: &str) -> Vec<(WarningLevel, String)> {
    a.warnings.iter().filter(|w| w.code == code).map(|w| (w.severity, w.object.as_ref().map_or_else(String::new, |o| o.name.to_string()))).collect()
}

fn collector(api_version: &str, config: Value) -> Value {
    json!({"apiVersion": api_version, "kind": "OpenTelemetryCollector", "metadata": {"name": "otel", "namespace": "obs"}, "spec": {"config": config}})
}

#[test]
fn collector_resources_name_their_exporters_as_an_object_or_a_string() {
    let object = collector(
        "opentelemetry.io/v1beta1",
        json!({"receivers": {"otlp": {}}, "exporters": {"awsxray": {"region": "eu-north-1"}, "azuremonitor/traces": {}, "debug": {}},
               "service": {"pipelines": {"traces": {"receivers": ["otlp"], "exporters": ["awsxray", "azuremonitor/traces"]}}}}),
    );
    let text =
        "receivers:\n  otlp:\nexporters:\n  googlecloud:\n    project: p\n  otlp/tempo:\n    endpoint: tempo:4317\nservice:\n  extensions: [health_check]\n";
    let mut string = collector("opentelemetry.io/v1alpha1", json!(text));
    string["metadata"]["name"] = json!("legacy");
    let a = assess(vec![object, string]);
    assert_eq!(
        cloud(&a),
        ["aws-cloudwatch otel awsxray", "azure-application-insights otel azuremonitor/traces", "gcp-cloud-operations legacy googlecloud"],
        "`debug`, `otlp`, and the pipelines' lists of ids are no components of a cloud"
    );
}

#[test]
fn argo_cd_parameters_and_application_set_templates_are_read_like_values() {
    let source = json!({"repoURL": "oci://myregistry.azurecr.io/charts", "chart": "web",
                        "helm": {"parameters": [{"name": r"service.annotations.service\.beta\.kubernetes\.io/azure-load-balancer-internal", "value": "true"}]}});
    let app = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "web", "namespace": "argocd"},
                     "spec": {"sources": [source]}});
    let set = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet", "metadata": {"name": "fleet", "namespace": "argocd"},
                     "spec": {"template": {"spec": {"source": {"repoURL": "https://github.com/acme/fleet", "helm": {"valuesObject": {
                         "serviceAccount": {"annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/x"}},
                         "image": {"repository": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/fleet", "tag": "1"}}}}}}}});
    let a = assess(vec![app, set]);
    let found = cloud(&a);
    assert!(found.contains(&"azure-acr web myregistry.azurecr.io/charts".to_owned()), "{found:#?}");
    assert!(found.contains(&"azure-load-balancer web service.beta.kubernetes.io/azure-load-balancer-internal".to_owned()), "{found:#?}");
    assert!(found.contains(&"aws-irsa fleet eks.amazonaws.com/role-arn".to_owned()), "{found:#?}");
    assert!(found.contains(&"aws-ecr fleet 123456789012.dkr.ecr.eu-west-1.amazonaws.com/fleet".to_owned()), "{found:#?}");
    assert_eq!(found.len(), 4, "github.com is no cloud: {found:#?}");
}

#[test]
fn a_flux_v1_release_from_an_acr_helm_repository_flags_given_as_two_items_and_a_node_config_of_no_said_provider() {
    let release = json!({"apiVersion": "helm.fluxcd.io/v1", "kind": "HelmRelease", "metadata": {"name": "backend", "namespace": "web"},
                         "spec": {"chart": {"repository": "https://acme.azurecr.io/helm/v1/repo/", "name": "backend", "version": "0.1.0"}}});
    let manager = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "kcm", "namespace": "kube-system"},
                         "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/kube-controller-manager:v1.27.0",
                                  "command": ["kube-controller-manager", "--cloud-provider", "aws", "--cloud-config", "/etc/kubernetes/cloud.conf"]}]}});
    let node_config = json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "ccm", "namespace": "kube-system"},
                             "spec": {"selector": {"matchLabels": {"app": "ccm"}}, "template": {"metadata": {"labels": {"app": "ccm"}}, "spec": {
                                 "containers": [{"name": "c", "image": "example/ccm:1"}],
                                 "volumes": [{"name": "cfg", "hostPath": {"path": "/etc/kubernetes/cloud.conf"}}, {"name": "k", "hostPath": {"path": "/etc/kubernetes"}}]}}}});
    let a = assess(vec![release, manager, node_config]);
    assert_eq!(
        cloud(&a),
        [
            "azure-acr-helm-repository backend acme.azurecr.io/helm/v1/repo",
            "aws-cloud-provider kcm --cloud-provider=aws",
            "node-cloud-provider-unknown kcm --cloud-config=/etc/kubernetes/cloud.conf",
            "node-cloud-provider-unknown ccm /etc/kubernetes/cloud.conf",
        ],
        "kubeadm's /etc/kubernetes alone is no marker"
    );
}

#[test]
fn a_load_balancer_ip_is_a_warning_and_no_cloud_finding() {
    let service = |name: &str, ip: &str| {
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
               "spec": {"type": "LoadBalancer", "loadBalancerIP": ip, "ports": [{"port": 80}]}})
    };
    let a = assess(vec![service("fixed", "20.1.2.3"), service("unset", "")]);
    assert_eq!(codes(&a, LOAD_BALANCER_IP), [(WarningLevel::Warning, "fixed".to_owned())]);
    assert!(a.cloud.is_empty(), "MetalLB honours the field too: the provider is not known");
}

#[test]
fn public_images_of_vendors_are_notes_and_others_are_nothing() {
    let pod = |name: &str, image: &str| json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": image}]}});
    let a = assess(vec![
        pod("mcr", "mcr.microsoft.com/dotnet/aspnet:8.0"),
        pod("ecr-public", "public.ecr.aws/docker/library/nginx:1.27"),
        pod("frozen", "k8s.gcr.io/pause:3.2"),
        pod("hub", "nginx:1.27"),
        pod("quay", "quay.io/prometheus/prometheus:v2.53.0"),
        pod("private", "acme.azurecr.io/shop/web:1"),
    ]);
    let notes = codes(&a, VENDOR_REGISTRY_IMAGE);
    let names: Vec<&str> = notes
        .iter()
        .map(|(severity, name)| {
            assert_eq!(*severity, WarningLevel::Note);
            name.as_str()
        })
        .collect();
    assert_eq!(names, ["mcr", "ecr-public", "frozen"]);
    assert_eq!(cloud(&a), ["azure-acr private acme.azurecr.io/shop/web:1"], "a private registry is a cloud finding, not a note");
    let message = &a.warnings.iter().find(|w| w.code == VENDOR_REGISTRY_IMAGE).unwrap().message;
    assert!(message.contains("Harbor"), "the note names where the image goes: {message}");
}
