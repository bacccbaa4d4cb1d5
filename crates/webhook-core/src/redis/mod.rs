//! One Redis connection for every Redis backend (feature `redis`).
//!
//! The idempotency store, the queue, the rate limiter and the ordering guard all take a
//! [`RedisConnection`] the same way: `Backend::builder(connection)`, then
//! `.key_prefix(..)` and `.build()`. Open one and hand clones of it to each of them:
//! clones share one multiplexed connection, so a receiver that uses all four keeps one
//! socket to Redis.
//!
//! ```no_run
//! use std::time::Duration;
//! use webhook_core::redis::RedisConnection;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let connection = RedisConnection::builder("redis://127.0.0.1:6379/")
//!     .operation_timeout(Duration::from_secs(1))
//!     .connect()
//!     .await?;
//! connection.ping().await?;
//! // RedisStore::builder(connection.clone()), RedisQueue::builder(connection.clone()), ...
//! # Ok(())
//! # }
//! ```
//!
//! The connection owns what is the same for every backend:
//!
//! - **Reconnection**: a single server is reached through the `redis` crate's
//!   `ConnectionManager` (one multiplexed connection, reconnected in the background
//!   after a failure, at most 1 s apart); a Redis Cluster (feature `redis-cluster`)
//!   through its cluster connection (slot map refreshed on `MOVED`).
//! - **The operation timeout**: how long one backend call may take, waiting for a
//!   reconnection included ([`DEFAULT_OPERATION_TIMEOUT`]). It is also the connection
//!   and response timeout of the underlying connection. A backend may set a shorter one
//!   of its own with its builder's `operation_timeout`.
//! - **What a failure means**: [`RedisError`] classifies each failure as a timeout,
//!   Redis being unavailable, or anything else ([`RedisErrorKind`]); each backend maps
//!   that into its own error type.
//!
//! - **Failing fast while Redis is down**: a circuit breaker, below.
//!
//! Its `Debug` never shows the URL, which may hold a password.
//!
//! # When Redis is down: the breaker
//!
//! Every call of every clone goes through one breaker, shared like the connection. It
//! has two states:
//!
//! - **Closed** (Redis answers): calls go to Redis. A call *fails* when it ends in a
//!   connection error (refused, dropped, I/O) or a timeout, or when its caller gives up
//!   on it after waiting [`ABANDONED_AFTER`] or more (a backend's own, shorter
//!   operation timeout). A call that gets an answer, an error reply included, resets the
//!   count. The healthy path costs no round trip and no lock, only two atomic loads.
//! - **Open** (Redis known to be down): after [`FAILURES_TO_OPEN`] failed calls in a
//!   row, every call (and [`ping`](RedisConnection::ping),
//!   [`open_dedicated`](RedisConnection::open_dedicated)) fails at once with
//!   [`RedisErrorKind::Unavailable`], which each backend turns into its usual answer
//!   (the layers' 503 with `Retry-After`), instead of waiting for the operation timeout.
//!   A background task sends `PING` every [`PROBE_INTERVAL`] (each within the
//!   operation timeout, through the same connection, so it also drives the
//!   reconnection); the first answer closes the breaker.
//!
//! So during an outage the first calls wait for their timeout, and the following ones
//! fail within microseconds. When Redis comes back, the reconnection (at most 1 s
//! between attempts) and the next probe close the breaker within about 1.3 s. The
//! breaker sees the connection as a whole: on a Redis Cluster, answers from the healthy
//! nodes keep it closed, and the probe's `PING` needs every master.
//!
//! # Redis over TLS
//!
//! With the feature `redis-tls`, a `rediss://host:port/` URL connects over TLS
//! (rustls), as managed Redis services with in-transit encryption require; every
//! backend, and a Redis Cluster whose node URLs are `rediss://`, then talks TLS. The
//! server's certificate must be valid for the URL's host and signed by a trusted
//! authority: the system's roots, or the PEM certificates given to
//! [`tls_root_ca`](RedisConnectionBuilder::tls_root_ca). A server that asks for a
//! client certificate gets the one given to
//! [`tls_client_cert`](RedisConnectionBuilder::tls_client_cert):
//!
//! ```no_run
//! # #[cfg(feature = "redis-tls")]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use webhook_core::redis::RedisConnection;
//!
//! let connection = RedisConnection::builder("rediss://redis.internal:6380/")
//!     .tls_root_ca(std::fs::read("/etc/redis-tls/ca.pem")?)
//!     .tls_client_cert(
//!         std::fs::read("/etc/redis-tls/client.pem")?,
//!         std::fs::read("/etc/redis-tls/client.key")?,
//!     )
//!     .connect()
//!     .await?;
//! # drop(connection);
//! # Ok(())
//! # }
//! ```
//!
//! Certificates are checked when the connection is made, so a server that cannot be
//! trusted fails [`connect`](RedisConnectionBuilder::connect), with the reason
//! (`cannot connect to Redis: invalid peer certificate: UnknownIssuer`) once the
//! connection attempts are used up: a receiver that opens its connection before it
//! listens never answers a delivery without its Redis backends. Host-name checks
//! cannot be turned off (the URL's `#insecure` is refused). The private key is kept
//! out of `Debug` and logs. Without a default rustls crypto provider installed in the
//! process, connecting installs ring's.
//!
//! # Redis Sentinel
//!
//! Sentinel is not supported: a [`RedisConnection`] goes to one server or one
//! cluster. With Sentinel-managed Redis, point the URL at an address that follows the
//! master (a proxy such as HAProxy checking `role:master`, or the service's
//! primary endpoint), or run Redis Cluster, whose failover the cluster connection
//! follows. During a failover, operations fail as [`RedisErrorKind::Unavailable`] or
//! time out, and the backends answer as they do when Redis is down.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use redis::aio::{
    ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection,
};
use redis::{AsyncConnectionConfig, Cmd, Pipeline, RedisFuture, Value};

