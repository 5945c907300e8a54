//! The HTML report (`-o html`): one self-contained HTML5 page with inline CSS
//! and the dependency graph as inline SVG.
//!
//! The page loads nothing: no external scripts, fonts, images or style
//! sheets, and a Content-Security-Policy forbids it, so it can be mailed
//! around, archived and opened offline. Its one inline script ([`SCRIPT`],
//! allowed by its hash) adds pan/zoom, a namespace filter (also from the URL
//! fragment `#ns=NAMESPACE`) and neighbour highlighting to the graph; with
//! scripts off the static SVG shows the whole graph. Every string from the input goes through
//! [`sanitize::html`]. Large tables are cut at [`LIMIT`] rows with a line
//! saying how many were left out (the JSON output has everything).

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::io::{self, Write};

use ferry_analysis::facts::Class;
use ferry_analysis::knowledge::deprecations::ApiStatus;
use ferry_analysis::{Assessment, CloudFinding, DeprecationFinding, Evidence, KubeVersion, ObjRef, Resolution, WarningLevel};
use serde::Serialize;

use crate::checklist::checklist;
use crate::endpoints;
use crate::matrix::{cell, has_other, matrix};
use crate::sanitize;
use crate::svg;

/// Rows shown per large table (dependencies, inventory, ...) before "N more".
pub const LIMIT: usize = 2_000;

/// The graph's script (see `graph.js`); it reads the SVG's `data-*` attributes only.
pub const SCRIPT: &str = include_str!("graph.js");

/// The Content-Security-Policy source of [`SCRIPT`]: `'sha256-…'`.
fn script_hash() -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(SCRIPT.as_bytes())))
}

/// Section ids, in page order, with their navigation labels.
pub const SECTIONS: &[(&str, &str)] = &[
    ("graph", "Graph"),
    ("matrix", "Matrix"),
    ("cloud", "Cloud"),
    ("endpoints", "Endpoints"),
    ("apis", "APIs"),
    ("waves", "Waves"),
    ("checklist", "Checklist"),
    ("inventory", "Inventory"),
    ("dependencies", "All dependencies"),
    ("warnings", "Warnings"),
];

