//! Registry credentials the way users keep them: Docker's and Podman's `config.json` (`auths`
//! entries, `credHelpers` and `credsStore` credential helpers, `registrytoken`), or given in
//! code. `Debug` never shows a secret, and no error holds one.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use oci_client::secrets::RegistryAuth;

use crate::error::Error;
use crate::push::parse_reference;

/// How to log in to a registry. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials(RegistryAuth);

impl Credentials {
    /// No credentials (anonymous, or a bearer token obtained without any).
    pub fn anonymous() -> Credentials {
        Credentials(RegistryAuth::Anonymous)
    }

    /// A user name and password (HTTP basic, or to obtain a bearer token).
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Credentials {
        Credentials(RegistryAuth::Basic(username.into(), password.into()))
    }

    /// The credentials Docker's `config.json` holds for `registry` (host and port, e.g.
    /// `registry.example.com:5000`): `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
    /// No file, or no entry for the registry, means anonymous.
    pub fn from_docker_config(registry: &str) -> Result<Credentials, Error> {
        match docker_config_path() {
            Some(path) if path.is_file() => Credentials::from_docker_config_file(&path, registry),
            _ => Ok(Credentials::anonymous()),
        }
    }

    /// The credentials Docker's `config.json` holds for the registry of `reference`
    /// (`REGISTRY/REPOSITORY[:TAG]`), as [`Credentials::from_docker_config`] finds them.
    pub fn for_reference(reference: &str) -> Result<Credentials, Error> {
        Credentials::from_docker_config(parse_reference(reference)?.resolve_registry())
    }

    /// A registry token used as is (`Authorization: Bearer …`).
    pub fn bearer(token: impl Into<String>) -> Credentials {
        Credentials(RegistryAuth::Bearer(token.into()))
    }

    /// What to authenticate with.
    pub(crate) fn auth(&self) -> &RegistryAuth {
        &self.0
    }

    /// The credentials a Docker `config.json` at `path` gives for `registry`: its `credHelpers`
    /// entry or `credsStore` (the `docker-credential-NAME get` program), else its `auths` entry
    /// (`auth`, base64 `user:password`, or `registrytoken`); anonymous if there is none.
    pub fn from_docker_config_file(path: &Path, registry: &str) -> Result<Credentials, Error> {
        let invalid = |reason: String| Error::DockerConfig { path: path.display().to_string(), reason };
        let text = std::fs::read_to_string(path).map_err(|e| invalid(e.to_string()))?;
        let config: serde_json::Value = serde_json::from_str(&text).map_err(|e| invalid(format!("not JSON: {e}")))?;
        let for_registry = |key: &String| key_names_registry(key, registry);
        let helper = config.get("credHelpers").and_then(serde_json::Value::as_object).and_then(|h| h.iter().find(|(k, _)| for_registry(k)).map(|(_, v)| v));
        if let Some(helper) = helper.or_else(|| config.get("credsStore")).and_then(serde_json::Value::as_str) {
            return from_helper(helper, registry).map_err(invalid);
        }
        match config.get("auths").and_then(serde_json::Value::as_object) {
            Some(auths) => Credentials::from_auths(auths, registry).map_err(invalid),
            None => Ok(Credentials::anonymous()),
        }
    }

    /// The credentials an `auths` map (of a `config.json`, or of a Kubernetes pull secret's
    /// `.dockerconfigjson`) holds for `registry`: `auth` (base64 `user:password`), `username`
    /// and `password`, or `registrytoken`; anonymous if there is no entry. Errors never hold
    /// the entry's values.
    pub fn from_auths(auths: &serde_json::Map<String, serde_json::Value>, registry: &str) -> Result<Credentials, String> {
        let Some(entry) = auths.iter().find(|(key, _)| key_names_registry(key, registry)).map(|(_, entry)| entry) else {
            return Ok(Credentials::anonymous());
        };
        let text = |name: &str| entry.get(name).and_then(serde_json::Value::as_str).filter(|t| !t.is_empty());
        if let Some(token) = text("registrytoken") {
            return Ok(Credentials::bearer(token));
        }
        if let (Some(user), Some(password)) = (text("username"), text("password")) {
            return Ok(Credentials::basic(user, password));
        }
        let Some(auth) = text("auth") else {
            return Ok(Credentials::anonymous());
        };
        let decoded = base64::engine::general_purpose::STANDARD.decode(auth.trim()).map_err(|_| format!("the `auth` of `{registry}` is not base64"))?;
        let decoded = String::from_utf8(decoded).map_err(|_| format!("the `auth` of `{registry}` is not UTF-8"))?;
        match decoded.split_once(':') {
            Some((user, password)) => Ok(Credentials::basic(user, password)),
            None => Err(format!("the `auth` of `{registry}` is not `user:password`")),
        }
    }

