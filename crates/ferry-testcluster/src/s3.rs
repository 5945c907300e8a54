//! A real S3-compatible server for tests (the archive and volume tests share it): `rclone serve s3` on a free 127.0.0.1 port, serving a
//! temporary directory (each top-level directory is a bucket), stopped by PID when dropped.
//! rclone comes from `scripts/install-s3.sh`; without it the tests fail and say so.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ferry_archive::{Destination, S3Settings};

/// The credentials the server accepts.
pub const ACCESS_KEY: &str = "ferry-test-access";
/// The secret that goes with [`ACCESS_KEY`].
pub const SECRET_KEY: &str = "ferry-test-secret-0123456789";

/// A running `rclone serve s3`.
pub struct S3Server {
    child: Option<Child>,
    root: PathBuf,
    log: PathBuf,
    endpoint: String,
    _state: Option<tempfile::TempDir>,
}

impl S3Server {
    /// Starts a server over a new temporary directory holding the bucket `ferry`.
    pub fn start() -> S3Server {
        let state = tempfile::tempdir().expect("temp dir");
        let root = state.path().join("data");
        std::fs::create_dir_all(root.join("ferry")).expect("bucket directory");
        let mut server = S3Server::serve(&root, state.path(), None);
        server._state = Some(state);
        server
    }

    /// Starts another server over the same data (after [`S3Server::kill`], say).
    pub fn restart(&self) -> S3Server {
        S3Server::serve(&self.root, self.state(), None)
    }

    /// Starts another server over the same data on this one's port (after [`S3Server::kill`]):
    /// a client that keeps retrying reaches it again, as it would a restarted store.
    pub fn restart_on_same_port(&self) -> S3Server {
        let port = self.endpoint.rsplit(':').next().and_then(|port| port.parse().ok()).expect("the endpoint has a port");
        S3Server::serve(&self.root, self.state(), Some(port))
    }

    /// The directory of rclone's configuration, cache and log.
    fn state(&self) -> &Path {
        self.log.parent().expect("state directory")
    }

    /// Starts rclone on `port`, or on a free port, retrying if another process takes it first.
    fn serve(root: &Path, state: &Path, port: Option<u16>) -> S3Server {
        let rclone = find_rclone();
        let log = state.join("rclone.log");
        for _ in 0..3 {
            let port = port.unwrap_or_else(|| crate::free_port().expect("a free port"));
            let log_file = std::fs::File::create(&log).expect("log file");
            let child = Command::new(&rclone)
                .args(["serve", "s3", "--addr", &format!("127.0.0.1:{port}"), "--auth-key", &format!("{ACCESS_KEY},{SECRET_KEY}")])
                .arg(root)
                .env("RCLONE_CONFIG", state.join("rclone.conf"))
                .env("RCLONE_CACHE_DIR", state.join("cache"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log_file)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", rclone.display()));
            let mut server =
                S3Server { child: Some(child), root: root.to_path_buf(), log: log.clone(), endpoint: format!("http://127.0.0.1:{port}"), _state: None };
            if server.wait_until_ready(port) {
                return server;
            }
            server.kill();
        }
        panic!("rclone serve s3 did not start; its log:\n{}", std::fs::read_to_string(&log).unwrap_or_default());
    }

    /// Waits until the port answers; false if rclone exits first.
    fn wait_until_ready(&mut self, port: u16) -> bool {
        let deadline = Instant::now() + Duration::from_secs(20);
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut()
                && child.try_wait().ok().flatten().is_some()
            {
                return false;
            }
            if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Settings that reach this server with the right credentials.
    pub fn settings(&self) -> S3Settings {
        self.settings_with(ACCESS_KEY, SECRET_KEY)
    }

    /// Settings that reach this server with the given credentials.
    pub fn settings_with(&self, access_key: &str, secret_key: &str) -> S3Settings {
        S3Settings {
            endpoint: Some(self.endpoint.clone()),
            region: Some("us-east-1".into()),
            access_key_id: Some(access_key.into()),
            secret_access_key: Some(secret_key.into()),
            session_token: None,
            path_style: true,
            allow_http: true,
            retry_window: None,
        }
    }

    /// The destination an `s3://` URL names on this server.
    pub fn dest(&self, url: &str) -> Destination {
        Destination::parse(url, &self.settings()).expect("s3 destination")
    }

    /// Where the server keeps an object (rclone stores `BUCKET/KEY` as a file).
    pub fn file_of(&self, bucket: &str, key: &str) -> PathBuf {
        self.root.join(bucket).join(key)
    }

    /// Stops the server at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `rclone` on `PATH`; fails the test with what to do when it is missing.
fn find_rclone() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("rclone"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("`rclone` was not found on PATH: the S3 tests need a real S3 server; run scripts/install-s3.sh"))
}
