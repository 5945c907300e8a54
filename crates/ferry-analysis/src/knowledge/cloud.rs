//! Managed-cloud markers (`data/cloud.yaml`) and the matcher built from them.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use regex::{Regex, RegexSet, RegexSetBuilder};
use serde::{Deserialize, Serialize};

/// What part of a manifest a rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    /// A host name inside a string value (env, args, command, ConfigMap or Secret data).
    Host,
    /// The registry host of a container image.
    Image,
    /// Registry host and repository of a container image, without tag.
    ImagePath,
    /// An annotation key (and optionally its value).
    Annotation,
    /// A label key (and optionally its value).
    Label,
    /// A node label key used by a nodeSelector or node affinity.
    NodeLabel,
    /// The API group of the object itself.
    ApiGroup,
    /// A storage provisioner or CSI driver.
    StorageDriver,
    /// A storage class name used by a claim.
    StorageClass,
    /// An ingress class or ingress controller name.
    IngressClass,
    /// An env var name or ConfigMap key.
    ConfigKey,
    /// A value at `path` in objects of `kind`.
    Field,
    /// The type of an OpenTelemetry collector component (receiver, exporter or extension; the
    /// part of its id before `/`), in a collector configuration.
    OtelComponent,
    /// The path of a hostPath volume (a file or directory of the node).
    HostPath,
    /// A command-line flag of a container (`--cloud-provider`), its value tested by `value` globs.
    Argument,
    /// The kind of an object the input refers to but does not hold.
    MissingObject,
}

/// Replacements for a service, by target profile.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Counterparts {
    /// Open-source / sovereign target (e.g. Compliant Kubernetes).
    pub oss: String,
    /// Azure AKS.
    pub aks: String,
    /// AWS EKS.
    pub eks: String,
    /// Google GKE.
    pub gke: String,
}

impl Counterparts {
    /// The counterpart for a target profile name (`oss`, `aks`, `eks`, `gke`).
    pub fn for_profile(&self, profile: &str) -> Option<&str> {
        match profile {
            "oss" => Some(&self.oss),
            "aks" => Some(&self.aks),
            "eks" => Some(&self.eks),
            "gke" => Some(&self.gke),
            _ => None,
        }
    }
}

/// A managed cloud service.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Stable identifier, e.g. `azure-service-bus`.
    pub id: String,
    /// `azure`, `aws` or `gcp`.
    pub provider: String,
    /// Human name.
    pub name: String,
    /// Category such as `messaging` or `database`.
    pub category: String,
    /// Replacements by target profile.
    pub counterparts: Counterparts,
    /// Where the facts come from.
    pub source: String,
}

/// A detection rule.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The service this rule detects.
    pub service: String,
    /// What it looks at.
    pub on: Subject,
    /// Glob on the subject (case-insensitive, `*` matches anything).
    #[serde(rename = "match")]
    pub pattern: String,
    /// Glob on the value, for annotations, labels and fields.
    #[serde(default)]
    pub value: Option<String>,
    /// Kind, for `field` rules.
    #[serde(default)]
    pub kind: Option<String>,
    /// API group of `kind`, for `field` rules of custom kinds: an object of another group with
    /// the same kind is not looked at.
    #[serde(default)]
    pub group: Option<String>,
    /// Dotted path, for `field` rules.
    #[serde(default)]
    pub path: Option<String>,
    /// Where the marker is documented.
    pub source: String,
}

/// A cloud vendor's public registry: its images are no managed-cloud dependency, but the target
/// cluster must reach the registry or have them mirrored.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VendorRegistry {
    /// Glob on the registry host.
    #[serde(rename = "match")]
    pub pattern: String,
    /// Whose registry it is, for the user (`Microsoft's`).
    pub vendor: String,
    /// Where the images go on the target.
    pub counterpart: String,
    /// Where the registry is documented.
    pub source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    services: Vec<Service>,
    rules: Vec<Rule>,
    #[serde(default)]
    public_images: Vec<String>,
    #[serde(default)]
    vendor_registries: Vec<VendorRegistry>,
}

/// The compiled rule set.
pub struct CloudRules {
    services: Vec<Service>,
    rules: Vec<Rule>,
    service_index: HashMap<String, usize>,
    by_subject: BTreeMap<Subject, SubjectMatcher>,
    field_values: HashMap<usize, Regex>,
    /// Indices of the `field` rules for each kind, in file order.
    field_rules_by_kind: HashMap<String, Vec<usize>>,
    public_images: RegexSet,
    vendor_registries: Vec<VendorRegistry>,
    vendor_hosts: RegexSet,
}

/// All rules for one subject, compiled into one set; the first rule in file order wins.
struct SubjectMatcher {
    /// A character every pattern of the set holds literally (and so every text it matches):
    /// text without it is ruled out before the set is run.
    required: Option<u8>,
    keys: RegexSet,
    rule_ids: Vec<usize>,
    values: Vec<Option<Regex>>,
}

