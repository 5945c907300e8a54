//! Where an archive lives: a directory, a single file, or one object in S3-compatible storage,
//! and the settings that reach the storage. Parsing only: nothing here touches the network.

use std::fmt;
use std::path::PathBuf;

use crate::ArchiveError;

/// The object name used when an `s3://` URL names a bucket or a prefix ending in `/`.
pub const DEFAULT_OBJECT_NAME: &str = "ferry-archive.tar.zst";

/// Where an archive is written to or read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A directory of plain JSON files with `manifest.json` at its top.
    Directory(PathBuf),
    /// A single zstd-compressed tar file (the default form), optionally encrypted.
    File(PathBuf),
    /// One object in S3-compatible storage holding the same bytes as a single-file archive.
    S3(S3Location),
}

/// One object in S3-compatible storage, with the settings that reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    /// The bucket.
    pub bucket: String,
    /// The object key; never empty and never ending in `/`.
    pub key: String,
    /// Endpoint, region and credentials.
    pub settings: S3Settings,
}

/// How to reach S3-compatible storage. `Debug` never shows the secret key or session token.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct S3Settings {
    /// The endpoint URL, e.g. `http://127.0.0.1:9000`; `None` means AWS S3 itself.
    pub endpoint: Option<String>,
    /// The region; `None` means `us-east-1`.
    pub region: Option<String>,
    /// The access key id.
    pub access_key_id: Option<String>,
    /// The secret access key.
    pub secret_access_key: Option<String>,
    /// A session token for temporary credentials.
    pub session_token: Option<String>,
    /// Path-style addressing (`ENDPOINT/BUCKET/KEY`) instead of virtual-hosted style
    /// (`BUCKET.ENDPOINT/KEY`); most S3-compatible servers need it.
    pub path_style: bool,
    /// Whether a plain `http://` endpoint may be used.
    pub allow_http: bool,
    /// How long a request that gets no answer (the connection refused, a timeout, a server
    /// error) is retried, with backoff, before it fails; `None` gives up after three retries
    /// within a minute (an interactive command should tell its user soon). Movers set it long,
    /// so that a store that is down for a while is waited for.
    pub retry_window: Option<std::time::Duration>,
}

impl fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |value: &Option<String>| value.as_ref().map(|_| "<redacted>");
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &redacted(&self.secret_access_key))
            .field("session_token", &redacted(&self.session_token))
            .field("path_style", &self.path_style)
            .field("allow_http", &self.allow_http)
            .field("retry_window", &self.retry_window)
            .finish()
    }
}

impl S3Settings {
    /// Reads the AWS CLI's variables: `AWS_ENDPOINT_URL_S3` (else `AWS_ENDPOINT_URL`),
    /// `AWS_REGION` (else `AWS_DEFAULT_REGION`, else `us-east-1`), `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`. An endpoint turns on path-style
    /// addressing; an `http://` endpoint allows plain HTTP. Empty variables count as unset.
    pub fn from_env() -> S3Settings {
        S3Settings::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`S3Settings::from_env`] over any source of variables.
    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> S3Settings {
        let var = |name: &str| lookup(name).filter(|value| !value.is_empty());
        let endpoint = var("AWS_ENDPOINT_URL_S3").or_else(|| var("AWS_ENDPOINT_URL"));
        let region = var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")).unwrap_or_else(|| "us-east-1".to_owned());
        S3Settings {
            path_style: endpoint.is_some(),
            allow_http: endpoint.as_deref().is_some_and(|e| e.to_ascii_lowercase().starts_with("http://")),
            endpoint,
            region: Some(region),
            access_key_id: var("AWS_ACCESS_KEY_ID"),
            secret_access_key: var("AWS_SECRET_ACCESS_KEY"),
            session_token: var("AWS_SESSION_TOKEN"),
            retry_window: None,
        }
    }
}

