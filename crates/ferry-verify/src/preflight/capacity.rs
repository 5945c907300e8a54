//! Whether the target's nodes can run the workloads: each Pod's CPU and memory requests
//! against the allocatable resources of the nodes it may run on (node selector, required node
//! affinity, taints it does not tolerate, cordoned nodes), and all requests together against
//! all nodes together. What already runs on the nodes is not known here, so the sum is a warning.

use ferry_model::ObjectId;
use ferry_model::quantity::value_of;
use serde_json::Value;

use super::{Issue, Severity, text};

/// The resources compared.
const RESOURCES: [&str; 2] = ["cpu", "memory"];

/// Capacity findings for the transformed `objects` on a target with `nodes`.
pub(super) fn check(objects: &[(ObjectId, Value)], nodes: &[Value]) -> Vec<Issue> {
    let workloads: Vec<Workload> = objects.iter().filter_map(|(id, object)| Workload::of(id, object)).collect();
    if workloads.is_empty() {
        return Vec::new();
    }
    let nodes: Vec<Node> = nodes.iter().map(Node::of).filter(|n| !n.cordoned).collect();
    if nodes.is_empty() {
        let message = "the target has no schedulable node (autoscaled from zero?): CPU, memory and node selectors not checked".to_owned();
        return vec![Issue { severity: Severity::Info, code: "no-nodes", object: None, message }];
    }
    let mut issues = Vec::new();
    let mut placed = Vec::new();
    for workload in &workloads {
        match workload.placement(&nodes) {
            Some(issue) => issues.push(issue),
            None => placed.push(workload),
        }
    }
    issues.extend(total(&placed, &nodes));
    issues
}

/// A Pod template and how many Pods it makes.
struct Workload<'a> {
    id: &'a ObjectId,
    pod: &'a Value,
    /// Pods at once; `None` for a DaemonSet (one per node it may run on).
    replicas: Option<f64>,
    /// One Pod's requests, in [`RESOURCES`] order (cores, bytes).
    requests: [f64; 2],
}

impl<'a> Workload<'a> {
    fn of(id: &'a ObjectId, object: &'a Value) -> Option<Workload<'a>> {
        let (pod, replicas) = match id.kind.as_str() {
            "Pod" => (object.pointer("/spec")?, Some(1.0)),
            "Deployment" | "ReplicaSet" | "StatefulSet" | "ReplicationController" => {
                (object.pointer("/spec/template/spec")?, Some(count(object, "/spec/replicas")))
            }
            "Job" => (object.pointer("/spec/template/spec")?, Some(count(object, "/spec/parallelism"))),
            "CronJob" => (object.pointer("/spec/jobTemplate/spec/template/spec")?, Some(count(object, "/spec/jobTemplate/spec/parallelism"))),
            "DaemonSet" => (object.pointer("/spec/template/spec")?, None),
            _ => return None,
        };
        Some(Workload { id, pod, replicas, requests: RESOURCES.map(|resource| pod_request(pod, resource)) })
    }

    /// A finding when no node can take one of its Pods.
    fn placement(&self, nodes: &[Node]) -> Option<Issue> {
        let selected: Vec<&Node> = nodes.iter().filter(|n| n.selected_by(self.pod)).collect();
        let issue = |message: String| Some(Issue { severity: Severity::Fail, code: "unschedulable", object: Some(self.id.clone()), message });
        if selected.is_empty() {
            return issue("no node of the target has the labels its nodeSelector and required node affinity ask for".into());
        }
        let tolerated: Vec<&Node> = selected.into_iter().filter(|n| n.tolerated_by(self.pod)).collect();
        if tolerated.is_empty() {
            return issue("every node its selectors allow has a taint it does not tolerate".into());
        }
        if tolerated.iter().any(|n| fits(&self.requests, &n.allocatable)) {
            return None;
        }
        let largest = tolerated.iter().map(|n| n.allocatable).fold([0.0_f64, 0.0_f64], |a, b| [a[0].max(b[0]), a[1].max(b[1])]);
        let message = format!("one Pod requests {}; no node it may run on has that much allocatable (at most {})", amounts(&self.requests), amounts(&largest));
        Some(Issue { severity: Severity::Fail, code: "requests-exceed-nodes", object: Some(self.id.clone()), message })
    }

    /// Its Pods' requests together.
    fn total(&self, nodes: &[Node]) -> [f64; 2] {
        let pods = self.replicas.unwrap_or_else(|| nodes.iter().filter(|n| n.selected_by(self.pod) && n.tolerated_by(self.pod)).count() as f64);
        self.requests.map(|r| r * pods)
    }
}

