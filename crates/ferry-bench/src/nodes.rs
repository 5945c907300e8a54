//! `ferry-bench nodes [RUNS]`: what a test cluster with a real node costs, the figures that size
//! every test that runs Pods: the control plane alone (the baseline) against the control plane
//! with a node, the node's own start (containerd, image import, kubelet, Node Ready), a Pod from
//! apply to Running, ten Pods at once, a Job to Complete, the resident memory of kubelet and
//! containerd, and the teardown.

use std::time::Instant;

use ferry_testcluster::{Options, TestCluster};

/// Runs the measurements RUNS times (default 3) and prints one table row per run.
pub(crate) fn bench_nodes(args: &[String]) {
    let runs: usize = args.first().map(|r| r.parse().expect("RUNS is a number")).unwrap_or(3);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    println!("machine: {} cores, {}", crate::cores(), crate::cpu_model());
    println!(
        "| run | control plane alone s | with node s | node Ready s | with node / alone | Pod Running s | 10 Pods Running s | Job Complete s | kubelet RSS MB | containerd RSS MB | teardown s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for run in 1..=runs {
        runtime.block_on(measure_run(run));
    }
}

async fn measure_run(run: usize) {
    let (alone, cluster) = crate::live::timed_value(TestCluster::start(Options { controllers: true, ..Default::default() })).await;
    drop(cluster.expect("control plane"));
    let (with_node, cluster) = crate::live::timed_value(TestCluster::start(Options { nodes: 1, ..Default::default() })).await;
    let cluster = cluster.expect("cluster with a node");
    let node_ready = cluster.node_ready_after().expect("the node's start time").as_secs_f64();
    let one_pod = timed_pods(&cluster, "single", 1);
    let ten_pods = timed_pods(&cluster, "batch", 10);
    let job = timed_job(&cluster);
    let memory = cluster.node_memory().expect("node memory");
    let started = Instant::now();
    drop(cluster);
    let teardown = started.elapsed().as_secs_f64();
    println!(
        "| {run} | {alone:.1} | {with_node:.1} | {node_ready:.1} | {:.2} | {one_pod:.1} | {ten_pods:.1} | {job:.1} | {:.0} | {:.0} | {teardown:.1} |",
        with_node / alone,
        memory.kubelet as f64 / 1e6,
        memory.containerd as f64 / 1e6,
    );
}

/// Seconds from applying `count` Pods labelled `group` to all of them Running.
fn timed_pods(cluster: &TestCluster, group: &str, count: usize) -> f64 {
    let pods: String = (0..count)
        .map(|i| {
            format!(
                "apiVersion: v1\nkind: Pod\nmetadata: {{name: {group}-{i}, labels: {{group: {group}}}}}\nspec:\n  hostNetwork: true\n  containers:\n  - {{name: c, image: {}, imagePullPolicy: Never, command: [sleep, '3600']}}\n---\n",
                ferry_testcluster::BUSYBOX_IMAGE
            )
        })
        .collect();
    let started = Instant::now();
    cluster.apply(None, &pods).expect("apply pods");
    let selector = format!("group={group}");
    cluster.kubectl(&["wait", "--for=condition=Ready", "pod", "-l", &selector, "--timeout=120s"]).expect("pods Ready");
    started.elapsed().as_secs_f64()
}

/// Seconds from applying a Job to its completion.
fn timed_job(cluster: &TestCluster) -> f64 {
    let job = format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: bench}}\nspec:\n  backoffLimit: 0\n  template:\n    spec:\n      hostNetwork: true\n      restartPolicy: Never\n      containers:\n      - {{name: c, image: {}, imagePullPolicy: Never, command: ['true']}}\n",
        ferry_testcluster::BUSYBOX_IMAGE
    );
    let started = Instant::now();
    cluster.apply(None, &job).expect("apply job");
    cluster.kubectl(&["wait", "--for=condition=complete", "job/bench", "--timeout=120s"]).expect("job complete");
    started.elapsed().as_secs_f64()
}
