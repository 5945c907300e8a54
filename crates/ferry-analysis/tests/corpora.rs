//! The real third-party corpora in `../shared/corpora`, checked against the
//! hand-written oracle `GROUND_TRUTH.md` (section numbers below are its own).
//!
//! Every manifest-visible ("M") edge must be found; code-only ("C") edges are
//! not expected, but nothing found may contradict the ground truth; the
//! negative controls must produce no cloud finding.

use std::path::PathBuf;

use ferry_analysis::facts::Relation;
use ferry_analysis::knowledge::deprecations::ApiStatus;
use ferry_analysis::{Assessment, Options, Resolution, assess_paths};

/// The rule of `ferry_testcluster::corpora`, repeated so that these tests build without the
/// cluster crates.
fn corpora() -> PathBuf {
    std::env::var_os("FERRY_CORPORA").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpora")))
}

fn assess(relative: &[&str]) -> Assessment {
    let paths: Vec<PathBuf> = relative.iter().map(|p| corpora().join(p)).collect();
    assess_paths(&paths, &Options::default()).expect("corpus is readable")
}

/// Network edges as (from, to, resolution, evidence lines incl. extra evidence).
fn network(a: &Assessment) -> Vec<(String, String, Resolution, Vec<u32>)> {
    a.dependencies
        .iter()
        .filter(|d| d.kind == Relation::Network)
        .map(|d| {
            let mut lines = vec![d.evidence.line];
            lines.extend(d.also.iter().map(|e| e.line));
            (d.from.name.to_string(), d.to.name.to_string(), d.resolution, lines)
        })
        .collect()
}

fn edge<'a>(edges: &'a [(String, String, Resolution, Vec<u32>)], from: &str, to: &str) -> &'a (String, String, Resolution, Vec<u32>) {
    edges.iter().find(|(f, t, ..)| f == from && t == to).unwrap_or_else(|| panic!("no edge {from} -> {to} in {edges:#?}"))
}

fn has_dep(a: &Assessment, from: &str, kind: &str, to: &str) -> bool {
    a.dependencies.iter().any(|d| d.from.name == from && d.to.kind == kind && d.to.name == to)
}

fn cloud_services(a: &Assessment) -> Vec<(String, String, u32)> {
    a.cloud.iter().map(|c| (c.service_id.to_string(), c.object.name.to_string(), c.evidence.line)).collect()
}

// §1a: the negative control, with exactly the M edges.
#[test]
fn aks_store_all_in_one_has_exactly_the_manifest_edges_and_no_cloud() {
    let a = assess(&["aks-store-demo/aks-store-all-in-one.yaml"]);
    let edges = network(&a);
    let order = edge(&edges, "order-service", "rabbitmq");
    assert!(order.3.contains(&152) && order.3.contains(&222), "ConfigMap l.152 and initContainer l.222: {order:?}");
    assert_eq!(edge(&edges, "makeline-service", "rabbitmq").3[0], 267);
    assert_eq!(edge(&edges, "makeline-service", "documentdb").3[0], 275);
    let ai = edge(&edges, "product-service", "ai-service");
    assert_eq!((ai.2, ai.3[0]), (Resolution::Dangling, 348));
    assert_eq!(edge(&edges, "virtual-customer", "order-service").3[0], 531);
    assert_eq!(edge(&edges, "virtual-worker", "makeline-service").3[0], 579);
    assert_eq!(edges.len(), 6, "nothing beyond the ground truth's M edges: {edges:#?}");
    assert!(has_dep(&a, "rabbitmq", "Secret", "rabbitmq-secrets"));
    assert!(has_dep(&a, "order-service", "ConfigMap", "order-service-configs"));
    assert!(has_dep(&a, "order-service", "Secret", "order-service-secrets"));
    assert!(a.cloud.is_empty(), "negative control: {:#?}", a.cloud);
    assert!(a.deprecations.is_empty());
    let credentials = a.warnings.iter().filter(|w| w.code == "plain-credential").count();
    assert_eq!(credentials, 2, "makeline-service's ORDER_QUEUE_PASSWORD and ORDER_DB_PASSWORD");
    // The literal values are `password` (env) and `cGFzc3dvcmQ=` (Secret data): neither may be kept.
    let everything = serde_json::to_string(&a).unwrap();
    assert!(!everything.contains("\"password\"") && !everything.contains("cGFzc3dvcmQ"), "a credential value reached the assessment");
}

// §1b
#[test]
fn aks_ingress_quickstart_needs_the_app_routing_ingress_class() {
    let a = assess(&["aks-store-demo/aks-store-ingress-quickstart.yaml"]);
    assert!(has_dep(&a, "store-front", "Service", "store-front"), "Ingress → Service");
    let class = a.cloud.iter().find(|c| c.matched == "webapprouting.kubernetes.azure.com").expect("AKS app routing");
    assert_eq!((class.provider.as_str(), class.evidence.line), ("azure", 304));
    assert_eq!(class.used_by.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["store-front"], "the workload behind the Ingress");
    let ai = edge(&network(&a), "product-service", "ai-service").clone();
    assert_eq!(ai.2, Resolution::Dangling);
}

