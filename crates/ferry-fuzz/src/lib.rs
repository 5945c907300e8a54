//! The bodies of ferry's fuzz targets, one function per target. Each takes arbitrary bytes,
//! feeds them to the code that reads untrusted input (YAML manifests, archives plain and
//! encrypted, the rules file, objects to transform) and asserts what must hold whatever the
//! input: no panic, and the contracts named in each function's documentation. A broken
//! contract panics, which the fuzzer reports as a crash.
//!
//! `fuzz/` (a cargo-fuzz workspace of its own, outside the main one) wraps each function in a
//! `fuzz_target!`; this crate's test replays the checked-in seeds and regressions
//! (`fuzz/seeds/TARGET/`) through the same functions on every test run. Nothing here reads
//! files or prints.

use ferry_archive::{Entry, Keys, Manifest, read_from};
use ferry_model::load::{load_text_documents, object_id};
use ferry_transform::{Options, Rules, diff, normalise_for_compare, redact_secret, redact_secret_looking, transform};
use std::sync::LazyLock;

use serde_json::Value;

/// The name inputs are given in errors and evidence.
const NAME: &str = "fuzz-input";

/// The fixed age identity of the encrypted-archive target (made for fuzzing; not a secret).
const IDENTITY: &str = "AGE-SECRET-KEY-17S8ZHE8RADH2PHSNEYNP65K9KVZQHCMKZD58QQGYHD8WHGELEK4QKTH4P0";

/// The fixed key of archives in the old `FERRYENC` format, given as a passphrase.
const LEGACY_KEY: &str = "66657272792066757a7a696e67206b65792c206e6f7420612073656372657421";

/// The page whose first YAML example (every kind of rule) the transform target applies.
const RULES_PAGE: &str = include_str!("../../../docs/transform-rules.md");

/// The target versions the transform target converts for, picked by an input's first byte.
const VERSIONS: [&str; 6] = ["1.16", "1.20", "1.22", "1.25", "1.29", "1.33"];

/// YAML manifests, as `ferry assess` and `ferry transform` load them: every object's identity
/// is the one read from its tree, the report counts what it hands out, and an object's JSON
/// form, loaded again, is the same object (JSON is YAML, so nothing is lost or changed).
pub fn yaml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (objects, report) = load_text_documents(NAME, text.to_owned(), |document| document.into_object());
    assert_eq!(report.objects, objects.len() as u64, "the report counts every object handed out");
    for object in &objects {
        assert_eq!(object_id(&object.root), object.id, "an object's identity is read from its tree");
        let json = object.root.to_json();
        if !keys_fit_yaml(&json) {
            continue;
        }
        let (again, _) = load_text_documents(NAME, json.to_string(), |document| document.into_object().root.to_json());
        assert_eq!(again, [json], "an object's JSON form loads as the same object");
    }
}

/// YAML allows implicit keys of at most 1024 characters (YAML 1.2, 7.4.2), so a JSON form whose
/// keys are longer once quoted and escaped is no YAML: a key of 933 characters with quotes in
/// it, read from YAML, is 1,074 in JSON and was refused (seed `regression-long-escaped-key`,
/// found by the fuzzer). kubectl reads JSON files with a JSON decoder, so such a file passes
/// kubectl and not ferry; keys that
/// long are invalid in Kubernetes anyway (annotation keys are at most 317 characters).
const YAML_KEY_LIMIT: usize = 1024;

/// Whether every key of `value`, written as JSON, fits YAML's limit on implicit keys.
fn keys_fit_yaml(value: &serde_json::Value) -> bool {
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        match value {
            serde_json::Value::Object(map) => {
                if map.keys().any(|k| serde_json::Value::from(k.as_str()).to_string().chars().count() > YAML_KEY_LIMIT) {
                    return false;
                }
                pending.extend(map.values());
            }
            serde_json::Value::Array(items) => pending.extend(items),
            _ => {}
        }
    }
    true
}

/// A single-file archive without a key. The first byte picks the form of the rest: even, the
/// archive's bytes as they are; odd, a tar stream that is compressed first, so that the fuzzer
/// reaches the tar reader and the manifest checks. See [`check_read`] for what must hold.
pub fn archive_plain(data: &[u8]) {
    let Some((&form, rest)) = data.split_first() else { return };
    let bytes = if form % 2 == 0 { rest.to_vec() } else { compress(rest) };
    check_read(read_from(NAME, bytes.as_slice(), None));
}

/// Keys that encrypt to the fixed identity.
static WRITING: LazyLock<Keys> = LazyLock::new(|| {
    let mut keys = Keys::new();
    keys.add_identity_text(IDENTITY, "the fuzzing identity").expect("a valid identity");
    keys
});

/// Keys that read: the fixed identity, and the old format's key as a passphrase (with a low
/// scrypt limit, so that an input asking for a passphrase costs little).
static READING: LazyLock<Keys> = LazyLock::new(|| {
    let mut keys = WRITING.clone();
    keys.add_passphrase(LEGACY_KEY.to_owned(), "the fuzzing key").expect("a passphrase");
    keys.set_scrypt_limit(10);
    keys
});

