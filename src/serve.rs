//! Serving a webhook endpoint on a TCP listener with connection defences on by
//! default (feature `serve`).
//!
//! The layers defend each request; [`Server`] defends the connections around them. It
//! serves any tower service (an axum `Router`, a [`WebhookStack`](crate::WebhookStack)
//! over an `EventRouter`, tonic `Routes`) over HTTP/1.1 and HTTP/2 with
//! `hyper_util::server::conn::auto`, and sets hyper's own limits:
//!
//! | setting | default | what it does |
//! |---|---|---|
//! | [`header_read_timeout`](ServerBuilder::header_read_timeout) | 10 s | a connection that has not sent a complete request head within it is closed (a slow-headers attack, Slowloris): from its opening, and on HTTP/1 also from the end of each request while a kept-alive connection waits for its next one; one timer per connection, looked at again within the timeout, where hyper's own `header_read_timeout` would make and drop one per request |
//! | [`idle_timeout`](ServerBuilder::idle_timeout) | 60 s | a connection with no request in flight for this long is shut down gracefully (HTTP/2: `GOAWAY`); HTTP/1 keep-alive connections are closed sooner, by the header read timeout |
//! | [`max_connections`](ServerBuilder::max_connections) | 1,024 | connections open at once; at the cap the server stops accepting, and new connections wait in the listen backlog until one closes |
//! | [`http2_max_concurrent_streams`](ServerBuilder::http2_max_concurrent_streams) | 100 | requests in flight on one HTTP/2 connection |
//! | [`http2_max_pending_accept_reset_streams`](ServerBuilder::http2_max_pending_accept_reset_streams) | 20 | streams a client may open and reset before the server reads them (the HTTP/2 rapid-reset attack, CVE-2023-44487); past it, `GOAWAY` |
//! | [`http2_max_local_error_reset_streams`](ServerBuilder::http2_max_local_error_reset_streams) | 1,024 | streams the server may reset for a client's protocol errors (CVE-2025-8671); past it, `GOAWAY` |
//! | [`drain_timeout`](ServerBuilder::drain_timeout) | 30 s | at shutdown, how long requests in flight may take to finish |
//!
//! The timeouts fit together with the others a delivery meets. The header read
//! timeout bounds the request head; the signature layer's read timeout (30 s,
//! `VerifySignatureLayer::read_timeout`) starts after it and bounds the body. A sender
//! waits 5 to 30 s for an answer (most providers), then counts a failure and retries;
//! so a handler slower than the sender's timeout is retried while it runs, and the
//! drain timeout need not exceed the sender's. Keep the drain timeout below your
//! platform's kill deadline (Kubernetes sends `SIGKILL` 30 s after `SIGTERM` by
//! default: raise `terminationGracePeriodSeconds`, or lower the drain timeout).
//!
//! Shutdown is graceful: when the `shutdown` future completes the server stops
//! accepting (connections still in the backlog are refused, before any processing),
//! asks every connection to finish (HTTP/1: close after the response in flight;
//! HTTP/2: `GOAWAY`, streams already opened finish), and waits for the requests in
//! flight up to the drain timeout. A handler that ran is answered, and the idempotency
//! layer writes its record before the answer leaves. A request still running at the
//! drain timeout is cut: its sender sees a connection error and retries.
//!
//! Every request carries the peer's [`SocketAddr`] in its extensions, and with the
//! `axum` feature also axum's `ConnectInfo<SocketAddr>`: the HTTPS guard, per-IP
//! rate limits and axum's `ConnectInfo` extractor read it.
//!
//! Hand an axum `Router` over as `router.with_state(())`. Until `with_state` is
//! called, a route made with `post(handler)` is turned into a service, with every
//! layer above it, on each request; `with_state` does it once (`axum::serve` calls it
//! for each connection). Both answer alike; the cost per request is in BENCHMARKS.md
//! ("CPU per delivery in process").
//!
//! ```no_run
//! use axum::{Router, routing::post};
//!
//! # #[tokio::main]
//! # async fn main() -> std::io::Result<()> {
//! let app = Router::new().route("/webhooks", post(|| async { "ok" }));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! // The defaults above; returns after Ctrl-C or SIGTERM, once drained.
//! tower_webhook::serve::serve(listener, app.with_state(())).await;
//! # Ok(())
//! # }
//! ```
//!
//! With settings of your own, and your own shutdown signal:
//!
//! ```no_run
//! use std::time::Duration;
//! use axum::{Router, routing::post};
//! use tower_webhook::serve::{Server, shutdown_signal};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let app = Router::new().route("/webhooks", post(|| async { "ok" }));
//! let server = Server::builder()
//!     .header_read_timeout(Duration::from_secs(5))
//!     .max_connections(256)
//!     .drain_timeout(Duration::from_secs(20))
//!     .build()?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! server.serve(listener, app.with_state(()), shutdown_signal()).await;
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Request, Response, Version};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;
use tower_service::Service;

