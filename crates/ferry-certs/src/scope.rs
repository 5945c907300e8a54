//! What the input holds that concerns certificates: TLS Secrets, cert-manager Certificates,
//! Issuers and ClusterIssuers, every Secret (for issuer credentials), and the Ingresses that
//! serve TLS Secrets.

use std::collections::{BTreeMap, HashMap};

use ferry_model::{Node, Object};

use crate::duration;
use crate::finding::Subject;

/// cert-manager's API group.
pub const GROUP: &str = "cert-manager.io";
/// The Secret type of TLS certificates.
const TLS_TYPE: &str = "kubernetes.io/tls";

/// An issuer reference: a Certificate's `spec.issuerRef`, or what ingress-shim would write.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IssuerRef {
    /// Issuer name.
    pub name: String,
    /// `Issuer` or `ClusterIssuer` (or an external issuer's kind).
    pub kind: String,
    /// `cert-manager.io` or an external issuer's group.
    pub group: String,
}

impl IssuerRef {
    /// A reference as cert-manager reads it: an empty kind is `Issuer`, an empty group `cert-manager.io`.
    pub fn new(name: &str, kind: Option<&str>, group: Option<&str>) -> IssuerRef {
        let or = |value: Option<&str>, default: &str| value.filter(|v| !v.is_empty()).unwrap_or(default).to_owned();
        IssuerRef { name: name.to_owned(), kind: or(kind, "Issuer"), group: or(group, GROUP) }
    }

    /// Whether this is an issuer cert-manager itself implements.
    pub fn is_cert_manager(&self) -> bool {
        self.group == GROUP && (self.kind == "Issuer" || self.kind == "ClusterIssuer")
    }
}

impl std::fmt::Display for IssuerRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} `{}` ({})", self.kind, self.name, self.group)
    }
}

/// What cert-manager wants a Secret to hold: from a Certificate, or from an Ingress through ingress-shim.
#[derive(Debug, Clone)]
pub struct Desired {
    /// The Certificate, or the Ingress for ingress-shim.
    pub from: Subject,
    /// Whether ingress-shim makes the Certificate from an Ingress.
    pub ingress_shim: bool,
    /// The issuer.
    pub issuer: IssuerRef,
    /// `spec.dnsNames` (the TLS entry's hosts for ingress-shim).
    pub dns_names: Vec<String>,
    /// `spec.renewBefore`, in seconds.
    pub renew_before: Option<i64>,
    /// `spec.renewBeforePercentage`.
    pub renew_before_percentage: Option<i64>,
}

/// A host an Ingress serves with a TLS Secret.
#[derive(Debug, Clone)]
pub struct Host {
    /// The host name.
    pub name: String,
    /// The Ingress.
    pub ingress: Subject,
}

/// One TLS Secret (present or not) with what manages and uses it.
#[derive(Debug, Clone)]
pub struct Unit<'a> {
    /// The Secret, as a subject even when absent.
    pub subject: Subject,
    /// The Secret, if in the input.
    pub secret: Option<&'a Object>,
    /// What cert-manager wants it to hold, if it manages it.
    pub desired: Option<Desired>,
    /// Hosts Ingresses serve with it.
    pub hosts: Vec<Host>,
}

/// An Issuer or ClusterIssuer.
#[derive(Debug, Clone)]
pub struct Issuer<'a> {
    /// The object.
    pub object: &'a Object,
    /// The subject naming it.
    pub subject: Subject,
}

impl Issuer<'_> {
    /// Whether it is an ACME issuer.
    pub fn acme(&self) -> Option<&Node> {
        self.object.root.at(&["spec", "acme"])
    }

    /// The namespace its Secrets live in: its own, or cert-manager's cluster resource namespace.
    pub fn secret_namespace(&self) -> &str {
        self.object.id.namespace.as_deref().unwrap_or(CLUSTER_RESOURCE_NAMESPACE)
    }
}

