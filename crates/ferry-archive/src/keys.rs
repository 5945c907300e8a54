//! The keys that encrypt and decrypt archives (and volume repositories, see ferry-volumes) in
//! the age format (age-encryption.org/v1), so that `age` and `rage` read what ferry writes and
//! ferry reads what they write.
//!
//! [`Keys`] gathers what the user gave: a passphrase (from a file or an environment variable;
//! age's scrypt recipient), recipients (`age1…` X25519, `age1pq1…` post-quantum, `ssh-ed25519`
//! and `ssh-rsa` public keys, one by one or from a recipients file), and identities (an age
//! identity file, or an unencrypted OpenSSH private key). Writing encrypts to the recipients,
//! else to the identities' own recipients, else to the passphrase; reading tries every identity
//! and the passphrase. A passphrase that is an old ferry key (64 hex digits, or base64 of 32
//! bytes) also opens archives in the old `FERRYENC` format.
//!
//! Secret material never appears in `Debug` output or in error messages.

use std::fmt;
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use age::secrecy::SecretString;

use crate::ArchiveError;
use crate::legacy::{EncryptionKey, Problem};

/// The first bytes of every age file.
pub(crate) const AGE_MAGIC: &[u8] = b"age-encryption.org/v1\n";

/// The scrypt work factor (log2 N) of passphrase-encrypted files ferry writes: age's own
/// (Go) default, about half a second and 256 MiB of memory.
const SCRYPT_WORK_FACTOR: u8 = 18;

/// The highest scrypt work factor a file may ask for by default (1 GiB of memory, a few
/// seconds): files written by `rage` on a fast machine go up to about 20.
const SCRYPT_LIMIT: u8 = 20;

/// The longest age header read (recipient stanzas): about 400 X25519 recipients. A longer one
/// is refused before it is parsed, so that a hostile file cannot make ferry parse without end.
pub(crate) const MAX_HEADER: u64 = 64 * 1024;

/// A recipient: a public key that files are encrypted to.
#[derive(Clone)]
enum Recipient {
    #[allow(deprecated, reason = "classic X25519 keys are what age 1.x and rage 0.x users have; post-quantum keys are accepted too")]
    X25519(age::x25519::Recipient),
    Pq(age::pq::Recipient),
    #[allow(deprecated, reason = "SSH keys are what many teams already share; accepted for compatibility")]
    Ssh(age::ssh::Recipient),
}

impl Recipient {
    /// Parses one recipient as age writes it.
    fn parse(text: &str) -> Result<Recipient, String> {
        if text.starts_with("age1pq1") {
            return text.parse().map(Recipient::Pq).map_err(|e: &str| e.to_owned());
        }
        if text.starts_with("age1") {
            return text.parse().map(Recipient::X25519).map_err(|e: &str| e.to_owned());
        }
        if text.starts_with("ssh-") {
            return text.parse().map(Recipient::Ssh).map_err(|e| format!("{e:?}"));
        }
        Err("it is neither an age recipient (age1…) nor an SSH public key (ssh-ed25519 …, ssh-rsa …)".to_owned())
    }

    fn as_age(&self) -> &dyn age::Recipient {
        match self {
            Recipient::X25519(r) => r,
            Recipient::Pq(r) => r,
            Recipient::Ssh(r) => r,
        }
    }
}

/// An identity: a private key that files are decrypted with.
#[derive(Clone)]
enum Identity {
    X25519(age::x25519::Identity),
    Pq(age::pq::Identity),
    Ssh(age::ssh::Identity),
}

impl Identity {
    fn as_age(&self) -> &dyn age::Identity {
        match self {
            Identity::X25519(i) => i,
            Identity::Pq(i) => i,
            Identity::Ssh(i) => i,
        }
    }

    /// The recipient this identity decrypts for.
    #[allow(deprecated, reason = "an SSH identity's own recipient, for compatibility with keys teams already have")]
    fn public(&self) -> Option<Recipient> {
        match self {
            Identity::X25519(i) => Some(Recipient::X25519(i.to_public())),
            Identity::Pq(i) => Some(Recipient::Pq(i.to_public())),
            Identity::Ssh(i) => age::ssh::Recipient::try_from(i.clone()).ok().map(Recipient::Ssh),
        }
    }
}

