//! What the transformation tells the user about one object: [`Note`]s with a
//! severity, a stable code and the field they concern. Notes are data; the
//! CLI decides how to print them.

use std::fmt;

use serde::Serialize;

/// How much a note matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Something ferry changed on purpose, for the record.
    Info,
    /// A change the user should review: behaviour may differ on the target.
    Warning,
    /// The object cannot be migrated as it is (no successor API, a failing patch, ...).
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One remark about one object.
///
/// Codes are stable identifiers, listed in `docs/transform-rules.md`:
/// `not-migrated`, `kept-user-set`, `converted`, `default-kept`,
/// `default-changed`, `field-removed`, `behaviour-change`, `not-structural`,
/// `no-successor`, `no-converter`, `invalid-object`, `rule-applied`,
/// `rule-failed`, `namespace-selector`, `excluded`, `not-built-in`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    /// How much it matters.
    pub severity: Severity,
    /// Stable identifier of the kind of remark.
    pub code: &'static str,
    /// The field concerned, as a JSON pointer (`/spec/rules/0/http/paths/1/pathType`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The rule of `ferry.yaml` the note is about (`images[0]`, `namespaces.shop-legacy`, a rule's `name`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// For the user.
    pub message: String,
}

impl Note {
    /// A note of `severity` about the whole object.
    pub fn new(severity: Severity, code: &'static str, message: impl Into<String>) -> Note {
        Note { severity, code, field: None, rule: None, message: message.into() }
    }

    /// An [`Severity::Info`] note.
    pub fn info(code: &'static str, message: impl Into<String>) -> Note {
        Note::new(Severity::Info, code, message)
    }

    /// A [`Severity::Warning`] note.
    pub fn warning(code: &'static str, message: impl Into<String>) -> Note {
        Note::new(Severity::Warning, code, message)
    }

    /// An [`Severity::Error`] note.
    pub fn error(code: &'static str, message: impl Into<String>) -> Note {
        Note::new(Severity::Error, code, message)
    }

    /// The same note, about the field at JSON pointer `field`.
    pub fn at(mut self, field: impl Into<String>) -> Note {
        self.field = Some(field.into());
        self
    }

    /// The same note, about the rule `rule`.
    pub fn by(mut self, rule: impl Into<String>) -> Note {
        self.rule = Some(rule.into());
        self
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{}]", self.severity, self.code)?;
        if let Some(field) = &self.field {
            write!(f, " {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}
