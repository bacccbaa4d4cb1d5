//! A real loopback server for an axum router (feature `axum`).

use std::io;
use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// An axum router served by `axum::serve` on `127.0.0.1` at a free port, for tests
/// that need a real socket (a CLI, an HTTP client, another process). The server stops
/// when this is dropped.
///
/// ```
/// use axum::{Router, routing::post};
/// use webhook_testing::TestServer;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let app = Router::new().route("/webhooks", post(|| async { "ok" }));
/// let server = TestServer::spawn(app).await.unwrap();
/// assert!(server.url("/webhooks").starts_with("http://127.0.0.1:"));
/// assert_ne!(server.addr().port(), 0);
/// # }
/// ```
#[derive(Debug)]
pub struct TestServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl TestServer {
    /// Binds `127.0.0.1:0` and serves `router` on the current tokio runtime.
    pub async fn spawn(router: axum::Router) -> io::Result<Self> {
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            // `serve` only returns on an accept error it cannot recover from.
            let _ = axum::serve(listener, router).await;
        });
        Ok(Self { addr, task })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
