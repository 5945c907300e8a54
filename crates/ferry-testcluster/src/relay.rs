//! A TCP relay on 127.0.0.1 for fault tests: passes connections on to an upstream server,
//! counts the bytes the server sends back, and can break one answer: the first connection
//! whose answers pass a given number of bytes is cut there (both sockets shut down), once.
//! Stopped on drop.

use std::io::{Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::accept::Acceptor;
use crate::{Error, io_err};

/// A running relay; stopped when dropped.
pub struct TestRelay {
    acceptor: Acceptor,
    shared: Arc<Shared>,
}

struct Shared {
    upstream: SocketAddr,
    returned: AtomicU64,
    cut_after: Option<u64>,
    cut: AtomicBool,
}

impl TestRelay {
    /// Relays connections to `upstream`; with `cut_after`, the first connection whose answers
    /// reach that many bytes is cut after exactly that many.
    pub fn start(upstream: SocketAddr, cut_after: Option<u64>) -> Result<TestRelay, Error> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(io_err("binding the relay"))?;
        let shared = Arc::new(Shared { upstream, returned: AtomicU64::new(0), cut_after, cut: AtomicBool::new(false) });
        let relaying = Arc::clone(&shared);
        let acceptor = Acceptor::spawn(listener, move |client| {
            if let Ok(server) = TcpStream::connect(relaying.upstream) {
                relay(client, server, &relaying);
            }
        })?;
        Ok(TestRelay { acceptor, shared })
    }

    /// Where clients connect instead of the upstream server.
    pub fn address(&self) -> SocketAddr {
        self.acceptor.address()
    }

    /// Bytes the upstream server sent back through the relay so far.
    pub fn returned(&self) -> u64 {
        self.shared.returned.load(Ordering::SeqCst)
    }

    /// Whether a connection was cut.
    pub fn was_cut(&self) -> bool {
        self.shared.cut.load(Ordering::SeqCst)
    }
}

/// Copies one connection both ways until either side closes, or until the cut.
fn relay(client: TcpStream, server: TcpStream, shared: &Shared) {
    let (Ok(mut client_in), Ok(mut server_out)) = (client.try_clone(), server.try_clone()) else { return };
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut client_in, &mut server_out);
        let _ = server_out.shutdown(Shutdown::Write);
    });
    let (mut server, mut client) = (server, client);
    let mut answered = 0u64;
    let mut buffer = vec![0u8; 64 * 1024];
    while let Ok(n @ 1..) = server.read(&mut buffer) {
        // The connection that first reaches the limit claims the one cut.
        let cut_at = shared.cut_after.filter(|&limit| answered + n as u64 >= limit && !shared.cut.swap(true, Ordering::SeqCst));
        let allowed = cut_at.map_or(n, |limit| (limit - answered) as usize);
        answered += allowed as u64;
        shared.returned.fetch_add(allowed as u64, Ordering::SeqCst);
        if client.write_all(&buffer[..allowed]).is_err() {
            break;
        }
        if cut_at.is_some() {
            let _ = (client.shutdown(Shutdown::Both), server.shutdown(Shutdown::Both));
            return;
        }
    }
    let _ = client.shutdown(Shutdown::Write);
}
