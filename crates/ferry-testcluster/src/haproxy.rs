//! A real HAProxy (Debian's `haproxy`) for cut-over and smoke tests: for cut-overs, one HTTP
//! frontend on a free 127.0.0.1 port and one round-robin backend `be` with the servers `old`
//! and `new`; for smoke tests, TLS sites that each serve one certificate on a loopback address
//! and forward by path prefix. The runtime API is on an admin unix socket and a loopback TCP
//! port; every request is logged with the TLS server name the client sent (`sni=`) and its
//! Host header; killed on drop.

use std::fs;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use crate::{Error, Server, free_port, io_err, spawn_logged};

const HAPROXY_BINARY: &str = "/usr/sbin/haproxy";

/// A running HAProxy; killed when dropped.
pub struct TestHaproxy {
    dir: tempfile::TempDir,
    child: Child,
    frontend: SocketAddr,
    admin_port: u16,
}

/// A TLS site of [`TestHaproxy::start_tls`]: HAProxy terminates TLS with one certificate
/// and forwards over HTTP.
#[derive(Debug, Clone)]
pub struct TlsSite {
    /// Where it listens (any 127.0.0.0/8 address).
    pub bind: SocketAddr,
    /// The certificate chain followed by its private key, PEM.
    pub pem: String,
    /// Serve `pem` only to clients that send this TLS server name (SNI); the others get a
    /// self-signed certificate for `no-sni.invalid`. `None`: `pem` for every client.
    pub sni: Option<String>,
    /// Path prefixes with their own backend; the first that matches wins.
    pub routes: Vec<(String, SocketAddr)>,
    /// Where every other request goes.
    pub backend: SocketAddr,
}

impl TestHaproxy {
    /// Starts HAProxy balancing between `old` (weight 100) and `new` (weight 0).
    pub fn start(old: SocketAddr, new: SocketAddr) -> Result<TestHaproxy, Error> {
        let frontend = SocketAddr::from(([127, 0, 0, 1], free_port()?));
        let sections = format!(
            "frontend fe\n  bind {frontend}\n  http-request capture req.hdr(host) len 128\n  default_backend be\n\
             backend be\n  balance roundrobin\n  server old {old} weight 100\n  server new {new} weight 0\n"
        );
        TestHaproxy::launch(frontend, &[], &sections)
    }

    /// Starts HAProxy serving each of `sites` (at least one) over TLS.
    pub fn start_tls(sites: &[TlsSite]) -> Result<TestHaproxy, Error> {
        let first = sites.first().ok_or_else(|| Error::NotReady("start_tls needs at least one site".into()))?;
        let lists: Vec<String> = sites.iter().enumerate().map(|(i, site)| crt_list(i, site)).collect();
        let mut files: Vec<(String, &str)> = Vec::new();
        for (i, site) in sites.iter().enumerate() {
            files.extend([(format!("site{i}.pem"), site.pem.as_str()), (format!("site{i}.list"), lists[i].as_str())]);
        }
        let default = sites.iter().any(|s| s.sni.is_some()).then(no_sni_certificate).transpose()?;
        files.extend(default.as_deref().map(|pem| ("no-sni.pem".to_owned(), pem)));
        let sections: String = sites.iter().enumerate().map(|(i, site)| site_sections(i, site)).collect();
        TestHaproxy::launch(first.bind, &files, &sections)
    }

    /// Writes `files` and the configuration (global settings, then `sections`) and starts
    /// HAProxy; ready once `frontend` and the runtime API answer.
    fn launch(frontend: SocketAddr, files: &[(String, &str)], sections: &str) -> Result<TestHaproxy, Error> {
        if !Path::new(HAPROXY_BINARY).is_file() {
            return Err(Error::MissingBinary(HAPROXY_BINARY.into()));
        }
        let dir = tempfile::Builder::new().prefix("ferry-haproxy-").tempdir().map_err(io_err("creating the HAProxy directory"))?;
        for (name, text) in files {
            fs::write(dir.path().join(name), text).map_err(io_err(format!("writing {name}")))?;
        }
        let admin_port = free_port()?;
        let config = dir.path().join("haproxy.cfg");
        fs::write(&config, config_text(dir.path(), admin_port, sections)).map_err(io_err("writing haproxy.cfg"))?;
        let child = spawn_logged(dir.path(), "haproxy", Command::new(HAPROXY_BINARY).arg("-db").arg("-f").arg(&config).current_dir(dir.path()))?;
        let mut haproxy = TestHaproxy { dir, child, frontend, admin_port };
        haproxy.wait_ready()?;
        Ok(haproxy)
    }

    /// The first frontend: the HTTP frontend `127.0.0.1:PORT` of [`TestHaproxy::start`], the first site of [`TestHaproxy::start_tls`].
    pub fn frontend(&self) -> SocketAddr {
        self.frontend
    }

    /// The runtime API's unix socket.
    pub fn admin_socket(&self) -> PathBuf {
        self.dir.path().join("admin.sock")
    }

