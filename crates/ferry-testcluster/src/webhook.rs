//! A validating admission webhook for tests: HTTPS on a free loopback port (a certificate for
//! `127.0.0.1` from a throw-away [`TestPki`] root, served with rustls), answering every
//! `AdmissionReview` by refusing objects of one kind and allowing the rest; counts what it
//! was asked; stopped on drop. [`TestWebhook::configuration`] is the
//! `ValidatingWebhookConfiguration` that points an API server at it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine as _;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};

use crate::accept::Acceptor;
use crate::{Error, TestPki, io_err};

/// The message a refusal carries.
pub const WEBHOOK_REFUSAL: &str = "refused by the ferry test webhook";

/// A running webhook; stopped when dropped.
pub struct TestWebhook {
    acceptor: Acceptor,
    root_pem: String,
    denied_kind: String,
    shared: Arc<Shared>,
}

struct Shared {
    denied_kind: String,
    reviews: AtomicU64,
}

impl TestWebhook {
    /// Starts a webhook that refuses every object of `denied_kind` (e.g. `ConfigMap`).
    pub fn start(denied_kind: &str) -> Result<TestWebhook, Error> {
        let pki = TestPki::new()?;
        let config = server_config(&pki.leaf("127.0.0.1", false)?)?;
        let listener = TcpListener::bind(("127.0.0.1", 0)).map_err(io_err("binding the webhook"))?;
        let shared = Arc::new(Shared { denied_kind: denied_kind.to_owned(), reviews: AtomicU64::new(0) });
        let serving = Arc::clone(&shared);
        let acceptor = Acceptor::spawn(listener, move |stream| {
            if let Ok(connection) = rustls::ServerConnection::new(Arc::clone(&config)) {
                serve(rustls::StreamOwned::new(connection, stream), &serving);
            }
        })?;
        Ok(TestWebhook { acceptor, root_pem: pki.root_pem(), denied_kind: denied_kind.to_owned(), shared })
    }

    /// Reviews answered so far.
    pub fn reviews(&self) -> u64 {
        self.shared.reviews.load(Ordering::SeqCst)
    }

    /// A `ValidatingWebhookConfiguration` named `name` sending creates and updates of the
    /// refused kind's resource (`plural`, core group) here; it fails closed.
    pub fn configuration(&self, name: &str, plural: &str) -> String {
        let ca = base64::engine::general_purpose::STANDARD.encode(&self.root_pem);
        json!({
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": name},
            "webhooks": [{
                "name": format!("refuse-{}.ferry.test", self.denied_kind.to_ascii_lowercase()),
                "clientConfig": {"url": format!("https://{}/validate", self.acceptor.address()), "caBundle": ca},
                "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": [plural]}],
                "sideEffects": "None",
                "admissionReviewVersions": ["v1"],
                "failurePolicy": "Fail",
                "timeoutSeconds": 5
            }]
        })
        .to_string()
    }
}

/// rustls' server configuration for the chain and key of `pem` (as [`TestPki::leaf`] gives).
fn server_config(pem: &str) -> Result<Arc<rustls::ServerConfig>, Error> {
    let invalid = |what: String| Error::NotReady(format!("the webhook's certificate: {what}"));
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem.as_bytes()).collect::<Result<_, _>>().map_err(|e| invalid(e.to_string()))?;
    let key = PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| invalid(e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| invalid(e.to_string()))?;
    Ok(Arc::new(config))
}

/// Answers the reviews of one connection (keep-alive).
fn serve(mut stream: rustls::StreamOwned<rustls::ServerConnection, TcpStream>, shared: &Shared) {
    let _ = stream.sock.set_read_timeout(Some(Duration::from_secs(30)));
    while let Some(body) = read_request(&mut stream) {
        shared.reviews.fetch_add(1, Ordering::SeqCst);
        let answer = review(&body, &shared.denied_kind).to_string();
        let response = format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}", answer.len());
        if stream.write_all(response.as_bytes()).and_then(|()| stream.flush()).is_err() {
            return;
        }
    }
}

/// The body of the next request, or `None` when the connection ends.
fn read_request(stream: &mut impl Read) -> Option<Vec<u8>> {
    let mut pending = Vec::new();
    let mut buffer = [0u8; 8192];
    let head_end = loop {
        if let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        let n = stream.read(&mut buffer).ok().filter(|&n| n > 0)?;
        pending.extend_from_slice(&buffer[..n]);
    };
    let head = String::from_utf8_lossy(&pending[..head_end]).to_ascii_lowercase();
    let length: usize = head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
    let mut body = pending.split_off(head_end + 4);
    while body.len() < length {
        let n = stream.read(&mut buffer).ok().filter(|&n| n > 0)?;
        body.extend_from_slice(&buffer[..n]);
    }
    body.truncate(length);
    Some(body)
}

/// The `AdmissionReview` answering `request`: refused for `denied_kind`, allowed otherwise.
fn review(request: &[u8], denied_kind: &str) -> Value {
    let request: Value = serde_json::from_slice(request).unwrap_or(Value::Null);
    let uid = request.pointer("/request/uid").cloned().unwrap_or(Value::Null);
    let kind = request.pointer("/request/kind/kind").and_then(Value::as_str).unwrap_or_default();
    let response = if kind == denied_kind {
        json!({"uid": uid, "allowed": false, "status": {"code": 403, "message": WEBHOOK_REFUSAL}})
    } else {
        json!({"uid": uid, "allowed": true})
    };
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_kind_is_refused_and_the_uid_is_echoed() {
        let request = |kind: &str| json!({"request": {"uid": "u-1", "kind": {"group": "", "version": "v1", "kind": kind}}}).to_string();
        let refused = review(request("ConfigMap").as_bytes(), "ConfigMap");
        assert_eq!((&refused["response"]["uid"], &refused["response"]["allowed"]), (&json!("u-1"), &json!(false)));
        assert_eq!(refused["response"]["status"]["message"], WEBHOOK_REFUSAL);
        assert_eq!(review(request("Secret").as_bytes(), "ConfigMap")["response"]["allowed"], true);
    }

    #[test]
    fn a_request_is_read_to_its_content_length() {
        let mut input: &[u8] = b"POST /validate HTTP/1.1\r\nContent-Length: 4\r\n\r\nbodyPOST";
        assert_eq!(read_request(&mut input).unwrap(), b"body");
        let mut truncated: &[u8] = b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nshort";
        assert_eq!(read_request(&mut truncated), None);
    }
}
