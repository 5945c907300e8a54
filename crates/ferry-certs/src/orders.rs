//! The new ACME orders that re-issuance would place, per exact set of names, against the ACME
//! server's limit on duplicate certificates (`data/acme-limits.yaml`: Let's Encrypt allows 5
//! per week).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::checks::name_set;
use crate::finding::{Finding, Severity, Subject};
use crate::scope::{Scope, Unit};

/// One row of `data/acme-limits.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Limit {
    /// The ACME server's host.
    server: String,
    /// Its operator's name, for messages.
    name: String,
    /// New certificates for one exact set of names per week.
    duplicates_per_week: usize,
    /// Where the limit is documented.
    #[cfg_attr(not(test), expect(dead_code, reason = "required in every row so the table stays sourced; checked by the tests"))]
    source: String,
}

/// The known limits, parsed on first use.
fn limits() -> &'static [Limit] {
    static LIMITS: OnceLock<Vec<Limit>> = OnceLock::new();
    LIMITS.get_or_init(|| serde_saphyr::from_str(include_str!("../data/acme-limits.yaml")).expect("embedded data/acme-limits.yaml is valid"))
}

/// The limit of the ACME server at `url`, if known.
fn limit_of(url: &str) -> Option<&'static Limit> {
    let host = url.split("://").nth(1).unwrap_or(url).split(['/', ':']).next().unwrap_or_default();
    limits().iter().find(|l| l.server.eq_ignore_ascii_case(host))
}

/// New orders for one set of names at one ACME server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderProjection {
    /// The ACME server.
    pub server: String,
    /// The exact set of names (lower case, sorted).
    pub names: Vec<String>,
    /// Orders one migration would place.
    pub orders: usize,
    /// The weekly limit for this set at this server, where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_per_week: Option<usize>,
    /// The Certificates (or Ingresses) that would order.
    pub from: Vec<Subject>,
}

/// Projects the orders of the units that cert-manager would issue again.
pub fn project(reissued: &[Unit<'_>], scope: &Scope<'_>) -> (Vec<OrderProjection>, Vec<Finding>) {
    let mut by_set: BTreeMap<(String, Vec<String>), Vec<Subject>> = BTreeMap::new();
    for unit in reissued {
        let Some(desired) = &unit.desired else { continue };
        let namespace = unit.subject.namespace.as_deref().unwrap_or_default();
        let server = scope.issuer(namespace, &desired.issuer).and_then(|i| i.acme()).and_then(|acme| acme.str_at("server"));
        if let Some(server) = server {
            by_set.entry((server.to_owned(), name_set(&desired.dns_names))).or_default().push(desired.from.clone());
        }
    }
    let projections: Vec<OrderProjection> = by_set
        .into_iter()
        .map(|((server, names), from)| {
            let limit_per_week = limit_of(&server).map(|l| l.duplicates_per_week);
            OrderProjection { server, names, orders: from.len(), limit_per_week, from }
        })
        .collect();
    let findings = projections.iter().map(finding).collect();
    (projections, findings)
}

fn finding(projection: &OrderProjection) -> Finding {
    let names = projection.names.join(", ");
    let orders = projection.orders;
    let subject = &projection.from[0];
    let hint = "fix the re-issuance conditions above before migrating; every run that re-issues places these orders again";
    match projection.limit_per_week {
        Some(limit) => {
            let severity = if orders > limit {
                Severity::Fail
            } else if orders == limit {
                Severity::Warn
            } else {
                Severity::Info
            };
            let operator = limit_of(&projection.server).map_or("the server", |l| l.name.as_str());
            let message = format!(
                "re-issuance would place {orders} new order(s) for [{names}] at {}; {operator} issues at most {limit} per week for this exact set",
                projection.server
            );
            Finding::new(severity, "duplicate-limit", subject, message, hint)
        }
        None => {
            let message = format!("re-issuance would place {orders} new order(s) for [{names}] at {}", projection.server);
            Finding::new(Severity::Info, "orders-projected", subject, message, hint)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_limit_is_sourced_unique_and_found_by_its_directory_url() {
        let mut seen = std::collections::HashSet::new();
        for limit in limits() {
            assert!(limit.source.starts_with("https://"), "{} needs a source", limit.server);
            assert!(seen.insert(limit.server.as_str()), "{} is listed twice", limit.server);
            assert!(limit.duplicates_per_week > 0);
            assert_eq!(limit_of(&format!("https://{}/directory", limit.server)).map(|l| &l.server), Some(&limit.server));
        }
        assert_eq!(limit_of("https://acme-v02.api.letsencrypt.org/directory").map(|l| l.duplicates_per_week), Some(5));
        assert!(limit_of("https://acme.zerossl.com/v2/DV90").is_none(), "unknown servers have no limit");
        assert!(limit_of("https://evil.example/acme-v02.api.letsencrypt.org").is_none(), "the host is compared, not the text");
    }
}
