//! `ferry images plan`: every image the workloads run, where the copy takes it, and whether
//! that agrees with what the transformed manifests will reference. The target reference is the
//! image field of the object after [`ferry_transform::transform`] with the same rules file as
//! `ferry transform`, so the copy and the manifests cannot disagree. [`plan`] is pure;
//! [`resolve`] asks the registries for digests and sizes (HEAD and GET of manifests only).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use base64::Engine as _;
use ferry_model::ObjectId;
use serde::Serialize;
use serde_json::Value;

use crate::copy::CopyJob;
use crate::credentials::key_names_registry;
use crate::registry::{ImageRef, Registries, RegistryError};

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Probably needs a look before the cut-over.
    Warning,
    /// The copy or the transformed manifests would be wrong.
    Error,
}

/// A finding about one image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// How much it matters.
    pub severity: Severity,
    /// A stable code (`target-conflict`, `not-rewritten`, …).
    pub code: &'static str,
    /// The image (source reference as written).
    pub image: String,
    /// What is wrong, for people.
    pub message: String,
}

/// One place an image is used.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct User {
    /// The object, `Kind namespace/name`.
    pub object: String,
    /// The JSON pointer of the `image` field.
    pub field: String,
    /// The container's name.
    pub container: String,
}

/// What the registries say about an image ([`resolve`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Resolved {
    /// The source manifest's digest.
    pub digest: String,
    /// Its media type.
    pub media_type: String,
    /// The platforms of an index (empty for a single image).
    pub platforms: Vec<String>,
    /// Manifests in the tree (the index and its images).
    pub manifests: u64,
    /// Blobs (configs and layers, each once).
    pub blobs: u64,
    /// Their bytes.
    pub bytes: u64,
    /// What the target reference holds now, if anything.
    pub target_digest: Option<String>,
    /// The blobs, `(digest, size)`, for the plan's totals.
    #[serde(skip)]
    pub blob_list: Vec<(String, u64)>,
}

/// One image to copy (or to leave where it is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedImage {
    /// The reference as the source manifests write it.
    pub source: String,
    /// The reference as the transformed manifests write it.
    pub target: String,
    /// Whether it is copied (the rules moved it to another repository).
    pub copy: bool,
    /// The objects and containers that use it.
    pub users: Vec<User>,
    /// The pull secret (`namespace/name`) with an entry for the source registry, if any.
    pub source_pull_secret: Option<String>,
    /// The pull secret with an entry for the target registry in the transformed objects, if any.
    pub target_pull_secret: Option<String>,
    /// Digests and sizes, once [`resolve`]d.
    pub resolved: Option<Resolved>,
}

impl PlannedImage {
    /// The copy this image needs, if any (`None` when not copied or unparsable).
    pub fn job(&self) -> Option<CopyJob> {
        if !self.copy {
            return None;
        }
        let mut source = ImageRef::parse(&self.source).ok()?;
        if let Some(resolved) = &self.resolved {
            source = source.pinned(&resolved.digest);
        }
        let seen = self.resolved.as_ref().and_then(|r| r.target_digest.clone());
        Some(CopyJob { source, target: ImageRef::parse(&self.target).ok()?, target_seen: seen })
    }
}

/// Totals and estimates of a resolved plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    /// Images used.
    pub images: usize,
    /// Images to copy.
    pub to_copy: usize,
    /// Distinct blobs of the images to copy.
    pub unique_blobs: usize,
    /// Their bytes: what a first copy sends.
    pub unique_bytes: u64,
    /// Requests a first copy makes, estimated.
    pub requests_first_copy: u64,
    /// Requests a copy with nothing changed makes, estimated.
    pub requests_no_change: u64,
}

/// The plan: images, findings, totals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Every image, sorted by source reference.
    pub images: Vec<PlannedImage>,
    /// What is wrong or worth knowing.
    pub findings: Vec<Finding>,
    /// Totals (sizes once resolved).
    pub totals: Totals,
}

impl Plan {
    /// The copies the plan needs.
    pub fn jobs(&self) -> Vec<CopyJob> {
        self.images.iter().filter_map(PlannedImage::job).collect()
    }

    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }
}

