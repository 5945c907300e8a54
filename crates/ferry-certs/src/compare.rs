//! Source and target TLS Secrets compared: the same certificate and key bytes, checked by
//! SHA-256 digest (never shown).

use std::collections::HashMap;

use base64::Engine as _;
use ferry_model::{Node, Object};
use sha2::{Digest, Sha256};

use crate::finding::{Finding, Severity, Subject};

/// The keys that must be identical.
const KEYS: [&str; 2] = ["tls.crt", "tls.key"];

/// A finding for every TLS Secret of `source` that the target lacks or holds with other
/// bytes, and an info finding for each that is identical.
pub fn compare(source: &[Object], target: &[Object]) -> Vec<Finding> {
    let on_target: HashMap<(Option<&str>, &str), &Object> =
        target.iter().filter(|o| is_secret(o)).map(|o| ((o.id.namespace.as_deref(), o.id.name.as_str()), o)).collect();
    let mut findings = Vec::new();
    for secret in source.iter().filter(|o| is_secret(o) && o.root.str_at("type") == Some("kubernetes.io/tls")) {
        let subject = Subject::of(secret);
        let Some(copy) = on_target.get(&(secret.id.namespace.as_deref(), secret.id.name.as_str())) else {
            findings.push(Finding::new(
                Severity::Fail,
                "target-secret-missing",
                &subject,
                "the target has no such Secret",
                "migrate the Secret before the cut-over",
            ));
            continue;
        };
        let differing: Vec<&str> = KEYS.into_iter().filter(|key| digest(secret, key) != digest(copy, key)).collect();
        findings.push(if differing.is_empty() {
            Finding::new(Severity::Info, "target-identical", &subject, "tls.crt and tls.key on the target are byte-identical to the source's", "")
        } else {
            let message = format!(
                "{} on the target differ(s) from the source's (compared by SHA-256): the certificate was changed or issued again",
                differing.join(" and ")
            );
            Finding::new(
                Severity::Fail,
                "target-secret-differs",
                &subject,
                message,
                "find what re-issued it (cert-manager events on the target), then migrate the Secret again",
            )
        });
    }
    findings
}

fn is_secret(object: &Object) -> bool {
    object.id.kind == "Secret" && object.id.group().is_empty()
}

/// SHA-256 of a Secret's decoded value, if it has one.
fn digest(secret: &Object, key: &str) -> Option<[u8; 32]> {
    let bytes = match secret.root.at(&["stringData", key]).and_then(Node::as_str) {
        Some(text) => text.as_bytes().to_vec(),
        None => base64::engine::general_purpose::STANDARD.decode(secret.root.at(&["data", key]).and_then(Node::as_str)?.trim()).ok()?,
    };
    Some(Sha256::digest(&bytes).into())
}