/// A warning when the workloads that each fit somewhere request more together than all nodes have.
fn total(workloads: &[&Workload], nodes: &[Node]) -> Option<Issue> {
    let sum = |values: Vec<[f64; 2]>| values.into_iter().fold([0.0, 0.0], |a, b| [a[0] + b[0], a[1] + b[1]]);
    let requested = sum(workloads.iter().map(|w| w.total(nodes)).collect());
    let allocatable = sum(nodes.iter().map(|n| n.allocatable).collect());
    (!fits(&requested, &allocatable)).then(|| Issue {
        severity: Severity::Warn,
        code: "total-requests",
        object: None,
        message: format!(
            "the workloads request {} in all; the target's nodes have {} allocatable, before what already runs there: add nodes or check autoscaling",
            amounts(&requested),
            amounts(&allocatable)
        ),
    })
}

fn fits(requests: &[f64; 2], allocatable: &[f64; 2]) -> bool {
    requests.iter().zip(allocatable).all(|(r, a)| r <= a)
}

/// `0.5 CPU, 256 MiB`.
fn amounts(values: &[f64; 2]) -> String {
    format!("{} CPU, {:.0} MiB", (values[0] * 1000.0).round() / 1000.0, values[1] / 1048576.0)
}

/// A count field, 1 when absent (as the API defaults replicas and parallelism).
fn count(object: &Value, pointer: &str) -> f64 {
    object.pointer(pointer).and_then(Value::as_f64).unwrap_or(1.0)
}

/// What the scheduler reserves for one Pod: its containers together, or its largest init
/// container if that is more; a container's request defaults to its limit.
fn pod_request(pod: &Value, resource: &str) -> f64 {
    let of = |list: &str| pod.get(list).and_then(Value::as_array).into_iter().flatten().map(|c| container_request(c, resource));
    let running: f64 = of("containers").sum();
    of("initContainers").fold(running, f64::max)
}

fn container_request(container: &Value, resource: &str) -> f64 {
    let amount = |kind: &str| container.pointer(&format!("/resources/{kind}/{resource}")).and_then(Value::as_str).and_then(value_of);
    amount("requests").or_else(|| amount("limits")).unwrap_or(0.0)
}

/// What the checks need of a node.
struct Node<'a> {
    node: &'a Value,
    allocatable: [f64; 2],
    cordoned: bool,
}

impl<'a> Node<'a> {
    fn of(node: &'a Value) -> Node<'a> {
        let allocatable = RESOURCES.map(|r| node.pointer(&format!("/status/allocatable/{r}")).and_then(Value::as_str).and_then(value_of).unwrap_or(0.0));
        Node { node, allocatable, cordoned: node.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) }
    }

    fn label(&self, key: &str) -> Option<&str> {
        self.node.pointer("/metadata/labels").and_then(|l| l.get(key)).and_then(Value::as_str)
    }

    /// Whether the Pod's nodeSelector and required node affinity allow this node.
    fn selected_by(&self, pod: &Value) -> bool {
        let selector = pod.get("nodeSelector").and_then(Value::as_object).into_iter().flatten();
        let labels_match = selector.into_iter().all(|(key, value)| self.label(key) == value.as_str());
        let terms = pod.pointer("/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms").and_then(Value::as_array);
        labels_match && terms.is_none_or(|terms| terms.iter().any(|term| self.matches_term(term)))
    }

    /// A node selector term: all its expressions hold.
    fn matches_term(&self, term: &Value) -> bool {
        let expressions = |field: &str| term.get(field).and_then(Value::as_array).into_iter().flatten();
        let name = text(self.node, "/metadata/name");
        expressions("matchExpressions").all(|e| matches_expression(e, |key| self.label(key)))
            && expressions("matchFields").all(|e| matches_expression(e, |key| name.filter(|_| key == "metadata.name")))
    }

    /// Whether the Pod tolerates every NoSchedule and NoExecute taint of this node.
    fn tolerated_by(&self, pod: &Value) -> bool {
        let tolerations: Vec<&Value> = pod.get("tolerations").and_then(Value::as_array).into_iter().flatten().collect();
        let taints = self.node.pointer("/spec/taints").and_then(Value::as_array).into_iter().flatten();
        taints.filter(|t| text(t, "/effect") != Some("PreferNoSchedule")).all(|taint| tolerations.iter().any(|t| tolerates(t, taint)))
    }
}

/// One `matchExpressions` entry against a lookup of the node's values.
fn matches_expression<'v>(expression: &Value, value_of_key: impl Fn(&str) -> Option<&'v str>) -> bool {
    let Some(key) = text(expression, "/key") else { return false };
    let values: Vec<&str> = expression.get("values").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
    let value = value_of_key(key);
    let number = |v: Option<&str>| v.and_then(|v| v.parse::<i64>().ok());
    match text(expression, "/operator") {
        Some("In") => value.is_some_and(|v| values.contains(&v)),
        Some("NotIn") => value.is_none_or(|v| !values.contains(&v)),
        Some("Exists") => value.is_some(),
        Some("DoesNotExist") => value.is_none(),
        Some("Gt") => number(value).zip(number(values.first().copied())).is_some_and(|(v, limit)| v > limit),
        Some("Lt") => number(value).zip(number(values.first().copied())).is_some_and(|(v, limit)| v < limit),
        _ => false,
    }
}

