//! Evidence other migration steps leave behind, taken into the verdict.
//!
//! This is the extension point for steps that check what they moved, such as
//! copying volume data or images (not written yet). Such a step writes one
//! JSON file of this shape, and `ferry verify --evidence FILE` reads it:
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
    /// Not JSON of the evidence shape.
    #[error("not a ferry evidence file: {0}")]
    Invalid(#[from] serde_json::Error),
    /// Another kind or version of document.
    #[error("not a ferry evidence file: expected apiVersion `{API_VERSION}` and kind `Evidence`, found `{api_version}` `{kind}`")]
    Foreign {
        /// The file's `apiVersion`.
        api_version: String,
        /// The file's `kind`.
        kind: String,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct File {
    api_version: String,
    kind: String,
    step: String,
    #[serde(default)]
    checks: Vec<Check>,
}

/// The checks of one evidence file, each naming the file's step.
pub fn parse(text: &str) -> Result<Vec<Check>, EvidenceError> {
    let file: File = serde_json::from_str(text)?;
    if file.api_version != API_VERSION || file.kind != "Evidence" {
        return Err(EvidenceError::Foreign { api_version: file.api_version, kind: file.kind });
    }
    Ok(file.checks.into_iter().map(|check| Check { step: file.step.clone(), ..check }).collect())
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
        assert!(matches!(parse("[1, 2"), Err(EvidenceError::Invalid(_))));
    }
}
