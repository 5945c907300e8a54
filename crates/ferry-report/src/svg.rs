//! The dependency graph of the HTML report, drawn as inline SVG with a
//! deterministic, pure-Rust layered layout (no Graphviz).
//!
//! Nodes are the applications of the migration waves, one column per wave
//! (wave 1 leftmost), plus a column left of wave 1 for what lies outside the
//! input: managed cloud services and Services referred to but missing.
//! Edges point from an application to what it needs. Within a column, nodes
//! are ordered by a few barycenter sweeps to reduce crossings; every sort is
//! stable and tie-broken by the previous order, so the same assessment
//! always yields the same drawing.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use ferry_analysis::facts::Relation;
use ferry_analysis::{Assessment, Resolution};

use crate::sanitize;

/// Kinds of missing objects drawn as (dashed red) nodes.
const MISSING_KINDS: [&str; 4] = ["Service", "ConfigMap", "Secret", "PersistentVolumeClaim"];

/// Applications drawn at most; the rest are summarised in a caption.
pub const MAX_APPLICATIONS: usize = 300;

/// Estimated width of one character of a node title (13px font).
const CHAR_W: f64 = 7.0;
/// Estimated width of one character of a node subtitle (11px font).
const SUB_CHAR_W: f64 = 6.0;
/// Longest title drawn in full; longer ones are cut (the tooltip keeps all).
const MAX_TITLE: usize = 44;
const NODE_H: f64 = 40.0;
const PITCH: f64 = 62.0;
const COL_GAP: f64 = 140.0;
/// Horizontal padding inside a node box, both sides together.
const PADDING: f64 = 32.0;
const MARGIN: f64 = 24.0;
const HEADER_H: f64 = 54.0;
/// Height of the nodes of one column before the wave wraps into another
/// column (20 nodes), so that the graph stays about one screen high.
const COLUMN_H: f64 = 20.0 * PITCH;
/// Space above a group of nodes for its label (the namespace).
const BAND_LABEL: f64 = 20.0;
/// Space between two groups of one column.
const BAND_GAP: f64 = 10.0;
/// Gap between the columns of one wrapped wave.
const PART_GAP: f64 = 90.0;
const FONT: &str = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";

/// Ordinary dependency between applications.
const NEEDS: &str = "#7b8797";
/// Edges (and members) of a dependency cycle.
const CYCLE: &str = "#9c36b5";
/// Missing Services.
const MISSING: &str = "#d03a3a";
const TEXT: &str = "#1f2933";
const MUTED: &str = "#5f6b7a";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NodeKind {
    App,
    Cloud,
    Missing,
}

