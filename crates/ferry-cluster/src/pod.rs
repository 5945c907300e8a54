//! A short-lived Pod run to its end: created, watched until its container ends, cannot start, is
//! deleted by someone else or a deadline passes; its exit code and log read; and deleted in
//! every case (with no grace period: nothing in it needs a clean stop).

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, LogParams, PostParams};

/// Waiting reasons that mean a Pod's container will never start.
pub const CANNOT_START: [&str; 5] = ["ErrImageNeverPull", "ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError", "InvalidImageName"];

/// How a Pod's only container ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    /// Its exit code.
    pub exit_code: i32,
    /// Its log (standard output and error).
    pub log: String,
}

/// Creates `pod` (a Pod manifest naming its namespace, and its name or a `generateName`), waits
/// up to `timeout` for its first container to end and returns how it ended; the Pod is deleted
/// whatever happens. Errors are sentences for people.
pub async fn run_to_end(client: &kube::Client, pod: serde_json::Value, timeout: Duration) -> Result<Ended, String> {
    let pod: Pod = serde_json::from_value(pod).map_err(|e| format!("cannot build the Pod: {e}"))?;
    let namespace = pod.metadata.namespace.clone().unwrap_or_else(|| "default".to_owned());
    let pods = Api::<Pod>::namespaced(client.clone(), &namespace);
    let created = pods.create(&PostParams::default(), &pod).await.map_err(|e| format!("cannot create a Pod in `{namespace}`: {e}"))?;
    let name = created.metadata.name.unwrap_or_default();
    let ended = wait(&pods, &name, timeout).await;
    let _ = pods.delete(&name, &DeleteParams { grace_period_seconds: Some(0), ..DeleteParams::default() }).await;
    ended
}

async fn wait(pods: &Api<Pod>, name: &str, timeout: Duration) -> Result<Ended, String> {
    let deadline = Instant::now() + timeout;
    loop {
        let pod = pods.get_opt(name).await.map_err(|e| format!("cannot read the Pod `{name}`: {e}"))?;
        let Some(pod) = pod else { return Err(format!("the Pod `{name}` was deleted before it ended")) };
        if let Some(exit_code) = state(&pod)? {
            let log = pods.logs(name, &LogParams::default()).await.map_err(|e| format!("cannot read the log of the Pod `{name}`: {e}"))?;
            return Ok(Ended { exit_code, log });
        }
        if Instant::now() > deadline {
            return Err(format!("the Pod `{name}` did not end within {timeout:?}"));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The exit code of a Pod whose container ended, `None` while it has not, or why it never will.
fn state(pod: &Pod) -> Result<Option<i32>, String> {
    let status = pod.status.as_ref().and_then(|s| s.container_statuses.as_ref()).and_then(|c| c.first());
    let Some(state) = status.and_then(|s| s.state.as_ref()) else { return Ok(None) };
    if let Some(ended) = &state.terminated {
        return Ok(Some(ended.exit_code));
    }
    match state.waiting.as_ref().filter(|w| w.reason.as_deref().is_some_and(|r| CANNOT_START.contains(&r))) {
        Some(waiting) => Err(format!("its container cannot start: {} {}", waiting.reason.as_deref().unwrap_or(""), waiting.message.as_deref().unwrap_or(""))),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(state: serde_json::Value) -> Pod {
        serde_json::from_value(serde_json::json!({"metadata": {"name": "p"}, "status": {"containerStatuses": [{"name": "c", "image": "i", "imageID": "", "ready": false, "restartCount": 0, "state": state}]}})).unwrap()
    }

    #[test]
    fn an_ended_container_gives_its_code_and_one_that_cannot_start_an_error() {
        assert_eq!(state(&pod(serde_json::json!({"terminated": {"exitCode": 3}}))), Ok(Some(3)));
        assert_eq!(state(&pod(serde_json::json!({"running": {}}))), Ok(None));
        assert_eq!(state(&pod(serde_json::json!({"waiting": {"reason": "ContainerCreating"}}))), Ok(None));
        let stuck = state(&pod(serde_json::json!({"waiting": {"reason": "ErrImagePull", "message": "not found"}})));
        assert_eq!(stuck, Err("its container cannot start: ErrImagePull not found".to_owned()));
    }
}
