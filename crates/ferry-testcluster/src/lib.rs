//! Real Kubernetes control planes for ferry's tests and benchmarks.
//!
//! [`TestCluster::start`] runs a genuine upstream etcd, kube-apiserver and
//! (optionally) kube-controller-manager on 127.0.0.1 with free ports and a
//! private temporary directory, writes a kubeconfig, and waits until the
//! server is ready and the `default` namespace exists. Dropping the cluster
//! kills every process by PID, also when a test panics; the processes are
//! additionally tied to the thread that started them (`PR_SET_PDEATHSIG`) so
//! that a killed test binary leaves nothing behind.
//!
//! With [`Options::nodes`] set to 1 the cluster also gets a kube-scheduler and
//! a real node (containerd + kubelet, see [`node`]) on which Pods run, the
//! controllers that bind claims and clear the node's not-ready taint, and a
//! `local` StorageClass whose volumes [`TestCluster::create_volume`] makes.
//!
//! The binaries come from `scripts/install-k8s.sh` (kube-apiserver,
//! kube-controller-manager, kube-scheduler, kubelet v1.20.2 and the pause
//! program, built from Debian's source package and cached under
//! `~/.cache/ferry/k8s-v1.20.2/`; etcd, containerd and runc from Debian's
//! packages). Set `FERRY_K8S_BIN` to use binaries from elsewhere.

pub mod node;
pub mod s3;

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::io::Write as _;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use kube::config::{KubeConfigOptions, Kubeconfig};

mod accept;
mod backend;
mod bind;
mod dns;
mod haproxy;
mod images;
mod pki;
mod powerdns;
mod prometheus;
mod registry;
mod relay;
mod tls;
mod webhook;
pub use backend::{LoadResult, TestBackend, TestLoad};
pub use bind::{BIND_TSIG_KEY, BIND_TSIG_SECRET, TestBind};
pub use haproxy::{TestHaproxy, TlsSite};
pub use images::{BUSYBOX_IMAGE, FERRY_IMAGE, PAUSE_IMAGE, TestImages, pause_binary};
pub use pki::TestPki;
pub use powerdns::{POWERDNS_API_KEY, TestPowerDns};
pub use prometheus::TestPrometheus;
pub use registry::{REGISTRY_PASSWORD, REGISTRY_USER, TestRegistry, basic_credentials};
pub use relay::{Cut, TestRelay};
pub use tls::TestTlsServer;
pub use webhook::{TestWebhook, WEBHOOK_REFUSAL};

/// The Kubernetes version the project's test binaries are built from.
pub const KUBERNETES_VERSION: &str = "1.20.2";

const ADMIN_TOKEN: &str = "ferry-admin-token";
const KUBELET_TOKEN: &str = "ferry-kubelet-token";

/// The StorageClass of the volumes [`TestCluster::create_volume`] makes: statically provisioned,
/// bound as soon as a claim asks (claims that no Pod mounts bind too).
const LOCAL_STORAGE_CLASS: &str = "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: local}\nprovisioner: kubernetes.io/no-provisioner\nvolumeBindingMode: Immediate\nreclaimPolicy: Retain\n";
const READY_TIMEOUT: Duration = Duration::from_secs(90);
const START_ATTEMPTS: usize = 3;

/// Why a test cluster could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A binary is not installed.
    #[error("`{0}` not found; run scripts/install-k8s.sh (or set FERRY_K8S_BIN)")]
    MissingBinary(String),
    /// Running a helper program or writing a file failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The underlying error.
        source: io::Error,
    },
    /// A process exited or the server did not become ready in time.
    #[error("{0}")]
    NotReady(String),
    /// The kubeconfig the harness wrote could not be used.
    #[error("kubeconfig: {0}")]
    Kubeconfig(String),
}

pub(crate) fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> Error {
    let what = what.into();
    move |source| Error::Io { what, source }
}

/// A namespaced CustomResourceDefinition, `widgets.example.com` (kind `Widget`,
/// version `v1`, a structural schema with `spec.size` and `spec.color`), for
/// tests that need custom resources.
pub const WIDGET_CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
              color: {type: string}
