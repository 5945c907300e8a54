//! Fields of custom resources that refer to other objects or hosts (`data/references.yaml`):
//! an Istio VirtualService's destinations, a Gateway API route's `backendRefs` and
//! `parentRefs`, a Dapr Configuration's tracing endpoint, ...

use std::collections::HashMap;
use std::sync::OnceLock;

use ferry_model::DocNode;
use serde::Deserialize;

use crate::facts::Relation;

/// What the value at a field is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Value {
    /// The target's name, in the object's namespace.
    Name,
    /// `NAME` or `NAMESPACE/NAME`.
    NamespacedName,
    /// A mapping `{name, namespace, kind, group}`.
    ObjectRef,
    /// A DNS name: a Service of the cluster, or a host outside it that refers to nothing.
    Host,
    /// A host outside the cluster, matched against the cloud table.
    ExternalHost,
    /// Free text holding addresses, read like an env value.
    Address,
    /// A chart repository's URL, read as a registry.
    RegistryUrl,
}

/// One row of the table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    /// API group.
    pub group: String,
    /// Kinds of that group the row applies to.
    pub kinds: Vec<String>,
    /// Dot paths, `[]` stepping into every item of a list.
    pub fields: Vec<String>,
    /// What the value is.
    pub value: Value,
    /// Words that are keywords rather than names (`mesh`).
    #[serde(default)]
    pub reserved: Vec<String>,
    /// The kind referred to (the default kind of an `object-ref`).
    #[serde(default)]
    pub target: Option<String>,
    /// The API group of the target (of an `object-ref` mapping without `group`): only an
    /// object of that group is the target. None: the core group, or any group for `name` rows.
    #[serde(default)]
    pub target_group: Option<String>,
    /// Whether a missing target comes with the cluster rather than being dangling.
    #[serde(default)]
    pub cluster: bool,
    /// The edge's kind in the report.
    #[serde(default)]
    pub relation: Option<Relation>,
    /// Where the field is documented.
    pub source: String,
}

/// The table.
#[derive(Debug)]
pub struct References {
    rows: Vec<Reference>,
    /// Indices of the rows of each kind.
    by_kind: HashMap<String, Vec<usize>>,
}

impl References {
    /// Parses the YAML table; every row that names objects must name a relation.
    pub fn parse(text: &str) -> Result<References, String> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Table {
            references: Vec<Reference>,
        }
        let Table { references: rows } = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
        let mut by_kind: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, row) in rows.iter().enumerate() {
            let names_objects = !matches!(row.value, Value::ExternalHost | Value::Address | Value::RegistryUrl);
            if names_objects && row.relation.is_none() {
                return Err(format!("{} {:?}: a reference to objects needs a relation", row.group, row.kinds));
            }
            if matches!(row.value, Value::Name | Value::NamespacedName | Value::Host) && row.target.is_none() {
                return Err(format!("{} {:?}: a {:?} needs a target kind", row.group, row.kinds, row.value));
            }
            for kind in &row.kinds {
                by_kind.entry(kind.clone()).or_default().push(i);
            }
        }
        Ok(References { rows, by_kind })
    }

    /// The table built into this binary.
    ///
    /// # Panics
    /// Never in a released build: the embedded table is validated by the test suite.
    pub fn builtin() -> &'static References {
        static TABLE: OnceLock<References> = OnceLock::new();
        TABLE.get_or_init(|| References::parse(include_str!("../../data/references.yaml")).expect("embedded data/references.yaml is valid"))
    }

    /// Every row.
    pub fn rows(&self) -> &[Reference] {
        &self.rows
    }

    /// The rows for objects of `group`/`kind`.
    pub fn of(&self, group: &str, kind: &str) -> Vec<&Reference> {
        self.by_kind.get(kind).into_iter().flatten().map(|&i| &self.rows[i]).filter(|row| row.group == group).collect()
    }
}

/// Calls `found` with every node at a dot path (`[]` stepping into every item of a list) and
/// its concrete path (`spec.rules[0].backendRefs[1]`).
pub fn walk<'d>(root: DocNode<'d>, path: &str, found: &mut impl FnMut(DocNode<'d>, &str)) {
    step(root, path, &mut String::new(), found);
}

fn step<'d>(node: DocNode<'d>, rest: &str, at: &mut String, found: &mut impl FnMut(DocNode<'d>, &str)) {
    if rest.is_empty() {
        return found(node, at);
    }
    let (segment, rest) = rest.split_once('.').unwrap_or((rest, ""));
    let (key, every) = match segment.strip_suffix("[]") {
        Some(key) => (key, true),
        None => (segment, false),
    };
    let Some(child) = node.get(key) else { return };
    let len = at.len();
    if !at.is_empty() {
        at.push('.');
    }
    at.push_str(key);
    if every {
        let base = at.len();
        for (i, item) in child.items().enumerate() {
            at.push_str(&format!("[{i}]"));
            step(item, rest, at, found);
            at.truncate(base);
        }
    } else {
        step(child, rest, at, found);
    }
    at.truncate(len);
}
