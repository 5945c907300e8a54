//! `ferry images copy`'s engine: images copied from registry to registry through the
//! distribution API, byte for byte. Manifests and indexes are read by digest, checked against
//! it and put unchanged (every platform of an index); blobs go only where the target lacks
//! them (HEAD first), mounted across repositories of the target where one already holds them,
//! streamed from source to target (one `PATCH` whose body is the source's answer as it comes,
//! started again from the source if the upload breaks) and checked against their digest before
//! the upload is closed. Referrers follow: the OCI 1.1
//! referrers API, else the tag schema (`sha256-HEX`) and cosign's `.sig`, `.att`, `.sbom` tags.
//! Every image yields an [`ImageEvidence`]; a failed image does not stop the others.
//! [`verified_targets`] reads the evidence back, for pinning manifests to the copied digests.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::future::{BoxFuture, FutureExt as _, join_all};
use futures::stream::{self, StreamExt as _};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use tokio::sync::OnceCell;

use crate::{Digest, Error};

use crate::registry::{ImageRef, Problem, Registries, Registry, RegistryError, Upload};

/// The schema of the evidence `ferry images copy --evidence` writes.
pub const EVIDENCE_SCHEMA: &str = "ferry.images.copy/v1";
/// Images copied at once (each bounded further by its registries' concurrency).
const IMAGES_AT_ONCE: usize = 8;
/// cosign's tag suffixes after `sha256-HEX` (signature, attestation, SBOM); `""` is the OCI 1.1
/// referrers tag schema.
const REFERRER_TAG_SUFFIXES: [&str; 4] = ["", ".sig", ".att", ".sbom"];

/// One image to copy: from a source reference (tag or digest) to a target reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyJob {
    /// Where the image is.
    pub source: ImageRef,
    /// Where it goes: its tag is put; a digest in it must be the source's.
    pub target: ImageRef,
    /// The digest the target's tag held when the plan looked, if it did: when it is the
    /// source's, the tag is not asked about again.
    pub target_seen: Option<String>,
}

/// What was verified and done for one image; the evidence file holds one per image.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageEvidence {
    /// The source reference.
    pub source: String,
    /// The target reference.
    pub target: String,
    /// The source manifest's digest (checked against the bytes read).
    pub source_digest: Option<String>,
    /// The digest the target registry gives for the target reference after the copy.
    pub target_digest: Option<String>,
    /// The top manifest's media type.
    pub media_type: String,
    /// Every platform (`os/architecture[/variant]`) of an index, or the image's own.
    pub platforms: Vec<String>,
    /// Manifests put on the target.
    pub manifests_sent: u64,
    /// Manifests the target already held.
    pub manifests_present: u64,
    /// Blobs uploaded.
    pub blobs_sent: u64,
    /// Blobs mounted from another repository of the target.
    pub blobs_mounted: u64,
    /// Blobs the target repository already held.
    pub blobs_skipped: u64,
    /// Blob bytes uploaded.
    pub bytes_sent: u64,
    /// Signatures, attestations and other referrers copied along.
    pub referrers: Vec<ReferrerEvidence>,
    /// Whether the target reference now resolves to the source digest.
    pub verified: bool,
    /// Why the image could not be copied (the others still were).
    pub error: Option<String>,
}

/// One referrer copied with an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReferrerEvidence {
    /// The digest of the manifest it refers to.
    pub subject: String,
    /// The referrer's manifest digest.
    pub digest: String,
    /// `referrers-api` or `tag`.
    pub found_by: &'static str,
    /// The tag it was found by (`sha256-HEX.sig`, …).
    pub tag: Option<String>,
    /// Its `artifactType`, when the referrers API gives one.
    pub artifact_type: Option<String>,
}

/// What the copy tells as it goes; the CLI draws progress with it.
pub trait CopyProgress: Sync {
    /// `bytes` more blob bytes reached the target.
    fn sent(&self, bytes: u64);
    /// One image is done (copied or failed).
    fn image_done(&self, evidence: &ImageEvidence);
}

