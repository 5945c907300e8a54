//! Ingress from `extensions/v1beta1` and `networking.k8s.io/v1beta1` to
//! `networking.k8s.io/v1`: `backend` → `defaultBackend`, `serviceName` /
//! `servicePort` → `service.name` / `service.port.number|name`, and the now
//! required `pathType` set to `ImplementationSpecific`, the v1beta1 behaviour.

use serde_json::{Map, Value, json};

use crate::note::Note;

const CLASS_ANNOTATION: &str = "kubernetes.io/ingress.class";

pub(super) fn convert(object: &mut Value, notes: &mut Vec<Note>) {
    note_class_annotation(object, notes);
    let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) else { return };
    if let Some(backend) = spec.shift_remove("backend") {
        spec.insert("defaultBackend".into(), convert_backend(backend));
    }
    let mut defaulted = 0;
    let rules = spec.get_mut("rules").and_then(Value::as_array_mut).into_iter().flatten();
    let paths = rules.filter_map(|rule| rule.pointer_mut("/http/paths")).filter_map(Value::as_array_mut).flatten();
    for path in paths.filter_map(Value::as_object_mut) {
        if !path.contains_key("pathType") {
            path.insert("pathType".into(), json!("ImplementationSpecific"));
            defaulted += 1;
        }
        if let Some(backend) = path.shift_remove("backend") {
            path.insert("backend".into(), convert_backend(backend));
        }
    }
    if defaulted > 0 {
        let message = format!("set `pathType: ImplementationSpecific` on {defaulted} path(s): v1 requires it, and this is how v1beta1 matched paths");
        notes.push(Note::info("default-kept", message).at("/spec/rules"));
    }
}

/// `{serviceName, servicePort}` → `{service: {name, port: {number|name}}}`; resource backends stay.
fn convert_backend(backend: Value) -> Value {
    let Value::Object(mut backend) = backend else { return backend };
    let name = backend.shift_remove("serviceName");
    let port = backend.shift_remove("servicePort");
    if name.is_none() && port.is_none() {
        return Value::Object(backend);
    }
    let mut service = Map::new();
    if let Some(name) = name {
        service.insert("name".into(), name);
    }
    if let Some(port) = port {
        let port = if port.is_number() { json!({ "number": port }) } else { json!({ "name": port }) };
        service.insert("port".into(), port);
    }
    backend.insert("service".into(), Value::Object(service));
    Value::Object(backend)
}

fn note_class_annotation(object: &Value, notes: &mut Vec<Note>) {
    let annotated = object.pointer("/metadata/annotations").and_then(|a| a.get(CLASS_ANNOTATION)).and_then(Value::as_str);
    if let Some(class) = annotated
        && object.pointer("/spec/ingressClassName").is_none()
    {
        let message = format!(
            "the `{CLASS_ANNOTATION}: {class}` annotation is kept (v1 still honours it, as the API server's own conversion does); `spec.ingressClassName` is its successor"
        );
        notes.push(Note::info("converted", message).at("/metadata/annotations/kubernetes.io~1ingress.class"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_paths_and_default_backend() {
        let mut ingress = json!({"metadata": {"name": "shop", "annotations": {"kubernetes.io/ingress.class": "nginx"}},
            "spec": {"backend": {"serviceName": "default-http", "servicePort": 80},
                "tls": [{"hosts": ["shop.example.com"], "secretName": "shop-tls"}],
                "rules": [{"host": "shop.example.com", "http": {"paths": [
                    {"path": "/api", "backend": {"serviceName": "api", "servicePort": "http"}},
                    {"path": "/static", "pathType": "Prefix", "backend": {"resource": {"apiGroup": "k8s.example.com", "kind": "Bucket", "name": "static"}}}]}}]}});
        let mut notes = Vec::new();
        convert(&mut ingress, &mut notes);
        assert_eq!(
            ingress["spec"],
            json!({"defaultBackend": {"service": {"name": "default-http", "port": {"number": 80}}},
                "tls": [{"hosts": ["shop.example.com"], "secretName": "shop-tls"}],
                "rules": [{"host": "shop.example.com", "http": {"paths": [
                    {"path": "/api", "pathType": "ImplementationSpecific", "backend": {"service": {"name": "api", "port": {"name": "http"}}}},
                    {"path": "/static", "pathType": "Prefix", "backend": {"resource": {"apiGroup": "k8s.example.com", "kind": "Bucket", "name": "static"}}}]}}]})
        );
        assert_eq!(ingress["metadata"]["annotations"]["kubernetes.io/ingress.class"], "nginx");
        assert_eq!(notes.len(), 2, "{notes:?}");
    }

    #[test]
    fn malformed_specs_do_not_panic() {
        for mut junk in [json!({"spec": {"rules": "x"}}), json!({"spec": {"rules": [{"http": {"paths": [1, {"backend": 2}]}}]}}), json!({"spec": 3})] {
            convert(&mut junk, &mut Vec::new());
        }
    }
}