mod breaker;
mod error;
#[cfg(feature = "redis-tls")]
mod tls;

use breaker::{Shared, watched};
pub use error::{RedisError, RedisErrorKind};
#[cfg(feature = "redis-tls")]
use tls::{RedisTls, ensure_crypto_provider};

/// The default time one operation may take, waiting for a reconnection included:
/// 2 seconds.
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(2);

/// The longest pause between two reconnection attempts of a single-server connection.
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// How many times the first connection may take the operation timeout.
const CONNECT_TIMEOUTS: u32 = 4;

/// How many failed calls in a row open the breaker: 3 (see the
/// [module docs](self#when-redis-is-down-the-breaker)).
pub const FAILURES_TO_OPEN: u32 = 3;

/// How often the open breaker's probe sends `PING`: every 250 ms.
pub const PROBE_INTERVAL: Duration = Duration::from_millis(250);

/// A call its caller drops after waiting this long counts as failed: 100 ms, well
/// above a healthy answer, so a sender hanging up does not count.
pub const ABANDONED_AFTER: Duration = Duration::from_millis(100);

/// A connection to a Redis server (or a Redis Cluster, feature `redis-cluster`),
/// shared by the Redis backends: see the [module docs](self).
///
/// Cloning is cheap: clones share one multiplexed connection, and a failure on it is
/// repaired for all of them. It implements the `redis` crate's
/// [`ConnectionLike`], so commands and scripts run on it directly.
#[derive(Clone)]
pub struct RedisConnection {
    connection: Connection,
    shared: Arc<Shared>,
}

#[derive(Clone)]
enum Connection {
    Single(ConnectionManager),
    #[cfg(feature = "redis-cluster")]
    Cluster(redis::cluster_async::ClusterConnection),
}

/// Builds a [`RedisConnection`]: see [`RedisConnection::builder`].
#[must_use]
pub struct RedisConnectionBuilder {
    target: Target,
    operation_timeout: Duration,
    #[cfg(feature = "redis-tls")]
    tls: RedisTls,
}

enum Target {
    Single(String),
    #[cfg(feature = "redis-cluster")]
    Cluster(Vec<String>),
}

impl RedisConnection {
    /// Connects to the Redis server at `url` (`redis://[:password@]host:port/[db]`) with
    /// the default operation timeout.
    pub async fn connect(url: impl Into<String>) -> Result<Self, RedisError> {
        Self::builder(url).connect().await
    }

