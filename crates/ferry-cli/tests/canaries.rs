//! The canary suite: secret values are planted wherever a migration meets them (Secrets'
//! `data`, `stringData` and kubectl's last-applied annotation, a Helm release's values and
//! manifest, kubeconfig credentials of every kind, env and ConfigMap values named like
//! passwords, the clusters' own admin token), then every command runs in every output format,
//! with `RUST_LOG=debug` and `trace`, on success and on its failure paths (refused
//! credentials). No canary may appear in any stdout, stderr, report file or journal, in clear
//! or base64; unencrypted archives are the one place they belong, and an encrypted archive's
//! bytes hold none. YAML output (`transform --format yaml`, `-o yaml`) is the objects as an
//! archive holds them, env and ConfigMap values included, but without the Secrets unless
//! `--secrets=plain`.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ferry_testcluster::{Options, TestCluster};

/// Values that must never leave the cluster except inside an unencrypted archive.
const SECRET_DATA: &str = "canary-secret-data-5b1f0c";
const SECRET_STRING_DATA: &str = "canary-string-data-91d2e7";
const HELM_VALUE: &str = "canary-helm-value-c4a86e";
const HELM_MANIFEST: &str = "canary-helm-manifest-0ad5f1";
const KUBECONFIG_TOKEN: &str = "canary-kubeconfig-token-7e3b20";
const KUBECONFIG_PASSWORD: &str = "canary-basic-auth-4f9a11";
const EXEC_TOKEN: &str = "canary-exec-plugin-token-d83c5a";
const ENV_VALUE: &str = "canary-env-password-66be09";
const CONFIG_MAP_VALUE: &str = "canary-configmap-password-e1f470";

/// The application of the source: a Secret with `data` and `stringData` (applied with kubectl,
/// so its last-applied annotation repeats `stringData` in clear), a ConfigMap and a
/// Deployment's env with values named like passwords.
fn application() -> String {
    format!(
        r#"
apiVersion: v1
kind: Secret
metadata: {{name: db, namespace: shop}}
type: Opaque
data: {{password: {data}}}
stringData: {{token: {SECRET_STRING_DATA}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: settings, namespace: shop}}
data: {{db.password: {CONFIG_MAP_VALUE}, mode: prod}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: shop}}
spec:
  replicas: 0
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        env: [{{name: DB_PASSWORD, value: {ENV_VALUE}}}]
"#,
        data = STANDARD.encode(SECRET_DATA)
    )
}

