//! The container images tests run, as OCI image-layout archives that `ctr -n k8s.io images import`
//! loads into a node's containerd: busybox, pause and (given its binary) ferry itself.

use std::path::{Path, PathBuf};

use crate::{KUBERNETES_VERSION, cache_dir};

/// The busybox image's reference: `/bin/busybox` with a link per applet, command `/bin/sh`.
pub const BUSYBOX_IMAGE: &str = "ferry.local/busybox:1";
/// The pause image's reference: containerd's `sandbox_image` must name it.
pub const PAUSE_IMAGE: &str = "ferry.local/pause:3.2";
/// The ferry image's reference: the ferry binary at `/usr/local/bin/ferry` with its libraries.
pub const FERRY_IMAGE: &str = "ferry.local/ferry:test";

/// Image archives written by [`TestImages::build`].
#[derive(Debug, Clone)]
pub struct TestImages {
    /// [`BUSYBOX_IMAGE`]'s archive, from Debian's static `/bin/busybox`.
    pub busybox: PathBuf,
    /// [`PAUSE_IMAGE`]'s archive, if the pause binary (see [`pause_binary`]) is there.
    pub pause: Option<PathBuf>,
    /// [`FERRY_IMAGE`]'s archive, if a ferry binary was given.
    pub ferry: Option<PathBuf>,
}

impl TestImages {
    /// Writes `busybox.tar`, `pause.tar` (if the pause binary is built) and `ferry.tar` (if
    /// `ferry` names a binary, e.g. `env!("CARGO_BIN_EXE_ferry")`) into `dir`.
    pub fn build(dir: &Path, ferry: Option<&Path>) -> Result<TestImages, ferry_images::Error> {
        let busybox = dir.join("busybox.tar");
        ferry_images::busybox_image(Path::new("/bin/busybox"))?.write_oci_archive(BUSYBOX_IMAGE, &busybox)?;
        let pause = match pause_binary() {
            Some(binary) => Some(write(&ferry_images::pause_image(&binary)?, PAUSE_IMAGE, &dir.join("pause.tar"))?),
            None => None,
        };
        let ferry = match ferry {
            Some(binary) => Some(write(&ferry_images::ferry_image(binary)?, FERRY_IMAGE, &dir.join("ferry.tar"))?),
            None => None,
        };
        Ok(TestImages { busybox, pause, ferry })
    }
}

/// The pause binary built with the Kubernetes binaries (`FERRY_K8S_BIN`, else the cache), if present.
pub fn pause_binary() -> Option<PathBuf> {
    let dir = std::env::var_os("FERRY_K8S_BIN").map(PathBuf::from).unwrap_or_else(|| cache_dir().join(format!("k8s-v{KUBERNETES_VERSION}")));
    Some(dir.join("pause")).filter(|p| p.is_file())
}

fn write(image: &ferry_images::Image, reference: &str, path: &Path) -> Result<PathBuf, ferry_images::Error> {
    image.write_oci_archive(reference, path)?;
    Ok(path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busybox_archive_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let images = TestImages::build(dir.path(), None).unwrap();
        assert!(images.busybox.metadata().unwrap().len() > 100_000);
        assert!(images.ferry.is_none());
    }
}
