//! Objects whose controllers make Secrets (`data/producers.yaml`): a cert-manager Certificate
//! makes `spec.secretName`, an ExternalSecret `spec.target.name` (else its own name), ...

use std::sync::OnceLock;

use ferry_model::DocNode;
use serde::Deserialize;

/// The table.
#[derive(Debug, Deserialize)]
pub struct Producers {
    producers: Vec<Producer>,
}

/// One kind of object that makes Secrets.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Producer {
    /// API group.
    pub group: String,
    /// Kind.
    pub kind: String,
    /// Dot paths of the made Secret's name (`[]` for every item of a list).
    pub names: Vec<String>,
    /// The path used when none of `names` is set.
    #[serde(default)]
    pub default: Option<String>,
    /// Where the behaviour is documented.
    pub source: String,
}

impl Producers {
    /// The table built into this binary.
    ///
    /// # Panics
    /// Never in a released build: the embedded table is validated by the test suite.
    pub fn builtin() -> &'static Producers {
        static TABLE: OnceLock<Producers> = OnceLock::new();
        TABLE.get_or_init(|| serde_saphyr::from_str(include_str!("../../data/producers.yaml")).expect("embedded data/producers.yaml is valid"))
    }

    /// Every row.
    pub fn rows(&self) -> &[Producer] {
        &self.producers
    }

    /// The names of the Secrets an object of `group`/`kind` makes.
    pub fn secrets<'d>(&self, group: &str, kind: &str, root: DocNode<'d>) -> Vec<&'d str> {
        let Some(row) = self.producers.iter().find(|p| p.kind == kind && p.group == group) else { return Vec::new() };
        let named: Vec<&str> = row.names.iter().flat_map(|path| values_at(root, path)).filter(|n| !n.is_empty()).collect();
        if !named.is_empty() {
            return named;
        }
        row.default.iter().flat_map(|path| values_at(root, path)).filter(|n| !n.is_empty()).collect()
    }
}

/// The string values at a dot path, `[]` stepping into every item of a list.
fn values_at<'d>(root: DocNode<'d>, path: &str) -> Vec<&'d str> {
    let mut values = Vec::new();
    super::references::walk(root, path, &mut |node, _| values.extend(node.as_str()));
    values
}
