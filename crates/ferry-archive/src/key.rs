//! The 256-bit key that encrypts an archive, read from a key file or generated.
//!
//! A key file holds the key as text: 64 hex digits, or the standard base64 form of the 32
//! bytes (padded or not). Surrounding whitespace is ignored. The key never appears in
//! `Debug` output or in error messages.

use std::fmt;
use std::path::Path;

use base64::Engine as _;

use crate::ArchiveError;

/// Length of a key in bytes.
const KEY_LEN: usize = 32;

/// A 256-bit archive encryption key.
#[derive(Clone)]
pub struct EncryptionKey([u8; KEY_LEN]);

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncryptionKey(<redacted>)")
    }
}

impl EncryptionKey {
    /// Reads a key file written by [`EncryptionKey::generate`]'s caller (or by hand: 64 hex
    /// digits, or base64 of 32 bytes).
    pub fn from_file(path: &Path) -> Result<Self, ArchiveError> {
        let shown = path.display().to_string();
        let text = std::fs::read(path).map_err(|source| ArchiveError::KeyFileUnreadable { path: shown.clone(), source })?;
        let text = String::from_utf8(text).map_err(|_| ArchiveError::KeyFileInvalid { path: shown.clone(), problem: "it is not text".to_owned() })?;
        parse(text.trim()).map(EncryptionKey).map_err(|problem| ArchiveError::KeyFileInvalid { path: shown, problem })
    }

    /// A new random key from the operating system's generator, and the text to save in a key
    /// file (64 hex digits and a newline). Keep that file: without it the archive cannot be read.
    ///
    /// # Panics
    ///
    /// When the operating system cannot supply random bytes (no usable `getrandom`), which
    /// leaves no safe way to make a key.
    pub fn generate() -> (Self, String) {
        let mut bytes = [0u8; KEY_LEN];
        if let Err(err) = getrandom::fill(&mut bytes) {
            panic!("the operating system's random number generator failed ({err}); cannot generate an encryption key");
        }
        let text = format!("{}\n", crate::member::hex(&bytes));
        (EncryptionKey(bytes), text)
    }

    /// A key given as its 32 bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        EncryptionKey(bytes)
    }

    /// The raw key.
    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

/// Reads 64 hex digits or base64 of 32 bytes; the error says what was found, never the text.
fn parse(text: &str) -> Result<[u8; KEY_LEN], String> {
    if text.is_empty() {
        return Err("the file is empty".to_owned());
    }
    if text.len() == 2 * KEY_LEN && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(from_hex(text));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(text)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
        .map_err(|_| format!("its {} characters are neither 64 hex digits nor base64", text.chars().count()))?;
    <[u8; KEY_LEN]>::try_from(decoded.as_slice()).map_err(|_| format!("it is base64 of {} bytes, not {KEY_LEN}", decoded.len()))
}

/// Decodes hex text already checked to be `2 * KEY_LEN` hex digits.
fn from_hex(text: &str) -> [u8; KEY_LEN] {
    let digit = |b: u8| match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b - b'A' + 10,
    };
    let mut out = [0u8; KEY_LEN];
    for (byte, pair) in out.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
        *byte = digit(pair[0]) << 4 | digit(pair[1]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_text_reads_back_as_the_same_key() {
        let (key, text) = EncryptionKey::generate();
        assert_eq!(text.len(), 65);
        assert_eq!(parse(text.trim()), Ok(*key.bytes()));
        assert_ne!(EncryptionKey::generate().0.bytes(), key.bytes());
    }

    #[test]
    fn base64_and_uppercase_hex_are_accepted() {
        let bytes: [u8; KEY_LEN] = std::array::from_fn(|i| i as u8 * 7);
        let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
        assert_eq!(parse(&b64), Ok(bytes));
        assert_eq!(parse(b64.trim_end_matches('=')), Ok(bytes));
        assert_eq!(parse(&crate::member::hex(&bytes).to_uppercase()), Ok(bytes));
    }

    #[test]
    fn bad_key_files_say_what_they_hold_without_showing_it() {
        assert_eq!(parse(""), Err("the file is empty".to_owned()));
        assert!(parse("c2hvcnQ=").is_err_and(|e| e.contains("base64 of 5 bytes")));
        let err = parse("not a key at all").expect_err("bad");
        assert!(!err.contains("not a key"), "{err}");
    }

    #[test]
    fn debug_output_hides_the_key() {
        let (key, text) = EncryptionKey::generate();
        assert_eq!(format!("{key:?}"), "EncryptionKey(<redacted>)");
        assert!(!format!("{key:?}").contains(text.trim()));
    }
}
