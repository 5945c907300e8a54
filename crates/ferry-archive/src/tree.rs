//! Writing a tree of files (ferry's YAML output for GitOps repositories) safely: the whole tree
//! is written into a new private directory beside the destination and then renamed into place,
//! so a failed run leaves the destination as it was. Files are created new (`O_EXCL`, mode
//! `0600`, as archive members are), so no link is ever followed. A destination that exists must
//! be empty or a tree ferry wrote: its `.ferry-tree` file lists every file ferry wrote, and a
//! tree holding anything else (or a link) is refused rather than replaced.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

use tokio::io::AsyncWriteExt as _;

use crate::writer::create_private;

/// The file in a tree that lists every file ferry wrote there, one relative path a line.
pub const TREE_MARKER: &str = ".ferry-tree";

/// Why a tree cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    /// The destination holds something ferry did not write.
    #[error("`{dir}` holds {what} that ferry did not write (`{example}`); it is left as it is")]
    NotOurs {
        /// The destination.
        dir: String,
        /// What kind of entry.
        what: &'static str,
        /// One such entry, relative to the destination.
        example: String,
    },
    /// A path of the tree is not a plain relative path.
    #[error("cannot write `{path}` below `{dir}`: not a plain relative path")]
    BadPath {
        /// The destination.
        dir: String,
        /// The path.
        path: String,
    },
    /// Reading or writing failed.
    #[error("cannot {action} `{dir}`")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The destination.
        dir: String,
        /// Why.
        #[source]
        source: io::Error,
    },
}

/// Writes `files` (relative `/`-separated paths and their bytes) as the whole content of `dir`,
/// with a [`TREE_MARKER`] listing them. `dir` must not exist, be empty, or hold a tree ferry
/// wrote (which is replaced whole: files that are no longer in the tree go away).
pub async fn write_tree(dir: &Path, files: &[(String, Vec<u8>)]) -> Result<(), TreeError> {
    let name = dir.display().to_string();
    let io = |action| move |source| TreeError::Io { action, dir: dir.display().to_string(), source };
    for (path, _) in files {
        if !is_plain(path) || path == TREE_MARKER {
            return Err(TreeError::BadPath { dir: name, path: path.clone() });
        }
    }
    let existing = check_existing(dir).await?;
    let parent = dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let base = dir.file_name().map_or_else(|| "tree".into(), |n| n.to_string_lossy().into_owned());
    let staging = tempfile::Builder::new().prefix(&format!(".{base}.ferry-")).tempdir_in(parent).map_err(io("create a directory beside"))?;
    let mut made = BTreeSet::new();
    for (path, bytes) in files {
        write_file(staging.path(), path, bytes, &mut made).await.map_err(io("write the tree"))?;
    }
    let listing: String = files.iter().map(|(path, _)| format!("{path}\n")).collect();
    write_file(staging.path(), TREE_MARKER, listing.as_bytes(), &mut made).await.map_err(io("write the tree"))?;
    let staged = staging.keep();
    let placed = place(&staged, dir, existing).await;
    if placed.is_err() {
        let _ = tokio::fs::remove_dir_all(&staged).await;
    }
    placed.map_err(io("put the tree in place at"))
}

/// What the destination holds now.
enum Existing {
    /// Nothing, or an empty directory.
    Nothing,
    /// A tree ferry wrote.
    Tree,
}

/// Refuses a destination that holds anything ferry did not write there.
async fn check_existing(dir: &Path) -> Result<Existing, TreeError> {
    let name = dir.display().to_string();
    let not_ours = |what, example: &Path| TreeError::NotOurs { dir: name.clone(), what, example: example.display().to_string() };
    match tokio::fs::symlink_metadata(dir).await {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Existing::Nothing),
        Err(source) => return Err(TreeError::Io { action: "open", dir: name, source }),
        Ok(meta) if !meta.is_dir() => return Err(not_ours("a file or link", Path::new("."))),
        Ok(_) => {}
    }
    let found = list_files(dir).await.map_err(|source| TreeError::Io { action: "read", dir: name.clone(), source })?;
    if found.is_empty() {
        return Ok(Existing::Nothing);
    }
    let listed: BTreeSet<PathBuf> = match tokio::fs::symlink_metadata(dir.join(TREE_MARKER)).await {
        Ok(meta) if meta.is_file() => {
            let text = tokio::fs::read_to_string(dir.join(TREE_MARKER)).await.map_err(|source| TreeError::Io { action: "read", dir: name.clone(), source })?;
            text.lines().map(PathBuf::from).collect()
        }
        _ => BTreeSet::new(),
    };
    for (path, is_file) in &found {
        if !is_file {
            return Err(not_ours("a link or special file", path));
        }
        if path != Path::new(TREE_MARKER) && !listed.contains(path) {
            return Err(not_ours("a file", path));
        }
    }
    Ok(Existing::Tree)
}

