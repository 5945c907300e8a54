//! A TCP relay on 127.0.0.1 for fault tests: passes connections on to an upstream server,
//! counts the bytes the server sends back, and can break one connection: the first whose
//! answers (or requests) pass a given number of bytes is cut there (both sockets shut down),
//! once. Stopped on drop.

use std::io::{Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::accept::Acceptor;
use crate::{Error, io_err};

/// Where a relay breaks one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// After this many bytes of one connection's answers (a download breaks).
    Answers(u64),
    /// After this many bytes of one connection's requests (an upload breaks).
    Requests(u64),
}

/// A running relay; stopped when dropped.
pub struct TestRelay {
    acceptor: Acceptor,
    shared: Arc<Shared>,
}

struct Shared {
    upstream: SocketAddr,
    returned: AtomicU64,
    cut_at: Option<Cut>,
    cut: AtomicBool,
}

impl TestRelay {
    /// Relays connections to `upstream`; with `cut_at`, the first connection whose answers or
    /// requests reach that many bytes is cut after exactly that many.
    pub fn start(upstream: SocketAddr, cut_at: Option<Cut>) -> Result<TestRelay, Error> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(io_err("binding the relay"))?;
        let shared = Arc::new(Shared { upstream, returned: AtomicU64::new(0), cut_at, cut: AtomicBool::new(false) });
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
fn relay(client: TcpStream, server: TcpStream, shared: &Arc<Shared>) {
    let (Ok(client_in), Ok(server_out)) = (client.try_clone(), server.try_clone()) else { return };
    let requests = Arc::clone(shared);
    let (request_limit, answer_limit) = match shared.cut_at {
        Some(Cut::Requests(n)) => (Some(n), None),
        Some(Cut::Answers(n)) => (None, Some(n)),
        None => (None, None),
    };
    std::thread::spawn(move || pass(client_in, server_out, request_limit, &requests, None));
    pass(server, client, answer_limit, shared, Some(&shared.returned));
}

/// Copies `from` into `to` until `from` ends, or until `limit` bytes if this connection claims
/// the relay's one cut (then both sockets are shut down); `counted` adds up what passed.
fn pass(mut from: TcpStream, mut to: TcpStream, limit: Option<u64>, shared: &Shared, counted: Option<&AtomicU64>) {
    let mut passed = 0u64;
    let mut buffer = vec![0u8; 64 * 1024];
    while let Ok(n @ 1..) = from.read(&mut buffer) {
        // The connection that first reaches the limit claims the one cut.
        let cut_at = limit.filter(|&limit| passed + n as u64 >= limit && !shared.cut.swap(true, Ordering::SeqCst));
        let allowed = cut_at.map_or(n, |limit| (limit - passed) as usize);
        passed += allowed as u64;
        if let Some(counted) = counted {
            counted.fetch_add(allowed as u64, Ordering::SeqCst);
        }
        if to.write_all(&buffer[..allowed]).is_err() {
            break;
        }
        if cut_at.is_some() {
            let _ = (to.shutdown(Shutdown::Both), from.shutdown(Shutdown::Both));
            return;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
