//! Runtime readiness of objects on the target: workloads' replicas ready and
//! updated, Jobs completed, Services with ready endpoints, claims bound,
//! Ingresses admitted.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Whether an object runs on the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// It does what it should.
    Ready,
    /// It does not (yet).
    NotReady,
    /// The cluster does not say (an Ingress without a status: no controller reports on it).
    Unknown,
}

/// The readiness of one object, with what shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Readiness {
    /// Ready or not.
    pub state: State,
    /// What the object's status says, e.g. `1/1 replicas ready, 1/1 updated`.
    pub detail: String,
}

impl Readiness {
    fn new(ready: bool, detail: String) -> Readiness {
        Readiness { state: if ready { State::Ready } else { State::NotReady }, detail }
    }
}

/// The readiness of `object` as its target holds it, for the kinds that run
/// (Deployment, StatefulSet, DaemonSet, Job, Service, PersistentVolumeClaim,
/// Ingress); `None` for other kinds and Services that select no Pods. A
/// Service's `endpoints` are its ready endpoints (see [`ready_endpoints`]).
pub fn readiness(object: &Value, endpoints: usize) -> Option<Readiness> {
    let kind = object.get("kind").and_then(Value::as_str)?;
    match kind {
        "Deployment" | "StatefulSet" => Some(replicas(object)),
        "DaemonSet" => Some(daemon_set(object)),
        "Job" => Some(job(object)),
        "Service" => endpoint_selector(object).map(|_| Readiness::new(endpoints > 0, format!("{endpoints} ready endpoints"))),
        "PersistentVolumeClaim" => {
            let phase = text(object, "/status/phase").unwrap_or("no phase");
            Some(Readiness::new(phase == "Bound", format!("claim {phase}")))
        }
        "Ingress" => Some(ingress(object)),
        _ => None,
    }
}

/// The label selector of the EndpointSlices of a Service that selects Pods
/// (`kubernetes.io/service-name=NAME`); `None` for Services without a selector
/// and ExternalName Services, which have no endpoints to wait for.
pub fn endpoint_selector(service: &Value) -> Option<String> {
    let selects = service.pointer("/spec/selector").and_then(Value::as_object).is_some_and(|s| !s.is_empty());
    let external = text(service, "/spec/type") == Some("ExternalName");
    let name = text(service, "/metadata/name")?;
    (selects && !external).then(|| format!("kubernetes.io/service-name={name}"))
}

/// Ready endpoints in a Service's EndpointSlices (an endpoint without a `ready`
/// condition counts as ready, as the API says), else in its Endpoints object
/// (whose `addresses` are the ready ones).
pub fn ready_endpoints(slices: &[Value], endpoints: Option<&Value>) -> usize {
    let in_slices: usize = slices
        .iter()
        .flat_map(|slice| slice.get("endpoints").and_then(Value::as_array).into_iter().flatten())
        .filter(|endpoint| endpoint.pointer("/conditions/ready").and_then(Value::as_bool) != Some(false))
        .count();
    if !slices.is_empty() {
        return in_slices;
    }
    endpoints
        .and_then(|e| e.get("subsets").and_then(Value::as_array))
        .into_iter()
        .flatten()
        .map(|subset| subset.get("addresses").and_then(Value::as_array).map_or(0, Vec::len))
        .sum()
}

fn text<'a>(object: &'a Value, pointer: &str) -> Option<&'a str> {
    object.pointer(pointer).and_then(Value::as_str)
}

fn count(object: &Value, pointer: &str) -> i64 {
    object.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

/// The controller has seen the latest spec (`observedGeneration` caught up).
fn observed(object: &Value) -> bool {
    count(object, "/status/observedGeneration") >= count(object, "/metadata/generation")
}

fn replicas(object: &Value) -> Readiness {
    let desired = object.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
    let (ready, updated) = (count(object, "/status/readyReplicas"), count(object, "/status/updatedReplicas"));
    let detail = format!("{ready}/{desired} replicas ready, {updated}/{desired} updated");
    Readiness::new(observed(object) && ready >= desired && updated >= desired, detail)
}

fn daemon_set(object: &Value) -> Readiness {
    let desired = count(object, "/status/desiredNumberScheduled");
    let (ready, updated) = (count(object, "/status/numberReady"), count(object, "/status/updatedNumberScheduled"));
    let detail = format!("{ready}/{desired} pods ready, {updated}/{desired} updated");
    Readiness::new(observed(object) && ready >= desired && updated >= desired, detail)
}

fn job(object: &Value) -> Readiness {
    let condition = |kind: &str| {
        object
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|c| text(c, "/type") == Some(kind) && text(c, "/status") == Some("True"))
    };
    let completions = object.pointer("/spec/completions").and_then(Value::as_i64).unwrap_or(1);
    let succeeded = count(object, "/status/succeeded");
    if condition("Failed") {
        return Readiness::new(false, format!("failed ({succeeded}/{completions} completions)"));
    }
    Readiness::new(condition("Complete"), format!("{succeeded}/{completions} completions"))
}

