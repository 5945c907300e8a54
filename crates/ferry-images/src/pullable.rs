//! Whether the target cluster can pull each image of a [`Plan`] (`ferry preflight --images`):
//! the reference the transformed manifests name exists in its registry, the pull secret the
//! transformed objects give it opens that registry (anonymous when they name none, as a node
//! without its own credentials pulls), and one of the image's platforms is a platform of the
//! target's nodes. The registries are asked from this machine: a registry the nodes reach
//! through another network may answer otherwise, and a finding says so when it could not ask.
//! An image used with several pull secrets is checked with the first the plan found for it.
//! The images of one pull secret share their registry clients (and tokens).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::Credentials;
use crate::plan::{Finding, PlannedImage, PullSecrets, Severity};
use crate::registry::{ImageRef, Problem, Registries, RegistryError, RegistryOptions};

/// An image's platforms as `os/architecture[/variant]`, or why they could not be read.
type Platforms = Result<Vec<String>, RegistryError>;

/// Checks every image of `plan` against its target registry and `node_platforms`
/// (`os/architecture` of each node of the target). `transformed` holds the objects as the
/// target will receive them: the pull secrets are read from there. `options` carries the CA
/// bundle and plain-HTTP registries; its Docker `config.json` is not used, since the nodes do
/// not have it.
pub async fn check<'a>(
    plan: &[PlannedImage],
    transformed: impl IntoIterator<Item = &'a Value>,
    node_platforms: &[String],
    options: &RegistryOptions,
) -> Vec<Finding> {
    let secrets = PullSecrets::index(transformed);
    let mut by_secret: BTreeMap<Option<&str>, Vec<&PlannedImage>> = BTreeMap::new();
    for image in plan {
        by_secret.entry(image.target_pull_secret.as_deref()).or_default().push(image);
    }
    let groups = by_secret.into_iter().map(|(secret, images)| check_group(secret, images, &secrets, node_platforms, options));
    futures::future::join_all(groups).await.into_iter().flatten().collect()
}

/// Checks the images pulled with one pull secret (or none) through one set of registry
/// clients holding that secret's credentials for each registry the images live in.
async fn check_group(secret: Option<&str>, images: Vec<&PlannedImage>, secrets: &PullSecrets, nodes: &[String], options: &RegistryOptions) -> Vec<Finding> {
    let auths = secret.and_then(|name| secrets.auths(name));
    let mut findings = Vec::new();
    let mut credentials: Vec<(String, Credentials)> = Vec::new();
    let mut checked = Vec::new();
    for image in images {
        let Ok(target) = ImageRef::parse(&image.target) else { continue };
        match auths.map_or(Ok(Credentials::anonymous()), |auths| Credentials::from_auths(auths, &target.registry)) {
            Ok(found) => {
                if !credentials.iter().any(|(host, _)| host == target.api_host()) {
                    credentials.push((target.api_host().to_owned(), found));
                }
                checked.push((image, target));
            }
            Err(reason) => {
                let message = format!("the pull secret `{}` cannot be read: {reason}", secret.unwrap_or_default());
                findings.push(finding(image, Severity::Error, "image-pull-secret-invalid", message));
            }
        }
    }
    match Registries::new(RegistryOptions { credentials, docker_config: None, ..options.clone() }) {
        Ok(registries) => {
            let checks = checked.iter().map(|(image, target)| check_image(image, target, &registries, secret, nodes));
            findings.extend(futures::future::join_all(checks).await.into_iter().flatten());
        }
        Err(e) => findings.extend(checked.iter().map(|(image, _)| finding(image, Severity::Warning, "image-unchecked", e.to_string()))),
    }
    findings
}

/// Whether the nodes can pull `image` (at `target`) through `registries`.
async fn check_image(image: &PlannedImage, target: &ImageRef, registries: &Registries, secret: Option<&str>, nodes: &[String]) -> Option<Finding> {
    match platforms(registries, target).await {
        Ok(platforms) => platform_finding(&platforms, nodes).map(|message| finding(image, Severity::Error, "image-platform", message)),
        Err(e) => {
            let (severity, code, message) = pull_problem(&e, secret, image.copy);
            Some(finding(image, severity, code, message))
        }
    }
}

/// A finding about `image`, naming its users.
fn finding(image: &PlannedImage, severity: Severity, code: &'static str, message: String) -> Finding {
    Finding { severity, code, image: image.target.clone(), message: format!("{message} (used by {})", users(image)) }
}

/// `Kind namespace/name` of the first user, and how many more there are.
fn users(image: &PlannedImage) -> String {
    match image.users.as_slice() {
        [] => "nothing".to_owned(),
        [one] => one.object.clone(),
        [first, rest @ ..] => format!("{} and {} more", first.object, rest.len()),
    }
}

