//! The distribution API's authentication: the `WWW-Authenticate` challenge of a 401, HTTP basic
//! authentication, and the bearer-token flow (a token per scope from the challenge's realm,
//! asked for with the basic credentials if there are any). Tokens and passwords stay in memory.

/// How a registry asked to be authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Challenge {
    /// `Basic realm="…"`.
    Basic,
    /// `Bearer realm="https://auth.example.com/token",service="registry.example.com"`.
    Bearer {
        /// The token endpoint.
        realm: String,
        /// The `service` parameter to pass on, if given.
        service: Option<String>,
    },
}

impl Challenge {
    /// Reads a `WWW-Authenticate` header; `None` for schemes other than Basic and Bearer.
    pub(crate) fn parse(header: &str) -> Option<Challenge> {
        let (scheme, params) = header.trim().split_once(' ').unwrap_or((header.trim(), ""));
        if scheme.eq_ignore_ascii_case("basic") {
            return Some(Challenge::Basic);
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let params = parameters(params);
        let get = |key: &str| params.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.clone());
        Some(Challenge::Bearer { realm: get("realm")?, service: get("service") })
    }
}

/// `key="value",key2=value2` pairs; commas inside quotes belong to the value.
fn parameters(text: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut rest = text.trim();
    while let Some((key, after)) = rest.split_once('=') {
        let key = key.trim().trim_start_matches(',').trim().to_owned();
        let after = after.trim_start();
        let (value, remaining) = match after.strip_prefix('"') {
            Some(quoted) => match quoted.find('"') {
                Some(end) => (quoted[..end].to_owned(), &quoted[end + 1..]),
                None => (quoted.to_owned(), ""),
            },
            None => match after.find(',') {
                Some(end) => (after[..end].trim().to_owned(), &after[end..]),
                None => (after.trim().to_owned(), ""),
            },
        };
        pairs.push((key, value));
        rest = remaining.trim_start().trim_start_matches(',');
    }
    pairs
}

/// The access a request needs, as a token scope: `repository:shop/web:pull,push`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Scope(Vec<String>);

impl Scope {
    /// Reading `repository`.
    pub(crate) fn pull(repository: &str) -> Scope {
        Scope(vec![format!("repository:{repository}:pull")])
    }

    /// Reading and writing `repository`.
    pub(crate) fn push(repository: &str) -> Scope {
        Scope(vec![format!("repository:{repository}:pull,push")])
    }

    /// Writing `repository` with a blob mounted from `from`.
    pub(crate) fn mount(repository: &str, from: &str) -> Scope {
        Scope(vec![format!("repository:{repository}:pull,push"), format!("repository:{from}:pull")])
    }

    /// The `scope` query parameters of a token request.
    pub(crate) fn parts(&self) -> &[String] {
        &self.0
    }
}

/// The token in a token endpoint's answer (`token`, or OAuth2's `access_token`).
pub(crate) fn token_of(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    ["token", "access_token"].iter().find_map(|k| value.get(*k).and_then(serde_json::Value::as_str)).filter(|t| !t.is_empty()).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_are_read_like_docker_does() {
        assert_eq!(Challenge::parse(r#"Basic realm="ferry-test""#), Some(Challenge::Basic));
        let header = r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull""#;
        assert_eq!(
            Challenge::parse(header),
            Some(Challenge::Bearer { realm: "https://auth.docker.io/token".into(), service: Some("registry.docker.io".into()) })
        );
        assert_eq!(
            Challenge::parse("bearer realm=https://h/token, service=h"),
            Some(Challenge::Bearer { realm: "https://h/token".into(), service: Some("h".into()) })
        );
        assert_eq!(Challenge::parse("Bearer service=\"x\""), None, "a bearer challenge needs a realm");
        assert_eq!(Challenge::parse("Negotiate abc"), None);
    }

    #[test]
    fn scopes_and_tokens() {
        assert_eq!(Scope::mount("a/b", "c").parts(), ["repository:a/b:pull,push", "repository:c:pull"]);
        assert_eq!(token_of(br#"{"token":"t1","expires_in":300}"#).as_deref(), Some("t1"));
        assert_eq!(token_of(br#"{"access_token":"t2"}"#).as_deref(), Some("t2"));
        assert_eq!(token_of(br#"{"token":""}"#), None);
        assert_eq!(token_of(b"<html>"), None);
    }
}