#[derive(Debug, Clone)]
struct Node {
    kind: NodeKind,
    /// Stable identifier (`ns/name` label for applications).
    id: String,
    title: String,
    subtitle: String,
    tooltip: String,
    /// Cloud provider, for cloud nodes.
    provider: String,
    /// Member of a cycle (applications only).
    in_cycle: bool,
    /// Wave number; 0 for the outside column.
    wave: usize,
    /// Namespace the node belongs to (applications and missing objects).
    namespace: Option<String>,
    /// Group it is drawn in within its column: the namespace, or the provider of a cloud service.
    group: String,
    /// A container registry: its many edges can be collapsed.
    registry: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum EdgeKind {
    Needs,
    Cycle,
    Cloud,
    Missing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Edge {
    from: usize,
    to: usize,
    kind: EdgeKind,
}

/// Display colours of a provider: (stroke, fill, name).
fn provider_style(provider: &str) -> (&'static str, &'static str, &'static str) {
    match provider {
        "azure" => ("#0a6ebd", "#e6f1fb", "Azure"),
        "aws" => ("#c76b00", "#fff3e0", "AWS"),
        "gcp" => ("#1e8e3e", "#e7f5eb", "Google Cloud"),
        _ => ("#6b7280", "#f1f3f5", "cloud"),
    }
}

/// The human name of a cloud provider id (`azure` → `Azure`).
pub fn provider_name(provider: &str) -> &str {
    match provider_style(provider).2 {
        "cloud" => provider,
        name => name,
    }
}

fn app_label(namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_owned(),
    }
}

/// Longest title of a node in the outside column.
const MAX_SERVICE_TITLE: usize = 36;

/// The title of a cloud node: the service name without a trailing
/// parenthesis (`Azure Disk (Azure Disk CSI / ...)` → `Azure Disk`) and,
/// when still long, only its first alternative (`A / B` → `A`). The tooltip
/// and the tables keep the full name.
fn short_service(name: &str) -> String {
    let mut short = match name.find(" (") {
        Some(at) if at > 0 && name.ends_with(')') => &name[..at],
        _ => name,
    };
    if short.chars().count() > MAX_SERVICE_TITLE
        && let Some(at) = short.find(" / ").filter(|&at| at > 0)
    {
        short = &short[..at];
    }
    cut(short, MAX_SERVICE_TITLE)
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

/// The graph before layout: nodes, edges and how many applications were left out.
struct Graph {
    nodes: Vec<Node>,
    edges: Vec<Edge>,
    omitted: usize,
}

fn build(a: &Assessment) -> Graph {
    let mut nodes: Vec<Node> = Vec::new();
    let cycle_of: HashMap<&str, usize> = a.waves.cycles.iter().enumerate().flat_map(|(i, c)| c.members.iter().map(move |m| (m.as_str(), i))).collect();
    let mut app_by_label: HashMap<String, usize> = HashMap::new();
    let mut app_by_workload = HashMap::new();
    for wave in &a.waves.waves {
        for app in &wave.applications {
            let label = app_label(app.namespace.as_deref(), &app.name);
            let i = nodes.len();
            let workloads = match app.workloads.len() {
                1 => String::new(),
                n => format!(" · {n} workloads"),
            };
            let names: Vec<String> = app.workloads.iter().map(ToString::to_string).collect();
            nodes.push(Node {
                kind: NodeKind::App,
                id: label.clone(),
                title: app.name.to_string(),
                subtitle: format!("{}{workloads}", app.namespace.as_deref().unwrap_or("no namespace")),
                tooltip: format!("{label} (wave {})\n{}", wave.number, names.join("\n")),
                provider: String::new(),
                in_cycle: cycle_of.contains_key(label.as_str()),
                wave: wave.number,
                namespace: app.namespace.as_deref().map(str::to_owned),
                group: app.namespace.as_deref().unwrap_or("no namespace").to_owned(),
                registry: false,
            });
            for w in &app.workloads {
                app_by_workload.insert(w.clone(), i);
            }
            app_by_label.insert(label, i);
        }
    }
    let mut edges: BTreeSet<Edge> = BTreeSet::new();
    for wave in &a.waves.waves {
        for app in &wave.applications {
            let from = app_by_label[&app_label(app.namespace.as_deref(), &app.name)];
            for dep in &app.depends_on {
                let Some(&to) = app_by_label.get(dep.as_str()) else { continue };
                let same_cycle = cycle_of.get(nodes[from].id.as_str()).is_some_and(|c| cycle_of.get(dep.as_str()) == Some(c));
                edges.insert(Edge { from, to, kind: if same_cycle { EdgeKind::Cycle } else { EdgeKind::Needs } });
            }
        }
    }
    let apps = nodes.len();
    // Cloud services, ordered by provider and name.
    let mut services: BTreeMap<(&str, &str, &str), Vec<usize>> = BTreeMap::new();
    for c in &a.cloud {
        let users = services.entry((&c.provider, &c.service, &c.service_id)).or_default();
        users.extend(c.used_by.iter().filter_map(|w| app_by_workload.get(w).copied()));
    }
    for ((provider, service, id), users) in services {
        let i = nodes.len();
        let category = a.cloud.iter().find(|c| c.service_id == id).map(|c| c.category.as_str()).unwrap_or_default();
        nodes.push(Node {
            kind: NodeKind::Cloud,
            id: format!("cloud:{id}"),
            title: short_service(service),
            subtitle: format!("{} · {category}", provider_name(provider)),
            tooltip: format!("{service} ({}, {category})", provider_name(provider)),
            provider: provider.to_owned(),
            in_cycle: false,
            wave: 0,
            namespace: None,
            group: format!("{} services", provider_name(provider)),
            registry: category == "registry",
        });
        for from in users {
            edges.insert(Edge { from, to: i, kind: EdgeKind::Cloud });
        }
    }
    // Services, ConfigMaps, Secrets and PVCs referred to but missing from the input.
    let mut missing: BTreeMap<(Option<&str>, &str, &str), Vec<usize>> = BTreeMap::new();
    for d in &a.dependencies {
        if d.resolution == Resolution::Dangling && MISSING_KINDS.contains(&d.to.kind.as_str()) && (d.kind == Relation::Network || d.to.kind != "Service") {
            let users = missing.entry((d.to.namespace.as_deref(), &d.to.kind, &d.to.name)).or_default();
            users.extend(app_by_workload.get(&d.from).copied());
        }
    }
    for ((namespace, kind, name), mut users) in missing {
        users.sort_unstable();
        users.dedup();
        let i = nodes.len();
        let label = app_label(namespace, name);
        let subtitle = match namespace {
            Some(ns) => format!("missing {kind} · {ns}"),
            None => format!("missing {kind}"),
        };
        nodes.push(Node {
            kind: NodeKind::Missing,
            id: format!("missing:{kind}:{label}"),
            title: name.to_owned(),
            subtitle,
            tooltip: format!("{kind} {label}: referred to, not in the input"),
            provider: String::new(),
            in_cycle: false,
            wave: 0,
            namespace: namespace.map(str::to_owned),
            group: "missing from the input".to_owned(),
            registry: false,
        });
        for from in users {
            edges.insert(Edge { from, to: i, kind: EdgeKind::Missing });
        }
    }
    let mut graph = Graph { nodes, edges: edges.into_iter().collect(), omitted: 0 };
    if apps > MAX_APPLICATIONS {
        truncate(&mut graph, apps);
    }
    graph
}

/// Keeps the [`MAX_APPLICATIONS`] applications with the most edges, and the
/// outside nodes still connected to one of them (or never connected at all).
fn truncate(g: &mut Graph, apps: usize) {
    let mut degree = vec![0usize; g.nodes.len()];
    for e in &g.edges {
        degree[e.from] += 1;
        degree[e.to] += 1;
    }
    let mut ranked: Vec<usize> = (0..apps).collect();
    ranked.sort_by(|&x, &y| degree[y].cmp(&degree[x]).then(x.cmp(&y)));
    let mut keep = vec![true; g.nodes.len()];
    for &i in &ranked[MAX_APPLICATIONS..] {
        keep[i] = false;
    }
    let edges: Vec<Edge> = g.edges.iter().copied().filter(|e| keep[e.from] && keep[e.to]).collect();
    for i in apps..g.nodes.len() {
        keep[i] = degree[i] == 0 || edges.iter().any(|e| e.to == i);
    }
    let mut remap = vec![usize::MAX; g.nodes.len()];
    let mut nodes = Vec::new();
    for (i, n) in g.nodes.drain(..).enumerate() {
        if keep[i] {
            remap[i] = nodes.len();
            nodes.push(n);
        }
    }
    g.nodes = nodes;
    g.edges = edges.into_iter().map(|e| Edge { from: remap[e.from], to: remap[e.to], ..e }).collect();
    g.omitted = apps - MAX_APPLICATIONS;
}

/// A column of the layout: a wave (or a part of one, when it wraps) or the outside column.
struct Column {
    header: Vec<String>,
    nodes: Vec<usize>,
    x: f64,
    width: f64,
    /// The column of what lies outside the input.
    outside: bool,
}

/// A run of nodes of one group (namespace) in a column, drawn as a labelled band.
struct Band {
    column: usize,
    label: String,
    /// Namespace, for the script's filter (none for groups of cloud services).
    namespace: Option<String>,
    top: f64,
    bottom: f64,
}

/// Computed positions: per node its column, top-left corner and width.
struct Layout {
    columns: Vec<Column>,
    bands: Vec<Band>,
    column_of: Vec<usize>,
    x: Vec<f64>,
    y: Vec<f64>,
    width: Vec<f64>,
    height: f64,
    width_total: f64,
}

fn node_width(n: &Node) -> f64 {
    let title = cut(&n.title, MAX_TITLE).chars().count() as f64 * CHAR_W;
    let sub = n.subtitle.chars().count() as f64 * SUB_CHAR_W;
    (title.max(sub) + PADDING).max(96.0)
}

/// A wave (or the outside column) before it is cut into columns: its header and nodes in drawing order.
struct Stack {
    header: Vec<String>,
    nodes: Vec<usize>,
    outside: bool,
}

/// A band within a stack: (part, group, top, bottom).
type PartBand = (usize, String, f64, f64);

/// Where the nodes of a stack go: `(part, y)` per node in order, and the bands
/// `(part, group, top, bottom)`. Groups follow each other with a label above
/// each; a part (column) ends before [`COLUMN_H`], and a group that would
/// cross that line starts the next part unless it is taller than a column.
fn stack_positions(g: &Graph, nodes: &[usize]) -> (Vec<(usize, f64)>, Vec<PartBand>) {
    let top = MARGIN + HEADER_H;
    let (mut part, mut y) = (0, top);
    let mut at = Vec::with_capacity(nodes.len());
    let mut bands: Vec<PartBand> = Vec::new();
    let mut k = 0;
    while k < nodes.len() {
        let group = &g.nodes[nodes[k]].group;
        let size = nodes[k..].iter().take_while(|&&n| &g.nodes[n].group == group).count();
        let height = BAND_LABEL + size as f64 * PITCH;
        if y > top && y + height > top + COLUMN_H && height <= COLUMN_H {
            (part, y) = (part + 1, top);
        }
        let mut band = (part, group.clone(), y, y);
        y += BAND_LABEL;
        for _ in 0..size {
            if y + PITCH > top + COLUMN_H + BAND_LABEL && y > band.2 + BAND_LABEL {
                band.3 = y - (PITCH - NODE_H);
                bands.push(band);
                (part, y) = (part + 1, top);
                band = (part, group.clone(), y, y);
                y += BAND_LABEL;
            }
            at.push((part, y));
            y += PITCH;
        }
        band.3 = y - (PITCH - NODE_H);
        bands.push(band);
        y += BAND_GAP;
        k += size;
    }
    (at, bands)
}

fn layout(g: &Graph) -> Layout {
    let mut stacks: Vec<Stack> = Vec::new();
    let outside: Vec<usize> = (0..g.nodes.len()).filter(|&i| g.nodes[i].wave == 0).collect();
    if !outside.is_empty() {
        stacks.push(Stack { header: vec!["outside the cluster".into(), "/ not in input".into()], nodes: outside, outside: true });
    }
    let mut by_wave: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, n) in g.nodes.iter().enumerate().filter(|(_, n)| n.wave > 0) {
        by_wave.entry(n.wave).or_default().push(i);
    }
    for (wave, nodes) in by_wave {
        stacks.push(Stack { header: vec![format!("Wave {wave}")], nodes, outside: false });
    }
    // Neighbours in other stacks, for the barycenter sweeps.
    let mut stack_of = vec![0; g.nodes.len()];
    for (s, st) in stacks.iter().enumerate() {
        for &n in &st.nodes {
            stack_of[n] = s;
        }
    }
    let mut neighbours: Vec<Vec<usize>> = vec![Vec::new(); g.nodes.len()];
    for e in &g.edges {
        if stack_of[e.from] != stack_of[e.to] {
            neighbours[e.from].push(e.to);
            neighbours[e.to].push(e.from);
        }
    }
    // Position key of a node for the sweeps: its part and height, as one number.
    let mut key = vec![0.0; g.nodes.len()];
    let place = |st: &Stack, key: &mut [f64]| {
        let (at, _) = stack_positions(g, &st.nodes);
        for (&n, &(part, y)) in st.nodes.iter().zip(&at) {
            key[n] = part as f64 * (COLUMN_H + HEADER_H) + y;
        }
    };
    // Groups in name order (missing objects last in the outside column); within
    // a group, connected nodes by the barycenter of their neighbours, then the isolated.
    let group_rank = |n: usize| (g.nodes[n].kind == NodeKind::Missing, g.nodes[n].group.clone());
    for st in &mut stacks {
        st.nodes.sort_by_key(|&n| group_rank(n));
        place(st, &mut key);
    }
    let order: Vec<usize> = (0..stacks.len()).collect();
    for sweep in 0..4 {
        let sequence: Vec<usize> = if sweep % 2 == 0 { order.clone() } else { order.iter().rev().copied().collect() };
        for s in sequence {
            let st = &mut stacks[s];
            let mut keyed: Vec<_> = st
                .nodes
                .iter()
                .enumerate()
                .map(|(k, &n)| {
                    let ns = &neighbours[n];
                    let bary = if ns.is_empty() { key[n] } else { ns.iter().map(|&m| key[m]).sum::<f64>() / ns.len() as f64 };
                    (group_rank(n), ns.is_empty(), bary, k, n)
                })
                .collect();
            keyed.sort_by(|p, q| p.0.cmp(&q.0).then(p.1.cmp(&q.1)).then(p.2.total_cmp(&q.2)).then(p.3.cmp(&q.3)));
            st.nodes = keyed.into_iter().map(|(.., n)| n).collect();
            place(st, &mut key);
        }
    }
    // Cut the stacks into columns and place them left to right.
    let mut columns: Vec<Column> = Vec::new();
    let mut bands: Vec<Band> = Vec::new();
    let mut column_of = vec![0; g.nodes.len()];
    let mut y = vec![0.0; g.nodes.len()];
    let mut x = vec![0.0; g.nodes.len()];
    let mut width = vec![0.0; g.nodes.len()];
    let mut x_pos = MARGIN;
    for st in &stacks {
        let (at, stack_bands) = stack_positions(g, &st.nodes);
        let parts = at.iter().map(|p| p.0 + 1).max().unwrap_or(1);
        let first = columns.len();
        for part in 0..parts {
            let mut header = st.header.clone();
            if parts > 1 && !st.outside {
                header.push(format!("part {} of {parts}", part + 1));
            }
            let nodes: Vec<usize> = st.nodes.iter().zip(&at).filter(|(_, p)| p.0 == part).map(|(&n, _)| n).collect();
            let header_w = header.iter().map(|h| h.chars().count() as f64 * 7.0 + 8.0).fold(0.0, f64::max);
            let col_w = nodes.iter().map(|&n| node_width(&g.nodes[n])).fold(header_w, f64::max);
            if part > 0 {
                x_pos -= COL_GAP - PART_GAP;
            }
            columns.push(Column { header, nodes, x: x_pos, width: col_w, outside: st.outside });
            x_pos += col_w + COL_GAP;
        }
        for (&n, &(part, ny)) in st.nodes.iter().zip(&at) {
            let c = first + part;
            column_of[n] = c;
            (x[n], y[n], width[n]) = (columns[c].x, ny, columns[c].width);
        }
        for (part, label, top, bottom) in stack_bands {
            let namespace = columns[first + part].nodes.iter().find(|&&n| g.nodes[n].group == label).and_then(|&n| g.nodes[n].namespace.clone());
            bands.push(Band { column: first + part, label, namespace, top, bottom });
        }
    }
    let width_total = x_pos - COL_GAP + MARGIN;
    let top = MARGIN + HEADER_H;
    let height = (0..g.nodes.len()).map(|n| y[n] + NODE_H).fold(top + NODE_H, f64::max);
    Layout { columns, bands, column_of, x, y, width, height, width_total }
}

/// Which side of a node an edge end attaches to.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Side {
    Left,
    Right,
}

