//! A real OCI registry for tests: Debian's `docker-registry` (the CNCF distribution registry)
//! on a free 127.0.0.1 port, storing blobs in a temporary directory, killed on drop.

use std::fs;
use std::io::{self, Read as _, Write as _};
use std::net::TcpStream;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::{Error, Server, free_port, io_err};

const REGISTRY_BINARY: &str = "/usr/bin/docker-registry";

/// The user of a registry started with [`TestRegistry::start_with_basic_auth`].
pub const REGISTRY_USER: &str = "ferry";
/// The password of [`REGISTRY_USER`].
pub const REGISTRY_PASSWORD: &str = "ferry-test-password";
/// bcrypt of [`REGISTRY_PASSWORD`] (cost 5), the only form `htpasswd` files may hold for the registry.
const REGISTRY_PASSWORD_BCRYPT: &str = "$2b$05$ferrytestsaltferryteseWBJUpeB9WnXfKV1rTEB9ehA0ZAnaJaG";
const START_ATTEMPTS: usize = 3;

/// A running registry; killed when dropped. Deletes enabled; anonymous and plain HTTP unless
/// started with basic authentication or TLS.
pub struct TestRegistry {
    dir: tempfile::TempDir,
    child: Child,
    port: u16,
    basic_auth: bool,
    tls: bool,
}

impl TestRegistry {
    /// Starts `docker-registry serve` and waits until `GET /v2/` answers.
    pub fn start() -> Result<TestRegistry, Error> {
        TestRegistry::start_with(false, false)
    }

    /// Starts a registry that asks for HTTP basic authentication: [`REGISTRY_USER`] with
    /// [`REGISTRY_PASSWORD`] (an `htpasswd` file), over plain HTTP on loopback.
    pub fn start_with_basic_auth() -> Result<TestRegistry, Error> {
        TestRegistry::start_with(true, false)
    }

    /// Starts a registry behind HTTPS (a certificate for `127.0.0.1` from a throw-away CA, see
    /// [`TestRegistry::ca_bundle`]) that asks for basic authentication as
    /// [`TestRegistry::start_with_basic_auth`] does. [`TestRegistry::get`] does not speak TLS.
    pub fn start_with_tls_and_basic_auth() -> Result<TestRegistry, Error> {
        TestRegistry::start_with(true, true)
    }

    /// The CA certificate (PEM) of a registry started with TLS.
    pub fn ca_bundle(&self) -> PathBuf {
        self.path().join("ca.pem")
    }

    fn start_with(basic_auth: bool, tls: bool) -> Result<TestRegistry, Error> {
        if !Path::new(REGISTRY_BINARY).is_file() {
            return Err(Error::MissingBinary(REGISTRY_BINARY.into()));
        }
        let mut last = None;
        for _ in 0..START_ATTEMPTS {
            match TestRegistry::start_once(basic_auth, tls) {
                Ok(registry) => return Ok(registry),
                // A port picked as free can be taken by a parallel test before the registry binds it.
                Err(Error::NotReady(msg)) if msg.contains("address already in use") => last = Some(Error::NotReady(msg)),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::NotReady("registry did not start".into())))
    }

    fn start_once(basic_auth: bool, tls: bool) -> Result<TestRegistry, Error> {
        let dir = tempfile::Builder::new().prefix("ferry-registry-").tempdir().map_err(io_err("creating the registry directory"))?;
        let port = free_port()?;
        let config = dir.path().join("config.yml");
        let mut yaml = config_yaml(&dir.path().join("data"), port);
        if tls {
            crate::tls::make_certificates(dir.path(), "127.0.0.1")?;
            let at = |file: &str| dir.path().join(file).display().to_string();
            yaml.push_str(&format!("  tls:\n    certificate: {}\n    key: {}\n", at("server.pem"), at("server.key")));
        }
        if basic_auth {
            let htpasswd = dir.path().join("htpasswd");
            fs::write(&htpasswd, format!("{REGISTRY_USER}:{REGISTRY_PASSWORD_BCRYPT}\n")).map_err(io_err("writing the registry's htpasswd"))?;
            yaml.push_str(&format!("auth:\n  htpasswd:\n    realm: ferry-test\n    path: {}\n", htpasswd.display()));
        }
        fs::write(&config, yaml).map_err(io_err("writing the registry config"))?;
        let log = fs::File::create(dir.path().join("registry.log")).map_err(io_err("creating registry.log"))?;
        let stderr = log.try_clone().map_err(io_err("opening registry.log"))?;
        let mut command = Command::new(REGISTRY_BINARY);
        command.arg("serve").arg(&config).stdin(Stdio::null()).stdout(log).stderr(stderr);
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
        unsafe {
            command.pre_exec(|| if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == 0 { Ok(()) } else { Err(io::Error::last_os_error()) });
        }
        let child = command.spawn().map_err(io_err(format!("starting {REGISTRY_BINARY}")))?;
        let mut registry = TestRegistry { dir, child, port, basic_auth, tls };
        registry.wait_ready()?;
        Ok(registry)
    }

