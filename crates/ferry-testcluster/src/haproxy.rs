//! A real HAProxy (Debian's `haproxy`) for cut-over tests: one HTTP frontend on a free
//! 127.0.0.1 port, one round-robin backend `be` with the servers `old` and `new`, and the
//! runtime API on an admin unix socket and a loopback TCP port; killed on drop.

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
    frontend: u16,
    admin_port: u16,
}

impl TestHaproxy {
    /// Starts HAProxy balancing between `old` (weight 100) and `new` (weight 0).
    pub fn start(old: SocketAddr, new: SocketAddr) -> Result<TestHaproxy, Error> {
        if !Path::new(HAPROXY_BINARY).is_file() {
            return Err(Error::MissingBinary(HAPROXY_BINARY.into()));
        }
        let dir = tempfile::Builder::new().prefix("ferry-haproxy-").tempdir().map_err(io_err("creating the HAProxy directory"))?;
        let (frontend, admin_port) = (free_port()?, free_port()?);
        let config = dir.path().join("haproxy.cfg");
        fs::write(&config, config_text(dir.path(), frontend, admin_port, old, new)).map_err(io_err("writing haproxy.cfg"))?;
        let child = spawn_logged(dir.path(), "haproxy", Command::new(HAPROXY_BINARY).arg("-db").arg("-f").arg(&config))?;
        let mut haproxy = TestHaproxy { dir, child, frontend, admin_port };
        haproxy.wait_ready()?;
        Ok(haproxy)
    }

    /// The HTTP frontend, `127.0.0.1:PORT`.
    pub fn frontend(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.frontend))
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

    /// What HAProxy logged so far.
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

fn config_text(dir: &Path, frontend: u16, admin_port: u16, old: SocketAddr, new: SocketAddr) -> String {
    format!(
        "global\n  stats socket {}/admin.sock level admin\n  stats socket ipv4@127.0.0.1:{admin_port} level admin\n\
         defaults\n  mode http\n  timeout connect 2s\n  timeout client 30s\n  timeout server 30s\n\
         frontend fe\n  bind 127.0.0.1:{frontend}\n  default_backend be\n\
         backend be\n  balance roundrobin\n  server old {old} weight 100\n  server new {new} weight 0\n",
        dir.display()
    )
}

impl Server for TestHaproxy {
    const NAME: &'static str = "haproxy";
    const READY_TIMEOUT: Duration = Duration::from_secs(20);

    fn process(&mut self) -> &mut Child {
        &mut self.child
    }

    fn answers(&self) -> bool {
        TcpStream::connect(("127.0.0.1", self.frontend)).is_ok() && self.command("show info").is_ok_and(|info| info.contains("Name: HAProxy"))
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
