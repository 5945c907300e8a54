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
    // Tables follow `COLUMNS` (see the width tests); without it, standard output is a pipe here.
    cmd.current_dir(repo_root()).env_remove("COLUMNS");
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
fn yaml_is_the_json_document_as_yaml() {
    let out = ferry().args(["assess", "examples/aks-shop", "-o", "yaml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "the same verdict as every format");
    let yaml: serde_json::Value = serde_saphyr::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(yaml, json(&["examples/aks-shop"]));
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

/// Copies the files of `examples/aks-shop` into `to`.
fn copy_example(to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(repo_root().join("examples/aks-shop")).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// Two renders of the example side by side (`a/` and `b/`), the second with one change:
/// the cart Deployment's replicas.
fn two_renders(root: &Path) -> PathBuf {
    let dir = root.join("two");
    copy_example(&dir.join("a"));
    copy_example(&dir.join("b"));
    let cart = dir.join("b/cart.yaml");
    let text = fs::read_to_string(&cart).unwrap();
    assert!(text.contains("replicas: 2"), "the fixture changes the cart's replicas");
    fs::write(&cart, text.replacen("replicas: 2", "replicas: 5", 1)).unwrap();
    dir
}

/// The report text with the temporary directory shown as `[TMP]`.
fn scrubbed(bytes: &[u8], tmp: &Path) -> String {
    String::from_utf8_lossy(bytes).replace(&tmp.display().to_string(), "[TMP]")
}

#[test]
fn two_renders_of_the_same_objects_are_a_duplicate_finding_naming_both_places_with_exit_code_4() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = two_renders(tmp.path());
    let out = ferry().args(["assess", "-o", "json"]).arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", String::from_utf8_lossy(&out.stderr));
    let a: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let duplicates: Vec<String> = a["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["code"] == "duplicate-object")
        .map(|w| format!("{} {}:{} {}", w["severity"].as_str().unwrap(), w["file"].as_str().unwrap(), w["line"], w["message"].as_str().unwrap()))
        .collect();
    let mut text = duplicates.join("\n");
    text.push('\n');
    text.push_str(&scrubbed(&out.stderr, tmp.path()));
    insta::assert_snapshot!(text.replace(&tmp.path().display().to_string(), "[TMP]"));
}

#[test]
fn on_duplicate_first_gives_the_edges_and_waves_of_a_single_render() {
    let tmp = tempfile::tempdir().unwrap();
    let one = tmp.path().join("one");
    copy_example(&one);
    let two = two_renders(tmp.path());
    let report = |args: &[&str], dir: &Path, prefix: &Path| {
        let out = ferry().args(["assess", "-o", "json"]).args(args).arg(dir).output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap().replace(&format!("{}/", prefix.display()), "");
        (out.status.code(), serde_json::from_str::<serde_json::Value>(&text).unwrap())
    };
    let (single_code, single) = report(&[], &one, &one);
    let (first_code, first) = report(&["--on-duplicate=first"], &two, &two.join("a"));
    assert_eq!(first_code, single_code, "the duplicates are notes, the exit code that of one render");
    assert_eq!(first["dependencies"], single["dependencies"]);
    assert_eq!(first["waves"], single["waves"]);
    assert_eq!(single["waves"]["waves"].as_array().unwrap().len(), 3, "the example has three waves");
    assert_eq!(first["inventory"]["total"], single["inventory"]["total"]);
    let notes = first["warnings"].as_array().unwrap().iter().filter(|w| w["code"] == "duplicate-object").inspect(|w| assert_eq!(w["severity"], "note")).count();
    assert_eq!(notes, single["inventory"]["total"].as_u64().unwrap() as usize, "one note per object given twice");
    let (last_code, last) = report(&["--on-duplicate=last"], &two, &two.join("b"));
    assert_eq!(last_code, single_code);
    assert_eq!(last["waves"], single["waves"], "the last render has the same waves");
}

#[test]
fn identical_duplicates_are_a_warning_not_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    copy_example(&tmp.path().join("a"));
    copy_example(&tmp.path().join("b"));
    let a = json(&[tmp.path().to_str().unwrap(), "--fail-on", "never"]);
    let severities: Vec<&str> =
        a["warnings"].as_array().unwrap().iter().filter(|w| w["code"] == "duplicate-object").map(|w| w["severity"].as_str().unwrap()).collect();
    assert!(!severities.is_empty() && severities.iter().all(|s| *s == "warning"), "{severities:?}");
    ferry().args(["assess", "--fail-on", "never"]).arg(tmp.path()).assert().code(0).stdout(predicate::str::ends_with("verdict: nothing blocks → exit 0\n"));
}

#[test]
fn an_input_without_objects_is_exit_code_4_unless_allowed() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("values.yaml"), "replicaCount: 2\nimage:\n  tag: 1.2.3\n").unwrap();
    // Run inside the directory, so that the table's widths do not depend on its name.
    let out = ferry().current_dir(tmp.path()).args(["assess", "."]).output().unwrap();
    assert_eq!(out.status.code(), Some(4));
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
    ferry().arg("assess").arg(tmp.path()).arg("--allow-empty").assert().code(0).stdout(predicate::str::contains("verdict: nothing blocks → exit 0"));
}

#[test]
fn pluto_exit_codes_give_4_for_an_api_without_a_served_replacement() {
    let tmp = tempfile::tempdir().unwrap();
    let psp = "apiVersion: policy/v1beta1\nkind: PodSecurityPolicy\nmetadata:\n  name: restricted\nspec:\n  privileged: false\n";
    fs::write(tmp.path().join("psp.yaml"), psp).unwrap();
    let verdict = "verdict: 1 removed API, 1 API whose replacement Kubernetes 1.36 does not serve → exit 4\n";
    ferry().arg("assess").arg(tmp.path()).arg("--exit-codes=pluto").assert().code(4).stdout(predicate::str::ends_with(verdict));
    ferry().arg("assess").arg(tmp.path()).assert().code(3).stdout(predicate::str::ends_with("verdict: 1 removed API → exit 3\n"));
}

#[test]
fn the_verdict_line_ends_the_report_with_what_blocks_and_the_exit_code() {
    let verdict = |args: &[&str]| {
        let out = ferry().args(["assess", "examples/aks-shop"]).args(args).output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let last = text.lines().last().unwrap().to_owned();
        format!("{args:?} exit {:?}: {last}", out.status.code().unwrap())
    };
    let lines = [
        verdict(&[]),
        verdict(&["--fail-on", "never"]),
        verdict(&["--target-version", "1.21", "--fail-on", "deprecated"]),
        verdict(&["--exit-codes=pluto"]),
        verdict(&["--exit-codes=pluto", "--target-version", "1.21"]),
        verdict(&["--exit-codes=pluto", "--target-version", "1.20"]),
    ];
    insta::assert_snapshot!(lines.join("\n"));
}

#[test]
fn the_verdict_goes_to_stderr_when_stdout_carries_data() {
    ferry()
        .args(["assess", "examples/aks-shop", "-o", "json"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains("verdict").not())
        .stderr(predicate::str::contains("verdict: 3 removed APIs → exit 3"));
}

/// The example's terminal report with `COLUMNS` set to `columns` (`None`: unset, and standard
/// output is a pipe, so there is no terminal).
fn table_at(columns: Option<&str>) -> String {
    let mut cmd = ferry();
    if let Some(columns) = columns {
        cmd.env("COLUMNS", columns);
    }
    String::from_utf8(cmd.args(["assess", "examples/aks-shop"]).output().unwrap().stdout).unwrap()
}

/// The `file:line` of the first cloud finding of each service in the JSON report: the table
/// has one row per service, showing where it was first found.
fn cloud_paths() -> Vec<String> {
    let out = ferry().args(["assess", "examples/aks-shop", "-o", "json"]).output().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = json["cloud"].as_array().expect("cloud findings");
    let mut services = Vec::new();
    let mut paths = Vec::new();
    for finding in findings {
        let service = (&finding["provider"], &finding["service_id"]);
        if !services.contains(&service) {
            services.push(service);
            paths.push(format!("{}:{}", finding["evidence"]["file"].as_str().unwrap(), finding["evidence"]["line"]));
        }
    }
    assert!(paths.len() > 5 && paths.len() < findings.len(), "one row per service: {paths:?}");
    paths
}

#[test]
fn the_table_fits_the_terminal_width_and_shortens_paths_from_the_left() {
    let paths = cloud_paths();
    for columns in [80, 120] {
        let text = table_at(Some(&columns.to_string()));
        let table_lines = text.lines().filter(|l| l.starts_with(['┌', '│', '╞', '└']));
        for line in table_lines {
            assert!(line.chars().count() <= columns, "wider than {columns}: {line}");
        }
        for path in &paths {
            // Whole, or its end behind `…` starting at a `/`; never split over two lines.
            let cells: Vec<&str> = text.lines().flat_map(|l| l.split(['│', '┆'])).map(str::trim).collect();
            let shown = cells.iter().any(|c| *c == path || c.strip_prefix('…').is_some_and(|end| end.starts_with('/') && path.ends_with(end)));
            assert!(shown, "{path} not shown whole or shortened from the left at {columns} columns");
        }
        insta::assert_snapshot!(format!("aks_shop_table_at_{columns}_columns"), text);
    }
}

#[test]
fn without_a_terminal_the_table_is_neither_wrapped_nor_shortened() {
    let text = table_at(None);
    assert!(!text.contains('…'), "nothing shortened");
    for path in cloud_paths() {
        assert!(text.lines().any(|l| l.split(['│', '┆']).any(|c| c.trim() == path)), "{path} whole on one line");
    }
    assert_eq!(table_at(Some("not-a-number")), text, "a `COLUMNS` that is not a number is ignored");
    insta::assert_snapshot!("aks_shop_table_without_a_terminal", text);
}

/// The example plus `other.yaml`: a ConfigMap in namespace `other`, a ConfigMap that sets no
/// namespace and a ClusterRole, each labelled `team=other`.
fn example_with_other_namespace(root: &Path) -> PathBuf {
    let dir = root.join("scoped");
    copy_example(&dir);
    let other = "\
apiVersion: v1
kind: ConfigMap
metadata: {name: other-settings, namespace: other, labels: {team: other}}
data: {a: b}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: unplaced-settings, labels: {team: other}}
data: {a: b}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: other-reader, labels: {team: other}}
rules: []
";
    fs::write(dir.join("other.yaml"), other).unwrap();
    dir
}

