//! Which objects a rule applies to: `group/Kind` globs, namespace globs, a name
//! regex and a label selector in kubectl's `-l` syntax. Every pattern is
//! compiled while the rules file is read, so a bad one is reported with its line.

use std::fmt;

use ferry_analysis::selector::Selector;
use regex::Regex;
use serde::Deserialize;

use crate::object::Identity;

/// A shell-style pattern: `*` stands for any run of characters, `?` for one. A pattern
/// without either compares as text (most of the built-in tables' kinds), with no regex built.
#[derive(Debug, Clone)]
pub struct Glob {
    text: String,
    regex: Option<Regex>,
}

impl Glob {
    /// Compiles `text`.
    pub fn new(text: &str) -> Result<Glob, String> {
        if !text.contains(['*', '?']) {
            return Ok(Glob { text: text.to_owned(), regex: None });
        }
        let mut pattern = String::from("^");
        for c in text.chars() {
            match c {
                '*' => pattern.push_str("(.*)"),
                '?' => pattern.push('.'),
                c => pattern.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
            }
        }
        pattern.push('$');
        let regex = Regex::new(&pattern).map_err(|e| format!("`{text}` is not a valid pattern: {e}"))?;
        Ok(Glob { text: text.to_owned(), regex: Some(regex) })
    }

    /// Whether `value` matches the whole pattern.
    pub fn matches(&self, value: &str) -> bool {
        match &self.regex {
            Some(_) if self.text == "*" => true,
            Some(regex) => regex.is_match(value),
            None => self.text == value,
        }
    }

