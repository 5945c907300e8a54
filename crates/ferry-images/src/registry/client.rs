//! One registry spoken to through the OCI distribution API: every request goes through
//! [`Registry::send`], which authenticates (basic, or a bearer token per scope), retries
//! transport errors, 429 and 502–504 with backoff that honours `Retry-After`, bounds the
//! requests in flight, and counts them. Nothing here logs; errors never carry credentials.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use oci_client::secrets::RegistryAuth;
use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, HeaderMap, LOCATION, RANGE, RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use tokio::sync::{OnceCell, Semaphore, SemaphorePermit};

use super::auth::{Challenge, Scope, token_of};
use super::error::{Problem, RegistryError};
use crate::Credentials;

/// Every manifest media type the copy reads and writes.
pub const MANIFEST_TYPES: [&str; 4] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// What a registry says about a manifest or blob without sending it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// `Docker-Content-Digest`, if sent.
    pub digest: Option<String>,
    /// `Content-Type`.
    pub media_type: String,
    /// `Content-Length`.
    pub size: u64,
}

/// Where an upload stands after it was opened.
pub(crate) enum Upload {
    /// The blob was mounted from another repository: nothing to send.
    Mounted,
    /// An upload session to send the blob to.
    Session(String),
}

/// The tags of a repository.
pub type Tags = Arc<HashSet<String>>;

/// How a [`Registry`] behaves.
#[derive(Debug, Clone)]
pub(crate) struct Behaviour {
    pub attempts: u32,
    pub first_backoff: Duration,
    pub max_wait: Duration,
    pub plain_http_allowed: bool,
}

/// One registry: its address, credentials, tokens, limits and request count.
pub struct Registry {
    host: String,
    http: reqwest::Client,
    credentials: Credentials,
    behaviour: Behaviour,
    base: OnceCell<String>,
    challenge: Mutex<Option<Challenge>>,
    tokens: Mutex<HashMap<Scope, String>>,
    requests_in_flight: Semaphore,
    transfers: Semaphore,
    requests: AtomicU64,
    /// Whether `GET /v2/<repo>/referrers/<digest>` is served (learnt on first use).
    pub(crate) referrers_api: Mutex<Option<bool>>,
    /// The tags of each repository listed so far (`None`: the registry refused the listing).
    tags: Mutex<HashMap<String, Arc<OnceCell<Option<Tags>>>>>,
    /// Manifests read so far, by repository and the digest of their bytes: content named by
    /// its digest never changes, so a second read by digest (the copy after the plan) is not
    /// sent.
    manifests: Mutex<HashMap<(String, String), (Bytes, String)>>,
}

impl Registry {
    pub(crate) fn new(host: String, http: reqwest::Client, credentials: Credentials, behaviour: Behaviour, concurrency: usize) -> Registry {
        Registry {
            host,
            http,
            credentials,
            behaviour,
            base: OnceCell::new(),
            challenge: Mutex::new(None),
            tokens: Mutex::new(HashMap::new()),
            requests_in_flight: Semaphore::new(concurrency.max(1) * 2),
            transfers: Semaphore::new(concurrency.max(1)),
            requests: AtomicU64::new(0),
            referrers_api: Mutex::new(None),
            manifests: Mutex::new(HashMap::new()),
            tags: Mutex::new(HashMap::new()),
        }
    }

