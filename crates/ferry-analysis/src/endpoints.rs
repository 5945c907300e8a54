//! External endpoints: the hosts, IP addresses and URLs outside the cluster that workloads use
//! (issue 20, item 10), each classified as on a private network or public, with the protocol its
//! scheme or port says (`data/endpoints.yaml`), where it is written and which workloads use it.
//!
//! Hosts are gathered with the Service addresses (as [`Mention`]s) while objects are read, only
//! from text that holds a candidate; resolving hands over the ones that name no Service of the
//! input ([`Sighting`]); this module turns them into the report's section. A Service of the
//! input, a name of the cluster (`*.svc`, `*.cluster.local`, the API server) and a managed cloud
//! service (a cloud finding) are never external endpoints. Hosts inside Secrets are left out:
//! ferry never shows what a Secret holds.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use serde::Serialize;

use crate::assessment::{Evidence, MAX_EXTRA_EVIDENCE, ObjRef, Text};
use crate::facts::{Facts, Mention};
use crate::hosts::HostToken;
use crate::knowledge::endpoints::{EndpointRules, Place};
use crate::resolve::service_address;
use crate::strings::FastHash;

/// A host, address or URL outside the cluster that workloads use.
#[derive(Debug, Clone, Serialize)]
pub struct ExternalEndpoint {
    /// The host name (lower case) or IP address.
    pub host: Text,
    /// The port, when written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The address as first written (`ldaps://dc1.corp.example:636`), without credentials or path.
    pub address: Text,
    /// On a private network or public.
    pub network: Network,
    /// Why: the private suffix or address block, `single-label name`, or the public top-level domain.
    pub reason: Text,
    /// The protocol the scheme or port says (`PostgreSQL`, `SMTP`), when they say one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Text>,
    /// The object where it is first written.
    pub object: ObjRef,
    /// Where.
    pub evidence: Evidence,
    /// Further places where it is written (at most [`MAX_EXTRA_EVIDENCE`]).
    #[serde(skip_serializing_if = "<[Evidence]>::is_empty")]
    pub also: Box<[Evidence]>,
    /// The workloads that use it (directly, through a ConfigMap or Dapr Component they load, or
    /// through a Service whose `externalName` or hand-written Endpoints point there).
    pub used_by: Vec<ObjRef>,
}

/// Where an external endpoint is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Network {
    /// A private network (RFC 1918 or ULA address, a non-public suffix, a single-label name):
    /// the target needs a route to it (VPN, peering).
    Private,
    /// The public Internet (a third party): the target needs egress to it.
    Public,
}

impl Network {
    /// How reports name it.
    pub fn label(self) -> &'static str {
        match self {
            Network::Private => "private network",
            Network::Public => "public",
        }
    }
}

/// Whether a token found in a workload's text is kept as a possible external host: an
/// address (not loopback, unspecified, multicast or a netmask), a name under a private
/// suffix, or a public name. Without a scheme or port (`explicit`) and unless it is the whole
/// value of a key that names an address (`addressed`), a single-label word is no host, and a
/// public name needs three labels, and neither a file extension (`app.py`) for top-level
/// domain nor one as its first label (`com.example.app`, a Java package).
pub(crate) fn is_candidate(rules: &EndpointRules, token: &HostToken<'_>, addressed: bool) -> bool {
    if let Some(ip) = token.ip {
        return is_routable(ip);
    }
    let host = &*token.host;
    if host == "localhost" || is_cluster_name(host) {
        return false;
    }
    let stated = token.is_explicit() || addressed;
    match rules.place_of_name(host) {
        None => false,
        Some(Place::SingleLabel) => stated,
        Some(Place::Private(_)) => true,
        Some(Place::Public(tld)) => {
            let first = host.split('.').next().unwrap_or_default();
            stated || (host.split('.').count() >= 3 && !rules.is_file_extension(tld) && !rules.is_public_tld(first))
        }
    }
}

