//! The user's rules from `ferry.yaml` (`apiVersion: ferry.dev/v1alpha1`,
//! `kind: TransformRules`, documented in `docs/transform-rules.md`) and their
//! application to one object. Every pattern is checked while the file is read;
//! applying rules never fails as a whole: a rule that cannot apply to an object
//! becomes an error note on that object.

mod classes;
mod identity;
mod images;
pub mod matcher;
mod metadata;
mod namespaces;
mod patches;
mod strategic;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use identity::Provider;
pub use images::ImagePins;
use matcher::{Glob, Match};

use crate::note::{Note, Severity};
use crate::object::Identity;

/// The rules of a `ferry.yaml`; [`Rules::default`] changes nothing.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Rules {
    /// Always `ferry.dev/v1alpha1`.
    pub api_version: RulesApiVersion,
    /// Always `TransformRules`.
    pub kind: RulesKind,
    /// Image registry rewrites, the first matching rule per image.
    #[serde(default)]
    pub images: Vec<ImageRule>,
    /// StorageClass names: source → target.
    #[serde(default)]
    pub storage_classes: BTreeMap<String, String>,
    /// IngressClass names: source → target.
    #[serde(default)]
    pub ingress_classes: BTreeMap<String, String>,
    /// Namespace names: source → target.
    #[serde(default)]
    pub namespaces: BTreeMap<String, String>,
    /// Label edits on `metadata.labels`.
    #[serde(default)]
    pub labels: Vec<MetadataRule>,
    /// Annotation edits on `metadata.annotations`.
    #[serde(default)]
    pub annotations: Vec<MetadataRule>,
    /// Workload identity per ServiceAccount.
    #[serde(default)]
    pub workload_identity: Vec<IdentityRule>,
    /// JSON, merge and strategic merge patches, in file order.
    #[serde(default)]
    pub patches: Vec<PatchRule>,
    /// Objects left out of the migration.
    #[serde(default)]
    pub exclude: Vec<ExcludeRule>,
    /// Digests to pin images to after the rewrites (`--pin-images`); not part of the file.
    #[serde(skip)]
    pub pins: ImagePins,
}

/// The one `apiVersion` of a rules file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum RulesApiVersion {
    /// `ferry.dev/v1alpha1`.
    #[default]
    #[serde(rename = "ferry.dev/v1alpha1")]
    V1alpha1,
}

/// The one `kind` of a rules file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum RulesKind {
    /// `TransformRules`.
    #[default]
    TransformRules,
}

/// Rewrites image references that start with `from` to start with `to`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageRule {
    /// Name shown in notes (default `images[N]`).
    #[serde(default)]
    pub name: Option<String>,
    /// Prefix to replace, such as `myacr.azurecr.io/`; `docker.io/` also matches
    /// references that name no registry (`nginx:1.25` is `docker.io/library/nginx:1.25`).
    pub from: String,
    /// Replacement prefix, such as `harbor.example.com/shop/`.
    pub to: String,
    /// Which objects.
    #[serde(default, rename = "match")]
    pub matches: Match,
}

/// Edits of labels or annotations: `rename`, then `remove`, then `add`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetadataRule {
    /// Name shown in notes (default `labels[N]` / `annotations[N]`).
    #[serde(default)]
    pub name: Option<String>,
    /// Which objects.
    #[serde(default, rename = "match")]
    pub matches: Match,
    /// Keys to rename, `old: new`; a `*` in `old` carries over to the `*` of `new`
    /// (`old.example.com/*: new.example.com/*`).
    #[serde(default)]
    pub rename: Renames,
    /// Key globs to remove (`service.beta.kubernetes.io/azure-*`).
    #[serde(default)]
    pub remove: Vec<Glob>,
    /// Keys to set, with their values.
    #[serde(default)]
    pub add: BTreeMap<String, String>,
}

/// Key renames, each a glob and a replacement with as many `*` or none.
#[derive(Debug, Clone, Default)]
pub struct Renames(pub Vec<(Glob, String)>);

