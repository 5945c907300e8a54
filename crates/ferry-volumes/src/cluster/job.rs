//! One mover Job: created with the claim mounted (read-only on the source), watched until its
//! Pod ends, its outcome read from the container's exit code and termination message, and
//! deleted with its Pod (and the credentials Secret of an S3 repository) in every case.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ferry_archive::S3Settings;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde_json::json;

use super::error::kube_error;
use super::{Error, RUN_LABEL};
use crate::{MoverReport, Repository, open_store};

/// Where mover Pods mount the claim.
const DATA_PATH: &str = "/data";
/// Where mover Pods mount a `--via` directory.
const REPOSITORY_PATH: &str = "/repository";
/// The ferry binary in the mover image.
const FERRY_BINARY: &str = "/usr/local/bin/ferry";
/// Waiting reasons that mean the Pod will never start.
const STUCK: [&str; 5] = ["ErrImageNeverPull", "ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError", "InvalidImageName"];

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

    /// Opens the repository from where ferry runs, to read manifests.
    pub fn open(&self) -> Result<Repository, Error> {
        let store = match self {
            Via::Dir(dir) => open_store(&dir.to_string_lossy(), &S3Settings::default())?,
            Via::S3 { url, settings } => open_store(url, settings)?,
        };
        Ok(Repository::open(store)?)
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
    /// How long one Job may take.
    pub timeout: Duration,
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
    let secret = credentials(client, mover, request).await?;
    let job: Job = serde_json::from_value(job_manifest(mover, request, secret.as_deref())).map_err(|e| request.failed(format!("cannot build the Job: {e}")))?;
    let created = jobs.create(&PostParams::default(), &job).await.map_err(kube_error(format!("create the Job `{}` on the {}", request.name, request.side)));
    let outcome = match created {
        Ok(_) => wait(client, mover, request).await,
        Err(err) => Err(err),
    };
    let _ = jobs.delete(&request.name, &DeleteParams::background()).await;
    if let Some(secret) = secret {
        let _ = Api::<Secret>::namespaced(client.clone(), &request.namespace).delete(&secret, &DeleteParams::default()).await;
    }
    outcome
}

/// For an S3 repository, a Secret with the credentials as environment variables; its name.
async fn credentials(client: &Client, mover: &Mover, request: &JobRequest) -> Result<Option<String>, Error> {
    let Via::S3 { settings, .. } = &mover.via else { return Ok(None) };
    let name = format!("{}-s3", request.name);
    let pairs = [
        ("AWS_ENDPOINT_URL", &settings.endpoint),
        ("AWS_REGION", &settings.region),
        ("AWS_ACCESS_KEY_ID", &settings.access_key_id),
        ("AWS_SECRET_ACCESS_KEY", &settings.secret_access_key),
        ("AWS_SESSION_TOKEN", &settings.session_token),
    ];
    let data: serde_json::Map<String, serde_json::Value> = pairs.iter().filter_map(|(k, v)| Some(((*k).to_owned(), json!(v.as_ref()?)))).collect();
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {RUN_LABEL: mover.run}},
        "stringData": data,
    }))
    .map_err(|e| request.failed(format!("cannot build the credentials Secret: {e}")))?;
    Api::<Secret>::namespaced(client.clone(), &request.namespace)
        .create(&PostParams::default(), &secret)
        .await
        .map_err(kube_error(format!("create the Secret `{name}` on the {}", request.side)))?;
    Ok(Some(name))
}

/// The Job: one Pod, never restarted, root (to read every file and set owners), the claim at
/// `/data`, the result in the termination message.
fn job_manifest(mover: &Mover, request: &JobRequest, secret: Option<&str>) -> serde_json::Value {
    let mut command = vec![FERRY_BINARY.to_owned(), "volumes".into(), "mover".into()];
    command.extend(request.args.iter().cloned());
    command.extend(["--repository".into(), mover.via.argument(), "--path".into(), DATA_PATH.into(), "--result".into(), "/dev/termination-log".into()]);
    let mut volumes = vec![json!({"name": "data", "persistentVolumeClaim": {"claimName": request.claim, "readOnly": request.read_only}})];
    let mut mounts = vec![json!({"name": "data", "mountPath": DATA_PATH, "readOnly": request.read_only})];
    if let Via::Dir(dir) = &mover.via {
        volumes.push(json!({"name": "repository", "hostPath": {"path": dir, "type": "DirectoryOrCreate"}}));
        mounts.push(json!({"name": "repository", "mountPath": REPOSITORY_PATH}));
    }
    let env_from: Vec<serde_json::Value> = secret.iter().map(|name| json!({"secretRef": {"name": name}})).collect();
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
                    "hostNetwork": mover.host_network,
                    "nodeName": request.node,
                    "securityContext": {"runAsUser": 0, "runAsGroup": 0},
                    "volumes": volumes,
                    "containers": [{
                        "name": "mover",
                        "image": mover.image,
                        "imagePullPolicy": "IfNotPresent",
                        "command": command,
                        "envFrom": env_from,
                        "volumeMounts": mounts,
                        "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File",
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

/// The outcome of a Pod that ended or cannot start; `None` while it runs.
fn outcome(request: &JobRequest, pod: &Pod) -> Option<Result<MoverReport, Error>> {
    let status = pod.status.as_ref()?.container_statuses.as_ref()?.first()?;
    let state = status.state.as_ref()?;
    if let Some(waiting) = &state.waiting
        && let Some(reason) = waiting.reason.as_deref().filter(|r| STUCK.contains(r))
    {
        let detail = waiting.message.clone().unwrap_or_default();
        return Some(Err(request.failed(format!("its Pod cannot start: {reason} {detail}"))));
    }
    let ended = state.terminated.as_ref()?;
    let report: Option<MoverReport> = ended.message.as_deref().and_then(|m| serde_json::from_str(m).ok());
    Some(match (ended.exit_code, report) {
        (0, Some(report)) if report.error.is_none() => Ok(report),
        (0, _) => Err(request.failed("it exited 0 but left no result; its outcome is unknown")),
        (code, Some(MoverReport { error: Some(error), .. })) => Err(request.failed(format!("exit code {code}: {error}"))),
        (code, _) => Err(request.failed(format!("exit code {code} ({}) without a result", ended.reason.as_deref().unwrap_or("no reason given")))),
    })
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
    fn a_pod_that_cannot_start_fails_at_once_and_a_running_one_is_waited_for() {
        let stuck = outcome(&request(), &pod(json!({"waiting": {"reason": "ErrImageNeverPull", "message": "image not present"}})));
        let text = stuck.and_then(Result::err).map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("cannot start: ErrImageNeverPull image not present"), "{text}");
        assert!(outcome(&request(), &pod(json!({"waiting": {"reason": "ContainerCreating"}}))).is_none());
        assert!(outcome(&request(), &pod(json!({"running": {}}))).is_none());
    }
}