/// `kind/name` lines of `ferry assess DIR -o name ARGS`, with the exit code.
fn names(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = ferry().args(["assess", "-o", "name", "--fail-on", "never"]).arg(dir).args(args).output().unwrap();
    (out.status.code(), String::from_utf8(out.stdout).unwrap())
}

#[test]
fn output_name_lists_kind_and_name_of_every_object_as_kubectl_does() {
    let out = ferry().args(["assess", "examples/aks-shop", "-o", "name"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "the exit code is the assessment's");
    let text = String::from_utf8(out.stdout).unwrap();
    let total = json(&["examples/aks-shop"])["inventory"]["total"].as_u64().unwrap() as usize;
    assert_eq!(text.lines().count(), total, "one line per object");
    assert!(text.lines().all(|l| l.split_once('/').is_some_and(|(kind, name)| kind == kind.to_lowercase() && !name.is_empty())), "{text}");
    assert!(String::from_utf8(out.stderr).unwrap().contains("verdict: 3 removed APIs → exit 3"), "the verdict goes to stderr");
    insta::assert_snapshot!(text);
}

#[test]
fn namespace_and_selector_filter_manifest_files_as_they_filter_a_cluster() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = example_with_other_namespace(tmp.path());
    let (code, all) = names(&dir, &[]);
    assert_eq!(code, Some(0));
    let (_, everything) = names(&dir, &["-A"]);
    assert_eq!(everything, all, "-A is every namespace, the default");
    let (_, other) = names(&dir, &["-n", "other"]);
    let (_, shop) = names(&dir, &["--namespace", "shop"]);
    let (_, selected) = names(&dir, &["-l", "team=other"]);
    let (_, both) = names(&dir, &["-n", "shop", "-l", "app.kubernetes.io/name in (cart,catalog),app.kubernetes.io/component!=frontend"]);
    insta::assert_snapshot!(format!("-n other:\n{other}\n-n shop:\n{shop}\n-l team=other:\n{selected}\n-n shop -l 'name in (cart,catalog)':\n{both}"));
    assert!(other.contains("configmap/other-settings") && !shop.contains("configmap/other-settings"));
    for unplaced in ["configmap/unplaced-settings", "clusterrole/other-reader", "namespace/shop"] {
        assert!(other.contains(unplaced) && shop.contains(unplaced), "{unplaced}: no namespace set or cluster-scoped, kept by every -n");
    }
    let total = |args: &[&str]| json(&[&[dir.to_str().unwrap()], args].concat())["input"]["objects"].as_u64().unwrap();
    assert_eq!(total(&["-n", "other"]), other.lines().count() as u64, "the input summary counts the objects in scope");
}