fn ingress(object: &Value) -> Readiness {
    let addresses = object.pointer("/status/loadBalancer/ingress").and_then(Value::as_array).map_or(0, Vec::len);
    if addresses == 0 {
        return Readiness { state: State::Unknown, detail: "no load-balancer status: no ingress controller has admitted it (yet)".into() };
    }
    Readiness::new(true, format!("admitted with {addresses} load-balancer addresses"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn workloads_are_ready_when_every_desired_replica_is_ready_and_updated() {
        let deployment = |status: Value| json!({"kind": "Deployment", "metadata": {"generation": 2}, "spec": {"replicas": 2}, "status": status});
        let ready = deployment(json!({"observedGeneration": 2, "readyReplicas": 2, "updatedReplicas": 2}));
        assert_eq!(readiness(&ready, 0), Some(Readiness { state: State::Ready, detail: "2/2 replicas ready, 2/2 updated".into() }));
        for status in [
            json!({"observedGeneration": 2, "readyReplicas": 1, "updatedReplicas": 2}),
            json!({"observedGeneration": 1, "readyReplicas": 2, "updatedReplicas": 2}),
            json!({}),
        ] {
            assert_eq!(readiness(&deployment(status), 0).unwrap().state, State::NotReady);
        }
        let daemons = json!({"kind": "DaemonSet", "status": {"desiredNumberScheduled": 3, "numberReady": 3, "updatedNumberScheduled": 2}});
        assert_eq!(readiness(&daemons, 0).unwrap().detail, "3/3 pods ready, 2/3 updated");
    }

    #[test]
    fn jobs_claims_and_ingresses() {
        let job = |conditions: Value| json!({"kind": "Job", "status": {"succeeded": 1, "conditions": conditions}});
        assert_eq!(readiness(&job(json!([{"type": "Complete", "status": "True"}])), 0).unwrap().state, State::Ready);
        assert_eq!(readiness(&job(json!([{"type": "Failed", "status": "True"}])), 0).unwrap().detail, "failed (1/1 completions)");
        let claim = json!({"kind": "PersistentVolumeClaim", "status": {"phase": "Pending"}});
        assert_eq!(readiness(&claim, 0), Some(Readiness { state: State::NotReady, detail: "claim Pending".into() }));
        assert_eq!(readiness(&json!({"kind": "Ingress"}), 0).unwrap().state, State::Unknown);
        assert_eq!(readiness(&json!({"kind": "Ingress", "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.1"}]}}}), 0).unwrap().state, State::Ready);
        assert_eq!(readiness(&json!({"kind": "ConfigMap"}), 0), None);
    }

    #[test]
    fn services_count_ready_endpoints_from_slices_else_endpoints() {
        let service = json!({"kind": "Service", "metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}}});
        assert_eq!(endpoint_selector(&service).as_deref(), Some("kubernetes.io/service-name=web"));
        assert_eq!(readiness(&service, 0).unwrap().state, State::NotReady);
        assert_eq!(readiness(&service, 1).unwrap().state, State::Ready);
        let manual = json!({"kind": "Service", "metadata": {"name": "db"}, "spec": {"ports": [{"port": 5432}]}});
        assert_eq!((endpoint_selector(&manual), readiness(&manual, 0)), (None, None));
        let slice = json!({"endpoints": [{"conditions": {"ready": true}}, {"conditions": {"ready": false}}, {"conditions": {}}]});
        assert_eq!(ready_endpoints(&[slice], None), 2);
        let endpoints = json!({"subsets": [{"addresses": [{"ip": "10.0.0.1"}], "notReadyAddresses": [{"ip": "10.0.0.2"}]}]});
        assert_eq!(ready_endpoints(&[], Some(&endpoints)), 1);
        assert_eq!(ready_endpoints(&[json!({"endpoints": null})], Some(&endpoints)), 0, "slices, when there are any, are what counts");
    }
}
