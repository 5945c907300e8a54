//! What to request by default, from the target's objects (pure): every host and path its
//! Ingresses serve over TLS, and where they can be reached, from each Ingress's
//! `status.loadBalancer` or else the one address of the LoadBalancer Services. What cannot be
//! requested (no host, a wildcard, a path pattern, a host served without TLS) is skipped with
//! a reason.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};

use ferry_model::ObjectId;
use serde::Serialize;
use serde_json::Value;

use crate::address::{HTTPS_PORT, Pin, Routes, check_host};

/// Where a request comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "from")]
pub enum Origin {
    /// A rule of an Ingress of the target.
    Ingress {
        /// The Ingress.
        object: ObjectId,
    },
    /// A check of the checks file.
    Check {
        /// Its position in `checks` (from 0).
        index: usize,
        /// Its `name`, if it has one.
        #[serde(skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
}

impl Origin {
    /// `ingress shop/web` or `check 2 (login)`, for people.
    pub fn label(&self) -> String {
        match self {
            Origin::Ingress { object } => format!("ingress {}/{}", object.namespace.as_deref().unwrap_or_default(), object.name),
            Origin::Check { index, name: Some(name) } => format!("check {index} ({name})"),
            Origin::Check { index, name: None } => format!("check {index}"),
        }
    }
}

/// What makes an answer pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expect {
    /// The status; when unset, any status below 400, or the old side's status when compared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// A text the body must contain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Whether the body's SHA-256 must equal the old side's (when there is an old side).
    pub compare_body: bool,
}

/// One HTTPS request a smoke test sends: the host is the TLS server name (SNI), the name the
/// certificate is checked against, and the Host header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Request {
    /// Where it comes from.
    pub origin: Origin,
    /// The HTTP method.
    pub method: String,
    /// The host name.
    pub host: String,
    /// The path, with the query if any; starts with `/`.
    pub path: String,
    /// Extra headers. Reports and evidence name them without their values, which may be credentials.
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "header_names")]
    pub headers: Vec<(String, String)>,
    /// What makes the answer pass.
    pub expect: Expect,
}

/// Headers as their names only.
fn header_names<S: serde::Serializer>(headers: &[(String, String)], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(headers.iter().map(|(name, _)| name))
}

impl Request {
    /// `https://HOST/PATH`, as a client would ask for it.
    pub fn url(&self) -> String {
        format!("https://{}{}", self.host, self.path)
    }
}

/// A host or path of an Ingress that is not requested, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// The Ingress.
    pub origin: Origin,
    /// The host, as the Ingress writes it (may be empty or a wildcard).
    pub host: String,
    /// The path.
    pub path: String,
    /// Why it is not requested.
    pub reason: String,
}

/// What the target's objects say should be requested, and where.
#[derive(Debug, Clone, Default)]
pub struct Discovered {
    /// One request per distinct host and path served over TLS, in the Ingresses' order.
    pub requests: Vec<Request>,
    /// What was left out.
    pub skipped: Vec<Skipped>,
    /// The addresses from the Ingresses' and LoadBalancer Services' status, on port 443.
    pub routes: Routes,
    /// Why no address could be taken from the status, when that is so.
    pub notes: Vec<String>,
}

