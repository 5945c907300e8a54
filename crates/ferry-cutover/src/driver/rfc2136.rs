//! The RFC 2136 driver: one name's A (or AAAA) records on the zone's primary server (BIND,
//! Knot, PowerDNS, Windows DNS ...), changed by DNS UPDATE messages signed with a TSIG key
//! (RFC 8945) and read back with an ordinary query.
//!
//! An RRset cannot hold one address twice, so it cannot weight one side over the other: the
//! driver switches all of the old side's addresses for all of the new side's and back, and a
//! plan with steps between 0 and 100 % is refused when it is parsed. Each update carries the
//! records just read as a prerequisite (RFC 2136 §2.4.2, "RRset exists, value dependent") and
//! deletes and adds in one message, which the server applies atomically or not at all: a name
//! changed by someone else in between fails the prerequisite and nothing is changed.
//!
//! The wire format and the TSIG MAC come from `hickory-proto` (its `dnssec-ring` feature, on the
//! ring the rest of ferry uses); the exchange itself is one blocking TCP connection per message
//! (a two-byte length before each message), like the crate's other drivers, so no async runtime
//! is needed and no UDP truncation or retry logic.

use std::io::{Read, Write};
use std::net::{IpAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hickory_proto::op::{Message, OpCode, Query, ResponseCode, UpdateMessage};
use hickory_proto::rr::rdata::tsig::{TsigAlgorithm as Hmac, TsigError};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType, TSigner};

use super::{Driver, Residual, Weights};
use crate::Error;
use crate::plan::{Rfc2136Config, TsigAlgorithm};

const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// How far the server's clock may be from ours for a signature to be accepted (BIND's default).
const FUDGE: u16 = 300;

/// A DNS server updated with RFC 2136 and TSIG.
pub struct Rfc2136 {
    config: Rfc2136Config,
    signer: TSigner,
    zone: Name,
    name: Name,
    rtype: RecordType,
}

/// A name's records as the server answers them.
struct RRset {
    addresses: Vec<IpAddr>,
    ttl: u32,
}

impl Rfc2136 {
    /// A driver for the name `config` names; reads and decodes the TSIG secret.
    pub fn new(config: &Rfc2136Config) -> Result<Rfc2136, Error> {
        let name = |field: &str, text: &str| Name::from_ascii(text).map_err(|e| Error::Plan(format!("rfc2136: `{field}` {text}: {e}")));
        let secret = decode_secret(&config.secret.read()?)?;
        let algorithm = match config.algorithm {
            TsigAlgorithm::HmacSha256 => Hmac::HmacSha256,
            TsigAlgorithm::HmacSha384 => Hmac::HmacSha384,
            TsigAlgorithm::HmacSha512 => Hmac::HmacSha512,
        };
        let signer = TSigner::new(secret, algorithm, name("key_name", &config.key_name)?, FUDGE)
            .map_err(|e| Error::Plan(format!("rfc2136: TSIG key {}: {e}", config.key_name)))?;
        // The plan's validation made sure that both sides are of one family.
        let rtype = if config.old.iter().all(IpAddr::is_ipv4) { RecordType::A } else { RecordType::AAAA };
        Ok(Rfc2136 { config: config.clone(), signer, zone: name("zone", &config.zone)?, name: name("name", &config.name)?, rtype })
    }

    /// The name's records, from an authoritative answer.
    fn rrset(&self) -> Result<RRset, Error> {
        let mut query = Message::query();
        query.metadata.recursion_desired = false;
        query.add_query(Query::query(self.name.clone(), self.rtype));
        let answer = self.exchange(&query)?;
        let answer = Message::from_vec(&answer).map_err(|e| self.failed(format!("malformed answer to the query for {}: {e}", self.name)))?;
        // NXDOMAIN (no such name) ends as "no record" below, with the other empty answers.
        if !matches!(answer.metadata.response_code, ResponseCode::NoError | ResponseCode::NXDomain) {
            return Err(self.failed(format!("the query for {} {} was answered {}", self.name, self.rtype, answer.metadata.response_code)));
        }
        if !answer.metadata.authoritative {
            return Err(self.failed(format!("the answer for {} is not authoritative: is this the zone's primary server?", self.name)));
        }
        let records: Vec<&Record> = answer.answers.iter().filter(|r| r.name == self.name && r.record_type() == self.rtype).collect();
        let addresses: Vec<IpAddr> = records.iter().filter_map(|r| r.data.ip_addr()).collect();
        match records.iter().map(|r| r.ttl).min() {
            Some(ttl) => Ok(RRset { addresses, ttl }),
            None => Err(self.failed(format!("zone {} has no {} record named {}", self.config.zone, self.rtype, self.name))),
        }
    }

