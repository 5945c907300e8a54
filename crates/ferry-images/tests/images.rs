//! Images checked by real tools: the OCI layout read back and by `skopeo`, root file systems run
//! in a chroot, and pushes to a real `docker-registry` on loopback, compared blob by blob.

use std::collections::HashMap;
use std::io::Read as _;
use std::path::Path;
use std::process::Command;

use ferry_images::{CONTAINERD_NAME_ANNOTATION, Credentials, Digest, Error, Image, REF_NAME_ANNOTATION, busybox_image, ferry_image, push};
use ferry_testcluster::TestRegistry;
use serde_json::Value;

fn busybox() -> Image {
    busybox_image(Path::new("/bin/busybox")).unwrap()
}

/// An image-layout archive read back: `index.json` and the blobs, each checked against its name.
struct Layout {
    oci_layout: Value,
    index: Value,
    blobs: HashMap<String, Vec<u8>>,
}

fn read_layout(path: &Path) -> Layout {
    let mut archive = tar::Archive::new(std::fs::File::open(path).unwrap());
    let (mut oci_layout, mut index, mut blobs) = (Value::Null, Value::Null, HashMap::new());
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().display().to_string();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        match name.as_str() {
            "oci-layout" => oci_layout = serde_json::from_slice(&data).unwrap(),
            "index.json" => index = serde_json::from_slice(&data).unwrap(),
            "blobs/" | "blobs/sha256/" => {}
            _ => {
                let hex = name.strip_prefix("blobs/sha256/").unwrap_or_else(|| panic!("unexpected member {name}"));
                assert_eq!(Digest::of(&data).hex(), hex, "blob {name} does not match its name");
                blobs.insert(format!("sha256:{hex}"), data);
            }
        }
    }
    Layout { oci_layout, index, blobs }
}

impl Layout {
    /// The blob a descriptor names, checked for size.
    fn blob(&self, descriptor: &Value) -> &[u8] {
        let data = &self.blobs[descriptor["digest"].as_str().unwrap()];
        assert_eq!(data.len() as u64, descriptor["size"].as_u64().unwrap());
        data
    }
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data).read_to_end(&mut out).unwrap();
    out
}

fn tar_paths(tar: &[u8]) -> Vec<String> {
    let mut archive = tar::Archive::new(tar);
    archive.entries().unwrap().map(|e| e.unwrap().path().unwrap().display().to_string()).collect()
}

#[test]
fn the_archive_is_an_oci_layout_naming_the_image_for_containerd() {
    let dir = tempfile::tempdir().unwrap();
    let (image, archive) = (busybox(), dir.path().join("busybox.tar"));
    image.write_oci_archive("ferry.local/busybox:1", &archive).unwrap();
    let layout = read_layout(&archive);
    assert_eq!(layout.oci_layout["imageLayoutVersion"], "1.0.0");
    let entry = &layout.index["manifests"][0];
    assert_eq!(entry["annotations"][CONTAINERD_NAME_ANNOTATION], "ferry.local/busybox:1");
    assert_eq!(entry["annotations"][REF_NAME_ANNOTATION], "ferry.local/busybox:1");
    assert_eq!(entry["digest"], image.digest().as_str());
    let manifest: Value = serde_json::from_slice(layout.blob(entry)).unwrap();
    let config: Value = serde_json::from_slice(layout.blob(&manifest["config"])).unwrap();
    assert_eq!((config["os"].as_str(), config["config"]["Cmd"][0].as_str()), (Some("linux"), Some("/bin/sh")));
    let tar = gunzip(layout.blob(&manifest["layers"][0]));
    assert_eq!(config["rootfs"]["diff_ids"][0], Digest::of(&tar).as_str());
    let paths = tar_paths(&tar);
    for expected in ["bin/busybox", "bin/sh", "bin/ls", "tmp/"] {
        assert!(paths.iter().any(|p| p == expected), "{expected} missing from {paths:?}");
    }
    assert_eq!(layout.blobs.len(), 3);
}

