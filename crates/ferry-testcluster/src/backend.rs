//! A tiny HTTP server standing for one side of a cut-over (the old or the new cluster's
//! ingress): answers every request with `200 ok <name>` until its health is flipped to 500;
//! counts what it served; stopped on drop. Bind it on any 127.0.0.0/8 address.

use std::io::{Read as _, Write as _};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::time::Duration;

use crate::accept::Acceptor;
use crate::{Error, io_err};

/// A running backend; stopped when dropped.
pub struct TestBackend {
    acceptor: Acceptor,
    shared: Arc<Shared>,
}

struct Shared {
    name: String,
    status: AtomicU16,
    served: AtomicU64,
}

impl TestBackend {
    /// Starts a backend named `name` on a free port of `ip` (e.g. 127.0.0.2).
    pub fn start(name: &str, ip: IpAddr) -> Result<TestBackend, Error> {
        let listener = TcpListener::bind((ip, 0)).map_err(io_err(format!("binding a backend on {ip}")))?;
        let shared = Arc::new(Shared { name: name.to_owned(), status: AtomicU16::new(200), served: AtomicU64::new(0) });
        let serving = Arc::clone(&shared);
        let acceptor = Acceptor::spawn(listener, move |stream| serve(stream, &serving))?;
        Ok(TestBackend { acceptor, shared })
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.acceptor.address()
    }

    /// Makes every later answer carry `status` (e.g. 500 for an unhealthy side).
    pub fn set_status(&self, status: u16) {
        self.shared.status.store(status, Ordering::SeqCst);
    }

    /// Requests answered so far.
    pub fn served(&self) -> u64 {
        self.shared.served.load(Ordering::SeqCst)
    }
}

/// Answers the requests of one connection (keep-alive), each with the current status.
fn serve(mut stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut pending = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&pending[..end]).to_ascii_lowercase();
            pending.drain(..end + 4);
            let status = shared.status.load(Ordering::SeqCst);
            shared.served.fetch_add(1, Ordering::SeqCst);
            let body = format!("{} {}\n", if status == 200 { "ok" } else { "failing" }, shared.name);
            let close = head.contains("connection: close") || head.contains("http/1.0");
            let answer = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: {}\r\n\r\n{body}",
                body.len(),
                if close { "close" } else { "keep-alive" }
            );
            if stream.write_all(answer.as_bytes()).is_err() || close {
                return;
            }
        }
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => pending.extend_from_slice(&buffer[..n]),
        }
    }
}

/// A load generator: threads sending `GET /` (HTTP/1.0, one connection per request) to one
/// address, each pausing between requests, until finished.
pub struct TestLoad {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    started: std::time::Instant,
    threads: Vec<std::thread::JoinHandle<()>>,
}

/// What a [`TestLoad`] saw.
#[derive(Debug, Clone, Copy)]
pub struct LoadResult {
    /// Answers with status 200.
    pub ok: u64,
    /// Other answers, refused or reset connections, timeouts.
    pub failed: u64,
    /// How long the load ran.
    pub elapsed: Duration,
}

impl TestLoad {
    /// Starts `threads` threads against `address`, each pausing `pause` between requests.
    pub fn start(address: SocketAddr, threads: usize, pause: Duration) -> TestLoad {
        let (stop, ok, failed) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let threads = (0..threads)
            .map(|_| {
                let (stop, ok, failed) = (Arc::clone(&stop), Arc::clone(&ok), Arc::clone(&failed));
                std::thread::spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        let healthy = get(address).is_some_and(|a| a.starts_with("HTTP/1.1 200") || a.starts_with("HTTP/1.0 200"));
                        (if healthy { &ok } else { &failed }).fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(pause);
                    }
                })
            })
            .collect();
        TestLoad { stop, ok, failed, started: std::time::Instant::now(), threads }
    }

    /// Stops the threads and returns the counts.
    pub fn finish(self) -> LoadResult {
        self.stop.store(true, Ordering::SeqCst);
        let elapsed = self.started.elapsed();
        self.threads.into_iter().for_each(|t| t.join().unwrap_or_default());
        LoadResult { ok: self.ok.load(Ordering::SeqCst), failed: self.failed.load(Ordering::SeqCst), elapsed }
    }
}

/// One `GET /` over its own connection; the whole answer.
fn get(address: SocketAddr) -> Option<String> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream.write_all(b"GET / HTTP/1.0\r\nHost: shop.cutover.test\r\n\r\n").ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    Some(answer)
}
