//! Helm v3 releases stored in the cluster (`sh.helm.release.v1.NAME.vN`
//! Secrets, or ConfigMaps with the `configmap` storage driver): the API
//! versions inside a release's stored manifest, which `helm upgrade` on the
//! target will have to match (what Pluto's `detect-helm` reports).

use std::io::Read as _;

use base64::Engine as _;
use ferry_model::DocNode;
use ferry_model::load::load_text_documents;

use crate::assessment::Via;
use crate::facts::ApiRef;

/// Decompressed releases larger than this are refused (a corrupt or hostile object).
const MAX_RELEASE_BYTES: u64 = 64 << 20;

/// A Helm release read from its storage object.
#[derive(Debug)]
pub(crate) struct Release {
    /// `name` and `version` of the release, e.g. `shop v3`.
    pub label: String,
    /// The apiVersion and kind of every object in the stored manifest.
    pub api_refs: Vec<ApiRef>,
}

/// Whether a Secret or ConfigMap is a Helm v3 release record.
pub(crate) fn is_release(kind: &str, root: DocNode<'_>) -> bool {
    match kind {
        "Secret" => root.str_at("type") == Some("helm.sh/release.v1"),
        "ConfigMap" => root.at(&["metadata", "labels", "OWNER"]).and_then(DocNode::as_str) == Some("helm"),
        _ => false,
    }
}

/// Decodes the release in `data.release`; the error says what is wrong, never what the data holds.
pub(crate) fn decode(kind: &str, root: DocNode<'_>) -> Result<Release, String> {
    let encoded = root.at(&["data", "release"]).and_then(DocNode::as_str).ok_or("no `data.release`")?;
    let mut bytes = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).map_err(|_| "`data.release` is not base64")?;
    if kind == "Secret" {
        // Secret data is base64 on the wire, and Helm base64-encodes the release once more.
        bytes = base64::engine::general_purpose::STANDARD.decode(&bytes).map_err(|_| "the release is not base64 inside the Secret")?;
    }
    let json = gunzip_if_needed(bytes)?;
    #[derive(serde::Deserialize)]
    struct Stored {
        name: String,
        version: u64,
        #[serde(default)]
        manifest: String,
    }
    let stored: Stored = serde_json::from_slice(&json).map_err(|e| format!("the release is not Helm's JSON: {e}"))?;
    let label = format!("{} v{}", stored.name, stored.version);
    let source = format!("helm release {label}");
    let (objects, _) = load_text_documents(&source, stored.manifest, |d| (d.id.to_object_id(), d.origin.line));
    let api_refs = objects
        .into_iter()
        .map(|(id, line)| ApiRef {
            path: format!("release manifest (line {line}): {} {}", id.kind, id.name),
            api_version: id.api_version,
            kind: id.kind,
            line: 0,
            via: Via::HelmRelease,
        })
        .collect();
    Ok(Release { label, api_refs })
}

fn gunzip_if_needed(bytes: Vec<u8>) -> Result<Vec<u8>, String> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(bytes);
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes.as_slice())
        .take(MAX_RELEASE_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("the release is not valid gzip: {e}"))?;
    if out.len() as u64 > MAX_RELEASE_BYTES {
        return Err(format!("the release is larger than {} MiB once decompressed", MAX_RELEASE_BYTES >> 20));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use ferry_model::{Doc, Node};

    use super::*;

    fn release_secret(manifest: &str) -> Node {
        let json = serde_json::json!({"name": "shop", "version": 3, "manifest": manifest}).to_string();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(json.as_bytes()).unwrap();
        let engine = base64::engine::general_purpose::STANDARD;
        let helm = engine.encode(gz.finish().unwrap());
        let wire = engine.encode(helm);
        serde_json::from_value(serde_json::json!({"type": "helm.sh/release.v1", "data": {"release": wire}})).unwrap()
    }

    #[test]
    fn api_versions_inside_a_stored_release_are_found() {
        let manifest = "---\n# Source: shop/templates/ingress.yaml\napiVersion: extensions/v1beta1\nkind: Ingress\nmetadata:\n  name: web\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n";
        let node = release_secret(manifest);
        let doc = Doc::from_node(&node);
        let root = doc.root().unwrap();
        assert!(is_release("Secret", root));
        let release = decode("Secret", root).unwrap();
        assert_eq!(release.label, "shop v3");
        let found: Vec<(&str, &str)> = release.api_refs.iter().map(|r| (r.api_version.as_str(), r.kind.as_str())).collect();
        assert_eq!(found, [("extensions/v1beta1", "Ingress"), ("apps/v1", "Deployment")]);
        assert_eq!(release.api_refs[0].path, "release manifest (line 3): Ingress web");
    }

    #[test]
    fn a_corrupt_release_is_an_error_not_a_panic() {
        let root: Node = serde_json::from_value(serde_json::json!({"type": "helm.sh/release.v1", "data": {"release": "bm90IGJhc2U2NA=="}})).unwrap();
        let error = decode("Secret", Doc::from_node(&root).root().unwrap()).unwrap_err();
        assert!(error.contains("not base64"), "{error}");
    }
}
