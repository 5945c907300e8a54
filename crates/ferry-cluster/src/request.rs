//! Requests with a bounded retry policy and errors that say what failed.

use std::time::Duration;

use http::StatusCode;
use http_body_util::BodyExt as _;
use serde::de::DeserializeOwned;

/// Attempts per request, the first included.
const ATTEMPTS: u32 = 4;
/// Delay before the first retry; doubled each time.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// The longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(5);

/// A request that failed, after retries where retrying made sense.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{method} {path}: {message}")]
pub struct RequestError {
    /// The HTTP method, e.g. `GET` or `PATCH`.
    pub method: http::Method,
    /// The API path requested.
    pub path: String,
    /// What went wrong.
    pub cause: Cause,
    /// The server's own message (from its `Status` object), the transport error, or the decoding error.
    pub message: String,
}

/// What went wrong with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// No complete answer: connection refused, TLS failure, timeout, body cut off.
    Transport,
    /// The server answered with this non-success HTTP status.
    Status(u16),
    /// The request could not be formed, or a 2xx answer is not what the API promises.
    Invalid,
}

impl RequestError {
    /// A 2xx answer that could not be decoded.
    pub(crate) fn invalid_response(method: http::Method, path: &str, message: String) -> RequestError {
        RequestError { method, path: path.to_owned(), cause: Cause::Invalid, message }
    }

    /// The HTTP status, when the server answered with an error status.
    pub fn status(&self) -> Option<u16> {
        match self.cause {
            Cause::Status(status) => Some(status),
            Cause::Transport | Cause::Invalid => None,
        }
    }

    /// Whether the server refused the credentials (401).
    pub fn is_unauthorized(&self) -> bool {
        self.status() == Some(401)
    }

    /// Whether RBAC forbids the request (403).
    pub fn is_forbidden(&self) -> bool {
        self.status() == Some(403)
    }

    /// Whether the server never answered completely (connection refused, TLS failure, timeout).
    pub fn is_unreachable(&self) -> bool {
        self.cause == Cause::Transport
    }
}

/// GETs `path` and decodes the JSON body, retrying throttling, unavailability and transport errors.
pub(crate) async fn get_json<T: DeserializeOwned>(client: &kube::Client, path: &str) -> Result<T, RequestError> {
    let bytes = send(client, http::Method::GET, path, JSON, None).await?;
    serde_json::from_slice(&bytes).map_err(|e| RequestError::invalid_response(http::Method::GET, path, format!("invalid JSON in the response: {e}")))
}

/// The usual `Accept` header: JSON.
pub(crate) const JSON: &str = "application/json";

/// A request body and its content type.
pub(crate) struct Payload<'a> {
    /// e.g. `application/apply-patch+yaml`.
    pub content_type: &'static str,
    /// The encoded body.
    pub bytes: &'a [u8],
}

/// Sends one request and returns the body of a successful answer, retrying
/// throttling, unavailability and transport errors. Only idempotent requests
/// (GET, server-side apply) are sent through here.
pub(crate) async fn send(
    client: &kube::Client,
    method: http::Method,
    path: &str,
    accept: &str,
    payload: Option<&Payload<'_>>,
) -> Result<bytes::Bytes, RequestError> {
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 1;
    loop {
        match send_once(client, &method, path, accept, payload).await {
            Ok(bytes) => return Ok(bytes),
            Err((error, retry_after)) if attempt < ATTEMPTS && is_retryable(&error) => {
                tokio::time::sleep(retry_after.unwrap_or(backoff).min(MAX_RETRY_AFTER)).await;
                backoff *= 2;
                attempt += 1;
            }
            Err((error, _)) => return Err(error),
        }
    }
}

fn is_retryable(error: &RequestError) -> bool {
    match error.cause {
        Cause::Transport => true,
        Cause::Status(status) => matches!(status, 429 | 500 | 502 | 503 | 504),
        Cause::Invalid => false,
    }
}

async fn send_once(
    client: &kube::Client,
    method: &http::Method,
    path: &str,
    accept: &str,
    payload: Option<&Payload<'_>>,
) -> Result<bytes::Bytes, (RequestError, Option<Duration>)> {
    let fail = |cause: Cause, message: String| RequestError { method: method.clone(), path: path.to_owned(), cause, message };
    let builder = http::Request::builder().method(method.clone()).uri(path).header(http::header::ACCEPT, accept);
    let request = match payload {
        Some(payload) => builder.header(http::header::CONTENT_TYPE, payload.content_type).body(kube::client::Body::from(payload.bytes.to_vec())),
        None => builder.body(kube::client::Body::empty()),
    }
    .map_err(|e| (fail(Cause::Invalid, e.to_string()), None))?;
    let response = client.send(request).await.map_err(|e| (fail(Cause::Transport, transport_message(&e)), None))?;
    let status = response.status();
    let retry_after =
        response.headers().get(http::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok()).map(Duration::from_secs);
    let body = response.into_body().collect().await.map_err(|e| (fail(Cause::Transport, e.to_string()), None))?.to_bytes();
    if status.is_success() { Ok(body) } else { Err((fail(Cause::Status(status.as_u16()), status_message(status, &body)), retry_after)) }
}

/// The `message` of a Kubernetes `Status` body, else the status line.
fn status_message(status: StatusCode, body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Status {
        message: Option<String>,
    }
    let reason = status.canonical_reason().unwrap_or("error");
    match serde_json::from_slice::<Status>(body).ok().and_then(|s| s.message) {
        Some(message) => format!("{} {reason}: {message}", status.as_u16()),
        None => format!("{} {reason}", status.as_u16()),
    }
}

/// The innermost cause of a transport error, which is the one that says what happened.
fn transport_message(error: &kube::Error) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message = cause.to_string();
        source = cause.source();
    }
    message
}