fn sides(l: &Layout, e: &Edge) -> (Side, Side) {
    use std::cmp::Ordering::*;
    match l.column_of[e.from].cmp(&l.column_of[e.to]) {
        Greater => (Side::Left, Side::Right),
        Less => (Side::Right, Side::Left),
        Equal => (Side::Right, Side::Right),
    }
}

/// An edge crossing a column: where a straight line would cross, which edge,
/// and which point of its route.
struct Crossing {
    straight: f64,
    edge: usize,
    at: usize,
}

/// Edge ends attached to one node side, grouped into ports: leaving ends one
/// port each (keyed by edge), arriving ends one port per edge kind. Each end
/// is `(edge, y it comes from or goes to)`.
type Ports = BTreeMap<(bool, usize, EdgeKind), Vec<(usize, f64)>>;

/// Where an edge crosses the columns between its ends: one point per column
/// (x of the column centre, y of the crossing), in travel order. A crossing
/// that would run through a node is moved to the gap above or below it, and
/// crossings sharing a gap are spread apart.
fn routes(g: &Graph, l: &Layout) -> Vec<Vec<(usize, f64)>> {
    let centre = |n: usize| l.y[n] + NODE_H / 2.0;
    let mut routes: Vec<Vec<(usize, f64)>> = vec![Vec::new(); g.edges.len()];
    // (column, slot y in tenths of a pixel) -> crossings there.
    let mut slots: BTreeMap<(usize, i64), Vec<Crossing>> = BTreeMap::new();
    for (k, e) in g.edges.iter().enumerate() {
        let (cf, ct) = (l.column_of[e.from], l.column_of[e.to]);
        if cf.abs_diff(ct) < 2 {
            continue;
        }
        let (xs, ys, xe, ye) = (l.columns[cf].x, centre(e.from), l.columns[ct].x, centre(e.to));
        let between: Vec<usize> = if cf > ct { (ct + 1..cf).rev().collect() } else { (cf + 1..ct).collect() };
        for c in between {
            let col = &l.columns[c];
            let t = (col.x - xs) / (xe - xs);
            let straight = ys + t * (ye - ys);
            let mut y = straight;
            for &n in &col.nodes {
                if y > l.y[n] - 8.0 && y < l.y[n] + NODE_H + 8.0 {
                    let above = l.y[n] - (PITCH - NODE_H) / 2.0;
                    let below = l.y[n] + NODE_H + (PITCH - NODE_H) / 2.0;
                    y = if straight - above <= below - straight { above } else { below };
                    break;
                }
            }
            let slot = (c, (y * 10.0).round() as i64);
            slots.entry(slot).or_default().push(Crossing { straight, edge: k, at: routes[k].len() });
            routes[k].push((c, y));
        }
    }
    for ((_, y10), mut users) in slots {
        if users.len() < 2 {
            continue;
        }
        users.sort_by(|p, q| p.straight.total_cmp(&q.straight).then(p.edge.cmp(&q.edge)));
        let spacing = ((PITCH - NODE_H - 6.0) / (users.len() - 1) as f64).min(5.0);
        let middle = (users.len() - 1) as f64 / 2.0;
        for (i, c) in users.iter().enumerate() {
            routes[c.edge][c.at].1 = y10 as f64 / 10.0 + (i as f64 - middle) * spacing;
        }
    }
    routes
}