    /// A connection to the Redis server at `url` (`redis://[:password@]host:port/[db]`).
    pub fn builder(url: impl Into<String>) -> RedisConnectionBuilder {
        RedisConnectionBuilder {
            target: Target::Single(url.into()),
            operation_timeout: DEFAULT_OPERATION_TIMEOUT,
            #[cfg(feature = "redis-tls")]
            tls: RedisTls::default(),
        }
    }

    /// A connection to the Redis Cluster reachable through any of `nodes` (URLs); the
    /// others are discovered.
    #[cfg(feature = "redis-cluster")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis-cluster")))]
    pub fn cluster<I>(nodes: I) -> RedisConnectionBuilder
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        RedisConnectionBuilder {
            target: Target::Cluster(nodes.into_iter().map(Into::into).collect()),
            operation_timeout: DEFAULT_OPERATION_TIMEOUT,
            #[cfg(feature = "redis-tls")]
            tls: RedisTls::default(),
        }
    }

    /// How long one operation may take: the backends' default.
    pub fn operation_timeout(&self) -> Duration {
        self.shared.operation_timeout
    }

    /// Whether the connection is to a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        match self.connection {
            Connection::Single(_) => false,
            #[cfg(feature = "redis-cluster")]
            Connection::Cluster(_) => true,
        }
    }

    /// Sends `PING` and waits for the answer within the operation timeout: a health
    /// check.
    pub async fn ping(&self) -> Result<(), RedisError> {
        let mut connection = self.clone();
        let ping = redis::cmd("PING");
        let _: String = within(
            self.operation_timeout(),
            "PING",
            ping.query_async(&mut connection),
        )
        .await?;
        Ok(())
    }

    /// Opens a connection of its own to the server, for a blocking command (such as
    /// `XREADGROUP ... BLOCK`) that would hold up every other user of the shared one.
    ///
    /// Its connection timeout is the operation timeout, and its response timeout
    /// `response_timeout`. Fails on a Redis Cluster, where a blocking command must go to
    /// the node owning its key.
    pub async fn open_dedicated(
        &self,
        response_timeout: Duration,
    ) -> Result<MultiplexedConnection, RedisError> {
        let Some(client) = &self.shared.client else {
            return Err(RedisError::new(
                RedisErrorKind::Other,
                "a dedicated connection needs a single Redis server, not a cluster",
            ));
        };
        if let Some(refusal) = self.shared.refusal() {
            return Err(refusal.into());
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.operation_timeout()))
            .set_response_timeout(Some(response_timeout));
        within(
            self.operation_timeout(),
            "a new connection",
            client.get_multiplexed_async_connection_with_config(&config),
        )
        .await
    }
}

/// Waits for `call` at most `timeout`: a [`RedisErrorKind::Timeout`] naming `what`
/// after that, and the call's own error [classified](RedisError#classification)
/// otherwise.
pub async fn within<T>(
    timeout: Duration,
    what: &str,
    call: impl Future<Output = redis::RedisResult<T>>,
) -> Result<T, RedisError> {
    match tokio::time::timeout(timeout, call).await {
        Ok(result) => result.map_err(RedisError::from),
        Err(_elapsed) => Err(RedisError::new(
            RedisErrorKind::Timeout,
            format!("no answer from Redis to {what} within {timeout:?}"),
        )),
    }
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        if let Some(refusal) = self.shared.refusal() {
            return Box::pin(std::future::ready(Err(refusal)));
        }
        watched(&self.shared, self.connection.req_packed_command(cmd))
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        if let Some(refusal) = self.shared.refusal() {
            return Box::pin(std::future::ready(Err(refusal)));
        }
        let call = self.connection.req_packed_commands(pipeline, offset, count);
        watched(&self.shared, call)
    }

    fn get_db(&self) -> i64 {
        self.connection.get_db()
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Connection::Single(manager) => manager.req_packed_command(cmd),
            #[cfg(feature = "redis-cluster")]
            Connection::Cluster(cluster) => cluster.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Connection::Single(manager) => manager.req_packed_commands(pipeline, offset, count),
            #[cfg(feature = "redis-cluster")]
            Connection::Cluster(cluster) => cluster.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Single(manager) => manager.get_db(),
            #[cfg(feature = "redis-cluster")]
            Connection::Cluster(cluster) => cluster.get_db(),
        }
    }
}

