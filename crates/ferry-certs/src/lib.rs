//! TLS certificates before a migration: what must move for certificates to keep working on
//! the target without being issued again, and what would make cert-manager issue them anew.
//!
//! [`check`] takes objects (manifests, a cluster or an archive, read by the caller) and finds
//! TLS Secrets, cert-manager `Certificate`s, `Issuer`s and `ClusterIssuer`s, the ACME account
//! keys and solver credentials those issuers name, and the Ingresses that serve the Secrets.
//! Each certificate is parsed as X.509 and checked: expiry and cert-manager's renewal time
//! against the cut-over, the private key against the leaf, the chain's order and signatures up
//! to a self-signed root or a given CA bundle, the names the Ingresses serve, and the Secret's
//! issuer annotations against the Certificate (cert-manager's own re-issuance triggers, after
//! <https://cert-manager.io/docs/usage/certificate/#reissuance-triggered-by-expiry-renewal>).
//! Where any re-issuance condition holds, the new ACME orders are projected against Let's
//! Encrypt's duplicate-certificate limit. [`compare`] checks that a target holds the same
//! certificate and key bytes as the source.
//!
//! Pure: no I/O. No finding ever holds a certificate body or a key, only names, dates and
//! what is wrong.
//!
//! X.509 comes from `x509-parser` (with signatures checked through ring, already linked for
//! the cluster client): it reads names, SANs, validity and the public key of each certificate
//! and verifies one certificate against another, which is what telling an out-of-order chain
//! from a broken one needs. `rustls-webpki` only answers whether a whole path to a trust anchor
//! verifies, and `x509-cert` would need a signature crate per algorithm. Private keys are read
//! with a few lines of DER (`der.rs`, `key.rs`) and compared with the leaf's public key.

mod chain;
mod checks;
mod compare;
mod der;
mod duration;
mod finding;
mod issuers;
mod key;
mod orders;
mod pem;
mod scope;

pub use checks::covers;
pub use compare::compare;
pub use finding::{Finding, Severity, Subject};
pub use orders::OrderProjection;
use serde::Serialize;

use ferry_model::Object;

/// What the caller decides.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// When traffic moves to the target, in seconds since the Unix epoch.
    pub cutover: i64,
    /// Trusted CA certificates (PEM text) that chains may end at, besides self-signed roots.
    pub ca_bundle: Option<String>,
    /// The namespaces the objects were read from (all when empty): an issuer's Secret in
    /// another namespace is noted as not checked rather than reported missing.
    pub namespaces: Vec<String>,
}

/// Everything [`check`] found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// One row per TLS Secret (or Certificate whose Secret is missing), for a table.
    pub certificates: Vec<Summary>,
    /// New ACME orders that re-issuance would place, per exact name set.
    pub orders: Vec<OrderProjection>,
    /// Findings, failing first.
    pub findings: Vec<Finding>,
}

impl Report {
    /// Whether any finding fails.
    pub fn failing(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Fail)
    }

    /// Adds findings (from [`compare`], say), keeping failing ones first.
    pub fn add(&mut self, findings: impl IntoIterator<Item = Finding>) {
        self.findings.extend(findings);
        finding::sort(&mut self.findings);
    }

    /// Findings that make cert-manager issue a certificate anew.
    pub fn reissuing(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.reissue)
    }
}

/// A certificate as the table shows it: names and dates, never its body.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// The TLS Secret.
    pub secret: Subject,
    /// The cert-manager Certificate that manages it (`namespace/name`), or the Ingress whose
    /// ingress-shim does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed_by: Option<String>,
    /// DNS names of the leaf.
    pub names: Vec<String>,
    /// The leaf's issuer, as a distinguished name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The leaf's `notAfter`, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_after: Option<String>,
    /// Key algorithm of the leaf (`RSA 2048`, `EC P-256`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The worst finding about it.
    pub status: Severity,
}

/// Checks every certificate in `objects`.
pub fn check(objects: &[Object], options: &Options) -> Report {
    let scope = scope::Scope::of(objects);
    let anchors = chain::Anchors::parse(options.ca_bundle.as_deref());
    let mut report = Report::default();
    report.findings.extend(anchors.problems());
    let trust = anchors.trust();
    let mut reissued = Vec::new();
    for unit in scope.units() {
        let (summary, findings) = checks::check_unit(&unit, &scope, &trust, options);
        if findings.iter().any(|f| f.reissue) {
            reissued.push(unit);
        }
        report.certificates.push(summary);
        report.findings.extend(findings);
    }
    report.findings.extend(issuers::check(&scope, &options.namespaces));
    let (orders, findings) = orders::project(&reissued, &scope);
    report.orders = orders;
    report.findings.extend(findings);
    finding::sort(&mut report.findings);
    report
}
