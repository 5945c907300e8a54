//! Image registry rewrites in every container, init container and ephemeral
//! container of a Pod and of every pod template.

use serde_json::Value;

use super::{ImageRule, applied, rule_name};
use crate::note::Note;
use crate::object::{Identity, containers_mut, pod_spec_pointer};

pub(super) fn apply(rules: &[ImageRule], id: &Identity, object: &mut Value, notes: &mut Vec<Note>) {
    let Some(spec_pointer) = pod_spec_pointer(&id.group, &id.kind) else { return };
    let matching: Vec<(usize, &ImageRule)> = rules.iter().enumerate().filter(|(_, r)| r.matches.matches(id)).collect();
    let Some(spec) = object.pointer_mut(spec_pointer) else { return };
    for (container_pointer, container) in containers_mut(spec) {
        let Some(image) = container.get("image").and_then(Value::as_str) else { continue };
        let Some((i, rule, rewritten)) = matching.iter().find_map(|(i, r)| r.rewrite(image).map(|new| (*i, *r, new))) else { continue };
        let what = format!("image `{image}` → `{rewritten}`");
        notes.push(applied(&rule_name(&rule.name, "images", i), format!("{spec_pointer}{container_pointer}/image"), what));
        container.insert("image".into(), Value::String(rewritten));
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
        apply(&[rule("myacr.azurecr.io/", "harbor.example.com/")], &Identity::of(&cron), &mut cron, &mut notes);
        let spec = &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"];
        assert_eq!(spec["initContainers"][0]["image"], "harbor.example.com/init:1");
        assert_eq!(spec["containers"][0]["image"], "harbor.example.com/app:1");
        assert_eq!(spec["containers"][1]["image"], "busybox");
        assert_eq!(notes.len(), 2);
        assert_eq!(notes[1].field.as_deref(), Some("/spec/jobTemplate/spec/template/spec/containers/0/image"));
    }
}
