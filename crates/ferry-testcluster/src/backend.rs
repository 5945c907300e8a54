//! A tiny HTTP server standing for one side of a cut-over (the old or the new cluster's
//! ingress): answers every request with `200 ok <name>` until its health is flipped to 500;
//! counts what it served; stopped on drop. Bind it on any 127.0.0.0/8 address.

use std::io::{Read as _, Write as _};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::time::Duration;

use crate::{Error, io_err};

/// A running backend; stopped when dropped.
pub struct TestBackend {
    address: SocketAddr,
    shared: Arc<Shared>,
}

struct Shared {
    name: String,
    status: AtomicU16,
    served: AtomicU64,
    stop: AtomicBool,
}

impl TestBackend {
    /// Starts a backend named `name` on a free port of `ip` (e.g. 127.0.0.2).
    pub fn start(name: &str, ip: IpAddr) -> Result<TestBackend, Error> {
        let listener = TcpListener::bind((ip, 0)).map_err(io_err(format!("binding a backend on {ip}")))?;
        let address = listener.local_addr().map_err(io_err("reading the backend's address"))?;
        let shared = Arc::new(Shared {
            name: name.to_owned(),
            status: AtomicU16::new(200),
            served: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        });
        let accepting = Arc::clone(&shared);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accepting.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let serving = Arc::clone(&accepting);
                std::thread::spawn(move || serve(stream, &serving));
            }
        });
        Ok(TestBackend { address, shared })
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
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

impl Drop for TestBackend {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wakes the accepting thread so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.address, Duration::from_secs(1));
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
