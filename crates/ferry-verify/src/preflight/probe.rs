//! `ferry preflight --probe-endpoints`: one short-lived Pod on the target tries a TCP connection
//! to each external endpoint the objects use (and to each `--probe HOST:PORT`), and its report
//! becomes one finding per endpoint. This module builds the Pod and reads its log; running it
//! is the caller's. The Pod runs `nc` from the probe image (busybox's applet: no `-z` in every
//! build, so `nc -w` is given no input and a connection that stays open is ended by `timeout`).

use ferry_analysis::ExternalEndpoint;
use serde_json::{Value, json};

use super::endpoints::is_udp;
use super::{Issue, Severity};

/// The finding code of an endpoint the probe reached.
pub const REACHABLE: &str = "endpoint-reachable";
/// The finding code of an endpoint the probe could not connect to.
pub const UNREACHABLE: &str = "endpoint-unreachable";
/// The finding code of a probe that could not run.
pub const PROBE_FAILED: &str = "probe-failed";

/// Seconds `nc` waits for a connection.
const CONNECT_SECONDS: u32 = 5;

/// Tries each `HOST PORT` pair of its arguments at once; prints `INDEX ok` when a connection
/// opened (nc ended by itself, or was still connected when `timeout` ended it: 124 from GNU
/// `timeout`, 143 from busybox's), else `INDEX fail WHY`. Exits 3, naming it, if the image lacks
/// a command it needs: that is a probe that could not run, not an endpoint out of reach.
const SCRIPT: &str = r#"for command in nc timeout tr cut; do
  command -v "$command" >/dev/null || { echo "the probe image has no \`$command\`"; exit 3; }
done
probe() {
  why=$(timeout WAIT nc -w CONNECT "$2" "$3" </dev/null 2>&1 >/dev/null)
  case $? in
    0|124|143) echo "$1 ok" ;;
    *) echo "$1 fail $(echo "$why" | tr '\n' ' ' | cut -c1-200)" ;;
  esac
}
i=0
while [ $# -ge 2 ]; do
  probe "$i" "$1" "$2" &
  i=$((i+1))
  shift 2
done
wait
"#;

/// One TCP endpoint to try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeTarget {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Who uses it, for the finding (`used by Deployment shop/web`, `given with --probe`).
    pub users: String,
}

/// What the probe tries: each single-host TCP endpoint with a port (UDP ones, address blocks and
/// ones without a port keep only their hint), then `extra`, each once.
pub fn targets(endpoints: &[ExternalEndpoint], extra: &[(String, u16)]) -> Vec<ProbeTarget> {
    let found = endpoints.iter().filter(|e| !is_udp(e) && !e.host.contains('/')).filter_map(|endpoint| {
        let users: Vec<String> = endpoint.used_by.iter().map(ToString::to_string).collect();
        let users = if users.is_empty() { format!("named by {}", endpoint.object) } else { format!("used by {}", users.join(", ")) };
        Some(ProbeTarget { host: endpoint.host.to_string(), port: endpoint.port?, users })
    });
    let given = extra.iter().map(|(host, port)| ProbeTarget { host: host.clone(), port: *port, users: "given with --probe".to_owned() });
    let mut targets: Vec<ProbeTarget> = Vec::new();
    for target in found.chain(given) {
        if !targets.iter().any(|t| t.host == target.host && t.port == target.port) {
            targets.push(target);
        }
    }
    targets
}

/// How the probe Pod runs; the API server names it (`ferry-probe-XXXXX`).
#[derive(Debug, Clone)]
pub struct ProbePod {
    /// Its namespace.
    pub namespace: String,
    /// An image with `sh`, `nc` and `timeout` (busybox).
    pub image: String,
    /// Run on the node's network instead of the Pod network (where workloads use it).
    pub host_network: bool,
}

impl ProbePod {
    /// The Pod: never restarted, no service-account token, nothing mounted.
    pub fn manifest(&self, targets: &[ProbeTarget]) -> Value {
        let script = SCRIPT.replace("WAIT", &(CONNECT_SECONDS + 3).to_string()).replace("CONNECT", &CONNECT_SECONDS.to_string());
        let mut command = vec!["sh".to_owned(), "-c".to_owned(), script, "ferry-probe".to_owned()];
        command.extend(targets.iter().flat_map(|t| [t.host.clone(), t.port.to_string()]));
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"generateName": "ferry-probe-", "namespace": self.namespace, "labels": {"app.kubernetes.io/managed-by": "ferry", "app.kubernetes.io/component": "probe"}},
            "spec": {
                "restartPolicy": "Never",
                "hostNetwork": self.host_network,
                "automountServiceAccountToken": false,
                "terminationGracePeriodSeconds": 0,
                "containers": [{"name": "probe", "image": self.image, "command": command}],
            },
        })
    }
}

