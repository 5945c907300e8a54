//! The probe Pod's command run here with Debian's busybox (what the test nodes' busybox image
//! is built from, installed by `scripts/install-k8s.sh`), its applets alone on `PATH`: a port
//! that listens on loopback is reached and a closed one is refused with `nc`'s reason. An image
//! whose shell has no `timeout` (Debian's `dash` with busybox's other applets: busybox's own
//! shell runs its applets even when they are not on `PATH`) is a probe that could not run,
//! never an endpoint reported reachable.

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

use ferry_verify::preflight::probe::{PROBE_FAILED, ProbePod, ProbeTarget, REACHABLE, UNREACHABLE, read};

const BUSYBOX: &str = "/bin/busybox";

/// Links `shell` as `sh` and the busybox `applets`, and only those, into `dir`.
fn commands(dir: &Path, shell: &str, applets: &[&str]) {
    std::os::unix::fs::symlink(shell, dir.join("sh")).expect("shell link");
    for applet in applets {
        std::os::unix::fs::symlink(BUSYBOX, dir.join(applet)).expect("applet link");
    }
}

/// Runs the probe Pod's command for `targets` with `path` as `PATH`; returns how it ended.
fn run(targets: &[ProbeTarget], path: &Path) -> (i32, String) {
    let pod = ProbePod { namespace: "default".into(), image: "busybox".into(), host_network: true }.manifest(targets);
    let command: Vec<String> = pod["spec"]["containers"][0]["command"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
    let out = Command::new(path.join(&command[0])).args(&command[1..]).env_clear().env("PATH", path).output().expect("the probe runs");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

fn target(port: u16) -> ProbeTarget {
    ProbeTarget { host: "127.0.0.1".to_owned(), port, users: "given with --probe".to_owned() }
}

#[test]
fn a_listening_port_is_reached_a_closed_one_refused_and_a_missing_applet_fails_the_probe() {
    assert!(Path::new(BUSYBOX).exists(), "busybox missing: run scripts/install-k8s.sh");
    let listening = TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let targets = [target(listening.local_addr().unwrap().port()), target(closed)];

    let full = tempfile::tempdir().unwrap();
    commands(full.path(), BUSYBOX, &["nc", "timeout", "tr", "cut"]);
    let (code, log) = run(&targets, full.path());
    let found: Vec<&str> = read(&targets, code, &log, "dst").iter().map(|issue| issue.code).collect();
    assert_eq!((code, found), (0, vec![REACHABLE, UNREACHABLE]), "{log}");
    assert!(log.contains("Connection refused"), "{log}");

    let without_timeout = tempfile::tempdir().unwrap();
    commands(without_timeout.path(), "/bin/dash", &["nc", "tr", "cut"]);
    let (code, log) = run(&targets, without_timeout.path());
    let found = read(&targets, code, &log, "dst");
    assert_eq!((code, found.len(), found[0].code), (3, 1, PROBE_FAILED), "{log}");
    assert!(found[0].message.contains("has no `timeout`"), "{}", found[0].message);
}
