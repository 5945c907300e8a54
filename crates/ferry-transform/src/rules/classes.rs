//! StorageClass and IngressClass maps: the fields that name a class are
//! rewritten, and a class object whose name is mapped is not migrated (the
//! target's class of the mapped name is used instead).

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Rules, rename_value};
use crate::note::Note;
use crate::object::{Identity, PathPattern, pointer};

/// `(groups, kind, field patterns)` of the fields that name a StorageClass.
const STORAGE_CLASS_FIELDS: &[(&[&str], &str, &[&str])] = &[
    (&[""], "PersistentVolumeClaim", &["/spec/storageClassName", "/metadata/annotations/volume.beta.kubernetes.io~1storage-class"]),
    (&[""], "PersistentVolume", &["/spec/storageClassName", "/metadata/annotations/volume.beta.kubernetes.io~1storage-class"]),
    (
        &["apps"],
        "StatefulSet",
        &["/spec/volumeClaimTemplates/*/spec/storageClassName", "/spec/volumeClaimTemplates/*/metadata/annotations/volume.beta.kubernetes.io~1storage-class"],
    ),
];

/// `(groups, kind, field patterns)` of the fields that name an IngressClass.
const INGRESS_CLASS_FIELDS: &[(&[&str], &str, &[&str])] =
    &[(&["networking.k8s.io", "extensions"], "Ingress", &["/spec/ingressClassName", "/metadata/annotations/kubernetes.io~1ingress.class"])];

/// A note saying why a mapped class object is not migrated, if this is one.
pub(super) fn mapped_away(rules: &Rules, id: &Identity) -> Option<Note> {
    let (section, map) = match (id.group.as_str(), id.kind.as_str()) {
        ("storage.k8s.io", "StorageClass") => ("storageClasses", &rules.storage_classes),
        ("networking.k8s.io", "IngressClass") => ("ingressClasses", &rules.ingress_classes),
        _ => return None,
    };
    let target = map.get(&id.name)?;
    let message = format!("{section}: `{}` is mapped to the target's `{target}`, so this {} is not migrated", id.name, id.kind);
    Some(Note::info("not-migrated", message).by(format!("{section}.{}", id.name)))
}

pub(super) fn apply(rules: &Rules, id: &Identity, object: &mut Value, notes: &mut Vec<Note>) {
    rename(object, id, "storageClasses", &rules.storage_classes, STORAGE_CLASS_FIELDS, notes);
    rename(object, id, "ingressClasses", &rules.ingress_classes, INGRESS_CLASS_FIELDS, notes);
}

fn rename(object: &mut Value, id: &Identity, section: &str, map: &BTreeMap<String, String>, fields: &[(&[&str], &str, &[&str])], notes: &mut Vec<Note>) {
    if map.is_empty() {
        return;
    }
    let patterns = fields.iter().filter(|(groups, kind, _)| *kind == id.kind && groups.contains(&id.group.as_str())).flat_map(|(_, _, p)| p.iter());
    for pattern in patterns.filter_map(|p| PathPattern::parse(p)) {
        for path in pattern.find(object) {
            rename_value(object, &pointer(&path), map, section, notes);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rules() -> Rules {
        Rules {
            storage_classes: BTreeMap::from([("managed-premium".into(), "gp3".into())]),
            ingress_classes: BTreeMap::from([("webapprouting.kubernetes.azure.com".into(), "nginx".into())]),
            ..Rules::default()
        }
    }

    #[test]
    fn claims_templates_and_ingresses() {
        let mut set = json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
            "spec": {"volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"storageClassName": "managed-premium"}}, {"spec": {"storageClassName": "other"}}]}});
        let mut notes = Vec::new();
        apply(&rules(), &Identity::of(&set), &mut set, &mut notes);
        assert_eq!(set["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"], "gp3");
        assert_eq!(set["spec"]["volumeClaimTemplates"][1]["spec"]["storageClassName"], "other");
        // aks-store-demo/aks-store-ingress-quickstart.yaml, Ingress store-front
        let mut ingress = json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "store-front"},
            "spec": {"ingressClassName": "webapprouting.kubernetes.azure.com", "rules": []}});
        apply(&rules(), &Identity::of(&ingress), &mut ingress, &mut notes);
        assert_eq!(ingress["spec"]["ingressClassName"], "nginx");
        assert_eq!(notes.len(), 2);
    }

    #[test]
    fn mapped_class_objects_are_not_migrated() {
        let class =
            json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "managed-premium"}, "provisioner": "disk.csi.azure.com"});
        assert!(mapped_away(&rules(), &Identity::of(&class)).is_some());
        let other = json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "fast"}});
        assert!(mapped_away(&rules(), &Identity::of(&other)).is_none());
    }
}
