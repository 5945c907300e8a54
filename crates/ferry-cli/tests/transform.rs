//! `ferry transform` end to end on archives, without a cluster: every object counted once
//! and a failed one not written, rules that match nothing warned about (an error with
//! `--strict`), objects excluded by the rules and by `--exclude`, the JSON report and `--notes`.

mod common;

use std::path::Path;

use assert_cmd::Command;
use common::archive;
use ferry_archive::Destination;
use ferry_model::ObjectId;
use serde_json::{Value, json};

/// 24 Deployments named `web-N` (5 of them `broken-N`, which have no `paused` to remove) and
/// a SecurityGroupPolicy: 29 objects.
fn shop(root: &Path) {
    let mut objects = Vec::new();
    for i in 0..28 {
        let name = if i < 5 { format!("broken-{i}") } else { format!("web-{i}") };
        let id = ObjectId { api_version: "apps/v1".into(), kind: "Deployment".into(), namespace: Some("shop".into()), name: name.clone() };
        let mut spec = json!({"replicas": 2, "template": {"spec": {"containers": [{"name": "web", "image": "myacr.azurecr.io/web:1"}]}}});
        if i >= 5 {
            spec["paused"] = json!(false);
        }
        objects.push((
            id,
            "deployments.apps",
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "shop"}, "spec": spec}),
        ));
    }
    let id =
        ObjectId { api_version: "vpcresources.k8s.aws/v1beta1".into(), kind: "SecurityGroupPolicy".into(), namespace: Some("shop".into()), name: "sg".into() };
    objects.push((
        id,
        "securitygrouppolicies.vpcresources.k8s.aws",
        json!({"apiVersion": "vpcresources.k8s.aws/v1beta1", "kind": "SecurityGroupPolicy",
        "metadata": {"name": "sg", "namespace": "shop"}, "spec": {}}),
    ));
    archive(&Destination::Directory(root.to_path_buf()), &objects);
}

fn ferry(args: &[&str], root: &Path, rules: &str) -> (i32, String, String) {
    let rules_file = root.with_file_name("ferry.yaml");
    std::fs::write(&rules_file, format!("apiVersion: ferry.dev/v1alpha1\nkind: TransformRules\n{rules}")).unwrap();
    let out = Command::cargo_bin("ferry")
        .unwrap()
        .args(["transform", "--target-version", "1.30", "--from"])
        .arg(root)
        .arg("--rules")
        .arg(&rules_file)
        .args(args)
        .output()
        .unwrap();
    (out.status.code().unwrap(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

fn names(archive: &Path) -> Vec<String> {
    let (_, entries) = tokio::runtime::Runtime::new().unwrap().block_on(ferry_archive::read(&Destination::Directory(archive.to_path_buf()), None)).unwrap();
    entries.iter().map(|e| e.id.name.clone()).collect()
}

const UNPAUSE: &str = "patches:\n  - name: unpause\n    match: {kinds: [apps/Deployment]}\n    jsonPatch: [{op: remove, path: /spec/paused}]\n";

#[test]
fn failed_patches_are_counted_once_and_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("in/");
    shop(&root);
    let out = dir.path().join("out/");
    let (code, _, stderr) = ferry(&["--to", out.to_str().unwrap()], &root, UNPAUSE);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("transformed 24 of 29 objects for Kubernetes 1.30: 0 left out, 0 excluded, 5 cannot go to the target"), "{stderr}");
    assert_eq!(stderr.matches("error: cannot go to the target: Deployment shop/broken-").count(), 5, "{stderr}");
    assert!(stderr.contains("unpause: the patch does not apply"), "the error names the rule: {stderr}");
    let written = names(&out);
    assert_eq!(written.len(), 24);
    assert!(written.iter().all(|n| !n.starts_with("broken-")), "{written:?}");
}

#[test]
fn a_rule_that_matches_nothing_warns_and_fails_with_strict() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("in/");
    shop(&root);
    let typos = "images: [{from: myacr.azurecr.oi/, to: harbor.example.com/}]\nstorageClasses: {managed-premuim: gp3}\nnamespaces: {shpo: store}\n";
    let out = dir.path().join("out/");
    let (code, _, stderr) = ferry(&["--to", out.to_str().unwrap()], &root, typos);
    assert_eq!(code, 0, "{stderr}");
    for rule in ["images[0]", "storageClasses.managed-premuim", "namespaces.shpo"] {
        assert!(stderr.contains(&format!("warning: rule `{rule}` of the rules file matched no object")), "{rule}: {stderr}");
    }
    let strict_out = dir.path().join("strict/");
    let (code, _, stderr) = ferry(&["--strict", "--to", strict_out.to_str().unwrap()], &root, typos);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("error: rule `namespaces.shpo`") && stderr.contains("nothing was written or applied"), "{stderr}");
    assert!(!strict_out.exists(), "nothing written with --strict");
}

#[test]
fn excluded_objects_are_left_out_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("in/");
    shop(&root);
    let rules = "exclude:\n  - name: aws-only\n    match: {kinds: [vpcresources.k8s.aws/SecurityGroupPolicy]}\nimages: [{from: myacr.azurecr.io/, to: harbor.example.com/}]\n";
    let out = dir.path().join("out/");
    let (code, stdout, stderr) = ferry(&["--exclude", "deployments.apps", "--include", "Deployment,SecurityGroupPolicy", "-o", "json"], &root, rules);
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["counts"], json!({"read": 29, "transformed": 0, "left_out": 0, "excluded": 29, "failed": 0}));
    assert_eq!(report["rules"][0], json!({"rule": "aws-only", "matched": 1, "changed": 1, "failed": 0}));
    assert_eq!(report["objects"][0]["notes"][0]["message"], "left out by --include/--exclude");
    assert_eq!(report["objects"][28]["notes"][0]["code"], "excluded");
    assert!(stderr.contains("warning: rule `images[0]` of the rules file matched no object"), "every Deployment was excluded first: {stderr}");

    let (code, _, stderr) = ferry(&["--notes", "--to", out.to_str().unwrap()], &root, rules);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("note: SecurityGroupPolicy shop/sg: [excluded] aws-only: left out of the migration"), "{stderr}");
    assert!(stderr.contains("[rule-applied] images[0]: image `myacr.azurecr.io/web:1` → `harbor.example.com/web:1`"), "{stderr}");
    assert!(stderr.contains("transformed 28 of 29 objects for Kubernetes 1.30: 0 left out, 1 excluded, 0 cannot go to the target"), "{stderr}");
    assert_eq!(names(&out).len(), 28);
}

#[test]
fn namespaces_choose_the_objects_of_an_archive() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("in/");
    shop(&root);
    let read = |args: &[&str]| {
        let (code, stdout, stderr) = ferry(&[args, &["-o", "json"]].concat(), &root, "");
        assert_eq!(code, 0, "{stderr}");
        serde_json::from_str::<Value>(&stdout).unwrap()["counts"]["read"].clone()
    };
    assert_eq!(read(&["-n", "shop"]), json!(29));
    assert_eq!(read(&["-A"]), json!(29));
    assert_eq!(read(&["-n", "other"]), json!(0), "every object of the archive is in `shop`");
}
