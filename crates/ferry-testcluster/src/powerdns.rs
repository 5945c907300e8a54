//! A real PowerDNS Authoritative server (Debian's `pdns-server` with the sqlite3 backend) for
//! cut-over tests: DNS on a free 127.0.0.1 UDP/TCP port, the HTTP API on another, LUA records
//! enabled, RFC 2136 updates accepted from loopback (with a TSIG key, see
//! [`TestPowerDns::allow_tsig_updates`]) and every cache off (a change is answered at once);
//! killed on drop.

use std::fs;
use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, TcpStream};
use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

use crate::{Error, Server, free_port, io_err, spawn_logged};

const PDNS_BINARY: &str = "/usr/sbin/pdns_server";
const SCHEMA: &str = "/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql";
/// The API key of every test server.
pub const POWERDNS_API_KEY: &str = "ferry-test-pdns-key";

/// A running PowerDNS; killed when dropped.
pub struct TestPowerDns {
    dir: tempfile::TempDir,
    child: Child,
    dns_port: u16,
    api_port: u16,
}

impl TestPowerDns {
    /// Starts pdns_server with a fresh sqlite database and waits until its API answers.
    pub fn start() -> Result<TestPowerDns, Error> {
        for binary in [PDNS_BINARY, SCHEMA, "/usr/bin/sqlite3"] {
            if !Path::new(binary).is_file() {
                return Err(Error::MissingBinary(binary.into()));
            }
        }
        let dir = tempfile::Builder::new().prefix("ferry-pdns-").tempdir().map_err(io_err("creating the PowerDNS directory"))?;
        let database = dir.path().join("pdns.sqlite3");
        let schema = fs::File::open(SCHEMA).map_err(io_err(format!("opening {SCHEMA}")))?;
        let status = Command::new("sqlite3").arg(&database).stdin(schema).status().map_err(io_err("running sqlite3"))?;
        if !status.success() {
            return Err(Error::NotReady(format!("sqlite3 could not create the PowerDNS database ({status})")));
        }
        let (dns_port, api_port) = (free_port()?, free_port()?);
        fs::write(dir.path().join("pdns.conf"), config_text(dir.path(), &database, dns_port, api_port)).map_err(io_err("writing pdns.conf"))?;
        let config_dir = format!("--config-dir={}", dir.path().display());
        let child = spawn_logged(dir.path(), "pdns", Command::new(PDNS_BINARY).arg(config_dir))?;
        let mut server = TestPowerDns { dir, child, dns_port, api_port };
        server.wait_ready()?;
        Ok(server)
    }

