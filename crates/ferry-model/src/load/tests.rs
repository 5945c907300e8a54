use std::fs;

use super::*;

fn load_dir(files: &[(&str, &[u8])]) -> (Vec<Object>, LoadReport, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        let path = dir.path().join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }
    let (objects, report) = load_documents(&[dir.path().to_path_buf()], |d| d.into_object()).unwrap();
    (objects, report, dir)
}

fn names(objects: &[Object]) -> Vec<String> {
    objects.iter().map(|o| format!("{}/{}", o.id.kind, o.id.name)).collect()
}

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: NAME\n";

#[test]
fn multi_document_files_keep_document_and_line() {
    let text = format!("---\n{}---\n# comment only\n---\n{}", CM.replace("NAME", "a"), CM.replace("NAME", "b"));
    let (objects, report, _dir) = load_dir(&[("app.yaml", text.as_bytes())]);
    assert_eq!(names(&objects), ["ConfigMap/a", "ConfigMap/b"]);
    assert_eq!((objects[1].origin.document, objects[1].origin.line), (3, 9));
    assert_eq!(report.documents, 2);
    assert!(report.issues.is_empty(), "{:?}", report.issues);
}

#[test]
fn malformed_document_is_an_error_and_the_rest_loads() {
    let text = format!("{}---\nkind: [unclosed\n---\n{}", CM.replace("NAME", "a"), CM.replace("NAME", "c"));
    let (objects, report, _dir) = load_dir(&[("bad.yaml", text.as_bytes())]);
    assert_eq!(names(&objects), ["ConfigMap/a", "ConfigMap/c"]);
    let err = &report.issues[0];
    assert_eq!((err.severity, err.location.document), (Severity::Error, Some(2)));
    assert!(err.location.line.unwrap() >= 6, "{err}");
    assert!(err.to_string().contains("bad.yaml:"), "{err}");
}

#[test]
fn a_duplicate_key_is_a_document_error_naming_file_and_line() {
    let text = format!("{}apiVersion: v2\n---\n{}", CM.replace("NAME", "a"), CM.replace("NAME", "b"));
    let (objects, report, _dir) = load_dir(&[("dup.yaml", text.as_bytes())]);
    assert_eq!(names(&objects), ["ConfigMap/b"], "the document with the duplicate is left out");
    let err = &report.issues[0];
    assert_eq!((err.severity, err.location.document, err.location.line), (Severity::Error, Some(1), Some(5)));
    assert!(err.to_string().contains("dup.yaml:5") && err.to_string().contains("duplicate key `apiVersion`"), "{err}");
}

#[cfg(unix)]
#[test]
fn a_named_pipe_in_a_directory_is_skipped_with_a_note_not_waited_for() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.yaml"), CM.replace("NAME", "a")).unwrap();
    let status = std::process::Command::new("mkfifo").arg(dir.path().join("pipe.yaml")).status().unwrap();
    assert!(status.success());
    let started = std::time::Instant::now();
    let (objects, report) = load_documents(&[dir.path().to_path_buf()], |d| d.into_object()).unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "took {:?}", started.elapsed());
    assert_eq!(names(&objects), ["ConfigMap/a"]);
    let note = &report.issues[0];
    assert_eq!(note.severity, Severity::Note);
    assert!(note.to_string().contains("pipe.yaml") && note.message.contains("not a regular file"), "{note}");
}

#[cfg(unix)]
#[test]
fn a_device_named_on_the_command_line_is_read_up_to_a_limit() {
    let started = std::time::Instant::now();
    let (objects, report) = load_documents(&[PathBuf::from("/dev/zero")], |d| d.into_object()).unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "took {:?}", started.elapsed());
    assert!(objects.is_empty());
    assert!(report.issues[0].message.contains("not a regular file and holds more than 256 MiB"), "{}", report.issues[0]);
}

#[test]
fn lists_expand_into_items_with_their_own_lines() {
    let json = r#"{"apiVersion": "v1", "kind": "List", "items": [
  {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}},
  {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "x"}}
]}"#;
    let (objects, _, _dir) = load_dir(&[("list.json", json.as_bytes())]);
    assert_eq!(names(&objects), ["Service/s", "Deployment/d"]);
    assert_eq!(objects[1].origin.line, 3);
    assert_eq!(objects[1].id.namespace.as_deref(), Some("x"));
}

#[test]
fn typed_lists_expand_too() {
    let text = format!("apiVersion: v1\nkind: ConfigMapList\nitems:\n- {}", CM.replace("NAME", "z").replace('\n', "\n  "));
    let (objects, _, _dir) = load_dir(&[("l.yaml", text.as_bytes())]);
    assert_eq!(names(&objects), ["ConfigMap/z"]);
}