/// What encrypts and decrypts: a passphrase, recipients and identities (see the module's
/// documentation). Cheap to clone; clones share the count of old-format reads.
#[derive(Clone)]
pub struct Keys {
    passphrase: Option<Arc<SecretString>>,
    recipients: Vec<Recipient>,
    identities: Vec<Identity>,
    scrypt_limit: u8,
    legacy_reads: Arc<AtomicUsize>,
}

impl Default for Keys {
    fn default() -> Keys {
        Keys { passphrase: None, recipients: Vec::new(), identities: Vec::new(), scrypt_limit: SCRYPT_LIMIT, legacy_reads: Arc::default() }
    }
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys")
            .field("passphrase", &self.passphrase.as_ref().map(|_| "<redacted>"))
            .field("recipients", &self.recipients.len())
            .field("identities", &self.identities.len())
            .finish()
    }
}

impl Keys {
    /// No keys: nothing is encrypted, and only plain archives are read.
    pub fn new() -> Keys {
        Keys::default()
    }

    /// Whether no passphrase, recipient or identity was given.
    pub fn is_empty(&self) -> bool {
        self.passphrase.is_none() && self.recipients.is_empty() && self.identities.is_empty()
    }

    /// Uses the text of a file as the passphrase (surrounding whitespace, such as the final
    /// newline, is not part of it). Only one passphrase can be given.
    pub fn add_passphrase_file(&mut self, path: &Path) -> Result<(), ArchiveError> {
        let text = read_text(path)?;
        self.add_passphrase(text, &path.display().to_string())
    }

