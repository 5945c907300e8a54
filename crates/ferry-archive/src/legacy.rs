//! The old encryption format (`FERRYENC`), read for one release so that archives written by
//! earlier ferry versions can still be opened (ferry writes age now, see `keys.rs`): a whole
//! compressed archive stream encrypted with XChaCha20-Poly1305 in the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015): fixed-size chunks, each with its own
//! tag, a nonce made of a random per-archive prefix, the chunk counter and a last-chunk flag,
//! so reordering, dropping or truncating chunks fails authentication.
//!
//! ```text
//! header (44 bytes): "FERRYENC" | version 0x01 | nonce prefix (19 random bytes)
//!                    | key check (16 bytes: sha256("ferry.archive/v1 key check\0" | key | prefix)[..16])
//! chunks: ciphertext of 65536 plaintext bytes + 16-byte tag, ...; the last chunk holds 0..=65536 bytes
//! chunk nonce (24 bytes): prefix | counter (u32, big-endian, from 0) | 0x01 if last else 0x00
//! associated data of every chunk: the 44-byte header
//! ```
//!
//! Nothing here does I/O beyond the `Read` it is given.

use std::io::{self, Read};

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{Tag, XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

/// Length of an old-format key in bytes.
const KEY_LEN: usize = 32;

/// A 256-bit key of the old format, given as a passphrase: 64 hex digits, or the standard
/// base64 form of the 32 bytes (padded or not). Never shown in `Debug` output.
#[derive(Clone)]
pub(crate) struct EncryptionKey([u8; KEY_LEN]);

impl std::fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EncryptionKey(<redacted>)")
    }
}

impl EncryptionKey {
    /// The key `text` holds, if it is one (64 hex digits or base64 of 32 bytes).
    pub(crate) fn parse(text: &str) -> Option<EncryptionKey> {
        use base64::Engine as _;
        let text = text.trim();
        if text.len() == 2 * KEY_LEN && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            let mut out = [0u8; KEY_LEN];
            for (byte, pair) in out.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
                *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
            }
            return Some(EncryptionKey(out));
        }
        let engines = [base64::engine::general_purpose::STANDARD, base64::engine::general_purpose::STANDARD_NO_PAD];
        let decoded = engines.iter().find_map(|engine| engine.decode(text).ok())?;
        <[u8; KEY_LEN]>::try_from(decoded.as_slice()).ok().map(EncryptionKey)
    }

    /// The raw key.
    fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

/// The first bytes of an encrypted archive.
pub(crate) const MAGIC: &[u8; 8] = b"FERRYENC";
const VERSION: u8 = 1;
const PREFIX_LEN: usize = 19;
const CHECK_LEN: usize = 16;
const HEADER_LEN: usize = MAGIC.len() + 1 + PREFIX_LEN + CHECK_LEN;
/// Plaintext bytes per chunk.
const CHUNK: usize = 64 * 1024;
const TAG_LEN: usize = 16;

/// Why an encrypted stream could not be opened or read; carried inside `io::Error`s through
/// the decompressor and the tar reader, and turned into an `ArchiveError` at the top.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Problem {
    /// The stream ends early.
    #[error("{0}")]
    Truncated(String),
    /// The stream's bytes were altered.
    #[error("{0}")]
    Damaged(String),
    /// The key check in the header does not match the key.
    #[error("the key does not fit")]
    WrongKey,
    /// The header declares an encryption version this reader does not know.
    #[error("encryption version {0}")]
    NewerVersion(u8),
}

impl From<Problem> for io::Error {
    fn from(problem: Problem) -> io::Error {
        io::Error::other(problem)
    }
}

/// A value that tells a wrong key from a damaged chunk without revealing the key.
fn key_check(key: &EncryptionKey, prefix: &[u8; PREFIX_LEN]) -> [u8; CHECK_LEN] {
    let digest = Sha256::new().chain_update(b"ferry.archive/v1 key check\0").chain_update(key.bytes()).chain_update(prefix).finalize();
    let mut check = [0u8; CHECK_LEN];
    check.copy_from_slice(&digest[..CHECK_LEN]);
    check
}

/// The nonce of chunk `counter`.
fn nonce(prefix: &[u8], counter: u32, last: bool) -> XNonce {
    let mut nonce = XNonce::default();
    nonce[..PREFIX_LEN].copy_from_slice(prefix);
    nonce[PREFIX_LEN..PREFIX_LEN + 4].copy_from_slice(&counter.to_be_bytes());
    nonce[PREFIX_LEN + 4] = u8::from(last);
    nonce
}

/// The prefix stored in a header.
fn prefix_of(header: &[u8; HEADER_LEN]) -> &[u8] {
    &header[MAGIC.len() + 1..MAGIC.len() + 1 + PREFIX_LEN]
}

/// Decrypts an encrypted stream whose magic has already been recognised.
pub(crate) struct Opener<R> {
    inner: R,
    cipher: XChaCha20Poly1305,
    header: [u8; HEADER_LEN],
    counter: u32,
    offset: u64,
    pending: Vec<u8>,
    plain: Vec<u8>,
    position: usize,
    done: bool,
}

