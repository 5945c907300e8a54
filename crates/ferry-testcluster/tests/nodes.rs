//! Test clusters with a real node: Pods run, probes pass, Services get endpoints, Jobs report
//! exit codes, claims bind and keep data between Pods, two clusters run side by side, and a
//! teardown (also of a killed process) leaves no process, mount or cgroup behind.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ferry_testcluster::{Options, TestCluster, node};

fn with_node() -> Options {
    Options { nodes: 1, ..Default::default() }
}

/// A Deployment serving busybox httpd on `port` of loopback, Ready through an HTTP probe, and its Service.
fn web_app(name: &str, port: u16) -> String {
    format!(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      hostNetwork: true
      containers:
      - name: httpd
        image: ferry.local/busybox:1
        imagePullPolicy: Never
        command: ["sh", "-c", "mkdir -p /www && echo served-by-{name} > /www/index.html && exec httpd -f -p 127.0.0.1:{port} -h /www"]
        ports: [{{containerPort: {port}}}]
        readinessProbe:
          httpGet: {{host: 127.0.0.1, port: {port}, path: /index.html}}
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: {{name: {name}}}
spec:
  selector: {{app: {name}}}
  ports: [{{port: 80, targetPort: {port}, protocol: TCP}}]
"#
    )
}

fn http_get(port: u16, path: &str) -> String {
    use std::io::Write as _;
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// The first value of `read` that `done` accepts, or the last one after 30 s.
fn eventually(read: impl Fn() -> String, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let value = read();
        if done(&value) || Instant::now() > deadline {
            return value;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn kubectl(cluster: &TestCluster, args: &[&str]) -> String {
    cluster.kubectl(args).unwrap_or_else(|e| panic!("{e}"))
}

/// Waits until a Pod reaches `phase` (Succeeded or Failed), returning what its container's
/// termination state says: `(phase, exit code)`.
fn wait_for_pod_end(cluster: &TestCluster, selector: &str) -> (String, i64) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let text = kubectl(cluster, &["get", "pods", "-l", selector, "-o", "json"]);
        let pods: serde_json::Value = serde_json::from_str(&text).unwrap();
        if let Some(pod) = pods["items"].as_array().and_then(|items| items.first()) {
            let phase = pod["status"]["phase"].as_str().unwrap_or_default().to_owned();
            let code = pod.pointer("/status/containerStatuses/0/state/terminated/exitCode").and_then(serde_json::Value::as_i64);
            if let (true, Some(code)) = (phase == "Succeeded" || phase == "Failed", code) {
                return (phase, code);
            }
        }
        assert!(Instant::now() < deadline, "pods {selector} did not finish: {text}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pods_run_on_the_node_behind_probes_services_jobs_and_bound_claims() {
    let cluster = TestCluster::start(with_node()).await.unwrap();
    let nodes = kubectl(&cluster, &["get", "nodes", "-o", "jsonpath={.items[*].metadata.name}"]);
    assert_eq!(nodes, node::NODE_NAME);

    // A Deployment becomes Ready through its HTTP probe, serves on loopback, and its Service has the ready endpoint.
    let port = ferry_testcluster::free_port().unwrap();
    cluster.apply(None, &web_app("web", port)).unwrap();
    kubectl(&cluster, &["rollout", "status", "deployment/web", "--timeout=90s"]);
    assert!(http_get(port, "/index.html").contains("served-by-web"));
    // Endpoints objects refuse loopback addresses (the endpoints controller fails to write them);
    // EndpointSlices, which replace them, take them.
    let slice = "jsonpath={.items[0].endpoints[0].addresses[0]}:{.items[0].ports[0].port}:{.items[0].endpoints[0].conditions.ready}";
    let ready_endpoint = || kubectl(&cluster, &["get", "endpointslices", "-l", "kubernetes.io/service-name=web", "-o", slice]);
    assert_eq!(eventually(ready_endpoint, |e| e.ends_with(":true")), format!("127.0.0.1:{port}:true"));

    // Jobs complete or fail, and the container's exit code is what the Pod's status reports.
    let job = |name: &str, script: &str| {
        format!(
            "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: {name}}}\nspec:\n  backoffLimit: 0\n  template:\n    spec:\n      hostNetwork: true\n      restartPolicy: Never\n      containers:\n      - {{name: c, image: ferry.local/busybox:1, imagePullPolicy: Never, command: [sh, -c, '{script}']}}\n"
        )
    };
    cluster.apply(None, &job("ok", "echo done")).unwrap();
    cluster.apply(None, &job("fails", "exit 3")).unwrap();
    assert_eq!(wait_for_pod_end(&cluster, "job-name=ok"), ("Succeeded".to_owned(), 0));
    assert_eq!(wait_for_pod_end(&cluster, "job-name=fails"), ("Failed".to_owned(), 3));
    kubectl(&cluster, &["wait", "--for=condition=complete", "job/ok", "--timeout=30s"]);
    assert_eq!(kubectl(&cluster, &["logs", "job/ok"]).trim(), "done");

    // A claim binds to a local volume; one Pod writes, a second reads the same bytes back.
    let volume = cluster.create_volume("data-1", "1Gi").unwrap();
    cluster
        .apply(None, "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data}\nspec:\n  storageClassName: local\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1Gi}}\n")
        .unwrap();
    let pod = |name: &str, script: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, labels: {{role: {name}}}}}\nspec:\n  hostNetwork: true\n  restartPolicy: Never\n  volumes: [{{name: d, persistentVolumeClaim: {{claimName: data}}}}]\n  containers:\n  - {{name: c, image: ferry.local/busybox:1, imagePullPolicy: Never, volumeMounts: [{{name: d, mountPath: /data}}], command: [sh, -c, '{script}']}}\n"
        )
    };
    cluster.apply(None, &pod("writer", "head -c 65536 /dev/urandom > /data/blob && sha256sum /data/blob | cut -c1-64")).unwrap();
    assert_eq!(wait_for_pod_end(&cluster, "role=writer"), ("Succeeded".to_owned(), 0));
    let written = kubectl(&cluster, &["logs", "writer"]);
    assert_eq!(kubectl(&cluster, &["get", "pvc", "data", "-o", "jsonpath={.status.phase}/{.spec.volumeName}"]), "Bound/data-1");
    cluster.apply(None, &pod("reader", "sha256sum /data/blob | cut -c1-64")).unwrap();
    assert_eq!(wait_for_pod_end(&cluster, "role=reader"), ("Succeeded".to_owned(), 0));
    assert_eq!(kubectl(&cluster, &["logs", "reader"]), written);
    assert_eq!(std::fs::metadata(volume.join("blob")).unwrap().len(), 65536, "the bytes are in the volume's directory");
}

