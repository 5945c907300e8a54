//! The checks file (docs/smoke.md): user-defined requests with what their answers must hold,
//! parsed and validated into [`Request`]s. Every error names the file, the check's index and
//! the field.
//!
//! ```yaml
//! checks:
//!   - name: login page            # optional, for the report
//!     host: shop.example.com      # required: TLS SNI, certificate name and Host header
//!     path: /login?next=/         # default /
//!     method: GET                 # default GET
//!     headers: {X-Canary: "1"}    # optional
//!     expect_status: 200          # default: below 400, or the old side's status when compared
//!     expect_body: Sign in        # optional: a text the body must contain
//!     compare_body: false         # default true: the body's SHA-256 must equal the old side's
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::address::check_host;
use crate::targets::{Expect, Origin, Request};

/// The methods a check may use.
const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
/// Headers ferry sets itself: the Host is the check's `host`, the framing is HTTP's.
const RESERVED_HEADERS: [&str; 4] = ["host", "content-length", "transfer-encoding", "connection"];

/// A checks file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChecksError {
    /// Not YAML of the checks file's shape (wrong type, unknown field, bad indentation).
    #[error("{file}: {message}")]
    Syntax {
        /// The file.
        file: String,
        /// What the YAML reader said, with the line.
        message: String,
    },
    /// A field of one check has a value that cannot be used.
    #[error("{file}: checks[{index}].{field}: {why}")]
    Invalid {
        /// The file.
        file: String,
        /// The check's position in `checks`, from 0.
        index: usize,
        /// The field.
        field: &'static str,
        /// What is wrong.
        why: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    checks: Vec<Check>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Check {
    #[serde(default)]
    name: Option<String>,
    host: String,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    expect_status: Option<u16>,
    #[serde(default)]
    expect_body: Option<String>,
    #[serde(default)]
    compare_body: Option<bool>,
}

/// The requests of a checks file's `text`; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<Vec<Request>, ChecksError> {
    let parsed: File = serde_saphyr::from_str(text).map_err(|e| ChecksError::Syntax { file: file.to_owned(), message: e.to_string() })?;
    if parsed.checks.is_empty() {
        return Err(ChecksError::Syntax { file: file.to_owned(), message: "`checks` is empty: list at least one check".into() });
    }
    parsed.checks.into_iter().enumerate().map(|(index, check)| request(check, index, file)).collect()
}

/// One check, validated.
fn request(check: Check, index: usize, file: &str) -> Result<Request, ChecksError> {
    let invalid = |field: &'static str, why: String| ChecksError::Invalid { file: file.to_owned(), index, field, why };
    check_host(&check.host).map_err(|why| invalid("host", why))?;
    let path = check.path.unwrap_or_else(|| "/".into());
    if !path.starts_with('/') || path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("path", format!("`{path}` must start with `/` and hold no spaces (encode them as %20)")));
    }
    let method = check.method.unwrap_or_else(|| "GET".into()).to_ascii_uppercase();
    if !METHODS.contains(&method.as_str()) {
        return Err(invalid("method", format!("`{method}` is not one of {}", METHODS.join(", "))));
    }
    let headers = check.headers.into_iter().map(|(name, value)| header(name, value).map_err(|why| invalid("headers", why))).collect::<Result<_, _>>()?;
    if let Some(status) = check.expect_status.filter(|s| !(100..=599).contains(s)) {
        return Err(invalid("expect_status", format!("{status} is not an HTTP status (100-599)")));
    }
    if check.expect_body.as_deref() == Some("") {
        return Err(invalid("expect_body", "is empty: leave it out, or give a text the body must contain".into()));
    }
    let expect = Expect { status: check.expect_status, body: check.expect_body, compare_body: check.compare_body.unwrap_or(true) };
    Ok(Request { origin: Origin::Check { index, name: check.name }, method, host: check.host.to_ascii_lowercase(), path, headers, expect })
}