/// One finding per target from how the probe ended: reachable (info) or not (fail, with `nc`'s
/// words); a target the log does not mention is a failed probe (warn), and so is every target
/// when the script itself failed (`exit_code` not 0; its log says why).
pub fn read(targets: &[ProbeTarget], exit_code: i32, log: &str, context: &str) -> Vec<Issue> {
    if exit_code != 0 {
        let why = log.lines().next().unwrap_or("no output");
        return vec![failed(&format!("exit code {exit_code}: {why}"), targets)];
    }
    let lines: Vec<(usize, &str)> = log.lines().filter_map(|line| line.split_once(' ').and_then(|(i, rest)| Some((i.parse().ok()?, rest)))).collect();
    targets
        .iter()
        .enumerate()
        .map(|(i, target)| {
            let address = format!("{}:{}", target.host, target.port);
            let (severity, code, message) = match lines.iter().find(|(n, _)| *n == i).map(|(_, rest)| *rest) {
                Some("ok") => (Severity::Info, REACHABLE, format!("`{address}` ({}) accepted a TCP connection from a Pod on `{context}`", target.users)),
                Some(failed) => {
                    let why = failed.strip_prefix("fail").unwrap_or(failed).trim();
                    let message = format!("`{address}` ({}) did not accept a TCP connection from a Pod on `{context}`: {why}", target.users);
                    (Severity::Fail, UNREACHABLE, message)
                }
                None => (Severity::Warn, PROBE_FAILED, format!("the probe Pod did not report on `{address}` ({})", target.users)),
            };
            Issue { severity, code, object: None, message }
        })
        .collect()
}

/// The finding of a probe Pod that could not run (`why`): every target stays untested.
pub fn failed(why: &str, targets: &[ProbeTarget]) -> Issue {
    let addresses: Vec<String> = targets.iter().map(|t| format!("`{}:{}`", t.host, t.port)).collect();
    Issue {
        severity: Severity::Warn,
        code: PROBE_FAILED,
        object: None,
        message: format!("the probe Pod did not run ({why}); not tested: {}", addresses.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(host: &str, port: u16) -> ProbeTarget {
        ProbeTarget { host: host.to_owned(), port, users: "given with --probe".to_owned() }
    }

    #[test]
    fn the_log_gives_one_finding_per_target_and_silence_is_a_failed_probe() {
        let targets = [target("db.corp.internal", 5432), target("10.1.2.3", 636), target("gone.corp.internal", 25)];
        let log = "0 ok\n1 fail nc: can't connect to remote host (10.1.2.3): Connection refused \n";
        let found: Vec<(Severity, &str)> = read(&targets, 0, log, "dst").iter().map(|i| (i.severity, i.code)).collect();
        assert_eq!(found, [(Severity::Info, REACHABLE), (Severity::Fail, UNREACHABLE), (Severity::Warn, PROBE_FAILED)]);
        let refused = &read(&targets, 0, log, "dst")[1].message;
        assert_eq!(
            refused,
            "`10.1.2.3:636` (given with --probe) did not accept a TCP connection from a Pod on `dst`: nc: can't connect to remote host (10.1.2.3): Connection refused"
        );
        let broken = read(&targets, 3, "the probe image has no `timeout`\n", "dst");
        assert_eq!((broken.len(), broken[0].severity, broken[0].code), (1, Severity::Warn, PROBE_FAILED));
        assert!(
            broken[0].message.contains("exit code 3: the probe image has no `timeout`") && broken[0].message.contains("`gone.corp.internal:25`"),
            "{}",
            broken[0].message
        );
    }

    #[test]
    fn the_pod_gets_host_port_pairs_and_given_targets_come_once() {
        let targets = targets(&[], &[("10.0.0.1".to_owned(), 80), ("10.0.0.1".to_owned(), 80), ("db".to_owned(), 5432)]);
        assert_eq!(targets, [target("10.0.0.1", 80), target("db", 5432)]);
        let pod = ProbePod { namespace: "default".into(), image: "busybox:1.36".into(), host_network: false }.manifest(&targets);
        let command: Vec<&str> = pod["spec"]["containers"][0]["command"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert_eq!(command[3..], ["ferry-probe", "10.0.0.1", "80", "db", "5432"]);
        assert!(command[2].contains("timeout 8 nc -w 5 \"$2\" \"$3\""), "{}", command[2]);
        assert_eq!((pod["spec"]["restartPolicy"].as_str(), pod["spec"]["automountServiceAccountToken"].as_bool()), (Some("Never"), Some(false)));
    }
}
