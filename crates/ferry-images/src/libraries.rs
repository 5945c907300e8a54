//! The shared libraries a dynamically linked binary needs, as `ldd` names them.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::Error;

/// The absolute paths of the shared libraries `binary` loads, the dynamic loader included, from
/// `ldd`; empty for a statically linked binary. A library `ldd` cannot find is an error.
///
/// `ldd` has the dynamic loader trace the binary, which for a hostile binary can run its code:
/// pack only binaries you trust.
pub fn shared_libraries(binary: &Path) -> Result<Vec<PathBuf>, Error> {
    let failed = |reason: String| Error::Libraries { binary: binary.display().to_string(), reason };
    if !binary.is_file() {
        return Err(failed("no such file".into()));
    }
    let output = Command::new("ldd").arg(binary).output().map_err(|e| failed(format!("cannot run `ldd`: {e}")))?;
    let text = format!("{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    if !output.status.success() && !is_static(&text) {
        return Err(failed(format!("`ldd` failed: {}", text.trim())));
    }
    parse_ldd(&text).map_err(failed)
}

/// The library paths in `ldd`'s output, in order and without repeats; none for a static binary
/// ("not a dynamic executable", "statically linked"). The virtual `linux-vdso.so.1` has no file
/// and is left out; a library shown as `=> not found` is an error naming it.
pub fn parse_ldd(output: &str) -> Result<Vec<PathBuf>, String> {
    if is_static(output) {
        return Ok(Vec::new());
    }
    let mut libraries: Vec<PathBuf> = Vec::new();
    for line in output.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let Some(path) = library_path(line)? else { continue };
        if !libraries.contains(&path) {
            libraries.push(path);
        }
    }
    Ok(libraries)
}

fn is_static(output: &str) -> bool {
    output.contains("not a dynamic executable") || output.contains("statically linked")
}

/// The path on one line: `name => /path (0x…)`, `/path (0x…)`, or none for `linux-vdso.so.1 (0x…)`.
fn library_path(line: &str) -> Result<Option<PathBuf>, String> {
    let (name, target) = match line.split_once("=>") {
        Some((name, target)) => (name.trim(), target.trim()),
        None => (line, line),
    };
    if target.starts_with("not found") {
        return Err(format!("library `{name}` not found"));
    }
    let path = target.rsplit_once(" (").map_or(target, |(path, _)| path).trim();
    Ok(path.starts_with('/').then(|| PathBuf::from(path)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DYNAMIC: &str = "\tlinux-vdso.so.1 (0x00007ffc8d5f2000)
\tlibgcc_s.so.1 => /lib/x86_64-linux-gnu/libgcc_s.so.1 (0x00007f0b1c2a0000)
\tlibm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x00007f0b1c1c1000)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0b1bfe0000)
\t/lib64/ld-linux-x86-64.so.2 (0x00007f0b1d3c4000)
";

    #[test]
    fn libraries_and_loader_are_listed_in_order() {
        let expected =
            ["/lib/x86_64-linux-gnu/libgcc_s.so.1", "/lib/x86_64-linux-gnu/libm.so.6", "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"];
        assert_eq!(parse_ldd(DYNAMIC).unwrap(), expected.map(PathBuf::from));
    }

    #[test]
    fn static_binaries_need_nothing() {
        assert_eq!(parse_ldd("\tnot a dynamic executable\n").unwrap(), Vec::<PathBuf>::new());
        assert_eq!(parse_ldd("\tstatically linked\n").unwrap(), Vec::<PathBuf>::new());
    }

    #[test]
    fn a_missing_library_is_named() {
        let output = "\tlinux-vdso.so.1 (0x00007ffc8d5f2000)\n\tlibssl.so.3 => not found\n";
        assert_eq!(parse_ldd(output).unwrap_err(), "library `libssl.so.3` not found");
    }

    #[test]
    fn repeats_and_paths_with_spaces_are_handled() {
        let output = "\tlibx.so => /opt/my libs/libx.so (0x1)\n\tlibx.so => /opt/my libs/libx.so (0x1)\n";
        assert_eq!(parse_ldd(output).unwrap(), vec![PathBuf::from("/opt/my libs/libx.so")]);
    }

    #[test]
    fn the_real_busybox_is_static_and_a_missing_file_is_an_error() {
        assert_eq!(shared_libraries(Path::new("/bin/busybox")).unwrap(), Vec::<PathBuf>::new());
        let err = shared_libraries(Path::new("/nonexistent/ferry")).unwrap_err();
        assert_eq!(err.to_string(), "cannot list the shared libraries of `/nonexistent/ferry`: no such file");
    }
}