/// Whether a toleration matches a taint, as the scheduler decides it.
fn tolerates(toleration: &Value, taint: &Value) -> bool {
    let effect_matches = text(toleration, "/effect").is_none_or(|e| e.is_empty() || Some(e) == text(taint, "/effect"));
    let key = text(toleration, "/key").unwrap_or("");
    match text(toleration, "/operator").unwrap_or("Equal") {
        "Exists" => effect_matches && (key.is_empty() || Some(key) == text(taint, "/key")),
        _ => effect_matches && Some(key) == text(taint, "/key") && text(toleration, "/value").unwrap_or("") == text(taint, "/value").unwrap_or(""),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn node(name: &str, cpu: &str, memory: &str, labels: Value, taints: Value) -> Value {
        json!({"metadata": {"name": name, "labels": labels}, "spec": {"taints": taints}, "status": {"allocatable": {"cpu": cpu, "memory": memory}}})
    }

    fn deployment(name: &str, replicas: u32, pod: Value) -> (ObjectId, Value) {
        let object = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "a"},
                            "spec": {"replicas": replicas, "template": {"spec": pod}}});
        (ObjectId::from_json(&object).unwrap(), object)
    }

    fn requesting(cpu: &str, memory: &str) -> Value {
        json!({"containers": [{"name": "c", "resources": {"requests": {"cpu": cpu, "memory": memory}}}]})
    }

    fn findings(issues: &[Issue]) -> Vec<(Severity, &str, String)> {
        issues.iter().map(|i| (i.severity, i.code, i.object.as_ref().map_or(String::new(), |o| o.name.clone()))).collect()
    }

    #[test]
    fn a_pod_must_fit_a_node_it_may_run_on() {
        let nodes = [
            node("small", "2", "4Gi", json!({"pool": "general"}), json!([])),
            node("gpu", "16", "64Gi", json!({"pool": "gpu"}), json!([{"key": "gpu", "value": "true", "effect": "NoSchedule"}])),
        ];
        let tolerating_gpu = json!([{"key": "gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}]);
        let objects = [
            deployment("fits", 2, requesting("500m", "1Gi")),
            deployment("too-big", 1, requesting("4", "1Gi")),
            deployment(
                "big-on-gpu",
                1,
                json!({"containers": [{"name": "c", "resources": {"limits": {"cpu": "8", "memory": "8Gi"}}}], "tolerations": tolerating_gpu}),
            ),
            deployment("nowhere", 1, json!({"containers": [], "nodeSelector": {"pool": "arm"}})),
            deployment("taint-only", 1, json!({"containers": [], "nodeSelector": {"pool": "gpu"}})),
            deployment(
                "affinity",
                1,
                json!({"containers": [], "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["gpu", "general"]}]}]}}}}),
            ),
            deployment(
                "init-heavy",
                1,
                json!({"containers": [{"name": "c"}], "initContainers": [{"name": "i", "resources": {"requests": {"memory": "5Gi"}}}]}),
            ),
        ];
        let issues = check(&objects, &nodes);
        assert_eq!(
            findings(&issues),
            [
                (Severity::Fail, "requests-exceed-nodes", "too-big".into()),
                (Severity::Fail, "unschedulable", "nowhere".into()),
                (Severity::Fail, "unschedulable", "taint-only".into()),
                (Severity::Fail, "requests-exceed-nodes", "init-heavy".into()),
            ]
        );
        assert_eq!(issues[0].message, "one Pod requests 4 CPU, 1024 MiB; no node it may run on has that much allocatable (at most 2 CPU, 4096 MiB)");
    }

    #[test]
    fn all_requests_together_are_a_warning_and_no_nodes_is_information() {
        let nodes = [node("a", "2", "4Gi", json!({}), json!([])), node("b", "2", "4Gi", json!({}), json!([]))];
        let issues = check(&[deployment("many", 10, requesting("500m", "256Mi"))], &nodes);
        assert_eq!(findings(&issues), [(Severity::Warn, "total-requests", String::new())]);
        assert!(issues[0].message.contains("request 5 CPU, 2560 MiB in all; the target's nodes have 4 CPU, 8192 MiB"), "{}", issues[0].message);
        let cordoned = [json!({"metadata": {"name": "a"}, "spec": {"unschedulable": true}})];
        assert_eq!(findings(&check(&[deployment("one", 1, requesting("1", "1Gi"))], &cordoned)), [(Severity::Info, "no-nodes", String::new())]);
        assert!(check(&[], &[]).is_empty(), "nothing to run, nothing to say");
    }
}
