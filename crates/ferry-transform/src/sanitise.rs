//! Removing what belongs to the source cluster (`data/sanitise.yaml`), and
//! recognising objects that are not migrated at all (those Kubernetes made
//! itself, from ferry-analysis's `data/generated.yaml`, plus this crate's `drop`
//! rows). Per-kind knowledge lives in the table; this code stays generic.

use ferry_analysis::knowledge::GeneratedRules;
use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::note::Note;
use crate::object::{Identity, PathPattern, Step, pointer, remove_at, remove_key, string_pairs};
use crate::rules::matcher::KindPattern;

/// The annotation in which `kubectl apply` records what the client sent.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    strip: Vec<StripRow>,
    prune: Vec<PruneRow>,
    drop: Vec<DropRow>,
}

/// Fields removed from objects of some kinds.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StripRow {
    #[cfg_attr(not(test), expect(dead_code, reason = "names the row in the data file; uniqueness checked by the tests"))]
    id: String,
    kinds: Vec<KindPattern>,
    fields: Vec<PathPattern>,
    #[serde(default)]
    keep: Option<Keep>,
    reason: String,
    #[cfg_attr(not(test), expect(dead_code, reason = "required in every row so the table stays sourced; checked by the tests"))]
    source: String,
}

/// Items removed from a list: those naming something of the source cluster's own.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PruneRow {
    #[cfg_attr(not(test), expect(dead_code, reason = "names the row in the data file; uniqueness checked by the tests"))]
    id: String,
    kinds: Vec<KindPattern>,
    /// JSON pointer to the list.
    list: String,
    /// Items whose `name` starts with this go; `{name}` stands for the object's own name.
    name_prefix: String,
    #[cfg_attr(not(test), expect(dead_code, reason = "required in every row so the table stays sourced; checked by the tests"))]
    reason: String,
    #[cfg_attr(not(test), expect(dead_code, reason = "required in every row so the table stays sourced; checked by the tests"))]
    source: String,
}

impl PruneRow {
    /// Removes the matching items; a list left empty goes too.
    fn apply(&self, object: &mut Value, name: &str) {
        let prefix = self.name_prefix.replace("{name}", name);
        let Some(items) = object.pointer_mut(&self.list).and_then(Value::as_array_mut) else { return };
        items.retain(|item| !item.get("name").and_then(Value::as_str).is_some_and(|n| n.starts_with(&prefix)));
        if items.is_empty()
            && let Some((parent, key)) = self.list.rsplit_once('/')
        {
            remove_key(object, parent, key);
        }
    }
}

/// Objects that are not migrated.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DropRow {
    #[cfg_attr(not(test), expect(dead_code, reason = "names the row in the data file; uniqueness checked by the tests"))]
    id: String,
    kinds: Vec<KindPattern>,
    #[serde(default)]
    annotation: Option<String>,
    #[serde(default)]
    label: Option<String>,
    reason: String,
    #[cfg_attr(not(test), expect(dead_code, reason = "required in every row so the table stays sourced; checked by the tests"))]
    source: String,
}

/// When a matching field stays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Keep {
    Headless,
    UserSet,
    ManualSelector,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| serde_saphyr::from_str(include_str!("../data/sanitise.yaml")).expect("embedded data/sanitise.yaml is valid (checked by its tests)"))
}

/// Removes cluster-specific state from `object` (server-set metadata, `status`,
/// allocated cluster IPs and node ports, binding annotations, generated Job
/// selectors, ...), or says why the object should not be migrated at all:
/// `Some(reason)` for objects Kubernetes makes itself (controller-owned
/// objects, service-account token Secrets, the `default` ServiceAccount,
/// `kube-root-ca.crt`, controller-managed Endpoints and EndpointSlices,
/// Events, ...). Such an object is left untouched.
pub fn sanitise(object: &mut Value) -> Option<&'static str> {
    sanitise_noting(object, &mut Vec::new())
}

/// [`sanitise`], recording fields it kept on purpose.
pub(crate) fn sanitise_noting(object: &mut Value, notes: &mut Vec<Note>) -> Option<&'static str> {
    let id = Identity::of(object);
    if let Some(reason) = not_migrated(object, &id) {
        return Some(reason);
    }
    strip_identified(object, &id, notes);
    None
}

/// Whether the normal form of a `group` (`""` = core) `kind` object depends on its
/// `metadata.managedFields`: a strip row keeps the fields a client set, which the managed
/// fields record. Objects of other kinds can be read without them
/// ([`ferry_model::lean`]) and transform and compare the same.
pub fn reads_managed_fields(group: &str, kind: &str) -> bool {
    table().strip.iter().any(|row| row.keep == Some(Keep::UserSet) && row.kinds.iter().any(|k| k.matches(group, kind)))
}