/// Vertical offsets of each edge end. Ends leaving a node side are spread
/// in the order of where the edges go next; edges of one kind arriving at a
/// node side meet in one point, so their arrowheads coincide.
fn ports(g: &Graph, l: &Layout, routes: &[Vec<(usize, f64)>]) -> Vec<(f64, f64)> {
    // (node, side) -> ports; a port is a group of edge ends: (edge, is_from) with the y they come from.
    let mut at: BTreeMap<(usize, Side), Ports> = BTreeMap::new();
    for (k, e) in g.edges.iter().enumerate() {
        let (s_from, s_to) = sides(l, e);
        let next = routes[k].first().map_or(l.y[e.to] + NODE_H / 2.0, |p| p.1);
        let previous = routes[k].last().map_or(l.y[e.from] + NODE_H / 2.0, |p| p.1);
        at.entry((e.from, s_from)).or_default().entry((true, k, e.kind)).or_default().push((k, next));
        at.entry((e.to, s_to)).or_default().entry((false, usize::MAX, e.kind)).or_default().push((k, previous));
    }
    let mut out = vec![(0.0, 0.0); g.edges.len()];
    for groups in at.values() {
        let mean = |ends: &[(usize, f64)]| ends.iter().map(|e| e.1).sum::<f64>() / ends.len() as f64;
        let mut ports: Vec<_> = groups.iter().collect();
        ports.sort_by(|p, q| mean(p.1).total_cmp(&mean(q.1)).then(p.0.cmp(q.0)));
        let n = ports.len() as f64;
        for (i, &(&(is_from, _, _), ends)) in ports.iter().enumerate() {
            let offset = NODE_H * 0.7 * ((i as f64 + 1.0) / (n + 1.0) - 0.5);
            for &(k, _) in ends.iter() {
                if is_from {
                    out[k].0 = offset;
                } else {
                    out[k].1 = offset;
                }
            }
        }
    }
    out
}

