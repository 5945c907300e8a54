//! Command implementations. Each takes resolved settings and returns an exit status.

pub mod apply;
mod archive;
pub mod assess;
pub mod certs;
mod cluster;
mod columns;
pub mod cutover;
pub mod export;
mod gitops;
pub mod images;
mod input;
pub mod migrate;
mod pipeline;
pub mod preflight;
pub mod smoke;
mod sources;
pub mod transform;
pub mod verify;
pub mod version;
pub mod volumes;

/// Gives up a large result without freeing it, because the process ends next:
/// freeing every object tree or report entry one by one would only delay the exit.
fn leave_to_exit<T>(value: T) {
    std::mem::forget(value);
}
