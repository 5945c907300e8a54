//! Image references read as Docker and Kubernetes read them: the grammar of the distribution
//! project's `reference` package (its regular expression, with Go's ASCII `\w`), then Docker
//! Hub's short forms completed. `oci-spec`'s parser has the same grammar but compiles `\w` as
//! Unicode, 128 times over: a regular expression of megabytes that took most of the CPU of a
//! `ferry images copy` with nothing to copy; this one compiles in well under a millisecond.

use std::sync::LazyLock;

use regex::Regex;

use super::ImageRef;

/// The whole reference: name (with optional `domain[:port]/`), optional `:tag`, optional
/// `@algorithm:hex`; anchored, with the three parts captured.
static REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    let label = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
    let domain = format!(r"{label}(?:\.{label})*(?::[0-9]+)?");
    let component = "[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*";
    let name = format!(r"(?:{domain}/)?{component}(?:/{component})*");
    let tag = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}";
    let digest = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}";
    Regex::new(&format!("^({name})(?::({tag}))?(?:@({digest}))?$")).expect("the reference grammar compiles")
});

/// The longest repository name the distribution API accepts.
const NAME_MAX: usize = 255;

/// A reference split into registry, repository, tag and digest; `latest` is the tag of a
/// reference with neither tag nor digest.
pub(super) fn parse(text: &str) -> Result<ImageRef, String> {
    let captures = REFERENCE.captures(text).ok_or("not a reference (`[registry/]repository[:tag][@digest]`, repository in lower case)")?;
    let name = &captures[1];
    let tag = captures.get(2).map(|m| m.as_str().to_owned());
    let digest = captures.get(3).map(|m| m.as_str().to_owned());
    if let Some(digest) = &digest {
        check_digest(digest)?;
    }
    let (registry, repository) = split_domain(name);
    if repository.len() > NAME_MAX {
        return Err(format!("the repository name is longer than {NAME_MAX} characters"));
    }
    let tag = if tag.is_none() && digest.is_none() { Some("latest".to_owned()) } else { tag };
    Ok(ImageRef { registry, repository, tag, digest })
}

/// The hex part of a digest must be as long as its algorithm's output.
fn check_digest(digest: &str) -> Result<(), String> {
    let (algorithm, hex) = digest.split_once(':').unwrap_or_default();
    let expected = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return Err(format!("the digest algorithm `{algorithm}` is not sha256, sha384 or sha512")),
    };
    if hex.len() != expected {
        return Err(format!("a {algorithm} digest has {expected} hex digits, not {}", hex.len()));
    }
    Ok(())
}

/// The registry and repository of a name: the first part is a registry if it has a `.` or a
/// `:` or is `localhost`; otherwise Docker Hub, whose one-part names are under `library/`.
fn split_domain(name: &str) -> (String, String) {
    let (mut domain, mut rest) = match name.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => (first.to_owned(), rest.to_owned()),
        _ => ("docker.io".to_owned(), name.to_owned()),
    };
    if domain == "index.docker.io" {
        domain = "docker.io".to_owned();
    }
    if domain == "docker.io" && !rest.contains('/') {
        rest = format!("library/{rest}");
    }
    (domain, rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(text: &str) -> (String, String, Option<String>, Option<String>) {
        let ImageRef { registry, repository, tag, digest } = parse(text).unwrap();
        (registry, repository, tag, digest)
    }

    #[test]
    fn references_split_as_docker_splits_them() {
        let some = |s: &str| Some(s.to_owned());
        assert_eq!(parts("nginx"), ("docker.io".into(), "library/nginx".into(), some("latest"), None));
        assert_eq!(parts("index.docker.io/bitnami/redis:7.2"), ("docker.io".into(), "bitnami/redis".into(), some("7.2"), None));
        assert_eq!(parts("localhost/app:v1_rc.2-x"), ("localhost".into(), "app".into(), some("v1_rc.2-x"), None));
        assert_eq!(parts("127.0.0.1:5000/shop/web"), ("127.0.0.1:5000".into(), "shop/web".into(), some("latest"), None));
        let digest = format!("sha256:{}", "a".repeat(64));
        let pinned = parts(&format!("myacr.azurecr.io/team/web__a.b--c:2@{digest}"));
        assert_eq!(pinned, ("myacr.azurecr.io".into(), "team/web__a.b--c".into(), some("2"), Some(digest.clone())));
        assert_eq!(parts(&format!("ghcr.io/org/tool@{digest}")).2, None);
    }

    #[test]
    fn bad_references_say_what_is_wrong() {
        assert!(parse("Shop/Web:1").unwrap_err().contains("lower case"));
        assert!(parse("web:").is_err() && parse("web:-x").is_err() && parse("").is_err() && parse("web/:1").is_err());
        assert!(parse(&format!("web:{}", "t".repeat(129))).is_err());
        assert!(parse("web@sha256:abc").unwrap_err().contains("not a reference"));
        assert_eq!(parse(&format!("web@sha256:{}", "a".repeat(63))).unwrap_err(), "a sha256 digest has 64 hex digits, not 63");
        assert!(parse(&format!("web@md5:{}", "a".repeat(32))).unwrap_err().contains("`md5`"));
        assert!(parse(&format!("r.example/{}", "a".repeat(256))).unwrap_err().contains("longer than 255"));
        assert!(parse("web:ünïcode").is_err(), "tags are ASCII, as in Go");
    }
}