/// How long a connection may take to send a complete request head: 10 s.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a connection may stay open with no request in flight: 60 s.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Connections open at once: 1,024.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 1024;
/// Requests in flight on one HTTP/2 connection: 100.
pub const DEFAULT_HTTP2_MAX_CONCURRENT_STREAMS: u32 = 100;
/// Streams an HTTP/2 client may open and reset before the server reads them: 20.
pub const DEFAULT_HTTP2_MAX_PENDING_ACCEPT_RESET_STREAMS: usize = 20;
/// Streams the server may reset for an HTTP/2 client's errors: 1,024.
pub const DEFAULT_HTTP2_MAX_LOCAL_ERROR_RESET_STREAMS: usize = 1024;
/// How long requests in flight may take to finish at shutdown: 30 s.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A server configuration that cannot work, reported by [`ServerBuilder::build`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The setting must be above zero: a zero timeout closes every connection at
    /// once, and a zero cap serves nothing.
    Zero {
        /// The builder method of the setting.
        setting: &'static str,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Zero { setting } => write!(f, "`{setting}` must be above zero"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Serves a tower service on a TCP listener with the connection limits described in
/// the [module docs](self). Build one with [`Server::builder`], or take the defaults
/// with [`Server::default`].
#[derive(Debug, Clone)]
pub struct Server {
    settings: Settings,
}

#[derive(Debug, Clone, Copy)]
struct Settings {
    header_read_timeout: Duration,
    idle_timeout: Duration,
    max_connections: u32,
    http2_max_concurrent_streams: u32,
    http2_max_pending_accept_reset_streams: usize,
    http2_max_local_error_reset_streams: usize,
    drain_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            http2_max_concurrent_streams: DEFAULT_HTTP2_MAX_CONCURRENT_STREAMS,
            http2_max_pending_accept_reset_streams: DEFAULT_HTTP2_MAX_PENDING_ACCEPT_RESET_STREAMS,
            http2_max_local_error_reset_streams: DEFAULT_HTTP2_MAX_LOCAL_ERROR_RESET_STREAMS,
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
        }
    }
}

impl Default for Server {
    /// The defaults of the [module docs](self).
    fn default() -> Self {
        Self {
            settings: Settings::default(),
        }
    }
}

/// Configures a [`Server`]; every setting starts at its default.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct ServerBuilder {
    settings: Settings,
}

