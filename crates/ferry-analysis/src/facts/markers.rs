//! Cloud markers outside an object's own fields: the Helm values of Flux HelmReleases and Argo CD
//! Applications (read like the manifests they become), OpenTelemetry collector configurations,
//! chart repository URLs, container flags, hostPath volumes, vendor registries and a Service's
//! `loadBalancerIP`. Everything matched comes from the cloud table (`data/cloud.yaml`); this
//! module only says where to look, and only objects of the kinds concerned are walked.

use std::fmt::Write as _;

use ferry_model::DocNode;

use super::{Extractor, Finding, LEGACY_INGRESS_CLASS, entries, items, split_image};
use crate::assessment::WarningLevel;
use crate::hosts::host_tokens;
use crate::knowledge::Subject;

/// The finding code of an image from a cloud vendor's public registry.
pub const VENDOR_REGISTRY_IMAGE: &str = "vendor-registry-image";

/// The finding code of a Service that asks for a load balancer address.
pub const LOAD_BALANCER_IP: &str = "load-balancer-ip";

/// The bit [`crate::Strings::may_match`] remembers registries of no vendor under (above every [`Subject`]).
const VENDOR_BIT: u32 = 31;

/// The sections of an OpenTelemetry collector configuration whose keys are component ids
/// (<https://opentelemetry.io/docs/collector/configuration/>).
const COLLECTOR_SECTIONS: &[&str] = &["receivers", "exporters", "extensions"];

/// Value keys that hold an image reference (`image: repo/name:tag`, `image.repository`) or a registry host.
const IMAGE_KEYS: &[&str] = &["image", "repository"];

/// Value keys that name an ingress class (`ingress.className`, `ingressClassName`).
const INGRESS_CLASS_KEYS: &[&str] = &["className", "ingressClassName"];

/// One `key: value` of Helm values or of a collector configuration, wherever it was read.
#[derive(Clone, Copy)]
struct Entry<'t> {
    key: &'t str,
    value: Option<&'t str>,
    line: u32,
    /// A key of a collector's `receivers`, `exporters` or `extensions`.
    component: bool,
}