impl RedisConnectionBuilder {
    /// How long one operation may take before it fails with
    /// [`RedisErrorKind::Timeout`] (default [`DEFAULT_OPERATION_TIMEOUT`]); also the
    /// connection and response timeouts of the underlying connection.
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }

    /// Trusts the certificate authorities in `pem` (one or more PEM certificates) to
    /// sign the server's certificate, instead of the system's roots (feature
    /// `redis-tls`). Needs `rediss://` URLs.
    #[cfg(feature = "redis-tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis-tls")))]
    pub fn tls_root_ca(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls.root_ca = Some(pem.into());
        self
    }

    /// Presents the client certificate chain `cert_pem`, with its private key
    /// `key_pem` (PKCS#8, PKCS#1 or SEC1, in PEM), to a server that asks for one
    /// (feature `redis-tls`). Needs `rediss://` URLs.
    ///
    /// The key is kept out of `Debug` and logs, and its copy here is zeroed when the
    /// builder is dropped.
    #[cfg(feature = "redis-tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis-tls")))]
    pub fn tls_client_cert(
        mut self,
        cert_pem: impl Into<Vec<u8>>,
        key_pem: impl Into<Vec<u8>>,
    ) -> Self {
        self.tls.client = Some((cert_pem.into(), zeroize::Zeroizing::new(key_pem.into())));
        self
    }

    /// Connects, waiting for the first connection (at most four operation timeouts).
    ///
    /// Fails if the URL is invalid, the timeout is zero, the TLS settings cannot be
    /// used (not PEM, or given for a `redis://` URL), the server's certificate is not
    /// trusted, or Redis cannot be reached now; after that, the connection repairs
    /// itself.
    pub async fn connect(self) -> Result<RedisConnection, RedisError> {
        let timeout = self.operation_timeout;
        if timeout.is_zero() {
            return Err(RedisError::new(
                RedisErrorKind::Other,
                "the operation timeout must be above zero",
            ));
        }
        #[cfg(feature = "redis-tls")]
        let certificates = {
            ensure_crypto_provider();
            self.tls.certificates()?
        };
        let (connection, client) = match self.target {
            Target::Single(url) => {
                #[cfg(feature = "redis-tls")]
                let client = match certificates {
                    Some(certificates) => redis::Client::build_with_tls(url, certificates)?,
                    None => redis::Client::open(url)?,
                };
                #[cfg(not(feature = "redis-tls"))]
                let client = redis::Client::open(url)?;
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(timeout))
                    .set_response_timeout(Some(timeout))
                    .set_max_delay(MAX_RECONNECT_DELAY);
                let connect = ConnectionManager::new_with_config(client.clone(), config);
                let manager = match tokio::time::timeout(timeout * CONNECT_TIMEOUTS, connect).await
                {
                    Ok(manager) => manager.map_err(|error| cannot_connect(error.into()))?,
                    Err(_elapsed) => return Err(cannot_connect(why_not(&client, timeout).await)),
                };
                (Connection::Single(manager), Some(client))
            }
            #[cfg(feature = "redis-cluster")]
            Target::Cluster(nodes) => {
                let builder = redis::cluster::ClusterClient::builder(nodes)
                    .connection_timeout(timeout)
                    .response_timeout(timeout)
                    .retries(2);
                #[cfg(feature = "redis-tls")]
                let builder = match certificates {
                    Some(certificates) => builder.certs(certificates),
                    None => builder,
                };
                let client = builder.build()?;
                let connect = client.get_async_connection();
                let cluster = tokio::time::timeout(timeout * CONNECT_TIMEOUTS, connect)
                    .await
                    .map_err(|_| {
                        RedisError::new(RedisErrorKind::Timeout, "cannot connect to Redis Cluster")
                    })??;
                (Connection::Cluster(cluster), None)
            }
        };
        Ok(RedisConnection {
            shared: Arc::new(Shared {
                client,
                operation_timeout: timeout,
                probe: connection.clone(),
                failures: AtomicU32::new(0),
                open: AtomicBool::new(false),
            }),
            connection,
        })
    }
}