/// The SVG path of an edge: horizontal-tangent cubic segments between the
/// ends and the column crossings, straight across each crossed column.
fn edge_path(g: &Graph, l: &Layout, k: usize, route: &[(usize, f64)], port: (f64, f64)) -> String {
    let e = &g.edges[k];
    let (side_from, side_to) = sides(l, e);
    let end_x = |n: usize, side: Side| if side == Side::Left { l.x[n] } else { l.x[n] + l.width[n] };
    let (sx, sy) = (end_x(e.from, side_from), l.y[e.from] + NODE_H / 2.0 + port.0);
    let (ex, ey) = (end_x(e.to, side_to), l.y[e.to] + NODE_H / 2.0 + port.1);
    if side_from == side_to {
        let bulge = 40.0 + 0.25 * (ey - sy).abs();
        return format!("M{sx:.1},{sy:.1} C{:.1},{sy:.1} {:.1},{ey:.1} {ex:.1},{ey:.1}", sx + bulge, ex + bulge);
    }
    let leftwards = side_from == Side::Left;
    let mut points = vec![(sx, sy)];
    for &(c, y) in route {
        let col = &l.columns[c];
        let (enter, leave) = if leftwards { (col.x + col.width + 6.0, col.x - 6.0) } else { (col.x - 6.0, col.x + col.width + 6.0) };
        points.push((enter, y));
        points.push((leave, y));
    }
    points.push((ex, ey));
    let mut d = format!("M{sx:.1},{sy:.1}");
    for (i, pair) in points.windows(2).enumerate() {
        let ((x0, y0), (x1, y1)) = (pair[0], pair[1]);
        if i % 2 == 1 {
            // Straight through a crossed column.
            let _ = write!(d, " L{x1:.1},{y1:.1}");
        } else {
            let mx = (x0 + x1) / 2.0;
            let _ = write!(d, " C{mx:.1},{y0:.1} {mx:.1},{y1:.1} {x1:.1},{y1:.1}");
        }
    }
    d
}

fn edge_style(g: &Graph, e: &Edge) -> (&'static str, &'static str, f64, &'static str, String) {
    match e.kind {
        EdgeKind::Needs => ("needs", NEEDS, 1.5, "", "ferry-arrow-needs".into()),
        EdgeKind::Cycle => ("cycle", CYCLE, 2.4, "", "ferry-arrow-cycle".into()),
        EdgeKind::Missing => ("missing", MISSING, 1.5, "5 4", "ferry-arrow-missing".into()),
        EdgeKind::Cloud => {
            let provider = g.nodes[e.to].provider.as_str();
            let (stroke, _, _) = provider_style(provider);
            let key = match provider {
                "azure" | "aws" | "gcp" => provider,
                _ => "other",
            };
            ("cloud", stroke, 1.3, "", format!("ferry-arrow-{key}"))
        }
    }
}

