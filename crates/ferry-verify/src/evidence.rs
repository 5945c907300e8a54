//! Evidence other migration steps leave behind, taken into the verdict.
//!
//! This is the extension point for steps that check what they moved. `ferry verify --evidence
//! FILE` reads the evidence files of ferry's own steps as they are written (`ferry volumes
//! verify|cutover`: `ferry.volumes.evidence/v1`, one check per claim; `ferry images copy`:
//! `ferry.images.copy/v1`, one check per image) and files of this general shape, which
//! `ferry smoke --out` writes and any other step or script can:
//!
//! ```json
//! {"apiVersion": "ferry.dev/v1alpha1", "kind": "Evidence", "step": "volumes",
//!  "checks": [{"object": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": "shop", "name": "data"},
//!              "passed": false, "detail": "sha256 of the copied data differs from the source's"}]}
//! ```
//!
//! Every failed check is a finding that stops the cut-over, like a difference.

use ferry_model::ObjectId;
use serde::{Deserialize, Serialize};

/// The `apiVersion` of evidence files.
pub const API_VERSION: &str = "ferry.dev/v1alpha1";

/// One check a step made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// The step that made it (`volumes`, `images`, ...); filled in from the file.
    #[serde(default)]
    pub step: String,
    /// The object checked, if the check is about one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<ObjectId>,
    /// Whether it passed.
    pub passed: bool,
    /// What was checked or found.
    #[serde(default)]
    pub detail: String,
}

/// An evidence file ferry cannot use.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    /// Not JSON of an evidence shape.
    #[error("not a ferry evidence file: {0}")]
    Invalid(#[from] serde_json::Error),
    /// Another kind of document.
    #[error(
        "not a ferry evidence file: expected apiVersion `{API_VERSION}` and kind `Evidence`, or the format `{VOLUMES_FORMAT}` or `{IMAGES_FORMAT}`; found {found}"
    )]
    Foreign {
        /// What the file says it is.
        found: String,
    },
}

/// The format of `ferry volumes` evidence files.
pub const VOLUMES_FORMAT: &str = "ferry.volumes.evidence/v1";
/// The format of `ferry images copy` evidence files.
pub const IMAGES_FORMAT: &str = "ferry.images.copy/v1";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct File {
    step: String,
    #[serde(default)]
    checks: Vec<Check>,
}

/// What a check of a claim needs of `ferry volumes` evidence.
#[derive(Deserialize)]
struct Claim {
    namespace: String,
    name: String,
    equal: bool,
    mismatch_count: u64,
    target: Tree,
}

#[derive(Deserialize)]
struct Tree {
    files: u64,
    bytes: u64,
    digest: String,
}

/// What a check of an image needs of `ferry images copy` evidence.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Image {
    source: String,
    target: String,
    source_digest: Option<String>,
    target_digest: Option<String>,
    verified: bool,
    error: Option<String>,
    #[serde(default)]
    platforms: Vec<String>,
    #[serde(default)]
    referrers: Vec<serde::de::IgnoredAny>,
}

/// The checks of one evidence file, each naming its step.
pub fn parse(text: &str) -> Result<Vec<Check>, EvidenceError> {
    let mut value: serde_json::Value = serde_json::from_str(text)?;
    let field = |name: &str| value.get(name).and_then(serde_json::Value::as_str).map(str::to_owned);
    match (field("apiVersion"), field("kind"), field("format").or_else(|| field("schema"))) {
        (Some(api_version), Some(kind), _) if api_version == API_VERSION && kind == "Evidence" => {
            let object = value.as_object_mut().expect("a JSON object has fields");
            object.shift_remove("apiVersion");
            object.shift_remove("kind");
            let file: File = serde_json::from_value(value)?;
            Ok(file.checks.into_iter().map(|check| Check { step: file.step.clone(), ..check }).collect())
        }
        (_, _, Some(format)) if format == VOLUMES_FORMAT => {
            let claims: Vec<Claim> = serde_json::from_value(value["claims"].take())?;
            Ok(claims.into_iter().map(claim_check).collect())
        }
        (_, _, Some(format)) if format == IMAGES_FORMAT => {
            let images: Vec<Image> = serde_json::from_value(value["images"].take())?;
            Ok(images.into_iter().map(image_check).collect())
        }
        (api_version, kind, format) => {
            let found = match (api_version, kind, format) {
                (_, _, Some(format)) => format!("the format `{format}`"),
                (api_version, kind, None) => format!("apiVersion `{}` kind `{}`", api_version.unwrap_or_default(), kind.unwrap_or_default()),
            };
            Err(EvidenceError::Foreign { found })
        }
    }
}