/// Removes every field the strip rows name, except those a `keep` condition protects.
pub(crate) fn strip(object: &mut Value, notes: &mut Vec<Note>) {
    let id = Identity::of(object);
    strip_identified(object, &id, notes);
}

/// Whether a row listing `kinds` applies to the object.
fn applies(kinds: &[KindPattern], id: &Identity) -> bool {
    kinds.iter().any(|k| k.matches(&id.group, &id.kind))
}

fn strip_identified(object: &mut Value, id: &Identity, notes: &mut Vec<Note>) {
    let rows = || table().strip.iter().filter(|row| applies(&row.kinds, id));
    // Read before any row strips the records it comes from, and only for kinds that need it.
    let intent = rows().any(|row| row.keep == Some(Keep::UserSet)).then(|| Intent::of(object));
    let manual_selector = object.get("spec").and_then(|spec| spec.get("manualSelector")) == Some(&Value::Bool(true));
    for row in rows() {
        for pattern in &row.fields {
            for path in pattern.find(object) {
                let kept = match row.keep {
                    None => false,
                    Some(Keep::Headless) => is_headless(object, &path),
                    Some(Keep::ManualSelector) => manual_selector,
                    Some(Keep::UserSet) => intent.as_ref().is_some_and(|intent| intent.user_set(object, &path)),
                };
                if !kept {
                    remove_at(object, &path);
                } else if row.keep == Some(Keep::UserSet) && !matches!(intent, Some(Intent::Authored)) {
                    notes.push(
                        Note::info("kept-user-set", format!("kept: a client set it in the source cluster, so it is not {}", row.reason)).at(pointer(&path)),
                    );
                }
            }
        }
    }
    for row in table().prune.iter().filter(|row| applies(&row.kinds, id)) {
        row.apply(object, &id.name);
    }
}

fn is_headless(object: &Value, path: &[Step]) -> bool {
    let Some(value) = object.pointer(&pointer(path)) else { return false };
    value == "None" || value.as_array().is_some_and(|items| items.len() == 1 && items[0] == "None")
}

/// Why an object is not migrated, if it is not.
fn not_migrated(object: &Value, id: &Identity) -> Option<&'static str> {
    made_by_kubernetes(object).or_else(|| table().drop.iter().find(|row| row.matches(id, object)).map(|row| row.reason.as_str()))
}

impl DropRow {
    fn matches(&self, id: &Identity, object: &Value) -> bool {
        let annotations = object.get("metadata").and_then(|m| m.get("annotations"));
        applies(&self.kinds, id)
            && self.annotation.as_deref().is_none_or(|key| annotations.and_then(|a| a.get(key)).is_some())
            && self.label.as_deref().is_none_or(|label| label.split_once('=').is_some_and(|(key, value)| id.labels.iter().any(|(k, v)| k == key && v == value)))
    }
}

/// The generated-object rules of ferry-analysis, applied to the object's outline (the only
/// thing those rules look at), with its identity read as the loader and the export read it.
fn made_by_kubernetes(object: &Value) -> Option<&'static str> {
    let outline = ferry_model::raw::outline(object).ok()?;
    let rule = GeneratedRules::builtin().classify(&ferry_model::load::object_id(&outline), &outline)?.rule;
    generated_reasons().get(&rule).map(String::as_str)
}

/// Each generated rule's reason without its `{owner}` placeholder (the owner is
/// named in the note `transform` writes).
fn generated_reasons() -> &'static HashMap<String, String> {
    static REASONS: OnceLock<HashMap<String, String>> = OnceLock::new();
    REASONS.get_or_init(|| {
        GeneratedRules::builtin().rules().iter().map(|rule| (rule.id.clone(), rule.reason.replace(" ({owner})", "").replace("{owner}", "its owner"))).collect()
    })
}

/// The controlling owner named in `metadata.ownerReferences`, as `Kind name`.
pub(crate) fn controlling_owner(object: &Value) -> Option<String> {
    let owners = object.pointer("/metadata/ownerReferences")?.as_array()?;
    let owner = owners.iter().find(|o| o.get("controller") == Some(&Value::Bool(true)))?;
    let text = |field: &str| owner.get(field).and_then(Value::as_str).unwrap_or("?");
    Some(format!("{} {}", text("kind"), text("name")))
}