    /// `127.0.0.1:PORT`, the registry part of image references (`127.0.0.1:PORT/ferry:test`).
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The registry's private directory (config, `registry.log`, `data/`).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// What the registry logged so far (its access log included).
    pub fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn log_path(&self) -> PathBuf {
        self.path().join("registry.log")
    }

    /// The requests the registry served so far, `METHOD PATH` each, from its access log.
    pub fn requests(&self) -> Vec<String> {
        self.log().lines().filter_map(request_of_access_line).collect()
    }

    /// A plain HTTP/1.0 GET of `path` (e.g. `/v2/ferry/manifests/test`) with the registry's
    /// credentials if it has any; returns the status and body. Manifests are asked for as OCI or
    /// Docker v2 manifests or indexes.
    pub fn get(&self, path: &str) -> Result<(u16, Vec<u8>), Error> {
        let exchange = || -> io::Result<Vec<u8>> {
            let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
            stream.set_read_timeout(Some(Duration::from_secs(30)))?;
            let accept = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json";
            let auth = if self.basic_auth { format!("Authorization: Basic {}\r\n", basic_credentials()) } else { String::new() };
            write!(stream, "GET {path} HTTP/1.0\r\nHost: {}\r\nAccept: {accept}\r\n{auth}\r\n", self.host())?;
            let mut response = Vec::new();
            stream.read_to_end(&mut response)?;
            Ok(response)
        };
        let response = exchange().map_err(io_err(format!("GET {path} from the test registry")))?;
        let split = response.windows(4).position(|w| w == b"\r\n\r\n");
        let status = response.get(9..12).and_then(|s| std::str::from_utf8(s).ok()).and_then(|s| s.parse::<u16>().ok());
        match (split, status) {
            (Some(at), Some(status)) => Ok((status, response[at + 4..].to_vec())),
            _ => Err(Error::NotReady(format!("GET {path}: not an HTTP response: {}", String::from_utf8_lossy(&response)))),
        }
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `METHOD PATH` of an access-log line (`… "PUT /v2/x/blobs/uploads/… HTTP/1.1" 201 …`).
fn request_of_access_line(line: &str) -> Option<String> {
    let (_, rest) = line.split_once('"')?;
    let (request, _) = rest.split_once('"')?;
    let mut parts = request.split(' ');
    let (method, path, version) = (parts.next()?, parts.next()?, parts.next()?);
    version.starts_with("HTTP/").then(|| format!("{method} {path}"))
}

/// `REGISTRY_USER:REGISTRY_PASSWORD` in base64, as a basic `Authorization` header and Docker's `config.json` hold it.
pub fn basic_credentials() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("{REGISTRY_USER}:{REGISTRY_PASSWORD}"))
}

fn config_yaml(data: &Path, port: u16) -> String {
    format!(
        "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n  maintenance:\n    uploadpurging:\n      enabled: false\nhttp:\n  addr: 127.0.0.1:{port}\n",
        data.display()
    )
}

impl Server for TestRegistry {
    const NAME: &'static str = "docker-registry";
    const READY_TIMEOUT: Duration = Duration::from_secs(30);

    fn process(&mut self) -> &mut Child {
        &mut self.child
    }

    /// 401: the registry answers, and asks for credentials.
    fn answers(&self) -> bool {
        if self.tls {
            return TcpStream::connect(("127.0.0.1", self.port)).is_ok() && self.log().contains("listening on");
        }
        self.get("/v2/").is_ok_and(|(status, _)| status == 200 || status == 401)
    }

    fn log(&self) -> String {
        TestRegistry::log(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_lines_give_method_and_path() {
        let line = r#"127.0.0.1 - - [06/Dec/2026:22:30:00 +0000] "HEAD /v2/ferry/blobs/sha256:ab HTTP/1.1" 404 157 "" "oci-client/0.18.0""#;
        assert_eq!(request_of_access_line(line).as_deref(), Some("HEAD /v2/ferry/blobs/sha256:ab"));
        assert_eq!(request_of_access_line(r#"time="…" level=info msg="listening on 127.0.0.1:5000""#), None);
    }

    #[test]
    fn registry_starts_answers_and_stops() {
        let registry = TestRegistry::start().unwrap();
        let (status, body) = registry.get("/v2/").unwrap();
        assert_eq!((status, body), (200, b"{}".to_vec()));
        assert_eq!(registry.get("/v2/missing/manifests/1").unwrap().0, 404);
        assert!(registry.requests().contains(&"GET /v2/missing/manifests/1".to_owned()), "{}", registry.log());
        let port = registry.port;
        drop(registry);
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    }

    #[test]
    fn a_registry_with_basic_auth_refuses_anonymous_requests() {
        let mut registry = TestRegistry::start_with_basic_auth().unwrap();
        assert_eq!(registry.get("/v2/").unwrap().0, 200);
        registry.basic_auth = false;
        assert_eq!(registry.get("/v2/").unwrap().0, 401);
    }
}