    /// The weights `rrset` puts in force: 100 % to the side whose addresses it holds.
    fn weights_of(&self, rrset: &RRset) -> Result<Weights, Error> {
        if same_addresses(&rrset.addresses, &self.config.old) {
            Ok(Weights::percent_new(0))
        } else if same_addresses(&rrset.addresses, &self.config.new) {
            Ok(Weights::percent_new(100))
        } else {
            Err(self.failed(format!("{} holds {}, which is neither the plan's `old` nor its `new` side", self.name, listed(&rrset.addresses))))
        }
    }

    /// One signed UPDATE: with the name's records exactly `current` (the prerequisite), deletes
    /// `delete` and adds `add` with `ttl`, all or nothing.
    fn update(&self, current: &[IpAddr], delete: &[IpAddr], add: &[IpAddr], ttl: u32) -> Result<(), Error> {
        let mut message = Message::query();
        message.metadata.op_code = OpCode::Update;
        message.metadata.recursion_desired = false;
        message.add_zone(Query::query(self.zone.clone(), RecordType::SOA));
        // §2.4.2: RRset exists (value dependent): the zone's class, TTL 0.
        message.add_pre_requisites(self.records(current, 0, DNSClass::IN));
        // §2.5.4: delete an RR from an RRset: class NONE, TTL 0. §2.5.1: add to an RRset.
        message.add_updates(self.records(delete, 0, DNSClass::NONE));
        message.add_updates(self.records(add, ttl, DNSClass::IN));
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let mut verifier = message
            .finalize(&self.signer, now)
            .map_err(|e| self.failed(format!("signing the update: {e}")))?
            .ok_or_else(|| self.failed("signing the update gave no verifier".into()))?;
        let answer = self.exchange(&message)?;
        let parsed = Message::from_vec(&answer).map_err(|e| self.failed(format!("malformed answer to the update: {e}")))?;
        let tsig_error = parsed.signature().and_then(|s| s.data.error);
        if parsed.metadata.response_code != ResponseCode::NoError || tsig_error.is_some() {
            return Err(self.refused(parsed.metadata.response_code, tsig_error));
        }
        verifier.verify(&answer).map(drop).map_err(|e| self.failed(format!("the answer to the update is not signed with key {}: {e}", self.config.key_name)))
    }

    fn records(&self, addresses: &[IpAddr], ttl: u32, class: DNSClass) -> Vec<Record> {
        let record = |address: &IpAddr| {
            let mut record = Record::from_rdata(self.name.clone(), ttl, RData::from(*address));
            record.dns_class = class;
            record
        };
        addresses.iter().map(record).collect()
    }

    /// What an update's error answer means for the user (the secret is never part of it).
    fn refused(&self, code: ResponseCode, tsig: Option<TsigError>) -> Error {
        let key = &self.config.key_name;
        let reason = match (tsig, code) {
            (Some(TsigError::BadSig), _) => format!("refused the TSIG signature of key {key}: is the secret right?"),
            (Some(TsigError::BadKey), _) => format!("does not know TSIG key {key} with algorithm {}", self.signer.algorithm()),
            (Some(TsigError::BadTime), _) => "refused the signature's time: the clocks differ by more than 5 minutes".into(),
            (Some(other), _) => format!("refused the TSIG signature of key {key} ({other:?})"),
            // PowerDNS refuses a wrong signature this way too, without a TSIG error.
            (None, ResponseCode::Refused) => {
                format!(
                    "refused the update: is the secret of key {key} right, and does the server's policy let it change the {} records of {}?",
                    self.rtype, self.name
                )
            }
            (None, ResponseCode::NotAuth) => format!("is not authoritative for zone {} (or refused key {key})", self.config.zone),
            (None, ResponseCode::NotZone) => format!("{} is not in zone {} there", self.name, self.config.zone),
            (None, ResponseCode::NXRRSet | ResponseCode::YXRRSet) => {
                format!("the records of {} changed since they were read (the update's prerequisite failed): is someone else changing them?", self.name)
            }
            (None, code) => format!("answered the update with {code}"),
        };
        self.failed(format!("the server {reason}"))
    }