/// Progress that goes nowhere.
pub struct NoProgress;

impl CopyProgress for NoProgress {
    fn sent(&self, _: u64) {}
    fn image_done(&self, _: &ImageEvidence) {}
}

/// Copies every job, [`IMAGES_AT_ONCE`] at a time; the evidence comes back in job order.
pub async fn copy(jobs: &[CopyJob], registries: &Registries, progress: &dyn CopyProgress) -> Vec<ImageEvidence> {
    let run = Run { registries, progress, placed: Mutex::new(HashMap::new()) };
    let run = &run;
    let mut done: Vec<(usize, ImageEvidence)> = stream::iter(jobs.iter().enumerate())
        .map(|(i, job)| async move {
            let evidence = copy_image(run, job).await;
            run.progress.image_done(&evidence);
            (i, evidence)
        })
        .buffer_unordered(IMAGES_AT_ONCE)
        .collect()
        .await;
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, evidence)| evidence).collect()
}

/// Where each blob went first in each target registry, so that later copies mount it instead
/// of sending it again, and two images sharing a layer send it once.
type Placed = Mutex<HashMap<(String, String), Arc<OnceCell<Result<String, RegistryError>>>>>;

struct Run<'a> {
    registries: &'a Registries,
    progress: &'a dyn CopyProgress,
    placed: Placed,
}

/// A repository in a registry.
#[derive(Clone)]
struct Repo {
    registry: Arc<Registry>,
    name: String,
}

/// Counts of one image's copy, added to from concurrent blob copies.
#[derive(Default)]
struct Counts {
    manifests_sent: AtomicU64,
    manifests_present: AtomicU64,
    blobs_sent: AtomicU64,
    blobs_mounted: AtomicU64,
    blobs_skipped: AtomicU64,
    bytes_sent: AtomicU64,
}

/// What a manifest tree holds.
struct Tree {
    media_type: String,
    platforms: Vec<String>,
    /// This manifest's digest and its children's: the subjects referrers may point to.
    digests: Vec<String>,
}

async fn copy_image(run: &Run<'_>, job: &CopyJob) -> ImageEvidence {
    let mut evidence = ImageEvidence { source: job.source.to_string(), target: job.target.to_string(), ..ImageEvidence::default() };
    let counts = Counts::default();
    let result = copy_image_into(run, job, &counts, &mut evidence).await;
    evidence.manifests_sent = counts.manifests_sent.load(Ordering::Relaxed);
    evidence.manifests_present = counts.manifests_present.load(Ordering::Relaxed);
    evidence.blobs_sent = counts.blobs_sent.load(Ordering::Relaxed);
    evidence.blobs_mounted = counts.blobs_mounted.load(Ordering::Relaxed);
    evidence.blobs_skipped = counts.blobs_skipped.load(Ordering::Relaxed);
    evidence.bytes_sent = counts.bytes_sent.load(Ordering::Relaxed);
    if let Err(error) = result {
        evidence.error = Some(error);
    }
    evidence
}

async fn copy_image_into(run: &Run<'_>, job: &CopyJob, counts: &Counts, evidence: &mut ImageEvidence) -> Result<(), String> {
    let repo = |image: &ImageRef| -> Result<Repo, String> {
        Ok(Repo { registry: run.registries.get(image.api_host()).map_err(|e| e.to_string())?, name: image.repository.clone() })
    };
    let (source, target) = (repo(&job.source)?, repo(&job.target)?);
    let digest = match &job.source.digest {
        Some(digest) => digest.clone(),
        None => resolve(&source, job.source.reference()).await.map_err(|e| e.to_string())?.ok_or_else(|| {
            RegistryError { registry: source.registry.host().to_owned(), action: format!("resolving `{}`", job.source), problem: Problem::NotFound }.to_string()
        })?,
    };
    evidence.source_digest = Some(digest.clone());
    if let Some(pinned) = job.target.digest.as_ref().filter(|d| **d != digest) {
        return Err(format!("the target reference pins `{pinned}` but the source `{}` is `{digest}`; a copy keeps the digest", job.source));
    }
    let tag = job.target.tag.as_deref().map(|name| Tag { name, seen: job.target_seen.as_deref() });
    let tree = copy_manifest(run, &source, &target, &digest, tag, counts, true).await.map_err(|e| e.to_string())?;
    evidence.media_type = tree.media_type;
    evidence.platforms = tree.platforms;
    evidence.target_digest = Some(digest.clone());
    evidence.verified = true;
    evidence.referrers = copy_referrers(run, &source, &target, &tree.digests, counts).await.map_err(|e| e.to_string())?;
    Ok(())
}

