//! The checks of one TLS Secret: its certificate against the cut-over, its key, its chain, the
//! hosts Ingresses serve with it, and what cert-manager wants it to hold.

use base64::Engine as _;
use ferry_model::{Node, Object};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::public_key::PublicKey;

use crate::chain::{self, Trust};
use crate::duration::rfc3339;
use crate::finding::{Finding, Severity};
use crate::key::{self, KeyError};
use crate::scope::{Desired, IssuerRef, Scope, Unit, annotation};
use crate::{Options, Summary};

/// How close to the cut-over an unmanaged certificate may expire before it is worth a warning.
const UNMANAGED_MARGIN: i64 = 30 * 86_400;

/// The summary of one unit and its findings.
pub fn check_unit(unit: &Unit<'_>, scope: &Scope<'_>, trust: &Trust<'_>, options: &Options) -> (Summary, Vec<Finding>) {
    let mut summary = Summary { secret: unit.subject.clone(), managed_by: unit.desired.as_ref().map(managed_by), ..Summary::default() };
    let mut findings = match unit.secret {
        None => vec![missing_secret(unit)],
        Some(secret) => Secret { unit, secret, trust, options }.check(&mut summary),
    };
    if let Some(desired) = &unit.desired {
        findings.extend(issuer_in_scope(desired, unit, scope));
    }
    summary.status = findings.iter().map(|f| f.severity).max().unwrap_or_default();
    (summary, findings)
}

/// What manages a Secret, for the table.
fn managed_by(desired: &Desired) -> String {
    if desired.ingress_shim { format!("{} (ingress-shim)", desired.from) } else { desired.from.to_string() }
}

/// A unit's Secret is not in the input.
fn missing_secret(unit: &Unit<'_>) -> Finding {
    let name = &unit.subject.name;
    match &unit.desired {
        Some(desired) => Finding::new(
            Severity::Fail,
            "secret-missing",
            &unit.subject,
            format!("{} names the Secret `{name}`, which is not in the input: cert-manager will issue a new certificate on the target", desired.from),
            "move the TLS Secret with its Certificate (cert-manager's backup guide: Secrets before Issuers and Certificates)",
        )
        .reissuing(),
        None => {
            let users: Vec<String> = unit.hosts.iter().map(|h| h.ingress.to_string()).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
            Finding::new(
                Severity::Fail,
                "secret-missing",
                &unit.subject,
                format!("{} serve TLS with the Secret `{name}`, which is not in the input", users.join(", ")),
                "move the Secret too; without it the ingress controller serves its default certificate",
            )
        }
    }
}

/// The issuer a Certificate (or ingress-shim) names is in the input.
fn issuer_in_scope(desired: &Desired, unit: &Unit<'_>, scope: &Scope<'_>) -> Option<Finding> {
    let namespace = unit.subject.namespace.as_deref().unwrap_or_default();
    if !desired.issuer.is_cert_manager() {
        let message = format!("{} uses the external issuer {}, which ferry does not check", desired.from, desired.issuer);
        return Some(Finding::new(
            Severity::Info,
            "external-issuer",
            &desired.from,
            message,
            "make sure the external issuer's controller and credentials exist on the target",
        ));
    }
    scope.issuer(namespace, &desired.issuer).is_none().then(|| {
        let message = format!("{} names {}, which is not in the input: cert-manager cannot renew it on the target", desired.from, desired.issuer);
        Finding::new(Severity::Fail, "issuer-missing", &desired.from, message, "move the Issuer or ClusterIssuer (after its Secrets, before the Certificates)")
    })
}

/// The checks of a Secret that is in the input.
struct Secret<'a> {
    unit: &'a Unit<'a>,
    secret: &'a Object,
    trust: &'a Trust<'a>,
    options: &'a Options,
}

