use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::Script;
use redis::aio::ConnectionManager;
use time::OffsetDateTime;

use super::{
    DEFAULT_RETENTION, GuardConfigError, GuardError, GuardFuture, Newest, Ordering, OrderingGuard,
};

/// The default prefix of the guard's keys: `webhook:order:`.
pub const DEFAULT_KEY_PREFIX: &str = "webhook:order:";

/// One compare-and-set. `KEYS[1]`: the entity's hash. `ARGV`: Unix seconds,
/// nanoseconds, event id, TTL in milliseconds. Returns 1 (applied) or 0 (stale).
///
/// Seconds and nanoseconds are compared as two numbers (both exact in a Lua double),
/// and ids byte by byte, so the answer does not depend on the server's locale.
const APPLY_IF_NEWER: &str = r"
local function older(s, n, id, cs, cn, cid)
  if s ~= cs then return s < cs end
  if n ~= cn then return n < cn end
  local len, clen = #id, #cid
  for k = 1, math.min(len, clen) do
    local b, cb = string.byte(id, k), string.byte(cid, k)
    if b ~= cb then return b < cb end
  end
  return len < clen
end
local s, n, id = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local cur = redis.call('HMGET', KEYS[1], 's', 'n', 'i')
if cur[1] and cur[2] and cur[3] and older(s, n, id, tonumber(cur[1]), tonumber(cur[2]), cur[3]) then
  return 0
end
redis.call('HSET', KEYS[1], 's', ARGV[1], 'n', ARGV[2], 'i', id)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
";

/// An [`OrderingGuard`] in Redis, shared by every replica of the receiver.
///
/// Each call is one Lua script (`EVALSHA`, one round trip; the script is loaded on the
/// first call): it reads the entity's stored `(created, id)`, compares, and writes the
/// new one with the retention TTL (`PEXPIRE`) only when it is newer. Each entity is a
/// hash at `<prefix><entity>` with the members `s` (Unix seconds), `n` (nanoseconds)
/// and `i` (event id).
///
/// It talks through a [`ConnectionManager`], which reconnects after a failure; while
/// Redis is unreachable, calls fail with [`GuardError`] (503: the sender retries). Set
/// the manager's response timeout to bound how long a call can wait.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use webhook_event::RedisOrderingGuard;
///
/// let client = redis::Client::open("redis://127.0.0.1:6379/")?;
/// let connection = redis::aio::ConnectionManager::new(client).await?;
/// let guard = RedisOrderingGuard::builder(connection)
///     .prefix("payments:order:")
///     .ttl(Duration::from_secs(3 * 24 * 3600))
///     .build()?;
/// # drop(guard);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisOrderingGuard {
    connection: ConnectionManager,
    config: Arc<Config>,
}

struct Config {
    prefix: String,
    ttl_ms: u64,
    script: Script,
}

impl RedisOrderingGuard {
    /// Configures a guard on `connection`, with the prefix `webhook:order:` and a
    /// 7-day TTL by default.
    pub fn builder(connection: ConnectionManager) -> RedisOrderingGuardBuilder {
        RedisOrderingGuardBuilder {
            connection,
            prefix: DEFAULT_KEY_PREFIX.to_owned(),
            ttl: DEFAULT_RETENTION,
        }
    }

    /// The Redis key of `entity`.
    pub fn key(&self, entity: &str) -> String {
        format!("{}{entity}", self.config.prefix)
    }

    /// The newest event applied for `entity`, if one is stored.
    pub async fn newest(&self, entity: &str) -> Result<Option<Newest>, GuardError> {
        let mut connection = self.connection.clone();
        let (seconds, nanos, event_id): (Option<i64>, Option<i64>, Option<String>) =
            redis::cmd("HMGET")
                .arg(self.key(entity))
                .arg("s")
                .arg("n")
                .arg("i")
                .query_async(&mut connection)
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
    ) -> Result<Ordering, GuardError> {
        let mut connection = self.connection.clone();
        let applied: i64 = self
            .config
            .script
            .key(self.key(entity))
            .arg(created.unix_timestamp())
            .arg(created.nanosecond())
            .arg(event_id)
            .arg(self.config.ttl_ms)
            .invoke_async(&mut connection)
            .await
            .map_err(GuardError::new)?;
        Ok(if applied == 1 {
            Ordering::Applied
        } else {
            Ordering::Stale
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
            .field("prefix", &self.config.prefix)
            .field("ttl_ms", &self.config.ttl_ms)
            .finish_non_exhaustive()
    }
}

/// Builds a [`RedisOrderingGuard`]; see [`RedisOrderingGuard::builder`].
#[must_use]
pub struct RedisOrderingGuardBuilder {
    connection: ConnectionManager,
    prefix: String,
    ttl: Duration,
}

impl RedisOrderingGuardBuilder {
    /// The prefix of every key the guard writes (default `webhook:order:`).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long an entity is remembered after its last applied event (default 7
    /// days), at millisecond precision.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
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
        Ok(RedisOrderingGuard {
            connection: self.connection,
            config: Arc::new(Config {
                prefix: self.prefix,
                ttl_ms,
                script: Script::new(APPLY_IF_NEWER),
            }),
        })
    }
}

impl fmt::Debug for RedisOrderingGuardBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisOrderingGuardBuilder")
            .field("prefix", &self.prefix)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}
