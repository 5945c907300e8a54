//! `manifest.json`: the archive's format version, where its objects came from, and every
//! object's member path, size and sha256. Parsing checks the format version first, so a newer
//! archive is reported as such rather than as damaged.

use std::collections::HashSet;
use std::io::{self, Write};

use ferry_model::ObjectId;
use serde::{Deserialize, Serialize};

use crate::ArchiveError;
use crate::member::{is_object_path, is_safe, printable};

/// The format this crate writes and reads.
pub const FORMAT: &str = "ferry.archive/v1";

/// The prefix every ferry archive format starts with.
const FORMAT_PREFIX: &str = "ferry.archive/v";

/// The archive's table of contents, stored last as `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The format version, [`FORMAT`].
    pub format: String,
    /// Where and how the objects were exported.
    pub header: Header,
    /// Every object, in the order it was added.
    pub objects: Vec<ManifestEntry>,
}

/// Where and how an archive's objects were exported.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Header {
    /// The cluster the objects came from.
    pub source: Source,
    /// When the export started, RFC 3339 in UTC, as the caller supplies it.
    pub created: String,
    /// What the export selected.
    pub filters: Filters,
}

/// The cluster an archive was exported from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    /// The kubeconfig context.
    pub context: String,
    /// The API server's `gitVersion`, e.g. `v1.20.2`.
    pub server_version: String,
}

/// What an export selected.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filters {
    /// Namespaces exported; empty means all.
    pub namespaces: Vec<String>,
    /// A label selector, if one was given.
    pub selector: Option<String>,
    /// Resources included; empty means all.
    pub include: Vec<String>,
    /// Resources excluded.
    pub exclude: Vec<String>,
    /// Whether objects Kubernetes generates itself were exported too.
    pub include_generated: bool,
}

/// One object of the archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// The object's identity (`apiVersion`, `kind`, `namespace`, `name` in the JSON).
    #[serde(flatten)]
    pub id: ObjectId,
    /// The resource it was read through, `plural.group` (e.g. `deployments.apps`, `services`).
    pub resource: String,
    /// Its member path, e.g. `objects/apps/Deployment/shop/web.json`.
    pub path: String,
    /// Lower-case hex sha256 of the member's bytes.
    pub sha256: String,
    /// The member's size in bytes.
    pub size: u64,
}

/// `manifest.json` written entry by entry as objects are added, so that completing an archive
/// only has to close it: the text of `serde_json::to_vec_pretty` of the whole [`Manifest`],
/// and a final newline.
pub(crate) struct ManifestText<W> {
    out: W,
    /// Bytes written so far.
    len: u64,
    entries: usize,
}

impl<W: Write> ManifestText<W> {
    /// Starts the text in `out`: the format, the header, and the opening of the object list.
    pub(crate) fn start(out: W, header: &Header) -> io::Result<Self> {
        let empty = serde_json::to_vec_pretty(&Manifest { format: FORMAT.to_owned(), header: header.clone(), objects: Vec::new() })?;
        // It ends in `"objects": []` and the closing brace: keep what comes before the `]`.
        let mut text = ManifestText { out, len: 0, entries: 0 };
        text.write(&empty[..empty.len() - "]\n}".len()])?;
        Ok(text)
    }

    /// Adds the next `count` entries, as [`entries_text`] wrote them.
    pub(crate) fn add(&mut self, text: &[u8], count: usize) -> io::Result<()> {
        // The first entry follows the opening bracket without a comma.
        let text = if self.entries == 0 { text.strip_prefix(b",").unwrap_or(text) } else { text };
        self.write(text)?;
        self.entries += count;
        Ok(())
    }

    /// Closes the object list and the text; returns the output and the length of the text.
    pub(crate) fn end(mut self) -> io::Result<(W, u64)> {
        self.write(if self.entries == 0 { b"]\n}\n" } else { b"\n  ]\n}\n" })?;
        Ok((self.out, self.len))
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.len += bytes.len() as u64;
        self.out.write_all(bytes)
    }
}

/// The text of entries in the manifest's object list, each after a comma, as they are nested
/// there: made ahead of time, wherever the objects are encoded, for [`ManifestText::add`].
pub(crate) fn entries_text(entries: &[ManifestEntry]) -> Vec<u8> {
    let (mut text, mut json) = (Vec::new(), Vec::new());
    for entry in entries {
        json.clear();
        // Strings and numbers are written into memory: nothing can fail.
        serde_json::to_writer_pretty(&mut json, entry).expect("a manifest entry is JSON");
        text.extend_from_slice(b",\n    ");
        // Two levels deeper than on its own (JSON strings hold no raw newline).
        for (i, line) in json.split(|&b| b == b'\n').enumerate() {
            if i > 0 {
                text.extend_from_slice(b"\n    ");
            }
            text.extend_from_slice(line);
        }
    }
    text
}

/// Only the format field, read before anything else.
#[derive(Deserialize)]
struct FormatProbe {
    format: Option<serde_json::Value>,
}

/// Parses and checks `manifest.json`: known format, safe and unique object paths, well-formed digests.
pub(crate) fn parse(archive: &str, bytes: &[u8]) -> Result<Manifest, ArchiveError> {
    let damaged = |problem: String| ArchiveError::Damaged { archive: archive.to_owned(), problem };
    let probe: FormatProbe = serde_json::from_slice(bytes).map_err(|e| damaged(format!("`{}` is not a JSON object ({e})", crate::member::MANIFEST)))?;
    check_format(archive, probe.format)?;
    let manifest: Manifest =
        serde_json::from_slice(bytes).map_err(|e| damaged(format!("`{}` does not have the layout of format `{FORMAT}` ({e})", crate::member::MANIFEST)))?;
    check_entries(archive, &manifest)?;
    Ok(manifest)
}

