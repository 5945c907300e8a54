//! A real Prometheus (Debian's `prometheus`) for gate tests: the HTTP API on a free 127.0.0.1
//! port, a temporary TSDB, no scrape targets (constant queries such as `vector(0.5)` answer at
//! once); killed on drop.

use std::fs;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

use crate::{Error, Server, free_port, io_err, spawn_logged};

const PROMETHEUS_BINARY: &str = "/usr/bin/prometheus";

/// A running Prometheus; killed when dropped.
pub struct TestPrometheus {
    dir: tempfile::TempDir,
    child: Child,
    port: u16,
}

impl TestPrometheus {
    /// Starts Prometheus and waits until `/-/ready` answers 200.
    pub fn start() -> Result<TestPrometheus, Error> {
        if !Path::new(PROMETHEUS_BINARY).is_file() {
            return Err(Error::MissingBinary(PROMETHEUS_BINARY.into()));
        }
        let dir = tempfile::Builder::new().prefix("ferry-prometheus-").tempdir().map_err(io_err("creating the Prometheus directory"))?;
        let config = dir.path().join("prometheus.yml");
        fs::write(&config, "global: {scrape_interval: 1s}\nscrape_configs: []\n").map_err(io_err("writing prometheus.yml"))?;
        let port = free_port()?;
        let mut command = Command::new(PROMETHEUS_BINARY);
        command
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"));
        let child = spawn_logged(dir.path(), "prometheus", &mut command)?;
        let mut prometheus = TestPrometheus { dir, child, port };
        prometheus.wait_ready()?;
        Ok(prometheus)
    }

    fn ready_endpoint_answers(&self) -> bool {
        let exchange = || -> std::io::Result<String> {
            let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
            stream.set_read_timeout(Some(Duration::from_secs(5)))?;
            stream.write_all(b"GET /-/ready HTTP/1.0\r\n\r\n")?;
            let mut answer = String::new();
            stream.read_to_string(&mut answer)?;
            Ok(answer)
        };
        exchange().is_ok_and(|a| a.starts_with("HTTP/1.0 200") || a.starts_with("HTTP/1.1 200"))
    }

    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What Prometheus logged so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }
}

impl Drop for TestPrometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server for TestPrometheus {
    const NAME: &'static str = "prometheus";
    const READY_TIMEOUT: Duration = Duration::from_secs(30);

    fn process(&mut self) -> &mut Child {
        &mut self.child
    }

    fn answers(&self) -> bool {
        self.ready_endpoint_answers()
    }

    fn log(&self) -> String {
        TestPrometheus::log(self)
    }
}