    /// The API's base URL, `http://127.0.0.1:PORT`.
    pub fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.api_port)
    }

    /// The DNS port on 127.0.0.1.
    pub fn dns_port(&self) -> u16 {
        self.dns_port
    }

    /// Creates `zone` (e.g. `cutover.test.`) with `name` as A records of `addresses` with `ttl`.
    pub fn create_zone(&self, zone: &str, name: &str, addresses: &[Ipv4Addr], ttl: u32) -> Result<(), Error> {
        let zone_body = serde_json::json!({"name": zone, "kind": "Native", "nameservers": [format!("ns1.{zone}")]});
        self.api_ok("POST", "/api/v1/servers/localhost/zones", &zone_body)?;
        let records: Vec<_> = addresses.iter().map(|a| serde_json::json!({"content": a.to_string(), "disabled": false})).collect();
        let rrsets = serde_json::json!({"rrsets": [{"name": name, "type": "A", "ttl": ttl, "changetype": "REPLACE", "records": records}]});
        self.api_ok("PATCH", &format!("/api/v1/servers/localhost/zones/{zone}"), &rrsets)
    }

    /// Lets TSIG key `key_name` (HMAC-SHA256, `secret` in base64) update `zone` by RFC 2136.
    pub fn allow_tsig_updates(&self, zone: &str, key_name: &str, secret: &str) -> Result<(), Error> {
        let key = serde_json::json!({"name": key_name, "algorithm": "hmac-sha256", "key": secret});
        self.api_ok("POST", "/api/v1/servers/localhost/tsigkeys", &key)?;
        let allowed = serde_json::json!({"metadata": [key_name]});
        self.api_ok("PUT", &format!("/api/v1/servers/localhost/zones/{zone}/metadata/TSIG-ALLOW-DNSUPDATE"), &allowed)
    }

    fn api_ok(&self, method: &str, path: &str, body: &serde_json::Value) -> Result<(), Error> {
        let (status, answer) = self.api(method, path, Some(body))?;
        if (200..300).contains(&status) { Ok(()) } else { Err(Error::NotReady(format!("PowerDNS API {method} {path}: {status} {answer}"))) }
    }

    /// One HTTP/1.0 API request with the key; the status and body.
    pub fn api(&self, method: &str, path: &str, body: Option<&serde_json::Value>) -> Result<(u16, String), Error> {
        let body = body.map(serde_json::Value::to_string).unwrap_or_default();
        let exchange = || -> std::io::Result<String> {
            let mut stream = TcpStream::connect(("127.0.0.1", self.api_port))?;
            stream.set_read_timeout(Some(Duration::from_secs(10)))?;
            let head = format!(
                "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nX-API-Key: {POWERDNS_API_KEY}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes())?;
            stream.write_all(body.as_bytes())?;
            let mut answer = String::new();
            stream.read_to_string(&mut answer)?;
            Ok(answer)
        };
        let answer = exchange().map_err(io_err(format!("PowerDNS API {method} {path}")))?;
        let status = answer.get(9..12).and_then(|s| s.parse().ok()).ok_or_else(|| Error::NotReady(format!("PowerDNS API: not HTTP: {answer}")))?;
        let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
        Ok((status, body))
    }

    /// Asks the server for `name`'s A records over UDP; the addresses and their TTL.
    pub fn query_a(&self, name: &str) -> Result<(Vec<Ipv4Addr>, u32), Error> {
        crate::dns::query_a(self.dns_port, name)
    }

    /// What pdns_server logged so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("pdns.log")).unwrap_or_default()
    }
}

impl Drop for TestPowerDns {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config_text(dir: &Path, database: &Path, dns_port: u16, api_port: u16) -> String {
    format!(
        "launch=gsqlite3\ngsqlite3-database={}\nlocal-address=127.0.0.1\nlocal-port={dns_port}\nsocket-dir={}\ndaemon=no\nguardian=no\n\
         disable-syslog=yes\nsecurity-poll-suffix=\napi=yes\napi-key={POWERDNS_API_KEY}\nwebserver=yes\nwebserver-address=127.0.0.1\n\
         webserver-port={api_port}\nwebserver-allow-from=127.0.0.0/8\nenable-lua-records=yes\ncache-ttl=0\nquery-cache-ttl=0\nnegquery-cache-ttl=0\n\
         dnsupdate=yes\nallow-dnsupdate-from=127.0.0.0/8\n",
        database.display(),
        dir.display()
    )
}

impl Server for TestPowerDns {
    const NAME: &'static str = "pdns_server";
    const READY_TIMEOUT: Duration = Duration::from_secs(20);

    fn process(&mut self) -> &mut Child {
        &mut self.child
    }

    fn answers(&self) -> bool {
        self.api("GET", "/api/v1/servers/localhost", None).is_ok_and(|(status, _)| status == 200)
    }

    fn log(&self) -> String {
        TestPowerDns::log(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn powerdns_answers_its_records() {
        let pdns = TestPowerDns::start().unwrap();
        pdns.create_zone("cutover.test.", "shop.cutover.test.", &[Ipv4Addr::new(127, 0, 0, 2)], 30).unwrap();
        let (addresses, ttl) = pdns.query_a("shop.cutover.test.").unwrap();
        assert_eq!((addresses, ttl), (vec![Ipv4Addr::new(127, 0, 0, 2)], 30));
        assert!(pdns.query_a("missing.cutover.test.").unwrap().0.is_empty());
    }
}