/// Draws the dependency graph of the assessment as an inline `<svg>` element.
///
/// Applications sit in one column per migration wave; managed cloud services
/// and missing Services in a column left of wave 1. Edges point from an
/// application to what it needs; edges inside a dependency cycle are purple.
/// Nodes are `<g class="node app|cloud|missing">`, edges
/// `<path class="edge needs|cycle|cloud|missing">`, both with `data-*`
/// identifiers. All input text is escaped.
pub fn dependency_graph(a: &Assessment) -> String {
    let g = build(a);
    if !g.nodes.iter().any(|n| n.kind == NodeKind::App) {
        return empty();
    }
    let l = layout(&g);
    let routes = routes(&g, &l);
    let ports = ports(&g, &l, &routes);
    let legend_y = l.height + 34.0;
    let caption_h = if g.omitted > 0 { 26.0 } else { 0.0 };
    let total_h = legend_y + 22.0 + caption_h + MARGIN / 2.0;
    let total_w = l.width_total.max(720.0);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="ferry-graph" viewBox="0 0 {total_w:.0} {total_h:.0}" width="{total_w:.0}" height="{total_h:.0}" role="img" aria-label="Dependency graph of the applications by migration wave" font-family="{FONT}" font-size="13">"#
    );
    s.push_str("<defs>");
    let markers: [(&str, &str); 7] = [
        ("needs", NEEDS),
        ("cycle", CYCLE),
        ("missing", MISSING),
        ("azure", provider_style("azure").0),
        ("aws", provider_style("aws").0),
        ("gcp", provider_style("gcp").0),
        ("other", provider_style("other").0),
    ];
    for (id, colour) in markers {
        let _ = write!(
            s,
            r#"<marker id="ferry-arrow-{id}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="9" markerHeight="9" markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0.5 L10,5 L0,9.5 z" fill="{colour}"/></marker>"#
        );
    }
    s.push_str("</defs>");
    s.push_str(r#"<g class="viewport">"#);
    backgrounds(&mut s, &l);
    // Edges below nodes.
    s.push_str(r#"<g class="edges">"#);
    for (k, e) in g.edges.iter().enumerate() {
        let (class, colour, width, dash, marker) = edge_style(&g, e);
        let d = edge_path(&g, &l, k, &routes[k], ports[k]);
        let opacity = if e.kind == EdgeKind::Cloud { r#" stroke-opacity="0.55""# } else { "" };
        let class = if g.nodes[e.to].registry { format!("{class} registry") } else { class.to_owned() };
        let dash_attr = if dash.is_empty() { String::new() } else { format!(r#" stroke-dasharray="{dash}""#) };
        let _ = write!(
            s,
            r#"<path class="edge {class}" data-from="{}" data-to="{}" d="{d}" fill="none" stroke="{colour}" stroke-width="{width}"{opacity}{dash_attr} marker-end="url(#{marker})"><title>{} → {}</title></path>"#,
            sanitize::html(&g.nodes[e.from].id),
            sanitize::html(&g.nodes[e.to].id),
            sanitize::html(&g.nodes[e.from].id),
            sanitize::html(&g.nodes[e.to].title),
        );
    }
    s.push_str("</g>");
    band_labels(&mut s, &l);
    // Nodes.
    s.push_str(r#"<g class="nodes">"#);
    for (i, n) in g.nodes.iter().enumerate() {
        let (class, stroke, fill, dash, stroke_w) = match n.kind {
            NodeKind::App if n.in_cycle => ("app", CYCLE, "#ffffff", "", 2.0),
            NodeKind::App => ("app", "#8795a8", "#ffffff", "", 1.2),
            NodeKind::Cloud => {
                let (stroke, fill, _) = provider_style(&n.provider);
                ("cloud", stroke, fill, "", 1.4)
            }
            NodeKind::Missing => ("missing", MISSING, "#fff4f4", "5 3", 1.4),
        };
        let dash_attr = if dash.is_empty() { String::new() } else { format!(r#" stroke-dasharray="{dash}""#) };
        let (x, y, w) = (l.x[i], l.y[i], l.width[i]);
        let ns = n.namespace.as_ref().map(|ns| format!(r#" data-ns="{}""#, sanitize::html(ns))).unwrap_or_default();
        let _ = write!(
            s,
            r#"<g class="node {class}" data-id="{}"{ns} data-col="{}" transform="translate({x:.1},{y:.1})"><title>{}</title><rect width="{w:.1}" height="{NODE_H}" rx="6" fill="{fill}" stroke="{stroke}" stroke-width="{stroke_w}"{dash_attr}/>"#,
            sanitize::html(&n.id),
            l.column_of[i],
            sanitize::html(&n.tooltip),
        );
        let title_colour = if n.kind == NodeKind::Missing { MISSING } else { TEXT };
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="17" text-anchor="middle" font-size="12.5" font-weight="600" fill="{title_colour}">{}</text><text x="{:.1}" y="31" text-anchor="middle" font-size="11" fill="{MUTED}">{}</text></g>"#,
            w / 2.0,
            sanitize::html(&cut(&n.title, MAX_TITLE)),
            w / 2.0,
            sanitize::html(&n.subtitle),
        );
    }
    s.push_str("</g>");
    legend(&mut s, &g, MARGIN, legend_y);
    s.push_str("</g>");
    headers(&mut s, &l);
    if g.omitted > 0 {
        let _ = write!(
            s,
            r#"<text class="caption" x="{MARGIN}" y="{:.1}" font-size="12" fill="{MUTED}">{} more applications are not drawn: the {MAX_APPLICATIONS} with the most dependencies are shown. The tables below list all of them.</text>"#,
            legend_y + 30.0,
            g.omitted
        );
    }
    s.push_str("</svg>");
    s
}

/// The outside column's frame and the labelled bands of the namespace groups.
fn backgrounds(s: &mut String, l: &Layout) {
    for (c, col) in l.columns.iter().enumerate().filter(|(_, col)| col.outside) {
        let _ = write!(
            s,
            r##"<rect class="outside" data-col="{c}" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="8" fill="#f6f7f9" stroke="#d5dae1" stroke-dasharray="4 4"/>"##,
            col.x - 10.0,
            MARGIN - 8.0,
            col.width + 20.0,
            l.height - MARGIN + 22.0
        );
    }
    for b in &l.bands {
        let col = &l.columns[b.column];
        let ns = b.namespace.as_ref().map(|ns| format!(r#" data-ns="{}""#, sanitize::html(ns))).unwrap_or_default();
        let _ = write!(
            s,
            r##"<rect class="band"{ns} data-col="{}" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="6" fill="#eef3f9" fill-opacity="0.7"/>"##,
            b.column,
            col.x - 5.0,
            b.top,
            col.width + 10.0,
            b.bottom - b.top + 5.0,
        );
    }
}

/// The labels of the namespace groups, drawn over the edges.
fn band_labels(s: &mut String, l: &Layout) {
    for b in &l.bands {
        let col = &l.columns[b.column];
        let _ = write!(
            s,
            r##"<text class="band" x="{:.1}" y="{:.1}" font-size="11" font-weight="600" fill="{MUTED}" stroke="#ffffff" stroke-width="3" paint-order="stroke">{}</text>"##,
            col.x,
            b.top + 13.0,
            sanitize::html(&cut(&b.label, MAX_TITLE))
        );
    }
}

/// The column headers, in a group of their own that the page's script keeps
/// at the top while the graph is panned.
fn headers(s: &mut String, l: &Layout) {
    s.push_str(r#"<g class="headers">"#);
    for (c, col) in l.columns.iter().enumerate() {
        let cx = col.x + col.width / 2.0;
        for (k, line) in col.header.iter().enumerate() {
            let (weight, size, colour) = if col.outside || k > 0 { ("600", 12, MUTED) } else { ("700", 14, TEXT) };
            let _ = write!(
                s,
                r#"<text class="column-header" data-col="{c}" x="{cx:.1}" y="{:.1}" text-anchor="middle" font-weight="{weight}" font-size="{size}" fill="{colour}">{}</text>"#,
                MARGIN + 14.0 + k as f64 * 16.0,
                sanitize::html(line)
            );
        }
    }
    s.push_str("</g>");
}

/// The legend: one sample per kind of edge and node present.
fn legend(s: &mut String, g: &Graph, x0: f64, y: f64) {
    let mut x = x0;
    let _ = write!(s, r#"<g class="legend" data-y="{y:.1}" font-size="12" fill="{MUTED}">"#);
    let mut line = |s: &mut String, label: &str, colour: &str, width: f64, dash: &str, marker: &str| {
        let dash_attr = if dash.is_empty() { String::new() } else { format!(r#" stroke-dasharray="{dash}""#) };
        let _ = write!(
            s,
            r#"<path d="M{x:.1},{y:.1} L{:.1},{y:.1}" stroke="{colour}" stroke-width="{width}"{dash_attr} marker-end="url(#{marker})"/><text x="{:.1}" y="{:.1}">{label}</text>"#,
            x + 34.0,
            x + 42.0,
            y + 4.0
        );
        x += 50.0 + label.chars().count() as f64 * 6.4 + 18.0;
    };
    line(s, "needs (points to what is needed)", NEEDS, 1.5, "", "ferry-arrow-needs");
    if g.edges.iter().any(|e| e.kind == EdgeKind::Cycle) {
        line(s, "dependency cycle: move together", CYCLE, 2.4, "", "ferry-arrow-cycle");
    }
    if g.nodes.iter().any(|n| n.kind == NodeKind::Missing) {
        line(s, "Service, ConfigMap, Secret or PVC missing from the input", MISSING, 1.5, "5 4", "ferry-arrow-missing");
    }
    let mut providers: Vec<&str> = g.nodes.iter().filter(|n| n.kind == NodeKind::Cloud).map(|n| n.provider.as_str()).collect();
    providers.dedup();
    for p in providers {
        let (stroke, fill, _) = provider_style(p);
        let label = format!("{} service", provider_name(p));
        let _ = write!(
            s,
            r#"<rect x="{x:.1}" y="{:.1}" width="26" height="14" rx="3" fill="{fill}" stroke="{stroke}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            y - 7.0,
            x + 34.0,
            y + 4.0,
            sanitize::html(&label)
        );
        x += 42.0 + label.chars().count() as f64 * 6.4 + 18.0;
    }
    s.push_str("</g>");
}

fn empty() -> String {
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="ferry-graph" viewBox="0 0 320 72" width="320" height="72" role="img" aria-label="Dependency graph" font-family="{FONT}" font-size="14"><rect x="1" y="1" width="318" height="70" rx="8" fill="#f6f7f9" stroke="#d5dae1"/><text x="160" y="41" text-anchor="middle" fill="{MUTED}">no workloads</text></svg>"##
    )
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use ferry_analysis::{Assessment, Options, assess_paths};

    use super::*;

    fn shop() -> Assessment {
        let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/aks-shop"));
        assess_paths(&[path], &Options::default()).expect("example loads")
    }

    fn count(haystack: &str, needle: &str) -> usize {
        haystack.matches(needle).count()
    }

    #[test]
    fn every_application_is_a_node_and_every_need_an_edge() {
        let a = shop();
        let svg = dependency_graph(&a);
        let apps: Vec<_> = a.waves.waves.iter().flat_map(|w| &w.applications).collect();
        assert!(apps.len() >= 5, "example has applications");
        assert_eq!(count(&svg, r#"<g class="node app""#), apps.len());
        for app in &apps {
            let label = app_label(app.namespace.as_deref(), &app.name);
            assert!(svg.contains(&format!(r#"data-id="{label}""#)), "node for {label}");
            for dep in &app.depends_on {
                assert!(svg.contains(&format!(r#"data-from="{label}" data-to="{dep}""#)), "edge {label} -> {dep}");
            }
        }
        let needs: usize = apps.iter().map(|a| a.depends_on.len()).sum();
        assert_eq!(count(&svg, r#"class="edge needs""#) + count(&svg, r#"class="edge cycle""#), needs);
        for wave in &a.waves.waves {
            assert!(svg.contains(&format!(">Wave {}<", wave.number)));
        }
    }

    #[test]
    fn cycle_edges_use_the_cycle_style() {
        let a = shop();
        let svg = dependency_graph(&a);
        assert!(!a.waves.cycles.is_empty(), "the example has the orders/payments cycle");
        assert!(svg.contains(r#"<path class="edge cycle" data-from="shop/orders" data-to="shop/payments""#));
        assert!(svg.contains(r#"<path class="edge cycle" data-from="shop/payments" data-to="shop/orders""#));
        assert_eq!(count(&svg, r#"class="edge cycle""#), 2);
    }

    #[test]
    fn cloud_services_are_nodes_in_the_outside_column() {
        let a = shop();
        let svg = dependency_graph(&a);
        assert!(svg.contains("outside the cluster"));
        let services: BTreeSet<&str> = a.cloud.iter().map(|c| c.service.as_str()).collect();
        assert!(!services.is_empty());
        for s in &services {
            assert!(svg.contains(&format!(">{}<", sanitize::html(&short_service(s)))), "node for {s}");
            assert!(svg.contains(&format!("<title>{} (", sanitize::html(s))), "tooltip for {s}");
        }
        assert_eq!(count(&svg, r#"<g class="node cloud""#), a.cloud.iter().map(|c| &c.service_id).collect::<BTreeSet<_>>().len());
        assert!(services.iter().any(|s| s.contains("Service Bus")), "{services:?}");
        // orders uses Service Bus.
        let bus = a.cloud.iter().find(|c| c.service.contains("Service Bus")).unwrap();
        assert!(svg.contains(&format!(r#"class="edge cloud" data-from="shop/orders" data-to="cloud:{}""#, bus.service_id)));
    }

    #[test]
    fn layout_is_deterministic_and_labels_do_not_overlap() {
        let a = shop();
        let svg = dependency_graph(&a);
        assert_eq!(svg, dependency_graph(&a));
        let g = build(&a);
        let l = layout(&g);
        for i in 0..g.nodes.len() {
            assert!(node_width(&g.nodes[i]) <= l.width[i]);
            for j in i + 1..g.nodes.len() {
                if l.column_of[i] == l.column_of[j] {
                    assert!((l.y[i] - l.y[j]).abs() >= NODE_H, "{} and {} overlap", g.nodes[i].id, g.nodes[j].id);
                } else {
                    let (a, b) = if l.x[i] < l.x[j] { (i, j) } else { (j, i) };
                    assert!(l.x[a] + l.width[a] < l.x[b], "columns overlap");
                }
            }
        }
    }

    #[test]
    fn missing_services_are_dashed_nodes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let manifest = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: recommendations, namespace: shop}
spec:
  selector: {matchLabels: {app: recommendations}}
  template:
    metadata: {labels: {app: recommendations}}
    spec:
      containers:
        - name: app
          image: registry.example/reco:1
          env:
            - {name: INVENTORY_URL, value: "http://inventory:8080"}
            - {name: BILLING, value: "http://billing.finance.svc.cluster.local:80"}
"#;
        std::fs::write(dir.path().join("reco.yaml"), manifest).expect("manifest");
        let a = assess_paths(&[dir.path().to_path_buf()], &Options::default());
        let svg = dependency_graph(&a.expect("loads"));
        assert_eq!(count(&svg, r#"<g class="node missing""#), 2, "{svg}");
        assert!(svg.contains(r#"<g class="node missing" data-id="missing:Service:shop/inventory""#));
        assert!(svg.contains(r#"<g class="node missing" data-id="missing:Service:finance/billing""#));
        assert!(svg.contains(r#"class="edge missing" data-from="shop/recommendations" data-to="missing:Service:shop/inventory""#));
        assert!(svg.contains(r#"stroke-dasharray="5 3""#), "dashed border");
        assert!(svg.contains("missing Service · finance"));
        assert!(svg.contains("outside the cluster"));
    }

    #[test]
    fn long_service_names_are_shortened() {
        assert_eq!(short_service("Azure Disk (Azure Disk CSI / AKS managed-* storage classes)"), "Azure Disk");
        assert_eq!(short_service("Azure Application Gateway (AGIC) / Application Gateway for Containers"), "Azure Application Gateway (AGIC)");
        assert_eq!(short_service("Azure Cache for Redis / Azure Managed Redis"), "Azure Cache for Redis");
        assert_eq!(short_service("Azure Service Bus"), "Azure Service Bus");
        assert_eq!(
            short_service("Azure resources declared in Kubernetes (Azure Service Operator and other *.azure.com CRDs)"),
            "Azure resources declared in Kuberne…"
        );
        assert_eq!(short_service(&"x".repeat(50)).chars().count(), MAX_SERVICE_TITLE);
    }

    #[test]
    fn empty_assessment_says_no_workloads() {
        let mut a = shop();
        a.waves = Default::default();
        a.cloud.clear();
        a.dependencies.clear();
        let svg = dependency_graph(&a);
        assert!(svg.starts_with("<svg") && svg.contains("no workloads"));
    }

    #[test]
    fn large_graphs_are_capped() {
        let mut a = shop();
        let template = a.waves.waves[0].applications[0].clone();
        let wave = &mut a.waves.waves[0];
        for i in 0..(MAX_APPLICATIONS + 25) {
            let mut app = template.clone();
            app.name = format!("bulk-{i:04}").into();
            app.depends_on = Box::default();
            app.workloads = Box::default();
            wave.applications.push(app);
        }
        let total: usize = a.waves.waves.iter().map(|w| w.applications.len()).sum();
        let svg = dependency_graph(&a);
        assert_eq!(count(&svg, r#"<g class="node app""#), MAX_APPLICATIONS);
        assert!(svg.contains(&format!(">{} more applications are not drawn", total - MAX_APPLICATIONS)));
        // Applications with edges are kept over isolated ones.
        assert!(svg.contains(r#"data-id="shop/orders""#));
    }

    #[test]
    fn missing_config_maps_secrets_and_claims_are_drawn() {
        let dir = tempfile::tempdir().expect("temp dir");
        let manifest = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
        - name: app
          image: registry.example/api:1
          envFrom: [{configMapRef: {name: api-config}}]
          env: [{name: TOKEN, valueFrom: {secretKeyRef: {name: api-token, key: token}}}]
      volumes: [{name: data, persistentVolumeClaim: {claimName: api-data}}]
"#;
        std::fs::write(dir.path().join("api.yaml"), manifest).expect("manifest");
        let svg = dependency_graph(&assess_paths(&[dir.path().to_path_buf()], &Options::default()).expect("loads"));
        for (kind, name) in [("ConfigMap", "api-config"), ("Secret", "api-token"), ("PersistentVolumeClaim", "api-data")] {
            let id = format!("missing:{kind}:shop/{name}");
            assert!(svg.contains(&format!(r#"<g class="node missing" data-id="{id}" data-ns="shop""#)), "{kind} node");
            assert!(svg.contains(&format!(r#"class="edge missing" data-from="shop/api" data-to="{id}""#)), "{kind} edge");
            assert!(svg.contains(&format!("missing {kind} · shop")));
        }
        assert_eq!(count(&svg, r#"stroke-dasharray="5 3""#), 3, "dashed red borders");
    }

    #[test]
    fn large_waves_wrap_into_columns_grouped_by_namespace() {
        let mut a = shop();
        let template = a.waves.waves[0].applications[0].clone();
        for i in 0..120 {
            let mut app = template.clone();
            app.name = format!("bulk-{i}").into();
            app.namespace = Some(format!("team-{}", i % 7).into());
            app.depends_on = Box::default();
            app.workloads = Box::default();
            a.waves.waves[0].applications.push(app);
        }
        let g = build(&a);
        let l = layout(&g);
        assert!(l.height <= MARGIN + HEADER_H + COLUMN_H + 2.0 * BAND_LABEL, "graph is {} high", l.height);
        let wave1 = l.columns.iter().filter(|c| c.header[0] == "Wave 1").count();
        assert!(wave1 >= 6, "wave 1 wraps into {wave1} columns");
        assert!(l.columns.iter().any(|c| c.header.get(1).is_some_and(|h| h == &format!("part 2 of {wave1}"))));
        // A namespace is one run of nodes per column, under its band.
        for (c, col) in l.columns.iter().enumerate() {
            let groups: Vec<&str> = col.nodes.iter().map(|&n| g.nodes[n].group.as_str()).collect();
            let mut runs = groups.clone();
            runs.dedup();
            let distinct: BTreeSet<&str> = groups.iter().copied().collect();
            assert_eq!(runs.len(), distinct.len(), "column {c} interleaves groups: {groups:?}");
            for &n in &col.nodes {
                let band = l.bands.iter().find(|b| b.column == c && b.label == g.nodes[n].group).expect("band");
                assert!(band.top < l.y[n] && l.y[n] + NODE_H <= band.bottom + 0.1, "{} outside its band", g.nodes[n].id);
            }
        }
        let svg = dependency_graph(&a);
        assert!(svg.contains(r#"<rect class="band" data-ns="team-3""#));
        assert!(svg.contains(r#"<g class="headers">"#) && svg.contains(r#"<g class="viewport">"#));
    }

    #[test]
    fn registry_edges_are_marked_for_collapsing() {
        let a = shop();
        let svg = dependency_graph(&a);
        let registry = a.cloud.iter().find(|c| c.category.as_str() == "registry").expect("the example pulls from a registry");
        let users = a.cloud.iter().filter(|c| c.service_id == registry.service_id).flat_map(|c| &c.used_by).map(|w| &w.name).collect::<BTreeSet<_>>().len();
        assert_eq!(count(&svg, r#"class="edge cloud registry""#), users);
    }
}