"#;

/// The shared third-party test corpora: `$FERRY_CORPORA`, else `../shared/corpora` beside the repository.
pub fn corpora() -> PathBuf {
    std::env::var_os("FERRY_CORPORA").map(PathBuf::from).unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora"))
}

/// An extra API user with a bearer token (the admin is always present).
#[derive(Debug, Clone)]
pub struct User {
    /// User name; also the name of its context in the kubeconfig.
    pub name: String,
    /// Groups the user belongs to.
    pub groups: Vec<String>,
}

/// How to start a cluster.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Also run kube-controller-manager (Deployments get ReplicaSets and Pods,
    /// namespaces get their default ServiceAccount, garbage collection works).
    pub controllers: bool,
    /// Extra token users, without any RBAC permission until a test grants some.
    pub users: Vec<User>,
    /// Real nodes running Pods: 0 (the default) or 1 (every node is named `127.0.0.1`). A node
    /// implies the controllers and adds a kube-scheduler and the `local` StorageClass.
    pub nodes: usize,
}

/// A running control plane; killed when dropped.
pub struct TestCluster {
    dir: tempfile::TempDir,
    children: Vec<(&'static str, Child)>,
    server: String,
    /// etcd's client address, `127.0.0.1:PORT`.
    etcd: String,
    /// How kube-apiserver was started, to start it again after [`TestCluster::kill_apiserver`].
    apiserver: (PathBuf, Vec<String>),
    /// The node, when the cluster has one; torn down before the control plane.
    node: Option<node::Node>,
    /// From starting the node's containerd to the Node being Ready and untainted.
    node_ready_after: Option<Duration>,
}

impl TestCluster {
    /// Starts etcd and kube-apiserver, and kube-controller-manager if asked.
    pub async fn start(options: Options) -> Result<TestCluster, Error> {
        let binaries = Binaries::locate()?;
        let mut last = None;
        for _ in 0..START_ATTEMPTS {
            match TestCluster::start_once(&binaries, &options).await {
                Ok(cluster) => return Ok(cluster),
                // A port picked as free can be taken by a parallel test before the server binds it.
                Err(Error::NotReady(msg)) if msg.contains("address already in use") => last = Some(Error::NotReady(msg)),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::NotReady("cluster did not start".into())))
    }

    async fn start_once(binaries: &Binaries, options: &Options) -> Result<TestCluster, Error> {
        let dir = tempfile::Builder::new().prefix("ferry-cluster-").tempdir().map_err(io_err("creating the cluster directory"))?;
        let mut cluster = TestCluster {
            server: String::new(),
            etcd: String::new(),
            children: Vec::new(),
            dir,
            apiserver: (PathBuf::new(), Vec::new()),
            node: None,
            node_ready_after: None,
        };
        cluster.write_credentials(options)?;
        let (etcd_port, peer_port, api_port) = (free_port()?, free_port()?, free_port()?);
        cluster.server = format!("https://127.0.0.1:{api_port}");
        cluster.etcd = format!("127.0.0.1:{etcd_port}");
        cluster.spawn("etcd", &binaries.etcd, &etcd_args(cluster.path(), etcd_port, peer_port))?;
        cluster.apiserver = (binaries.apiserver.clone(), apiserver_args(cluster.path(), etcd_port, api_port));
        cluster.spawn("kube-apiserver", &binaries.apiserver, &cluster.apiserver.1.clone())?;
        cluster.wait_for_file("certs/apiserver.crt").await?;
        cluster.write_kubeconfig(options)?;
        let client = cluster.client().await?;
        cluster.wait_until(&client, "/readyz").await?;
        cluster.wait_until(&client, "/api/v1/namespaces/default").await?;
        if options.controllers || options.nodes > 0 {
            cluster.spawn("kube-controller-manager", &binaries.controller_manager, &controller_manager_args(cluster.path(), options.nodes > 0))?;
            cluster.wait_until(&client, "/api/v1/namespaces/default/serviceaccounts/default").await?;
        }
        if options.nodes > 0 {
            cluster.start_node(binaries, &client).await?;
        }
        Ok(cluster)
    }

