//! S3-compatible storage through `object_store`: building the client from [`S3Settings`],
//! multipart uploads with bounded memory, downloads fed to the synchronous reader through a
//! bounded channel, and storage errors explained in plain words.

use std::io::{self, Read};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt as _;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{BackoffConfig, ClientOptions, ObjectStoreExt as _, RetryConfig, WriteMultipart};

use crate::{ArchiveError, S3Location};

/// Size of every multipart part but the last: above S3's 5 MiB minimum, equal sizes for
/// stores that demand them (Cloudflare R2). With S3's 10 000-part limit an archive can reach
/// 80 GiB compressed.
pub(crate) const PART_SIZE: usize = 8 * 1024 * 1024;

/// Parts uploaded at once; memory stays below `(PARTS_IN_FLIGHT + 1) * PART_SIZE`.
const PARTS_IN_FLIGHT: usize = 2;

/// Downloaded chunks waiting for the reader.
const CHUNKS_AHEAD: usize = 8;

/// A client for the location's bucket (the key is not used), with ferry's timeouts and retries;
/// refuses missing or half-set credentials.
pub fn store(location: &S3Location) -> Result<AmazonS3, ArchiveError> {
    let settings = &location.settings;
    let refuse = |problem: &str| ArchiveError::S3Settings { archive: location.to_string(), problem: problem.to_owned() };
    let (key_id, secret) = match (&settings.access_key_id, &settings.secret_access_key) {
        (Some(key_id), Some(secret)) => (key_id, secret),
        (None, None) => return Err(refuse("no S3 credentials; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")),
        _ => return Err(refuse("only half of the S3 credentials are set; set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")),
    };
    let client = ClientOptions::new().with_connect_timeout(Duration::from_secs(10)).with_timeout(Duration::from_secs(300));
    let retry = match settings.retry_window {
        // Backoff grows to 15 s between tries, so the window, not the count, ends the retries.
        Some(window) => RetryConfig { backoff: BackoffConfig::default(), max_retries: usize::MAX, retry_timeout: window },
        None => RetryConfig { backoff: BackoffConfig::default(), max_retries: 3, retry_timeout: Duration::from_secs(60) },
    };
    let mut builder = AmazonS3Builder::new()
        .with_client_options(client)
        .with_retry(retry)
        .with_allow_http(settings.allow_http)
        .with_bucket_name(&location.bucket)
        .with_region(settings.region.as_deref().unwrap_or("us-east-1"))
        .with_virtual_hosted_style_request(!settings.path_style)
        .with_access_key_id(key_id)
        .with_secret_access_key(secret);
    if let Some(token) = &settings.session_token {
        builder = builder.with_token(token);
    }
    if let Some(endpoint) = &settings.endpoint {
        builder = builder.with_endpoint(endpoint_for(endpoint, &location.bucket, settings.path_style));
    }
    builder.build().map_err(|e| refuse(&format!("the S3 settings are not usable ({e}); check AWS_ENDPOINT_URL and AWS_REGION")))
}

/// `object_store` expects a virtual-hosted endpoint to name the bucket already.
fn endpoint_for(endpoint: &str, bucket: &str, path_style: bool) -> String {
    match endpoint.split_once("://") {
        Some((scheme, host)) if !path_style => format!("{scheme}://{bucket}.{host}"),
        _ => endpoint.to_owned(),
    }
}

/// The object's path in the bucket.
fn object_path(location: &S3Location) -> Result<Path, ArchiveError> {
    Path::parse(&location.key).map_err(|_| ArchiveError::S3Settings {
        archive: location.to_string(),
        problem: "the key has an empty segment, a `.` or `..` segment, or a control character".to_owned(),
    })
}

/// A storage failure explained: which of the usual causes it is, and what to do.
pub fn storage_error(location: &S3Location, action: &'static str, source: object_store::Error) -> ArchiveError {
    let problem = explain(location, &source);
    ArchiveError::Storage { archive: location.to_string(), action, problem, source: Box::new(source) }
}

/// The plain-words cause of a storage failure: the S3 error code in the server's answer, or
/// the low-level cause (the messages in the chain without a URL, so that a bucket or key name
/// cannot look like a cause).
fn explain(location: &S3Location, err: &object_store::Error) -> String {
    let causes = causes(err);
    let code = causes.iter().find_map(|cause| s3_code(cause)).unwrap_or_default();
    let low_level: Vec<&String> = causes.iter().filter(|cause| !cause.contains("://")).collect();
    let below = |marker: &str| low_level.iter().any(|cause| cause.contains(marker));
    let endpoint = location.settings.endpoint.as_deref().unwrap_or("AWS S3");
    match code {
        "NoSuchBucket" => format!("the bucket `{}` does not exist; create it, or check the URL and the endpoint", location.bucket),
        "InvalidAccessKeyId" | "SignatureDoesNotMatch" | "ExpiredToken" | "InvalidToken" => {
            "the server refused the credentials; check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN".to_owned()
        }
        "AccessDenied" => format!("access denied; the credentials may not use the bucket `{}`", location.bucket),
        _ if matches!(err, object_store::Error::Unauthenticated { .. } | object_store::Error::PermissionDenied { .. }) => {
            "the server refused the request; check the credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) and their permissions on the bucket".to_owned()
        }
        _ if below("certificate") || below("corrupt message") || below("InvalidContentType") || below("tls") => format!(
            "the TLS handshake with `{endpoint}` failed; check that the endpoint speaks https (use http:// for a plain one) and that its certificate is trusted"
        ),
        _ if ["error sending request", "onnection refused", "timed out", "dns error", "connection closed"].iter().any(|m| below(m)) => {
            format!("the storage endpoint `{endpoint}` did not answer; check AWS_ENDPOINT_URL and that the server is running")
        }
        _ => "the storage request failed".to_owned(),
    }
}

