//! ferry as a kubectl plugin: a `kubectl-ferry` link on PATH makes `kubectl ferry ...` run it
//! through a real kubectl (installed by scripts/install-k8s.sh), and usage lines then say
//! `kubectl ferry`; run as `ferry` they keep saying `ferry`.

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Output};

use assert_cmd::cargo::cargo_bin;

/// PATH holding only `plugins` and the directory of the real kubectl.
fn plugin_path(plugins: &Path) -> OsString {
    let kubectl = which("kubectl").expect("kubectl on PATH (scripts/install-k8s.sh installs it)");
    std::env::join_paths([plugins, kubectl.parent().unwrap()]).unwrap()
}

fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|dir| dir.join(program)).find(|path| path.is_file())
}

/// `kubectl ARGS` with a `kubectl-ferry` link to the built ferry on PATH.
fn kubectl(args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(cargo_bin("ferry"), dir.path().join("kubectl-ferry")).unwrap();
    Command::new("kubectl").args(args).env("PATH", plugin_path(dir.path())).env("KUBECONFIG", dir.path().join("none")).output().unwrap()
}

#[test]
fn kubectl_finds_the_plugin_and_runs_it() {
    let listed = kubectl(&["plugin", "list"]);
    assert!(String::from_utf8_lossy(&listed.stdout).contains("/kubectl-ferry"), "{listed:?}");

    let version = kubectl(&["ferry", "version", "--client"]);
    assert_eq!(version.status.code(), Some(0), "{}", String::from_utf8_lossy(&version.stderr));
    let text = String::from_utf8(version.stdout).unwrap();
    assert!(text.starts_with(&format!("Client Version: {}\n", env!("CARGO_PKG_VERSION"))), "{text}");
}

#[test]
fn usage_says_kubectl_ferry_under_kubectl_and_ferry_otherwise() {
    let help = kubectl(&["ferry", "--help"]);
    assert!(String::from_utf8_lossy(&help.stdout).contains("Usage: kubectl ferry [OPTIONS] <COMMAND>"), "{help:?}");
    let wrong = kubectl(&["ferry", "version", "--bogus"]);
    assert_eq!(wrong.status.code(), Some(2), "kubectl passes the plugin's exit code on");
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("Usage: kubectl ferry version [OPTIONS]"), "{wrong:?}");

    let direct = Command::new(cargo_bin("ferry")).arg("--help").output().unwrap();
    assert!(String::from_utf8_lossy(&direct.stdout).contains("Usage: ferry [OPTIONS] <COMMAND>"), "{direct:?}");
}
