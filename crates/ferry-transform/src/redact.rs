//! Masking values before they are shown. [`redact_secret`] masks every value of a Secret
//! (what `ferry verify` prints); [`redact_secret_looking`] also masks the values of a ConfigMap
//! under keys that look secret (`db.password`, `API_TOKEN`, …) and the literal `value` of a
//! container's env variable whose name looks secret (what `transform --diff` prints unless
//! `--show-secrets`). kubectl's last-applied annotation repeats the object, so it is masked
//! with them. A masked value is replaced by its length and a digest prefix: a diff shows that
//! it changed, never what it is.

use serde_json::Value;
use sha2::{Digest as _, Sha256};

/// Parts of a name (upper-cased, letters and digits only) that make its value look secret.
const SECRET_WORDS: [&str; 9] = ["PASSWORD", "PASSWD", "SECRET", "TOKEN", "KEY", "CREDENTIAL", "PRIVATE", "AUTH", "CONNECTIONSTRING"];

/// The annotation in which `kubectl apply` keeps the whole object as it sent it.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// A copy of `object` with every value of a (v1) Secret masked; other objects are copied as they are.
pub fn redact_secret(object: &Value) -> Value {
    redact(object, false)
}

/// A copy of `object` with what looks secret masked: Secrets, ConfigMap values under secret-looking
/// keys, literal env values with secret-looking names (see the module's documentation).
pub fn redact_secret_looking(object: &Value) -> Value {
    redact(object, true)
}

/// Masks every value of `object` itself if it is a (v1) Secret, as [`redact_secret`] does, without a copy.
pub fn mask_secret_in_place(object: &mut Value) {
    redact_in_place(object, false);
}

fn redact(object: &Value, secret_looking: bool) -> Value {
    let mut copy = object.clone();
    redact_in_place(&mut copy, secret_looking);
    copy
}

fn redact_in_place(object: &mut Value, secret_looking: bool) {
    let core = object.get("apiVersion").and_then(Value::as_str) == Some("v1");
    let masked_any = match object.get("kind").and_then(Value::as_str) {
        Some("Secret") if core => mask_entries(object, &["data", "stringData"], |_| true),
        Some("ConfigMap") if core && secret_looking => mask_entries(object, &["data", "binaryData"], looks_secret),
        _ if secret_looking => mask_env_values(object),
        _ => false,
    };
    if masked_any && let Some(annotations) = object.pointer_mut("/metadata/annotations").and_then(Value::as_object_mut) {
        annotations.get_mut(LAST_APPLIED).into_iter().for_each(mask);
    }
}

/// Whether a key or variable name looks like it names a secret.
fn looks_secret(name: &str) -> bool {
    let normal: String = name.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect();
    SECRET_WORDS.iter().any(|word| normal.contains(word))
}

/// Masks the values of the maps `fields` of `object` whose keys pass `select`; whether any was.
fn mask_entries(object: &mut Value, fields: &[&str], select: impl Fn(&str) -> bool) -> bool {
    let mut any = false;
    for field in fields {
        if let Some(map) = object.get_mut(*field).and_then(Value::as_object_mut) {
            for (_, value) in map.iter_mut().filter(|(key, _)| select(key)) {
                mask(value);
                any = true;
            }
        }
    }
    any
}

/// Masks the literal `value` of every `env` entry whose `name` looks secret, anywhere in the
/// object (pod templates nest at various depths), walking with a stack of its own; whether any was.
fn mask_env_values(object: &mut Value) -> bool {
    let mut any = false;
    let mut stack = vec![object];
    while let Some(value) = stack.pop() {
        match value {
            Value::Object(map) => {
                if let Some(Value::Array(env)) = map.get_mut("env") {
                    for variable in env.iter_mut().filter_map(Value::as_object_mut) {
                        if variable.get("name").and_then(Value::as_str).is_some_and(looks_secret)
                            && let Some(literal) = variable.get_mut("value").filter(|v| v.is_string())
                        {
                            mask(literal);
                            any = true;
                        }
                    }
                }
                stack.extend(map.iter_mut().filter(|(key, _)| *key != "env").map(|(_, v)| v));
            }
            Value::Array(items) => stack.extend(items.iter_mut()),
            _ => {}
        }
    }
    any
}

/// Replaces a value by its length and the first bytes of its sha256.
fn mask(value: &mut Value) {
    let text = value.as_str().unwrap_or_default();
    let digest = Sha256::digest(text.as_bytes());
    *value = Value::String(format!("<redacted: {} bytes, sha256 {:02x}{:02x}{:02x}{:02x}>", text.len(), digest[0], digest[1], digest[2], digest[3]));
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn secret_looking_config_map_keys_and_env_values_are_masked_and_the_rest_kept() {
        let config = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "annotations": {LAST_APPLIED: "{\"data\":{\"db.password\":\"hunter2\"}}"}},
            "data": {"db.password": "hunter2", "API_TOKEN": "t0k3n", "log-level": "debug"}});
        let text = redact_secret_looking(&config).to_string();
        assert!(!text.contains("hunter2") && !text.contains("t0k3n"), "{text}");
        assert!(text.contains("\"log-level\":\"debug\""), "{text}");

        let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"template": {"spec": {"containers": [{"name": "web", "env": [
                {"name": "DB_PASSWORD", "value": "s3cret"}, {"name": "aws_secret_access_key", "value": "AKIA"},
                {"name": "MODE", "value": "prod"}, {"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": "k", "key": "api"}}}]}]}}}});
        let text = redact_secret_looking(&deployment).to_string();
        assert!(!text.contains("s3cret") && !text.contains("AKIA"), "{text}");
        assert!(text.contains("\"value\":\"prod\"") && text.contains("\"key\":\"api\""), "{text}");

        let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"anything": "c2VjcmV0"}});
        assert!(!redact_secret_looking(&secret).to_string().contains("c2VjcmV0"));
    }

    #[test]
    fn secret_values_are_masked_and_other_objects_kept() {
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"password": "aHVudGVyMg=="}, "stringData": {"token": "t0ps3cret"}});
        let masked = redact_secret(&secret).to_string();
        assert!(!masked.contains("aHVudGVyMg==") && !masked.contains("t0ps3cret"), "{masked}");
        assert!(masked.contains("<redacted: 12 bytes, sha256 "), "{masked}");
        let config = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"password": "visible"}});
        assert_eq!(redact_secret(&config), config);
    }
}