/// The digest a tag or digest names in `repo`: from `Docker-Content-Digest`, or computed from
/// the manifest if the registry does not send it; `None` if it does not exist.
async fn resolve(repo: &Repo, reference: &str) -> Result<Option<String>, RegistryError> {
    let Some(found) = repo.registry.manifest_head(&repo.name, reference).await? else { return Ok(None) };
    match found.digest {
        Some(digest) => Ok(Some(digest)),
        None => Ok(Some(Digest::of(&repo.registry.manifest_get(&repo.name, reference).await?.0).to_string())),
    }
}

/// A target tag to point at a manifest, with what it held when the plan looked (if it did).
#[derive(Clone, Copy)]
struct Tag<'a> {
    name: &'a str,
    seen: Option<&'a str>,
}

/// Copies the manifest `digest` (and everything it refers to) unless the target has it, then
/// points `tag` at it. `top` asks for the platform of a single image (from its config).
fn copy_manifest<'a>(
    run: &'a Run<'_>,
    source: &'a Repo,
    target: &'a Repo,
    digest: &'a str,
    tag: Option<Tag<'a>>,
    counts: &'a Counts,
    top: bool,
) -> BoxFuture<'a, Result<Tree, RegistryError>> {
    async move {
        let failed = |problem| RegistryError { registry: source.registry.host().to_owned(), action: format!("reading `{}@{digest}`", source.name), problem };
        if !digest.starts_with("sha256:") {
            return Err(failed(Problem::Unsupported(format!("the digest `{digest}` is not SHA-256, the only algorithm ferry copies"))));
        }
        let (body, header_type) = source.registry.manifest_get(&source.name, digest).await?;
        let actual = Digest::of(&body).to_string();
        if actual != digest {
            return Err(failed(Problem::DigestMismatch { expected: digest.to_owned(), actual }));
        }
        let document: Value = serde_json::from_slice(&body).map_err(|e| failed(Problem::Unsupported(format!("the manifest is not JSON: {e}"))))?;
        let media_type = document.get("mediaType").and_then(Value::as_str).map_or(header_type, str::to_owned);
        let is_image = document.get("layers").is_some() || document.get("config").is_some();
        let blobs = if is_image { blobs_of(&document) } else { Vec::new() };
        // What the tag holds on the target and the platform of a single image, asked at once.
        let tag_at = async {
            match tag {
                Some(Tag { seen: Some(seen), .. }) if seen == digest => Ok(Some(seen.to_owned())),
                Some(tag) => Ok(target.registry.manifest_head(&target.name, tag.name).await?.and_then(|f| f.digest)),
                None => Ok(None),
            }
        };
        let platform = async {
            match blobs.first().filter(|_| top && document.get("manifests").is_none()) {
                Some(config) => platform_of_config(&source.registry, &source.name, &config.0).await,
                None => Ok(None),
            }
        };
        let (tag_at, platform) = tokio::join!(tag_at, platform);
        let (tag_at, platform): (Option<String>, Option<String>) = (tag_at?, platform?);
        let present = tag_at.as_deref() == Some(digest) || target.registry.manifest_head(&target.name, digest).await?.is_some();
        let mut tree = Tree { media_type: media_type.clone(), platforms: Vec::new(), digests: vec![digest.to_owned()] };
        if let Some(children) = document.get("manifests").and_then(Value::as_array) {
            let children: Vec<(String, String)> = children.iter().filter_map(index_entry).collect();
            tree.platforms = children.iter().map(|(_, platform)| platform.clone()).collect();
            tree.digests.extend(children.iter().map(|(d, _)| d.clone()));
            if !present {
                let copies = children.iter().map(|(child, _)| copy_manifest(run, source, target, child, None, counts, false));
                join_all(copies).await.into_iter().collect::<Result<Vec<_>, _>>()?;
            }
        } else if is_image {
            if !present {
                join_all(blobs.iter().map(|blob| copy_blob(run, source, target, blob, counts))).await.into_iter().collect::<Result<Vec<_>, _>>()?;
            }
            tree.platforms = platform.into_iter().collect();
        } else {
            return Err(failed(Problem::Unsupported(format!("`{media_type}` is neither an image manifest nor an index (Docker schema 1 is not copied)"))));
        }
        if present {
            counts.manifests_present.fetch_add(1, Ordering::Relaxed);
        } else {
            target.registry.manifest_put(&target.name, digest, &body, &media_type).await?;
            counts.manifests_sent.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(tag) = tag.map(|t| t.name).filter(|_| tag_at.as_deref() != Some(digest)) {
            let given = target.registry.manifest_put(&target.name, tag, &body, &media_type).await?;
            if let Some(given) = given.filter(|g| g != digest) {
                let action = format!("putting `{}:{tag}`", target.name);
                return Err(RegistryError {
                    registry: target.registry.host().to_owned(),
                    action,
                    problem: Problem::DigestMismatch { expected: digest.to_owned(), actual: given },
                });
            }
        }
        Ok(tree)
    }
    .boxed()
}

