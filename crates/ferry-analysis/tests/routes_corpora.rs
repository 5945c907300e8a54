//! The Dapr, service-mesh and Gateway API corpora in `tests/corpora`, checked against their
//! hand-written oracle `tests/corpora/GROUND_TRUTH.md` (section numbers below are its own).
//!
//! Recall and precision both: the edges of the patterns these corpora are about (Dapr,
//! routes, and the network edges they lead to) must be exactly the ground truth's, each with
//! its evidence line, and so must the cloud findings.

#[path = "support/corpus.rs"]
mod corpus;

use corpus::{assert_exactly, assess, cloud, endpoints, strings};
use serde_json::Value;

/// The relations these corpora are about.
const RELATIONS: &[&str] = &[
    "network",
    "dapr-component",
    "dapr-configuration",
    "component-secret",
    "secret-store",
    "route-backend",
    "route-parent",
    "traffic-policy",
    "gateway-class",
    "parameters-ref",
    "tls-secret",
];

/// The edges of [`RELATIONS`].
fn edges(a: &Value) -> std::collections::BTreeSet<String> {
    corpus::edges(a, RELATIONS)
}

// §1a
#[test]
fn dapr_distributed_calculator() {
    let a = assess("dapr-quickstarts", &["tutorials/distributed-calculator/deploy"]);
    let apps = [
        ("addapp", "go-adder.yaml", 18),
        ("subtractapp", "dotnet-subtractor.yaml", 18),
        ("divideapp", "node-divider.yaml", 18),
        ("multiplyapp", "python-multiplier.yaml", 18),
        ("calculator-front-end", "react-calculator.yaml", 34),
    ];
    let mut expected = vec!["Component/statestore -> Secret/redis [component-secret] dangling redis.yaml:18".to_owned()];
    for (app, file, line) in apps {
        expected.push(format!("Deployment/{app} -> Component/statestore [dapr-component] resolved {file}:{line}"));
        expected.push(format!("Deployment/{app} -> Configuration/appconfig [dapr-configuration] resolved {file}:{}", line + 2));
        expected.push(format!("Deployment/{app} -> Service/redis-master [network] dangling redis.yaml:15"));
        expected.push(format!("Deployment/{app} -> Service/default/zipkin [network] dangling appconfig.yaml:9"));
    }
    assert_exactly(edges(&a), &expected);
    assert_exactly(cloud(&a), &[]);
}

// §1b
#[test]
fn dapr_pub_sub() {
    let a = assess("dapr-quickstarts", &["tutorials/pub-sub/deploy"]);
    let apps = [
        ("node-subscriber", "node-subscriber.yaml", 18),
        ("python-subscriber", "python-subscriber.yaml", 18),
        ("csharp-subscriber", "csharp-subscriber.yaml", 18),
        ("react-form", "react-form.yaml", 34),
    ];
    let mut expected = vec!["Component/pubsub -> Secret/redis [component-secret] dangling redis.yaml:18".to_owned()];
    for (app, file, line) in apps {
        expected.push(format!("Deployment/{app} -> Component/pubsub [dapr-component] resolved {file}:{line}"));
        expected.push(format!("Deployment/{app} -> Service/redis-master [network] dangling redis.yaml:15"));
    }
    assert_exactly(edges(&a), &expected);
    assert_exactly(cloud(&a), &[]);
}

// §1c
#[test]
fn dapr_observability_tracing_endpoint_reaches_zipkin() {
    let a = assess("dapr-quickstarts", &["tutorials/observability/deploy"]);
    assert_exactly(
        edges(&a),
        &strings(&[
            "Deployment/multiplyapp -> Configuration/appconfig [dapr-configuration] resolved python-multiplier.yaml:20",
            "Deployment/multiplyapp -> Service/zipkin [network] resolved appconfig.yaml:9",
        ]),
    );
    assert_exactly(cloud(&a), &[]);
}

// §2
#[test]
fn dapr_secret_store_on_aws_is_used_by_the_apps_of_its_namespace() {
    let a = assess("dapr-samples", &["dapr-eks-podidentity"]);
    assert_exactly(
        edges(&a),
        &strings(&["Deployment/dapr-podidentity/test-app -> Component/dapr-podidentity/aws-secretstore [dapr-component] resolved app.yaml:17"]),
    );
    assert_exactly(
        cloud(&a),
        &strings(&["aws-secrets-manager Component/dapr-podidentity/aws-secretstore aws-secretstore.yaml:7 used by [Deployment/dapr-podidentity/test-app]"]),
    );
}

// §3
#[test]
fn istio_bookinfo_routes_and_the_google_apis_service_entry() {
    let a = assess("istio-bookinfo", &["samples"]);
    let mut expected = strings(&[
        "VirtualService/bookinfo -> Gateway/bookinfo-gateway [route-parent] resolved bookinfo-gateway.yaml:26",
        "VirtualService/bookinfo -> Service/productpage [route-backend] resolved bookinfo-gateway.yaml:41",
    ]);
    for (service, line) in [("productpage", 11), ("reviews", 24), ("ratings", 37), ("details", 50)] {
        expected.push(format!("VirtualService/{service} -> Service/{service} [route-backend] resolved virtual-service-all-v1.yaml:{line}"));
    }
    for (service, line) in [("productpage", 6), ("reviews", 17), ("ratings", 34), ("details", 54)] {
        expected.push(format!("DestinationRule/{service} -> Service/{service} [traffic-policy] resolved destination-rule-all.yaml:{line}"));
    }
    assert_exactly(edges(&a), &expected);
    assert_exactly(cloud(&a), &strings(&["gcp-apis ServiceEntry/googleapis egress-rule-google-apis.yaml:7 used by []"]));
    assert_exactly(endpoints(&a), &[]);
}