fn claim_check(claim: Claim) -> Check {
    let object = ObjectId { api_version: "v1".into(), kind: "PersistentVolumeClaim".into(), namespace: Some(claim.namespace), name: claim.name };
    let detail = if claim.equal {
        format!("{} files, {} bytes identical on both sides (manifest {})", claim.target.files, claim.target.bytes, claim.target.digest)
    } else {
        format!("{} paths differ between the source's and the target's data", claim.mismatch_count)
    };
    Check { step: "volumes".into(), object: Some(object), passed: claim.equal, detail }
}

fn image_check(image: Image) -> Check {
    let passed = image.verified && image.error.is_none();
    let digest = image.source_digest.as_deref().unwrap_or("?");
    let detail = match (&image.error, passed) {
        (Some(error), _) => format!("{} → {}: {error}", image.source, image.target),
        (None, true) => {
            let platforms = if image.platforms.is_empty() { String::new() } else { format!("; {}", image.platforms.join(", ")) };
            format!("{} → {} at {digest}{platforms}; {} referrers", image.source, image.target, image.referrers.len())
        }
        (None, false) => format!(
            "{} → {}: the target resolves to {}, not the source's {digest}",
            image.source,
            image.target,
            image.target_digest.as_deref().unwrap_or("nothing")
        ),
    };
    Check { step: "images".into(), object: None, passed, detail }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_name_their_step_and_foreign_files_are_refused() {
        let text = r#"{"apiVersion": "ferry.dev/v1alpha1", "kind": "Evidence", "step": "images",
            "checks": [{"passed": true, "detail": "12 images pushed"}, {"object": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "passed": false}]}"#;
        let checks = parse(text).unwrap();
        assert_eq!(checks.iter().map(|c| (c.step.as_str(), c.passed)).collect::<Vec<_>>(), [("images", true), ("images", false)]);
        assert_eq!(checks[1].object.as_ref().unwrap().name, "web");
        assert!(matches!(parse(r#"{"apiVersion": "v1", "kind": "ConfigMap", "step": "x"}"#), Err(EvidenceError::Foreign { .. })));
        assert!(matches!(parse(r#"{"format": "other/v1"}"#), Err(EvidenceError::Foreign { found }) if found == "the format `other/v1`"));
        assert!(matches!(parse("[1, 2"), Err(EvidenceError::Invalid(_))));
    }

    #[test]
    fn the_volumes_and_images_steps_evidence_becomes_checks() {
        let tree = |digest: &str| format!(r#"{{"key": "k", "files": 3, "bytes": 1200, "digest": "{digest}"}}"#);
        let volumes = format!(
            r#"{{"format": "ferry.volumes.evidence/v1", "run": "r1", "claims": [
                {{"namespace": "shop", "name": "data", "source": {a}, "target": {a}, "equal": true, "mismatch_count": 0, "mismatches": []}},
                {{"namespace": "shop", "name": "logs", "source": {a}, "target": {b}, "equal": false, "mismatch_count": 2, "mismatches": []}}]}}"#,
            a = tree("aaa"),
            b = tree("bbb")
        );
        let checks = parse(&volumes).unwrap();
        assert_eq!(
            checks.iter().map(|c| (c.step.as_str(), c.object.as_ref().unwrap().name.as_str(), c.passed)).collect::<Vec<_>>(),
            [("volumes", "data", true), ("volumes", "logs", false)]
        );
        assert_eq!(checks[0].detail, "3 files, 1200 bytes identical on both sides (manifest aaa)");
        assert_eq!(checks[1].detail, "2 paths differ between the source's and the target's data");

        let images = r#"{"schema": "ferry.images.copy/v1", "summary": {}, "images": [
            {"source": "a.io/web:1", "target": "b.io/web:1", "sourceDigest": "sha256:1", "targetDigest": "sha256:1", "verified": true, "error": null,
             "platforms": ["linux/amd64", "linux/arm64"], "referrers": [{}]},
            {"source": "a.io/db:2", "target": "b.io/db:2", "sourceDigest": "sha256:2", "targetDigest": null, "verified": false, "error": "not found"}]}"#;
        let checks = parse(images).unwrap();
        assert_eq!(checks.iter().map(|c| (c.step.as_str(), c.passed)).collect::<Vec<_>>(), [("images", true), ("images", false)]);
        assert_eq!(checks[0].detail, "a.io/web:1 → b.io/web:1 at sha256:1; linux/amd64, linux/arm64; 1 referrers");
        assert_eq!(checks[1].detail, "a.io/db:2 → b.io/db:2: not found");
    }
}
