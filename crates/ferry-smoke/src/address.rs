//! Where requests go: `--address IP[:PORT]` and `--resolve HOST:PORT:IP` (curl's syntax),
//! parsed with errors that name the flag, and [`Routes`], which picks one side's address for
//! a host name. Nothing here resolves a name through DNS.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

/// The port clients reach HTTPS on when none is given.
pub const HTTPS_PORT: u16 = 443;

/// A value of `--address` or `--resolve` that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid `{flag}` `{value}`: {why}")]
pub struct AddressError {
    /// The flag, e.g. `--resolve`.
    pub flag: &'static str,
    /// What was given.
    pub value: String,
    /// What is wrong with it.
    pub why: String,
}

/// `IP`, `IP:PORT` or `[IPv6]:PORT`; the port defaults to 443.
pub fn parse_address(flag: &'static str, value: &str) -> Result<SocketAddr, AddressError> {
    let bad = |why: &str| AddressError { flag, value: value.to_owned(), why: why.to_owned() };
    if let Ok(ip) = value.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, HTTPS_PORT));
    }
    let address = value.parse::<SocketAddr>().map_err(|_| bad("expected IP or IP:PORT, e.g. `203.0.113.10` or `203.0.113.10:8443` (`[2001:db8::1]:443`)"))?;
    if address.port() == 0 { Err(bad("the port must be 1-65535")) } else { Ok(address) }
}

/// A host name pinned to an address, from `HOST:PORT:IP`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// The host name (lower case).
    pub host: String,
    /// Where its requests go.
    pub address: SocketAddr,
}

/// `HOST:PORT:IP` as curl's `--resolve` takes it (an IPv6 address may be bracketed).
pub fn parse_pin(flag: &'static str, value: &str) -> Result<Pin, AddressError> {
    let bad = |why: &str| AddressError { flag, value: value.to_owned(), why: why.to_owned() };
    let mut parts = value.splitn(3, ':');
    let (Some(host), Some(port), Some(ip)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad("expected HOST:PORT:IP, e.g. `shop.example.com:443:203.0.113.10`"));
    };
    check_host(host).map_err(|why| bad(&why))?;
    let port: u16 = port.parse().ok().filter(|p| *p != 0).ok_or_else(|| bad(&format!("`{port}` is not a port (1-65535)")))?;
    let ip: IpAddr = ip.trim_start_matches('[').trim_end_matches(']').parse().map_err(|_| bad(&format!("`{ip}` is not an IP address")))?;
    Ok(Pin { host: host.to_ascii_lowercase(), address: SocketAddr::new(ip, port) })
}

/// Whether `host` is a DNS name requests can be sent for (the TLS server name): not empty,
/// not an IP address (no IP-only handshake), no wildcard, no port, letters, digits, `-` and `.`.
pub fn check_host(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("the host name is empty".into());
    }
    if host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().is_ok() {
        return Err(format!("`{host}` is an IP address; give the host name clients use (it is sent as TLS SNI and Host)"));
    }
    if host.contains('*') {
        return Err(format!("`{host}` is a wildcard; give one concrete host name"));
    }
    if !host.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') || host.starts_with('.') || host.contains("..") {
        return Err(format!("`{host}` is not a DNS host name"));
    }
    Ok(())
}

/// Where one side's requests go: pinned host names first, then one address for every host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routes {
    pins: BTreeMap<String, SocketAddr>,
    default: Option<SocketAddr>,
}

impl Routes {
    /// Every host to `default` (if any), except the `pins`; a later pin of a host wins.
    pub fn new(default: Option<SocketAddr>, pins: impl IntoIterator<Item = Pin>) -> Routes {
        Routes { pins: pins.into_iter().map(|p| (p.host, p.address)).collect(), default }
    }

    /// Whether nothing was given.
    pub fn is_empty(&self) -> bool {
        self.pins.is_empty() && self.default.is_none()
    }

    /// Adds what `other` knows below what this one knows: its pins for hosts not pinned here,
    /// its default if there is none here.
    pub fn or(mut self, other: Routes) -> Routes {
        for (host, address) in other.pins {
            self.pins.entry(host).or_insert(address);
        }
        self.default = self.default.or(other.default);
        self
    }

    /// The address for `host`.
    pub fn address(&self, host: &str) -> Option<SocketAddr> {
        self.pins.get(&host.to_ascii_lowercase()).copied().or(self.default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_take_an_optional_port() {
        assert_eq!(parse_address("--address", "127.0.0.3").unwrap(), "127.0.0.3:443".parse().unwrap());
        assert_eq!(parse_address("--address", "127.0.0.3:8443").unwrap(), "127.0.0.3:8443".parse().unwrap());
        assert_eq!(parse_address("--address", "[::1]:8443").unwrap(), "[::1]:8443".parse().unwrap());
        assert_eq!(parse_address("--address", "::1").unwrap(), "[::1]:443".parse().unwrap());
        let error = parse_address("--address", "new.example.com").unwrap_err();
        assert_eq!(error.to_string().split(':').next(), Some("invalid `--address` `new.example.com`"));
        assert!(parse_address("--address", "127.0.0.3:0").unwrap_err().why.contains("1-65535"));
    }

    #[test]
    fn pins_follow_curl_and_say_what_is_wrong() {
        let pin = parse_pin("--resolve", "Shop.Example.com:8443:127.0.0.3").unwrap();
        assert_eq!((pin.host.as_str(), pin.address), ("shop.example.com", "127.0.0.3:8443".parse().unwrap()));
        assert_eq!(parse_pin("--resolve", "shop.example.com:443:[::1]").unwrap().address, "[::1]:443".parse().unwrap());
        let why = |value| parse_pin("--resolve", value).unwrap_err().why;
        assert!(why("shop.example.com:127.0.0.3").contains("HOST:PORT:IP"));
        assert!(why("shop.example.com:https:127.0.0.3").contains("`https` is not a port"));
        assert!(why("shop.example.com:443:new-lb").contains("`new-lb` is not an IP address"));
        assert!(why("127.0.0.9:443:127.0.0.3").contains("is an IP address"));
        assert!(why("*.example.com:443:127.0.0.3").contains("wildcard"));
        assert!(why(":443:127.0.0.3").contains("empty"));
    }

    #[test]
    fn pins_win_over_the_default_and_fall_back_in_order() {
        let given = Routes::new(None, [parse_pin("--resolve", "a.test:443:127.0.0.3").unwrap()]);
        let discovered = Routes::new(Some("127.0.0.9:443".parse().unwrap()), [parse_pin("--resolve", "a.test:443:127.0.0.8").unwrap()]);
        let routes = given.or(discovered);
        assert_eq!(routes.address("A.test"), Some("127.0.0.3:443".parse().unwrap()));
        assert_eq!(routes.address("b.test"), Some("127.0.0.9:443".parse().unwrap()));
        assert_eq!(Routes::default().address("a.test"), None);
        assert!(Routes::default().is_empty());
    }
}