    /// The registry's host (and port).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// HTTP requests sent so far (token requests included).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// A permit to move one blob's body; at most the registry's concurrency at once.
    pub(crate) async fn transfer_permit(&self) -> SemaphorePermit<'_> {
        self.transfers.acquire().await.expect("the semaphore is never closed")
    }

    fn error(&self, action: &str, problem: Problem) -> RegistryError {
        RegistryError { registry: self.host.clone(), action: action.to_owned(), problem }
    }

    /// `https://HOST`, or `http://HOST` when HTTPS fails and plain HTTP is allowed; learnt with
    /// one `GET /v2/`, whose challenge is kept.
    async fn base(&self) -> Result<&str, RegistryError> {
        self.base
            .get_or_try_init(|| async {
                let https = format!("https://{}", self.host);
                if !self.behaviour.plain_http_allowed {
                    return match self.ping(&https, self.behaviour.attempts).await {
                        Ok(()) => Ok(https),
                        Err(reason) => {
                            Err(self
                                .error("connecting", Problem::Unreachable(format!("{reason} (HTTPS; plain HTTP is used only on loopback or where allowed)"))))
                        }
                    };
                }
                // Loopback or allowed: HTTPS once, then plain HTTP (a TLS handshake with a plain
                // server fails at once, so it is not retried).
                let Err(tls) = self.ping(&https, 1).await else { return Ok(https) };
                let http = format!("http://{}", self.host);
                match self.ping(&http, self.behaviour.attempts).await {
                    Ok(()) => Ok(http),
                    Err(plain) => Err(self.error("connecting", Problem::Unreachable(format!("HTTPS: {tls}; plain HTTP: {plain}")))),
                }
            })
            .await
            .map(String::as_str)
    }

    async fn ping(&self, base: &str, attempts: u32) -> Result<(), String> {
        let mut last = String::new();
        for attempt in 0..attempts {
            if attempt > 0 {
                tokio::time::sleep(self.backoff(attempt)).await;
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            match self.http.get(format!("{base}/v2/")).send().await {
                Ok(response) => {
                    if let Some(challenge) = response.headers().get(WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()).and_then(Challenge::parse) {
                        *self.challenge.lock().expect("not poisoned") = Some(challenge);
                    }
                    return Ok(());
                }
                Err(e) => last = describe(&e),
            }
        }
        Err(last)
    }

    fn backoff(&self, attempt: u32) -> Duration {
        self.behaviour.first_backoff.saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1))).min(self.behaviour.max_wait)
    }

    /// Sends the request `build` makes from the client and the base URL, with authentication
    /// for `scope`, retrying as the module says. Answers other than 401, 429 and 502–504 are
    /// returned for the caller to judge.
    pub(crate) async fn send(&self, action: &str, scope: &Scope, build: impl Fn(&reqwest::Client, &str) -> RequestBuilder) -> Result<Response, RegistryError> {
        let base = self.base().await?;
        let mut attempt = 0;
        let mut authenticated_again = false;
        loop {
            let sent = self.dispatch(build(&self.http, base), scope, action).await?;
            attempt += 1;
            let wait = match sent {
                Err(e) if attempt < self.behaviour.attempts && (e.is_connect() || e.is_timeout() || e.is_request()) => self.backoff(attempt),
                Err(e) => return Err(self.error(action, Problem::Unreachable(describe(&e)))),
                Ok(response) if response.status() == StatusCode::UNAUTHORIZED => {
                    if authenticated_again {
                        return Err(self.error(action, Problem::Unauthorized { had_credentials: self.has_credentials() }));
                    }
                    authenticated_again = true;
                    self.learn_challenge(response.headers(), scope);
                    continue;
                }
                Ok(response) if retryable(response.status()) && attempt < self.behaviour.attempts => {
                    retry_after(response.headers()).unwrap_or_else(|| self.backoff(attempt)).min(self.behaviour.max_wait)
                }
                Ok(response) => return Ok(response),
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Authenticates `request` for `scope` and sends it once, within the bound on requests in
    /// flight, counting it.
    async fn dispatch(&self, request: RequestBuilder, scope: &Scope, action: &str) -> Result<reqwest::Result<Response>, RegistryError> {
        let request = self.authorize(request, scope, action).await?;
        let _permit = self.requests_in_flight.acquire().await.expect("the semaphore is never closed");
        self.requests.fetch_add(1, Ordering::Relaxed);
        Ok(request.send().await)
    }

    /// How long to wait before try `attempt + 1` of something that failed `attempt` times, or
    /// `None` once the tries are spent.
    pub(crate) fn retry_wait(&self, attempt: u32) -> Option<Duration> {
        (attempt < self.behaviour.attempts).then(|| self.backoff(attempt))
    }

    fn has_credentials(&self) -> bool {
        self.credentials.auth() != &RegistryAuth::Anonymous
    }

    fn learn_challenge(&self, headers: &HeaderMap, scope: &Scope) {
        let challenge = headers.get(WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()).and_then(Challenge::parse);
        *self.challenge.lock().expect("not poisoned") = challenge;
        self.tokens.lock().expect("not poisoned").remove(scope);
    }

    /// Adds the `Authorization` the registry asked for, if it asked.
    async fn authorize(&self, request: RequestBuilder, scope: &Scope, action: &str) -> Result<RequestBuilder, RegistryError> {
        let challenge = self.challenge.lock().expect("not poisoned").clone();
        Ok(match (challenge, self.credentials.auth()) {
            (None, _) => request,
            (Some(_), RegistryAuth::Bearer(token)) => request.bearer_auth(token),
            (Some(Challenge::Basic), RegistryAuth::Basic(user, password)) => request.basic_auth(user, Some(password)),
            (Some(Challenge::Basic), RegistryAuth::Anonymous) => request,
            (Some(Challenge::Bearer { realm, service }), _) => request.bearer_auth(self.token(&realm, service.as_deref(), scope, action).await?),
        })
    }

    /// The bearer token for `scope`, asked for once and kept.
    async fn token(&self, realm: &str, service: Option<&str>, scope: &Scope, action: &str) -> Result<String, RegistryError> {
        if let Some(token) = self.tokens.lock().expect("not poisoned").get(scope) {
            return Ok(token.clone());
        }
        let mut query: Vec<(&str, &str)> = service.map(|s| ("service", s)).into_iter().collect();
        query.extend(scope.parts().iter().map(|s| ("scope", s.as_str())));
        let mut request = self.http.get(realm).query(&query);
        if let RegistryAuth::Basic(user, password) = self.credentials.auth() {
            request = request.basic_auth(user, Some(password));
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let action = format!("{action} (asking for a token)");
        let response = request.send().await.map_err(|e| self.error(&action, Problem::Unreachable(describe(&e))))?;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(self.error(&action, Problem::Unauthorized { had_credentials: self.has_credentials() }));
        }
        let body = response.bytes().await.map_err(|e| self.error(&action, Problem::Unreachable(describe(&e))))?;
        let token = token_of(&body)
            .filter(|_| status.is_success())
            .ok_or_else(|| self.error(&action, Problem::Status { status: status.as_u16(), detail: "no token in the answer".into() }))?;
        self.tokens.lock().expect("not poisoned").insert(scope.clone(), token.clone());
        Ok(token)
    }

    /// Turns an answer other than `ok` into the error it means, with the registry's own message.
    pub(crate) async fn expect(&self, response: Response, ok: &[StatusCode], action: &str) -> Result<Response, RegistryError> {
        let status = response.status();
        if ok.contains(&status) {
            return Ok(response);
        }
        let problem = match status {
            StatusCode::NOT_FOUND => Problem::NotFound,
            StatusCode::FORBIDDEN => Problem::Denied,
            StatusCode::UNAUTHORIZED => Problem::Unauthorized { had_credentials: self.has_credentials() },
            _ => Problem::Status { status: status.as_u16(), detail: error_detail(&response.bytes().await.unwrap_or_default()) },
        };
        Err(self.error(action, problem))
    }

    /// HEAD of a manifest by tag or digest; `None` if it does not exist.
    pub async fn manifest_head(&self, repository: &str, reference: &str) -> Result<Option<Found>, RegistryError> {
        let action = format!("looking up the manifest `{repository}:{reference}`");
        let response = self
            .send(&action, &Scope::pull(repository), |http, base| {
                http.head(format!("{base}/v2/{repository}/manifests/{reference}")).header(ACCEPT, MANIFEST_TYPES.join(", "))
            })
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let response = self.expect(response, &[StatusCode::OK], &action).await?;
        Ok(Some(found(response.headers())))
    }

    /// The manifest's bytes as stored and its media type; one read by digest before is not
    /// asked again.
    pub async fn manifest_get(&self, repository: &str, reference: &str) -> Result<(Bytes, String), RegistryError> {
        let key = (repository.to_owned(), reference.to_owned());
        if let Some(known) = self.manifests.lock().expect("not poisoned").get(&key) {
            return Ok(known.clone());
        }
        let (body, media_type) = self.manifest_fetch(repository, reference).await?;
        let key = (key.0, crate::Digest::of(&body).to_string());
        self.manifests.lock().expect("not poisoned").insert(key, (body.clone(), media_type.clone()));
        Ok((body, media_type))
    }

    async fn manifest_fetch(&self, repository: &str, reference: &str) -> Result<(Bytes, String), RegistryError> {
        let action = format!("reading the manifest `{repository}:{reference}`");
        let response = self
            .send(&action, &Scope::pull(repository), |http, base| {
                http.get(format!("{base}/v2/{repository}/manifests/{reference}")).header(ACCEPT, MANIFEST_TYPES.join(", "))
            })
            .await?;
        let response = self.expect(response, &[StatusCode::OK], &action).await?;
        let media_type = found(response.headers()).media_type;
        let body = response.bytes().await.map_err(|e| self.error(&action, Problem::Unreachable(describe(&e))))?;
        Ok((body, media_type))
    }

    /// Puts manifest bytes unchanged under a tag or digest; returns the digest the registry gives.
    pub async fn manifest_put(&self, repository: &str, reference: &str, body: &Bytes, media_type: &str) -> Result<Option<String>, RegistryError> {
        let action = format!("putting the manifest `{repository}:{reference}`");
        let response = self
            .send(&action, &Scope::push(repository), |http, base| {
                http.put(format!("{base}/v2/{repository}/manifests/{reference}")).header(CONTENT_TYPE, media_type).body(body.clone())
            })
            .await?;
        let response = self.expect(response, &[StatusCode::CREATED, StatusCode::OK], &action).await?;
        Ok(found(response.headers()).digest)
    }

    /// Whether the repository holds the blob.
    pub async fn blob_exists(&self, repository: &str, digest: &str) -> Result<bool, RegistryError> {
        let action = format!("looking up the blob `{digest}` in `{repository}`");
        let response = self.send(&action, &Scope::pull(repository), |http, base| http.head(format!("{base}/v2/{repository}/blobs/{digest}"))).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(false);
        }
        self.expect(response, &[StatusCode::OK], &action).await.map(|_| true)
    }

    /// A blob's body, streamed.
    pub(crate) async fn blob_get(&self, repository: &str, digest: &str) -> Result<Response, RegistryError> {
        self.blob_get_from(repository, digest, 0).await
    }

    /// A blob's body that resumes where it broke ([`BlobStream`]).
    pub(crate) async fn blob_stream<'a>(&'a self, repository: &'a str, digest: &'a str) -> Result<BlobStream<'a>, RegistryError> {
        let response = self.blob_get(repository, digest).await?;
        Ok(BlobStream { registry: self, repository, digest, response, read: 0, skip: 0, breaks: 0 })
    }

    /// A blob's body from byte `from` on (`Range: bytes=FROM-`), streamed. A registry that
    /// ignores the range answers 200 with the whole body.
    async fn blob_get_from(&self, repository: &str, digest: &str, from: u64) -> Result<Response, RegistryError> {
        let action = format!("reading the blob `{digest}` from `{repository}`");
        let url = |base: &str| format!("{base}/v2/{repository}/blobs/{digest}");
        let response = if from == 0 {
            self.send(&action, &Scope::pull(repository), |http, base| http.get(url(base))).await?
        } else {
            self.send(&action, &Scope::pull(repository), |http, base| http.get(url(base)).header(RANGE, format!("bytes={from}-"))).await?
        };
        self.expect(response, &[StatusCode::OK, StatusCode::PARTIAL_CONTENT], &action).await
    }

    /// Opens an upload to `repository`, asking to mount `digest` from `from` if given.
    pub(crate) async fn upload_start(&self, repository: &str, mount: Option<(&str, &str)>) -> Result<Upload, RegistryError> {
        let action = format!("starting an upload to `{repository}`");
        let scope = match mount {
            Some((_, from)) => Scope::mount(repository, from),
            None => Scope::push(repository),
        };
        let response = self
            .send(&action, &scope, |http, base| {
                let request = http.post(format!("{base}/v2/{repository}/blobs/uploads/")).header(CONTENT_LENGTH, 0);
                match mount {
                    Some((digest, from)) => request.query(&[("mount", digest), ("from", from)]),
                    None => request,
                }
            })
            .await?;
        let response = self.expect(response, &[StatusCode::CREATED, StatusCode::ACCEPTED], &action).await?;
        if response.status() == StatusCode::CREATED {
            return Ok(Upload::Mounted);
        }
        self.location(response.headers(), &action).map(Upload::Session)
    }

    /// Sends a whole blob in one `PATCH` whose body is `body` (`size` bytes, `0` if unknown),
    /// streamed as it comes; returns the location to close the upload at. A streamed body
    /// cannot be sent twice, so this is not retried: the copy starts the blob again.
    pub(crate) async fn upload_stream(&self, repository: &str, location: &str, size: u64, body: reqwest::Body) -> Result<String, RegistryError> {
        let action = format!("uploading to `{repository}`");
        let mut request = self.http.request(Method::PATCH, location).header(CONTENT_TYPE, "application/octet-stream");
        if size > 0 {
            request = request.header(CONTENT_LENGTH, size);
        }
        let response = self.dispatch(request.body(body), &Scope::push(repository), &action).await?;
        let response = response.map_err(|e| self.error(&action, Problem::Unreachable(describe(&e))))?;
        let response = self.expect(response, &[StatusCode::ACCEPTED, StatusCode::NO_CONTENT], &action).await?;
        self.location(response.headers(), &action)
    }

    /// Closes an upload whose bytes were all sent, naming the blob's digest.
    pub(crate) async fn upload_finish(&self, repository: &str, location: &str, digest: &str) -> Result<(), RegistryError> {
        let action = format!("finishing the upload of `{digest}` to `{repository}`");
        let mut url = reqwest::Url::parse(location).map_err(|e| self.error(&action, Problem::Unsupported(format!("invalid upload location: {e}"))))?;
        url.query_pairs_mut().append_pair("digest", digest);
        let response = self.send(&action, &Scope::push(repository), |http, _| http.put(url.clone()).header(CONTENT_LENGTH, 0)).await?;
        self.expect(response, &[StatusCode::CREATED, StatusCode::NO_CONTENT], &action).await.map(drop)
    }

    /// The OCI 1.1 referrers index of `digest`, or `None` when the registry does not serve the
    /// referrers API (learnt once per registry).
    pub async fn referrers(&self, repository: &str, digest: &str) -> Result<Option<Bytes>, RegistryError> {
        if *self.referrers_api.lock().expect("not poisoned") == Some(false) {
            return Ok(None);
        }
        let action = format!("listing the referrers of `{repository}@{digest}`");
        let response = self
            .send(&action, &Scope::pull(repository), |http, base| {
                http.get(format!("{base}/v2/{repository}/referrers/{digest}")).header(ACCEPT, MANIFEST_TYPES[0])
            })
            .await?;
        let is_index = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|t| t.starts_with(MANIFEST_TYPES[0]));
        if response.status() != StatusCode::OK || !is_index {
            *self.referrers_api.lock().expect("not poisoned") = Some(false);
            return Ok(None);
        }
        *self.referrers_api.lock().expect("not poisoned") = Some(true);
        response.bytes().await.map(Some).map_err(|e| self.error(&action, Problem::Unreachable(describe(&e))))
    }

    /// Every tag of `repository`, page by page (`n` and the `Link` header), listed once per run
    /// and kept; `None` when the registry does not list it (refused, or not served).
    pub async fn tags(&self, repository: &str) -> Result<Option<Tags>, RegistryError> {
        let cell = self.tags.lock().expect("not poisoned").entry(repository.to_owned()).or_default().clone();
        cell.get_or_try_init(|| self.list_tags(repository)).await.cloned()
    }

    async fn list_tags(&self, repository: &str) -> Result<Option<Tags>, RegistryError> {
        let action = format!("listing the tags of `{repository}`");
        let mut tags = HashSet::new();
        let mut next = Some(format!("{}/v2/{repository}/tags/list?n={TAGS_PAGE}", self.base().await?));
        while let Some(url) = next.take() {
            let response = self.send(&action, &Scope::pull(repository), |http, _| http.get(&url)).await?;
            if response.status() != StatusCode::OK {
                return Ok(None);
            }
            next = next_page(response.headers()).map(|link| self.absolute(&link));
            let body = response.bytes().await.map_err(|e| self.error(&action, Problem::Unreachable(describe(&e))))?;
            let page: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            // `"tags": null` is an empty page; no `tags` at all is not a tag list.
            let Some(names) = page.get("tags") else { return Ok(None) };
            tags.extend(names.as_array().into_iter().flatten().filter_map(serde_json::Value::as_str).map(str::to_owned));
        }
        Ok(Some(Arc::new(tags)))
    }

    /// An absolute URL from one the registry sent, which may be a path.
    fn absolute(&self, url: &str) -> String {
        if url.starts_with("http://") || url.starts_with("https://") {
            return url.to_owned();
        }
        format!("{}{url}", self.base.get().map_or("", String::as_str))
    }

    /// The absolute URL of a `Location` header (registries may send a path).
    fn location(&self, headers: &HeaderMap, action: &str) -> Result<String, RegistryError> {
        let location = headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| self.error(action, Problem::Unsupported("no upload location in the answer".into())))?;
        Ok(self.absolute(location))
    }
}

