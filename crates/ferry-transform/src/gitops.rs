//! Objects as YAML for GitOps repositories (pure): each object as one YAML document with its
//! keys in the order it holds them, quoted so that kubectl (Go YAML, YAML 1.1 rules) reads back
//! the same JSON; a tree of one file per object by namespace and kind with a generated
//! `kustomization.yaml`; and Secrets left out unless their values may be written in clear.
//!
//! Layout (docs/gitops.md): `NAMESPACE/KIND-NAME.yaml` for objects with a namespace,
//! `_cluster/KIND-NAME.yaml` for built-in cluster-scoped kinds, `_no-namespace/KIND-NAME.yaml`
//! for other objects that set no namespace, every part lowercase with
//! characters other than letters, digits, `.`, `-` and `_` written as `_`. When two objects
//! would share a file, each of them names its API group too (`KIND.GROUP-NAME.yaml`), and a
//! number is added if that is still not enough, in the order of their identities.

use std::collections::BTreeMap;

use ferry_analysis::facts::CLUSTER_SCOPED;
use ferry_model::ObjectId;
use serde_json::Value;

/// The name of the generated Kustomize file at the top of a tree.
pub const KUSTOMIZATION: &str = "kustomization.yaml";

/// The first line of every `kustomization.yaml` ferry writes.
pub const KUSTOMIZATION_HEADER: &str = "# Written by `ferry transform --format yaml`: one file per object, listed in apply order (docs/gitops.md).";

/// What happens to Secrets written as YAML.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Secrets {
    /// Left out, each named in [`Tree::omitted`], so that no value is written in clear.
    #[default]
    Omit,
    /// Written as they are (base64 is an encoding, not encryption).
    Plain,
}

/// Whether an object is a core-group Secret.
pub fn is_secret(id: &ObjectId) -> bool {
    id.kind == "Secret" && id.group().is_empty()
}

/// One object as a YAML document: keys in the object's order, `---` not included, ending in a
/// newline. Strings that a YAML 1.1 reader such as kubectl's would take for another type
/// (`yes`, `on`, `0755`, `1:20`, `1e3`, ...) are quoted, multi-line strings written as blocks.
pub fn to_yaml(object: &Value) -> String {
    let text = serde_saphyr::to_string(object).unwrap_or_else(|_| unreachable!("a JSON value always has a YAML form"));
    if text.ends_with('\n') { text } else { text + "\n" }
}

/// Objects as one multi-document YAML stream (`---` before each), with the Secrets the policy
/// leaves out named apart.
pub fn stream<'a>(objects: impl IntoIterator<Item = (&'a ObjectId, &'a Value)>, secrets: Secrets) -> (String, Vec<ObjectId>) {
    let mut text = String::new();
    let mut omitted = Vec::new();
    for (id, object) in objects {
        if secrets == Secrets::Omit && is_secret(id) {
            omitted.push(id.clone());
            continue;
        }
        text.push_str("---\n");
        text.push_str(&to_yaml(object));
    }
    (text, omitted)
}

/// A tree of YAML files, ready to be written below a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tree {
    /// Relative paths (`/`-separated) and contents, sorted by path; `kustomization.yaml` among them.
    pub files: Vec<(String, String)>,
    /// Secrets left out by [`Secrets::Omit`], in the order given.
    pub omitted: Vec<ObjectId>,
}

/// The tree of `objects`, given in apply order (the order `kustomization.yaml` lists them in).
/// The same objects in the same order always give the same bytes.
pub fn tree(objects: &[(ObjectId, &Value)], secrets: Secrets) -> Tree {
    let (kept, omitted): (Vec<_>, Vec<_>) = objects.iter().partition(|(id, _)| secrets == Secrets::Plain || !is_secret(id));
    let ids: Vec<&ObjectId> = kept.iter().map(|(id, _)| id).collect();
    let paths = paths(&ids);
    let mut kustomization = format!("{KUSTOMIZATION_HEADER}\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n");
    let mut files = Vec::with_capacity(kept.len() + 1);
    for ((_, object), path) in kept.iter().zip(&paths) {
        kustomization.push_str(&format!("- {path}\n"));
        files.push((path.clone(), to_yaml(object)));
    }
    files.push((KUSTOMIZATION.to_owned(), kustomization));
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Tree { files, omitted: omitted.into_iter().map(|(id, _)| id.clone()).collect() }
}

/// The file of each object (in the order given): see the module documentation.
fn paths(ids: &[&ObjectId]) -> Vec<String> {
    let plain = |id: &ObjectId| format!("{}-{}", segment(&id.kind), segment(&id.name));
    let grouped = |id: &ObjectId| {
        let group = if id.group().is_empty() { "core" } else { id.group() };
        format!("{}.{}-{}", segment(&id.kind), segment(group), segment(&id.name))
    };
    let folder = |id: &ObjectId| match id.namespace.as_deref() {
        _ if CLUSTER_SCOPED.contains(&id.kind.as_str()) => "_cluster".to_owned(),
        Some(namespace) => segment(namespace),
        None => "_no-namespace".to_owned(),
    };
    let mut chosen: Vec<(String, String)> = ids.iter().map(|id| (folder(id), plain(id))).collect();
    let shared = |chosen: &[(String, String)]| {
        let mut seen: BTreeMap<&(String, String), usize> = BTreeMap::new();
        chosen.iter().for_each(|path| *seen.entry(path).or_default() += 1);
        chosen.iter().map(|path| seen[path] > 1).collect::<Vec<bool>>()
    };
    for (i, twice) in shared(&chosen).into_iter().enumerate() {
        if twice {
            chosen[i].1 = grouped(ids[i]);
        }
    }
    // Still shared (names that differ only in characters written as `_`): numbered in identity order.
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.sort_by_key(|&i| (&chosen[i], ids[i].to_string(), &ids[i].api_version));
    let mut count: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut numbered = chosen.clone();
    for i in order {
        let n = count.entry(chosen[i].clone()).or_default();
        *n += 1;
        if *n > 1 {
            numbered[i].1 = format!("{}-{n}", chosen[i].1);
        }
    }
    numbered.into_iter().map(|(folder, file)| format!("{folder}/{file}.yaml")).collect()
}

