//! Certificate chains: parsing `tls.crt`, and checking that the chain is in order (leaf
//! first, then each issuer), that every signature verifies, and that it ends at a
//! self-signed root or at a trusted CA (the Secret's `ca.crt` or the caller's bundle).

use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

use crate::finding::{Finding, Severity, Subject};
use crate::pem;

/// Trusted CA certificates given by the caller, as DER, and what was wrong with the bundle.
#[derive(Debug, Default)]
pub struct Anchors {
    /// DER of each CA certificate.
    pub ders: Vec<Vec<u8>>,
    /// Whether a bundle was given at all.
    pub given: bool,
    problems: Vec<Finding>,
}

impl Anchors {
    /// Parses the caller's bundle (PEM text), if any.
    pub fn parse(bundle: Option<&str>) -> Anchors {
        let Some(text) = bundle else { return Anchors::default() };
        let subject = Subject::new("CABundle", None, "--ca-bundle");
        match certificates(text.as_bytes()) {
            Ok(ders) => Anchors { ders, given: true, problems: Vec::new() },
            Err(why) => {
                let problem =
                    Finding::new(Severity::Fail, "ca-bundle-invalid", &subject, format!("the CA bundle {why}"), "give a file of PEM `CERTIFICATE` blocks");
                Anchors { ders: Vec::new(), given: true, problems: vec![problem] }
            }
        }
    }

    /// What was wrong with the bundle.
    pub fn problems(&self) -> Vec<Finding> {
        self.problems.clone()
    }

    /// The bundle, parsed once for every chain.
    pub fn trust(&self) -> Trust<'_> {
        Trust { bundle: parse(&self.ders), given: self.given }
    }
}

/// The caller's CA bundle, parsed.
pub struct Trust<'a> {
    /// The CA certificates.
    bundle: Vec<X509Certificate<'a>>,
    /// Whether a bundle was given at all.
    given: bool,
}

/// The DER of every `CERTIFICATE` block in `text`, each checked to parse as X.509; the error
/// says what is wrong without quoting the text.
pub fn certificates(text: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let blocks = pem::blocks(text).map_err(|e| match e {
        pem::PemError::None => "holds no PEM block (expected `CERTIFICATE` blocks)".to_owned(),
        pem::PemError::Invalid(why) => format!("is not valid PEM: {why}"),
    })?;
    let mut ders = Vec::new();
    for (index, block) in blocks.into_iter().enumerate() {
        match block.label.as_str() {
            "CERTIFICATE" => match X509Certificate::from_der(&block.contents) {
                Ok(([], _)) => ders.push(block.contents),
                Ok(_) => return Err(format!("has PEM block {} with bytes after its certificate", index + 1)),
                Err(error) => return Err(format!("has PEM block {} that is not an X.509 certificate ({error})", index + 1)),
            },
            label if label.ends_with("PRIVATE KEY") => return Err(format!("holds a private key (PEM block {}) where certificates belong", index + 1)),
            _ => {}
        }
    }
    if ders.is_empty() { Err("holds PEM blocks but no `CERTIFICATE`".to_owned()) } else { Ok(ders) }
}

/// Parses DER already checked by [`certificates`].
pub fn parse(ders: &[Vec<u8>]) -> Vec<X509Certificate<'_>> {
    ders.iter().filter_map(|der| X509Certificate::from_der(der).ok().map(|(_, c)| c)).collect()
}

/// Whether `issuer` issued `child`: names agree and the signature verifies with its key.
fn issued(child: &X509Certificate<'_>, issuer: &X509Certificate<'_>) -> bool {
    child.issuer().as_raw() == issuer.subject().as_raw() && child.verify_signature(Some(issuer.public_key())).is_ok()
}

/// Findings about the chain `certs` (as `tls.crt` holds it), trusting the Secret's own CA
/// certificates (`ca_crt`) and the caller's bundle.
pub fn check(certs: &[X509Certificate<'_>], ca_crt: &[X509Certificate<'_>], trust: &Trust<'_>, subject: &Subject) -> Vec<Finding> {
    if let Some(broken) = (0..certs.len().saturating_sub(1)).find(|&i| !issued(&certs[i], &certs[i + 1])) {
        return vec![out_of_order(certs, broken, subject)];
    }
    let Some(top) = certs.last() else { return Vec::new() };
    if issued(top, top) || ca_crt.iter().chain(&trust.bundle).any(|ca| issued(top, ca)) {
        return Vec::new();
    }
    let message = format!("the chain ends at `{}`, issued by `{}`, which is neither in tls.crt nor in the trusted CAs", top.subject(), top.issuer());
    if trust.given {
        vec![Finding::new(
            Severity::Fail,
            "chain-incomplete",
            subject,
            message,
            "append the missing intermediate certificates to tls.crt, leaf first, or give the right --ca-bundle",
        )]
    } else {
        let hint = "give --ca-bundle with the CA (e.g. your distribution's ca-certificates.crt) to check the chain up to its root";
        vec![Finding::new(Severity::Info, "chain-unverified", subject, message, hint)]
    }
}

/// The finding for a chain whose link `broken` (certificate `broken` to `broken + 1`) fails.
fn out_of_order(certs: &[X509Certificate<'_>], broken: usize, subject: &Subject) -> Finding {
    let name = |c: &X509Certificate<'_>| format!("`{}`", c.subject());
    if let Some(order) = proper_order(certs) {
        let expected: Vec<String> = order.iter().map(|&i| name(&certs[i])).collect();
        let message = format!("tls.crt holds its chain out of order; the order that verifies is {}", expected.join(" → "));
        return Finding::new(
            Severity::Fail,
            "chain-order",
            subject,
            message,
            "put the leaf first, then each certificate's issuer (TLS clients expect this order)",
        );
    }
    let (child, parent) = (&certs[broken], &certs[broken + 1]);
    let message = if child.issuer().as_raw() == parent.subject().as_raw() {
        format!("certificate {} ({}) does not verify with the key of certificate {} ({})", broken + 1, name(child), broken + 2, name(parent))
    } else {
        format!("certificate {} ({}) is issued by `{}`, but certificate {} is {}", broken + 1, name(child), child.issuer(), broken + 2, name(parent))
    };
    Finding::new(Severity::Fail, "chain-broken", subject, message, "rebuild tls.crt from the issuer's chain: leaf first, then each issuer")
}

/// An order of all of `certs` in which each certificate is issued by the next, if there is one.
fn proper_order(certs: &[X509Certificate<'_>]) -> Option<Vec<usize>> {
    (0..certs.len()).find_map(|start| {
        let mut order = vec![start];
        while order.len() < certs.len() {
            let last = &certs[*order.last()?];
            let next = (0..certs.len()).find(|i| !order.contains(i) && issued(last, &certs[*i]))?;
            order.push(next);
        }
        Some(order)
    })
}