/// Tags asked for per page of a tag list.
const TAGS_PAGE: usize = 1000;

/// The next page of a list: `Link: <URL>; rel="next"`.
fn next_page(headers: &HeaderMap) -> Option<String> {
    let link = headers.get(reqwest::header::LINK)?.to_str().ok()?;
    link.split(',').find(|part| part.contains("rel=\"next\"")).and_then(|part| Some(part.split_once('<')?.1.split_once('>')?.0.to_owned()))
}

fn found(headers: &HeaderMap) -> Found {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    Found {
        digest: text("docker-content-digest"),
        media_type: text("content-type").unwrap_or_default(),
        size: text("content-length").and_then(|l| l.parse().ok()).unwrap_or(0),
    }
}

fn retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 502 | 503 | 504)
}

/// `Retry-After` in seconds (HTTP dates are rare from registries and read as absent).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers.get(RETRY_AFTER)?.to_str().ok()?.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// The distribution API's error body, `{"errors":[{"code":…,"message":…}]}`, as one line.
fn error_detail(body: &[u8]) -> String {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else { return String::new() };
    let errors = value.get("errors").and_then(serde_json::Value::as_array).into_iter().flatten();
    let text = |e: &serde_json::Value, k: &str| e.get(k).and_then(serde_json::Value::as_str).unwrap_or_default().to_owned();
    errors.map(|e| format!("{} {}", text(e, "code"), text(e, "message")).trim().to_owned()).collect::<Vec<_>>().join("; ")
}