impl Secret<'_> {
    fn check(&self, summary: &mut Summary) -> Vec<Finding> {
        let crt = match self.data("tls.crt") {
            Ok(Some(crt)) => crt,
            Ok(None) => {
                return vec![
                    self.finding(Severity::Fail, "crt-missing", "has no `tls.crt`".into(), "a TLS Secret needs tls.crt and tls.key")
                        .reissuing_if(self.managed()),
                ];
            }
            Err(finding) => return vec![*finding],
        };
        let ders = match chain::certificates(&crt) {
            Ok(ders) => ders,
            Err(why) => {
                let finding = self.finding(Severity::Fail, "crt-invalid", format!("tls.crt {why}"), "put the PEM certificate chain in tls.crt, leaf first");
                return vec![finding.reissuing_if(self.managed())];
            }
        };
        let certs = chain::parse(&ders);
        let Some(leaf) = certs.first() else { return Vec::new() };
        summarise(leaf, summary);
        let mut findings = self.dates(leaf);
        findings.extend(self.key(leaf));
        findings.extend(self.chain(&certs));
        findings.extend(self.hosts(leaf));
        if let Some(desired) = &self.unit.desired {
            findings.extend(self.names(leaf, desired));
            findings.extend(self.issuer_annotations(desired));
        }
        findings
    }

    /// Whether cert-manager manages this Secret (its problems then make it issue again).
    fn managed(&self) -> bool {
        self.unit.desired.is_some()
    }

    fn finding(&self, severity: Severity, code: &'static str, message: String, hint: &str) -> Finding {
        Finding::new(severity, code, &self.unit.subject, message, hint)
    }

    /// The decoded value of a key in `data` (or `stringData`); an error finding if it is not base64.
    fn data(&self, key: &str) -> Result<Option<Vec<u8>>, Box<Finding>> {
        if let Some(text) = self.secret.root.at(&["stringData", key]).and_then(Node::as_str) {
            return Ok(Some(text.as_bytes().to_vec()));
        }
        let Some(encoded) = self.secret.root.at(&["data", key]).and_then(Node::as_str) else {
            return Ok(None);
        };
        let invalid = || self.finding(Severity::Fail, "data-invalid", format!("`data.{key}` is not base64"), "Secret data values are base64-encoded");
        base64::engine::general_purpose::STANDARD.decode(encoded.trim()).map(Some).map_err(|_| Box::new(invalid()))
    }

    /// Expiry and validity against the cut-over, and cert-manager's renewal time.
    fn dates(&self, leaf: &X509Certificate<'_>) -> Vec<Finding> {
        let cutover = self.options.cutover;
        let (not_before, not_after) = (leaf.validity().not_before.timestamp(), leaf.validity().not_after.timestamp());
        let (at, until) = (rfc3339(cutover), rfc3339(not_after));
        if not_after <= cutover {
            let hint = "renew it before the migration (on the source), so that a valid certificate moves";
            return vec![
                self.finding(Severity::Fail, "expired", format!("the certificate expires {until}, before the cut-over {at}"), hint)
                    .reissuing_if(self.managed()),
            ];
        }
        let mut findings = Vec::new();
        if not_before > cutover {
            let message = format!("the certificate is valid only from {}, after the cut-over {at}", rfc3339(not_before));
            findings.push(self.finding(Severity::Warn, "not-yet-valid", message, "check the issuing clock, or move the cut-over"));
        }
        match &self.unit.desired {
            Some(desired) if renewal_time(desired, not_before, not_after) <= cutover => {
                let renewal = rfc3339(renewal_time(desired, not_before, not_after));
                let message = format!(
                    "cert-manager renews it at {renewal}, before the cut-over {at}: the target would order a new certificate while DNS still points at the source"
                );
                let hint =
                    "renew it on the source just before moving (`cmctl renew`), so that the moved certificate is fresh; or let the target renew through DNS-01";
                findings.push(self.finding(Severity::Warn, "renewal-before-cutover", message, hint).reissuing());
            }
            None if not_after <= cutover + UNMANAGED_MARGIN => {
                let message = format!("the certificate expires {until}, within 30 days of the cut-over {at}, and nothing renews it");
                findings.push(self.finding(Severity::Warn, "expires-soon", message, "renew it by hand before or soon after the migration"));
            }
            _ => {}
        }
        findings
    }

    /// The private key belongs to the leaf.
    fn key(&self, leaf: &X509Certificate<'_>) -> Option<Finding> {
        let managed = self.managed();
        let hint = "put the private key of the leaf certificate in tls.key (PEM: PKCS#1, PKCS#8 or SEC1)";
        let text = match self.data("tls.key") {
            Ok(Some(text)) => text,
            Ok(None) => {
                return Some(self.finding(Severity::Fail, "key-missing", "has no `tls.key`".into(), hint).reissuing_if(managed));
            }
            Err(finding) => return Some(*finding),
        };
        let private = match key::parse(&text) {
            Ok(private) => private,
            Err(error @ KeyError::Encrypted) => {
                return Some(self.finding(Severity::Fail, "key-encrypted", format!("tls.key {error}"), "decrypt it (`openssl pkey`)"));
            }
            Err(error) => {
                return Some(self.finding(Severity::Fail, "key-invalid", format!("tls.key {error}"), hint).reissuing_if(managed));
            }
        };
        let spki = leaf.public_key();
        let public = key::certificate_public(spki.algorithm.algorithm.as_bytes(), &spki.subject_public_key.data);
        match key::matches(&private.public, &public) {
            Some(true) => None,
            Some(false) => {
                let message = format!("the {} key in tls.key does not belong to the certificate in tls.crt", private.format);
                Some(
                    self.finding(Severity::Fail, "key-mismatch", message, "tls.crt's first certificate must be the leaf of tls.key's key")
                        .reissuing_if(managed),
                )
            }
            None => Some(self.finding(
                Severity::Info,
                "key-unchecked",
                format!("tls.key holds a {} key, which ferry cannot compare with the certificate", private.format),
                "",
            )),
        }
    }

    /// The chain's order, signatures and top.
    fn chain(&self, certs: &[X509Certificate<'_>]) -> Vec<Finding> {
        let ca_crt = self.data("ca.crt").ok().flatten().and_then(|text| chain::certificates(&text).ok()).unwrap_or_default();
        chain::check(certs, &chain::parse(&ca_crt), self.trust, &self.unit.subject)
    }

    /// Every host an Ingress serves with this Secret is named by the leaf.
    fn hosts(&self, leaf: &X509Certificate<'_>) -> Vec<Finding> {
        let names = dns_names(leaf);
        let shown = if names.is_empty() { "no DNS name".to_owned() } else { names.join(", ") };
        self.unit
            .hosts
            .iter()
            .filter(|host| !names.iter().any(|name| covers(name, &host.name)))
            .map(|host| {
                let message = format!("{} serves `{}` with this Secret, but the certificate names {shown}", host.ingress, host.name);
                self.finding(
                    Severity::Fail,
                    "host-not-covered",
                    message,
                    "issue a certificate for the host (add it to the Certificate's dnsNames), or fix the Ingress",
                )
            })
            .collect()
    }

    /// The leaf names what cert-manager asks for: otherwise it issues again.
    fn names(&self, leaf: &X509Certificate<'_>, desired: &Desired) -> Option<Finding> {
        let have = name_set(&dns_names(leaf));
        let want = name_set(&desired.dns_names);
        (have != want).then(|| {
            let message =
                format!("{} asks for [{}] but the certificate names [{}]: cert-manager will issue a new one", desired.from, want.join(", "), have.join(", "));
            self.finding(
                Severity::Fail,
                "names-differ",
                message,
                "make the Certificate's dnsNames (or the Ingress's TLS hosts) match the certificate before moving",
            )
            .reissuing()
        })
    }

    /// The Secret's `cert-manager.io/issuer-*` annotations agree with the issuer reference.
    fn issuer_annotations(&self, desired: &Desired) -> Option<Finding> {
        let name = annotation(self.secret, "cert-manager.io/issuer-name").unwrap_or_default();
        let on_secret = IssuerRef::new(name, annotation(self.secret, "cert-manager.io/issuer-kind"), annotation(self.secret, "cert-manager.io/issuer-group"));
        (on_secret != desired.issuer).then(|| {
            let shown = if name.is_empty() { "no issuer".to_owned() } else { on_secret.to_string() };
            let message = format!(
                "the Secret's cert-manager.io/issuer-* annotations name {shown}, but {} names {}: cert-manager will issue a new certificate",
                desired.from, desired.issuer
            );
            let hint = "set the annotations cert-manager.io/issuer-name, issuer-kind and issuer-group on the Secret to the Certificate's issuerRef";
            self.finding(Severity::Fail, "issuer-annotations", message, hint).reissuing()
        })
    }
}

