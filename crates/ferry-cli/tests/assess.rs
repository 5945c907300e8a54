//! `ferry assess` as users run it: exit codes, formats, bad input, secrets.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn ferry() -> Command {
    let mut cmd = Command::cargo_bin("ferry").unwrap();
    cmd.current_dir(repo_root());
    cmd
}

fn json(args: &[&str]) -> serde_json::Value {
    let out = ferry().args(["assess"]).args(args).args(["-o", "json"]).output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn example_shop_reports_removed_apis_with_exit_code_3() {
    ferry()
        .args(["assess", "examples/aks-shop"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains("Dependency matrix"))
        .stdout(predicate::str::contains("Azure Service Bus"))
        .stdout(predicate::str::contains("storefront-flags (missing)"));
}

#[test]
fn json_has_the_documented_top_level_schema() {
    let a = json(&["examples/aks-shop"]);
    assert_eq!(a["schema"], "ferry.assessment/v1");
    for key in ["target", "input", "inventory", "dependencies", "cloud", "deprecations", "waves", "warnings"] {
        assert!(a.get(key).is_some(), "missing `{key}`");
    }
    let dep = &a["dependencies"][0];
    for key in ["from", "to", "kind", "evidence"] {
        assert!(dep.get(key).is_some(), "dependency lacks `{key}`");
    }
    let cycles = a["waves"]["cycles"].as_array().unwrap();
    assert_eq!(cycles.len(), 1);
    assert_eq!(cycles[0]["members"], serde_json::json!(["shop/orders", "shop/payments"]));
}

#[test]
fn target_version_changes_the_verdict() {
    ferry().args(["assess", "examples/aks-shop", "--target-version", "1.20", "-o", "json"]).assert().code(0);
    ferry().args(["assess", "examples/aks-shop", "--fail-on", "never"]).assert().code(0);
    let old = json(&["examples/aks-shop", "--target-version", "1.21"]);
    let statuses: Vec<&str> = old["deprecations"].as_array().unwrap().iter().map(|d| d["status"].as_str().unwrap()).collect();
    assert!(statuses.contains(&"deprecated") && !statuses.contains(&"removed"), "{statuses:?}");
}

#[test]
fn profile_selects_the_counterparts() {
    let eks = json(&["examples/aks-shop", "--profile", "eks"]);
    let oss = json(&["examples/aks-shop", "--profile", "oss"]);
    let bus = |a: &serde_json::Value| {
        a["cloud"].as_array().unwrap().iter().find(|c| c["service_id"] == "azure-service-bus").unwrap()["counterpart"].as_str().unwrap().to_owned()
    };
    assert_ne!(bus(&eks), bus(&oss));
    assert!(bus(&oss).contains("RabbitMQ"), "{}", bus(&oss));
}

#[test]
fn usage_errors_exit_2_with_a_hint() {
    ferry()
        .args(["assess", "examples/aks-shop", "--target-version", "latest"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--target-version").and(predicate::str::contains("hint:")));
    ferry().args(["assess", "examples/aks-shop", "--profile", "moon"]).assert().code(2);
    ferry().args(["assess"]).assert().code(2);
}

#[test]
fn missing_path_exits_1_naming_it() {
    ferry().args(["assess", "no/such/dir"]).assert().code(1).stderr(predicate::str::contains("no/such/dir"));
}

#[test]
fn malformed_yaml_names_file_line_and_document_and_the_rest_loads() {
    let dir = tempfile::tempdir().unwrap();
    let good = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n";
    fs::write(dir.path().join("mixed.yaml"), format!("{good}---\nkind: [broken\n---\n{}", good.replace("ok", "also-ok"))).unwrap();
    fs::write(dir.path().join("empty.yaml"), "").unwrap();
    fs::write(dir.path().join("binary.yaml"), [0u8, 159, 146, 150]).unwrap();
    fs::write(dir.path().join("widget.yaml"), "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n").unwrap();
    let out = ferry().args(["assess"]).arg(dir.path()).args(["-o", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(4));
    let a: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(a["inventory"]["total"], 3, "both ConfigMaps and the unknown Widget are kept");
    let errors: Vec<&serde_json::Value> = a["warnings"].as_array().unwrap().iter().filter(|w| w["severity"] == "error").collect();
    assert_eq!(errors.len(), 2, "{errors:#?}");
    let yaml_error = errors.iter().find(|w| w["file"].as_str().unwrap().ends_with("mixed.yaml")).unwrap();
    assert_eq!(yaml_error["document"], 2);
    assert!(yaml_error["line"].as_u64().unwrap() >= 6);
    assert!(errors.iter().any(|w| w["message"].as_str().unwrap().contains("not a text file")));
}

#[test]
fn a_duplicate_key_is_an_error_so_a_removed_api_cannot_hide_behind_an_earlier_value() {
    let dir = tempfile::tempdir().unwrap();
    // kubectl takes the last apiVersion (or refuses the document): first-wins would see apps/v1 only.
    let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\napiVersion: extensions/v1beta1\n";
    fs::write(dir.path().join("dup.yaml"), text).unwrap();
    let out = ferry().args(["assess"]).arg(dir.path()).args(["-o", "json", "--fail-on", "removed"]).output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", String::from_utf8_lossy(&out.stderr));
    let a: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let error = a["warnings"].as_array().unwrap().iter().find(|w| w["severity"] == "error").expect("an error");
    assert!(error["file"].as_str().unwrap().ends_with("dup.yaml") && error["line"] == 5, "{error:#?}");
    assert!(error["message"].as_str().unwrap().contains("duplicate key `apiVersion`"), "{error:#?}");
}

#[test]
fn huge_documents_and_many_documents_load() {
    let dir = tempfile::tempdir().unwrap();
    let big_value = "x".repeat(8 * 1024 * 1024);
    let mut text = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  blob: {big_value}\n");
    for i in 0..5000 {
        text.push_str(&format!("---\napiVersion: v1\nkind: Service\nmetadata:\n  name: s{i}\nspec:\n  selector:\n    app: a{i}\n"));
    }
    fs::write(dir.path().join("big.yaml"), text).unwrap();
    let out = ferry().args(["assess"]).arg(dir.path()).args(["-o", "json", "--fail-on", "never"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let a: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(a["inventory"]["total"], 5001);
}

#[test]
fn secret_values_never_reach_any_output() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\ndata:\n  password: aHVudGVyMi1zdXBlcnNlY3JldA==\n  url: cG9zdGdyZXM6Ly9hZG1pbjpodW50ZXIyQHNlY3JldGRiLnBvc3RncmVzLmRhdGFiYXNlLmF6dXJlLmNvbTo1NDMyL2FwcA==\nstringData:\n  token: hunter2-plain-token\n";
    fs::write(dir.path().join("secret.yaml"), manifest).unwrap();
    for format in ["table", "json", "markdown", "html"] {
        let out = ferry().args(["assess"]).arg(dir.path()).args(["-o", format]).output().unwrap();
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        for secret in ["hunter2", "aHVudGVyMi", "secretdb", "admin"] {
            assert!(!all.contains(secret), "{format} output leaks `{secret}`");
        }
    }
    let a = json(&[dir.path().to_str().unwrap()]);
    let finding = &a["cloud"][0];
    assert_eq!(finding["service_id"], "azure-postgresql", "the host is detected even inside a Secret: {a:#}");
    assert_eq!(finding["matched"], "(secret value withheld)");
}

#[test]
fn out_file_is_written_whole() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.md");
    ferry().args(["assess", "examples/aks-shop", "-o", "markdown", "--fail-on", "never", "--out"]).arg(&report).assert().code(0).stdout("");
    let text = fs::read_to_string(&report).unwrap();
    assert!(text.starts_with("# ferry assessment"));
    assert!(text.contains("## Migration checklist"));
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left behind");
}

#[test]
fn out_goes_through_a_private_temporary_file_that_no_planted_link_can_redirect() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    fs::write(&victim, "keep me").unwrap();
    // The name the temporary file used to have: a link planted there was followed.
    std::os::unix::fs::symlink(&victim, dir.path().join(".report.md.ferry-tmp")).unwrap();
    let report = dir.path().join("report.md");
    ferry().args(["assess", "examples/aks-shop", "-o", "markdown", "--fail-on", "never", "--out"]).arg(&report).assert().code(0);
    assert_eq!(fs::read_to_string(&victim).unwrap(), "keep me", "the planted link was followed");
    assert_eq!(fs::metadata(&report).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(fs::read_to_string(&report).unwrap().starts_with("# ferry assessment"));
}

#[test]
fn out_never_replaces_a_link_or_a_pipe_with_a_plain_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("kept.md");
    fs::write(&target, "old").unwrap();
    let link = dir.path().join("link.md");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    ferry().args(["assess", "examples/aks-shop", "-o", "markdown", "--fail-on", "never", "--out"]).arg(&link).assert().code(0);
    assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link is still a link");
    assert!(fs::read_to_string(&target).unwrap().starts_with("# ferry assessment"), "the report went through the link");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2, "the link's target replaced whole, no temporary file left");

    // A named pipe (like /dev/null or /dev/stdout, not a regular file) is written, not replaced.
    let pipe = dir.path().join("pipe");
    assert!(std::process::Command::new("mkfifo").arg(&pipe).status().unwrap().success());
    let reader = std::thread::spawn({
        let pipe = pipe.clone();
        move || fs::read_to_string(pipe).unwrap()
    });
    ferry().args(["assess", "examples/aks-shop", "-o", "markdown", "--fail-on", "never", "--out"]).arg(&pipe).assert().code(0);
    use std::os::unix::fs::FileTypeExt as _;
    assert!(fs::symlink_metadata(&pipe).unwrap().file_type().is_fifo(), "the pipe is still a pipe");
    assert!(reader.join().unwrap().starts_with("# ferry assessment"), "the report came through the pipe");
}

#[test]
fn help_shows_examples_and_exit_codes() {
    ferry().args(["assess", "--help"]).assert().success().stdout(predicate::str::contains("Examples:").and(predicate::str::contains("Exit codes:")));
}

#[test]
fn markdown_report_of_the_example_is_stable() {
    let out = ferry().args(["assess", "examples/aks-shop", "-o", "markdown"]).output().unwrap();
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
}