/// A transport error and its root cause, on one line.
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

/// A blob's body that survives broken streams: when one breaks, the rest is asked for from the
/// first byte not yet handed out (a range request, after the client's backoff, up to its
/// attempts); a registry that ignores the range sends the whole body again and the bytes
/// already handed out are skipped. A partial answer must start where it was asked to.
pub(crate) struct BlobStream<'a> {
    registry: &'a Registry,
    repository: &'a str,
    digest: &'a str,
    response: Response,
    /// Bytes of the blob handed out so far.
    read: u64,
    /// Bytes still to drop from the current response (a registry that ignored the range).
    skip: u64,
    /// Streams that broke so far.
    breaks: u32,
}

impl BlobStream<'_> {
    /// The next piece of the blob, `None` at its end.
    pub(crate) async fn next(&mut self) -> Result<Option<Bytes>, RegistryError> {
        loop {
            match self.response.chunk().await {
                Ok(Some(mut piece)) => {
                    let dropped = self.skip.min(piece.len() as u64);
                    self.skip -= dropped;
                    let piece = piece.split_off(dropped as usize);
                    if !piece.is_empty() {
                        self.read += piece.len() as u64;
                        return Ok(Some(piece));
                    }
                }
                Ok(None) => return Ok(None),
                Err(e) if self.breaks + 1 >= self.registry.behaviour.attempts => {
                    return Err(self.failed(Problem::Unreachable(format!("the stream broke {} times: {}", self.breaks + 1, describe(&e)))));
                }
                Err(_) => self.resume().await?,
            }
        }
    }

    /// Asks for the rest of the blob after a broken stream.
    async fn resume(&mut self) -> Result<(), RegistryError> {
        self.breaks += 1;
        tokio::time::sleep(self.registry.backoff(self.breaks)).await;
        self.response = self.registry.blob_get_from(self.repository, self.digest, self.read).await?;
        self.skip = match self.response.status() {
            StatusCode::PARTIAL_CONTENT => {
                let start = self.response.headers().get(CONTENT_RANGE).and_then(|v| v.to_str().ok()).and_then(range_start);
                if start != Some(self.read) {
                    return Err(self.failed(Problem::Unsupported(format!("asked for the blob from byte {}, the registry answered {start:?}", self.read))));
                }
                0
            }
            _ => self.read,
        };
        Ok(())
    }

    fn failed(&self, problem: Problem) -> RegistryError {
        self.registry.error(&format!("reading the blob `{}` from `{}`", self.digest, self.repository), problem)
    }
}

