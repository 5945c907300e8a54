//! Extended attributes (`user.*`, `trusted.*`, POSIX ACLs as `system.posix_acl_*`, …): read
//! from an entry without following a symbolic link, kept in snapshots and manifests as base64
//! values, and made equal on restore. `security.selinux` is left out everywhere: it is the
//! label the target node's policy (and the kubelet's relabelling of volumes) gives a file, not
//! data of the volume.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::VolumeError;

/// Attribute names and their values (base64), in name order.
pub type Xattrs = BTreeMap<String, String>;

/// Attributes that belong to the node rather than the volume.
const NODE_ATTRIBUTES: [&str; 1] = ["security.selinux"];

/// What a path's attributes are: the ones kept, and the names left out because they are not
/// UTF-8 (said in a backup's report).
#[derive(Debug, Default)]
pub(crate) struct Read {
    /// The attributes kept.
    pub kept: Xattrs,
    /// Names that are not UTF-8, shown with replacement characters.
    pub unnamed: Vec<String>,
}

/// The extended attributes of `path` (a symbolic link's own); none where the filesystem keeps none.
pub(crate) fn read(path: &Path) -> Result<Read, VolumeError> {
    let names = match xattr::list(path) {
        Ok(names) => names,
        Err(err) if unsupported(&err) => return Ok(Read::default()),
        Err(err) => return Err(VolumeError::io("list the extended attributes of", path)(err)),
    };
    let mut read = Read::default();
    for name in names {
        let Some(text) = name.to_str() else {
            read.unnamed.push(name.to_string_lossy().into_owned());
            continue;
        };
        if NODE_ATTRIBUTES.contains(&text) {
            continue;
        }
        // An attribute removed between the listing and the read is simply gone.
        if let Some(value) = xattr::get(path, &name).map_err(VolumeError::io("read the extended attributes of", path))? {
            read.kept.insert(text.to_owned(), STANDARD.encode(value));
        }
    }
    Ok(read)
}

/// Makes the attributes of `path` equal to `wanted`: sets the missing and different ones,
/// removes the others (node attributes are left alone).
pub(crate) fn apply(path: &Path, wanted: &Xattrs) -> Result<(), VolumeError> {
    let current = read(path)?.kept;
    if current == *wanted {
        return Ok(());
    }
    for (name, value) in wanted.iter().filter(|(name, value)| current.get(*name) != Some(*value)) {
        let bytes =
            STANDARD.decode(value).map_err(|e| VolumeError::io("restore the extended attributes of", path)(std::io::Error::other(format!("`{name}`: {e}"))))?;
        xattr::set(path, name, &bytes).map_err(VolumeError::io("set the extended attributes of", path))?;
    }
    for name in current.keys().filter(|name| !wanted.contains_key(*name)) {
        xattr::remove(path, name).map_err(VolumeError::io("remove the extended attributes of", path))?;
    }
    Ok(())
}

/// Whether an error says the filesystem (or this kind of entry) has no extended attributes.
fn unsupported(err: &std::io::Error) -> bool {
    err.raw_os_error() == Some(libc::ENOTSUP)
}

/// The names whose values differ between two sets of attributes (missing on one side included).
pub(crate) fn differing(source: &Xattrs, target: &Xattrs) -> Vec<String> {
    let names: std::collections::BTreeSet<&String> = source.keys().chain(target.keys()).filter(|name| source.get(*name) != target.get(*name)).collect();
    names.into_iter().cloned().collect()
}