impl<R: Read> Opener<R> {
    /// Reads the header and checks the key against it.
    pub(crate) fn new(mut inner: R, key: &EncryptionKey) -> Result<Opener<R>, io::Error> {
        let mut header = [0u8; HEADER_LEN];
        let read = fill(&mut inner, &mut header)?;
        if read < header.len() {
            return Err(Problem::Truncated(format!("its encryption header ends after {read} of {HEADER_LEN} bytes")).into());
        }
        if header[MAGIC.len()] != VERSION {
            return Err(Problem::NewerVersion(header[MAGIC.len()]).into());
        }
        let mut prefix = [0u8; PREFIX_LEN];
        prefix.copy_from_slice(prefix_of(&header));
        if header[HEADER_LEN - CHECK_LEN..] != key_check(key, &prefix) {
            return Err(Problem::WrongKey.into());
        }
        let cipher = XChaCha20Poly1305::new(key.bytes().into());
        Ok(Opener { inner, cipher, header, counter: 0, offset: HEADER_LEN as u64, pending: Vec::new(), plain: Vec::new(), position: 0, done: false })
    }

    /// Reads and authenticates the next chunk into `plain`.
    fn next_chunk(&mut self) -> io::Result<()> {
        let want = CHUNK + TAG_LEN + 1;
        let have = self.pending.len();
        self.pending.resize(want, 0);
        let read = fill(&mut self.inner, &mut self.pending[have..])?;
        self.pending.truncate(have + read);
        let last = self.pending.len() < want;
        let len = if last { self.pending.len() } else { CHUNK + TAG_LEN };
        if len < TAG_LEN {
            return Err(Problem::Truncated(format!("it ends inside encrypted chunk {} (byte {})", self.counter, self.offset)).into());
        }
        let mut chunk: Vec<u8> = self.pending.drain(..len).collect();
        let (message, tag) = chunk.split_at_mut(len - TAG_LEN);
        let tag = Tag::try_from(&*tag).map_err(|_| io::Error::other("a chunk's tag has the wrong length"))?;
        let nonce_for = |last| nonce(prefix_of(&self.header), self.counter, last);
        if self.cipher.decrypt_inout_detached(&nonce_for(last), &self.header, message.into(), &tag).is_err() {
            return Err(self.failure(last, len));
        }
        chunk.truncate(len - TAG_LEN);
        self.plain = chunk;
        self.position = 0;
        self.done = last;
        self.offset += len as u64;
        self.counter = self.counter.checked_add(1).ok_or_else(|| io::Error::other("the archive has more chunks than its format allows"))?;
        Ok(())
    }

    /// Why a chunk failed: a full chunk where the stream ends is a cut at a chunk boundary.
    fn failure(&self, last: bool, len: usize) -> io::Error {
        let at = format!("encrypted chunk {} (byte {})", self.counter, self.offset);
        if last && len == CHUNK + TAG_LEN {
            Problem::Truncated(format!("it ends after {at} without the final chunk")).into()
        } else {
            Problem::Damaged(format!("{at} fails authentication: its bytes were altered or it was cut short")).into()
        }
    }
}

impl<R: Read> Read for Opener<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.position == self.plain.len() {
            if self.done {
                return Ok(0);
            }
            self.next_chunk()?;
        }
        let n = buf.len().min(self.plain.len() - self.position);
        buf[..n].copy_from_slice(&self.plain[self.position..self.position + n]);
        self.position += n;
        Ok(n)
    }
}

