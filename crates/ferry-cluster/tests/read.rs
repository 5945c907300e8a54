//! `ferry_cluster::read` against a real kube-apiserver v1.20.2 whose etcd history is
//! compacted in the middle of a paginated list, as happens on a busy cluster when a list
//! takes longer than the API server's compaction interval (five minutes by default).

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use ferry_cluster::{ConnectOptions, Progress, ReadOptions, Resource, connect, discover, read};
use ferry_testcluster::{Options, TestCluster};

/// After the first page of ConfigMaps: one more ConfigMap, then etcd compacted, so that the
/// `continue` token of the page just read has expired when the next page is asked for.
struct CompactAfterFirstPage<'a> {
    cluster: &'a TestCluster,
    pages: AtomicUsize,
}

impl Progress for CompactAfterFirstPage<'_> {
    fn page(&self, resource: &Resource, _objects: usize) {
        if resource.plural != "configmaps" || self.pages.fetch_add(1, Ordering::SeqCst) != 0 {
            return;
        }
        self.cluster.kubectl(&["create", "configmap", "late", "-n", "paged"]).expect("create a ConfigMap mid-list");
        self.cluster.compact_etcd().expect("compact etcd");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_continue_token_restarts_the_list_without_duplicates() {
    let cluster = TestCluster::start(Options::default()).await.expect("test cluster (run scripts/install-k8s.sh)");
    cluster.kubectl(&["create", "namespace", "paged"]).expect("namespace");
    let configmaps: String = (0..25).map(|i| format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{i:02}}}\ndata: {{i: \"{i}\"}}\n---\n")).collect();
    cluster.apply(Some("paged"), &configmaps).expect("ConfigMaps");

    let connection = connect(&ConnectOptions { kubeconfig: Some(cluster.kubeconfig()), context: Some("admin".into()) }).await.expect("connect");
    let discovery = discover(&connection).await.expect("discover");
    let options = ReadOptions { namespaces: vec!["paged".into()], page_size: 10, ..ReadOptions::default() };
    let progress = CompactAfterFirstPage { cluster: &cluster, pages: AtomicUsize::new(0) };
    let snapshot = read(&connection, &discovery, &options, &progress).await;

    assert!(snapshot.failures.is_empty(), "the expired list is restarted, not failed: {:?}", snapshot.failures);
    let names: Vec<&str> = snapshot.objects.iter().filter(|o| o.id.kind == "ConfigMap").map(|o| o.id.name.as_str()).collect();
    let unique: HashSet<&str> = names.iter().copied().collect();
    assert_eq!(names.len(), unique.len(), "no object twice: {names:?}");
    let expected: HashSet<String> = (0..25).map(|i| format!("cm-{i:02}")).chain(["late".into()]).collect();
    let expected: HashSet<&str> = expected.iter().map(String::as_str).collect();
    assert_eq!(unique, expected, "every ConfigMap, the one created mid-list included");
    // Three pages of 10 would do without the restart; the restart reads the first page again.
    assert!(progress.pages.load(Ordering::SeqCst) >= 4, "the list was restarted");
}