trait ReissuingIf {
    fn reissuing_if(self, condition: bool) -> Self;
}

impl ReissuingIf for Finding {
    /// Marks the finding as a re-issuance condition when cert-manager manages the Secret.
    fn reissuing_if(self, condition: bool) -> Finding {
        if condition { self.reissuing() } else { self }
    }
}

/// When cert-manager renews: `renewBeforePercentage` or `renewBefore` before `notAfter`, by
/// default a third of the certificate's lifetime before it (2/3 through).
fn renewal_time(desired: &Desired, not_before: i64, not_after: i64) -> i64 {
    let lifetime = not_after - not_before;
    let before = match (desired.renew_before_percentage, desired.renew_before) {
        (Some(percent), _) => lifetime * percent / 100,
        (None, Some(before)) if before < lifetime => before,
        _ => lifetime / 3,
    };
    not_after - before
}

/// The DNS names of a certificate's subjectAltName.
pub fn dns_names(cert: &X509Certificate<'_>) -> Vec<String> {
    let Ok(Some(san)) = cert.subject_alternative_name() else { return Vec::new() };
    san.value.general_names.iter().filter_map(|n| if let GeneralName::DNSName(name) = n { Some((*name).to_owned()) } else { None }).collect()
}

/// Names compared as cert-manager compares them: lower case, sorted, without duplicates.
pub fn name_set(names: &[String]) -> Vec<String> {
    let mut set: Vec<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
    set.sort();
    set.dedup();
    set
}

