use std::fmt;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use bytes::Bytes;
use redis::{Script, Value};
use webhook_core::redis::{RedisConnection, RedisError, RedisErrorKind, within};

use super::{Claim, Completion, Store, StoreError, StoreErrorKind, StoredResponse, Token};

/// The default key prefix: `webhook:idempotency:`.
pub const DEFAULT_KEY_PREFIX: &str = "webhook:idempotency:";

/// Claims a key: see the script for its keys and arguments.
const CLAIM: &str = include_str!("redis/claim.lua");

/// Extends a claim's lease, if the claim still holds the key.
const EXTEND: &str = include_str!("redis/extend.lua");

/// Records a processed delivery's response, if the claim still holds the key.
const COMPLETE: &str = include_str!("redis/complete.lua");

/// Deletes the key if the claim holds it.
const RELEASE: &str = include_str!("redis/release.lua");

struct Scripts {
    claim: Script,
    extend: Script,
    complete: Script,
    release: Script,
}

/// Built once per process: `Script` computes each script's SHA-1 here, and every call
/// is one `EVALSHA` (the client loads a script once per server, on its first
/// `NOSCRIPT`).
static SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| Scripts {
    claim: Script::new(CLAIM),
    extend: Script::new(EXTEND),
    complete: Script::new(COMPLETE),
    release: Script::new(RELEASE),
});

/// A store in Redis (or Redis Cluster), shared by every process that uses the same
/// server and key prefix.
///
/// - **One round trip per operation**: each of claim, extend, complete and release is
///   one `EVALSHA` of a small Lua script that reads the key, checks the token and
///   writes, atomically on the server. A fresh delivery costs two commands (claim,
///   complete), a duplicate one (claim); with the
///   [heartbeat](crate::IdempotencyLayerBuilder::heartbeat) on, a delivery also costs
///   one per third of the lease its handler runs.
/// - **Reconnects by itself**: it talks through a [`RedisConnection`], which repairs
///   itself after a failure. While Redis is gone, operations fail within the
///   [operation timeout](RedisStoreBuilder::operation_timeout) and the layer applies
///   its [store-error policy](crate::StoreErrorPolicy); once Redis is back, the same
///   store works again, without rebuilding anything.
/// - **Cluster-safe**: every operation touches exactly one key, so no command crosses
///   slots; keys spread over the cluster by their own hash. Give it a connection from
///   `RedisConnection::cluster` (feature `redis-cluster`).
/// - **Keys**: `<prefix><namespace>:<event id>` (prefix default
///   [`DEFAULT_KEY_PREFIX`]); a claim holds `c<token>` with the lease as its TTL, a
///   record holds [`StoredResponse::to_bytes`] with the retention as its TTL, so Redis
///   expires both by itself. Requires Redis 2.6.12 or later (scripts, `SET ... PX`).
///
/// ```no_run
/// use webhook_core::redis::RedisConnection;
/// use webhook_idempotency::{IdempotencyLayer, store::RedisStore};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let connection = RedisConnection::connect("redis://127.0.0.1:6379/").await?;
/// let store = RedisStore::builder(connection)
///     .key_prefix("payments:webhooks:")
///     .build()?;
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
    connection: RedisConnection,
    prefix: String,
    timeout: Duration,
}

/// Builds a [`RedisStore`]: see [`RedisStore::builder`].
#[must_use]
pub struct RedisStoreBuilder {
    connection: RedisConnection,
    prefix: String,
    timeout: Option<Duration>,
}

impl RedisStore {
    /// A store on `connection` with the default key prefix and the connection's
    /// operation timeout: `RedisStore::builder(connection).build()`.
    pub fn new(connection: RedisConnection) -> Result<Self, StoreError> {
        Self::builder(connection).build()
    }

    /// A store on `connection` (clones of one connection can serve several backends).
    pub fn builder(connection: RedisConnection) -> RedisStoreBuilder {
        RedisStoreBuilder {
            connection,
            prefix: DEFAULT_KEY_PREFIX.to_owned(),
            timeout: None,
        }
    }

    /// The key prefix.
    pub fn key_prefix(&self) -> &str {
        &self.inner.prefix
    }

    /// The connection the store talks through.
    pub fn connection(&self) -> &RedisConnection {
        &self.inner.connection
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
        let mut connection = self.inner.connection.clone();
        within(
            self.inner.timeout,
            "the store's script",
            invocation.invoke_async(&mut connection),
        )
        .await
        .map_err(store_error)
    }
}

fn store_error(error: RedisError) -> StoreError {
    let kind = match error.kind() {
        RedisErrorKind::Timeout => StoreErrorKind::Timeout,
        RedisErrorKind::Unavailable => StoreErrorKind::Unavailable,
        _ => StoreErrorKind::Other,
    };
    StoreError::new(kind, error.message())
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
    /// [`StoreErrorKind::Timeout`] (default: the connection's
    /// [operation timeout](RedisConnection::operation_timeout)).
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Checks the settings and returns the store; fails if the operation timeout is
    /// zero.
    pub fn build(self) -> Result<RedisStore, StoreError> {
        let timeout = self
            .timeout
            .unwrap_or_else(|| self.connection.operation_timeout());
        if timeout.is_zero() {
            return Err(StoreError::new(
                StoreErrorKind::Other,
                "the operation timeout must be above zero",
            ));
        }
        Ok(RedisStore {
            inner: Arc::new(Inner {
                connection: self.connection,
                prefix: self.prefix,
                timeout,
            }),
        })
    }
}

impl fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStoreBuilder")
            .field("connection", &self.connection)
            .field("key_prefix", &self.prefix)
            .field("operation_timeout", &self.timeout)
            .finish()
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("connection", &self.inner.connection)
            .field("key_prefix", &self.inner.prefix)
            .field("operation_timeout", &self.inner.timeout)
            .finish()
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

    async fn extend(&self, key: &str, token: Token, lease: Duration) -> Result<bool, StoreError> {
        let value = self
            .invoke(&SCRIPTS.extend, key, &[&claim_value(token), &millis(lease)])
            .await?;
        match value {
            Value::Int(extended) => Ok(extended == 1),
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