/// A rule that matched.
#[derive(Debug, Clone, Copy)]
pub struct Match<'a> {
    /// The rule.
    pub rule: &'a Rule,
    /// Its service.
    pub service: &'a Service,
}

impl CloudRules {
    /// The table built into this binary, parsed on first use.
    ///
    /// # Panics
    /// Never in a released build: the embedded table is validated by the test suite.
    pub fn builtin() -> &'static CloudRules {
        static TABLE: OnceLock<CloudRules> = OnceLock::new();
        TABLE.get_or_init(|| CloudRules::parse(include_str!("../../data/cloud.yaml")).expect("embedded data/cloud.yaml is valid"))
    }

    /// Parses and compiles the YAML table.
    pub fn parse(text: &str) -> Result<Self, String> {
        let table: Table = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
        let service_index: HashMap<String, usize> = table.services.iter().enumerate().map(|(i, s)| (s.id.clone(), i)).collect();
        if service_index.len() != table.services.len() {
            return Err("duplicate service id".into());
        }
        if let Some(rule) = table.rules.iter().find(|r| !service_index.contains_key(&r.service)) {
            return Err(format!("rule `{}` names unknown service `{}`", rule.pattern, rule.service));
        }
        let mut grouped: BTreeMap<Subject, Vec<usize>> = BTreeMap::new();
        for (i, rule) in table.rules.iter().enumerate() {
            grouped.entry(rule.on).or_default().push(i);
        }
        // Compiling the matchers is most of the start-up time: half of the subjects (by number of
        // rules) are compiled on a thread of their own. Not on rayon's pool: this runs inside a
        // `OnceLock`, which a pool thread could re-enter while it waits for stolen work.
        let rules = &table.rules;
        let mut groups: Vec<(Subject, Vec<usize>)> = grouped.into_iter().collect();
        groups.sort_by_key(|(_, ids)| std::cmp::Reverse(ids.len()));
        let (theirs, mine): (Vec<_>, Vec<_>) = groups.into_iter().enumerate().partition(|(k, _)| k % 2 == 0);
        let compile = |groups: Vec<(usize, (Subject, Vec<usize>))>| {
            groups.into_iter().map(|(_, (subject, ids))| SubjectMatcher::compile(rules, ids).map(|matcher| (subject, matcher))).collect::<Result<Vec<_>, _>>()
        };
        let (theirs, mine, public_images, field_values) = std::thread::scope(|scope| {
            let theirs = scope.spawn(|| compile(theirs));
            let mine = compile(mine);
            let field_values = rules
                .iter()
                .enumerate()
                .filter(|(_, r)| r.on == Subject::Field)
                .map(|(i, r)| glob_regex(&r.pattern).map(|re| (i, re)))
                .collect::<Result<HashMap<_, _>, _>>();
            let public_images = glob_set(table.public_images.iter());
            let theirs = theirs.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (theirs, mine, public_images, field_values)
        });
        let by_subject: BTreeMap<Subject, SubjectMatcher> = theirs?.into_iter().chain(mine?).collect();
        let (public_images, field_values) = (public_images?, field_values?);
        let vendor_hosts = glob_set(table.vendor_registries.iter().map(|v| &v.pattern))?;
        let mut field_rules_by_kind: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, rule) in table.rules.iter().enumerate().filter(|(_, r)| r.on == Subject::Field) {
            if let Some(kind) = &rule.kind {
                field_rules_by_kind.entry(kind.clone()).or_default().push(i);
            }
        }
        Ok(CloudRules {
            services: table.services,
            rules: table.rules,
            service_index,
            by_subject,
            field_values,
            field_rules_by_kind,
            public_images,
            vendor_registries: table.vendor_registries,
            vendor_hosts,
        })
    }

    /// Every service.
    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// The service with this id.
    pub fn service(&self, id: &str) -> Option<&Service> {
        self.service_index.get(id).map(|&i| &self.services[i])
    }

    /// Every rule.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Whether some rule for `subject` has a pattern that matches `key` (values aside):
    /// when not, [`CloudRules::find`] finds nothing for `key` whatever the value.
    pub fn may_match(&self, subject: Subject, key: &str) -> bool {
        let Some(matcher) = self.by_subject.get(&subject) else { return false };
        // Most subjects match nothing: one pass of the set's DFA says so cheaply.
        matcher.required.is_none_or(|c| key.as_bytes().contains(&c)) && matcher.keys.is_match(key)
    }

    /// The first rule for `subject` whose pattern matches `key` (and whose value glob, if any, matches `value`).
    pub fn find(&self, subject: Subject, key: &str, value: Option<&str>) -> Option<Match<'_>> {
        if !self.may_match(subject, key) {
            return None;
        }
        self.first_match(subject, key, value)
    }

    /// [`CloudRules::find`] for a key [`CloudRules::may_match`] has already let through.
    pub(crate) fn first_match(&self, subject: Subject, key: &str, value: Option<&str>) -> Option<Match<'_>> {
        let matcher = self.by_subject.get(&subject)?;
        let hits = matcher.keys.matches(key);
        let pos = hits.iter().find(|&pos| match &matcher.values[pos] {
            None => true,
            Some(re) => value.is_some_and(|v| re.is_match(v)),
        })?;
        let rule = &self.rules[matcher.rule_ids[pos]];
        Some(Match { rule, service: &self.services[self.service_index[&rule.service]] })
    }

    /// Rules of the `field` subject that apply to objects of `group` and `kind`, as (rule index, rule).
    pub fn field_rules<'a>(&'a self, group: &'a str, kind: &str) -> impl Iterator<Item = (usize, &'a Rule)> + use<'a> {
        let rules = self.field_rules_by_kind.get(kind).into_iter().flatten().map(|&i| (i, &self.rules[i]));
        rules.filter(move |(_, rule)| rule.group.as_deref().is_none_or(|g| g == group))
    }

    /// The match for the `field` rule at `index` when its value glob matches `value`.
    pub fn field_match(&self, index: usize, value: &str) -> Option<Match<'_>> {
        let rule = &self.rules[index];
        let matches = self.field_values.get(&index)?.is_match(value);
        matches.then(|| Match { rule, service: &self.services[self.service_index[&rule.service]] })
    }

    /// Whether an image (registry/path) is on a known public registry path.
    pub fn is_public_image(&self, image_path: &str) -> bool {
        self.public_images.is_match(image_path)
    }

    /// The cloud vendor's public registry a registry host is, if any (the first in file order).
    pub fn vendor_registry(&self, host: &str) -> Option<&VendorRegistry> {
        self.vendor_hosts.matches(host).iter().next().map(|i| &self.vendor_registries[i])
    }

    /// Every vendor registry.
    pub fn vendor_registries(&self) -> &[VendorRegistry] {
        &self.vendor_registries
    }
}

