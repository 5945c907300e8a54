//! References generated from the command-line definition: the man pages checked in under
//! docs/man/ are exactly what the definition gives today (`FERRY_UPDATE_MAN=1` rewrites them) and render without a groff warning;
//! the bash completion script loads in a real bash and completes commands and values.
//! (zsh, fish and PowerShell are not installed on test machines: their scripts are checked
//! for the commands they complete, not run.)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use assert_cmd::Command;
use assert_cmd::cargo::cargo_bin;

const REGENERATE: &str = "FERRY_UPDATE_MAN=1 cargo nextest run -p ferry-cli --test reference";

fn checked_in() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/man")
}

/// The `*.1` files of `dir` by name, with their text.
fn pages(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "1"))
        .map(|path| (path.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&path).unwrap()))
        .collect()
}

#[test]
fn the_checked_in_man_pages_are_what_the_command_line_defines() {
    let fresh = tempfile::tempdir().unwrap();
    ferry_cli::write_man_pages(fresh.path()).unwrap();
    if std::env::var_os("FERRY_UPDATE_MAN").is_some() {
        std::fs::remove_dir_all(checked_in()).ok();
        std::fs::create_dir_all(checked_in()).unwrap();
        ferry_cli::write_man_pages(&checked_in()).unwrap();
    }
    let (fresh, checked_in) = (pages(fresh.path()), pages(&checked_in()));
    assert!(fresh.contains_key("ferry.1") && fresh.contains_key("ferry-assess.1") && fresh.contains_key("ferry-volumes-sync.1"), "{:?}", fresh.keys());
    assert_eq!(fresh.keys().collect::<Vec<_>>(), checked_in.keys().collect::<Vec<_>>(), "pages added or removed: run `{REGENERATE}`");
    for (name, text) in &fresh {
        assert!(checked_in[name] == *text, "docs/man/{name} is out of date: run `{REGENERATE}`");
    }
}

#[test]
fn every_man_page_renders_without_a_groff_warning() {
    for (name, _) in pages(&checked_in()) {
        let path = checked_in().join(&name);
        let out = Process::new("groff")
            .args(["-k", "-man", "-Tutf8", "-ww", "-P", "-cbou"])
            .arg(&path)
            .output()
            .expect("groff (scripts/test.sh installs groff-base)");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && stderr.is_empty(), "{name}: {stderr}");
        let text = String::from_utf8_lossy(&out.stdout);
        let title = name.trim_end_matches(".1");
        assert!(text.contains("NAME") && text.contains(title), "{name}:\n{text}");
    }
    let assess = Process::new("groff").args(["-k", "-man", "-Tutf8", "-P", "-cbou"]).arg(checked_in().join("ferry-assess.1")).output().unwrap();
    let assess = String::from_utf8_lossy(&assess.stdout);
    assert!(assess.contains("Exit codes:") && assess.contains("--target-version"), "{assess}");
}

/// What bash completes for the words typed so far (the last is the word being completed).
fn bash_completes(words: &[&str]) -> String {
    let script = format!(
        "source <(\"$0\" completion bash) && complete -p ferry && COMP_WORDS=({words}) && COMP_CWORD={cword} && _ferry ferry \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\" && echo \"${{COMPREPLY[*]}}\"",
        words = words.iter().map(|w| format!("'{w}'")).collect::<Vec<_>>().join(" "),
        cword = words.len() - 1,
    );
    let out = Process::new("bash").arg("-c").arg(script).arg(cargo_bin("ferry")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_bash_completion_loads_and_completes_commands_and_values() {
    let registered = bash_completes(&["ferry", "ver"]);
    let mut lines = registered.lines();
    assert!(lines.next().unwrap().ends_with("-F _ferry ferry"), "{registered}");
    assert_eq!(lines.next(), Some("verify version"));
    assert_eq!(bash_completes(&["ferry", "m"]).lines().nth(1), Some("migrate"));
    assert_eq!(bash_completes(&["ferry", "version", "-o", ""]).lines().nth(1), Some("json yaml"));
    assert_eq!(bash_completes(&["ferry", "completion", "p"]).lines().nth(1), Some("powershell"));
}

#[test]
fn zsh_fish_and_powershell_scripts_name_every_command() {
    for (shell, marker) in [("zsh", "#compdef ferry"), ("fish", "complete -c ferry"), ("powershell", "Register-ArgumentCompleter -Native -CommandName 'ferry'")]
    {
        let out = Command::cargo_bin("ferry").unwrap().args(["completion", shell]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.contains(marker), "{shell}: {script}");
        for command in ["assess", "migrate", "volumes", "version", "completion"] {
            assert!(script.contains(command), "{shell} misses {command}");
        }
    }
    let unknown = Command::cargo_bin("ferry").unwrap().args(["completion", "tcsh"]).output().unwrap();
    assert_eq!(unknown.status.code(), Some(2));
}