impl<'de> Deserialize<'de> for Renames {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Renames, D::Error> {
        let pairs = BTreeMap::<String, String>::deserialize(d)?;
        let mut renames = Vec::with_capacity(pairs.len());
        for (from, to) in pairs {
            let glob = Glob::new(&from).map_err(serde::de::Error::custom)?;
            let stars = to.matches('*').count();
            if stars != 0 && stars != glob.wildcards() {
                return Err(serde::de::Error::custom(format!("`{to}` must have as many `*` as `{from}`, or none")));
            }
            renames.push((glob, to));
        }
        Ok(Renames(renames))
    }
}

/// Gives the ServiceAccounts it selects the workload identity of one provider,
/// removing the others', and labels the pods that use them as that provider needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IdentityRule {
    /// Name shown in notes (default `workloadIdentity[N]`).
    #[serde(default)]
    pub name: Option<String>,
    /// Which ServiceAccounts, by their source namespace and name.
    pub service_account: ServiceAccountMatch,
    /// The target provider (`aws`, `azure`, `gcp`; see `data/workload-identity.yaml`).
    pub to: Provider,
    /// The identity on the target: an IAM role ARN, an Entra client ID or a Google service account.
    pub identity: String,
}

/// ServiceAccounts by namespace and name globs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceAccountMatch {
    /// Namespace glob.
    pub namespace: Glob,
    /// Name glob.
    pub name: Glob,
}

/// Leaves the objects it matches out of the migration (with an `excluded` note).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExcludeRule {
    /// Name shown in notes (default `exclude[N]`).
    #[serde(default)]
    pub name: Option<String>,
    /// Which objects, as they were read (before sanitising and API conversion); required.
    #[serde(rename = "match")]
    pub matches: Match,
}

/// An RFC 6902 JSON patch, an RFC 7386 merge patch or a Kubernetes strategic merge patch for
/// the objects it matches.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PatchRule {
    /// Name shown in notes (default `patches[N]`).
    #[serde(default)]
    pub name: Option<String>,
    /// Which objects.
    #[serde(default, rename = "match")]
    pub matches: Match,
    /// RFC 6902 operations.
    #[serde(default)]
    pub json_patch: Option<json_patch::Patch>,
    /// RFC 7386 merge patch (`null` removes a field).
    #[serde(default)]
    pub merge_patch: Option<Value>,
    /// Kubernetes strategic merge patch (lists merged by their merge keys; `data/strategic-merge.yaml`).
    #[serde(default)]
    pub strategic_merge_patch: Option<Value>,
}

