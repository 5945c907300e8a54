//! Renders HTML reports in headless Chromium. For `examples/aks-shop`, the
//! DOM the browser builds must hold the dependency graph with one node per
//! application, cloud service and missing object, and a screenshot must show
//! more than a blank page. For a generated 300-application input (the
//! benchmark corpus), the namespace filter opened through `#ns=...` must
//! show every node of that namespace inside the graph's viewport at a
//! readable size, and with scripts off the static SVG must draw every node.
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

/// The benchmarks' corpus generator, reused for a large input.
#[path = "../../ferry-bench/src/corpus.rs"]
mod corpus;

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

/// Whether the page's scripts run.
#[derive(Clone, Copy, PartialEq)]
enum Scripts {
    On,
    Off,
}

/// Runs headless Chromium with `extra` arguments on `page` (plus `fragment`, e.g. `#ns=shop`), stdout to `stdout`; kills it after [`TIMEOUT`].
///
/// Scripts are turned off through the profile's content settings: with
/// `--blink-settings=scriptEnabled=false`, today's headless Chromium writes
/// neither `--dump-dom` nor `--screenshot` output (both need the DevTools
/// evaluation that flag disables), while the content setting stops only the page's scripts.
fn run_chromium(scratch: &Path, page: &Path, fragment: &str, scripts: Scripts, extra: &[String], stdout: &Path) {
    let profile = scratch.join(if scripts == Scripts::On { "profile" } else { "profile-no-scripts" });
    std::fs::create_dir_all(profile.join("Default")).expect("profile dir");
    if scripts == Scripts::Off {
        std::fs::write(profile.join("Default/Preferences"), r#"{"profile":{"default_content_setting_values":{"javascript":2}}}"#).expect("preferences");
    }
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
        .arg(format!("file://{}{fragment}", page.display()))
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
    run_chromium(&scratch.0, &page, "", Scripts::On, &["--dump-dom".to_owned()], &dom_path);
    let dom = std::fs::read_to_string(&dom_path).expect("DOM");
    assert!(dom.contains("<svg"), "no SVG in the rendered DOM");
    let apps = a.waves.waves.iter().map(|w| w.applications.len()).sum::<usize>();
    let services = a.cloud.iter().map(|c| c.service_id.as_str()).collect::<BTreeSet<_>>().len();
    let missing = a
        .dependencies
        .iter()
        .filter(|d| d.resolution == Resolution::Dangling)
        .filter(|d| (d.kind == Relation::Network && d.to.kind == "Service") || ["ConfigMap", "Secret", "PersistentVolumeClaim"].contains(&d.to.kind.as_str()))
        .map(|d| (&d.to.namespace, &d.to.kind, &d.to.name))
        .collect::<BTreeSet<_>>()
        .len();
    assert!(missing >= 1, "the example's dangling ConfigMap is drawn");
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
    run_chromium(&scratch.0, &page, "", Scripts::On, &[format!("--screenshot={}", png_path.display())], &log);
    let png = std::fs::read(&png_path).unwrap_or_else(|e| panic!("no screenshot at {}: {e}", png_path.display()));
    check_png(&png);
}

/// The value of attribute `name` in the first tag of `tag_text`.
fn attr<'a>(tag_text: &'a str, name: &str) -> Option<&'a str> {
    let end = tag_text.find('>').unwrap_or(tag_text.len());
    let head = &tag_text[..end];
    let at = head.find(&format!(" {name}=\""))? + name.len() + 3;
    Some(&head[at..at + head[at..].find('"')?])
}

/// The numbers in an SVG transform or viewBox (`translate(1,2) scale(3)` → `[1, 2, 3]`).
fn numbers(s: &str) -> Vec<f64> {
    s.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-')).filter(|t| !t.is_empty()).map(|t| t.parse().expect("number")).collect()
}

/// A node as the browser left it: classes, namespace, top-left corner and width in graph units.
struct DrawnNode {
    class: String,
    namespace: Option<String>,
    x: f64,
    y: f64,
    width: f64,
}

impl DrawnNode {
    fn is(&self, class: &str) -> bool {
        self.class.split(' ').any(|c| c == class)
    }
}

fn drawn_nodes(dom: &str) -> Vec<DrawnNode> {
    dom.split(r#"<g class="node "#)
        .skip(1)
        .map(|chunk| {
            let chunk = format!(r#"<g class="node {chunk}"#);
            let at = numbers(attr(&chunk, "transform").expect("node transform"));
            let rect = &chunk[chunk.find("<rect").expect("node rect")..];
            DrawnNode {
                class: attr(&chunk, "class").expect("class").to_owned(),
                namespace: attr(&chunk, "data-ns").map(str::to_owned),
                x: at[0],
                y: at[1],
                width: attr(rect, "width").expect("rect width").parse().expect("width"),
            }
        })
        .collect()
}

/// The first `<tag ...>` whose text contains `marker`.
fn tag_with<'a>(dom: &'a str, marker: &str) -> &'a str {
    let at = dom.find(marker).unwrap_or_else(|| panic!("{marker} not in the DOM"));
    let start = dom[..=at].rfind('<').expect("tag start");
    &dom[start..]
}