/// The first connection failed for `reason`.
fn cannot_connect(reason: RedisError) -> RedisError {
    RedisError::new(reason.kind(), format!("cannot connect to Redis: {reason}"))
}

/// Why the first connection to the server of `client` did not come up in time: the
/// error of one more attempt, as the connection manager retries every failure
/// silently (an untrusted certificate too).
async fn why_not(client: &redis::Client, timeout: Duration) -> RedisError {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout));
    let attempt = within(
        timeout,
        "a new connection",
        client.get_multiplexed_async_connection_with_config(&config),
    )
    .await;
    match attempt {
        Err(error) => error,
        Ok(_) => RedisError::new(
            RedisErrorKind::Timeout,
            format!("no connection within {:?}", timeout * CONNECT_TIMEOUTS),
        ),
    }
}

impl fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may hold a password: not shown.
        f.debug_struct("RedisConnection")
            .field("cluster", &self.is_cluster())
            .field("operation_timeout", &self.shared.operation_timeout)
            .field("down", &self.shared.open.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for RedisConnectionBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cluster = match self.target {
            Target::Single(_) => false,
            #[cfg(feature = "redis-cluster")]
            Target::Cluster(_) => true,
        };
        // The URLs may hold a password, and the client key is secret: neither is shown.
        let mut debug = f.debug_struct("RedisConnectionBuilder");
        debug
            .field("cluster", &cluster)
            .field("operation_timeout", &self.operation_timeout);
        #[cfg(feature = "redis-tls")]
        debug
            .field("tls_root_ca", &self.tls.root_ca.is_some())
            .field("tls_client_cert", &self.tls.client.is_some());
        debug.finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builder_debug_shows_no_password() {
        let builder = RedisConnection::builder("redis://:hunter2@127.0.0.1:6379/")
            .operation_timeout(Duration::from_millis(300));
        let debug = format!("{builder:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("300ms"), "{debug}");
    }

    #[test]
    fn server_answers_that_mean_retry_later_are_unavailable() {
        for code in ["OOM", "LOADING", "MASTERDOWN", "READONLY", "BUSY"] {
            let parsed = parse_server_error(&format!("-{code} the server says no\r\n"));
            assert_eq!(
                RedisError::from(parsed).kind(),
                RedisErrorKind::Unavailable,
                "{code}"
            );
        }
        let parsed = parse_server_error("-ERR unknown command\r\n");
        let error = RedisError::from(parsed);
        assert_eq!(error.kind(), RedisErrorKind::Other);
        assert!(error.to_string().contains("unknown command"), "{error}");
    }

    fn parse_server_error(reply: &str) -> redis::RedisError {
        match redis::parse_redis_value(reply.as_bytes()) {
            Ok(Value::ServerError(error)) => error.into(),
            other => panic!("not a server error: {other:?}"),
        }
    }

    #[cfg(feature = "redis-tls")]
    #[test]
    fn the_builder_debug_shows_no_client_key() {
        let builder = RedisConnection::builder("rediss://127.0.0.1:6380/")
            .tls_client_cert("client certificate", "-----BEGIN PRIVATE KEY-----secret");
        let debug = format!("{builder:?}");
        assert!(debug.contains("tls_client_cert: true"), "{debug}");
        assert!(debug.contains("tls_root_ca: false"), "{debug}");
        assert!(!debug.contains("secret"), "{debug}");
        assert!(!debug.contains("client certificate"), "{debug}");
    }

    #[tokio::test]
    async fn a_zero_timeout_is_refused_before_connecting() {
        let error = RedisConnection::builder("redis://127.0.0.1:1/")
            .operation_timeout(Duration::ZERO)
            .connect()
            .await
            .unwrap_err();
        assert_eq!(error.kind(), RedisErrorKind::Other);
        assert!(error.to_string().contains("above zero"), "{error}");
    }

    #[tokio::test]
    async fn an_invalid_url_is_refused() {
        let error = RedisConnection::connect("not a url").await.unwrap_err();
        assert_eq!(error.kind(), RedisErrorKind::Other);
    }
}
