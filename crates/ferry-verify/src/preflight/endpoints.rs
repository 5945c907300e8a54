//! The assessment's external endpoints as `info` findings of `ferry preflight`, each with the
//! command that tests from the target whether it is reachable: a short-lived Pod that opens a
//! connection to the host and port (`nc -z`), run with the target's context.

use ferry_analysis::{ExternalEndpoint, Network};
use ferry_model::{Node, Object, ObjectId, Origin};
use serde::Deserialize as _;
use serde_json::Value;

use super::{Issue, Severity};

/// The finding code of an external endpoint.
pub const EXTERNAL_ENDPOINT: &str = "external-endpoint";

/// The image of the probe Pod in the hints: a small public image that has `nc`.
pub const PROBE_IMAGE: &str = "busybox:1.36";

/// Protocols carried over UDP, where `nc -zu` cannot tell an answer from silence.
const UDP_PROTOCOLS: &[&str] = &["NTP", "DNS", "SNMP", "Syslog"];

/// The external endpoints the assessment finds in the transformed objects (each named by its
/// identity, as there is no file): those their workloads use outside the cluster.
pub fn of_objects(objects: &[(ObjectId, Value)]) -> Vec<ExternalEndpoint> {
    let parsed = objects.iter().filter_map(|(id, value)| {
        let root = Node::deserialize(value).ok()?;
        Some(Object::from_root(root, Origin { file: id.to_string().into(), document: 0, line: 0 }))
    });
    let options = ferry_analysis::Options { allow_empty: true, ..Default::default() };
    ferry_analysis::assess_objects(parsed.collect(), &Default::default(), &options).endpoints
}

/// One `info` finding per endpoint, saying who uses it and how to test it from `context`.
pub fn check(endpoints: &[ExternalEndpoint], context: &str) -> Vec<Issue> {
    endpoints.iter().map(|endpoint| Issue { severity: Severity::Info, code: EXTERNAL_ENDPOINT, object: None, message: message(endpoint, context) }).collect()
}

fn message(endpoint: &ExternalEndpoint, context: &str) -> String {
    let protocol = endpoint.protocol.as_deref().map(|p| format!(", {p}")).unwrap_or_default();
    let users: Vec<String> = endpoint.used_by.iter().map(ToString::to_string).collect();
    let users = if users.is_empty() { format!("named by {}", endpoint.object) } else { format!("used by {}", users.join(", ")) };
    let route = match endpoint.network {
        Network::Private => "the target needs a route to this private network (VPN, peering)",
        Network::Public => "the target needs egress to it",
    };
    format!("`{}` ({}{protocol}) is {users}; {route}: {}", endpoint.address, endpoint.network.label(), hint(endpoint, context))
}

/// How to test reachability from the target.
fn hint(endpoint: &ExternalEndpoint, context: &str) -> String {
    let (host, block) = match endpoint.host.split_once('/') {
        Some((address, "32" | "128")) => (address, false),
        Some((address, _)) => (address, true),
        None => (&*endpoint.host, false),
    };
    let Some(port) = endpoint.port else {
        return format!("no port is written; test the port the clients use with `{}`", probe(context, host, "PORT", false));
    };
    let udp = is_udp(endpoint);
    let command = probe(context, host, &port.to_string(), udp);
    match (block, udp) {
        (true, _) => format!("a block of addresses; test one the clients use, e.g. `{command}`"),
        (false, true) => format!("test with `{command}` (UDP: no error is no proof of an answer)"),
        (false, false) => format!("test with `{command}`"),
    }
}

/// Whether the endpoint's protocol runs over UDP.
pub(super) fn is_udp(endpoint: &ExternalEndpoint) -> bool {
    endpoint.protocol.as_deref().is_some_and(|p| UDP_PROTOCOLS.contains(&p))
}

/// A short-lived Pod on the target that tries the connection and is removed.
fn probe(context: &str, host: &str, port: &str, udp: bool) -> String {
    let flags = if udp { "-zuv" } else { "-zv" };
    format!("kubectl --context {context} run ferry-probe --rm -i --restart=Never --image={PROBE_IMAGE} -- nc {flags} -w 5 {host} {port}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoints_of(env: serde_json::Value) -> Vec<ExternalEndpoint> {
        let deployment = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "w:1", "env": env}]}}}});
        of_objects(&[(ObjectId::from_json(&deployment).unwrap(), deployment)])
    }

    #[test]
    fn each_endpoint_is_an_info_finding_with_the_command_that_tests_it() {
        let env = serde_json::json!([{"name": "DB", "value": "postgres://db.corp:5432/app"}, {"name": "NTP_SERVER", "value": "ntp://pool.ntp.org:123"},
                                     {"name": "HOOK_URL", "value": "https://hooks.example.com/x"}]);
        let issues = check(&endpoints_of(env), "target");
        assert_eq!(issues.len(), 3, "{issues:#?}");
        assert!(issues.iter().all(|i| i.severity == Severity::Info && i.code == EXTERNAL_ENDPOINT));
        let of = |host: &str| issues.iter().find(|i| i.message.contains(host)).map(|i| i.message.as_str()).unwrap_or_else(|| panic!("{host}: {issues:#?}"));
        let db = of("db.corp");
        assert!(db.contains("private network, PostgreSQL") && db.contains("used by Deployment shop/web") && db.contains("VPN"), "{db}");
        assert!(db.contains("`kubectl --context target run ferry-probe --rm -i --restart=Never --image=busybox:1.36 -- nc -zv -w 5 db.corp 5432`"), "{db}");
        assert!(of("pool.ntp.org").contains("nc -zuv -w 5 pool.ntp.org 123"), "NTP is UDP");
        assert!(of("hooks.example.com").contains("no port is written"), "{}", of("hooks.example.com"));
    }
}