/// Every entry below `dir` other than directories, relative to it, and whether it is a regular
/// file (links are never followed).
async fn list_files(dir: &Path) -> io::Result<Vec<(PathBuf, bool)>> {
    let mut found = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let mut entries = tokio::fs::read_dir(dir.join(&relative)).await?;
        while let Some(entry) = entries.next_entry().await? {
            let kind = entry.file_type().await?;
            let path = relative.join(entry.file_name());
            if kind.is_dir() {
                pending.push(path);
            } else {
                found.push((path, kind.is_file()));
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Whether a path is relative, `/`-separated, and has no `.`, `..` or empty parts.
fn is_plain(path: &str) -> bool {
    !path.contains('\\') && path.split('/').all(|part| !matches!(part, "" | "." | ".."))
}

/// Creates `path` below `root` (and the directories it needs) as a new file.
async fn write_file(root: &Path, path: &str, bytes: &[u8], made: &mut BTreeSet<PathBuf>) -> io::Result<()> {
    let full = root.join(path);
    let mut missing = Vec::new();
    for ancestor in full.ancestors().skip(1).take_while(|a| *a != root) {
        if made.contains(ancestor) {
            break;
        }
        missing.push(ancestor.to_path_buf());
    }
    for directory in missing.into_iter().rev() {
        tokio::fs::create_dir(&directory).await?;
        made.insert(directory);
    }
    let mut file = create_private(&full).await?;
    file.write_all(bytes).await?;
    file.flush().await
}

/// Moves the staged tree to `dir`: over nothing (an empty directory is replaced by the rename), or
/// after moving ferry's earlier tree aside, which is then removed.
async fn place(staged: &Path, dir: &Path, existing: Existing) -> io::Result<()> {
    match existing {
        Existing::Nothing => tokio::fs::rename(staged, dir).await,
        Existing::Tree => {
            let mut aside = staged.as_os_str().to_owned();
            aside.push(".old");
            let aside = PathBuf::from(aside);
            tokio::fs::rename(dir, &aside).await?;
            if let Err(e) = tokio::fs::rename(staged, dir).await {
                let _ = tokio::fs::rename(&aside, dir).await;
                return Err(e);
            }
            tokio::fs::remove_dir_all(&aside).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(pairs: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
        pairs.iter().map(|(p, t)| ((*p).to_owned(), t.as_bytes().to_vec())).collect()
    }

    fn read(dir: &Path) -> Vec<(PathBuf, String)> {
        let mut out = Vec::new();
        for entry in walk(dir) {
            out.push((entry.strip_prefix(dir).unwrap().to_path_buf(), std::fs::read_to_string(&entry).unwrap()));
        }
        out.sort();
        out
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .unwrap()
            .flat_map(|e| {
                let path = e.unwrap().path();
                if path.is_dir() { walk(&path) } else { vec![path] }
            })
            .collect()
    }

    #[tokio::test]
    async fn a_tree_replaces_ferrys_earlier_tree_whole() {
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path().join("out");
        write_tree(&dir, &files(&[("a/x.yaml", "1"), ("b/y.yaml", "2"), ("kustomization.yaml", "k")])).await.unwrap();
        write_tree(&dir, &files(&[("a/x.yaml", "3"), ("kustomization.yaml", "k")])).await.unwrap();
        let expected = [(".ferry-tree", "a/x.yaml\nkustomization.yaml\n"), ("a/x.yaml", "3"), ("kustomization.yaml", "k")];
        assert_eq!(read(&dir), expected.map(|(p, t)| (PathBuf::from(p), t.to_owned())));
        assert_eq!(std::fs::read_dir(scratch.path()).unwrap().count(), 1, "nothing is left beside the tree");
    }

    #[tokio::test]
    async fn other_files_and_links_are_refused_and_left_as_they_are() {
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path().join("repo");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("README.md"), "mine").unwrap();
        let error = write_tree(&dir, &files(&[("a.yaml", "1")])).await.unwrap_err();
        assert!(error.to_string().contains("README.md"), "{error}");
        assert_eq!(read(&dir), [(PathBuf::from("README.md"), "mine".to_owned())]);

        let tree = scratch.path().join("tree");
        write_tree(&tree, &files(&[("a/x.yaml", "1")])).await.unwrap();
        std::os::unix::fs::symlink("/etc", tree.join("a/link")).unwrap();
        let error = write_tree(&tree, &files(&[("a/x.yaml", "2")])).await.unwrap_err();
        assert!(matches!(error, TreeError::NotOurs { what: "a link or special file", .. }), "{error}");
        std::fs::remove_file(tree.join("a/link")).unwrap();
        std::fs::write(tree.join("a/extra.yaml"), "added by hand").unwrap();
        assert!(write_tree(&tree, &files(&[("a/x.yaml", "2")])).await.unwrap_err().to_string().contains("extra.yaml"));
        assert_eq!(std::fs::read_to_string(tree.join("a/x.yaml")).unwrap(), "1");
    }

    #[tokio::test]
    async fn paths_that_leave_the_tree_are_refused() {
        let scratch = tempfile::tempdir().unwrap();
        for path in ["../x.yaml", "/etc/x.yaml", "a//b.yaml", "a/./b.yaml", TREE_MARKER, ""] {
            let error = write_tree(&scratch.path().join("t"), &files(&[(path, "1")])).await.unwrap_err();
            assert!(matches!(error, TreeError::BadPath { .. }), "{path}: {error}");
        }
        assert_eq!(std::fs::read_dir(scratch.path()).unwrap().count(), 0);
    }
}
