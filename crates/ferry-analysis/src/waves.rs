//! Migration waves: workloads grouped into applications, cycles condensed,
//! and applications ordered so that what others need moves first.
//!
//! An application is the set of workloads in one namespace sharing the
//! `app.kubernetes.io/name` label (or a single workload without it). Wave 1
//! holds applications that need no other application; wave N those whose
//! needs are all in earlier waves. Applications in a dependency cycle form one
//! group, move in the same wave, and the cycle is explained edge by edge.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use petgraph::algo::kosaraju_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use rayon::prelude::*;
use serde::Serialize;

use crate::assessment::{Dependency, Evidence, ObjRef, Text};
use crate::facts::Facts;
use crate::strings::FastHash;

/// The migration order.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Waves {
    /// Waves in order; wave 1 first.
    pub waves: Vec<Wave>,
    /// Dependency cycles, each moved as one unit.
    pub cycles: Vec<Cycle>,
    /// Applications others depend on most, most depended-on first.
    pub central: Vec<Centrality>,
}

/// One wave.
#[derive(Debug, Clone, Serialize)]
pub struct Wave {
    /// 1-based number.
    pub number: usize,
    /// Applications in this wave.
    pub applications: Vec<Application>,
}

/// An application and why it sits in its wave.
#[derive(Debug, Clone, Serialize)]
pub struct Application {
    /// Application name.
    pub name: Text,
    /// Namespace (absent when the manifests set none), shared with its objects'.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<Text>,
    /// Its workloads.
    pub workloads: Box<[ObjRef]>,
    /// Applications it needs (`namespace/name`), each label shared with the application's own.
    pub depends_on: Box<[Text]>,
    /// Why it is in this wave (one text shared by the members of a large cycle that need
    /// nothing outside it).
    pub reason: Text,
}

/// A cycle of applications.
#[derive(Debug, Clone, Serialize)]
pub struct Cycle {
    /// Applications in the cycle (`namespace/name`, shared with the waves).
    pub members: Vec<Text>,
    /// The edges that close it, with evidence.
    pub edges: Vec<ClosingEdge>,
    /// What to do about it.
    pub advice: String,
}

/// A dependency between two applications of a cycle, shown (and written to JSON) as
/// ``from → to via `address` at file:line path``.
#[derive(Debug, Clone)]
pub struct ClosingEdge {
    /// The application that needs the other.
    pub from: Text,
    /// The application needed.
    pub to: Text,
    /// The address as written, for network dependencies.
    pub address: Option<Text>,
    /// Where the dependency is written.
    pub evidence: Evidence,
}

impl ClosingEdge {
    /// The order edges are listed in: by application, then address and place.
    fn sort_key(&self) -> (&str, &str, Option<&str>, &str, u32, &str) {
        (&self.from, &self.to, self.address.as_deref(), &self.evidence.file, self.evidence.line, &self.evidence.path)
    }
}

impl std::fmt::Display for ClosingEdge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} → {} via", self.from, self.to)?;
        if let Some(address) = &self.address {
            write!(f, " `{address}`")?;
        }
        write!(f, " at {}", self.evidence)
    }
}

impl Serialize for ClosingEdge {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// How many applications depend on one.
#[derive(Debug, Clone, Serialize)]
pub struct Centrality {
    /// Application.
    pub application: String,
    /// Applications that need it directly.
    pub direct_dependents: usize,
    /// Applications that need it directly or through others.
    pub all_dependents: usize,
}

struct App<'a> {
    name: &'a str,
    namespace: Option<&'a Text>,
    workloads: Vec<usize>,
    /// `namespace/name`, made once and shared by every application that needs this one.
    label: Text,
}

/// `namespace/name`, or `name` when the manifests set no namespace.
impl std::fmt::Display for App<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label)
    }
}

/// Members described on one thread before the work is split between threads.
const PARALLEL_MEMBERS: usize = 256;