// §13
#[test]
fn istio_external_service_entries_are_public_endpoints_with_their_port() {
    let a = assess("istio-external", &["samples"]);
    let mut expected = Vec::new();
    for (host, line) in
        [("deb.debian.org", 12), ("cdn-fastly.deb.debian.org", 13), ("security.debian.org", 14), ("archive.ubuntu.com", 15), ("security.ubuntu.com", 16)]
    {
        expected.push(format!("{host}:80 public HTTP aptget.yaml:{line} used by []"));
    }
    expected.push("github.com:443 public HTTPS github.yaml:14 used by []".to_owned());
    expected.push("dummy.github.com:22 public SSH/SFTP github.yaml:29 used by []".to_owned());
    let blocks = [
        "13.229.188.59/32",
        "13.250.177.223/32",
        "140.82.112.0/20",
        "18.194.104.89/32",
        "18.195.85.27/32",
        "185.199.108.0/22",
        "185.199.108.153/32",
        "185.199.109.153/32",
        "185.199.110.153/32",
        "185.199.111.153/32",
        "192.30.252.0/22",
        "192.30.252.153/32",
        "192.30.252.154/32",
        "23.20.92.3/32",
        "35.159.8.160/32",
        "52.74.223.119/32",
        "54.166.52.62/32",
        "54.87.5.173/32",
    ];
    for (block, line) in blocks.iter().zip(31..) {
        expected.push(format!("{block}:22 public SSH/SFTP github.yaml:{line} used by []"));
    }
    expected.push("pypi.python.org:443 public HTTPS pypi.yaml:14 used by []".to_owned());
    expected.push("pypi.org:443 public HTTPS pypi.yaml:46 used by []".to_owned());
    assert_eq!(expected.len(), 27, "the ground truth's count");
    assert_exactly(endpoints(&a), &expected);
    assert_exactly(edges(&a), &[]);
    assert_exactly(cloud(&a), &[]);
}

// §4
#[test]
fn gateway_api_routes_parents_classes_and_certificates() {
    let a = assess("gateway-api", &["examples"]);
    let expected = strings(&[
        "Gateway/infra-ns/shared-gateway -> GatewayClass/shared-gateway-class [gateway-class] cluster-provided gateway.yaml:9",
        "Gateway/infra-ns/shared-gateway -> Secret/infra-ns/foo-example-com [tls-secret] dangling gateway.yaml:23",
        "HTTPRoute/site-ns/home -> Gateway/infra-ns/shared-gateway [route-parent] resolved site-route.yaml:10",
        "HTTPRoute/site-ns/home -> Service/site-ns/home [route-backend] dangling site-route.yaml:14",
        "HTTPRoute/site-ns/login -> Gateway/infra-ns/shared-gateway [route-parent] resolved site-route.yaml:24",
        "HTTPRoute/site-ns/login -> Service/site-ns/login-v1 [route-backend] dangling site-route.yaml:31",
        "HTTPRoute/site-ns/login -> Service/site-ns/login-v2 [route-backend] dangling site-route.yaml:34",
        "HTTPRoute/store-ns/store -> Gateway/infra-ns/shared-gateway [route-parent] resolved store-route.yaml:10",
        "HTTPRoute/store-ns/store -> Service/store-ns/store [route-backend] dangling store-route.yaml:17",
        "GatewayClass/example -> Parameters/example [parameters-ref] dangling basic-grpc.yaml:10",
        "Gateway/my-gateway -> GatewayClass/example [gateway-class] resolved basic-grpc.yaml:19",
        "Gateway/my-gateway -> Secret/example-com-cert [tls-secret] dangling basic-grpc.yaml:28",
        "GRPCRoute/grpc-app-1 -> Gateway/my-gateway [route-parent] resolved basic-grpc.yaml:36",
        "GRPCRoute/grpc-app-1 -> Service/my-service1 [route-backend] dangling basic-grpc.yaml:45",
        "GRPCRoute/grpc-app-1 -> Service/my-service2 [route-backend] dangling basic-grpc.yaml:56",
        "Gateway/my-tcp-gateway -> GatewayClass/my-tcp-gateway-class [gateway-class] cluster-provided basic-tcp.yaml:8",
        "TCPRoute/tcp-app-1 -> Gateway/my-tcp-gateway [route-parent] resolved basic-tcp.yaml:29",
        "TCPRoute/tcp-app-1 -> Service/my-foo-service [route-backend] dangling basic-tcp.yaml:33",
        "TCPRoute/tcp-app-2 -> Gateway/my-tcp-gateway [route-parent] resolved basic-tcp.yaml:42",
        "TCPRoute/tcp-app-2 -> Service/my-bar-service [route-backend] dangling basic-tcp.yaml:46",
    ]);
    assert_exactly(edges(&a), &expected);
    assert_exactly(cloud(&a), &[]);
}

// §14
#[test]
fn kubernetes_website_pod_name_servers_and_host_aliases_are_endpoints() {
    let a = assess("kubernetes-website", &["content"]);
    assert_exactly(
        endpoints(&a),
        &strings(&[
            "192.0.2.1:53 public DNS custom-dns.yaml:13 used by [Pod/default/dns-example]",
            "10.1.2.3 private - hostaliases-pod.yaml:17 used by [Pod/hostaliases-pod]",
        ]),
    );
    assert_exactly(edges(&a), &[]);
    assert_exactly(cloud(&a), &[]);
}
