//! Findings: what is wrong or worth knowing about one object, with what to do about it.

use ferry_model::Object;
use serde::Serialize;

/// How much a finding matters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; nothing to do.
    #[default]
    Info,
    /// Needs attention before the cut-over.
    Warn,
    /// Breaks TLS on the target, or makes cert-manager issue the certificate again.
    Fail,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warn => "warn",
            Severity::Fail => "fail",
        })
    }
}

/// The object a finding is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Subject {
    /// Kind, e.g. `Secret` or `Certificate`.
    pub kind: String,
    /// Namespace, for namespaced objects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
}

impl Subject {
    /// The subject naming `object`.
    pub fn of(object: &Object) -> Subject {
        Subject { kind: object.id.kind.clone(), namespace: object.id.namespace.clone(), name: object.id.name.clone() }
    }

    /// A subject by kind, namespace and name.
    pub fn new(kind: &str, namespace: Option<&str>, name: &str) -> Subject {
        Subject { kind: kind.to_owned(), namespace: namespace.map(str::to_owned), name: name.to_owned() }
    }
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{ns}/{}", self.kind, self.name),
            None => write!(f, "{}/{}", self.kind, self.name),
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Fail, warn or info.
    pub severity: Severity,
    /// Stable, machine-readable code, e.g. `key-mismatch`.
    pub code: &'static str,
    /// The object concerned.
    pub object: Subject,
    /// What was found (names, dates; never a certificate body or a key).
    pub message: String,
    /// What to do about it.
    pub hint: String,
    /// Whether this makes cert-manager issue the certificate again (a new ACME order).
    pub reissue: bool,
}

impl Finding {
    /// A finding of `severity`.
    pub fn new(severity: Severity, code: &'static str, object: &Subject, message: impl Into<String>, hint: impl Into<String>) -> Finding {
        Finding { severity, code, object: object.clone(), message: message.into(), hint: hint.into(), reissue: false }
    }

    /// Marks the finding as a condition that makes cert-manager issue the certificate again.
    pub fn reissuing(mut self) -> Finding {
        self.reissue = true;
        self
    }
}

/// Failing findings first, then by object and code.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| a.object.cmp(&b.object)).then_with(|| a.code.cmp(b.code)));
}