/// Whether an address can be dialled from elsewhere: not loopback, unspecified, multicast,
/// broadcast or a netmask (`255.255.255.0`).
fn is_routable(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !(v4.is_loopback() || v4.is_unspecified() || v4.is_multicast() || v4.octets()[0] == 255 || v4.octets()[0] == 0),
        IpAddr::V6(v6) => !(v6.is_loopback() || v6.is_unspecified() || v6.is_multicast()),
    }
}

/// Names of the cluster's DNS: a Service or Pod under `svc`, the cluster domain, the API server.
fn is_cluster_name(host: &str) -> bool {
    host.split('.').any(|label| label == "svc") || host.ends_with(".cluster.local") || host == "cluster.local" || host.starts_with("kubernetes.default")
}

/// A mention that named no Service of the input, as resolving found it: in object `from`, or
/// in the configuration object `via` that `from` loads.
#[derive(Clone, Copy)]
pub(crate) struct Sighting<'a> {
    /// The workload (or the Service, Endpoints, ServiceEntry) that uses it.
    pub from: usize,
    /// The object where it is written, when not `from`.
    pub via: Option<usize>,
    /// The host as found.
    pub mention: &'a Mention,
}

/// The external endpoints among `sightings` and the objects that point outside by themselves
/// (`ExternalName` Services, hand-written Endpoints and EndpointSlices, ServiceEntries); a
/// pod's `dnsConfig` name servers and `hostAliases` addresses are among its own sightings.
/// `callers` are the workloads' network edges that resolved to a Service: (workload, Service),
/// read only when there is an endpoint to attribute.
pub(crate) fn collect<'a>(
    facts: &'a [Facts],
    mut sightings: Vec<Sighting<'a>>,
    callers: impl Iterator<Item = (usize, usize)>,
    rules: &EndpointRules,
) -> Vec<ExternalEndpoint> {
    sightings.extend(pointing_outside(facts));
    if sightings.is_empty() {
        return Vec::new();
    }
    let namespaces: HashSet<&str, FastHash> = facts.iter().filter_map(|f| f.id.namespace.as_deref()).collect();
    let services = ServiceUsers::new(facts, callers);
    let mut by_address: HashMap<(&str, Option<u16>), usize, FastHash> = HashMap::default();
    let mut out: Vec<ExternalEndpoint> = Vec::new();
    for sighting in sightings {
        let m = sighting.mention;
        let from = &facts[sighting.from];
        if m.secret || !m.external || !is_outside(&m.host, from.id.namespace.as_deref(), m.explicit, &namespaces) {
            continue;
        }
        let Some((network, reason)) = place(rules, &m.host) else { continue };
        let owner = &facts[sighting.via.unwrap_or(sighting.from)];
        let evidence = Evidence { file: owner.origin.file.clone().into(), line: m.line, path: m.path.clone().into() };
        let users = services.users_of(facts, sighting.from);
        match by_address.get(&(&*m.host, m.port)) {
            Some(&i) => {
                let endpoint = &mut out[i];
                endpoint.used_by.extend(users);
                if endpoint.also.len() < MAX_EXTRA_EVIDENCE && endpoint.evidence != evidence && !endpoint.also.contains(&evidence) {
                    let mut also = std::mem::take(&mut endpoint.also).into_vec();
                    also.push(evidence);
                    endpoint.also = also.into_boxed_slice();
                }
            }
            None => {
                by_address.insert((&m.host, m.port), out.len());
                out.push(ExternalEndpoint {
                    host: (*m.host).into(),
                    port: m.port,
                    address: address(m).into(),
                    network,
                    reason: reason.into(),
                    protocol: rules.protocol(m.scheme.as_deref(), m.port).map(Text::from),
                    object: owner.id.obj_ref(),
                    evidence,
                    also: Box::default(),
                    used_by: users,
                });
            }
        }
    }
    for endpoint in &mut out {
        endpoint.used_by.sort();
        endpoint.used_by.dedup();
    }
    out.sort_by(|a, b| (a.network, &a.host, a.port).cmp(&(b.network, &b.host, b.port)));
    out
}

