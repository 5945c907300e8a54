//! The external-endpoints section's rows, built once from the assessment so that the terminal,
//! Markdown and HTML reports show the same content (each renderer only formats the cells).

use ferry_analysis::{Assessment, ExternalEndpoint};

/// The section's title.
pub(crate) const TITLE: &str = "External endpoints";

/// What the section says before its table.
pub(crate) const INTRO: &str = "Hosts, addresses and URLs outside the cluster that workloads use (managed cloud services are listed with the cloud dependencies): the target needs a route to each private one (VPN, peering) and egress to each public one. `ferry preflight` says how to test each from the target.";

/// What the section says when the input names none.
pub(crate) const NONE: &str = "None: the workloads name no host outside the cluster.";

/// The column headers.
pub(crate) const HEADERS: [&str; 6] = ["Address", "Network", "Protocol", "Object", "Where", "Used by"];

/// One row per endpoint, as plain text: address, network with its reason, protocol, the
/// object where it is first written, where, and the workloads that use it.
pub(crate) fn cells(endpoint: &ExternalEndpoint) -> [String; 6] {
    let users: Vec<&str> = endpoint.used_by.iter().map(|u| u.name.as_str()).collect();
    [
        endpoint.address.to_string(),
        format!("{} ({})", endpoint.network.label(), endpoint.reason),
        endpoint.protocol.as_deref().unwrap_or("-").to_owned(),
        endpoint.object.to_string(),
        endpoint.evidence.to_string(),
        if users.is_empty() { "no workload in the input".to_owned() } else { users.join(", ") },
    ]
}

/// The endpoints of an assessment, private ones first (as the assessment orders them).
pub(crate) fn rows(a: &Assessment) -> impl Iterator<Item = [String; 6]> + '_ {
    a.endpoints.iter().map(cells)
}
