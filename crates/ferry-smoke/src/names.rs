//! Host names against the names a certificate or an Ingress's TLS entry lists: equal ignoring
//! case, or a `*.` wildcard that stands for exactly one leftmost label (RFC 6125).

/// Whether `pattern` (a name or `*.suffix`) covers `host`.
pub fn matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(suffix) => host.split_once('.').is_some_and(|(label, rest)| !label.is_empty() && rest.eq_ignore_ascii_case(suffix)),
        None => pattern.eq_ignore_ascii_case(host),
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn wildcards_cover_one_label_and_case_does_not_matter() {
        assert!(matches("Shop.Example.com", "shop.example.com"));
        assert!(matches("*.example.com", "shop.example.com"));
        assert!(!matches("*.example.com", "a.shop.example.com"));
        assert!(!matches("*.example.com", "example.com"));
        assert!(!matches("www.example.com", "shop.example.com"));
    }
}
