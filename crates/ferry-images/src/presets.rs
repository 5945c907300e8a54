//! The images ferry needs: its own (to run inside clusters), and busybox and pause for tests.

use std::path::Path;
use std::process::Command;

use crate::error::Error;
use crate::{Image, ImageConfig, LayerBuilder};

/// Where ferry's binary is in its image; the image's entrypoint.
pub const FERRY_PATH: &str = "/usr/local/bin/ferry";

const PATH_ENV: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The trust roots (Debian's and most distributions' bundle), at the same path in ferry's image.
const CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// ferry's image: `binary` at [`FERRY_PATH`] with the shared libraries and loader `ldd` names at
/// their host paths, the host's trust roots at [`CA_BUNDLE`] when it has them (the S3 client
/// of volume movers refuses to start without any, even for plain HTTP), `/tmp` (mode 1777),
/// `PATH`, and entrypoint `["/usr/local/bin/ferry"]`.
pub fn ferry_image(binary: &Path) -> Result<Image, Error> {
    let mut layer = LayerBuilder::new();
    layer.executable(FERRY_PATH, binary)?.dir("/tmp", 0o1777)?;
    if Path::new(CA_BUNDLE).is_file() {
        layer.file(CA_BUNDLE, CA_BUNDLE, 0o644)?;
    }
    let config = ImageConfig { entrypoint: vec![FERRY_PATH.into()], env: vec![PATH_ENV.into()], ..ImageConfig::default() };
    Ok(Image::new(&config, vec![layer.build()?]))
}

/// A busybox image: `busybox` at `/bin/busybox` (with its libraries, if it has any), a link in
/// `/bin` for every applet `busybox --list` names, `/tmp` (mode 1777), `PATH`, command `["/bin/sh"]`.
pub fn busybox_image(busybox: &Path) -> Result<Image, Error> {
    let mut layer = LayerBuilder::new();
    layer.executable("/bin/busybox", busybox)?.dir("/tmp", 0o1777)?;
    for applet in applets(busybox)?.iter().filter(|a| *a != "busybox") {
        layer.symlink(&format!("/bin/{applet}"), "busybox")?;
    }
    let config = ImageConfig { cmd: vec!["/bin/sh".into()], env: vec![PATH_ENV.into()], ..ImageConfig::default() };
    Ok(Image::new(&config, vec![layer.build()?]))
}

/// A pod sandbox ("pause") image: `pause` at `/pause` (with its libraries, if it has any),
/// entrypoint `["/pause"]`.
pub fn pause_image(pause: &Path) -> Result<Image, Error> {
    let mut layer = LayerBuilder::new();
    layer.executable("/pause", pause)?;
    let config = ImageConfig { entrypoint: vec!["/pause".into()], ..ImageConfig::default() };
    Ok(Image::new(&config, vec![layer.build()?]))
}

/// The applet names `busybox --list` prints, one a line; a name with a `/` is refused.
fn applets(busybox: &Path) -> Result<Vec<String>, Error> {
    let failed = |what: String| Error::Io { what: format!("running `{} --list`", busybox.display()), source: std::io::Error::other(what) };
    let output = Command::new(busybox).arg("--list").output().map_err(|e| failed(e.to_string()))?;
    if !output.status.success() {
        return Err(failed(format!("{}: {}", output.status, String::from_utf8_lossy(&output.stderr).trim())));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let names: Vec<String> = text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect();
    match names.iter().find(|n| n.contains('/')) {
        Some(bad) => Err(failed(format!("unexpected applet name `{bad}`"))),
        None => Ok(names),
    }
}
