//! Image registry rewrites in every container, init container and ephemeral
//! container of a Pod and of every pod template, then the pins: a rewritten reference
//! that `ferry images copy` verified gets the digest it copied (`image:tag@sha256:…`).

use std::collections::BTreeMap;

use serde_json::Value;

use super::{ImageRule, applied, rule_name};
use crate::note::Note;
use crate::object::{Identity, containers_mut, pod_spec_pointer};

/// The digest each image reference is pinned to (from `ferry images copy --evidence`); given
/// by the caller, never read from `ferry.yaml`. Empty pins nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImagePins(BTreeMap<String, String>);

impl ImagePins {
    /// Pins from `(reference, digest)` pairs; references are compared as Docker completes them
    /// (`nginx` is `docker.io/library/nginx:latest`).
    pub fn new(pins: impl IntoIterator<Item = (String, String)>) -> ImagePins {
        ImagePins(pins.into_iter().map(|(reference, digest)| (complete(&reference), digest)).collect())
    }

    /// Whether nothing is pinned.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The digest `image` is pinned to.
    pub fn digest(&self, image: &str) -> Option<&str> {
        self.0.get(&complete(image)).map(String::as_str)
    }
}

pub(super) fn apply(rules: &[ImageRule], pins: &ImagePins, id: &Identity, object: &mut Value, notes: &mut Vec<Note>) {
    let Some(spec_pointer) = pod_spec_pointer(&id.group, &id.kind) else { return };
    let matching: Vec<(usize, &ImageRule)> = rules.iter().enumerate().filter(|(_, r)| r.matches.matches(id)).collect();
    let Some(spec) = object.pointer_mut(spec_pointer) else { return };
    for (container_pointer, container) in containers_mut(spec) {
        let Some(mut image) = container.get("image").and_then(Value::as_str).map(str::to_owned) else { continue };
        let field = format!("{spec_pointer}{container_pointer}/image");
        if let Some((i, rule, rewritten)) = matching.iter().find_map(|(i, r)| r.rewrite(&image).map(|new| (*i, *r, new))) {
            notes.push(applied(&rule_name(&rule.name, "images", i), &field, format!("image `{image}` → `{rewritten}`")));
            image = rewritten;
        }
        if !pins.is_empty() && !image.contains('@') {
            match pins.digest(&image) {
                Some(digest) => {
                    notes.push(applied(super::PIN_IMAGES, &field, format!("image `{image}` pinned to `{digest}`")));
                    image = format!("{image}@{digest}");
                }
                None => notes.push(
                    Note::warning("image-not-pinned", format!("image `{image}` is not in the image copy evidence: it stays on its tag")).at(field.clone()),
                ),
            }
        }
        container.insert("image".into(), Value::String(image));
    }
}

impl ImageRule {
    /// The image with `from` replaced by `to`, if it starts with `from` at a boundary.
    fn rewrite(&self, image: &str) -> Option<String> {
        [Some(image.to_owned()), docker_hub_reference(image)].into_iter().flatten().find_map(|reference| {
            let rest = reference.strip_prefix(&self.from)?;
            let at_boundary = self.from.ends_with(['/', ':', '@']) || rest.is_empty() || rest.starts_with(['/', ':', '@']);
            at_boundary.then(|| format!("{}{rest}", self.to))
        })
    }
}

/// A reference as Docker completes it: registry named, tag `latest` if it has neither tag nor digest.
fn complete(image: &str) -> String {
    let mut reference = docker_hub_reference(image).unwrap_or_else(|| image.to_owned());
    let last = reference.rsplit('/').next().unwrap_or_default();
    if !last.contains([':', '@']) {
        reference.push_str(":latest");
    }
    reference
}