impl ServerBuilder {
    /// How long a connection may take to send a complete request head (default
    /// [`DEFAULT_HEADER_READ_TIMEOUT`]). Over HTTP/1 it also closes a kept-alive
    /// connection that sends no next request within it.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.settings.header_read_timeout = timeout;
        self
    }

    /// How long a connection may stay open with no request in flight (default
    /// [`DEFAULT_IDLE_TIMEOUT`]); then it is shut down gracefully.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.settings.idle_timeout = timeout;
        self
    }

    /// Connections open at once (default [`DEFAULT_MAX_CONNECTIONS`]). At the cap the
    /// server accepts no more until one closes: new connections wait in the
    /// listen backlog, and idle ones free their place within the timeouts.
    pub fn max_connections(mut self, max: u32) -> Self {
        self.settings.max_connections = max;
        self
    }

    /// Requests in flight on one HTTP/2 connection (default
    /// [`DEFAULT_HTTP2_MAX_CONCURRENT_STREAMS`]): hyper's `max_concurrent_streams`.
    pub fn http2_max_concurrent_streams(mut self, max: u32) -> Self {
        self.settings.http2_max_concurrent_streams = max;
        self
    }

    /// Streams an HTTP/2 client may open and reset before the server reads them
    /// (default [`DEFAULT_HTTP2_MAX_PENDING_ACCEPT_RESET_STREAMS`]): hyper's
    /// `max_pending_accept_reset_streams`, the defence against rapid reset.
    pub fn http2_max_pending_accept_reset_streams(mut self, max: usize) -> Self {
        self.settings.http2_max_pending_accept_reset_streams = max;
        self
    }

    /// Streams the server may reset for an HTTP/2 client's protocol errors (default
    /// [`DEFAULT_HTTP2_MAX_LOCAL_ERROR_RESET_STREAMS`]): hyper's
    /// `max_local_error_reset_streams`.
    pub fn http2_max_local_error_reset_streams(mut self, max: usize) -> Self {
        self.settings.http2_max_local_error_reset_streams = max;
        self
    }

    /// How long requests in flight may take to finish at shutdown (default
    /// [`DEFAULT_DRAIN_TIMEOUT`]); a request still running then is cut.
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.settings.drain_timeout = timeout;
        self
    }

    /// Checks the settings: the timeouts and caps must be above zero (the reset
    /// stream limits may be zero: no resets tolerated).
    pub fn build(self) -> Result<Server, ConfigError> {
        let settings = self.settings;
        let zero = [
            (
                "header_read_timeout",
                settings.header_read_timeout.is_zero(),
            ),
            ("idle_timeout", settings.idle_timeout.is_zero()),
            ("max_connections", settings.max_connections == 0),
            (
                "http2_max_concurrent_streams",
                settings.http2_max_concurrent_streams == 0,
            ),
            ("drain_timeout", settings.drain_timeout.is_zero()),
        ];
        match zero.into_iter().find(|(_, zero)| *zero) {
            Some((setting, _)) => Err(ConfigError::Zero { setting }),
            None => Ok(Server { settings }),
        }
    }
}

impl Server {
    /// A builder starting from the defaults.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }

    /// Serves `service` on `listener` until `shutdown` completes, then drains (see the
    /// [module docs](self)) and returns.
    ///
    /// Errors accepting a connection (out of file descriptors, a connection reset
    /// before it was accepted) are logged at `debug` and do not stop the server.
    pub async fn serve<S, B>(
        self,
        listener: TcpListener,
        service: S,
        shutdown: impl Future<Output = ()>,
    ) where
        S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: http_body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let settings = self.settings;
        let builder = Arc::new(self.connection_builder());
        let slots = Arc::new(Semaphore::new(settings.max_connections as usize));
        // `Some(deadline)` once shutdown starts: every connection finishes by then.
        let (drain, draining) = watch::channel(None::<Instant>);
        tokio::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                biased;
                () = &mut shutdown => break,
                accepted = accept(&listener, &slots) => accepted,
            };
            let Some((stream, peer, slot)) = accepted else {
                continue;
            };
            let connection = Connection {
                builder: builder.clone(),
                settings,
                draining: draining.clone(),
                _slot: slot,
            };
            tokio::spawn(connection.run(stream, peer, service.clone()));
        }
        // Refuse what waits in the backlog: none of it was read.
        drop(listener);
        let open = settings.max_connections as usize - slots.available_permits();
        tracing::info!(
            connections = open,
            "shutting down: no longer accepting; draining the connections"
        );
        let deadline = Instant::now() + settings.drain_timeout;
        let _ = drain.send(Some(deadline));
        // Every connection holds a slot until it ends.
        let all = slots.acquire_many(settings.max_connections);
        if tokio::time::timeout_at(deadline, all).await.is_err() {
            let open = settings.max_connections as usize - slots.available_permits();
            tracing::warn!(
                connections = open,
                "drain timeout: cutting the connections still open"
            );
        }
    }

    fn connection_builder(&self) -> auto::Builder<TokioExecutor> {
        let settings = &self.settings;
        // HTTP/1's header read timeout is the connection's own timer (`Connection::run`):
        // hyper's makes and drops a timer for every request on a kept-alive connection.
        // Without a timer, hyper applies none of its own.
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_concurrent_streams(settings.http2_max_concurrent_streams)
            .max_pending_accept_reset_streams(settings.http2_max_pending_accept_reset_streams)
            .max_local_error_reset_streams(settings.http2_max_local_error_reset_streams);
        builder
    }
}