/// The requests and addresses the target's Ingresses and Services (JSON, as the API server sends them) imply.
pub fn discover(ingresses: &[Value], services: &[Value]) -> Discovered {
    let mut found = Discovered::default();
    let mut seen = BTreeSet::new();
    let mut pins = Vec::new();
    for ingress in ingresses {
        let origin = Origin::Ingress { object: ingress_id(ingress) };
        let address = status_ips(ingress).first().map(|ip| SocketAddr::new(*ip, HTTPS_PORT));
        for (host, path) in served(ingress) {
            let skip = |reason: String| Skipped { origin: origin.clone(), host: host.clone(), path: path.clone(), reason };
            if let Some(reason) = unrequestable(ingress, &host, &path) {
                found.skipped.push(skip(reason));
                continue;
            }
            pins.extend(address.map(|address| Pin { host: host.to_ascii_lowercase(), address }));
            if seen.insert((host.to_ascii_lowercase(), path.clone())) {
                let expect = Expect { status: None, body: None, compare_body: true };
                found.requests.push(Request { origin: origin.clone(), method: "GET".into(), host, path, headers: Vec::new(), expect });
            }
        }
    }
    let balancers: BTreeSet<IpAddr> =
        services.iter().filter(|s| s.pointer("/spec/type").and_then(Value::as_str) == Some("LoadBalancer")).flat_map(status_ips).collect();
    let default = match balancers.len() {
        1 => balancers.first().map(|ip| SocketAddr::new(*ip, HTTPS_PORT)),
        0 => None,
        _ => {
            let list: Vec<String> = balancers.iter().map(IpAddr::to_string).collect();
            found.notes.push(format!("several LoadBalancer Services have addresses ({}); only Ingress status addresses are used", list.join(", ")));
            None
        }
    };
    // Pins were collected in the Ingresses' order; the first Ingress that serves a host names its address.
    pins.reverse();
    found.routes = Routes::new(default, pins);
    found
}

/// The Ingress's identity (a list's items carry no apiVersion: networking.k8s.io/v1 then).
fn ingress_id(ingress: &Value) -> ObjectId {
    let text = |pointer: &str| ingress.pointer(pointer).and_then(Value::as_str).map(str::to_owned);
    ObjectId {
        api_version: text("/apiVersion").unwrap_or_else(|| "networking.k8s.io/v1".into()),
        kind: "Ingress".into(),
        namespace: text("/metadata/namespace"),
        name: text("/metadata/name").unwrap_or_default(),
    }
}

/// Every (host, path) of the rules; a rule without paths serves `/`.
fn served(ingress: &Value) -> Vec<(String, String)> {
    let rules = ingress.pointer("/spec/rules").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    rules
        .iter()
        .flat_map(|rule| {
            let host = rule.get("host").and_then(Value::as_str).unwrap_or_default().to_owned();
            let paths: Vec<String> = rule
                .pointer("/http/paths")
                .and_then(Value::as_array)
                .map(|paths| paths.iter().map(|p| p.get("path").and_then(Value::as_str).filter(|p| !p.is_empty()).unwrap_or("/").to_owned()).collect())
                .filter(|paths: &Vec<String>| !paths.is_empty())
                .unwrap_or_else(|| vec!["/".to_owned()]);
            paths.into_iter().map(move |path| (host.clone(), path))
        })
        .collect()
}

/// Why a host and path of `ingress` cannot be requested, if so.
fn unrequestable(ingress: &Value, host: &str, path: &str) -> Option<String> {
    if host.is_empty() {
        return Some("the rule has no host: there is no name to send as TLS SNI".into());
    }
    if let Err(why) = check_host(host) {
        return Some(why);
    }
    if !path.starts_with('/') || path.contains(['(', ')', '[', ']', '{', '}', '*', '+', '?', '^', '$', '|', '\\']) {
        return Some(format!("the path `{path}` is a pattern, not one path; add a check with a concrete path"));
    }
    if !tls_covers(ingress, host) {
        return Some("the host is served without TLS (no `spec.tls` entry names it)".into());
    }
    None
}

/// Whether a `spec.tls` entry names `host` (an entry without hosts covers every host).
fn tls_covers(ingress: &Value, host: &str) -> bool {
    let entries = ingress.pointer("/spec/tls").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    entries.iter().any(|entry| match entry.get("hosts").and_then(Value::as_array) {
        Some(hosts) if !hosts.is_empty() => hosts.iter().filter_map(Value::as_str).any(|h| ferry_certs::covers(h, host)),
        _ => true,
    })
}