/// What a client asked for, as far as the object records it.
#[derive(Debug)]
enum Intent {
    /// Never stored by a server (a manifest): every field is the author's.
    Authored,
    /// Read from a server: the last-applied configuration and the managed fields.
    Recorded { applied: Option<Value>, managed: Vec<Value> },
}

impl Intent {
    fn of(object: &Value) -> Intent {
        let metadata = object.get("metadata");
        let stored = ["uid", "resourceVersion", "managedFields", "creationTimestamp"].iter().any(|k| metadata.and_then(|m| m.get(k)).is_some());
        if !stored {
            return Intent::Authored;
        }
        let annotations = string_pairs(metadata.and_then(|m| m.get("annotations")));
        let applied = annotations.iter().find(|(k, _)| k == LAST_APPLIED).and_then(|(_, v)| serde_json::from_str(v).ok());
        let managed = metadata
            .and_then(|m| m.get("managedFields"))
            .and_then(Value::as_array)
            .map(|entries| entries.iter().filter_map(|e| e.get("fieldsV1").cloned()).collect())
            .unwrap_or_default();
        Intent::Recorded { applied, managed }
    }

    /// Whether a client set the field at `path` of `object`.
    fn user_set(&self, object: &Value, path: &[Step]) -> bool {
        match self {
            Intent::Authored => true,
            Intent::Recorded { applied, managed } => {
                applied.as_ref().is_some_and(|a| applied_has(a, object, path)) || managed.iter().any(|fields| owns(fields, object, path))
            }
        }
    }
}

/// Whether the applied configuration has the live value at `path`. List items are
/// paired by agreeing on every scalar the applied item has (the field itself aside),
/// since the server adds defaults such as `protocol` to the live item.
fn applied_has(applied: &Value, live: &Value, path: &[Step]) -> bool {
    match path.split_first() {
        None => applied == live,
        Some((Step::Key(key), rest)) => match (applied.get(key), live.get(key)) {
            (Some(a), Some(l)) => applied_has(a, l, rest),
            _ => false,
        },
        Some((Step::Index(i), rest)) => {
            let Some(item) = live.get(i) else { return false };
            let field = match rest {
                [Step::Key(field)] => Some(field.as_str()),
                _ => None,
            };
            applied.as_array().into_iter().flatten().any(|candidate| agrees(candidate, item, field) && applied_has(candidate, item, rest))
        }
    }
}

fn agrees(candidate: &Value, item: &Value, except: Option<&str>) -> bool {
    match candidate.as_object() {
        Some(fields) => fields.iter().filter(|(k, v)| Some(k.as_str()) != except && !(v.is_object() || v.is_array())).all(|(k, v)| item.get(k) == Some(v)),
        None => candidate == item,
    }
}

/// Whether a managedFields `fieldsV1` set owns `path`. List items are keyed
/// `k:{"port":80,"protocol":"TCP"}`: the item must have every one of those values.
fn owns(fields: &Value, live: &Value, path: &[Step]) -> bool {
    match path.split_first() {
        None => true,
        Some((Step::Key(key), rest)) => fields.get(format!("f:{key}")).is_some_and(|f| owns(f, live.get(key).unwrap_or(&Value::Null), rest)),
        Some((Step::Index(i), rest)) => {
            let Some(item) = live.get(i) else { return false };
            fields
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(key, sub)| key.strip_prefix("k:").map(|k| (k, sub)))
                .any(|(key, sub)| key_matches(key, item) && owns(sub, item, rest))
        }
    }
}

