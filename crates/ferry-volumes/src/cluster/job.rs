//! One mover Job: created with the claim mounted (read-only on the source), watched until its
//! Pod ends, its outcome read from the container's exit code and termination message, and
//! deleted with its Pod (and its Secret: the credentials of an S3 repository, the key of an
//! encrypted one) in every case. Secrets reach the Pod by reference only: the Job's spec names
//! the Secret's keys, never their values. Jobs that an interrupted run left for a claim are
//! removed, and their Pods waited for, before a new run's Jobs for that claim start.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ferry_archive::S3Settings;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ContainerStateTerminated, Pod, Secret};
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde_json::json;

use super::error::kube_error;
use super::{Error, RUN_LABEL};
use crate::{Chunker, MoverReport, Repository, RepositoryKey, Unlock, open_store};

/// Where mover Pods mount the claim.
const DATA_PATH: &str = "/data";
/// Where mover Pods mount a `--via` directory.
const REPOSITORY_PATH: &str = "/repository";
/// Where mover Pods mount the repository key of an encrypted repository (from the Job's Secret).
const KEY_DIR: &str = "/ferry-keys";
/// The repository key's entry in the Job's Secret, and its file name under [`KEY_DIR`].
const KEY_ENTRY: &str = "repository-key";
/// The S3 settings handed to movers, as the AWS variables they are read from.
const S3_VARIABLES: [&str; 5] = ["AWS_ENDPOINT_URL", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"];
/// The ferry binary in the mover image.
const FERRY_BINARY: &str = "/usr/local/bin/ferry";
/// Seconds a mover Pod gets between SIGTERM and SIGKILL when it is deleted. The mover is its
/// container's PID 1 without a handler, so SIGTERM does not stop it; nothing needs a clean
/// stop (repository objects are written whole; a restore's unfinished temporary file is
/// removed by the next pass), so there is no reason to wait Kubernetes' default 30 s.
const GRACE_SECONDS: i64 = 2;

/// The repository both clusters' movers use.
#[derive(Debug, Clone)]
pub enum Via {
    /// A directory on the nodes, mounted by hostPath: only where both clusters' nodes share it
    /// (one machine, or a shared file system). Real deployments use S3.
    Dir(PathBuf),
    /// A prefix in S3-compatible storage; the movers get the credentials through a Secret
    /// that lives as long as their Job.
    S3 {
        /// `s3://BUCKET/PREFIX`.
        url: String,
        /// Endpoint, region and credentials.
        settings: S3Settings,
    },
}

impl Via {
    /// Reads `--via`: `s3://BUCKET/PREFIX` or an absolute directory.
    pub fn parse(text: &str, settings: &S3Settings) -> Result<Via, Error> {
        let problem = |problem: &str| Error::Via { text: text.to_owned(), problem: problem.to_owned() };
        if text.len() > 5 && text[..5].eq_ignore_ascii_case("s3://") {
            open_store(text, settings).map_err(|e| problem(&e.to_string()))?;
            return Ok(Via::S3 { url: text.to_owned(), settings: settings.clone() });
        }
        if !text.starts_with('/') {
            return Err(problem("give an absolute directory that the nodes share, or s3://BUCKET/PREFIX"));
        }
        Ok(Via::Dir(PathBuf::from(text)))
    }

    /// Opens the repository from where ferry runs, to read manifests (with the mover's key
    /// when it is encrypted).
    pub fn open(&self, key: Option<&RepositoryKey>) -> Result<Repository, Error> {
        let unlock = key.cloned().map(Unlock::Key);
        Ok(Repository::open(self.store()?, unlock.as_ref())?)
    }

    /// Opens the repository from where ferry runs before any mover does, creating it when it
    /// does not exist yet; with keys, it is (or must already be) encrypted, and its key is
    /// returned for the movers.
    pub fn prepare(&self, unlock: Option<&Unlock>) -> Result<Option<RepositoryKey>, Error> {
        let repository = Repository::open_or_create(self.store()?, Chunker::default(), unlock)?;
        Ok(repository.key().cloned())
    }

    /// The repository's store.
    fn store(&self) -> Result<std::sync::Arc<dyn crate::Store>, Error> {
        Ok(match self {
            Via::Dir(dir) => open_store(&dir.to_string_lossy(), &S3Settings::default())?,
            Via::S3 { url, settings } => open_store(url, settings)?,
        })
    }

    /// The repository as the mover is told it.
    fn argument(&self) -> String {
        match self {
            Via::Dir(_) => REPOSITORY_PATH.to_owned(),
            Via::S3 { url, .. } => url.clone(),
        }
    }
}

/// How mover Jobs are made.
#[derive(Debug, Clone)]
pub struct Mover {
    /// The image with ferry at `/usr/local/bin/ferry`.
    pub image: String,
    /// The repository.
    pub via: Via,
    /// Run the Pods in the node's network (clusters without a Pod network, such as test clusters).
    pub host_network: bool,
    /// The run id: in the Jobs' names and labels and in the manifests' keys.
    pub run: String,
    /// The key of an encrypted repository ([`Via::prepare`]), handed to each mover Pod in its
    /// Job's Secret.
    pub key: Option<RepositoryKey>,
    /// How long one Job may take.
    pub timeout: Duration,
    /// Claims moved or verified at once (at least 1): at most this many mover Jobs run on
    /// each cluster at a time.
    pub parallel: usize,
    /// How long a mover keeps retrying an S3 store that does not answer before its pass fails.
    pub store_retry: Duration,
    /// The mover container's resource requests (`cpu`, `memory` quantities; empty: none), so
    /// that on a busy node it is not BestEffort, the class that gets CPU last.
    pub requests: Vec<(String, String)>,
}

/// One Job to run.
pub(crate) struct JobRequest {
    /// `source` or `target`.
    pub side: &'static str,
    /// The claim's namespace.
    pub namespace: String,
    /// The claim.
    pub claim: String,
    /// The Job's name.
    pub name: String,
    /// Mount the claim read-only.
    pub read_only: bool,
    /// Run on this node.
    pub node: Option<String>,
    /// The mover's arguments after `ferry volumes mover`, without `--repository` and `--path`.
    pub args: Vec<String>,
}

impl JobRequest {
    /// An error about this Job.
    fn failed(&self, problem: impl Into<String>) -> Error {
        Error::Mover { side: self.side, claim: format!("{}/{}", self.namespace, self.claim), job: self.name.clone(), problem: problem.into() }
    }
}

/// Runs a mover Job to its end and returns its report; the Job is deleted in every case.
pub(crate) async fn run_job(client: &Client, mover: &Mover, request: &JobRequest) -> Result<MoverReport, Error> {
    let jobs = Api::<Job>::namespaced(client.clone(), &request.namespace);
    let secret = secret(client, mover, request).await?;
    let job: Job = serde_json::from_value(job_manifest(mover, request, secret.as_ref())).map_err(|e| request.failed(format!("cannot build the Job: {e}")))?;
    let created = jobs.create(&PostParams::default(), &job).await.map_err(kube_error(format!("create the Job `{}` on the {}", request.name, request.side)));
    let outcome = match created {
        Ok(_) => wait(client, mover, request).await,
        Err(err) => Err(err),
    };
    let _ = jobs.delete(&request.name, &DeleteParams::background()).await;
    if let Some(secret) = secret {
        let _ = Api::<Secret>::namespaced(client.clone(), &request.namespace).delete(&secret.name, &DeleteParams::default()).await;
    }
    outcome
}

/// How long ferry waits for the Pods of an interrupted run's mover Jobs to be gone.
const LEFTOVER_WAIT: Duration = Duration::from_secs(120);

/// Removes the mover Jobs that earlier, interrupted runs left for the claim on one side (ferry
/// killed before it could delete them), with their Secrets, and waits until their Pods are
/// gone: a mover of an interrupted run must not keep writing while a new one starts. Returns
/// the Jobs' names.
pub(crate) async fn remove_leftovers(client: &Client, mover: &Mover, side: &'static str, namespace: &str, claim: &str) -> Result<Vec<String>, Error> {
    let jobs = Api::<Job>::namespaced(client.clone(), namespace);
    let others = ListParams::default().labels(&format!("{RUN_LABEL},{RUN_LABEL}!={}", mover.run));
    let list = jobs.list(&others).await.map_err(kube_error(format!("list the mover Jobs of namespace `{namespace}` on the {side}")))?;
    let names: Vec<String> = list.items.iter().filter(|job| job_mounts(job, claim)).map(kube::ResourceExt::name_any).collect();
    let (pods, secrets) = (Api::<Pod>::namespaced(client.clone(), namespace), Api::<Secret>::namespaced(client.clone(), namespace));
    for name in &names {
        let action = format!("delete the mover Job `{name}` of an interrupted run on the {side}");
        ignore_missing(jobs.delete(name, &DeleteParams::background()).await.map(drop)).map_err(kube_error(action.clone()))?;
        ignore_missing(secrets.delete(&format!("{name}-secret"), &DeleteParams::default()).await.map(drop)).map_err(kube_error(action.clone()))?;
        let params = ListParams::default().labels(&format!("job-name={name}"));
        ignore_missing(pods.delete_collection(&DeleteParams::default(), &params).await.map(drop)).map_err(kube_error(action))?;
    }
    let deadline = Instant::now() + LEFTOVER_WAIT;
    for name in &names {
        let params = ListParams::default().labels(&format!("job-name={name}"));
        while !pods.list(&params).await.map_err(kube_error(format!("list the Pods of the Job `{name}` on the {side}")))?.items.is_empty() {
            if Instant::now() > deadline {
                return Err(Error::Timeout(format!(
                    "the Pod of `{name}`, a mover Job of an interrupted run for `{namespace}/{claim}` on the {side}, is still there after {LEFTOVER_WAIT:?}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    Ok(names)
}

/// Whether a Job's Pods mount the claim.
fn job_mounts(job: &Job, claim: &str) -> bool {
    let volumes = job.spec.iter().filter_map(|s| s.template.spec.as_ref()).flat_map(|s| s.volumes.iter().flatten());
    volumes.filter_map(|v| v.persistent_volume_claim.as_ref()).any(|c| c.claim_name == claim)
}

/// A deletion of something already gone is not an error.
fn ignore_missing(result: Result<(), kube::Error>) -> Result<(), kube::Error> {
    match result {
        Err(kube::Error::Api(status)) if status.is_not_found() => Ok(()),
        other => other,
    }
}

/// What a mover's Secret holds: the S3 settings of an S3 repository (under the AWS variables'
/// names) and the key of an encrypted repository; `None` when there is nothing secret.
fn secret_data(mover: &Mover) -> Option<serde_json::Map<String, serde_json::Value>> {
    use age::secrecy::ExposeSecret as _;
    let mut data = serde_json::Map::new();
    if let Via::S3 { settings, .. } = &mover.via {
        let values = [&settings.endpoint, &settings.region, &settings.access_key_id, &settings.secret_access_key, &settings.session_token];
        data.extend(S3_VARIABLES.iter().zip(values).filter_map(|(name, value)| Some(((*name).to_owned(), json!(value.as_ref()?)))));
    }
    if let Some(key) = &mover.key {
        data.insert(KEY_ENTRY.to_owned(), json!(key.to_text().expose_secret()));
    }
    Some(data).filter(|data| !data.is_empty())
}

/// Creates the Job's Secret, if it needs one; returns its name and the entries it holds.
async fn secret(client: &Client, mover: &Mover, request: &JobRequest) -> Result<Option<SecretRef>, Error> {
    let Some(data) = secret_data(mover) else { return Ok(None) };
    let name = format!("{}-secret", request.name);
    let entries = data.keys().cloned().collect();
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {RUN_LABEL: mover.run}},
        "stringData": data,
    }))
    .map_err(|e| request.failed(format!("cannot build the Secret: {e}")))?;
    Api::<Secret>::namespaced(client.clone(), &request.namespace)
        .create(&PostParams::default(), &secret)
        .await
        .map_err(kube_error(format!("create the Secret `{name}` on the {}", request.side)))?;
    Ok(Some(SecretRef { name, entries }))
}

/// A mover's Secret: its name and the entries it holds.
struct SecretRef {
    name: String,
    entries: Vec<String>,
}

/// The Job: one Pod, never restarted, root (to read every file and set owners), the claim at
/// `/data`, the result in the termination message.
fn job_manifest(mover: &Mover, request: &JobRequest, secret: Option<&SecretRef>) -> serde_json::Value {
    let mut command = vec![FERRY_BINARY.to_owned(), "volumes".into(), "mover".into()];
    command.extend(request.args.iter().cloned());
    command.extend(["--repository".into(), mover.via.argument(), "--path".into(), DATA_PATH.into(), "--result".into(), "/dev/termination-log".into()]);
    let mut volumes = vec![json!({"name": "data", "persistentVolumeClaim": {"claimName": request.claim, "readOnly": request.read_only}})];
    let mut mounts = vec![json!({"name": "data", "mountPath": DATA_PATH, "readOnly": request.read_only})];
    if matches!(mover.via, Via::S3 { .. }) {
        command.extend(["--store-retry-seconds".into(), mover.store_retry.as_secs().max(1).to_string()]);
    }
    if let Via::Dir(dir) = &mover.via {
        volumes.push(json!({"name": "repository", "hostPath": {"path": dir, "type": "DirectoryOrCreate"}}));
        mounts.push(json!({"name": "repository", "mountPath": REPOSITORY_PATH}));
    }
    let mut env = Vec::new();
    if let Some(secret) = secret {
        for entry in &secret.entries {
            if entry == KEY_ENTRY {
                let items = [json!({"key": KEY_ENTRY, "path": KEY_ENTRY, "mode": 0o400})];
                volumes.push(json!({"name": "keys", "secret": {"secretName": secret.name, "items": items, "defaultMode": 0o400}}));
                mounts.push(json!({"name": "keys", "mountPath": KEY_DIR, "readOnly": true}));
                command.extend(["--repository-key".into(), format!("{KEY_DIR}/{KEY_ENTRY}")]);
            } else {
                env.push(json!({"name": entry, "valueFrom": {"secretKeyRef": {"name": secret.name, "key": entry}}}));
            }
        }
    }
    let labels = json!({RUN_LABEL: mover.run, "app.kubernetes.io/managed-by": "ferry"});
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": request.name, "labels": labels},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": mover.timeout.as_secs().max(1),
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "Never",
                    "terminationGracePeriodSeconds": GRACE_SECONDS,
                    "hostNetwork": mover.host_network,
                    "nodeName": request.node,
                    "securityContext": {"runAsUser": 0, "runAsGroup": 0},
                    "volumes": volumes,
                    "containers": [{
                        "name": "mover",
                        "image": mover.image,
                        "imagePullPolicy": "IfNotPresent",
                        "command": command,
                        "env": env,
                        "volumeMounts": mounts,
                        "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File",
                        "resources": {"requests": mover.requests.iter().map(|(name, quantity)| (name.clone(), json!(quantity))).collect::<serde_json::Map<_, _>>()},
                    }],
                },
            },
        },
    })
}

