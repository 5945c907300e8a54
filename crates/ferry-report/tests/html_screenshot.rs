//! Renders the `examples/aks-shop` HTML report in headless Chromium: the DOM
//! the browser builds must hold the dependency graph with one node per
//! application, cloud service and missing Service, and a screenshot must
//! show more than a blank page.
//!
//! Needs Chromium (`apt-get install -y chromium`; CI installs it). Set
//! `CHROMIUM` to use another binary, and `FERRY_REPORT_OUT_DIR` to keep
//! `report.html` and `report.png` for a look.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ferry_analysis::facts::Relation;
use ferry_analysis::{Assessment, Options, Resolution, assess_paths};
use ferry_report::{Format, render};

const TIMEOUT: Duration = Duration::from_secs(180);

fn shop() -> Assessment {
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/aks-shop"));
    let path = path.canonicalize().expect("example directory");
    assess_paths(&[path], &Options::default()).expect("example loads")
}

/// The Chromium binary, or a panic explaining how to get one.
fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return PathBuf::from(path);
    }
    let path_dirs: Vec<PathBuf> = std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
    for dir in path_dirs.iter().map(PathBuf::as_path).chain([Path::new("/usr/bin")]) {
        for name in ["chromium", "chromium-browser"] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!("Chromium not found: install it with `apt-get install -y chromium` (the project's CI does), or set CHROMIUM=/path/to/chromium");
}

/// A scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("ferry-report-screenshot-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs headless Chromium with `extra` arguments on `page`, stdout to `stdout`; kills it after [`TIMEOUT`].
fn run_chromium(scratch: &Path, page: &Path, extra: &[String], stdout: &Path) {
    let profile = scratch.join(format!("profile-{}", extra.len()));
    std::fs::create_dir_all(&profile).expect("profile dir");
    let stderr_path = scratch.join("chromium.stderr");
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--window-size=1400,2400")
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(File::create(stdout).expect("stdout file"))
        .stderr(File::create(&stderr_path).expect("stderr file"))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start Chromium ({}): {e}", chromium().display()));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for Chromium") {
            break status;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("Chromium did not finish within {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    assert!(status.success(), "Chromium failed ({status}):\n{stderr}");
}

/// Minimal PNG check: signature, IHDR size, and enough variety in the data
/// that the image cannot be one flat colour.
fn check_png(png: &[u8]) {
    assert!(png.len() > 10 * 1024, "screenshot is only {} bytes", png.len());
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    assert_eq!(&png[12..16], b"IHDR");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert!(width >= 1000 && height >= 1000, "screenshot is {width}x{height}");
    // A flat image compresses to a few hundred bytes of IDAT with little variety.
    let mut idat = Vec::new();
    let mut at = 8;
    while at + 8 <= png.len() {
        let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
        let kind = &png[at + 4..at + 8];
        let end = (at + 8 + len).min(png.len());
        if kind == b"IDAT" {
            idat.extend_from_slice(&png[at + 8..end]);
        }
        at = end + 4;
    }
    let distinct: BTreeSet<u8> = idat.iter().copied().collect();
    assert!(idat.len() > 8 * 1024, "image data is only {} bytes", idat.len());
    assert!(distinct.len() > 200, "image data uses only {} distinct byte values", distinct.len());
}

#[test]
fn report_renders_in_chromium() {
    let a = shop();
    let mut html = Vec::new();
    render(&a, Format::Html, &mut html).expect("render");
    let scratch = Scratch::new();
    let keep = std::env::var_os("FERRY_REPORT_OUT_DIR").map(PathBuf::from);
    let out_dir = keep.clone().unwrap_or_else(|| scratch.0.clone());
    std::fs::create_dir_all(&out_dir).expect("output dir");
    let page = out_dir.join("report.html");
    std::fs::write(&page, &html).expect("write report");
    let page = page.canonicalize().expect("absolute path");

    // The DOM as the browser built it.
    let dom_path = scratch.0.join("dom.html");
    run_chromium(&scratch.0, &page, &["--dump-dom".to_owned()], &dom_path);
    let dom = std::fs::read_to_string(&dom_path).expect("DOM");
    assert!(dom.contains("<svg"), "no SVG in the rendered DOM");
    let apps = a.waves.waves.iter().map(|w| w.applications.len()).sum::<usize>();
    let services = a.cloud.iter().map(|c| c.service_id.as_str()).collect::<BTreeSet<_>>().len();
    let missing = a
        .dependencies
        .iter()
        .filter(|d| d.kind == Relation::Network && d.resolution == Resolution::Dangling && d.to.kind == "Service")
        .map(|d| (&d.to.namespace, &d.to.name))
        .collect::<BTreeSet<_>>()
        .len();
    assert!(apps >= 5 && services >= 5, "example has {apps} applications and {services} cloud services");
    assert_eq!(dom.matches(r#"<g class="node app""#).count(), apps, "application nodes");
    assert_eq!(dom.matches(r#"<g class="node cloud""#).count(), services, "cloud service nodes");
    assert_eq!(dom.matches(r#"<g class="node "#).count(), apps + services + missing, "all nodes");
    let needs: usize = a.waves.waves.iter().flat_map(|w| &w.applications).map(|app| app.depends_on.len()).sum();
    assert_eq!(dom.matches(r#"<path class="edge needs""#).count() + dom.matches(r#"<path class="edge cycle""#).count(), needs);
    for id in ["graph", "matrix", "cloud", "apis", "waves", "checklist", "inventory", "dependencies", "warnings"] {
        assert!(dom.contains(&format!(r#"<section id="{id}">"#)), "section {id} in the DOM");
    }

    // And what it looks like.
    let png_path = out_dir.join("report.png");
    let _ = std::fs::remove_file(&png_path);
    let log = scratch.0.join("screenshot.stdout");
    run_chromium(&scratch.0, &page, &[format!("--screenshot={}", png_path.display())], &log);
    let png = std::fs::read(&png_path).unwrap_or_else(|e| panic!("no screenshot at {}: {e}", png_path.display()));
    check_png(&png);
}