/// A Helm 3 release Secret whose values and rendered manifest hold canaries (Helm stores the
/// release as base64 of gzip of JSON, which the Secret's `data` encodes once more).
fn helm_release() -> String {
    let release = serde_json::json!({"name": "web", "namespace": "shop", "version": 1, "info": {"status": "deployed"},
        "chart": {"metadata": {"name": "web", "version": "1.0.0"}, "values": {}},
        "config": {"db": {"password": HELM_VALUE}},
        "manifest": format!("---\n# Source: web/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: web-extra}}\ndata: {{password: {HELM_MANIFEST}}}\n")});
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(release.to_string().as_bytes()).unwrap();
    let stored = STANDARD.encode(STANDARD.encode(gzip.finish().unwrap()));
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: sh.helm.release.v1.web.v1\n  namespace: shop\n  labels: {{owner: helm, name: web, status: deployed, version: \"1\"}}\ntype: helm.sh/release.v1\ndata: {{release: {stored}}}\n"
    )
}

/// A kubeconfig for `cluster` with its admin context and one context per refused credential:
/// a token, basic auth, an exec plugin's token and a client key.
fn kubeconfig(cluster: &TestCluster, dir: &Path, name: &str, client_key_pem: &str) -> PathBuf {
    let plugin = dir.join(format!("{name}-plugin.sh"));
    let credential = format!(r#"{{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{{"token":"{EXEC_TOKEN}"}}}}"#);
    std::fs::write(&plugin, format!("#!/bin/sh\necho '{credential}'\n")).unwrap();
    std::fs::set_permissions(&plugin, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let ca = STANDARD.encode(std::fs::read(cluster.path().join("certs/apiserver.crt")).unwrap());
    let key = STANDARD.encode(client_key_pem);
    let cert = STANDARD.encode(std::fs::read(cluster.path().join("certs/apiserver.crt")).unwrap());
    let contexts = ["admin", "canary-token", "canary-basic", "canary-exec", "canary-key"]
        .iter()
        .map(|user| format!("- name: {user}\n  context: {{cluster: test, user: {user}, namespace: shop}}\n"))
        .collect::<String>();
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster: {{server: \"{server}\", certificate-authority-data: {ca}}}\ncontexts:\n{contexts}users:\n\
         - name: admin\n  user: {{token: {admin}}}\n\
         - name: canary-token\n  user: {{token: {KUBECONFIG_TOKEN}}}\n\
         - name: canary-basic\n  user: {{username: canary, password: {KUBECONFIG_PASSWORD}}}\n\
         - name: canary-exec\n  user:\n    exec: {{apiVersion: client.authentication.k8s.io/v1beta1, command: {plugin}, interactiveMode: Never}}\n\
         - name: canary-key\n  user: {{client-certificate-data: {cert}, client-key-data: {key}}}\n\
         current-context: admin\n",
        server = cluster.server(),
        admin = cluster.admin_token(),
        plugin = plugin.display(),
    );
    let path = dir.join(format!("{name}.kubeconfig"));
    std::fs::write(&path, text).unwrap();
    path
}

/// Every planted value, and what is only a canary in its encoded form too.
struct Canaries(Vec<String>);

impl Canaries {
    fn new(client_key_pem: &str, admin_token: &str) -> Canaries {
        // A line from the middle of the key's PEM body: what a leak of the key would show.
        let key_line = client_key_pem.lines().nth(2).unwrap().to_owned();
        let plain =
            [SECRET_DATA, SECRET_STRING_DATA, HELM_VALUE, HELM_MANIFEST, KUBECONFIG_TOKEN, KUBECONFIG_PASSWORD, EXEC_TOKEN, ENV_VALUE, CONFIG_MAP_VALUE];
        let mut all: Vec<String> = plain.iter().flat_map(|c| [c.to_string(), STANDARD.encode(c)]).collect();
        all.extend([key_line, admin_token.to_owned()]);
        Canaries(all)
    }

    /// Fails if `bytes` (named `what`) hold any canary.
    fn assert_absent(&self, what: &str, bytes: &[u8]) {
        for canary in &self.0 {
            assert!(!bytes.windows(canary.len()).any(|w| w == canary.as_bytes()), "{what} holds canary `{canary}`:\n{}", String::from_utf8_lossy(bytes));
        }
    }

    /// Whether `bytes` hold any canary (for archives, where they belong).
    fn any_in(&self, bytes: &[u8]) -> bool {
        self.0.iter().any(|canary| bytes.windows(canary.len()).any(|w| w == canary.as_bytes()))
    }
}

/// Runs `ferry ARGS` with `RUST_LOG` set to `log` (or unset) and checks stdout and stderr; returns the exit code.
fn run(canaries: &Canaries, args: &[&str], log: Option<&str>) -> i32 {
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("ferry"));
    command.args(args).env_remove("RUST_LOG");
    if let Some(level) = log {
        command.env("RUST_LOG", level);
    }
    let out = command.output().unwrap();
    let what = format!("`ferry {}` (RUST_LOG={log:?}, exit {:?})", args.join(" "), out.status.code());
    canaries.assert_absent(&format!("stdout of {what}"), &out.stdout);
    canaries.assert_absent(&format!("stderr of {what}"), &out.stderr);
    assert!(!matches!(out.status.code(), Some(2) | None), "{what} did not run: {}", String::from_utf8_lossy(&out.stderr));
    out.status.code().unwrap_or(-1)
}

/// Every file below `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flat_map(|entry| {
            let path = entry.unwrap().path();
            if path.is_dir() { walk(&path) } else { vec![path] }
        })
        .collect()
}