/// A rules file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesError {
    /// The file, as given.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<u64>,
    /// 1-based column, when known.
    pub column: Option<u64>,
    /// The rule or field concerned, when known (`patches[2]`).
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for RulesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        if let Some(field) = &self.field {
            write!(f, ": `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for RulesError {}

impl Rules {
    /// Reads a `ferry.yaml`; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Rules, RulesError> {
        let rules: Rules = serde_saphyr::from_str(text).map_err(|e| syntax_error(&e, file))?;
        rules.check().map_err(|(field, message)| RulesError { file: file.to_owned(), line: None, column: None, field: Some(field), message })?;
        Ok(rules)
    }

    /// What serde cannot check: one patch per patch rule, non-empty prefixes and names.
    fn check(&self) -> Result<(), (String, String)> {
        for (i, rule) in self.patches.iter().enumerate() {
            let given = usize::from(rule.json_patch.is_some()) + usize::from(rule.merge_patch.is_some()) + usize::from(rule.strategic_merge_patch.is_some());
            if given != 1 {
                return Err((rule_name(&rule.name, "patches", i), "give exactly one of `jsonPatch`, `mergePatch` and `strategicMergePatch`".into()));
            }
        }
        for (i, rule) in self.images.iter().enumerate() {
            if rule.from.is_empty() {
                return Err((rule_name(&rule.name, "images", i), "`from` must not be empty".into()));
            }
        }
        let maps = [("storageClasses", &self.storage_classes), ("ingressClasses", &self.ingress_classes), ("namespaces", &self.namespaces)];
        for (section, map) in maps {
            if let Some((from, _)) = map.iter().find(|(from, to)| from.is_empty() || to.is_empty()) {
                return Err((format!("{section}.{from}"), "names must not be empty".into()));
            }
        }
        Ok(())
    }

    /// Every rule, by the name its notes and counts use, in the order they apply:
    /// `exclude[N]`, `namespaces.KEY`, `images[N]`, `storageClasses.KEY`, `ingressClasses.KEY`,
    /// `workloadIdentity[N]`, `labels[N]`, `annotations[N]`, `patches[N]` (a rule's `name`
    /// replaces `section[N]`), and `pin-images` when images are pinned.
    pub fn rule_names(&self) -> Vec<String> {
        let listed = |names: Vec<&Option<String>>, section: &str| -> Vec<String> {
            names.into_iter().enumerate().map(|(i, name)| rule_name(name, section, i)).collect()
        };
        let keyed = |map: &BTreeMap<String, String>, section: &str| -> Vec<String> { map.keys().map(|key| format!("{section}.{key}")).collect() };
        let mut names = listed(self.exclude.iter().map(|r| &r.name).collect(), "exclude");
        names.extend(keyed(&self.namespaces, "namespaces"));
        names.extend(listed(self.images.iter().map(|r| &r.name).collect(), "images"));
        names.extend(keyed(&self.storage_classes, "storageClasses"));
        names.extend(keyed(&self.ingress_classes, "ingressClasses"));
        names.extend(listed(self.workload_identity.iter().map(|r| &r.name).collect(), "workloadIdentity"));
        names.extend(listed(self.labels.iter().map(|r| &r.name).collect(), "labels"));
        names.extend(listed(self.annotations.iter().map(|r| &r.name).collect(), "annotations"));
        names.extend(listed(self.patches.iter().map(|r| &r.name).collect(), "patches"));
        if !self.pins.is_empty() {
            names.push(PIN_IMAGES.to_owned());
        }
        names
    }

    /// The `excluded` note for an object as it was read, if an `exclude` rule matches it.
    pub(crate) fn excluded(&self, object: &Value) -> Option<Note> {
        if self.exclude.is_empty() {
            return None;
        }
        let id = Identity::of(object);
        let (i, rule) = self.exclude.iter().enumerate().find(|(_, r)| r.matches.matches(&id))?;
        let name = rule_name(&rule.name, "exclude", i);
        Some(Note::info("excluded", format!("{name}: left out of the migration")).by(name))
    }
}

/// The rule name of `--pin-images`.
pub(super) const PIN_IMAGES: &str = "pin-images";

/// The reader's message without its own location text (the error carries the location),
/// with control characters escaped since it quotes the file.
fn syntax_error(error: &serde_saphyr::Error, file: &str) -> RulesError {
    use serde_saphyr::MessageFormatter as _;
    let location = error.location();
    let message = serde_saphyr::DefaultMessageFormatter.format_message(error.without_snippet());
    RulesError {
        file: file.to_owned(),
        line: location.map(|l| l.line()).filter(|&l| l > 0),
        column: location.map(|l| l.column()).filter(|&c| c > 0),
        field: None,
        message: message.chars().flat_map(|c| if c.is_control() { c.escape_default().collect() } else { vec![c] }).collect(),
    }
}

/// The rule's own name, or `section[index]`.
fn rule_name(name: &Option<String>, section: &str, index: usize) -> String {
    name.clone().unwrap_or_else(|| format!("{section}[{index}]"))
}

/// Whether the rules leave the object to be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Apply the (changed) object.
    Keep,
    /// The object is replaced by something on the target (a mapped StorageClass).
    Drop,
}

/// Applies every rule to `object`, in the documented order. Matching sees the
/// object as it entered this stage. Rules that select an object without changing it
/// (labels, annotations, workload identity, patches) add their names to `matched`.
pub(crate) fn apply(rules: &Rules, object: &mut Value, notes: &mut Vec<Note>, matched: &mut Vec<String>) -> Verdict {
    let id = Identity::of(object);
    if let Some(note) = classes::mapped_away(rules, &id) {
        notes.push(note);
        return Verdict::Drop;
    }
    namespaces::apply(&rules.namespaces, &id, object, notes);
    images::apply(&rules.images, &rules.pins, &id, object, notes);
    classes::apply(rules, &id, object, notes);
    identity::apply(&rules.workload_identity, &id, object, notes, matched);
    metadata::apply(metadata::Target::Labels, &rules.labels, &id, object, notes, matched);
    metadata::apply(metadata::Target::Annotations, &rules.annotations, &id, object, notes, matched);
    patches::apply(&rules.patches, &id, object, notes, matched);
    Verdict::Keep
}

