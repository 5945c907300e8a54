//! The errors of image building and pushing, written for users; never holding credentials.

use std::io;

/// Why an image could not be built, written or pushed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading a host file or writing an archive failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, with the path.
        what: String,
        /// The underlying error.
        source: io::Error,
    },
    /// A path given for the inside of an image is not usable.
    #[error("invalid path in the image `{path}`: {reason}")]
    ImagePath {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `ldd` failed or named a library it could not find.
    #[error("cannot list the shared libraries of `{binary}`: {reason}")]
    Libraries {
        /// The binary.
        binary: String,
        /// What went wrong.
        reason: String,
    },
    /// An image reference could not be parsed or cannot be pushed to.
    #[error("invalid image reference `{reference}`: {reason}")]
    Reference {
        /// The reference as given.
        reference: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Docker's `config.json` could not be read or has an unusable entry.
    #[error("cannot use the registry credentials in `{path}`: {reason}")]
    DockerConfig {
        /// The file.
        path: String,
        /// What is wrong (never the credentials themselves).
        reason: String,
    },
    /// An evidence file of `ferry images copy` could not be used.
    #[error("cannot use the image copy evidence `{file}`: {reason}")]
    Evidence {
        /// The file.
        file: String,
        /// What is wrong, naming the field.
        reason: String,
    },
    /// The registry refused a request or could not be reached.
    #[error("registry `{registry}`: {action} failed")]
    Registry {
        /// The registry host (and port).
        registry: String,
        /// What was being done, e.g. "uploading blob `sha256:…`".
        action: String,
        /// The client's error.
        source: oci_client::errors::OciDistributionError,
    },
}

/// Maps an I/O error to [`Error::Io`] with a description of what was being done.
pub(crate) fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> Error {
    let what = what.into();
    move |source| Error::Io { what, source }
}
