use std::fmt;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use bytes::Bytes;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::{RedisError, Script, Value};

use super::{Claim, Completion, Store, StoreError, StoreErrorKind, StoredResponse, Token};

/// The default key prefix: `webhook:idempotency:`.
pub const DEFAULT_KEY_PREFIX: &str = "webhook:idempotency:";

/// The default time one store operation may take, connecting included: 2 seconds.
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(2);

/// `KEYS[1]` the key, `ARGV[1]` the claim (`c` + token), `ARGV[2]` the lease in ms.
/// Free: claim it, answer nil. Claimed: answer the lease's remaining ms. Done: answer
/// the record.
const CLAIM: &str = r"
local current = redis.call('GET', KEYS[1])
if not current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return false
end
if string.byte(current, 1) == 99 then
  return redis.call('PTTL', KEYS[1])
end
return current
";

/// `KEYS[1]` the key, `ARGV[1]` the claim, `ARGV[2]` the record, `ARGV[3]` the
/// retention in ms. Writes the record if the claim still holds the key or the key is
/// free; answers 1 if it wrote, 0 if another claim or a record is there.
const COMPLETE: &str = r"
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
";

/// `KEYS[1]` the key, `ARGV[1]` the claim. Deletes the key if the claim holds it.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

struct Scripts {
    claim: Script,
    complete: Script,
    release: Script,
}

/// Built once per process: `Script` computes each script's SHA-1 here, and every call
/// is one `EVALSHA` (the client loads a script once per server, on its first
/// `NOSCRIPT`).
static SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| Scripts {
    claim: Script::new(CLAIM),
    complete: Script::new(COMPLETE),
    release: Script::new(RELEASE),
});

#[derive(Clone)]
enum Connection {
    Single(ConnectionManager),
    #[cfg(feature = "cluster")]
    Cluster(redis::cluster_async::ClusterConnection),
}

/// A store in Redis (or Redis Cluster, feature `cluster`), shared by every process
/// that uses the same server and key prefix.
///
/// - **One round trip per operation**: each of claim, complete and release is one
///   `EVALSHA` of a small Lua script that reads the key, checks the token and writes,
///   atomically on the server. A fresh delivery costs two commands (claim, complete),
///   a duplicate one (claim).
/// - **Reconnects by itself**: a single server is reached through the `redis` crate's
///   `ConnectionManager` (one multiplexed connection, reconnected in the background
///   after a failure); a cluster through its cluster connection (slot map refreshed on
///   `MOVED`). While Redis is gone, operations fail within the
///   [operation timeout](RedisStoreBuilder::operation_timeout) and the layer applies
///   its [store-error policy](crate::StoreErrorPolicy); once Redis is back, the same
///   store works again, without rebuilding anything.
/// - **Cluster-safe**: every operation touches exactly one key, so no command crosses
///   slots; keys spread over the cluster by their own hash.
/// - **Keys**: `<prefix><namespace>:<event id>` (prefix default
///   [`DEFAULT_KEY_PREFIX`]); a claim holds `c<token>` with the lease as its TTL, a
///   record holds [`StoredResponse::to_bytes`] with the retention as its TTL, so Redis
///   expires both by itself. Requires Redis 2.6.12 or later (scripts, `SET ... PX`).
///
/// ```no_run
/// use webhook_idempotency::{IdempotencyLayer, store::RedisStore};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisStore::builder("redis://127.0.0.1:6379/")
///     .key_prefix("payments:webhooks:")
///     .connect()
///     .await?;
/// let layer = IdempotencyLayer::new(store);
/// # drop(layer);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    connection: Connection,
    prefix: String,
    timeout: Duration,
}

/// Builds a [`RedisStore`]: see [`RedisStore::builder`].
#[must_use]
pub struct RedisStoreBuilder {
    target: Target,
    prefix: String,
    timeout: Duration,
}

enum Target {
    Single(String),
    #[cfg(feature = "cluster")]
    Cluster(Vec<String>),
}

impl RedisStore {
    /// A store on the Redis server at `url` (`redis://[:password@]host:port/[db]`).
    pub fn builder(url: impl Into<String>) -> RedisStoreBuilder {
        RedisStoreBuilder {
            target: Target::Single(url.into()),
            prefix: DEFAULT_KEY_PREFIX.to_owned(),
            timeout: DEFAULT_OPERATION_TIMEOUT,
        }
    }

    /// A store on the Redis Cluster reachable through any of `nodes` (URLs); the
    /// others are discovered.
    #[cfg(feature = "cluster")]
    #[cfg_attr(docsrs, doc(cfg(feature = "cluster")))]
    pub fn cluster<I>(nodes: I) -> RedisStoreBuilder
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        RedisStoreBuilder {
            target: Target::Cluster(nodes.into_iter().map(Into::into).collect()),
            prefix: DEFAULT_KEY_PREFIX.to_owned(),
            timeout: DEFAULT_OPERATION_TIMEOUT,
        }
    }

    /// Connects to the server at `url` with the default prefix and timeout.
    pub async fn connect(url: impl Into<String>) -> Result<Self, StoreError> {
        Self::builder(url).connect().await
    }

    /// The key prefix.
    pub fn key_prefix(&self) -> &str {
        &self.inner.prefix
    }

    /// Whether the store talks to a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        match self.inner.connection {
            Connection::Single(_) => false,
            #[cfg(feature = "cluster")]
            Connection::Cluster(_) => true,
        }
    }

    async fn invoke(
        &self,
        script: &Script,
        key: &str,
        args: &[&[u8]],
    ) -> Result<Value, StoreError> {
        let mut invocation = script.key(format!("{}{key}", self.inner.prefix));
        for arg in args {
            invocation.arg(*arg);
        }
        let call = async {
            match &self.inner.connection {
                Connection::Single(manager) => run(&invocation, &mut manager.clone()).await,
                #[cfg(feature = "cluster")]
                Connection::Cluster(cluster) => run(&invocation, &mut cluster.clone()).await,
            }
        };
        match tokio::time::timeout(self.inner.timeout, call).await {
            Ok(result) => result.map_err(store_error),
            Err(_elapsed) => Err(StoreError::new(
                StoreErrorKind::Timeout,
                format!("no answer from Redis within {:?}", self.inner.timeout),
            )),
        }
    }
}