/// Reads until `buf` is full or the stream ends; returns how much was read.
pub(crate) fn fill(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut read = 0;
    while read < buf.len() {
        match reader.read(&mut buf[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(read)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// The old writer, kept here only to make old-format streams for these tests: encrypts what
    /// is written to it; the ciphertext collects in [`Sealer::output`].
    struct Sealer {
        cipher: XChaCha20Poly1305,
        header: [u8; HEADER_LEN],
        counter: u32,
        plain: Vec<u8>,
        out: Vec<u8>,
    }

    impl Sealer {
        /// Starts an encrypted stream with a fresh random nonce prefix; the header is the first output.
        fn new(key: &EncryptionKey) -> io::Result<Sealer> {
            let mut prefix = [0u8; PREFIX_LEN];
            getrandom::fill(&mut prefix).map_err(|e| io::Error::other(format!("the operating system's random number generator failed: {e}")))?;
            let header = header(key, &prefix);
            let cipher = XChaCha20Poly1305::new(key.bytes().into());
            Ok(Sealer { cipher, header, counter: 0, plain: Vec::with_capacity(2 * CHUNK), out: header.to_vec() })
        }

        /// Ciphertext produced so far and not yet taken.
        fn output(&mut self) -> &mut Vec<u8> {
            &mut self.out
        }

        /// Encrypts the remaining plaintext as the last chunk and returns the remaining output.
        fn finish(mut self) -> io::Result<Vec<u8>> {
            self.seal(self.plain.len(), true)?;
            Ok(self.out)
        }

        /// Encrypts the first `len` plaintext bytes as one chunk.
        fn seal(&mut self, len: usize, last: bool) -> io::Result<()> {
            let mut chunk: Vec<u8> = self.plain.drain(..len).collect();
            let nonce = nonce(prefix_of(&self.header), self.counter, last);
            let tag = self
                .cipher
                .encrypt_inout_detached(&nonce, &self.header, chunk.as_mut_slice().into())
                .map_err(|_| io::Error::other("a chunk could not be encrypted"))?;
            self.out.extend_from_slice(&chunk);
            self.out.extend_from_slice(&tag);
            self.counter = self.counter.checked_add(1).ok_or_else(|| io::Error::other("the archive is too large to encrypt (over 256 TiB)"))?;
            Ok(())
        }
    }

    impl Write for Sealer {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.plain.extend_from_slice(buf);
            // Keep at least one byte back: only `finish` knows which chunk is the last.
            while self.plain.len() > CHUNK {
                self.seal(CHUNK, false)?;
            }
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// The header that starts an encrypted archive.
    fn header(key: &EncryptionKey, prefix: &[u8; PREFIX_LEN]) -> [u8; HEADER_LEN] {
        let mut header = [0u8; HEADER_LEN];
        header[..MAGIC.len()].copy_from_slice(MAGIC);
        header[MAGIC.len()] = VERSION;
        header[MAGIC.len() + 1..MAGIC.len() + 1 + PREFIX_LEN].copy_from_slice(prefix);
        header[HEADER_LEN - CHECK_LEN..].copy_from_slice(&key_check(key, prefix));
        header
    }

    fn generate() -> EncryptionKey {
        let mut bytes = [0u8; KEY_LEN];
        getrandom::fill(&mut bytes).expect("random bytes");
        EncryptionKey(bytes)
    }

    #[test]
    fn keys_are_read_from_hex_and_base64() {
        use base64::Engine as _;
        let bytes: [u8; KEY_LEN] = std::array::from_fn(|i| i as u8 * 7);
        let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
        for text in [b64.clone(), b64.trim_end_matches('=').to_owned(), crate::member::hex(&bytes).to_uppercase(), format!("{}\n", crate::member::hex(&bytes))]
        {
            assert_eq!(EncryptionKey::parse(&text).map(|k| k.0), Some(bytes), "{text}");
        }
        for text in ["", "c2hvcnQ=", "hunter2"] {
            assert!(EncryptionKey::parse(text).is_none(), "{text}");
        }
        assert_eq!(format!("{:?}", EncryptionKey(bytes)), "EncryptionKey(<redacted>)");
    }

    fn seal(key: &EncryptionKey, plain: &[u8]) -> Vec<u8> {
        let mut sealer = Sealer::new(key).expect("sealer");
        let mut out = Vec::new();
        for piece in plain.chunks(10_000) {
            sealer.write_all(piece).expect("write");
            out.append(sealer.output());
        }
        out.extend(sealer.finish().expect("finish"));
        out
    }

    fn open(key: &EncryptionKey, sealed: &[u8]) -> io::Result<Vec<u8>> {
        let mut plain = Vec::new();
        Opener::new(sealed, key)?.read_to_end(&mut plain)?;
        Ok(plain)
    }

    fn problem(err: &io::Error) -> &Problem {
        err.get_ref().and_then(|e| e.downcast_ref::<Problem>()).expect("a Problem")
    }

    #[test]
    fn round_trips_at_chunk_boundaries() {
        let key = generate();
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 7] {
            let plain: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let sealed = seal(&key, &plain);
            assert_eq!(sealed.len(), HEADER_LEN + len + TAG_LEN * (len / CHUNK + usize::from(len % CHUNK != 0 || len == 0)));
            assert_eq!(open(&key, &sealed).expect("opens"), plain, "len {len}");
        }
    }

    #[test]
    fn a_wrong_key_is_told_apart_from_damage() {
        let key = generate();
        let other = generate();
        let sealed = seal(&key, b"hello");
        assert!(matches!(problem(&open(&other, &sealed).expect_err("wrong key")), Problem::WrongKey));
        let mut flipped = sealed.clone();
        flipped[HEADER_LEN + 1] ^= 1;
        assert!(matches!(problem(&open(&key, &flipped).expect_err("flipped")), Problem::Damaged(_)));
    }

    #[test]
    fn every_truncation_fails() {
        let key = generate();
        let plain = vec![7u8; 2 * CHUNK + 100];
        let sealed = seal(&key, &plain);
        for cut in [0, 5, HEADER_LEN, HEADER_LEN + 10, HEADER_LEN + CHUNK + TAG_LEN, HEADER_LEN + 2 * (CHUNK + TAG_LEN), sealed.len() - 1] {
            let err = open(&key, &sealed[..cut]).expect_err("truncated");
            assert!(matches!(problem(&err), Problem::Truncated(_) | Problem::Damaged(_)), "cut {cut}: {err}");
        }
        let boundary = open(&key, &sealed[..HEADER_LEN + CHUNK + TAG_LEN]).expect_err("boundary");
        assert!(matches!(problem(&boundary), Problem::Truncated(_)), "{boundary}");
    }
}
