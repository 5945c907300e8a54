//! Workload identity per ServiceAccount (`data/workload-identity.yaml`): the
//! selected ServiceAccounts get the target provider's annotation and lose every
//! other provider's; pod templates using them get the target's pod labels and
//! lose the others'.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;

use super::{IdentityRule, applied, rule_name};
use crate::note::Note;
use crate::object::{Identity, escape, map_at, pod_metadata_pointer, pod_spec_pointer, remove_key};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    providers: Vec<ProviderRow>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderRow {
    id: String,
    name: String,
    annotation: String,
    related_annotations: Vec<String>,
    pod_labels: BTreeMap<String, String>,
    #[cfg_attr(not(test), expect(dead_code, reason = "required in every row so the table stays sourced; checked by the tests"))]
    source: String,
}

fn providers() -> &'static [ProviderRow] {
    static TABLE: OnceLock<Table> = OnceLock::new();
    &TABLE
        .get_or_init(|| {
            serde_saphyr::from_str(include_str!("../../data/workload-identity.yaml"))
                .expect("embedded data/workload-identity.yaml is valid (checked by its tests)")
        })
        .providers
}

/// A workload-identity provider of `data/workload-identity.yaml`, by its id.
#[derive(Debug, Clone, Copy)]
pub struct Provider(&'static ProviderRow);

impl<'de> Deserialize<'de> for Provider {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Provider, D::Error> {
        let id = String::deserialize(d)?;
        providers().iter().find(|p| p.id == id).map(Provider).ok_or_else(|| {
            let known: Vec<&str> = providers().iter().map(|p| p.id.as_str()).collect();
            serde::de::Error::custom(format!("unknown provider `{id}`, expected one of `{}`", known.join("`, `")))
        })
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.name)
    }
}

/// A rule matches the ServiceAccounts it selects and the pod specs that run as them.
pub(super) fn apply(rules: &[IdentityRule], id: &Identity, object: &mut Value, notes: &mut Vec<Note>, matched: &mut Vec<String>) {
    let namespace = id.namespace.as_deref().unwrap_or_default();
    if id.group.is_empty() && id.kind == "ServiceAccount" {
        if let Some((i, rule)) = find(rules, namespace, &id.name) {
            let name = rule_name(&rule.name, "workloadIdentity", i);
            annotate_service_account(object, &name, rule, notes);
            matched.push(name);
        }
        return;
    }
    let Some(spec_pointer) = pod_spec_pointer(&id.group, &id.kind) else { return };
    let spec = object.pointer(spec_pointer);
    let account =
        ["serviceAccountName", "serviceAccount"].iter().find_map(|f| spec.and_then(|s| s.get(*f)).and_then(Value::as_str)).unwrap_or("default").to_owned();
    if let Some((i, rule)) = find(rules, namespace, &account)
        && let Some(metadata_pointer) = pod_metadata_pointer(&id.group, &id.kind)
    {
        let name = rule_name(&rule.name, "workloadIdentity", i);
        label_pods(object, &metadata_pointer, &name, rule, &account, notes);
        matched.push(name);
    }
}

fn find<'r>(rules: &'r [IdentityRule], namespace: &str, name: &str) -> Option<(usize, &'r IdentityRule)> {
    rules.iter().enumerate().find(|(_, r)| r.service_account.namespace.matches(namespace) && r.service_account.name.matches(name))
}

fn annotate_service_account(object: &mut Value, name: &str, rule: &IdentityRule, notes: &mut Vec<Note>) {
    let target = rule.to.0;
    for provider in providers().iter().filter(|p| p.id != target.id) {
        for key in std::iter::once(&provider.annotation).chain(&provider.related_annotations) {
            if remove_key(object, "/metadata/annotations", key).is_some() {
                notes.push(applied(name, format!("/metadata/annotations/{}", escape(key)), format!("removed the {} annotation", provider.name)));
            }
        }
    }
    let current = object.pointer("/metadata/annotations").and_then(|a| a.get(&target.annotation)).and_then(Value::as_str);
    if current != Some(rule.identity.as_str())
        && let Some(annotations) = map_at(object, "/metadata/annotations")
    {
        annotations.insert(target.annotation.clone(), Value::String(rule.identity.clone()));
        notes.push(applied(name, format!("/metadata/annotations/{}", escape(&target.annotation)), format!("{} identity `{}`", target.name, rule.identity)));
    }
}

