//! HorizontalPodAutoscaler from `autoscaling/v2beta1` to `v2`: each metric's
//! `targetAverageUtilization` / `targetAverageValue` / `targetValue` become a
//! `target` with a `type`, and `metricName` / `selector` / `metricSelector` a
//! `metric` identifier; an Object metric's `target` reference becomes
//! `describedObject`. The target type is chosen as Kubernetes' own v2beta1
//! conversion chooses it (k8s.io/kubernetes pkg/apis/autoscaling/v2beta1/conversion.go).

use serde_json::{Map, Value};

/// v2beta1 target fields and their name in a v2 `MetricTarget`.
const TARGET_FIELDS: [(&str, &str); 4] =
    [("targetAverageUtilization", "averageUtilization"), ("targetAverageValue", "averageValue"), ("averageValue", "averageValue"), ("targetValue", "value")];

pub(super) fn convert(object: &mut Value) {
    let metrics = object.pointer_mut("/spec/metrics").and_then(Value::as_array_mut).into_iter().flatten();
    for metric in metrics.filter_map(Value::as_object_mut) {
        convert_metric(metric);
    }
}

fn convert_metric(metric: &mut Map<String, Value>) {
    let source_field = match metric.get("type").and_then(Value::as_str) {
        Some("Resource") => "resource",
        Some("ContainerResource") => "containerResource",
        Some("Pods") => "pods",
        Some("Object") => "object",
        Some("External") => "external",
        _ => return,
    };
    let Some(source) = metric.get_mut(source_field).and_then(Value::as_object_mut) else { return };
    if source.contains_key("describedObject") || source.get("target").and_then(|t| t.get("type")).is_some() {
        return; // already in the v2 shape
    }
    let target_type = target_type(source_field, source);
    let mut target = Map::from_iter([("type".to_owned(), Value::String(target_type.to_owned()))]);
    for (old, new) in TARGET_FIELDS {
        if let Some(value) = source.shift_remove(old) {
            target.insert(new.to_owned(), value);
        }
    }
    if source_field == "object"
        && let Some(reference) = source.shift_remove("target")
    {
        source.insert("describedObject".into(), reference);
    }
    metric_identifier(source);
    source.insert("target".into(), Value::Object(target));
}

/// The `MetricTarget` type Kubernetes picks for a v2beta1 metric source.
fn target_type(source_field: &str, source: &Map<String, Value>) -> &'static str {
    match source_field {
        "resource" | "containerResource" if source.contains_key("targetAverageUtilization") => "Utilization",
        "object" if !source.contains_key("averageValue") => "Value",
        "external" if source.contains_key("targetValue") => "Value",
        _ => "AverageValue",
    }
}

/// `metricName` + `selector` (or External's `metricSelector`) → `metric: {name, selector}`.
fn metric_identifier(source: &mut Map<String, Value>) {
    let name = source.shift_remove("metricName");
    let selector = source.shift_remove("metricSelector").or_else(|| source.shift_remove("selector"));
    if name.is_none() && selector.is_none() {
        return;
    }
    let mut metric = Map::new();
    if let Some(name) = name {
        metric.insert("name".into(), name);
    }
    if let Some(selector) = selector {
        metric.insert("selector".into(), selector);
    }
    source.insert("metric".into(), Value::Object(metric));
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_metric_kind() {
        let mut hpa = json!({"spec": {"metrics": [
            {"type": "Resource", "resource": {"name": "cpu", "targetAverageUtilization": 50}},
            {"type": "Resource", "resource": {"name": "memory", "targetAverageValue": "500Mi"}},
            {"type": "Pods", "pods": {"metricName": "rps", "targetAverageValue": "10", "selector": {"matchLabels": {"a": "b"}}}},
            {"type": "Object", "object": {"target": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": "main"}, "metricName": "hits", "targetValue": "2k"}},
            {"type": "External", "external": {"metricName": "queue", "metricSelector": {"matchLabels": {"q": "orders"}}, "targetAverageValue": "30"}},
            {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]}});
        convert(&mut hpa);
        assert_eq!(
            hpa["spec"]["metrics"],
            json!([
                {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}},
                {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "500Mi"}}},
                {"type": "Pods", "pods": {"metric": {"name": "rps", "selector": {"matchLabels": {"a": "b"}}}, "target": {"type": "AverageValue", "averageValue": "10"}}},
                {"type": "Object", "object": {"describedObject": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": "main"},
                    "metric": {"name": "hits"}, "target": {"type": "Value", "value": "2k"}}},
                {"type": "External", "external": {"metric": {"name": "queue", "selector": {"matchLabels": {"q": "orders"}}},
                    "target": {"type": "AverageValue", "averageValue": "30"}}},
                {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}
            ])
        );
    }
}