/// An index entry's digest and platform (`os/architecture[/variant]`, `unknown` if absent).
pub(crate) fn index_entry(entry: &Value) -> Option<(String, String)> {
    let digest = entry.get("digest")?.as_str()?.to_owned();
    Some((digest, entry.get("platform").map_or_else(|| "unknown".to_owned(), platform)))
}

fn platform(value: &Value) -> String {
    let part = |k: &str| value.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    [part("os"), part("architecture"), part("variant")].into_iter().flatten().collect::<Vec<_>>().join("/")
}

/// The config and layers of an image manifest, `(digest, size)`, each once, config first.
pub(crate) fn blobs_of(manifest: &Value) -> Vec<(String, u64)> {
    let descriptor = |d: &Value| Some((d.get("digest")?.as_str()?.to_owned(), d.get("size").and_then(Value::as_u64).unwrap_or(0)));
    let layers = manifest.get("layers").and_then(Value::as_array).into_iter().flatten();
    let mut blobs: Vec<(String, u64)> = manifest.get("config").and_then(descriptor).into_iter().chain(layers.filter_map(descriptor)).collect();
    let mut seen = std::collections::HashSet::new();
    blobs.retain(|(digest, _)| seen.insert(digest.clone()));
    blobs
}

/// The platform an image config names; `None` for configs that are not image configs.
pub(crate) async fn platform_of_config(registry: &Registry, repository: &str, digest: &str) -> Result<Option<String>, RegistryError> {
    let response = registry.blob_get(repository, digest).await?;
    let body = response.bytes().await.unwrap_or_default();
    let config: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    Ok(Some(platform(&config)).filter(|p| !p.is_empty()))
}

/// How one blob reached the target repository.
enum Placement {
    Present,
    Mounted,
    Sent(u64),
}