    /// Uses `text` as the passphrase; `origin` names where it came from in errors (a file, an
    /// environment variable), never the text itself.
    pub fn add_passphrase(&mut self, text: String, origin: &str) -> Result<(), ArchiveError> {
        let invalid = |problem: &str| ArchiveError::KeyFileInvalid { path: origin.to_owned(), problem: problem.to_owned() };
        if self.passphrase.is_some() {
            return Err(invalid("a passphrase was given already; give one passphrase"));
        }
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(invalid("it is empty"));
        }
        self.passphrase = Some(Arc::new(SecretString::from(trimmed.to_owned())));
        Ok(())
    }

    /// Adds a recipient: `age1…`, `age1pq1…`, or an SSH public key line (`ssh-ed25519 AAAA… comment`).
    pub fn add_recipient(&mut self, text: &str) -> Result<(), ArchiveError> {
        let recipient = Recipient::parse(text.trim()).map_err(|problem| ArchiveError::Recipient { recipient: shown(text), problem })?;
        self.recipients.push(recipient);
        Ok(())
    }

    /// Adds every recipient of a recipients file (one per line; empty lines and `#` comments
    /// skipped), as `age -R` reads it.
    pub fn add_recipients_file(&mut self, path: &Path) -> Result<(), ArchiveError> {
        let text = read_text(path)?;
        let before = self.recipients.len();
        for (number, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let recipient = Recipient::parse(line)
                .map_err(|problem| ArchiveError::Recipient { recipient: format!("{} (line {number} of `{}`)", shown(line), path.display()), problem })?;
            self.recipients.push(recipient);
        }
        if self.recipients.len() == before {
            return Err(ArchiveError::KeyFileInvalid { path: path.display().to_string(), problem: "it lists no recipient".to_owned() });
        }
        Ok(())
    }

    /// Adds the identities of a file: an age identity file (`AGE-SECRET-KEY-1…` lines, as
    /// `age-keygen` writes them) or an unencrypted OpenSSH private key.
    pub fn add_identity_file(&mut self, path: &Path) -> Result<(), ArchiveError> {
        let text = read_text(path)?;
        self.add_identity_text(&text, &path.display().to_string())
    }

    /// Adds the identities of an identity file's text; `origin` names it in errors, never its text.
    pub fn add_identity_text(&mut self, text: &str, origin: &str) -> Result<(), ArchiveError> {
        let invalid = |problem: String| ArchiveError::KeyFileInvalid { path: origin.to_owned(), problem };
        if text.trim_start().starts_with("-----BEGIN") {
            let identity =
                age::ssh::Identity::from_buffer(text.as_bytes(), None).map_err(|_| invalid("it is not an OpenSSH private key age can use".to_owned()))?;
            return match identity {
                age::ssh::Identity::Unencrypted(_) => {
                    self.identities.push(Identity::Ssh(identity));
                    Ok(())
                }
                age::ssh::Identity::Encrypted(_) => {
                    Err(invalid("the SSH key is protected by a passphrase, which ferry cannot ask for; use an unprotected copy or an age identity".to_owned()))
                }
                age::ssh::Identity::Unsupported(_) => Err(invalid("age does not support this kind of SSH key (use ssh-ed25519 or ssh-rsa)".to_owned())),
            };
        }
        let before = self.identities.len();
        for (number, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let identity = match (line.parse::<age::x25519::Identity>(), line.parse::<age::pq::Identity>()) {
                (Ok(identity), _) => Identity::X25519(identity),
                (_, Ok(identity)) => Identity::Pq(identity),
                _ => return Err(invalid(format!("line {number} is not an age identity (AGE-SECRET-KEY-1…)"))),
            };
            self.identities.push(identity);
        }
        if self.identities.len() == before {
            return Err(invalid("it holds no identity".to_owned()));
        }
        Ok(())
    }

    /// Whether these keys can decrypt (a passphrase or an identity); recipients alone only
    /// encrypt, so they neither open an encrypted archive nor make a plain one refused.
    pub fn can_decrypt(&self) -> bool {
        self.passphrase.is_some() || !self.identities.is_empty()
    }

    /// Caps the scrypt work factor (log2 N) a passphrase-encrypted file may ask for (default
    /// 20: 1 GiB of memory); a file asking for more is refused before any work is done.
    pub fn set_scrypt_limit(&mut self, log_n: u8) {
        self.scrypt_limit = log_n;
    }

    /// How many archives in the old `FERRYENC` format were read with these keys (or their
    /// clones), so that the caller can say the format is going away.
    pub fn legacy_reads(&self) -> usize {
        self.legacy_reads.load(Ordering::Relaxed)
    }

    /// Counts one read of the old format.
    pub(crate) fn count_legacy_read(&self) {
        self.legacy_reads.fetch_add(1, Ordering::Relaxed);
    }

    /// The old-format key the passphrase stands for, if it is one.
    pub(crate) fn legacy_key(&self) -> Option<EncryptionKey> {
        use age::secrecy::ExposeSecret as _;
        self.passphrase.as_ref().and_then(|p| EncryptionKey::parse(p.expose_secret()))
    }

    /// An age encryptor: to the recipients given, else to the identities' own recipients, else
    /// to the passphrase.
    pub(crate) fn encryptor(&self) -> Result<age::Encryptor, String> {
        let from_identities: Vec<Recipient>;
        let recipients = if !self.recipients.is_empty() {
            if self.passphrase.is_some() {
                return Err("a passphrase and recipients were both given, and age encrypts to one or the other; give one of them".to_owned());
            }
            &self.recipients
        } else if self.passphrase.is_none() && !self.identities.is_empty() {
            from_identities = self.identities.iter().filter_map(Identity::public).collect();
            &from_identities
        } else if let Some(passphrase) = &self.passphrase {
            let mut recipient = age::scrypt::Recipient::new(SecretString::clone(passphrase));
            recipient.set_work_factor(SCRYPT_WORK_FACTOR);
            return age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient)).map_err(|e| e.to_string());
        } else {
            return Err("no passphrase, recipient or identity was given".to_owned());
        };
        if recipients.is_empty() {
            return Err("the identities given have no recipient to encrypt to; give --recipient".to_owned());
        }
        age::Encryptor::with_recipients(recipients.iter().map(Recipient::as_age)).map_err(|e| e.to_string())
    }

    /// Decrypts an age stream whose header has been read, with every identity and the passphrase.
    pub(crate) fn decrypt<R: Read>(&self, decryptor: age::Decryptor<R>) -> Result<age::stream::StreamReader<R>, age::DecryptError> {
        let scrypt = self.passphrase.as_ref().filter(|_| decryptor.is_scrypt()).map(|passphrase| {
            let mut identity = age::scrypt::Identity::new(SecretString::clone(passphrase));
            identity.set_max_work_factor(self.scrypt_limit);
            identity
        });
        let identities = self.identities.iter().map(Identity::as_age).chain(scrypt.iter().map(|i| i as &dyn age::Identity));
        decryptor.decrypt(identities)
    }

    /// Encrypts bytes held in memory as one age file.
    pub fn encrypt(&self, plain: &[u8]) -> Result<Vec<u8>, ArchiveError> {
        let failed = |problem: String| ArchiveError::Encryption { problem };
        let encryptor = self.encryptor().map_err(failed)?;
        let mut out = Vec::with_capacity(plain.len() + 256);
        let mut writer = encryptor.wrap_output(&mut out).map_err(|e| failed(e.to_string()))?;
        writer.write_all(plain).and_then(|()| writer.finish().map(drop)).map_err(|e| failed(e.to_string()))?;
        Ok(out)
    }

    /// Decrypts one age file held in memory; `what` names it in errors.
    pub fn decrypt_bytes(&self, what: &str, sealed: &[u8]) -> Result<Vec<u8>, ArchiveError> {
        let archive = what.to_owned();
        let mut reader = open(what, io::Cursor::new(sealed), self)?;
        let mut plain = Vec::new();
        reader.read_to_end(&mut plain).map_err(|e| ArchiveError::Damaged { archive, problem: e.to_string() })?;
        Ok(plain)
    }
}