/// Computes the waves from workload-to-workload needs `(from, to, edge)`.
pub(crate) fn waves(facts: &[Facts], needs: &[(usize, usize, usize)], deps: &[Dependency]) -> Waves {
    let (apps, app_of) = group_applications(facts);
    let mut graph: DiGraph<usize, ()> = DiGraph::new();
    let nodes: Vec<NodeIndex> = (0..apps.len()).map(|a| graph.add_node(a)).collect();
    let edges = AppEdges::new(needs, &app_of);
    drop(app_of);
    for (a, b, _) in edges.all() {
        graph.add_edge(nodes[a], nodes[b], ());
    }
    // Kosaraju's algorithm yields components dependencies-first (reverse topological order).
    // petgraph's is iterative (explicit stacks); its tarjan_scc recurses once per node on a
    // path, which overflowed the stack on a long chain of applications.
    let components = kosaraju_scc(&graph);
    let mut component_of = vec![0; apps.len()];
    for (c, members) in components.iter().enumerate() {
        for n in members {
            component_of[graph[*n]] = c;
        }
    }
    let mut wave_of = vec![0usize; components.len()];
    for (c, members) in components.iter().enumerate() {
        let needed = members.iter().flat_map(|n| graph.neighbors(*n)).map(|m| component_of[graph[m]]).filter(|&d| d != c);
        wave_of[c] = 1 + needed.map(|d| wave_of[d]).max().unwrap_or(0);
    }
    let mut result = Waves::default();
    let mut by_wave: BTreeMap<usize, Vec<Application>> = BTreeMap::new();
    let layering = Layering { apps: &apps, edges: &edges, component_of: &component_of, wave_of: &wave_of };
    for (c, members) in components.iter().enumerate() {
        let member_apps: Vec<usize> = members.iter().map(|n| graph[*n]).collect();
        if member_apps.len() > 1 {
            result.cycles.push(explain_cycle(&layering, c, &member_apps, deps));
        }
        let wave = by_wave.entry(wave_of[c]).or_default();
        // Beyond SHOWN_PEERS the peers are counted, not named: the members that need nothing
        // outside the cycle all have this one reason.
        let cycle_reason = (member_apps.len() > SHOWN_PEERS + 1).then(|| Text::from(layering.reason(member_apps[0], &[], &member_apps)));
        wave.par_extend(member_apps.par_iter().with_min_len(PARALLEL_MEMBERS).map(|&a| layering.describe(a, &member_apps, cycle_reason.as_ref(), facts)));
    }
    result.waves = by_wave
        .into_iter()
        .map(|(number, mut applications)| {
            // An application is one (namespace, name), so the order is total and the sort need not be stable.
            applications.par_sort_unstable_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
            Wave { number, applications }
        })
        .collect();
    result.central = centrality(&apps, &edges);
    result
}

/// The applications, and for each object the application it belongs to (`usize::MAX` for non-workloads).
fn group_applications(facts: &[Facts]) -> (Vec<App<'_>>, Vec<usize>) {
    let mut apps: Vec<App<'_>> = Vec::new();
    let mut by_key: HashMap<(Option<&str>, &str), usize, FastHash> = HashMap::default();
    let mut app_of = vec![usize::MAX; facts.len()];
    for (i, f) in facts.iter().enumerate() {
        let Some(pod) = &f.pod else { continue };
        let label = pod.labels.iter().find(|(k, _)| &**k == "app.kubernetes.io/name").map(|(_, v)| &**v);
        let name = label.unwrap_or(&f.id.name);
        let namespace = f.id.namespace.as_ref();
        let a = *by_key.entry((namespace.map(Text::as_str), name)).or_insert_with(|| {
            let label = match namespace {
                Some(ns) => format!("{ns}/{name}"),
                None => name.to_owned(),
            };
            apps.push(App { name, namespace, workloads: Vec::new(), label: Text::from(label.as_str()) });
            apps.len() - 1
        });
        apps[a].workloads.push(i);
        app_of[i] = a;
    }
    (apps, app_of)
}

/// Applications with their strongly connected component and wave.
struct Layering<'a> {
    apps: &'a [App<'a>],
    edges: &'a AppEdges,
    component_of: &'a [usize],
    wave_of: &'a [usize],
}

impl Layering<'_> {
    /// Application `a` (a member of `cycle`, which is just `[a]` outside cycles) and why it is
    /// in its wave; `cycle_reason` is the reason shared by the members that need nothing
    /// outside a large cycle.
    fn describe(&self, a: usize, cycle: &[usize], cycle_reason: Option<&Text>, facts: &[Facts]) -> Application {
        let apps = self.apps;
        let needs: Vec<usize> = self.edges.from(a).map(|(_, b, _)| b).collect();
        let outside: Vec<usize> = needs.iter().copied().filter(|&b| self.component_of[b] != self.component_of[a]).collect();
        let reason = match cycle_reason {
            Some(shared) if outside.is_empty() => shared.clone(),
            _ => self.reason(a, &outside, cycle).into(),
        };
        Application {
            name: apps[a].name.into(),
            namespace: apps[a].namespace.cloned(),
            workloads: apps[a].workloads.iter().map(|&w| facts[w].id.obj_ref()).collect(),
            depends_on: needs.iter().map(|&b| apps[b].label.clone()).collect(),
            reason,
        }
    }

    /// Why application `a`, which needs the applications `outside` of its own cycle, is in its wave.
    fn reason(&self, a: usize, outside: &[usize], cycle: &[usize]) -> String {
        let apps = self.apps;
        let mut reason = if outside.is_empty() && cycle.len() > 1 {
            "needs only the applications of its cycle".to_owned()
        } else if outside.is_empty() {
            "needs no other application in the input: it can move first".to_owned()
        } else {
            let mut reason = "needs ".to_owned();
            for (k, &b) in outside.iter().enumerate() {
                let separator = if k == 0 { "" } else { ", " };
                let _ = write!(reason, "{separator}{} (wave {})", apps[b], self.wave_of[self.component_of[b]]);
            }
            reason
        };
        if cycle.len() > 1 {
            let _ = write!(reason, "; {}: they move together", cycle_peers(apps, a, cycle));
        }
        reason
    }
}