fn label_pods(object: &mut Value, metadata_pointer: &str, name: &str, rule: &IdentityRule, account: &str, notes: &mut Vec<Note>) {
    let target = rule.to.0;
    let labels_pointer = format!("{metadata_pointer}/labels");
    for provider in providers().iter().filter(|p| p.id != target.id) {
        for key in provider.pod_labels.keys().filter(|k| !target.pod_labels.contains_key(*k)) {
            if remove_key(object, &labels_pointer, key).is_some() {
                notes.push(applied(name, format!("{labels_pointer}/{}", escape(key)), format!("removed the {} pod label", provider.name)));
            }
        }
    }
    for (key, value) in &target.pod_labels {
        let present = object.pointer(&labels_pointer).and_then(|l| l.get(key)).and_then(Value::as_str) == Some(value.as_str());
        if !present && let Some(labels) = map_at(object, &labels_pointer) {
            labels.insert(key.clone(), Value::String(value.clone()));
            let what = format!("pods using ServiceAccount `{account}` need `{key}: \"{value}\"` for {}", target.name);
            notes.push(applied(name, format!("{labels_pointer}/{}", escape(key)), what));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use serde_json::json;

    use super::*;
    use crate::rules::Rules;

    #[test]
    fn every_provider_is_sourced_and_unique() {
        let mut ids = HashSet::new();
        for p in providers() {
            assert!(ids.insert(p.id.as_str()) && !p.source.trim().is_empty() && !p.annotation.is_empty(), "{}", p.id);
        }
        assert!(ids.len() >= 3);
    }

    fn rules(to: &str, identity: &str) -> Rules {
        let text = format!(
            "apiVersion: ferry.dev/v1alpha1\nkind: TransformRules\nworkloadIdentity:\n  - serviceAccount: {{namespace: \"*\", name: id-aksstore-*}}\n    to: {to}\n    identity: \"{identity}\"\n"
        );
        Rules::parse(&text, "ferry.yaml").unwrap()
    }

    #[test]
    fn entra_to_irsa_and_back() {
        // aks-store-demo/_rendered/helm-azure-sim.yaml: ServiceAccount and ai-service Deployment
        let account = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "id-aksstore-demo01",
            "annotations": {"azure.workload.identity/client-id": "6d4a2c8e-0000-4000-8000-000000000001"}}});
        let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "ai-service"},
            "spec": {"template": {"metadata": {"labels": {"app": "ai-service", "azure.workload.identity/use": "true"}},
                "spec": {"serviceAccount": "id-aksstore-demo01", "containers": [{"name": "ai-service", "image": "x"}]}}}});
        let arn = "arn:aws:iam::111122223333:role/aks-store";
        let to_aws = rules("aws", arn);
        let (mut sa, mut pods, mut notes) = (account.clone(), deployment.clone(), Vec::new());
        apply(&to_aws.workload_identity, &Identity::of(&sa), &mut sa, &mut notes, &mut Vec::new());
        apply(&to_aws.workload_identity, &Identity::of(&pods), &mut pods, &mut notes, &mut Vec::new());
        assert_eq!(sa["metadata"]["annotations"], json!({"eks.amazonaws.com/role-arn": arn}));
        assert_eq!(pods["spec"]["template"]["metadata"]["labels"], json!({"app": "ai-service"}));
        assert_eq!(notes.len(), 3);

        let to_azure = rules("azure", "6d4a2c8e");
        let mut notes = Vec::new();
        apply(&to_azure.workload_identity, &Identity::of(&sa), &mut sa, &mut notes, &mut Vec::new());
        apply(&to_azure.workload_identity, &Identity::of(&pods), &mut pods, &mut notes, &mut Vec::new());
        assert_eq!(sa["metadata"]["annotations"], json!({"azure.workload.identity/client-id": "6d4a2c8e"}));
        assert_eq!(pods["spec"]["template"]["metadata"]["labels"]["azure.workload.identity/use"], "true");
        assert!(notes.iter().any(|n| n.message.contains("need `azure.workload.identity/use")));
    }

    #[test]
    fn unknown_providers_are_refused_with_the_known_ones() {
        let text = "apiVersion: ferry.dev/v1alpha1\nkind: TransformRules\nworkloadIdentity:\n  - serviceAccount: {namespace: a, name: b}\n    to: oracle\n    identity: x\n";
        let error = Rules::parse(text, "ferry.yaml").unwrap_err();
        assert!(error.message.contains("`aws`, `azure`, `gcp`"), "{error}");
        assert_eq!(error.line, Some(5));
    }
}
