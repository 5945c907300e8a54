//! Sending requests (the only I/O of the crate), behind [`Transport`]. [`Https`] is reqwest
//! with rustls: one client per address whose resolver answers that address for every name
//! (so no request can reach DNS, and none goes anywhere else), the URL's host as TLS SNI and
//! Host header, and a certificate verifier that checks the host name and the trust roots (the
//! system's, or a CA bundle instead) through webpki and records what the server presented, so
//! that a refused certificate is reported with its names, dates and issuer.

use std::collections::HashMap;
use std::io::Read as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::{Digest as _, Sha256};

use crate::certificate::{Presented, hex, rfc3339};
use crate::report::{Body, Code, Exchange, Problem};
use crate::targets::Request;

/// How much of a body is kept to search for the expected text (the digest covers all of it).
pub const BODY_SEARCHED: usize = 1 << 20;

/// Sends one request to one address.
pub trait Transport: Sync {
    /// Sends `request` to `to`, with the request's host as the TLS server name and Host header.
    fn send(&self, request: &Request, to: SocketAddr) -> Exchange;
}

/// The trust roots certificates must chain to.
#[derive(Debug, Clone)]
pub enum Roots {
    /// The system's (`SSL_CERT_FILE`, `SSL_CERT_DIR` or the distribution's store).
    System,
    /// Only the certificates of a PEM bundle (`--ca-bundle`).
    Bundle(String),
}

/// Why the HTTPS transport cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The CA bundle holds no certificate, or one that cannot be used.
    #[error("the CA bundle {0}")]
    Bundle(String),
    /// The system's store holds no usable certificate.
    #[error("no trust roots found in the system's store ({0}); give --ca-bundle")]
    System(String),
    /// rustls or reqwest refused the configuration.
    #[error("cannot set up the HTTPS client: {0}")]
    Client(String),
}

/// HTTPS over reqwest and rustls (ring), one client per address.
pub struct Https {
    verifier: Arc<WebPkiServerVerifier>,
    provider: Arc<rustls::crypto::CryptoProvider>,
    timeout: Duration,
    clients: Mutex<HashMap<SocketAddr, (reqwest::blocking::Client, Arc<Recorder>)>>,
    roots_text: &'static str,
}

impl Https {
    /// A transport trusting `roots`, each request given `timeout` (connect, TLS, answer and body).
    pub fn new(roots: &Roots, timeout: Duration) -> Result<Https, TransportError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let (store, roots_text) = match roots {
            Roots::Bundle(pem) => (bundle(pem)?, "the CA bundle"),
            Roots::System => (system()?, "the system's trust roots"),
        };
        let verifier =
            WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider.clone()).build().map_err(|e| TransportError::Client(e.to_string()))?;
        Ok(Https { verifier, provider, timeout, clients: Mutex::new(HashMap::new()), roots_text })
    }

    /// The client for `to`, made on first use.
    fn client(&self, to: SocketAddr) -> Result<(reqwest::blocking::Client, Arc<Recorder>), String> {
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(client) = clients.get(&to) {
            return Ok(client.clone());
        }
        let recorder = Arc::new(Recorder { inner: self.verifier.clone(), seen: Mutex::new(HashMap::new()) });
        let mut config = rustls::ClientConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(recorder.clone())
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let client = reqwest::blocking::Client::builder()
            .tls_backend_preconfigured(config)
            .dns_resolver(Arc::new(Fixed(to)))
            .no_proxy()
            .https_only(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.timeout)
            .connect_timeout(self.timeout)
            .build()
            .map_err(|e| chain(&e))?;
        clients.insert(to, (client.clone(), recorder.clone()));
        Ok((client, recorder))
    }
}

impl Transport for Https {
    fn send(&self, request: &Request, to: SocketAddr) -> Exchange {
        let at = rfc3339(jiff::Timestamp::now().as_second());
        let started = Instant::now();
        let mut exchange = Exchange { address: to, at, status: None, latency_ms: 0, body: None, certificate: None, failure: Vec::new() };
        let result = self.client(to).map_err(|why| vec![Problem::new(Code::Tls, why)]).and_then(|(client, recorder)| {
            let answer = exchange_with(&client, request);
            let seen = recorder.seen(&request.host);
            exchange.certificate = seen.as_ref().and_then(|s| Presented::parse(&s.leaf));
            answer.map_err(|error| self.failure(&*error, request, to, seen.and_then(|s| s.error), exchange.certificate.as_ref()))
        });
        match result {
            Ok((status, body)) => (exchange.status, exchange.body) = (Some(status), Some(body)),
            Err(problems) => exchange.failure = problems,
        }
        exchange.latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        exchange
    }
}

