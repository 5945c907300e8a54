//! A real BIND 9 (Debian's `bind9` package) as the primary server of one zone for cut-over
//! tests: `named -g` in the foreground on a free 127.0.0.1 UDP/TCP port, the zone updatable
//! by RFC 2136 with one TSIG key, granted the A and AAAA records of one name
//! (`update-policy`); killed on drop.

use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use crate::{Error, Server, free_port, io_err, spawn_logged};

const NAMED_BINARY: &str = "/usr/sbin/named";
/// The name of the TSIG key every test server knows.
pub const BIND_TSIG_KEY: &str = "ferry-cutover.";
/// That key's secret (base64, HMAC-SHA256): a test value, known to the tests only.
pub const BIND_TSIG_SECRET: &str = "ZmVycnktdGVzdC10c2lnLXNlY3JldC0zMi1ieXRlcyE=";

/// A running named; killed when dropped.
pub struct TestBind {
    dir: tempfile::TempDir,
    child: Child,
    port: u16,
    zone: String,
}

impl TestBind {
    /// Starts named with `zone` (e.g. `cutover.test.`) holding `name` as A (or AAAA) records of
    /// `addresses` with `ttl`; key [`BIND_TSIG_KEY`] may update `name`'s A and AAAA records.
    pub fn start(zone: &str, name: &str, addresses: &[impl Into<IpAddr> + Copy], ttl: u32) -> Result<TestBind, Error> {
        if !Path::new(NAMED_BINARY).is_file() {
            return Err(Error::MissingBinary(NAMED_BINARY.into()));
        }
        let dir = tempfile::Builder::new().prefix("ferry-bind-").tempdir().map_err(io_err("creating the BIND directory"))?;
        let port = free_port()?;
        let record = |address: IpAddr| format!("{name} {ttl} IN {} {address}\n", if address.is_ipv4() { "A" } else { "AAAA" });
        let records: String = addresses.iter().map(|&a| record(a.into())).collect();
        let zone_file =
            format!("$TTL 300\n@ IN SOA ns1.{zone} hostmaster.{zone} 1 3600 600 86400 60\n@ IN NS ns1.{zone}\nns1.{zone} IN A 127.0.0.1\n{records}");
        fs::write(dir.path().join("zone.db"), zone_file).map_err(io_err("writing the zone file"))?;
        fs::write(dir.path().join("key.conf"), key_file_text(BIND_TSIG_KEY, BIND_TSIG_SECRET)).map_err(io_err("writing the key file"))?;
        fs::write(dir.path().join("named.conf"), config_text(dir.path(), port, zone, name)).map_err(io_err("writing named.conf"))?;
        let config = dir.path().join("named.conf");
        let child = spawn_logged(dir.path(), "named", Command::new(NAMED_BINARY).arg("-g").arg("-c").arg(config))?;
        let mut server = TestBind { dir, child, port, zone: zone.into() };
        server.wait_ready()?;
        Ok(server)
    }

    /// The DNS port on 127.0.0.1 (UDP and TCP).
    pub fn dns_port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:PORT`.
    pub fn server(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The key file the server reads, as `tsig-keygen` writes it (`key "..." { algorithm
    /// hmac-sha256; secret "..."; };`).
    pub fn key_file(&self) -> PathBuf {
        self.dir.path().join("key.conf")
    }

    /// Asks the server for `name`'s A records over UDP; the addresses and their TTL.
    pub fn query_a(&self, name: &str) -> Result<(Vec<Ipv4Addr>, u32), Error> {
        crate::dns::query_a(self.port, name)
    }

    /// Asks the server for `name`'s AAAA records over UDP; the addresses and their TTL.
    pub fn query_aaaa(&self, name: &str) -> Result<(Vec<Ipv6Addr>, u32), Error> {
        crate::dns::query_aaaa(self.port, name)
    }

    /// The zone's SOA serial: it grows with every update that changed the zone.
    pub fn serial(&self) -> Result<u32, Error> {
        crate::dns::soa_serial(self.port, &self.zone)
    }

    /// What named logged so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("named.log")).unwrap_or_default()
    }
}

impl Drop for TestBind {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn key_file_text(name: &str, secret: &str) -> String {
    format!("key \"{name}\" {{\n\talgorithm hmac-sha256;\n\tsecret \"{secret}\";\n}};\n")
}

/// An authoritative-only server with every file in `dir` and no control channel.
fn config_text(dir: &Path, port: u16, zone: &str, name: &str) -> String {
    let dir = dir.display();
    format!(
        "options {{\n  directory \"{dir}\";\n  pid-file none;\n  listen-on port {port} {{ 127.0.0.1; }};\n  listen-on-v6 {{ none; }};\n  recursion no;\n  \
         dnssec-validation no;\n  session-keyfile \"{dir}/session.key\";\n  managed-keys-directory \"{dir}\";\n}};\ncontrols {{ }};\n\
         include \"{dir}/key.conf\";\nzone \"{zone}\" {{\n  type primary;\n  file \"zone.db\";\n  \
         update-policy {{ grant {BIND_TSIG_KEY} name {name} A AAAA; }};\n}};\n"
    )
}

impl Server for TestBind {
    const NAME: &'static str = "named";
    const READY_TIMEOUT: Duration = Duration::from_secs(20);

    fn process(&mut self) -> &mut Child {
        &mut self.child
    }

    fn answers(&self) -> bool {
        self.serial().is_ok()
    }

    fn log(&self) -> String {
        TestBind::log(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_answers_its_records() {
        let bind = TestBind::start("cutover.test.", "shop.cutover.test.", &[Ipv4Addr::new(127, 0, 0, 2)], 30).unwrap();
        assert_eq!(bind.query_a("shop.cutover.test.").unwrap(), (vec![Ipv4Addr::new(127, 0, 0, 2)], 30));
        assert!(bind.query_a("missing.cutover.test.").unwrap().0.is_empty());
        assert_eq!(bind.serial().unwrap(), 1);
    }
}