/// A lowercase path segment: letters, digits, `.`, `-` and `_`; anything else (and a leading
/// `.`, which would hide the file) becomes `_`.
fn segment(text: &str) -> String {
    let mut out: String = text.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c.to_ascii_lowercase() } else { '_' }).collect();
    if out.is_empty() || out.starts_with('.') {
        out.insert(0, '_');
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn id(api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> ObjectId {
        ObjectId { api_version: api_version.into(), kind: kind.into(), namespace: namespace.map(Into::into), name: name.into() }
    }

    #[test]
    fn keys_keep_their_order_and_ambiguous_strings_are_quoted() {
        let object = json!({"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "z", "namespace": "a"},
            "data": {"b": "yes", "a": "0755", "c": "1:20", "d": "1e3", "e": "on", "f": "null", "g": "", "h": "two\nlines\n", "i": "~", "j": "2001-12-14"}});
        let text = to_yaml(&object);
        let keys: Vec<&str> = text.lines().filter(|l| !l.starts_with(' ')).map(|l| l.split(':').next().unwrap()).collect();
        assert_eq!(keys, ["kind", "apiVersion", "metadata", "data"], "{text}");
        for value in ["yes", "0755", "1:20", "1e3", "on", "null", "~", "2001-12-14"] {
            assert!(!text.contains(&format!(": {value}\n")), "`{value}` is written plain:\n{text}");
        }
        let back: Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(back, object, "{text}");
    }

    #[test]
    fn objects_go_by_namespace_and_kind_and_the_kustomization_lists_them_in_the_order_given() {
        let (ns, web, crd) = (json!({"n": 1}), json!({"w": 1}), json!({"c": 1}));
        let objects = [
            (id("v1", "Namespace", None, "Shop"), &ns),
            (id("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, "widgets.example.com"), &crd),
            (id("apps/v1", "Deployment", Some("shop"), "web"), &web),
        ];
        let tree = tree(&objects, Secrets::Omit);
        let paths: Vec<&str> = tree.files.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            ["_cluster/customresourcedefinition-widgets.example.com.yaml", "_cluster/namespace-shop.yaml", "kustomization.yaml", "shop/deployment-web.yaml"]
        );
        let kustomization = &tree.files[2].1;
        assert!(kustomization.starts_with(KUSTOMIZATION_HEADER), "{kustomization}");
        assert!(
            kustomization.ends_with(
                "resources:\n- _cluster/namespace-shop.yaml\n- _cluster/customresourcedefinition-widgets.example.com.yaml\n- shop/deployment-web.yaml\n"
            ),
            "{kustomization}"
        );
    }

    #[test]
    fn secrets_are_left_out_unless_plain_is_asked_for() {
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "data": {"password": "aHVudGVyMg=="}});
        let objects = [(id("v1", "Secret", Some("shop"), "db"), &secret)];
        let omitted = tree(&objects, Secrets::Omit);
        assert_eq!(omitted.omitted, [objects[0].0.clone()]);
        assert!(omitted.files.iter().all(|(_, text)| !text.contains("aHVudGVyMg")));
        let plain = tree(&objects, Secrets::Plain);
        assert!(plain.omitted.is_empty());
        assert!(plain.files.iter().any(|(path, text)| path == "shop/secret-db.yaml" && text.contains("aHVudGVyMg==")));
        let (text, left_out) = stream(objects.iter().map(|(id, o)| (id, *o)), Secrets::Omit);
        assert_eq!((text.as_str(), left_out.len()), ("", 1));
    }

    #[test]
    fn objects_that_would_share_a_file_name_their_group_then_a_number() {
        let v = json!({});
        let objects = [
            (id("cert-manager.io/v1", "Certificate", Some("a"), "web"), &v),
            (id("example.com/v1", "Certificate", Some("a"), "web"), &v),
            (id("rbac.authorization.k8s.io/v1", "ClusterRole", None, "system:web"), &v),
            (id("rbac.authorization.k8s.io/v1", "ClusterRole", None, "system_web"), &v),
            (id("v1", "ConfigMap", Some("a"), ".hidden"), &v),
            (id("v1", "ConfigMap", None, "unset"), &v),
        ];
        let tree = tree(&objects, Secrets::Omit);
        let paths: Vec<&str> = tree.files.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "_cluster/clusterrole.rbac.authorization.k8s.io-system_web-2.yaml",
                "_cluster/clusterrole.rbac.authorization.k8s.io-system_web.yaml",
                "_no-namespace/configmap-unset.yaml",
                "a/certificate.cert-manager.io-web.yaml",
                "a/certificate.example.com-web.yaml",
                "a/configmap-_.hidden.yaml",
                "kustomization.yaml"
            ]
        );
    }
}
