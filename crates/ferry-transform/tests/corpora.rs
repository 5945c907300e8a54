//! `transform` over real-world manifests (copies from /work/shared/corpora in
//! `testdata/`, see its SOURCE.txt), checked against the corpora's GROUND_TRUTH.md.

use std::path::Path;

use ferry_analysis::Knowledge;
use ferry_analysis::knowledge::deprecations::ApiStatus;
use ferry_transform::{KubeVersion, Options, Rules, Severity, Transformed, transform};
use serde_json::{Value, json};

fn documents(file: &str) -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let documents: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
    documents.into_iter().filter(|d| !d.is_null()).collect()
}

fn options(target: &str, rules: Rules) -> Options {
    Options { target_version: target.parse().unwrap(), rules }
}

fn errors(result: &Transformed) -> Vec<String> {
    result.notes.iter().filter(|n| n.severity == Severity::Error).map(ToString::to_string).collect()
}

#[test]
fn sock_shop_deployments_become_apps_v1_with_selectors() {
    let options = options("1.30", Rules::default());
    let mut deployments = 0;
    for object in documents("sock-shop-2019/complete-demo.yaml") {
        let before = object.clone();
        let result = transform(object, &options);
        assert!(errors(&result).is_empty(), "{:?}", errors(&result));
        let after = result.object.expect("every object of the demo is migrated");
        match before["kind"].as_str() {
            Some("Deployment") => {
                deployments += 1;
                assert_eq!(after["apiVersion"], "apps/v1");
                // GROUND_TRUTH §7a: none has spec.selector; it comes from the template labels (`name: <svc>`).
                assert_eq!(after["spec"]["selector"]["matchLabels"], before["spec"]["template"]["metadata"]["labels"]);
                assert_eq!(after["spec"]["strategy"]["rollingUpdate"], json!({"maxSurge": 1, "maxUnavailable": 1}), "extensions/v1beta1's rollout");
                assert_eq!(after["spec"]["template"], before["spec"]["template"]);
            }
            _ => assert_eq!(after, before, "Services and the Namespace need no change"),
        }
    }
    assert_eq!(deployments, 13);
}

#[test]
fn sock_shop_policies_and_autoscaler_references() {
    let options = options("1.30", Rules::default());
    let [policy] = documents("sock-shop-2019/netpol-cart-access.yaml").try_into().unwrap();
    let converted = transform(policy.clone(), &options).object.unwrap();
    assert_eq!(converted["apiVersion"], "networking.k8s.io/v1");
    assert_eq!(converted["spec"], policy["spec"]);
    // GROUND_TRUTH §7a: the HPA is autoscaling/v1, but refers to an apps/v1beta1 Deployment.
    let [hpa] = documents("sock-shop-2019/cart-hsc.yaml").try_into().unwrap();
    let converted = transform(hpa, &options).object.unwrap();
    assert_eq!(converted["apiVersion"], "autoscaling/v1");
    assert_eq!(converted["spec"]["scaleTargetRef"], json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "cart"}));
}

const AKS_TO_EKS: &str = r#"
apiVersion: ferry.dev/v1alpha1
kind: TransformRules
images:
  - from: acraksstoredemo01.azurecr.io/
    to: 111122223333.dkr.ecr.eu-west-1.amazonaws.com/
ingressClasses:
  webapprouting.kubernetes.azure.com: alb
workloadIdentity:
  - serviceAccount: {namespace: "*", name: id-aksstore-*}
    to: aws
    identity: arn:aws:iam::111122223333:role/aks-store
annotations:
  - name: drop-azure-load-balancer
    match: {kinds: [core/Service]}
    remove: ["service.beta.kubernetes.io/azure-*"]
"#;

#[test]
fn aks_store_moves_to_eks() {
    let options = options("1.30", Rules::parse(AKS_TO_EKS, "ferry.yaml").unwrap());
    let mut images = 0;
    for object in documents("aks-store-demo/helm-azure-sim.yaml") {
        let name = object["metadata"]["name"].as_str().unwrap_or_default().to_owned();
        let result = transform(object, &options);
        assert!(errors(&result).is_empty(), "{:?}", errors(&result));
        let after = result.object.unwrap();
        let text = after.to_string();
        assert!(!text.contains("azurecr.io"), "{name} still names the registry");
        assert!(!text.contains("azure.workload.identity"), "{name} still has Entra workload identity");
        images += result.notes.iter().filter(|n| n.message.contains("image `")).count();
        if after["kind"] == "ServiceAccount" {
            assert_eq!(after["metadata"]["annotations"], json!({"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/aks-store"}));
        }
    }
    assert_eq!(images, 8, "GROUND_TRUTH §1c: all 8 images come from ACR");
    let ingress = documents("aks-store-demo/aks-store-ingress-quickstart.yaml").into_iter().find(|o| o["kind"] == "Ingress").unwrap();
    let after = transform(ingress, &options).object.unwrap();
    assert_eq!(after["spec"]["ingressClassName"], "alb");
}

#[test]
fn kube_no_trouble_fixtures_are_served_at_1_32_or_explained() {
    let target: KubeVersion = "1.32".parse().unwrap();
    let options = options("1.32", Rules::default());
    let deprecations = &Knowledge::builtin().deprecations;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/kube-no-trouble");
    let mut files: Vec<String> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    files.sort();
    for file in files {
        for object in documents(&format!("kube-no-trouble/{file}")) {
            let result = transform(object, &options);
            let codes: Vec<&str> = result.notes.iter().map(|n| n.code).collect();
            match &result.object {
                None => assert!(result.failed(), "{file}: dropped without an error note: {codes:?}"),
                Some(after) => {
                    let (api_version, kind) = (after["apiVersion"].as_str().unwrap_or_default(), after["kind"].as_str().unwrap_or_default());
                    let removed = matches!(deprecations.status(api_version, kind, target), Some((ApiStatus::Removed, _)));
                    assert!(!removed || codes.contains(&"no-converter"), "{file}: {api_version} {kind} is not served at 1.32 and no note says why");
                }
            }
        }
    }
}