/// `nginx:1.25` → `docker.io/library/nginx:1.25`, `bitnami/redis` → `docker.io/bitnami/redis`;
/// `None` when the reference names a registry (a first part with `.` or `:`, or `localhost`).
fn docker_hub_reference(image: &str) -> Option<String> {
    match image.split_once('/') {
        None => Some(format!("docker.io/library/{image}")),
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => None,
        Some(_) => Some(format!("docker.io/{image}")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rule(from: &str, to: &str) -> ImageRule {
        ImageRule { name: None, from: from.into(), to: to.into(), matches: Default::default() }
    }

    #[test]
    fn prefixes_are_replaced_at_boundaries() {
        let acr = rule("acraksstoredemo01.azurecr.io/", "harbor.example.com/shop/");
        assert_eq!(
            acr.rewrite("acraksstoredemo01.azurecr.io/aks-store-demo/order-service:2.2.0").as_deref(),
            Some("harbor.example.com/shop/aks-store-demo/order-service:2.2.0")
        );
        assert_eq!(acr.rewrite("ghcr.io/azure-samples/aks-store-demo/order-service:2.2.0"), None);
        let no_slash = rule("myacr.azurecr.io", "harbor.example.com");
        assert_eq!(no_slash.rewrite("myacr.azurecr.io.evil.com/x"), None);
        assert_eq!(no_slash.rewrite("myacr.azurecr.io/x").as_deref(), Some("harbor.example.com/x"));
        let hub = rule("docker.io/", "mirror.example.com/hub/");
        assert_eq!(hub.rewrite("nginx:1.25").as_deref(), Some("mirror.example.com/hub/library/nginx:1.25"));
        assert_eq!(hub.rewrite("bitnami/redis").as_deref(), Some("mirror.example.com/hub/bitnami/redis"));
        assert_eq!(hub.rewrite("localhost:5000/x"), None);
    }

    #[test]
    fn every_container_list_of_a_cron_job() {
        let mut cron = json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"}, "spec": {"jobTemplate": {"spec": {"template": {"spec": {
            "initContainers": [{"name": "i", "image": "myacr.azurecr.io/init:1"}],
            "containers": [{"name": "a", "image": "myacr.azurecr.io/app:1"}, {"name": "b", "image": "busybox"}]}}}}}});
        let mut notes = Vec::new();
        apply(&[rule("myacr.azurecr.io/", "harbor.example.com/")], &ImagePins::default(), &Identity::of(&cron), &mut cron, &mut notes);
        let spec = &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"];
        assert_eq!(spec["initContainers"][0]["image"], "harbor.example.com/init:1");
        assert_eq!(spec["containers"][0]["image"], "harbor.example.com/app:1");
        assert_eq!(spec["containers"][1]["image"], "busybox");
        assert_eq!(notes.len(), 2);
        assert_eq!(notes[1].field.as_deref(), Some("/spec/jobTemplate/spec/template/spec/containers/0/image"));
    }

    #[test]
    fn rewritten_images_are_pinned_and_the_others_named() {
        let digest = format!("sha256:{}", "a".repeat(64));
        let other = format!("sha256:{}", "b".repeat(64));
        let pins = ImagePins::new([("harbor.example.com/app:1".to_owned(), digest.clone()), ("docker.io/library/busybox:latest".to_owned(), other.clone())]);
        let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {
            "initContainers": [{"name": "i", "image": "busybox"}],
            "containers": [{"name": "a", "image": "myacr.azurecr.io/app:1"}, {"name": "b", "image": "myacr.azurecr.io/app:2"},
                           {"name": "c", "image": format!("myacr.azurecr.io/app@{other}")}]}});
        let mut notes = Vec::new();
        apply(&[rule("myacr.azurecr.io/", "harbor.example.com/")], &pins, &Identity::of(&pod), &mut pod, &mut notes);
        assert_eq!(pod["spec"]["initContainers"][0]["image"], format!("busybox@{other}"), "completed as Docker does");
        assert_eq!(pod["spec"]["containers"][0]["image"], format!("harbor.example.com/app:1@{digest}"));
        assert_eq!(pod["spec"]["containers"][1]["image"], "harbor.example.com/app:2", "not in the evidence");
        assert_eq!(pod["spec"]["containers"][2]["image"], format!("harbor.example.com/app@{other}"), "already pinned");
        let warnings: Vec<(&str, Option<&str>)> =
            notes.iter().filter(|n| n.severity == crate::Severity::Warning).map(|n| (n.code, n.field.as_deref())).collect();
        assert_eq!(warnings, [("image-not-pinned", Some("/spec/containers/1/image"))]);
        let pinned = notes.iter().filter(|n| n.message.contains("pinned to")).count();
        assert_eq!(pinned, 2);
    }

    #[test]
    fn no_pins_change_nothing_and_references_complete_like_docker() {
        let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "a", "image": "nginx"}]}});
        let mut notes = Vec::new();
        apply(&[], &ImagePins::default(), &Identity::of(&pod), &mut pod, &mut notes);
        assert_eq!((pod["spec"]["containers"][0]["image"].as_str(), notes.len()), (Some("nginx"), 0));
        assert_eq!(complete("nginx"), "docker.io/library/nginx:latest");
        assert_eq!(complete("127.0.0.1:5000/shop/web"), "127.0.0.1:5000/shop/web:latest");
        assert_eq!(complete("127.0.0.1:5000/shop/web:1"), "127.0.0.1:5000/shop/web:1");
    }
}
