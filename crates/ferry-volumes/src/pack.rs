//! Packs: chunks are stored many to an object (`packs/XX/NAME`), and each pack is followed by
//! its index (`index/NAME`, a document listing where each chunk starts and how long it is), so
//! that a backup of many small files writes a few large objects instead of one file (or one
//! PUT) per small file.

use serde::{Deserialize, Serialize};

use crate::repo::sha256_hex;

/// A pack is written once its chunks reach this many stored bytes (restic's default pack size).
pub(crate) const PACK_SIZE: usize = 16 << 20;

/// Where a chunk's stored bytes are: a range of a pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Location {
    /// The pack's name.
    pub pack: String,
    /// Where the chunk starts in the pack.
    pub offset: u64,
    /// Its stored length.
    pub length: u64,
}

/// A pack's index (`index/NAME`): the chunks the pack `NAME` holds, in order.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct PackIndex {
    /// The pack's name.
    pub pack: String,
    /// Its chunks.
    pub chunks: Vec<Packed>,
}

/// One chunk of a pack.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Packed {
    /// The chunk's name (the digest of its plain bytes).
    pub id: String,
    /// Where its stored bytes start in the pack.
    pub offset: u64,
    /// How many there are.
    pub length: u64,
}

/// The pack being filled: stored chunks appended one after another.
#[derive(Debug, Default)]
pub(crate) struct OpenPack {
    bytes: Vec<u8>,
    chunks: Vec<Packed>,
}

impl OpenPack {
    /// Appends a chunk's stored bytes; returns the whole pack, leaving this one empty, once it
    /// holds [`PACK_SIZE`] bytes or more.
    pub(crate) fn add(&mut self, id: &str, stored: &[u8]) -> Option<OpenPack> {
        if self.bytes.capacity() == 0 {
            // Once per pack: growing it by doubling would copy it and fault in its pages again.
            self.bytes.reserve(PACK_SIZE + stored.len());
        }
        self.chunks.push(Packed { id: id.to_owned(), offset: self.bytes.len() as u64, length: stored.len() as u64 });
        self.bytes.extend_from_slice(stored);
        (self.bytes.len() >= PACK_SIZE).then(|| std::mem::take(self))
    }

    /// The pack's bytes and its index; the pack is named by the SHA-256 of its bytes.
    pub(crate) fn into_parts(self) -> (Vec<u8>, PackIndex) {
        let name = sha256_hex(&self.bytes);
        (self.bytes, PackIndex { pack: name, chunks: self.chunks })
    }

    /// Whether no chunk was added since the pack was last taken.
    pub(crate) fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }
}

impl PackIndex {
    /// Each chunk's name and location.
    pub(crate) fn locations(&self) -> impl Iterator<Item = (String, Location)> + '_ {
        self.chunks.iter().map(|c| (c.id.clone(), Location { pack: self.pack.clone(), offset: c.offset, length: c.length }))
    }
}

/// The key of a pack.
pub(crate) fn pack_key(name: &str) -> String {
    format!("packs/{}/{name}", name.get(..2).unwrap_or("00"))
}

/// The key of a pack's index.
pub(crate) fn index_key(name: &str) -> String {
    format!("index/{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pack_is_handed_out_whole_once_it_is_full_and_its_index_locates_each_chunk() {
        let mut open = OpenPack::default();
        assert!(open.add("a", b"first").is_none());
        let big = vec![7u8; PACK_SIZE];
        let full = open.add("b", &big).expect("full");
        assert!(open.is_empty());
        let (bytes, index) = full.into_parts();
        assert_eq!(index.pack, sha256_hex(&bytes));
        let found: Vec<_> = index.locations().collect();
        assert_eq!(found[0], ("a".to_owned(), Location { pack: index.pack.clone(), offset: 0, length: 5 }));
        assert_eq!(found[1].1.offset, 5);
        assert_eq!(&bytes[..5], b"first");
        assert_eq!(bytes.len(), 5 + PACK_SIZE);
    }
}
