//! A real Kubernetes node for a test cluster: Debian's containerd and runc with an upstream
//! kubelet v1.20.2, registered with the cluster as node `127.0.0.1` and running Pods.
//!
//! Everything a node runs lives in a private PID and mount namespace (`unshare --pid --mount
//! --kill-child`, with the project's pause binary as the namespace's init, which reaps orphans).
//! Inside it, per-node directories are bind-mounted over the paths kubelet and containerd fix
//! (`/var/log`, `/var/lib`, `/run`), files over the sysctls kubelet would rewrite host-wide, and a
//! resolver file over `/etc/resolv.conf`, so two nodes on one machine never see each other and the
//! host keeps its own settings. containerd and kubelet join the namespaces with `nsenter`.
//!
//! Teardown is the kernel's: when the namespace's init dies, every process in it dies (containerd,
//! kubelet, shims, containers) and its mounts go with it. Dropping the node kills it; so does the
//! death of the test process (`unshare` dies by `PR_SET_PDEATHSIG` and takes its child with it).
//! The node's cgroup directories, which the kernel leaves behind empty, are removed by the node
//! itself or, when the test process was killed, by a small janitor process that waits for it.
//!
//! Pods run with `hostNetwork: true` only (a loopback-only CNI configuration satisfies the
//! kubelet); nothing listens anywhere but 127.0.0.1, and kubelet always runs with
//! `AWS_EC2_METADATA_DISABLED=true` so that it never probes a cloud metadata address. See
//! `../shared/notes/nodes.md` for why each setting is needed.

use std::fmt::Write as _;
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{Binaries, Error, PAUSE_IMAGE, free_port, io_err, spawn_logged};

/// The node's name and address: kubelet is reached on loopback and needs no DNS.
pub const NODE_NAME: &str = "127.0.0.1";

/// Host sysctls kubelet sets at start, with the values it wants: faked inside the namespace.
const KUBELET_SYSCTLS: [(&str, &str); 6] = [
    ("vm/overcommit_memory", "1"),
    ("vm/panic_on_oom", "0"),
    ("kernel/panic", "10"),
    ("kernel/panic_on_oops", "1"),
    ("kernel/keys/root_maxkeys", "1000000"),
    ("kernel/keys/root_maxbytes", "25000000"),
];

/// Host paths kubelet and containerd use whatever their flags say, given a per-node directory.
const PRIVATE_PATHS: [&str; 3] = ["/var/log", "/var/lib", "/run"];

/// Prefix of the cgroup directory of every node (`ferry-node-<test pid>-<cluster directory>`).
pub const CGROUP_PREFIX: &str = "ferry-node-";

const START_TIMEOUT: Duration = Duration::from_secs(90);

/// A running node; torn down when dropped.
pub(crate) struct Node {
    dir: PathBuf,
    cgroup: String,
    namespace: Child,
    init: u32,
    containerd: Option<Child>,
    kubelet: Option<Child>,
}

/// What a node needs from its cluster.
pub(crate) struct NodeConfig<'a> {
    /// The cluster's private directory; the node works in `DIR/node`.
    pub dir: &'a Path,
    /// A kubeconfig for the kubelet's user.
    pub kubeconfig: PathBuf,
    /// OCI image archives imported into the node before kubelet starts (the pause image among them).
    pub images: &'a [PathBuf],
}

impl Node {
    /// Starts containerd and kubelet in a namespace of their own and imports the images. Returns
    /// once kubelet runs; [`crate::TestCluster`] waits for the Node object to be Ready.
    pub(crate) async fn start(binaries: &Binaries, config: &NodeConfig<'_>) -> Result<Node, Error> {
        let dir = config.dir.join("node");
        let cluster = config.dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let cgroup = format!("{CGROUP_PREFIX}{}-{cluster}", std::process::id());
        write_files(&dir)?;
        create_cgroups(&cgroup)?;
        spawn_janitor(&cgroup)?;
        let (namespace, init) = start_namespace(&binaries.node()?.pause, &dir).await?;
        // From here on, dropping the node (on any error) tears down what was started.
        let mut node = Node { dir, cgroup, namespace, init, containerd: None, kubelet: None };
        node.private_mounts()?;
        let mut containerd = nsenter(init);
        containerd.arg("containerd").arg("--config").arg(node.dir.join("containerd.toml"));
        node.containerd = Some(spawn_logged(&node.dir, "containerd", &mut containerd)?);
        node.wait_for_containerd().await?;
        for image in config.images {
            node.import_image(image)?;
        }
        let mut kubelet = node.kubelet_command(binaries, &config.kubeconfig)?;
        node.kubelet = Some(spawn_logged(&node.dir, "kubelet", &mut kubelet)?);
        Ok(node)
    }