/// The hosts of objects that point outside by themselves: an `ExternalName` Service's name,
/// the addresses of hand-written Endpoints and EndpointSlices, a ServiceEntry's hosts.
fn pointing_outside(facts: &[Facts]) -> impl Iterator<Item = Sighting<'_>> {
    facts
        .iter()
        .enumerate()
        .filter(|(_, f)| f.pod.is_none() && matches!(&*f.id.kind, "Service" | "Endpoints" | "EndpointSlice" | "ServiceEntry"))
        .flat_map(|(i, f)| f.mentions.iter().map(move |mention| Sighting { from: i, via: None, mention }))
}

/// Whether a host that named no Service of the input is outside the cluster: not a name of
/// the cluster's own form (`svc.ns.svc`), nor `svc.ns` for a namespace of the input.
fn is_outside(host: &str, own_namespace: Option<&str>, explicit: bool, namespaces: &HashSet<&str, FastHash>) -> bool {
    if is_cluster_name(host) || host == "kubernetes" {
        return false;
    }
    match service_address(host, own_namespace, explicit) {
        Some((Some(namespace), _, _)) if host.split('.').count() == 2 => !namespaces.contains(namespace),
        _ => true,
    }
}

/// Where a host is, and why; `None` for a name that is no host of either network.
fn place(rules: &EndpointRules, host: &str) -> Option<(Network, String)> {
    // A ServiceEntry's `addresses` may be CIDR blocks: the block is where its first address is.
    let address = host.split_once('/').map_or(host, |(address, _)| address);
    if let Ok(ip) = address.parse::<IpAddr>() {
        if !is_routable(ip) {
            return None;
        }
        return Some(match rules.place_of_address(ip) {
            Place::Private(block) => (Network::Private, format!("address in {block}")),
            _ => (Network::Public, "public address".to_owned()),
        });
    }
    Some(match rules.place_of_name(host)? {
        Place::Private(suffix) => (Network::Private, format!("`.{suffix}` is no public suffix")),
        Place::SingleLabel => (
            Network::Private,
            "single-label name that no Service of the input has: a host of the resolver's search domains, or a Service installed apart".to_owned(),
        ),
        Place::Public(tld) => (Network::Public, format!("public `.{tld}` domain")),
    })
}

/// `scheme://host:port` as written, without credentials or path.
fn address(m: &Mention) -> String {
    let host = if m.host.contains(':') && m.port.is_some() { format!("[{}]", m.host) } else { m.host.to_string() };
    let scheme = m.scheme.as_deref().map(|s| format!("{s}://")).unwrap_or_default();
    let port = m.port.map(|p| format!(":{p}")).unwrap_or_default();
    format!("{scheme}{host}{port}")
}

/// Who uses a Service, an Endpoints object or an EndpointSlice: the workloads that call the Service.
struct ServiceUsers<'f> {
    /// Workloads by the Service (namespace, name) they call.
    callers: HashMap<(Option<&'f str>, &'f str), Vec<usize>, FastHash>,
}

impl<'f> ServiceUsers<'f> {
    fn new(facts: &'f [Facts], callers: impl Iterator<Item = (usize, usize)>) -> ServiceUsers<'f> {
        let mut by_service: HashMap<(Option<&str>, &str), Vec<usize>, FastHash> = HashMap::default();
        for (workload, service) in callers {
            let s = &facts[service].id;
            by_service.entry((s.namespace.as_deref(), &s.name)).or_default().push(workload);
        }
        ServiceUsers { callers: by_service }
    }

    /// The workloads that use what object `i` points at: itself when it is a workload, the
    /// callers of the Service it is (or whose endpoints it lists), none for a ServiceEntry.
    fn users_of(&self, facts: &[Facts], i: usize) -> Vec<ObjRef> {
        let f = &facts[i];
        if f.pod.is_some() {
            return vec![f.id.obj_ref()];
        }
        let service = match &*f.id.kind {
            "Service" | "Endpoints" => Some(&*f.id.name),
            // A slice names its Service in a label, kept as its mentions' key.
            "EndpointSlice" => f.mentions.first().and_then(|m| m.key.as_deref()),
            _ => None,
        };
        let callers = service.and_then(|name| self.callers.get(&(f.id.namespace.as_deref(), name)));
        callers.into_iter().flatten().map(|&w| facts[w].id.obj_ref()).collect()
    }
}