    /// What each `*` stood for, when `value` matches.
    pub fn captures<'v>(&self, value: &'v str) -> Option<Vec<&'v str>> {
        let Some(regex) = &self.regex else { return (self.text == value).then(Vec::new) };
        let captures = regex.captures(value)?;
        Some(captures.iter().skip(1).map(|c| c.map_or("", |m| m.as_str())).collect())
    }

    /// How many `*` the pattern has.
    pub fn wildcards(&self) -> usize {
        self.text.matches('*').count()
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl TryFrom<String> for Glob {
    type Error = String;

    fn try_from(text: String) -> Result<Glob, String> {
        Glob::new(&text)
    }
}

impl<'de> Deserialize<'de> for Glob {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Glob, D::Error> {
        Glob::try_from(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// `group/Kind` with globs on both sides (`apps/*`, `*/Deployment`), or a bare
/// `Kind` glob for any group. The core group is written `core`.
#[derive(Debug, Clone)]
pub struct KindPattern {
    group: Option<Glob>,
    kind: Glob,
}

impl KindPattern {
    /// Parses `group/Kind` or `Kind`.
    pub fn new(text: &str) -> Result<KindPattern, String> {
        let (group, kind) = match text.rsplit_once('/') {
            Some((group, kind)) => (Some(Glob::new(if group.is_empty() { "core" } else { group })?), kind),
            None => (None, text),
        };
        if kind.is_empty() {
            return Err(format!("`{text}` names no kind (write `group/Kind`, `group/*` or `Kind`)"));
        }
        Ok(KindPattern { group, kind: Glob::new(kind)? })
    }

    /// Whether an object of `group` (`""` = core) and `kind` matches.
    pub fn matches(&self, group: &str, kind: &str) -> bool {
        let group = if group.is_empty() { "core" } else { group };
        self.kind.matches(kind) && self.group.as_ref().is_none_or(|g| g.matches(group))
    }
}

impl<'de> Deserialize<'de> for KindPattern {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<KindPattern, D::Error> {
        KindPattern::new(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A regular expression on `metadata.name` (unanchored: write `^web$` for an exact name).
#[derive(Debug, Clone)]
pub struct NameRegex(Regex);

impl NameRegex {
    /// Whether `name` contains a match.
    pub fn matches(&self, name: &str) -> bool {
        self.0.is_match(name)
    }
}

impl<'de> Deserialize<'de> for NameRegex {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<NameRegex, D::Error> {
        let text = String::deserialize(d)?;
        Regex::new(&text).map(NameRegex).map_err(|e| serde::de::Error::custom(format!("`{text}` is not a regular expression: {e}")))
    }
}

/// A label selector in kubectl's `-l` syntax: `app=web,tier in (front,back),!canary,env!=dev`.
#[derive(Debug, Clone)]
pub struct LabelSelector(Selector);

impl LabelSelector {
    /// Parses the selector syntax (one parser with `-l`: [`Selector::parse`]).
    pub fn parse(text: &str) -> Result<LabelSelector, String> {
        Selector::parse(text).map(LabelSelector)
    }

    /// Whether labels satisfy the selector.
    pub fn matches(&self, labels: &[(String, String)]) -> bool {
        self.0.matches(labels)
    }
}

impl<'de> Deserialize<'de> for LabelSelector {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<LabelSelector, D::Error> {
        LabelSelector::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Which objects a rule applies to; every given condition must hold, and an
/// empty `match` matches every object. Matching sees the object as it entered
/// the rules stage (before any rule renamed its namespace or labels).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Match {
    /// `group/Kind` globs, any of (`apps/*`, `*/Deployment`, `core/Service`, `Ingress`).
    #[serde(default)]
    pub kinds: Vec<KindPattern>,
    /// Namespace globs, any of; objects without `metadata.namespace` never match.
    #[serde(default)]
    pub namespaces: Vec<Glob>,
    /// Regular expression on the name.
    #[serde(default)]
    pub name: Option<NameRegex>,
    /// Label selector (`app=web,tier in (front,back)`).
    #[serde(default)]
    pub labels: Option<LabelSelector>,
}

impl Match {
    /// Whether the object with this identity is selected.
    pub(crate) fn matches(&self, id: &Identity) -> bool {
        (self.kinds.is_empty() || self.kinds.iter().any(|k| k.matches(&id.group, &id.kind)))
            && (self.namespaces.is_empty() || id.namespace.as_deref().is_some_and(|ns| self.namespaces.iter().any(|g| g.matches(ns))))
            && self.name.as_ref().is_none_or(|n| n.matches(&id.name))
            && self.labels.as_ref().is_none_or(|l| l.matches(&id.labels))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn globs_match_whole_values_and_capture_stars() {
        let glob = Glob::new("service.beta.kubernetes.io/azure-*").unwrap();
        assert!(glob.matches("service.beta.kubernetes.io/azure-load-balancer-internal"));
        assert!(!glob.matches("x.service.beta.kubernetes.io/azure-a"));
        assert_eq!(glob.captures("service.beta.kubernetes.io/azure-dns").unwrap(), ["dns"]);
        assert!(Glob::new("a.b").unwrap().matches("a.b") && !Glob::new("a.b").unwrap().matches("axb"));
        assert!(Glob::new("shop-?").unwrap().matches("shop-1"));
        assert_eq!((Glob::new("web").unwrap().captures("web"), Glob::new("web").unwrap().captures("web2")), (Some(vec![]), None));
    }

    #[test]
    fn kind_patterns_know_the_core_group() {
        let apps = KindPattern::new("apps/*").unwrap();
        assert!(apps.matches("apps", "Deployment") && !apps.matches("", "Service"));
        let any_deployment = KindPattern::new("*/Deployment").unwrap();
        assert!(any_deployment.matches("apps", "Deployment") && any_deployment.matches("extensions", "Deployment"));
        assert!(KindPattern::new("core/Service").unwrap().matches("", "Service"));
        assert!(!KindPattern::new("core/Service").unwrap().matches("serving.knative.dev", "Service"));
        assert!(KindPattern::new("Service").unwrap().matches("serving.knative.dev", "Service"));
        assert!(KindPattern::new("apps/").is_err());
    }

    #[test]
    fn selectors_in_kubectl_syntax() {
        let selector = LabelSelector::parse("app=web, tier in (front,back),!canary,env!=dev,team").unwrap();
        assert!(selector.matches(&labels(&[("app", "web"), ("tier", "front"), ("team", "a")])));
        assert!(!selector.matches(&labels(&[("app", "web"), ("tier", "db"), ("team", "a")])));
        assert!(!selector.matches(&labels(&[("app", "web"), ("tier", "front"), ("team", "a"), ("canary", "1")])));
        assert!(!selector.matches(&labels(&[("app", "web"), ("tier", "front"), ("team", "a"), ("env", "dev")])));
        assert!(!selector.matches(&labels(&[("app", "web"), ("tier", "front")])));
        assert!(LabelSelector::parse("app==web").unwrap().matches(&labels(&[("app", "web")])));
        assert!(LabelSelector::parse("tier notin (db)").unwrap().matches(&labels(&[])));
        for bad in ["", "a=b=c", "tier in front", "=x", "a b", "a/b/c=1", "/x=1", "env in ((a))"] {
            assert!(LabelSelector::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn match_requires_every_condition() {
        let rule: Match = serde_saphyr::from_str("kinds: [apps/*]\nnamespaces: [shop-*]\nname: ^web\nlabels: tier=front").unwrap();
        let id = Identity {
            group: "apps".into(),
            kind: "Deployment".into(),
            namespace: Some("shop-eu".into()),
            name: "web-1".into(),
            labels: labels(&[("tier", "front")]),
        };
        assert!(rule.matches(&id));
        assert!(!rule.matches(&Identity { namespace: None, ..id.clone() }));
        assert!(!rule.matches(&Identity { name: "api".into(), ..id.clone() }));
        assert!(!rule.matches(&Identity { group: "batch".into(), ..id }));
        assert!(Match::default().matches(&Identity::default()));
    }
}
