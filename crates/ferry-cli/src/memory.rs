//! Allocator settings that differ by command. The `ferry` binary (`main.rs`) starts jemalloc
//! with freed pages handed back to the system at once, which keeps `assess`'s peak low. A
//! command that builds and drops many small trees in one short run (`verify` and `preflight`
//! parse, transform and compare every object) keeps its freed pages for reuse instead: handing
//! them back cost `verify` about a tenth of its CPU time, in `madvise` calls and in the page
//! faults of taking them again (BENCHMARKS.md).

/// Keeps freed pages for reuse until the process exits (jemalloc's decay times set to `-1`),
/// unless the user set jemalloc's options (`_RJEM_MALLOC_CONF`). Only speed depends on it, so
/// a setting jemalloc refuses is left as is.
pub fn keep_freed_pages() {
    if std::env::var_os("_RJEM_MALLOC_CONF").is_some() {
        return;
    }
    // The arenas made from now on, then each one that exists (they are numbered from 0).
    let mut names = vec!["arenas.dirty_decay_ms".to_owned(), "arenas.muzzy_decay_ms".to_owned()];
    let arenas: u32 = tikv_jemalloc_ctl::arenas::narenas::read().unwrap_or(0);
    names.extend((0..arenas).flat_map(|i| [format!("arena.{i}.dirty_decay_ms"), format!("arena.{i}.muzzy_decay_ms")]));
    for name in names {
        let name = format!("{name}\0");
        // SAFETY: `name` is a NUL-terminated jemalloc setting whose value is an `ssize_t`.
        // An arena not made yet refuses it, and takes the new default when it is made.
        let _ = unsafe { tikv_jemalloc_ctl::raw::write(name.as_bytes(), -1isize) };
    }
}