/// Plans the copy of every image `objects` use. Each object goes through
/// [`ferry_transform::transform`] with `options`; objects it leaves out (Pods a controller owns,
/// objects Kubernetes makes) contribute no image, since the target gets them from their owners.
pub fn plan(objects: &[Value], options: &ferry_transform::Options) -> Plan {
    let transformed: Vec<Option<Value>> = objects.iter().map(|o| ferry_transform::transform(o.clone(), options).object).collect();
    plan_transformed(objects, &transformed)
}

/// [`plan()`] of objects already transformed: `transformed[i]` is what
/// [`ferry_transform::transform`] made of `objects[i]` (`None`: left out).
pub fn plan_transformed(objects: &[Value], transformed: &[Option<Value>]) -> Plan {
    let source_secrets = PullSecrets::index(objects.iter());
    let target_secrets = PullSecrets::index(transformed.iter().flatten());
    let mut images: BTreeMap<(String, String), PlannedImage> = BTreeMap::new();
    let mut findings = Vec::new();
    for (source, target) in objects.iter().zip(transformed) {
        let Some(target) = target else { continue };
        let Some(id) = ObjectId::from_json(source) else { continue };
        let after = ferry_transform::container_images(target);
        for used in ferry_transform::container_images(source) {
            let Some(moved) = after.iter().find(|a| a.list == used.list && a.container == used.container) else {
                findings.push(finding(
                    Severity::Warning,
                    "container-removed",
                    &used.image,
                    format!("{id}: the transformed object has no {} `{}`", used.list, used.container),
                ));
                continue;
            };
            let entry = images.entry((used.image.clone(), moved.image.clone())).or_insert_with(|| PlannedImage {
                source: used.image.clone(),
                target: moved.image.clone(),
                copy: false,
                users: Vec::new(),
                source_pull_secret: None,
                target_pull_secret: None,
                resolved: None,
            });
            entry.users.push(User { object: id.to_string(), field: used.field.clone(), container: used.container.clone() });
            entry.source_pull_secret = entry.source_pull_secret.take().or_else(|| source_secrets.for_image(source, &used.image));
            entry.target_pull_secret = entry.target_pull_secret.take().or_else(|| target_secrets.for_image(target, &moved.image));
        }
    }
    let mut images: Vec<PlannedImage> = images.into_values().collect();
    for image in &mut images {
        image.users.sort();
        check_image(image, &mut findings);
    }
    check_conflicts(&images, &mut findings);
    findings.sort_by(|a, b| (b.severity, &a.image, a.code).cmp(&(a.severity, &b.image, b.code)));
    let mut plan = Plan { images, findings, totals: Totals::default() };
    plan.totals = totals(&plan.images);
    plan
}

fn finding(severity: Severity, code: &'static str, image: &str, message: String) -> Finding {
    Finding { severity, code, image: image.to_owned(), message }
}

/// Parses both references and decides whether the image is copied.
fn check_image(image: &mut PlannedImage, findings: &mut Vec<Finding>) {
    let (source, target) = match (ImageRef::parse(&image.source), ImageRef::parse(&image.target)) {
        (Ok(source), Ok(target)) => (source, target),
        (Err(e), _) | (_, Err(e)) => return findings.push(finding(Severity::Error, "invalid-reference", &image.source, e.to_string())),
    };
    image.copy = (&source.registry, &source.repository) != (&target.registry, &target.repository);
    if !image.copy {
        let message = format!("no image rule moves it: the target cluster pulls it from `{}` as the source does", source.registry);
        return findings.push(finding(Severity::Info, "not-rewritten", &image.source, message));
    }
    if source.digest.is_some() && target.digest != source.digest {
        let message = format!("the source pins `{}` but the transformed manifests reference `{}`", source.digest.unwrap_or_default(), image.target);
        findings.push(finding(Severity::Error, "digest-differs", &image.source, message));
    }
    if image.source_pull_secret.is_some() && image.target_pull_secret.is_none() {
        let message = format!(
            "the source pulls it with `{}`, but no pull secret of the transformed objects names `{}`",
            image.source_pull_secret.as_deref().unwrap_or_default(),
            target.registry
        );
        findings.push(finding(Severity::Warning, "no-target-pull-secret", &image.source, message));
    }
}

/// Two different source images must not land on one target reference.
fn check_conflicts(images: &[PlannedImage], findings: &mut Vec<Finding>) {
    let mut by_target: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for image in images.iter().filter(|i| i.copy) {
        by_target.entry(&image.target).or_default().insert(&image.source);
    }
    for (target, sources) in by_target.into_iter().filter(|(_, s)| s.len() > 1) {
        let names: Vec<String> = sources.iter().map(|s| format!("`{s}`")).collect();
        for source in &sources {
            let message = format!("{} would all be copied to `{target}`; the rules must keep them apart", names.join(", "));
            findings.push(finding(Severity::Error, "target-conflict", source, message));
        }
    }
}