    /// The credentials of the Docker `config.json` at `path`, or at Docker's default place when
    /// `None` (see [`Credentials::from_docker_config`]).
    pub fn from_docker_config_at(path: Option<&Path>, registry: &str) -> Result<Credentials, Error> {
        match path {
            Some(path) => Credentials::from_docker_config_file(path, registry),
            None => Credentials::from_docker_config(registry),
        }
    }
}

/// Asks `docker-credential-NAME get` for `registry`'s credentials (`{"Username", "Secret"}` on
/// its standard output). A helper that knows no credentials for the registry means anonymous; an
/// identity token (user name `<token>`, an OAuth2 refresh token) is refused. The helper's output never reaches an
/// error message.
fn from_helper(name: &str, registry: &str) -> Result<Credentials, String> {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let program = format!("docker-credential-{name}");
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run the credential helper `{program}`: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(registry.as_bytes()).map_err(|e| format!("cannot talk to `{program}`: {e}"))?;
    }
    let output = child.wait_with_output().map_err(|e| format!("cannot run the credential helper `{program}`: {e}"))?;
    if !output.status.success() {
        return Ok(Credentials::anonymous());
    }
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).map_err(|_| format!("`{program} get` did not answer with JSON"))?;
    let text = |key: &str| answer.get(key).and_then(serde_json::Value::as_str).unwrap_or_default().to_owned();
    match (text("Username"), text("Secret")) {
        (_, secret) if secret.is_empty() => Ok(Credentials::anonymous()),
        (user, _) if user == "<token>" => {
            Err(format!("`{program}` holds an identity token for `{registry}`, which ferry cannot use; log in with a user name and password"))
        }
        (user, secret) => Ok(Credentials::basic(user, secret)),
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            RegistryAuth::Anonymous => f.write_str("Credentials(anonymous)"),
            RegistryAuth::Basic(..) | RegistryAuth::Bearer(_) => f.write_str("Credentials(<redacted>)"),
        }
    }
}

fn docker_config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG") {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker/config.json"))
}

/// The host (and port) of a `config.json` key: `https://index.docker.io/v1/` → `index.docker.io`.
/// Whether a `config.json` `auths` key (`https://index.docker.io/v1/`, `registry.example.com`)
/// names `registry` (a host and port; Docker Hub's names are one registry).
pub(crate) fn key_names_registry(key: &str, registry: &str) -> bool {
    registry_of_key(key) == registry || (is_docker_hub(registry) && is_docker_hub(registry_of_key(key)))
}

fn registry_of_key(key: &str) -> &str {
    let key = key.split_once("://").map_or(key, |(_, rest)| rest);
    key.split('/').next().unwrap_or(key)
}

fn is_docker_hub(registry: &str) -> bool {
    matches!(registry, "docker.io" | "index.docker.io" | "registry-1.docker.io")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_config_auths_are_matched_by_registry_and_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        let auth = base64::engine::general_purpose::STANDARD.encode("robot:s3cret-pass");
        let text = serde_json::json!({"auths": {
            "https://index.docker.io/v1/": {"auth": auth},
            "registry.example.com:5000": {"auth": auth},
            "broken.example.com": {"auth": "!!"},
        }});
        std::fs::write(&path, text.to_string()).unwrap();
        let found = Credentials::from_docker_config_file(&path, "registry.example.com:5000").unwrap();
        assert_eq!(found, Credentials::basic("robot", "s3cret-pass"));
        assert_eq!(format!("{found:?}"), "Credentials(<redacted>)");
        assert_eq!(Credentials::from_docker_config_file(&path, "docker.io").unwrap(), Credentials::basic("robot", "s3cret-pass"));
        assert_eq!(Credentials::from_docker_config_file(&path, "other.example.com").unwrap(), Credentials::anonymous());
        let err = Credentials::from_docker_config_file(&path, "broken.example.com").unwrap_err().to_string();
        assert!(err.contains("is not base64") && !err.contains("s3cret"), "{err}");
    }
}
