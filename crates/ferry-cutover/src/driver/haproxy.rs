//! The HAProxy driver: two servers of one backend, weighted through the runtime API (one
//! command per connection over the admin unix socket or a TCP stats socket). Weight 0 drains
//! a server: it gets no new sessions, open ones finish.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use super::{Driver, Residual, Weights};
use crate::Error;
use crate::plan::HaproxyConfig;

const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// HAProxy through its runtime API.
#[derive(Debug)]
pub struct Haproxy {
    config: HaproxyConfig,
}

impl Haproxy {
    /// A driver for the servers `config` names.
    pub fn new(config: &HaproxyConfig) -> Haproxy {
        Haproxy { config: config.clone() }
    }

    /// Sends one command and returns HAProxy's answer.
    fn command(&self, command: &str) -> Result<String, Error> {
        let failed = |e: std::io::Error| Error::Driver(format!("HAProxy runtime API at {}: {e}", self.config.socket));
        let answer = if self.config.socket.contains('/') {
            UnixStream::connect(&self.config.socket).and_then(|s| {
                s.set_read_timeout(Some(IO_TIMEOUT))?;
                s.set_write_timeout(Some(IO_TIMEOUT))?;
                exchange(s, command)
            })
        } else {
            TcpStream::connect(&self.config.socket).and_then(|s| {
                s.set_read_timeout(Some(IO_TIMEOUT))?;
                s.set_write_timeout(Some(IO_TIMEOUT))?;
                exchange(s, command)
            })
        };
        answer.map_err(failed)
    }

    fn server(&self, server: &str) -> String {
        format!("{}/{server}", self.config.backend)
    }

    fn weight(&self, server: &str) -> Result<u32, Error> {
        let answer = self.command(&format!("get weight {}", self.server(server)))?;
        answer
            .split_whitespace()
            .next()
            .and_then(|w| w.parse().ok())
            .ok_or_else(|| Error::Driver(format!("HAProxy: `get weight {}`: {}", self.server(server), answer.trim())))
    }

    fn set_weight(&self, server: &str, weight: u32) -> Result<(), Error> {
        let answer = self.command(&format!("set weight {} {weight}", self.server(server)))?;
        if answer.trim().is_empty() { Ok(()) } else { Err(Error::Driver(format!("HAProxy: `set weight {} {weight}`: {}", self.server(server), answer.trim()))) }
    }
}

fn exchange<S: Read + Write>(mut stream: S, command: &str) -> std::io::Result<String> {
    stream.write_all(format!("{command}\n").as_bytes())?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(answer)
}

impl Driver for Haproxy {
    fn describe(&self) -> String {
        format!("HAProxy {} (servers {} and {})", self.config.socket, self.server(&self.config.old), self.server(&self.config.new))
    }

    fn check(&mut self) -> Result<(), Error> {
        self.weights().map(drop)
    }

    fn weights(&mut self) -> Result<Weights, Error> {
        Ok(Weights { old: self.weight(&self.config.old)?, new: self.weight(&self.config.new)? })
    }

    fn set_weights(&mut self, weights: Weights) -> Result<(), Error> {
        // The side that gains goes first, so that the backend never has both at 0.
        if weights.new >= weights.old {
            self.set_weight(&self.config.new, weights.new)?;
            self.set_weight(&self.config.old, weights.old)
        } else {
            self.set_weight(&self.config.old, weights.old)?;
            self.set_weight(&self.config.new, weights.new)
        }
    }

    fn ttl(&mut self) -> Result<Option<u32>, Error> {
        Ok(None)
    }

    fn set_ttl(&mut self, _ttl: u32) -> Result<(), Error> {
        Ok(())
    }

    fn residual(&mut self) -> Result<Option<Residual>, Error> {
        let stat = self.command("show stat")?;
        parse_stat(&stat, &self.config.backend, &self.config.old)
            .map(Some)
            .ok_or_else(|| Error::Driver(format!("HAProxy: `show stat` has no row for {}", self.server(&self.config.old))))
    }

    fn cutover_ttl(&self) -> Option<u32> {
        None
    }
}

/// The session counters of one server in `show stat`'s CSV.
fn parse_stat(csv: &str, backend: &str, server: &str) -> Option<Residual> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next()?.trim_start_matches("# ").split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name);
    let (px, sv, scur, stot) = (column("pxname")?, column("svname")?, column("scur")?, column("stot")?);
    lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|f| f.get(px) == Some(&backend) && f.get(sv) == Some(&server))
        .and_then(|f| Some(Residual { current_sessions: f.get(scur)?.parse().ok()?, total_sessions: f.get(stot)?.parse().ok()? }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_rows_give_session_counters() {
        let csv = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin\nbe,old,0,0,2,5,,17,100\nbe,new,0,0,0,1,,3,10\n";
        assert_eq!(parse_stat(csv, "be", "old"), Some(Residual { current_sessions: 2, total_sessions: 17 }));
        assert_eq!(parse_stat(csv, "be", "gone"), None);
        assert_eq!(parse_stat("", "be", "old"), None);
    }
}