/// An encrypted single-file archive (age, or the old `FERRYENC` format). The first byte picks
/// what the rest is:
/// - 0 mod 3: the archive's bytes as they are, read with the keys (the header and chunks);
/// - 1 mod 3: a tar stream, compressed, then encrypted: read with the key, it gives exactly
///   what the unencrypted stream gives without one; without the key it is refused, and the
///   unencrypted stream is refused with the key (no downgrade);
/// - 2 mod 3: two bytes of position, one of change, then a tar stream, compressed and
///   encrypted: the encrypted bytes are changed at that position (a change of 0 cuts them
///   there), and the result is refused whatever the archive held.
pub fn archive_encrypted(data: &[u8]) {
    let Some((&form, rest)) = data.split_first() else { return };
    let key = &*READING;
    match form % 3 {
        0 => check_read(read_from(NAME, rest, Some(key))),
        1 => {
            let plain = compress(rest);
            let sealed = WRITING.encrypt(&plain).expect("encrypts");
            let opened = read_from(NAME, sealed.as_slice(), Some(key));
            let expected = read_from(NAME, plain.as_slice(), None);
            assert_eq!(opened.as_ref().ok(), expected.as_ref().ok(), "the encrypted archive reads as the plain one");
            assert_eq!(opened.is_err(), expected.is_err(), "the encrypted archive fails where the plain one does");
            assert!(read_from(NAME, sealed.as_slice(), None).is_err(), "an encrypted archive is refused without its key");
            assert!(read_from(NAME, plain.as_slice(), Some(key)).is_err(), "a plain archive is refused when a key is given");
            check_read(opened);
        }
        _ => {
            let [high, low, change, tar @ ..] = rest else { return };
            let mut sealed = WRITING.encrypt(&compress(tar)).expect("encrypts");
            let at = usize::from(u16::from_be_bytes([*high, *low])) % sealed.len();
            match change {
                0 => sealed.truncate(at),
                change => sealed[at] ^= change,
            }
            assert!(read_from(NAME, sealed.as_slice(), Some(key)).is_err(), "a changed encrypted archive is refused (byte {at}, change {change})");
        }
    }
}

/// What a successful read promises: one entry per manifest entry, in its order and with its
/// identity, each holding a JSON document (whose tree serde_json builds unless it nests deeper
/// than its limit).
fn check_read(result: Result<(Manifest, Vec<Entry>), ferry_archive::ArchiveError>) {
    let Ok((manifest, entries)) = result else { return };
    assert_eq!(manifest.objects.len(), entries.len(), "one entry per manifest entry");
    for (listed, entry) in manifest.objects.iter().zip(&entries) {
        assert_eq!(listed.id, entry.id, "entries come in manifest order");
        if let Err(e) = entry.object() {
            assert!(e.to_string().starts_with("recursion limit exceeded"), "an entry read is JSON: {} ({e})", entry.id);
        }
    }
}

/// A zstd frame of `tar`, as an archive's writer makes it.
fn compress(tar: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(tar, 1).expect("compresses in memory")
}

/// A rules file (`ferry.yaml`): parsed or refused, and rules that parse are applied to a
/// Deployment, a Service and an Ingress without a panic.
pub fn rules(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(rules) = Rules::parse(text, "ferry.yaml") else { return };
    let options = Options { target_version: "1.29".parse().expect("a version"), rules };
    for object in sample_objects() {
        transform(object, &options);
    }
}

/// Objects every kind of rule applies to.
fn sample_objects() -> [Value; 3] {
    [
        serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web-1", "namespace": "shop", "labels": {"tier": "front"},
            "annotations": {"old.example.com/a": "1"}},
            "spec": {"replicas": 3, "template": {"spec": {"serviceAccountName": "orders", "containers": [{"name": "web", "image": "nginx:1.25"}]}}}}),
        serde_json::json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop-legacy",
            "annotations": {"service.beta.kubernetes.io/azure-dns-label-name": "web"}}, "spec": {"type": "LoadBalancer", "externalTrafficPolicy": "Local"}}),
        serde_json::json!({"apiVersion": "extensions/v1beta1", "kind": "Ingress", "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"ingressClassName": "webapprouting.kubernetes.azure.com", "backend": {"serviceName": "web", "servicePort": 80}}}),
    ]
}

/// An object as JSON (from an archive or a cluster), transformed for a target version picked by
/// the first byte with rules of every kind: an object that is kept is a JSON map, transforming
/// it again changes nothing (a second run of `ferry migrate` applies the same objects), and
/// the diff, the normal form and the maskers take any input.
pub fn transform_object(data: &[u8]) {
    let Some((&version, json)) = data.split_first() else { return };
    let Ok(object) = serde_json::from_slice::<Value>(json) else { return };
    let options = transform_options(version);
    let Some(kept) = transform(object.clone(), options).object else { return };
    assert!(kept.is_object(), "a kept object is a JSON map");
    let again = transform(kept.clone(), options);
    assert_eq!(again.object.as_ref(), Some(&kept), "transforming a transformed object changes nothing");
    diff(&object, &kept);
    normalise_for_compare(&kept);
    redact_secret(&kept);
    redact_secret_looking(&kept);
}

/// The transform target's options for a version byte.
fn transform_options(version: u8) -> &'static Options {
    static OPTIONS: LazyLock<Vec<Options>> = LazyLock::new(|| {
        let example = RULES_PAGE.split("```yaml\n").nth(1).and_then(|rest| rest.split("```").next()).expect("a YAML example");
        let rules = Rules::parse(example, "docs/transform-rules.md").expect("the documented example parses");
        VERSIONS.iter().map(|version| Options { target_version: version.parse().expect("a version"), rules: rules.clone() }).collect()
    });
    &OPTIONS[usize::from(version) % VERSIONS.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_transform_target_s_rules_parse() {
        assert!(!transform_options(0).rules.patches.is_empty());
    }
}