impl Extractor<'_> {
    /// Markers in the values and sources of the custom kinds that hold other objects' configuration.
    pub(super) fn custom_markers(&mut self, root: DocNode<'_>) {
        let id = self.id.clone();
        match (id.group(), &*id.kind) {
            ("helm.toolkit.fluxcd.io" | "helm.fluxcd.io", "HelmRelease") => self.values_tree(root.at(&["spec", "values"]), "spec.values"),
            ("argoproj.io", "Application") => self.application_sources(root.get("spec"), "spec"),
            ("argoproj.io", "ApplicationSet") => self.application_sources(root.at(&["spec", "template", "spec"]), "spec.template.spec"),
            ("opentelemetry.io", "OpenTelemetryCollector") => match root.at(&["spec", "config"]) {
                Some(config) if config.as_str().is_some() => self.values_text(config, "spec.config", false),
                config => self.values_tree(config, "spec.config"),
            },
            _ => {}
        }
    }

    /// An Argo CD Application's sources (`source`, `sources[]`): Helm values as a string and as an
    /// object, Helm parameters, kustomize images (<https://argo-cd.readthedocs.io/en/stable/user-guide/helm/>).
    fn application_sources(&mut self, spec: Option<DocNode<'_>>, prefix: &str) {
        let Some(spec) = spec else { return };
        let single = spec.get("source").map(|s| (s, format!("{prefix}.source")));
        let many = items(spec.get("sources")).enumerate().map(|(i, s)| (s, format!("{prefix}.sources[{i}]")));
        for (source, path) in single.into_iter().chain(many) {
            if let Some(values) = source.at(&["helm", "values"]) {
                self.values_text(values, &format!("{path}.helm.values"), true);
            }
            self.values_tree(source.at(&["helm", "valuesObject"]), &format!("{path}.helm.valuesObject"));
            for (i, parameter) in items(source.at(&["helm", "parameters"])).enumerate() {
                let (Some(name), Some(value)) = (parameter.str_at("name"), parameter.get("value")) else { continue };
                let key = last_segment(name).replace("\\.", ".");
                let entry = Entry { key: &key, value: value.as_str(), line: value.line(), component: false };
                self.values_entry(entry, &|| format!("{path}.helm.parameters[{i}].value"));
            }
            for (i, image) in items(source.at(&["kustomize", "images"])).enumerate() {
                if let Some(reference) = image.as_str() {
                    // `NAME=NEW:TAG` overrides an image; the new reference is what runs.
                    let reference = reference.rsplit_once('=').map_or(reference, |(_, new)| new);
                    self.image_marker(reference, image.line(), &|| format!("{path}.kustomize.images[{i}]"), true);
                }
            }
        }
    }

    /// Every entry of a values (or configuration) tree, with its path.
    fn values_tree(&mut self, node: Option<DocNode<'_>>, path: &str) {
        let Some(node) = node else { return };
        let mut at = path.to_owned();
        self.walk_values(node, &mut at, false);
    }

    fn walk_values(&mut self, node: DocNode<'_>, at: &mut String, components: bool) {
        let base = at.len();
        if node.is_seq() {
            for (i, item) in node.items().enumerate() {
                let _ = write!(at, "[{i}]");
                self.walk_values(item, at, false);
                at.truncate(base);
            }
            return;
        }
        for (key, value) in node.entries() {
            at.push('.');
            at.push_str(key);
            let entry = Entry { key, value: value.as_str(), line: value.line(), component: components };
            self.values_entry(entry, &|| at.clone());
            if !value.is_map() && !value.is_seq() {
                at.truncate(base);
                continue;
            }
            let children_are_components = value.is_map() && COLLECTOR_SECTIONS.contains(&key);
            self.walk_values(value, at, children_are_components);
            at.truncate(base);
        }
    }

    /// Values written as a YAML string (an Argo CD `helm.values`, a collector configuration in a
    /// ConfigMap or an OpenTelemetryCollector): read line by line, each `key: value` at its own line.
    fn values_text(&mut self, node: DocNode<'_>, path: &str, values: bool) {
        let Some(text) = node.as_str() else { return };
        // A block scalar's text starts on the line after its key.
        let first_line = node.line() + u32::from(text.contains('\n'));
        let mut section: Option<(usize, Option<usize>)> = None;
        for (offset, raw) in text.lines().enumerate() {
            let trimmed = raw.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let indent = raw.len() - trimmed.len();
            let line = first_line + offset as u32;
            let component = match &mut section {
                Some((outer, child)) if indent > *outer => *child.get_or_insert(indent) == indent && !trimmed.starts_with('-'),
                _ => {
                    section = None;
                    false
                }
            };
            let Some((key, value)) = text_entry(trimmed) else { continue };
            if value.is_none() && COLLECTOR_SECTIONS.contains(&key) {
                section = Some((indent, None));
            }
            if values || component {
                self.values_entry(Entry { key, value, line, component }, &|| path.to_owned());
            }
        }
    }

    /// What one entry of values says: a collector component, an annotation, an ingress class, an
    /// image or registry, and cloud hosts in its value.
    fn values_entry(&mut self, entry: Entry<'_>, path: &dyn Fn() -> String) {
        let Entry { key, value, line, component } = entry;
        if component {
            let component_type = key.split('/').next().unwrap_or(key);
            if let Some(hit) = self.find(Subject::OtelComponent, component_type, None) {
                self.hit(hit, Subject::OtelComponent, key.to_owned(), line, path());
            }
            return;
        }
        let Some(value) = value.filter(|v| !v.is_empty()) else { return };
        if key.contains('/') {
            if let Some(hit) = self.find(Subject::Annotation, key, Some(value)) {
                let matched = if hit.rule.value.is_some() { format!("{key}: {value}") } else { key.to_owned() };
                self.hit(hit, Subject::Annotation, matched, line, path());
            }
            if key == LEGACY_INGRESS_CLASS {
                self.ingress_class_value(value, line, path);
            }
        } else if INGRESS_CLASS_KEYS.contains(&key) {
            self.ingress_class_value(value, line, path);
        } else if IMAGE_KEYS.contains(&key) && value.contains('/') {
            self.image_marker(value, line, path, true);
        } else if key == "registry" && value.contains('.') {
            self.image_marker(&format!("{value}/"), line, path, true);
        }
        for token in host_tokens(value) {
            if let Some(hit) = self.kb.cloud.find(Subject::Host, &token.host, None) {
                self.hit(hit, Subject::Host, token.host.to_string(), line, path());
            }
        }
    }

    fn ingress_class_value(&mut self, value: &str, line: u32, path: &dyn Fn() -> String) {
        if let Some(hit) = self.find(Subject::IngressClass, value, None) {
            self.hit(hit, Subject::IngressClass, value.to_owned(), line, path());
        }
    }

    /// An image reference, of a container or in values: the cloud rules for its path and registry,
    /// else (when `note`) a note for a vendor's public registry. Returns the registry host.
    pub(super) fn image_marker(&mut self, reference: &str, line: u32, path: &dyn Fn() -> String, note: bool) -> String {
        let (registry, repository) = split_image(reference);
        if let Some(hit) = self.kb.cloud.find(Subject::ImagePath, &repository, None) {
            self.hit(hit, Subject::ImagePath, reference.to_owned(), line, path());
        } else if !self.kb.cloud.is_public_image(&repository)
            && let Some(hit) = self.find(Subject::Image, &registry, None)
        {
            self.hit(hit, Subject::Image, reference.to_owned(), line, path());
        } else if note {
            self.vendor_registry(reference, &registry, line, path);
        }
        registry
    }

    fn vendor_registry(&mut self, reference: &str, registry: &str, line: u32, path: &dyn Fn() -> String) {
        let cloud = &self.kb.cloud;
        if !self.strings.may_match(VENDOR_BIT, registry, || cloud.vendor_registry(registry).is_some()) {
            return;
        }
        let Some(vendor) = cloud.vendor_registry(registry) else { return };
        self.facts.findings.push(Finding {
            code: VENDOR_REGISTRY_IMAGE,
            severity: WarningLevel::Note,
            message: format!(
                "image `{reference}` comes from {} public registry `{registry}`: no managed-cloud dependency, but the target cluster must reach that registry, or the image must go to {}",
                vendor.vendor, vendor.counterpart
            ),
            line,
            path: path(),
        });
    }

    /// A chart repository's URL (`https://`, `oci://` or bare), read as a registry.
    pub(super) fn registry_url(&mut self, node: DocNode<'_>, path: &str) {
        let Some(url) = node.as_str() else { return };
        let bare = url.split_once("://").map_or(url, |(_, rest)| rest).trim_end_matches('/');
        self.image_marker(bare, node.line(), &|| path.to_owned(), false);
    }

    /// The flags of a container's command and args (`--flag=value`, or `--flag value` as two items).
    pub(super) fn arguments(&mut self, list: Option<DocNode<'_>>, path: &dyn Fn(usize) -> String) {
        let mut args = items(list).enumerate().peekable();
        while let Some((k, arg)) = args.next() {
            let Some(text) = arg.as_str().filter(|a| a.starts_with("--")) else { continue };
            let (flag, value) = match text.split_once('=') {
                Some((flag, value)) => (flag, Some(value)),
                None => (text, args.peek().and_then(|(_, next)| next.as_str()).filter(|next| !next.starts_with('-'))),
            };
            if let Some(hit) = self.find(Subject::Argument, flag, value) {
                let matched = value.map_or_else(|| flag.to_owned(), |v| format!("{flag}={v}"));
                self.hit(hit, Subject::Argument, matched, arg.line(), path(k));
            }
        }
    }

    /// Collector components in a ConfigMap value that holds a collector configuration (one that
    /// exports: a configuration without `exporters` is no collector's).
    pub(super) fn collector_config(&mut self, value: DocNode<'_>, path: &dyn Fn() -> String) {
        if value.as_str().is_some_and(|text| text.contains("exporters:")) {
            self.values_text(value, &path(), false);
        }
    }

    /// `spec.loadBalancerIP`: deprecated, and an address of the source platform.
    pub(super) fn load_balancer_ip(&mut self, spec: Option<DocNode<'_>>) {
        let Some(node) = spec.and_then(|s| s.get("loadBalancerIP")) else { return };
        let Some(ip) = node.as_str().filter(|ip| !ip.is_empty()) else { return };
        self.facts.findings.push(Finding {
            code: LOAD_BALANCER_IP,
            severity: WarningLevel::Warning,
            message: format!(
                "`spec.loadBalancerIP: {ip}` is deprecated since Kubernetes 1.24 and asks the source platform's load balancer for an address of its own (a reserved public IP, an address of the cloud's subnet): the target will not have it; reserve an address there and request it the target's way (its load-balancer annotation, or MetalLB's `metallb.universe.tf/loadBalancerIPs`)"
            ),
            line: node.line(),
            path: "spec.loadBalancerIP".into(),
        });
    }

    /// A hostPath volume's path (pods and PersistentVolumes).
    pub(super) fn host_path(&mut self, source: DocNode<'_>, path: &str) {
        if let Some(node) = source.at(&["hostPath", "path"]) {
            self.scalar_subject(Some(node), Subject::HostPath, &format!("{path}.hostPath.path"));
        }
    }

    /// The keys of a Secret, as configuration keys (a provider's `azure.json`, `AZURE_CLIENT_SECRET`).
    pub(super) fn secret_keys(&mut self, root: DocNode<'_>) {
        for field in ["data", "stringData"] {
            for (key, node) in entries(root.get(field)) {
                self.config_key(key, node.line(), || format!("{field}.{key}"));
            }
        }
    }
}

