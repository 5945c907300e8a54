//! The namespace and label options every command that reads objects shares, as kubectl spells
//! them: `-n/--namespace`, `-A/--all-namespaces` and `-l/--selector`.

use clap::Args;
use ferry_analysis::Scope;

use crate::error::CliError;

/// `-n`/`-A`: some namespaces, or every one (the default without `-n`; `-A` says it).
#[derive(Debug, Clone, Default, Args)]
pub struct NamespaceArgs {
    /// Only these namespaces (repeat or separate with commas; default: all). Cluster-scoped
    /// objects are kept, and so are objects of manifests that set no namespace (`kubectl apply
    /// -n` would create them in the namespace given).
    #[arg(short, long = "namespace", value_name = "NS", value_delimiter = ',')]
    pub namespaces: Vec<String>,
    /// Every namespace (the default without -n, as kubectl's -A).
    #[arg(short = 'A', long, conflicts_with = "namespaces")]
    pub all_namespaces: bool,
}

/// `-n`/`-A` and `-l`.
#[derive(Debug, Clone, Default, Args)]
pub struct ScopeArgs {
    #[command(flatten)]
    pub namespace: NamespaceArgs,
    /// Only objects matching this label selector, e.g. `app.kubernetes.io/part-of=shop`,
    /// `tier!=db`, `env in (prod,staging)`, `!legacy`.
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,
}

impl ScopeArgs {
    /// Which objects of manifests or archives are kept; a selector that cannot be read is a usage error.
    pub fn scope(&self) -> Result<Scope, CliError> {
        Scope::new(self.namespace.namespaces.clone(), self.selector.as_deref())
            .map_err(|e| CliError::usage(format!("invalid `--selector`: {e}"), Some("write it as kubectl does, e.g. `-l app=web,tier!=db`".into())))
    }
}
