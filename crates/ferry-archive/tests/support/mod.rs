//! Helpers shared by the archive tests: sample objects (a Secret among them), writing them,
//! reading them back, and checking error messages.

use ferry_archive::{ArchiveError, Destination, Filters, Header, Keys, Manifest, Source, Writer, read};
use ferry_model::ObjectId;
use serde_json::{Value, json};

/// A Secret value that must never appear in an error message or an encrypted archive.
pub const SECRET_VALUE: &str = "cGFzc3dvcmQtdGhhdC1tdXN0LW5ldmVyLWxlYWs=";

/// A header as `ferry export` would write it.
pub fn header() -> Header {
    Header {
        source: Source { context: "kind-old".into(), server_version: "v1.20.2".into() },
        created: "2026-11-21T12:00:00Z".into(),
        filters: Filters {
            namespaces: vec!["shop".into()],
            selector: Some("app=web".into()),
            include: vec![],
            exclude: vec!["events".into()],
            include_generated: false,
        },
    }
}

/// An object with its identity and resource.
pub fn object(api_version: &str, kind: &str, resource: &str, namespace: Option<&str>, name: &str, extra: Value) -> (ObjectId, String, Value) {
    let id = ObjectId { api_version: api_version.into(), kind: kind.into(), namespace: namespace.map(Into::into), name: name.into() };
    let mut metadata = json!({ "name": name });
    if let Some(ns) = namespace {
        metadata["namespace"] = json!(ns);
    }
    let mut object = json!({ "apiVersion": api_version, "kind": kind, "metadata": metadata });
    if let (Some(target), Some(extra)) = (object.as_object_mut(), extra.as_object()) {
        target.extend(extra.clone());
    }
    (id, resource.into(), object)
}

/// A small cluster: namespaced and cluster-scoped objects, core and named groups, a Secret, a
/// name with characters that need escaping, and a name too long for a file name as it is.
pub fn sample() -> Vec<(ObjectId, String, Value)> {
    vec![
        object("v1", "Namespace", "namespaces", None, "shop", json!({})),
        object("apps/v1", "Deployment", "deployments.apps", Some("shop"), "web", json!({ "spec": { "replicas": 3 } })),
        object("v1", "Secret", "secrets", Some("shop"), "db", json!({ "type": "Opaque", "data": { "password": SECRET_VALUE } })),
        object("rbac.authorization.k8s.io/v1", "ClusterRole", "clusterroles.rbac.authorization.k8s.io", None, "system:controller:shop", json!({ "rules": [] })),
        object("v1", "ConfigMap", "configmaps", Some("shop"), &format!("long-{}", "x".repeat(248)), json!({ "data": { "k": "v" } })),
    ]
}

/// Writes objects to `dest`.
pub async fn write(dest: &Destination, key: Option<&Keys>, objects: &[(ObjectId, String, Value)]) -> Result<Manifest, ArchiveError> {
    let mut writer = Writer::create(dest, header(), key).await?;
    for (id, resource, object) in objects {
        writer.add(id, resource, object).await?;
    }
    writer.finish().await
}

/// Reads `dest` and checks it holds exactly `objects`, in order, with the sample header.
pub async fn assert_round_trip(dest: &Destination, key: Option<&Keys>, objects: &[(ObjectId, String, Value)]) {
    let (manifest, entries) = read(dest, key).await.unwrap_or_else(|e| panic!("reading {dest}: {e}"));
    assert_eq!(manifest.format, "ferry.archive/v1");
    assert_eq!(manifest.header, header());
    let read_back: Vec<(ObjectId, String, Value)> = entries.iter().map(|e| (e.id.clone(), e.resource.clone(), e.object().expect("JSON"))).collect();
    assert_eq!(&read_back, objects);
}

/// Checks an error names the archive and never shows the Secret's value.
pub fn assert_reported(err: &ArchiveError, archive: &str) {
    let text = error_chain(err);
    assert!(text.contains(archive), "the message does not name `{archive}`: {text}");
    assert!(!text.contains(SECRET_VALUE), "the message shows a Secret: {text}");
}

/// An error and its causes, as `ferry` prints them.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut next = err.source();
    while let Some(source) = next {
        text.push_str("\n  Caused by: ");
        text.push_str(&source.to_string());
        next = source.source();
    }
    text
}

/// A new X25519 identity written as an age identity file at `path` (as `age-keygen` writes it);
/// returns its public recipient (`age1…`).
#[allow(dead_code, reason = "not every test binary that shares this module makes identities")]
pub fn new_identity(path: &std::path::Path) -> String {
    use age::secrecy::ExposeSecret as _;
    #[allow(deprecated, reason = "classic X25519 identities are what `age` 1.1 (Debian) reads")]
    let identity = age::x25519::Identity::generate();
    std::fs::write(path, format!("# test identity\n{}\n", identity.to_string().expose_secret())).expect("identity file");
    identity.to_public().to_string()
}

/// Keys holding the identity file at `path`, made new there if it does not exist.
#[allow(dead_code, reason = "not every test binary that shares this module makes identities")]
pub fn identity_keys(path: &std::path::Path) -> Keys {
    if !path.exists() {
        new_identity(path);
    }
    let mut keys = Keys::new();
    keys.add_identity_file(path).expect("identity file reads");
    keys
}
