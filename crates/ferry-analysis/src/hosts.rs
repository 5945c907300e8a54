//! Finds host names in free text: env values, args, commands, config files.
//!
//! Recognises `host`, `host:port`, `scheme://user:pass@host:port/path`,
//! `KEY=value` and connection-string pieces such as `Endpoint=sb://host/`.
//! Each token says whether it was *explicit* (had a scheme or a port), which
//! is what lets a bare word like `rabbitmq` count only where it stands alone.
//! IP addresses (`10.0.0.5:5432`, `fd00::1`) are tokens too, marked as such; a CIDR block
//! (`10.0.0.0/8`) is not an address.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A host name found in text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostToken<'a> {
    /// The host, lower-cased, without a trailing dot (borrowed from the text when it is written in lower case).
    pub host: Cow<'a, str>,
    /// The port, if written.
    pub port: Option<u16>,
    /// The URL scheme, if written (`amqp`, `https`, ...).
    pub scheme: Option<&'a str>,
    /// Whether the whole word was nothing but the host.
    pub bare: bool,
    /// Whether the port came from the next word (`nc rabbitmq 5672`) rather than `host:port`.
    pub port_from_next_word: bool,
    /// The IP address, when the host is one rather than a name.
    pub ip: Option<IpAddr>,
    /// The word before this one (the key `redisHost` of `"redisHost": "cache:6379"` in JSON), if any.
    pub previous: Option<&'a str>,
}

impl HostToken<'_> {
    /// Whether a scheme or a `host:port` form marks this as a network address.
    /// A number in the next word (`sleep 2`) is too weak to count.
    pub fn is_explicit(&self) -> bool {
        self.scheme.is_some() || (self.port.is_some() && !self.port_from_next_word)
    }
}

/// URL schemes whose authority part names a bucket or a path, not a host to connect to.
const NON_HOST_SCHEMES: &[&str] = &["s3", "s3a", "s3n", "gs", "gcs", "file", "memory", "mem", "classpath"];

/// Every host token in `text`, in order.
pub fn host_tokens(text: &str) -> Vec<HostToken<'_>> {
    let mut words = text.split(is_separator).filter(|w| !w.is_empty()).peekable();
    let mut tokens = Vec::new();
    let mut previous = None;
    while let Some(word) = words.next() {
        if let Some(mut token) = parse_word(word) {
            let next = words.peek().copied();
            if token.bare && token.port.is_none() && next.is_some_and(is_port) {
                token.port = next.and_then(|w| w.parse().ok());
                token.port_from_next_word = true;
            }
            token.previous = previous;
            tokens.push(token);
        }
        // In `"key": "value"` the colon stands alone between the quotes.
        if word != ":" {
            previous = Some(word);
        }
    }
    tokens
}

/// How a host reads as the address of an in-cluster Service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServiceHost<'a> {
    /// `svc`: a Service of the caller's namespace, or any single-label host.
    Bare(&'a str),
    /// `svc.ns`: a Service of another namespace, or an external host such as `example.com`.
    Namespaced { name: &'a str, namespace: &'a str },
    /// `svc.ns.svc` or `svc.ns.svc.<cluster-domain>`: unmistakably in-cluster.
    Qualified { name: &'a str, namespace: &'a str },
}

/// Reads `host` as a Service address; `None` for names of three or more labels whose third is
/// not `svc`, and for IP addresses.
pub(crate) fn service_host(host: &str) -> Option<ServiceHost<'_>> {
    if host.contains(':') || host.parse::<Ipv4Addr>().is_ok() {
        return None;
    }
    let mut labels = host.split('.');
    let name = labels.next()?;
    match (labels.next(), labels.next()) {
        (None, _) => Some(ServiceHost::Bare(name)),
        (Some(namespace), None) => Some(ServiceHost::Namespaced { name, namespace }),
        (Some(namespace), Some("svc")) => Some(ServiceHost::Qualified { name, namespace }),
        _ => None,
    }
}

/// Whether `c` separates words: white space, and quotes, brackets and list punctuation.
fn is_separator(c: char) -> bool {
    match c {
        ',' | ';' | '"' | '\'' | '(' | ')' | '[' | ']' | '{' | '}' | '<' | '>' | '|' | '`' | '\\' => true,
        c => c.is_whitespace(),
    }
}

fn is_port(word: &str) -> bool {
    !word.is_empty() && word.len() <= 5 && word.bytes().all(|b| b.is_ascii_digit())
}

fn parse_word(word: &str) -> Option<HostToken<'_>> {
    let original = word;
    let word = strip_assignment(word);
    if let Ok(ip) = word.parse::<Ipv6Addr>() {
        let bare = word.len() == original.len();
        return Some(HostToken {
            host: Cow::Borrowed(word),
            port: None,
            scheme: None,
            bare,
            port_from_next_word: false,
            ip: Some(IpAddr::V6(ip)),
            previous: None,
        });
    }
    let (scheme, rest) = match word.find("://") {
        // `jdbc:postgresql://db:5432/app`: the scheme is the last part before `://`.
        Some(i) => {
            let scheme = word[..i].rsplit(':').next().unwrap_or_default();
            if !is_scheme(scheme) {
                return None;
            }
            (Some(scheme), &word[i + 3..])
        }
        None => (None, word),
    };
    if scheme.is_some_and(|s| NON_HOST_SCHEMES.iter().any(|n| n.eq_ignore_ascii_case(s))) {
        return None;
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let (host, port_text) = match host_port.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (host_port, None),
    };
    let port = match port_text {
        Some(p) if is_port(p) => p.parse().ok(),
        Some(_) => return None,
        None => None,
    };
    let host = host.trim_end_matches('.');
    let ip = host.parse::<Ipv4Addr>().ok();
    if ip.is_some() && scheme.is_none() && is_prefix_length(&rest[authority_end..]) {
        return None;
    }
    if ip.is_none() && !is_host_name(host) {
        return None;
    }
    let bare = scheme.is_none() && port.is_none() && host.len() == original.trim_end_matches('.').len();
    let host = if host.bytes().any(|b| b.is_ascii_uppercase()) { Cow::Owned(host.to_ascii_lowercase()) } else { Cow::Borrowed(host) };
    Some(HostToken { host, port, scheme, bare, port_from_next_word: false, ip: ip.map(IpAddr::V4), previous: None })
}