/// The messages of an error and all its sources.
fn causes(err: &(dyn std::error::Error + 'static)) -> Vec<String> {
    std::iter::successors(Some(err), |e| e.source()).map(ToString::to_string).collect()
}

/// The S3 error code (`<Code>NoSuchBucket</Code>`) in a server's answer.
fn s3_code(text: &str) -> Option<&str> {
    let start = text.find("<Code>")? + "<Code>".len();
    let len = text[start..].find("</Code>")?;
    Some(&text[start..start + len])
}

/// An upload in progress: parts of [`PART_SIZE`] go out as they fill, at most
/// [`PARTS_IN_FLIGHT`] at a time; nothing is visible until [`Upload::finish`].
pub(crate) struct Upload {
    location: S3Location,
    parts: WriteMultipart,
}

impl Upload {
    /// Starts a multipart upload (the request that fails at once on a missing bucket or bad credentials).
    pub(crate) async fn start(location: &S3Location) -> Result<Upload, ArchiveError> {
        let store = store(location)?;
        let path = object_path(location)?;
        let upload = store.put_multipart(&path).await.map_err(|e| storage_error(location, "start uploading", e))?;
        Ok(Upload { location: location.clone(), parts: WriteMultipart::new_with_chunk_size(upload, PART_SIZE) })
    }

    /// Queues bytes; waits while too many parts are in flight.
    pub(crate) async fn write(&mut self, bytes: Vec<u8>) -> Result<(), ArchiveError> {
        self.parts.put(Bytes::from(bytes));
        self.parts.wait_for_capacity(PARTS_IN_FLIGHT).await.map_err(|e| storage_error(&self.location, "upload", e))
    }

    /// Uploads the rest and completes the upload, which makes the object visible.
    pub(crate) async fn finish(mut self, tail: Vec<u8>) -> Result<(), ArchiveError> {
        self.parts.put(Bytes::from(tail));
        // `WriteMultipart::finish` aborts the upload itself when a part or the completion fails.
        self.parts.finish().await.map(drop).map_err(|e| storage_error(&self.location, "complete the upload of", e))
    }

    /// Abandons the upload; the server discards the parts. Best effort: a server that cannot be
    /// reached keeps an invisible incomplete upload until a lifecycle rule removes it.
    pub(crate) async fn abort(self) {
        let _ = self.parts.abort().await;
    }
}

/// Opens the object for reading; the bytes arrive through a bounded channel.
pub(crate) async fn download(location: &S3Location) -> Result<Download, ArchiveError> {
    let store = store(location)?;
    let path = object_path(location)?;
    let result = match store.get(&path).await {
        Ok(result) => result,
        Err(err @ object_store::Error::NotFound { .. }) if !causes(&err).iter().any(|c| s3_code(c) == Some("NoSuchBucket")) => {
            return Err(ArchiveError::NotFound { archive: location.to_string() });
        }
        Err(err) => return Err(storage_error(location, "download", err)),
    };
    let mut stream = result.into_stream();
    let (sender, receiver) = tokio::sync::mpsc::channel(CHUNKS_AHEAD);
    tokio::spawn(async move {
        while let Some(chunk) = stream.next().await {
            let failed = chunk.is_err();
            if sender.send(chunk).await.is_err() || failed {
                break;
            }
        }
    });
    Ok(Download { receiver, current: Bytes::new() })
}

/// A downloading object as a blocking `Read`, for use inside `spawn_blocking`.
pub(crate) struct Download {
    receiver: tokio::sync::mpsc::Receiver<object_store::Result<Bytes>>,
    current: Bytes,
}

impl Read for Download {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.receiver.blocking_recv() {
                Some(Ok(bytes)) => self.current = bytes,
                Some(Err(err)) => return Err(io::Error::other(err)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// The download failure inside an error that surfaced through the reader, or the error as it was.
pub(crate) fn transfer_error(err: io::Error) -> Result<object_store::Error, io::Error> {
    if !err.get_ref().is_some_and(|inner| inner.is::<object_store::Error>()) {
        return Err(err);
    }
    let kind = err.kind();
    match err.into_inner().map(|inner| inner.downcast::<object_store::Error>()) {
        Some(Ok(source)) => Ok(*source),
        Some(Err(other)) => Err(io::Error::new(kind, other)),
        None => Err(io::Error::from(kind)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_codes_are_read_from_the_answer() {
        let answer = "404 Not Found: <?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code><Message>x</Message></Error>";
        assert_eq!(s3_code(answer), Some("NoSuchBucket"));
        assert_eq!(s3_code("no answer"), None);
    }

    #[test]
    fn virtual_hosted_endpoints_name_the_bucket() {
        assert_eq!(endpoint_for("https://s3.example", "b", false), "https://b.s3.example");
        assert_eq!(endpoint_for("http://127.0.0.1:9000", "b", true), "http://127.0.0.1:9000");
    }
}