/// Runs a command in each of `formats` (`-o`) without `RUST_LOG`, then in its first format with
/// `RUST_LOG=debug` and `trace`; returns the exit codes.
fn run_everywhere(canaries: &Canaries, args: &[&str], formats: &[&str]) -> Vec<i32> {
    let mut codes = Vec::new();
    for (i, format) in formats.iter().enumerate() {
        let mut with_format = args.to_vec();
        with_format.extend(["-o", format]);
        codes.push(run(canaries, &with_format, None));
        if i == 0 {
            for level in ["debug", "trace"] {
                codes.push(run(canaries, &with_format, Some(level)));
            }
        }
    }
    codes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_value_leaves_the_clusters_except_inside_an_unencrypted_archive() {
    let (source, target) = tokio::join!(TestCluster::start(Options::default()), TestCluster::start(Options::default()));
    let (source, target) = (source.unwrap(), target.unwrap());
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let client_key = rcgen::KeyPair::generate().unwrap().serialize_pem();
    let canaries = Canaries::new(&client_key, source.admin_token());

    source.kubectl(&["create", "namespace", "shop"]).unwrap();
    let manifests = dir.join("manifests");
    std::fs::create_dir(&manifests).unwrap();
    std::fs::write(manifests.join("app.yaml"), application()).unwrap();
    std::fs::write(manifests.join("helm-release.yaml"), helm_release()).unwrap();
    source.kubectl(&["apply", "-f", manifests.to_str().unwrap()]).unwrap();
    let annotation = source.kubectl(&["get", "secret", "db", "-n", "shop", "-o", "jsonpath={.metadata.annotations}"]).unwrap();
    assert!(annotation.contains(SECRET_STRING_DATA), "kubectl's last-applied annotation holds stringData in clear: {annotation}");

    let src = kubeconfig(&source, dir, "source", &client_key);
    let dst = kubeconfig(&target, dir, "target", &client_key);
    let (src, dst) = (src.to_str().unwrap(), dst.to_str().unwrap());
    let key = dir.join("key.txt");
    std::fs::write(&key, "5c".repeat(32)).unwrap();
    let key = key.to_str().unwrap();
    let path = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    let (plain, sealed, journal, report) = (path("plain.ferry"), path("sealed.ferry"), path("journal.jsonl"), path("report.html"));

    // Reading: manifests and the live cluster, in every format, and into a report file.
    run_everywhere(&canaries, &["assess", manifests.to_str().unwrap()], &["table", "json", "yaml", "markdown", "html"]);
    run_everywhere(&canaries, &["assess", "--kubeconfig", src, "--context", "admin", "-n", "shop"], &["table", "json", "markdown", "html"]);
    assert_eq!(run(&canaries, &["assess", "--kubeconfig", src, "--context", "admin", "-o", "html", "--out", &report], None), 0);
    canaries.assert_absent("the HTML report file", &std::fs::read(&report).unwrap());
    run_everywhere(&canaries, &["certs", "--kubeconfig", src, "--context", "admin", "-n", "shop"], &["table", "json"]);

    // Archives: an unencrypted one holds the Secrets (that is what it is for), an encrypted one
    // shows nothing of them.
    assert_eq!(run(&canaries, &["export", "--kubeconfig", src, "--context", "admin", "-n", "shop", "--to", &plain], None), 0);
    let (_, entries) = ferry_archive::read_from(&plain, std::fs::File::open(&plain).unwrap(), None).unwrap();
    assert!(entries.iter().any(|entry| canaries.any_in(&entry.text)), "the unencrypted archive holds the Secrets");
    assert_eq!(run(&canaries, &["export", "--kubeconfig", src, "--context", "admin", "-n", "shop", "--to", &sealed, "--encryption-key-file", key], None), 0);
    canaries.assert_absent("the encrypted archive", &std::fs::read(&sealed).unwrap());

    // Moving: transform with its diff, dry runs, a real migration with its journal, verify, preflight.
    for archive in [&plain, &sealed] {
        let with_key: &[&str] = if archive == &sealed { &["--encryption-key-file", key] } else { &[] };
        let mut args = vec!["transform", "--from", archive, "--target-version", "1.30", "--diff"];
        args.extend(with_key);
        for log in [None, Some("debug"), Some("trace")] {
            assert_eq!(run(&canaries, &args, log), 0);
        }
        let mut args = vec!["apply", "--kubeconfig", dst, "--context", "admin", "--from", archive, "--dry-run"];
        args.extend(with_key);
        run_everywhere(&canaries, &args, &["table", "json"]);
        let mut args = vec!["preflight", "--kubeconfig", dst, "--context", "admin", "--from", archive];
        args.extend(with_key);
        run_everywhere(&canaries, &args, &["table", "json"]);
    }
    // YAML for Git is the objects themselves (env and ConfigMap values are in it as written, as in
    // an archive), but the Secrets are left out of the stream and the tree unless --secrets=plain.
    let in_secrets = Canaries([SECRET_DATA, SECRET_STRING_DATA, HELM_VALUE, HELM_MANIFEST].iter().flat_map(|c| [c.to_string(), STANDARD.encode(c)]).collect());
    let yaml = |from: &str, extra: &[&str]| {
        let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("ferry"))
            .args([&["transform", "--from", from, "--target-version", "1.30"][..], extra].concat())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        canaries.assert_absent("stderr of transform to YAML", &out.stderr);
        out.stdout
    };
    for from in [plain.as_str(), manifests.to_str().unwrap()] {
        in_secrets.assert_absent("the YAML stream", &yaml(from, &["-o", "yaml"]));
        let tree = dir.join("tree");
        yaml(from, &["--to", tree.to_str().unwrap(), "--format", "yaml"]);
        for file in walk(&tree) {
            in_secrets.assert_absent(&format!("the YAML tree's {}", file.display()), &std::fs::read(&file).unwrap());
        }
    }
    assert!(in_secrets.any_in(&yaml(&plain, &["-o", "yaml", "--secrets", "plain"])), "--secrets=plain writes them");
    // The control: asked to show them, the diff does, and this suite sees it.
    let shown = std::process::Command::new(assert_cmd::cargo::cargo_bin("ferry"))
        .args(["transform", "--from", &plain, "--target-version", "1.30", "--diff", "--show-secrets"])
        .output()
        .unwrap();
    assert!(canaries.any_in(&shown.stdout), "--show-secrets shows the planted values");
    let plan = ["apply", "--kubeconfig", dst, "--context", "admin", "--from", &plain, "--dry-run=client"];
    run_everywhere(&canaries, &plan, &["table", "json"]);
    let migrate = ["migrate", "--kubeconfig", src, "--context", "admin", "--to-kubeconfig", dst, "--to-context", "admin", "-n", "shop", "--journal", &journal];
    assert_eq!(run_everywhere(&canaries, &migrate, &["json"]), [0, 0, 0], "migrations succeed (again and again)");
    canaries.assert_absent("the apply journal", &std::fs::read(&journal).unwrap());
    let verify = ["verify", "--kubeconfig", src, "--context", "admin", "--to-kubeconfig", dst, "--to-context", "admin", "-n", "shop"];
    run_everywhere(&canaries, &verify, &["table", "json", "yaml"]);
    let volumes = ["volumes", "plan", "--kubeconfig", src, "--context", "admin", "--to-kubeconfig", dst, "--to-context", "admin", "-n", "shop"];
    run_everywhere(&canaries, &volumes, &["table", "json"]);
    let changed = target.kubectl(&["get", "secret", "db", "-n", "shop", "-o", "jsonpath={.data.password}"]).unwrap();
    assert_eq!(changed, STANDARD.encode(SECRET_DATA), "the Secret was migrated");

    // Failure paths: every refused credential, on reading and on applying.
    for context in ["canary-token", "canary-basic", "canary-exec", "canary-key"] {
        for log in [None, Some("trace")] {
            assert_ne!(run(&canaries, &["assess", "--kubeconfig", src, "--context", context, "-o", "json"], log), 0, "{context} is refused");
            let journal = path(&format!("{context}.jsonl"));
            let apply = ["apply", "--kubeconfig", dst, "--context", context, "--from", &plain, "--journal", &journal, "-o", "json"];
            assert_ne!(run(&canaries, &apply, log), 0, "{context} is refused");
            if let Ok(bytes) = std::fs::read(&journal) {
                canaries.assert_absent("a refused apply's journal", &bytes);
            }
        }
    }
}
