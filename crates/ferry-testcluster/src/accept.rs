//! The accept loop the small loopback servers share (backend, relay, webhook): each
//! connection is handed to its own thread until the server is dropped.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::{Error, io_err};

/// Accepts connections on a listener and serves each on a thread; stops when dropped.
pub(crate) struct Acceptor {
    address: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl Acceptor {
    /// Serves every connection `listener` accepts with `serve`, each on its own thread.
    pub(crate) fn spawn(listener: TcpListener, serve: impl Fn(TcpStream) + Send + Sync + 'static) -> Result<Acceptor, Error> {
        let address = listener.local_addr().map_err(io_err("reading a test server's address"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let serve = Arc::new(serve);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let serving = Arc::clone(&serve);
                std::thread::spawn(move || serving(stream));
            }
        });
        Ok(Acceptor { address, stop })
    }

    /// Where it listens.
    pub(crate) fn address(&self) -> SocketAddr {
        self.address
    }
}

impl Drop for Acceptor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accepting thread so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.address, Duration::from_secs(1));
    }
}