#[test]
fn building_twice_gives_the_same_image() {
    assert_eq!(busybox().digest(), busybox().digest());
}

#[test]
fn skopeo_reads_the_archive() {
    if Command::new("skopeo").arg("--version").output().is_err() {
        eprintln!("skipped: skopeo is not installed (scripts/install-k8s.sh installs it)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (image, archive) = (busybox(), dir.path().join("busybox.tar"));
    image.write_oci_archive("ferry.local/busybox:1", &archive).unwrap();
    let output = Command::new("skopeo").arg("inspect").arg(format!("oci-archive:{}", archive.display())).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let inspected: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(inspected["Digest"], image.digest().as_str());
    assert_eq!((inspected["Os"].as_str(), inspected["Architecture"].as_str()), (Some("linux"), Some("amd64")));
    assert_eq!(inspected["Layers"][0], image.layers()[0].blob.digest.as_str());
}

/// Unpacks the image's only layer into `dir`, modes kept.
fn unpack(image: &Image, dir: &Path) {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&image.layers()[0].blob.data[..]));
    archive.set_preserve_permissions(true);
    archive.unpack(dir).unwrap();
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

#[test]
fn busybox_runs_in_its_root_file_system() {
    if !is_root() {
        eprintln!("skipped: chroot needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    unpack(&busybox(), dir.path());
    let output = Command::new("chroot").arg(dir.path()).args(["/bin/sh", "-c", "echo hello > /tmp/x && cat /tmp/x && ls -ld /tmp"]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with("hello\ndrwxrwxrwt"), "{stdout}");
}

#[test]
fn a_dynamic_binary_runs_with_the_libraries_packed_beside_it() {
    if !is_root() {
        eprintln!("skipped: chroot needs root");
        return;
    }
    let libraries = ferry_images::shared_libraries(Path::new("/bin/ls")).unwrap();
    assert!(libraries.iter().any(|l| l.ends_with("libc.so.6")), "{libraries:?}");
    let dir = tempfile::tempdir().unwrap();
    unpack(&ferry_image(Path::new("/bin/ls")).unwrap(), dir.path());
    let roots = "etc/ssl/certs/ca-certificates.crt";
    assert!(std::fs::read(dir.path().join(roots)).unwrap() == std::fs::read(Path::new("/").join(roots)).unwrap(), "the host's trust roots are in the image");
    let output = Command::new("chroot").arg(dir.path()).args(["/usr/local/bin/ferry", "/usr/local/bin"]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "ferry\n");
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// Requests that upload blobs (`POST`/`PATCH`/`PUT` under `/blobs/uploads/`).
fn uploads(registry: &TestRegistry) -> usize {
    registry.requests().iter().filter(|r| r.contains("/blobs/uploads/") && !r.starts_with("HEAD") && !r.starts_with("GET")).count()
}

#[test]
fn a_pushed_image_is_served_by_tag_and_a_second_push_sends_no_blob() {
    let registry = TestRegistry::start().unwrap();
    let image = busybox();
    let reference = format!("{}/ferry/busybox:1", registry.host());
    let first = runtime().block_on(push(&image, &reference, &Credentials::anonymous())).unwrap();
    assert_eq!(first.reference, reference);
    assert_eq!(&first.digest, image.digest());
    assert_eq!((first.blobs_sent, first.blobs_skipped), (2, 0));
    assert_eq!(first.bytes_sent, image.size());
    assert_eq!(first.pinned(), format!("{reference}@{}", image.digest()));

    let (status, manifest) = registry.get("/v2/ferry/busybox/manifests/1").unwrap();
    assert_eq!(status, 200);
    assert_eq!(Digest::of(&manifest), *image.digest());
    assert_eq!(manifest, image.manifest().data);
    for blob in image.blobs() {
        let (status, served) = registry.get(&format!("/v2/ferry/busybox/blobs/{}", blob.digest)).unwrap();
        assert_eq!((status, served.len()), (200, blob.data.len()));
        assert!(blob.digest.verify(&served));
    }
    let uploads_after_first = uploads(&registry);
    assert!(uploads_after_first >= 2, "{:?}", registry.requests());

    let second = runtime().block_on(push(&image, &reference, &Credentials::anonymous())).unwrap();
    assert_eq!((second.blobs_sent, second.blobs_skipped, second.bytes_sent), (0, 2, image.manifest().size()));
    assert_eq!(second.digest, first.digest);
    assert_eq!(uploads(&registry), uploads_after_first, "{:?}", registry.requests());
}

#[test]
fn an_unreachable_registry_or_a_bad_reference_is_a_clear_error() {
    let image = busybox();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let err = runtime().block_on(push(&image, &format!("127.0.0.1:{closed}/ferry:1"), &Credentials::anonymous())).unwrap_err();
    assert!(matches!(err, Error::Registry { .. }));
    assert_eq!(err.to_string(), format!("registry `127.0.0.1:{closed}`: connecting failed"));
    let err = runtime().block_on(push(&image, "127.0.0.1:5000/UPPER:1", &Credentials::anonymous())).unwrap_err();
    assert!(err.to_string().starts_with("invalid image reference `127.0.0.1:5000/UPPER:1`"), "{err}");
}

/// A throwaway containerd (CRI plugin off) with its root, state and socket in a temporary
/// directory; killed on drop, and with the test process.
struct Containerd {
    dir: tempfile::TempDir,
    child: std::process::Child,
}

impl Containerd {
    /// Starts containerd, or `None` (with the reason printed) where it cannot run here.
    fn start() -> Option<Containerd> {
        use std::os::unix::process::CommandExt as _;
        if !is_root() || Command::new("ctr").arg("--version").output().is_err() || Command::new("runc").arg("--version").output().is_err() {
            eprintln!("skipped: needs root, containerd, ctr and runc");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().display();
        let config = format!(
            "version = 2\nroot = \"{path}/root\"\nstate = \"{path}/state\"\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n[grpc]\n  address = \"{path}/containerd.sock\"\n"
        );
        std::fs::write(dir.path().join("config.toml"), config).unwrap();
        let log = std::fs::File::create(dir.path().join("containerd.log")).unwrap();
        let mut command = Command::new("containerd");
        command.arg("--config").arg(dir.path().join("config.toml")).stdout(log.try_clone().unwrap()).stderr(log);
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
        unsafe {
            command.pre_exec(|| if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) });
        }
        let containerd = Containerd { child: command.spawn().unwrap(), dir };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while containerd.ctr(&["version"]).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "containerd did not start: {}",
                std::fs::read_to_string(containerd.dir.path().join("containerd.log")).unwrap()
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Some(containerd)
    }

    /// Runs `ctr -n k8s.io ARGS` (killed after a minute); stdout, or the exit code and stderr.
    fn ctr(&self, args: &[&str]) -> Result<String, (Option<i32>, String)> {
        let socket = self.dir.path().join("containerd.sock");
        let output = Command::new("timeout").args(["60", "ctr", "-a"]).arg(socket).args(["-n", "k8s.io"]).args(args).output().unwrap();
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err((output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned()))
        }
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn containerd_imports_the_archives_under_their_names_and_runs_them() {
    let Some(containerd) = Containerd::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (busybox, ls) = (busybox(), ferry_image(Path::new("/bin/ls")).unwrap());
    busybox.write_oci_archive("ferry.local/busybox:1", &dir.path().join("busybox.tar")).unwrap();
    ls.write_oci_archive("ferry.local/ls:1", &dir.path().join("ls.tar")).unwrap();
    for archive in ["busybox.tar", "ls.tar"] {
        containerd.ctr(&["images", "import", &dir.path().join(archive).display().to_string()]).unwrap();
    }
    let images = containerd.ctr(&["images", "ls"]).unwrap();
    for (name, image) in [("ferry.local/busybox:1", &busybox), ("ferry.local/ls:1", &ls)] {
        let line = images.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("{name} not imported: {images}"));
        assert!(line.contains(image.digest().as_str()) && line.contains("linux/amd64"), "{line}");
    }
    // What a container prints can be lost when it exits at once, so it writes to a bind mount.
    let out = tempfile::tempdir().unwrap();
    let mount = format!("type=bind,src={},dst=/out,options=rbind:rw", out.path().display());
    let script = "echo hello > /out/said; ls -ld /tmp >> /out/said";
    containerd.ctr(&["run", "--rm", "--mount", &mount, "ferry.local/busybox:1", "busybox-test", "/bin/sh", "-c", script]).unwrap();
    let said = std::fs::read_to_string(out.path().join("said")).unwrap();
    assert!(said.starts_with("hello\ndrwxrwxrwt"), "{said}");
    // ls (with the libraries beside it) runs: its exit status tells a directory it lists from one it cannot find.
    containerd.ctr(&["run", "--rm", "ferry.local/ls:1", "ls-test", "/usr/local/bin/ferry", "/usr/local/bin"]).unwrap();
    let missing = containerd.ctr(&["run", "--rm", "ferry.local/ls:1", "ls-test-2", "/usr/local/bin/ferry", "/nonexistent"]).unwrap_err();
    assert_eq!(missing.0, Some(2), "{}", missing.1);
}

/// A Docker `config.json` in `dir` with `auth` (base64 `user:password`) for `registry`.
fn docker_config(dir: &Path, registry: &str, auth: &str) -> std::path::PathBuf {
    let path = dir.join("config.json");
    std::fs::write(&path, serde_json::json!({"auths": {registry: {"auth": auth}}}).to_string()).unwrap();
    path
}

#[test]
fn credentials_from_docker_config_log_in_and_wrong_ones_are_refused_without_being_shown() {
    let registry = TestRegistry::start_with_basic_auth().unwrap();
    let (image, reference) = (busybox(), format!("{}/private/busybox:1", registry.host()));
    let dir = tempfile::tempdir().unwrap();
    let config = docker_config(dir.path(), &format!("http://{}", registry.host()), &ferry_testcluster::basic_credentials());
    let credentials = Credentials::from_docker_config_file(&config, &registry.host()).unwrap();
    let pushed = runtime().block_on(push(&image, &reference, &credentials)).unwrap();
    assert_eq!((pushed.blobs_sent, &pushed.digest), (2, image.digest()));
    assert_eq!(registry.get("/v2/private/busybox/manifests/1").unwrap().1, image.manifest().data);

    let err = runtime().block_on(push(&image, &reference, &Credentials::anonymous())).unwrap_err();
    assert!(err.to_string().starts_with(&format!("registry `{}`: checking blob", registry.host())), "{err}");
    use base64::Engine as _;
    let wrong = base64::engine::general_purpose::STANDARD.encode(format!("{}:not-the-password-xyz", ferry_testcluster::REGISTRY_USER));
    let credentials = Credentials::from_docker_config_file(&docker_config(dir.path(), &registry.host(), &wrong), &registry.host()).unwrap();
    let err = runtime().block_on(push(&image, &reference, &credentials)).unwrap_err();
    let mut chain = format!("{err} {err:?}");
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        chain.push_str(&format!(" {cause}"));
        source = cause.source();
    }
    assert!(chain.contains("401") || chain.contains("nauthorized"), "{chain}");
    assert!(!chain.contains("not-the-password-xyz") && !chain.contains(&wrong), "{chain}");
    assert_eq!(format!("{credentials:?}"), "Credentials(<redacted>)");
}
