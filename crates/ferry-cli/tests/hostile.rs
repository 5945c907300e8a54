//! `ferry` on crafted archives, without a cluster: what reaches the terminal from archive data
//! is escaped, and diffs do not show values that look secret.

mod common;

use assert_cmd::Command;
use common::archive;
use ferry_archive::Destination;
use ferry_model::ObjectId;
use serde_json::json;

#[test]
fn control_characters_from_an_archive_reach_the_terminal_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("archive/");
    let name = "evil\u{1b}]0;pwned\u{7}\u{9b}2J";
    let id = ObjectId { api_version: "policy/v1beta1".into(), kind: "PodSecurityPolicy".into(), namespace: None, name: name.into() };
    let object = json!({"apiVersion": "policy/v1beta1", "kind": "PodSecurityPolicy", "metadata": {"name": name}, "spec": {}});
    archive(&Destination::Directory(root.clone()), &[(id, "podsecuritypolicies.policy", object)]);
    let out = Command::cargo_bin("ferry").unwrap().args(["transform", "--target-version", "1.25", "--diff", "--from"]).arg(&root).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("PodSecurityPolicy evil\\x1b]0;pwned\\x07\\u{9b}2J"), "{stderr}");
    assert!(!stderr.chars().any(|c| c.is_control() && c != '\n'), "{stderr:?}");
}

#[test]
fn diffs_mask_values_that_look_secret_unless_asked_to_show_them() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("archive/");
    let config_id = ObjectId { api_version: "v1".into(), kind: "ConfigMap".into(), namespace: Some("shop".into()), name: "settings".into() };
    let config = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "shop", "uid": "u-1"},
        "data": {"db.password": "hunter2-in-a-config-map", "mode": "prod"}});
    let web_id = ObjectId { api_version: "apps/v1".into(), kind: "Deployment".into(), namespace: Some("shop".into()), name: "web".into() };
    let web = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop", "uid": "u-2"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "web", "image": "web:1", "env": [{"name": "API_TOKEN", "value": "t0ken-in-an-env-value"}]}]}}}});
    archive(&Destination::Directory(root.clone()), &[(config_id, "configmaps", config), (web_id, "deployments.apps", web)]);
    let diff = |show: bool| {
        let mut command = Command::cargo_bin("ferry").unwrap();
        command.args(["transform", "--target-version", "1.25", "--diff", "--from"]).arg(&root);
        if show {
            command.arg("--show-secrets");
        }
        String::from_utf8(command.output().unwrap().stdout).unwrap()
    };
    let masked = diff(false);
    assert!(masked.contains("redacted") && masked.contains("prod"), "{masked}");
    assert!(!masked.contains("hunter2") && !masked.contains("t0ken"), "{masked}");
    let shown = diff(true);
    // The env value is outside the diff's context here; ferry-cli's unit tests cover env values.
    assert!(shown.contains("hunter2-in-a-config-map"), "{shown}");
}
