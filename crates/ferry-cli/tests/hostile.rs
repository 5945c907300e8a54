//! `ferry` on hostile archives, without a cluster: what reaches the terminal from archive data
//! is escaped.

use assert_cmd::Command;
use ferry_archive::{Destination, Header, Writer};
use ferry_model::ObjectId;
use serde_json::json;

/// Writes a directory archive holding `objects` at `dest`.
fn archive(dest: &Destination, objects: &[(ObjectId, &str, serde_json::Value)]) {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let mut writer = Writer::create(dest, Header::default(), None).await.unwrap();
        for (id, resource, object) in objects {
            writer.add(id, resource, object).await.unwrap();
        }
        writer.finish().await.unwrap();
    });
}

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