/// Opens an age stream (its magic not yet consumed) with `keys`: reads the header (at most
/// [`MAX_HEADER`] bytes) and unwraps the file key.
pub(crate) fn open<R: Read>(archive: &str, stream: R, keys: &Keys) -> Result<Decrypting<R>, ArchiveError> {
    let header_read = Arc::new(AtomicBool::new(false));
    let first_line = Arc::new(Mutex::new(Vec::with_capacity(AGE_V1_LINE.len())));
    let capped = HeaderCap { inner: stream, read: 0, header_read: Arc::clone(&header_read), first_line: Arc::clone(&first_line) };
    // Buffered: the header is parsed line by line, not again for every byte it needs.
    let decryptor = age::Decryptor::new_buffered(io::BufReader::new(capped)).map_err(|e| {
        let declared_v1 = first_line.lock().map(|line| line.as_slice() == AGE_V1_LINE).unwrap_or(false);
        header_error(archive, e, declared_v1)
    })?;
    header_read.store(true, Ordering::Relaxed);
    let reader = keys.decrypt(decryptor).map_err(|e| decrypt_error(archive, e))?;
    Ok(Decrypting(reader))
}

/// The plaintext of an age stream, its failures told as damage or truncation.
pub(crate) struct Decrypting<R: Read>(age::stream::StreamReader<io::BufReader<HeaderCap<R>>>);

impl<R: Read> Read for Decrypting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(|e| match e.kind() {
            io::ErrorKind::InvalidData => {
                Problem::Damaged("its encrypted data fails authentication: its bytes were altered or it was cut short".to_owned()).into()
            }
            io::ErrorKind::UnexpectedEof => Problem::Truncated("it ends inside its encrypted data".to_owned()).into(),
            _ => e,
        })
    }
}

/// The first line of an age v1 header.
const AGE_V1_LINE: &[u8] = b"age-encryption.org/v1\n";

