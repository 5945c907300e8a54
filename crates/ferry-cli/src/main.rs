//! The `ferry` binary: parses the command line and hands over to [`ferry_cli::run`].

/// jemalloc rather than the C library's malloc: ferry works in phases (load, resolve, order,
/// render) that each free much of what the one before built, and glibc keeps freed memory
/// fragmented and resident, so the peak a user sees was ~30 MB above what ferry held.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read at start-up (`MALLOC_CONF` and `_RJEM_MALLOC_CONF` still override
/// them): freed pages go back to the system at once instead of after ten seconds, which keeps
/// the peak of a phase from adding to the memory the previous phase freed.
#[unsafe(export_name = "_rjem_malloc_conf")]
static MALLOC_CONF: &[u8; 34] = b"dirty_decay_ms:0,muzzy_decay_ms:0\0";

fn main() -> std::process::ExitCode {
    ferry_cli::run(std::env::args_os())
}