/// Serves `service` on `listener` with the [`Server`] defaults until Ctrl-C or
/// `SIGTERM` ([`shutdown_signal`]), then drains and returns.
pub async fn serve<S, B>(listener: TcpListener, service: S)
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    Server::default()
        .serve(listener, service, shutdown_signal())
        .await;
}

/// Completes on Ctrl-C (`SIGINT`) or, on Unix, `SIGTERM` (what Kubernetes, Docker
/// and systemd send to stop a service). A signal whose handler cannot be installed
/// is not waited for.
pub async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                terminate.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

/// Waits for a free slot, then for a connection. `None` when accepting failed.
async fn accept(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
) -> Option<(TcpStream, SocketAddr, OwnedSemaphorePermit)> {
    let slot = slots
        .clone()
        .acquire_owned()
        .await
        .expect("the semaphore is never closed");
    match listener.accept().await {
        Ok((stream, peer)) => Some((stream, peer, slot)),
        Err(error) => {
            tracing::debug!(%error, "accepting a connection failed");
            // Out of file descriptors and the like: give connections time to close.
            if !matches!(
                error.kind(),
                std::io::ErrorKind::ConnectionAborted | std::io::ErrorKind::ConnectionReset
            ) {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            None
        }
    }
}

/// One accepted connection, holding its slot until it ends.
struct Connection {
    builder: Arc<auto::Builder<TokioExecutor>>,
    settings: Settings,
    draining: watch::Receiver<Option<Instant>>,
    _slot: OwnedSemaphorePermit,
}

impl Connection {
    async fn run<S, B>(mut self, stream: TcpStream, peer: SocketAddr, service: S)
    where
        S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: http_body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        // Webhook answers are small: send them without waiting for more.
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        let service = PeerService {
            inner: service,
            peer,
            activity: activity.clone(),
        };
        let connection = self.builder.serve_connection(TokioIo::new(stream), service);
        tokio::pin!(connection);
        let settings = self.settings;
        let mut check = Instant::now() + settings.header_read_timeout;
        let finish_by = loop {
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        tracing::debug!(%peer, %error, "connection ended with an error");
                    }
                    return;
                }
                drain = self.draining.wait_for(Option::is_some) => {
                    // The sender lives as long as the server: an error cannot happen
                    // while connections run, and ends the connection at once if it does.
                    break drain.ok().and_then(|deadline| *deadline).unwrap_or_else(Instant::now);
                }
                () = tokio::time::sleep_until(check) => {
                    let now = Instant::now();
                    match activity.idle_until(&settings) {
                        // Looked at again within the header read timeout, so that
                        // an HTTP/1 connection gone idle meanwhile is closed on time.
                        None => check = now + settings.header_read_timeout,
                        Some((until, _)) if until > now => check = until,
                        Some((_, Wait::Head)) => {
                            // As hyper does: a head not complete in time ends the
                            // connection; no request is in flight on it.
                            tracing::debug!(%peer, "closing a connection: no complete request head within the header read timeout");
                            return;
                        }
                        Some((_, Wait::Idle)) => {
                            tracing::debug!(%peer, "closing an idle connection");
                            break now + settings.header_read_timeout;
                        }
                    }
                }
            }
        };
        connection.as_mut().graceful_shutdown();
        if tokio::time::timeout_at(finish_by, connection)
            .await
            .is_err()
        {
            tracing::debug!(%peer, "connection cut: it did not finish in time");
        }
    }
}

