//! The container images a Kubernetes object runs, read from its pod spec: what `ferry images`
//! plans to copy, read from an object before and after [`crate::transform`] so that the
//! copy's target is the reference the transformed manifests hold. Reads only.

use serde_json::Value;

use crate::object::{CONTAINER_LISTS, Identity, pod_spec_pointer};

/// One container's image in an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerImage {
    /// JSON pointer of the `image` field, e.g. `/spec/template/spec/containers/0/image`.
    pub field: String,
    /// `containers`, `initContainers` or `ephemeralContainers`.
    pub list: &'static str,
    /// The container's `name` (empty if it has none).
    pub container: String,
    /// The image reference as written.
    pub image: String,
}

/// The pod spec's image settings an image copy needs besides the images.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodPull {
    /// Names in `imagePullSecrets`, in order.
    pub secrets: Vec<String>,
    /// `serviceAccountName` (or the deprecated `serviceAccount`); `default` if neither is set.
    pub service_account: String,
}

/// Every container, init container and ephemeral container image of `object`'s pod spec (Pods,
/// PodTemplates, ReplicationControllers, Deployments, ReplicaSets, DaemonSets, StatefulSets, Jobs,
/// CronJobs); empty for other kinds and containers without an image.
pub fn container_images(object: &Value) -> Vec<ContainerImage> {
    let Some((pointer, spec)) = pod_spec(object) else { return Vec::new() };
    let mut images = Vec::new();
    for list in CONTAINER_LISTS {
        for (i, container) in spec.get(list).and_then(Value::as_array).into_iter().flatten().enumerate() {
            let Some(image) = container.get("image").and_then(Value::as_str) else { continue };
            let container = container.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
            images.push(ContainerImage { field: format!("{pointer}/{list}/{i}/image"), list, container, image: image.to_owned() });
        }
    }
    images
}

/// The pull secrets and service account of `object`'s pod spec, if it has one.
pub fn pod_pull(object: &Value) -> Option<PodPull> {
    let (_, spec) = pod_spec(object)?;
    let secrets = spec.get("imagePullSecrets").and_then(Value::as_array).into_iter().flatten();
    let account = ["serviceAccountName", "serviceAccount"].iter().find_map(|f| spec.get(*f).and_then(Value::as_str)).filter(|a| !a.is_empty());
    Some(PodPull {
        secrets: secrets.filter_map(|s| s.get("name").and_then(Value::as_str)).map(str::to_owned).collect(),
        service_account: account.unwrap_or("default").to_owned(),
    })
}

fn pod_spec(object: &Value) -> Option<(&'static str, &Value)> {
    let id = Identity::of(object);
    let pointer = pod_spec_pointer(&id.group, &id.kind)?;
    Some((pointer, object.pointer(pointer)?))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_container_list_of_a_cron_job_with_fields() {
        let cron = json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"}, "spec": {"jobTemplate": {"spec": {"template": {"spec": {
            "serviceAccount": "runner", "imagePullSecrets": [{"name": "acr"}, {}],
            "ephemeralContainers": [{"name": "debug", "image": "busybox"}],
            "initContainers": [{"name": "i", "image": "myacr.azurecr.io/init:1"}],
            "containers": [{"name": "a", "image": "myacr.azurecr.io/app:1"}, {"name": "no-image"}]}}}}}});
        let images = container_images(&cron);
        let got: Vec<(&str, &str, &str)> = images.iter().map(|i| (i.field.as_str(), i.container.as_str(), i.image.as_str())).collect();
        assert_eq!(
            got,
            [
                ("/spec/jobTemplate/spec/template/spec/containers/0/image", "a", "myacr.azurecr.io/app:1"),
                ("/spec/jobTemplate/spec/template/spec/initContainers/0/image", "i", "myacr.azurecr.io/init:1"),
                ("/spec/jobTemplate/spec/template/spec/ephemeralContainers/0/image", "debug", "busybox"),
            ]
        );
        assert_eq!(pod_pull(&cron), Some(PodPull { secrets: vec!["acr".into()], service_account: "runner".into() }));
    }

    #[test]
    fn kinds_without_pod_specs_have_no_images() {
        let map = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"image": "nginx"}});
        assert!(container_images(&map).is_empty());
        assert_eq!(pod_pull(&map), None);
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "a", "image": "nginx"}]}});
        assert_eq!(pod_pull(&pod).unwrap().service_account, "default");
    }
}