/// Whether what follows an address is a CIDR prefix length (`/8`): a block, not an address.
fn is_prefix_length(after: &str) -> bool {
    after.strip_prefix('/').is_some_and(|bits| !bits.is_empty() && bits.len() <= 3 && bits.bytes().all(|b| b.is_ascii_digit()))
}

/// `KEY=value` and `--flag=value` become `value`, unless the `=` is inside a URL.
fn strip_assignment(word: &str) -> &str {
    match word.find('=') {
        Some(eq) if !word[..eq].contains([':', '/']) => &word[eq + 1..],
        _ => word,
    }
}

fn is_scheme(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// RFC 1123 host names with at least one letter (so IP addresses and numbers are not hosts).
fn is_host_name(host: &str) -> bool {
    host.len() <= 253
        && host.bytes().any(|b| b.is_ascii_alphabetic())
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(text: &str) -> Vec<(String, Option<u16>, bool)> {
        host_tokens(text).into_iter().map(|t| (t.host.to_string(), t.port, t.is_explicit())).collect()
    }

    #[test]
    fn urls_with_credentials_ports_and_paths() {
        assert_eq!(hosts("amqp://user:pa55@rabbitmq:5672/vhost"), [("rabbitmq".into(), Some(5672), true)]);
        assert_eq!(hosts("mongodb://documentdb:10260/?tls=true&x=y"), [("documentdb".into(), Some(10260), true)]);
        assert_eq!(hosts("http://ai-service:5001/"), [("ai-service".into(), Some(5001), true)]);
    }

    #[test]
    fn assignments_and_host_port_pairs() {
        assert_eq!(hosts("FOO_SERVICE_ADDR=cart:7070"), [("cart".into(), Some(7070), true)]);
        assert_eq!(hosts("user-db:27017"), [("user-db".into(), Some(27017), true)]);
    }

    #[test]
    fn cluster_dns_forms() {
        assert_eq!(hosts("zipkin.jaeger.svc.cluster.local."), [("zipkin.jaeger.svc.cluster.local".into(), None, false)]);
        assert_eq!(hosts("http://catalog.catalog.svc:80"), [("catalog.catalog.svc".into(), Some(80), true)]);
    }

    #[test]
    fn shell_commands_pair_a_host_with_a_following_port() {
        let found = hosts("until nc -zv rabbitmq 5672; do sleep 2; done");
        assert!(found.contains(&("rabbitmq".into(), Some(5672), false)), "{found:?}");
        assert!(found.contains(&("sleep".into(), Some(2), false)), "a number after a word is no proof of an address");
    }

    #[test]
    fn connection_strings() {
        let found = hosts("Endpoint=sb://sb-demo.servicebus.windows.net/;SharedAccessKeyName=x");
        assert_eq!(found[0], ("sb-demo.servicebus.windows.net".into(), None, true));
    }

    #[test]
    fn jdbc_urls_and_bucket_urls() {
        assert_eq!(hosts("jdbc:postgresql://orders-db:5432/orders"), [("orders-db".into(), Some(5432), true)]);
        assert!(hosts("s3://local-bucket/data gs://bucket/x").is_empty());
    }

    #[test]
    fn paths_and_numbers_are_not_hosts() {
        assert!(hosts("/api/v1 8080 -zv 1.25").is_empty());
    }

    #[test]
    fn addresses_are_tokens_marked_as_addresses_and_blocks_are_not() {
        let tokens = host_tokens("10.0.0.1:8080 http://192.168.1.5/x fd00::1 10.0.0.0/8 --net=172.16.0.0/12");
        let found: Vec<(&str, Option<u16>, bool)> = tokens.iter().map(|t| (&*t.host, t.port, t.ip.is_some())).collect();
        assert_eq!(found, [("10.0.0.1", Some(8080), true), ("192.168.1.5", None, true), ("fd00::1", None, true)]);
        assert_eq!(service_host("10.0.0.1"), None, "an address is no Service name");
        assert_eq!(service_host("fd00::1"), None);
    }

    #[test]
    fn each_token_knows_the_word_before_it() {
        let tokens = host_tokens(r#"{"$$hashKey": "object:1058", "redisHost": "cache:6379"}"#);
        let previous: Vec<Option<&str>> = tokens.iter().map(|t| t.previous).collect();
        assert_eq!(previous, [Some("$$hashKey"), Some("object:1058"), Some("redisHost")], "`redisHost` is a word too");
    }

    #[test]
    fn bare_words_are_marked_bare() {
        let tokens = host_tokens("azure-vote-back");
        assert!(tokens[0].bare && !tokens[0].is_explicit());
        assert!(!host_tokens("http://x")[0].bare);
    }

    #[test]
    fn unicode_spaces_and_punctuation_separate_words() {
        let tokens = host_tokens("a.svc\u{a0}b.svc\u{3000}c.svc,,[d.svc] é\u{85}e.svc");
        let hosts: Vec<&str> = tokens.iter().map(|t| &*t.host).collect();
        assert_eq!(hosts, ["a.svc", "b.svc", "c.svc", "d.svc", "e.svc"]);
    }
}