    /// One message to the server over TCP and its answer.
    fn exchange(&self, message: &Message) -> Result<Vec<u8>, Error> {
        let bytes = message.to_vec().map_err(|e| self.failed(format!("encoding a message: {e}")))?;
        let length = u16::try_from(bytes.len()).map_err(|_| self.failed("a message exceeds 64 KiB".into()))?;
        let exchange = || -> std::io::Result<Vec<u8>> {
            let address = self.config.server.to_socket_addrs()?.next().ok_or_else(|| std::io::Error::other("no address"))?;
            let mut stream = TcpStream::connect_timeout(&address, IO_TIMEOUT)?;
            stream.set_read_timeout(Some(IO_TIMEOUT))?;
            stream.set_write_timeout(Some(IO_TIMEOUT))?;
            stream.write_all(&[length.to_be_bytes().as_slice(), &bytes].concat())?;
            let mut prefix = [0u8; 2];
            stream.read_exact(&mut prefix)?;
            let mut answer = vec![0u8; usize::from(u16::from_be_bytes(prefix))];
            stream.read_exact(&mut answer)?;
            Ok(answer)
        };
        let answer = exchange().map_err(|e| self.failed(e.to_string()))?;
        if answer.get(0..2) != Some(message.metadata.id.to_be_bytes().as_slice()) {
            return Err(self.failed("the answer's id is not the query's".into()));
        }
        Ok(answer)
    }

    fn failed(&self, what: String) -> Error {
        Error::Driver(format!("RFC 2136 server {}: {what}", self.config.server))
    }
}

impl Driver for Rfc2136 {
    fn describe(&self) -> String {
        format!("RFC 2136 server {} ({} {} in zone {}, key {})", self.config.server, self.name, self.rtype, self.config.zone, self.config.key_name)
    }

    /// Reads the records, then sends a signed update that changes nothing (the records read,
    /// added again with their TTL, which the server ignores as duplicates): the key and the
    /// server's update policy for the name are checked before the first real change.
    fn check(&mut self) -> Result<(), Error> {
        let rrset = self.rrset()?;
        self.weights_of(&rrset)?;
        self.update(&rrset.addresses, &[], &rrset.addresses, rrset.ttl)
    }

    fn weights(&mut self) -> Result<Weights, Error> {
        let rrset = self.rrset()?;
        self.weights_of(&rrset)
    }

    fn set_weights(&mut self, weights: Weights) -> Result<(), Error> {
        let target = match weights {
            Weights { new: 0, .. } => &self.config.old,
            Weights { old: 0, .. } => &self.config.new,
            _ => return Err(self.failed(format!("cannot put {weights} in force: an RFC 2136 update only switches all traffic to one side"))),
        };
        let rrset = self.rrset()?;
        if same_addresses(&rrset.addresses, target) {
            return Ok(());
        }
        self.update(&rrset.addresses, &rrset.addresses, target, rrset.ttl)
    }

    fn ttl(&mut self) -> Result<Option<u32>, Error> {
        self.rrset().map(|r| Some(r.ttl))
    }

    fn set_ttl(&mut self, ttl: u32) -> Result<(), Error> {
        let rrset = self.rrset()?;
        if rrset.ttl == ttl {
            return Ok(());
        }
        self.update(&rrset.addresses, &rrset.addresses, &rrset.addresses, ttl)
    }

    fn residual(&mut self) -> Result<Option<Residual>, Error> {
        Ok(None)
    }

    fn cutover_ttl(&self) -> Option<u32> {
        Some(self.config.ttl)
    }
}

/// The secret's bytes from a file's or variable's text: the base64 secret alone, or a BIND key
/// file (`key "name" { algorithm hmac-sha256; secret "..."; };`). Errors never quote the text.
fn decode_secret(text: &str) -> Result<Vec<u8>, Error> {
    let encoded = match text.find("secret") {
        Some(at) => text[at..].split('"').nth(1).ok_or_else(|| Error::Plan("rfc2136: the key file's `secret` is not quoted".into()))?,
        None => text,
    };
    let encoded: String = encoded.chars().filter(|c| !c.is_whitespace()).collect();
    match base64::engine::general_purpose::STANDARD.decode(encoded) {
        Ok(secret) if !secret.is_empty() => Ok(secret),
        _ => Err(Error::Plan("rfc2136: the TSIG secret is not base64".into())),
    }
}

/// Whether two address lists hold the same addresses, in any order.
fn same_addresses(a: &[IpAddr], b: &[IpAddr]) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.contains(x))
}

fn listed(addresses: &[IpAddr]) -> String {
    addresses.iter().map(IpAddr::to_string).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_read_bare_or_from_bind_key_files() {
        let bare = decode_secret("c2VjcmV0LWJ5dGVz").unwrap();
        assert_eq!(bare, b"secret-bytes");
        let bind = "key \"ferry.\" {\n\talgorithm hmac-sha256;\n\tsecret \"c2VjcmV0LWJ5dGVz\";\n};\n";
        assert_eq!(decode_secret(bind).unwrap(), bare);
        for bad in ["not base64!", "key \"k.\" { secret c2VjcmV0; };", ""] {
            let err = decode_secret(bad).unwrap_err().to_string();
            assert!(err.contains("rfc2136") && !err.contains("c2VjcmV0") && !err.contains("base64!"), "{err}");
        }
    }
}
