//! The errors of reading and writing archives, written for the person running ferry.
//!
//! Every message names the archive (a path or an `s3://` URL) and, where one is involved, the
//! member or object, and says what to do. Messages never carry object contents: archives hold
//! Secrets.

use std::io;

/// Why an archive could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The text given as the archive's location names no usable archive.
    #[error("`{text}` is not an archive location: {problem}")]
    Location {
        /// The location as given.
        text: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The S3 settings cannot reach the archive (missing credentials, a bad endpoint).
    #[error("cannot use `{archive}`: {problem}")]
    S3Settings {
        /// The archive's `s3://` URL.
        archive: String,
        /// What is missing or wrong, and which setting fixes it.
        problem: String,
    },
    /// A key, passphrase, identity or recipients file cannot be read.
    #[error("cannot read the key file `{path}`")]
    KeyFileUnreadable {
        /// The key file.
        path: String,
        /// The operating system's reason.
        #[source]
        source: io::Error,
    },
    /// A key, passphrase, identity or recipients file (or a passphrase from the environment)
    /// cannot be used.
    #[error("cannot use the key `{path}`: {problem}")]
    KeyFileInvalid {
        /// The key file, or the environment variable that held the passphrase.
        path: String,
        /// What was found instead (never the file's text).
        problem: String,
    },
    /// A recipient is not an age recipient or SSH public key.
    #[error("`{recipient}` is not a recipient: {problem}")]
    Recipient {
        /// The recipient as given (public; cut short), and where.
        recipient: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The keys given cannot encrypt (a passphrase and recipients together, nothing to encrypt to).
    #[error("cannot encrypt: {problem}")]
    Encryption {
        /// Why.
        problem: String,
    },
    /// A local file or directory could not be created, written or read.
    #[error("cannot {action} `{archive}`")]
    Io {
        /// The archive (for a member, the member's path inside it).
        archive: String,
        /// What ferry was doing, e.g. `create` or `read`.
        action: &'static str,
        /// The operating system's reason.
        #[source]
        source: io::Error,
    },
    /// The object store refused or failed a request.
    #[error("cannot {action} `{archive}`: {problem}")]
    Storage {
        /// The archive's `s3://` URL.
        archive: String,
        /// What ferry was doing, e.g. `start uploading` or `download`.
        action: &'static str,
        /// The cause in plain words, and what to do.
        problem: String,
        /// The object store's error, with the server's answer (boxed: it is large).
        #[source]
        source: Box<object_store::Error>,
    },
    /// A directory archive was asked to go into a directory that holds other files.
    #[error("refusing to write an archive into `{archive}`: the directory is not empty and is not a ferry archive; choose a new or empty directory")]
    DirectoryNotEmpty {
        /// The directory.
        archive: String,
    },
    /// A single-file archive would replace a file that is not an archive.
    #[error("refusing to replace `{archive}`: the file exists and is not a ferry archive; choose another file name")]
    FileNotArchive {
        /// The file.
        archive: String,
    },
    /// Encryption was asked for a directory archive.
    #[error(
        "cannot encrypt the directory archive `{archive}`: a directory holds plain files; to encrypt, write a single-file archive (a path that is not a directory and does not end in `/`) or an s3:// URL"
    )]
    EncryptedDirectory {
        /// The directory.
        archive: String,
    },
    /// Nothing is stored at the location.
    #[error("there is no archive at `{archive}`; check the location, or run `ferry export` to write one")]
    NotFound {
        /// The location.
        archive: String,
    },
    /// The archive is encrypted and no key was given.
    #[error(
        "the archive `{archive}` is encrypted; pass --identity with an age identity it was encrypted to, or --encryption-key-file (or --passphrase-env) with its passphrase"
    )]
    KeyRequired {
        /// The archive.
        archive: String,
    },
    /// A key was given but the archive is not encrypted: reading it anyway would let a plain
    /// archive stand in for the encrypted one expected.
    #[error(
        "the archive `{archive}` is not encrypted but a key was given: refusing to read it, as it may have been swapped for an unencrypted copy; read it without keys (--identity, --encryption-key-file, --passphrase-env) if it is meant to be plain"
    )]
    NotEncrypted {
        /// The archive.
        archive: String,
    },
    /// The key given is not the one the archive was encrypted with.
    #[error(
        "the keys given do not open the archive `{archive}`: it was encrypted to another identity or passphrase; pass the identity or passphrase it was encrypted with"
    )]
    WrongKey {
        /// The archive.
        archive: String,
    },
    /// The location holds something other than a ferry archive.
    #[error("`{archive}` is not a ferry archive: {problem}")]
    NotAnArchive {
        /// The location.
        archive: String,
        /// What was found.
        problem: String,
    },
    /// The archive's format is newer than this ferry knows.
    #[error("the archive `{archive}` was written by a newer ferry (format `{format}`; this ferry reads `{known}`); upgrade ferry to read it")]
    NewerFormat {
        /// The archive.
        archive: String,
        /// The format it declares.
        format: String,
        /// The format this ferry reads.
        known: &'static str,
    },
    /// The archive ends early: the export that wrote it did not finish.
    #[error("the archive `{archive}` is truncated: {problem}; the export was probably interrupted — run `ferry export` again")]
    Truncated {
        /// The archive.
        archive: String,
        /// Where it ends.
        problem: String,
    },
    /// The archive's bytes were altered or cannot be unpacked.
    #[error("the archive `{archive}` is damaged: {problem}; use another copy of it or run `ferry export` again")]
    Damaged {
        /// The archive.
        archive: String,
        /// What is wrong, naming the member where one is involved.
        problem: String,
    },
    /// A member's content differs from what the manifest recorded.
    #[error(
        "the archive `{archive}` is damaged: member `{member}` ({object}) does not match the size and sha256 the manifest records for it; use another copy of the archive or run `ferry export` again"
    )]
    DigestMismatch {
        /// The archive.
        archive: String,
        /// The member's path inside the archive.
        member: String,
        /// The object the manifest says it holds.
        object: String,
    },
    /// A member holds another object than the one its manifest entry names.
    #[error(
        "the archive `{archive}` has been altered: member `{member}` is listed as {listed} but holds {held}; use another copy of the archive or run `ferry export` again"
    )]
    IdentityMismatch {
        /// The archive.
        archive: String,
        /// The member's path inside the archive.
        member: String,
        /// The object the manifest says it holds (control characters escaped).
        listed: String,
        /// The object it holds (kind, namespace, name and apiVersion; control characters escaped).
        held: String,
    },
    /// The manifest lists a member the archive does not hold.
    #[error(
        "the archive `{archive}` is incomplete: the manifest lists member `{member}` ({object}) but the archive does not contain it; use another copy of the archive or run `ferry export` again"
    )]
    MissingMember {
        /// The archive.
        archive: String,
        /// The member's path inside the archive.
        member: String,
        /// The object the manifest says it holds.
        object: String,
    },
    /// The archive holds a member the manifest does not list.
    #[error(
        "the archive `{archive}` has been altered: member `{member}` is not listed in its manifest; use another copy of the archive or run `ferry export` again"
    )]
    UnexpectedMember {
        /// The archive.
        archive: String,
        /// The member's path inside the archive (control characters escaped).
        member: String,
    },
    /// The archive would make ferry read more than its limits allow (a decompression bomb).
    #[error(
        "refusing to read the archive `{archive}`: {problem}; ferry's limits (docs/archive-format.md) keep a hostile archive from using up memory, so the archive was not written by ferry or was tampered with"
    )]
    TooLarge {
        /// The archive.
        archive: String,
        /// Which member or part is too large, and the limit.
        problem: String,
    },
    /// A member's path could point outside the archive.
    #[error(
        "refusing to read the archive `{archive}`: member path `{member}` is not a plain relative path (absolute, `..`, empty segments or odd characters) and could escape the archive; the archive was not written by ferry or was tampered with"
    )]
    UnsafeMember {
        /// The archive.
        archive: String,
        /// The member's path (control characters escaped).
        member: String,
    },
    /// A write failed earlier, so the archive cannot be completed.
    #[error("an earlier write to `{archive}` failed, so the archive cannot be completed; run `ferry export` again")]
    Broken {
        /// The archive.
        archive: String,
    },
    /// An object cannot be added to the archive.
    #[error("cannot add {object} to `{archive}`: {problem}")]
    InvalidObject {
        /// The archive.
        archive: String,
        /// The object.
        object: String,
        /// Why.
        problem: String,
    },
}
