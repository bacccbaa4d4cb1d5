use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::Script;
use time::OffsetDateTime;
use webhook_core::redis::{RedisConnection, within};

use super::{
    DEFAULT_RETENTION, GuardConfigError, GuardDecision, GuardError, GuardFuture, Newest,
    OrderingGuard,
};

/// The default prefix of the guard's keys: `webhook:order:`.
pub const DEFAULT_KEY_PREFIX: &str = "webhook:order:";

/// One compare-and-set of an entity's newest `(created, id)`: see the script for its
/// keys, arguments and answers.
const APPLY_IF_NEWER: &str = include_str!("redis/apply_if_newer.lua");

/// An [`OrderingGuard`] in Redis, shared by every replica of the receiver.
///
/// Each call is one Lua script (`EVALSHA`, one round trip; the script is loaded on the
/// first call): it reads the entity's stored `(created, id)`, compares, and writes the
/// new one with the retention TTL (`PEXPIRE`) only when it is newer. Each entity is a
/// hash at `<prefix><entity>` with the members `s` (Unix seconds), `n` (nanoseconds)
/// and `i` (event id). Each call touches one key, so a Redis Cluster connection works
/// too.
///
/// It talks through a [`RedisConnection`], which reconnects after a failure and can be
/// shared with the other Redis backends; while Redis is unreachable, calls fail with
/// [`GuardError`] (503: the sender retries) within the
/// [operation timeout](RedisOrderingGuardBuilder::operation_timeout).
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use webhook_core::redis::RedisConnection;
/// use webhook_event::RedisOrderingGuard;
///
/// let connection = RedisConnection::connect("redis://127.0.0.1:6379/").await?;
/// let guard = RedisOrderingGuard::builder(connection)
///     .key_prefix("payments:order:")
///     .ttl(Duration::from_secs(3 * 24 * 3600))
///     .build()?;
/// # drop(guard);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisOrderingGuard {
    connection: RedisConnection,
    config: Arc<Config>,
}

struct Config {
    prefix: String,
    ttl_ms: u64,
    timeout: Duration,
    script: Script,
}

impl RedisOrderingGuard {
    /// A guard on `connection` with the defaults:
    /// `RedisOrderingGuard::builder(connection).build()`.
    pub fn new(connection: RedisConnection) -> Result<Self, GuardConfigError> {
        Self::builder(connection).build()
    }

    /// Configures a guard on `connection` (clones of one connection can serve several
    /// backends), with the prefix [`DEFAULT_KEY_PREFIX`] and a 7-day TTL by default.
    pub fn builder(connection: RedisConnection) -> RedisOrderingGuardBuilder {
        RedisOrderingGuardBuilder {
            connection,
            prefix: DEFAULT_KEY_PREFIX.to_owned(),
            ttl: DEFAULT_RETENTION,
            timeout: None,
        }
    }

    /// The Redis key of `entity`.
    pub fn key(&self, entity: &str) -> String {
        format!("{}{entity}", self.config.prefix)
    }

    /// The newest event applied for `entity`, if one is stored.
    pub async fn newest(&self, entity: &str) -> Result<Option<Newest>, GuardError> {
        let mut connection = self.connection.clone();
        let mut cmd = redis::cmd("HMGET");
        cmd.arg(self.key(entity)).arg("s").arg("n").arg("i");
        let (seconds, nanos, event_id): (Option<i64>, Option<i64>, Option<String>) = within(
            self.config.timeout,
            "HMGET",
            cmd.query_async(&mut connection),
        )
        .await
        .map_err(GuardError::new)?;
        let (Some(seconds), Some(nanos), Some(event_id)) = (seconds, nanos, event_id) else {
            return Ok(None);
        };
        let created = OffsetDateTime::from_unix_timestamp(seconds)
            .map(|t| t + time::Duration::nanoseconds(nanos))
            .map_err(GuardError::new)?;
        Ok(Some(Newest { created, event_id }))
    }

    async fn apply(
        &self,
        entity: &str,
        created: OffsetDateTime,
        event_id: &str,
    ) -> Result<GuardDecision, GuardError> {
        let mut connection = self.connection.clone();
        let mut invocation = self.config.script.key(self.key(entity));
        invocation
            .arg(created.unix_timestamp())
            .arg(created.nanosecond())
            .arg(event_id)
            .arg(self.config.ttl_ms);
        let applied: i64 = within(
            self.config.timeout,
            "the ordering script",
            invocation.invoke_async(&mut connection),
        )
        .await
        .map_err(GuardError::new)?;
        Ok(if applied == 1 {
            GuardDecision::Applied
        } else {
            GuardDecision::Stale
        })
    }
}

impl OrderingGuard for RedisOrderingGuard {
    fn apply_if_newer<'a>(
        &'a self,
        entity: &'a str,
        created: OffsetDateTime,
        event_id: &'a str,
    ) -> GuardFuture<'a> {
        Box::pin(self.apply(entity, created, event_id))
    }
}

impl fmt::Debug for RedisOrderingGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisOrderingGuard")
            .field("connection", &self.connection)
            .field("key_prefix", &self.config.prefix)
            .field("ttl_ms", &self.config.ttl_ms)
            .field("operation_timeout", &self.config.timeout)
            .finish_non_exhaustive()
    }
}

/// Builds a [`RedisOrderingGuard`]; see [`RedisOrderingGuard::builder`].
#[must_use]
pub struct RedisOrderingGuardBuilder {
    connection: RedisConnection,
    prefix: String,
    ttl: Duration,
    timeout: Option<Duration>,
}

impl RedisOrderingGuardBuilder {
    /// The prefix of every key the guard writes (default [`DEFAULT_KEY_PREFIX`]).
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long an entity is remembered after its last applied event (default 7
    /// days), at millisecond precision.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// How long one call may wait for Redis before it fails with [`GuardError`]
    /// (default: the connection's
    /// [operation timeout](RedisConnection::operation_timeout)).
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Builds the guard; refuses a TTL under one millisecond.
    pub fn build(self) -> Result<RedisOrderingGuard, GuardConfigError> {
        // Redis refuses an expiry past the end of its clock: cap at 100 years.
        let ttl_ms = u64::try_from(self.ttl.as_millis())
            .unwrap_or(u64::MAX)
            .min(100 * 365 * 24 * 3600 * 1000);
        if ttl_ms == 0 {
            return Err(GuardConfigError::ZeroTtl);
        }
        let timeout = self
            .timeout
            .unwrap_or_else(|| self.connection.operation_timeout());
        Ok(RedisOrderingGuard {
            connection: self.connection,
            config: Arc::new(Config {
                prefix: self.prefix,
                ttl_ms,
                timeout,
                script: Script::new(APPLY_IF_NEWER),
            }),
        })
    }
}

impl fmt::Debug for RedisOrderingGuardBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisOrderingGuardBuilder")
            .field("connection", &self.connection)
            .field("key_prefix", &self.prefix)
            .field("ttl", &self.ttl)
            .field("operation_timeout", &self.timeout)
            .finish()
    }
}