/// Waits for the Job's Pod to end and reads its outcome.
async fn wait(client: &Client, mover: &Mover, request: &JobRequest) -> Result<MoverReport, Error> {
    let pods = Api::<Pod>::namespaced(client.clone(), &request.namespace);
    let jobs = Api::<Job>::namespaced(client.clone(), &request.namespace);
    let deadline = Instant::now() + mover.timeout + Duration::from_secs(30);
    let params = ListParams::default().labels(&format!("job-name={}", request.name));
    loop {
        let list = pods.list(&params).await.map_err(kube_error(format!("list the Pods of the Job `{}` on the {}", request.name, request.side)))?;
        for pod in &list.items {
            if let Some(outcome) = outcome(request, pod) {
                return outcome;
            }
        }
        let job = jobs.get_opt(&request.name).await.map_err(kube_error(format!("read the Job `{}` on the {}", request.name, request.side)))?;
        if let Some(reason) = job.as_ref().and_then(job_failure) {
            // The Pod's end may have been recorded after the list above: look once more.
            let list = pods.list(&params).await.map_err(kube_error(format!("list the Pods of the Job `{}` on the {}", request.name, request.side)))?;
            return list.items.iter().find_map(|pod| outcome(request, pod)).unwrap_or_else(|| Err(request.failed(reason)));
        }
        if Instant::now() > deadline {
            return Err(Error::Timeout(format!("the Job `{}` on the {} did not end within {:?}", request.name, request.side, mover.timeout)));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The outcome of a Pod that ended, cannot start or is being deleted; `None` while it runs.
/// A Pod deleted before it ended is a failure at once: the Job controller of older clusters
/// would start another Pod in its place, whose outcome ferry must not take for this one's.
fn outcome(request: &JobRequest, pod: &Pod) -> Option<Result<MoverReport, Error>> {
    let status = pod.status.as_ref().and_then(|s| s.container_statuses.as_ref()).and_then(|c| c.first());
    let state = status.and_then(|s| s.state.as_ref());
    if let Some(ended) = state.and_then(|s| s.terminated.as_ref()) {
        return Some(ended_outcome(request, ended));
    }
    if pod.metadata.deletion_timestamp.is_some() {
        let name = kube::ResourceExt::name_any(pod);
        return Some(Err(request.failed(format!("its Pod `{name}` was deleted before it ended (by someone, or evicted); its outcome is unknown"))));
    }
    let waiting = state?.waiting.as_ref()?;
    let reason = waiting.reason.as_deref().filter(|r| ferry_cluster::pod::CANNOT_START.contains(r))?;
    let detail = waiting.message.clone().unwrap_or_default();
    Some(Err(request.failed(format!("its Pod cannot start: {reason} {detail}"))))
}

/// The outcome of a container that ended: success needs exit code 0 and a result.
fn ended_outcome(request: &JobRequest, ended: &ContainerStateTerminated) -> Result<MoverReport, Error> {
    let report: Option<MoverReport> = ended.message.as_deref().and_then(|m| serde_json::from_str(m).ok());
    match (ended.exit_code, report) {
        (0, Some(report)) if report.error.is_none() => Ok(report),
        (0, _) => Err(request.failed("it exited 0 but left no result; its outcome is unknown")),
        (code, Some(MoverReport { error: Some(error), .. })) => Err(request.failed(format!("exit code {code}: {error}"))),
        (code, _) => Err(request.failed(format!("exit code {code} ({}) without a result", ended.reason.as_deref().unwrap_or("no reason given")))),
    }
}

/// Why the Job failed, if it did (a deadline, a Pod that could not be created).
fn job_failure(job: &Job) -> Option<String> {
    let conditions = job.status.as_ref()?.conditions.as_ref()?;
    let failed = conditions.iter().find(|c| c.type_ == "Failed" && c.status == "True")?;
    Some(format!("the Job failed: {} {}", failed.reason.as_deref().unwrap_or(""), failed.message.as_deref().unwrap_or("")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> JobRequest {
        JobRequest {
            side: "target",
            namespace: "shop".into(),
            claim: "data".into(),
            name: "ferry-restore-1-0".into(),
            read_only: false,
            node: None,
            args: Vec::new(),
        }
    }

    /// A Pod whose only container is in `state`.
    fn pod(state: serde_json::Value) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "p"}, "status": {"containerStatuses": [{
            "name": "mover", "image": "i", "imageID": "", "ready": false, "restartCount": 0, "state": state}]}}))
        .expect("a Pod")
    }

    fn ended(code: i32, message: Option<&str>) -> Option<Result<MoverReport, Error>> {
        outcome(&request(), &pod(json!({"terminated": {"exitCode": code, "reason": "Error", "message": message}})))
    }

    #[test]
    fn success_needs_exit_code_zero_and_a_result() {
        let report = ended(0, Some(r#"{"restore": {"files": 2, "bytes": 9, "written_files": 1, "written_bytes": 4, "removed": 0}}"#));
        assert_eq!(report.and_then(Result::ok).and_then(|r| r.restore).map(|r| r.files), Some(2));

        let silent = ended(0, None).and_then(Result::err).map(|e| e.to_string()).unwrap_or_default();
        assert!(silent.contains("exited 0 but left no result") && silent.contains("shop/data") && silent.contains("ferry-restore-1-0"), "{silent}");
        let garbage = ended(0, Some("done!")).and_then(Result::err).map(|e| e.to_string()).unwrap_or_default();
        assert!(garbage.contains("left no result"), "{garbage}");
    }

    #[test]
    fn failures_carry_the_movers_error_or_the_exit_code() {
        let failed = ended(1, Some(r#"{"error": "the repository `/repository` is damaged: the chunk `chunks/ab/abc` of `big` is missing"}"#));
        let text = failed.and_then(Result::err).map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("exit code 1") && text.contains("chunks/ab/abc") && text.contains("on the target"), "{text}");
        let killed = ended(137, None).and_then(Result::err).map(|e| e.to_string()).unwrap_or_default();
        assert!(killed.contains("exit code 137 (Error) without a result"), "{killed}");
    }

    #[test]
    fn secrets_reach_the_pod_by_reference_only() {
        use age::secrecy::ExposeSecret as _;
        let settings = S3Settings {
            endpoint: Some("http://127.0.0.1:9000".into()),
            access_key_id: Some("AKID-CANARY".into()),
            secret_access_key: Some("SECRET-CANARY".into()),
            ..S3Settings::default()
        };
        let key = RepositoryKey::generate();
        let mover = Mover {
            image: "ferry:test".into(),
            via: Via::S3 { url: "s3://ferry/volumes".into(), settings },
            host_network: false,
            run: "1".into(),
            key: Some(key.clone()),
            timeout: std::time::Duration::from_secs(60),
            parallel: 1,
            store_retry: std::time::Duration::from_secs(300),
            requests: vec![("cpu".into(), "250m".into())],
        };
        let data = secret_data(&mover).expect("a Secret");
        assert_eq!(data.get("AWS_SECRET_ACCESS_KEY"), Some(&json!("SECRET-CANARY")));
        assert_eq!(data.get(KEY_ENTRY).and_then(|v| v.as_str()), Some(key.to_text().expose_secret()));
        let secret = SecretRef { name: "ferry-restore-1-0-secret".into(), entries: data.keys().cloned().collect() };
        let spec = job_manifest(&mover, &request(), Some(&secret)).to_string();
        for canary in ["AKID-CANARY", "SECRET-CANARY", "AGE-SECRET-KEY-"] {
            assert!(!spec.contains(canary), "the Job's spec holds `{canary}`: {spec}");
        }
        assert!(spec.contains(r#""--repository-key","/ferry-keys/repository-key""#), "{spec}");
        assert!(spec.contains(r#""secretKeyRef":{"name":"ferry-restore-1-0-secret","key":"AWS_SECRET_ACCESS_KEY"}"#), "{spec}");
        let _: Job = serde_json::from_value(job_manifest(&mover, &request(), Some(&secret))).expect("a valid Job");

        assert!(spec.contains(r#""--store-retry-seconds","300""#), "an S3 mover waits for its store: {spec}");
        assert!(spec.contains(r#""resources":{"requests":{"cpu":"250m"}}"#), "the mover is not BestEffort: {spec}");

        let plain = Mover { via: Via::Dir("/srv/volumes".into()), key: None, ..mover };
        assert!(secret_data(&plain).is_none(), "a plain directory repository needs no Secret");
        assert!(!job_manifest(&plain, &request(), None).to_string().contains("--store-retry-seconds"), "a directory has no store to wait for");
    }

    #[test]
    fn a_pod_that_cannot_start_fails_at_once_and_a_running_one_is_waited_for() {
        let stuck = outcome(&request(), &pod(json!({"waiting": {"reason": "ErrImageNeverPull", "message": "image not present"}})));
        let text = stuck.and_then(Result::err).map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("cannot start: ErrImageNeverPull image not present"), "{text}");
        assert!(outcome(&request(), &pod(json!({"waiting": {"reason": "ContainerCreating"}}))).is_none());
        assert!(outcome(&request(), &pod(json!({"running": {}}))).is_none());
    }

    #[test]
    fn a_pod_deleted_while_it_runs_is_a_failure_and_one_that_ended_keeps_its_outcome() {
        let deleted = |state: serde_json::Value| {
            let mut pod = pod(state);
            pod.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(jiff::Timestamp::UNIX_EPOCH));
            outcome(&request(), &pod)
        };
        let text = deleted(json!({"running": {}})).and_then(Result::err).map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("its Pod `p` was deleted before it ended") && text.contains("ferry-restore-1-0"), "{text}");
        let done = deleted(json!({"terminated": {"exitCode": 0, "message": r#"{"manifest": {"key": "k", "files": 1, "bytes": 2, "digest": "d"}}"#}}));
        assert_eq!(done.and_then(Result::ok).and_then(|r| r.manifest).map(|m| m.files), Some(1));
    }
}