/// Application-to-application edges `(from, to, dependency)`, sorted by `(from, to)`, one per
/// pair (the first dependency found for it).
struct AppEdges(Vec<(usize, usize, usize)>);

impl AppEdges {
    /// The edges between different applications from workload-to-workload needs.
    fn new(needs: &[(usize, usize, usize)], app_of: &[usize]) -> AppEdges {
        let mut edges: Vec<(usize, usize, usize)> =
            needs.iter().map(|&(from, to, edge)| (app_of[from], app_of[to], edge)).filter(|&(a, b, _)| a != b).collect();
        // Stable: of the needs between two applications, the first one found stays.
        edges.sort_by_key(|&(a, b, _)| (a, b));
        edges.dedup_by_key(|&mut (a, b, _)| (a, b));
        AppEdges(edges)
    }

    /// Every edge, in order.
    fn all(&self) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
        self.0.iter().copied()
    }

    /// The edges from application `a`, by the application they lead to.
    fn from(&self, a: usize) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
        let start = self.0.partition_point(|&(x, _, _)| x < a);
        self.0[start..].iter().copied().take_while(move |&(x, _, _)| x == a)
    }
}

/// How many other members of its cycle an application's reason names; beyond, it counts them.
const SHOWN_PEERS: usize = 5;

/// Names the other members of a cycle, or counts them when there are more than [`SHOWN_PEERS`]
/// (the same text for every member then).
fn cycle_peers(apps: &[App], a: usize, cycle: &[usize]) -> String {
    if cycle.len() - 1 > SHOWN_PEERS {
        return format!("in a cycle with {} other applications (see `cycles`)", cycle.len() - 1);
    }
    let others: Vec<String> = cycle.iter().filter(|&&b| b != a).map(|&b| apps[b].label.to_string()).collect();
    format!("in a cycle with {}", others.join(", "))
}

/// The cycle formed by the members of component `c`, explained by the edges that close it.
fn explain_cycle(layering: &Layering<'_>, c: usize, members: &[usize], deps: &[Dependency]) -> Cycle {
    let (apps, edges) = (layering.apps, layering.edges);
    let closing_edges = |&a: &usize| {
        edges.from(a).filter(|&(_, b, _)| layering.component_of[b] == c).map(|(a, b, edge)| {
            let d = &deps[edge];
            ClosingEdge { from: apps[a].label.clone(), to: apps[b].label.clone(), address: d.address.clone(), evidence: d.evidence.clone() }
        })
    };
    let mut closing: Vec<ClosingEdge> = members.par_iter().with_min_len(PARALLEL_MEMBERS).flat_map_iter(closing_edges).collect();
    closing.par_sort_unstable_by(|x, y| x.sort_key().cmp(&y.sort_key()));
    let mut names: Vec<Text> = members.iter().map(|&a| apps[a].label.clone()).collect();
    names.par_sort_unstable();
    Cycle {
        members: names,
        edges: closing,
        advice: "move these applications in the same wave, or keep the source side reachable from the target until all of them have moved".into(),
    }
}

/// The most depended-on applications: direct dependents counted for all,
/// transitive dependents (a breadth-first walk back along the edges) for the
/// leading candidates only, so that the cost stays linear in the graph size.
fn centrality(apps: &[App], edges: &AppEdges) -> Vec<Centrality> {
    const CANDIDATES: usize = 20;
    let mut direct = vec![0usize; apps.len()];
    let mut dependents_of: Vec<Vec<usize>> = vec![Vec::new(); apps.len()];
    for (a, b, _) in edges.all() {
        direct[b] += 1;
        dependents_of[b].push(a);
    }
    let mut candidates: Vec<usize> = (0..apps.len()).filter(|&a| direct[a] > 0).collect();
    candidates.sort_by(|&x, &y| direct[y].cmp(&direct[x]).then(x.cmp(&y)));
    candidates.truncate(CANDIDATES);
    let mut rows: Vec<Centrality> = candidates
        .into_iter()
        .map(|a| Centrality { application: apps[a].label.to_string(), direct_dependents: direct[a], all_dependents: reachable(a, &dependents_of) })
        .collect();
    rows.sort_by(|x, y| y.all_dependents.cmp(&x.all_dependents).then(y.direct_dependents.cmp(&x.direct_dependents)).then(x.application.cmp(&y.application)));
    rows.truncate(10);
    rows
}