/// Why an age header could not be read. age reads a v1 header that does not parse as one of
/// an unknown later version: when the first line says v1 (`declared_v1`), the header was altered.
fn header_error(archive: &str, err: age::DecryptError, declared_v1: bool) -> ArchiveError {
    let archive = archive.to_owned();
    match err {
        age::DecryptError::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
            ArchiveError::Truncated { archive, problem: "it ends inside its age header".to_owned() }
        }
        age::DecryptError::Io(e) if e.kind() == io::ErrorKind::FileTooLarge => {
            ArchiveError::TooLarge { archive, problem: format!("its age header is longer than {MAX_HEADER} bytes") }
        }
        age::DecryptError::UnknownFormat if declared_v1 => {
            ArchiveError::Damaged { archive, problem: "its age header says v1 but does not read as one: its bytes were altered".to_owned() }
        }
        age::DecryptError::UnknownFormat => ArchiveError::NewerFormat { archive, format: "an age format after v1".to_owned(), known: "age-encryption.org/v1" },
        age::DecryptError::Io(e) => ArchiveError::Io { archive, action: "read", source: e },
        other => ArchiveError::Damaged { archive, problem: format!("its age header is not valid ({other})") },
    }
}

/// Why the file key could not be unwrapped.
fn decrypt_error(archive: &str, err: age::DecryptError) -> ArchiveError {
    let archive = archive.to_owned();
    match err {
        age::DecryptError::NoMatchingKeys | age::DecryptError::DecryptionFailed | age::DecryptError::KeyDecryptionFailed => ArchiveError::WrongKey { archive },
        age::DecryptError::ExcessiveWork { required, .. } => ArchiveError::TooLarge {
            archive,
            problem: format!(
                "its passphrase asks for scrypt work factor {required}, above the limit of {SCRYPT_LIMIT} (it would take too much memory and time)"
            ),
        },
        age::DecryptError::InvalidMac => ArchiveError::Damaged { archive, problem: "its age header has been altered (its MAC does not match)".to_owned() },
        age::DecryptError::Io(e) => ArchiveError::Io { archive, action: "read", source: e },
        other => ArchiveError::Damaged { archive, problem: format!("it cannot be decrypted ({other})") },
    }
}

/// A reader that gives at most [`MAX_HEADER`] bytes (then an error of kind `FileTooLarge`)
/// until the age header has been read, and everything after.
pub(crate) struct HeaderCap<R> {
    inner: R,
    read: u64,
    header_read: Arc<AtomicBool>,
    /// The header's first bytes, as many as [`AGE_V1_LINE`] has: what version it declares.
    first_line: Arc<Mutex<Vec<u8>>>,
}

impl<R: Read> Read for HeaderCap<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.header_read.load(Ordering::Relaxed) {
            return self.inner.read(buf);
        }
        let left = MAX_HEADER - self.read;
        if left == 0 {
            return Err(io::Error::new(io::ErrorKind::FileTooLarge, "the age header is too long"));
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let read = self.inner.read(&mut buf[..want])?;
        if let Ok(mut line) = self.first_line.lock() {
            let missing = AGE_V1_LINE.len().saturating_sub(line.len()).min(read);
            line.extend_from_slice(&buf[..missing]);
        }
        self.read += read as u64;
        Ok(read)
    }
}

/// Reads a key, passphrase, identity or recipients file as text.
fn read_text(path: &Path) -> Result<String, ArchiveError> {
    let shown = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| ArchiveError::KeyFileUnreadable { path: shown.clone(), source })?;
    let mut bytes = Vec::new();
    // Key files are small; a special file such as /dev/zero is cut off.
    file.take(1 << 20).read_to_end(&mut bytes).map_err(|source| ArchiveError::KeyFileUnreadable { path: shown.clone(), source })?;
    String::from_utf8(bytes).map_err(|_| ArchiveError::KeyFileInvalid { path: shown, problem: "it is not text".to_owned() })
}

/// A recipient as shown in an error: public, but cut short and without control characters.
fn shown(text: &str) -> String {
    let text: String = text.trim().chars().take(80).collect();
    crate::member::printable(&text)
}
