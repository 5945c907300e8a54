//! A real TLS endpoint for gate tests: a throw-away CA and a certificate for one host name made
//! with the `openssl` command, served by `openssl s_server -www` on a free port of a loopback
//! address; killed on drop.

use std::fs;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use crate::{Error, Server, io_err, spawn_logged};

/// A running `openssl s_server`; killed when dropped.
pub struct TestTlsServer {
    dir: tempfile::TempDir,
    child: std::process::Child,
    address: SocketAddr,
}

impl TestTlsServer {
    /// Makes a CA and a certificate for `host`, and serves HTTPS on a free port of `ip`.
    pub fn start(host: &str, ip: IpAddr) -> Result<TestTlsServer, Error> {
        let dir = tempfile::Builder::new().prefix("ferry-tls-").tempdir().map_err(io_err("creating the TLS directory"))?;
        make_certificates(dir.path(), host)?;
        let port = TcpListener::bind((ip, 0)).and_then(|l| l.local_addr()).map_err(io_err(format!("finding a free port on {ip}")))?.port();
        let address = SocketAddr::new(ip, port);
        let mut command = Command::new("openssl");
        command.current_dir(dir.path()).args(["s_server", "-quiet", "-www", "-cert", "server.pem", "-key", "server.key", "-accept"]).arg(address.to_string());
        let child = spawn_logged(dir.path(), "s_server", &mut command)?;
        let mut server = TestTlsServer { dir, child, address };
        server.wait_ready()?;
        Ok(server)
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The CA certificate (PEM) that signed the server's certificate.
    pub fn ca_bundle(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }
}

impl Drop for TestTlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `ca.pem`/`ca.key` and `server.pem`/`server.key` (P-256, subjectAltName `DNS:host`, or
/// `IP:host` for an address) in `dir`.
pub(crate) fn make_certificates(dir: &Path, host: &str) -> Result<(), Error> {
    let name = if host.parse::<IpAddr>().is_ok() { "IP" } else { "DNS" };
    fs::write(dir.join("server.ext"), format!("subjectAltName={name}:{host}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"))
        .map_err(io_err("writing server.ext"))?;
    let subject = format!("/CN={host}");
    let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    let steps: [Vec<&str>; 3] = [
        [&["req", "-x509"][..], &key, &["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=ferry test CA"]].concat(),
        [&["req"][..], &key, &["-keyout", "server.key", "-out", "server.csr", "-subj", &subject]].concat(),
        vec![
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    ];
    for args in steps {
        let output = Command::new("openssl").args(&args).current_dir(dir).output().map_err(io_err("running openssl"))?;
        if !output.status.success() {
            return Err(Error::NotReady(format!("openssl {}: {}", args.join(" "), String::from_utf8_lossy(&output.stderr))));
        }
    }
    Ok(())
}

impl Server for TestTlsServer {
    const NAME: &'static str = "openssl s_server";
    const READY_TIMEOUT: Duration = Duration::from_secs(10);

    fn process(&mut self) -> &mut Child {
        &mut self.child
    }

    fn answers(&self) -> bool {
        TcpStream::connect(self.address).is_ok()
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("s_server.log")).unwrap_or_default()
    }
}