#[test]
fn large_report_filters_one_namespace_in_chromium() {
    let scratch = Scratch::new();
    let input = scratch.0.join("corpus");
    corpus::generate(&input, 1_200);
    let a = assess_paths(std::slice::from_ref(&input), &Options::default()).expect("corpus loads");
    let apps: Vec<_> = a.waves.waves.iter().flat_map(|w| &w.applications).collect();
    assert_eq!(apps.len(), 300, "the corpus has 300 applications");
    let namespace = "team-7";
    let expected = apps.iter().filter(|app| app.namespace.as_deref() == Some(namespace)).count();
    assert!(expected >= 5, "{namespace} has {expected} applications");
    let mut html = Vec::new();
    render(&a, Format::Html, &mut html).expect("render");
    let keep = std::env::var_os("FERRY_REPORT_OUT_DIR").map(PathBuf::from);
    let out_dir = keep.unwrap_or_else(|| scratch.0.clone());
    std::fs::create_dir_all(&out_dir).expect("output dir");
    let page = out_dir.join("large.html");
    std::fs::write(&page, &html).expect("write report");
    let fragment = format!("#ns={namespace}");

    // With the filter from the URL: every node of the namespace lies inside the
    // graph's viewport, at a size that can be read.
    let dom_path = scratch.0.join("filtered.html");
    run_chromium(&scratch.0, &page, &fragment, Scripts::On, &["--dump-dom".to_owned()], &dom_path);
    let dom = std::fs::read_to_string(&dom_path).expect("DOM");
    assert!(dom.contains(r#"class="graph interactive""#), "the script ran");
    let view_box = numbers(attr(tag_with(&dom, r#"<svg xmlns"#), "viewBox").expect("viewBox"));
    let (width, height) = (view_box[2], view_box[3]);
    assert!(width >= 1000.0 && height >= 1000.0, "graph viewport is {width}x{height}");
    let view = numbers(attr(tag_with(&dom, r#"<g class="viewport""#), "transform").expect("viewport transform"));
    let (tx, ty, k) = (view[0], view[1], view[2]);
    assert!(k * 12.5 >= 11.0, "node titles are drawn {:.1} px high", k * 12.5);
    let nodes = drawn_nodes(&dom);
    let shown: Vec<&DrawnNode> = nodes.iter().filter(|n| !n.is("hidden")).collect();
    let in_namespace: Vec<&&DrawnNode> = shown.iter().filter(|n| n.namespace.as_deref() == Some(namespace)).collect();
    assert_eq!(in_namespace.iter().filter(|n| n.is("app")).count(), expected, "applications of {namespace} shown");
    assert!(shown.iter().all(|n| n.namespace.as_deref().is_none_or(|ns| ns == namespace)), "only {namespace} (and what it uses outside) is shown");
    for n in &in_namespace {
        let (left, top) = (tx + k * n.x, ty + k * n.y);
        let (right, bottom) = (left + k * n.width, top + k * 40.0);
        assert!(left >= 0.0 && top >= 0.0 && right <= width && bottom <= height, "node at {left:.0},{top:.0}-{right:.0},{bottom:.0} outside {width}x{height}");
    }
    let png_path = out_dir.join("large-filtered.png");
    let _ = std::fs::remove_file(&png_path);
    let log = scratch.0.join("screenshot.stdout");
    run_chromium(&scratch.0, &page, &fragment, Scripts::On, &[format!("--screenshot={}", png_path.display())], &log);
    check_png(&std::fs::read(&png_path).expect("filtered screenshot"));

    // Without scripts, the same file (and fragment) draws the whole graph:
    // every node inside the SVG, nothing hidden, and the waves wrapped so
    // that the graph stays about a screen high.
    let dom_path = scratch.0.join("static.html");
    run_chromium(&scratch.0, &page, &fragment, Scripts::Off, &["--dump-dom".to_owned()], &dom_path);
    let dom = std::fs::read_to_string(&dom_path).expect("DOM");
    assert!(dom.contains(r#"<div class="graph"><svg"#), "the script did not run");
    let svg = tag_with(&dom, r#"<svg xmlns"#);
    let (width, height): (f64, f64) = (attr(svg, "width").expect("width").parse().unwrap(), attr(svg, "height").expect("height").parse().unwrap());
    let nodes = drawn_nodes(&dom);
    assert_eq!(nodes.iter().filter(|n| n.is("app")).count(), 300, "every application is drawn");
    assert!(nodes.iter().all(|n| !n.is("hidden") && n.x >= 0.0 && n.y >= 0.0 && n.x + n.width <= width && n.y + 40.0 <= height));
    assert!(height <= 1_800.0, "waves wrap: the graph is {height} px high");
    let png_path = out_dir.join("large-static.png");
    let _ = std::fs::remove_file(&png_path);
    run_chromium(&scratch.0, &page, &fragment, Scripts::Off, &[format!("--screenshot={}", png_path.display())], &log);
    check_png(&std::fs::read(&png_path).expect("static screenshot"));
}