// §1c
#[test]
fn aks_helm_render_finds_every_azure_dependency() {
    let a = assess(&["aks-store-demo/_rendered/helm-azure-sim.yaml"]);
    let found = cloud_services(&a);
    let at = |object: &str, line: u32| found.iter().find(|(_, o, l)| o == object && *l == line).map(|(s, ..)| s.clone());
    assert!(at("order-service-configs", 183).is_some_and(|s| s.contains("service-bus")), "{found:#?}");
    assert!(at("makeline-service-configs", 97).is_some_and(|s| s.contains("service-bus")), "{found:#?}");
    assert!(at("makeline-service-configs", 99).is_some_and(|s| s.contains("cosmos")), "{found:#?}");
    assert!(at("ai-service-configs", 8).is_some_and(|s| s.contains("openai")), "{found:#?}");
    assert!(at("ai-service-configs", 13).is_some_and(|s| s.contains("openai")), "{found:#?}");
    for line in [38, 128, 208, 276, 345, 410, 475, 524] {
        assert!(found.iter().any(|(s, _, l)| *l == line && s == "azure-acr"), "ACR image at l.{line}: {found:#?}");
    }
    for line in [31, 121, 201, 324] {
        assert!(found.iter().any(|(s, _, l)| *l == line && s.contains("workload-identity")), "workload identity at l.{line}: {found:#?}");
    }
    let bus = a.cloud.iter().find(|c| c.evidence.line == 183).unwrap();
    assert_eq!(bus.used_by.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["order-service"]);
    for pod in ["ai-service", "makeline-service", "order-service"] {
        assert!(has_dep(&a, pod, "ServiceAccount", "id-aksstore-demo01"), "deprecated `serviceAccount` field read for {pod}");
    }
    let ai = edge(&network(&a), "product-service", "ai-service").clone();
    assert_eq!(ai.2, Resolution::Resolved);
}

// §1d: KAITO and Azure Managed Prometheus
#[test]
fn aks_kaito_overlay_is_an_azure_dependency() {
    let a = assess(&["aks-store-demo/_rendered/kustomize-kaito.yaml"]);
    let services: Vec<&str> = a.cloud.iter().map(|c| c.service_id.as_str()).collect();
    assert!(services.iter().any(|s| s.contains("kaito")), "{services:?}");
    assert!(services.iter().any(|s| s.contains("prometheus") || s.contains("monitor")), "{services:?}");
}

// §5
#[test]
fn retail_store_eks_render_finds_every_aws_dependency_and_the_ui_edges() {
    let dir = "retail-store-sample-app/_rendered";
    let files: Vec<String> = ["carts", "catalog", "checkout", "orders", "ui"].iter().map(|s| format!("{dir}/{s}-eks-sim.yaml")).collect();
    let a = assess(&files.iter().map(String::as_str).collect::<Vec<_>>());
    let has = |file: &str, line: u32, service: &str| {
        a.cloud.iter().any(|c| c.evidence.file.ends_with(file) && c.evidence.line == line && c.service_id.contains(service))
    };
    assert!(has("carts-eks-sim.yaml", 9, "dynamodb"), "{:#?}", cloud_services(&a));
    assert!(has("carts-eks-sim.yaml", 129, "irsa") || has("carts-eks-sim.yaml", 129, "iam"), "{:#?}", cloud_services(&a));
    assert!(has("catalog-eks-sim.yaml", 9, "rds") || has("catalog-eks-sim.yaml", 9, "aurora"), "{:#?}", cloud_services(&a));
    assert!(has("catalog-eks-sim.yaml", 12, "opensearch"), "{:#?}", cloud_services(&a));
    assert!(has("checkout-eks-sim.yaml", 9, "elasticache"), "{:#?}", cloud_services(&a));
    assert!(has("orders-eks-sim.yaml", 9, "mq"), "{:#?}", cloud_services(&a));
    assert!(has("orders-eks-sim.yaml", 11, "rds") || has("orders-eks-sim.yaml", 11, "aurora"), "{:#?}", cloud_services(&a));
    for line in [121, 122, 123, 124] {
        assert!(a.cloud.iter().any(|c| c.evidence.file.ends_with("ui-eks-sim.yaml") && c.evidence.line == line), "NLB annotation l.{line}");
    }
    for (file, line) in [("catalog-eks-sim.yaml", 105), ("checkout-eks-sim.yaml", 89), ("orders-eks-sim.yaml", 117)] {
        assert!(
            a.cloud.iter().any(|c| c.evidence.file.ends_with(file) && c.evidence.line.abs_diff(line) <= 1 && c.object.kind == "SecurityGroupPolicy"),
            "SecurityGroupPolicy {file}:{line}"
        );
    }
    let edges = network(&a);
    for target in ["catalog", "carts", "checkout", "orders"] {
        assert_eq!(edge(&edges, "ui", target).2, Resolution::Resolved);
    }
    assert_eq!(edge(&edges, "checkout", "orders").2, Resolution::Resolved);
}

