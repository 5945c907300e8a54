//! What a server presented: its leaf certificate described for the report (names, issuer,
//! validity, fingerprint; never the body), and the problems the leaf itself shows for a host
//! (names that do not cover it, expired, not yet valid, self-signed).

use serde::Serialize;
use sha2::{Digest as _, Sha256};
use x509_parser::prelude::{FromDer as _, GeneralName, X509Certificate};

/// A leaf certificate as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Presented {
    /// The subject, e.g. `CN=shop.example.com`.
    pub subject: String,
    /// The issuer.
    pub issuer: String,
    /// The DNS names and IP addresses of its subjectAltName.
    pub names: Vec<String>,
    /// `notBefore`, RFC 3339.
    pub not_before: String,
    /// `notAfter`, RFC 3339.
    pub not_after: String,
    /// Whether it is signed by its own key (a self-signed certificate).
    pub self_signed: bool,
    /// The SHA-256 of its DER encoding, hex.
    pub sha256: String,
    #[serde(skip)]
    validity: (i64, i64),
}

impl Presented {
    /// Describes a DER certificate; `None` when it cannot be parsed.
    pub fn parse(der: &[u8]) -> Option<Presented> {
        let (_, cert) = X509Certificate::from_der(der).ok()?;
        let names = cert
            .subject_alternative_name()
            .ok()
            .flatten()
            .map(|san| {
                san.value
                    .general_names
                    .iter()
                    .filter_map(|name| match name {
                        GeneralName::DNSName(dns) => Some((*dns).to_owned()),
                        GeneralName::IPAddress(bytes) => ip_text(bytes),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let validity = (cert.validity().not_before.timestamp(), cert.validity().not_after.timestamp());
        let self_signed = cert.subject() == cert.issuer() && cert.verify_signature(None).is_ok();
        Some(Presented {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            names,
            not_before: rfc3339(validity.0),
            not_after: rfc3339(validity.1),
            self_signed,
            sha256: hex(&Sha256::digest(der)),
            validity,
        })
    }

    /// Whether its names cover `host`.
    pub fn covers(&self, host: &str) -> bool {
        self.names.iter().any(|name| ferry_certs::covers(name, host))
    }

    /// Whether it has expired at `now` (seconds since the epoch).
    pub fn expired(&self, now: i64) -> bool {
        now > self.validity.1
    }

    /// Whether it is not valid yet at `now`.
    pub fn not_yet_valid(&self, now: i64) -> bool {
        now < self.validity.0
    }

    /// Its names for a message: `[a.test, b.test]`, or `no DNS names (subject CN=…)`.
    pub fn names_text(&self) -> String {
        if self.names.is_empty() { format!("no subjectAltName (subject {})", self.subject) } else { format!("[{}]", self.names.join(", ")) }
    }
}

fn ip_text(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        4 => Some(std::net::Ipv4Addr::from(<[u8; 4]>::try_from(bytes).ok()?).to_string()),
        16 => Some(std::net::Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?).to_string()),
        _ => None,
    }
}

/// Seconds since the epoch as RFC 3339.
pub(crate) fn rfc3339(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds).map(|t| t.to_string()).unwrap_or_else(|_| seconds.to_string())
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
