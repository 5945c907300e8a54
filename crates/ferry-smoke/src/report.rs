//! Judging answers (pure): each request's answer from the new side, and the old side's when
//! compared, against what the request expects, with one precise problem per thing that is
//! wrong; the report, its counts and the evidence file `ferry verify --evidence` reads.

use std::net::SocketAddr;

use serde::Serialize;
use serde_json::{Value, json};

use crate::certificate::Presented;
use crate::targets::{Request, Skipped};

/// What went wrong, as a stable code for pipelines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    /// The certificate's names do not cover the host.
    WrongCertificate,
    /// The certificate is self-signed and not trusted.
    SelfSigned,
    /// The chain does not end at a trusted root.
    Untrusted,
    /// The certificate has expired.
    Expired,
    /// The certificate is not valid yet.
    NotYetValid,
    /// Another TLS failure (handshake alert, protocol).
    Tls,
    /// Nothing listens at the address.
    Refused,
    /// No answer in time.
    Timeout,
    /// Another connection failure.
    Connection,
    /// The status is not the one expected.
    Status,
    /// The status differs from the old side's.
    StatusDiffers,
    /// The body lacks the expected text.
    Body,
    /// The body differs from the old side's.
    BodyDiffers,
    /// The old side could not be asked, so nothing was compared.
    OldSide,
    /// No address is known for the host.
    NoAddress,
}

/// One thing wrong with an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// What kind of problem.
    pub code: Code,
    /// What exactly, for people.
    pub message: String,
}

impl Problem {
    /// A problem of `code`.
    pub fn new(code: Code, message: impl Into<String>) -> Problem {
        Problem { code, message: message.into() }
    }
}

/// A body received: its digest and size (never its text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Body {
    /// SHA-256 of the whole body, hex.
    pub sha256: String,
    /// Its length.
    pub bytes: u64,
    /// Its first [`crate::probe::BODY_SEARCHED`] bytes as text, searched for the expected text.
    #[serde(skip)]
    pub head: String,
}

/// What one request to one address came back with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exchange {
    /// Where it went.
    pub address: SocketAddr,
    /// When it was sent, RFC 3339.
    pub at: String,
    /// The status, if an answer came.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// From sending to the end of the body (or the failure), in milliseconds.
    pub latency_ms: u64,
    /// The body, if it was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Body>,
    /// The leaf certificate the server presented.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<Presented>,
    /// Why no answer came (TLS, connection), if so.
    #[serde(skip)]
    pub failure: Vec<Problem>,
}

/// The verdict on one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// The request.
    pub request: Request,
    /// Whether everything held.
    pub passed: bool,
    /// What did not.
    pub problems: Vec<Problem>,
    /// The new side's answer (none when no address is known).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<Exchange>,
    /// The old side's answer, when compared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<Exchange>,
}

/// Judges the answers to `request`: `new` (none when there was no address), `old` when compared.
pub fn judge(request: &Request, new: Option<Exchange>, old: Option<Exchange>) -> Outcome {
    let mut problems = Vec::new();
    match &new {
        None => problems.push(Problem::new(Code::NoAddress, format!("no address for `{}`: give --address or --resolve", request.host))),
        Some(new) if !new.failure.is_empty() => problems.extend(new.failure.iter().cloned()),
        Some(new) => problems.extend(answer_problems(request, new, old.as_ref().filter(|old| old.failure.is_empty()))),
    }
    if let Some(failure) = old.as_ref().and_then(|old| old.failure.first()) {
        problems.push(Problem::new(Code::OldSide, format!("the old side could not be compared: {}", failure.message)));
    }
    Outcome { request: request.clone(), passed: problems.is_empty(), problems, new, old }
}

/// The problems of an answer that came: status, expected text, comparison with the old side.
fn answer_problems(request: &Request, new: &Exchange, old: Option<&Exchange>) -> Vec<Problem> {
    let mut problems = Vec::new();
    let status = new.status.unwrap_or_default();
    match (request.expect.status, old.and_then(|old| old.status)) {
        (Some(expected), _) if status != expected => problems.push(Problem::new(Code::Status, format!("status {status}, expected {expected}"))),
        (Some(_), _) => {}
        (None, Some(old_status)) if status != old_status => {
            problems.push(Problem::new(Code::StatusDiffers, format!("status {status}, the old side answered {old_status}")));
        }
        (None, Some(_)) => {}
        (None, None) if status >= 400 => problems.push(Problem::new(Code::Status, format!("status {status}, expected below 400"))),
        (None, None) => {}
    }
    if let Some(expected) = &request.expect.body
        && !new.body.as_ref().is_some_and(|body| body.head.contains(expected.as_str()))
    {
        problems.push(Problem::new(Code::Body, format!("the body does not contain `{expected}`")));
    }
    let compared = old.filter(|old| request.expect.compare_body && request.method != "HEAD" && old.status == new.status);
    if let (Some(old_body), Some(new_body)) = (compared.and_then(|old| old.body.as_ref()), new.body.as_ref())
        && old_body.sha256 != new_body.sha256
    {
        problems.push(Problem::new(
            Code::BodyDiffers,
            format!(
                "the body differs from the old side's: sha256 {}… ({} bytes), old {}… ({} bytes)",
                &new_body.sha256[..12],
                new_body.bytes,
                &old_body.sha256[..12],
                old_body.bytes
            ),
        ));
    }
    problems
}