/// Whether the certificate name `name` covers `host`; a wildcard covers exactly one label.
pub fn covers(name: &str, host: &str) -> bool {
    let (name, host) = (name.to_ascii_lowercase(), host.to_ascii_lowercase());
    if name == host {
        return true;
    }
    match (name.strip_prefix("*."), host.split_once('.')) {
        (Some(parent), Some((label, rest))) => !label.is_empty() && label != "*" && rest == parent,
        _ => false,
    }
}

/// Names, issuer, expiry and key type of the leaf, for the table.
fn summarise(leaf: &X509Certificate<'_>, summary: &mut Summary) {
    summary.names = dns_names(leaf);
    summary.issuer = Some(leaf.issuer().to_string());
    summary.not_after = Some(rfc3339(leaf.validity().not_after.timestamp()));
    summary.key = leaf.public_key().parsed().ok().map(|key| match key {
        PublicKey::RSA(rsa) => format!("RSA {}", rsa.key_size()),
        PublicKey::EC(point) => format!("EC {}", point.key_size()),
        _ => "other".to_owned(),
    });
}

#[cfg(test)]
mod tests {
    use super::covers;

    #[test]
    fn wildcards_cover_one_label() {
        assert!(covers("shop.example.com", "Shop.Example.com"));
        assert!(covers("*.example.com", "shop.example.com"));
        assert!(!covers("*.example.com", "a.shop.example.com"));
        assert!(!covers("*.example.com", "example.com"));
        assert!(!covers("shop.example.com", "*.example.com"));
        assert!(covers("*.example.com", "*.example.com"));
    }
}
