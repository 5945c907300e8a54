//! A TCP relay on 127.0.0.1 that delays every byte by a fixed time in each direction: the
//! network between a client and a remote API server, for clients that talk to the same
//! local server. TLS passes through untouched (the server's certificate names 127.0.0.1).
//!
//! Bytes are held back, not throttled: a chunk read at time t is written at t + delay, in
//! order, so the relay adds latency without limiting throughput. With no delay it is a
//! plain relay that counts the bytes each way (what a client sent to a server).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// A running relay; it stops with the process.
pub struct DelayRelay {
    /// Where clients connect instead of the server.
    pub address: SocketAddr,
    /// Bytes clients sent to the server so far.
    pub sent: Arc<AtomicU64>,
}

impl DelayRelay {
    /// Relays connections to `upstream`, each direction delayed by `one_way`, on its own thread.
    pub fn start(upstream: SocketAddr, one_way: Duration) -> DelayRelay {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("relay port");
        let address = listener.local_addr().expect("relay address");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let sent = Arc::new(AtomicU64::new(0));
        let counter = sent.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("relay runtime");
            runtime.block_on(async move { accept(TcpListener::from_std(listener).expect("relay listener"), upstream, one_way, counter).await });
        });
        DelayRelay { address, sent }
    }
}

async fn accept(listener: TcpListener, upstream: SocketAddr, one_way: Duration, sent: Arc<AtomicU64>) {
    while let Ok((client, _)) = listener.accept().await {
        let sent = sent.clone();
        tokio::spawn(async move {
            let Ok(server) = TcpStream::connect(upstream).await else { return };
            let _ = (client.set_nodelay(true), server.set_nodelay(true));
            let (client_read, client_write) = client.into_split();
            let (server_read, server_write) = server.into_split();
            tokio::join!(pipe(client_read, server_write, one_way, Some(sent)), pipe(server_read, client_write, one_way, None));
        });
    }
}

/// Copies one direction, each chunk written `delay` after it was read; counts what it read into `count`.
async fn pipe(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, delay: Duration, count: Option<Arc<AtomicU64>>) {
    let (sender, mut receiver) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let reader = async move {
        let mut buffer = vec![0u8; 64 * 1024];
        while let Ok(n @ 1..) = from.read(&mut buffer).await {
            if let Some(count) = &count {
                count.fetch_add(n as u64, Ordering::Relaxed);
            }
            if sender.send((Instant::now() + delay, buffer[..n].to_vec())).is_err() {
                break;
            }
        }
    };
    let writer = async move {
        while let Some((due, chunk)) = receiver.recv().await {
            tokio::time::sleep_until(due).await;
            if to.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(reader, writer);
}