/// Everything a smoke test found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// One verdict per request, in the order asked.
    pub outcomes: Vec<Outcome>,
    /// Ingress hosts and paths not requested, and why.
    pub skipped: Vec<Skipped>,
    /// Notes on how addresses were chosen.
    pub notes: Vec<String>,
}

impl Report {
    /// Whether any request failed.
    pub fn failing(&self) -> bool {
        self.outcomes.iter().any(|o| !o.passed)
    }

    /// Passed and failed requests.
    pub fn counts(&self) -> (usize, usize) {
        let passed = self.outcomes.iter().filter(|o| o.passed).count();
        (passed, self.outcomes.len() - passed)
    }

    /// The evidence file (`ferry.dev/v1alpha1` `Evidence`, step `smoke`) that `ferry verify
    /// --evidence` takes into its verdict: one check per request, naming its Ingress, with the
    /// whole outcome beside it.
    pub fn evidence(&self) -> Value {
        let checks: Vec<Value> = self
            .outcomes
            .iter()
            .map(|outcome| {
                let object = match &outcome.request.origin {
                    crate::Origin::Ingress { object } => json!(object),
                    crate::Origin::Check { .. } => Value::Null,
                };
                let mut check = json!({"passed": outcome.passed, "detail": detail(outcome), "smoke": outcome});
                if !object.is_null() {
                    check["object"] = object;
                }
                check
            })
            .collect();
        json!({"apiVersion": "ferry.dev/v1alpha1", "kind": "Evidence", "step": "smoke", "checks": checks})
    }
}

/// One line on an outcome: the request, where it went, and what came back or went wrong.
pub fn detail(outcome: &Outcome) -> String {
    let request = &outcome.request;
    let via = outcome.new.as_ref().map(|new| format!(" via {}", new.address)).unwrap_or_default();
    let what = if outcome.passed {
        let new = outcome.new.as_ref();
        format!("status {} in {} ms", new.and_then(|n| n.status).unwrap_or_default(), new.map_or(0, |n| n.latency_ms))
    } else {
        outcome.problems.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join("; ")
    };
    format!("{} {}{via}: {what}", request.method, request.url())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::{Expect, Origin};

    fn request(expect: Expect) -> Request {
        Request { origin: Origin::Check { index: 0, name: None }, method: "GET".into(), host: "a.test".into(), path: "/".into(), headers: Vec::new(), expect }
    }

    fn answer(status: u16, body: &str) -> Exchange {
        let body = Body { sha256: crate::certificate::hex(&<sha2::Sha256 as sha2::Digest>::digest(body)), bytes: body.len() as u64, head: body.into() };
        Exchange {
            address: "127.0.0.3:443".parse().unwrap(),
            at: String::new(),
            status: Some(status),
            latency_ms: 3,
            body: Some(body),
            certificate: None,
            failure: Vec::new(),
        }
    }

    fn codes(outcome: &Outcome) -> Vec<Code> {
        outcome.problems.iter().map(|p| p.code).collect()
    }

    const ANY: Expect = Expect { status: None, body: None, compare_body: true };

    #[test]
    fn statuses_are_judged_against_the_expectation_or_the_old_side() {
        assert!(judge(&request(ANY), Some(answer(301, "")), None).passed);
        let failed = judge(&request(ANY), Some(answer(502, "")), None);
        assert_eq!((codes(&failed), failed.problems[0].message.as_str()), (vec![Code::Status], "status 502, expected below 400"));
        assert!(judge(&request(ANY), Some(answer(404, "x")), Some(answer(404, "x"))).passed, "the same 404 as the old side passes");
        assert_eq!(codes(&judge(&request(ANY), Some(answer(404, "x")), Some(answer(200, "x")))), [Code::StatusDiffers]);
        let exact = Expect { status: Some(201), ..ANY };
        assert_eq!(judge(&request(exact), Some(answer(200, "")), Some(answer(200, ""))).problems[0].message, "status 200, expected 201");
    }

    #[test]
    fn bodies_must_hold_the_text_and_match_the_old_side_unless_told_otherwise() {
        let text = Expect { body: Some("welcome".into()), ..ANY };
        assert!(judge(&request(text.clone()), Some(answer(200, "welcome home")), None).passed);
        assert_eq!(codes(&judge(&request(text), Some(answer(200, "go away")), None)), [Code::Body]);
        let differs = judge(&request(ANY), Some(answer(200, "new")), Some(answer(200, "old")));
        assert_eq!(codes(&differs), [Code::BodyDiffers]);
        assert!(differs.problems[0].message.contains("(3 bytes), old"), "{}", differs.problems[0].message);
        let dynamic = Expect { compare_body: false, ..ANY };
        assert!(judge(&request(dynamic), Some(answer(200, "new")), Some(answer(200, "old"))).passed);
    }

    #[test]
    fn failures_of_either_side_and_missing_addresses_fail_with_their_reason() {
        let mut refused = answer(200, "");
        refused.failure = vec![Problem::new(Code::Refused, "connection refused by 127.0.0.3:443")];
        assert_eq!(codes(&judge(&request(ANY), Some(refused.clone()), None)), [Code::Refused]);
        let old_down = judge(&request(ANY), Some(answer(200, "x")), Some(refused));
        assert_eq!(codes(&old_down), [Code::OldSide]);
        assert!(old_down.problems[0].message.ends_with("connection refused by 127.0.0.3:443"));
        let nowhere = judge(&request(ANY), None, None);
        assert_eq!((codes(&nowhere), nowhere.passed), (vec![Code::NoAddress], false));
        assert!(detail(&nowhere).starts_with("GET https://a.test/: no address for `a.test`"));
    }
}
