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
mod out_file;
mod pipeline;
pub mod preflight;
pub mod reference;
pub mod report;
pub mod smoke;
mod sources;
pub mod transform;
pub mod verify;
pub mod version;
pub mod volumes;

pub use cluster::set_request_timeout;

/// Gives up a large result without freeing it, because the process ends next:
/// freeing every object tree or report entry one by one would only delay the exit.
fn leave_to_exit<T>(value: T) {
    std::mem::forget(value);
}

/// A broken pipe (the reader, e.g. `head`, has gone) ends the output quietly; other errors stay.
fn ignore_broken_pipe(e: std::io::Error) -> std::io::Result<()> {
    if e.kind() == std::io::ErrorKind::BrokenPipe { Ok(()) } else { Err(e) }
}

/// Writes `bytes` to standard output, stopping quietly when the reader has gone.
fn print_stdout(bytes: &[u8]) -> Result<(), crate::error::CliError> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .or_else(ignore_broken_pipe)
        .map_err(|e| crate::error::CliError::failure("cannot write to standard output", &e))
}
