//! SHA-256 content digests in the OCI form `sha256:HEX`.

use std::fmt;

use sha2::{Digest as _, Sha256};

/// A SHA-256 content digest, `sha256:` and 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

impl Digest {
    /// The digest of `data`.
    pub fn of(data: &[u8]) -> Digest {
        Digest::from_hash(Sha256::digest(data).as_slice())
    }

    /// The digest of a finished SHA-256 hash.
    pub(crate) fn from_hash(hash: &[u8]) -> Digest {
        let mut text = String::with_capacity(7 + 64);
        text.push_str("sha256:");
        for byte in hash {
            text.push(char::from(HEX[usize::from(byte >> 4)]));
            text.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
        Digest(text)
    }

    /// The whole digest, `sha256:HEX`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The hex digits alone, as in an image layout's `blobs/sha256/HEX`.
    pub fn hex(&self) -> &str {
        &self.0["sha256:".len()..]
    }

    /// Whether `data` has this digest.
    pub fn verify(&self, data: &[u8]) -> bool {
        Digest::of(data) == *self
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_of_empty_input_is_the_well_known_one() {
        let digest = Digest::of(b"");
        assert_eq!(digest.as_str(), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(digest.hex().len(), 64);
        assert!(digest.verify(b""));
        assert!(!digest.verify(b"x"));
    }
}