/// Where cert-manager reads a ClusterIssuer's Secrets by default (`--cluster-resource-namespace`).
pub const CLUSTER_RESOURCE_NAMESPACE: &str = "cert-manager";

/// The objects that concern certificates.
#[derive(Debug, Default)]
pub struct Scope<'a> {
    /// Every Secret, by (namespace, name).
    secrets: HashMap<(String, String), &'a Object>,
    /// TLS Secrets, in input order.
    tls: Vec<&'a Object>,
    /// Certificates, in input order.
    certificates: Vec<&'a Object>,
    /// Issuers and ClusterIssuers.
    pub issuers: Vec<Issuer<'a>>,
    /// Ingresses with `spec.tls`.
    ingresses: Vec<&'a Object>,
}

impl<'a> Scope<'a> {
    /// Sorts the objects that concern certificates out of `objects`.
    pub fn of(objects: &'a [Object]) -> Scope<'a> {
        let mut scope = Scope::default();
        for object in objects {
            let id = &object.id;
            match (id.group(), id.kind.as_str()) {
                ("", "Secret") => {
                    let key = (id.namespace.clone().unwrap_or_default(), id.name.clone());
                    scope.secrets.insert(key, object);
                    if object.root.str_at("type") == Some(TLS_TYPE) {
                        scope.tls.push(object);
                    }
                }
                (GROUP, "Certificate") => scope.certificates.push(object),
                (GROUP, "Issuer" | "ClusterIssuer") => scope.issuers.push(Issuer { object, subject: Subject::of(object) }),
                ("networking.k8s.io" | "extensions", "Ingress") if object.root.at(&["spec", "tls"]).is_some() => scope.ingresses.push(object),
                _ => {}
            }
        }
        scope
    }

    /// Whether the Secret `namespace/name` is in the input.
    pub fn has_secret(&self, namespace: &str, name: &str) -> bool {
        self.secrets.contains_key(&(namespace.to_owned(), name.to_owned()))
    }

    /// The issuer `reference` names for an object in `namespace`, if in the input.
    pub fn issuer(&self, namespace: &str, reference: &IssuerRef) -> Option<&Issuer<'a>> {
        if !reference.is_cert_manager() {
            return None;
        }
        let namespace = (reference.kind == "Issuer").then_some(namespace);
        self.issuers.iter().find(|i| i.object.id.kind == reference.kind && i.object.id.name == reference.name && i.object.id.namespace.as_deref() == namespace)
    }