// §5: second negative control
#[test]
fn retail_store_defaults_are_cloud_neutral_without_service_edges() {
    let dir = "retail-store-sample-app/_rendered";
    let files: Vec<String> = ["carts", "catalog", "checkout", "orders", "ui"].iter().map(|s| format!("{dir}/{s}-default.yaml")).collect();
    let a = assess(&files.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(a.cloud.is_empty(), "{:#?}", a.cloud);
    let edges = network(&a);
    let between: Vec<_> = edges.iter().filter(|(f, t, ..)| f != t).collect();
    assert!(between.is_empty(), "in-memory backends and `endpoints: {{}}` make no edges: {between:#?}");
}

// §7a
#[test]
fn sock_shop_2019_reports_every_deprecated_object() {
    let a = assess(&["sock-shop-2019/deploy/kubernetes"]);
    let count =
        |api: &str, kind: &str| a.deprecations.iter().filter(|d| d.via == ferry_analysis::Via::Declared && d.api_version == api && d.kind == kind).count();
    assert!(count("extensions/v1beta1", "Deployment") >= 46);
    assert_eq!(count("extensions/v1beta1", "DaemonSet"), 2);
    assert_eq!(count("extensions/v1beta1", "NetworkPolicy"), 13);
    assert_eq!(count("extensions/v1beta1", "Ingress"), 1);
    assert_eq!(count("rbac.authorization.k8s.io/v1beta1", "ClusterRole"), 2);
    assert_eq!(count("rbac.authorization.k8s.io/v1beta1", "ClusterRoleBinding"), 3);
    assert!(a.deprecations.iter().all(|d| d.status == ApiStatus::Removed));
    let complete = a.deprecations.iter().filter(|d| d.evidence.file.ends_with("complete-demo.yaml") && d.kind == "Deployment").count();
    assert_eq!(complete, 13);
    let hpa_refs: Vec<_> = a.deprecations.iter().filter(|d| d.via == ferry_analysis::Via::Reference).collect();
    assert!(hpa_refs.iter().any(|d| d.api_version == "apps/v1beta1" && d.evidence.path == "spec.scaleTargetRef.apiVersion" && d.evidence.line == 9));
    assert!(a.cloud.is_empty(), "sock-shop uses public images only: {:#?}", a.cloud);
    assert!(a.warnings.iter().any(|w| w.code == "legacy-network-policy-annotation" && w.location.as_ref().and_then(|l| l.line) == Some(7)));
}

// §7b
#[test]
fn sock_shop_complete_demo_edges_and_traps() {
    let a = assess(&["sock-shop-2019/deploy/kubernetes/complete-demo.yaml"]);
    let edges = network(&a);
    assert_eq!(edge(&edges, "user", "user-db").2, Resolution::Resolved);
    for from in ["carts", "orders", "shipping"] {
        let zipkin = edge(&edges, from, "zipkin");
        assert_eq!(zipkin.2, Resolution::Dangling, "zipkin.jaeger.svc.cluster.local is not in complete-demo");
    }
    let policies = assess(&["sock-shop-2019/deploy/kubernetes/manifests-policy", "sock-shop-2019/deploy/kubernetes/manifests"]);
    let empty: Vec<_> = policies.warnings.iter().filter(|w| w.code == "selects-nothing").filter_map(|w| w.object.as_ref().map(|o| o.name.clone())).collect();
    assert!(empty.iter().any(|n| n == "cart-access"), "`cart-access` selects `name: cart`, which no pod carries: {empty:?}");
    let hpa = assess(&["sock-shop-2019/deploy/kubernetes/autoscaling", "sock-shop-2019/deploy/kubernetes/complete-demo.yaml"]);
    assert!(hpa.dependencies.iter().any(|d| d.kind == Relation::ScaleTarget && d.to.name == "cart" && d.resolution == Resolution::Dangling));
}

// §8
#[test]
fn every_kube_no_trouble_fixture_is_flagged_and_annotations_raise_no_alarm() {
    // Each fixture is a test case of its own: many name the same object (a Deployment in
    // several API versions), which assessed together would be duplicates of one another.
    let dir = corpora().join("kube-no-trouble/fixtures");
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if !(name.ends_with(".yaml") || name.ends_with(".json")) || name.starts_with("expected") {
            continue;
        }
        let a = assess(&[&format!("kube-no-trouble/fixtures/{name}")]);
        let expected = !name.starts_with("fake-") || name == "fake-tokenReview-deprecated.yaml";
        assert_eq!(!a.deprecations.is_empty(), expected, "{name}");
    }
}

// §9
#[test]
fn azure_vote_2019_edge_and_deprecation() {
    let a = assess(&["azure-voting-app-redis-2019"]);
    assert_eq!(edge(&network(&a), "azure-vote-front", "azure-vote-back").3[0], 61);
    assert_eq!(a.deprecations.iter().filter(|d| d.api_version == "apps/v1beta1").count(), 2);
    assert!(a.cloud.is_empty());
}