const STYLE: &str = r#"
:root{--fg:#1f2933;--muted:#5f6b7a;--border:#d9dfe7;--head:#eef2f6;--zebra:#f7f9fb;--accent:#1c5fb8;
--bad:#b42318;--bad-bg:#fdecea;--bad-line:#f3b8b2;--warn:#8a5300;--warn-bg:#fff5dc;--warn-line:#eed08a;--cycle:#9c36b5;--cycle-bg:#f8f0fb}
*{box-sizing:border-box}
html{scroll-padding-top:52px}
body{margin:0;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:#fff}
header.top{padding:24px 32px 18px;background:#f8fafc;border-bottom:1px solid var(--border)}
h1{margin:0;font-size:26px;letter-spacing:-.01em}
.subtitle{margin:4px 0 0;color:var(--muted)}
.subtitle b{color:var(--fg)}
nav{position:sticky;top:0;z-index:10;display:flex;gap:2px;padding:0 24px;background:#fff;border-bottom:1px solid var(--border);overflow-x:auto;white-space:nowrap;box-shadow:0 1px 3px rgba(15,23,42,.06)}
nav a{padding:11px 10px 9px;color:var(--muted);text-decoration:none;font-weight:500;border-bottom:2px solid transparent}
nav a:hover,nav a:focus{color:var(--accent);border-bottom-color:var(--accent)}
nav .count{display:inline-block;min-width:18px;margin-left:4px;padding:0 5px;border-radius:9px;background:var(--head);font-size:11px;text-align:center;color:var(--muted)}
nav .count.bad{background:var(--bad-bg);color:var(--bad)}
main{padding:0 32px 48px}
section{margin-top:34px}
h2{margin:0 0 12px;padding-bottom:6px;font-size:20px;border-bottom:2px solid var(--border)}
h3{margin:22px 0 8px;font-size:16px}
h4{margin:16px 0 6px;font-size:14px}
p{margin:6px 0}
.muted,.kind{color:var(--muted)}
.kind{font-size:12px}
.small{font-size:12px}
.empty{color:var(--muted);font-style:italic}
.badges{display:flex;flex-wrap:wrap;gap:8px;margin-top:14px}
.badge{display:inline-flex;align-items:baseline;gap:6px;padding:5px 12px;border:1px solid var(--border);border-radius:999px;background:#fff;color:var(--fg);text-decoration:none;font-size:13px}
.badge b{font-size:16px}
.badge.bad{border-color:var(--bad-line);background:var(--bad-bg);color:var(--bad)}
.badge.warn{border-color:var(--warn-line);background:var(--warn-bg);color:var(--warn)}
.table-wrap{overflow-x:auto;border:1px solid var(--border);border-radius:6px}
table{border-collapse:collapse;width:100%;font-size:13px}
th{background:var(--head);text-align:left;font-weight:600;white-space:nowrap}
th,td{padding:6px 10px;border-bottom:1px solid var(--border);vertical-align:top}
tbody tr:nth-child(even){background:var(--zebra)}
tbody tr:last-child td{border-bottom:0}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
code{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;overflow-wrap:break-word}
.long{min-width:12em;overflow-wrap:anywhere}
.long.short{min-width:8em}
.long code{overflow-wrap:anywhere}
.nowrap{white-space:nowrap}
table.compact{width:auto;min-width:22em}
.table-wrap.inline{display:inline-block;max-width:100%}
.path{display:block;color:var(--muted);font-size:11px}
ul.plain{margin:0;padding:0;list-style:none}
.pill{display:inline-block;padding:0 8px;border-radius:999px;font-size:12px;font-weight:600;white-space:nowrap;border:1px solid var(--border);background:#fff;color:var(--muted)}
.pill.bad{border-color:var(--bad-line);background:var(--bad-bg);color:var(--bad)}
.pill.warn{border-color:var(--warn-line);background:var(--warn-bg);color:var(--warn)}
.pill.cycle{border-color:#dcb8e6;background:var(--cycle-bg);color:var(--cycle)}
.pill.azure{border-color:#9cc3e8;background:#e6f1fb;color:#0a5a9c}
.pill.aws{border-color:#f0c98f;background:#fff3e0;color:#8a4b00}
.pill.gcp{border-color:#a6d8b4;background:#e7f5eb;color:#17692f}
.missing{color:var(--bad);font-weight:600}
.omitted{margin:6px 0 0;color:var(--muted);font-style:italic}
.graph{overflow:auto;max-height:85vh;border:1px solid var(--border);border-radius:8px;padding:8px;background:#fff}
.graph svg{display:block;max-width:none}
.graph.interactive{overflow:hidden;height:78vh;max-height:none;padding:0;cursor:grab;touch-action:none}
.graph.interactive svg{width:100%;height:100%}
.graph-tools{display:flex;flex-wrap:wrap;gap:6px 12px;align-items:center;margin:0 0 8px;font-size:13px}
.graph-tools button{min-width:30px;padding:2px 8px;border:1px solid var(--border);border-radius:4px;background:#fff;cursor:pointer}
.graph-tools select{font:inherit}
.graph-status{color:var(--muted)}
.ferry-graph .node{cursor:pointer}
.ferry-graph .hidden,.ferry-graph.no-registry .edge.registry{display:none}
.ferry-graph.focus .node:not(.hl),.ferry-graph.focus .edge:not(.hl){opacity:.12}
.ferry-graph .node.hl rect{stroke-width:3}
.ferry-graph .node.context{opacity:.6}
.cards{display:flex;flex-wrap:wrap;gap:8px 28px;align-items:flex-start}
.cards>div{flex:0 1 auto;max-width:100%}
.service{margin:14px 0;padding:12px 14px;border:1px solid var(--border);border-radius:8px}
.service h4{margin:0 0 4px;font-size:15px}
.service .meta{margin:0 0 8px;color:var(--muted);font-size:13px}
.service .meta b{color:var(--fg)}
.callout{margin:14px 0;padding:10px 14px;border:1px solid #dcb8e6;border-left:4px solid var(--cycle);border-radius:6px;background:var(--cycle-bg)}
.callout h3{margin:0 0 6px;color:var(--cycle);font-size:15px}
.callout ul{margin:4px 0;padding-left:20px}
ol.checklist{margin:0;padding-left:28px}
ol.checklist li{margin:0 0 10px;padding:8px 12px;border:1px solid var(--border);border-radius:6px}
ol.checklist li.blocking{border-color:var(--bad-line);border-left:4px solid var(--bad)}
ol.checklist label{display:flex;gap:8px;align-items:baseline;cursor:pointer;font-weight:600}
ol.checklist input{margin:0;transform:translateY(1px)}
ol.checklist .detail{margin:4px 0 0 24px;color:var(--muted);font-size:13px;overflow-wrap:anywhere}
footer{margin-top:40px;padding:16px 32px;border-top:1px solid var(--border);color:var(--muted);font-size:12px}
@media print{
 nav,.graph-tools{display:none}
 body{font-size:11px}
 header.top{background:none;padding:0 0 8px}
 main,footer{padding-left:0;padding-right:0}
 .graph{overflow:visible;max-height:none;border:0;padding:0}
 .graph svg{max-width:100%;height:auto}
 .table-wrap{overflow:visible;border:0}
 tr,li,.service,.callout{break-inside:avoid}
 h2,h3,h4{break-after:avoid}
 a{color:inherit;text-decoration:none}
 .badge,.pill{border-color:#999}
}
"#;

/// Escapes untrusted text.
pub(crate) fn e(s: &str) -> String {
    sanitize::html(s)
}

/// The name a value has in the JSON output (`env-from`, `image_path`), spaced for reading.
fn word<T: Serialize>(v: &T) -> String {
    crate::serialized_name(v).replace(['-', '_'], " ")
}

/// Formats a count with thousands separators.
fn n(x: usize) -> String {
    let digits = x.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn bytes(b: u64) -> String {
    match b {
        0..1024 => format!("{b} bytes"),
        1024..1_048_576 => format!("{:.1} KiB", b as f64 / 1024.0),
        _ => format!("{:.1} MiB", b as f64 / 1_048_576.0),
    }
}

fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{} {}", n(count), if count == 1 { one } else { many })
}

/// An object: kind in muted text, then `namespace/name`.
fn obj(o: &ObjRef) -> String {
    let name = match &o.namespace {
        Some(ns) => format!("{ns}/{}", o.name),
        None => o.name.to_string(),
    };
    format!(r#"<span class="kind">{}</span> {}"#, e(&o.kind), e(&name))
}

/// `file:line` with the field path below it.
fn evidence(ev: &Evidence) -> String {
    format!(r#"<div class="long"><code>{}</code><span class="path">{}</span></div>"#, e(&ev.location()), e(&ev.path))
}

/// Escapes text and shows its `backticked` spans as code (messages and
/// reasons are written that way for the Markdown report).
fn ticks(s: &str) -> String {
    let parts: Vec<&str> = s.split('`').collect();
    if parts.len() < 3 || parts.len().is_multiple_of(2) {
        return e(s);
    }
    parts.iter().enumerate().map(|(i, p)| if i % 2 == 1 { format!("<code>{}</code>", e(p)) } else { e(p) }).collect()
}

/// Long machine text (addresses, matched text) that may break anywhere.
fn long_code(s: &str) -> String {
    format!(r#"<div class="long"><code>{}</code></div>"#, e(s))
}

fn version(component: &str, v: Option<KubeVersion>) -> String {
    match v {
        Some(v) if component == "k8s" => v.to_string(),
        Some(v) => format!("{} {v}", e(component)),
        None => "—".into(),
    }
}

fn or_dash(s: String) -> String {
    if s.is_empty() { r#"<span class="muted">—</span>"#.into() } else { s }
}

/// Opens a table with its header row; a `#` before a header right-aligns the column.
pub(crate) fn table(s: &mut String, headers: &[&str]) -> fmt::Result {
    table_with(s, "", headers)
}

/// Opens a table of class `class` (`compact`: as wide as its content).
fn table_with(s: &mut String, class: &str, headers: &[&str]) -> fmt::Result {
    if class == "compact" {
        s.push_str(r#"<div class="table-wrap inline">"#);
    } else {
        s.push_str(r#"<div class="table-wrap">"#);
    }
    write!(s, r#"<table class="{class}"><thead><tr>"#)?;
    for h in headers {
        match h.strip_prefix('#') {
            Some(h) => write!(s, r#"<th class="num">{h}</th>"#)?,
            None => write!(s, "<th>{h}</th>")?,
        }
    }
    s.push_str("</tr></thead><tbody>");
    Ok(())
}

/// Closes a table and says how many rows were left out.
pub(crate) fn end_table(s: &mut String, omitted: usize, what: &str) -> fmt::Result {
    end_table_pointing(s, omitted, what, "the JSON output (<code>-o json</code>)")
}

/// [`end_table`], saying that `whole` (HTML) has the rows left out.
pub(crate) fn end_table_pointing(s: &mut String, omitted: usize, what: &str, whole: &str) -> fmt::Result {
    s.push_str("</tbody></table></div>");
    if omitted > 0 {
        write!(s, r#"<p class="omitted">{} more {what} not shown (the first {} are listed); {whole} has everything.</p>"#, n(omitted), n(LIMIT))?;
    }
    Ok(())
}

pub(crate) fn row(s: &mut String, cells: &[String]) {
    s.push_str("<tr>");
    for c in cells {
        s.push_str("<td>");
        s.push_str(c);
        s.push_str("</td>");
    }
    s.push_str("</tr>");
}

pub(crate) fn section_start(s: &mut String, id: &str, title: &str) -> fmt::Result {
    write!(s, r#"<section id="{id}"><h2>{title}</h2>"#)
}

/// Writes the assessment as one self-contained HTML page.
pub fn write(a: &Assessment, out: &mut dyn Write) -> io::Result<()> {
    write_page(out, 64 * 1024, |s| page(a, s))
}

/// Builds a page with `build` in memory (about `capacity` bytes), then writes it.
pub(crate) fn write_page(out: &mut dyn Write, capacity: usize, build: impl FnOnce(&mut String) -> fmt::Result) -> io::Result<()> {
    let mut s = String::with_capacity(capacity);
    build(&mut s).map_err(|_| io::Error::other("formatting the HTML page failed"))?;
    out.write_all(s.as_bytes())?;
    out.flush()
}

/// Opens a page: its head (content security policy `csp`, `title` escaped, the shared style
/// and `style`) and the body.
pub(crate) fn page_start(s: &mut String, csp: &str, title: &str, style: &str) -> fmt::Result {
    s.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    s.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    writeln!(s, "<meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">")?;
    s.push_str("<meta name=\"generator\" content=\"ferry\">\n");
    write!(s, "<title>{}</title>\n<style>{STYLE}{style}</style>\n</head>\n<body>\n", e(title))
}

fn page(a: &Assessment, s: &mut String) -> fmt::Result {
    let csp = format!("default-src 'none'; script-src {}; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'", script_hash());
    page_start(s, &csp, &format!("ferry assessment · Kubernetes {} · {}", a.target.kubernetes, a.target.profile), "")?;
    header(a, s)?;
    nav(a, s)?;
    s.push_str("<main>\n");
    graph(a, s)?;
    dependency_matrix(a, s)?;
    cloud(a, s)?;
    external_endpoints(a, s)?;
    apis(a, s)?;
    waves(a, s)?;
    migration_checklist(a, s)?;
    inventory(a, s)?;
    dependencies(a, s)?;
    warnings(a, s)?;
    s.push_str("</main>\n");
    write!(
        s,
        "<footer>Generated by ferry · schema <code>{}</code> · tables are cut at {} rows; <code>ferry assess -o json</code> has every finding.</footer>\n<script>{SCRIPT}</script>\n</body>\n</html>\n",
        e(a.schema),
        n(LIMIT)
    )
}

/// Counts shown in the header badges and the navigation.
struct Counts {
    workloads: usize,
    dangling: usize,
    removed: usize,
    deprecated: usize,
    errors: usize,
    services: usize,
}

fn counts(a: &Assessment) -> Counts {
    let mut services: Vec<&str> = a.cloud.iter().map(|c| c.service_id.as_str()).collect();
    services.sort_unstable();
    services.dedup();
    Counts {
        workloads: a.inventory.workloads.len(),
        dangling: a.dependencies.iter().filter(|d| d.resolution == Resolution::Dangling).count(),
        removed: a.removed_apis().count(),
        deprecated: a.deprecations.iter().filter(|d| d.status == ApiStatus::Deprecated).count(),
        errors: a.errors_of(ferry_analysis::INPUT_ERROR),
        services: services.len(),
    }
}

fn header(a: &Assessment, s: &mut String) -> fmt::Result {
    let c = counts(a);
    let i = &a.input;
    let read = match &i.cluster {
        Some(cluster) => format!("read {} from {} ({})", plural(i.objects as usize, "object", "objects"), e(cluster), bytes(i.bytes)),
        None => format!(
            "read {}, {}, {} ({})",
            plural(i.files as usize, "file", "files"),
            plural(i.documents as usize, "document", "documents"),
            plural(i.objects as usize, "object", "objects"),
            bytes(i.bytes)
        ),
    };
    write!(
        s,
        r#"<header class="top" id="summary"><h1>ferry assessment</h1><p class="subtitle">Target Kubernetes <b>{}</b> · profile <b>{}</b> · {read}</p>"#,
        a.target.kubernetes,
        e(&a.target.profile),
    )?;
    s.push_str(r#"<div class="badges">"#);
    let warn_label = if c.errors > 0 { format!("warnings, {} unreadable", n(c.errors)) } else { "warnings".into() };
    let badges: [(usize, String, &str, &str); 9] = [
        (a.inventory.total, "objects".into(), "", "inventory"),
        (c.workloads, "workloads".into(), "", "matrix"),
        (a.dependencies.len(), "dependencies".into(), "", "dependencies"),
        (c.dangling, "dangling references".into(), if c.dangling > 0 { "bad" } else { "" }, "dependencies"),
        (a.cloud.len(), format!("cloud findings ({})", plural(c.services, "service", "services")), if a.cloud.is_empty() { "" } else { "warn" }, "cloud"),
        (c.removed, "removed APIs".into(), if c.removed > 0 { "bad" } else { "" }, "apis"),
        (c.deprecated, "deprecated APIs".into(), if c.deprecated > 0 { "warn" } else { "" }, "apis"),
        (a.waves.waves.len(), "waves".into(), "", "waves"),
        (
            a.warnings.len(),
            warn_label,
            if c.errors > 0 {
                "bad"
            } else if a.warnings.iter().any(|w| w.severity == WarningLevel::Warning) {
                "warn"
            } else {
                ""
            },
            "warnings",
        ),
    ];
    for (count, label, class, target) in badges {
        write!(s, r##"<a class="badge {class}" href="#{target}"><b>{}</b>{label}</a>"##, n(count))?;
    }
    s.push_str("</div></header>\n");
    Ok(())
}

fn nav(a: &Assessment, s: &mut String) -> fmt::Result {
    let c = counts(a);
    s.push_str(r#"<nav aria-label="Sections">"#);
    for (id, label) in SECTIONS {
        let (count, bad) = match *id {
            "cloud" => (Some(c.services), false),
            "endpoints" => (Some(a.endpoints.len()), false),
            "apis" => (Some(a.deprecations.len()), c.removed > 0),
            "waves" => (Some(a.waves.waves.len()), false),
            "dependencies" => (Some(a.dependencies.len()), c.dangling > 0),
            "warnings" => (Some(a.warnings.len()), c.errors > 0),
            _ => (None, false),
        };
        let badge = match count {
            Some(k) => format!(r#"<span class="count{}">{}</span>"#, if bad { " bad" } else { "" }, n(k)),
            None => String::new(),
        };
        write!(s, r##"<a href="#{id}">{label}{badge}</a>"##)?;
    }
    s.push_str("</nav>\n");
    Ok(())
}

fn graph(a: &Assessment, s: &mut String) -> fmt::Result {
    section_start(s, "graph", "Dependency graph")?;
    s.push_str(r#"<p class="muted">Applications by migration wave, wave 1 leftmost, grouped by namespace; a wave taller than a screen continues in the next column. Arrows point to what an application needs. Managed cloud services and the Services, ConfigMaps, Secrets and PersistentVolumeClaims missing from the input (dashed red) are on the left. With scripts on: drag to pan, wheel to zoom, choose a namespace (or open the page with <code>#ns=NAMESPACE</code>), hover or click an application to highlight its neighbours.</p>"#);
    s.push_str(r#"<div class="graph">"#);
    s.push_str(&svg::dependency_graph(a));
    s.push_str("</div></section>\n");
    Ok(())
}

/// A matrix cell: one line per item, dangling ones in red.
fn matrix_cell(items: &[(String, bool)]) -> String {
    let lines: Vec<String> = items
        .iter()
        .map(|item| {
            let text = e(&cell(std::slice::from_ref(item)));
            if item.1 { format!(r#"<li class="missing">{text}</li>"#) } else { format!("<li>{text}</li>") }
        })
        .collect();
    if lines.is_empty() { String::new() } else { format!(r#"<ul class="plain">{}</ul>"#, lines.concat()) }
}

fn dependency_matrix(a: &Assessment, s: &mut String) -> fmt::Result {
    section_start(s, "matrix", "Dependency matrix")?;
    let rows = matrix(a);
    if rows.is_empty() {
        s.push_str(r#"<p class="empty">No workloads in the input.</p></section>"#);
        return Ok(());
    }
    s.push_str(r#"<p class="muted">What each workload needs. Entries marked <span class="missing">(missing)</span> are referred to but not in the input."#);
    let other = has_other(&rows);
    if other {
        s.push_str(" Other: custom resources and cluster objects it needs (Dapr Components, SecretProviderClasses, the resources that make its Secrets...).");
    }
    s.push_str("</p>");
    let mut headers = vec!["Workload", "Services", "ConfigMaps", "Secrets", "Volumes", "ServiceAccount"];
    headers.extend(other.then_some("Other"));
    headers.push("Cloud");
    table(s, &headers)?;
    for r in rows.iter().take(LIMIT) {
        let cloud: Vec<String> = r.cloud.iter().map(|c| format!("<li>{}</li>", e(c))).collect();
        let cloud = if cloud.is_empty() { String::new() } else { format!(r#"<ul class="plain">{}</ul>"#, cloud.concat()) };
        let mut cells = vec![
            obj(&r.workload),
            matrix_cell(&r.services),
            matrix_cell(&r.config_maps),
            matrix_cell(&r.secrets),
            matrix_cell(&r.volumes),
            matrix_cell(&r.service_account),
        ];
        cells.extend(other.then(|| matrix_cell(&r.other)));
        cells.push(cloud);
        row(s, &cells);
    }
    end_table(s, rows.len().saturating_sub(LIMIT), "workloads")?;
    s.push_str("</section>\n");
    Ok(())
}

fn provider_pill(provider: &str) -> String {
    let class = match provider {
        "azure" | "aws" | "gcp" => provider,
        _ => "",
    };
    format!(r#"<span class="pill {class}">{}</span>"#, e(svg::provider_name(provider)))
}

fn cloud(a: &Assessment, s: &mut String) -> fmt::Result {
    section_start(s, "cloud", "Cloud dependencies")?;
    if a.cloud.is_empty() {
        s.push_str(r#"<p class="empty">No managed cloud services detected.</p></section>"#);
        return Ok(());
    }
    write!(
        s,
        r#"<p class="muted">Managed cloud services the manifests depend on, with their counterpart for the target profile <b>{}</b>.</p>"#,
        e(&a.target.profile)
    )?;
    let mut groups: BTreeMap<&str, BTreeMap<(&str, &str), Vec<&CloudFinding>>> = BTreeMap::new();
    for c in &a.cloud {
        groups.entry(&c.provider).or_default().entry((&c.service, &c.service_id)).or_default().push(c);
    }
    let mut shown = 0;
    for (provider, services) in &groups {
        let findings: usize = services.values().map(Vec::len).sum();
        write!(
            s,
            r#"<h3>{} <span class="muted small">{}, {}</span></h3>"#,
            provider_pill(provider),
            plural(services.len(), "service", "services"),
            plural(findings, "finding", "findings")
        )?;
        for ((service, _), list) in services {
            let first = list[0];
            let counterpart = if first.counterpart.is_empty() {
                format!(r#"<span class="muted">no counterpart listed for {}</span>"#, e(&a.target.profile))
            } else {
                format!("<b>{}</b>", e(&first.counterpart))
            };
            write!(
                s,
                r#"<div class="service"><h4>{}</h4><p class="meta">{} · on <b>{}</b>: {counterpart}</p>"#,
                e(service),
                e(&first.category),
                e(&a.target.profile),
            )?;
            let take = LIMIT.saturating_sub(shown).min(list.len());
            shown += take;
            table(s, &["Object", "Marker", "Matched", "Evidence", "Used by"])?;
            for f in &list[..take] {
                let used: Vec<String> = f.used_by.iter().map(|u| format!("<li>{}</li>", obj(u))).collect();
                let used = if used.is_empty() {
                    r#"<span class="muted">no workload in the input</span>"#.to_owned()
                } else {
                    format!(r#"<ul class="plain">{}</ul>"#, used.concat())
                };
                row(
                    s,
                    &[obj(&f.object), format!(r#"<span class="nowrap">{}</span>"#, e(&word(&f.subject))), long_code(&f.matched), evidence(&f.evidence), used],
                );
            }
            end_table(s, list.len() - take, "findings")?;
            write!(s, r#"<p class="muted small">Rule source: {}</p></div>"#, e(&first.rule_source))?;
        }
    }
    s.push_str("</section>\n");
    Ok(())
}

fn external_endpoints(a: &Assessment, s: &mut String) -> fmt::Result {
    section_start(s, "endpoints", endpoints::TITLE)?;
    if a.endpoints.is_empty() {
        write!(s, r#"<p class="empty">{}</p></section>"#, ticks(endpoints::NONE))?;
        return Ok(());
    }
    write!(s, r#"<p class="muted">{}</p>"#, ticks(endpoints::INTRO))?;
    table(s, &endpoints::HEADERS)?;
    for cells in endpoints::rows(a).take(LIMIT) {
        let [address, network, protocol, object, place, users] = cells;
        row(s, &[long_code(&address), ticks(&network), e(&protocol), e(&object), e(&place), e(&users)]);
    }
    end_table(s, a.endpoints.len().saturating_sub(LIMIT), "endpoints")?;
    s.push_str("</section>\n");
    Ok(())
}

fn apis(a: &Assessment, s: &mut String) -> fmt::Result {
    section_start(s, "apis", "Deprecated and removed APIs")?;
    if a.deprecations.is_empty() {
        write!(s, r#"<p class="empty">No deprecated or removed API versions for Kubernetes {}.</p></section>"#, a.target.kubernetes)?;
        return Ok(());
    }
    write!(
        s,
        r#"<p class="muted">On Kubernetes {}: <span class="pill bad">removed</span> versions cannot be applied as written; <span class="pill warn">deprecated</span> ones still work but will be removed.</p>"#,
        a.target.kubernetes
    )?;
    let mut list: Vec<&DeprecationFinding> = a.deprecations.iter().collect();
    list.sort_by_key(|d| std::cmp::Reverse(d.status == ApiStatus::Removed));
    table(s, &["Object", "apiVersion", "Kind", "Status", "Removed in", "Replacement", "Note", "Evidence"])?;
    for d in list.iter().take(LIMIT) {
        let status = match d.status {
            ApiStatus::Removed => r#"<span class="pill bad">removed</span>"#.to_owned(),
            ApiStatus::Deprecated => r#"<span class="pill warn">deprecated</span>"#.to_owned(),
        };
        let since = match d.deprecated_in {
            Some(_) => format!(r#"<span class="path">deprecated in {}</span>"#, version(&d.component, d.deprecated_in)),
            None => String::new(),
        };
        let reference = d.via.label().map(|label| format!(r#"<span class="path">{label}</span>"#)).unwrap_or_default();
        let replacement = match &d.replacement {
            Some(r) => format!(r#"<code class="nowrap">{}</code>"#, e(r)),
            None => r#"<span class="muted">no successor</span>"#.into(),
        };
        row(
            s,
            &[
                obj(&d.object),
                format!(r#"<code class="nowrap">{}</code>{reference}"#, e(&d.api_version)),
                e(&d.kind),
                format!(r#"<span class="nowrap">{status}{since}</span>"#),
                version(&d.component, d.removed_in),
                replacement,
                or_dash(d.note.as_deref().map(ticks).unwrap_or_default()),
                evidence(&d.evidence),
            ],
        );
    }
    end_table(s, list.len().saturating_sub(LIMIT), "findings")?;
    s.push_str("</section>\n");
    Ok(())
}

fn waves(a: &Assessment, s: &mut String) -> fmt::Result {
    section_start(s, "waves", "Migration waves")?;
    if a.waves.waves.is_empty() {
        s.push_str(r#"<p class="empty">No workloads, so no waves.</p></section>"#);
        return Ok(());
    }
    s.push_str(r#"<p class="muted">Applications move in waves: each wave needs only what earlier waves have moved. Applications in a dependency cycle move together.</p>"#);
    let in_cycle: std::collections::HashSet<&str> = a.waves.cycles.iter().flat_map(|c| c.members.iter().map(|m| m.as_str())).collect();
    let mut shown = 0;
    for wave in &a.waves.waves {
        write!(s, r#"<h3>Wave {} <span class="muted small">{}</span></h3>"#, wave.number, plural(wave.applications.len(), "application", "applications"))?;
        table(s, &["Application", "Workloads", "Depends on", "Why in this wave"])?;
        let take = LIMIT.saturating_sub(shown).min(wave.applications.len());
        shown += take;
        for app in &wave.applications[..take] {
            let label = match &app.namespace {
                Some(ns) => format!("{ns}/{}", app.name),
                None => app.name.to_string(),
            };
            let cycle = if in_cycle.contains(label.as_str()) { r#" <span class="pill cycle">cycle</span>"# } else { "" };
            let workloads: Vec<String> = app.workloads.iter().map(|w| format!("<li>{}</li>", obj(w))).collect();
            let deps: Vec<String> = app.depends_on.iter().map(|d| format!("<li>{}</li>", e(d))).collect();
            row(
                s,
                &[
                    format!("<b>{}</b>{cycle}", e(&label)),
                    format!(r#"<ul class="plain">{}</ul>"#, workloads.concat()),
                    or_dash(if deps.is_empty() { String::new() } else { format!(r#"<ul class="plain">{}</ul>"#, deps.concat()) }),
                    ticks(&app.reason),
                ],
            );
        }
        end_table(s, wave.applications.len() - take, "applications")?;
    }
    for cycle in &a.waves.cycles {
        write!(s, r#"<div class="callout"><h3>Dependency cycle: {}</h3><ul>"#, e(&cycle.members.join(" + ")))?;
        for edge in &cycle.edges {
            write!(s, "<li>{}</li>", ticks(&edge.to_string()))?;
        }
        write!(s, "</ul><p><b>Advice:</b> {}</p></div>", ticks(&cycle.advice))?;
    }
    if !a.waves.central.is_empty() {
        s.push_str(r#"<h3>Most central applications</h3><p class="muted">Applications others depend on most: move them early and keep them reachable.</p>"#);
        table_with(s, "compact", &["Application", "#Direct dependents", "#All dependents"])?;
        for c in &a.waves.central {
            s.push_str("<tr>");
            write!(s, r#"<td>{}</td><td class="num">{}</td><td class="num">{}</td></tr>"#, e(&c.application), n(c.direct_dependents), n(c.all_dependents))?;
        }
        end_table(s, 0, "")?;
    }
    s.push_str("</section>\n");
    Ok(())
}

fn migration_checklist(a: &Assessment, s: &mut String) -> fmt::Result {
    section_start(s, "checklist", "Migration checklist")?;
    let mut items = checklist(a);
    if items.is_empty() {
        s.push_str(r#"<p class="empty">Nothing to do.</p></section>"#);
        return Ok(());
    }
    items.sort_by_key(|i| !i.blocking);
    let blocking = items.iter().filter(|i| i.blocking).count();
    write!(
        s,
        r#"<p class="muted">{} ({} blocking). The boxes can be ticked in the browser; they are not saved.</p><ol class="checklist">"#,
        plural(items.len(), "item", "items"),
        n(blocking)
    )?;
    for item in &items {
        let (class, tag) = if item.blocking { (r#" class="blocking""#, r#" <span class="pill bad">blocking</span>"#) } else { ("", "") };
        write!(
            s,
            r#"<li{class}><label><input type="checkbox"> <span>{}{tag}</span></label><p class="detail">{}</p></li>"#,
            ticks(&item.title),
            ticks(&item.detail)
        )?;
    }
    s.push_str("</ol></section>\n");
    Ok(())
}

/// The heading of a resource class.
fn class_title(class: Class) -> String {
    match class {
        Class::Service => "Services".into(),
        Class::Ingress => "Ingresses".into(),
        Class::ConfigMap => "ConfigMaps".into(),
        Class::Secret => "Secrets (names, types and key counts only)".into(),
        Class::PersistentVolumeClaim => "PersistentVolumeClaims".into(),
        Class::PersistentVolume => "PersistentVolumes".into(),
        Class::StorageClass => "StorageClasses".into(),
        Class::ServiceAccount => "ServiceAccounts".into(),
        Class::Rbac => "RBAC".into(),
        Class::CustomResourceDefinition => "CustomResourceDefinitions".into(),
        Class::Namespace => "Namespaces".into(),
        Class::Autoscaler => "Autoscalers".into(),
        Class::DisruptionBudget => "PodDisruptionBudgets".into(),
        Class::NetworkPolicy => "NetworkPolicies".into(),
        Class::Custom => "Custom resources".into(),
        Class::Other => "Other objects".into(),
        other => {
            let w = word(&other);
            let mut c = w.chars();
            c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
        }
    }
}

fn inventory(a: &Assessment, s: &mut String) -> fmt::Result {
    let inv = &a.inventory;
    section_start(s, "inventory", "Inventory")?;
    write!(s, r#"<p class="muted">{}, {} of them workloads.</p>"#, plural(inv.total, "object", "objects"), n(inv.workloads.len()))?;
    if !inv.generated.is_empty() {
        let kinds: Vec<String> = inv.generated.iter().map(|g| format!("{} {} ({})", n(g.count), e(&g.kind), e(&g.reason))).collect();
        write!(s, r#"<p class="muted">Made by Kubernetes itself, counted apart and not migrated: {}.</p>"#, kinds.join(", "))?;
    }
    s.push_str(r#"<div class="cards">"#);
    s.push_str("<div><h4>By kind</h4>");
    table(s, &["Kind", "apiVersion", "#Count"])?;
    for k in inv.by_kind.iter().take(LIMIT) {
        write!(s, r#"<tr><td>{}</td><td><code class="nowrap">{}</code></td><td class="num">{}</td></tr>"#, e(&k.kind), e(&k.api_version), n(k.count))?;
    }
    end_table(s, inv.by_kind.len().saturating_sub(LIMIT), "kinds")?;
    s.push_str("</div><div><h4>By namespace</h4>");
    table(s, &["Namespace", "#Count"])?;
    for ns in inv.by_namespace.iter().take(LIMIT) {
        let name = if ns.namespace.is_empty() { r#"<span class="muted">(not set or cluster-scoped)</span>"#.to_owned() } else { e(&ns.namespace) };
        write!(s, r#"<tr><td>{name}</td><td class="num">{}</td></tr>"#, n(ns.count))?;
    }
    end_table(s, inv.by_namespace.len().saturating_sub(LIMIT), "namespaces")?;
    s.push_str("</div><div><h4>Image registries</h4>");
    if inv.registries.is_empty() {
        s.push_str(r#"<p class="empty">No images.</p>"#);
    } else {
        table(s, &["Registry", "#Images"])?;
        for r in inv.registries.iter().take(LIMIT) {
            write!(s, r#"<tr><td><code>{}</code></td><td class="num">{}</td></tr>"#, e(&r.registry), n(r.images))?;
        }
        end_table(s, inv.registries.len().saturating_sub(LIMIT), "registries")?;
    }
    s.push_str("</div></div>");
    // Workloads and resources share one row budget.
    let mut budget = LIMIT;
    write!(s, r#"<h3>Workloads <span class="muted small">{}</span></h3>"#, n(inv.workloads.len()))?;
    if inv.workloads.is_empty() {
        s.push_str(r#"<p class="empty">None.</p>"#);
    } else {
        table(s, &["Workload", "#Replicas", "Images", "ServiceAccount", "Location"])?;
        let take = budget.min(inv.workloads.len());
        budget -= take;
        for w in &inv.workloads[..take] {
            let images: Vec<String> = w.images.iter().map(|i| format!("<li><code>{}</code></li>", e(i))).collect();
            s.push_str("<tr>");
            write!(
                s,
                r#"<td>{}</td><td class="num">{}</td><td><ul class="plain long">{}</ul></td><td>{}</td><td><div class="long"><code>{}</code></div></td></tr>"#,
                obj(&w.object),
                w.replicas.map(|r| r.to_string()).unwrap_or_else(|| "—".into()),
                images.concat(),
                or_dash(w.service_account.as_deref().map(e).unwrap_or_default()),
                e(&w.location.to_string())
            )?;
        }
        end_table(s, inv.workloads.len() - take, "workloads")?;
    }
    for (class, resources) in &inv.resources {
        write!(s, r#"<h3>{} <span class="muted small">{}</span></h3>"#, e(&class_title(*class)), n(resources.len()))?;
        let take = budget.min(resources.len());
        budget -= take;
        if take == 0 {
            write!(
                s,
                r#"<p class="omitted">{} not shown (the first {} inventory rows are listed); the JSON output (<code>-o json</code>) has everything.</p>"#,
                plural(resources.len(), "object", "objects"),
                n(LIMIT)
            )?;
            continue;
        }
        table(s, &["Object", "apiVersion", "Type", "Details", "#Keys", "Location"])?;
        for r in &resources[..take] {
            let details: Vec<String> = r.details.iter().map(|d| format!("<li>{}</li>", e(d))).collect();
            s.push_str("<tr>");
            write!(
                s,
                r#"<td>{}</td><td><code class="nowrap">{}</code></td><td>{}</td><td><ul class="plain">{}</ul></td><td class="num">{}</td><td><div class="long"><code>{}</code></div></td></tr>"#,
                obj(&r.object),
                e(&r.api_version),
                or_dash(r.r#type.as_deref().map(e).unwrap_or_default()),
                details.concat(),
                if r.keys > 0 { n(r.keys) } else { String::new() },
                e(&r.location.to_string())
            )?;
        }
        end_table(s, resources.len() - take, "objects")?;
    }
    s.push_str("</section>\n");
    Ok(())
}

fn dependencies(a: &Assessment, s: &mut String) -> fmt::Result {
    section_start(s, "dependencies", "All dependencies")?;
    if a.dependencies.is_empty() {
        s.push_str(r#"<p class="empty">No dependencies between objects.</p></section>"#);
        return Ok(());
    }
    write!(s, r#"<p class="muted">Every reference between objects ({}), as found.</p>"#, n(a.dependencies.len()))?;
    table(s, &["From", "Kind", "To", "Resolution", "Evidence", "Via", "Address", "Note"])?;
    for d in a.dependencies.iter().take(LIMIT) {
        let resolution = match d.resolution {
            Resolution::Resolved => "resolved".to_owned(),
            Resolution::Dangling => r#"<span class="missing">missing</span>"#.to_owned(),
            Resolution::ClusterProvided => r#"<span class="muted nowrap">cluster-provided</span>"#.to_owned(),
        };
        row(
            s,
            &[
                obj(&d.from),
                e(&word(&d.kind)),
                obj(&d.to),
                resolution,
                evidence(&d.evidence),
                d.via.as_ref().map(obj).unwrap_or_default(),
                d.address.as_deref().map(|x| format!(r#"<div class="long short"><code>{}</code></div>"#, e(x))).unwrap_or_default(),
                d.note.as_deref().map(ticks).unwrap_or_default(),
            ],
        );
    }
    end_table(s, a.dependencies.len().saturating_sub(LIMIT), "dependencies")?;
    s.push_str("</section>\n");
    Ok(())
}

fn warnings(a: &Assessment, s: &mut String) -> fmt::Result {
    section_start(s, "warnings", "Warnings")?;
    if a.warnings.is_empty() {
        s.push_str(r#"<p class="empty">No warnings.</p></section>"#);
        return Ok(());
    }
    let mut list: Vec<_> = a.warnings.iter().collect();
    list.sort_by_key(|w| std::cmp::Reverse(w.severity));
    table(s, &["Severity", "Code", "Message", "Object", "Location", "Field"])?;
    for w in list.iter().take(LIMIT) {
        let severity = match w.severity {
            WarningLevel::Error => r#"<span class="pill bad">error</span>"#,
            WarningLevel::Warning => r#"<span class="pill warn">warning</span>"#,
            WarningLevel::Note => r#"<span class="pill">note</span>"#,
        };
        let location = w.location.as_ref();
        let place = location.map(|l| format!(r#"<div class="long"><code>{}</code></div>"#, e(&l.file_and_line()))).unwrap_or_default();
        let document = match location.and_then(|l| l.document) {
            Some(d) => format!(r#"<span class="path">document {d}</span>"#),
            None => String::new(),
        };
        let field = location.and_then(|l| l.field.as_deref()).map(|f| format!("<code>{}</code>", e(f))).unwrap_or_default();
        row(
            s,
            &[
                severity.to_owned(),
                format!(r#"<code class="nowrap">{}</code>"#, e(&w.code)),
                ticks(&w.message),
                w.object.as_ref().map(obj).unwrap_or_default(),
                format!("{place}{document}"),
                field,
            ],
        );
    }
    end_table(s, list.len().saturating_sub(LIMIT), "warnings")?;
    s.push_str("</section>\n");
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use ferry_analysis::knowledge::Subject;
    use ferry_analysis::{Assessment, Options, assess_paths};

    use super::*;

    fn shop_path() -> PathBuf {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/aks-shop"))
    }

    fn shop() -> Assessment {
        assess_paths(&[shop_path()], &Options::default()).expect("example loads")
    }

    fn render(a: &Assessment) -> String {
        let mut out: Vec<u8> = Vec::new();
        write(a, &mut out).expect("writes to memory");
        String::from_utf8(out).expect("UTF-8")
    }

    /// Every start tag of the page with its attributes (names lower-cased).
    /// Escaped text contains no `<`, so every `<` opens real markup.
    fn tags(html: &str) -> Vec<(String, Vec<(String, String)>)> {
        let b = html.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while let Some(at) = html[i..].find('<') {
            i += at + 1;
            if matches!(b.get(i), Some(b'!' | b'/')) {
                continue;
            }
            let name_end = html[i..].find(|c: char| c.is_whitespace() || c == '>' || c == '/').map_or(html.len(), |k| i + k);
            let name = html[i..name_end].to_ascii_lowercase();
            i = name_end;
            let mut attrs = Vec::new();
            loop {
                while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
                    i += 1;
                }
                if i >= b.len() || b[i] == b'>' {
                    break;
                }
                let attr_end = html[i..].find(|c: char| c.is_whitespace() || c == '=' || c == '>').map_or(html.len(), |k| i + k);
                let attr = html[i..attr_end].to_ascii_lowercase();
                i = attr_end;
                let mut value = String::new();
                if b.get(i) == Some(&b'=') {
                    i += 1;
                    match b.get(i) {
                        Some(&q) if q == b'"' || q == b'\'' => {
                            let close = html[i + 1..].find(q as char).map_or(html.len(), |k| i + 1 + k);
                            value = html[i + 1..close].to_owned();
                            i = close + 1;
                        }
                        _ => {
                            let stop = html[i..].find(|c: char| c.is_whitespace() || c == '>').map_or(html.len(), |k| i + k);
                            value = html[i..stop].to_owned();
                            i = stop;
                        }
                    }
                }
                attrs.push((attr, value));
            }
            out.push((name, attrs));
        }
        out
    }

    /// Asserts that the page loads nothing and runs nothing but its own script, once.
    fn assert_inert(html: &str) {
        let own = format!("<script>{SCRIPT}</script>");
        assert_eq!(html.matches(&own).count(), 1, "the graph script, once");
        let html = &html.replacen(&own, "", 1);
        let tags = tags(html);
        assert!(tags.len() > 100);
        for (tag, attrs) in &tags {
            assert!(!matches!(tag.as_str(), "script" | "link" | "img" | "iframe" | "object" | "embed" | "base" | "image" | "use"), "<{tag}>");
            for (attr, value) in attrs {
                assert!(!attr.starts_with("on"), "<{tag} {attr}=...>");
                assert!(attr != "src" && attr != "xlink:href" && attr != "srcset", "<{tag} {attr}={value}>");
                if attr == "href" {
                    assert!(value.starts_with('#'), "<{tag} href={value}> is not an in-page anchor");
                }
                if attr == "style" || attr.starts_with("marker") {
                    assert!(!value.contains("url(") || value.starts_with("url(#"), "<{tag} {attr}={value}>");
                }
            }
        }
        let lower = html.to_ascii_lowercase();
        for forbidden in ["@import", "url(http", "url(//", "url(data", "@font-face"] {
            assert!(!lower.contains(forbidden), "{forbidden}");
        }
    }

    #[test]
    fn page_has_every_section() {
        let html = render(&shop());
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.trim_end().ends_with("</html>"));
        for (id, _) in SECTIONS {
            assert!(html.contains(&format!(r#"<section id="{id}">"#)), "section {id}");
            assert!(html.contains(&format!(r##"href="#{id}""##)), "nav link to {id}");
        }
        assert!(html.contains(r#"id="summary""#));
        for heading in [
            "Dependency graph",
            "Dependency matrix",
            "Cloud dependencies",
            "External endpoints",
            "Deprecated and removed APIs",
            "Migration waves",
            "Migration checklist",
            "Inventory",
            "All dependencies",
            "Warnings",
        ] {
            assert!(html.contains(&format!(">{heading}</h2>")), "heading {heading}");
        }
    }

    #[test]
    fn header_shows_target_input_and_badges() {
        let a = shop();
        let html = render(&a);
        assert!(html.contains("<h1>ferry assessment</h1>"));
        assert!(html.contains(&format!("Target Kubernetes <b>{}</b>", a.target.kubernetes)));
        assert!(html.contains(&format!("profile <b>{}</b>", a.target.profile)));
        for label in ["objects", "workloads", "dependencies", "dangling references", "cloud findings", "removed APIs", "deprecated APIs", "waves", "warnings"] {
            assert!(html.contains(&format!("</b>{label}")), "badge {label}");
        }
        // The example has removed APIs and a dangling ConfigMap: both badges are red.
        assert!(html.contains(&format!(r##"<a class="badge bad" href="#apis"><b>{}</b>removed APIs"##, a.removed_apis().count())));
        assert!(html.contains(r##"<a class="badge bad" href="#dependencies"><b>1</b>dangling references"##));
    }

    #[test]
    fn graph_has_every_application_and_need() {
        let a = shop();
        let html = render(&a);
        let apps: Vec<_> = a.waves.waves.iter().flat_map(|w| &w.applications).collect();
        assert_eq!(html.matches(r#"<g class="node app""#).count(), apps.len());
        for app in &apps {
            let label = format!("{}/{}", app.namespace.as_deref().unwrap_or_default(), app.name);
            for dep in &app.depends_on {
                assert!(html.contains(&format!(r#"data-from="{label}" data-to="{dep}""#)), "edge {label} -> {dep}");
            }
        }
        assert!(html.contains(r#"<path class="edge cycle" data-from="shop/orders" data-to="shop/payments""#));
        assert!(html.contains(r#"<path class="edge cycle" data-from="shop/payments" data-to="shop/orders""#));
    }

    #[test]
    fn matrix_marks_dangling_entries() {
        let html = render(&shop());
        assert!(html.contains(r#"<li class="missing">storefront-flags (missing)</li>"#), "dangling ConfigMap in red");
    }

    #[test]
    fn cloud_services_from_the_knowledge_table() {
        let a = shop();
        let html = render(&a);
        let bus = a.cloud.iter().find(|c| c.service.contains("Service Bus")).expect("orders uses Azure Service Bus");
        assert!(html.contains(&format!("<h4>{}</h4>", e(&bus.service))));
        assert!(html.contains(&format!(r#"<g class="node cloud" data-id="cloud:{}""#, bus.service_id)));
    }

    fn finding(a: &Assessment, provider: &str, service: &str, workload: &str) -> CloudFinding {
        let w = a.inventory.workloads.iter().find(|w| w.object.name == workload).expect("workload").object.clone();
        CloudFinding {
            provider: provider.into(),
            service_id: service.to_lowercase().replace(' ', "-").into(),
            service: service.into(),
            category: "messaging".into(),
            subject: Subject::Host,
            matched: "contoso-cups.servicebus.windows.net".into(),
            object: w.clone(),
            evidence: Evidence { file: "orders.json".into(), line: 7, path: "spec.template.spec.containers[0].env[0].value".into() },
            used_by: vec![w],
            counterpart: "RabbitMQ".into(),
            rule_source: "test".into(),
        }
    }

    #[test]
    fn cloud_findings_are_grouped_by_provider_and_service() {
        let mut a = shop();
        a.cloud = vec![
            finding(&a, "azure", "Queue Service Test", "orders"),
            finding(&a, "aws", "Bucket Service Test", "nightly-report"),
            finding(&a, "azure", "Queue Service Test", "payments"),
        ];
        let html = render(&a);
        let section = &html[html.find(r#"<section id="cloud">"#).unwrap()..html.find(r#"<section id="apis">"#).unwrap()];
        // Providers sorted (AWS before Azure), each service once with both findings.
        let aws = section.find(r#"<span class="pill aws">AWS</span>"#).expect("aws group");
        let azure = section.find(r#"<span class="pill azure">Azure</span>"#).expect("azure group");
        assert!(aws < azure);
        assert_eq!(section.matches("<h4>Queue Service Test</h4>").count(), 1);
        assert!(section.contains("1 service, 2 findings"));
        assert!(section.contains("<b>RabbitMQ</b>"));
        assert!(section.contains("<code>orders.json:7</code>"));
        assert!(section.contains("spec.template.spec.containers[0].env[0].value"));
        assert!(section.contains("shop/payments"));
        // And in the graph, coloured by provider.
        assert!(html.contains(r#"<g class="node cloud" data-id="cloud:queue-service-test""#));
        assert!(html.contains(r#"class="edge cloud" data-from="shop/orders" data-to="cloud:queue-service-test""#));
        assert!(html.contains(r#"class="edge cloud" data-from="shop/payments" data-to="cloud:queue-service-test""#));
    }

    #[test]
    fn removed_and_deprecated_apis_are_coloured() {
        let a = shop();
        let html = render(&a);
        let section = &html[html.find(r#"<section id="apis">"#).unwrap()..html.find(r#"<section id="waves">"#).unwrap()];
        assert!(a.removed_apis().count() >= 3);
        assert_eq!(section.matches(r#"<td><span class="nowrap"><span class="pill bad">removed</span>"#).count(), a.removed_apis().count());
        assert!(section.contains(r#"<code class="nowrap">policy/v1beta1</code>"#));
        assert!(section.contains(r#"<code class="nowrap">batch/v1beta1</code>"#));
        assert!(section.contains(r#"<code class="nowrap">extensions/v1beta1</code>"#));
    }

    #[test]
    fn referenced_api_versions_are_labelled() {
        let mut a = shop();
        let mut d = a.deprecations[0].clone();
        d.via = ferry_analysis::Via::Reference;
        d.status = ApiStatus::Deprecated;
        let mut applied = d.clone();
        applied.via = ferry_analysis::Via::LastApplied;
        a.deprecations.extend([d, applied]);
        let html = render(&a);
        assert!(html.contains("referenced (not declared)"));
        assert!(html.contains("as last applied (evidence of the manifests, not blocking)"));
        assert!(html.contains(r#"<span class="pill warn">deprecated</span>"#));
    }

    #[test]
    fn objects_made_by_kubernetes_are_counted_apart() {
        let mut a = shop();
        a.inventory.generated.push(ferry_analysis::inventory::GeneratedCount {
            kind: "ReplicaSet".into(),
            rule: "controller-owned".into(),
            reason: "created by its controller (Deployment orders)".into(),
            count: 7,
        });
        let html = render(&a);
        assert!(html.contains("not migrated: 7 ReplicaSet (created by its controller (Deployment orders))."), "generated objects are listed");
    }

    #[test]
    fn waves_cycles_and_checklist() {
        let a = shop();
        let html = render(&a);
        for wave in &a.waves.waves {
            assert!(html.contains(&format!("<h3>Wave {} ", wave.number)));
            for app in &wave.applications {
                assert!(html.contains(&e(&app.reason)));
            }
        }
        assert!(html.contains("Dependency cycle: shop/orders + shop/payments"));
        assert!(html.contains("Most central applications"));
        let items = checklist(&a);
        assert_eq!(html.matches(r#"<input type="checkbox">"#).count(), items.len());
        // Blocking items come first.
        let list = &html[html.find(r#"<ol class="checklist">"#).unwrap()..];
        let first_plain = list.find("<li>").unwrap_or(list.len());
        let last_blocking = list.rfind(r#"<li class="blocking">"#).unwrap_or(0);
        assert!(last_blocking < first_plain);
    }

    #[test]
    fn inventory_lists_objects_without_secret_values() {
        let a = shop();
        let html = render(&a);
        assert!(html.contains("<code>contosocups.azurecr.io/shop/orders:3.0.4</code>"));
        assert!(html.contains("Secrets (names, types and key counts only)"));
        // The placeholder certificate of storefront-tls, base64 or decoded, never appears.
        assert!(!html.contains("LS0tLS1CRUdJTi"));
        assert!(!html.contains("NOT A REAL"));
    }

    #[test]
    fn backticks_become_code() {
        assert_eq!(ticks("render it with `kubectl kustomize` first"), "render it with <code>kubectl kustomize</code> first");
        assert_eq!(ticks("odd ` tick"), "odd ` tick");
        assert_eq!(ticks("`<b>`"), "<code>&lt;b&gt;</code>");
    }

    #[test]
    fn large_tables_are_cut() {
        let mut a = shop();
        let template = a.dependencies[0].clone();
        let extra = LIMIT + 123 - a.dependencies.len();
        a.dependencies.extend(std::iter::repeat_n(template, extra));
        let html = render(&a);
        assert!(html.contains("123 more dependencies not shown"));
    }

    #[test]
    fn inventory_rows_share_one_budget() {
        let mut a = shop();
        let workloads = a.inventory.workloads.len();
        let config_maps = a.inventory.resources[&Class::ConfigMap].clone();
        let template = config_maps[0].clone();
        let list = a.inventory.resources.get_mut(&Class::ConfigMap).unwrap();
        list.extend(std::iter::repeat_n(template, LIMIT));
        let total: usize = workloads + a.inventory.resources.values().map(Vec::len).sum::<usize>();
        let html = render(&a);
        let section = &html[html.find(r#"<section id="inventory">"#).unwrap()..html.find(r#"<section id="dependencies">"#).unwrap()];
        let shown = section.matches("<tr><td><span class=\"kind\">").count();
        assert_eq!(shown, LIMIT, "workload and resource rows shown");
        assert!(total > LIMIT);
        assert!(section.contains("more objects not shown") || section.contains("objects not shown"), "says what was left out");
    }

    #[test]
    fn empty_assessment_renders() {
        let mut a = shop();
        a.inventory.workloads.clear();
        a.inventory.resources.clear();
        a.dependencies.clear();
        a.cloud.clear();
        a.deprecations.clear();
        a.waves = Default::default();
        a.warnings.clear();
        let html = render(&a);
        assert!(html.contains("no workloads"));
        assert!(html.contains("No managed cloud services detected."));
        for (id, _) in SECTIONS {
            assert!(html.contains(&format!(r#"<section id="{id}">"#)));
        }
    }

    #[test]
    fn nothing_is_loaded_from_outside_the_page() {
        let html = render(&shop());
        assert_inert(&html);
        assert!(html.contains(&format!("script-src {};", script_hash())), "the script is allowed by its hash only");
        for forbidden in
            ["fetch(", "XMLHttpRequest", "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "import(", "http://", "https://"]
        {
            assert!(!SCRIPT.replace("http://www.w3.org/2000/svg", "").contains(forbidden), "the script uses {forbidden}");
        }
        assert!(tags(&html).iter().any(|(_, attrs)| attrs.iter().any(|(k, v)| k == "href" && v == "#graph")));
        assert!(html.contains("Content-Security-Policy"));
    }

    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!("ferry-report-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("temp dir");
            TempDir(dir)
        }

        fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    const EVIL: &str = "<script>alert(1)</script>";

    #[test]
    fn hostile_input_is_escaped() {
        let dir = TempDir::new("hostile");
        let manifest = format!(
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: "evil-<img src=x onerror=alert(2)>"
  namespace: "ns-{EVIL}"
  annotations:
    note: "{EVIL}"
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: "{EVIL}"
  template:
    metadata:
      labels:
        app.kubernetes.io/name: "{EVIL}"
    spec:
      serviceAccountName: "sa-{EVIL}"
      containers:
        - name: app
          image: "registry.example/{EVIL}:1"
          env:
            - name: PEER
              value: "http://peer-x.ns-y.svc.cluster.local:80/{EVIL}"
            - name: TOKEN
              valueFrom:
                secretKeyRef:
                  name: "sec-\"'--></script><!--"
                  key: token
          envFrom:
            - configMapRef:
                name: "cm-{EVIL}"
---
apiVersion: extensions/v1beta1
kind: Ingress
metadata:
  name: "ing-{EVIL}"
spec:
  backend:
    serviceName: "svc-{EVIL}"
    servicePort: 80
"#
        );
        std::fs::write(dir.path().join("evil.yaml"), manifest).expect("write manifest");
        std::fs::write(dir.path().join("broken.yaml"), format!("kind: [\"{EVIL}\"\n")).expect("write manifest");
        let a = assess_paths(&[dir.path().to_path_buf()], &Options::default()).expect("loads");
        let html = render(&a);
        // The hostile text reached the report (graph, waves, inventory, matrix) ...
        let escaped = "&lt;script&gt;alert(1)&lt;/script&gt;";
        assert!(html.matches(escaped).count() >= 5, "hostile text reaches the report escaped");
        assert!(html.contains(r#"<g class="node app" data-id="ns-&lt;script&gt;alert(1)&lt;/script&gt;/&lt;script&gt;alert(1)&lt;/script&gt;" data-ns="ns-&lt;script&gt;alert(1)&lt;/script&gt;""#));
        // The missing Secret with quotes and comment markers is drawn, escaped.
        assert!(
            html.contains(
                r#"<g class="node missing" data-id="missing:Secret:ns-&lt;script&gt;alert(1)&lt;/script&gt;/sec-&quot;&#39;--&gt;&lt;/script&gt;&lt;!--""#
            ),
            "missing Secret node"
        );
        assert!(!html.contains("\"'-->") && !html.contains("<!--"), "quotes and comment markers stay escaped");
        // ... and never as markup.
        let lower = html.replacen(&format!("<script>{SCRIPT}</script>"), "", 1).to_ascii_lowercase();
        assert!(!lower.contains("<script"), "unescaped script tag");
        assert!(!lower.contains("</script"), "unescaped end of script");
        assert!(!lower.contains("<img"), "unescaped img tag");
        assert_inert(&html);
    }
}
