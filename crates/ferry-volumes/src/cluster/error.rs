//! Why a volume move could not be planned, run or verified.

use crate::VolumeError;

/// A failure of `ferry volumes`, naming the claim, the Job or the request.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A request to a cluster failed.
    #[error("cannot {action}")]
    Kube {
        /// What ferry asked for, naming the object and the cluster side.
        action: String,
        /// The client's error.
        #[source]
        source: kube::Error,
    },
    /// A mover Job failed or reported no result.
    #[error("the mover Job `{job}` for the claim `{claim}` on the {side} failed: {problem}")]
    Mover {
        /// `source` or `target`.
        side: &'static str,
        /// `NAMESPACE/NAME`.
        claim: String,
        /// The Job's name.
        job: String,
        /// Exit code, reason and the mover's own error.
        problem: String,
    },
    /// The plan has blocking findings; nothing was moved.
    #[error("refused before moving any data: {}", .0.join("; "))]
    Refused(Vec<String>),
    /// Something did not happen in time.
    #[error("gave up waiting: {0}")]
    Timeout(String),
    /// The `--via` location is not usable.
    #[error("`--via {text}`: {problem}")]
    Via {
        /// The location as given.
        text: String,
        /// Why.
        problem: String,
    },
    /// The repository failed when ferry read manifests from it.
    #[error(transparent)]
    Repository(#[from] VolumeError),
}

/// A closure that wraps a client error with what was asked.
pub(crate) fn kube_error(action: impl Into<String>) -> impl FnOnce(kube::Error) -> Error {
    let action = action.into();
    move |source| Error::Kube { action, source }
}
