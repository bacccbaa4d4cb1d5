//! A proxy in front of 127.0.0.1:5432 that counts what the client sends.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The client's messages so far, over every connection through the proxy.
#[derive(Debug, Default)]
pub struct WireCount {
    /// `Execute` (extended protocol) and `Query` (simple protocol) messages: statements.
    pub statements: AtomicUsize,
    /// `Sync` and `Query` messages: each makes the client wait for the server's
    /// `ReadyForQuery`, one round trip. A statement is one; so is a pool's ping (a bare
    /// `Sync`).
    pub round_trips: AtomicUsize,
}

impl WireCount {
    /// Statements and round trips so far.
    pub fn read(&self) -> (usize, usize) {
        (
            self.statements.load(Ordering::SeqCst),
            self.round_trips.load(Ordering::SeqCst),
        )
    }
}

/// Listens on a free port, forwards to 127.0.0.1:5432 and counts.
pub async fn counting_proxy() -> (u16, Arc<WireCount>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(WireCount::default());
    let counter = count.clone();
    tokio::spawn(async move {
        loop {
            let (client, _) = listener.accept().await.unwrap();
            let server = TcpStream::connect("127.0.0.1:5432").await.unwrap();
            let counter = counter.clone();
            tokio::spawn(forward(client, server, counter));
        }
    });
    (port, count)
}

async fn forward(client: TcpStream, server: TcpStream, count: Arc<WireCount>) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    tokio::spawn(async move {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
    });
    let mut pending = Vec::new();
    let mut started = false;
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let Ok(read) = client_read.read(&mut chunk).await else {
            return;
        };
        if read == 0 || server_write.write_all(&chunk[..read]).await.is_err() {
            return;
        }
        pending.extend_from_slice(&chunk[..read]);
        // Frames: untyped (length, payload) until the startup message, then typed.
        loop {
            let header = if started { 5 } else { 4 };
            if pending.len() < header {
                break;
            }
            let at = header - 4;
            let len = u32::from_be_bytes(pending[at..at + 4].try_into().unwrap()) as usize;
            if pending.len() < at + len {
                break;
            }
            if started {
                if matches!(pending[0], b'E' | b'Q') {
                    count.statements.fetch_add(1, Ordering::SeqCst);
                }
                if matches!(pending[0], b'S' | b'Q') {
                    count.round_trips.fetch_add(1, Ordering::SeqCst);
                }
            } else {
                let code = u32::from_be_bytes(pending[4..8].try_into().unwrap());
                // Anything but an SSL or GSS encryption request is the startup message.
                started = !matches!(code, 80_877_103 | 80_877_104);
            }
            pending.drain(..at + len);
        }
    }
}