/// Puts one blob into the target repository: nothing if it is there, a mount if another
/// repository of the target registry got it in this run (or it is the source's own registry),
/// an upload otherwise. Two images sharing a blob wait for one upload.
async fn copy_blob(run: &Run<'_>, source: &Repo, target: &Repo, blob: &(String, u64), counts: &Counts) -> Result<(), RegistryError> {
    let digest = &blob.0;
    let cell = run.placed.lock().expect("not poisoned").entry((target.registry.host().to_owned(), digest.clone())).or_default().clone();
    let mut first = None;
    let home = cell
        .get_or_init(|| async {
            let placed = place(run, source, target, blob, None).await;
            let home = placed.as_ref().map(|_| target.name.clone()).map_err(Clone::clone);
            first = Some(placed);
            home
        })
        .await
        .clone();
    let placement = match (first, home) {
        (Some(placed), _) => placed?,
        (None, Err(e)) => return Err(e),
        (None, Ok(home)) if home == target.name => Placement::Present,
        (None, Ok(home)) => place(run, source, target, blob, Some(&home)).await?,
    };
    let counter = match placement {
        Placement::Present => &counts.blobs_skipped,
        Placement::Mounted => &counts.blobs_mounted,
        Placement::Sent(bytes) => {
            counts.bytes_sent.fetch_add(bytes, Ordering::Relaxed);
            &counts.blobs_sent
        }
    };
    counter.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

async fn place(run: &Run<'_>, source: &Repo, target: &Repo, (digest, size): &(String, u64), home: Option<&str>) -> Result<Placement, RegistryError> {
    if target.registry.blob_exists(&target.name, digest).await? {
        return Ok(Placement::Present);
    }
    let same_registry = Arc::ptr_eq(&source.registry, &target.registry);
    let from = home.or(same_registry.then_some(source.name.as_str())).filter(|from| *from != target.name);
    let mut failures = 0;
    loop {
        let location = match target.registry.upload_start(&target.name, from.map(|from| (digest.as_str(), from))).await? {
            Upload::Mounted => return Ok(Placement::Mounted),
            Upload::Session(location) => location,
        };
        match transfer(run, source, target, digest, *size, &location).await {
            Ok(sent) => return Ok(Placement::Sent(sent)),
            Err(Failed::Upload(error)) if error.problem.is_transient() => {
                failures += 1;
                let Some(wait) = target.registry.retry_wait(failures) else { return Err(error) };
                tokio::time::sleep(wait).await;
            }
            Err(Failed::Upload(error) | Failed::Source(error)) => return Err(error),
        }
    }
}

/// Why a blob transfer failed: the target's side is started again, the source's has had its
/// own retries.
enum Failed {
    Source(RegistryError),
    Upload(RegistryError),
}

/// Streams a blob from the source into an open upload: one `PATCH` whose body is the source's
/// stream, hashed on the way; the upload is closed with the digest only if the bytes hashed to
/// it. A broken source stream resumes where it broke ([`crate::registry::Registry::blob_stream`]).
async fn transfer(run: &Run<'_>, source: &Repo, target: &Repo, digest: &str, size: u64, location: &str) -> Result<u64, Failed> {
    let _permits = (source.registry.transfer_permit().await, target.registry.transfer_permit().await);
    let mut stream = source.registry.blob_stream(&source.name, digest).await.map_err(Failed::Source)?;
    let (pieces, received) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    let feed = async move {
        let (mut hash, mut length) = (Sha256::new(), 0u64);
        loop {
            match stream.next().await {
                Ok(Some(piece)) => {
                    hash.update(&piece);
                    length += piece.len() as u64;
                    run.progress.sent(piece.len() as u64);
                    if pieces.send(Ok(piece)).await.is_err() {
                        return Ok(None);
                    }
                }
                Ok(None) => return Ok(Some((Digest::from_hash(&hash.finalize()).to_string(), length))),
                Err(error) => {
                    // Ends the upload's body with an error: the upload is not closed.
                    let _ = pieces.send(Err(std::io::Error::other("the source stream failed"))).await;
                    return Err(error);
                }
            }
        }
    };
    let body = reqwest::Body::wrap_stream(stream::unfold(received, |mut received| async move { received.recv().await.map(|piece| (piece, received)) }));
    let (fed, uploaded) = tokio::join!(feed, target.registry.upload_stream(&target.name, location, size, body));
    let read = fed.map_err(Failed::Source)?;
    if let Some((actual, _)) = read.as_ref().filter(|(actual, _)| actual != digest) {
        let action = format!("copying the blob `{digest}` from `{}`", source.name);
        let problem = Problem::DigestMismatch { expected: digest.to_owned(), actual: actual.clone() };
        return Err(Failed::Source(RegistryError { registry: source.registry.host().to_owned(), action, problem }));
    }
    let location = uploaded.map_err(Failed::Upload)?;
    let Some((_, length)) = read else {
        let problem = Problem::Unsupported("the registry answered the upload before it had the whole blob".into());
        return Err(Failed::Upload(RegistryError { registry: target.registry.host().to_owned(), action: format!("uploading `{digest}`"), problem }));
    };
    target.registry.upload_finish(&target.name, &location, digest).await.map_err(Failed::Upload)?;
    Ok(length)
}

/// Copies the referrers of every subject (all subjects, and each subject's tags, looked up at
/// once): through the referrers API where the source serves it, else by the tag schema and
/// cosign's tags.
async fn copy_referrers(run: &Run<'_>, source: &Repo, target: &Repo, subjects: &[String], counts: &Counts) -> Result<Vec<ReferrerEvidence>, RegistryError> {
    let found = join_all(subjects.iter().map(|subject| copy_referrers_of(run, source, target, subject, counts))).await;
    Ok(found.into_iter().collect::<Result<Vec<_>, _>>()?.into_iter().flatten().collect())
}

/// Copies the referrers of one subject: those the referrers API lists, else those tagged by the
/// tag schema or cosign (only the tags the repository lists are looked up).
async fn copy_referrers_of(run: &Run<'_>, source: &Repo, target: &Repo, subject: &str, counts: &Counts) -> Result<Vec<ReferrerEvidence>, RegistryError> {
    let mut found = Vec::new();
    if let Some(index) = source.registry.referrers(&source.name, subject).await? {
        let index: Value = serde_json::from_slice(&index).unwrap_or(Value::Null);
        for entry in index.get("manifests").and_then(Value::as_array).into_iter().flatten() {
            let Some(digest) = entry.get("digest").and_then(Value::as_str) else { continue };
            copy_manifest(run, source, target, digest, None, counts, false).await?;
            let artifact_type = entry.get("artifactType").and_then(Value::as_str).map(str::to_owned);
            found.push(ReferrerEvidence { subject: subject.to_owned(), digest: digest.to_owned(), found_by: "referrers-api", tag: None, artifact_type });
        }
        return Ok(found);
    }
    let hex = subject.trim_start_matches("sha256:");
    let mut tags: Vec<String> = REFERRER_TAG_SUFFIXES.iter().map(|suffix| format!("sha256-{hex}{suffix}")).collect();
    // One listing of the repository's tags (shared by its images) instead of a look-up per tag,
    // where the registry lists them.
    if let Some(known) = source.registry.tags(&source.name).await? {
        tags.retain(|tag| known.contains(tag));
    }
    let digests = join_all(tags.iter().map(|tag| resolve(source, tag))).await;
    for (tag, digest) in tags.into_iter().zip(digests) {
        let Some(digest) = digest? else { continue };
        copy_manifest(run, source, target, &digest, Some(Tag { name: &tag, seen: None }), counts, false).await?;
        found.push(ReferrerEvidence { subject: subject.to_owned(), digest, found_by: "tag", tag: Some(tag), artifact_type: None });
    }
    Ok(found)
}

/// The target reference and digest of every image an evidence file (text `text`, written by
/// `ferry images copy --evidence`) says was copied and verified: what `--pin-images` pins.
/// Images that failed are left out; `file` names the file in errors.
pub fn verified_targets(text: &str, file: &str) -> Result<Vec<(String, String)>, Error> {
    let invalid = |reason: String| Error::Evidence { file: file.to_owned(), reason };
    let document: Value = serde_json::from_str(text).map_err(|e| invalid(format!("not JSON: {e}")))?;
    let schema = document.get("schema").and_then(Value::as_str).unwrap_or_default();
    if schema != EVIDENCE_SCHEMA {
        return Err(invalid(format!("`schema` is `{schema}`, not `{EVIDENCE_SCHEMA}` (write it with `ferry images copy --evidence FILE`)")));
    }
    let images = document.get("images").and_then(Value::as_array).ok_or_else(|| invalid("no `images` list".into()))?;
    let mut targets: Vec<(String, String)> = Vec::new();
    for (i, image) in images.iter().enumerate() {
        if image.get("verified").and_then(Value::as_bool) != Some(true) {
            continue;
        }
        let field = |name: &str| image.get(name).and_then(Value::as_str).ok_or_else(|| invalid(format!("`images[{i}].{name}` is missing")));
        let (target, digest) = (field("target")?, field("targetDigest")?);
        if !is_sha256(digest) {
            return Err(invalid(format!("`images[{i}].targetDigest` `{digest}` is not a SHA-256 digest")));
        }
        match targets.iter().find(|(t, _)| t == target) {
            Some((_, other)) if other != digest => return Err(invalid(format!("`{target}` has two digests, `{other}` and `{digest}`"))),
            Some(_) => {}
            None => targets.push((target.to_owned(), digest.to_owned())),
        }
    }
    Ok(targets)
}

fn is_sha256(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn blobs_come_once_config_first_and_platforms_read() {
        let manifest = json!({"config": {"digest": "sha256:c", "size": 2}, "layers": [{"digest": "sha256:a", "size": 5}, {"digest": "sha256:a", "size": 5}, {"digest": "sha256:b"}]});
        assert_eq!(blobs_of(&manifest), [("sha256:c".to_owned(), 2), ("sha256:a".to_owned(), 5), ("sha256:b".to_owned(), 0)]);
        let entry = json!({"digest": "sha256:d", "platform": {"os": "linux", "architecture": "arm", "variant": "v7"}});
        assert_eq!(index_entry(&entry), Some(("sha256:d".to_owned(), "linux/arm/v7".to_owned())));
        assert_eq!(index_entry(&json!({"digest": "sha256:e"})), Some(("sha256:e".to_owned(), "unknown".to_owned())));
    }

    #[test]
    fn evidence_gives_the_verified_targets_and_bad_files_name_the_field() {
        let digest = format!("sha256:{}", "a".repeat(64));
        let image = |target: &str, digest: &str, verified: bool| json!({"target": target, "targetDigest": digest, "verified": verified});
        let evidence = |images: Vec<Value>| json!({"schema": EVIDENCE_SCHEMA, "images": images}).to_string();
        let text = evidence(vec![image("r.example/a:1", &digest, true), image("r.example/b:1", &digest, false), image("r.example/a:1", &digest, true)]);
        assert_eq!(verified_targets(&text, "e.json").unwrap(), [("r.example/a:1".to_owned(), digest.clone())]);
        let error = |text: &str| verified_targets(text, "e.json").unwrap_err().to_string();
        assert!(error("{").starts_with("cannot use the image copy evidence `e.json`: not JSON"), "{}", error("{"));
        assert!(error(r#"{"schema": "ferry.images.plan/v1"}"#).contains("`schema` is `ferry.images.plan/v1`, not `ferry.images.copy/v1`"));
        assert!(error(&evidence(vec![image("r.example/a:1", "sha256:zz", true)])).contains("`images[0].targetDigest` `sha256:zz` is not a SHA-256 digest"));
        assert!(error(&evidence(vec![json!({"verified": true, "targetDigest": digest})])).contains("`images[0].target` is missing"));
        let other = format!("sha256:{}", "b".repeat(64));
        let two = evidence(vec![image("r.example/a:1", &digest, true), image("r.example/a:1", &other, true)]);
        assert!(error(&two).contains("`r.example/a:1` has two digests"));
    }
}