async fn run(
    invocation: &redis::ScriptInvocation<'_>,
    connection: &mut (impl ConnectionLike + Send),
) -> Result<Value, RedisError> {
    invocation.invoke_async(connection).await
}

fn store_error(error: RedisError) -> StoreError {
    let kind = if error.is_timeout() {
        StoreErrorKind::Timeout
    } else if error.is_io_error()
        || error.is_connection_refusal()
        || error.is_connection_dropped()
        || error.is_unrecoverable_error()
    {
        StoreErrorKind::Unavailable
    } else {
        StoreErrorKind::Other
    };
    StoreError::new(kind, error.to_string())
}

fn claim_value(token: Token) -> Vec<u8> {
    format!("c{token}").into_bytes()
}

fn millis(duration: Duration) -> Vec<u8> {
    duration
        .as_millis()
        .clamp(1, i64::MAX as u128)
        .to_string()
        .into_bytes()
}

fn unexpected(value: &Value) -> StoreError {
    StoreError::new(
        StoreErrorKind::Corrupt,
        format!("unexpected answer from the script: {value:?}"),
    )
}

impl RedisStoreBuilder {
    /// The prefix of every key (default [`DEFAULT_KEY_PREFIX`]), to share a server
    /// between applications.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long one operation may take before it fails with
    /// [`StoreErrorKind::Timeout`] (default [`DEFAULT_OPERATION_TIMEOUT`]); also the
    /// connection and response timeouts of the underlying connection.
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Connects (waiting for the first connection) and returns the store.
    ///
    /// Fails if the URL is invalid, the timeout is zero, or the server cannot be
    /// reached now; after that, the store reconnects by itself.
    pub async fn connect(self) -> Result<RedisStore, StoreError> {
        if self.timeout.is_zero() {
            return Err(StoreError::new(
                StoreErrorKind::Other,
                "the operation timeout must be above zero",
            ));
        }
        let connection = match self.target {
            Target::Single(url) => {
                let client = redis::Client::open(url).map_err(store_error)?;
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(self.timeout))
                    .set_response_timeout(Some(self.timeout))
                    .set_max_delay(Duration::from_secs(1));
                let connect = ConnectionManager::new_with_config(client, config);
                let manager = tokio::time::timeout(self.timeout * 4, connect)
                    .await
                    .map_err(|_| {
                        StoreError::new(StoreErrorKind::Timeout, "cannot connect to Redis")
                    })?
                    .map_err(store_error)?;
                Connection::Single(manager)
            }
            #[cfg(feature = "cluster")]
            Target::Cluster(nodes) => {
                let client = redis::cluster::ClusterClient::builder(nodes)
                    .connection_timeout(self.timeout)
                    .response_timeout(self.timeout)
                    .retries(2)
                    .build()
                    .map_err(store_error)?;
                let connection =
                    tokio::time::timeout(self.timeout * 4, client.get_async_connection())
                        .await
                        .map_err(|_| {
                            StoreError::new(
                                StoreErrorKind::Timeout,
                                "cannot connect to Redis Cluster",
                            )
                        })?
                        .map_err(store_error)?;
                Connection::Cluster(connection)
            }
        };
        Ok(RedisStore {
            inner: Arc::new(Inner {
                connection,
                prefix: self.prefix,
                timeout: self.timeout,
            }),
        })
    }
}

impl fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may hold a password: not shown.
        f.debug_struct("RedisStoreBuilder")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("cluster", &self.is_cluster())
            .field("prefix", &self.inner.prefix)
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

impl Store for RedisStore {
    async fn claim(&self, key: &str, token: Token, lease: Duration) -> Result<Claim, StoreError> {
        let value = self
            .invoke(&SCRIPTS.claim, key, &[&claim_value(token), &millis(lease)])
            .await?;
        match value {
            Value::Nil => Ok(Claim::Acquired),
            Value::Int(ms) => Ok(Claim::InFlight {
                // -1 (no TTL) cannot happen for a claim this crate wrote; say "a lease".
                remaining: u64::try_from(ms).map_or(lease, Duration::from_millis),
            }),
            Value::BulkString(record) => {
                StoredResponse::from_bytes(&Bytes::from(record)).map(Claim::Done)
            }
            other => Err(unexpected(&other)),
        }
    }

    async fn complete(
        &self,
        key: &str,
        token: Token,
        response: &StoredResponse,
        retention: Duration,
    ) -> Result<Completion, StoreError> {
        let record = response.to_bytes();
        let value = self
            .invoke(
                &SCRIPTS.complete,
                key,
                &[&claim_value(token), &record, &millis(retention)],
            )
            .await?;
        match value {
            Value::Int(1) => Ok(Completion::Recorded),
            Value::Int(0) => Ok(Completion::Fenced),
            other => Err(unexpected(&other)),
        }
    }

    async fn release(&self, key: &str, token: Token) -> Result<bool, StoreError> {
        let value = self
            .invoke(&SCRIPTS.release, key, &[&claim_value(token)])
            .await?;
        match value {
            Value::Int(deleted) => Ok(deleted == 1),
            other => Err(unexpected(&other)),
        }
    }
}