impl Https {
    /// The problems of a request that got no answer: the certificate's, if it was refused, else the connection's.
    fn failure(
        &self,
        error: &(dyn std::error::Error + 'static),
        request: &Request,
        to: SocketAddr,
        refused: Option<rustls::Error>,
        leaf: Option<&Presented>,
    ) -> Vec<Problem> {
        match refused {
            Some(refused) => certificate_problems(&refused, &request.host, leaf, self.roots_text),
            None => vec![connection_problem(error, to)],
        }
    }
}

/// Sends the request and reads the body into its digest; the status and the body.
fn exchange_with(client: &reqwest::blocking::Client, request: &Request) -> Result<(u16, Body), Box<dyn std::error::Error + Send + Sync>> {
    let method = reqwest::Method::from_bytes(request.method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut builder = client.request(method, request.url());
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let mut response = builder.send()?;
    let status = response.status().as_u16();
    let (mut digest, mut head, mut bytes, mut buffer) = (Sha256::new(), Vec::new(), 0u64, vec![0u8; 64 * 1024]);
    loop {
        let n = response.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        digest.update(&buffer[..n]);
        bytes += n as u64;
        head.extend_from_slice(&buffer[..n.min(BODY_SEARCHED.saturating_sub(head.len()))]);
    }
    Ok((status, Body { sha256: hex(&digest.finalize()), bytes, head: String::from_utf8_lossy(&head).into_owned() }))
}

/// The problems of a certificate webpki refused for `host`: the reason webpki gave first,
/// then what else the leaf itself shows (names, dates, self-signed).
fn certificate_problems(refused: &rustls::Error, host: &str, leaf: Option<&Presented>, roots: &str) -> Vec<Problem> {
    let now = jiff::Timestamp::now().as_second();
    let names = leaf.map_or_else(|| "unknown names".to_owned(), Presented::names_text);
    let wrong = || Problem::new(Code::WrongCertificate, format!("wrong certificate: it is for {names}, not `{host}`"));
    let expired = |leaf: Option<&Presented>| {
        Problem::new(Code::Expired, format!("the certificate expired at {}", leaf.map_or_else(|| "its notAfter".to_owned(), |l| l.not_after.clone())))
    };
    let primary = match refused {
        rustls::Error::InvalidCertificate(error) => match error {
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => wrong(),
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => expired(leaf),
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                Problem::new(Code::NotYetValid, format!("the certificate is not valid before {}", leaf.map_or("its notBefore", |l| l.not_before.as_str())))
            }
            CertificateError::UnknownIssuer if leaf.is_some_and(|l| l.self_signed) => {
                Problem::new(Code::SelfSigned, format!("self-signed certificate ({}), not trusted by {roots}", leaf.map_or("", |l| l.subject.as_str())))
            }
            CertificateError::UnknownIssuer | CertificateError::BadSignature => Problem::new(
                Code::Untrusted,
                format!("untrusted certificate: issued by `{}`, which does not chain to {roots}", leaf.map_or("an unknown issuer", |l| l.issuer.as_str())),
            ),
            other => Problem::new(Code::Tls, format!("certificate refused: {other:?}")),
        },
        other => Problem::new(Code::Tls, format!("TLS handshake failed: {other}")),
    };
    let first = primary.code;
    let mut problems = vec![primary];
    if let Some(leaf) = leaf {
        let also = [
            (Code::WrongCertificate, !leaf.covers(host), wrong()),
            (Code::Expired, leaf.expired(now), expired(Some(leaf))),
            (Code::SelfSigned, leaf.self_signed, Problem::new(Code::SelfSigned, "the certificate is self-signed")),
        ];
        problems.extend(also.into_iter().filter(|(code, holds, _)| *holds && first != *code).map(|(_, _, problem)| problem));
    }
    problems
}

/// What kept a request without a certificate problem from an answer.
fn connection_problem(error: &(dyn std::error::Error + 'static), to: SocketAddr) -> Problem {
    let mut source = Some(error);
    while let Some(cause) = source {
        if cause.downcast_ref::<reqwest::Error>().is_some_and(reqwest::Error::is_timeout) {
            return Problem::new(Code::Timeout, format!("no answer from {to} within the timeout"));
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return Problem::new(Code::Refused, format!("connection refused by {to}")),
                std::io::ErrorKind::TimedOut => return Problem::new(Code::Timeout, format!("no answer from {to} within the timeout")),
                _ => {}
            }
        }
        if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
            return Problem::new(Code::Tls, format!("TLS handshake with {to} failed: {tls}"));
        }
        source = cause.source();
    }
    Problem::new(Code::Connection, format!("{to}: {}", chain(error)))
}

/// An error with its causes, on one line.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text = format!("{text}: {cause_text}");
        }
        source = cause.source();
    }
    text
}

/// The certificates of a PEM bundle as roots.
fn bundle(pem: &str) -> Result<RootCertStore, TransportError> {
    let mut store = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        let cert = cert.map_err(|e| TransportError::Bundle(format!("is not PEM: {e}")))?;
        store.add(cert).map_err(|e| TransportError::Bundle(format!("holds a certificate that cannot be a root: {e}")))?;
    }
    if store.is_empty() { Err(TransportError::Bundle("holds no certificate".into())) } else { Ok(store) }
}

/// The system's trust roots.
fn system() -> Result<RootCertStore, TransportError> {
    let found = rustls_native_certs::load_native_certs();
    let mut store = RootCertStore::empty();
    let (added, _) = store.add_parsable_certificates(found.certs);
    if added == 0 {
        let why = found.errors.first().map_or_else(|| "it is empty".to_owned(), ToString::to_string);
        return Err(TransportError::System(why));
    }
    Ok(store)
}

/// A resolver that answers one address for every name.
struct Fixed(SocketAddr);

impl reqwest::dns::Resolve for Fixed {
    fn resolve(&self, _: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let address = self.0;
        Box::pin(async move { Ok(Box::new(std::iter::once(address)) as reqwest::dns::Addrs) })
    }
}

/// What a server presented for a name, and why it was refused.
#[derive(Debug, Clone)]
struct Seen {
    leaf: Vec<u8>,
    error: Option<rustls::Error>,
}

/// webpki's verifier, recording each name's leaf certificate and verdict.
#[derive(Debug)]
struct Recorder {
    inner: Arc<WebPkiServerVerifier>,
    seen: Mutex<HashMap<String, Seen>>,
}

impl Recorder {
    fn seen(&self, host: &str) -> Option<Seen> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner).get(&host.to_ascii_lowercase()).cloned()
    }
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self.inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now);
        let seen = Seen { leaf: end_entity.to_vec(), error: verdict.as_ref().err().cloned() };
        self.seen.lock().unwrap_or_else(PoisonError::into_inner).insert(server_name.to_str().to_ascii_lowercase(), seen);
        verdict
    }

    fn verify_tls12_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