#[test]
fn non_kubernetes_yaml_is_skipped_with_a_note() {
    let (objects, report, _dir) = load_dir(&[
        ("kustomization.yaml", b"apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [a.yaml]\n"),
        ("values.yaml", b"replicaCount: 2\nimage:\n  tag: 1.0\n"),
        ("empty.yaml", b""),
        ("list-top.yaml", b"- a\n- b\n"),
    ]);
    assert!(objects.is_empty());
    assert_eq!(report.issues.len(), 3, "{:?}", report.issues);
    assert!(report.issues.iter().all(|i| i.severity == Severity::Note));
    assert!(!report.has_errors());
}

#[test]
fn helm_templates_count_by_their_header_without_errors() {
    let (objects, report, _dir) = load_dir(&[
        ("chart/Chart.yaml", b"apiVersion: v2\nname: demo\nversion: 0.1.0\n"),
        (
            "chart/templates/dep.yaml",
            b"apiVersion: apps/v1beta1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  replicas: {{ .Values.n }}\n",
        ),
    ]);
    assert_eq!(names(&objects), ["Deployment/{{ .Release.Name }}"]);
    assert_eq!(objects[0].id.api_version, "apps/v1beta1");
    assert!(!report.has_errors(), "{:?}", report.issues);
    assert!(report.issues.iter().any(|i| i.message.contains("helm template")));
}

#[test]
fn binary_and_non_utf8_files_are_errors() {
    let (_, report, _dir) = load_dir(&[("blob.yaml", b"\x89PNG\r\n\x1a\n\0\0"), ("latin1.yml", b"name: caf\xe9\n")]);
    let messages: Vec<_> = report.issues.iter().map(|i| i.message.as_str()).collect();
    assert!(messages.iter().any(|m| m.contains("not a text file")), "{messages:?}");
    assert!(messages.iter().any(|m| m.contains("not UTF-8")), "{messages:?}");
}

#[test]
fn missing_name_names_the_field() {
    let (objects, report, _dir) = load_dir(&[
        ("x.yaml", b"apiVersion: v1\nkind: Secret\nmetadata:\n  labels: {}\n"),
        ("y.yaml", b"apiVersion: authorization.k8s.io/v1beta1\nkind: SubjectAccessReview\nspec: {}\n"),
    ]);
    assert_eq!(names(&objects), ["Secret/(unnamed)", "SubjectAccessReview/(unnamed)"]);
    assert_eq!(report.issues.len(), 1, "review kinds need no name: {:?}", report.issues);
    assert_eq!(report.issues[0].location.field.as_deref(), Some("metadata.name"));
    assert_eq!(report.issues[0].severity, Severity::Error);
}

#[test]
fn unknown_kinds_are_kept() {
    let (objects, _, _dir) = load_dir(&[("cr.yaml", b"apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n")]);
    assert_eq!(names(&objects), ["Widget/w"]);
}

#[test]
fn hidden_directories_and_other_extensions_are_ignored() {
    let cm = CM.replace("NAME", "a");
    let (objects, _, _dir) = load_dir(&[(".git/x.yaml", cm.as_bytes()), ("notes.txt", cm.as_bytes())]);
    assert!(objects.is_empty());
}

#[test]
fn missing_path_is_fatal() {
    let err = load_documents(&[PathBuf::from("/nonexistent/ferry")], |d| d.into_object()).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/ferry"));
}

#[test]
fn documents_borrow_their_names_and_keep_their_places() {
    let text = format!("{}---\napiVersion: v1\nkind: List\nitems:\n- {}", CM.replace("NAME", "a"), CM.replace("NAME", "b").replace('\n', "\n  "));
    let (_, _, dir) = load_dir(&[("app.yaml", text.as_bytes())]);
    let (documents, report) = load_documents(&[dir.path().to_path_buf()], |d| {
        assert!(matches!(d.id.name, std::borrow::Cow::Borrowed(_)), "the name is read in place");
        d.into_object()
    })
    .unwrap();
    assert_eq!(names(&documents), ["ConfigMap/a", "ConfigMap/b"]);
    let places: Vec<(u32, u32)> = documents.iter().map(|d| (d.origin.document, d.origin.line)).collect();
    assert_eq!(places, [(1, 1), (2, 9)], "the List item keeps its own line");
    assert_eq!((report.documents, report.objects), (2, 2));
}

#[test]
fn generate_name_stands_in_for_a_name() {
    let (objects, report, _dir) = load_dir(&[("j.yaml", b"apiVersion: batch/v1\nkind: Job\nmetadata:\n  generateName: run-\n")]);
    assert_eq!(names(&objects), ["Job/run-*"]);
    assert!(report.issues.is_empty(), "{:?}", report.issues);
}
