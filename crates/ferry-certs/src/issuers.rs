//! The checks of Issuers and ClusterIssuers: the Secrets they need are in the input (ACME
//! account key, DNS-01 and other credentials, a CA issuer's key pair), and HTTP-01 solvers,
//! which cannot renew on the target before DNS points at it.

use ferry_model::Node;

use crate::finding::{Finding, Severity};
use crate::scope::{Issuer, Scope};

/// Findings about every issuer in scope; `namespaces` were read (all when empty).
pub fn check(scope: &Scope<'_>, namespaces: &[String]) -> Vec<Finding> {
    scope.issuers.iter().flat_map(|issuer| secrets(issuer, scope, namespaces).into_iter().chain(http01(issuer))).collect()
}

/// The Secrets the issuer names that are not in the input.
fn secrets(issuer: &Issuer<'_>, scope: &Scope<'_>, namespaces: &[String]) -> Vec<Finding> {
    let namespace = issuer.secret_namespace();
    let mut findings = Vec::new();
    let mut named = Vec::new();
    if let Some(spec) = issuer.object.root.get("spec") {
        secret_refs(spec, "spec", &mut named);
    }
    for (path, name) in named {
        if scope.has_secret(namespace, &name) {
            continue;
        }
        let finding = if !namespaces.is_empty() && !namespaces.iter().any(|n| n == namespace) {
            let message = format!("`{path}` names the Secret `{namespace}/{name}`, in a namespace that was not read");
            Finding::new(Severity::Info, "issuer-secret-unchecked", &issuer.subject, message, format!("add `-n {namespace}` to check it"))
        } else if path == "spec.acme.privateKeySecretRef" {
            let message =
                format!("the ACME account key Secret `{namespace}/{name}` is not in the input: cert-manager would register a new ACME account on the target");
            Finding::new(
                Severity::Warn,
                "account-key-missing",
                &issuer.subject,
                message,
                "move the account-key Secret before the Issuer, as cert-manager's backup guide does",
            )
        } else {
            let message = format!("`{path}` names the Secret `{namespace}/{name}`, which is not in the input: the issuer cannot issue or renew on the target");
            Finding::new(Severity::Fail, "issuer-secret-missing", &issuer.subject, message, "move the Secret before the issuer (or create it on the target)")
        };
        findings.push(finding);
    }
    findings
}

/// Every Secret name under `node`: `*SecretRef`/`secretRef` objects' `name`, and `ca.secretName`.
fn secret_refs(node: &Node, path: &str, out: &mut Vec<(String, String)>) {
    for (key, value) in node.entries() {
        let here = format!("{path}.{key}");
        let is_ref = key.ends_with("SecretRef") || key == "secretRef";
        match value.str_at("name") {
            Some(name) if is_ref => out.push((here, name.to_owned())),
            _ if key == "secretName" && path == "spec.ca" => out.extend(value.as_str().map(|name| (here.clone(), name.to_owned()))),
            _ => secret_refs_in(value, &here, out),
        }
    }
}

fn secret_refs_in(value: &Node, path: &str, out: &mut Vec<(String, String)>) {
    if value.is_map() {
        secret_refs(value, path, out);
    }
    for (index, item) in value.items().iter().enumerate() {
        secret_refs_in(item, &format!("{path}[{index}]"), out);
    }
}

/// A warning for an ACME issuer with HTTP-01 solvers.
fn http01(issuer: &Issuer<'_>) -> Option<Finding> {
    let solvers = issuer.acme()?.get("solvers")?.items();
    let count = solvers.iter().filter(|s| s.get("http01").is_some()).count();
    (count > 0).then(|| {
        let message = format!(
            "{count} HTTP-01 solver(s): on the target, a renewal cannot pass HTTP-01 until DNS points at the target, and each failed validation counts against Let's Encrypt's limits"
        );
        let hint = "add a DNS-01 solver for the migration (it works before DNS moves), or make sure nothing renews on the target before the cut-over";
        Finding::new(Severity::Warn, "http01-solver", &issuer.subject, message, hint)
    })
}
