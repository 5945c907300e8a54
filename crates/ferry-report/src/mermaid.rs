//! The Mermaid `flowchart` of the migration waves in the Markdown report,
//! which GitHub and GitLab draw in pull requests.
//!
//! The chart stays small enough to read: up to [`MAX_NODES`] nodes and
//! [`MAX_EDGES`] edges. A larger plan is summarised, first one node per
//! namespace of each wave, then one node per wave, with counts on nodes and
//! edges, and the text above the chart says so. Node ids are generated
//! (`a0`, `g3`, `w2`), never taken from the input, and every label goes
//! through [`label`], so no name can end the code block or inject markup.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use ferry_analysis::Assessment;

/// Nodes drawn at most.
pub const MAX_NODES: usize = 50;
/// Edges drawn at most.
pub const MAX_EDGES: usize = 100;

/// How detailed the chart is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Detail {
    Applications,
    Namespaces,
    Waves,
}

/// One drawn node: its wave and label, and how many applications it stands for.
struct Group {
    wave: usize,
    label: String,
    members: usize,
}

/// The chart at one level of detail: nodes, and edges with how many application dependencies each stands for.
struct Chart {
    detail: Detail,
    groups: Vec<Group>,
    edges: BTreeMap<(usize, usize), usize>,
}

/// The chart of the waves at `detail`: one node per application, per namespace of a wave, or per wave.
fn chart(a: &Assessment, detail: Detail) -> Chart {
    let mut groups: Vec<Group> = Vec::new();
    let mut index: HashMap<(usize, String), usize> = HashMap::new();
    let mut group_of: HashMap<String, usize> = HashMap::new();
    for wave in &a.waves.waves {
        for app in &wave.applications {
            let ns = app.namespace.as_deref();
            let full = match ns {
                Some(ns) => format!("{ns}/{}", app.name),
                None => app.name.to_string(),
            };
            let key = match detail {
                Detail::Applications => full.clone(),
                Detail::Namespaces => ns.unwrap_or("(no namespace)").to_owned(),
                Detail::Waves => String::new(),
            };
            let g = *index.entry((wave.number, key.clone())).or_insert_with(|| {
                groups.push(Group { wave: wave.number, label: key, members: 0 });
                groups.len() - 1
            });
            groups[g].members += 1;
            group_of.insert(full, g);
        }
    }
    let mut edges = BTreeMap::new();
    for wave in &a.waves.waves {
        for app in &wave.applications {
            let from = group_of[&app_label(app.namespace.as_deref(), &app.name)];
            for dep in &app.depends_on {
                if let Some(&to) = group_of.get(dep.as_str())
                    && (from != to || detail == Detail::Applications)
                {
                    *edges.entry((from, to)).or_insert(0) += 1;
                }
            }
        }
    }
    Chart { detail, groups, edges }
}

fn app_label(namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_owned(),
    }
}

fn fits(c: &Chart) -> bool {
    c.groups.len() <= MAX_NODES && c.edges.len() <= MAX_EDGES
}

/// Escapes text for a quoted Mermaid label: quotes, angle brackets,
/// ampersands, backticks and `#` become Mermaid's `#NN;` entity codes, and
/// control characters (line breaks included) become spaces.
pub fn label(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' | '<' | '>' | '&' | '`' | '#' => {
                let _ = write!(out, "#{};", c as u32);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Writes the Markdown paragraph and the ```` ```mermaid ```` block of the waves;
/// nothing when there are no waves.
pub fn write(a: &Assessment, out: &mut String) {
    let apps: usize = a.waves.waves.iter().map(|w| w.applications.len()).sum();
    if apps == 0 {
        return;
    }
    let mut c = chart(a, Detail::Applications);
    if !fits(&c) {
        c = chart(a, Detail::Namespaces);
    }
    if !fits(&c) {
        c = chart(a, Detail::Waves);
    }
    let needs: usize = a.waves.waves.iter().flat_map(|w| &w.applications).map(|app| app.depends_on.len()).sum();
    let size = format!("{} and {}", plural(apps, "application", "applications"), plural(needs, "dependency", "dependencies"));
    let _ = match c.detail {
        Detail::Applications => writeln!(out, "Arrows point to what an application needs ({size})."),
        Detail::Namespaces => writeln!(
            out,
            "Summarised per namespace of each wave: {size} are more than the {MAX_NODES} nodes and {MAX_EDGES} edges a readable chart holds. Each node counts its applications, each arrow the dependencies it stands for; the tables below list every application."
        ),
        Detail::Waves => writeln!(
            out,
            "Summarised per wave: {size} are more than the {MAX_NODES} nodes and {MAX_EDGES} edges a readable chart holds, even per namespace. Each arrow counts the dependencies it stands for; the tables below list every application."
        ),
    };
    let mut edges: Vec<((usize, usize), usize)> = c.edges.iter().map(|(&k, &v)| (k, v)).collect();
    let dropped = edges.len().saturating_sub(MAX_EDGES);
    if dropped > 0 {
        // Only possible per wave with many waves: keep the heaviest edges.
        edges.sort_by(|p, q| q.1.cmp(&p.1).then(p.0.cmp(&q.0)));
        edges.truncate(MAX_EDGES);
        edges.sort();
        let _ = writeln!(out, "The {dropped} lightest of {} arrows are left out.", edges.len() + dropped);
    }
    out.push_str("\n```mermaid\nflowchart LR\n");
    let mut by_wave: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, g) in c.groups.iter().enumerate() {
        by_wave.entry(g.wave).or_default().push(i);
    }
    for (wave, members) in &by_wave {
        if c.detail == Detail::Waves {
            let g = &c.groups[members[0]];
            let _ = writeln!(out, "  g{}[\"Wave {wave}: {}\"]", members[0], plural(g.members, "application", "applications"));
            continue;
        }
        let _ = writeln!(out, "  subgraph w{wave}[\"Wave {wave}\"]");
        for &i in members {
            let g = &c.groups[i];
            let text = match c.detail {
                Detail::Namespaces => format!("{} ({})", label(&g.label), plural(g.members, "application", "applications")),
                _ => label(&g.label),
            };
            let _ = writeln!(out, "    g{i}[\"{text}\"]");
        }
        out.push_str("  end\n");
    }
    for ((from, to), count) in edges {
        if c.detail == Detail::Applications {
            let _ = writeln!(out, "  g{from} --> g{to}");
        } else {
            let _ = writeln!(out, "  g{from} -->|{count}| g{to}");
        }
    }
    out.push_str("```\n");
}