#[test]
fn a_scope_that_keeps_nothing_and_a_bad_selector_are_refused_clearly() {
    let out = ferry().args(["assess", "examples/aks-shop", "-n", "nowhere", "-l", "tier=none"]).output().unwrap();
    assert_eq!(out.status.code(), Some(4));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("none of the 29 Kubernetes objects in `examples/aks-shop` is in the namespaces and selector given (-n, -l)"), "{text}");
    ferry()
        .args(["assess", "examples/aks-shop", "-l", "env in (prod"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid `--selector`").and(predicate::str::contains("parentheses")));
    ferry().args(["assess", "examples/aks-shop", "-A", "-n", "shop"]).assert().code(2).stderr(predicate::str::contains("cannot be used with"));
}

#[test]
fn output_wide_is_the_table_with_nothing_shortened_whatever_the_terminal() {
    let wide = |columns: &str| {
        let out = ferry().env("COLUMNS", columns).args(["assess", "examples/aks-shop", "-o", "wide"]).output().unwrap();
        assert_eq!(out.status.code(), Some(3));
        String::from_utf8(out.stdout).unwrap()
    };
    let at_80 = wide("80");
    assert_eq!(at_80, table_at(None), "-o wide is the table laid out as for no terminal");
    assert_ne!(at_80, table_at(Some("80")), "the plain table at 80 columns shortens");
    assert!(!at_80.contains('…') && at_80.ends_with("verdict: 3 removed APIs → exit 3\n"));
}
