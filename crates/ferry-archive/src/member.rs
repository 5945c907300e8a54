//! Member paths inside an archive: how an object's identity becomes a safe relative path on
//! write, how every path read from an archive is checked, and the digests that protect them.

use ferry_model::ObjectId;
use sha2::{Digest, Sha256};

/// The manifest's member path.
pub(crate) const MANIFEST: &str = "manifest.json";

/// Encoded file names longer than this are shortened, so every name fits a 255-byte file system
/// limit with room to spare.
const MAX_STEM: usize = 200;

/// The member path of an object: `objects/<group or core>/<kind>/<namespace or _cluster>/<name>.json`.
///
/// Each segment keeps ASCII letters, digits, `.`, `-` and `_` (a leading `.` excepted) and
/// percent-encodes every other byte, so no segment is empty, `.` or `..`, or holds a `/`; a
/// name whose encoding is longer than 200 bytes is cut and suffixed with `~` and 16 hex digits
/// of the sha256 of the full name. The result is unique per (group, kind, namespace, name).
pub(crate) fn path_for(id: &ObjectId) -> Result<String, &'static str> {
    if id.kind.is_empty() || id.name.is_empty() {
        return Err("its kind or name is empty");
    }
    let group = match id.group() {
        "" => "core".to_owned(),
        group => encode(group),
    };
    let namespace = match id.namespace.as_deref() {
        None => "_cluster".to_owned(),
        Some("") => return Err("its namespace is empty; leave it unset for a cluster-scoped object"),
        Some(ns) => encode(ns),
    };
    Ok(format!("objects/{group}/{}/{namespace}/{}.json", encode(&id.kind), file_stem(&id.name)))
}

/// Percent-encodes a segment: see [`path_for`].
fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for (i, byte) in segment.bytes().enumerate() {
        let keep = byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_') || (byte == b'.' && i > 0);
        if keep {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The encoded name, shortened with a digest suffix when too long.
fn file_stem(name: &str) -> String {
    let encoded = encode(name);
    if encoded.len() <= MAX_STEM {
        return encoded;
    }
    let mut cut = MAX_STEM - 20;
    // Do not split a `%XX` triple: back up to before it.
    if let Some(percent) = encoded[cut - 2..cut].rfind('%') {
        cut = cut - 2 + percent;
    }
    format!("{}~{}", &encoded[..cut], &sha256_hex(name.as_bytes())[..16])
}

/// Whether a path read from an archive is a plain relative path: non-empty `/`-separated
/// segments of printable ASCII without `\`, none of them `.` or `..`.
pub(crate) fn is_safe(path: &str) -> bool {
    !path.is_empty()
        && path.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
        && path.split('/').all(|segment| !segment.is_empty() && segment != "." && segment != "..")
}

/// Whether a safe path is an object member (as opposed to the manifest or something else).
pub(crate) fn is_object_path(path: &str) -> bool {
    path.starts_with("objects/") && path.ends_with(".json")
}

/// A path from an archive, with control and non-ASCII characters escaped for messages.
pub(crate) fn printable(path: &str) -> String {
    path.chars().flat_map(|c| if c.is_ascii_graphic() || c == ' ' { vec![c] } else { c.escape_default().collect() }).collect()
}

/// Lower-case hex of a byte string.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes.iter().flat_map(|b| [char::from(DIGITS[usize::from(b >> 4)]), char::from(DIGITS[usize::from(b & 0xf)])]).collect()
}

/// Lower-case hex sha256 of a byte string.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// [`sha256_hex`] of a member holding `json` and a final newline, without copying `json`.
pub(crate) fn line_sha256_hex(json: &[u8]) -> String {
    hex(&Sha256::new().chain_update(json).chain_update(b"\n").finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> ObjectId {
        ObjectId { api_version: api_version.into(), kind: kind.into(), namespace: namespace.map(Into::into), name: name.into() }
    }

    #[test]
    fn paths_follow_group_kind_namespace_name() {
        assert_eq!(path_for(&id("apps/v1", "Deployment", Some("shop"), "web")), Ok("objects/apps/Deployment/shop/web.json".into()));
        assert_eq!(path_for(&id("v1", "Namespace", None, "shop")), Ok("objects/core/Namespace/_cluster/shop.json".into()));
        assert_eq!(
            path_for(&id("rbac.authorization.k8s.io/v1", "ClusterRole", None, "system:controller:job")),
            Ok("objects/rbac.authorization.k8s.io/ClusterRole/_cluster/system%3Acontroller%3Ajob.json".into())
        );
    }

    #[test]
    fn hostile_names_stay_inside_their_directory() {
        for name in ["..", ".", "../../etc/passwd", "/abs", "a/b", "a\\b", "%2E%2E", ".hidden", "tab\there", "ünï"] {
            let path = path_for(&id("v1", "Secret", Some("ns"), name)).expect(name);
            assert!(is_safe(&path), "{name} -> {path}");
            assert_eq!(path.split('/').count(), 5, "{name} -> {path}");
            assert!(path.starts_with("objects/core/Secret/ns/"), "{name} -> {path}");
        }
        assert_ne!(path_for(&id("v1", "Secret", Some("ns"), "a%2Fb")), path_for(&id("v1", "Secret", Some("ns"), "a/b")));
        assert!(path_for(&id("v1", "Secret", Some(""), "x")).is_err());
        assert!(path_for(&id("v1", "", None, "x")).is_err());
    }

    #[test]
    fn long_names_are_shortened_uniquely() {
        let long_a = format!("{}a", ":".repeat(252));
        let long_b = format!("{}b", ":".repeat(252));
        let a = path_for(&id("v1", "ConfigMap", Some("ns"), &long_a)).expect("a");
        let b = path_for(&id("v1", "ConfigMap", Some("ns"), &long_b)).expect("b");
        assert_ne!(a, b);
        let file = a.rsplit('/').next().expect("file name");
        assert!(file.len() <= MAX_STEM + 5, "{file}");
        assert!(!file.contains("%3~") && !file.contains("%~"), "{file}");
    }

    #[test]
    fn unsafe_paths_are_recognised() {
        for path in ["", "/etc/passwd", "../x", "objects/../../x", "objects//x.json", "./x", "a\\..\\b", "x\u{0}y", "objects/é.json"] {
            assert!(!is_safe(path), "{path:?}");
        }
        assert!(is_safe("objects/core/Secret/ns/a%2Fb.json"));
        assert_eq!(printable("a\u{1b}[31mb"), "a\\u{1b}[31mb");
    }
}