/// Every trace a cluster's node could leave: processes naming its directory, mounts of it in any
/// process's view, and its cgroup directories.
fn traces_of(dir: &Path) -> Vec<String> {
    let dir_text = dir.display().to_string();
    let dir_name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let mut traces = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().filter_map(Result::ok) {
        let path = entry.path();
        let cmdline = std::fs::read(path.join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(&dir_text) {
            traces.push(format!("process {}: {}", entry.file_name().to_string_lossy(), String::from_utf8_lossy(&cmdline).replace('\0', " ")));
        }
        let mounts = std::fs::read_to_string(path.join("mountinfo")).unwrap_or_default();
        if let Some(line) = mounts.lines().find(|l| l.contains(&dir_text)) {
            traces.push(format!("mount seen by process {}: {line}", entry.file_name().to_string_lossy()));
        }
    }
    for hierarchy in std::fs::read_dir("/sys/fs/cgroup").unwrap().filter_map(Result::ok) {
        for cgroup in std::fs::read_dir(hierarchy.path()).into_iter().flatten().filter_map(Result::ok) {
            let name = cgroup.file_name().to_string_lossy().into_owned();
            if name.starts_with(node::CGROUP_PREFIX) && name.ends_with(&dir_name) {
                traces.push(format!("cgroup {}", cgroup.path().display()));
            }
        }
    }
    traces
}

fn wait_until_no_traces(dir: &Path, within: Duration) -> Vec<String> {
    let deadline = Instant::now() + within;
    loop {
        let traces = traces_of(dir);
        if traces.is_empty() || Instant::now() > deadline {
            return traces;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_clusters_with_nodes_run_side_by_side_and_leave_nothing_behind() {
    let host_sysctls = sysctls();
    let (a, b) = tokio::join!(TestCluster::start(with_node()), TestCluster::start(with_node()));
    let (a, b) = (a.unwrap(), b.unwrap());
    let (port_a, port_b) = (ferry_testcluster::free_port().unwrap(), ferry_testcluster::free_port().unwrap());
    a.apply(None, &web_app("web", port_a)).unwrap();
    b.apply(None, &web_app("web", port_b)).unwrap();
    kubectl(&a, &["rollout", "status", "deployment/web", "--timeout=90s"]);
    kubectl(&b, &["rollout", "status", "deployment/web", "--timeout=90s"]);
    assert!(http_get(port_a, "/index.html").contains("served-by-web"));
    assert!(http_get(port_b, "/index.html").contains("served-by-web"));
    let (dir_a, dir_b) = (a.path().to_owned(), b.path().to_owned());
    assert!(!traces_of(&dir_a).is_empty(), "a running node shows up in the process table");

    // kubelet sets these at start (kernel.panic=10, vm.overcommit_memory=1...): only inside the node.
    assert_eq!(sysctls(), host_sysctls, "the host's sysctls are untouched");

    drop(a);
    assert_eq!(traces_of(&dir_a), Vec::<String>::new(), "cluster a left traces behind");
    let served_b = http_get(port_b, "/index.html");
    assert!(served_b.contains("served-by-web"), "cluster b kept serving while a was torn down: {served_b}");
    drop(b);
    assert_eq!(traces_of(&dir_b), Vec::<String>::new(), "cluster b left traces behind");
}

/// The host sysctls kubelet would change.
fn sysctls() -> Vec<String> {
    ["vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops"]
        .iter()
        .map(|name| format!("{name}={}", std::fs::read_to_string(format!("/proc/sys/{name}")).unwrap().trim()))
        .collect()
}

#[test]
fn a_killed_harness_leaves_no_process_mount_or_cgroup_behind() {
    let mut harness = Command::new(env!("CARGO_BIN_EXE_ferry-testcluster"))
        .args(["--nodes", "1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut kubeconfig = String::new();
    BufReader::new(harness.stdout.take().unwrap()).read_line(&mut kubeconfig).unwrap();
    let kubeconfig = Path::new(kubeconfig.trim()).to_owned();
    let dir = kubeconfig.parent().unwrap().to_owned();
    let port = ferry_testcluster::free_port().unwrap();
    let apply = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["apply", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            child.stdin.take().unwrap().write_all(web_app("web", port).as_bytes())?;
            child.wait()
        })
        .unwrap();
    assert!(apply.success());
    let rollout = Command::new("kubectl").arg("--kubeconfig").arg(&kubeconfig).args(["rollout", "status", "deployment/web", "--timeout=90s"]).output().unwrap();
    assert!(rollout.status.success(), "{}", String::from_utf8_lossy(&rollout.stderr));
    assert!(http_get(port, "/index.html").contains("served-by-web"));

    harness.kill().unwrap();
    harness.wait().unwrap();
    assert_eq!(wait_until_no_traces(&dir, Duration::from_secs(20)), Vec::<String>::new());
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "the Pod's server is gone");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pod_runs_an_image_pulled_from_the_loopback_registry() {
    let registry = ferry_testcluster::TestRegistry::start().unwrap();
    let mut layer = ferry_images::LayerBuilder::new();
    layer.file("/bin/busybox", "/bin/busybox", 0o755).unwrap().bytes("/etc/origin", "pulled-from-the-test-registry\n", 0o644).unwrap();
    let config = ferry_images::ImageConfig { entrypoint: vec!["/bin/busybox".into()], ..Default::default() };
    let image = ferry_images::Image::new(&config, vec![layer.build().unwrap()]);
    let reference = format!("{}/tools/busybox:pulled", registry.host());
    ferry_images::push(&image, &reference, &ferry_images::Credentials::anonymous()).await.unwrap();

    let cluster = TestCluster::start(with_node()).await.unwrap();
    cluster.trust_registry(&registry.host()).unwrap();
    let pod = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: pulled, labels: {{role: pulled}}}}\nspec:\n  hostNetwork: true\n  restartPolicy: Never\n  containers:\n  - {{name: c, image: '{reference}', imagePullPolicy: Always, args: [cat, /etc/origin]}}\n"
    );
    cluster.apply(None, &pod).unwrap();
    assert_eq!(wait_for_pod_end(&cluster, "role=pulled"), ("Succeeded".to_owned(), 0));
    assert_eq!(kubectl(&cluster, &["logs", "pulled"]), "pulled-from-the-test-registry\n");
    let image_id = kubectl(&cluster, &["get", "pod", "pulled", "-o", "jsonpath={.status.containerStatuses[0].imageID}"]);
    assert_eq!(image_id, format!("{}/tools/busybox@{}", registry.host(), image.digest().as_str()), "the node ran exactly the pushed manifest");
    // The node resolved the tag and fetched the manifest by its digest from the registry.
    let by_digest = format!("GET /v2/tools/busybox/manifests/{}", image.digest().as_str());
    assert!(registry.requests().contains(&by_digest), "the node asked the registry: {:?}", registry.requests());
}