/// What one rule did to one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleHit {
    /// The rule, as [`Rules::rule_names`] names it.
    pub rule: String,
    /// It changed the object (or left it out).
    pub changed: bool,
    /// It failed on the object.
    pub failed: bool,
}

/// The rules that matched an object: those in `matched`, and every rule a note names
/// (changed: it has an info note; failed: an error note), in order of first mention.
pub(crate) fn hits(matched: Vec<String>, notes: &[Note]) -> Vec<RuleHit> {
    let mut hits: Vec<RuleHit> = Vec::new();
    let named = notes.iter().filter_map(|n| n.rule.clone().map(|rule| (rule, Some(n.severity))));
    for (rule, severity) in matched.into_iter().map(|rule| (rule, None)).chain(named) {
        let index = match hits.iter().position(|h| h.rule == rule) {
            Some(index) => index,
            None => {
                hits.push(RuleHit { rule, changed: false, failed: false });
                hits.len() - 1
            }
        };
        match severity {
            Some(Severity::Error) => hits[index].failed = true,
            Some(Severity::Info) => hits[index].changed = true,
            _ => {}
        }
    }
    hits
}

/// Replaces the string at `field` by its value in `map`, if it has one, with a note naming
/// the rule `SECTION.KEY`.
fn rename_value(object: &mut Value, field: &str, map: &BTreeMap<String, String>, section: &str, notes: &mut Vec<Note>) {
    let Some(slot) = object.pointer_mut(field) else { return };
    let Some((old, new)) = slot.as_str().and_then(|old| map.get(old).map(|new| (old.to_owned(), new.clone()))) else { return };
    *slot = Value::String(new.clone());
    notes.push(applied(section, field, format!("`{old}` → `{new}`")).by(format!("{section}.{old}")));
}

/// An Info note saying that `rule` changed `field`.
fn applied(rule: &str, field: impl Into<String>, what: impl fmt::Display) -> Note {
    Note::info("rule-applied", format!("{rule}: {what}")).at(field).by(rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_file_line_and_field() {
        let error = Rules::parse("apiVersion: ferry.dev/v1alpha1\nkind: TransformRules\nimagez: []\n", "ferry.yaml").unwrap_err();
        assert_eq!((error.file.as_str(), error.line), ("ferry.yaml", Some(3)));
        assert!(error.message.contains("imagez"), "{error}");

        let error = Rules::parse("apiVersion: ferry.dev/v1\nkind: TransformRules\n", "f.yaml").unwrap_err();
        assert_eq!(error.to_string(), "f.yaml:1:13: unknown variant `ferry.dev/v1`, expected one of ferry.dev/v1alpha1");

        let text = "apiVersion: ferry.dev/v1alpha1\nkind: TransformRules\npatches:\n  - match:\n      labels: \"tier in front\"\n    mergePatch: {}\n";
        let error = Rules::parse(text, "f.yaml").unwrap_err();
        assert_eq!(error.line, Some(5), "{error}");
        assert!(error.message.contains("tier in front"), "{error}");

        let text = "apiVersion: ferry.dev/v1alpha1\nkind: TransformRules\npatches:\n  - name: both\n    mergePatch: {}\n    jsonPatch: []\n";
        let error = Rules::parse(text, "f.yaml").unwrap_err();
        assert_eq!(error.field.as_deref(), Some("both"));
        assert!(Rules::parse("kind: TransformRules\n", "f.yaml").unwrap_err().message.contains("apiVersion"));
    }

    #[test]
    fn the_documented_example_parses() {
        let doc = include_str!("../../../../docs/transform-rules.md");
        let example = doc.split("```yaml\n").nth(1).and_then(|rest| rest.split("```").next()).expect("a yaml block in docs/transform-rules.md");
        let rules = Rules::parse(example, "docs/transform-rules.md").unwrap();
        assert_eq!((rules.images.len(), rules.annotations.len(), rules.patches.len(), rules.workload_identity.len(), rules.exclude.len()), (2, 2, 3, 1, 1));
    }

    #[test]
    fn renames_need_matching_stars() {
        let text = "apiVersion: ferry.dev/v1alpha1\nkind: TransformRules\nlabels:\n  - rename: {\"a/*\": \"b/*/*\"}\n";
        assert!(Rules::parse(text, "f").is_err());
    }
}