/// The IP addresses of an object's `status.loadBalancer.ingress` (host-name entries are not resolved).
fn status_ips(object: &Value) -> Vec<IpAddr> {
    let entries = object.pointer("/status/loadBalancer/ingress").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    entries.iter().filter_map(|e| e.get("ip").and_then(Value::as_str)?.parse().ok()).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ingress(name: &str, rules: Value, tls: Value, ip: Option<&str>) -> Value {
        let status = ip.map_or(json!({}), |ip| json!({"loadBalancer": {"ingress": [{"ip": ip}]}}));
        json!({"metadata": {"name": name, "namespace": "shop"}, "spec": {"rules": rules, "tls": tls}, "status": status})
    }

    #[test]
    fn tls_hosts_and_paths_become_requests_and_the_rest_is_skipped_with_a_reason() {
        let rules = json!([
            {"host": "shop.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix"}, {"path": "/api", "pathType": "Prefix"}]}},
            {"host": "plain.example.org", "http": {"paths": [{"path": "/"}]}},
            {"host": "*.example.com", "http": {"paths": [{"path": "/"}]}},
            {"http": {"paths": [{"path": "/"}]}},
            {"host": "shop.example.com", "http": {"paths": [{"path": "/v1(/|$)(.*)", "pathType": "ImplementationSpecific"}]}},
            {"host": "static.example.com"}
        ]);
        let tls = json!([{"hosts": ["shop.example.com", "*.example.com", "static.example.com"], "secretName": "shop-tls"}]);
        let found = discover(&[ingress("web", rules, tls, Some("127.0.0.3"))], &[]);
        let requested: Vec<(&str, &str)> = found.requests.iter().map(|r| (r.host.as_str(), r.path.as_str())).collect();
        assert_eq!(requested, [("shop.example.com", "/"), ("shop.example.com", "/api"), ("static.example.com", "/")]);
        assert_eq!(found.requests[0].url(), "https://shop.example.com/");
        assert_eq!(found.requests[0].origin.label(), "ingress shop/web");
        let reasons: Vec<(&str, &str)> = found.skipped.iter().map(|s| (s.host.as_str(), s.reason.as_str())).collect();
        assert!(reasons[0].0 == "plain.example.org" && reasons[0].1.contains("without TLS"), "{reasons:?}");
        assert!(reasons[1].1.contains("wildcard") && reasons[2].1.contains("no host") && reasons[3].1.contains("pattern"), "{reasons:?}");
        assert_eq!(found.routes.address("static.example.com"), Some("127.0.0.3:443".parse().unwrap()));
    }

    #[test]
    fn ingress_status_addresses_come_first_then_the_single_load_balancer() {
        let rule = |host: &str| json!([{"host": host}]);
        let ingresses = [
            ingress("a", rule("a.test"), json!([{"secretName": "a"}]), Some("127.0.0.3")),
            ingress("a-again", rule("a.test"), json!([{"secretName": "a"}]), Some("127.0.0.7")),
            ingress("b", rule("b.test"), json!([{"secretName": "b"}]), None),
        ];
        let service = |ip: &str| json!({"spec": {"type": "LoadBalancer"}, "status": {"loadBalancer": {"ingress": [{"ip": ip}]}}});
        let cluster_ip = json!({"spec": {"type": "ClusterIP"}, "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.1"}]}}});
        let found = discover(&ingresses, &[service("127.0.0.4"), cluster_ip.clone()]);
        assert_eq!(found.requests.len(), 2, "a.test is requested once");
        assert_eq!(found.routes.address("a.test"), Some("127.0.0.3:443".parse().unwrap()));
        assert_eq!(found.routes.address("b.test"), Some("127.0.0.4:443".parse().unwrap()));
        let ambiguous = discover(&ingresses, &[service("127.0.0.4"), service("127.0.0.5")]);
        assert_eq!(ambiguous.routes.address("b.test"), None);
        assert!(ambiguous.notes[0].contains("127.0.0.4, 127.0.0.5"), "{:?}", ambiguous.notes);
    }
}