/// A header a check may send.
fn header(name: String, value: String) -> Result<(String, String), String> {
    http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| format!("`{name}` is not a header name"))?;
    if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
        return Err(format!("`{name}` is set by ferry (the Host header is the check's `host`)"));
    }
    http::HeaderValue::from_str(&value).map_err(|_| format!("the value of `{name}` holds characters a header cannot carry"))?;
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_check_and_its_defaults() {
        let text = "checks:\n  - name: login\n    host: Shop.Example.com\n    path: /login?next=/\n    method: post\n    headers: {X-Canary: \"1\", Accept: text/html}\n    expect_status: 200\n    expect_body: Sign in\n    compare_body: false\n  - host: api.example.com\n";
        let requests = parse(text, "checks.yaml").unwrap();
        let login = &requests[0];
        assert_eq!((login.method.as_str(), login.host.as_str(), login.path.as_str()), ("POST", "shop.example.com", "/login?next=/"));
        assert_eq!(login.headers, [("Accept".to_owned(), "text/html".to_owned()), ("X-Canary".to_owned(), "1".to_owned())]);
        assert_eq!(login.expect, Expect { status: Some(200), body: Some("Sign in".into()), compare_body: false });
        assert_eq!(login.origin.label(), "check 0 (login)");
        let shown = serde_json::to_string(login).unwrap();
        assert!(shown.contains(r#""headers":["Accept","X-Canary"]"#) && !shown.contains("text/html"), "header values stay out of reports: {shown}");
        let plain = &requests[1];
        assert_eq!((plain.method.as_str(), plain.path.as_str()), ("GET", "/"));
        assert_eq!(plain.expect, Expect { status: None, body: None, compare_body: true });
    }

    #[test]
    fn each_bad_field_is_named_with_the_file_and_the_index() {
        let error = |check: &str| parse(&format!("checks:\n  - host: ok.example.com\n  - {check}\n"), "smoke.yaml").unwrap_err().to_string();
        assert_eq!(
            error("{host: 127.0.0.3}"),
            "smoke.yaml: checks[1].host: `127.0.0.3` is an IP address; give the host name clients use (it is sent as TLS SNI and Host)"
        );
        assert!(error("{host: a.test, path: login}").starts_with("smoke.yaml: checks[1].path: `login` must start with `/`"));
        assert!(error("{host: a.test, method: FETCH}").starts_with("smoke.yaml: checks[1].method: `FETCH` is not one of GET"));
        assert!(error("{host: a.test, expect_status: 700}").starts_with("smoke.yaml: checks[1].expect_status: 700 is not an HTTP status"));
        assert!(error("{host: a.test, headers: {Host: b.test}}").starts_with("smoke.yaml: checks[1].headers: `Host` is set by ferry"));
        assert!(error("{host: a.test, headers: {\"bad name\": x}}").starts_with("smoke.yaml: checks[1].headers: `bad name` is not a header name"));
        assert!(error("{host: a.test, expect_body: ''}").starts_with("smoke.yaml: checks[1].expect_body: is empty"));
    }

    #[test]
    fn wrong_shapes_and_unknown_fields_are_syntax_errors_with_the_file() {
        let syntax = |text: &str| match parse(text, "smoke.yaml") {
            Err(ChecksError::Syntax { file, message }) => format!("{file}: {message}"),
            other => panic!("expected a syntax error, got {other:?}"),
        };
        assert!(syntax("checks:\n  - host: a.test\n    expect_stauts: 200\n").contains("expect_stauts"));
        assert!(syntax("checks:\n  - host: a.test\n    expect_status: ok\n").contains("smoke.yaml"));
        assert!(syntax("checks:\n  - path: /\n").contains("host"));
        assert!(syntax("checks: []\n").contains("`checks` is empty"));
        assert!(syntax("- host: a.test\n").starts_with("smoke.yaml: "));
    }
}