    /// Imports an OCI image archive into the namespace the kubelet uses (`ctr -n k8s.io images import`).
    pub(crate) fn import_image(&self, archive: &Path) -> Result<(), Error> {
        let output = self.ctr().args(["images", "import"]).arg(archive).output().map_err(io_err("running ctr"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(Error::NotReady(format!("importing {}: {}", archive.display(), String::from_utf8_lossy(&output.stderr).trim())))
        }
    }

    /// Lets the node pull from a plain-HTTP registry at `host` (`127.0.0.1:PORT`), the only kind
    /// of registry tests run. containerd reads this directory at every pull.
    pub(crate) fn trust_registry(&self, host: &str) -> Result<(), Error> {
        let dir = self.dir.join("certs.d").join(host);
        fs::create_dir_all(&dir).map_err(io_err("creating the registry configuration"))?;
        let text = format!("server = \"http://{host}\"\n[host.\"http://{host}\"]\n  capabilities = [\"pull\", \"resolve\"]\n");
        fs::write(dir.join("hosts.toml"), text).map_err(io_err("writing hosts.toml"))
    }

    /// Resident memory of kubelet and containerd, in bytes (`VmRSS`).
    pub(crate) fn memory(&self) -> NodeMemory {
        let rss = |child: Option<&Child>| child.and_then(|c| only_child(c.id())).and_then(resident_bytes).unwrap_or(0);
        NodeMemory { kubelet: rss(self.kubelet.as_ref()), containerd: rss(self.containerd.as_ref()) }
    }

    /// The last lines of the node's logs, for errors.
    pub(crate) fn log_tail(&self) -> String {
        let mut text = String::new();
        for name in ["containerd", "kubelet"] {
            let log = fs::read_to_string(self.dir.join(format!("{name}.log"))).unwrap_or_default();
            let _ = write!(text, "\n--- node/{name}.log (last lines) ---");
            let tail: Vec<&str> = log.lines().rev().take(12).collect();
            for line in tail.iter().rev() {
                let _ = write!(text, "\n{line}");
            }
        }
        text
    }

    /// The name of the process that exited, if one did.
    pub(crate) fn exited(&mut self) -> Option<&'static str> {
        let exited = |child: &mut Option<Child>| child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(Some(_))));
        if exited(&mut self.containerd) {
            return Some("containerd");
        }
        exited(&mut self.kubelet).then_some("kubelet")
    }

    fn ctr(&self) -> Command {
        let mut command = Command::new("ctr");
        command.arg("--address").arg(self.dir.join("containerd.sock")).args(["-n", "k8s.io"]);
        command
    }

    fn private_mounts(&self) -> Result<(), Error> {
        let ns = self.dir.join("ns");
        for path in PRIVATE_PATHS {
            self.bind(&ns.join(path.trim_start_matches('/').replace('/', "-")), path)?;
        }
        for (name, _) in KUBELET_SYSCTLS {
            self.bind(&ns.join("sysctl").join(name.replace('/', ".")), &format!("/proc/sys/{name}"))?;
        }
        self.bind(&ns.join("resolv.conf"), "/etc/resolv.conf")
    }

    /// Bind-mounts `source` over `target` inside the node's mount namespace (`mount -n`: no
    /// mount table file is written, not even inside).
    fn bind(&self, source: &Path, target: &str) -> Result<(), Error> {
        let output = Command::new("nsenter")
            .args(["-t", &self.init.to_string(), "-m", "--", "mount", "-n", "--bind"])
            .arg(source)
            .arg(target)
            .output()
            .map_err(io_err("running nsenter"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(Error::NotReady(format!("bind-mounting {target} in the node: {}", String::from_utf8_lossy(&output.stderr).trim())))
        }
    }

    async fn wait_for_containerd(&mut self) -> Result<(), Error> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let answered = self.ctr().arg("version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
            if answered {
                return Ok(());
            }
            if self.exited().is_some() || Instant::now() > deadline {
                return Err(Error::NotReady(format!("containerd did not start{}", self.log_tail())));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn kubelet_command(&self, binaries: &Binaries, kubeconfig: &Path) -> Result<Command, Error> {
        let mut command = nsenter(self.init);
        command.env("AWS_EC2_METADATA_DISABLED", "true").arg(&binaries.node()?.kubelet).args(kubelet_args(&self.dir, kubeconfig, &self.cgroup)?);
        Ok(command)
    }

    fn stop(&mut self) {
        // The namespace's init takes every process of the node with it; its mounts go too.
        let _ = self.namespace.kill();
        let _ = self.namespace.wait();
        for child in self.kubelet.iter_mut().chain(self.containerd.iter_mut()) {
            let _ = child.kill();
            let _ = child.wait();
        }
        wait_until_gone(self.init);
        remove_cgroup_trees(&self.cgroup);
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Resident memory of a node's daemons, in bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct NodeMemory {
    /// kubelet's `VmRSS`.
    pub kubelet: u64,
    /// containerd's `VmRSS` (without the per-Pod shims).
    pub containerd: u64,
}

/// `nsenter` into the node's mount and PID namespaces (it forks, so the program is in both).
fn nsenter(init: u32) -> Command {
    let mut command = Command::new("nsenter");
    command.args(["-t", &init.to_string(), "-m", "-p", "--"]);
    command
}

/// Starts `unshare` with the pause binary as the init of a new PID and mount namespace;
/// returns the `unshare` process and the host PID of the init.
async fn start_namespace(pause: &Path, dir: &Path) -> Result<(Child, u32), Error> {
    let mut command = Command::new("unshare");
    command.args(["--mount", "--propagation", "private", "--pid", "--kill-child", "--mount-proc", "--"]).arg(pause);
    let mut namespace = spawn_logged(dir, "namespace", &mut command)?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(init) = only_child(namespace.id()) {
            // The init is ready once it is the pause program, not the forked unshare.
            if fs::read_to_string(format!("/proc/{init}/comm")).is_ok_and(|c| c.trim() == "pause") {
                return Ok((namespace, init));
            }
        }
        if matches!(namespace.try_wait(), Ok(Some(_))) || Instant::now() > deadline {
            let _ = namespace.kill();
            let log = fs::read_to_string(dir.join("namespace.log")).unwrap_or_default();
            return Err(Error::NotReady(format!("the node's namespace did not start: {}", log.trim())));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The one child of a process (`/proc/PID/task/PID/children`), if it has exactly one.
fn only_child(pid: u32) -> Option<u32> {
    let children = fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).ok()?;
    let mut pids = children.split_whitespace().filter_map(|p| p.parse().ok());
    let first = pids.next()?;
    pids.next().is_none().then_some(first)
}

fn resident_bytes(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
}

fn wait_until_gone(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The node's files: containerd's configuration, the CNI configuration, the directories bound
/// over host paths, the faked sysctls and the resolver file.
fn write_files(dir: &Path) -> Result<(), Error> {
    let ns = dir.join("ns");
    for sub in ["cni", "certs.d", "kubelet", "kubelet-pki", "flexvolume"] {
        fs::create_dir_all(dir.join(sub)).map_err(io_err(format!("creating node/{sub}")))?;
    }
    for path in PRIVATE_PATHS {
        fs::create_dir_all(ns.join(path.trim_start_matches('/').replace('/', "-"))).map_err(io_err(format!("creating a directory for {path}")))?;
    }
    fs::create_dir_all(ns.join("sysctl")).map_err(io_err("creating node/ns/sysctl"))?;
    for (name, value) in KUBELET_SYSCTLS {
        fs::write(ns.join("sysctl").join(name.replace('/', ".")), format!("{value}\n")).map_err(io_err("writing a sysctl file"))?;
    }
    fs::write(ns.join("resolv.conf"), "nameserver 127.0.0.1\n").map_err(io_err("writing resolv.conf"))?;
    fs::write(dir.join("cni/10-loopback.conflist"), r#"{"cniVersion":"0.4.0","name":"lo","plugins":[{"type":"loopback"}]}"#)
        .map_err(io_err("writing the CNI configuration"))?;
    fs::write(dir.join("containerd.toml"), containerd_config(dir)).map_err(io_err("writing containerd.toml"))
}

/// containerd's configuration: everything under the node's directory. `restrict_oom_score_adj`
/// is required when root lacks `CAP_SYS_RESOURCE` (every sandbox fails without it).
fn containerd_config(dir: &Path) -> String {
    let d = dir.display();
    format!(
        r#"version = 2
root = "{d}/containerd/root"
state = "{d}/containerd/state"
[grpc]
  address = "{d}/containerd.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "{d}/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_IMAGE}"
  netns_mounts_under_state_dir = true
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "{d}/containerd/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{d}/cni"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "{d}/certs.d"
"#
    )
}

fn kubelet_args(dir: &Path, kubeconfig: &Path, cgroup: &str) -> Result<Vec<String>, Error> {
    let path = |name: &str| dir.join(name).display().to_string();
    Ok(crate::flags([
        ("--v", "1".into()),
        ("--kubeconfig", kubeconfig.display().to_string()),
        ("--register-node", "true".into()),
        ("--hostname-override", NODE_NAME.into()),
        ("--container-runtime", "remote".into()),
        ("--container-runtime-endpoint", format!("unix://{}", path("containerd.sock"))),
        ("--pod-infra-container-image", PAUSE_IMAGE.into()),
        ("--root-dir", path("kubelet")),
        ("--cert-dir", path("kubelet-pki")),
        ("--volume-plugin-dir", path("flexvolume")),
        ("--address", NODE_NAME.into()),
        ("--port", free_port()?.to_string()),
        ("--healthz-bind-address", NODE_NAME.into()),
        ("--healthz-port", free_port()?.to_string()),
        ("--read-only-port", "0".into()),
        ("--fail-swap-on", "false".into()),
        ("--cgroup-driver", "cgroupfs".into()),
        ("--cgroup-root", format!("/{cgroup}")),
        ("--make-iptables-util-chains", "false".into()),
        ("--resolv-conf", path("ns/resolv.conf")),
        ("--node-status-update-frequency", "1s".into()),
        // The node shares the machine's disk with everything else: the default thresholds
        // (imagefs.available<15%) taint it with disk-pressure and evict Pods, and image garbage
        // collection would delete imported images, whenever the machine's disk is busy.
        ("--eviction-hard", "memory.available<1Mi,nodefs.available<1%,nodefs.inodesFree<1%,imagefs.available<1%".into()),
        ("--image-gc-high-threshold", "100".into()),
        ("--image-gc-low-threshold", "99".into()),
    ]))
}

/// The cgroup v1 hierarchies (each mounted directory under `/sys/fs/cgroup` with a `cgroup.procs`).
fn cgroup_hierarchies() -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir("/sys/fs/cgroup") else { return Vec::new() };
    entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.join("cgroup.procs").is_file()).collect()
}

/// One cgroup root per node in every hierarchy: two kubelets sharing one clean up each other's Pods.
fn create_cgroups(name: &str) -> Result<(), Error> {
    for hierarchy in cgroup_hierarchies() {
        fs::create_dir_all(hierarchy.join(name)).map_err(io_err(format!("creating cgroup {}", hierarchy.join(name).display())))?;
    }
    Ok(())
}

/// Removes a node's cgroup directories bottom-up, once the processes in them are gone.
fn remove_cgroup_trees(name: &str) {
    for hierarchy in cgroup_hierarchies() {
        let root = hierarchy.join(name);
        let deadline = Instant::now() + Duration::from_secs(10);
        while root.exists() && !remove_tree_bottom_up(&root) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Removes the directories of a cgroup tree, children first; false if one is still busy.
fn remove_tree_bottom_up(dir: &Path) -> bool {
    let children: Vec<PathBuf> = fs::read_dir(dir).map(|e| e.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_dir()).collect()).unwrap_or_default();
    let children_gone = children.iter().all(|child| remove_tree_bottom_up(child));
    children_gone && (fs::remove_dir(dir).is_ok() || !dir.exists())
}

/// Starts a process of its own session that removes the node's cgroup directories once the test
/// process is gone: when a test is killed, no destructor runs, and the kernel removes the node's
/// processes and mounts but not its (then empty) cgroups. After a normal teardown it finds
/// nothing left to remove and ends with the test process.
fn spawn_janitor(cgroup: &str) -> Result<(), Error> {
    let script = format!(
        "while [ -d /proc/{pid} ]; do sleep 0.5; done; for attempt in 1 2 3 4 5 6 7 8 9 10; do \
         ls -d /sys/fs/cgroup/*/{cgroup} >/dev/null 2>&1 || exit 0; \
         for c in /sys/fs/cgroup/*/{cgroup}; do find \"$c\" -depth -type d -exec rmdir {{}} + 2>/dev/null; done; sleep 0.5; done",
        pid = std::process::id()
    );
    let mut command = Command::new("sh");
    command.args(["-c", &script]).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    // SAFETY: setsid is async-signal-safe; the janitor must not share the test's process group.
    unsafe {
        command.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    command.spawn().map(drop).map_err(io_err("starting the node's cgroup janitor"))
}