/// The key and value of a YAML line `key: value` (`- key: value` too), unquoted; `None` for other lines.
fn text_entry(line: &str) -> Option<(&str, Option<&str>)> {
    let line = line.strip_prefix("- ").unwrap_or(line);
    let (key, rest) = line.split_once(':')?;
    if !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return None;
    }
    let key = key.trim().trim_matches(['"', '\'']);
    let rest = rest.trim();
    let value = match rest.find(" #") {
        Some(comment) => rest[..comment].trim_end(),
        None => rest,
    };
    let value = value.trim_matches(['"', '\'']);
    Some((key, (!value.is_empty() && value != "|" && value != ">").then_some(value)))
}

/// The last segment of a Helm `--set` path (`a.annotations.kubernetes\.io/tls-acme` →
/// `kubernetes.io/tls-acme`): dots escaped with `\` belong to the segment.
fn last_segment(name: &str) -> &str {
    let bytes = name.as_bytes();
    let split = (0..bytes.len()).rev().find(|&i| bytes[i] == b'.' && (i == 0 || bytes[i - 1] != b'\\'));
    split.map_or(name, |i| &name[i + 1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_lines_split_into_key_and_value() {
        assert_eq!(text_entry("exporters:"), Some(("exporters", None)));
        assert_eq!(text_entry("kubernetes.io/ingress.class: nginx # the class"), Some(("kubernetes.io/ingress.class", Some("nginx"))));
        assert_eq!(text_entry("- name: \"x\""), Some(("name", Some("x"))));
        assert_eq!(text_entry("endpoint: http://a:4317"), Some(("endpoint", Some("http://a:4317"))));
        assert_eq!(text_entry("- otelcol_process_uptime"), None);
        assert_eq!(text_entry("url: https://x"), Some(("url", Some("https://x"))));
    }

    #[test]
    fn helm_set_paths_keep_escaped_dots() {
        assert_eq!(last_segment(r"ingress.annotations.kubernetes\.io/tls-acme"), r"kubernetes\.io/tls-acme", "unescaped by the caller");
        assert_eq!(last_segment("replicas"), "replicas");
    }
}