impl Destination {
    /// Reads a location as the user wrote it.
    ///
    /// `s3://BUCKET/KEY` is an S3 object; when the key is empty or ends in `/`,
    /// [`DEFAULT_OBJECT_NAME`] is appended. An existing directory, or a path ending in `/`,
    /// is a directory archive. Anything else is a single-file archive.
    pub fn parse(text: &str, s3: &S3Settings) -> Result<Destination, ArchiveError> {
        let problem = |problem: &str| ArchiveError::Location { text: text.to_owned(), problem: problem.to_owned() };
        if text.is_empty() {
            return Err(problem("it is empty; give a file, a directory or an s3://BUCKET/KEY URL"));
        }
        if let Some(rest) = text.get(..5).filter(|scheme| scheme.eq_ignore_ascii_case("s3://")).and_then(|_| text.get(5..)) {
            return parse_s3(rest, s3).map(Destination::S3).map_err(problem);
        }
        if let Some((scheme, _)) = text.split_once("://")
            && !scheme.is_empty()
            && scheme.chars().all(|c| c.is_ascii_alphanumeric() || c == '+')
        {
            return Err(problem("only local paths and s3://BUCKET/KEY URLs are supported"));
        }
        let path = PathBuf::from(text);
        if text.ends_with('/') || text.ends_with(std::path::MAIN_SEPARATOR) || path.is_dir() {
            Ok(Destination::Directory(path))
        } else {
            Ok(Destination::File(path))
        }
    }
}

/// Splits `BUCKET/KEY` and checks both.
fn parse_s3(rest: &str, settings: &S3Settings) -> Result<S3Location, &'static str> {
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err("the URL names no bucket; write s3://BUCKET/KEY");
    }
    if !bucket.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')) {
        return Err("a bucket name holds only letters, digits, `.`, `-` and `_`");
    }
    let key = if key.is_empty() || key.ends_with('/') { format!("{key}{DEFAULT_OBJECT_NAME}") } else { key.to_owned() };
    if object_store::path::Path::parse(&key).is_err() {
        return Err("the key has an empty segment (`//`), a `.` or `..` segment, or a control character");
    }
    Ok(S3Location { bucket: bucket.to_owned(), key, settings: settings.clone() })
}

impl fmt::Display for S3Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

impl fmt::Display for Destination {
    /// The path, or the `s3://` URL, as used in every error message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Destination::Directory(path) | Destination::File(path) => write!(f, "{}", path.display()),
            Destination::S3(location) => location.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Destination, ArchiveError> {
        Destination::parse(text, &S3Settings::default())
    }

    fn s3(text: &str) -> (String, String) {
        match parse(text) {
            Ok(Destination::S3(location)) => (location.bucket, location.key),
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn s3_urls_name_a_bucket_and_a_key() {
        assert_eq!(s3("s3://backups/prod/2026.tar.zst"), ("backups".into(), "prod/2026.tar.zst".into()));
        assert_eq!(s3("S3://backups"), ("backups".into(), DEFAULT_OBJECT_NAME.into()));
        assert_eq!(s3("s3://backups/"), ("backups".into(), DEFAULT_OBJECT_NAME.into()));
        assert_eq!(s3("s3://backups/prod/"), ("backups".into(), format!("prod/{DEFAULT_OBJECT_NAME}")));
    }

    #[test]
    fn bad_s3_urls_say_why() {
        for text in ["s3://", "s3:///key", "s3://b/a//c", "s3://b/../x", "s3://bad bucket/k"] {
            let err = parse(text).expect_err(text).to_string();
            assert!(err.contains(&format!("`{text}`")), "{err}");
        }
        assert!(parse("gs://bucket/key").expect_err("gs").to_string().contains("only local paths"));
    }

    #[test]
    fn local_paths_are_files_unless_they_are_directories() {
        let dir = tempfile::tempdir().expect("temp dir");
        let existing = dir.path().to_string_lossy().into_owned();
        assert_eq!(parse(&existing).ok(), Some(Destination::Directory(dir.path().to_path_buf())));
        assert!(matches!(parse("new-archive/"), Ok(Destination::Directory(_))));
        assert!(matches!(parse("backup.tar.zst"), Ok(Destination::File(_))));
        assert!(matches!(parse(""), Err(ArchiveError::Location { .. })));
    }

    #[test]
    fn settings_follow_the_aws_variables() {
        let env = |pairs: &'static [(&'static str, &'static str)]| move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned());
        let plain = S3Settings::from_lookup(env(&[]));
        assert_eq!(plain.region.as_deref(), Some("us-east-1"));
        assert!(!plain.path_style && !plain.allow_http && plain.endpoint.is_none());

        let local = S3Settings::from_lookup(env(&[
            ("AWS_ENDPOINT_URL", "https://generic.example"),
            ("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "AK"),
            ("AWS_SECRET_ACCESS_KEY", "SK"),
            ("AWS_SESSION_TOKEN", ""),
        ]));
        assert_eq!(local.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(local.region.as_deref(), Some("eu-west-1"));
        assert!(local.path_style && local.allow_http);
        assert_eq!(local.session_token, None);
        assert!(!format!("{local:?}").contains("SK"));
    }
}