impl SubjectMatcher {
    fn compile(rules: &[Rule], rule_ids: Vec<usize>) -> Result<Self, String> {
        let keys = glob_set(rule_ids.iter().map(|&i| &rules[i].pattern))?;
        // Punctuation only: it has no other case for the case-insensitive match to accept.
        let required = b"./:@_-".iter().copied().find(|&c| rule_ids.iter().all(|&i| rules[i].pattern.as_bytes().contains(&c)));
        let values = rule_ids.iter().map(|&i| rules[i].value.as_deref().map(glob_regex).transpose()).collect::<Result<_, _>>()?;
        Ok(SubjectMatcher { required, keys, rule_ids, values })
    }
}

fn glob_to_regex(glob: &str) -> String {
    let body: Vec<String> = glob.split('*').map(regex::escape).collect();
    format!("^{}$", body.join(".*"))
}

fn glob_regex(glob: &str) -> Result<Regex, String> {
    regex::RegexBuilder::new(&glob_to_regex(glob)).case_insensitive(true).build().map_err(|e| e.to_string())
}

fn glob_set<'a>(globs: impl Iterator<Item = &'a String>) -> Result<RegexSet, String> {
    RegexSetBuilder::new(globs.map(|g| glob_to_regex(g))).case_insensitive(true).build().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = r#"
services:
  - id: bus
    provider: azure
    name: Bus
    category: messaging
    counterparts: {oss: RabbitMQ, aks: keep, eks: SQS, gke: Pub/Sub}
    source: doc
rules:
  - {service: bus, on: host, match: "*.special.windows.net", source: doc}
  - {service: bus, on: host, match: "*.windows.net", source: doc}
  - {service: bus, on: annotation, match: "kubernetes.io/ingress.class", value: "azure/*", source: doc}
public_images: ["gcr.io/google_containers/*"]
"#;

    #[test]
    fn first_rule_in_file_order_wins() {
        let rules = CloudRules::parse(TABLE).unwrap();
        let hit = rules.find(Subject::Host, "x.special.windows.net", None).unwrap();
        assert_eq!(hit.rule.pattern, "*.special.windows.net");
        assert!(rules.find(Subject::Host, "windows.net.example", None).is_none());
    }

    #[test]
    fn value_globs_must_match_too() {
        let rules = CloudRules::parse(TABLE).unwrap();
        let key = "kubernetes.io/ingress.class";
        assert!(rules.find(Subject::Annotation, key, Some("azure/application-gateway")).is_some());
        assert!(rules.find(Subject::Annotation, key, Some("nginx")).is_none());
    }

    #[test]
    fn public_images_are_recognised() {
        let rules = CloudRules::parse(TABLE).unwrap();
        assert!(rules.is_public_image("gcr.io/google_containers/heapster"));
        assert!(!rules.is_public_image("gcr.io/acme/app"));
    }

    #[test]
    fn unknown_service_is_rejected() {
        let bad = TABLE.replace("{service: bus, on: host, match: \"*.windows.net\"", "{service: nope, on: host, match: \"*.windows.net\"");
        let err = CloudRules::parse(&bad).err().expect("unknown service is rejected");
        assert!(err.contains("nope"), "{err}");
    }
}