/// What a failed look-up means for the nodes.
fn pull_problem(error: &RegistryError, secret: Option<&str>, copied: bool) -> (Severity, &'static str, String) {
    match (&error.problem, secret) {
        (Problem::NotFound, _) if copied => (Severity::Error, "image-missing", format!("{error}; `ferry images copy` copies it there")),
        (Problem::NotFound, _) => (Severity::Error, "image-missing", error.to_string()),
        (Problem::Unauthorized { .. } | Problem::Denied, Some(secret)) => {
            (Severity::Error, "image-pull-denied", format!("{error} with the pull secret `{secret}`"))
        }
        (Problem::Unauthorized { .. } | Problem::Denied, None) => (
            Severity::Warning,
            "image-pull-denied",
            format!("{error} without credentials, and no pull secret of the transformed objects names the registry; the nodes need credentials of their own"),
        ),
        _ => (Severity::Warning, "image-unchecked", format!("{error}; checked from this machine, the nodes may reach the registry otherwise")),
    }
}

/// The platforms of the image at `target`: an index's entries, or a single image's config.
async fn platforms(registries: &Registries, target: &ImageRef) -> Platforms {
    let registry = registries.get(target.api_host()).map_err(|e| RegistryError {
        registry: target.registry.clone(),
        action: "connecting".into(),
        problem: Problem::Unreachable(e.to_string()),
    })?;
    let (body, _) = registry.manifest_get(&target.repository, target.reference()).await?;
    let manifest: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let Some(entries) = manifest.get("manifests").and_then(Value::as_array) {
        return Ok(entries.iter().filter_map(crate::copy::index_entry).map(|(_, platform)| platform).collect());
    }
    match manifest.pointer("/config/digest").and_then(Value::as_str) {
        Some(config) => Ok(crate::copy::platform_of_config(&registry, &target.repository, config).await?.into_iter().collect()),
        None => Ok(Vec::new()),
    }
}

/// Why no node can run an image of `platforms`, if none can; unknown platforms pass.
fn platform_finding(platforms: &[String], nodes: &[String]) -> Option<String> {
    let os_arch = |p: &str| p.splitn(3, '/').take(2).collect::<Vec<_>>().join("/");
    let known: Vec<String> = platforms.iter().filter(|p| *p != "unknown/unknown" && *p != "unknown").map(|p| os_arch(p)).collect();
    if known.is_empty() || nodes.is_empty() || known.iter().any(|p| nodes.contains(p)) {
        return None;
    }
    let mut node_platforms = nodes.to_vec();
    node_platforms.sort();
    node_platforms.dedup();
    Some(format!("the image is built for {} only; the target's nodes are {}", known.join(", "), node_platforms.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(problem: Problem) -> RegistryError {
        RegistryError { registry: "harbor.example".into(), action: "reading the manifest `shop/web:1`".into(), problem }
    }

    #[test]
    fn no_node_of_the_image_s_platforms_is_an_error_and_unknown_platforms_pass() {
        let nodes = ["linux/amd64".to_owned()];
        assert_eq!(platform_finding(&["linux/amd64".into(), "linux/arm64/v8".into()], &nodes), None);
        assert_eq!(
            platform_finding(&["linux/arm64/v8".into(), "linux/arm/v7".into()], &nodes).unwrap(),
            "the image is built for linux/arm64, linux/arm only; the target's nodes are linux/amd64"
        );
        assert_eq!(platform_finding(&["unknown/unknown".into()], &nodes), None, "attestation entries of an index name no platform");
        assert_eq!(platform_finding(&["linux/arm64".into()], &[]), None, "a target without nodes says nothing about platforms");
    }

    #[test]
    fn a_refusal_is_an_error_with_a_pull_secret_and_a_warning_without_one() {
        let denied = pull_problem(&error(Problem::Unauthorized { had_credentials: true }), Some("shop/harbor"), true);
        assert_eq!((denied.0, denied.1), (Severity::Error, "image-pull-denied"));
        assert!(denied.2.ends_with("with the pull secret `shop/harbor`"), "{}", denied.2);
        let anonymous = pull_problem(&error(Problem::Unauthorized { had_credentials: false }), None, true);
        assert_eq!((anonymous.0, anonymous.1), (Severity::Warning, "image-pull-denied"));
        let missing = pull_problem(&error(Problem::NotFound), None, true);
        assert_eq!((missing.0, missing.1), (Severity::Error, "image-missing"));
        assert!(missing.2.ends_with("`ferry images copy` copies it there"));
        let unreachable = pull_problem(&error(Problem::Unreachable("connection refused".into())), None, false);
        assert_eq!((unreachable.0, unreachable.1), (Severity::Warning, "image-unchecked"));
    }
}