/// How many nodes can be reached from `start` (itself excluded).
fn reachable(start: usize, next: &[Vec<usize>]) -> usize {
    let mut seen = vec![false; next.len()];
    seen[start] = true;
    let mut queue = std::collections::VecDeque::from([start]);
    let mut count = 0;
    while let Some(n) = queue.pop_front() {
        for &m in &next[n] {
            if !seen[m] {
                seen[m] = true;
                count += 1;
                queue.push_back(m);
            }
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use ferry_model::{Node, Object, Origin};

    use super::*;
    use crate::assessment::Resolution;
    use crate::facts::Relation;
    use crate::{Knowledge, Strings};

    /// `count` Deployments, each its own application, and a dependency to stand for every need.
    fn deployments(count: usize) -> (Vec<Facts>, Vec<Dependency>) {
        let (knowledge, strings) = (Knowledge::builtin(), Strings::default());
        let facts: Vec<Facts> = (0..count)
            .map(|i| {
                let json = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": format!("app-{i}"), "namespace": "ns"},
                    "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx"}]}}}});
                let root: Node = serde_json::from_value(json).expect("node");
                crate::facts::extract(&Object::from_root(root, Origin { file: Arc::from("f.yaml"), document: 1, line: 1 }), knowledge, &strings)
            })
            .collect();
        let evidence = Evidence { file: "f.yaml".into(), line: 1, path: "spec".into() };
        let dependency = Dependency {
            from: facts[0].id.obj_ref(),
            to: facts[1].id.obj_ref(),
            kind: Relation::ServiceAccount,
            resolution: Resolution::Resolved,
            evidence,
            via: None,
            address: None,
            note: None,
            also: Box::new([]),
        };
        (facts, vec![dependency])
    }

    /// Runs `work` on a thread with a 256 KiB stack: recursion by input size would overflow it.
    fn on_a_small_stack<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::Builder::new().stack_size(256 << 10).spawn(work).expect("thread").join().expect("no stack overflow")
    }

    #[test]
    fn a_chain_of_100_000_applications_is_layered_without_recursion() {
        let waves = on_a_small_stack(|| {
            let (facts, deps) = deployments(100_000);
            let needs: Vec<(usize, usize, usize)> = (0..facts.len() - 1).map(|i| (i, i + 1, 0)).collect();
            waves(&facts, &needs, &deps)
        });
        assert_eq!(waves.waves.len(), 100_000, "each application waits for the one it needs");
        assert_eq!(&*waves.waves[0].applications[0].name, "app-99999");
        assert!(waves.cycles.is_empty());
    }

    #[test]
    fn a_cycle_of_100_000_applications_is_one_group_without_recursion() {
        let waves = on_a_small_stack(|| {
            let (facts, deps) = deployments(100_000);
            let needs: Vec<(usize, usize, usize)> = (0..facts.len()).map(|i| (i, (i + 1) % facts.len(), 0)).collect();
            waves(&facts, &needs, &deps)
        });
        assert_eq!(waves.waves.len(), 1);
        assert_eq!(waves.cycles.len(), 1);
        assert_eq!(waves.cycles[0].members.len(), 100_000);
    }

    #[test]
    fn application_edges_keep_the_first_dependency_of_each_pair() {
        // Workloads 0 and 1 form application 0, workload 2 application 1, workload 3 application 2.
        let app_of = [0, 0, 1, 2];
        let needs = [(1, 3, 7), (0, 2, 5), (0, 3, 4), (2, 0, 9), (0, 1, 8)];
        let edges = AppEdges::new(&needs, &app_of);
        assert_eq!(edges.all().collect::<Vec<_>>(), [(0, 1, 5), (0, 2, 7), (1, 0, 9)], "sorted, first dependency kept, none within an application");
        assert_eq!(edges.from(0).map(|(_, b, _)| b).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(edges.from(1).map(|(_, b, _)| b).collect::<Vec<_>>(), [0]);
        assert_eq!(edges.from(2).count(), 0);
    }
}