/// Accepts [`FORMAT`]; a later `ferry.archive/vN` is a newer format, anything else no archive.
fn check_format(archive: &str, format: Option<serde_json::Value>) -> Result<(), ArchiveError> {
    let not_archive = |problem: String| ArchiveError::NotAnArchive { archive: archive.to_owned(), problem };
    let format = match format {
        Some(serde_json::Value::String(format)) => format,
        _ => return Err(not_archive(format!("its `{}` has no `format` string", crate::member::MANIFEST))),
    };
    if format == FORMAT {
        return Ok(());
    }
    match format.strip_prefix(FORMAT_PREFIX).and_then(|v| v.parse::<u32>().ok()) {
        Some(version) if version > 1 => Err(ArchiveError::NewerFormat { archive: archive.to_owned(), format, known: FORMAT }),
        _ => Err(not_archive(format!("its manifest declares the unknown format `{}`", printable(&format)))),
    }
}

/// Every object path is a safe, unique `objects/…json` path and every digest is 64 hex digits.
fn check_entries(archive: &str, manifest: &Manifest) -> Result<(), ArchiveError> {
    let mut seen = HashSet::new();
    for entry in &manifest.objects {
        if !is_safe(&entry.path) {
            return Err(ArchiveError::UnsafeMember { archive: archive.to_owned(), member: printable(&entry.path) });
        }
        let problem = if !is_object_path(&entry.path) {
            "is not under `objects/` or does not end in `.json`"
        } else if !seen.insert(entry.path.as_str()) {
            "is listed twice"
        } else if entry.sha256.len() != 64 || !entry.sha256.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            "has a malformed sha256"
        } else {
            continue;
        };
        return Err(ArchiveError::Damaged { archive: archive.to_owned(), problem: format!("the manifest's member `{}` ({}) {problem}", entry.path, entry.id) });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest_json(format: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "format": format,
            "header": { "source": { "context": "c", "serverVersion": "v1" }, "created": "2026-01-01T00:00:00Z",
                        "filters": { "namespaces": [], "selector": null, "include": [], "exclude": [], "includeGenerated": false } },
            "objects": [{ "apiVersion": "v1", "kind": "ConfigMap", "namespace": "ns", "name": "a", "resource": "configmaps",
                          "path": "objects/core/ConfigMap/ns/a.json", "sha256": "0".repeat(64), "size": 2 }]
        }))
        .expect("json")
    }

    #[test]
    fn the_manifest_text_written_entry_by_entry_is_the_whole_manifest_as_json() {
        let entry = |namespace: Option<&str>, name: &str| ManifestEntry {
            id: ObjectId { api_version: "v1".into(), kind: "ConfigMap".into(), namespace: namespace.map(Into::into), name: name.into() },
            resource: "configmaps".into(),
            path: format!("objects/core/ConfigMap/{}/{name}.json", namespace.unwrap_or("_cluster")),
            sha256: "0".repeat(64),
            size: 2,
        };
        let header =
            Header { created: "2026-01-01T00:00:00Z".into(), filters: Filters { namespaces: vec!["ns".into()], ..Filters::default() }, ..Header::default() };
        for count in 0..3 {
            let objects: Vec<ManifestEntry> = [entry(Some("ns"), "a"), entry(None, "b \"quoted\""), entry(Some("ns"), "c")][..count].to_vec();
            let mut text = ManifestText::start(Vec::new(), &header).expect("start");
            for part in objects.chunks(2) {
                text.add(&entries_text(part), part.len()).expect("add");
            }
            let (written, len) = text.end().expect("end");
            let mut whole = serde_json::to_vec_pretty(&Manifest { format: FORMAT.into(), header: header.clone(), objects }).expect("json");
            whole.push(b'\n');
            assert_eq!(String::from_utf8(written.clone()).unwrap(), String::from_utf8(whole).unwrap(), "{count} entries");
            assert_eq!(len, written.len() as u64);
        }
    }

    #[test]
    fn the_current_format_parses() {
        let manifest = parse("a.tar.zst", &manifest_json(FORMAT)).expect("parses");
        assert_eq!(manifest.objects[0].id.namespace.as_deref(), Some("ns"));
        assert_eq!(manifest.header.source.server_version, "v1");
    }

    #[test]
    fn a_newer_format_is_reported_as_newer() {
        let err = parse("a.tar.zst", &manifest_json("ferry.archive/v2")).expect_err("newer");
        assert!(matches!(err, ArchiveError::NewerFormat { .. }), "{err}");
        assert!(err.to_string().contains("newer ferry"), "{err}");
        let err = parse("a.tar.zst", &manifest_json("something/v1")).expect_err("unknown");
        assert!(matches!(err, ArchiveError::NotAnArchive { .. }), "{err}");
    }

    #[test]
    fn unsafe_manifest_paths_are_refused() {
        let text = String::from_utf8(manifest_json(FORMAT)).expect("utf8").replace("objects/core/ConfigMap/ns/a.json", "../a.json");
        assert!(matches!(parse("a", text.as_bytes()), Err(ArchiveError::UnsafeMember { .. })));
        assert!(matches!(parse("a", b"[1"), Err(ArchiveError::Damaged { .. })));
    }
}