    /// The runtime API's TCP address, `127.0.0.1:PORT`.
    pub fn admin_address(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.admin_port))
    }

    /// Sends one runtime API command over the unix socket and returns the answer.
    pub fn command(&self, command: &str) -> Result<String, Error> {
        let exchange = || -> std::io::Result<String> {
            let mut stream = UnixStream::connect(self.admin_socket())?;
            stream.set_read_timeout(Some(Duration::from_secs(5)))?;
            stream.write_all(format!("{command}\n").as_bytes())?;
            let mut answer = String::new();
            stream.read_to_string(&mut answer)?;
            Ok(answer)
        };
        exchange().map_err(io_err(format!("HAProxy runtime API `{command}`")))
    }

    /// The current weight of server `be/NAME`.
    pub fn weight(&self, server: &str) -> Result<u32, Error> {
        let answer = self.command(&format!("get weight be/{server}"))?;
        answer.split_whitespace().next().and_then(|w| w.parse().ok()).ok_or_else(|| Error::NotReady(format!("get weight be/{server}: {answer}")))
    }

    /// What HAProxy logged so far: its messages, and one line per request,
    /// `FRONTEND sni=NAME host=HOST METHOD URI STATUS` (`sni=` is empty without TLS or SNI).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("haproxy.log")).unwrap_or_default()
    }
}

impl Drop for TestHaproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config_text(dir: &Path, admin_port: u16, sections: &str) -> String {
    format!(
        "global\n  stats socket {}/admin.sock level admin\n  stats socket ipv4@127.0.0.1:{admin_port} level admin\n  log stdout format raw local0\n\
         defaults\n  mode http\n  log global\n  log-format \"%f sni=%[ssl_fc_sni] host=%[capture.req.hdr(0)] %HM %HU %ST\"\n\
         timeout connect 2s\n  timeout client 30s\n  timeout server 30s\n{sections}",
        dir.display()
    )
}

/// The certificates of TLS site `index`: the first line is what clients get whose server name no filter names.
fn crt_list(index: usize, site: &TlsSite) -> String {
    match &site.sni {
        Some(sni) => format!("no-sni.pem\nsite{index}.pem {sni}\n"),
        None => format!("site{index}.pem\n"),
    }
}

/// A self-signed certificate and key (PEM) for `no-sni.invalid`, made with `openssl`.
fn no_sni_certificate() -> Result<String, Error> {
    let dir = tempfile::tempdir().map_err(io_err("creating a directory for the no-SNI certificate"))?;
    let args = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "key.pem", "-out", "cert.pem"];
    crate::run("openssl", &[&args[..], &["-days", "2", "-subj", "/CN=no-sni.invalid"]].concat(), dir.path())?;
    let read = |name: &str| fs::read_to_string(dir.path().join(name)).map_err(io_err(format!("reading the no-SNI {name}")));
    Ok(read("cert.pem")? + &read("key.pem")?)
}

/// The frontend and backends of TLS site `index`.
fn site_sections(index: usize, site: &TlsSite) -> String {
    let mut text = format!("frontend site{index}\n  bind {} ssl crt-list site{index}.list\n  http-request capture req.hdr(host) len 128\n", site.bind);
    for (route, (prefix, _)) in site.routes.iter().enumerate() {
        text += &format!("  use_backend site{index}_route{route} if {{ path_beg {prefix} }}\n");
    }
    text += &format!("  default_backend site{index}_default\nbackend site{index}_default\n  server s {}\n", site.backend);
    for (route, (_, backend)) in site.routes.iter().enumerate() {
        text += &format!("backend site{index}_route{route}\n  server s {backend}\n");
    }
    text
}

impl Server for TestHaproxy {
    const NAME: &'static str = "haproxy";
    const READY_TIMEOUT: Duration = Duration::from_secs(20);

    fn process(&mut self) -> &mut Child {
        &mut self.child
    }

    fn answers(&self) -> bool {
        TcpStream::connect(self.frontend).is_ok() && self.command("show info").is_ok_and(|info| info.contains("Name: HAProxy"))
    }

    fn log(&self) -> String {
        TestHaproxy::log(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TestBackend;

    #[test]
    fn haproxy_balances_by_runtime_weights() {
        let old = TestBackend::start("old", [127, 0, 0, 2].into()).unwrap();
        let new = TestBackend::start("new", [127, 0, 0, 3].into()).unwrap();
        let haproxy = TestHaproxy::start(old.address(), new.address()).unwrap();
        assert_eq!((haproxy.weight("old").unwrap(), haproxy.weight("new").unwrap()), (100, 0));
        haproxy.command("set weight be/new 100").unwrap();
        haproxy.command("set weight be/old 0").unwrap();
        let mut stream = TcpStream::connect(haproxy.frontend()).unwrap();
        stream.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(answer.contains("ok new"), "{answer}");
        assert_eq!(new.served(), 1);
    }
}
