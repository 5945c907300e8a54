//! OCI image-layout archives: a tar of `oci-layout`, `index.json` and `blobs/sha256/HEX`, the
//! form `ctr images import`, `skopeo copy oci-archive:…` and `podman load` read.

use std::fs;
use std::io::{BufWriter, Write as _};
use std::path::Path;

use serde_json::json;
use tar::EntryType;

use crate::error::{Error, io_err};
use crate::layer::header;
use crate::{Blob, Image};

/// The index annotation containerd names an imported image after (`ctr images import`).
pub const CONTAINERD_NAME_ANNOTATION: &str = "io.containerd.image.name";
/// The OCI index annotation naming an image in a layout.
pub const REF_NAME_ANNOTATION: &str = "org.opencontainers.image.ref.name";

impl Image {
    /// Writes the image as an OCI image-layout tar archive at `path`, its index entry named
    /// `reference` (e.g. `ferry.local/busybox:1`) for containerd and OCI tools alike.
    pub fn write_oci_archive(&self, reference: &str, path: &Path) -> Result<(), Error> {
        let failed = || io_err(format!("writing the image archive `{}`", path.display()));
        let file = fs::File::create(path).map_err(failed())?;
        let mut tar = tar::Builder::new(BufWriter::new(file));
        let index = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{
                "mediaType": self.manifest().media_type,
                "digest": self.digest().as_str(),
                "size": self.manifest().size(),
                "annotations": {CONTAINERD_NAME_ANNOTATION: reference, REF_NAME_ANNOTATION: reference},
            }],
        });
        let mut entries: Vec<(String, &[u8])> = Vec::new();
        let (layout, index) = (br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(), index.to_string().into_bytes());
        entries.push(("oci-layout".into(), &layout));
        entries.push(("index.json".into(), &index));
        // An image may use the same layer twice; the layout holds it once.
        let mut written = std::collections::HashSet::new();
        let blobs = std::iter::once(self.manifest()).chain(self.blobs()).filter(|blob| written.insert(&blob.digest));
        entries.extend(blobs.map(|blob: &Blob| (format!("blobs/sha256/{}", blob.digest.hex()), &blob.data[..])));
        for dir in ["blobs/", "blobs/sha256/"] {
            tar.append_data(&mut header(EntryType::Directory, 0o755, 0), dir, std::io::empty()).map_err(failed())?;
        }
        for (name, data) in entries {
            tar.append_data(&mut header(EntryType::Regular, 0o644, data.len() as u64), name, data).map_err(failed())?;
        }
        tar.into_inner().and_then(|mut w| w.flush()).map_err(failed())
    }
}