    /// Starts kube-scheduler and the node, waits until the node is Ready without the not-ready
    /// taint, and creates the `local` StorageClass.
    async fn start_node(&mut self, binaries: &Binaries, client: &kube::Client) -> Result<(), Error> {
        let scheduler = binaries.node()?.scheduler.clone();
        self.spawn("kube-scheduler", &scheduler, &scheduler_args(self.path()))?;
        let images = node_images(self.path())?;
        let config = node::NodeConfig { dir: self.path(), kubeconfig: self.path().join("kubelet.kubeconfig"), images: &images };
        let started = Instant::now();
        self.node = Some(node::Node::start(binaries, &config).await?);
        self.wait_for_ready_node(client).await?;
        self.node_ready_after = Some(started.elapsed());
        self.apply(None, LOCAL_STORAGE_CLASS).map(drop)
    }

    async fn wait_for_ready_node(&mut self, client: &kube::Client) -> Result<(), Error> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let path = format!("/api/v1/nodes/{}", node::NODE_NAME);
        loop {
            self.check_alive()?;
            let request = http::Request::get(&path).body(Vec::new()).expect("static request");
            if let Ok(text) = client.request_text(request).await
                && serde_json::from_str::<serde_json::Value>(&text).is_ok_and(|node| node_is_ready(&node))
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(self.not_ready(&format!("node {} was not Ready within {READY_TIMEOUT:?}", node::NODE_NAME)));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Creates a PersistentVolume `name` of class `local` with capacity `size` (a Kubernetes
    /// quantity such as `1Gi`), backed by a new directory of the cluster's own, which it returns.
    /// Claims of class `local` bind to such volumes at once.
    pub fn create_volume(&self, name: &str, size: &str) -> Result<PathBuf, Error> {
        if self.node.is_none() {
            return Err(Error::NotReady("volumes need a node: start the cluster with `nodes: 1`".into()));
        }
        let path = self.path().join("volumes").join(name);
        fs::create_dir_all(&path).map_err(io_err(format!("creating {}", path.display())))?;
        let manifest = format!(
            "apiVersion: v1\nkind: PersistentVolume\nmetadata: {{name: {name}}}\nspec:\n  storageClassName: local\n  capacity: {{storage: {size}}}\n  accessModes: [ReadWriteOnce]\n  persistentVolumeReclaimPolicy: Retain\n  local: {{path: {}}}\n  nodeAffinity:\n    required:\n      nodeSelectorTerms:\n      - matchExpressions: [{{key: kubernetes.io/hostname, operator: In, values: [\"{}\"]}}]\n",
            path.display(),
            node::NODE_NAME
        );
        self.apply(None, &manifest)?;
        Ok(path)
    }

    /// Lets the node pull from the plain-HTTP registry at `host` (`127.0.0.1:PORT`).
    pub fn trust_registry(&self, host: &str) -> Result<(), Error> {
        self.node()?.trust_registry(host)
    }

    /// Imports an OCI image archive into the node, for Pods with `imagePullPolicy: Never`.
    pub fn import_image(&self, archive: &Path) -> Result<(), Error> {
        self.node()?.import_image(archive)
    }

    /// Resident memory of the node's kubelet and containerd.
    pub fn node_memory(&self) -> Result<node::NodeMemory, Error> {
        Ok(self.node()?.memory())
    }

    /// How long the node took from starting containerd to being Ready (images imported included).
    pub fn node_ready_after(&self) -> Option<Duration> {
        self.node_ready_after
    }

    fn node(&self) -> Result<&node::Node, Error> {
        self.node.as_ref().ok_or_else(|| Error::NotReady("this cluster has no node: start it with `nodes: 1`".into()))
    }

    /// Compacts etcd's history up to its current revision, as the API server does every five
    /// minutes: `continue` tokens and resource versions issued before now expire (410 Gone).
    /// Returns the revision compacted to.
    pub fn compact_etcd(&self) -> Result<u64, Error> {
        let range = etcd_post(&self.etcd, "/v3/kv/range", &serde_json::json!({"key": "AA=="}))?;
        // The gateway writes 64-bit integers as JSON strings.
        let revision = range.pointer("/header/revision").and_then(serde_json::Value::as_str).and_then(|r| r.parse::<u64>().ok());
        let revision = revision.ok_or_else(|| Error::NotReady(format!("etcd gave no revision: {range}")))?;
        etcd_post(&self.etcd, "/v3/kv/compaction", &serde_json::json!({"revision": revision.to_string(), "physical": true}))?;
        Ok(revision)
    }

    /// CPU time (user and system, seconds) the cluster's processes have used so far, from
    /// `/proc` (Linux): what a benchmark charges to the server rather than to its client.
    pub fn cpu_seconds(&self) -> f64 {
        // SAFETY: sysconf only reads a configuration value.
        let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        self.children.iter().map(|(_, child)| process_cpu_ticks(child.id()).unwrap_or(0) as f64 / ticks_per_second).sum()
    }

    /// Kills kube-apiserver with SIGKILL, as a crash would; etcd (and the data) stay.
    pub fn kill_apiserver(&mut self) {
        if let Some(index) = self.children.iter().position(|(name, _)| *name == "kube-apiserver") {
            let (_, mut child) = self.children.remove(index);
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops (`SIGSTOP`) or continues (`SIGCONT`) kube-apiserver: stopped, it still accepts
    /// connections (the kernel completes them) but never answers, as a hung server does.
    pub fn pause_apiserver(&self, paused: bool) {
        if let Some((_, child)) = self.children.iter().find(|(name, _)| *name == "kube-apiserver") {
            let signal = if paused { libc::SIGSTOP } else { libc::SIGCONT };
            // SAFETY: kill only sends a signal to our own child process.
            unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        }
    }

    /// Starts kube-apiserver again, on the same port with the same certificates, and waits until it is ready.
    pub async fn restart_apiserver(&mut self) -> Result<(), Error> {
        let (program, args) = self.apiserver.clone();
        self.spawn("kube-apiserver", &program, &args)?;
        let client = self.client().await?;
        self.wait_until(&client, "/readyz").await
    }

    /// The cluster's private directory (logs, certificates, kubeconfig).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The kubeconfig file, with context `admin` and one context per extra user.
    pub fn kubeconfig(&self) -> PathBuf {
        self.path().join("kubeconfig")
    }

    /// The API server's URL.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The bearer token of the `admin` context (in `system:masters`).
    pub fn admin_token(&self) -> &'static str {
        ADMIN_TOKEN
    }

    /// A client for the `admin` context.
    pub async fn client(&self) -> Result<kube::Client, Error> {
        install_crypto_provider();
        let kubeconfig = Kubeconfig::read_from(self.kubeconfig()).map_err(|e| Error::Kubeconfig(e.to_string()))?;
        let options = KubeConfigOptions { context: Some("admin".to_owned()), ..Default::default() };
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options).await.map_err(|e| Error::Kubeconfig(e.to_string()))?;
        kube::Client::try_from(config).map_err(|e| Error::Kubeconfig(e.to_string()))
    }

    /// Runs `kubectl` against this cluster's `admin` context; returns stdout, or stderr as the error.
    pub fn kubectl(&self, args: &[&str]) -> Result<String, Error> {
        self.kubectl_with_input(args, &[])
    }

    /// `kubectl apply` of YAML (several documents allowed), into `namespace` when given.
    pub fn apply(&self, namespace: Option<&str>, yaml: &str) -> Result<String, Error> {
        let mut args = vec!["apply", "-f", "-"];
        if let Some(ns) = namespace {
            args.extend(["-n", ns]);
        }
        self.kubectl_with_input(&args, yaml.as_bytes())
    }

    /// Applies a CustomResourceDefinition (YAML) and waits until `crd/NAME` is Established.
    pub fn apply_crd(&self, name: &str, yaml: &str) -> Result<(), Error> {
        self.apply(None, yaml)?;
        self.kubectl(&["wait", "--for=condition=Established", &format!("crd/{name}"), "--timeout=60s"]).map(drop)
    }

    /// Runs `kubectl` against the `admin` context with `input` on its standard input; returns stdout, or stderr as the error.
    pub fn kubectl_with_input(&self, args: &[&str], input: &[u8]) -> Result<String, Error> {
        let mut child = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(self.kubeconfig())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(io_err("running kubectl (install it with scripts/install-k8s.sh)"))?;
        let mut stdin = child.stdin.take().expect("piped stdin");
        // Written from a thread so that a large input cannot deadlock against kubectl's output.
        let input = input.to_vec();
        let writer = std::thread::spawn(move || stdin.write_all(&input));
        let output = child.wait_with_output().map_err(io_err("running kubectl"))?;
        writer.join().expect("stdin writer").map_err(io_err("writing to kubectl"))?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(Error::NotReady(format!("kubectl {}: {}", args.join(" "), String::from_utf8_lossy(&output.stderr).trim())))
        }
    }

    fn spawn(&mut self, name: &'static str, program: &Path, args: &[String]) -> Result<(), Error> {
        let child = spawn_logged(self.path(), name, Command::new(program).args(args))?;
        self.children.push((name, child));
        Ok(())
    }

    async fn wait_for_file(&mut self, relative: &str) -> Result<(), Error> {
        let path = self.path().join(relative);
        let deadline = Instant::now() + READY_TIMEOUT;
        while !path.exists() {
            self.check_alive()?;
            if Instant::now() > deadline {
                return Err(self.not_ready(&format!("{relative} was not written")));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // The certificate and its key are written one after the other.
        tokio::time::sleep(Duration::from_millis(100)).await;
        Ok(())
    }

    async fn wait_until(&mut self, client: &kube::Client, path: &str) -> Result<(), Error> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            self.check_alive()?;
            let request = http::Request::get(path).body(Vec::new()).expect("static request");
            if client.request_text(request).await.is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(self.not_ready(&format!("GET {path} did not succeed within {READY_TIMEOUT:?}")));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn check_alive(&mut self) -> Result<(), Error> {
        let exited = self.children.iter_mut().find_map(|(name, child)| match child.try_wait() {
            Ok(Some(status)) => Some((*name, status)),
            _ => None,
        });
        if let Some((name, status)) = exited {
            return Err(self.not_ready(&format!("{name} exited ({status})")));
        }
        match self.node.as_mut().and_then(node::Node::exited) {
            Some(name) => Err(self.not_ready(&format!("the node's {name} exited"))),
            None => Ok(()),
        }
    }

    fn not_ready(&self, what: &str) -> Error {
        let mut message = format!("test cluster in {}: {what}", self.path().display());
        for (name, _) in &self.children {
            let log = fs::read_to_string(self.path().join(format!("{name}.log"))).unwrap_or_default();
            // The first error line says why a process refused to start; the tail says what it did last.
            if let Some(first_error) = log.lines().find(|l| l.starts_with("Error:") || l.starts_with("F1") || l.contains("invalid argument")) {
                let _ = write!(message, "\n--- {name}.log (first error) ---\n{first_error}");
            }
            let tail: Vec<&str> = log.lines().rev().take(8).collect();
            let _ = write!(message, "\n--- {name}.log (last lines) ---");
            for line in tail.iter().rev() {
                let _ = write!(message, "\n{line}");
            }
        }
        if let Some(node) = &self.node {
            message.push_str(&node.log_tail());
        }
        Error::NotReady(message)
    }

    fn write_credentials(&self, options: &Options) -> Result<(), Error> {
        let dir = self.path();
        run("openssl", &["genrsa", "-out", "sa.key", "2048"], dir)?;
        run("openssl", &["rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"], dir)?;
        // The kubelet's user is used only when the cluster has a node.
        let mut tokens = format!("{ADMIN_TOKEN},admin,admin,system:masters\n{KUBELET_TOKEN},kubelet,kubelet,system:masters\n");
        for user in &options.users {
            let _ = writeln!(tokens, "{},{},{},\"{}\"", user_token(&user.name), user.name, user.name, user.groups.join(","));
        }
        fs::write(dir.join("tokens.csv"), tokens).map_err(io_err("writing tokens.csv"))
    }

    /// Writes `kubeconfig` (admin and the extra users) and `kubelet.kubeconfig` (the node's).
    fn write_kubeconfig(&self, options: &Options) -> Result<(), Error> {
        let ca = fs::read(self.path().join("certs/apiserver.crt")).map_err(io_err("reading the server certificate"))?;
        let ca = base64::engine::general_purpose::STANDARD.encode(ca);
        let users: Vec<(String, String)> =
            std::iter::once(("admin".to_owned(), ADMIN_TOKEN.to_owned())).chain(options.users.iter().map(|u| (u.name.clone(), user_token(&u.name)))).collect();
        fs::write(self.kubeconfig(), self.kubeconfig_text(&ca, &users)).map_err(io_err("writing the kubeconfig"))?;
        let kubelet = [("kubelet".to_owned(), KUBELET_TOKEN.to_owned())];
        fs::write(self.path().join("kubelet.kubeconfig"), self.kubeconfig_text(&ca, &kubelet)).map_err(io_err("writing the kubelet's kubeconfig"))
    }

    /// A kubeconfig with one context per user, the first one current.
    fn kubeconfig_text(&self, ca: &str, users: &[(String, String)]) -> String {
        let (mut contexts, mut credentials) = (String::new(), String::new());
        for (name, token) in users {
            let _ = write!(contexts, "- name: {name}\n  context: {{cluster: test, user: {name}}}\n");
            let _ = write!(credentials, "- name: {name}\n  user: {{token: {token}}}\n");
        }
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {}\n    certificate-authority-data: {ca}\ncontexts:\n{contexts}users:\n{credentials}current-context: {}\n",
            self.server, users[0].0
        )
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        // The node first: its kubelet would otherwise outlive the API server it reports to.
        drop(self.node.take());
        for (_, child) in self.children.iter_mut().rev() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The bearer token the harness gives an extra user.
pub fn user_token(name: &str) -> String {
    format!("{name}-token")
}

/// Installs the one TLS crypto provider the workspace uses (idempotent).
fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// POSTs JSON to etcd's gRPC gateway and returns the JSON it answers; an answer other
/// than `200 OK` is an error quoting it.
fn etcd_post(address: &str, path: &str, body: &serde_json::Value) -> Result<serde_json::Value, Error> {
    use std::io::Read as _;
    let body = body.to_string();
    let exchange = || -> io::Result<String> {
        let mut stream = std::net::TcpStream::connect(address)?;
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        Ok(response)
    };
    let response = exchange().map_err(io_err(format!("POST {path} to etcd")))?;
    let answer = response.split_once("\r\n\r\n").filter(|(head, _)| head.starts_with("HTTP/1.1 200")).and_then(|(_, json)| serde_json::from_str(json).ok());
    answer.ok_or_else(|| Error::NotReady(format!("etcd answered POST {path} with: {response}")))
}

/// utime + stime of a process, in clock ticks (`/proc/PID/stat` fields 14 and 15).
fn process_cpu_ticks(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces; count from after it.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// The programs a cluster runs.
pub(crate) struct Binaries {
    etcd: PathBuf,
    apiserver: PathBuf,
    controller_manager: PathBuf,
    node: Result<NodeBinaries, String>,
}

/// The programs a node and its scheduler run (containerd, runc and the CNI plugins come from PATH
/// and `/usr/lib/cni`).
pub(crate) struct NodeBinaries {
    pub(crate) scheduler: PathBuf,
    pub(crate) kubelet: PathBuf,
    /// The sandbox program, also the init of the node's namespace.
    pub(crate) pause: PathBuf,
}

impl Binaries {
    fn locate() -> Result<Binaries, Error> {
        let dir = match std::env::var_os("FERRY_K8S_BIN") {
            Some(dir) => PathBuf::from(dir),
            None => cache_dir().join(format!("k8s-v{KUBERNETES_VERSION}")),
        };
        let in_dir = |name: &str| {
            let path = dir.join(name);
            if path.is_file() { Ok(path) } else { Err(Error::MissingBinary(path.display().to_string())) }
        };
        let etcd = [dir.join("etcd"), PathBuf::from("/usr/bin/etcd")].into_iter().find(|p| p.is_file()).ok_or_else(|| Error::MissingBinary("etcd".into()))?;
        let node = (|| Ok(NodeBinaries { scheduler: in_dir("kube-scheduler")?, kubelet: in_dir("kubelet")?, pause: in_dir("pause")? }))();
        Ok(Binaries {
            etcd,
            apiserver: in_dir("kube-apiserver")?,
            controller_manager: in_dir("kube-controller-manager")?,
            node: node.map_err(|e: Error| e.to_string()),
        })
    }

    /// The node's programs, or which one is missing.
    pub(crate) fn node(&self) -> Result<&NodeBinaries, Error> {
        self.node.as_ref().map_err(|missing| Error::NotReady(missing.clone()))
    }
}

fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("FERRY_K8S_CACHE") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/root"));
    home.join(".cache/ferry")
}

/// A server a fixture started as a child process: the one loop that waits for it to answer.
pub(crate) trait Server {
    /// What the server is called in errors.
    const NAME: &'static str;
    /// How long it may take to answer after it starts.
    const READY_TIMEOUT: Duration;
    /// Its process.
    fn process(&mut self) -> &mut Child;
    /// Whether it answers as it should once ready.
    fn answers(&self) -> bool;
    /// What it logged so far.
    fn log(&self) -> String;

    /// Polls [`Server::answers`] until it holds; an error with the log when the process exits
    /// first or the time is up.
    fn wait_ready(&mut self) -> Result<(), Error> {
        let deadline = Instant::now() + Self::READY_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.process().try_wait() {
                return Err(Error::NotReady(format!("{} exited ({status}): {}", Self::NAME, self.log())));
            }
            if self.answers() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::NotReady(format!("{} did not answer within {:?}: {}", Self::NAME, Self::READY_TIMEOUT, self.log())));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Starts a program with its output in `DIR/NAME.log`, killed with SIGKILL when the thread that
/// started it ends (`PR_SET_PDEATHSIG`), so that a killed test leaves no process behind.
pub(crate) fn spawn_logged(dir: &Path, name: &str, command: &mut Command) -> Result<Child, Error> {
    let log = fs::File::create(dir.join(format!("{name}.log"))).map_err(io_err(format!("creating {name}.log")))?;
    let stderr = log.try_clone().map_err(io_err(format!("opening {name}.log")))?;
    command.stdin(Stdio::null()).stdout(log).stderr(stderr);
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == 0 { Ok(()) } else { Err(io::Error::last_os_error()) });
    }
    command.spawn().map_err(io_err(format!("starting {}", command.get_program().to_string_lossy())))
}

/// Whether a Node object says Ready and no longer carries the not-ready taint.
fn node_is_ready(node: &serde_json::Value) -> bool {
    let conditions = node.pointer("/status/conditions").and_then(serde_json::Value::as_array);
    let ready = conditions.is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"));
    let taints = node.pointer("/spec/taints").and_then(serde_json::Value::as_array);
    let tainted = taints.is_some_and(|t| t.iter().any(|t| t["key"] == "node.kubernetes.io/not-ready"));
    ready && !tainted
}

/// A port of 127.0.0.1 nobody listens on right now (for servers the tests start).
pub fn free_port() -> Result<u16, Error> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(io_err("finding a free port"))?;
    listener.local_addr().map(|a| a.port()).map_err(io_err("finding a free port"))
}

fn run(program: &str, args: &[&str], dir: &Path) -> Result<(), Error> {
    let output = Command::new(program).args(args).current_dir(dir).output().map_err(io_err(format!("running {program}")))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(Error::NotReady(format!("{program} {}: {}", args.join(" "), String::from_utf8_lossy(&output.stderr).trim())))
    }
}

/// `--flag=value` arguments (Go's flag parser needs `=` for booleans).
pub(crate) fn flags<const N: usize>(pairs: [(&str, String); N]) -> Vec<String> {
    pairs.into_iter().map(|(flag, value)| format!("{flag}={value}")).collect()
}

fn file(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

fn etcd_args(dir: &Path, port: u16, peer_port: u16) -> Vec<String> {
    let client = format!("http://127.0.0.1:{port}");
    let peer = format!("http://127.0.0.1:{peer_port}");
    flags([
        ("--data-dir", file(dir, "etcd")),
        ("--listen-client-urls", client.clone()),
        ("--advertise-client-urls", client),
        ("--listen-peer-urls", peer.clone()),
        ("--initial-advertise-peer-urls", peer.clone()),
        ("--initial-cluster", format!("default={peer}")),
        ("--unsafe-no-fsync", "true".into()),
    ])
}

fn apiserver_args(dir: &Path, etcd_port: u16, port: u16) -> Vec<String> {
    let file = |name: &str| file(dir, name);
    flags([
        ("--etcd-servers", format!("http://127.0.0.1:{etcd_port}")),
        ("--bind-address", "127.0.0.1".into()),
        ("--secure-port", port.to_string()),
        ("--insecure-port", "0".into()),
        ("--cert-dir", file("certs")),
        ("--token-auth-file", file("tokens.csv")),
        ("--authorization-mode", "RBAC".into()),
        ("--service-account-key-file", file("sa.pub")),
        ("--service-account-signing-key-file", file("sa.key")),
        ("--service-account-issuer", "https://kubernetes.default.svc".into()),
        ("--service-cluster-ip-range", "10.96.0.0/16".into()),
        ("--advertise-address", "127.0.0.1".into()),
    ])
}

/// With a node, the claim binder and the node lifecycle controller run too: the API server taints
/// every new Node not-ready and only that controller removes the taint.
fn controller_manager_args(dir: &Path, node: bool) -> Vec<String> {
    let controllers = if node {
        "*,-nodeipam,-cloud-node-lifecycle,-service,-route,-attachdetach,-persistentvolume-expander,-ttl"
    } else {
        "*,-nodeipam,-nodelifecycle,-cloud-node-lifecycle,-service,-route,-attachdetach,-persistentvolume-binder,-persistentvolume-expander,-ttl"
    };
    let file = |name: &str| file(dir, name);
    flags([
        ("--kubeconfig", file("kubeconfig")),
        ("--bind-address", "127.0.0.1".into()),
        ("--secure-port", "0".into()),
        ("--port", "0".into()),
        ("--service-account-private-key-file", file("sa.key")),
        ("--root-ca-file", file("certs/apiserver.crt")),
        ("--use-service-account-credentials", "false".into()),
        ("--leader-elect", "false".into()),
        ("--controllers", controllers.into()),
    ])
}

fn scheduler_args(dir: &Path) -> Vec<String> {
    flags([
        ("--kubeconfig", file(dir, "kubeconfig")),
        ("--leader-elect", "false".into()),
        ("--bind-address", "127.0.0.1".into()),
        ("--port", "0".into()),
        ("--secure-port", "0".into()),
    ])
}

/// The images every node imports at start, written into `DIR/images`: busybox and the pause image.
fn node_images(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let dir = dir.join("images");
    fs::create_dir_all(&dir).map_err(io_err("creating the images directory"))?;
    let images = TestImages::build(&dir, None).map_err(|e| Error::NotReady(format!("building the node's images: {e}")))?;
    let pause = images.pause.ok_or_else(|| Error::MissingBinary("pause (the sandbox program)".into()))?;
    Ok(vec![images.busybox, pause])
}

/// `len` bytes of deterministic noise from `seed` (xorshift): incompressible test data that is
/// the same on every run.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}
