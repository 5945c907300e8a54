//! Output files (`--out`): replaced atomically through a temporary file beside them, never
//! following a planted link or reusing a planted file.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use crate::error::CliError;

/// Writes what `write` writes to `path`. A regular file (or a new one), also when reached through a
/// symbolic link, is replaced atomically, through a temporary file beside it renamed into
/// place, so a failed run never leaves half a file and the link stays a link; anything
/// else (`/dev/null`, a named pipe, a dangling link) is written in place, so that it is never
/// replaced by a plain file.
pub fn write(path: &Path, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), CliError> {
    let write_to = |file: fs::File| {
        let mut file = io::BufWriter::new(file);
        write(&mut file)?;
        file.flush()
    };
    let is_link = fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    let target = if is_link { fs::canonicalize(path).ok() } else { Some(path.to_path_buf()) };
    let result = match target {
        Some(target) if fs::metadata(&target).map_or(true, |m| m.is_file()) => replace_atomically(&target, write_to),
        _ => fs::OpenOptions::new().write(true).create(true).truncate(true).open(path).and_then(write_to),
    };
    result.map_err(|e| CliError::failure(format!("cannot write `{}`", path.display()), &e))
}

/// Writes a temporary file beside `path` and renames it into place; on failure removes it.
/// The temporary file has a random name and is created exclusively with mode `0600`
/// (tempfile's defaults), so a file or link planted beside `path` is never followed or reused.
fn replace_atomically(path: &Path, write_to: impl FnOnce(fs::File) -> io::Result<()>) -> io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new().prefix(".ferry-").suffix(".tmp").tempfile_in(dir)?;
    let (file, tmp) = tmp.into_parts();
    write_to(file)?;
    // On failure the temporary path comes back in the error and is removed when it drops.
    tmp.persist(path).map_err(|e| e.error)
}