/// Requests in flight on one connection (answers being sent included), and since
/// when it has none.
#[derive(Debug)]
struct Activity {
    in_flight: AtomicUsize,
    idle: Mutex<Idle>,
}

#[derive(Debug, Clone, Copy)]
struct Idle {
    since: Instant,
    /// Whether a request ever started on the connection.
    served: bool,
    /// Whether it speaks HTTP/2 (known from its first request).
    http2: bool,
}

/// What an idle connection waits for, and so which timeout applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// A request head: before the first request, and between requests on HTTP/1.
    Head,
    /// A new stream on an HTTP/2 connection that served one.
    Idle,
}

impl Activity {
    fn new() -> Self {
        Self {
            in_flight: AtomicUsize::new(0),
            idle: Mutex::new(Idle {
                since: Instant::now(),
                served: false,
                http2: false,
            }),
        }
    }

    /// When the connection has waited too long, and for what; `None` while a
    /// request is in flight.
    fn idle_until(&self, settings: &Settings) -> Option<(Instant, Wait)> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let idle = *self
            .idle
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        Some(if idle.served && idle.http2 {
            (idle.since + settings.idle_timeout, Wait::Idle)
        } else {
            (idle.since + settings.header_read_timeout, Wait::Head)
        })
    }

    fn start(self: &Arc<Self>, version: Version) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        idle.served = true;
        idle.http2 = version == Version::HTTP_2;
        InFlight(self.clone())
    }
}

/// One request in flight, from its complete head until its response is sent; the
/// connection is idle again when the last one drops.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0
                .idle
                .lock()
                .unwrap_or_else(|poison| poison.into_inner())
                .since = Instant::now();
        }
    }
}

/// The service as hyper calls it: records the peer address in the request and
/// counts the request in flight until its response is sent.
struct PeerService<S> {
    inner: S,
    peer: SocketAddr,
    activity: Arc<Activity>,
}

type ResponseFuture<B, E> =
    Pin<Box<dyn Future<Output = Result<Response<SendingBody<B>>, E>> + Send>>;

impl<S, B> hyper::service::Service<Request<Incoming>> for PeerService<S>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response<SendingBody<B>>;
    type Error = S::Error;
    type Future = ResponseFuture<B, S::Error>;

    fn call(&self, mut request: Request<Incoming>) -> Self::Future {
        request.extensions_mut().insert(self.peer);
        #[cfg(feature = "axum")]
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(self.peer));
        let in_flight = self.activity.start(request.version());
        let mut service = self.inner.clone();
        Box::pin(async move {
            std::future::poll_fn(|cx| service.poll_ready(cx)).await?;
            let response = service.call(request).await?;
            Ok(response.map(|body| SendingBody {
                inner: body,
                _in_flight: in_flight,
            }))
        })
    }
}

pin_project_lite::pin_project! {
    /// A response body being sent: its request stays in flight until hyper drops
    /// it, once sent or when the connection ends, so that a long response (a slow
    /// reader, a stream) is never taken for an idle connection.
    struct SendingBody<B> {
        #[pin]
        inner: B,
        _in_flight: InFlight,
    }
}

impl<B: http_body::Body> http_body::Body for SendingBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<B::Data>, B::Error>>> {
        self.project().inner.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