/// The first byte of a `Content-Range: bytes START-END/TOTAL` answer.
fn range_start(value: &str) -> Option<u64> {
    value.strip_prefix("bytes ")?.split_once('-')?.0.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_answer_names_its_first_byte() {
        assert_eq!(range_start("bytes 2000000-3999999/4000000"), Some(2_000_000));
        assert_eq!(range_start("bytes */4000000"), None);
        assert_eq!(range_start("items 0-1/2"), None);
    }

    #[test]
    fn the_next_page_comes_from_the_link_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(next_page(&headers), None);
        headers.insert(reqwest::header::LINK, r#"</v2/shop/web/tags/list?last=v9&n=1000>; rel="next""#.parse().unwrap());
        assert_eq!(next_page(&headers).as_deref(), Some("/v2/shop/web/tags/list?last=v9&n=1000"));
        headers.insert(reqwest::header::LINK, r#"<https://r.example/a>; rel="prev", <https://r.example/b>; rel="next""#.parse().unwrap());
        assert_eq!(next_page(&headers).as_deref(), Some("https://r.example/b"));
    }

    #[test]
    fn registry_errors_and_retry_after_are_read() {
        let body = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}}]}"#;
        assert_eq!(error_detail(body), "MANIFEST_UNKNOWN manifest unknown");
        assert_eq!(error_detail(b"not json"), "");
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(RETRY_AFTER, "Wed, 21 Oct 2026 07:28:00 GMT".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
        assert!(retryable(StatusCode::TOO_MANY_REQUESTS) && !retryable(StatusCode::NOT_FOUND));
    }
}