/// Sums and request estimates: a first copy costs per manifest a GET, a HEAD and a PUT, per
/// distinct blob a HEAD, a GET, a POST and a PUT, per image a tag look-up on each side and four
/// referrer look-ups per manifest; a copy with nothing changed the look-ups and the GETs of
/// the source manifests.
fn totals(images: &[PlannedImage]) -> Totals {
    let copied: Vec<&PlannedImage> = images.iter().filter(|i| i.copy).collect();
    let mut blobs: HashMap<&str, u64> = HashMap::new();
    let (mut manifests, mut first, mut again) = (0u64, 0u64, 0u64);
    for image in &copied {
        let resolved = image.resolved.as_ref();
        let tree = resolved.map_or(1, |r| r.manifests);
        manifests += tree;
        blobs.extend(resolved.into_iter().flat_map(|r| r.blob_list.iter().map(|(d, s)| (d.as_str(), *s))));
        // Both runs: the plan reads the tree and looks at the target's tag; the copy reads the
        // image's config (its platform) and lists the repository's tags (its referrers). A first
        // copy also looks up and puts each manifest, and the tag.
        again += tree + 3;
        first += tree + 4;
    }
    // Each blob: looked up on the target, an upload opened, streamed and closed; read from the source.
    first += 2 * manifests + 5 * blobs.len() as u64;
    Totals {
        images: images.len(),
        to_copy: copied.len(),
        unique_blobs: blobs.len(),
        unique_bytes: blobs.values().sum(),
        requests_first_copy: first,
        requests_no_change: again,
    }
}

/// Pull secrets by namespace and name (the `auths` of their `.dockerconfigjson` or
/// `.dockercfg`, kept in memory only), and ServiceAccounts' `imagePullSecrets`.
#[derive(Default)]
pub(crate) struct PullSecrets {
    auths: HashMap<(String, String), serde_json::Map<String, Value>>,
    accounts: HashMap<(String, String), Vec<String>>,
}

impl PullSecrets {
    /// The pull secrets and ServiceAccounts among `objects`.
    pub(crate) fn index<'a>(objects: impl IntoIterator<Item = &'a Value>) -> PullSecrets {
        let mut index = PullSecrets::default();
        for object in objects {
            let Some(id) = ObjectId::from_json(object).filter(|id| id.group().is_empty()) else { continue };
            let key = (id.namespace.clone().unwrap_or_default(), id.name.clone());
            match id.kind.as_str() {
                "Secret" => {
                    index.auths.insert(key, pull_secret_auths(object).unwrap_or_default());
                }
                "ServiceAccount" => {
                    let names = object.get("imagePullSecrets").and_then(Value::as_array).into_iter().flatten();
                    index.accounts.insert(key, names.filter_map(|s| s.get("name").and_then(Value::as_str)).map(str::to_owned).collect());
                }
                _ => {}
            }
        }
        index
    }

    /// The `auths` of the pull secret `namespace/name`.
    pub(crate) fn auths(&self, name: &str) -> Option<&serde_json::Map<String, Value>> {
        let (namespace, name) = name.split_once('/')?;
        self.auths.get(&(namespace.to_owned(), name.to_owned()))
    }

    /// The first pull secret of the pod spec (then of its ServiceAccount) naming the image's registry.
    fn for_image(&self, object: &Value, image: &str) -> Option<String> {
        let registry = ImageRef::parse(image).ok()?.registry;
        let namespace = object.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or_default().to_owned();
        let pull = ferry_transform::pod_pull(object)?;
        let account = self.accounts.get(&(namespace.clone(), pull.service_account)).cloned().unwrap_or_default();
        pull.secrets.into_iter().chain(account).find_map(|name| {
            let auths = self.auths.get(&(namespace.clone(), name.clone()))?;
            auths.keys().any(|key| key_names_registry(key, &registry)).then(|| format!("{namespace}/{name}"))
        })
    }
}

