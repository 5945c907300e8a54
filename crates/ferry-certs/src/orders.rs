//! The new ACME orders that re-issuance would place, per exact set of names, against Let's
//! Encrypt's limit of 5 duplicate certificates per week
//! (<https://letsencrypt.org/docs/rate-limits/#new-certificates-per-exact-set-of-hostnames>).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::checks::name_set;
use crate::finding::{Finding, Severity, Subject};
use crate::scope::{Scope, Unit};

/// Certificates Let's Encrypt issues per exact set of names per week.
pub const DUPLICATE_LIMIT_PER_WEEK: usize = 5;

/// Let's Encrypt's production ACME server, to which the limit applies.
const LETS_ENCRYPT: &str = "acme-v02.api.letsencrypt.org";

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
        let server = scope
            .issuer(namespace, &desired.issuer)
            .and_then(|i| i.acme())
            .and_then(|acme| acme.str_at("server"));
        if let Some(server) = server {
            by_set
                .entry((server.to_owned(), name_set(&desired.dns_names)))
                .or_default()
                .push(desired.from.clone());
        }
    }
    let projections: Vec<OrderProjection> = by_set
        .into_iter()
        .map(|((server, names), from)| {
            let limit_per_week = server.contains(LETS_ENCRYPT).then_some(DUPLICATE_LIMIT_PER_WEEK);
            OrderProjection {
                server,
                names,
                orders: from.len(),
                limit_per_week,
                from,
            }
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
            let message = format!(
                "re-issuance would place {orders} new order(s) for [{names}] at {}; Let's Encrypt issues at most {limit} per week for this exact set",
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