    /// Every TLS Secret, and every Secret a Certificate or an Ingress names but the input lacks,
    /// with what manages and uses it, ordered by namespace and name.
    pub fn units(&self) -> Vec<Unit<'a>> {
        let mut units = Units::new();
        for secret in &self.tls {
            self.unit(&mut units, secret.id.namespace.as_deref().unwrap_or_default(), &secret.id.name);
        }
        // Ingress-shim's own Certificates are made again on the target from the Ingress, so the
        // Ingress says what is wanted; they count only when their Ingress is not in the input.
        for owned_by_ingress in [false, true] {
            for certificate in self.certificates.iter().filter(|c| owned_by_an_ingress(c) == owned_by_ingress) {
                let namespace = certificate.id.namespace.as_deref().unwrap_or_default();
                if let Some(secret) = certificate.root.at(&["spec", "secretName"]).and_then(Node::as_str) {
                    let entry = self.unit(&mut units, namespace, secret);
                    if entry.desired.is_none() {
                        entry.desired = Some(desired_of_certificate(certificate));
                    }
                }
            }
            if !owned_by_ingress {
                self.add_ingresses(&mut units);
            }
        }
        units.into_values().collect()
    }

    /// The unit of the Secret `namespace/name`, made if new.
    fn unit<'u>(&self, units: &'u mut Units<'a>, namespace: &str, name: &str) -> &'u mut Unit<'a> {
        let key = (namespace.to_owned(), name.to_owned());
        let secret = self.secrets.get(&key).copied();
        units.entry(key).or_insert_with(|| Unit { subject: Subject::new("Secret", Some(namespace), name), secret, desired: None, hosts: Vec::new() })
    }

    /// Adds the hosts of every Ingress TLS entry, and ingress-shim's wishes, to the units.
    fn add_ingresses(&self, units: &mut Units<'a>) {
        for ingress in &self.ingresses {
            let namespace = ingress.id.namespace.as_deref().unwrap_or_default();
            let subject = Subject::of(ingress);
            let shim = shim_issuer(ingress);
            for entry in ingress.root.at(&["spec", "tls"]).map(Node::items).unwrap_or_default() {
                let Some(secret) = entry.str_at("secretName") else { continue };
                let hosts = strings(entry.get("hosts"));
                let target = self.unit(units, namespace, secret);
                target.hosts.extend(hosts.iter().map(|h| Host { name: h.clone(), ingress: subject.clone() }));
                if let (Some(issuer), None) = (&shim, &target.desired) {
                    let from = subject.clone();
                    target.desired = Some(Desired {
                        from,
                        ingress_shim: true,
                        issuer: issuer.clone(),
                        dns_names: hosts,
                        renew_before: annotation(ingress, "cert-manager.io/renew-before").and_then(duration::seconds),
                        renew_before_percentage: annotation(ingress, "cert-manager.io/renew-before-percentage").and_then(|p| p.parse().ok()),
                    });
                }
            }
        }
    }
}

/// Units by (namespace, name) of their Secret.
type Units<'a> = BTreeMap<(String, String), Unit<'a>>;

/// Whether an ownerReference names an Ingress: ingress-shim made this Certificate.
pub fn owned_by_an_ingress(object: &Object) -> bool {
    object.root.at(&["metadata", "ownerReferences"]).map(Node::items).unwrap_or_default().iter().any(|o| o.str_at("kind") == Some("Ingress"))
}

/// The annotation on an object, if set.
pub fn annotation<'o>(object: &'o Object, key: &str) -> Option<&'o str> {
    object.root.at(&["metadata", "annotations"]).and_then(|a| a.str_at(key))
}

/// The strings of a list (its other items and a missing list give none).
fn strings(list: Option<&Node>) -> Vec<String> {
    list.map(Node::items).unwrap_or_default().iter().filter_map(Node::as_str).map(str::to_owned).collect()
}

fn desired_of_certificate(certificate: &Object) -> Desired {
    let spec = certificate.root.get("spec");
    let at = |path: &[&str]| spec.and_then(|s| s.at(path)).and_then(Node::as_str);
    let issuer = IssuerRef::new(at(&["issuerRef", "name"]).unwrap_or_default(), at(&["issuerRef", "kind"]), at(&["issuerRef", "group"]));
    let dns_names = strings(spec.and_then(|s| s.get("dnsNames")));
    Desired {
        from: Subject::of(certificate),
        ingress_shim: false,
        issuer,
        dns_names,
        renew_before: at(&["renewBefore"]).and_then(duration::seconds),
        renew_before_percentage: at(&["renewBeforePercentage"]).and_then(|p| p.parse().ok()),
    }
}

/// The issuer ingress-shim would name in the Certificate it makes for this Ingress, if it would make one.
fn shim_issuer(ingress: &Object) -> Option<IssuerRef> {
    let kind = annotation(ingress, "cert-manager.io/issuer-kind");
    let group = annotation(ingress, "cert-manager.io/issuer-group");
    if let Some(name) = annotation(ingress, "cert-manager.io/cluster-issuer") {
        return Some(IssuerRef::new(name, Some("ClusterIssuer"), Some(GROUP)));
    }
    annotation(ingress, "cert-manager.io/issuer").map(|name| IssuerRef::new(name, kind, group))
}