/// The `auths` map of a docker-registry Secret: its `.dockerconfigjson`'s `auths` or its
/// legacy `.dockercfg` (in `data` as base64, or in `stringData`).
fn pull_secret_auths(secret: &Value) -> Option<serde_json::Map<String, Value>> {
    let field = |name: &str| -> Option<Value> {
        let text = match secret.pointer(&format!("/stringData/{}", name.replace('~', "~0"))).and_then(Value::as_str) {
            Some(text) => text.as_bytes().to_vec(),
            None => base64::engine::general_purpose::STANDARD.decode(secret.get("data")?.get(name)?.as_str()?).ok()?,
        };
        serde_json::from_slice(&text).ok()
    };
    let mut auths = field(".dockerconfigjson").and_then(|mut c| c.get_mut("auths").map(Value::take)).and_then(|a| a.as_object().cloned()).unwrap_or_default();
    auths.extend(field(".dockercfg").and_then(|c| c.as_object().cloned()).unwrap_or_default());
    (!auths.is_empty()).then_some(auths)
}

/// Asks the registries for each copied image's digest, media type, platforms and sizes, and
/// for what the target reference holds now; adds findings for what does not resolve or
/// does not agree. Images that are not copied are not looked up.
pub async fn resolve(plan: &mut Plan, registries: &Registries) {
    let lookups = plan.images.iter().map(|image| async move {
        if !image.copy {
            return None;
        }
        Some(resolve_image(image, registries).await)
    });
    let results = futures::future::join_all(lookups).await;
    for (image, result) in plan.images.iter_mut().zip(results) {
        match result {
            None => {}
            Some(Ok(resolved)) => {
                check_resolved(image, &resolved, &mut plan.findings);
                image.resolved = Some(resolved);
            }
            Some(Err(e)) => plan.findings.push(finding(Severity::Error, "unresolved", &image.source, e)),
        }
    }
    plan.totals = totals(&plan.images);
}

fn check_resolved(image: &PlannedImage, resolved: &Resolved, findings: &mut Vec<Finding>) {
    let target = ImageRef::parse(&image.target).ok();
    if let Some(pinned) = target.as_ref().and_then(|t| t.digest.as_ref()).filter(|d| **d != resolved.digest) {
        let message = format!("the transformed manifests pin `{pinned}`, but the source is `{}`; the copy keeps the source's digest", resolved.digest);
        findings.push(finding(Severity::Error, "digest-differs", &image.source, message));
    }
    if let Some(now) = resolved.target_digest.as_ref().filter(|d| **d != resolved.digest) {
        let message = format!("`{}` holds `{now}` on the target now; the copy moves the tag to `{}`", image.target, resolved.digest);
        findings.push(finding(Severity::Warning, "target-tag-differs", &image.source, message));
    }
}

