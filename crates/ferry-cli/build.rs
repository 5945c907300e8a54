//! Build-time facts for `ferry version`: the git commit the binary is built from and the rustc
//! that builds it, each read by running `git`/`rustc` and left out when they cannot be run (a
//! source tarball, no git installed): the build never fails for want of them.

use std::process::Command;

fn main() {
    if let Some(commit) = git(&["rev-parse", "HEAD"]) {
        println!("cargo:rustc-env=FERRY_GIT_COMMIT={commit}");
        watch_git_head();
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    if let Some(version) = output(Command::new(rustc).arg("--version")) {
        println!("cargo:rustc-env=FERRY_RUSTC_VERSION={version}");
    }
    println!("cargo:rustc-env=FERRY_TARGET={}", std::env::var("TARGET").unwrap_or_default());
    println!("cargo:rerun-if-changed=build.rs");
}

/// Rebuilds when HEAD moves: HEAD itself, the branch it names, and the packed refs (not the
/// index: staging a file must not rebuild the binary).
fn watch_git_head() {
    let mut paths = vec!["HEAD".to_owned(), "packed-refs".to_owned()];
    paths.extend(git(&["symbolic-ref", "-q", "HEAD"]));
    for path in paths {
        // Only files that exist: cargo reruns a build script on every build for a missing one.
        if let Some(file) = git(&["rev-parse", "--path-format=absolute", "--git-path", &path]).filter(|f| std::path::Path::new(f).exists()) {
            println!("cargo:rerun-if-changed={file}");
        }
    }
}

/// `git ARGS` run in this crate's directory, trimmed; `None` if git is missing or fails.
fn git(args: &[&str]) -> Option<String> {
    output(Command::new("git").args(args))
}

/// The command's trimmed standard output if it ran and succeeded.
fn output(command: &mut Command) -> Option<String> {
    let out = command.output().ok().filter(|o| o.status.success())?;
    Some(String::from_utf8(out.stdout).ok()?.trim().to_owned())
}
