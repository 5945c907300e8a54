//! What classifies a host outside the cluster (`data/endpoints.yaml`): the protocol a URL scheme
//! or a port says, the name suffixes and address blocks of private networks, and the public
//! top-level domains that tell a host name from a file name.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::OnceLock;

use serde::Deserialize;

/// The table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    protocols: Vec<Protocol>,
    private_suffixes: Vec<PrivateSuffix>,
    private_networks: Vec<PrivateNetwork>,
    file_extensions: Vec<String>,
    public_tlds: String,
}

/// A protocol and the schemes and ports that say it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Protocol {
    /// Its name as reports show it (`PostgreSQL`, `LDAPS`).
    pub name: String,
    /// URL schemes, lower case.
    pub schemes: Vec<String>,
    /// Registered ports.
    pub ports: Vec<u16>,
    /// Where the schemes and ports are registered or documented.
    pub source: String,
}

/// A name suffix that public DNS does not resolve.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivateSuffix {
    /// The suffix without dots at either end (`home.arpa`).
    pub suffix: String,
    /// The RFC or registry decision that reserves it.
    pub source: String,
}

/// An address block of private networks.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivateNetwork {
    /// `address/prefix-length`.
    pub network: String,
    /// The RFC that reserves it.
    pub source: String,
}

/// Why a host is where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place<'k> {
    /// On a private network: under this suffix or in this block.
    Private(&'k str),
    /// A single-label name: resolvable only through a private resolver's search domains.
    SingleLabel,
    /// On the public Internet, under this top-level domain (`""` for a public address).
    Public(&'k str),
}

/// The parsed table with its look-ups.
#[derive(Debug)]
pub struct EndpointRules {
    table: Table,
    schemes: HashMap<String, usize>,
    ports: HashMap<u16, usize>,
    networks: Vec<(IpAddr, u8, usize)>,
    tlds: HashSet<String>,
}

impl EndpointRules {
    /// The table built into this binary.
    ///
    /// # Panics
    /// Never in a released build: the embedded table is validated by the test suite.
    pub fn builtin() -> &'static EndpointRules {
        static TABLE: OnceLock<EndpointRules> = OnceLock::new();
        TABLE.get_or_init(|| EndpointRules::parse(include_str!("../../data/endpoints.yaml")).expect("embedded data/endpoints.yaml is valid"))
    }

    /// Parses and checks a table: every scheme and port names one protocol, every block parses.
    pub fn parse(text: &str) -> Result<EndpointRules, String> {
        let table: Table = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
        let mut schemes = HashMap::new();
        let mut ports = HashMap::new();
        for (i, protocol) in table.protocols.iter().enumerate() {
            for scheme in &protocol.schemes {
                if schemes.insert(scheme.clone(), i).is_some() {
                    return Err(format!("protocols: scheme `{scheme}` is given twice"));
                }
            }
            for &port in &protocol.ports {
                if ports.insert(port, i).is_some() {
                    return Err(format!("protocols: port {port} is given twice"));
                }
            }
        }
        let mut networks = Vec::new();
        for (i, row) in table.private_networks.iter().enumerate() {
            let parsed = row.network.split_once('/').and_then(|(address, bits)| Some((address.parse::<IpAddr>().ok()?, bits.parse::<u8>().ok()?)));
            let Some((address, bits)) = parsed.filter(|(a, bits)| *bits <= if a.is_ipv4() { 32 } else { 128 }) else {
                return Err(format!("private_networks: `{}` is not address/prefix-length", row.network));
            };
            networks.push((address, bits, i));
        }
        let tlds: HashSet<String> = table.public_tlds.split_whitespace().map(str::to_owned).collect();
        Ok(EndpointRules { table, schemes, ports, networks, tlds })
    }

    /// Every protocol row.
    pub fn protocols(&self) -> &[Protocol] {
        &self.table.protocols
    }

    /// Every private suffix row.
    pub fn private_suffixes(&self) -> &[PrivateSuffix] {
        &self.table.private_suffixes
    }

    /// Every private network row.
    pub fn private_networks(&self) -> &[PrivateNetwork] {
        &self.table.private_networks
    }

    /// Whether `tld` is a public top-level domain.
    pub fn is_public_tld(&self, tld: &str) -> bool {
        self.tlds.contains(tld)
    }

    /// Whether `tld` is also a common file extension (`py`, `sh`).
    pub fn is_file_extension(&self, tld: &str) -> bool {
        self.table.file_extensions.iter().any(|e| e == tld)
    }

    /// The protocol the scheme says, else the one the port says.
    pub fn protocol(&self, scheme: Option<&str>, port: Option<u16>) -> Option<&str> {
        let by_scheme = scheme.and_then(|s| self.schemes.get(&s.to_ascii_lowercase()));
        let index = by_scheme.or_else(|| port.and_then(|p| self.ports.get(&p)))?;
        Some(&self.table.protocols[*index].name)
    }

    /// Where a host name (lower case, without a trailing dot) is; `None` when it is no
    /// host of either network (its last label is no top-level domain: a file or object name).
    pub fn place_of_name<'k>(&'k self, host: &str) -> Option<Place<'k>> {
        if let Some(row) = self.table.private_suffixes.iter().find(|row| has_suffix(host, &row.suffix)) {
            return Some(Place::Private(&row.suffix));
        }
        match host.rsplit_once('.') {
            None => Some(Place::SingleLabel),
            Some((_, tld)) => self.tlds.get(tld).map(|t| Place::Public(t.as_str())),
        }
    }

    /// Where an address is: in a private block (its `network` text), or public.
    pub fn place_of_address(&self, address: IpAddr) -> Place<'_> {
        let block = self.networks.iter().find(|&&(network, bits, _)| in_block(address, network, bits));
        match block {
            Some(&(_, _, row)) => Place::Private(&self.table.private_networks[row].network),
            None => Place::Public(""),
        }
    }
}

/// Whether `host` is `suffix` or ends in `.suffix`.
fn has_suffix(host: &str, suffix: &str) -> bool {
    host.strip_suffix(suffix).is_some_and(|rest| rest.is_empty() || rest.ends_with('.'))
}

/// Whether `address` is in the block `network/bits` (of the same family).
fn in_block(address: IpAddr, network: IpAddr, bits: u8) -> bool {
    match (address, network) {
        (IpAddr::V4(a), IpAddr::V4(n)) => mask(u128::from(a.to_bits()) << 96, bits) == mask(u128::from(n.to_bits()) << 96, bits),
        (IpAddr::V6(a), IpAddr::V6(n)) => mask(a.to_bits(), bits) == mask(n.to_bits(), bits),
        _ => false,
    }
}

fn mask(bits_of_address: u128, prefix: u8) -> u128 {
    if prefix == 0 { 0 } else { bits_of_address & (u128::MAX << (128 - u32::from(prefix))) }
}
