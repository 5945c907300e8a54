//! A minimal DNS client over UDP for the DNS fixtures ([`crate::TestPowerDns`],
//! [`crate::TestBind`]): it observes what clients are told, independently of the DNS library
//! the code under test uses.

use std::net::{Ipv4Addr, Ipv6Addr, UdpSocket};
use std::ops::Range;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use crate::{Error, io_err};

/// Query ids, so that an answer is matched to its query.
static NEXT_QUERY_ID: AtomicU16 = AtomicU16::new(1);
const TYPE_A: u16 = 1;
const TYPE_SOA: u16 = 6;
const TYPE_AAAA: u16 = 28;

/// One record of an answer section.
struct Answer {
    rtype: u16,
    ttl: u32,
    /// Where its data is in the packet (names in it may point elsewhere in the packet).
    data: Range<usize>,
}

/// `name`'s A records on the server at 127.0.0.1:`port`, and their TTL.
pub(crate) fn query_a(port: u16, name: &str) -> Result<(Vec<Ipv4Addr>, u32), Error> {
    let (addresses, ttl) = query_addresses::<4>(port, name, TYPE_A)?;
    Ok((addresses.into_iter().map(Ipv4Addr::from).collect(), ttl))
}

/// `name`'s AAAA records on the server at 127.0.0.1:`port`, and their TTL.
pub(crate) fn query_aaaa(port: u16, name: &str) -> Result<(Vec<Ipv6Addr>, u32), Error> {
    let (addresses, ttl) = query_addresses::<16>(port, name, TYPE_AAAA)?;
    Ok((addresses.into_iter().map(Ipv6Addr::from).collect(), ttl))
}

/// The `N`-byte addresses of `name`'s records of type `rtype`, and their TTL.
fn query_addresses<const N: usize>(port: u16, name: &str, rtype: u16) -> Result<(Vec<[u8; N]>, u32), Error> {
    let (packet, answers) = ask(port, name, rtype)?;
    let records: Vec<&Answer> = answers.iter().filter(|a| a.rtype == rtype && a.data.len() == N).collect();
    let addresses = records.iter().filter_map(|a| packet[a.data.clone()].try_into().ok());
    Ok((addresses.collect(), records.first().map_or(0, |a| a.ttl)))
}

/// The serial of `zone`'s SOA record on the server at 127.0.0.1:`port`.
pub(crate) fn soa_serial(port: u16, zone: &str) -> Result<u32, Error> {
    let (packet, answers) = ask(port, zone, TYPE_SOA)?;
    let serial = |a: &Answer| {
        let at = skip_name(&packet, skip_name(&packet, a.data.start)?)?;
        Some(u32::from_be_bytes(packet.get(at..at + 4)?.try_into().ok()?))
    };
    answers.iter().filter(|a| a.rtype == TYPE_SOA).find_map(serial).ok_or_else(|| Error::NotReady(format!("no SOA record for {zone}")))
}

/// Sends one query and returns the answer packet with its answer section.
fn ask(port: u16, name: &str, rtype: u16) -> Result<(Vec<u8>, Vec<Answer>), Error> {
    let socket = UdpSocket::bind("127.0.0.1:0").map_err(io_err("binding a DNS client socket"))?;
    socket.set_read_timeout(Some(Duration::from_secs(5))).map_err(io_err("DNS client socket"))?;
    let id = NEXT_QUERY_ID.fetch_add(1, Ordering::Relaxed);
    // Connected, so that a server not listening yet is an error at once, not a timeout.
    socket.connect(("127.0.0.1", port)).map_err(io_err("DNS client socket"))?;
    socket.send(&query(id, name, rtype)).map_err(io_err("sending a DNS query"))?;
    let mut buffer = vec![0u8; 1500];
    let n = socket.recv(&mut buffer).map_err(io_err("receiving a DNS answer"))?;
    buffer.truncate(n);
    let answers = parse_answers(&buffer, id).ok_or_else(|| Error::NotReady(format!("malformed DNS answer for {name}")))?;
    Ok((buffer, answers))
}

/// A DNS query for `name`'s records of type `rtype` (recursion not asked for).
fn query(id: u16, name: &str, rtype: u16) -> Vec<u8> {
    let mut packet = Vec::with_capacity(64);
    packet.extend_from_slice(&id.to_be_bytes());
    packet.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.trim_end_matches('.').split('.').filter(|l| !l.is_empty()) {
        packet.push(label.len() as u8);
        packet.extend_from_slice(label.as_bytes());
    }
    packet.push(0);
    packet.extend_from_slice(&rtype.to_be_bytes());
    packet.extend_from_slice(&[0, 1]);
    packet
}

/// The answer section of an answer to [`query`].
fn parse_answers(packet: &[u8], id: u16) -> Option<Vec<Answer>> {
    if packet.get(0..2)? != id.to_be_bytes() {
        return None;
    }
    let count = u16::from_be_bytes([*packet.get(6)?, *packet.get(7)?]);
    let mut at = skip_name(packet, 12)? + 4;
    let mut answers = Vec::new();
    for _ in 0..count {
        at = skip_name(packet, at)?;
        let field = |i: usize| packet.get(at + i).copied();
        let rtype = u16::from_be_bytes([field(0)?, field(1)?]);
        let ttl = u32::from_be_bytes([field(4)?, field(5)?, field(6)?, field(7)?]);
        let length = usize::from(u16::from_be_bytes([field(8)?, field(9)?]));
        let data = at + 10..at + 10 + length;
        packet.get(data.clone())?;
        answers.push(Answer { rtype, ttl, data });
        at += 10 + length;
    }
    Some(answers)
}

/// The offset after a (possibly compressed) name starting at `at`.
fn skip_name(packet: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let length = *packet.get(at)?;
        match length {
            0 => return Some(at + 1),
            l if l & 0xc0 == 0xc0 => return Some(at + 2),
            l => at += 1 + usize::from(l),
        }
    }
}
