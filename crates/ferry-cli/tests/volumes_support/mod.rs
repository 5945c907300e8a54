//! Helpers shared by the volume tests: what a plain repository on disk holds. (Each test
//! binary uses part of it.)
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// One chunk a pack's index lists.
pub struct IndexedChunk {
    /// The chunk's name (the SHA-256 of its plain bytes).
    pub id: String,
    /// The pack file holding it.
    pub pack: PathBuf,
    /// Where its stored bytes start in the pack.
    pub offset: u64,
    /// How many there are.
    pub length: u64,
}

/// The chunks a plain repository's pack indexes list (`index/NAME`: zstd of JSON), which a
/// later pass reuses. Unfinished writes (hidden temporary files, an S3 server's `.partial`
/// files) are not read.
pub fn indexed_chunks(repository: &Path) -> Vec<IndexedChunk> {
    let Ok(entries) = std::fs::read_dir(repository.join("index")) else { return Vec::new() };
    let mut chunks = Vec::new();
    let finished = |name: &str| !name.starts_with('.') && !name.ends_with(".partial");
    for entry in entries.flatten().filter(|entry| finished(&entry.file_name().to_string_lossy())) {
        let text = zstd::decode_all(&std::fs::read(entry.path()).unwrap()[..]).unwrap();
        let index: serde_json::Value = serde_json::from_slice(&text).unwrap();
        let name = index["pack"].as_str().unwrap();
        let pack = repository.join("packs").join(&name[..2]).join(name);
        for chunk in index["chunks"].as_array().unwrap() {
            let number = |field: &str| chunk[field].as_u64().unwrap();
            chunks.push(IndexedChunk { id: chunk["id"].as_str().unwrap().to_owned(), pack: pack.clone(), offset: number("offset"), length: number("length") });
        }
    }
    chunks
}
