//! `transform`'s YAML output: a tree of one file per object with a `kustomization.yaml` listing
//! them in apply order, or one stream on standard output; Secrets left out with a note each
//! unless `--secrets=plain` (docs/gitops.md).

use std::path::Path;

use ferry_model::ObjectId;
use ferry_transform::gitops::{self, Secrets};
use serde_json::Value;

use crate::commands::pipeline;
use crate::error::CliError;
use crate::terminal::{diag, printable};

/// Objects in the order `ferry apply` would apply them (by the kind table, Namespaces and CRDs
/// first), and by identity inside a step, so that the same objects always give the same files.
fn in_apply_order<'a>(objects: impl IntoIterator<Item = (&'a ObjectId, &'a Value)>) -> Vec<(ObjectId, &'a Value)> {
    let mut objects: Vec<(&ObjectId, &Value)> = objects.into_iter().collect();
    objects.sort_by(|a, b| a.0.cmp(b.0));
    let ids: Vec<ObjectId> = objects.iter().map(|(id, _)| (*id).clone()).collect();
    let steps = ferry_cluster::apply::plan(&ids, &|_| None);
    steps.iter().flat_map(|step| &step.objects).map(|&i| (ids[i].clone(), objects[i].1)).collect()
}

/// Writes the tree below `dir` (new, empty, or a tree ferry wrote, which is replaced whole).
pub async fn write_tree<'a>(dir: &Path, objects: impl IntoIterator<Item = (&'a ObjectId, &'a Value)>, secrets: Secrets) -> Result<usize, CliError> {
    let ordered = in_apply_order(objects);
    let tree = gitops::tree(&ordered, secrets);
    note_omitted(&tree.omitted);
    let files: Vec<(String, Vec<u8>)> = tree.files.into_iter().map(|(path, text)| (path, text.into_bytes())).collect();
    ferry_archive::write_tree(dir, &files).await.map_err(|e| {
        CliError::failure("cannot write the YAML tree", &e).with_hint("give a new or empty directory, or one ferry wrote before (it is replaced whole)")
    })?;
    Ok(files.len())
}

/// Writes one multi-document YAML stream to standard output.
pub fn write_stream<'a>(objects: impl IntoIterator<Item = (&'a ObjectId, &'a Value)>, secrets: Secrets) -> Result<(), CliError> {
    let ordered = in_apply_order(objects);
    let (text, omitted) = gitops::stream(ordered.iter().map(|(id, object)| (id, *object)), secrets);
    note_omitted(&omitted);
    pipeline::to_stdout(|out| out.write_all(text.as_bytes()))
}

/// A note for each Secret left out, and where to turn.
fn note_omitted(omitted: &[ObjectId]) {
    for id in omitted {
        diag!("note: {} left out of the YAML: its values would be written in clear", printable(&id.to_string()));
    }
    if !omitted.is_empty() {
        diag!("hint: keep Secrets in Git encrypted (Sealed Secrets, SOPS) or out of it (External Secrets), or pass --secrets=plain to write them as they are");
    }
}