fn key_matches(key: &str, item: &Value) -> bool {
    serde_json::from_str::<Map<String, Value>>(key).is_ok_and(|key| key.iter().all(|(k, v)| item.get(k) == Some(v)))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use serde_json::json;

    use super::*;

    #[test]
    fn every_row_is_sourced_unique_and_well_formed() {
        let table = table();
        let mut ids = HashSet::new();
        for row in &table.strip {
            assert!(!row.source.trim().is_empty() && !row.reason.trim().is_empty(), "{}", row.id);
            assert!(ids.insert(row.id.as_str()), "duplicate {}", row.id);
            assert!(!row.kinds.is_empty() && !row.fields.is_empty(), "{}", row.id);
            for pattern in &row.fields {
                assert_ne!(pattern.last(), "*", "{}: the last token must be a key", row.id);
            }
        }
        for row in &table.drop {
            assert!(!row.source.trim().is_empty() && !row.reason.trim().is_empty(), "{}", row.id);
            assert!(ids.insert(row.id.as_str()), "duplicate {}", row.id);
            assert!(!row.kinds.is_empty(), "{} would drop every kind", row.id);
            assert!(row.label.as_deref().is_none_or(|l| l.contains('=')), "{}: label is key=value", row.id);
        }
        for row in &table.prune {
            assert!(!row.source.trim().is_empty() && !row.reason.trim().is_empty(), "{}", row.id);
            assert!(ids.insert(row.id.as_str()), "duplicate {}", row.id);
            assert!(!row.kinds.is_empty() && row.list.starts_with('/') && !row.name_prefix.is_empty(), "{}", row.id);
        }
    }

    #[test]
    fn service_accounts_lose_references_to_their_token_secrets_only() {
        let mut account = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "api", "namespace": "shop", "uid": "u-1"},
            "secrets": [{"name": "api-token-x7k2p"}, {"name": "api-extra"}, {"name": "other-token-abcde"}],
            "imagePullSecrets": [{"name": "api-token-registry"}]});
        assert_eq!(sanitise(&mut account), None);
        assert_eq!(account["secrets"], json!([{"name": "api-extra"}, {"name": "other-token-abcde"}]), "only its own token goes");
        assert_eq!(account["imagePullSecrets"], json!([{"name": "api-token-registry"}]), "pull secrets are the user's");

        let mut only_token = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "worker", "namespace": "shop"},
            "secrets": [{"name": "worker-token-4f9qz"}]});
        sanitise(&mut only_token);
        assert_eq!(
            only_token,
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "worker", "namespace": "shop"}}),
            "an emptied list goes"
        );
    }

    /// A NodePort/LoadBalancer Service as the v1.20.2 test server returned it after
    /// `kubectl create` with one chosen and one allocated node port.
    fn created_service() -> Value {
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {
                "name": "np-created", "namespace": "default", "uid": "54fc4292", "resourceVersion": "230",
                "creationTimestamp": "2026-11-21T18:24:49Z",
                "managedFields": [{"apiVersion": "v1", "fieldsType": "FieldsV1", "manager": "kubectl-create", "operation": "Update",
                    "fieldsV1": {"f:spec": {"f:externalTrafficPolicy": {}, "f:ports": {".": {},
                        "k:{\"port\":443,\"protocol\":\"TCP\"}": {".": {}, "f:name": {}, "f:port": {}, "f:protocol": {}, "f:targetPort": {}},
                        "k:{\"port\":80,\"protocol\":\"TCP\"}": {".": {}, "f:name": {}, "f:nodePort": {}, "f:port": {}, "f:protocol": {}, "f:targetPort": {}}},
                        "f:selector": {".": {}, "f:app": {}}, "f:sessionAffinity": {}, "f:type": {}}}}]
            },
            "spec": {
                "clusterIP": "10.96.189.99", "clusterIPs": ["10.96.189.99"], "externalTrafficPolicy": "Local", "healthCheckNodePort": 32083,
                "ports": [
                    {"name": "http", "nodePort": 30081, "port": 80, "protocol": "TCP", "targetPort": 8080},
                    {"name": "https", "nodePort": 32208, "port": 443, "protocol": "TCP", "targetPort": 8443}
                ],
                "selector": {"app": "x"}, "sessionAffinity": "None", "type": "LoadBalancer"
            },
            "status": {"loadBalancer": {}}
        })
    }

    #[test]
    fn allocated_node_ports_go_and_chosen_ones_stay() {
        let mut service = created_service();
        let mut notes = Vec::new();
        assert_eq!(sanitise_noting(&mut service, &mut notes), None);
        assert_eq!(
            service,
            json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "np-created", "namespace": "default"},
                "spec": {
                    "externalTrafficPolicy": "Local",
                    "ports": [
                        {"name": "http", "nodePort": 30081, "port": 80, "protocol": "TCP", "targetPort": 8080},
                        {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 8443}
                    ],
                    "selector": {"app": "x"}, "sessionAffinity": "None", "type": "LoadBalancer"
                }
            })
        );
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].field.as_deref(), Some("/spec/ports/0/nodePort"));
    }

    #[test]
    fn only_kinds_whose_normal_form_reads_managed_fields_need_them() {
        assert!(reads_managed_fields("", "Service"));
        for (group, kind) in [("", "ConfigMap"), ("", "Secret"), ("apps", "Deployment"), ("batch", "Job"), ("", "PersistentVolumeClaim")] {
            assert!(!reads_managed_fields(group, kind), "{group}/{kind}");
        }
        let strip_of = |service: Value| {
            let mut service = service;
            sanitise(&mut service);
            service
        };
        let lean = ferry_model::lean::parse_without_managed_fields(created_service().to_string().as_bytes()).unwrap();
        assert_ne!(strip_of(lean), strip_of(created_service()), "a Service read without them loses its chosen node port");
    }

    #[test]
    fn last_applied_configuration_also_tells_chosen_node_ports() {
        let applied = r#"{"apiVersion":"v1","kind":"Service","metadata":{"annotations":{},"name":"np-applied","namespace":"default"},"spec":{"ports":[{"name":"http","nodePort":30080,"port":80,"targetPort":8080},{"name":"https","port":443,"targetPort":8443}],"selector":{"app":"x"},"type":"NodePort"}}"#;
        let mut service = json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "np-applied", "uid": "5d17", "annotations": {LAST_APPLIED: applied}},
            "spec": {"clusterIP": "10.96.116.51", "type": "NodePort", "ports": [
                {"name": "http", "nodePort": 30080, "port": 80, "protocol": "TCP", "targetPort": 8080},
                {"name": "https", "nodePort": 31126, "port": 443, "protocol": "TCP", "targetPort": 8443}]}
        });
        sanitise(&mut service);
        assert_eq!(service["spec"]["ports"][0]["nodePort"], 30080);
        assert!(service["spec"]["ports"][1].get("nodePort").is_none());
        assert!(service["metadata"].get("annotations").is_none(), "the emptied annotations map goes too");
    }

    #[test]
    fn manifests_keep_their_node_ports_and_headless_services_their_none() {
        let mut service = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db"},
            "spec": {"clusterIP": "None", "clusterIPs": ["None"], "ports": [{"port": 5432, "nodePort": 30432}]}});
        let before = service.clone();
        assert_eq!(sanitise(&mut service), None);
        assert_eq!(service, before);
    }

    #[test]
    fn generated_job_selector_goes_unless_manual() {
        let uid = "1aa34859-f900-454f-b1c0-2fb20f80d127";
        let job = json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "j", "uid": uid, "labels": {"controller-uid": uid, "job-name": "j"}},
            "spec": {"backoffLimit": 6, "selector": {"matchLabels": {"controller-uid": uid}},
                "template": {"metadata": {"creationTimestamp": null, "labels": {"controller-uid": uid, "job-name": "j"}},
                    "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}
        });
        let mut generated = job.clone();
        sanitise(&mut generated);
        assert_eq!(
            generated,
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
                "spec": {"backoffLimit": 6, "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}})
        );
        let mut manual = job;
        manual["spec"]["manualSelector"] = json!(true);
        sanitise(&mut manual);
        assert_eq!(manual["spec"]["selector"]["matchLabels"]["controller-uid"], uid);
        assert_eq!(manual["metadata"]["labels"]["job-name"], "j");
    }

    #[test]
    fn objects_kubernetes_made_are_not_migrated() {
        let cases = [
            json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token", "metadata": {"name": "default-token-x", "namespace": "a"}}),
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "a"}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kube-root-ca.crt", "namespace": "a"}}),
            json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "web", "namespace": "a",
                "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": "2026-11-21T18:24:49Z"}}}),
            json!({"apiVersion": "discovery.k8s.io/v1beta1", "kind": "EndpointSlice", "metadata": {"name": "web-x", "namespace": "a",
                "labels": {"endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}}}),
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "namespace": "a",
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d", "controller": true}]}}),
            json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "web.1", "namespace": "a"}}),
        ];
        for mut object in cases {
            let before = object.clone();
            assert!(sanitise(&mut object).is_some_and(|r| !r.contains('{')), "{before}");
            assert_eq!(object, before, "an object that is not migrated is left as it was");
        }
        let mut own = json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "external", "namespace": "a"}});
        assert_eq!(sanitise(&mut own), None, "Endpoints a user wrote (for a Service without selector) are migrated");
    }

    #[test]
    fn volume_binding_state_goes() {
        let mut pv = json!({"apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": "pv1", "uid": "u", "annotations": {"pv.kubernetes.io/bound-by-controller": "yes", "team": "a"}},
            "spec": {"claimRef": {"kind": "PersistentVolumeClaim", "namespace": "a", "name": "data", "uid": "c", "resourceVersion": "9"}}});
        sanitise(&mut pv);
        assert_eq!(pv["metadata"], json!({"name": "pv1", "annotations": {"team": "a"}}));
        assert_eq!(pv["spec"]["claimRef"], json!({"kind": "PersistentVolumeClaim", "namespace": "a", "name": "data"}));
    }

    #[test]
    fn any_json_is_tolerated() {
        for mut junk in [json!(null), json!([1, 2]), json!({"kind": 3, "metadata": "x", "spec": {"ports": "y"}}), json!("text")] {
            sanitise(&mut junk);
        }
    }
}