async fn resolve_image(image: &PlannedImage, registries: &Registries) -> Result<Resolved, String> {
    let source = ImageRef::parse(&image.source).map_err(|e| e.to_string())?;
    let target = ImageRef::parse(&image.target).map_err(|e| e.to_string())?;
    let registry = registries.get(source.api_host()).map_err(|e| e.to_string())?;
    let (body, media_type) = registry.manifest_get(&source.repository, source.reference()).await.map_err(|e| e.to_string())?;
    let digest = source.digest.clone().unwrap_or_else(|| crate::Digest::of(&body).to_string());
    let document: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let media_type = document.get("mediaType").and_then(Value::as_str).map_or(media_type, str::to_owned);
    let mut resolved = Resolved { digest, media_type, manifests: 1, ..Resolved::default() };
    let children: Vec<(String, String)> =
        document.get("manifests").and_then(Value::as_array).into_iter().flatten().filter_map(crate::copy::index_entry).collect();
    resolved.platforms = children.iter().map(|(_, p)| p.clone()).collect();
    let mut blobs = crate::copy::blobs_of(&document);
    for (child, _) in &children {
        let (body, _) = registry.manifest_get(&source.repository, child).await.map_err(|e| e.to_string())?;
        blobs.extend(crate::copy::blobs_of(&serde_json::from_slice(&body).unwrap_or(Value::Null)));
        resolved.manifests += 1;
    }
    let mut seen = BTreeSet::new();
    blobs.retain(|(d, _)| seen.insert(d.clone()));
    resolved.blobs = blobs.len() as u64;
    resolved.bytes = blobs.iter().map(|(_, s)| s).sum();
    resolved.blob_list = blobs;
    let target_registry = registries.get(target.api_host()).map_err(|e| e.to_string())?;
    resolved.target_digest = match target_registry.manifest_head(&target.repository, target.reference()).await {
        Ok(found) => found.and_then(|f| f.digest),
        Err(RegistryError { .. }) => None,
    };
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn options(rules: &str) -> ferry_transform::Options {
        let text = format!("apiVersion: ferry.dev/v1alpha1\nkind: TransformRules\n{rules}");
        ferry_transform::Options { target_version: "1.30".parse().unwrap(), rules: ferry_transform::Rules::parse(&text, "ferry.yaml").unwrap() }
    }

    fn deployment(namespace: &str, name: &str, images: &[&str], secrets: &[&str]) -> Value {
        let containers: Vec<Value> = images.iter().enumerate().map(|(i, image)| json!({"name": format!("c{i}"), "image": image})).collect();
        let secrets: Vec<Value> = secrets.iter().map(|s| json!({"name": s})).collect();
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
            "spec": {"template": {"spec": {"containers": containers, "imagePullSecrets": secrets}}}})
    }

    fn pull_secret(namespace: &str, name: &str, registry: &str) -> Value {
        let config = json!({"auths": {registry: {"auth": "c2VjcmV0OnNlY3JldA=="}}}).to_string();
        json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson", "metadata": {"name": name, "namespace": namespace},
            "data": {".dockerconfigjson": base64::engine::general_purpose::STANDARD.encode(config)}})
    }

    #[test]
    fn targets_come_from_the_transform_and_users_are_grouped() {
        let objects = vec![
            deployment("shop", "web", &["acr.example.io/shop/web:1", "busybox:1.36"], &["acr"]),
            deployment("shop", "worker", &["acr.example.io/shop/web:1"], &[]),
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "owned", "namespace": "shop",
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "controller": true}]},
                "spec": {"containers": [{"name": "x", "image": "acr.example.io/only-in-owned-pod:1"}]}}),
            pull_secret("shop", "acr", "acr.example.io"),
        ];
        let plan = plan(&objects, &options("images:\n  - {from: acr.example.io/, to: harbor.example.com/mirror/}\nnamespaces: {shop: store}\n"));
        let summary: Vec<(&str, &str, bool, usize)> = plan.images.iter().map(|i| (i.source.as_str(), i.target.as_str(), i.copy, i.users.len())).collect();
        assert_eq!(summary, [("acr.example.io/shop/web:1", "harbor.example.com/mirror/shop/web:1", true, 2), ("busybox:1.36", "busybox:1.36", false, 1)]);
        let web = &plan.images[0];
        assert_eq!(web.users[0], User { object: "Deployment shop/web".into(), field: "/spec/template/spec/containers/0/image".into(), container: "c0".into() });
        assert_eq!(web.source_pull_secret.as_deref(), Some("shop/acr"));
        assert_eq!(web.target_pull_secret, None);
        let codes: Vec<&str> = plan.findings.iter().map(|f| f.code).collect();
        assert_eq!(codes, ["no-target-pull-secret", "not-rewritten"]);
        assert_eq!(plan.jobs().len(), 1);
        assert_eq!(plan.jobs()[0].target.repository, "mirror/shop/web");
    }

    #[test]
    fn two_sources_on_one_target_and_changed_pins_are_errors() {
        let digest = format!("sha256:{}", "b".repeat(64));
        let objects = vec![
            deployment("a", "one", &["r1.example.io/app:1", "r2.example.io/app:1"], &[]),
            deployment("a", "two", &[&format!("r1.example.io/pinned@{digest}")], &[]),
        ];
        let rules = "images:\n  - {from: r1.example.io/, to: t.example.io/}\n  - {from: r2.example.io/, to: t.example.io/}\npatches:\n  - match: {name: two}\n    jsonPatch: [{op: replace, path: /spec/template/spec/containers/0/image, value: t.example.io/pinned:1}]\n";
        let plan = plan(&objects, &options(rules));
        let codes: Vec<(&str, &str)> = plan.findings.iter().map(|f| (f.code, f.image.as_str())).collect();
        assert!(codes.contains(&("target-conflict", "r1.example.io/app:1")) && codes.contains(&("target-conflict", "r2.example.io/app:1")), "{codes:?}");
        assert!(codes.contains(&("digest-differs", &*format!("r1.example.io/pinned@{digest}"))), "{codes:?}");
        assert!(plan.has_errors());
    }
}
